//! `client.export(stream, options)`: one stream's records handed to code as they are read,
//! rather than written to files: Arrow record batches (a `futures` `Stream`, a blocking
//! `RecordBatchReader` for the Arrow C stream interface, Arrow IPC bytes) or rows of typed
//! cells for the bindings' record iterators.
//!
//! The reading is the sync engine's: the window from the bookmark (or `since`) to now minus
//! the safety margin, cut into time slices paged at once within the rate limits. Pages wait
//! in a channel of `concurrency` pages, so a reader slower than Klaviyo holds the sync back
//! instead of piling records up in memory. Records of different slices interleave: an export
//! is a set, in no particular order.
//!
//! With a state file the bookmark is saved only once the export has been read to its end: an
//! export abandoned halfway is read again from the old bookmark next time, none of it lost.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use tokio::sync::mpsc;

use super::record_batches::{arrow_schema, record_batch};
use super::schema::{Cell, Column, format_micros};
use super::state::{State, StateFile, StreamState};
use super::streams::{self, Stream};
use super::{AccountSync, Destination, PartWriter, SliceId, SyncOptions};
use crate::auth::BoxFuture;
use crate::catalog_sync::lock::SyncLock;
use crate::client::Client;
use crate::error::{Error, Result};

/// What the `destination` of an export's state file is: a state file kept by `--tool sync`
/// for a folder or a database cannot be used by an export (each would skip what the other
/// read), nor the other way round.
const EXPORT_BINDING: &str = "export";

/// How an export reads.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Where to start when there is no bookmark (default 2012-01-01: everything).
    pub since: Option<SystemTime>,
    /// A state file: its bookmark for the stream is where the export starts, and it is moved
    /// on once the export has been read to the end.
    pub state: Option<PathBuf>,
    /// Slices paged at once (default 32).
    pub concurrency: Option<usize>,
    /// How far behind now the export stops (default 5 minutes).
    pub safety_margin: Option<Duration>,
    /// The metric the campaign and flow reports count conversions of, by id (default: the
    /// account's "Placed Order").
    pub conversion_metric: Option<String>,
    /// How far back a report stream re-reads before its bookmark (default 7 days).
    pub lookback: Option<Duration>,
    /// How far back the events stream re-reads before its bookmark, for events sent with a
    /// past time (default none).
    pub events_lookback: Option<Duration>,
}

type Rows = Vec<Vec<Cell>>;

/// One stream's records, as they are read. Dropping it stops the reading.
pub struct Export {
    stream: &'static Stream,
    columns: &'static [Column],
    schema: SchemaRef,
    receiver: mpsc::Receiver<Result<Rows>>,
    /// The stream's state once the engine has read everything (set by the reading task).
    completed: Arc<Mutex<Option<StreamState>>>,
    /// The state file and its lock, held until the export ends.
    state: Option<(StateFile, SyncLock)>,
    bookmark: Option<String>,
    ended: bool,
    task: tokio::task::JoinHandle<()>,
    ipc: Option<arrow_ipc::writer::StreamWriter<Vec<u8>>>,
}

impl Drop for Export {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Export {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Export")
            .field("stream", &self.stream.name)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Reads one stream (`"profiles"`, `"events"`, … as `--tool sync` names them) as Arrow
    /// record batches or rows. Starts reading at once, on the current tokio runtime (or the
    /// crate's own outside one).
    pub fn export(&self, stream: &str, options: ExportOptions) -> Result<Export> {
        let found = streams::stream(stream).ok_or_else(|| {
            Error::InvalidInput(format!(
                "{stream:?} is not a stream; streams are {}",
                streams::names()
            ))
        })?;
        let columns = found
            .columns()
            .ok_or_else(|| Error::Config(format!("{} lists no resources", found.operation)))?;
        let concurrency = options
            .concurrency
            .unwrap_or(SyncOptions::default().concurrency);
        if concurrency == 0 {
            return Err(Error::InvalidInput("concurrency must be at least 1".into()));
        }
        let (state, existing) = match &options.state {
            Some(path) => {
                let (file, lock, loaded) = open_state(path)?;
                let existing = loaded.streams.get(found.name).cloned().unwrap_or_default();
                (Some((file, lock)), existing)
            }
            None => (None, StreamState::default()),
        };
        let mut sync_options = SyncOptions {
            streams: vec![found.name.to_string()],
            ..SyncOptions::default()
        }
        .with_concurrency(concurrency);
        if let Some(since) = options.since {
            sync_options.start = since;
        }
        if let Some(margin) = options.safety_margin {
            sync_options.safety_margin = margin;
        }
        sync_options.conversion_metric = options.conversion_metric.clone();
        if let Some(lookback) = options.lookback {
            sync_options.lookback = lookback;
        }
        if let Some(lookback) = options.events_lookback {
            sync_options.events_lookback = lookback;
        }
        let (sender, receiver) = mpsc::channel(concurrency);
        let completed = Arc::new(Mutex::new(None));
        let destination = ChannelDestination {
            // Only the bookmark: an export always reads its window afresh, so a run left by
            // an abandoned export is not resumed.
            existing: StreamState {
                run: None,
                ..existing
            },
            stream: found.name,
            sender: sender.clone(),
            completed: completed.clone(),
        };
        let client = self.clone();
        let reading = async move {
            let outcome = match AccountSync::new(&client, &destination, sync_options) {
                Ok(sync) => sync.run(&|_| {}).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = outcome {
                let _ = sender.send(Err(e)).await;
            }
        };
        let task = match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.spawn(reading),
            Err(_) => crate::runtime::runtime().spawn(reading),
        };
        Ok(Export {
            stream: found,
            columns,
            schema: Arc::new(arrow_schema(columns)),
            receiver,
            completed,
            state,
            bookmark: None,
            ended: false,
            task,
            ipc: None,
        })
    }
}

/// Opens (and locks) an export's state file.
fn open_state(path: &std::path::Path) -> Result<(StateFile, SyncLock, State)> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock =
        crate::catalog_sync::lock::acquire_file(lock_path.into(), "export with this state file")?;
    let file = StateFile::new(path);
    let loaded = file.load()?;
    if let Some(there) = loaded
        .destination
        .as_deref()
        .filter(|d| *d != EXPORT_BINDING)
    {
        return Err(Error::InvalidInput(format!(
            "the state {} is kept by a sync to {there}: give an export its own state file",
            path.display()
        )));
    }
    Ok((file, lock, loaded))
}

impl Export {
    /// The stream's name.
    pub fn stream(&self) -> &'static str {
        self.stream.name
    }

    /// Its columns, in order (the same as the schema's fields).
    pub fn columns(&self) -> &'static [Column] {
        self.columns
    }

    /// Its Arrow schema: timestamps in microseconds UTC, JSON columns as text marked
    /// `{"format": "json"}`.
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// The bookmark the export reached (ISO 8601), once read to its end: pass it as `since`
    /// to read only what changed after (or give a state file, which keeps it).
    pub fn bookmark(&self) -> Option<&str> {
        self.bookmark.as_deref()
    }

    /// The next page's rows (cells in column order), or `None` at the end.
    pub async fn next_rows(&mut self) -> Result<Option<Rows>> {
        if self.ended {
            return Ok(None);
        }
        let received = self.receiver.recv().await;
        self.take(received)
    }

    /// The same, blocking: for threads outside any tokio runtime (panics inside one).
    pub fn blocking_next_rows(&mut self) -> Result<Option<Rows>> {
        if self.ended {
            return Ok(None);
        }
        let received = self.receiver.blocking_recv();
        self.take(received)
    }

    /// The next record batch (one page), or `None` at the end.
    pub async fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        match self.next_rows().await? {
            Some(rows) => record_batch(&self.schema, self.columns, &rows).map(Some),
            None => Ok(None),
        }
    }

    /// The next piece of an Arrow IPC stream (the schema comes with the first, the end marker
    /// with the last), or `None` after the last: concatenated, they are one IPC stream that
    /// `apache-arrow`'s `tableFromIPC` or `RecordBatchReader` reads.
    pub async fn next_ipc(&mut self) -> Result<Option<Vec<u8>>> {
        let ipc_error = |e: ArrowError| Error::InvalidInput(format!("writing Arrow IPC: {e}"));
        if self.ipc.is_none() {
            if self.ended {
                return Ok(None);
            }
            self.ipc = Some(
                arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &self.schema)
                    .map_err(ipc_error)?,
            );
        }
        let batch = self.next_batch().await?;
        let Some(writer) = self.ipc.as_mut() else {
            return Ok(None);
        };
        match batch {
            Some(batch) => writer.write(&batch).map_err(ipc_error)?,
            None => {
                writer.finish().map_err(ipc_error)?;
                let last = std::mem::take(writer.get_mut());
                self.ipc = None;
                return Ok(Some(last));
            }
        }
        Ok(Some(std::mem::take(writer.get_mut())))
    }

    /// A blocking reader of the batches, for the Arrow C stream interface (`__arrow_c_stream__`).
    pub fn into_reader(self) -> ExportReader {
        ExportReader { export: self }
    }

    /// Handles what the channel gave: rows, the reading's error, or its end (which saves the
    /// bookmark).
    fn take(&mut self, received: Option<Result<Rows>>) -> Result<Option<Rows>> {
        match received {
            Some(Ok(rows)) => Ok(Some(rows)),
            Some(Err(e)) => {
                self.ended = true;
                // The lock goes with the end, not with the object (which a garbage-collected
                // binding may keep for a while).
                self.state = None;
                Err(e)
            }
            None => {
                self.ended = true;
                let completed = self
                    .completed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .ok_or_else(|| {
                        Error::Config(format!(
                            "the export of {} stopped before its end",
                            self.stream.name
                        ))
                    })?;
                self.bookmark = completed.bookmark.map(format_micros);
                if let Some((file, _lock)) = self.state.take() {
                    let mut state = file.load()?;
                    state.destination = Some(EXPORT_BINDING.to_string());
                    state
                        .streams
                        .insert(self.stream.name.to_string(), completed);
                    file.save(&state)?;
                }
                Ok(None)
            }
        }
    }
}

impl futures_util::Stream for Export {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let received = match self.receiver.poll_recv(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(received) => received,
        };
        let this = &mut *self;
        Poll::Ready(match this.take(received) {
            Ok(Some(rows)) => Some(record_batch(&this.schema, this.columns, &rows)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })
    }
}

/// An export as a blocking Arrow `RecordBatchReader`: for consumers on threads of their own
/// (the Arrow C stream interface's callers), never inside a tokio runtime.
#[derive(Debug)]
pub struct ExportReader {
    export: Export,
}

impl ExportReader {
    /// The export, to ask for its bookmark after the end.
    pub fn export(&self) -> &Export {
        &self.export
    }
}

impl Iterator for ExportReader {
    type Item = std::result::Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Waiting here on a runtime's thread would block the tasks that feed it (tokio panics
        // instead, and across the C stream interface a panic aborts the process).
        if tokio::runtime::Handle::try_current().is_ok() {
            return Some(Err(ArrowError::ExternalError(Box::new(Error::InvalidInput(
                "an export's blocking reader was read on a tokio runtime's thread: read it from another thread, or use the Export as a Stream".into(),
            )))));
        }
        let export = &mut self.export;
        match export.blocking_next_rows() {
            Ok(Some(rows)) => Some(
                record_batch(&export.schema, export.columns, &rows)
                    .map_err(|e| ArrowError::ExternalError(Box::new(e))),
            ),
            Ok(None) => None,
            Err(e) => Some(Err(ArrowError::ExternalError(Box::new(e)))),
        }
    }
}

impl RecordBatchReader for ExportReader {
    fn schema(&self) -> SchemaRef {
        self.export.schema.clone()
    }
}

/// The sync engine's destination for an export: pages into the channel, state in memory.
struct ChannelDestination {
    existing: StreamState,
    stream: &'static str,
    sender: mpsc::Sender<Result<Rows>>,
    completed: Arc<Mutex<Option<StreamState>>>,
}

impl Destination for ChannelDestination {
    fn load(&self) -> BoxFuture<'_, Result<State>> {
        Box::pin(async move {
            let mut state = State::default();
            state
                .streams
                .insert(self.stream.to_string(), self.existing.clone());
            Ok(state)
        })
    }

    fn save_stream<'a>(
        &'a self,
        _stream: &'a str,
        state: &'a StreamState,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            // The engine saves twice: as the run starts, and with the bookmark at its end.
            if state.run.is_none() {
                *self.completed.lock().unwrap_or_else(|e| e.into_inner()) = Some(state.clone());
            }
            Ok(())
        })
    }

    fn part<'a>(
        &'a self,
        _slice: &'a SliceId,
        _columns: &'static [Column],
    ) -> BoxFuture<'a, Result<Box<dyn PartWriter>>> {
        Box::pin(async move {
            Ok(Box::new(ChannelPart {
                sender: self.sender.clone(),
                rows: 0,
            }) as Box<dyn PartWriter>)
        })
    }

    fn finished<'a>(
        &'a self,
        _slice: &'a SliceId,
        _columns: &'static [Column],
        _rows: u64,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

struct ChannelPart {
    sender: mpsc::Sender<Result<Rows>>,
    rows: u64,
}

impl PartWriter for ChannelPart {
    fn write(&mut self, rows: Rows) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if rows.is_empty() {
                return Ok(());
            }
            self.rows += rows.len() as u64;
            self.sender
                .send(Ok(rows))
                .await
                .map_err(|_| Error::Config("the export's reader is gone".into()))
        })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<u64>> {
        Box::pin(async move { Ok(self.rows) })
    }
}
