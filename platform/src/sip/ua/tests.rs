use super::*;

const SDP: &str = "v=0\r\no=caller 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

struct Harness {
    ua: UserAgent,
    now: Instant,
    caller: SocketAddr,
}

fn caller() -> SocketAddr {
    "192.0.2.9:5062".parse().unwrap()
}

impl Harness {
    fn new() -> Self {
        Self::with(UaConfig::default())
    }

    fn with(config: UaConfig) -> Self {
        Harness {
            ua: UserAgent::new(config),
            now: Instant::now(),
            caller: caller(),
        }
    }

    fn send(&mut self, text: &str) {
        self.ua
            .handle_datagram(text.as_bytes(), self.caller, Transport::Udp, self.now);
    }

    fn out(&mut self) -> Vec<Message> {
        std::iter::from_fn(|| self.ua.poll_transmit())
            .map(|t| Message::parse(&t.bytes).expect("the core sends well-formed messages"))
            .collect()
    }

    fn lines(&mut self) -> Vec<String> {
        self.out().iter().map(first_line).collect()
    }

    fn events(&mut self) -> Vec<UaEvent> {
        std::iter::from_fn(|| self.ua.poll_event()).collect()
    }

    /// Advances the clock to `now + d`, firing every timer on the way and
    /// noting when each message went out.
    fn advance(&mut self, d: Duration) -> Vec<(u128, String)> {
        let start = self.now;
        let end = self.now + d;
        let mut log = Vec::new();
        while let Some(t) = self.ua.poll_timeout() {
            if t > end {
                break;
            }
            self.now = t.max(self.now);
            self.ua.handle_timeout(self.now);
            for line in self.lines() {
                log.push(((self.now - start).as_millis(), line));
            }
        }
        self.now = end;
        log
    }

    /// An INVITE from the caller answered with 180 and 200; returns the call
    /// and the 200 (for our tag).
    fn answered_call(&mut self) -> (CallId, Response) {
        self.send(&invite("c1", "z9hG4bKinv1", 1, SDP));
        let call = incoming(&self.events());
        self.ua.ring(call, 180, None, self.now).unwrap();
        self.ua
            .answer(call, SDP.as_bytes().to_vec(), self.now)
            .unwrap();
        let ok = self
            .out()
            .into_iter()
            .find_map(|m| match m {
                Message::Response(r) if r.status == 200 => Some(r),
                _ => None,
            })
            .unwrap();
        let tag = ok.header_to().unwrap().tag().unwrap().to_owned();
        self.send(&ack("c1", "z9hG4bKack1", 1, &tag));
        assert!(matches!(self.events()[..], [UaEvent::Acked { .. }]));
        (call, ok)
    }
}

fn first_line(m: &Message) -> String {
    String::from_utf8_lossy(&m.to_bytes())
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

fn incoming(events: &[UaEvent]) -> CallId {
    match events {
        [UaEvent::IncomingCall(c)] => c.call,
        other => panic!("expected one IncomingCall, got {other:?}"),
    }
}

fn request(
    method: &str,
    call_id: &str,
    branch: &str,
    cseq: u32,
    to_tag: Option<&str>,
    extra: &str,
    body: &str,
) -> String {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    format!(
        "{method} sip:8005551212@127.0.0.1;voicexml=http://apps.example.com/a.vxml SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.9:5062;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Alice\" <sip:alice@192.0.2.9>;tag=caller1\r\n\
         To: <sip:8005551212@127.0.0.1>{to_tag}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:alice@192.0.2.9:5062>\r\n\
         X-Account: 42\r\n\
         {extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn invite(call_id: &str, branch: &str, cseq: u32, sdp: &str) -> String {
    request(
        "INVITE",
        call_id,
        branch,
        cseq,
        None,
        "Content-Type: application/sdp\r\n",
        sdp,
    )
}

fn ack(call_id: &str, branch: &str, cseq: u32, tag: &str) -> String {
    request("ACK", call_id, branch, cseq, Some(tag), "", "")
}

fn status_of(m: &Message) -> u16 {
    match m {
        Message::Response(r) => r.status,
        Message::Request(_) => 0,
    }
}

#[test]
fn incoming_call_transcript() {
    let mut h = Harness::new();
    h.send(&invite("c1", "z9hG4bKinv1", 1, SDP));
    let trying = h.out();
    let events = h.events();
    let UaEvent::IncomingCall(info) = &events[0] else {
        panic!("{events:?}");
    };
    assert_eq!(
        info.request_uri.param("voicexml"),
        Some(Some("http://apps.example.com/a.vxml"))
    );
    assert_eq!(info.from.tag(), Some("caller1"));
    assert!(
        info.headers
            .iter()
            .any(|(n, v)| n == "X-Account" && v == "42")
    );
    assert_eq!(info.sdp.as_deref(), Some(SDP.as_bytes()));
    h.ua.ring(info.call, 180, None, h.now).unwrap();
    h.ua.answer(info.call, SDP.as_bytes().to_vec(), h.now)
        .unwrap();
    let answered = h.out();
    let transcript: Vec<String> = trying
        .iter()
        .chain(answered.iter())
        .map(|m| String::from_utf8_lossy(&m.to_bytes()).into_owned())
        .collect();
    insta::assert_snapshot!(transcript.join("\n----\n"));
}

#[test]
fn retransmitted_invite_is_absorbed() {
    let mut h = Harness::new();
    h.send(&invite("c1", "z9hG4bKinv1", 1, SDP));
    h.send(&invite("c1", "z9hG4bKinv1", 1, SDP));
    assert_eq!(h.lines(), ["SIP/2.0 100 Trying", "SIP/2.0 100 Trying"]);
    let call = incoming(&h.events());
    h.ua.ring(call, 180, None, h.now).unwrap();
    h.send(&invite("c1", "z9hG4bKinv1", 1, SDP));
    assert_eq!(h.lines(), ["SIP/2.0 180 Ringing", "SIP/2.0 180 Ringing"]);
    assert!(h.events().is_empty());
    assert_eq!(h.ua.call_count(), 1);
}

#[test]
fn two_xx_is_retransmitted_until_ack() {
    let mut h = Harness::new();
    h.send(&invite("c1", "z9hG4bKinv1", 1, SDP));
    let call = incoming(&h.events());
    h.ua.answer(call, SDP.as_bytes().to_vec(), h.now).unwrap();
    let ok = h.out().into_iter().find(|m| status_of(m) == 200).unwrap();
    let tag = match &ok {
        Message::Response(r) => r.header_to().unwrap().tag().unwrap().to_owned(),
        Message::Request(_) => unreachable!(),
    };
    let log = h.advance(Duration::from_millis(7600));
    let times: Vec<u128> = log.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [500, 1500, 3500, 7500]);
    assert!(log.iter().all(|(_, l)| l == "SIP/2.0 200 OK"));
    h.send(&ack("c1", "z9hG4bKack1", 1, &tag));
    assert!(matches!(h.events()[..], [UaEvent::Acked { call: c, .. }] if c == call));
    assert!(
        h.advance(Duration::from_secs(60)).is_empty(),
        "no retransmission after ACK"
    );
}

#[test]
fn missing_ack_ends_the_call_with_bye() {
    let mut h = Harness::new();
    h.send(&invite("c1", "z9hG4bKinv1", 1, SDP));
    let call = incoming(&h.events());
    h.ua.answer(call, SDP.as_bytes().to_vec(), h.now).unwrap();
    h.out();
    let log = h.advance(Duration::from_millis(32_100));
    assert_eq!(
        log.last().map(|(t, l)| (*t, l.as_str())),
        Some((32_000, "BYE sip:alice@192.0.2.9:5062 SIP/2.0"))
    );
    // The BYE itself times out unanswered: the call is reported terminated.
    h.advance(Duration::from_secs(40));
    assert!(h.events().contains(&UaEvent::Terminated { call }));
    assert_eq!(h.ua.call_count(), 0);
}

#[test]
fn cancel_before_answer_gets_200_and_487() {
    let mut h = Harness::new();
    h.send(&invite("c1", "z9hG4bKinv1", 1, SDP));
    let call = incoming(&h.events());
    h.ua.ring(call, 180, None, h.now).unwrap();
    h.out();
    h.send(&request("CANCEL", "c1", "z9hG4bKinv1", 1, None, "", ""));
    assert_eq!(
        h.lines(),
        ["SIP/2.0 200 OK", "SIP/2.0 487 Request Terminated"]
    );
    assert_eq!(h.events(), [UaEvent::CallCancelled { call }]);
    assert_eq!(
        h.ua.answer(call, vec![], h.now),
        Err(UaError::UnknownCall(call))
    );
    // The ACK for the 487 is absorbed by the transaction.
    h.send(&request("ACK", "c1", "z9hG4bKinv1", 1, Some("x"), "", ""));
    assert!(h.out().is_empty() && h.events().is_empty());
    // A CANCEL for nothing: 481.
    h.send(&request("CANCEL", "c9", "z9hG4bKnone", 1, None, "", ""));
    assert_eq!(h.lines(), ["SIP/2.0 481 Call/Transaction Does Not Exist"]);
}

#[test]
fn bye_from_the_caller() {
    let mut h = Harness::new();
    let (call, ok) = h.answered_call();
    let tag = ok.header_to().unwrap().tag().unwrap().to_owned();
    h.send(&request("BYE", "c1", "z9hG4bKbye1", 2, Some(&tag), "", ""));
    assert_eq!(h.lines(), ["SIP/2.0 200 OK"]);
    assert_eq!(h.events(), [UaEvent::RemoteHangup { call }]);
    assert_eq!(h.ua.call_count(), 0);
    // The same BYE again is a retransmission answered from the transaction.
    h.send(&request("BYE", "c1", "z9hG4bKbye1", 2, Some(&tag), "", ""));
    assert_eq!(h.lines(), ["SIP/2.0 200 OK"]);
}

#[test]
fn bye_from_the_platform() {
    let mut h = Harness::new();
    let (call, ok) = h.answered_call();
    h.ua.hangup(call, h.now).unwrap();
    let out = h.out();
    let Message::Request(bye) = &out[0] else {
        panic!()
    };
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.uri.to_string(), "sip:alice@192.0.2.9:5062");
    assert_eq!(bye.header_to().unwrap().tag(), Some("caller1"));
    assert_eq!(
        bye.header_from().unwrap().tag(),
        ok.header_to().unwrap().tag()
    );
    let mut resp = response_to(bye, 200, None);
    resp.headers.set("Content-Length", "0");
    h.ua.handle_datagram(&resp.to_bytes(), caller(), Transport::Udp, h.now);
    assert_eq!(h.events(), [UaEvent::Terminated { call }]);
    assert_eq!(h.ua.call_count(), 0);
}

#[test]
fn reinvite_hold_and_resume() {
    let mut h = Harness::new();
    let (call, ok) = h.answered_call();
    let tag = ok.header_to().unwrap().tag().unwrap().to_owned();
    for (cseq, dir) in [(2, "sendonly"), (3, "sendrecv")] {
        let branch = format!("z9hG4bKre{cseq}");
        let sdp = SDP.replace("sendrecv", dir);
        h.send(&request(
            "INVITE",
            "c1",
            &branch,
            cseq,
            Some(&tag),
            "Content-Type: application/sdp\r\n",
            &sdp,
        ));
        assert_eq!(h.lines(), ["SIP/2.0 100 Trying"]);
        let events = h.events();
        assert_eq!(
            events,
            [UaEvent::ReInvite {
                call,
                method: Method::Invite,
                sdp: Some(sdp.clone().into_bytes())
            }]
        );
        let answer = SDP.replace(
            "sendrecv",
            if dir == "sendonly" {
                "recvonly"
            } else {
                "sendrecv"
            },
        );
        h.ua.answer_reinvite(call, answer.clone().into_bytes(), h.now)
            .unwrap();
        let out = h.out();
        assert_eq!(status_of(&out[0]), 200);
        let Message::Response(r) = &out[0] else {
            panic!()
        };
        assert_eq!(r.body, answer.as_bytes());
        h.send(&ack("c1", &format!("z9hG4bKack{cseq}"), cseq, &tag));
        assert!(matches!(h.events()[..], [UaEvent::Acked { .. }]));
    }
    // UPDATE works the same way, without ACK.
    h.send(&request(
        "UPDATE",
        "c1",
        "z9hG4bKup",
        4,
        Some(&tag),
        "Content-Type: application/sdp\r\n",
        SDP,
    ));
    assert!(matches!(
        &h.events()[..],
        [UaEvent::ReInvite {
            method: Method::Update,
            ..
        }]
    ));
    h.ua.reject_reinvite(call, 488, h.now).unwrap();
    assert_eq!(h.lines(), ["SIP/2.0 488 Not Acceptable Here"]);
}

#[test]
fn outgoing_reinvite_for_hold() {
    let mut h = Harness::new();
    let (call, _) = h.answered_call();
    h.ua.reinvite(
        call,
        SDP.replace("sendrecv", "sendonly").into_bytes(),
        h.now,
    )
    .unwrap();
    let out = h.out();
    let Message::Request(re) = &out[0] else {
        panic!()
    };
    assert_eq!(re.method, Method::Invite);
    assert_eq!(re.header_to().unwrap().tag(), Some("caller1"));
    let mut ok = response_to(re, 200, None);
    ok.headers.remove("Content-Length");
    ok.set_body(
        Some("application/sdp"),
        SDP.replace("sendrecv", "recvonly").into_bytes(),
    );
    h.ua.handle_datagram(&ok.to_bytes(), caller(), Transport::Udp, h.now);
    assert_eq!(h.lines(), ["ACK sip:alice@192.0.2.9:5062 SIP/2.0"]);
    assert!(matches!(
        &h.events()[..],
        [UaEvent::ReInviteAnswered { sdp: Some(_), .. }]
    ));
}

#[test]
fn info_dtmf_in_both_content_types_and_raw_bodies() {
    let mut h = Harness::new();
    let (call, ok) = h.answered_call();
    let tag = ok.header_to().unwrap().tag().unwrap().to_owned();
    let cases = [
        (
            "application/dtmf-relay",
            "Signal=5\r\nDuration=160\r\n",
            InfoBody::Dtmf {
                digit: '5',
                duration_ms: Some(160),
            },
        ),
        (
            "application/dtmf-relay",
            "Signal= #\r\n",
            InfoBody::Dtmf {
                digit: '#',
                duration_ms: None,
            },
        ),
        (
            "application/dtmf",
            "7",
            InfoBody::Dtmf {
                digit: '7',
                duration_ms: None,
            },
        ),
        (
            "application/dtmf",
            "10",
            InfoBody::Dtmf {
                digit: '*',
                duration_ms: None,
            },
        ),
        (
            "application/x-ngi-message",
            "<msg>hi</msg>",
            InfoBody::Other {
                content_type: Some("application/x-ngi-message".into()),
                body: b"<msg>hi</msg>".to_vec(),
            },
        ),
    ];
    for (i, (ct, body, expected)) in cases.into_iter().enumerate() {
        let cseq = 10 + i as u32;
        h.send(&request(
            "INFO",
            "c1",
            &format!("z9hG4bKinfo{i}"),
            cseq,
            Some(&tag),
            &format!("Content-Type: {ct}\r\n"),
            body,
        ));
        assert_eq!(h.lines(), ["SIP/2.0 200 OK"]);
        assert_eq!(
            h.events(),
            [UaEvent::InfoReceived {
                call,
                info: expected
            }]
        );
    }
    // Our own INFO goes out in the dialog.
    h.ua.send_info(
        call,
        "application/dtmf-relay",
        b"Signal=1\r\nDuration=100\r\n".to_vec(),
        h.now,
    )
    .unwrap();
    let out = h.out();
    let Message::Request(info) = &out[0] else {
        panic!()
    };
    assert_eq!(info.method, Method::Info);
    assert_eq!(
        info.content_type().as_deref(),
        Some("application/dtmf-relay")
    );
    assert!(info.cseq().unwrap().seq > 0);
}

#[test]
fn refer_with_notify_sipfrag_progress() {
    let mut h = Harness::new();
    let (call, ok) = h.answered_call();
    let tag = ok.header_to().unwrap().tag().unwrap().to_owned();
    let target = Uri::parse("sip:agent@192.0.2.50").unwrap();
    h.ua.refer(call, &target, h.now).unwrap();
    let out = h.out();
    let Message::Request(refer) = &out[0] else {
        panic!()
    };
    assert_eq!(refer.method, Method::Refer);
    assert_eq!(
        refer.headers.first("Refer-To"),
        Some("<sip:agent@192.0.2.50>")
    );
    let mut accepted = response_to(refer, 202, None);
    accepted.headers.set("Content-Length", "0");
    h.ua.handle_datagram(&accepted.to_bytes(), caller(), Transport::Udp, h.now);
    assert_eq!(
        h.events(),
        [UaEvent::ReferProgress {
            call,
            status: 202,
            done: false
        }]
    );
    for (i, (frag, state, done)) in [
        ("SIP/2.0 100 Trying", "active;expires=60", false),
        ("SIP/2.0 200 OK", "terminated;reason=noresource", true),
    ]
    .into_iter()
    .enumerate()
    {
        let extra = format!(
            "Event: refer\r\nSubscription-State: {state}\r\nContent-Type: message/sipfrag;version=2.0\r\n"
        );
        h.send(&request(
            "NOTIFY",
            "c1",
            &format!("z9hG4bKn{i}"),
            20 + i as u32,
            Some(&tag),
            &extra,
            &format!("{frag}\r\n"),
        ));
        assert_eq!(h.lines(), ["SIP/2.0 200 OK"]);
        let status = if done { 200 } else { 100 };
        assert_eq!(h.events(), [UaEvent::ReferProgress { call, status, done }]);
    }
}

#[test]
fn malformed_invite_gets_400_and_the_next_call_works() {
    let mut h = Harness::new();
    let bad = invite("c1", "z9hG4bKbad", 1, SDP).replace("Max-Forwards: 70", "Max-Forwards: lots");
    h.send(&bad);
    let out = h.out();
    assert_eq!(out.len(), 1);
    assert_eq!(status_of(&out[0]), 400);
    assert!(h.events().is_empty());
    // Garbage that cannot be answered is dropped silently.
    h.send("\u{1}\u{2}garbage\r\n\r\n");
    assert!(h.out().is_empty());
    h.send(&invite("c2", "z9hG4bKgood", 1, SDP));
    assert_eq!(h.lines(), ["SIP/2.0 100 Trying"]);
    incoming(&h.events());
}

#[test]
fn malformed_message_does_not_disturb_a_call_in_progress() {
    let mut h = Harness::new();
    let (call, ok) = h.answered_call();
    let tag = ok.header_to().unwrap().tag().unwrap().to_owned();
    h.send(
        &request("BYE", "c1", "z9hG4bKbye1", 2, Some(&tag), "", "")
            .replace("To: <sip", "To: sip:<<"),
    );
    let raw = h.ua.poll_transmit().unwrap();
    assert!(raw.bytes.starts_with(b"SIP/2.0 400 "));
    assert!(h.events().is_empty());
    h.send(&request("BYE", "c1", "z9hG4bKbye2", 3, Some(&tag), "", ""));
    assert_eq!(h.events(), [UaEvent::RemoteHangup { call }]);
}

#[test]
fn options_in_and_out_of_dialog() {
    let mut h = Harness::new();
    h.send(&request(
        "OPTIONS",
        "o1",
        "z9hG4bKopt",
        1,
        None,
        "Accept: application/sdp\r\n",
        "",
    ));
    let out = h.out();
    let Message::Response(r) = &out[0] else {
        panic!()
    };
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.first("Allow"), Some(ALLOW));
    assert!(
        r.headers
            .first("Accept")
            .unwrap()
            .contains("application/sdp")
    );
    assert!(r.headers.first("Supported").is_some());
    let (_, ok) = h.answered_call();
    let tag = ok.header_to().unwrap().tag().unwrap().to_owned();
    h.send(&request(
        "OPTIONS",
        "c1",
        "z9hG4bKopt2",
        5,
        Some(&tag),
        "",
        "",
    ));
    assert_eq!(h.lines(), ["SIP/2.0 200 OK"]);
}

#[test]
fn unknown_dialog_and_unsupported_methods() {
    let mut h = Harness::new();
    h.send(&request("BYE", "nope", "z9hG4bKb", 2, Some("zzz"), "", ""));
    assert_eq!(h.lines(), ["SIP/2.0 481 Call/Transaction Does Not Exist"]);
    h.send(&request(
        "SUBSCRIBE",
        "s1",
        "z9hG4bKs",
        1,
        None,
        "Event: presence\r\n",
        "",
    ));
    let out = h.out();
    let Message::Response(r) = &out[0] else {
        panic!()
    };
    assert_eq!(r.status, 405);
    assert_eq!(r.headers.first("Allow"), Some(ALLOW));
}

#[test]
fn capacity_answers_486_or_503() {
    for busy in [486, 503] {
        let mut h = Harness::with(UaConfig {
            max_calls: 1,
            busy_status: busy,
            ..UaConfig::default()
        });
        h.send(&invite("c1", "z9hG4bKa", 1, SDP));
        incoming(&h.events());
        h.out();
        h.send(&invite("c2", "z9hG4bKb", 1, SDP));
        let out = h.out();
        assert_eq!(out.iter().map(status_of).collect::<Vec<_>>(), [100, busy]);
        assert!(h.events().is_empty());
        assert_eq!(h.ua.call_count(), 1);
    }
}

#[test]
fn reject_and_redirect() {
    let mut h = Harness::new();
    h.send(&invite("c1", "z9hG4bKa", 1, SDP));
    let call = incoming(&h.events());
    h.out();
    h.ua.reject(call, 488, h.now).unwrap();
    assert_eq!(h.lines(), ["SIP/2.0 488 Not Acceptable Here"]);
    h.send(&invite("c2", "z9hG4bKb", 1, SDP));
    let call = incoming(&h.events());
    h.out();
    h.ua.redirect(call, Uri::parse("sip:agent@192.0.2.50").unwrap(), h.now)
        .unwrap();
    let out = h.out();
    let Message::Response(r) = &out[0] else {
        panic!()
    };
    assert_eq!(r.status, 302);
    assert_eq!(r.headers.first("Contact"), Some("<sip:agent@192.0.2.50>"));
    assert_eq!(h.ua.call_count(), 0);
}

#[test]
fn outbound_call_answered_then_hung_up() {
    let mut h = Harness::new();
    let call =
        h.ua.invite(
            Uri::parse("sip:agent@192.0.2.50:5070").unwrap(),
            None,
            SDP.as_bytes().to_vec(),
            h.now,
        )
        .unwrap();
    let out = h.ua.poll_transmit().unwrap();
    assert_eq!(out.to, "192.0.2.50:5070".parse().unwrap());
    let Ok(Message::Request(inv)) = Message::parse(&out.bytes) else {
        panic!()
    };
    let agent: SocketAddr = "192.0.2.50:5070".parse().unwrap();
    let mut ringing = response_to(&inv, 180, Some("agent1"));
    ringing.headers.set("Content-Length", "0");
    h.ua.handle_datagram(&ringing.to_bytes(), agent, Transport::Udp, h.now);
    assert_eq!(
        h.events(),
        [UaEvent::Provisional {
            call,
            status: 180,
            sdp: None
        }]
    );
    let mut ok = response_to(&inv, 200, Some("agent1"));
    ok.headers.remove("Content-Length");
    ok.headers.push("Contact", "<sip:agent@192.0.2.50:5070>");
    ok.headers.push("Record-Route", "<sip:192.0.2.60;lr>");
    ok.set_body(Some("application/sdp"), SDP.as_bytes().to_vec());
    h.ua.handle_datagram(&ok.to_bytes(), agent, Transport::Udp, h.now);
    let acks = h.ua.poll_transmit().unwrap();
    assert_eq!(
        acks.to,
        "192.0.2.60:5060".parse().unwrap(),
        "via the Record-Route"
    );
    let Ok(Message::Request(ack)) = Message::parse(&acks.bytes) else {
        panic!()
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.route().len(), 1);
    assert_eq!(
        h.events(),
        [UaEvent::Answered {
            call,
            sdp: Some(SDP.as_bytes().to_vec())
        }]
    );
    // A retransmitted 200 is ACKed again, without a second event.
    h.ua.handle_datagram(&ok.to_bytes(), agent, Transport::Udp, h.now);
    assert_eq!(h.lines(), ["ACK sip:agent@192.0.2.50:5070 SIP/2.0"]);
    assert!(h.events().is_empty());
    h.ua.hangup(call, h.now).unwrap();
    assert_eq!(h.lines(), ["BYE sip:agent@192.0.2.50:5070 SIP/2.0"]);
}

#[test]
fn outbound_call_cancelled_before_answer() {
    let mut h = Harness::new();
    let call =
        h.ua.invite(
            Uri::parse("sip:agent@192.0.2.50").unwrap(),
            None,
            SDP.as_bytes().to_vec(),
            h.now,
        )
        .unwrap();
    let Some(Ok(Message::Request(inv))) = h.ua.poll_transmit().map(|t| Message::parse(&t.bytes))
    else {
        panic!()
    };
    h.ua.hangup(call, h.now).unwrap();
    assert!(
        h.out().is_empty(),
        "no CANCEL before a provisional response"
    );
    let agent: SocketAddr = "192.0.2.50:5060".parse().unwrap();
    let mut ringing = response_to(&inv, 180, Some("agent1"));
    ringing.headers.set("Content-Length", "0");
    h.ua.handle_datagram(&ringing.to_bytes(), agent, Transport::Udp, h.now);
    assert_eq!(h.lines(), ["CANCEL sip:agent@192.0.2.50 SIP/2.0"]);
    let mut terminated = response_to(&inv, 487, Some("agent1"));
    terminated.headers.set("Content-Length", "0");
    h.ua.handle_datagram(&terminated.to_bytes(), agent, Transport::Udp, h.now);
    assert_eq!(h.lines(), ["ACK sip:agent@192.0.2.50 SIP/2.0"]);
    assert_eq!(h.events(), [UaEvent::Failed { call, status: 487 }]);
}

#[test]
fn outbound_call_times_out_with_408() {
    let mut h = Harness::new();
    let call =
        h.ua.invite(
            Uri::parse("sip:agent@192.0.2.50").unwrap(),
            None,
            SDP.as_bytes().to_vec(),
            h.now,
        )
        .unwrap();
    h.out();
    let log = h.advance(Duration::from_secs(40));
    assert_eq!(log.len(), 6, "timer A retransmissions");
    assert_eq!(h.events(), [UaEvent::Failed { call, status: 408 }]);
    assert!(matches!(
        h.ua.invite(
            Uri::parse("sip:agent@example.com").unwrap(),
            None,
            vec![],
            h.now
        ),
        Err(UaError::Unroutable(_))
    ));
}

#[test]
fn retransmitted_2xx_to_our_reinvite_is_acked_without_a_second_event() {
    let mut h = Harness::new();
    let (call, _) = h.answered_call();
    h.ua.reinvite(call, SDP.as_bytes().to_vec(), h.now).unwrap();
    let out = h.out();
    let Message::Request(re) = &out[0] else {
        panic!()
    };
    let mut ok = response_to(re, 200, None);
    ok.headers.remove("Content-Length");
    ok.set_body(Some("application/sdp"), SDP.as_bytes().to_vec());
    for _ in 0..2 {
        h.ua.handle_datagram(&ok.to_bytes(), caller(), Transport::Udp, h.now);
        assert_eq!(h.lines(), ["ACK sip:alice@192.0.2.9:5062 SIP/2.0"]);
    }
    assert_eq!(h.events().len(), 1);
}

#[test]
fn call_over_tcp_needs_no_retransmissions() {
    let mut h = Harness::new();
    let text = invite("t1", "z9hG4bKtcp", 1, SDP).replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    h.ua.handle_datagram(text.as_bytes(), caller(), Transport::Tcp, h.now);
    let call = incoming(&h.events());
    h.ua.answer(call, SDP.as_bytes().to_vec(), h.now).unwrap();
    let sent: Vec<Transmit> = std::iter::from_fn(|| h.ua.poll_transmit()).collect();
    assert!(
        sent.iter()
            .all(|t| t.transport == Transport::Tcp && t.to == caller())
    );
    let contact = String::from_utf8_lossy(&sent[1].bytes).into_owned();
    assert!(
        contact.contains("Contact: <sip:vxp@127.0.0.1:5060;transport=tcp>"),
        "{contact}"
    );
    let log = h.advance(Duration::from_secs(20));
    assert!(log.is_empty(), "no 2xx retransmission over TCP: {log:?}");
}

#[test]
fn outbound_call_transcript() {
    let mut h = Harness::new();
    let call =
        h.ua.invite(
            Uri::parse("sip:agent@192.0.2.50").unwrap(),
            None,
            SDP.as_bytes().to_vec(),
            h.now,
        )
        .unwrap();
    let mut transcript = Vec::new();
    let invite = h.out().remove(0);
    transcript.push(String::from_utf8_lossy(&invite.to_bytes()).into_owned());
    let Message::Request(inv) = invite else {
        panic!()
    };
    let mut ok = response_to(&inv, 200, Some("agent1"));
    ok.headers.remove("Content-Length");
    ok.headers.push("Contact", "<sip:agent@192.0.2.50>");
    ok.set_body(Some("application/sdp"), SDP.as_bytes().to_vec());
    h.ua.handle_datagram(
        &ok.to_bytes(),
        "192.0.2.50:5060".parse().unwrap(),
        Transport::Udp,
        h.now,
    );
    h.ua.send_info(
        call,
        "application/dtmf-relay",
        b"Signal=5\r\nDuration=160\r\n".to_vec(),
        h.now,
    )
    .unwrap();
    h.ua.hangup(call, h.now).unwrap();
    for m in h.out() {
        transcript.push(String::from_utf8_lossy(&m.to_bytes()).into_owned());
    }
    insta::assert_snapshot!(transcript.join("\n----\n"));
}

#[test]
fn info_final_responses_are_reported_both_ways() {
    let mut h = Harness::new();
    let (call, _) = h.answered_call();
    for (status, expected) in [
        (
            200,
            UaEvent::RequestSucceeded {
                call,
                method: Method::Info,
            },
        ),
        (
            415,
            UaEvent::RequestFailed {
                call,
                method: Method::Info,
                status: 415,
            },
        ),
    ] {
        h.ua.send_info(
            call,
            "application/x-www-form-urlencoded;charset=utf-8",
            b"Action=GetData&Keyname1=k1".to_vec(),
            h.now,
        )
        .unwrap();
        let out = h.out();
        let Message::Request(info) = &out[0] else {
            panic!("the INFO")
        };
        assert_eq!(
            info.headers.first("Content-Type"),
            Some("application/x-www-form-urlencoded;charset=utf-8"),
            "the parameter is sent as given"
        );
        let mut resp = response_to(info, status, None);
        resp.headers.set("Content-Length", "0");
        h.ua.handle_datagram(&resp.to_bytes(), caller(), Transport::Udp, h.now);
        assert_eq!(h.events(), [expected]);
    }
}

#[test]
fn dialog_ids_name_the_replaces_value_from_the_peers_side() {
    let mut h = Harness::new();
    let agent: SocketAddr = "192.0.2.50:5070".parse().unwrap();
    let call =
        h.ua.invite_at(
            Uri::parse("sip:agent@agents.example.com").unwrap(),
            agent,
            Transport::Udp,
            None,
            SDP.as_bytes().to_vec(),
            h.now,
        )
        .unwrap();
    assert_eq!(h.ua.dialog_ids(call), None, "no dialog before the answer");
    let out = h.ua.poll_transmit().unwrap();
    assert_eq!(out.to, agent, "sent to the resolved address");
    let Ok(Message::Request(inv)) = Message::parse(&out.bytes) else {
        panic!()
    };
    assert_eq!(
        inv.uri.to_string(),
        "sip:agent@agents.example.com",
        "the Request-URI keeps the host name"
    );
    let mut ok = response_to(&inv, 200, Some("agent1"));
    ok.headers.remove("Content-Length");
    ok.headers.push("Contact", "<sip:agent@192.0.2.50:5070>");
    ok.set_body(Some("application/sdp"), SDP.as_bytes().to_vec());
    h.ua.handle_datagram(&ok.to_bytes(), agent, Transport::Udp, h.now);
    let ids = h.ua.dialog_ids(call).expect("a confirmed dialog");
    let ours = inv.header_from().unwrap().tag().unwrap().to_owned();
    assert_eq!(ids.remote_tag, "agent1");
    assert_eq!(ids.local_tag, ours);
    assert_eq!(
        ids.replaces(),
        format!("{};to-tag=agent1;from-tag={ours}", ids.call_id)
    );
}
