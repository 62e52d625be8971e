//! What tests can see: the request log (credentials redacted), state, reset; Bearer tokens;
//! request validation, hand-written and from the spec's schemas; and the binary's contract.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use klaviyo_bridge::Client;
use klaviyo_bridge::profiles::ProfileData;
use klaviyo_sandbox::{Options, RateLimits, start};
use serde_json::json;

#[tokio::test]
async fn the_request_log_shows_headers_but_never_the_key() {
    let sandbox = start(Options {
        rate_limits: RateLimits::Off,
        ..Options::default()
    })
    .await
    .unwrap();
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .user_agent_suffix("test/1")
        .build()
        .unwrap();
    client
        .profiles()
        .upsert(ProfileData::email("a@example.com"))
        .await
        .unwrap();
    let log = sandbox.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].operation, Some("create_or_update_profile"));
    assert_eq!(log[0].headers["revision"], "2026-07-15");
    assert_eq!(
        log[0].headers["authorization"],
        "Klaviyo-API-Key <redacted>"
    );
    assert!(log[0].headers["user-agent"].ends_with("(rust) test/1"));
    let over_http = reqwest::get(format!("{}/__sandbox/requests", sandbox.base_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!over_http.contains(sandbox.api_key()));
    reqwest::Client::new()
        .post(format!("{}/__sandbox/reset", sandbox.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(sandbox.state()["profiles"], 0);
}

#[tokio::test]
async fn issued_bearer_tokens_work_and_others_are_refused() {
    let sandbox = start(Options::default()).await.unwrap();
    let token = sandbox.issue_token();
    let oauth = Client::builder()
        .access_token(token)
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    assert!(oauth.accounts().current().await.is_ok());
    assert_eq!(
        sandbox.requests()[0].headers["authorization"],
        "Bearer <redacted>"
    );
    let stranger = Client::builder()
        .access_token("made-up")
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    assert_eq!(
        stranger.accounts().current().await.unwrap_err().code(),
        "authentication_error"
    );
}

#[tokio::test]
async fn bad_bodies_get_a_400_pointing_at_the_field() {
    let sandbox = start(Options {
        rate_limits: RateLimits::Off,
        ..Options::default()
    })
    .await
    .unwrap();
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let cases = [
        (
            json!({"data": {"attributes": {"email": "a@b.com"}}}),
            "/data/type",
        ),
        (
            json!({"data": {"type": "profile", "attributes": {"email": 12}}}),
            "/data/attributes/email",
        ),
        (
            json!({"data": {"type": "profile", "attributes": {"email": "a@b.com", "favourite_colour": "red"}}}),
            "/data/attributes/favourite_colour",
        ),
        (
            json!({"data": {"type": "profile", "attributes": {"email": "a@b.com", "properties": ["not", "an", "object"]}}}),
            "/data/attributes/properties",
        ),
    ];
    for (body, pointer) in cases {
        let err = client
            .request("create_profile", &[], &[], Some(body))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "validation_error");
        assert_eq!(
            err.errors()[0].source.as_ref().unwrap().pointer.as_deref(),
            Some(pointer)
        );
    }
    // Operations without a hand-written handler are checked against the spec's request schema.
    let err = client
        .request(
            "create_tag_group",
            &[],
            &[],
            Some(json!({"data": {"type": "tag-group", "attributes": {"name": 7}}})),
        )
        .await
        .unwrap_err();
    assert_eq!(
        (
            err.code(),
            err.errors()[0].source.as_ref().unwrap().pointer.as_deref()
        ),
        ("validation_error", Some("/data/attributes/name"))
    );
    assert!(err.to_string().contains("must be a string"), "{err}");
    let err = client
        .request(
            "create_tag_group",
            &[],
            &[],
            Some(json!({"data": {"type": "tag-group", "attributes": {}}})),
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("'name' is a required field"),
        "{err}"
    );
    let campaigns = client
        .request(
            "get_campaigns",
            &[],
            &[("filter", "equals(messages.channel,'email')")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(campaigns.raw()["data"], json!([]));
    assert_eq!(sandbox.state()["profiles"], 0, "nothing was stored");
}

#[test]
fn the_binary_prints_its_url_first_and_rejects_bad_flags() {
    let exe = env!("CARGO_BIN_EXE_klaviyo-sandbox");
    let mut child = Command::new(exe)
        .args(["--port", "0", "--rate-limits", "scale=10", "--latency", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let accounts = runtime.block_on(async {
        let client = Client::builder()
            .api_key(klaviyo_sandbox::DEFAULT_API_KEY)
            .base_url(&url)
            .build()
            .unwrap();
        client.accounts().current().await
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(accounts.unwrap().id(), Some(klaviyo_sandbox::ACCOUNT_ID));
    for bad in [
        &["--faults", "429:2"][..],
        &["--rate-limits", "sometimes"][..],
    ] {
        let status = Command::new(exe)
            .args(bad)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(2), "{bad:?}");
    }
}
