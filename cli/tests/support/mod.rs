//! A sandbox in the test process and the Rust binaries run against it, in a fresh directory.

#![allow(dead_code)] // each test file uses part of it

pub mod postgres;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use klaviyo_sandbox::{Options, RateLimits, Sandbox};
use serde_json::Value;

pub struct Env {
    pub sandbox: Sandbox,
    pub runtime: tokio::runtime::Runtime,
    pub dir: PathBuf,
}

static DIRS: AtomicUsize = AtomicUsize::new(0);

pub fn env() -> Env {
    env_with(RateLimits::Off)
}

pub fn env_with(rate_limits: RateLimits) -> Env {
    env_with_options(Options {
        rate_limits,
        ..Options::default()
    })
}

/// A sandbox with `options` (jobs finish in milliseconds unless `options` says otherwise).
pub fn env_with_options(options: Options) -> Env {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let job_step = if options.job_step == Options::default().job_step {
        std::time::Duration::from_millis(2)
    } else {
        options.job_step
    };
    let sandbox = runtime
        .block_on(klaviyo_sandbox::start(Options {
            job_step,
            ..options
        }))
        .unwrap();
    // A fresh directory per test, so no stray .env is read.
    let dir = std::env::temp_dir().join(format!(
        "klaviyo-cli-test-{}-{}",
        std::process::id(),
        DIRS.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    Env {
        sandbox,
        runtime,
        dir,
    }
}

/// A base URL on which nothing listens (a port just freed): connections are refused.
pub fn unreachable_url() -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", closed.local_addr().unwrap())
}

pub fn exe(program: &str) -> &'static str {
    match program {
        "client" => env!("CARGO_BIN_EXE_klaviyo-client"),
        _ => env!("CARGO_BIN_EXE_klaviyo-dev-tools"),
    }
}

impl Env {
    /// The command for `program` ("client" or "dev"), pointed at the sandbox.
    pub fn command(&self, program: &str, args: &[&str]) -> Command {
        let mut command = Command::new(exe(program));
        command
            .args(args)
            .current_dir(&self.dir)
            .env("KLAVIYO_BASE_URL", self.sandbox.base_url())
            .env("KLAVIYO_API_KEY", self.sandbox.api_key())
            .env_remove("KLAVIYO_REVISION");
        command
    }

    pub fn run(&self, program: &str, args: &[&str]) -> (i32, String, String) {
        self.run_with_env(program, args, &[])
    }

    pub fn run_with_env(
        &self,
        program: &str,
        args: &[&str],
        extra: &[(&str, &str)],
    ) -> (i32, String, String) {
        let mut command = self.command(program, args);
        for (k, v) in extra {
            command.env(k, v);
        }
        let Output {
            status,
            stdout,
            stderr,
        } = command.output().unwrap();
        (
            status.code().unwrap_or(-1),
            String::from_utf8(stdout).unwrap(),
            String::from_utf8(stderr).unwrap(),
        )
    }

    pub fn state(&self) -> Value {
        self.sandbox.state()
    }

    pub fn settle(&self) {
        self.runtime.block_on(self.sandbox.settled());
    }

    pub fn file(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.dir.join(name);
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        path.display().to_string()
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}
