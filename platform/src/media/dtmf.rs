//! RFC 4733 telephone-events for DTMF (§2.3 payload format, §2.5 sending,
//! §2.6 receiving; events 0–15 of §3.2: `0`–`9`, `*`, `#`, `A`–`D`).
//!
//! An event is identified by its RTP timestamp (the time it started):
//! every update and the three redundant end packets of one key press carry
//! the same timestamp, and a new press gets a new one. The receiver reports
//! each press once, when its first packet arrives (start packets may be
//! lost: an end packet alone still reports it), and remembers recent
//! timestamps to suppress the repeats. The same digit pressed twice is two
//! events with two timestamps.

use std::collections::VecDeque;

/// The digit of event code `e` (§3.2).
pub fn event_digit(e: u8) -> Option<char> {
    Some(match e {
        0..=9 => char::from(b'0' + e),
        10 => '*',
        11 => '#',
        12..=15 => char::from(b'A' + e - 12),
        _ => return None,
    })
}

/// The event code of a DTMF digit.
pub fn digit_event(d: char) -> Option<u8> {
    Some(match d.to_ascii_uppercase() {
        c @ '0'..='9' => c as u8 - b'0',
        '*' => 10,
        '#' => 11,
        c @ 'A'..='D' => c as u8 - b'A' + 12,
        _ => return None,
    })
}

/// One telephone-event payload (§2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    /// Event code.
    pub event: u8,
    /// End bit.
    pub end: bool,
    /// Volume in -dBm0 (0–63).
    pub volume: u8,
    /// Duration so far in timestamp units.
    pub duration: u16,
}

impl EventPayload {
    /// Parses the 4-byte payload (extra bytes, e.g. a redundant block, are
    /// ignored).
    pub fn parse(b: &[u8]) -> Option<Self> {
        let [event, flags, d0, d1, ..] = *b else {
            return None;
        };
        Some(EventPayload {
            event,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The 4-byte payload.
    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// A key press received as a telephone-event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedDigit {
    /// The digit.
    pub digit: char,
    /// The event's RTP timestamp.
    pub timestamp: u32,
}

/// How many recent event timestamps are remembered for duplicate
/// suppression; far more than the events that can overlap in flight.
const RECENT_EVENTS: usize = 16;

/// Telephone-event receiver.
#[derive(Debug, Clone, Default)]
pub struct DtmfReceiver {
    recent: VecDeque<(u32, u8)>,
}

impl DtmfReceiver {
    /// A receiver with no history.
    pub fn new() -> Self {
        DtmfReceiver::default()
    }

    /// Feeds a telephone-event packet's timestamp and payload; returns the
    /// digit when this is the first packet seen of a new key press.
    pub fn handle_event(&mut self, timestamp: u32, payload: &[u8]) -> Option<ReceivedDigit> {
        let ev = EventPayload::parse(payload)?;
        let digit = event_digit(ev.event)?;
        if self
            .recent
            .iter()
            .any(|&(ts, e)| ts == timestamp && e == ev.event)
        {
            return None;
        }
        if self.recent.len() == RECENT_EVENTS {
            self.recent.pop_front();
        }
        self.recent.push_back((timestamp, ev.event));
        Some(ReceivedDigit { digit, timestamp })
    }
}

/// One telephone-event packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// Marker bit (first packet of the event).
    pub marker: bool,
    /// RTP timestamp (the event's start).
    pub timestamp: u32,
    /// The payload.
    pub payload: EventPayload,
}

#[derive(Debug, Clone)]
struct Sending {
    event: u8,
    start: u32,
    /// Total length of the tone in timestamp units.
    length: u32,
    /// Duration reported so far.
    elapsed: u32,
    ends_sent: u8,
}

/// Telephone-event sender: queued digits become one packet per frame with
/// growing duration, then three end packets (§2.5.1.4).
#[derive(Debug, Clone)]
pub struct DtmfSender {
    queue: VecDeque<(u8, u32)>,
    current: Option<Sending>,
    /// Frames of pause still to leave between two digits.
    gap: u32,
}

/// Volume sent with events, in -dBm0.
const VOLUME: u8 = 10;
/// End packets per event.
const END_PACKETS: u8 = 3;
/// Silent frames between two queued digits so they are not merged.
const GAP_FRAMES: u32 = 2;

impl Default for DtmfSender {
    fn default() -> Self {
        DtmfSender::new()
    }
}

impl DtmfSender {
    /// An idle sender.
    pub fn new() -> Self {
        DtmfSender {
            queue: VecDeque::new(),
            current: None,
            gap: 0,
        }
    }

    /// Queues `digit` lasting `samples` (at 8 kHz; 800 = 100 ms). Returns
    /// false for a character that is not a DTMF digit.
    pub fn queue_digit(&mut self, digit: char, samples: u32) -> bool {
        match digit_event(digit) {
            Some(e) => {
                self.queue
                    .push_back((e, samples.clamp(80, u32::from(u16::MAX))));
                true
            }
            None => false,
        }
    }

    /// Whether an event is being sent or waiting (audio frames are then
    /// replaced by event packets).
    pub fn is_active(&self) -> bool {
        self.current.is_some() || !self.queue.is_empty()
    }

    /// The packet for this frame time, if an event is being sent.
    /// `audio_timestamp` is the timestamp the audio frame would have had;
    /// `frame` is the samples per frame.
    pub fn poll_packet(&mut self, audio_timestamp: u32, frame: u32) -> Option<EventPacket> {
        if self.current.is_none() {
            if self.gap > 0 {
                self.gap -= 1;
                return None;
            }
            let (event, length) = self.queue.pop_front()?;
            self.current = Some(Sending {
                event,
                start: audio_timestamp,
                length,
                elapsed: 0,
                ends_sent: 0,
            });
        }
        let s = self.current.as_mut().expect("set above");
        let marker = s.elapsed == 0 && s.ends_sent == 0;
        let end = s.elapsed >= s.length;
        if !end {
            s.elapsed = (s.elapsed + frame).min(s.length);
        }
        let done = s.elapsed >= s.length;
        let packet = EventPacket {
            marker,
            timestamp: s.start,
            payload: EventPayload {
                event: s.event,
                end: done,
                volume: VOLUME,
                duration: s.elapsed.min(u32::from(u16::MAX)) as u16,
            },
        };
        if done {
            s.ends_sent += 1;
            if s.ends_sent == END_PACKETS {
                self.current = None;
                self.gap = GAP_FRAMES;
            }
        }
        Some(packet)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
        EventPayload {
            event,
            end,
            volume: 10,
            duration,
        }
        .to_bytes()
    }

    #[test]
    fn digits_and_codes() {
        let all = "0123456789*#ABCD";
        for (i, d) in all.chars().enumerate() {
            assert_eq!(digit_event(d), Some(i as u8));
            assert_eq!(event_digit(i as u8), Some(d));
        }
        assert_eq!(digit_event('x'), None);
        assert_eq!(event_digit(16), None);
        assert_eq!(digit_event('a'), Some(12));
    }

    #[test]
    fn one_press_with_redundant_end_is_one_digit() {
        let mut rx = DtmfReceiver::new();
        let mut got = Vec::new();
        for (d, end) in [
            (160, false),
            (320, false),
            (480, false),
            (640, true),
            (640, true),
            (640, true),
        ] {
            got.extend(rx.handle_event(1000, &payload(5, end, d)));
        }
        assert_eq!(
            got,
            vec![ReceivedDigit {
                digit: '5',
                timestamp: 1000
            }]
        );
    }

    #[test]
    fn same_digit_twice_several_digits_and_lost_start() {
        let mut rx = DtmfReceiver::new();
        let mut got = String::new();
        let presses = [(1000u32, 1u8), (3000, 1), (5000, 2), (7000, 11)];
        for (ts, ev) in presses {
            // Start packets of the third press are lost: only its ends arrive.
            let start = if ts == 5000 { 2 } else { 0 };
            let packets = [
                (160u16, false),
                (320, false),
                (400, true),
                (400, true),
                (400, true),
            ];
            for (d, end) in &packets[start..] {
                if let Some(r) = rx.handle_event(ts, &payload(ev, *end, *d)) {
                    got.push(r.digit);
                }
            }
        }
        assert_eq!(got, "112#");
        // A retransmission of an old event much later is still suppressed.
        assert_eq!(rx.handle_event(3000, &payload(1, true, 400)), None);
        // Garbage payloads are ignored.
        assert_eq!(rx.handle_event(9000, &[1, 2]), None);
        assert_eq!(rx.handle_event(9000, &payload(200, true, 1)), None);
    }

    #[test]
    fn sender_grows_duration_and_sends_three_ends() {
        let mut tx = DtmfSender::new();
        assert!(tx.queue_digit('7', 480));
        assert!(!tx.queue_digit('?', 480));
        let mut ts = 10_000u32;
        let mut packets = Vec::new();
        while tx.is_active() {
            if let Some(p) = tx.poll_packet(ts, 160) {
                packets.push(p);
            }
            ts += 160;
        }
        let summary: Vec<(bool, u32, bool, u16)> = packets
            .iter()
            .map(|p| (p.marker, p.timestamp, p.payload.end, p.payload.duration))
            .collect();
        assert_eq!(
            summary,
            vec![
                (true, 10_000, false, 160),
                (false, 10_000, false, 320),
                (false, 10_000, true, 480),
                (false, 10_000, true, 480),
                (false, 10_000, true, 480),
            ]
        );
        // What we send is what a receiver counts once.
        let mut rx = DtmfReceiver::new();
        let got: Vec<_> = packets
            .iter()
            .filter_map(|p| rx.handle_event(p.timestamp, &p.payload.to_bytes()))
            .collect();
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn queued_digits_get_distinct_timestamps() {
        let mut tx = DtmfSender::new();
        for d in "99".chars() {
            tx.queue_digit(d, 320);
        }
        let mut rx = DtmfReceiver::new();
        let mut digits = String::new();
        let mut ts = 0u32;
        for _ in 0..40 {
            if let Some(p) = tx.poll_packet(ts, 160)
                && let Some(r) = rx.handle_event(p.timestamp, &p.payload.to_bytes())
            {
                digits.push(r.digit);
            }
            ts += 160;
        }
        assert_eq!(digits, "99");
    }
}
