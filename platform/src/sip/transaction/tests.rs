use super::*;

fn addr() -> SocketAddr {
    "192.0.2.1:5060".parse().unwrap()
}

fn request(method: &str, branch: &str) -> Request {
    Request::parse(
        format!(
            "{method} sip:bob@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.9:5060;branch={branch}\r\nMax-Forwards: 70\r\nFrom: <sip:alice@192.0.2.9>;tag=a\r\nTo: <sip:bob@192.0.2.1>\r\nCall-ID: c1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap()
}

fn drain(tx: &mut Transactions) -> Vec<String> {
    std::iter::from_fn(|| tx.poll_transmit())
        .map(|t| {
            String::from_utf8_lossy(&t.bytes)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// Runs the clock from `start` to `end`, recording when each transmit goes out.
fn run(tx: &mut Transactions, start: Instant, end: Instant) -> Vec<(u128, String)> {
    let mut log = Vec::new();
    while let Some(t) = tx.poll_timeout() {
        if t > end {
            break;
        }
        tx.handle_timeout(t);
        for line in drain(tx) {
            log.push(((t - start).as_millis(), line));
        }
    }
    log
}

#[test]
fn invite_client_over_udp_doubles_timer_a_until_timer_b() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let key = tx
        .send_request(request("INVITE", "z9hG4bKa"), addr(), Transport::Udp, t0)
        .unwrap();
    assert_eq!(drain(&mut tx).len(), 1);
    let log = run(&mut tx, t0, t0 + Duration::from_secs(60));
    let times: Vec<u128> = log.iter().map(|(t, _)| *t).collect();
    assert_eq!(times, [500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(tx.poll_event(), Some(TxEvent::Timeout(key)));
    assert_eq!(tx.len(), (0, 0));
}

#[test]
fn invite_client_over_tcp_never_retransmits() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    tx.send_request(request("INVITE", "z9hG4bKa"), addr(), Transport::Tcp, t0)
        .unwrap();
    drain(&mut tx);
    let log = run(&mut tx, t0, t0 + Duration::from_secs(60));
    assert!(log.is_empty());
    assert!(matches!(tx.poll_event(), Some(TxEvent::Timeout(_))));
}

#[test]
fn non_invite_client_timer_e_caps_at_t2_and_f_times_out() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    tx.send_request(request("BYE", "z9hG4bKb"), addr(), Transport::Udp, t0)
        .unwrap();
    drain(&mut tx);
    let log = run(&mut tx, t0, t0 + Duration::from_secs(40));
    let times: Vec<u128> = log.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        [
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert!(matches!(tx.poll_event(), Some(TxEvent::Timeout(_))));
}

#[test]
fn non_2xx_final_is_acked_by_the_transaction_and_timer_d_ends_it() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let invite = request("INVITE", "z9hG4bKc");
    tx.send_request(invite.clone(), addr(), Transport::Udp, t0);
    drain(&mut tx);
    let busy = response_to(&invite, 486, Some("b"));
    tx.handle_response(busy.clone(), t0 + Duration::from_millis(10));
    assert_eq!(drain(&mut tx), ["ACK sip:bob@192.0.2.1 SIP/2.0"]);
    assert!(matches!(tx.poll_event(), Some(TxEvent::Response(_, r)) if r.status == 486));
    // A retransmitted 486 is answered with the same ACK and not reported again.
    tx.handle_response(busy, t0 + Duration::from_millis(600));
    assert_eq!(drain(&mut tx), ["ACK sip:bob@192.0.2.1 SIP/2.0"]);
    assert_eq!(tx.poll_event(), None);
    run(&mut tx, t0, t0 + Duration::from_secs(33));
    assert_eq!(tx.len(), (0, 0), "timer D");
}

#[test]
fn invite_server_sends_100_absorbs_retransmissions_and_retransmits_final_until_ack() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let invite = request("INVITE", "z9hG4bKd");
    let Incoming::New(key) = tx.handle_request(&invite, addr(), Transport::Udp, t0) else {
        panic!("new transaction expected");
    };
    assert_eq!(drain(&mut tx), ["SIP/2.0 100 Trying"]);
    assert_eq!(
        tx.handle_request(&invite, addr(), Transport::Udp, t0),
        Incoming::Retransmission
    );
    assert_eq!(drain(&mut tx), ["SIP/2.0 100 Trying"]);
    assert!(tx.send_response(&key, &response_to(&invite, 486, Some("x")), t0));
    assert_eq!(drain(&mut tx), ["SIP/2.0 486 Busy Here"]);
    let log = run(&mut tx, t0, t0 + Duration::from_millis(8000));
    let times: Vec<u128> = log.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        [500, 1500, 3500, 7500],
        "timer G: T1 doubling, capped at T2"
    );
    let mut ack = request("ACK", "z9hG4bKd");
    ack.headers.set("CSeq", "1 ACK");
    assert_eq!(
        tx.handle_request(&ack, addr(), Transport::Udp, t0 + Duration::from_secs(8)),
        Incoming::AckAbsorbed
    );
    assert!(run(&mut tx, t0, t0 + Duration::from_secs(30)).is_empty());
    assert_eq!(tx.len(), (0, 0), "timer I");
}

#[test]
fn timer_h_reports_a_missing_ack() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let invite = request("INVITE", "z9hG4bKe");
    let Incoming::New(key) = tx.handle_request(&invite, addr(), Transport::Udp, t0) else {
        panic!("new transaction expected");
    };
    tx.send_response(&key, &response_to(&invite, 603, Some("x")), t0);
    run(&mut tx, t0, t0 + Duration::from_secs(33));
    assert_eq!(tx.poll_event(), Some(TxEvent::NoAck(key)));
    assert_eq!(tx.len(), (0, 0));
}

#[test]
fn timer_j_keeps_non_invite_server_for_retransmissions() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let bye = request("BYE", "z9hG4bKf");
    let Incoming::New(key) = tx.handle_request(&bye, addr(), Transport::Udp, t0) else {
        panic!("new transaction expected");
    };
    assert!(drain(&mut tx).is_empty(), "no 100 for non-INVITE");
    tx.send_response(&key, &response_to(&bye, 200, Some("x")), t0);
    assert_eq!(drain(&mut tx), ["SIP/2.0 200 OK"]);
    tx.handle_request(&bye, addr(), Transport::Udp, t0 + Duration::from_secs(1));
    assert_eq!(drain(&mut tx), ["SIP/2.0 200 OK"]);
    tx.handle_timeout(t0 + Duration::from_millis(31_999));
    assert_eq!(tx.len(), (0, 1));
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(tx.len(), (0, 0), "timer J = 64*T1");
}

#[test]
fn timer_k_absorbs_final_retransmissions_for_t4() {
    let mut tx = Transactions::new(TimerConfig::default());
    let t0 = Instant::now();
    let bye = request("BYE", "z9hG4bKg");
    tx.send_request(bye.clone(), addr(), Transport::Udp, t0);
    drain(&mut tx);
    let ok = response_to(&bye, 200, Some("x"));
    tx.handle_response(ok.clone(), t0);
    assert!(matches!(tx.poll_event(), Some(TxEvent::Response(_, _))));
    tx.handle_response(ok, t0 + Duration::from_secs(1));
    assert_eq!(tx.poll_event(), None, "retransmitted final absorbed");
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    tx.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(tx.len(), (0, 0));
}

#[test]
fn configured_timers_scale_the_schedule() {
    let timers = TimerConfig {
        t1: Duration::from_millis(100),
        t2: Duration::from_millis(400),
        t4: Duration::from_millis(500),
    };
    let mut tx = Transactions::new(timers);
    let t0 = Instant::now();
    tx.send_request(request("OPTIONS", "z9hG4bKh"), addr(), Transport::Udp, t0);
    drain(&mut tx);
    let log = run(&mut tx, t0, t0 + Duration::from_secs(10));
    let times: Vec<u128> = log.iter().map(|(t, _)| *t).collect();
    assert_eq!(times[..5], [100, 300, 700, 1100, 1500]);
    assert!(matches!(tx.poll_event(), Some(TxEvent::Timeout(_))));
}
