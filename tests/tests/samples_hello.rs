//! Snapshot tests of `vxml-samples/hello`: the smallest application.

use insta::assert_snapshot;
use vxp_platform::testing::Dialog;
use vxp_tests::sample;

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
