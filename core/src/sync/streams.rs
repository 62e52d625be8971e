//! The streams a sync can read: which operation lists each, and how its replication key can
//! be filtered (the spec's operators for that field differ from stream to stream).

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
    },
    incremental("flows", "get_flows", "updated", Bounds::GeLt, false),
    incremental("templates", "get_templates", "updated", Bounds::GeLt, false),
    snapshot("catalog_items", "get_catalog_items"),
    snapshot("catalog_variants", "get_catalog_variants"),
    snapshot("catalog_categories", "get_catalog_categories"),
    snapshot("coupons", "get_coupons"),
    snapshot("tags", "get_tags"),
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
