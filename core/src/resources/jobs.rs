//! Bulk jobs: read a job's status and wait for it to finish.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::{call_one, non_empty};
use crate::bulk::PollOptions;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::resource::Resource;

/// The kinds of bulk job the client can poll, each with its `get` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum JobKind {
    /// Profile bulk import.
    ProfileImport,
    /// Profile suppression.
    Suppress,
    /// Lifting suppressions.
    Unsuppress,
    /// Catalog item bulk create.
    CatalogItemCreate,
    /// Catalog item bulk update.
    CatalogItemUpdate,
    /// Catalog item bulk delete.
    CatalogItemDelete,
    /// Catalog variant bulk create.
    CatalogVariantCreate,
    /// Catalog variant bulk update.
    CatalogVariantUpdate,
    /// Catalog variant bulk delete.
    CatalogVariantDelete,
    /// Catalog category bulk create.
    CatalogCategoryCreate,
    /// Catalog category bulk update.
    CatalogCategoryUpdate,
    /// Catalog category bulk delete.
    CatalogCategoryDelete,
}

impl JobKind {
    /// The operation that reads this kind of job.
    pub fn get_operation(self) -> &'static str {
        match self {
            JobKind::ProfileImport => "get_bulk_import_profiles_job",
            JobKind::Suppress => "get_bulk_suppress_profiles_job",
            JobKind::Unsuppress => "get_bulk_unsuppress_profiles_job",
            JobKind::CatalogItemCreate => "get_bulk_create_catalog_items_job",
            JobKind::CatalogItemUpdate => "get_bulk_update_catalog_items_job",
            JobKind::CatalogItemDelete => "get_bulk_delete_catalog_items_job",
            JobKind::CatalogVariantCreate => "get_bulk_create_variants_job",
            JobKind::CatalogVariantUpdate => "get_bulk_update_variants_job",
            JobKind::CatalogVariantDelete => "get_bulk_delete_variants_job",
            JobKind::CatalogCategoryCreate => "get_bulk_create_categories_job",
            JobKind::CatalogCategoryUpdate => "get_bulk_update_categories_job",
            JobKind::CatalogCategoryDelete => "get_bulk_delete_categories_job",
        }
    }

    /// Parses `profile_import`, `catalog_item_create`… (for the bindings and CLI).
    pub fn parse(name: &str) -> Result<Self> {
        const ALL: [JobKind; 12] = [
            JobKind::ProfileImport,
            JobKind::Suppress,
            JobKind::Unsuppress,
            JobKind::CatalogItemCreate,
            JobKind::CatalogItemUpdate,
            JobKind::CatalogItemDelete,
            JobKind::CatalogVariantCreate,
            JobKind::CatalogVariantUpdate,
            JobKind::CatalogVariantDelete,
            JobKind::CatalogCategoryCreate,
            JobKind::CatalogCategoryUpdate,
            JobKind::CatalogCategoryDelete,
        ];
        ALL.into_iter().find(|k| k.name() == name).ok_or_else(|| {
            Error::InvalidInput(format!(
                "unknown job kind {name:?}; one of {}",
                ALL.map(JobKind::name).join(", ")
            ))
        })
    }

    /// Snake-case name.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::ProfileImport => "profile_import",
            JobKind::Suppress => "suppress",
            JobKind::Unsuppress => "unsuppress",
            JobKind::CatalogItemCreate => "catalog_item_create",
            JobKind::CatalogItemUpdate => "catalog_item_update",
            JobKind::CatalogItemDelete => "catalog_item_delete",
            JobKind::CatalogVariantCreate => "catalog_variant_create",
            JobKind::CatalogVariantUpdate => "catalog_variant_update",
            JobKind::CatalogVariantDelete => "catalog_variant_delete",
            JobKind::CatalogCategoryCreate => "catalog_category_create",
            JobKind::CatalogCategoryUpdate => "catalog_category_update",
            JobKind::CatalogCategoryDelete => "catalog_category_delete",
        }
    }
}

/// A job's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobStatus {
    /// Job id.
    pub id: String,
    /// `queued`, `processing`, `complete`, `cancelled` (or whatever the API adds).
    pub status: String,
    /// Items in the job.
    pub total: Option<u64>,
    /// Items done.
    pub completed: Option<u64>,
    /// Items that failed.
    pub failed: Option<u64>,
    /// Errors the job reports inline (catalog jobs).
    pub errors: Vec<Value>,
    /// The job resource as returned.
    pub raw: Value,
}

impl JobStatus {
    /// Reads a job resource.
    pub fn from_resource(resource: &Resource) -> Self {
        let count = |k: &str| resource.attr(k).and_then(Value::as_u64);
        JobStatus {
            id: resource.id().unwrap_or_default().to_string(),
            status: resource.attr_str("status").unwrap_or("unknown").to_string(),
            total: count("total_count"),
            completed: count("completed_count"),
            failed: count("failed_count"),
            errors: resource
                .attr("errors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            raw: resource.raw().clone(),
        }
    }

    /// Whether the job will not change any more.
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "complete" | "cancelled" | "failed")
    }
}

/// The `jobs` resource.
pub struct Jobs<'a> {
    pub(crate) client: &'a Client,
}

impl Jobs<'_> {
    /// Reads a job.
    pub async fn get(&self, kind: JobKind, id: &str) -> Result<JobStatus> {
        let resource = call_one(
            self.client,
            kind.get_operation(),
            &[("job_id", non_empty("job id", id)?)],
            None,
        )
        .await?;
        Ok(JobStatus::from_resource(&resource))
    }

    /// Polls a job with backoff until it finishes or `poll.timeout` passes.
    pub async fn wait(&self, kind: JobKind, id: &str, poll: &PollOptions) -> Result<JobStatus> {
        let deadline = Instant::now() + poll.timeout;
        let mut interval = poll.interval;
        loop {
            // A poll is a read: a transient failure (after the client's own retries) says
            // nothing about the job, so polling goes on until the deadline. Only then, or on
            // a failure that will not pass (the job is gone, the key is refused), does it fail.
            match self.get(kind, id).await {
                Ok(status) if status.is_finished() => return Ok(status),
                Ok(_) => {}
                Err(e) if e.is_transient() && Instant::now() + interval <= deadline => {
                    tracing::debug!(job = id, error = %e, "job poll failed; polling again");
                }
                Err(e) => return Err(e),
            }
            if Instant::now() + interval > deadline {
                return Err(Error::Timeout {
                    operation: kind.get_operation().into(),
                    elapsed: poll.timeout,
                });
            }
            tokio::time::sleep(interval).await;
            interval = (interval * 2)
                .min(poll.max_interval)
                .max(Duration::from_millis(1));
        }
    }
}
