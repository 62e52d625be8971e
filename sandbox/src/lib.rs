//! klaviyo-sandbox: a local emulator of Klaviyo's REST API for tests and demos.
//!
//! It checks the protocol like Klaviyo (a valid `revision` header, `Klaviyo-API-Key` auth,
//! JSON:API bodies and errors), keeps real state in memory (profiles with identity
//! resolution, events with metric creation and `unique_id` de-duplication, metrics, lists and
//! membership, catalog items, data-privacy deletion), paginates with opaque cursors and the
//! operation table's page-size bounds, and enforces the table's per-operation rate limits in
//! fixed 1 s and 60 s windows (or scaled, or off).
//!
//! Start it in-process with [`start`], or run the `klaviyo-sandbox` binary.

// Handlers return ready error responses as `Err`; they are built once per failed request,
// so their size does not matter.
#![allow(clippy::result_large_err)]

mod handlers;
mod store;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub use store::Store;

/// The default API key the sandbox accepts (an obvious fake).
pub const DEFAULT_API_KEY: &str = "pk_sandbox_not_a_real_key_0000000000";

/// How the sandbox enforces rate limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RateLimits {
    /// The operation table's limits.
    Real,
    /// No limits.
    Off,
    /// Every limit multiplied by this factor.
    Scale(f64),
}

impl std::str::FromStr for RateLimits {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "real" => Ok(RateLimits::Real),
            "off" => Ok(RateLimits::Off),
            other => other
                .strip_prefix("scale=")
                .and_then(|n| n.parse::<f64>().ok())
                .filter(|n| *n > 0.0)
                .map(RateLimits::Scale)
                .ok_or_else(|| format!("--rate-limits takes real, off or scale=N, not {other:?}")),
        }
    }
}

/// Sandbox settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to bind (default 127.0.0.1:0, a free port).
    pub addr: SocketAddr,
    /// The private key clients must send.
    pub api_key: String,
    /// Rate limiting.
    pub rate_limits: RateLimits,
    /// Latency added to every response.
    pub latency: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options { addr: SocketAddr::from(([127, 0, 0, 1], 0)), api_key: DEFAULT_API_KEY.into(), rate_limits: RateLimits::Real, latency: Duration::ZERO }
    }
}

/// Shared server state.
pub(crate) struct Shared {
    pub options: Options,
    pub store: Mutex<Store>,
    started: Instant,
    /// Requests per (operation, window kind, window number).
    windows: Mutex<HashMap<(&'static str, u64, u64), u32>>,
}

/// A running sandbox.
pub struct Sandbox {
    /// The bound address.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The key clients must send.
    pub fn api_key(&self) -> &str {
        &self.shared.options.api_key
    }

    /// Counts per resource, as `GET /__sandbox/state` returns them.
    pub fn state(&self) -> Value {
        self.shared.store.lock().unwrap().summary()
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Starts a sandbox on the current tokio runtime.
pub async fn start(options: Options) -> std::io::Result<Sandbox> {
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared { options, store: Mutex::new(Store::default()), started: Instant::now(), windows: Mutex::default() });
    let app = handlers::router(shared.clone());
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let service = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
        let _ = axum::serve(listener, service).with_graceful_shutdown(async { let _ = rx.await; }).await;
    });
    Ok(Sandbox { addr, shared, shutdown: Some(tx), task: Some(task) })
}

/// A JSON:API error response in Klaviyo's shape.
pub(crate) fn error(status: StatusCode, code: &str, detail: impl Into<String>, source: Option<Value>) -> Response {
    let mut object = json!({
        "id": format!("sandbox-{}", rand::random::<u32>()),
        "status": status.as_u16(),
        "code": code,
        "title": status.canonical_reason().unwrap_or("Error"),
        "detail": detail.into(),
    });
    if let Some(source) = source {
        object["source"] = source;
    }
    json_api(status, json!({ "errors": [object] }))
}

/// A JSON:API response.
pub(crate) fn json_api(status: StatusCode, body: Value) -> Response {
    // 202/204 answers carry no body.
    let text = if body.is_null() { String::new() } else { body.to_string() };
    let mut response = (status, text).into_response();
    response.headers_mut().insert("content-type", HeaderValue::from_static("application/vnd.api+json"));
    response
}

impl Shared {
    /// Checks revision, auth and rate limits for `operation_id`; returns the rate-limit
    /// headers for the response, or the error response.
    pub(crate) fn admit(&self, operation_id: &'static str, headers: &HeaderMap) -> Result<Vec<(&'static str, String)>, Response> {
        let revision = headers.get("revision").and_then(|v| v.to_str().ok());
        match revision {
            None => return Err(error(StatusCode::BAD_REQUEST, "invalid", "Missing required header: revision (e.g. revision: 2026-07-15)", Some(json!({"header": "revision"})))),
            Some(r) if klaviyo_bridge::config::validate_revision(r).is_err() => {
                return Err(error(StatusCode::BAD_REQUEST, "invalid", format!("Invalid revision header {r:?}; use YYYY-MM-DD"), Some(json!({"header": "revision"}))));
            }
            _ => {}
        }
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        match auth.strip_prefix("Klaviyo-API-Key ") {
            Some(key) if key == self.options.api_key => {}
            Some(_) => return Err(error(StatusCode::FORBIDDEN, "permission_denied", "Invalid API key.", None)),
            None => return Err(error(StatusCode::UNAUTHORIZED, "not_authenticated", "Authentication credentials were not provided.", None)),
        }
        self.count_request(operation_id)
    }

    fn count_request(&self, operation_id: &'static str) -> Result<Vec<(&'static str, String)>, Response> {
        let scale = match self.options.rate_limits {
            RateLimits::Off => return Ok(Vec::new()),
            RateLimits::Real => 1.0,
            RateLimits::Scale(n) => n,
        };
        let limits = klaviyo_bridge::operations::operation(operation_id).expect("handlers name real operations").rate_limit;
        let elapsed = self.started.elapsed();
        let mut windows = self.windows.lock().unwrap();
        if windows.len() > 10_000 {
            let now = elapsed.as_secs();
            windows.retain(|(_, span, window), _| (window + 1) * span >= now);
        }
        let checks = [(1u64, limits.burst), (60u64, limits.steady)];
        for (span, limit) in checks {
            let limit = ((f64::from(limit) * scale).floor() as u32).max(1);
            let window = elapsed.as_secs() / span;
            let used = windows.get(&(operation_id, span, window)).copied().unwrap_or(0);
            if used >= limit {
                let reset = span - elapsed.as_secs() % span;
                let mut response = error(StatusCode::TOO_MANY_REQUESTS, "throttled", format!("Request was throttled. Expected available in {reset} second{}.", if reset == 1 { "" } else { "s" }), None);
                response.headers_mut().insert("retry-after", HeaderValue::from(reset));
                return Err(response);
            }
        }
        let mut headers = Vec::new();
        for (span, limit) in checks {
            let limit = ((f64::from(limit) * scale).floor() as u32).max(1);
            let window = elapsed.as_secs() / span;
            let used = windows.entry((operation_id, span, window)).or_default();
            *used += 1;
            if span == 60 {
                headers.push(("ratelimit-limit", limit.to_string()));
                headers.push(("ratelimit-remaining", (limit - *used).to_string()));
                headers.push(("ratelimit-reset", (span - elapsed.as_secs() % span).to_string()));
            }
        }
        Ok(headers)
    }
}
