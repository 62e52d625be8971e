//! `klaviyo-client` actions as functions that return data. The CLI formats what they return;
//! the Python and Node packages expose them as they are.

use futures_util::TryStreamExt;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::filter::Filter;
use klaviyo_bridge::profiles::{Channel, ProfileData, ProfileRef};
use klaviyo_bridge::{Client, Error, ListParams, Resource, Result};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// Result of `track-event`.
#[derive(Debug, Clone, Serialize)]
pub struct TrackedEvent {
    /// `accepted`: Klaviyo queues events and answers 202.
    pub status: &'static str,
    /// Metric name.
    pub event: String,
    /// Whose event.
    pub profile: String,
    /// Event value, if any.
    pub value: Option<f64>,
    /// The de-duplication key sent.
    pub unique_id: String,
}

/// Records an event. A numeric `value` inside `properties` becomes the event value when
/// `value` is not given, as the reference script's example expects.
pub async fn track_event(
    client: &Client,
    who: &ProfileRef,
    event: &str,
    properties: Map<String, Value>,
    value: Option<f64>,
    unique_id: Option<String>,
    time: Option<String>,
) -> Result<TrackedEvent> {
    let value = value.or_else(|| properties.get("value").and_then(Value::as_f64));
    let mut create = EventCreate::new(event);
    create.profile = who.clone();
    create.properties = properties;
    create.value = value;
    create.unique_id = unique_id;
    create.time = time;
    let receipt = client.events().create(create).await?;
    Ok(TrackedEvent {
        status: "accepted",
        event: event.to_string(),
        profile: describe(who),
        value,
        unique_id: receipt.unique_id,
    })
}

/// How a profile is named in messages: its email, phone, external id or id.
pub fn describe(who: &ProfileRef) -> String {
    who.key().unwrap_or_default().to_string()
}

/// A profile as the tools show it: id, identifiers, names, and custom properties.
pub fn profile_row(profile: &Resource) -> Map<String, Value> {
    let mut row = Map::new();
    row.insert("id".into(), json!(profile.id()));
    for key in [
        "email",
        "phone_number",
        "external_id",
        "first_name",
        "last_name",
        "created",
        "updated",
    ] {
        row.insert(
            key.into(),
            profile.attr(key).cloned().unwrap_or(Value::Null),
        );
    }
    row.insert(
        "properties".into(),
        profile.attr("properties").cloned().unwrap_or(Value::Null),
    );
    row
}

/// The columns of [`profile_row`].
pub const PROFILE_COLUMNS: [&str; 9] = [
    "id",
    "email",
    "phone_number",
    "external_id",
    "first_name",
    "last_name",
    "created",
    "updated",
    "properties",
];

/// Creates or updates a profile; standard attributes (first_name, …) are split from custom
/// properties by the core's rule.
pub async fn upsert_profile(
    client: &Client,
    who: &ProfileRef,
    properties: Map<String, Value>,
) -> Result<Map<String, Value>> {
    let profile = client
        .profiles()
        .upsert(ProfileData::from_flat(who.clone(), properties))
        .await?;
    Ok(profile_row(&profile))
}

/// A profile by id, or by email / phone / external id; `None` when there is none.
pub async fn get_profile(client: &Client, who: &ProfileRef) -> Result<Option<Map<String, Value>>> {
    Ok(find_profile(client, who).await?.as_ref().map(profile_row))
}

/// Finds one profile by id or identifier; `None` when no profile matches.
pub async fn find_profile(client: &Client, who: &ProfileRef) -> Result<Option<Resource>> {
    if let Some(id) = &who.id {
        return match client.profiles().get(id).await {
            Ok(profile) => Ok(Some(profile)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        };
    }
    let (field, value) = match (&who.email, &who.phone_number, &who.external_id) {
        (Some(e), _, _) => ("email", e),
        (_, Some(p), _) => ("phone_number", p),
        (_, _, Some(x)) => ("external_id", x),
        _ => {
            return Err(Error::InvalidInput(
                "give --profile-id, --email, --phone-number or --external-id".into(),
            ));
        }
    };
    let params = ListParams {
        filter: Some(Filter::new().equals(field, value.as_str()).to_string()),
        max_items: Some(1),
        ..Default::default()
    };
    let found: Vec<Resource> = client
        .profiles()
        .list(params)?
        .items()
        .try_collect()
        .await?;
    Ok(found.into_iter().next())
}

/// "no profile has email \"a@b.c\"": what a lookup that found nothing says.
pub fn no_such_profile(who: &ProfileRef) -> String {
    match (&who.id, &who.email, &who.phone_number, &who.external_id) {
        (Some(id), ..) => format!("no profile has id {id:?}"),
        (_, Some(e), ..) => format!("no profile has email {e:?}"),
        (_, _, Some(p), _) => format!("no profile has phone_number {p:?}"),
        (_, _, _, Some(x)) => format!("no profile has external_id {x:?}"),
        _ => "no profile matches".into(),
    }
}

/// Creates a list.
pub async fn create_list(client: &Client, name: &str) -> Result<Map<String, Value>> {
    let list = client.lists().create(name).await?;
    Ok(resource_row(
        &list,
        &["id", "name", "created"].map(String::from),
    ))
}

/// One row of a resource: `id`, a relationship's id for `<relationship>_id` columns
/// (`metric_id`, `profile_id`), else the attribute of that name.
pub fn resource_row(item: &Resource, columns: &[String]) -> Map<String, Value> {
    columns
        .iter()
        .map(|column| {
            let value = match column.as_str() {
                "id" => json!(item.id()),
                other => match other
                    .strip_suffix("_id")
                    .filter(|rel| item.relationships().is_some_and(|r| r.contains_key(*rel)))
                {
                    Some(relationship) => json!(item.related_ids(relationship).first()),
                    None => item.attr(other).cloned().unwrap_or(Value::Null),
                },
            };
            (column.clone(), value)
        })
        .collect()
}

/// Every item of a listing as rows with `columns`.
async fn rows(
    pager: Result<klaviyo_bridge::Pager>,
    columns: &[&str],
) -> Result<(Vec<String>, Vec<Map<String, Value>>)> {
    let columns: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    let items: Vec<Resource> = pager?.items().try_collect().await?;
    let rows = items
        .iter()
        .map(|item| resource_row(item, &columns))
        .collect();
    Ok((columns, rows))
}

/// Catalog items, one row each.
pub async fn catalog_items(
    client: &Client,
    max_pages: Option<usize>,
) -> Result<(Vec<String>, Vec<Map<String, Value>>)> {
    rows(
        client.catalog_items().list(ListParams {
            max_pages,
            ..Default::default()
        }),
        &["id", "title", "price", "url", "published", "updated"],
    )
    .await
}

/// Metrics, one row each (`integration` shows the integration's name).
pub async fn list_metrics(client: &Client) -> Result<(Vec<String>, Vec<Map<String, Value>>)> {
    let (columns, mut rows) = rows(
        client.metrics().list(ListParams::default()),
        &["id", "name", "integration", "created"],
    )
    .await?;
    for row in &mut rows {
        if let Some(integration) = row.get_mut("integration") {
            *integration = integration.get("name").cloned().unwrap_or(Value::Null);
        }
    }
    Ok((columns, rows))
}

/// Lists, one row each.
pub async fn list_lists(client: &Client) -> Result<(Vec<String>, Vec<Map<String, Value>>)> {
    rows(
        client.lists().list(ListParams::default()),
        &["id", "name", "created", "updated"],
    )
    .await
}

/// Adds one profile (by id or identifier) to a list; `None` when there is no such profile.
pub async fn add_to_list(
    client: &Client,
    list_id: &str,
    who: &ProfileRef,
) -> Result<Option<Map<String, Value>>> {
    let Some(profile) = find_profile(client, who).await? else {
        return Ok(None);
    };
    let id = profile.id().unwrap_or_default().to_string();
    client.lists().add_profiles(list_id, &[id.as_str()]).await?;
    Ok(
        json!({"status": "added", "list_id": list_id, "profile_id": id})
            .as_object()
            .cloned(),
    )
}

/// Subscribes a profile to email (or SMS) marketing, optionally on a list.
pub async fn subscribe_profile(
    client: &Client,
    who: &ProfileRef,
    list_id: Option<&str>,
    sms: bool,
) -> Result<Map<String, Value>> {
    let channel = if sms { Channel::Sms } else { Channel::Email };
    client
        .profiles()
        .subscribe(std::slice::from_ref(who), channel, list_id)
        .await?;
    Ok(json!({"status": "subscription requested", "profile": describe(who), "channel": if sms { "sms" } else { "email" }, "list_id": list_id}).as_object().cloned().unwrap_or_default())
}

/// Requests deletion of a profile and all its data.
pub async fn delete_profile(client: &Client, who: &ProfileRef) -> Result<Map<String, Value>> {
    client.data_privacy().delete_profile(who).await?;
    Ok(
        json!({"status": "deletion requested", "profile": describe(who)})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
}
