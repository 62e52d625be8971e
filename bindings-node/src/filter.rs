//! Filter expressions from JS values (the compatibility layer's `FilterBuilder`): the core's
//! `Filter` quotes and escapes; here a value only changes type (`{ dateTime }`, which the JS
//! layer makes of a `Date`, becomes a bare date-time).

use napi_derive::napi;
use serde_json::Value;

use klaviyo_bridge::Error;
use klaviyo_bridge::filter::{Filter, FilterValue};

use crate::errors::js_error;

fn value(item: &Value) -> klaviyo_bridge::Result<FilterValue> {
    Ok(match item {
        Value::Null => FilterValue::Null,
        Value::Bool(b) => FilterValue::Bool(*b),
        Value::Number(n) => FilterValue::Number(n.as_f64().unwrap_or_default()),
        Value::String(s) => FilterValue::Str(s.clone()),
        Value::Array(items) => {
            FilterValue::List(items.iter().map(value).collect::<Result<_, _>>()?)
        }
        Value::Object(o) => match o.get("dateTime").and_then(Value::as_str) {
            Some(text) => FilterValue::DateTime(text.to_string()),
            None => {
                return Err(Error::InvalidInput(
                    "a filter value must be a string, number, boolean, Date, null or an array of them".into(),
                ));
            }
        },
    })
}

/// `[operator, field, value]` conditions as one filter expression (AND-joined).
#[napi]
pub fn filter_expression(conditions: Vec<(String, String, Value)>) -> napi::Result<String> {
    let mut filter = Filter::new();
    for (operator, field, operand) in &conditions {
        filter = filter.condition(operator, field, value(operand).map_err(js_error)?);
    }
    Ok(filter.to_string())
}
