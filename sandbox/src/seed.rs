//! Deterministic bulk data for load tests and benchmarks (`--seed-profiles`, `--seed-events`):
//! the same counts give the same records, ids and times on every run.

use serde_json::{Value, json};

use crate::Store;
use crate::emulation::keep_linked;

/// The metrics seeded events are spread over.
pub const SEED_METRICS: [&str; 5] = [
    "Placed Order",
    "Viewed Product",
    "Opened Email",
    "Clicked Email",
    "Active on Site",
];

/// Seeded events fall in the 365 days before this instant (2026-01-01T00:00:00Z).
pub const SEED_EVENTS_END: u64 = 1_767_225_600;

/// splitmix64: a well-mixed, reproducible number for each index.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Adds `profiles` profiles (`seed{i}@example.com`) and `events` events spread over them
/// (at least one profile is made when events are asked for), the five metrics and a year.
pub fn seed(store: &mut Store, profiles: usize, events: usize) {
    let profile_count = if events > 0 {
        profiles.max(1)
    } else {
        profiles
    };
    let mut profile_ids = Vec::with_capacity(profile_count);
    for i in 0..profile_count {
        // Created and last updated over the year before 2026, as an account's are (a sync
        // slices profiles by `updated`).
        let at = klaviyo_bridge::time::format_iso8601(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(
                    SEED_EVENTS_END - 1 - mix(i as u64 ^ 0x5EED) % (365 * 86_400),
                ),
        );
        let attributes = json!({"email": format!("seed{i}@example.com"), "first_name": format!("Seed{i}"), "properties": {"seed_index": i}, "created": at, "updated": at});
        profile_ids.push(store.insert_profile(&attributes));
    }
    for i in 0..events as u64 {
        let r = mix(i);
        let metric = SEED_METRICS[(r % SEED_METRICS.len() as u64) as usize];
        let at = SEED_EVENTS_END - 1 - (r >> 8) % (365 * 86_400);
        let time = klaviyo_bridge::time::format_iso8601(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(at),
        );
        let profile = &profile_ids[(mix(i ^ 0xABCD) % profile_count as u64) as usize];
        let mut attributes = json!({"time": time, "unique_id": format!("seed-{i}"), "properties": {"seed_index": i}});
        if metric == "Placed Order" {
            attributes["value"] = json!(((r >> 40) % 20_000) as f64 / 100.0);
        }
        store.record_event(profile, metric, &attributes);
    }
}

/// Profiles in the demo account.
pub const DEMO_PROFILES: usize = 200;

/// A deterministic account for demos and report tests (`--seed-data demo`): 200 profiles with
/// consent states (6 in 10 subscribed to email, 1 in 10 unsubscribed, 4 suppressed), lists
/// (Newsletter, VIP), a catalog of 20 items in 4 categories with 2 variants each, six months of
/// browsing and orders before 2026-01-01, two sent email campaigns with their deliveries,
/// opens, clicks and attributed orders, a draft campaign, templates, a segment, a live welcome
/// flow with its actions and messages (its email received by 50 subscribers, 25 of whom opened
/// it), and a coupon with codes.
pub fn demo(store: &mut Store) {
    let names = [
        "Ada", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gia", "Hugo", "Iris", "Jon",
    ];
    let cities = ["Boston", "Austin", "Denver", "Seattle", "Chicago"];
    let at = |seconds_before_end: u64| {
        klaviyo_bridge::time::format_iso8601(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(SEED_EVENTS_END - seconds_before_end),
        )
    };
    let mut profiles = Vec::new();
    for i in 0..DEMO_PROFILES {
        let id = store.insert_profile(&json!({"email": format!("demo{i}@example.com"), "first_name": names[i % names.len()], "last_name": format!("Demo{i}"),
            "location": {"city": cities[i % cities.len()], "country": "United States"}, "properties": {"demo_index": i}}));
        let consent = match i % 10 {
            0..=5 => "SUBSCRIBED",
            6 => "UNSUBSCRIBED",
            _ => "NEVER_SUBSCRIBED",
        };
        store.set_email_marketing(&id, Some(consent), Some(i % 50 == 49));
        profiles.push((id, consent == "SUBSCRIBED" && i % 50 != 49));
    }
    let newsletter = store.insert_list("Newsletter");
    store.add_to_list(
        &newsletter,
        profiles
            .iter()
            .filter(|(_, reachable)| *reachable)
            .map(|(id, _)| id.clone())
            .collect(),
    );
    let vip = store.insert_list("VIP");
    store.add_to_list(
        &vip,
        profiles
            .iter()
            .step_by(20)
            .map(|(id, _)| id.clone())
            .collect(),
    );

    let categories: Vec<String> = ["Mugs", "Plates", "Bowls", "Glasses"].iter().map(|name| {
        let data = json!({"attributes": {"external_id": name.to_lowercase(), "name": name, "catalog_type": "$default", "integration_type": "$custom"}});
        crate::catalog::insert(store, &crate::catalog::CATEGORY, &data).expect("a new demo category")
    }).collect();
    let mut items = Vec::new();
    for i in 0..20 {
        let data = json!({"attributes": {"external_id": format!("SKU-{i:03}"), "title": format!("Demo product {i}"), "description": "A demo product", "url": format!("https://example.com/p/{i}"),
            "price": 10.0 + i as f64, "catalog_type": "$default", "integration_type": "$custom"}, "relationships": {"categories": {"data": [{"type": "catalog-category", "id": categories[i % 4]}]}}});
        let item =
            crate::catalog::insert(store, &crate::catalog::ITEM, &data).expect("a new demo item");
        for colour in ["red", "blue"] {
            let variant = json!({"attributes": {"external_id": format!("SKU-{i:03}-{colour}"), "title": format!("Demo product {i}, {colour}"), "description": colour, "sku": format!("SKU-{i:03}-{colour}"),
                "inventory_quantity": 10 + i, "price": 10.0 + i as f64, "url": format!("https://example.com/p/{i}?c={colour}"), "catalog_type": "$default", "integration_type": "$custom"},
                "relationships": {"item": {"data": {"type": "catalog-item", "id": item}}}});
            crate::catalog::insert(store, &crate::catalog::VARIANT, &variant)
                .expect("a new demo variant");
        }
        items.push(item);
    }
    // Six months of browsing, carts and orders.
    for i in 0..3_000u64 {
        let r = mix(i ^ 0xDE40);
        let (profile, _) = &profiles[(r % DEMO_PROFILES as u64) as usize];
        let item = (r >> 16) % 20;
        let metric = match (r >> 8) % 10 {
            0..=5 => "Viewed Product",
            6..=7 => "Added to Cart",
            _ => "Placed Order",
        };
        let mut attributes = json!({"time": at((r >> 24) % (180 * 86_400)), "unique_id": format!("demo-{i}"), "properties": {"ProductID": format!("SKU-{item:03}"), "ProductName": format!("Demo product {item}")}});
        if metric == "Placed Order" {
            attributes["value"] = json!(10.0 + item as f64);
        }
        store.record_event(profile, metric, &attributes);
    }
    let template = store.new_id('T');
    let html = "<p>Hi {{ first_name|default:'there' }}, this week's picks are in.</p>";
    keep_linked(
        store,
        "template",
        &template,
        json!({"name": "Weekly picks", "editor_type": "CODE", "html": html, "text": "Hi {{ first_name|default:'there' }}", "created": at(200 * 86_400), "updated": at(200 * 86_400)}),
        json!({}),
    );
    // Two sent campaigns (60 and 30 days before the end) and a draft; engagement is fixed per
    // profile so reports give the same numbers every run.
    for (n, (name, days_before)) in [
        ("Spring picks", 60u64),
        ("Summer picks", 30),
        ("Autumn picks", 0),
    ]
    .into_iter()
    .enumerate()
    {
        let campaign = store.new_id('C');
        let message = store.new_id('C');
        let sent = days_before > 0;
        keep_linked(
            store,
            "campaign-message",
            &message,
            json!({"definition": {"channel": "email", "label": name, "content": {"subject": name, "from_email": "shop@example.com", "from_label": "Demo shop"}}, "created_at": at(days_before * 86_400 + 3_600)}),
            json!({"campaign": {"data": {"type": "campaign", "id": campaign}}, "template": {"data": {"type": "template", "id": template}}}),
        );
        keep_linked(
            store,
            "campaign",
            &campaign,
            json!({"name": name, "status": if sent { "Sent" } else { "Draft" }, "archived": false, "audiences": {"included": [newsletter], "excluded": []},
            "send_time": if sent { json!(at(days_before * 86_400)) } else { Value::Null }, "created_at": at(days_before * 86_400 + 3_600), "updated_at": at(days_before * 86_400)}),
            json!({"campaign-messages": {"data": [{"type": "campaign-message", "id": message}]}}),
        );
        if !sent {
            continue;
        }
        let members = store
            .list_members
            .get(&newsletter)
            .cloned()
            .unwrap_or_default();
        for (k, profile) in members.iter().enumerate() {
            let r = mix((n as u64) << 32 | k as u64);
            let engage = |metric: &str, offset: u64, store: &mut Store, extra: Value| {
                let mut properties = json!({"$message": message, "Campaign Name": name});
                if let (Some(p), Some(e)) = (properties.as_object_mut(), extra.as_object()) {
                    p.extend(e.clone());
                }
                store.record_event(profile, metric, &json!({"time": at(days_before * 86_400 - offset), "unique_id": format!("{metric}:{message}:{profile}"), "properties": properties}));
            };
            engage("Received Email", 60, store, json!({}));
            if r % 100 < 40 {
                engage("Opened Email", 3_600, store, json!({}));
                if r % 100 < 12 {
                    engage(
                        "Clicked Email",
                        3_700,
                        store,
                        json!({"URL": "https://example.com/picks"}),
                    );
                }
            }
            if r % 100 < 4 {
                let item = (r >> 8) % 20;
                store.record_event(profile, "Placed Order", &json!({"time": at(days_before * 86_400 - 7_200), "unique_id": format!("order:{message}:{profile}"), "value": 10.0 + item as f64,
                    "properties": {"$attributed_message": message, "ProductID": format!("SKU-{item:03}")}}));
            }
        }
    }
    let segment = store.new_id('S');
    let placed_order = store.metric_by_name("Placed Order");
    keep_linked(
        store,
        "segment",
        &segment,
        json!({"name": "Engaged shoppers", "created": at(150 * 86_400), "updated": at(150 * 86_400), "is_active": true, "is_processing": false, "is_starred": false,
        "definition": {"condition_groups": [{"conditions": [{"type": "profile-metric", "metric_id": placed_order, "measurement": "count", "measurement_filter": {"type": "numeric", "operator": "greater-than", "value": 0}, "timeframe_filter": {"type": "date", "operator": "in-the-last", "quantity": 90, "unit": "day"}}]}]}}),
        json!({}),
    );
    let flow = store.new_id('F');
    let welcome_attributes = json!({"name": "Welcome series", "status": "live", "archived": false, "trigger_type": "Added to List", "created": at(200 * 86_400), "updated": at(200 * 86_400),
        "definition": {"triggers": [{"type": "list", "id": newsletter}], "entry_action_id": "wait", "actions": [
            {"temporary_id": "wait", "type": "time-delay", "links": {"next": "mail"}, "data": {"unit": "days", "value": 1, "secondary_value": 0, "timezone": "profile", "delay_until_weekdays": ["monday"]}},
            {"temporary_id": "mail", "type": "send-email", "links": {"next": null}, "data": {"status": "live", "message": {"from_email": "shop@example.com", "from_label": "Demo shop", "subject_line": "Welcome!", "template_id": template, "smart_sending_enabled": true, "transactional": false, "add_tracking_params": false}}}]}});
    let mut welcome = keep_linked(store, "flow", &flow, welcome_attributes.clone(), json!({}));
    crate::emulation::after_create(store, &mut welcome, &welcome_attributes);
    let flow_messages: Vec<String> = welcome["relationships"]["flow-actions"]["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| store.resources.get("flow-action")?.get(a["id"].as_str()?))
        .flat_map(|a| {
            a["relationships"]["flow-messages"]["data"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect();
    store
        .resources
        .entry("flow".into())
        .or_default()
        .insert(flow.clone(), welcome);
    // The welcome email went to the first 50 subscribers, 90 days before the end; half opened it.
    let members = store
        .list_members
        .get(&newsletter)
        .cloned()
        .unwrap_or_default();
    for (k, profile) in members.iter().take(50).enumerate() {
        for message in &flow_messages {
            let time = at(90 * 86_400 - k as u64 * 60);
            store.record_event(profile, "Received Email", &json!({"time": time, "unique_id": format!("flow:{message}:{profile}"), "properties": {"$message": message, "$flow": flow}}));
            if k % 2 == 0 {
                store.record_event(profile, "Opened Email", &json!({"time": time, "unique_id": format!("flow-open:{message}:{profile}"), "properties": {"$message": message, "$flow": flow}}));
            }
        }
    }
    let coupon = "SPRING10".to_string();
    keep_linked(
        store,
        "coupon",
        &coupon,
        json!({"external_id": coupon, "description": "10% off spring picks", "monitor_configuration": null}),
        json!({}),
    );
    for k in 0..5 {
        let code = format!("SPRING10-{k:02}");
        keep_linked(
            store,
            "coupon-code",
            &code,
            json!({"unique_code": code, "expires_at": at(0), "status": "UNASSIGNED"}),
            json!({"coupon": {"data": {"type": "coupon", "id": coupon}}}),
        );
    }
    let _ = items;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_account_is_the_same_every_time() {
        let (mut a, mut b) = (Store::default(), Store::default());
        demo(&mut a);
        demo(&mut b);
        assert_eq!(a.summary(), b.summary());
        assert_eq!(a.profiles.len(), DEMO_PROFILES);
        assert_eq!(a.resources["campaign"].len(), 3);
        assert_eq!(a.resources["flow-action"].len(), 2);
        assert!(
            a.summary()["events_per_metric"]["Received Email"]
                .as_u64()
                .unwrap()
                > 100
        );
    }

    #[test]
    fn seeding_is_deterministic_and_counts_hold() {
        let (mut a, mut b) = (Store::default(), Store::default());
        seed(&mut a, 10, 500);
        seed(&mut b, 10, 500);
        assert_eq!(
            (a.profiles.len(), a.events.len(), a.metrics.len()),
            (10, 500, 5)
        );
        let times = |s: &Store| {
            s.events
                .values()
                .map(|e| e["attributes"]["datetime"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(times(&a), times(&b));
        let mut only_events = Store::default();
        seed(&mut only_events, 0, 3);
        assert_eq!(
            (only_events.profiles.len(), only_events.events.len()),
            (1, 3)
        );
    }
}
