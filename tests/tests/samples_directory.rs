//! Snapshot tests of `vxml-samples/directory`: `<menu>` with `<choice>` and
//! `<enumerate>`, an external grammar, a document-level `<link>`.

use insta::assert_snapshot;
use vxp_platform::testing::Dialog;
use vxp_tests::sample;

fn directory() -> Dialog {
    Dialog::start(sample("directory/directory.vxml"))
}

#[test]
fn dial_by_name() {
    let t = directory().press("3").say("grace hopper").run();
    assert_eq!(t.exit_values(), Some(&serde_json::json!("2003")), "{t}");
    assert_snapshot!(t);
}

#[test]
fn support_by_voice_with_approximate_match() {
    let t = directory().say("support").say("router").run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"product": "router"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn sales_then_back_in_the_menu() {
    let t = directory().press("1").press("2").say("phone").run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn link_back_to_the_main_menu_by_voice() {
    let t = directory()
        .press("3")
        .say("main menu")
        .press("2")
        .say("phone")
        .run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn link_back_to_the_main_menu_by_star_key() {
    let t = directory()
        .say("technical support")
        .press("*")
        .press("3")
        .say("call ada lovelace")
        .run();
    assert_eq!(t.exit_values(), Some(&serde_json::json!("2001")), "{t}");
    assert_snapshot!(t);
}

#[test]
fn silence_at_the_menu_enumerates_the_choices() {
    let t = directory().silence().press("3").say("alan turing").run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn invalid_key_at_the_menu_reprompts() {
    let t = directory().press("9").press("3").say("ada lovelace").run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn unknown_name_twice_returns_to_the_menu() {
    let t = directory()
        .press("3")
        .say("linus torvalds")
        .say("ken thompson")
        .press("2")
        .say("router")
        .run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}
