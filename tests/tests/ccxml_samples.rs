//! Snapshot tests of `vxml-samples/ccxml/`: each CCXML sample runs in text
//! mode against its scenario on the simulated network, and the transcript
//! (events, requests, logs, exit) is compared with its snapshot.

use insta::assert_snapshot;
use serde_json::json;
use vxp_platform::ccxml_text::{Outcome, RunOptions, Scenario, Transcript, run_scenario};
use vxp_platform::text::target_url;
use vxp_tests::sample;

fn run(app: &str, scenario: Option<&str>) -> Transcript {
    let url = target_url(&sample(&format!("ccxml/{app}/main.ccxml"))).expect("a file URL");
    let scenario = match scenario {
        Some(name) => {
            let path = sample(&format!("ccxml/{app}/{name}"));
            let text = std::fs::read_to_string(&path).expect("the scenario file exists");
            Scenario::from_toml(&text).expect("the scenario parses")
        }
        None => Scenario::default(),
    };
    let options = RunOptions::relative_to(&url);
    run_scenario(url, &scenario, &options).expect("the text driver starts")
}

#[test]
fn inbound_call_handed_to_a_dialog() {
    let t = run("inbound-dialog", Some("scenario.toml"));
    assert_eq!(t.exit_value(), Some(&json!("done")), "{t}");
    assert_snapshot!(t.to_string());
}

#[test]
fn inbound_call_with_default_network() {
    let t = run("inbound-dialog", None);
    assert_eq!(t.exit_value(), Some(&json!("done")), "{t}");
    assert_snapshot!(t.to_string());
}

#[test]
fn vip_caller_redirected_to_agent() {
    let t = run("screen-redirect", Some("vip.toml"));
    assert_eq!(t.exit_value(), Some(&json!("redirected")), "{t}");
    assert!(
        t.to_string()
            .contains("redirect c1 to sip:carol@agents.example"),
        "{t}"
    );
    assert_snapshot!(t.to_string());
}

#[test]
fn blocked_caller_rejected() {
    let t = run("screen-redirect", Some("blocked.toml"));
    assert_eq!(t.exit_value(), Some(&json!("rejected: blocked")), "{t}");
    assert_snapshot!(t.to_string());
}

#[test]
fn outbound_calls_bridged_on_request() {
    let t = run("outbound-bridge", Some("scenario.toml"));
    assert_eq!(t.exit_value(), Some(&json!("bridged call ended")), "{t}");
    assert!(t.to_string().contains("join c1 c2 full"), "{t}");
    assert_snapshot!(t.to_string());
}

#[test]
fn outbound_bridge_second_party_busy() {
    let t = run("outbound-bridge", Some("busy.toml"));
    assert_eq!(t.exit_value(), Some(&json!("failed")), "{t}");
    assert_snapshot!(t.to_string());
}

#[test]
fn three_party_conference() {
    let t = run("conference", Some("scenario.toml"));
    assert_eq!(t.exit_value(), Some(&json!("conference over")), "{t}");
    assert_eq!(
        t.exit_values().and_then(|v| v.get("joined")),
        Some(&json!(3)),
        "{t}"
    );
    assert_snapshot!(t.to_string());
}

#[test]
fn dialog_exit_values_choose_an_agent() {
    let t = run("dialog-values", Some("agent.toml"));
    assert_eq!(t.exit_value(), Some(&json!("bridged to agent")), "{t}");
    assert_snapshot!(t.to_string());
}

#[test]
fn dialog_exit_values_request_a_callback() {
    let t = run("dialog-values", Some("callback.toml"));
    assert_eq!(t.exit_value(), Some(&json!("caller released")), "{t}");
    assert!(
        t.to_string()
            .contains("send callback.requested to basichttp:http://crm.example/events"),
        "{t}"
    );
    assert_snapshot!(t.to_string());
}

#[test]
fn a_session_that_never_exits_times_out() {
    let t = run("screen-redirect", None);
    // The default caller is neither blocked nor VIP: redirected to the queue.
    assert_eq!(t.exit_value(), Some(&json!("redirected")), "{t}");
    let scenario = Scenario {
        max_time_ms: Some(5000),
        startupmode: Some("external".into()),
        ..Scenario::default()
    };
    let url = target_url(&sample("ccxml/inbound-dialog/main.ccxml")).expect("a file URL");
    let t = run_scenario(url.clone(), &scenario, &RunOptions::relative_to(&url))
        .expect("the text driver starts");
    assert!(matches!(t.outcome, Outcome::Timeout { .. }), "{t}");
}

#[test]
fn jsonl_has_a_kind_per_line() {
    let t = run("inbound-dialog", Some("scenario.toml"));
    for line in t.to_jsonl().lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        assert!(v.get("kind").is_some(), "{line}");
    }
}
