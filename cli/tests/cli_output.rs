//! What a person reads from the command lines: whole table cells, one line on stderr for every
//! failure, one exit-code rule (2 usage or configuration, 1 the API or a check failed), honest
//! import summaries in every format, create-list, and deletion that must be confirmed.

mod support;

use serde_json::Value;
use support::env;

#[test]
fn table_cells_are_never_cut() {
    let env = env();
    let reason_column = env.file("bad.csv", b"email,first_name\n,Nobody at all\n");
    let (code, out, _) = env.run("dev", &["--tool", "import-csv", "--file", &reason_column]);
    assert_eq!(code, 1);
    assert!(
        out.contains("row needs one of email, phone_number, external_id"),
        "the whole reason is shown:\n{out}"
    );
    assert!(!out.contains('…'), "{out}");
}

#[test]
fn every_failed_check_says_on_stderr_what_failed() {
    let env = env();
    let bad = env.file("bad.csv", b"email\nnot-an-email\nok@example.com\n");
    let (code, _, err) = env.run("dev", &["--tool", "import-csv", "--file", &bad]);
    assert_eq!(code, 1);
    assert!(
        err.contains("1 of 2 rows are invalid") && err.contains("--skip-invalid"),
        "{err}"
    );

    let (code, _, err) = env.run("dev", &["--tool", "validate-events", "--events", "Nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("no metric named \"Nope\""), "{err}");

    let nowhere = support::unreachable_url();
    let (code, _, err) = env.run_with_env(
        "dev",
        &["--tool", "health-check"],
        &[("KLAVIYO_BASE_URL", &nowhere)],
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("key check against") && err.contains(&nowhere),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn one_exit_code_rule_for_like_cases() {
    let env = env();
    let (code, _, err) = env.run(
        "client",
        &[
            "--action",
            "subscribe-profile",
            "--email",
            "a@example.com",
            "--sms",
        ],
    );
    assert_eq!(code, 2, "a missing flag is usage: {err}");
    assert!(err.contains("--sms needs --phone-number"), "{err}");

    for lookup in [["--email", "nobody@example.com"], ["--profile-id", "NOPE"]] {
        let mut args = vec!["--action", "get-profile"];
        args.extend_from_slice(&lookup);
        let (code, _, err) = env.run("client", &args);
        assert_eq!(code, 1, "{lookup:?}: {err}");
        assert!(err.contains("no profile has"), "{err}");
    }

    let (code, _, err) = env.run(
        "dev",
        &[
            "--tool",
            "import-csv",
            "--file",
            &env.dir.display().to_string(),
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("is a directory"), "{err}");
}

#[test]
fn import_summaries_are_honest_in_json_and_complete_in_jsonl() {
    let env = env();
    let bad = env.file("bad.csv", b"email\nnot-an-email\nok@example.com\n");
    let (_, out, _) = env.run(
        "dev",
        &["--tool", "import-csv", "--file", &bad, "--format", "json"],
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&report["dry_run"], &report["sent"]),
        (&Value::Bool(false), &Value::Bool(false))
    );

    let (_, out, _) = env.run(
        "dev",
        &["--tool", "import-csv", "--file", &bad, "--format", "jsonl"],
    );
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["line"], 2);
    let summary = &lines.last().unwrap()["summary"];
    assert_eq!(
        (summary["rows"].as_u64(), summary["invalid_count"].as_u64()),
        (Some(2), Some(1)),
        "{out}"
    );
}

#[test]
fn create_list_and_deletion_that_must_be_confirmed() {
    let env = env();
    let (code, out, err) = env.run(
        "client",
        &[
            "--action",
            "create-list",
            "--name",
            "VIP customers",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["name"], "VIP customers");
    assert!(list["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(env.run("client", &["--action", "create-list"]).0, 2);

    env.run(
        "client",
        &["--action", "upsert-profile", "--email", "gone@example.com"],
    );
    let (code, _, err) = env.run(
        "client",
        &["--action", "delete-profile", "--email", "gone@example.com"],
    );
    assert_eq!(code, 2, "stdin is not a terminal: {err}");
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(env.state()["profiles"], 1, "nothing was deleted");
    let (code, _, err) = env.run(
        "client",
        &[
            "--action",
            "delete-profile",
            "--email",
            "gone@example.com",
            "--yes",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(env.state()["profiles"], 0);
}
