//! Routes and the handlers of the core resources (accounts, events, metrics, profiles, lists,
//! data privacy, inspection). Catalog, jobs and webhooks have files of their own. Admission
//! (revision, auth, faults, rate limits) has already run when a handler is called.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};

use crate::emulation::with_included;
pub(crate) use crate::pagination::{page, sparse};
use crate::table::Rows;
use serde_json::{Value, json};
use tower::Layer;
use tower_http::normalize_path::{NormalizePath, NormalizePathLayer};

use crate::store::now_iso;
use crate::{
    ACCOUNT_ID, Shared, catalog, error, error_with_meta, jobs, json_api, validate, webhooks,
};

pub(crate) type AppState = State<Arc<Shared>>;
pub(crate) type Params = crate::pagination::ListQuery;

pub(crate) fn router(shared: Arc<Shared>) -> NormalizePath<Router> {
    let router = Router::new()
        .route("/api/accounts", get(get_accounts))
        .route("/api/accounts/{id}", get(get_account))
        .route("/api/events", get(get_events).post(create_event))
        .route("/api/events/{id}", get(get_event))
        .route("/client/events", post(create_client_event))
        .route("/api/metrics", get(get_metrics))
        .route("/api/metrics/{id}", get(get_metric))
        .route("/api/profiles", get(get_profiles).post(create_profile))
        .route("/api/profiles/{id}", get(get_profile).patch(update_profile))
        .route("/api/profile-import", post(import_profile))
        .route("/api/profile-merge", post(merge_profiles))
        .route("/api/lists", get(get_lists).post(create_list))
        .route(
            "/api/lists/{id}",
            get(get_list).patch(update_list).delete(delete_list),
        )
        .route("/api/lists/{id}/profiles", get(get_list_profiles))
        .route(
            "/api/lists/{id}/relationships/profiles",
            get(get_list_profile_ids)
                .post(add_to_list)
                .delete(remove_from_list),
        )
        .route("/api/data-privacy-deletion-jobs", post(delete_profile_data))
        .route("/__sandbox/state", get(state))
        .route("/__sandbox/settled", get(settled))
        .route("/__sandbox/requests", get(requests))
        .route("/__sandbox/reset", post(reset))
        .merge(catalog::routes())
        .merge(jobs::routes())
        .merge(webhooks::routes())
        .merge(crate::oauth::routes())
        .merge(crate::reporting::routes())
        .fallback(crate::emulation::handle)
        .method_not_allowed_fallback(crate::emulation::handle)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            crate::admission::admit,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(crate::max_body_bytes()))
        .with_state(shared);
    NormalizePathLayer::trim_trailing_slash().layer(router)
}

pub(crate) fn ok(status: StatusCode, body: Value) -> Response {
    json_api(status, body)
}

/// Parses a JSON:API body, checks `data.type` and the attributes; returns `data`.
pub(crate) fn parse_resource(
    body: &Bytes,
    expected_type: &str,
    creating: bool,
) -> Result<Value, Response> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("The request body is not valid JSON: {e}"),
            Some(json!({"pointer": "/"})),
        )
    })?;
    let data = doc.get("data").filter(|d| d.is_object()).ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "The request body must have a 'data' object.",
            Some(json!({"pointer": "/data"})),
        )
    })?;
    match data.get("type").and_then(Value::as_str) {
        Some(t) if t == expected_type => {}
        Some(t) => {
            return Err(error(
                StatusCode::CONFLICT,
                "invalid",
                format!(
                    "The resource type {t:?} does not match the endpoint's type {expected_type:?}."
                ),
                Some(json!({"pointer": "/data/type"})),
            ));
        }
        None => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid",
                "'type' is a required field.",
                Some(json!({"pointer": "/data/type"})),
            ));
        }
    }
    validate::attributes(
        expected_type,
        data.get("attributes").unwrap_or(&json!({})),
        "/data/attributes",
        creating,
    )?;
    Ok(data.clone())
}

pub(crate) fn not_found(what: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("A {what} with id {id} does not exist."),
        Some(json!({"parameter": "id"})),
    )
}

/// `links` of a response that is not paged: just `self`.
pub(crate) fn links(path: &str) -> Value {
    json!({"self": path})
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
    ok(
        StatusCode::OK,
        json!({"data": [account()], "links": links("/api/accounts/")}),
    )
}

async fn get_account(Path(id): Path<String>) -> Response {
    if id == ACCOUNT_ID {
        ok(StatusCode::OK, json!({"data": account()}))
    } else {
        not_found("account", &id)
    }
}

/// Resolves a `profile` relationship object to a profile id, creating the profile.
pub(crate) fn resolve_profile(store: &mut crate::Store, profile: &Value) -> Result<String, String> {
    let data = &profile["data"];
    if let Some(id) = data["id"].as_str() {
        return if store.profiles.contains_key(id) {
            Ok(id.to_string())
        } else {
            Err(format!("profile {id} does not exist"))
        };
    }
    let attributes = &data["attributes"];
    if ["email", "phone_number", "external_id", "anonymous_id"]
        .iter()
        .all(|k| attributes[*k].as_str().is_none_or(str::is_empty))
    {
        return Err("a profile identifier (email, phone_number, external_id) is required".into());
    }
    Ok(match store.find_profile(attributes) {
        Some(id) => id,
        None => store.insert_profile(attributes),
    })
}

/// Records one event from create-event attributes; queues webhook deliveries.
pub(crate) fn record(
    shared: &Shared,
    store: &mut crate::Store,
    attributes: &Value,
) -> Result<(), (String, &'static str)> {
    let metric = attributes["metric"]["data"]["attributes"]["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or((
            "metric name is required".to_string(),
            "/data/attributes/metric/data/attributes/name",
        ))?;
    if !attributes["properties"].is_object() {
        return Err((
            "properties must be an object".into(),
            "/data/attributes/properties",
        ));
    }
    let profile = resolve_profile(store, &attributes["profile"])
        .map_err(|e| (e, "/data/attributes/profile"))?;
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
        Err((detail, pointer)) => error(
            StatusCode::BAD_REQUEST,
            "invalid",
            detail,
            Some(json!({"pointer": pointer})),
        ),
    }
}

/// `/client/events`: the same event, authenticated by the public key (`company_id`).
async fn create_client_event(State(s): AppState, body: Bytes) -> Response {
    create_event(State(s), body).await
}

async fn get_events(State(s): AppState, q: Params) -> Response {
    let store = s.store.lock().unwrap();
    match page("get_events", &store.events, &q) {
        Ok(body) => ok(StatusCode::OK, with_included(&store, body, &q)),
        Err(e) => e,
    }
}

async fn get_event(State(s): AppState, Path(id): Path<String>, q: Params) -> Response {
    let store = s.store.lock().unwrap();
    match store.events.get(&id) {
        Some(event) => ok(
            StatusCode::OK,
            with_included(&store, json!({"data": event}), &q),
        ),
        None => not_found("event", &id),
    }
}

async fn get_metrics(State(s): AppState, q: Params) -> Response {
    let store = s.store.lock().unwrap();
    page("get_metrics", &Rows(store.metrics.values().collect()), &q)
        .map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}

async fn get_metric(State(s): AppState, Path(id): Path<String>) -> Response {
    let metric = s.store.lock().unwrap().metrics.get(&id).cloned();
    metric.map_or_else(
        || not_found("metric", &id),
        |m| ok(StatusCode::OK, json!({"data": m})),
    )
}

async fn get_profiles(State(s): AppState, q: Params) -> Response {
    let store = s.store.lock().unwrap();
    page("get_profiles", &store.profiles, &q).map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}

async fn get_profile(State(s): AppState, Path(id): Path<String>, q: Params) -> Response {
    let profile = s.store.lock().unwrap().profiles.get(&id);
    profile.map_or_else(
        || not_found("profile", &id),
        |p| ok(StatusCode::OK, json!({"data": sparse(p, &q)})),
    )
}

fn has_identifier(attributes: &Value) -> bool {
    ["email", "phone_number", "external_id", "anonymous_id"]
        .iter()
        .any(|k| attributes[*k].as_str().is_some_and(|v| !v.is_empty()))
}

async fn create_profile(State(s): AppState, body: Bytes) -> Response {
    let data = match parse_resource(&body, "profile", true) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let attributes = &data["attributes"];
    if !has_identifier(attributes) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "One of email, phone_number, external_id or anonymous_id is required.",
            Some(json!({"pointer": "/data/attributes"})),
        );
    }
    let mut store = s.store.lock().unwrap();
    if let Some(existing) = store.find_profile(attributes) {
        // Klaviyo names the existing profile so clients can update it instead.
        return error_with_meta(
            StatusCode::CONFLICT,
            "duplicate_profile",
            "A profile already exists with one of these identifiers.",
            Some(json!({"pointer": "/data/attributes"})),
            Some(json!({"duplicate_profile_id": existing})),
        );
    }
    let id = store.insert_profile(attributes);
    ok(
        StatusCode::CREATED,
        json!({"data": store.profiles.get(&id)}),
    )
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
    ok(StatusCode::OK, json!({"data": store.profiles.get(&id)}))
}

/// Creates or updates by identifier (the id wins when given); 201 when created, 200 when updated.
pub(crate) fn upsert_profile(
    store: &mut crate::Store,
    data: &Value,
) -> Result<(String, bool), String> {
    let attributes = &data["attributes"];
    let by_id = data["id"]
        .as_str()
        .filter(|id| store.profiles.contains_key(id))
        .map(str::to_string);
    match by_id.or_else(|| store.find_profile(attributes)) {
        Some(id) => {
            store.update_profile(&id, attributes);
            Ok((id, false))
        }
        None if !has_identifier(attributes) => {
            Err("One of email, phone_number, external_id or anonymous_id is required.".into())
        }
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
        Ok((id, created)) => ok(
            if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            json!({"data": store.profiles.get(&id)}),
        ),
        Err(detail) => error(
            StatusCode::BAD_REQUEST,
            "invalid",
            detail,
            Some(json!({"pointer": "/data/attributes"})),
        ),
    }
}

async fn merge_profiles(State(s): AppState, body: Bytes) -> Response {
    let doc: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let data = &doc["data"];
    if data["type"] != "profile-merge" {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "'type' must be profile-merge.",
            Some(json!({"pointer": "/data/type"})),
        );
    }
    let mut store = s.store.lock().unwrap();
    let destination = data["id"].as_str().unwrap_or_default().to_string();
    if !store.profiles.contains_key(&destination) {
        return not_found("profile", &destination);
    }
    let sources: Vec<String> = data["relationships"]["profiles"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect();
    for source in &sources {
        if let Some(profile) = store.profiles.get(source) {
            for event in store.events.ids_in_group("profile_id", source) {
                store.events.update(&event, |e| {
                    e["relationships"]["profile"]["data"]["id"] = json!(destination)
                });
            }
            let properties = profile["attributes"]["properties"].clone();
            store.update_profile(&destination, &json!({"properties": properties}));
            store.delete_profile(source);
        }
    }
    ok(
        StatusCode::CREATED,
        json!({"data": {"type": "profile", "id": destination, "links": {"self": format!("/api/profiles/{destination}/")}}}),
    )
}

async fn get_lists(State(s): AppState, q: Params) -> Response {
    let store = s.store.lock().unwrap();
    page("get_lists", &Rows(store.lists.values().collect()), &q)
        .map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}

async fn get_list(State(s): AppState, Path(id): Path<String>, q: Params) -> Response {
    let store = s.store.lock().unwrap();
    let Some(mut list) = store.lists.get(&id).cloned() else {
        return not_found("list", &id);
    };
    // Klaviyo counts members only when asked (`additional-fields[list]=profile_count`).
    if q.get("additional-fields[list]")
        .is_some_and(|f| f.split(',').any(|f| f.trim() == "profile_count"))
    {
        list["attributes"]["profile_count"] =
            json!(store.list_members.get(&id).map_or(0, Vec::len));
    }
    ok(StatusCode::OK, json!({"data": sparse(list, &q)}))
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
    let Some(list) = store.lists.get_mut(&id) else {
        return not_found("list", &id);
    };
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

/// A list's members that are still profiles, in the order they joined, each made into a
/// row by `row(store, profile_id, profile)`; `None` when there is no such list.
fn list_member_rows(
    store: &crate::store::Store,
    id: &str,
    row: impl Fn(&String, Value) -> Value,
) -> Option<Vec<Value>> {
    if !store.lists.contains_key(id) {
        return None;
    }
    Some(
        store
            .list_members
            .get(id)
            .map(|m| {
                m.iter()
                    .filter_map(|p| Some(row(p, store.profiles.get(p)?)))
                    .collect()
            })
            .unwrap_or_default(),
    )
}

async fn get_list_profiles(State(s): AppState, Path(id): Path<String>, q: Params) -> Response {
    let store = s.store.lock().unwrap();
    let Some(members) = list_member_rows(&store, &id, |p, mut profile| {
        profile["attributes"]["joined_group_at"] =
            json!(store.joined_at.get(&(id.clone(), p.clone())));
        profile
    }) else {
        return not_found("list", &id);
    };
    page("get_profiles_for_list", &Rows(members.iter().collect()), &q)
        .map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}

/// A list's members as relationship identifiers, `{type, id}`, in the order they joined.
async fn get_list_profile_ids(State(s): AppState, Path(id): Path<String>, q: Params) -> Response {
    let store = s.store.lock().unwrap();
    let Some(members) = list_member_rows(&store, &id, |p, _| json!({"type": "profile", "id": p}))
    else {
        return not_found("list", &id);
    };
    page(
        "get_profile_ids_for_list",
        &Rows(members.iter().collect()),
        &q,
    )
    .map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}

/// The profile ids of a relationship body, checked against the table's limit and the store.
fn relationship_ids(store: &crate::Store, body: &Bytes, op: &str) -> Result<Vec<String>, Response> {
    let doc: Value = serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid",
            e.to_string(),
            Some(json!({"pointer": "/"})),
        )
    })?;
    let refs = doc["data"].as_array().ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "'data' must be a list of profile references.",
            Some(json!({"pointer": "/data"})),
        )
    })?;
    let limit = klaviyo_bridge::operations::bulk_limit(op).max_items;
    if refs.len() > limit {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("At most {limit} profiles per request."),
            Some(json!({"pointer": "/data"})),
        ));
    }
    refs.iter()
        .enumerate()
        .map(|(i, r)| {
            let id = r["id"].as_str().unwrap_or_default();
            if r["type"] == "profile" && store.profiles.contains_key(id) {
                Ok(id.to_string())
            } else {
                Err(error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("profile {id:?} does not exist."),
                    Some(json!({"pointer": format!("/data/{i}/id")})),
                ))
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
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            "'type' must be data-privacy-deletion-job.",
            Some(json!({"pointer": "/data/type"})),
        );
    }
    let profile = &doc["data"]["attributes"]["profile"]["data"];
    let mut store = s.store.lock().unwrap();
    let id = profile["id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| store.find_profile(&profile["attributes"]));
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
    s.reset();
    json_api(StatusCode::NO_CONTENT, Value::Null)
}
