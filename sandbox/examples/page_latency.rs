//! Benchmark: time per page of 1,000 events over HTTP, plain, filtered by time and sorted, and
//! filtered by metric and sorted, following `links.next` as an export does, with N stored
//! events. `make bench` runs it at 20,000 and 1,000,000.
//!
//! cargo run --profile bench-fast -p klaviyo-sandbox --example page_latency -- 1000000

use std::time::{Duration, Instant};

use klaviyo_sandbox::{Options, RateLimits, SEED_EVENTS_END, start};
use serde_json::Value;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Median milliseconds per page over `pages` pages from `first`, following links.next.
async fn per_page(http: &reqwest::Client, key: &str, first: String, pages: usize) -> (f64, usize) {
    let mut url = Some(first);
    let mut times = Vec::new();
    let mut rows = 0;
    while let Some(current) = url.take() {
        if times.len() == pages {
            break;
        }
        let started = Instant::now();
        let response = http
            .get(&current)
            .header("authorization", format!("Klaviyo-API-Key {key}"))
            .header("revision", "2026-07-15")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{current}");
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        times.push(started.elapsed());
        rows += body["data"].as_array().map_or(0, Vec::len);
        url = body["links"]["next"].as_str().map(str::to_string);
    }
    times.sort();
    (
        times
            .get(times.len() / 2)
            .copied()
            .unwrap_or(Duration::ZERO)
            .as_secs_f64()
            * 1000.0,
        rows,
    )
}

#[tokio::main]
async fn main() {
    let events: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let started = Instant::now();
    let sandbox = start(Options {
        rate_limits: RateLimits::Off,
        seed_profiles: 10_000,
        seed_events: events,
        ..Options::default()
    })
    .await
    .unwrap();
    let seeded = started.elapsed();
    let rss = rss_mib();
    let http = reqwest::Client::new();
    let key = sandbox.api_key().to_string();
    let base = sandbox.base_url();
    let metric = sandbox.state()["events_per_metric"]
        .as_object()
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(metric, 5, "five seeded metrics");
    let metrics: Value = {
        let response = http
            .get(format!("{base}/api/metrics/"))
            .header("authorization", format!("Klaviyo-API-Key {key}"))
            .header("revision", "2026-07-15")
            .send()
            .await
            .unwrap();
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    };
    let metric_id = metrics["data"][0]["id"].as_str().unwrap().to_string();
    // Half a year back: about half the events match.
    let since = klaviyo_bridge::time::format_iso8601(
        std::time::UNIX_EPOCH + Duration::from_secs(SEED_EVENTS_END - 182 * 86_400),
    );
    let url = |params: &[(&str, &str)]| {
        reqwest::Url::parse_with_params(&format!("{base}/api/events/"), params)
            .unwrap()
            .to_string()
    };
    let plain = url(&[("page[size]", "1000")]);
    let time_filter = format!("greater-than(datetime,{since})");
    let filtered = url(&[
        ("filter", &time_filter),
        ("sort", "datetime"),
        ("page[size]", "1000"),
    ]);
    let by_metric_filter =
        format!("equals(metric_id,\"{metric_id}\"),greater-than(datetime,{since})");
    let by_metric = url(&[
        ("filter", &by_metric_filter),
        ("sort", "-datetime"),
        ("page[size]", "1000"),
    ]);
    let pages = 15.min(events / 2000).max(1);
    per_page(&http, &key, plain.clone(), 2).await; // warm the connection
    let (plain_ms, _) = per_page(&http, &key, plain, pages).await;
    let (filtered_ms, filtered_rows) = per_page(&http, &key, filtered, pages).await;
    let (metric_ms, _) = per_page(&http, &key, by_metric, pages.min(events / 10_000).max(1)).await;
    println!(
        "events={events:>9}  seed={:.1}s  rss={rss:.0}MiB  median ms per page of 1,000: plain={plain_ms:.2}  datetime filter+sort={filtered_ms:.2}  metric+datetime filter+sort={metric_ms:.2}  ({filtered_rows} rows over {pages} filtered pages)",
        seeded.as_secs_f64()
    );
    sandbox.shutdown().await;
}
