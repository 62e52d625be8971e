//! The request pipeline against a scripted server: headers, retries, typed errors, auth.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use klaviyo_bridge::auth::{BoxFuture, Secret, TokenProvider};
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::profiles::ProfileData;
use klaviyo_bridge::retry::RetryPolicy;
use serde_json::json;
use support::{KEY, Reply, error_body, serve};

fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_secs(5),
        ..RetryPolicy::default()
    }
}

#[tokio::test]
async fn sends_auth_revision_content_type_and_user_agent_on_every_request() {
    let server = serve(|_, _| Reply::json(202, json!(null))).await;
    let client = server
        .client()
        .user_agent_suffix("shop/2.1")
        .build()
        .unwrap();
    let receipt = client
        .events()
        .create(
            EventCreate::new("Placed Order")
                .email("a@b.com")
                .property("OrderId", "ORD-123")
                .value(99.99),
        )
        .await
        .unwrap();
    let seen = &server.requests()[0];
    assert_eq!(
        (seen.method.as_str(), seen.path.as_str()),
        ("POST", "/api/events")
    );
    assert_eq!(
        seen.headers["authorization"],
        format!("Klaviyo-API-Key {KEY}")
    );
    assert_eq!(seen.headers["revision"], "2026-07-15");
    assert_eq!(seen.headers["accept"], "application/vnd.api+json");
    assert_eq!(seen.headers["content-type"], "application/vnd.api+json");
    assert!(
        seen.headers["user-agent"].starts_with("klaviyo-bridge/")
            && seen.headers["user-agent"].ends_with("(rust) shop/2.1")
    );
    let body: serde_json::Value = serde_json::from_str(&seen.body).unwrap();
    assert_eq!(body["data"]["type"], "event");
    assert_eq!(
        body["data"]["attributes"]["unique_id"],
        receipt.unique_id.as_str()
    );
    assert_eq!(body["data"]["attributes"]["value"], 99.99);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_then_succeeds() {
    let server = serve(|_, n| match n {
        0 => Reply::json(429, error_body(429, "throttled", "Request was throttled. Expected available in 1 second.")).header("retry-after", "1"),
        _ => Reply::json(200, json!({"data": [{"type": "account", "id": "ACC1", "attributes": {"contact_information": null}}]})),
    })
    .await;
    let client = server
        .client()
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let started = Instant::now();
    let account = client.accounts().current().await.unwrap();
    assert_eq!(account.id(), Some("ACC1"));
    assert_eq!(server.count(), 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "the client honoured Retry-After: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_503_storm_exhausts_retries_and_surfaces_a_typed_server_error() {
    let server = serve(|_, _| {
        Reply::json(
            503,
            error_body(503, "service_unavailable", "Down for maintenance"),
        )
        .header("x-request-id", "req-503")
    })
    .await;
    let client = server
        .client()
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = client
        .request("get_accounts", &[], &[], None)
        .await
        .unwrap_err();
    assert_eq!(server.count(), 4, "one attempt plus three retries");
    assert_eq!(err.code(), "server_error");
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.request_id(), Some("req-503"));
    assert_eq!(
        err.errors()[0].detail.as_deref(),
        Some("Down for maintenance")
    );
}

#[tokio::test]
async fn unsafe_posts_are_not_repeated_on_5xx_but_are_on_429() {
    let server = serve(|_, _| Reply::json(503, error_body(503, "unavailable", "x"))).await;
    let client = server
        .client()
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let err = client
        .profiles()
        .create(ProfileData::email("a@b.com"))
        .await
        .unwrap_err();
    assert_eq!(
        (err.code(), server.count()),
        ("server_error", 1),
        "create_profile could double-create if repeated"
    );

    let server = serve(|_, n| {
        if n == 0 {
            Reply::json(429, error_body(429, "throttled", "slow down")).header("retry-after", "0")
        } else {
            Reply::json(
                201,
                json!({"data": {"type": "profile", "id": "P1", "attributes": {}}}),
            )
        }
    })
    .await;
    let client = server
        .client()
        .retry_policy(fast_retries(3))
        .build()
        .unwrap();
    let created = client
        .profiles()
        .create(ProfileData::email("a@b.com"))
        .await
        .unwrap();
    assert_eq!(
        (created.id(), server.count()),
        (Some("P1"), 2),
        "a 429 means the request was not processed"
    );
}

#[tokio::test]
async fn each_status_becomes_its_error_code_without_retrying_client_errors() {
    for (status, code) in [
        (400, "validation_error"),
        (401, "authentication_error"),
        (403, "permission_denied"),
        (404, "not_found"),
        (409, "conflict"),
    ] {
        let server =
            serve(move |_, _| Reply::json(status, error_body(status, "x", "what went wrong")))
                .await;
        let client = server
            .client()
            .retry_policy(fast_retries(3))
            .build()
            .unwrap();
        let err = client
            .request("get_profile", &[("id", "P1")], &[], None)
            .await
            .unwrap_err();
        assert_eq!(err.code(), code);
        assert_eq!(server.count(), 1, "{status} is not retried");
        assert!(!err.to_string().contains(KEY) && !format!("{err:?}").contains(KEY));
    }
}

#[tokio::test]
async fn an_html_page_from_a_cdn_is_a_typed_error_and_garbage_success_is_a_decode_error() {
    let server = serve(|_, n| match n {
        0 => Reply {
            status: 403,
            headers: vec![("content-type", "text/html".into())],
            body: "<html><title>Attention Required! | Cloudflare</title></html>".into(),
        },
        _ => Reply {
            status: 200,
            headers: vec![],
            body: "<html>not json</html>".into(),
        },
    })
    .await;
    let client = server.client().build().unwrap();
    let err = client
        .request("get_accounts", &[], &[], None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "permission_denied");
    assert!(err.to_string().contains("Cloudflare"), "{err}");
    let err = client
        .request("get_accounts", &[], &[], None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "decode_error");
    assert!(err.to_string().contains("not json"), "{err}");
}

#[tokio::test]
async fn timeouts_and_refused_connections_are_typed() {
    // A listener that never answers: the kernel accepts the connection, nobody replies.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = klaviyo_bridge::Client::builder()
        .api_key(KEY)
        .base_url(format!("http://{}", silent.local_addr().unwrap()))
        .timeout(Duration::from_millis(200))
        .max_retries(0)
        .build()
        .unwrap();
    let err = client
        .request("get_accounts", &[], &[], None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "timeout");
    assert!(err.to_string().contains("timed out after 0.2s"), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = klaviyo_bridge::Client::builder()
        .api_key(KEY)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(fast_retries(1))
        .build()
        .unwrap();
    let err = client
        .request("get_accounts", &[], &[], None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "network_error");
    assert!(!err.to_string().contains(KEY));
}

#[tokio::test]
async fn generic_request_reaches_any_operation_with_path_query_and_body() {
    let server = serve(|_, _| {
        Reply::json(
            200,
            json!({"data": {"type": "campaign", "id": "C1", "attributes": {}}}),
        )
    })
    .await;
    let client = server.client().build().unwrap();
    let doc = client
        .request(
            "get_campaign",
            &[("id", "C 1")],
            &[("fields[campaign]", "name,status")],
            None,
        )
        .await
        .unwrap();
    assert_eq!(doc.resource().unwrap().id(), Some("C1"));
    let seen = &server.requests()[0];
    assert_eq!(seen.path, "/api/campaigns/C%201");
    assert_eq!(seen.query["fields[campaign]"], "name,status");
    let err = client
        .request("get_campaign", &[], &[], None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input");
    let err = client
        .request("get_campaigns_typo", &[], &[], None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown operation id"));
    assert_eq!(server.count(), 1, "bad input never reaches the network");
}

#[tokio::test]
async fn client_operations_send_the_public_key_as_company_id_and_no_auth_header() {
    let server = serve(|_, _| Reply::json(202, json!(null))).await;
    let client = klaviyo_bridge::Client::builder()
        .public_key("AbC123")
        .base_url(&server.base_url)
        .build()
        .unwrap();
    let body = json!({"data": {"type": "event", "attributes": {"properties": {}, "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed"}}}, "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.com"}}}}}});
    client
        .request("create_client_event", &[], &[], Some(body))
        .await
        .unwrap();
    let seen = &server.requests()[0];
    assert_eq!(seen.query["company_id"], "AbC123");
    assert!(!seen.headers.contains_key("authorization"));
    let err = client
        .request("get_accounts", &[], &[], None)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        "config_error",
        "a public key cannot call /api operations"
    );
}

struct CountingProvider {
    issued: AtomicUsize,
}

impl TokenProvider for CountingProvider {
    fn access_token(&self) -> BoxFuture<'_, klaviyo_bridge::Result<Secret>> {
        let n = self.issued.load(Ordering::SeqCst);
        Box::pin(async move { Ok(Secret::new(format!("token-{n}"))) })
    }
    fn invalidate(&self, _rejected: &Secret) -> BoxFuture<'_, klaviyo_bridge::Result<()>> {
        self.issued.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test]
async fn oauth_clients_send_bearer_and_refresh_once_on_401() {
    let server = serve(|seen, _| {
        if seen.headers["authorization"] == "Bearer token-0" {
            Reply::json(401, error_body(401, "not_authenticated", "expired"))
        } else {
            Reply::json(200, json!({"data": []}))
        }
    })
    .await;
    let provider = Arc::new(CountingProvider {
        issued: AtomicUsize::new(0),
    });
    let client = klaviyo_bridge::Client::builder()
        .token_provider(provider.clone())
        .base_url(&server.base_url)
        .build()
        .unwrap();
    client
        .request("get_accounts", &[], &[], None)
        .await
        .unwrap();
    let auth: Vec<String> = server
        .requests()
        .iter()
        .map(|s| s.headers["authorization"].clone())
        .collect();
    assert_eq!(auth, ["Bearer token-0", "Bearer token-1"]);
    // A provider that keeps failing gets exactly one refresh, then a typed error.
    let server =
        serve(|_, _| Reply::json(401, error_body(401, "not_authenticated", "revoked"))).await;
    let client = klaviyo_bridge::Client::builder()
        .token_provider(provider.clone())
        .base_url(&server.base_url)
        .build()
        .unwrap();
    assert_eq!(
        client
            .request("get_accounts", &[], &[], None)
            .await
            .unwrap_err()
            .code(),
        "authentication_error"
    );
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn rate_limit_headers_are_exposed_and_remaining_zero_pauses_the_operation() {
    let server = serve(|_, _| {
        Reply::json(200, json!({"data": []}))
            .header("ratelimit-limit", "3")
            .header("ratelimit-remaining", "0")
            .header("ratelimit-reset", "1")
    })
    .await;
    let client = server.client().build().unwrap();
    client.request("get_lists", &[], &[], None).await.unwrap();
    let reading = client.rate_limit_status().unwrap();
    assert_eq!(
        (
            reading.operation.as_str(),
            reading.headers.remaining,
            reading.headers.limit
        ),
        ("get_lists", Some(0), Some(3))
    );
    let started = Instant::now();
    client.request("get_lists", &[], &[], None).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited for the server's window: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bulk_event_create_chunks_by_count_and_reports_every_bad_item_before_sending() {
    let server = serve(|_, _| Reply::json(202, json!(null))).await;
    let client = server.client().build().unwrap();
    let events: Vec<EventCreate> = (0..2_345)
        .map(|i| EventCreate::new("Viewed Product").email(format!("u{i}@example.com")))
        .collect();
    let report = client.events().bulk_create(events).await.unwrap();
    assert_eq!(report.accepted, 2_345);
    let sizes: Vec<usize> = server
        .requests()
        .iter()
        .map(|s| serde_json::from_str::<serde_json::Value>(&s.body).unwrap()["data"]["attributes"]["events-bulk-create"]["data"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [1000, 1000, 345]);

    let before = server.count();
    let mut events: Vec<EventCreate> = (0..10)
        .map(|i| EventCreate::new("X").email(format!("u{i}@example.com")))
        .collect();
    events[3] = EventCreate::new("X");
    events[7] = EventCreate::new("X").email("broken");
    match client.events().bulk_create(events).await.unwrap_err() {
        klaviyo_bridge::Error::BulkPartial {
            failures,
            total,
            accepted,
        } => {
            assert_eq!((total, accepted), (10, 0));
            assert_eq!(failures.iter().map(|f| f.index).collect::<Vec<_>>(), [3, 7]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.count(), before, "nothing half-sent");
}
