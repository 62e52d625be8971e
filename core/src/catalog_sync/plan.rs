//! The difference between a feed and the catalog: what to create, what to update (only the
//! attributes that changed), what to delete, and how much is unchanged. A plan is plain data:
//! written as JSON by a dry run, it is applied later exactly as it was written.

use std::collections::{BTreeSet, HashMap};

use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::lint::FeedCatalog;
use crate::client::Client;
use crate::error::Result;
use crate::pagination::ListParams;
use crate::resource::Resource;

/// Catalog ids are `$custom:::$default:::<external id>`: the only integration and catalog
/// type the API supports today, and the ones a sync manages.
pub const MANAGED_PREFIX: &str = "$custom:::$default:::";

/// A catalog id from an external id.
pub fn catalog_id(external_id: &str) -> String {
    format!("{MANAGED_PREFIX}{external_id}")
}

/// The changes to one resource type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Changes {
    /// Resources to create: their attributes with `external_id`, and `relationships`.
    pub create: Vec<Value>,
    /// Resources to update: `id` and the attributes that changed (and `relationships` when
    /// an item's categories changed).
    pub update: Vec<Value>,
    /// Catalog ids to delete.
    pub delete: Vec<String>,
    /// How many are the same in the feed and the catalog.
    pub unchanged: usize,
}

/// Counts of one resource type's changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ChangeCounts {
    /// To create.
    pub create: usize,
    /// To update.
    pub update: usize,
    /// To delete.
    pub delete: usize,
    /// Unchanged.
    pub unchanged: usize,
}

impl Changes {
    /// The counts.
    pub fn counts(&self) -> ChangeCounts {
        ChangeCounts {
            create: self.create.len(),
            update: self.update.len(),
            delete: self.delete.len(),
            unchanged: self.unchanged,
        }
    }
    fn is_empty(&self) -> bool {
        self.create.is_empty() && self.update.is_empty() && self.delete.is_empty()
    }
}

/// How many of each type the catalog held when the plan was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogSize {
    /// Items.
    pub items: usize,
    /// Variants.
    pub variants: usize,
    /// Categories.
    pub categories: usize,
}

/// Every change a sync makes, by type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncPlan {
    /// The plan format (1).
    pub version: u32,
    /// The catalog's size when the plan was made (for the delete guard).
    pub catalog: CatalogSize,
    /// Categories.
    pub categories: Changes,
    /// Items.
    pub items: Changes,
    /// Variants.
    pub variants: Changes,
}

/// A plan's counts, by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    /// Categories.
    pub categories: ChangeCounts,
    /// Items.
    pub items: ChangeCounts,
    /// Variants.
    pub variants: ChangeCounts,
}

impl SyncPlan {
    /// The current plan format.
    pub const VERSION: u32 = 1;

    /// The counts.
    pub fn summary(&self) -> PlanSummary {
        PlanSummary {
            categories: self.categories.counts(),
            items: self.items.counts(),
            variants: self.variants.counts(),
        }
    }

    /// Whether applying it would change nothing.
    pub fn is_empty(&self) -> bool {
        self.categories.is_empty() && self.items.is_empty() && self.variants.is_empty()
    }
}

/// The catalog as read: each type's managed resources by external id.
#[derive(Debug, Default)]
pub struct CatalogSnapshot {
    items: HashMap<String, Map<String, Value>>,
    variants: HashMap<String, (Option<String>, Map<String, Value>)>,
    categories: HashMap<String, Map<String, Value>>,
    item_categories: HashMap<String, BTreeSet<String>>,
    size: CatalogSize,
}

/// The external id of a managed resource, or `None` for one another integration owns.
fn managed_external_id(resource: &Resource) -> Option<String> {
    resource
        .id()
        .and_then(|id| id.strip_prefix(MANAGED_PREFIX))
        .map(str::to_string)
}

/// Reads the catalog: every item, variant and category (auto-paginated, the largest pages the
/// API allows), and each category's items.
pub async fn read_catalog(
    client: &Client,
    progress: &(dyn Fn(&str, usize) + Sync),
) -> Result<CatalogSnapshot> {
    let mut snapshot = CatalogSnapshot::default();
    let largest = || ListParams {
        page_size: Some(100),
        ..ListParams::default()
    };
    let mut categories = client.catalog_categories().list(largest())?.items();
    while let Some(category) = categories.try_next().await? {
        snapshot.size.categories += 1;
        if let Some(external_id) = managed_external_id(&category) {
            snapshot
                .categories
                .insert(external_id, category.attributes().clone());
        }
    }
    let mut items = client.catalog_items().list(largest())?.items();
    while let Some(item) = items.try_next().await? {
        snapshot.size.items += 1;
        if let Some(external_id) = managed_external_id(&item) {
            snapshot
                .items
                .insert(external_id, item.attributes().clone());
        }
        if snapshot.size.items.is_multiple_of(1_000) {
            progress("reading catalog items", snapshot.size.items);
        }
    }
    let mut variants = client.catalog_variants().list(largest())?.items();
    while let Some(variant) = variants.try_next().await? {
        snapshot.size.variants += 1;
        if let Some(external_id) = managed_external_id(&variant) {
            let item = variant
                .raw()
                .pointer("/relationships/item/data/id")
                .and_then(Value::as_str)
                .and_then(|id| id.strip_prefix(MANAGED_PREFIX))
                .map(str::to_string);
            snapshot
                .variants
                .insert(external_id, (item, variant.attributes().clone()));
        }
        if snapshot.size.variants.is_multiple_of(1_000) {
            progress("reading catalog variants", snapshot.size.variants);
        }
    }
    // Category membership is read per category (few), not per item (many).
    let category_ids: Vec<String> = snapshot.categories.keys().cloned().collect();
    for category in category_ids {
        let id = catalog_id(&category);
        let mut members = crate::resources::pager(
            client,
            "get_items_for_catalog_category",
            &[("id", &id)],
            ListParams {
                page_size: Some(100),
                fields: vec![("catalog-item".into(), vec!["external_id".into()])],
                ..ListParams::default()
            },
        )?
        .items();
        while let Some(item) = members.try_next().await? {
            if let Some(external_id) = managed_external_id(&item) {
                snapshot
                    .item_categories
                    .entry(external_id)
                    .or_default()
                    .insert(category.clone());
            }
        }
    }
    Ok(snapshot)
}

/// Whether a catalog attribute already has the feed's value (numbers by value, so `10` and
/// `10.0` are the same price).
fn same(current: Option<&Value>, wanted: &Value) -> bool {
    match (current, wanted) {
        (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Some(current), wanted) => current == wanted,
        (None, _) => false,
    }
}

fn changed_attributes(
    current: &Map<String, Value>,
    wanted: &Map<String, Value>,
) -> Map<String, Value> {
    wanted
        .iter()
        .filter(|(key, value)| !same(current.get(*key), value))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn categories_relationship(ids: &BTreeSet<String>) -> Value {
    json!({"categories": {"data": ids.iter().map(|c| json!({"type": "catalog-category", "id": catalog_id(c)})).collect::<Vec<_>>()}})
}

/// The plan that makes the catalog equal to the feed. Without `delete_missing`, nothing is
/// deleted.
pub fn diff(feed: &FeedCatalog, catalog: &CatalogSnapshot, delete_missing: bool) -> SyncPlan {
    let mut plan = SyncPlan {
        version: SyncPlan::VERSION,
        catalog: catalog.size,
        ..SyncPlan::default()
    };
    for (external_id, name) in &feed.categories {
        match catalog.categories.get(external_id) {
            None => plan
                .categories
                .create
                .push(json!({"external_id": external_id, "name": name})),
            Some(current) if current.get("name") != Some(&Value::String(name.clone())) => plan
                .categories
                .update
                .push(json!({"id": catalog_id(external_id), "name": name})),
            Some(_) => plan.categories.unchanged += 1,
        }
    }
    let no_categories = BTreeSet::new();
    for (external_id, desired) in &feed.items {
        let categories = feed
            .item_categories
            .get(external_id)
            .unwrap_or(&no_categories);
        match catalog.items.get(external_id) {
            None => {
                let mut create = desired.attributes.clone();
                create.insert("external_id".into(), json!(external_id));
                if !categories.is_empty() {
                    create.insert("relationships".into(), categories_relationship(categories));
                }
                plan.items.create.push(Value::Object(create));
            }
            Some(current) => {
                let mut update = changed_attributes(current, &desired.attributes);
                let current_categories = catalog
                    .item_categories
                    .get(external_id)
                    .unwrap_or(&no_categories);
                if current_categories != categories {
                    update.insert("relationships".into(), categories_relationship(categories));
                }
                if update.is_empty() {
                    plan.items.unchanged += 1;
                } else {
                    update.insert("id".into(), json!(catalog_id(external_id)));
                    plan.items.update.push(Value::Object(update));
                }
            }
        }
    }
    for (external_id, (item, desired)) in &feed.variants {
        let create = || {
            let mut create = desired.attributes.clone();
            create.insert("external_id".into(), json!(external_id));
            create.insert(
                "relationships".into(),
                json!({"item": {"data": {"type": "catalog-item", "id": catalog_id(item)}}}),
            );
            Value::Object(create)
        };
        match catalog.variants.get(external_id) {
            None => plan.variants.create.push(create()),
            // A variant cannot move to another item: it is deleted and created again.
            Some((current_item, _)) if current_item.as_deref() != Some(item.as_str()) => {
                plan.variants.delete.push(catalog_id(external_id));
                plan.variants.create.push(create());
            }
            Some((_, current)) => {
                let mut update = changed_attributes(current, &desired.attributes);
                if update.is_empty() {
                    plan.variants.unchanged += 1;
                } else {
                    update.insert("id".into(), json!(catalog_id(external_id)));
                    plan.variants.update.push(Value::Object(update));
                }
            }
        }
    }
    if delete_missing {
        let missing = |have: Vec<&String>, wanted: &dyn Fn(&str) -> bool| -> Vec<String> {
            let mut ids: Vec<String> = have
                .into_iter()
                .filter(|id| !wanted(id))
                .map(|id| catalog_id(id))
                .collect();
            ids.sort();
            ids
        };
        plan.items.delete = missing(catalog.items.keys().collect(), &|id| {
            feed.items.contains_key(id)
        });
        let mut variants = missing(catalog.variants.keys().collect(), &|id| {
            feed.variants.contains_key(id)
        });
        variants.extend(std::mem::take(&mut plan.variants.delete));
        variants.sort();
        variants.dedup();
        plan.variants.delete = variants;
        plan.categories.delete = missing(catalog.categories.keys().collect(), &|id| {
            feed.categories.contains_key(id)
        });
    }
    plan
}

/// Why a plan may not be applied without `force`: it deletes more than `max_share` of the
/// items or variants the catalog held.
pub fn guard(plan: &SyncPlan, max_share: f64) -> Option<String> {
    let checks = [
        ("items", plan.items.delete.len(), plan.catalog.items),
        (
            "variants",
            plan.variants.delete.len(),
            plan.catalog.variants,
        ),
    ];
    checks.into_iter().find_map(|(what, deleting, held)| {
        let share = if held == 0 {
            0.0
        } else {
            deleting as f64 / held as f64
        };
        (deleting > 0 && share > max_share).then(|| {
            format!(
                "the plan deletes {deleting} of the catalog's {held} {what} ({:.1}%), more than \
                 the {:.1}% a sync may delete; check the feed is complete, then pass force (CLI \
                 --force) or raise the share (--max-delete-share)",
                share * 100.0,
                max_share * 100.0
            )
        })
    })
}

/// External ids by catalog id, for reports.
pub fn external_id(catalog_id: &str) -> &str {
    catalog_id
        .strip_prefix(MANAGED_PREFIX)
        .unwrap_or(catalog_id)
}
