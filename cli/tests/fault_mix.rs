//! The command lines under the fault mix a busy Klaviyo day brings (429s, 500s, 503s, reset
//! connections, 3-second stalls): nothing lost, nothing doubled, no false failure. Counts are
//! asserted, not times.

mod support;

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use klaviyo_sandbox::{Options, RateLimits};
use support::{Env, env_with_options};

const FAULT_MIX: &str = "429:0.05,500:0.02,503:0.02,reset:0.01,slow:0.01@3000";

fn faulty(rate_limits: RateLimits, seed_profiles: usize) -> Env {
    env_with_options(Options {
        rate_limits,
        faults: FAULT_MIX.into(),
        seed: 14,
        seed_profiles,
        ..Options::default()
    })
}

/// Runs `jobs` invocations over `workers` threads; `job(i)` returns a failure description.
fn in_parallel(
    workers: usize,
    jobs: usize,
    job: impl Fn(usize) -> Option<String> + Sync,
) -> Vec<String> {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= jobs {
                        break;
                    }
                    if let Some(failure) = job(i) {
                        failures.lock().unwrap().push(failure);
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

#[test]
fn a_thousand_single_track_event_calls_record_a_thousand_events() {
    let env = faulty(RateLimits::Real, 0);
    let failures = in_parallel(8, 1_000, |i| {
        let email = format!("buyer{i}@example.com");
        let (code, _, err) = env.run(
            "client",
            &[
                "--action",
                "track-event",
                "--email",
                &email,
                "--event",
                "Placed Order",
                "--quiet",
            ],
        );
        (code != 0).then(|| format!("call {i}: exit {code}: {err}"))
    });
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    env.settle();
    assert_eq!(env.state()["events_per_metric"]["Placed Order"], 1_000);
}

#[test]
fn twenty_exports_of_five_thousand_profiles_each_have_every_row_once() {
    // The sandbox's own limits are off so twenty exports can share it; its 429s are injected.
    let env = faulty(RateLimits::Off, 5_000);
    let failures = in_parallel(4, 20, |i| {
        let output = env.path(&format!("profiles-{i}.csv"));
        let (code, _, err) = env.run(
            "dev",
            &[
                "--tool",
                "export-data",
                "--resource",
                "profiles",
                "--output",
                &output,
                "--quiet",
            ],
        );
        if code != 0 {
            return Some(format!("export {i}: exit {code}: {err}"));
        }
        let mut reader = csv::Reader::from_path(&output).unwrap();
        let ids: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[0].to_string())
            .collect();
        let unique: HashSet<&String> = ids.iter().collect();
        (ids.len() != 5_000 || unique.len() != 5_000)
            .then(|| format!("export {i}: {} rows, {} unique", ids.len(), unique.len()))
    });
    assert!(failures.is_empty(), "{failures:?}");
}

#[test]
fn an_import_of_twenty_thousand_rows_stores_them_all_and_exits_0() {
    let env = faulty(RateLimits::Real, 0);
    let mut csv = String::from("email,first_name\r\n");
    for i in 0..20_000 {
        csv.push_str(&format!("row{i}@example.com,Row {i}\r\n"));
    }
    let path = env.file("contacts.csv", csv.as_bytes());
    let (code, out, err) = env.run(
        "dev",
        &[
            "--tool",
            "import-csv",
            "--file",
            &path,
            "--format",
            "json",
            "--quiet",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["imported"], 20_000, "{report}");
    env.settle();
    assert_eq!(env.state()["profiles"], 20_000);
}
