//! The client: options in, namespaces out, and the generic `request`. One native class serves
//! `Client` (blocking, GIL released) and `AsyncClient` (awaitables) by its `asynchronous` flag.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use klaviyo_bridge::auth::Secret;
use klaviyo_bridge::{Binding, ClientBuilder, ClientOptions, Request, RequestOptions};

use crate::convert::{from_py, serialized, to_py};
use crate::errors::to_py_err;
use crate::oauth::{OAuthApp, PyTokens, token_provider};
use crate::pagination::PageCursor;
use crate::resources::{
    Accounts, Catalog, Catalogs, DataPrivacy, Events, Jobs, Lists, Metrics, Profiles, Webhooks,
};
use crate::runtime::run;
use crate::tracker::{Tracker, options as tracker_options};

/// A Klaviyo client (the core's, shared by clones).
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct NativeClient {
    pub core: klaviyo_bridge::Client,
    pub asynchronous: bool,
}

/// Per-request options from keyword arguments.
pub fn request_options(timeout: Option<f64>, revision: Option<String>) -> PyResult<RequestOptions> {
    let timeout = timeout
        .map(|t| klaviyo_bridge::config::seconds(t, "timeout"))
        .transpose()
        .map_err(to_py_err)?;
    Ok(RequestOptions {
        timeout,
        revision,
        ..Default::default()
    })
}

#[pymethods]
impl NativeClient {
    #[new]
    #[pyo3(signature = (api_key=None, *, base_url=None, revision=None, timeout=None, connect_timeout=None, max_retries=None, max_delay=None, rate_limit_wait=None, rate_limit=None, rate_limit_store=None, public_key=None, access_token=None, user_agent_suffix=None, oauth=None, tokens=None, on_token_refresh=None, refresh_margin=None, asynchronous=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        api_key: Option<String>,
        base_url: Option<String>,
        revision: Option<String>,
        timeout: Option<f64>,
        connect_timeout: Option<f64>,
        max_retries: Option<u32>,
        max_delay: Option<f64>,
        rate_limit_wait: Option<f64>,
        rate_limit: Option<bool>,
        rate_limit_store: Option<String>,
        public_key: Option<String>,
        access_token: Option<String>,
        user_agent_suffix: Option<String>,
        oauth: Option<PyRef<'_, OAuthApp>>,
        tokens: Option<PyRef<'_, PyTokens>>,
        on_token_refresh: Option<Py<PyAny>>,
        refresh_margin: Option<f64>,
        asynchronous: bool,
    ) -> PyResult<Self> {
        let options = ClientOptions {
            api_key: api_key.map(Secret::new),
            access_token: access_token.map(Secret::new),
            public_key,
            base_url,
            revision,
            timeout,
            connect_timeout,
            max_retries,
            max_delay,
            rate_limit_wait,
            rate_limit,
            rate_limit_store: rate_limit_store.map(Secret::new),
            user_agent_suffix,
            retry_statuses: None,
        };
        let mut builder = ClientBuilder::from_env()
            .binding(Binding::Python)
            .options(options)
            .map_err(to_py_err)?;
        match (oauth, tokens) {
            (Some(app), Some(tokens)) => {
                builder = builder.token_provider(token_provider(
                    &app,
                    &tokens,
                    on_token_refresh,
                    refresh_margin,
                )?)
            }
            (None, None) => {}
            _ => {
                return Err(to_py_err(klaviyo_bridge::Error::Config(
                    "OAuth clients need both oauth= (an OAuthApp) and tokens= (Tokens)".into(),
                )));
            }
        }
        Ok(NativeClient {
            core: builder.build().map_err(to_py_err)?,
            asynchronous,
        })
    }

    #[getter]
    fn base_url(&self) -> String {
        self.core
            .config()
            .base_url
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    #[getter]
    fn revision(&self) -> String {
        self.core.config().revision.clone()
    }

    #[getter]
    fn asynchronous(&self) -> bool {
        self.asynchronous
    }

    /// The latest `RateLimit-*` reading, as a dict, or None.
    #[getter]
    fn rate_limit_status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        serialized(py, &self.core.rate_limit_status())
    }

    #[getter]
    fn events(&self) -> Events {
        Events {
            core: self.core.clone(),
            asynchronous: self.asynchronous,
        }
    }
    #[getter]
    fn profiles(&self) -> Profiles {
        Profiles {
            core: self.core.clone(),
            asynchronous: self.asynchronous,
        }
    }
    #[getter]
    fn lists(&self) -> Lists {
        Lists {
            core: self.core.clone(),
            asynchronous: self.asynchronous,
        }
    }
    #[getter]
    fn metrics(&self) -> Metrics {
        Metrics {
            core: self.core.clone(),
            asynchronous: self.asynchronous,
        }
    }
    #[getter]
    fn catalog_items(&self) -> Catalog {
        Catalog::new(&self.core, self.asynchronous, "items")
    }
    #[getter]
    fn catalog_variants(&self) -> Catalog {
        Catalog::new(&self.core, self.asynchronous, "variants")
    }
    #[getter]
    fn catalog_categories(&self) -> Catalog {
        Catalog::new(&self.core, self.asynchronous, "categories")
    }
    #[getter]
    fn webhooks(&self) -> Webhooks {
        Webhooks {
            core: self.core.clone(),
            asynchronous: self.asynchronous,
        }
    }
    #[getter]
    fn accounts(&self) -> Accounts {
        Accounts {
            core: self.core.clone(),
            asynchronous: self.asynchronous,
        }
    }
    #[getter]
    fn catalogs(&self) -> Catalogs {
        Catalogs {
            core: self.core.clone(),
            asynchronous: self.asynchronous,
        }
    }
    #[getter]
    fn data_privacy(&self) -> DataPrivacy {
        DataPrivacy {
            core: self.core.clone(),
            asynchronous: self.asynchronous,
        }
    }
    #[getter]
    fn jobs(&self) -> Jobs {
        Jobs {
            core: self.core.clone(),
            asynchronous: self.asynchronous,
        }
    }

    /// A background event tracker (see `Tracker`).
    #[pyo3(signature = (*, flush_at=None, flush_interval=None, max_queue=None, max_batch_bytes=None, when_full=None, max_in_flight=None, spool_dir=None, queue=None, claim_after=None, on_error=None))]
    #[allow(clippy::too_many_arguments)]
    fn tracker(
        &self,
        flush_at: Option<usize>,
        flush_interval: Option<f64>,
        max_queue: Option<usize>,
        max_batch_bytes: Option<usize>,
        when_full: Option<&str>,
        max_in_flight: Option<usize>,
        spool_dir: Option<std::path::PathBuf>,
        queue: Option<String>,
        claim_after: Option<f64>,
        on_error: Option<Py<PyAny>>,
    ) -> PyResult<Tracker> {
        let options = tracker_options(
            flush_at,
            flush_interval,
            max_queue,
            max_batch_bytes,
            when_full,
            max_in_flight,
            spool_dir,
            queue,
            claim_after,
            on_error,
        )?;
        Ok(Tracker {
            inner: self.core.tracker(options).map_err(to_py_err)?,
        })
    }

    /// One stream's records as they are read (see `Export`): the sync engine's slices paged
    /// at once within the rate limits, from `state`'s bookmark (or `since`, ISO 8601) to now
    /// minus `safety_margin` seconds; campaign and flow reports count conversions of
    /// `conversion_metric` (a metric id; default: the account's "Placed Order"); report
    /// streams re-read `lookback` seconds before their bookmark, events `events_lookback`.
    #[pyo3(signature = (stream, *, since=None, state=None, concurrency=None, safety_margin=None, conversion_metric=None, lookback=None, events_lookback=None))]
    #[allow(clippy::too_many_arguments)]
    fn export(
        &self,
        stream: &str,
        since: Option<&str>,
        state: Option<std::path::PathBuf>,
        concurrency: Option<usize>,
        safety_margin: Option<f64>,
        conversion_metric: Option<String>,
        lookback: Option<f64>,
        events_lookback: Option<f64>,
    ) -> PyResult<crate::export::PyExport> {
        let since = since
            .map(|text| {
                klaviyo_bridge::time::parse_iso8601(text).ok_or_else(|| {
                    to_py_err(klaviyo_bridge::Error::InvalidInput(format!(
                        "since={text:?} is not an ISO 8601 time such as 2025-01-01T00:00:00Z"
                    )))
                })
            })
            .transpose()?;
        let seconds = |option: &str, value: Option<f64>| {
            value
                .map(|s| klaviyo_bridge::time::seconds(option, s).map_err(to_py_err))
                .transpose()
        };
        let options = klaviyo_bridge::sync::ExportOptions {
            since,
            state,
            concurrency,
            safety_margin: seconds("safety_margin", safety_margin)?,
            conversion_metric,
            lookback: seconds("lookback", lookback)?,
            events_lookback: seconds("events_lookback", events_lookback)?,
        };
        crate::export::PyExport::start(&self.core, stream, options, self.asynchronous)
    }

    /// Calls any operation by its operation id; returns the response document (or None).
    #[pyo3(signature = (operation_id, *, path=None, query=None, body=None, timeout=None, revision=None))]
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        py: Python<'_>,
        operation_id: String,
        path: Option<Bound<'_, PyDict>>,
        query: Option<Bound<'_, PyDict>>,
        body: Option<Bound<'_, PyAny>>,
        timeout: Option<f64>,
        revision: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let mut request = Request::new(operation_id).options(request_options(timeout, revision)?);
        request.path = pairs(path.as_ref())?;
        request.query = pairs(query.as_ref())?;
        request.body = body.as_ref().map(from_py).transpose()?;
        let core = self.core.clone();
        run(
            py,
            self.asynchronous,
            async move { core.send(request).await?.json() },
            |py, doc| to_py(py, &doc),
        )
    }

    /// Calls a non-paginated operation by id with its arguments by name (the generated
    /// namespaces call this).
    fn call(
        &self,
        py: Python<'_>,
        operation_id: &str,
        args: Bound<'_, PyDict>,
    ) -> PyResult<Py<PyAny>> {
        crate::operations::call(py, &self.core, self.asynchronous, operation_id, &args)
    }

    /// One call by operation id, answering the response body as JSON bytes, or None (the
    /// compatibility layer reads it); a paginated operation sends one page.
    fn document(
        &self,
        py: Python<'_>,
        operation_id: &str,
        args: Bound<'_, PyDict>,
    ) -> PyResult<Py<PyAny>> {
        crate::operations::document(py, &self.core, self.asynchronous, operation_id, &args)
    }

    /// A pager over a paginated operation by id, with its arguments by name.
    fn pager(&self, operation_id: &str, args: Bound<'_, PyDict>) -> PyResult<PageCursor> {
        crate::operations::pager(&self.core, self.asynchronous, operation_id, &args)
    }

    fn __repr__(&self) -> String {
        let auth = match self.core.config().credentials {
            klaviyo_bridge::auth::Credentials::ApiKey(_) => "api key",
            klaviyo_bridge::auth::Credentials::OAuth(_) => "oauth",
            klaviyo_bridge::auth::Credentials::None => "public key only",
        };
        let kind = if self.asynchronous {
            "AsyncClient"
        } else {
            "Client"
        };
        format!(
            "<klaviyo_bridge.{kind} base_url={:?} revision={:?} auth={auth}>",
            self.base_url(),
            self.core.config().revision
        )
    }
}

/// A dict of str → str/int as (name, value) pairs.
fn pairs(dict: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<(String, String)>> {
    let Some(dict) = dict else {
        return Ok(Vec::new());
    };
    dict.iter()
        .map(|(k, v)| {
            let value = match v.cast::<PyString>() {
                Ok(s) => s.to_cow()?.into_owned(),
                Err(_) => v.str()?.to_cow()?.into_owned(),
            };
            Ok((k.str()?.to_cow()?.into_owned(), value))
        })
        .collect()
}
