//! The core's request-schema table, `core/src/operations/request_schemas.json`: every schema a
//! request body reaches, reduced to the keywords that decide validity (as in the sandbox's
//! shape table). The core checks bodies against it before anything is sent.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::model::Op;
use crate::shapes::{compact, refs};

/// Where the request-schema table lives, relative to the workspace root.
pub const REQUEST_SCHEMAS_PATH: &str = "core/src/operations/request_schemas.json";

/// The names of every schema reachable from `roots`, with their compacted bodies.
pub fn reachable(
    spec: &Value,
    roots: impl IntoIterator<Item = String>,
) -> Result<BTreeMap<String, Value>, String> {
    let schemas = spec["components"]["schemas"]
        .as_object()
        .ok_or("spec has no components.schemas")?;
    let mut wanted: Vec<String> = roots.into_iter().collect();
    let mut seen = BTreeSet::new();
    let mut kept = BTreeMap::new();
    while let Some(name) = wanted.pop() {
        let name = name.rsplit('/').next().unwrap_or_default().to_string();
        if !seen.insert(name.clone()) {
            continue;
        }
        let schema = schemas
            .get(&name)
            .ok_or_else(|| format!("schema {name} is referenced but not defined"))?;
        refs(schema, &mut wanted);
        kept.insert(name, schema.clone());
    }
    Ok(kept)
}

/// Renders the table as JSON, one schema per line, sorted by name.
pub fn render_request_schemas(spec: &Value, ops: &[Op]) -> Result<String, String> {
    let kept = reachable(spec, ops.iter().filter_map(|op| op.body.clone()))?;
    let mut out = String::from("{\n");
    let last = kept.len().saturating_sub(1);
    for (i, (name, schema)) in kept.iter().enumerate() {
        out.push_str(&format!(
            "{}: {}{}\n",
            Value::from(name.as_str()),
            compact(schema),
            if i == last { "" } else { "," }
        ));
    }
    out.push_str("}\n");
    Ok(out)
}
