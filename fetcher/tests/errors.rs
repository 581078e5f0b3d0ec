//! Every failure maps to the event a VoiceXML document catches, with the URL
//! and the reason in the message; time-outs are honoured.

mod support;

use std::time::{Duration, Instant};

use support::Server;
use vxp_fetcher::{FetchRequest, Fetcher, FetcherConfig, ResourceKind};

fn fetcher() -> Fetcher {
    let config = FetcherConfig {
        max_body_bytes: 1024 * 1024,
        ..FetcherConfig::default()
    };
    Fetcher::new(config).expect("fetcher")
}

fn url(s: &str) -> url::Url {
    url::Url::parse(s).expect("test url")
}

/// (case, url, kind, referrer, expected event, text the message must contain)
type Case<'a> = (
    &'a str,
    url::Url,
    ResourceKind,
    Option<&'a str>,
    &'a str,
    &'a str,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_map_to_events() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        format!("http://127.0.0.1:{port}/x.vxml")
    };
    let tls_to_plain = server.url("/fresh").as_str().replacen("http:", "https:", 1);
    let missing_file = url::Url::from_file_path(std::env::temp_dir().join("vxp-no-such-file.vxml"))
        .expect("file url");
    let cases: Vec<Case<'_>> = vec![
        (
            "404",
            server.url("/status/404"),
            ResourceKind::Document,
            None,
            "error.badfetch.http.404",
            "HTTP 404",
        ),
        (
            "500",
            server.url("/status/500"),
            ResourceKind::Grammar,
            None,
            "error.badfetch.http.500",
            "HTTP 500",
        ),
        (
            "403",
            server.url("/status/403"),
            ResourceKind::Audio,
            None,
            "error.badfetch.http.403",
            "HTTP 403",
        ),
        (
            "refused",
            url(&refused),
            ResourceKind::Document,
            None,
            "error.badfetch.http.connect",
            "connection failed",
        ),
        (
            "tls",
            url(&tls_to_plain),
            ResourceKind::Document,
            None,
            "error.badfetch.https.tls",
            "TLS",
        ),
        (
            "too large",
            server.url("/big"),
            ResourceKind::Document,
            None,
            "error.badfetch.http.toolarge",
            "larger than",
        ),
        (
            "content type",
            server.url("/png"),
            ResourceKind::Document,
            None,
            "error.badfetch.http.contenttype",
            "image/png",
        ),
        (
            "redirect loop",
            server.url("/loop"),
            ResourceKind::Document,
            None,
            "error.badfetch.http.redirect",
            "redirects",
        ),
        (
            "redirect to a file",
            server.url("/to-file"),
            ResourceKind::Document,
            None,
            "error.badfetch.http.redirect",
            "refused",
        ),
        (
            "file missing",
            missing_file.clone(),
            ResourceKind::Document,
            None,
            "error.badfetch.file.notfound",
            "no such file",
        ),
        (
            "file from http page",
            missing_file,
            ResourceKind::Script,
            Some("http://app/main.vxml"),
            "error.badfetch.file.forbidden",
            "http://app/main.vxml",
        ),
        (
            "bad data url",
            url("data:text/plain;base64,@@"),
            ResourceKind::Data,
            None,
            "error.badfetch.data.malformed",
            "base64",
        ),
        (
            "unsupported scheme",
            url("ftp://app/x.vxml"),
            ResourceKind::Document,
            None,
            "error.badfetch",
            "unsupported",
        ),
    ];
    for (name, target, kind, referrer, event, text) in cases {
        let mut req = FetchRequest::new(target.clone(), kind, Duration::from_secs(5));
        req.referrer = referrer.map(url);
        let err = fetcher.fetch(req).await.expect_err(name);
        assert_eq!(err.event(), event, "{name}: {err}");
        let message = err.message();
        assert!(
            message.contains(text),
            "{name}: message {message:?} lacks {text:?}"
        );
        let shown = target.as_str().chars().take(20).collect::<String>();
        assert!(
            message.contains(&shown),
            "{name}: message {message:?} lacks the URL"
        );
    }
    assert_eq!(fetcher.stats().errors, 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_is_honoured_within_ten_percent() {
    let server = Server::start().await;
    let fetcher = fetcher();
    for ms in [1000u64, 2000] {
        let timeout = Duration::from_millis(ms);
        let req = FetchRequest::new(server.url("/slow?ms=5000"), ResourceKind::Document, timeout);
        let started = Instant::now();
        let err = fetcher.fetch(req).await.expect_err("slow server");
        let elapsed = started.elapsed();
        assert_eq!(err.event(), "error.badfetch.http.timeout");
        assert!(err.message().contains("/slow"), "{}", err.message());
        assert!(
            elapsed >= timeout,
            "gave up early: {elapsed:?} < {timeout:?}"
        );
        assert!(
            elapsed <= timeout.mul_f64(1.1),
            "too late: {elapsed:?} for {timeout:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalesced_waiters_each_keep_their_own_timeout() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let long = FetchRequest::new(
        server.url("/slow?ms=400"),
        ResourceKind::Document,
        Duration::from_secs(5),
    );
    let short = FetchRequest::new(
        server.url("/slow?ms=400"),
        ResourceKind::Document,
        Duration::from_millis(100),
    );
    let (f1, f2) = (fetcher.clone(), fetcher.clone());
    let leader = tokio::spawn(async move { f1.fetch(long).await });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = Instant::now();
    let err = f2.fetch(short).await.expect_err("short time-out");
    assert!(started.elapsed() < Duration::from_millis(200));
    assert_eq!(err.event(), "error.badfetch.http.timeout");
    assert!(
        leader.await.expect("task").is_ok(),
        "the leader's longer time-out still succeeds"
    );
    assert_eq!(server.count("/slow"), 1);
}

#[test]
fn invalid_configuration_is_reported() {
    let bad_agent = Fetcher::new(FetcherConfig {
        user_agent: "bad\nagent".to_owned(),
        ..FetcherConfig::default()
    });
    assert_eq!(
        bad_agent.expect_err("invalid header").event(),
        "error.badfetch"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_is_a_dns_failure() {
    // `.invalid` never resolves (RFC 6761 §6.4).
    let req = FetchRequest::new(
        url("http://vxp-test.invalid/main.vxml"),
        ResourceKind::Document,
        Duration::from_secs(5),
    );
    let err = fetcher().fetch(req).await.expect_err("unresolvable host");
    assert_eq!(err.event(), "error.badfetch.http.dns", "{err}");
    assert!(err.message().contains("vxp-test.invalid"));
}
