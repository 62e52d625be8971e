//! A webhook receiver in axum: the raw body and the headers go to `verify_once`, which checks
//! the signature, the webhook id and freshness, and refuses a delivery already processed.
//!
//!     WEBHOOK_SECRET=... cargo run -p klaviyo-bridge --example webhook_receiver
//!
//! Then point a Klaviyo webhook (or `klaviyo-dev-tools --tool test-webhook --webhook-url
//! http://127.0.0.1:3000/klaviyo --secret ...`) at it.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use klaviyo_bridge::webhook_signature::{MemorySeenStore, VerifyOptions, verify_once};

struct Receiver {
    secret: String,
    seen: MemorySeenStore,
}

async fn klaviyo(
    State(receiver): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("")))
        .collect();
    match verify_once(
        &body,
        pairs,
        &VerifyOptions::new(receiver.secret.clone()),
        &receiver.seen,
    ) {
        Ok(delivery) => {
            for item in &delivery.items {
                println!(
                    "{} {}",
                    item.topic,
                    item.external_id.as_deref().unwrap_or("-")
                );
            }
            (StatusCode::OK, "ok".into())
        }
        Err(klaviyo_bridge::Error::WebhookVerification { check, .. }) if check == "replay" => {
            (StatusCode::CONFLICT, check.into())
        }
        Err(e) => (StatusCode::UNAUTHORIZED, e.code().into()),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let Some(secret) = klaviyo_bridge::config::env_setting("WEBHOOK_SECRET") else {
        eprintln!("set WEBHOOK_SECRET (in the environment or .env) to the webhook's secret");
        std::process::exit(2);
    };
    let state = Arc::new(Receiver {
        secret,
        seen: MemorySeenStore::default(),
    });
    let app = axum::Router::new()
        .route("/klaviyo", axum::routing::post(klaviyo))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}/klaviyo", listener.local_addr()?);
    axum::serve(listener, app).await
}
