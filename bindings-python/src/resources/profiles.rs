//! `profiles`: create, upsert, read, update, list, import, consent, merge. Each method maps Python arguments to the core's
//! types, calls the core, and converts the result (mirrors the core's `resources::profiles`).

use pyo3::prelude::*;
use pyo3::types::PyDict;

use klaviyo_bridge::Client;
use klaviyo_bridge::profiles::{ProfileData, ProfileRef};

use super::{cursor, list_params, none, one, profile_data};
use crate::convert::{from_py, object_arg, serialized};
use crate::errors::to_py_err;
use crate::pagination::PageCursor;
use crate::runtime::run;

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
