//! OAuth 2.0 for apps installed on many Klaviyo accounts: the authorization URL with PKCE
//! (S256), code exchange, refresh and revoke (form bodies, Basic client auth), and a token
//! provider that refreshes before expiry and once after a 401 — single-flight, so a burst of
//! calls with an expired token causes one refresh. New tokens go to a [`TokenStore`].
//! `invalid_grant` on refresh becomes [`Error::ReauthorizationRequired`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::auth::{BoxFuture, Secret, TokenProvider};
use crate::error::{Error, Result};

/// Klaviyo's authorize page.
pub const AUTHORIZE_URL: &str = "https://www.klaviyo.com/oauth/authorize";
/// Token endpoint (on a.klaviyo.com: www is blocked for token traffic since 2025-03-31).
pub const TOKEN_URL: &str = "https://a.klaviyo.com/oauth/token";
/// Revoke endpoint.
pub const REVOKE_URL: &str = "https://a.klaviyo.com/oauth/revoke";
/// Refresh when less than this remains.
pub const DEFAULT_REFRESH_MARGIN: Duration = Duration::from_secs(60);

const VERIFIER_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// An OAuth app's settings. Hosts are configurable so tests can point them at the sandbox.
#[derive(Debug, Clone)]
pub struct OAuthApp {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: Secret,
    /// Where Klaviyo sends the user back with the code.
    pub redirect_uri: String,
    /// Authorize page URL.
    pub authorize_url: String,
    /// Token endpoint URL.
    pub token_url: String,
    /// Revoke endpoint URL.
    pub revoke_url: String,
}

impl OAuthApp {
    /// An app on Klaviyo's hosts.
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        OAuthApp {
            client_id: client_id.into(),
            client_secret: Secret::new(client_secret),
            redirect_uri: redirect_uri.into(),
            authorize_url: AUTHORIZE_URL.into(),
            token_url: TOKEN_URL.into(),
            revoke_url: REVOKE_URL.into(),
        }
    }

    /// The same app with every endpoint on `base` (e.g. a sandbox's URL).
    pub fn with_host(mut self, base: &str) -> Self {
        let base = base.trim_end_matches('/');
        self.authorize_url = format!("{base}/oauth/authorize");
        self.token_url = format!("{base}/oauth/token");
        self.revoke_url = format!("{base}/oauth/revoke");
        self
    }
}

/// A PKCE code verifier: 64 characters from the allowed set (43–128 allowed).
pub fn code_verifier() -> Secret {
    let mut rng = rand::rng();
    Secret::new(
        (0..64)
            .map(|_| VERIFIER_CHARS[rng.random_range(0..VERIFIER_CHARS.len())] as char)
            .collect::<String>(),
    )
}

/// The S256 challenge of a verifier: base64url(SHA-256(verifier)), no padding.
pub fn code_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What to send the user to, and what to keep until they come back.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The authorize URL.
    pub url: String,
    /// Check it equals the `state` on the redirect.
    pub state: String,
    /// Give it to [`OAuthClient::exchange_code`].
    pub code_verifier: Secret,
}

/// Builds the authorization URL with space-separated scopes, a random `state` and PKCE.
pub fn authorization_url(app: &OAuthApp, scopes: &[&str]) -> Result<AuthorizationRequest> {
    if scopes.is_empty() {
        return Err(Error::InvalidInput(
            "OAuth needs at least one scope, e.g. profiles:read".into(),
        ));
    }
    let verifier = code_verifier();
    let state = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
    let url = authorization_url_for(
        app,
        &scopes.join(" "),
        &state,
        &code_challenge(verifier.expose()),
    )?;
    Ok(AuthorizationRequest {
        url,
        state,
        code_verifier: verifier,
    })
}

/// The authorization URL for a `state` and PKCE `challenge` the caller made (as the official
/// SDKs take them); `scopes` space-separated.
pub fn authorization_url_for(
    app: &OAuthApp,
    scopes: &str,
    state: &str,
    challenge: &str,
) -> Result<String> {
    if scopes.trim().is_empty() {
        return Err(Error::InvalidInput(
            "OAuth needs at least one scope, e.g. profiles:read".into(),
        ));
    }
    let mut url = url::Url::parse(&app.authorize_url)
        .map_err(|e| Error::Config(format!("authorize URL: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", &app.redirect_uri)
        .append_pair("scope", scopes)
        .append_pair("state", state)
        .append_pair("code_challenge_method", "S256")
        .append_pair("code_challenge", challenge);
    Ok(url.into())
}

/// Tokens from the token endpoint.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Bearer token for API calls.
    pub access_token: Secret,
    /// For refreshing.
    pub refresh_token: Option<Secret>,
    /// When the access token expires.
    pub expires_at: SystemTime,
    /// Granted scopes.
    pub scope: Option<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
    scope: Option<String>,
}

#[derive(Deserialize, Default)]
struct OAuthErrorBody {
    error: Option<String>,
    error_description: Option<String>,
}

/// Talks to the token and revoke endpoints.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    app: OAuthApp,
    http: reqwest::Client,
}

impl OAuthClient {
    /// A client for `app`.
    pub fn new(app: OAuthApp) -> Result<Self> {
        let http = crate::tls::http_client_builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(OAuthClient { app, http })
    }

    /// The app.
    pub fn app(&self) -> &OAuthApp {
        &self.app
    }

    async fn post(
        &self,
        url: &str,
        form: &[(&str, &str)],
        operation: &str,
    ) -> Result<reqwest::Response> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.http
            .post(url)
            .basic_auth(&self.app.client_id, Some(self.app.client_secret.expose()))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| Error::Network {
                operation: operation.into(),
                message: e.without_url().to_string(),
            })
    }

    async fn tokens(&self, form: &[(&str, &str)], operation: &str) -> Result<Tokens> {
        let response = self.post(&self.app.token_url, form, operation).await?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| Error::Network {
            operation: operation.into(),
            message: e.without_url().to_string(),
        })?;
        if !(200..300).contains(&status) {
            let error: OAuthErrorBody = serde_json::from_slice(&body).unwrap_or_default();
            let reason = error
                .error
                .clone()
                .unwrap_or_else(|| format!("HTTP {status}"));
            let detail = error
                .error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            if reason == "invalid_grant" {
                return Err(Error::ReauthorizationRequired(format!(
                    "{operation}: invalid_grant{detail}; the app must be authorized again"
                )));
            }
            return Err(Error::Authentication(Box::new(crate::error::ApiError {
                operation: operation.into(),
                status,
                errors: vec![crate::error::ErrorObject {
                    code: Some(reason.clone()),
                    detail: Some(format!("{reason}{detail}")),
                    ..Default::default()
                }],
                request_id: None,
                rate_limit: Default::default(),
                body_snippet: None,
            })));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| Error::Decode {
            operation: operation.into(),
            status,
            message: e.to_string(),
            snippet: String::new(),
        })?;
        Ok(Tokens {
            access_token: Secret::new(parsed.access_token),
            refresh_token: parsed.refresh_token.map(Secret::new),
            expires_at: SystemTime::now() + Duration::from_secs(parsed.expires_in.unwrap_or(3600)),
            scope: parsed.scope,
        })
    }

    /// Exchanges the code from the redirect (with the request's verifier) for tokens.
    pub async fn exchange_code(&self, code: &str, code_verifier: &Secret) -> Result<Tokens> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", code_verifier.expose()),
            ("redirect_uri", self.app.redirect_uri.as_str()),
        ];
        self.tokens(&form, "oauth_exchange_code").await
    }

    /// New tokens from a refresh token.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<Tokens> {
        self.tokens(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token.expose()),
            ],
            "oauth_refresh",
        )
        .await
    }

    /// Revokes a token (refresh tokens revoke the whole grant).
    pub async fn revoke(&self, token: &Secret) -> Result<()> {
        let response = self
            .post(
                &self.app.revoke_url,
                &[
                    ("token", token.expose()),
                    ("token_type_hint", "refresh_token"),
                ],
                "oauth_revoke",
            )
            .await?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(Error::from_api(
                crate::error::ApiError::from_response(
                    "oauth_revoke",
                    status,
                    response.headers(),
                    b"",
                ),
                None,
            ))
        }
    }
}

/// Where refreshed tokens are persisted (your database, a file…).
pub trait TokenStore: Send + Sync {
    /// Saves new tokens; called after every successful refresh.
    fn save(&self, tokens: &Tokens) -> BoxFuture<'_, Result<()>>;
}

/// A [`TokenProvider`] that refreshes before expiry and after a 401, one refresh at a time.
pub struct RefreshingTokenProvider {
    oauth: OAuthClient,
    tokens: tokio::sync::Mutex<Tokens>,
    store: Option<Arc<dyn TokenStore>>,
    margin: Duration,
    refreshes: AtomicU64,
}

impl std::fmt::Debug for RefreshingTokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshingTokenProvider")
            .field("refreshes", &self.refresh_count())
            .finish_non_exhaustive()
    }
}

impl RefreshingTokenProvider {
    /// A provider starting from `tokens`; `store` receives refreshed tokens.
    pub fn new(oauth: OAuthClient, tokens: Tokens, store: Option<Arc<dyn TokenStore>>) -> Self {
        RefreshingTokenProvider {
            oauth,
            tokens: tokio::sync::Mutex::new(tokens),
            store,
            margin: DEFAULT_REFRESH_MARGIN,
            refreshes: AtomicU64::new(0),
        }
    }

    /// Refresh when less than `margin` remains (default 60 s).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// How many refreshes this provider made.
    pub fn refresh_count(&self) -> u64 {
        self.refreshes.load(Ordering::SeqCst)
    }

    /// Refreshes while holding the lock: concurrent callers wait and then see the new token.
    async fn refresh_locked(&self, tokens: &mut Tokens) -> Result<()> {
        let refresh_token = tokens.refresh_token.clone().ok_or_else(|| {
            Error::ReauthorizationRequired(
                "the access token expired and there is no refresh token".into(),
            )
        })?;
        let mut fresh = self.oauth.refresh(&refresh_token).await?;
        if fresh.refresh_token.is_none() {
            fresh.refresh_token = Some(refresh_token);
        }
        // Keep the new tokens even if saving fails: the old refresh token may be spent.
        *tokens = fresh;
        self.refreshes.fetch_add(1, Ordering::SeqCst);
        match &self.store {
            Some(store) => store.save(tokens).await,
            None => Ok(()),
        }
    }
}

impl TokenProvider for RefreshingTokenProvider {
    fn access_token(&self) -> BoxFuture<'_, Result<Secret>> {
        Box::pin(async move {
            let mut tokens = self.tokens.lock().await;
            let remaining = tokens
                .expires_at
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            if remaining < self.margin {
                self.refresh_locked(&mut tokens).await?;
            }
            Ok(tokens.access_token.clone())
        })
    }

    fn invalidate(&self, rejected: &Secret) -> BoxFuture<'_, Result<()>> {
        let rejected = rejected.clone();
        Box::pin(async move {
            let mut tokens = self.tokens.lock().await;
            // Another caller may have refreshed already: only refresh if the rejected token is current.
            if tokens.access_token == rejected {
                self.refresh_locked(&mut tokens).await?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_base64url_sha256_without_padding() {
        // python3 -c 'import hashlib,base64;print(base64.urlsafe_b64encode(hashlib.sha256(
        //   b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk").digest()).rstrip(b"=").decode())'
        assert_eq!(
            code_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk"),
            "bwWFMyPfdG9qreDhH2lmftFx_dFeLDalzcT1gb_j68g"
        );
        let verifier = code_verifier();
        assert!((43..=128).contains(&verifier.expose().len()));
        assert!(
            verifier
                .expose()
                .bytes()
                .all(|b| VERIFIER_CHARS.contains(&b))
        );
    }

    #[test]
    fn authorization_url_carries_everything_klaviyo_asks_for() {
        let app = OAuthApp::new("client-1", "secret", "https://app.example.com/callback");
        let request = authorization_url(&app, &["profiles:read", "events:write"]).unwrap();
        let url = url::Url::parse(&request.url).unwrap();
        assert_eq!(url.host_str(), Some("www.klaviyo.com"));
        let q: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "client-1");
        assert_eq!(q["redirect_uri"], "https://app.example.com/callback");
        assert_eq!(q["scope"], "profiles:read events:write");
        assert_eq!(q["state"], request.state);
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(
            q["code_challenge"],
            code_challenge(request.code_verifier.expose())
        );
        assert!(
            !request.url.contains(request.code_verifier.expose()),
            "the verifier stays with the app"
        );
        assert!(authorization_url(&app, &[]).is_err());
    }
}
