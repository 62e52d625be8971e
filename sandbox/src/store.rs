//! The sandbox's in-memory state: resources as JSON:API objects, with identity resolution
//! for profiles and `unique_id` de-duplication for events.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value, json};

/// Everything the sandbox holds.
#[derive(Debug, Default)]
pub struct Store {
    next_id: u64,
    /// Profiles by id, in creation order of their ids.
    pub profiles: BTreeMap<String, Value>,
    /// Events by id.
    pub events: BTreeMap<String, Value>,
    /// Metrics by id.
    pub metrics: BTreeMap<String, Value>,
    /// Lists by id.
    pub lists: BTreeMap<String, Value>,
    /// Profile ids per list.
    pub list_members: HashMap<String, Vec<String>>,
    /// Catalog items by id.
    pub catalog_items: BTreeMap<String, Value>,
    /// `(profile, metric, unique_id)` already recorded.
    seen_unique_ids: HashSet<(String, String, String)>,
}

/// Klaviyo ids are 26 uppercase characters; ours are sortable by creation.
fn make_id(prefix: char, n: u64) -> String {
    format!("{prefix}{n:025}")
}

pub(crate) fn now_iso() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    let (days, secs) = (now / 86_400, now % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

const IDENTIFIERS: [&str; 3] = ["email", "phone_number", "external_id"];

impl Store {
    fn id(&mut self, prefix: char) -> String {
        self.next_id += 1;
        make_id(prefix, self.next_id)
    }

    /// Counts per resource.
    pub fn summary(&self) -> Value {
        let mut per_metric = Map::new();
        for event in self.events.values() {
            let metric = event["relationships"]["metric"]["data"]["id"].as_str().unwrap_or_default();
            let name = self.metrics.get(metric).and_then(|m| m["attributes"]["name"].as_str()).unwrap_or("?");
            let count = per_metric.entry(name.to_string()).or_insert(json!(0));
            *count = json!(count.as_u64().unwrap_or(0) + 1);
        }
        json!({
            "profiles": self.profiles.len(),
            "events": self.events.len(),
            "metrics": self.metrics.len(),
            "lists": self.lists.len(),
            "catalog_items": self.catalog_items.len(),
            "events_per_metric": per_metric,
        })
    }

    /// The profile matching any identifier in `attributes`.
    pub fn find_profile(&self, attributes: &Value) -> Option<String> {
        self.profiles.iter().find_map(|(id, profile)| {
            IDENTIFIERS
                .iter()
                .any(|key| attributes.get(key).and_then(Value::as_str).is_some_and(|v| profile["attributes"][key].as_str() == Some(v)))
                .then(|| id.clone())
        })
    }

    /// Creates a profile from attributes.
    pub fn insert_profile(&mut self, attributes: &Value) -> String {
        let id = self.id('P');
        let now = now_iso();
        let mut profile = json!({
            "type": "profile", "id": id,
            "attributes": {"email": null, "phone_number": null, "external_id": null, "first_name": null, "last_name": null,
                           "organization": null, "locale": null, "title": null, "image": null, "created": now, "updated": now,
                           "last_event_date": null, "location": null, "properties": {}},
            "relationships": {"lists": {"links": {}}, "segments": {"links": {}}},
            "links": {"self": format!("/api/profiles/{id}/")},
        });
        merge_attributes(&mut profile, attributes);
        self.profiles.insert(id.clone(), profile);
        id
    }

    /// Updates a profile's attributes (custom properties are merged).
    pub fn update_profile(&mut self, id: &str, attributes: &Value) {
        if let Some(profile) = self.profiles.get_mut(id) {
            merge_attributes(profile, attributes);
            profile["attributes"]["updated"] = json!(now_iso());
        }
    }

    /// The metric named `name`, created on first use.
    pub fn metric_by_name(&mut self, name: &str) -> String {
        if let Some(id) = self.metrics.iter().find(|(_, m)| m["attributes"]["name"] == name).map(|(id, _)| id.clone()) {
            return id;
        }
        let id = self.id('M');
        let now = now_iso();
        self.metrics.insert(
            id.clone(),
            json!({"type": "metric", "id": id, "attributes": {"name": name, "created": now, "updated": now, "integration": {"object": "integration", "id": "0rG4eQ", "name": "API", "category": "API"}}, "links": {"self": format!("/api/metrics/{id}/")}}),
        );
        id
    }

    /// Records an event; returns false when its `unique_id` was already seen for this
    /// profile and metric (Klaviyo keeps only the first).
    pub fn record_event(&mut self, profile_id: &str, metric_name: &str, attributes: &Value) -> bool {
        let metric_id = self.metric_by_name(metric_name);
        let time = attributes.get("time").and_then(Value::as_str).map(str::to_string).unwrap_or_else(now_iso);
        let unique_id = attributes.get("unique_id").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| time.clone());
        if !self.seen_unique_ids.insert((profile_id.to_string(), metric_id.clone(), unique_id.clone())) {
            return false;
        }
        let id = self.id('E');
        let mut properties = attributes.get("properties").cloned().unwrap_or_else(|| json!({}));
        if let Some(value) = attributes.get("value").filter(|v| !v.is_null()) {
            properties["$value"] = value.clone();
        }
        self.events.insert(
            id.clone(),
            json!({"type": "event", "id": id,
                   "attributes": {"timestamp": 0, "event_properties": properties, "datetime": time, "uuid": unique_id},
                   "relationships": {"profile": {"data": {"type": "profile", "id": profile_id}}, "metric": {"data": {"type": "metric", "id": metric_id}}},
                   "links": {"self": format!("/api/events/{id}/")}}),
        );
        if let Some(profile) = self.profiles.get_mut(profile_id) {
            profile["attributes"]["last_event_date"] = json!(time);
        }
        true
    }

    /// Creates a list.
    pub fn insert_list(&mut self, name: &str) -> String {
        let id = self.id('L');
        let now = now_iso();
        self.lists.insert(id.clone(), json!({"type": "list", "id": id, "attributes": {"name": name, "created": now, "updated": now, "opt_in_process": "single_opt_in"}, "links": {"self": format!("/api/lists/{id}/")}}));
        id
    }

    /// Creates a catalog item; the id is `$custom:::$default:::<external_id>` as Klaviyo forms it.
    pub fn insert_catalog_item(&mut self, attributes: &Value) -> Result<String, String> {
        let external_id = attributes.get("external_id").and_then(Value::as_str).ok_or("external_id is required")?;
        let id = format!("$custom:::$default:::{external_id}");
        if self.catalog_items.contains_key(&id) {
            return Err(format!("A catalog item with external_id {external_id:?} already exists."));
        }
        let now = now_iso();
        let mut item = json!({"type": "catalog-item", "id": id,
            "attributes": {"external_id": external_id, "title": null, "description": null, "price": null, "url": null, "image_full_url": null,
                           "image_thumbnail_url": null, "images": [], "custom_metadata": null, "published": true, "created": now, "updated": now},
            "links": {"self": format!("/api/catalog-items/{id}/")}});
        for (k, v) in attributes.as_object().into_iter().flatten() {
            if !matches!(k.as_str(), "catalog_type" | "integration_type") {
                item["attributes"][k] = v.clone();
            }
        }
        self.catalog_items.insert(id.clone(), item);
        Ok(id)
    }

    /// Deletes a profile, its events and its list memberships.
    pub fn delete_profile(&mut self, id: &str) {
        self.profiles.remove(id);
        self.events.retain(|_, e| e["relationships"]["profile"]["data"]["id"] != id);
        for members in self.list_members.values_mut() {
            members.retain(|m| m != id);
        }
        self.seen_unique_ids.retain(|(p, _, _)| p != id);
    }
}

/// Copies request attributes onto a stored profile; `properties` are merged key by key.
fn merge_attributes(profile: &mut Value, attributes: &Value) {
    for (key, value) in attributes.as_object().into_iter().flatten() {
        if key == "properties" {
            for (k, v) in value.as_object().into_iter().flatten() {
                profile["attributes"]["properties"][k] = v.clone();
            }
        } else {
            profile["attributes"][key] = value.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_iso_and_correct() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
        assert!(now_iso().ends_with("+00:00"));
    }

    #[test]
    fn events_deduplicate_by_unique_id_per_profile_and_metric() {
        let mut store = Store::default();
        let p = store.insert_profile(&json!({"email": "a@b.com"}));
        assert!(store.record_event(&p, "Placed Order", &json!({"unique_id": "u1", "properties": {}})));
        assert!(!store.record_event(&p, "Placed Order", &json!({"unique_id": "u1", "properties": {}})));
        assert!(store.record_event(&p, "Viewed Product", &json!({"unique_id": "u1", "properties": {}})));
        assert_eq!(store.events.len(), 2);
        assert_eq!(store.find_profile(&json!({"email": "a@b.com"})), Some(p.clone()));
        store.delete_profile(&p);
        assert_eq!((store.events.len(), store.profiles.len()), (0, 0));
    }
}
