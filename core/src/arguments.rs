//! Arguments of the hand-written verbs as the bindings hand them over: JSON values made from
//! Python dicts and keyword arguments or JS objects. Each shape takes the snake_case and the
//! camelCase spelling, refuses names it does not know (saying which it takes), checks its
//! values and applies the defaults here, once, so no binding restates a check or a default.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::bulk::PollOptions;
use crate::client::RequestOptions;
use crate::config::seconds;
use crate::error::{Error, Result};
use crate::events::EventCreate;
use crate::pagination::ListParams;
use crate::profiles::{Channel, ProfileRef};

fn decode<T: serde::de::DeserializeOwned>(what: &str, value: Value) -> Result<T> {
    serde_json::from_value(value).map_err(|e| Error::InvalidInput(format!("{what}: {e}")))
}

/// Who a profile is: an email string, or an object with any of `id`/`profile_id`/`profileId`,
/// `email`, `phone_number`/`phoneNumber`, `external_id`/`externalId`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentityArgs {
    #[serde(default, alias = "profile_id", alias = "profileId")]
    id: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, alias = "phoneNumber")]
    phone_number: Option<String>,
    #[serde(default, alias = "externalId")]
    external_id: Option<String>,
}

impl From<IdentityArgs> for ProfileRef {
    fn from(a: IdentityArgs) -> Self {
        ProfileRef {
            id: a.id,
            email: a.email,
            phone_number: a.phone_number,
            external_id: a.external_id,
        }
    }
}

/// One profile identity (see [`IdentityArgs`]); nulls count as absent.
pub fn identity(value: Value) -> Result<ProfileRef> {
    match value {
        Value::String(email) => Ok(ProfileRef::email(email)),
        Value::Object(map) => {
            decode::<IdentityArgs>("a profile", Value::Object(without_nulls(map))).map(Into::into)
        }
        other => Err(Error::InvalidInput(format!(
            "a profile is an email or an object with an email, phone number, external id or id, not {other}"
        ))),
    }
}

/// Several identities, each reported by its position when wrong.
pub fn identities(values: Vec<Value>) -> Result<Vec<ProfileRef>> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            identity(v).map_err(|e| match e {
                Error::InvalidInput(m) => Error::InvalidInput(format!("profile #{i}: {m}")),
                other => other,
            })
        })
        .collect()
}

fn without_nulls(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter().filter(|(_, v)| !v.is_null()).collect()
}

/// A marketing channel by name: `email` (the default) or `sms`.
pub fn channel(name: Option<&str>) -> Result<Channel> {
    match name.unwrap_or("email") {
        "email" => Ok(Channel::Email),
        "sms" => Ok(Channel::Sms),
        other => Err(Error::InvalidInput(format!(
            "channel must be 'email' or 'sms', not {other:?}"
        ))),
    }
}

/// How to wait for bulk jobs: not at all when `wait` is false, else up to `timeout` seconds
/// (default: [`PollOptions::default`]'s 30 minutes).
pub fn poll(wait: Option<bool>, timeout: Option<f64>) -> Result<Option<PollOptions>> {
    if !wait.unwrap_or(true) {
        return Ok(None);
    }
    let mut options = PollOptions::default();
    if let Some(limit) = timeout {
        options.timeout = seconds(limit, "timeout")?;
    }
    Ok(Some(options))
}

/// Optional seconds as a duration, checked (`what` names the argument in messages).
pub fn duration(value: Option<f64>, what: &str) -> Result<Option<Duration>> {
    value.map(|v| seconds(v, what)).transpose()
}

/// The options every hand-written `list` verb takes.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    /// `{type: [field, ...]}`.
    #[serde(default)]
    fields: Option<std::collections::BTreeMap<String, Vec<String>>>,
    #[serde(default)]
    include: Option<Vec<String>>,
    #[serde(default, alias = "pageSize")]
    page_size: Option<u32>,
    #[serde(default, alias = "maxItems")]
    max_items: Option<usize>,
    #[serde(default, alias = "maxPages")]
    max_pages: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
    /// Seconds, per page request.
    #[serde(default)]
    timeout: Option<f64>,
}

/// List options from a JSON object (nulls count as absent).
pub fn list_params(value: Value) -> Result<ListParams> {
    let args: ListArgs = match value {
        Value::Null => ListArgs::default(),
        Value::Object(map) => decode("list options", Value::Object(without_nulls(map)))?,
        other => {
            return Err(Error::InvalidInput(format!(
                "list options are an object, not {other}"
            )));
        }
    };
    Ok(ListParams {
        filter: args.filter,
        sort: args.sort,
        fields: args.fields.unwrap_or_default().into_iter().collect(),
        include: args.include.unwrap_or_default(),
        page_size: args.page_size,
        max_items: args.max_items,
        max_pages: args.max_pages,
        cursor: args.cursor,
        extra: Vec::new(),
        options: RequestOptions {
            timeout: duration(args.timeout, "timeout")?,
            ..Default::default()
        },
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventArgs {
    metric: String,
    #[serde(default)]
    email: Option<String>,
    #[serde(default, alias = "phoneNumber")]
    phone_number: Option<String>,
    #[serde(default, alias = "externalId")]
    external_id: Option<String>,
    #[serde(default, alias = "profileId")]
    profile_id: Option<String>,
    #[serde(default)]
    properties: Option<Map<String, Value>>,
    #[serde(default)]
    value: Option<f64>,
    #[serde(default, alias = "valueCurrency")]
    value_currency: Option<String>,
    #[serde(default)]
    time: Option<String>,
    #[serde(default, alias = "uniqueId")]
    unique_id: Option<String>,
}

/// An event from an object with `metric`, an identity, `properties`, `value`,
/// `value_currency`, `time` (ISO 8601) and `unique_id`, in either spelling.
pub fn event(value: Value) -> Result<EventCreate> {
    let map = match value {
        Value::Object(map) => without_nulls(map),
        other => {
            return Err(Error::InvalidInput(format!(
                "an event is an object with a metric, not {other}"
            )));
        }
    };
    let a: EventArgs = decode("event", Value::Object(map))?;
    Ok(EventCreate {
        metric: a.metric,
        profile: ProfileRef {
            id: a.profile_id,
            email: a.email,
            phone_number: a.phone_number,
            external_id: a.external_id,
        },
        properties: a.properties.unwrap_or_default(),
        value: a.value,
        value_currency: a.value_currency,
        time: a.time,
        unique_id: a.unique_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Binding;
    use serde_json::json;

    #[test]
    fn identities_take_either_spelling_and_refuse_unknown_names() {
        let python = identity(json!({"profile_id": "P1", "phone_number": "+1"})).unwrap();
        let node = identity(json!({"profileId": "P1", "phoneNumber": "+1"})).unwrap();
        assert_eq!(python, node);
        assert_eq!(python.id.as_deref(), Some("P1"));
        assert_eq!(
            identity(json!({"id": "P1"})).unwrap().id.as_deref(),
            Some("P1")
        );
        assert_eq!(
            identity(json!("a@b.com")).unwrap().email.as_deref(),
            Some("a@b.com")
        );
        let err = identities(vec![json!("a@b.com"), json!({"mail": "x"})])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("profile #1") && err.contains("unknown field `mail`"),
            "{err}"
        );
    }

    #[test]
    fn channel_poll_and_list_options_are_checked_here() {
        assert_eq!(channel(None).unwrap(), Channel::Email);
        assert!(
            channel(Some("fax"))
                .unwrap_err()
                .to_string()
                .contains("'email' or 'sms'")
        );
        assert_eq!(
            poll(None, None).unwrap().unwrap().timeout,
            Duration::from_secs(1800)
        );
        assert!(poll(Some(false), Some(5.0)).unwrap().is_none());
        // A negative timeout is an error, never a panic.
        assert!(
            poll(None, Some(-1.0))
                .unwrap_err()
                .to_string()
                .contains("positive")
        );
        assert!(list_params(json!({"timeout": -2})).is_err());
        let params =
            list_params(json!({"pageSize": 5, "max_items": 7, "fields": {"profile": ["email"]}}))
                .unwrap();
        assert_eq!((params.page_size, params.max_items), (Some(5), Some(7)));
        assert!(
            list_params(json!({"pagesize": 5}))
                .unwrap_err()
                .to_string()
                .contains("unknown field `pagesize`")
        );
    }

    #[test]
    fn events_take_either_spelling() {
        let a = event(json!({"metric": "Viewed", "email": "a@b.com", "valueCurrency": "USD", "uniqueId": "u"})).unwrap();
        let b = event(json!({"metric": "Viewed", "email": "a@b.com", "value_currency": "USD", "unique_id": "u", "time": null})).unwrap();
        assert_eq!(a, b);
        assert!(
            event(json!({"email": "a@b.com"}))
                .unwrap_err()
                .to_string()
                .contains("metric")
        );
    }

    #[test]
    fn names_are_spelled_the_callers_way() {
        assert_eq!(Binding::Node.spell("phone_number"), "phoneNumber");
        assert_eq!(Binding::Python.spell("phone_number"), "phone_number");
    }
}

/// `catalogs.sync(feed, ...)` options as the bindings hand them over.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CatalogSyncArgs {
    #[serde(default)]
    mapping: Option<Value>,
    #[serde(default, alias = "feedFormat")]
    feed_format: Option<String>,
    #[serde(default, alias = "deleteMissing")]
    delete_missing: Option<bool>,
    #[serde(default, alias = "dryRun")]
    dry_run: Option<bool>,
    #[serde(default, alias = "skipInvalid")]
    skip_invalid: Option<bool>,
    #[serde(default)]
    force: Option<bool>,
    #[serde(default, alias = "maxDeleteShare")]
    max_delete_share: Option<f64>,
    #[serde(default)]
    concurrency: Option<usize>,
    #[serde(default, alias = "planOut")]
    plan_out: Option<String>,
    #[serde(default, alias = "applyPlan")]
    apply_plan: Option<String>,
    #[serde(default, alias = "lockDir")]
    lock_dir: Option<String>,
}

/// What a binding's `catalogs.sync` call asks for: a feed (a file path, or a list of product
/// objects) or a plan file to apply, and the options.
pub enum CatalogSyncCall {
    /// Sync with a feed.
    Feed(crate::catalog_sync::Feed, crate::catalog_sync::SyncOptions),
    /// Apply a plan written by a dry run.
    Plan(
        Box<crate::catalog_sync::SyncPlan>,
        crate::catalog_sync::SyncOptions,
    ),
}

/// `feed` is a path string, a list of product objects, or null with `apply_plan`; `options`
/// an object of `mapping` (an object, a file path or `attribute=field` pairs), `feed_format`,
/// `delete_missing`, `dry_run`, `skip_invalid`, `force`, `max_delete_share`, `concurrency`,
/// `plan_out`, `apply_plan`, `lock_dir` (camelCase too).
pub fn catalog_sync(feed: Value, options: Value) -> Result<CatalogSyncCall> {
    use crate::catalog_sync::{Feed, FeedFormat, FeedMapping, SyncOptions, read_plan};
    let args: CatalogSyncArgs = match options {
        Value::Null => CatalogSyncArgs::default(),
        Value::Object(map) => decode("catalogs.sync options", Value::Object(without_nulls(map)))?,
        other => {
            return Err(Error::InvalidInput(format!(
                "catalogs.sync options are an object, not {other}"
            )));
        }
    };
    let mapping = match args.mapping {
        None => FeedMapping::default(),
        Some(Value::String(spec)) => FeedMapping::parse(&spec)?,
        Some(object @ Value::Object(_)) => {
            let mapping: FeedMapping = decode("the mapping", object)?;
            mapping.check()?;
            mapping
        }
        Some(other) => {
            return Err(Error::InvalidInput(format!(
                "the mapping is an object of attribute to feed field, a file path or \
                 attribute=field pairs, not {other}"
            )));
        }
    };
    let defaults = SyncOptions::default();
    if let Some(share) = args.max_delete_share
        && !(0.0..=1.0).contains(&share)
    {
        return Err(Error::InvalidInput(format!(
            "max_delete_share is a share between 0 and 1 (0.1 is 10%), not {share}"
        )));
    }
    if args.concurrency == Some(0) {
        return Err(Error::InvalidInput("concurrency must be at least 1".into()));
    }
    let options = SyncOptions {
        mapping,
        delete_missing: args.delete_missing.unwrap_or(false),
        dry_run: args.dry_run.unwrap_or(false),
        skip_invalid: args.skip_invalid.unwrap_or(false),
        force: args.force.unwrap_or(false),
        max_delete_share: args.max_delete_share.unwrap_or(defaults.max_delete_share),
        concurrency: args.concurrency.unwrap_or(defaults.concurrency),
        plan_out: args.plan_out.map(Into::into),
        lock_dir: args.lock_dir.map(Into::into),
        ..defaults
    };
    let format = args
        .feed_format
        .as_deref()
        .map(FeedFormat::parse)
        .transpose()?;
    match (feed, args.apply_plan) {
        (Value::Null, Some(plan)) => Ok(CatalogSyncCall::Plan(
            Box::new(read_plan(std::path::Path::new(&plan))?),
            options,
        )),
        (Value::Null, None) => Err(Error::InvalidInput(
            "catalogs.sync needs a feed (a file path or a list of products) or apply_plan".into(),
        )),
        (_, Some(_)) => Err(Error::InvalidInput(
            "catalogs.sync takes a feed or apply_plan, not both".into(),
        )),
        (Value::String(path), None) => Ok(CatalogSyncCall::Feed(
            Feed::File {
                path: path.into(),
                format,
            },
            options,
        )),
        (Value::Array(records), None) => Ok(CatalogSyncCall::Feed(Feed::Records(records), options)),
        (other, None) => Err(Error::InvalidInput(format!(
            "the feed is a file path or a list of product objects, not {other}"
        ))),
    }
}

impl CatalogSyncCall {
    /// Runs it.
    pub async fn run(self, client: &crate::Client) -> Result<crate::catalog_sync::SyncReport> {
        match self {
            CatalogSyncCall::Feed(feed, options) => client.catalogs().sync(feed, options).await,
            CatalogSyncCall::Plan(plan, options) => {
                client.catalogs().apply_plan(*plan, options).await
            }
        }
    }
}
