//! The Singer protocol (a tap's output): SCHEMA before a stream's records, RECORD per record,
//! STATE after each slice is complete. The STATE's value is the sync's state, so a tap
//! started with the last STATE a target echoed (`--state`) resumes where it stopped: at least
//! once, as Singer taps are (a slice cut short is sent again; targets upsert by
//! `key_properties`). A stream's slices are read concurrently, so their RECORDs interleave;
//! each line is whole.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use super::schema::{Cell, Column, ColumnKind, format_micros};
use super::state::{State, StreamState};
use super::streams::{STREAMS, Stream};
use super::{Destination, PartWriter, SliceId};
use crate::auth::BoxFuture;
use crate::error::{Error, Result};

/// A column's JSON Schema: nullable, date-times as strings of that format, JSON as anything.
fn column_schema(column: &Column) -> Value {
    if column.name == "id" {
        return json!({"type": "string"});
    }
    match column.kind {
        ColumnKind::Str => json!({"type": ["null", "string"]}),
        ColumnKind::Int => json!({"type": ["null", "integer"]}),
        ColumnKind::Float => json!({"type": ["null", "number"]}),
        ColumnKind::Bool => json!({"type": ["null", "boolean"]}),
        ColumnKind::Timestamp => json!({"type": ["null", "string"], "format": "date-time"}),
        ColumnKind::Json => json!({}),
    }
}

/// A stream's JSON Schema.
pub fn stream_schema(columns: &[Column]) -> Value {
    let properties: Map<String, Value> = columns
        .iter()
        .map(|c| (c.name.to_string(), column_schema(c)))
        .collect();
    json!({"type": "object", "properties": properties, "required": ["id"]})
}

/// The SCHEMA message of a stream.
fn schema_message(stream: &Stream, columns: &[Column]) -> Value {
    let mut message = json!({"type": "SCHEMA", "stream": stream.name, "schema": stream_schema(columns), "key_properties": stream.key_columns});
    if let Some(key) = stream.key {
        message["bookmark_properties"] = json!([key]);
    }
    message
}

/// The catalog `--discover` prints: every stream, its schema and metadata.
pub fn catalog() -> Value {
    let streams: Vec<Value> = STREAMS
        .iter()
        .filter_map(|stream| {
            let columns = stream.columns()?;
            let mut metadata = vec![json!({"breadcrumb": [], "metadata": {
                "table-key-properties": stream.key_columns,
                "forced-replication-method": if stream.key.is_some() { "INCREMENTAL" } else { "FULL_TABLE" },
                "valid-replication-keys": stream.key.map_or(json!([]), |k| json!([k])),
                "inclusion": "available",
                "selected-by-default": false,
            }})];
            metadata.extend(columns.iter().map(|c| {
                json!({"breadcrumb": ["properties", c.name], "metadata": {"inclusion": if c.name == "id" { "automatic" } else { "available" }}})
            }));
            Some(json!({"tap_stream_id": stream.name, "stream": stream.name, "schema": stream_schema(columns), "metadata": metadata}))
        })
        .collect();
    json!({"streams": streams})
}

/// The streams a Singer catalog selects (`selected: true` on the stream's own metadata).
pub fn selected_streams(catalog: &Value) -> Result<Vec<String>> {
    let streams = catalog["streams"].as_array().ok_or_else(|| {
        Error::InvalidInput(
            "the catalog has no \"streams\" list (write one with --discover)".into(),
        )
    })?;
    Ok(streams
        .iter()
        .filter(|s| {
            s["metadata"].as_array().into_iter().flatten().any(|m| {
                m["breadcrumb"].as_array().is_some_and(Vec::is_empty)
                    && m["metadata"]["selected"] == true
            })
        })
        .filter_map(|s| s["tap_stream_id"].as_str().map(str::to_string))
        .collect())
}

/// Singer messages to a writer (a tap's stdout).
pub struct SingerOutput {
    inner: Arc<Messages>,
}

/// The writer, shared by the slices' parts, and the state each STATE message carries.
struct Messages {
    out: Mutex<Box<dyn Write + Send>>,
    state: Mutex<State>,
    schemas_sent: Mutex<HashSet<&'static str>>,
}

impl SingerOutput {
    /// Messages to `out`; `state` is the value of the last STATE a target echoed (or none).
    pub fn new(out: Box<dyn Write + Send>, state: Option<Value>) -> Result<Self> {
        let state = match state {
            Some(value) => serde_json::from_value(value).map_err(|e| {
                Error::InvalidInput(format!("the Singer state is not this tap's state ({e})"))
            })?,
            None => State::default(),
        };
        Ok(SingerOutput {
            inner: Arc::new(Messages {
                out: Mutex::new(out),
                state: Mutex::new(state),
                schemas_sent: Mutex::new(HashSet::new()),
            }),
        })
    }
}

impl Messages {
    fn emit(&self, lines: &[Value]) -> Result<()> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        for line in lines {
            writeln!(out, "{line}")
                .map_err(|e| Error::Config(format!("cannot write Singer output: {e}")))?;
        }
        out.flush()
            .map_err(|e| Error::Config(format!("cannot write Singer output: {e}")))
    }

    fn emit_state(&self) -> Result<()> {
        let value = serde_json::to_value(&*self.state.lock().unwrap_or_else(|e| e.into_inner()))
            .unwrap_or_default();
        self.emit(&[json!({"type": "STATE", "value": value})])
    }
}

impl Destination for SingerOutput {
    fn load(&self) -> BoxFuture<'_, Result<State>> {
        Box::pin(async move {
            Ok(self
                .inner
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone())
        })
    }

    fn save_stream<'a>(
        &'a self,
        stream: &'a str,
        state: &'a StreamState,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let messages = &self.inner;
            if let Some(definition) = STREAMS.iter().find(|s| s.name == stream) {
                let first = messages
                    .schemas_sent
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(definition.name);
                if first {
                    let columns = definition.columns().unwrap_or_default();
                    messages.emit(&[schema_message(definition, columns)])?;
                }
            }
            messages
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .streams
                .insert(stream.to_string(), state.clone());
            messages.emit_state()
        })
    }

    fn part<'a>(
        &'a self,
        slice: &'a SliceId,
        columns: &'static [Column],
    ) -> BoxFuture<'a, Result<Box<dyn PartWriter>>> {
        Box::pin(async move {
            Ok(Box::new(SingerPart {
                messages: self.inner.clone(),
                stream: slice.stream,
                columns,
                rows: 0,
            }) as Box<dyn PartWriter>)
        })
    }

    fn finished<'a>(
        &'a self,
        slice: &'a SliceId,
        _: &'static [Column],
        _: u64,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            self.inner
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .mark_done(slice.stream, slice.index);
            self.inner.emit_state()
        })
    }
}

/// RECORD lines of one slice.
struct SingerPart {
    messages: Arc<Messages>,
    stream: &'static str,
    columns: &'static [Column],
    rows: u64,
}

impl PartWriter for SingerPart {
    fn write(&mut self, rows: Vec<Vec<Cell>>) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let extracted = format_micros(super::micros(std::time::SystemTime::now()));
            let lines: Vec<Value> = rows
                .iter()
                .map(|row| {
                    let record: Map<String, Value> = self.columns.iter().zip(row).map(|(c, v)| (c.name.to_string(), v.to_json())).collect();
                    json!({"type": "RECORD", "stream": self.stream, "record": record, "time_extracted": extracted})
                })
                .collect();
            self.rows += lines.len() as u64;
            self.messages.emit(&lines)
        })
    }

    fn finish(self: Box<Self>) -> BoxFuture<'static, Result<u64>> {
        let rows = self.rows;
        Box::pin(async move { Ok(rows) })
    }
}
