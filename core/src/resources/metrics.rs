//! Metrics: list, get, and metric aggregates (counts and sums over time).

use serde_json::{Value, json};

use super::{call, call_one, non_empty, pager};
use crate::client::{Client, RequestOptions};
use crate::error::{Error, Result};
use crate::pagination::{ListParams, Pager};
use crate::resource::{Document, Resource};

/// A metric aggregate query.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateQuery {
    /// The metric.
    pub metric_id: String,
    /// e.g. `count`, `sum_value`, `unique`.
    pub measurements: Vec<String>,
    /// `hour`, `day`, `week` or `month`.
    pub interval: String,
    /// Start (inclusive), ISO 8601.
    pub start: String,
    /// End (exclusive), ISO 8601.
    pub end: String,
    /// Extra filter conditions (e.g. `equals($attributed_flow,"…")`).
    pub filters: Vec<String>,
    /// Group-by dimensions.
    pub by: Vec<String>,
    /// IANA time zone.
    pub timezone: String,
}

impl AggregateQuery {
    /// Daily counts of `metric_id` between `start` and `end`.
    pub fn daily_count(
        metric_id: impl Into<String>,
        start: impl Into<String>,
        end: impl Into<String>,
    ) -> Self {
        AggregateQuery {
            metric_id: metric_id.into(),
            measurements: vec!["count".into()],
            interval: "day".into(),
            start: start.into(),
            end: end.into(),
            filters: Vec::new(),
            by: Vec::new(),
            timezone: "UTC".into(),
        }
    }

    fn to_body(&self) -> Result<Value> {
        if self.measurements.is_empty() {
            return Err(Error::InvalidInput(
                "metric aggregate needs at least one measurement (e.g. count)".into(),
            ));
        }
        let mut filter = vec![
            format!("greater-or-equal(datetime,{})", self.start),
            format!("less-than(datetime,{})", self.end),
        ];
        filter.extend(self.filters.iter().cloned());
        let mut attributes = json!({
            "metric_id": non_empty("metric id", &self.metric_id)?,
            "measurements": self.measurements,
            "interval": self.interval,
            "filter": filter,
            "timezone": self.timezone,
        });
        if !self.by.is_empty() {
            attributes["by"] = json!(self.by);
        }
        Ok(json!({"data": {"type": "metric-aggregate", "attributes": attributes}}))
    }
}

/// The `metrics` resource.
pub struct Metrics<'a> {
    pub(crate) client: &'a Client,
}

impl Metrics<'_> {
    /// Lists metrics (filter on `integration.name`, `integration.category`).
    pub fn list(&self, params: ListParams) -> Result<Pager> {
        pager(self.client, "get_metrics", &[], params)
    }
    /// Gets a metric.
    pub async fn get(&self, id: &str) -> Result<Resource> {
        call_one(
            self.client,
            "get_metric",
            &[("id", non_empty("metric id", id)?)],
            None,
        )
        .await
    }
    /// Runs a metric aggregate query.
    pub async fn aggregate(&self, query: &AggregateQuery) -> Result<Document> {
        call(
            self.client,
            "query_metric_aggregates",
            &[],
            Vec::new(),
            Some(query.to_body()?),
            &RequestOptions::default(),
        )
        .await
    }
}
