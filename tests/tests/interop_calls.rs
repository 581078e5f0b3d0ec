//! Interop: the call features around the session, with sipp as caller and
//! far end. With `answer = "on-media"` a blind `<transfer>` before any
//! prompt is a 302, an `<exit>` before any prompt a 480 (`<disconnect>` a
//! 603), and a CANCEL while the application runs unanswered its hangup; a
//! consultation transfer to a
//! far end that answers hands the call over (by REFER with `Replaces` to a
//! caller that supports it, else relayed by the platform), and a far end
//! that does not answer is `noanswer`; `<gvp:send>` is an INFO in the
//! dialog and the INFO that answers it reaches `application.lastmessage$`;
//! `Diversion` headers fill `session.connection.redirect`; transfer
//! destinations are looked up in DNS (SRV, then A) on a name server on
//! loopback, and a name that does not exist is `error.connection.noroute`;
//! audio is fetched with the cookies the page fetches received.

#[path = "../interop/harness.rs"]
mod harness;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use harness::Server;
use vxp_platform::serve::{AnswerMode, CallNote};

fn log(label: &str, text: &str) -> CallNote {
    CallNote::Log {
        label: Some(label.into()),
        text: text.into(),
    }
}

fn ended(n: &CallNote) -> bool {
    matches!(n, CallNote::Ended { .. })
}

fn has_event(notes: &[CallNote], event: &str) -> bool {
    notes
        .iter()
        .any(|n| matches!(n, CallNote::Event { name, .. } if name == event))
}

/// A server where dialed number `number` runs `body` and is answered on media.
fn on_media(name: &str, number: &str, body: &str) -> Server {
    let dir = harness::scratch(name);
    let url = harness::page(&dir, &format!("{name}.vxml"), body);
    let number = number.to_owned();
    Server::start_with(move |c| {
        c.routing.numbers.insert(number.clone(), url);
        c.routing.answer.insert(number, AnswerMode::OnMedia);
    })
}

#[test]
fn blind_transfer_before_answer_is_a_302() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let mut server = on_media(
        "redirect",
        "redirect",
        r#"<form><transfer name="t" type="blind" dest="sip:agent@127.0.0.1:5999"/>
           <block><log label="transfer">not transferred</log></block></form>"#,
    );
    let (ok, log_text) = harness::sipp(server.sip(), "redirect_302", "redirect", false);
    assert!(ok, "sipp redirect_302 failed:\n{log_text}");
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(
        has_event(&notes, "connection.disconnect.transfer"),
        "{notes:#?}"
    );
    assert!(
        !notes.contains(&log("transfer", "not transferred")),
        "{notes:#?}"
    );
}

#[test]
fn exit_before_answer_rejects_the_call() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let mut server = on_media(
        "early-exit",
        "early",
        r#"<form><block><log label="app">leaving</log><exit/></block></form>"#,
    );
    let (ok, log_text) = harness::sipp(server.sip(), "reject_early", "early", false);
    assert!(ok, "sipp reject_early failed:\n{log_text}");
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(notes.contains(&log("app", "leaving")), "{notes:#?}");
}

#[test]
fn disconnect_before_answer_declines_the_call() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let mut server = on_media(
        "early-disconnect",
        "decline",
        r#"<form><block><disconnect/></block></form>"#,
    );
    let (ok, log_text) = harness::sipp(server.sip(), "decline_early", "decline", false);
    assert!(ok, "sipp decline_early failed:\n{log_text}");
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(
        notes.contains(&CallNote::Ended {
            how: "disconnect".into()
        }),
        "{notes:#?}"
    );
}

#[test]
fn cancel_while_the_unanswered_application_runs_is_its_hangup() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let mut server = on_media(
        "early-cancel",
        "waiting",
        r#"<form xmlns:gvp="http://www.genesyslab.com/2006/vxml21-extension">
             <block><gvp:receive maxtime="20s"/></block></form>"#,
    );
    let (ok, log_text) = harness::sipp(server.sip(), "cancel", "waiting", false);
    assert!(ok, "sipp cancel failed:\n{log_text}");
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(
        has_event(&notes, "connection.disconnect.hangup"),
        "{notes:#?}"
    );
}

#[test]
fn gvp_send_is_an_info_and_the_reply_info_is_the_last_message() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let mut server = on_media(
        "gvp-send",
        "cti",
        r#"<form xmlns:gvp="http://www.genesyslab.com/2006/vxml21-extension">
             <var name="Action" expr="'GetData'"/><var name="Keyname1" expr="'k1'"/>
             <block>
               <gvp:send async="false" namelist="Action Keyname1"/>
               <log label="reply"><value expr="application.lastmessage$.content"/></log>
               <exit/>
             </block></form>"#,
    );
    let (ok, log_text) = harness::sipp(server.sip(), "gvp_send", "cti", false);
    assert!(ok, "sipp gvp_send failed:\n{log_text}");
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(
        notes.contains(&log("reply", "Result=SUCCESS&Action=UserDataResp&k1=v1")),
        "{notes:#?}"
    );
}

#[test]
fn diversion_headers_fill_session_connection_redirect() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("diverted");
    let url = harness::page(
        &dir,
        "diverted.vxml",
        r#"<form><block>
             <log label="redirect"><value expr="session.connection.redirect.length + ' ' + session.connection.redirect[0].uri + ' ' + session.connection.redirect[0].reason + ' ' + session.connection.redirect[0].pi + ' ' + session.connection.redirect[1].reason"/></log>
             <exit/></block></form>"#,
    );
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("diverted".into(), url);
    });
    let (ok, log_text) = harness::sipp(server.sip(), "diverted", "diverted", false);
    assert!(ok, "sipp diverted failed:\n{log_text}");
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(
        notes.contains(&log(
            "redirect",
            "2 sip:+15550100@gw.example.com user-busy off no-answer"
        )),
        "{notes:#?}"
    );
}

#[test]
fn consultation_transfer_hands_the_call_to_the_far_end() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("consult");
    let agent = harness::free_port();
    let url = harness::page(
        &dir,
        "consult.vxml",
        &format!(
            r#"<form>
                 <catch event="connection.disconnect.transfer"><log label="transfer">handed over</log><exit/></catch>
                 <transfer name="t" type="consultation" dest="sip:agent@127.0.0.1:{agent}" connecttimeout="10s">
                   <filled><log label="transfer"><value expr="t"/></log><exit/></filled>
                 </transfer></form>"#
        ),
    );
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("consult".into(), url);
    });
    // The far end answers and hangs up 1.5 s later; the platform, relaying
    // the handed-over call, then sends BYE to the caller.
    let callee = harness::sipp_server("callee", agent);
    let (ok, log_text) = harness::sipp(server.sip(), "platform_bye", "consult", false);
    let callee = callee.wait_with_output().expect("callee sipp ends");
    assert!(ok, "caller sipp failed:\n{log_text}");
    assert!(
        callee.status.success(),
        "callee sipp failed: {}",
        String::from_utf8_lossy(&callee.stderr)
    );
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(
        notes.contains(&log("transfer", "handed over")),
        "{notes:#?}"
    );
}

#[test]
fn a_failed_consultation_reports_busy_and_the_session_continues() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("consult-busy");
    // Nothing listens there: the INVITE times out or is refused; use a
    // connecttimeout short enough for the test.
    let nobody = harness::free_port();
    let url = harness::page(
        &dir,
        "consult-busy.vxml",
        &format!(
            r#"<form>
                 <transfer name="t" type="consultation" dest="sip:agent@127.0.0.1:{nobody}" connecttimeout="2s">
                   <filled><log label="transfer"><value expr="t"/></log><exit/></filled>
                 </transfer></form>"#
        ),
    );
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("consult".into(), url);
    });
    let (ok, log_text) = harness::sipp(server.sip(), "platform_bye", "consult", false);
    assert!(ok, "caller sipp failed:\n{log_text}");
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(notes.contains(&log("transfer", "noanswer")), "{notes:#?}");
}

/// A DNS server on loopback: SRV `_sip._udp.agents.test` → `primary.agents.test:port`,
/// A `primary.agents.test` → 127.0.0.1; every other name does not exist.
fn dns_server(agent_port: u16) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind DNS");
    let addr = socket.local_addr().expect("DNS address");
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            if let Some(reply) = dns_reply(&buf[..n], agent_port) {
                let _ = socket.send_to(&reply, from);
            }
        }
    });
    addr
}

fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// Answers one query (RFC 1035 §4.1) from the fixed zone.
fn dns_reply(query: &[u8], agent_port: u16) -> Option<Vec<u8>> {
    let header = query.get(..12)?;
    let mut labels = Vec::new();
    let mut i = 12;
    loop {
        let len = *query.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*query.get(i)?, *query.get(i + 1)?]);
    let question = query.get(12..i + 4)?;
    let name = labels.join(".");
    const A: u16 = 1;
    const SRV: u16 = 33;
    let known = ["_sip._udp.agents.test", "primary.agents.test"];
    let rdata: Option<(u16, Vec<u8>)> = match (name.as_str(), qtype) {
        ("_sip._udp.agents.test", SRV) => {
            let mut r = vec![0, 10, 0, 10];
            r.extend_from_slice(&agent_port.to_be_bytes());
            r.extend(encode_name("primary.agents.test"));
            Some((SRV, r))
        }
        ("primary.agents.test", A) => Some((A, vec![127, 0, 0, 1])),
        _ => None,
    };
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(header.get(..2)?);
    let rcode = if rdata.is_some() || known.contains(&name.as_str()) {
        0
    } else {
        3
    };
    out.extend_from_slice(&[0x81, 0x80 | rcode]);
    out.extend_from_slice(&[0, 1, 0, u8::from(rdata.is_some()), 0, 0, 0, 0]);
    out.extend_from_slice(question);
    if let Some((rtype, r)) = rdata {
        out.extend_from_slice(&[0xc0, 12]);
        out.extend_from_slice(&rtype.to_be_bytes());
        out.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
        out.extend_from_slice(&(r.len() as u16).to_be_bytes());
        out.extend(r);
    }
    Some(out)
}

#[test]
fn bridge_transfer_destinations_are_found_by_srv_and_unknown_names_have_no_route() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("dns");
    let agent = harness::free_port();
    let dns = dns_server(agent);
    let found = harness::page(
        &dir,
        "found.vxml",
        r#"<form><transfer name="t" type="bridge" dest="sip:agent@agents.test" connecttimeout="10s">
             <filled><log label="transfer"><value expr="t"/></log><exit/></filled>
           </transfer></form>"#,
    );
    let missing = harness::page(
        &dir,
        "missing.vxml",
        r#"<form>
             <catch event="error.connection.noroute"><log label="transfer">no route</log><exit/></catch>
             <transfer name="t" type="bridge" dest="sip:agent@nowhere.test" connecttimeout="10s"/>
           </form>"#,
    );
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("found".into(), found);
        c.routing.numbers.insert("missing".into(), missing);
        c.dns.nameservers = vec![dns];
    });
    let callee = harness::sipp_server("callee", agent);
    let (ok, log_text) = harness::sipp(server.sip(), "platform_bye", "found", false);
    let callee = callee.wait_with_output().expect("callee sipp ends");
    assert!(ok, "caller sipp failed:\n{log_text}");
    assert!(
        callee.status.success(),
        "callee sipp failed: {}",
        String::from_utf8_lossy(&callee.stderr)
    );
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(
        notes.contains(&log("transfer", "far_end_disconnect")),
        "{notes:#?}"
    );
    let (ok, log_text) = harness::sipp(server.sip(), "platform_bye", "missing", false);
    assert!(ok, "caller sipp failed:\n{log_text}");
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(notes.contains(&log("transfer", "no route")), "{notes:#?}");
}

#[test]
fn consultation_transfer_refers_a_caller_that_supports_replaces() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let dir = harness::scratch("consult-replaces");
    let agent = harness::free_port();
    let url = harness::page(
        &dir,
        "consult.vxml",
        &format!(
            r#"<form>
                 <catch event="connection.disconnect.transfer"><log label="transfer">referred</log><exit/></catch>
                 <transfer name="t" type="consultation" dest="sip:agent@127.0.0.1:{agent}" connecttimeout="10s">
                   <filled><log label="transfer"><value expr="t"/></log><exit/></filled>
                 </transfer></form>"#
        ),
    );
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert("consult".into(), url);
    });
    // The far end answers and, once the caller has been referred to it,
    // gets the platform's BYE for the consultation leg.
    let callee = harness::sipp_server("callee_replaced", agent);
    let (ok, log_text) = harness::sipp(server.sip(), "consult_replaces", "consult", false);
    let callee = callee.wait_with_output().expect("callee sipp ends");
    assert!(ok, "caller sipp failed:\n{log_text}");
    assert!(
        callee.status.success(),
        "callee sipp failed: {}",
        String::from_utf8_lossy(&callee.stderr)
    );
    let notes = server.wait_note(Duration::from_secs(10), ended);
    assert!(notes.contains(&log("transfer", "referred")), "{notes:#?}");
}

/// The requests an HTTP server saw: path and `Cookie` header.
type Requests = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A one-thread HTTP server: `/page.vxml` sets a session cookie and plays
/// `/beep.wav`; every request's path and `Cookie` header is recorded.
fn cookie_server() -> (u16, Requests) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind HTTP");
    let port = listener.local_addr().expect("HTTP address").port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 2048];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf).into_owned();
            let path = head
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or("")
                .to_owned();
            let cookie = head
                .lines()
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
                        .map(|(_, v)| v.trim().to_owned())
                })
                .unwrap_or_default();
            log.lock().expect("log").push((path.clone(), cookie));
            let (extra, ctype, body): (&str, &str, Vec<u8>) = if path == "/page.vxml" {
                (
                    "Set-Cookie: session=abc123; Path=/\r\n",
                    "application/voicexml+xml",
                    br#"<?xml version="1.0"?>
<vxml version="2.1" xmlns="http://www.w3.org/2001/vxml">
  <form><block><prompt><audio src="/beep.wav">no audio</audio></prompt><exit/></block></form>
</vxml>"#
                        .to_vec(),
                )
            } else {
                // Not cached: the prompt's own fetch goes to the server.
                (
                    "Cache-Control: no-store\r\n",
                    "audio/basic",
                    vec![0xffu8; 1600],
                )
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\n{extra}Content-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    (port, seen)
}

#[test]
fn audio_is_fetched_with_the_cookies_of_the_page_fetches() {
    if !harness::tools_present(&["sipp"]) {
        return;
    }
    let (port, seen) = cookie_server();
    let mut server = Server::start_with(|c| {
        c.routing.numbers.insert(
            "cookies".into(),
            format!("http://127.0.0.1:{port}/page.vxml"),
        );
    });
    let (ok, log_text) = harness::sipp(server.sip(), "platform_bye", "cookies", false);
    assert!(ok, "caller sipp failed:\n{log_text}");
    server.wait_note(Duration::from_secs(10), ended);
    let seen = seen.lock().expect("log").clone();
    let audio: Vec<&(String, String)> = seen.iter().filter(|(p, _)| p == "/beep.wav").collect();
    assert!(!audio.is_empty(), "{seen:?}");
    assert!(
        audio.iter().all(|(_, cookie)| cookie == "session=abc123"),
        "{seen:?}"
    );
}
