//! The spec's schemas at run time, from the generated shape table: validating request bodies
//! (Klaviyo's 400 with a `source.pointer`) and building responses that validate.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};

/// One operation's request and response, as the spec gives them.
#[derive(Debug, Clone)]
pub struct OperationShape {
    /// The request body's schema name.
    pub request: Option<String>,
    /// The success status (200, 201, 202 or 204).
    pub status: u16,
    /// The success body's schema name.
    pub response: Option<String>,
    /// The filter fields it allows, each with its operators; None when any goes.
    pub filters: Option<HashMap<String, Vec<String>>>,
    /// The `sort` values it allows; None when any goes.
    pub sorts: Option<Vec<String>>,
}

/// The shape table.
pub struct Shapes {
    operations: HashMap<String, OperationShape>,
    schemas: Schemas,
}

/// Nesting deeper than this is cut off when building (the spec's schemas are recursive).
const MAX_DEPTH: usize = 24;

pub static SHAPES: LazyLock<Shapes> = LazyLock::new(|| {
    let table: Value = serde_json::from_str(include_str!("shapes.json"))
        .expect("the generated shape table is JSON");
    let operations = table["operations"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(id, op)| {
            let name = |key: &str| op[key].as_str().map(str::to_string);
            let strings = |v: &Value| -> Vec<String> {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            };
            let filters = op["filters"].as_object().map(|f| {
                f.iter()
                    .map(|(field, ops)| (field.clone(), strings(ops)))
                    .collect()
            });
            let sorts = op.get("sorts").map(strings);
            (
                id.clone(),
                OperationShape {
                    request: name("request"),
                    status: op["status"].as_u64().unwrap_or(200) as u16,
                    response: name("response"),
                    filters,
                    sorts,
                },
            )
        })
        .collect();
    let schemas = table["schemas"].as_object().cloned().unwrap_or_default();
    Shapes {
        operations,
        schemas: Schemas::new(schemas),
    }
});

pub use klaviyo_bridge::operations::schema::Invalid;
use klaviyo_bridge::operations::schema::{Attributes, Schemas, allows_more};

impl Shapes {
    pub fn operation(&self, id: &str) -> Option<&OperationShape> {
        self.operations.get(id)
    }

    /// A schema by name (an empty schema, which allows anything, for an unknown name).
    pub fn named(&self, name: &str) -> &Value {
        self.schemas.named(name)
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        self.schemas.resolve(schema)
    }

    /// The schema of property `name` of an object schema (through `allOf`).
    pub fn property<'a>(&'a self, schema: &'a Value, name: &str) -> Option<&'a Value> {
        let schema = self.resolve(schema);
        schema
            .get("properties")
            .and_then(|p| p.get(name))
            .or_else(|| {
                schema
                    .get("allOf")?
                    .as_array()?
                    .iter()
                    .find_map(|sub| self.property(sub, name))
            })
    }

    /// The property names of an object schema.
    pub fn properties(&self, schema: &Value) -> Vec<String> {
        self.resolve(schema)
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The JSON:API `type` a resource schema fixes (its `type` enum's single value).
    pub fn resource_type(&self, resource: &Value) -> Option<String> {
        let kind = self.resolve(self.property(resource, "type")?);
        kind.get("enum")?
            .as_array()?
            .first()?
            .as_str()
            .map(str::to_string)
    }

    /// The resource schema under `data` of a document schema, and whether `data` is a list.
    pub fn data<'a>(&'a self, document: &'a Value) -> Option<(&'a Value, bool)> {
        let data = self.resolve(self.property(document, "data")?);
        match data.get("type").and_then(Value::as_str) {
            Some("array") => Some((self.resolve(data.get("items")?), true)),
            _ => Some((data, false)),
        }
    }

    /// Checks `value` against `schema` as Klaviyo does (attributes a resource does not have are
    /// refused); the first problem found.
    pub fn validate(&self, schema: &Value, value: &Value, pointer: &str) -> Result<(), Invalid> {
        self.schemas
            .validate(schema, value, pointer, Attributes::Closed)
    }

    /// A value of `schema`: `given` where it fits, the schema's own defaults elsewhere
    /// (required fields filled, optional nullable fields null, enums their first choice).
    pub fn build(&self, schema: &Value, given: Option<&Value>) -> Value {
        self.build_at(schema, given, 0)
    }

    fn build_at(&self, schema: &Value, given: Option<&Value>, depth: usize) -> Value {
        let schema = self.resolve(schema);
        if depth > MAX_DEPTH {
            return given.cloned().unwrap_or(Value::Null);
        }
        // A null where the schema wants a value means "not given".
        let given =
            given.filter(|v| !v.is_null() || schema.get("nullable") == Some(&Value::Bool(true)));
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            for part in parts {
                if let Value::Object(built) = self.build_at(part, given, depth + 1) {
                    merged.extend(built);
                }
            }
            return Value::Object(merged);
        }
        if let Some(options) = schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Value::as_array)
        {
            return self.build_alternative(options, given, depth);
        }
        if let Some(value) = given.filter(|v| !v.is_object() && !v.is_array()) {
            return value.clone();
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("object") => {
                let given = given.and_then(Value::as_object);
                let required: Vec<&str> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let mut out = Map::new();
                let properties = schema.get("properties").and_then(Value::as_object);
                for (name, sub) in properties.into_iter().flatten() {
                    let value = given.and_then(|g| g.get(name));
                    if value.is_some() || required.contains(&name.as_str()) {
                        let mut built = self.build_at(sub, value, depth + 1);
                        // A placeholder that reads as what the field is: URLs are URLs.
                        if value.is_none()
                            && built == ""
                            && (name.ends_with("url") || name.ends_with("_uri"))
                        {
                            built = json!("https://example.com/");
                        }
                        out.insert(name.clone(), built);
                    } else if self.resolve(sub).get("nullable") == Some(&Value::Bool(true)) {
                        out.insert(name.clone(), Value::Null);
                    }
                }
                // Free-form members (custom properties) are kept as given.
                if properties.is_none_or(|p| p.is_empty()) || allows_more(schema) {
                    for (name, value) in given.into_iter().flatten() {
                        out.entry(name.clone()).or_insert_with(|| value.clone());
                    }
                }
                Value::Object(out)
            }
            Some("array") => {
                let items = schema.get("items").unwrap_or(&Value::Null);
                match given.and_then(Value::as_array) {
                    Some(values) => Value::Array(
                        values
                            .iter()
                            .map(|v| self.build_at(items, Some(v), depth + 1))
                            .collect(),
                    ),
                    None => json!([]),
                }
            }
            Some("string") => match (
                schema.get("enum").and_then(|e| e.get(0)),
                schema.get("format").and_then(Value::as_str),
            ) {
                (Some(first), _) => first.clone(),
                (None, Some("date-time")) => json!(crate::store::now_iso()),
                (None, Some("date")) => json!(&crate::store::now_iso()[..10]),
                (None, Some("uri" | "url")) => json!("https://example.com/"),
                (None, Some("email")) => json!("sandbox@example.com"),
                _ => json!(""),
            },
            Some("integer") => json!(
                schema
                    .get("minimum")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    .max(0)
            ),
            Some("number") => json!(0.0),
            Some("boolean") => json!(false),
            _ => given.cloned().unwrap_or_else(|| {
                if schema.get("nullable") == Some(&Value::Bool(true)) {
                    Value::Null
                } else {
                    json!({})
                }
            }),
        }
    }

    /// Of several allowed forms, the first that takes `given` and that no other form also
    /// matches, so the result validates against `oneOf`.
    fn build_alternative(&self, options: &[Value], given: Option<&Value>, depth: usize) -> Value {
        let fitting: Vec<&Value> = match given {
            Some(value) => options
                .iter()
                .filter(|o| self.validate(o, value, "").is_ok())
                .collect(),
            None => options.iter().collect(),
        };
        let candidates = if fitting.is_empty() {
            options.iter().collect()
        } else {
            fitting
        };
        let mut first = None;
        for option in candidates {
            let built = self.build_at(option, given, depth + 1);
            if options
                .iter()
                .filter(|o| self.validate(o, &built, "").is_ok())
                .count()
                == 1
            {
                return built;
            }
            first.get_or_insert(built);
        }
        first.unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_every_operation() {
        for op in klaviyo_bridge::operations::OPERATIONS.iter() {
            assert!(SHAPES.operation(op.id).is_some(), "{} has a shape", op.id);
        }
        let create = SHAPES.operation("create_campaign").unwrap();
        assert_eq!(
            (create.request.as_deref(), create.status),
            (Some("CampaignCreateQuery"), 201)
        );
    }

    #[test]
    fn validation_names_the_field_and_what_to_fix() {
        let schema = SHAPES.named("ListCreateQuery");
        assert!(
            SHAPES
                .validate(
                    schema,
                    &json!({"data": {"type": "list", "attributes": {"name": "VIP"}}}),
                    ""
                )
                .is_ok()
        );
        let missing = SHAPES
            .validate(
                schema,
                &json!({"data": {"type": "list", "attributes": {}}}),
                "",
            )
            .unwrap_err();
        assert_eq!(missing.pointer, "/data/attributes/name");
        let wrong_type = SHAPES
            .validate(
                schema,
                &json!({"data": {"type": "list", "attributes": {"name": 5}}}),
                "",
            )
            .unwrap_err();
        assert!(
            wrong_type.detail.contains("must be a string"),
            "{}",
            wrong_type.detail
        );
        let unknown = SHAPES
            .validate(
                schema,
                &json!({"data": {"type": "list", "attributes": {"name": "x", "colour": "red"}}}),
                "",
            )
            .unwrap_err();
        assert_eq!(unknown.pointer, "/data/attributes/colour");
        let wrong_kind = SHAPES
            .validate(
                schema,
                &json!({"data": {"type": "segment", "attributes": {"name": "x"}}}),
                "",
            )
            .unwrap_err();
        assert_eq!(wrong_kind.pointer, "/data/type");
    }

    #[test]
    fn built_values_validate_and_keep_what_was_given() {
        for name in [
            "CampaignCreateQuery",
            "PostCampaignResponse",
            "GetFlowResponseCompoundDocument",
            "CouponCreateQuery",
            "PostCampaignValuesResponseDTO",
        ] {
            let schema = SHAPES.named(name);
            let built = SHAPES.build(schema, None);
            assert_eq!(
                SHAPES.validate(schema, &built, ""),
                Ok(()),
                "{name}: {built}"
            );
        }
        let given = json!({"data": {"type": "list", "attributes": {"name": "VIP"}}});
        assert_eq!(
            SHAPES.build(SHAPES.named("ListCreateQuery"), Some(&given))["data"]["attributes"]["name"],
            "VIP"
        );
    }
}
