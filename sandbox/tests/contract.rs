//! The behaviour contract (tests/contract/behaviour.json), run through the Rust crate: the same
//! scenarios the Python and Node suites run, with the same expected results and sandbox state.
//! The verbs take the core's own argument shapes (`klaviyo_bridge::arguments`), the shapes the
//! bindings hand their callers' values to.

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::TryStreamExt;
use klaviyo_bridge::arguments::{self, channel, identities, identity, list_params, poll};
use klaviyo_bridge::metrics::AggregateQuery;
use klaviyo_bridge::profiles::{ProfileData, ProfileRef};
use klaviyo_bridge::webhooks::WebhookCreate;
use klaviyo_bridge::{Client, Pager, Resource, Tracker, TrackerOptions};
use klaviyo_sandbox::{Options, RateLimits};
use serde_json::{Map, Value, json};

mod support;

fn contract() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/contract/behaviour.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every verb this runner can call: the contract's list must not name one it lacks.
const VERBS: &[&str] = &[
    "events.create",
    "events.bulk_create",
    "events.get",
    "events.list",
    "profiles.create",
    "profiles.upsert",
    "profiles.get",
    "profiles.update",
    "profiles.list",
    "profiles.bulk_import",
    "profiles.import_errors",
    "profiles.subscribe",
    "profiles.unsubscribe",
    "profiles.suppress",
    "profiles.unsuppress",
    "profiles.merge",
    "lists.create",
    "lists.get",
    "lists.update",
    "lists.delete",
    "lists.list",
    "lists.profiles",
    "lists.add_profiles",
    "lists.remove_profiles",
    "metrics.list",
    "metrics.get",
    "metrics.aggregate",
    "catalog.items.create",
    "catalog.items.get",
    "catalog.items.update",
    "catalog.items.delete",
    "catalog.items.list",
    "catalog.items.bulk_create",
    "catalog.items.bulk_update",
    "catalog.items.bulk_delete",
    "catalog.variants.create",
    "catalog.variants.get",
    "catalog.variants.update",
    "catalog.variants.delete",
    "catalog.variants.list",
    "catalog.variants.bulk_create",
    "catalog.variants.bulk_update",
    "catalog.variants.bulk_delete",
    "catalog.categories.create",
    "catalog.categories.get",
    "catalog.categories.update",
    "catalog.categories.delete",
    "catalog.categories.list",
    "catalog.categories.bulk_create",
    "catalog.categories.bulk_update",
    "catalog.categories.bulk_delete",
    "webhooks.create",
    "webhooks.get",
    "webhooks.update",
    "webhooks.delete",
    "webhooks.list",
    "webhooks.topics",
    "accounts.current",
    "accounts.get",
    "data_privacy.delete_profile",
    "jobs.get",
    "jobs.wait",
    "client.tracker",
    "client.request",
    "tracker.track",
    "tracker.flush",
    "tracker.stats",
    "tracker.close",
];

fn resource(r: Resource) -> Value {
    let raw = r.into_raw();
    json!({"id": raw["id"], "type": raw["type"], "attributes": raw.get("attributes").cloned().unwrap_or(json!({}))})
}

async fn items(pager: klaviyo_bridge::Result<Pager>) -> klaviyo_bridge::Result<Value> {
    let all: Vec<Resource> = Box::pin(pager?.items()).try_collect().await?;
    Ok(Value::Array(all.into_iter().map(resource).collect()))
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().map(text).collect()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A profile from `create`'s options: identity keys plus `properties`.
fn profile(options: &Map<String, Value>) -> klaviyo_bridge::Result<ProfileData> {
    let mut who = options.clone();
    let properties = who
        .remove("properties")
        .and_then(|p| p.as_object().cloned())
        .unwrap_or_default();
    let id = if who.is_empty() {
        ProfileRef::default()
    } else {
        identity(Value::Object(who))?
    };
    Ok(ProfileData::from_flat(id, properties))
}

fn to_value<T: serde::Serialize>(v: T) -> Value {
    serde_json::to_value(v).unwrap()
}

struct Runner {
    client: Client,
    tracker: Option<Tracker>,
}

impl Runner {
    async fn call(
        &mut self,
        verb: &str,
        a: &[Value],
        o: &Map<String, Value>,
    ) -> klaviyo_bridge::Result<Value> {
        let c = &self.client;
        let arg = |i: usize| a.get(i).cloned().unwrap_or(Value::Null);
        let opts = Value::Object(o.clone());
        let catalog = |ns: &str| match ns {
            "catalog.items" => c.catalog_items(),
            "catalog.variants" => c.catalog_variants(),
            _ => c.catalog_categories(),
        };
        if let Some((ns, method)) = verb
            .rsplit_once('.')
            .filter(|(ns, _)| ns.starts_with("catalog."))
        {
            let api = catalog(ns);
            let wait = poll(None, None)?;
            return Ok(match method {
                "create" => resource(api.create(arg(0), o.get("relationships").cloned()).await?),
                "get" => resource(api.get(&text(&arg(0))).await?),
                "update" => resource(api.update(&text(&arg(0)), arg(1)).await?),
                "delete" => api.delete(&text(&arg(0))).await.map(|_| Value::Null)?,
                "list" => items(api.list(list_params(opts)?)).await?,
                "bulk_create" => to_value(
                    api.bulk_create(
                        arg(0).as_array().cloned().unwrap_or_default(),
                        wait.as_ref(),
                    )
                    .await?,
                ),
                "bulk_update" => to_value(
                    api.bulk_update(
                        arg(0).as_array().cloned().unwrap_or_default(),
                        wait.as_ref(),
                    )
                    .await?,
                ),
                "bulk_delete" => to_value(
                    api.bulk_delete(&refs(&strings(&arg(0))), wait.as_ref())
                        .await?,
                ),
                other => panic!("no catalog verb {other}"),
            });
        }
        Ok(match verb {
            "events.create" => {
                json!({"unique_id": c.events().create(arguments::event(opts)?).await?.unique_id})
            }
            "events.bulk_create" => {
                let events = arg(0)
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(arguments::event)
                    .collect::<klaviyo_bridge::Result<Vec<_>>>()?;
                to_value(c.events().bulk_create(events).await?)
            }
            "events.get" => resource(c.events().get(&text(&arg(0))).await?),
            "events.list" => items(c.events().list(list_params(opts)?)).await?,
            "profiles.create" => resource(c.profiles().create(profile(o)?).await?),
            "profiles.upsert" => resource(c.profiles().upsert(profile(o)?).await?),
            "profiles.get" => resource(c.profiles().get(&text(&arg(0))).await?),
            "profiles.update" => resource(c.profiles().update(&text(&arg(0)), profile(o)?).await?),
            "profiles.list" => items(c.profiles().list(list_params(opts)?)).await?,
            "profiles.bulk_import" => {
                let rows = arg(0)
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|row| {
                        ProfileData::from_flat(
                            ProfileRef::default(),
                            row.as_object().cloned().unwrap_or_default(),
                        )
                    })
                    .collect();
                to_value(
                    c.profiles()
                        .bulk_import(rows, o.get("list_id").and_then(Value::as_str))
                        .await?,
                )
            }
            "profiles.import_errors" => items(c.profiles().import_errors(&text(&arg(0)))).await?,
            "profiles.subscribe" | "profiles.unsubscribe" => {
                let who = identities(arg(0).as_array().cloned().unwrap_or_default())?;
                let ch = channel(o.get("channel").and_then(Value::as_str))?;
                let list = o.get("list_id").and_then(Value::as_str);
                to_value(if verb.ends_with(".subscribe") {
                    c.profiles().subscribe(&who, ch, list).await?
                } else {
                    c.profiles().unsubscribe(&who, ch, list).await?
                })
            }
            "profiles.suppress" => to_value(c.profiles().suppress(&refs(&strings(&arg(0)))).await?),
            "profiles.unsuppress" => {
                to_value(c.profiles().unsuppress(&refs(&strings(&arg(0)))).await?)
            }
            "profiles.merge" => c
                .profiles()
                .merge(&text(&arg(0)), &refs(&strings(&arg(1))))
                .await
                .map(|_| Value::Null)?,
            "lists.create" => resource(c.lists().create(&text(&arg(0))).await?),
            "lists.get" => resource(c.lists().get(&text(&arg(0))).await?),
            "lists.update" => resource(c.lists().update(&text(&arg(0)), &text(&arg(1))).await?),
            "lists.delete" => c
                .lists()
                .delete(&text(&arg(0)))
                .await
                .map(|_| Value::Null)?,
            "lists.list" => items(c.lists().list(list_params(opts)?)).await?,
            "lists.profiles" => {
                items(c.lists().profiles(&text(&arg(0)), list_params(opts)?)).await?
            }
            "lists.add_profiles" => to_value(
                c.lists()
                    .add_profiles(&text(&arg(0)), &refs(&strings(&arg(1))))
                    .await?,
            ),
            "lists.remove_profiles" => to_value(
                c.lists()
                    .remove_profiles(&text(&arg(0)), &refs(&strings(&arg(1))))
                    .await?,
            ),
            "metrics.list" => items(c.metrics().list(list_params(opts)?)).await?,
            "metrics.get" => resource(c.metrics().get(&text(&arg(0))).await?),
            "metrics.aggregate" => {
                let mut q =
                    AggregateQuery::daily_count(text(&arg(0)), text(&o["start"]), text(&o["end"]));
                if let Some(m) = o.get("measurements") {
                    q.measurements = strings(m);
                }
                c.metrics().aggregate(&q).await?.into_raw()
            }
            "webhooks.create" => resource(
                c.webhooks()
                    .create(&WebhookCreate {
                        name: text(&o["name"]),
                        endpoint_url: text(&o["endpoint_url"]),
                        secret_key: text(&o["secret_key"]),
                        topics: strings(&o["topics"]),
                        description: o.get("description").map(text),
                    })
                    .await?,
            ),
            "webhooks.get" => resource(c.webhooks().get(&text(&arg(0))).await?),
            "webhooks.update" => resource(c.webhooks().update(&text(&arg(0)), arg(1)).await?),
            "webhooks.delete" => c
                .webhooks()
                .delete(&text(&arg(0)))
                .await
                .map(|_| Value::Null)?,
            "webhooks.list" => Value::Array(
                c.webhooks()
                    .list()
                    .await?
                    .into_iter()
                    .map(resource)
                    .collect(),
            ),
            "webhooks.topics" => Value::Array(
                c.webhooks()
                    .topics()
                    .await?
                    .resources()
                    .into_iter()
                    .map(resource)
                    .collect(),
            ),
            "accounts.current" => resource(c.accounts().current().await?),
            "accounts.get" => resource(c.accounts().get(&text(&arg(0))).await?),
            "data_privacy.delete_profile" => c
                .data_privacy()
                .delete_profile(&identity(opts)?)
                .await
                .map(|_| Value::Null)?,
            "jobs.get" => to_value(
                c.jobs()
                    .get(
                        klaviyo_bridge::jobs::JobKind::parse(&text(&arg(0)))?,
                        &text(&arg(1)),
                    )
                    .await?,
            ),
            "jobs.wait" => {
                let p = poll(None, o.get("timeout").and_then(Value::as_f64))?.unwrap_or_default();
                to_value(
                    c.jobs()
                        .wait(
                            klaviyo_bridge::jobs::JobKind::parse(&text(&arg(0)))?,
                            &text(&arg(1)),
                            &p,
                        )
                        .await?,
                )
            }
            "client.request" => c.request(&text(&arg(0)), &[], &[], None).await?.into_raw(),
            "client.tracker" => {
                let mut options = TrackerOptions::default();
                if let Some(n) = o.get("flush_at").and_then(Value::as_u64) {
                    options.flush_at = n as usize;
                }
                self.tracker = Some(c.tracker(options)?);
                json!({"tracker": true})
            }
            "tracker.track" => json!(
                self.tracker
                    .as_ref()
                    .unwrap()
                    .track(arguments::event(opts)?)?
            ),
            "tracker.flush" => {
                let limit = Duration::from_secs_f64(
                    o.get("timeout").and_then(Value::as_f64).unwrap_or(30.0),
                );
                json!(self.tracker.as_ref().unwrap().flush_timeout(limit).await)
            }
            "tracker.stats" => to_value(self.tracker.as_ref().unwrap().stats()),
            "tracker.close" => {
                let limit = Duration::from_secs_f64(
                    o.get("timeout").and_then(Value::as_f64).unwrap_or(30.0),
                );
                to_value(self.tracker.as_ref().unwrap().shutdown(limit).await?)
            }
            other => panic!("the Rust runner lacks {other}"),
        })
    }
}

fn lookup<'a>(mut value: &'a Value, path: &str) -> &'a Value {
    for part in path.split('.') {
        value = match value {
            Value::Array(items) => &items[part.parse::<usize>().unwrap()],
            other => other
                .get(part)
                .unwrap_or_else(|| panic!("no {part} in {other}")),
        };
    }
    value
}

fn resolve(value: &Value, saved: &Map<String, Value>) -> Value {
    match value {
        Value::String(s) if s.starts_with('$') => {
            let (name, path) = s[1..]
                .split_once('.')
                .map_or((&s[1..], None), |(n, p)| (n, Some(p)));
            match saved.get(name) {
                Some(found) => path.map_or_else(|| found.clone(), |p| lookup(found, p).clone()),
                None => value.clone(),
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(v, saved)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), resolve(v, saved)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn check(result: &Value, expect: &Value, saved: &Map<String, Value>, at: &str) {
    for (key, raw) in expect.as_object().into_iter().flatten() {
        let wanted = resolve(raw, saved);
        let len = |v: &Value| {
            v.as_array()
                .map(Vec::len)
                .unwrap_or_else(|| panic!("{at}: {v} is not a list"))
        };
        match key.as_str() {
            "$null" => assert!(result.is_null(), "{at}: {result}"),
            "$value" => assert_eq!(result, &wanted, "{at}"),
            "$type" => assert_eq!(
                match result {
                    Value::String(_) => "string",
                    Value::Number(_) => "number",
                    Value::Bool(_) => "boolean",
                    _ => "other",
                },
                wanted,
                "{at}"
            ),
            "$len" => assert_eq!(
                len(result) as u64,
                wanted.as_u64().unwrap(),
                "{at}: {result}"
            ),
            "$min_len" => assert!(len(result) as u64 >= wanted.as_u64().unwrap(), "{at}"),
            path => {
                let actual = lookup(result, path);
                match wanted.get("$len") {
                    Some(n) => assert_eq!(len(actual) as u64, n.as_u64().unwrap(), "{at}: {path}"),
                    None => assert!(
                        numbers_equal(actual, &wanted),
                        "{at}: {path} = {actual}, expected {wanted}"
                    ),
                }
            }
        }
    }
}

/// JSON equality where 10 and 10.0 are the same number (as in Python and JS).
fn numbers_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| numbers_equal(p, q))
        }
        _ => a == b,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_verb_of_the_contract_exists_here_and_is_exercised() {
    let contract = contract();
    let called: BTreeSet<String> = contract["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["steps"]
                .as_array()
                .unwrap()
                .iter()
                .map(|step| match step.get("on") {
                    Some(_) => format!("tracker.{}", text(&step["call"])),
                    None => text(&step["call"]),
                })
        })
        .collect();
    for (namespace, verbs) in contract["verbs"].as_object().unwrap() {
        for verb in verbs.as_array().unwrap() {
            let name = format!("{namespace}.{}", text(verb));
            assert!(
                VERBS.contains(&name.as_str()),
                "the Rust runner lacks {name}"
            );
            assert!(called.contains(&name), "no contract step calls {name}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_of_the_contract() {
    for scenario in contract()["scenarios"].as_array().unwrap() {
        let name = text(&scenario["name"]);
        let (sandbox, builder) = support::sandbox_with(Options {
            rate_limits: RateLimits::Off,
            ..Options::default()
        })
        .await;
        let client = builder.build().unwrap();
        let mut runner = Runner {
            client,
            tracker: None,
        };
        let mut saved = Map::new();
        for (number, step) in scenario["steps"].as_array().unwrap().iter().enumerate() {
            let at = format!("{name}: step {number} ({})", text(&step["call"]));
            if step["settle"] == true {
                sandbox.settled().await;
            }
            let verb = match step.get("on") {
                Some(_) => format!("tracker.{}", text(&step["call"])),
                None => text(&step["call"]),
            };
            let args = resolve(step.get("args").unwrap_or(&json!([])), &saved);
            let options = resolve(step.get("options").unwrap_or(&json!({})), &saved);
            let outcome = Box::pin(runner.call(
                &verb,
                args.as_array().unwrap(),
                options.as_object().unwrap(),
            ))
            .await;
            match (outcome, step.get("error")) {
                (Err(e), Some(expected)) => {
                    assert_eq!(e.class_name(), text(&expected["class"]), "{at}: {e}");
                    for words in strings(&expected["message"]) {
                        assert!(e.to_string().contains(&words), "{at}: {e}");
                    }
                }
                (Ok(result), Some(expected)) => panic!("{at}: expected {expected}, got {result}"),
                (Err(e), None) => panic!("{at}: {e}"),
                (Ok(result), None) => {
                    if let Some(save) = step.get("save") {
                        saved.insert(text(save), result.clone());
                    }
                    check(
                        &result,
                        step.get("expect").unwrap_or(&json!({})),
                        &saved,
                        &at,
                    );
                }
            }
        }
        sandbox.settled().await;
        let state = sandbox.state();
        for (key, wanted) in scenario["state"].as_object().into_iter().flatten() {
            assert_eq!(&state[key], wanted, "{name}: state {key}");
        }
        sandbox.shutdown().await;
    }
}
