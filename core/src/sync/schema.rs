//! A stream's typed columns (from the spec, `columns.rs`) and a resource as one row of them.

use std::time::UNIX_EPOCH;

use serde_json::Value;

use crate::resource::Resource;
use crate::time::parse_iso8601;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Text.
    Str,
    /// A 64-bit integer.
    Int,
    /// A 64-bit float.
    Float,
    /// A boolean.
    Bool,
    /// A UTC instant, to the microsecond.
    Timestamp,
    /// Any JSON (nested objects, lists, custom properties), kept whole as its text.
    Json,
}

impl ColumnKind {
    /// The name the documentation and the manifest use.
    pub fn name(self) -> &'static str {
        match self {
            ColumnKind::Str => "string",
            ColumnKind::Int => "integer",
            ColumnKind::Float => "number",
            ColumnKind::Bool => "boolean",
            ColumnKind::Timestamp => "timestamp",
            ColumnKind::Json => "json",
        }
    }
}

/// Where in a resource a column's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The resource's id.
    Id,
    /// `attributes.<name>`.
    Attribute(&'static str),
    /// `relationships.<name>.data.id` (a to-one relationship).
    Relationship(&'static str),
    /// The id of the parent record a child stream's record was read under.
    Parent,
    /// The whole resource, as the API sent it (JSON): for a reader with columns of its own.
    Whole,
}

/// One column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The column's name (the attribute's, or `<relationship>_id`).
    pub name: &'static str,
    /// Where its value comes from.
    pub source: Source,
    /// What it holds.
    pub kind: ColumnKind,
}

/// One column holding each record whole ([`Source::Whole`]): what a sync writes with
/// [`SyncOptions::whole_resources`](super::SyncOptions::whole_resources).
pub static WHOLE_RESOURCE: [Column; 1] = [Column {
    name: "resource",
    source: Source::Whole,
    kind: ColumnKind::Json,
}];

/// The columns of an operation that lists resources.
pub fn columns_of(operation_id: &str) -> Option<&'static [Column]> {
    super::columns::COLUMNS
        .binary_search_by(|(id, _)| (*id).cmp(operation_id))
        .ok()
        .map(|i| super::columns::COLUMNS[i].1)
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// Text.
    Str(String),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// Microseconds since the epoch, UTC.
    Timestamp(i64),
    /// JSON text.
    Json(String),
}

impl Cell {
    /// The cell as JSON (JSON columns as the value they hold; timestamps as ISO 8601).
    pub fn to_json(&self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Str(s) => Value::from(s.as_str()),
            Cell::Int(n) => Value::from(*n),
            Cell::Float(n) => Value::from(*n),
            Cell::Bool(b) => Value::from(*b),
            Cell::Timestamp(micros) => Value::from(format_micros(*micros)),
            Cell::Json(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        }
    }
}

/// `2025-01-01T03:19:46.000000Z`.
pub fn format_micros(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let base = crate::time::format_iso8601(
        UNIX_EPOCH + std::time::Duration::from_secs(seconds.max(0) as u64),
    );
    // format_iso8601 ends in `+00:00`; the fraction goes before the zone.
    format!("{}.{fraction:06}Z", base.trim_end_matches("+00:00"))
}

/// Microseconds since the epoch of an ISO 8601 instant.
pub fn parse_micros(text: &str) -> Option<i64> {
    let time = parse_iso8601(text)?;
    let since = time.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(since.as_micros()).ok()
}

fn cell(value: Option<&Value>, kind: ColumnKind) -> Cell {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Cell::Null;
    };
    match (kind, value) {
        (ColumnKind::Str, Value::String(s)) => Cell::Str(s.clone()),
        (ColumnKind::Int, Value::Number(n)) if n.as_i64().is_some() => {
            Cell::Int(n.as_i64().unwrap_or_default())
        }
        (ColumnKind::Float, Value::Number(n)) => Cell::Float(n.as_f64().unwrap_or_default()),
        (ColumnKind::Bool, Value::Bool(b)) => Cell::Bool(*b),
        (ColumnKind::Timestamp, Value::String(s)) => {
            parse_micros(s).map_or(Cell::Null, Cell::Timestamp)
        }
        // A value that does not fit its declared type (a new shape of the API) is kept whole
        // as text rather than dropped.
        (ColumnKind::Json, v) => Cell::Json(v.to_string()),
        (ColumnKind::Str, v) => Cell::Str(v.to_string()),
        _ => Cell::Null,
    }
}

/// A resource as a row of `columns`.
pub fn row(resource: &Resource, columns: &[Column], parent: Option<&str>) -> Vec<Cell> {
    columns
        .iter()
        .map(|column| match column.source {
            Source::Id => resource
                .id()
                .map_or(Cell::Null, |id| Cell::Str(id.to_string())),
            Source::Attribute(name) => cell(resource.attr(name), column.kind),
            Source::Relationship(name) => cell(
                resource
                    .relationships()
                    .and_then(|r| r.get(name))
                    .and_then(|r| r.get("data"))
                    .and_then(|d| d.get("id")),
                column.kind,
            ),
            Source::Parent => parent.map_or(Cell::Null, |id| Cell::Str(id.to_string())),
            Source::Whole => Cell::Json(resource.raw().to_string()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_resource_has_typed_columns_from_the_spec() {
        let events = columns_of("get_events").expect("get_events lists events");
        let kind = |name: &str| events.iter().find(|c| c.name == name).map(|c| c.kind);
        assert_eq!(kind("datetime"), Some(ColumnKind::Timestamp));
        assert_eq!(kind("timestamp"), Some(ColumnKind::Int));
        assert_eq!(kind("event_properties"), Some(ColumnKind::Json));
        assert_eq!(kind("metric_id"), Some(ColumnKind::Str));
        assert_eq!(kind("profile_id"), Some(ColumnKind::Str));
        assert!(
            columns_of("get_profile").is_none(),
            "one resource is not a listing"
        );
    }

    #[test]
    fn a_resource_becomes_a_typed_row() {
        let columns = columns_of("get_events").unwrap();
        let resource = Resource::new(serde_json::json!({
            "type": "event", "id": "E1",
            "attributes": {"timestamp": 1735701586, "datetime": "2025-01-01T03:19:46+00:00", "event_properties": {"a": 1}},
            "relationships": {"metric": {"data": {"type": "metric", "id": "M1"}}}
        }));
        let row = row(&resource, columns, None);
        let at = |name: &str| row[columns.iter().position(|c| c.name == name).unwrap()].clone();
        assert_eq!(at("id"), Cell::Str("E1".into()));
        assert_eq!(at("timestamp"), Cell::Int(1735701586));
        assert_eq!(at("datetime"), Cell::Timestamp(1_735_701_586_000_000));
        assert_eq!(at("event_properties"), Cell::Json("{\"a\":1}".into()));
        assert_eq!(at("metric_id"), Cell::Str("M1".into()));
        assert_eq!(at("profile_id"), Cell::Null);
        assert_eq!(
            format_micros(1_735_701_586_000_000),
            "2025-01-01T03:19:46.000000Z"
        );
    }
}
