//! Snapshot tests of `vxml-samples/server`: `<submit>` to an application
//! server that answers with a generated page (over HTTP, from
//! [`vxp_tests::SampleServer`]).

use insta::assert_snapshot;
use vxp_platform::testing::Dialog;
use vxp_tests::SampleServer;

fn weather(server: &SampleServer) -> Dialog {
    Dialog::start(server.url("server/start.vxml")).rewrite(&server.base(), "http://SERVER")
}

#[test]
fn forecast_for_a_known_zip_code() {
    let server = SampleServer::start();
    let t = weather(&server).press("94103").say("no").run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"zip": "94103"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn unknown_zip_code_then_a_known_one() {
    let server = SampleServer::start();
    let t = weather(&server)
        .press("00000")
        .press("10001")
        .say("no")
        .run();
    assert!(t.said("no forecast"), "{t}");
    assert_snapshot!(t);
}

#[test]
fn two_forecasts_in_one_call() {
    let server = SampleServer::start();
    let t = weather(&server)
        .press("94103")
        .say("yes")
        .press("10001")
        .say("no")
        .run();
    assert_eq!(
        t.exit_values(),
        Some(&serde_json::json!({"zip": "10001"})),
        "{t}"
    );
    assert_snapshot!(t);
}

#[test]
fn the_same_application_runs_from_files_until_the_submit() {
    // Without the server the submit target does not exist: error.badfetch.
    let t = Dialog::start(vxp_tests::sample("server/start.vxml"))
        .press("94103")
        .run();
    assert!(
        t.events().iter().any(|e| e.starts_with("error.badfetch")),
        "{t}"
    );
    assert_snapshot!(t);
}
