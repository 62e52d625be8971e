//! klaviyo-sandbox: a local emulator of Klaviyo's REST API for tests, demos and users' own
//! integration tests.
//!
//! Every request under `/api` is matched to its operation in the operation table and admitted
//! like Klaviyo admits it: a valid `revision` header, `Klaviyo-API-Key` (or a Bearer token the
//! sandbox issued), and the operation's rate limits in fixed 1 s and 60 s windows per key.
//! State lives in memory: profiles with identity resolution, events with metric creation and
//! `unique_id` de-duplication, metrics and aggregates, lists, catalog items, variants and
//! categories, bulk jobs that run asynchronously, webhooks with signed deliveries, and
//! data-privacy deletion, each by hand (`handlers`, `catalog`, `jobs`, `webhooks`); every
//! other operation of the spec runs on the spec-driven engine in `emulation` (with hand-written
//! behaviour where tests depend on it), and reports are computed in `reporting`. Lists page with
//! keyset cursors over indexed tables (`table`, `pagination`). Faults and latency can be
//! injected; `/__sandbox/*` shows the state and the requests received.
//!
//! Start it in-process with [`start`], or run the `klaviyo-sandbox` binary.

// Handlers return ready error responses as `Err`; they are built once per failed request,
// so their size does not matter.
#![allow(clippy::result_large_err)]

mod admission;
mod catalog;
mod emulation;
mod faults;
mod handlers;
mod jobs;
mod oauth;
mod pagination;
mod reporting;
mod seed;
mod server;
mod store;
mod table;
mod validate;
mod webhooks;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

pub use emulation::example_request_body;
pub use faults::{Fault, Faults};
pub use seed::{DEMO_PROFILES, SEED_EVENTS_END, SEED_METRICS, demo as seed_demo_account};
pub use store::Store;

/// The default API key the sandbox accepts (an obvious fake).
pub const DEFAULT_API_KEY: &str = "pk_sandbox_not_a_real_key_0000000000";
/// How many requests the inspection log keeps by default.
pub const DEFAULT_REQUEST_LOG: usize = 5_000;
/// The largest request body accepted: the bulk endpoints' payload limit (5 MB) from the
/// core's table.
pub fn max_body_bytes() -> usize {
    klaviyo_bridge::operations::bulk_limit("bulk_create_events")
        .max_payload_bytes
        .expect("the table gives bulk_create_events a payload limit")
}

/// The sandbox account's id, also its public key for `/client/*` operations.
pub const ACCOUNT_ID: &str = "SANDBX";

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
    /// Fault specification (see [`Faults::parse`]); empty for none.
    pub faults: String,
    /// Seed for fault injection.
    pub seed: u64,
    /// How long a bulk job stays `queued` and then `processing`, each.
    pub job_step: Duration,
    /// The OAuth app the sandbox knows.
    pub oauth_client_id: String,
    /// Its client secret.
    pub oauth_client_secret: String,
    /// Lifetime of issued access tokens.
    pub token_ttl: Duration,
    /// Profiles to create at start (`seed{i}@example.com`), for load tests.
    pub seed_profiles: usize,
    /// Events to create at start, over five metrics and the year before 2026, for load tests.
    pub seed_events: usize,
    /// A ready-made account to start with: `Some("demo")` (see [`seed_demo_account`]).
    pub seed_data: Option<String>,
    /// How many of the latest requests `/__sandbox/requests` keeps.
    pub request_log: usize,
    /// How long a connection may take to send a request's headers, or sit idle between
    /// requests, before it is closed.
    pub header_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: DEFAULT_API_KEY.into(),
            rate_limits: RateLimits::Real,
            latency: Duration::ZERO,
            faults: String::new(),
            seed: 0,
            job_step: Duration::from_millis(20),
            oauth_client_id: "sandbox-client".into(),
            oauth_client_secret: "sandbox-client-secret-not-real".into(),
            token_ttl: Duration::from_secs(3600),
            seed_profiles: 0,
            seed_events: 0,
            seed_data: None,
            request_log: DEFAULT_REQUEST_LOG,
            header_timeout: Duration::from_secs(30),
        }
    }
}

/// One request as the sandbox received it (the credential redacted).
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoggedRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// The operation it matched, if any.
    pub operation: Option<&'static str>,
    /// Headers, lower-case names; `authorization` shows only its scheme.
    pub headers: HashMap<String, String>,
    /// Response status.
    pub status: u16,
}

/// A rate-limit window: (credential, operation, window length in seconds, window number).
pub(crate) type WindowKey = (String, &'static str, u64, u64);

/// Shared server state.
pub(crate) struct Shared {
    pub options: Options,
    /// The address the sandbox listens on.
    pub addr: SocketAddr,
    pub store: Mutex<Store>,
    pub faults: Faults,
    pub started: Instant,
    /// Requests counted per rate-limit window.
    pub windows: Mutex<HashMap<WindowKey, u32>>,
    /// Accepted Bearer tokens and when they expire (None: never).
    pub tokens: Mutex<HashMap<String, Option<Instant>>>,
    pub oauth: Mutex<oauth::OAuthState>,
    /// The latest requests, oldest first, at most `options.request_log`.
    pub log: Mutex<VecDeque<LoggedRequest>>,
    pub deliveries: mpsc::UnboundedSender<webhooks::Delivery>,
    /// Signalled whenever a job completes or a webhook delivery finishes.
    pub settled: tokio::sync::Notify,
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

    /// The account's public key (the `company_id` of `/client/*` operations).
    pub fn public_key(&self) -> &str {
        ACCOUNT_ID
    }

    /// Counts per resource, events per metric, jobs, and OAuth token grants, as
    /// `GET /__sandbox/state` returns.
    pub fn state(&self) -> Value {
        self.shared.state()
    }

    /// The latest requests received (at most [`Options::request_log`]), as
    /// `GET /__sandbox/requests` returns them.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.log.lock().unwrap().iter().cloned().collect()
    }

    /// Waits until every bulk job is complete and every queued webhook delivery has finished.
    pub async fn settled(&self) {
        self.shared.settled().await;
    }

    /// Empties the store and the request log, as `POST /__sandbox/reset` does.
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Issues a Bearer token that the sandbox accepts like the API key.
    pub fn issue_token(&self) -> String {
        let token = format!("sbx_at_{:032x}", rand::random::<u128>());
        self.shared
            .tokens
            .lock()
            .unwrap()
            .insert(token.clone(), None);
        token
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
    let faults = Faults::parse(&options.faults, options.seed)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    let addr = listener.local_addr()?;
    let (deliveries, queue) = mpsc::unbounded_channel();
    let mut store = emulation::new_account();
    match options.seed_data.as_deref() {
        None => {}
        Some("demo") => seed::demo(&mut store),
        Some(other) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("seed data {other:?} is unknown; the one ready-made account is \"demo\""),
            ));
        }
    }
    seed::seed(&mut store, options.seed_profiles, options.seed_events);
    let shared = Arc::new(Shared {
        options,
        addr,
        store: Mutex::new(store),
        faults,
        started: Instant::now(),
        windows: Mutex::default(),
        tokens: Mutex::default(),
        oauth: Mutex::default(),
        log: Mutex::default(),
        deliveries,
        settled: tokio::sync::Notify::new(),
    });
    tokio::spawn(webhooks::deliver(shared.clone(), queue));
    let app = handlers::router(shared.clone());
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(server::serve(
        listener,
        app,
        rx,
        shared.options.header_timeout,
    ));
    Ok(Sandbox {
        addr,
        shared,
        shutdown: Some(tx),
        task: Some(task),
    })
}

impl Shared {
    /// Keeps a request in the bounded log.
    pub(crate) fn log_request(&self, entry: LoggedRequest) {
        let mut log = self.log.lock().unwrap();
        if self.options.request_log == 0 {
            return;
        }
        while log.len() >= self.options.request_log {
            log.pop_front();
        }
        log.push_back(entry);
    }

    /// Waits until every bulk job is complete and every queued webhook delivery has finished.
    pub(crate) async fn settled(&self) {
        loop {
            let notified = self.settled.notified();
            tokio::pin!(notified);
            // Register before checking, so a completion between the check and the wait is seen.
            notified.as_mut().enable();
            if self.store.lock().unwrap().is_settled() {
                return;
            }
            notified.await;
        }
    }

    /// Empties the store and the request log, giving their memory back.
    pub(crate) fn reset(&self) {
        *self.store.lock().unwrap() = emulation::new_account();
        *self.log.lock().unwrap() = VecDeque::new();
    }

    pub(crate) fn state(&self) -> Value {
        let mut state = self.store.lock().unwrap().summary();
        let oauth = self.oauth.lock().unwrap();
        state["oauth"] = json!({"exchanges": oauth.exchanges, "refreshes": oauth.refreshes});
        state
    }
}

/// A JSON:API error response in Klaviyo's shape.
pub(crate) fn error(
    status: StatusCode,
    code: &str,
    detail: impl Into<String>,
    source: Option<Value>,
) -> Response {
    error_with_meta(status, code, detail, source, None)
}

/// A JSON:API error response with `meta` on the error object.
pub(crate) fn error_with_meta(
    status: StatusCode,
    code: &str,
    detail: impl Into<String>,
    source: Option<Value>,
    meta: Option<Value>,
) -> Response {
    let mut object = json!({
        "id": format!("{:08x}-sbx", rand::random::<u32>()),
        "status": status.as_u16(),
        "code": code,
        "title": status.canonical_reason().unwrap_or("Error"),
        "detail": detail.into(),
        "source": source.unwrap_or_else(|| json!({"pointer": "/data/"})),
    });
    if let Some(meta) = meta {
        object["meta"] = meta;
    }
    json_api(status, json!({ "errors": [object] }))
}

/// A JSON:API response; `Null` becomes an empty body (202/204).
pub(crate) fn json_api(status: StatusCode, body: Value) -> Response {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut response = (status, text).into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/vnd.api+json"),
    );
    response
}
