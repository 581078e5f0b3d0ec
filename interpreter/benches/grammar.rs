//! Grammar engine benchmarks: compiling the builtin grammars and a
//! 10,000-name directory grammar, matching a 16-digit DTMF string and a
//! 5-word utterance against that directory. Figures go to
//! docs/PERFORMANCE.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use url::Url;
use vxp_interpreter::grammar::{Candidate, Grammar, Input, Mode, Recognition, recognize};
use vxp_interpreter::xml;

const SYLLABLES: [&str; 10] = ["ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "ba"];

/// Name number `i` (0..100) as a two-syllable word.
fn name(i: usize, suffix: &str) -> String {
    format!("{}{}{suffix}", SYLLABLES[i / 10], SYLLABLES[i % 10])
}

/// "call <first> <last> at home|work" over 100 first × 100 last names.
fn directory_xml() -> String {
    let mut s = String::from(
        r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" xml:lang="en-US" root="call" tag-format="semantics/1.0">
<rule id="call">call <ruleref uri="#person"/> at <one-of><item>home</item><item>work</item></one-of><tag>out = rules.person;</tag></rule>
<rule id="person"><one-of>"##,
    );
    for f in 0..100 {
        for l in 0..100 {
            s.push_str(&format!(
                "<item>{} {}<tag>out = {};</tag></item>\n",
                name(f, "n"),
                name(l, "son"),
                f * 100 + l
            ));
        }
    }
    s.push_str("</one-of></rule></grammar>");
    s
}

fn pin_grammar() -> Grammar {
    let src = r##"<grammar xmlns="http://www.w3.org/2001/06/grammar" version="1.0" mode="dtmf" root="card">
<rule id="card"><item repeat="16"><ruleref uri="#d"/></item></rule>
<rule id="d"><one-of><item>0</item><item>1</item><item>2</item><item>3</item><item>4</item>
<item>5</item><item>6</item><item>7</item><item>8</item><item>9</item></one-of></rule></grammar>"##;
    let tree = xml::parse(src).expect("well-formed");
    Grammar::from_xml(&tree, &base()).expect("compiles")
}

fn base() -> Url {
    Url::parse("http://bench.example/g.grxml").expect("url")
}

fn benches(c: &mut Criterion) {
    c.bench_function("compile builtin grammars (7 types x dtmf+voice)", |b| {
        b.iter(|| {
            for ty in [
                "boolean", "date", "digits", "currency", "number", "phone", "time",
            ] {
                for mode in [Mode::Dtmf, Mode::Voice] {
                    black_box(Grammar::builtin_type(ty, mode, "en-US").expect("builtin"));
                }
            }
        });
    });

    let src = directory_xml();
    c.bench_function("compile 10,000-name directory (XML parse + compile)", |b| {
        b.iter(|| {
            let tree = xml::parse(black_box(&src)).expect("well-formed");
            black_box(Grammar::from_xml(&tree, &base()).expect("compiles"))
        });
    });

    let tree = xml::parse(&src).expect("well-formed");
    let directory = Grammar::from_xml(&tree, &base()).expect("compiles");
    let cands = [Candidate {
        grammar: &directory,
        key: 0,
        weight: 1.0,
    }];
    let said = format!("call {} {} at work", name(73, "n"), name(41, "son"));
    assert!(matches!(
        recognize(&cands, Input::Words(&said), 1),
        Recognition::Match { .. }
    ));
    c.bench_function(
        "match 5-word utterance against 10,000-name directory",
        |b| {
            b.iter(|| black_box(recognize(&cands, Input::Words(black_box(&said)), 1)));
        },
    );
    c.bench_function(
        "reject 5-word utterance against 10,000-name directory",
        |b| {
            b.iter(|| {
                black_box(recognize(
                    &cands,
                    Input::Words("call nobody special at all"),
                    1,
                ))
            });
        },
    );

    let pin = pin_grammar();
    let digits = Grammar::builtin("builtin:dtmf/digits?length=16", "en-US").expect("builtin");
    let keys = "4111111111111111";
    for (label, g) in [("SRGS 16-digit grammar", &pin), ("builtin digits", &digits)] {
        let cands = [Candidate {
            grammar: g,
            key: 0,
            weight: 1.0,
        }];
        assert!(matches!(
            recognize(&cands, Input::Dtmf(keys), 1),
            Recognition::Match { .. }
        ));
        c.bench_function(&format!("match 16-digit DTMF against {label}"), |b| {
            b.iter(|| black_box(recognize(&cands, Input::Dtmf(black_box(keys)), 1)));
        });
    }

    let mut ctx = boa_engine::Context::default();
    if let Recognition::Match { hypotheses, .. } = recognize(&cands, Input::Words(&said), 1) {
        c.bench_function("SISR interpretation of a directory match", |b| {
            b.iter(|| black_box(hypotheses[0].interpret(&mut ctx).expect("value")));
        });
    }
}

criterion_group! {
    name = grammar;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = benches
}
criterion_main!(grammar);
