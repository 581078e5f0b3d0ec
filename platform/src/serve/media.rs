//! The media path of `vxp serve`: the SDP answer (RFC 3264 §6 for one audio
//! stream), and one task that paces every call's RTP (RFC 3550, G.711 at
//! 20 ms) from a single 20 ms tick, plus a receive task per call that turns
//! RFC 4733 telephone-events into DTMF keys. Sessions never run here, so a
//! slow page fetch cannot delay another call's audio.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use vxp_interpreter::vxml::session::PlayId;

use super::call::{CallEvent, CallKey, RenderedPrompt};
use super::render::{alaw_encode, ulaw_encode};

/// Samples per 20 ms packet at 8 kHz.
const FRAME: usize = 160;

/// The audio codec agreed with the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 µ-law, payload type 0.
    Pcmu,
    /// G.711 A-law, payload type 8.
    Pcma,
}

/// The outcome of an offer/answer exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Where to send RTP.
    pub remote: SocketAddr,
    /// The codec.
    pub codec: Codec,
    /// The telephone-event payload type the offer used, if any.
    pub dtmf_pt: Option<u8>,
}

/// Why an offer cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// No audio stream with PCMU or PCMA (answer 488).
    #[error("no common codec")]
    NoCommonCodec,
    /// No connection address or port.
    #[error("the offer has no usable audio address")]
    NoAddress,
}

/// Reads an SDP offer (RFC 4566): the audio address, the first G.711 codec
/// in the offer's order, the telephone-event payload type.
pub fn negotiate(offer: &str) -> Result<Negotiated, SdpError> {
    let mut session_addr: Option<IpAddr> = None;
    let mut media_addr: Option<IpAddr> = None;
    let mut port: Option<u16> = None;
    let mut formats: Vec<u8> = Vec::new();
    let mut rtpmap: HashMap<u8, String> = HashMap::new();
    let mut in_audio = false;
    let mut seen_audio = false;
    for line in offer.lines().map(str::trim) {
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "m" => {
                in_audio = false;
                let mut f = value.split_whitespace();
                if f.next() == Some("audio") && !seen_audio {
                    seen_audio = true;
                    in_audio = true;
                    port = f.next().and_then(|p| p.split('/').next()?.parse().ok());
                    let _proto = f.next();
                    formats = f.filter_map(|p| p.parse().ok()).collect();
                }
            }
            "c" => {
                let addr = value
                    .split_whitespace()
                    .nth(2)
                    .and_then(|a| a.split('/').next()?.parse().ok());
                if in_audio {
                    media_addr = addr;
                } else if !seen_audio {
                    session_addr = addr;
                }
            }
            "a" if in_audio => {
                if let Some((pt, enc)) = value
                    .strip_prefix("rtpmap:")
                    .and_then(|map| map.split_once(' '))
                    && let Ok(pt) = pt.trim().parse()
                {
                    rtpmap.insert(pt, enc.trim().to_ascii_lowercase());
                }
            }
            _ => {}
        }
    }
    let addr = media_addr.or(session_addr).ok_or(SdpError::NoAddress)?;
    let port = port.filter(|&p| p != 0).ok_or(SdpError::NoAddress)?;
    let codec = formats
        .iter()
        .find_map(|&pt| match (pt, rtpmap.get(&pt).map(String::as_str)) {
            (0, _) => Some(Codec::Pcmu),
            (8, _) => Some(Codec::Pcma),
            (_, Some(e)) if e.starts_with("pcmu/8000") => Some(Codec::Pcmu),
            (_, Some(e)) if e.starts_with("pcma/8000") => Some(Codec::Pcma),
            _ => None,
        })
        .ok_or(SdpError::NoCommonCodec)?;
    let dtmf_pt = formats.iter().copied().find(|pt| {
        rtpmap
            .get(pt)
            .is_some_and(|e| e.starts_with("telephone-event/8000"))
    });
    Ok(Negotiated {
        remote: SocketAddr::new(addr, port),
        codec,
        dtmf_pt,
    })
}

/// A media direction attribute (RFC 3264 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The direction our answer takes for an offer in this direction.
    pub fn answer(self) -> Direction {
        match self {
            Direction::SendRecv => Direction::SendRecv,
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            Direction::Inactive => Direction::Inactive,
        }
    }

    /// Whether we send RTP in this direction.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// The direction an offer asks for; the RFC 2543 hold form `c=IN IP4
/// 0.0.0.0` counts as `sendonly`.
pub fn offered_direction(offer: &str) -> Direction {
    let mut direction = Direction::SendRecv;
    for line in offer.lines().map(str::trim) {
        match line {
            "a=sendonly" => direction = Direction::SendOnly,
            "a=recvonly" => direction = Direction::RecvOnly,
            "a=inactive" => direction = Direction::Inactive,
            "a=sendrecv" => direction = Direction::SendRecv,
            "c=IN IP4 0.0.0.0" => direction = Direction::SendOnly,
            _ => {}
        }
    }
    direction
}

/// Our SDP answer for `n`, with media on `local`; `version` is the o= line's
/// version, one more for each new answer in the session (RFC 3264 §8).
pub fn answer_sdp(
    n: &Negotiated,
    local: SocketAddr,
    session_id: u64,
    version: u32,
    direction: Direction,
) -> String {
    let (pt, name) = match n.codec {
        Codec::Pcmu => (0, "PCMU"),
        Codec::Pcma => (8, "PCMA"),
    };
    let ip = match local.ip() {
        IpAddr::V4(a) => format!("IP4 {a}"),
        IpAddr::V6(a) => format!("IP6 {a}"),
    };
    let mut sdp = format!(
        "v=0\r\no=vxp {session_id} {version} IN {ip}\r\ns=vxp\r\nc=IN {ip}\r\nt=0 0\r\nm=audio {} RTP/AVP {pt}",
        local.port()
    );
    if let Some(te) = n.dtmf_pt {
        sdp.push_str(&format!(" {te}"));
    }
    sdp.push_str(&format!("\r\na=rtpmap:{pt} {name}/8000\r\n"));
    if let Some(te) = n.dtmf_pt {
        sdp.push_str(&format!(
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-15\r\n"
        ));
    }
    sdp.push_str(&format!("a=ptime:20\r\na={}\r\n", direction.attribute()));
    sdp
}

/// Commands for the media task.
#[derive(Debug)]
pub enum MediaCommand {
    /// Start streaming for a call (silence until something plays).
    Open {
        /// The call.
        key: CallKey,
        /// Our RTP socket.
        socket: Arc<UdpSocket>,
        /// The agreed media.
        negotiated: Negotiated,
        /// Where play completions and marks go.
        events: mpsc::UnboundedSender<CallEvent>,
    },
    /// Queue audio.
    Play(CallKey, PlayId, Arc<RenderedPrompt>),
    /// Barge-in: drop queued and playing audio.
    Stop(CallKey),
    /// A re-INVITE changed the far end's address or the direction.
    Update {
        /// The call.
        key: CallKey,
        /// Where to send RTP now.
        remote: SocketAddr,
        /// False while the caller holds the call.
        sending: bool,
    },
    /// Stop streaming.
    Close(CallKey),
}

#[derive(Debug)]
struct Stream {
    socket: Arc<UdpSocket>,
    remote: SocketAddr,
    codec: Codec,
    seq: u16,
    timestamp: u32,
    ssrc: u32,
    first: bool,
    sending: bool,
    queue: VecDeque<(PlayId, Arc<RenderedPrompt>, usize)>,
    events: mpsc::UnboundedSender<CallEvent>,
}

impl Stream {
    /// The next 20 ms of audio, reporting marks reached and plays finished.
    fn next_frame(&mut self) -> [i16; FRAME] {
        let mut frame = [0i16; FRAME];
        let mut filled = 0;
        while filled < FRAME {
            let Some((id, prompt, pos)) = self.queue.front_mut() else {
                break;
            };
            let take = (FRAME - filled).min(prompt.samples.len().saturating_sub(*pos));
            let end = *pos + take;
            for (mark_at, name) in &prompt.marks {
                if *mark_at >= *pos
                    && (*mark_at < end || (*mark_at == end && end == prompt.samples.len()))
                {
                    let _ = self.events.send(CallEvent::Mark(name.clone()));
                }
            }
            if let Some(src) = prompt.samples.get(*pos..end) {
                frame[filled..filled + take].copy_from_slice(src);
            }
            filled += take;
            *pos = end;
            if *pos >= prompt.samples.len() {
                let _ = self.events.send(CallEvent::PlayDone(*id));
                self.queue.pop_front();
            }
        }
        frame
    }

    fn packet(&mut self, frame: &[i16; FRAME]) -> Vec<u8> {
        let pt = match self.codec {
            Codec::Pcmu => 0u8,
            Codec::Pcma => 8u8,
        };
        let mut p = Vec::with_capacity(12 + FRAME);
        p.push(0x80);
        p.push(if self.first { 0x80 | pt } else { pt });
        self.first = false;
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&self.timestamp.to_be_bytes());
        p.extend_from_slice(&self.ssrc.to_be_bytes());
        p.extend(frame.iter().map(|&s| match self.codec {
            Codec::Pcmu => ulaw_encode(s),
            Codec::Pcma => alaw_encode(s),
        }));
        self.seq = self.seq.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(FRAME as u32);
        p
    }
}

/// Runs the media task until the command channel closes: every 20 ms, one
/// packet for every open stream.
pub async fn run_media(mut commands: mpsc::UnboundedReceiver<MediaCommand>) {
    let mut streams: HashMap<CallKey, Stream> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut seed: u32 = 0x1234_5678;
    loop {
        tokio::select! {
            command = commands.recv() => match command {
                None => break,
                Some(MediaCommand::Open { key, socket, negotiated, events }) => {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223) ^ (key.0 as u32);
                    tokio::spawn(receive(socket.clone(), negotiated.dtmf_pt, events.clone()));
                    streams.insert(key, Stream {
                        socket,
                        remote: negotiated.remote,
                        codec: negotiated.codec,
                        seq: (seed >> 16) as u16,
                        timestamp: seed.rotate_left(7),
                        ssrc: seed ^ 0x5a5a_5a5a,
                        first: true,
                        sending: true,
                        queue: VecDeque::new(),
                        events,
                    });
                }
                Some(MediaCommand::Play(key, id, prompt)) => {
                    if let Some(s) = streams.get_mut(&key) {
                        s.queue.push_back((id, prompt, 0));
                    }
                }
                Some(MediaCommand::Update { key, remote, sending }) => {
                    if let Some(s) = streams.get_mut(&key) {
                        s.remote = remote;
                        s.first = s.first || (sending && !s.sending);
                        s.sending = sending;
                    }
                }
                Some(MediaCommand::Stop(key)) => {
                    if let Some(s) = streams.get_mut(&key) {
                        s.queue.clear();
                    }
                }
                Some(MediaCommand::Close(key)) => {
                    streams.remove(&key);
                }
            },
            _ = tick.tick() => {
                for stream in streams.values_mut() {
                    // On hold the audio still advances (the application
                    // does not stall), it is just not sent.
                    let frame = stream.next_frame();
                    if !stream.sending {
                        continue;
                    }
                    let packet = stream.packet(&frame);
                    if let Err(err) = stream.socket.try_send_to(&packet, stream.remote) {
                        tracing::trace!(error = %err, "RTP send failed");
                    }
                }
            }
        }
    }
}

/// Receives a call's RTP until its socket's stream is closed (the events
/// channel closes), turning RFC 4733 events (§2.3) into keys: one key per
/// event timestamp, reported at the first packet so barge-in is quick.
async fn receive(
    socket: Arc<UdpSocket>,
    dtmf_pt: Option<u8>,
    events: mpsc::UnboundedSender<CallEvent>,
) {
    let mut buf = [0u8; 1500];
    let mut last_event_ts: Option<u32> = None;
    loop {
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            () = events.closed() => return,
        };
        let Ok((len, _from)) = received else { return };
        let Some(packet) = buf.get(..len) else {
            continue;
        };
        if let Some(key) = dtmf_key(packet, dtmf_pt, &mut last_event_ts)
            && events.send(CallEvent::Dtmf(key)).is_err()
        {
            return;
        }
    }
}

/// The key of an RFC 4733 packet not seen before (by RTP timestamp).
fn dtmf_key(packet: &[u8], dtmf_pt: Option<u8>, last_ts: &mut Option<u32>) -> Option<char> {
    if packet.len() < 12 || packet[0] >> 6 != 2 {
        return None;
    }
    let pt = packet[1] & 0x7f;
    if Some(pt) != dtmf_pt {
        return None;
    }
    let csrc = usize::from(packet[0] & 0x0f) * 4;
    let mut offset = 12 + csrc;
    if packet[0] & 0x10 != 0 {
        let ext = packet.get(offset + 2..offset + 4)?;
        offset += 4 + usize::from(u16::from_be_bytes([ext[0], ext[1]])) * 4;
    }
    let payload = packet.get(offset..offset + 4)?;
    let ts = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
    if *last_ts == Some(ts) {
        return None;
    }
    *last_ts = Some(ts);
    match payload[0] {
        e @ 0..=9 => char::from_digit(u32::from(e), 10),
        10 => Some('*'),
        11 => Some('#'),
        e @ 12..=15 => Some(char::from(b'A' + (e - 12))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
m=audio 4000 RTP/AVP 96 8 0 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n";

    #[test]
    fn the_answer_picks_g711_and_echoes_the_telephone_event_type() {
        let n = negotiate(OFFER).expect("answerable");
        assert_eq!(n.codec, Codec::Pcma);
        assert_eq!(n.dtmf_pt, Some(101));
        assert_eq!(n.remote.to_string(), "10.0.0.1:4000");
        let sdp = answer_sdp(
            &n,
            "127.0.0.1:20000".parse().expect("literal"),
            7,
            2,
            offered_direction(&format!("{OFFER}a=sendonly\r\n")).answer(),
        );
        assert!(sdp.contains("m=audio 20000 RTP/AVP 8 101\r\n"), "{sdp}");
        assert!(sdp.contains("o=vxp 7 2 IN IP4 127.0.0.1\r\n"), "{sdp}");
        assert!(sdp.contains("a=recvonly\r\n"), "{sdp}");
        assert_eq!(offered_direction(OFFER), Direction::SendRecv);
        assert_eq!(
            offered_direction("c=IN IP4 0.0.0.0\r\n"),
            Direction::SendOnly
        );
        assert!(sdp.contains("a=rtpmap:101 telephone-event/8000"), "{sdp}");
        assert_eq!(
            negotiate(&OFFER.replace(" 8 0 101", " 101")),
            Err(SdpError::NoCommonCodec)
        );
        assert_eq!(negotiate("v=0\r\n"), Err(SdpError::NoAddress));
    }

    #[test]
    fn rfc4733_keys_are_reported_once_per_event() {
        let mut last = None;
        let packet = |ts: u32, event: u8, end: bool| {
            let mut p = vec![0x80, 101, 0, 1];
            p.extend_from_slice(&ts.to_be_bytes());
            p.extend_from_slice(&[0, 0, 0, 1, event, if end { 0x80 } else { 0 }, 0, 160]);
            p
        };
        assert_eq!(
            dtmf_key(&packet(100, 1, false), Some(101), &mut last),
            Some('1')
        );
        assert_eq!(dtmf_key(&packet(100, 1, true), Some(101), &mut last), None);
        assert_eq!(
            dtmf_key(&packet(900, 1, false), Some(101), &mut last),
            Some('1'),
            "the same key again"
        );
        assert_eq!(
            dtmf_key(&packet(1900, 11, true), Some(101), &mut last),
            Some('#'),
            "start packets lost"
        );
        assert_eq!(
            dtmf_key(&packet(2900, 11, true)[..14], Some(101), &mut last),
            None,
            "truncated"
        );
        assert_eq!(
            dtmf_key(&packet(3900, 5, true), Some(96), &mut last),
            None,
            "other payload type"
        );
    }

    #[test]
    fn frames_report_marks_and_completion_and_packets_count_up() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("binds");
        socket.set_nonblocking(true).expect("nonblocking");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("rt");
        let socket = rt
            .block_on(async { UdpSocket::from_std(socket) })
            .expect("tokio socket");
        let mut s = Stream {
            socket: Arc::new(socket),
            remote: "127.0.0.1:9".parse().expect("literal"),
            codec: Codec::Pcmu,
            seq: 65535,
            timestamp: 0,
            ssrc: 1,
            first: true,
            sending: true,
            queue: VecDeque::new(),
            events: tx,
        };
        let prompt = RenderedPrompt {
            samples: vec![1000; 200],
            marks: vec![(170, "m".into()), (200, "end".into())],
        };
        s.queue.push_back((PlayId(3), Arc::new(prompt), 0));
        let f1 = s.next_frame();
        assert_eq!(f1[159], 1000);
        assert!(rx.try_recv().is_err());
        let f2 = s.next_frame();
        assert_eq!((f2[39], f2[40]), (1000, 0));
        let got: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(
            got,
            vec![
                CallEvent::Mark("m".into()),
                CallEvent::Mark("end".into()),
                CallEvent::PlayDone(PlayId(3))
            ]
        );
        let p1 = s.packet(&f1);
        let p2 = s.packet(&f2);
        assert_eq!(
            (p1[1], p2[1]),
            (0x80, 0x00),
            "marker on the first packet only"
        );
        assert_eq!(
            (&p1[2..4], &p2[2..4]),
            (&[0xff, 0xff][..], &[0, 0][..]),
            "sequence wraps"
        );
        assert_eq!(p2[4..8], 160u32.to_be_bytes());
        assert_eq!(p1.len(), 172);
    }
}
