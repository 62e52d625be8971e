//! `metrics`: metrics and their aggregates. Each method maps Python arguments to the core's
//! types, calls the core, and converts the result (mirrors the core's `resources::metrics`).

use pyo3::prelude::*;
use pyo3::types::PyDict;

use klaviyo_bridge::Client;
use klaviyo_bridge::metrics::AggregateQuery;

use super::{cursor, list_params, one};
use crate::convert::to_py;
use crate::pagination::PageCursor;
use crate::runtime::run;

/// `metrics`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Metrics {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl Metrics {
    /// Metrics.
    #[pyo3(signature = (**options), text_signature = "($self, *, filter=None, sort=None, fields=None, include=None, page_size=None, max_items=None, max_pages=None, cursor=None, timeout=None)")]
    fn list(&self, options: Option<Bound<'_, PyDict>>) -> PyResult<PageCursor> {
        let params = list_params(options.as_ref())?;
        cursor(self.core.metrics().list(params), self.asynchronous)
    }
    /// One metric.
    fn get(&self, py: Python<'_>, id: String) -> PyResult<Py<PyAny>> {
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.metrics().get(&id).await },
            one,
        )
    }
    /// A metric aggregate query; returns the response document.
    #[pyo3(signature = (metric_id, *, start, end, measurements=None, interval="day", filters=None, by=None, timezone="UTC"))]
    #[allow(clippy::too_many_arguments)]
    fn aggregate(
        &self,
        py: Python<'_>,
        metric_id: String,
        start: String,
        end: String,
        measurements: Option<Vec<String>>,
        interval: &str,
        filters: Option<Vec<String>>,
        by: Option<Vec<String>>,
        timezone: &str,
    ) -> PyResult<Py<PyAny>> {
        let mut query = AggregateQuery::daily_count(metric_id, start, end);
        query.measurements = measurements.unwrap_or_else(|| vec!["count".into()]);
        query.interval = interval.to_string();
        query.filters = filters.unwrap_or_default();
        query.by = by.unwrap_or_default();
        query.timezone = timezone.to_string();
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.metrics().aggregate(&query).await },
            |py, doc| to_py(py, doc.raw()),
        )
    }
}
