//! Typed resource methods: natural arguments in, lenient [`crate::Resource`]s out. Each
//! builds the JSON:API body and calls the shared pipeline; nothing here sends on its own.

pub mod accounts;
pub mod catalog;
pub mod data_privacy;
pub mod events;
pub mod jobs;
pub mod lists;
pub mod metrics;
pub mod profiles;
pub mod webhooks;

use serde_json::{Value, json};

use crate::bulk::{BulkReport, Item, JobRef};
use crate::client::{Client, Request, RequestOptions};
use crate::error::{BulkFailure, Error, Result};
use crate::operations::require_operation;
use crate::pagination::{ListParams, Pager};
use crate::resource::{Document, Resource};

/// Calls an operation with path parameters, query and body.
pub(crate) async fn call(
    client: &Client,
    operation_id: &str,
    path: &[(&str, &str)],
    query: Vec<(String, String)>,
    body: Option<Value>,
    options: &RequestOptions,
) -> Result<Document> {
    let mut request = Request::new(operation_id).options(options.clone());
    request.path = path
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    request.query = query;
    request.body = body;
    client.send(request).await?.document()
}

/// Calls an operation that returns one resource.
pub(crate) async fn call_one(
    client: &Client,
    operation_id: &str,
    path: &[(&str, &str)],
    body: Option<Value>,
) -> Result<Resource> {
    let doc = call(
        client,
        operation_id,
        path,
        Vec::new(),
        body,
        &RequestOptions::default(),
    )
    .await?;
    doc.resource().ok_or_else(|| Error::Decode {
        operation: operation_id.to_string(),
        status: 200,
        message: "expected one resource in data".into(),
        snippet: crate::error::snippet(doc.raw().to_string().as_bytes()),
    })
}

/// A pager over a paginated operation.
pub(crate) fn pager(
    client: &Client,
    operation_id: &str,
    path: &[(&str, &str)],
    params: ListParams,
) -> Result<Pager> {
    let op = require_operation(operation_id)?;
    let rendered = op.render_path(path)?;
    Pager::new(client.clone(), op, rendered, params)
}

/// The checked items of a bulk call, or every failed check at once: if one item is bad,
/// nothing is sent.
pub(crate) fn all_valid(checked: Vec<std::result::Result<Item, BulkFailure>>) -> Result<Vec<Item>> {
    let total = checked.len();
    let (items, failures): (Vec<_>, Vec<_>) =
        checked.into_iter().partition(std::result::Result::is_ok);
    if failures.is_empty() {
        Ok(items.into_iter().flatten().collect())
    } else {
        Err(Error::BulkPartial {
            failures: failures
                .into_iter()
                .filter_map(std::result::Result::err)
                .collect(),
            total,
            accepted: 0,
        })
    }
}

/// Sends one batch of a bulk call, its body made by `body` from the items' JSON. Success adds
/// the batch as a job (with the id the response gives, if any); failure adds every item of
/// the batch as failed, with its key and the reason. Returns the job id.
pub(crate) async fn send_batch(
    client: &Client,
    op: &str,
    path: &[(&str, &str)],
    batch: Vec<Item>,
    body: impl FnOnce(Vec<Value>) -> Value,
    report: &mut BulkReport,
) -> Option<String> {
    let first_index = batch[0].index;
    let item_count = batch.len();
    let (ids, values): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|item| ((item.index, item.key), item.value))
        .unzip();
    match call(
        client,
        op,
        path,
        Vec::new(),
        Some(body(values)),
        &RequestOptions::default(),
    )
    .await
    {
        Ok(doc) => {
            let id = doc.resource().and_then(|r| r.id().map(str::to_string));
            report.accepted += item_count;
            report.jobs.push(JobRef {
                id: id.clone(),
                first_index,
                item_count,
            });
            id
        }
        Err(e) => {
            let reason = e.to_string();
            report
                .failures
                .extend(ids.into_iter().map(|(index, key)| BulkFailure {
                    index,
                    key,
                    reason: reason.clone(),
                }));
            None
        }
    }
}

/// `{"data": {"type": .., "id": .., "attributes": .., "relationships": ..}}`
pub(crate) fn envelope(
    kind: &str,
    id: Option<&str>,
    attributes: Value,
    relationships: Option<Value>,
) -> Value {
    let mut data = crate::resource::resource_object(kind, id, attributes);
    if let Some(rel) = relationships {
        data["relationships"] = rel;
    }
    json!({ "data": data })
}

/// `{"data": {"type": kind, "id": id}}` as a relationship.
pub(crate) fn to_one(kind: &str, id: &str) -> Value {
    json!({ "data": { "type": kind, "id": id } })
}

/// `{"data": [{"type": kind, "id": ..}, ..]}` as a relationship.
pub(crate) fn to_many<'a>(kind: &str, ids: impl IntoIterator<Item = &'a str>) -> Value {
    json!({ "data": ids.into_iter().map(|id| json!({"type": kind, "id": id})).collect::<Vec<_>>() })
}

/// Requires a non-empty argument.
pub(crate) fn non_empty<'a>(what: &str, value: &'a str) -> Result<&'a str> {
    if value.trim().is_empty() {
        Err(Error::InvalidInput(format!("{what} must not be empty")))
    } else {
        Ok(value)
    }
}

/// The hand-written namespaces of a client (the generated ones are in `crate::api`).
impl Client {
    /// Events.
    pub fn events(&self) -> crate::events::Events<'_> {
        crate::events::Events { client: self }
    }
    /// Profiles.
    pub fn profiles(&self) -> crate::profiles::Profiles<'_> {
        crate::profiles::Profiles { client: self }
    }
    /// Lists.
    pub fn lists(&self) -> crate::lists::Lists<'_> {
        crate::lists::Lists { client: self }
    }
    /// Metrics.
    pub fn metrics(&self) -> crate::metrics::Metrics<'_> {
        crate::metrics::Metrics { client: self }
    }
    /// Catalog items.
    pub fn catalog_items(&self) -> crate::catalog::Catalog<'_> {
        crate::catalog::Catalog {
            client: self,
            kind: &crate::catalog::ITEMS,
        }
    }
    /// Catalog variants.
    pub fn catalog_variants(&self) -> crate::catalog::Catalog<'_> {
        crate::catalog::Catalog {
            client: self,
            kind: &crate::catalog::VARIANTS,
        }
    }
    /// Catalog categories.
    pub fn catalog_categories(&self) -> crate::catalog::Catalog<'_> {
        crate::catalog::Catalog {
            client: self,
            kind: &crate::catalog::CATEGORIES,
        }
    }
    /// Webhooks.
    pub fn webhooks(&self) -> crate::webhooks::Webhooks<'_> {
        crate::webhooks::Webhooks { client: self }
    }
    /// Accounts.
    pub fn accounts(&self) -> crate::accounts::Accounts<'_> {
        crate::accounts::Accounts { client: self }
    }
    /// Data privacy.
    pub fn data_privacy(&self) -> crate::data_privacy::DataPrivacy<'_> {
        crate::data_privacy::DataPrivacy { client: self }
    }
    /// Bulk jobs.
    pub fn jobs(&self) -> crate::jobs::Jobs<'_> {
        crate::jobs::Jobs { client: self }
    }
}
