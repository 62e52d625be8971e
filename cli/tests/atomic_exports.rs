//! Exports to a file are atomic and resumable: a failed or interrupted export leaves the
//! previous file byte-identical, keeps the slices it has read staged in `<file>.partial.d/`,
//! and `--resume` (even after SIGKILL) finishes the file exactly as an uninterrupted export
//! would have written it.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use klaviyo_sandbox::{Options, RateLimits};
use serde_json::Value;
use support::{Env, env_with_options};

fn seeded(profiles: usize, latency_ms: u64) -> Env {
    env_with_options(Options {
        rate_limits: RateLimits::Off,
        seed_profiles: profiles,
        latency: Duration::from_millis(latency_ms),
        ..Options::default()
    })
}

/// An export of profiles reading `concurrency` slices at once (four times as many slices):
/// slow enough against a 15 ms sandbox to be stopped halfway. These sandboxes inject no
/// faults; one retry keeps the tests that take the server away from riding out six backoffs.
fn export_args<'a>(output: &'a str, format: &'a str, concurrency: &'a str) -> Vec<&'a str> {
    vec![
        "--tool",
        "export-data",
        "--resource",
        "profiles",
        "--format",
        format,
        "--output",
        output,
        "--concurrency",
        concurrency,
        "--max-retries",
        "1",
        "--quiet",
    ]
}

/// The records staged in the export's finished slices.
fn staged_rows(output: &str) -> u64 {
    let mut rows = 0;
    for entry in std::fs::read_dir(format!("{output}.partial.d")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.is_empty() || text.ends_with('\n'),
                "whole records only"
            );
            rows += text.lines().count() as u64;
        }
    }
    rows
}

/// No partial file, progress record or staging folder beside `output`.
fn assert_nothing_left_beside(output: &str) {
    for leftover in [".partial", ".partial.json", ".partial.d"] {
        let path = format!("{output}{leftover}");
        assert!(!Path::new(&path).exists(), "{path} is left behind");
    }
}

/// Rows the export has recorded as read in its progress file (0 before its first slice).
fn recorded_rows(output: &str) -> u64 {
    std::fs::read(format!("{output}.partial.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["rows"].as_u64())
        .unwrap_or(0)
}

/// Starts an export and returns once it has recorded at least `rows` rows (watching its
/// progress file, not the clock), still running.
fn export_until(env: &Env, output: &str, format: &str, concurrency: &str, rows: u64) -> Child {
    let mut child = env
        .command("dev", &export_args(output, format, concurrency))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while recorded_rows(output) < rows {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export ended before {rows} rows"
        );
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(5)); // polling a condition, not timing a race
    }
    child
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

fn profile_ids(path: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| r.unwrap().get(0).unwrap().to_string())
        .collect()
}

#[test]
fn sigkill_then_resume_gives_exactly_the_file_an_uninterrupted_export_writes() {
    let env = seeded(5_000, 15);
    for format in ["csv", "json", "jsonl"] {
        let clean = env.path(&format!("clean.{format}"));
        let (code, _, err) = env.run("dev", &export_args(&clean, format, "32"));
        assert_eq!(code, 0, "{err}");

        // Two slices at once: they finish out of order, and are merged in order.
        let output = env.path(&format!("resumed.{format}"));
        let mut child = export_until(&env, &output, format, "2", 1_000);
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        assert!(
            !Path::new(&output).exists(),
            "nothing under the real name yet"
        );
        assert!(staged_rows(&output) >= 1_000);

        let mut args = export_args(&output, format, "2");
        args.push("--resume");
        let (code, out, err) = env.run("dev", &args);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(
            std::fs::read(&output).unwrap(),
            std::fs::read(&clean).unwrap(),
            "{format}: the resumed file is byte for byte the uninterrupted one"
        );
        assert_nothing_left_beside(&output);
    }
    let ids = profile_ids(Path::new(&env.path("resumed.csv")));
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (5_000, 5_000));
}

#[test]
fn sigint_and_sigterm_stop_at_a_page_keep_the_old_file_and_resume() {
    let env = seeded(2_000, 15);
    let clean = env.path("clean.csv");
    assert_eq!(env.run("dev", &export_args(&clean, "csv", "32")).0, 0);
    for (name, code) in [("INT", 130), ("TERM", 143)] {
        let output = env.path(&format!("out-{name}.csv"));
        std::fs::write(&output, b"the previous export\n").unwrap();
        let child = export_until(&env, &output, "csv", "1", 300);
        signal(&child, name);
        let done = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(code), "{err}");
        assert!(
            err.contains(&format!("interrupted by SIG{name}"))
                && err.contains("is untouched")
                && err.contains("--resume"),
            "{err}"
        );
        assert_eq!(std::fs::read(&output).unwrap(), b"the previous export\n");
        let kept = recorded_rows(&output);
        assert!(kept >= 300, "{kept}");
        assert_eq!(
            staged_rows(&output),
            kept,
            "the record counts what is staged"
        );

        let mut args = export_args(&output, "csv", "1");
        args.push("--resume");
        assert_eq!(env.run("dev", &args).0, 0);
        assert_eq!(
            std::fs::read(&output).unwrap(),
            std::fs::read(&clean).unwrap()
        );
    }
}

#[test]
fn a_failed_export_leaves_the_previous_file_byte_identical() {
    let env = seeded(2_000, 15);
    let output = env.path("profiles.csv");
    let previous = b"id,email\nP1,kept@example.com\n".to_vec();
    std::fs::write(&output, &previous).unwrap();

    // Nothing listens: the export fails before a row, and leaves nothing behind.
    let nowhere = support::unreachable_url();
    let (code, _, err) = env.run_with_env(
        "dev",
        &export_args(&output, "csv", "32"),
        &[("KLAVIYO_BASE_URL", &nowhere)],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("export failed") && err.contains("is untouched"),
        "{err}"
    );
    assert_eq!(std::fs::read(&output).unwrap(), previous);
    assert_nothing_left_beside(&output);

    // The server goes away mid-export: the rows so far are kept for --resume.
    let child = export_until(&env, &output, "csv", "1", 300);
    let Env {
        sandbox, runtime, ..
    } = env;
    runtime.block_on(sandbox.shutdown());
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(1), "{err}");
    assert!(
        err.contains("export stopped after") && err.contains("--resume"),
        "{err}"
    );
    assert_eq!(std::fs::read(&output).unwrap(), previous);
    let kept = recorded_rows(&output);
    assert!(kept >= 300, "{kept}");
    assert_eq!(staged_rows(&output), kept);
}

#[test]
fn resume_refuses_other_flags_and_starts_afresh_when_there_is_nothing_to_resume() {
    let env = seeded(500, 15);
    let output = env.path("p.csv");
    let child = export_until(&env, &output, "csv", "1", 100);
    signal(&child, "TERM");
    child.wait_with_output().unwrap();
    let mut other = export_args(&output, "json", "1");
    other.push("--resume");
    let (code, _, err) = env.run("dev", &other);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--resource profiles --format csv") && err.contains("same flags"),
        "{err}"
    );

    let fresh = env.path("fresh.csv");
    let (code, out, err) = env.run(
        "dev",
        &[
            "--tool",
            "export-data",
            "--resource",
            "profiles",
            "--output",
            &fresh,
            "--resume",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no interrupted export"), "{err}");
    assert!(out.contains("500"), "{out}");
    assert_eq!(profile_ids(Path::new(&fresh)).len(), 500);

    // Flags refused once the export is set up leave nothing behind either.
    let refused = env.path("c0.csv");
    let (code, _, err) = env.run("dev", &export_args(&refused, "csv", "0"));
    assert_eq!(code, 2, "{err}");
    assert_nothing_left_beside(&refused);

    // export-profiles (klaviyo-client) shares the mechanism.
    let (code, _, err) = env.run("client", &["--action", "export-profiles", "--resume"]);
    assert_eq!(code, 2, "--resume needs --output: {err}");
}

#[test]
fn a_profile_updated_while_the_export_runs_is_written_once_as_updated() {
    // 100 ms a response: four slices of ten pages take four seconds.
    let env = seeded(4_000, 100);
    // Oldest first by `updated`: the first row's slice is read first, the last row's last.
    let clean = env.path("clean.csv");
    assert_eq!(env.run("dev", &export_args(&clean, "csv", "32")).0, 0);
    let mut reader = csv::Reader::from_path(&clean).unwrap();
    let emails: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[1].to_string())
        .collect();
    let (read, unread) = (&emails[0], &emails[emails.len() - 1]);
    // Changed just before the export: in the window, and in the overlap the next round reads
    // again.
    let (code, _, err) = env.run(
        "client",
        &["--action", "upsert-profile", "--email", "fresh@example.com"],
    );
    assert_eq!(code, 0, "{err}");

    let output = env.path("during.csv");
    let child = export_until(&env, &output, "csv", "1", 1);
    // The export's window ends with the second it started in: a change dated in a later
    // second moves a profile past it (polling the clock, not timing a race).
    let started = std::fs::read(format!("{output}.partial.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["started"].as_u64())
        .expect("the progress record says when the export started");
    let next_second = Duration::from_micros(started - started % 1_000_000 + 1_000_000);
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        < next_second
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    // One profile whose slice has been read (read again: written once), and one whose slice
    // most likely has not (moved past the window: read by the next round).
    for email in [read, unread] {
        let (code, _, err) = env.run(
            "client",
            &[
                "--action",
                "upsert-profile",
                "--email",
                email,
                "--properties",
                r#"{"first_name": "Changed"}"#,
            ],
        );
        assert_eq!(code, 0, "{err}");
    }
    let done = child.wait_with_output().unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let mut reader = csv::Reader::from_path(&output).unwrap();
    let rows: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[1].to_string(), r[4].to_string())
        })
        .collect();
    let unique: std::collections::HashSet<&String> = rows.iter().map(|(e, _)| e).collect();
    assert_eq!((rows.len(), unique.len()), (4_001, 4_001));
    for email in [read, unread] {
        let found: Vec<&String> = rows
            .iter()
            .filter(|(e, _)| e == email)
            .map(|(_, n)| n)
            .collect();
        assert_eq!(found, ["Changed"], "{email}");
    }
}
