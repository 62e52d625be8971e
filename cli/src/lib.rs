//! The reference tools, built once: `klaviyo-client --action …` and `klaviyo-dev-tools --tool …`.
//!
//! [`tools`] and [`dev_tools`] are functions that return data; [`run`] parses flags with the
//! one parser ([`args`]) and prints with the one formatter ([`output`]). The Rust binaries, the
//! Python console scripts and the npm bins all call [`run`], so their output is identical.

pub mod args;
pub mod dev_tools;
pub mod export;
pub mod import_csv;
pub mod interrupt;
pub mod json_input;
pub mod output;
pub mod partial_file;
pub mod staged_export;
pub mod tools;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use clap::Parser;
use klaviyo_bridge::{Binding, Client, ClientBuilder, Error};
use serde_json::{Map, Value, json};

use crate::args::{Action, ClientArgs, Common, DevArgs, Tool};
use crate::output::{Format, Output};
use klaviyo_bridge::profiles::ProfileRef;

/// Which program to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Program {
    /// `klaviyo-client`
    Client,
    /// `klaviyo-dev-tools`
    DevTools,
}

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: the API, a check or the input data failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the reader of stdout went away (`| head`), as a shell reports SIGPIPE. Nothing
/// is printed: a closed pipe is how the reader says it has enough.
pub const EXIT_CLOSED_PIPE: i32 = 141;

/// Stdout that remembers whether its reader went away.
struct WatchedOutput<'a> {
    inner: &'a mut dyn Write,
    closed: bool,
}

impl WatchedOutput<'_> {
    fn watch<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result
            && e.kind() == std::io::ErrorKind::BrokenPipe
        {
            self.closed = true;
        }
        result
    }
}

impl Write for WatchedOutput<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.watch(result)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.watch(result)
    }
}

/// A failure with the exit code it maps to.
struct Failure {
    code: i32,
    message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match e {
            Error::Config(_) | Error::InvalidInput(_) => EXIT_USAGE,
            _ => EXIT_FAILED,
        };
        let hint = match &e {
            Error::Network { operation, .. } if operation == "test-webhook" => {
                " (is the receiver running, and the URL right?)"
            }
            Error::Network { .. } => " (is the base URL right and reachable?)",
            Error::RateLimited { .. } => " (wait and retry, or lower the request rate)",
            _ => "",
        };
        Failure {
            code,
            message: format!("{e}{hint}"),
        }
    }
}

/// An API call or a check that failed (exit 1), as opposed to a usage error (exit 2).
fn failed(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_FAILED,
        message: message.into(),
    }
}

/// Destructive actions: asked on a terminal, `--yes` otherwise.
fn confirm_deletion(who: &ProfileRef, yes: bool) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    let what = tools::describe(who);
    if !std::io::stdin().is_terminal() {
        return Err(usage(format!(
            "delete-profile deletes {what} and all its data for good: add --yes to confirm"
        )));
    }
    eprint!("Delete {what} and all its data for good? [y/N] ");
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        Err(usage("not confirmed; nothing was deleted"))
    }
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: EXIT_USAGE,
        message: message.into(),
    }
}

fn io(e: std::io::Error) -> Failure {
    Failure {
        code: EXIT_FAILED,
        message: format!("cannot write the output: {e}"),
    }
}

/// Runs a program with `argv` (program name first), writing to the process's stdout and
/// stderr; returns the exit code. `binding` names the door for the `User-Agent`.
pub fn run(program: Program, argv: Vec<OsString>, binding: Binding) -> i32 {
    if let Some(width) = output::terminal_width() {
        output::wrap_tables_to(width);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = run_with(program, argv, binding, &mut out);
    let _ = out.flush();
    code
}

/// [`run`] with stdout given, for callers that capture it.
pub fn run_with(
    program: Program,
    argv: Vec<OsString>,
    binding: Binding,
    out: &mut dyn Write,
) -> i32 {
    let mut watched = WatchedOutput {
        inner: out,
        closed: false,
    };
    let code = run_watched(program, argv, binding, &mut watched);
    let flushed = watched.flush();
    if watched.closed || flushed.is_err_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) {
        return EXIT_CLOSED_PIPE;
    }
    code
}

fn run_watched(
    program: Program,
    argv: Vec<OsString>,
    binding: Binding,
    out: &mut WatchedOutput<'_>,
) -> i32 {
    let parsed = match program {
        Program::Client => ClientArgs::try_parse_from(argv).map(|a| Parsed::Client(Box::new(a))),
        Program::DevTools => DevArgs::try_parse_from(argv).map(|a| Parsed::Dev(Box::new(a))),
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(e) => {
            // --help and --version are not errors.
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let text = e.render().to_string();
            if e.use_stderr() {
                eprint!("{text}");
            } else {
                let _ = out.write_all(text.as_bytes());
            }
            return code;
        }
    };
    let common = match &parsed {
        Parsed::Client(a) => a.common.clone(),
        Parsed::Dev(a) => a.common.clone(),
    };
    // --verbose: the request log. Otherwise only the warnings a user must see (a shared
    // rate-limit store lost and found again, a sync's stream skipped).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(if common.verbose {
            "klaviyo_bridge=debug,klaviyo_cli=debug"
        } else {
            "klaviyo_bridge::redis_store=warn,klaviyo_bridge::sync=warn"
        })
        .with_writer(std::io::stderr)
        // Plain text: the crate's `ansi` feature is off (colours asked for without it panic
        // in debug builds and print an error in release ones, on every terminal run).
        .with_ansi(false)
        .try_init();
    let runtime = klaviyo_bridge::blocking::runtime();
    let result = runtime.block_on(async {
        match parsed {
            Parsed::Client(args) => run_client(*args, binding, out).await,
            Parsed::Dev(args) => run_dev(*args, binding, out).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(_) if out.closed => EXIT_CLOSED_PIPE,
        Err(failure) => {
            let name = match program {
                Program::Client => "klaviyo-client",
                Program::DevTools => "klaviyo-dev-tools",
            };
            eprintln!("{name}: error: {}", failure.message);
            failure.code
        }
    }
}

// Boxed: a command line's flags are hundreds of bytes.
enum Parsed {
    Client(Box<ClientArgs>),
    Dev(Box<DevArgs>),
}

/// Retries per request for the command lines. A tool run is one job a person or cron waits
/// for, where the library's default of 3 is tuned for calls inside an application: under a
/// 10% fault rate, 3 retries lose about one call in 10,000, 6 about one in 10 million.
pub const CLI_MAX_RETRIES: u32 = 6;

fn client(common: &Common, binding: Binding) -> Result<Client, Failure> {
    client_with_retries(common, binding, CLI_MAX_RETRIES)
}

/// health-check answers quickly instead: it reports failures rather than riding them out.
fn probe_client(common: &Common, binding: Binding) -> Result<Client, Failure> {
    let retries = klaviyo_bridge::retry::RetryPolicy::default().max_retries;
    client_with_retries(common, binding, retries)
}

/// `retries` is the tool's default; `--max-retries` wins over it.
fn client_with_retries(common: &Common, binding: Binding, retries: u32) -> Result<Client, Failure> {
    let mut builder = ClientBuilder::from_env()
        .binding(binding)
        .max_retries(common.max_retries.unwrap_or(retries));
    if let Some(key) = &common.api_key {
        builder = builder.api_key(key);
    }
    if let Some(url) = &common.base_url {
        builder = builder.base_url(url);
    }
    if let Some(revision) = &common.revision {
        builder = builder.revision(revision);
    }
    Ok(builder.build()?)
}

/// Parses `--properties` as a JSON object.
fn properties(text: Option<&str>) -> Result<Map<String, Value>, Failure> {
    let Some(arg) = text else {
        return Ok(Map::new());
    };
    let text = json_input::source(arg, &mut std::io::stdin()).map_err(usage)?;
    json_input::object(&text).map_err(usage)
}

fn require_identity(a: &ClientArgs, action: &str, allow_id: bool) -> Result<ProfileRef, Failure> {
    let who = ProfileRef {
        id: a.profile_id.clone(),
        email: a.email.clone(),
        phone_number: a.phone_number.clone(),
        external_id: a.external_id.clone(),
    };
    let given = [&who.email, &who.phone_number, &who.external_id]
        .iter()
        .filter(|v| v.is_some())
        .count()
        + usize::from(allow_id && who.id.is_some());
    if given == 0 {
        let id = if allow_id { ", --profile-id" } else { "" };
        return Err(usage(format!(
            "--action {action} needs --email, --phone-number or --external-id{id}"
        )));
    }
    Ok(who)
}

fn record<T: serde::Serialize>(value: &T) -> Output {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Output::Record(map),
        _ => Output::Record(Map::new()),
    }
}

/// Runs an atomic export to `path` and turns its stop into the message and exit code a person
/// needs: what is kept where, and how to continue.
async fn export_file(
    client: &Client,
    spec: export::ExportSpec,
    path: &std::path::Path,
    resume: bool,
    concurrency: Option<usize>,
    common: &Common,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<export::FileExport, Failure> {
    let untouched = if path.exists() {
        format!("; {} is untouched", path.display())
    } else {
        String::new()
    };
    match export::export_to_file(client, spec, path, resume, concurrency, progress).await {
        Ok(done) => {
            if !common.quiet {
                if resume && done.resumed_after.is_none() {
                    eprintln!(
                        "note: no interrupted export onto {} to resume; exported from the start",
                        path.display()
                    );
                } else if let Some(rows) = done.resumed_after {
                    eprintln!("note: resumed after {rows} rows");
                }
            }
            Ok(done)
        }
        Err(export::ExportStopped::Refused(message)) => Err(usage(message)),
        Err(export::ExportStopped::Failed {
            cause,
            rows,
            partial,
        }) => {
            let mut failure = Failure::from(cause);
            failure.message = match partial {
                Some(partial) => format!(
                    "export stopped after {rows} rows: {}{untouched}; the rows so far are in {}; \
                     run the same command with --resume to continue",
                    failure.message,
                    partial.display()
                ),
                None => format!("export failed: {}{untouched}", failure.message),
            };
            Err(failure)
        }
        Err(export::ExportStopped::Interrupted {
            signal,
            rows,
            partial,
        }) => Err(Failure {
            code: signal.exit_code(),
            message: format!(
                "export interrupted by {} after {rows} rows{untouched}; the rows so far are in {}; \
                 run the same command with --resume to continue",
                signal.name(),
                partial.display()
            ),
        }),
    }
}

/// `--tool sync`: the account's streams to files or PostgreSQL, with a summary per stream.
async fn sync_warehouse(
    a: &DevArgs,
    binding: Binding,
    format: Format,
    out: &mut dyn Write,
) -> Result<i32, Failure> {
    use klaviyo_bridge::sync::state::StateFile;
    use klaviyo_bridge::sync::{
        AccountSync, Destination, FileDestination, FileFormat, PostgresDestination,
    };
    if a.singer {
        return singer_tap(a, binding).await;
    }
    let destination = a.destination.as_deref().ok_or_else(|| {
        usage("--tool sync needs --destination parquet:DIR, jsonl:DIR, csv:DIR or postgres://…")
    })?;
    let target: Box<dyn Destination> = if destination.starts_with("postgres://")
        || destination.starts_with("postgresql://")
    {
        // The state is kept in the database, committed with the rows it covers.
        if a.state.is_some() {
            return Err(usage(
                "--state is for file destinations: a PostgreSQL destination keeps its state in its own tables",
            ));
        }
        Box::new(PostgresDestination::new(destination, "klaviyo")?)
    } else {
        let (kind, place) = destination.split_once(':').ok_or_else(|| {
            usage(format!(
                "--destination {destination:?}: give KIND:WHERE, e.g. parquet:warehouse"
            ))
        })?;
        let file_format = match kind {
            "parquet" => FileFormat::Parquet,
            "jsonl" => FileFormat::Jsonl,
            "csv" => FileFormat::Csv,
            other => {
                return Err(usage(format!(
                    "--destination {other}: destinations are parquet:DIR, jsonl:DIR, csv:DIR and postgres://…"
                )));
            }
        };
        let state = a.state.clone().ok_or_else(|| {
            usage("--tool sync needs --state FILE (where its bookmarks are kept)")
        })?;
        Box::new(FileDestination::new(
            place,
            file_format,
            StateFile::new(state),
        ))
    };
    let options = sync_options(a)?;
    let client = client(&a.common, binding)?;
    let sync = AccountSync::new(&client, target.as_ref(), options)?;
    let show = warehouse_progress(&a.common);
    let summaries = sync.run(&show).await?;
    render_summaries(&summaries, format, out)?;
    Ok(EXIT_OK)
}

/// On a terminal, a line per stream: its records and slices as they finish, the finished
/// streams' lines kept above the running one.
fn warehouse_progress(common: &Common) -> impl Fn(&klaviyo_bridge::sync::Progress) + Sync {
    let bar = (!common.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar
    });
    let last = std::sync::Mutex::new(None::<String>);
    move |p: &klaviyo_bridge::sync::Progress| {
        let Some(bar) = &bar else { return };
        let line = format!(
            "{:<20} {:>10} records  {:>4}/{} slices",
            p.stream, p.records, p.slices_done, p.slices
        );
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(previous) = last.as_deref()
            && !previous.starts_with(&format!("{:<20} ", p.stream))
        {
            bar.println(previous);
        }
        bar.set_message(line.clone());
        *last = Some(line);
    }
}

/// The sync options the flags give.
fn sync_options(a: &DevArgs) -> Result<klaviyo_bridge::sync::SyncOptions, Failure> {
    let mut options = klaviyo_bridge::sync::SyncOptions::default();
    if let Some(streams) = &a.streams {
        options.streams = streams
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
    }
    if let Some(start) = &a.start_date {
        options.start = klaviyo_bridge::time::parse_iso8601(start).ok_or_else(|| {
            usage(format!(
                "--start-date {start:?} is not an ISO 8601 time such as 2025-01-01T00:00:00Z"
            ))
        })?;
    }
    if let Some(margin) = a.safety_margin {
        options.safety_margin = std::time::Duration::from_secs(margin);
    }
    if let Some(days) = a.lookback_days {
        options.lookback = std::time::Duration::from_secs(days.saturating_mul(86_400));
    }
    if let Some(hours) = a.events_lookback_hours {
        options.events_lookback = std::time::Duration::from_secs(hours.saturating_mul(3_600));
    }
    if let Some(n) = a.concurrency {
        options = options.with_concurrency(n);
    }
    options.conversion_metric = a.conversion_metric.clone();
    Ok(options)
}

fn render_summaries(
    summaries: &[klaviyo_bridge::sync::StreamSummary],
    format: Format,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let rows: Vec<Map<String, Value>> = summaries
        .iter()
        .map(|s| match serde_json::to_value(s) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        })
        .collect();
    let columns = ["stream", "records", "requests", "bookmark"]
        .map(String::from)
        .to_vec();
    Output::Rows { columns, rows }
        .render(format, out)
        .map_err(io)
}

fn read_json(path: &std::path::Path, what: &str) -> Result<Value, Failure> {
    let bytes =
        std::fs::read(path).map_err(|e| usage(format!("{what} {}: {e}", path.display())))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| usage(format!("{what} {} is not JSON: {e}", path.display())))
}

/// `--tool sync --singer`: a Singer tap. Messages on stdout; the summary on stderr.
async fn singer_tap(a: &DevArgs, binding: Binding) -> Result<i32, Failure> {
    use klaviyo_bridge::sync::{AccountSync, SingerOutput, singer};
    let mut stdout = std::io::stdout();
    if a.discover {
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&singer::catalog()).unwrap_or_default()
        )
        .map_err(io)?;
        return Ok(EXIT_OK);
    }
    let mut common = a.common.clone();
    let mut options = sync_options(a)?;
    if let Some(path) = &a.config {
        let config = read_json(path, "--config")?;
        if let Some(key) = config["api_key"].as_str() {
            common.api_key = Some(key.to_string());
        }
        if let Some(url) = config["base_url"].as_str() {
            common.base_url = Some(url.to_string());
        }
        if let Some(start) = config["start_date"].as_str() {
            options.start = klaviyo_bridge::time::parse_iso8601(start).ok_or_else(|| {
                usage(format!(
                    "--config start_date {start:?} is not an RFC 3339 time"
                ))
            })?;
        }
        if let Some(metric) = config["conversion_metric_id"].as_str() {
            options.conversion_metric = Some(metric.to_string());
        }
        // A whole number of `unit`s (seconds each), or absent.
        let whole =
            |key: &str, unit: &str, seconds: u64| -> Result<Option<std::time::Duration>, Failure> {
                let Some(value) = config.get(key).filter(|v| !v.is_null()) else {
                    return Ok(None);
                };
                let n = value.as_u64().ok_or_else(|| {
                    usage(format!(
                        "--config {key} {value} is not a whole number of {unit}"
                    ))
                })?;
                Ok(Some(std::time::Duration::from_secs(
                    n.saturating_mul(seconds),
                )))
            };
        if let Some(lookback) = whole("lookback_days", "days", 86_400)? {
            options.lookback = lookback;
        }
        if let Some(lookback) = whole("events_lookback_hours", "hours", 3_600)? {
            options.events_lookback = lookback;
        }
    }
    if let Some(path) = &a.catalog {
        options.streams = singer::selected_streams(&read_json(path, "--catalog")?)?;
        if options.streams.is_empty() {
            return Err(usage(
                "the catalog selects no stream: set \"selected\": true in a stream's metadata",
            ));
        }
    }
    let state = match &a.state {
        Some(path) if path.exists() => Some(read_json(path, "--state")?),
        _ => None,
    };
    let client = client(&common, binding)?;
    let output = SingerOutput::new(Box::new(std::io::stdout()), state)?;
    let sync = AccountSync::new(&client, &output, options)?;
    let summaries = sync.run(&|_| {}).await?;
    if !a.common.quiet {
        render_summaries(&summaries, Format::Table, &mut std::io::stderr())?;
    }
    Ok(EXIT_OK)
}

/// A progress reporter on stderr, only when stderr is a terminal and not `--quiet`.
fn progress(common: &Common, what: &'static str) -> impl Fn(u64) + Sync {
    let bar = (!common.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {pos} {msg} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(what);
        bar
    });
    move |n| {
        if let Some(bar) = &bar {
            bar.set_position(n);
        }
    }
}

async fn run_client(a: ClientArgs, binding: Binding, out: &mut dyn Write) -> Result<i32, Failure> {
    let name = args::typed_value(&a.action);
    let table_or = |default: Format| a.format.unwrap_or(default);
    // Check the flags before touching the network.
    let props = properties(a.properties.as_deref())?;
    let client = client(&a.common, binding)?;
    let (output, format) = match a.action {
        Action::TrackEvent => {
            let event = a
                .event
                .as_deref()
                .ok_or_else(|| usage("--action track-event needs --event NAME"))?;
            let who = require_identity(&a, &name, true)?;
            let tracked = tools::track_event(
                &client,
                &who,
                event,
                props,
                a.value,
                a.unique_id.clone(),
                a.time.clone(),
            )
            .await?;
            (record(&tracked), table_or(Format::Table))
        }
        Action::UpsertProfile => {
            let who = require_identity(&a, &name, false)?;
            (
                Output::Record(tools::upsert_profile(&client, &who, props).await?),
                table_or(Format::Table),
            )
        }
        Action::GetProfile => {
            let who = require_identity(&a, &name, true)?;
            let profile = tools::get_profile(&client, &who)
                .await?
                .ok_or_else(|| failed(tools::no_such_profile(&who)))?;
            (Output::Record(profile), table_or(Format::Table))
        }
        Action::CreateList => {
            let list_name = a
                .name
                .as_deref()
                .ok_or_else(|| usage("--action create-list needs --name NAME"))?;
            (
                Output::Record(tools::create_list(&client, list_name).await?),
                table_or(Format::Table),
            )
        }
        Action::CatalogItems => {
            let (columns, rows) = tools::catalog_items(&client, a.max_pages).await?;
            (Output::Rows { columns, rows }, table_or(Format::Table))
        }
        Action::ListMetrics => {
            let (columns, rows) = tools::list_metrics(&client).await?;
            (Output::Rows { columns, rows }, table_or(Format::Table))
        }
        Action::ListLists => {
            let (columns, rows) = tools::list_lists(&client).await?;
            (Output::Rows { columns, rows }, table_or(Format::Table))
        }
        Action::AddToList => {
            let list = a
                .list_id
                .as_deref()
                .ok_or_else(|| usage("--action add-to-list needs --list-id ID"))?;
            let who = require_identity(&a, &name, true)?;
            let added = tools::add_to_list(&client, list, &who)
                .await?
                .ok_or_else(|| failed(tools::no_such_profile(&who)))?;
            (Output::Record(added), table_or(Format::Table))
        }
        Action::SubscribeProfile => {
            let who = require_identity(&a, &name, false)?;
            if a.sms && who.phone_number.is_none() {
                return Err(usage(
                    "--action subscribe-profile --sms needs --phone-number (E.164, e.g. +15005550006)",
                ));
            }
            (
                Output::Record(
                    tools::subscribe_profile(&client, &who, a.list_id.as_deref(), a.sms).await?,
                ),
                table_or(Format::Table),
            )
        }
        Action::DeleteProfile => {
            let who = require_identity(&a, &name, true)?;
            confirm_deletion(&who, a.yes)?;
            (
                Output::Record(tools::delete_profile(&client, &who).await?),
                table_or(Format::Table),
            )
        }
        Action::ExportProfiles => {
            let format = table_or(Format::Csv);
            if format == Format::Table {
                return Err(usage("export-profiles writes csv, json or jsonl"));
            }
            let spec = export::ExportSpec {
                resource: export::ExportResource::Profiles,
                format,
                max_records: None,
                max_pages: a.max_pages,
            };
            let progress = progress(&a.common, "profiles");
            let Some(path) = a.output.as_deref() else {
                export::export(&client, spec, Box::new(out), &progress).await?;
                return Ok(EXIT_OK);
            };
            let done =
                export_file(&client, spec, path, a.resume, None, &a.common, &progress).await?;
            if !a.common.quiet {
                eprintln!("exported {} profiles to {}", done.rows, path.display());
            }
            return Ok(EXIT_OK);
        }
    };
    output.render(format, out).map_err(io)?;
    Ok(EXIT_OK)
}

async fn run_dev(a: DevArgs, binding: Binding, out: &mut dyn Write) -> Result<i32, Failure> {
    let format = a.format.unwrap_or(Format::Table);
    match a.tool {
        Tool::TestWebhook => {
            let url = a
                .webhook_url
                .as_deref()
                .ok_or_else(|| usage("--tool test-webhook needs --webhook-url URL"))?;
            let timeout = a.timeout.map_or(
                dev_tools::WEBHOOK_TIMEOUT,
                std::time::Duration::from_secs_f64,
            );
            let report = dev_tools::test_webhook(url, a.secret.as_deref(), timeout).await?;
            record(&report).render(format, out).map_err(io)?;
            let problem = match (
                &report.redirect_location,
                report.accepted,
                report.rejected_forged,
            ) {
                (Some(location), _, _) => Some(format!(
                    "the receiver answered {} with a redirect to {location}; Klaviyo does not follow redirects, so register the final URL",
                    report.status
                )),
                (None, false, _) => Some(format!(
                    "the receiver answered {} to a correctly signed delivery; it should answer 2xx",
                    report.status
                )),
                (None, true, Some(false)) => Some(format!(
                    "the receiver answered {} to a wrongly signed copy; it should refuse it with a 4xx",
                    report.forged_status.unwrap_or_default()
                )),
                _ => None,
            };
            return Ok(problem.map_or(EXIT_OK, |p| check_failed(&p)));
        }
        Tool::ImportCsv => {
            let path = a
                .file
                .clone()
                .ok_or_else(|| usage("--tool import-csv needs --file FILE"))?;
            if path.is_dir() {
                return Err(usage(format!(
                    "--file {} is a directory; give the CSV file in it",
                    path.display()
                )));
            }
            if !path.is_file() {
                return Err(usage(format!("--file {} does not exist", path.display())));
            }
            let client = client(&a.common, binding)?;
            let open = || {
                std::fs::File::open(&path)
                    .map(|f| Box::new(std::io::BufReader::new(f)) as Box<dyn std::io::Read>)
            };
            let options = import_csv::ImportOptions {
                list_id: a.list_id.clone(),
                dry_run: a.dry_run,
                skip_invalid: a.skip_invalid,
                rejected_file: Some(
                    a.rejected
                        .clone()
                        .unwrap_or_else(|| import_csv::default_rejected_file(&path)),
                ),
            };
            let report =
                import_csv::import_csv(&client, &open, &options, &progress(&a.common, "rows"))
                    .await?;
            render_import(&report, format, out).map_err(io)?;
            if let Some(file) = &report.rejected_file
                && !a.common.quiet
            {
                eprintln!(
                    "note: {} rows left out are in {file}; fix them there and import that file",
                    report.skipped + report.failed.len() as u64
                );
            }
            if report.invalid_count > 0 && !a.skip_invalid {
                let what = if a.dry_run { "" } else { "; nothing was sent" };
                return Ok(check_failed(&format!(
                    "{} of {} rows are invalid (listed above){what}; fix them, or import the rest with --skip-invalid",
                    report.invalid_count, report.rows
                )));
            }
            if !report.failed.is_empty() {
                return Ok(check_failed(&format!(
                    "Klaviyo rejected {} of the {} rows sent (listed above)",
                    report.failed.len(),
                    report.valid
                )));
            }
            return Ok(EXIT_OK);
        }
        Tool::SyncCatalog => return sync_catalog(&a, binding, format, out).await,
        Tool::Sync => return sync_warehouse(&a, binding, format, out).await,
        _ => {}
    }
    let client = match a.tool {
        Tool::HealthCheck => probe_client(&a.common, binding)?,
        _ => client(&a.common, binding)?,
    };
    match a.tool {
        Tool::HealthCheck => {
            let report = dev_tools::health_check(&client).await;
            let mut fields = match serde_json::to_value(&report) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            };
            fields.remove("scopes");
            if let Some(Value::Object(rate)) = fields.remove("rate_limit") {
                for (k, v) in rate {
                    fields.insert(format!("rate_limit_{k}"), v);
                }
            }
            for scope in &report.scopes {
                fields.insert(format!("scope_{}", scope.family), json!(scope.status));
            }
            Output::Record(fields).render(format, out).map_err(io)?;
            if report.key_valid {
                return Ok(EXIT_OK);
            }
            let why = report.error.as_deref().unwrap_or("no answer");
            Ok(check_failed(&format!(
                "the key check against {} failed: {why}",
                report.base_url
            )))
        }
        Tool::ValidateEvents => {
            let names: Vec<String> = a
                .events
                .as_deref()
                .ok_or_else(|| usage("--tool validate-events needs --events \"A,B\""))?
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect();
            if names.is_empty() {
                return Err(usage("--events lists no names"));
            }
            let checks = dev_tools::validate_events(&client, &names).await?;
            let rows = checks
                .iter()
                .map(|c| {
                    let count = if c.events_30d >= dev_tools::COUNT_CAP { format!("{}+", c.events_30d) } else { c.events_30d.to_string() };
                    json!({"event": c.event, "exists": c.exists, "metric_id": c.metric_id, "events_30d": count, "sample_properties": c.sample_properties.join(", ")}).as_object().cloned().unwrap_or_default()
                })
                .collect();
            let columns = [
                "event",
                "exists",
                "metric_id",
                "events_30d",
                "sample_properties",
            ]
            .map(String::from)
            .to_vec();
            Output::Rows { columns, rows }
                .render(format, out)
                .map_err(io)?;
            let missing: Vec<&str> = checks
                .iter()
                .filter(|c| !c.exists)
                .map(|c| c.event.as_str())
                .collect();
            if missing.is_empty() {
                return Ok(EXIT_OK);
            }
            Ok(check_failed(&format!(
                "no metric named {} exists (a metric appears with its first event; check the spelling and case)",
                missing
                    .iter()
                    .map(|m| format!("{m:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        Tool::ExportData => {
            let resource = a.resource.ok_or_else(|| usage("--tool export-data needs --resource profiles|events|metrics|lists|catalog-items"))?;
            let path = a
                .output
                .clone()
                .ok_or_else(|| usage("--tool export-data needs --output FILE"))?;
            let format = a.format.unwrap_or(Format::Csv);
            if format == Format::Table {
                return Err(usage("export-data writes csv, json or jsonl"));
            }
            let spec = export::ExportSpec {
                resource,
                format,
                max_records: a.max_records,
                max_pages: None,
            };
            let progress = progress(&a.common, "records");
            let done = export_file(
                &client,
                spec,
                &path,
                a.resume,
                a.concurrency,
                &a.common,
                &progress,
            )
            .await?;
            let summary = export::ExportSummary {
                resource: args::typed_value(&resource),
                rows: done.rows as usize,
                output: path.display().to_string(),
            };
            record(&summary).render(Format::Table, out).map_err(io)?;
            Ok(EXIT_OK)
        }
        Tool::TestWebhook | Tool::ImportCsv | Tool::SyncCatalog | Tool::Sync => {
            unreachable!("handled above")
        }
    }
}

/// `--tool sync-catalog`: flags to [`SyncOptions`], the core's sync, its report rendered. A
/// refused plan, a held lock or a bad feed is a check that failed (exit 1), listed on stderr.
async fn sync_catalog(
    a: &DevArgs,
    binding: Binding,
    format: Format,
    out: &mut dyn Write,
) -> Result<i32, Failure> {
    use klaviyo_bridge::catalog_sync::{self, Feed, FeedFormat, FeedMapping, SyncOptions};
    if a.feed.is_none() && a.apply_plan.is_none() {
        return Err(usage(
            "--tool sync-catalog needs --feed FILE (or --apply-plan FILE from a dry run)",
        ));
    }
    if let Some(path) = a.feed.as_ref().filter(|p| !p.is_file()) {
        return Err(usage(format!("--feed {} is not a file", path.display())));
    }
    let mapping = a
        .mapping
        .as_deref()
        .map(FeedMapping::parse)
        .transpose()?
        .unwrap_or_default();
    let feed_format = a
        .feed_format
        .as_deref()
        .map(FeedFormat::parse)
        .transpose()?;
    let plan = a
        .apply_plan
        .as_deref()
        .map(catalog_sync::read_plan)
        .transpose()?;
    let client = client(&a.common, binding)?;
    let options = SyncOptions {
        mapping,
        delete_missing: a.delete_missing,
        dry_run: a.dry_run,
        skip_invalid: a.skip_invalid,
        force: a.force,
        max_delete_share: a
            .max_delete_share
            .unwrap_or(SyncOptions::default().max_delete_share),
        plan_out: a.plan_out.clone(),
        progress: sync_progress(&a.common),
        ..SyncOptions::default()
    };
    let result = match (plan, &a.feed) {
        (Some(plan), _) => client.catalogs().apply_plan(plan, options).await,
        (None, Some(path)) => {
            let feed = Feed::File {
                path: path.clone(),
                format: feed_format,
            };
            client.catalogs().sync(feed, options).await
        }
        (None, None) => unreachable!("checked above"),
    };
    let report = match result {
        Ok(report) => report,
        Err(Error::BulkPartial {
            failures, total, ..
        }) => {
            for failure in &failures {
                eprintln!("{}", failure.reason);
            }
            return Ok(check_failed(&format!(
                "{} problems in the feed's {total} records (listed above); nothing was sent; fix \
                 them, or sync the rest with --skip-invalid",
                failures.len()
            )));
        }
        Err(Error::InvalidInput(message)) => return Ok(check_failed(&message)),
        Err(e) => return Err(e.into()),
    };
    if format == Format::Json || format == Format::Jsonl {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        writeln!(out, "{text}").map_err(io)?;
    } else {
        let mut fields = Map::new();
        fields.insert("dry_run".into(), json!(report.dry_run));
        fields.insert("records".into(), json!(report.records));
        fields.insert("skipped".into(), json!(report.skipped.len()));
        let plan = serde_json::to_value(report.plan).unwrap_or_default();
        for kind in ["categories", "items", "variants"] {
            for (action, count) in plan[kind].as_object().into_iter().flatten() {
                fields.insert(format!("{kind}_{action}"), count.clone());
            }
        }
        for (name, value) in [
            ("created", report.created),
            ("updated", report.updated),
            ("deleted", report.deleted),
            ("unchanged", report.unchanged),
            ("failed", report.failed.len()),
            ("jobs", report.jobs),
            ("writes", report.writes),
            ("reads", report.reads),
        ] {
            fields.insert(name.into(), json!(value));
        }
        if let Some(file) = &report.plan_file {
            fields.insert("plan_file".into(), json!(file));
        }
        Output::Record(fields).render(format, out).map_err(io)?;
    }
    for skipped in &report.skipped {
        eprintln!(
            "left out: {}{}: {}",
            skipped.location,
            skipped
                .external_id
                .as_deref()
                .map(|id| format!(" ({id})"))
                .unwrap_or_default(),
            skipped.reason
        );
    }
    for failure in &report.failed {
        eprintln!(
            "failed: {} {} {}: {}",
            failure.action, failure.kind, failure.external_id, failure.reason
        );
    }
    if !report.failed.is_empty() {
        return Ok(check_failed(&format!(
            "{} changes failed (listed above); run the sync again to retry them",
            report.failed.len()
        )));
    }
    Ok(EXIT_OK)
}

/// A progress line on a terminal: the phase and how far it is.
fn sync_progress(common: &Common) -> Option<klaviyo_bridge::catalog_sync::ProgressFn> {
    if common.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(std::sync::Arc::new(
        move |p: &klaviyo_bridge::catalog_sync::SyncProgress| {
            bar.set_message(p.phase.clone());
            bar.set_length(p.total.max(p.done) as u64);
            bar.set_position(p.done as u64);
        },
    ))
}

/// A check that ran and failed: its one line on stderr (the report is on stdout), exit 1.
fn check_failed(message: &str) -> i32 {
    eprintln!("klaviyo-dev-tools: error: {message}");
    EXIT_FAILED
}

fn render_import(
    report: &import_csv::ImportReport,
    format: Format,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let problems: Vec<Map<String, Value>> = report
        .invalid
        .iter()
        .map(|p| (p, "invalid"))
        .chain(report.failed.iter().map(|p| (p, "rejected")))
        .map(|(p, kind)| {
            json!({"line": p.line, "problem": kind, "reason": p.reason})
                .as_object()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let columns = ["line", "problem", "reason"].map(String::from).to_vec();
    match format {
        Format::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(report).unwrap_or_default()
        ),
        Format::Csv => Output::Rows {
            columns,
            rows: problems,
        }
        .render(format, out),
        Format::Jsonl => {
            Output::Rows {
                columns,
                rows: problems,
            }
            .render(format, out)?;
            // The last line is the summary, so a jsonl reader gets the counts too.
            let mut summary = match serde_json::to_value(report) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            };
            for listed in ["invalid", "failed"] {
                summary.remove(listed);
            }
            writeln!(out, "{}", json!({ "summary": summary }))
        }
        Format::Table => {
            let summary = json!({
                "rows": report.rows, "valid": report.valid, "invalid": report.invalid_count, "sent": report.sent, "skipped": report.skipped,
                "jobs": report.jobs.len(), "imported": report.imported, "rejected": report.failed.len(),
            });
            record(&summary).render(Format::Table, out)?;
            if !problems.is_empty() {
                Output::Rows {
                    columns,
                    rows: problems,
                }
                .render(Format::Table, out)?;
            }
            Ok(())
        }
    }
}
