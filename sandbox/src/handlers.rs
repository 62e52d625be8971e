//! Routes and the handlers of the core resources (accounts, events, metrics, profiles, lists,
//! data privacy, inspection). Catalog, jobs and webhooks have files of their own. Admission
//! (revision, auth, faults, rate limits) has already run when a handler is called.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use klaviyo_bridge::filter::{Filter, FilterValue};
use serde_json::{Value, json};
use tower::Layer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

use crate::store::now_iso;
use crate::{ACCOUNT_ID, Shared, catalog, error, error_with_meta, jobs, json_api, validate, webhooks};

pub(crate) type AppState = State<Arc<Shared>>;
pub(crate) type Params = Query<HashMap<String, String>>;

pub(crate) fn router(shared: Arc<Shared>) -> NormalizePath<Router> {
    let router = Router::new()
        .route("/api/accounts", get(get_accounts))
        .route("/api/accounts/{id}", get(get_account))
        .route("/api/events", get(get_events).post(create_event))
        .route("/api/events/{id}", get(get_event))
        .route("/client/events", post(create_client_event))
        .route("/api/metrics", get(get_metrics))
        .route("/api/metrics/{id}", get(get_metric))
        .route("/api/metric-aggregates", post(query_metric_aggregates))
        .route("/api/profiles", get(get_profiles).post(create_profile))
        .route("/api/profiles/{id}", get(get_profile).patch(update_profile))
        .route("/api/profile-import", post(import_profile))
        .route("/api/profile-merge", post(merge_profiles))
        .route("/api/lists", get(get_lists).post(create_list))
        .route("/api/lists/{id}", get(get_list).patch(update_list).delete(delete_list))
        .route("/api/lists/{id}/profiles", get(get_list_profiles))
        .route("/api/lists/{id}/relationships/profiles", post(add_to_list).delete(remove_from_list))
        .route("/api/data-privacy-deletion-jobs", post(delete_profile_data))
        .route("/__sandbox/state", get(state))
        .route("/__sandbox/settled", get(settled))
        .route("/__sandbox/requests", get(requests))
        .route("/__sandbox/reset", post(reset))
        .merge(catalog::routes())
        .merge(jobs::routes())
        .merge(webhooks::routes())
        .merge(crate::oauth::routes())
        .fallback(not_emulated)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), crate::admission::admit))
        .with_state(shared);
    NormalizePathLayer::trim_trailing_slash().layer(router)
}

async fn not_emulated(request: Request) -> Response {
    match crate::admission::match_operation(request.method(), request.uri().path()) {
        Some(op) => error(StatusCode::NOT_IMPLEMENTED, "not_emulated", format!("{} is a Klaviyo operation that klaviyo-sandbox does not emulate.", op.id), None),
        None => error(StatusCode::NOT_FOUND, "not_found", "Not found.", None),
    }
}

pub(crate) fn ok(status: StatusCode, body: Value) -> Response {
    json_api(status, body)
}

/// Parses a JSON:API body, checks `data.type` and the attributes; returns `data`.
pub(crate) fn parse_resource(body: &Bytes, expected_type: &str, creating: bool) -> Result<Value, Response> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| error(StatusCode::BAD_REQUEST, "invalid", format!("The request body is not valid JSON: {e}"), Some(json!({"pointer": "/"}))))?;
    let data = doc.get("data").filter(|d| d.is_object()).ok_or_else(|| error(StatusCode::BAD_REQUEST, "invalid", "The request body must have a 'data' object.", Some(json!({"pointer": "/data"}))))?;
    match data.get("type").and_then(Value::as_str) {
        Some(t) if t == expected_type => {}
        Some(t) => return Err(error(StatusCode::CONFLICT, "invalid", format!("The resource type {t:?} does not match the endpoint's type {expected_type:?}."), Some(json!({"pointer": "/data/type"})))),
        None => return Err(error(StatusCode::BAD_REQUEST, "invalid", "'type' is a required field.", Some(json!({"pointer": "/data/type"})))),
    }
    validate::attributes(expected_type, data.get("attributes").unwrap_or(&json!({})), "/data/attributes", creating)?;
    Ok(data.clone())
}

pub(crate) fn not_found(what: &str, id: &str) -> Response {
    error(StatusCode::NOT_FOUND, "not_found", format!("A {what} with id {id} does not exist."), Some(json!({"parameter": "id"})))
}

/// Filters, sorts and pages `items` for list operation `op`, building `links`.
/// Only the returned page is cloned, so listing stays cheap on large collections.
pub(crate) fn page(op: &'static str, path: &str, items: Vec<&Value>, query: &HashMap<String, String>) -> Result<Value, Response> {
    let operation = klaviyo_bridge::operations::operation(op).expect("handlers name real operations");
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
        // Operations without page[size] use a fixed page, as Klaviyo does.
        (None, _) => 200,
    };
    let offset = match query.get("page[cursor]") {
        Some(cursor) => decode_cursor(cursor).ok_or_else(|| error(StatusCode::BAD_REQUEST, "invalid", "Invalid page cursor.", Some(json!({"parameter": "page[cursor]"}))))?,
        None => 0,
    };
    let total = items.len();
    let data: Vec<Value> = items.into_iter().skip(offset).take(size).map(|item| sparse(item.clone(), query)).collect();
    let link = |offset: usize| format!("http://sandbox{path}?page%5Bcursor%5D={}&page%5Bsize%5D={size}", encode_cursor(offset));
    let next = (offset + size < total).then(|| link(offset + size));
    let prev = (offset > 0).then(|| link(offset.saturating_sub(size)));
    Ok(json!({"data": data, "links": links(path, next, prev)}))
}

/// Collection links; `next` and `prev` are left out when there is no such page, as the spec says.
pub(crate) fn links(path: &str, next: Option<String>, prev: Option<String>) -> Value {
    let mut links = json!({"self": format!("http://sandbox{path}")});
    if let Some(next) = next {
        links["next"] = json!(next);
    }
    if let Some(prev) = prev {
        links["prev"] = json!(prev);
    }
    links
}

/// Cursors are opaque to clients; internally a tagged, scrambled offset.
fn encode_cursor(offset: usize) -> String {
    format!("bz{:x}", offset ^ 0x5a5a)
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    usize::from_str_radix(cursor.strip_prefix("bz")?, 16).ok().map(|n| n ^ 0x5a5a)
}

/// Applies `fields[type]=a,b` to one resource.
pub(crate) fn sparse(mut item: Value, query: &HashMap<String, String>) -> Value {
    let kind = item["type"].as_str().unwrap_or_default().to_string();
    if let Some(fields) = query.get(&format!("fields[{kind}]")) {
        let keep: Vec<&str> = fields.split(',').map(str::trim).collect();
        if let Some(attributes) = item.get_mut("attributes").and_then(Value::as_object_mut) {
            attributes.retain(|k, _| keep.contains(&k.as_str()));
        }
    }
    item
}

/// A filter field: `id`, an attribute (dotted for nesting), or a relationship id.
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
    // Date-times compare as instants where both sides parse; "Z" and "+00:00" are equal.
    let instant = |s: &str| klaviyo_bridge::time::parse_iso8601(s);
    let compare = |a: &str, b: &str| match (instant(a), instant(b), a.parse::<f64>(), b.parse::<f64>()) {
        (Some(x), Some(y), _, _) => x.partial_cmp(&y),
        (_, _, Ok(x), Ok(y)) => x.partial_cmp(&y),
        _ => Some(a.cmp(b)),
    };
    match (operator, value) {
        ("equals", FilterValue::Null) => actual.is_null(),
        ("equals", v) => actual_text.zip(as_text(v)).is_some_and(|(a, b)| compare(&a, &b).is_some_and(|o| o.is_eq())),
        ("any", FilterValue::List(options)) => options.iter().any(|o| actual_text.clone().zip(as_text(o)).is_some_and(|(a, b)| compare(&a, &b).is_some_and(|o| o.is_eq()))),
        ("contains", v) => actual_text.zip(as_text(v)).is_some_and(|(a, b)| a.contains(&b)),
        ("starts-with", v) => actual_text.zip(as_text(v)).is_some_and(|(a, b)| a.starts_with(&b)),
        ("ends-with", v) => actual_text.zip(as_text(v)).is_some_and(|(a, b)| a.ends_with(&b)),
        (op, v) => {
            let Some(ordering) = actual_text.zip(as_text(v)).and_then(|(a, b)| compare(&a, &b)) else { return false };
            match op {
                "greater-than" => ordering.is_gt(),
                "greater-or-equal" => ordering.is_ge(),
                "less-than" => ordering.is_lt(),
                "less-or-equal" => ordering.is_le(),
                _ => false,
            }
        }
    }
}

fn account() -> Value {
    json!({"type": "account", "id": ACCOUNT_ID, "attributes": {
        "test_account": true,
        "contact_information": {"default_sender_name": "Sandbox", "default_sender_email": "sandbox@example.com", "website_url": "https://example.com",
            "organization_name": "klaviyo-sandbox", "street_address": {"address1": null, "address2": null, "city": null, "region": null, "country": null, "zip": null}},
        "industry": null, "timezone": "UTC", "preferred_currency": "USD", "public_api_key": ACCOUNT_ID, "locale": "en-US"},
        "links": {"self": format!("/api/accounts/{ACCOUNT_ID}/")}})
}

async fn get_accounts() -> Response {
    ok(StatusCode::OK, json!({"data": [account()], "links": links("/api/accounts/", None, None)}))
}

async fn get_account(Path(id): Path<String>) -> Response {
    if id == ACCOUNT_ID { ok(StatusCode::OK, json!({"data": account()})) } else { not_found("account", &id) }
}

/// Resolves a `profile` relationship object to a profile id, creating the profile.
pub(crate) fn resolve_profile(store: &mut crate::Store, profile: &Value) -> Result<String, String> {
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

/// Records one event from create-event attributes; queues webhook deliveries.
pub(crate) fn record(shared: &Shared, store: &mut crate::Store, attributes: &Value) -> Result<(), (String, &'static str)> {
    let metric = attributes["metric"]["data"]["attributes"]["name"].as_str().filter(|n| !n.is_empty()).ok_or(("metric name is required".to_string(), "/data/attributes/metric/data/attributes/name"))?;
    if !attributes["properties"].is_object() {
        return Err(("properties must be an object".into(), "/data/attributes/properties"));
    }
    let profile = resolve_profile(store, &attributes["profile"]).map_err(|e| (e, "/data/attributes/profile"))?;
    if let Some(event_id) = store.record_event(&profile, metric, attributes) {
        webhooks::queue(shared, store, metric, &event_id);
    }
    Ok(())
}

async fn create_event(State(s): AppState, body: Bytes) -> Response {
    let data = match parse_resource(&body, "event", true) {
        Ok(d) => d,
        Err(e) => return e,
    };
    match record(&s, &mut s.store.lock().unwrap(), &data["attributes"]) {
        Ok(()) => ok(StatusCode::ACCEPTED, Value::Null),
        Err((detail, pointer)) => error(StatusCode::BAD_REQUEST, "invalid", detail, Some(json!({"pointer": pointer}))),
    }
}

/// `/client/events`: the same event, authenticated by the public key (`company_id`).
async fn create_client_event(State(s): AppState, body: Bytes) -> Response {
    create_event(State(s), body).await
}

/// Adds `included` resources for `include=metric,profile` on event responses.
fn with_included(store: &crate::Store, mut body: Value, query: &HashMap<String, String>) -> Value {
    let Some(include) = query.get("include") else { return body };
    let events: Vec<Value> = match &body["data"] {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    let mut included: Vec<Value> = Vec::new();
    for relation in include.split(',').map(str::trim) {
        for event in &events {
            let id = event["relationships"][relation]["data"]["id"].as_str().unwrap_or_default();
            let found = match relation {
                "metric" => store.metrics.get(id),
                "profile" => store.profiles.get(id),
                _ => None,
            };
            if let Some(resource) = found.filter(|r| !included.contains(r)) {
                included.push(resource.clone());
            }
        }
    }
    body["included"] = json!(included);
    body
}

async fn get_events(State(s): AppState, Query(q): Params) -> Response {
    let store = s.store.lock().unwrap();
    let items = store.events.values().collect();
    match page("get_events", "/api/events/", items, &q) {
        Ok(body) => ok(StatusCode::OK, with_included(&store, body, &q)),
        Err(e) => e,
    }
}

async fn get_event(State(s): AppState, Path(id): Path<String>, Query(q): Params) -> Response {
    let store = s.store.lock().unwrap();
    match store.events.get(&id) {
        Some(event) => ok(StatusCode::OK, with_included(&store, json!({"data": event}), &q)),
        None => not_found("event", &id),
    }
}

async fn get_metrics(State(s): AppState, Query(q): Params) -> Response {
    let store = s.store.lock().unwrap();
    let items = store.metrics.values().collect();
    page("get_metrics", "/api/metrics/", items, &q).map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}

async fn get_metric(State(s): AppState, Path(id): Path<String>) -> Response {
    let metric = s.store.lock().unwrap().metrics.get(&id).cloned();
    metric.map_or_else(|| not_found("metric", &id), |m| ok(StatusCode::OK, json!({"data": m})))
}

/// Counts and sums of `value` per day (UTC) for one metric between two instants.
async fn query_metric_aggregates(State(s): AppState, body: Bytes) -> Response {
    let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if doc["data"]["type"] != "metric-aggregate" {
        return error(StatusCode::BAD_REQUEST, "invalid", "'type' must be metric-aggregate.", Some(json!({"pointer": "/data/type"})));
    }
    let attributes = &doc["data"]["attributes"];
    let Some(metric_id) = attributes["metric_id"].as_str() else {
        return error(StatusCode::BAD_REQUEST, "invalid", "'metric_id' is required.", Some(json!({"pointer": "/data/attributes/metric_id"})));
    };
    if attributes["interval"].as_str().unwrap_or("day") != "day" {
        return error(StatusCode::BAD_REQUEST, "invalid", "klaviyo-sandbox aggregates by day only.", Some(json!({"pointer": "/data/attributes/interval"})));
    }
    let measurements: Vec<String> = attributes["measurements"].as_array().into_iter().flatten().filter_map(|m| m.as_str().map(str::to_string)).collect();
    if let Some(bad) = measurements.iter().find(|m| !matches!(m.as_str(), "count" | "sum_value" | "unique")) {
        return error(StatusCode::BAD_REQUEST, "invalid", format!("measurement {bad:?} is not supported."), Some(json!({"pointer": "/data/attributes/measurements"})));
    }
    let filters: Vec<String> = attributes["filter"].as_array().into_iter().flatten().filter_map(|f| f.as_str().map(str::to_string)).collect();
    let bound = |op: &str| {
        filters.iter().filter_map(|f| Filter::parse(f).ok()).flat_map(|f| f.conditions().to_vec()).find(|c| c.operator == op && c.field == "datetime").and_then(|c| match c.value {
            FilterValue::DateTime(t) | FilterValue::Str(t) => klaviyo_bridge::time::parse_iso8601(&t),
            _ => None,
        })
    };
    let (Some(start), Some(end)) = (bound("greater-or-equal"), bound("less-than")) else {
        return error(StatusCode::BAD_REQUEST, "invalid", "filter needs greater-or-equal(datetime,…) and less-than(datetime,…).", Some(json!({"pointer": "/data/attributes/filter"})));
    };
    let day = |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() / 86_400);
    let (first, last) = (day(start), day(end - std::time::Duration::from_secs(1)));
    let days = (last.saturating_sub(first) + 1).min(366) as usize;
    let mut counts = vec![0u64; days];
    let mut sums = vec![0f64; days];
    let mut uniques: Vec<std::collections::HashSet<String>> = vec![Default::default(); days];
    let store = s.store.lock().unwrap();
    for event in store.events.values().filter(|e| e["relationships"]["metric"]["data"]["id"] == metric_id) {
        let Some(at) = event["attributes"]["datetime"].as_str().and_then(klaviyo_bridge::time::parse_iso8601) else { continue };
        if at < start || at >= end {
            continue;
        }
        let slot = (day(at) - first) as usize;
        if slot < days {
            counts[slot] += 1;
            sums[slot] += event["attributes"]["event_properties"]["$value"].as_f64().unwrap_or(0.0);
            uniques[slot].insert(event["relationships"]["profile"]["data"]["id"].to_string());
        }
    }
    let dates: Vec<String> = (0..days as u64).map(|d| crate::store::date_iso(first + d)).collect();
    let mut values = serde_json::Map::new();
    for m in &measurements {
        values.insert(
            m.clone(),
            match m.as_str() {
                "count" => json!(counts),
                "sum_value" => json!(sums),
                _ => json!(uniques.iter().map(|u| u.len()).collect::<Vec<_>>()),
            },
        );
    }
    ok(StatusCode::OK, json!({"data": {"type": "metric-aggregate", "id": format!("{metric_id}-{}", now_iso()), "attributes": {"dates": dates, "data": [{"dimensions": [], "measurements": values}]}, "links": {"self": "http://sandbox/api/metric-aggregates/"}}, "links": links("/api/metric-aggregates/", None, None)}))
}

async fn get_profiles(State(s): AppState, Query(q): Params) -> Response {
    let store = s.store.lock().unwrap();
    let items = store.profiles.values().collect();
    page("get_profiles", "/api/profiles/", items, &q).map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}

async fn get_profile(State(s): AppState, Path(id): Path<String>, Query(q): Params) -> Response {
    let profile = s.store.lock().unwrap().profiles.get(&id).cloned();
    profile.map_or_else(|| not_found("profile", &id), |p| ok(StatusCode::OK, json!({"data": sparse(p, &q)})))
}

fn has_identifier(attributes: &Value) -> bool {
    ["email", "phone_number", "external_id", "anonymous_id"].iter().any(|k| attributes[*k].as_str().is_some_and(|v| !v.is_empty()))
}

async fn create_profile(State(s): AppState, body: Bytes) -> Response {
    let data = match parse_resource(&body, "profile", true) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let attributes = &data["attributes"];
    if !has_identifier(attributes) {
        return error(StatusCode::BAD_REQUEST, "invalid", "One of email, phone_number, external_id or anonymous_id is required.", Some(json!({"pointer": "/data/attributes"})));
    }
    let mut store = s.store.lock().unwrap();
    if let Some(existing) = store.find_profile(attributes) {
        // Klaviyo names the existing profile so clients can update it instead.
        return error_with_meta(StatusCode::CONFLICT, "duplicate_profile", "A profile already exists with one of these identifiers.", Some(json!({"pointer": "/data/attributes"})), Some(json!({"duplicate_profile_id": existing})));
    }
    let id = store.insert_profile(attributes);
    ok(StatusCode::CREATED, json!({"data": store.profiles[&id]}))
}

async fn update_profile(State(s): AppState, Path(id): Path<String>, body: Bytes) -> Response {
    let data = match parse_resource(&body, "profile", false) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let mut store = s.store.lock().unwrap();
    if !store.profiles.contains_key(&id) {
        return not_found("profile", &id);
    }
    store.update_profile(&id, &data["attributes"]);
    ok(StatusCode::OK, json!({"data": store.profiles[&id]}))
}

/// Creates or updates by identifier (the id wins when given); 201 when created, 200 when updated.
pub(crate) fn upsert_profile(store: &mut crate::Store, data: &Value) -> Result<(String, bool), String> {
    let attributes = &data["attributes"];
    let by_id = data["id"].as_str().filter(|id| store.profiles.contains_key(*id)).map(str::to_string);
    match by_id.or_else(|| store.find_profile(attributes)) {
        Some(id) => {
            store.update_profile(&id, attributes);
            Ok((id, false))
        }
        None if !has_identifier(attributes) => Err("One of email, phone_number, external_id or anonymous_id is required.".into()),
        None => Ok((store.insert_profile(attributes), true)),
    }
}

async fn import_profile(State(s): AppState, body: Bytes) -> Response {
    let data = match parse_resource(&body, "profile", true) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let mut store = s.store.lock().unwrap();
    match upsert_profile(&mut store, &data) {
        Ok((id, created)) => ok(if created { StatusCode::CREATED } else { StatusCode::OK }, json!({"data": store.profiles[&id]})),
        Err(detail) => error(StatusCode::BAD_REQUEST, "invalid", detail, Some(json!({"pointer": "/data/attributes"}))),
    }
}

async fn merge_profiles(State(s): AppState, body: Bytes) -> Response {
    let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let data = &doc["data"];
    if data["type"] != "profile-merge" {
        return error(StatusCode::BAD_REQUEST, "invalid", "'type' must be profile-merge.", Some(json!({"pointer": "/data/type"})));
    }
    let mut store = s.store.lock().unwrap();
    let destination = data["id"].as_str().unwrap_or_default().to_string();
    if !store.profiles.contains_key(&destination) {
        return not_found("profile", &destination);
    }
    let sources: Vec<String> = data["relationships"]["profiles"]["data"].as_array().into_iter().flatten().filter_map(|p| p["id"].as_str().map(str::to_string)).collect();
    for source in &sources {
        if let Some(profile) = store.profiles.get(source).cloned() {
            for event in store.events.values_mut().filter(|e| e["relationships"]["profile"]["data"]["id"] == source.as_str()) {
                event["relationships"]["profile"]["data"]["id"] = json!(destination);
            }
            let properties = profile["attributes"]["properties"].clone();
            store.update_profile(&destination, &json!({"properties": properties}));
            store.delete_profile(source);
        }
    }
    ok(StatusCode::OK, json!({"data": {"type": "profile", "id": destination}}))
}

async fn get_lists(State(s): AppState, Query(q): Params) -> Response {
    let store = s.store.lock().unwrap();
    let items = store.lists.values().collect();
    page("get_lists", "/api/lists/", items, &q).map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}

async fn get_list(State(s): AppState, Path(id): Path<String>) -> Response {
    let list = s.store.lock().unwrap().lists.get(&id).cloned();
    list.map_or_else(|| not_found("list", &id), |l| ok(StatusCode::OK, json!({"data": l})))
}

async fn create_list(State(s): AppState, body: Bytes) -> Response {
    let data = match parse_resource(&body, "list", true) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let mut store = s.store.lock().unwrap();
    let id = store.insert_list(data["attributes"]["name"].as_str().unwrap_or_default());
    ok(StatusCode::CREATED, json!({"data": store.lists[&id]}))
}

async fn update_list(State(s): AppState, Path(id): Path<String>, body: Bytes) -> Response {
    let data = match parse_resource(&body, "list", false) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let mut store = s.store.lock().unwrap();
    let Some(list) = store.lists.get_mut(&id) else { return not_found("list", &id) };
    if let Some(name) = data["attributes"]["name"].as_str() {
        list["attributes"]["name"] = json!(name);
    }
    list["attributes"]["updated"] = json!(now_iso());
    ok(StatusCode::OK, json!({"data": list.clone()}))
}

async fn delete_list(State(s): AppState, Path(id): Path<String>) -> Response {
    let mut store = s.store.lock().unwrap();
    if store.lists.remove(&id).is_none() {
        return not_found("list", &id);
    }
    store.list_members.remove(&id);
    ok(StatusCode::NO_CONTENT, Value::Null)
}

async fn get_list_profiles(State(s): AppState, Path(id): Path<String>, Query(q): Params) -> Response {
    let store = s.store.lock().unwrap();
    if !store.lists.contains_key(&id) {
        return not_found("list", &id);
    }
    let members: Vec<Value> = store
        .list_members
        .get(&id)
        .map(|m| {
            m.iter()
                .filter_map(|p| {
                    let mut profile = store.profiles.get(p).cloned()?;
                    profile["attributes"]["joined_group_at"] = json!(store.joined_at.get(&(id.clone(), p.clone())));
                    Some(profile)
                })
                .collect()
        })
        .unwrap_or_default();
    page("get_profiles_for_list", &format!("/api/lists/{id}/profiles/"), members.iter().collect(), &q).map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}

/// The profile ids of a relationship body, checked against the table's limit and the store.
fn relationship_ids(store: &crate::Store, body: &Bytes, op: &str) -> Result<Vec<String>, Response> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| error(StatusCode::BAD_REQUEST, "invalid", e.to_string(), Some(json!({"pointer": "/"}))))?;
    let refs = doc["data"].as_array().ok_or_else(|| error(StatusCode::BAD_REQUEST, "invalid", "'data' must be a list of profile references.", Some(json!({"pointer": "/data"}))))?;
    let limit = klaviyo_bridge::operations::bulk_limit(op).max_items;
    if refs.len() > limit {
        return Err(error(StatusCode::BAD_REQUEST, "invalid", format!("At most {limit} profiles per request."), Some(json!({"pointer": "/data"}))));
    }
    refs.iter()
        .enumerate()
        .map(|(i, r)| {
            let id = r["id"].as_str().unwrap_or_default();
            if r["type"] == "profile" && store.profiles.contains_key(id) {
                Ok(id.to_string())
            } else {
                Err(error(StatusCode::BAD_REQUEST, "invalid", format!("profile {id:?} does not exist."), Some(json!({"pointer": format!("/data/{i}/id")}))))
            }
        })
        .collect()
}

async fn add_to_list(State(s): AppState, Path(id): Path<String>, body: Bytes) -> Response {
    let mut store = s.store.lock().unwrap();
    if !store.lists.contains_key(&id) {
        return not_found("list", &id);
    }
    let ids = match relationship_ids(&store, &body, "add_profiles_to_list") {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    store.add_to_list(&id, ids);
    ok(StatusCode::NO_CONTENT, Value::Null)
}

async fn remove_from_list(State(s): AppState, Path(id): Path<String>, body: Bytes) -> Response {
    let mut store = s.store.lock().unwrap();
    if !store.lists.contains_key(&id) {
        return not_found("list", &id);
    }
    let ids = match relationship_ids(&store, &body, "remove_profiles_from_list") {
        Ok(ids) => ids,
        Err(e) => return e,
    };
    if let Some(members) = store.list_members.get_mut(&id) {
        members.retain(|m| !ids.contains(m));
    }
    ok(StatusCode::NO_CONTENT, Value::Null)
}

async fn delete_profile_data(State(s): AppState, body: Bytes) -> Response {
    let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if doc["data"]["type"] != "data-privacy-deletion-job" {
        return error(StatusCode::BAD_REQUEST, "invalid", "'type' must be data-privacy-deletion-job.", Some(json!({"pointer": "/data/type"})));
    }
    let profile = &doc["data"]["attributes"]["profile"]["data"];
    let mut store = s.store.lock().unwrap();
    let id = profile["id"].as_str().map(str::to_string).or_else(|| store.find_profile(&profile["attributes"]));
    if let Some(id) = id {
        store.delete_profile(&id);
    }
    ok(StatusCode::ACCEPTED, Value::Null)
}

async fn state(State(s): AppState) -> Response {
    json_api(StatusCode::OK, s.state())
}

/// The state once every bulk job is complete and every webhook delivery finished.
async fn settled(State(s): AppState) -> Response {
    s.settled().await;
    json_api(StatusCode::OK, s.state())
}

async fn requests(State(s): AppState) -> Response {
    json_api(StatusCode::OK, json!(*s.log.lock().unwrap()))
}

async fn reset(State(s): AppState) -> Response {
    *s.store.lock().unwrap() = crate::Store::default();
    s.log.lock().unwrap().clear();
    json_api(StatusCode::NO_CONTENT, Value::Null)
}
