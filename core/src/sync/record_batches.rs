//! A stream's rows as Arrow: its schema and record batches, for the Parquet writer and for
//! exports read by Arrow-speaking code (pyarrow, polars, duckdb, apache-arrow).

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

use super::schema::{Cell, Column, ColumnKind};
use crate::error::{Error, Result};

/// The Arrow schema of a stream: timestamps in microseconds, UTC; JSON columns as text,
/// marked `{"format": "json"}` in the field's metadata.
pub fn arrow_schema(columns: &[Column]) -> Schema {
    Schema::new(
        columns
            .iter()
            .map(|c| {
                let data_type = match c.kind {
                    ColumnKind::Str | ColumnKind::Json => DataType::Utf8,
                    ColumnKind::Int => DataType::Int64,
                    ColumnKind::Float => DataType::Float64,
                    ColumnKind::Bool => DataType::Boolean,
                    ColumnKind::Timestamp => {
                        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
                    }
                };
                let field = Field::new(c.name, data_type, c.name != "id");
                if c.kind == ColumnKind::Json {
                    field.with_metadata(std::collections::HashMap::from([(
                        "format".to_string(),
                        "json".to_string(),
                    )]))
                } else {
                    field
                }
            })
            .collect::<Vec<_>>(),
    )
}

/// Rows as an Arrow record batch of `schema`.
pub fn record_batch(
    schema: &Arc<Schema>,
    columns: &[Column],
    rows: &[Vec<Cell>],
) -> Result<RecordBatch> {
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .enumerate()
        .map(|(i, column)| -> ArrayRef {
            let cells = rows.iter().map(|r| &r[i]);
            match column.kind {
                ColumnKind::Str | ColumnKind::Json => {
                    let mut b = StringBuilder::with_capacity(rows.len(), rows.len() * 16);
                    for cell in cells {
                        match cell {
                            Cell::Str(s) | Cell::Json(s) => b.append_value(s),
                            _ => b.append_null(),
                        }
                    }
                    Arc::new(b.finish())
                }
                ColumnKind::Int => {
                    let mut b = Int64Builder::with_capacity(rows.len());
                    cells.for_each(|c| {
                        b.append_option(if let Cell::Int(n) = c { Some(*n) } else { None })
                    });
                    Arc::new(b.finish())
                }
                ColumnKind::Float => {
                    let mut b = Float64Builder::with_capacity(rows.len());
                    cells.for_each(|c| {
                        b.append_option(match c {
                            Cell::Float(n) => Some(*n),
                            Cell::Int(n) => Some(*n as f64),
                            _ => None,
                        })
                    });
                    Arc::new(b.finish())
                }
                ColumnKind::Bool => {
                    let mut b = BooleanBuilder::with_capacity(rows.len());
                    cells.for_each(|c| {
                        b.append_option(if let Cell::Bool(v) = c {
                            Some(*v)
                        } else {
                            None
                        })
                    });
                    Arc::new(b.finish())
                }
                ColumnKind::Timestamp => {
                    let mut b =
                        TimestampMicrosecondBuilder::with_capacity(rows.len()).with_timezone("UTC");
                    cells.for_each(|c| {
                        b.append_option(if let Cell::Timestamp(t) = c {
                            Some(*t)
                        } else {
                            None
                        })
                    });
                    Arc::new(b.finish())
                }
            }
        })
        .collect();
    RecordBatch::try_new(schema.clone(), arrays)
        .map_err(|e| Error::InvalidInput(format!("building a record batch: {e}")))
}
