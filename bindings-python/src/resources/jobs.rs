//! `jobs`: bulk job status, and waiting for a job to finish. Each method maps Python arguments to the core's
//! types, calls the core, and converts the result (mirrors the core's `resources::jobs`).

use pyo3::prelude::*;

use klaviyo_bridge::Client;
use klaviyo_bridge::jobs::JobKind;

use super::poll_options;
use crate::convert::serialized;
use crate::runtime::run;

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
