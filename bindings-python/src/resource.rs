//! `Resource`: a JSON:API resource object as Python reads it (mirrors the core's `resource`).

use pyo3::exceptions::{PyAttributeError, PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

use crate::convert::to_py;

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
