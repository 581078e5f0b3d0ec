//! The sending side of one RTP stream (RFC 3550 §5.1, RFC 3551 §4.1):
//! SSRC, sequence numbers and timestamps.
//!
//! The SSRC and the initial sequence number and timestamp are random
//! (§5.1: "SHOULD be random"); [`SenderInit::random`] draws them so the core
//! itself takes no randomness. Each audio frame advances the sequence number
//! by one and the timestamp by the frame's sample count; the first packet
//! after silence or a pause carries the marker bit (RFC 3551 §4.1).

use super::rtp::RtpHeader;

/// The starting values of a sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInit {
    /// Synchronization source.
    pub ssrc: u32,
    /// First sequence number.
    pub sequence: u16,
    /// First timestamp.
    pub timestamp: u32,
}

impl SenderInit {
    /// Random values, as RFC 3550 §5.1 asks.
    pub fn random() -> Self {
        SenderInit {
            ssrc: fastrand::u32(..),
            sequence: fastrand::u16(..),
            timestamp: fastrand::u32(..),
        }
    }
}

/// Sequence/timestamp state of an outgoing stream.
#[derive(Debug, Clone)]
pub struct RtpSender {
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    payload_type: u8,
    samples_per_packet: u32,
    talkspurt_start: bool,
    packets: u32,
    octets: u32,
}

impl RtpSender {
    /// A sender for `payload_type` sending `samples_per_packet` per frame
    /// (160 for 20 ms at 8 kHz).
    pub fn new(init: SenderInit, payload_type: u8, samples_per_packet: u32) -> Self {
        RtpSender {
            ssrc: init.ssrc,
            sequence: init.sequence,
            timestamp: init.timestamp,
            payload_type,
            samples_per_packet,
            talkspurt_start: true,
            packets: 0,
            octets: 0,
        }
    }

    /// Our SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The timestamp the next audio frame will carry.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// The sequence number the next packet will carry.
    pub fn sequence(&self) -> u16 {
        self.sequence
    }

    /// Samples per frame.
    pub fn samples_per_packet(&self) -> u32 {
        self.samples_per_packet
    }

    /// Packets sent so far (for the RTCP SR).
    pub fn packets_sent(&self) -> u32 {
        self.packets
    }

    /// Payload octets sent so far (for the RTCP SR).
    pub fn octets_sent(&self) -> u32 {
        self.octets
    }

    /// Changes payload type and frame size (after a re-INVITE); the next
    /// packet starts a talkspurt.
    pub fn reconfigure(&mut self, payload_type: u8, samples_per_packet: u32) {
        self.payload_type = payload_type;
        self.samples_per_packet = samples_per_packet;
        self.talkspurt_start = true;
    }

    /// Appends one audio packet with `payload` (one frame) to `out`.
    pub fn write_audio(&mut self, payload: &[u8], out: &mut Vec<u8>) {
        let header = RtpHeader {
            marker: self.talkspurt_start,
            payload_type: self.payload_type,
            sequence: self.sequence,
            timestamp: self.timestamp,
            ssrc: self.ssrc,
        };
        header.write(payload, out);
        self.talkspurt_start = false;
        self.count(payload.len());
        self.timestamp = self.timestamp.wrapping_add(self.samples_per_packet);
    }

    /// A frame time passes without an audio packet (hold, a DTMF event in
    /// progress): the timestamp advances, the next audio packet starts a
    /// talkspurt.
    pub fn skip_frame(&mut self) {
        self.timestamp = self.timestamp.wrapping_add(self.samples_per_packet);
        self.talkspurt_start = true;
    }

    /// Appends a packet of another payload type that carries its own
    /// timestamp (an RFC 4733 event): it uses the next sequence number but
    /// does not advance the audio timestamp.
    pub fn write_other(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) {
        RtpHeader {
            marker,
            payload_type,
            sequence: self.sequence,
            timestamp,
            ssrc: self.ssrc,
        }
        .write(payload, out);
        self.count(payload.len());
    }

    fn count(&mut self, payload_len: usize) {
        self.sequence = self.sequence.wrapping_add(1);
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload_len as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtp::RtpPacket;

    #[test]
    fn sequence_timestamp_and_marker() {
        let init = SenderInit {
            ssrc: 77,
            sequence: 65534,
            timestamp: u32::MAX - 100,
        };
        let mut s = RtpSender::new(init, 0, 160);
        let mut seen = Vec::new();
        for i in 0..4 {
            if i == 2 {
                s.skip_frame();
            }
            let mut buf = Vec::new();
            s.write_audio(&[0xff; 160], &mut buf);
            let p = RtpPacket::parse(&buf).unwrap();
            assert_eq!(p.ssrc, 77);
            seen.push((p.sequence, p.timestamp, p.marker));
        }
        assert_eq!(
            seen,
            vec![
                (65534, u32::MAX - 100, true),
                (65535, 59, false),
                (0, 379, true),
                (1, 539, false),
            ]
        );
        assert_eq!((s.packets_sent(), s.octets_sent()), (4, 640));
    }

    #[test]
    fn random_init_differs() {
        let a = SenderInit::random();
        let b = SenderInit::random();
        assert_ne!(
            (a.ssrc, a.sequence, a.timestamp),
            (b.ssrc, b.sequence, b.timestamp)
        );
    }
}
