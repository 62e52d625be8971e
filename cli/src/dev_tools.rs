//! `klaviyo-dev-tools` as functions that return data: health check, event validation,
//! webhook testing, CSV import and data export. Import and export stream, so memory stays
//! flat whatever the file size.

use std::io::{Read, Write};
use std::time::{Duration, Instant, SystemTime};

use klaviyo_bridge::bulk::PollOptions;
use klaviyo_bridge::filter::{Filter, FilterValue};
use klaviyo_bridge::jobs::JobKind;
use klaviyo_bridge::operations::{bulk_limit, operation};
use klaviyo_bridge::profiles::{ProfileData, ProfileRef, validate_email, validate_phone};
use klaviyo_bridge::rate_limit::RateLimitHeaders;
use klaviyo_bridge::{Client, Error, ListParams, Resource, Result};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::output::{Format, RowWriter};
use crate::tools::{PROFILE_COLUMNS, profile_row, resource_row};

/// One resource family's read probe.
#[derive(Debug, Clone, Serialize)]
pub struct ScopeCheck {
    /// e.g. `profiles`.
    pub family: &'static str,
    /// `OK`, `forbidden`, or `error: …`.
    pub status: String,
}

/// Result of `health-check`.
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// Whether the key authenticated.
    pub key_valid: bool,
    /// The account the key belongs to.
    pub account_id: Option<String>,
    /// The account's organization name.
    pub account_name: Option<String>,
    /// API revision in use.
    pub revision: String,
    /// API host.
    pub base_url: String,
    /// Round trip of the accounts call.
    pub latency_ms: u64,
    /// The last `RateLimit-*` headers seen.
    pub rate_limit: Option<RateLimitHeaders>,
    /// Read access per resource family.
    pub scopes: Vec<ScopeCheck>,
    /// Why the key failed, when it did.
    pub error: Option<String>,
}

const PROBES: [(&str, &str); 7] = [
    ("accounts", "get_accounts"),
    ("profiles", "get_profiles"),
    ("events", "get_events"),
    ("metrics", "get_metrics"),
    ("lists", "get_lists"),
    ("catalogs", "get_catalog_items"),
    ("webhooks", "get_webhooks"),
];

/// Checks the key (accounts call) and probes each resource family read-only.
pub async fn health_check(client: &Client) -> HealthReport {
    let started = Instant::now();
    let account = client.accounts().current().await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let mut report = HealthReport {
        key_valid: account.is_ok(),
        account_id: account
            .as_ref()
            .ok()
            .and_then(|a| a.id().map(str::to_string)),
        account_name: account
            .as_ref()
            .ok()
            .and_then(|a| a.attr("contact_information"))
            .and_then(|c| c.get("organization_name"))
            .and_then(Value::as_str)
            .map(str::to_string),
        revision: client.config().revision.clone(),
        base_url: client
            .config()
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string(),
        latency_ms,
        rate_limit: None,
        scopes: Vec::new(),
        error: account.as_ref().err().map(ToString::to_string),
    };
    if report.key_valid {
        for (family, op) in PROBES {
            let small_page = operation(op)
                .and_then(|o| o.page_size)
                .map(|_| ("page[size]", "1"));
            let query: Vec<(&str, &str)> = small_page.into_iter().collect();
            let status = match client.request(op, &[], &query, None).await {
                Ok(_) => "OK".to_string(),
                Err(Error::PermissionDenied(_) | Error::Authentication(_)) => {
                    "forbidden".to_string()
                }
                Err(e) => format!(
                    "error: {}",
                    e.status()
                        .map_or_else(|| e.code().to_string(), |s| format!("HTTP {s}"))
                ),
            };
            report.scopes.push(ScopeCheck { family, status });
        }
    }
    report.rate_limit = client.rate_limit_status().map(|r| r.headers);
    report
}

/// One event name's validation.
#[derive(Debug, Clone, Serialize)]
pub struct EventCheck {
    /// The metric name asked about.
    pub event: String,
    /// Whether a metric of that name exists.
    pub exists: bool,
    /// Its id.
    pub metric_id: Option<String>,
    /// Events in the last 30 days (counted up to [`COUNT_CAP`]).
    pub events_30d: u64,
    /// Property names seen on recent events.
    pub sample_properties: Vec<String>,
}

/// Counting stops here; the report then says "at least".
pub const COUNT_CAP: u64 = 10_000;

/// For each name: does the metric exist, how many events in 30 days, which properties.
pub async fn validate_events(client: &Client, names: &[String]) -> Result<Vec<EventCheck>> {
    let metrics: Vec<Resource> = futures_util::TryStreamExt::try_collect(
        client.metrics().list(ListParams::default())?.items(),
    )
    .await?;
    let since =
        klaviyo_bridge::time::format_iso8601(SystemTime::now() - Duration::from_secs(30 * 86_400));
    let mut checks = Vec::new();
    for name in names {
        let metric = metrics
            .iter()
            .find(|m| m.attr_str("name") == Some(name.as_str()));
        let mut check = EventCheck {
            event: name.clone(),
            exists: metric.is_some(),
            metric_id: metric.and_then(|m| m.id().map(str::to_string)),
            events_30d: 0,
            sample_properties: Vec::new(),
        };
        if let Some(id) = &check.metric_id {
            let filter = Filter::new()
                .equals("metric_id", id.as_str())
                .greater_or_equal("datetime", FilterValue::datetime(since.clone()));
            let params = ListParams {
                filter: Some(filter.to_string()),
                max_items: Some(COUNT_CAP as usize),
                page_size: Some(1000),
                ..Default::default()
            };
            let mut pager = client.events().list(params)?;
            let mut names = std::collections::BTreeSet::new();
            while let Some(page) = pager.next_page().await? {
                check.events_30d += page.data.len() as u64;
                for event in page.data.iter().take(50) {
                    if let Some(props) = event.attr("event_properties").and_then(Value::as_object) {
                        names.extend(props.keys().filter(|k| !k.starts_with('$')).cloned());
                    }
                }
            }
            check.sample_properties = names.into_iter().take(10).collect();
        }
        checks.push(check);
    }
    Ok(checks)
}

/// Result of `test-webhook`.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookTest {
    /// Where it was sent.
    pub url: String,
    /// The receiver's answer to the correctly signed delivery.
    pub status: u16,
    /// How long it took.
    pub latency_ms: u64,
    /// Whether the receiver accepted it (2xx).
    pub accepted: bool,
    /// The receiver's answer to a wrongly signed copy (with `--secret`).
    pub forged_status: Option<u16>,
    /// Whether the receiver rejected the forged copy (non-2xx).
    pub rejected_forged: Option<bool>,
}

/// Sends a Klaviyo-format sample delivery, signed as Klaviyo signs, to `url`; with a secret,
/// also a wrongly signed copy, to see the receiver reject it.
pub async fn test_webhook(url: &str, secret: Option<&str>) -> Result<WebhookTest> {
    klaviyo_bridge::config::validate_endpoint_url(url, "--webhook-url")?;
    let now = SystemTime::now();
    let body = json!({
        "data": [{"topic": "event:klaviyo.placed_order", "external_id": "TEST_EVENT_1",
                  "payload": {"data": {"type": "event", "id": "TEST_EVENT_1", "attributes": {"datetime": klaviyo_bridge::time::format_iso8601(now), "event_properties": {"value": 99.99, "OrderId": "ORD-123"}}}}}],
        "meta": {"klaviyo_account_id": "TEST", "klaviyo_webhook_id": "klaviyo-dev-tools-test", "timestamp": klaviyo_bridge::time::format_iso8601(now)},
    })
    .to_string();
    // Without a secret the delivery is still signed, with a throwaway key.
    let signing_secret = secret.map_or_else(
        || {
            format!(
                "unsigned-test-{:016x}",
                now.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_nanos()
            )
        },
        str::to_string,
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::Config(e.to_string()))?;
    let send = |secret: String| {
        let (http, body) = (http.clone(), body.clone());
        async move {
            let headers = klaviyo_bridge::webhook_signature::sign(
                body.as_bytes(),
                &secret,
                "klaviyo-dev-tools-test",
                now,
            );
            let mut request = http
                .post(url)
                .header("content-type", "application/json")
                .body(body);
            for (name, value) in headers.pairs() {
                request = request.header(name, value);
            }
            let started = Instant::now();
            let status = request
                .send()
                .await
                .map_err(|e| Error::Network {
                    operation: "test-webhook".into(),
                    message: format!("could not reach {url}: {e}"),
                })?
                .status()
                .as_u16();
            Ok::<_, Error>((status, started.elapsed().as_millis() as u64))
        }
    };
    let (status, latency_ms) = send(signing_secret.clone()).await?;
    let mut report = WebhookTest {
        url: url.to_string(),
        status,
        latency_ms,
        accepted: (200..300).contains(&status),
        forged_status: None,
        rejected_forged: None,
    };
    if secret.is_some() {
        let (forged, _) = send(format!("{signing_secret}-wrong")).await?;
        report.forged_status = Some(forged);
        report.rejected_forged = Some(!(200..300).contains(&forged));
    }
    Ok(report)
}

/// A bad CSV row.
#[derive(Debug, Clone, Serialize)]
pub struct RowProblem {
    /// Line in the file (1 = header).
    pub line: u64,
    /// What is wrong.
    pub reason: String,
}

/// Result of `import-csv`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Data rows in the file.
    pub rows: u64,
    /// Rows that passed validation.
    pub valid: u64,
    /// Bad rows (the first 1,000 are listed).
    pub invalid: Vec<RowProblem>,
    /// How many rows were bad in all.
    pub invalid_count: u64,
    /// Whether nothing was sent (`--dry-run`, or bad rows found).
    pub dry_run: bool,
    /// Import jobs submitted.
    pub jobs: Vec<String>,
    /// Rows Klaviyo imported.
    pub imported: u64,
    /// Rows Klaviyo rejected, with reasons.
    pub failed: Vec<RowProblem>,
}

const LISTED_PROBLEMS: usize = 1_000;
const LOCATION_COLUMNS: [&str; 7] = [
    "address1", "address2", "city", "region", "country", "zip", "timezone",
];

/// Turns one CSV row into a profile, or says why it cannot be one.
fn row_to_profile(
    header: &[String],
    record: &csv::ByteRecord,
) -> std::result::Result<ProfileData, String> {
    let mut identity = ProfileRef::default();
    let mut flat = Map::new();
    let mut location = Map::new();
    for (name, raw) in header.iter().zip(record.iter()) {
        let value = std::str::from_utf8(raw)
            .map_err(|_| format!("column {name:?} is not valid UTF-8"))?
            .trim();
        if value.is_empty() {
            continue;
        }
        match name.as_str() {
            "email" => identity.email = Some(value.to_string()),
            "phone_number" => identity.phone_number = Some(value.to_string()),
            "external_id" => identity.external_id = Some(value.to_string()),
            "properties" => match serde_json::from_str::<Value>(value) {
                Ok(Value::Object(props)) => flat.extend(props),
                _ => return Err("column \"properties\" is not a JSON object".into()),
            },
            n if LOCATION_COLUMNS.contains(&n) => {
                location.insert(n.to_string(), json!(value));
            }
            _ => {
                flat.insert(name.clone(), json!(value));
            }
        }
    }
    if !location.is_empty() {
        flat.insert("location".into(), Value::Object(location));
    }
    identity.validate("row").map_err(|e| {
        e.to_string()
            .trim_start_matches("invalid input: ")
            .to_string()
    })?;
    if let Some(email) = &identity.email {
        validate_email(email).map_err(|e| {
            e.to_string()
                .trim_start_matches("invalid input: ")
                .to_string()
        })?;
    }
    if let Some(phone) = &identity.phone_number {
        validate_phone(phone).map_err(|e| {
            e.to_string()
                .trim_start_matches("invalid input: ")
                .to_string()
        })?;
    }
    Ok(ProfileData::from_flat(identity, flat))
}

/// Opens the CSV file afresh (the import reads it twice: to check, then to send).
pub type Opener<'a> = &'a dyn Fn() -> std::io::Result<Box<dyn Read>>;

/// A CSV reader positioned after the header, and the header's column names (lower case).
type CsvWithHeader = (csv::Reader<Box<dyn Read>>, Vec<String>);

fn reader(open: Opener<'_>) -> Result<CsvWithHeader> {
    let file = open().map_err(|e| Error::InvalidInput(format!("cannot read the CSV file: {e}")))?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(file);
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(|e| Error::InvalidInput(format!("cannot read the CSV header: {e}")))?
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_lowercase()
        })
        .collect();
    if !header
        .iter()
        .any(|h| matches!(h.as_str(), "email" | "phone_number" | "external_id"))
    {
        return Err(Error::InvalidInput(
            "the CSV needs an email, phone_number or external_id column".into(),
        ));
    }
    Ok((reader, header))
}

/// Validates every row of a CSV (streaming), then, unless `dry_run` or a row is bad, imports
/// the rows in bulk import jobs within the 10,000-profile / 5 MB limits, waits for them, and
/// reports Klaviyo's per-row failures. `progress` is called with rows processed so far.
pub async fn import_csv(
    client: &Client,
    open: Opener<'_>,
    list_id: Option<&str>,
    dry_run: bool,
    progress: &dyn Fn(u64),
) -> Result<ImportReport> {
    let mut report = ImportReport {
        dry_run,
        ..Default::default()
    };
    let (mut csv, header) = reader(open)?;
    let mut record = csv::ByteRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                report.rows += 1;
                let problem = if record.len() != header.len() {
                    Some(format!(
                        "has {} fields; the header has {}",
                        record.len(),
                        header.len()
                    ))
                } else {
                    row_to_profile(&header, &record).err()
                };
                match problem {
                    Some(reason) => {
                        report.invalid_count += 1;
                        if report.invalid.len() < LISTED_PROBLEMS {
                            report.invalid.push(RowProblem { line, reason });
                        }
                    }
                    None => report.valid += 1,
                }
            }
            Err(e) => {
                return Err(Error::InvalidInput(format!(
                    "line {line}: the CSV is malformed: {e}"
                )));
            }
        }
        if report.rows.is_multiple_of(10_000) {
            progress(report.rows);
        }
    }
    if report.invalid_count > 0 || dry_run {
        report.dry_run = true;
        return Ok(report);
    }
    let limit = bulk_limit("bulk_import_profiles");
    let budget =
        limit.max_payload_bytes.unwrap_or(usize::MAX) - klaviyo_bridge::bulk::ENVELOPE_BYTES;
    let (mut csv, header) = reader(open)?;
    let mut batch: Vec<ProfileData> = Vec::new();
    let mut batch_bytes = 0usize;
    // (job id, data row number of its first profile)
    let mut jobs: Vec<(String, u64)> = Vec::new();
    let mut row = 0u64;
    let mut batch_first_row = 1u64;
    loop {
        let more = csv
            .read_byte_record(&mut record)
            .map_err(|e| Error::InvalidInput(format!("the CSV changed while importing: {e}")))?;
        if more {
            row += 1;
            let profile = row_to_profile(&header, &record).map_err(|e| {
                Error::InvalidInput(format!("row {row} changed while importing: {e}"))
            })?;
            let size = serde_json::to_vec(&profile.to_attributes()).map_or(0, |v| v.len()) + 40;
            if !batch.is_empty() && (batch.len() >= limit.max_items || batch_bytes + size > budget)
            {
                submit(client, &mut batch, list_id, batch_first_row, &mut jobs).await?;
                batch_bytes = 0;
                batch_first_row = row;
            }
            batch_bytes += size;
            batch.push(profile);
        }
        if !more {
            if !batch.is_empty() {
                submit(client, &mut batch, list_id, batch_first_row, &mut jobs).await?;
            }
            break;
        }
        if row.is_multiple_of(10_000) {
            progress(row);
        }
    }
    let poll = PollOptions {
        interval: Duration::from_millis(200),
        ..PollOptions::default()
    };
    for (job_id, first_row) in &jobs {
        let status = client
            .jobs()
            .wait(JobKind::ProfileImport, job_id, &poll)
            .await?;
        report.imported += status.completed.unwrap_or(0);
        if status.failed.unwrap_or(0) > 0 {
            let mut errors = client.profiles().import_errors(job_id)?;
            while let Some(page) = errors.next_page().await? {
                for error in page.data {
                    let index = error
                        .attr("source")
                        .and_then(|s| s.get("pointer"))
                        .and_then(Value::as_str)
                        .and_then(|p| p.rsplit('/').next())
                        .and_then(|n| n.parse::<u64>().ok());
                    // Data row N is file line N + 1 when no field spans lines.
                    let line = index.map_or(0, |i| first_row + i + 1);
                    report.failed.push(RowProblem {
                        line,
                        reason: error.attr_str("detail").unwrap_or("rejected").to_string(),
                    });
                }
            }
        }
        report.jobs.push(job_id.clone());
    }
    Ok(report)
}

async fn submit(
    client: &Client,
    batch: &mut Vec<ProfileData>,
    list_id: Option<&str>,
    first_row: u64,
    jobs: &mut Vec<(String, u64)>,
) -> Result<()> {
    let submitted = client
        .profiles()
        .bulk_import(std::mem::take(batch), list_id)
        .await?;
    for job in submitted.jobs {
        if let Some(id) = job.id {
            jobs.push((id, first_row + job.first_index as u64));
        }
    }
    Ok(())
}

/// What `export-data` can export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum ExportResource {
    /// Profiles.
    Profiles,
    /// Events.
    Events,
    /// Metrics.
    Metrics,
    /// Lists.
    Lists,
    /// Catalog items.
    CatalogItems,
}

/// Result of an export.
#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    /// What was exported.
    pub resource: String,
    /// Rows written.
    pub rows: usize,
    /// Where to.
    pub output: String,
}

fn columns(resource: ExportResource) -> Vec<String> {
    let names: &[&str] = match resource {
        ExportResource::Profiles => &PROFILE_COLUMNS,
        ExportResource::Events => &[
            "id",
            "metric_id",
            "profile_id",
            "datetime",
            "uuid",
            "event_properties",
        ],
        ExportResource::Metrics => &["id", "name", "created", "updated"],
        ExportResource::Lists => &["id", "name", "created", "updated"],
        ExportResource::CatalogItems => &[
            "id",
            "external_id",
            "title",
            "price",
            "url",
            "published",
            "updated",
        ],
    };
    names.iter().map(|s| s.to_string()).collect()
}

fn row(resource: ExportResource, item: &Resource, columns: &[String]) -> Map<String, Value> {
    if resource == ExportResource::Profiles {
        profile_row(item)
    } else {
        resource_row(item, columns)
    }
}

/// Streams a resource to `out`, page by page, in `format`.
pub async fn export(
    client: &Client,
    resource: ExportResource,
    max_records: Option<usize>,
    max_pages: Option<usize>,
    format: Format,
    out: Box<dyn Write + '_>,
    progress: &dyn Fn(u64),
) -> Result<usize> {
    let params = ListParams {
        max_items: max_records,
        max_pages,
        ..Default::default()
    };
    let mut pager = match resource {
        ExportResource::Profiles => client.profiles().list(ListParams {
            page_size: Some(100),
            ..params
        })?,
        ExportResource::Events => client.events().list(ListParams {
            page_size: Some(1000),
            ..params
        })?,
        ExportResource::Metrics => client.metrics().list(params)?,
        ExportResource::Lists => client.lists().list(params)?,
        ExportResource::CatalogItems => client.catalog_items().list(params)?,
    };
    let columns = columns(resource);
    let io = |e: std::io::Error| Error::InvalidInput(format!("cannot write the output: {e}"));
    let mut writer = RowWriter::new(format, columns.clone(), out).map_err(io)?;
    let mut written = 0u64;
    while let Some(page) = pager.next_page().await? {
        for item in &page.data {
            writer.row(&row(resource, item, &columns)).map_err(io)?;
            written += 1;
        }
        progress(written);
    }
    writer.finish().map_err(io)
}
