//! Bulk helpers shared by every bulk operation: check items against the limits table, pack
//! them into requests by item count *and* serialized bytes, and poll jobs to completion.
//! Items are checked before anything is sent, so bad input never leaves a batch half-sent.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::error::{BulkFailure, Error, Result};
use crate::operations::BulkLimit;

/// Bytes reserved for the JSON:API envelope around the items of one request.
pub const ENVELOPE_BYTES: usize = 1_024;

/// One item, serialized once, with its position in the caller's input.
#[derive(Debug, Clone)]
pub struct Item {
    /// Index in the caller's input.
    pub index: usize,
    /// The item's identifier for error reports (email, id, unique_id).
    pub key: Option<String>,
    /// The item as JSON.
    pub value: Value,
    /// Its serialized size.
    pub bytes: usize,
}

impl Item {
    /// Serializes `value` to measure it.
    pub fn new(index: usize, key: Option<String>, value: Value) -> Self {
        let bytes = serde_json::to_vec(&value).map_or(usize::MAX, |v| v.len());
        Item {
            index,
            key,
            value,
            bytes,
        }
    }
}

/// Packs items into chunks that each respect `limit`: at most `max_items` items, and a body
/// (items, separating commas and [`ENVELOPE_BYTES`]) of at most `max_payload_bytes`.
/// Items over `max_item_bytes`, or too big for any request, are all reported at once and
/// nothing is packed.
pub fn chunk(items: Vec<Item>, limit: &BulkLimit) -> Result<Vec<Vec<Item>>> {
    let total = items.len();
    let mut chunks = Vec::new();
    let mut failures = Vec::new();
    for packed in pack_lazily(items.into_iter(), limit) {
        match packed {
            Ok(chunk) => chunks.push(chunk),
            Err((item, reason)) => failures.push(BulkFailure {
                index: item.index,
                key: item.key,
                reason,
            }),
        }
    }
    if failures.is_empty() {
        Ok(chunks)
    } else {
        Err(Error::BulkPartial {
            failures,
            total,
            accepted: 0,
        })
    }
}

/// Packs items into requests one at a time (what [`chunk`] does for a whole call), only by their
/// `bytes`: a caller with many large items can pack placeholders that carry just the sizes and
/// make each request's body as it goes out (the catalog sync does), so only the requests in
/// flight are in memory. An item too big for any request comes out alone as `Err` with the
/// reason, for the caller to report, instead of failing the whole call.
pub fn pack_lazily<I: Iterator<Item = Item>>(
    items: I,
    limit: &BulkLimit,
) -> impl Iterator<Item = std::result::Result<Vec<Item>, (Item, String)>> {
    let payload_budget = limit
        .max_payload_bytes
        .map(|max| max.saturating_sub(ENVELOPE_BYTES));
    let (max_items, max_item_bytes, operation) =
        (limit.max_items, limit.max_item_bytes, limit.operation_id);
    let mut items = items.peekable();
    let mut current: Vec<Item> = Vec::new();
    let mut current_bytes = 0usize;
    std::iter::from_fn(move || {
        loop {
            let Some(item) = items.peek() else {
                return (!current.is_empty())
                    .then(|| std::mem::take(&mut current))
                    .map(Ok);
            };
            let too_big = match (max_item_bytes, payload_budget) {
                (Some(max), _) if item.bytes > max => Some(format!(
                    "item is {} bytes; {operation} allows at most {max} bytes per item",
                    item.bytes
                )),
                (_, Some(budget)) if item.bytes > budget => Some(format!(
                    "item is {} bytes; it cannot fit in one {operation} request ({budget} bytes)",
                    item.bytes
                )),
                _ => None,
            };
            if let Some(reason) = too_big {
                let item = items.next().expect("peeked");
                return Some(Err((item, reason)));
            }
            let added = item.bytes + usize::from(!current.is_empty());
            let over_count = current.len() >= max_items;
            let over_bytes = payload_budget.is_some_and(|budget| current_bytes + added > budget);
            if !current.is_empty() && (over_count || over_bytes) {
                current_bytes = 0;
                return Some(Ok(std::mem::take(&mut current)));
            }
            let item = items.next().expect("peeked");
            current_bytes += item.bytes + usize::from(!current.is_empty());
            current.push(item);
        }
    })
}

/// A submitted bulk job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRef {
    /// The job id (`None` for operations that return no job, e.g. event bulk create).
    pub id: Option<String>,
    /// Indices (in the caller's input) of the items the job carries.
    pub first_index: usize,
    /// Number of items in the job.
    pub item_count: usize,
}

/// What a bulk call did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BulkReport {
    /// Jobs (or requests) submitted, in order.
    pub jobs: Vec<JobRef>,
    /// Items the API accepted.
    pub accepted: usize,
    /// Items that failed, with reasons.
    pub failures: Vec<BulkFailure>,
}

impl BulkReport {
    /// `Ok(self)` when nothing failed, else a [`Error::BulkPartial`] listing the failures.
    pub fn into_result(self, total: usize) -> Result<Self> {
        if self.failures.is_empty() {
            Ok(self)
        } else {
            Err(Error::BulkPartial {
                failures: self.failures,
                total,
                accepted: self.accepted,
            })
        }
    }
}

/// How to poll a job.
#[derive(Debug, Clone)]
pub struct PollOptions {
    /// First wait between polls; doubles up to `max_interval`.
    pub interval: Duration,
    /// Longest wait between polls.
    pub max_interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            interval: Duration::from_millis(250),
            max_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::bulk_limit;
    use serde_json::json;

    fn limit(max_items: usize, payload: Option<usize>, item: Option<usize>) -> BulkLimit {
        BulkLimit {
            operation_id: "test",
            max_items,
            max_payload_bytes: payload,
            max_item_bytes: item,
            max_jobs_in_flight: None,
            source: "test",
        }
    }

    /// An item whose JSON is exactly `bytes` long: a string of bytes-2 characters plus quotes.
    fn sized(index: usize, bytes: usize) -> Item {
        let item = Item::new(index, None, Value::String("x".repeat(bytes - 2)));
        assert_eq!(item.bytes, bytes);
        item
    }

    #[test]
    fn splits_by_count() {
        let items: Vec<Item> = (0..2_501)
            .map(|i| Item::new(i, None, json!({"i": i})))
            .collect();
        let chunks = chunk(items, bulk_limit("bulk_create_events")).unwrap();
        assert_eq!(
            chunks.iter().map(Vec::len).collect::<Vec<_>>(),
            [1000, 1000, 501]
        );
        assert_eq!(chunks[2][0].index, 2000);
    }

    #[test]
    fn lazy_packing_makes_the_same_requests_and_reports_what_cannot_fit() {
        let l = limit(3, Some(ENVELOPE_BYTES + 100), Some(60));
        let sizes = [10, 40, 47, 61, 5, 5, 5, 5];
        let items = || sizes.iter().enumerate().map(|(i, b)| sized(i, *b));
        let packed: Vec<_> = pack_lazily(items(), &l).collect();
        let shape: Vec<std::result::Result<Vec<usize>, usize>> = packed
            .iter()
            .map(|p| match p {
                Ok(batch) => Ok(batch.iter().map(|i| i.index).collect()),
                Err((item, _)) => Err(item.index),
            })
            .collect();
        // The item too big for any request is reported as soon as it is met.
        assert_eq!(
            shape,
            [Err(3), Ok(vec![0, 1, 2]), Ok(vec![4, 5, 6]), Ok(vec![7])]
        );
        let fits: Vec<Item> = items().filter(|i| i.bytes <= 60).collect();
        let eager: Vec<Vec<usize>> = chunk(fits.clone(), &l)
            .unwrap()
            .iter()
            .map(|b| b.iter().map(|i| i.index).collect())
            .collect();
        let lazy: Vec<Vec<usize>> = pack_lazily(fits.into_iter(), &l)
            .map(|b| b.unwrap().iter().map(|i| i.index).collect())
            .collect();
        assert_eq!(eager, lazy);
    }

    #[test]
    fn bytes_exactly_at_budget_fit_and_one_more_splits() {
        let l = limit(10, Some(ENVELOPE_BYTES + 100), None);
        // 50 + 1 (comma) + 49 = 100: exactly the budget, one chunk.
        let exact = chunk(vec![sized(0, 50), sized(1, 49)], &l).unwrap();
        assert_eq!(exact.len(), 1);
        // 50 + 1 + 50 = 101: one byte over, two chunks.
        let over = chunk(vec![sized(0, 50), sized(1, 50)], &l).unwrap();
        assert_eq!(over.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1]);
        // An item of exactly the budget fits alone.
        assert_eq!(chunk(vec![sized(0, 100)], &l).unwrap().len(), 1);
    }

    #[test]
    fn oversize_items_are_all_reported_and_nothing_is_packed() {
        let l = limit(10, Some(ENVELOPE_BYTES + 1000), Some(60));
        let err = chunk(
            vec![sized(0, 10), sized(1, 61), sized(2, 60), sized(3, 500)],
            &l,
        )
        .unwrap_err();
        match err {
            Error::BulkPartial {
                failures,
                total,
                accepted,
            } => {
                assert_eq!((total, accepted), (4, 0));
                assert_eq!(failures.iter().map(|f| f.index).collect::<Vec<_>>(), [1, 3]);
                assert!(
                    failures[0].reason.contains("at most 60 bytes per item"),
                    "{}",
                    failures[0].reason
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
