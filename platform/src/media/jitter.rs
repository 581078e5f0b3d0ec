//! The receiving side of one RTP stream: a jitter buffer and the reception
//! statistics of RFC 3550 Appendix A.8 (sequence validation with wrap
//! counting, loss, interarrival jitter) for RTCP receiver reports.
//!
//! ```text
//! rx.handle_packet(&packet, now);           // on each datagram (any order)
//! match rx.poll_frame() { ... }             // once per ptime, from the media tick
//! ```
//!
//! The buffer starts playing once it holds `target_depth` packets, gives
//! packets out in sequence order, reports a gap as [`Playout::Lost`], drops
//! duplicates and packets that arrive after their turn, and re-buffers after
//! an underrun. There is no probation period (A.8 `MIN_SEQUENTIAL`): the
//! source was negotiated by SDP, so its first packet is played; a change of
//! SSRC resets the stream.

use std::collections::BTreeMap;
use std::time::Instant;

use super::rtcp::ReportBlock;
use super::rtp::RtpPacket;

/// A.8 `MAX_DROPOUT`: a forward jump larger than this is a restart.
const MAX_DROPOUT: u16 = 3000;
/// A.8 `MAX_MISORDER`.
const MAX_MISORDER: u16 = 100;

/// A packet handed out by the buffer, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferedPacket {
    /// Extended sequence number (cycles × 65536 + sequence).
    pub sequence: u64,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Payload type.
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

/// What the buffer gives for one frame time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// The next packet.
    Packet(BufferedPacket),
    /// The packet due now is missing (lost or still late): play
    /// concealment (silence) for one frame.
    Lost,
    /// Nothing to play (not yet started, or underrun while the peer is
    /// silent or holding).
    Empty,
}

/// Reception statistics (RFC 3550 A.8 and A.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReceptionStats {
    /// Packets received (valid, not duplicates).
    pub received: u64,
    /// Cumulative packets lost (expected − received; negative with duplicates
    /// counted by the peer).
    pub lost: i64,
    /// Extended highest sequence number received.
    pub highest_seq: u64,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Packets dropped because they arrived after their playout time.
    pub late: u64,
    /// Frames played as lost.
    pub concealed: u64,
}

/// Receiver configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// RTP clock rate (8000 for G.711).
    pub clock_rate: u32,
    /// Packets buffered before playout starts.
    pub target_depth: usize,
    /// Packets kept at most; older ones are dropped beyond this.
    pub max_depth: usize,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            clock_rate: 8000,
            target_depth: 3,
            max_depth: 50,
        }
    }
}

/// Jitter buffer and statistics for one remote source.
#[derive(Debug, Clone)]
pub struct RtpReceiver {
    config: JitterConfig,
    epoch: Instant,
    ssrc: Option<u32>,
    base_seq: u64,
    max_seq: u64,
    bad_seq: Option<u16>,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    last_transit: Option<i64>,
    /// Bit `i` set: sequence `max_seq - i` was received (duplicate detection).
    recent: u128,
    /// Jitter × 16, as in A.8, to keep integer arithmetic exact.
    jitter16: i64,
    buffer: BTreeMap<u64, BufferedPacket>,
    next_play: Option<u64>,
    playing: bool,
    stats: ReceptionStats,
}

impl RtpReceiver {
    /// A receiver; `epoch` is any fixed instant (arrival times are measured
    /// from it).
    pub fn new(config: JitterConfig, epoch: Instant) -> Self {
        RtpReceiver {
            config,
            epoch,
            ssrc: None,
            base_seq: 0,
            max_seq: 0,
            bad_seq: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            last_transit: None,
            recent: 0,
            jitter16: 0,
            buffer: BTreeMap::new(),
            next_play: None,
            playing: false,
            stats: ReceptionStats::default(),
        }
    }

    /// The remote SSRC, once a packet arrived.
    pub fn remote_ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// Packets waiting in the buffer.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Current statistics.
    pub fn stats(&self) -> ReceptionStats {
        let expected = self.max_seq + 1 - self.base_seq;
        ReceptionStats {
            received: self.received,
            lost: if self.ssrc.is_some() {
                expected as i64 - self.received as i64
            } else {
                0
            },
            highest_seq: self.max_seq.saturating_sub(65536),
            jitter: (self.jitter16 >> 4) as u32,
            ..self.stats
        }
    }

    fn restart(&mut self, ssrc: u32, seq: u16) {
        let stats = self.stats;
        *self = RtpReceiver::new(self.config, self.epoch);
        self.stats = ReceptionStats {
            duplicates: stats.duplicates,
            late: stats.late,
            concealed: stats.concealed,
            ..ReceptionStats::default()
        };
        self.ssrc = Some(ssrc);
        // Keep the extended numbers of a restarted stream above 2^16 so a
        // reordered packet just before the start still has a number.
        self.base_seq = 65536 + u64::from(seq);
        self.max_seq = self.base_seq;
    }

    /// Feeds a received packet (jitter is measured only for `audio_pt`
    /// packets, since events carry their start time as timestamp).
    pub fn handle_packet(&mut self, p: &RtpPacket<'_>, audio_pt: Option<u8>, now: Instant) {
        if self.ssrc != Some(p.ssrc) {
            self.restart(p.ssrc, p.sequence);
        } else {
            let udelta = p.sequence.wrapping_sub(self.max_seq as u16);
            if udelta == 0 || udelta > u16::MAX - MAX_MISORDER {
                // A duplicate or a reordered packet: sorted out below.
            } else if udelta < MAX_DROPOUT {
                self.advance(u64::from(udelta));
            } else if self.bad_seq == Some(p.sequence) {
                // Two sequential packets after a big jump: the peer restarted.
                self.restart(p.ssrc, p.sequence);
            } else {
                self.bad_seq = Some(p.sequence.wrapping_add(1));
                return;
            }
        }
        let back = u64::from((self.max_seq as u16).wrapping_sub(p.sequence));
        if back > self.max_seq - self.base_seq {
            // Older than the first packet of the stream.
            self.stats.late += 1;
            return;
        }
        let ext = self.max_seq - back;
        if back < 128 {
            let bit = 1u128 << back;
            if self.recent & bit != 0 {
                self.stats.duplicates += 1;
                return;
            }
            self.recent |= bit;
        }
        self.received += 1;
        if self.next_play.is_some_and(|n| ext < n) {
            self.stats.late += 1;
            return;
        }
        if audio_pt.is_none_or(|pt| pt == p.payload_type) {
            self.update_jitter(p.timestamp, now);
        }
        self.buffer.insert(
            ext,
            BufferedPacket {
                sequence: ext,
                timestamp: p.timestamp,
                payload_type: p.payload_type,
                marker: p.marker,
                payload: p.payload.to_vec(),
            },
        );
        while self.buffer.len() > self.config.max_depth {
            self.buffer.pop_first();
            self.stats.late += 1;
        }
    }

    fn advance(&mut self, d: u64) {
        self.recent = if d >= 128 { 0 } else { self.recent << d };
        self.max_seq += d;
    }

    fn update_jitter(&mut self, ts: u32, now: Instant) {
        let arrival = now.saturating_duration_since(self.epoch).as_nanos() as i128
            * i128::from(self.config.clock_rate)
            / 1_000_000_000;
        let transit = (arrival as i64).wrapping_sub(i64::from(ts));
        if let Some(last) = self.last_transit {
            // Timestamps wrap at 2^32: take the difference modulo 2^32.
            let d = i64::from((transit.wrapping_sub(last) as u32) as i32).abs();
            self.jitter16 += d - ((self.jitter16 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    /// The next frame to play; call once per packet time.
    pub fn poll_frame(&mut self) -> Playout {
        if !self.playing {
            if self.buffer.len() < self.config.target_depth.max(1) {
                return Playout::Empty;
            }
            self.playing = true;
            let first = *self.buffer.keys().next().expect("buffer is not empty");
            self.next_play = Some(self.next_play.map_or(first, |n| n.max(first)));
        }
        let Some(next) = self.next_play else {
            return Playout::Empty;
        };
        if let Some(p) = self.buffer.remove(&next) {
            self.next_play = Some(next + 1);
            return Playout::Packet(p);
        }
        if self.buffer.is_empty() {
            self.playing = false;
            return Playout::Empty;
        }
        self.next_play = Some(next + 1);
        self.stats.concealed += 1;
        Playout::Lost
    }

    /// A reception report block for RTCP (A.3), updating the interval
    /// counters used for the fraction lost.
    pub fn report_block(&mut self, last_sr: u32, delay_since_last_sr: u32) -> Option<ReportBlock> {
        let ssrc = self.ssrc?;
        let expected = self.max_seq + 1 - self.base_seq;
        let expected_interval = expected - self.expected_prior;
        self.expected_prior = expected;
        let received_interval = self.received - self.received_prior.min(self.received);
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        Some(ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: (expected as i64 - self.received as i64).clamp(-0x80_0000, 0x7f_ffff)
                as i32,
            highest_seq: (self.max_seq - 65536) as u32,
            jitter: (self.jitter16 >> 4) as u32,
            last_sr,
            delay_since_last_sr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtp::RtpHeader;
    use std::time::Duration;

    fn packet(seq: u16, ts: u32) -> Vec<u8> {
        let mut buf = Vec::new();
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: seq,
            timestamp: ts,
            ssrc: 1,
        }
        .write(&[seq as u8], &mut buf);
        buf
    }

    fn feed(rx: &mut RtpReceiver, seq: u16, ts: u32, now: Instant) {
        let buf = packet(seq, ts);
        rx.handle_packet(&RtpPacket::parse(&buf).unwrap(), Some(0), now);
    }

    fn played(rx: &mut RtpReceiver) -> Vec<Option<u8>> {
        let mut out = Vec::new();
        loop {
            match rx.poll_frame() {
                Playout::Packet(p) => out.push(Some(p.payload[0])),
                Playout::Lost => out.push(None),
                Playout::Empty => return out,
            }
        }
    }

    #[test]
    fn reorders_drops_duplicates_and_conceals_loss() {
        let t0 = Instant::now();
        let mut rx = RtpReceiver::new(JitterConfig::default(), t0);
        for seq in [10u16, 12, 11, 11, 14, 13, 16] {
            feed(&mut rx, seq, u32::from(seq) * 160, t0);
        }
        assert_eq!(
            played(&mut rx),
            vec![
                Some(10),
                Some(11),
                Some(12),
                Some(13),
                Some(14),
                None,
                Some(16)
            ]
        );
        let s = rx.stats();
        assert_eq!(
            (s.received, s.duplicates, s.lost, s.concealed),
            (6, 1, 1, 1)
        );
        // 15 arrives after its turn: late, not played.
        feed(&mut rx, 15, 15 * 160, t0);
        assert_eq!(rx.stats().late, 1);
        assert_eq!(rx.buffered(), 0);
        assert_eq!(rx.stats().lost, 0);
    }

    #[test]
    fn waits_for_target_depth_and_rebuffers() {
        let t0 = Instant::now();
        let mut rx = RtpReceiver::new(JitterConfig::default(), t0);
        feed(&mut rx, 1, 0, t0);
        feed(&mut rx, 2, 160, t0);
        assert_eq!(rx.poll_frame(), Playout::Empty);
        feed(&mut rx, 3, 320, t0);
        assert_eq!(played(&mut rx), vec![Some(1), Some(2), Some(3)]);
        feed(&mut rx, 4, 480, t0);
        assert_eq!(rx.poll_frame(), Playout::Empty);
    }

    #[test]
    fn sequence_wrap_is_counted_in_extended_numbers() {
        let t0 = Instant::now();
        let mut rx = RtpReceiver::new(JitterConfig::default(), t0);
        for seq in [65534u16, 0, 65535, 1, 2] {
            feed(&mut rx, seq, u32::from(seq.wrapping_add(2)) * 160, t0);
        }
        assert_eq!(
            played(&mut rx),
            vec![Some(254), Some(255), Some(0), Some(1), Some(2)]
        );
        let block = rx.report_block(0, 0).unwrap();
        assert_eq!(block.highest_seq, 65536 + 2);
        assert_eq!(block.cumulative_lost, 0);
    }

    #[test]
    fn jitter_per_rfc3550_a8() {
        let t0 = Instant::now();
        let mut rx = RtpReceiver::new(JitterConfig::default(), t0);
        // Perfectly paced: no jitter.
        for i in 0..50u16 {
            feed(
                &mut rx,
                i,
                u32::from(i) * 160,
                t0 + Duration::from_millis(u64::from(i) * 20),
            );
        }
        assert_eq!(rx.stats().jitter, 0);
        // Alternating 10 ms early/late: |D| = 160 samples each time, and
        // the estimate converges towards it.
        for i in 50..400u16 {
            let skew = if i % 2 == 0 { 0 } else { 20 };
            let at = t0 + Duration::from_millis(u64::from(i) * 20 + skew);
            feed(&mut rx, i, u32::from(i) * 160, at);
        }
        let j = rx.stats().jitter;
        assert!((150..=160).contains(&j), "{j}");
    }

    #[test]
    fn loss_fraction_in_reports_and_restart_on_ssrc_change() {
        let t0 = Instant::now();
        let mut rx = RtpReceiver::new(JitterConfig::default(), t0);
        for seq in (0..100u16).filter(|s| s % 4 != 0) {
            feed(&mut rx, seq, u32::from(seq) * 160, t0);
        }
        let b = rx.report_block(0, 0).unwrap();
        assert_eq!(b.fraction_lost, 62);
        assert_eq!(b.cumulative_lost, 24);
        let mut other = Vec::new();
        RtpHeader {
            marker: true,
            payload_type: 0,
            sequence: 9000,
            timestamp: 0,
            ssrc: 2,
        }
        .write(&[1], &mut other);
        rx.handle_packet(&RtpPacket::parse(&other).unwrap(), Some(0), t0);
        assert_eq!(rx.remote_ssrc(), Some(2));
        assert_eq!(rx.stats().received, 1);
    }

    #[test]
    fn big_jump_needs_two_packets() {
        let t0 = Instant::now();
        let mut rx = RtpReceiver::new(JitterConfig::default(), t0);
        feed(&mut rx, 100, 0, t0);
        feed(&mut rx, 30000, 0, t0);
        assert_eq!(rx.stats().received, 1);
        feed(&mut rx, 30001, 160, t0);
        assert_eq!(rx.stats().received, 1);
        assert_eq!(rx.stats().highest_seq, 30001);
    }
}
