//! What a shared acquire costs: the rate limiter taking a slot in a local redis-server (started
//! here on a free port) against the in-memory limiter, per request, wall time (p50, p99) and
//! CPU of this process.
//!
//! `cargo run --profile bench-fast -p klaviyo-bridge --example shared_budget_overhead` (run by
//! `make bench`; needs Debian's redis-server).

use std::time::{Duration, Instant};

use klaviyo_bridge::auth::Secret;
use klaviyo_bridge::operations::{RateLimit, require_operation};
use klaviyo_bridge::rate_limit::RateLimiter;
use klaviyo_bridge::shared_budget::SharedBudget;

#[path = "../tests/support/redis.rs"]
mod redis_server;

#[path = "support/cpu.rs"]
mod cpu;
use cpu::cpu_ms;

const ACQUIRES: usize = 5000;

/// Wall time of each acquire, sorted, and CPU ms per acquire.
async fn measure(limiter: &RateLimiter) -> (Vec<Duration>, f64) {
    let op = require_operation("get_accounts").expect("an operation of the table");
    limiter
        .acquire(op, Duration::from_secs(1))
        .await
        .expect("a slot"); // connects
    let mut times = Vec::with_capacity(ACQUIRES);
    let cpu = cpu_ms();
    for _ in 0..ACQUIRES {
        let started = Instant::now();
        limiter
            .acquire(op, Duration::from_secs(1))
            .await
            .expect("a slot");
        times.push(started.elapsed());
    }
    let cpu = (cpu_ms() - cpu) / ACQUIRES as f64;
    times.sort();
    (times, cpu)
}

fn main() {
    let redis = redis_server::Redis::start();

    // Limits far above what one process sends, so that every acquire is a granted slot.
    let roomy = || {
        RateLimiter::with_overrides(
            true,
            vec![(
                "get_accounts",
                RateLimit {
                    burst: 10_000_000,
                    steady: 100_000_000,
                    daily: None,
                },
            )],
        )
    };
    let store = Secret::new(redis.url());
    let shared = roomy().sharing(
        SharedBudget::new(&store, Some("pk_bench_0000000000000000000000000000")).expect("a store"),
    );
    let local = roomy();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (shared_times, shared_cpu) = runtime.block_on(measure(&shared));
    let (local_times, local_cpu) = runtime.block_on(measure(&local));
    drop(redis);
    let at = |times: &[Duration], q: f64| {
        times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3
    };
    println!(
        "\nShared rate-limit budget: {ACQUIRES} acquires, Redis on loopback against the in-memory limiter"
    );
    println!("{:26}{:>12}{:>12}{:>12}", "", "p50 ms", "p99 ms", "CPU ms");
    println!(
        "{:26}{:>12.3}{:>12.3}{:>12.3}",
        "Redis (shared)",
        at(&shared_times, 0.5),
        at(&shared_times, 0.99),
        shared_cpu
    );
    println!(
        "{:26}{:>12.4}{:>12.4}{:>12.4}",
        "in memory",
        at(&local_times, 0.5),
        at(&local_times, 0.99),
        local_cpu
    );
}
