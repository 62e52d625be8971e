//! HTTPS works with the crypto provider the project ships (rustls + ring): a TLS handshake and a
//! request against a local TLS server. The loopback suites speak plain HTTP, so without this a
//! broken provider would pass every other test and fail every call to Klaviyo.
//! `fixtures/localhost.{crt,key}` are a self-signed pair made for this test only.

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn an_https_request_completes_over_the_shipped_tls_stack() {
    let certs = vec![CertificateDer::from_pem_file("tests/fixtures/localhost.crt").unwrap()];
    let key = PrivateKeyDer::from_pem_file("tests/fixtures/localhost.key").unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.unwrap();
        let mut request = vec![0u8; 4096];
        let _ = tls.read(&mut request).await.unwrap();
        tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .await
            .unwrap();
        tls.shutdown().await.unwrap();
    });

    // The certificate is self-signed, so verification is off here; the handshake, key exchange
    // and record encryption are the provider's, as they are against a.klaviyo.com.
    let http = klaviyo_bridge::tls::http_client_builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let response = http
        .get(format!("https://localhost:{}/", addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}
