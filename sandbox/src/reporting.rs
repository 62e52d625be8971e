//! Reports computed from what the sandbox holds, so report code can be tested against known
//! numbers: `query_campaign_values`, `query_flow_values` and `query_flow_series` (message
//! statistics), `query_segment_values` and `_series` (membership), `query_form_values` and
//! `_series` (form events), and `query_metric_aggregates`.
//!
//! Attribution follows Klaviyo's event properties: a message's engagement events (`Received
//! Email`, `Opened Email`, `Clicked Email`, `Bounced Email`, `Marked Email as Spam`,
//! `Unsubscribed from Email Marketing`, and the SMS and push equivalents) carry
//! `$message` = the campaign or flow message's id; a conversion (an event of `conversion_metric_id`)
//! carries `$attributed_message`. Counts are of events; `_unique` counts and rates are of
//! profiles; rates are over delivered recipients and are 0 when nothing was delivered.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use klaviyo_bridge::filter::{Condition, Filter, FilterValue};
use serde_json::{Map, Value, json};

use crate::emulation::SHAPES;
use crate::table::Source;
use crate::{Shared, Store, error, json_api};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/api/campaign-values-reports",
            post(|s: State<Arc<Shared>>, b: Bytes| values_report(s, b, &CAMPAIGNS)),
        )
        .route(
            "/api/flow-values-reports",
            post(|s: State<Arc<Shared>>, b: Bytes| values_report(s, b, &FLOWS)),
        )
        .route(
            "/api/flow-series-reports",
            post(|s: State<Arc<Shared>>, b: Bytes| {
                series_report(s, b, &FLOWS, "FlowSeriesRequestDTO", "flow-series-report")
            }),
        )
        .route("/api/metric-aggregates", post(metric_aggregates))
        .route(
            "/api/segment-values-reports",
            post(|s: State<Arc<Shared>>, b: Bytes| segment_report(s, b, false)),
        )
        .route(
            "/api/segment-series-reports",
            post(|s: State<Arc<Shared>>, b: Bytes| segment_report(s, b, true)),
        )
        .route(
            "/api/form-values-reports",
            post(|s: State<Arc<Shared>>, b: Bytes| form_report(s, b, false)),
        )
        .route(
            "/api/form-series-reports",
            post(|s: State<Arc<Shared>>, b: Bytes| form_report(s, b, true)),
        )
}

/// What differs between campaign and flow reports.
struct ReportKind {
    request_schema: &'static str,
    report_type: &'static str,
    owner_type: &'static str,
    /// Grouping keys: the owner's id and name, the message's id and name.
    owner_id: &'static str,
    owner_name: &'static str,
    message_id: &'static str,
    message_name: &'static str,
    /// The report's relationship listing the owners.
    relationship: &'static str,
}

const CAMPAIGNS: ReportKind = ReportKind {
    request_schema: "CampaignValuesRequestDTO",
    report_type: "campaign-values-report",
    owner_type: "campaign",
    owner_id: "campaign_id",
    owner_name: "campaign_name",
    message_id: "campaign_message_id",
    message_name: "campaign_message_name",
    relationship: "campaigns",
};

const FLOWS: ReportKind = ReportKind {
    request_schema: "FlowValuesRequestDTO",
    report_type: "flow-values-report",
    owner_type: "flow",
    owner_id: "flow_id",
    owner_name: "flow_name",
    message_id: "flow_message_id",
    message_name: "flow_message_name",
    relationship: "flows",
};

/// A message a report counts: its owner (campaign or flow), id, name and channel.
struct Message {
    owner: String,
    owner_name: Value,
    id: String,
    name: Value,
    channel: String,
}

/// Every message of every campaign, or of every flow's actions.
fn messages(store: &Store, kind: &ReportKind) -> Vec<Message> {
    let resource = |kind: &str, id: &str| store.resources.get(kind).and_then(|m| m.get(id));
    let linked = |owner: &Value, relation: &str| -> Vec<String> {
        crate::emulation::linkage(owner, relation)
            .iter()
            .filter_map(|l| l["id"].as_str().map(str::to_string))
            .collect()
    };
    let mut found = Vec::new();
    for owner in store
        .resources
        .get(kind.owner_type)
        .into_iter()
        .flat_map(|m| m.values())
    {
        let message_ids: Vec<String> = if kind.owner_type == "campaign" {
            linked(owner, "campaign-messages")
        } else {
            linked(owner, "flow-actions")
                .iter()
                .filter_map(|a| resource("flow-action", a))
                .flat_map(|a| linked(a, "flow-messages"))
                .collect()
        };
        for id in message_ids {
            let Some(message) = resource(
                if kind.owner_type == "campaign" {
                    "campaign-message"
                } else {
                    "flow-message"
                },
                &id,
            ) else {
                continue;
            };
            let attributes = &message["attributes"];
            let (name, channel) = match kind.owner_type {
                "campaign" => (
                    attributes["definition"]["label"].clone(),
                    attributes["definition"]["channel"].as_str(),
                ),
                _ => (attributes["name"].clone(), attributes["channel"].as_str()),
            };
            found.push(Message {
                owner: owner["id"].as_str().unwrap_or_default().to_string(),
                owner_name: owner["attributes"]["name"].clone(),
                id,
                name,
                channel: channel.unwrap_or("email").to_string(),
            });
        }
    }
    found
}

/// Engagement metric names per channel: received, opened, clicked, bounced, spam, unsubscribed.
const ENGAGEMENT: [(&str, [&str; 6]); 3] = [
    (
        "email",
        [
            "Received Email",
            "Opened Email",
            "Clicked Email",
            "Bounced Email",
            "Marked Email as Spam",
            "Unsubscribed from Email Marketing",
        ],
    ),
    (
        "sms",
        [
            "Received SMS",
            "Opened SMS",
            "Clicked SMS",
            "Failed to Deliver SMS",
            "Marked SMS as Spam",
            "Unsubscribed from SMS Marketing",
        ],
    ),
    (
        "push",
        [
            "Received Push",
            "Opened Push",
            "Clicked Push",
            "Bounced Push",
            "Marked Push as Spam",
            "Unsubscribed from Push",
        ],
    ),
];

/// What was recorded for one message.
#[derive(Default)]
struct Tally {
    events: [u64; 6],
    profiles: [HashSet<String>; 6],
    conversions: u64,
    converters: HashSet<String>,
    conversion_value: f64,
}

fn invalid(detail: impl Into<String>, pointer: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid",
        detail,
        Some(json!({"pointer": pointer})),
    )
}

/// The `[start, end)` a timeframe names, relative to now for the named ones.
fn timeframe(frame: &Value, now: SystemTime) -> Option<(SystemTime, SystemTime)> {
    if let (Some(start), Some(end)) = (frame["start"].as_str(), frame["end"].as_str()) {
        return Some((
            klaviyo_bridge::time::parse_iso8601(start)?,
            klaviyo_bridge::time::parse_iso8601(end)?,
        ));
    }
    let day = Duration::from_secs(86_400);
    let today = SystemTime::UNIX_EPOCH
        + Duration::from_secs(
            now.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_secs() / 86_400 * 86_400,
        );
    Some(match frame["key"].as_str()? {
        "today" => (today, now),
        "yesterday" => (today - day, today),
        "last_7_days" | "last_week" => (now - day * 7, now),
        "last_30_days" | "last_month" => (now - day * 30, now),
        "last_90_days" | "last_3_months" => (now - day * 90, now),
        "last_365_days" | "last_12_months" | "last_year" => (now - day * 365, now),
        "this_week" => (today - day * 6, now),
        "this_month" => (today - day * 30, now),
        "this_year" => (today - day * 365, now),
        _ => return None,
    })
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 {
        (part / whole * 1e6).round() / 1e6
    } else {
        0.0
    }
}

fn statistic(name: &str, t: &Tally) -> Value {
    let unique = |i: usize| t.profiles[i].len() as f64;
    let delivered = unique(0);
    let recipients = delivered + unique(3);
    match name {
        "recipients" => json!(recipients as u64),
        "delivered" => json!(delivered as u64),
        "opens" => json!(t.events[1]),
        "opens_unique" => json!(unique(1) as u64),
        "clicks" => json!(t.events[2]),
        "clicks_unique" => json!(unique(2) as u64),
        "bounced" | "bounced_or_failed" => json!(unique(3) as u64),
        "failed" => json!(0),
        "spam_complaints" => json!(unique(4) as u64),
        "unsubscribes" => json!(t.events[5]),
        "unsubscribe_uniques" => json!(unique(5) as u64),
        "conversions" => json!(t.conversions),
        "conversion_uniques" => json!(t.converters.len()),
        "conversion_value" => json!(t.conversion_value),
        "open_rate" => json!(ratio(unique(1), delivered)),
        "click_rate" => json!(ratio(unique(2), delivered)),
        "click_to_open_rate" => json!(ratio(unique(2), unique(1))),
        "conversion_rate" => json!(ratio(t.converters.len() as f64, delivered)),
        "delivery_rate" => json!(ratio(delivered, recipients)),
        "bounce_rate" | "bounced_or_failed_rate" => json!(ratio(unique(3), recipients)),
        "spam_complaint_rate" => json!(ratio(unique(4), delivered)),
        "unsubscribe_rate" => json!(ratio(unique(5), delivered)),
        "revenue_per_recipient" => json!(ratio(t.conversion_value, delivered)),
        "average_order_value" => json!(ratio(t.conversion_value, t.conversions as f64)),
        // SMS credits and spend are billing figures the sandbox does not keep.
        _ => json!(0),
    }
}

/// Events of metric `name` in `[start, end)`, by the metric and time indexes.
fn events_of(store: &Store, name: &str, (start, end): (SystemTime, SystemTime)) -> Vec<Value> {
    let Some(metric) = store
        .metrics
        .iter()
        .find(|(_, m)| m["attributes"]["name"] == name)
        .map(|(id, _)| id.clone())
    else {
        return Vec::new();
    };
    let iso = |t: SystemTime| FilterValue::DateTime(klaviyo_bridge::time::format_iso8601(t));
    let conditions = [
        Condition {
            operator: "equals".into(),
            field: "metric_id".into(),
            value: FilterValue::Str(metric),
        },
        Condition {
            operator: "greater-or-equal".into(),
            field: "datetime".into(),
            value: iso(start),
        },
        // Formatted times drop fractions: the index range is widened a second, then cut exactly.
        Condition {
            operator: "less-than".into(),
            field: "datetime".into(),
            value: iso(end + Duration::from_secs(1)),
        },
    ];
    let in_range = |e: &Value| {
        e["attributes"]["datetime"]
            .as_str()
            .and_then(klaviyo_bridge::time::parse_iso8601)
            .is_some_and(|at| at >= start && at < end)
    };
    store
        .events
        .walk(Some("datetime"), true, None, &conditions)
        .map(|(_, e)| e.into_owned())
        .filter(in_range)
        .collect::<Vec<_>>()
}

/// One result row: the grouping values and the statistics.
type Row = (Map<String, Value>, Map<String, Value>);

/// A parsed report request.
struct Request<'a> {
    window: (SystemTime, SystemTime),
    statistics: Vec<&'a str>,
    group_by: Vec<&'a str>,
    filter: Filter,
    conversion_metric: &'a str,
}

/// Validates a report request against `schema`; its timeframe and filter.
fn window_and_filter(
    document: &Value,
    schema: &str,
) -> Result<((SystemTime, SystemTime), Filter), Response> {
    if let Err(problem) = SHAPES.validate(SHAPES.named(schema), document, "") {
        return Err(invalid(problem.detail, &problem.pointer));
    }
    let attributes = &document["data"]["attributes"];
    let window = timeframe(&attributes["timeframe"], SystemTime::now()).ok_or_else(|| {
        invalid(
            "timeframe needs a key such as last_30_days, or start and end.",
            "/data/attributes/timeframe",
        )
    })?;
    if window.1 < window.0
        || window.1.duration_since(window.0).unwrap_or_default() > LONGEST_TIMEFRAME
    {
        return Err(invalid(
            "timeframe must end after it starts and cover at most 1 year.",
            "/data/attributes/timeframe",
        ));
    }
    let filter = match attributes["filter"].as_str() {
        Some(text) => {
            Filter::parse(text).map_err(|e| invalid(e.to_string(), "/data/attributes/filter"))?
        }
        None => Filter::new(),
    };
    Ok((window, filter))
}

/// A report's longest timeframe: a year (a leap one included).
const LONGEST_TIMEFRAME: Duration = Duration::from_secs(366 * 86_400);

/// The intervals of a series report's timeframe, refused where the timeframe is longer than
/// the interval allows (the spec: hourly 7 days, daily 60 days, monthly 52 weeks).
fn series_starts(
    interval: &str,
    window: (SystemTime, SystemTime),
) -> Result<Vec<SystemTime>, Response> {
    let days = |n: u64| Duration::from_secs(n * 86_400);
    let longest = match interval {
        "hourly" => days(7),
        "daily" => days(60),
        "monthly" => days(52 * 7),
        _ => LONGEST_TIMEFRAME,
    };
    if window.1.duration_since(window.0).unwrap_or_default() > longest {
        return Err(invalid(
            format!(
                "a {interval} series covers at most {} days; ask for a shorter timeframe.",
                longest.as_secs() / 86_400
            ),
            "/data/attributes/timeframe",
        ));
    }
    Ok(intervals(interval, window))
}

fn parse_request<'a>(
    document: &'a Value,
    kind: &ReportKind,
    schema: &str,
) -> Result<Request<'a>, Response> {
    let (window, filter) = window_and_filter(document, schema)?;
    let attributes = &document["data"]["attributes"];
    Ok(Request {
        window,
        statistics: attributes["statistics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect(),
        group_by: match attributes["group_by"].as_array() {
            Some(keys) => keys.iter().filter_map(Value::as_str).collect(),
            None => vec![kind.owner_id, kind.message_id, "send_channel"],
        },
        filter,
        conversion_metric: attributes["conversion_metric_id"]
            .as_str()
            .unwrap_or_default(),
    })
}

/// The statistics per group in `window`, groups in a stable order; and the report's
/// relationships (the owners and messages counted).
fn compute(
    store: &Store,
    kind: &ReportKind,
    request: &Request,
    window: (SystemTime, SystemTime),
) -> (Vec<Row>, Value) {
    let conversion_name = store
        .metrics
        .get(request.conversion_metric)
        .and_then(|m| m["attributes"]["name"].as_str())
        .map(str::to_string);
    let messages = messages(store, kind);
    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    for (channel, names) in ENGAGEMENT {
        if !messages.iter().any(|m| m.channel == channel) {
            continue;
        }
        for (slot, name) in names.iter().enumerate() {
            for event in events_of(store, name, window) {
                let Some(message) = event["attributes"]["event_properties"]["$message"].as_str()
                else {
                    continue;
                };
                let tally = tallies.entry(message.to_string()).or_default();
                tally.events[slot] += 1;
                tally.profiles[slot]
                    .insert(event["relationships"]["profile"]["data"]["id"].to_string());
            }
        }
    }
    if let Some(name) = &conversion_name {
        for event in events_of(store, name, window) {
            let properties = &event["attributes"]["event_properties"];
            let Some(message) = properties["$attributed_message"].as_str() else {
                continue;
            };
            let tally = tallies.entry(message.to_string()).or_default();
            tally.conversions += 1;
            tally
                .converters
                .insert(event["relationships"]["profile"]["data"]["id"].to_string());
            tally.conversion_value += properties["$value"].as_f64().unwrap_or(0.0);
        }
    }
    // Messages with the same grouping values are summed.
    let empty = Tally::default();
    let mut groups: BTreeMap<String, (Map<String, Value>, Vec<&Tally>)> = BTreeMap::new();
    let (mut owners, mut message_refs) = (Vec::new(), Vec::new());
    for message in &messages {
        let mut all = Map::new();
        for (key, value) in [
            (kind.owner_id, json!(message.owner)),
            (kind.owner_name, message.owner_name.clone()),
            (kind.message_id, json!(message.id)),
            (kind.message_name, message.name.clone()),
            ("send_channel", json!(message.channel)),
        ] {
            all.insert(key.to_string(), value);
        }
        let view = json!({"attributes": all});
        if !request
            .filter
            .conditions()
            .iter()
            .all(|c| crate::pagination::matches(&view, c))
        {
            continue;
        }
        let groupings: Map<String, Value> = request
            .group_by
            .iter()
            .map(|key| {
                (
                    key.to_string(),
                    all.get(*key).cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        let entry = groups
            .entry(Value::Object(groupings.clone()).to_string())
            .or_insert_with(|| (groupings, Vec::new()));
        entry.1.push(tallies.get(&message.id).unwrap_or(&empty));
        let owner = json!({"type": kind.owner_type, "id": message.owner});
        if !owners.contains(&owner) {
            owners.push(owner);
        }
        message_refs
            .push(json!({"type": format!("{}-message", kind.owner_type), "id": message.id}));
    }
    let results = groups
        .into_values()
        .map(|(groupings, parts)| {
            let mut sum = Tally::default();
            for part in parts {
                for i in 0..6 {
                    sum.events[i] += part.events[i];
                    sum.profiles[i].extend(part.profiles[i].iter().cloned());
                }
                sum.conversions += part.conversions;
                sum.converters.extend(part.converters.iter().cloned());
                sum.conversion_value += part.conversion_value;
            }
            (
                groupings,
                request
                    .statistics
                    .iter()
                    .map(|s| (s.to_string(), statistic(s, &sum)))
                    .collect(),
            )
        })
        .collect();
    let mut relationships = json!({kind.relationship: {"data": owners}});
    if kind.owner_type == "flow" {
        relationships["flow-messages"] = json!({"data": message_refs});
    }
    (results, relationships)
}

fn parse_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice(body)
        .map_err(|e| invalid(format!("The request body is not valid JSON: {e}"), "/"))
}

/// `query_campaign_values` and `query_flow_values`.
async fn values_report(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
    kind: &'static ReportKind,
) -> Response {
    let document = match parse_body(&body) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let request = match parse_request(&document, kind, kind.request_schema) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let store = shared.store.lock().unwrap();
    let (results, relationships) = compute(&store, kind, &request, request.window);
    let results: Vec<Value> = results
        .into_iter()
        .map(|(groupings, statistics)| json!({"groupings": groupings, "statistics": statistics}))
        .collect();
    json_api(
        StatusCode::OK,
        json!({"data": {"type": kind.report_type, "attributes": {"results": results}, "relationships": relationships}, "links": {"self": format!("/api/{}s/", kind.report_type)}}),
    )
}

/// The starts of the intervals that cover `[start, end)`: hours, days, weeks (from the start)
/// or calendar months, in UTC.
fn intervals(interval: &str, (start, end): (SystemTime, SystemTime)) -> Vec<SystemTime> {
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
    let (first, last) = (secs(start), secs(end));
    let mut starts = Vec::new();
    match interval {
        "monthly" => {
            let (mut y, mut m, _) = klaviyo_bridge::time::civil_from_days((first / 86_400) as i64);
            loop {
                let day = klaviyo_bridge::time::days_from_civil(y, i64::from(m), 1).max(0) as u64;
                let month_start = (day * 86_400).max(first - first % 86_400);
                if month_start >= last || starts.len() > 1_000 {
                    break;
                }
                starts.push(at(month_start));
                (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            }
        }
        other => {
            let step = match other {
                "hourly" => 3_600,
                "weekly" => 7 * 86_400,
                _ => 86_400,
            };
            let mut t = first - first % step.min(86_400);
            while t < last && starts.len() <= 10_000 {
                starts.push(at(t));
                t += step;
            }
        }
    }
    starts
}

/// Rows per interval zipped into series: each group's statistics become arrays, one value per
/// interval (0 where the group had nothing then).
fn series(
    starts: &[SystemTime],
    end: SystemTime,
    mut rows: impl FnMut((SystemTime, SystemTime)) -> Vec<Row>,
) -> Vec<Value> {
    let buckets: Vec<Vec<Row>> = starts
        .iter()
        .enumerate()
        .map(|(n, start)| rows((*start, starts.get(n + 1).copied().unwrap_or(end))))
        .collect();
    let mut groups: BTreeMap<String, (Map<String, Value>, Vec<String>)> = BTreeMap::new();
    for (groupings, statistics) in buckets.iter().flatten() {
        let entry = groups
            .entry(Value::Object(groupings.clone()).to_string())
            .or_insert_with(|| (groupings.clone(), Vec::new()));
        for name in statistics
            .keys()
            .filter(|name| !entry.1.contains(name))
            .cloned()
            .collect::<Vec<_>>()
        {
            entry.1.push(name);
        }
    }
    groups
        .into_iter()
        .map(|(_, (groupings, names))| {
            let statistics: Map<String, Value> = names
                .into_iter()
                .map(|name| {
                    let values: Vec<Value> = buckets
                        .iter()
                        .map(|bucket| {
                            bucket
                                .iter()
                                .find(|(g, _)| *g == groupings)
                                .and_then(|(_, stats)| stats.get(&name).cloned())
                                .unwrap_or(json!(0))
                        })
                        .collect();
                    (name, Value::Array(values))
                })
                .collect();
            json!({"groupings": groupings, "statistics": statistics})
        })
        .collect()
}

fn series_answer(
    report_type: &str,
    starts: &[SystemTime],
    results: Vec<Value>,
    relationships: Option<Value>,
) -> Response {
    let date_times: Vec<String> = starts
        .iter()
        .map(|t| klaviyo_bridge::time::format_iso8601(*t))
        .collect();
    let mut data =
        json!({"type": report_type, "attributes": {"results": results, "date_times": date_times}});
    if let Some(relationships) = relationships {
        data["relationships"] = relationships;
    }
    json_api(
        StatusCode::OK,
        json!({"data": data, "links": {"self": format!("/api/{report_type}s/")}}),
    )
}

/// `query_flow_series`: the flow statistics per interval.
async fn series_report(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
    kind: &'static ReportKind,
    schema: &'static str,
    report_type: &'static str,
) -> Response {
    let document = match parse_body(&body) {
        Ok(d) => d,
        Err(e) => return e,
    };
    let request = match parse_request(&document, kind, schema) {
        Ok(r) => r,
        Err(e) => return e,
    };
    let starts = match series_starts(
        document["data"]["attributes"]["interval"]
            .as_str()
            .unwrap_or("daily"),
        request.window,
    ) {
        Ok(starts) => starts,
        Err(e) => return e,
    };
    let store = shared.store.lock().unwrap();
    // Every interval names the same flows and messages; they are kept from the last one.
    let mut relationships = None;
    let results = series(&starts, request.window.1, |window| {
        let (rows, links) = compute(&store, kind, &request, window);
        relationships = Some(links);
        rows
    });
    let relationships =
        relationships.unwrap_or_else(|| compute(&store, kind, &request, request.window).1);
    series_answer(report_type, &starts, results, Some(relationships))
}

/// Parses and validates a report body, and reads its timeframe and filter.
fn report_request(
    body: &Bytes,
    schema: &str,
) -> Result<(Value, (SystemTime, SystemTime), Filter), Response> {
    let document = parse_body(body)?;
    let (window, filter) = window_and_filter(&document, schema)?;
    Ok((document, window, filter))
}

fn kept(filter: &Filter, groupings: &Map<String, Value>) -> bool {
    let view = json!({"attributes": groupings});
    filter
        .conditions()
        .iter()
        .all(|c| crate::pagination::matches(&view, c))
}

/// Per segment: `total_members` now; `members_added`, the members whose profile was created
/// in the window. The sandbox keeps no membership history, so `members_removed` is 0 and
/// `net_members_changed` equals `members_added`.
/// Each segment the filter keeps, with its member profiles now: the same for every interval
/// of a series, so evaluated once.
fn segment_memberships(store: &Store, filter: &Filter) -> Vec<(Map<String, Value>, Vec<Value>)> {
    store
        .resources
        .get("segment")
        .into_iter()
        .flat_map(|m| m.values())
        .map(|segment| {
            (
                [("segment_id".to_string(), segment["id"].clone())]
                    .into_iter()
                    .collect::<Map<String, Value>>(),
                segment,
            )
        })
        .filter(|(groupings, _)| kept(filter, groupings))
        .map(|(groupings, segment)| {
            (
                groupings,
                crate::emulation::segment_members(store, segment)
                    .iter()
                    .filter_map(|id| store.profiles.get(id))
                    .collect(),
            )
        })
        .collect()
}

fn segment_rows(
    memberships: &[(Map<String, Value>, Vec<Value>)],
    statistics: &[&str],
    (start, end): (SystemTime, SystemTime),
) -> Vec<Row> {
    memberships
        .iter()
        .map(|(groupings, members)| {
            let added = members
                .iter()
                .filter(|p| {
                    p["attributes"]["created"]
                        .as_str()
                        .and_then(klaviyo_bridge::time::parse_iso8601)
                        .is_some_and(|t| t >= start && t < end)
                })
                .count();
            let values: Map<String, Value> = statistics
                .iter()
                .map(|name| {
                    let value = match *name {
                        "total_members" => members.len(),
                        "members_added" | "net_members_changed" => added,
                        _ => 0,
                    };
                    (name.to_string(), json!(value))
                })
                .collect();
            (groupings.clone(), values)
        })
        .collect()
}

fn statistic_names(document: &Value) -> Vec<&str> {
    document["data"]["attributes"]["statistics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn values_answer(report_type: &str, rows: Vec<Row>) -> Response {
    let results: Vec<Value> = rows
        .into_iter()
        .map(|(groupings, statistics)| json!({"groupings": groupings, "statistics": statistics}))
        .collect();
    json_api(
        StatusCode::OK,
        json!({"data": {"type": report_type, "attributes": {"results": results}}, "links": {"self": format!("/api/{report_type}s/")}}),
    )
}

/// `query_segment_values` and `query_segment_series`.
async fn segment_report(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
    series_of: bool,
) -> Response {
    let schema = if series_of {
        "SegmentSeriesRequestDTO"
    } else {
        "SegmentValuesRequestDTO"
    };
    let (document, window, filter) = match report_request(&body, schema) {
        Ok(parts) => parts,
        Err(e) => return e,
    };
    let memberships = segment_memberships(&shared.store.lock().unwrap(), &filter);
    let statistics = statistic_names(&document);
    if !series_of {
        return values_answer(
            "segment-values-report",
            segment_rows(&memberships, &statistics, window),
        );
    }
    let starts = match series_starts(
        document["data"]["attributes"]["interval"]
            .as_str()
            .unwrap_or("daily"),
        window,
    ) {
        Ok(starts) => starts,
        Err(e) => return e,
    };
    let results = series(&starts, window.1, |w| {
        segment_rows(&memberships, &statistics, w)
    });
    series_answer("segment-series-report", &starts, results, None)
}

/// Events and distinct profiles per statistic.
type Counts = BTreeMap<&'static str, (u64, HashSet<String>)>;

/// Form engagement metrics and the statistics they feed (events count; `_uniques` profiles).
const FORM_METRICS: [(&str, &str); 6] = [
    ("Viewed Form", "viewed_form"),
    ("Submitted Form", "submits"),
    ("Closed Form", "closed_form"),
    ("Qualified Form", "qualified_form"),
    ("Viewed Form Step", "viewed_form_step"),
    ("Submitted Form Step", "submitted_form_step"),
];

/// Form statistics per group (`form_id`, `form_version_id`) from form events carrying `$form`
/// and `$form_version`; `submit_rate` is unique submitters over unique viewers.
fn form_rows(
    store: &Store,
    statistics: &[&str],
    group_by: &[&str],
    window: (SystemTime, SystemTime),
    filter: &Filter,
) -> Vec<Row> {
    let mut groups: BTreeMap<String, (Map<String, Value>, Counts)> = BTreeMap::new();
    for (metric, statistic) in FORM_METRICS {
        for event in events_of(store, metric, window) {
            let properties = &event["attributes"]["event_properties"];
            let all = json!({"form_id": properties["$form"], "form_version_id": properties["$form_version"]});
            if all["form_id"].is_null() {
                continue;
            }
            let groupings: Map<String, Value> = group_by
                .iter()
                .map(|k| (k.to_string(), all[*k].clone()))
                .collect();
            if !kept(filter, &groupings) {
                continue;
            }
            let entry = groups
                .entry(Value::Object(groupings.clone()).to_string())
                .or_insert_with(|| (groupings, BTreeMap::new()));
            let counts = entry.1.entry(statistic).or_default();
            counts.0 += 1;
            counts
                .1
                .insert(event["relationships"]["profile"]["data"]["id"].to_string());
        }
    }
    groups
        .into_values()
        .map(|(groupings, counts)| {
            let count = |name: &str| counts.get(name).map_or(0, |c| c.0);
            let uniques = |name: &str| counts.get(name).map_or(0, |c| c.1.len());
            let values: Map<String, Value> = statistics
                .iter()
                .map(|name| {
                    let value = match *name {
                        "submit_rate" => json!(ratio(
                            uniques("submits") as f64,
                            uniques("viewed_form") as f64
                        )),
                        unique if unique.ends_with("_uniques") => {
                            json!(uniques(unique.trim_end_matches("_uniques")))
                        }
                        other => json!(count(other)),
                    };
                    (name.to_string(), value)
                })
                .collect();
            (groupings, values)
        })
        .collect()
}

/// `query_form_values` and `query_form_series`.
async fn form_report(State(shared): State<Arc<Shared>>, body: Bytes, series_of: bool) -> Response {
    let schema = if series_of {
        "FormSeriesRequestDTO"
    } else {
        "FormValuesRequestDTO"
    };
    let (document, window, filter) = match report_request(&body, schema) {
        Ok(parts) => parts,
        Err(e) => return e,
    };
    let attributes = &document["data"]["attributes"];
    let group_by: Vec<&str> = attributes["group_by"].as_array().map_or_else(
        || vec!["form_id"],
        |keys| keys.iter().filter_map(Value::as_str).collect(),
    );
    let statistics = statistic_names(&document);
    let store = shared.store.lock().unwrap();
    if !series_of {
        return values_answer(
            "form-values-report",
            form_rows(&store, &statistics, &group_by, window, &filter),
        );
    }
    let starts = match series_starts(attributes["interval"].as_str().unwrap_or("daily"), window) {
        Ok(starts) => starts,
        Err(e) => return e,
    };
    let results = series(&starts, window.1, |w| {
        form_rows(&store, &statistics, &group_by, w, &filter)
    });
    series_answer("form-series-report", &starts, results, None)
}

/// One interval's aggregate: events, the sum of their `$value`, the profiles behind them.
type Slot = (u64, f64, HashSet<String>);

/// `query_metric_aggregates`: for one metric in `[greater-or-equal, less-than)` of `datetime`,
/// per interval (`hour`, `day`, `week`, `month`; UTC) and per value of the `by` dimensions
/// (event properties such as `$message` or `Campaign Name`): `count`, `sum_value` (of `$value`)
/// and `unique` (profiles).
async fn metric_aggregates(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let document = match parse_body(&body) {
        Ok(d) => d,
        Err(e) => return e,
    };
    if let Err(problem) = SHAPES.validate(SHAPES.named("MetricAggregateQuery"), &document, "") {
        return invalid(problem.detail, &problem.pointer);
    }
    let attributes = &document["data"]["attributes"];
    let metric_id = attributes["metric_id"].as_str().unwrap_or_default();
    let conditions: Vec<Condition> = attributes["filter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f.as_str().and_then(|f| Filter::parse(f).ok()))
        .flat_map(|f| f.conditions().to_vec())
        .collect();
    let bound = |op: &str| {
        conditions
            .iter()
            .find(|c| c.operator == op && c.field == "datetime")
            .and_then(|c| match &c.value {
                FilterValue::DateTime(t) | FilterValue::Str(t) => {
                    klaviyo_bridge::time::parse_iso8601(t)
                }
                _ => None,
            })
    };
    let (Some(start), Some(end)) = (bound("greater-or-equal"), bound("less-than")) else {
        return invalid(
            "filter needs greater-or-equal(datetime,…) and less-than(datetime,…).",
            "/data/attributes/filter",
        );
    };
    let interval = match attributes["interval"].as_str().unwrap_or("day") {
        "hour" => "hourly",
        "week" => "weekly",
        "month" => "monthly",
        _ => "daily",
    };
    let starts = intervals(interval, (start, end));
    let by: Vec<&str> = attributes["by"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let measurements: Vec<&str> = attributes["measurements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let store = shared.store.lock().unwrap();
    let name = store
        .metrics
        .get(metric_id)
        .and_then(|m| m["attributes"]["name"].as_str())
        .map(str::to_string);
    // (dimension values) → per interval: count, sum, profiles.
    let mut groups: BTreeMap<Vec<String>, Vec<Slot>> = BTreeMap::new();
    for event in name
        .as_deref()
        .map(|n| events_of(&store, n, (start, end)))
        .unwrap_or_default()
    {
        let Some(at) = event["attributes"]["datetime"]
            .as_str()
            .and_then(klaviyo_bridge::time::parse_iso8601)
        else {
            continue;
        };
        let slot = starts.iter().rposition(|s| *s <= at).unwrap_or(0);
        let properties = &event["attributes"]["event_properties"];
        let dimensions: Vec<String> = by
            .iter()
            .map(|d| match &properties[*d] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            })
            .collect();
        let slots = groups
            .entry(dimensions)
            .or_insert_with(|| vec![(0, 0.0, HashSet::new()); starts.len()]);
        if let Some((count, sum, profiles)) = slots.get_mut(slot) {
            *count += 1;
            *sum += properties["$value"].as_f64().unwrap_or(0.0);
            profiles.insert(event["relationships"]["profile"]["data"]["id"].to_string());
        }
    }
    if groups.is_empty() {
        groups.insert(
            vec![String::new(); by.len()],
            vec![(0, 0.0, HashSet::new()); starts.len()],
        );
    }
    let data: Vec<Value> = groups
        .into_iter()
        .map(|(dimensions, slots)| {
            let values: Map<String, Value> = measurements
                .iter()
                .map(|m| {
                    let series: Vec<Value> = slots
                        .iter()
                        .map(|(count, sum, profiles)| match *m {
                            "count" => json!(count),
                            "sum_value" => json!(sum),
                            _ => json!(profiles.len()),
                        })
                        .collect();
                    (m.to_string(), Value::Array(series))
                })
                .collect();
            json!({"dimensions": dimensions, "measurements": values})
        })
        .collect();
    let dates: Vec<String> = starts
        .iter()
        .map(|t| klaviyo_bridge::time::format_iso8601(*t))
        .collect();
    json_api(
        StatusCode::OK,
        json!({"data": {"type": "metric-aggregate", "id": format!("{metric_id}-{}", crate::store::now_iso()), "attributes": {"dates": dates, "data": data}, "links": {"self": "/api/metric-aggregates/"}}, "links": {"self": "/api/metric-aggregates/"}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_timeframes_end_now_and_custom_ones_are_taken_as_given() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600 + 3600);
        let (start, end) = timeframe(&json!({"key": "last_30_days"}), now).unwrap();
        assert_eq!(
            (end, now.duration_since(start).unwrap().as_secs()),
            (now, 30 * 86_400)
        );
        let (start, _) = timeframe(&json!({"key": "yesterday"}), now).unwrap();
        assert_eq!(
            start
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs(),
            1_767_225_600 - 86_400
        );
        assert!(
            timeframe(
                &json!({"start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}),
                now
            )
            .is_some()
        );
        assert!(timeframe(&json!({"key": "someday"}), now).is_none());
    }

    #[test]
    fn rates_are_rounded_and_zero_without_deliveries() {
        assert_eq!(ratio(1.0, 3.0), 0.333333);
        assert_eq!(ratio(5.0, 0.0), 0.0);
    }
}
