//! The HTTP edges behave as Klaviyo's do: 5 MB bodies accepted and larger ones refused in
//! Klaviyo's error shape, idle connections closed, impossible revisions refused, emails
//! matched whatever their case; and the inspection log stays bounded and secret-free.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use klaviyo_bridge::Client;
use klaviyo_bridge::profiles::ProfileData;
use klaviyo_sandbox::{DEFAULT_API_KEY, Options, RateLimits, Sandbox};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod support;

async fn sandbox(options: Options) -> (Sandbox, Client) {
    let (sandbox, builder) = support::sandbox_with(Options {
        rate_limits: RateLimits::Off,
        ..options
    })
    .await;
    (sandbox, builder.max_retries(0).build().unwrap())
}

async fn send(
    sandbox: &Sandbox,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", sandbox.base_url()))
        .header(
            "authorization",
            format!("Klaviyo-API-Key {}", sandbox.api_key()),
        )
        .header("content-type", "application/vnd.api+json");
    if !headers.iter().any(|(name, _)| *name == "revision") {
        request = request.header("revision", "2026-07-15");
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "status {status}: not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        }),
    )
}

/// A profile import job of `rows` profiles, each with a note of `note` characters.
fn import_body(rows: usize, note: usize) -> Vec<u8> {
    let profiles: Vec<Value> = (0..rows).map(|i| json!({"type": "profile", "attributes": {"email": format!("row{i}@example.com"), "properties": {"note": "n".repeat(note)}}})).collect();
    json!({"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": profiles}}}}).to_string().into_bytes()
}

#[tokio::test]
async fn bodies_up_to_5_mb_are_taken_and_larger_ones_get_a_json_413() {
    let (sandbox, _) = sandbox(Options::default()).await;
    let body = import_body(10_000, 150);
    assert!(
        body.len() > 2 << 20 && body.len() < 5_000_000,
        "{}",
        body.len()
    );
    let (status, _) = send(
        &sandbox,
        reqwest::Method::POST,
        "/api/profile-bulk-import-jobs",
        &[],
        Some(body),
    )
    .await;
    assert_eq!(status, 202, "a job over 2 MiB is accepted");
    sandbox.settled().await;
    assert_eq!(sandbox.state()["profiles"], 10_000);
    let (status, body) = send(
        &sandbox,
        reqwest::Method::POST,
        "/api/profile-bulk-import-jobs",
        &[],
        Some(import_body(10_000, 450)),
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{body}"
    );
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("5000000 bytes")
    );
    let (status, body) = send(&sandbox, reqwest::Method::PUT, "/api/profiles", &[], None).await;
    assert_eq!(
        (status, body["errors"][0]["status"].as_u64()),
        (405, Some(405)),
        "a method no operation has: JSON too"
    );
}

#[tokio::test]
async fn impossible_revisions_are_refused() {
    let (sandbox, _) = sandbox(Options::default()).await;
    for revision in ["2026-13-45", "2026-02-29"] {
        let (status, body) = send(
            &sandbox,
            reqwest::Method::GET,
            "/api/accounts",
            &[("revision", revision)],
            None,
        )
        .await;
        assert_eq!(status, 400, "{revision}");
        assert_eq!(body["errors"][0]["source"]["header"], "revision");
    }
    let (status, _) = send(
        &sandbox,
        reqwest::Method::GET,
        "/api/accounts",
        &[("revision", "2024-02-29")],
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn emails_match_whatever_their_case() {
    let (sandbox, client) = sandbox(Options::default()).await;
    let created = client
        .profiles()
        .create(ProfileData::email("upper@example.com"))
        .await
        .unwrap();
    let err = client
        .profiles()
        .create(ProfileData::email("UPPER@EXAMPLE.COM"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
    let (status, body) = send(
        &sandbox,
        reqwest::Method::GET,
        "/api/profiles?filter=equals(email,%22UPPER@Example.COM%22)",
        &[],
        None,
    )
    .await;
    assert_eq!(
        (status, body["data"][0]["id"].as_str()),
        (200, created.id())
    );
    let upserted = client
        .profiles()
        .upsert(ProfileData::email("Upper@Example.com").set("first_name", "U"))
        .await
        .unwrap();
    assert_eq!(upserted.id(), created.id());
}

#[tokio::test]
async fn idle_and_slow_connections_are_closed() {
    let (sandbox, _) = sandbox(Options {
        header_timeout: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    for sent in [&b""[..], b"GET /api/accounts HTTP/1.1\r\nhost: x\r\n"] {
        let mut stream = tokio::net::TcpStream::connect(sandbox.addr).await.unwrap();
        stream.write_all(sent).await.unwrap();
        let mut buf = Vec::new();
        // The bound only keeps a broken build from hanging the suite; the close comes at 300 ms.
        let read =
            tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut buf)).await;
        assert!(
            read.is_ok(),
            "the sandbox closed a connection that sent {:?} and stalled",
            String::from_utf8_lossy(sent)
        );
    }
}

#[tokio::test]
async fn the_request_log_is_bounded_secret_free_and_emptied_by_reset() {
    let (sandbox, _) = sandbox(Options {
        request_log: 50,
        ..Options::default()
    })
    .await;
    for i in 0..120 {
        send(
            &sandbox,
            reqwest::Method::GET,
            &format!("/api/accounts?n={i}"),
            &[],
            None,
        )
        .await;
    }
    let log = sandbox.requests();
    assert_eq!(log.len(), 50);
    assert_eq!(
        (log[0].uri.as_str(), log[49].uri.as_str()),
        ("/api/accounts?n=70", "/api/accounts?n=119"),
        "the latest 50, oldest first"
    );
    let key = sandbox.api_key().to_string();
    let bare = reqwest::Client::new();
    for request in [
        bare.get(format!("{}/api/accounts", sandbox.base_url()))
            .header("authorization", &key),
        bare.get(format!("{}/api/accounts", sandbox.base_url()))
            .header("x-api-key", &key),
        bare.get(format!("{}/api/accounts?api_key={key}", sandbox.base_url())),
    ] {
        request
            .header("revision", "2026-07-15")
            .send()
            .await
            .unwrap();
    }
    let over_http = reqwest::get(format!("{}/__sandbox/requests", sandbox.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !over_http.contains(&key) && !over_http.contains("pk_sandbox"),
        "no key in the log: {over_http}"
    );
    reqwest::Client::new()
        .post(format!("{}/__sandbox/reset", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert!(sandbox.requests().is_empty());
}

#[test]
fn the_binary_names_the_default_key_but_never_one_of_yours() {
    let binary = env!("CARGO_BIN_EXE_klaviyo-sandbox");
    let ready_line = |key: Option<&str>| {
        let mut command = Command::new(binary);
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        if let Some(key) = key {
            command.env("KLAVIYO_SANDBOX_API_KEY", key);
        }
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        line
    };
    assert!(ready_line(None).contains(&format!("KLAVIYO_API_KEY={DEFAULT_API_KEY}")));
    let own = ready_line(Some("pk_mine_secret_000000000000000000"));
    assert!(
        own.contains("KLAVIYO_API_KEY") && !own.contains("pk_mine_secret"),
        "{own}"
    );
    let mut help = String::new();
    let mut child = Command::new(binary)
        .arg("--help")
        .env(
            "KLAVIYO_SANDBOX_API_KEY",
            "pk_mine_secret_000000000000000000",
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut help)
        .unwrap();
    child.wait().unwrap();
    assert!(
        help.contains("KLAVIYO_SANDBOX_API_KEY") && !help.contains("pk_mine_secret"),
        "{help}"
    );
}
