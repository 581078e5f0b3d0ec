//! One call's RTP stream: the negotiated codec, the sender and its DTMF,
//! the jitter buffer and DTMF receiver, symmetric RTP, and RTCP reports
//! (RFC 3550 §6, RFC 4733, RFC 4961 for symmetric RTP).
//!
//! ```text
//! let mut s = MediaStream::new(StreamConfig::new(negotiated, cname, ntp_now), SenderInit::random(), now);
//! // media tick, when s.next_send() is due (the timer wheel says so):
//! if let Some(t) = s.handle_send_tick(Some(&frame), now) { socket.send_to(&t.bytes, t.to) }
//! s.poll_received_frame(&mut samples);       // 20 ms of the caller, for recording/VAD
//! if let Some(t) = s.poll_rtcp(now) { rtcp_socket.send_to(&t.bytes, t.to) }
//! // socket reads:
//! s.handle_rtp(from, &datagram, now);  s.handle_rtcp(from, &datagram, now);
//! while let Some(ev) = s.poll_event() { /* Dtmf(d) → session.handle_dtmf(d) */ }
//! ```
//!
//! Symmetric RTP: the first packet from the peer fixes where we send
//! (whatever the SDP said: the peer may be behind NAT); later packets from
//! another address move it only if they carry the peer's SSRC.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::dtmf::{DtmfReceiver, DtmfSender};
use super::g711::Law;
use super::jitter::{JitterConfig, Playout, ReceptionStats, RtpReceiver};
use super::rtcp::{self, RtcpPacket, SenderInfo};
use super::rtp::RtpPacket;
use super::sender::{RtpSender, SenderInit};
use crate::sdp::NegotiatedMedia;

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Destination.
    pub to: SocketAddr,
    /// The packet.
    pub bytes: Vec<u8>,
}

/// Something the driver acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    /// An RFC 4733 key press.
    Dtmf(char),
    /// We now send to this address (symmetric RTP).
    Latched(SocketAddr),
    /// The peer sent RTCP BYE.
    Bye,
}

/// Stream settings.
#[derive(Debug, Clone)]
pub struct StreamConfig {
    /// The outcome of SDP negotiation.
    pub media: NegotiatedMedia,
    /// Our RTCP CNAME (e.g. `vxp@host`).
    pub cname: String,
    /// Jitter buffer settings.
    pub jitter: JitterConfig,
    /// Interval between RTCP reports (RFC 3550 §6.2: 5 s minimum).
    pub rtcp_interval: Duration,
    /// The NTP time (64-bit fixed point) at stream creation, for SRs.
    pub ntp_at_start: u64,
    /// Length of DTMF tones we send.
    pub dtmf_duration: Duration,
}

impl StreamConfig {
    /// Defaults around a negotiation: 5 s RTCP, 100 ms tones.
    pub fn new(media: NegotiatedMedia, cname: impl Into<String>, ntp_at_start: u64) -> Self {
        StreamConfig {
            media,
            cname: cname.into(),
            jitter: JitterConfig::default(),
            rtcp_interval: Duration::from_secs(5),
            ntp_at_start,
            dtmf_duration: Duration::from_millis(100),
        }
    }
}

/// The NTP timestamp (RFC 3550 §4) of a wall-clock time; the driver reads
/// the clock and passes the value in.
pub fn ntp_timestamp(t: SystemTime) -> u64 {
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET);
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    secs << 32 | frac
}

fn duration_to_ntp(d: Duration) -> u64 {
    (d.as_secs() << 32) | ((u64::from(d.subsec_nanos()) << 32) / 1_000_000_000)
}

/// A call's RTP/RTCP stream.
#[derive(Debug)]
pub struct MediaStream {
    config: StreamConfig,
    law: Law,
    start: Instant,
    remote_rtp: Option<SocketAddr>,
    remote_rtcp: Option<SocketAddr>,
    latched: bool,
    sender: RtpSender,
    dtmf_tx: DtmfSender,
    receiver: RtpReceiver,
    dtmf_rx: DtmfReceiver,
    next_send: Instant,
    next_rtcp: Instant,
    sent_since_report: bool,
    last_sr: Option<(u32, Instant)>,
    events: VecDeque<StreamEvent>,
    encoded: Vec<u8>,
}

impl MediaStream {
    /// A stream starting to send at `now`.
    pub fn new(config: StreamConfig, init: SenderInit, now: Instant) -> Self {
        let m = &config.media;
        MediaStream {
            law: Law::of(m.codec),
            start: now,
            remote_rtp: m.remote_rtp,
            remote_rtcp: m.remote_rtcp,
            latched: false,
            sender: RtpSender::new(init, m.payload_type, m.samples_per_packet()),
            dtmf_tx: DtmfSender::new(),
            receiver: RtpReceiver::new(config.jitter, now),
            dtmf_rx: DtmfReceiver::new(),
            next_send: now,
            next_rtcp: now + config.rtcp_interval,
            sent_since_report: false,
            last_sr: None,
            events: VecDeque::new(),
            encoded: Vec::with_capacity(160),
            config,
        }
    }

    /// Applies a new negotiation (re-INVITE: hold, resume, codec change).
    pub fn update(&mut self, media: NegotiatedMedia) {
        self.law = Law::of(media.codec);
        self.sender
            .reconfigure(media.payload_type, media.samples_per_packet());
        if media.remote_rtp != self.config.media.remote_rtp {
            self.remote_rtp = media.remote_rtp;
            self.remote_rtcp = media.remote_rtcp;
            self.latched = false;
        }
        self.config.media = media;
    }

    /// Samples per frame (ptime × 8).
    pub fn frame_samples(&self) -> usize {
        self.config.media.samples_per_packet() as usize
    }

    /// Packet time.
    pub fn ptime(&self) -> Duration {
        Duration::from_millis(u64::from(self.config.media.ptime))
    }

    /// When the next frame is due.
    pub fn next_send(&self) -> Instant {
        self.next_send
    }

    /// Where we send RTP now.
    pub fn remote(&self) -> Option<SocketAddr> {
        self.remote_rtp
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.sender.ssrc()
    }

    /// Reception statistics.
    pub fn stats(&self) -> ReceptionStats {
        self.receiver.stats()
    }

    /// Queues an RFC 4733 digit; false when telephone-event was not
    /// negotiated or `digit` is not a DTMF key (send it by SIP INFO then).
    pub fn queue_dtmf(&mut self, digit: char) -> bool {
        if self.config.media.telephone_event.is_none() {
            return false;
        }
        let samples = (self.config.dtmf_duration.as_millis() as u32).saturating_mul(8);
        self.dtmf_tx.queue_digit(digit, samples)
    }

    /// Sends one frame: `frame` (8 kHz samples of one ptime) or comfort
    /// silence when `None`; a DTMF event in progress takes the slot. The
    /// next send is one ptime after the previous one, not after `now`, so
    /// pacing does not drift.
    pub fn handle_send_tick(&mut self, frame: Option<&[i16]>, now: Instant) -> Option<Transmit> {
        let due = self.next_send;
        if now >= due + self.ptime() {
            // The driver stalled a whole frame or more: skip ahead rather
            // than burst, and move the timestamp over the frames not sent so
            // the peer's playout stays in step with the real time.
            let missed = (now - due).as_millis() / self.ptime().as_millis().max(1);
            for _ in 0..missed.min(500) {
                self.sender.skip_frame();
            }
            self.next_send = now + self.ptime();
        } else {
            self.next_send = due + self.ptime();
        }
        let to = match self.remote_rtp {
            Some(to) if self.config.media.direction.sends() => to,
            _ => {
                self.sender.skip_frame();
                return None;
            }
        };
        let n = self.frame_samples();
        let mut bytes = Vec::with_capacity(12 + n);
        if let Some(te) = self.config.media.telephone_event
            && self.dtmf_tx.is_active()
        {
            let ts = self.sender.timestamp();
            if let Some(p) = self.dtmf_tx.poll_packet(ts, n as u32) {
                self.sender.write_other(
                    te,
                    p.marker,
                    p.timestamp,
                    &p.payload.to_bytes(),
                    &mut bytes,
                );
                self.sender.skip_frame();
                self.sent_since_report = true;
                return Some(Transmit { to, bytes });
            }
        }
        match frame {
            Some(f) => {
                self.law.encode(&f[..f.len().min(n)], &mut self.encoded);
                self.encoded.resize(n, self.law.silence());
            }
            None => {
                self.encoded.clear();
                self.encoded.resize(n, self.law.silence());
            }
        }
        self.sender.write_audio(&self.encoded, &mut bytes);
        self.sent_since_report = true;
        Some(Transmit { to, bytes })
    }

    /// A datagram on the RTP port.
    pub fn handle_rtp(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) {
        if super::rtp::is_rtcp(datagram) {
            self.handle_rtcp(from, datagram, now);
            return;
        }
        let Ok(p) = RtpPacket::parse(datagram) else {
            tracing::debug!(%from, len = datagram.len(), "dropping a datagram that is not RTP");
            return;
        };
        let known = self.receiver.remote_ssrc();
        if self.remote_rtp != Some(from) {
            if self.latched && known != Some(p.ssrc) {
                tracing::debug!(%from, ssrc = p.ssrc, "dropping RTP from an unknown source");
                return;
            }
            self.remote_rtp = Some(from);
            self.remote_rtcp = Some(SocketAddr::new(from.ip(), from.port().wrapping_add(1)));
            self.events.push_back(StreamEvent::Latched(from));
        }
        self.latched = true;
        if Some(p.payload_type) == self.config.media.telephone_event
            && let Some(d) = self.dtmf_rx.handle_event(p.timestamp, p.payload)
        {
            self.events.push_back(StreamEvent::Dtmf(d.digit));
        }
        self.receiver
            .handle_packet(&p, Some(self.config.media.payload_type), now);
    }

    /// Decodes the next 20 ms (one ptime) of received audio into `out`:
    /// silence for a lost packet or a non-audio payload; false when
    /// nothing is playing (before the buffer fills, or the peer is silent).
    pub fn poll_received_frame(&mut self, out: &mut Vec<i16>) -> bool {
        let n = self.frame_samples();
        match self.receiver.poll_frame() {
            Playout::Packet(p) if p.payload_type == self.config.media.payload_type => {
                self.law.decode(&p.payload, out);
                out.resize(n, 0);
                true
            }
            Playout::Packet(_) | Playout::Lost => {
                out.clear();
                out.resize(n, 0);
                true
            }
            Playout::Empty => false,
        }
    }

    /// A datagram on the RTCP port.
    pub fn handle_rtcp(&mut self, from: SocketAddr, datagram: &[u8], now: Instant) {
        let Ok(packets) = rtcp::parse_compound(datagram) else {
            tracing::debug!(%from, "dropping malformed RTCP");
            return;
        };
        for p in packets {
            match p {
                RtcpPacket::SenderReport { info, .. } => {
                    self.last_sr = Some(((info.ntp >> 16) as u32, now));
                }
                RtcpPacket::Bye(ssrcs)
                    if ssrcs
                        .iter()
                        .any(|s| Some(*s) == self.receiver.remote_ssrc()) =>
                {
                    self.events.push_back(StreamEvent::Bye);
                }
                _ => {}
            }
        }
    }

    /// The RTCP report due at `now`, if any.
    pub fn poll_rtcp(&mut self, now: Instant) -> Option<Transmit> {
        if now < self.next_rtcp {
            return None;
        }
        self.next_rtcp = now + self.config.rtcp_interval;
        let to = self.remote_rtcp?;
        let mut bytes = Vec::with_capacity(128);
        let info = self.sent_since_report.then(|| SenderInfo {
            ntp: self
                .config
                .ntp_at_start
                .wrapping_add(duration_to_ntp(now - self.start)),
            rtp_timestamp: self.sender.timestamp(),
            packet_count: self.sender.packets_sent(),
            octet_count: self.sender.octets_sent(),
        });
        let (lsr, dlsr) = match self.last_sr {
            Some((mid, at)) => (mid, (duration_to_ntp(now - at) >> 16) as u32),
            None => (0, 0),
        };
        let block = self.receiver.report_block(lsr, dlsr);
        rtcp::write_report(
            &mut bytes,
            self.sender.ssrc(),
            info.as_ref(),
            block.as_ref(),
            &self.config.cname,
        );
        self.sent_since_report = false;
        Some(Transmit { to, bytes })
    }

    /// The RTCP BYE to send when the call ends.
    pub fn bye(&self) -> Option<Transmit> {
        let to = self.remote_rtcp?;
        let mut bytes = Vec::new();
        rtcp::write_bye(&mut bytes, self.sender.ssrc(), &self.config.cname);
        Some(Transmit { to, bytes })
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<StreamEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::EventPayload;
    use crate::media::rtp::RtpHeader;
    use crate::sdp::{Codec, Direction};

    fn media(remote: &str) -> NegotiatedMedia {
        let r: SocketAddr = remote.parse().unwrap();
        NegotiatedMedia {
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            ptime: 20,
            direction: Direction::SendRecv,
            remote_rtp: Some(r),
            remote_rtcp: Some(SocketAddr::new(r.ip(), r.port() + 1)),
        }
    }

    fn stream(now: Instant) -> MediaStream {
        MediaStream::new(
            StreamConfig::new(media("192.0.2.1:4000"), "vxp@test", 0),
            SenderInit {
                ssrc: 1,
                sequence: 100,
                timestamp: 1000,
            },
            now,
        )
    }

    #[test]
    fn sends_paced_frames_with_dtmf_in_between() {
        let t0 = Instant::now();
        let mut s = stream(t0);
        let mut out = Vec::new();
        assert!(s.queue_dtmf('5'));
        let mut now = t0;
        for _ in 0..12 {
            assert!(s.next_send() <= now);
            let t = s.handle_send_tick(Some(&[0i16; 160]), now).unwrap();
            assert_eq!(t.to, "192.0.2.1:4000".parse().unwrap());
            let p = RtpPacket::parse(&t.bytes).unwrap();
            out.push((p.payload_type, p.sequence, p.timestamp, p.marker));
            now += Duration::from_millis(20);
        }
        assert_eq!(s.next_send(), t0 + Duration::from_millis(240));
        // 100 ms tone: 5 updates + 2 more end packets (the fifth is the
        // first end), then audio resumes with a marker, timestamps having
        // advanced.
        assert_eq!(out[0], (101, 100, 1000, true));
        assert!(
            out[1..7]
                .iter()
                .all(|&(pt, _, ts, m)| pt == 101 && ts == 1000 && !m)
        );
        assert_eq!(out[7], (0, 107, 1000 + 7 * 160, true));
        assert_eq!(out[8], (0, 108, 1000 + 8 * 160, false));
        let seqs: Vec<u16> = out.iter().map(|o| o.1).collect();
        assert_eq!(seqs, (100..112).collect::<Vec<_>>());
    }

    #[test]
    fn a_stalled_tick_skips_ahead_with_the_timestamp() {
        let t0 = Instant::now();
        let mut s = stream(t0);
        let ts = |t: &Transmit| RtpPacket::parse(&t.bytes).unwrap().timestamp;
        let first = s.handle_send_tick(None, t0).unwrap();
        assert_eq!(ts(&first), 1000);
        // The next tick comes 100 ms late instead of at 20 ms.
        let late = t0 + Duration::from_millis(120);
        let t = s.handle_send_tick(None, late).unwrap();
        assert_eq!(s.next_send(), late + Duration::from_millis(20));
        let p = RtpPacket::parse(&t.bytes).unwrap();
        assert_eq!(p.timestamp, 1000 + 6 * 160);
        assert!(p.marker);
    }

    #[test]
    fn receives_audio_dtmf_and_latches() {
        let t0 = Instant::now();
        let mut s = stream(t0);
        let nat: SocketAddr = "198.51.100.9:5555".parse().unwrap();
        let mut seq = 0u16;
        let mut send = |s: &mut MediaStream, pt: u8, ts: u32, payload: &[u8], from: SocketAddr| {
            let mut b = Vec::new();
            RtpHeader {
                marker: false,
                payload_type: pt,
                sequence: seq,
                timestamp: ts,
                ssrc: 42,
            }
            .write(payload, &mut b);
            seq += 1;
            s.handle_rtp(from, &b, t0);
        };
        for i in 0..3 {
            send(&mut s, 0, i * 160, &[0x80; 160], nat);
        }
        for end in [false, true, true, true] {
            let ev = EventPayload {
                event: 11,
                end,
                volume: 10,
                duration: 400,
            };
            send(&mut s, 101, 480, &ev.to_bytes(), nat);
        }
        // A stray packet from elsewhere with another SSRC does not move us.
        let mut b = Vec::new();
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: 1,
            timestamp: 0,
            ssrc: 999,
        }
        .write(&[0; 160], &mut b);
        s.handle_rtp("203.0.113.1:1".parse().unwrap(), &b, t0);
        let events: Vec<_> = std::iter::from_fn(|| s.poll_event()).collect();
        assert_eq!(
            events,
            vec![StreamEvent::Latched(nat), StreamEvent::Dtmf('#')]
        );
        assert_eq!(s.remote(), Some(nat));
        let mut frame = Vec::new();
        assert!(s.poll_received_frame(&mut frame));
        assert_eq!(frame.len(), 160);
        assert!(frame.iter().all(|&x| x == 32124));
        // Truncated garbage is ignored.
        s.handle_rtp(nat, &[0x80, 0], t0);
        s.handle_rtcp(nat, &[0x80, 200, 0, 9], t0);
    }

    /// The RTP of sipp's shipped `dtmf_2833_1.pcap` and `dtmf_2833_2.pcap`
    /// (keys 1 and 2, payload type 101; the three end packets repeat the
    /// sequence number).
    const SIPP_DTMF: [&str; 20] = [
        "80e51f30000033e00e05384e010a0000",
        "80651f31000033e00e05384e010a0140",
        "80651f32000033e00e05384e010a0280",
        "80651f33000033e00e05384e010a03c0",
        "80651f34000033e00e05384e010a0500",
        "80651f35000033e00e05384e010a0640",
        "80651f36000033e00e05384e010a0780",
        "80651f37000033e00e05384e018a08c0",
        "80651f37000033e00e05384e018a08c0",
        "80651f37000033e00e05384e018a08c0",
        "80e51f6a00005aa00e05384e020a0000",
        "80651f6b00005aa00e05384e020a0140",
        "80651f6c00005aa00e05384e020a0280",
        "80651f6d00005aa00e05384e020a03c0",
        "80651f6e00005aa00e05384e020a0500",
        "80651f6f00005aa00e05384e020a0640",
        "80651f7000005aa00e05384e020a0780",
        "80651f7100005aa00e05384e028a08c0",
        "80651f7100005aa00e05384e028a08c0",
        "80651f7100005aa00e05384e028a08c0",
    ];

    #[test]
    fn sipp_rfc4733_capture_gives_two_digits() {
        let t0 = Instant::now();
        let mut s = stream(t0);
        let from: SocketAddr = "192.0.2.1:4000".parse().unwrap();
        for hex in SIPP_DTMF {
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            s.handle_rtp(from, &bytes, t0);
        }
        let digits: String = std::iter::from_fn(|| s.poll_event())
            .filter_map(|e| match e {
                StreamEvent::Dtmf(d) => Some(d),
                _ => None,
            })
            .collect();
        assert_eq!(digits, "12");
        assert_eq!(s.stats().duplicates, 4);
    }

    #[test]
    fn hold_sends_nothing_and_rtcp_reports() {
        let t0 = Instant::now();
        let mut s = stream(t0);
        s.handle_send_tick(None, t0).unwrap();
        let mut held = media("192.0.2.1:4000");
        held.direction = Direction::RecvOnly;
        s.update(held);
        assert_eq!(
            s.handle_send_tick(None, t0 + Duration::from_millis(20)),
            None
        );
        assert_eq!(s.poll_rtcp(t0 + Duration::from_secs(1)), None);
        let report = s.poll_rtcp(t0 + Duration::from_secs(5)).unwrap();
        assert_eq!(report.to, "192.0.2.1:4001".parse().unwrap());
        let pkts = rtcp::parse_compound(&report.bytes).unwrap();
        assert!(matches!(
            pkts[0],
            RtcpPacket::SenderReport { ssrc: 1, info, .. } if info.packet_count == 1 && info.octet_count == 160
        ));
        let bye = s.bye().unwrap();
        assert!(
            rtcp::parse_compound(&bye.bytes)
                .unwrap()
                .contains(&RtcpPacket::Bye(vec![1]))
        );
    }

    #[test]
    fn ntp_conversion() {
        let t = UNIX_EPOCH + Duration::new(1, 500_000_000);
        assert_eq!(ntp_timestamp(t), (2_208_988_801u64 << 32) | 0x8000_0000);
    }
}
