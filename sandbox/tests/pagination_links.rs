//! `links.next` followed verbatim, as JSON:API clients (curl loops, tap-klaviyo) follow it:
//! the filter, sort, includes and sparse fieldsets hold on every page, links are absolute on
//! the sandbox's address, and cursors stay valid while records are added.

use std::collections::HashSet;

use klaviyo_bridge::Client;
use klaviyo_bridge::events::EventCreate;
use klaviyo_sandbox::{Options, RateLimits, Sandbox};
use serde_json::Value;

mod support;

const REVISION: &str = "2026-07-15";

async fn sandbox() -> (Sandbox, Client) {
    let (sandbox, builder) = support::sandbox_with(Options {
        rate_limits: RateLimits::Off,
        ..Options::default()
    })
    .await;
    (sandbox, builder.build().unwrap())
}

/// GET with the sandbox's key: the status and the JSON body.
async fn answer(sandbox: &Sandbox, url: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(url)
        .header(
            "authorization",
            format!("Klaviyo-API-Key {}", sandbox.api_key()),
        )
        .header("revision", REVISION)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap(),
    )
}

async fn get(sandbox: &Sandbox, url: &str) -> Value {
    let (status, body) = answer(sandbox, url).await;
    assert_eq!(status, 200, "GET {url}");
    body
}

/// Every page from `first`, following `links.next` exactly as given.
async fn follow(sandbox: &Sandbox, first: &str) -> Vec<Value> {
    let mut pages = vec![get(sandbox, first).await];
    while let Some(next) = pages.last().unwrap()["links"]["next"]
        .as_str()
        .map(str::to_string)
    {
        assert!(
            next.starts_with(&format!("{}/api/", sandbox.base_url())),
            "links are absolute on the sandbox's address: {next}"
        );
        pages.push(get(sandbox, &next).await);
        assert!(pages.len() < 100, "pagination ends");
    }
    pages
}

fn ids(pages: &[Value]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| {
            p["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
        })
        .collect()
}

fn keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// 2024-01-01 plus `minutes`, so every event has its own instant.
fn at(minutes: u64) -> String {
    klaviyo_bridge::time::format_iso8601(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_704_067_200 + minutes * 60),
    )
}

/// 300 events over two metrics and 40 profiles, their times shuffled against creation order.
async fn seed_events(client: &Client) {
    let events = (0..300u64)
        .map(|i| {
            let metric = if i % 3 == 0 {
                "Viewed Product"
            } else {
                "Placed Order"
            };
            EventCreate::new(metric)
                .email(format!("u{}@example.com", i % 40))
                .time(at(i * 7919 % 300 * 10))
                .unique_id(format!("e{i}"))
        })
        .collect();
    client.events().bulk_create(events).await.unwrap();
}

#[tokio::test]
async fn links_next_keeps_filter_sort_includes_and_fields_on_every_event_page() {
    let (sandbox, client) = sandbox().await;
    seed_events(&client).await;
    sandbox.settled().await;
    let everything = follow(
        &sandbox,
        &format!("{}/api/events/?page[size]=1000", sandbox.base_url()),
    )
    .await;
    let all: Vec<&Value> = everything
        .iter()
        .flat_map(|p| p["data"].as_array().unwrap())
        .collect();
    assert_eq!(all.len(), 300);
    let metric = all[1]["relationships"]["metric"]["data"]["id"]
        .as_str()
        .unwrap();
    let since = at(900);
    let instant = |e: &Value| {
        klaviyo_bridge::time::parse_iso8601(e["attributes"]["datetime"].as_str().unwrap()).unwrap()
    };
    let mut expected: Vec<&Value> = all
        .iter()
        .copied()
        .filter(|e| {
            e["relationships"]["metric"]["data"]["id"] == metric
                && instant(e) > klaviyo_bridge::time::parse_iso8601(&since).unwrap()
        })
        .collect();
    expected.sort_by_key(|e| std::cmp::Reverse(instant(e)));
    assert!(expected.len() > 100, "the filter keeps several pages");

    let filter = format!("equals(metric_id,\"{metric}\"),greater-than(datetime,{since})");
    let first = reqwest::Url::parse_with_params(
        &format!("{}/api/events/", sandbox.base_url()),
        &[
            ("filter", filter.as_str()),
            ("sort", "-datetime"),
            ("include", "profile,metric"),
            ("fields[event]", "datetime,event_properties"),
            ("fields[profile]", "email"),
            ("page[size]", "30"),
        ],
    )
    .unwrap();
    let pages = follow(&sandbox, first.as_str()).await;
    let want: Vec<String> = expected
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ids(&pages),
        want,
        "exactly the filtered set, newest first, across {} pages",
        pages.len()
    );
    for page in &pages {
        let data = page["data"].as_array().unwrap();
        assert!(
            data.iter()
                .all(|e| keys(&e["attributes"]) == ["datetime", "event_properties"]),
            "fields[event] on every page"
        );
        let included: HashSet<(String, String)> = page["included"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["type"].as_str().unwrap().into(),
                    r["id"].as_str().unwrap().into(),
                )
            })
            .collect();
        for event in data {
            for relation in ["profile", "metric"] {
                let id = event["relationships"][relation]["data"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                assert!(
                    included.contains(&(relation.to_string(), id)),
                    "include={relation} on every page"
                );
            }
        }
        let profiles = page["included"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["type"] == "profile");
        assert!(
            profiles
                .into_iter()
                .all(|p| keys(&p["attributes"]) == ["email"]),
            "fields[profile] applies to included profiles"
        );
    }
    // prev leads back to the page before, exactly.
    let prev = pages[2]["links"]["prev"].as_str().unwrap();
    assert_eq!(ids(&[get(&sandbox, prev).await]), ids(&pages[1..2]));
    assert!(
        pages[0]["links"].get("prev").is_none(),
        "the first page has no prev"
    );
    // The official Python SDK sends a whole http:// next link as page[cursor]: it means its cursor.
    let next = pages[0]["links"]["next"].as_str().unwrap();
    let as_cursor =
        reqwest::Url::parse_with_params(first.as_str(), &[("page[cursor]", next)]).unwrap();
    assert_eq!(
        ids(&[get(&sandbox, as_cursor.as_str()).await]),
        ids(&pages[1..2])
    );
}

#[tokio::test]
async fn links_next_keeps_the_query_on_profile_pages() {
    let (sandbox, client) = sandbox().await;
    seed_events(&client).await;
    sandbox.settled().await;
    let first = reqwest::Url::parse_with_params(
        &format!("{}/api/profiles/", sandbox.base_url()),
        &[
            ("filter", "greater-than(created,2020-01-01T00:00:00Z)"),
            ("sort", "-email"),
            ("fields[profile]", "email,created"),
            ("additional-fields[profile]", "subscriptions"),
            ("page[size]", "7"),
        ],
    )
    .unwrap();
    let pages = follow(&sandbox, first.as_str()).await;
    assert_eq!(pages.len(), 6, "40 profiles in pages of 7");
    let emails: Vec<String> = pages
        .iter()
        .flat_map(|p| {
            p["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["attributes"]["email"].as_str().unwrap().to_string())
        })
        .collect();
    let mut want: Vec<String> = (0..40).map(|i| format!("u{i}@example.com")).collect();
    want.sort();
    want.reverse();
    assert_eq!(emails, want);
    for page in &pages[..pages.len() - 1] {
        let next = page["links"]["next"].as_str().unwrap();
        for kept in [
            "filter=greater-than%28created%2C2020-01-01T00%3A00%3A00Z%29",
            "sort=-email",
            "fields%5Bprofile%5D=email%2Ccreated",
            "additional-fields%5Bprofile%5D=subscriptions",
            "page%5Bsize%5D=7",
        ] {
            assert!(next.contains(kept), "{kept} in {next}");
        }
    }
    for page in &pages {
        assert!(
            page["data"][0]["links"]["self"]
                .as_str()
                .unwrap()
                .starts_with(&sandbox.base_url()),
            "resource links are absolute too"
        );
    }
}

#[tokio::test]
async fn cursors_stay_valid_while_records_are_added() {
    let (sandbox, client) = sandbox().await;
    seed_events(&client).await;
    sandbox.settled().await;
    let base = format!(
        "{}/api/events/?sort=datetime&page[size]=50",
        sandbox.base_url()
    );
    let before = ids(&follow(&sandbox, &base).await);
    let first = get(&sandbox, &base).await;
    // Earlier events than any on page 1: an offset cursor would now repeat rows of page 1.
    let early = (0..20)
        .map(|i| {
            EventCreate::new("Placed Order")
                .email("late@example.com")
                .time(format!("2023-06-01T00:00:{i:02}Z"))
                .unique_id(format!("early{i}"))
        })
        .collect();
    client.events().bulk_create(early).await.unwrap();
    sandbox.settled().await;
    let mut pages = vec![first.clone()];
    while let Some(next) = pages.last().unwrap()["links"]["next"]
        .as_str()
        .map(str::to_string)
    {
        pages.push(get(&sandbox, &next).await);
    }
    assert_eq!(
        ids(&pages),
        before,
        "every row once, in order, although 20 earlier rows arrived meanwhile"
    );
}

#[tokio::test]
async fn filters_and_sorts_the_spec_does_not_allow_are_refused_naming_what_is() {
    let (sandbox, _) = sandbox().await;
    for (query, pointer, says) in [
        (
            "filter=equals(email,%22a@b.com%22)",
            "filter",
            "cannot filter on \"email\"",
        ),
        (
            "filter=greater-than(metric_id,%22M1%22)",
            "filter",
            "allows equals on \"metric_id\"",
        ),
        ("sort=email", "sort", "sorts by datetime, -datetime"),
    ] {
        let (status, body) = answer(
            &sandbox,
            &format!("{}/api/events/?{query}", sandbox.base_url()),
        )
        .await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["errors"][0]["source"]["parameter"], pointer);
        assert!(
            body["errors"][0]["detail"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
}
