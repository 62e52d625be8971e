//! `make bench`, the warehouse sync: `warehouse_sync SANDBOX_BIN DEV_TOOLS_BIN`.
//!
//! 1. The sync's peak RSS for 100,000 and for 1,000,000 events (no latency, no limits); the
//!    second is also what the sandbox can serve on this machine, the sync's own ceiling here.
//! 2. Events, against a sandbox with the spec's rate limits and 200 ms per response: the sync
//!    (default options) against one sequential cursor, against the limits' ceiling, and
//!    against what the sandbox served without latency.
//! 3. Profiles, the same way (their limits are ten times tighter, so they bind).
//! 4. `export-data` of each to one file (a one-stream use of the same engine, its slices merged
//!    in order), against the same sandboxes and the same sequential cursor.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use klaviyo_bridge::operations::operation;
use klaviyo_bridge::{Client, ListParams};

const KEY: &str = "pk_sandbox_not_a_real_key_0000000000";
const LATENCY_MS: u64 = 200;

struct Sandbox {
    child: Child,
    url: String,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sandbox(bin: &str, args: &[&str]) -> Sandbox {
    let mut child = Command::new(bin)
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the sandbox starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("its URL");
    Sandbox {
        child,
        url: line.trim().to_string(),
    }
}

struct Run {
    seconds: f64,
    records: u64,
    requests: u64,
    peak_rss_mb: f64,
}

/// Runs `dev_tools` with `args` against `url` to its end: its wall time, stdout and peak RSS
/// in MiB.
#[expect(
    clippy::zombie_processes,
    reason = "reaped by wait4, which also gives its peak RSS"
)]
fn measured(dev_tools: &str, url: &str, args: &[&str]) -> (f64, String, f64) {
    let started = Instant::now();
    let child = Command::new(dev_tools)
        .args(args)
        .env("KLAVIYO_BASE_URL", url)
        .env("KLAVIYO_API_KEY", KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the tool starts");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("stdout");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text).expect("its output");
    // wait4: this child's own peak RSS (getrusage's RUSAGE_CHILDREN would keep the largest
    // child's across runs).
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert!(waited == pid && status == 0, "{args:?} failed");
    let seconds = started.elapsed().as_secs_f64();
    (seconds, text, usage.ru_maxrss as f64 / 1024.0)
}

fn work_dir(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("klaviyo-sync-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a work dir");
    dir
}

/// One sync of `stream` as a child process: its wall time, records, requests and peak RSS.
fn sync(dev_tools: &str, url: &str, stream: &str, extra: &[&str]) -> Run {
    let dir = work_dir(stream);
    let destination = format!("parquet:{}", dir.join("out").display());
    let state = dir.join("state.json").display().to_string();
    let mut args = vec![
        "--tool",
        "sync",
        "--streams",
        stream,
        "--destination",
        &destination,
        "--state",
        &state,
        "--safety-margin",
        "0",
        "--format",
        "json",
        "--quiet",
    ];
    args.extend(extra);
    let (seconds, text, peak_rss_mb) = measured(dev_tools, url, &args);
    let summary: serde_json::Value = serde_json::from_str(&text).expect("a JSON summary");
    let _ = std::fs::remove_dir_all(&dir);
    Run {
        seconds,
        records: summary[0]["records"].as_u64().unwrap_or_default(),
        requests: summary[0]["requests"].as_u64().unwrap_or_default(),
        peak_rss_mb,
    }
}

/// One `export-data --resource <resource>` to a JSONL file: its wall time, rows and peak RSS.
fn export(dev_tools: &str, url: &str, resource: &str) -> (f64, u64, f64) {
    let dir = work_dir(&format!("export-{resource}"));
    let file = dir.join("export.jsonl").display().to_string();
    let args = [
        "--tool",
        "export-data",
        "--resource",
        resource,
        "--format",
        "jsonl",
        "--output",
        &file,
        "--quiet",
    ];
    let (seconds, _, peak_rss_mb) = measured(dev_tools, url, &args);
    // Counted as read, not read whole: a child spawned later would count this process's
    // memory in its own peak (it starts as a vfork of it).
    let rows = BufReader::new(std::fs::File::open(&file).expect("the exported file"))
        .lines()
        .count() as u64;
    let _ = std::fs::remove_dir_all(&dir);
    (seconds, rows, peak_rss_mb)
}

fn report_export(resource: &str, (seconds, rows, rss): (f64, u64, f64), sequential_rate: f64) {
    let rate = rows as f64 / seconds;
    println!(
        "export-data {resource:<9}{rows:>10}{seconds:>9.1}{rate:>12.0}{sequential_rate:>13.0}{:>8.1}x{rss:>10.1} MiB",
        rate / sequential_rate
    );
}

/// The shortest time `requests` can take under a burst (per second) and a steady (per 60 s)
/// window: the rate limits' ceiling, simulated millisecond by millisecond.
fn fastest_under_limits(requests: u64, burst: u32, steady: u32) -> f64 {
    let mut sent: Vec<u64> = Vec::with_capacity(requests as usize);
    let mut now = 0u64;
    while (sent.len() as u64) < requests {
        let in_second = sent.iter().rev().take_while(|t| **t + 1_000 > now).count() as u32;
        let in_minute = sent.iter().rev().take_while(|t| **t + 60_000 > now).count() as u32;
        if in_second < burst && in_minute < steady {
            sent.push(now);
        } else {
            now += 1;
        }
    }
    (now as f64 + LATENCY_MS as f64) / 1_000.0
}

/// A sequential cursor: `pages` pages of the largest size, one after another.
async fn sequential(url: &str, operation_id: &str, pages: u32) -> f64 {
    let client = Client::builder()
        .api_key(KEY)
        .base_url(url)
        .build()
        .expect("a client");
    let size = operation(operation_id)
        .and_then(|op| op.page_size)
        .map(|p| p.max);
    let params = ListParams {
        page_size: size,
        max_pages: Some(pages as usize),
        ..ListParams::default()
    };
    let mut pager = if operation_id == "get_events" {
        client.events().list(params)
    } else {
        client.profiles().list(params)
    }
    .expect("a pager");
    let started = Instant::now();
    let mut records = 0usize;
    while let Some(page) = pager.next_page().await.expect("a page") {
        records += page.data.len();
    }
    records as f64 / started.elapsed().as_secs_f64()
}

fn report(what: &str, operation_id: &str, run: &Run, sequential_rate: f64) {
    let op = operation(operation_id).expect("in the table");
    let rate = run.records as f64 / run.seconds;
    let page = op.page_size.map_or(1, |p| p.max) as f64;
    let steady_ceiling = op.rate_limit.steady as f64 / 60.0 * page;
    let fastest = fastest_under_limits(run.requests, op.rate_limit.burst, op.rate_limit.steady);
    println!(
        "{what:<10}{:>10}{:>9}{:>9.1}{:>12.0}{:>13.0}{:>8.1}x{:>14.0}{:>9.1}s{:>8.0}%",
        run.records,
        run.requests,
        run.seconds,
        rate,
        sequential_rate,
        rate / sequential_rate,
        steady_ceiling,
        fastest,
        100.0 * fastest / run.seconds,
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let sandbox_bin = args
        .next()
        .expect("usage: warehouse_sync SANDBOX_BIN DEV_TOOLS_BIN");
    let dev_tools = args
        .next()
        .expect("usage: warehouse_sync SANDBOX_BIN DEV_TOOLS_BIN");
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let latency = LATENCY_MS.to_string();
    let mut exports = Vec::new();

    println!("Peak RSS of the sync process, no latency, no limits:");
    let mut served = 0.0;
    for events in [100_000u32, 1_000_000] {
        let seeded = sandbox(
            &sandbox_bin,
            &[
                "--rate-limits",
                "off",
                "--seed-events",
                &events.to_string(),
                "--seed-profiles",
                "10000",
            ],
        );
        let run = sync(&dev_tools, &seeded.url, "events", &[]);
        assert_eq!(run.records, events as u64, "every event synced");
        println!(
            "{events:>9} events: {:>7.1} MiB peak RSS, {:>6.1} s, {:>8.0} events/s",
            run.peak_rss_mb,
            run.seconds,
            run.records as f64 / run.seconds
        );
        served = run.records as f64 / run.seconds;
    }
    println!();
    println!(
        "Warehouse sync to Parquet, sandbox with the spec's rate limits and {LATENCY_MS} ms per response (2 cores shared by both):"
    );
    println!(
        "{:<10}{:>10}{:>9}{:>10}{:>12}{:>13}{:>9}{:>14}{:>10}{:>9}",
        "stream",
        "records",
        "requests",
        "seconds",
        "records/s",
        "sequential/s",
        "ratio",
        "steady ceil/s",
        "fastest",
        "of it"
    );
    {
        let events = sandbox(
            &sandbox_bin,
            &[
                "--rate-limits",
                "real",
                "--latency",
                &latency,
                "--seed-events",
                "1000000",
                "--seed-profiles",
                "10000",
            ],
        );
        let run = sync(&dev_tools, &events.url, "events", &[]);
        let seq = runtime.block_on(sequential(&events.url, "get_events", 20));
        report("events", "get_events", &run, seq);
        exports.push(("events", export(&dev_tools, &events.url, "events"), seq));
        let rate = run.records as f64 / run.seconds;
        println!(
            "events at {LATENCY_MS} ms: {:.0}% of what the sandbox served without latency ({served:.0}/s), which binds before the limits' ceiling",
            100.0 * rate / served
        );
    }
    {
        let profiles = sandbox(
            &sandbox_bin,
            &[
                "--rate-limits",
                "real",
                "--latency",
                &latency,
                "--seed-profiles",
                "100000",
            ],
        );
        let run = sync(&dev_tools, &profiles.url, "profiles", &[]);
        let seq = runtime.block_on(sequential(&profiles.url, "get_profiles", 20));
        report("profiles", "get_profiles", &run, seq);
        exports.push((
            "profiles",
            export(&dev_tools, &profiles.url, "profiles"),
            seq,
        ));
    }
    println!(
        "(fastest: the shortest time that many requests can take under the operation's burst and steady windows; of it: fastest / seconds)"
    );
    println!();
    println!(
        "export-data to one JSONL file on the same sandboxes (read on the sync's engine, then merged in order):"
    );
    println!(
        "{:<21}{:>10}{:>9}{:>12}{:>13}{:>9}{:>14}",
        "", "rows", "seconds", "rows/s", "sequential/s", "ratio", "peak RSS"
    );
    for (resource, run, seq) in exports {
        report_export(resource, run, seq);
    }
}
