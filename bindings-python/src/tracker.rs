//! `client.tracker(...)`: the core's event tracker. `track()` queues and returns; waits
//! (`flush`, `close`, a blocking `track` on a full queue) release the GIL.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;

use klaviyo_bridge::config::seconds;
use klaviyo_bridge::profiles::ProfileRef;
use klaviyo_bridge::tracker::{TrackFailure, TrackerOptions};

use crate::convert::serialized;
use crate::errors::to_py_err;
use crate::resources::event_create;
use crate::runtime::run;

/// Default wait for `close()` and interpreter exit.
const DEFAULT_CLOSE_TIMEOUT: f64 = 30.0;

/// Tracker options from keyword arguments; `on_error` is called with a dict per failed event.
#[allow(clippy::too_many_arguments)]
pub fn options(
    flush_at: Option<usize>,
    flush_interval: Option<f64>,
    max_queue: Option<usize>,
    max_batch_bytes: Option<usize>,
    when_full: Option<&str>,
    max_in_flight: Option<usize>,
    spool_dir: Option<std::path::PathBuf>,
    queue: Option<String>,
    claim_after: Option<f64>,
    on_error: Option<Py<PyAny>>,
) -> PyResult<TrackerOptions> {
    let defaults = TrackerOptions::default();
    let on_error = on_error.map(|callback| {
        let callback = Arc::new(callback);
        Arc::new(move |failure: &TrackFailure| {
            Python::attach(|py| {
                let outcome = serialized(py, failure).and_then(|f| callback.call1(py, (f,)));
                if let Err(e) = outcome {
                    e.write_unraisable(py, Some(callback.bind(py)));
                }
            })
        }) as klaviyo_bridge::tracker::OnError
    });
    Ok(TrackerOptions {
        flush_at: flush_at.unwrap_or(defaults.flush_at),
        flush_interval: flush_interval
            .map(|s| seconds(s, "flush_interval"))
            .transpose()
            .map_err(to_py_err)?
            .unwrap_or(defaults.flush_interval),
        max_queue: max_queue.unwrap_or(defaults.max_queue),
        max_batch_bytes: max_batch_bytes.unwrap_or(defaults.max_batch_bytes),
        when_full: when_full
            .map(str::parse)
            .transpose()
            .map_err(to_py_err)?
            .unwrap_or(defaults.when_full),
        max_in_flight: max_in_flight.unwrap_or(defaults.max_in_flight),
        spool_dir,
        queue: queue.map(klaviyo_bridge::auth::Secret::new),
        claim_after: claim_after
            .map(|s| seconds(s, "claim_after"))
            .transpose()
            .map_err(to_py_err)?
            .unwrap_or(defaults.claim_after),
        on_error,
    })
}

/// Batches events into bulk jobs in the background.
#[pyclass(module = "klaviyo_bridge._native", frozen, weakref)]
pub struct Tracker {
    pub inner: klaviyo_bridge::Tracker,
}

#[pymethods]
impl Tracker {
    /// Queues one event and returns its unique_id; no call to Klaviyo on this thread (with
    /// `queue`, one round trip to Redis adds it to the shared stream). Raises at once
    /// for a bad or oversize event, a closed tracker, or (when_full="error") a full queue.
    #[pyo3(signature = (*, metric, email=None, phone_number=None, external_id=None, profile_id=None, properties=None, value=None, value_currency=None, time=None, unique_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn track(
        &self,
        py: Python<'_>,
        metric: String,
        email: Option<String>,
        phone_number: Option<String>,
        external_id: Option<String>,
        profile_id: Option<String>,
        properties: Option<Bound<'_, PyAny>>,
        value: Option<f64>,
        value_currency: Option<String>,
        time: Option<Bound<'_, PyAny>>,
        unique_id: Option<String>,
    ) -> PyResult<String> {
        let event = event_create(
            metric,
            ProfileRef {
                id: profile_id,
                email,
                phone_number,
                external_id,
            },
            properties.as_ref(),
            value,
            value_currency,
            time.as_ref(),
            unique_id,
        )?;
        // Released: a blocking track() on a full queue must not hold the GIL.
        py.detach(|| self.inner.track(event)).map_err(to_py_err)
    }

    /// Waits until every event tracked so far is delivered or finally rejected; with a
    /// timeout (seconds), returns False if events were still pending then.
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        self.flushed(py, false, timeout)
    }

    /// `flush` as an awaitable.
    #[pyo3(signature = (timeout=None))]
    fn aflush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Py<PyAny>> {
        self.flushed(py, true, timeout)
    }

    /// Stops accepting events and waits up to `timeout` seconds (default 30) for the queue;
    /// returns the final stats, or raises TimeoutError (undelivered events went to on_error,
    /// or stay in the spool).
    #[pyo3(signature = (timeout=DEFAULT_CLOSE_TIMEOUT))]
    fn close(&self, py: Python<'_>, timeout: f64) -> PyResult<Py<PyAny>> {
        self.shutdown(py, false, timeout)
    }

    /// `close` as an awaitable.
    #[pyo3(signature = (timeout=DEFAULT_CLOSE_TIMEOUT))]
    fn aclose(&self, py: Python<'_>, timeout: f64) -> PyResult<Py<PyAny>> {
        self.shutdown(py, true, timeout)
    }

    /// Counters: queued, sent, retried, failed, dropped, pending, last_error.
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialized(py, &self.inner.stats())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Leaving a `with` block closes the tracker (flushing, up to 30 s).
    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.shutdown(py, false, DEFAULT_CLOSE_TIMEOUT).map(drop)
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn __repr__(&self) -> String {
        let s = self.inner.stats();
        format!(
            "<klaviyo_bridge.Tracker queued={} sent={} pending={} failed={}>",
            s.queued, s.sent, s.pending, s.failed
        )
    }
}

impl Tracker {
    fn flushed(
        &self,
        py: Python<'_>,
        asynchronous: bool,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let inner = self.inner.clone();
        let limit = timeout
            .map(|t| seconds(t, "timeout"))
            .transpose()
            .map_err(to_py_err)?;
        run(
            py,
            asynchronous,
            async move { Ok(flush(&inner, limit).await) },
            |py, done| {
                Ok(pyo3::types::PyBool::new(py, done)
                    .to_owned()
                    .into_any()
                    .unbind())
            },
        )
    }

    fn shutdown(&self, py: Python<'_>, asynchronous: bool, timeout: f64) -> PyResult<Py<PyAny>> {
        let inner = self.inner.clone();
        let limit = seconds(timeout, "timeout").map_err(to_py_err)?;
        run(
            py,
            asynchronous,
            async move { inner.shutdown(limit).await },
            |py, stats| serialized(py, &stats),
        )
    }
}

async fn flush(tracker: &klaviyo_bridge::Tracker, limit: Option<Duration>) -> bool {
    match limit {
        Some(limit) => tracker.flush_timeout(limit).await,
        None => {
            tracker.flush().await;
            true
        }
    }
}
