//! Document compiler throughput: bytes of VoiceXML turned into a shared
//! `Arc<Document>` per second (target: at least 50 MB/s on a 50 KB page).
//!
//! Run with `cargo bench -p vxp-interpreter --bench compile`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use url::Url;
use vxp_interpreter::vxml::parse;
use vxp_interpreter::xml;

/// A banking IVR page of about 50 KB: a menu and sixteen forms with fields,
/// inline SRGS grammars, handlers, subdialogs, transfers and GVP extensions.
const PAGE: &str = include_str!("../src/vxml/parse/testdata/realistic-50k.vxml");

fn compile(c: &mut Criterion) {
    let url = Url::parse("http://apps.example.com/bank/main.vxml").expect("valid URL");
    let mut group = c.benchmark_group("compile");
    group.throughput(Throughput::Bytes(PAGE.len() as u64));
    group.bench_function("page_50k", |b| {
        b.iter(|| parse::compile(black_box(PAGE), &url).expect("the page compiles"));
    });
    // The XML front end alone, to show where the time goes.
    group.bench_function("xml_tree_50k", |b| {
        b.iter(|| xml::parse(black_box(PAGE)).expect("well-formed"));
    });
    let tree = xml::parse(PAGE).expect("well-formed");
    group.bench_function("model_from_tree_50k", |b| {
        b.iter(|| parse::compile_tree(black_box(&tree), &url).expect("the page compiles"));
    });
    group.finish();
}

criterion_group!(benches, compile);
criterion_main!(benches);
