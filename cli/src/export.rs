//! `export-profiles` and `export-data`: a resource streamed page by page to stdout or a file.
//!
//! A file is written atomically and can be resumed. Rows go to `<file>.partial`; after each
//! page, `<file>.partial.json` records how many bytes of it are complete and the cursor of the
//! next page. Only when the last page is written is the partial file renamed over `<file>`, so
//! the previous `<file>` is byte-identical after any failure. A failed or interrupted export
//! (SIGINT, SIGTERM, even SIGKILL) keeps both, and `--resume` cuts the partial file back to its
//! last complete page and continues from that page's cursor: no row twice, none missing.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use klaviyo_bridge::{Client, Error, ListParams, Pager, Resource};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::args::typed_value;
use crate::interrupt::{Interrupts, Signal};
use crate::output::{Format, RowWriter};
use crate::partial_file::{PartialFile, partial_path, with_suffix};
use crate::tools::{PROFILE_COLUMNS, profile_row, resource_row};

/// What `export-data` can export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExportResource {
    /// Profiles.
    Profiles,
    /// Events.
    Events,
    /// Metrics.
    Metrics,
    /// Lists.
    Lists,
    /// Catalog items.
    CatalogItems,
}

/// Result of an export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    /// What was exported.
    pub resource: String,
    /// Rows written.
    pub rows: usize,
    /// Where to.
    pub output: String,
}

/// What to export, and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSpec {
    /// The resource.
    pub resource: ExportResource,
    /// The file format (not `table`).
    #[serde(with = "format_name")]
    pub format: Format,
    /// Stop after this many rows.
    pub max_records: Option<usize>,
    /// Stop after this many pages.
    pub max_pages: Option<usize>,
}

impl ExportSpec {
    /// The flags that made it, as a person would type them.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "--resource {} --format {}",
            typed_value(&self.resource),
            typed_value(&self.format)
        );
        if let Some(n) = self.max_records {
            text.push_str(&format!(" --max-records {n}"));
        }
        if let Some(n) = self.max_pages {
            text.push_str(&format!(" --max-pages {n}"));
        }
        text
    }
}

mod format_name {
    use crate::args::typed_value;
    use crate::output::Format;
    use clap::ValueEnum;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(format: &Format, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&typed_value(format))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Format, D::Error> {
        let name = String::deserialize(d)?;
        Format::from_str(&name, false).map_err(serde::de::Error::custom)
    }
}

/// `<file>.partial.json`: how far an export onto `<file>` got.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResumeState {
    /// The flags it was started with.
    pub spec: ExportSpec,
    /// Rows in the complete part of the partial file (a whole export: in its staged slices).
    pub rows: u64,
    /// Pages they came from (an export by cursor).
    pub pages: u64,
    /// Length of the complete part of the partial file (an export by cursor).
    pub bytes: u64,
    /// The next page's cursor (`None` before the first page, or when `done`).
    pub cursor: Option<String>,
    /// Every page has been written; only the closing and the rename are left.
    pub done: bool,
    /// A whole export: the sync engine's state (its run's slices, which are staged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<klaviyo_bridge::sync::state::State>,
    /// A whole export: its engine runs, the window and its readings on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<crate::staged_export::Round>,
    /// A whole export: when it started, in microseconds (what changed after may be read twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<i64>,
}

/// Where an export onto `target` keeps its progress.
pub fn resume_state_path(target: &Path) -> PathBuf {
    with_suffix(&partial_path(target), ".json")
}

impl ResumeState {
    /// An export of `spec` that has written nothing yet.
    pub fn new(spec: ExportSpec) -> Self {
        ResumeState {
            spec,
            rows: 0,
            pages: 0,
            bytes: 0,
            cursor: None,
            done: false,
            sync: None,
            rounds: Vec::new(),
            started: None,
        }
    }

    fn load(target: &Path) -> Result<Option<Self>, String> {
        let path = resume_state_path(target);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| format!("{} is not an export's progress record: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Writes the record atomically (a crash leaves the old one or the new one, never half).
    pub fn save(&self, target: &Path) -> std::io::Result<()> {
        let path = resume_state_path(target);
        let scratch = with_suffix(&path, ".tmp");
        std::fs::write(&scratch, serde_json::to_vec(self).unwrap_or_default())?;
        std::fs::rename(&scratch, &path)
    }

    pub fn remove(target: &Path) {
        let path = resume_state_path(target);
        let _ = std::fs::remove_file(with_suffix(&path, ".tmp"));
        let _ = std::fs::remove_file(path);
    }
}

/// A finished export to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileExport {
    /// Rows in the file.
    pub rows: u64,
    /// Rows that were already in the partial file when `--resume` picked it up (`None` when
    /// the export started from the beginning, `--resume` or not).
    pub resumed_after: Option<u64>,
}

/// Why an export to a file did not finish.
#[derive(Debug)]
pub enum ExportStopped {
    /// It could not start (bad flags, a progress record that does not match, a file that
    /// cannot be created); nothing was written.
    Refused(String),
    /// A request or a write failed after `rows` rows, which are kept in `partial` (when
    /// there are any) for `--resume`.
    Failed {
        /// The cause.
        cause: Error,
        /// Rows kept.
        rows: u64,
        /// The partial file, when it was kept.
        partial: Option<PathBuf>,
    },
    /// A signal stopped it at a page boundary; `rows` rows are kept in `partial`.
    Interrupted {
        /// Which.
        signal: Signal,
        /// Rows kept.
        rows: u64,
        /// The partial file.
        partial: PathBuf,
    },
}

/// The reference script's columns for `resource`.
pub fn columns(resource: ExportResource) -> Vec<String> {
    let names: &[&str] = match resource {
        ExportResource::Profiles => &PROFILE_COLUMNS,
        ExportResource::Events => &[
            "id",
            "metric_id",
            "profile_id",
            "datetime",
            "uuid",
            "event_properties",
        ],
        ExportResource::Metrics => &["id", "name", "created", "updated"],
        ExportResource::Lists => &["id", "name", "created", "updated"],
        ExportResource::CatalogItems => &[
            "id",
            "external_id",
            "title",
            "price",
            "url",
            "published",
            "updated",
        ],
    };
    names.iter().map(|s| s.to_string()).collect()
}

/// One record as a row of the reference columns.
pub fn row(resource: ExportResource, item: &Resource, columns: &[String]) -> Map<String, Value> {
    if resource == ExportResource::Profiles {
        profile_row(item)
    } else {
        resource_row(item, columns)
    }
}

/// A pager over `resource` in the largest pages its operation allows.
fn pager(
    client: &Client,
    resource: ExportResource,
    params: ListParams,
) -> klaviyo_bridge::Result<Pager> {
    let params = ListParams {
        page_size: Some(u32::MAX), // clamped to the operation's maximum from the spec
        ..params
    };
    match resource {
        ExportResource::Profiles => client.profiles().list(params),
        ExportResource::Events => client.events().list(params),
        ExportResource::Metrics => client.metrics().list(params),
        ExportResource::Lists => client.lists().list(params),
        ExportResource::CatalogItems => client.catalog_items().list(params),
    }
}

fn write_error(e: std::io::Error) -> Error {
    Error::InvalidInput(format!("cannot write the output: {e}"))
}

/// Streams a resource to `out` (stdout), page by page, in `spec.format`; returns the rows
/// written. Not atomic: use [`export_to_file`] for files.
pub async fn export(
    client: &Client,
    spec: ExportSpec,
    out: Box<dyn Write + '_>,
    progress: &(dyn Fn(u64) + Sync),
) -> klaviyo_bridge::Result<usize> {
    let mut pager = pager(
        client,
        spec.resource,
        ListParams {
            max_items: spec.max_records,
            max_pages: spec.max_pages,
            ..Default::default()
        },
    )?;
    let columns = columns(spec.resource);
    let mut writer = RowWriter::new(spec.format, columns.clone(), out).map_err(write_error)?;
    let mut written = 0u64;
    while let Some(page) = pager.next_page().await? {
        for item in &page.data {
            writer
                .row(&row(spec.resource, item, &columns))
                .map_err(write_error)?;
            written += 1;
        }
        progress(written);
    }
    writer.finish().map_err(write_error)
}

/// Exports to `target` atomically; with `resume`, continues the interrupted export recorded
/// beside it (or starts afresh when there is none).
///
/// A whole export (no `max_records`, no `max_pages`) runs on the sync engine, `concurrency`
/// slices at once ([`crate::staged_export`]). One with a limit keeps "the first N in the API's
/// order": it pages one cursor, and SIGINT and SIGTERM stop it after the page in hand.
pub async fn export_to_file(
    client: &Client,
    spec: ExportSpec,
    target: &Path,
    resume: bool,
    concurrency: Option<usize>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<FileExport, ExportStopped> {
    let refused = ExportStopped::Refused;
    let mut interrupts = Interrupts::listen()
        .map_err(|e| refused(format!("cannot watch for SIGINT/SIGTERM: {e}")))?;
    let earlier = if resume {
        ResumeState::load(target).map_err(refused)?
    } else {
        None
    };
    if let Some(found) = &earlier
        && found.spec != spec
    {
        return Err(refused(format!(
            "the interrupted export onto {} was {}; resume it with the same flags, or run \
             without --resume to start over",
            target.display(),
            found.spec.describe()
        )));
    }
    if spec.max_records.is_none() && spec.max_pages.is_none() {
        return crate::staged_export::export_whole(
            client,
            spec,
            target,
            earlier,
            concurrency,
            &mut interrupts,
            progress,
        )
        .await;
    }
    let columns = columns(spec.resource);
    let writer_for = |partial: &PartialFile| {
        partial
            .file()
            .try_clone()
            .map(|f| Box::new(BufWriter::new(f)) as Box<dyn Write>)
    };
    let resumed_after = earlier.as_ref().map(|found| found.rows);
    let (mut state, mut partial, mut writer) = match earlier {
        Some(found) => {
            let reopened = PartialFile::reopen(target, found.bytes).and_then(|partial| {
                let out = writer_for(&partial)?;
                Ok((partial, out))
            });
            let (partial, out) = reopened.map_err(|e| {
                refused(format!(
                    "cannot resume onto {}: {e}; run without --resume to start over",
                    partial_path(target).display()
                ))
            })?;
            let writer = RowWriter::resume(spec.format, columns.clone(), out, found.rows as usize);
            (found, partial, writer)
        }
        None => {
            let created = PartialFile::create(target).and_then(|partial| {
                let out = writer_for(&partial)?;
                let writer = RowWriter::new(spec.format, columns.clone(), out)?;
                Ok((partial, writer))
            });
            let (partial, writer) = created.map_err(|e| {
                refused(format!(
                    "cannot write {}: {e}",
                    partial_path(target).display()
                ))
            })?;
            (ResumeState::new(spec), partial, writer)
        }
    };
    // A failure keeps the partial file (and its record) only when it holds rows to resume from.
    let failed = |cause: Error, state: &ResumeState, partial: &mut PartialFile| {
        let worth_keeping = state.rows > 0;
        partial.keep_on_drop(worth_keeping);
        if !worth_keeping {
            ResumeState::remove(target);
        }
        ExportStopped::Failed {
            cause,
            rows: state.rows,
            partial: worth_keeping.then(|| partial.path().to_path_buf()),
        }
    };
    let checkpoint =
        |writer: &mut RowWriter<'_>, state: &mut ResumeState, partial: &PartialFile| {
            writer.flush()?;
            state.bytes = partial.len()?;
            state.save(target)
        };
    if let Err(e) = checkpoint(&mut writer, &mut state, &partial) {
        return Err(failed(write_error(e), &state, &mut partial));
    }
    if !state.done {
        let remaining =
            |limit: Option<usize>, used: u64| limit.map(|n| n.saturating_sub(used as usize));
        let params = ListParams {
            max_items: remaining(spec.max_records, state.rows),
            max_pages: remaining(spec.max_pages, state.pages),
            cursor: state.cursor.clone(),
            ..Default::default()
        };
        let mut pager = match pager(client, spec.resource, params) {
            Ok(p) => p,
            Err(e) => return Err(failed(e, &state, &mut partial)),
        };
        loop {
            let next = tokio::select! {
                biased;
                signal = interrupts.next() => {
                    partial.keep_on_drop(true);
                    return Err(ExportStopped::Interrupted {
                        signal,
                        rows: state.rows,
                        partial: partial.path().to_path_buf(),
                    });
                }
                page = pager.next_page() => page,
            };
            let page = match next {
                Ok(Some(page)) => page,
                Ok(None) => break,
                Err(cause) => return Err(failed(cause, &state, &mut partial)),
            };
            for item in &page.data {
                if let Err(e) = writer.row(&row(spec.resource, item, &columns)) {
                    return Err(failed(write_error(e), &state, &mut partial));
                }
            }
            state.rows += page.data.len() as u64;
            state.pages += 1;
            state.cursor = pager.cursor().map(str::to_string);
            state.done = pager.is_done();
            if let Err(e) = checkpoint(&mut writer, &mut state, &partial) {
                return Err(failed(write_error(e), &state, &mut partial));
            }
            progress(state.rows);
        }
    }
    let rows = match writer.finish() {
        Ok(rows) => rows as u64,
        Err(e) => return Err(failed(write_error(e), &state, &mut partial)),
    };
    if let Err(e) = partial.commit() {
        return Err(ExportStopped::Failed {
            cause: write_error(e),
            rows,
            partial: Some(partial_path(target)),
        });
    }
    ResumeState::remove(target);
    Ok(FileExport {
        rows,
        resumed_after,
    })
}
