//! `webhooks`: subscriptions to Klaviyo's webhook topics. Each method maps Python arguments to the core's
//! types, calls the core, and converts the result (mirrors the core's `resources::webhooks`).

use pyo3::prelude::*;

use klaviyo_bridge::Client;
use klaviyo_bridge::webhooks::WebhookCreate;

use super::{many, none, one};
use crate::convert::from_py;
use crate::runtime::run;

/// `webhooks`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Webhooks {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl Webhooks {
    /// Creates a webhook.
    #[pyo3(signature = (*, name, endpoint_url, secret_key, topics, description=None))]
    fn create(
        &self,
        py: Python<'_>,
        name: String,
        endpoint_url: String,
        secret_key: String,
        topics: Vec<String>,
        description: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let webhook = WebhookCreate {
            name,
            endpoint_url,
            secret_key,
            topics,
            description,
        };
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().create(&webhook).await },
            one,
        )
    }
    /// One webhook.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().get(&id).await },
            one,
        )
    }
    /// Updates attributes (e.g. {"enabled": False}).
    fn update(
        &self,
        py: Python<'_>,
        id: String,
        attributes: Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let attributes = from_py(&attributes)?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().update(&id, attributes).await },
            one,
        )
    }
    /// Deletes a webhook.
    fn delete(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().delete(&id).await },
            none,
        )
    }
    /// All webhooks.
    fn list(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().list().await },
            many,
        )
    }
    /// The topics webhooks can subscribe to.
    fn topics(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.webhooks().topics().await },
            |py, doc| many(py, doc.resources()),
        )
    }
}
