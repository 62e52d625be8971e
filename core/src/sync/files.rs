//! File destinations: Parquet (Apache Arrow's writer), JSONL and CSV, one folder per stream
//! and a `manifest.json` that lists each stream's columns and parts.
//!
//! A part is written under `<part>.partial` and renamed when complete, so a part's name only
//! ever holds a whole part. An incremental stream adds one part per slice of each run
//! (`<run>-<slice>`); a resumed run writes the same names, so a part written before a kill is
//! replaced, not repeated. A snapshot stream (no replication key) is one part, `snapshot`,
//! replaced whole by each sync.
//!
//! A stream whose key is when its record happened (events, the daily reports) is kept in
//! month folders, Hive-style (`events/month=2026-01/<run>-<slice>.parquet`), so a reader
//! that asks for a month reads only its files: a part is then one file per month its rows
//! fall in, each written and renamed the same way.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow_schema::Schema;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde_json::{Map, Value, json};

use super::record_batches::{arrow_schema, record_batch};
use super::schema::{Cell, Column, format_micros};
use super::state::{State, StateFile, StreamState, io, write_atomically};
use super::{Destination, PartWriter, SliceId};
use crate::auth::BoxFuture;
use crate::error::{Error, Result};

/// Rows per Parquet row group: what a writer holds before it writes.
const ROW_GROUP_ROWS: usize = 65_536;
/// Bytes a writer holds at most before it writes a row group: with `--concurrency` parts
/// open at once (a part in month folders has a writer per month its rows fall in: one or two
/// for a slice of events, up to 13 for a year of daily reports), what keeps a sync's memory
/// flat however large the account.
const ROW_GROUP_BYTES: usize = 256 * 1024;
/// Each finished part's files, by (stream, part): (path in the stream's folder, rows).
type WrittenFiles = Arc<Mutex<HashMap<(String, String), Vec<(String, u64)>>>>;

/// The folder of rows whose month is unknown (Hive's name for a null partition).
const NO_MONTH: &str = "month=__HIVE_DEFAULT_PARTITION__";

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Apache Parquet, Snappy-compressed, typed columns.
    Parquet,
    /// One JSON object per line.
    Jsonl,
    /// RFC 4180 CSV with a header (JSON columns as their text).
    Csv,
}

impl FileFormat {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Jsonl => "jsonl",
            FileFormat::Csv => "csv",
        }
    }
}

/// Files in a folder, with the sync's state in a state file.
pub struct FileDestination {
    dir: PathBuf,
    format: FileFormat,
    state_file: StateFile,
    /// The state as last saved (slices finish concurrently; each save writes all of it).
    state: Mutex<State>,
    manifest: Mutex<()>,
    /// Each finished part's files (relative to its stream's folder) and their rows, until
    /// the manifest records them.
    written: WrittenFiles,
    /// Held from `load` on: one sync per state file at a time.
    lock: Mutex<Option<crate::catalog_sync::lock::SyncLock>>,
}

impl FileDestination {
    /// Files of `format` in `dir` (created when missing), the state in `state_file`.
    pub fn new(dir: impl Into<PathBuf>, format: FileFormat, state_file: StateFile) -> Self {
        FileDestination {
            dir: dir.into(),
            format,
            state_file,
            state: Mutex::new(State::default()),
            manifest: Mutex::new(()),
            written: Arc::default(),
            lock: Mutex::new(None),
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `parquet:/absolute/dir`: what the state file belongs to.
    fn identity(&self) -> String {
        let dir = std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone());
        format!("{}:{}", self.format.extension(), dir.display())
    }

    fn file_name(&self, part: &str) -> String {
        format!("{part}.{}", self.format.extension())
    }

    fn save(&self, change: impl FnOnce(&mut State)) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut state);
        self.state_file.save(&state)
    }

    /// Records a finished part's files in the manifest (the stream's columns, its files and
    /// their row counts), in place of any an earlier attempt at the part recorded.
    fn record(
        &self,
        stream: &str,
        columns: &'static [Column],
        part: &str,
        files: &[(String, u64)],
        replace: bool,
    ) -> Result<()> {
        let _guard = self.manifest.lock().unwrap_or_else(|e| e.into_inner());
        let path = self.dir.join("manifest.json");
        let mut manifest: Map<String, Value> = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Config(format!(
                    "{} is not a sync manifest ({e}); move it away to start it again",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => return Err(io(&path, e)),
        };
        let streams = manifest.entry("streams").or_insert_with(|| json!({}));
        let entry = streams
            .as_object_mut()
            .ok_or_else(|| Error::Config(format!("{} is not a sync manifest", path.display())))?
            .entry(stream)
            .or_insert_with(|| json!({"parts": {}}));
        entry["format"] = json!(self.format.extension());
        entry["columns"] = Value::Array(
            columns
                .iter()
                .map(|c| json!({"name": c.name, "type": c.kind.name()}))
                .collect(),
        );
        if replace {
            entry["parts"] = json!({});
        }
        let name = self.file_name(part);
        if let Some(parts) = entry["parts"].as_object_mut() {
            parts.retain(|file, _| file != &name && !file.ends_with(&format!("/{name}")));
        }
        for (file, rows) in files {
            entry["parts"][file] = json!(rows);
        }
        let total: u64 = entry["parts"]
            .as_object()
            .map_or(0, |p| p.values().filter_map(Value::as_u64).sum());
        entry["rows"] = json!(total);
        write_atomically(
            &path,
            &serde_json::to_vec_pretty(&Value::Object(manifest)).unwrap_or_default(),
        )
    }

    fn open(
        &self,
        slice: &SliceId,
        columns: &'static [Column],
        month_column: Option<usize>,
    ) -> Result<FilePart> {
        let folder = self.dir.join(slice.stream);
        std::fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
        let name = self.file_name(&slice.part);
        let mut part = FilePart {
            format: self.format,
            columns,
            folder,
            name,
            month_column,
            files: BTreeMap::new(),
            rows: 0,
            written: self.written.clone(),
            key: (slice.stream.to_string(), slice.part.clone()),
        };
        // The file exists however few rows: a snapshot's part replaces the last one.
        if month_column.is_none() {
            part.file(String::new())?;
        }
        Ok(part)
    }
}

impl Destination for FileDestination {
    fn load(&self) -> BoxFuture<'_, Result<State>> {
        Box::pin(async move {
            let mut lock_path = self.state_file.path().as_os_str().to_owned();
            lock_path.push(".lock");
            let lock = crate::catalog_sync::lock::acquire_file(
                lock_path.into(),
                "sync with this state file",
            )?;
            *self.lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(lock);
            let mut loaded = self.state_file.load()?;
            let here = self.identity();
            match &loaded.destination {
                Some(there) if *there != here => {
                    return Err(Error::InvalidInput(format!(
                        "the state {} belongs to {there}, not {here}: give that destination, or a new --state file to sync {here} from the start",
                        self.state_file.path().display()
                    )));
                }
                Some(_) => {}
                None if self.dir.join("manifest.json").exists() && loaded.streams.is_empty() => {
                    return Err(Error::InvalidInput(format!(
                        "{} already holds a sync, and the state {} is new: give the state that sync kept, or an empty folder",
                        self.dir.display(),
                        self.state_file.path().display()
                    )));
                }
                None => loaded.destination = Some(here),
            }
            *self.state.lock().unwrap_or_else(|e| e.into_inner()) = loaded.clone();
            Ok(loaded)
        })
    }

    fn save_stream<'a>(
        &'a self,
        stream: &'a str,
        state: &'a StreamState,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.save(|all| {
                all.streams.insert(stream.to_string(), state.clone());
            })
        })
    }

    fn part<'a>(
        &'a self,
        slice: &'a SliceId,
        columns: &'static [Column],
    ) -> BoxFuture<'a, Result<Box<dyn PartWriter>>> {
        Box::pin(async move {
            let month_column = super::streams::stream(slice.stream)
                .and_then(|s| s.month_column())
                .and_then(|name| columns.iter().position(|c| c.name == name));
            Ok(Box::new(self.open(slice, columns, month_column)?) as Box<dyn PartWriter>)
        })
    }

    fn finished<'a>(
        &'a self,
        slice: &'a SliceId,
        columns: &'static [Column],
        rows: u64,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // The part is under its name; a kill before the state is saved redoes the slice,
            // which writes the same name again.
            let files = self
                .written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&(slice.stream.to_string(), slice.part.clone()))
                .unwrap_or_default();
            debug_assert_eq!(files.iter().map(|(_, n)| n).sum::<u64>(), rows);
            self.record(slice.stream, columns, &slice.part, &files, slice.snapshot)?;
            self.save(|all| all.mark_done(slice.stream, slice.index))
        })
    }
}

/// A part being written: its files (one, or one per month), each under its partial name.
struct FilePart {
    format: FileFormat,
    columns: &'static [Column],
    /// The stream's folder.
    folder: PathBuf,
    /// Each file's name: `<part>.<extension>`.
    name: String,
    /// The column whose month names each row's folder, for a stream kept in month folders.
    month_column: Option<usize>,
    /// Open files by folder (`month=2026-01`, or `""` for the stream's folder itself).
    files: BTreeMap<String, PartFile>,
    rows: u64,
    written: WrittenFiles,
    key: (String, String),
}

/// One file of a part.
struct PartFile {
    encoder: Encoder,
    partial: PathBuf,
    target: PathBuf,
    rows: u64,
}

enum Encoder {
    // Boxed: the Parquet writer is five times the size of the text one.
    Parquet(Box<ParquetPart>),
    Text(TextPart),
}

impl FilePart {
    /// The file in `month_folder`, opened the first time a row falls in it.
    fn file(&mut self, month_folder: String) -> Result<&mut PartFile> {
        use std::collections::btree_map::Entry;
        match self.files.entry(month_folder) {
            Entry::Occupied(open) => Ok(open.into_mut()),
            Entry::Vacant(vacant) => {
                let folder = self.folder.join(vacant.key());
                std::fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
                let target = folder.join(&self.name);
                // A hidden name: readers of the folder (pyarrow, Spark, DuckDB) skip dot files.
                let partial = folder.join(format!(".{}.partial", self.name));
                let file = File::create(&partial).map_err(|e| io(&partial, e))?;
                let encoder = match self.format {
                    FileFormat::Parquet => Encoder::Parquet(Box::new(ParquetPart::new(
                        file,
                        self.columns,
                        partial.clone(),
                    )?)),
                    FileFormat::Jsonl | FileFormat::Csv => {
                        let mut text = TextPart {
                            out: BufWriter::new(file),
                            columns: self.columns,
                            partial: partial.clone(),
                            csv: self.format == FileFormat::Csv,
                        };
                        if text.csv {
                            text.header()?;
                        }
                        Encoder::Text(text)
                    }
                };
                Ok(vacant.insert(PartFile {
                    encoder,
                    partial,
                    target,
                    rows: 0,
                }))
            }
        }
    }

    /// Removes the part's files from every folder but `kept` (the stream's folder itself
    /// included, where a part was before month folders): what an earlier attempt at the slice,
    /// killed before the state recorded it done, wrote in months this attempt has no rows in.
    /// Run once this attempt's files are in place, so the manifest never lists a file that is
    /// gone.
    fn remove_other_attempts(
        folder: &Path,
        name: &str,
        kept: &std::collections::BTreeSet<&str>,
    ) -> Result<()> {
        let mut folders = vec![(String::new(), folder.to_path_buf())];
        for entry in std::fs::read_dir(folder).map_err(|e| io(folder, e))? {
            let path = entry.map_err(|e| io(folder, e))?.path();
            if let (true, Some(month)) = (path.is_dir(), path.file_name().and_then(|n| n.to_str()))
            {
                folders.push((month.to_string(), path.clone()));
            }
        }
        for (month, path) in folders {
            if kept.contains(month.as_str()) {
                continue;
            }
            for earlier in [path.join(name), path.join(format!(".{name}.partial"))] {
                match std::fs::remove_file(&earlier) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(io(&earlier, e));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// A row's folder: `month=YYYY-MM` of its month column.
    fn month_folder(row: &[Cell], column: usize) -> String {
        match row.get(column) {
            Some(Cell::Timestamp(micros)) => format!("month={}", &format_micros(*micros)[..7]),
            _ => NO_MONTH.to_string(),
        }
    }

    fn write_rows(&mut self, rows: Vec<Vec<Cell>>) -> Result<()> {
        self.rows += rows.len() as u64;
        let Some(column) = self.month_column else {
            return self.file(String::new())?.write(rows);
        };
        // An event slice's rows come in key order, so most pages fall in one month; a daily
        // report's come per metric or message, each over the slice's months.
        let mut by_month: BTreeMap<String, Vec<Vec<Cell>>> = BTreeMap::new();
        for row in rows {
            by_month
                .entry(Self::month_folder(&row, column))
                .or_default()
                .push(row);
        }
        for (month, rows) in by_month {
            self.file(month)?.write(rows)?;
        }
        Ok(())
    }
}

impl PartFile {
    fn write(&mut self, rows: Vec<Vec<Cell>>) -> Result<()> {
        self.rows += rows.len() as u64;
        match &mut self.encoder {
            Encoder::Parquet(p) => p.write(rows),
            Encoder::Text(t) => t.write(rows),
        }
    }

    fn finish(self) -> Result<u64> {
        match self.encoder {
            Encoder::Parquet(p) => p.finish()?,
            Encoder::Text(t) => t.finish()?,
        }
        std::fs::rename(&self.partial, &self.target).map_err(|e| io(&self.target, e))?;
        Ok(self.rows)
    }
}

impl PartWriter for FilePart {
    fn write(&mut self, rows: Vec<Vec<Cell>>) -> BoxFuture<'_, Result<()>> {
        let result = self.write_rows(rows);
        Box::pin(async move { result })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<u64>> {
        Box::pin(async move {
            let FilePart {
                folder: stream_folder,
                files,
                name,
                month_column,
                rows,
                written,
                key,
                ..
            } = *self;
            let months: std::collections::BTreeSet<String> = files.keys().cloned().collect();
            let mut finished = Vec::with_capacity(files.len());
            for (folder, file) in files {
                let n = file.finish()?;
                let relative = if folder.is_empty() {
                    name.clone()
                } else {
                    format!("{folder}/{name}")
                };
                finished.push((relative, n));
            }
            if month_column.is_some() {
                let kept = months.iter().map(String::as_str).collect();
                FilePart::remove_other_attempts(&stream_folder, &name, &kept)?;
            }
            written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, finished);
            Ok(rows)
        })
    }
}

/// JSONL or CSV.
struct TextPart {
    out: BufWriter<File>,
    columns: &'static [Column],
    partial: PathBuf,
    csv: bool,
}

impl TextPart {
    fn header(&mut self) -> Result<()> {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        self.line(
            &names
                .iter()
                .map(|n| csv_field(n))
                .collect::<Vec<_>>()
                .join(","),
        )
    }

    fn line(&mut self, text: &str) -> Result<()> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| io(&self.partial, e))
    }
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn csv_cell(cell: &Cell) -> String {
    match cell {
        Cell::Null => String::new(),
        Cell::Str(s) | Cell::Json(s) => csv_field(s),
        Cell::Int(n) => n.to_string(),
        Cell::Float(n) => n.to_string(),
        Cell::Bool(b) => b.to_string(),
        Cell::Timestamp(_) => cell.to_json().as_str().unwrap_or_default().to_string(),
    }
}

impl TextPart {
    fn write(&mut self, rows: Vec<Vec<Cell>>) -> Result<()> {
        for row in rows {
            let line = if self.csv {
                row.iter().map(csv_cell).collect::<Vec<_>>().join(",")
            } else {
                let object: Map<String, Value> = self
                    .columns
                    .iter()
                    .zip(&row)
                    .map(|(c, v)| (c.name.to_string(), v.to_json()))
                    .collect();
                Value::Object(object).to_string()
            };
            self.line(&line)?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| io(&self.partial, e))?;
        self.out
            .get_ref()
            .sync_data()
            .map_err(|e| io(&self.partial, e))
    }
}

struct ParquetPart {
    writer: ArrowWriter<File>,
    schema: Arc<Schema>,
    columns: &'static [Column],
    partial: PathBuf,
}

impl ParquetPart {
    fn new(file: File, columns: &'static [Column], partial: PathBuf) -> Result<Self> {
        let schema = Arc::new(arrow_schema(columns));
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            // And at most this many bytes, however large the rows (custom properties), in
            // pages of at most a tenth of that per column.
            .set_max_row_group_bytes(Some(ROW_GROUP_BYTES))
            .set_data_page_size_limit(ROW_GROUP_BYTES / 10)
            .set_dictionary_page_size_limit(ROW_GROUP_BYTES / 10)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))
            .map_err(|e| parquet_error(&partial, e))?;
        Ok(ParquetPart {
            writer,
            schema,
            columns,
            partial,
        })
    }

    /// Encodes a page's rows at once (rows waiting for a larger batch would be held twice,
    /// as cells and as the writer's pages).
    fn write(&mut self, rows: Vec<Vec<Cell>>) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch = record_batch(&self.schema, self.columns, &rows)?;
        drop(rows);
        self.writer
            .write(&batch)
            .map_err(|e| parquet_error(&self.partial, e))?;
        // The writer's own byte limit counts an estimate of the encoded size, which for
        // dictionary-encoded text is a fraction of what it holds (2.4 MB held at a 1 MiB
        // limit): what it holds is what keeps memory flat.
        if self.writer.memory_size() >= ROW_GROUP_BYTES {
            self.writer
                .flush()
                .map_err(|e| parquet_error(&self.partial, e))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| parquet_error(&self.partial, e))?;
        file.sync_data().map_err(|e| io(&self.partial, e))
    }
}

fn parquet_error(path: &Path, e: parquet::errors::ParquetError) -> Error {
    Error::Config(format!("{}: {e}", path.display()))
}
