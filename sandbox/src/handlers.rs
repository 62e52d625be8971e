//! HTTP routes: one handler per emulated operation, each admitted (revision, auth, rate
//! limit) under its operation id from the table.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use klaviyo_bridge::filter::{Filter, FilterValue};
use serde_json::{Value, json};
use tower::Layer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

use crate::{Shared, error, json_api};

type Shared_ = State<Arc<Shared>>;
type Params = Query<HashMap<String, String>>;

pub(crate) fn router(shared: Arc<Shared>) -> NormalizePath<Router> {
    let router = Router::new()
        .route("/api/accounts", get(get_accounts))
        .route("/api/events", get(get_events).post(create_event))
        .route("/api/event-bulk-create-jobs", post(bulk_create_events))
        .route("/api/metrics", get(get_metrics))
        .route("/api/metrics/{id}", get(get_metric))
        .route("/api/profiles", get(get_profiles).post(create_profile))
        .route("/api/profiles/{id}", get(get_profile).patch(update_profile))
        .route("/api/profile-import", post(import_profile))
        .route("/api/lists", get(get_lists).post(create_list))
        .route("/api/lists/{id}", get(get_list))
        .route("/api/lists/{id}/profiles", get(get_list_profiles))
        .route("/api/lists/{id}/relationships/profiles", post(add_to_list))
        .route("/api/catalog-items", get(get_catalog_items).post(create_catalog_item))
        .route("/api/data-privacy-deletion-jobs", post(delete_profile_data))
        .route("/__sandbox/state", get(state))
        .route("/__sandbox/reset", post(reset))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "This path is not an operation the sandbox emulates.", None) })
        .with_state(shared);
    NormalizePathLayer::trim_trailing_slash().layer(router)
}

/// Admits the request or returns the error response; adds latency.
async fn admit(shared: &Shared, op: &'static str, headers: &HeaderMap) -> Result<Vec<(&'static str, String)>, Response> {
    if !shared.options.latency.is_zero() {
        tokio::time::sleep(shared.options.latency).await;
    }
    shared.admit(op, headers)
}

fn respond(status: StatusCode, body: Value, rate: Vec<(&'static str, String)>) -> Response {
    let mut response = json_api(status, body);
    for (name, value) in rate {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Parses a JSON:API body and checks `data.type`; errors point at the offending field.
fn parse_body(body: &Bytes, expected_type: &str) -> Result<Value, Response> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| error(StatusCode::BAD_REQUEST, "invalid", format!("The request body is not valid JSON: {e}"), Some(json!({"pointer": "/"}))))?;
    let data = doc.get("data").ok_or_else(|| error(StatusCode::BAD_REQUEST, "invalid", "The request body must have a 'data' member.", Some(json!({"pointer": "/data"}))))?;
    match data.get("type").and_then(Value::as_str) {
        Some(t) if t == expected_type => Ok(doc),
        Some(t) => Err(error(StatusCode::CONFLICT, "invalid", format!("The resource type {t:?} does not match the endpoint's type {expected_type:?}."), Some(json!({"pointer": "/data/type"})))),
        None => Err(error(StatusCode::BAD_REQUEST, "invalid", "'data.type' is required.", Some(json!({"pointer": "/data/type"})))),
    }
}

fn not_found(what: &str, id: &str) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", format!("A {what} with id {id} does not exist."), None)
}

/// Filters, sorts and pages `items` for list operation `op`, building `links`.
fn page(op: &'static str, path: &str, items: Vec<Value>, query: &HashMap<String, String>) -> Result<Value, Response> {
    let operation = klaviyo_bridge::operations::operation(op).expect("real operation");
    let mut items = items;
    if let Some(text) = query.get("filter") {
        let filter = Filter::parse(text).map_err(|e| error(StatusCode::BAD_REQUEST, "invalid", e.to_string(), Some(json!({"parameter": "filter"}))))?;
        items.retain(|item| filter.conditions().iter().all(|c| matches(item, &c.operator, &c.field, &c.value)));
    }
    if let Some(sort) = query.get("sort") {
        let (field, descending) = sort.strip_prefix('-').map_or((sort.as_str(), false), |f| (f, true));
        items.sort_by_key(|item| field_value(item, field).to_string());
        if descending {
            items.reverse();
        }
    }
    let size = match (operation.page_size, query.get("page[size]")) {
        (Some(bounds), Some(text)) => match text.parse::<u32>() {
            Ok(n) if (1..=bounds.max).contains(&n) => n as usize,
            _ => return Err(error(StatusCode::BAD_REQUEST, "invalid", format!("page[size] must be an integer between 1 and {}.", bounds.max), Some(json!({"parameter": "page[size]"})))),
        },
        (Some(bounds), None) => bounds.default as usize,
        (None, _) => 100,
    };
    let offset = match query.get("page[cursor]") {
        Some(cursor) => decode_cursor(cursor).ok_or_else(|| error(StatusCode::BAD_REQUEST, "invalid", "Invalid page cursor.", Some(json!({"parameter": "page[cursor]"}))))?,
        None => 0,
    };
    let total = items.len();
    let data: Vec<Value> = items.into_iter().skip(offset).take(size).map(|item| sparse(item, query)).collect();
    let link = |offset: usize| format!("http://sandbox{path}?page%5Bcursor%5D={}&page%5Bsize%5D={size}", encode_cursor(offset));
    let next = (offset + size < total).then(|| link(offset + size));
    let prev = (offset > 0).then(|| link(offset.saturating_sub(size)));
    Ok(json!({"data": data, "links": {"self": format!("http://sandbox{path}"), "next": next, "prev": prev}}))
}

/// Cursors are opaque to clients; internally an offset with a tag.
fn encode_cursor(offset: usize) -> String {
    format!("bz{:x}", offset ^ 0x5a5a)
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    usize::from_str_radix(cursor.strip_prefix("bz")?, 16).ok().map(|n| n ^ 0x5a5a)
}

/// Applies `fields[type]=a,b` to one resource.
fn sparse(mut item: Value, query: &HashMap<String, String>) -> Value {
    let kind = item["type"].as_str().unwrap_or_default().to_string();
    if let Some(fields) = query.get(&format!("fields[{kind}]")) {
        let keep: Vec<&str> = fields.split(',').map(str::trim).collect();
        if let Some(attributes) = item.get_mut("attributes").and_then(Value::as_object_mut) {
            attributes.retain(|k, _| keep.contains(&k.as_str()));
        }
    }
    item
}

/// A filter field: `id`, an attribute, or a relationship id (`metric_id`, `profile_id`).
fn field_value<'a>(item: &'a Value, field: &str) -> &'a Value {
    match field {
        "id" => &item["id"],
        "metric_id" => &item["relationships"]["metric"]["data"]["id"],
        "profile_id" => &item["relationships"]["profile"]["data"]["id"],
        other => other.split('.').fold(&item["attributes"], |v, part| &v[part]),
    }
}

fn matches(item: &Value, operator: &str, field: &str, value: &FilterValue) -> bool {
    let actual = field_value(item, field);
    let as_text = |v: &FilterValue| match v {
        FilterValue::Str(s) | FilterValue::DateTime(s) => Some(s.clone()),
        FilterValue::Number(n) => Some(n.to_string()),
        FilterValue::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let actual_text = match actual {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    // Date-times compare as instants: normalise "Z" and "+00:00".
    let norm = |s: String| s.replace("+00:00", "Z");
    match (operator, value) {
        ("equals", FilterValue::Null) => actual.is_null(),
        ("equals", v) => actual_text.map(norm) == as_text(v).map(norm),
        ("any", FilterValue::List(options)) => options.iter().any(|o| actual_text.clone().map(norm) == as_text(o).map(norm)),
        ("contains", v) => actual_text.zip(as_text(v)).is_some_and(|(a, b)| a.contains(&b)),
        (op, v) => {
            let (Some(a), Some(b)) = (actual_text.map(norm), as_text(v).map(norm)) else { return false };
            let ordering = match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => x.partial_cmp(&y),
                _ => Some(a.cmp(&b)),
            };
            match (op, ordering) {
                ("greater-than", Some(o)) => o.is_gt(),
                ("greater-or-equal", Some(o)) => o.is_ge(),
                ("less-than", Some(o)) => o.is_lt(),
                ("less-or-equal", Some(o)) => o.is_le(),
                _ => false,
            }
        }
    }
}

async fn get_accounts(State(s): Shared_, headers: HeaderMap) -> Response {
    let rate = match admit(&s, "get_accounts", &headers).await { Ok(r) => r, Err(e) => return e };
    let account = json!({"type": "account", "id": "SANDBX", "attributes": {
        "test_account": true, "contact_information": {"default_sender_name": "Sandbox", "default_sender_email": "sandbox@example.com", "website_url": "https://example.com", "organization_name": "klaviyo-sandbox", "street_address": null},
        "industry": null, "timezone": "UTC", "preferred_currency": "USD", "public_api_key": "SANDBX", "locale": "en-US"},
        "links": {"self": "/api/accounts/SANDBX/"}});
    respond(StatusCode::OK, json!({"data": [account], "links": {"self": "/api/accounts/", "next": null, "prev": null}}), rate)
}

/// Resolves a `profile` relationship object to a profile id, creating the profile.
fn resolve_profile(store: &mut crate::Store, profile: &Value) -> Result<String, String> {
    let data = &profile["data"];
    if let Some(id) = data["id"].as_str() {
        return if store.profiles.contains_key(id) { Ok(id.to_string()) } else { Err(format!("profile {id} does not exist")) };
    }
    let attributes = &data["attributes"];
    if ["email", "phone_number", "external_id", "anonymous_id"].iter().all(|k| attributes[*k].as_str().is_none_or(str::is_empty)) {
        return Err("a profile identifier (email, phone_number, external_id) is required".into());
    }
    Ok(match store.find_profile(attributes) {
        Some(id) => id,
        None => store.insert_profile(attributes),
    })
}

fn record(store: &mut crate::Store, attributes: &Value) -> Result<(), (String, &'static str)> {
    let metric = attributes["metric"]["data"]["attributes"]["name"].as_str().filter(|n| !n.is_empty()).ok_or(("metric name is required".to_string(), "/data/attributes/metric/data/attributes/name"))?;
    if !attributes["properties"].is_object() {
        return Err(("properties must be an object".into(), "/data/attributes/properties"));
    }
    let profile = resolve_profile(store, &attributes["profile"]).map_err(|e| (e, "/data/attributes/profile"))?;
    store.record_event(&profile, metric, attributes);
    Ok(())
}

async fn create_event(State(s): Shared_, headers: HeaderMap, body: Bytes) -> Response {
    let rate = match admit(&s, "create_event", &headers).await { Ok(r) => r, Err(e) => return e };
    let doc = match parse_body(&body, "event") { Ok(d) => d, Err(e) => return e };
    match record(&mut s.store.lock().unwrap(), &doc["data"]["attributes"]) {
        Ok(()) => respond(StatusCode::ACCEPTED, Value::Null, rate),
        Err((detail, pointer)) => error(StatusCode::BAD_REQUEST, "invalid", detail, Some(json!({"pointer": pointer}))),
    }
}

async fn bulk_create_events(State(s): Shared_, headers: HeaderMap, body: Bytes) -> Response {
    let rate = match admit(&s, "bulk_create_events", &headers).await { Ok(r) => r, Err(e) => return e };
    let doc = match parse_body(&body, "event-bulk-create-job") { Ok(d) => d, Err(e) => return e };
    let entries = doc["data"]["attributes"]["events-bulk-create"]["data"].as_array().cloned().unwrap_or_default();
    let limit = klaviyo_bridge::operations::bulk_limit("bulk_create_events");
    if entries.is_empty() || entries.len() > limit.max_items {
        return error(StatusCode::BAD_REQUEST, "invalid", format!("A job takes 1 to {} events.", limit.max_items), Some(json!({"pointer": "/data/attributes/events-bulk-create/data"})));
    }
    // A repeated unique_id inside one job fails the whole job, as Klaviyo documents.
    let mut ids = std::collections::HashSet::new();
    for entry in &entries {
        for event in entry["attributes"]["events"]["data"].as_array().into_iter().flatten() {
            if let Some(id) = event["attributes"]["unique_id"].as_str().filter(|id| !ids.insert(id.to_string())) {
                return error(StatusCode::BAD_REQUEST, "invalid", format!("Duplicate unique_id {id:?} in the job."), None);
            }
        }
    }
    let mut store = s.store.lock().unwrap();
    for entry in &entries {
        for event in entry["attributes"]["events"]["data"].as_array().into_iter().flatten() {
            let mut attributes = event["attributes"].clone();
            attributes["profile"] = entry["attributes"]["profile"].clone();
            if let Err((detail, _)) = record(&mut store, &attributes) {
                return error(StatusCode::BAD_REQUEST, "invalid", detail, None);
            }
        }
    }
    respond(StatusCode::ACCEPTED, Value::Null, rate)
}

async fn get_events(State(s): Shared_, headers: HeaderMap, Query(q): Params) -> Response {
    let rate = match admit(&s, "get_events", &headers).await { Ok(r) => r, Err(e) => return e };
    let items = s.store.lock().unwrap().events.values().cloned().collect();
    page("get_events", "/api/events/", items, &q).map_or_else(|e| e, |body| respond(StatusCode::OK, body, rate))
}

async fn get_metrics(State(s): Shared_, headers: HeaderMap, Query(q): Params) -> Response {
    let rate = match admit(&s, "get_metrics", &headers).await { Ok(r) => r, Err(e) => return e };
    let items = s.store.lock().unwrap().metrics.values().cloned().collect();
    page("get_metrics", "/api/metrics/", items, &q).map_or_else(|e| e, |body| respond(StatusCode::OK, body, rate))
}

async fn get_metric(State(s): Shared_, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let rate = match admit(&s, "get_metric", &headers).await { Ok(r) => r, Err(e) => return e };
    let metric = s.store.lock().unwrap().metrics.get(&id).cloned();
    metric.map_or_else(|| not_found("metric", &id), |m| respond(StatusCode::OK, json!({"data": m}), rate))
}

async fn get_profiles(State(s): Shared_, headers: HeaderMap, Query(q): Params) -> Response {
    let rate = match admit(&s, "get_profiles", &headers).await { Ok(r) => r, Err(e) => return e };
    let items = s.store.lock().unwrap().profiles.values().cloned().collect();
    page("get_profiles", "/api/profiles/", items, &q).map_or_else(|e| e, |body| respond(StatusCode::OK, body, rate))
}

async fn get_profile(State(s): Shared_, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let rate = match admit(&s, "get_profile", &headers).await { Ok(r) => r, Err(e) => return e };
    let profile = s.store.lock().unwrap().profiles.get(&id).cloned();
    profile.map_or_else(|| not_found("profile", &id), |p| respond(StatusCode::OK, json!({"data": p}), rate))
}

async fn create_profile(State(s): Shared_, headers: HeaderMap, body: Bytes) -> Response {
    let rate = match admit(&s, "create_profile", &headers).await { Ok(r) => r, Err(e) => return e };
    let doc = match parse_body(&body, "profile") { Ok(d) => d, Err(e) => return e };
    let attributes = &doc["data"]["attributes"];
    let mut store = s.store.lock().unwrap();
    if let Some(existing) = store.find_profile(attributes) {
        let mut response = error(StatusCode::CONFLICT, "duplicate_profile", "A profile already exists with one of these identifiers.", Some(json!({"pointer": "/data/attributes"})));
        // Klaviyo names the existing profile so clients can update it instead.
        let body = json!({"errors": [{"id": "sandbox-dup", "status": 409, "code": "duplicate_profile", "title": "Conflict.",
            "detail": "A profile already exists with one of these identifiers.", "source": {"pointer": "/data/attributes"},
            "meta": {"duplicate_profile_id": existing}}]});
        *response.body_mut() = axum::body::Body::from(body.to_string());
        return response;
    }
    let id = store.insert_profile(attributes);
    respond(StatusCode::CREATED, json!({"data": store.profiles[&id]}), rate)
}

async fn update_profile(State(s): Shared_, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let rate = match admit(&s, "update_profile", &headers).await { Ok(r) => r, Err(e) => return e };
    let doc = match parse_body(&body, "profile") { Ok(d) => d, Err(e) => return e };
    let mut store = s.store.lock().unwrap();
    if !store.profiles.contains_key(&id) {
        return not_found("profile", &id);
    }
    store.update_profile(&id, &doc["data"]["attributes"]);
    respond(StatusCode::OK, json!({"data": store.profiles[&id]}), rate)
}

async fn import_profile(State(s): Shared_, headers: HeaderMap, body: Bytes) -> Response {
    let rate = match admit(&s, "create_or_update_profile", &headers).await { Ok(r) => r, Err(e) => return e };
    let doc = match parse_body(&body, "profile") { Ok(d) => d, Err(e) => return e };
    let attributes = &doc["data"]["attributes"];
    let mut store = s.store.lock().unwrap();
    let by_id = doc["data"]["id"].as_str().filter(|id| store.profiles.contains_key(*id)).map(str::to_string);
    let (id, status) = match by_id.or_else(|| store.find_profile(attributes)) {
        Some(id) => {
            store.update_profile(&id, attributes);
            (id, StatusCode::OK)
        }
        None if ["email", "phone_number", "external_id"].iter().all(|k| attributes[*k].as_str().is_none()) => {
            return error(StatusCode::BAD_REQUEST, "invalid", "One of email, phone_number or external_id is required.", Some(json!({"pointer": "/data/attributes"})));
        }
        None => (store.insert_profile(attributes), StatusCode::CREATED),
    };
    respond(status, json!({"data": store.profiles[&id]}), rate)
}

async fn get_lists(State(s): Shared_, headers: HeaderMap, Query(q): Params) -> Response {
    let rate = match admit(&s, "get_lists", &headers).await { Ok(r) => r, Err(e) => return e };
    let items = s.store.lock().unwrap().lists.values().cloned().collect();
    page("get_lists", "/api/lists/", items, &q).map_or_else(|e| e, |body| respond(StatusCode::OK, body, rate))
}

async fn get_list(State(s): Shared_, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let rate = match admit(&s, "get_list", &headers).await { Ok(r) => r, Err(e) => return e };
    let list = s.store.lock().unwrap().lists.get(&id).cloned();
    list.map_or_else(|| not_found("list", &id), |l| respond(StatusCode::OK, json!({"data": l}), rate))
}

async fn create_list(State(s): Shared_, headers: HeaderMap, body: Bytes) -> Response {
    let rate = match admit(&s, "create_list", &headers).await { Ok(r) => r, Err(e) => return e };
    let doc = match parse_body(&body, "list") { Ok(d) => d, Err(e) => return e };
    let Some(name) = doc["data"]["attributes"]["name"].as_str().filter(|n| !n.is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "invalid", "'name' is required.", Some(json!({"pointer": "/data/attributes/name"})));
    };
    let mut store = s.store.lock().unwrap();
    let id = store.insert_list(name);
    respond(StatusCode::CREATED, json!({"data": store.lists[&id]}), rate)
}

async fn get_list_profiles(State(s): Shared_, headers: HeaderMap, Path(id): Path<String>, Query(q): Params) -> Response {
    let rate = match admit(&s, "get_profiles_for_list", &headers).await { Ok(r) => r, Err(e) => return e };
    let store = s.store.lock().unwrap();
    if !store.lists.contains_key(&id) {
        return not_found("list", &id);
    }
    let members = store.list_members.get(&id).map(|m| m.iter().filter_map(|p| store.profiles.get(p).cloned()).collect()).unwrap_or_default();
    page("get_profiles_for_list", &format!("/api/lists/{id}/profiles/"), members, &q).map_or_else(|e| e, |body| respond(StatusCode::OK, body, rate))
}

async fn add_to_list(State(s): Shared_, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let rate = match admit(&s, "add_profiles_to_list", &headers).await { Ok(r) => r, Err(e) => return e };
    let doc: Value = match serde_json::from_slice(&body) { Ok(d) => d, Err(e) => return error(StatusCode::BAD_REQUEST, "invalid", e.to_string(), Some(json!({"pointer": "/"}))) };
    let Some(refs) = doc["data"].as_array() else {
        return error(StatusCode::BAD_REQUEST, "invalid", "'data' must be a list of profile references.", Some(json!({"pointer": "/data"})));
    };
    let limit = klaviyo_bridge::operations::bulk_limit("add_profiles_to_list").max_items;
    if refs.len() > limit {
        return error(StatusCode::BAD_REQUEST, "invalid", format!("At most {limit} profiles per request."), Some(json!({"pointer": "/data"})));
    }
    let mut store = s.store.lock().unwrap();
    if !store.lists.contains_key(&id) {
        return not_found("list", &id);
    }
    for (i, r) in refs.iter().enumerate() {
        let pid = r["id"].as_str().unwrap_or_default();
        if r["type"] != "profile" || !store.profiles.contains_key(pid) {
            return error(StatusCode::BAD_REQUEST, "invalid", format!("profile {pid:?} does not exist"), Some(json!({"pointer": format!("/data/{i}/id")})));
        }
    }
    let members = store.list_members.entry(id).or_default();
    for r in refs {
        let pid = r["id"].as_str().unwrap_or_default().to_string();
        if !members.contains(&pid) {
            members.push(pid);
        }
    }
    respond(StatusCode::NO_CONTENT, Value::Null, rate)
}

async fn get_catalog_items(State(s): Shared_, headers: HeaderMap, Query(q): Params) -> Response {
    let rate = match admit(&s, "get_catalog_items", &headers).await { Ok(r) => r, Err(e) => return e };
    let items = s.store.lock().unwrap().catalog_items.values().cloned().collect();
    page("get_catalog_items", "/api/catalog-items/", items, &q).map_or_else(|e| e, |body| respond(StatusCode::OK, body, rate))
}

async fn create_catalog_item(State(s): Shared_, headers: HeaderMap, body: Bytes) -> Response {
    let rate = match admit(&s, "create_catalog_item", &headers).await { Ok(r) => r, Err(e) => return e };
    let doc = match parse_body(&body, "catalog-item") { Ok(d) => d, Err(e) => return e };
    let mut store = s.store.lock().unwrap();
    match store.insert_catalog_item(&doc["data"]["attributes"]) {
        Ok(id) => respond(StatusCode::CREATED, json!({"data": store.catalog_items[&id]}), rate),
        Err(detail) => error(StatusCode::CONFLICT, "invalid", detail, Some(json!({"pointer": "/data/attributes/external_id"}))),
    }
}

async fn delete_profile_data(State(s): Shared_, headers: HeaderMap, body: Bytes) -> Response {
    let rate = match admit(&s, "request_profile_deletion", &headers).await { Ok(r) => r, Err(e) => return e };
    let doc = match parse_body(&body, "data-privacy-deletion-job") { Ok(d) => d, Err(e) => return e };
    let profile = &doc["data"]["attributes"]["profile"]["data"];
    let mut store = s.store.lock().unwrap();
    let id = profile["id"].as_str().map(str::to_string).or_else(|| store.find_profile(&profile["attributes"]));
    if let Some(id) = id {
        store.delete_profile(&id);
    }
    respond(StatusCode::ACCEPTED, Value::Null, rate)
}

async fn state(State(s): Shared_) -> Response {
    json_api(StatusCode::OK, s.store.lock().unwrap().summary())
}

async fn reset(State(s): Shared_) -> Response {
    *s.store.lock().unwrap() = crate::Store::default();
    json_api(StatusCode::NO_CONTENT, Value::Null)
}
