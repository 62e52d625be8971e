//! The event tracker against the sandbox with real rate limits: every event arrives exactly
//! once despite injected faults (429, 500, 503, connection resets, slow responses), and a
//! duplicate `unique_id` inside a job costs nothing but a split.

use std::time::Duration;

use klaviyo_bridge::Client;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::tracker::TrackerOptions;
use klaviyo_sandbox::{Options, RateLimits, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_arrive_exactly_once_through_faults() {
    let sandbox = start(Options {
        rate_limits: RateLimits::Real,
        faults: "429:0.05,500:0.02,503:0.02,reset:0.01,slow:0.01@3000".into(),
        seed: 7,
        ..Options::default()
    })
    .await
    .unwrap();
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    // Jobs of 100 make 100 requests, so the faults are hit many times.
    let tracker = client
        .tracker(TrackerOptions {
            flush_at: 100,
            ..Default::default()
        })
        .unwrap();
    for i in 0..10_000 {
        tracker
            .track(
                EventCreate::new("Viewed Page")
                    .email(format!("user{}@example.com", i % 500))
                    .property("n", i),
            )
            .unwrap();
    }
    let stats = tracker.shutdown(Duration::from_secs(120)).await.unwrap();
    assert_eq!(
        (
            stats.queued,
            stats.sent,
            stats.failed,
            stats.dropped,
            stats.pending
        ),
        (10_000, 10_000, 0, 0, 0),
        "{stats:?}"
    );
    sandbox.settled().await;
    let state = sandbox.state();
    assert_eq!(state["events"], 10_000, "none lost, none doubled");
    let faults = sandbox
        .requests()
        .iter()
        .filter(|r| r.operation == Some("bulk_create_events") && r.status != 202)
        .count();
    assert!(faults > 0, "the run met faults");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_unique_id_in_a_job_does_not_sink_its_neighbours() {
    let sandbox = start(Options {
        rate_limits: RateLimits::Off,
        ..Options::default()
    })
    .await
    .unwrap();
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let tracker = client.tracker(TrackerOptions::default()).unwrap();
    for i in 0..1_000 {
        // Events 10 and 900 share a unique_id: the sandbox, like Klaviyo, refuses such a job.
        let id = if i == 900 {
            "order-10".to_string()
        } else {
            format!("order-{i}")
        };
        tracker
            .track(
                EventCreate::new("Placed Order")
                    .email("buyer@example.com")
                    .unique_id(id),
            )
            .unwrap();
    }
    let stats = tracker.shutdown(Duration::from_secs(30)).await.unwrap();
    assert_eq!((stats.sent, stats.failed), (1_000, 0));
    assert!(
        stats.retried >= 1_000,
        "the refused job was split and resent: {stats:?}"
    );
    sandbox.settled().await;
    let state = sandbox.state();
    assert_eq!(state["events"], 999, "999 distinct events recorded");
    assert_eq!(
        state["duplicate_events_ignored"], 1,
        "the repeat is de-duplicated by the server"
    );
}
