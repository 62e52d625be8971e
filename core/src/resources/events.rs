//! Events: create one (with an automatic `unique_id`), bulk create (chunked by count and
//! bytes), get, list.

use serde_json::{Map, Value, json};

use super::{all_valid, call, call_one, pager, send_batch};
use crate::bulk::{BulkReport, Item, chunk};
use crate::client::{Client, RequestOptions};
use crate::error::{BulkFailure, Error, Result};
use crate::operations::bulk_limit;
use crate::pagination::{ListParams, Pager};
use crate::resource::Resource;
use crate::resources::profiles::ProfileRef;

/// An event to record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventCreate {
    /// Metric name, e.g. `Placed Order` (created by Klaviyo on first use).
    pub metric: String,
    /// Who did it.
    pub profile: ProfileRef,
    /// Event properties.
    pub properties: Map<String, Value>,
    /// Monetary value.
    pub value: Option<f64>,
    /// ISO 4217 currency of `value`.
    pub value_currency: Option<String>,
    /// When it happened (ISO 8601); the API uses "now" when absent.
    pub time: Option<String>,
    /// De-duplication key; generated when absent so retries never double-count.
    pub unique_id: Option<String>,
}

impl EventCreate {
    /// An event of `metric` (set the profile with `email`, `phone_number`, …).
    pub fn new(metric: impl Into<String>) -> Self {
        EventCreate {
            metric: metric.into(),
            ..Self::default()
        }
    }
    /// Identifies the profile by email.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.profile.email = Some(email.into());
        self
    }
    /// Identifies the profile by phone number (E.164).
    pub fn phone_number(mut self, phone: impl Into<String>) -> Self {
        self.profile.phone_number = Some(phone.into());
        self
    }
    /// Identifies the profile by external id.
    pub fn external_id(mut self, id: impl Into<String>) -> Self {
        self.profile.external_id = Some(id.into());
        self
    }
    /// Sets the properties (a JSON object).
    pub fn properties(mut self, properties: Value) -> Self {
        self.properties = match properties {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        self
    }
    /// Sets one property.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }
    /// Sets the value.
    pub fn value(mut self, value: f64) -> Self {
        self.value = Some(value);
        self
    }
    /// Sets the time.
    pub fn time(mut self, time: impl Into<String>) -> Self {
        self.time = Some(time.into());
        self
    }
    /// Sets the unique id.
    pub fn unique_id(mut self, id: impl Into<String>) -> Self {
        self.unique_id = Some(id.into());
        self
    }

    /// Checks the event; fills in a `unique_id` if none was given, and returns it.
    pub fn prepare(&mut self) -> Result<String> {
        self.prepare_for(crate::config::Binding::Rust)
    }

    /// [`EventCreate::prepare`], naming fields as `binding` spells them.
    pub fn prepare_for(&mut self, binding: crate::config::Binding) -> Result<String> {
        if self.metric.trim().is_empty() {
            return Err(Error::InvalidInput(
                "event metric name must not be empty".into(),
            ));
        }
        self.profile.validate_for("event profile", binding)?;
        if self.value.is_some_and(|v| !v.is_finite()) {
            return Err(Error::InvalidInput(
                "event value must be a finite number".into(),
            ));
        }
        if let Some(time) = self.time.as_ref().filter(|t| !looks_like_iso8601(t)) {
            return Err(Error::InvalidInput(format!(
                "event time {time:?} is not ISO 8601 (e.g. 2024-05-01T12:00:00Z)"
            )));
        }
        let id = self
            .unique_id
            .get_or_insert_with(|| uuid::Uuid::new_v4().to_string())
            .clone();
        if id.is_empty() {
            return Err(Error::InvalidInput("unique_id must not be empty".into()));
        }
        Ok(id)
    }

    /// The event's attributes as the API expects them (call [`EventCreate::prepare`] first).
    pub fn attributes(&self) -> Value {
        let mut attributes = Map::new();
        attributes.insert("properties".into(), Value::Object(self.properties.clone()));
        attributes.insert(
            "metric".into(),
            json!({"data": {"type": "metric", "attributes": {"name": self.metric}}}),
        );
        attributes.insert("profile".into(), self.profile.to_relationship());
        if let Some(value) = self.value {
            attributes.insert("value".into(), json!(value));
        }
        if let Some(currency) = &self.value_currency {
            attributes.insert("value_currency".into(), json!(currency));
        }
        if let Some(time) = &self.time {
            attributes.insert("time".into(), json!(time));
        }
        if let Some(id) = &self.unique_id {
            attributes.insert("unique_id".into(), json!(id));
        }
        Value::Object(attributes)
    }
}

/// `YYYY-MM-DDTHH:MM[:SS[.f]][Z|±HH:MM]` or a plain date.
fn looks_like_iso8601(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b.len() == 10 || b[10] == b'T' || b[10] == b' ')
}

/// What `create` returns: the API answers 202 with no body, so the receipt carries the
/// `unique_id` the event was sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventReceipt {
    /// The event's unique id.
    pub unique_id: String,
}

/// The `events` resource.
pub struct Events<'a> {
    pub(crate) client: &'a Client,
}

impl Events<'_> {
    /// Records one event. Safe to retry: the `unique_id` is fixed before the first attempt.
    pub async fn create(&self, mut event: EventCreate) -> Result<EventReceipt> {
        let unique_id = event.prepare_for(self.client.config().binding)?;
        let body = json!({"data": {"type": "event", "attributes": event.attributes()}});
        call(
            self.client,
            "create_event",
            &[],
            Vec::new(),
            Some(body),
            &RequestOptions::default(),
        )
        .await?;
        Ok(EventReceipt { unique_id })
    }

    /// Records many events through bulk-create jobs of at most 1,000 events and 5 MB each.
    /// Every event is checked first; a bad one fails the call before anything is sent.
    pub async fn bulk_create(&self, events: Vec<EventCreate>) -> Result<BulkReport> {
        let total = events.len();
        let checked = events
            .into_iter()
            .enumerate()
            .map(
                |(index, mut event)| match event.prepare_for(self.client.config().binding) {
                    Ok(id) => Ok(Item::new(index, Some(id), bulk_entry(&event))),
                    Err(e) => Err(BulkFailure {
                        index,
                        key: event.unique_id.clone(),
                        reason: e.to_string(),
                    }),
                },
            )
            .collect();
        let mut report = BulkReport::default();
        for batch in chunk(all_valid(checked)?, bulk_limit("bulk_create_events"))? {
            let body = |data: Vec<Value>| json!({"data": {"type": "event-bulk-create-job", "attributes": {"events-bulk-create": {"data": data}}}});
            send_batch(
                self.client,
                "bulk_create_events",
                &[],
                batch,
                body,
                &mut report,
            )
            .await;
        }
        report.into_result(total)
    }

    /// Gets one event.
    pub async fn get(&self, id: &str) -> Result<Resource> {
        call_one(
            self.client,
            "get_event",
            &[("id", super::non_empty("event id", id)?)],
            None,
        )
        .await
    }

    /// Lists events (filter on `metric_id`, `profile_id`, `datetime`…).
    pub fn list(&self, params: ListParams) -> Result<Pager> {
        pager(self.client, "get_events", &[], params)
    }
}

/// One entry of a bulk-create job: a profile with one event.
pub fn bulk_entry(event: &EventCreate) -> Value {
    let mut attributes = event.attributes();
    let profile = attributes
        .as_object_mut()
        .and_then(|a| a.remove("profile"))
        .unwrap_or(Value::Null);
    json!({"type": "event-bulk-create", "attributes": {
        "profile": profile,
        "events": {"data": [{"type": "event", "attributes": attributes}]}
    }})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_assigns_a_unique_id_once_and_validates() {
        let mut event = EventCreate::new("Placed Order")
            .email("a@b.com")
            .property("OrderId", "ORD-1")
            .value(9.5);
        let id = event.prepare().unwrap();
        assert_eq!(
            event.prepare().unwrap(),
            id,
            "a second prepare keeps the same id"
        );
        let attributes = event.attributes();
        assert_eq!(attributes["unique_id"], id.as_str());
        assert_eq!(
            attributes["metric"]["data"]["attributes"]["name"],
            "Placed Order"
        );
        assert_eq!(
            attributes["profile"]["data"]["attributes"]["email"],
            "a@b.com"
        );
        assert_eq!(attributes["properties"]["OrderId"], "ORD-1");
        assert!(
            EventCreate::new("X")
                .prepare()
                .unwrap_err()
                .to_string()
                .contains("email, phone_number, external_id or id")
        );
        assert!(EventCreate::new(" ").email("a@b.com").prepare().is_err());
        assert!(
            EventCreate::new("X")
                .email("a@b.com")
                .time("yesterday")
                .prepare()
                .is_err()
        );
        assert!(
            EventCreate::new("X")
                .email("a@b.com")
                .time("2024-05-01T12:00:00Z")
                .prepare()
                .is_ok()
        );
        assert!(
            EventCreate::new("X")
                .email("a@b.com")
                .value(f64::NAN)
                .prepare()
                .is_err()
        );
    }
}
