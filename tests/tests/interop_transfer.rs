//! Interop: transfers with sipp at both ends. A blind `<transfer>` sends
//! REFER to the caller (RFC 3515) and ends the session with
//! `connection.disconnect.transfer` once the NOTIFY reports 200; a bridge
//! `<transfer>` calls the destination (a second sipp), relays the audio, and
//! reports `far_end_disconnect` when the far end hangs up.

#[path = "../interop/harness.rs"]
mod harness;

use std::time::Duration;

use harness::{Baresip, Server};
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

const BARESIP: &[&str] = &["baresip", "sox"];

/// An agent softphone that answers by itself and talks a 600 Hz tone.
fn agent(dir: &std::path::Path) -> Baresip {
    let tone = harness::tone_wav(dir, "agent.wav", 600, 60);
    Baresip::start_as(
        dir,
        &tone,
        "<sip:agent@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA",
    )
}

/// A caller softphone talking a 440 Hz tone.
fn caller(dir: &std::path::Path) -> Baresip {
    let tone = harness::tone_wav(dir, "caller.wav", 440, 60);
    Baresip::start(dir, &tone)
}

/// The one recording baresip made of its far end (after it stopped).
fn heard(dir: &std::path::Path) -> Vec<i16> {
    let mut files = Baresip::received(dir);
    files.sort();
    let file = files
        .last()
        .unwrap_or_else(|| panic!("no recording in {}", dir.display()));
    harness::read_wav(file)
}

#[test]
fn baresip_caller_follows_a_blind_transfer_to_a_second_baresip() {
    if !harness::tools_present(BARESIP) {
        return;
    }
    let dir = harness::scratch("blind-baresip");
    let (caller_dir, agent_dir) = (dir.join("caller"), dir.join("agent"));
    std::fs::create_dir_all(&caller_dir).expect("caller folder");
    std::fs::create_dir_all(&agent_dir).expect("agent folder");
    let mut agent = agent(&agent_dir);
    let url = harness::page(
        &dir,
        "blind.vxml",
        &format!(
            r#"<form><block><log label="transfer">to the agent</log></block>
                 <transfer name="t" type="blind" dest="sip:agent@127.0.0.1:{}"/>
                 <block><log label="transfer">not transferred</log></block></form>"#,
            agent.sip_port
        ),
    );
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("blind".into(), url);
    });
    let mut phone = caller(&caller_dir);
    phone.command("dial", &format!("sip:blind@{}", server.sip()));
    assert!(
        phone.wait_event("CALL_ESTABLISHED", Duration::from_secs(10)),
        "call not established; baresip log in {}",
        caller_dir.display()
    );
    // baresip takes the REFER, calls the agent itself, reports the answer
    // in a NOTIFY sipfrag; the session then ends with the transfer event.
    let notes = server.wait_note(Duration::from_secs(20), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    assert!(
        notes.iter().any(|n| matches!(n, CallNote::Event { name, .. } if name == "connection.disconnect.transfer")),
        "{notes:#?}"
    );
    assert!(
        !notes.contains(&CallNote::Log {
            label: Some("transfer".into()),
            text: "not transferred".into()
        }),
        "{notes:#?}"
    );
    assert!(
        agent.wait_event("CALL_ESTABLISHED", Duration::from_secs(10)),
        "the agent was not called; logs in {}",
        dir.display()
    );
    // Caller and agent now talk directly.
    std::thread::sleep(Duration::from_secs(2));
    agent.command("hangup", "");
    assert!(agent.wait_event("CALL_CLOSED", Duration::from_secs(10)));
    drop(agent);
    drop(phone);
    let at_agent = heard(&agent_dir);
    assert!(
        harness::tone_share(&at_agent, 440.0) > 0.2,
        "the agent did not hear the caller's 440 Hz tone ({} samples)",
        at_agent.len()
    );
}

#[test]
fn bridge_transfer_relays_audio_between_two_baresips() {
    if !harness::tools_present(BARESIP) {
        return;
    }
    let dir = harness::scratch("bridge-baresip");
    let (caller_dir, agent_dir) = (dir.join("caller"), dir.join("agent"));
    std::fs::create_dir_all(&caller_dir).expect("caller folder");
    std::fs::create_dir_all(&agent_dir).expect("agent folder");
    let mut agent = agent(&agent_dir);
    let url = harness::page(
        &dir,
        "bridge.vxml",
        &format!(
            r#"<form><transfer name="t" type="bridge" dest="sip:agent@127.0.0.1:{}" connecttimeout="10s">
                 <filled><log label="transfer"><value expr="t"/></log>
                   <log label="duration"><value expr="t$.duration"/></log><exit/></filled>
               </transfer></form>"#,
            agent.sip_port
        ),
    );
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("bridge".into(), url);
    });
    let mut phone = caller(&caller_dir);
    phone.command("dial", &format!("sip:bridge@{}", server.sip()));
    assert!(
        phone.wait_event("CALL_ESTABLISHED", Duration::from_secs(10)),
        "call not established; baresip log in {}",
        caller_dir.display()
    );
    assert!(
        agent.wait_event("CALL_ESTABLISHED", Duration::from_secs(10)),
        "the agent was not called; logs in {}",
        dir.display()
    );
    std::thread::sleep(Duration::from_secs(3));
    agent.command("hangup", "");
    let notes = server.wait_note(Duration::from_secs(20), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    assert!(
        notes.contains(&CallNote::Log {
            label: Some("transfer".into()),
            text: "far_end_disconnect".into()
        }),
        "{notes:#?}"
    );
    assert!(
        notes.contains(&CallNote::Ended { how: "exit".into() }),
        "{notes:#?}"
    );
    assert!(
        phone.wait_event("CALL_CLOSED", Duration::from_secs(10)),
        "the platform did not hang up the caller"
    );
    drop(agent);
    drop(phone);
    // Each side hears the other's tone through the platform's relay.
    let at_agent = heard(&agent_dir);
    let at_caller = heard(&caller_dir);
    let (a440, a600) = (
        harness::tone_share(&at_agent, 440.0),
        harness::tone_share(&at_agent, 600.0),
    );
    let (c440, c600) = (
        harness::tone_share(&at_caller, 440.0),
        harness::tone_share(&at_caller, 600.0),
    );
    assert!(
        a440 > 0.2 && a440 > 10.0 * a600,
        "agent heard 440 Hz {a440:.3}, 600 Hz {a600:.3}"
    );
    assert!(
        c600 > 0.2 && c600 > 10.0 * c440,
        "caller heard 440 Hz {c440:.3}, 600 Hz {c600:.3}"
    );
}
