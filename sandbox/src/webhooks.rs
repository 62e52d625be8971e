//! Webhooks: CRUD, topics, and delivery. When an event is recorded whose topic a webhook
//! subscribes to, the delivery is signed as Klaviyo signs (`klaviyo_bridge::webhook_signature`)
//! and POSTed to the endpoint, retried with backoff until it is answered 2xx.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::handlers::{AppState, links, not_found, ok, parse_resource};
use crate::store::{Store, Webhook, now_iso, topic_for_metric};
use crate::{ACCOUNT_ID, Shared, error};

/// Topics every account offers, besides one per metric seen.
const BUILT_IN_TOPICS: &[&str] = &[
    "event:klaviyo.placed_order",
    "event:klaviyo.started_checkout",
    "event:klaviyo.viewed_product",
    "event:klaviyo.email_delivered",
    "event:klaviyo.sent_sms",
];

/// Attempts per delivery before it is given up.
const MAX_ATTEMPTS: u32 = 6;

/// One delivery to send.
#[derive(Debug)]
pub(crate) struct Delivery {
    webhook_id: String,
    url: String,
    secret: String,
    body: Vec<u8>,
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/webhooks", get(list).post(create))
        .route(
            "/api/webhooks/{id}",
            get(get_one).patch(update).delete(delete),
        )
        .route("/api/webhook-topics", get(topics))
        .route("/api/webhook-topics/{id}", get(topic))
}

fn topic_resource(id: &str) -> Value {
    let name = id.trim_start_matches("event:klaviyo.").replace('_', " ");
    json!({"type": "webhook-topic", "id": id, "attributes": {"name": name}, "links": {"self": format!("/api/webhook-topics/{id}/")}})
}

fn all_topics(store: &Store) -> Vec<String> {
    let mut topics: Vec<String> = BUILT_IN_TOPICS.iter().map(|t| t.to_string()).collect();
    for metric in store.metrics.values() {
        let topic = topic_for_metric(metric["attributes"]["name"].as_str().unwrap_or_default());
        if !topics.contains(&topic) {
            topics.push(topic);
        }
    }
    topics
}

async fn topics(State(s): AppState) -> Response {
    let store = s.store.lock().unwrap();
    ok(
        StatusCode::OK,
        json!({"data": all_topics(&store).iter().map(|t| topic_resource(t)).collect::<Vec<_>>(), "links": links("/api/webhook-topics/")}),
    )
}

async fn topic(State(s): AppState, Path(id): Path<String>) -> Response {
    let store = s.store.lock().unwrap();
    if all_topics(&store).contains(&id) {
        ok(StatusCode::OK, json!({"data": topic_resource(&id)}))
    } else {
        not_found("webhook-topic", &id)
    }
}

/// Klaviyo requires https endpoints; the sandbox also allows http on loopback for tests.
fn endpoint_allowed(url: &str) -> bool {
    klaviyo_bridge::config::validate_endpoint_url(url, "endpoint_url").is_ok()
}

async fn create(State(s): AppState, body: Bytes) -> Response {
    let data = match parse_resource(&body, "webhook", true) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let attributes = &data["attributes"];
    let url = attributes["endpoint_url"].as_str().unwrap_or_default();
    if !endpoint_allowed(url) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "'endpoint_url' must be an https URL.",
            Some(json!({"pointer": "/data/attributes/endpoint_url"})),
        );
    }
    let secret = attributes["secret_key"].as_str().unwrap_or_default();
    if secret.chars().count() < 16 {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "'secret_key' must be at least 16 characters.",
            Some(json!({"pointer": "/data/attributes/secret_key"})),
        );
    }
    let topics: Vec<String> = data["relationships"]["webhook-topics"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["id"].as_str().map(str::to_string))
        .collect();
    if topics.is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "A webhook needs at least one topic.",
            Some(json!({"pointer": "/data/relationships/webhook-topics"})),
        );
    }
    let mut store = s.store.lock().unwrap();
    let id = store.new_id('W');
    let now = now_iso();
    let resource = json!({"type": "webhook", "id": id, "attributes": {
        "name": attributes["name"], "description": attributes["description"], "endpoint_url": url,
        "enabled": attributes["enabled"].as_bool().unwrap_or(true), "created_at": now, "updated_at": now},
        "relationships": {"webhook-topics": {"data": topics.iter().map(|t| json!({"type": "webhook-topic", "id": t})).collect::<Vec<_>>()}},
        "links": {"self": format!("/api/webhooks/{id}/")}});
    store.webhooks.insert(
        id.clone(),
        Webhook {
            resource: resource.clone(),
            secret: secret.to_string(),
            topics,
        },
    );
    ok(StatusCode::CREATED, json!({"data": resource}))
}

async fn list(State(s): AppState) -> Response {
    let store = s.store.lock().unwrap();
    ok(
        StatusCode::OK,
        json!({"data": store.webhooks.values().map(|w| w.resource.clone()).collect::<Vec<_>>(), "links": links("/api/webhooks/")}),
    )
}

async fn get_one(State(s): AppState, Path(id): Path<String>) -> Response {
    let store = s.store.lock().unwrap();
    store.webhooks.get(&id).map_or_else(
        || not_found("webhook", &id),
        |w| ok(StatusCode::OK, json!({"data": w.resource})),
    )
}

async fn update(State(s): AppState, Path(id): Path<String>, body: Bytes) -> Response {
    let data = match parse_resource(&body, "webhook", false) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let mut store = s.store.lock().unwrap();
    let Some(webhook) = store.webhooks.get_mut(&id) else {
        return not_found("webhook", &id);
    };
    for (key, value) in data["attributes"].as_object().into_iter().flatten() {
        match key.as_str() {
            "secret_key" => webhook.secret = value.as_str().unwrap_or_default().to_string(),
            "endpoint_url" if !value.as_str().is_some_and(endpoint_allowed) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    "'endpoint_url' must be an https URL.",
                    Some(json!({"pointer": "/data/attributes/endpoint_url"})),
                );
            }
            _ => webhook.resource["attributes"][key] = value.clone(),
        }
    }
    if let Some(topics) = data["relationships"]["webhook-topics"]["data"].as_array() {
        webhook.topics = topics
            .iter()
            .filter_map(|t| t["id"].as_str().map(str::to_string))
            .collect();
        webhook.resource["relationships"]["webhook-topics"]["data"] = json!(topics);
    }
    webhook.resource["attributes"]["updated_at"] = json!(now_iso());
    ok(StatusCode::OK, json!({"data": webhook.resource}))
}

async fn delete(State(s): AppState, Path(id): Path<String>) -> Response {
    if s.store.lock().unwrap().webhooks.remove(&id).is_some() {
        ok(StatusCode::NO_CONTENT, serde_json::Value::Null)
    } else {
        not_found("webhook", &id)
    }
}

/// Queues deliveries of a just-recorded event to every enabled webhook on its topic.
pub(crate) fn queue(shared: &Shared, store: &mut Store, metric: &str, event_id: &str) {
    let topic = topic_for_metric(metric);
    let Some(event) = store.events.get(event_id) else {
        return;
    };
    let mut queued = 0;
    for (id, webhook) in &store.webhooks {
        if webhook.resource["attributes"]["enabled"] == false || !webhook.topics.contains(&topic) {
            continue;
        }
        let body = json!({
            "data": [{"topic": topic, "external_id": event_id, "payload": {"data": event}}],
            "meta": {"klaviyo_account_id": ACCOUNT_ID, "klaviyo_webhook_id": id, "timestamp": now_iso()},
        });
        let sent = shared.deliveries.send(Delivery {
            webhook_id: id.clone(),
            url: webhook.resource["attributes"]["endpoint_url"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            secret: webhook.secret.clone(),
            body: body.to_string().into_bytes(),
        });
        queued += usize::from(sent.is_ok());
    }
    store.pending_deliveries += queued;
}

/// Sends queued deliveries, each on its own task so a slow receiver delays only itself.
pub(crate) async fn deliver(shared: Arc<Shared>, mut queue: mpsc::UnboundedReceiver<Delivery>) {
    let http = klaviyo_bridge::tls::http_client_builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client");
    while let Some(delivery) = queue.recv().await {
        let (shared, http) = (shared.clone(), http.clone());
        tokio::spawn(async move {
            let mut outcome = json!({"webhook_id": delivery.webhook_id, "url": delivery.url, "attempts": 0, "status": null});
            for attempt in 1..=MAX_ATTEMPTS {
                // Each attempt is signed afresh, as a new send with its own timestamp.
                let headers = klaviyo_bridge::webhook_signature::sign(
                    &delivery.body,
                    &delivery.secret,
                    &delivery.webhook_id,
                    SystemTime::now(),
                );
                let mut request = http
                    .post(&delivery.url)
                    .header("content-type", "application/json")
                    .body(delivery.body.clone());
                for (name, value) in headers.pairs() {
                    request = request.header(name, value);
                }
                let status = request.send().await.map(|r| r.status().as_u16()).ok();
                outcome["attempts"] = json!(attempt);
                outcome["status"] = json!(status);
                if status.is_some_and(|s| (200..300).contains(&s)) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50 * 2u64.pow(attempt - 1))).await;
            }
            let mut store = shared.store.lock().unwrap();
            store.deliveries.push(outcome);
            store.pending_deliveries -= 1;
            drop(store);
            shared.settled.notify_waiters();
        });
    }
}
