//! Credentials: private API keys, OAuth access tokens (through a [`TokenProvider`], so that
//! refreshing providers plug in), and the public key used by `/client/*` operations.
//! Secrets are wrapped so that `Debug` never prints them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::binding::Binding;
use crate::error::{Error, Result};

/// A string that never shows itself in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Call only where it is put on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A hint that is safe to show: the prefix and the last 4 characters (`pk_…abcd`).
    pub fn hint(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if self.0.len() <= 12 {
            "…".to_string()
        } else {
            format!("{}…{tail}", &self.0[..3])
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", self.hint())
    }
}

/// A boxed future, as returned by [`TokenProvider`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Supplies OAuth access tokens. Implementations may refresh: the client calls
/// [`TokenProvider::access_token`] before each attempt and [`TokenProvider::invalidate`] once
/// when the API answers 401, then retries once with a fresh token.
pub trait TokenProvider: Send + Sync {
    /// A currently valid access token.
    fn access_token(&self) -> BoxFuture<'_, Result<Secret>>;
    /// The API rejected `rejected`; the next `access_token` call should return a new one.
    fn invalidate(&self, rejected: &Secret) -> BoxFuture<'_, Result<()>> {
        let _ = rejected;
        Box::pin(async { Ok(()) })
    }
}

/// A token provider holding one fixed token (no refresh).
#[derive(Debug, Clone)]
pub struct StaticToken(pub Secret);

impl TokenProvider for StaticToken {
    fn access_token(&self) -> BoxFuture<'_, Result<Secret>> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// How the client authenticates `/api/*` operations.
#[derive(Clone)]
pub enum Credentials {
    /// `Authorization: Klaviyo-API-Key pk_…`
    ApiKey(Secret),
    /// `Authorization: Bearer …` from a token provider.
    OAuth(Arc<dyn TokenProvider>),
    /// No private credential: only `/client/*` operations can be called.
    None,
}

impl Credentials {
    /// The private API key, when that is the credential: what names the account's shared
    /// Redis keys (OAuth clients name theirs instead; their tokens change on refresh).
    pub fn api_key(&self) -> Option<&str> {
        match self {
            Credentials::ApiKey(key) => Some(key.expose()),
            _ => None,
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::ApiKey(key) => write!(f, "ApiKey({})", key.hint()),
            Credentials::OAuth(_) => write!(f, "OAuth(..)"),
            Credentials::None => write!(f, "None"),
        }
    }
}

/// Checks that a private key looks like one, with an error that says what to fix.
pub fn validate_private_key(key: &str) -> Result<Secret> {
    validate_private_key_for(key, Binding::Rust)
}

/// [`validate_private_key`], telling how to pass a key the way `binding` takes it.
pub fn validate_private_key_for(key: &str, binding: Binding) -> Result<Secret> {
    let key = key.trim();
    if key.is_empty() {
        let option = match binding {
            Binding::Rust => "ClientBuilder::api_key",
            Binding::Python => "Client(api_key=...)",
            Binding::Node => "new Client({ apiKey })",
            Binding::Cli => "--api-key",
        };
        return Err(Error::Config(format!(
            "no API key: set KLAVIYO_API_KEY in the environment or a .env file, or pass the key ({option}); create a private key in Klaviyo under Settings > API keys"
        )));
    }
    if !key.starts_with("pk_") {
        return Err(Error::Config(format!(
            "the API key is not a private key (it must start with pk_; got a {}-character value). Public 6-character keys only work for /client/* operations: pass them as {}",
            key.len(),
            binding.spell("public_key")
        )));
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Config(
            "the API key contains whitespace or control characters".into(),
        ));
    }
    Ok(Secret::new(key))
}

/// Checks a public key (site id / company id) used by `/client/*` operations.
pub fn validate_public_key(key: &str) -> Result<String> {
    let key = key.trim();
    if key.is_empty() || key.starts_with("pk_") || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::Config(
            "the public key must be the account's 6-character public API key (site id), never a pk_ private key".into(),
        ));
    }
    Ok(key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_in_debug() {
        let key = validate_private_key("pk_test_not_real_0123456789abcdef0123").unwrap();
        let shown = format!("{key:?} {:?}", Credentials::ApiKey(key.clone()));
        assert!(!shown.contains("not_real_0123456789abcdef"), "{shown}");
        assert!(shown.contains("pk_…0123"), "{shown}");
    }

    #[test]
    fn rejects_keys_that_are_not_private_keys_with_a_fix() {
        let err = validate_private_key("AbC123").unwrap_err().to_string();
        assert!(
            err.contains("must start with pk_") && err.contains("public_key"),
            "{err}"
        );
        assert!(
            validate_private_key("")
                .unwrap_err()
                .to_string()
                .contains("KLAVIYO_API_KEY")
        );
        assert!(validate_private_key("pk_ab cd").is_err());
        assert!(validate_public_key("pk_abc").is_err());
        assert_eq!(validate_public_key("AbC123").unwrap(), "AbC123");
    }
}
