//! `client.tracker(...)`: the core's event tracker. `track()` is synchronous and never waits
//! for the network; `flush()` and `close()` return Promises. `onError` is called through a
//! weak threadsafe function (it does not keep the process alive).

use std::sync::Arc;

use napi::bindgen_prelude::Function;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::Value;

use klaviyo_bridge::config::seconds;
use klaviyo_bridge::tracker::{OnError, TrackFailure, TrackerOptions};

use crate::errors::js_error;

/// Default wait for `close()` and `beforeExit`.
const DEFAULT_CLOSE_TIMEOUT: f64 = 30.0;

/// Tracker options (camelCase in JS; times in seconds).
#[napi(object)]
pub struct TrackerArgs {
    pub flush_at: Option<u32>,
    pub flush_interval: Option<f64>,
    pub max_queue: Option<u32>,
    pub max_batch_bytes: Option<u32>,
    /// "block" (default), "error" or "drop".
    pub when_full: Option<String>,
    pub max_in_flight: Option<u32>,
    pub spool_dir: Option<String>,
    /// Shared mode: `redis://host:port/db`.
    pub queue: Option<String>,
    /// Seconds an entry a sender took may go unrenewed before another claims it.
    pub claim_after: Option<f64>,
}

type ErrorFn = ThreadsafeFunction<Value, (), Value, napi::Status, false, true>;

pub fn options(
    args: TrackerArgs,
    on_error: Option<Function<'_, Value, ()>>,
) -> napi::Result<TrackerOptions> {
    let defaults = TrackerOptions::default();
    let on_error = match on_error {
        Some(f) => {
            let tsfn: Arc<ErrorFn> = Arc::new(
                f.build_threadsafe_function()
                    .callee_handled::<false>()
                    .weak::<true>()
                    .build()?,
            );
            Some(Arc::new(move |failure: &TrackFailure| {
                let value = crate::results::to_js(failure);
                tsfn.call(value, ThreadsafeFunctionCallMode::NonBlocking);
            }) as OnError)
        }
        None => None,
    };
    Ok(TrackerOptions {
        flush_at: args.flush_at.map_or(defaults.flush_at, |n| n as usize),
        flush_interval: args
            .flush_interval
            .map(|s| seconds(s, "flushInterval"))
            .transpose()
            .map_err(js_error)?
            .unwrap_or(defaults.flush_interval),
        max_queue: args.max_queue.map_or(defaults.max_queue, |n| n as usize),
        max_batch_bytes: args
            .max_batch_bytes
            .map_or(defaults.max_batch_bytes, |n| n as usize),
        when_full: args
            .when_full
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(js_error)?
            .unwrap_or(defaults.when_full),
        max_in_flight: args
            .max_in_flight
            .map_or(defaults.max_in_flight, |n| n as usize),
        spool_dir: args.spool_dir.map(Into::into),
        queue: args.queue.map(klaviyo_bridge::auth::Secret::new),
        claim_after: args
            .claim_after
            .map(|s| seconds(s, "claimAfter"))
            .transpose()
            .map_err(js_error)?
            .unwrap_or(defaults.claim_after),
        on_error,
    })
}

/// Batches events into bulk jobs in the background.
#[napi]
pub struct NativeTracker {
    pub(crate) inner: klaviyo_bridge::Tracker,
}

#[napi]
impl NativeTracker {
    /// Queues one event; returns its uniqueId. Throws at once for a bad or oversize event, a
    /// closed tracker, or (whenFull "error") a full queue.
    #[napi]
    pub fn track(&self, event: Value) -> napi::Result<String> {
        let event = crate::dispatch::event_from_json(event).map_err(js_error)?;
        self.inner.track(event).map_err(js_error)
    }

    /// Resolves when everything tracked so far is settled; with a timeout (seconds), to false
    /// if events were still pending then.
    #[napi]
    pub async fn flush(&self, timeout: Option<f64>) -> napi::Result<bool> {
        let inner = self.inner.clone();
        let limit = timeout
            .map(|t| seconds(t, "timeout"))
            .transpose()
            .map_err(js_error)?;
        Ok(match limit {
            Some(limit) => inner.flush_timeout(limit).await,
            None => {
                inner.flush().await;
                true
            }
        })
    }

    /// Stops accepting events and waits up to `timeout` seconds (default 30); resolves to the
    /// final stats or rejects with TimeoutError.
    #[napi]
    pub async fn close(&self, timeout: Option<f64>) -> napi::Result<Value> {
        let inner = self.inner.clone();
        let limit =
            seconds(timeout.unwrap_or(DEFAULT_CLOSE_TIMEOUT), "timeout").map_err(js_error)?;
        let stats = inner.shutdown(limit).await.map_err(js_error)?;
        Ok(crate::results::to_js(&stats))
    }

    /// Counters: queued, sent, retried, failed, dropped, pending, last_error.
    #[napi]
    pub fn stats(&self) -> Value {
        crate::results::to_js(&self.inner.stats())
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_closed()
    }
}
