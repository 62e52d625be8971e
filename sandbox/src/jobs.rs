//! Bulk jobs: event bulk create, profile bulk import (with per-row import errors),
//! subscription and suppression jobs, and catalog bulk create/update/delete. A job is created
//! `queued`, becomes `processing` and then `complete` on a background task, with counts.
//! Request limits come from the bulk-limits table.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use klaviyo_bridge::operations::bulk_limit;
use serde_json::{Value, json};

use crate::catalog::{self, CATEGORY, ITEM, Kind, VARIANT};
use crate::handlers::{AppState, Params, not_found, ok, page, record, upsert_profile};
use crate::store::Store;
use crate::table::Rows;
use crate::{Shared, error};

/// What processing a job produced.
#[derive(Default)]
struct Outcome {
    completed: usize,
    failed: usize,
    errors: Vec<Value>,
    import_errors: Vec<Value>,
}

type Work = Box<dyn FnOnce(&Shared, &mut Store) -> Outcome + Send>;

/// Runs `work` on a background task, moving the job through its statuses.
fn spawn(shared: &Arc<Shared>, job_id: String, work: Work) {
    let shared = shared.clone();
    tokio::spawn(async move {
        let step = shared.options.job_step;
        tokio::time::sleep(step).await;
        shared
            .store
            .lock()
            .unwrap()
            .set_job_status(&job_id, "processing");
        tokio::time::sleep(step).await;
        let mut store = shared.store.lock().unwrap();
        let outcome = work(&shared, &mut store);
        if let Some(job) = store.jobs.get_mut(&job_id) {
            let attributes = &mut job.resource["attributes"];
            attributes["completed_count"] = json!(outcome.completed);
            attributes["failed_count"] = json!(outcome.failed);
            attributes["errors"] = json!(outcome.errors);
            job.import_errors = outcome.import_errors;
        }
        store.set_job_status(&job_id, "complete");
        drop(store);
        shared.settled.notify_waiters();
    });
}

fn parse(body: &Bytes, job_type: &str, op: &str, key: &str) -> Result<Value, Response> {
    let limit = bulk_limit(op);
    if let Some(max) = limit.max_payload_bytes.filter(|max| body.len() > *max) {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid",
            format!(
                "The payload is {} bytes; at most {max} are allowed.",
                body.len()
            ),
            None,
        ));
    }
    let doc: Value = serde_json::from_slice(body).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("The request body is not valid JSON: {e}"),
            Some(json!({"pointer": "/"})),
        )
    })?;
    match doc["data"]["type"].as_str() {
        Some(t) if t == job_type => {}
        _ => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("'type' must be {job_type}."),
                Some(json!({"pointer": "/data/type"})),
            ));
        }
    }
    let items = doc["data"]["attributes"][key]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if items.is_empty() || items.len() > limit.max_items {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("A job takes 1 to {} items.", limit.max_items),
            Some(json!({"pointer": format!("/data/attributes/{key}/data")})),
        ));
    }
    Ok(doc)
}

fn created(store: &Store, id: &str) -> Response {
    ok(
        StatusCode::ACCEPTED,
        json!({"data": store.jobs[id].resource}),
    )
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/api/event-bulk-create-jobs", post(bulk_create_events))
        .route("/api/profile-bulk-import-jobs", post(bulk_import_profiles))
        .route(
            "/api/profile-bulk-import-jobs/{id}",
            get(|s: AppState, p: Path<String>| get_job(s, p, "profile-bulk-import-job")),
        )
        .route(
            "/api/profile-bulk-import-jobs/{id}/import-errors",
            get(import_errors),
        )
        .route(
            "/api/profile-subscription-bulk-create-jobs",
            post(|s: AppState, b: Bytes| subscription(s, b, true)),
        )
        .route(
            "/api/profile-subscription-bulk-delete-jobs",
            post(|s: AppState, b: Bytes| subscription(s, b, false)),
        )
        .route(
            "/api/profile-suppression-bulk-create-jobs",
            post(|s: AppState, b: Bytes| suppression(s, b, true)),
        )
        .route(
            "/api/profile-suppression-bulk-delete-jobs",
            post(|s: AppState, b: Bytes| suppression(s, b, false)),
        )
        .route(
            "/api/profile-suppression-bulk-create-jobs/{id}",
            get(|s: AppState, p: Path<String>| {
                get_job(s, p, "profile-suppression-bulk-create-job")
            }),
        )
        .route(
            "/api/profile-suppression-bulk-delete-jobs/{id}",
            get(|s: AppState, p: Path<String>| {
                get_job(s, p, "profile-suppression-bulk-delete-job")
            }),
        )
}

pub(crate) fn catalog_routes() -> Router<Arc<Shared>> {
    let mut router = Router::new();
    for kind in [&ITEM, &VARIANT, &CATEGORY] {
        let noun = kind.json_type;
        for action in ["create", "update", "delete"] {
            let job_type: &'static str =
                Box::leak(format!("{noun}-bulk-{action}-job").into_boxed_str());
            router = router
                .route(
                    &format!("/api/{job_type}s"),
                    post(move |s: AppState, b: Bytes| catalog_bulk(s, b, kind, action, job_type)),
                )
                .route(
                    &format!("/api/{job_type}s/{{id}}"),
                    get(move |s: AppState, p: Path<String>| get_job(s, p, job_type)),
                );
        }
    }
    router
}

async fn get_job(State(s): AppState, Path(id): Path<String>, job_type: &'static str) -> Response {
    let store = s.store.lock().unwrap();
    match store
        .jobs
        .get(&id)
        .filter(|j| j.resource["type"] == job_type)
    {
        Some(job) => ok(StatusCode::OK, json!({"data": job.resource})),
        None => not_found(job_type, &id),
    }
}

async fn bulk_create_events(State(s): AppState, body: Bytes) -> Response {
    let doc = match parse(
        &body,
        "event-bulk-create-job",
        "bulk_create_events",
        "events-bulk-create",
    ) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let entries = doc["data"]["attributes"]["events-bulk-create"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    // A repeated unique_id inside one job fails the whole job, as Klaviyo documents.
    let mut seen = std::collections::HashSet::new();
    let mut events = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        for event in entry["attributes"]["events"]["data"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(id) = event["attributes"]["unique_id"]
                .as_str()
                .filter(|id| !seen.insert(id.to_string()))
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("Duplicate unique_id {id:?} in the job; no events were processed."),
                    Some(
                        json!({"pointer": format!("/data/attributes/events-bulk-create/data/{i}")}),
                    ),
                );
            }
            let mut attributes = event["attributes"].clone();
            attributes["profile"] = entry["attributes"]["profile"].clone();
            if attributes["metric"]["data"]["attributes"]["name"]
                .as_str()
                .is_none_or(str::is_empty)
                || !attributes["properties"].is_object()
            {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    "Each event needs a metric name and a properties object.",
                    Some(
                        json!({"pointer": format!("/data/attributes/events-bulk-create/data/{i}")}),
                    ),
                );
            }
            events.push(attributes);
        }
    }
    let mut store = s.store.lock().unwrap();
    let id = store.insert_job("event-bulk-create-job", events.len(), None);
    drop(store);
    spawn(
        &s,
        id,
        Box::new(move |shared, store| {
            let mut outcome = Outcome::default();
            for attributes in &events {
                match record(shared, store, attributes) {
                    Ok(()) => outcome.completed += 1,
                    Err((detail, _)) => {
                        outcome.failed += 1;
                        outcome.errors.push(json!({"detail": detail}));
                    }
                }
            }
            outcome
        }),
    );
    ok(StatusCode::ACCEPTED, Value::Null)
}

async fn bulk_import_profiles(State(s): AppState, body: Bytes) -> Response {
    let doc = match parse(
        &body,
        "profile-bulk-import-job",
        "bulk_import_profiles",
        "profiles",
    ) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let profiles = doc["data"]["attributes"]["profiles"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let list_ids: Vec<String> = doc["data"]["relationships"]["lists"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["id"].as_str().map(str::to_string))
        .collect();
    let mut store = s.store.lock().unwrap();
    if let Some(missing) = list_ids.iter().find(|l| !store.lists.contains_key(*l)) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("List {missing} does not exist."),
            Some(json!({"pointer": "/data/relationships/lists"})),
        );
    }
    let relationships = (!list_ids.is_empty()).then(|| json!({"lists": {"data": list_ids.iter().map(|l| json!({"type": "list", "id": l})).collect::<Vec<_>>()}}));
    let id = store.insert_job("profile-bulk-import-job", profiles.len(), relationships);
    let response = created(&store, &id);
    drop(store);
    let max_item = bulk_limit("bulk_import_profiles")
        .max_item_bytes
        .unwrap_or(usize::MAX);
    spawn(
        &s,
        id,
        Box::new(move |_, store| {
            let mut outcome = Outcome::default();
            for (i, profile) in profiles.iter().enumerate() {
                let attributes = &profile["attributes"];
                let email_ok = attributes["email"].as_str().is_none_or(|e| {
                    e.split_once('@')
                        .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
                });
                let size = profile.to_string().len();
                let problem = if profile["type"] != "profile" {
                    Some("Each item must be a profile.".to_string())
                } else if !email_ok {
                    Some(format!("Invalid email address: {}.", attributes["email"]))
                } else if size > max_item {
                    Some(format!(
                        "The profile is {size} bytes; at most {max_item} are allowed."
                    ))
                } else {
                    None
                };
                let result = match problem {
                    Some(p) => Err(p),
                    None => upsert_profile(store, profile),
                };
                match result {
                    Ok((pid, _)) => {
                        outcome.completed += 1;
                        for list in &list_ids {
                            store.add_to_list(list, vec![pid.clone()]);
                        }
                    }
                    Err(detail) => {
                        outcome.failed += 1;
                        outcome.import_errors.push(json!({"type": "import-error", "id": format!("IE{i:06}"), "attributes": {
                            "code": "invalid", "title": "Invalid profile.", "detail": detail,
                            "source": {"pointer": format!("/data/attributes/profiles/data/{i}")}, "original_payload": attributes}}));
                    }
                }
            }
            outcome
        }),
    );
    response
}

async fn import_errors(State(s): AppState, Path(id): Path<String>, q: Params) -> Response {
    let store = s.store.lock().unwrap();
    match store
        .jobs
        .get(&id)
        .filter(|j| j.resource["type"] == "profile-bulk-import-job")
    {
        Some(job) => page(
            "get_errors_for_bulk_import_profiles_job",
            &Rows(job.import_errors.iter().collect()),
            &q,
        )
        .map_or_else(|e| e, |body| ok(StatusCode::OK, body)),
        None => not_found("profile-bulk-import-job", &id),
    }
}

async fn subscription(State(s): AppState, body: Bytes, subscribe: bool) -> Response {
    let (op, job_type) = if subscribe {
        (
            "bulk_subscribe_profiles",
            "profile-subscription-bulk-create-job",
        )
    } else {
        (
            "bulk_unsubscribe_profiles",
            "profile-subscription-bulk-delete-job",
        )
    };
    let doc = match parse(&body, job_type, op, "profiles") {
        Ok(d) => d,
        Err(e) => return e,
    };
    let profiles = doc["data"]["attributes"]["profiles"]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let list = doc["data"]["relationships"]["list"]["data"]["id"]
        .as_str()
        .map(str::to_string);
    let mut store = s.store.lock().unwrap();
    if let Some(list) = list.as_ref().filter(|l| !store.lists.contains_key(*l)) {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("List {list} does not exist."),
            Some(json!({"pointer": "/data/relationships/list"})),
        );
    }
    let id = store.insert_job(job_type, profiles.len(), None);
    drop(store);
    spawn(
        &s,
        id,
        Box::new(move |_, store| {
            let mut outcome = Outcome::default();
            for profile in &profiles {
                let mut attributes = profile["attributes"].clone();
                // The request's consent shape is not the stored one: it is applied below.
                let asked = attributes
                    .as_object_mut()
                    .and_then(|a| a.remove("subscriptions"));
                match upsert_profile(store, &json!({"attributes": attributes})) {
                    Ok((pid, _)) => {
                        outcome.completed += 1;
                        if subscribe && asked.as_ref().is_none_or(|s| !s["email"].is_null()) {
                            store.set_email_marketing(&pid, Some("SUBSCRIBED"), None);
                        } else if !subscribe {
                            store.set_email_marketing(&pid, Some("UNSUBSCRIBED"), None);
                        }
                        if let (Some(list), true) = (&list, subscribe) {
                            store.add_to_list(list, vec![pid]);
                        }
                    }
                    Err(detail) => {
                        outcome.failed += 1;
                        outcome.errors.push(json!({"detail": detail}));
                    }
                }
            }
            outcome
        }),
    );
    ok(StatusCode::ACCEPTED, Value::Null)
}

async fn suppression(State(s): AppState, body: Bytes, suppress: bool) -> Response {
    let (op, job_type) = if suppress {
        (
            "bulk_suppress_profiles",
            "profile-suppression-bulk-create-job",
        )
    } else {
        (
            "bulk_unsuppress_profiles",
            "profile-suppression-bulk-delete-job",
        )
    };
    let doc = match parse(&body, job_type, op, "profiles") {
        Ok(d) => d,
        Err(e) => return e,
    };
    let emails: Vec<String> = doc["data"]["attributes"]["profiles"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["attributes"]["email"].as_str().map(str::to_string))
        .collect();
    let mut store = s.store.lock().unwrap();
    let id = store.insert_job(job_type, emails.len(), None);
    let response = created(&store, &id);
    drop(store);
    spawn(
        &s,
        id,
        Box::new(move |_, store| {
            let mut outcome = Outcome::default();
            for email in &emails {
                let pid = match store.find_profile(&json!({"email": email})) {
                    Some(pid) => pid,
                    None => store.insert_profile(&json!({"email": email})),
                };
                store.set_email_marketing(&pid, None, Some(suppress));
                outcome.completed += 1;
            }
            outcome
        }),
    );
    response
}

async fn catalog_bulk(
    State(s): AppState,
    body: Bytes,
    kind: &'static Kind,
    action: &'static str,
    job_type: &'static str,
) -> Response {
    let plural = match kind.json_type {
        "catalog-item" => "items",
        "catalog-variant" => "variants",
        _ => "categories",
    };
    let op: &'static str = Box::leak(format!("bulk_{action}_catalog_{plural}").into_boxed_str());
    let doc = match parse(&body, job_type, op, kind.bulk_key) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let resources = doc["data"]["attributes"][kind.bulk_key]["data"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut store = s.store.lock().unwrap();
    let in_flight = store
        .jobs
        .values()
        .filter(|j| {
            j.resource["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("catalog-"))
                && j.resource["attributes"]["status"] != "complete"
        })
        .count();
    if let Some(max) = bulk_limit(op)
        .max_jobs_in_flight
        .filter(|max| in_flight >= *max)
    {
        return error(
            StatusCode::TOO_MANY_REQUESTS,
            "throttled",
            format!("At most {max} catalog jobs may be in progress."),
            None,
        );
    }
    let id = store.insert_job(job_type, resources.len(), None);
    let response = created(&store, &id);
    drop(store);
    let key = kind.bulk_key;
    spawn(
        &s,
        id,
        Box::new(move |_, store| {
            let mut outcome = Outcome::default();
            for (i, resource) in resources.iter().enumerate() {
                let rid = resource["id"].as_str().unwrap_or_default();
                let result = if resource["type"] != kind.json_type {
                    Err(format!("Each item must be a {}.", kind.json_type))
                } else {
                    match action {
                        "create" => catalog::insert(store, kind, resource)
                            .map(|_| ())
                            .map_err(|(_, detail, _)| detail),
                        "update" => catalog::patch(store, kind, rid, resource)
                            .then_some(())
                            .ok_or_else(|| format!("{rid} does not exist.")),
                        _ => catalog::remove(store, kind, rid)
                            .then_some(())
                            .ok_or_else(|| format!("{rid} does not exist.")),
                    }
                };
                match result {
                    Ok(()) => outcome.completed += 1,
                    Err(detail) => {
                        outcome.failed += 1;
                        outcome.errors.push(json!({"id": format!("E{i:05}"), "code": "invalid", "title": "Invalid item.", "detail": detail, "source": {"pointer": format!("/data/attributes/{key}/data/{i}")}}));
                    }
                }
            }
            outcome
        }),
    );
    response
}
