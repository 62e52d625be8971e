//! The sync's state file: per stream, the bookmark (every record before it has been written)
//! and the run in progress, with the slices it has finished. It is replaced atomically
//! (written beside, then renamed), so a sync killed at any point finds either the old state
//! or the new one, never half of one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One window of a run: `[from, to)` in microseconds, and a partition's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slice {
    /// Start, inclusive.
    pub from: i64,
    /// End, exclusive.
    pub to: i64,
    /// Which of the stream's partitions (its required filter clauses) it reads.
    pub partition: usize,
}

/// A run that has started and not finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Run {
    /// Names the run's output parts, so a resumed run writes the same names (and replaces,
    /// never duplicates, a part written before the kill).
    pub id: String,
    /// The window the run reads: from the bookmark to the signpost (now minus the margin).
    pub from: i64,
    /// The signpost: the bookmark once the run is done.
    pub to: i64,
    /// The run's slices.
    pub slices: Vec<Slice>,
    /// Indexes of the slices whose part is written.
    pub done: Vec<usize>,
}

/// One stream's state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    /// Microseconds: every record with a replication key before it is written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmark: Option<i64>,
    /// The same, as ISO 8601, for people reading the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmark_time: Option<String>,
    /// The run in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
}

/// The whole state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// What the state describes (`parquet:/abs/dir`): a state file used with another
    /// destination would skip everything before its bookmarks there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// By stream name.
    #[serde(default)]
    pub streams: BTreeMap<String, StreamState>,
}

impl State {
    /// Records that slice `index` of `stream`'s run is written.
    pub fn mark_done(&mut self, stream: &str, index: usize) {
        if let Some(run) = self.streams.get_mut(stream).and_then(|s| s.run.as_mut())
            && !run.done.contains(&index)
        {
            run.done.push(index);
        }
    }
}

/// Where the state lives.
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    /// The state at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateFile { path: path.into() }
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state, or an empty one when there is no file yet.
    pub fn load(&self) -> Result<State> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::InvalidInput(format!(
                    "the sync state {} is not a state file ({e}); move it away to start over",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(io(&self.path, e)),
        }
    }

    /// Replaces the file with `state` atomically.
    pub fn save(&self, state: &State) -> Result<()> {
        let text =
            serde_json::to_vec_pretty(state).map_err(|e| Error::InvalidInput(e.to_string()))?;
        write_atomically(&self.path, &text)
    }
}

/// Writes `bytes` beside `path` and renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, bytes).map_err(|e| io(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| io(path, e))
}

pub(crate) fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Config(format!("{}: {e}", path.display()))
}
