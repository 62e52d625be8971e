//! Request-body checks: the attribute names and JSON types each resource type accepts, so a
//! request the real API would reject (an unknown attribute, a string where an object belongs)
//! gets a 400 that points at the field.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::error;

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Str,
    Num,
    Bool,
    Obj,
    Arr,
}

use Kind::*;

/// `(attribute, type, required)` per resource type.
fn schema(resource_type: &str) -> Option<&'static [(&'static str, Kind, bool)]> {
    const PROFILE: &[(&str, Kind, bool)] = &[
        ("email", Str, false),
        ("phone_number", Str, false),
        ("external_id", Str, false),
        ("anonymous_id", Str, false),
        ("first_name", Str, false),
        ("last_name", Str, false),
        ("organization", Str, false),
        ("locale", Str, false),
        ("title", Str, false),
        ("image", Str, false),
        ("location", Obj, false),
        ("properties", Obj, false),
        ("subscriptions", Obj, false),
        ("_kx", Str, false),
    ];
    Some(match resource_type {
        "profile" => PROFILE,
        "event" => &[
            ("properties", Obj, true),
            ("time", Str, false),
            ("value", Num, false),
            ("value_currency", Str, false),
            ("unique_id", Str, false),
            ("metric", Obj, true),
            ("profile", Obj, true),
            // In the spec (EventCreateQueryV2ResourceObject); the official SDKs send it.
            ("backfill", Bool, false),
        ],
        "list" => &[("name", Str, true), ("opt_in_process", Str, false)],
        "catalog-item" => &[
            ("external_id", Str, false),
            ("title", Str, false),
            ("description", Str, false),
            ("url", Str, false),
            ("price", Num, false),
            ("catalog_type", Str, false),
            ("integration_type", Str, false),
            ("image_full_url", Str, false),
            ("image_thumbnail_url", Str, false),
            ("images", Arr, false),
            ("custom_metadata", Obj, false),
            ("published", Bool, false),
        ],
        "catalog-variant" => &[
            ("external_id", Str, false),
            ("title", Str, false),
            ("description", Str, false),
            ("sku", Str, false),
            ("url", Str, false),
            ("price", Num, false),
            ("catalog_type", Str, false),
            ("integration_type", Str, false),
            ("inventory_policy", Num, false),
            ("inventory_quantity", Num, false),
            ("image_full_url", Str, false),
            ("image_thumbnail_url", Str, false),
            ("images", Arr, false),
            ("custom_metadata", Obj, false),
            ("published", Bool, false),
        ],
        "catalog-category" => &[
            ("external_id", Str, false),
            ("name", Str, false),
            ("catalog_type", Str, false),
            ("integration_type", Str, false),
        ],
        "webhook" => &[
            ("name", Str, false),
            ("description", Str, false),
            ("endpoint_url", Str, false),
            ("secret_key", Str, false),
            ("enabled", Bool, false),
        ],
        _ => return None,
    })
}

fn matches(kind: Kind, value: &Value) -> bool {
    match kind {
        Str => value.is_string(),
        Num => value.is_number(),
        Bool => value.is_boolean(),
        Obj => value.is_object(),
        Arr => value.is_array(),
    }
}

/// Checks `attributes` of a resource of `resource_type` at JSON pointer `at`.
/// `creating` enforces required attributes (updates may send a subset).
pub(crate) fn attributes(
    resource_type: &str,
    attributes: &Value,
    at: &str,
    creating: bool,
) -> Result<(), Response> {
    let Some(schema) = schema(resource_type) else {
        return Ok(());
    };
    let Some(map) = attributes.as_object() else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "'attributes' must be an object.",
            Some(json!({"pointer": at})),
        ));
    };
    for (name, value) in map {
        let pointer = format!("{at}/{name}");
        match schema.iter().find(|(n, _, _)| n == name) {
            None => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("'{name}' is not a valid field for the resource '{resource_type}'."),
                    Some(json!({"pointer": pointer})),
                ));
            }
            Some((_, kind, _)) if !value.is_null() && !matches(*kind, value) => {
                let expected = match kind {
                    Str => "a string",
                    Num => "a number",
                    Bool => "a boolean",
                    Obj => "an object",
                    Arr => "an array",
                };
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("'{name}' must be {expected}."),
                    Some(json!({"pointer": pointer})),
                ));
            }
            _ => {}
        }
    }
    if let Some((name, _, _)) = schema.iter().find(|(name, _, required)| {
        creating && *required && map.get(*name).is_none_or(Value::is_null)
    }) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("'{name}' is a required field for the resource '{resource_type}'."),
            Some(json!({"pointer": format!("{at}/{name}")})),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_unknown_and_missing_attributes_are_pointed_at() {
        assert!(
            attributes(
                "profile",
                &json!({"email": "a@b.com", "properties": {"x": 1}, "first_name": null}),
                "/data/attributes",
                true
            )
            .is_ok()
        );
        for (attrs, creating) in [
            (json!({"email": 5}), true),
            (json!({"favourite": "x"}), true),
            (json!({"properties": "x"}), false),
        ] {
            assert_eq!(
                attributes("profile", &attrs, "/data/attributes", creating)
                    .unwrap_err()
                    .status(),
                StatusCode::BAD_REQUEST
            );
        }
        assert!(attributes("list", &json!({}), "/data/attributes", true).is_err());
        assert!(attributes("list", &json!({}), "/data/attributes", false).is_ok());
        assert!(attributes("unknown-type", &json!({"anything": 1}), "/x", true).is_ok());
    }
}
