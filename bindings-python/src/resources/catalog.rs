//! `catalog.items`, `catalog.variants`, `catalog.categories`: one by one and in bulk jobs. Each method maps Python arguments to the core's
//! types, calls the core, and converts the result (mirrors the core's `resources::catalog`).

use pyo3::prelude::*;
use pyo3::types::PyDict;

use klaviyo_bridge::Client;

use super::{cursor, list_params, none, one, poll_options};
use crate::convert::{from_py, serialized};
use crate::pagination::PageCursor;
use crate::runtime::run;

/// `catalog.items`, `catalog.variants`, `catalog.categories`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Catalog {
    pub core: Client,
    pub asynchronous: bool,
    pub kind: &'static str,
}

impl Catalog {
    pub fn new(core: &Client, asynchronous: bool, kind: &'static str) -> Self {
        Catalog {
            core: core.clone(),
            asynchronous,
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
