//! Catalog items, variants and categories: CRUD, list, and bulk create/update/delete jobs
//! chunked to 100 per job with no more than 500 jobs in flight.

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::{all_valid, call, call_one, envelope, non_empty, pager, send_batch};
use crate::bulk::{BulkReport, Item, PollOptions, chunk};
use crate::client::{Client, RequestOptions};
use crate::error::{BulkFailure, Result};
use crate::jobs::{JobKind, Jobs};
use crate::operations::bulk_limit;
use crate::pagination::{ListParams, Pager};
use crate::resource::Resource;

/// The operations behind one catalog resource type.
#[derive(Debug)]
pub struct CatalogKind {
    /// JSON:API type, e.g. `catalog-item`.
    pub kind: &'static str,
    /// Key of the items in a bulk job body (`items`, `variants`, `categories`).
    pub bulk_key: &'static str,
    pub(crate) create: &'static str,
    pub(crate) get: &'static str,
    pub(crate) update: &'static str,
    pub(crate) delete: &'static str,
    pub(crate) list: &'static str,
    /// (operation, job type, job kind) for create, update, delete.
    pub(crate) bulk: [(&'static str, &'static str, JobKind); 3],
}

/// Catalog items.
pub static ITEMS: CatalogKind = CatalogKind {
    kind: "catalog-item",
    bulk_key: "items",
    create: "create_catalog_item",
    get: "get_catalog_item",
    update: "update_catalog_item",
    delete: "delete_catalog_item",
    list: "get_catalog_items",
    bulk: [
        (
            "bulk_create_catalog_items",
            "catalog-item-bulk-create-job",
            JobKind::CatalogItemCreate,
        ),
        (
            "bulk_update_catalog_items",
            "catalog-item-bulk-update-job",
            JobKind::CatalogItemUpdate,
        ),
        (
            "bulk_delete_catalog_items",
            "catalog-item-bulk-delete-job",
            JobKind::CatalogItemDelete,
        ),
    ],
};

/// Catalog variants.
pub static VARIANTS: CatalogKind = CatalogKind {
    kind: "catalog-variant",
    bulk_key: "variants",
    create: "create_catalog_variant",
    get: "get_catalog_variant",
    update: "update_catalog_variant",
    delete: "delete_catalog_variant",
    list: "get_catalog_variants",
    bulk: [
        (
            "bulk_create_catalog_variants",
            "catalog-variant-bulk-create-job",
            JobKind::CatalogVariantCreate,
        ),
        (
            "bulk_update_catalog_variants",
            "catalog-variant-bulk-update-job",
            JobKind::CatalogVariantUpdate,
        ),
        (
            "bulk_delete_catalog_variants",
            "catalog-variant-bulk-delete-job",
            JobKind::CatalogVariantDelete,
        ),
    ],
};

/// Catalog categories.
pub static CATEGORIES: CatalogKind = CatalogKind {
    kind: "catalog-category",
    bulk_key: "categories",
    create: "create_catalog_category",
    get: "get_catalog_category",
    update: "update_catalog_category",
    delete: "delete_catalog_category",
    list: "get_catalog_categories",
    bulk: [
        (
            "bulk_create_catalog_categories",
            "catalog-category-bulk-create-job",
            JobKind::CatalogCategoryCreate,
        ),
        (
            "bulk_update_catalog_categories",
            "catalog-category-bulk-update-job",
            JobKind::CatalogCategoryUpdate,
        ),
        (
            "bulk_delete_catalog_categories",
            "catalog-category-bulk-delete-job",
            JobKind::CatalogCategoryDelete,
        ),
    ],
};

/// One catalog resource type (items, variants or categories).
pub struct Catalog<'a> {
    pub(crate) client: &'a Client,
    pub(crate) kind: &'static CatalogKind,
}

#[derive(Clone, Copy)]
enum BulkAction {
    Create,
    Update,
    Delete,
}

impl Catalog<'_> {
    /// Creates one (attributes as the API documents them, e.g. `external_id`, `title`,
    /// `catalog_type`, `integration_type`, `url`…; relationships optional).
    pub async fn create(
        &self,
        attributes: Value,
        relationships: Option<Value>,
    ) -> Result<Resource> {
        call_one(
            self.client,
            self.kind.create,
            &[],
            Some(envelope(self.kind.kind, None, attributes, relationships)),
        )
        .await
    }
    /// Gets one by id (e.g. `$custom:::$default:::SKU-1`).
    pub async fn get(&self, id: &str) -> Result<Resource> {
        call_one(
            self.client,
            self.kind.get,
            &[("id", non_empty("catalog id", id)?)],
            None,
        )
        .await
    }
    /// Updates attributes.
    pub async fn update(&self, id: &str, attributes: Value) -> Result<Resource> {
        let id = non_empty("catalog id", id)?;
        call_one(
            self.client,
            self.kind.update,
            &[("id", id)],
            Some(envelope(self.kind.kind, Some(id), attributes, None)),
        )
        .await
    }
    /// Deletes one.
    pub async fn delete(&self, id: &str) -> Result<()> {
        call(
            self.client,
            self.kind.delete,
            &[("id", non_empty("catalog id", id)?)],
            Vec::new(),
            None,
            &RequestOptions::default(),
        )
        .await
        .map(|_| ())
    }
    /// Lists them.
    pub fn list(&self, params: ListParams) -> Result<Pager> {
        pager(self.client, self.kind.list, &[], params)
    }
    /// Bulk create: `resources` are attribute objects; a `relationships` member (a variant's
    /// `item`, an item's `categories`) is sent as the resource's relationships. With `poll`,
    /// waits for every job and reports the items the jobs rejected.
    pub async fn bulk_create(
        &self,
        resources: Vec<Value>,
        poll: Option<&PollOptions>,
    ) -> Result<BulkReport> {
        self.bulk(BulkAction::Create, resources, poll).await
    }
    /// Bulk update: `resources` are `{"id": .., ..attributes}` objects.
    pub async fn bulk_update(
        &self,
        resources: Vec<Value>,
        poll: Option<&PollOptions>,
    ) -> Result<BulkReport> {
        self.bulk(BulkAction::Update, resources, poll).await
    }
    /// Bulk delete by id.
    pub async fn bulk_delete(
        &self,
        ids: &[&str],
        poll: Option<&PollOptions>,
    ) -> Result<BulkReport> {
        self.bulk(
            BulkAction::Delete,
            ids.iter().map(|id| json!({"id": id})).collect(),
            poll,
        )
        .await
    }

    async fn bulk(
        &self,
        action: BulkAction,
        resources: Vec<Value>,
        poll: Option<&PollOptions>,
    ) -> Result<BulkReport> {
        let (op, job_type, job_kind) = self.kind.bulk[action as usize];
        let limit = bulk_limit(op);
        let total = resources.len();
        let checked = resources
            .into_iter()
            .enumerate()
            .map(|(index, resource)| {
                let Value::Object(mut attributes) = resource else {
                    return Err(BulkFailure {
                        index,
                        key: None,
                        reason: "each item must be a JSON object".into(),
                    });
                };
                let id = attributes
                    .remove("id")
                    .and_then(|v| v.as_str().map(str::to_string));
                let needs_id = !matches!(action, BulkAction::Create);
                if needs_id && id.as_deref().is_none_or(str::is_empty) {
                    return Err(BulkFailure {
                        index,
                        key: None,
                        reason: "item has no \"id\"".into(),
                    });
                }
                let key = id.clone().or_else(|| {
                    attributes
                        .get("external_id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
                let delete = matches!(action, BulkAction::Delete);
                let object = bulk_resource_object(self.kind, delete, id.as_deref(), attributes);
                Ok(Item::new(index, key, object))
            })
            .collect();
        let items = all_valid(checked)?;
        let jobs = Jobs {
            client: self.client,
        };
        let mut in_flight: VecDeque<String> = VecDeque::new();
        let mut report = BulkReport::default();
        for batch in chunk(items, limit)? {
            // Klaviyo allows a bounded number of catalog jobs in progress: wait for the oldest.
            if let Some(max) = limit.max_jobs_in_flight {
                while in_flight.len() >= max {
                    let oldest = in_flight.pop_front().expect("non-empty");
                    jobs.wait(job_kind, &oldest, poll.unwrap_or(&PollOptions::default()))
                        .await?;
                }
            }
            let body = |data: Vec<Value>| {
                envelope(
                    job_type,
                    None,
                    json!({self.kind.bulk_key: {"data": data}}),
                    None,
                )
            };
            if let Some(id) = send_batch(self.client, op, &[], batch, body, &mut report).await {
                in_flight.push_back(id);
            }
        }
        if let Some(poll) = poll {
            for job in report.jobs.clone() {
                let Some(id) = &job.id else { continue };
                let status = jobs.wait(job_kind, id, poll).await?;
                let failed = status.failed.unwrap_or(0) as usize;
                if failed == 0 && status.errors.is_empty() {
                    continue;
                }
                report.accepted -= failed.min(job.item_count);
                for (position, reason) in job_failures(&status.errors, self.kind.bulk_key) {
                    let index = position
                        .filter(|p| *p < job.item_count)
                        .map_or(job.first_index, |p| job.first_index + p);
                    report.failures.push(BulkFailure {
                        index,
                        key: None,
                        reason,
                    });
                }
            }
        }
        report.into_result(total)
    }
}

/// One resource of a bulk job: for a delete its type and id; otherwise its attributes, with
/// a `relationships` member among them sent as the resource's relationships.
pub(crate) fn bulk_resource_object(
    kind: &CatalogKind,
    delete: bool,
    id: Option<&str>,
    mut attributes: serde_json::Map<String, Value>,
) -> Value {
    let relationships = attributes.remove("relationships");
    let mut object = if delete {
        json!({"type": kind.kind, "id": id})
    } else {
        crate::resource::resource_object(kind.kind, id, Value::Object(attributes))
    };
    if let Some(relationships) = relationships.filter(|r| !r.is_null()) {
        object["relationships"] = relationships;
    }
    object
}

/// The items a finished catalog job reports as failed: each error's position in the job
/// (its `source.pointer`, `/data/attributes/items/data/<n>/…`) where it names one, and why.
pub(crate) fn job_failures(errors: &[Value], bulk_key: &str) -> Vec<(Option<usize>, String)> {
    errors
        .iter()
        .map(|error| {
            let reason = error
                .get("detail")
                .and_then(Value::as_str)
                .unwrap_or("rejected by the job")
                .to_string();
            let position = error
                .pointer("/source/pointer")
                .and_then(Value::as_str)
                .and_then(|pointer| {
                    let segments: Vec<&str> = pointer.split('/').collect();
                    segments
                        .windows(3)
                        .find(|w| w[0] == bulk_key && w[1] == "data")
                        .and_then(|w| w[2].parse::<usize>().ok())
                });
            (position, reason)
        })
        .collect()
}
