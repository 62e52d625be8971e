//! Core errors to Python exceptions: the class is the core's `Error::class_name` (the classes
//! live in `klaviyo_bridge/errors.py`, so they can also subclass `TimeoutError`,
//! `ConnectionError`, `ValueError`), the attributes are the core's `Error::details`. Messages
//! come from the core, which never includes a credential.

use pyo3::prelude::*;
use serde_json::Value;

use klaviyo_bridge::Error;

use crate::convert::to_py;

/// The Python exception for a core error.
pub fn to_py_err(error: Error) -> PyErr {
    Python::attach(|py| exception(py, &error))
}

/// The Python exception for a core error, the GIL already held.
pub fn exception(py: Python<'_>, error: &Error) -> PyErr {
    build(py, error).unwrap_or_else(|e| e)
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let details = error.details();
    let class = py.import("klaviyo_bridge.errors")?.getattr(details.class)?;
    let instance = class.call1((details.message.as_str(),))?;
    let Ok(Value::Object(fields)) = serde_json::to_value(&details) else {
        return Ok(PyErr::from_value(instance));
    };
    for (name, value) in &fields {
        if name != "message" && name != "class" {
            instance.setattr(name.as_str(), to_py(py, value)?)?;
        }
    }
    Ok(PyErr::from_value(instance))
}
