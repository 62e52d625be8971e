//! Segment membership, evaluated from a segment's definition against the profiles held:
//! condition groups are joined by AND, the conditions of a group by OR, as in Klaviyo.
//! Understood: `profile-property` with string, numeric and boolean filters (a property is a
//! profile attribute such as `email` or a custom one as `properties['tier']`), and
//! `profile-group-membership` over lists, and `profile-metric` (a profile's count or sum of
//! `$value` of a metric's events in a timeframe, optionally of events whose properties pass
//! `metric_filters`). Other condition types match no one.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use klaviyo_bridge::filter::{Condition, FilterValue};
use serde_json::{Value, json};

use crate::Store;
use crate::table::Source;

/// The ids of the profiles a segment's definition takes, in profile order.
pub(crate) fn members(store: &Store, segment: &Value) -> Vec<String> {
    let groups = segment["attributes"]["definition"]["condition_groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if groups.is_empty() {
        return Vec::new();
    }
    // Each metric condition's measure per profile, from one walk of the metric's events.
    // `None`: a condition the sandbox cannot evaluate, which matches no one.
    let measures: HashMap<String, Option<HashMap<String, f64>>> = groups
        .iter()
        .filter_map(|group| group["conditions"].as_array())
        .flatten()
        .filter(|c| c["type"] == "profile-metric")
        .map(|c| (c.to_string(), metric_measures(store, c, SystemTime::now())))
        .collect();
    store
        .profiles
        .values()
        .filter(|profile| {
            let id = profile["id"].as_str().unwrap_or_default();
            groups.iter().all(|group| {
                group["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|condition| match measures.get(&condition.to_string()) {
                        Some(None) => false,
                        // A profile without events measures 0 (`count equals 0` takes it).
                        Some(Some(by_profile)) => property_matches(
                            &json!(by_profile.get(id).copied().unwrap_or(0.0)),
                            &condition["measurement_filter"],
                        ),
                        None => holds(store, id, profile, condition),
                    })
            })
        })
        .filter_map(|profile| profile["id"].as_str().map(str::to_string))
        .collect()
}

fn holds(store: &Store, id: &str, profile: &Value, condition: &Value) -> bool {
    match condition["type"].as_str() {
        Some("profile-property") => property_matches(
            property(profile, condition["property"].as_str().unwrap_or_default()),
            &condition["filter"],
        ),
        Some("profile-group-membership") => {
            let in_any = condition["group_ids"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|list| {
                    store
                        .list_members
                        .get(list)
                        .is_some_and(|m| m.iter().any(|p| p == id))
                });
            in_any == condition["is_member"].as_bool().unwrap_or(true)
        }
        _ => false,
    }
}

/// The `[start, end)` a timeframe filter names (either end open), relative to `now` for
/// the relative ones; `None` for one the sandbox does not evaluate (anniversaries).
fn timeframe(filter: &Value, now: SystemTime) -> Option<(Option<SystemTime>, Option<SystemTime>)> {
    let date = |key: &str| {
        filter[key]
            .as_str()
            .and_then(klaviyo_bridge::time::parse_iso8601)
    };
    let unit = match filter["unit"].as_str() {
        Some("hour") => 3_600,
        Some("week") => 7 * 86_400,
        _ => 86_400,
    };
    let ago = |key: &str| {
        let n = filter[key].as_u64()?;
        now.checked_sub(Duration::from_secs(n.saturating_mul(unit)))
    };
    let ahead = |key: &str| {
        now.checked_add(Duration::from_secs(
            filter[key].as_u64()?.saturating_mul(unit),
        ))
    };
    Some(match filter["operator"].as_str()? {
        "alltime" => (None, None),
        "after" => (Some(date("date")?), None),
        "before" => (None, Some(date("date")?)),
        "between-static" => (Some(date("start")?), Some(date("end")?)),
        "in-the-last" => (Some(ago("quantity")?), Some(now)),
        "at-least" => (None, Some(ago("quantity")?)),
        "in-the-next" => (Some(now), Some(ahead("quantity")?)),
        // `start` to `end` units ago, whichever is given first.
        "between" => {
            let (a, b) = (ago("start")?, ago("end")?);
            (Some(a.min(b)), Some(a.max(b)))
        }
        _ => return None,
    })
}

/// A `profile-metric` condition's measure (`count` of events, or `sum` of their `$value`) per
/// profile that has any, over its timeframe and event property filters; `None` when the
/// sandbox cannot evaluate it (an anniversary timeframe, a list or existence filter).
fn metric_measures(
    store: &Store,
    condition: &Value,
    now: SystemTime,
) -> Option<HashMap<String, f64>> {
    let mut measures = HashMap::new();
    let metric = condition["metric_id"].as_str()?;
    let (start, end) = timeframe(&condition["timeframe_filter"], now)?;
    let property_filters = condition["metric_filters"].as_array();
    let understood = |f: &Value| {
        f["filter"].is_null()
            || matches!(
                f["filter"]["type"].as_str(),
                Some("string" | "numeric" | "boolean")
            )
    };
    if !property_filters.into_iter().flatten().all(understood) {
        return None;
    }
    let by_metric = [Condition {
        operator: "equals".into(),
        field: "metric_id".into(),
        value: FilterValue::Str(metric.to_string()),
    }];
    let sum = condition["measurement"] == "sum";
    for (_, event) in store.events.walk(Some("datetime"), true, None, &by_metric) {
        if event["relationships"]["metric"]["data"]["id"] != metric {
            continue;
        }
        let at = event["attributes"]["datetime"]
            .as_str()
            .and_then(klaviyo_bridge::time::parse_iso8601);
        let within =
            at.is_some_and(|at| start.is_none_or(|s| at >= s) && end.is_none_or(|e| at < e));
        let properties = &event["attributes"]["event_properties"];
        // A property filter without a filter asks nothing of the property.
        let passes = property_filters.into_iter().flatten().all(|f| {
            f["filter"].is_null()
                || property_matches(
                    &properties[f["property"].as_str().unwrap_or_default()],
                    &f["filter"],
                )
        });
        let Some(profile) = event["relationships"]["profile"]["data"]["id"].as_str() else {
            continue;
        };
        if within && passes {
            let measure = if sum {
                properties["$value"].as_f64().unwrap_or(0.0)
            } else {
                1.0
            };
            *measures.entry(profile.to_string()).or_insert(0.0) += measure;
        }
    }
    Some(measures)
}

/// `properties['tier']` (or `properties["tier"]`) is a custom property; anything else an attribute.
fn property<'a>(profile: &'a Value, name: &str) -> &'a Value {
    let custom = name
        .strip_prefix("properties[")
        .and_then(|rest| rest.strip_suffix(']'))
        .map(|key| key.trim_matches(['\'', '"']));
    match custom {
        Some(key) => &profile["attributes"]["properties"][key],
        None => name
            .split('.')
            .fold(&profile["attributes"], |v, part| &v[part]),
    }
}

fn property_matches(actual: &Value, filter: &Value) -> bool {
    let operator = filter["operator"].as_str().unwrap_or_default();
    match filter["type"].as_str() {
        Some("string") => {
            let (Some(a), Some(b)) = (
                actual.as_str().map(str::to_lowercase),
                filter["value"].as_str().map(str::to_lowercase),
            ) else {
                return operator.starts_with("not-");
            };
            match operator {
                "equals" => a == b,
                "not-equals" => a != b,
                "contains" => a.contains(&b),
                "not-contains" => !a.contains(&b),
                "starts-with" => a.starts_with(&b),
                "not-starts-with" => !a.starts_with(&b),
                "ends-with" => a.ends_with(&b),
                "not-ends-with" => !a.ends_with(&b),
                _ => false,
            }
        }
        Some("numeric") => {
            let (Some(a), Some(b)) = (actual.as_f64(), filter["value"].as_f64()) else {
                return false;
            };
            match operator {
                "equals" => a == b,
                "not-equals" => a != b,
                "greater-than" => a > b,
                "greater-than-or-equal" => a >= b,
                "less-than" => a < b,
                "less-than-or-equal" => a <= b,
                _ => false,
            }
        }
        Some("boolean") => actual
            .as_bool()
            .zip(filter["value"].as_bool())
            .is_some_and(|(a, b)| (a == b) == (operator != "not-equals")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_compare_as_klaviyo_segments_do() {
        let string =
            |op: &str, value: &str| json!({"type": "string", "operator": op, "value": value});
        assert!(property_matches(&json!("Gold"), &string("equals", "gold")));
        assert!(property_matches(
            &json!("gold member"),
            &string("starts-with", "gold")
        ));
        assert!(
            property_matches(&Value::Null, &string("not-equals", "gold")),
            "a missing property is not equal"
        );
        assert!(!property_matches(&Value::Null, &string("equals", "gold")));
        assert!(property_matches(
            &json!(7),
            &json!({"type": "numeric", "operator": "greater-than-or-equal", "value": 7})
        ));
        assert!(property_matches(
            &json!(true),
            &json!({"type": "boolean", "operator": "equals", "value": true})
        ));
        let profile = json!({"attributes": {"email": "a@b.com", "properties": {"tier": "gold"}}});
        assert_eq!(property(&profile, "properties['tier']"), "gold");
        assert_eq!(property(&profile, "email"), "a@b.com");
    }
}
