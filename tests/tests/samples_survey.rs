//! Snapshot tests of `vxml-samples/survey`: builtin `boolean` and `number`
//! fields, `<record>`, and an unsupported `<object>`.

use insta::assert_snapshot;
use vxp_platform::testing::Dialog;
use vxp_tests::sample;

fn survey() -> Dialog {
    Dialog::start(sample("survey/survey.vxml"))
}

#[test]
fn complete_survey_with_a_recorded_comment() {
    let t = survey()
        .say("yes")
        .say("9")
        .say("the hold music was too loud")
        .run();
    assert_eq!(
        t.exit_values(),
        // `number` returns a string (VoiceXML 2.0 Appendix P), `boolean` a boolean.
        Some(&serde_json::json!({"satisfied": true, "rating": "9", "sentiment": "unknown"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn out_of_range_rating_then_no_comment() {
    let t = survey().say("no").press("42#").say("7").silence().run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn two_silences_skip_the_first_question() {
    let t = survey()
        .silence()
        .silence()
        .press("10#")
        .say("great service")
        .run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}

#[test]
fn caller_hangs_up_while_recording() {
    let t = survey().say("yes").say("8").hangup().run();
    assert!(!t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}
