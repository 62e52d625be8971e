//! Eight processes, one account: four Node and four Python processes call `events.create` as
//! fast as they can for SECONDS against a sandbox with Klaviyo's real limits, first each pacing
//! itself alone, then sharing a budget in a local redis-server. Prints the 429s (all, and after
//! the first second) and the events accepted against create_event's steady limit.
//!
//! `shared_budget_fleet SANDBOX_BIN PYTHON NODE [SECONDS]` (run by `make bench`, from the
//! repository root; the workers are tests/node/budget_worker.js and tests/python/budget_worker.py).

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Instant;

#[path = "../tests/support/redis.rs"]
mod redis_server;

const KEY: &str = "pk_sandbox_not_a_real_key_0000000000";

#[derive(Default, Debug)]
struct Counts {
    ok: u64,
    throttled: u64,
    throttled_later: u64,
}

/// Runs the fleet against a fresh sandbox; the counts added up.
fn fleet(sandbox_bin: &str, python: &str, node: &str, seconds: u64, store: Option<&str>) -> Counts {
    let mut sandbox = Command::new(sandbox_bin)
        .args(["--port", "0", "--rate-limits", "real"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the sandbox binary");
    let url = std::io::BufReader::new(sandbox.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let (program, script) = if i % 2 == 0 {
                (node, "tests/node/budget_worker.js")
            } else {
                (python, "tests/python/budget_worker.py")
            };
            Command::new(program)
                .arg(script)
                .env("URL", &url)
                .env("KEY", KEY)
                .env("STORE", store.unwrap_or(""))
                .env("SECONDS", seconds.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("a worker")
        })
        .collect();
    let mut total = Counts::default();
    for worker in workers {
        let out = worker.wait_with_output().expect("a worker's counts");
        assert!(out.status.success(), "a worker failed");
        let line = String::from_utf8_lossy(&out.stdout);
        let counts: serde_json::Value =
            serde_json::from_str(line.trim().lines().last().unwrap()).unwrap();
        total.ok += counts["ok"].as_u64().unwrap();
        total.throttled += counts["throttled"].as_u64().unwrap();
        total.throttled_later += counts["throttledLater"].as_u64().unwrap();
    }
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    total
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [sandbox_bin, python, node, rest @ ..] = args.as_slice() else {
        panic!("usage: shared_budget_fleet SANDBOX_BIN PYTHON NODE [SECONDS]");
    };
    let seconds: u64 = rest.first().map_or(60, |s| s.parse().expect("SECONDS"));
    let limits = klaviyo_bridge::operations::require_operation("create_event")
        .unwrap()
        .rate_limit;
    let redis = redis_server::Redis::start();
    let started = Instant::now();
    let alone = fleet(sandbox_bin, python, node, seconds, None);
    let shared = fleet(sandbox_bin, python, node, seconds, Some(&redis.url()));
    // In `seconds`, the steady window lets through `steady` per 60 s (and the first window's worth).
    let ceiling = limits.steady as f64 * (seconds as f64 / 60.0).max(1.0);
    println!(
        "\nShared rate-limit budget: 8 processes (4 Node, 4 Python), events.create as fast as they can for {seconds} s, create_event limits {}/s and {}/min ({:.0} s)",
        limits.burst,
        limits.steady,
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:26}{:>12}{:>12}{:>18}{:>14}",
        "", "accepted", "429s", "429s after 1 s", "of steady"
    );
    for (label, c) in [("each process alone", &alone), ("sharing Redis", &shared)] {
        println!(
            "{label:26}{:>12}{:>12}{:>18}{:>13.0}%",
            c.ok,
            c.throttled,
            c.throttled_later,
            c.ok as f64 * 100.0 / ceiling
        );
    }
}
