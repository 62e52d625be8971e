//! `klaviyo-sandbox`: runs the emulator until interrupted. The first line of stdout is the
//! base URL, so scripts can read it.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use klaviyo_sandbox::{DEFAULT_API_KEY, Options, RateLimits, start};

/// A local Klaviyo API emulator for tests and demos.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The private API key clients must send (or set KLAVIYO_SANDBOX_API_KEY).
    #[arg(long, env = "KLAVIYO_SANDBOX_API_KEY", default_value = DEFAULT_API_KEY, hide_default_value = true, hide_env_values = true)]
    api_key: String,
    /// Rate limits: real (the spec's), off, or scale=N (every limit times N).
    #[arg(long, default_value = "real")]
    rate_limits: RateLimits,
    /// Milliseconds added to every response.
    #[arg(long, default_value_t = 0)]
    latency: u64,
    /// Faults to inject, e.g. "429:0.05,500:0.02,503:0.02,reset:0.01,slow:0.01@3000".
    #[arg(long, default_value = "")]
    faults: String,
    /// Seed for fault injection (same seed and request order, same faults).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Lifetime of issued OAuth access tokens, in seconds (short values test refresh).
    #[arg(long, default_value_t = 3600)]
    token_ttl: u64,
    /// Profiles to create at start (seed0@example.com, …), for load tests.
    #[arg(long, default_value_t = 0)]
    seed_profiles: usize,
    /// Events to create at start, over five metrics and the year before 2026, for load tests.
    #[arg(long, default_value_t = 0)]
    seed_events: usize,
    /// A ready-made account to start with: "demo" (profiles, lists, catalog, six months of
    /// events, sent campaigns with engagement, a flow, templates, a segment, coupons).
    #[arg(long)]
    seed_data: Option<String>,
    /// How many of the latest requests /__sandbox/requests keeps.
    #[arg(long, default_value_t = klaviyo_sandbox::DEFAULT_REQUEST_LOG)]
    request_log: usize,
    /// Seconds a connection may take to send request headers, or stay idle, before it is closed.
    #[arg(long, default_value_t = 30)]
    header_timeout: u64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let options = Options {
        addr: SocketAddr::new(args.host, args.port),
        api_key: args.api_key,
        rate_limits: args.rate_limits,
        latency: Duration::from_millis(args.latency),
        faults: args.faults,
        seed: args.seed,
        token_ttl: Duration::from_secs(args.token_ttl),
        seed_profiles: args.seed_profiles,
        seed_events: args.seed_events,
        seed_data: args.seed_data,
        request_log: args.request_log,
        header_timeout: Duration::from_secs(args.header_timeout.max(1)),
        ..Options::default()
    };
    let sandbox = match start(options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "klaviyo-sandbox: cannot start on {}:{}: {e}",
                args.host, args.port
            );
            std::process::exit(if e.kind() == std::io::ErrorKind::InvalidInput {
                2
            } else {
                1
            });
        }
    };
    println!("{}", sandbox.base_url());
    // The default key is a published fake, so it is named; a key of the user's own is not echoed.
    let key = if sandbox.api_key() == DEFAULT_API_KEY {
        format!("KLAVIYO_API_KEY={DEFAULT_API_KEY}")
    } else {
        "KLAVIYO_API_KEY to the key you gave (--api-key / KLAVIYO_SANDBOX_API_KEY)".to_string()
    };
    eprintln!(
        "klaviyo-sandbox ready; set KLAVIYO_BASE_URL={} and {key}. Ctrl-C stops it.",
        sandbox.base_url()
    );
    let _ = tokio::signal::ctrl_c().await;
    sandbox.shutdown().await;
}
