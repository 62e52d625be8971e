//! Every operation by id, for the generated surface (`klaviyo_bridge._operations`): the
//! keyword arguments go to the core as JSON, which checks and sends them; the answer comes
//! back as Resource objects (one, a list, or None) or a pager.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::{Map, Value};

use klaviyo_bridge::Document;
use klaviyo_bridge::api::Call;
use klaviyo_bridge::resource::Answer;

use crate::convert::{from_py, to_py};
use crate::errors::to_py_err;
use crate::pagination::PageCursor;
use crate::resource::resource;
use crate::runtime::run;

/// The keyword arguments as a JSON map (None values are dropped by the core).
fn arguments(args: &Bound<'_, PyDict>) -> PyResult<Map<String, Value>> {
    match from_py(args.as_any())? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

/// A response document as Python sees it: Resource objects, None, or a dict.
fn answer(py: Python<'_>, document: Document) -> PyResult<Py<PyAny>> {
    match document.into_answer() {
        Answer::Many(items) => {
            let list = PyList::empty(py);
            for item in &items {
                list.append(resource(py, item)?)?;
            }
            Ok(list.into_any().unbind())
        }
        Answer::One(data) => resource(py, &data),
        Answer::Nothing => Ok(py.None()),
        Answer::Other(raw) => to_py(py, &raw),
    }
}

/// Sends one call to a non-paginated operation (awaitable for the asyncio client).
pub fn call(
    py: Python<'_>,
    core: &klaviyo_bridge::Client,
    asynchronous: bool,
    operation_id: &str,
    args: &Bound<'_, PyDict>,
) -> PyResult<Py<PyAny>> {
    let call = Call::from_args(core, operation_id, arguments(args)?).map_err(to_py_err)?;
    let core = core.clone();
    run(
        py,
        asynchronous,
        async move { call.send(&core).await },
        answer,
    )
}

/// Sends one call and answers the response body as bytes of JSON (None when empty: 202/204),
/// which `klaviyo_bridge.compat` hands to `json.loads` (faster than building the tree here).
/// A paginated operation sends one page (`page_cursor` may be a `links.next` URL).
pub fn document(
    py: Python<'_>,
    core: &klaviyo_bridge::Client,
    asynchronous: bool,
    operation_id: &str,
    args: &Bound<'_, PyDict>,
) -> PyResult<Py<PyAny>> {
    let call = Call::from_args(core, operation_id, arguments(args)?).map_err(to_py_err)?;
    let core = core.clone();
    run(
        py,
        asynchronous,
        async move { call.send_raw(&core).await },
        |py, response| {
            Ok(if response.body.iter().all(u8::is_ascii_whitespace) {
                py.None()
            } else {
                pyo3::types::PyBytes::new(py, &response.body)
                    .into_any()
                    .unbind()
            })
        },
    )
}

/// A pager over a paginated operation.
pub fn pager(
    core: &klaviyo_bridge::Client,
    asynchronous: bool,
    operation_id: &str,
    args: &Bound<'_, PyDict>,
) -> PyResult<PageCursor> {
    let call = Call::from_args(core, operation_id, arguments(args)?).map_err(to_py_err)?;
    let pager = call.pager(core).map_err(to_py_err)?;
    Ok(PageCursor::new(pager, asynchronous))
}
