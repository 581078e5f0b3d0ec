//! Cost of the ECMAScript host: cached versus freshly parsed evaluation, a
//! `<script>` run, the script work of one DTMF step, host creation, and the
//! resident memory of live sessions (read from `/proc/self/statm`).
//!
//! `cargo bench -p vxp-interpreter --bench script`

use std::hint::black_box;

use boa_engine::{Context, JsValue, Source};
use criterion::{BatchSize, Criterion, criterion_group};
use vxp_interpreter::script::{RecognitionResult, Scope, ScriptHost, ScriptLimits, SessionInfo};

/// A host set up as a session inside a form, with a few page variables.
fn session_host() -> ScriptHost {
    let mut host = ScriptHost::new(ScriptLimits::default()).expect("host");
    let info = SessionInfo {
        local_uri: "sip:dialog@mcp:5090".into(),
        remote_uri: "sip:5551234@gw".into(),
        protocol_name: "sip".into(),
        protocol_version: "2.0".into(),
        ..SessionInfo::default()
    };
    host.set_session(&info).expect("session");
    host.enter(Scope::Application);
    host.enter(Scope::Document);
    host.run_script(
        "var retries = 0; function prompt(n) { return 'Please enter your ' + n; }",
        Scope::Document,
    )
    .expect("document script");
    host.enter(Scope::Dialog);
    host.declare(Scope::Dialog, "pin", JsValue::undefined())
        .expect("declare");
    host.enter(Scope::Anonymous);
    host
}

const SCRIPT: &str = "var total = 0; for (var i = 0; i < 10; i++) { total += i; } \
                      function fmt(n) { return 'n=' + n; } var shown = fmt(total);";

fn evaluation(c: &mut Criterion) {
    let mut group = c.benchmark_group("script");
    group.bench_function("eval cached expression", |b| {
        let mut host = session_host();
        host.declare(Scope::Dialog, "x", host.string("x")).unwrap();
        b.iter(|| black_box(host.eval("'Hello ' + x + (1+2)").unwrap()));
    });
    group.bench_function("eval cached constant (call overhead)", |b| {
        let mut host = session_host();
        b.iter(|| black_box(host.eval("1").unwrap()));
    });
    group.bench_function("eval_bool cached cond", |b| {
        let mut host = session_host();
        b.iter(|| black_box(host.eval_bool("pin == undefined && retries < 3").unwrap()));
    });
    group.bench_function("eval fresh parse (boa Context::eval)", |b| {
        let mut context = Context::default();
        b.iter(|| {
            black_box(
                context
                    .eval(Source::from_bytes("'Hello ' + 'x' + (1+2)"))
                    .unwrap(),
            )
        });
    });
    group.bench_function("eval uncached expression (compile + call)", |b| {
        let mut host = session_host();
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            black_box(host.eval(&format!("'Hello ' + {n}")).unwrap())
        });
    });
    group.bench_function("run_script cached", |b| {
        let mut host = session_host();
        b.iter(|| host.run_script(SCRIPT, Scope::Anonymous).unwrap());
    });
    group.bench_function("dtmf step (shadow, lastresult$, assign, conds)", |b| {
        let mut host = session_host();
        b.iter(|| {
            host.enter(Scope::Anonymous);
            let result = RecognitionResult {
                utterance: "1234".into(),
                confidence: 1.0,
                inputmode: "dtmf".into(),
                interpretation: host.string("1234"),
                markname: None,
                marktime: None,
            };
            host.set_last_result(std::slice::from_ref(&result)).unwrap();
            host.set_shadow(
                Scope::Dialog,
                "pin$",
                &[
                    ("utterance", host.string("1234")),
                    ("confidence", JsValue::from(1.0)),
                    ("inputmode", host.string("dtmf")),
                ],
            )
            .unwrap();
            host.assign("pin", host.string("1234")).unwrap();
            black_box(host.eval_bool("pin != undefined").unwrap());
            black_box(host.eval_bool("pin.length == 4").unwrap());
            black_box(host.eval_string("prompt('pin')").unwrap());
        });
    });
    group.bench_function("host creation", |b| {
        b.iter_batched(
            || (),
            |()| black_box(ScriptHost::new(ScriptLimits::default()).unwrap()),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("session host setup (create, session vars, scopes)", |b| {
        b.iter_batched(|| (), |()| black_box(session_host()), BatchSize::SmallInput);
    });
    group.finish();
}

criterion_group!(benches, evaluation);

/// Resident set size in bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Resident memory per live host, and what a full collection of their
/// shared per-thread heap costs. Every batch stays alive until the end, so
/// no batch reuses memory another one freed.
#[allow(clippy::print_stdout, reason = "a bench binary reports its figures")]
fn memory() {
    const N: usize = 1000;
    let before = rss();
    let contexts: Vec<Context> = (0..N).map(|_| Context::default()).collect();
    let bare = rss().saturating_sub(before) / N;

    let before = rss();
    let hosts: Vec<ScriptHost> = (0..N)
        .map(|_| ScriptHost::new(ScriptLimits::default()).unwrap())
        .collect();
    let empty = rss().saturating_sub(before) / N;

    let before = rss();
    let mut sessions: Vec<ScriptHost> = (0..N).map(|_| session_host()).collect();
    for host in &mut sessions {
        host.eval_bool("pin == undefined && retries < 3").unwrap();
        host.eval_string("prompt('pin')").unwrap();
        host.run_script(SCRIPT, Scope::Anonymous).unwrap();
    }
    let live = rss().saturating_sub(before) / N;

    boa_engine::gc::force_collect();
    let before = rss();
    for host in &mut sessions[..100] {
        for i in 0..100 {
            host.eval(&format!("pin == undefined && retries < {i}"))
                .unwrap();
        }
    }
    let per_code = rss().saturating_sub(before) / (100 * 100);

    let start = std::time::Instant::now();
    boa_engine::gc::force_collect();
    let collect = start.elapsed();

    println!("memory per bare boa Context::default(): {} KB", bare / 1024);
    println!("memory per ScriptHost::new: {} KB", empty / 1024);
    println!(
        "memory per live session host (scopes, session vars, 3 cached codes): {} KB",
        live / 1024
    );
    println!(
        "memory per cached compiled expression (RSS growth over 10,000 compiles): {per_code} bytes"
    );
    println!(
        "force_collect with {} contexts alive on the thread: {collect:?}",
        3 * N
    );
    drop((contexts, hosts, sessions));

    // A collection walks every object of every context on the thread: its
    // cost bounds how many sessions one worker thread should hold.
    for n in [10, 100, 1000] {
        let (first, again) = std::thread::spawn(move || {
            let sessions: Vec<ScriptHost> = (0..n).map(|_| session_host()).collect();
            let start = std::time::Instant::now();
            boa_engine::gc::force_collect();
            let first = start.elapsed();
            let start = std::time::Instant::now();
            boa_engine::gc::force_collect();
            let again = start.elapsed();
            drop(sessions);
            (first, again)
        })
        .join()
        .expect("measurement thread");
        println!(
            "force_collect with {n} session hosts on a fresh thread: {first:?} (again: {again:?})"
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--memory") {
        memory();
        return;
    }
    // Memory first, while the allocator holds no freed memory to reuse.
    memory();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
