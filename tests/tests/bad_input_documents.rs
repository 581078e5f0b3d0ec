//! Bad input: every broken page becomes the event the specification names,
//! with `url:line:column` and a plain sentence where a document is at fault,
//! and the session ends cleanly with a transcript line (no panic, no hang).
//! The pages live in `vxml-samples/bad-input/` (see its README).

use insta::assert_snapshot;
use vxp_platform::testing::Dialog;
use vxp_platform::text::TranscriptEntry;
use vxp_tests::sample;

fn bad(page: &str) -> Dialog {
    Dialog::start(sample(&format!("bad-input/{page}")))
}

/// The message of the first event whose name starts with `prefix`.
fn event_message<'a>(t: &'a vxp_platform::text::Transcript, prefix: &str) -> Option<&'a str> {
    t.entries().iter().find_map(|e| match e {
        TranscriptEntry::Event { name, message } if name.starts_with(prefix) => {
            Some(message.as_deref().unwrap_or(""))
        }
        _ => None,
    })
}

#[test]
fn malformed_xml_is_a_badfetch_with_line_and_column() {
    let t = bad("malformed.vxml").run();
    let message = event_message(&t, "error.badfetch").unwrap_or_else(|| panic!("{t}"));
    assert!(message.contains("malformed.vxml:"), "{message}");
    assert!(t.ended_with_error(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn unknown_element_is_a_badfetch_naming_it() {
    let t = bad("unknown-element.vxml").run();
    let message = event_message(&t, "error.badfetch").unwrap_or_else(|| panic!("{t}"));
    assert!(message.contains("unknown-element.vxml:5:"), "{message}");
    assert!(message.contains("prompts"), "{message}");
    assert_snapshot!(t);
}

#[test]
fn conflicting_attributes_are_a_badfetch() {
    let t = bad("bad-attribute.vxml").run();
    let message = event_message(&t, "error.badfetch").unwrap_or_else(|| panic!("{t}"));
    assert!(message.contains("bad-attribute.vxml:6:"), "{message}");
    assert_snapshot!(t);
}

#[test]
fn bad_attribute_value_is_a_badfetch_naming_it() {
    let t = bad("bad-value.vxml").run();
    let message = event_message(&t, "error.badfetch").unwrap_or_else(|| panic!("{t}"));
    assert!(message.contains("bad-value.vxml:5:"), "{message}");
    assert!(message.contains("bargein"), "{message}");
    assert!(t.ended_with_error(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn unknown_builtin_type_is_unsupported() {
    let t = bad("bad-type.vxml").run();
    assert!(
        t.events()
            .iter()
            .any(|e| e.starts_with("error.unsupported.builtin")),
        "{t}"
    );
    assert!(t.ended_with_error(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn goto_to_a_missing_dialog_is_a_badfetch() {
    let t = bad("bad-goto.vxml").run();
    assert!(event_message(&t, "error.badfetch").is_some(), "{t}");
    assert!(t.ended_with_error(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn goto_to_a_missing_page_is_a_badfetch() {
    let t = bad("missing-page.vxml").run();
    let message = event_message(&t, "error.badfetch").unwrap_or_else(|| panic!("{t}"));
    assert!(message.contains("missing.vxml"), "{message}");
    assert!(t.ended_with_error(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn missing_initial_page_is_a_badfetch() {
    let t = bad("no-such-page.vxml").run();
    assert!(event_message(&t, "error.badfetch").is_some(), "{t}");
    assert!(t.ended_with_error(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn script_error_is_error_semantic() {
    let t = bad("script-error.vxml").run();
    let message = event_message(&t, "error.semantic").unwrap_or_else(|| panic!("{t}"));
    assert!(message.contains("script-error.vxml:6:"), "{message}");
    assert!(t.ended_with_error(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn missing_grammar_is_a_badfetch() {
    let t = bad("missing-grammar.vxml").say("paris").run();
    let message = event_message(&t, "error.badfetch").unwrap_or_else(|| panic!("{t}"));
    assert!(message.contains("missing.grxml"), "{message}");
    assert!(t.ended_with_error(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn goto_loop_stops_at_the_transition_limit() {
    let t = bad("goto-loop.vxml").run();
    assert!(t.events().contains(&"error.semantic"), "{t}");
    assert!(t.ended_with_error(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn ten_megabyte_page_is_refused_cleanly() {
    let dir = std::env::temp_dir().join(format!("vxp-bad-input-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    let page = dir.join("huge.vxml");
    let mut text = String::from(
        "<?xml version=\"1.0\"?>\n<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\">\n<form id=\"main\">\n",
    );
    let block =
        "<block><prompt>This page is far too large to be a real application.</prompt></block>\n";
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(block);
    }
    text.push_str("</form>\n</vxml>\n");
    std::fs::write(&page, &text).expect("temp file is writable");

    let started = std::time::Instant::now();
    let t = Dialog::start(page.display().to_string()).run();
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);

    assert!(event_message(&t, "error.badfetch").is_some(), "{t}");
    assert!(t.ended_with_error(), "{t}");
    assert!(elapsed.as_secs() < 30, "took {elapsed:?}");
    assert_snapshot!(t);
}

#[test]
fn a_runaway_dialog_is_stopped_by_the_driver_step_limit() {
    // Every turn is a nomatch that reprompts: only the scripted inputs and the
    // driver's step bound end it.
    let mut dialog = Dialog::start(sample("pizza/pizza.vxml")).max_steps(5);
    for _ in 0..20 {
        dialog = dialog.nomatch();
    }
    let t = dialog.run();
    assert!(t.ended_with_error(), "{t}");
    assert!(
        matches!(t.entries().last(), Some(TranscriptEntry::Error { event, .. }) if event == "error.vxp.steplimit"),
        "{t}"
    );
}
