//! Every operation that has no hand-written handler, emulated from the spec's shapes: what
//! a path and method mean (list, get, create, update, delete, related resources,
//! relationship reads and writes, actions) follows from the path's form, resources are kept
//! by type, request bodies are validated against the request schema, and each answer is
//! built from the response schema, so it validates against the spec.

mod behaviour;
mod images;
mod schema;
mod segments;

pub(crate) use behaviour::after_create;
pub(crate) use segments::members as segment_members;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use klaviyo_bridge::operations::{HttpMethod, OPERATIONS, Operation};
use serde_json::{Value, json};

pub use schema::{Invalid, SHAPES};

use crate::pagination::{ListQuery, page, sparse};
use crate::table::Rows;
use crate::{Shared, Store, error, json_api};

/// What an operation does, from its method and path.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    List,
    Get,
    Update,
    Delete,
    /// `GET /api/{type}/{id}/{relation}`
    Related(String),
    /// `GET /api/{type}/{id}/relationships/{relation}`
    RelatedIds(String),
    /// `POST`/`PATCH`/`DELETE /api/{type}/{id}/relationships/{relation}`
    Link(String, LinkChange),
    /// Anything else: creates, jobs, queries, reports.
    Perform,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LinkChange {
    Add,
    Replace,
    Remove,
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/')
        .split_once('/')
        .map_or("", |(_, rest)| rest)
        .split('/')
        .collect()
}

fn action(op: &Operation) -> Action {
    let segments = segments(op.path);
    let is_param = |s: &&str| s.starts_with('{');
    match (op.method, segments.as_slice()) {
        (HttpMethod::Get, [_]) => Action::List,
        (HttpMethod::Get, [_, id]) if is_param(id) => Action::Get,
        (HttpMethod::Patch | HttpMethod::Put, [_, id]) if is_param(id) => Action::Update,
        (HttpMethod::Delete, [_, id]) if is_param(id) => Action::Delete,
        (HttpMethod::Get, [_, id, relation]) if is_param(id) => {
            Action::Related(relation.to_string())
        }
        (HttpMethod::Get, [_, id, "relationships", relation]) if is_param(id) => {
            Action::RelatedIds(relation.to_string())
        }
        (HttpMethod::Post, [_, id, "relationships", relation]) if is_param(id) => {
            Action::Link(relation.to_string(), LinkChange::Add)
        }
        (HttpMethod::Patch, [_, id, "relationships", relation]) if is_param(id) => {
            Action::Link(relation.to_string(), LinkChange::Replace)
        }
        (HttpMethod::Delete, [_, id, "relationships", relation]) if is_param(id) => {
            Action::Link(relation.to_string(), LinkChange::Remove)
        }
        _ => Action::Perform,
    }
}

/// Resource type by collection path segment (`campaign-messages` → `campaign-message`),
/// and the reverse, from each collection's get-one operation.
/// The collection segment a type is read back from, and its resource schema.
struct Readable {
    segment: &'static str,
    schema: &'static Value,
}

/// Types by collection segment, and how each type is read back.
struct Collections {
    types: HashMap<&'static str, String>,
    readable: HashMap<String, Readable>,
}

static COLLECTIONS: LazyLock<Collections> = LazyLock::new(|| {
    let mut by_segment = HashMap::new();
    let mut by_type = HashMap::new();
    for op in OPERATIONS.iter().filter(|op| action(op) == Action::Get) {
        let Some(response) = SHAPES.operation(op.id).and_then(|s| s.response.as_deref()) else {
            continue;
        };
        let Some((schema, _)) = SHAPES.data(SHAPES.named(response)) else {
            continue;
        };
        let Some(kind) = SHAPES.resource_type(schema) else {
            continue;
        };
        let segment = segments(op.path)[0];
        by_type
            .entry(kind.clone())
            .or_insert(Readable { segment, schema });
        by_segment.insert(segment, kind);
    }
    Collections {
        types: by_segment,
        readable: by_type,
    }
});

/// The resource type a collection segment holds.
fn type_of(segment: &str) -> Option<&'static str> {
    COLLECTIONS.types.get(segment).map(String::as_str)
}

/// A resource of any type, from whichever part of the store keeps it.
pub(crate) fn lookup(store: &Store, kind: &str, id: &str) -> Option<Value> {
    match kind {
        "profile" => store.profiles.get(id),
        "event" => store.events.get(id),
        "metric" => store.metrics.get(id).cloned(),
        "list" => store.lists.get(id).cloned(),
        "webhook" => store.webhooks.get(id).map(|w| w.resource.clone()),
        "catalog-item" | "catalog-variant" | "catalog-category" => {
            store.catalog.get(kind).and_then(|m| m.get(id)).cloned()
        }
        other => store
            .resources
            .get(other)
            .and_then(|m| m.get(id))
            .cloned()
            .or_else(|| {
                store
                    .jobs
                    .get(id)
                    .filter(|job| job.resource["type"] == other)
                    .map(|job| job.resource.clone())
            }),
    }
}

fn not_found(kind: &str, id: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("A {kind} with id {id} does not exist."),
        Some(json!({"parameter": "id"})),
    )
}

fn invalid(problem: Invalid) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid",
        problem.detail,
        Some(
            json!({"pointer": if problem.pointer.is_empty() { "/".to_string() } else { problem.pointer }}),
        ),
    )
}

/// The answer of an operation: `data` put through the response schema (empty for 202/204).
fn answer(op: &Operation, document: Option<Value>) -> Response {
    let shape = SHAPES
        .operation(op.id)
        .expect("every operation has a shape");
    json_api(
        StatusCode::from_u16(shape.status).unwrap_or(StatusCode::OK),
        built(op, document),
    )
}

/// An answer's body: `document` put through the response schema (null for 202/204).
fn built(op: &Operation, document: Option<Value>) -> Value {
    match &SHAPES
        .operation(op.id)
        .expect("every operation has a shape")
        .response
    {
        Some(schema) => SHAPES.build(SHAPES.named(schema), document.as_ref()),
        None => Value::Null,
    }
}

/// Handles any request no hand-written route took.
pub(crate) async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let Some(op) = crate::admission::match_operation(request.method(), request.uri().path()) else {
        let path = request.uri().path();
        let allowed: Vec<&str> = ["GET", "POST", "PATCH", "PUT", "DELETE"]
            .into_iter()
            .filter(|m| {
                m.parse()
                    .is_ok_and(|m| crate::admission::match_operation(&m, path).is_some())
            })
            .collect();
        return if allowed.is_empty() {
            error(StatusCode::NOT_FOUND, "not_found", "Not found.", None)
        } else {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "{} is not allowed here; this path takes {}.",
                    request.method(),
                    allowed.join(", ")
                ),
                None,
            )
        };
    };
    let (mut parts, body) = request.into_parts();
    let Ok(query) = ListQuery::from_request_parts(&mut parts, &()).await;
    let id = segments(parts.uri.path())
        .get(1)
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .unwrap_or_default();
    let body = match axum::body::to_bytes(body, crate::max_body_bytes()).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "The request body is larger than {} bytes.",
                    crate::max_body_bytes()
                ),
                None,
            );
        }
    };
    // The one upload the spec takes as multipart/form-data, not JSON.
    if op.id == "upload_image_from_file" {
        let content_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        return images::from_file(&mut shared.store.lock().unwrap(), op, content_type, &body);
    }
    let shape = SHAPES
        .operation(op.id)
        .expect("every operation has a shape");
    let document = match &shape.request {
        Some(schema) => {
            let document: Value = match serde_json::from_slice(&body) {
                Ok(d) => d,
                Err(e) => {
                    return error(
                        StatusCode::BAD_REQUEST,
                        "invalid",
                        format!("The request body is not valid JSON: {e}"),
                        Some(json!({"pointer": "/"})),
                    );
                }
            };
            if let Err(problem) = SHAPES.validate(SHAPES.named(schema), &document, "") {
                return invalid(problem);
            }
            document
        }
        None => Value::Null,
    };
    let owner_type = type_of(segments(op.path)[0]);
    let mut store = shared.store.lock().unwrap();
    if let Some(response) = behaviour::handle(&shared, &mut store, op, &document, &id, &query) {
        return response;
    }
    match action(op) {
        Action::List => {
            let items: Vec<Value> = owner_type
                .and_then(|kind| store.resources.get(kind))
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default();
            let (items, rest) =
                match filter_by_related(&store, owner_type.unwrap_or_default(), items, &query) {
                    Ok(split) => split,
                    Err(response) => return response,
                };
            let query = match rest {
                Some(rest) => query.evaluating_filter(rest),
                None => query,
            };
            match page(op.id, &Rows(items.iter().collect()), &query) {
                Ok(body) => answer(op, Some(with_included(&store, body, &query))),
                Err(response) => response,
            }
        }
        Action::Get => {
            let kind = owner_type.unwrap_or_default();
            match lookup(&store, kind, &id) {
                Some(resource) => answer(
                    op,
                    Some(with_included(
                        &store,
                        json!({"data": sparse(resource, &query)}),
                        &query,
                    )),
                ),
                None => not_found(kind, &id),
            }
        }
        Action::Delete => {
            let kind = owner_type.unwrap_or_default();
            match store.resources.get_mut(kind).and_then(|m| m.remove(&id)) {
                Some(_) => answer(op, None),
                None => not_found(kind, &id),
            }
        }
        Action::Update => {
            let kind = owner_type.unwrap_or_default();
            let Some(resource) = store.resources.get_mut(kind).and_then(|m| m.get_mut(&id)) else {
                return not_found(kind, &id);
            };
            merge(resource, &document["data"]);
            let resource = resource.clone();
            answer(op, Some(json!({"data": resource})))
        }
        Action::Related(relation) | Action::RelatedIds(relation) if owner_type.is_some() => {
            let kind = owner_type.unwrap_or_default();
            let Some(owner) = lookup(&store, kind, &id) else {
                return not_found(kind, &id);
            };
            let mut linked = linkage(&owner, &relation);
            // A relationship the owner's schema does not list is found from the other side
            // (a coupon's codes link to it; the coupon does not list them).
            if linked.is_empty() {
                linked = linking_to(&store, op, kind, &id);
            }
            let ids_only = matches!(action(op), Action::RelatedIds(_));
            let related: Vec<Value> = if ids_only {
                linked.clone()
            } else {
                linked
                    .iter()
                    .filter_map(|r| lookup(&store, r["type"].as_str()?, r["id"].as_str()?))
                    .collect()
            };
            let is_list = SHAPES
                .operation(op.id)
                .and_then(|s| s.response.as_deref())
                .and_then(|r| SHAPES.data(SHAPES.named(r)))
                .is_some_and(|(_, list)| list);
            if is_list {
                match page(op.id, &Rows(related.iter().collect()), &query) {
                    Ok(body) => answer(op, Some(body)),
                    Err(response) => response,
                }
            } else {
                answer(op, Some(json!({"data": related.into_iter().next()})))
            }
        }
        Action::Link(relation, change) if owner_type.is_some() => {
            let kind = owner_type.unwrap_or_default();
            let Some(owner) = store.resources.get_mut(kind).and_then(|m| m.get_mut(&id)) else {
                return if lookup(&store, kind, &id).is_some() {
                    answer(op, None)
                } else {
                    not_found(kind, &id)
                };
            };
            let given = as_list(&document["data"]);
            let slot = &mut owner["relationships"][relation.as_str()]["data"];
            let before = as_list(&slot.take());
            let after: Vec<Value> = match change {
                LinkChange::Add => before
                    .iter()
                    .cloned()
                    .chain(given.iter().filter(|g| !before.contains(g)).cloned())
                    .collect(),
                LinkChange::Replace => given.clone(),
                LinkChange::Remove => before
                    .iter()
                    .filter(|c| !given.contains(c))
                    .cloned()
                    .collect(),
            };
            *slot = Value::Array(after.clone());
            // The other side sees the link too (a tag's campaigns, a campaign's tags).
            let me = json!({"type": kind, "id": id});
            for target in before.iter().chain(&after) {
                let linked = after.contains(target);
                let (Some(target_type), Some(target_id)) =
                    (target["type"].as_str(), target["id"].as_str())
                else {
                    continue;
                };
                let Some(inverse) = inverse_relation(target_type, kind) else {
                    continue;
                };
                if let Some(other) = store
                    .resources
                    .get_mut(target_type)
                    .and_then(|m| m.get_mut(target_id))
                {
                    let mut links = linkage(other, &inverse);
                    links.retain(|l| l != &me);
                    if linked {
                        links.push(me.clone());
                    }
                    other["relationships"][inverse.as_str()]["data"] = Value::Array(links);
                }
            }
            answer(op, None)
        }
        _ => perform(&mut store, op, &document, &query),
    }
}

/// A request body for `operation_id` that fits its schema, with every required field filled
/// (placeholders where the API wants real values, such as ids): a starting point for tests.
/// None for operations that take no body.
pub fn example_request_body(operation_id: &str) -> Option<Value> {
    let schema = SHAPES.operation(operation_id)?.request.as_deref()?;
    Some(SHAPES.build(SHAPES.named(schema), None))
}

/// The relationship of `kind`'s resources that links `other`'s (campaign → `tags` for tags).
fn inverse_relation(kind: &str, other: &str) -> Option<String> {
    let readable = COLLECTIONS.readable.get(kind)?;
    let relationships = SHAPES.property(readable.schema, "relationships")?;
    let names: Vec<String> = SHAPES.properties(relationships);
    names.into_iter().find(|name| {
        SHAPES
            .property(relationships, name)
            .and_then(|r| SHAPES.data(r))
            .and_then(|(linked, _)| SHAPES.resource_type(linked))
            .as_deref()
            == Some(other)
    })
}

/// Stores a resource of `kind` (any type the API reads back) built from its schema with these
/// attributes and relationships; returns it.
pub(crate) fn keep_linked(
    store: &mut Store,
    kind: &str,
    id: &str,
    attributes: Value,
    relationships: Value,
) -> Value {
    let readable = COLLECTIONS
        .readable
        .get(kind)
        .expect("the spec can read back what the sandbox makes");
    let given = json!({"type": kind, "id": id, "attributes": attributes, "relationships": relationships, "links": {"self": format!("/api/{}/{id}/", readable.segment)}});
    let resource = SHAPES.build(readable.schema, Some(&given));
    store
        .resources
        .entry(kind.to_string())
        .or_default()
        .insert(id.to_string(), resource.clone());
    link_inverses(store, &resource);
    resource
}

/// An empty account with what every Klaviyo account has from the start: its tracking
/// settings (one, under the account's id), a mapped metric for each kind of mapping the spec
/// names, and the integration-egress IP allowlist.
pub(crate) fn new_account() -> Store {
    let mut store = Store::default();
    let now = crate::store::now_iso();
    keep_linked(
        &mut store,
        "tracking-setting",
        crate::ACCOUNT_ID,
        json!({"auto_add_parameters": true, "utm_source": {"type": "static", "value": "klaviyo"}, "created": now, "updated": now}),
        json!({}),
    );
    let mappings: Vec<String> = COLLECTIONS
        .readable
        .get("mapped-metric")
        .and_then(|r| SHAPES.property(r.schema, "id"))
        .and_then(|id| id.get("enum"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    for mapping in mappings {
        keep_linked(
            &mut store,
            "mapped-metric",
            &mapping,
            json!({"updated": now}),
            json!({}),
        );
    }
    if let Some(kind) = type_of("ip-allowlists") {
        keep_linked(&mut store, kind, "integration-egress", json!({}), json!({}));
    }
    store
}

/// A metric's property, first seen on one of its events (`metric-property`, id
/// `<metric id>:<property>`), as Klaviyo infers them.
pub(crate) fn keep_metric_property(
    store: &mut Store,
    metric_id: &str,
    property: &str,
    example: &Value,
) {
    let inferred = match example {
        Value::Number(_) => "Number",
        Value::Bool(_) => "Boolean",
        Value::Array(_) => "List",
        Value::Object(_) => "Object",
        _ => "String",
    };
    keep_linked(
        store,
        "metric-property",
        &format!("{metric_id}:{property}"),
        json!({"label": property, "property": property, "inferred_type": inferred}),
        json!({"metric": {"data": {"type": "metric", "id": metric_id}}}),
    );
}

/// Identifiers of the resources of the type `op` answers with that link to (`kind`, `id`).
fn linking_to(store: &Store, op: &Operation, kind: &str, id: &str) -> Vec<Value> {
    let Some(related) = SHAPES
        .operation(op.id)
        .and_then(|s| s.response.as_deref())
        .and_then(|r| SHAPES.data(SHAPES.named(r)))
        .and_then(|(schema, _)| SHAPES.resource_type(schema))
    else {
        return Vec::new();
    };
    let me = json!({"type": kind, "id": id});
    let links_me = |resource: &&Value| {
        resource["relationships"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(_, r)| match &r["data"] {
                Value::Array(items) => items.contains(&me),
                one => one == &me,
            })
    };
    store
        .resources
        .get(&related)
        .into_iter()
        .flat_map(|m| m.values())
        .filter(links_me)
        .map(|r| json!({"type": r["type"], "id": r["id"]}))
        .collect()
}

/// Adds `included`: the resources `include=a,b` names through each resource's relationships,
/// once each, with their sparse fieldsets.
pub(crate) fn with_included(store: &Store, mut document: Value, query: &ListQuery) -> Value {
    let Some(include) = query.get("include") else {
        return document;
    };
    let resources = as_list(&document["data"]);
    let mut included = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for relation in include.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        for resource in &resources {
            for link in linkage(resource, relation) {
                let (Some(kind), Some(id)) = (link["type"].as_str(), link["id"].as_str()) else {
                    continue;
                };
                if seen.insert((kind.to_string(), id.to_string()))
                    && let Some(found) = lookup(store, kind, id)
                {
                    included.push(sparse(found, query));
                }
            }
        }
    }
    document["included"] = Value::Array(included);
    document
}

/// A JSON:API `data` member as a list: a list as it is, one resource as one, null as none.
fn as_list(data: &Value) -> Vec<Value> {
    match data {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// The `{type, id}` identifiers a resource links under `relation`.
pub(crate) fn linkage(resource: &Value, relation: &str) -> Vec<Value> {
    as_list(&resource["relationships"][relation]["data"])
}

/// Copies request attributes and relationships onto a stored resource.
fn merge(resource: &mut Value, data: &Value) {
    for part in ["attributes", "relationships"] {
        for (key, value) in data[part].as_object().into_iter().flatten() {
            resource[part][key] = value.clone();
        }
    }
    if resource["attributes"].get("updated").is_some() {
        resource["attributes"]["updated"] = json!(crate::store::now_iso());
    }
}

/// Creates, jobs, queries and reports: when the answer is a resource of a type the API can
/// read back, it is made from the request and kept.
fn perform(store: &mut Store, op: &Operation, document: &Value, query: &ListQuery) -> Response {
    let shape = SHAPES
        .operation(op.id)
        .expect("every operation has a shape");
    let data = &document["data"];
    let answered = shape
        .response
        .as_deref()
        .and_then(|r| SHAPES.data(SHAPES.named(r)))
        .filter(|(_, list)| !list)
        .map(|(schema, _)| schema);
    // A 202 without a body (a push token, a review) still makes what it names readable.
    let requested = || {
        data["type"]
            .as_str()
            .and_then(|kind| COLLECTIONS.readable.get(kind))
            .map(|readable| readable.schema)
    };
    let Some(schema) = answered.or_else(|| shape.response.is_none().then(requested).flatten())
    else {
        return answer(op, None);
    };
    let Some(kind) = SHAPES.resource_type(schema) else {
        return answer(op, None);
    };
    let same_type = data["type"].as_str() == Some(kind.as_str());
    // An action on an existing resource (assign a template to a message) changes it.
    if let Some(existing) = data["id"]
        .as_str()
        .filter(|_| same_type)
        .and_then(|id| store.resources.get_mut(&kind)?.get_mut(id))
    {
        merge(existing, data);
        let resource = existing.clone();
        return answer(op, Some(json!({"data": sparse(resource, query)})));
    }
    let id = data["id"]
        .as_str()
        .filter(|id| same_type && !id.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| store.new_id(kind.chars().next().unwrap_or('X').to_ascii_uppercase()));
    let collection = COLLECTIONS
        .readable
        .get(&kind)
        .map(|readable| readable.segment);
    let mut given = json!({"type": kind, "id": id});
    if same_type {
        given["attributes"] = data["attributes"].clone();
        given["relationships"] = data["relationships"].clone();
    }
    if let Some(collection) = collection {
        given["links"] = json!({"self": format!("/api/{collection}/{id}/")});
    }
    let mut resource = SHAPES.build(schema, Some(&given));
    // Kept only when it can be read back and no hand-written store owns its type.
    if collection.is_some() && lookup(store, &kind, &id).is_none() && !is_hand_kept(&kind) {
        if same_type {
            create_nested(store, &mut resource, &data["attributes"]);
            behaviour::after_create(store, &mut resource, &data["attributes"]);
        }
        store
            .resources
            .entry(kind)
            .or_default()
            .insert(id, resource.clone());
        link_inverses(store, &resource);
    }
    answer(op, Some(json!({"data": sparse(resource, query)})))
}

/// Makes the resources a new one links to link back to it (a coupon code's coupon lists the
/// code), once.
fn link_inverses(store: &mut Store, resource: &Value) {
    let me = json!({"type": resource["type"], "id": resource["id"]});
    let kind = resource["type"].as_str().unwrap_or_default();
    for (_, relation) in resource["relationships"].as_object().into_iter().flatten() {
        for target in as_list(&relation["data"]) {
            let (Some(target_type), Some(target_id)) =
                (target["type"].as_str(), target["id"].as_str())
            else {
                continue;
            };
            let Some(inverse) = inverse_relation(target_type, kind) else {
                continue;
            };
            let Some(other) = store
                .resources
                .get_mut(target_type)
                .and_then(|m| m.get_mut(target_id))
            else {
                continue;
            };
            let mut links = linkage(other, &inverse);
            if !links.contains(&me) {
                links.push(me.clone());
                // A to-one relationship holds one identifier, not a list.
                let to_many = SHAPES
                    .property(COLLECTIONS.readable[target_type].schema, "relationships")
                    .and_then(|r| SHAPES.property(r, &inverse))
                    .and_then(|r| SHAPES.data(r))
                    .is_some_and(|(_, list)| list);
                other["relationships"][inverse.as_str()]["data"] = if to_many {
                    Value::Array(links)
                } else {
                    me.clone()
                };
            }
        }
    }
}

/// Resources created inside another (a campaign's `campaign-messages`, an object schema's
/// `source-mapping`): each is kept under its own type and linked from both sides.
fn create_nested(store: &mut Store, parent: &mut Value, attributes: &Value) {
    let parent_ref = json!({"type": parent["type"], "id": parent["id"]});
    for (relation, members) in attributes.as_object().into_iter().flatten() {
        // A list of members (a campaign's messages) or one (an object schema's source mapping).
        let (items, to_many) = match &members["data"] {
            Value::Array(items) => (items.clone(), true),
            one @ Value::Object(_) if one.get("type").is_some() => (vec![one.clone()], false),
            _ => continue,
        };
        let mut linked = Vec::new();
        for item in &items {
            let Some(kind) = item["type"].as_str() else {
                continue;
            };
            let Some(readable) = COLLECTIONS.readable.get(kind) else {
                continue;
            };
            let id = store.new_id(kind.chars().next().unwrap_or('X').to_ascii_uppercase());
            let mut given = json!({"type": kind, "id": id, "attributes": item["attributes"], "relationships": item["relationships"], "links": {"self": format!("/api/{}/{id}/", readable.segment)}});
            if let Some(inverse) =
                inverse_relation(kind, parent["type"].as_str().unwrap_or_default())
            {
                given["relationships"][inverse.as_str()] = json!({"data": parent_ref});
            }
            store
                .resources
                .entry(kind.to_string())
                .or_default()
                .insert(id.clone(), SHAPES.build(readable.schema, Some(&given)));
            linked.push(json!({"type": kind, "id": id}));
        }
        parent["relationships"][relation.as_str()]["data"] = if to_many {
            Value::Array(linked)
        } else {
            linked.pop().unwrap_or(Value::Null)
        };
    }
}

/// Filter fields that name an attribute of related resources, as the spec allows for some
/// lists: (type, field, relationship, pointer in the related resource).
const RELATED_FILTER_FIELDS: [(&str, &str, &str, &str); 1] = [(
    "campaign",
    "messages.channel",
    "campaign-messages",
    "/attributes/definition/channel",
)];

/// Keeps the rows that meet the filter's conditions on related resources, and returns the
/// rest of the filter for the pager.
fn filter_by_related(
    store: &Store,
    kind: &str,
    rows: Vec<Value>,
    query: &ListQuery,
) -> Result<(Vec<Value>, Option<String>), Response> {
    let Some(text) = query.get("filter") else {
        return Ok((rows, None));
    };
    let filter = klaviyo_bridge::filter::Filter::parse(text).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid",
            e.to_string(),
            Some(json!({"parameter": "filter"})),
        )
    })?;
    let mut rest = klaviyo_bridge::filter::Filter::new();
    let mut rows = rows;
    for condition in filter.conditions() {
        match RELATED_FILTER_FIELDS.iter().find(|(t, field, _, _)| *t == kind && *field == condition.field) {
            Some((_, _, relation, pointer)) => rows.retain(|row| {
                linkage(row, relation).iter().filter_map(|r| lookup(store, r["type"].as_str()?, r["id"].as_str()?)).any(|related| {
                    let view = json!({"attributes": {"value": related.pointer(pointer).cloned().unwrap_or(Value::Null)}});
                    crate::pagination::matches(&view, &klaviyo_bridge::filter::Condition { field: "value".into(), ..condition.clone() })
                })
            }),
            None => rest = rest.condition(&condition.operator, &condition.field, condition.value.clone()),
        }
    }
    Ok((rows, Some(rest.to_string())))
}

fn is_hand_kept(kind: &str) -> bool {
    matches!(
        kind,
        "profile"
            | "event"
            | "metric"
            | "list"
            | "webhook"
            | "catalog-item"
            | "catalog-variant"
            | "catalog-category"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_say_what_operations_do() {
        let of = |id: &str| action(klaviyo_bridge::operations::operation(id).unwrap());
        assert_eq!(of("get_campaigns"), Action::List);
        assert_eq!(of("get_campaign"), Action::Get);
        assert_eq!(of("update_campaign"), Action::Update);
        assert_eq!(of("delete_campaign"), Action::Delete);
        assert_eq!(of("get_tags_for_campaign"), Action::Related("tags".into()));
        assert_eq!(
            of("get_tag_ids_for_campaign"),
            Action::RelatedIds("tags".into())
        );
        assert_eq!(
            of("add_items_to_catalog_category"),
            Action::Link("items".into(), LinkChange::Add)
        );
        assert_eq!(of("create_campaign"), Action::Perform);
        assert_eq!(type_of("campaign-messages"), Some("campaign-message"));
        assert_eq!(
            COLLECTIONS.readable.get("flow").map(|r| r.segment),
            Some("flows")
        );
    }
}
