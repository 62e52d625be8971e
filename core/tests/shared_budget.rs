//! The rate-limit budget shared through a real `redis-server` (started here on a free port):
//! clients that each pace themselves stay within one account's limit together, a pause one
//! of them is told about holds the others, and losing Redis neither stops calls nor loses the
//! budget when it returns.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use klaviyo_bridge::operations::RateLimit;
use klaviyo_bridge::profiles::ProfileRef;
use serde_json::json;
use support::redis::Redis;
use support::warnings::Warnings;
use support::{KEY, Reply, Server, serve};

/// A server that accepts events and notes when each arrived.
async fn event_server(arrivals: Arc<Mutex<Vec<Instant>>>) -> Server {
    serve(move |_, _| {
        arrivals.lock().unwrap().push(Instant::now());
        Reply::json(202, json!(null))
    })
    .await
}

/// The most arrivals within any one second.
fn busiest_second(arrivals: &[Instant]) -> usize {
    let mut times = arrivals.to_vec();
    times.sort();
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| t.duration_since(times[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

const BURST: u32 = 4;

fn client(server: &Server, store: Option<&str>) -> klaviyo_bridge::Client {
    let mut builder = server.client().rate_limit_override(
        "create_event",
        RateLimit {
            burst: BURST,
            steady: 1000,
            daily: None,
        },
    );
    if let Some(store) = store {
        builder = builder.rate_limit_store(store);
    }
    builder.build().unwrap()
}

async fn send_events(client: klaviyo_bridge::Client, n: usize) {
    let mut calls = Vec::new();
    for i in 0..n {
        let client = client.clone();
        calls.push(tokio::spawn(async move {
            client
                .events()
                .create(klaviyo_bridge::events::EventCreate {
                    metric: "Shared".into(),
                    profile: ProfileRef {
                        email: Some(format!("p{i}@example.com")),
                        ..Default::default()
                    },
                    properties: Default::default(),
                    value: None,
                    value_currency: None,
                    time: None,
                    unique_id: None,
                })
                .await
                .unwrap()
        }));
    }
    for call in calls {
        call.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_each_pace_themselves_stay_within_one_budget_together() {
    let redis = Redis::start();
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let server = event_server(arrivals.clone()).await;

    // The problem: two processes (two clients, two limiters) each keep to the limit alone.
    let (a, b) = (client(&server, None), client(&server, None));
    tokio::join!(
        send_events(a, 2 * BURST as usize),
        send_events(b, 2 * BURST as usize)
    );
    assert!(
        busiest_second(&arrivals.lock().unwrap()) > BURST as usize,
        "without a store, together they exceed the limit"
    );

    arrivals.lock().unwrap().clear();
    let (a, b) = (
        client(&server, Some(&redis.url())),
        client(&server, Some(&redis.url())),
    );
    let started = Instant::now();
    tokio::join!(
        send_events(a, 2 * BURST as usize),
        send_events(b, 2 * BURST as usize)
    );
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 4 * BURST as usize);
    assert!(
        busiest_second(&arrivals) <= BURST as usize,
        "with the store, at most {BURST} in any second: {}",
        busiest_second(&arrivals)
    );
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "16 calls at 4 per second take three windows"
    );

    // Keys are named by a hash of the key, never the key.
    let keys = redis.keys().await;
    assert!(
        keys.iter()
            .any(|k| k.starts_with("klaviyo-bridge:rl:") && k.ends_with(":create_event")),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .all(|k| !k.contains(KEY) && !k.contains("pk_test")),
        "{keys:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_the_server_asks_of_one_client_holds_every_client() {
    let redis = Redis::start();
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let seen = arrivals.clone();
    let server = serve(move |_, index| {
        seen.lock().unwrap().push(Instant::now());
        if index == 0 {
            Reply::json(
                429,
                json!({"errors": [{"status": 429, "code": "throttled", "detail": "slow down"}]}),
            )
            .header("Retry-After", "2")
        } else {
            Reply::json(202, json!(null))
        }
    })
    .await;
    let first = server
        .client()
        .rate_limit_store(redis.url())
        .max_retries(0)
        .build()
        .unwrap();
    let other = server
        .client()
        .rate_limit_store(redis.url())
        .build()
        .unwrap();
    let refused = first
        .request(
            "create_event",
            &[],
            &[],
            Some(json!({"data": {"type": "event", "attributes": {}}})),
        )
        .await;
    assert!(
        matches!(refused, Err(klaviyo_bridge::Error::RateLimited { .. })),
        "{refused:?}"
    );
    send_events(other, 1).await;
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 2);
    let held = arrivals[1].duration_since(arrivals[0]);
    assert!(
        held >= Duration::from_millis(1900),
        "the other client waited only {held:?}"
    );
}

// One thread, so that the test's log subscriber (thread-local) sees the spawned calls' warnings.
#[tokio::test(flavor = "current_thread")]
async fn without_redis_calls_go_on_paced_locally_with_one_warning_and_rejoin_when_it_returns() {
    use tracing_subscriber::layer::SubscriberExt;
    let warnings = Warnings::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(warnings.clone()));

    let mut redis = Redis::start();
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let server = event_server(arrivals.clone()).await;
    let client = client(&server, Some(&redis.url()));
    send_events(client.clone(), 1).await;
    assert!(!redis.keys().await.is_empty());

    redis.stop();
    arrivals.lock().unwrap().clear();
    let started = Instant::now();
    send_events(client.clone(), 3).await;
    // Alone, the process takes a quarter of each limit: one of the four per second here.
    let alone = arrivals.lock().unwrap().clone();
    assert_eq!(alone.len(), 3);
    assert_eq!(busiest_second(&alone), 1, "paced at the fallback share");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "calls go on without Redis: {:?}",
        started.elapsed()
    );
    let down = warnings.messages();
    assert_eq!(down.len(), 1, "one warning for the outage: {down:?}");
    assert!(
        down[0].contains("unreachable") && down[0].contains("25%"),
        "{down:?}"
    );

    let redis = Redis::start_on(redis.port);
    assert!(redis.keys().await.is_empty());
    // The retry time after a failure passes while the process paces itself alone.
    let rejoined = Instant::now();
    while redis.keys().await.is_empty() {
        assert!(
            rejoined.elapsed() < Duration::from_secs(10),
            "never rejoined the store"
        );
        send_events(client.clone(), 1).await;
    }
    let all = warnings.messages();
    assert_eq!(
        all.len(),
        2,
        "one more line when the store is back: {all:?}"
    );
    assert!(all[1].contains("reachable again"), "{all:?}");
    assert!(all.iter().all(|w| !w.contains(KEY)));
}
