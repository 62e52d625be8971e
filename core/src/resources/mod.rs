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

use crate::client::{Client, Request, RequestOptions};
use crate::error::{Error, Result};
use crate::operations::require_operation;
use crate::pagination::{ListParams, Pager};
use crate::resource::{Document, Resource};

/// Calls an operation with path parameters, query and body.
pub(crate) async fn call(client: &Client, operation_id: &str, path: &[(&str, &str)], query: Vec<(String, String)>, body: Option<Value>, options: &RequestOptions) -> Result<Document> {
    let mut request = Request::new(operation_id).options(options.clone());
    request.path = path.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    request.query = query;
    request.body = body;
    client.send(request).await?.document()
}

/// Calls an operation that returns one resource.
pub(crate) async fn call_one(client: &Client, operation_id: &str, path: &[(&str, &str)], body: Option<Value>) -> Result<Resource> {
    let doc = call(client, operation_id, path, Vec::new(), body, &RequestOptions::default()).await?;
    doc.resource().ok_or_else(|| Error::Decode {
        operation: operation_id.to_string(),
        status: 200,
        message: "expected one resource in data".into(),
        snippet: crate::error::snippet(doc.raw().to_string().as_bytes()),
    })
}

/// A pager over a paginated operation.
pub(crate) fn pager(client: &Client, operation_id: &str, path: &[(&str, &str)], params: ListParams) -> Result<Pager> {
    let op = require_operation(operation_id)?;
    let rendered = op.render_path(path)?;
    Pager::new(client.clone(), op, rendered, params)
}

/// `{"data": {"type": .., "id": .., "attributes": .., "relationships": ..}}`
pub(crate) fn envelope(kind: &str, id: Option<&str>, attributes: Value, relationships: Option<Value>) -> Value {
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
    if value.trim().is_empty() { Err(Error::InvalidInput(format!("{what} must not be empty"))) } else { Ok(value) }
}
