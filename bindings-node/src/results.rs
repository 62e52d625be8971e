//! The core's own result structures (bulk reports, job status, tracker counters, webhook
//! deliveries, rate-limit readings) in Node's spelling: camelCase names. The API's payloads
//! inside them (`raw`, `payload`, `errors`, resource attributes) stay as the API wrote them.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::errors::camel;

/// Members whose contents are the API's, not the client's.
const OPAQUE: [&str; 4] = ["raw", "payload", "errors", "attributes"];

fn rename(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(name, inner)| {
                    let inner = if OPAQUE.contains(&name.as_str()) {
                        inner
                    } else {
                        rename(inner)
                    };
                    (camel(&name), inner)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(rename).collect()),
        other => other,
    }
}

/// A core result as a JS value with camelCase names.
pub fn to_js<T: Serialize>(result: &T) -> Value {
    rename(serde_json::to_value(result).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renames_the_clients_fields_and_leaves_the_apis_payloads() {
        let report = json!({"jobs": [{"id": "J", "first_index": 0, "item_count": 2}], "raw": {"item_count": 1}, "items": [{"external_id": "E", "payload": {"first_name": "x"}}]});
        assert_eq!(
            to_js(&report),
            json!({"jobs": [{"id": "J", "firstIndex": 0, "itemCount": 2}], "raw": {"item_count": 1}, "items": [{"externalId": "E", "payload": {"first_name": "x"}}]})
        );
    }
}
