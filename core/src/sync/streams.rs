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

/// A daily report of each record of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The stream whose records are each reported on (`metrics`).
    pub per: &'static str,
    /// The measurements asked for, each a column.
    pub measurements: &'static [&'static str],
}

/// The columns of the daily metric aggregates: `id` (`<metric_id>:<day>`), `metric_id`,
/// `date`, then each of the spec's measurements (`METRIC_AGGREGATE_MEASUREMENTS`).
static METRIC_AGGREGATE_COLUMNS: LazyLock<Vec<Column>> = LazyLock::new(|| {
    let mut columns = vec![
        Column {
            name: "id",
            source: Source::Id,
            kind: ColumnKind::Str,
        },
        Column {
            name: "metric_id",
            source: Source::Parent,
            kind: ColumnKind::Str,
        },
        Column {
            name: "date",
            source: Source::Attribute("date"),
            kind: ColumnKind::Timestamp,
        },
    ];
    columns.extend(
        super::columns::METRIC_AGGREGATE_MEASUREMENTS
            .iter()
            .map(|name| Column {
                name,
                source: Source::Attribute(name),
                kind: ColumnKind::Float,
            }),
    );
    columns
});

impl Stream {
    /// Its columns: the operation's (from the spec), and for a child stream the parent's id
    /// where the resource does not already carry it.
    pub fn columns(&self) -> Option<&'static [Column]> {
        if self.report.is_some() {
            return Some(METRIC_AGGREGATE_COLUMNS.as_slice());
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
    Stream {
        name: "metric_aggregates",
        operation: "query_metric_aggregates",
        key: Some("date"),
        bounds: Bounds::GeLt,
        sliced: false,
        partitions: &[],
        parent: None,
        key_columns: &["id"],
        report: Some(Report {
            per: "metrics",
            measurements: super::columns::METRIC_AGGREGATE_MEASUREMENTS,
        }),
    },
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
