//! A redis-server on a free 127.0.0.1 port, for the shared budget's tests and benchmark
//! (Debian's redis-server package; the Makefile installs it when missing).
#![allow(dead_code)]

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

/// A redis-server on 127.0.0.1, without persistence, killed when dropped.
pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    pub fn start_on(port: u16) -> Redis {
        let mut child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package; the Makefile installs it)");
        // It says when it listens; reading its log is the wait, not a sleep.
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        loop {
            let line = lines
                .next()
                .expect("redis-server exited before it was ready")
                .unwrap();
            if line.contains("Ready to accept connections") {
                break;
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Redis { child, port }
    }

    pub fn start() -> Redis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Redis::start_on(port)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn keys(&self) -> Vec<String> {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut connection)
            .await
            .unwrap()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}
