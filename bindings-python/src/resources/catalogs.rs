//! `catalogs`: the hand-written verbs beside the generated catalog operations, today the feed
//! sync. Maps Python arguments to the core's, calls it, converts the report (mirrors the
//! core's `catalog_sync`).

use pyo3::prelude::*;
use serde_json::{Map, Value, json};

use klaviyo_bridge::Client;

use crate::convert::{from_py, serialized};
use crate::errors::to_py_err;
use crate::runtime::run;

/// `catalogs`
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct Catalogs {
    pub core: Client,
    pub asynchronous: bool,
}

#[pymethods]
impl Catalogs {
    /// Syncs the catalog with a product feed (a file path, or a list of product dicts), or
    /// applies a plan a dry run wrote (`apply_plan=`). Returns the report as a dict.
    #[pyo3(signature = (feed=None, *, mapping=None, feed_format=None, delete_missing=false, dry_run=false, skip_invalid=false, force=false, max_delete_share=None, concurrency=None, plan_out=None, apply_plan=None, lock_dir=None))]
    #[allow(clippy::too_many_arguments)]
    fn sync(
        &self,
        py: Python<'_>,
        feed: Option<&Bound<'_, PyAny>>,
        mapping: Option<&Bound<'_, PyAny>>,
        feed_format: Option<String>,
        delete_missing: bool,
        dry_run: bool,
        skip_invalid: bool,
        force: bool,
        max_delete_share: Option<f64>,
        concurrency: Option<usize>,
        plan_out: Option<std::path::PathBuf>,
        apply_plan: Option<std::path::PathBuf>,
        lock_dir: Option<std::path::PathBuf>,
    ) -> PyResult<Py<PyAny>> {
        let os = py.import("os")?;
        let path_or_value = |object: Option<&Bound<'_, PyAny>>| -> PyResult<Value> {
            match object {
                None => Ok(Value::Null),
                Some(o) if o.hasattr("__fspath__")? => {
                    Ok(Value::String(os.call_method1("fspath", (o,))?.extract()?))
                }
                Some(o) => from_py(o),
            }
        };
        let feed = path_or_value(feed)?;
        let mapping = path_or_value(mapping)?;
        let text = |p: Option<std::path::PathBuf>| p.map(|p| p.display().to_string());
        let mut options = Map::new();
        for (key, value) in [
            ("mapping", mapping),
            ("feed_format", json!(feed_format)),
            ("delete_missing", json!(delete_missing)),
            ("dry_run", json!(dry_run)),
            ("skip_invalid", json!(skip_invalid)),
            ("force", json!(force)),
            ("max_delete_share", json!(max_delete_share)),
            ("concurrency", json!(concurrency)),
            ("plan_out", json!(text(plan_out))),
            ("apply_plan", json!(text(apply_plan))),
            ("lock_dir", json!(text(lock_dir))),
        ] {
            options.insert(key.into(), value);
        }
        let call = klaviyo_bridge::arguments::catalog_sync(feed, Value::Object(options))
            .map_err(to_py_err)?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { call.run(&core).await },
            |py, report| serialized(py, &report),
        )
    }
}
