//! Bulk jobs through the real client: lifecycle, counts, per-row errors, catalog relations.

use futures_util::TryStreamExt;
use klaviyo_bridge::bulk::PollOptions;
use klaviyo_bridge::jobs::JobKind;
use klaviyo_bridge::metrics::AggregateQuery;
use klaviyo_bridge::profiles::{ProfileData, ProfileRef};
use klaviyo_bridge::{Client, ListParams};
use klaviyo_sandbox::{Options, RateLimits, Sandbox};
use serde_json::json;
use std::time::Duration;

mod support;

async fn sandbox() -> (Sandbox, Client) {
    let (sandbox, builder) = support::sandbox_with(Options {
        rate_limits: RateLimits::Off,
        ..Options::default()
    })
    .await;
    (sandbox, builder.build().unwrap())
}

fn poll() -> PollOptions {
    PollOptions {
        interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
    }
}

#[tokio::test]
async fn profile_import_moves_through_statuses_and_reports_bad_rows() {
    let (sandbox, client) = sandbox().await;
    let list = client.lists().create("Imported").await.unwrap();
    let profiles: Vec<ProfileData> = (0..120)
        .map(|i| {
            ProfileData::email(format!("row{i}@example.com")).set("first_name", format!("R{i}"))
        })
        .collect();
    let report = client
        .profiles()
        .bulk_import(profiles, Some(list.id().unwrap()))
        .await
        .unwrap();
    let job_id = report.jobs[0].id.clone().unwrap();
    let status = client
        .jobs()
        .wait(JobKind::ProfileImport, &job_id, &poll())
        .await
        .unwrap();
    assert_eq!(
        (
            status.status.as_str(),
            status.total,
            status.completed,
            status.failed
        ),
        ("complete", Some(120), Some(120), Some(0))
    );
    let state = sandbox.state();
    let job = state["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == job_id.as_str())
        .unwrap();
    assert_eq!(job["history"], json!(["queued", "processing", "complete"]));
    let members: Vec<_> = client
        .lists()
        .profiles(list.id().unwrap(), ListParams::default())
        .unwrap()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members.len(), 120);

    // The client checks rows before sending; the raw API lets a bad row reach the server,
    // whose own per-row check turns it into an import error.
    let body = json!({"data": {"type": "profile-bulk-import-job", "attributes": {"profiles": {"data": [
        {"type": "profile", "attributes": {"email": "fine@example.com"}}, {"type": "profile", "attributes": {"email": "no-at-sign"}}]}}}});
    let doc = client
        .request("bulk_import_profiles", &[], &[], Some(body))
        .await
        .unwrap();
    let job_id = doc.resource().unwrap().id().unwrap().to_string();
    let status = client
        .jobs()
        .wait(JobKind::ProfileImport, &job_id, &poll())
        .await
        .unwrap();
    assert_eq!((status.completed, status.failed), (Some(1), Some(1)));
    let errors: Vec<_> = client
        .profiles()
        .import_errors(&job_id)
        .unwrap()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].attr("source").unwrap()["pointer"],
        "/data/attributes/profiles/data/1"
    );
    assert!(errors[0].attr_str("detail").unwrap().contains("no-at-sign"));
}

#[tokio::test]
async fn catalog_bulk_jobs_create_update_delete_with_item_errors() {
    let (sandbox, client) = sandbox().await;
    let items: Vec<_> = (0..130).map(|i| json!({"external_id": format!("SKU-{i}"), "title": format!("Item {i}"), "description": "d", "url": "https://example.com", "catalog_type": "$default", "integration_type": "$custom"})).collect();
    let report = client
        .catalog_items()
        .bulk_create(items, Some(&poll()))
        .await
        .unwrap();
    assert_eq!((report.jobs.len(), report.accepted), (2, 130));
    // Creating two that already exist: the job reports both, mapped back to the caller's items.
    let again = vec![
        json!({"external_id": "SKU-new", "title": "New"}),
        json!({"external_id": "SKU-3", "title": "Dup"}),
        json!({"external_id": "SKU-9", "title": "Dup"}),
    ];
    match client
        .catalog_items()
        .bulk_create(again, Some(&poll()))
        .await
        .unwrap_err()
    {
        klaviyo_bridge::Error::BulkPartial {
            failures, accepted, ..
        } => {
            assert_eq!(accepted, 1);
            assert_eq!(failures.iter().map(|f| f.index).collect::<Vec<_>>(), [1, 2]);
            assert!(
                failures[0].reason.contains("already exists"),
                "{}",
                failures[0].reason
            );
        }
        other => panic!("{other:?}"),
    }
    let updates = vec![json!({"id": "$custom:::$default:::SKU-1", "price": 5.0})];
    client
        .catalog_items()
        .bulk_update(updates, Some(&poll()))
        .await
        .unwrap();
    assert_eq!(
        client
            .catalog_items()
            .get("$custom:::$default:::SKU-1")
            .await
            .unwrap()
            .attr("price"),
        Some(&json!(5.0))
    );
    let ids: Vec<String> = (0..50)
        .map(|i| format!("$custom:::$default:::SKU-{i}"))
        .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    client
        .catalog_items()
        .bulk_delete(&refs, Some(&poll()))
        .await
        .unwrap();
    assert_eq!(sandbox.state()["catalog_items"], 131 - 50);
}

#[tokio::test]
async fn variants_and_categories_keep_their_relationships() {
    let (_sandbox, client) = sandbox().await;
    let category = client
        .catalog_categories()
        .create(json!({"external_id": "mugs", "name": "Mugs"}), None)
        .await
        .unwrap();
    let item = client
        .catalog_items()
        .create(json!({"external_id": "MUG", "title": "Mug", "description": "d", "url": "https://example.com"}), Some(json!({"categories": {"data": [{"type": "catalog-category", "id": category.id()}]}})))
        .await
        .unwrap();
    client
        .catalog_variants()
        .create(
            json!({"external_id": "MUG-RED", "title": "Red", "sku": "MUG-RED"}),
            Some(json!({"item": {"data": {"type": "catalog-item", "id": item.id()}}})),
        )
        .await
        .unwrap();
    let orphan = client
        .catalog_variants()
        .create(
            json!({"external_id": "X"}),
            Some(json!({"item": {"data": {"type": "catalog-item", "id": "nope"}}})),
        )
        .await
        .unwrap_err();
    assert_eq!(orphan.code(), "validation_error");
    let variants = client
        .request(
            "get_variants_for_catalog_item",
            &[("id", item.id().unwrap())],
            &[],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        variants.resources()[0].id(),
        Some("$custom:::$default:::MUG-RED")
    );
    let in_category = client
        .request(
            "get_items_for_catalog_category",
            &[("id", category.id().unwrap())],
            &[],
            None,
        )
        .await
        .unwrap();
    assert_eq!(in_category.resources()[0].id(), item.id());
    client
        .catalog_items()
        .delete(item.id().unwrap())
        .await
        .unwrap();
    let left: Vec<_> = client
        .catalog_variants()
        .list(ListParams::default())
        .unwrap()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert!(left.is_empty(), "deleting an item deletes its variants");
}

#[tokio::test]
async fn subscriptions_and_suppressions_change_profiles() {
    let (sandbox, client) = sandbox().await;
    let list = client.lists().create("Newsletter").await.unwrap();
    let people: Vec<ProfileRef> = (0..5)
        .map(|i| ProfileRef::email(format!("s{i}@example.com")))
        .collect();
    client
        .profiles()
        .subscribe(
            &people,
            klaviyo_bridge::profiles::Channel::Email,
            Some(list.id().unwrap()),
        )
        .await
        .unwrap();
    let report = client
        .profiles()
        .suppress(&["s0@example.com"])
        .await
        .unwrap();
    let job = report.jobs[0].id.clone().unwrap();
    client
        .jobs()
        .wait(JobKind::Suppress, &job, &poll())
        .await
        .unwrap();
    sandbox.settled().await;
    let members: Vec<_> = client
        .lists()
        .profiles(list.id().unwrap(), ListParams::default())
        .unwrap()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(members.len(), 5);
    let suppressed = client
        .profiles()
        .list(ListParams::filter("equals(email,\"s0@example.com\")"))
        .unwrap()
        .items()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(
        suppressed[0].attr("subscriptions").unwrap()["email"]["marketing"]["suppression"][0]["reason"],
        "USER_SUPPRESSED"
    );
}

#[tokio::test]
async fn metric_aggregates_count_and_sum_by_day() {
    let (sandbox, client) = sandbox().await;
    for (day, value) in [
        ("2026-03-01T10:00:00Z", 10.0),
        ("2026-03-01T23:59:59Z", 5.5),
        ("2026-03-03T00:00:00Z", 1.0),
        ("2026-03-09T00:00:00Z", 100.0),
    ] {
        client
            .events()
            .create(
                klaviyo_bridge::events::EventCreate::new("Placed Order")
                    .email("agg@example.com")
                    .value(value)
                    .time(day),
            )
            .await
            .unwrap();
    }
    let metric = client
        .metrics()
        .list(ListParams::default())
        .unwrap()
        .items()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .remove(0);
    let mut query = AggregateQuery::daily_count(
        metric.id().unwrap(),
        "2026-03-01T00:00:00Z",
        "2026-03-04T00:00:00Z",
    );
    query.measurements.push("sum_value".into());
    let doc = client.metrics().aggregate(&query).await.unwrap();
    let attributes = doc.resource().unwrap().attributes().clone();
    assert_eq!(attributes["dates"].as_array().unwrap().len(), 3);
    assert_eq!(
        attributes["data"][0]["measurements"]["count"],
        json!([2, 0, 1])
    );
    assert_eq!(
        attributes["data"][0]["measurements"]["sum_value"],
        json!([15.5, 0.0, 1.0])
    );
    drop(sandbox);
}
