//! Retry policy: which failures are retried, how long to wait (the larger of `Retry-After`
//! and exponential backoff with full jitter, capped), and which operations are safe to repeat.
//!
//! Retried: HTTP 429, 500, 502, 503, 504, 524, and connection or read failures (all but 429 and
//! an unopened connection only when repeating the request is safe).
//! Repeating a request is safe for every GET, PATCH, PUT and DELETE, and for the POSTs listed
//! in [`IDEMPOTENT_POSTS`] (events carry a `unique_id`, which Klaviyo de-duplicates; profile
//! import and list/subscription relationship calls are upserts), and for every `query_*`
//! POST: the spec's reporting queries only read.
//! Other POSTs (create a profile, list, webhook, catalog item…) are retried only when the
//! server certainly did not process them: a 429, or a connection that never opened.

use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::operations::{HttpMethod, Operation};

/// POST operations that may be sent twice without a double effect.
pub const IDEMPOTENT_POSTS: &[&str] = &[
    "create_event",
    "bulk_create_events",
    "create_client_event",
    "bulk_create_client_events",
    "create_or_update_profile",
    "create_client_profile",
    "bulk_import_profiles",
    "add_profiles_to_list",
    "bulk_subscribe_profiles",
    "bulk_unsubscribe_profiles",
    "bulk_suppress_profiles",
    "bulk_unsuppress_profiles",
    "create_client_subscription",
    "request_profile_deletion",
];

/// How failed requests are retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// First backoff ceiling; doubles each retry.
    pub base_delay: Duration,
    /// No single wait is longer than this.
    pub max_delay: Duration,
    /// The longest wait for a client-side rate-limit slot, when it should differ from
    /// `max_delay` (a longer wait fails the call with a client-side 429).
    pub rate_limit_wait: Option<Duration>,
    /// HTTP statuses worth retrying.
    pub retry_statuses: Vec<u16>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            rate_limit_wait: None,
            retry_statuses: vec![429, 500, 502, 503, 504, 524],
        }
    }
}

impl RetryPolicy {
    /// The longest wait for a client-side rate-limit slot.
    pub fn slot_wait(&self) -> Duration {
        self.rate_limit_wait.unwrap_or(self.max_delay)
    }
}

/// Why an attempt failed, for the retry decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The server answered with this status.
    Status(u16),
    /// The connection could not be opened: the request was never sent.
    Connect,
    /// The connection broke or timed out after the request may have been sent.
    Read,
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Whether to retry after `failure` on attempt number `attempt` (0-based).
    /// `idempotent` says whether repeating the request is safe.
    pub fn should_retry(&self, attempt: u32, failure: Failure, idempotent: bool) -> bool {
        if attempt >= self.max_retries {
            return false;
        }
        match failure {
            // 429 means "not processed", so even unsafe requests may be repeated.
            Failure::Status(429) => self.retry_statuses.contains(&429),
            Failure::Status(status) => idempotent && self.retry_statuses.contains(&status),
            Failure::Connect => true,
            Failure::Read => idempotent,
        }
    }

    /// The backoff ceiling for a retry: `base · 2^attempt`, capped at `max_delay`.
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(30));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// How long to wait before retry number `attempt` (0-based): the larger of the server's
    /// `Retry-After` and a full-jitter backoff (uniform in 0..=ceiling), capped at `max_delay`.
    pub fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let ceiling = self.backoff_ceiling(attempt);
        let jitter = Duration::from_secs_f64(rng.random_range(0.0..=ceiling.as_secs_f64()));
        jitter
            .max(retry_after.unwrap_or_default())
            .min(self.max_delay)
    }
}

/// Whether repeating a request to `op` is safe.
pub fn is_idempotent(op: &Operation) -> bool {
    op.method != HttpMethod::Post
        || op.id.starts_with("query_")
        || IDEMPOTENT_POSTS.contains(&op.id)
}

/// Parses `Retry-After` in any of its forms: integer seconds, decimal seconds, or an
/// HTTP-date (relative to `now`). Negative, unparseable or past values give `None`/zero.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(86_400.0)));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn retry_after_parses_integer_decimal_and_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-2", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("NaN", now), None);
    }

    #[test]
    fn backoff_doubles_with_full_jitter_and_is_capped() {
        let policy = RetryPolicy {
            max_delay: Duration::from_secs(3),
            ..RetryPolicy::default()
        };
        assert_eq!(policy.backoff_ceiling(0), Duration::from_millis(500));
        assert_eq!(policy.backoff_ceiling(2), Duration::from_secs(2));
        assert_eq!(policy.backoff_ceiling(3), Duration::from_secs(3));
        assert_eq!(policy.backoff_ceiling(40), Duration::from_secs(3));
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..2000).map(|_| policy.delay(1, None, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(1)));
        // Full jitter spreads waits over the whole range rather than clustering at the ceiling.
        assert!(delays.iter().any(|d| *d < Duration::from_millis(100)));
        assert!(delays.iter().any(|d| *d > Duration::from_millis(900)));
    }

    #[test]
    fn retry_after_wins_over_shorter_backoff_but_respects_the_cap() {
        let policy = RetryPolicy {
            max_delay: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(4)), &mut rng),
            Duration::from_secs(4)
        );
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(400)), &mut rng),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn unsafe_posts_are_retried_only_when_certainly_unprocessed() {
        let policy = RetryPolicy::default();
        assert!(policy.should_retry(0, Failure::Status(503), true));
        assert!(!policy.should_retry(0, Failure::Status(503), false));
        assert!(policy.should_retry(0, Failure::Status(429), false));
        assert!(policy.should_retry(0, Failure::Connect, false));
        assert!(!policy.should_retry(0, Failure::Read, false));
        // A 500 may have half-happened: repeated only where repeating is safe.
        assert!(policy.should_retry(0, Failure::Status(500), true));
        assert!(!policy.should_retry(0, Failure::Status(500), false));
        assert!(!policy.should_retry(3, Failure::Status(429), true));
        assert!(!RetryPolicy::none().should_retry(0, Failure::Status(429), true));
        let create_event = crate::operations::operation("create_event").unwrap();
        let create_profile = crate::operations::operation("create_profile").unwrap();
        assert!(is_idempotent(create_event) && !is_idempotent(create_profile));
        // Every reporting query, the campaign and flow reports the sync reads included.
        let queries: Vec<&Operation> = crate::operations::OPERATIONS
            .iter()
            .filter(|op| op.method == HttpMethod::Post && op.id.starts_with("query_"))
            .collect();
        assert!(queries.iter().any(|op| op.id == "query_flow_series"));
        assert!(queries.len() >= 8 && queries.iter().all(|op| is_idempotent(op)));
        for id in IDEMPOTENT_POSTS {
            assert!(
                crate::operations::operation(id).is_some(),
                "{id} is not an operation"
            );
        }
    }
}
