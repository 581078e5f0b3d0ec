//! https against a local TLS origin whose certificate no one trusts: a
//! handled `error.badfetch.https.tls` by default, a success when the
//! configuration makes certificate errors non-fatal.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vxp_fetcher::{FetchRequest, Fetcher, FetcherConfig, ResourceKind};

/// Self-signed test certificate for 127.0.0.1, valid until 2126. Its key
/// protects nothing but this test.
const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIURZfaSDCHng1QMe9OJb0YEoHuWDYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMTA3MjU1NFoYDzIxMjYxMDI4
MDcyNTU0WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASZLGRO5H9svX0wUfkxsSTgLye89FUgoLylwaRd3/6dDZilXd9+a6RG
E+VqGagPu0bcS+O5vaffpIR5aIw6XuB5o28wbTAdBgNVHQ4EFgQUA7UQr0PD+Q8S
oTzE1UnaD+7JKEowHwYDVR0jBBgwFoAUA7UQr0PD+Q8SoTzE1UnaD+7JKEowDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSQAwRgIhAPyslvRhO6leLoMTmjOS5vfwgxKgjZBJ06M9LEr/BPqpAiEA
i/KI9sosQgY6a5v+2b2ni++fU32WtgaM4VQbZJq5MSc=
-----END CERTIFICATE-----
";

const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgiyd50bb8X9TebNyN
x1IovMaSHxecWMh2UoKgB+9Bq7WhRANCAASZLGRO5H9svX0wUfkxsSTgLye89FUg
oLylwaRd3/6dDZilXd9+a6RGE+VqGagPu0bcS+O5vaffpIR5aIw6XuB5
-----END PRIVATE KEY-----
";

/// Serves one fixed VoiceXML page over TLS on `127.0.0.1:0`.
async fn tls_origin() -> url::Url {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert = CertificateDer::from_pem_slice(CERT.as_bytes()).expect("test certificate");
    let key = PrivateKeyDer::from_pem_slice(KEY.as_bytes()).expect("test key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A handshake the client aborts is the expected outcome of one test.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = "<vxml>secure</vxml>";
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/voicexml+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    url::Url::parse(&format!("https://127.0.0.1:{}/main.vxml", addr.port())).expect("url")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_is_a_tls_failure() {
    let url = tls_origin().await;
    let fetcher = Fetcher::new(FetcherConfig::default()).expect("fetcher");
    let req = FetchRequest::new(url, ResourceKind::Document, Duration::from_secs(5));
    let err = fetcher.fetch(req).await.expect_err("untrusted certificate");
    assert_eq!(err.event(), "error.badfetch.https.tls", "{err}");
    assert!(
        err.message().contains("https://127.0.0.1:"),
        "{}",
        err.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_errors_can_be_made_non_fatal() {
    let url = tls_origin().await;
    let fetcher = Fetcher::new(FetcherConfig {
        https_cert_errors_fatal: false,
        ..FetcherConfig::default()
    })
    .expect("fetcher");
    let req = FetchRequest::new(url, ResourceKind::Document, Duration::from_secs(5));
    let resp = fetcher
        .fetch(req)
        .await
        .expect("accepted despite the certificate");
    assert_eq!(resp.text(), "<vxml>secure</vxml>");
}
