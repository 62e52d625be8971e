//! Warehouse sync: a whole account's streams to files (Parquet, JSONL, CSV), incremental and
//! resumable, read as fast as the operations' rate limits allow.
//!
//! - **Incremental**: each stream's bookmark is in the state file; a run reads the window from
//!   the bookmark to the signpost, "now minus a safety margin", so the bookmark never runs
//!   past what Klaviyo has settled (nor into events dated in the future).
//! - **Concurrent**: a sliced stream's window is cut into time slices from its earliest
//!   record on; the slices are paged at once (at most `concurrency`), each through the
//!   client's rate limiter, so a sync is bound by Klaviyo's limits rather than by latency.
//! - **Resumable, exactly once**: each slice is one output part, written whole (renamed when
//!   complete) and then marked done in the state. A sync killed at any point and run again
//!   resumes the same run: finished slices are skipped, unfinished ones rewritten under the
//!   same names. No record is missing or repeated in the outputs.
//! - **Flat memory**: a slice's rows go to its part page by page; Parquet buffers one row
//!   group at most.

// Generated, and kept as the generator writes it.
#[rustfmt::skip]
pub mod columns;
pub mod export;
pub mod files;
pub mod postgres;
pub mod record_batches;
pub mod schema;
pub mod singer;
pub mod state;
pub mod streams;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::Call;
use crate::auth::BoxFuture;
use crate::client::Client;
use crate::error::{Error, Result};
pub use export::{Export, ExportOptions, ExportReader};
pub use files::{FileDestination, FileFormat};
pub use postgres::PostgresDestination;
use schema::{Cell, Column, format_micros, parse_micros, row};
pub use singer::SingerOutput;
use state::{Run, Slice, State, StreamState};
pub use streams::{Bounds, STREAMS, Stream};

/// One slice's output part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceId {
    /// The stream.
    pub stream: &'static str,
    /// The run it belongs to.
    pub run: String,
    /// Its index in the run.
    pub index: usize,
    /// The part's name: `<run>-<index>`, or `snapshot` for a stream read whole each sync.
    pub part: String,
    /// Whether the part replaces everything the stream had (a snapshot stream).
    pub snapshot: bool,
}

/// Where a sync writes, and keeps its state.
pub trait Destination: std::marker::Sync {
    /// The saved state (empty before the first sync).
    fn load(&self) -> BoxFuture<'_, Result<State>>;
    /// Saves one stream's state: its run starting, or its bookmark moving at the end.
    fn save_stream<'a>(
        &'a self,
        stream: &'a str,
        state: &'a StreamState,
    ) -> BoxFuture<'a, Result<()>>;
    /// Starts a slice's part.
    fn part<'a>(
        &'a self,
        slice: &'a SliceId,
        columns: &'static [Column],
    ) -> BoxFuture<'a, Result<Box<dyn PartWriter>>>;
    /// After a part is finished: marks its slice done (where the part's own commit did not).
    fn finished<'a>(
        &'a self,
        slice: &'a SliceId,
        columns: &'static [Column],
        rows: u64,
    ) -> BoxFuture<'a, Result<()>>;
}

/// One part's rows, on their way.
pub trait PartWriter: Send {
    /// Adds rows.
    fn write(&mut self, rows: Vec<Vec<Cell>>) -> BoxFuture<'_, Result<()>>;
    /// Completes the part under its real name (PostgreSQL: its rows and its slice marked
    /// done, in one transaction); answers its row count.
    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<u64>>;
}

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Stream names (default: every stream).
    pub streams: Vec<String>,
    /// Where a first sync starts (default 2012-01-01, before any Klaviyo account).
    pub start: SystemTime,
    /// How far behind now the signpost stays (default 5 minutes).
    pub safety_margin: Duration,
    /// Slices paged at once (default 32: at 200 ms a response, what keeps the server busy).
    pub concurrency: usize,
    /// Slices a sliced stream's window is cut into (default 4 × concurrency).
    pub slices: usize,
    /// How far back a report stream re-reads before its bookmark (default 7 days): numbers
    /// attributed to a day change for days after it.
    pub lookback: Duration,
    /// How far back the events stream re-reads before its bookmark (default none): events
    /// sent with a `time` in the past (a backfill, an integration that delivers late) have a
    /// `datetime` an incremental sync has already read past.
    pub events_lookback: Duration,
    /// The metric the campaign and flow reports count conversions of (default: the account's
    /// "Placed Order" metric).
    pub conversion_metric: Option<String>,
    /// Where a new run's window ends instead of the signpost (now minus the safety margin):
    /// an export of everything up to now, which keeps no bookmark to stay behind.
    pub until: Option<SystemTime>,
    /// Each record written whole, in one JSON column ([`schema::WHOLE_RESOURCE`]), instead of
    /// the stream's typed columns: for a reader that makes rows of its own (`export-data`'s
    /// reference columns). Report streams, whose rows are made here, refuse it.
    pub whole_resources: bool,
}

impl SyncOptions {
    /// `n` slices paged at once, of four times as many: four rounds leave a short tail
    /// (slices finishing while others wait) and parts of a useful size.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self.slices = n.saturating_mul(4);
        self
    }
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            streams: Vec::new(),
            start: UNIX_EPOCH + Duration::from_secs(1_325_376_000),
            safety_margin: Duration::from_secs(300),
            concurrency: 32,
            slices: 128,
            lookback: Duration::from_secs(7 * 86_400),
            events_lookback: Duration::ZERO,
            conversion_metric: None,
            until: None,
            whole_resources: false,
        }
    }
}

/// What one stream's sync did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StreamSummary {
    /// The stream's name.
    pub stream: String,
    /// Records written by this run (resumed slices included, skipped ones not).
    pub records: u64,
    /// Requests sent.
    pub requests: u64,
    /// The bookmark after the run, ISO 8601 (none for a snapshot stream).
    pub bookmark: Option<String>,
}

/// Progress of a running sync, for a display.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The stream being read.
    pub stream: &'static str,
    /// Records written so far in this run.
    pub records: u64,
    /// Slices finished, of `slices`.
    pub slices_done: usize,
    /// The run's slices.
    pub slices: usize,
}

/// A second, in microseconds: how far a window is widened where the operators cannot bound
/// it exactly (the API's timestamps are whole seconds).
const SECOND: i64 = 1_000_000;

/// The shortest slice, in microseconds.
const MIN_SLICE: i64 = 3_600 * SECOND;

/// A UTC day, in microseconds.
const DAY: i64 = 86_400 * SECOND;

/// The longest timeframe one report query may cover.
const YEAR: i64 = 365 * DAY;

/// The metric a message report counts conversions of unless told otherwise: Klaviyo's own
/// name for an order.
const DEFAULT_CONVERSION_METRIC: &str = "Placed Order";

/// The most ids one report filter may list (`contains-any`).
const FILTER_IDS: usize = 100;

pub(crate) use crate::time::micros;

/// A time as filters and report timeframes take it: whole seconds, no fraction.
fn api_time(micros: i64) -> String {
    format_micros(micros).replace(".000000Z", "Z")
}

/// The filter of one slice (with its partition's clause).
fn slice_filter(stream: &Stream, slice: &Slice) -> Option<String> {
    let key = stream.key?;
    let window = match stream.bounds {
        Bounds::GeLt => format!(
            "greater-or-equal({key},{}),less-than({key},{})",
            api_time(slice.from),
            api_time(slice.to)
        ),
        Bounds::GtLt => format!(
            "greater-than({key},{}),less-than({key},{})",
            api_time(slice.from - SECOND),
            api_time(slice.to + SECOND)
        ),
        Bounds::GtOnly => format!("greater-than({key},{})", api_time(slice.from - SECOND)),
        Bounds::FullRefresh => return None,
    };
    Some(match stream.partitions.get(slice.partition) {
        Some(clause) => format!("{clause},{window}"),
        None => window,
    })
}

/// Sends one listing call and pages it to the end, handing each page's resources to `each`.
async fn page_through(
    client: &Client,
    stream: &Stream,
    filter: Option<String>,
    page_size: Option<u32>,
    sort: Option<&str>,
    each: impl FnMut(Vec<crate::Resource>) -> Result<bool>,
    requests: &AtomicU64,
) -> Result<()> {
    let mut args = Map::new();
    if let Some(filter) = filter {
        args.insert("filter".into(), Value::from(filter));
    }
    if let Some(size) = page_size {
        args.insert("page_size".into(), Value::from(size));
    }
    if let Some(sort) = sort {
        args.insert("sort".into(), Value::from(sort));
    }
    page_operation(client, stream.operation, args, each, requests).await
}

/// Pages `operation` called with `args` to the end (or until `each` answers false).
async fn page_operation(
    client: &Client,
    operation: &str,
    args: Map<String, Value>,
    mut each: impl FnMut(Vec<crate::Resource>) -> Result<bool>,
    requests: &AtomicU64,
) -> Result<()> {
    let mut pages = Pages::new(client, operation, args)?;
    while let Some(page) = pages.next(client).await? {
        requests.fetch_add(1, Ordering::Relaxed);
        if !each(page)? {
            break;
        }
    }
    Ok(())
}

/// The pages of a listing call: a paginated operation's pages, or the one answer of an
/// operation that lists without pages (a campaign's messages).
enum Pages {
    Paged(crate::Pager),
    Once(Option<Call>),
}

impl Pages {
    fn new(client: &Client, operation: &str, args: Map<String, Value>) -> Result<Self> {
        let call = Call::from_args(client, operation, args)?;
        Ok(if call.operation().paginated {
            Pages::Paged(call.pager(client)?)
        } else {
            Pages::Once(Some(call))
        })
    }

    async fn next(&mut self, client: &Client) -> Result<Option<Vec<crate::Resource>>> {
        match self {
            Pages::Paged(pager) => Ok(pager.next_page().await?.map(|page| page.data)),
            Pages::Once(call) => match call.take() {
                Some(call) => Ok(Some(call.send(client).await?.resources())),
                None => Ok(None),
            },
        }
    }
}

/// A child stream's arguments under one parent: its id, and the largest page.
fn child_args(stream: &Stream, parent_id: &str) -> Map<String, Value> {
    let mut args = Map::new();
    args.insert("id".into(), Value::from(parent_id));
    if let Some(size) = page_size(stream) {
        args.insert("page_size".into(), Value::from(size));
    }
    args
}

/// The largest page the operation allows (from the spec's table).
fn page_size(stream: &Stream) -> Option<u32> {
    crate::operations::operation(stream.operation).and_then(|op| op.page_size.map(|p| p.max))
}

/// The sorts the stream's operation allows (from the spec's table).
fn allowed_sorts(stream: &Stream) -> &'static [&'static str] {
    crate::operations::operation(stream.operation)
        .and_then(|op| op.params.iter().find(|p| p.wire == "sort"))
        .map_or(&[], |p| p.allowed)
}

/// The replication key as a sort, where the operation allows it: a window read in key order
/// is a range of an index on the server (Klaviyo's and the sandbox's), not a scan.
fn key_sort(stream: &Stream) -> Option<&'static str> {
    let key = stream.key?;
    allowed_sorts(stream)
        .iter()
        .copied()
        .find(|allowed| *allowed == key)
}

/// The replication key as a descending sort (`-datetime`), where the operation allows it.
fn key_sort_descending(stream: &Stream) -> Option<&'static str> {
    let key = key_sort(stream)?;
    allowed_sorts(stream)
        .iter()
        .copied()
        .find(|allowed| allowed.strip_prefix('-') == Some(key))
}

/// The replication key's value of a resource, in microseconds.
fn key_of(stream: &Stream, resource: &crate::Resource) -> Option<i64> {
    resource.attr_str(stream.key?).and_then(parse_micros)
}

/// `[from, to)` in slices: the first from `from` to one span past the earliest record
/// (`first`), then spans of equal length up to the latest record (`last`), the last slice
/// ending at `to`, so that slices hold about as many records each (none is left empty by a
/// quiet end of the window). At most `most` slices, each at least an hour (a short window, an
/// incremental run, is one slice and costs about a request per page of what changed), bounds
/// on whole seconds (instants the API can be asked about).
fn cut(from: i64, first: i64, last: i64, to: i64, most: usize) -> Vec<Slice> {
    // A widened probe (profiles: `less-than(to + 1 s)`) may find a first record past `to`.
    let first = first.clamp(from, to);
    let last = last.clamp(first, to);
    let count = (most as i64).min(((last - first) / MIN_SLICE).max(1));
    let span = ((last - first) / count / SECOND).max(1) * SECOND;
    let mut slices = Vec::new();
    let mut start = from;
    let mut next = first + span;
    while start < to {
        let end = if next >= to || slices.len() as i64 + 1 >= count {
            to
        } else {
            next
        };
        slices.push(Slice {
            from: start,
            to: end,
            partition: 0,
        });
        start = end;
        next = end + span;
    }
    slices
}

/// A sync of streams to a destination, which keeps its state.
pub struct AccountSync<'a> {
    client: &'a Client,
    destination: &'a dyn Destination,
    options: SyncOptions,
    /// The records report streams report on (metrics, campaigns), each stream's listed once
    /// per sync.
    reported: tokio::sync::Mutex<HashMap<&'static str, Arc<Vec<crate::Resource>>>>,
    /// The conversion metric of the message reports, once found.
    conversion: tokio::sync::OnceCell<Option<String>>,
}

impl<'a> AccountSync<'a> {
    /// A sync of `options.streams` to `destination`; checks the stream names and counts.
    pub fn new(
        client: &'a Client,
        destination: &'a dyn Destination,
        options: SyncOptions,
    ) -> Result<Self> {
        for name in &options.streams {
            match streams::stream(name) {
                None => {
                    return Err(Error::InvalidInput(format!(
                        "{name:?} is not a stream; streams are {}",
                        streams::names()
                    )));
                }
                Some(stream) if options.whole_resources && stream.report.is_some() => {
                    return Err(Error::InvalidInput(format!(
                        "{name} is a report, whose rows are made by the sync: it has no whole \
                         resources to write"
                    )));
                }
                Some(_) => {}
            }
        }
        if options.whole_resources && options.streams.is_empty() {
            return Err(Error::InvalidInput(
                "whole resources are written for the streams named, not a whole account's \
                 (its reports have none)"
                    .into(),
            ));
        }
        if options.concurrency == 0 || options.slices == 0 {
            return Err(Error::InvalidInput(
                "--concurrency (and the slices per stream) must be at least 1".into(),
            ));
        }
        Ok(AccountSync {
            client,
            destination,
            options,
            reported: tokio::sync::Mutex::new(HashMap::new()),
            conversion: tokio::sync::OnceCell::new(),
        })
    }

    /// Runs every chosen stream in turn; `progress` hears of each finished page.
    pub async fn run(
        &self,
        progress: &(dyn Fn(&Progress) + std::marker::Sync),
    ) -> Result<Vec<StreamSummary>> {
        let chosen: Vec<&'static Stream> = if self.options.streams.is_empty() {
            STREAMS.iter().collect()
        } else {
            STREAMS
                .iter()
                .filter(|s| self.options.streams.iter().any(|n| n == s.name))
                .collect()
        };
        let state = self.destination.load().await?;
        let mut summaries = Vec::new();
        for stream in chosen {
            let existing = state.streams.get(stream.name).cloned().unwrap_or_default();
            summaries.push(self.stream(stream, existing, progress).await?);
        }
        Ok(summaries)
    }

    async fn stream(
        &self,
        stream: &'static Stream,
        existing: StreamState,
        progress: &(dyn Fn(&Progress) + std::marker::Sync),
    ) -> Result<StreamSummary> {
        let columns = match self.options.whole_resources {
            true => &schema::WHOLE_RESOURCE[..],
            false => stream
                .columns()
                .ok_or_else(|| Error::Config(format!("{} lists no resources", stream.operation)))?,
        };
        let requests = AtomicU64::new(0);
        if stream.report.is_some_and(|r| r.needs_conversion_metric())
            && self.conversion_metric(&requests).await?.is_none()
        {
            let missing = format!(
                "{} counts conversions of a metric, and the account has no {DEFAULT_CONVERSION_METRIC:?} \
                 metric: give one by id (--conversion-metric, or the conversion_metric option)",
                stream.name
            );
            if !self.options.streams.is_empty() {
                return Err(Error::InvalidInput(missing));
            }
            // A whole-account sync goes on without it.
            tracing::warn!("{missing}; skipped");
            return Ok(StreamSummary {
                stream: stream.name.to_string(),
                records: 0,
                requests: requests.into_inner(),
                bookmark: existing.bookmark_time,
            });
        }
        // Whole seconds, as the API's timestamps are: a record in the signpost's second is read
        // by the next run, never lost between two.
        let signpost = match self.options.until {
            Some(until) => until,
            None => SystemTime::now()
                .checked_sub(self.options.safety_margin)
                .ok_or_else(|| {
                    Error::InvalidInput(
                        "the safety margin reaches before 1970: give a margin in seconds, such as 300"
                            .into(),
                    )
                })?,
        };
        let now = micros(signpost) / SECOND * SECOND;
        let run = match existing.run.clone() {
            // A run that was killed: the same window, slices and part names (whatever the
            // start date or margin given now).
            Some(run) => run,
            None => {
                let start = micros(self.options.start) / SECOND * SECOND;
                let (from, to) = match stream.report {
                    // Whole UTC days, the last complete one included; the lookback re-read.
                    Some(_) => {
                        let lookback =
                            i64::try_from(self.options.lookback.as_micros()).unwrap_or(i64::MAX);
                        let from = existing
                            .bookmark
                            .map_or(start, |b| b.saturating_sub(lookback).max(start));
                        let from = from.div_euclid(DAY) * DAY;
                        (from, (now.div_euclid(DAY) * DAY).max(from))
                    }
                    None => {
                        // A stream keyed by when its records happened re-reads the late ones.
                        let late = match stream.month_column() {
                            Some(_) => i64::try_from(self.options.events_lookback.as_micros())
                                .unwrap_or(i64::MAX),
                            None => 0,
                        };
                        let from = existing
                            .bookmark
                            .map_or(start, |b| b.saturating_sub(late).max(start));
                        // Never behind the bookmark: a larger margin than last time reads nothing.
                        (from, now.max(from))
                    }
                };
                // The second and a random tag: two runs in one second have their own parts.
                let id = format!(
                    "{}-{:04x}",
                    api_time(to).replace([':', '-', '.'], ""),
                    rand::random::<u16>()
                );
                let first_sync = existing.bookmark.is_none();
                let slices = self.plan(stream, from, to, first_sync, &requests).await?;
                Run {
                    id,
                    from,
                    to,
                    done: Vec::new(),
                    slices,
                }
            }
        };
        let mut current = StreamState {
            run: Some(run.clone()),
            ..existing
        };
        self.destination.save_stream(stream.name, &current).await?;

        let total = run.slices.len();
        let records = AtomicU64::new(0);
        let done_count = AtomicUsize::new(run.done.len());
        let todo: Vec<(usize, Slice)> = run
            .slices
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| !run.done.contains(i))
            .collect();
        let snapshot = stream.key.is_none();
        let results: Vec<Result<()>> = futures_util::stream::iter(todo)
            .map(|(index, slice)| {
                let (records, requests, done_count) = (&records, &requests, &done_count);
                let id = SliceId {
                    stream: stream.name,
                    run: run.id.clone(),
                    index,
                    part: if snapshot {
                        "snapshot".to_string()
                    } else {
                        format!("{}-{index:04}", run.id)
                    },
                    snapshot,
                };
                async move {
                    let written = self
                        .slice(stream, columns, &slice, run.to, &id, requests, |n| {
                            let r = records.fetch_add(n, Ordering::Relaxed) + n;
                            progress(&Progress {
                                stream: stream.name,
                                records: r,
                                slices_done: done_count.load(Ordering::Relaxed),
                                slices: total,
                            });
                        })
                        .await?;
                    self.destination.finished(&id, columns, written).await?;
                    let done = done_count.fetch_add(1, Ordering::Relaxed) + 1;
                    progress(&Progress {
                        stream: stream.name,
                        records: records.load(Ordering::Relaxed),
                        slices_done: done,
                        slices: total,
                    });
                    Ok(())
                }
            })
            .buffer_unordered(self.options.concurrency)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>>>()?;

        // Every slice is written: the bookmark moves to the signpost.
        current.run = None;
        if !snapshot {
            let bookmark = current.bookmark.map_or(run.to, |b| b.max(run.to));
            current.bookmark = Some(bookmark);
            current.bookmark_time = Some(format_micros(bookmark));
        }
        self.destination.save_stream(stream.name, &current).await?;
        Ok(StreamSummary {
            stream: stream.name.to_string(),
            records: records.into_inner(),
            requests: requests.into_inner(),
            bookmark: current.bookmark_time,
        })
    }

    /// The run's slices: one per partition, or (sliced streams) the window from its earliest
    /// record on cut into equal spans.
    async fn plan(
        &self,
        stream: &'static Stream,
        from: i64,
        to: i64,
        first_sync: bool,
        requests: &AtomicU64,
    ) -> Result<Vec<Slice>> {
        let partitions = stream.partitions.len().max(1);
        if stream.key.is_none() {
            return Ok(vec![Slice {
                from,
                to,
                partition: 0,
            }]);
        }
        if from >= to {
            return Ok(Vec::new());
        }
        if stream.report.is_some() {
            // A first sync starts on the day of the account's first event (nothing is measured
            // before it), and reads nothing for an account without events; a later one reads
            // its whole window, the lookback days included, events or not.
            // Nor past the day of its latest: a quiet end of the window measures nothing (and
            // costs a daily series a query per 60 days).
            let (mut from, mut to) = (from, to);
            if first_sync {
                let events = streams::stream("events")
                    .ok_or_else(|| Error::Config("the events stream is missing".into()))?;
                let whole = Slice {
                    from,
                    to,
                    partition: 0,
                };
                match self.probe(events, &whole, events.key, requests).await? {
                    Some(first) => from = from.max(first.div_euclid(DAY) * DAY),
                    None => return Ok(Vec::new()),
                }
                if let Some(descending) = key_sort_descending(events)
                    && let Some(last) = self
                        .probe(events, &whole, Some(descending), requests)
                        .await?
                {
                    to = to.min((last.div_euclid(DAY) + 1) * DAY).max(from + DAY);
                }
            }
            // Consecutive spans on day boundaries (the window's are).
            let report = stream.report.unwrap_or_else(|| unreachable!());
            let mut slices = Vec::new();
            let mut start = from;
            while start < to {
                let end = (start + report.slice_days * DAY).min(to);
                slices.push(Slice {
                    from: start,
                    to: end,
                    partition: 0,
                });
                start = end;
            }
            if report.kind == streams::ReportKind::Values && report.per.is_some() {
                // Spans of send dates: only those in which something was sent are asked about.
                let sent = self.sent(stream, &report, requests).await?;
                slices.retain(|s| sent.iter().any(|(_, at)| *at >= s.from && *at < s.to));
            }
            return Ok(slices);
        }
        if !stream.sliced {
            return Ok((0..partitions)
                .map(|partition| Slice {
                    from,
                    to,
                    partition,
                })
                .collect());
        }
        // The earliest and the latest record in the window: slices cover the span between
        // them evenly, not the start date's years of nothing or a quiet last month.
        let probe = Slice {
            from,
            to,
            partition: 0,
        };
        let Some(first) = self
            .probe(stream, &probe, stream.key, requests)
            .await?
            .map(|e| e.max(from))
        else {
            return Ok(Vec::new());
        };
        let last = match key_sort_descending(stream) {
            // A window too short for two slices (an incremental run) is one slice anyway.
            Some(_) if to - first < 2 * MIN_SLICE => to,
            Some(descending) => self
                .probe(stream, &probe, Some(descending), requests)
                .await?
                .unwrap_or(to),
            None => to,
        };
        Ok(cut(from, first, last, to, self.options.slices))
    }

    /// The replication key of the first record of `slice` in `sort` order: `None` when the
    /// slice is empty, its start when the key does not parse.
    async fn probe(
        &self,
        stream: &'static Stream,
        slice: &Slice,
        sort: Option<&str>,
        requests: &AtomicU64,
    ) -> Result<Option<i64>> {
        let mut found = None;
        page_through(
            self.client,
            stream,
            slice_filter(stream, slice),
            Some(1),
            sort,
            |page| {
                if !page.is_empty() {
                    found = Some(
                        page.iter()
                            .find_map(|r| key_of(stream, r))
                            .unwrap_or(slice.from),
                    );
                }
                Ok(false)
            },
            requests,
        )
        .await?;
        Ok(found)
    }

    /// The ids of every record of `stream` (a child stream's parent).
    async fn ids_of(&self, stream: &'static Stream, requests: &AtomicU64) -> Result<Vec<String>> {
        Ok(self
            .records_of(stream, requests)
            .await?
            .iter()
            .filter_map(|r| r.id().map(str::to_string))
            .collect())
    }

    /// Every record of `stream`, its own parents read first: the parents of an account, and
    /// the records reported on, are few (lists, campaigns, flows, coupons, metrics).
    fn records_of<'s>(
        &'s self,
        stream: &'static Stream,
        requests: &'s AtomicU64,
    ) -> BoxFuture<'s, Result<Vec<crate::Resource>>> {
        Box::pin(async move {
            let mut records = Vec::new();
            let mut collect = |page: Vec<crate::Resource>| {
                records.extend(page);
                Ok(true)
            };
            match stream.parent {
                None => {
                    // One listing, or one per required filter clause (campaigns' channels).
                    let filters: Vec<Option<String>> = if stream.partitions.is_empty() {
                        vec![None]
                    } else {
                        stream
                            .partitions
                            .iter()
                            .map(|c| Some(c.to_string()))
                            .collect()
                    };
                    for filter in filters {
                        page_through(
                            self.client,
                            stream,
                            filter,
                            page_size(stream),
                            None,
                            &mut collect,
                            requests,
                        )
                        .await?;
                    }
                }
                Some(parent) => {
                    let grandparent = streams::stream(parent.stream).ok_or_else(|| {
                        Error::Config(format!(
                            "{}'s parent {} is not a stream",
                            stream.name, parent.stream
                        ))
                    })?;
                    for parent_id in self.ids_of(grandparent, requests).await? {
                        page_operation(
                            self.client,
                            stream.operation,
                            child_args(stream, &parent_id),
                            &mut collect,
                            requests,
                        )
                        .await?;
                    }
                }
            }
            Ok(records)
        })
    }

    /// The records of the stream `name` that a report asks about (metrics, campaigns), listed
    /// once per sync.
    async fn reported(
        &self,
        name: &str,
        requests: &AtomicU64,
    ) -> Result<Arc<Vec<crate::Resource>>> {
        let per = streams::stream(name).ok_or_else(|| {
            Error::Config(format!(
                "a report asks about {name:?}, which is not a stream"
            ))
        })?;
        let mut cache = self.reported.lock().await;
        if let Some(found) = cache.get(per.name) {
            return Ok(found.clone());
        }
        let found = Arc::new(self.records_of(per, requests).await?);
        cache.insert(per.name, found.clone());
        Ok(found)
    }

    /// The sent campaigns (`report.per`) with their send times, in microseconds; a draft has
    /// none and is left out.
    async fn sent(
        &self,
        stream: &Stream,
        report: &streams::Report,
        requests: &AtomicU64,
    ) -> Result<Vec<(String, i64)>> {
        let key = stream.key.unwrap_or_default();
        Ok(self
            .reported(report.per.unwrap_or_default(), requests)
            .await?
            .iter()
            .filter_map(|r| Some((r.id()?.to_string(), parse_micros(r.attr_str(key)?)?)))
            .collect())
    }

    /// The metric the message reports count conversions of: the one given, or the account's
    /// "Placed Order"; none when the account has no such metric.
    async fn conversion_metric(&self, requests: &AtomicU64) -> Result<Option<String>> {
        self.conversion
            .get_or_try_init(|| async {
                if let Some(given) = &self.options.conversion_metric {
                    return Ok(Some(given.clone()));
                }
                Ok(self
                    .reported("metrics", requests)
                    .await?
                    .iter()
                    .find(|m| m.attr_str("name") == Some(DEFAULT_CONVERSION_METRIC))
                    .and_then(|m| m.id().map(str::to_string)))
            })
            .await
            .cloned()
    }

    /// One message report query over `[from, to)` (and `filter`): its rows, each a group's
    /// statistics (`Values`) or a group's statistics on each day (`Series`).
    async fn message_report_rows(
        &self,
        stream: &Stream,
        report: &streams::Report,
        columns: &'static [Column],
        (from, to): (i64, i64),
        filter: Option<String>,
        requests: &AtomicU64,
    ) -> Result<Vec<Vec<Cell>>> {
        let (_, report_type, statistics, _) = streams::message_report(stream.operation)
            .ok_or_else(|| {
                Error::Config(format!("{} is not a message report", stream.operation))
            })?;
        let conversion = self.conversion_metric(requests).await?.unwrap_or_default();
        let mut attributes = serde_json::json!({
            "statistics": statistics,
            "timeframe": {"start": api_time(from), "end": api_time(to)},
            "conversion_metric_id": conversion,
            "group_by": report.group_by,
        });
        if let Some(filter) = filter {
            attributes["filter"] = Value::from(filter);
        }
        let series = report.kind == streams::ReportKind::Series;
        if series {
            attributes["interval"] = Value::from("daily");
        }
        let answer =
            self.client
                .send(crate::Request::new(stream.operation).body(
                    serde_json::json!({"data": {"type": report_type, "attributes": attributes}}),
                ))
                .await?
                .json()?;
        requests.fetch_add(1, Ordering::Relaxed);
        let answer = &answer["data"]["attributes"];
        // A series' values are lists, the n-th for its n-th date.
        let days: Vec<(usize, i64)> = if series {
            answer["date_times"]
                .as_array()
                .into_iter()
                .flatten()
                .enumerate()
                .filter_map(|(i, t)| Some((i, t.as_str().and_then(parse_micros)?)))
                .filter(|(_, day)| *day >= from && *day < to)
                .collect()
        } else {
            Vec::new()
        };
        let mut rows = Vec::new();
        for result in answer["results"].as_array().into_iter().flatten() {
            let groupings = &result["groupings"];
            let group: Vec<String> = report
                .group_by
                .iter()
                .map(|g| match &groupings[*g] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                })
                .collect();
            // Its id: the groupings past the campaign or flow (the message's id is unique).
            let id = group[1..].join(":");
            let mut attributes = Map::new();
            for (name, value) in report.group_by.iter().zip(&group) {
                attributes.insert(name.to_string(), Value::from(value.as_str()));
            }
            let mut one = |id: String, attributes: Map<String, Value>| {
                let resource =
                    crate::Resource::new(serde_json::json!({"id": id, "attributes": attributes}));
                rows.push(row(&resource, columns, None));
            };
            if !series {
                attributes.insert("timeframe_start".into(), Value::from(format_micros(from)));
                attributes.insert("timeframe_end".into(), Value::from(format_micros(to)));
                for name in statistics.iter() {
                    attributes.insert(name.to_string(), result["statistics"][*name].clone());
                }
                one(id, attributes);
                continue;
            }
            for (i, day) in &days {
                let mut attributes = attributes.clone();
                let day_text = format_micros(*day);
                for name in statistics.iter() {
                    attributes.insert(name.to_string(), result["statistics"][*name][*i].clone());
                }
                attributes.insert("date".into(), Value::from(day_text.as_str()));
                one(format!("{id}:{}", &day_text[..10]), attributes);
            }
        }
        Ok(rows)
    }

    /// One record's daily report over `slice`: a row per day, `<id>:<day>` its id.
    async fn report_rows(
        &self,
        stream: &Stream,
        record_id: &str,
        slice: &Slice,
    ) -> Result<Vec<Vec<Cell>>> {
        let measurements = columns::METRIC_AGGREGATE_MEASUREMENTS;
        let body = serde_json::json!({"data": {"type": "metric-aggregate", "attributes": {
            "metric_id": record_id,
            "measurements": measurements,
            "interval": "day",
            "timezone": "UTC",
            "filter": [
                format!("greater-or-equal(datetime,{})", api_time(slice.from)),
                format!("less-than(datetime,{})", api_time(slice.to)),
            ],
        }}});
        let answer = self
            .client
            .send(crate::Request::new(stream.operation).body(body))
            .await?
            .json()?;
        let attributes = &answer["data"]["attributes"];
        // Each date's index is its values' index in every measurement's list.
        let days: Vec<(usize, i64)> = attributes["dates"]
            .as_array()
            .map(|d| {
                d.iter()
                    .enumerate()
                    .filter_map(|(i, t)| Some((i, t.as_str().and_then(parse_micros)?)))
                    .collect()
            })
            .unwrap_or_default();
        // No `by`: one series, the metric's own.
        let series = &attributes["data"][0]["measurements"];
        Ok(days
            .into_iter()
            .filter(|(_, day)| *day >= slice.from && *day < slice.to)
            .map(|(i, day)| {
                let day_name = &format_micros(day)[..10];
                let mut row = vec![
                    Cell::Str(format!("{record_id}:{day_name}")),
                    Cell::Str(record_id.to_string()),
                    Cell::Timestamp(day),
                ];
                row.extend(
                    measurements
                        .iter()
                        .map(|m| series[*m][i].as_f64().map_or(Cell::Null, Cell::Float)),
                );
                row
            })
            .collect())
    }

    /// Reads one slice into one part; answers the rows written.
    // Each argument is one the slice's reads need; bundling them would only rename them.
    #[allow(clippy::too_many_arguments)]
    async fn slice(
        &self,
        stream: &'static Stream,
        columns: &'static [Column],
        slice: &Slice,
        window_end: i64,
        id: &SliceId,
        requests: &AtomicU64,
        on_page: impl Fn(u64),
    ) -> Result<u64> {
        let mut writer = self.destination.part(id, columns).await?;
        if let Some(report) = stream.report {
            // Each query's rows, as `(timeframe, filter)` pairs or metric ids.
            let mut queries: Vec<((i64, i64), Option<String>)> = Vec::new();
            match (report.kind, report.per) {
                (streams::ReportKind::MetricAggregates, _) => {
                    let metrics = self
                        .reported(report.per.unwrap_or_default(), requests)
                        .await?;
                    for metric in metrics.iter().filter_map(|m| m.id()) {
                        let rows = self.report_rows(stream, metric, slice).await?;
                        requests.fetch_add(1, Ordering::Relaxed);
                        let n = rows.len() as u64;
                        writer.write(rows).await?;
                        on_page(n);
                    }
                }
                // The campaigns sent in the slice, over a year from its start (or to the
                // window's end): every campaign's events come after its send.
                (_, Some(_)) => {
                    let sent: Vec<String> = self
                        .sent(stream, &report, requests)
                        .await?
                        .into_iter()
                        .filter(|(_, at)| *at >= slice.from && *at < slice.to)
                        .map(|(id, _)| id)
                        .collect();
                    let timeframe = (slice.from, (slice.from + YEAR).min(window_end));
                    for ids in sent.chunks(FILTER_IDS) {
                        let filter = crate::filter::Filter::new().condition(
                            "contains-any",
                            report.group_by[0],
                            ids.to_vec(),
                        );
                        queries.push((timeframe, Some(filter.to_string())));
                    }
                }
                // A whole-account snapshot: the year up to the window's end.
                (streams::ReportKind::Values, None) => {
                    queries.push((((slice.to - YEAR).max(slice.from), slice.to), None));
                }
                (streams::ReportKind::Series, None) => queries.push(((slice.from, slice.to), None)),
            }
            for (timeframe, filter) in queries {
                let rows = self
                    .message_report_rows(stream, &report, columns, timeframe, filter, requests)
                    .await?;
                let n = rows.len() as u64;
                writer.write(rows).await?;
                on_page(n);
            }
            return writer.finish().await;
        }
        if let Some(parent) = stream.parent {
            let parent_stream = streams::stream(parent.stream).ok_or_else(|| {
                Error::Config(format!(
                    "{}'s parent {} is not a stream",
                    stream.name, parent.stream
                ))
            })?;
            for parent_id in self.ids_of(parent_stream, requests).await? {
                let mut pages = Pages::new(
                    self.client,
                    stream.operation,
                    child_args(stream, &parent_id),
                )?;
                while let Some(page) = pages.next(self.client).await? {
                    requests.fetch_add(1, Ordering::Relaxed);
                    let rows: Vec<Vec<Cell>> = page
                        .iter()
                        .map(|r| {
                            let mut cells = row(r, columns, Some(&parent_id));
                            // The parent read under is known, whatever the resource says.
                            for (cell, column) in cells.iter_mut().zip(columns) {
                                if column.name == parent.column && *cell == Cell::Null {
                                    *cell = Cell::Str(parent_id.clone());
                                }
                            }
                            cells
                        })
                        .collect();
                    let n = rows.len() as u64;
                    writer.write(rows).await?;
                    on_page(n);
                }
            }
            return writer.finish().await;
        }
        let exact = matches!(stream.bounds, Bounds::GeLt | Bounds::FullRefresh);
        let mut args = Map::new();
        if let Some(filter) = slice_filter(stream, slice) {
            args.insert("filter".into(), Value::from(filter));
        }
        if let Some(size) = page_size(stream) {
            args.insert("page_size".into(), Value::from(size));
        }
        if let Some(sort) = key_sort(stream) {
            args.insert("sort".into(), Value::from(sort));
        }
        let mut pager = Call::from_args(self.client, stream.operation, args)?.pager(self.client)?;
        while let Some(page) = pager.next_page().await? {
            requests.fetch_add(1, Ordering::Relaxed);
            let rows: Vec<Vec<Cell>> = page
                .data
                .iter()
                // Where the server could not be asked for [from, to) exactly, the rest is cut here.
                .filter(|r| {
                    exact || key_of(stream, r).is_some_and(|k| k >= slice.from && k < slice.to)
                })
                .map(|r| row(r, columns, None))
                .collect();
            let n = rows.len() as u64;
            writer.write(rows).await?;
            on_page(n);
        }
        writer.finish().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_the_window_without_gap_or_overlap() {
        for (from, first, last, to, most) in [
            (0, 100 * DAY, 465 * DAY, 465 * DAY, 64),
            (0, 0, 200 * DAY, 365 * DAY + 7 * SECOND, 64),
            (
                5 * SECOND,
                5 * SECOND,
                6 * SECOND,
                5 * SECOND + 30 * 60 * SECOND,
                64,
            ),
            (0, 10 * DAY, 10 * DAY, 10 * DAY + SECOND, 16),
            // A latest record past the window's end (clock skew) is the end.
            (0, DAY, 900 * DAY, 100 * DAY, 16),
            // A first record in the widened second past the end: one slice, no panic.
            (0, DAY + SECOND / 2, DAY + SECOND / 2, DAY, 16),
        ] {
            let slices = cut(from, first, last, to, most);
            assert!(!slices.is_empty() && slices.len() <= most);
            assert_eq!(slices[0].from, from);
            assert_eq!(slices.last().unwrap().to, to);
            for pair in slices.windows(2) {
                assert_eq!(pair[0].to, pair[1].from, "contiguous");
                assert_eq!(pair[0].to % SECOND, 0, "on whole seconds");
            }
            assert!(slices.iter().all(|s| s.from < s.to));
        }
        // An incremental run of a few minutes is one slice.
        assert_eq!(cut(0, 0, 10 * 60 * SECOND, 10 * 60 * SECOND, 64).len(), 1);
        // Records in the first 100 days of 365: the slices cut those days, the last slice
        // takes the quiet rest.
        let slices = cut(0, 0, 100 * DAY, 365 * DAY, 10);
        assert_eq!(slices.len(), 10);
        assert_eq!(slices[8].to, 90 * DAY);
        assert_eq!(slices[9].to, 365 * DAY);
    }

    #[test]
    fn where_the_operators_cannot_bound_exactly_the_window_is_widened_by_a_second() {
        let profiles = streams::stream("profiles").unwrap();
        let slice = Slice {
            from: 1_735_689_600 * SECOND,
            to: 1_735_776_000 * SECOND,
            partition: 0,
        };
        assert_eq!(
            slice_filter(profiles, &slice).unwrap(),
            "greater-than(updated,2024-12-31T23:59:59Z),less-than(updated,2025-01-02T00:00:01Z)"
        );
        let events = streams::stream("events").unwrap();
        assert_eq!(
            slice_filter(events, &slice).unwrap(),
            "greater-or-equal(datetime,2025-01-01T00:00:00Z),less-than(datetime,2025-01-02T00:00:00Z)"
        );
        let campaigns = streams::stream("campaigns").unwrap();
        let sms = Slice {
            partition: 1,
            ..slice
        };
        assert!(
            slice_filter(campaigns, &sms)
                .unwrap()
                .starts_with("equals(messages.channel,'sms'),greater-or-equal(updated_at,")
        );
    }

    #[test]
    fn incremental_windows_are_read_in_key_order() {
        assert_eq!(
            key_sort(streams::stream("events").unwrap()),
            Some("datetime")
        );
        assert_eq!(
            key_sort(streams::stream("profiles").unwrap()),
            Some("updated")
        );
        assert_eq!(key_sort(streams::stream("metrics").unwrap()), None);
        assert_eq!(
            key_sort_descending(streams::stream("events").unwrap()),
            Some("-datetime")
        );
    }

    #[test]
    fn the_metric_aggregate_columns_are_the_specs_measurements() {
        let stream = streams::stream("metric_aggregates").unwrap();
        let columns: Vec<&str> = stream.columns().unwrap().iter().map(|c| c.name).collect();
        assert_eq!(&columns[..3], ["id", "metric_id", "date"]);
        assert_eq!(&columns[3..], columns::METRIC_AGGREGATE_MEASUREMENTS);
        assert_eq!(
            stream.report.unwrap().statistics(stream.operation),
            columns::METRIC_AGGREGATE_MEASUREMENTS
        );
    }

    #[test]
    fn a_stream_is_sliced_or_partitioned_never_both() {
        // The planner slices only partition 0 of a sliced stream.
        for stream in STREAMS {
            assert!(
                !stream.sliced || stream.partitions.is_empty(),
                "{}",
                stream.name
            );
            let columns = stream
                .columns()
                .unwrap_or_else(|| panic!("{} has columns", stream.name));
            for key in stream.key_columns {
                assert!(
                    columns.iter().any(|c| c.name == *key),
                    "{}'s key {key} is a column",
                    stream.name
                );
            }
            if let Some(parent) = stream.parent {
                let up = streams::stream(parent.stream).expect("a child's parent is a stream");
                assert!(stream.key.is_none(), "{} is read whole", stream.name);
                assert!(columns.iter().any(|c| c.name == parent.column));
                // The operation takes the parent's id.
                let op = crate::operations::operation(stream.operation).unwrap();
                assert!(op.path.contains("{id}"), "{}", stream.name);
                assert_ne!(up.name, stream.name);
            }
        }
    }
}
