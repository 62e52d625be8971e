//! Every action and tool of the Rust binaries against the sandbox: output, state, exit codes.

mod support;

use klaviyo_sandbox::{Options, RateLimits};
use serde_json::Value;
use support::{env, env_with, env_with_options};

#[test]
fn seed_commands_track_upsert_list_and_export() {
    let env = env();
    let (code, out, _) = env.run(
        "client",
        &[
            "--action",
            "track-event",
            "--email",
            "user@example.com",
            "--event",
            "Placed Order",
            "--properties",
            r#"{"value": 99.99, "OrderId": "ORD-123"}"#,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    let tracked: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (tracked["status"].as_str(), tracked["value"].as_f64()),
        (Some("accepted"), Some(99.99))
    );
    assert_eq!(env.state()["events_per_metric"]["Placed Order"], 1);

    let (code, out, _) = env.run(
        "client",
        &[
            "--action",
            "upsert-profile",
            "--email",
            "user@example.com",
            "--properties",
            r#"{"first_name": "Jane", "loyalty_tier": "Gold"}"#,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    let profile: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(profile["first_name"], "Jane");
    assert_eq!(
        profile["properties"]["loyalty_tier"], "Gold",
        "custom properties stay custom"
    );
    assert_eq!(
        env.state()["profiles"],
        1,
        "the event's profile was updated, not duplicated"
    );

    let (code, out, _) = env.run(
        "client",
        &["--action", "get-profile", "--email", "user@example.com"],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("│ first_name") && out.contains("Jane"),
        "{out}"
    );

    let (code, out, _) = env.run("client", &["--action", "list-metrics", "--format", "csv"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("id,name,integration,created\n") && out.contains(",Placed Order,"),
        "{out}"
    );

    let (code, out, _) = env.run(
        "client",
        &[
            "--action",
            "export-profiles",
            "--max-pages",
            "10",
            "--format",
            "csv",
            "--output",
            "profiles.csv",
        ],
    );
    assert_eq!((code, out.as_str()), (0, ""));
    let csv = std::fs::read_to_string(env.dir.join("profiles.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .contains("user@example.com,,,Jane")
    );
}

#[test]
fn lists_subscriptions_and_deletion() {
    let env = env();
    env.run(
        "client",
        &["--action", "upsert-profile", "--email", "a@example.com"],
    );
    let list_id = env.runtime.block_on(async {
        let client = klaviyo_bridge::Client::builder()
            .api_key(env.sandbox.api_key())
            .base_url(env.sandbox.base_url())
            .build()
            .unwrap();
        client
            .lists()
            .create("VIP")
            .await
            .unwrap()
            .id()
            .unwrap()
            .to_string()
    });
    let (code, out, _) = env.run("client", &["--action", "list-lists", "--format", "json"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()[0]["name"],
        "VIP"
    );
    let (code, out, _) = env.run(
        "client",
        &[
            "--action",
            "add-to-list",
            "--list-id",
            &list_id,
            "--email",
            "a@example.com",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["status"],
        "added"
    );
    let (code, _, err) = env.run(
        "client",
        &[
            "--action",
            "add-to-list",
            "--list-id",
            &list_id,
            "--email",
            "nobody@example.com",
        ],
    );
    assert_eq!(
        code, 1,
        "a lookup that finds nothing is a failed call, not a usage error"
    );
    assert!(
        err.contains("no profile has email \"nobody@example.com\""),
        "{err}"
    );
    let (code, _, _) = env.run(
        "client",
        &[
            "--action",
            "subscribe-profile",
            "--email",
            "new@example.com",
            "--list-id",
            &list_id,
        ],
    );
    assert_eq!(code, 0);
    env.settle();
    assert_eq!(env.state()["profiles"], 2);
    let (code, _, _) = env.run(
        "client",
        &[
            "--action",
            "delete-profile",
            "--email",
            "a@example.com",
            "--yes",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(env.state()["profiles"], 1);
}

#[test]
fn catalog_items_render_as_table_json_and_csv() {
    let env = env();
    env.runtime.block_on(async {
        let client = klaviyo_bridge::Client::builder().api_key(env.sandbox.api_key()).base_url(env.sandbox.base_url()).build().unwrap();
        for (sku, title) in [("SKU-1", "Blue Mug"), ("SKU-2", "Teapot, \"large\"")] {
            client.catalog_items().create(serde_json::json!({"external_id": sku, "title": title, "price": 12.5, "url": "https://example.com"}), None).await.unwrap();
        }
    });
    let (_, table, _) = env.run(
        "client",
        &["--action", "catalog-items", "--format", "table"],
    );
    assert!(
        table.contains("Blue Mug") && table.ends_with("2 rows\n"),
        "{table}"
    );
    let (_, json, _) = env.run("client", &["--action", "catalog-items", "--format", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&json).unwrap()[1]["title"],
        "Teapot, \"large\""
    );
    let (_, csv, _) = env.run("client", &["--action", "catalog-items", "--format", "csv"]);
    assert!(
        csv.contains("\"Teapot, \"\"large\"\"\""),
        "RFC 4180 quoting: {csv}"
    );
}

#[test]
fn health_check_reports_the_key_and_scopes_and_fails_on_a_bad_key() {
    let env = env_with(RateLimits::Scale(100.0));
    let (code, out, _) = env.run("dev", &["--tool", "health-check", "--format", "json"]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (report["key_valid"].as_bool(), report["revision"].as_str()),
        (Some(true), Some("2026-07-15"))
    );
    assert_eq!(report["scope_profiles"], "OK");
    assert!(
        report["rate_limit_limit"].is_number(),
        "rate-limit headers seen: {report}"
    );
    let (code, out, _) = env.run(
        "dev",
        &[
            "--tool",
            "health-check",
            "--format",
            "json",
            "--api-key",
            "pk_wrong_0000000000000000000000",
        ],
    );
    assert_eq!(code, 1);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["key_valid"], false);
    assert!(report["error"].as_str().unwrap().contains("401"));
}

#[test]
fn validate_events_counts_and_fails_on_missing_metrics() {
    let env = env();
    for i in 0..3 {
        env.run(
            "client",
            &[
                "--action",
                "track-event",
                "--email",
                &format!("u{i}@example.com"),
                "--event",
                "Placed Order",
                "--properties",
                r#"{"OrderId": "1", "Items": []}"#,
            ],
        );
    }
    let (code, out, _) = env.run(
        "dev",
        &[
            "--tool",
            "validate-events",
            "--events",
            "Placed Order, Started Checkout",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "one metric is missing");
    let rows: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (rows[0]["exists"].as_bool(), rows[0]["events_30d"].as_str()),
        (Some(true), Some("3"))
    );
    assert_eq!(rows[0]["sample_properties"], "Items, OrderId");
    assert_eq!(rows[1]["exists"], false);
    let (code, _, _) = env.run(
        "dev",
        &["--tool", "validate-events", "--events", "Placed Order"],
    );
    assert_eq!(code, 0);
}

#[test]
fn test_webhook_sends_a_verifiable_delivery_and_a_forged_one() {
    let env = env();
    let secret = "receiver-secret-0123456789";
    // A receiver that verifies with the core: 204 when genuine, 401 otherwise.
    let url = env.runtime.block_on(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| async move {
                    let pairs: Vec<(&str, &str)> = headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("")))
                        .collect();
                    match klaviyo_bridge::webhook_signature::verify(
                        &body,
                        pairs,
                        &klaviyo_bridge::webhook_signature::VerifyOptions::new(secret),
                    ) {
                        Ok(_) => axum::http::StatusCode::NO_CONTENT,
                        Err(_) => axum::http::StatusCode::UNAUTHORIZED,
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    });
    let (code, out, _) = env.run(
        "dev",
        &[
            "--tool",
            "test-webhook",
            "--webhook-url",
            &url,
            "--secret",
            secret,
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            report["status"].as_u64(),
            report["forged_status"].as_u64(),
            report["rejected_forged"].as_bool()
        ),
        (Some(204), Some(401), Some(true))
    );
    let (code, out, _) = env.run(
        "dev",
        &[
            "--tool",
            "test-webhook",
            "--webhook-url",
            &url,
            "--secret",
            "not-the-receivers-secret-00",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "the genuine delivery was refused: {out}");
    let (code, _, err) = env.run(
        "dev",
        &[
            "--tool",
            "test-webhook",
            "--webhook-url",
            "http://example.com/hook",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("must be https://"), "{err}");
}

#[test]
fn import_csv_imports_valid_files_and_lists_bad_rows_without_sending() {
    let env = env();
    let mut good = String::from("email,first_name,city,loyalty_tier,properties\n");
    for i in 0..250 {
        good.push_str(&format!(
            "user{i}@example.com,User {i},Boston,Gold,\"{{\"\"vip\"\": {}}}\"\n",
            i % 2 == 0
        ));
    }
    let path = env.file("good.csv", good.as_bytes());
    let (code, out, _) = env.run(
        "dev",
        &["--tool", "import-csv", "--file", &path, "--format", "json"],
    );
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            report["rows"].as_u64(),
            report["imported"].as_u64(),
            report["jobs"].as_array().map(Vec::len)
        ),
        (Some(250), Some(250), Some(1))
    );
    assert_eq!(env.state()["profiles"], 250);

    let mut bad = b"email,phone_number,first_name,properties\n".to_vec();
    bad.extend_from_slice(b"ok@example.com,,Ok,\n");
    bad.extend_from_slice(b",,No identifier,\n");
    bad.extend_from_slice(b"not-an-email,,Bad,\n");
    bad.extend_from_slice(b"x@example.com,,Bad json,{oops\n");
    bad.extend_from_slice(b"y@example.com,,\xff\xfe,\n");
    bad.extend_from_slice(b",5550100,Bad phone,\n");
    let path = env.file("bad.csv", &bad);
    let before = env.sandbox.requests().len();
    let (code, out, _) = env.run(
        "dev",
        &["--tool", "import-csv", "--file", &path, "--format", "csv"],
    );
    assert_eq!(code, 1);
    assert_eq!(env.sandbox.requests().len(), before, "nothing was sent");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "line,problem,reason");
    let reported: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(reported, ["3", "4", "5", "6", "7"]);
    assert!(
        out.contains("needs one of email")
            && out.contains("not a valid email")
            && out.contains("JSON object")
            && out.contains("UTF-8")
            && out.contains("E.164"),
        "{out}"
    );

    let (code, out, _) = env.run(
        "dev",
        &[
            "--tool",
            "import-csv",
            "--file",
            &env.file("dry.csv", b"email\nz@example.com\n"),
            "--dry-run",
        ],
    );
    assert_eq!(code, 0);
    assert!(out.contains("│ sent     ┆ false"), "{out}");
    assert_eq!(env.state()["profiles"], 250);
}

#[test]
fn export_data_streams_each_resource_in_each_format() {
    let env = env();
    for i in 0..30 {
        env.run(
            "client",
            &[
                "--action",
                "track-event",
                "--email",
                &format!("e{i}@example.com"),
                "--event",
                "Viewed Product",
                "--unique-id",
                &format!("v{i}"),
            ],
        );
    }
    let (code, out, _) = env.run(
        "dev",
        &[
            "--tool",
            "export-data",
            "--resource",
            "profiles",
            "--max-records",
            "25",
            "--output",
            "p.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0);
    assert!(out.contains("│ rows     ┆ 25"), "{out}");
    let exported: Value =
        serde_json::from_str(&std::fs::read_to_string(env.dir.join("p.json")).unwrap()).unwrap();
    assert_eq!(exported.as_array().unwrap().len(), 25);
    let (code, _, _) = env.run(
        "dev",
        &[
            "--tool",
            "export-data",
            "--resource",
            "events",
            "--output",
            "e.jsonl",
            "--format",
            "jsonl",
        ],
    );
    assert_eq!(code, 0);
    let events = std::fs::read_to_string(env.dir.join("e.jsonl")).unwrap();
    assert_eq!(events.lines().count(), 30);
    assert!(
        events
            .lines()
            .all(|l| serde_json::from_str::<Value>(l).unwrap()["metric_id"].is_string())
    );
    for resource in ["metrics", "lists", "catalog-items"] {
        let (code, _, err) = env.run(
            "dev",
            &[
                "--tool",
                "export-data",
                "--resource",
                resource,
                "--output",
                "x.csv",
            ],
        );
        assert_eq!(code, 0, "{resource}: {err}");
    }
}

#[test]
fn bad_input_gets_one_clear_line_and_the_documented_exit_code() {
    let env = env();
    // (program, args, extra environment, exit code, message)
    type Case<'a> = (
        &'a str,
        &'a [&'a str],
        &'a [(&'a str, &'a str)],
        i32,
        &'a str,
    );
    let cases: [Case; 7] = [
        (
            "client",
            &[
                "--action",
                "track-event",
                "--email",
                "a@b.com",
                "--event",
                "X",
                "--properties",
                "{oops",
            ],
            &[],
            2,
            "--properties is not valid JSON",
        ),
        (
            "client",
            &["--action", "track-event", "--email", "a@b.com"],
            &[],
            2,
            "needs --event",
        ),
        (
            "client",
            &["--action", "upsert-profile"],
            &[],
            2,
            "needs --email, --phone-number or --external-id",
        ),
        (
            "client",
            &[
                "--action",
                "list-lists",
                "--api-key",
                "pk_wrong_0000000000000000000000",
            ],
            &[],
            1,
            "HTTP 401",
        ),
        (
            "client",
            &[
                "--action",
                "list-lists",
                "--base-url",
                "http://127.0.0.1:1",
                "--max-retries",
                "0",
            ],
            &[],
            1,
            "is the base URL right and reachable?",
        ),
        (
            "client",
            &["--action", "list-lists"],
            &[("KLAVIYO_API_KEY", "")],
            2,
            "set KLAVIYO_API_KEY",
        ),
        (
            "client",
            &["--action", "list-lists", "--api-key", "abc123"],
            &[],
            2,
            "must start with pk_",
        ),
    ];
    for (program, args, extra, code, message) in cases {
        let (got, out, err) = env.run_with_env(program, args, extra);
        assert_eq!(got, code, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} printed to stdout: {out}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(
            err.starts_with("klaviyo-client: error: ") && err.contains(message),
            "{args:?}: {err}"
        );
        assert!(!err.contains("pk_wrong_0000"), "no key in messages");
    }
    let (code, _, err) = env.run("client", &["--action", "nope"]);
    assert_eq!(code, 2);
    assert!(err.contains("track-event"), "clap lists the actions: {err}");
}

#[test]
fn help_documents_every_action_and_tool_with_an_example() {
    let env = env();
    let (code, help, _) = env.run("client", &["--help"]);
    assert_eq!(code, 0);
    for action in [
        "track-event",
        "upsert-profile",
        "catalog-items",
        "export-profiles",
        "get-profile",
        "list-metrics",
        "list-lists",
        "add-to-list",
        "subscribe-profile",
        "delete-profile",
    ] {
        assert!(
            help.matches(action).count() >= 2,
            "{action} is listed and has an example"
        );
    }
    let (_, help, _) = env.run("dev", &["--help"]);
    for tool in [
        "health-check",
        "validate-events",
        "test-webhook",
        "import-csv",
        "export-data",
    ] {
        assert!(
            help.matches(tool).count() >= 2,
            "{tool} is listed and has an example"
        );
    }
}

#[test]
fn max_retries_sets_how_often_a_failing_request_is_tried() {
    // Every request answers 503: each attempt shows in the sandbox's request log.
    let env = env_with_options(Options {
        faults: "503:1".into(),
        ..Options::default()
    });
    let attempts = |extra: &[&str]| {
        let before = env.sandbox.requests().len();
        let mut args = vec!["--action", "list-lists"];
        args.extend_from_slice(extra);
        let (code, _, err) = env.run("client", &args);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("503"), "{err}");
        env.sandbox.requests().len() - before
    };
    assert_eq!(attempts(&["--max-retries", "0"]), 1);
    assert_eq!(attempts(&["--max-retries", "2"]), 3);
    let (code, _, err) = env.run(
        "client",
        &["--action", "list-lists", "--max-retries", "lots"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--max-retries"), "{err}");
}
