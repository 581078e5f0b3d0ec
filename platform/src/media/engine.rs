//! The media path of every call in one core: a [`TimerWheel`] pacing each
//! call's [`MediaStream`], with the call's current prompt
//! ([`PromptRenderer`]), recording ([`Recorder`]) and speech detection
//! ([`EnergyDetector`]). A media thread owns one engine and does only the
//! socket I/O around it:
//!
//! ```text
//! let mut engine = MediaEngine::new(now);
//! engine.add_call(id, StreamConfig::new(negotiated, cname, ntp), SenderInit::random(), now);
//! loop {
//!     // sleep until engine.poll_timeout() or a datagram / command arrives
//!     engine.handle_rtp(id, from, &buf, now);          // from the call's RTP socket
//!     engine.handle_timeout(now);                      // sends every due frame
//!     while let Some(t) = engine.poll_transmit() { sockets[t.call].send_to(&t.bytes, t.to) }
//!     while let Some(ev) = engine.poll_event() {
//!         // Render(req) → fetch + audio::decode / synthesize off this thread,
//!         //   answer with handle_audio / handle_speech
//!         // Dtmf, Mark, PlayDone, Recorded, SpeechStarted → the session's thread
//!     }
//! }
//! ```
//!
//! Commands from the session side (`start_play`, `stop_play`,
//! `start_record`, `send_dtmf`) take effect at the next frame.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vxp_interpreter::vxml::session::{Play, PlayId, RecordRequest, RecordResult};

use super::mixer::{ConferenceOp, Mixer};
use super::record::Recorder;
use super::render::{
    FrameStatus, PromptRenderer, RenderConfig, RenderEvent, RenderRequest, RequestId,
};
use super::sender::SenderInit;
use super::stream::{MediaStream, StreamConfig, StreamEvent};
use super::vad::{EnergyDetector, VadConfig, VadEvent};
use super::wheel::TimerWheel;
use crate::sdp::NegotiatedMedia;

/// Names one call's media in the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallMediaId(pub u64);

/// A datagram for one call's sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTransmit {
    /// The call (selects the socket).
    pub call: CallMediaId,
    /// Whether it goes out on the RTCP socket.
    pub rtcp: bool,
    /// Destination.
    pub to: SocketAddr,
    /// The packet.
    pub bytes: Vec<u8>,
}

/// What the engine reports.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// Work for the driver: fetch or synthesize, off the media thread.
    Render {
        /// The call.
        call: CallMediaId,
        /// The play it belongs to.
        play: PlayId,
        /// What to do.
        request: RenderRequest,
    },
    /// A DTMF key (RFC 4733).
    Dtmf {
        /// The call.
        call: CallMediaId,
        /// The key.
        digit: char,
    },
    /// A `<mark>` was played.
    Mark {
        /// The call.
        call: CallMediaId,
        /// The play.
        play: PlayId,
        /// The mark name.
        name: String,
    },
    /// A play ended (`Session::handle_play_done`).
    PlayDone {
        /// The call.
        call: CallMediaId,
        /// The play.
        play: PlayId,
        /// Ended by `stop_play` (barge-in).
        stopped: bool,
    },
    /// A recording ended (`Session::handle_record_result`).
    Recorded {
        /// The call.
        call: CallMediaId,
        /// The outcome.
        result: RecordResult,
    },
    /// The caller started speaking (for speech barge-in); reported once
    /// until detection is re-armed.
    SpeechStarted {
        /// The call.
        call: CallMediaId,
    },
    /// The peer sent RTCP BYE.
    RemoteBye {
        /// The call.
        call: CallMediaId,
    },
}

#[derive(Debug)]
struct CallMedia {
    stream: MediaStream,
    generation: u64,
    play: Option<(PlayId, PromptRenderer)>,
    recorder: Option<Recorder>,
    vad: EnergyDetector,
    frame: Vec<i16>,
    heard: Vec<i16>,
    /// The call whose audio this one hears (bridge transfer).
    bridge: Option<CallMediaId>,
    /// Samples received on the bridged call, waiting to be sent here.
    relay_in: VecDeque<i16>,
    /// Whether what this call hears goes to its bridge (false for the
    /// listening side of a half-duplex bridge).
    relays: bool,
}

/// Relay backlog kept at most (200 ms): older samples are dropped so the
/// two legs' clocks drifting apart cannot build up delay.
const MAX_RELAY: usize = 1600;

/// Every call's media on one timing path.
#[derive(Debug)]
pub struct MediaEngine {
    wheel: TimerWheel<(CallMediaId, u64)>,
    calls: HashMap<CallMediaId, CallMedia>,
    generation: u64,
    events: VecDeque<MediaEvent>,
    transmits: VecDeque<CallTransmit>,
    due: Vec<(CallMediaId, u64)>,
    relay: Vec<i16>,
    render: RenderConfig,
    /// CCXML conferences.
    mixer: Mixer,
}

impl MediaEngine {
    /// An engine with a 1 ms wheel.
    pub fn new(now: Instant) -> Self {
        MediaEngine {
            wheel: TimerWheel::new(now, Duration::from_millis(1), 256),
            calls: HashMap::new(),
            generation: 0,
            events: VecDeque::new(),
            transmits: VecDeque::new(),
            due: Vec::new(),
            relay: Vec::new(),
            render: RenderConfig::default(),
            mixer: Mixer::new(now),
        }
    }

    /// Calls with media.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether no call has media.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// Starts a call's stream; its first frame goes out at `now`.
    pub fn add_call(
        &mut self,
        id: CallMediaId,
        config: StreamConfig,
        init: SenderInit,
        now: Instant,
    ) {
        self.generation += 1;
        let stream = MediaStream::new(config, init, now);
        self.wheel.insert(stream.next_send(), (id, self.generation));
        self.calls.insert(
            id,
            CallMedia {
                stream,
                generation: self.generation,
                play: None,
                recorder: None,
                vad: EnergyDetector::new(VadConfig::default()),
                frame: Vec::new(),
                heard: Vec::new(),
                bridge: None,
                relay_in: VecDeque::new(),
                relays: true,
            },
        );
    }

    /// Connects two calls' audio both ways (a bridge transfer): each sends
    /// what the other receives, unless it is playing a prompt (e.g.
    /// `transferaudio`) or recording.
    pub fn bridge(&mut self, a: CallMediaId, b: CallMediaId) {
        if a == b || !self.calls.contains_key(&a) || !self.calls.contains_key(&b) {
            return;
        }
        self.unbridge(a);
        self.unbridge(b);
        for (x, y) in [(a, b), (b, a)] {
            if let Some(c) = self.calls.get_mut(&x) {
                c.bridge = Some(y);
                c.relays = true;
            }
        }
    }

    /// Connects two calls' audio one way (a half-duplex CCXML join):
    /// `listener` hears `speaker`, `speaker` does not hear `listener`.
    pub fn bridge_half(&mut self, listener: CallMediaId, speaker: CallMediaId) {
        self.bridge(listener, speaker);
        if let Some(c) = self.calls.get_mut(&listener)
            && c.bridge.is_some()
        {
            c.relays = false;
        }
    }

    /// Disconnects a bridge (either side names it).
    pub fn unbridge(&mut self, id: CallMediaId) {
        let Some(other) = self.calls.get_mut(&id).and_then(|c| {
            c.relay_in.clear();
            c.bridge.take()
        }) else {
            return;
        };
        if let Some(o) = self.calls.get_mut(&other) {
            o.relay_in.clear();
            o.bridge = None;
        }
    }

    /// Creates, joins, leaves or destroys a conference: a joined call hears
    /// the others' mix (unless it plays a prompt) and is heard in it.
    pub fn handle_conference(&mut self, op: ConferenceOp) {
        if let ConferenceOp::Join { call, .. } = op {
            self.unbridge(call);
        }
        for call in self.mixer.handle_op(op) {
            if let Some(c) = self.calls.get_mut(&call) {
                c.relay_in.clear();
            }
        }
    }

    /// Ends a call's stream; returns its RTCP BYE.
    pub fn remove_call(&mut self, id: CallMediaId) -> Option<CallTransmit> {
        self.unbridge(id);
        self.mixer.handle_op(ConferenceOp::Leave(id));
        let call = self.calls.remove(&id)?;
        call.stream.bye().map(|t| CallTransmit {
            call: id,
            rtcp: true,
            to: t.to,
            bytes: t.bytes,
        })
    }

    /// Applies a re-negotiation (hold, resume, codec change).
    pub fn update_call(&mut self, id: CallMediaId, media: NegotiatedMedia) {
        if let Some(c) = self.calls.get_mut(&id) {
            c.stream.update(media);
        }
    }

    /// Starts playing `play` (replacing a play in progress, which ends as
    /// stopped). Its fetches and syntheses come out as `Render` events.
    pub fn start_play(&mut self, id: CallMediaId, play: &Play) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if let Some((old, _)) = c.play.take() {
            self.events.push_back(MediaEvent::PlayDone {
                call: id,
                play: old,
                stopped: true,
            });
        }
        c.vad = EnergyDetector::new(VadConfig::default());
        let mut r = PromptRenderer::new(play, self.render);
        while let Some(request) = r.poll_request() {
            self.events.push_back(MediaEvent::Render {
                call: id,
                play: play.id,
                request,
            });
        }
        c.play = Some((play.id, r));
    }

    /// Decoded audio for a `Render` fetch (`Err(())`: play the fallback).
    pub fn handle_audio(
        &mut self,
        id: CallMediaId,
        play: PlayId,
        req: RequestId,
        result: Result<Arc<[i16]>, ()>,
    ) {
        if let Some((p, r)) = self.calls.get_mut(&id).and_then(|c| c.play.as_mut())
            && *p == play
        {
            r.handle_audio(req, result);
            while let Some(request) = r.poll_request() {
                self.events.push_back(MediaEvent::Render {
                    call: id,
                    play,
                    request,
                });
            }
        }
    }

    /// Samples for a `Render` synthesis (`Err(())`: skip the text).
    pub fn handle_speech(
        &mut self,
        id: CallMediaId,
        play: PlayId,
        req: RequestId,
        result: Result<Arc<[i16]>, ()>,
    ) {
        if let Some((p, r)) = self.calls.get_mut(&id).and_then(|c| c.play.as_mut())
            && *p == play
        {
            r.handle_speech(req, result);
        }
    }

    /// Re-arms speech detection: the next speech start is reported again
    /// (call when a new input wait begins; `start_play` does it too).
    pub fn arm_speech_detection(&mut self, id: CallMediaId) {
        if let Some(c) = self.calls.get_mut(&id) {
            c.vad = EnergyDetector::new(VadConfig::default());
        }
    }

    /// Barge-in: the session's `StopPlayback`.
    pub fn stop_play(&mut self, id: CallMediaId) {
        if let Some((_, r)) = self.calls.get_mut(&id).and_then(|c| c.play.as_mut()) {
            r.stop();
        }
    }

    /// Starts a recording (after the current play, if the driver waits for
    /// `PlayDone` first; immediately otherwise).
    pub fn start_record(&mut self, id: CallMediaId, request: &RecordRequest) {
        if let Some(c) = self.calls.get_mut(&id) {
            c.recorder = Some(Recorder::new(request));
        }
    }

    /// Sends a DTMF key as RFC 4733 events; false when telephone-event was
    /// not negotiated (use SIP INFO).
    pub fn send_dtmf(&mut self, id: CallMediaId, digit: char) -> bool {
        self.calls
            .get_mut(&id)
            .is_some_and(|c| c.stream.queue_dtmf(digit))
    }

    /// A datagram from a call's RTP socket.
    pub fn handle_rtp(&mut self, id: CallMediaId, from: SocketAddr, datagram: &[u8], now: Instant) {
        if let Some(c) = self.calls.get_mut(&id) {
            c.stream.handle_rtp(from, datagram, now);
            Self::drain_stream(id, c, &mut self.events);
        }
    }

    /// A datagram from a call's RTCP socket.
    pub fn handle_rtcp(
        &mut self,
        id: CallMediaId,
        from: SocketAddr,
        datagram: &[u8],
        now: Instant,
    ) {
        if let Some(c) = self.calls.get_mut(&id) {
            c.stream.handle_rtcp(from, datagram, now);
            Self::drain_stream(id, c, &mut self.events);
        }
    }

    fn drain_stream(id: CallMediaId, c: &mut CallMedia, events: &mut VecDeque<MediaEvent>) {
        while let Some(ev) = c.stream.poll_event() {
            match ev {
                StreamEvent::Dtmf(digit) => {
                    if let Some(rec) = c.recorder.as_mut() {
                        rec.handle_dtmf(digit);
                        if let Some(result) = rec.poll_result() {
                            c.recorder = None;
                            events.push_back(MediaEvent::Recorded { call: id, result });
                        }
                    }
                    events.push_back(MediaEvent::Dtmf { call: id, digit });
                }
                StreamEvent::Bye => events.push_back(MediaEvent::RemoteBye { call: id }),
                StreamEvent::Latched(addr) => {
                    tracing::debug!(call = id.0, %addr, "RTP latched to the peer's source address");
                }
            }
        }
    }

    /// When `handle_timeout` next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mix = self.mixer.poll_timeout();
        match (self.wheel.next_deadline(), mix) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sends every frame due at `now` and processes what was received.
    pub fn handle_timeout(&mut self, now: Instant) {
        let calls = &mut self.calls;
        self.mixer.handle_timeout(now, |id, mixed| {
            if let Some(c) = calls.get_mut(&id) {
                c.relay_in.extend(mixed.iter().copied());
                let excess = c.relay_in.len().saturating_sub(MAX_RELAY);
                c.relay_in.drain(..excess);
            }
        });
        let mut due = std::mem::take(&mut self.due);
        self.wheel.poll_expired(now, &mut due);
        for (id, generation) in due.drain(..) {
            let Some(c) = self.calls.get_mut(&id) else {
                continue;
            };
            if c.generation != generation {
                continue;
            }
            let heard = Self::tick(id, c, now, &mut self.events, &mut self.transmits);
            self.wheel.insert(c.stream.next_send(), (id, generation));
            if heard && self.mixer.is_member(id) {
                self.mixer.handle_heard(id, &c.heard);
            }
            if heard
                && c.relays
                && let Some(other) = c.bridge
            {
                self.relay.clear();
                self.relay.extend_from_slice(&c.heard);
                if let Some(o) = self.calls.get_mut(&other) {
                    o.relay_in.extend(self.relay.iter().copied());
                    let excess = o.relay_in.len().saturating_sub(MAX_RELAY);
                    o.relay_in.drain(..excess);
                }
            }
        }
        self.due = due;
    }

    /// One frame time of one call; true when audio was received.
    fn tick(
        id: CallMediaId,
        c: &mut CallMedia,
        now: Instant,
        events: &mut VecDeque<MediaEvent>,
        transmits: &mut VecDeque<CallTransmit>,
    ) -> bool {
        let n = c.stream.frame_samples();
        c.frame.clear();
        c.frame.resize(n, 0);
        let mut have_audio = false;
        if let Some((play, r)) = c.play.as_mut() {
            let status = r.next_frame(&mut c.frame);
            have_audio = status == FrameStatus::Playing;
            let play = *play;
            let mut finished = false;
            while let Some(ev) = r.poll_event() {
                match ev {
                    RenderEvent::Mark { name, .. } => events.push_back(MediaEvent::Mark {
                        call: id,
                        play,
                        name,
                    }),
                    RenderEvent::Finished { stopped } => {
                        finished = true;
                        events.push_back(MediaEvent::PlayDone {
                            call: id,
                            play,
                            stopped,
                        });
                    }
                    RenderEvent::PromptStarted(_) => {}
                }
            }
            if finished {
                c.play = None;
            }
        } else if let Some(rec) = c.recorder.as_mut() {
            have_audio = rec.next_beep_frame(&mut c.frame);
        }
        // Relayed audio: a bridge's other side, or a conference's mix.
        if !have_audio && !c.relay_in.is_empty() {
            let k = c.relay_in.len().min(n);
            for (dst, src) in c.frame.iter_mut().zip(c.relay_in.drain(..k)) {
                *dst = src;
            }
            have_audio = true;
        }
        let frame = have_audio.then_some(c.frame.as_slice());
        if let Some(t) = c.stream.handle_send_tick(frame, now) {
            transmits.push_back(CallTransmit {
                call: id,
                rtcp: false,
                to: t.to,
                bytes: t.bytes,
            });
        }
        let heard = c.stream.poll_received_frame(&mut c.heard);
        if !heard {
            c.heard.clear();
            c.heard.resize(n, 0);
        }
        if c.vad.handle_frame(&c.heard) == Some(VadEvent::SpeechStart) {
            events.push_back(MediaEvent::SpeechStarted { call: id });
        }
        if let Some(rec) = c.recorder.as_mut() {
            rec.handle_frame(&c.heard);
            if let Some(result) = rec.poll_result() {
                c.recorder = None;
                events.push_back(MediaEvent::Recorded { call: id, result });
            }
        }
        if let Some(t) = c.stream.poll_rtcp(now) {
            transmits.push_back(CallTransmit {
                call: id,
                rtcp: true,
                to: t.to,
                bytes: t.bytes,
            });
        }
        heard
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<CallTransmit> {
        self.transmits.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::EventPayload;
    use crate::media::rtp::{RtpHeader, RtpPacket};
    use crate::media::tts::{SpeechSynthesizer, ToneSynthesizer};
    use crate::sdp::{Codec, Direction};
    use vxp_interpreter::vxml::session::{BargeinType, PromptPart, QueuedPrompt};

    fn negotiated() -> NegotiatedMedia {
        NegotiatedMedia {
            codec: Codec::Pcma,
            payload_type: 8,
            telephone_event: Some(96),
            ptime: 20,
            direction: Direction::SendRecv,
            remote_rtp: Some("127.0.0.1:40000".parse().unwrap()),
            remote_rtcp: Some("127.0.0.1:40001".parse().unwrap()),
        }
    }

    fn play(id: u64, text: &str) -> Play {
        Play {
            id: PlayId(id),
            prompts: vec![QueuedPrompt {
                parts: vec![
                    PromptPart::Text(text.into()),
                    PromptPart::Mark("end".into()),
                ],
                bargein: true,
                bargeintype: BargeinType::Speech,
                timeout: None,
                lang: None,
                loc: None,
            }],
        }
    }

    /// Runs the engine on a simulated clock, answering render requests with
    /// the tone synthesizer.
    fn run(e: &mut MediaEngine, t0: Instant, ms: u64) -> (Vec<CallTransmit>, Vec<MediaEvent>) {
        let mut sent = Vec::new();
        let mut events = Vec::new();
        let mut now = t0;
        while now <= t0 + Duration::from_millis(ms) {
            e.handle_timeout(now);
            sent.extend(std::iter::from_fn(|| e.poll_transmit()));
            while let Some(ev) = e.poll_event() {
                if let MediaEvent::Render {
                    call,
                    play,
                    request: RenderRequest::Speak { id, request },
                } = &ev
                {
                    let s = ToneSynthesizer.synthesize(request).unwrap();
                    e.handle_speech(*call, *play, *id, Ok(s));
                }
                events.push(ev);
            }
            now = e
                .poll_timeout()
                .unwrap_or(now + Duration::from_millis(1))
                .max(now + Duration::from_millis(1));
        }
        (sent, events)
    }

    #[test]
    fn plays_a_prompt_paced_at_ptime_and_reports_mark_and_done() {
        let t0 = Instant::now();
        let mut e = MediaEngine::new(t0);
        let id = CallMediaId(1);
        e.add_call(
            id,
            StreamConfig::new(negotiated(), "vxp", 0),
            SenderInit::random(),
            t0,
        );
        e.start_play(id, &play(5, "hello"));
        let (sent, events) = run(&mut e, t0, 1000);
        let rtp: Vec<_> = sent.iter().filter(|t| !t.rtcp).collect();
        assert_eq!(rtp.len(), 51);
        let audible = rtp
            .iter()
            .filter(|t| {
                RtpPacket::parse(&t.bytes)
                    .unwrap()
                    .payload
                    .iter()
                    .any(|&b| b != 0xd5)
            })
            .count();
        // "hello": 5 × 40 ms of tone = 10 frames (the 60 ms word gap is silent).
        assert_eq!(audible, 10);
        assert!(events.contains(&MediaEvent::Mark {
            call: id,
            play: PlayId(5),
            name: "end".into()
        }));
        assert!(events.contains(&MediaEvent::PlayDone {
            call: id,
            play: PlayId(5),
            stopped: false
        }));
    }

    #[test]
    fn speech_start_is_reported_once_per_arming() {
        let t0 = Instant::now();
        let mut e = MediaEngine::new(t0);
        let id = CallMediaId(3);
        e.add_call(
            id,
            StreamConfig::new(negotiated(), "vxp", 0),
            SenderInit::random(),
            t0,
        );
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let mut now = t0;
        let mut starts = 0;
        for seq in 0..60u16 {
            if seq == 30 {
                e.arm_speech_detection(id);
            }
            let mut buf = Vec::new();
            RtpHeader {
                marker: false,
                payload_type: 8,
                sequence: seq,
                timestamp: u32::from(seq) * 160,
                ssrc: 11,
            }
            .write(&[0xaa; 160], &mut buf);
            e.handle_rtp(id, peer, &buf, now);
            e.handle_timeout(now);
            while let Some(ev) = e.poll_event() {
                starts += usize::from(ev == MediaEvent::SpeechStarted { call: id });
            }
            now += Duration::from_millis(20);
        }
        assert_eq!(starts, 2);
    }

    #[test]
    fn a_half_duplex_bridge_relays_the_speaker_to_the_listener_only() {
        let t0 = Instant::now();
        let mut e = MediaEngine::new(t0);
        let (listener, speaker) = (CallMediaId(1), CallMediaId(2));
        for (id, port) in [(listener, 50000), (speaker, 50002)] {
            let mut media = negotiated();
            media.remote_rtp = Some(SocketAddr::from(([127, 0, 0, 1], port)));
            media.remote_rtcp = None;
            e.add_call(
                id,
                StreamConfig::new(media, "vxp", 0),
                SenderInit::random(),
                t0,
            );
        }
        e.bridge_half(listener, speaker);
        // Both callers talk (A-law 0xaa): only the speaker's voice crosses.
        let mut now = t0;
        let (mut to_listener, mut to_speaker) = (0, 0);
        for seq in 0..20u16 {
            for (id, port) in [(listener, 40000), (speaker, 40002)] {
                let mut buf = Vec::new();
                RtpHeader {
                    marker: seq == 0,
                    payload_type: 8,
                    sequence: seq,
                    timestamp: u32::from(seq) * 160,
                    ssrc: 11 + u32::from(port),
                }
                .write(&[0xaa; 160], &mut buf);
                e.handle_rtp(id, SocketAddr::from(([127, 0, 0, 1], port)), &buf, now);
            }
            e.handle_timeout(now);
            while let Some(t) = e.poll_transmit() {
                if t.rtcp {
                    continue;
                }
                let p = RtpPacket::parse(&t.bytes).unwrap();
                if p.payload.iter().all(|&x| x == 0xaa) {
                    if t.call == listener {
                        to_listener += 1;
                    } else {
                        to_speaker += 1;
                    }
                }
            }
            now += Duration::from_millis(20);
        }
        assert!(to_listener >= 15, "{to_listener}");
        assert_eq!(to_speaker, 0);
        // A full bridge afterwards relays both ways again.
        e.bridge(listener, speaker);
        assert!(e.calls.values().all(|c| c.relays));
    }

    #[test]
    fn bridged_calls_hear_each_other() {
        let t0 = Instant::now();
        let mut e = MediaEngine::new(t0);
        let (a, b) = (CallMediaId(1), CallMediaId(2));
        let mut to_b = negotiated();
        to_b.remote_rtp = Some("127.0.0.1:50000".parse().unwrap());
        to_b.remote_rtcp = None;
        e.add_call(
            a,
            StreamConfig::new(negotiated(), "vxp", 0),
            SenderInit::random(),
            t0,
        );
        e.add_call(
            b,
            StreamConfig::new(to_b, "vxp", 0),
            SenderInit::random(),
            t0,
        );
        e.bridge(a, b);
        // The caller on A talks: A-law code 0xaa (32256) in every sample.
        let peer_a: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let mut now = t0;
        let mut heard_on_b = 0;
        for seq in 0..20u16 {
            let mut buf = Vec::new();
            RtpHeader {
                marker: seq == 0,
                payload_type: 8,
                sequence: seq,
                timestamp: u32::from(seq) * 160,
                ssrc: 11,
            }
            .write(&[0xaa; 160], &mut buf);
            e.handle_rtp(a, peer_a, &buf, now);
            e.handle_timeout(now);
            while let Some(t) = e.poll_transmit() {
                if t.call == b && !t.rtcp {
                    let p = RtpPacket::parse(&t.bytes).unwrap();
                    if p.payload.iter().all(|&x| x == 0xaa) {
                        heard_on_b += 1;
                    }
                }
            }
            now += Duration::from_millis(20);
        }
        // Three packets of jitter buffer, one frame of relay: the rest is heard.
        assert!(heard_on_b >= 15, "{heard_on_b}");
        e.unbridge(b);
        assert!(
            e.calls
                .values()
                .all(|c| c.bridge.is_none() && c.relay_in.is_empty())
        );
    }

    #[test]
    fn dtmf_in_bargein_and_record() {
        let t0 = Instant::now();
        let mut e = MediaEngine::new(t0);
        let id = CallMediaId(7);
        e.add_call(
            id,
            StreamConfig::new(negotiated(), "vxp", 0),
            SenderInit::random(),
            t0,
        );
        e.start_play(id, &play(1, "a long prompt that goes on and on"));
        run(&mut e, t0, 100);
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let mut buf = Vec::new();
        RtpHeader {
            marker: true,
            payload_type: 96,
            sequence: 1,
            timestamp: 0,
            ssrc: 3,
        }
        .write(
            &EventPayload {
                event: 3,
                end: true,
                volume: 10,
                duration: 800,
            }
            .to_bytes(),
            &mut buf,
        );
        e.handle_rtp(id, peer, &buf, t0 + Duration::from_millis(100));
        e.handle_rtp(id, peer, &buf, t0 + Duration::from_millis(101));
        assert_eq!(
            e.poll_event(),
            Some(MediaEvent::Dtmf {
                call: id,
                digit: '3'
            })
        );
        assert_eq!(e.poll_event(), None);
        e.stop_play(id);
        let (_, events) = run(&mut e, t0 + Duration::from_millis(120), 40);
        assert!(events.contains(&MediaEvent::PlayDone {
            call: id,
            play: PlayId(1),
            stopped: true
        }));
        e.start_record(
            id,
            &RecordRequest {
                name: "r".into(),
                beep: true,
                maxtime: Duration::from_secs(30),
                finalsilence: Duration::from_secs(1),
                dtmfterm: true,
                media_type: "audio/wav".into(),
                timeout: Duration::from_secs(2),
            },
        );
        let (sent, events) = run(&mut e, t0 + Duration::from_millis(200), 2500);
        assert!(events.contains(&MediaEvent::Recorded {
            call: id,
            result: RecordResult::NoInput
        }));
        // The beep went out: 10 audible frames.
        let audible = sent
            .iter()
            .filter(|t| !t.rtcp)
            .filter(|t| {
                RtpPacket::parse(&t.bytes)
                    .unwrap()
                    .payload
                    .iter()
                    .any(|&b| b != 0xd5)
            })
            .count();
        assert_eq!(audible, 10);
        assert!(e.remove_call(id).is_some());
        assert!(e.is_empty());
    }
}
