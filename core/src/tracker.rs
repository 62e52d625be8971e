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
//! tracker resends what was not acknowledged (see [`crate::spool`]). With `queue`, events go
//! to a Redis Stream that every process of the account delivers from (see
//! [`crate::tracker_queue`]); while Redis is unreachable, the tracker queues and delivers in
//! memory as without it, and goes back to the stream once Redis answers.
//!
//! Dropping a [`Tracker`] without [`Tracker::shutdown`] stops accepting events; the
//! background task keeps sending what is queued for as long as its runtime runs. In shared
//! mode it reads no more from the stream: what this process added and no sender has read yet
//! waits there for the account's other trackers (or the next one started).

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use tokio::time::Instant;

use crate::auth::Secret;
use crate::bulk::ENVELOPE_BYTES;
use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::events::{EventCreate, bulk_entry};
use crate::operations::{bulk_limit, require_operation};
use crate::spool::{Spool, SpoolRef};
use crate::tracker_queue::{Added, Entry, TrackerQueue};

const OPERATION: &str = "bulk_create_events";
/// Longest wait between resends of a job that keeps failing transiently.
const MAX_RESEND_BACKOFF: Duration = Duration::from_secs(30);
/// How often `flush` looks at the shared stream while other processes deliver from it.
const STREAM_POLL: Duration = Duration::from_millis(20);

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
    /// Shared mode: the Redis (`redis://host:port/db`) whose stream every process of the
    /// account queues events in and delivers them from. Not with `spool_dir`.
    pub queue: Option<Secret>,
    /// Shared mode: how long entries a sender took stay unrenewed before another sender
    /// claims them (the sender died). Default 30 s.
    pub claim_after: Duration,
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
            queue: None,
            claim_after: Duration::from_secs(30),
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
            .field(
                "queue",
                &self
                    .queue
                    .as_ref()
                    .map(|url| crate::redis_store::redacted(url.expose())),
            )
            .field("claim_after", &self.claim_after)
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
        if self.max_queue == 0
            || self.max_in_flight == 0
            || self.flush_interval.is_zero()
            || self.claim_after.is_zero()
        {
            return Err(Error::InvalidInput(
                "max_queue, max_in_flight, flush_interval and claim_after must be greater than zero"
                    .into(),
            ));
        }
        if self.queue.is_some() && self.spool_dir.is_some() {
            return Err(Error::InvalidInput(
                "choose spool_dir (this host's disk) or queue (a Redis every process shares), not both"
                    .into(),
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
    /// Its entry in the shared stream, when a sender read it from there.
    stream_id: Option<String>,
}

/// Where an event waiting in memory came from.
enum Origin {
    /// `track()` in this process (with its spool record, in durable mode).
    Tracked(Option<SpoolRef>),
    /// The shared stream (read or claimed by this process's sender).
    Stream(String),
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
    /// Shared mode: the stream entries this sender holds (waiting or being sent).
    held: HashSet<String>,
    /// Shared mode: the reader is to read no more entries (the tracker is going away).
    stop_reading: bool,
    /// Shared mode: the reader task runs (it may still bring entries).
    reading: bool,
    /// The sender task has ended.
    sender_done: bool,
}

/// Shared mode: settled entries on their way to being acknowledged in the stream.
#[derive(Default)]
struct Acknowledgements {
    waiting: Vec<String>,
    /// Entries in an acknowledging call now.
    sending: usize,
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
    /// Shared mode: the account's stream.
    stream: Option<TrackerQueue>,
    /// Shared mode: entries settled here and not yet acknowledged in the stream.
    unacknowledged: Mutex<Acknowledgements>,
    /// Wakes the acknowledging task.
    acknowledge: tokio::sync::Notify,
    /// Shared mode: the last entry this process added (what `flush` waits for).
    last_added: Mutex<Option<String>>,
    /// Shared mode: the latest entry `flush` saw settled (so a flush during an outage does
    /// not wait for Redis to confirm what it confirmed before).
    settled_through: Mutex<Option<String>>,
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
        let mut queue = self.0.lock();
        queue.closed = true;
        // What this process added stays in the stream for the other senders.
        queue.stop_reading = true;
        drop(queue);
        self.0.room.notify_all();
        self.0.wake.notify_one();
        self.0.progress.send_modify(|n| *n += 1);
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
        let stream = match &options.queue {
            Some(url) => Some(TrackerQueue::new(url, self.config().credentials.api_key())?),
            None => None,
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
            stream,
            unacknowledged: Mutex::default(),
            acknowledge: tokio::sync::Notify::new(),
            last_added: Mutex::new(None),
            settled_through: Mutex::new(None),
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
                    Origin::Tracked(Some(at)),
                );
            }
        }
        let handle = tokio::runtime::Handle::try_current()
            .unwrap_or_else(|_| crate::runtime::runtime().handle().clone());
        drop(handle.spawn(run(shared.clone())));
        if shared.stream.is_some() {
            shared.lock().reading = true;
            drop(handle.spawn(read_stream(shared.clone())));
            drop(handle.spawn(acknowledge(shared.clone())));
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
        origin: Origin,
    ) {
        let seq = queue.next_seq;
        queue.next_seq += 1;
        queue.unsettled.insert(seq);
        let was_empty = queue.waiting.is_empty();
        let (spooled, stream_id) = match origin {
            Origin::Tracked(spooled) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                (spooled, None)
            }
            Origin::Stream(id) => {
                queue.held.insert(id.clone());
                (None, Some(id))
            }
        };
        queue.waiting.push_back(Queued {
            seq,
            unique_id,
            metric,
            entry,
            since: Instant::now(),
            spooled,
            stream_id,
        });
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
        if self.stream.is_some() {
            self.to_acknowledge(events.iter().filter_map(|e| e.stream_id.clone()));
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
            if let Some(id) = &event.stream_id {
                queue.held.remove(id);
            }
        }
        drop(queue);
        self.room.notify_all();
        self.progress.send_modify(|n| *n += 1);
    }

    fn acknowledgements(&self) -> MutexGuard<'_, Acknowledgements> {
        self.unacknowledged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Shared mode: entries to acknowledge and delete in the stream.
    fn to_acknowledge(&self, ids: impl IntoIterator<Item = String>) {
        self.acknowledgements().waiting.extend(ids);
        self.acknowledge.notify_one();
    }

    /// Shared mode: queues entries the reader brought (skipping any this sender holds
    /// already); an entry that does not parse was written by something else and is deleted.
    fn take(&self, entries: Vec<Entry>) {
        let mut unreadable = Vec::new();
        let mut queue = self.lock();
        for (id, payload) in entries {
            if queue.held.contains(&id) {
                continue;
            }
            match serde_json::from_slice::<SpoolRecord>(&payload) {
                Ok(record) => self.enqueue(
                    &mut queue,
                    record.unique_id,
                    record.metric,
                    record.entry,
                    Origin::Stream(id),
                ),
                Err(_) => unreadable.push(id),
            }
        }
        drop(queue);
        if !unreadable.is_empty() {
            self.to_acknowledge(unreadable);
        }
    }

    /// An event dropped on a full queue: counted and reported.
    fn drop_event(&self, unique_id: &str, metric: &str) {
        self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        let reason = format!(
            "the tracker's queue is full ({} events); the event was dropped",
            self.options.max_queue
        );
        self.note_error(&reason);
        if let Some(on_error) = &self.options.on_error {
            on_error(&TrackFailure {
                unique_id: unique_id.to_string(),
                metric: metric.to_string(),
                code: "queue_full".into(),
                reason,
            });
        }
    }

    /// Shared mode: adds the event to the stream. `Ok(false)` when Redis is away: the caller
    /// queues it in memory instead.
    fn add_to_stream(&self, stream: &TrackerQueue, record: &SpoolRecord) -> Result<bool> {
        if !stream.available() {
            return Ok(false);
        }
        let payload = serde_json::to_vec(record).map_err(|e| Error::InvalidInput(e.to_string()))?;
        // A full stream frees up as any sender delivers; no one here can signal it.
        let mut pause = Duration::from_millis(2);
        loop {
            if self.lock().closed {
                return Err(closed());
            }
            match stream.add(&payload, self.options.max_queue) {
                Ok(Added::Queued(id)) => {
                    self.counters.queued.fetch_add(1, Ordering::Relaxed);
                    let mut last = self.last_added.lock().unwrap_or_else(|e| e.into_inner());
                    if last
                        .as_deref()
                        .is_none_or(|l| stream_order(l) < stream_order(&id))
                    {
                        *last = Some(id);
                    }
                    return Ok(true);
                }
                Ok(Added::Full) => match self.options.when_full {
                    WhenFull::Block => {
                        std::thread::sleep(pause);
                        pause = (pause * 2).min(Duration::from_millis(100));
                    }
                    WhenFull::Error => {
                        return Err(Error::QueueFull {
                            capacity: self.options.max_queue,
                        });
                    }
                    WhenFull::Drop => {
                        self.drop_event(&record.unique_id, &record.metric);
                        return Ok(true);
                    }
                },
                Err(_) => return Ok(false),
            }
        }
    }

    /// Whether everything is settled and acknowledged, and no reader can bring more.
    fn all_settled(&self) -> bool {
        let queue = self.lock();
        let acks = self.acknowledgements();
        queue.unsettled.is_empty() && !queue.reading && acks.waiting.is_empty() && acks.sending == 0
    }

    /// Whether a job should go now; else when to look again (None: when woken).
    fn ready(&self, queue: &Queue) -> std::result::Result<(), Option<Instant>> {
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
        Ok(())
    }

    /// The next job's events, as many as fit, oldest first.
    fn cut(&self, queue: &mut Queue) -> Vec<Queued> {
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
        if !job.is_empty() {
            queue.in_flight_jobs += 1;
        }
        job
    }
}

/// The sender task: starts jobs while there is work, then waits to be woken or for the
/// oldest event's interval; ends once closed and empty. A job is packed once the rate
/// limiter lets it go, so events that arrive while it waits for its turn go with it.
async fn run(shared: Arc<Shared>) {
    loop {
        let notified = shared.wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let next = {
            let mut queue = shared.lock();
            // In shared mode the reader may still bring entries until it stops.
            if queue.closed && queue.unsettled.is_empty() && !queue.reading {
                queue.sender_done = true;
                drop(queue);
                shared.acknowledge.notify_one();
                return;
            }
            shared.ready(&queue)
        };
        match next {
            Ok(()) if shared.abandoned.load(Ordering::Relaxed) => {
                // Shutdown gave up: what the reader brought since is not worth a slot.
                let waiting: Vec<Queued> = shared.lock().waiting.drain(..).collect();
                abandon(&shared, waiting);
            }
            Ok(()) => {
                // Refused (the wait would pass max_delay): execute() asks again, and the
                // job's retries bound how long that goes on.
                let slot = shared.client.acquire(shared.operation).await.is_ok();
                let job = shared.cut(&mut shared.lock());
                if job.is_empty() {
                    continue; // abandoned while waiting; the slot goes unused
                }
                let shared = shared.clone();
                tokio::spawn(async move {
                    deliver(&shared, job, slot).await;
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

/// An entry id's order (`ms-seq`), for finding the latest of two.
fn stream_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(0), seq.parse().unwrap_or(0))
}

fn closed() -> Error {
    Error::InvalidInput("the tracker is shut down; create a new one to track more events".into())
}

/// Shared mode: moves entries from the stream into this sender's memory, as many as it can
/// send at once (so the rest stay for other senders); claims what dead senders left; renews
/// its claim on what it holds. Ends when told to stop reading.
async fn read_stream(shared: Arc<Shared>) {
    let Some(stream) = &shared.stream else {
        return;
    };
    let options = &shared.options;
    let capacity = (options.flush_at * options.max_in_flight).min(options.max_queue);
    // Renewals come three times per claim period, so a live sender's entries never go idle.
    let renew_every = options.claim_after / 3;
    let mut next_renewal = Instant::now();
    // After an outage no sender could renew: each gets claim_after to renew and acknowledge
    // what it holds before anyone takes entries that only look abandoned.
    let mut claims_from = Instant::now();
    // Where the last claim stopped in the group's pending list (it looks at a bounded part).
    let mut claim_cursor = String::from("0-0");
    let mut progress = shared.progress.subscribe();
    loop {
        let (stop, room, holding) = {
            let queue = shared.lock();
            (
                queue.stop_reading,
                capacity.saturating_sub(queue.held.len()),
                !queue.held.is_empty(),
            )
        };
        // Told to stop, it reads no more but renews what it holds until that is settled,
        // so no other sender takes entries this one is still sending.
        if stop && !holding {
            break;
        }
        if !stream.available() {
            next_renewal = Instant::now();
            claims_from = Instant::now() + options.claim_after;
            tokio::select! {
                _ = tokio::time::sleep(crate::redis_store::RETRY_AFTER_FAILURE) => {}
                _ = progress.changed() => {}
            }
            continue;
        }
        if Instant::now() >= next_renewal {
            next_renewal = Instant::now() + renew_every;
            let held: Vec<String> = shared.lock().held.iter().cloned().collect();
            if !held.is_empty() && stream.renew(&held).await.is_err() {
                continue;
            }
            if !stop
                && room > 0
                && Instant::now() >= claims_from
                && let Ok((entries, next)) =
                    stream.claim(room, options.claim_after, &claim_cursor).await
            {
                claim_cursor = next;
                shared.take(entries);
            }
            continue;
        }
        if stop || room == 0 {
            tokio::select! {
                _ = tokio::time::sleep_until(next_renewal) => {}
                _ = progress.changed() => {}
            }
            continue;
        }
        // A failure is noted by the store's health; the loop then waits for it.
        if let Ok(entries) = stream.read(room.min(options.flush_at)).await {
            shared.take(entries);
        }
    }
    shared.lock().reading = false;
    shared.wake.notify_one();
    shared.progress.send_modify(|n| *n += 1);
}

/// Shared mode: acknowledges and deletes settled entries in the stream, in batches, trying
/// again while Redis is away. Ends after the sender, once nothing is left to acknowledge.
async fn acknowledge(shared: Arc<Shared>) {
    let Some(stream) = &shared.stream else {
        return;
    };
    // Set once the sender has ended and acknowledging fails: when to give up (the entries are
    // then claimed by another sender and sent again, which unique_id makes harmless).
    let mut give_up_at: Option<Instant> = None;
    loop {
        let notified = shared.acknowledge.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let ids = {
            let mut acks = shared.acknowledgements();
            let ids = std::mem::take(&mut acks.waiting);
            acks.sending = ids.len();
            ids
        };
        if ids.is_empty() {
            if shared.lock().sender_done {
                return;
            }
            notified.await;
            continue;
        }
        let outcome = stream.done(&ids).await;
        {
            let mut acks = shared.acknowledgements();
            acks.sending = 0;
            if outcome.is_err() {
                acks.waiting.splice(0..0, ids);
            }
        }
        shared.progress.send_modify(|n| *n += 1);
        if outcome.is_err() {
            if shared.lock().sender_done {
                let at = *give_up_at.get_or_insert(Instant::now() + shared.options.claim_after);
                if Instant::now() >= at {
                    return;
                }
            }
            tokio::time::sleep(crate::redis_store::RETRY_AFTER_FAILURE).await;
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
/// transient failures with backoff. `slot_taken`: its first send has its rate-limit slot.
async fn deliver(shared: &Shared, job: Vec<Queued>, mut slot_taken: bool) {
    let mut todo = vec![job];
    let mut backoff = Duration::from_millis(500);
    while let Some(events) = todo.pop() {
        if shared.abandoned.load(Ordering::Relaxed) {
            abandon(shared, events);
            continue;
        }
        let (op, body, options) = (
            shared.operation,
            Some(job_body(&events)),
            RequestOptions::default(),
        );
        let sent = if std::mem::take(&mut slot_taken) {
            shared
                .client
                .execute_acquired(op, op.path, body, &options)
                .await
        } else {
            shared
                .client
                .execute(op, op.path, &[], body, &options)
                .await
        };
        let error = match sent {
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
/// start, and entries from the shared stream stay there for another sender to claim;
/// otherwise they are reported as failed.
fn abandon(shared: &Shared, events: Vec<Queued>) {
    let (kept, local): (Vec<Queued>, Vec<Queued>) = events
        .into_iter()
        .partition(|e| e.stream_id.is_some() || shared.spool.is_some());
    shared.release(&kept);
    if !local.is_empty() {
        shared.settle(
            &local,
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
        let record = SpoolRecord {
            unique_id,
            metric: event.metric,
            entry,
        };
        if let Some(stream) = &shared.stream
            && shared.add_to_stream(stream, &record)?
        {
            return Ok(record.unique_id);
        }
        self.track_in_memory(record)
    }

    /// Queues the event in this process (and its spool, in durable mode).
    fn track_in_memory(&self, record: SpoolRecord) -> Result<String> {
        let shared = &self.shared;
        let mut queue = shared.lock();
        loop {
            if queue.closed {
                return Err(closed());
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
                    shared.drop_event(&record.unique_id, &record.metric);
                    return Ok(record.unique_id);
                }
            }
        }
        let spooled = match &shared.spool {
            Some(spool) => Some(spool.append(
                &serde_json::to_vec(&record).map_err(|e| Error::InvalidInput(e.to_string()))?,
            )?),
            None => None,
        };
        let unique_id = record.unique_id.clone();
        shared.enqueue(
            &mut queue,
            record.unique_id,
            record.metric,
            record.entry,
            Origin::Tracked(spooled),
        );
        Ok(unique_id)
    }

    /// Waits until every event tracked before this call is delivered or finally rejected
    /// (in shared mode: by whichever process's sender, and acknowledged in the stream).
    pub async fn flush(&self) {
        let shared = &self.shared;
        let target = {
            let mut queue = shared.lock();
            queue.flush_requested = true;
            queue.next_seq
        };
        let in_stream = shared
            .last_added
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        shared.wake.notify_one();
        let mut progress = shared.progress.subscribe();
        loop {
            let here = shared
                .lock()
                .unsettled
                .first()
                .is_none_or(|&oldest| oldest >= target);
            if here {
                let (Some(stream), Some(last)) = (&shared.stream, &in_stream) else {
                    return;
                };
                let mut confirmed = shared
                    .settled_through
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                // Other processes deliver from the stream too, and tell no one here: look
                // (while Redis is away, only after its retry time).
                if confirmed.as_deref() != Some(last.as_str())
                    && stream.available()
                    && stream.settled_through(last).await == Ok(true)
                {
                    confirmed = Some(last.clone());
                    *shared
                        .settled_through
                        .lock()
                        .unwrap_or_else(|e| e.into_inner()) = confirmed.clone();
                }
                if confirmed.as_deref() == Some(last.as_str()) {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(STREAM_POLL) => {}
                    _ = progress.changed() => {}
                }
                continue;
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
    /// for the next start; in shared mode, left in the stream for another sender) and the
    /// call returns [`Error::Timeout`]; else the final counters.
    pub async fn shutdown(&self, limit: Duration) -> Result<TrackerStats> {
        let shared = &self.shared;
        let deadline = Instant::now() + limit;
        shared.lock().closed = true;
        shared.room.notify_all();
        // In shared mode this process keeps reading while it flushes (it may be the last
        // sender), then stops and finishes what it holds.
        let mut done = self.flush_timeout(limit).await;
        if done && shared.stream.is_some() {
            shared.lock().stop_reading = true;
            shared.progress.send_modify(|n| *n += 1);
            done = tokio::time::timeout_at(deadline, self.settled())
                .await
                .is_ok();
        }
        if done {
            shared.wake.notify_one();
            return Ok(self.stats());
        }
        let waiting: Vec<Queued> = {
            let mut queue = shared.lock();
            queue.stop_reading = true;
            queue.waiting.drain(..).collect()
        };
        shared.abandoned.store(true, Ordering::Relaxed);
        shared.progress.send_modify(|n| *n += 1);
        abandon(shared, waiting);
        shared.wake.notify_one();
        Err(Error::Timeout {
            operation: "tracker.shutdown".into(),
            elapsed: limit,
        })
    }

    /// Waits until nothing is held, unacknowledged, or still to be read.
    async fn settled(&self) {
        let mut progress = self.shared.progress.subscribe();
        self.shared.wake.notify_one();
        while !self.shared.all_settled() {
            if progress.changed().await.is_err() {
                return;
            }
        }
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
