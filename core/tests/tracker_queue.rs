//! The tracker's shared queue in a real `redis-server` (started here on a free port): trackers
//! of one account deliver each other's events exactly once, a dead sender's events are
//! claimed by another after `claim_after`, a full stream refuses or drops as configured, and
//! losing Redis neither stops `track()` nor loses an event.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::tracker::{TrackFailure, TrackerOptions, WhenFull};
use serde_json::{Value, json};
use support::redis::Redis;
use support::warnings::Warnings;
use support::{Reply, Server, serve};

/// A server that accepts every bulk job and counts each event's unique_id.
async fn event_server() -> (Server, Arc<Mutex<HashMap<String, usize>>>) {
    let received: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let counts = received.clone();
    let server = serve(move |seen, _| {
        let doc: Value = serde_json::from_str(&seen.body).unwrap();
        let mut counts = counts.lock().unwrap();
        for entry in doc["data"]["attributes"]["events-bulk-create"]["data"]
            .as_array()
            .unwrap()
        {
            let id = entry["attributes"]["events"]["data"][0]["attributes"]["unique_id"]
                .as_str()
                .unwrap();
            *counts.entry(id.to_string()).or_default() += 1;
        }
        Reply::json(
            202,
            json!({"data": {"type": "event-bulk-create-job", "id": "JOB", "attributes": {"status": "queued"}}}),
        )
    })
    .await;
    (server, received)
}

fn event(tag: &str, i: usize) -> EventCreate {
    EventCreate::new("Viewed Page")
        .email(format!("user{i}@example.com"))
        .unique_id(format!("{tag}-{i}"))
}

fn shared(redis: &Redis) -> TrackerOptions {
    TrackerOptions {
        queue: Some(klaviyo_bridge::auth::Secret::new(redis.url())),
        flush_interval: Duration::from_millis(50),
        ..Default::default()
    }
}

/// Every id of `tags` × `0..n` received, and no id twice.
fn exactly_once(received: &Mutex<HashMap<String, usize>>, tags: &[&str], n: usize) {
    let received = received.lock().unwrap();
    let twice: Vec<_> = received.iter().filter(|&(_, &c)| c > 1).collect();
    assert!(
        twice.is_empty(),
        "sent twice: {:?}",
        &twice[..twice.len().min(5)]
    );
    for tag in tags {
        for i in 0..n {
            assert!(
                received.contains_key(&format!("{tag}-{i}")),
                "{tag}-{i} never arrived"
            );
        }
    }
}

/// A connection to the test's Redis and the account's stream key (there is one stream).
async fn stream(redis: &Redis) -> (redis::aio::MultiplexedConnection, String) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("klaviyo-bridge:events:*")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "one stream per account: {keys:?}");
    (connection, keys.remove(0))
}

async fn stream_length(redis: &Redis) -> usize {
    let (mut connection, key) = stream(redis).await;
    redis::cmd("XLEN")
        .arg(&key)
        .query_async(&mut connection)
        .await
        .unwrap()
}

/// The names of the stream group's members.
async fn consumers(redis: &Redis) -> Vec<String> {
    let (mut connection, key) = stream(redis).await;
    let members: Vec<HashMap<String, redis::Value>> = redis::cmd("XINFO")
        .arg("CONSUMERS")
        .arg(&key)
        .arg("senders")
        .query_async(&mut connection)
        .await
        .unwrap();
    members
        .iter()
        .filter_map(|m| match m.get("name") {
            Some(redis::Value::BulkString(name)) => {
                Some(String::from_utf8_lossy(name).into_owned())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trackers_of_one_account_share_the_stream_and_send_each_event_once() {
    let redis = Redis::start();
    let (server, received) = event_server().await;
    let first = server
        .client()
        .build()
        .unwrap()
        .tracker(shared(&redis))
        .unwrap();
    let second = server
        .client()
        .build()
        .unwrap()
        .tracker(shared(&redis))
        .unwrap();
    for i in 0..3_000 {
        first.track(event("a", i)).unwrap();
        second.track(event("b", i)).unwrap();
    }
    first.flush().await;
    second.flush().await;
    exactly_once(&received, &["a", "b"], 3_000);
    assert_eq!(received.lock().unwrap().len(), 6_000);
    assert_eq!(
        stream_length(&redis).await,
        0,
        "delivered entries leave the stream"
    );
    let (a, b) = (first.stats(), second.stats());
    assert_eq!((a.queued, b.queued), (3_000, 3_000));
    assert_eq!(a.sent + b.sent, 6_000, "{a:?} {b:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_senders_events_are_claimed_by_another_after_claim_after() {
    let redis = Redis::start();
    let (server, received) = event_server().await;
    // The dead sender: its tracker runs on a runtime of its own, pointed at a closed port so
    // it holds what it read; the runtime is then shut down, as a killed process would stop.
    let doomed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let tracker = {
        let _inside = doomed.enter();
        klaviyo_bridge::Client::builder()
            .api_key(support::KEY)
            .base_url("http://127.0.0.1:1")
            .max_retries(0)
            .build()
            .unwrap()
            .tracker(TrackerOptions {
                flush_at: 100,
                max_in_flight: 1,
                ..shared(&redis)
            })
            .unwrap()
    };
    for i in 0..300 {
        tracker.track(event("e", i)).unwrap();
    }
    // It reads as many as it can send at once (one job of 100) and leaves the rest.
    let since = Instant::now();
    while tracker.stats().pending < 100 {
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "{:?}",
            tracker.stats()
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(tracker.stats().pending, 100);
    doomed.shutdown_background();
    let died = Instant::now();

    let claim_after = Duration::from_secs(1);
    let heir = server
        .client()
        .build()
        .unwrap()
        .tracker(TrackerOptions {
            claim_after,
            ..shared(&redis)
        })
        .unwrap();
    let since = Instant::now();
    while received.lock().unwrap().len() < 300 {
        assert!(
            since.elapsed() < Duration::from_secs(15),
            "{} of 300 arrived",
            received.lock().unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        died.elapsed() >= claim_after,
        "claimed only after they went idle for claim_after"
    );
    exactly_once(&received, &["e"], 300);
    assert_eq!(received.lock().unwrap().len(), 300);
    // The dead sender holds nothing now; once silent for twice claim_after it leaves the group.
    let since = Instant::now();
    while consumers(&redis).await.len() > 1 {
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "{:?}",
            consumers(&redis).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = heir.shutdown(Duration::from_secs(5)).await.unwrap();
    assert_eq!(stats.sent, 300, "the heir sent them all: {stats:?}");
    assert_eq!(stream_length(&redis).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_stream_refuses_or_drops_as_configured() {
    let redis = Redis::start();
    // Nothing can be delivered: the stream fills up.
    let client = klaviyo_bridge::Client::builder()
        .api_key(support::KEY)
        .base_url("http://127.0.0.1:1")
        .build()
        .unwrap();
    let tracker = client
        .tracker(TrackerOptions {
            max_queue: 5,
            when_full: WhenFull::Error,
            ..shared(&redis)
        })
        .unwrap();
    for i in 0..5 {
        tracker.track(event("f", i)).unwrap();
    }
    let error = tracker.track(event("f", 5)).unwrap_err();
    assert_eq!(error.code(), "queue_full", "{error}");
    assert_eq!(stream_length(&redis).await, 5);

    let dropped: Arc<Mutex<Vec<TrackFailure>>> = Arc::default();
    let sink = dropped.clone();
    let dropping = client
        .tracker(TrackerOptions {
            max_queue: 5,
            when_full: WhenFull::Drop,
            on_error: Some(Arc::new(move |f: &TrackFailure| {
                sink.lock().unwrap().push(f.clone())
            })),
            ..shared(&redis)
        })
        .unwrap();
    assert_eq!(dropping.track(event("g", 0)).unwrap(), "g-0");
    assert_eq!(dropping.stats().dropped, 1);
    assert_eq!(dropped.lock().unwrap()[0].code, "queue_full");
    assert_eq!(
        stream_length(&redis).await,
        5,
        "the dropped event never entered"
    );
}

#[test]
fn a_spool_and_a_queue_do_not_mix() {
    let client = klaviyo_bridge::Client::builder()
        .api_key(support::KEY)
        .build()
        .unwrap();
    let error = client
        .tracker(TrackerOptions {
            queue: Some(klaviyo_bridge::auth::Secret::new("redis://127.0.0.1:1/0")),
            spool_dir: Some(std::env::temp_dir()),
            ..Default::default()
        })
        .unwrap_err();
    assert!(error.to_string().contains("not both"), "{error}");
}

// One thread, so that the test's log subscriber (thread-local) sees the tracker's warnings.
#[tokio::test(flavor = "current_thread")]
async fn without_redis_track_goes_on_in_memory_with_one_warning_and_nothing_is_lost() {
    use tracing_subscriber::layer::SubscriberExt;
    let warnings = Warnings::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));
    let mut redis = Redis::start();
    let (server, received) = event_server().await;
    let tracker = server
        .client()
        .build()
        .unwrap()
        .tracker(shared(&redis))
        .unwrap();
    for i in 0..100 {
        tracker.track(event("before", i)).unwrap();
    }
    tracker.flush().await;

    redis.stop();
    let started = Instant::now();
    for i in 0..100 {
        tracker.track(event("during", i)).unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "track() does not wait for Redis: {:?}",
        started.elapsed()
    );
    tracker.flush().await;
    let down = warnings.messages();
    let queue_warnings: Vec<_> = down
        .iter()
        .filter(|w| w.contains("tracker queue"))
        .collect();
    assert_eq!(
        queue_warnings.len(),
        1,
        "one warning for the outage: {down:?}"
    );
    assert!(queue_warnings[0].contains("unreachable"), "{down:?}");

    let _redis = Redis::start_on(redis.port);
    let back = Instant::now();
    let mut i = 0;
    // After the retry time, track() uses the stream again.
    while warnings
        .messages()
        .iter()
        .all(|w| !w.contains("reachable again"))
    {
        assert!(
            back.elapsed() < Duration::from_secs(10),
            "never rejoined the queue"
        );
        tracker.track(event("after", i)).unwrap();
        i += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..10 {
        tracker.track(event("after", i)).unwrap();
        i += 1;
    }
    tracker.flush().await;
    exactly_once(&received, &["before", "during"], 100);
    exactly_once(&received, &["after"], i);
    assert_eq!(received.lock().unwrap().len(), 200 + i);
    let all = warnings.messages();
    assert_eq!(
        all.iter().filter(|w| w.contains("tracker queue")).count(),
        2,
        "one more line when the queue is back: {all:?}"
    );
}
