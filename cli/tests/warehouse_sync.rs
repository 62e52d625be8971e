//! `klaviyo-dev-tools --tool sync`: a whole account to Parquet, JSONL and CSV. Every record
//! once, with the spec's types; killed (SIGKILL) at random points and run again, exactly the
//! full record set; a second sync reads only what changed since the first.

mod support;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_array::{Array, StringArray};
use arrow_schema::{DataType, TimeUnit};
use klaviyo_bridge::profiles::ProfileData;
use klaviyo_bridge::{Client, events::EventCreate};
use klaviyo_sandbox::{Options, RateLimits};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};
use support::{Env, env_with_options};

fn seeded(profiles: usize, events: usize, latency_ms: u64) -> Env {
    env_with_options(Options {
        rate_limits: RateLimits::Off,
        seed_profiles: profiles,
        seed_events: events,
        latency: Duration::from_millis(latency_ms),
        ..Options::default()
    })
}

/// A sync's flags (`state` empty for PostgreSQL, which keeps its own).
fn sync_args<'a>(destination: &'a str, state: &'a str, streams: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "--tool",
        "sync",
        "--destination",
        destination,
        "--streams",
        streams,
    ];
    if !state.is_empty() {
        args.extend(["--state", state]);
    }
    args.extend([
        "--safety-margin",
        "0",
        "--concurrency",
        "4",
        "--format",
        "json",
        "--quiet",
    ]);
    args
}

/// The files of a stream's folder and its month folders (finished ones only: `.partial`
/// files are not parts).
fn parts(dir: &Path, stream: &str, extension: &str) -> Vec<std::path::PathBuf> {
    let list = |folder: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(folder)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    };
    let mut found: Vec<_> = list(&dir.join(stream))
        .into_iter()
        .flat_map(|p| if p.is_dir() { list(&p) } else { vec![p] })
        .filter(|p| p.extension().is_some_and(|x| x == extension))
        .collect();
    found.sort();
    found
}

/// A Parquet part's record batches, read back with the reader.
fn batches(part: &Path) -> impl Iterator<Item = arrow_array::RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(File::open(part).unwrap())
        .unwrap()
        .build()
        .unwrap()
        .map(|batch| batch.unwrap())
}

/// Every id in a stream's Parquet parts, read back with the reader (repeats kept).
fn parquet_ids(dir: &Path, stream: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for part in parts(dir, stream, "parquet") {
        for batch in batches(&part) {
            let column = batch.column_by_name("id").unwrap();
            let strings = column.as_any().downcast_ref::<StringArray>().unwrap();
            ids.extend((0..strings.len()).map(|i| strings.value(i).to_string()));
        }
    }
    ids
}

/// A client of the sandbox, unpaced.
fn client(env: &Env) -> Client {
    Client::builder()
        .api_key(env.sandbox.api_key())
        .base_url(env.sandbox.base_url())
        .rate_limit(false)
        .build()
        .unwrap()
}

/// The sandbox's own ids of a kind, read through the API.
fn sandbox_ids(env: &Env, operation: &str) -> BTreeSet<String> {
    let client = client(env);
    env.runtime.block_on(async {
        let mut args = serde_json::Map::new();
        if klaviyo_bridge::operations::operation(operation).is_some_and(|op| op.page_size.is_some())
        {
            args.insert("page_size".into(), Value::from(100));
        }
        let mut pager = klaviyo_bridge::api::Call::from_args(&client, operation, args)
            .unwrap()
            .pager(&client)
            .unwrap();
        let mut ids = BTreeSet::new();
        while let Some(page) = pager.next_page().await.unwrap() {
            ids.extend(page.data.iter().filter_map(|r| r.id().map(str::to_string)));
        }
        ids
    })
}

fn assert_exactly_once(found: Vec<String>, expected: &BTreeSet<String>, what: &str) {
    let unique: BTreeSet<String> = found.iter().cloned().collect();
    assert_eq!(found.len(), unique.len(), "{what}: a record written twice");
    assert_eq!(&unique, expected, "{what}: records missing or extra");
}

#[test]
fn a_sync_writes_every_record_once_with_the_specs_types() {
    let env = seeded(300, 3_000, 0);
    let out = env.path("warehouse");
    let state = env.path("state.json");
    let destination = format!("parquet:{out}");
    let (code, stdout, stderr) = env.run(
        "dev",
        &sync_args(&destination, &state, "profiles,events,metrics"),
    );
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary[1]["stream"], "events");
    assert_eq!(summary[1]["records"], 3_000);
    let dir = Path::new(&out);
    assert_exactly_once(
        parquet_ids(dir, "events"),
        &sandbox_ids(&env, "get_events"),
        "events",
    );
    assert_exactly_once(
        parquet_ids(dir, "profiles"),
        &sandbox_ids(&env, "get_profiles"),
        "profiles",
    );
    assert_exactly_once(
        parquet_ids(dir, "metrics"),
        &sandbox_ids(&env, "get_metrics"),
        "metrics",
    );
    // The columns carry the spec's types: a date-time is a UTC timestamp, custom properties
    // JSON text, the related metric and profile their ids.
    let part = &parts(dir, "events", "parquet")[0];
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(part).unwrap()).unwrap();
    let schema = builder.schema();
    assert_eq!(
        schema.field_with_name("datetime").unwrap().data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
    );
    assert_eq!(
        schema.field_with_name("timestamp").unwrap().data_type(),
        &DataType::Int64
    );
    let properties = schema.field_with_name("event_properties").unwrap();
    assert_eq!(properties.data_type(), &DataType::Utf8);
    assert_eq!(
        properties.metadata().get("format").map(String::as_str),
        Some("json")
    );
    assert!(
        schema.field_with_name("metric_id").is_ok() && schema.field_with_name("profile_id").is_ok()
    );
    // The events' window was read in slices at once, not one cursor after another.
    assert!(parts(dir, "events", "parquet").len() > 1);
    // Each event is in the folder of its month (`month=YYYY-MM`); profiles, whose key moves
    // as they change, are not foldered.
    let mut months = BTreeSet::new();
    for part in parts(dir, "events", "parquet") {
        let folder = part
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap();
        let month = folder.strip_prefix("month=").expect(folder).to_string();
        for batch in batches(&part) {
            let datetimes = batch
                .column_by_name("datetime")
                .unwrap()
                .as_any()
                .downcast_ref::<arrow_array::TimestampMicrosecondArray>()
                .unwrap()
                .clone();
            for i in 0..datetimes.len() {
                let at = klaviyo_bridge::sync::schema::format_micros(datetimes.value(i));
                assert_eq!(at[..7], month, "{}", part.display());
            }
        }
        months.insert(month);
    }
    assert!(
        months.len() > 1,
        "the seeded events span months: {months:?}"
    );
    assert!(
        parts(dir, "profiles", "parquet")
            .iter()
            .all(|p| p.parent().unwrap() == dir.join("profiles"))
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["streams"]["events"]["rows"], 3_000);
    let listed: BTreeSet<String> = manifest["streams"]["events"]["parts"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let on_disk: BTreeSet<String> = parts(dir, "events", "parquet")
        .iter()
        .map(|p| {
            p.strip_prefix(dir.join("events"))
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(listed, on_disk, "the manifest lists each file by its path");
    assert_eq!(
        manifest["streams"]["events"]["columns"][3]["type"],
        "timestamp"
    );
}

#[test]
fn jsonl_and_csv_hold_the_same_records() {
    let env = seeded(50, 400, 0);
    for format in ["jsonl", "csv"] {
        let out = env.path(format);
        let destination = format!("{format}:{out}");
        let state = env.path(&format!("{format}-state.json"));
        let (code, _, stderr) = env.run("dev", &sync_args(&destination, &state, "events"));
        assert_eq!(code, 0, "{stderr}");
        let mut ids = Vec::new();
        for part in parts(Path::new(&out), "events", format) {
            let text = std::fs::read_to_string(part).unwrap();
            if format == "jsonl" {
                for line in text.lines() {
                    let row: Value = serde_json::from_str(line).unwrap();
                    assert!(
                        row["event_properties"].is_object(),
                        "custom properties kept whole: {row}"
                    );
                    ids.push(row["id"].as_str().unwrap().to_string());
                }
            } else {
                let mut reader = csv::Reader::from_reader(text.as_bytes());
                assert_eq!(&reader.headers().unwrap()[0], "id");
                ids.extend(reader.records().map(|r| r.unwrap()[0].to_string()));
            }
        }
        assert_exactly_once(ids, &sandbox_ids(&env, "get_events"), format);
    }
}

/// Slices the state file records as written.
fn slices_done(state: &str) -> usize {
    std::fs::read(state)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| {
            v["streams"]["events"]["run"]["done"]
                .as_array()
                .map(Vec::len)
        })
        .unwrap_or(0)
}

/// Two points of a run to kill it at (after 0 to 5 slices written), chosen by `seed`.
fn kill_points(seed: u64) -> [u64; 2] {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % 6
    };
    [next(), next()]
}

/// SIGKILLs `child` once `reached()` holds (polling a condition, not timing a race); a child
/// that ends first must have succeeded.
fn kill_when(mut child: std::process::Child, reached: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !reached() {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
            }
            assert!(status.success(), "the sync failed: {stderr}");
            return;
        }
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = child.wait();
}

#[test]
fn a_sync_killed_at_random_points_resumes_with_exactly_the_full_record_set() {
    // 5 ms per response: slow enough that a kill lands inside a run.
    let env = seeded(100, 4_000, 5);
    let expected = sandbox_ids(&env, "get_events");
    let (mut killed_mid_run, mut planted) = (0, Vec::<std::path::PathBuf>::new());
    for seed in [1u64, 2, 3] {
        let out = env.path(&format!("killed-{seed}"));
        let state = env.path(&format!("killed-{seed}.json"));
        let destination = format!("parquet:{out}");
        // Two kills at random points of the run, then a run to the end.
        for after in kill_points(seed) {
            let child = env
                .command("dev", &sync_args(&destination, &state, "events"))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let start = slices_done(&state);
            kill_when(child, || slices_done(&state) >= start + after as usize);
            let saved: Value = serde_json::from_slice(&std::fs::read(&state).unwrap_or_default())
                .unwrap_or_default();
            if saved["streams"]["events"]["run"].is_object() {
                killed_mid_run += 1;
            }
        }
        // What a killed attempt at an unfinished slice may have left under the slice's name
        // (whole files of rows that are in other parts too), in a month the slice has no rows
        // in and where parts were before month folders: the resumed slice removes them.
        let saved: Value =
            serde_json::from_slice(&std::fs::read(&state).unwrap_or_default()).unwrap_or_default();
        let run = &saved["streams"]["events"]["run"];
        let rows_elsewhere = parts(Path::new(&out), "events", "parquet")
            .into_iter()
            .next();
        if let (Some(id), Some(slices), Some(copy)) =
            (run["id"].as_str(), run["slices"].as_array(), rows_elsewhere)
        {
            let done: Vec<u64> = run["done"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_u64)
                .collect();
            let unfinished = (0..slices.len() as u64)
                .find(|i| !done.contains(i))
                .unwrap();
            let name = format!("{id}-{unfinished:04}.parquet");
            let stale = Path::new(&out).join("events/month=1999-01");
            std::fs::create_dir_all(&stale).unwrap();
            for path in [
                stale.join(&name),
                Path::new(&out).join("events").join(&name),
            ] {
                std::fs::copy(&copy, &path).unwrap();
                planted.push(path);
            }
        }
        let (code, _, stderr) = env.run("dev", &sync_args(&destination, &state, "events"));
        assert_eq!(code, 0, "seed {seed}: {stderr}");
        assert_exactly_once(
            parquet_ids(Path::new(&out), "events"),
            &expected,
            &format!("seed {seed}"),
        );
    }
    assert!(
        killed_mid_run >= 3,
        "only {killed_mid_run} of 6 kills landed inside a run"
    );
    assert!(
        !planted.is_empty(),
        "no kill left a slice unfinished with a part to copy"
    );
    assert!(planted.iter().all(|p| !p.exists()), "{planted:?}");
}

#[test]
fn events_sent_with_a_past_time_are_read_by_a_sync_that_looks_back_for_them() {
    let env = seeded(10, 200, 0);
    let (out, state) = (env.path("late"), env.path("late.json"));
    let destination = format!("jsonl:{out}");
    let (code, _, stderr) = env.run("dev", &sync_args(&destination, &state, "events"));
    assert_eq!(code, 0, "{stderr}");
    // Sent now, dated two hours ago: behind the bookmark the sync just set.
    let two_hours_ago = klaviyo_bridge::time::format_iso8601(
        std::time::SystemTime::now() - Duration::from_secs(2 * 3_600),
    );
    let before = sandbox_ids(&env, "get_events");
    env.runtime
        .block_on(
            client(&env).events().create(
                EventCreate::new("Placed Order")
                    .email("late@example.com")
                    .time(two_hours_ago),
            ),
        )
        .unwrap();
    env.settle();
    let late: Vec<String> = sandbox_ids(&env, "get_events")
        .difference(&before)
        .cloned()
        .collect();
    assert_eq!(late.len(), 1);
    let read = |out: &str| -> BTreeSet<String> {
        jsonl_rows(out, "events")
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    let (code, _, stderr) = env.run("dev", &sync_args(&destination, &state, "events"));
    assert_eq!(code, 0, "{stderr}");
    assert!(!read(&out).contains(&late[0]), "no lookback, no late event");
    let mut args = sync_args(&destination, &state, "events");
    args.extend(["--events-lookback-hours", "3"]);
    let (code, _, stderr) = env.run("dev", &args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        read(&out).contains(&late[0]),
        "the late event, read by looking back"
    );
}

#[test]
fn a_second_sync_reads_only_what_was_added() {
    let env = seeded(200, 2_000, 0);
    let out = env.path("incremental");
    let state = env.path("incremental.json");
    let destination = format!("parquet:{out}");
    let (code, _, stderr) = env.run("dev", &sync_args(&destination, &state, "profiles,events"));
    assert_eq!(code, 0, "{stderr}");
    // 100 profiles and 1,000 events added after the first sync.
    let client = client(&env);
    env.runtime.block_on(async {
        let profiles = (0..100)
            .map(|i| ProfileData::email(format!("new{i}@example.com")))
            .collect();
        client.profiles().bulk_import(profiles, None).await.unwrap();
        let events = (0..1_000)
            .map(|i| EventCreate::new("Placed Order").email(format!("new{}@example.com", i % 100)))
            .collect();
        client.events().bulk_create(events).await.unwrap();
    });
    env.settle();
    // The API's timestamps are whole seconds and a sync reads up to the start of its own
    // second: the second sync is let start once the second of the last addition is over.
    let added = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        <= added
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = env.sandbox.requests().len();
    let (code, stdout, stderr) =
        env.run("dev", &sync_args(&destination, &state, "profiles,events"));
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    // Profiles the new events named were created with them: every profile written is new.
    assert_eq!(summary[0]["records"], 100, "{summary}");
    assert_eq!(summary[1]["records"], 1_000, "{summary}");
    let requests = env.sandbox.requests();
    let count = |op: &str| {
        requests[before..]
            .iter()
            .filter(|r| r.operation == Some(op))
            .count()
    };
    // One request to find where the window's records start, then a page per 100 profiles or
    // 1,000 events: the first sync's records are not read again.
    assert!(
        count("get_profiles") <= 3,
        "{} profile requests",
        count("get_profiles")
    );
    assert!(
        count("get_events") <= 3,
        "{} event requests",
        count("get_events")
    );
    assert_exactly_once(
        parquet_ids(Path::new(&out), "events"),
        &sandbox_ids(&env, "get_events"),
        "events after two syncs",
    );
}

/// Runs SQL on the server (a client in the test's own runtime).
fn query(env: &Env, url: &str, sql: &str) -> Vec<tokio_postgres::Row> {
    let url = url.to_string();
    let sql = sql.to_string();
    env.runtime.block_on(async move {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client.query(&sql, &[]).await.unwrap()
    })
}

fn postgres_ids(env: &Env, url: &str, table: &str) -> Vec<String> {
    query(env, url, &format!("SELECT id FROM klaviyo.{table}"))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[test]
fn postgresql_over_tls_is_verified_against_the_ca_in_pgsslrootcert() {
    let env = seeded(20, 300, 0);
    let tls = support::postgres::Certificates::generate();
    let server = support::postgres::Postgres::start_tls_only(&tls);
    let ca = env.path("ca.pem");
    std::fs::write(&ca, &tls.ca).unwrap();
    let url = format!("{}?sslmode=verify-full", server.url_by_name("postgres"));
    // A certificate no root trusts: refused, saying what to give.
    let (code, _, stderr) = env.run_with_env(
        "dev",
        &sync_args(&url, "", "events"),
        &[("PGSSLROOTCERT", "")],
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("not trusted") && stderr.contains("PGSSLROOTCERT"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("configuration error").count(), 1, "{stderr}");
    // The server takes TLS only: a sync in plain text is turned away.
    let plain = format!("{}?sslmode=disable", server.url_by_name("postgres"));
    let (code, _, stderr) = env.run("dev", &sync_args(&plain, "", "events"));
    assert_ne!(code, 0, "{stderr}");
    // With the CA: every event, over TLS (the only way in).
    let (code, _, stderr) = env.run_with_env(
        "dev",
        &sync_args(&url, "", "events"),
        &[("PGSSLROOTCERT", ca.as_str())],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_exactly_once(
        postgres_ids(&env, &server.socket("postgres"), "events"),
        &sandbox_ids(&env, "get_events"),
        "events over TLS",
    );
    // A Unix socket is spoken to in plain text, whatever the sslmode (as libpq does).
    for url in [
        server.socket_url("postgres"),
        format!("{}?sslmode=require", server.socket_url("postgres")),
    ] {
        let (code, _, stderr) = env.run("dev", &sync_args(&url, "", "events"));
        assert_eq!(code, 0, "{url}: {stderr}");
    }
}

#[test]
fn postgresql_gets_every_record_once_though_killed_at_random_points() {
    let env = seeded(100, 4_000, 5);
    let server = support::postgres::Postgres::start();
    let expected = sandbox_ids(&env, "get_events");
    let mut killed_mid_run = 0;
    for seed in [1u64, 2, 3] {
        let database = format!("seed{seed}");
        query(
            &env,
            &server.url("postgres"),
            &format!("CREATE DATABASE {database}"),
        );
        let url = server.url(&database);
        let args = |url: &'static str| sync_args(url, "", "events,profiles");
        let url: &'static str = Box::leak(url.into_boxed_str());
        for after in kill_points(seed) {
            let child = env
                .command("dev", &args(url))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let state_tables = || {
                query(&env, url, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'klaviyo' AND table_name = '_klaviyo_sync_slices'")[0].get::<_, i64>(0) > 0
            };
            let slices = || {
                query(
                    &env,
                    url,
                    "SELECT count(*) FROM klaviyo._klaviyo_sync_slices WHERE stream = 'events'",
                )[0]
                .get::<_, i64>(0)
            };
            kill_when(child, || state_tables() && slices() >= after as i64);
            let running = query(
                &env,
                url,
                "SELECT count(*) FROM klaviyo._klaviyo_sync_streams WHERE state ? 'run'",
            );
            if running[0].get::<_, i64>(0) > 0 {
                killed_mid_run += 1;
            }
        }
        let (code, stdout, stderr) = env.run("dev", &args(url));
        assert_eq!(code, 0, "seed {seed}: {stderr}");
        let summary: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(summary[0]["stream"], "profiles");
        assert_exactly_once(
            postgres_ids(&env, url, "events"),
            &expected,
            &format!("seed {seed}: events in PostgreSQL"),
        );
        assert_exactly_once(
            postgres_ids(&env, url, "profiles"),
            &sandbox_ids(&env, "get_profiles"),
            &format!("seed {seed}: profiles"),
        );
    }
    assert!(
        killed_mid_run >= 3,
        "only {killed_mid_run} of 6 kills landed inside a run"
    );
    // Tables from the stream schemas: typed columns, JSON as jsonb, id the primary key.
    let url = server.url("seed1");
    let types: Vec<(String, String)> = query(&env, &url, "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'klaviyo' AND table_name = 'events'")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let type_of = |name: &str| {
        types
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.clone())
    };
    assert_eq!(
        type_of("datetime").as_deref(),
        Some("timestamp with time zone")
    );
    assert_eq!(type_of("timestamp").as_deref(), Some("bigint"));
    assert_eq!(type_of("event_properties").as_deref(), Some("jsonb"));
    let sample = query(
        &env,
        &url,
        "SELECT event_properties->>'seed_index', extract(epoch from datetime)::bigint = timestamp FROM klaviyo.events LIMIT 1",
    );
    assert!(sample[0].get::<_, Option<String>>(0).is_some());
    assert!(sample[0].get::<_, bool>(1));
}

#[test]
fn a_state_file_belongs_to_one_destination_and_one_sync_at_a_time() {
    let env = seeded(20, 200, 0);
    let state = env.path("owned.json");
    let first = format!("parquet:{}", env.path("first"));
    let (code, _, stderr) = env.run("dev", &sync_args(&first, &state, "events"));
    assert_eq!(code, 0, "{stderr}");
    // The same state with another folder would skip everything before its bookmark there.
    let other = format!("parquet:{}", env.path("other"));
    let (code, _, stderr) = env.run("dev", &sync_args(&other, &state, "events"));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("belongs to parquet:") && stderr.contains("give that destination"),
        "{stderr}"
    );
    // A new state for a folder that holds a sync would write every record again.
    let (code, _, stderr) = env.run("dev", &sync_args(&first, &env.path("fresh.json"), "events"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("already holds a sync"), "{stderr}");
    // Two syncs with one state file: the second is refused while the first holds the lock.
    let lock = format!("{state}.lock");
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .unwrap();
    {
        use std::os::fd::AsRawFd;
        assert_eq!(
            unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
            0
        );
    }
    let (code, _, stderr) = env.run("dev", &sync_args(&first, &state, "events"));
    assert_ne!(code, 0);
    assert!(
        stderr.contains("another sync with this state file is running"),
        "{stderr}"
    );
    drop(held);
    let (code, _, stderr) = env.run("dev", &sync_args(&first, &state, "events"));
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_rust_export_is_a_stream_of_record_batches_with_every_record_once() {
    use futures_util::StreamExt;
    use klaviyo_bridge::sync::ExportOptions;
    let env = seeded(40, 900, 0);
    let client = client(&env);
    env.runtime.block_on(async {
        let options = ExportOptions {
            safety_margin: Some(Duration::ZERO),
            concurrency: Some(3),
            ..ExportOptions::default()
        };
        let mut export = client.export("events", options).unwrap();
        let schema = export.schema();
        assert_eq!(
            schema.field_with_name("datetime").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        let mut ids = BTreeSet::new();
        let mut rows = 0;
        while let Some(batch) = export.next().await {
            let batch = batch.unwrap();
            assert_eq!(batch.schema(), schema);
            let column = batch.column_by_name("id").unwrap();
            let strings = column.as_any().downcast_ref::<StringArray>().unwrap();
            rows += strings.len();
            ids.extend(strings.iter().flatten().map(str::to_string));
        }
        assert_eq!((rows, ids.len()), (900, 900));
        assert!(export.bookmark().is_some_and(|b| b.ends_with('Z')));
        // An unknown stream is refused before anything is read.
        let refused = client
            .export("eventz", ExportOptions::default())
            .unwrap_err();
        assert!(refused.to_string().contains("streams are"), "{refused}");
    });
}

#[test]
fn child_streams_are_read_under_each_parent_and_memberships_are_keyed_by_both_ids() {
    let env = seeded(20, 0, 0);
    let client = client(&env);
    let profiles: Vec<String> = sandbox_ids(&env, "get_profiles").into_iter().collect();
    let ids: Vec<&str> = profiles.iter().map(String::as_str).collect();
    // Two lists sharing two profiles: the memberships are the pairs, a shared profile twice.
    let (a, b) = env.runtime.block_on(async {
        let a = client.lists().create("A").await.unwrap();
        let b = client.lists().create("B").await.unwrap();
        let (a, b) = (a.id().unwrap().to_string(), b.id().unwrap().to_string());
        client.lists().add_profiles(&a, &ids[0..6]).await.unwrap();
        client.lists().add_profiles(&b, &ids[4..10]).await.unwrap();
        (a, b)
    });
    // A segment of the members of either list but B's first two: its members are evaluated
    // from its definition, as Klaviyo's are.
    let segment = env.runtime.block_on(async {
        let in_a_or_b = json!({"type": "profile-group-membership", "is_member": true, "group_ids": [a, b]});
        let not_in_a = json!({"type": "profile-group-membership", "is_member": false, "group_ids": [a]});
        let definition = json!({"condition_groups": [{"conditions": [in_a_or_b]}, {"conditions": [not_in_a]}]});
        let body = json!({"data": {"type": "segment", "attributes": {"name": "B only", "definition": definition}}});
        let created = client.request("create_segment", &[], &[], Some(body)).await.unwrap();
        created.raw()["data"]["id"].as_str().unwrap().to_string()
    });
    env.settle();
    let mut expected: BTreeSet<(String, String)> = BTreeSet::new();
    expected.extend(ids[0..6].iter().map(|p| (a.clone(), p.to_string())));
    expected.extend(ids[4..10].iter().map(|p| (b.clone(), p.to_string())));
    assert_eq!(expected.len(), 12);

    let out = env.path("children");
    let state = env.path("children.json");
    let destination = format!("jsonl:{out}");
    let streams = "list_memberships,segment_memberships,coupon_codes,campaign_messages";
    let (code, _, stderr) = env.run("dev", &sync_args(&destination, &state, streams));
    assert_eq!(code, 0, "{stderr}");
    let pairs_in = |stream: &str, parent: &str| -> BTreeSet<(String, String)> {
        jsonl_rows(&out, stream)
            .iter()
            .map(|row| {
                (
                    row[parent].as_str().unwrap().to_string(),
                    row["id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(pairs_in("list_memberships", "list_id"), expected);
    let in_segment: BTreeSet<(String, String)> = ids[6..10]
        .iter()
        .map(|p| (segment.clone(), p.to_string()))
        .collect();
    assert_eq!(pairs_in("segment_memberships", "segment_id"), in_segment);

    // PostgreSQL keys a membership by both ids; a second sync after a removal drops that row.
    let server = support::postgres::Postgres::start();
    let url = server.url("postgres");
    let pairs = |env: &Env| -> BTreeSet<(String, String)> {
        query(
            env,
            &url,
            "SELECT list_id, id FROM klaviyo.list_memberships",
        )
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    };
    let (code, _, stderr) = env.run("dev", &sync_args(&url, "", "list_memberships"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(pairs(&env), expected);
    env.runtime
        .block_on(client.lists().remove_profiles(&a, &ids[0..1]))
        .unwrap();
    expected.remove(&(a.clone(), ids[0].to_string()));
    let (code, _, stderr) = env.run("dev", &sync_args(&url, "", "list_memberships"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(pairs(&env), expected);
    let key: Vec<String> = query(
        &env,
        &url,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'klaviyo.list_memberships'::regclass AND i.indisprimary ORDER BY a.attname",
    )
    .iter()
    .map(|r| r.get(0))
    .collect();
    assert_eq!(key, ["id", "list_id"]);
}

#[test]
fn daily_metric_aggregates_count_every_event_and_later_syncs_reread_the_lookback_window() {
    let env = seeded(20, 1_200, 0);
    let out = env.path("aggregates");
    let state = env.path("aggregates.json");
    let destination = format!("jsonl:{out}");
    let rows = |out: &str| jsonl_rows(out, "metric_aggregates");
    // From the account's first event (not the 2012 start date): a query per metric and year.
    let before = env.sandbox.requests().len();
    let (code, stdout, stderr) =
        env.run("dev", &sync_args(&destination, &state, "metric_aggregates"));
    let metrics = sandbox_ids(&env, "get_metrics");
    let first_queries = env.sandbox.requests()[before..]
        .iter()
        .filter(|r| r.operation == Some("query_metric_aggregates"))
        .count();
    assert!(
        first_queries <= 2 * metrics.len(),
        "{first_queries} queries"
    );
    assert_eq!(code, 0, "{stderr}");
    let first = rows(&out);
    let counted: f64 = first.iter().map(|r| r["count"].as_f64().unwrap()).sum();
    assert_eq!(counted, 1_200.0, "every event counted on its UTC day");
    for row in &first {
        let id = row["id"].as_str().unwrap();
        let day = row["date"].as_str().unwrap();
        assert!(
            day.ends_with("T00:00:00.000000Z"),
            "{day}: days start at UTC midnight"
        );
        assert_eq!(
            id,
            format!("{}:{}", row["metric_id"].as_str().unwrap(), &day[..10])
        );
        assert!(metrics.contains(row["metric_id"].as_str().unwrap()));
    }
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        summary[0]["bookmark"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00.000000Z")
    );

    // The next sync re-reads the last 3 days of each metric: one query per metric.
    let before = env.sandbox.requests().len();
    let mut args = sync_args(&destination, &state, "metric_aggregates");
    args.extend(["--lookback-days", "3"]);
    let (code, _, stderr) = env.run("dev", &args);
    assert_eq!(code, 0, "{stderr}");
    let again = rows(&out).len() - first.len();
    assert_eq!(again, metrics.len() * 3);
    let queries = env.sandbox.requests()[before..]
        .iter()
        .filter(|r| r.operation == Some("query_metric_aggregates"))
        .count();
    assert_eq!(queries, metrics.len());
}

/// Every row of a stream's JSONL parts.
fn jsonl_rows(dir: &str, stream: &str) -> Vec<Value> {
    parts(Path::new(dir), stream, "jsonl")
        .into_iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

#[test]
fn campaign_and_flow_reports_give_each_messages_figures_and_later_syncs_reread_the_lookback() {
    use klaviyo_bridge::sync::state::StateFile;
    use klaviyo_bridge::sync::{AccountSync, FileDestination, FileFormat, SyncOptions};
    let env = env_with_options(Options {
        rate_limits: RateLimits::Off,
        seed_data: Some("demo".into()),
        ..Options::default()
    });
    let client = client(&env);
    let (out, state) = (env.path("reports"), env.path("reports.json"));
    let streams = ["campaign_values", "flow_values", "flow_series"];
    let sync = |lookback_days: u64, streams: &[&str]| {
        let destination = FileDestination::new(&out, FileFormat::Jsonl, StateFile::new(&state));
        let options = SyncOptions {
            streams: streams.iter().map(|s| s.to_string()).collect(),
            safety_margin: Duration::ZERO,
            lookback: Duration::from_secs(lookback_days * 86_400),
            ..SyncOptions::default()
        };
        let before = env.sandbox.requests().len();
        env.runtime.block_on(async {
            AccountSync::new(&client, &destination, options)
                .unwrap()
                .run(&|_| {})
                .await
                .unwrap()
        });
        let queries = |operation: &str| {
            let log = &env.sandbox.requests()[before..];
            assert!(
                log.iter().all(|r| r.status == 200),
                "every report query is within the spec's limits"
            );
            log.iter()
                .filter(|r| r.operation == Some(operation))
                .count()
        };
        (
            queries("query_campaign_values"),
            queries("query_flow_values"),
            queries("query_flow_series"),
        )
    };
    let query = |operation: &str, kind: &str, grouping: &str, start: &str, end: &str| {
        let placed = env.runtime.block_on(async {
            let metrics = client.request("get_metrics", &[], &[], None).await.unwrap();
            metrics.raw()["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["attributes"]["name"] == "Placed Order")
                .unwrap()["id"]
                .clone()
        });
        let body = serde_json::json!({"data": {"type": kind, "attributes": {
            "statistics": ["recipients", "opens_unique", "conversions", "conversion_value"],
            "timeframe": {"start": start, "end": end}, "conversion_metric_id": placed}}});
        let answer = env.runtime.block_on(async {
            client
                .request(operation, &[], &[], Some(body))
                .await
                .unwrap()
                .raw()
                .clone()
        });
        answer["data"]["attributes"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let id = r["groupings"][grouping].as_str().unwrap().to_string();
                (id, r["statistics"].clone())
            })
            .collect::<std::collections::BTreeMap<String, Value>>()
    };

    // The demo's two sent campaigns (a draft is not reported), sent 30 days apart: each
    // 30-day span of sends is one query.
    let (campaign_queries, flow_value_queries, flow_series_queries) = sync(7, &streams);
    assert!((1..=2).contains(&campaign_queries), "{campaign_queries}");
    assert_eq!(flow_value_queries, 1);
    let campaigns = jsonl_rows(&out, "campaign_values");
    let expected = query(
        "query_campaign_values",
        "campaign-values-report",
        "campaign_message_id",
        "2025-01-01T00:00:00Z",
        "2026-01-01T00:00:00Z",
    );
    assert_eq!(campaigns.len(), 2, "{campaigns:?}");
    let mut conversions = 0.0;
    for row in &campaigns {
        let message = row["campaign_message_id"].as_str().unwrap();
        assert_eq!(row["id"], format!("{message}:email"));
        for statistic in [
            "recipients",
            "opens_unique",
            "conversions",
            "conversion_value",
        ] {
            assert_eq!(
                row[statistic].as_f64(),
                expected[message][statistic].as_f64(),
                "{message} {statistic}"
            );
        }
        assert!(row["recipients"].as_f64().unwrap() > 0.0);
        conversions += row["conversions"].as_f64().unwrap();
        let campaign = env.runtime.block_on(async {
            client
                .request(
                    "get_campaign",
                    &[("id", row["campaign_id"].as_str().unwrap())],
                    &[],
                    None,
                )
                .await
                .unwrap()
                .raw()
                .clone()
        });
        assert_eq!(campaign["data"]["attributes"]["status"], "Sent");
    }
    assert!(
        conversions > 0.0,
        "orders attributed to the campaigns are counted"
    );

    // The daily series adds up, message by message, to the values over the same days; each
    // query covers at most 60 days (the sandbox refuses more, as Klaviyo does).
    assert!(flow_series_queries >= 2, "{flow_series_queries}");
    let series = jsonl_rows(&out, "flow_series");
    let ids: BTreeSet<&str> = series.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), series.len(), "a flow message's day is one row");
    let first_day = series
        .iter()
        .map(|r| r["date"].as_str().unwrap())
        .min()
        .unwrap();
    let totals = query(
        "query_flow_values",
        "flow-values-report",
        "flow_message_id",
        &first_day[..19].replace(".000000Z", "Z"),
        "2026-01-01T00:00:00Z",
    );
    assert!(!totals.is_empty());
    for (message, figures) in &totals {
        let days: Vec<&Value> = series
            .iter()
            .filter(|r| r["flow_message_id"] == message.as_str())
            .collect();
        for row in &days {
            let day = row["date"].as_str().unwrap();
            assert!(day.ends_with("T00:00:00.000000Z"), "{day}");
            assert_eq!(row["id"], format!("{message}:email:{}", &day[..10]));
        }
        let sum: f64 = days.iter().map(|r| r["recipients"].as_f64().unwrap()).sum();
        assert_eq!(Some(sum), figures["recipients"].as_f64(), "{message}");
        assert!(sum > 0.0);
    }
    // Flow values: the year up to the sync's last whole day, as the report itself gives it.
    let values = jsonl_rows(&out, "flow_values");
    assert_eq!(values.len(), totals.len());
    let (start, end) = (
        values[0]["timeframe_start"].as_str().unwrap(),
        values[0]["timeframe_end"].as_str().unwrap(),
    );
    let year = query(
        "query_flow_values",
        "flow-values-report",
        "flow_message_id",
        &start.replace(".000000Z", "Z"),
        &end.replace(".000000Z", "Z"),
    );
    for row in &values {
        let message = row["flow_message_id"].as_str().unwrap();
        assert_eq!(
            row["recipients"].as_f64(),
            year[message]["recipients"].as_f64()
        );
    }

    // The next sync re-reads 3 days: no campaign was sent in them, the series is one query
    // of 3 days per message, and the flow values are one query again, replacing the last.
    let (campaign_queries, flow_value_queries, flow_series_queries) = sync(3, &streams);
    assert_eq!(
        (campaign_queries, flow_value_queries, flow_series_queries),
        (0, 1, 1)
    );
    assert_eq!(jsonl_rows(&out, "campaign_values").len(), 2);
    assert_eq!(jsonl_rows(&out, "flow_values").len(), totals.len());
    assert_eq!(
        jsonl_rows(&out, "flow_series").len() - series.len(),
        3 * totals.len()
    );
}

#[test]
fn a_message_report_without_a_conversion_metric_says_how_to_give_one() {
    use klaviyo_bridge::sync::ExportOptions;
    // An account with no "Placed Order" metric.
    let env = seeded(5, 0, 0);
    let client = client(&env);
    env.runtime.block_on(async {
        let mut export = client
            .export("campaign_values", ExportOptions::default())
            .unwrap();
        use futures_util::StreamExt;
        let error = export.next().await.unwrap().unwrap_err();
        assert!(error.to_string().contains("--conversion-metric"), "{error}");
    });
    // A whole-account sync goes on without the message reports.
    let out = env.path("all");
    let state = env.path("all.json");
    let destination = format!("jsonl:{out}");
    let args = [
        "--tool",
        "sync",
        "--destination",
        &destination,
        "--state",
        &state,
        "--safety-margin",
        "0",
        "--format",
        "json",
    ];
    let (code, stdout, stderr) = env.run("dev", &args);
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    let profiles = summary
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream"] == "profiles")
        .unwrap();
    assert_eq!(profiles["records"], 5);
    assert!(
        stderr.contains("campaign_values counts conversions"),
        "{stderr}"
    );
}

#[test]
fn whole_resources_are_written_for_named_streams_and_refused_for_reports() {
    use klaviyo_bridge::sync::state::StateFile;
    use klaviyo_bridge::sync::{AccountSync, FileDestination, FileFormat, SyncOptions};
    let env = env_with_options(Options {
        rate_limits: RateLimits::Off,
        seed_data: Some("demo".into()),
        ..Options::default()
    });
    let client = client(&env);
    let out = env.path("whole");
    let destination = FileDestination::new(
        &out,
        FileFormat::Jsonl,
        StateFile::new(env.path("whole.json")),
    );
    let whole = |streams: &[&str]| SyncOptions {
        streams: streams.iter().map(|s| s.to_string()).collect(),
        whole_resources: true,
        until: Some(std::time::SystemTime::now() + Duration::from_secs(1)),
        ..SyncOptions::default()
    };
    for (streams, says) in [
        (&["flow_series"][..], "is a report"),
        (&[][..], "streams named"),
    ] {
        let refused = AccountSync::new(&client, &destination, whole(streams)).err();
        assert!(
            refused.is_some_and(|e| e.to_string().contains(says)),
            "{streams:?}"
        );
    }
    // `until` ends the window at once, no safety margin: a list made just now is read, whole.
    let (code, _, err) = env.run("client", &["--action", "create-list", "--name", "Just now"]);
    assert_eq!(code, 0, "{err}");
    env.runtime.block_on(async {
        AccountSync::new(&client, &destination, whole(&["lists"]))
            .unwrap()
            .run(&|_| {})
            .await
            .unwrap()
    });
    let records = jsonl_rows(&out, "lists");
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["resource"]["attributes"]["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Just now"), "{names:?}");
    assert!(records.iter().all(|r| r["resource"]["type"] == "list"));
}
