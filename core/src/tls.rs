//! TLS for every HTTP client the project builds, and for the warehouse sync's PostgreSQL
//! connections: rustls with the *ring* crypto provider and the platform's certificate verifier.
//!
//! Why ring: aws-lc-rs (reqwest's default) compiles a C library whose build script took about
//! 40 s of a 60 s cold build, the larger part of a `pip install .` or `npm run build` from
//! source; ring builds in about 5 s. For an API client the two are equally fast where it
//! counts (a handful of handshakes, then pooled connections).

use std::sync::OnceLock;

/// A `reqwest` client builder whose TLS uses the process's rustls provider, installing ring as
/// that provider first unless the host application has installed one of its own.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install_provider();
    reqwest::Client::builder()
}

/// Installs ring as the process's rustls provider unless the host application has installed
/// one of its own.
pub fn install_provider() {
    static PROVIDER: OnceLock<()> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        // Err means a provider is already installed (the host's): that one is used.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_client_builds_and_the_provider_is_installed_once() {
        super::http_client_builder().build().unwrap();
        super::http_client_builder().build().unwrap();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }
}
