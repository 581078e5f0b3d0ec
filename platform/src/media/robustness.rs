//! Mutation tests of every parser fed from the network or a fetched file:
//! thousands of corrupted variants of valid inputs must give a value or a
//! typed error, never a panic; and the jitter buffer must keep its order
//! guarantees under random reordering, duplication and loss.

use std::time::{Duration, Instant};

use super::audio::{self, RecordingFormat};
use super::jitter::{JitterConfig, Playout, RtpReceiver};
use super::rtcp;
use super::rtp::{RtpHeader, RtpPacket};
use crate::sdp::{Capabilities, LocalMedia, OfferAnswer, SessionDescription};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Flips, inserts, deletes or truncates a few bytes.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(4) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
            2 if !v.is_empty() => {
                let i = rng.below(v.len());
                v.remove(i);
            }
            _ => {
                let n = rng.below(v.len() + 1);
                v.truncate(n);
            }
        }
    }
    v
}

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 96 0 8 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\nm=video 5000 RTP/AVP 31\r\n";

#[test]
fn corrupted_sdp_never_panics() {
    let mut rng = Rng(0x5eed);
    let mut parsed = 0;
    for _ in 0..5000 {
        let bytes = mutate(&mut rng, OFFER.as_bytes());
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(sd) = SessionDescription::parse(&text) {
            parsed += 1;
            let mut oa = OfferAnswer::new(
                LocalMedia {
                    address: "127.0.0.1".parse().expect("literal"),
                    rtp_port: 20000,
                },
                Capabilities::default(),
                1,
            );
            if let Ok((answer, _)) = oa.handle_offer(&sd) {
                assert!(SessionDescription::parse(&answer.to_string()).is_ok());
            }
        }
    }
    // Most single-byte damage leaves a parsable description.
    assert!(parsed > 1000, "{parsed}");
}

#[test]
fn corrupted_rtp_and_rtcp_never_panic() {
    let mut rng = Rng(42);
    let mut pkt = Vec::new();
    RtpHeader {
        marker: true,
        payload_type: 0,
        sequence: 1,
        timestamp: 2,
        ssrc: 3,
    }
    .write(&[0xff; 20], &mut pkt);
    let mut report = Vec::new();
    rtcp::write_bye(&mut report, 9, "cname@host");
    let mut ok = 0;
    for _ in 0..5000 {
        ok += usize::from(RtpPacket::parse(&mutate(&mut rng, &pkt)).is_ok());
        ok += usize::from(rtcp::parse_compound(&mutate(&mut rng, &report)).is_ok());
    }
    assert!(ok > 0);
}

#[test]
fn corrupted_audio_files_never_panic() {
    let mut rng = Rng(7);
    let samples: Vec<i16> = (0..400).map(|i| (i * 50) as i16).collect();
    let files = [
        RecordingFormat::WavPcm16.encode(&samples),
        RecordingFormat::WavUlaw.encode(&samples),
    ];
    let mut decoded = 0;
    for _ in 0..1500 {
        for f in &files {
            if audio::decode(&mutate(&mut rng, f), Some("audio/wav"), None).is_ok() {
                decoded += 1;
            }
        }
    }
    assert!(decoded > 100, "{decoded}");
}

#[test]
fn jitter_buffer_plays_in_order_without_duplicates() {
    let mut rng = Rng(99);
    let t0 = Instant::now();
    let mut rx = RtpReceiver::new(JitterConfig::default(), t0);
    let mut played: Vec<u64> = Vec::new();
    let mut in_flight: Vec<u16> = Vec::new();
    let mut seq: u16 = 65000;
    for tick in 0..3000u64 {
        // Each tick the peer sends one packet; the network drops 5 %,
        // duplicates 5 % and holds some back for up to a few ticks.
        if rng.below(20) != 0 {
            in_flight.push(seq);
            if rng.below(20) == 0 {
                in_flight.push(seq);
            }
        }
        seq = seq.wrapping_add(1);
        let mut keep = Vec::new();
        for s in in_flight.drain(..) {
            if rng.below(3) == 0 {
                keep.push(s);
            } else {
                let mut b = Vec::new();
                RtpHeader {
                    marker: false,
                    payload_type: 0,
                    sequence: s,
                    timestamp: u32::from(s) * 160,
                    ssrc: 5,
                }
                .write(&[0; 160], &mut b);
                let p = RtpPacket::parse(&b).expect("built above");
                rx.handle_packet(&p, Some(0), t0 + Duration::from_millis(tick * 20));
            }
        }
        in_flight = keep;
        if let Playout::Packet(p) = rx.poll_frame() {
            played.push(p.sequence);
        }
    }
    assert!(played.windows(2).all(|w| w[0] < w[1]));
    assert!(played.len() > 2500, "{}", played.len());
    let s = rx.stats();
    assert!(s.duplicates > 0 && s.lost > 0);
}
