//! `klaviyo-dev-tools --tool sync-catalog` against the sandbox: a 10,000-item Google Merchant
//! feed with variants and categories created, changed, trimmed and synced again; the guard,
//! the lint, plans written and applied, the lock, and the fault mix.

mod support;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use klaviyo_sandbox::{Options, RateLimits};
use serde_json::Value;
use support::{Env, env_with, env_with_options};

/// One product row of a generated feed.
#[derive(Clone)]
struct Row {
    id: String,
    group: Option<String>,
    price: f64,
    category: String,
}

/// 10,000 items: 8,000 standalone products and 2,000 with two variants each, over 10
/// categories.
fn catalog_rows(items: usize) -> Vec<Row> {
    let groups = items / 5;
    let mut rows = Vec::new();
    for i in 0..items - groups {
        rows.push(Row {
            id: format!("SKU-{i}"),
            group: None,
            price: 10.0 + (i % 50) as f64,
            category: format!("Category {}", i % 10),
        });
    }
    for g in 0..groups {
        for size in ["S", "M"] {
            rows.push(Row {
                id: format!("P{g}-{size}"),
                group: Some(format!("P{g}")),
                price: 30.5,
                category: format!("Category {}", g % 10),
            });
        }
    }
    rows
}

fn google_xml(rows: &[Row]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss xmlns:g=\"http://base.google.com/ns/1.0\" version=\"2.0\">\n<channel>\n<title>Shop</title>\n",
    );
    for row in rows {
        let _ = writeln!(
            xml,
            "<item>\n<g:id>{id}</g:id>\n{group}<title>Product {id} &amp; more</title>\n<description><![CDATA[The <b>{id}</b>]]></description>\n<link>https://shop.example/p/{id}</link>\n<g:image_link>https://shop.example/i/{id}.jpg</g:image_link>\n<g:price>{price:.2} USD</g:price>\n<g:quantity>7</g:quantity>\n<g:product_type>{category}</g:product_type>\n</item>",
            id = row.id,
            group = row
                .group
                .as_ref()
                .map(|g| format!("<g:item_group_id>{g}</g:item_group_id>\n"))
                .unwrap_or_default(),
            price = row.price,
            category = row.category,
        );
    }
    xml.push_str("</channel>\n</rss>\n");
    xml
}

fn sync(env: &Env, feed: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["--tool", "sync-catalog", "--feed", feed, "--format", "json"];
    args.extend_from_slice(extra);
    let (code, out, err) = env.run("dev", &args);
    let report = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, report, err)
}

fn counts(env: &Env) -> (u64, u64, u64) {
    let state = env.state();
    let n = |k: &str| {
        state["counts"][k]
            .as_u64()
            .or_else(|| state[k].as_u64())
            .unwrap_or(0)
    };
    (
        n("catalog_items"),
        n("catalog_variants"),
        n("catalog_categories"),
    )
}

/// Reads and writes sent since the last request the test marked (a GET of a catalog item
/// named MARKER-n), from the sandbox's request log.
fn requests_since_marker(env: &Env, marker: &str) -> (usize, usize) {
    let log = env.sandbox.requests();
    let start = log
        .iter()
        .rposition(|r| r.uri.contains(marker))
        .expect("the marker request is in the log");
    let since = &log[start + 1..];
    let reads = since.iter().filter(|r| r.method == "GET").count();
    (reads, since.len() - reads)
}

/// A GET of `path` on the sandbox, the body as JSON (an error document for a 404).
fn get(env: &Env, path: &str) -> Value {
    let url = format!("{}{path}", env.sandbox.base_url());
    let key = env.sandbox.api_key().to_string();
    let body = env.runtime.block_on(async {
        reqwest::Client::new()
            .get(url)
            .header("Authorization", format!("Klaviyo-API-Key {key}"))
            .header("revision", "2026-07-15")
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
    });
    serde_json::from_slice(&body).unwrap()
}

/// A request the log can be searched for.
fn mark(env: &Env, marker: &str) {
    get(env, &format!("/api/catalog-items/{marker}"));
}

fn item(env: &Env, external_id: &str) -> Value {
    get(
        env,
        &format!("/api/catalog-items/$custom:::$default:::{external_id}"),
    )
}

fn assert_in_step(env: &Env, feed: &str, extra: &[&str]) {
    let mut args = vec!["--dry-run"];
    args.extend_from_slice(extra);
    let (code, plan, err) = sync(env, feed, &args);
    assert_eq!(code, 0, "{err}");
    for kind in ["items", "variants", "categories"] {
        for action in ["create", "update", "delete"] {
            assert_eq!(plan["plan"][kind][action], 0, "{kind} {action}: {plan}");
        }
    }
}

#[test]
fn a_10000_item_google_feed_is_created_changed_trimmed_and_then_left_alone() {
    let env = env_with(RateLimits::Real);
    let mut rows = catalog_rows(10_000);
    let feed = env.file("products.xml", google_xml(&rows).as_bytes());

    let (code, report, err) = sync(&env, &feed, &[]);
    assert_eq!(code, 0, "{err}\n{report}");
    assert_eq!(report["plan"]["items"]["create"], 10_000, "{report}");
    assert_eq!(report["plan"]["variants"]["create"], 4_000);
    assert_eq!(report["plan"]["categories"]["create"], 10);
    assert_eq!(report["created"], 14_010);
    assert_eq!(report["failed"], serde_json::json!([]));
    assert_eq!(counts(&env), (10_000, 4_000, 10));
    let sku = item(&env, "SKU-7");
    assert_eq!(sku["data"]["attributes"]["price"], 17);
    assert_eq!(sku["data"]["attributes"]["title"], "Product SKU-7 & more");
    assert_eq!(sku["data"]["attributes"]["description"], "The <b>SKU-7</b>");
    assert_eq!(
        sku["data"]["relationships"]["categories"]["data"][0]["id"],
        "$custom:::$default:::category-7"
    );
    assert_eq!(item(&env, "P3")["data"]["attributes"]["price"], 30.5);

    // The same feed again: a zero-change plan, and not one write.
    mark(&env, "MARKER-1");
    let (code, report, err) = sync(&env, &feed, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["plan"]["items"]["unchanged"], 10_000, "{report}");
    assert_eq!(report["plan"]["variants"]["unchanged"], 4_000);
    assert_eq!(
        (report["writes"].as_u64(), report["jobs"].as_u64()),
        (Some(0), Some(0))
    );
    // 1 page of categories, 10 of each category's items, 100 of items, 40 of variants.
    assert_eq!(requests_since_marker(&env, "MARKER-1"), (241, 0));
    assert_eq!(report["reads"], 241);

    // 1,000 prices change, 500 items leave the feed, one item changes category.
    for row in rows.iter_mut().take(1_000) {
        row.price += 1.0;
    }
    rows[2_000].category = "Category 3".into();
    let removed: Vec<Row> = rows.drain(7_500..8_000).collect();
    let feed = env.file("products.xml", google_xml(&rows).as_bytes());

    let (code, report, err) = sync(&env, &feed, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["plan"]["items"]["update"], 1_001, "{report}");
    assert_eq!(report["plan"]["items"]["delete"], 0);
    assert_eq!(report["updated"], 1_001);
    assert_eq!(
        counts(&env).0,
        10_000,
        "nothing is deleted without --delete-missing"
    );
    assert_eq!(item(&env, "SKU-7")["data"]["attributes"]["price"], 18);
    assert_eq!(
        item(&env, "SKU-2000")["data"]["relationships"]["categories"]["data"][0]["id"],
        "$custom:::$default:::category-3"
    );

    let (code, report, err) = sync(&env, &feed, &["--delete-missing"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["plan"]["items"]["delete"], 500, "{report}");
    assert_eq!(report["plan"]["items"]["update"], 0);
    assert_eq!(report["deleted"], 500);
    assert_eq!(counts(&env), (9_500, 4_000, 10));
    assert_eq!(
        item(&env, &removed[0].id)["errors"][0]["status"],
        404,
        "a removed item is gone"
    );
    assert_in_step(&env, &feed, &["--delete-missing"]);
}

#[test]
fn an_empty_or_much_shorter_feed_never_wipes_the_catalog() {
    let env = env_with(RateLimits::Off);
    let rows = catalog_rows(200);
    let feed = env.file("products.xml", google_xml(&rows).as_bytes());
    assert_eq!(sync(&env, &feed, &[]).0, 0);
    let before = counts(&env);

    let empty = env.file("empty.xml", google_xml(&[]).as_bytes());
    let (code, _, err) = sync(&env, &empty, &["--delete-missing", "--force"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("an empty feed never changes the catalog"),
        "{err}"
    );

    // A truncated file is not a short feed.
    let xml = google_xml(&rows);
    let truncated = env.file("truncated.xml", &xml.as_bytes()[..xml.len() / 2]);
    let (code, _, err) = sync(&env, &truncated, &["--delete-missing"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("truncated") || err.contains("well-formed"),
        "{err}"
    );

    // Half the catalog gone from the feed: refused by the guard, then forced.
    let half = env.file("half.xml", google_xml(&rows[..100]).as_bytes());
    let (code, _, err) = sync(&env, &half, &["--delete-missing"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("more than the 10.0% a sync may delete"),
        "{err}"
    );
    assert_eq!(counts(&env), before);
    let (code, report, err) = sync(&env, &half, &["--delete-missing", "--force"]);
    assert_eq!(code, 0, "{err}");
    // 100 items of 160 standalone and 40 with variants, and those 40 items' 80 variants.
    assert_eq!(report["deleted"].as_u64(), Some(100 + 80), "{report}");
    assert_in_step(&env, &half, &["--delete-missing"]);
}

#[test]
fn a_feed_with_three_bad_rows_names_their_lines_and_sends_nothing() {
    let env = env_with(RateLimits::Off);
    let csv = "id,title,description,url,price,categories\n\
               A1,Mug,A mug,https://shop.example/a1,9.50,Kitchen|Gifts\n\
               A2,Cup,,https://shop.example/a2,4,Kitchen\n\
               A3,Plate,A plate,https://shop.example/a3,3,Kitchen\n\
               A4,Bowl,A bowl,https://shop.example/a4,3,Kitchen\n\
               A5,Jug,A jug,not a url,3,Kitchen\n\
               A6,Pan,A pan,https://shop.example/a6,6,Kitchen\n\
               A1,Mug again,A mug,https://shop.example/a1,9.50,Kitchen\n\
               A8,Pot,A pot,https://shop.example/a8,8,Kitchen\n";
    let feed = env.file("products.csv", csv.as_bytes());
    let (code, _, err) = sync(&env, &feed, &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("line 3: description is missing"), "{err}");
    assert!(
        err.contains("line 6: url \"not a url\" is not a valid URL"),
        "{err}"
    );
    assert!(
        err.contains("line 8: the item id \"A1\" is also at line 2"),
        "{err}"
    );
    assert!(err.contains("3 problems in the feed's 8 records"), "{err}");
    assert_eq!(counts(&env), (0, 0, 0), "nothing was sent");

    let (code, report, err) = sync(&env, &feed, &["--skip-invalid"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        report["skipped"].as_array().map(Vec::len),
        Some(3),
        "{report}"
    );
    assert!(err.contains("left out: line 3 (A2)"), "{err}");
    assert_eq!(counts(&env), (5, 0, 2));
}

#[test]
fn a_dry_run_plan_is_applied_later_exactly_as_written() {
    let env = env_with(RateLimits::Off);
    let feed = env.file("products.jsonl", b"{\"id\": \"J1\", \"title\": \"T\", \"description\": \"D\", \"url\": \"https://shop.example/j1\", \"price\": 5}\n\n{\"id\": \"J2\", \"title\": \"T2\", \"description\": \"D\", \"url\": \"https://shop.example/j2\", \"custom_metadata.brand\": \"Acme\"}\n");
    let plan = env.path("plan.json");
    let (code, report, err) = sync(&env, &feed, &["--dry-run", "--plan-out", &plan]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["plan"]["items"]["create"], 2);
    assert_eq!(counts(&env), (0, 0, 0), "a dry run sends nothing");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(
        written["items"]["create"][1]["custom_metadata"]["brand"],
        "Acme"
    );

    // The feed changes after the dry run; the plan is what gets applied.
    std::fs::write(&feed, b"").unwrap();
    let (code, out, err) = env.run(
        "dev",
        &[
            "--tool",
            "sync-catalog",
            "--apply-plan",
            &plan,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["created"], 2, "{report}");
    assert_eq!(
        item(&env, "J2")["data"]["attributes"]["custom_metadata"]["brand"],
        "Acme"
    );
    assert_eq!(item(&env, "J1")["data"]["attributes"]["price"], 5);
}

#[test]
fn a_second_sync_of_the_same_account_is_refused_while_one_runs() {
    let env = env_with(RateLimits::Off);
    let feed = env.file(
        "products.json",
        br#"[{"id": "L1", "title": "T", "description": "D", "url": "https://shop.example/l1"}]"#,
    );
    // The test holds the account's lock as a running sync would.
    let client = klaviyo_bridge::Client::builder()
        .api_key(env.sandbox.api_key())
        .base_url(env.sandbox.base_url())
        .build()
        .unwrap();
    let held = klaviyo_bridge::catalog_sync::lock::acquire(&client, &env.dir).unwrap();
    let tmp = env.dir.display().to_string();
    let args = ["--tool", "sync-catalog", "--feed", &feed];
    let (code, _, err) = env.run_with_env("dev", &args, &[("TMPDIR", &tmp)]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("another catalog sync of this account is running"),
        "{err}"
    );
    assert!(
        err.contains(&format!("process {}", std::process::id())),
        "{err}"
    );
    assert_eq!(counts(&env).0, 0);
    drop(held);
    let (code, _, err) = env.run_with_env("dev", &args, &[("TMPDIR", &tmp)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(counts(&env).0, 1);
}

#[test]
fn under_the_fault_mix_the_catalog_still_ends_equal_to_the_feed() {
    let env = env_with_options(Options {
        rate_limits: RateLimits::Real,
        faults: "429:0.05,500:0.02,503:0.02,reset:0.01".into(),
        seed: 19,
        ..Options::default()
    });
    let mut rows = catalog_rows(5_000);
    let feed = env.file("products.xml", google_xml(&rows).as_bytes());
    let (code, report, err) = sync(&env, &feed, &[]);
    assert_eq!(code, 0, "{err}\n{report}");
    assert_eq!(counts(&env), (5_000, 2_000, 10));
    for row in rows.iter_mut().step_by(7) {
        row.price += 2.0;
    }
    // 50 items with variants (1%) and their 100 variants (5%) leave the feed.
    rows.truncate(rows.len() - 100);
    let feed = env.file("products.xml", google_xml(&rows).as_bytes());
    let (code, report, err) = sync(&env, &feed, &["--delete-missing"]);
    assert_eq!(code, 0, "{err}\n{report}");
    env.settle();
    let mut by_id = BTreeMap::new();
    for row in &rows {
        by_id.insert(
            row.group.clone().unwrap_or_else(|| row.id.clone()),
            row.price,
        );
    }
    assert_eq!(counts(&env).0 as usize, by_id.len());
    assert_in_step(&env, &feed, &["--delete-missing"]);
}

#[test]
fn a_feed_without_a_categories_column_leaves_categories_alone() {
    let env = env_with(RateLimits::Off);
    let with = env.file(
        "with.csv",
        b"id,title,description,url,category\nC1,Cup,A cup,https://shop.example/c1,Kitchen|Gifts\nC2,Jug,A jug,https://shop.example/c2,Kitchen\n",
    );
    assert_eq!(sync(&env, &with, &[]).0, 0);
    // The same items exported without the category column, and with a new title.
    let without = env.file(
        "without.csv",
        b"id,title,description,url\nC1,Cup!,A cup,https://shop.example/c1\nC2,Jug,A jug,https://shop.example/c2\n",
    );
    let (code, report, err) = sync(&env, &without, &["--delete-missing"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["plan"]["categories"]["delete"], 0, "{report}");
    assert_eq!(
        report["plan"]["items"]["update"], 1,
        "only the title: {report}"
    );
    assert_eq!(counts(&env), (2, 0, 2));
    let c1 = item(&env, "C1");
    assert_eq!(c1["data"]["attributes"]["title"], "Cup!");
    assert_eq!(
        c1["data"]["relationships"]["categories"]["data"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "{c1}"
    );
    // An empty category cell does clear them.
    let cleared = env.file(
        "cleared.csv",
        b"id,title,description,url,category\nC1,Cup!,A cup,https://shop.example/c1,\nC2,Jug,A jug,https://shop.example/c2,Kitchen\n",
    );
    let (code, report, err) = sync(&env, &cleared, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["plan"]["items"]["update"], 1, "{report}");
    assert_eq!(
        item(&env, "C1")["data"]["relationships"]["categories"]["data"],
        serde_json::json!([])
    );
}
