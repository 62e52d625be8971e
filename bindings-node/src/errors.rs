//! Core errors as JS errors. napi async functions reject with a plain Error whose code cannot
//! be set, so the message carries a JSON payload (`{"klaviyo": {...}}`) that `index.js` turns
//! into the matching Error subclass. Messages come from the core and never hold a credential.

use serde_json::json;

use klaviyo_bridge::Error;

/// The JSON payload for a core error.
pub fn payload(error: &Error) -> String {
    let mut info = json!({
        "code": error.code(),
        "message": error.to_string(),
        "status": error.status(),
        "requestId": error.request_id(),
        "errors": error.errors(),
        "retryAfter": error.retry_after().map(|d| d.as_secs_f64()),
    });
    if let Error::BulkPartial {
        failures,
        total,
        accepted,
    } = error
    {
        info["failures"] = json!(failures);
        info["total"] = json!(total);
        info["accepted"] = json!(accepted);
    }
    if let Error::WebhookVerification { check, .. } = error {
        info["check"] = json!(check);
    }
    json!({ "klaviyo": info }).to_string()
}

/// A core error as a napi error.
pub fn js_error(error: Error) -> napi::Error {
    napi::Error::from_reason(payload(&error))
}

/// An invalid argument, as the core would report it.
pub fn usage(message: impl Into<String>) -> napi::Error {
    js_error(Error::InvalidInput(message.into()))
}

/// The payload of an aborted call.
pub fn aborted() -> napi::Error {
    napi::Error::from_reason(json!({"klaviyo": {"code": "aborted", "message": "The operation was aborted", "status": null, "errors": []}}).to_string())
}
