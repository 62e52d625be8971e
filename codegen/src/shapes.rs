//! The sandbox's shape table, `sandbox/src/emulation/shapes.json`: for every operation its
//! request-body schema, success status and response schema, the filter fields and operators
//! and the sorts it allows, and every schema those reach,
//! reduced to the keywords that decide validity (types, properties, required, enums,
//! nullability, formats, combinators). Descriptions and examples are left out, so the table
//! is a fifth of the spec. The sandbox validates request bodies against it and builds
//! responses that validate against the spec.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// Where the shape table lives, relative to the workspace root.
pub const SHAPES_PATH: &str = "sandbox/src/emulation/shapes.json";

/// Schema keywords the table keeps.
const KEPT: [&str; 15] = [
    "type",
    "properties",
    "required",
    "enum",
    "nullable",
    "items",
    "format",
    "oneOf",
    "anyOf",
    "allOf",
    "$ref",
    "additionalProperties",
    "minimum",
    "maximum",
    "maxItems",
];

const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

/// A schema with only the kept keywords; `$ref`s become bare schema names.
pub(crate) fn compact(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => {
            let mut out = Map::new();
            for (key, value) in object {
                if !KEPT.contains(&key.as_str()) {
                    continue;
                }
                let kept = match key.as_str() {
                    "properties" => Value::Object(
                        value
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(|(name, sub)| (name.clone(), compact(sub)))
                            .collect(),
                    ),
                    "$ref" => json!(
                        value
                            .as_str()
                            .unwrap_or_default()
                            .rsplit('/')
                            .next()
                            .unwrap_or_default()
                    ),
                    _ => compact(value),
                };
                out.insert(key.clone(), kept);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(compact).collect()),
        other => other.clone(),
    }
}

/// The schema name a JSON:API body refers to, if it is a `$ref`.
fn body_schema(content: &Value) -> Option<String> {
    let media = content.as_object()?.values().next()?;
    media["schema"]["$ref"]
        .as_str()
        .map(|r| r.rsplit('/').next().unwrap_or_default().to_string())
}

pub(crate) fn refs(schema: &Value, found: &mut Vec<String>) {
    match schema {
        Value::Object(object) => {
            for (key, value) in object {
                if key == "$ref" {
                    found.extend(value.as_str().map(str::to_string));
                } else {
                    refs(value, found);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, found)),
        _ => {}
    }
}

/// The filter fields and operators an operation allows, from its `filter` parameter's
/// description ("Allowed field(s)/operator(s):<br>`email`: `any`, `equals`<br>…").
fn allowed_filters(description: &str) -> Option<Value> {
    let (_, list) = description.split_once("Allowed field(s)/operator(s):")?;
    let mut allowed = Map::new();
    for entry in list.split("<br>") {
        let Some((field, operators)) = entry.split_once(':') else {
            continue;
        };
        let field = field.trim().trim_matches('`');
        let operators: Vec<Value> = operators
            .split(',')
            .map(|o| json!(o.trim().trim_matches('`')))
            .filter(|o| o != "")
            .collect();
        if !field.is_empty() && !operators.is_empty() {
            allowed.insert(field.to_string(), Value::Array(operators));
        }
    }
    (!allowed.is_empty()).then_some(Value::Object(allowed))
}

/// Renders the shape table as JSON, one operation and one schema per line.
pub fn render_shapes(spec: &Value) -> Result<String, String> {
    let revision = spec["info"]["version"]
        .as_str()
        .ok_or("spec has no info.version")?;
    let schemas = spec["components"]["schemas"]
        .as_object()
        .ok_or("spec has no components.schemas")?;
    let mut operations = BTreeMap::new();
    let mut wanted: Vec<String> = Vec::new();
    for (path, item) in spec["paths"].as_object().ok_or("spec has no paths")? {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"]
                .as_str()
                .ok_or_else(|| format!("{method} {path}: no operationId"))?;
            let request = body_schema(&op["requestBody"]["content"]);
            let (status, response) = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .find_map(|(code, answer)| {
                    code.parse::<u16>()
                        .ok()
                        .filter(|c| (200..300).contains(c))
                        .map(|c| (c, body_schema(&answer["content"])))
                })
                .ok_or_else(|| format!("{id}: no success response"))?;
            wanted.extend(request.iter().cloned());
            wanted.extend(response.iter().cloned());
            let mut shape = json!({"request": request, "status": status, "response": response});
            let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
            if let Some(filters) = parameters
                .iter()
                .find(|p| p["name"] == "filter")
                .and_then(|p| allowed_filters(p["description"].as_str().unwrap_or_default()))
            {
                shape["filters"] = filters;
            }
            if let Some(sorts) = parameters
                .iter()
                .find(|p| p["name"] == "sort")
                .and_then(|p| p["schema"]["enum"].as_array().cloned())
            {
                shape["sorts"] = Value::Array(sorts);
            }
            operations.insert(id.to_string(), shape);
        }
    }
    let mut kept = BTreeMap::new();
    let mut seen = BTreeSet::new();
    while let Some(name) = wanted.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let schema = schemas
            .get(&name)
            .ok_or_else(|| format!("dangling $ref {name}"))?;
        let compacted = compact(schema);
        refs(&compacted, &mut wanted);
        kept.insert(name, compacted);
    }
    let mut out = String::new();
    out.push_str(&format!("{{\"generated\": \"by `cargo run -p klaviyo-codegen` from Klaviyo's OpenAPI spec; do not edit by hand\",\n\"revision\": {},\n\"operations\": {{\n", json!(revision)));
    let lines: Vec<String> = operations
        .iter()
        .map(|(id, op)| format!("{}: {}", json!(id), op))
        .collect();
    out.push_str(&lines.join(",\n"));
    out.push_str("\n},\n\"schemas\": {\n");
    let lines: Vec<String> = kept
        .iter()
        .map(|(name, schema)| format!("{}: {}", json!(name), schema))
        .collect();
    out.push_str(&lines.join(",\n"));
    out.push_str("\n}}\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_allowed_filter_fields_and_operators() {
        let description = "For more information please visit https://example.com#filtering<br>Allowed field(s)/operator(s):<br>`email`: `any`, `equals`<br>`created`: `greater-than`";
        assert_eq!(
            allowed_filters(description),
            Some(json!({"email": ["any", "equals"], "created": ["greater-than"]}))
        );
        assert_eq!(allowed_filters("no list here"), None);
    }

    #[test]
    fn keeps_validity_keywords_and_reachable_schemas_only() {
        let spec = json!({
            "info": {"version": "2026-07-15"},
            "paths": {"/api/lists": {"post": {
                "operationId": "create_list",
                "requestBody": {"content": {"application/vnd.api+json": {"schema": {"$ref": "#/components/schemas/ListCreateQuery"}}}},
                "responses": {"201": {"content": {"application/vnd.api+json": {"schema": {"$ref": "#/components/schemas/PostListResponse"}}}}, "4XX": {}}
            }}},
            "components": {"schemas": {
                "ListCreateQuery": {"type": "object", "description": "dropped", "properties": {"data": {"$ref": "#/components/schemas/ListEnum", "example": "x"}}, "required": ["data"]},
                "PostListResponse": {"type": "object", "properties": {}},
                "ListEnum": {"type": "string", "enum": ["list"]},
                "Unused": {"type": "string"}
            }}
        });
        let text = render_shapes(&spec).unwrap();
        let table: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            table["operations"]["create_list"],
            json!({"request": "ListCreateQuery", "status": 201, "response": "PostListResponse"})
        );
        assert_eq!(
            table["schemas"]["ListCreateQuery"],
            json!({"type": "object", "properties": {"data": {"$ref": "ListEnum"}}, "required": ["data"]})
        );
        assert!(table["schemas"].get("Unused").is_none());
        assert!(table["schemas"].get("ListEnum").is_some());
    }
}
