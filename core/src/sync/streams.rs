//! The streams a sync can read: which operation lists each, and how its replication key can
//! be filtered (the spec's operators for that field differ from stream to stream).

use std::sync::LazyLock;

use super::schema::{Column, ColumnKind, Source, columns_of};

/// How a stream's replication key can be bounded on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bounds {
    /// `greater-or-equal` and `less-than`: a window `[a, b)` exactly.
    GeLt,
    /// Only `greater-than` and `less-than` (profiles): the window is widened by a second each
    /// way on the server and cut to `[a, b)` here.
    GtLt,
    /// Only `greater-than` (lists, segments): `greater-than(a - 1 s)`, cut to `[a, b)` here.
    GtOnly,
    /// No filter on any timestamp: every sync reads the whole stream (a snapshot).
    FullRefresh,
}

/// What a child stream is read under: each record of a parent stream, by its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parent {
    /// The parent stream (itself possibly a child: flow messages are under flow actions,
    /// under flows).
    pub stream: &'static str,
    /// The column that holds the parent's id.
    pub column: &'static str,
}

/// One stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stream {
    /// Its name: the folder, table and Singer stream.
    pub name: &'static str,
    /// The operation that lists it.
    pub operation: &'static str,
    /// The attribute incremental syncs filter on.
    pub key: Option<&'static str>,
    /// How the key can be filtered.
    pub bounds: Bounds,
    /// Whether a window is split into time slices read concurrently.
    pub sliced: bool,
    /// Filter clauses the operation requires, one partition each (campaigns need a channel).
    pub partitions: &'static [&'static str],
    /// For a child stream, read per parent record (`operation` takes the parent's `id`).
    pub parent: Option<Parent>,
    /// The columns that identify a row: `id`, or for a membership (a profile in many lists)
    /// the parent's id and `id`.
    pub key_columns: &'static [&'static str],
    /// A report read by query (`operation` is a POST) for each record of a stream, its rows
    /// per day: each sync re-reads a lookback window, as numbers attributed to a day change
    /// for days after it.
    pub report: Option<Report>,
}

/// What a report stream asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// `query_metric_aggregates`: each metric's measurements per UTC day.
    MetricAggregates,
    /// Each message's statistics over one timeframe (`query_campaign_values`,
    /// `query_flow_values`).
    Values,
    /// Each message's statistics per UTC day (`query_flow_series`).
    Series,
}

/// A report read by query (its stream's `operation` is a POST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// What it asks for.
    pub kind: ReportKind,
    /// The stream whose records it is asked about: `metrics` (one query each), `campaigns`
    /// (the ones sent in a slice, up to 100 a query); none for a report of the whole account.
    pub per: Option<&'static str>,
    /// The groupings asked for, each a column; the first two are the ones the spec requires
    /// (the campaign or flow, and the message).
    pub group_by: &'static [&'static str],
    /// The days one slice covers: the longest timeframe one query may (a year; 60 days of a
    /// daily series), or for campaigns the send dates batched into one query.
    pub slice_days: i64,
}

impl Report {
    /// The statistics (measurements) asked for, each a column: all the spec lists.
    pub fn statistics(&self, operation: &str) -> &'static [&'static str] {
        match self.kind {
            ReportKind::MetricAggregates => super::columns::METRIC_AGGREGATE_MEASUREMENTS,
            _ => message_report(operation).map_or(&[], |r| r.2),
        }
    }

    /// Whether the report needs a conversion metric (the message reports do).
    pub fn needs_conversion_metric(&self) -> bool {
        self.kind != ReportKind::MetricAggregates
    }
}

/// A message report's row of the generated table: (operation, request `type`, statistics,
/// allowed groupings).
pub fn message_report(
    operation: &str,
) -> Option<&'static (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
)> {
    super::columns::MESSAGE_REPORTS
        .iter()
        .find(|(id, ..)| *id == operation)
}

/// A report stream's columns: `id`; for metric aggregates `metric_id` and `date`; for a
/// message report its groupings, then `date` (a series) or `timeframe_start` and
/// `timeframe_end` (values); then each statistic, a number.
fn report_columns(stream: &Stream, report: &Report) -> Vec<Column> {
    let text = |name: &'static str, source| Column {
        name,
        source,
        kind: ColumnKind::Str,
    };
    let time = |name: &'static str| Column {
        name,
        source: Source::Attribute(name),
        kind: ColumnKind::Timestamp,
    };
    let mut columns = vec![text("id", Source::Id)];
    match report.kind {
        ReportKind::MetricAggregates => {
            columns.extend([text("metric_id", Source::Parent), time("date")]);
        }
        ReportKind::Values | ReportKind::Series => {
            columns.extend(
                report
                    .group_by
                    .iter()
                    .map(|name| text(name, Source::Attribute(name))),
            );
            if report.kind == ReportKind::Series {
                columns.push(time("date"));
            } else {
                columns.extend([time("timeframe_start"), time("timeframe_end")]);
            }
        }
    }
    columns.extend(
        report
            .statistics(stream.operation)
            .iter()
            .map(|name| Column {
                name,
                source: Source::Attribute(name),
                kind: ColumnKind::Float,
            }),
    );
    columns
}

impl Stream {
    /// The column whose month names the folder a file destination keeps each row in
    /// (`month=2026-01`): the key of a stream whose key is when its record happened, which
    /// never changes (an event's `datetime`, a daily report's `date`). Other keys
    /// (`updated`) move as records change, and snapshots have none.
    pub fn month_column(&self) -> Option<&'static str> {
        self.key.filter(|key| matches!(*key, "datetime" | "date"))
    }

    /// Its columns: the operation's (from the spec), and for a child stream the parent's id
    /// where the resource does not already carry it.
    pub fn columns(&self) -> Option<&'static [Column]> {
        if self.report.is_some() {
            static REPORTS: LazyLock<Vec<(&'static str, &'static [Column])>> =
                LazyLock::new(|| {
                    STREAMS
                        .iter()
                        .filter_map(|s| {
                            let columns = report_columns(s, s.report.as_ref()?);
                            // Built once per stream, for the process's life.
                            Some((s.name, &*Vec::leak(columns)))
                        })
                        .collect()
                });
            return REPORTS
                .iter()
                .find(|(name, _)| *name == self.name)
                .map(|(_, columns)| *columns);
        }
        let own = columns_of(self.operation)?;
        let Some(parent) = self.parent else {
            return Some(own);
        };
        if own.iter().any(|c| c.name == parent.column) {
            return Some(own);
        }
        static WITH_PARENT: LazyLock<Vec<(&'static str, &'static [Column])>> =
            LazyLock::new(|| {
                STREAMS
                    .iter()
                    .filter_map(|s| {
                        let parent = s.parent?;
                        let mut columns = columns_of(s.operation)?.to_vec();
                        columns.push(Column {
                            name: parent.column,
                            source: Source::Parent,
                            kind: ColumnKind::Str,
                        });
                        // Built once per stream, for the process's life.
                        Some((s.name, &*Vec::leak(columns)))
                    })
                    .collect()
            });
        WITH_PARENT
            .iter()
            .find(|(name, _)| *name == self.name)
            .map(|(_, columns)| *columns)
    }
}

const fn incremental(
    name: &'static str,
    operation: &'static str,
    key: &'static str,
    bounds: Bounds,
    sliced: bool,
) -> Stream {
    Stream {
        name,
        operation,
        key: Some(key),
        bounds,
        sliced,
        partitions: &[],
        parent: None,
        key_columns: &["id"],
        report: None,
    }
}

const fn snapshot(name: &'static str, operation: &'static str) -> Stream {
    Stream {
        name,
        operation,
        key: None,
        bounds: Bounds::FullRefresh,
        sliced: false,
        partitions: &[],
        parent: None,
        key_columns: &["id"],
        report: None,
    }
}

/// A child stream, read whole each sync under each record of its parent.
const fn child(
    name: &'static str,
    operation: &'static str,
    parent: &'static str,
    column: &'static str,
    key_columns: &'static [&'static str],
) -> Stream {
    Stream {
        name,
        operation,
        key: None,
        bounds: Bounds::FullRefresh,
        sliced: false,
        partitions: &[],
        parent: Some(Parent {
            stream: parent,
            column,
        }),
        key_columns,
        report: None,
    }
}

/// A report stream: read by query, keyed by its rows' day or send time (re-read within the
/// lookback), or without a key a snapshot replaced each sync.
const fn report_stream(
    name: &'static str,
    operation: &'static str,
    key: Option<&'static str>,
    report: Report,
) -> Stream {
    Stream {
        name,
        operation,
        key,
        bounds: match key {
            Some(_) => Bounds::GeLt,
            None => Bounds::FullRefresh,
        },
        sliced: false,
        partitions: &[],
        parent: None,
        key_columns: &["id"],
        report: Some(report),
    }
}

/// Every stream, in the order a sync of all of them reads them.
pub const STREAMS: &[Stream] = &[
    incremental("profiles", "get_profiles", "updated", Bounds::GtLt, true),
    incremental("events", "get_events", "datetime", Bounds::GeLt, true),
    snapshot("metrics", "get_metrics"),
    incremental("lists", "get_lists", "updated", Bounds::GtOnly, false),
    incremental("segments", "get_segments", "updated", Bounds::GtOnly, false),
    Stream {
        name: "campaigns",
        operation: "get_campaigns",
        key: Some("updated_at"),
        bounds: Bounds::GeLt,
        sliced: false,
        partitions: &[
            "equals(messages.channel,'email')",
            "equals(messages.channel,'sms')",
            "equals(messages.channel,'mobile_push')",
        ],
        parent: None,
        key_columns: &["id"],
        report: None,
    },
    incremental("flows", "get_flows", "updated", Bounds::GeLt, false),
    incremental("templates", "get_templates", "updated", Bounds::GeLt, false),
    snapshot("catalog_items", "get_catalog_items"),
    snapshot("catalog_variants", "get_catalog_variants"),
    snapshot("catalog_categories", "get_catalog_categories"),
    snapshot("coupons", "get_coupons"),
    snapshot("tags", "get_tags"),
    // A membership's `id` is the profile's.
    child(
        "list_memberships",
        "get_profile_ids_for_list",
        "lists",
        "list_id",
        &["list_id", "id"],
    ),
    child(
        "segment_memberships",
        "get_profile_ids_for_segment",
        "segments",
        "segment_id",
        &["segment_id", "id"],
    ),
    child(
        "campaign_messages",
        "get_messages_for_campaign",
        "campaigns",
        "campaign_id",
        &["id"],
    ),
    child(
        "flow_actions",
        "get_actions_for_flow",
        "flows",
        "flow_id",
        &["id"],
    ),
    child(
        "flow_messages",
        "get_flow_action_messages",
        "flow_actions",
        "flow_action_id",
        &["id"],
    ),
    child(
        "coupon_codes",
        "get_coupon_codes_for_coupon",
        "coupons",
        "coupon_id",
        &["id"],
    ),
    report_stream(
        "metric_aggregates",
        "query_metric_aggregates",
        Some("date"),
        Report {
            kind: ReportKind::MetricAggregates,
            per: Some("metrics"),
            group_by: &[],
            slice_days: 365,
        },
    ),
    // Each campaign message's statistics since its campaign's send: the campaigns sent in a
    // 30-day slice are asked about together, from the slice's start to the sync's end or a
    // year on (the longest timeframe), whichever is sooner.
    report_stream(
        "campaign_values",
        "query_campaign_values",
        Some("send_time"),
        Report {
            kind: ReportKind::Values,
            per: Some("campaigns"),
            group_by: &["campaign_id", "campaign_message_id", "send_channel"],
            slice_days: 30,
        },
    ),
    // Each flow message's statistics over the year up to the sync's last whole day: one
    // query, replaced each sync.
    report_stream(
        "flow_values",
        "query_flow_values",
        None,
        Report {
            kind: ReportKind::Values,
            per: None,
            group_by: &["flow_id", "flow_message_id", "send_channel"],
            slice_days: 365,
        },
    ),
    // Each flow message's statistics per UTC day, 60 days a query (the longest daily series).
    report_stream(
        "flow_series",
        "query_flow_series",
        Some("date"),
        Report {
            kind: ReportKind::Series,
            per: None,
            group_by: &["flow_id", "flow_message_id", "send_channel"],
            slice_days: 60,
        },
    ),
];

/// A stream by name.
pub fn stream(name: &str) -> Option<&'static Stream> {
    STREAMS.iter().find(|s| s.name == name)
}

/// The stream names, comma-separated (for messages).
pub fn names() -> String {
    STREAMS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}
