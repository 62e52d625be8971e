//! `klaviyo_bridge.webhooks.verify` and `.sign`: the core's webhook signature functions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyMapping, PyString};

use klaviyo_bridge::webhook_signature::{self, TimestampSource, VerifyOptions};

use crate::convert::serialized;
use crate::errors::to_py_err;

fn body_bytes(body: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = body.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(text) = body.cast::<PyString>() {
        return Ok(text.to_cow()?.as_bytes().to_vec());
    }
    Err(PyValueError::new_err("body must be the raw request body (bytes)"))
}

fn when(timestamp: Option<f64>) -> SystemTime {
    timestamp.map_or_else(SystemTime::now, |t| UNIX_EPOCH + Duration::from_secs_f64(t.max(0.0)))
}

/// Verifies a delivery: `headers` is any mapping (names matched case-insensitively);
/// `secret` one secret or several (rotation). Returns the parsed delivery, or raises
/// WebhookVerificationError naming the failed check.
#[pyfunction]
#[pyo3(signature = (body, headers, *, secret, tolerance=300.0, now=None, timestamp_source="body"))]
pub fn verify(py: Python<'_>, body: Bound<'_, PyAny>, headers: Bound<'_, PyAny>, secret: Bound<'_, PyAny>, tolerance: f64, now: Option<f64>, timestamp_source: &str) -> PyResult<Py<PyAny>> {
    let body = body_bytes(&body)?;
    let pairs: Vec<(String, String)> = match headers.cast::<PyMapping>() {
        Ok(mapping) => mapping.items()?.iter().map(|item| item.extract::<(String, String)>()).collect::<PyResult<_>>()?,
        Err(_) => headers.try_iter()?.map(|item| item?.extract::<(String, String)>()).collect::<PyResult<_>>()?,
    };
    let secrets: Vec<String> = match secret.extract::<String>() {
        Ok(one) => vec![one],
        Err(_) => secret.extract()?,
    };
    let timestamp_source = match timestamp_source {
        "body" => TimestampSource::BodyThenHeader,
        "header" => TimestampSource::Header,
        other => return Err(PyValueError::new_err(format!("timestamp_source must be 'body' or 'header', not {other:?}"))),
    };
    let options = VerifyOptions { secrets, tolerance: Duration::from_secs_f64(tolerance.max(0.0)), now: when(now), timestamp_source };
    let delivery = webhook_signature::verify(&body, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), &options).map_err(to_py_err)?;
    serialized(py, &delivery)
}

/// The headers Klaviyo would send with `body`, for testing your receiver.
#[pyfunction]
#[pyo3(signature = (body, *, secret, webhook_id="test-webhook", timestamp=None))]
pub fn sign<'py>(py: Python<'py>, body: Bound<'py, PyAny>, secret: &str, webhook_id: &str, timestamp: Option<f64>) -> PyResult<Bound<'py, PyDict>> {
    let headers = webhook_signature::sign(&body_bytes(&body)?, secret, webhook_id, when(timestamp));
    let dict = PyDict::new(py);
    for (name, value) in headers.pairs() {
        dict.set_item(name, value)?;
    }
    Ok(dict)
}
