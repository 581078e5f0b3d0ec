//! Document compiler throughput: bytes of VoiceXML turned into a shared
//! `Arc<Document>` per second (target: at least 50 MB/s on a 50 KB page).
//!
//! Run with `cargo bench -p vxp-interpreter --bench compile`.
//!
//! Each case is measured twice: by wall clock (criterion's default) and by
//! the CPU time of the benchmark thread (`/proc/thread-self/schedstat`, on
//! Linux), because the reference machine is shared and a wall-clock figure
//! taken while other jobs run says more about the load than about the code.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use url::Url;
use vxp_interpreter::vxml::parse;
use vxp_interpreter::xml;

/// A banking IVR page of about 50 KB: a menu and sixteen forms with fields,
/// inline SRGS grammars, handlers, subdialogs, transfers and GVP extensions.
const PAGE: &str = include_str!("../src/vxml/parse/testdata/realistic-50k.vxml");

/// CPU time the current thread has run, if the platform reports it.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse::<u64>().ok()?;
    Some(Duration::from_nanos(nanos))
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

fn compile(c: &mut Criterion) {
    let url = Url::parse("http://apps.example.com/bank/main.vxml").expect("valid URL");
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
    both(&mut group, "model_from_tree_50k", || {
        parse::compile_tree(black_box(&tree), &url).expect("the page compiles")
    });
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
