//! `accounts`: the account the key belongs to. Each method maps Python arguments to the core's
//! types, calls the core, and converts the result (mirrors the core's `resources::accounts`).

use pyo3::prelude::*;

use klaviyo_bridge::Client;

use super::one;
use crate::runtime::run;

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
