//! The client and its request pipeline: auth headers, client-side rate limiting, retries with
//! backoff, typed errors. Every call, typed or generic, goes through [`Client::execute`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use serde_json::Value;
use tokio::time::Instant;

use crate::auth::Credentials;
use crate::config::{ClientBuilder, Config};
use crate::error::{ApiError, Error, Result};
use crate::operations::{Operation, require_operation};
use crate::rate_limit::{RateLimitHeaders, RateLimitReading, RateLimiter, Wait};
use crate::resource::Document;
use crate::retry::{Failure, RetryPolicy, is_idempotent, parse_retry_after};

const JSON_API: &str = "application/vnd.api+json";

/// Options for one request, overriding the client's.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// Whole-request timeout for this call.
    pub timeout: Option<Duration>,
    /// `revision` header for this call.
    pub revision: Option<String>,
    /// Retry count for this call.
    pub max_retries: Option<u32>,
    /// Declare the call safe (or unsafe) to repeat, overriding the operation's default.
    pub idempotent: Option<bool>,
    /// The body's media type when it is not JSON:API (a multipart upload).
    pub content_type: Option<String>,
}

/// A request to any operation of the API, by operation id.
#[derive(Debug, Clone)]
pub struct Request {
    /// The spec's `operationId`.
    pub operation_id: String,
    /// Path parameters (`id`, `related_id`…).
    pub path: Vec<(String, String)>,
    /// Query parameters, e.g. `("filter", "equals(email,\"a@b.com\")")`.
    pub query: Vec<(String, String)>,
    /// JSON:API request body.
    pub body: Option<Value>,
    /// Per-request options.
    pub options: RequestOptions,
}

impl Request {
    /// A request to `operation_id` with nothing else set.
    pub fn new(operation_id: impl Into<String>) -> Self {
        Request {
            operation_id: operation_id.into(),
            path: Vec::new(),
            query: Vec::new(),
            body: None,
            options: RequestOptions::default(),
        }
    }

    /// Adds a path parameter.
    pub fn path_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.path.push((name.into(), value.into()));
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// Sets per-request options.
    pub fn options(mut self, options: RequestOptions) -> Self {
        self.options = options;
        self
    }
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status (2xx).
    pub status: u16,
    /// Request id header, if any.
    pub request_id: Option<String>,
    /// Rate-limit headers.
    pub rate_limit: RateLimitHeaders,
    /// Every response header (for a drop-in whose callers read them).
    pub headers: reqwest::header::HeaderMap,
    /// The raw body.
    pub body: Bytes,
    operation: &'static str,
}

impl Response {
    /// The body as JSON (`Null` for an empty body, e.g. 202/204).
    pub fn json(&self) -> Result<Value> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| Error::Decode {
            operation: self.operation.to_string(),
            status: self.status,
            message: e.to_string(),
            snippet: crate::error::snippet(&self.body),
        })
    }

    /// The body as a JSON:API document.
    pub fn document(&self) -> Result<Document> {
        self.json().map(Document::new)
    }
}

struct Inner {
    config: Config,
    /// Rebuilt after fork(): a connection pool cannot cross into a child process.
    http: crate::runtime::ForkLocal<reqwest::Client>,
    limiter: RateLimiter,
}

/// A Klaviyo API client. Cheap to clone; clones share connections and rate-limit state.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.inner.config;
        f.debug_struct("Client")
            .field("base_url", &c.base_url.as_str())
            .field("revision", &c.revision)
            .field("credentials", &c.credentials)
            .field("rate_limit", &c.rate_limit)
            .finish_non_exhaustive()
    }
}

enum SendFailure {
    Status {
        status: u16,
        headers: HeaderMap,
        body: Bytes,
    },
    Transport {
        failure: Failure,
        error: Error,
    },
}

impl Client {
    /// A builder with nothing set.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured from `KLAVIYO_API_KEY`, `KLAVIYO_BASE_URL`, `KLAVIYO_REVISION`
    /// (environment, then `.env`).
    pub fn from_env() -> Result<Self> {
        ClientBuilder::from_env().build()
    }

    /// A client from a validated configuration.
    pub fn from_config(config: Config) -> Result<Self> {
        // Build once now so that a TLS or configuration problem surfaces here, not mid-call.
        let http = crate::runtime::ForkLocal::new();
        let first = build_http(&config)?;
        http.get(|| first);
        let mut limiter =
            RateLimiter::with_overrides(config.rate_limit, config.rate_limit_overrides.clone());
        if let (Some(store), true) = (&config.rate_limit_store, config.rate_limit) {
            limiter = limiter.sharing(crate::shared_budget::SharedBudget::new(
                store,
                config.credentials.api_key(),
            )?);
        }
        Ok(Client {
            inner: Arc::new(Inner {
                config,
                http,
                limiter,
            }),
        })
    }

    fn http(&self) -> &reqwest::Client {
        self.inner
            .http
            .get(|| build_http(&self.inner.config).expect("the HTTP client was built once already"))
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The latest `RateLimit-*` reading seen on any response.
    pub fn rate_limit_status(&self) -> Option<RateLimitReading> {
        self.inner.limiter.latest()
    }

    /// Calls any operation of the API by its operation id, with the full pipeline.
    ///
    /// ```no_run
    /// # async fn demo(client: klaviyo_bridge::Client) -> klaviyo_bridge::Result<()> {
    /// let accounts = client.request("get_accounts", &[], &[], None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        operation_id: &str,
        path: &[(&str, &str)],
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<Document> {
        let mut request = Request::new(operation_id);
        request.path = path
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        request.query = query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        request.body = body;
        self.send(request).await?.document()
    }

    /// Sends a [`Request`] and returns the raw response.
    pub async fn send(&self, request: Request) -> Result<Response> {
        let op = require_operation(&request.operation_id)?;
        let path: Vec<(&str, &str)> = request
            .path
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let path = op.render_path(&path)?;
        let body = match request.body {
            Some(body) => {
                if !op.has_body {
                    return Err(Error::InvalidInput(format!(
                        "{} takes no request body",
                        op.id
                    )));
                }
                Some(Bytes::from(
                    serde_json::to_vec(&body).map_err(|e| Error::InvalidInput(e.to_string()))?,
                ))
            }
            None => None,
        };
        self.execute(op, &path, &request.query, body, &request.options)
            .await
    }

    /// Runs one operation through the pipeline: rate limiter, auth, send, retry, errors.
    pub async fn execute(
        &self,
        op: &'static Operation,
        path: &str,
        query: &[(String, String)],
        body: Option<Bytes>,
        options: &RequestOptions,
    ) -> Result<Response> {
        // Boxed: the pipeline's state is large, and a caller that awaits many operations in
        // one function (the generated sweep) would carry it on its stack for each.
        Box::pin(self.execute_from(op, path, query, body, options, false)).await
    }

    /// Takes one of `op`'s rate-limit slots now, for a request that [`Client::execute_acquired`]
    /// sends later (the tracker packs a job while it waits for its turn).
    pub(crate) async fn acquire(&self, op: &'static Operation) -> Result<()> {
        self.inner
            .limiter
            .acquire(op, self.inner.config.retry.slot_wait())
            .await
            .map_err(|wait| client_side_limit(op, wait))
    }

    /// [`Client::execute`] whose first attempt uses a slot [`Client::acquire`] took.
    pub(crate) async fn execute_acquired(
        &self,
        op: &'static Operation,
        path: &str,
        body: Option<Bytes>,
        options: &RequestOptions,
    ) -> Result<Response> {
        self.execute_from(op, path, &[], body, options, true).await
    }

    async fn execute_from(
        &self,
        op: &'static Operation,
        path: &str,
        query: &[(String, String)],
        body: Option<Bytes>,
        options: &RequestOptions,
        mut slot_taken: bool,
    ) -> Result<Response> {
        let config = &self.inner.config;
        // Borrowed unless this call overrides the retry count: nothing is cloned per request.
        let policy = match options.max_retries {
            Some(max_retries) => std::borrow::Cow::Owned(RetryPolicy {
                max_retries,
                ..config.retry.clone()
            }),
            None => std::borrow::Cow::Borrowed(&config.retry),
        };
        let idempotent = options.idempotent.unwrap_or_else(|| is_idempotent(op));
        let url = self.url(op, path, query)?;
        let mut attempt = 0u32;
        let mut refreshed_token = false;
        loop {
            if !std::mem::take(&mut slot_taken)
                && let Err(wait) = self.inner.limiter.acquire(op, policy.slot_wait()).await
            {
                return Err(client_side_limit(op, wait));
            }
            let started = Instant::now();
            let token = match &config.credentials {
                Credentials::OAuth(provider) if !op.client_side => {
                    Some(provider.access_token().await?)
                }
                _ => None,
            };
            let auth = if op.client_side {
                None
            } else {
                Some(self.authorization(op, token.as_ref())?)
            };
            let result = self.send_once(op, &url, body.clone(), auth, options).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let (failure, error, retry_after) = match result {
                Ok((status, headers, body)) => {
                    let rate = RateLimitHeaders::from_headers(&headers);
                    let pause = self.inner.limiter.observe(op, &rate, None, Instant::now());
                    self.share_pause(op, pause).await;
                    tracing::debug!(
                        operation = op.id,
                        attempt,
                        status,
                        elapsed_ms,
                        remaining = rate.remaining,
                        "klaviyo request"
                    );
                    return Ok(Response {
                        status,
                        request_id: crate::error::request_id(&headers),
                        rate_limit: rate,
                        headers,
                        body,
                        operation: op.id,
                    });
                }
                Err(SendFailure::Status {
                    status,
                    headers,
                    body,
                }) => {
                    let retry_after = headers
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, SystemTime::now()));
                    let api_error = ApiError::from_response(op.id, status, &headers, &body);
                    let pause = self.inner.limiter.observe(
                        op,
                        &api_error.rate_limit,
                        if status == 429 { retry_after } else { None },
                        Instant::now(),
                    );
                    self.share_pause(op, pause).await;
                    tracing::debug!(
                        operation = op.id,
                        attempt,
                        status,
                        elapsed_ms,
                        "klaviyo request failed"
                    );
                    if let (401, false, Credentials::OAuth(provider), Some(token)) =
                        (status, refreshed_token, &config.credentials, &token)
                    {
                        refreshed_token = true;
                        provider.invalidate(token).await?;
                        continue;
                    }
                    (
                        Failure::Status(status),
                        Error::from_api(api_error, retry_after),
                        retry_after,
                    )
                }
                Err(SendFailure::Transport { failure, error }) => {
                    tracing::debug!(operation = op.id, attempt, elapsed_ms, error = %error, "klaviyo request failed");
                    (failure, error, None)
                }
            };
            if !policy.should_retry(attempt, failure, idempotent) {
                return Err(error);
            }
            // Jitter only when a retry waits: no per-request seeding from the OS.
            let delay = policy.delay(attempt, retry_after, &mut rand::rng());
            tracing::debug!(
                operation = op.id,
                attempt,
                delay_ms = delay.as_millis() as u64,
                code = error.code(),
                "retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// A pause the server asked for, passed to every process sharing the budget.
    async fn share_pause(&self, op: &'static Operation, pause: Option<Duration>) {
        if let (Some(pause), Some(shared)) = (pause, self.inner.limiter.shared()) {
            shared
                .pause(op, pause, crate::shared_budget::STORE_TIMEOUT)
                .await;
        }
    }

    fn url(&self, op: &Operation, path: &str, query: &[(String, String)]) -> Result<url::Url> {
        let config = &self.inner.config;
        let mut url = config.base_url.clone();
        let base_path = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base_path}{path}"));
        {
            let mut pairs = url.query_pairs_mut();
            if op.client_side {
                let company_id = config.public_key.as_deref().ok_or_else(|| {
                    Error::Config(format!("{} is a /client/* operation: set the public key (KLAVIYO_PUBLIC_KEY or public_key)", op.id))
                })?;
                pairs.append_pair("company_id", company_id);
            }
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        Ok(url)
    }

    /// The `Authorization` header for an `/api/*` operation, marked sensitive so it never
    /// shows in debug output.
    fn authorization(
        &self,
        op: &Operation,
        token: Option<&crate::auth::Secret>,
    ) -> Result<HeaderValue> {
        let text = match (&self.inner.config.credentials, token) {
            (_, Some(token)) => format!("Bearer {}", token.expose()),
            (Credentials::ApiKey(key), None) => format!("Klaviyo-API-Key {}", key.expose()),
            _ => {
                return Err(Error::Config(format!(
                    "{} needs a private API key or OAuth token; a public key only reaches /client/* operations",
                    op.id
                )));
            }
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            Error::Config("the credential contains characters not allowed in a header".into())
        })?;
        value.set_sensitive(true);
        Ok(value)
    }

    async fn send_once(
        &self,
        op: &'static Operation,
        url: &url::Url,
        body: Option<Bytes>,
        auth: Option<HeaderValue>,
        options: &RequestOptions,
    ) -> std::result::Result<(u16, HeaderMap, Bytes), SendFailure> {
        let config = &self.inner.config;
        let timeout = options.timeout.unwrap_or(config.timeout);
        let mut request = self
            .http()
            .request(op.method.as_reqwest(), url.clone())
            .timeout(timeout)
            .header(ACCEPT, JSON_API)
            .header(USER_AGENT, &config.user_agent)
            .header(
                "revision",
                options.revision.as_deref().unwrap_or(&config.revision),
            );
        if let Some(auth) = auth {
            request = request.header(AUTHORIZATION, auth);
        }
        if let Some(body) = body {
            let media = options.content_type.as_deref().unwrap_or(JSON_API);
            request = request.header(CONTENT_TYPE, media).body(body);
        }
        let transport = |e: reqwest::Error| {
            let (failure, error) = if e.is_timeout() {
                (
                    Failure::Read,
                    Error::Timeout {
                        operation: op.id.to_string(),
                        elapsed: timeout,
                    },
                )
            } else if e.is_connect() {
                (
                    Failure::Connect,
                    Error::Network {
                        operation: op.id.to_string(),
                        message: describe(&e),
                    },
                )
            } else {
                (
                    Failure::Read,
                    Error::Network {
                        operation: op.id.to_string(),
                        message: describe(&e),
                    },
                )
            };
            SendFailure::Transport { failure, error }
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(transport)?;
        if (200..300).contains(&status) {
            Ok((status, headers, body))
        } else {
            Err(SendFailure::Status {
                status,
                headers,
                body,
            })
        }
    }
}

fn build_http(config: &Config) -> Result<reqwest::Client> {
    crate::tls::http_client_builder()
        .connect_timeout(config.connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .build()
        .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))
}

/// What failed, with its causes, without the URL (ours, and nothing the caller needs).
fn describe(error: &reqwest::Error) -> String {
    let mut text = String::from(if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the response body broke off"
    } else {
        "the request failed"
    });
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn client_side_limit(op: &Operation, wait: Wait) -> Error {
    let mut error = ApiError::from_response(op.id, 429, &HeaderMap::new(), b"");
    error.errors.push(crate::error::ErrorObject {
        code: Some("client_rate_limited".into()),
        detail: Some(format!(
            "client-side {} limit for {} reached; the next slot opens in {:.0}s (limits: {}/s, {}/min{})",
            wait.limit,
            op.id,
            wait.duration.as_secs_f64(),
            op.rate_limit.burst,
            op.rate_limit.steady,
            op.rate_limit.daily.map(|d| format!(", {d}/day")).unwrap_or_default()
        )),
        ..Default::default()
    });
    Error::RateLimited {
        error: Box::new(error),
        retry_after: Some(wait.duration),
    }
}
