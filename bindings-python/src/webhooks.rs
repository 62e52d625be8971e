//! `klaviyo_bridge.webhooks.verify` and `.sign`: the core's webhook signature functions.

use std::time::SystemTime;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyMapping, PyString};

use klaviyo_bridge::Binding;
use klaviyo_bridge::webhook_signature::{self, SeenStore, VerifyOptions};

use crate::convert::serialized;
use crate::errors::to_py_err;

fn body_bytes(body: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = body.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(text) = body.cast::<PyString>() {
        return Ok(text.to_cow()?.as_bytes().to_vec());
    }
    Err(PyValueError::new_err(
        "body must be the raw request body (bytes)",
    ))
}

fn when(timestamp: Option<f64>) -> PyResult<SystemTime> {
    timestamp
        .map(|t| klaviyo_bridge::config::unix_time(t, "timestamp"))
        .transpose()
        .map(|t| t.unwrap_or_else(SystemTime::now))
        .map_err(to_py_err)
}

/// Verifies a delivery: `headers` is any mapping (names matched case-insensitively);
/// `secret` one secret or several (rotation). Returns the parsed delivery, or raises
/// WebhookVerificationError naming the failed check.
/// With `seen` (a MemorySeenStore, or any object with `first_time(key: str) -> bool`), a
/// delivery already processed raises with check "replay".
#[pyfunction]
#[pyo3(signature = (body, headers, *, secret, tolerance=None, now=None, timestamp_source=None, seen=None))]
#[allow(clippy::too_many_arguments)]
pub fn verify(
    py: Python<'_>,
    body: Bound<'_, PyAny>,
    headers: Bound<'_, PyAny>,
    secret: Bound<'_, PyAny>,
    tolerance: Option<f64>,
    now: Option<f64>,
    timestamp_source: Option<&str>,
    seen: Option<Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let body = body_bytes(&body)?;
    let pairs: Vec<(String, String)> = match headers.cast::<PyMapping>() {
        Ok(mapping) => mapping
            .items()?
            .iter()
            .map(|item| item.extract::<(String, String)>())
            .collect::<PyResult<_>>()?,
        Err(_) => headers
            .try_iter()?
            .map(|item| item?.extract::<(String, String)>())
            .collect::<PyResult<_>>()?,
    };
    let secrets: Vec<String> = match secret.extract::<String>() {
        Ok(one) => vec![one],
        Err(_) => secret.extract()?,
    };
    let options =
        VerifyOptions::from_args(secrets, tolerance, now, timestamp_source, Binding::Python)
            .map_err(to_py_err)?;
    let headers = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let delivery = match seen {
        None => webhook_signature::verify(&body, headers, &options),
        Some(store) => match store.cast::<MemorySeenStore>() {
            Ok(native) => {
                webhook_signature::verify_once(&body, headers, &options, &native.get().inner)
            }
            Err(_) => {
                let custom = CustomSeenStore {
                    object: store,
                    error: Default::default(),
                };
                let outcome = webhook_signature::verify_once(&body, headers, &options, &custom);
                if let Some(error) = custom.error.take() {
                    return Err(error);
                }
                outcome
            }
        },
    }
    .map_err(to_py_err)?;
    serialized(py, &delivery)
}

/// The headers Klaviyo would send with `body`, for testing your receiver.
#[pyfunction]
#[pyo3(signature = (body, *, secret, webhook_id="test-webhook", timestamp=None))]
pub fn sign<'py>(
    py: Python<'py>,
    body: Bound<'py, PyAny>,
    secret: &str,
    webhook_id: &str,
    timestamp: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let headers =
        webhook_signature::sign(&body_bytes(&body)?, secret, webhook_id, when(timestamp)?);
    let dict = PyDict::new(py);
    for (name, value) in headers.pairs() {
        dict.set_item(name, value)?;
    }
    Ok(dict)
}

/// Remembers processed deliveries in memory for `retention` seconds (default: the core's
/// `DEFAULT_SEEN_RETENTION`, twice the freshness tolerance, beyond which deliveries are
/// refused as stale anyway).
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct MemorySeenStore {
    inner: webhook_signature::MemorySeenStore,
}

#[pymethods]
impl MemorySeenStore {
    #[new]
    #[pyo3(signature = (retention=None))]
    fn new(retention: Option<f64>) -> PyResult<Self> {
        Ok(MemorySeenStore {
            inner: webhook_signature::MemorySeenStore::with_retention_seconds(retention)
                .map_err(to_py_err)?,
        })
    }

    /// Records `key`; False when it was already recorded.
    fn first_time(&self, key: &str) -> bool {
        self.inner.first_time(key, SystemTime::now())
    }
}

/// A store written in Python: `first_time(key) -> bool`. Its exception is raised after the call.
struct CustomSeenStore<'py> {
    object: Bound<'py, PyAny>,
    error: std::cell::RefCell<Option<PyErr>>,
}

impl SeenStore for CustomSeenStore<'_> {
    fn first_time(&self, key: &str, _now: SystemTime) -> bool {
        match self
            .object
            .call_method1("first_time", (key,))
            .and_then(|r| r.is_truthy())
        {
            Ok(first) => first,
            Err(e) => {
                *self.error.borrow_mut() = Some(e);
                false
            }
        }
    }
}
