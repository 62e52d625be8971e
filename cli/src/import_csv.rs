//! `import-csv`: profiles from a CSV file, checked row by row before anything is sent, then
//! imported in bulk jobs within the operation's limits. The file is streamed (read once to
//! check, once to send), so memory stays flat whatever its size.
//!
//! Rows are reported by the line of the file they start on, whatever the line endings (LF,
//! CRLF, CR) and however many lines a quoted field spans. By default one bad row stops the
//! import before a request is made; with `skip_invalid` the valid rows are imported and the
//! others are written, with their line and reason in front, to a rejects file that imports
//! again once fixed (its two leading columns are ignored on import).

use std::collections::HashMap;
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use klaviyo_bridge::bulk::PollOptions;
use klaviyo_bridge::csv_lines::LineCounter;
use klaviyo_bridge::jobs::JobKind;
use klaviyo_bridge::operations::bulk_limit;
use klaviyo_bridge::profiles::{ProfileData, ProfileRef, validate_email, validate_phone};
use klaviyo_bridge::{Client, Error, Result};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::partial_file::{PartialFile, partial_path};

/// A bad CSV row.
#[derive(Debug, Clone, Serialize)]
pub struct RowProblem {
    /// Line of the file the row starts on (1 = header).
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// Result of `import-csv`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Data rows in the file.
    pub rows: u64,
    /// Rows that passed validation.
    pub valid: u64,
    /// Bad rows (the first 1,000 are listed).
    pub invalid: Vec<RowProblem>,
    /// How many rows were bad in all.
    pub invalid_count: u64,
    /// `--dry-run` was given.
    pub dry_run: bool,
    /// Whether rows were sent (false for a dry run, and when bad rows stopped the import).
    pub sent: bool,
    /// Bad rows left out by `--skip-invalid`.
    pub skipped: u64,
    /// Import jobs submitted.
    pub jobs: Vec<String>,
    /// Rows Klaviyo imported.
    pub imported: u64,
    /// Rows Klaviyo rejected, with reasons.
    pub failed: Vec<RowProblem>,
    /// Where the rows left out (bad, or rejected by Klaviyo) were written, when there were any.
    pub rejected_file: Option<String>,
}

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Add the imported profiles to this list.
    pub list_id: Option<String>,
    /// Check only; send nothing.
    pub dry_run: bool,
    /// Import the valid rows and write the others to `rejected_file`.
    pub skip_invalid: bool,
    /// Where rows left out go (default: [`default_rejected_file`]).
    pub rejected_file: Option<PathBuf>,
}

/// `contacts.csv` → `contacts.rejected.csv`, beside it.
pub fn default_rejected_file(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import".into());
    input.with_file_name(format!("{stem}.rejected.csv"))
}

/// The rejects file's leading columns: ignored when the file is imported again.
pub const REJECTED_LINE_COLUMN: &str = "import_line";
/// See [`REJECTED_LINE_COLUMN`].
pub const REJECTED_REASON_COLUMN: &str = "import_error";

const LISTED_PROBLEMS: usize = 1_000;
const LOCATION_COLUMNS: [&str; 7] = [
    "address1", "address2", "city", "region", "country", "zip", "timezone",
];

fn without_prefix(e: Error) -> String {
    e.to_string()
        .trim_start_matches("invalid input: ")
        .to_string()
}

/// Turns one CSV row into a profile, or says why it cannot be one.
fn row_to_profile(
    header: &[String],
    record: &csv::ByteRecord,
) -> std::result::Result<ProfileData, String> {
    if record.len() != header.len() {
        return Err(format!(
            "has {} fields; the header has {}",
            record.len(),
            header.len()
        ));
    }
    let mut identity = ProfileRef::default();
    let mut flat = Map::new();
    let mut location = Map::new();
    for (name, raw) in header.iter().zip(record.iter()) {
        let value = std::str::from_utf8(raw)
            .map_err(|_| format!("column {name:?} is not valid UTF-8"))?
            .trim();
        if value.is_empty() {
            continue;
        }
        match name.as_str() {
            "email" => identity.email = Some(value.to_string()),
            "phone_number" => identity.phone_number = Some(value.to_string()),
            "external_id" => identity.external_id = Some(value.to_string()),
            REJECTED_LINE_COLUMN | REJECTED_REASON_COLUMN => {}
            "properties" => match serde_json::from_str::<Value>(value) {
                Ok(Value::Object(props)) => flat.extend(props),
                _ => return Err("column \"properties\" is not a JSON object".into()),
            },
            n if LOCATION_COLUMNS.contains(&n) => {
                location.insert(n.to_string(), json!(value));
            }
            _ => {
                flat.insert(name.clone(), json!(value));
            }
        }
    }
    if !location.is_empty() {
        flat.insert("location".into(), Value::Object(location));
    }
    identity.validate("row").map_err(without_prefix)?;
    if let Some(email) = &identity.email {
        validate_email(email).map_err(without_prefix)?;
    }
    if let Some(phone) = &identity.phone_number {
        validate_phone(phone).map_err(without_prefix)?;
    }
    Ok(ProfileData::from_flat(identity, flat))
}

/// Opens the CSV file afresh (the import reads it more than once).
pub type Opener<'a> = &'a dyn Fn() -> std::io::Result<Box<dyn Read>>;

fn cannot_read(e: std::io::Error) -> Error {
    Error::InvalidInput(format!("cannot read the CSV file: {e}"))
}

/// A CSV reader positioned after the header, the header's column names (trimmed, lower case),
/// the header as written, and the line counter that follows the reader.
struct Csv {
    reader: csv::Reader<Box<dyn Read>>,
    lines: LineCounter<Box<dyn Read>>,
    header: Vec<String>,
    raw_header: csv::ByteRecord,
}

fn open_csv(open: Opener<'_>) -> Result<Csv> {
    let file = open().map_err(cannot_read)?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let raw_header = reader
        .byte_headers()
        .map_err(|e| Error::InvalidInput(format!("cannot read the CSV header: {e}")))?
        .clone();
    let header: Vec<String> = raw_header
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_lowercase()
        })
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        if let Some(first) = seen.insert(name.as_str(), i) {
            return Err(Error::InvalidInput(format!(
                "the CSV header names the column {name:?} twice (columns {} and {}); rename or \
                 remove one",
                first + 1,
                i + 1
            )));
        }
    }
    if !header
        .iter()
        .any(|h| matches!(h.as_str(), "email" | "phone_number" | "external_id"))
    {
        return Err(Error::InvalidInput(
            "the CSV needs an email, phone_number or external_id column".into(),
        ));
    }
    Ok(Csv {
        reader,
        lines: LineCounter::new(open().map_err(cannot_read)?),
        header,
        raw_header,
    })
}

impl Csv {
    /// The next record and the line it starts on.
    fn next(&mut self, record: &mut csv::ByteRecord) -> Result<Option<u64>> {
        let lines = &mut self.lines;
        let more = self.reader.read_byte_record(record).map_err(|e| {
            let line = lines.error_prefix(&e);
            Error::InvalidInput(format!("{line}the CSV is malformed: {e}"))
        })?;
        if !more {
            return Ok(None);
        }
        let start = record.position().map_or(0, csv::Position::byte);
        self.lines.line_at(start).map(Some).map_err(cannot_read)
    }
}

/// The rejects file, written whole on success (see [`crate::partial_file`]).
struct Rejects {
    path: PathBuf,
    file: PartialFile,
    writer: csv::Writer<BufWriter<std::fs::File>>,
    rows: u64,
}

impl Rejects {
    fn create(path: &Path, raw_header: &csv::ByteRecord) -> Result<Self> {
        let cannot = |e: std::io::Error| {
            Error::InvalidInput(format!(
                "cannot write {}: {e}",
                partial_path(path).display()
            ))
        };
        let file = PartialFile::create(path).map_err(cannot)?;
        let handle = file.file().try_clone().map_err(cannot)?;
        let mut writer = csv::WriterBuilder::new()
            .flexible(true)
            .from_writer(BufWriter::new(handle));
        let mut header = csv::ByteRecord::new();
        header.push_field(REJECTED_LINE_COLUMN.as_bytes());
        header.push_field(REJECTED_REASON_COLUMN.as_bytes());
        header.extend(raw_header.iter());
        writer
            .write_byte_record(&header)
            .map_err(|e| cannot(e.into()))?;
        Ok(Rejects {
            path: path.to_path_buf(),
            file,
            writer,
            rows: 0,
        })
    }

    /// Writes the row as it was in the file, after its line and the reason.
    fn write(&mut self, line: u64, reason: &str, record: &csv::ByteRecord) -> Result<()> {
        let mut row = csv::ByteRecord::new();
        row.push_field(line.to_string().as_bytes());
        row.push_field(reason.as_bytes());
        row.extend(record.iter());
        self.rows += 1;
        self.writer
            .write_byte_record(&row)
            .map_err(|e| Error::InvalidInput(format!("cannot write the rejects file: {e}")))
    }

    /// Renames the file into place when it holds rows; returns its path then.
    fn finish(self) -> Result<Option<PathBuf>> {
        let Rejects {
            path,
            file,
            mut writer,
            rows,
        } = self;
        if rows == 0 {
            return Ok(None);
        }
        let failed = |e: std::io::Error| {
            Error::InvalidInput(format!("cannot write {}: {e}", path.display()))
        };
        writer.flush().map_err(failed)?;
        file.commit().map_err(failed)?;
        Ok(Some(path))
    }
}

/// A submitted job, and the file line of each profile it carries.
struct SentJob {
    id: String,
    lines: Arc<Vec<u64>>,
    first_index: usize,
}

/// Checks every row of a CSV, then (unless a dry run, or a row is bad without
/// `skip_invalid`) imports the valid rows in bulk jobs, waits for them, and reports Klaviyo's
/// per-row failures by line. `progress` is called with rows processed so far.
pub async fn import_csv(
    client: &Client,
    open: Opener<'_>,
    options: &ImportOptions,
    progress: &dyn Fn(u64),
) -> Result<ImportReport> {
    let mut report = ImportReport {
        dry_run: options.dry_run,
        ..Default::default()
    };
    let mut csv = open_csv(open)?;
    let mut rejects = match (
        &options.rejected_file,
        options.skip_invalid && !options.dry_run,
    ) {
        (Some(path), true) => Some(Rejects::create(path, &csv.raw_header)?),
        _ => None,
    };
    let mut record = csv::ByteRecord::new();
    while let Some(line) = csv.next(&mut record)? {
        report.rows += 1;
        match row_to_profile(&csv.header, &record) {
            Ok(_) => report.valid += 1,
            Err(reason) => {
                report.invalid_count += 1;
                if let Some(rejects) = rejects.as_mut() {
                    rejects.write(line, &reason, &record)?;
                }
                if report.invalid.len() < LISTED_PROBLEMS {
                    report.invalid.push(RowProblem { line, reason });
                }
            }
        }
        if report.rows.is_multiple_of(10_000) {
            progress(report.rows);
        }
    }
    if options.dry_run || (report.invalid_count > 0 && !options.skip_invalid) {
        return Ok(report);
    }
    report.skipped = report.invalid_count;
    report.sent = report.valid > 0;

    let limit = bulk_limit("bulk_import_profiles");
    let budget =
        limit.max_payload_bytes.unwrap_or(usize::MAX) - klaviyo_bridge::bulk::ENVELOPE_BYTES;
    let mut csv = open_csv(open)?;
    let mut batch: Vec<ProfileData> = Vec::new();
    let mut batch_lines: Vec<u64> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut jobs: Vec<SentJob> = Vec::new();
    let list_id = options.list_id.as_deref();
    let mut row = 0u64;
    while let Some(line) = csv.next(&mut record)? {
        row += 1;
        let profile = match row_to_profile(&csv.header, &record) {
            Ok(profile) => profile,
            Err(_) if options.skip_invalid => continue,
            Err(e) => {
                return Err(Error::InvalidInput(format!(
                    "line {line} changed while importing: {e}"
                )));
            }
        };
        let size = serde_json::to_vec(&profile.to_attributes()).map_or(0, |v| v.len()) + 40;
        if !batch.is_empty() && (batch.len() >= limit.max_items || batch_bytes + size > budget) {
            submit(client, &mut batch, &mut batch_lines, list_id, &mut jobs).await?;
            batch_bytes = 0;
        }
        batch_bytes += size;
        batch.push(profile);
        batch_lines.push(line);
        if row.is_multiple_of(10_000) {
            progress(row);
        }
    }
    if !batch.is_empty() {
        submit(client, &mut batch, &mut batch_lines, list_id, &mut jobs).await?;
    }
    let poll = PollOptions {
        interval: Duration::from_millis(200),
        ..PollOptions::default()
    };
    for job in &jobs {
        let status = client
            .jobs()
            .wait(JobKind::ProfileImport, &job.id, &poll)
            .await?;
        report.imported += status.completed.unwrap_or(0);
        if status.failed.unwrap_or(0) > 0 {
            let mut errors = client.profiles().import_errors(&job.id)?;
            while let Some(page) = errors.next_page().await? {
                for error in page.data {
                    let index = error
                        .attr("source")
                        .and_then(|s| s.get("pointer"))
                        .and_then(Value::as_str)
                        .and_then(|p| p.rsplit('/').next())
                        .and_then(|n| n.parse::<usize>().ok());
                    let line = index
                        .and_then(|i| job.lines.get(job.first_index + i).copied())
                        .unwrap_or(0);
                    report.failed.push(RowProblem {
                        line,
                        reason: error.attr_str("detail").unwrap_or("rejected").to_string(),
                    });
                }
            }
        }
        report.jobs.push(job.id.clone());
    }
    if let Some(mut rejects) = rejects {
        if !report.failed.is_empty() {
            // Klaviyo's rejections join the rejects file, copied from the file as they were.
            let reasons: HashMap<u64, &str> = report
                .failed
                .iter()
                .map(|p| (p.line, p.reason.as_str()))
                .collect();
            let mut csv = open_csv(open)?;
            while let Some(line) = csv.next(&mut record)? {
                if let Some(reason) = reasons.get(&line) {
                    rejects.write(line, reason, &record)?;
                }
            }
        }
        report.rejected_file = rejects.finish()?.map(|p| p.display().to_string());
    }
    Ok(report)
}

async fn submit(
    client: &Client,
    batch: &mut Vec<ProfileData>,
    batch_lines: &mut Vec<u64>,
    list_id: Option<&str>,
    jobs: &mut Vec<SentJob>,
) -> Result<()> {
    let lines = Arc::new(std::mem::take(batch_lines));
    let submitted = client
        .profiles()
        .bulk_import(std::mem::take(batch), list_id)
        .await?;
    for job in submitted.jobs {
        if let Some(id) = job.id {
            jobs.push(SentJob {
                id,
                lines: Arc::clone(&lines),
                first_index: job.first_index,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &'static [u8]) -> Vec<u64> {
        let open = move || Ok(Box::new(data) as Box<dyn Read>);
        let mut csv = open_csv(&open).unwrap();
        let mut record = csv::ByteRecord::new();
        let mut found = Vec::new();
        while let Some(line) = csv.next(&mut record).unwrap() {
            found.push(line);
        }
        found
    }

    #[test]
    fn rows_are_numbered_by_the_line_they_start_on_for_any_line_ending() {
        let lf = b"email,note\na@x.com,A\nb@x.com,\"two\nlines\"\n\nc@x.com,C\n";
        let crlf = b"email,note\r\na@x.com,A\r\nb@x.com,\"two\r\nlines\"\r\n\r\nc@x.com,C\r\n";
        let cr = b"email,note\ra@x.com,A\rb@x.com,\"two\rlines\"\r\rc@x.com,C\r";
        for data in [&lf[..], &crlf[..], &cr[..]] {
            assert_eq!(
                lines_of(data),
                [2, 3, 6],
                "{:?}",
                String::from_utf8_lossy(data)
            );
        }
        assert_eq!(lines_of(b"\xef\xbb\xbfemail\r\nz@x.com"), [2]);
    }

    #[test]
    fn a_column_named_twice_is_refused() {
        let open = || Ok(Box::new(&b"email,Name,name\n"[..]) as Box<dyn Read>);
        let err = open_csv(&open).err().unwrap().to_string();
        assert!(err.contains("\"name\" twice (columns 2 and 3)"), "{err}");
    }
}
