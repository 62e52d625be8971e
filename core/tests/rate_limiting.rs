//! The client-side limiter against a server that enforces fixed windows like Klaviyo.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::operations::RateLimit;
use serde_json::json;
use support::{Reply, error_body, serve};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_creates_under_ten_per_second_see_no_429() {
    const BURST: usize = 10;
    let started = Instant::now();
    let windows: Arc<Mutex<std::collections::HashMap<u64, usize>>> = Arc::default();
    let throttled = Arc::new(AtomicUsize::new(0));
    let (w, t) = (windows.clone(), throttled.clone());
    // Fixed 1-second windows counted from server start, as Klaviyo counts them.
    let server = serve(move |_, _| {
        let window = started.elapsed().as_secs();
        let mut windows = w.lock().unwrap();
        let count = windows.entry(window).or_default();
        if *count >= BURST {
            t.fetch_add(1, Ordering::SeqCst);
            return Reply::json(429, error_body(429, "throttled", "Request was throttled."))
                .header("retry-after", "1");
        }
        *count += 1;
        Reply::json(202, json!(null))
    })
    .await;
    let client = server
        .client()
        .rate_limit_override(
            "create_event",
            RateLimit {
                burst: 10,
                steady: 600,
                daily: None,
            },
        )
        .build()
        .unwrap();
    let calls = (0..200).map(|i| {
        let client = client.clone();
        async move {
            client
                .events()
                .create(EventCreate::new("Placed Order").email(format!("u{i}@example.com")))
                .await
        }
    });
    let results = join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        throttled.load(Ordering::SeqCst),
        0,
        "the server never had to throttle"
    );
    assert_eq!(server.count(), 200);
    let elapsed = started.elapsed();
    // 200 at 10/s cannot take less than 19 s; pacing should not waste much more than that.
    assert!(
        elapsed >= Duration::from_secs(19) && elapsed < Duration::from_secs(26),
        "{elapsed:?}"
    );
}
