//! Snapshot tests of `vxml-samples/bank`: PIN authentication in a subdialog
//! with retries, `<data>` account record, `<foreach>` over transactions.

use insta::assert_snapshot;
use vxp_platform::testing::Dialog;
use vxp_tests::sample;

fn bank() -> Dialog {
    Dialog::start(sample("bank/bank.vxml"))
}

#[test]
fn balance_and_recent_transactions() {
    let t = bank().press("12345").press("2468").say("yes").run();
    assert!(t.ended_with_exit(), "{t}");
    assert!(t.said("1523.75"), "{t}");
    assert_snapshot!(t);
}

#[test]
fn wrong_pin_then_right_pin_then_no_transactions() {
    let t = bank()
        .press("12345")
        .press("1111")
        .press("2468")
        .press("2")
        .run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn pin_retries_exhausted_disconnects() {
    // bank.vxml gives the subdialog three attempts (<param name="maxAttempts">).
    let t = bank()
        .press("12345")
        .press("1111")
        .press("2222")
        .press("3333")
        .run();
    assert!(t.ended_with_disconnect(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn silence_at_the_account_number_reprompts() {
    let t = bank()
        .silence()
        .press("67890")
        .press("1357")
        .say("no")
        .run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn three_failed_account_numbers_end_the_call() {
    let t = bank().nomatch().press("12").nomatch().run();
    assert!(t.ended_with_disconnect(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn account_without_transactions() {
    let t = bank().press("67890").press("1357").say("yes").run();
    assert!(t.ended_with_exit(), "{t}");
    assert!(t.said("87.02"), "{t}");
    assert_snapshot!(t);
}

#[test]
fn silence_at_the_transactions_question_reprompts() {
    let t = bank()
        .press("12345")
        .press("2468")
        .silence()
        .press("1")
        .run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn caller_hangs_up_at_the_pin() {
    let t = bank().press("12345").hangup().run();
    assert!(!t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn account_and_pin_typed_ahead_in_one_go() {
    // The five account digits fill the first field; the four PIN digits that
    // follow are typeahead for the PIN field (VoiceXML 2.0 §4.1.8).
    let t = bank().press("123452468").say("yes").run();
    assert!(t.ended_with_exit(), "{t}");
    assert!(t.said("1523.75"), "{t}");
    assert_snapshot!(t);
}
