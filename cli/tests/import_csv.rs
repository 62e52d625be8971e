//! import-csv as a person with a real spreadsheet export meets it: rows reported by the line a
//! text editor shows for any line ending, a column named twice refused, and `--skip-invalid`
//! importing the good rows while the bad ones go to a file that imports once fixed.

mod support;

use serde_json::Value;
use support::env;

fn import(env: &support::Env, path: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["--tool", "import-csv", "--file", path, "--format", "json"];
    args.extend_from_slice(extra);
    let (code, out, err) = env.run("dev", &args);
    let report = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, report, err)
}

fn lines(report: &Value, key: &str) -> Vec<u64> {
    report[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect()
}

/// The same rows with `ending` between lines; row 3's note spans two lines.
fn spreadsheet(ending: &str) -> String {
    [
        "email,first_name,note",
        "ann@example.com,Ann,",
        "not-an-email,Bob,",
        "cy@example.com,Cy,\"two",
        "lines\"",
        ",Dee,no identifier",
        "eve@example.com,Eve,",
        "",
    ]
    .join(ending)
}

#[test]
fn bad_rows_are_reported_by_their_line_for_lf_crlf_and_cr_files() {
    let env = env();
    for (name, ending) in [("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")] {
        let path = env.file(&format!("{name}.csv"), spreadsheet(ending).as_bytes());
        let (code, report, err) = import(&env, &path, &[]);
        assert_eq!(code, 1, "{name}: {err}");
        assert_eq!(lines(&report, "invalid"), [3, 6], "{name}: {report}");
        assert_eq!(report["sent"], false);
        assert_eq!(report["dry_run"], false, "bad rows are not a dry run");
    }
    assert_eq!(env.state()["profiles"], 0, "nothing was sent");
}

#[test]
fn a_column_named_twice_is_an_error_that_names_it() {
    let env = env();
    let path = env.file(
        "dup.csv",
        b"email,First_Name,first_name\na@example.com,A,B\n",
    );
    let (code, _, err) = import(&env, &path, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("\"first_name\" twice (columns 2 and 3)"),
        "{err}"
    );
    assert_eq!(env.state()["profiles"], 0);
}

#[test]
fn skip_invalid_imports_the_rest_and_the_rejects_file_imports_once_fixed() {
    let env = env();
    let path = env.file("contacts.csv", spreadsheet("\r\n").as_bytes());
    let (code, report, err) = import(&env, &path, &["--skip-invalid"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        (
            report["imported"].as_u64(),
            report["skipped"].as_u64(),
            report["sent"].as_bool()
        ),
        (Some(3), Some(2), Some(true))
    );
    env.settle();
    assert_eq!(env.state()["profiles"], 3);
    let rejected = env.path("contacts.rejected.csv");
    assert_eq!(report["rejected_file"], rejected.as_str());
    assert!(err.contains("contacts.rejected.csv"), "{err}");

    // The rows as they were, after their line and reason, with the original header.
    let mut reader = csv::Reader::from_path(&rejected).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["import_line", "import_error", "email", "first_name", "note"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(
        (&rows[0][0], &rows[0][2], &rows[0][3]),
        ("3", "not-an-email", "Bob")
    );
    assert!(rows[0][1].contains("not a valid email"), "{:?}", &rows[0]);
    assert_eq!(
        (&rows[1][0], &rows[1][3], &rows[1][4]),
        ("6", "Dee", "no identifier")
    );

    // Fixed in place, it imports; its two leading columns are not profile properties.
    let fixed = std::fs::read_to_string(&rejected)
        .unwrap()
        .replace("not-an-email", "bob@example.com")
        .replace(",,Dee", ",dee@example.com,Dee");
    let fixed_path = env.file("fixed.csv", fixed.as_bytes());
    let (code, report, err) = import(&env, &fixed_path, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["imported"], 2);
    env.settle();
    assert_eq!(env.state()["profiles"], 5);
    let (_, out, _) = env.run(
        "client",
        &[
            "--action",
            "get-profile",
            "--email",
            "bob@example.com",
            "--format",
            "json",
        ],
    );
    assert!(
        !out.contains("import_line") && !out.contains("import_error"),
        "{out}"
    );

    // A dry run with --skip-invalid writes nothing.
    let again = env.file("again.csv", spreadsheet("\n").as_bytes());
    let (code, report, _) = import(&env, &again, &["--skip-invalid", "--dry-run"]);
    assert_eq!((code, report["sent"].as_bool()), (0, Some(false)));
    assert!(!std::path::Path::new(&env.path("again.rejected.csv")).exists());
}
