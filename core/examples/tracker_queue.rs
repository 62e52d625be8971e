//! What the shared tracker queue costs: `track()` wall time (p50, p99) with events going to a
//! local redis-server's stream against the in-memory queue, and events per second from the
//! first `track()` to the last delivery, with one and with two trackers sharing the stream,
//! against the sandbox with rate limits off (the machinery, not Klaviyo's limits, is measured).
//!
//! `tracker_queue SANDBOX_BIN [EVENTS]` (run by `make bench`; needs Debian's redis-server).

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use klaviyo_bridge::auth::Secret;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::tracker::TrackerOptions;

#[path = "../tests/support/redis.rs"]
mod redis_server;

#[path = "support/cpu.rs"]
mod cpu;
use cpu::cpu_ms;

const KEY: &str = "pk_sandbox_not_a_real_key_0000000000";

struct Run {
    track_times: Vec<Duration>,
    events_per_second: f64,
    cpu_per_event_ms: f64,
}

/// Tracks `events` spread over `trackers` trackers (one thread each), then waits for delivery.
fn run(url: &str, queue: Option<&str>, trackers: usize, events: usize, tag: &str) -> Run {
    let client = klaviyo_bridge::Client::builder()
        .api_key(KEY)
        .base_url(url)
        .rate_limit(false)
        .build()
        .expect("a client");
    let trackers: Vec<_> = (0..trackers)
        .map(|_| {
            client
                .tracker(TrackerOptions {
                    queue: queue.map(Secret::new),
                    ..Default::default()
                })
                .expect("a tracker")
        })
        .collect();
    let cpu = cpu_ms();
    let started = Instant::now();
    let per = events / trackers.len();
    let times: Vec<Duration> = std::thread::scope(|scope| {
        let handles: Vec<_> = trackers
            .iter()
            .enumerate()
            .map(|(t, tracker)| {
                scope.spawn(move || {
                    let mut times = Vec::with_capacity(per);
                    for i in 0..per {
                        let event = EventCreate::new("Bench Queue")
                            .email(format!("bench{}@example.com", i % 100))
                            .unique_id(format!("{tag}-{t}-{i}"));
                        let at = Instant::now();
                        tracker.track(event).expect("tracked");
                        times.push(at.elapsed());
                    }
                    times
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a tracking thread"))
            .collect()
    });
    klaviyo_bridge::runtime::runtime().block_on(async {
        for tracker in &trackers {
            tracker
                .shutdown(Duration::from_secs(600))
                .await
                .expect("delivered");
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut track_times = times;
    track_times.sort();
    Run {
        track_times,
        events_per_second: (per * trackers.len()) as f64 / elapsed,
        cpu_per_event_ms: (cpu_ms() - cpu) / (per * trackers.len()) as f64,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let sandbox_bin = args
        .get(1)
        .expect("usage: tracker_queue SANDBOX_BIN [EVENTS]");
    let events: usize = args.get(2).map_or(100_000, |n| n.parse().expect("EVENTS"));
    let mut sandbox = Command::new(sandbox_bin)
        .args(["--port", "0", "--rate-limits", "off"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the sandbox");
    let mut url = String::new();
    std::io::BufReader::new(sandbox.stdout.take().expect("piped"))
        .read_line(&mut url)
        .expect("its address");
    let url = url.trim().to_string();
    let redis = redis_server::Redis::start();
    let store = redis.url();

    let runs = [
        ("in memory, 1 tracker", run(&url, None, 1, events, "m")),
        (
            "Redis queue, 1 tracker",
            run(&url, Some(&store), 1, events, "q1"),
        ),
        (
            "Redis queue, 2 trackers",
            run(&url, Some(&store), 2, events, "q2"),
        ),
    ];
    let state: serde_json::Value = klaviyo_bridge::runtime::runtime()
        .block_on(async {
            let body = reqwest::get(format!("{url}/__sandbox/settled"))
                .await?
                .bytes()
                .await?;
            Ok::<_, reqwest::Error>(serde_json::from_slice(&body).expect("JSON"))
        })
        .expect("the sandbox's state");
    let recorded = state["events_per_metric"]["Bench Queue"]
        .as_u64()
        .unwrap_or(0);
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    drop(redis);
    let at = |times: &[Duration], q: f64| {
        times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e6
    };
    println!(
        "\nTracker queue: {events} events per run through the sandbox (rate limits off), Redis on loopback"
    );
    println!(
        "{:26}{:>14}{:>14}{:>14}{:>16}",
        "", "track p50 µs", "track p99 µs", "events/s", "CPU ms / event"
    );
    for (name, r) in &runs {
        println!(
            "{name:26}{:>14.1}{:>14.1}{:>14.0}{:>16.4}",
            at(&r.track_times, 0.5),
            at(&r.track_times, 0.99),
            r.events_per_second,
            r.cpu_per_event_ms
        );
    }
    println!(
        "sandbox recorded {recorded} of {} tracked events",
        runs.len() * events
    );
    assert_eq!(recorded as usize, runs.len() * events, "every event, once");
}
