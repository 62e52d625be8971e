//! test-webhook against receivers that misbehave the ways real ones do: a redirect is reported
//! as a failure with its Location and not followed (Klaviyo does not follow it), a receiver
//! that hangs is reported as a timeout, and one that fails everything is not credited with
//! refusing the forged copy.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::Value;
use support::env;

struct Receiver {
    url: String,
    /// Requests that reached `/target` (where the redirects point) and `/broken`.
    target_hits: Arc<AtomicUsize>,
    broken_hits: Arc<AtomicUsize>,
}

fn receiver(env: &support::Env) -> Receiver {
    let target_hits = Arc::new(AtomicUsize::new(0));
    let broken_hits = Arc::new(AtomicUsize::new(0));
    let (target, broken) = (Arc::clone(&target_hits), Arc::clone(&broken_hits));
    let app = axum::Router::new()
        .route(
            "/moved",
            axum::routing::any(|| async {
                (StatusCode::FOUND, [(header::LOCATION, "/target")]).into_response()
            }),
        )
        .route(
            "/moved-temporarily",
            axum::routing::any(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "/target")],
                )
                    .into_response()
            }),
        )
        .route(
            "/target",
            axum::routing::any(move || async move {
                target.fetch_add(1, Ordering::SeqCst);
                StatusCode::OK
            }),
        )
        .route(
            "/hang",
            axum::routing::any(|| async { std::future::pending::<StatusCode>().await }),
        )
        .route(
            "/broken",
            axum::routing::any(move || async move {
                broken.fetch_add(1, Ordering::SeqCst);
                StatusCode::INTERNAL_SERVER_ERROR
            }),
        );
    let url = env.runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    });
    Receiver {
        url,
        target_hits,
        broken_hits,
    }
}

fn test_webhook(env: &support::Env, url: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec![
        "--tool",
        "test-webhook",
        "--webhook-url",
        url,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = env.run("dev", &args);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

#[test]
fn redirects_are_reported_with_their_location_and_not_followed() {
    let env = env();
    let receiver = receiver(&env);
    for (path, status) in [("/moved", 302), ("/moved-temporarily", 307)] {
        let (code, report, err) = test_webhook(
            &env,
            &format!("{}{path}", receiver.url),
            &["--secret", "s3cret"],
        );
        assert_eq!(code, 1, "{err}");
        assert_eq!(
            (
                report["status"].as_u64(),
                report["accepted"].as_bool(),
                report["redirect_location"].as_str()
            ),
            (Some(status), Some(false), Some("/target"))
        );
        assert!(
            err.contains("redirect to /target") && err.contains("does not follow"),
            "{err}"
        );
        assert_eq!(report["rejected_forged"], Value::Null);
    }
    assert_eq!(
        receiver.target_hits.load(Ordering::SeqCst),
        0,
        "not followed"
    );
}

#[test]
fn a_receiver_that_hangs_is_reported_as_a_timeout() {
    let env = env();
    let receiver = receiver(&env);
    let (code, _, err) = test_webhook(
        &env,
        &format!("{}/hang", receiver.url),
        &["--timeout", "0.5"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("did not answer") && err.contains("timed out after 0.5s"),
        "{err}"
    );
    assert!(!err.contains("base URL"), "{err}");
}

#[test]
fn the_forged_copy_is_checked_only_after_the_genuine_delivery_was_accepted() {
    let env = env();
    let receiver = receiver(&env);
    let (code, report, err) = test_webhook(
        &env,
        &format!("{}/broken", receiver.url),
        &["--secret", "s3cret"],
    );
    assert_eq!(code, 1);
    assert_eq!(report["status"], 500);
    assert_eq!(
        (&report["forged_status"], &report["rejected_forged"]),
        (&Value::Null, &Value::Null),
        "a receiver that fails everything proves nothing about forgeries"
    );
    assert!(
        err.contains("answered 500 to a correctly signed delivery"),
        "{err}"
    );
    assert_eq!(receiver.broken_hits.load(Ordering::SeqCst), 1);
}
