//! `client.export(stream, ...)`: the core's `Export` as an Arrow C stream
//! (`__arrow_c_stream__`: pyarrow, polars, pandas and duckdb read its batches without a copy)
//! and as records (dicts), by `for` and `async for`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use arrow_array::ffi::FFI_ArrowSchema;
use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use pyo3::exceptions::{PyRuntimeError, PyStopAsyncIteration};
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyCapsule, PyDict};

use klaviyo_bridge::sync::schema::{Cell, Column};
use klaviyo_bridge::sync::{Export, ExportOptions, ExportReader};

use crate::convert::to_py;
use crate::errors::to_py_err;
use crate::pagination::Ready;
use crate::runtime::run;

/// One stream's records as they are read: `pyarrow.table(export)`, `polars.from_arrow(...)`,
/// `duckdb.from_arrow(...)`, or `for record in export` / `async for record in export`.
#[pyclass(module = "klaviyo_bridge._native", name = "Export")]
pub struct PyExport {
    /// `None` once handed to an Arrow consumer.
    inner: Arc<tokio::sync::Mutex<Option<Export>>>,
    buffer: Arc<Mutex<VecDeque<Py<PyAny>>>>,
    stream: &'static str,
    columns: &'static [Column],
    schema: arrow_schema::SchemaRef,
    bookmark: Arc<Mutex<Option<String>>>,
    asynchronous: bool,
}

impl PyExport {
    pub fn start(
        core: &klaviyo_bridge::Client,
        stream: &str,
        options: ExportOptions,
        asynchronous: bool,
    ) -> PyResult<Self> {
        // Started inside the core's runtime, whichever thread Python calls from.
        let export = {
            let _entered = klaviyo_bridge::runtime::runtime().enter();
            core.export(stream, options).map_err(to_py_err)?
        };
        Ok(PyExport {
            stream: export.stream(),
            columns: export.columns(),
            schema: export.schema(),
            inner: Arc::new(tokio::sync::Mutex::new(Some(export))),
            buffer: Arc::default(),
            bookmark: Arc::default(),
            asynchronous,
        })
    }

    /// The next page's rows, `None` at the end; keeps the bookmark once there.
    async fn next_rows(
        inner: Arc<tokio::sync::Mutex<Option<Export>>>,
        bookmark: Arc<Mutex<Option<String>>>,
    ) -> klaviyo_bridge::Result<Option<Vec<Vec<Cell>>>> {
        let mut guard = inner.lock().await;
        let Some(export) = guard.as_mut() else {
            return Err(klaviyo_bridge::Error::InvalidInput(
                "this export was handed to an Arrow reader: read the records from there".into(),
            ));
        };
        let rows = export.next_rows().await?;
        if rows.is_none() {
            *bookmark.lock().unwrap_or_else(|e| e.into_inner()) =
                export.bookmark().map(str::to_string);
        }
        Ok(rows)
    }

    fn buffered(&self) -> Option<Py<PyAny>> {
        self.buffer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }
}

/// The batches for the C stream interface. Each wait for a page releases the GIL: the
/// engine's log records take it, so a consumer holding it while it waits would deadlock. The
/// bookmark is kept once the end is reached, as record iteration keeps it.
struct GilFreeReader {
    inner: ExportReader,
    schema: arrow_schema::SchemaRef,
    bookmark: Arc<Mutex<Option<String>>>,
}

impl Iterator for GilFreeReader {
    type Item = Result<arrow_array::RecordBatch, arrow_schema::ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let inner = &mut self.inner;
        let next = Python::attach(|py| py.detach(|| inner.next()));
        if next.is_none() {
            *self.bookmark.lock().unwrap_or_else(|e| e.into_inner()) =
                self.inner.export().bookmark().map(str::to_string);
        }
        next
    }
}

impl arrow_array::RecordBatchReader for GilFreeReader {
    fn schema(&self) -> arrow_schema::SchemaRef {
        self.schema.clone()
    }
}

/// Rows as dicts: timestamps as aware `datetime`s (UTC, to the microsecond), JSON columns as
/// the objects they hold.
fn records<'py>(
    py: Python<'py>,
    columns: &[Column],
    rows: &[Vec<Cell>],
) -> PyResult<Vec<Py<PyAny>>> {
    let datetime = py.import("datetime")?;
    let epoch = datetime.getattr("datetime")?.call1((
        1970,
        1,
        1,
        0,
        0,
        0,
        0,
        datetime.getattr("timezone")?.getattr("utc")?,
    ))?;
    let timedelta = datetime.getattr("timedelta")?;
    let names: Vec<Bound<'py, PyAny>> = columns
        .iter()
        .map(|c| pyo3::types::PyString::intern(py, c.name).into_any())
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let record = PyDict::new(py);
        for (name, cell) in names.iter().zip(row) {
            let value: Py<PyAny> = match cell {
                Cell::Null => py.None(),
                Cell::Str(s) => s.into_pyobject(py)?.into_any().unbind(),
                Cell::Int(n) => n.into_pyobject(py)?.into_any().unbind(),
                Cell::Float(f) => f.into_pyobject(py)?.into_any().unbind(),
                Cell::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
                Cell::Timestamp(micros) => {
                    let delta =
                        timedelta.call((), Some(&[("microseconds", *micros)].into_py_dict(py)?))?;
                    epoch.call_method1("__add__", (delta,))?.unbind()
                }
                Cell::Json(text) => match serde_json::from_str(text) {
                    Ok(value) => to_py(py, &value)?,
                    Err(_) => text.into_pyobject(py)?.into_any().unbind(),
                },
            };
            record.set_item(name, value)?;
        }
        out.push(record.into_any().unbind());
    }
    Ok(out)
}

#[pymethods]
impl PyExport {
    /// The stream's name.
    #[getter]
    fn stream(&self) -> &'static str {
        self.stream
    }

    /// `[(name, kind), ...]`: kinds are string, integer, number, boolean, timestamp, json.
    #[getter]
    fn columns(&self) -> Vec<(&'static str, &'static str)> {
        self.columns
            .iter()
            .map(|c| (c.name, c.kind.name()))
            .collect()
    }

    /// The bookmark reached (ISO 8601) once the records have been read to the end, else None:
    /// pass it as `since=` to read only what changed after (a `state=` file keeps it for you).
    #[getter]
    fn bookmark(&self) -> Option<String> {
        self.bookmark
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The Arrow PyCapsule interface's schema (readers ask for it before the stream).
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let schema = FFI_ArrowSchema::try_from(self.schema.as_ref())
            .map_err(|e| PyRuntimeError::new_err(format!("the export's Arrow schema: {e}")))?;
        PyCapsule::new_with_value(py, schema, c"arrow_schema")
    }

    /// The Arrow C stream interface: the batches still to come, for pyarrow, polars, pandas or
    /// duckdb (once: the export is theirs after).
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        // The schema is the stream's own; a consumer asking for another casts after.
        let _ = requested_schema;
        let inner = self.inner.clone();
        let export = py
            .detach(|| inner.blocking_lock().take())
            .ok_or_else(|| {
                PyRuntimeError::new_err(
                    "this export was already handed to an Arrow reader: start another with client.export(...)",
                )
            })?;
        let reader = FFI_ArrowArrayStream::new(Box::new(GilFreeReader {
            schema: export.schema(),
            inner: export.into_reader(),
            bookmark: self.bookmark.clone(),
        }));
        // The capsule points at the struct itself, as the protocol asks; pyarrow moves it out and
        // marks it released, so dropping it with the capsule is then a no-op.
        PyCapsule::new_with_value(py, reader, c"arrow_array_stream")
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        loop {
            if let Some(record) = self.buffered() {
                return Ok(Some(record));
            }
            let (inner, bookmark) = (self.inner.clone(), self.bookmark.clone());
            let rows = py
                .detach(|| {
                    klaviyo_bridge::runtime::runtime().block_on(Self::next_rows(inner, bookmark))
                })
                .map_err(to_py_err)?;
            let Some(rows) = rows else {
                return Ok(None);
            };
            let made = records(py, self.columns, &rows)?;
            self.buffer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(made);
        }
    }

    fn __aiter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        if let Some(record) = self.buffered() {
            return Ok(Py::new(py, Ready::new(record))?.into_any());
        }
        let (inner, bookmark) = (self.inner.clone(), self.bookmark.clone());
        let (buffer, columns) = (self.buffer.clone(), self.columns);
        run(
            py,
            true,
            async move {
                // Pages whose rows were all cut (outside the slice) come empty: skip them.
                loop {
                    match Self::next_rows(inner.clone(), bookmark.clone()).await? {
                        Some(rows) if rows.is_empty() => continue,
                        other => return Ok(other),
                    }
                }
            },
            move |py, rows| {
                let Some(rows) = rows else {
                    // Another `anext` may have buffered the last page's rows meanwhile.
                    return buffer
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .pop_front()
                        .ok_or_else(|| PyStopAsyncIteration::new_err(()));
                };
                let mut made: VecDeque<Py<PyAny>> = records(py, columns, &rows)?.into();
                let first = made
                    .pop_front()
                    .ok_or_else(|| PyStopAsyncIteration::new_err(()))?;
                buffer
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(made);
                Ok(first)
            },
        )
    }

    fn __repr__(&self) -> String {
        format!(
            "<Export {}{}>",
            self.stream,
            if self.asynchronous { " (async)" } else { "" }
        )
    }
}
