//! `lists`: lists and their members. Each method maps Python arguments to the core's
//! types, calls the core, and converts the result (mirrors the core's `resources::lists`).

use pyo3::prelude::*;
use pyo3::types::PyDict;

use klaviyo_bridge::Client;

use super::{cursor, list_params, none, one};
use crate::convert::serialized;
use crate::pagination::PageCursor;
use crate::runtime::run;

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
