//! `namespace.method(...args)` from JS to the core. Arguments arrive as a JSON array and are
//! deserialized into camelCase argument structs that reject unknown keys; results go back as
//! `{resource}`, `{resources}` or `{value}` so `index.js` knows what to shape.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use klaviyo_bridge::arguments;
use klaviyo_bridge::bulk::PollOptions;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::jobs::JobKind;
use klaviyo_bridge::metrics::AggregateQuery;
use klaviyo_bridge::profiles::{ProfileData, ProfileRef};
use klaviyo_bridge::webhooks::WebhookCreate;
use klaviyo_bridge::{Client, Error, Pager, Request, RequestOptions, Resource, Result};

use crate::errors::js_error;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ProfileArgs {
    email: Option<String>,
    phone_number: Option<String>,
    external_id: Option<String>,
    properties: Option<Map<String, Value>>,
}

impl From<ProfileArgs> for ProfileData {
    fn from(a: ProfileArgs) -> Self {
        ProfileData::from_flat(
            ProfileRef {
                id: None,
                email: a.email,
                phone_number: a.phone_number,
                external_id: a.external_id,
            },
            a.properties.unwrap_or_default(),
        )
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BulkOptions {
    wait: Option<bool>,
    timeout: Option<f64>,
}

impl BulkOptions {
    fn poll(&self) -> Result<Option<PollOptions>> {
        arguments::poll(self.wait, self.timeout)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RequestArgs {
    path: Option<HashMap<String, String>>,
    query: Option<HashMap<String, Value>>,
    body: Option<Value>,
    timeout: Option<f64>,
    revision: Option<String>,
}

/// Positional arguments.
struct Args {
    values: Vec<Value>,
    method: String,
}

impl Args {
    fn new(args: Value, method: &str) -> Self {
        let values = match args {
            Value::Array(values) => values,
            Value::Null => Vec::new(),
            one => vec![one],
        };
        Args {
            values,
            method: method.to_string(),
        }
    }

    fn get<T: DeserializeOwned + Default>(&self, index: usize) -> Result<T> {
        match self.values.get(index) {
            None | Some(Value::Null) => Ok(T::default()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
                Error::InvalidInput(format!("{}: argument {}: {e}", self.method, index + 1))
            }),
        }
    }

    fn required<T: DeserializeOwned>(&self, index: usize, what: &str) -> Result<T> {
        match self.values.get(index) {
            None | Some(Value::Null) => {
                Err(Error::InvalidInput(format!("{} needs {what}", self.method)))
            }
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| Error::InvalidInput(format!("{}: {what}: {e}", self.method))),
        }
    }

    fn string(&self, index: usize, what: &str) -> Result<String> {
        self.required(index, what)
    }

    fn strings(&self, index: usize, what: &str) -> Result<Vec<String>> {
        self.required(index, what)
    }
}

fn resource(r: Resource) -> Value {
    json!({ "resource": r.into_raw() })
}

fn resources(items: Vec<Resource>) -> Value {
    json!({ "resources": items.into_iter().map(Resource::into_raw).collect::<Vec<_>>() })
}

fn value<T: serde::Serialize>(v: T) -> Value {
    json!({ "value": crate::results::to_js(&v) })
}

fn refs(strings: &[String]) -> Vec<&str> {
    strings.iter().map(String::as_str).collect()
}

fn catalog<'a>(core: &'a Client, namespace: &str) -> Option<klaviyo_bridge::catalog::Catalog<'a>> {
    match namespace {
        "catalog.items" => Some(core.catalog_items()),
        "catalog.variants" => Some(core.catalog_variants()),
        "catalog.categories" => Some(core.catalog_categories()),
        _ => None,
    }
}

fn unknown(namespace: &str, method: &str) -> Error {
    Error::InvalidInput(format!(
        "{namespace}.{method} is not a method of klaviyo-bridge"
    ))
}

/// Opens the pager of a list method.
pub fn pager(core: &Client, namespace: &str, method: &str, args: Value) -> napi::Result<Pager> {
    let a = Args::new(args, method);
    let result = (|| -> Result<Pager> {
        match (namespace, method) {
            ("events", "list") => core
                .events()
                .list(arguments::list_params(a.get::<Value>(0)?)?),
            ("profiles", "list") => core
                .profiles()
                .list(arguments::list_params(a.get::<Value>(0)?)?),
            ("profiles", "importErrors") => {
                core.profiles().import_errors(&a.string(0, "a job id")?)
            }
            ("lists", "list") => core
                .lists()
                .list(arguments::list_params(a.get::<Value>(0)?)?),
            ("lists", "profiles") => core.lists().profiles(
                &a.string(0, "a list id")?,
                arguments::list_params(a.get::<Value>(1)?)?,
            ),
            ("metrics", "list") => core
                .metrics()
                .list(arguments::list_params(a.get::<Value>(0)?)?),
            (ns, "list") if catalog(core, ns).is_some() => catalog(core, ns)
                .expect("checked")
                .list(arguments::list_params(a.get::<Value>(0)?)?),
            _ => Err(unknown(namespace, method)),
        }
    })();
    result.map_err(js_error)
}

/// Calls a namespace method.
pub async fn call(core: &Client, namespace: &str, method: &str, args: Value) -> Result<Value> {
    let a = Args::new(args, method);
    Ok(match (namespace, method) {
        ("client", "request") => {
            let operation: String = a.string(0, "an operation id")?;
            let o: RequestArgs = a.get(1)?;
            let mut request = Request::new(operation).options(RequestOptions {
                timeout: arguments::duration(o.timeout, "timeout")?,
                revision: o.revision,
                ..Default::default()
            });
            request.path = o.path.unwrap_or_default().into_iter().collect();
            request.query = o
                .query
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                .collect();
            request.body = o.body;
            value(core.send(request).await?.json()?)
        }
        ("events", "create") => {
            let event = a.required::<Value>(
                0,
                "{ metric, email | phoneNumber | externalId | profileId, … }",
            )?;
            let receipt = core.events().create(arguments::event(event)?).await?;
            value(json!({ "uniqueId": receipt.unique_id }))
        }
        ("events", "bulkCreate") => {
            let events: Vec<Value> = a.required(0, "an array of events")?;
            let events = events
                .into_iter()
                .map(arguments::event)
                .collect::<Result<Vec<_>>>()?;
            value(core.events().bulk_create(events).await?)
        }
        ("events", "get") => resource(core.events().get(&a.string(0, "an event id")?).await?),
        ("profiles", "create") => resource(
            core.profiles()
                .create(
                    a.required::<ProfileArgs>(
                        0,
                        "{ email | phoneNumber | externalId, properties }",
                    )?
                    .into(),
                )
                .await?,
        ),
        ("profiles", "upsert") => resource(
            core.profiles()
                .upsert(
                    a.required::<ProfileArgs>(
                        0,
                        "{ email | phoneNumber | externalId, properties }",
                    )?
                    .into(),
                )
                .await?,
        ),
        ("profiles", "get") => resource(core.profiles().get(&a.string(0, "a profile id")?).await?),
        ("profiles", "update") => resource(
            core.profiles()
                .update(
                    &a.string(0, "a profile id")?,
                    a.get::<ProfileArgs>(1)?.into(),
                )
                .await?,
        ),
        ("profiles", "bulkImport") => {
            let rows: Vec<Map<String, Value>> = a.required(0, "an array of profiles")?;
            #[derive(Deserialize, Default)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            struct ImportOptions {
                list_id: Option<String>,
            }
            let options: ImportOptions = a.get(1)?;
            let data = rows
                .into_iter()
                .map(|row| ProfileData::from_flat(ProfileRef::default(), row))
                .collect();
            value(
                core.profiles()
                    .bulk_import(data, options.list_id.as_deref())
                    .await?,
            )
        }
        ("profiles", "subscribe") | ("profiles", "unsubscribe") => {
            let people: Vec<Value> =
                a.required(0, "an array of emails or { email, phoneNumber }")?;
            #[derive(Deserialize, Default)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            struct SubscribeOptions {
                channel: Option<String>,
                list_id: Option<String>,
            }
            let o: SubscribeOptions = a.get(1)?;
            let channel = arguments::channel(o.channel.as_deref())?;
            let refs = arguments::identities(people)?;
            let profiles = core.profiles();
            value(if method == "subscribe" {
                profiles
                    .subscribe(&refs, channel, o.list_id.as_deref())
                    .await?
            } else {
                profiles
                    .unsubscribe(&refs, channel, o.list_id.as_deref())
                    .await?
            })
        }
        ("profiles", "suppress") => value(
            core.profiles()
                .suppress(&refs(&a.strings(0, "an array of emails")?))
                .await?,
        ),
        ("profiles", "unsuppress") => value(
            core.profiles()
                .unsuppress(&refs(&a.strings(0, "an array of emails")?))
                .await?,
        ),
        ("profiles", "merge") => {
            core.profiles()
                .merge(
                    &a.string(0, "a destination profile id")?,
                    &refs(&a.strings(1, "an array of source profile ids")?),
                )
                .await?;
            value(Value::Null)
        }
        ("lists", "create") => resource(core.lists().create(&a.string(0, "a name")?).await?),
        ("lists", "get") => resource(core.lists().get(&a.string(0, "a list id")?).await?),
        ("lists", "update") => resource(
            core.lists()
                .update(&a.string(0, "a list id")?, &a.string(1, "a name")?)
                .await?,
        ),
        ("lists", "delete") => {
            core.lists().delete(&a.string(0, "a list id")?).await?;
            value(Value::Null)
        }
        ("lists", "addProfiles") => value(
            core.lists()
                .add_profiles(
                    &a.string(0, "a list id")?,
                    &refs(&a.strings(1, "an array of profile ids")?),
                )
                .await?,
        ),
        ("lists", "removeProfiles") => value(
            core.lists()
                .remove_profiles(
                    &a.string(0, "a list id")?,
                    &refs(&a.strings(1, "an array of profile ids")?),
                )
                .await?,
        ),
        ("metrics", "get") => resource(core.metrics().get(&a.string(0, "a metric id")?).await?),
        ("metrics", "aggregate") => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            struct AggregateArgs {
                start: String,
                end: String,
                measurements: Option<Vec<String>>,
                interval: Option<String>,
                filters: Option<Vec<String>>,
                by: Option<Vec<String>>,
                timezone: Option<String>,
            }
            let o: AggregateArgs = a.required(1, "{ start, end, measurements?, interval?, … }")?;
            let mut query =
                AggregateQuery::daily_count(a.string(0, "a metric id")?, o.start, o.end);
            query.measurements = o.measurements.unwrap_or(query.measurements);
            query.interval = o.interval.unwrap_or(query.interval);
            query.filters = o.filters.unwrap_or_default();
            query.by = o.by.unwrap_or_default();
            query.timezone = o.timezone.unwrap_or(query.timezone);
            value(core.metrics().aggregate(&query).await?.into_raw())
        }
        ("webhooks", "create") => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase", deny_unknown_fields)]
            struct WebhookArgs {
                name: String,
                endpoint_url: String,
                secret_key: String,
                topics: Vec<String>,
                description: Option<String>,
            }
            let w: WebhookArgs = a.required(0, "{ name, endpointUrl, secretKey, topics }")?;
            resource(
                core.webhooks()
                    .create(&WebhookCreate {
                        name: w.name,
                        endpoint_url: w.endpoint_url,
                        secret_key: w.secret_key,
                        topics: w.topics,
                        description: w.description,
                    })
                    .await?,
            )
        }
        ("webhooks", "get") => resource(core.webhooks().get(&a.string(0, "a webhook id")?).await?),
        ("webhooks", "update") => resource(
            core.webhooks()
                .update(&a.string(0, "a webhook id")?, a.required(1, "attributes")?)
                .await?,
        ),
        ("webhooks", "delete") => {
            core.webhooks()
                .delete(&a.string(0, "a webhook id")?)
                .await?;
            value(Value::Null)
        }
        ("webhooks", "list") => resources(core.webhooks().list().await?),
        ("webhooks", "topics") => resources(core.webhooks().topics().await?.resources()),
        ("accounts", "current") => resource(core.accounts().current().await?),
        ("accounts", "get") => resource(core.accounts().get(&a.string(0, "an account id")?).await?),
        ("dataPrivacy", "deleteProfile") => {
            let who = arguments::identity(
                a.required(0, "{ email | phoneNumber | externalId | profileId }")?,
            )?;
            core.data_privacy().delete_profile(&who).await?;
            value(Value::Null)
        }
        ("catalogs", "sync") => {
            // The feed (a path or product objects) and the options go to the core as given.
            let feed = a.values.first().cloned().unwrap_or(Value::Null);
            let options = a.values.get(1).cloned().unwrap_or(Value::Null);
            value(arguments::catalog_sync(feed, options)?.run(core).await?)
        }
        ("jobs", "get") => value(
            core.jobs()
                .get(
                    JobKind::parse(&a.string(0, "a job kind")?)?,
                    &a.string(1, "a job id")?,
                )
                .await?,
        ),
        ("jobs", "wait") => {
            let o: BulkOptions = a.get(2)?;
            let poll = o.poll()?.unwrap_or_default();
            value(
                core.jobs()
                    .wait(
                        JobKind::parse(&a.string(0, "a job kind")?)?,
                        &a.string(1, "a job id")?,
                        &poll,
                    )
                    .await?,
            )
        }
        (ns, m) if catalog(core, ns).is_some() => {
            let api = catalog(core, ns).expect("checked");
            match m {
                "create" => {
                    #[derive(Deserialize, Default)]
                    #[serde(rename_all = "camelCase", deny_unknown_fields)]
                    struct CreateOptions {
                        relationships: Option<Value>,
                    }
                    let o: CreateOptions = a.get(1)?;
                    resource(
                        api.create(a.required(0, "attributes")?, o.relationships)
                            .await?,
                    )
                }
                "get" => resource(api.get(&a.string(0, "an id")?).await?),
                "update" => resource(
                    api.update(&a.string(0, "an id")?, a.required(1, "attributes")?)
                        .await?,
                ),
                "delete" => {
                    api.delete(&a.string(0, "an id")?).await?;
                    value(Value::Null)
                }
                "bulkCreate" => value(
                    api.bulk_create(
                        a.required(0, "an array of attributes")?,
                        a.get::<BulkOptions>(1)?.poll()?.as_ref(),
                    )
                    .await?,
                ),
                "bulkUpdate" => value(
                    api.bulk_update(
                        a.required(0, "an array of { id, …attributes }")?,
                        a.get::<BulkOptions>(1)?.poll()?.as_ref(),
                    )
                    .await?,
                ),
                "bulkDelete" => value(
                    api.bulk_delete(
                        &refs(&a.strings(0, "an array of ids")?),
                        a.get::<BulkOptions>(1)?.poll()?.as_ref(),
                    )
                    .await?,
                ),
                _ => return Err(unknown(namespace, method)),
            }
        }
        _ => return Err(unknown(namespace, method)),
    })
}

/// An event from `track()`'s object (unknown keys refused).
pub fn event_from_json(value: Value) -> Result<EventCreate> {
    arguments::event(value).map_err(|e| match e {
        Error::InvalidInput(m) => Error::InvalidInput(format!("track(): {m}")),
        other => other,
    })
}
