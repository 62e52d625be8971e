//! `events`: record one event or many, read and list them. Each method maps Python arguments to the core's
//! types, calls the core, and converts the result (mirrors the core's `resources::events`).

use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::json;

use klaviyo_bridge::Client;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::profiles::ProfileRef;

use super::{cursor, identity, list_params, one};
use crate::convert::{from_py, object_arg, serialized};
use crate::errors::to_py_err;
use crate::pagination::PageCursor;
use crate::runtime::run;

/// `events`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Events {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl Events {
    /// Records one event; returns `{"unique_id": …}` (the API answers 202).
    #[pyo3(signature = (*, metric, email=None, phone_number=None, external_id=None, profile_id=None, properties=None, value=None, value_currency=None, time=None, unique_id=None))]
    #[allow(clippy::too_many_arguments)]
    fn create(
        &self,
        py: Python<'_>,
        metric: String,
        email: Option<String>,
        phone_number: Option<String>,
        external_id: Option<String>,
        profile_id: Option<String>,
        properties: Option<Bound<'_, PyAny>>,
        value: Option<f64>,
        value_currency: Option<String>,
        time: Option<Bound<'_, PyAny>>,
        unique_id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let event = event_create(
            metric,
            identity(email, phone_number, external_id, profile_id),
            properties.as_ref(),
            value,
            value_currency,
            time.as_ref(),
            unique_id,
        )?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.events().create(event).await },
            |py, receipt| serialized(py, &json!({"unique_id": receipt.unique_id})),
        )
    }

    /// Records many events in bulk jobs (1,000 events / 5 MB each). Each item is a dict with
    /// the same keys as `create`. Returns a report; a failure raises BulkPartialError.
    fn bulk_create(&self, py: Python<'_>, events: Vec<Bound<'_, PyDict>>) -> PyResult<Py<PyAny>> {
        let events = events
            .iter()
            .map(event_from_dict)
            .collect::<PyResult<Vec<_>>>()?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.events().bulk_create(events).await },
            |py, report| serialized(py, &report),
        )
    }

    /// One event by id.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.events().get(&id).await },
            one,
        )
    }

    /// Events (filter on metric_id, profile_id, datetime…).
    #[pyo3(signature = (**options), text_signature = "($self, *, filter=None, sort=None, fields=None, include=None, page_size=None, max_items=None, max_pages=None, cursor=None, timeout=None)")]
    fn list(&self, options: Option<Bound<'_, PyDict>>) -> PyResult<PageCursor> {
        let params = list_params(options.as_ref())?;
        cursor(self.core.events().list(params), self.asynchronous)
    }
}

/// An event from `create`'s (and `track`'s) keyword arguments; `time` may be a datetime.
pub fn event_create(
    metric: String,
    profile: ProfileRef,
    properties: Option<&Bound<'_, PyAny>>,
    value: Option<f64>,
    value_currency: Option<String>,
    time: Option<&Bound<'_, PyAny>>,
    unique_id: Option<String>,
) -> PyResult<EventCreate> {
    Ok(EventCreate {
        metric,
        profile,
        properties: object_arg(properties, "properties")?,
        value,
        value_currency,
        time: time
            .map(from_py)
            .transpose()?
            .and_then(|t| t.as_str().map(str::to_string)),
        unique_id,
    })
}

/// An event from a dict with `create`'s keys.
pub fn event_from_dict(dict: &Bound<'_, PyDict>) -> PyResult<EventCreate> {
    klaviyo_bridge::arguments::event(from_py(dict.as_any())?).map_err(to_py_err)
}
