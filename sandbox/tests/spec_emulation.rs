//! Operations emulated from the spec keep state like Klaviyo: what is created can be read,
//! listed, changed, linked and deleted, and links are seen from both sides.

use klaviyo_bridge::Client;
use klaviyo_sandbox::{Options, RateLimits, example_request_body};
use serde_json::{Value, json};

mod support;
use support::welcome_flow;

async fn call(
    client: &Client,
    op: &str,
    id: Option<&str>,
    query: &[(&str, &str)],
    body: Option<Value>,
) -> Result<Value, klaviyo_bridge::Error> {
    let path: Vec<(&str, &str)> = id.map(|id| vec![("id", id)]).unwrap_or_default();
    client
        .request(op, &path, query, body)
        .await
        .map(|d| d.raw().clone())
}

/// A sandbox with rate limits off, and a client for it with retries off, so every answer is the first one.
async fn sandbox_with(options: Options) -> (klaviyo_sandbox::Sandbox, Client) {
    let (sandbox, builder) = support::sandbox_with(Options {
        rate_limits: RateLimits::Off,
        ..options
    })
    .await;
    (sandbox, builder.max_retries(0).build().unwrap())
}

#[tokio::test]
async fn campaigns_and_tags_round_trip_through_the_spec_engine() {
    let (sandbox, client) = sandbox_with(Options::default()).await;
    let mut body = example_request_body("create_campaign").unwrap();
    body["data"]["attributes"]["name"] = json!("Spring sale");
    body["data"]["attributes"]["campaign-messages"] = json!({"data": [{"type": "campaign-message", "attributes": {"definition": {"channel": "email", "label": "Spring", "content": {"subject": "Hello", "from_email": "shop@example.com", "from_label": "Shop"}}}}]});
    let created = call(&client, "create_campaign", None, &[], Some(body))
        .await
        .unwrap();
    let id = created["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["data"]["attributes"]["name"], "Spring sale");
    assert!(
        created["data"]["links"]["self"]
            .as_str()
            .unwrap()
            .starts_with(&sandbox.base_url())
    );

    let read = call(&client, "get_campaign", Some(&id), &[], None)
        .await
        .unwrap();
    assert_eq!(read["data"]["attributes"]["name"], "Spring sale");
    let listed = call(
        &client,
        "get_campaigns",
        None,
        &[("filter", "equals(messages.channel,'email')")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
    let sms = call(
        &client,
        "get_campaigns",
        None,
        &[("filter", "equals(messages.channel,'sms')")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        sms["data"],
        json!([]),
        "the channel filter reads the campaign's messages"
    );
    let messages = call(&client, "get_messages_for_campaign", Some(&id), &[], None)
        .await
        .unwrap();
    assert_eq!(
        messages["data"][0]["attributes"]["definition"]["content"]["subject"],
        "Hello"
    );
    let message_id = messages["data"][0]["id"].as_str().unwrap().to_string();
    let owner = call(
        &client,
        "get_campaign_for_campaign_message",
        Some(&message_id),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        owner["data"]["id"],
        id.as_str(),
        "a message knows its campaign"
    );

    let renamed = call(
        &client,
        "update_campaign",
        Some(&id),
        &[],
        Some(
            json!({"data": {"type": "campaign", "id": id, "attributes": {"name": "Summer sale"}}}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(renamed["data"]["attributes"]["name"], "Summer sale");
    assert_eq!(
        call(&client, "get_campaign", Some(&id), &[], None)
            .await
            .unwrap()["data"]["attributes"]["name"],
        "Summer sale"
    );

    let tag = call(
        &client,
        "create_tag",
        None,
        &[],
        Some(json!({"data": {"type": "tag", "attributes": {"name": "seasonal"}}})),
    )
    .await
    .unwrap();
    let tag_id = tag["data"]["id"].as_str().unwrap().to_string();
    call(
        &client,
        "tag_campaigns",
        Some(&tag_id),
        &[],
        Some(json!({"data": [{"type": "campaign", "id": id}]})),
    )
    .await
    .unwrap();
    let tag_ids = call(&client, "get_tag_ids_for_campaign", Some(&id), &[], None)
        .await
        .unwrap();
    assert_eq!(
        tag_ids["data"],
        json!([{"type": "tag", "id": tag_id}]),
        "the campaign sees the tag it was given"
    );
    let tags = call(&client, "get_tags_for_campaign", Some(&id), &[], None)
        .await
        .unwrap();
    assert_eq!(tags["data"][0]["attributes"]["name"], "seasonal");
    call(
        &client,
        "remove_tag_from_campaigns",
        Some(&tag_id),
        &[],
        Some(json!({"data": [{"type": "campaign", "id": id}]})),
    )
    .await
    .unwrap();
    assert_eq!(
        call(&client, "get_tag_ids_for_campaign", Some(&id), &[], None)
            .await
            .unwrap()["data"],
        json!([])
    );

    let bad = call(&client, "update_campaign", Some(&id), &[], Some(json!({"data": {"type": "campaign", "id": id, "attributes": {"name": ["not", "text"]}}}))).await.unwrap_err();
    assert_eq!(
        bad.errors()[0].source.as_ref().unwrap().pointer.as_deref(),
        Some("/data/attributes/name")
    );

    call(&client, "delete_campaign", Some(&id), &[], None)
        .await
        .unwrap();
    assert_eq!(
        call(&client, "get_campaign", Some(&id), &[], None)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert_eq!(
        call(&client, "delete_campaign", Some(&id), &[], None)
            .await
            .unwrap_err()
            .code(),
        "not_found"
    );
}

#[test]
fn example_bodies_exist_for_operations_that_take_one() {
    assert!(example_request_body("create_flow").is_some_and(|b| b["data"]["type"] == "flow"));
    assert!(example_request_body("get_campaigns").is_none());
}

async fn campaign_for(client: &Client, list_id: &str) -> (String, String) {
    let mut body = example_request_body("create_campaign").unwrap();
    body["data"]["attributes"]["audiences"] = json!({"included": [list_id], "excluded": []});
    body["data"]["attributes"]["campaign-messages"] = json!({"data": [{"type": "campaign-message", "attributes": {"definition": {"channel": "email", "label": "L", "content": {"subject": "Hi"}}}}]});
    let campaign = call(client, "create_campaign", None, &[], Some(body))
        .await
        .unwrap();
    let id = campaign["data"]["id"].as_str().unwrap().to_string();
    let messages = call(client, "get_messages_for_campaign", Some(&id), &[], None)
        .await
        .unwrap();
    (id, messages["data"][0]["id"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn a_campaign_send_reaches_its_list_and_is_counted_by_reports() {
    let (sandbox, client) = sandbox_with(Options::default()).await;
    let list = client.lists().create("Newsletter").await.unwrap();
    let mut members = Vec::new();
    for i in 0..5 {
        members.push(
            client
                .profiles()
                .upsert(klaviyo_bridge::profiles::ProfileData::email(format!(
                    "m{i}@example.com"
                )))
                .await
                .unwrap()
                .id()
                .unwrap()
                .to_string(),
        );
    }
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    client
        .lists()
        .add_profiles(list.id().unwrap(), &refs)
        .await
        .unwrap();
    client.request("bulk_suppress_profiles", &[], &[], Some(json!({"data": {"type": "profile-suppression-bulk-create-job", "attributes": {"profiles": {"data": [{"type": "profile", "attributes": {"email": "m4@example.com"}}]}}}}))).await.unwrap();
    sandbox.settled().await;
    let (campaign, message) = campaign_for(&client, list.id().unwrap()).await;

    call(
        &client,
        "refresh_campaign_recipient_estimation",
        None,
        &[],
        Some(json!({"data": {"type": "campaign-recipient-estimation-job", "id": campaign}})),
    )
    .await
    .unwrap();
    let estimate = call(
        &client,
        "get_campaign_recipient_estimation",
        Some(&campaign),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        estimate["data"]["attributes"]["estimated_recipient_count"], 4,
        "five members, one suppressed"
    );

    let job = call(
        &client,
        "send_campaign",
        None,
        &[],
        Some(json!({"data": {"type": "campaign-send-job", "id": campaign}})),
    )
    .await
    .unwrap();
    assert_eq!(job["data"]["attributes"]["status"], "queued");
    sandbox.settled().await;
    assert_eq!(sandbox.state()["events_per_metric"]["Received Email"], 4);
    assert_eq!(
        call(&client, "get_campaign_send_job", Some(&campaign), &[], None)
            .await
            .unwrap()["data"]["attributes"]["status"],
        "complete"
    );
    assert_eq!(
        call(&client, "get_campaign", Some(&campaign), &[], None)
            .await
            .unwrap()["data"]["attributes"]["status"],
        "Sent"
    );
    let again = call(
        &client,
        "send_campaign",
        None,
        &[],
        Some(json!({"data": {"type": "campaign-send-job", "id": campaign}})),
    )
    .await
    .unwrap_err();
    assert_eq!(again.code(), "conflict");
    let metrics = client.request("get_metrics", &[], &[], None).await.unwrap();
    let metric = metrics.raw()["data"][0]["id"].as_str().unwrap().to_string();
    let report = client
        .request("query_campaign_values", &[], &[], Some(json!({"data": {"type": "campaign-values-report", "attributes": {"statistics": ["recipients", "delivered"], "timeframe": {"key": "today"}, "conversion_metric_id": metric}}})))
        .await
        .unwrap();
    assert_eq!(
        report.raw()["data"]["attributes"]["results"][0]["statistics"],
        json!({"recipients": 4, "delivered": 4})
    );
    assert_eq!(
        report.raw()["data"]["attributes"]["results"][0]["groupings"]["campaign_message_id"],
        message.as_str()
    );
}

#[tokio::test]
async fn a_send_can_be_cancelled_or_reverted_before_it_completes() {
    // Steps of a minute: the cancel surely comes while the send is still queued.
    let (sandbox, client) = sandbox_with(Options {
        job_step: std::time::Duration::from_secs(60),
        ..Options::default()
    })
    .await;
    let list = client.lists().create("All").await.unwrap();
    for action in ["cancel", "revert"] {
        let (campaign, _) = campaign_for(&client, list.id().unwrap()).await;
        call(
            &client,
            "send_campaign",
            None,
            &[],
            Some(json!({"data": {"type": "campaign-send-job", "id": campaign}})),
        )
        .await
        .unwrap();
        call(&client, "cancel_campaign_send", Some(&campaign), &[], Some(json!({"data": {"type": "campaign-send-job", "id": campaign, "attributes": {"action": action}}}))).await.unwrap();
        assert_eq!(
            call(&client, "get_campaign_send_job", Some(&campaign), &[], None)
                .await
                .unwrap()["data"]["attributes"]["status"],
            "cancelled"
        );
        let status = call(&client, "get_campaign", Some(&campaign), &[], None)
            .await
            .unwrap()["data"]["attributes"]["status"]
            .clone();
        assert_eq!(
            status,
            if action == "cancel" {
                "Cancelled"
            } else {
                "Draft"
            }
        );
        let twice = call(&client, "cancel_campaign_send", Some(&campaign), &[], Some(json!({"data": {"type": "campaign-send-job", "id": campaign, "attributes": {"action": "cancel"}}}))).await.unwrap_err();
        assert_eq!(twice.code(), "validation_error");
    }
    assert!(
        sandbox.state()["events_per_metric"]
            .get("Received Email")
            .is_none(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn templates_render_their_variables_and_clone() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    let template = call(&client, "create_template", None, &[], Some(json!({"data": {"type": "template", "attributes": {"name": "Welcome", "editor_type": "CODE", "html": "<p>Hi {{ first_name|default:'there' }} from {{ shop.name }}</p>"}}}))).await.unwrap();
    let id = template["data"]["id"].as_str().unwrap().to_string();
    let rendered = call(&client, "render_template", None, &[], Some(json!({"data": {"type": "template", "id": id, "attributes": {"context": {"first_name": "Jane", "shop": {"name": "Mugs"}}}}}))).await.unwrap();
    assert_eq!(
        rendered["data"]["attributes"]["html"],
        "<p>Hi Jane from Mugs</p>"
    );
    let anonymous = call(
        &client,
        "render_template",
        None,
        &[],
        Some(json!({"data": {"type": "template", "id": id, "attributes": {"context": {}}}})),
    )
    .await
    .unwrap();
    assert_eq!(
        anonymous["data"]["attributes"]["html"],
        "<p>Hi there from </p>"
    );
    let clone = call(
        &client,
        "clone_template",
        None,
        &[],
        Some(json!({"data": {"type": "template", "id": id, "attributes": {"name": "Welcome v2"}}})),
    )
    .await
    .unwrap();
    assert_ne!(clone["data"]["id"], id.as_str());
    assert_eq!(
        clone["data"]["attributes"]["html"],
        template["data"]["attributes"]["html"]
    );
    let all = call(&client, "get_templates", None, &[], None)
        .await
        .unwrap();
    let names: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["attributes"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Welcome", "Welcome v2"]);
}

#[tokio::test]
async fn a_flow_is_created_with_its_actions_and_messages() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    let list = client.lists().create("New").await.unwrap();
    let flow = call(
        &client,
        "create_flow",
        None,
        &[],
        Some(welcome_flow(list.id().unwrap())),
    )
    .await
    .unwrap();
    let flow_id = flow["data"]["id"].as_str().unwrap().to_string();
    let actions = call(&client, "get_actions_for_flow", Some(&flow_id), &[], None)
        .await
        .unwrap();
    let actions = actions["data"].as_array().unwrap().clone();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0]["attributes"]["definition"]["type"], "send-email");
    let mail = actions[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        call(&client, "get_flow_for_flow_action", Some(&mail), &[], None)
            .await
            .unwrap()["data"]["id"],
        flow_id.as_str()
    );
    let messages = call(&client, "get_flow_action_messages", Some(&mail), &[], None)
        .await
        .unwrap();
    let message = messages["data"][0].clone();
    assert_eq!(
        (
            message["attributes"]["channel"].as_str(),
            message["attributes"]["definition"]["subject_line"].as_str()
        ),
        (Some("email"), Some("Welcome!"))
    );
    let owner = call(
        &client,
        "get_action_for_flow_message",
        Some(message["id"].as_str().unwrap()),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(owner["data"]["id"], mail.as_str());
    assert!(
        call(
            &client,
            "get_flow_message",
            Some(message["id"].as_str().unwrap()),
            &[],
            None
        )
        .await
        .is_ok()
    );
}

#[tokio::test]
async fn every_account_has_tracking_settings_and_lists_count_their_members_on_request() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    let account = klaviyo_sandbox::ACCOUNT_ID;
    let settings = call(&client, "get_tracking_settings", None, &[], None)
        .await
        .unwrap();
    assert_eq!(settings["data"][0]["id"], account);
    call(&client, "update_tracking_setting", Some(account), &[], Some(json!({"data": {"type": "tracking-setting", "id": account, "attributes": {"auto_add_parameters": false}}}))).await.unwrap();
    assert_eq!(
        call(&client, "get_tracking_setting", Some(account), &[], None)
            .await
            .unwrap()["data"]["attributes"]["auto_add_parameters"],
        false
    );

    let list = client.lists().create("Counted").await.unwrap();
    let id = list.id().unwrap().to_string();
    let profile = client
        .profiles()
        .upsert(klaviyo_bridge::profiles::ProfileData::email(
            "c@example.com",
        ))
        .await
        .unwrap();
    client
        .lists()
        .add_profiles(&id, &[profile.id().unwrap()])
        .await
        .unwrap();
    let plain = call(&client, "get_list", Some(&id), &[], None)
        .await
        .unwrap();
    assert!(
        plain["data"]["attributes"].get("profile_count").is_none(),
        "counted only when asked"
    );
    let counted = call(
        &client,
        "get_list",
        Some(&id),
        &[("additional-fields[list]", "profile_count")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(counted["data"]["attributes"]["profile_count"], 1);
}

#[tokio::test]
async fn coupon_codes_come_from_their_bulk_job_and_belong_to_their_coupon() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    let coupon = call(&client, "create_coupon", None, &[], Some(json!({"data": {"type": "coupon", "attributes": {"external_id": "SUMMER", "description": "Summer"}}}))).await.unwrap();
    let coupon_id = coupon["data"]["id"].as_str().unwrap().to_string();
    let code = |unique: &str, coupon: &str| json!({"type": "coupon-code", "attributes": {"unique_code": unique}, "relationships": {"coupon": {"data": {"type": "coupon", "id": coupon}}}});
    let body = json!({"data": {"type": "coupon-code-bulk-create-job", "attributes": {"coupon-codes": {"data": [code("A1", &coupon_id), code("A2", &coupon_id), code("A1", &coupon_id), code("B1", "NO-SUCH-COUPON")]}}}});
    let job = call(&client, "bulk_create_coupon_codes", None, &[], Some(body))
        .await
        .unwrap();
    let job_id = job["data"]["id"].as_str().unwrap().to_string();
    let job = client
        .request(
            "get_bulk_create_coupon_codes_job",
            &[("job_id", job_id.as_str())],
            &[],
            None,
        )
        .await
        .unwrap()
        .raw()
        .clone();
    let counts = &job["data"]["attributes"];
    assert_eq!(
        (
            counts["status"].as_str(),
            counts["completed_count"].as_u64(),
            counts["failed_count"].as_u64()
        ),
        (Some("complete"), Some(2), Some(2))
    );
    call(
        &client,
        "create_coupon_code",
        None,
        &[],
        Some(json!({"data": code("A3", &coupon_id)})),
    )
    .await
    .unwrap();
    let codes = call(
        &client,
        "get_coupon_codes_for_coupon",
        Some(&coupon_id),
        &[],
        None,
    )
    .await
    .unwrap();
    let mut uniques: Vec<&str> = codes["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["attributes"]["unique_code"].as_str().unwrap())
        .collect();
    uniques.sort_unstable();
    assert_eq!(
        uniques,
        ["A1", "A2", "A3"],
        "codes made either way belong to their coupon"
    );
}

#[tokio::test]
async fn metrics_know_their_properties_and_the_account_its_mapped_metrics() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    let order = klaviyo_bridge::events::EventCreate::new("Placed Order")
        .email("p@example.com")
        .value(5.0);
    client
        .events()
        .create(
            order
                .clone()
                .properties(json!({"Items": ["mug"], "Coupon": "SPRING10"})),
        )
        .await
        .unwrap();
    client
        .events()
        .create(order.properties(json!({"Items": ["plate"], "Gift": true})))
        .await
        .unwrap();
    let metrics = call(&client, "get_metrics", None, &[], None).await.unwrap();
    let metric = metrics["data"][0]["id"].as_str().unwrap().to_string();
    let properties = call(
        &client,
        "get_properties_for_metric",
        Some(&metric),
        &[],
        None,
    )
    .await
    .unwrap();
    let mut seen: Vec<(String, String)> = properties["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["attributes"]["property"].as_str().unwrap().to_string(),
                p["attributes"]["inferred_type"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("Coupon".to_string(), "String".to_string()),
            ("Gift".into(), "Boolean".into()),
            ("Items".into(), "List".into())
        ],
        "each property once, $value left out"
    );
    let mapped = call(&client, "get_mapped_metrics", None, &[], None)
        .await
        .unwrap();
    assert!(
        mapped["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "revenue")
    );
}

#[tokio::test]
async fn segments_take_the_profiles_their_definition_describes() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    let vip = client.lists().create("VIP").await.unwrap();
    let mut ids = Vec::new();
    for (email, tier) in [
        ("gold@example.com", "gold"),
        ("silver@example.com", "silver"),
        ("vip@example.com", "silver"),
        ("gold@elsewhere.org", "gold"),
    ] {
        let profile = client
            .profiles()
            .upsert(klaviyo_bridge::profiles::ProfileData::email(email).set("tier", tier))
            .await
            .unwrap();
        ids.push(profile.id().unwrap().to_string());
    }
    client
        .lists()
        .add_profiles(vip.id().unwrap(), &[ids[2].as_str()])
        .await
        .unwrap();
    let definition = json!({"condition_groups": [
        {"conditions": [
            {"type": "profile-property", "property": "properties['tier']", "filter": {"type": "string", "operator": "equals", "value": "gold"}},
            {"type": "profile-group-membership", "is_member": true, "group_ids": [vip.id().unwrap()]}]},
        {"conditions": [{"type": "profile-property", "property": "email", "filter": {"type": "string", "operator": "ends-with", "value": "@example.com"}}]}]});
    let segment = call(&client, "create_segment", None, &[], Some(json!({"data": {"type": "segment", "attributes": {"name": "Gold or VIP", "definition": definition}}}))).await.unwrap();
    let id = segment["data"]["id"].as_str().unwrap().to_string();
    let members = call(&client, "get_profiles_for_segment", Some(&id), &[], None)
        .await
        .unwrap();
    let emails: Vec<&str> = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["attributes"]["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        ["gold@example.com", "vip@example.com"],
        "(gold or VIP) and @example.com"
    );
    let member_ids = call(&client, "get_profile_ids_for_segment", Some(&id), &[], None)
        .await
        .unwrap();
    assert_eq!(
        member_ids["data"],
        json!([{"type": "profile", "id": ids[0]}, {"type": "profile", "id": ids[2]}])
    );
    let counted = call(
        &client,
        "get_segment",
        Some(&id),
        &[("additional-fields[segment]", "profile_count")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(counted["data"]["attributes"]["profile_count"], 2);
    // Membership follows the profiles: a new gold profile joins at once.
    client
        .profiles()
        .upsert(klaviyo_bridge::profiles::ProfileData::email("new@example.com").set("tier", "gold"))
        .await
        .unwrap();
    let counted = call(
        &client,
        "get_segment",
        Some(&id),
        &[("additional-fields[segment]", "profile_count")],
        None,
    )
    .await
    .unwrap();
    assert_eq!(counted["data"]["attributes"]["profile_count"], 3);
}

#[tokio::test]
async fn metric_conditions_count_and_sum_each_profiles_events_in_their_timeframe() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    let long_ago = klaviyo_bridge::time::format_iso8601(
        std::time::SystemTime::now() - std::time::Duration::from_secs(200 * 86_400),
    );
    let order = |email: &str, value: f64| {
        klaviyo_bridge::events::EventCreate::new("Placed Order")
            .email(email)
            .value(value)
    };
    for event in [
        order("twice@example.com", 5.0).property("Coupon", "SPRING10"),
        order("twice@example.com", 30.0),
        order("once@example.com", 5.0),
        order("once@example.com", 100.0).time(long_ago),
    ] {
        client.events().create(event).await.unwrap();
    }
    client
        .profiles()
        .upsert(klaviyo_bridge::profiles::ProfileData::email(
            "never@example.com",
        ))
        .await
        .unwrap();
    let metrics = call(&client, "get_metrics", None, &[], None).await.unwrap();
    let metric = metrics["data"][0]["id"].as_str().unwrap().to_string();
    let members = |measurement: &str,
                   operator: &str,
                   value: f64,
                   timeframe: Value,
                   metric_filters: Value| {
        let client = client.clone();
        let condition = json!({"type": "profile-metric", "metric_id": metric, "measurement": measurement,
            "measurement_filter": {"type": "numeric", "operator": operator, "value": value},
            "timeframe_filter": timeframe, "metric_filters": metric_filters});
        async move {
            let body = json!({"data": {"type": "segment", "attributes": {"name": "By orders", "definition": {"condition_groups": [{"conditions": [condition]}]}}}});
            let segment = call(&client, "create_segment", None, &[], Some(body))
                .await
                .unwrap();
            let id = segment["data"]["id"].as_str().unwrap().to_string();
            let found = call(&client, "get_profiles_for_segment", Some(&id), &[], None)
                .await
                .unwrap();
            let mut emails: Vec<String> = found["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["attributes"]["email"].as_str().unwrap().to_string())
                .collect();
            emails.sort();
            emails
        }
    };
    let last_90_days =
        json!({"type": "date", "operator": "in-the-last", "quantity": 90, "unit": "day"});
    assert_eq!(
        members(
            "count",
            "greater-than",
            1.0,
            last_90_days.clone(),
            Value::Null
        )
        .await,
        ["twice@example.com"]
    );
    // The order of 200 days ago counts over all time, not in the last 90 days.
    assert_eq!(
        members(
            "sum",
            "greater-than-or-equal",
            35.0,
            json!({"type": "date", "operator": "alltime"}),
            Value::Null
        )
        .await,
        ["once@example.com", "twice@example.com"]
    );
    assert_eq!(
        members(
            "sum",
            "greater-than",
            10.0,
            last_90_days.clone(),
            Value::Null
        )
        .await,
        ["twice@example.com"]
    );
    assert_eq!(
        members("count", "equals", 0.0, last_90_days.clone(), Value::Null).await,
        ["never@example.com"],
        "a profile without events counts 0"
    );
    assert_eq!(
        members(
            "count",
            "greater-than",
            0.0,
            json!({"type": "date", "operator": "between", "start": 250, "end": 150, "unit": "day"}),
            Value::Null
        )
        .await,
        ["once@example.com"]
    );
    // A timeframe the sandbox does not evaluate (an anniversary) takes no one, not everyone.
    let anniversary =
        json!({"type": "date", "operator": "anniversary-last", "unit": "day", "quantity": 10});
    assert!(
        members("count", "equals", 0.0, anniversary, Value::Null)
            .await
            .is_empty()
    );
    let with_coupon = json!([{"property": "Coupon", "filter": {"type": "string", "operator": "equals", "value": "SPRING10"}}]);
    assert_eq!(
        members("count", "greater-than", 0.0, last_90_days, with_coupon).await,
        ["twice@example.com"]
    );
}

#[tokio::test]
async fn images_upload_from_a_url_or_as_a_multipart_file() {
    let (sandbox, client) = sandbox_with(Options::default()).await;
    let from_url = call(&client, "upload_image_from_url", None, &[], Some(json!({"data": {"type": "image", "attributes": {"import_from_url": "https://example.com/pics/hero.png"}}}))).await.unwrap();
    assert_eq!(
        (
            from_url["data"]["attributes"]["name"].as_str(),
            from_url["data"]["attributes"]["format"].as_str()
        ),
        (Some("hero.png"), Some("png"))
    );
    let upload = |content_type: String, body: Vec<u8>| {
        let url = format!("{}/api/image-upload", sandbox.base_url());
        let key = format!("Klaviyo-API-Key {}", sandbox.api_key());
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .header("authorization", key)
                .header("revision", "2026-07-15")
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (
                status,
                serde_json::from_slice::<Value>(&response.bytes().await.unwrap()).unwrap(),
            )
        }
    };
    let (content_type, body) = support::image_upload("logo", &support::png(1234));
    let (status, uploaded) = upload(content_type, body).await;
    assert_eq!(status, 201);
    assert_eq!(
        (
            uploaded["data"]["attributes"]["size"].as_u64(),
            uploaded["data"]["attributes"]["format"].as_str(),
            uploaded["data"]["attributes"]["name"].as_str()
        ),
        (Some(1234), Some("png"), Some("logo"))
    );
    let id = uploaded["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        call(&client, "get_image", Some(&id), &[], None)
            .await
            .unwrap()["data"]["attributes"]["size"],
        1234
    );
    let (content_type, body) = support::image_upload("notes", b"plain text, not an image");
    let (status, refused) = upload(content_type, body).await;
    assert_eq!(
        (status, refused["errors"][0]["source"]["pointer"].as_str()),
        (400, Some("/file"))
    );
    let (status, _) = upload("application/json".into(), b"{}".to_vec()).await;
    assert_eq!(status, 415, "the upload is multipart, as the spec says");
    assert_eq!(
        call(&client, "get_images", None, &[], None).await.unwrap()["data"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_form_is_created_with_its_versions() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    let mut body = example_request_body("create_form").unwrap();
    body["data"]["attributes"]["name"] = json!("Signup");
    body["data"]["attributes"]["definition"]["versions"] =
        json!([{"name": "A", "type": "flyout", "steps": []}, {"name": "B", "steps": []}]);
    let form = call(&client, "create_form", None, &[], Some(body))
        .await
        .unwrap();
    let id = form["data"]["id"].as_str().unwrap().to_string();
    let versions = call(&client, "get_versions_for_form", Some(&id), &[], None)
        .await
        .unwrap();
    let seen: Vec<(&str, &str)> = versions["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["attributes"]["variation_name"].as_str().unwrap(),
                v["attributes"]["form_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [("A", "flyout"), ("B", "popup")]);
    let version = versions["data"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        call(
            &client,
            "get_form_for_form_version",
            Some(&version),
            &[],
            None
        )
        .await
        .unwrap()["data"]["id"],
        id.as_str()
    );
}

#[tokio::test]
async fn include_brings_related_resources_with_their_fieldsets() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    let list = client.lists().create("All").await.unwrap();
    let (campaign, message) = campaign_for(&client, list.id().unwrap()).await;
    let tag = call(
        &client,
        "create_tag",
        None,
        &[],
        Some(json!({"data": {"type": "tag", "attributes": {"name": "q3"}}})),
    )
    .await
    .unwrap();
    call(
        &client,
        "tag_campaigns",
        Some(tag["data"]["id"].as_str().unwrap()),
        &[],
        Some(json!({"data": [{"type": "campaign", "id": campaign}]})),
    )
    .await
    .unwrap();
    let one = call(
        &client,
        "get_campaign",
        Some(&campaign),
        &[
            ("include", "campaign-messages,tags"),
            ("fields[tag]", "name"),
        ],
        None,
    )
    .await
    .unwrap();
    let included: Vec<(&str, &str)> = one["included"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["type"].as_str().unwrap(), r["id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        included,
        [
            ("campaign-message", message.as_str()),
            ("tag", tag["data"]["id"].as_str().unwrap())
        ]
    );
    let listed = call(
        &client,
        "get_campaigns",
        None,
        &[
            ("filter", "equals(messages.channel,'email')"),
            ("include", "tags"),
        ],
        None,
    )
    .await
    .unwrap();
    assert_eq!(listed["included"][0]["attributes"]["name"], "q3");
}

#[tokio::test]
async fn data_source_records_become_object_records_through_the_source_mapping() {
    let (_sandbox, client) = sandbox_with(Options::default()).await;
    let source = call(
        &client,
        "create_data_source",
        None,
        &[],
        Some(example_request_body("create_data_source").unwrap()),
    )
    .await
    .unwrap();
    let source_id = source["data"]["id"].as_str().unwrap().to_string();
    let mut schema = example_request_body("create_object_schema").unwrap();
    schema["data"]["attributes"]["properties"] = json!([{"id": 1, "name": "order_id", "type": "string"}, {"id": 2, "name": "total", "type": "float"}, {"id": 3, "name": "channel", "type": "string"}]);
    let simple = |id: u64, path: &str| json!({"id": id, "type": "simple", "source": {"source_id": source_id, "id_path": "$.id", "data_path": path}});
    schema["data"]["attributes"]["source-mapping"] = json!({"data": {"type": "source-mapping", "attributes": {"property_mappings": [simple(1, "$.id"), simple(2, "$.amount.total"), {"id": 3, "type": "constant", "value": "web"}], "relationship_mappings": []}}});
    let schema = call(&client, "create_object_schema", None, &[], Some(schema))
        .await
        .unwrap();
    let schema_id = schema["data"]["id"].as_str().unwrap().to_string();
    let record = json!({"data": {"type": "data-source-record-create-job", "attributes": {"data-source-record": {"data": {"type": "data-source-record", "attributes": {"record": {"id": "R1", "amount": {"total": 9.5}}}}}},
        "relationships": {"data-source": {"data": {"type": "data-source", "id": source_id}}}}});
    call(
        &client,
        "create_data_source_record",
        None,
        &[],
        Some(record),
    )
    .await
    .unwrap();
    let object = call(
        &client,
        "get_object_record",
        Some(&format!("{schema_id}:::R1")),
        &[],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        object["data"]["attributes"]["record_properties"],
        json!({"order_id": "R1", "total": 9.5, "channel": "web"})
    );
}
