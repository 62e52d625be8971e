//! The one argument parser for each program: the reference scripts' flags, exactly.

use std::path::PathBuf;

use clap::{Args, Parser, ValueEnum};

use crate::export::ExportResource;
use crate::output::Format;

/// Flags both programs take.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Private API key (pk_…). Default: KLAVIYO_API_KEY from the environment or a .env file.
    #[arg(long, value_name = "KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// API base URL (default https://a.klaviyo.com, or KLAVIYO_BASE_URL).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// API revision (default 2026-07-15, or KLAVIYO_REVISION).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub revision: Option<String>,
    /// Retries per request after the first attempt, for network errors, 429 and 5xx (default 6;
    /// 3 for health-check). 0 fails on the first error.
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,
    /// Print only results: no progress, no notes on stderr.
    #[arg(long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log each API request to stderr (credentials are never shown).
    #[arg(long)]
    pub verbose: bool,
}

/// `klaviyo-client --action …`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Action {
    /// Record an event: --email E --event NAME [--properties JSON] [--value N] [--unique-id ID] [--time ISO8601]
    TrackEvent,
    /// Create or update a profile: (--email E | --phone-number P | --external-id X) [--properties JSON]
    UpsertProfile,
    /// List catalog items: [--format table|json|csv] [--max-pages N]
    CatalogItems,
    /// Export profiles: [--max-pages N] [--format csv|json|jsonl] [--output FILE]
    ExportProfiles,
    /// Show one profile: --profile-id ID | --email E | --phone-number P | --external-id X
    GetProfile,
    /// List metrics.
    ListMetrics,
    /// List lists.
    ListLists,
    /// Add a profile to a list: --list-id ID (--profile-id ID | --email E | …)
    AddToList,
    /// Subscribe a profile to marketing: --email E [--list-id ID] [--sms with --phone-number P]
    SubscribeProfile,
    /// Request deletion of a profile and its data: --email E | --phone-number P | --external-id X | --profile-id ID; asks first on a terminal, else needs --yes
    DeleteProfile,
    /// Create a list: --name NAME
    CreateList,
}

const CLIENT_EXAMPLES: &str = "Examples:
  klaviyo-client --action track-event --email user@example.com --event \"Placed Order\" \\
      --properties '{\"value\": 99.99, \"OrderId\": \"ORD-123\"}'
  klaviyo-client --action upsert-profile --email user@example.com \\
      --properties '{\"first_name\": \"Jane\", \"loyalty_tier\": \"Gold\"}'
  klaviyo-client --action catalog-items --format table
  klaviyo-client --action export-profiles --max-pages 10 --format csv --output profiles.csv
  klaviyo-client --action get-profile --email user@example.com
  klaviyo-client --action list-metrics --format json
  klaviyo-client --action list-lists
  klaviyo-client --action add-to-list --list-id LIST_ID --email user@example.com
  klaviyo-client --action subscribe-profile --email user@example.com --list-id LIST_ID
  klaviyo-client --action create-list --name \"VIP customers\"
  klaviyo-client --action delete-profile --email user@example.com --yes

export-profiles --output reads on the warehouse sync's engine (time slices paged at once), merges
them in order into FILE.partial and renames it over FILE only when complete (with --max-pages, or
to stdout, it pages one cursor in the API's order). After a failure or SIGINT/SIGTERM/SIGKILL,
the same command with --resume continues where it stopped.

Exit codes: 0 success; 1 the API refused or failed (details on stderr); 2 usage or configuration
error (a missing flag, malformed --properties, no API key); 130/143 an export stopped by
SIGINT/SIGTERM (resumable).";

/// The reference `klaviyo_client.py`, built on klaviyo-bridge.
#[derive(Debug, Clone, Parser)]
#[command(name = "klaviyo-client", version, about = "Talk to the Klaviyo API: track events, upsert profiles, list and export data.", after_help = CLIENT_EXAMPLES)]
pub struct ClientArgs {
    /// What to do.
    #[arg(long, value_enum)]
    pub action: Action,
    /// Profile email.
    #[arg(long)]
    pub email: Option<String>,
    /// Profile phone number (E.164, e.g. +15005550006).
    #[arg(long)]
    pub phone_number: Option<String>,
    /// Your system's id for the profile.
    #[arg(long)]
    pub external_id: Option<String>,
    /// Klaviyo profile id.
    #[arg(long)]
    pub profile_id: Option<String>,
    /// Event (metric) name, e.g. "Placed Order".
    #[arg(long)]
    pub event: Option<String>,
    /// JSON object: event properties, or profile attributes and custom properties; `@file.json`
    /// reads it from a file, `-` from stdin. A key given twice, or an integer beyond ±2^53, is
    /// an error.
    #[arg(long, value_name = "JSON|@FILE|-")]
    pub properties: Option<String>,
    /// Event value (monetary).
    #[arg(long)]
    pub value: Option<f64>,
    /// Event de-duplication key (generated when absent).
    #[arg(long)]
    pub unique_id: Option<String>,
    /// Event time, ISO 8601 (default now).
    #[arg(long, value_name = "ISO8601")]
    pub time: Option<String>,
    /// List id.
    #[arg(long)]
    pub list_id: Option<String>,
    /// Subscribe to SMS instead of email (needs --phone-number).
    #[arg(long)]
    pub sms: bool,
    /// Name of the list to create.
    #[arg(long)]
    pub name: Option<String>,
    /// Confirm a destructive action (delete-profile) without being asked.
    #[arg(long)]
    pub yes: bool,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Read at most this many pages.
    #[arg(long)]
    pub max_pages: Option<usize>,
    /// Write to this file instead of stdout (atomically: the file changes only when the
    /// export is complete).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Continue an interrupted or failed export to --output from where it stopped.
    #[arg(long, requires = "output")]
    pub resume: bool,
    /// Shared flags.
    #[command(flatten)]
    pub common: Common,
}

/// `klaviyo-dev-tools --tool …`
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Tool {
    /// Check the key, revision, latency, rate-limit headers and read access per resource family.
    HealthCheck,
    /// Check that metrics exist and have recent events: --events "A,B,C"
    ValidateEvents,
    /// Send a signed sample delivery to your receiver: --webhook-url URL [--secret S]
    TestWebhook,
    /// Import profiles from a CSV: --file F [--list-id ID] [--dry-run]
    ImportCsv,
    /// Export data: --resource R --output FILE [--max-records N] [--format csv|json|jsonl]
    /// [--concurrency N]
    ExportData,
    /// Sync the catalog with a product feed: --feed FILE [--mapping F] [--dry-run]
    /// [--delete-missing] [--skip-invalid] [--plan-out F | --apply-plan F]
    SyncCatalog,
    /// Sync the account to a warehouse: --destination parquet:DIR|jsonl:DIR|csv:DIR|postgres://…
    /// [--state FILE] [--streams a,b] [--start-date T]; or --singer [--config F] [--catalog F]
    Sync,
}

const DEV_EXAMPLES: &str = "Examples:
  klaviyo-dev-tools --tool health-check
  klaviyo-dev-tools --tool validate-events --events \"Placed Order,Started Checkout,Viewed Product\"
  klaviyo-dev-tools --tool test-webhook --webhook-url https://example.com/webhooks/klaviyo --secret S
  klaviyo-dev-tools --tool import-csv --file contacts.csv --list-id LIST_ID [--dry-run]
  klaviyo-dev-tools --tool import-csv --file contacts.csv --skip-invalid
  klaviyo-dev-tools --tool export-data --resource profiles --max-records 5000 --output profiles.csv
  klaviyo-dev-tools --tool export-data --resource profiles --output profiles.csv --resume
  klaviyo-dev-tools --tool sync-catalog --feed products.xml --dry-run --plan-out plan.json
  klaviyo-dev-tools --tool sync-catalog --apply-plan plan.json
  klaviyo-dev-tools --tool sync-catalog --feed products.csv --mapping external_id=sku,title=name --delete-missing
  klaviyo-dev-tools --tool sync --destination parquet:warehouse --state sync-state.json
  klaviyo-dev-tools --tool sync --streams profiles,events --destination jsonl:out --state s.json --start-date 2025-01-01T00:00:00Z
  klaviyo-dev-tools --tool sync --destination postgres://user:password@localhost:5432/warehouse
  klaviyo-dev-tools --tool sync --singer --config config.json --catalog catalog.json --state state.json | target-jsonl

import-csv columns: email, phone_number, external_id, first_name, last_name, organization, title,
locale, image, address1, address2, city, region, country, zip, timezone, properties (a JSON object);
any other column becomes a custom property. Every row is checked first; if one is bad, nothing is
sent and the bad rows are listed by line. --skip-invalid imports the rest and writes the bad rows to
FILE.rejected.csv, which imports once fixed.

sync-catalog reads a CSV, JSON, JSONL or Google Merchant XML feed (by its extension, or
--feed-format), checks every record (nothing is sent while one is bad, unless --skip-invalid), reads
the catalog, and creates, updates (changed attributes only) and, with --delete-missing, deletes in
bulk jobs. A plan that deletes more than --max-delete-share of the catalog (default 0.1) is refused
unless --force; two syncs of one account never run at once.

sync reads each stream from its bookmark in --state to now minus --safety-margin, in time slices
paged at once within the rate limits, one output part per slice; killed at any point (even
SIGKILL), the same command resumes the run with no record missing or repeated in files or
PostgreSQL (Singer output is at least once). Streams:
profiles, events, metrics, lists, segments, campaigns, flows, templates, catalog_items,
catalog_variants, catalog_categories, coupons, tags.

export-data reads on the sync's engine (time slices paged at once, --concurrency, staged in
FILE.partial.d), merges them in order into FILE.partial and renames it over FILE only when
complete; with --max-records it pages one cursor in the API's order. After a failure or
SIGINT/SIGTERM/SIGKILL, the same command with --resume continues where it stopped.

Exit codes: 0 success; 1 a check or the API failed (details on stderr); 2 usage or configuration
error; 130/143 an export stopped by SIGINT/SIGTERM (resumable).";

/// The reference `dev_tools.py`, built on klaviyo-bridge.
#[derive(Debug, Clone, Parser)]
#[command(name = "klaviyo-dev-tools", version, about = "Developer tools for Klaviyo integrations: health check, event validation, webhook tests, CSV import, export.", after_help = DEV_EXAMPLES)]
pub struct DevArgs {
    /// Which tool.
    #[arg(long, value_enum)]
    pub tool: Tool,
    /// Comma-separated metric names.
    #[arg(long)]
    pub events: Option<String>,
    /// Your webhook receiver's URL.
    #[arg(long)]
    pub webhook_url: Option<String>,
    /// The receiver's signing secret; also sends a forged copy that it should reject.
    #[arg(long)]
    pub secret: Option<String>,
    /// Seconds test-webhook waits for the receiver's answer [default: 10].
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds)]
    pub timeout: Option<f64>,
    /// CSV file to import.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Add imported profiles to this list.
    #[arg(long)]
    pub list_id: Option<String>,
    /// Validate only; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid rows and write the bad ones (line, reason, the row as it was) to the
    /// --rejected file, instead of sending nothing when a row is bad.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Where --skip-invalid writes the rows it leaves out [default: FILE.rejected.csv beside --file].
    #[arg(long, value_name = "FILE", requires = "skip_invalid")]
    pub rejected: Option<PathBuf>,
    /// What to export.
    #[arg(long, value_enum)]
    pub resource: Option<ExportResource>,
    /// Export at most this many records.
    #[arg(long)]
    pub max_records: Option<usize>,
    /// Output file (written atomically: it changes only when the export is complete).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Continue an interrupted or failed export to --output from where it stopped.
    #[arg(long, requires = "output")]
    pub resume: bool,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Product feed to sync the catalog with (.csv, .json, .jsonl, .xml).
    #[arg(long, value_name = "FILE", conflicts_with = "apply_plan")]
    pub feed: Option<PathBuf>,
    /// The feed's format when its extension does not say: csv, json, jsonl, google_xml.
    #[arg(long, value_name = "FORMAT", requires = "feed")]
    pub feed_format: Option<String>,
    /// Feed fields to catalog attributes: a JSON file, or attribute=field pairs
    /// (external_id=sku,title=name,custom_metadata=brand).
    #[arg(long, value_name = "FILE|PAIRS", requires = "feed")]
    pub mapping: Option<String>,
    /// Delete catalog items, variants and categories the feed does not have.
    #[arg(long, requires = "feed")]
    pub delete_missing: bool,
    /// Apply a plan even if it deletes more than --max-delete-share of the catalog.
    #[arg(long)]
    pub force: bool,
    /// The largest share of the catalog a sync may delete without --force [default: 0.1].
    #[arg(long, value_name = "SHARE", value_parser = share)]
    pub max_delete_share: Option<f64>,
    /// Write the full plan (every create, update and delete) to this JSON file.
    #[arg(long, value_name = "FILE", requires = "feed")]
    pub plan_out: Option<PathBuf>,
    /// Apply a plan written by --plan-out, exactly as written.
    #[arg(long, value_name = "FILE")]
    pub apply_plan: Option<PathBuf>,
    /// Where sync writes: parquet:DIR, jsonl:DIR or csv:DIR.
    #[arg(long, value_name = "KIND:WHERE")]
    pub destination: Option<String>,
    /// The sync's state file (bookmarks and the run in progress).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Streams to sync, comma-separated [default: all].
    #[arg(long, value_name = "A,B")]
    pub streams: Option<String>,
    /// Where a first sync of a stream starts (ISO 8601) [default: 2012-01-01T00:00:00Z].
    #[arg(long, value_name = "TIME")]
    pub start_date: Option<String>,
    /// Seconds behind now that bookmarks stop [default: 300].
    #[arg(long, value_name = "SECONDS")]
    pub safety_margin: Option<u64>,
    /// Days a report stream (metric_aggregates, campaign_values, flow_series) re-reads before
    /// its bookmark [default: 7].
    #[arg(long, value_name = "DAYS")]
    pub lookback_days: Option<u64>,
    /// Hours the events stream re-reads before its bookmark, for events sent with a past
    /// `time` (backfills, late integrations); they are read again, so files hold them twice
    /// [default: 0].
    #[arg(long, value_name = "HOURS")]
    pub events_lookback_hours: Option<u64>,
    /// The metric the campaign and flow reports count conversions of, by id [default: the
    /// account's "Placed Order"].
    #[arg(long, value_name = "METRIC_ID")]
    pub conversion_metric: Option<String>,
    /// Slices a sync, or a whole export-data, reads at once [default: 32].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Sync as a Singer tap: SCHEMA, RECORD and STATE messages on stdout (--state is then the
    /// last STATE's value, as a target echoes it).
    #[arg(long)]
    pub singer: bool,
    /// Singer: print the catalog of streams and exit.
    #[arg(long, requires = "singer")]
    pub discover: bool,
    /// Singer: the tap's config, a JSON file ({"api_key", "start_date", "base_url",
    /// "conversion_metric_id", "lookback_days", "events_lookback_hours"}).
    #[arg(long, value_name = "FILE", requires = "singer")]
    pub config: Option<PathBuf>,
    /// Singer: the catalog whose selected streams to sync.
    #[arg(
        long,
        value_name = "FILE",
        requires = "singer",
        visible_alias = "properties"
    )]
    pub catalog: Option<PathBuf>,
    /// Shared flags.
    #[command(flatten)]
    pub common: Common,
}

fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.0..=1.0).contains(&s) => Ok(s),
        _ => Err(format!(
            "{text:?} is not a share between 0 and 1 (0.1 is 10%)"
        )),
    }
}

/// A flag value as it is typed (`export-profiles`, `catalog-items`, `jsonl`).
pub fn typed_value(value: &impl ValueEnum) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 3600.0 => Ok(s),
        _ => Err(format!(
            "{text:?} is not a number of seconds between 0 and 3600"
        )),
    }
}
