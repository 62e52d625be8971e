//! Applying a plan: bulk jobs of at most 100 items and 5 MB (the bulk-limits table), several
//! in flight at once (never more than the 500 the API allows), paced by the client's rate
//! limiter, each polled to completion. An item a job (or its request) failed is tried once
//! more on its own; a create that meets an existing resource becomes an update and a delete
//! that finds nothing is done, so repeating a job after a lost response is harmless.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::plan::{Changes, SyncPlan, external_id};
use super::{SyncOptions, SyncProgress};
use crate::bulk::{Item, pack_lazily};
use crate::catalog::{
    CATEGORIES, CatalogKind, ITEMS, VARIANTS, bulk_resource_object, job_failures,
};
use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::jobs::Jobs;
use crate::operations::bulk_limit;
use crate::resources::{call, envelope};

/// An item of the plan that did not make it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncFailure {
    /// `item`, `variant` or `category`.
    pub kind: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// Its external id.
    pub external_id: String,
    /// Why (the last attempt's reason).
    pub reason: String,
}

/// What applying did.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    pub(crate) created: usize,
    pub(crate) updated: usize,
    pub(crate) deleted: usize,
    pub(crate) failed: Vec<SyncFailure>,
    pub(crate) jobs: usize,
    pub(crate) writes: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

fn kind_name(kind: &CatalogKind) -> &'static str {
    kind.kind.trim_start_matches("catalog-")
}

/// Applies `plan` in dependency order: categories and items before the variants and
/// memberships that point at them, deletes of variants before items.
pub(crate) async fn apply(
    client: &Client,
    plan: &SyncPlan,
    options: &SyncOptions,
) -> Result<Applied> {
    let mut applied = Applied::default();
    let steps: [(&'static CatalogKind, Action, &Changes); 9] = [
        (&CATEGORIES, Action::Create, &plan.categories),
        (&CATEGORIES, Action::Update, &plan.categories),
        (&ITEMS, Action::Create, &plan.items),
        (&ITEMS, Action::Update, &plan.items),
        (&VARIANTS, Action::Delete, &plan.variants),
        (&VARIANTS, Action::Create, &plan.variants),
        (&VARIANTS, Action::Update, &plan.variants),
        (&ITEMS, Action::Delete, &plan.items),
        (&CATEGORIES, Action::Delete, &plan.categories),
    ];
    for (kind, action, changes) in steps {
        let deletes: Vec<Value>;
        let entries: &[Value] = match action {
            Action::Create => &changes.create,
            Action::Update => &changes.update,
            Action::Delete => {
                deletes = changes.delete.iter().map(|id| json!({"id": id})).collect();
                &deletes
            }
        };
        if !entries.is_empty() {
            run_step(client, kind, action, entries, options, &mut applied).await?;
        }
    }
    Ok(applied)
}

/// The JSON:API resource object a plan entry becomes.
fn resource_object(kind: &CatalogKind, action: Action, entry: &Value) -> Value {
    let mut attributes: Map<String, Value> = entry.as_object().cloned().unwrap_or_default();
    let id = attributes
        .remove("id")
        .and_then(|v| v.as_str().map(str::to_string));
    bulk_resource_object(kind, action == Action::Delete, id.as_deref(), attributes)
}

fn entry_external_id(entry: &Value) -> String {
    entry["external_id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| entry["id"].as_str().map(|id| external_id(id).to_string()))
        .unwrap_or_default()
}

async fn run_step(
    client: &Client,
    kind: &'static CatalogKind,
    action: Action,
    entries: &[Value],
    options: &SyncOptions,
    applied: &mut Applied,
) -> Result<()> {
    let (op, job_type, job_kind) = kind.bulk[action as usize];
    let limit = bulk_limit(op);
    let total = entries.len();
    let phase = format!("{} {}", action.name(), kind.bulk_key);
    // Requests are packed by their items' sizes, and each request's body is made only as it
    // goes out, so only the requests in flight are in memory.
    let sizes = entries.iter().enumerate().map(|(index, entry)| {
        let bytes = serde_json::to_vec(&resource_object(kind, action, entry))
            .map_or(usize::MAX, |v| v.len());
        Item {
            index,
            key: None,
            value: Value::Null,
            bytes,
        }
    });
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut too_big: Vec<(usize, String)> = Vec::new();
    for packed in pack_lazily(sizes, limit) {
        match packed {
            Ok(batch) => batches.push(batch.iter().map(|item| item.index).collect()),
            Err((item, reason)) => too_big.push((item.index, reason)),
        }
    }
    let in_flight = options
        .concurrency
        .max(1)
        .min(limit.max_jobs_in_flight.unwrap_or(usize::MAX));
    let done = Arc::new(AtomicUsize::new(0));
    let writes = Arc::new(AtomicUsize::new(0));
    let jobs_sent = Arc::new(AtomicUsize::new(0));
    let results: Vec<Vec<(usize, String)>> = futures_util::stream::iter(batches)
        .map(|batch| {
            let (done, writes, jobs_sent) = (done.clone(), writes.clone(), jobs_sent.clone());
            let phase = &phase;
            async move {
                let indices = batch;
                let data: Vec<Value> = indices
                    .iter()
                    .map(|index| resource_object(kind, action, &entries[*index]))
                    .collect();
                let body = envelope(job_type, None, json!({kind.bulk_key: {"data": data}}), None);
                writes.fetch_add(1, Ordering::Relaxed);
                let failed = submit_and_wait(
                    client, op, job_kind, body, &indices, kind, options, &jobs_sent,
                )
                .await?;
                let finished = done.fetch_add(indices.len(), Ordering::Relaxed) + indices.len();
                options.report(&SyncProgress {
                    phase: phase.clone(),
                    done: finished,
                    total,
                });
                Ok::<_, Error>(failed)
            }
        })
        .buffer_unordered(in_flight)
        .try_collect()
        .await?;
    applied.jobs += jobs_sent.load(Ordering::Relaxed);
    applied.writes += writes.load(Ordering::Relaxed);
    let mut failed: Vec<(usize, String)> = results.into_iter().flatten().collect();
    failed.sort_by_key(|(index, _)| *index);
    failed.dedup_by_key(|(index, _)| *index);
    // An item no request can carry is not sent at all: reported as it is.
    let unsendable = too_big.len();
    for (index, reason) in too_big {
        applied.failed.push(SyncFailure {
            kind: kind_name(kind).into(),
            action: action.name().into(),
            external_id: entry_external_id(&entries[index]),
            reason,
        });
    }
    let mut succeeded = total - failed.len() - unsendable;
    // Each failed item once more on its own, a few at a time.
    let retried: Vec<(usize, Option<String>, usize)> = futures_util::stream::iter(failed)
        .map(|(index, _first)| {
            let entry = &entries[index];
            async move {
                let (outcome, writes) = one(client, kind, action, entry).await;
                (index, outcome.err().map(|e| e.to_string()), writes)
            }
        })
        .buffer_unordered(in_flight.min(8))
        .collect()
        .await;
    for (index, failure, writes) in retried {
        applied.writes += writes;
        match failure {
            None => succeeded += 1,
            Some(reason) => applied.failed.push(SyncFailure {
                kind: kind_name(kind).into(),
                action: action.name().into(),
                external_id: entry_external_id(&entries[index]),
                reason,
            }),
        }
    }
    match action {
        Action::Create => applied.created += succeeded,
        Action::Update => applied.updated += succeeded,
        Action::Delete => applied.deleted += succeeded,
    }
    Ok(())
}

/// Whether an error says nothing about the items, only that no request of this kind can
/// succeed now (a refused key, a missing scope, a bad configuration): the sync stops.
fn stops_the_sync(error: &Error) -> bool {
    matches!(
        error,
        Error::Authentication(_) | Error::PermissionDenied(_) | Error::Config(_)
    )
}

/// Submits one job and polls it to its end. Returns the items (by index) that failed, with
/// why; a job that ends other than `complete`, or is not there to poll, fails all its items.
#[allow(clippy::too_many_arguments)]
async fn submit_and_wait(
    client: &Client,
    op: &str,
    job_kind: crate::jobs::JobKind,
    body: Value,
    indices: &[usize],
    kind: &CatalogKind,
    options: &SyncOptions,
    jobs_sent: &AtomicUsize,
) -> Result<Vec<(usize, String)>> {
    let all = |reason: String| indices.iter().map(|i| (*i, reason.clone())).collect();
    // Submitting a job again after a lost response only meets what the first one did (see
    // the module's note), so the submission may be retried like an idempotent request.
    let submit_options = RequestOptions {
        idempotent: Some(true),
        ..RequestOptions::default()
    };
    let doc = match call(client, op, &[], Vec::new(), Some(body), &submit_options).await {
        Ok(doc) => doc,
        Err(e) if stops_the_sync(&e) => return Err(e),
        Err(e) => return Ok(all(e.to_string())),
    };
    jobs_sent.fetch_add(1, Ordering::Relaxed);
    let Some(job) = doc.resource().and_then(|r| r.id().map(str::to_string)) else {
        return Ok(all(format!("{op} answered without a job id")));
    };
    let status = match (Jobs { client }).wait(job_kind, &job, &options.poll).await {
        Ok(status) => status,
        Err(e) if stops_the_sync(&e) => return Err(e),
        Err(e) => return Ok(all(e.to_string())),
    };
    if status.status != "complete" {
        return Ok(all(format!("job {job} ended {}", status.status)));
    }
    let mut failed = Vec::new();
    for (position, reason) in job_failures(&status.errors, kind.bulk_key) {
        match position.and_then(|p| indices.get(p)) {
            Some(index) => failed.push((*index, reason)),
            // A failure that names no item: every item is tried again on its own.
            None => failed.extend(indices.iter().map(|i| (*i, reason.clone()))),
        }
    }
    if failed.is_empty() && status.failed.unwrap_or(0) > 0 {
        failed = all("the job reported items failed without naming them".into());
    }
    Ok(failed)
}

/// One item on its own. A create that finds the resource already there updates it to the
/// plan's attributes instead; a delete that finds nothing is done. Returns the writes sent.
async fn one(
    client: &Client,
    kind: &'static CatalogKind,
    action: Action,
    entry: &Value,
) -> (Result<()>, usize) {
    let object = resource_object(kind, action, entry);
    let no_options = RequestOptions::default();
    match action {
        Action::Create => {
            let body = json!({"data": object});
            match call(
                client,
                kind.create,
                &[],
                Vec::new(),
                Some(body),
                &no_options,
            )
            .await
            {
                Ok(_) => (Ok(()), 1),
                Err(Error::Conflict(_)) => {
                    let id = super::plan::catalog_id(&entry_external_id(entry));
                    let mut update = object;
                    update["id"] = json!(id);
                    if let Some(attributes) = update["attributes"].as_object_mut() {
                        for key in ["external_id", "catalog_type", "integration_type"] {
                            attributes.remove(key);
                        }
                    }
                    if kind.kind == VARIANTS.kind {
                        // A variant's item cannot be changed by an update.
                        update.as_object_mut().map(|o| o.remove("relationships"));
                    }
                    (update_one(client, kind, &id, update).await, 2)
                }
                Err(e) => (Err(e), 1),
            }
        }
        Action::Update => {
            let id = object["id"].as_str().unwrap_or_default().to_string();
            (update_one(client, kind, &id, object).await, 1)
        }
        Action::Delete => {
            let id = object["id"].as_str().unwrap_or_default().to_string();
            match call(
                client,
                kind.delete,
                &[("id", &id)],
                Vec::new(),
                None,
                &no_options,
            )
            .await
            {
                Ok(_) | Err(Error::NotFound(_)) => (Ok(()), 1),
                Err(e) => (Err(e), 1),
            }
        }
    }
}

/// Updates one resource with its resource object.
async fn update_one(client: &Client, kind: &CatalogKind, id: &str, object: Value) -> Result<()> {
    let body = Some(json!({"data": object}));
    call(
        client,
        kind.update,
        &[("id", id)],
        Vec::new(),
        body,
        &RequestOptions::default(),
    )
    .await
    .map(|_| ())
}
