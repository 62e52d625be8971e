//! Typed errors. Every variant has a stable machine code (`Error::code`) that the Python and
//! Node bindings map one-to-one onto their exception classes. No variant ever holds a
//! credential: messages are built from operation ids, statuses and response bodies only.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::rate_limit_headers::RateLimitHeaders;

/// The `source` of a JSON:API error: which part of the request it is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSource {
    /// JSON pointer into the request body, e.g. `/data/attributes/email`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The query parameter at fault, e.g. `page[size]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
}

/// One entry of a JSON:API `errors` array. Every field is optional because real responses
/// (and CDN error pages) do not always carry them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// Klaviyo's error id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// HTTP status as the API wrote it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_status"
    )]
    pub status: Option<u16>,
    /// Klaviyo's error code, e.g. `invalid`, `throttled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Short summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// What the error is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
    /// Extra data (e.g. a 409's existing profile id under `meta.duplicate_profile_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}

fn lenient_status<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u16>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    })
}

/// An error response from the API, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The operation that failed.
    pub operation: String,
    /// HTTP status.
    pub status: u16,
    /// The parsed JSON:API `errors` (empty when the body was not JSON:API, e.g. an HTML page).
    pub errors: Vec<ErrorObject>,
    /// The request id header, if the response carried one.
    pub request_id: Option<String>,
    /// Rate-limit headers seen on the response.
    pub rate_limit: RateLimitHeaders,
    /// The start of the body when it was not JSON:API (for diagnosis).
    pub body_snippet: Option<String>,
}

impl ApiError {
    /// Builds from a response status, headers and body. Never fails: bodies that are not
    /// JSON:API are kept as a snippet.
    pub fn from_response(
        operation: &str,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Self {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(default)]
            errors: Vec<ErrorObject>,
        }
        let parsed = serde_json::from_slice::<Envelope>(body).ok();
        let body_snippet = match &parsed {
            Some(env) if !env.errors.is_empty() => None,
            _ if body.is_empty() => None,
            _ => Some(snippet(body)),
        };
        ApiError {
            operation: operation.to_string(),
            status,
            errors: parsed.map(|e| e.errors).unwrap_or_default(),
            request_id: request_id(headers),
            rate_limit: RateLimitHeaders::from_headers(headers),
            body_snippet,
        }
    }

    /// The first error's detail, else its title, else the body snippet.
    pub fn summary(&self) -> String {
        let first = self.errors.first();
        let mut text = first
            .and_then(|e| e.detail.clone().or_else(|| e.title.clone()))
            .or_else(|| self.body_snippet.clone())
            .unwrap_or_else(|| "no error detail in the response".to_string());
        if let Some(source) = first.and_then(|e| e.source.as_ref()) {
            // "/data/" points at the whole document: no field to name.
            if let Some(pointer) = source
                .pointer
                .as_ref()
                .filter(|p| !matches!(p.as_str(), "/data" | "/data/" | "/" | ""))
            {
                text.push_str(&format!(" (at {pointer})"));
            } else if let Some(parameter) = &source.parameter {
                text.push_str(&format!(" (parameter {parameter})"));
            }
        }
        if self.errors.len() > 1 {
            text.push_str(&format!(" (+{} more errors)", self.errors.len() - 1));
        }
        text
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} failed with HTTP {}: {}",
            self.operation,
            self.status,
            self.summary()
        )?;
        if let Some(id) = &self.request_id {
            write!(f, " [request id {id}]")?;
        }
        Ok(())
    }
}

/// Keeps the first 200 characters of a body, on a character boundary, on one line.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out
}

pub(crate) fn request_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    ["x-request-id", "x-klaviyo-request-id", "cf-ray"]
        .iter()
        .find_map(|name| {
            headers
                .get(*name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
}

/// One item of a bulk operation that was not accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkFailure {
    /// Position of the item in the caller's input (0-based).
    pub index: usize,
    /// The item's identifier where it has one (email, id, unique_id).
    pub key: Option<String>,
    /// Why it failed.
    pub reason: String,
}

/// Everything that can go wrong. Match on the variant, or use [`Error::code`] for a stable
/// string that is the same in Rust, Python and Node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 400 or 422: the API rejected the request's content.
    #[error("{0}")]
    Validation(Box<ApiError>),
    /// 401: the key or token is missing, wrong or revoked.
    #[error("{0} (check KLAVIYO_API_KEY: a private key starts with pk_)")]
    Authentication(Box<ApiError>),
    /// 403: the key lacks a scope for this operation.
    #[error("{0} (the key lacks the scope this operation needs)")]
    PermissionDenied(Box<ApiError>),
    /// 404.
    #[error("{0}")]
    NotFound(Box<ApiError>),
    /// 409, e.g. creating a profile whose email exists.
    #[error("{0}")]
    Conflict(Box<ApiError>),
    /// 429 after retries ran out.
    #[error("{error} (rate limited{})", retry_after.map(|d| format!("; retry after {:.1}s", d.as_secs_f64())).unwrap_or_default())]
    RateLimited {
        /// The parsed response.
        error: Box<ApiError>,
        /// How long the API asked to wait.
        retry_after: Option<Duration>,
    },
    /// 5xx after retries ran out.
    #[error("{0}")]
    Server(Box<ApiError>),
    /// Any other non-success status.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request took longer than the timeout.
    #[error("{operation} timed out after {:.1}s (raise the timeout or retry later)", elapsed.as_secs_f64())]
    Timeout {
        /// The operation.
        operation: String,
        /// The timeout that was hit.
        elapsed: Duration,
    },
    /// The connection failed or broke.
    #[error("{operation}: network error: {message}")]
    Network {
        /// The operation.
        operation: String,
        /// What failed.
        message: String,
    },
    /// A success response whose body could not be read.
    #[error(
        "{operation}: could not decode the HTTP {status} response: {message}; body starts: {snippet}"
    )]
    Decode {
        /// The operation.
        operation: String,
        /// HTTP status.
        status: u16,
        /// What failed.
        message: String,
        /// The start of the body.
        snippet: String,
    },
    /// The client is misconfigured (missing key, bad base URL…).
    #[error("configuration error: {0}")]
    Config(String),
    /// The caller's input is invalid; nothing was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The OAuth grant is gone (refresh answered `invalid_grant`: uninstalled, revoked, or
    /// unused for 90 days): the user must authorize the app again.
    #[error("reauthorization required: {0}")]
    ReauthorizationRequired(String),
    /// A webhook delivery failed verification; `check` names which check.
    #[error("webhook verification failed ({check}): {message}")]
    WebhookVerification {
        /// `missing_header`, `signature`, `body`, `webhook_id`, `timestamp` or `replay`.
        check: &'static str,
        /// What was wrong.
        message: String,
    },
    /// The event tracker's queue is full (with `WhenFull::Error`): slow down or raise `max_queue`.
    #[error(
        "the tracker's queue is full ({capacity} events waiting); the event was not queued: track more slowly, flush, or raise max_queue"
    )]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// Some items of a bulk operation failed. When the items were checked before sending,
    /// `accepted` is 0 and nothing was sent.
    #[error("{} of {total} items failed ({accepted} accepted): {}", failures.len(), failures.iter().take(3).map(|f| format!("#{} {}", f.index, f.reason)).collect::<Vec<_>>().join("; "))]
    BulkPartial {
        /// The items that failed, each with its index in the caller's input.
        failures: Vec<BulkFailure>,
        /// How many items the caller gave.
        total: usize,
        /// How many items the API accepted.
        accepted: usize,
    },
}

impl Error {
    /// Whether the same request may well succeed later: a rate limit, a 5xx, a timeout or a
    /// network failure. Used where a caller keeps trying past the retry policy (job polling).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::RateLimited { .. }
                | Error::Server(_)
                | Error::Timeout { .. }
                | Error::Network { .. }
        )
    }

    /// A stable machine-readable code, the same in every binding.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Validation(_) => "validation_error",
            Error::Authentication(_) => "authentication_error",
            Error::PermissionDenied(_) => "permission_denied",
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::RateLimited { .. } => "rate_limited",
            Error::Server(_) => "server_error",
            Error::Api(_) => "api_error",
            Error::Timeout { .. } => "timeout",
            Error::Network { .. } => "network_error",
            Error::Decode { .. } => "decode_error",
            Error::Config(_) => "config_error",
            Error::InvalidInput(_) => "invalid_input",
            Error::BulkPartial { .. } => "bulk_partial_failure",
            Error::WebhookVerification { .. } => "webhook_verification_failed",
            Error::ReauthorizationRequired(_) => "reauthorization_required",
            Error::QueueFull { .. } => "queue_full",
        }
    }

    /// The exception class the Python and Node packages raise for this error (the same name in
    /// both). The match is exhaustive, so a new variant cannot be left without a class.
    pub fn class_name(&self) -> &'static str {
        match self {
            Error::Validation(_) => "ValidationError",
            Error::Authentication(_) => "AuthenticationError",
            Error::PermissionDenied(_) => "PermissionDeniedError",
            Error::NotFound(_) => "NotFoundError",
            Error::Conflict(_) => "ConflictError",
            Error::RateLimited { .. } => "RateLimitError",
            Error::Server(_) => "ServerError",
            Error::Api(_) => "KlaviyoError",
            Error::Timeout { .. } => "TimeoutError",
            Error::Network { .. } => "NetworkError",
            Error::Decode { .. } => "DecodeError",
            Error::Config(_) => "ConfigurationError",
            Error::InvalidInput(_) => "InvalidInputError",
            Error::BulkPartial { .. } => "BulkPartialError",
            Error::WebhookVerification { .. } => "WebhookVerificationError",
            Error::ReauthorizationRequired(_) => "ReauthorizationRequired",
            Error::QueueFull { .. } => "QueueFullError",
        }
    }

    /// Every field the bindings put on their exceptions, by snake_case name (Node spells
    /// them in camelCase): the same fields in every language.
    pub fn details(&self) -> ErrorDetails<'_> {
        let (failures, total, accepted) = match self {
            Error::BulkPartial {
                failures,
                total,
                accepted,
            } => (Some(failures.as_slice()), Some(*total), Some(*accepted)),
            _ => (None, None, None),
        };
        ErrorDetails {
            code: self.code(),
            class: self.class_name(),
            message: self.to_string(),
            status: self.status(),
            request_id: self.request_id(),
            errors: self.errors(),
            retry_after: self.retry_after().map(|d| d.as_secs_f64()),
            rate_limit: self.api_error().map(|api| RateLimitDetails {
                limit: api.rate_limit.limit,
                remaining: api.rate_limit.remaining,
                reset: api.rate_limit.reset_seconds,
            }),
            failures,
            total,
            accepted,
            check: match self {
                Error::WebhookVerification { check, .. } => Some(check),
                _ => None,
            },
        }
    }

    /// Classifies an error response by status.
    pub fn from_api(error: ApiError, retry_after: Option<Duration>) -> Self {
        let error = Box::new(error);
        match error.status {
            400 | 422 => Error::Validation(error),
            401 => Error::Authentication(error),
            403 => Error::PermissionDenied(error),
            404 => Error::NotFound(error),
            409 => Error::Conflict(error),
            429 => Error::RateLimited { error, retry_after },
            500..=599 => Error::Server(error),
            _ => Error::Api(error),
        }
    }

    /// The parsed API response, for errors that came from one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Validation(e)
            | Error::Authentication(e)
            | Error::PermissionDenied(e)
            | Error::NotFound(e)
            | Error::Conflict(e)
            | Error::Server(e)
            | Error::Api(e)
            | Error::RateLimited { error: e, .. } => Some(e),
            _ => None,
        }
    }

    /// HTTP status, where the error came from a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Decode { status, .. } => Some(*status),
            other => other.api_error().map(|e| e.status),
        }
    }

    /// The response's request id, where it had one.
    pub fn request_id(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.request_id.as_deref())
    }

    /// Parsed JSON:API errors (empty for errors that did not come from a response).
    pub fn errors(&self) -> &[ErrorObject] {
        self.api_error().map_or(&[], |e| e.errors.as_slice())
    }

    /// How long the API asked to wait (429 only).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The fields of an error as the bindings expose them (see [`Error::details`]).
#[derive(Debug, Clone, Serialize)]
pub struct ErrorDetails<'a> {
    /// [`Error::code`].
    pub code: &'static str,
    /// [`Error::class_name`].
    pub class: &'static str,
    /// The message (never a credential).
    pub message: String,
    /// HTTP status, where the error came from a response.
    pub status: Option<u16>,
    /// The response's request id.
    pub request_id: Option<&'a str>,
    /// The parsed JSON:API errors.
    pub errors: &'a [ErrorObject],
    /// Seconds the API asked to wait (429).
    pub retry_after: Option<f64>,
    /// The `RateLimit-*` headers of the failed response.
    pub rate_limit: Option<RateLimitDetails>,
    /// Bulk failures, item by item.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<&'a [BulkFailure]>,
    /// Bulk: how many items were given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<usize>,
    /// Bulk: how many items the API accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<usize>,
    /// Webhook verification: the failed check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<&'static str>,
}

/// The `RateLimit-*` headers of a failed response.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct RateLimitDetails {
    /// `RateLimit-Limit`.
    pub limit: Option<u32>,
    /// `RateLimit-Remaining`.
    pub remaining: Option<u32>,
    /// `RateLimit-Reset`, in seconds.
    pub reset: Option<u32>,
}

/// Shorthand.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn parses_json_api_errors_with_source_and_request_id() {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_static("req-1"));
        let body = br#"{"errors":[{"id":"e1","status":400,"code":"invalid","title":"Invalid input.","detail":"'email' is not a valid email address.","source":{"pointer":"/data/attributes/email"}},{"id":"e2","code":"invalid","title":"x","detail":"y","source":{"parameter":"page[size]"},"extra":1}]}"#;
        let err = Error::from_api(
            ApiError::from_response("create_profile", 400, &headers, body),
            None,
        );
        assert_eq!(err.code(), "validation_error");
        assert_eq!(err.status(), Some(400));
        assert_eq!(err.request_id(), Some("req-1"));
        assert_eq!(err.errors().len(), 2);
        assert_eq!(
            err.errors()[1]
                .source
                .as_ref()
                .unwrap()
                .parameter
                .as_deref(),
            Some("page[size]")
        );
        let text = err.to_string();
        assert!(text.contains("create_profile failed with HTTP 400: 'email' is not a valid email address. (at /data/attributes/email) (+1 more errors) [request id req-1]"), "{text}");
    }

    #[test]
    fn html_error_page_from_a_cdn_becomes_a_typed_error_with_a_snippet() {
        let body = b"<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>\n<body>blocked</body></html>";
        let err = Error::from_api(
            ApiError::from_response("get_profiles", 403, &HeaderMap::new(), body),
            None,
        );
        assert_eq!(err.code(), "permission_denied");
        assert!(err.errors().is_empty());
        let snippet = err.api_error().unwrap().body_snippet.clone().unwrap();
        assert!(
            snippet.starts_with("<!DOCTYPE html>") && !snippet.contains('\n'),
            "{snippet}"
        );
        assert!(err.to_string().contains("Cloudflare"));
    }

    #[test]
    fn every_status_class_maps_to_its_variant() {
        let make = |status| {
            Error::from_api(
                ApiError::from_response("op", status, &HeaderMap::new(), b""),
                Some(Duration::from_secs(2)),
            )
        };
        let codes: Vec<_> = [400, 401, 403, 404, 409, 422, 429, 500, 503, 418]
            .into_iter()
            .map(|s| make(s).code())
            .collect();
        assert_eq!(
            codes,
            [
                "validation_error",
                "authentication_error",
                "permission_denied",
                "not_found",
                "conflict",
                "validation_error",
                "rate_limited",
                "server_error",
                "server_error",
                "api_error"
            ]
        );
        assert_eq!(make(429).retry_after(), Some(Duration::from_secs(2)));
        assert!(make(429).to_string().contains("retry after 2.0s"));
    }

    #[test]
    fn status_given_as_string_and_unknown_fields_do_not_break_parsing() {
        let body = br#"{"errors":[{"status":"429","code":"throttled","detail":"Request was throttled.","links":{"type":"x"},"meta":{"a":null}}]}"#;
        let e = ApiError::from_response("op", 429, &HeaderMap::new(), body);
        assert_eq!(e.errors[0].status, Some(429));
        assert_eq!(e.errors[0].code.as_deref(), Some("throttled"));
    }

    #[test]
    fn snippet_is_bounded_and_safe_on_multibyte_text() {
        let long = "é".repeat(500);
        let s = snippet(long.as_bytes());
        assert_eq!(s.chars().count(), 201);
        assert!(snippet(&[0xff, 0xfe, b'a']).ends_with('a'));
    }
}
