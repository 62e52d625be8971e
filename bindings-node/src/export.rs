//! `client.export(stream, options)`: the core's `Export` for JS, a page at a time: records as
//! JSON text (for `JSON.parse`; the JS layer makes Dates of the timestamp columns) or pieces
//! of one Arrow IPC stream (for `apache-arrow`).

use std::sync::Arc;

use napi::bindgen_prelude::Buffer;
use napi_derive::napi;
use serde_json::{Map, Value};

use klaviyo_bridge::sync::{Export, ExportOptions};

use crate::errors::{js_error, usage};

#[napi(object)]
pub struct ExportArgs {
    /// ISO 8601: where to start when there is no bookmark.
    pub since: Option<String>,
    /// A state file keeping the bookmark.
    pub state: Option<String>,
    pub concurrency: Option<u32>,
    /// Seconds behind now where the export stops.
    pub safety_margin: Option<f64>,
    /// The metric id campaign and flow reports count conversions of.
    pub conversion_metric: Option<String>,
    /// Seconds a report stream re-reads before its bookmark.
    pub lookback: Option<f64>,
    /// Seconds the events stream re-reads before its bookmark.
    pub events_lookback: Option<f64>,
}

#[napi(object)]
pub struct ExportColumn {
    pub name: String,
    /// string, integer, number, boolean, timestamp or json.
    pub kind: String,
}

pub fn start(
    core: &klaviyo_bridge::Client,
    stream: &str,
    args: Option<ExportArgs>,
) -> napi::Result<NativeExport> {
    let args = args.unwrap_or(ExportArgs {
        since: None,
        state: None,
        concurrency: None,
        safety_margin: None,
        conversion_metric: None,
        lookback: None,
        events_lookback: None,
    });
    let since = args
        .since
        .map(|text| {
            klaviyo_bridge::time::parse_iso8601(&text).ok_or_else(|| {
                usage(format!(
                    "since {text:?} is not an ISO 8601 time such as 2025-01-01T00:00:00Z"
                ))
            })
        })
        .transpose()?;
    let seconds = |option: &str, value: Option<f64>| {
        value
            .map(|s| klaviyo_bridge::time::seconds(option, s).map_err(js_error))
            .transpose()
    };
    let options = ExportOptions {
        since,
        state: args.state.map(Into::into),
        concurrency: args.concurrency.map(|n| n as usize),
        safety_margin: seconds("safetyMargin", args.safety_margin)?,
        conversion_metric: args.conversion_metric,
        lookback: seconds("lookback", args.lookback)?,
        events_lookback: seconds("eventsLookback", args.events_lookback)?,
    };
    let export = {
        let _entered = klaviyo_bridge::runtime::runtime().enter();
        core.export(stream, options).map_err(js_error)?
    };
    Ok(NativeExport {
        stream: export.stream(),
        columns: export
            .columns()
            .iter()
            .map(|c| (c.name, c.kind.name()))
            .collect(),
        inner: Arc::new(tokio::sync::Mutex::new(Some(export))),
    })
}

/// One stream's records as they are read.
#[napi]
pub struct NativeExport {
    /// `None` once closed.
    inner: Arc<tokio::sync::Mutex<Option<Export>>>,
    stream: &'static str,
    columns: Vec<(&'static str, &'static str)>,
}

#[napi]
impl NativeExport {
    #[napi(getter)]
    pub fn stream(&self) -> &'static str {
        self.stream
    }

    #[napi(getter)]
    pub fn columns(&self) -> Vec<ExportColumn> {
        self.columns
            .iter()
            .map(|(name, kind)| ExportColumn {
                name: name.to_string(),
                kind: kind.to_string(),
            })
            .collect()
    }

    /// The bookmark reached, once read to the end (null before, or while a read is waiting).
    #[napi(getter)]
    pub fn bookmark(&self) -> Option<String> {
        self.inner
            .try_lock()
            .ok()
            .and_then(|e| e.as_ref().and_then(|e| e.bookmark()).map(str::to_string))
    }

    /// The next page's records as a JSON array, or null at the end.
    #[napi]
    pub async fn next_records_raw(&self) -> napi::Result<Option<Buffer>> {
        let inner = self.inner.clone();
        let mut guard = inner.lock().await;
        let Some(export) = guard.as_mut() else {
            return Ok(None);
        };
        let Some(rows) = export.next_rows().await.map_err(js_error)? else {
            return Ok(None);
        };
        let columns = export.columns();
        let records: Vec<Value> = rows
            .iter()
            .map(|row| {
                Value::Object(
                    columns
                        .iter()
                        .zip(row)
                        .map(|(column, cell)| (column.name.to_string(), cell.to_json()))
                        .collect::<Map<String, Value>>(),
                )
            })
            .collect();
        serde_json::to_vec(&records)
            .map(|bytes| Some(Buffer::from(bytes)))
            .map_err(|e| usage(format!("encoding records: {e}")))
    }

    /// Stops the reading and releases the state file's lock now, not when collected (a loop
    /// left early). The bookmark stays where it was unless the end was read.
    #[napi]
    pub async fn close(&self) {
        let inner = self.inner.clone();
        let mut guard = inner.lock().await;
        if guard.as_ref().is_some_and(|e| e.bookmark().is_none()) {
            *guard = None;
        }
    }

    /// The next piece of the Arrow IPC stream, or null after the last.
    #[napi]
    pub async fn next_ipc(&self) -> napi::Result<Option<Buffer>> {
        let inner = self.inner.clone();
        let mut guard = inner.lock().await;
        let Some(export) = guard.as_mut() else {
            return Ok(None);
        };
        Ok(export.next_ipc().await.map_err(js_error)?.map(Buffer::from))
    }
}
