//! Document compiler throughput: bytes of VoiceXML turned into a shared
//! `Arc<Document>` per second (target: at least 50 MB/s on a 50 KB page).
//!
//! Run with `cargo bench -p vxp-interpreter --bench compile`.
//!
//! Each case is measured twice: by wall clock (criterion's default) and by
//! the CPU time of the benchmark thread (`CLOCK_THREAD_CPUTIME_ID`), because the reference machine is shared and a wall-clock figure
//! taken while other jobs run says more about the load than about the code.
//!
//! `-- --iterations N [CASE]` skips criterion and runs `page_50k` and
//! `xml_tree_50k` (or only `CASE`) N times each, for an instruction counter:
//! `valgrind --tool=callgrind` with N and with 0, the difference divided by N
//! is the instructions per page, a figure the load on the machine does not
//! change (the model builder's share is the difference of the two cases).
#![allow(clippy::print_stdout)]

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, Throughput, criterion_group};
use rustix::time::{ClockId, clock_gettime};
use url::Url;
use vxp_interpreter::vxml::parse;
use vxp_interpreter::xml;

/// A banking IVR page of about 50 KB: a menu and sixteen forms with fields,
/// inline SRGS grammars, handlers, subdialogs, transfers and GVP extensions.
const PAGE: &str = include_str!("../src/vxml/parse/testdata/realistic-50k.vxml");

/// CPU time the current thread has run, if the platform reports it. The
/// thread CPU-time clock is exact to the nanosecond; the scheduler statistics
/// file read before could report no time at all for a short sample.
fn thread_cpu_time() -> Option<Duration> {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    let time = Duration::new(
        u64::try_from(t.tv_sec).ok()?,
        u32::try_from(t.tv_nsec).ok()?,
    );
    (!time.is_zero()).then_some(time)
}

/// Benchmarks `f` by wall clock as `name` and by thread CPU time as `name_cpu`.
fn both<O>(group: &mut BenchmarkGroup<'_, WallTime>, name: &str, f: impl Fn() -> O) {
    group.bench_function(name, |b| b.iter(&f));
    if thread_cpu_time().is_none() {
        return;
    }
    group.bench_function(format!("{name}_cpu"), |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu_time().unwrap_or_default();
            for _ in 0..iters {
                black_box(f());
            }
            thread_cpu_time().unwrap_or_default().saturating_sub(start)
        });
    });
}

fn url() -> Url {
    Url::parse("http://apps.example.com/bank/main.vxml").expect("valid URL")
}

fn compile(c: &mut Criterion) {
    let url = url();
    let tree = xml::parse(PAGE).expect("well-formed");
    let mut group = c.benchmark_group("compile");
    group.throughput(Throughput::Bytes(PAGE.len() as u64));
    both(&mut group, "page_50k", || {
        parse::compile(black_box(PAGE), &url).expect("the page compiles")
    });
    // The XML front end and the model builder apart, to show where the time goes.
    both(&mut group, "xml_tree_50k", || {
        xml::parse(black_box(PAGE)).expect("well-formed")
    });
    // The builder consumes the tree (inline grammars are moved into the
    // model, not copied): each iteration gets a copy made outside the timing.
    group.bench_function("model_from_tree_50k", |b| {
        b.iter_batched(
            || tree.clone(),
            |t| parse::compile_tree(t, &url).expect("the page compiles"),
            BatchSize::SmallInput,
        )
    });
    if thread_cpu_time().is_some() {
        group.bench_function("model_from_tree_50k_cpu", |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let t = tree.clone();
                    let start = thread_cpu_time().unwrap_or_default();
                    black_box(parse::compile_tree(t, &url).expect("the page compiles"));
                    spent += thread_cpu_time().unwrap_or_default().saturating_sub(start);
                }
                spent
            });
        });
    }
    group.finish();
}

/// Runs the cases `n` times each without criterion (for instruction counts).
fn iterations(n: usize, only: Option<&str>) {
    let url = url();
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    if wanted("page_50k") {
        for _ in 0..n {
            black_box(parse::compile(black_box(PAGE), &url).expect("the page compiles"));
        }
    }
    if wanted("xml_tree_50k") {
        for _ in 0..n {
            black_box(xml::parse(black_box(PAGE)).expect("well-formed"));
        }
    }
    println!("ran {n} iterations of {}", only.unwrap_or("every case"));
}

criterion_group!(benches, compile);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--iterations") {
        let n = args
            .get(i + 1)
            .and_then(|v| v.parse().ok())
            .expect("--iterations needs a count");
        iterations(n, args.get(i + 2).map(String::as_str));
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
