//! One rate-limit budget for every process and host that uses an account: the limiter's
//! windows kept in Redis (`rate_limit_store = "redis://…"`, env `KLAVIYO_RATE_LIMIT_STORE`).
//!
//! Klaviyo counts per account, so eight workers that each pace themselves to the full limit
//! send eight times it. Here each operation's sliding-window log (the same algorithm as the
//! in-memory limiter: burst, steady and daily windows with the same margin) is a sorted set in
//! Redis, checked and appended by one Lua script, atomically, on the server's clock; a
//! server-directed pause (`Retry-After`, `RateLimit-Remaining: 0`) is a key with a TTL that
//! every process honours. Keys are named by a SHA-256 of the credential, never the credential.
//!
//! When Redis is unreachable or slow, the process paces itself locally at [`FALLBACK_SHARE`]
//! of each limit, logs one warning, keeps working, and tries Redis again after
//! [`RETRY_AFTER_FAILURE`]; a store call never takes longer than [`STORE_TIMEOUT`] (or the
//! request's own timeout, when shorter).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::auth::Secret;
use crate::error::Result;
use crate::operations::{Operation, RateLimit};
use crate::redis_store::{Health, within};
pub use crate::redis_store::{RETRY_AFTER_FAILURE, STORE_TIMEOUT, redacted};
use crate::runtime::ForkLocal;

/// The share of each limit a process takes while it cannot reach the store: with up to four
/// processes per account falling back at once, together they still stay under the limit.
pub const FALLBACK_SHARE: f64 = 0.25;

/// Checks the operation's windows and takes a slot, or answers how long to wait and why.
/// KEYS: the steady log, the daily log, the pause key. ARGV: burst, steady, daily (0: none),
/// margin ms, a unique member suffix. Returns {wait_ms, limit}.
const ACQUIRE: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local burst, steady, daily, margin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local wait, limit = 0, 'none'
local paused = redis.call('PTTL', KEYS[3])
if paused > 0 then wait, limit = paused, 'server' end
local steady_span = 60000 + margin * 4
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - steady_span + 1))
local n = redis.call('ZCARD', KEYS[1])
if n >= burst then
  local at = tonumber(redis.call('ZRANGE', KEYS[1], n - burst, n - burst, 'WITHSCORES')[2])
  local w = at + 1000 + margin - now
  if w > wait then wait, limit = w, 'burst' end
end
if n >= steady then
  local at = tonumber(redis.call('ZRANGE', KEYS[1], n - steady, n - steady, 'WITHSCORES')[2])
  local w = at + steady_span - now
  if w > wait then wait, limit = w, 'steady' end
end
if daily > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - 86400000 + 1))
  local d = redis.call('ZCARD', KEYS[2])
  if d >= daily then
    local at = tonumber(redis.call('ZRANGE', KEYS[2], d - daily, d - daily, 'WITHSCORES')[2])
    local w = at + 86400000 - now
    if w > wait then wait, limit = w, 'daily' end
  end
end
if wait > 0 then return {wait, limit} end
local member = now .. ':' .. ARGV[5]
redis.call('ZADD', KEYS[1], now, member)
redis.call('PEXPIRE', KEYS[1], steady_span + 1000)
if daily > 0 then
  redis.call('ZADD', KEYS[2], now, member)
  redis.call('PEXPIRE', KEYS[2], 86400000 + 1000)
end
return {0, 'none'}
"#;

/// Extends the pause key to at least ARGV[1] ms from now.
const PAUSE: &str = r#"
local want = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < want then redis.call('SET', KEYS[1], '1', 'PX', want) end
return 1
"#;

/// The Redis side of a client's rate limiter.
pub struct SharedBudget {
    client: redis::Client,
    connection: ForkLocal<tokio::sync::OnceCell<ConnectionManager>>,
    prefix: String,
    acquire: redis::Script,
    pause: redis::Script,
    health: Health,
    /// Where the store is, without credentials, for messages.
    address: String,
}

impl std::fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedBudget")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl SharedBudget {
    /// A budget in the Redis at `url` for the account `credential` (the private API key)
    /// identifies, or the one a `budget=NAME` query parameter names (OAuth clients must name
    /// it: their access tokens change on every refresh).
    pub fn new(url: &Secret, credential: Option<&str>) -> Result<Self> {
        let store =
            crate::redis_store::open(url, "rate_limit_store", "budget", credential, "rate limit")?;
        Ok(SharedBudget {
            client: store.client,
            connection: ForkLocal::new(),
            prefix: format!("klaviyo-bridge:rl:{}:", store.account),
            acquire: redis::Script::new(ACQUIRE),
            pause: redis::Script::new(PAUSE),
            health: Health::new(
                "rate-limit store",
                &store.address,
                format!(
                    "pacing this process alone at {:.0}% of each limit until it answers",
                    FALLBACK_SHARE * 100.0
                ),
                "sharing the account's budget",
            ),
            address: store.address,
        })
    }

    /// The key prefix of this account's budget (a hash of the credential).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether to ask Redis now (false while falling back, until the retry time).
    pub fn available(&self) -> bool {
        self.health.available()
    }

    /// The connection, opened on first use (callers bound the whole call with [`Self::bounded`]).
    async fn connection(&self, limit: Duration) -> std::result::Result<ConnectionManager, String> {
        let cell = self.connection.get(tokio::sync::OnceCell::new);
        let manager = cell
            .get_or_try_init(|| {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(limit))
                    .set_response_timeout(Some(limit))
                    .set_number_of_retries(1);
                self.client.get_connection_manager_with_config(config)
            })
            .await
            .map_err(|e| e.to_string())?;
        Ok(manager.clone())
    }

    /// Runs one store call within `limit`, and notes whether the store answered.
    async fn bounded<T>(
        &self,
        limit: Duration,
        call: impl std::future::Future<Output = std::result::Result<T, String>>,
    ) -> std::result::Result<T, String> {
        let outcome = within(limit, call).await;
        self.health.record(&outcome);
        outcome
    }

    /// The key of `op`'s log (`suffix` ""), daily log (":day") or pause (":pause").
    fn key(&self, op: &Operation, suffix: &str) -> String {
        format!("{}{}{suffix}", self.prefix, op.id)
    }

    /// Takes a slot for `op` in the shared windows: `Ok(None)` to go now, `Ok(Some((wait,
    /// limit)))` to wait that long for the window `limit` names (`burst`, `steady`, `daily`,
    /// `server`), `Err` when the store did not answer in time (the caller falls back).
    pub async fn try_acquire(
        &self,
        op: &Operation,
        limits: RateLimit,
        margin: Duration,
        limit: Duration,
    ) -> std::result::Result<Option<(Duration, &'static str)>, String> {
        let call = async {
            let mut connection = self.connection(limit).await?;
            let (wait_ms, which): (u64, String) = self
                .acquire
                .key(self.key(op, ""))
                .key(self.key(op, ":day"))
                .key(self.key(op, ":pause"))
                .arg(limits.burst.max(1))
                .arg(limits.steady.max(1))
                .arg(limits.daily.unwrap_or(0))
                .arg(margin.as_millis() as u64)
                .arg(rand::random::<u64>())
                .invoke_async(&mut connection)
                .await
                .map_err(|e| e.to_string())?;
            Ok(match wait_ms {
                0 => None,
                ms => Some((
                    Duration::from_millis(ms),
                    match which.as_str() {
                        "server" => "server",
                        "burst" => "burst",
                        "daily" => "daily",
                        _ => "steady",
                    },
                )),
            })
        };
        self.bounded(limit, call).await
    }

    /// Tells every process to hold `op` for `pause` (the server asked for it).
    pub async fn pause(&self, op: &Operation, pause: Duration, limit: Duration) {
        if !self.available() {
            return;
        }
        let call = async {
            let mut connection = self.connection(limit).await?;
            self.pause
                .key(self.key(op, ":pause"))
                .arg(pause.as_millis().max(1) as u64)
                .invoke_async::<i64>(&mut connection)
                .await
                .map_err(|e| e.to_string())
        };
        // Best effort: this process holds the pause itself too (RateLimiter::observe).
        let _ = self.bounded(limit, call).await;
    }
}

/// A limit scaled to the fallback share, at least one request per window.
pub fn fallback_limits(limits: RateLimit) -> RateLimit {
    let share = |n: u32| ((f64::from(n) * FALLBACK_SHARE).floor() as u32).max(1);
    RateLimit {
        burst: share(limits.burst),
        steady: share(limits.steady),
        daily: limits.daily.map(share),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_named_by_a_hash_of_the_credential() {
        let budget = SharedBudget::new(
            &Secret::new("redis://127.0.0.1:1"),
            Some("pk_secret_0123456789"),
        )
        .unwrap();
        assert!(budget.prefix().starts_with("klaviyo-bridge:rl:"));
        assert!(!budget.prefix().contains("pk_secret"));
        assert!(!format!("{budget:?}").contains("pk_secret"));
        let other =
            SharedBudget::new(&Secret::new("redis://127.0.0.1:1"), Some("pk_other")).unwrap();
        assert_ne!(budget.prefix(), other.prefix());
        // A named budget is the same for every credential, and OAuth clients must name one.
        let a = SharedBudget::new(
            &Secret::new("redis://127.0.0.1:1/0?budget=ACME"),
            Some("pk_a"),
        )
        .unwrap();
        let b = SharedBudget::new(&Secret::new("redis://127.0.0.1:1/0?budget=ACME"), None).unwrap();
        assert_eq!(a.prefix(), b.prefix());
        let error = SharedBudget::new(&Secret::new("redis://127.0.0.1:1/0"), None).unwrap_err();
        assert!(error.to_string().contains("budget="), "{error}");
    }

    #[test]
    fn the_store_url_is_a_secret_in_the_configuration() {
        let config = |store: &str| {
            crate::ClientBuilder::new()
                .api_key("pk_secret_0123456789abcdef0123456789ab")
                .rate_limit_store(store)
                .into_config()
                .unwrap()
        };
        let redis = config("redis://:hunter2@cache.internal:6379/0");
        assert!(redis.rate_limit_store.is_some());
        assert!(!format!("{redis:?}").contains("hunter2"));
        assert!(config("memory").rate_limit_store.is_none());
    }

    #[test]
    fn the_fallback_takes_a_quarter_and_never_nothing() {
        let l = fallback_limits(RateLimit {
            burst: 350,
            steady: 3500,
            daily: Some(2),
        });
        assert_eq!((l.burst, l.steady, l.daily), (87, 875, Some(1)));
        assert_eq!(
            fallback_limits(RateLimit {
                burst: 1,
                steady: 1,
                daily: None
            })
            .burst,
            1
        );
    }
}
