//! Interop: CCXML applications under `vxp serve`, called by sipp 3.6
//! (Debian `sip-tester`). Number 6000 (`ccxml/inbound-dialog`) accepts the
//! call and starts a VoiceXML dialog on it: the caller's RTP port (a socket
//! this test listens on) receives the prompt, the call log shows
//! `dialog.started` and `dialog.exit`, and the page hangs up. Number 6001
//! (`ccxml/screen-redirect`) redirects the call before answering: the caller
//! gets a 302 whose Contact is the page's destination. Number 6002
//! (`ccxml/dialog-values`) runs a menu dialog the caller answers with a key
//! (SIP INFO): the dialog's `<exit namelist>` values choose the page's next
//! step. Three baresip phones in a conference each hear the other two's
//! tones through the mixer and not their own. A web application starts an
//! outbound session over HTTP (`/ccxml/createsession`), the session calls a
//! sipp callee, plays a dialog to it, takes a posted event
//! (`/ccxml/basichttp`) and reports back with a basichttp `<send>`. A
//! dialog's `<transfer>` and `<disconnect>` reach the page as
//! `dialog.transfer` and `dialog.disconnect`, and the transfer's outcome the
//! page sends back ends the dialog's `<transfer>`. A session started over
//! HTTP creates a child with `<createccxml>` (and fails to create one whose
//! document is missing); the child sends its parent an event and exits.
//! `<merge>` refers the caller to the callee with `Replaces` naming the
//! platform's dialog with it, and both legs end. Scenarios are in
//! `tests/interop/sipp/`.

#[path = "../interop/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use harness::{Baresip, Server};
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

#[test]
fn dialog_exit_values_from_a_key_drive_the_page() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let mut server = Server::start_with(|c| {
        c.routing
            .numbers
            .insert("6002".into(), "ccxml/dialog-values/main.ccxml".into());
    });
    // Key 1 (SIP INFO) picks `agent` in the menu: the page reads
    // `choice` and `topic` from dialog.exit.
    let (ok, log) = harness::sipp(server.sip(), "info_dtmf", "6002", false);
    assert!(ok, "sipp scenario info_dtmf failed:\n{log}");
    let notes = server.wait_note(
        Duration::from_secs(15),
        |n| matches!(n, CallNote::Ended { how } if how == "exit \"caller released\""),
    );
    assert!(notes.contains(&CallNote::Dtmf('1')), "{notes:#?}");
    assert!(has_event(&notes, "dialog.exit"), "{notes:#?}");
    assert!(
        notes.iter().any(
            |n| matches!(n, CallNote::Log { text, .. } if text == "to an agent, topic billing")
        ),
        "{notes:#?}"
    );
}

/// A softphone that answers by itself and talks a tone.
fn party(dir: &Path, name: &str, hz: u32) -> Baresip {
    std::fs::create_dir_all(dir).expect("phone folder");
    let tone = harness::tone_wav(dir, &format!("{name}.wav"), hz, 60);
    Baresip::start_as(
        dir,
        &tone,
        &format!("<sip:{name}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA"),
    )
}

/// The last recording a softphone made of its far end (after it stopped).
fn heard(dir: &Path) -> Vec<i16> {
    let mut files = Baresip::received(dir);
    files.sort();
    let file = files
        .last()
        .unwrap_or_else(|| panic!("no recording in {}", dir.display()));
    harness::read_wav(file)
}

/// The text of every `<log>` in `notes`, in order.
fn log_texts(notes: &[CallNote]) -> Vec<&str> {
    notes
        .iter()
        .filter_map(|n| match n {
            CallNote::Log { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

/// The 20 ms frames of `samples` whose level is above faint noise.
fn voiced(samples: &[i16]) -> Vec<i16> {
    samples
        .chunks(160)
        .filter(|frame| {
            let energy: f64 = frame.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            (energy / frame.len() as f64).sqrt() > 200.0
        })
        .flatten()
        .copied()
        .collect()
}

#[test]
fn three_phones_in_a_conference_hear_the_two_others() {
    if !harness::tools_present(&["baresip", "sox"]) {
        return;
    }
    let dir = harness::scratch("ccxml-conference");
    let tones = [("caller", 440), ("alice", 700), ("bob", 1100)];
    let mut alice = party(&dir.join("alice"), "alice", 700);
    let mut bob = party(&dir.join("bob"), "bob", 1100);
    let page = dir.join("conference.ccxml");
    std::fs::write(
        &page,
        format!(
            r#"<?xml version="1.0"?>
<ccxml version="1.0" xmlns="http://www.w3.org/2002/09/ccxml">
  <var name="conf"/>
  <var name="caller"/>
  <var name="joined" expr="0"/>
  <eventprocessor>
    <transition event="connection.alerting">
      <assign name="caller" expr="event$.connectionid"/>
      <accept/>
    </transition>
    <transition event="connection.connected" cond="event$.connectionid == caller">
      <createconference conferenceid="conf"/>
    </transition>
    <transition event="conference.created">
      <join id1="caller" id2="conf"/>
      <createcall dest="'sip:alice@127.0.0.1:{}'"/>
      <createcall dest="'sip:bob@127.0.0.1:{}'"/>
    </transition>
    <transition event="connection.connected">
      <join id1="event$.connectionid" id2="conf"/>
    </transition>
    <transition event="conference.joined">
      <assign name="joined" expr="joined + 1"/>
      <log expr="'joined ' + joined"/>
    </transition>
    <transition event="connection.disconnected" cond="event$.connectionid == caller">
      <destroyconference conferenceid="conf"/>
    </transition>
    <transition event="conference.destroyed">
      <exit expr="'conference over'"/>
    </transition>
  </eventprocessor>
</ccxml>
"#,
            alice.sip_port, bob.sip_port
        ),
    )
    .expect("page written");
    let url = url::Url::from_file_path(&page).expect("absolute path");
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("conf".into(), url.to_string());
    });
    let caller_dir = dir.join("caller");
    std::fs::create_dir_all(&caller_dir).expect("caller folder");
    let tone = harness::tone_wav(&caller_dir, "caller.wav", 440, 60);
    let mut caller = Baresip::start(&caller_dir, &tone);
    caller.command("dial", &format!("sip:conf@{}", server.sip()));
    assert!(
        caller.wait_event("CALL_ESTABLISHED", Duration::from_secs(10)),
        "call not established; logs in {}",
        dir.display()
    );
    for (phone, name) in [(&mut alice, "alice"), (&mut bob, "bob")] {
        assert!(
            phone.wait_event("CALL_ESTABLISHED", Duration::from_secs(10)),
            "{name} was not called; logs in {}",
            dir.display()
        );
    }
    server.wait_note(
        Duration::from_secs(10),
        |n| matches!(n, CallNote::Log { text, .. } if text == "joined 3"),
    );
    std::thread::sleep(Duration::from_secs(4));
    caller.command("hangup", "");
    server.wait_note(
        Duration::from_secs(10),
        |n| matches!(n, CallNote::Ended { how } if how == "exit \"conference over\""),
    );
    drop(caller);
    drop(alice);
    drop(bob);
    for (name, own) in tones {
        // Only the frames with sound: how long a phone stays connected
        // around the conference (silence) depends on the machine's load.
        let samples = voiced(&heard(&dir.join(name)));
        let share = |hz: u32| harness::tone_share(&samples, f64::from(hz));
        let others: Vec<(u32, f64)> = tones
            .iter()
            .filter(|(n, _)| *n != name)
            .map(|(_, hz)| (*hz, share(*hz)))
            .collect();
        let mine = share(own);
        for (hz, s) in &others {
            assert!(
                *s > 0.05 && *s > 10.0 * mine,
                "{name} hears {hz} Hz at {s:.3} and its own {own} Hz at {mine:.3}"
            );
        }
    }
}

/// POSTs a form to the server's HTTP interface; the status and body.
fn post_form(addr: SocketAddr, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut stream = TcpStream::connect(addr).expect("connects to vxp serve");
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("request written");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer read");
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Accepts one HTTP request on `listener` and answers 200; its body.
fn receive_post(listener: &TcpListener) -> String {
    let (mut stream, _) = listener.accept().expect("a basichttp POST");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap_or(0);
        data.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&data).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if body.len() >= length {
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return body.to_owned();
            }
        }
        if n == 0 {
            return String::new();
        }
    }
}

#[test]
fn a_web_application_starts_an_outbound_session_over_http() {
    if !harness::tools_present(&["sipp", "espeak-ng"]) {
        return;
    }
    let mut server = Server::start();
    let http = server.server.http.expect("the HTTP server runs");
    let callee_port = harness::free_port();
    let callee = harness::sipp_server("ccxml_callee", callee_port);
    let web = TcpListener::bind("127.0.0.1:0").expect("the web application's port");
    let notify = format!("http://{}/events", web.local_addr().expect("addr"));
    let receiver = std::thread::spawn(move || receive_post(&web));
    let dest = format!("sip:callee@127.0.0.1:{callee_port}");
    let page = format!("http://{http}/ccxml/outbound-dialog/main.ccxml");
    let (status, sessionid) = post_form(
        http,
        "/ccxml/createsession",
        &[("uri", &page), ("dest", &dest), ("notify", &notify)],
    );
    assert_eq!(status, 200, "createsession answered {status}: {sessionid}");
    let (status, body) = post_form(
        http,
        "/ccxml/basichttp",
        &[
            ("sessionid", sessionid.trim()),
            ("name", "app.note"),
            ("text", "hello"),
        ],
    );
    assert_eq!(status, 204, "basichttp answered {status}: {body}");
    let (status, _) = post_form(
        http,
        "/ccxml/basichttp",
        &[("sessionid", "ccxml-none"), ("name", "app.note")],
    );
    assert_eq!(status, 404, "an unknown session is not found");
    let notes = server.wait_note(
        Duration::from_secs(20),
        |n| matches!(n, CallNote::Ended { how } if how == "exit \"notified\""),
    );
    for event in ["connection.connected", "dialog.started", "dialog.exit"] {
        assert!(has_event(&notes, event), "no {event}: {notes:#?}");
    }
    assert!(
        notes
            .iter()
            .any(|n| matches!(n, CallNote::Prompt(p) if p.contains("reminder from VXP"))),
        "{notes:#?}"
    );
    assert!(
        notes.iter().any(|n| matches!(n, CallNote::Log { text, .. } if text == "note from the web application: hello")),
        "{notes:#?}"
    );
    let posted = receiver.join().expect("receiver thread");
    assert!(
        posted.contains("name=call.done") && posted.contains("status=played"),
        "the web application got {posted:?}"
    );
    let out = callee.wait_with_output().expect("callee sipp ends");
    assert!(
        out.status.success(),
        "callee sipp failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_dialogs_transfer_and_disconnect_are_the_pages_to_carry_out() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("ccxml-dialog-requests");
    harness::page(
        &dir,
        "dialog.vxml",
        r#"<form>
             <transfer name="t" type="bridge" dest="sip:agent@127.0.0.1:5999">
               <filled>
                 <log label="dialog">transfer <value expr="t"/></log>
                 <var name="result" expr="t"/>
                 <disconnect namelist="result"/>
               </filled>
             </transfer>
           </form>"#,
    );
    let page = dir.join("requests.ccxml");
    std::fs::write(
        &page,
        r#"<?xml version="1.0"?>
<ccxml version="1.0" xmlns="http://www.w3.org/2002/09/ccxml">
  <var name="caller"/>
  <var name="results" expr="'busy'"/>
  <eventprocessor>
    <transition event="connection.alerting">
      <assign name="caller" expr="event$.connectionid"/>
      <accept/>
    </transition>
    <transition event="connection.connected">
      <dialogstart src="'dialog.vxml'" connectionid="caller"/>
    </transition>
    <transition event="dialog.transfer">
      <log expr="'transfer ' + event$.type + ' to ' + event$.URI"/>
      <send name="'dialog.transfer.complete'" target="event$.dialogid" targettype="'dialog'" namelist="results"/>
    </transition>
    <transition event="dialog.disconnect">
      <log expr="'the dialog asks to hang up'"/>
      <disconnect connectionid="caller"/>
    </transition>
    <transition event="dialog.exit">
      <log expr="'the dialog returned ' + event$.values.result"/>
    </transition>
    <transition event="connection.disconnected">
      <exit expr="'released'"/>
    </transition>
  </eventprocessor>
</ccxml>
"#,
    )
    .expect("page written");
    let url = url::Url::from_file_path(&page).expect("absolute path");
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("requests".into(), url.to_string());
    });
    let (ok, log) = harness::sipp(server.sip(), "ccxml_wait_bye", "requests", false);
    assert!(ok, "sipp scenario ccxml_wait_bye failed:\n{log}");
    let notes = server.wait_note(
        Duration::from_secs(10),
        |n| matches!(n, CallNote::Ended { how } if how.starts_with("exit")),
    );
    let logs = log_texts(&notes);
    for expected in [
        "transfer bridge to sip:agent@127.0.0.1:5999",
        "transfer busy",
        "the dialog asks to hang up",
        "the dialog returned busy",
    ] {
        assert!(logs.contains(&expected), "no log {expected:?}: {notes:#?}");
    }
    assert!(has_event(&notes, "dialog.transfer"), "{notes:#?}");
    assert!(has_event(&notes, "dialog.disconnect"), "{notes:#?}");
    assert!(
        notes.contains(&CallNote::Ended {
            how: "exit \"released\"".into()
        }),
        "{notes:#?}"
    );
}

#[test]
fn createccxml_starts_a_child_session_that_talks_to_its_parent() {
    let dir = harness::scratch("ccxml-createccxml");
    let write = |name: &str, body: &str| {
        std::fs::write(
            dir.join(name),
            format!(
                "<?xml version=\"1.0\"?>\n<ccxml version=\"1.0\" xmlns=\"http://www.w3.org/2002/09/ccxml\">\n{body}\n</ccxml>\n"
            ),
        )
        .expect("page written");
    };
    write(
        "parent.ccxml",
        r#"<var name="child"/>
  <var name="ends" expr="0"/>
  <eventprocessor>
    <transition event="ccxml.loaded">
      <createccxml next="'child.ccxml'" sessionid="child"/>
      <createccxml next="'missing.ccxml'"/>
    </transition>
    <transition event="ccxml.created">
      <log expr="'created ' + (event$.sessionid == child)"/>
    </transition>
    <transition event="error.createccxml">
      <log expr="'could not create a second child'"/>
      <assign name="ends" expr="ends + 1"/>
      <if cond="ends == 2"><exit expr="'done'"/></if>
    </transition>
    <transition event="child.hello">
      <log expr="'the child says ' + event$.n + ' from ' + event$.eventsourcetype"/>
    </transition>
    <transition event="ccxml.exit">
      <log expr="'the child exited with ' + event$.expr"/>
      <assign name="ends" expr="ends + 1"/>
      <if cond="ends == 2"><exit expr="'done'"/></if>
    </transition>
  </eventprocessor>"#,
    );
    write(
        "child.ccxml",
        r#"<var name="n" expr="session.startupmode"/>
  <eventprocessor>
    <transition event="ccxml.loaded">
      <send name="'child.hello'" target="session.parentid" targettype="'ccxml'" namelist="n"/>
      <exit expr="'bye'"/>
    </transition>
  </eventprocessor>"#,
    );
    let mut server = Server::start();
    let http = server.server.http.expect("the HTTP server runs");
    let page = url::Url::from_file_path(dir.join("parent.ccxml")).expect("absolute path");
    let (status, id) = post_form(http, "/ccxml/createsession", &[("uri", page.as_str())]);
    assert_eq!(status, 200, "createsession answered {status}: {id}");
    let notes = server.wait_note(
        Duration::from_secs(10),
        |n| matches!(n, CallNote::Ended { how } if how == "exit \"done\""),
    );
    let logs = log_texts(&notes);
    let created = logs.iter().position(|l| *l == "created true");
    let hello = logs.iter().position(|l| l.starts_with("the child says"));
    assert!(created < hello, "ccxml.created comes first: {logs:#?}");
    for expected in [
        "created true",
        "could not create a second child",
        "the child says createccxml from ccxml",
        "the child exited with bye",
    ] {
        assert!(logs.contains(&expected), "no log {expected:?}: {notes:#?}");
    }
}

#[test]
fn move_hands_a_call_to_another_session_that_hangs_it_up() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("ccxml-move");
    let write = |name: &str, body: &str| {
        std::fs::write(
            dir.join(name),
            format!(
                "<?xml version=\"1.0\"?>\n<ccxml version=\"1.0\" xmlns=\"http://www.w3.org/2002/09/ccxml\">\n{body}\n</ccxml>\n"
            ),
        )
        .expect("page written");
    };
    write(
        "parent.ccxml",
        r#"<var name="caller"/>
  <var name="child"/>
  <eventprocessor>
    <transition event="connection.alerting">
      <assign name="caller" expr="event$.connectionid"/>
      <accept/>
    </transition>
    <transition event="connection.connected">
      <createccxml next="'child.ccxml'" sessionid="child"/>
    </transition>
    <transition event="ccxml.created">
      <move source="caller" sessionid="child"/>
    </transition>
    <transition event="move.successful">
      <log expr="'moved ' + (session.connections[caller] === undefined ? 'away' : 'but still here')"/>
      <send name="'take.it'" target="child" targettype="'ccxml'" namelist="caller"/>
    </transition>
    <transition event="ccxml.exit">
      <exit expr="'handed over'"/>
    </transition>
  </eventprocessor>"#,
    );
    write(
        "child.ccxml",
        r#"<eventprocessor>
    <transition event="take.it">
      <log expr="'the child has ' + session.connections[event$.caller].state"/>
      <disconnect connectionid="event$.caller"/>
    </transition>
    <transition event="connection.disconnected">
      <exit expr="'child released the call'"/>
    </transition>
  </eventprocessor>"#,
    );
    let url = url::Url::from_file_path(dir.join("parent.ccxml")).expect("absolute path");
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("move".into(), url.to_string());
    });
    let (ok, log) = harness::sipp(server.sip(), "ccxml_wait_bye", "move", false);
    assert!(ok, "sipp scenario ccxml_wait_bye failed:\n{log}");
    let notes = server.wait_note(
        Duration::from_secs(10),
        |n| matches!(n, CallNote::Ended { how } if how == "exit \"handed over\""),
    );
    let logs = log_texts(&notes);
    for expected in ["moved away", "the child has CONNECTED"] {
        assert!(logs.contains(&expected), "no log {expected:?}: {notes:#?}");
    }
    assert!(
        notes.contains(&CallNote::Ended {
            how: "exit \"child released the call\"".into()
        }),
        "{notes:#?}"
    );
}

#[test]
fn merge_refers_the_caller_to_the_callee_with_replaces() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("ccxml-merge");
    let agent = harness::free_port();
    let page = dir.join("merge.ccxml");
    std::fs::write(
        &page,
        format!(
            r#"<?xml version="1.0"?>
<ccxml version="1.0" xmlns="http://www.w3.org/2002/09/ccxml">
  <var name="caller"/>
  <var name="agent"/>
  <var name="merged" expr="0"/>
  <eventprocessor>
    <transition event="connection.alerting">
      <assign name="caller" expr="event$.connectionid"/>
      <accept/>
    </transition>
    <transition event="connection.connected" cond="event$.connectionid == caller">
      <createcall dest="'sip:agent@127.0.0.1:{agent}'" connectionid="agent"/>
    </transition>
    <transition event="connection.connected">
      <merge connectionid1="caller" connectionid2="agent"/>
    </transition>
    <transition event="connection.merged">
      <assign name="merged" expr="merged + 1"/>
      <if cond="merged == 2"><exit expr="'merged'"/></if>
    </transition>
    <transition event="connection.merge.failed">
      <exit expr="'failed: ' + event$.reason"/>
    </transition>
  </eventprocessor>
</ccxml>
"#
        ),
    )
    .expect("page written");
    let url = url::Url::from_file_path(&page).expect("absolute path");
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("merge".into(), url.to_string());
    });
    // The callee answers and gets the platform's BYE once the caller has
    // been referred to it with Replaces naming its dialog.
    let callee = harness::sipp_server("callee_replaced", agent);
    let (ok, log) = harness::sipp(server.sip(), "ccxml_merge_caller", "merge", false);
    let callee = callee.wait_with_output().expect("callee sipp ends");
    assert!(ok, "caller sipp failed:\n{log}");
    assert!(
        callee.status.success(),
        "callee sipp failed: {}",
        String::from_utf8_lossy(&callee.stderr)
    );
    let notes = server.wait_note(
        Duration::from_secs(10),
        |n| matches!(n, CallNote::Ended { how } if how.starts_with("exit")),
    );
    assert!(has_event(&notes, "connection.merged"), "{notes:#?}");
    assert!(
        notes.contains(&CallNote::Ended {
            how: "exit \"merged\"".into()
        }),
        "{notes:#?}"
    );
}

#[test]
fn a_dialog_reads_what_its_dialogstart_passed() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("ccxml-dialog-session");
    harness::page(
        &dir,
        "dialog.vxml",
        r#"<form><block>
             <log label="dialog"><value expr="session.connection.ccxml.values.account + ' ' + session.connection.ccxml.namelist.join(',')"/></log>
             <log label="dialog"><value expr="'ids ' + session.connection.ccxml.dialogid + ' ' + session.connection.ccxml.connectionid + ' ' + session.connection.ccxml.sessionid"/></log>
             <exit/>
           </block></form>"#,
    );
    let page = dir.join("session.ccxml");
    std::fs::write(
        &page,
        r#"<?xml version="1.0"?>
<ccxml version="1.0" xmlns="http://www.w3.org/2002/09/ccxml">
  <var name="caller"/>
  <var name="account" expr="'A-42'"/>
  <var name="d1"/>
  <eventprocessor>
    <transition event="connection.alerting">
      <assign name="caller" expr="event$.connectionid"/>
      <accept/>
    </transition>
    <transition event="connection.connected">
      <dialogstart src="'dialog.vxml'" connectionid="caller" dialogid="d1" namelist="account"/>
      <log expr="'ids ' + d1 + ' ' + caller + ' ' + session.id"/>
    </transition>
    <transition event="dialog.exit">
      <disconnect connectionid="caller"/>
    </transition>
    <transition event="connection.disconnected">
      <exit expr="'released'"/>
    </transition>
  </eventprocessor>
</ccxml>
"#,
    )
    .expect("page written");
    let url = url::Url::from_file_path(&page).expect("absolute path");
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("values".into(), url.to_string());
    });
    let (ok, log) = harness::sipp(server.sip(), "ccxml_wait_bye", "values", false);
    assert!(ok, "sipp scenario ccxml_wait_bye failed:\n{log}");
    let notes = server.wait_note(
        Duration::from_secs(10),
        |n| matches!(n, CallNote::Ended { how } if how.starts_with("exit")),
    );
    let logs = log_texts(&notes);
    assert!(logs.contains(&"A-42 account"), "{notes:#?}");
    // The ids the dialog sees are the ones the CCXML page knows.
    let ids: Vec<&str> = logs.iter().filter_map(|l| l.strip_prefix("ids ")).collect();
    assert_eq!(ids.len(), 2, "{notes:#?}");
    assert_eq!(ids.first(), ids.last(), "{notes:#?}");
    assert!(!ids.iter().any(|i| i.contains("undefined")), "{notes:#?}");
}
