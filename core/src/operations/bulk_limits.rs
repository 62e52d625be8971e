//! Bulk and size limits that Klaviyo states only in prose (operation descriptions and the
//! rate-limit docs); the spec has no `maxItems`/`maxLength`. Hand-written, one row per
//! operation, each with where it comes from. Every chunking helper reads its figures here.

/// Limits on one bulk operation's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimit {
    /// The operation these limits apply to (`operationId`).
    pub operation_id: &'static str,
    /// Most items in one request.
    pub max_items: usize,
    /// Largest request body in bytes, where one is stated.
    pub max_payload_bytes: Option<usize>,
    /// Largest single item in bytes, where one is stated.
    pub max_item_bytes: Option<usize>,
    /// Most jobs of this kind in progress at once, where one is stated.
    pub max_jobs_in_flight: Option<usize>,
    /// Where the figures come from.
    pub source: &'static str,
}

const MB: usize = 1_000_000;
const KB: usize = 1_000;

/// The table. Klaviyo writes "5MB" and "100KB"; decimal units are the conservative reading.
pub static BULK_LIMITS: &[BulkLimit] = &[
    BulkLimit {
        operation_id: "bulk_create_events",
        max_items: 1_000,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: Some(100 * KB),
        max_jobs_in_flight: None,
        source: "spec: bulk_create_events description (1,000 events, 5MB payload, 100KB per string)",
    },
    BulkLimit {
        operation_id: "bulk_import_profiles",
        max_items: 10_000,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: Some(100 * KB),
        max_jobs_in_flight: None,
        source: "spec: bulk_import_profiles description (10,000 profiles, 5MB payload, 100KB per profile)",
    },
    BulkLimit {
        operation_id: "bulk_create_catalog_items",
        max_items: 100,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: None,
        max_jobs_in_flight: Some(500),
        source: "spec: catalog bulk job descriptions (100 per job, 5MB, 500 jobs in progress)",
    },
    BulkLimit {
        operation_id: "bulk_update_catalog_items",
        max_items: 100,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: None,
        max_jobs_in_flight: Some(500),
        source: "spec: catalog bulk job descriptions (100 per job, 5MB, 500 jobs in progress)",
    },
    BulkLimit {
        operation_id: "bulk_delete_catalog_items",
        max_items: 100,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: None,
        max_jobs_in_flight: Some(500),
        source: "spec: catalog bulk job descriptions (100 per job, 5MB, 500 jobs in progress)",
    },
    BulkLimit {
        operation_id: "bulk_create_catalog_variants",
        max_items: 100,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: None,
        max_jobs_in_flight: Some(500),
        source: "spec: catalog bulk job descriptions (100 per job, 5MB, 500 jobs in progress)",
    },
    BulkLimit {
        operation_id: "bulk_update_catalog_variants",
        max_items: 100,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: None,
        max_jobs_in_flight: Some(500),
        source: "spec: catalog bulk job descriptions (100 per job, 5MB, 500 jobs in progress)",
    },
    BulkLimit {
        operation_id: "bulk_delete_catalog_variants",
        max_items: 100,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: None,
        max_jobs_in_flight: Some(500),
        source: "spec: catalog bulk job descriptions (100 per job, 5MB, 500 jobs in progress)",
    },
    BulkLimit {
        operation_id: "bulk_create_catalog_categories",
        max_items: 100,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: None,
        max_jobs_in_flight: Some(500),
        source: "spec: catalog bulk job descriptions (100 per job, 5MB, 500 jobs in progress)",
    },
    BulkLimit {
        operation_id: "bulk_update_catalog_categories",
        max_items: 100,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: None,
        max_jobs_in_flight: Some(500),
        source: "spec: catalog bulk job descriptions (100 per job, 5MB, 500 jobs in progress)",
    },
    BulkLimit {
        operation_id: "bulk_delete_catalog_categories",
        max_items: 100,
        max_payload_bytes: Some(5 * MB),
        max_item_bytes: None,
        max_jobs_in_flight: Some(500),
        source: "spec: catalog bulk job descriptions (100 per job, 5MB, 500 jobs in progress)",
    },
    BulkLimit {
        operation_id: "add_profiles_to_list",
        max_items: 1_000,
        max_payload_bytes: None,
        max_item_bytes: None,
        max_jobs_in_flight: None,
        source: "spec: add_profiles_to_list description (up to 1000 profiles per call)",
    },
    BulkLimit {
        operation_id: "remove_profiles_from_list",
        max_items: 1_000,
        max_payload_bytes: None,
        max_item_bytes: None,
        max_jobs_in_flight: None,
        source: "spec: remove_profiles_from_list description (up to 1000 profiles per call)",
    },
    BulkLimit {
        operation_id: "bulk_subscribe_profiles",
        max_items: 1_000,
        max_payload_bytes: None,
        max_item_bytes: None,
        max_jobs_in_flight: None,
        source: "spec: bulk_subscribe_profiles description (up to 1000 profiles)",
    },
    BulkLimit {
        operation_id: "bulk_unsubscribe_profiles",
        max_items: 100,
        max_payload_bytes: None,
        max_item_bytes: None,
        max_jobs_in_flight: None,
        source: "spec: bulk_unsubscribe_profiles description (up to 100 profiles)",
    },
    BulkLimit {
        operation_id: "bulk_suppress_profiles",
        max_items: 100,
        max_payload_bytes: None,
        max_item_bytes: None,
        max_jobs_in_flight: None,
        source: "spec: bulk_suppress_profiles description (up to 100 emails)",
    },
    BulkLimit {
        operation_id: "bulk_unsuppress_profiles",
        max_items: 100,
        max_payload_bytes: None,
        max_item_bytes: None,
        max_jobs_in_flight: None,
        source: "spec: bulk_unsuppress_profiles description (up to 100 emails)",
    },
];

/// The bulk limits of an operation. Panics if the table lacks it: every caller names an
/// operation that the table's test checks is present.
pub fn bulk_limit(operation_id: &str) -> &'static BulkLimit {
    BULK_LIMITS
        .iter()
        .find(|l| l.operation_id == operation_id)
        .unwrap_or_else(|| {
            panic!("no bulk limit for {operation_id}: add it to operations/bulk_limits.rs")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_names_a_real_operation_and_a_source() {
        for limit in BULK_LIMITS {
            assert!(
                crate::operations::operation(limit.operation_id).is_some(),
                "{} is not in the spec",
                limit.operation_id
            );
            assert!(!limit.source.is_empty());
            assert!(limit.max_items > 0);
        }
    }

    #[test]
    fn figures_match_klaviyo_docs() {
        assert_eq!(bulk_limit("bulk_create_events").max_items, 1_000);
        assert_eq!(
            bulk_limit("bulk_create_events").max_payload_bytes,
            Some(5_000_000)
        );
        assert_eq!(bulk_limit("bulk_import_profiles").max_items, 10_000);
        assert_eq!(
            bulk_limit("bulk_import_profiles").max_item_bytes,
            Some(100_000)
        );
        assert_eq!(
            bulk_limit("bulk_create_catalog_items").max_jobs_in_flight,
            Some(500)
        );
        assert_eq!(bulk_limit("bulk_unsubscribe_profiles").max_items, 100);
    }
}
