//! SIP message layer speed: parsing a 1.2 KB INVITE with SDP (the message
//! every call starts with), printing it back, and the core handling it.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use vxp_platform::sip::message::{Message, SipHeaders};
use vxp_platform::sip::transaction::Transport;
use vxp_platform::sip::ua::{UaConfig, UaEvent, UserAgent};

const INVITE: &[u8] = include_bytes!("../src/sip/testdata/invite.sip");

fn parse(c: &mut Criterion) {
    assert_eq!(INVITE.len(), 1225);
    c.bench_function("parse INVITE 1.2 KB with SDP", |b| {
        b.iter(|| Message::parse(black_box(INVITE)).expect("the sample parses"))
    });
    c.bench_function("parse INVITE + typed Via/From/To/CSeq/Contact", |b| {
        b.iter(|| {
            let Ok(Message::Request(r)) = Message::parse(black_box(INVITE)) else {
                unreachable!("the sample is a request")
            };
            black_box((
                r.top_via(),
                r.header_from(),
                r.header_to(),
                r.cseq(),
                r.contact(),
            ))
        })
    });
    let parsed = Message::parse(INVITE).expect("the sample parses");
    c.bench_function("print INVITE", |b| b.iter(|| black_box(&parsed).to_bytes()));
}

fn answer(c: &mut Criterion) {
    let from = "192.0.2.10:5060".parse().expect("literal address");
    c.bench_function("core: INVITE in, IncomingCall + 100 + 180 + 486 out", |b| {
        let mut ua = UserAgent::new(UaConfig::default());
        let mut n = 0u64;
        b.iter(|| {
            n += 1;
            let now = Instant::now();
            let text = String::from_utf8_lossy(INVITE)
                .replace("a84b4c76e66710", &n.to_string())
                .replace("z9hG4bK776asdhds", &format!("z9hG4bK{n}"));
            ua.handle_datagram(text.as_bytes(), from, Transport::Udp, now);
            let Some(UaEvent::IncomingCall(call)) = ua.poll_event() else {
                unreachable!("the sample is a new call")
            };
            ua.ring(call.call, 180, None, now).expect("call exists");
            ua.reject(call.call, 486, now).expect("call exists");
            while ua.poll_transmit().is_some() {}
            black_box(ua.call_count())
        })
    });
}

criterion_group!(benches, parse, answer);
criterion_main!(benches);
