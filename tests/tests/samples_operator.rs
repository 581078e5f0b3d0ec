//! Snapshot tests of `vxml-samples/operator`: an application root with
//! universals, an application-wide link to `<transfer>`, `<throw>`,
//! `application.lastresult$`.

use insta::assert_snapshot;
use vxp_platform::testing::Dialog;
use vxp_platform::text::TransferOutcome;
use vxp_tests::sample;

fn status_line() -> Dialog {
    Dialog::start(sample("operator/main.vxml"))
}

#[test]
fn check_an_order_then_leave() {
    let t = status_line().press("100200").say("no").run();
    assert!(t.ended_with_exit(), "{t}");
    assert!(t.said("shipped yesterday"), "{t}");
    assert_snapshot!(t);
}

#[test]
fn unknown_order_is_caught_and_asked_again() {
    let t = status_line()
        .press("999999")
        .press("300400")
        .say("no")
        .run();
    assert!(t.events().contains(&"order.unknown"), "{t}");
    assert_snapshot!(t);
}

#[test]
fn two_orders() {
    let t = status_line()
        .press("100200")
        .say("yes")
        .press("300400")
        .say("no")
        .run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn operator_link_by_voice_busy() {
    let t = status_line()
        .say("operator")
        .transfer_result(TransferOutcome::Busy)
        .run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"call": "busy"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn operator_link_by_key_answered() {
    let t = status_line().press("0").run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"call": "far_end_disconnect"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn universal_help_then_universal_exit() {
    let t = status_line().say("help").press("300400").say("exit").run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn two_silences_go_to_the_operator() {
    let t = status_line()
        .silence()
        .silence()
        .transfer_result(TransferOutcome::NoAnswer)
        .run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"call": "noanswer"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn unroutable_transfer_is_handled_by_the_application_error_handler() {
    // The first attempt cannot be routed: the root's <error> handler sends the
    // caller to the operator page again, and the second attempt is answered.
    let t = status_line()
        .press("0")
        .transfer_result(TransferOutcome::NoRoute)
        .run();
    assert!(t.events().contains(&"error.connection.noroute"), "{t}");
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"call": "far_end_disconnect"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn transfer_as_json_lines() {
    let t = status_line()
        .say("operator")
        .transfer_result(TransferOutcome::Busy)
        .run();
    assert_snapshot!(t.to_jsonl());
}
