//! Fuzz target: arbitrary bytes as an SRGS XML grammar file. Compiling must
//! return a grammar or an error, never panic; a compiled grammar is then
//! matched against a few inputs drawn from the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vxp_interpreter::grammar::{Candidate, Grammar, Input, recognize};

fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("http://fuzz.example/g.grxml").expect("static URL");
    if let Ok(g) = Grammar::from_bytes(data, Some("application/srgs+xml"), &url) {
        let text = String::from_utf8_lossy(data);
        let words: String = text
            .split_whitespace()
            .take(8)
            .collect::<Vec<_>>()
            .join(" ");
        let cands = [Candidate {
            grammar: &g,
            key: 0,
            weight: 1.0,
        }];
        let _ = recognize(&cands, Input::Words(&words), 3);
        let _ = recognize(&cands, Input::Dtmf("0123456789*#"), 3);
    }
});
