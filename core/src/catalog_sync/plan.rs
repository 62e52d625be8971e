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

/// How many of each type the sync manages (`$custom:::$default:::` ids) the catalog held when
/// the plan was made: what the delete guard's share is of.
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

/// The external id of a managed resource, or `None` for one another integration owns.
fn managed_external_id(resource: &Resource) -> Option<String> {
    resource
        .id()
        .and_then(|id| id.strip_prefix(MANAGED_PREFIX))
        .map(str::to_string)
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

/// The feed's attributes that differ from the catalog's (an attribute the feed does not have
/// is left alone).
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

/// Builds the plan as the catalog is read, one resource at a time: each is compared with the
/// feed and dropped, and each feed entry leaves the feed once matched, so memory is the feed's
/// (and shrinks as the catalog is read), never the feed plus the catalog.
pub struct Planner {
    feed: FeedCatalog,
    delete_missing: bool,
    /// Each catalog item's categories (external ids), read before the items.
    memberships: HashMap<String, BTreeSet<String>>,
    plan: SyncPlan,
}

impl Planner {
    /// A plan to fill for `feed`.
    pub fn new(feed: FeedCatalog, delete_missing: bool) -> Self {
        Planner {
            feed,
            delete_missing,
            memberships: HashMap::new(),
            plan: SyncPlan {
                version: SyncPlan::VERSION,
                ..SyncPlan::default()
            },
        }
    }

    /// A category of the catalog (`external_id` `None`: one the sync does not manage).
    pub fn category(&mut self, external_id: Option<String>, name: Option<&Value>) {
        let Some(external_id) = external_id else {
            return;
        };
        self.plan.catalog.categories += 1;
        match self.feed.categories.remove(&external_id) {
            // A feed without a categories field says nothing about categories.
            None if self.delete_missing && self.feed.names_categories => {
                self.plan.categories.delete.push(catalog_id(&external_id));
            }
            None => {}
            Some(wanted) if name.and_then(Value::as_str) != Some(wanted.as_str()) => self
                .plan
                .categories
                .update
                .push(json!({"id": catalog_id(&external_id), "name": wanted})),
            Some(_) => self.plan.categories.unchanged += 1,
        }
    }

    /// `item` (external id) is in `category` (external id).
    pub fn member(&mut self, item: String, category: &str) {
        self.memberships
            .entry(item)
            .or_default()
            .insert(category.to_string());
    }

    /// An item of the catalog.
    pub fn item(&mut self, external_id: Option<String>, current: &Map<String, Value>) {
        let Some(external_id) = external_id else {
            return;
        };
        self.plan.catalog.items += 1;
        let Some(desired) = self.feed.items.remove(&external_id) else {
            if self.delete_missing {
                self.plan.items.delete.push(catalog_id(&external_id));
            }
            return;
        };
        let mut update = changed_attributes(current, &desired.attributes);
        let now = self.memberships.remove(&external_id).unwrap_or_default();
        // Categories change only for an item whose record names them.
        if let Some(wanted) = self.feed.item_categories.remove(&external_id)
            && now != wanted
        {
            update.insert("relationships".into(), categories_relationship(&wanted));
        }
        if update.is_empty() {
            self.plan.items.unchanged += 1;
        } else {
            update.insert("id".into(), json!(catalog_id(&external_id)));
            self.plan.items.update.push(Value::Object(update));
        }
    }

    /// A variant of the catalog, with its item's external id when the listing names it.
    pub fn variant(
        &mut self,
        external_id: Option<String>,
        item: Option<String>,
        current: &Map<String, Value>,
    ) {
        let Some(external_id) = external_id else {
            return;
        };
        self.plan.catalog.variants += 1;
        let Some((wanted_item, desired)) = self.feed.variants.remove(&external_id) else {
            if self.delete_missing {
                self.plan.variants.delete.push(catalog_id(&external_id));
            }
            return;
        };
        // A variant cannot move to another item: it is deleted and created again. (A listing
        // that does not name the variant's item is taken to mean the same item.)
        if item.is_some_and(|item| item != wanted_item) {
            self.plan.variants.delete.push(catalog_id(&external_id));
            self.feed
                .variants
                .insert(external_id, (wanted_item, desired));
            return;
        }
        let mut update = changed_attributes(current, &desired.attributes);
        if update.is_empty() {
            self.plan.variants.unchanged += 1;
        } else {
            update.insert("id".into(), json!(catalog_id(&external_id)));
            self.plan.variants.update.push(Value::Object(update));
        }
    }

    /// The plan: what is left of the feed is created.
    pub fn finish(mut self) -> SyncPlan {
        let plan = &mut self.plan;
        for (external_id, name) in std::mem::take(&mut self.feed.categories) {
            plan.categories
                .create
                .push(json!({"external_id": external_id, "name": name}));
        }
        for (external_id, desired) in std::mem::take(&mut self.feed.items) {
            let mut create = desired.attributes;
            let categories = self
                .feed
                .item_categories
                .remove(&external_id)
                .unwrap_or_default();
            create.insert("external_id".into(), json!(external_id));
            if !categories.is_empty() {
                create.insert("relationships".into(), categories_relationship(&categories));
            }
            plan.items.create.push(Value::Object(create));
        }
        for (external_id, (item, desired)) in std::mem::take(&mut self.feed.variants) {
            let mut create = desired.attributes;
            create.insert("external_id".into(), json!(external_id));
            create.insert(
                "relationships".into(),
                json!({"item": {"data": {"type": "catalog-item", "id": catalog_id(&item)}}}),
            );
            plan.variants.create.push(Value::Object(create));
        }
        for changes in [&mut plan.items, &mut plan.variants, &mut plan.categories] {
            changes.delete.sort();
            changes.delete.dedup();
        }
        self.plan
    }
}

/// Reads the catalog (auto-paginated, 100 per page): categories, each category's items (ids
/// only), items, variants; and plans the difference with `feed` as it goes. Returns the plan
/// and how many pages it read.
pub async fn plan(
    client: &Client,
    feed: FeedCatalog,
    delete_missing: bool,
    progress: &(dyn Fn(&str, usize) + Sync),
) -> Result<(SyncPlan, usize)> {
    let mut planner = Planner::new(feed, delete_missing);
    let mut reads = 0usize;
    let largest = |fields: Option<(&str, &str)>| ListParams {
        page_size: Some(100),
        fields: fields
            .map(|(kind, field)| vec![(kind.to_string(), vec![field.to_string()])])
            .unwrap_or_default(),
        ..ListParams::default()
    };
    let mut managed_categories = Vec::new();
    let mut pages = client.catalog_categories().list(largest(None))?.pages();
    while let Some(page) = pages.try_next().await? {
        reads += 1;
        for category in &page.data {
            let external_id = managed_external_id(category);
            managed_categories.extend(external_id.clone());
            planner.category(external_id, category.attr("name"));
        }
    }
    // Category membership is read per category (few), not per item (many).
    for category in &managed_categories {
        let id = catalog_id(category);
        let mut pages = crate::resources::pager(
            client,
            "get_items_for_catalog_category",
            &[("id", &id)],
            largest(Some(("catalog-item", "external_id"))),
        )?
        .pages();
        while let Some(page) = pages.try_next().await? {
            reads += 1;
            for item in &page.data {
                if let Some(external_id) = managed_external_id(item) {
                    planner.member(external_id, category);
                }
            }
        }
    }
    let mut pages = client.catalog_items().list(largest(None))?.pages();
    while let Some(page) = pages.try_next().await? {
        reads += 1;
        for item in &page.data {
            planner.item(managed_external_id(item), item.attributes());
        }
        progress("reading catalog items", planner.plan.catalog.items);
    }
    let mut pages = client.catalog_variants().list(largest(None))?.pages();
    while let Some(page) = pages.try_next().await? {
        reads += 1;
        for variant in &page.data {
            let item = variant
                .raw()
                .pointer("/relationships/item/data/id")
                .and_then(Value::as_str)
                .and_then(|id| id.strip_prefix(MANAGED_PREFIX))
                .map(str::to_string);
            planner.variant(managed_external_id(variant), item, variant.attributes());
        }
        progress("reading catalog variants", planner.plan.catalog.variants);
    }
    Ok((planner.finish(), reads))
}

/// Why a plan may not be applied without `force`: it deletes more than `max_share` of the
/// items, variants or categories the catalog held.
pub fn guard(plan: &SyncPlan, max_share: f64) -> Option<String> {
    let checks = [
        ("items", plan.items.delete.len(), plan.catalog.items),
        (
            "variants",
            plan.variants.delete.len(),
            plan.catalog.variants,
        ),
        (
            "categories",
            plan.categories.delete.len(),
            plan.catalog.categories,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog_sync::lint::Desired;

    fn desired(attributes: Value) -> Desired {
        Desired {
            attributes: attributes.as_object().unwrap().clone(),
            location: "line 2".into(),
            record: 1,
        }
    }

    fn attributes(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn feed() -> FeedCatalog {
        let mut feed = FeedCatalog::default();
        feed.items
            .insert("A".into(), desired(json!({"title": "Mug", "price": 10})));
        feed.items
            .insert("B".into(), desired(json!({"title": "Cup", "price": 4.5})));
        feed.items
            .insert("NEW".into(), desired(json!({"title": "New"})));
        feed.item_categories
            .insert("B".into(), ["kitchen".to_string()].into());
        feed.variants.insert(
            "A-1".into(),
            ("A".into(), desired(json!({"sku": "A-1", "price": 10}))),
        );
        feed.categories.insert("kitchen".into(), "Kitchen".into());
        feed.names_categories = true;
        feed
    }

    fn read_catalog(planner: &mut Planner) {
        planner.category(Some("kitchen".into()), Some(&json!("Kitchen")));
        planner.member("B".into(), "kitchen");
        planner.item(
            Some("A".into()),
            &attributes(json!({"title": "Mug", "price": 10.0})),
        );
        planner.item(
            Some("B".into()),
            &attributes(json!({"title": "Cup", "price": 4})),
        );
        planner.item(Some("GONE".into()), &Map::new());
        planner.item(None, &Map::new());
        // A listing that does not name the variant's item is not a move.
        planner.variant(
            Some("A-1".into()),
            None,
            &attributes(json!({"sku": "A-1", "price": 10})),
        );
    }

    #[test]
    fn updates_carry_only_what_changed_and_equal_numbers_are_unchanged() {
        let mut planner = Planner::new(feed(), false);
        read_catalog(&mut planner);
        let plan = planner.finish();
        assert_eq!(
            plan.catalog,
            // Only the resources the sync manages count (another integration's item not).
            CatalogSize {
                items: 3,
                variants: 1,
                categories: 1
            }
        );
        assert_eq!(plan.items.unchanged, 1);
        assert_eq!(
            plan.items.update,
            [json!({"price": 4.5, "id": "$custom:::$default:::B"})]
        );
        assert_eq!(
            plan.items.create,
            [json!({"title": "New", "external_id": "NEW"})]
        );
        assert_eq!(
            plan.variants.counts(),
            ChangeCounts {
                unchanged: 1,
                ..ChangeCounts::default()
            }
        );
        assert_eq!(plan.categories.unchanged, 1);
        assert!(
            plan.items.delete.is_empty(),
            "nothing is deleted without delete_missing"
        );

        let mut planner = Planner::new(feed(), true);
        read_catalog(&mut planner);
        let plan = planner.finish();
        assert_eq!(plan.items.delete, ["$custom:::$default:::GONE"]);
        // One of three items is a third of the catalog: over the default share.
        let refused = guard(&plan, 0.10).unwrap();
        assert!(
            refused.contains("deletes 1 of the catalog's 3 items (33.3%)"),
            "{refused}"
        );
        assert_eq!(guard(&plan, 0.5), None);
    }

    #[test]
    fn a_feed_without_categories_leaves_memberships_and_categories_alone() {
        let mut feed = feed();
        feed.item_categories.clear();
        feed.categories.clear();
        feed.names_categories = false;
        let mut planner = Planner::new(feed, true);
        planner.category(Some("kitchen".into()), Some(&json!("Kitchen")));
        planner.member("A".into(), "kitchen");
        planner.item(
            Some("A".into()),
            &attributes(json!({"title": "Mug", "price": 10})),
        );
        let plan = planner.finish();
        assert!(plan.categories.delete.is_empty(), "{:?}", plan.categories);
        assert_eq!(plan.items.unchanged, 1, "{:?}", plan.items);
    }

    #[test]
    fn a_variant_on_another_item_is_deleted_and_created_again() {
        let mut planner = Planner::new(feed(), false);
        planner.variant(Some("A-1".into()), Some("B".into()), &Map::new());
        let plan = planner.finish();
        assert_eq!(plan.variants.delete, ["$custom:::$default:::A-1"]);
        assert_eq!(
            plan.variants.create[0]["relationships"]["item"]["data"]["id"],
            "$custom:::$default:::A"
        );
    }
}
