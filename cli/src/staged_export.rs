//! A whole export to a file (`export-data`, and `export-profiles --output`, without
//! `--max-records`/`--max-pages`) read by the sync engine: the resource's stream cut into
//! time slices paged at once within the rate limits, each slice's records staged whole in
//! `<file>.partial.d/`, then merged in slice order into `<file>.partial` with the reference
//! columns and renamed over `<file>`.
//!
//! - **Resumable**: the engine's state (its run, and which slices are staged) is kept in
//!   `<file>.partial.json` with the export's flags; `--resume` continues the run and reads
//!   again only the slices that were not finished. No row is missing or repeated.
//! - **One row per record**: slices are windows of the replication key, and a key that
//!   changes (a profile's or a list's `updated`) can move a record out of a slice not yet
//!   read to past the window's end while the export runs. So the window is read on from a
//!   little before where it ended ([`OVERLAP`]), round after round, until a round finds
//!   nothing or [`ROUNDS`] are read. A record read more than once (it changed while it was
//!   read, or it is in an overlap) is written once, its latest copy.
//! - Events (their `datetime` never changes) take one round, with no end to its window: an
//!   event sent with a time in the future is exported too. Streams read whole (metrics,
//!   catalog items) take one round.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use klaviyo_bridge::auth::BoxFuture;
use klaviyo_bridge::sync::schema::{Cell, Column, parse_micros};
use klaviyo_bridge::sync::state::{State, StreamState};
use klaviyo_bridge::sync::{AccountSync, Destination, PartWriter, Progress, SliceId, SyncOptions};
use klaviyo_bridge::time::micros;
use klaviyo_bridge::{Client, Error, Resource};
use serde::{Deserialize, Serialize};

use crate::export::{
    ExportResource, ExportSpec, ExportStopped, FileExport, ResumeState, columns, row,
};
use crate::interrupt::Interrupts;
use crate::output::RowWriter;
use crate::partial_file::{PartialFile, partial_path, with_suffix};

/// The most rounds a whole export reads: the window, then what changed while it was read,
/// twice more. A record would be missed only if it changed in every round, each time just
/// before its slice was read.
pub const ROUNDS: usize = 3;

/// One engine run of an export: the window, or a reading on of what changed during the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    /// The engine's run id: its staged parts are `<run>-<slice>.jsonl`.
    pub run: String,
    /// Its slices: as many parts are staged when it is finished.
    #[serde(default)]
    pub slices: usize,
    /// Records in its finished slices.
    pub rows: u64,
    /// Every slice of it is staged.
    pub finished: bool,
}

/// `<file>.partial.d`: where a whole export stages its slices.
pub fn staging_path(target: &Path) -> PathBuf {
    with_suffix(&partial_path(target), ".d")
}

/// Where the window of a stream whose key never changes ends: after any event an account
/// could hold, those sent with a time in the future included.
const NO_END: Duration = Duration::from_secs(4_102_444_800); // 2100-01-01

/// How far before the end of the last round a follow-on round starts: as far apart as this
/// machine's clock and Klaviyo's may be (5 minutes), and the second the end is rounded to.
const OVERLAP: Duration = Duration::from_secs(301);

/// The sync stream a resource is read as.
fn stream_name(resource: ExportResource) -> &'static str {
    match resource {
        ExportResource::Profiles => "profiles",
        ExportResource::Events => "events",
        ExportResource::Metrics => "metrics",
        ExportResource::Lists => "lists",
        ExportResource::CatalogItems => "catalog_items",
    }
}

/// The stream's replication key, when it can change after a record is read (so a record can
/// move between slices during an export): a key that is not when the record happened.
fn changing_key(stream: &str) -> Option<&'static str> {
    klaviyo_bridge::sync::streams::stream(stream)
        .filter(|s| s.month_column().is_none())
        .and_then(|s| s.key)
}

/// Drops an export's progress: the record first, so a kill between the two leaves only a
/// staging folder (which the next export removes), never a record that would merge it again.
fn discard(target: &Path, dir: &Path) {
    ResumeState::remove(target);
    let _ = std::fs::remove_dir_all(dir);
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::InvalidInput(format!("cannot {what} {}: {e}", path.display()))
}

/// The engine's destination: each slice's records, whole, one JSON object a line, in a file
/// renamed into place once complete; the engine's state in the export's progress record.
struct StagedParts {
    dir: PathBuf,
    target: PathBuf,
    record: Mutex<ResumeState>,
}

impl StagedParts {
    fn record(&self) -> MutexGuard<'_, ResumeState> {
        self.record
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn save(&self, record: &ResumeState) -> klaviyo_bridge::Result<()> {
        record
            .save(&self.target)
            .map_err(|e| io_error("write", &crate::export::resume_state_path(&self.target), e))
    }

    fn part_path(&self, run: &str, index: usize) -> PathBuf {
        self.dir.join(format!("{run}-{index:06}.jsonl"))
    }
}

impl Destination for StagedParts {
    fn load(&self) -> BoxFuture<'_, klaviyo_bridge::Result<State>> {
        let state = self.record().sync.clone().unwrap_or_default();
        Box::pin(std::future::ready(Ok(state)))
    }

    fn save_stream<'a>(
        &'a self,
        stream: &'a str,
        state: &'a StreamState,
    ) -> BoxFuture<'a, klaviyo_bridge::Result<()>> {
        let mut record = self.record();
        record
            .sync
            .get_or_insert_with(State::default)
            .streams
            .insert(stream.to_string(), state.clone());
        match &state.run {
            Some(run) if record.rounds.last().map(|r| r.run.as_str()) != Some(run.id.as_str()) => {
                record.rounds.push(Round {
                    run: run.id.clone(),
                    slices: run.slices.len(),
                    rows: 0,
                    finished: false,
                });
            }
            Some(_) => {}
            None => {
                if let Some(last) = record.rounds.last_mut() {
                    last.finished = true;
                }
            }
        }
        let saved = self.save(&record);
        Box::pin(std::future::ready(saved))
    }

    fn part<'a>(
        &'a self,
        slice: &'a SliceId,
        _columns: &'static [Column],
    ) -> BoxFuture<'a, klaviyo_bridge::Result<Box<dyn PartWriter>>> {
        let path = self.part_path(&slice.run, slice.index);
        let scratch = with_suffix(&path, ".tmp");
        let started = File::create(&scratch)
            .map(|file| {
                Box::new(StagedPart {
                    out: BufWriter::new(file),
                    scratch: scratch.clone(),
                    path,
                    rows: 0,
                }) as Box<dyn PartWriter>
            })
            .map_err(|e| io_error("write", &scratch, e));
        Box::pin(std::future::ready(started))
    }

    fn finished<'a>(
        &'a self,
        slice: &'a SliceId,
        _columns: &'static [Column],
        rows: u64,
    ) -> BoxFuture<'a, klaviyo_bridge::Result<()>> {
        let mut record = self.record();
        if let Some(state) = record.sync.as_mut() {
            state.mark_done(slice.stream, slice.index);
        }
        record.rows += rows;
        if let Some(round) = record.rounds.last_mut() {
            round.rows += rows;
        }
        let saved = self.save(&record);
        Box::pin(std::future::ready(saved))
    }
}

/// One slice's records on their way to its staged part.
struct StagedPart {
    out: BufWriter<File>,
    scratch: PathBuf,
    path: PathBuf,
    rows: u64,
}

impl PartWriter for StagedPart {
    fn write(&mut self, rows: Vec<Vec<Cell>>) -> BoxFuture<'_, klaviyo_bridge::Result<()>> {
        let mut written = Ok(());
        for cells in rows {
            let Some(Cell::Json(resource)) = cells.into_iter().next() else {
                written = Err(Error::Config(
                    "the sync handed an export a row without its whole resource".into(),
                ));
                break;
            };
            if let Err(e) = writeln!(self.out, "{resource}") {
                written = Err(io_error("write", &self.scratch, e));
                break;
            }
            self.rows += 1;
        }
        Box::pin(std::future::ready(written))
    }

    fn finish(mut self: Box<Self>) -> BoxFuture<'static, klaviyo_bridge::Result<u64>> {
        let done = self
            .out
            .flush()
            .and_then(|()| std::fs::rename(&self.scratch, &self.path))
            .map(|()| self.rows)
            .map_err(|e| io_error("write", &self.path, e));
        Box::pin(std::future::ready(done))
    }
}

/// The staged parts of `run`, in slice order.
fn parts_of(dir: &Path, run: &str) -> std::io::Result<Vec<PathBuf>> {
    let prefix = format!("{run}-");
    let mut parts: Vec<(usize, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let index = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".jsonl"))
            .and_then(|n| n.parse().ok());
        if let Some(index) = index {
            parts.push((index, path));
        }
    }
    parts.sort();
    Ok(parts.into_iter().map(|(_, path)| path).collect())
}

/// Each staged record of `part`, in order.
fn each_record(
    part: &Path,
    mut each: impl FnMut(Resource) -> std::io::Result<()>,
) -> std::io::Result<()> {
    for line in BufReader::new(File::open(part)?).lines() {
        let value = serde_json::from_str(&line?).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} is not a staged part ({e}); run without --resume to start over",
                    part.display()
                ),
            )
        })?;
        each(Resource::new(value))?;
    }
    Ok(())
}

/// What may have been read twice: records of a stream whose key changes, `key` at or after
/// `since` (shortly before the export started; a record that changed while the export ran has
/// such a key in its newer copy).
#[derive(Debug, Clone, Copy)]
struct Changed<'a> {
    key: &'a str,
    since: i64,
}

/// Where a staged record is, in merge order: part (every round's, in order), line.
type Position = (usize, usize);

/// Merges the rounds' staged parts into `<target>.partial` and renames it over `target`;
/// answers the rows written. With `changed`, a record read more than once (it changed while
/// the export ran) is written once: its copy with the latest key, the last read of those.
fn merge(
    spec: ExportSpec,
    target: &Path,
    dir: &Path,
    rounds: &[Round],
    changed: Option<Changed<'_>>,
) -> std::io::Result<u64> {
    let mut parts: Vec<PathBuf> = Vec::new();
    for round in rounds {
        let staged = parts_of(dir, &round.run)?;
        // Never a file short of records: a part gone (a staging folder cleaned by hand) is an
        // export to start over.
        if staged.len() != round.slices {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} holds {} of the {} slices it recorded as read; run without --resume to \
                     start over",
                    dir.display(),
                    staged.len(),
                    round.slices
                ),
            ));
        }
        parts.extend(staged);
    }
    // The latest copy of each recently changed record: few (what changed around the export).
    let mut latest: HashMap<String, (i64, Position)> = HashMap::new();
    if let Some(Changed { key, since }) = changed {
        for (p, part) in parts.iter().enumerate() {
            let mut line = 0;
            each_record(part, |record| {
                line += 1;
                let at = record.attr_str(key).and_then(parse_micros);
                if let (Some(id), Some(at)) = (record.id(), at)
                    && at >= since
                {
                    let here = (at, (p, line));
                    let best = latest.entry(id.to_string()).or_insert(here);
                    if here >= *best {
                        *best = here;
                    }
                }
                Ok(())
            })?;
        }
    }
    let columns = columns(spec.resource);
    let partial = PartialFile::create(target)?;
    let out = Box::new(BufWriter::new(partial.file().try_clone()?));
    let mut writer = RowWriter::new(spec.format, columns.clone(), out)?;
    for (p, part) in parts.iter().enumerate() {
        let mut line = 0;
        each_record(part, |record| {
            line += 1;
            let best = record.id().and_then(|id| latest.get(id));
            if best.is_some_and(|(_, at)| *at != (p, line)) {
                return Ok(()); // another copy of it is written
            }
            writer.row(&row(spec.resource, &record, &columns))
        })?;
    }
    let rows = writer.finish()? as u64;
    partial.commit()?;
    Ok(rows)
}

/// A whole export onto `target`, from `earlier` (an interrupted one's progress record, when
/// resuming) or from the start. SIGINT and SIGTERM stop it, keeping what is staged.
pub async fn export_whole(
    client: &Client,
    spec: ExportSpec,
    target: &Path,
    earlier: Option<ResumeState>,
    concurrency: Option<usize>,
    interrupts: &mut Interrupts,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<FileExport, ExportStopped> {
    let dir = staging_path(target);
    let resumed_after = earlier.as_ref().map(|found| found.rows);
    if earlier.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut record = earlier.unwrap_or_else(|| ResumeState::new(spec));
    record
        .started
        .get_or_insert_with(|| micros(SystemTime::now()));
    let destination = StagedParts {
        dir: dir.clone(),
        target: target.to_path_buf(),
        record: Mutex::new(record),
    };
    if let Err(e) = std::fs::create_dir_all(&dir).map_err(|e| io_error("create", &dir, e)) {
        return Err(ExportStopped::Refused(e.to_string()));
    }
    // Nothing worth keeping when the failure came before a row: no partial, no record.
    let failed = |cause: Error, destination: &StagedParts| {
        let rows = destination.record().rows;
        let worth_keeping = rows > 0;
        if !worth_keeping {
            discard(target, &dir);
        }
        ExportStopped::Failed {
            cause,
            rows,
            partial: worth_keeping.then(|| dir.clone()),
        }
    };
    if let Err(cause) = destination.save(&destination.record()) {
        return Err(failed(cause, &destination));
    }
    let stream = stream_name(spec.resource);
    let key = changing_key(stream);
    let (rounds, end) = match key {
        // Up to now, this second included: an export keeps no bookmark to stay behind.
        Some(_) => (ROUNDS, None),
        None => (1, Some(SystemTime::UNIX_EPOCH + NO_END)),
    };
    loop {
        let before = {
            let mut record = destination.record();
            let another = match record.rounds.last() {
                None => true,
                Some(last) if !last.finished => true,
                Some(last) => last.rows > 0 && record.rounds.len() < rounds,
            };
            if !another {
                break;
            }
            // A round after another reads from a little before where that one ended: a record
            // moved there while it ran (by a change Klaviyo's clock dated before the end) is
            // read again, and written once.
            if record.rounds.last().is_some_and(|last| last.finished)
                && let Some(state) = record.sync.as_mut().and_then(|s| s.streams.get_mut(stream))
            {
                let overlap = OVERLAP.as_micros() as i64;
                state.bookmark = state.bookmark.map(|b| b - overlap);
            }
            record.rows
        };
        let on_progress = |p: &Progress| progress(before + p.records);
        let mut options = SyncOptions {
            streams: vec![stream.to_string()],
            // Every record, however old its key: an export has no start date.
            start: SystemTime::UNIX_EPOCH,
            until: Some(end.unwrap_or_else(|| SystemTime::now() + Duration::from_secs(1))),
            whole_resources: true,
            ..SyncOptions::default()
        };
        if let Some(n) = concurrency {
            options = options.with_concurrency(n);
        }
        let sync = match AccountSync::new(client, &destination, options) {
            Ok(sync) => sync,
            Err(e) => {
                if destination.record().rows == 0 {
                    discard(target, &dir);
                }
                return Err(ExportStopped::Refused(e.to_string()));
            }
        };
        tokio::select! {
            biased;
            signal = interrupts.next() => {
                return Err(ExportStopped::Interrupted {
                    signal,
                    rows: destination.record().rows,
                    partial: dir,
                });
            }
            read = sync.run(&on_progress) => {
                if let Err(cause) = read {
                    return Err(failed(cause, &destination));
                }
            }
        }
    }
    let (rounds, started) = {
        let record = destination.record();
        (record.rounds.clone(), record.started.unwrap_or_default())
    };
    // Every record a follow-on round read, and a change Klaviyo's clock dated a little before
    // this machine's start: each round after the first starts after `since`.
    let changed = key.map(|key| Changed {
        key,
        since: started - OVERLAP.as_micros() as i64,
    });
    match merge(spec, target, &dir, &rounds, changed) {
        Ok(rows) => {
            discard(target, &dir);
            Ok(FileExport {
                rows,
                resumed_after,
            })
        }
        // What is staged cannot make the file: nothing to resume.
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            discard(target, &dir);
            Err(ExportStopped::Failed {
                cause: Error::InvalidInput(e.to_string()),
                rows: 0,
                partial: None,
            })
        }
        Err(e) => Err(ExportStopped::Failed {
            cause: Error::InvalidInput(format!("cannot write the output: {e}")),
            rows: destination.record().rows,
            partial: Some(dir),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Format;

    fn staged(dir: &Path, run: &str, index: usize, records: &[(&str, &str, &str)]) {
        let mut text = String::new();
        for (id, name, updated) in records {
            let attributes = serde_json::json!({"name": name, "updated": updated});
            text.push_str(
                &serde_json::json!({"type": "list", "id": id, "attributes": attributes})
                    .to_string(),
            );
            text.push('\n');
        }
        std::fs::write(dir.join(format!("{run}-{index:06}.jsonl")), text).unwrap();
    }

    #[test]
    fn parts_merge_in_slice_order_and_a_record_read_twice_is_written_once_as_latest() {
        let root = std::env::temp_dir().join(format!("staged-export-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let target = root.join("lists.csv");
        let dir = staging_path(&target);
        std::fs::create_dir_all(&dir).unwrap();
        let old = "2025-06-01T00:00:00+00:00";
        // Slice 10 sorts after slice 9 (by number, not by name); a scratch part is not read.
        staged(
            &dir,
            "R1",
            10,
            &[
                ("L3", "third", old),
                ("L5", "moved on", "2026-01-02T00:00:00+00:00"),
            ],
        );
        staged(
            &dir,
            "R1",
            9,
            &[
                ("L1", "first", old),
                ("L2", "renamed later", old),
                ("L5", "before", old),
            ],
        );
        std::fs::write(dir.join("R1-000011.jsonl.tmp"), "not json\n").unwrap();
        staged(
            &dir,
            "R2",
            0,
            &[
                ("L2", "second", "2026-02-01T00:00:00+00:00"),
                ("L4", "new", "2026-02-01T00:00:00+00:00"),
            ],
        );
        let spec = ExportSpec {
            resource: ExportResource::Lists,
            format: Format::Csv,
            max_records: None,
            max_pages: None,
        };
        let rounds: Vec<Round> = ["R1", "R2"]
            .iter()
            .map(|run| Round {
                run: run.to_string(),
                slices: if *run == "R1" { 2 } else { 1 },
                rows: 1,
                finished: true,
            })
            .collect();
        let changed = Changed {
            key: "updated",
            since: parse_micros("2026-01-01T00:00:00Z").unwrap(),
        };
        let rows = merge(spec, &target, &dir, &rounds, Some(changed)).unwrap();
        assert_eq!(rows, 5);
        let written = std::fs::read_to_string(&target).unwrap();
        let ids: Vec<&str> = written
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(ids, ["L1", "L3", "L5", "L2", "L4"], "{written}");
        for (latest, earlier) in [("second", "renamed later"), ("moved on", "before")] {
            assert!(
                written.contains(latest) && !written.contains(earlier),
                "{written}"
            );
        }
        assert!(!partial_path(&target).exists());

        // Without `changed` (events, whose key never changes), every staged record is written.
        let rows = merge(spec, &target, &dir, &rounds, None).unwrap();
        assert_eq!(rows, 7);

        // A part gone: no file short of records; the target stays as it was.
        std::fs::remove_file(dir.join("R1-000010.jsonl")).unwrap();
        let refused = merge(spec, &target, &dir, &rounds, None).unwrap_err();
        assert_eq!(refused.kind(), std::io::ErrorKind::InvalidData);
        assert!(
            refused.to_string().contains("1 of the 2 slices"),
            "{refused}"
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap().lines().count(), 8);
        let _ = std::fs::remove_dir_all(&root);
    }
}
