//! Snapshot tests of `vxml-samples/hello`: the smallest application.

use insta::assert_snapshot;
use vxp_platform::testing::Dialog;
use vxp_tests::{SampleServer, sample};

#[test]
fn hello_greets_and_exits() {
    let t = Dialog::start(sample("hello/hello.vxml")).run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn hello_as_json_lines() {
    let t = Dialog::start(sample("hello/hello.vxml")).run();
    assert_snapshot!(t.to_jsonl());
}

#[test]
fn hello_over_http_fetches_the_chime_through_the_cache() {
    let server = SampleServer::start();
    let t = Dialog::start(server.url("hello/hello.vxml"))
        .rewrite(&server.base(), "http://SERVER")
        .run();
    assert!(t.ended_with_exit(), "{t}");
    // The chime plays (4844 bytes, 300 ms), so its alternate text is not spoken.
    assert!(!t.said("A short chime."), "{t}");
    assert_snapshot!(t);
}
