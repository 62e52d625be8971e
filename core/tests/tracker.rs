//! The event tracker against a scripted server: jobs packed by count and bytes, a poisoned
//! job split until the bad event is alone (and reported), transient failures resent until
//! accepted, queue-full behaviours, flush/shutdown, and the durable spool.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::tracker::{TrackFailure, TrackerOptions, WhenFull};
use serde_json::{Value, json};
use support::{Reply, serve};

fn unique_ids(body: &str) -> Vec<String> {
    let doc: Value = serde_json::from_str(body).unwrap();
    doc["data"]["attributes"]["events-bulk-create"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            entry["attributes"]["events"]["data"][0]["attributes"]["unique_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn accepted() -> Reply {
    Reply::json(
        202,
        json!({"data": {"type": "event-bulk-create-job", "id": "JOB", "attributes": {"status": "queued"}}}),
    )
}

fn event(i: usize) -> EventCreate {
    EventCreate::new("Viewed Page")
        .email(format!("user{i}@example.com"))
        .unique_id(format!("evt-{i}"))
        .property("i", i as u64)
}

fn failures() -> (
    Arc<Mutex<Vec<TrackFailure>>>,
    klaviyo_bridge::tracker::OnError,
) {
    let seen: Arc<Mutex<Vec<TrackFailure>>> = Arc::default();
    let sink = seen.clone();
    (
        seen,
        Arc::new(move |f: &TrackFailure| sink.lock().unwrap().push(f.clone())),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_jobs_of_1000_then_the_rest_on_flush() {
    let server = serve(|_, _| accepted()).await;
    let client = server.client().rate_limit(false).build().unwrap();
    let tracker = client
        .tracker(TrackerOptions {
            flush_interval: Duration::from_secs(3600),
            ..Default::default()
        })
        .unwrap();
    for i in 0..2_500 {
        tracker.track(event(i)).unwrap();
    }
    tracker.flush().await;
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .map(|r| unique_ids(&r.body).len())
        .collect();
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [500, 1000, 1000],
        "two full jobs, then the remainder when flushed"
    );
    let stats = tracker.stats();
    assert_eq!(
        (stats.queued, stats.sent, stats.failed, stats.pending),
        (2_500, 2_500, 0, 0)
    );
    let mut ids: Vec<String> = server
        .requests()
        .iter()
        .flat_map(|r| unique_ids(&r.body))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 2_500, "each event sent once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_respect_max_batch_bytes_and_oversize_events_are_refused_at_track() {
    let server = serve(|_, _| accepted()).await;
    let client = server.client().rate_limit(false).build().unwrap();
    let tracker = client
        .tracker(TrackerOptions {
            max_batch_bytes: 50_000,
            ..Default::default()
        })
        .unwrap();
    let padding = "x".repeat(4_000);
    for i in 0..40 {
        tracker
            .track(event(i).property("pad", padding.as_str()))
            .unwrap();
    }
    let err = tracker
        .track(event(99).property("pad", "y".repeat(120_000)))
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    assert!(
        err.to_string().contains("bytes") && err.to_string().contains("trim"),
        "{err}"
    );
    tracker.flush().await;
    assert!(
        server.requests().iter().all(|r| r.body.len() <= 50_000),
        "every job within max_batch_bytes"
    );
    assert_eq!(
        server
            .requests()
            .iter()
            .map(|r| unique_ids(&r.body).len())
            .sum::<usize>(),
        40
    );
    assert!(
        server.count() >= 4,
        "40 events of ~4 kB cannot fit one 50 kB job"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poisoned_job_is_split_until_the_bad_event_is_alone() {
    // The server refuses any job holding the poisoned event, as Klaviyo refuses a whole job.
    let server = serve(|seen, _| {
        if unique_ids(&seen.body).iter().any(|id| id == "evt-617") {
            Reply::json(400, json!({"errors": [{"id": "e", "status": 400, "code": "invalid", "title": "Invalid input.", "detail": "evt-617 is not acceptable", "source": {"pointer": "/data"}}]}))
        } else {
            accepted()
        }
    })
    .await;
    let client = server.client().rate_limit(false).build().unwrap();
    let (failed, on_error) = failures();
    let tracker = client
        .tracker(TrackerOptions {
            on_error: Some(on_error),
            ..Default::default()
        })
        .unwrap();
    for i in 0..1_000 {
        tracker.track(event(i)).unwrap();
    }
    tracker.flush().await;
    let failed = failed.lock().unwrap().clone();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].unique_id.as_str(), failed[0].code.as_str()),
        ("evt-617", "validation_error")
    );
    assert!(
        failed[0].reason.contains("not acceptable"),
        "{}",
        failed[0].reason
    );
    let stats = tracker.stats();
    assert_eq!((stats.sent, stats.failed), (999, 1));
    let delivered: usize = server
        .requests()
        .iter()
        .filter(|r| !r.body.contains("\"evt-617\""))
        .map(|r| unique_ids(&r.body).len())
        .sum();
    assert_eq!(delivered, 999, "the 999 neighbours are each delivered once");
    assert!(
        server.count() <= 2 * 10 + 1,
        "halving isolates one event in about log2(1000) rounds: {}",
        server.count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_failures_are_resent_until_accepted() {
    let server = serve(|_, n| match n % 3 {
        0 => Reply::json(503, json!({"errors": []})),
        _ => accepted(),
    })
    .await;
    let client = server
        .client()
        .rate_limit(false)
        .max_retries(0)
        .build()
        .unwrap();
    let tracker = client
        .tracker(TrackerOptions {
            flush_at: 100,
            ..Default::default()
        })
        .unwrap();
    for i in 0..1_000 {
        tracker.track(event(i)).unwrap();
    }
    tracker.flush().await;
    let stats = tracker.stats();
    assert_eq!((stats.sent, stats.failed), (1_000, 0));
    assert!(stats.retried >= 100, "{stats:?}");
    assert!(stats.last_error.unwrap().contains("503"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_errors_or_drops_as_configured_and_blocks_by_default() {
    // A server that never answers keeps events pending.
    let (release, hold) = tokio::sync::watch::channel(false);
    let server = serve(move |_, _| {
        let mut hold = hold.clone();
        futures_util::FutureExt::now_or_never(hold.wait_for(|v| *v))
            .map_or_else(|| Reply::json(503, json!({})), |_| accepted())
    })
    .await;
    let client = server
        .client()
        .rate_limit(false)
        .max_retries(0)
        .build()
        .unwrap();
    let error_tracker = client
        .tracker(TrackerOptions {
            max_queue: 10,
            when_full: WhenFull::Error,
            ..Default::default()
        })
        .unwrap();
    for i in 0..10 {
        error_tracker.track(event(i)).unwrap();
    }
    let err = error_tracker.track(event(10)).unwrap_err();
    assert_eq!(err.code(), "queue_full");

    let (dropped, on_error) = failures();
    let drop_tracker = client
        .tracker(TrackerOptions {
            max_queue: 10,
            when_full: WhenFull::Drop,
            on_error: Some(on_error),
            ..Default::default()
        })
        .unwrap();
    for i in 0..12 {
        drop_tracker.track(event(i)).unwrap();
    }
    assert_eq!(drop_tracker.stats().dropped, 2);
    assert_eq!(
        dropped
            .lock()
            .unwrap()
            .iter()
            .map(|f| f.code.as_str())
            .collect::<Vec<_>>(),
        ["queue_full", "queue_full"]
    );

    // Blocking: the 11th track() returns only once the server accepts and room frees up.
    let block_tracker = client
        .tracker(TrackerOptions {
            max_queue: 10,
            flush_at: 10,
            ..Default::default()
        })
        .unwrap();
    for i in 0..10 {
        block_tracker.track(event(i)).unwrap();
    }
    let mut blocked = {
        let t = block_tracker.clone();
        tokio::task::spawn_blocking(move || t.track(event(10)))
    };
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut blocked)
            .await
            .is_err(),
        "track() waits while the queue is full"
    );
    assert_eq!(block_tracker.stats().queued, 10);
    release.send(true).unwrap();
    blocked.await.unwrap().unwrap();
    block_tracker.flush().await;
    assert_eq!(block_tracker.stats().sent, 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_reports_what_it_could_not_deliver_and_refuses_new_events() {
    let server = serve(|_, _| Reply::json(503, json!({}))).await;
    let client = server
        .client()
        .rate_limit(false)
        .max_retries(0)
        .build()
        .unwrap();
    let (failed, on_error) = failures();
    let tracker = client
        .tracker(TrackerOptions {
            on_error: Some(on_error),
            ..Default::default()
        })
        .unwrap();
    for i in 0..5 {
        tracker.track(event(i)).unwrap();
    }
    let err = tracker
        .shutdown(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "timeout");
    assert!(
        tracker
            .track(event(9))
            .unwrap_err()
            .to_string()
            .contains("shut down")
    );
    tracker.flush().await;
    assert_eq!(
        failed.lock().unwrap().len(),
        5,
        "every undelivered event is reported, none silently lost"
    );
    assert!(failed.lock().unwrap().iter().all(|f| f.code == "shutdown"));
    assert_eq!(tracker.stats().failed, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spool_resends_what_an_earlier_tracker_did_not_deliver() {
    let dir = std::env::temp_dir().join(format!("klaviyo-tracker-spool-{}", uuid::Uuid::new_v4()));
    let down = serve(|_, _| Reply::json(503, json!({}))).await;
    {
        let client = down
            .client()
            .rate_limit(false)
            .max_retries(0)
            .build()
            .unwrap();
        let tracker = client
            .tracker(TrackerOptions {
                spool_dir: Some(dir.clone()),
                ..Default::default()
            })
            .unwrap();
        for i in 0..300 {
            tracker.track(event(i)).unwrap();
        }
        assert!(tracker.shutdown(Duration::from_millis(200)).await.is_err());
        assert_eq!(
            tracker.stats().failed,
            0,
            "durable mode keeps undelivered events for the next start"
        );
    }
    let up = serve(|_, _| accepted()).await;
    let client = up.client().rate_limit(false).build().unwrap();
    let tracker = client
        .tracker(TrackerOptions {
            spool_dir: Some(dir.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(tracker.stats().queued, 300, "recovered from the spool");
    tracker.shutdown(Duration::from_secs(10)).await.unwrap();
    let mut ids: Vec<String> = up
        .requests()
        .iter()
        .flat_map(|r| unique_ids(&r.body))
        .collect();
    ids.sort();
    assert_eq!(ids.len(), 300);
    drop(tracker);
    let again = client
        .tracker(TrackerOptions {
            spool_dir: Some(dir.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(again.stats().queued, 0, "delivered events are not resent");
    drop(again);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn options_are_checked_against_the_bulk_limits() {
    let client = klaviyo_bridge::Client::builder()
        .api_key(support::KEY)
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    let err = client
        .tracker(TrackerOptions {
            flush_at: 1_001,
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.to_string().contains("between 1 and 1000"), "{err}");
    assert!(
        client
            .tracker(TrackerOptions {
                max_batch_bytes: 6_000_000,
                ..Default::default()
            })
            .is_err()
    );
    assert!("sometimes".parse::<WhenFull>().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_waiting_for_its_rate_limit_slot_takes_the_events_that_arrive_meanwhile() {
    let server = serve(|_, _| accepted()).await;
    // One job per second at most.
    let client = server
        .client()
        .rate_limit_override(
            "bulk_create_events",
            klaviyo_bridge::operations::RateLimit {
                burst: 1,
                steady: 60,
                daily: None,
            },
        )
        .build()
        .unwrap();
    let tracker = client
        .tracker(TrackerOptions {
            flush_interval: Duration::from_millis(10),
            ..Default::default()
        })
        .unwrap();
    tracker.track(event(0)).unwrap();
    tracker.flush().await;
    // The next job waits about a second for its slot; everything tracked meanwhile (five
    // bursts, each older than flush_interval before the next) joins it, instead of going in
    // jobs of a hundred that each wait a second of their own.
    for burst in 0..5 {
        for i in 1..=100 {
            tracker.track(event(burst * 100 + i)).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    tracker.flush().await;
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .map(|r| unique_ids(&r.body).len())
        .collect();
    assert_eq!(sizes, [1, 500]);
}
