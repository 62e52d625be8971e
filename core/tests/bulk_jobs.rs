//! Bulk job helpers against a scripted server: chunk sizes and body shapes, job polling, and
//! failures mapped back to the caller's items.

mod support;

use std::time::Duration;

use klaviyo_bridge::bulk::PollOptions;
use klaviyo_bridge::profiles::{Channel, ProfileRef};
use serde_json::{Value, json};
use support::{Reply, serve};

fn body(seen: &support::Seen) -> Value {
    serde_json::from_str(&seen.body).unwrap_or(Value::Null)
}

#[tokio::test]
async fn catalog_bulk_create_chunks_by_100_polls_jobs_and_maps_item_errors() {
    let server = serve(|seen, n| match seen.method.as_str() {
        "POST" => Reply::json(202, json!({"data": {"type": "catalog-item-bulk-create-job", "id": format!("JOB{n}"), "attributes": {"status": "queued"}}})),
        _ => {
            // The first job reports one bad item (its 6th); the others are clean.
            let id = seen.path.rsplit('/').next().unwrap().to_string();
            let (failed, errors) = if id == "JOB0" {
                (1, json!([{"id": "x", "code": "invalid", "title": "Invalid", "detail": "price must be a number", "source": {"pointer": "/data/attributes/items/data/5/attributes/price"}}]))
            } else {
                (0, json!([]))
            };
            Reply::json(200, json!({"data": {"type": "catalog-item-bulk-create-job", "id": id, "attributes": {"status": "complete", "total_count": 100, "completed_count": 100 - failed, "failed_count": failed, "errors": errors}}}))
        }
    })
    .await;
    let client = server.client().build().unwrap();
    let items: Vec<Value> = (0..250).map(|i| json!({"external_id": format!("SKU-{i}"), "title": "Mug", "catalog_type": "$default", "integration_type": "$custom"})).collect();
    let poll = PollOptions {
        interval: Duration::from_millis(5),
        max_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
    };
    let err = client
        .catalog_items()
        .bulk_create(items, Some(&poll))
        .await
        .unwrap_err();
    match err {
        klaviyo_bridge::Error::BulkPartial {
            failures,
            total,
            accepted,
        } => {
            assert_eq!((total, accepted), (250, 249));
            assert_eq!(failures.len(), 1);
            assert_eq!(failures[0].index, 5);
            assert_eq!(failures[0].reason, "price must be a number");
        }
        other => panic!("{other:?}"),
    }
    let posts: Vec<Value> = server
        .requests()
        .iter()
        .filter(|s| s.method == "POST")
        .map(body)
        .collect();
    let sizes: Vec<usize> = posts
        .iter()
        .map(|b| {
            b["data"]["attributes"]["items"]["data"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(posts[0]["data"]["type"], "catalog-item-bulk-create-job");
    assert_eq!(
        posts[2]["data"]["attributes"]["items"]["data"][0]["attributes"]["external_id"],
        "SKU-200"
    );
    let polled: Vec<String> = server
        .requests()
        .iter()
        .filter(|s| s.method == "GET")
        .map(|s| s.path.clone())
        .collect();
    assert!(
        polled
            .iter()
            .all(|p| p.starts_with("/api/catalog-item-bulk-create-jobs/JOB")),
        "{polled:?}"
    );
}

#[tokio::test]
async fn subscriptions_chunk_to_the_tables_limits_and_carry_consent_and_list() {
    let server = serve(|_, n| Reply::json(202, json!({"data": {"type": "profile-subscription-bulk-create-job", "id": format!("S{n}")}}))).await;
    let client = server.client().build().unwrap();
    let profiles: Vec<ProfileRef> = (0..1_500)
        .map(|i| ProfileRef::email(format!("u{i}@example.com")))
        .collect();
    let report = client
        .profiles()
        .subscribe(&profiles, Channel::Email, Some("LIST1"))
        .await
        .unwrap();
    assert_eq!((report.accepted, report.jobs.len()), (1_500, 2));
    let first = body(&server.requests()[0]);
    assert_eq!(
        first["data"]["attributes"]["profiles"]["data"]
            .as_array()
            .unwrap()
            .len(),
        1_000
    );
    assert_eq!(
        first["data"]["attributes"]["profiles"]["data"][0]["attributes"]["subscriptions"]["email"]
            ["marketing"]["consent"],
        "SUBSCRIBED"
    );
    assert_eq!(
        first["data"]["relationships"]["list"]["data"]["id"],
        "LIST1"
    );

    let before = server.count();
    let report = client
        .profiles()
        .unsubscribe(&profiles[..250], Channel::Email, None)
        .await
        .unwrap();
    assert_eq!(
        report.jobs.iter().map(|j| j.item_count).collect::<Vec<_>>(),
        [100, 100, 50],
        "unsubscribe takes 100 per job"
    );
    assert_eq!(server.count(), before + 3);

    // SMS needs a phone number: the bad item is named and nothing is sent.
    let before = server.count();
    let err = client
        .profiles()
        .subscribe(&profiles[..3], Channel::Sms, None)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "bulk_partial_failure");
    assert_eq!(server.count(), before);
}

#[tokio::test]
async fn job_polling_rides_out_failures_that_pass_and_stops_on_ones_that_do_not() {
    // More failed polls in a row than the client retries: the job still completes for the caller.
    let server = serve(|seen, n| match (seen.path.as_str(), n) {
        (p, 0..=5) if p.ends_with("/JOB1") => Reply::json(500, support::error_body(500, "error", "Injected fault")),
        (p, _) if p.ends_with("/JOB1") => Reply::json(200, json!({"data": {"type": "profile-bulk-import-job", "id": "JOB1", "attributes": {"status": "complete", "total_count": 3, "completed_count": 3, "failed_count": 0}}})),
        _ => Reply::json(404, support::error_body(404, "not_found", "No such job")),
    })
    .await;
    let client = server.client().max_retries(0).build().unwrap();
    let poll = PollOptions {
        interval: Duration::from_millis(1),
        max_interval: Duration::from_millis(2),
        timeout: Duration::from_secs(10),
    };
    let jobs = client.jobs();
    let done = jobs
        .wait(klaviyo_bridge::jobs::JobKind::ProfileImport, "JOB1", &poll)
        .await
        .unwrap();
    assert_eq!(done.completed, Some(3));
    assert_eq!(server.count(), 7, "six failed polls, then the finished job");
    let gone = jobs
        .wait(klaviyo_bridge::jobs::JobKind::ProfileImport, "JOB2", &poll)
        .await
        .unwrap_err();
    assert_eq!(gone.code(), "not_found");
    assert_eq!(server.count(), 8, "a missing job is not polled again");
}
