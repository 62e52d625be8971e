//! Client configuration: from the environment (`KLAVIYO_API_KEY`, `KLAVIYO_BASE_URL`,
//! `KLAVIYO_REVISION`, also read from a `.env` file) and from code through [`ClientBuilder`].

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::auth::{
    Credentials, Secret, StaticToken, TokenProvider, validate_private_key_for, validate_public_key,
};
use crate::error::{Error, Result};
use crate::operations::{RateLimit, SPEC_REVISION};
use crate::retry::RetryPolicy;

/// Klaviyo's production API host.
pub const DEFAULT_BASE_URL: &str = "https://a.klaviyo.com";
/// The API revision this release is built and tested against.
pub const DEFAULT_REVISION: &str = SPEC_REVISION;
/// Default whole-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub use crate::binding::Binding;

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// API base URL without a trailing slash.
    pub base_url: Url,
    /// `revision` header value.
    pub revision: String,
    /// Credentials for `/api/*` operations.
    pub credentials: Credentials,
    /// Public key (company id) for `/client/*` operations.
    pub public_key: Option<String>,
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Client-side rate limiting.
    pub rate_limit: bool,
    /// Where the account's rate-limit budget is shared (`redis://…`); `None` paces in memory.
    pub rate_limit_store: Option<Secret>,
    /// Full `User-Agent` value.
    pub user_agent: String,
    /// Per-operation limits that replace the table's (e.g. an OAuth app's own quota).
    pub rate_limit_overrides: Vec<(&'static str, RateLimit)>,
    /// Which front end is calling: argument names in messages are spelled its way.
    pub binding: Binding,
}

/// Builds a [`crate::Client`]. Start from [`ClientBuilder::new`] (nothing set) or
/// [`ClientBuilder::from_env`] (environment and `.env` read), then override.
#[derive(Debug, Clone, Default)]
pub struct ClientBuilder {
    api_key: Option<Secret>,
    public_key: Option<String>,
    token_provider: Option<TokenProviderHandle>,
    base_url: Option<String>,
    revision: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    rate_limit: Option<bool>,
    rate_limit_store: Option<Secret>,
    user_agent_suffix: Option<String>,
    binding: Binding,
    rate_limit_overrides: Vec<(String, RateLimit)>,
}

#[derive(Clone)]
struct TokenProviderHandle(Arc<dyn TokenProvider>);

impl std::fmt::Debug for TokenProviderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenProvider(..)")
    }
}

/// Client settings as plain data, for callers that build a client from keyword options (the
/// Python and Node bindings). Times are in seconds. Unset fields keep the builder's values.
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// Private API key (`pk_…`).
    pub api_key: Option<Secret>,
    /// OAuth access token (instead of a key).
    pub access_token: Option<Secret>,
    /// Public key for `/client/*` operations.
    pub public_key: Option<String>,
    /// API base URL.
    pub base_url: Option<String>,
    /// API revision.
    pub revision: Option<String>,
    /// Whole-request timeout, seconds.
    pub timeout: Option<f64>,
    /// Connect timeout, seconds.
    pub connect_timeout: Option<f64>,
    /// Retries after the first attempt.
    pub max_retries: Option<u32>,
    /// Longest wait before a retry, and for a client-side rate-limit slot, seconds.
    pub max_delay: Option<f64>,
    /// Longest wait for a client-side rate-limit slot when it should differ, seconds.
    pub rate_limit_wait: Option<f64>,
    /// Client-side rate limiting.
    pub rate_limit: Option<bool>,
    /// `redis://…` to share the account's rate-limit budget with other processes, or `memory`.
    pub rate_limit_store: Option<Secret>,
    /// Appended to the `User-Agent`.
    pub user_agent_suffix: Option<String>,
    /// HTTP statuses worth retrying (default 429, 500, 502, 503, 504, 524; a 5xx is retried only
    /// for a request that is safe to repeat).
    pub retry_statuses: Option<Vec<u16>>,
}

/// A positive, finite number of seconds as a duration.
pub fn seconds(value: f64, what: &str) -> Result<Duration> {
    if value.is_finite() && value > 0.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(Error::Config(format!(
            "{what} must be a positive number of seconds, not {value}"
        )))
    }
}

/// A time given as Unix seconds (a binding's `now=`, `expires_at=`), checked.
pub fn unix_time(value: f64, what: &str) -> Result<std::time::SystemTime> {
    Ok(std::time::UNIX_EPOCH + seconds_or_zero(value, what)?)
}

/// A finite number of seconds, zero or more, as a duration (delays, where none is allowed).
pub fn seconds_or_zero(value: f64, what: &str) -> Result<Duration> {
    if value == 0.0 {
        Ok(Duration::ZERO)
    } else {
        seconds(value, what)
    }
}

/// Reads a setting from the process environment, else from a `.env` file in the current
/// directory or its parents. The environment wins, as with the reference scripts.
pub fn env_setting(name: &str) -> Option<String> {
    if let Ok(value) = std::env::var(name) {
        return Some(value);
    }
    dotenvy::dotenv_iter()
        .ok()?
        .flatten()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value)
}

impl ClientBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder pre-filled from `KLAVIYO_API_KEY`, `KLAVIYO_PUBLIC_KEY`, `KLAVIYO_BASE_URL`,
    /// `KLAVIYO_REVISION` and `KLAVIYO_RATE_LIMIT_STORE` (environment first, then `.env`).
    pub fn from_env() -> Self {
        ClientBuilder {
            api_key: env_setting("KLAVIYO_API_KEY")
                .filter(|v| !v.is_empty())
                .map(Secret::new),
            public_key: env_setting("KLAVIYO_PUBLIC_KEY").filter(|v| !v.is_empty()),
            base_url: env_setting("KLAVIYO_BASE_URL").filter(|v| !v.is_empty()),
            revision: env_setting("KLAVIYO_REVISION").filter(|v| !v.is_empty()),
            rate_limit_store: env_setting("KLAVIYO_RATE_LIMIT_STORE")
                .filter(|v| !v.is_empty())
                .map(Secret::new),
            ..Self::default()
        }
    }

    /// Private API key (`pk_…`).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(Secret::new(key));
        self
    }

    /// Public key (6-character company id) for `/client/*` operations.
    pub fn public_key(mut self, key: impl Into<String>) -> Self {
        self.public_key = Some(key.into());
        self
    }

    /// Authenticate with a fixed OAuth access token.
    pub fn access_token(self, token: impl Into<String>) -> Self {
        self.token_provider(Arc::new(StaticToken(Secret::new(token))))
    }

    /// Authenticate with OAuth tokens from a provider (which may refresh them).
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.token_provider = Some(TokenProviderHandle(provider));
        self
    }

    /// API base URL (default `https://a.klaviyo.com`). `http://` only for loopback hosts.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// API revision (default the spec's, `2026-07-15`).
    pub fn revision(mut self, revision: impl Into<String>) -> Self {
        self.revision = Some(revision.into());
        self
    }

    /// Whole-request timeout (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Retry policy (default: 3 retries, 60 s max delay).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Shorthand for the retry count.
    pub fn max_retries(mut self, retries: u32) -> Self {
        let mut policy = self.retry.take().unwrap_or_default();
        policy.max_retries = retries;
        self.retry = Some(policy);
        self
    }

    /// Longest wait before a retry (a `Retry-After` included) and for a client-side
    /// rate-limit slot (default 60 s): a longer one fails the call instead.
    pub fn max_delay(mut self, limit: Duration) -> Self {
        let mut policy = self.retry.take().unwrap_or_default();
        policy.max_delay = limit;
        self.retry = Some(policy);
        self
    }

    /// Client-side rate limiting (default on).
    pub fn rate_limit(mut self, enabled: bool) -> Self {
        self.rate_limit = Some(enabled);
        self
    }

    /// Shares the account's rate-limit budget with every process that names the same store:
    /// `redis://host:port/db` (see [`crate::shared_budget`]), or `memory` for this process alone.
    pub fn rate_limit_store(mut self, url: impl Into<String>) -> Self {
        self.rate_limit_store = Some(Secret::new(url));
        self
    }

    /// Replaces the table's rate limits for one operation (validated at build time).
    pub fn rate_limit_override(
        mut self,
        operation_id: impl Into<String>,
        limit: RateLimit,
    ) -> Self {
        self.rate_limit_overrides.push((operation_id.into(), limit));
        self
    }

    /// Text appended to the `User-Agent` header (your app's name and version).
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// Which front end is calling (set by the bindings).
    pub fn binding(mut self, binding: Binding) -> Self {
        self.binding = binding;
        self
    }

    /// Applies plain options on top of what is set.
    pub fn options(mut self, o: ClientOptions) -> Result<Self> {
        if let Some(key) = o.api_key {
            self.api_key = Some(key);
        }
        if let Some(token) = o.access_token {
            self = self.token_provider(Arc::new(StaticToken(token)));
        }
        if let Some(key) = o.public_key {
            self = self.public_key(key);
        }
        if let Some(url) = o.base_url {
            self = self.base_url(url);
        }
        if let Some(revision) = o.revision {
            self = self.revision(revision);
        }
        if let Some(t) = o.timeout {
            self = self.timeout(seconds(t, "timeout")?);
        }
        if let Some(t) = o.connect_timeout {
            self = self.connect_timeout(seconds(t, "connect timeout")?);
        }
        if let Some(n) = o.max_retries {
            self = self.max_retries(n);
        }
        if let Some(t) = o.max_delay {
            self = self.max_delay(seconds(t, "max_delay")?);
        }
        if let Some(t) = o.rate_limit_wait {
            let mut policy = self.retry.take().unwrap_or_default();
            policy.rate_limit_wait = Some(seconds(t, "rate_limit_wait")?);
            self.retry = Some(policy);
        }
        if let Some(on) = o.rate_limit {
            self = self.rate_limit(on);
        }
        if let Some(store) = o.rate_limit_store {
            self.rate_limit_store = Some(store);
        }
        if let Some(suffix) = o.user_agent_suffix {
            self = self.user_agent_suffix(suffix);
        }
        if let Some(statuses) = o.retry_statuses {
            let mut policy = self.retry.take().unwrap_or_default();
            policy.retry_statuses = statuses;
            self.retry = Some(policy);
        }
        Ok(self)
    }

    /// Validates everything and returns the configuration.
    pub fn into_config(self) -> Result<Config> {
        let credentials = match (self.token_provider, self.api_key) {
            (Some(provider), _) => Credentials::OAuth(provider.0),
            (None, Some(key)) => {
                Credentials::ApiKey(validate_private_key_for(key.expose(), self.binding)?)
            }
            (None, None) if self.public_key.is_some() => Credentials::None,
            (None, None) => return Err(validate_private_key_for("", self.binding).unwrap_err()),
        };
        let public_key = self
            .public_key
            .as_deref()
            .map(validate_public_key)
            .transpose()?;
        let revision = self
            .revision
            .unwrap_or_else(|| DEFAULT_REVISION.to_string());
        validate_revision(&revision)?;
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        if timeout.is_zero() {
            return Err(Error::Config("timeout must be greater than zero".into()));
        }
        let suffix = self.user_agent_suffix.filter(|s| !s.trim().is_empty());
        if suffix
            .as_deref()
            .is_some_and(|s| s.chars().any(char::is_control))
        {
            return Err(Error::Config(
                "user agent suffix contains control characters".into(),
            ));
        }
        let mut user_agent = format!(
            "klaviyo-bridge/{} ({})",
            env!("CARGO_PKG_VERSION"),
            self.binding.as_str()
        );
        if let Some(suffix) = suffix {
            user_agent.push(' ');
            user_agent.push_str(suffix.trim());
        }
        let mut rate_limit_overrides = Vec::new();
        for (id, limit) in self.rate_limit_overrides {
            let op = crate::operations::require_operation(&id)
                .map_err(|e| Error::Config(e.to_string()))?;
            if limit.burst == 0 || limit.steady == 0 || limit.daily == Some(0) {
                return Err(Error::Config(format!(
                    "rate limit override for {id} must allow at least one request per window"
                )));
            }
            rate_limit_overrides.push((op.id, limit));
        }
        Ok(Config {
            rate_limit_overrides,
            base_url: validate_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?,
            revision,
            credentials,
            public_key,
            timeout,
            connect_timeout: self
                .connect_timeout
                .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
                .min(timeout),
            retry: self.retry.unwrap_or_default(),
            rate_limit: self.rate_limit.unwrap_or(true),
            rate_limit_store: self
                .rate_limit_store
                .filter(|s| !s.expose().is_empty() && s.expose() != "memory"),
            user_agent,
            binding: self.binding,
        })
    }

    /// Builds the client.
    pub fn build(self) -> Result<crate::Client> {
        crate::Client::from_config(self.into_config()?)
    }
}

/// Whether `url` names this machine (localhost, 127.0.0.0/8, ::1): the only hosts plain
/// http:// is allowed for, here and for webhook endpoints.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A webhook endpoint (`what` names it in the error): https://, or http:// on loopback;
/// paths and query strings are kept.
pub fn validate_endpoint_url(text: &str, what: &str) -> Result<Url> {
    let url = Url::parse(text.trim())
        .map_err(|e| Error::InvalidInput(format!("{what} {text:?} is not a URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(Error::InvalidInput(format!(
            "{what} must be https:// (http:// only for loopback hosts), got {:?}",
            url.scheme()
        ))),
    }
}

/// Accepts `https://host[:port][/]`, and `http://` only for loopback hosts (local tests).
pub fn validate_base_url(text: &str) -> Result<Url> {
    let url = Url::parse(text.trim())
        .map_err(|e| Error::Config(format!("base URL {text:?} is not a URL: {e}")))?;
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::Config(format!(
                "refusing plain http:// for {}: API keys would cross the network unencrypted; use https:// (http:// is allowed only for loopback hosts)",
                url.host_str().unwrap_or("?")
            )));
        }
        other => {
            return Err(Error::Config(format!(
                "base URL scheme {other:?} is not supported; use https://"
            )));
        }
    }
    if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(
            "base URL must not carry a query string or credentials".into(),
        ));
    }
    let mut url = url;
    let trimmed = url.path().trim_end_matches('/').to_string();
    url.set_path(&trimmed);
    Ok(url)
}

/// Whether the date exists (no month 13, no February 30).
fn is_calendar_date(year: i64, month: i64, day: i64) -> bool {
    (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && crate::time::civil_from_days(crate::time::days_from_civil(year, month, day))
            == (year, month as u32, day as u32)
}

/// A revision is `YYYY-MM-DD`, a real date, with an optional `.suffix` (e.g. `2026-07-15.pre`).
pub fn validate_revision(revision: &str) -> Result<()> {
    let (date, suffix) = revision
        .split_once('.')
        .map_or((revision, None), |(d, s)| (d, Some(s)));
    let parts: Vec<&str> = date.split('-').collect();
    let date_ok = parts.len() == 3
        && [4, 2, 2]
            .iter()
            .zip(&parts)
            .all(|(len, p)| p.len() == *len && p.chars().all(|c| c.is_ascii_digit()))
        && is_calendar_date(
            parts[0].parse().unwrap_or(0),
            parts[1].parse().unwrap_or(0),
            parts[2].parse().unwrap_or(0),
        );
    let suffix_ok =
        suffix.is_none_or(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()));
    if date_ok && suffix_ok {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "revision {revision:?} is malformed; use YYYY-MM-DD, e.g. {DEFAULT_REVISION}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "pk_test_0000000000000000000000000000";

    #[test]
    fn defaults_are_pinned() {
        let config = ClientBuilder::new().api_key(KEY).into_config().unwrap();
        assert_eq!(config.base_url.as_str(), "https://a.klaviyo.com/");
        assert_eq!(config.revision, "2026-07-15");
        assert_eq!(config.timeout, Duration::from_secs(60));
        assert_eq!(config.connect_timeout, Duration::from_secs(10));
        assert_eq!(config.retry.max_retries, 3);
        assert!(config.rate_limit);
        assert!(
            config.user_agent.starts_with("klaviyo-bridge/0.")
                && config.user_agent.ends_with("(rust)")
        );
    }

    #[test]
    fn refuses_plain_http_except_loopback() {
        assert!(
            validate_endpoint_url("http://127.0.0.2:8/hook?x=1", "endpoint")
                .unwrap()
                .as_str()
                .ends_with("/hook?x=1")
        );
        assert!(
            validate_endpoint_url("http://example.com/hook", "endpoint")
                .unwrap_err()
                .to_string()
                .contains("https://")
        );
        assert!(validate_endpoint_url("ftp://[::1]/", "endpoint").is_err());
        assert!(validate_base_url("http://127.0.0.1:8080/").is_ok());
        assert!(validate_base_url("http://localhost:1").is_ok());
        assert!(validate_base_url("http://[::1]:9").is_ok());
        let err = validate_base_url("http://api.example.com")
            .unwrap_err()
            .to_string();
        assert!(err.contains("refusing plain http://"), "{err}");
        assert!(validate_base_url("ftp://a.klaviyo.com").is_err());
        assert!(validate_base_url("https://u:p@a.klaviyo.com").is_err());
        assert_eq!(
            validate_base_url("https://a.klaviyo.com/base/")
                .unwrap()
                .path(),
            "/base"
        );
    }

    #[test]
    fn validates_revision_and_key_and_suffix() {
        assert!(validate_revision("2026-07-15").is_ok());
        assert!(validate_revision("2026-07-15.pre").is_ok());
        assert!(validate_revision("2026-7-15").is_err());
        assert!(validate_revision("latest").is_err());
        assert!(
            validate_revision("2026-13-45").is_err(),
            "no such month or day"
        );
        assert!(
            validate_revision("2026-02-29").is_err(),
            "2026 is no leap year"
        );
        assert!(validate_revision("2024-02-29").is_ok());
        assert!(
            ClientBuilder::new()
                .into_config()
                .unwrap_err()
                .to_string()
                .contains("KLAVIYO_API_KEY")
        );
        let err = ClientBuilder::new()
            .api_key("sk_live_x")
            .into_config()
            .unwrap_err();
        assert_eq!(err.code(), "config_error");
        let ua = ClientBuilder::new()
            .api_key(KEY)
            .binding(Binding::Python)
            .user_agent_suffix("shop/1.2")
            .into_config()
            .unwrap()
            .user_agent;
        assert!(ua.ends_with("(python) shop/1.2"), "{ua}");
        assert!(
            ClientBuilder::new()
                .api_key(KEY)
                .timeout(Duration::ZERO)
                .into_config()
                .is_err()
        );
    }

    #[test]
    fn plain_options_apply_over_the_builder_and_check_seconds() {
        let options = ClientOptions {
            api_key: Some(Secret::new(KEY)),
            timeout: Some(2.5),
            max_retries: Some(7),
            max_delay: Some(2.0),
            rate_limit_wait: Some(30.0),
            rate_limit: Some(false),
            ..Default::default()
        };
        let config = ClientBuilder::new()
            .revision("2026-01-15")
            .options(options)
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(
            (
                config.timeout,
                config.retry.max_retries,
                config.rate_limit,
                config.revision.as_str()
            ),
            (Duration::from_millis(2500), 7, false, "2026-01-15")
        );
        // Retries wait at most max_delay; a rate-limit slot, rate_limit_wait when given.
        assert_eq!(config.retry.max_delay, Duration::from_secs(2));
        assert_eq!(config.retry.slot_wait(), Duration::from_secs(30));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let err = ClientBuilder::new()
                .options(ClientOptions {
                    timeout: Some(bad),
                    ..Default::default()
                })
                .err()
                .unwrap();
            assert!(
                err.to_string()
                    .contains("timeout must be a positive number of seconds"),
                "{err}"
            );
        }
    }

    #[test]
    fn public_key_alone_allows_client_operations_only() {
        let config = ClientBuilder::new()
            .public_key("AbC123")
            .into_config()
            .unwrap();
        assert!(matches!(config.credentials, Credentials::None));
        assert!(
            ClientBuilder::new()
                .public_key("pk_nope")
                .into_config()
                .is_err()
        );
    }

    #[test]
    fn debug_output_of_builder_and_config_hides_the_key() {
        let builder = ClientBuilder::new().api_key(KEY);
        let config = builder.clone().into_config().unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("0000000000000000"), "{shown}");
        // The builder holds the raw string until validation; its Debug must hide it too.
        let shown = format!("{builder:?}");
        assert!(!shown.contains("0000000000000000"), "{shown}");
    }
}
