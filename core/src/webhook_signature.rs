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
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.update(timestamp.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
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
        [(WEBHOOK_ID_HEADER, &self.webhook_id), (SIGNATURE_HEADER, &self.signature), (TIMESTAMP_HEADER, &self.timestamp)]
    }
}

/// Signs `body` as Klaviyo does, with the timestamp as an HTTP-date.
pub fn sign(body: &[u8], secret: &str, webhook_id: &str, timestamp: SystemTime) -> SignedHeaders {
    let timestamp = httpdate::fmt_http_date(timestamp);
    SignedHeaders { webhook_id: webhook_id.to_string(), signature: signature(body, &timestamp, secret), timestamp }
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

impl VerifyOptions {
    /// Options for one secret, the default tolerance, and the current time.
    pub fn new(secret: impl Into<String>) -> Self {
        VerifyOptions { secrets: vec![secret.into()], tolerance: DEFAULT_TOLERANCE, now: SystemTime::now(), timestamp_source: TimestampSource::default() }
    }
}

fn failure(check: &'static str, message: impl Into<String>) -> Error {
    Error::WebhookVerification { check, message: message.into() }
}

/// Verifies a delivery and parses it. `headers` are matched case-insensitively. The error
/// says which check failed: `missing_header`, `signature`, `body`, `webhook_id`, `timestamp`.
pub fn verify<'a>(raw_body: &[u8], headers: impl IntoIterator<Item = (&'a str, &'a str)>, options: &VerifyOptions) -> Result<Delivery, Error> {
    let headers: Vec<(&str, &str)> = headers.into_iter().collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim());
    let webhook_id = header(WEBHOOK_ID_HEADER).ok_or_else(|| failure("missing_header", format!("no {WEBHOOK_ID_HEADER} header")))?;
    let given = header(SIGNATURE_HEADER).ok_or_else(|| failure("missing_header", format!("no {SIGNATURE_HEADER} header")))?;
    let timestamp = header(TIMESTAMP_HEADER).ok_or_else(|| failure("missing_header", format!("no {TIMESTAMP_HEADER} header")))?;
    if options.secrets.iter().all(|s| s.is_empty()) {
        return Err(Error::Config("webhook verification needs the webhook's secret".into()));
    }
    let given = given.to_ascii_lowercase();
    let matched = options.secrets.iter().filter(|s| !s.is_empty()).fold(false, |found, secret| {
        let expected = signature(raw_body, timestamp, secret);
        found | bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    });
    if !matched {
        return Err(failure("signature", "the signature does not match the body and timestamp for any configured secret"));
    }
    let body: Value = serde_json::from_slice(raw_body).map_err(|e| failure("body", format!("the body is not JSON: {e}")))?;
    let meta = body.get("meta").cloned().unwrap_or(Value::Null);
    match meta.get("klaviyo_webhook_id").and_then(Value::as_str) {
        Some(id) if id == webhook_id => {}
        Some(id) => return Err(failure("webhook_id", format!("the header names webhook {webhook_id:?} but the body names {id:?}"))),
        None => return Err(failure("webhook_id", "the body has no meta.klaviyo_webhook_id")),
    }
    let body_time = meta.get("timestamp").and_then(Value::as_str);
    let sent = match (options.timestamp_source, body_time.and_then(parse_iso8601)) {
        (TimestampSource::BodyThenHeader, Some(t)) => t,
        _ => httpdate::parse_http_date(timestamp).map_err(|_| failure("timestamp", format!("{TIMESTAMP_HEADER} {timestamp:?} is not an HTTP-date")))?,
    };
    let skew = match options.now.duration_since(sent) {
        Ok(age) => age,
        Err(ahead) => ahead.duration(),
    };
    if skew > options.tolerance {
        return Err(failure("timestamp", format!("the delivery was sent {}s away from now; the tolerance is {}s", skew.as_secs(), options.tolerance.as_secs())));
    }
    let items = body
        .get("data")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|item| DeliveryItem {
                    topic: item.get("topic").and_then(Value::as_str).unwrap_or_default().to_string(),
                    external_id: item.get("external_id").and_then(Value::as_str).map(str::to_string),
                    payload: item.get("payload").cloned().unwrap_or(Value::Null),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Delivery {
        webhook_id: webhook_id.to_string(),
        account_id: meta.get("klaviyo_account_id").and_then(Value::as_str).map(str::to_string),
        timestamp: body_time.map(str::to_string),
        items,
    })
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
        VerifyOptions { now: now(), ..VerifyOptions::new(SECRET) }
    }

    #[test]
    fn known_answer_vector_computed_independently() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"secret",b"{}"+b"Tue, 14 Apr 2026 03:50:12 GMT",hashlib.sha256).hexdigest())'
        assert_eq!(signature(b"{}", "Tue, 14 Apr 2026 03:50:12 GMT", "secret"), "272415c7664c0ed93a467ce124c0e65710a8b98e77396d96f68abaae78cc864b");
    }

    #[test]
    fn a_signed_delivery_verifies_and_parses() {
        let body = delivery("WH1", "2026-04-14T03:50:00+00:00");
        let headers = sign(&body, SECRET, "WH1", now());
        assert_eq!(headers.timestamp, "Tue, 14 Apr 2026 03:50:12 GMT");
        let lower: Vec<(String, String)> = headers.pairs().iter().map(|(k, v)| (k.to_lowercase(), v.to_string())).collect();
        let parsed = verify(&body, lower.iter().map(|(k, v)| (k.as_str(), v.as_str())), &options()).unwrap();
        assert_eq!(parsed.webhook_id, "WH1");
        assert_eq!(parsed.items[0].topic, "event:klaviyo.placed_order");
        assert_eq!(parsed.items[0].external_id.as_deref(), Some("EVT1"));
    }

    #[test]
    fn each_failed_check_is_named() {
        let body = delivery("WH1", "2026-04-14T03:50:00Z");
        let headers = sign(&body, SECRET, "WH1", now());
        let check = |body: &[u8], headers: &SignedHeaders, options: &VerifyOptions| match verify(body, headers.pairs(), options) {
            Err(Error::WebhookVerification { check, .. }) => check,
            other => panic!("{other:?}"),
        };
        let mut tampered = body.clone();
        tampered[10] ^= 1;
        assert_eq!(check(&tampered, &headers, &options()), "signature");
        assert_eq!(check(&body, &headers, &VerifyOptions { secrets: vec!["wrong-secret-000000".into()], ..options() }), "signature");
        let stale = VerifyOptions { now: now() + Duration::from_secs(400), ..options() };
        assert_eq!(check(&body, &headers, &stale), "timestamp");
        let mismatched = delivery("WH2", "2026-04-14T03:50:00Z");
        assert_eq!(check(&mismatched, &sign(&mismatched, SECRET, "WH1", now()), &options()), "webhook_id");
        assert!(matches!(verify(&body, [("Klaviyo-Signature", "x")], &options()), Err(Error::WebhookVerification { check: "missing_header", .. })));
    }

    #[test]
    fn rotated_secrets_and_header_clock_fallback() {
        let body = delivery("WH1", "not a time");
        let headers = sign(&body, "new-secret-0000000000", "WH1", now());
        let rotating = VerifyOptions { secrets: vec![SECRET.into(), "new-secret-0000000000".into()], ..options() };
        assert!(verify(&body, headers.pairs(), &rotating).is_ok(), "an unparseable body time falls back to the header");
        // The body's time wins over a header clock that is off by hours.
        let body = delivery("WH1", "2026-04-14T03:50:00Z");
        let wrong_clock = sign(&body, SECRET, "WH1", now() - Duration::from_secs(5 * 3600));
        assert!(verify(&body, wrong_clock.pairs(), &options()).is_ok());
        let header_only = VerifyOptions { timestamp_source: TimestampSource::Header, ..options() };
        assert!(verify(&body, wrong_clock.pairs(), &header_only).is_err());
    }

}
