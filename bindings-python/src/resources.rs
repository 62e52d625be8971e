//! The resource namespaces (events, profiles, lists, metrics, catalog, webhooks, accounts,
//! data_privacy, jobs) and the `Resource` result type. Each method maps Python arguments to
//! the core's types, calls the core, and converts the result.

use pyo3::exceptions::{PyAttributeError, PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{Value, json};

use klaviyo_bridge::bulk::PollOptions;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::jobs::JobKind;
use klaviyo_bridge::metrics::AggregateQuery;
use klaviyo_bridge::profiles::{ProfileData, ProfileRef};
use klaviyo_bridge::webhooks::WebhookCreate;
use klaviyo_bridge::{Client, ListParams};

use crate::client::NativeClient;
use crate::convert::{from_py, object_arg, serialized, to_py};
use crate::errors::to_py_err;
use crate::pagination::PageCursor;
use crate::runtime::run;

/// A JSON:API resource: `id`, `type`, attributes by `r["name"]` or `r.name`, `relationships`,
/// and `raw` for the untouched object.
#[pyclass(module = "klaviyo_bridge._native", name = "Resource", frozen)]
pub struct PyResource {
    raw: Py<PyDict>,
}

impl PyResource {
    /// Wraps a resource dict.
    pub fn from_dict(raw: Bound<'_, PyDict>) -> Self {
        PyResource { raw: raw.unbind() }
    }

    fn attributes_dict<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyDict>> {
        self.raw
            .bind(py)
            .get_item("attributes")
            .ok()
            .flatten()
            .and_then(|a| a.cast_into::<PyDict>().ok())
    }
}

/// Wraps a resource object (as JSON) for Python.
pub fn resource(py: Python<'_>, value: &Value) -> PyResult<Py<PyAny>> {
    let raw = to_py(py, value)?
        .into_bound(py)
        .cast_into::<PyDict>()
        .map_err(|_| PyValueError::new_err("a resource must be a JSON object"))?;
    Ok(Py::new(py, PyResource { raw: raw.unbind() })?.into_any())
}

#[pymethods]
impl PyResource {
    #[new]
    fn new(raw: Bound<'_, PyDict>) -> Self {
        PyResource { raw: raw.unbind() }
    }

    #[getter]
    fn id(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self
            .raw
            .bind(py)
            .get_item("id")?
            .map_or_else(|| py.None(), Bound::unbind))
    }

    #[getter(r#type)]
    fn kind(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self
            .raw
            .bind(py)
            .get_item("type")?
            .map_or_else(|| py.None(), Bound::unbind))
    }

    #[getter]
    fn attributes(&self, py: Python<'_>) -> Py<PyDict> {
        self.attributes_dict(py)
            .unwrap_or_else(|| PyDict::new(py))
            .unbind()
    }

    #[getter]
    fn relationships(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self
            .raw
            .bind(py)
            .get_item("relationships")?
            .map_or_else(|| PyDict::new(py).into_any().unbind(), Bound::unbind))
    }

    #[getter]
    fn raw(&self, py: Python<'_>) -> Py<PyDict> {
        self.raw.clone_ref(py)
    }

    fn __getitem__(&self, py: Python<'_>, key: &str) -> PyResult<Py<PyAny>> {
        self.attributes_dict(py)
            .and_then(|a| a.get_item(key).ok().flatten())
            .map(Bound::unbind)
            .ok_or_else(|| PyKeyError::new_err(key.to_string()))
    }

    fn __getattr__(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        self.attributes_dict(py)
            .and_then(|a| a.get_item(name).ok().flatten())
            .map(Bound::unbind)
            .ok_or_else(|| {
                PyAttributeError::new_err(format!(
                    "this {} has no attribute {name:?}",
                    self.kind(py).map(|k| k.to_string()).unwrap_or_default()
                ))
            })
    }

    #[pyo3(signature = (key, default=None))]
    fn get(&self, py: Python<'_>, key: &str, default: Option<Py<PyAny>>) -> Py<PyAny> {
        self.attributes_dict(py)
            .and_then(|a| a.get_item(key).ok().flatten())
            .map(Bound::unbind)
            .or(default)
            .unwrap_or_else(|| py.None())
    }

    fn __contains__(&self, py: Python<'_>, key: &str) -> bool {
        self.attributes_dict(py)
            .is_some_and(|a| a.contains(key).unwrap_or(false))
    }

    fn keys(&self, py: Python<'_>) -> Py<PyList> {
        self.attributes_dict(py)
            .map_or_else(|| PyList::empty(py), |a| a.keys())
            .unbind()
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<PyResource>()
            .is_ok_and(|o| self.raw.bind(py).eq(o.get().raw.bind(py)).unwrap_or(false))
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Resource(type={}, id={})",
            self.kind(py).map(|k| k.to_string()).unwrap_or_default(),
            self.id(py).map(|k| k.to_string()).unwrap_or_default()
        )
    }
}

fn one(py: Python<'_>, r: klaviyo_bridge::Resource) -> PyResult<Py<PyAny>> {
    resource(py, r.raw())
}

fn many(py: Python<'_>, items: Vec<klaviyo_bridge::Resource>) -> PyResult<Py<PyAny>> {
    let list = PyList::empty(py);
    for item in items {
        list.append(resource(py, item.raw())?)?;
    }
    Ok(list.into_any().unbind())
}

fn none(py: Python<'_>, _: ()) -> PyResult<Py<PyAny>> {
    Ok(py.None())
}

/// `filter=, sort=, fields=, include=, page_size=, max_items=, max_pages=, cursor=, timeout=`
/// (checked by the core, which names what it takes).
pub fn list_params(options: Option<&Bound<'_, PyDict>>) -> PyResult<ListParams> {
    let value = options.map(|o| from_py(o.as_any())).transpose()?;
    klaviyo_bridge::arguments::list_params(value.unwrap_or(Value::Null)).map_err(to_py_err)
}

fn cursor(
    pager: klaviyo_bridge::Result<klaviyo_bridge::Pager>,
    asynchronous: bool,
) -> PyResult<PageCursor> {
    Ok(PageCursor::new(
        pager.map_err(crate::errors::to_py_err)?,
        asynchronous,
    ))
}

fn identity(
    email: Option<String>,
    phone_number: Option<String>,
    external_id: Option<String>,
    profile_id: Option<String>,
) -> ProfileRef {
    ProfileRef {
        id: profile_id,
        email,
        phone_number,
        external_id,
    }
}

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

fn profile_data(
    email: Option<String>,
    phone_number: Option<String>,
    external_id: Option<String>,
    properties: Option<&Bound<'_, PyAny>>,
) -> PyResult<ProfileData> {
    Ok(ProfileData::from_flat(
        identity(email, phone_number, external_id, None),
        object_arg(properties, "properties")?,
    ))
}

/// `profiles`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Profiles {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl Profiles {
    /// Creates a profile; first_name etc. become standard attributes, other keys of
    /// `properties` custom properties. An existing identifier raises ConflictError.
    #[pyo3(signature = (*, email=None, phone_number=None, external_id=None, properties=None))]
    fn create(
        &self,
        py: Python<'_>,
        email: Option<String>,
        phone_number: Option<String>,
        external_id: Option<String>,
        properties: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let data = profile_data(email, phone_number, external_id, properties.as_ref())?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.profiles().create(data).await },
            one,
        )
    }

    /// Creates or updates a profile by its identifiers.
    #[pyo3(signature = (*, email=None, phone_number=None, external_id=None, properties=None))]
    fn upsert(
        &self,
        py: Python<'_>,
        email: Option<String>,
        phone_number: Option<String>,
        external_id: Option<String>,
        properties: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let data = profile_data(email, phone_number, external_id, properties.as_ref())?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.profiles().upsert(data).await },
            one,
        )
    }

    /// One profile by id.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.profiles().get(&id).await },
            one,
        )
    }

    /// Updates a profile's attributes and properties.
    #[pyo3(signature = (id, *, email=None, phone_number=None, external_id=None, properties=None))]
    fn update(
        &self,
        py: Python<'_>,
        id: String,
        email: Option<String>,
        phone_number: Option<String>,
        external_id: Option<String>,
        properties: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let data = profile_data(email, phone_number, external_id, properties.as_ref())?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.profiles().update(&id, data).await },
            one,
        )
    }

    /// Profiles.
    #[pyo3(signature = (**options), text_signature = "($self, *, filter=None, sort=None, fields=None, include=None, page_size=None, max_items=None, max_pages=None, cursor=None, timeout=None)")]
    fn list(&self, options: Option<Bound<'_, PyDict>>) -> PyResult<PageCursor> {
        let params = list_params(options.as_ref())?;
        cursor(self.core.profiles().list(params), self.asynchronous)
    }

    /// Imports profiles (dicts with email/phone_number/external_id and other keys) in bulk
    /// jobs of at most 10,000 / 5 MB. Returns the report with job ids.
    #[pyo3(signature = (profiles, *, list_id=None))]
    fn bulk_import(
        &self,
        py: Python<'_>,
        profiles: Vec<Bound<'_, PyDict>>,
        list_id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let data = profiles
            .iter()
            .map(|d| {
                let flat = object_arg(Some(d.as_any()), "profile")?;
                Ok(ProfileData::from_flat(ProfileRef::default(), flat))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.profiles().bulk_import(data, list_id.as_deref()).await },
            |py, r| serialized(py, &r),
        )
    }

    /// The per-row errors of an import job.
    fn import_errors(&self, job_id: String) -> PyResult<PageCursor> {
        cursor(
            self.core.profiles().import_errors(&job_id),
            self.asynchronous,
        )
    }

    /// Subscribes profiles (emails, or dicts with email/phone_number) to marketing.
    #[pyo3(signature = (profiles, *, channel="email", list_id=None))]
    fn subscribe(
        &self,
        py: Python<'_>,
        profiles: Vec<Bound<'_, PyAny>>,
        channel: &str,
        list_id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.subscription(py, profiles, channel, list_id, true)
    }

    /// Unsubscribes profiles from marketing.
    #[pyo3(signature = (profiles, *, channel="email", list_id=None))]
    fn unsubscribe(
        &self,
        py: Python<'_>,
        profiles: Vec<Bound<'_, PyAny>>,
        channel: &str,
        list_id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        self.subscription(py, profiles, channel, list_id, false)
    }

    /// Suppresses email addresses.
    fn suppress(&self, py: Python<'_>, emails: Vec<String>) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move {
                core.profiles()
                    .suppress(&emails.iter().map(String::as_str).collect::<Vec<_>>())
                    .await
            },
            |py, r| serialized(py, &r),
        )
    }

    /// Lifts suppressions.
    fn unsuppress(&self, py: Python<'_>, emails: Vec<String>) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move {
                core.profiles()
                    .unsuppress(&emails.iter().map(String::as_str).collect::<Vec<_>>())
                    .await
            },
            |py, r| serialized(py, &r),
        )
    }

    /// Merges `sources` into `destination`.
    fn merge(
        &self,
        py: Python<'_>,
        destination: String,
        sources: Vec<String>,
    ) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move {
                core.profiles()
                    .merge(
                        &destination,
                        &sources.iter().map(String::as_str).collect::<Vec<_>>(),
                    )
                    .await
            },
            none,
        )
    }
}

impl Profiles {
    fn subscription(
        &self,
        py: Python<'_>,
        profiles: Vec<Bound<'_, PyAny>>,
        channel: &str,
        list_id: Option<String>,
        subscribe: bool,
    ) -> PyResult<Py<PyAny>> {
        let channel = klaviyo_bridge::arguments::channel(Some(channel)).map_err(to_py_err)?;
        let refs = klaviyo_bridge::arguments::identities(
            profiles.iter().map(from_py).collect::<PyResult<Vec<_>>>()?,
        )
        .map_err(to_py_err)?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move {
                let profiles = core.profiles();
                if subscribe {
                    profiles.subscribe(&refs, channel, list_id.as_deref()).await
                } else {
                    profiles
                        .unsubscribe(&refs, channel, list_id.as_deref())
                        .await
                }
            },
            |py, r| serialized(py, &r),
        )
    }
}

/// `lists`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Lists {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl Lists {
    /// Creates a list.
    fn create(&self, py: Python<'_>, name: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.lists().create(&name).await },
            one,
        )
    }
    /// One list.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.lists().get(&id).await },
            one,
        )
    }
    /// Renames a list.
    fn update(&self, py: Python<'_>, id: String, name: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.lists().update(&id, &name).await },
            one,
        )
    }
    /// Deletes a list.
    fn delete(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.lists().delete(&id).await },
            none,
        )
    }
    /// Lists.
    #[pyo3(signature = (**options), text_signature = "($self, *, filter=None, sort=None, fields=None, include=None, page_size=None, max_items=None, max_pages=None, cursor=None, timeout=None)")]
    fn list(&self, options: Option<Bound<'_, PyDict>>) -> PyResult<PageCursor> {
        let params = list_params(options.as_ref())?;
        cursor(self.core.lists().list(params), self.asynchronous)
    }
    /// The profiles on a list.
    #[pyo3(signature = (list_id, **options), text_signature = "($self, list_id, *, filter=None, sort=None, fields=None, include=None, page_size=None, max_items=None, max_pages=None, cursor=None, timeout=None)")]
    fn profiles(
        &self,
        list_id: String,
        options: Option<Bound<'_, PyDict>>,
    ) -> PyResult<PageCursor> {
        let params = list_params(options.as_ref())?;
        cursor(
            self.core.lists().profiles(&list_id, params),
            self.asynchronous,
        )
    }
    /// Adds profiles by id, 1,000 per request.
    fn add_profiles(
        &self,
        py: Python<'_>,
        list_id: String,
        profile_ids: Vec<String>,
    ) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move {
                core.lists()
                    .add_profiles(
                        &list_id,
                        &profile_ids.iter().map(String::as_str).collect::<Vec<_>>(),
                    )
                    .await
            },
            |py, r| serialized(py, &r),
        )
    }
    /// Removes profiles by id, 1,000 per request.
    fn remove_profiles(
        &self,
        py: Python<'_>,
        list_id: String,
        profile_ids: Vec<String>,
    ) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move {
                core.lists()
                    .remove_profiles(
                        &list_id,
                        &profile_ids.iter().map(String::as_str).collect::<Vec<_>>(),
                    )
                    .await
            },
            |py, r| serialized(py, &r),
        )
    }
}

/// `metrics`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Metrics {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl Metrics {
    /// Metrics.
    #[pyo3(signature = (**options), text_signature = "($self, *, filter=None, sort=None, fields=None, include=None, page_size=None, max_items=None, max_pages=None, cursor=None, timeout=None)")]
    fn list(&self, options: Option<Bound<'_, PyDict>>) -> PyResult<PageCursor> {
        let params = list_params(options.as_ref())?;
        cursor(self.core.metrics().list(params), self.asynchronous)
    }
    /// One metric.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.metrics().get(&id).await },
            one,
        )
    }
    /// A metric aggregate query; returns the response document.
    #[pyo3(signature = (metric_id, *, start, end, measurements=None, interval="day", filters=None, by=None, timezone="UTC"))]
    #[allow(clippy::too_many_arguments)]
    fn aggregate(
        &self,
        py: Python<'_>,
        metric_id: String,
        start: String,
        end: String,
        measurements: Option<Vec<String>>,
        interval: &str,
        filters: Option<Vec<String>>,
        by: Option<Vec<String>>,
        timezone: &str,
    ) -> PyResult<Py<PyAny>> {
        let mut query = AggregateQuery::daily_count(metric_id, start, end);
        query.measurements = measurements.unwrap_or_else(|| vec!["count".into()]);
        query.interval = interval.to_string();
        query.filters = filters.unwrap_or_default();
        query.by = by.unwrap_or_default();
        query.timezone = timezone.to_string();
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.metrics().aggregate(&query).await },
            |py, doc| to_py(py, doc.raw()),
        )
    }
}

/// `catalog.items`, `catalog.variants`, `catalog.categories`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Catalog {
    pub core: Client,
    pub asynchronous: bool,
    pub kind: &'static str,
}

impl Catalog {
    pub fn new(client: &NativeClient, kind: &'static str) -> Self {
        Catalog {
            core: client.core.clone(),
            asynchronous: client.asynchronous,
            kind,
        }
    }
    fn api<'a>(core: &'a Client, kind: &str) -> klaviyo_bridge::catalog::Catalog<'a> {
        match kind {
            "items" => core.catalog_items(),
            "variants" => core.catalog_variants(),
            _ => core.catalog_categories(),
        }
    }
}

fn poll_options(wait: bool, timeout: Option<f64>) -> PyResult<Option<PollOptions>> {
    klaviyo_bridge::arguments::poll(Some(wait), timeout).map_err(to_py_err)
}

#[pymethods]
impl Catalog {
    /// Creates one (attributes as the API documents them; relationships optional).
    #[pyo3(signature = (attributes, *, relationships=None))]
    fn create(
        &self,
        py: Python<'_>,
        attributes: Bound<'_, PyAny>,
        relationships: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (attributes, relationships) = (
            from_py(&attributes)?,
            relationships.as_ref().map(from_py).transpose()?,
        );
        let (core, kind) = (self.core.clone(), self.kind);
        run(
            py,
            self.asynchronous,
            async move {
                Catalog::api(&core, kind)
                    .create(attributes, relationships)
                    .await
            },
            one,
        )
    }
    /// One by id.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let (core, kind) = (self.core.clone(), self.kind);
        run(
            py,
            self.asynchronous,
            async move { Catalog::api(&core, kind).get(&id).await },
            one,
        )
    }
    /// Updates attributes.
    fn update(
        &self,
        py: Python<'_>,
        id: String,
        attributes: Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let attributes = from_py(&attributes)?;
        let (core, kind) = (self.core.clone(), self.kind);
        run(
            py,
            self.asynchronous,
            async move { Catalog::api(&core, kind).update(&id, attributes).await },
            one,
        )
    }
    /// Deletes one.
    fn delete(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let (core, kind) = (self.core.clone(), self.kind);
        run(
            py,
            self.asynchronous,
            async move { Catalog::api(&core, kind).delete(&id).await },
            none,
        )
    }
    /// Lists them.
    #[pyo3(signature = (**options), text_signature = "($self, *, filter=None, sort=None, fields=None, include=None, page_size=None, max_items=None, max_pages=None, cursor=None, timeout=None)")]
    fn list(&self, options: Option<Bound<'_, PyDict>>) -> PyResult<PageCursor> {
        let params = list_params(options.as_ref())?;
        cursor(
            Catalog::api(&self.core, self.kind).list(params),
            self.asynchronous,
        )
    }
    /// Bulk create (100 per job, at most 500 jobs in flight); with `wait`, polls the jobs and
    /// raises BulkPartialError for items they rejected.
    #[pyo3(signature = (resources, *, wait=true, timeout=None))]
    fn bulk_create(
        &self,
        py: Python<'_>,
        resources: Vec<Bound<'_, PyAny>>,
        wait: bool,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        self.bulk(py, "create", resources, wait, timeout)
    }
    /// Bulk update: each resource has an "id".
    #[pyo3(signature = (resources, *, wait=true, timeout=None))]
    fn bulk_update(
        &self,
        py: Python<'_>,
        resources: Vec<Bound<'_, PyAny>>,
        wait: bool,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        self.bulk(py, "update", resources, wait, timeout)
    }
    /// Bulk delete by id.
    #[pyo3(signature = (ids, *, wait=true, timeout=None))]
    fn bulk_delete(
        &self,
        py: Python<'_>,
        ids: Vec<String>,
        wait: bool,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let poll = poll_options(wait, timeout)?;
        let (core, kind) = (self.core.clone(), self.kind);
        run(
            py,
            self.asynchronous,
            async move {
                Catalog::api(&core, kind)
                    .bulk_delete(
                        &ids.iter().map(String::as_str).collect::<Vec<_>>(),
                        poll.as_ref(),
                    )
                    .await
            },
            |py, r| serialized(py, &r),
        )
    }
}

impl Catalog {
    fn bulk(
        &self,
        py: Python<'_>,
        action: &'static str,
        resources: Vec<Bound<'_, PyAny>>,
        wait: bool,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let resources = resources
            .iter()
            .map(from_py)
            .collect::<PyResult<Vec<_>>>()?;
        let poll = poll_options(wait, timeout)?;
        let (core, kind) = (self.core.clone(), self.kind);
        run(
            py,
            self.asynchronous,
            async move {
                let api = Catalog::api(&core, kind);
                if action == "create" {
                    api.bulk_create(resources, poll.as_ref()).await
                } else {
                    api.bulk_update(resources, poll.as_ref()).await
                }
            },
            |py, r| serialized(py, &r),
        )
    }
}

/// `webhooks`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Webhooks {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl Webhooks {
    /// Creates a webhook.
    #[pyo3(signature = (*, name, endpoint_url, secret_key, topics, description=None))]
    fn create(
        &self,
        py: Python<'_>,
        name: String,
        endpoint_url: String,
        secret_key: String,
        topics: Vec<String>,
        description: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let webhook = WebhookCreate {
            name,
            endpoint_url,
            secret_key,
            topics,
            description,
        };
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().create(&webhook).await },
            one,
        )
    }
    /// One webhook.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().get(&id).await },
            one,
        )
    }
    /// Updates attributes (e.g. {"enabled": False}).
    fn update(
        &self,
        py: Python<'_>,
        id: String,
        attributes: Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let attributes = from_py(&attributes)?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().update(&id, attributes).await },
            one,
        )
    }
    /// Deletes a webhook.
    fn delete(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().delete(&id).await },
            none,
        )
    }
    /// All webhooks.
    fn list(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().list().await },
            many,
        )
    }
    /// The topics webhooks can subscribe to.
    fn topics(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().topics().await },
            |py, doc| many(py, doc.resources()),
        )
    }
}

/// `accounts`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Accounts {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl Accounts {
    /// The key's own account.
    fn current(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.accounts().current().await },
            one,
        )
    }
    /// An account by id.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.accounts().get(&id).await },
            one,
        )
    }
}

/// `data_privacy`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct DataPrivacy {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl DataPrivacy {
    /// Requests deletion of a profile and all its data.
    #[pyo3(signature = (*, email=None, phone_number=None, external_id=None, profile_id=None))]
    fn delete_profile(
        &self,
        py: Python<'_>,
        email: Option<String>,
        phone_number: Option<String>,
        external_id: Option<String>,
        profile_id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let who = identity(email, phone_number, external_id, profile_id);
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.data_privacy().delete_profile(&who).await },
            none,
        )
    }
}

/// `jobs`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Jobs {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl Jobs {
    /// A job's status (`kind`: profile_import, suppress, catalog_item_create, …).
    fn get(&self, py: Python<'_>, kind: &str, id: String) -> PyResult<Py<PyAny>> {
        let kind = JobKind::parse(kind).map_err(crate::errors::to_py_err)?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.jobs().get(kind, &id).await },
            |py, s| serialized(py, &s),
        )
    }
    /// Polls a job until it finishes (or `timeout` seconds pass).
    #[pyo3(signature = (kind, id, *, timeout=None))]
    fn wait(
        &self,
        py: Python<'_>,
        kind: &str,
        id: String,
        timeout: Option<f64>,
    ) -> PyResult<Py<PyAny>> {
        let kind = JobKind::parse(kind).map_err(crate::errors::to_py_err)?;
        let poll = poll_options(true, timeout)?.unwrap_or_default();
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.jobs().wait(kind, &id, &poll).await },
            |py, s| serialized(py, &s),
        )
    }
}
