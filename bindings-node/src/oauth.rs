//! OAuth for Node: the core's app (authorize URL with PKCE, exchange, refresh, revoke) and a
//! token store that calls a JS function (through a weak threadsafe function, so a client
//! does not keep the process alive) with each refresh's tokens.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use napi::bindgen_prelude::{Function, Promise};
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

use klaviyo_bridge::auth::{BoxFuture, Secret};
use klaviyo_bridge::oauth::{self, OAuthClient, TokenStore};
use klaviyo_bridge::{Error, Result};

use crate::errors::js_error;

/// Tokens as JS sees them (`expiresAt` in milliseconds since the epoch, like `Date.now()`).
#[napi(object)]
#[derive(Clone)]
pub struct OAuthTokens {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_at: f64,
    pub scope: Option<String>,
}

impl From<oauth::Tokens> for OAuthTokens {
    fn from(t: oauth::Tokens) -> Self {
        OAuthTokens {
            access_token: t.access_token.expose().to_string(),
            refresh_token: t.refresh_token.as_ref().map(|s| s.expose().to_string()),
            expires_at: t
                .expires_at
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_millis() as f64),
            scope: t.scope,
        }
    }
}

impl From<OAuthTokens> for oauth::Tokens {
    fn from(t: OAuthTokens) -> Self {
        oauth::Tokens {
            access_token: Secret::new(t.access_token),
            refresh_token: t.refresh_token.map(Secret::new),
            expires_at: UNIX_EPOCH + Duration::from_millis(t.expires_at.max(0.0) as u64),
            scope: t.scope,
        }
    }
}

/// What to send the user to, and what to keep until they come back.
#[napi(object)]
pub struct AuthorizationRequest {
    pub url: String,
    pub state: String,
    pub code_verifier: String,
}

/// An OAuth app; `host` points every endpoint elsewhere (e.g. a sandbox).
#[napi]
pub struct NativeOAuthApp {
    pub(crate) client: OAuthClient,
}

#[napi]
impl NativeOAuthApp {
    #[napi(constructor)]
    pub fn new(
        client_id: String,
        client_secret: String,
        redirect_uri: String,
        host: Option<String>,
    ) -> napi::Result<Self> {
        let app = oauth::OAuthApp::new(client_id, client_secret, redirect_uri);
        let app = match host {
            Some(host) => app.with_host(&host),
            None => app,
        };
        Ok(NativeOAuthApp {
            client: OAuthClient::new(app).map_err(js_error)?,
        })
    }

    #[napi]
    pub fn authorization_url(&self, scopes: Vec<String>) -> napi::Result<AuthorizationRequest> {
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let request = oauth::authorization_url(self.client.app(), &scopes).map_err(js_error)?;
        Ok(AuthorizationRequest {
            url: request.url,
            state: request.state,
            code_verifier: request.code_verifier.expose().to_string(),
        })
    }

    /// The authorization URL for a state and PKCE challenge the caller made.
    #[napi]
    pub fn authorization_url_for(
        &self,
        scopes: String,
        state: String,
        code_challenge: String,
    ) -> napi::Result<String> {
        oauth::authorization_url_for(self.client.app(), &scopes, &state, &code_challenge)
            .map_err(js_error)
    }

    #[napi]
    pub async fn exchange_code(
        &self,
        code: String,
        code_verifier: String,
    ) -> napi::Result<OAuthTokens> {
        self.client
            .exchange_code(&code, &Secret::new(code_verifier))
            .await
            .map(Into::into)
            .map_err(js_error)
    }

    #[napi]
    pub async fn refresh(&self, refresh_token: String) -> napi::Result<OAuthTokens> {
        self.client
            .refresh(&Secret::new(refresh_token))
            .await
            .map(Into::into)
            .map_err(js_error)
    }

    #[napi]
    pub async fn revoke(&self, token: String) -> napi::Result<()> {
        self.client
            .revoke(&Secret::new(token))
            .await
            .map_err(js_error)
    }

    #[napi]
    pub fn describe(&self) -> String {
        format!(
            "OAuthApp {{ clientId: '{}', tokenUrl: '{}' }}",
            self.client.app().client_id,
            self.client.app().token_url
        )
    }
}

type SaveFn = ThreadsafeFunction<OAuthTokens, Promise<()>, OAuthTokens, napi::Status, false, true>;

/// Calls the JS `onRefresh(tokens)` (which index.js wraps to always return a Promise).
struct CallbackTokenStore(SaveFn);

impl TokenStore for CallbackTokenStore {
    fn save(&self, tokens: &oauth::Tokens) -> BoxFuture<'_, Result<()>> {
        let tokens = OAuthTokens::from(tokens.clone());
        Box::pin(async move {
            let failed = |e: napi::Error| {
                Error::Config(format!(
                    "onRefresh failed to save the refreshed tokens (they are still used): {}",
                    e.reason
                ))
            };
            let promise = self.0.call_async_catch(tokens).await.map_err(failed)?;
            promise.await.map_err(failed)
        })
    }
}

/// A refreshing token provider for a client built from an app and its tokens.
pub fn token_provider(
    app: &NativeOAuthApp,
    tokens: OAuthTokens,
    on_refresh: Option<Function<'_, OAuthTokens, Promise<()>>>,
    refresh_margin: Option<f64>,
) -> napi::Result<Arc<oauth::RefreshingTokenProvider>> {
    let store = match on_refresh {
        Some(f) => Some(Arc::new(CallbackTokenStore(
            f.build_threadsafe_function()
                .callee_handled::<false>()
                .weak::<true>()
                .build()?,
        )) as Arc<dyn TokenStore>),
        None => None,
    };
    let mut provider =
        oauth::RefreshingTokenProvider::new(app.client.clone(), tokens.into(), store);
    if let Some(margin) = refresh_margin {
        provider = provider.refresh_margin(
            klaviyo_bridge::config::seconds_or_zero(margin, "refreshMargin").map_err(js_error)?,
        );
    }
    Ok(Arc::new(provider))
}

/// A PKCE pair: a fresh verifier and its S256 challenge.
#[napi(object)]
pub struct PkceCodes {
    pub code_verifier: String,
    pub code_challenge: String,
}

#[napi]
pub fn pkce_codes() -> PkceCodes {
    let verifier = oauth::code_verifier();
    PkceCodes {
        code_challenge: oauth::code_challenge(verifier.expose()),
        code_verifier: verifier.expose().to_string(),
    }
}
