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
