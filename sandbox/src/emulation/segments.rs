//! Segment membership, evaluated from a segment's definition against the profiles held:
//! condition groups are joined by AND, the conditions of a group by OR, as in Klaviyo.
//! Understood: `profile-property` with string, numeric and boolean filters (a property is a
//! profile attribute such as `email` or a custom one as `properties['tier']`), and
//! `profile-group-membership` over lists. Other condition types match no one.

use serde_json::Value;

use crate::Store;

/// The ids of the profiles a segment's definition takes, in profile order.
pub(crate) fn members(store: &Store, segment: &Value) -> Vec<String> {
    let groups = segment["attributes"]["definition"]["condition_groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if groups.is_empty() {
        return Vec::new();
    }
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
                    .any(|condition| holds(store, id, profile, condition))
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
