//! Interop: transfers with sipp at both ends. A blind `<transfer>` sends
//! REFER to the caller (RFC 3515) and ends the session with
//! `connection.disconnect.transfer` once the NOTIFY reports 200; a bridge
//! `<transfer>` calls the destination (a second sipp), relays the audio, and
//! reports `far_end_disconnect` when the far end hangs up.

#[path = "../interop/harness.rs"]
mod harness;

use std::time::Duration;

use harness::Server;
use vxp_platform::serve::CallNote;

#[test]
fn blind_transfer_sends_refer_to_the_caller() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("blind");
    let url = harness::page(
        &dir,
        "blind.vxml",
        r#"<form><transfer name="t" type="blind" dest="sip:agent@127.0.0.1:5999"/>
           <block><log label="transfer">not transferred</log></block></form>"#,
    );
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("blind".into(), url);
    });
    let (ok, log) = harness::sipp(server.sip(), "transfer_blind", "blind", false);
    assert!(ok, "sipp transfer_blind failed:\n{log}");
    let notes = server.wait_note(Duration::from_secs(10), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    assert!(
        notes.iter().any(|n| matches!(n, CallNote::Event { name, .. } if name == "connection.disconnect.transfer")),
        "{notes:#?}"
    );
}

#[test]
fn bridge_transfer_calls_the_far_end_and_resumes_when_it_hangs_up() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("bridge");
    let agent = harness::free_port();
    let url = harness::page(
        &dir,
        "bridge.vxml",
        &format!(
            r#"<form><transfer name="t" type="bridge" dest="sip:agent@127.0.0.1:{agent}" connecttimeout="10s">
                 <filled><log label="transfer"><value expr="t"/></log><exit/></filled>
               </transfer></form>"#
        ),
    );
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("bridge".into(), url);
    });
    let callee = harness::sipp_server("callee", agent);
    let (ok, log) = harness::sipp(server.sip(), "platform_bye", "bridge", false);
    let callee = callee.wait_with_output().expect("callee sipp ends");
    assert!(ok, "caller sipp failed:\n{log}");
    assert!(
        callee.status.success(),
        "callee sipp failed: {}",
        String::from_utf8_lossy(&callee.stderr)
    );
    let notes = server.wait_note(Duration::from_secs(10), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    assert!(
        notes.contains(&CallNote::Log {
            label: Some("transfer".into()),
            text: "far_end_disconnect".into()
        }),
        "{notes:#?}"
    );
}
