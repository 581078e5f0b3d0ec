//! Interop: exact SIP exchanges with sipp 3.6 (Debian `sip-tester`) against
//! `vxp serve`: OPTIONS, BYE from either side, CANCEL before the answer, INFO
//! DTMF, a retransmitted INVITE, a malformed INVITE followed by a good call,
//! re-INVITE hold and resume, and a call over TCP. Scenarios are in
//! `tests/interop/sipp/`.

#[path = "../interop/harness.rs"]
mod harness;

use std::time::Duration;

use harness::Server;
use vxp_platform::serve::CallNote;

fn scenario(server: &Server, name: &str, service: &str, tcp: bool) {
    let (ok, log) = harness::sipp(server.sip(), name, service, tcp);
    assert!(ok, "sipp scenario {name} failed:\n{log}");
}

#[test]
fn options_ping_is_answered() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let server = Server::start();
    scenario(&server, "options", "hello", false);
}

#[test]
fn bye_from_the_caller_ends_the_session_with_a_hangup_event() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let mut server = Server::start();
    scenario(&server, "caller_bye", "directory", false);
    let notes = server.wait_note(Duration::from_secs(10), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    assert!(
        notes.iter().any(
            |n| matches!(n, CallNote::Event { name, .. } if name == "connection.disconnect.hangup")
        ),
        "{notes:#?}"
    );
}

#[test]
fn the_platform_hangs_up_when_the_application_ends() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let server = Server::start();
    scenario(&server, "platform_bye", "hello", false);
}

#[test]
fn cancel_before_the_answer_gets_487() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let server = Server::start_with(|c| c.sip.ring_ms = 3000);
    scenario(&server, "cancel", "hello", false);
}

#[test]
fn info_dtmf_picks_a_menu_choice() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let mut server = Server::start();
    scenario(&server, "info_dtmf", "directory", false);
    let notes = server.wait_note(Duration::from_secs(10), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    assert!(notes.contains(&CallNote::Dtmf('1')), "{notes:#?}");
    assert!(
        notes
            .iter()
            .any(|n| matches!(n, CallNote::Prompt(p) if p.contains("Sales is open"))),
        "{notes:#?}"
    );
}

#[test]
fn a_retransmitted_invite_is_one_call() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let mut server = Server::start_with(|c| c.sip.ring_ms = 1000);
    scenario(&server, "retransmit", "directory", false);
    let notes = server.wait_note(Duration::from_secs(10), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    let started = notes
        .iter()
        .filter(|n| matches!(n, CallNote::Started { .. }))
        .count();
    assert_eq!(started, 1, "{notes:#?}");
}

#[test]
fn a_malformed_invite_gets_400_and_the_next_call_works() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let server = Server::start();
    scenario(&server, "malformed", "directory", false);
    scenario(&server, "caller_bye", "directory", false);
}

#[test]
fn hold_and_resume_by_reinvite() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let server = Server::start();
    scenario(&server, "hold", "directory", false);
}

#[test]
fn a_call_over_tcp() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let server = Server::start();
    scenario(&server, "caller_bye", "directory", true);
}

#[test]
fn a_dead_page_server_is_a_handled_event_not_silence() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("deadserver");
    let dead = harness::free_port();
    let url = harness::page(
        &dir,
        "dead.vxml",
        &format!(
            r#"<catch event="error.badfetch"><log label="fetch">failed</log><exit/></catch>
               <form><block><goto next="http://127.0.0.1:{dead}/next.vxml"/></block></form>"#
        ),
    );
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("dead".into(), url);
    });
    // The platform hangs up after the handler runs.
    scenario(&server, "platform_bye", "dead", false);
    let notes = server.wait_note(Duration::from_secs(10), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    assert!(
        notes.iter().any(
            |n| matches!(n, CallNote::Event { name, .. } if name.starts_with("error.badfetch"))
        ),
        "{notes:#?}"
    );
    assert!(
        notes.contains(&CallNote::Log {
            label: Some("fetch".into()),
            text: "failed".into()
        }),
        "{notes:#?}"
    );
}
