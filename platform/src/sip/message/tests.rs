use super::*;
use crate::sip::uri::Scheme;

const INVITE: &[u8] = include_bytes!("../testdata/invite.sip");

fn request(extra: &str, ruri: &str) -> String {
    format!(
        "INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\n{extra}From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
}

#[test]
fn parses_a_real_invite_with_sdp() {
    let r = Request::parse(INVITE).unwrap();
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.uri.user.as_deref(), Some("8005551212"));
    assert_eq!(
        r.uri.param("voicexml"),
        Some(Some("http://apps.example.com/start.vxml"))
    );
    let via = r.top_via().unwrap();
    assert_eq!(via.branch(), Some("z9hG4bK776asdhds"));
    assert_eq!(via.rport(), Some(None));
    assert_eq!(r.header_from().unwrap().tag(), Some("1928301774"));
    assert_eq!(
        r.header_from().unwrap().display.as_deref(),
        Some("Alice Caller")
    );
    assert_eq!(r.header_to().unwrap().tag(), None);
    assert_eq!(r.call_id(), Some("a84b4c76e66710@pc33.atlanta.example.com"));
    assert_eq!(r.cseq().unwrap().seq, 314159);
    assert_eq!(r.max_forwards(), Some(70));
    assert_eq!(r.content_type().as_deref(), Some("application/sdp"));
    assert_eq!(
        r.record_route().len(),
        2,
        "comma-joined Record-Route splits"
    );
    assert_eq!(
        r.contact().unwrap().param("+sip.instance"),
        Some(Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"))
    );
    assert!(r.body.starts_with(b"v=0\r\n"));
    assert!(r.body.ends_with(b"a=rtcp:49171 IN IP4 192.0.2.10\r\n"));
    assert_eq!(
        r.headers.first("X-Custom-Data"),
        Some("account=12345;segment=gold, priority=high"),
        "unknown headers are kept verbatim, commas and all"
    );
}

#[test]
fn round_trips_untouched_messages_byte_for_byte() {
    let r = Message::parse(INVITE).unwrap();
    let printed = r.to_bytes();
    // The only normalization is the comma-joined Record-Route becoming two fields.
    let expected = String::from_utf8_lossy(INVITE).replace(
        "Record-Route: <sip:proxy1.example.com;lr>, <sip:proxy2.example.com;lr>",
        "Record-Route: <sip:proxy1.example.com;lr>\r\nRecord-Route: <sip:proxy2.example.com;lr>",
    );
    assert_eq!(String::from_utf8_lossy(&printed), expected);
    assert_eq!(Message::parse(&printed).unwrap(), r);
}

#[test]
fn folded_header_lines_are_joined() {
    let r = Request::parse(
        request(
            "Subject: I know you're there,\r\n  pick up the phone\r\n\tand talk to me!\r\n",
            "sip:1@h",
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        r.headers.first("subject"),
        Some("I know you're there, pick up the phone and talk to me!")
    );
}

#[test]
fn comma_joined_via_becomes_two_vias() {
    let r = Request::parse(
        request(
            "Via: SIP/2.0/UDP a:5060;branch=z9hG4bKa, SIP/2.0/TCP [::1];branch=z9hG4bKb\r\n",
            "sip:1@h",
        )
        .as_bytes(),
    )
    .unwrap();
    let vias = r.vias();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[1].host, "a");
    assert_eq!(vias[2].transport, "TCP");
    assert_eq!(vias[2].host, "[::1]");
    assert_eq!(vias[2].branch(), Some("z9hG4bKb"));
}

#[test]
fn tel_request_uri_with_a_huge_number() {
    let r = Request::parse(request("", "tel:+123456789012345678901234567890").as_bytes()).unwrap();
    assert_eq!(r.uri.scheme, Scheme::Tel);
    assert_eq!(
        r.uri.user.as_deref(),
        Some("+123456789012345678901234567890")
    );
}

#[test]
fn compact_headers_are_understood_and_kept() {
    let text = "INVITE sip:1@h SIP/2.0\r\nv: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\ni: x@y\r\nCSeq: 1 INVITE\r\nm: <sip:a@1.2.3.4>\r\nc: application/sdp\r\nk: timer\r\ns: subj\r\nl: 5\r\n\r\nv=0\r\n";
    let r = Request::parse(text.as_bytes()).unwrap();
    assert_eq!(r.call_id(), Some("x@y"));
    assert_eq!(r.header_from().unwrap().tag(), Some("1"));
    assert_eq!(r.contact().unwrap().uri.host, "1.2.3.4");
    assert_eq!(r.content_type().as_deref(), Some("application/sdp"));
    assert_eq!(r.headers.first("Supported"), Some("timer"));
    assert_eq!(r.headers.first("Subject"), Some("subj"));
    assert_eq!(r.body, b"v=0\r\n".to_vec(), "l: 5 takes the body");
    assert!(String::from_utf8_lossy(&r.to_bytes()).starts_with("INVITE sip:1@h SIP/2.0\r\nv: SIP"));
}

#[test]
fn ipv6_hosts_everywhere() {
    let r = Request::parse(
        "OPTIONS sip:[2001:db8::2]:5060 SIP/2.0\r\nVia: SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bK1\r\nFrom: <sip:a@[2001:db8::1]>;tag=1\r\nTo: <sip:[2001:db8::2]>\r\nCall-ID: 1\r\nCSeq: 2 OPTIONS\r\nContact: <sip:a@[2001:db8::1]:5062>\r\n\r\n"
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(r.uri.host, "[2001:db8::2]");
    assert_eq!(r.top_via().unwrap().port, Some(5062));
    assert_eq!(r.contact().unwrap().uri.port, Some(5062));
}

#[test]
fn responses_parse() {
    let text = "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
    let r = Response::parse(text.as_bytes()).unwrap();
    assert_eq!(r.status, 180);
    assert_eq!(r.reason, "Ringing");
    assert_eq!(r.header_to().unwrap().tag(), Some("2"));
    assert_eq!(String::from_utf8_lossy(&r.to_bytes()), text);
}

#[test]
fn malformed_messages_are_typed_errors() {
    type Check = fn(&ParseError) -> bool;
    let cases: Vec<(String, Check)> = vec![
        (request("this line has no colon\r\n", "sip:1@h"), |e| {
            matches!(e, ParseError::HeaderLine(_))
        }),
        (
            request("", "sip:1@h").replace("CSeq: 1 INVITE", "CSeq: one INVITE"),
            |e| matches!(e, ParseError::Header { .. }),
        ),
        (
            request("", "sip:1@h").replace("Call-ID: x@y\r\n", ""),
            |e| matches!(e, ParseError::Missing("Call-ID")),
        ),
        (
            request("", "sip:1@h").replace("Content-Length: 0", "Content-Length: abc"),
            |e| matches!(e, ParseError::ContentLength(_)),
        ),
        (
            request("", "sip:1@h").replace("Content-Length: 0", "Content-Length: 10"),
            |e| {
                matches!(
                    e,
                    ParseError::BodyTruncated {
                        declared: 10,
                        available: 0
                    }
                )
            },
        ),
        (
            request("", "sip:1@h").replace(" SIP/2.0\r\n", " SIP/3.0\r\n"),
            |e| matches!(e, ParseError::StartLine(_)),
        ),
        (request("", "sip:1@[::1"), |e| {
            matches!(e, ParseError::Uri(_))
        }),
        (request("", "sip:1@h").replace("\r\n\r\n", "\r\n"), |e| {
            matches!(e, ParseError::Incomplete)
        }),
        ("SIP/2.0 99 Odd\r\nVia: SIP/2.0/UDP h\r\n\r\n".into(), |e| {
            matches!(e, ParseError::StartLine(_))
        }),
        (
            request("", "sip:1@h").replace("CSeq: 1 INVITE", "CSeq: 1 BYE"),
            |e| matches!(e, ParseError::Header { .. }),
        ),
    ];
    for (text, check) in cases {
        let err = Message::parse(text.as_bytes()).unwrap_err();
        assert!(check(&err), "{err:?} for {text:?}");
    }
    assert_eq!(
        Message::parse(&[0xff; 10]).unwrap_err(),
        ParseError::Incomplete
    );
    let mut huge = request("", "sip:1@h").into_bytes();
    huge.resize(MAX_MESSAGE_SIZE + 1, b'x');
    assert_eq!(Message::parse(&huge).unwrap_err(), ParseError::TooLarge);
}

/// A fuzz-style sweep: thousands of mutations of real messages (bit flips,
/// byte insertions and deletions, truncations, spliced delimiters) must
/// each parse or fail with an error, never panic.
#[test]
fn mutated_messages_never_panic() {
    let seeds: Vec<Vec<u8>> = vec![
        INVITE.to_vec(),
        request("Subject: a\r\n b\r\n", "tel:+1;phone-context=x").into_bytes(),
        b"SIP/2.0 200 OK\r\nv: SIP/2.0/TCP [::1]:5;branch=z9hG4bK1;rport=5, SIP/2.0/UDP h\r\nf: \"q\\\"x\" <sip:a@b>;tag=1\r\nt: sip:c@d;tag=2\r\ni: x\r\nCSeq: 1 INVITE\r\nl: 2\r\n\r\nok".to_vec(),
    ];
    let specials: &[u8] = b"\r\n:;,<>\"[]@? \t=/";
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut parsed = 0;
    for round in 0..20_000 {
        let mut m = seeds[round % seeds.len()].clone();
        for _ in 0..(1 + next() % 4) {
            let len = m.len().max(1);
            let at = (next() as usize) % len;
            match next() % 5 {
                0 if !m.is_empty() => {
                    let i = at.min(m.len() - 1);
                    m[i] ^= 1 << (next() % 8);
                }
                1 => m.insert(
                    at.min(m.len()),
                    specials[(next() as usize) % specials.len()],
                ),
                2 if !m.is_empty() => {
                    m.remove(at.min(m.len() - 1));
                }
                3 => m.truncate(at),
                _ => {
                    let b = (next() % 256) as u8;
                    m.insert(at.min(m.len()), b);
                }
            }
        }
        if let Ok(msg) = Message::parse(&m) {
            parsed += 1;
            // Whatever parses prints back into something that parses the same way.
            let again = Message::parse(&msg.to_bytes()).unwrap();
            // Printing adds a missing Content-Length; nothing else changes.
            let fields = |m: &Message| {
                m.headers()
                    .iter()
                    .filter(|h| !h.is("Content-Length"))
                    .cloned()
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                fields(&again),
                fields(&msg),
                "{:?}",
                String::from_utf8_lossy(&m)
            );
            if let Message::Request(r) = &msg {
                let _ = (
                    r.vias(),
                    r.record_route(),
                    r.contact(),
                    r.cseq(),
                    r.max_forwards(),
                );
            }
        }
    }
    assert!(
        parsed > 1000,
        "mutations should not all be fatal ({parsed})"
    );
}
