//! Core errors as JS errors. napi async functions reject with a plain Error whose code cannot
//! be set, so the message carries a JSON payload (`{"klaviyo": {...}}`) that `index.js` turns
//! into the matching Error subclass. Messages come from the core and never hold a credential.

use serde_json::json;

use klaviyo_bridge::Error;

/// The JSON payload for a core error: the core's `Error::details` with camelCase names (the
/// API's own payloads inside, such as `errors`, are left as the API wrote them).
pub fn payload(error: &Error) -> String {
    let mut info = serde_json::Map::new();
    if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(error.details()) {
        for (name, value) in fields {
            info.insert(camel(&name), value);
        }
    }
    json!({ "klaviyo": info }).to_string()
}

/// `request_id` → `requestId`.
pub fn camel(snake: &str) -> String {
    klaviyo_bridge::Binding::Node.spell(snake)
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
    napi::Error::from_reason(json!({"klaviyo": {"code": "aborted", "class": "AbortError", "message": "The operation was aborted", "status": null, "errors": []}}).to_string())
}
