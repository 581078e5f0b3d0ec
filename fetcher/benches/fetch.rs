//! Fetcher benchmarks: the cost of a cached hit (bytes and compiled form, via
//! the async `fetch` and the synchronous `cached`), the throughput of misses
//! against a local axum origin, and 10,000 sessions starting one cached
//! application. Figures are recorded in docs/PERFORMANCE.md.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use support::Server;
use vxp_fetcher::{FetchRequest, Fetcher, FetcherConfig, ResourceKind};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn request(server: &Server, path: &str, kind: ResourceKind) -> FetchRequest {
    FetchRequest::new(server.url(path), kind, Duration::from_secs(10))
}

fn cached_hit(c: &mut Criterion) {
    let rt = runtime();
    let server = rt.block_on(Server::start());
    let fetcher = Fetcher::new(FetcherConfig::default()).expect("fetcher");
    let mut req = request(&server, "/fresh", ResourceKind::Document);
    req.session = Some(fetcher.new_session_jar());
    let first = rt
        .block_on(fetcher.fetch(req.clone()))
        .expect("warm-up fetch");
    fetcher.store_compiled(&first, Arc::new(vec![0u8; 1024]));
    let mut group = c.benchmark_group("fetcher/hit");
    group.bench_function("fetch (async, bytes + compiled)", |b| {
        b.iter(|| {
            let resp = rt
                .block_on(fetcher.fetch(black_box(req.clone())))
                .expect("hit");
            assert!(resp.compiled.is_some());
            resp
        })
    });
    group.bench_function("cached (sync, bytes + compiled)", |b| {
        b.iter(|| {
            let resp = fetcher.cached(black_box(&req)).expect("hit");
            assert!(resp.compiled.is_some());
            resp
        })
    });
    group.finish();
}

fn misses(c: &mut Criterion) {
    let rt = runtime();
    let server = rt.block_on(Server::start());
    let fetcher = Fetcher::new(FetcherConfig::default()).expect("fetcher");
    let req = request(&server, "/nostore", ResourceKind::Document);
    let mut group = c.benchmark_group("fetcher/miss");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sequential", |b| {
        b.iter(|| rt.block_on(fetcher.fetch(req.clone())).expect("miss"))
    });
    const BATCH: u64 = 64;
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("64 concurrent distinct URLs", |b| {
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            let reqs: Vec<FetchRequest> = (0..BATCH)
                .map(|i| {
                    let mut r = req.clone();
                    r.url.set_query(Some(&format!("n={n}-{i}")));
                    r
                })
                .collect();
            rt.block_on(async {
                let tasks: Vec<_> = reqs
                    .into_iter()
                    .map(|r| {
                        let f = fetcher.clone();
                        tokio::spawn(async move { f.fetch(r).await })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task").expect("miss");
                }
            })
        })
    });
    group.finish();
}

fn ten_thousand_sessions(c: &mut Criterion) {
    let rt = runtime();
    let server = rt.block_on(Server::start());
    let mut group = c.benchmark_group("fetcher/sessions");
    group.sample_size(10);
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("10000 sessions x 3 resources, cold cache", |b| {
        b.iter(|| {
            let fetcher = Fetcher::new(FetcherConfig::default()).expect("fetcher");
            let resources = [
                ("/app/main.vxml", ResourceKind::Document),
                ("/app/yesno.grxml", ResourceKind::Grammar),
                ("/app/lib.js", ResourceKind::Script),
            ];
            rt.block_on(async {
                let tasks: Vec<_> = (0..10_000)
                    .map(|_| {
                        let f = fetcher.clone();
                        let jar = f.new_session_jar();
                        let reqs: Vec<FetchRequest> = resources
                            .iter()
                            .map(|(p, k)| {
                                let mut r = request(&server, p, *k);
                                r.session = Some(jar.clone());
                                r
                            })
                            .collect();
                        tokio::spawn(async move {
                            for r in reqs {
                                f.fetch(r).await.expect("session fetch");
                            }
                        })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("session");
                }
            });
            assert_eq!(fetcher.stats().upstream_requests, 3);
        })
    });
    group.finish();
}

criterion_group!(benches, cached_hit, misses, ten_thousand_sessions);
criterion_main!(benches);
