//! Filter expressions from Python values (the compatibility layer's `FilterBuilder`): the
//! core's `Filter` quotes and escapes; here a value only changes type (a `datetime` or `date`
//! becomes a bare date-time, a `bool` stays a boolean, not a number).

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDate, PyFloat, PyInt, PyList, PyString, PyTuple};

use klaviyo_bridge::filter::{Filter, FilterValue};

use crate::errors::to_py_err;

fn value(item: &Bound<'_, PyAny>) -> PyResult<FilterValue> {
    if item.is_none() {
        return Ok(FilterValue::Null);
    }
    if item.is_instance_of::<PyBool>() {
        return Ok(FilterValue::Bool(item.extract()?));
    }
    if item.is_instance_of::<PyInt>() || item.is_instance_of::<PyFloat>() {
        return Ok(FilterValue::Number(item.extract()?));
    }
    if item.is_instance_of::<PyString>() {
        return Ok(FilterValue::Str(item.extract()?));
    }
    // datetime is a date too.
    if item.is_instance_of::<PyDate>() {
        let text: String = item.call_method0("isoformat")?.extract()?;
        return Ok(FilterValue::DateTime(text));
    }
    if item.is_instance_of::<PyList>() || item.is_instance_of::<PyTuple>() {
        return Ok(FilterValue::List(
            item.try_iter()?
                .map(|v| value(&v?))
                .collect::<PyResult<_>>()?,
        ));
    }
    Err(to_py_err(klaviyo_bridge::Error::InvalidInput(format!(
        "a filter value must be a str, number, bool, date, datetime, None or a list of them, not {}",
        item.get_type().name()?
    ))))
}

/// `(operator, field, value)` conditions as one filter expression (AND-joined).
#[pyfunction]
pub fn filter_expression(conditions: Vec<(String, String, Bound<'_, PyAny>)>) -> PyResult<String> {
    let mut filter = Filter::new();
    for (operator, field, operand) in conditions {
        filter = filter.condition(&operator, &field, value(&operand)?);
    }
    Ok(filter.to_string())
}
