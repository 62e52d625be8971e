//! Checking a feed before anything is sent, and turning its records into the catalog it
//! describes: items, their variants (records with a parent id) and categories. Every problem
//! is listed with where it is and what to fix; a record with one is left out of the catalog.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::feed::FeedRecord;
use super::mapping::FeedMapping;

/// Most bytes of a resource's `custom_metadata` (the spec's schema: "May not exceed 100kb").
pub const CUSTOM_METADATA_MAX_BYTES: usize = 100_000;

/// One problem in a feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedProblem {
    /// Where it is (`line 12`, `record 7`).
    pub location: String,
    /// The record's position in the feed, from 1.
    pub record: u64,
    /// The record's external id, when it has one.
    pub external_id: Option<String>,
    /// What is wrong, and what to fix.
    pub reason: String,
}

/// An item or variant as the feed describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Desired {
    /// Catalog attributes (without ids and relationships).
    pub attributes: Map<String, Value>,
    /// Where in the feed it comes from.
    pub location: String,
    /// Its record's position in the feed, from 1.
    pub record: u64,
}

/// The catalog a feed describes, keyed by external id.
#[derive(Debug, Default, Clone)]
pub struct FeedCatalog {
    /// Items.
    pub items: BTreeMap<String, Desired>,
    /// Each item's category external ids, for the items whose records have a categories
    /// field (the others' categories are left as they are).
    pub item_categories: BTreeMap<String, BTreeSet<String>>,
    /// Whether any record has a categories field: a feed without one says nothing about
    /// categories, so none is deleted.
    pub names_categories: bool,
    /// Variants, with their item's external id.
    pub variants: BTreeMap<String, (String, Desired)>,
    /// Categories: external id → name.
    pub categories: BTreeMap<String, String>,
    /// Records read.
    pub records: u64,
    /// Problems found; records with one are not in the catalog.
    pub problems: Vec<FeedProblem>,
}

/// A category's external id, from its name: lower case, runs of anything but letters and
/// digits as one `-` (`Home > Kitchen` → `home-kitchen`).
pub fn category_id(name: &str) -> String {
    let mut id = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            id.push(c);
        } else if !id.is_empty() && !id.ends_with('-') {
            id.push('-');
        }
    }
    id.trim_end_matches('-').to_string()
}

/// Builds the catalog from the records one at a time.
pub struct Linter<'m> {
    mapping: &'m FeedMapping,
    catalog: FeedCatalog,
    /// Where each item and variant id was first seen, for duplicate reports.
    seen_items: HashMap<String, String>,
    seen_variants: HashMap<String, String>,
    /// Variants whose item is not a record of its own: the item is made from its first one.
    groups_without_item: BTreeSet<String>,
}

impl<'m> Linter<'m> {
    /// An empty catalog to fill.
    pub fn new(mapping: &'m FeedMapping) -> Self {
        Linter {
            mapping,
            catalog: FeedCatalog::default(),
            seen_items: HashMap::new(),
            seen_variants: HashMap::new(),
            groups_without_item: BTreeSet::new(),
        }
    }

    /// Checks one record and adds it to the catalog when it has no problem.
    pub fn add(&mut self, record: FeedRecord) {
        self.catalog.records += 1;
        let location = record.location.to_string();
        let mut problems = Vec::new();
        let product = self.product(&record, &mut problems);
        let external_id = product.as_ref().map(|p| p.external_id.clone());
        if !problems.is_empty() {
            self.catalog
                .problems
                .extend(problems.into_iter().map(|reason| FeedProblem {
                    location: location.clone(),
                    record: record.location.record,
                    external_id: external_id.clone(),
                    reason,
                }));
            return;
        }
        let Some(product) = product else { return };
        let desired = Desired {
            attributes: product.attributes,
            location: location.clone(),
            record: record.location.record,
        };
        let category_ids: Option<BTreeSet<String>> = product.categories.map(|names| {
            self.catalog.names_categories = true;
            let mut ids = BTreeSet::new();
            for name in names {
                let id = category_id(&name);
                if !id.is_empty() {
                    self.catalog.categories.entry(id.clone()).or_insert(name);
                    ids.insert(id);
                }
            }
            ids
        });
        match product.parent_id {
            None => {
                if self.groups_without_item.remove(&product.external_id) {
                    // The item's own record replaces the one made from its first variant.
                    self.seen_items
                        .insert(product.external_id.clone(), location.clone());
                    self.catalog.item_categories.remove(&product.external_id);
                }
                let mut item = desired;
                item.attributes.remove("sku");
                item.attributes.remove("inventory_quantity");
                item.attributes.remove("inventory_policy");
                if let Some(ids) = category_ids {
                    self.catalog
                        .item_categories
                        .insert(product.external_id.clone(), ids);
                }
                self.catalog.items.insert(product.external_id, item);
            }
            Some(parent) => {
                if !self.seen_items.contains_key(&parent) {
                    // The item is made from its first variant, unless a record of its own
                    // comes later and replaces it.
                    self.seen_items.insert(parent.clone(), location.clone());
                    self.groups_without_item.insert(parent.clone());
                    let mut item = desired.clone();
                    for key in ["sku", "inventory_quantity", "inventory_policy"] {
                        item.attributes.remove(key);
                    }
                    self.catalog.items.insert(parent.clone(), item);
                }
                if self.groups_without_item.contains(&parent)
                    && let Some(ids) = category_ids
                {
                    // A made item is in every category its variants name.
                    self.catalog
                        .item_categories
                        .entry(parent.clone())
                        .or_default()
                        .extend(ids);
                }
                self.catalog
                    .variants
                    .insert(product.external_id, (parent, desired));
            }
        }
    }

    /// The catalog, with the problems found across records (a variant whose item is itself
    /// a variant).
    pub fn finish(mut self) -> FeedCatalog {
        let catalog = &mut self.catalog;
        let mut orphans = Vec::new();
        for (id, (parent, desired)) in &catalog.variants {
            // A parent that is itself a variant got a made-up item of that id: not an item.
            let parent_is_variant =
                self.groups_without_item.contains(parent) && catalog.variants.contains_key(parent);
            let reason = if parent_is_variant {
                format!("its parent id {parent:?} is a variant, not an item")
            } else if !catalog.items.contains_key(parent) {
                format!("its parent id {parent:?} is not an item of the feed")
            } else {
                continue;
            };
            orphans.push((id.clone(), parent_is_variant.then(|| parent.clone())));
            catalog.problems.push(FeedProblem {
                location: desired.location.clone(),
                record: desired.record,
                external_id: Some(id.clone()),
                reason,
            });
        }
        for (id, made_up_item) in orphans {
            catalog.variants.remove(&id);
            if let Some(item) = made_up_item {
                catalog.items.remove(&item);
                catalog.item_categories.remove(&item);
            }
        }
        self.catalog
    }

    fn product(&mut self, record: &FeedRecord, problems: &mut Vec<String>) -> Option<Product> {
        let mapping = self.mapping;
        let fields = &record.fields;
        let text = |attribute: &str| mapping.value(attribute, fields).map(scalar_text);
        let Some(external_id) = text("external_id") else {
            problems.push(
                "it has no external id (an id, external_id or g:id field, or the one the \
                 mapping names)"
                    .into(),
            );
            return None;
        };
        if let Some(reason) = id_problem(&external_id) {
            problems.push(format!("its external id {external_id:?} {reason}"));
        }
        let parent_id = text("parent_id").filter(|p| *p != external_id);
        if let Some(parent) = &parent_id
            && let Some(reason) = id_problem(parent)
        {
            problems.push(format!("its parent id {parent:?} {reason}"));
        }
        let is_variant = parent_id.is_some();
        let seen = if is_variant {
            &mut self.seen_variants
        } else {
            &mut self.seen_items
        };
        let location = record.location.to_string();
        match seen.get(&external_id) {
            // An item made from a group's first variant is replaced by its own record.
            Some(_) if !is_variant && self.groups_without_item.contains(&external_id) => {}
            Some(first) => problems.push(format!(
                "the {} id {external_id:?} is also at {first}; ids must be unique",
                if is_variant { "variant" } else { "item" }
            )),
            None => {
                seen.insert(external_id.clone(), location);
            }
        }

        let mut attributes = Map::new();
        let required: &[&str] = if is_variant {
            &["title", "description", "url", "price", "inventory_quantity"]
        } else {
            &["title", "description", "url"]
        };
        for attribute in required {
            if mapping.value(attribute, fields).is_none() {
                problems.push(format!(
                    "{attribute} is missing; Klaviyo requires it for every {}",
                    if is_variant { "variant" } else { "item" }
                ));
            }
        }
        for attribute in ["title", "description"] {
            if let Some(value) = text(attribute) {
                attributes.insert(attribute.into(), Value::String(value));
            }
        }
        for attribute in ["url", "image_full_url", "image_thumbnail_url"] {
            if let Some(value) = text(attribute) {
                match url_problem(&value) {
                    Some(reason) => problems.push(format!("{attribute} {value:?} {reason}")),
                    None => {
                        attributes.insert(attribute.into(), Value::String(value));
                    }
                }
            }
        }
        if let Some(images) = mapping.value("images", fields) {
            let images: Vec<String> = match images {
                Value::Array(values) => values.iter().map(scalar_text).collect(),
                other => scalar_text(other)
                    .split([',', '|'])
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            };
            for image in &images {
                if let Some(reason) = url_problem(image) {
                    problems.push(format!("image {image:?} {reason}"));
                }
            }
            attributes.insert(
                "images".into(),
                Value::Array(images.into_iter().map(Value::String).collect()),
            );
        }
        if let Some(value) = mapping.value("price", fields) {
            match number(value) {
                Some(price) if price >= 0.0 => {
                    attributes.insert("price".into(), json_number(price));
                }
                _ => problems.push(format!(
                    "price {} is not a number of zero or more",
                    Value::String(scalar_text(value))
                )),
            }
        }
        if is_variant {
            if let Some(value) = mapping.value("inventory_quantity", fields) {
                match number(value) {
                    Some(quantity) if quantity.fract() == 0.0 => {
                        attributes.insert("inventory_quantity".into(), json_number(quantity));
                    }
                    _ => problems.push(format!(
                        "inventory_quantity {} is not a whole number",
                        Value::String(scalar_text(value))
                    )),
                }
            }
            if let Some(value) = mapping.value("inventory_policy", fields) {
                match number(value) {
                    Some(policy) if [0.0, 1.0, 2.0].contains(&policy) => {
                        attributes.insert("inventory_policy".into(), json_number(policy));
                    }
                    _ => problems.push(format!(
                        "inventory_policy {} is not 0, 1 or 2",
                        Value::String(scalar_text(value))
                    )),
                }
            }
            let sku = text("sku").unwrap_or_else(|| external_id.clone());
            attributes.insert("sku".into(), Value::String(sku));
        }
        if let Some(value) = mapping.value("published", fields) {
            match boolean(value) {
                Some(published) => {
                    attributes.insert("published".into(), Value::Bool(published));
                }
                None => problems.push(format!(
                    "published {} is not true or false",
                    Value::String(scalar_text(value))
                )),
            }
        }
        let metadata = mapping.custom_metadata(fields);
        if !metadata.is_empty() {
            let bytes = serde_json::to_vec(&metadata).map_or(0, |v| v.len());
            if bytes > CUSTOM_METADATA_MAX_BYTES {
                problems.push(format!(
                    "its custom metadata is {bytes} bytes; Klaviyo allows at most \
                     {CUSTOM_METADATA_MAX_BYTES}"
                ));
            }
            attributes.insert("custom_metadata".into(), Value::Object(metadata));
        }
        let categories = match mapping.value("categories", fields) {
            None if mapping.present("categories", fields) => Some(Vec::new()),
            None => None,
            Some(Value::Array(values)) => Some(values.iter().map(scalar_text).collect()),
            Some(other) => Some(
                scalar_text(other)
                    .split(mapping.separator())
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
        };
        Some(Product {
            external_id,
            parent_id,
            attributes,
            categories,
        })
    }
}

struct Product {
    external_id: String,
    parent_id: Option<String>,
    attributes: Map<String, Value>,
    /// `None`: the record has no categories field.
    categories: Option<Vec<String>>,
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_string(),
        Value::Array(values) => values.first().map(scalar_text).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// Why an id cannot be a catalog external id, if it cannot.
fn id_problem(id: &str) -> Option<&'static str> {
    if id.contains(":::") {
        Some("contains \":::\", which separates the parts of a catalog id")
    } else if id.chars().any(char::is_control) {
        Some("contains a control character")
    } else if id.len() > 255 {
        Some("is longer than 255 bytes")
    } else {
        None
    }
}

fn url_problem(value: &str) -> Option<&'static str> {
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => None,
        Ok(_) => Some("is not an http(s) URL"),
        Err(_) => Some("is not a valid URL"),
    }
}

/// A number from a JSON number or a string such as `19.99`, `19.99 USD` or `$19.99`.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let s = s.trim();
            let s = s
                .split_once(' ')
                .filter(|(_, code)| code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()))
                .map_or(s, |(amount, _)| amount);
            let s = s.trim_start_matches(['$', '€', '£', '¥']);
            s.parse::<f64>().ok().filter(|n| n.is_finite())
        }
        Value::Array(values) => values.first().and_then(number),
        _ => None,
    }
}

fn json_number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().and_then(|n| match n {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "y" => Some(true),
            "false" | "no" | "0" | "n" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog_sync::feed::Location;
    use serde_json::json;

    fn record(line: u64, fields: Value) -> FeedRecord {
        FeedRecord {
            location: Location {
                line: Some(line),
                record: line - 1,
            },
            fields: fields.as_object().unwrap().clone(),
        }
    }

    fn full(id: &str) -> Value {
        json!({"id": id, "title": "T", "description": "D", "url": "https://shop.example/p"})
    }

    #[test]
    fn problems_name_the_line_and_what_to_fix() {
        let mapping = FeedMapping::default();
        let mut linter = Linter::new(&mapping);
        linter.add(record(2, full("A")));
        linter.add(record(3, json!({"id": "B", "title": "T", "url": "shop"})));
        linter.add(record(4, full("A")));
        let mut bad_price = full("C");
        bad_price["price"] = json!("ten");
        linter.add(record(5, bad_price));
        let catalog = linter.finish();
        assert_eq!(catalog.items.keys().collect::<Vec<_>>(), ["A"]);
        let lines: Vec<(&str, &str)> = catalog
            .problems
            .iter()
            .map(|p| (p.location.as_str(), p.reason.as_str()))
            .collect();
        assert!(
            lines.contains(&(
                "line 3",
                "description is missing; Klaviyo requires it for every item"
            )),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, r)| *l == "line 3" && r.starts_with("url \"shop\"")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, r)| *l == "line 4" && r.contains("also at line 2")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|(l, r)| *l == "line 5" && r.contains("price \"ten\"")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_variant_of_a_variant_is_a_problem_and_a_late_item_record_replaces_the_made_one() {
        let mapping = FeedMapping::default();
        let mut linter = Linter::new(&mapping);
        let mut v = full("A-1");
        v["item_group_id"] = json!("A");
        v["price"] = json!(1);
        v["quantity"] = json!(1);
        linter.add(record(2, v.clone()));
        let mut vv = v.clone();
        vv["id"] = json!("A-1-x");
        vv["item_group_id"] = json!("A-1");
        linter.add(record(3, vv));
        let mut item = full("A");
        item["title"] = json!("The item itself");
        linter.add(record(4, item));
        linter.add(record(5, full("A")));
        let catalog = linter.finish();
        assert_eq!(catalog.items["A"].attributes["title"], "The item itself");
        assert!(
            !catalog.items.contains_key("A-1"),
            "no item is made of a variant's id"
        );
        assert_eq!(catalog.variants.keys().collect::<Vec<_>>(), ["A-1"]);
        let problems: Vec<(&str, &str)> = catalog
            .problems
            .iter()
            .map(|p| (p.location.as_str(), p.reason.as_str()))
            .collect();
        assert!(
            problems.contains(&(
                "line 5",
                "the item id \"A\" is also at line 4; ids must be unique"
            )),
            "{problems:?}"
        );
        assert!(
            problems.contains(&("line 3", "its parent id \"A-1\" is a variant, not an item")),
            "{problems:?}"
        );
    }

    #[test]
    fn variants_make_their_item_when_it_has_no_record_of_its_own() {
        let mapping = FeedMapping::default();
        let mut linter = Linter::new(&mapping);
        let mut v = full("A-red");
        v["item_group_id"] = json!("A");
        v["price"] = json!("10.50 USD");
        v["quantity"] = json!("3");
        v["product_type"] = json!("Home > Kitchen|Gifts");
        linter.add(record(2, v));
        let catalog = linter.finish();
        assert!(catalog.problems.is_empty(), "{:?}", catalog.problems);
        assert_eq!(catalog.items["A"].attributes["price"], json!(10.5));
        assert!(!catalog.items["A"].attributes.contains_key("sku"));
        let (parent, variant) = &catalog.variants["A-red"];
        assert_eq!(parent, "A");
        assert_eq!(variant.attributes["sku"], "A-red");
        assert_eq!(variant.attributes["inventory_quantity"], 3);
        assert_eq!(
            catalog.item_categories["A"].iter().collect::<Vec<_>>(),
            ["gifts", "home-kitchen"]
        );
    }
}
