//! HTTP caching against a real origin: freshness, revalidation, no-store,
//! maxage/maxstale, Vary, redirects, compiled forms, files, prefetch.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use support::Server;
use vxp_fetcher::{CacheOutcome, FetchRequest, Fetcher, FetcherConfig, ResourceKind};

fn fetcher() -> Fetcher {
    Fetcher::new(FetcherConfig::default()).expect("fetcher")
}

fn doc(server: &Server, path: &str) -> FetchRequest {
    FetchRequest::new(
        server.url(path),
        ResourceKind::Document,
        Duration::from_secs(5),
    )
}

/// One fetch of a caching case and what it must produce.
struct Step {
    maxage: Option<u64>,
    maxstale: Option<u64>,
    /// Change the origin's resource before this fetch.
    change: bool,
    expect: CacheOutcome,
    body: &'static str,
    /// Requests that reached the origin after this step.
    upstream: usize,
}

const fn step(expect: CacheOutcome, body: &'static str, upstream: usize) -> Step {
    Step {
        maxage: None,
        maxstale: None,
        change: false,
        expect,
        body,
        upstream,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caching_rules_against_origin() {
    use CacheOutcome::*;
    let cases: Vec<(&str, &str, Vec<Step>)> = vec![
        (
            "fresh hit",
            "/fresh",
            vec![
                step(Miss, "fresh", 1),
                step(Hit, "fresh", 1),
                step(Hit, "fresh", 1),
            ],
        ),
        (
            "stale, revalidated with 304",
            "/etag",
            vec![step(Miss, "v0", 1), step(Revalidated, "v0", 2)],
        ),
        (
            "stale, revalidated with 200",
            "/etag",
            vec![
                step(Miss, "v0", 1),
                Step {
                    change: true,
                    ..step(Miss, "version 1", 2)
                },
                step(Revalidated, "version 1", 3),
            ],
        ),
        (
            "Last-Modified revalidation",
            "/lastmod",
            vec![step(Miss, "lm", 1), step(Revalidated, "lm", 2)],
        ),
        (
            "no-store is never stored",
            "/nostore",
            vec![step(Miss, "nostore", 1), step(Miss, "nostore", 2)],
        ),
        (
            "maxage=0 forces a fetch",
            "/fresh",
            vec![
                step(Miss, "fresh", 1),
                Step {
                    maxage: Some(0),
                    ..step(Miss, "fresh", 2)
                },
            ],
        ),
        (
            "maxage=0 revalidates when validators exist",
            "/etag",
            vec![
                step(Miss, "v0", 1),
                Step {
                    maxage: Some(0),
                    ..step(Revalidated, "v0", 2)
                },
            ],
        ),
        (
            "maxage above the age keeps the hit",
            "/fresh",
            vec![
                step(Miss, "fresh", 1),
                Step {
                    maxage: Some(30),
                    ..step(Hit, "fresh", 1)
                },
            ],
        ),
        (
            "maxstale accepts a stale entry",
            "/stale",
            vec![
                step(Miss, "stale", 1),
                Step {
                    maxstale: Some(60),
                    ..step(Stale, "stale", 1)
                },
                step(Miss, "stale", 2),
            ],
        ),
    ];
    for (name, path, steps) in cases {
        let server = Server::start().await;
        let fetcher = fetcher();
        for (i, s) in steps.into_iter().enumerate() {
            if s.change {
                server.origin.version.fetch_add(1, Ordering::SeqCst);
            }
            let mut req = doc(&server, path);
            req.maxage = s.maxage.map(Duration::from_secs);
            req.maxstale = s.maxstale.map(Duration::from_secs);
            let resp = fetcher
                .fetch(req)
                .await
                .unwrap_or_else(|e| panic!("{name} step {i}: {e}"));
            assert_eq!(resp.cache, s.expect, "{name} step {i}: outcome");
            assert!(
                resp.text().contains(s.body),
                "{name} step {i}: body {:?}",
                resp.text()
            );
            assert_eq!(
                server.count(path),
                s.upstream,
                "{name} step {i}: upstream requests"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vary_cookie_selects_the_variant() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let (a, b) = (fetcher.new_session_jar(), fetcher.new_session_jar());
    a.add_cookie("user=alice", &server.base);
    b.add_cookie("user=bob", &server.base);
    let fetch = |jar: &vxp_fetcher::SessionJar| {
        let mut req = doc(&server, "/vary");
        req.session = Some(jar.clone());
        fetcher.fetch(req)
    };
    let first = fetch(&a).await.expect("alice");
    assert!(first.text().contains("user=alice"));
    let other = fetch(&b).await.expect("bob");
    assert!(
        other.text().contains("user=bob"),
        "bob must not get alice's variant"
    );
    assert_eq!(other.cache, CacheOutcome::Miss);
    let again = fetch(&a).await.expect("alice again");
    assert_eq!(again.cache, CacheOutcome::Hit);
    assert!(again.text().contains("user=alice"));
    assert_eq!(server.count("/vary"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_and_the_final_url_reported() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let mut req = doc(&server, "/redirect");
    req.url.set_fragment(Some("menu"));
    let resp = fetcher.fetch(req).await.expect("redirected");
    assert_eq!(resp.url.path(), "/fresh");
    assert_eq!(resp.url.fragment(), Some("menu"));
    assert!(resp.text().contains("fresh"));
    let again = fetcher
        .fetch(doc(&server, "/redirect"))
        .await
        .expect("again");
    assert_eq!(again.cache, CacheOutcome::Hit, "the target is fresh");
    assert_eq!(server.count("/fresh"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compiled_form_survives_revalidation_and_goes_with_a_change() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let first = fetcher.fetch(doc(&server, "/etag")).await.expect("first");
    assert!(first.compiled.is_none());
    fetcher.store_compiled(&first, Arc::new(String::from("compiled v0")));
    let second = fetcher.fetch(doc(&server, "/etag")).await.expect("second");
    assert_eq!(second.cache, CacheOutcome::Revalidated);
    assert_eq!(
        second
            .compiled_as::<String>()
            .as_deref()
            .map(String::as_str),
        Some("compiled v0")
    );
    server.origin.version.fetch_add(1, Ordering::SeqCst);
    let changed = fetcher.fetch(doc(&server, "/etag")).await.expect("changed");
    assert_eq!(changed.cache, CacheOutcome::Miss);
    assert!(
        changed.compiled.is_none(),
        "a changed entity must be compiled again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_body_keeps_its_compiled_form_without_validators() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let first = fetcher
        .fetch(doc(&server, "/same-body"))
        .await
        .expect("first");
    fetcher.store_compiled(&first, Arc::new(1u8));
    let second = fetcher
        .fetch(doc(&server, "/same-body"))
        .await
        .expect("second");
    assert_eq!(second.cache, CacheOutcome::Miss);
    assert_eq!(server.count("/same-body"), 2);
    assert_eq!(second.compiled_as::<u8>().as_deref(), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_page_is_compiled_once_for_many_callers() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let compilations = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let (fetcher, compilations, req) = (
            fetcher.clone(),
            compilations.clone(),
            doc(&server, "/fresh"),
        );
        tasks.push(tokio::spawn(async move {
            let (_, compiled) = fetcher
                .fetch_compiled(req, |resp| {
                    compilations.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, String>(resp.bytes.len())
                })
                .await
                .expect("fetch");
            *compiled.expect("compiles")
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("task"), "<vxml>fresh</vxml>".len());
    }
    assert_eq!(compilations.load(Ordering::SeqCst), 1);
    assert_eq!(server.count("/fresh"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_fills_the_cache() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let grammar = FetchRequest::new(
        server.url("/app/yesno.grxml"),
        ResourceKind::Grammar,
        Duration::from_secs(5),
    );
    let script = FetchRequest::new(
        server.url("/app/lib.js"),
        ResourceKind::Script,
        Duration::from_secs(5),
    );
    fetcher.prefetch(vec![grammar.clone(), script.clone()]);
    // Asked at once, the script joins the prefetch (or the prefetch joins it).
    let s = fetcher.fetch(script).await.expect("script");
    assert_eq!(s.content_type.as_deref(), Some("application/javascript"));
    // Asked later, the grammar is already cached.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let g = fetcher.fetch(grammar).await.expect("grammar");
    assert_eq!(g.cache, CacheOutcome::Hit);
    assert_eq!(g.content_type.as_deref(), Some("application/srgs+xml"));
    assert_eq!(server.count("/app/yesno.grxml"), 1);
    assert_eq!(server.count("/app/lib.js"), 1);
    assert_eq!(fetcher.stats().prefetches, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_answers_without_io_only_when_fresh() {
    let server = Server::start().await;
    let fetcher = fetcher();
    let req = doc(&server, "/fresh");
    assert!(fetcher.cached(&req).is_none());
    fetcher.fetch(req.clone()).await.expect("fill");
    let hit = fetcher.cached(&req).expect("fresh entry");
    assert_eq!(hit.cache, CacheOutcome::Hit);
    fetcher
        .fetch(doc(&server, "/etag"))
        .await
        .expect("fill etag");
    assert!(
        fetcher.cached(&doc(&server, "/etag")).is_none(),
        "stale entries need the origin"
    );
    let stats = fetcher.stats();
    assert_eq!(stats.hits, 1);
    assert_eq!(stats.misses, 2);
    assert!(stats.bytes_cached > 0);
    assert_eq!(stats.entries, 2);
}

#[tokio::test]
async fn file_urls_are_cached_until_the_file_changes() {
    let dir = std::env::temp_dir().join(format!("vxp-fetcher-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("main.vxml");
    std::fs::write(&path, "<vxml>one</vxml>").expect("write");
    let url = url::Url::from_file_path(&path).expect("file url");
    let fetcher = fetcher();
    let req = FetchRequest::new(url.clone(), ResourceKind::Document, Duration::from_secs(5));
    let first = fetcher.fetch(req.clone()).await.expect("read");
    assert_eq!(first.cache, CacheOutcome::Miss);
    assert_eq!(
        first.content_type.as_deref(),
        Some("application/voicexml+xml")
    );
    fetcher.store_compiled(&first, Arc::new(42u32));
    let mut from_file_doc = req.clone();
    from_file_doc.referrer = Some(url.join("other.vxml").expect("sibling"));
    let second = fetcher.fetch(from_file_doc).await.expect("cached");
    assert_eq!(second.cache, CacheOutcome::Revalidated);
    assert_eq!(second.compiled_as::<u32>().as_deref(), Some(&42));
    std::fs::write(&path, "<vxml>second version</vxml>").expect("rewrite");
    let third = fetcher.fetch(req).await.expect("reread");
    assert_eq!(third.cache, CacheOutcome::Miss);
    assert_eq!(third.text(), "<vxml>second version</vxml>");
    assert!(third.compiled.is_none());
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[tokio::test]
async fn data_urls_decode() {
    let fetcher = fetcher();
    let url = url::Url::parse("data:application/srgs+xml;base64,PGdyYW1tYXIvPg==").expect("url");
    let resp = fetcher
        .fetch(FetchRequest::new(
            url,
            ResourceKind::Grammar,
            Duration::from_secs(1),
        ))
        .await
        .expect("decoded");
    assert_eq!(resp.text(), "<grammar/>");
    assert_eq!(resp.cache, CacheOutcome::Bypass);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_can_drop_cached_pages() {
    let server = Server::start().await;
    let fetcher = fetcher();
    fetcher.fetch(doc(&server, "/fresh")).await.expect("fill");
    fetcher.fetch(doc(&server, "/stale")).await.expect("fill");
    fetcher.invalidate(&server.url("/fresh"));
    let again = fetcher
        .fetch(doc(&server, "/fresh"))
        .await
        .expect("refetch");
    assert_eq!(again.cache, CacheOutcome::Miss);
    assert_eq!(server.count("/fresh"), 2);
    fetcher.clear();
    assert_eq!(fetcher.stats().entries, 0);
    assert_eq!(fetcher.stats().bytes_cached, 0);
}
