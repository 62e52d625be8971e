//! Reliability: injected faults are survived by the client with nothing lost or doubled;
//! 2,000 concurrent requests over 64 connections are all served and all recorded.

use std::time::Duration;

use klaviyo_bridge::Client;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::retry::RetryPolicy;
use klaviyo_sandbox::{Options, RateLimits, start};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_exactly_once_through_injected_faults() {
    let sandbox = start(Options {
        rate_limits: RateLimits::Off,
        faults: "429:0.05,500:0.02,503:0.05,reset:0.03,slow:0.01@300".into(),
        seed: 42,
        ..Options::default()
    })
    .await
    .unwrap();
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .retry_policy(RetryPolicy {
            max_retries: 8,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
    // 429s, 500s, 503s and resets are all retried inside the client (events carry a unique_id,
    // so repeating them is safe): no call fails.
    let sends = (0..400).map(|i| {
        let client = client.clone();
        async move {
            client
                .events()
                .create(
                    EventCreate::new("Placed Order")
                        .email(format!("u{}@example.com", i % 50))
                        .unique_id(format!("order-{i}")),
                )
                .await
        }
    });
    let results = futures_util::future::join_all(sends).await;
    let surfaced: Vec<&str> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.code()))
        .collect();
    assert!(
        surfaced.is_empty(),
        "faults reached the caller: {surfaced:?}"
    );
    assert_eq!(
        sandbox.state()["events_per_metric"]["Placed Order"],
        400,
        "none lost, none doubled"
    );
    let statuses: Vec<u16> = sandbox.requests().iter().map(|r| r.status).collect();
    for injected in [429, 500, 503, 0] {
        assert!(
            statuses.contains(&injected),
            "fault {injected} was injected and survived (0 = connection reset)"
        );
    }
    assert!(
        statuses.len() > 420,
        "retries happened: {} requests for 400 events",
        statuses.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_concurrent_requests_over_64_connections() {
    let sandbox = start(Options {
        rate_limits: RateLimits::Off,
        ..Options::default()
    })
    .await
    .unwrap();
    let url = format!("{}/api/events", sandbox.base_url());
    let key = format!("Klaviyo-API-Key {}", sandbox.api_key());
    let connections = (0..64).map(|c| {
        let (url, key) = (url.clone(), key.clone());
        tokio::spawn(async move {
            // One client per connection: HTTP/1.1 keep-alive, one socket each.
            let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
            let mut statuses = Vec::new();
            for i in 0..32 {
                let body = json!({"data": {"type": "event", "attributes": {"properties": {"n": i}, "unique_id": format!("c{c}-{i}"),
                    "metric": {"data": {"type": "metric", "attributes": {"name": "Load"}}},
                    "profile": {"data": {"type": "profile", "attributes": {"email": format!("c{c}@example.com")}}}}}});
                let response = http.post(&url).header("authorization", &key).header("revision", "2026-07-15").header("content-type", "application/vnd.api+json").body(body.to_string()).send().await.unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        })
    });
    let statuses: Vec<u16> = futures_util::future::join_all(connections)
        .await
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();
    assert_eq!(statuses.len(), 2_048);
    assert!(statuses.iter().all(|s| *s == 202));
    let state = sandbox.state();
    assert_eq!(state["events_per_metric"]["Load"], 2_048, "no lost events");
    assert_eq!(state["profiles"], 64);
}
