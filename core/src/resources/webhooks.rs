//! Webhooks: CRUD and topics.

use serde_json::{Map, Value, json};

use super::{call, call_one, envelope, non_empty, to_many};
use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::resource::{Document, Resource};

/// A webhook to create.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookCreate {
    /// Name.
    pub name: String,
    /// Where deliveries go (https).
    pub endpoint_url: String,
    /// Signing secret (at least 16 characters).
    pub secret_key: String,
    /// Topic ids, e.g. `event:klaviyo.placed_order`.
    pub topics: Vec<String>,
    /// Description.
    pub description: Option<String>,
}

/// The `webhooks` resource.
pub struct Webhooks<'a> {
    pub(crate) client: &'a Client,
}

impl Webhooks<'_> {
    /// Creates a webhook.
    pub async fn create(&self, webhook: &WebhookCreate) -> Result<Resource> {
        if webhook.secret_key.chars().count() < 16 {
            return Err(Error::InvalidInput(
                "webhook secret_key must be at least 16 characters".into(),
            ));
        }
        if webhook.topics.is_empty() {
            return Err(Error::InvalidInput(
                "a webhook needs at least one topic".into(),
            ));
        }
        crate::config::validate_endpoint_url(&webhook.endpoint_url, "endpoint_url")?;
        let mut attributes = Map::new();
        attributes.insert(
            "name".into(),
            json!(non_empty("webhook name", &webhook.name)?),
        );
        attributes.insert("endpoint_url".into(), json!(webhook.endpoint_url));
        attributes.insert("secret_key".into(), json!(webhook.secret_key));
        if let Some(d) = &webhook.description {
            attributes.insert("description".into(), json!(d));
        }
        let relationships = json!({"webhook-topics": to_many("webhook-topic", webhook.topics.iter().map(String::as_str))});
        call_one(
            self.client,
            "create_webhook",
            &[],
            Some(envelope(
                "webhook",
                None,
                Value::Object(attributes),
                Some(relationships),
            )),
        )
        .await
    }
    /// Gets a webhook.
    pub async fn get(&self, id: &str) -> Result<Resource> {
        call_one(
            self.client,
            "get_webhook",
            &[("id", non_empty("webhook id", id)?)],
            None,
        )
        .await
    }
    /// Updates a webhook's attributes (e.g. `{"enabled": false}`).
    pub async fn update(&self, id: &str, attributes: Value) -> Result<Resource> {
        let id = non_empty("webhook id", id)?;
        call_one(
            self.client,
            "update_webhook",
            &[("id", id)],
            Some(envelope("webhook", Some(id), attributes, None)),
        )
        .await
    }
    /// Deletes a webhook.
    pub async fn delete(&self, id: &str) -> Result<()> {
        call(
            self.client,
            "delete_webhook",
            &[("id", non_empty("webhook id", id)?)],
            Vec::new(),
            None,
            &RequestOptions::default(),
        )
        .await
        .map(|_| ())
    }
    /// Lists webhooks (one response; the API does not paginate them).
    pub async fn list(&self) -> Result<Vec<Resource>> {
        Ok(call(
            self.client,
            "get_webhooks",
            &[],
            Vec::new(),
            None,
            &RequestOptions::default(),
        )
        .await?
        .resources())
    }
    /// The topics a webhook can subscribe to.
    pub async fn topics(&self) -> Result<Document> {
        call(
            self.client,
            "get_webhook_topics",
            &[],
            Vec::new(),
            None,
            &RequestOptions::default(),
        )
        .await
    }
}
