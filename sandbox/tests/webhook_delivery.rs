//! Webhook delivery end to end: the sandbox signs deliveries as Klaviyo does, the core's
//! `verify` accepts them, and failed deliveries are retried.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use klaviyo_bridge::Client;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::webhook_signature::{VerifyOptions, verify};
use klaviyo_bridge::webhooks::WebhookCreate;
use klaviyo_sandbox::{Options, RateLimits, start};

const SECRET: &str = "receiver-secret-0123456789";

/// What the receiver saw per attempt: the verified topics, or why verification failed.
type Received = Arc<Mutex<Vec<Result<Vec<String>, String>>>>;

/// A receiver that verifies each delivery with the core and fails the first `fail_first`.
async fn receiver(fail_first: usize) -> (String, Received) {
    let received: Received = Arc::default();
    let log = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let pairs: Vec<(&str, &str)> = headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("")))
                    .collect();
                let outcome = verify(&body, pairs, &VerifyOptions::new(SECRET))
                    .map(|d| d.items.iter().map(|i| i.topic.clone()).collect())
                    .map_err(|e| e.to_string());
                let mut log = log.lock().unwrap();
                log.push(outcome);
                if log.len() <= fail_first {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn matching_events_are_delivered_signed_and_retried_until_accepted() {
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
    let (url, received) = receiver(2).await;
    client
        .webhooks()
        .create(&WebhookCreate {
            name: "orders".into(),
            endpoint_url: url,
            secret_key: SECRET.into(),
            topics: vec!["event:klaviyo.placed_order".into()],
            description: None,
        })
        .await
        .unwrap();
    client
        .events()
        .create(EventCreate::new("Placed Order").email("a@example.com"))
        .await
        .unwrap();
    client
        .events()
        .create(EventCreate::new("Viewed Product").email("a@example.com"))
        .await
        .unwrap();
    sandbox.settled().await;
    let received = received.lock().unwrap().clone();
    assert_eq!(
        received.len(),
        3,
        "two failed attempts, then the accepted one; the other topic is not delivered"
    );
    for outcome in &received {
        assert_eq!(
            outcome.as_ref().unwrap(),
            &vec!["event:klaviyo.placed_order".to_string()],
            "every attempt verifies"
        );
    }
    let state = sandbox.state();
    assert_eq!(state["webhook_deliveries"][0]["attempts"], 3);
    assert_eq!(state["webhook_deliveries"][0]["status"], 200);
}

#[tokio::test]
async fn a_receiver_with_the_wrong_secret_rejects_every_delivery() {
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
    let (url, received) = receiver(0).await;
    client
        .webhooks()
        .create(&WebhookCreate {
            name: "x".into(),
            endpoint_url: url,
            secret_key: "a-different-secret-00000".into(),
            topics: vec!["event:klaviyo.placed_order".into()],
            description: None,
        })
        .await
        .unwrap();
    client
        .events()
        .create(EventCreate::new("Placed Order").email("a@example.com"))
        .await
        .unwrap();
    sandbox.settled().await;
    let first = received.lock().unwrap()[0].clone();
    assert!(first.unwrap_err().contains("signature"));
}
