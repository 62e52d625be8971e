//! Benchmark: the sandbox's memory with many stored profiles, and its throughput and memory
//! under a long run of simple requests. `make bench` runs it.
//!
//! cargo run --profile bench-fast -p klaviyo-sandbox --example scale -- profiles 1000000
//! cargo run --profile bench-fast -p klaviyo-sandbox --example scale -- requests 300000
//!
//! The load comes from this process (16 keep-alive connections), so requests per second
//! include the client's own cost on the same two cores: a lower bound for the server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use klaviyo_sandbox::{Options, RateLimits, start};

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "requests".into());
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let baseline = rss_mib();
    match mode.as_str() {
        "profiles" => {
            let started = Instant::now();
            let sandbox = start(Options {
                rate_limits: RateLimits::Off,
                seed_profiles: n,
                ..Options::default()
            })
            .await
            .unwrap();
            let seeded = started.elapsed();
            assert_eq!(sandbox.state()["profiles"], n);
            println!(
                "profiles={n:>9}  seed={:.1}s  rss={:.0}MiB ({:.0} bytes per profile over a {baseline:.0} MiB start)",
                seeded.as_secs_f64(),
                rss_mib(),
                (rss_mib() - baseline) * 1_048_576.0 / n as f64
            );
            sandbox.shutdown().await;
        }
        _ => {
            let sandbox = start(Options {
                rate_limits: RateLimits::Off,
                seed_profiles: 1,
                ..Options::default()
            })
            .await
            .unwrap();
            let url = format!("{}/api/accounts/", sandbox.base_url());
            let key = format!("Klaviyo-API-Key {}", sandbox.api_key());
            let http = reqwest::Client::new();
            let sent = Arc::new(AtomicUsize::new(0));
            let mut rss_at = Vec::new();
            let started = Instant::now();
            let workers: Vec<_> = (0..16)
                .map(|_| {
                    let (http, url, key, sent) =
                        (http.clone(), url.clone(), key.clone(), sent.clone());
                    tokio::spawn(async move {
                        while sent.fetch_add(1, Ordering::Relaxed) < n {
                            let response = http
                                .get(&url)
                                .header("authorization", &key)
                                .header("revision", "2026-07-15")
                                .send()
                                .await
                                .unwrap();
                            assert_eq!(response.status(), 200);
                            response.bytes().await.unwrap();
                        }
                    })
                })
                .collect();
            let watcher = {
                let sent = sent.clone();
                tokio::spawn(async move {
                    let mut marks = Vec::new();
                    for mark in [n / 10, n / 2, n] {
                        while sent.load(Ordering::Relaxed) < mark {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                        marks.push((mark, rss_mib()));
                    }
                    marks
                })
            };
            for worker in workers {
                worker.await.unwrap();
            }
            let elapsed = started.elapsed();
            rss_at.extend(watcher.await.unwrap());
            let marks: Vec<String> = rss_at
                .iter()
                .map(|(at, rss)| format!("{at}: {rss:.0}MiB"))
                .collect();
            println!(
                "requests={n}  {:.0} requests/s  rss after {}  request log holds {}",
                n as f64 / elapsed.as_secs_f64(),
                marks.join(", "),
                sandbox.requests().len()
            );
            sandbox.shutdown().await;
        }
    }
}
