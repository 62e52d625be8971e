//! OAuth end to end against the sandbox's OAuth server: PKCE authorization, code exchange,
//! Bearer calls, single-flight refresh under concurrency (on expiry and on a 401), the token
//! store, revoke, and reauthorization-required.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use futures_util::future::join_all;
use klaviyo_bridge::auth::{BoxFuture, Secret};
use klaviyo_bridge::oauth::{
    OAuthApp, OAuthClient, RefreshingTokenProvider, TokenStore, Tokens, authorization_url,
};
use klaviyo_bridge::{Client, Error};
use klaviyo_sandbox::{Options, RateLimits, Sandbox, start};

async fn sandbox() -> (Sandbox, OAuthClient) {
    let sandbox = start(Options {
        rate_limits: RateLimits::Off,
        ..Options::default()
    })
    .await
    .unwrap();
    let defaults = Options::default();
    let app = OAuthApp::new(
        defaults.oauth_client_id,
        defaults.oauth_client_secret,
        "http://127.0.0.1:9/callback",
    )
    .with_host(&sandbox.base_url());
    (sandbox, OAuthClient::new(app).unwrap())
}

/// Follows the authorize URL like a browser whose user approves, and exchanges the code.
async fn authorize(oauth: &OAuthClient) -> Tokens {
    let request = authorization_url(oauth.app(), &["accounts:read", "events:write"]).unwrap();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http.get(&request.url).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let query: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(query["state"], request.state, "state comes back unchanged");
    let wrong = oauth
        .exchange_code(&query["code"], &Secret::new("x".repeat(43)))
        .await
        .unwrap_err();
    assert_eq!(
        wrong.code(),
        "reauthorization_required",
        "a wrong verifier fails the code: {wrong}"
    );
    // The code was spent by the failed attempt, as single-use codes are; authorize again.
    let request = authorization_url(oauth.app(), &["accounts:read"]).unwrap();
    let location = http.get(&request.url).send().await.unwrap().headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    oauth
        .exchange_code(&code, &request.code_verifier)
        .await
        .unwrap()
}

struct CountingStore(AtomicUsize);

impl TokenStore for CountingStore {
    fn save(&self, tokens: &Tokens) -> BoxFuture<'_, klaviyo_bridge::Result<()>> {
        assert!(tokens.refresh_token.is_some());
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkce_flow_then_bearer_calls() {
    let (sandbox, oauth) = sandbox().await;
    let tokens = authorize(&oauth).await;
    assert!(tokens.expires_at > SystemTime::now() + Duration::from_secs(3000));
    let provider = Arc::new(RefreshingTokenProvider::new(oauth, tokens, None));
    let client = Client::builder()
        .token_provider(provider.clone())
        .base_url(sandbox.base_url())
        .build()
        .unwrap();
    assert_eq!(
        client.accounts().current().await.unwrap().id(),
        Some("SANDBX")
    );
    assert_eq!(
        sandbox.requests().last().unwrap().headers["authorization"],
        "Bearer <redacted>"
    );
    assert_eq!(
        (
            sandbox.state()["oauth"]["exchanges"].as_u64(),
            provider.refresh_count()
        ),
        (Some(1), 0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_calls_with_an_expired_token_refresh_exactly_once() {
    let (sandbox, oauth) = sandbox().await;
    let mut tokens = authorize(&oauth).await;
    tokens.expires_at = SystemTime::now(); // expired: the next call must refresh
    let store = Arc::new(CountingStore(AtomicUsize::new(0)));
    let provider = Arc::new(RefreshingTokenProvider::new(
        oauth,
        tokens,
        Some(store.clone()),
    ));
    let client = Client::builder()
        .token_provider(provider.clone())
        .base_url(sandbox.base_url())
        .rate_limit(false)
        .build()
        .unwrap();
    let results = join_all((0..50).map(|_| {
        let client = client.clone();
        async move { client.accounts().current().await }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(provider.refresh_count(), 1);
    assert_eq!(sandbox.state()["oauth"]["refreshes"], 1);
    assert_eq!(
        store.0.load(Ordering::SeqCst),
        1,
        "the new tokens were saved once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_refreshed_once_on_401_then_revoke_requires_reauthorization() {
    let (sandbox, oauth) = sandbox().await;
    let mut tokens = authorize(&oauth).await;
    let refresh_token = tokens.refresh_token.clone().unwrap();
    // The provider believes this token is good for an hour; the server does not know it.
    tokens.access_token = Secret::new("sbx_at_forgotten");
    let provider = Arc::new(RefreshingTokenProvider::new(oauth.clone(), tokens, None));
    let client = Client::builder()
        .token_provider(provider.clone())
        .base_url(sandbox.base_url())
        .rate_limit(false)
        .build()
        .unwrap();
    let results = join_all((0..50).map(|_| {
        let client = client.clone();
        async move { client.accounts().current().await }
    }))
    .await;
    assert!(
        results.iter().all(Result::is_ok),
        "{:?}",
        results.iter().find(|r| r.is_err())
    );
    assert_eq!(
        provider.refresh_count(),
        1,
        "every 401 with the same stale token shares one refresh"
    );

    // After a revoke, the access token is refused, the one refresh answers invalid_grant, and
    // the caller learns the app must be authorized again.
    oauth.revoke(&refresh_token).await.unwrap();
    match client.accounts().current().await.unwrap_err() {
        Error::ReauthorizationRequired(message) => {
            assert!(message.contains("invalid_grant"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(provider.refresh_count(), 1);
}
