//! Many sessions at once: request coalescing, per-session cookies, namelist
//! submission (GET query, URL-encoded and multipart POST), `<submit>` never cached.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::Server;
use vxp_fetcher::{
    CacheOutcome, Enctype, FetchRequest, Fetcher, FetcherConfig, FormValue, Method, ResourceKind,
};

fn fetcher() -> Fetcher {
    Fetcher::new(FetcherConfig::default()).expect("fetcher")
}

fn req(server: &Server, path: &str, kind: ResourceKind) -> FetchRequest {
    FetchRequest::new(server.url(path), kind, Duration::from_secs(10))
}

async fn concurrent(fetcher: &Fetcher, reqs: Vec<FetchRequest>) -> Vec<vxp_fetcher::FetchResponse> {
    let tasks: Vec<_> = reqs
        .into_iter()
        .map(|r| {
            let f = fetcher.clone();
            tokio::spawn(async move { f.fetch(r).await })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("task").expect("fetch"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_make_one_upstream_request() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let reqs = (0..1000)
        .map(|_| req(&server, "/shared", ResourceKind::Document))
        .collect();
    let resps = concurrent(&fetcher, reqs).await;
    assert_eq!(server.count("/shared"), 1);
    assert!(resps.iter().all(|r| r.text() == "<vxml>shared</vxml>"));
    let coalesced = resps
        .iter()
        .filter(|r| r.cache == CacheOutcome::Coalesced)
        .count();
    let hits = resps
        .iter()
        .filter(|r| r.cache == CacheOutcome::Hit)
        .count();
    // Callers that arrive after the answer was stored are plain hits.
    assert!(coalesced > 0, "nobody joined the in-flight request");
    assert_eq!(coalesced + hits, 999);
    assert_eq!(fetcher.stats().upstream_requests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_no_store_responses_are_shared_too() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let reqs = (0..1000)
        .map(|_| req(&server, "/shared-nostore", ResourceKind::Document))
        .collect();
    concurrent(&fetcher, reqs).await;
    assert_eq!(server.count("/shared-nostore"), 1);
    fetcher
        .fetch(req(&server, "/shared-nostore", ResourceKind::Document))
        .await
        .expect("later");
    assert_eq!(server.count("/shared-nostore"), 2, "nothing was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_sessions_fetch_each_resource_once() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let resources = [
        ("/app/main.vxml", ResourceKind::Document),
        ("/app/yesno.grxml", ResourceKind::Grammar),
        ("/app/lib.js", ResourceKind::Script),
    ];
    let mut tasks = Vec::new();
    for _ in 0..10_000 {
        let jar = fetcher.new_session_jar();
        let reqs: Vec<FetchRequest> = resources
            .iter()
            .map(|(path, kind)| {
                let mut r = req(&server, path, *kind);
                r.session = Some(jar.clone());
                r
            })
            .collect();
        let f = fetcher.clone();
        tasks.push(tokio::spawn(async move {
            for r in reqs {
                f.fetch(r).await.expect("session fetch");
            }
        }));
    }
    for t in tasks {
        t.await.expect("session");
    }
    for (path, _) in resources {
        assert_eq!(server.count(path), 1, "{path}");
    }
    let stats = fetcher.stats();
    assert_eq!(stats.requests, 30_000);
    assert_eq!(stats.upstream_requests, 3);
    assert_eq!(stats.errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_follow_the_session_across_pages() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let alice = fetcher.new_session_jar();
    let mut login = req(&server, "/login", ResourceKind::Document);
    login.session = Some(alice.clone());
    fetcher.fetch(login).await.expect("login");
    assert_eq!(
        alice.cookie_header(&server.base).as_deref(),
        Some("sid=abc123")
    );
    let mut who = req(&server, "/whoami", ResourceKind::Document);
    who.session = Some(alice.clone());
    assert!(
        fetcher
            .fetch(who.clone())
            .await
            .expect("whoami")
            .text()
            .contains("sid=abc123")
    );
    let mut submit = req(&server, "/echo", ResourceKind::Submit);
    submit.session = Some(alice);
    submit.method = Method::Post;
    assert!(
        fetcher
            .fetch(submit)
            .await
            .expect("submit")
            .text()
            .starts_with("POST")
    );
    who.session = Some(fetcher.new_session_jar());
    assert!(
        fetcher
            .fetch(who)
            .await
            .expect("other session")
            .text()
            .contains("anonymous")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalesced_waiters_each_keep_the_cookies_set() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let jars: Vec<_> = (0..20).map(|_| fetcher.new_session_jar()).collect();
    let reqs = jars
        .iter()
        .map(|j| {
            let mut r = req(&server, "/login", ResourceKind::Document);
            r.session = Some(j.clone());
            r
        })
        .collect();
    concurrent(&fetcher, reqs).await;
    for jar in &jars {
        assert_eq!(
            jar.cookie_header(&server.base).as_deref(),
            Some("sid=abc123")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_arrives_intact() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let audio: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut r = req(&server, "/upload", ResourceKind::Submit);
    r.method = Method::Post;
    r.enctype = Enctype::Multipart;
    r.params = vec![
        (
            "caller".to_owned(),
            FormValue::Text("4155551234".to_owned()),
        ),
        (
            "msg".to_owned(),
            FormValue::File {
                name: "msg.wav".to_owned(),
                content_type: "audio/wav".to_owned(),
                bytes: Bytes::from(audio.clone()),
            },
        ),
    ];
    let resp = fetcher.fetch(r).await.expect("upload");
    assert_eq!(resp.cache, CacheOutcome::Bypass);
    let (ctype, body) = server
        .origin
        .last_upload
        .lock()
        .expect("upload")
        .clone()
        .expect("received");
    let boundary = ctype
        .strip_prefix("multipart/form-data; boundary=")
        .expect("multipart content type")
        .to_owned();
    let parts = split_multipart(&body, &boundary);
    assert_eq!(parts.len(), 2);
    assert!(parts[0].0.contains("name=\"caller\""));
    assert_eq!(parts[0].1, b"4155551234");
    assert!(parts[1].0.contains("name=\"msg\"") && parts[1].0.contains("filename=\"msg.wav\""));
    assert!(
        parts[1]
            .0
            .to_ascii_lowercase()
            .contains("content-type: audio/wav")
    );
    assert_eq!(
        parts[1].1,
        audio.as_slice(),
        "recording bytes changed in transit"
    );
}

/// Splits a multipart body into (part headers, part content).
fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<(String, &'a [u8])> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(next) = find(rest, format!("\r\n{delimiter}").as_bytes()) else {
            break;
        };
        let part = &rest[2..next];
        let split = find(part, b"\r\n\r\n").expect("part header end");
        parts.push((
            String::from_utf8_lossy(&part[..split]).into_owned(),
            &part[split + 4..],
        ));
        rest = &rest[next..];
    }
    parts
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namelist_in_query_and_bodies() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let params = vec![
        ("city".to_owned(), FormValue::Text("Saint Louis".to_owned())),
        ("n".to_owned(), FormValue::Text("1&2".to_owned())),
    ];
    let mut get = req(&server, "/echo", ResourceKind::Data);
    get.params = params.clone();
    assert_eq!(
        fetcher.fetch(get).await.expect("get").text(),
        "GET city=Saint+Louis&n=1%262 "
    );
    let mut post = req(&server, "/echo", ResourceKind::Data);
    post.method = Method::Post;
    post.params = params.clone();
    assert_eq!(
        fetcher.fetch(post).await.expect("post").text(),
        "POST  city=Saint+Louis&n=1%262"
    );
    let mut redirected = req(&server, "/post-redirect", ResourceKind::Submit);
    redirected.method = Method::Post;
    redirected.params = params;
    let resp = fetcher.fetch(redirected).await.expect("303");
    assert_eq!(resp.text(), "GET after=post ");
    assert_eq!(resp.url.path(), "/echo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_results_are_never_cached_and_post_invalidates() {
    let server = Server::start().await;
    let fetcher = fetcher();
    for _ in 0..2 {
        let r = fetcher
            .fetch(req(&server, "/cached-echo", ResourceKind::Submit))
            .await
            .expect("submit");
        assert_eq!(r.cache, CacheOutcome::Bypass);
    }
    assert_eq!(server.count("/cached-echo"), 2);
    fetcher
        .fetch(req(&server, "/cached-echo", ResourceKind::Data))
        .await
        .expect("data");
    let hit = fetcher
        .fetch(req(&server, "/cached-echo", ResourceKind::Data))
        .await
        .expect("hit");
    assert_eq!(hit.cache, CacheOutcome::Hit);
    let mut post = req(&server, "/cached-echo", ResourceKind::Data);
    post.method = Method::Post;
    fetcher.fetch(post).await.expect("post");
    let after = fetcher
        .fetch(req(&server, "/cached-echo", ResourceKind::Data))
        .await
        .expect("after post");
    assert_eq!(
        after.cache,
        CacheOutcome::Miss,
        "POST dropped the stored response"
    );
}
