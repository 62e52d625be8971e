//! Client-side rate limiting, per operation, from the operation table's limits.
//!
//! Klaviyo counts requests in fixed 1-second (burst) and 60-second (steady) windows, plus a
//! daily cap for a few operations. A sliding-window log of send times is stricter than any
//! fixed window of the same length, so pacing to it means a well-behaved caller never sees a
//! 429; a small margin absorbs network jitter between our clock and the server's. The limiter
//! also learns from responses: `RateLimit-Remaining: 0` or a 429's `Retry-After` pause the
//! operation until the server's window resets. Time comes from `tokio::time`, so tests run
//! with a paused, controllable clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::operations::{Operation, RateLimit};
pub use crate::rate_limit_headers::RateLimitHeaders;
use crate::shared_budget::{STORE_TIMEOUT, SharedBudget, fallback_limits};

const BURST_WINDOW: Duration = Duration::from_secs(1);
const STEADY_WINDOW: Duration = Duration::from_secs(60);
const DAILY_WINDOW: Duration = Duration::from_secs(86_400);

/// The latest rate-limit reading, as exposed to callers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitReading {
    /// The operation the reading came from.
    pub operation: String,
    /// The headers.
    pub headers: RateLimitHeaders,
}

#[derive(Default)]
struct OperationWindow {
    /// Send times within the steady window, oldest first.
    recent: VecDeque<Instant>,
    /// Send times within the day, for operations with a daily cap.
    today: VecDeque<Instant>,
    /// Set when the server told us to wait.
    paused_until: Option<Instant>,
}

/// Why a request cannot go now: how long until it can, and which limit says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// How long until a slot frees up.
    pub duration: Duration,
    /// `"burst"`, `"steady"`, `"daily"` or `"server"`.
    pub limit: &'static str,
}

/// Paces requests per operation. Shared by every task that uses one client; with a
/// [`SharedBudget`], by every process that uses the same account and store.
pub struct RateLimiter {
    enabled: bool,
    overrides: Vec<(&'static str, RateLimit)>,
    margin: Duration,
    windows: Mutex<HashMap<&'static str, OperationWindow>>,
    latest: Mutex<Option<RateLimitReading>>,
    shared: Option<SharedBudget>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter; `enabled = false` makes `acquire` free (responses are still observed).
    pub fn new(enabled: bool) -> Self {
        Self::with_overrides(enabled, Vec::new())
    }

    /// A limiter whose limits for some operations replace the table's.
    pub fn with_overrides(enabled: bool, overrides: Vec<(&'static str, RateLimit)>) -> Self {
        RateLimiter {
            enabled,
            overrides,
            margin: Duration::from_millis(50),
            windows: Mutex::default(),
            latest: Mutex::default(),
            shared: None,
        }
    }

    /// The same limiter drawing from a budget shared through `store`.
    pub fn sharing(mut self, store: SharedBudget) -> Self {
        self.shared = Some(store);
        self
    }

    /// The shared budget, when there is one.
    pub fn shared(&self) -> Option<&SharedBudget> {
        self.shared.as_ref()
    }

    fn limits(&self, op: &'static Operation) -> RateLimit {
        self.overrides
            .iter()
            .find(|(id, _)| *id == op.id)
            .map_or(op.rate_limit, |(_, l)| *l)
    }

    /// Whether pacing is on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Takes a slot now, or says how long to wait. Does not sleep.
    pub fn try_acquire(&self, op: &'static Operation, now: Instant) -> Result<(), Wait> {
        if !self.enabled {
            return Ok(());
        }
        self.try_acquire_within(op, self.limits(op), now)
    }

    fn try_acquire_within(
        &self,
        op: &'static Operation,
        limits: RateLimit,
        now: Instant,
    ) -> Result<(), Wait> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.entry(op.id).or_default();
        let mut wait = Wait {
            duration: Duration::ZERO,
            limit: "none",
        };
        let mut consider = |until: Instant, limit: &'static str| {
            let d = until.saturating_duration_since(now);
            if d > wait.duration {
                wait = Wait { duration: d, limit };
            }
        };
        if let Some(until) = window.paused_until {
            consider(until, "server");
        }
        let steady_span = STEADY_WINDOW + self.margin * 4;
        while window
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= steady_span)
        {
            window.recent.pop_front();
        }
        let len = window.recent.len();
        let burst = limits.burst.max(1) as usize;
        if len >= burst {
            consider(
                window.recent[len - burst] + BURST_WINDOW + self.margin,
                "burst",
            );
        }
        let steady = limits.steady.max(1) as usize;
        if len >= steady {
            consider(window.recent[len - steady] + steady_span, "steady");
        }
        if let Some(daily) = limits.daily {
            while window
                .today
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= DAILY_WINDOW)
            {
                window.today.pop_front();
            }
            if window.today.len() >= daily.max(1) as usize {
                consider(
                    window.today[window.today.len() - daily as usize] + DAILY_WINDOW,
                    "daily",
                );
            }
        }
        if !wait.duration.is_zero() {
            return Err(wait);
        }
        window.paused_until = None;
        window.recent.push_back(now);
        if limits.daily.is_some() {
            window.today.push_back(now);
        }
        Ok(())
    }

    /// Waits for a slot. Returns the wait instead of sleeping when it would exceed `max_wait`
    /// (a daily cap, or a long server pause), so callers fail fast with a typed error.
    ///
    /// With a shared budget, the slot is taken in the store; while the store cannot be
    /// reached, in this process at the fallback share of each limit.
    pub async fn acquire(&self, op: &'static Operation, max_wait: Duration) -> Result<(), Wait> {
        if !self.enabled {
            return Ok(());
        }
        let Some(shared) = &self.shared else {
            return self.acquire_locally(op, self.limits(op), max_wait).await;
        };
        loop {
            if let Some(wait) = self.paused(op, Instant::now()) {
                // A pause this process saw, in case telling the store failed.
                if wait.duration > max_wait {
                    return Err(wait);
                }
                tokio::time::sleep(wait.duration).await;
                continue;
            }
            if !shared.available() {
                break;
            }
            match shared
                .try_acquire(op, self.limits(op), self.margin, STORE_TIMEOUT)
                .await
            {
                Ok(None) => return Ok(()),
                Ok(Some((duration, limit))) if duration > max_wait => {
                    return Err(Wait { duration, limit });
                }
                Ok(Some((duration, _))) => tokio::time::sleep(duration).await,
                Err(_) => break,
            }
        }
        self.acquire_locally(op, fallback_limits(self.limits(op)), max_wait)
            .await
    }

    /// How long the server asked this process to hold `op`, if it still must.
    fn paused(&self, op: &'static Operation, now: Instant) -> Option<Wait> {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let until = windows.get(op.id)?.paused_until?;
        (until > now).then(|| Wait {
            duration: until - now,
            limit: "server",
        })
    }

    async fn acquire_locally(
        &self,
        op: &'static Operation,
        limits: RateLimit,
        max_wait: Duration,
    ) -> Result<(), Wait> {
        loop {
            match self.try_acquire_within(op, limits, Instant::now()) {
                Ok(()) => return Ok(()),
                Err(wait) if wait.duration > max_wait => return Err(wait),
                Err(wait) => tokio::time::sleep(wait.duration).await,
            }
        }
    }

    /// Learns from a response: records the reading and pauses the operation when the server
    /// says its window is spent (`RateLimit-Remaining: 0`) or asks us to wait (429). Returns
    /// the pause, for the shared budget to pass on.
    pub fn observe(
        &self,
        op: &'static Operation,
        headers: &RateLimitHeaders,
        retry_after: Option<Duration>,
        now: Instant,
    ) -> Option<Duration> {
        if !headers.is_empty() {
            *self.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(RateLimitReading {
                operation: op.id.to_string(),
                headers: headers.clone(),
            });
        }
        let pause = match (retry_after, headers.remaining, headers.reset_seconds) {
            (Some(wait), _, _) => Some(wait),
            (None, Some(0), Some(reset)) => Some(Duration::from_secs(u64::from(reset))),
            _ => None,
        };
        if let Some(pause) = pause {
            let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
            let window = windows.entry(op.id).or_default();
            let until = now + pause;
            window.paused_until = Some(window.paused_until.map_or(until, |u| u.max(until)));
        }
        pause
    }

    /// The most recent `RateLimit-*` reading from any response.
    pub fn latest(&self) -> Option<RateLimitReading> {
        self.latest
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::HttpMethod;
    use reqwest::header::HeaderMap;

    fn op(burst: u32, steady: u32, daily: Option<u32>) -> &'static Operation {
        Box::leak(Box::new(Operation {
            id: "test_op",
            method: HttpMethod::Get,
            path: "/api/test",
            rate_limit: RateLimit {
                burst,
                steady,
                daily,
            },
            page_size: None,
            paginated: false,
            client_side: false,
            has_body: false,
            namespace: "tests",
            summary: "A test operation",
            params: &[],
            body_schema: None,
            multipart: false,
        }))
    }

    #[tokio::test(start_paused = true)]
    async fn burst_window_admits_burst_then_waits_about_a_second() {
        let limiter = RateLimiter::new(true);
        let op = op(3, 60, None);
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.try_acquire(op, t0).unwrap();
        }
        let wait = limiter.try_acquire(op, t0).unwrap_err();
        assert_eq!(wait.limit, "burst");
        assert_eq!(wait.duration, BURST_WINDOW + limiter.margin);
        assert!(
            limiter
                .try_acquire(op, t0 + Duration::from_millis(1049))
                .is_err()
        );
        assert!(
            limiter
                .try_acquire(op, t0 + Duration::from_millis(1050))
                .is_ok()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn steady_window_caps_a_minute_even_when_bursts_are_free() {
        let limiter = RateLimiter::new(true);
        let op = op(10, 15, None);
        let t0 = Instant::now();
        let mut now = t0;
        let mut sent = 0;
        // Ask every 100 ms for 70 s; count what the limiter lets through in each fixed minute.
        let mut in_first_minute = 0;
        while now < t0 + Duration::from_secs(70) {
            if limiter.try_acquire(op, now).is_ok() {
                sent += 1;
                if now < t0 + Duration::from_secs(60) {
                    in_first_minute += 1;
                }
            }
            now += Duration::from_millis(100);
        }
        assert_eq!(in_first_minute, 15);
        assert!(
            sent > 15,
            "the window slides: sends resume after a minute ({sent})"
        );
        let wait = limiter.try_acquire(op, now).unwrap_err();
        assert!(matches!(wait.limit, "steady" | "burst"));
    }

    #[tokio::test(start_paused = true)]
    async fn sliding_log_never_exceeds_limits_in_any_fixed_window() {
        let limiter = RateLimiter::new(true);
        let op = op(5, 20, None);
        let t0 = Instant::now();
        let mut sends = Vec::new();
        let mut now = t0;
        while now < t0 + Duration::from_secs(180) {
            if limiter.try_acquire(op, now).is_ok() {
                sends.push(now - t0);
            }
            now += Duration::from_millis(37);
        }
        // Any fixed window, at any alignment, holds at most the limit.
        for start_ms in (0..180_000).step_by(13) {
            let start = Duration::from_millis(start_ms);
            let in_window = |len: Duration| {
                sends
                    .iter()
                    .filter(|t| **t >= start && **t < start + len)
                    .count()
            };
            assert!(in_window(BURST_WINDOW) <= 5);
            assert!(in_window(STEADY_WINDOW) <= 20);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn daily_cap_reports_a_long_wait_that_acquire_refuses_to_sleep_through() {
        let limiter = RateLimiter::new(true);
        let op = op(100, 100, Some(2));
        let t0 = Instant::now();
        limiter.try_acquire(op, t0).unwrap();
        limiter.try_acquire(op, t0).unwrap();
        let wait = limiter
            .acquire(op, Duration::from_secs(60))
            .await
            .unwrap_err();
        assert_eq!(wait.limit, "daily");
        assert!(wait.duration > Duration::from_secs(86_000));
    }

    #[tokio::test(start_paused = true)]
    async fn learns_pauses_from_remaining_zero_and_retry_after() {
        let limiter = RateLimiter::new(true);
        let op = op(100, 1000, None);
        let t0 = Instant::now();
        let spent = RateLimitHeaders {
            limit: Some(10),
            remaining: Some(0),
            reset_seconds: Some(5),
        };
        limiter.observe(op, &spent, None, t0);
        let wait = limiter.try_acquire(op, t0).unwrap_err();
        assert_eq!(
            (wait.limit, wait.duration),
            ("server", Duration::from_secs(5))
        );
        assert!(limiter.try_acquire(op, t0 + Duration::from_secs(5)).is_ok());
        limiter.observe(
            op,
            &RateLimitHeaders::default(),
            Some(Duration::from_secs(2)),
            t0 + Duration::from_secs(5),
        );
        assert!(
            limiter
                .try_acquire(op, t0 + Duration::from_secs(6))
                .is_err()
        );
        assert_eq!(limiter.latest().unwrap().headers, spent);
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_sleeps_on_the_paused_clock_and_disabled_limiter_is_free() {
        let limiter = RateLimiter::new(true);
        let op = op(2, 100, None);
        let t0 = Instant::now();
        for _ in 0..6 {
            limiter.acquire(op, Duration::from_secs(60)).await.unwrap();
        }
        let elapsed = Instant::now() - t0;
        assert!(
            elapsed >= Duration::from_secs(2) && elapsed < Duration::from_secs(3),
            "{elapsed:?}"
        );
        let off = RateLimiter::new(false);
        for _ in 0..1000 {
            off.try_acquire(op, t0).unwrap();
        }
    }

    #[test]
    fn reads_rate_limit_headers_leniently() {
        let mut h = HeaderMap::new();
        h.insert("RateLimit-Limit", "10, 10;w=1, 150;w=60".parse().unwrap());
        h.insert("ratelimit-remaining", "7".parse().unwrap());
        h.insert("RateLimit-Reset", "x".parse().unwrap());
        assert_eq!(
            RateLimitHeaders::from_headers(&h),
            RateLimitHeaders {
                limit: Some(10),
                remaining: Some(7),
                reset_seconds: None
            }
        );
        assert!(RateLimitHeaders::from_headers(&HeaderMap::new()).is_empty());
    }
}
