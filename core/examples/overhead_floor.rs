//! The floor every door is measured against: CPU per `create_event` and per page of 100
//! profiles for bare reqwest (a prebuilt request, the page parsed by serde_json) and for this
//! crate's client (rate limiter, retries, errors, paging), against the same server.
//!
//! `cargo run --profile bench-fast -p klaviyo-bridge --example overhead_floor -- URL [OUT.json]`
//! (run by `make bench`, which passes a seeded sandbox). Prints a table; with OUT, also writes
//! the figures as JSON for the Python and Node benches to print beside theirs.

use std::time::Instant;

use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::profiles::ProfileRef;
use klaviyo_bridge::{Client, ClientOptions, ListParams};
use serde_json::{Value, json};

#[path = "support/cpu.rs"]
mod cpu;
use cpu::cpu_ms;

const KEY: &str = "pk_sandbox_not_a_real_key_0000000000";
const REVISION: &str = klaviyo_bridge::config::DEFAULT_REVISION;

fn events() -> usize {
    std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn pages() -> usize {
    std::env::var("BENCH_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// CPU per call over calls 1..n; call 0 warms up (connection, first allocations).
struct Meter {
    calls: usize,
    start: f64,
}

impl Meter {
    fn new(calls: usize) -> Self {
        Meter { calls, start: 0.0 }
    }
    /// Called before each call `i`.
    fn before(&mut self, i: usize) {
        if i == 1 {
            self.start = cpu_ms();
        }
    }
    fn per_call(&self) -> f64 {
        (cpu_ms() - self.start) / (self.calls - 1) as f64
    }
}

fn bare_event_body() -> Vec<u8> {
    serde_json::to_vec(&json!({"data": {"type": "event", "attributes": {
        "properties": {"OrderId": "ORD-123", "value": 99.99},
        "metric": {"data": {"type": "metric", "attributes": {"name": "Placed Order"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": "bench@example.com"}}}}}}))
    .expect("a JSON body")
}

async fn bare(url: &str) -> (f64, f64) {
    let http = klaviyo_bridge::tls::http_client_builder()
        .tcp_nodelay(true)
        .build()
        .expect("reqwest");
    let auth = format!("Klaviyo-API-Key {KEY}");
    let body = bare_event_body();
    let events_url = format!("{url}/api/events");
    let mut meter = Meter::new(events());
    for i in 0..events() {
        meter.before(i);
        let response = http
            .post(&events_url)
            .header("Authorization", &auth)
            .header("revision", REVISION)
            .header("Accept", "application/vnd.api+json")
            .header("Content-Type", "application/vnd.api+json")
            .body(body.clone())
            .send()
            .await
            .expect("bare send");
        assert!(
            response.status().is_success(),
            "bare create_event: {}",
            response.status()
        );
        response.bytes().await.expect("bare body");
    }
    let event = meter.per_call();
    let mut next = Some(format!("{url}/api/profiles?page%5Bsize%5D=100"));
    let mut meter = Meter::new(pages());
    for i in 0..pages() {
        meter.before(i);
        let link = next.take().expect("a next page");
        let bytes = http
            .get(link)
            .header("Authorization", &auth)
            .header("revision", REVISION)
            .header("Accept", "application/vnd.api+json")
            .send()
            .await
            .expect("bare send")
            .bytes()
            .await
            .expect("bare body");
        let doc: Value = serde_json::from_slice(&bytes).expect("a JSON page");
        assert_eq!(doc["data"].as_array().map(Vec::len), Some(100));
        next = doc["links"]["next"].as_str().map(str::to_string);
    }
    let page = meter.per_call();
    (event, page)
}

async fn bridge(url: &str) -> (f64, f64) {
    let client = Client::builder()
        .options(ClientOptions {
            api_key: Some(klaviyo_bridge::auth::Secret::new(KEY.to_string())),
            base_url: Some(url.to_string()),
            rate_limit: Some(false),
            ..Default::default()
        })
        .expect("options")
        .build()
        .expect("a client");
    let mut meter = Meter::new(events());
    for i in 0..events() {
        meter.before(i);
        let mut properties = serde_json::Map::new();
        properties.insert("OrderId".into(), json!("ORD-123"));
        properties.insert("value".into(), json!(99.99));
        client
            .events()
            .create(EventCreate {
                metric: "Placed Order".into(),
                profile: ProfileRef {
                    email: Some("bench@example.com".into()),
                    ..Default::default()
                },
                properties,
                value: None,
                value_currency: None,
                time: None,
                unique_id: None,
            })
            .await
            .expect("create_event");
    }
    let event = meter.per_call();
    let mut pager = client
        .profiles()
        .list(ListParams {
            page_size: Some(100),
            max_pages: Some(pages()),
            ..Default::default()
        })
        .expect("a pager");
    let mut meter = Meter::new(pages());
    for i in 0..pages() {
        meter.before(i);
        let page = pager
            .next_page()
            .await
            .expect("a page")
            .expect("not the last page");
        assert_eq!(page.data.len(), 100);
    }
    let page = meter.per_call();
    (event, page)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().expect("usage: overhead_floor URL [OUT.json]");
    let out = args.next();
    // One worker, as the bindings run: the work is I/O.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let started = Instant::now();
    let (bare_event, bare_page) = runtime.block_on(bare(&url));
    let (event, page) = runtime.block_on(bridge(&url));
    println!(
        "\nRust: the floor, {} create_event calls and {} pages of 100 profiles ({:.1} s)",
        events(),
        pages(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:26}{:>16}{:>14}{:>9}",
        "", "klaviyo-bridge", "bare reqwest", "ratio"
    );
    println!(
        "{:26}{event:>16.3}{bare_event:>14.3}{:>9.2}",
        "CPU ms per create_event",
        event / bare_event
    );
    println!(
        "{:26}{page:>16.3}{bare_page:>14.3}{:>9.2}",
        "CPU ms per page of 100",
        page / bare_page
    );
    if let Some(out) = out {
        let figures = json!({
            "bare": {"event_ms": bare_event, "page_ms": bare_page},
            "rust": {"event_ms": event, "page_ms": page},
        });
        std::fs::write(&out, figures.to_string()).expect("writing the floor figures");
    }
}
