//! `make demo`: the reference scripts' main job, through the Rust core, against the embedded
//! sandbox on a free loopback port. No Klaviyo account needed.
//!
//! Against real Klaviyo the same calls work with `Client::from_env()` and `KLAVIYO_API_KEY` set.

use futures_util::TryStreamExt;
use klaviyo_bridge::events::EventCreate;
use klaviyo_bridge::profiles::{ProfileData, ProfileRef};
use klaviyo_bridge::{Client, ListParams};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = klaviyo_sandbox::start(klaviyo_sandbox::Options::default()).await?;
    println!("sandbox running at {}\n", sandbox.base_url());
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .build()?;

    // klaviyo_client.py --action track-event --email user@example.com --event "Placed Order" --properties '{"value": 99.99, "OrderId": "ORD-123"}'
    let receipt = client
        .events()
        .create(
            EventCreate::new("Placed Order")
                .email("user@example.com")
                .properties(json!({"OrderId": "ORD-123"}))
                .value(99.99),
        )
        .await?;
    println!("track-event: accepted, unique_id {}", receipt.unique_id);

    // klaviyo_client.py --action upsert-profile --email user@example.com --properties '{"first_name": "Jane", "loyalty_tier": "Gold"}'
    let flat = json!({"first_name": "Jane", "loyalty_tier": "Gold"});
    let profile = client
        .profiles()
        .upsert(ProfileData::from_flat(
            ProfileRef::email("user@example.com"),
            flat.as_object().cloned().unwrap_or_default(),
        ))
        .await?;
    println!(
        "upsert-profile: {} first_name={} loyalty_tier={}",
        profile.id().unwrap_or("?"),
        profile.attr_str("first_name").unwrap_or(""),
        profile
            .attr("properties")
            .and_then(|p| p.get("loyalty_tier"))
            .and_then(|v| v.as_str())
            .unwrap_or("")
    );

    // klaviyo_client.py --action catalog-items --format table
    for (sku, title, price) in [
        ("SKU-1", "Blue Mug", 12.5),
        ("SKU-2", "Green Teapot", 39.0),
        ("SKU-3", "Tea Sampler", 24.99),
    ] {
        client
            .catalog_items()
            .create(json!({"external_id": sku, "title": title, "price": price, "description": title, "url": format!("https://example.com/{sku}"), "catalog_type": "$default", "integration_type": "$custom"}), None)
            .await?;
    }
    println!("\ncatalog-items:");
    println!("{:<28} {:<14} {:>8}", "id", "title", "price");
    let items: Vec<_> = client
        .catalog_items()
        .list(ListParams::default())?
        .items()
        .try_collect()
        .await?;
    for item in &items {
        println!(
            "{:<28} {:<14} {:>8}",
            item.id().unwrap_or(""),
            item.attr_str("title").unwrap_or(""),
            item.attr("price")
                .map(|p| p.to_string())
                .unwrap_or_default()
        );
    }

    // klaviyo_client.py --action export-profiles --max-pages 10 --format csv
    for i in 0..45 {
        client
            .profiles()
            .upsert(
                ProfileData::email(format!("shopper{i}@example.com"))
                    .set("first_name", format!("Shopper{i}")),
            )
            .await?;
    }
    let pager = client.profiles().list(ListParams {
        page_size: Some(20),
        max_pages: Some(10),
        ..Default::default()
    })?;
    let profiles: Vec<_> = pager.items().try_collect().await?;
    println!(
        "\nexport-profiles ({} profiles, pages of 20; first 5 shown):",
        profiles.len()
    );
    println!("id,email,first_name");
    for p in profiles.iter().take(5) {
        println!(
            "{},{},{}",
            p.id().unwrap_or(""),
            p.attr_str("email").unwrap_or(""),
            p.attr_str("first_name").unwrap_or("")
        );
    }

    // dev_tools.py --tool health-check (the key works, and what the rate limiter saw)
    let account = client.accounts().current().await?;
    println!(
        "\nhealth-check: key OK for account {}; revision {}; last rate-limit reading {:?}",
        account.id().unwrap_or("?"),
        client.config().revision,
        client.rate_limit_status().map(|r| r.headers)
    );
    // Many events at once: the tracker batches them into bulk jobs in the background.
    let tracker = client.tracker(klaviyo_bridge::TrackerOptions::default())?;
    for i in 0..5_000 {
        tracker.track(
            klaviyo_bridge::events::EventCreate::new("Viewed Product")
                .email(format!("shopper{}@example.com", i % 45))
                .property("sku", format!("SKU-{}", i % 3)),
        )?;
    }
    let stats = tracker.shutdown(std::time::Duration::from_secs(60)).await?;
    sandbox.settled().await;
    println!(
        "\ntracker: {} events queued, {} sent in {} bulk jobs, {} failed",
        stats.queued,
        stats.sent,
        sandbox
            .requests()
            .iter()
            .filter(|r| r.operation == Some("bulk_create_events"))
            .count(),
        stats.failed
    );
    println!("\nsandbox state: {}", sandbox.state());
    sandbox.shutdown().await;
    Ok(())
}
