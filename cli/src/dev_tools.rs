//! `klaviyo-dev-tools` as functions that return data: health check, event validation and
//! webhook testing. CSV import is [`crate::import_csv`], export [`crate::export`].

use std::time::{Duration, Instant, SystemTime};

use klaviyo_bridge::filter::{Filter, FilterValue};
use klaviyo_bridge::operations::operation;
use klaviyo_bridge::rate_limit::RateLimitHeaders;
use klaviyo_bridge::{Client, Error, ListParams, Resource, Result};
use serde::Serialize;
use serde_json::{Value, json};

/// One resource family's read probe.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeCheck {
    /// e.g. `profiles`.
    pub family: &'static str,
    /// `OK`, `forbidden`, or `error: …`.
    pub status: String,
}

/// Result of `health-check`.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// Whether the key authenticated.
    pub key_valid: bool,
    /// The account the key belongs to.
    pub account_id: Option<String>,
    /// The account's organization name.
    pub account_name: Option<String>,
    /// API revision in use.
    pub revision: String,
    /// API host.
    pub base_url: String,
    /// Round trip of the accounts call.
    pub latency_ms: u64,
    /// The last `RateLimit-*` headers seen.
    pub rate_limit: Option<RateLimitHeaders>,
    /// Read access per resource family.
    pub scopes: Vec<ScopeCheck>,
    /// Why the key failed, when it did.
    pub error: Option<String>,
}

const PROBES: [(&str, &str); 7] = [
    ("accounts", "get_accounts"),
    ("profiles", "get_profiles"),
    ("events", "get_events"),
    ("metrics", "get_metrics"),
    ("lists", "get_lists"),
    ("catalogs", "get_catalog_items"),
    ("webhooks", "get_webhooks"),
];

/// Checks the key (accounts call) and probes each resource family read-only.
pub async fn health_check(client: &Client) -> HealthReport {
    let started = Instant::now();
    let account = client.accounts().current().await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let mut report = HealthReport {
        key_valid: account.is_ok(),
        account_id: account
            .as_ref()
            .ok()
            .and_then(|a| a.id().map(str::to_string)),
        account_name: account
            .as_ref()
            .ok()
            .and_then(|a| a.attr("contact_information"))
            .and_then(|c| c.get("organization_name"))
            .and_then(Value::as_str)
            .map(str::to_string),
        revision: client.config().revision.clone(),
        base_url: client
            .config()
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string(),
        latency_ms,
        rate_limit: None,
        scopes: Vec::new(),
        error: account.as_ref().err().map(ToString::to_string),
    };
    if report.key_valid {
        for (family, op) in PROBES {
            let small_page = operation(op)
                .and_then(|o| o.page_size)
                .map(|_| ("page[size]", "1"));
            let query: Vec<(&str, &str)> = small_page.into_iter().collect();
            let status = match client.request(op, &[], &query, None).await {
                Ok(_) => "OK".to_string(),
                Err(Error::PermissionDenied(_) | Error::Authentication(_)) => {
                    "forbidden".to_string()
                }
                Err(e) => format!(
                    "error: {}",
                    e.status()
                        .map_or_else(|| e.code().to_string(), |s| format!("HTTP {s}"))
                ),
            };
            report.scopes.push(ScopeCheck { family, status });
        }
    }
    report.rate_limit = client.rate_limit_status().map(|r| r.headers);
    report
}

/// One event name's validation.
#[derive(Debug, Clone, Serialize)]
pub struct EventCheck {
    /// The metric name asked about.
    pub event: String,
    /// Whether a metric of that name exists.
    pub exists: bool,
    /// Its id.
    pub metric_id: Option<String>,
    /// Events in the last 30 days (counted up to [`COUNT_CAP`]).
    pub events_30d: u64,
    /// Property names seen on recent events.
    pub sample_properties: Vec<String>,
}

/// Counting stops here; the report then says "at least".
pub const COUNT_CAP: u64 = 10_000;

/// For each name: does the metric exist, how many events in 30 days, which properties.
pub async fn validate_events(client: &Client, names: &[String]) -> Result<Vec<EventCheck>> {
    let metrics: Vec<Resource> = futures_util::TryStreamExt::try_collect(
        client.metrics().list(ListParams::default())?.items(),
    )
    .await?;
    let since =
        klaviyo_bridge::time::format_iso8601(SystemTime::now() - Duration::from_secs(30 * 86_400));
    let mut checks = Vec::new();
    for name in names {
        let metric = metrics
            .iter()
            .find(|m| m.attr_str("name") == Some(name.as_str()));
        let mut check = EventCheck {
            event: name.clone(),
            exists: metric.is_some(),
            metric_id: metric.and_then(|m| m.id().map(str::to_string)),
            events_30d: 0,
            sample_properties: Vec::new(),
        };
        if let Some(id) = &check.metric_id {
            let filter = Filter::new()
                .equals("metric_id", id.as_str())
                .greater_or_equal("datetime", FilterValue::datetime(since.clone()));
            let params = ListParams {
                filter: Some(filter.to_string()),
                max_items: Some(COUNT_CAP as usize),
                page_size: Some(1000),
                ..Default::default()
            };
            let mut pager = client.events().list(params)?;
            let mut names = std::collections::BTreeSet::new();
            while let Some(page) = pager.next_page().await? {
                check.events_30d += page.data.len() as u64;
                for event in page.data.iter().take(50) {
                    if let Some(props) = event.attr("event_properties").and_then(Value::as_object) {
                        names.extend(props.keys().filter(|k| !k.starts_with('$')).cloned());
                    }
                }
            }
            check.sample_properties = names.into_iter().take(10).collect();
        }
        checks.push(check);
    }
    Ok(checks)
}

/// Result of `test-webhook`.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookTest {
    /// Where it was sent.
    pub url: String,
    /// The receiver's answer to the correctly signed delivery.
    pub status: u16,
    /// How long it took.
    pub latency_ms: u64,
    /// Whether the receiver accepted it (2xx; a redirect is not followed and is no acceptance:
    /// Klaviyo does not follow it either).
    pub accepted: bool,
    /// Where a 3xx answer pointed.
    pub redirect_location: Option<String>,
    /// The receiver's answer to a wrongly signed copy (with `--secret`, and only once the
    /// genuine delivery was accepted: otherwise a refusal proves nothing).
    pub forged_status: Option<u16>,
    /// Whether the receiver refused the forged copy with a 4xx.
    pub rejected_forged: Option<bool>,
}

/// How long `test-webhook` waits for an answer by default.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends a Klaviyo-format sample delivery, signed as Klaviyo signs, to `url`; with a secret,
/// also a wrongly signed copy, to see the receiver reject it. Redirects are reported, not
/// followed; a receiver that does not answer within `timeout` is an [`Error::Timeout`].
pub async fn test_webhook(
    url: &str,
    secret: Option<&str>,
    timeout: Duration,
) -> Result<WebhookTest> {
    klaviyo_bridge::config::validate_endpoint_url(url, "--webhook-url")?;
    let now = SystemTime::now();
    let body = json!({
        "data": [{"topic": "event:klaviyo.placed_order", "external_id": "TEST_EVENT_1",
                  "payload": {"data": {"type": "event", "id": "TEST_EVENT_1", "attributes": {"datetime": klaviyo_bridge::time::format_iso8601(now), "event_properties": {"value": 99.99, "OrderId": "ORD-123"}}}}}],
        "meta": {"klaviyo_account_id": "TEST", "klaviyo_webhook_id": "klaviyo-dev-tools-test", "timestamp": klaviyo_bridge::time::format_iso8601(now)},
    })
    .to_string();
    // Without a secret the delivery is still signed, with a throwaway key.
    let signing_secret = secret.map_or_else(
        || {
            format!(
                "unsigned-test-{:016x}",
                now.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos()
            )
        },
        str::to_string,
    );
    let http = klaviyo_bridge::tls::http_client_builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(e.to_string()))?;
    let send = |secret: String| {
        let (http, body) = (http.clone(), body.clone());
        async move {
            let headers = klaviyo_bridge::webhook_signature::sign(
                body.as_bytes(),
                &secret,
                "klaviyo-dev-tools-test",
                now,
            );
            let mut request = http
                .post(url)
                .header("content-type", "application/json")
                .body(body);
            for (name, value) in headers.pairs() {
                request = request.header(name, value);
            }
            let started = Instant::now();
            let response = request.send().await.map_err(|e| {
                if e.is_timeout() {
                    Error::Timeout {
                        operation: format!("test-webhook: {url} did not answer; it"),
                        elapsed: timeout,
                    }
                } else {
                    Error::Network {
                        operation: "test-webhook".into(),
                        message: format!("could not reach {url}: {e}"),
                    }
                }
            })?;
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            Ok::<_, Error>((
                response.status().as_u16(),
                location,
                started.elapsed().as_millis() as u64,
            ))
        }
    };
    let (status, location, latency_ms) = send(signing_secret.clone()).await?;
    let mut report = WebhookTest {
        url: url.to_string(),
        status,
        latency_ms,
        accepted: (200..300).contains(&status),
        redirect_location: location.filter(|_| (300..400).contains(&status)),
        forged_status: None,
        rejected_forged: None,
    };
    if secret.is_some() && report.accepted {
        let (forged, _, _) = send(format!("{signing_secret}-wrong")).await?;
        report.forged_status = Some(forged);
        report.rejected_forged = Some((400..500).contains(&forged));
    }
    Ok(report)
}
