//! Campaign reports computed from what was recorded: a campaign with known sends, opens,
//! clicks, bounces and orders gives exactly those numbers from `query_campaign_values`.

use klaviyo_bridge::Client;
use klaviyo_bridge::events::EventCreate;
use klaviyo_sandbox::{Options, RateLimits, example_request_body};
use serde_json::{Value, json};

mod support;

fn engagement(metric: &str, email: String, message: &str) -> EventCreate {
    EventCreate::new(metric)
        .email(email)
        .properties(json!({"$message": message}))
}

/// A sandbox with rate limits off, and a client for it with its own pacing off: reports allow 2 requests a minute.
async fn sandbox_with(options: Options) -> (klaviyo_sandbox::Sandbox, Client) {
    let (sandbox, builder) = support::sandbox_with(Options {
        rate_limits: RateLimits::Off,
        ..options
    })
    .await;
    (sandbox, builder.rate_limit(false).build().unwrap())
}

#[tokio::test]
async fn campaign_values_are_computed_from_the_recorded_events() {
    let (sandbox, client) = sandbox_with(Options::default()).await;
    let mut body = example_request_body("create_campaign").unwrap();
    body["data"]["attributes"]["name"] = json!("Spring sale");
    body["data"]["attributes"]["campaign-messages"] = json!({"data": [{"type": "campaign-message", "attributes": {"definition": {"channel": "email", "label": "Spring", "content": {"subject": "Hello"}}}}]});
    let campaign = client
        .request("create_campaign", &[], &[], Some(body))
        .await
        .unwrap()
        .raw()
        .clone();
    let campaign_id = campaign["data"]["id"].as_str().unwrap().to_string();
    let messages = client
        .request(
            "get_messages_for_campaign",
            &[("id", campaign_id.as_str())],
            &[],
            None,
        )
        .await
        .unwrap()
        .raw()
        .clone();
    let message = messages["data"][0]["id"].as_str().unwrap().to_string();

    let mut events = Vec::new();
    events.extend(
        (0..100).map(|i| engagement("Received Email", format!("u{i}@example.com"), &message)),
    );
    events
        .extend((0..4).map(|i| engagement("Bounced Email", format!("b{i}@example.com"), &message)));
    events.extend(
        (0..40).map(|i| engagement("Opened Email", format!("u{}@example.com", i % 30), &message)),
    );
    events.extend((0..12).map(|i| {
        engagement(
            "Clicked Email",
            format!("u{}@example.com", i % 10),
            &message,
        )
    }));
    // Another message's engagement and unattributed orders count for nothing here.
    events.extend(
        (0..7).map(|i| engagement("Opened Email", format!("u{i}@example.com"), "OTHER-MESSAGE")),
    );
    events.extend((0..5).map(|i| {
        EventCreate::new("Placed Order")
            .email(format!("u{}@example.com", i % 4))
            .value(20.0)
            .properties(json!({"$attributed_message": message}))
    }));
    events.extend((0..3).map(|i| {
        EventCreate::new("Placed Order")
            .email(format!("u{i}@example.com"))
            .value(99.0)
    }));
    client.events().bulk_create(events).await.unwrap();
    sandbox.settled().await;
    let metrics = client
        .request("get_metrics", &[], &[], None)
        .await
        .unwrap()
        .raw()
        .clone();
    let placed = metrics["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["attributes"]["name"] == "Placed Order")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let statistics = [
        "recipients",
        "delivered",
        "bounced",
        "opens",
        "opens_unique",
        "clicks",
        "clicks_unique",
        "conversions",
        "conversion_uniques",
        "conversion_value",
        "open_rate",
        "click_rate",
        "click_to_open_rate",
        "conversion_rate",
        "revenue_per_recipient",
        "average_order_value",
        "delivery_rate",
    ];
    let report = |timeframe: Value| {
        let client = client.clone();
        let body = json!({"data": {"type": "campaign-values-report", "attributes": {"statistics": statistics, "timeframe": timeframe, "conversion_metric_id": placed}}});
        async move {
            client
                .request("query_campaign_values", &[], &[], Some(body))
                .await
                .unwrap()
                .raw()
                .clone()
        }
    };
    let recent = report(json!({"key": "last_30_days"})).await;
    let results = recent["data"]["attributes"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(
        results[0]["groupings"],
        json!({"campaign_id": campaign_id, "campaign_message_id": message, "send_channel": "email"})
    );
    assert_eq!(
        results[0]["statistics"],
        json!({"recipients": 104, "delivered": 100, "bounced": 4, "opens": 40, "opens_unique": 30, "clicks": 12, "clicks_unique": 10,
               "conversions": 5, "conversion_uniques": 4, "conversion_value": 100.0, "open_rate": 0.3, "click_rate": 0.1, "click_to_open_rate": 0.333333,
               "conversion_rate": 0.04, "revenue_per_recipient": 1.0, "average_order_value": 20.0, "delivery_rate": 0.961538})
    );
    assert_eq!(
        recent["data"]["relationships"]["campaigns"]["data"],
        json!([{"type": "campaign", "id": campaign_id}])
    );
    let before =
        report(json!({"start": "2020-01-01T00:00:00Z", "end": "2020-02-01T00:00:00Z"})).await;
    assert_eq!(
        before["data"]["attributes"]["results"][0]["statistics"]["opens"], 0,
        "nothing was recorded in January 2020"
    );
    let by_channel = client
        .request("query_campaign_values", &[], &[], Some(json!({"data": {"type": "campaign-values-report", "attributes": {"statistics": ["opens"], "timeframe": {"key": "last_7_days"}, "conversion_metric_id": placed, "group_by": ["send_channel"], "filter": format!("equals(campaign_id,\"{campaign_id}\")")}}})))
        .await
        .unwrap();
    assert_eq!(
        by_channel.raw()["data"]["attributes"]["results"],
        json!([{"groupings": {"send_channel": "email"}, "statistics": {"opens": 40}}])
    );
    let err = client.request("query_campaign_values", &[], &[], Some(json!({"data": {"type": "campaign-values-report", "attributes": {"statistics": ["opens"], "conversion_metric_id": placed}}}))).await.unwrap_err();
    assert_eq!(
        err.errors()[0].source.as_ref().unwrap().pointer.as_deref(),
        Some("/data/attributes/timeframe")
    );
}

/// Every event of `metric` in the account, following links.next.
async fn all_events(client: &Client, metric_id: &str) -> Vec<Value> {
    let filter = format!("equals(metric_id,\"{metric_id}\")");
    let mut pager = client
        .events()
        .list(klaviyo_bridge::ListParams::filter(filter))
        .unwrap();
    let mut events = Vec::new();
    while let Some(page) = pager.next_page().await.unwrap() {
        events.extend(page.data.into_iter().map(|r| r.raw().clone()));
    }
    events
}

#[tokio::test]
async fn the_demo_account_reports_what_its_events_say() {
    let (_sandbox, client) = sandbox_with(Options {
        seed_data: Some("demo".into()),
        ..Options::default()
    })
    .await;
    let campaigns = client
        .request(
            "get_campaigns",
            &[],
            &[("filter", "equals(messages.channel,'email')")],
            None,
        )
        .await
        .unwrap()
        .raw()
        .clone();
    assert_eq!(campaigns["data"].as_array().unwrap().len(), 3);
    let metrics = client
        .request("get_metrics", &[], &[], None)
        .await
        .unwrap()
        .raw()
        .clone();
    let metric = |name: &str| {
        metrics["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["attributes"]["name"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let opened = all_events(&client, &metric("Opened Email")).await;
    let orders = all_events(&client, &metric("Placed Order")).await;
    let body = json!({"data": {"type": "campaign-values-report", "attributes": {"statistics": ["recipients", "opens", "conversions", "conversion_value"],
        "timeframe": {"start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "conversion_metric_id": metric("Placed Order")}}});
    let report = client
        .request("query_campaign_values", &[], &[], Some(body))
        .await
        .unwrap()
        .raw()
        .clone();
    let newsletter = client
        .request("get_lists", &[], &[], None)
        .await
        .unwrap()
        .raw()["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["attributes"]["name"] == "Newsletter")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let members = client
        .lists()
        .profiles(&newsletter, klaviyo_bridge::ListParams::default())
        .unwrap();
    let members: Vec<_> = futures_util::TryStreamExt::try_collect::<Vec<_>>(members.items())
        .await
        .unwrap();
    for result in report["data"]["attributes"]["results"].as_array().unwrap() {
        let message = result["groupings"]["campaign_message_id"].as_str().unwrap();
        let sent = result["statistics"]["recipients"] != 0;
        let opens = opened
            .iter()
            .filter(|e| e["attributes"]["event_properties"]["$message"] == message)
            .count();
        let attributed: Vec<&Value> = orders
            .iter()
            .filter(|e| e["attributes"]["event_properties"]["$attributed_message"] == message)
            .collect();
        let value: f64 = attributed
            .iter()
            .map(|e| {
                e["attributes"]["event_properties"]["$value"]
                    .as_f64()
                    .unwrap()
            })
            .sum();
        assert_eq!(
            result["statistics"]["recipients"],
            if sent { members.len() } else { 0 },
            "every reachable Newsletter member received a sent campaign"
        );
        assert_eq!(result["statistics"]["opens"], opens);
        assert_eq!(result["statistics"]["conversions"], attributed.len());
        assert!((result["statistics"]["conversion_value"].as_f64().unwrap() - value).abs() < 1e-9);
        assert!(
            !sent || opens > 10,
            "the demo's sent campaigns have engagement"
        );
    }
}

#[tokio::test]
async fn flow_values_count_the_demo_welcome_email() {
    let (_sandbox, client) = sandbox_with(Options {
        seed_data: Some("demo".into()),
        ..Options::default()
    })
    .await;
    let metrics = client
        .request("get_metrics", &[], &[], None)
        .await
        .unwrap()
        .raw()
        .clone();
    let placed = metrics["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["attributes"]["name"] == "Placed Order")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let flows = client
        .request("get_flows", &[], &[], None)
        .await
        .unwrap()
        .raw()
        .clone();
    let flow = flows["data"][0]["id"].as_str().unwrap().to_string();
    let body = json!({"data": {"type": "flow-values-report", "attributes": {"statistics": ["recipients", "opens_unique", "open_rate"],
        "timeframe": {"start": "2025-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"}, "conversion_metric_id": placed, "group_by": ["flow_id", "send_channel"]}}});
    let report = client
        .request("query_flow_values", &[], &[], Some(body))
        .await
        .unwrap()
        .raw()
        .clone();
    assert_eq!(
        report["data"]["attributes"]["results"],
        json!([{"groupings": {"flow_id": flow, "send_channel": "email"}, "statistics": {"recipients": 50, "opens_unique": 25, "open_rate": 0.5}}])
    );
    assert_eq!(
        report["data"]["relationships"]["flows"]["data"],
        json!([{"type": "flow", "id": flow}])
    );
}

#[tokio::test]
async fn flow_series_spread_the_counts_over_their_intervals() {
    let (_sandbox, client) = sandbox_with(Options {
        seed_data: Some("demo".into()),
        ..Options::default()
    })
    .await;
    let metrics = client
        .request("get_metrics", &[], &[], None)
        .await
        .unwrap()
        .raw()
        .clone();
    let placed = metrics["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["attributes"]["name"] == "Placed Order")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The demo's welcome email went out on 2025-10-03.
    let body = json!({"data": {"type": "flow-series-report", "attributes": {"statistics": ["recipients", "opens_unique"], "interval": "daily",
        "timeframe": {"start": "2025-10-01T00:00:00Z", "end": "2025-10-05T00:00:00Z"}, "conversion_metric_id": placed, "group_by": ["send_channel"]}}});
    let report = client
        .request("query_flow_series", &[], &[], Some(body))
        .await
        .unwrap()
        .raw()
        .clone();
    let attributes = &report["data"]["attributes"];
    assert_eq!(
        attributes["date_times"],
        json!([
            "2025-10-01T00:00:00+00:00",
            "2025-10-02T00:00:00+00:00",
            "2025-10-03T00:00:00+00:00",
            "2025-10-04T00:00:00+00:00"
        ])
    );
    assert_eq!(
        attributes["results"],
        json!([{"groupings": {"send_channel": "email"}, "statistics": {"recipients": [0, 0, 50, 0], "opens_unique": [0, 0, 25, 0]}}])
    );
    let monthly = json!({"data": {"type": "flow-series-report", "attributes": {"statistics": ["recipients"], "interval": "monthly",
        "timeframe": {"start": "2025-09-15T00:00:00Z", "end": "2025-12-01T00:00:00Z"}, "conversion_metric_id": placed, "group_by": ["send_channel"]}}});
    let monthly = client
        .request("query_flow_series", &[], &[], Some(monthly))
        .await
        .unwrap()
        .raw()
        .clone();
    assert_eq!(
        monthly["data"]["attributes"]["date_times"],
        json!([
            "2025-09-15T00:00:00+00:00",
            "2025-10-01T00:00:00+00:00",
            "2025-11-01T00:00:00+00:00"
        ])
    );
    assert_eq!(
        monthly["data"]["attributes"]["results"][0]["statistics"]["recipients"],
        json!([0, 50, 0])
    );
    // Longer than the spec allows: a daily series of 61 days, values over two years.
    let too_long = |operation: &'static str, kind: &str, interval: Option<&str>, end: &str| {
        let mut body = json!({"data": {"type": kind, "attributes": {"statistics": ["recipients"],
            "timeframe": {"start": "2024-01-01T00:00:00Z", "end": end}, "conversion_metric_id": placed}}});
        if let Some(interval) = interval {
            body["data"]["attributes"]["interval"] = json!(interval);
        }
        let client = &client;
        async move {
            match client.request(operation, &[], &[], Some(body)).await {
                Err(e) => {
                    let api = e.api_error().expect("an API error");
                    (api.status, format!("{:?}", api.errors))
                }
                Ok(_) => panic!("{operation} answered a timeframe too long"),
            }
        }
    };
    let (status, detail) = too_long(
        "query_flow_series",
        "flow-series-report",
        Some("daily"),
        "2024-03-02T00:00:00Z",
    )
    .await;
    assert_eq!(status, 400);
    assert!(detail.contains("at most 60 days"), "{detail}");
    let (status, detail) = too_long(
        "query_campaign_values",
        "campaign-values-report",
        None,
        "2026-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(status, 400);
    assert!(detail.contains("at most 1 year"), "{detail}");
}

#[tokio::test]
async fn segment_and_form_reports_count_what_the_account_holds() {
    let (sandbox, client) = sandbox_with(Options::default()).await;
    for i in 0..6 {
        let tier = if i < 4 { "gold" } else { "silver" };
        client
            .profiles()
            .upsert(
                klaviyo_bridge::profiles::ProfileData::email(format!("s{i}@example.com"))
                    .set("tier", tier),
            )
            .await
            .unwrap();
    }
    let definition = json!({"condition_groups": [{"conditions": [{"type": "profile-property", "property": "properties['tier']", "filter": {"type": "string", "operator": "equals", "value": "gold"}}]}]});
    let segment = client.request("create_segment", &[], &[], Some(json!({"data": {"type": "segment", "attributes": {"name": "Gold", "definition": definition}}}))).await.unwrap().raw().clone();
    let segment_id = segment["data"]["id"].as_str().unwrap().to_string();
    let body = json!({"data": {"type": "segment-values-report", "attributes": {"statistics": ["total_members", "members_added", "members_removed"], "timeframe": {"key": "today"}}}});
    let report = client
        .request("query_segment_values", &[], &[], Some(body))
        .await
        .unwrap()
        .raw()
        .clone();
    assert_eq!(
        report["data"]["attributes"]["results"],
        json!([{"groupings": {"segment_id": segment_id}, "statistics": {"total_members": 4, "members_added": 4, "members_removed": 0}}])
    );

    let form = |metric: &str, email: String, version: &str| {
        EventCreate::new(metric)
            .email(email)
            .properties(json!({"$form": "FORM1", "$form_version": version}))
    };
    let mut events: Vec<EventCreate> = (0..10)
        .map(|i| {
            form(
                "Viewed Form",
                format!("v{}@example.com", i % 8),
                if i % 2 == 0 { "A" } else { "B" },
            )
        })
        .collect();
    events.extend((0..2).map(|i| form("Submitted Form", format!("v{i}@example.com"), "A")));
    client.events().bulk_create(events).await.unwrap();
    sandbox.settled().await;
    let body = json!({"data": {"type": "form-values-report", "attributes": {"statistics": ["viewed_form", "viewed_form_uniques", "submits", "submit_rate"], "timeframe": {"key": "today"}}}});
    let report = client
        .request("query_form_values", &[], &[], Some(body))
        .await
        .unwrap()
        .raw()
        .clone();
    assert_eq!(
        report["data"]["attributes"]["results"],
        json!([{"groupings": {"form_id": "FORM1"}, "statistics": {"viewed_form": 10, "viewed_form_uniques": 8, "submits": 2, "submit_rate": 0.25}}])
    );
    let by_version = json!({"data": {"type": "form-values-report", "attributes": {"statistics": ["viewed_form"], "timeframe": {"key": "today"}, "group_by": ["form_id", "form_version_id"]}}});
    let report = client
        .request("query_form_values", &[], &[], Some(by_version))
        .await
        .unwrap()
        .raw()
        .clone();
    let views: Vec<(&str, u64)> = report["data"]["attributes"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["groupings"]["form_version_id"].as_str().unwrap(),
                r["statistics"]["viewed_form"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(views, [("A", 5), ("B", 5)]);
    let series = json!({"data": {"type": "form-series-report", "attributes": {"statistics": ["submits"], "interval": "hourly", "timeframe": {"key": "today"}}}});
    let report = client
        .request("query_form_series", &[], &[], Some(series))
        .await
        .unwrap()
        .raw()
        .clone();
    let submits = report["data"]["attributes"]["results"][0]["statistics"]["submits"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        submits.len(),
        report["data"]["attributes"]["date_times"]
            .as_array()
            .unwrap()
            .len(),
        "one value per hour"
    );
    assert_eq!(submits.iter().map(|v| v.as_u64().unwrap()).sum::<u64>(), 2);
    let segment_series = json!({"data": {"type": "segment-series-report", "attributes": {"statistics": ["total_members"], "interval": "daily", "timeframe": {"key": "today"}}}});
    let report = client
        .request("query_segment_series", &[], &[], Some(segment_series))
        .await
        .unwrap()
        .raw()
        .clone();
    assert_eq!(
        report["data"]["attributes"]["results"][0]["statistics"]["total_members"],
        json!([4])
    );
}

#[tokio::test]
async fn metric_aggregates_by_interval_and_dimension() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    for (i, (time, campaign)) in [
        ("2026-03-02T10:00:00Z", "Spring"),
        ("2026-03-03T11:00:00Z", "Spring"),
        ("2026-03-10T09:00:00Z", "Summer"),
        ("2026-03-11T09:30:00Z", "Spring"),
    ]
    .into_iter()
    .enumerate()
    {
        let order = EventCreate::new("Placed Order")
            .email(format!("o{}@example.com", i % 3))
            .value(10.0 * (i + 1) as f64)
            .time(time)
            .properties(json!({"Campaign Name": campaign}));
        client.events().create(order).await.unwrap();
    }
    let metrics = client
        .request("get_metrics", &[], &[], None)
        .await
        .unwrap()
        .raw()
        .clone();
    let metric = metrics["data"][0]["id"].as_str().unwrap().to_string();
    let query = |interval: &str, by: Value| {
        json!({"data": {"type": "metric-aggregate", "attributes": {"metric_id": metric, "measurements": ["count", "sum_value", "unique"], "interval": interval, "by": by,
        "filter": ["greater-or-equal(datetime,2026-03-02T00:00:00Z)", "less-than(datetime,2026-03-16T00:00:00Z)"], "timezone": "UTC"}}})
    };
    let weekly = client
        .request(
            "query_metric_aggregates",
            &[],
            &[],
            Some(query("week", json!(["Campaign Name"]))),
        )
        .await
        .unwrap()
        .raw()
        .clone();
    let attributes = &weekly["data"]["attributes"];
    assert_eq!(
        attributes["dates"],
        json!(["2026-03-02T00:00:00+00:00", "2026-03-09T00:00:00+00:00"])
    );
    assert_eq!(
        attributes["data"],
        json!([
        {"dimensions": ["Spring"], "measurements": {"count": [2, 1], "sum_value": [30.0, 40.0], "unique": [2, 1]}},
        {"dimensions": ["Summer"], "measurements": {"count": [0, 1], "sum_value": [0.0, 30.0], "unique": [0, 1]}}])
    );
    let hourly = client
        .request(
            "query_metric_aggregates",
            &[],
            &[],
            Some(query("hour", json!([]))),
        )
        .await
        .unwrap()
        .raw()
        .clone();
    assert_eq!(
        hourly["data"]["attributes"]["dates"]
            .as_array()
            .unwrap()
            .len(),
        14 * 24
    );
    assert_eq!(
        hourly["data"]["attributes"]["data"][0]["measurements"]["count"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .sum::<u64>(),
        4
    );
    let bad = client
        .request(
            "query_metric_aggregates",
            &[],
            &[],
            Some(query("fortnight", json!([]))),
        )
        .await
        .unwrap_err();
    assert_eq!(
        bad.errors()[0].source.as_ref().unwrap().pointer.as_deref(),
        Some("/data/attributes/interval")
    );
}
