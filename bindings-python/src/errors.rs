//! Core errors to Python exceptions. The classes live in `klaviyo_bridge/errors.py` (so they
//! can also subclass `TimeoutError`, `ConnectionError`, `ValueError`); this file picks the
//! class by the core's stable code and sets the attributes. Messages come from the core,
//! which never includes a credential.

use pyo3::prelude::*;
use pyo3::types::PyDict;

use klaviyo_bridge::Error;

use crate::convert::serialized;

fn class_name(code: &str) -> &'static str {
    match code {
        "validation_error" => "ValidationError",
        "invalid_input" => "InvalidInputError",
        "authentication_error" => "AuthenticationError",
        "permission_denied" => "PermissionDeniedError",
        "not_found" => "NotFoundError",
        "conflict" => "ConflictError",
        "rate_limited" => "RateLimitError",
        "server_error" => "ServerError",
        "timeout" => "TimeoutError",
        "network_error" => "NetworkError",
        "decode_error" => "DecodeError",
        "config_error" => "ConfigurationError",
        "bulk_partial_failure" => "BulkPartialError",
        "webhook_verification_failed" => "WebhookVerificationError",
        "reauthorization_required" => "ReauthorizationRequired",
        "queue_full" => "QueueFullError",
        _ => "KlaviyoError",
    }
}

/// The Python exception for a core error.
pub fn to_py_err(error: Error) -> PyErr {
    Python::attach(|py| build(py, &error).unwrap_or_else(|e| e))
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let module = py.import("klaviyo_bridge.errors")?;
    let class = module.getattr(class_name(error.code()))?;
    let instance = class.call1((error.to_string(),))?;
    instance.setattr("code", error.code())?;
    instance.setattr("status", error.status())?;
    instance.setattr("request_id", error.request_id())?;
    instance.setattr("errors", serialized(py, &error.errors())?)?;
    instance.setattr("retry_after", error.retry_after().map(|d| d.as_secs_f64()))?;
    if let Error::BulkPartial {
        failures,
        total,
        accepted,
    } = error
    {
        instance.setattr("failures", serialized(py, failures)?)?;
        instance.setattr("total", total)?;
        instance.setattr("accepted", accepted)?;
    }
    if let Error::WebhookVerification { check, .. } = error {
        instance.setattr("check", check)?;
    }
    if let Some(api) = error.api_error() {
        let rate = PyDict::new(py);
        rate.set_item("limit", api.rate_limit.limit)?;
        rate.set_item("remaining", api.rate_limit.remaining)?;
        rate.set_item("reset", api.rate_limit.reset_seconds)?;
        instance.setattr("rate_limit", rate)?;
    }
    Ok(PyErr::from_value(instance))
}
