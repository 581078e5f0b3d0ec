//! Snapshot tests of `vxml-samples/pizza`: mixed initiative with `<initial>`,
//! a form-level grammar, `<filled mode="all">`, inline SRGS XML and ABNF.

use insta::assert_snapshot;
use vxp_platform::testing::Dialog;
use vxp_tests::sample;

fn pizza() -> Dialog {
    Dialog::start(sample("pizza/pizza.vxml"))
}

#[test]
fn whole_order_in_one_sentence() {
    let t = pizza().say("a large pepperoni pizza").say("yes").run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"size": "large", "topping": "pepperoni"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn topping_first_then_size_by_key() {
    let t = pizza().say("mushroom pizza").press("2").say("yes").run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"size": "medium", "topping": "mushrooms"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn silence_switches_to_directed_questions() {
    let t = pizza()
        .silence()
        .say("small")
        .say("cheese")
        .say("yes")
        .run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn two_nomatches_switch_to_directed_questions() {
    let t = pizza()
        .nomatch()
        .say("anchovies please")
        .say("extra large")
        .say("veggie")
        .say("yes")
        .run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"size": "large", "topping": "veggie"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn no_at_confirmation_starts_over() {
    let t = pizza()
        .say("small veggie pizza")
        .say("no")
        .say("a medium pepperoni pizza")
        .say("yes")
        .run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"size": "medium", "topping": "pepperoni"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn nomatch_in_the_size_field_lists_the_sizes() {
    let t = pizza()
        .say("pepperoni")
        .say("gigantic")
        .say("large")
        .say("yes")
        .run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn caller_hangs_up_at_confirmation() {
    let t = pizza().say("a small cheese pizza").hangup().run();
    assert!(!t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn scripted_inputs_run_out() {
    let t = pizza().say("a large pepperoni pizza").run();
    assert!(!t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}
