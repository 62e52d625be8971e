//! Request bodies checked against the spec's schemas before anything is sent, and the schema
//! walker the sandbox shares (it validates with closed attributes, as Klaviyo does; the client
//! lets unknown attributes pass, since the API adds fields).

use std::sync::LazyLock;

use serde_json::{Map, Value};

use super::Operation;
use crate::error::Error;

/// Whether an `attributes` object may hold members its schema does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attributes {
    /// Unknown attributes pass (the client: the API adds fields).
    Open,
    /// Unknown attributes are refused (the API itself, so the sandbox).
    Closed,
}

/// A value that does not fit its schema: where (a JSON pointer), and what to fix.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// JSON pointer into the checked value, e.g. `/data/attributes/email`.
    pub pointer: String,
    /// What is wrong, naming the expected type or values.
    pub detail: String,
}

/// Named schemas, compacted by the codegen to the keywords that decide validity.
#[derive(Debug, Default)]
pub struct Schemas {
    schemas: Map<String, Value>,
}

/// The schemas every request body reaches, from `request_schemas.json` (generated).
pub static REQUEST_SCHEMAS: LazyLock<Schemas> = LazyLock::new(|| {
    Schemas::new(
        serde_json::from_str(include_str!("request_schemas.json"))
            .expect("the generated request-schema table is JSON"),
    )
});

/// Checks a request body against `op`'s schema: a typed error naming the JSON pointer and
/// what was expected, before any network traffic. `method` names the call in the caller's
/// language (`create_tag`, `createTag`).
pub fn check_body(op: &Operation, method: &str, body: &Value) -> Result<(), Error> {
    let Some(name) = op.body_schema else {
        return Ok(());
    };
    let schemas = &*REQUEST_SCHEMAS;
    schemas
        .validate(schemas.named(name), body, "", Attributes::Open)
        .map_err(|problem| {
            Error::InvalidInput(format!(
                "{method}: the request body does not match {name} at {}: {}",
                if problem.pointer.is_empty() {
                    "/"
                } else {
                    &problem.pointer
                },
                problem.detail
            ))
        })
}

impl Schemas {
    /// Schemas by name.
    pub fn new(schemas: Map<String, Value>) -> Self {
        Schemas { schemas }
    }

    /// A schema by name (an empty schema, which allows anything, for an unknown name).
    pub fn named(&self, name: &str) -> &Value {
        static ANY: Value = Value::Null;
        self.schemas.get(name).unwrap_or(&ANY)
    }

    /// Follows `$ref`s (bare schema names) to the schema they name.
    pub fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        while let Some(name) = schema.get("$ref").and_then(Value::as_str) {
            schema = self.named(name);
        }
        schema
    }

    /// Checks `value` against `schema`; the first problem found.
    pub fn validate(
        &self,
        schema: &Value,
        value: &Value,
        pointer: &str,
        attributes: Attributes,
    ) -> Result<(), Invalid> {
        let schema = self.resolve(schema);
        let invalid = |detail: String| {
            Err(Invalid {
                pointer: pointer.to_string(),
                detail,
            })
        };
        if value.is_null() {
            return if schema.get("nullable") == Some(&Value::Bool(true))
                || schema.as_object().is_none_or(|o| o.is_empty())
            {
                Ok(())
            } else {
                invalid(format!("{} must not be null.", name_of(pointer)))
            };
        }
        for sub in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.validate(sub, value, pointer, attributes)?;
        }
        for keyword in ["oneOf", "anyOf"] {
            if let Some(options) = schema.get(keyword).and_then(Value::as_array) {
                let mut first_problem = None;
                if !options
                    .iter()
                    .any(|sub| match self.validate(sub, value, pointer, attributes) {
                        Ok(()) => true,
                        Err(problem) => {
                            first_problem.get_or_insert(problem);
                            false
                        }
                    })
                {
                    return Err(first_problem.unwrap_or(Invalid {
                        pointer: pointer.into(),
                        detail: "matches none of the allowed forms".into(),
                    }));
                }
            }
        }
        if let Some(kind) = schema.get("type").and_then(Value::as_str) {
            let fits = match kind {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => {
                    value.is_i64()
                        || value.is_u64()
                        || value.as_f64().is_some_and(|n| n.fract() == 0.0)
                }
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                _ => true,
            };
            if !fits {
                return invalid(format!(
                    "{} must be {} {kind}, not {value}.",
                    name_of(pointer),
                    if kind.starts_with(['a', 'i', 'o']) {
                        "an"
                    } else {
                        "a"
                    }
                ));
            }
        }
        if let Some(options) = schema
            .get("enum")
            .and_then(Value::as_array)
            .filter(|options| !options.contains(value))
        {
            let allowed: Vec<String> = options.iter().map(Value::to_string).collect();
            return invalid(format!(
                "{value} is not a valid choice for {}: use one of {}.",
                name_of(pointer),
                allowed.join(", ")
            ));
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time")
            && value
                .as_str()
                .is_some_and(|t| crate::time::parse_iso8601(t).is_none() && !is_date(t))
        {
            return invalid(format!(
                "{} must be an ISO 8601 date-time, e.g. 2026-01-01T00:00:00Z.",
                name_of(pointer)
            ));
        }
        if let Some(object) = value.as_object() {
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !object.contains_key(name) {
                    return Err(Invalid {
                        pointer: format!("{pointer}/{name}"),
                        detail: format!("'{name}' is a required field."),
                    });
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (name, item) in object {
                match properties.and_then(|p| p.get(name)) {
                    Some(sub) => {
                        self.validate(sub, item, &format!("{pointer}/{name}"), attributes)?
                    }
                    // Klaviyo refuses attributes a resource does not have.
                    None if attributes == Attributes::Closed
                        && pointer.ends_with("/attributes")
                        && properties.is_some_and(|p| !p.is_empty())
                        && !allows_more(schema) =>
                    {
                        return Err(Invalid {
                            pointer: format!("{pointer}/{name}"),
                            detail: format!("'{name}' is not a valid field for this resource."),
                        });
                    }
                    None => {}
                }
            }
        }
        if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
            if let Some(max) = schema
                .get("maxItems")
                .and_then(Value::as_u64)
                .filter(|max| array.len() as u64 > *max)
            {
                return invalid(format!("{} takes at most {max} items.", name_of(pointer)));
            }
            for (i, item) in array.iter().enumerate() {
                self.validate(items, item, &format!("{pointer}/{i}"), attributes)?;
            }
        }
        Ok(())
    }
}

/// Whether an object schema takes members it does not list (`additionalProperties`).
pub fn allows_more(schema: &Value) -> bool {
    schema
        .get("additionalProperties")
        .is_some_and(|a| a != &Value::Bool(false))
}

fn is_date(text: &str) -> bool {
    text.len() == 10 && crate::time::parse_iso8601(&format!("{text}T00:00:00Z")).is_some()
}

pub(crate) fn name_of(pointer: &str) -> &str {
    pointer
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("the body")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::operation;
    use serde_json::json;

    #[test]
    fn a_body_missing_a_required_attribute_is_refused_with_its_pointer() {
        let op = operation("create_list").unwrap();
        let err = check_body(
            op,
            op.id,
            &json!({"data": {"type": "list", "attributes": {}}}),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/data/attributes/name"), "{text}");
        assert!(text.contains("required"), "{text}");
    }

    #[test]
    fn wrong_types_and_unknown_resource_types_name_what_was_expected() {
        let op = operation("create_list").unwrap();
        let err = check_body(
            op,
            op.id,
            &json!({"data": {"type": "list", "attributes": {"name": 7}}}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("/data/attributes/name") && err.contains("a string"),
            "{err}"
        );
        let err = check_body(
            op,
            op.id,
            &json!({"data": {"type": "lists", "attributes": {"name": "VIP"}}}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("/data/type") && err.contains("\"list\""),
            "{err}"
        );
    }

    #[test]
    fn unknown_attributes_pass_for_the_client_but_not_for_the_api() {
        let op = operation("create_list").unwrap();
        let body =
            json!({"data": {"type": "list", "attributes": {"name": "VIP", "added_by_api": 1}}});
        assert!(check_body(op, op.id, &body).is_ok());
        let schemas = &*REQUEST_SCHEMAS;
        assert!(
            schemas
                .validate(
                    schemas.named("ListCreateQuery"),
                    &body,
                    "",
                    Attributes::Closed
                )
                .is_err()
        );
    }
}
