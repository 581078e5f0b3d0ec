//! Fuzzes the VoiceXML compiler: any bytes must compile or fail with a
//! `CompileError`, never panic, hang or exhaust memory.
#![no_main]

use libfuzzer_sys::fuzz_target;
use url::Url;
use vxp_interpreter::vxml::parse;

fuzz_target!(|data: &[u8]| {
    let url = Url::parse("http://fuzz.example/page.vxml").expect("static URL");
    if let Err(e) = parse::compile(data, &url) {
        // Every error must render as url:line:column: message.
        assert!(e.to_string().starts_with("http://fuzz.example/page.vxml:"));
    }
});
