//! The resource namespaces, one file per core resource (events, profiles, lists, metrics,
//! catalog, catalogs, webhooks, accounts, data_privacy, jobs), and the conversions they share.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

use klaviyo_bridge::ListParams;
use klaviyo_bridge::bulk::PollOptions;
use klaviyo_bridge::profiles::{ProfileData, ProfileRef};

use crate::convert::{from_py, object_arg};
use crate::errors::to_py_err;
use crate::pagination::PageCursor;
use crate::resource::resource;

mod accounts;
mod catalog;
mod catalogs;
mod data_privacy;
mod events;
mod jobs;
mod lists;
mod metrics;
mod profiles;
mod webhooks;

pub use accounts::Accounts;
pub use catalog::Catalog;
pub use catalogs::Catalogs;
pub use data_privacy::DataPrivacy;
pub use events::{Events, event_create};
pub use jobs::Jobs;
pub use lists::Lists;
pub use metrics::Metrics;
pub use profiles::Profiles;
pub use webhooks::Webhooks;

pub(crate) fn one(py: Python<'_>, r: klaviyo_bridge::Resource) -> PyResult<Py<PyAny>> {
    resource(py, r.raw())
}

pub(crate) fn many(py: Python<'_>, items: Vec<klaviyo_bridge::Resource>) -> PyResult<Py<PyAny>> {
    let list = PyList::empty(py);
    for item in items {
        list.append(resource(py, item.raw())?)?;
    }
    Ok(list.into_any().unbind())
}

pub(crate) fn none(py: Python<'_>, _: ()) -> PyResult<Py<PyAny>> {
    Ok(py.None())
}

/// `filter=, sort=, fields=, include=, page_size=, max_items=, max_pages=, cursor=, timeout=`
/// (checked by the core, which names what it takes).
pub fn list_params(options: Option<&Bound<'_, PyDict>>) -> PyResult<ListParams> {
    let value = options.map(|o| from_py(o.as_any())).transpose()?;
    klaviyo_bridge::arguments::list_params(value.unwrap_or(Value::Null)).map_err(to_py_err)
}

pub(crate) fn cursor(
    pager: klaviyo_bridge::Result<klaviyo_bridge::Pager>,
    asynchronous: bool,
) -> PyResult<PageCursor> {
    Ok(PageCursor::new(
        pager.map_err(crate::errors::to_py_err)?,
        asynchronous,
    ))
}

pub(crate) fn identity(
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

/// A profile from keyword arguments: identifiers plus `properties`.
pub(crate) fn profile_data(
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

/// How to wait for bulk jobs (the core checks the timeout and holds the default).
pub(crate) fn poll_options(wait: bool, timeout: Option<f64>) -> PyResult<Option<PollOptions>> {
    klaviyo_bridge::arguments::poll(Some(wait), timeout).map_err(to_py_err)
}
