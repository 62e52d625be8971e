//! The sandbox's in-memory state: resources as JSON:API objects, with identity resolution
//! for profiles and `unique_id` de-duplication for events.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::table::Table;

/// Everything the sandbox holds.
#[derive(Debug)]
pub struct Store {
    next_id: u64,
    /// Profiles by id, in creation order of their ids, indexed for their list's sorts.
    pub profiles: Table,
    /// Events by id, indexed by time, metric and profile.
    pub events: Table,
    /// Metrics by id.
    pub metrics: BTreeMap<String, Value>,
    /// Lists by id.
    pub lists: BTreeMap<String, Value>,
    /// Profile ids per list.
    pub list_members: HashMap<String, Vec<String>>,
    /// When each (list, profile) membership began.
    pub joined_at: HashMap<(String, String), String>,
    /// Catalog resources by JSON:API type (`catalog-item`, `catalog-variant`,
    /// `catalog-category`), then id.
    pub catalog: HashMap<String, BTreeMap<String, Value>>,
    /// Bulk jobs by id.
    pub jobs: BTreeMap<String, Job>,
    /// Webhooks by id.
    pub webhooks: BTreeMap<String, Webhook>,
    /// Webhook delivery outcomes, newest last.
    pub deliveries: Vec<Value>,
    /// Deliveries queued but not finished.
    pub pending_deliveries: usize,
    /// Resources of every other type (campaigns, flows, tags, …), by type, then id.
    pub resources: HashMap<String, BTreeMap<String, Value>>,
    /// (identifier kind, value) → profile id, for identity resolution without a scan.
    identities: HashMap<(&'static str, String), String>,
    /// `(profile, metric, unique_id)` already recorded.
    seen_unique_ids: HashSet<(String, String, String)>,
    /// Events received again with a `unique_id` already recorded (and ignored).
    duplicate_events: usize,
    /// Per metric id, the properties already seen, each kept as a `metric-property`.
    metric_properties: HashMap<String, HashSet<String>>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            next_id: 0,
            profiles: Table::new(&["created", "updated", "email"], &[]),
            events: Table::new(
                &["datetime", "timestamp"],
                &[("metric_id", "datetime"), ("profile_id", "datetime")],
            ),
            metrics: BTreeMap::new(),
            lists: BTreeMap::new(),
            list_members: HashMap::new(),
            joined_at: HashMap::new(),
            catalog: HashMap::new(),
            jobs: BTreeMap::new(),
            webhooks: BTreeMap::new(),
            deliveries: Vec::new(),
            pending_deliveries: 0,
            resources: HashMap::new(),
            identities: HashMap::new(),
            seen_unique_ids: HashSet::new(),
            duplicate_events: 0,
            metric_properties: HashMap::new(),
        }
    }
}

/// The identity index's key: emails match whatever their case, as in Klaviyo.
fn identity(kind: &'static str, value: &str) -> (&'static str, String) {
    (
        kind,
        if kind == "email" {
            value.to_lowercase()
        } else {
            value.to_string()
        },
    )
}

/// A bulk job.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job as the API returns it.
    pub resource: Value,
    /// Every status it went through.
    pub history: Vec<String>,
    /// Per-row errors (profile import jobs), as `import-error` resources.
    pub import_errors: Vec<Value>,
}

/// A webhook subscription.
#[derive(Debug, Clone)]
pub struct Webhook {
    /// The webhook as the API returns it (without its secret).
    pub resource: Value,
    /// The signing secret.
    pub secret: String,
    /// Subscribed topic ids.
    pub topics: Vec<String>,
}

/// The webhook topic of an event of metric `name`: `event:klaviyo.<snake_case name>`.
pub fn topic_for_metric(name: &str) -> String {
    let snake: String = name
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("event:klaviyo.{snake}")
}

/// Klaviyo ids are 26 uppercase characters; ours are sortable by creation.
fn make_id(prefix: char, n: u64) -> String {
    format!("{prefix}{n:025}")
}

pub(crate) fn now_iso() -> String {
    klaviyo_bridge::time::format_iso8601(std::time::SystemTime::now())
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
        for (metric, count) in self.events.group_sizes("metric_id") {
            let name = self
                .metrics
                .get(metric)
                .and_then(|m| m["attributes"]["name"].as_str())
                .unwrap_or("?");
            per_metric.insert(name.to_string(), json!(count));
        }
        json!({
            "profiles": self.profiles.len(),
            "events": self.events.len(),
            "duplicate_events_ignored": self.duplicate_events,
            "metrics": self.metrics.len(),
            "lists": self.lists.len(),
            "catalog_items": self.catalog_len("catalog-item"),
            "catalog_variants": self.catalog_len("catalog-variant"),
            "catalog_categories": self.catalog_len("catalog-category"),
            "webhooks": self.webhooks.len(),
            "events_per_metric": per_metric,
            "jobs": self.jobs.values().map(|j| json!({
                "id": j.resource["id"], "type": j.resource["type"], "status": j.resource["attributes"]["status"],
                "history": j.history, "total": j.resource["attributes"]["total_count"],
                "completed": j.resource["attributes"]["completed_count"], "failed": j.resource["attributes"]["failed_count"],
            })).collect::<Vec<_>>(),
            "webhook_deliveries": self.deliveries,
        })
    }

    /// The profile matching any identifier in `attributes`.
    pub fn find_profile(&self, attributes: &Value) -> Option<String> {
        IDENTIFIERS.iter().find_map(|key| {
            let value = attributes.get(*key).and_then(Value::as_str)?;
            self.identities.get(&identity(key, value)).cloned()
        })
    }

    /// Re-indexes a profile's identifiers after it changed.
    fn index(&mut self, id: &str) {
        self.identities.retain(|_, owner| owner != id);
        if let Some(profile) = self.profiles.get(id) {
            for key in IDENTIFIERS {
                if let Some(value) = profile["attributes"][key].as_str() {
                    self.identities.insert(identity(key, value), id.to_string());
                }
            }
        }
    }

    /// Creates a profile from attributes.
    pub fn insert_profile(&mut self, attributes: &Value) -> String {
        let id = self.id('P');
        let now = now_iso();
        let mut profile = json!({
            "type": "profile", "id": id,
            "attributes": {"email": null, "phone_number": null, "external_id": null, "first_name": null, "last_name": null,
                           "organization": null, "locale": null, "title": null, "image": null, "created": now, "updated": now,
                           "last_event_date": null, "properties": {},
                           "location": {"address1": null, "address2": null, "city": null, "country": null, "latitude": null, "longitude": null,
                                        "region": null, "zip": null, "timezone": null, "ip": null}},
            "relationships": {
                "lists": {"links": {"self": format!("/api/profiles/{id}/relationships/lists/"), "related": format!("/api/profiles/{id}/lists/")}},
                "segments": {"links": {"self": format!("/api/profiles/{id}/relationships/segments/"), "related": format!("/api/profiles/{id}/segments/")}},
            },
            "links": {"self": format!("/api/profiles/{id}/")},
        });
        merge_attributes(&mut profile, attributes);
        for key in IDENTIFIERS {
            if let Some(value) = profile["attributes"][key].as_str() {
                self.identities.insert(identity(key, value), id.clone());
            }
        }
        self.profiles.insert(id.clone(), profile);
        id
    }

    /// Updates a profile's attributes (custom properties are merged).
    pub fn update_profile(&mut self, id: &str, attributes: &Value) {
        self.profiles.update(id, |profile| {
            merge_attributes(profile, attributes);
            profile["attributes"]["updated"] = json!(now_iso());
        });
        if IDENTIFIERS.iter().any(|key| attributes.get(*key).is_some()) {
            self.index(id);
        }
    }

    /// Changes a profile's email marketing state (consent, suppression) and keeps the rest of
    /// it complete, as Klaviyo reports it: `can_receive_email_marketing` follows from both.
    pub fn set_email_marketing(
        &mut self,
        id: &str,
        consent: Option<&str>,
        suppressed: Option<bool>,
    ) {
        let Some(profile) = self.profiles.get(id) else {
            return;
        };
        let old = &profile["attributes"]["subscriptions"]["email"]["marketing"];
        let consent = consent
            .or(old["consent"].as_str())
            .unwrap_or("NEVER_SUBSCRIBED")
            .to_string();
        let suppression = match suppressed {
            Some(true) => json!([{"reason": "USER_SUPPRESSED", "timestamp": now_iso()}]),
            Some(false) => json!([]),
            None => old["suppression"]
                .as_array()
                .cloned()
                .map_or(json!([]), Value::Array),
        };
        let marketing = json!({
            "can_receive_email_marketing": consent == "SUBSCRIBED" && suppression.as_array().is_some_and(Vec::is_empty),
            "consent": consent, "consent_timestamp": now_iso(), "last_updated": now_iso(), "method": "API", "method_detail": null,
            "custom_method_detail": null, "double_optin": null, "suppression": suppression, "list_suppressions": [],
        });
        self.profiles.update(id, |profile| {
            profile["attributes"]["subscriptions"]["email"]["marketing"] = marketing
        });
    }

    /// The metric named `name`, created on first use.
    pub fn metric_by_name(&mut self, name: &str) -> String {
        if let Some(id) = self
            .metrics
            .iter()
            .find(|(_, m)| m["attributes"]["name"] == name)
            .map(|(id, _)| id.clone())
        {
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

    /// Records an event; returns its id, or `None` when its `unique_id` was already seen for
    /// this profile and metric (Klaviyo keeps only the first).
    pub fn record_event(
        &mut self,
        profile_id: &str,
        metric_name: &str,
        attributes: &Value,
    ) -> Option<String> {
        let metric_id = self.metric_by_name(metric_name);
        let time = attributes
            .get("time")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(now_iso);
        let unique_id = attributes
            .get("unique_id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| time.clone());
        if !self.seen_unique_ids.insert((
            profile_id.to_string(),
            metric_id.clone(),
            unique_id.clone(),
        )) {
            self.duplicate_events += 1;
            return None;
        }
        let id = self.id('E');
        let mut properties = attributes
            .get("properties")
            .cloned()
            .unwrap_or_else(|| json!({}));
        for (key, example) in properties.as_object().into_iter().flatten() {
            // Looked up by reference: this runs for every property of every event recorded.
            if !key.starts_with('$')
                && !self
                    .metric_properties
                    .get(&metric_id)
                    .is_some_and(|seen| seen.contains(key.as_str()))
            {
                self.metric_properties
                    .entry(metric_id.clone())
                    .or_default()
                    .insert(key.clone());
                crate::emulation::keep_metric_property(self, &metric_id, key, example);
            }
        }
        if let Some(value) = attributes.get("value").filter(|v| !v.is_null()) {
            properties["$value"] = value.clone();
        }
        self.events.insert(
            id.clone(),
            json!({"type": "event", "id": id,
                   "attributes": {"timestamp": klaviyo_bridge::time::parse_iso8601(&time).and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_secs()), "event_properties": properties, "datetime": time, "uuid": unique_id},
                   "relationships": {"profile": {"data": {"type": "profile", "id": profile_id}}, "metric": {"data": {"type": "metric", "id": metric_id}}},
                   "links": {"self": format!("/api/events/{id}/")}}),
        );
        self.profiles
            .set_attribute(profile_id, "last_event_date", json!(time));
        Some(id)
    }

    /// Creates a list.
    pub fn insert_list(&mut self, name: &str) -> String {
        let id = self.id('L');
        let now = now_iso();
        self.lists.insert(id.clone(), json!({"type": "list", "id": id, "attributes": {"name": name, "created": now, "updated": now, "opt_in_process": "single_opt_in"}, "links": {"self": format!("/api/lists/{id}/")}}));
        id
    }

    fn catalog_len(&self, kind: &str) -> usize {
        self.catalog.get(kind).map_or(0, BTreeMap::len)
    }

    /// Creates a job resource in `queued`.
    pub fn insert_job(&mut self, kind: &str, total: usize, relationships: Option<Value>) -> String {
        let id = self.id('J');
        let mut resource = json!({"type": kind, "id": id, "attributes": {
            "status": "queued", "created_at": now_iso(), "total_count": total, "completed_count": 0, "failed_count": 0,
            "completed_at": null, "expires_at": null, "started_at": null, "errors": []},
            "links": {"self": format!("/api/{}s/{id}/", kind)}});
        if let Some(rel) = relationships {
            resource["relationships"] = rel;
        }
        self.jobs.insert(
            id.clone(),
            Job {
                resource,
                history: vec!["queued".into()],
                import_errors: Vec::new(),
            },
        );
        id
    }

    /// Moves a job to `status`, recording the step.
    pub fn set_job_status(&mut self, id: &str, status: &str) {
        if let Some(job) = self.jobs.get_mut(id) {
            job.resource["attributes"]["status"] = json!(status);
            match status {
                "processing" => job.resource["attributes"]["started_at"] = json!(now_iso()),
                "complete" => job.resource["attributes"]["completed_at"] = json!(now_iso()),
                _ => {}
            }
            job.history.push(status.to_string());
        }
    }

    /// Whether no job is unfinished and no delivery is in flight.
    pub fn is_settled(&self) -> bool {
        let sends_done = self.resources.get("campaign-send-job").is_none_or(|jobs| {
            jobs.values().all(|j| {
                !matches!(
                    j["attributes"]["status"].as_str(),
                    Some("queued" | "processing")
                )
            })
        });
        self.pending_deliveries == 0
            && sends_done
            && self
                .jobs
                .values()
                .all(|j| j.resource["attributes"]["status"] == "complete")
    }

    /// Adds profiles to a list (once each).
    pub fn add_to_list(&mut self, list_id: &str, profile_ids: Vec<String>) {
        let members = self.list_members.entry(list_id.to_string()).or_default();
        for id in profile_ids {
            if !members.contains(&id) {
                self.joined_at
                    .insert((list_id.to_string(), id.clone()), now_iso());
                members.push(id);
            }
        }
    }

    /// A new id for a catalog resource or webhook.
    pub fn new_id(&mut self, prefix: char) -> String {
        self.id(prefix)
    }

    /// Deletes a profile, its events and its list memberships.
    pub fn delete_profile(&mut self, id: &str) {
        self.profiles.remove(id);
        self.identities.retain(|_, owner| owner != id);
        for event in self.events.ids_in_group("profile_id", id) {
            self.events.remove(&event);
        }
        for members in self.list_members.values_mut() {
            members.retain(|m| m != id);
        }
        self.seen_unique_ids.retain(|(p, _, _)| p != id);
    }
}

/// Copies request attributes onto a stored profile; `properties` are merged key by key.
fn merge_attributes(profile: &mut Value, attributes: &Value) {
    for (key, value) in attributes.as_object().into_iter().flatten() {
        if key == "properties" || key == "location" {
            for (k, v) in value.as_object().into_iter().flatten() {
                profile["attributes"][key][k] = v.clone();
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
    fn topics_follow_klaviyo_naming() {
        assert_eq!(
            topic_for_metric("Placed Order"),
            "event:klaviyo.placed_order"
        );
    }

    #[test]
    fn dates_are_iso() {
        assert!(now_iso().ends_with("+00:00"));
    }

    #[test]
    fn events_deduplicate_by_unique_id_per_profile_and_metric() {
        let mut store = Store::default();
        let p = store.insert_profile(&json!({"email": "a@b.com"}));
        assert!(
            store
                .record_event(
                    &p,
                    "Placed Order",
                    &json!({"unique_id": "u1", "properties": {}})
                )
                .is_some()
        );
        assert!(
            store
                .record_event(
                    &p,
                    "Placed Order",
                    &json!({"unique_id": "u1", "properties": {}})
                )
                .is_none()
        );
        assert!(
            store
                .record_event(
                    &p,
                    "Viewed Product",
                    &json!({"unique_id": "u1", "properties": {}})
                )
                .is_some()
        );
        assert_eq!(store.events.len(), 2);
        assert_eq!(
            store.find_profile(&json!({"email": "a@b.com"})),
            Some(p.clone())
        );
        store.delete_profile(&p);
        assert_eq!((store.events.len(), store.profiles.len()), (0, 0));
    }
}
