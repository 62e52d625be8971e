//! The Node face of the Rust core (napi-rs). Async calls go through one `dispatch` whose arms
//! turn camelCase JSON arguments into the core's types; errors cross as a JSON payload that
//! `index.js` turns into the matching `Error` subclass (napi async functions cannot carry a
//! custom error code). Everything else is the core's behaviour.

mod cancel;
mod dispatch;
mod errors;
mod export;
mod filter;
mod oauth;
mod operations;
mod results;
mod testing;
mod tracker;

use std::sync::Arc;
use std::time::SystemTime;

use napi::bindgen_prelude::{Buffer, Either, Function, JsObjectValue, Object};
use napi_derive::napi;
use serde_json::Value;
use tracing_subscriber::Layer;

use klaviyo_bridge::auth::Secret;
use klaviyo_bridge::webhook_signature::{self, SeenStore, VerifyOptions};
use klaviyo_bridge::{Binding, ClientBuilder, Pager};

use crate::errors::{js_error, usage};
// Free functions of the addon's modules (exported to JS by #[napi]).
pub use crate::filter::filter_expression;
pub use crate::oauth::{PkceCodes, pkce_codes};

/// Async calls run on a one-worker runtime, as in the Python binding: the work is I/O, and one
/// worker keeps cross-thread wake-ups (CPU per call) low.
#[napi_derive::module_init]
fn init() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("klaviyo-bridge-node")
        .enable_all()
        .build()
        .expect("cannot start the klaviyo-bridge runtime");
    napi::bindgen_prelude::create_custom_tokio_runtime(runtime);
}

/// Installs the printing of the Redis stores' warnings, once.
static STORE_WARNINGS: std::sync::Once = std::sync::Once::new();

/// The Redis stores' warnings (the shared budget's or tracker queue's store lost and found
/// again) go to stderr, as Python's `logging` shows them; nothing else of the core's logs is
/// printed. Installed only once a client or tracker uses a store, so the CLI's `--verbose`
/// (run_cli) keeps its own log.
fn log_store_warnings(core: &klaviyo_bridge::Client) {
    if core.config().rate_limit_store.is_some() {
        STORE_WARNINGS.call_once(install_store_warnings);
    }
}

fn install_store_warnings() {
    use tracing_subscriber::layer::SubscriberExt;
    let only = tracing_subscriber::filter::Targets::new()
        .with_target("klaviyo_bridge::redis_store", tracing::Level::WARN);
    let printed = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .without_time();
    let _ = tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(printed.with_filter(only)),
    );
}

/// Client options (camelCase in JS).
#[napi(object)]
pub struct ClientOptions {
    pub api_key: Option<String>,
    pub base_url: Option<String>,
    pub revision: Option<String>,
    /// Seconds.
    pub timeout: Option<f64>,
    /// Seconds.
    pub connect_timeout: Option<f64>,
    pub max_retries: Option<u32>,
    /// Seconds: the longest wait before a retry or for a rate-limit slot.
    pub max_delay: Option<f64>,
    /// Seconds: the longest wait for a rate-limit slot, when it should differ from maxDelay.
    pub rate_limit_wait: Option<f64>,
    pub rate_limit: Option<bool>,
    /// `redis://…` to share the account's budget with other processes (or `memory`).
    pub rate_limit_store: Option<String>,
    pub public_key: Option<String>,
    pub access_token: Option<String>,
    pub user_agent_suffix: Option<String>,
    /// HTTP statuses worth retrying (a 5xx only for a request safe to repeat).
    pub retry_statuses: Option<Vec<u16>>,
}

/// The core's builder from the environment and the JS options.
fn builder(options: Option<ClientOptions>) -> napi::Result<ClientBuilder> {
    let options = options.map(|o| klaviyo_bridge::ClientOptions {
        api_key: o.api_key.map(Secret::new),
        access_token: o.access_token.map(Secret::new),
        public_key: o.public_key,
        base_url: o.base_url,
        revision: o.revision,
        timeout: o.timeout,
        connect_timeout: o.connect_timeout,
        max_retries: o.max_retries,
        max_delay: o.max_delay,
        rate_limit_wait: o.rate_limit_wait,
        rate_limit: o.rate_limit,
        rate_limit_store: o.rate_limit_store.map(Secret::new),
        user_agent_suffix: o.user_agent_suffix,
        retry_statuses: o.retry_statuses,
    });
    ClientBuilder::from_env()
        .binding(Binding::Node)
        .options(options.unwrap_or_default())
        .map_err(js_error)
}

/// A Klaviyo client.
#[napi]
pub struct NativeClient {
    pub(crate) core: klaviyo_bridge::Client,
}

#[napi]
impl NativeClient {
    #[napi(constructor)]
    pub fn new(options: Option<ClientOptions>) -> napi::Result<Self> {
        let core = builder(options)?.build().map_err(js_error)?;
        log_store_warnings(&core);
        Ok(NativeClient { core })
    }

    /// A client authenticated by an OAuth app's tokens, refreshed as needed; `onRefresh`
    /// receives each refresh's tokens.
    #[napi(factory)]
    pub fn with_oauth(
        options: Option<ClientOptions>,
        app: &oauth::NativeOAuthApp,
        tokens: oauth::OAuthTokens,
        on_refresh: Option<
            napi::bindgen_prelude::Function<
                '_,
                oauth::OAuthTokens,
                napi::bindgen_prelude::Promise<()>,
            >,
        >,
        refresh_margin: Option<f64>,
    ) -> napi::Result<Self> {
        let provider = oauth::token_provider(app, tokens, on_refresh, refresh_margin)?;
        let core = builder(options)?
            .token_provider(provider)
            .build()
            .map_err(js_error)?;
        log_store_warnings(&core);
        Ok(NativeClient { core })
    }

    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.core
            .config()
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    #[napi(getter)]
    pub fn revision(&self) -> String {
        self.core.config().revision.clone()
    }

    /// The latest RateLimit-* reading, or null.
    #[napi(getter)]
    pub fn rate_limit_status(&self) -> Value {
        results::to_js(&self.core.rate_limit_status())
    }

    /// A description without the credential.
    #[napi]
    pub fn describe(&self) -> String {
        let auth = match self.core.config().credentials {
            klaviyo_bridge::auth::Credentials::ApiKey(_) => "api key",
            klaviyo_bridge::auth::Credentials::OAuth(_) => "oauth",
            klaviyo_bridge::auth::Credentials::None => "public key only",
        };
        format!(
            "Client {{ baseUrl: '{}', revision: '{}', auth: '{auth}' }}",
            self.base_url(),
            self.core.config().revision
        )
    }

    /// Calls `namespace.method(args)`; `cancel` is an id from `newCancel()`; `timeout` (seconds)
    /// bounds the whole call, retries included.
    #[napi]
    pub async fn dispatch(
        &self,
        namespace: String,
        method: String,
        args: Value,
        cancel: Option<u32>,
        timeout: Option<f64>,
    ) -> napi::Result<Value> {
        let core = self.core.clone();
        let limit = timeout
            .map(|t| klaviyo_bridge::config::seconds(t, "timeout"))
            .transpose()
            .map_err(js_error)?;
        cancel::run(cancel, async move {
            let call = dispatch::call(&core, &namespace, &method, args);
            match limit {
                None => call.await,
                Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                    Err(klaviyo_bridge::Error::Timeout {
                        operation: format!("{namespace}.{method}"),
                        elapsed: limit,
                    })
                }),
            }
        })
        .await
    }

    /// A background event tracker; `onError` receives each event finally not delivered.
    #[napi]
    pub fn tracker(
        &self,
        options: Option<tracker::TrackerArgs>,
        on_error: Option<napi::bindgen_prelude::Function<'_, Value, ()>>,
    ) -> napi::Result<tracker::NativeTracker> {
        let options = tracker::options(
            options.unwrap_or(tracker::TrackerArgs {
                flush_at: None,
                flush_interval: None,
                max_queue: None,
                max_batch_bytes: None,
                when_full: None,
                max_in_flight: None,
                spool_dir: None,
                queue: None,
                claim_after: None,
            }),
            on_error,
        )?;
        if options.queue.is_some() {
            STORE_WARNINGS.call_once(install_store_warnings);
        }
        Ok(tracker::NativeTracker {
            inner: self.core.tracker(options).map_err(js_error)?,
        })
    }

    /// Starts an export of one stream (see `Export`).
    #[napi]
    pub fn export(
        &self,
        stream: String,
        options: Option<export::ExportArgs>,
    ) -> napi::Result<export::NativeExport> {
        export::start(&self.core, &stream, options)
    }

    /// Opens a pager for a list method.
    #[napi]
    pub fn pager(
        &self,
        namespace: String,
        method: String,
        args: Value,
    ) -> napi::Result<PageCursor> {
        let pager = dispatch::pager(&self.core, &namespace, &method, args)?;
        Ok(PageCursor {
            pager: Arc::new(tokio::sync::Mutex::new(pager)),
        })
    }
}

/// Pages of a list operation, as raw JSON text for `JSON.parse`.
#[napi]
pub struct PageCursor {
    pub(crate) pager: Arc<tokio::sync::Mutex<Pager>>,
}

#[napi]
impl PageCursor {
    /// The next page's JSON bytes, or null after the last. Handed over as the body's own
    /// buffer (no copy, no UTF-8 check here): JS decodes it once, for `JSON.parse`.
    #[napi]
    pub async fn next_page_raw(&self, cancel: Option<u32>) -> napi::Result<Option<Buffer>> {
        let pager = self.pager.clone();
        cancel::run(cancel, async move {
            let page = pager.lock().await.next_page_raw().await?;
            Ok(page.map(|p| Buffer::from(Vec::from(p.body))))
        })
        .await
    }

    /// The cursor to resume from (null at the end).
    #[napi(getter)]
    pub fn cursor(&self) -> Option<String> {
        self.pager
            .try_lock()
            .ok()
            .and_then(|p| p.cursor().map(str::to_string))
    }
}

/// A new cancellation id, for one call's AbortSignal.
#[napi]
pub fn new_cancel() -> u32 {
    cancel::new()
}

/// Cancels the call(s) holding `id`.
#[napi]
pub fn cancel(id: u32) {
    cancel::cancel(id);
}

/// Forgets a cancellation id.
#[napi]
pub fn release_cancel(id: u32) {
    cancel::release(id);
}

/// Webhook verification options.
#[napi(object)]
pub struct VerifyArgs {
    pub secret: Value,
    /// Seconds (default 300).
    pub tolerance: Option<f64>,
    /// Unix seconds (default now).
    pub now: Option<f64>,
    /// "body" (default) or "header".
    pub timestamp_source: Option<String>,
}

/// Verifies a webhook delivery; returns the parsed delivery or throws. With `seen` (a
/// MemorySeenStore, or an object with `firstTime(key): boolean`), a delivery already
/// processed fails the "replay" check.
#[napi]
pub fn verify(
    body: Buffer,
    headers: Value,
    options: VerifyArgs,
    seen: Option<Either<&MemorySeenStore, Object<'_>>>,
) -> napi::Result<Value> {
    let pairs: Vec<(String, String)> = match headers {
        Value::Object(map) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Array(values) => values
                    .first()
                    .and_then(Value::as_str)
                    .map(|s| (k, s.to_string())),
                _ => None,
            })
            .collect(),
        _ => return Err(usage("headers must be an object")),
    };
    let secrets = match options.secret {
        Value::String(s) => vec![s],
        Value::Array(items) => items
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => return Err(usage("secret must be a string or an array of strings")),
    };
    let opts = VerifyOptions::from_args(
        secrets,
        options.tolerance,
        options.now,
        options.timestamp_source.as_deref(),
        Binding::Node,
    )
    .map_err(js_error)?;
    let headers = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let delivery = match seen {
        None => webhook_signature::verify(&body, headers, &opts),
        Some(Either::A(native)) => {
            webhook_signature::verify_once(&body, headers, &opts, &native.inner)
        }
        Some(Either::B(object)) => {
            let custom = CustomSeenStore {
                object,
                error: Default::default(),
            };
            let outcome = webhook_signature::verify_once(&body, headers, &opts, &custom);
            if let Some(error) = custom.error.take() {
                return Err(error);
            }
            outcome
        }
    }
    .map_err(js_error)?;
    Ok(results::to_js(&delivery))
}

/// Remembers processed deliveries in memory for `retentionSeconds` (default: the core's
/// `DEFAULT_SEEN_RETENTION`, twice the freshness tolerance).
#[napi]
pub struct MemorySeenStore {
    inner: webhook_signature::MemorySeenStore,
}

#[napi]
impl MemorySeenStore {
    #[napi(constructor)]
    pub fn new(retention_seconds: Option<f64>) -> napi::Result<Self> {
        Ok(MemorySeenStore {
            inner: webhook_signature::MemorySeenStore::with_retention_seconds(retention_seconds)
                .map_err(js_error)?,
        })
    }

    /// Records `key`; false when it was already recorded.
    #[napi]
    pub fn first_time(&self, key: String) -> bool {
        self.inner.first_time(&key, SystemTime::now())
    }
}

/// A store written in JS: `firstTime(key) -> boolean`. Its exception is rethrown after the call.
struct CustomSeenStore<'env> {
    object: Object<'env>,
    error: std::cell::RefCell<Option<napi::Error>>,
}

impl SeenStore for CustomSeenStore<'_> {
    fn first_time(&self, key: &str, _now: SystemTime) -> bool {
        let outcome = self
            .object
            .get_named_property::<Function<'_, String, bool>>("firstTime")
            .and_then(|f| f.apply(self.object, key.to_string()));
        match outcome {
            Ok(first) => first,
            Err(e) => {
                *self.error.borrow_mut() = Some(e);
                false
            }
        }
    }
}

/// Signing options.
#[napi(object)]
pub struct SignArgs {
    pub secret: String,
    pub webhook_id: Option<String>,
    /// Unix seconds (default now).
    pub timestamp: Option<f64>,
}

/// The headers Klaviyo would send with `body`.
#[napi]
pub fn sign(body: Buffer, options: SignArgs) -> napi::Result<Value> {
    let at = options
        .timestamp
        .map(|t| klaviyo_bridge::config::unix_time(t, "timestamp"))
        .transpose()
        .map_err(js_error)?
        .unwrap_or_else(SystemTime::now);
    let headers = webhook_signature::sign(
        &body,
        &options.secret,
        options.webhook_id.as_deref().unwrap_or("test-webhook"),
        at,
    );
    Ok(Value::Object(
        headers
            .pairs()
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect(),
    ))
}

/// Runs the klaviyo-client / klaviyo-dev-tools CLI (blocking; for the npm bins).
#[napi]
pub fn run_cli(program: String, argv: Vec<String>) -> napi::Result<i32> {
    let program = match program.as_str() {
        "client" => klaviyo_cli::Program::Client,
        "dev-tools" => klaviyo_cli::Program::DevTools,
        other => return Err(usage(format!("unknown program {other:?}"))),
    };
    Ok(klaviyo_cli::run(
        program,
        argv.into_iter().map(Into::into).collect(),
        Binding::Node,
    ))
}

/// The API revision this build pins by default.
#[napi]
pub fn default_revision() -> &'static str {
    klaviyo_bridge::config::DEFAULT_REVISION
}
