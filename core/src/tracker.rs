//! The event tracker: `track()` checks an event and queues it (no network on the caller's
//! thread); a background task packs queued events into bulk-create jobs within the table's
//! limits (1,000 events, 5 MB), sends them through the client's rate limiter and retry
//! policy, and keeps every event until it is accepted or finally rejected:
//!
//! - a job refused as a whole (400/409/413/422, e.g. a duplicate `unique_id` inside it) is
//!   split in halves and resent, down to single events, so one bad event cannot sink its
//!   neighbours; an event refused alone goes to `on_error` with the reason;
//! - a job that fails for transient reasons after the client's own retries (429, 5xx,
//!   network) is resent with backoff until it is accepted or the tracker is shut down;
//! - every event carries a `unique_id` (assigned at `track()` when absent), which Klaviyo
//!   de-duplicates, so resending never double-counts.
//!
//! Memory is bounded by `max_queue`: a full queue blocks `track()`, refuses the event, or
//! drops it (counted), per [`WhenFull`]. With `spool_dir`, each event is written to an
//! append-only log before `track()` returns and acknowledged after delivery; a restarted
//! tracker resends what was not acknowledged (see [`crate::spool`]).
//!
//! Dropping a [`Tracker`] without [`Tracker::shutdown`] stops accepting events; the
//! background task keeps sending what is queued for as long as its runtime runs.

use std::collections::{BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::time::Instant;

use crate::bulk::ENVELOPE_BYTES;
use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::events::{EventCreate, bulk_entry};
use crate::operations::{bulk_limit, require_operation};
use crate::spool::{Spool, SpoolRef};

const OPERATION: &str = "bulk_create_events";
/// Longest wait between resends of a job that keeps failing transiently.
const MAX_RESEND_BACKOFF: Duration = Duration::from_secs(30);

/// What `track()` does when `max_queue` events are waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// Wait for room (the default): back-pressure, never loss. The wait blocks the calling
    /// thread: in async Rust, track from `spawn_blocking` or choose `Error`.
    #[default]
    Block,
    /// Return [`Error::QueueFull`] at once; the caller decides.
    Error,
    /// Drop the event and count it in `dropped` (and report it to `on_error`).
    Drop,
}

impl std::str::FromStr for WhenFull {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "block" => Ok(WhenFull::Block),
            "error" => Ok(WhenFull::Error),
            "drop" => Ok(WhenFull::Drop),
            other => Err(Error::InvalidInput(format!(
                "when_full must be \"block\", \"error\" or \"drop\", not {other:?}"
            ))),
        }
    }
}

/// An event that was not delivered, as given to `on_error`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackFailure {
    /// The event's `unique_id`.
    pub unique_id: String,
    /// Its metric.
    pub metric: String,
    /// Stable error code (`validation_error`, `queue_full`, `shutdown`, …).
    pub code: String,
    /// Why.
    pub reason: String,
}

/// Called (on the tracker's task; keep it short) for every event finally not delivered.
pub type OnError = Arc<dyn Fn(&TrackFailure) + Send + Sync>;

/// Tracker settings.
#[derive(Clone)]
pub struct TrackerOptions {
    /// Send a job as soon as this many events wait (default and maximum: the bulk limit, 1,000).
    pub flush_at: usize,
    /// Send what waits once the oldest event has waited this long (default 1 s).
    pub flush_interval: Duration,
    /// Most events held in memory, sending included (default 100,000).
    pub max_queue: usize,
    /// Largest job body (default and maximum: the bulk limit, 5 MB).
    pub max_batch_bytes: usize,
    /// Behaviour of `track()` on a full queue.
    pub when_full: WhenFull,
    /// Jobs sent at once (default 4; the rate limiter paces them).
    pub max_in_flight: usize,
    /// Durable mode: the spool directory.
    pub spool_dir: Option<PathBuf>,
    /// Receives every event finally not delivered.
    pub on_error: Option<OnError>,
}

impl Default for TrackerOptions {
    fn default() -> Self {
        let limit = bulk_limit(OPERATION);
        TrackerOptions {
            flush_at: limit.max_items,
            flush_interval: Duration::from_secs(1),
            max_queue: 100_000,
            max_batch_bytes: limit.max_payload_bytes.unwrap_or(usize::MAX),
            when_full: WhenFull::Block,
            max_in_flight: 4,
            spool_dir: None,
            on_error: None,
        }
    }
}

impl std::fmt::Debug for TrackerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackerOptions")
            .field("flush_at", &self.flush_at)
            .field("flush_interval", &self.flush_interval)
            .field("max_queue", &self.max_queue)
            .field("max_batch_bytes", &self.max_batch_bytes)
            .field("when_full", &self.when_full)
            .field("max_in_flight", &self.max_in_flight)
            .field("spool_dir", &self.spool_dir)
            .finish_non_exhaustive()
    }
}

impl TrackerOptions {
    fn validate(&self) -> Result<()> {
        let limit = bulk_limit(OPERATION);
        if self.flush_at == 0 || self.flush_at > limit.max_items {
            return Err(Error::InvalidInput(format!(
                "flush_at must be between 1 and {} (the bulk API's limit), not {}",
                limit.max_items, self.flush_at
            )));
        }
        let max_bytes = limit.max_payload_bytes.unwrap_or(usize::MAX);
        if self.max_batch_bytes <= ENVELOPE_BYTES || self.max_batch_bytes > max_bytes {
            return Err(Error::InvalidInput(format!(
                "max_batch_bytes must be between {} and {max_bytes}, not {}",
                ENVELOPE_BYTES + 1,
                self.max_batch_bytes
            )));
        }
        if self.max_queue == 0 || self.max_in_flight == 0 || self.flush_interval.is_zero() {
            return Err(Error::InvalidInput(
                "max_queue, max_in_flight and flush_interval must be greater than zero".into(),
            ));
        }
        Ok(())
    }
}

/// Counters, readable at any time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrackerStats {
    /// Events accepted by `track()` (including those recovered from the spool).
    pub queued: u64,
    /// Events the API accepted.
    pub sent: u64,
    /// Events resent (after a transient failure, or in a split job).
    pub retried: u64,
    /// Events finally rejected (reported to `on_error`).
    pub failed: u64,
    /// Events dropped on a full queue (only with [`WhenFull::Drop`]).
    pub dropped: u64,
    /// Events tracked but not yet settled.
    pub pending: u64,
    /// The latest error the tracker saw (also transient ones), if any.
    pub last_error: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SpoolRecord {
    #[serde(rename = "u")]
    unique_id: String,
    #[serde(rename = "m")]
    metric: String,
    #[serde(rename = "e")]
    entry: Box<RawValue>,
}

/// A queued event, kept as its serialized bulk entry (a few hundred bytes; a parsed JSON
/// tree would take ten times as much) and spliced into job bodies as is.
struct Queued {
    seq: u64,
    unique_id: String,
    metric: String,
    entry: Box<RawValue>,
    since: Instant,
    spooled: Option<SpoolRef>,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Queued>,
    /// Sequence numbers of events not yet settled (waiting or being sent).
    unsettled: BTreeSet<u64>,
    next_seq: u64,
    closed: bool,
    flush_requested: bool,
    in_flight_jobs: usize,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

struct Shared {
    client: Client,
    operation: &'static crate::operations::Operation,
    /// The largest event `track()` accepts: the table's per-item limit, within one job.
    max_entry_bytes: usize,
    options: TrackerOptions,
    queue: Mutex<Queue>,
    /// Signalled when room frees up (blocked `track()` calls wait on it).
    room: Condvar,
    /// Wakes the sender task.
    wake: tokio::sync::Notify,
    /// Bumped whenever events settle (flush waits on it).
    progress: tokio::sync::watch::Sender<u64>,
    counters: Counters,
    last_error: Mutex<Option<String>>,
    spool: Option<Spool>,
    /// Shutdown gave up: undelivered events are reported instead of resent.
    abandoned: AtomicBool,
}

/// Batches events into bulk-create jobs in the background. Create with [`Client::tracker`];
/// clones share the tracker, which stops accepting events when the last clone is dropped.
#[derive(Clone)]
pub struct Tracker {
    shared: Arc<Shared>,
    _handle: Arc<CloseOnDrop>,
}

/// Closes the tracker when the last [`Tracker`] clone goes (the sender task, which holds
/// `Shared` too, then drains the queue and ends).
struct CloseOnDrop(Arc<Shared>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.room.notify_all();
        self.0.wake.notify_one();
    }
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Client {
    /// Starts an event tracker on the current tokio runtime (or the crate's shared runtime
    /// outside one). With `spool_dir`, events left from an earlier run are queued first.
    pub fn tracker(&self, options: TrackerOptions) -> Result<Tracker> {
        options.validate()?;
        let (spool, recovered) = match &options.spool_dir {
            Some(dir) => {
                let (spool, recovered) = Spool::open(dir)?;
                (Some(spool), recovered)
            }
            None => (None, Vec::new()),
        };
        let shared = Arc::new(Shared {
            client: self.clone(),
            operation: require_operation(OPERATION)?,
            max_entry_bytes: bulk_limit(OPERATION)
                .max_item_bytes
                .unwrap_or(usize::MAX)
                .min(options.max_batch_bytes - ENVELOPE_BYTES),
            options,
            queue: Mutex::new(Queue::default()),
            room: Condvar::new(),
            wake: tokio::sync::Notify::new(),
            progress: tokio::sync::watch::channel(0).0,
            counters: Counters::default(),
            last_error: Mutex::new(None),
            spool,
            abandoned: AtomicBool::new(false),
        });
        {
            let mut queue = shared.lock();
            for (at, payload) in recovered {
                // A record that does not parse was written by something else: skip it, acked.
                let Ok(record) = serde_json::from_slice::<SpoolRecord>(&payload) else {
                    if let Some(spool) = &shared.spool {
                        let _ = spool.ack(&[at]);
                    }
                    continue;
                };
                shared.enqueue(
                    &mut queue,
                    record.unique_id,
                    record.metric,
                    record.entry,
                    Some(at),
                );
            }
        }
        let task = run(shared.clone());
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn(task)),
            Err(_) => drop(crate::runtime::runtime().spawn(task)),
        }
        Ok(Tracker {
            _handle: Arc::new(CloseOnDrop(shared.clone())),
            shared,
        })
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn enqueue(
        &self,
        queue: &mut Queue,
        unique_id: String,
        metric: String,
        entry: Box<RawValue>,
        spooled: Option<SpoolRef>,
    ) {
        let seq = queue.next_seq;
        queue.next_seq += 1;
        queue.unsettled.insert(seq);
        let was_empty = queue.waiting.is_empty();
        queue.waiting.push_back(Queued {
            seq,
            unique_id,
            metric,
            entry,
            since: Instant::now(),
            spooled,
        });
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        // Wake the sender when a job is full, or to start the interval for a first event.
        if was_empty || queue.waiting.len() == self.options.flush_at {
            self.wake.notify_one();
        }
    }

    fn note_error(&self, error: &str) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error.to_string());
    }

    /// Settles events: delivered (`failure` None) or finally not (reported to `on_error`).
    fn settle(&self, events: &[Queued], failure: Option<(&str, &str)>) {
        if let Some(spool) = &self.spool {
            let refs: Vec<SpoolRef> = events.iter().filter_map(|e| e.spooled).collect();
            if let Err(e) = spool.ack(&refs) {
                self.note_error(&e.to_string());
            }
        }
        match failure {
            None => {
                self.counters
                    .sent
                    .fetch_add(events.len() as u64, Ordering::Relaxed);
            }
            Some((code, reason)) => {
                self.counters
                    .failed
                    .fetch_add(events.len() as u64, Ordering::Relaxed);
                self.note_error(reason);
                if let Some(on_error) = &self.options.on_error {
                    for event in events {
                        on_error(&TrackFailure {
                            unique_id: event.unique_id.clone(),
                            metric: event.metric.clone(),
                            code: code.to_string(),
                            reason: reason.to_string(),
                        });
                    }
                }
            }
        }
        self.release(events);
    }

    /// Takes events off the unsettled set: frees their room and wakes `flush` waiters.
    fn release(&self, events: &[Queued]) {
        let mut queue = self.lock();
        for event in events {
            queue.unsettled.remove(&event.seq);
        }
        drop(queue);
        self.room.notify_all();
        self.progress.send_modify(|n| *n += 1);
    }

    /// The next job's events, if one should go now; else when to look again.
    fn next_job(&self, queue: &mut Queue) -> std::result::Result<Vec<Queued>, Option<Instant>> {
        let oldest = queue.waiting.front().map(|e| e.since);
        let due = oldest.is_some_and(|since| since.elapsed() >= self.options.flush_interval);
        let ready = queue.waiting.len() >= self.options.flush_at
            || (!queue.waiting.is_empty() && (due || queue.flush_requested || queue.closed));
        if queue.in_flight_jobs >= self.options.max_in_flight {
            return Err(None); // woken when a job finishes
        }
        if !ready {
            return Err(oldest.map(|since| since + self.options.flush_interval));
        }
        let budget = self.options.max_batch_bytes - ENVELOPE_BYTES;
        let mut job = Vec::new();
        let mut bytes = 0;
        while let Some(next) = queue.waiting.front() {
            let added = next.entry.get().len() + usize::from(!job.is_empty());
            if job.len() >= self.options.flush_at || (!job.is_empty() && bytes + added > budget) {
                break;
            }
            bytes += added;
            job.extend(queue.waiting.pop_front());
        }
        if queue.waiting.is_empty() {
            queue.flush_requested = false;
        }
        queue.in_flight_jobs += 1;
        Ok(job)
    }
}

/// The sender task: starts jobs while there is work, then waits to be woken or for the
/// oldest event's interval; ends once closed and empty.
async fn run(shared: Arc<Shared>) {
    loop {
        let notified = shared.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let next = {
            let mut queue = shared.lock();
            if queue.closed && queue.unsettled.is_empty() {
                return;
            }
            shared.next_job(&mut queue)
        };
        match next {
            Ok(job) => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    deliver(&shared, job).await;
                    shared.lock().in_flight_jobs -= 1;
                    shared.wake.notify_one();
                });
            }
            Err(Some(deadline)) => {
                tokio::select! {
                    _ = notified => {}
                    _ = tokio::time::sleep_until(deadline) => {}
                }
            }
            Err(None) => notified.await,
        }
    }
}

/// The job's body, spliced from the events' serialized entries.
fn job_body(events: &[Queued]) -> Bytes {
    const HEAD: &str =
        r#"{"data":{"type":"event-bulk-create-job","attributes":{"events-bulk-create":{"data":["#;
    const TAIL: &str = "]}}}}";
    let mut body = String::with_capacity(
        HEAD.len()
            + TAIL.len()
            + events
                .iter()
                .map(|e| e.entry.get().len() + 1)
                .sum::<usize>(),
    );
    body.push_str(HEAD);
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(event.entry.get());
    }
    body.push_str(TAIL);
    Bytes::from(body)
}

/// Whether the API refused the job's content (so a smaller job may pass).
fn refused(error: &Error) -> bool {
    matches!(error.status(), Some(400 | 409 | 413 | 422))
}

/// Whether no resend can help (credentials, permissions, configuration).
fn hopeless(error: &Error) -> bool {
    matches!(
        error,
        Error::Authentication(_)
            | Error::PermissionDenied(_)
            | Error::Config(_)
            | Error::ReauthorizationRequired(_)
            | Error::NotFound(_)
    )
}

/// Sends one job until every event in it is settled: splitting refused jobs, resending
/// transient failures with backoff.
async fn deliver(shared: &Shared, job: Vec<Queued>) {
    let mut todo = vec![job];
    let mut backoff = Duration::from_millis(500);
    while let Some(events) = todo.pop() {
        if shared.abandoned.load(Ordering::Relaxed) {
            abandon(shared, &events);
            continue;
        }
        let error = match shared
            .client
            .execute(
                shared.operation,
                shared.operation.path,
                &[],
                Some(job_body(&events)),
                &RequestOptions::default(),
            )
            .await
        {
            Ok(_) => {
                shared.settle(&events, None);
                backoff = Duration::from_millis(500);
                continue;
            }
            Err(e) => e,
        };
        let reason = error.to_string();
        if refused(&error) && events.len() > 1 {
            shared
                .counters
                .retried
                .fetch_add(events.len() as u64, Ordering::Relaxed);
            shared.note_error(&reason);
            let mut first = events;
            let second = first.split_off(first.len() / 2);
            todo.push(second);
            todo.push(first);
        } else if refused(&error) || hopeless(&error) {
            shared.settle(&events, Some((error.code(), &reason)));
        } else {
            shared
                .counters
                .retried
                .fetch_add(events.len() as u64, Ordering::Relaxed);
            shared.note_error(&reason);
            let wait = error.retry_after().unwrap_or(backoff).max(backoff);
            tracing::warn!(events = events.len(), ?wait, error = %reason, "event job failed; resending");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = wait_abandoned(shared) => {}
            }
            backoff = (backoff * 2).min(MAX_RESEND_BACKOFF);
            todo.push(events);
        }
    }
}

async fn wait_abandoned(shared: &Shared) {
    let mut progress = shared.progress.subscribe();
    while !shared.abandoned.load(Ordering::Relaxed) {
        if progress.changed().await.is_err() {
            return;
        }
    }
}

/// Shutdown gave up on these events: in durable mode they stay in the spool for the next
/// start; otherwise they are reported as failed.
fn abandon(shared: &Shared, events: &[Queued]) {
    if shared.spool.is_some() {
        shared.release(events);
    } else {
        shared.settle(
            events,
            Some((
                "shutdown",
                "the tracker shut down before this event was delivered",
            )),
        );
    }
}

impl Tracker {
    /// Checks the event (assigning a `unique_id` if it has none) and queues it; returns the
    /// `unique_id`. Never touches the network. Fails at once for a bad or oversize event, a
    /// closed tracker, or (with [`WhenFull::Error`]) a full queue.
    pub fn track(&self, mut event: EventCreate) -> Result<String> {
        let shared = &self.shared;
        let unique_id = event.prepare_for(shared.client.config().binding)?;
        let entry = serde_json::value::to_raw_value(&bulk_entry(&event)).map_err(|e| {
            Error::InvalidInput(format!("event {unique_id} cannot be serialized: {e}"))
        })?;
        let bytes = entry.get().len();
        let max_item = shared.max_entry_bytes;
        if bytes > max_item {
            return Err(Error::InvalidInput(format!(
                "event {unique_id} is {bytes} bytes; one event may be at most {max_item} bytes in a bulk job: trim its properties"
            )));
        }
        let mut queue = shared.lock();
        loop {
            if queue.closed {
                return Err(Error::InvalidInput(
                    "the tracker is shut down; create a new one to track more events".into(),
                ));
            }
            if queue.unsettled.len() < shared.options.max_queue {
                break;
            }
            match shared.options.when_full {
                WhenFull::Block => {
                    queue = shared.room.wait(queue).unwrap_or_else(|e| e.into_inner())
                }
                WhenFull::Error => {
                    return Err(Error::QueueFull {
                        capacity: shared.options.max_queue,
                    });
                }
                WhenFull::Drop => {
                    drop(queue);
                    shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
                    let reason = format!(
                        "the tracker's queue is full ({} events); the event was dropped",
                        shared.options.max_queue
                    );
                    shared.note_error(&reason);
                    if let Some(on_error) = &shared.options.on_error {
                        on_error(&TrackFailure {
                            unique_id: unique_id.clone(),
                            metric: event.metric.clone(),
                            code: "queue_full".into(),
                            reason,
                        });
                    }
                    return Ok(unique_id);
                }
            }
        }
        let spooled = match &shared.spool {
            Some(spool) => {
                let record = SpoolRecord {
                    unique_id: unique_id.clone(),
                    metric: event.metric.clone(),
                    entry,
                };
                let at = spool.append(
                    &serde_json::to_vec(&record).map_err(|e| Error::InvalidInput(e.to_string()))?,
                )?;
                shared.enqueue(
                    &mut queue,
                    record.unique_id,
                    record.metric,
                    record.entry,
                    Some(at),
                );
                return Ok(unique_id);
            }
            None => None,
        };
        shared.enqueue(&mut queue, unique_id.clone(), event.metric, entry, spooled);
        Ok(unique_id)
    }

    /// Waits until every event tracked before this call is delivered or finally rejected.
    pub async fn flush(&self) {
        let target = {
            let mut queue = self.shared.lock();
            queue.flush_requested = true;
            queue.next_seq
        };
        self.shared.wake.notify_one();
        let mut progress = self.shared.progress.subscribe();
        loop {
            if self
                .shared
                .lock()
                .unsettled
                .first()
                .is_none_or(|&oldest| oldest >= target)
            {
                return;
            }
            if progress.changed().await.is_err() {
                return;
            }
        }
    }

    /// [`Tracker::flush`] with a limit; false if events were still pending at the limit.
    pub async fn flush_timeout(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.flush()).await.is_ok()
    }

    /// Stops accepting events and waits up to `limit` for the queued ones. Events still
    /// undelivered then are reported to `on_error` (or, in durable mode, left in the spool
    /// for the next start) and the call returns [`Error::Timeout`]; else the final counters.
    pub async fn shutdown(&self, limit: Duration) -> Result<TrackerStats> {
        self.shared.lock().closed = true;
        self.shared.room.notify_all();
        if self.flush_timeout(limit).await {
            self.shared.wake.notify_one();
            return Ok(self.stats());
        }
        self.shared.abandoned.store(true, Ordering::Relaxed);
        self.shared.progress.send_modify(|n| *n += 1);
        let waiting: Vec<Queued> = self.shared.lock().waiting.drain(..).collect();
        abandon(&self.shared, &waiting);
        self.shared.wake.notify_one();
        Err(Error::Timeout {
            operation: "tracker.shutdown".into(),
            elapsed: limit,
        })
    }

    /// Whether `shutdown` was called.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// The counters.
    pub fn stats(&self) -> TrackerStats {
        let c = &self.shared.counters;
        TrackerStats {
            queued: c.queued.load(Ordering::Relaxed),
            sent: c.sent.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            pending: self.shared.lock().unsettled.len() as u64,
            last_error: self
                .shared
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }
}
