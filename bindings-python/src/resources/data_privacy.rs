//! `data_privacy`: profile deletion requests. Each method maps Python arguments to the core's
//! types, calls the core, and converts the result (mirrors the core's `resources::data_privacy`).

use pyo3::prelude::*;

use klaviyo_bridge::Client;

use super::{identity, none};
use crate::runtime::run;

/// `data_privacy`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct DataPrivacy {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl DataPrivacy {
    /// Requests deletion of a profile and all its data.
    #[pyo3(signature = (*, email=None, phone_number=None, external_id=None, profile_id=None))]
    fn delete_profile(
        &self,
        py: Python<'_>,
        email: Option<String>,
        phone_number: Option<String>,
        external_id: Option<String>,
        profile_id: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let who = identity(email, phone_number, external_id, profile_id);
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.data_privacy().delete_profile(&who).await },
            none,
        )
    }
}
