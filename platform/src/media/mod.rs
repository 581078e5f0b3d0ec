//! Media for real calls: G.711, RTP/RTCP, RFC 4733 DTMF, audio files,
//! text-to-speech, prompt rendering and recording.
//!
//! Everything here is a core without I/O except [`tts::EspeakSynthesizer`],
//! which runs the `espeak-ng` program and is meant to be called off the media
//! path (a blocking thread), and [`driver`], the media thread with the UDP
//! sockets. The pieces:
//!
//! - [`g711`]: µ-law/A-law sample codecs.
//! - [`rtp`], [`rtcp`]: packet parse/build (RFC 3550).
//! - [`sender::RtpSender`]: sequence numbers, timestamps, marker, SSRC.
//! - [`jitter::RtpReceiver`]: jitter buffer and RFC 3550 A.8 statistics.
//! - [`dtmf`]: RFC 4733 telephone-event receive and send.
//! - [`stream::MediaStream`]: one call's RTP stream: the above combined,
//!   symmetric RTP, RTCP reports.
//! - [`wheel::TimerWheel`]: one timer structure pacing every stream's sends.
//! - [`audio`]: WAV/raw decoding to 8 kHz mono, with [`resample`].
//! - [`tts`]: the [`tts::SpeechSynthesizer`] interface, espeak-ng and a
//!   deterministic tone synthesizer for tests, a phrase cache.
//! - [`render::PromptRenderer`]: a VoiceXML `Play` as 8 kHz frames with marks.
//! - [`record::Recorder`] and [`vad::EnergyDetector`]: `<record>` and speech
//!   detection.
//! - [`mixer::Mixer`]: CCXML conferences, each participant hearing the sum
//!   of the others.
//! - [`engine::MediaEngine`]: all calls' streams, prompts and recordings on
//!   one timer wheel; [`driver::MediaDriver`]: the thread and sockets around
//!   it, the ready-made media path for `vxp serve`.
//!
//! The driver loop for one tick of the media thread:
//!
//! ```text
//! for key in wheel.poll_expired(now) {            // streams due to send
//!     let frame = renderer.next_frame();            // 20 ms of samples (or silence)
//!     if let Some(t) = stream.handle_send_tick(frame.samples(), now) { socket.send_to(&t.bytes, t.to) }
//!     wheel.insert(stream.next_send(), key);
//! }
//! // on a datagram: stream.handle_rtp(from, &buf, now); then drain stream.poll_event()
//! // and stream.poll_received_frame(now) for recording and speech detection.
//! ```

pub mod audio;
pub mod driver;
pub mod dtmf;
pub mod engine;
pub mod g711;
pub mod jitter;
pub mod mixer;
pub mod record;
pub mod render;
pub mod resample;
pub mod rtcp;
pub mod rtp;
pub mod sender;
pub mod stream;
pub mod tts;
pub mod vad;
pub mod wheel;

#[cfg(test)]
mod robustness;
