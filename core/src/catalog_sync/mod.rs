//! Catalog feed sync: read a product feed ([`feed`]), check it and turn it into the catalog it
//! describes ([`lint`], with a field [`mapping`]), compare that with the catalog and plan the
//! difference ([`plan`]), and apply the plan in bulk jobs ([`apply`]), one sync per account
//! at a time ([`lock`]). Nothing is sent while the feed has a problem (unless told to leave
//! the bad records out), and a plan that would delete more than a set share of the catalog is
//! refused unless forced: a broken or empty feed never wipes a catalog.
//!
//! ```no_run
//! # async fn demo(client: klaviyo_bridge::Client) -> klaviyo_bridge::Result<()> {
//! use klaviyo_bridge::catalog_sync::{Feed, SyncOptions};
//! let report = client
//!     .catalogs()
//!     .sync(Feed::file("products.xml"), SyncOptions { delete_missing: true, ..SyncOptions::default() })
//!     .await?;
//! println!("{} created, {} updated, {} deleted", report.created, report.updated, report.deleted);
//! # Ok(()) }
//! ```

pub mod apply;
pub mod feed;
pub mod lint;
pub mod lock;
pub mod mapping;
pub mod plan;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use apply::SyncFailure;
pub use feed::{Feed, FeedFormat};
pub use lint::FeedProblem;
pub use mapping::FeedMapping;
pub use plan::{PlanSummary, SyncPlan};

use crate::api::CatalogsApi;
use crate::bulk::PollOptions;
use crate::client::Client;
use crate::error::{BulkFailure, Error, Result};

/// Where a sync is, for a progress display.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncProgress {
    /// What it is doing (`reading feed`, `reading catalog items`, `create items`…).
    pub phase: String,
    /// How much of it is done.
    pub done: usize,
    /// How much there is (0 when not known).
    pub total: usize,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&SyncProgress) + Send + Sync>;

/// How a sync runs.
#[derive(Clone)]
pub struct SyncOptions {
    /// Feed fields to catalog attributes.
    pub mapping: FeedMapping,
    /// Delete catalog items, variants and categories the feed does not have.
    pub delete_missing: bool,
    /// Plan only: read the feed and the catalog, send nothing.
    pub dry_run: bool,
    /// Leave records with problems out (reported in `skipped`) instead of sending nothing.
    pub skip_invalid: bool,
    /// Apply a plan even when it deletes more than `max_delete_share` of the catalog.
    pub force: bool,
    /// The largest share of the catalog's items (or variants) a plan may delete (0.10).
    pub max_delete_share: f64,
    /// Bulk jobs in flight at once (at most the API's 500).
    pub concurrency: usize,
    /// How jobs are polled.
    pub poll: PollOptions,
    /// Where the per-account lock file lives (default: the system's temporary directory).
    pub lock_dir: Option<PathBuf>,
    /// Write the full plan here as JSON (atomically).
    pub plan_out: Option<PathBuf>,
    /// Called as the sync moves on.
    pub progress: Option<ProgressFn>,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            mapping: FeedMapping::default(),
            delete_missing: false,
            dry_run: false,
            skip_invalid: false,
            force: false,
            max_delete_share: 0.10,
            concurrency: 16,
            poll: PollOptions {
                interval: std::time::Duration::from_millis(100),
                ..PollOptions::default()
            },
            lock_dir: None,
            plan_out: None,
            progress: None,
        }
    }
}

impl std::fmt::Debug for SyncOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncOptions")
            .field("mapping", &self.mapping)
            .field("delete_missing", &self.delete_missing)
            .field("dry_run", &self.dry_run)
            .field("skip_invalid", &self.skip_invalid)
            .field("force", &self.force)
            .field("max_delete_share", &self.max_delete_share)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

impl SyncOptions {
    pub(crate) fn report(&self, progress: &SyncProgress) {
        if let Some(callback) = &self.progress {
            callback(progress);
        }
    }
}

/// What a sync did (or, for a dry run, would do). The same fields in every language.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Nothing was sent.
    pub dry_run: bool,
    /// Feed records read (0 when a plan file was applied).
    pub records: u64,
    /// Records left out for their problems (`skip_invalid`).
    pub skipped: Vec<FeedProblem>,
    /// The plan's counts.
    pub plan: PlanSummary,
    /// Resources created.
    pub created: usize,
    /// Resources updated.
    pub updated: usize,
    /// Resources deleted.
    pub deleted: usize,
    /// Resources the feed and the catalog agree on.
    pub unchanged: usize,
    /// What failed, with reasons.
    pub failed: Vec<SyncFailure>,
    /// Bulk jobs submitted.
    pub jobs: usize,
    /// Write requests sent (job submissions and single-item calls).
    pub writes: usize,
    /// Pages of the catalog read to make the plan.
    pub reads: usize,
    /// Where the full plan was written, if asked.
    pub plan_file: Option<String>,
}

/// Reads and checks a feed. With problems and without `skip_invalid`, fails listing every one
/// (as [`Error::BulkPartial`], one failure per problem: its index the record's position from 0,
/// its reason starting with where it is).
pub fn lint_feed(feed: &Feed, options: &SyncOptions) -> Result<lint::FeedCatalog> {
    options.mapping.check()?;
    let mut linter = lint::Linter::new(&options.mapping);
    let mut read = 0usize;
    feed::read(feed, &mut |record| {
        linter.add(record);
        read += 1;
        if read.is_multiple_of(10_000) {
            options.report(&SyncProgress {
                phase: "reading feed".into(),
                done: read,
                total: 0,
            });
        }
        Ok(())
    })?;
    let catalog = linter.finish();
    if !catalog.problems.is_empty() && !options.skip_invalid {
        return Err(Error::BulkPartial {
            failures: catalog
                .problems
                .iter()
                .map(|p| BulkFailure {
                    index: p.record.saturating_sub(1) as usize,
                    key: p.external_id.clone(),
                    reason: format!("{}: {}", p.location, p.reason),
                })
                .collect(),
            total: catalog.records as usize,
            accepted: 0,
        });
    }
    if catalog.items.is_empty() {
        return Err(Error::InvalidInput(format!(
            "the feed has no products it can sync ({} records read{}); an empty feed never \
             changes the catalog",
            catalog.records,
            if catalog.problems.is_empty() {
                String::new()
            } else {
                format!(", {} problems", catalog.problems.len())
            }
        )));
    }
    Ok(catalog)
}

fn lock(client: &Client, options: &SyncOptions) -> Result<lock::SyncLock> {
    let dir = options.lock_dir.clone().unwrap_or_else(std::env::temp_dir);
    lock::acquire(client, &dir)
}

fn write_plan(plan: &SyncPlan, path: &Path) -> Result<String> {
    let cannot = |e: &dyn std::fmt::Display| {
        Error::InvalidInput(format!("cannot write the plan to {}: {e}", path.display()))
    };
    let partial = path.with_extension("partial");
    let text = serde_json::to_vec_pretty(plan).map_err(|e| cannot(&e))?;
    std::fs::write(&partial, text).map_err(|e| cannot(&e))?;
    std::fs::rename(&partial, path).map_err(|e| cannot(&e))?;
    Ok(path.display().to_string())
}

/// Reads a plan written by a dry run.
pub fn read_plan(path: &Path) -> Result<SyncPlan> {
    let text = std::fs::read(path).map_err(|e| {
        Error::InvalidInput(format!("cannot read the plan {}: {e}", path.display()))
    })?;
    let plan: SyncPlan = serde_json::from_slice(&text).map_err(|e| {
        Error::InvalidInput(format!(
            "{} is not a catalog sync plan: {e}",
            path.display()
        ))
    })?;
    if plan.version != SyncPlan::VERSION {
        return Err(Error::InvalidInput(format!(
            "{} is a plan of format {}; this version applies format {}",
            path.display(),
            plan.version,
            SyncPlan::VERSION
        )));
    }
    Ok(plan)
}

async fn run_plan(
    client: &Client,
    plan: SyncPlan,
    options: &SyncOptions,
    mut report: SyncReport,
) -> Result<SyncReport> {
    report.plan = plan.summary();
    report.unchanged = plan.items.unchanged + plan.variants.unchanged + plan.categories.unchanged;
    if let Some(path) = &options.plan_out {
        report.plan_file = Some(write_plan(&plan, path)?);
    }
    if !options.force
        && let Some(reason) = plan::guard(&plan, options.max_delete_share)
    {
        return Err(Error::InvalidInput(reason));
    }
    if options.dry_run {
        report.dry_run = true;
        return Ok(report);
    }
    let applied = apply::apply(client, &plan, options).await?;
    report.created = applied.created;
    report.updated = applied.updated;
    report.deleted = applied.deleted;
    report.failed = applied.failed;
    report.jobs = applied.jobs;
    report.writes = applied.writes;
    Ok(report)
}

/// Plans the difference between `feed` and the catalog and applies it (or, with `dry_run`,
/// only plans it).
pub async fn sync(client: &Client, feed: Feed, options: &SyncOptions) -> Result<SyncReport> {
    let _lock = lock(client, options)?;
    // Reading a large feed is seconds of blocking work: off the async workers.
    let lint_options = options.clone();
    let mut catalog_feed = tokio::task::spawn_blocking(move || lint_feed(&feed, &lint_options))
        .await
        .map_err(|e| Error::InvalidInput(format!("reading the feed failed: {e}")))??;
    let progress = |phase: &str, done: usize| {
        options.report(&SyncProgress {
            phase: phase.into(),
            done,
            total: 0,
        });
    };
    let mut report = SyncReport {
        records: catalog_feed.records,
        skipped: std::mem::take(&mut catalog_feed.problems),
        ..SyncReport::default()
    };
    let (plan, reads) = plan::plan(client, catalog_feed, options.delete_missing, &progress).await?;
    report.reads = reads;
    run_plan(client, plan, options, report).await
}

/// Applies a plan a dry run wrote, exactly as written (the delete guard applies again).
pub async fn apply_plan(
    client: &Client,
    plan: SyncPlan,
    options: &SyncOptions,
) -> Result<SyncReport> {
    let _lock = lock(client, options)?;
    let options = SyncOptions {
        plan_out: None,
        ..options.clone()
    };
    run_plan(client, plan, &options, SyncReport::default()).await
}

impl CatalogsApi<'_> {
    /// Syncs the catalog with a product feed: see [`crate::catalog_sync`].
    pub async fn sync(&self, feed: Feed, options: SyncOptions) -> Result<SyncReport> {
        sync(self.client, feed, &options).await
    }

    /// Applies a plan written by a dry run (`plan_out`).
    pub async fn apply_plan(&self, plan: SyncPlan, options: SyncOptions) -> Result<SyncReport> {
        apply_plan(self.client, plan, &options).await
    }
}
