//! Profiles: create, get, update, upsert (`/api/profile-import`), list, bulk import jobs,
//! subscribe/unsubscribe, suppress/unsuppress, merge.

use serde_json::{Map, Value, json};

use super::{all_valid, call, call_one, envelope, non_empty, pager, send_batch, to_many, to_one};
use crate::bulk::{BulkReport, Item, chunk};
use crate::client::{Client, RequestOptions};
use crate::config::Binding;
use crate::error::{BulkFailure, Error, Result};
use crate::operations::bulk_limit;
use crate::pagination::{ListParams, Pager};
use crate::resource::Resource;

/// Profile attributes that Klaviyo stores as standard fields; everything else a caller
/// passes goes into custom `properties`.
pub const STANDARD_ATTRIBUTES: &[&str] = &[
    "email",
    "phone_number",
    "external_id",
    "anonymous_id",
    "first_name",
    "last_name",
    "organization",
    "locale",
    "title",
    "image",
    "location",
];

/// Identifies a profile: at least one of these must be set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileRef {
    /// Klaviyo profile id.
    pub id: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Phone number (E.164).
    pub phone_number: Option<String>,
    /// Your system's id.
    pub external_id: Option<String>,
}

impl ProfileRef {
    /// By email.
    pub fn email(email: impl Into<String>) -> Self {
        ProfileRef {
            email: Some(email.into()),
            ..Self::default()
        }
    }

    /// The identifier to show for this profile: email, else phone, else external id, else id.
    pub fn key(&self) -> Option<&str> {
        [&self.email, &self.phone_number, &self.external_id, &self.id]
            .into_iter()
            .find_map(|v| v.as_deref())
    }

    /// Checks that an identifier is present and well-formed.
    pub fn validate(&self, what: &str) -> Result<()> {
        self.validate_for(what, Binding::Rust)
    }

    /// [`ProfileRef::validate`], naming the identifiers as `binding` spells them.
    pub fn validate_for(&self, what: &str, binding: Binding) -> Result<()> {
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !(set(&self.id) || set(&self.email) || set(&self.phone_number) || set(&self.external_id))
        {
            let id = if binding == Binding::Node {
                "profileId"
            } else {
                "id"
            };
            return Err(Error::InvalidInput(format!(
                "{what} needs one of email, {}, {} or {id}",
                binding.spell("phone_number"),
                binding.spell("external_id"),
            )));
        }
        if let Some(email) = &self.email {
            validate_email(email)?;
        }
        if let Some(phone) = &self.phone_number {
            validate_phone(phone)?;
        }
        Ok(())
    }

    /// The identifiers as attributes.
    pub fn identifiers(&self) -> Map<String, Value> {
        let mut map = Map::new();
        for (key, value) in [
            ("email", &self.email),
            ("phone_number", &self.phone_number),
            ("external_id", &self.external_id),
        ] {
            if let Some(v) = value {
                map.insert(key.into(), json!(v));
            }
        }
        map
    }

    /// `{"data": {"type": "profile", ["id"], "attributes": {identifiers}}}`.
    pub fn to_relationship(&self) -> Value {
        let mut data = json!({"type": "profile", "attributes": Value::Object(self.identifiers())});
        if let Some(id) = &self.id {
            data["id"] = json!(id);
        }
        json!({ "data": data })
    }
}

/// A syntactic email check: one `@`, non-empty local part, a dot in the domain, no spaces.
pub fn validate_email(email: &str) -> Result<()> {
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    } && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{email:?} is not a valid email address"
        )))
    }
}

/// A phone number must be E.164: `+` and 7 to 15 digits.
pub fn validate_phone(phone: &str) -> Result<()> {
    let digits = phone.strip_prefix('+').unwrap_or("");
    if (7..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{phone:?} is not an E.164 phone number (e.g. +15005550006)"
        )))
    }
}

/// A profile's data for create, update, upsert and import.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileData {
    /// Identifiers.
    pub identity: ProfileRef,
    /// Standard attributes (`first_name`, `location`…).
    pub attributes: Map<String, Value>,
    /// Custom properties.
    pub properties: Map<String, Value>,
}

impl ProfileData {
    /// Builds from identifiers and one flat map, sending known keys
    /// ([`STANDARD_ATTRIBUTES`]) to standard attributes and the rest to custom properties.
    /// Identifier keys in the map fill identifiers not given explicitly.
    pub fn from_flat(mut identity: ProfileRef, flat: Map<String, Value>) -> Self {
        let mut data = ProfileData::default();
        for (key, value) in flat {
            let text = value.as_str().map(str::to_string);
            match key.as_str() {
                "email" if identity.email.is_none() => identity.email = text,
                "phone_number" if identity.phone_number.is_none() => identity.phone_number = text,
                "external_id" if identity.external_id.is_none() => identity.external_id = text,
                "email" | "phone_number" | "external_id" => {}
                k if STANDARD_ATTRIBUTES.contains(&k) => {
                    data.attributes.insert(key, value);
                }
                "properties" if value.is_object() => {
                    if let Value::Object(props) = value {
                        data.properties.extend(props);
                    }
                }
                _ => {
                    data.properties.insert(key, value);
                }
            }
        }
        data.identity = identity;
        data
    }

    /// By email.
    pub fn email(email: impl Into<String>) -> Self {
        ProfileData {
            identity: ProfileRef::email(email),
            ..Self::default()
        }
    }

    /// Sets a standard attribute or custom property, by the same rule as `from_flat`.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        let value = value.into();
        if STANDARD_ATTRIBUTES.contains(&key) {
            self.attributes.insert(key.into(), value);
        } else {
            self.properties.insert(key.into(), value);
        }
        self
    }

    /// The attributes object for a request.
    pub fn to_attributes(&self) -> Value {
        let mut attributes = self.identity.identifiers();
        attributes.extend(self.attributes.clone());
        if !self.properties.is_empty() {
            attributes.insert("properties".into(), Value::Object(self.properties.clone()));
        }
        Value::Object(attributes)
    }

    fn resource(&self) -> Value {
        crate::resource::resource_object(
            "profile",
            self.identity.id.as_deref(),
            self.to_attributes(),
        )
    }
}

/// Which channels a subscription call covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Channel {
    /// Email marketing.
    #[default]
    Email,
    /// SMS marketing.
    Sms,
}

/// The `profiles` resource.
pub struct Profiles<'a> {
    pub(crate) client: &'a Client,
}

impl Profiles<'_> {
    /// Creates a profile. A 409 (identifier exists) surfaces as [`Error::Conflict`], whose
    /// error `meta.duplicate_profile_id` names the existing profile.
    pub async fn create(&self, profile: ProfileData) -> Result<Resource> {
        profile
            .identity
            .validate_for("profile", self.client.config().binding)?;
        call_one(
            self.client,
            "create_profile",
            &[],
            Some(envelope("profile", None, profile.to_attributes(), None)),
        )
        .await
    }

    /// Gets a profile by id.
    pub async fn get(&self, id: &str) -> Result<Resource> {
        call_one(
            self.client,
            "get_profile",
            &[("id", non_empty("profile id", id)?)],
            None,
        )
        .await
    }

    /// Updates a profile's attributes and properties.
    pub async fn update(&self, id: &str, profile: ProfileData) -> Result<Resource> {
        let id = non_empty("profile id", id)?;
        call_one(
            self.client,
            "update_profile",
            &[("id", id)],
            Some(envelope("profile", Some(id), profile.to_attributes(), None)),
        )
        .await
    }

    /// Creates or updates a profile by its identifiers (`/api/profile-import`). Idempotent.
    pub async fn upsert(&self, profile: ProfileData) -> Result<Resource> {
        profile
            .identity
            .validate_for("profile", self.client.config().binding)?;
        call_one(
            self.client,
            "create_or_update_profile",
            &[],
            Some(json!({"data": profile.resource()})),
        )
        .await
    }

    /// Lists profiles.
    pub fn list(&self, params: ListParams) -> Result<Pager> {
        pager(self.client, "get_profiles", &[], params)
    }

    /// Imports profiles through bulk import jobs of at most 10,000 profiles and 5 MB, each
    /// profile at most 100 KB. Every profile is checked first; nothing is sent if one is bad.
    /// Returns the submitted jobs; poll them with [`crate::jobs::Jobs::wait`].
    pub async fn bulk_import(
        &self,
        profiles: Vec<ProfileData>,
        list_id: Option<&str>,
    ) -> Result<BulkReport> {
        let total = profiles.len();
        let checked = profiles
            .into_iter()
            .enumerate()
            .map(|(index, profile)| {
                let key = profile.identity.key().map(str::to_string);
                match profile
                    .identity
                    .validate_for("profile", self.client.config().binding)
                {
                    Ok(()) => Ok(Item::new(index, key, profile.resource())),
                    Err(e) => Err(BulkFailure {
                        index,
                        key,
                        reason: e.to_string(),
                    }),
                }
            })
            .collect();
        let relationships = list_id.map(|id| json!({"lists": to_many("list", [id])}));
        let mut report = BulkReport::default();
        for batch in chunk(all_valid(checked)?, bulk_limit("bulk_import_profiles"))? {
            let body = |data: Vec<Value>| {
                envelope(
                    "profile-bulk-import-job",
                    None,
                    json!({"profiles": {"data": data}}),
                    relationships.clone(),
                )
            };
            send_batch(
                self.client,
                "bulk_import_profiles",
                &[],
                batch,
                body,
                &mut report,
            )
            .await;
        }
        report.into_result(total)
    }

    /// The per-row errors of a bulk import job.
    pub fn import_errors(&self, job_id: &str) -> Result<Pager> {
        pager(
            self.client,
            "get_errors_for_bulk_import_profiles_job",
            &[("id", non_empty("job id", job_id)?)],
            ListParams::default(),
        )
    }

    /// Subscribes profiles to marketing on `channel`, optionally adding them to a list.
    /// Chunked to the API's 1,000 profiles per job.
    pub async fn subscribe(
        &self,
        profiles: &[ProfileRef],
        channel: Channel,
        list_id: Option<&str>,
    ) -> Result<BulkReport> {
        self.subscription_jobs(
            profiles,
            channel,
            list_id,
            "bulk_subscribe_profiles",
            "profile-subscription-bulk-create-job",
            "SUBSCRIBED",
        )
        .await
    }

    /// Unsubscribes profiles from marketing on `channel`. Chunked to 100 profiles per job.
    pub async fn unsubscribe(
        &self,
        profiles: &[ProfileRef],
        channel: Channel,
        list_id: Option<&str>,
    ) -> Result<BulkReport> {
        self.subscription_jobs(
            profiles,
            channel,
            list_id,
            "bulk_unsubscribe_profiles",
            "profile-subscription-bulk-delete-job",
            "UNSUBSCRIBED",
        )
        .await
    }

    /// Suppresses email profiles (no more email marketing). Chunked to 100 per job.
    pub async fn suppress(&self, emails: &[&str]) -> Result<BulkReport> {
        self.suppression_jobs(
            emails,
            "bulk_suppress_profiles",
            "profile-suppression-bulk-create-job",
        )
        .await
    }

    /// Lifts suppressions. Chunked to 100 per job.
    pub async fn unsuppress(&self, emails: &[&str]) -> Result<BulkReport> {
        self.suppression_jobs(
            emails,
            "bulk_unsuppress_profiles",
            "profile-suppression-bulk-delete-job",
        )
        .await
    }

    /// Merges `sources` into `destination` (the sources are deleted by Klaviyo).
    pub async fn merge(&self, destination: &str, sources: &[&str]) -> Result<()> {
        let destination = non_empty("destination profile id", destination)?;
        if sources.is_empty() {
            return Err(Error::InvalidInput(
                "merge needs at least one source profile id".into(),
            ));
        }
        let body = json!({"data": {"type": "profile-merge", "id": destination, "relationships": {"profiles": to_many("profile", sources.iter().copied())}}});
        call(
            self.client,
            "merge_profiles",
            &[],
            Vec::new(),
            Some(body),
            &RequestOptions::default(),
        )
        .await
        .map(|_| ())
    }

    async fn subscription_jobs(
        &self,
        profiles: &[ProfileRef],
        channel: Channel,
        list_id: Option<&str>,
        op: &str,
        kind: &str,
        consent: &str,
    ) -> Result<BulkReport> {
        let binding = self.client.config().binding;
        let items = profiles
            .iter()
            .enumerate()
            .map(|(index, profile)| {
                profile
                    .validate_for("profile", binding)
                    .map_err(|e| BulkFailure {
                        index,
                        key: profile.email.clone(),
                        reason: e.to_string(),
                    })?;
                let mut attributes = profile.identifiers();
                let (channel_key, needs) = match channel {
                    Channel::Email => ("email", profile.email.is_some()),
                    Channel::Sms => ("sms", profile.phone_number.is_some()),
                };
                if !needs {
                    return Err(BulkFailure {
                        index,
                        key: None,
                        reason: format!(
                            "{channel_key} subscription needs {}",
                            if channel_key == "email" {
                                "an email".to_string()
                            } else {
                                format!("a {}", binding.spell("phone_number"))
                            }
                        ),
                    });
                }
                attributes.insert(
                    "subscriptions".into(),
                    json!({channel_key: {"marketing": {"consent": consent}}}),
                );
                Ok(Item::new(
                    index,
                    profile.key().map(str::to_string),
                    json!({"type": "profile", "attributes": attributes}),
                ))
            })
            .collect::<Vec<_>>();
        let relationships = list_id.map(|id| json!({"list": to_one("list", id)}));
        self.submit_jobs(items, profiles.len(), op, kind, relationships)
            .await
    }

    async fn suppression_jobs(&self, emails: &[&str], op: &str, kind: &str) -> Result<BulkReport> {
        let items = emails
            .iter()
            .enumerate()
            .map(|(index, email)| {
                validate_email(email).map_err(|e| BulkFailure {
                    index,
                    key: Some(email.to_string()),
                    reason: e.to_string(),
                })?;
                Ok(Item::new(
                    index,
                    Some(email.to_string()),
                    json!({"type": "profile", "attributes": {"email": email}}),
                ))
            })
            .collect::<Vec<_>>();
        self.submit_jobs(items, emails.len(), op, kind, None).await
    }

    async fn submit_jobs(
        &self,
        items: Vec<std::result::Result<Item, BulkFailure>>,
        total: usize,
        op: &str,
        kind: &str,
        relationships: Option<Value>,
    ) -> Result<BulkReport> {
        if total == 0 {
            return Err(Error::InvalidInput(format!(
                "{op} needs at least one profile"
            )));
        }
        let mut report = BulkReport::default();
        for batch in chunk(all_valid(items)?, bulk_limit(op))? {
            let body = |data: Vec<Value>| {
                envelope(
                    kind,
                    None,
                    json!({"profiles": {"data": data}}),
                    relationships.clone(),
                )
            };
            send_batch(self.client, op, &[], batch, body, &mut report).await;
        }
        report.into_result(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_properties_split_into_standard_attributes_and_custom_properties() {
        let flat = json!({"first_name": "Jane", "loyalty_tier": "Gold", "location": {"city": "Boston"}, "email": "ignored@x.com", "phone_number": "+15005550006"});
        let data = ProfileData::from_flat(
            ProfileRef::email("jane@example.com"),
            flat.as_object().unwrap().clone(),
        );
        let attributes = data.to_attributes();
        assert_eq!(
            attributes["email"], "jane@example.com",
            "an explicit identifier wins"
        );
        assert_eq!(attributes["phone_number"], "+15005550006");
        assert_eq!(attributes["first_name"], "Jane");
        assert_eq!(attributes["location"]["city"], "Boston");
        assert_eq!(attributes["properties"]["loyalty_tier"], "Gold");
        assert!(attributes["properties"].get("first_name").is_none());
    }

    #[test]
    fn identifiers_are_validated_with_a_fix() {
        assert!(ProfileRef::default().validate("profile").is_err());
        assert!(
            ProfileRef::email("not-an-email")
                .validate("p")
                .unwrap_err()
                .to_string()
                .contains("not a valid email")
        );
        assert!(
            ProfileRef {
                phone_number: Some("555-1234".into()),
                ..Default::default()
            }
            .validate("p")
            .unwrap_err()
            .to_string()
            .contains("E.164")
        );
        assert!(
            ProfileRef {
                external_id: Some("X1".into()),
                ..Default::default()
            }
            .validate("p")
            .is_ok()
        );
        for good in ["a@b.co", "first.last+tag@sub.example.org"] {
            assert!(validate_email(good).is_ok(), "{good}");
        }
        for bad in ["a@b", "@b.com", "a b@c.com", "a@@b.com", "a@.com"] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }
}
