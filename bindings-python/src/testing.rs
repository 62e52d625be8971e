//! `klaviyo_bridge._native.SandboxServer`: the sandbox crate's emulator, run inside the
//! extension on the core's runtime, so an installed package needs no cargo to test against it.

use std::sync::Mutex;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::convert::{serialized, to_py};
use crate::errors::to_py_err;

#[pyclass(name = "SandboxServer", module = "klaviyo_bridge._native")]
pub struct SandboxServer {
    sandbox: Mutex<Option<klaviyo_sandbox::Sandbox>>,
    url: String,
    api_key: String,
}

impl SandboxServer {
    fn with<T>(&self, f: impl FnOnce(&klaviyo_sandbox::Sandbox) -> T) -> PyResult<T> {
        let guard = self.sandbox.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .map(f)
            .ok_or_else(|| PyRuntimeError::new_err("the sandbox was stopped"))
    }
}

fn invalid(message: String) -> PyErr {
    to_py_err(klaviyo_bridge::Error::InvalidInput(message))
}

#[pymethods]
impl SandboxServer {
    #[new]
    #[pyo3(signature = (*, api_key=None, rate_limits="real", latency=0.0, faults="", seed=0, seed_profiles=0, seed_events=0, seed_data=None, request_log=None, port=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        api_key: Option<String>,
        rate_limits: &str,
        latency: f64,
        faults: &str,
        seed: u64,
        seed_profiles: usize,
        seed_events: usize,
        seed_data: Option<String>,
        request_log: Option<usize>,
        port: u16,
    ) -> PyResult<Self> {
        let defaults = klaviyo_sandbox::Options::default();
        let options = klaviyo_sandbox::Options {
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            api_key: api_key.unwrap_or(defaults.api_key.clone()),
            rate_limits: rate_limits.parse().map_err(invalid)?,
            latency: klaviyo_bridge::config::seconds_or_zero(latency, "latency")
                .map_err(to_py_err)?,
            faults: faults.to_string(),
            seed,
            seed_profiles,
            seed_events,
            seed_data,
            request_log: request_log.unwrap_or(defaults.request_log),
            ..defaults
        };
        let sandbox = py
            .detach(|| klaviyo_bridge::runtime::runtime().block_on(klaviyo_sandbox::start(options)))
            .map_err(|e| invalid(format!("cannot start the sandbox: {e}")))?;
        Ok(SandboxServer {
            url: sandbox.base_url(),
            api_key: sandbox.api_key().to_string(),
            sandbox: Mutex::new(Some(sandbox)),
        })
    }

    /// `http://127.0.0.1:<port>`
    #[getter]
    fn url(&self) -> &str {
        &self.url
    }

    /// The key clients must send (the sandbox's published fake key by default).
    #[getter]
    fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The account's public key, for `/client/*` operations.
    #[getter]
    fn public_key(&self) -> &'static str {
        klaviyo_sandbox::ACCOUNT_ID
    }

    /// A request body for `operation_id` that fits its schema, every required field filled
    /// (placeholders where real values, such as ids, are wanted); None if it takes no body.
    #[staticmethod]
    fn example_body(py: Python<'_>, operation_id: &str) -> PyResult<Py<PyAny>> {
        match klaviyo_sandbox::example_request_body(operation_id) {
            Some(body) => to_py(py, &body),
            None => Ok(py.None()),
        }
    }

    /// Counts per resource, events per metric, jobs and webhook deliveries.
    fn state(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let state = self.with(|s| s.state())?;
        to_py(py, &state)
    }

    /// The latest requests received, credentials redacted.
    fn requests(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let requests = self.with(|s| s.requests())?;
        serialized(py, &requests)
    }

    /// Waits (GIL released) until every bulk job is complete and every webhook delivery has
    /// finished; then the state.
    fn settled(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let guard = self.sandbox.lock().unwrap_or_else(|e| e.into_inner());
        let sandbox = guard
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("the sandbox was stopped"))?;
        py.detach(|| klaviyo_bridge::runtime::runtime().block_on(sandbox.settled()));
        to_py(py, &sandbox.state())
    }

    /// Empties the store and the request log.
    fn reset(&self) -> PyResult<()> {
        self.with(|s| s.reset())
    }

    /// A Bearer token the sandbox accepts like the API key.
    fn issue_token(&self) -> PyResult<String> {
        self.with(|s| s.issue_token())
    }

    /// Stops the server and waits for requests in flight; later calls fail.
    fn stop(&self, py: Python<'_>) {
        let taken = self
            .sandbox
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(sandbox) = taken {
            py.detach(|| klaviyo_bridge::runtime::runtime().block_on(sandbox.shutdown()));
        }
    }

    fn __repr__(&self) -> String {
        format!("SandboxServer(url={:?})", self.url)
    }
}
