//! Catalog items, variants and categories: CRUD, their relationships (an item's variants and
//! categories, a category's items), and bulk create/update/delete jobs.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use crate::handlers::{AppState, Params, not_found, ok, page, parse_resource};
use crate::store::{Store, now_iso};
use crate::table::ById;
use crate::{error, jobs};

/// One catalog resource type and its operations.
pub(crate) struct Kind {
    pub json_type: &'static str,
    pub path: &'static str,
    pub bulk_key: &'static str,
    list_op: &'static str,
}

pub(crate) const ITEM: Kind = Kind {
    json_type: "catalog-item",
    path: "catalog-items",
    bulk_key: "items",
    list_op: "get_catalog_items",
};
pub(crate) const VARIANT: Kind = Kind {
    json_type: "catalog-variant",
    path: "catalog-variants",
    bulk_key: "variants",
    list_op: "get_catalog_variants",
};
pub(crate) const CATEGORY: Kind = Kind {
    json_type: "catalog-category",
    path: "catalog-categories",
    bulk_key: "categories",
    list_op: "get_catalog_categories",
};

pub(crate) fn routes() -> Router<std::sync::Arc<crate::Shared>> {
    let mut router = Router::new();
    for kind in [&ITEM, &VARIANT, &CATEGORY] {
        router = router
            .route(
                &format!("/api/{}", kind.path),
                get(move |s: AppState, q: Params| list(s, q, kind))
                    .post(move |s: AppState, b: Bytes| create(s, b, kind)),
            )
            .route(
                &format!("/api/{}/{{id}}", kind.path),
                get(move |s: AppState, p: Path<String>| get_one(s, p, kind))
                    .patch(move |s: AppState, p: Path<String>, b: Bytes| update(s, p, b, kind))
                    .delete(move |s: AppState, p: Path<String>| delete(s, p, kind)),
            );
    }
    router
        .route(
            "/api/catalog-items/{id}/variants",
            get(|s: AppState, p: Path<String>, q: Params| related(s, p, q, "variants")),
        )
        .route(
            "/api/catalog-items/{id}/categories",
            get(|s: AppState, p: Path<String>, q: Params| related(s, p, q, "categories")),
        )
        .route(
            "/api/catalog-categories/{id}/items",
            get(|s: AppState, p: Path<String>, q: Params| related(s, p, q, "items")),
        )
        .merge(jobs::catalog_routes())
}

/// Catalog ids are `$custom:::$default:::<external_id>`, as Klaviyo forms them.
pub(crate) fn catalog_id(attributes: &Value) -> Option<String> {
    let external_id = attributes["external_id"]
        .as_str()
        .filter(|e| !e.is_empty())?;
    let integration = attributes["integration_type"].as_str().unwrap_or("$custom");
    let catalog = attributes["catalog_type"].as_str().unwrap_or("$default");
    Some(format!("{integration}:::{catalog}:::{external_id}"))
}

/// Creates one catalog resource from a request's `data`; returns its id or why it failed.
pub(crate) fn insert(
    store: &mut Store,
    kind: &Kind,
    data: &Value,
) -> Result<String, (StatusCode, String, String)> {
    let attributes = &data["attributes"];
    let id = catalog_id(attributes).ok_or((
        StatusCode::BAD_REQUEST,
        "'external_id' is required.".to_string(),
        "/data/attributes/external_id".to_string(),
    ))?;
    if store
        .catalog
        .get(kind.json_type)
        .is_some_and(|m| m.contains_key(&id))
    {
        return Err((
            StatusCode::CONFLICT,
            format!("A {} with id {id} already exists.", kind.json_type),
            "/data/attributes/external_id".into(),
        ));
    }
    let mut relationships = json!({});
    match kind.json_type {
        "catalog-variant" => {
            let item = data["relationships"]["item"]["data"]["id"]
                .as_str()
                .unwrap_or_default();
            if !store
                .catalog
                .get(ITEM.json_type)
                .is_some_and(|m| m.contains_key(item))
            {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!("A variant needs an existing item; {item:?} does not exist."),
                    "/data/relationships/item/data/id".into(),
                ));
            }
            relationships["item"] = json!({"data": {"type": "catalog-item", "id": item}});
        }
        "catalog-item" => {
            let categories: Vec<Value> = data["relationships"]["categories"]["data"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for c in &categories {
                let cid = c["id"].as_str().unwrap_or_default();
                if !store
                    .catalog
                    .get(CATEGORY.json_type)
                    .is_some_and(|m| m.contains_key(cid))
                {
                    return Err((
                        StatusCode::BAD_REQUEST,
                        format!("Category {cid:?} does not exist."),
                        "/data/relationships/categories".into(),
                    ));
                }
            }
            relationships["categories"] = json!({"data": categories});
        }
        _ => {}
    }
    let now = now_iso();
    let mut resource = json!({"type": kind.json_type, "id": id, "attributes": {"created": now, "updated": now, "published": true}, "relationships": relationships,
        "links": {"self": format!("/api/{}/{id}/", kind.path)}});
    for (k, v) in attributes.as_object().into_iter().flatten() {
        if !matches!(k.as_str(), "catalog_type" | "integration_type") {
            resource["attributes"][k] = v.clone();
        }
    }
    store
        .catalog
        .entry(kind.json_type.to_string())
        .or_default()
        .insert(id.clone(), resource);
    Ok(id)
}

/// Applies a resource object's attribute changes and, for an item, a new set of categories
/// (`relationships.categories`, which replaces the old set); false when it does not exist.
pub(crate) fn patch(store: &mut Store, kind: &Kind, id: &str, data: &Value) -> bool {
    let categories: Option<Vec<Value>> = (kind.json_type == ITEM.json_type)
        .then(|| {
            data["relationships"]["categories"]["data"]
                .as_array()
                .cloned()
        })
        .flatten();
    let Some(resource) = store
        .catalog
        .get_mut(kind.json_type)
        .and_then(|m| m.get_mut(id))
    else {
        return false;
    };
    for (k, v) in data["attributes"].as_object().into_iter().flatten() {
        resource["attributes"][k] = v.clone();
    }
    if let Some(categories) = categories {
        resource["relationships"]["categories"] = json!({"data": categories});
    }
    resource["attributes"]["updated"] = json!(now_iso());
    true
}

/// Removes a resource (and an item's variants); false when it does not exist.
pub(crate) fn remove(store: &mut Store, kind: &Kind, id: &str) -> bool {
    let removed = store
        .catalog
        .get_mut(kind.json_type)
        .and_then(|m| m.remove(id))
        .is_some();
    if let (true, true, Some(variants)) = (
        removed,
        kind.json_type == ITEM.json_type,
        store.catalog.get_mut(VARIANT.json_type),
    ) {
        variants.retain(|_, v| v["relationships"]["item"]["data"]["id"] != id);
    }
    removed
}

/// No resources of a type yet.
static NONE: BTreeMap<String, Value> = BTreeMap::new();

async fn list(State(s): AppState, q: Params, kind: &'static Kind) -> Response {
    let store = s.store.lock().unwrap();
    let rows = ById {
        rows: store.catalog.get(kind.json_type).unwrap_or(&NONE),
        keep: Box::new(|_| true),
    };
    page(kind.list_op, &rows, &q).map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}

async fn create(State(s): AppState, body: Bytes, kind: &'static Kind) -> Response {
    let data = match parse_resource(&body, kind.json_type, true) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let mut store = s.store.lock().unwrap();
    match insert(&mut store, kind, &data) {
        Ok(id) => ok(
            StatusCode::CREATED,
            json!({"data": store.catalog[kind.json_type][&id]}),
        ),
        Err((status, detail, pointer)) => {
            error(status, "invalid", detail, Some(json!({"pointer": pointer})))
        }
    }
}

async fn get_one(State(s): AppState, Path(id): Path<String>, kind: &'static Kind) -> Response {
    let found = s
        .store
        .lock()
        .unwrap()
        .catalog
        .get(kind.json_type)
        .and_then(|m| m.get(&id).cloned());
    found.map_or_else(
        || not_found(kind.json_type, &id),
        |r| ok(StatusCode::OK, json!({"data": r})),
    )
}

async fn update(
    State(s): AppState,
    Path(id): Path<String>,
    body: Bytes,
    kind: &'static Kind,
) -> Response {
    let data = match parse_resource(&body, kind.json_type, false) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let mut store = s.store.lock().unwrap();
    if !patch(&mut store, kind, &id, &data) {
        return not_found(kind.json_type, &id);
    }
    ok(
        StatusCode::OK,
        json!({"data": store.catalog[kind.json_type][&id]}),
    )
}

async fn delete(State(s): AppState, Path(id): Path<String>, kind: &'static Kind) -> Response {
    if remove(&mut s.store.lock().unwrap(), kind, &id) {
        ok(StatusCode::NO_CONTENT, Value::Null)
    } else {
        not_found(kind.json_type, &id)
    }
}

async fn related(
    State(s): AppState,
    Path(id): Path<String>,
    q: Params,
    relation: &'static str,
) -> Response {
    let store = s.store.lock().unwrap();
    let owner = if relation == "items" {
        &CATEGORY
    } else {
        &ITEM
    };
    if !store
        .catalog
        .get(owner.json_type)
        .is_some_and(|m| m.contains_key(&id))
    {
        return not_found(owner.json_type, &id);
    }
    let of = |kind: &Kind| store.catalog.get(kind.json_type).unwrap_or(&NONE);
    let listed = match relation {
        "variants" => page(
            "get_variants_for_catalog_item",
            &ById {
                rows: of(&VARIANT),
                keep: Box::new(|v| v["relationships"]["item"]["data"]["id"] == id.as_str()),
            },
            &q,
        ),
        "categories" => {
            let categories = &of(&ITEM)[&id]["relationships"]["categories"]["data"];
            let member = |c: &Value| {
                categories
                    .as_array()
                    .is_some_and(|cs| cs.iter().any(|m| m["id"] == c["id"]))
            };
            page(
                "get_categories_for_catalog_item",
                &ById {
                    rows: of(&CATEGORY),
                    keep: Box::new(member),
                },
                &q,
            )
        }
        _ => page(
            "get_items_for_catalog_category",
            &ById {
                rows: of(&ITEM),
                keep: Box::new(|i| {
                    i["relationships"]["categories"]["data"]
                        .as_array()
                        .is_some_and(|cs| cs.iter().any(|c| c["id"] == id.as_str()))
                }),
            },
            &q,
        ),
    };
    listed.map_or_else(|e| e, |body| ok(StatusCode::OK, body))
}
