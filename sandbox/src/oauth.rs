//! The sandbox's OAuth server: `/oauth/authorize` approves at once and redirects with a code;
//! `/oauth/token` exchanges a code (checking the PKCE verifier) or a refresh token, with Basic
//! client auth; `/oauth/revoke` ends a grant. Issued access tokens are accepted as Bearer
//! credentials until they expire (`Options::token_ttl`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::json;

use crate::Shared;
use crate::handlers::AppState;

/// OAuth state: pending codes, live grants, counters for tests.
#[derive(Default)]
pub(crate) struct OAuthState {
    /// code → (PKCE challenge, redirect URI, scope)
    codes: HashMap<String, (String, String, String)>,
    /// refresh token → access tokens issued under it
    grants: HashMap<String, Vec<String>>,
    pub exchanges: u64,
    pub refreshes: u64,
}

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response()
}

fn random_token(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::random::<u128>())
}

async fn authorize(State(s): AppState, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("response_type") != "code" || get("client_id") != s.options.oauth_client_id {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unknown client_id or response_type",
        );
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "PKCE with S256 is required",
        );
    }
    let Ok(mut redirect) = url::Url::parse(&get("redirect_uri")) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "redirect_uri is not a URL",
        );
    };
    let code = random_token("sbx_code_");
    s.oauth.lock().unwrap().codes.insert(
        code.clone(),
        (get("code_challenge"), get("redirect_uri"), get("scope")),
    );
    redirect
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &get("state"));
    (
        StatusCode::FOUND,
        [(header::LOCATION, redirect.to_string())],
    )
        .into_response()
}

fn client_authenticated(s: &Shared, headers: &HeaderMap) -> bool {
    let expected = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        s.options.oauth_client_id, s.options.oauth_client_secret
    ));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        == Some(expected.as_str())
}

fn issue(s: &Shared, refresh_token: &str, scope: &str) -> Response {
    let access = random_token("sbx_at_");
    let expires = Instant::now() + s.options.token_ttl;
    s.tokens
        .lock()
        .unwrap()
        .insert(access.clone(), Some(expires));
    s.oauth
        .lock()
        .unwrap()
        .grants
        .entry(refresh_token.to_string())
        .or_default()
        .push(access.clone());
    let body = json!({"access_token": access, "token_type": "Bearer", "expires_in": s.options.token_ttl.as_secs(), "refresh_token": refresh_token, "scope": scope});
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn token(
    State(s): AppState,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !client_authenticated(&s, &headers) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "bad client credentials",
        );
    }
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    match get("grant_type").as_str() {
        "authorization_code" => {
            let pending = s.oauth.lock().unwrap().codes.remove(&get("code"));
            let Some((challenge, redirect_uri, scope)) = pending else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown or used code",
                );
            };
            if klaviyo_bridge::oauth::code_challenge(&get("code_verifier")) != challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "Code challenge failed.",
                );
            }
            if get("redirect_uri") != redirect_uri {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri does not match",
                );
            }
            s.oauth.lock().unwrap().exchanges += 1;
            issue(&s, &random_token("sbx_rt_"), &scope)
        }
        "refresh_token" => {
            let refresh = get("refresh_token");
            let known = s.oauth.lock().unwrap().grants.contains_key(&refresh);
            if !known {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "refresh token is invalid, expired or revoked",
                );
            }
            s.oauth.lock().unwrap().refreshes += 1;
            issue(&s, &refresh, "")
        }
        other => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("grant_type {other:?}"),
        ),
    }
}

async fn revoke(
    State(s): AppState,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if !client_authenticated(&s, &headers) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "bad client credentials",
        );
    }
    let token = form.get("token").cloned().unwrap_or_default();
    let revoked = s.oauth.lock().unwrap().grants.remove(&token);
    let mut tokens = s.tokens.lock().unwrap();
    for access in revoked.into_iter().flatten().chain(std::iter::once(token)) {
        tokens.remove(&access);
    }
    StatusCode::OK.into_response()
}
