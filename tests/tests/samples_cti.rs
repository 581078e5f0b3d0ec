//! Snapshot tests of `vxml-samples/cti`: the GVP `gvp:send`/`gvp:receive`
//! extensions and `application.lastmessage$`.

use insta::assert_snapshot;
use vxp_platform::testing::Dialog;
use vxp_platform::text::CallInfo;
use vxp_tests::sample;

fn cti() -> Dialog {
    Dialog::start(sample("cti/cti.vxml")).with_session(CallInfo {
        ani: Some("+15551234567".into()),
        dnis: Some("8005550100".into()),
        sip_headers: vec![("X-Genesys-CallUUID".into(), "0001-TEST".into())],
    })
}

#[test]
fn gold_customer_is_greeted_by_name() {
    let t = cti()
        .message("Result=SUCCESS&Action=UserDataResp&Segment=gold&FirstName=Dana")
        .say("billing")
        .run();
    assert!(t.said("Welcome back, Dana"), "{t}");
    assert_snapshot!(t);
}

#[test]
fn other_customer_gets_a_plain_welcome() {
    let t = cti()
        .message("Result=SUCCESS&Action=UserDataResp&Segment=silver&FirstName=Sam")
        .say("a technical problem")
        .run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"reason": "technical"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn no_cti_reply_within_maxtime() {
    let t = cti().silence().say("billing").run();
    assert!(t.ended_with_exit(), "{t}");
    assert_snapshot!(t);
}
