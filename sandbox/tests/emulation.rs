//! The sandbox driven by the real client: protocol checks, state, pagination, rate limits.

use futures_util::TryStreamExt;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::profiles::{ProfileData, ProfileRef};
use klaviyo_bridge::{Client, ListParams};
use klaviyo_sandbox::{Options, RateLimits, Sandbox};
use serde_json::json;

mod support;

async fn sandbox(rate_limits: RateLimits) -> (Sandbox, Client) {
    let (sandbox, builder) = support::sandbox_with(Options {
        rate_limits,
        ..Options::default()
    })
    .await;
    (sandbox, builder.build().unwrap())
}

async fn raw(sandbox: &Sandbox, path: &str, headers: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().get(format!("{}{path}", sandbox.base_url()));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn protocol_errors_are_klaviyo_shaped() {
    let (sandbox, _) = sandbox(RateLimits::Off).await;
    let key = format!("Klaviyo-API-Key {}", sandbox.api_key());
    let (status, body) = raw(&sandbox, "/api/accounts/", &[("authorization", &key)]).await;
    assert_eq!(status, 400);
    assert!(
        body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("revision")
    );
    let (status, _) = raw(
        &sandbox,
        "/api/accounts",
        &[("authorization", &key), ("revision", "July")],
    )
    .await;
    assert_eq!(status, 400);
    let (status, body) = raw(&sandbox, "/api/accounts", &[("revision", "2026-07-15")]).await;
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (401, Some("not_authenticated"))
    );
    let wrong = Client::builder()
        .api_key("pk_wrong_key_0000000000000000000000")
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    assert_eq!(
        wrong.accounts().current().await.unwrap_err().code(),
        "authentication_error"
    );
    let (status, body) = raw(
        &sandbox,
        "/api/accounts/",
        &[("authorization", &key), ("revision", "2026-07-15")],
    )
    .await;
    assert_eq!(
        (status, body["data"][0]["type"].as_str()),
        (200, Some("account")),
        "trailing slash accepted"
    );
}

#[tokio::test]
async fn profiles_resolve_identity_and_conflicts_name_the_existing_profile() {
    let (sandbox, client) = sandbox(RateLimits::Off).await;
    let created = client
        .profiles()
        .create(ProfileData::email("jane@example.com").set("first_name", "Jane"))
        .await
        .unwrap();
    let err = client
        .profiles()
        .create(ProfileData::email("jane@example.com"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "conflict");
    assert_eq!(
        err.errors()[0].meta.as_ref().unwrap()["duplicate_profile_id"],
        created.id().unwrap()
    );
    let upserted = client
        .profiles()
        .upsert(ProfileData::email("jane@example.com").set("loyalty_tier", "Gold"))
        .await
        .unwrap();
    assert_eq!(upserted.id(), created.id());
    assert_eq!(upserted.attr("properties").unwrap()["loyalty_tier"], "Gold");
    assert_eq!(upserted.attr_str("first_name"), Some("Jane"));
    assert_eq!(sandbox.state()["profiles"], 1);
}

#[tokio::test]
async fn events_create_metrics_deduplicate_and_vanish_with_their_profile() {
    let (sandbox, client) = sandbox(RateLimits::Off).await;
    let event = EventCreate::new("Placed Order")
        .email("a@example.com")
        .value(10.0)
        .unique_id("order-1");
    client.events().create(event.clone()).await.unwrap();
    client.events().create(event).await.unwrap();
    client
        .events()
        .bulk_create(
            (0..50)
                .map(|i| EventCreate::new("Viewed Product").email(format!("u{i}@example.com")))
                .collect(),
        )
        .await
        .unwrap();
    sandbox.settled().await;
    let state = sandbox.state();
    assert_eq!(
        state["events_per_metric"],
        json!({"Placed Order": 1, "Viewed Product": 50})
    );
    let metrics: Vec<_> = client
        .metrics()
        .list(ListParams::default())
        .unwrap()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(metrics.len(), 2);
    let placed = metrics
        .iter()
        .find(|m| m.attr_str("name") == Some("Placed Order"))
        .unwrap();
    let filter = format!("equals(metric_id,\"{}\")", placed.id().unwrap());
    let events: Vec<_> = client
        .events()
        .list(ListParams::filter(filter))
        .unwrap()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    // Time filters on events, and sparse fieldsets.
    client
        .events()
        .create(
            EventCreate::new("Placed Order")
                .email("b@example.com")
                .time("2020-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    let old = ListParams::filter("less-than(datetime,2021-01-01T00:00:00+00:00)");
    let old: Vec<_> = client
        .events()
        .list(old)
        .unwrap()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(old.len(), 1);
    let sparse = ListParams {
        fields: vec![("profile".into(), vec!["email".into()])],
        ..Default::default()
    };
    let profiles: Vec<_> = client
        .profiles()
        .list(sparse)
        .unwrap()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert!(
        profiles
            .iter()
            .all(|p| p.attributes().keys().collect::<Vec<_>>() == ["email"])
    );
    // The public-key door records the same events.
    let public = Client::builder()
        .public_key(klaviyo_sandbox::ACCOUNT_ID)
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    let body = json!({"data": {"type": "event", "attributes": {"properties": {}, "metric": {"data": {"type": "metric", "attributes": {"name": "Viewed Product"}}},
        "profile": {"data": {"type": "profile", "attributes": {"email": "c@example.com"}}}}}});
    public
        .request("create_client_event", &[], &[], Some(body))
        .await
        .unwrap();
    assert_eq!(sandbox.state()["events_per_metric"]["Viewed Product"], 51);
    client
        .events()
        .create(
            EventCreate::new("Placed Order")
                .email("b@example.com")
                .unique_id("b-2"),
        )
        .await
        .unwrap();
    client
        .data_privacy()
        .delete_profile(&ProfileRef::email("b@example.com"))
        .await
        .unwrap();
    client
        .data_privacy()
        .delete_profile(&ProfileRef::email("a@example.com"))
        .await
        .unwrap();
    assert_eq!(
        sandbox.state()["events_per_metric"],
        json!({"Viewed Product": 51})
    );
}

#[tokio::test]
async fn lists_paginate_with_the_tables_page_size_limits() {
    let (sandbox, client) = sandbox(RateLimits::Off).await;
    let list = client.lists().create("VIP").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..55 {
        ids.push(
            client
                .profiles()
                .upsert(ProfileData::email(format!("p{i}@example.com")))
                .await
                .unwrap()
                .id()
                .unwrap()
                .to_string(),
        );
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    client
        .lists()
        .add_profiles(list.id().unwrap(), &refs)
        .await
        .unwrap();
    let mut pager = client
        .lists()
        .profiles(list.id().unwrap(), ListParams::default())
        .unwrap();
    let mut pages = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        pages.push(page.data.len());
    }
    assert_eq!(
        pages,
        [20, 20, 15],
        "get_profiles_for_list defaults to 20 per page"
    );
    let err = client
        .request("get_profiles", &[], &[("page[size]", "101")], None)
        .await
        .unwrap_err();
    assert_eq!(
        (
            err.code(),
            err.errors()[0]
                .source
                .as_ref()
                .unwrap()
                .parameter
                .as_deref()
        ),
        ("validation_error", Some("page[size]"))
    );
    let filtered: Vec<_> = client
        .profiles()
        .list(ListParams::filter(
            "any(email,[\"p3@example.com\",\"p7@example.com\"])",
        ))
        .unwrap()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(filtered.len(), 2);
    drop(sandbox);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_limiter_keeps_a_rate_limited_sandbox_from_throttling() {
    // get_accounts is 1/s, 15/min; scale=5 makes it 5/s, 75/min.
    let (unpaced, _) = sandbox(RateLimits::Scale(5.0)).await;
    let raw_client = reqwest::Client::new();
    let key = format!("Klaviyo-API-Key {}", unpaced.api_key());
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = raw_client
            .get(format!("{}/api/accounts", unpaced.base_url()))
            .header("authorization", &key)
            .header("revision", "2026-07-15")
            .send()
            .await
            .unwrap();
        statuses.push((
            r.status().as_u16(),
            r.headers().get("retry-after").is_some(),
        ));
    }
    assert!(
        statuses.contains(&(429, true)),
        "an unpaced burst is throttled with Retry-After: {statuses:?}"
    );

    let (paced, _) = sandbox(RateLimits::Scale(5.0)).await;
    let client = Client::builder()
        .api_key(paced.api_key())
        .base_url(paced.base_url())
        .rate_limit_override(
            "get_accounts",
            klaviyo_bridge::operations::RateLimit {
                burst: 5,
                steady: 75,
                daily: None,
            },
        )
        .max_retries(0)
        .build()
        .unwrap();
    let calls = (0..12).map(|_| {
        let client = client.clone();
        async move { client.accounts().current().await }
    });
    let results = futures_util::future::join_all(calls).await;
    assert!(
        results.iter().all(Result::is_ok),
        "paced calls never see a 429 even with retries off"
    );
    // Windows are per credential: right after the key spends its 5/s, a token still has its own 5.
    let (per_key, _) = sandbox(RateLimits::Scale(5.0)).await;
    let unpaced = |builder: klaviyo_bridge::ClientBuilder| {
        builder
            .base_url(per_key.base_url())
            .rate_limit(false)
            .max_retries(0)
            .build()
            .unwrap()
    };
    let key_client = unpaced(Client::builder().api_key(per_key.api_key()));
    let token_client = unpaced(Client::builder().access_token(per_key.issue_token()));
    for client in [&key_client, &token_client] {
        let calls = (0..5).map(|_| {
            let client = client.clone();
            async move { client.accounts().current().await }
        });
        let window = futures_util::future::join_all(calls).await;
        assert!(
            window.iter().all(Result::is_ok),
            "each credential has its own window"
        );
    }
}
