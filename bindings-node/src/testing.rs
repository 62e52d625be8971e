//! `NativeSandbox.start()`: the sandbox crate's emulator, run inside the addon, so an installed
//! package needs no cargo to test against it. `testing.js` wraps it.

use std::sync::Arc;

use napi_derive::napi;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::errors::js_error;

/// Sandbox options (camelCase in JS; latency in seconds).
#[napi(object)]
pub struct SandboxArgs {
    pub api_key: Option<String>,
    /// "real" (default), "off" or "scale=N".
    pub rate_limits: Option<String>,
    pub latency: Option<f64>,
    /// e.g. "429:0.05,500:0.02,reset:0.01".
    pub faults: Option<String>,
    pub seed: Option<u32>,
    pub seed_profiles: Option<u32>,
    pub seed_events: Option<u32>,
    /// "demo": a ready-made account.
    pub seed_data: Option<String>,
    pub request_log: Option<u32>,
}

fn invalid(message: String) -> napi::Error {
    js_error(klaviyo_bridge::Error::InvalidInput(message))
}

#[napi]
pub struct NativeSandbox {
    sandbox: Arc<Mutex<Option<klaviyo_sandbox::Sandbox>>>,
    url: String,
    api_key: String,
}

fn stopped() -> napi::Error {
    napi::Error::from_reason("the sandbox was stopped")
}

#[napi]
impl NativeSandbox {
    /// Starts a sandbox on a free 127.0.0.1 port.
    #[napi]
    pub async fn start(args: Option<SandboxArgs>) -> napi::Result<NativeSandbox> {
        let args = args.unwrap_or(SandboxArgs {
            api_key: None,
            rate_limits: None,
            latency: None,
            faults: None,
            seed: None,
            seed_profiles: None,
            seed_events: None,
            seed_data: None,
            request_log: None,
        });
        let defaults = klaviyo_sandbox::Options::default();
        let options = klaviyo_sandbox::Options {
            api_key: args.api_key.unwrap_or(defaults.api_key.clone()),
            rate_limits: args
                .rate_limits
                .as_deref()
                .unwrap_or("real")
                .parse()
                .map_err(invalid)?,
            latency: klaviyo_bridge::config::seconds_or_zero(
                args.latency.unwrap_or(0.0),
                "latency",
            )
            .map_err(js_error)?,
            faults: args.faults.unwrap_or_default(),
            seed: args.seed.map_or(0, u64::from),
            seed_profiles: args.seed_profiles.map_or(0, |n| n as usize),
            seed_events: args.seed_events.map_or(0, |n| n as usize),
            seed_data: args.seed_data,
            request_log: args
                .request_log
                .map_or(defaults.request_log, |n| n as usize),
            ..defaults
        };
        let sandbox = klaviyo_sandbox::start(options)
            .await
            .map_err(|e| invalid(format!("cannot start the sandbox: {e}")))?;
        Ok(NativeSandbox {
            url: sandbox.base_url(),
            api_key: sandbox.api_key().to_string(),
            sandbox: Arc::new(Mutex::new(Some(sandbox))),
        })
    }

    #[napi(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    #[napi(getter)]
    pub fn api_key(&self) -> String {
        self.api_key.clone()
    }

    /// The account's public key, for `/client/*` operations.
    #[napi(getter)]
    pub fn public_key(&self) -> &'static str {
        klaviyo_sandbox::ACCOUNT_ID
    }

    /// A request body for `operationId` that fits its schema (null if it takes none).
    #[napi]
    pub fn example_body(operation_id: String) -> Value {
        klaviyo_sandbox::example_request_body(&operation_id).unwrap_or(Value::Null)
    }

    /// Counts per resource, events per metric, jobs and webhook deliveries.
    #[napi]
    pub async fn state(&self) -> napi::Result<Value> {
        self.sandbox
            .lock()
            .await
            .as_ref()
            .map(|s| s.state())
            .ok_or_else(stopped)
    }

    /// The latest requests received, credentials redacted.
    #[napi]
    pub async fn requests(&self) -> napi::Result<Value> {
        let guard = self.sandbox.lock().await;
        let sandbox = guard.as_ref().ok_or_else(stopped)?;
        Ok(serde_json::to_value(sandbox.requests()).unwrap_or(Value::Null))
    }

    /// Resolves, with the state, once every bulk job is complete and every webhook delivered.
    #[napi]
    pub async fn settled(&self) -> napi::Result<Value> {
        let guard = self.sandbox.lock().await;
        let sandbox = guard.as_ref().ok_or_else(stopped)?;
        sandbox.settled().await;
        Ok(sandbox.state())
    }

    /// Empties the store and the request log.
    #[napi]
    pub async fn reset(&self) -> napi::Result<()> {
        self.sandbox
            .lock()
            .await
            .as_ref()
            .map(|s| s.reset())
            .ok_or_else(stopped)
    }

    /// A Bearer token the sandbox accepts like the API key.
    #[napi]
    pub async fn issue_token(&self) -> napi::Result<String> {
        self.sandbox
            .lock()
            .await
            .as_ref()
            .map(|s| s.issue_token())
            .ok_or_else(stopped)
    }

    /// Stops the server; later calls reject.
    #[napi]
    pub async fn stop(&self) -> napi::Result<()> {
        let taken = self.sandbox.lock().await.take();
        if let Some(sandbox) = taken {
            sandbox.shutdown().await;
        }
        Ok(())
    }
}
