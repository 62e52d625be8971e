//! What the Redis-backed features (the shared rate-limit budget, the shared tracker queue)
//! have in common: the store's URL, checked, with its password kept out of every message and
//! the account named by a SHA-256 of the credential, never the credential; and the store's
//! health, so that an outage is warned about once when it starts and once when it ends.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::auth::Secret;
use crate::error::{Error, Result};

/// The longest a store call may take before the caller goes on without the store.
pub const STORE_TIMEOUT: Duration = Duration::from_millis(250);
/// How long after a failed store call the process works alone before trying Redis again.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// Where a store URL points, with any user and password left out.
pub fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}{}{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or(""),
            parsed.port().map(|p| format!(":{p}")).unwrap_or_default(),
            parsed.path()
        ),
        Err(_) => "an unparsable URL".into(),
    }
}

/// A checked store URL.
pub struct Store {
    /// The Redis client (it connects on first use).
    pub client: redis::Client,
    /// Where the store is, without credentials, for messages.
    pub address: String,
    /// 24 hex digits naming the account: a hash of the credential or of the given name.
    pub account: String,
}

/// Checks `url`, the value of the option `option`, for the account `credential` (the
/// private API key) identifies, or the one a `NAME=…` query parameter names (`name_param`:
/// OAuth clients must name it, since their access tokens change on every refresh).
/// `purpose` keeps the hashes of different features apart.
pub fn open(
    url: &Secret,
    option: &str,
    name_param: &str,
    credential: Option<&str>,
    purpose: &str,
) -> Result<Store> {
    let address = redacted(url.expose());
    let mut parsed = url::Url::parse(url.expose()).map_err(|e| {
        Error::Config(format!(
            "{option} {address} is not a URL ({e}): use redis://host:port/db"
        ))
    })?;
    match parsed.scheme() {
        "redis" => {}
        "rediss" => {
            return Err(Error::Config(format!(
                "{option} {address}: TLS to Redis (rediss://) is not in this build; use redis:// on a private network"
            )));
        }
        other => {
            return Err(Error::Config(format!(
                "{option} {address}: {other}:// is not a store; use redis://host:port/db"
            )));
        }
    }
    let named = parsed
        .query_pairs()
        .find(|(k, _)| k == name_param)
        .map(|(_, v)| v.into_owned());
    let rest: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| k != name_param)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed.set_query(None);
    if !rest.is_empty() {
        parsed.query_pairs_mut().extend_pairs(rest);
    }
    let identity = match (named, credential) {
        (Some(name), _) => format!("{name_param}\0{name}"),
        (None, Some(key)) => format!("key\0{key}"),
        (None, None) => {
            return Err(Error::Config(format!(
                "{option} {address}: with OAuth, name the installed account: add ?{name_param}=ACCOUNT_ID (every process of that account must use the same name)"
            )));
        }
    };
    let client = redis::Client::open(parsed.as_str()).map_err(|e| {
        Error::Config(format!(
            "{option} {address} is not a Redis URL ({:?}): use redis://host:port/db",
            e.kind()
        ))
    })?;
    let digest = Sha256::digest(format!("klaviyo-bridge {purpose}\0{identity}"));
    Ok(Store {
        client,
        address,
        account: digest[..12].iter().map(|b| format!("{b:02x}")).collect(),
    })
}

/// Whether the store answered lately: one warning when it stops answering, one when it
/// answers again, and no call to it for [`RETRY_AFTER_FAILURE`] after a failure.
#[derive(Debug)]
pub struct Health {
    /// What the store is to the user ("rate-limit store", "tracker queue").
    what: &'static str,
    address: String,
    /// What the process does while the store is away (ends the first warning).
    meanwhile: String,
    /// What the process does again once the store is back.
    again: &'static str,
    /// Set while the store is away: when to try it again.
    down_until: Mutex<Option<Instant>>,
}

impl Health {
    /// The health of the `what` at `address` (redacted); `meanwhile` and `again` finish the
    /// warnings ("{what} unreachable; {meanwhile}", "{what} reachable again; {again}").
    pub fn new(what: &'static str, address: &str, meanwhile: String, again: &'static str) -> Self {
        Health {
            what,
            address: address.to_string(),
            meanwhile,
            again,
            down_until: Mutex::new(None),
        }
    }

    /// Whether to ask the store now (false while it is away, until the retry time).
    pub fn available(&self) -> bool {
        self.down_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none_or(|until| Instant::now() >= until)
    }

    /// Whether the store was away at its last call.
    pub fn is_down(&self) -> bool {
        self.down_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some()
    }

    /// Notes an answer or a failure.
    pub fn record<T>(&self, outcome: &std::result::Result<T, String>) {
        let mut down_until = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        match (outcome, *down_until) {
            (Ok(_), Some(_)) => {
                *down_until = None;
                tracing::warn!(store = %self.address, "{} reachable again; {}", self.what, self.again);
            }
            (Ok(_), None) => {}
            (Err(reason), None) => {
                *down_until = Some(Instant::now() + RETRY_AFTER_FAILURE);
                tracing::warn!(
                    store = %self.address,
                    reason = %reason,
                    "{} unreachable; {}",
                    self.what,
                    self.meanwhile
                );
            }
            (Err(_), Some(_)) => *down_until = Some(Instant::now() + RETRY_AFTER_FAILURE),
        }
    }
}

/// Runs one store call within `limit`; a late answer is a failure.
pub async fn within<T>(
    limit: Duration,
    call: impl std::future::Future<Output = std::result::Result<T, String>>,
) -> std::result::Result<T, String> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", limit.as_millis())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_in_messages_has_no_password() {
        assert_eq!(
            redacted("redis://:hunter2@cache.internal:6380/2"),
            "redis://cache.internal:6380/2"
        );
        assert_eq!(
            redacted("redis://user:hunter2@10.0.0.5"),
            "redis://10.0.0.5"
        );
    }

    #[test]
    fn bad_urls_are_configuration_errors_that_hide_the_password() {
        let open = |url: &str| {
            open(&Secret::new(url), "queue", "queue", Some("k"), "t")
                .err()
                .unwrap()
                .to_string()
        };
        let error = open("rediss://:hunter2@h:1");
        assert!(
            error.contains("TLS") && !error.contains("hunter2"),
            "{error}"
        );
        let error = open("http://:hunter2@h:1");
        assert!(
            error.contains("queue http://h:1/: http:// is not a store"),
            "{error}"
        );
    }

    #[test]
    fn purposes_and_credentials_name_different_accounts() {
        let account = |url: &str, key: Option<&str>, purpose: &str| {
            open(&Secret::new(url), "o", "queue", key, purpose)
                .map(|s| s.account)
                .map_err(|e| e.to_string())
        };
        let a = account("redis://h:1", Some("pk_a"), "queue").unwrap();
        assert_ne!(a, account("redis://h:1", Some("pk_b"), "queue").unwrap());
        assert_ne!(a, account("redis://h:1", Some("pk_a"), "budget").unwrap());
        assert_eq!(
            account("redis://h:1/0?queue=ACME", Some("pk_a"), "queue"),
            account("redis://h:1/0?queue=ACME", None, "queue")
        );
        let error = account("redis://h:1/0", None, "queue").unwrap_err();
        assert!(error.contains("?queue=ACCOUNT_ID"), "{error}");
    }
}
