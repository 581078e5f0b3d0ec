//! Interop: CCXML applications under `vxp serve`, called by sipp 3.6
//! (Debian `sip-tester`). Number 6000 (`ccxml/inbound-dialog`) accepts the
//! call and starts a VoiceXML dialog on it: the caller's RTP port (a socket
//! this test listens on) receives the prompt, the call log shows
//! `dialog.started` and `dialog.exit`, and the page hangs up. Number 6001
//! (`ccxml/screen-redirect`) redirects the call before answering: the caller
//! gets a 302 whose Contact is the page's destination. Scenarios are in
//! `tests/interop/sipp/ccxml_*.xml`.

#[path = "../interop/harness.rs"]
mod harness;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::Server;
use vxp_platform::serve::CallNote;

/// Runs a sipp client scenario with `-key` substitutions; true when it passed.
fn sipp(
    target: SocketAddr,
    scenario: &str,
    service: &str,
    keys: &[(&str, String)],
) -> (bool, String) {
    let dir = harness::scratch(&format!("sipp-{scenario}"));
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("interop/sipp")
        .join(format!("{scenario}.xml"));
    let trace = dir.join("messages.log");
    let mut cmd = Command::new("sipp");
    cmd.arg(target.to_string())
        .arg("-sf")
        .arg(&file)
        .args(["-s", service, "-m", "1", "-i", "127.0.0.1"])
        .args(["-p", &harness::free_port().to_string()])
        .args(["-mp", &harness::free_port().to_string()])
        .args(["-timeout", "30s", "-timeout_error", "-nostdin"])
        .args(["-trace_msg", "-message_file"])
        .arg(&trace);
    for (key, value) in keys {
        cmd.args(["-key", key, value]);
    }
    let out = cmd
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("sipp runs");
    let log = std::fs::read_to_string(&trace).unwrap_or_default();
    (
        out.status.success(),
        format!(
            "{}\n--- messages ---\n{log}",
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn has_event(notes: &[CallNote], name: &str) -> bool {
    notes
        .iter()
        .any(|n| matches!(n, CallNote::Event { name: n, .. } if n == name))
}

#[test]
fn a_ccxml_page_accepts_the_call_and_runs_a_dialog_on_it() {
    if !harness::tools_present(&["sipp", "espeak-ng"]) {
        return;
    }
    let mut server = Server::start();
    let rtp = UdpSocket::bind("127.0.0.1:0").expect("bind the caller's RTP port");
    rtp.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let port = rtp.local_addr().expect("addr").port();
    let counter = std::thread::spawn(move || {
        let mut packets = 0usize;
        let mut buf = [0u8; 2048];
        let until = Instant::now() + Duration::from_secs(30);
        let mut quiet_since = Instant::now();
        while Instant::now() < until {
            match rtp.recv(&mut buf) {
                Ok(n) if n > 12 => {
                    packets += 1;
                    quiet_since = Instant::now();
                }
                Ok(_) => {}
                Err(_) if packets > 0 && quiet_since.elapsed() > Duration::from_secs(2) => break,
                Err(_) => {}
            }
        }
        packets
    });
    let (ok, log) = sipp(
        server.sip(),
        "ccxml_dialog",
        "6000",
        &[("rtp_port", port.to_string())],
    );
    assert!(ok, "sipp scenario ccxml_dialog failed:\n{log}");
    let notes = server.wait_note(
        Duration::from_secs(10),
        |n| matches!(n, CallNote::Ended { how } if how == "exit \"done\""),
    );
    for event in [
        "connection.alerting",
        "connection.connected",
        "dialog.started",
        "dialog.exit",
        "connection.disconnected",
    ] {
        assert!(has_event(&notes, event), "no {event}: {notes:#?}");
    }
    assert!(
        notes
            .iter()
            .any(|n| matches!(n, CallNote::Prompt(p) if p.contains("Welcome to VXP"))),
        "{notes:#?}"
    );
    let packets = counter.join().expect("counter thread");
    // "Welcome to VXP. Goodbye." lasts over a second: 50 packets a second.
    assert!(packets > 50, "the caller got {packets} RTP packets");
}

#[test]
fn a_ccxml_page_redirects_the_call_with_a_302() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let mut server = Server::start();
    let (ok, log) = sipp(server.sip(), "ccxml_redirect", "6001", &[]);
    assert!(ok, "sipp scenario ccxml_redirect failed:\n{log}");
    let notes = server.wait_note(Duration::from_secs(10), |n| {
        matches!(n, CallNote::Ended { .. })
    });
    assert!(has_event(&notes, "connection.redirected"), "{notes:#?}");
    assert!(
        notes.contains(&CallNote::Ended {
            how: "exit \"redirected\"".into()
        }),
        "{notes:#?}"
    );
}
