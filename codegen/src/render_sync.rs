//! The warehouse sync's column table, `core/src/sync/columns.rs`: for every operation that
//! lists resources (a GET whose `data` is an array), the typed columns of one row, derived from
//! the response schema: `id`, each attribute (a date-time as a timestamp, integers, numbers,
//! booleans and strings as themselves, anything nested or free-form as JSON kept whole), and
//! `<name>_id` for each to-one relationship (an event's `metric_id` and `profile_id`).

use std::fmt::Write as _;

use serde_json::{Map, Value};

use crate::model::{Op, generated_header};

pub const SYNC_COLUMNS_PATH: &str = "core/src/sync/columns.rs";

struct Resolver<'a> {
    schemas: &'a Map<String, Value>,
}

impl<'a> Resolver<'a> {
    fn resolve(&self, mut schema: &'a Value) -> &'a Value {
        while let Some(name) = schema["$ref"].as_str() {
            let name = name.rsplit('/').next().unwrap_or_default();
            match self.schemas.get(name) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    /// An object's properties, its allOf parts' included, in order (a name the parts share
    /// is listed once per part: each may declare some of a nested object's properties).
    fn all_properties(&self, schema: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
        let schema = self.resolve(schema);
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            out.push((name.as_str(), property));
        }
        for part in schema["allOf"].as_array().into_iter().flatten() {
            self.all_properties(part, out);
        }
    }

    /// The same, each name once (its first declaration).
    fn properties(&self, schema: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
        let mut all = Vec::new();
        self.all_properties(schema, &mut all);
        for (name, property) in all {
            if !out.iter().any(|(n, _)| *n == name) {
                out.push((name, property));
            }
        }
    }

    /// The properties of every declaration of `member` in an object's parts, merged.
    fn member_properties(
        &self,
        item: &[(&'a str, &'a Value)],
        member: &str,
    ) -> Vec<(&'a str, &'a Value)> {
        let mut out = Vec::new();
        for (_, declaration) in item.iter().filter(|(n, _)| *n == member) {
            self.properties(declaration, &mut out);
        }
        out
    }

    /// The column kind of an attribute.
    fn kind(&self, schema: &Value) -> &'static str {
        let schema = self.resolve(schema);
        if schema.get("allOf").is_some() {
            if let Some([only]) = schema["allOf"].as_array().map(Vec::as_slice) {
                return self.kind(only);
            }
            return "Json";
        }
        match schema["type"].as_str() {
            Some("string") if schema["format"] == "date-time" => "Timestamp",
            Some("string") => "Str",
            Some("integer") => "Int",
            Some("number") => "Float",
            Some("boolean") => "Bool",
            _ => "Json",
        }
    }
}

/// The columns of one listed resource, or None when the operation does not list resources.
fn columns(
    resolver: &Resolver<'_>,
    spec: &Value,
    op: &Op,
) -> Option<Vec<(String, String, &'static str)>> {
    if op.method != "get" {
        return None;
    }
    let response = spec["components"]["schemas"].get(op.response.as_deref()?)?;
    let mut top = Vec::new();
    resolver.properties(response, &mut top);
    let data = resolver.resolve(top.iter().find(|(n, _)| *n == "data")?.1);
    if data["type"] != "array" {
        return None;
    }
    let mut item = Vec::new();
    resolver.all_properties(&data["items"], &mut item);
    let mut out = vec![("id".to_string(), "Id".to_string(), "Str")];
    for (name, property) in resolver.member_properties(&item, "attributes") {
        out.push((
            name.to_string(),
            format!("Attribute({name:?})"),
            resolver.kind(property),
        ));
    }
    {
        for (name, relationship) in resolver.member_properties(&item, "relationships") {
            let mut parts = Vec::new();
            resolver.properties(relationship, &mut parts);
            let to_one = parts
                .iter()
                .find(|(n, _)| *n == "data")
                .is_some_and(|(_, d)| resolver.resolve(d)["type"] == "object");
            let column = format!("{}_id", name.replace('-', "_"));
            if to_one && !out.iter().any(|(n, _, _)| *n == column) {
                out.push((column, format!("Relationship({name:?})"), "Str"));
            }
        }
    }
    Some(out)
}

pub fn render_sync_columns(spec: &Value, ops: &[Op], revision: &str) -> Result<String, String> {
    let schemas = spec["components"]["schemas"]
        .as_object()
        .ok_or("spec has no components.schemas")?;
    let resolver = Resolver { schemas };
    let mut out = generated_header("//", revision);
    out.push_str(
        "//! The columns of every operation that lists resources, from its response schema.\n\n\
         use super::schema::{Column, ColumnKind::*, Source::*};\n\n\
         /// (operation id, its columns), sorted by operation id.\n\
         pub static COLUMNS: &[(&str, &[Column])] = &[\n",
    );
    for op in ops {
        let Some(columns) = columns(&resolver, spec, op) else {
            continue;
        };
        let _ = writeln!(out, "    ({:?}, &[", op.id);
        for (name, source, kind) in columns {
            let _ = writeln!(
                out,
                "        Column {{ name: {name:?}, source: {source}, kind: {kind} }},"
            );
        }
        let _ = writeln!(out, "    ]),");
    }
    out.push_str("];\n");
    // The daily metric aggregates' measurements: each one a column.
    let measurements: Vec<String> = schemas
        .get("MetricAggregateQueryResourceObject")
        .and_then(|s| {
            s["properties"]["attributes"]["properties"]["measurements"]["items"]["enum"].as_array()
        })
        .ok_or("spec has no metric aggregate measurements")?
        .iter()
        .filter_map(|m| m.as_str().map(|m| format!("{m:?}")))
        .collect();
    let _ = writeln!(
        out,
        "\n/// What `query_metric_aggregates` measures.\npub static METRIC_AGGREGATE_MEASUREMENTS: &[&str] = &[{}];",
        measurements.join(", ")
    );
    render_message_reports(&resolver, ops, &mut out);
    Ok(out)
}

/// The message reports (campaign and flow values and series): each POST whose body asks for
/// `statistics` grouped `group_by`, with the request's `type` and both lists' allowed values.
fn render_message_reports(resolver: &Resolver<'_>, ops: &[Op], out: &mut String) {
    let enum_of = |schema: &Value| -> Vec<String> {
        resolver.resolve(&resolver.resolve(schema)["items"])["enum"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(|v| format!("{v:?}")))
            .collect()
    };
    out.push_str(
        "\n/// The message reports: (operation id, the request's `type`, the statistics it can \
         ask for, the groupings it allows), sorted by operation id.\n\
         pub static MESSAGE_REPORTS: &[(&str, &str, &[&str], &[&str])] = &[\n",
    );
    for op in ops.iter().filter(|op| op.method == "post") {
        let Some(body) = op.body.as_deref().and_then(|b| resolver.schemas.get(b)) else {
            continue;
        };
        let data = resolver.resolve(&resolver.resolve(body)["properties"]["data"]);
        let attributes = &resolver.resolve(&data["properties"]["attributes"])["properties"];
        let (statistics, group_by) = (
            enum_of(&attributes["statistics"]),
            enum_of(&attributes["group_by"]),
        );
        let report_type = resolver.resolve(&data["properties"]["type"])["enum"][0].as_str();
        let (Some(report_type), false, false) =
            (report_type, statistics.is_empty(), group_by.is_empty())
        else {
            continue;
        };
        let _ = writeln!(
            out,
            "    ({:?}, {report_type:?}, &[{}], &[{}]),",
            op.id,
            statistics.join(", "),
            group_by.join(", ")
        );
    }
    out.push_str("];\n");
}
