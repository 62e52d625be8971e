//! Klaviyo system-webhook signatures: [`sign`] (as Klaviyo signs, for tests and the sandbox)
//! and [`verify`] (for receivers).
//!
//! `Klaviyo-Signature` is the lowercase hex HMAC-SHA256, keyed by the webhook's secret, of the
//! raw body followed directly by the `Klaviyo-Timestamp` header value. Klaviyo publishes no
//! tolerance; 300 s is the community default. Freshness is read from the body's
//! `meta.timestamp` first, because the header's clock has been seen wrong.

use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::Error;
pub use crate::time::parse_iso8601;

/// Header naming the webhook (subscription) that sent the delivery.
pub const WEBHOOK_ID_HEADER: &str = "Klaviyo-Webhook-Id";
/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Klaviyo-Signature";
/// Header carrying the send time (an HTTP-date).
pub const TIMESTAMP_HEADER: &str = "Klaviyo-Timestamp";
/// Default freshness tolerance.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The lowercase hex HMAC-SHA256 of `body ‖ timestamp` keyed by `secret`.
pub fn signature(body: &[u8], timestamp: &str, secret: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The three headers of a signed delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedHeaders {
    /// `Klaviyo-Webhook-Id`.
    pub webhook_id: String,
    /// `Klaviyo-Signature`.
    pub signature: String,
    /// `Klaviyo-Timestamp`.
    pub timestamp: String,
}

impl SignedHeaders {
    /// As `(name, value)` pairs.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            (WEBHOOK_ID_HEADER, &self.webhook_id),
            (SIGNATURE_HEADER, &self.signature),
            (TIMESTAMP_HEADER, &self.timestamp),
        ]
    }
}

/// Signs `body` as Klaviyo does, with the timestamp as an HTTP-date.
pub fn sign(body: &[u8], secret: &str, webhook_id: &str, timestamp: SystemTime) -> SignedHeaders {
    let timestamp = httpdate::fmt_http_date(timestamp);
    SignedHeaders {
        webhook_id: webhook_id.to_string(),
        signature: signature(body, &timestamp, secret),
        timestamp,
    }
}

/// One event in a delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryItem {
    /// e.g. `event:klaviyo.placed_order`.
    pub topic: String,
    /// The id of the thing the item is about.
    pub external_id: Option<String>,
    /// The event, shaped like Get Event.
    pub payload: Value,
}

/// A verified delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    /// The webhook that sent it.
    pub webhook_id: String,
    /// The account.
    pub account_id: Option<String>,
    /// `meta.timestamp`.
    pub timestamp: Option<String>,
    /// The events.
    pub items: Vec<DeliveryItem>,
}

/// Where freshness is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimestampSource {
    /// `meta.timestamp` in the body, else the header.
    #[default]
    BodyThenHeader,
    /// Only the `Klaviyo-Timestamp` header.
    Header,
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Accepted secrets (several during rotation).
    pub secrets: Vec<String>,
    /// Largest accepted age (and clock skew into the future).
    pub tolerance: Duration,
    /// The current time (settable for tests).
    pub now: SystemTime,
    /// Where to read the send time.
    pub timestamp_source: TimestampSource,
}

/// How long a [`MemorySeenStore`] keeps keys by default: twice the tolerance, beyond which
/// deliveries are refused as stale anyway.
pub const DEFAULT_SEEN_RETENTION: Duration = Duration::from_secs(600);

impl VerifyOptions {
    /// Options from a binding's arguments, checked: `tolerance` seconds (default 300), `now`
    /// in Unix seconds (default the clock), `timestamp_source` `"body"` (default) or
    /// `"header"`. Names in messages are spelled the binding's way.
    pub fn from_args(
        secrets: Vec<String>,
        tolerance: Option<f64>,
        now: Option<f64>,
        timestamp_source: Option<&str>,
        binding: crate::config::Binding,
    ) -> Result<Self, Error> {
        if secrets.is_empty() {
            return Err(Error::InvalidInput(
                "secret must be a string or a list of strings".into(),
            ));
        }
        let timestamp_source = match timestamp_source.unwrap_or("body") {
            "body" => TimestampSource::BodyThenHeader,
            "header" => TimestampSource::Header,
            other => {
                return Err(Error::InvalidInput(format!(
                    "{} must be 'body' or 'header', not {other:?}",
                    binding.spell("timestamp_source")
                )));
            }
        };
        Ok(VerifyOptions {
            secrets,
            tolerance: tolerance
                .map(|t| crate::config::seconds_or_zero(t, "tolerance"))
                .transpose()?
                .unwrap_or(DEFAULT_TOLERANCE),
            now: now
                .map(|t| crate::config::unix_time(t, "now"))
                .transpose()?
                .unwrap_or_else(SystemTime::now),
            timestamp_source,
        })
    }

    /// Options for one secret, the default tolerance, and the current time.
    pub fn new(secret: impl Into<String>) -> Self {
        VerifyOptions {
            secrets: vec![secret.into()],
            tolerance: DEFAULT_TOLERANCE,
            now: SystemTime::now(),
            timestamp_source: TimestampSource::default(),
        }
    }
}

fn failure(check: &'static str, message: impl Into<String>) -> Error {
    Error::WebhookVerification {
        check,
        message: message.into(),
    }
}

/// Verifies a delivery and parses it. `headers` are matched case-insensitively. The error
/// says which check failed: `missing_header`, `signature`, `body`, `webhook_id`, `timestamp`.
pub fn verify<'a>(
    raw_body: &[u8],
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    options: &VerifyOptions,
) -> Result<Delivery, Error> {
    let headers: Vec<(&str, &str)> = headers.into_iter().collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    };
    let webhook_id = header(WEBHOOK_ID_HEADER)
        .ok_or_else(|| failure("missing_header", format!("no {WEBHOOK_ID_HEADER} header")))?;
    let given = header(SIGNATURE_HEADER)
        .ok_or_else(|| failure("missing_header", format!("no {SIGNATURE_HEADER} header")))?;
    let timestamp = header(TIMESTAMP_HEADER)
        .ok_or_else(|| failure("missing_header", format!("no {TIMESTAMP_HEADER} header")))?;
    if options.secrets.iter().all(|s| s.is_empty()) {
        return Err(Error::Config(
            "webhook verification needs the webhook's secret".into(),
        ));
    }
    let given = given.to_ascii_lowercase();
    let matched = options
        .secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(false, |found, secret| {
            let expected = signature(raw_body, timestamp, secret);
            found | bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
        });
    if !matched {
        return Err(failure(
            "signature",
            "the signature does not match the body and timestamp for any configured secret",
        ));
    }
    let body: Value = serde_json::from_slice(raw_body)
        .map_err(|e| failure("body", format!("the body is not JSON: {e}")))?;
    let meta = body.get("meta").cloned().unwrap_or(Value::Null);
    match meta.get("klaviyo_webhook_id").and_then(Value::as_str) {
        Some(id) if id == webhook_id => {}
        Some(id) => {
            return Err(failure(
                "webhook_id",
                format!("the header names webhook {webhook_id:?} but the body names {id:?}"),
            ));
        }
        None => {
            return Err(failure(
                "webhook_id",
                "the body has no meta.klaviyo_webhook_id",
            ));
        }
    }
    let body_time = meta.get("timestamp").and_then(Value::as_str);
    let sent = match (options.timestamp_source, body_time.and_then(parse_iso8601)) {
        (TimestampSource::BodyThenHeader, Some(t)) => t,
        _ => httpdate::parse_http_date(timestamp).map_err(|_| {
            failure(
                "timestamp",
                format!("{TIMESTAMP_HEADER} {timestamp:?} is not an HTTP-date"),
            )
        })?,
    };
    let skew = match options.now.duration_since(sent) {
        Ok(age) => age,
        Err(ahead) => ahead.duration(),
    };
    if skew > options.tolerance {
        return Err(failure(
            "timestamp",
            format!(
                "the delivery was sent {}s away from now; the tolerance is {}s",
                skew.as_secs(),
                options.tolerance.as_secs()
            ),
        ));
    }
    let items = body
        .get("data")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| DeliveryItem {
                    topic: item
                        .get("topic")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    external_id: item
                        .get("external_id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    payload: item.get("payload").cloned().unwrap_or(Value::Null),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Delivery {
        webhook_id: webhook_id.to_string(),
        account_id: meta
            .get("klaviyo_account_id")
            .and_then(Value::as_str)
            .map(str::to_string),
        timestamp: body_time.map(str::to_string),
        items,
    })
}

/// Remembers deliveries already processed, so a replayed delivery is reported, not processed
/// twice. A delivery is identified by its signature (which covers body and timestamp).
/// No `Send` bound, so bindings can wrap a foreign object (a Python or JS store) per call.
pub trait SeenStore {
    /// Records `key`; returns false when it was already recorded.
    fn first_time(&self, key: &str, now: SystemTime) -> bool;
}

/// An in-memory [`SeenStore`] that forgets keys older than `retention` (keep it longer than
/// the freshness tolerance: older deliveries are refused as stale anyway).
pub struct MemorySeenStore {
    seen: std::sync::Mutex<std::collections::HashMap<String, SystemTime>>,
    retention: Duration,
}

impl MemorySeenStore {
    /// A store keeping keys for `retention` (e.g. twice the tolerance).
    pub fn new(retention: Duration) -> Self {
        MemorySeenStore {
            seen: Default::default(),
            retention,
        }
    }
}

impl Default for MemorySeenStore {
    fn default() -> Self {
        Self::new(DEFAULT_SEEN_RETENTION)
    }
}

impl MemorySeenStore {
    /// A store keeping keys `retention` seconds (default [`DEFAULT_SEEN_RETENTION`]), checked.
    pub fn with_retention_seconds(retention: Option<f64>) -> Result<Self, Error> {
        Ok(match retention {
            Some(r) => Self::new(crate::config::seconds_or_zero(r, "retention")?),
            None => Self::default(),
        })
    }
}

impl SeenStore for MemorySeenStore {
    fn first_time(&self, key: &str, now: SystemTime) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let retention = self.retention;
        seen.retain(|_, at| now.duration_since(*at).map_or(true, |age| age <= retention));
        seen.insert(key.to_string(), now).is_none()
    }
}

/// [`verify`], then reports a delivery already seen as a failed `replay` check.
pub fn verify_once<'a, S: SeenStore + ?Sized>(
    raw_body: &[u8],
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    options: &VerifyOptions,
    store: &S,
) -> Result<Delivery, Error> {
    let headers: Vec<(&str, &str)> = headers.into_iter().collect();
    let delivery = verify(raw_body, headers.iter().copied(), options)?;
    let signature = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(SIGNATURE_HEADER))
        .map(|(_, v)| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if store.first_time(&signature, options.now) {
        Ok(delivery)
    } else {
        Err(failure("replay", "this delivery was already processed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_0123456789abcdef";

    fn delivery(webhook_id: &str, timestamp: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "data": [{"topic": "event:klaviyo.placed_order", "external_id": "EVT1", "payload": {"type": "event", "id": "EVT1"}}],
            "meta": {"klaviyo_account_id": "ACC", "klaviyo_webhook_id": webhook_id, "timestamp": timestamp}
        }))
        .unwrap()
    }

    fn now() -> SystemTime {
        parse_iso8601("2026-04-14T03:50:12Z").unwrap()
    }

    fn options() -> VerifyOptions {
        VerifyOptions {
            now: now(),
            ..VerifyOptions::new(SECRET)
        }
    }

    #[test]
    fn known_answer_vector_computed_independently() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"secret",b"{}"+b"Tue, 14 Apr 2026 03:50:12 GMT",hashlib.sha256).hexdigest())'
        assert_eq!(
            signature(b"{}", "Tue, 14 Apr 2026 03:50:12 GMT", "secret"),
            "272415c7664c0ed93a467ce124c0e65710a8b98e77396d96f68abaae78cc864b"
        );
    }

    #[test]
    fn a_signed_delivery_verifies_and_parses() {
        let body = delivery("WH1", "2026-04-14T03:50:00+00:00");
        let headers = sign(&body, SECRET, "WH1", now());
        assert_eq!(headers.timestamp, "Tue, 14 Apr 2026 03:50:12 GMT");
        let lower: Vec<(String, String)> = headers
            .pairs()
            .iter()
            .map(|(k, v)| (k.to_lowercase(), v.to_string()))
            .collect();
        let parsed = verify(
            &body,
            lower.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            &options(),
        )
        .unwrap();
        assert_eq!(parsed.webhook_id, "WH1");
        assert_eq!(parsed.items[0].topic, "event:klaviyo.placed_order");
        assert_eq!(parsed.items[0].external_id.as_deref(), Some("EVT1"));
    }

    #[test]
    fn each_failed_check_is_named() {
        let body = delivery("WH1", "2026-04-14T03:50:00Z");
        let headers = sign(&body, SECRET, "WH1", now());
        let check = |body: &[u8], headers: &SignedHeaders, options: &VerifyOptions| match verify(
            body,
            headers.pairs(),
            options,
        ) {
            Err(Error::WebhookVerification { check, .. }) => check,
            other => panic!("{other:?}"),
        };
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert_eq!(check(&tampered, &headers, &options()), "signature");
        assert_eq!(
            check(
                &body,
                &headers,
                &VerifyOptions {
                    secrets: vec!["wrong-secret-000000".into()],
                    ..options()
                }
            ),
            "signature"
        );
        let stale = VerifyOptions {
            now: now() + Duration::from_secs(400),
            ..options()
        };
        assert_eq!(check(&body, &headers, &stale), "timestamp");
        let mismatched = delivery("WH2", "2026-04-14T03:50:00Z");
        assert_eq!(
            check(
                &mismatched,
                &sign(&mismatched, SECRET, "WH1", now()),
                &options()
            ),
            "webhook_id"
        );
        assert!(matches!(
            verify(&body, [("Klaviyo-Signature", "x")], &options()),
            Err(Error::WebhookVerification {
                check: "missing_header",
                ..
            })
        ));
    }

    #[test]
    fn a_replayed_delivery_is_reported_once_seen() {
        let body = delivery("WH1", "2026-04-14T03:50:00Z");
        let headers = sign(&body, SECRET, "WH1", now());
        let store = MemorySeenStore::default();
        assert!(verify_once(&body, headers.pairs(), &options(), &store).is_ok());
        match verify_once(&body, headers.pairs(), &options(), &store) {
            Err(Error::WebhookVerification { check, .. }) => assert_eq!(check, "replay"),
            other => panic!("{other:?}"),
        }
        let later = sign(&body, SECRET, "WH1", now() + Duration::from_secs(1));
        assert!(
            verify_once(
                &body,
                later.pairs(),
                &VerifyOptions {
                    now: now() + Duration::from_secs(1),
                    ..options()
                },
                &store
            )
            .is_ok(),
            "a new send is not a replay"
        );
        // A forged copy fails on its signature before it can touch the store.
        let forged = SignedHeaders {
            signature: "0".repeat(64),
            ..headers.clone()
        };
        assert!(matches!(
            verify_once(&body, forged.pairs(), &options(), &store),
            Err(Error::WebhookVerification {
                check: "signature",
                ..
            })
        ));
    }

    #[test]
    fn arbitrary_bodies_and_headers_never_panic() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
        let pieces: [&[u8]; 8] = [
            b"{",
            b"}",
            b"\"meta\":",
            b"{\"klaviyo_webhook_id\":\"WH1\",\"timestamp\":\"2026-04-14T03:50:00Z\"}",
            b"\"data\":[",
            b"null",
            b"\xff\xfe",
            b",",
        ];
        for round in 0..5_000 {
            let mut body = Vec::new();
            for _ in 0..rng.random_range(0..12) {
                if rng.random_bool(0.7) {
                    body.extend_from_slice(pieces[rng.random_range(0..pieces.len())]);
                } else {
                    body.push(rng.random());
                }
            }
            let timestamp: String = if rng.random_bool(0.5) {
                "Tue, 14 Apr 2026 03:50:12 GMT".into()
            } else {
                (0..rng.random_range(0..40))
                    .map(|_| rng.random::<char>())
                    .collect()
            };
            // Half the rounds carry a valid signature, so parsing past the HMAC is exercised too.
            let signature = if round % 2 == 0 {
                signature(&body, &timestamp, SECRET)
            } else {
                (0..rng.random_range(0..70))
                    .map(|_| rng.random_range('0'..='z'))
                    .collect()
            };
            let webhook_id: String = (0..rng.random_range(0..8))
                .map(|_| rng.random::<char>())
                .collect();
            let headers = [
                ("klaviyo-webhook-id", webhook_id.as_str()),
                ("KLAVIYO-SIGNATURE", signature.as_str()),
                ("Klaviyo-Timestamp", timestamp.as_str()),
            ];
            let options = VerifyOptions {
                tolerance: Duration::from_secs(rng.random_range(0..1_000_000)),
                ..options()
            };
            let _ = verify_once(
                &body,
                headers.iter().copied(),
                &options,
                &MemorySeenStore::default(),
            );
        }
    }

    #[test]
    fn rotated_secrets_and_header_clock_fallback() {
        let body = delivery("WH1", "not a time");
        let headers = sign(&body, "new-secret-0000000000", "WH1", now());
        let rotating = VerifyOptions {
            secrets: vec![SECRET.into(), "new-secret-0000000000".into()],
            ..options()
        };
        assert!(
            verify(&body, headers.pairs(), &rotating).is_ok(),
            "an unparseable body time falls back to the header"
        );
        // The body's time wins over a header clock that is off by hours.
        let body = delivery("WH1", "2026-04-14T03:50:00Z");
        let wrong_clock = sign(&body, SECRET, "WH1", now() - Duration::from_secs(5 * 3600));
        assert!(verify(&body, wrong_clock.pairs(), &options()).is_ok());
        let header_only = VerifyOptions {
            timestamp_source: TimestampSource::Header,
            ..options()
        };
        assert!(verify(&body, wrong_clock.pairs(), &header_only).is_err());
    }
}
