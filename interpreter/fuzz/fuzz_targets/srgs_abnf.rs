//! Fuzz target: arbitrary text as an SRGS ABNF grammar. Compiling must
//! return a grammar or an error, never panic; a compiled grammar is then
//! matched against words drawn from the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vxp_interpreter::grammar::{Candidate, Grammar, Input, recognize};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let url = url::Url::parse("http://fuzz.example/g.gram").expect("static URL");
    let src = format!("#ABNF 1.0;\n{src}");
    if let Ok(g) = Grammar::from_abnf(&src, &url) {
        let words: String = src
            .split_whitespace()
            .skip(2)
            .take(8)
            .collect::<Vec<_>>()
            .join(" ");
        let cands = [Candidate {
            grammar: &g,
            key: 0,
            weight: 1.0,
        }];
        let _ = recognize(&cands, Input::Words(&words), 3);
        let _ = recognize(&cands, Input::Dtmf(&words), 3);
    }
});
