//! The `RateLimit-*` headers of a response. A leaf module: errors carry them and the limiter
//! learns from them, so neither depends on the other.

use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

/// The `RateLimit-*` headers of one response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimitHeaders {
    /// `RateLimit-Limit`: requests allowed in the window.
    pub limit: Option<u32>,
    /// `RateLimit-Remaining`: requests left in the window.
    pub remaining: Option<u32>,
    /// `RateLimit-Reset`: seconds until the window resets.
    pub reset_seconds: Option<u32>,
}

impl RateLimitHeaders {
    /// Reads the headers; each takes its leading integer (`"10, 10;w=1"` → 10).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let number = |name: &str| -> Option<u32> {
            let text = headers.get(name)?.to_str().ok()?;
            let digits: String = text
                .trim()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        };
        RateLimitHeaders {
            limit: number("ratelimit-limit"),
            remaining: number("ratelimit-remaining"),
            reset_seconds: number("ratelimit-reset"),
        }
    }

    /// Whether any header was present.
    pub fn is_empty(&self) -> bool {
        self.limit.is_none() && self.remaining.is_none() && self.reset_seconds.is_none()
    }
}
