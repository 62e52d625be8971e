//! `klaviyo_bridge.oauth`: the core's OAuth app (authorize URL with PKCE, exchange, refresh,
//! revoke), its tokens, and the token store callback that persists refreshed tokens.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;

use klaviyo_bridge::auth::{BoxFuture, Secret};
use klaviyo_bridge::oauth::{self, OAuthClient, TokenStore};
use klaviyo_bridge::{Error, Result};

use crate::errors::to_py_err;
use crate::runtime::{ForkSafeRuntime, run};
use pyo3_async_runtimes::generic::ContextExt;

fn unix(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// OAuth tokens. The repr shows hints only; read `access_token` / `refresh_token` to store them.
#[pyclass(module = "klaviyo_bridge._native", frozen, name = "Tokens")]
#[derive(Clone)]
pub struct PyTokens {
    pub inner: oauth::Tokens,
}

#[pymethods]
impl PyTokens {
    /// Tokens loaded from your store; `expires_at` is Unix seconds (None: already expired, so
    /// the first call refreshes).
    #[new]
    #[pyo3(signature = (access_token, refresh_token=None, expires_at=None, scope=None))]
    fn new(
        access_token: String,
        refresh_token: Option<String>,
        expires_at: Option<f64>,
        scope: Option<String>,
    ) -> PyResult<Self> {
        let expires_at = expires_at
            .map(|t| klaviyo_bridge::config::unix_time(t, "expires_at"))
            .transpose()
            .map_err(to_py_err)?
            .unwrap_or(UNIX_EPOCH);
        Ok(PyTokens {
            inner: oauth::Tokens {
                access_token: Secret::new(access_token),
                refresh_token: refresh_token.map(Secret::new),
                expires_at,
                scope,
            },
        })
    }
    #[getter]
    fn access_token(&self) -> &str {
        self.inner.access_token.expose()
    }
    #[getter]
    fn refresh_token(&self) -> Option<&str> {
        self.inner.refresh_token.as_ref().map(Secret::expose)
    }
    /// Unix seconds.
    #[getter]
    fn expires_at(&self) -> f64 {
        unix(self.inner.expires_at)
    }
    #[getter]
    fn scope(&self) -> Option<&str> {
        self.inner.scope.as_deref()
    }
    fn __repr__(&self) -> String {
        format!(
            "Tokens(access_token={:?}, expires_at={:.0}, scope={:?})",
            self.inner.access_token.hint(),
            self.expires_at(),
            self.inner.scope
        )
    }
}

/// Where to send the user, and what to keep until they come back.
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct AuthorizationRequest {
    #[pyo3(get)]
    url: String,
    #[pyo3(get)]
    state: String,
    verifier: Secret,
}

#[pymethods]
impl AuthorizationRequest {
    /// Give it to `exchange_code` with the code from the redirect.
    #[getter]
    fn code_verifier(&self) -> &str {
        self.verifier.expose()
    }
    fn __repr__(&self) -> String {
        format!(
            "AuthorizationRequest(url={:?}, state={:?})",
            self.url, self.state
        )
    }
}

/// An OAuth app. `host` points every endpoint elsewhere (e.g. a sandbox).
#[pyclass(module = "klaviyo_bridge._native", frozen)]
pub struct OAuthApp {
    pub client: OAuthClient,
}

#[pymethods]
impl OAuthApp {
    #[new]
    #[pyo3(signature = (client_id, client_secret, redirect_uri, *, host=None))]
    fn new(
        client_id: String,
        client_secret: String,
        redirect_uri: String,
        host: Option<String>,
    ) -> PyResult<Self> {
        let app = oauth::OAuthApp::new(client_id, client_secret, redirect_uri);
        let app = match host {
            Some(host) => app.with_host(&host),
            None => app,
        };
        Ok(OAuthApp {
            client: OAuthClient::new(app).map_err(to_py_err)?,
        })
    }

    /// The authorize URL (PKCE S256, random state) for `scopes`.
    fn authorization_url(&self, scopes: Vec<String>) -> PyResult<AuthorizationRequest> {
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let request = oauth::authorization_url(self.client.app(), &scopes).map_err(to_py_err)?;
        Ok(AuthorizationRequest {
            url: request.url,
            state: request.state,
            verifier: request.code_verifier,
        })
    }

    /// Exchanges the redirect's code for Tokens (blocking; `aexchange_code` awaits).
    fn exchange_code(
        &self,
        py: Python<'_>,
        code: String,
        code_verifier: String,
    ) -> PyResult<Py<PyAny>> {
        self.exchange(py, false, code, code_verifier)
    }
    fn aexchange_code(
        &self,
        py: Python<'_>,
        code: String,
        code_verifier: String,
    ) -> PyResult<Py<PyAny>> {
        self.exchange(py, true, code, code_verifier)
    }

    /// New Tokens from a refresh token.
    fn refresh(&self, py: Python<'_>, refresh_token: String) -> PyResult<Py<PyAny>> {
        self.refreshed(py, false, refresh_token)
    }
    fn arefresh(&self, py: Python<'_>, refresh_token: String) -> PyResult<Py<PyAny>> {
        self.refreshed(py, true, refresh_token)
    }

    /// Revokes a token (a refresh token ends the whole grant).
    fn revoke(&self, py: Python<'_>, token: String) -> PyResult<Py<PyAny>> {
        self.revoked(py, false, token)
    }
    fn arevoke(&self, py: Python<'_>, token: String) -> PyResult<Py<PyAny>> {
        self.revoked(py, true, token)
    }

    fn __repr__(&self) -> String {
        format!(
            "OAuthApp(client_id={:?}, token_url={:?})",
            self.client.app().client_id,
            self.client.app().token_url
        )
    }
}

impl OAuthApp {
    fn exchange(
        &self,
        py: Python<'_>,
        asynchronous: bool,
        code: String,
        verifier: String,
    ) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        run(
            py,
            asynchronous,
            async move { client.exchange_code(&code, &Secret::new(verifier)).await },
            tokens_to_py,
        )
    }
    fn refreshed(
        &self,
        py: Python<'_>,
        asynchronous: bool,
        refresh_token: String,
    ) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        run(
            py,
            asynchronous,
            async move { client.refresh(&Secret::new(refresh_token)).await },
            tokens_to_py,
        )
    }
    fn revoked(&self, py: Python<'_>, asynchronous: bool, token: String) -> PyResult<Py<PyAny>> {
        let client = self.client.clone();
        run(
            py,
            asynchronous,
            async move { client.revoke(&Secret::new(token)).await },
            |py, ()| Ok(py.None()),
        )
    }
}

fn tokens_to_py(py: Python<'_>, tokens: oauth::Tokens) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, PyTokens { inner: tokens })?.into_any())
}

/// Calls a Python callable with each refresh's Tokens, on a blocking thread (it may do I/O).
/// An `async def` callback is awaited on the event loop of the call that triggered the refresh.
pub struct CallbackTokenStore(pub Arc<Py<PyAny>>);

type Awaited = std::pin::Pin<Box<dyn std::future::Future<Output = PyResult<Py<PyAny>>> + Send>>;

impl TokenStore for CallbackTokenStore {
    fn save(&self, tokens: &oauth::Tokens) -> BoxFuture<'_, Result<()>> {
        let callback = self.0.clone();
        let tokens = PyTokens {
            inner: tokens.clone(),
        };
        // Present when the refresh happens inside an AsyncClient call.
        let locals = <ForkSafeRuntime as ContextExt>::get_task_locals();
        let failed = |message: String| {
            Error::Config(format!(
                "on_token_refresh failed to save the refreshed tokens (they are still used): {message}"
            ))
        };
        Box::pin(async move {
            let called = tokio::task::spawn_blocking(move || {
                Python::attach(|py| -> std::result::Result<Option<Awaited>, String> {
                    let result = callback.call1(py, (tokens,)).map_err(|e| e.to_string())?;
                    let result = result.into_bound(py);
                    if !result.hasattr("__await__").unwrap_or(false) {
                        return Ok(None);
                    }
                    match &locals {
                        Some(locals) => Ok(Some(Box::pin(pyo3_async_runtimes::into_future_with_locals(locals, result).map_err(|e| e.to_string())?))),
                        None => {
                            let _ = result.call_method0("close");
                            Err("it returned a coroutine outside an event loop: use a plain function with Client".to_string())
                        }
                    }
                })
            })
            .await
            .map_err(|e| failed(e.to_string()))?
            .map_err(failed)?;
            if let Some(awaited) = called {
                awaited.await.map_err(|e| failed(e.to_string()))?;
            }
            Ok(())
        })
    }
}

/// A refreshing token provider for a client built from an OAuth app and its tokens.
pub fn token_provider(
    app: &OAuthApp,
    tokens: &PyTokens,
    on_token_refresh: Option<Py<PyAny>>,
    refresh_margin: Option<f64>,
) -> PyResult<Arc<oauth::RefreshingTokenProvider>> {
    let store = on_token_refresh
        .map(|callback| Arc::new(CallbackTokenStore(Arc::new(callback))) as Arc<dyn TokenStore>);
    let mut provider =
        oauth::RefreshingTokenProvider::new(app.client.clone(), tokens.inner.clone(), store);
    if let Some(margin) = refresh_margin {
        provider = provider.refresh_margin(
            klaviyo_bridge::config::seconds_or_zero(margin, "refresh_margin").map_err(to_py_err)?,
        );
    }
    Ok(Arc::new(provider))
}
