//! The media thread: the only I/O around [`MediaEngine`]. One OS thread runs
//! a current-thread tokio runtime with the engine, one UDP socket pair
//! (RTP, RTCP) per call and a receive task per socket; sends are paced by
//! the engine's timer wheel from this one loop, so no call owns a timer or
//! a sending task, and nothing a session does (page fetches, scripts) runs
//! on this thread.
//!
//! ```text
//! let (media, mut events) = MediaDriver::spawn(MediaDriverConfig::default(), synthesizer)?;
//! let port = media.open(id).await?;                 // for the SDP answer
//! media.start(id, StreamConfig::new(negotiated, cname, ntp));
//! media.play(id, play);                              // Session Output::Play
//! while let Some(ev) = events.recv().await {
//!     // MediaEvent::Render { request: Fetch { .. } } → fetch, then media.deliver_audio(...)
//!     // Dtmf / Mark / PlayDone / Recorded / SpeechStarted → the call's session
//! }
//! media.close(id);
//! ```
//!
//! Text-to-speech requests are served here with the given
//! [`SpeechSynthesizer`] on tokio's blocking pool; audio files are fetched
//! by the caller (it owns the fetcher), decoded on the blocking pool and
//! kept decoded by URL and content.
//!
//! Timing (issue 6: p99 send jitter under 2 ms at 1,000 calls on a loaded
//! machine): the thread asks for a real-time scheduling class
//! ([`MediaScheduling`]; SCHED_FIFO at a modest priority, a raised nice
//! value when that is refused) so other processes' work cannot hold a due
//! frame, and blocking-pool threads it spawns drop back to the normal class.
//! The loop sleeps on a `timerfd` armed for the wheel's next tick to the
//! nanosecond, because tokio's own timer rounds every sleep up to its
//! millisecond clock and wakes up to 1 ms late by a varying amount, which
//! alone is a millisecond of jitter.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::time::Instant;

use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
    timerfd_settime,
};
use thread_priority::{
    NormalThreadSchedulePolicy, RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue,
    ThreadSchedulePolicy,
};
use tokio::io::unix::AsyncFd;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use url::Url;
use vxp_interpreter::vxml::session::{Play, PlayId, RecordRequest};

use super::audio;
use super::engine::{CallMediaId, MediaEngine, MediaEvent};
use super::mixer::ConferenceOp;
use super::render::{RenderRequest, RequestId};
use super::sender::SenderInit;
use super::stream::StreamConfig;
use super::tts::SpeechSynthesizer;
use crate::sdp::NegotiatedMedia;

/// Where the media thread binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDriverConfig {
    /// Local address for RTP sockets.
    pub bind: IpAddr,
    /// RTP ports (even numbers are used for RTP, the next odd one for
    /// RTCP). `0..=0` binds ephemeral ports (tests).
    pub rtp_ports: RangeInclusive<u16>,
    /// How the media thread asks to be scheduled.
    pub scheduling: MediaScheduling,
}

impl Default for MediaDriverConfig {
    fn default() -> Self {
        MediaDriverConfig {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rtp_ports: 20000..=29999,
            scheduling: MediaScheduling::default(),
        }
    }
}

/// The media thread's scheduling class (`[media]` in `vxp.toml`).
///
/// Real-time needs root, `CAP_SYS_NICE` or an `RLIMIT_RTPRIO` (`ulimit -r`)
/// at least `priority`; a raised nice value needs `CAP_SYS_NICE` or an
/// `RLIMIT_NICE`. Without them the thread keeps the normal class and a
/// warning says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaScheduling {
    /// Ask for SCHED_FIFO.
    pub realtime: bool,
    /// SCHED_FIFO priority, 1 (lowest) to 99.
    pub priority: u8,
    /// Nice value (-20 to 19) used when real-time is off or refused; 0
    /// leaves the thread as it is.
    pub nice: i8,
}

impl Default for MediaScheduling {
    fn default() -> Self {
        MediaScheduling {
            realtime: true,
            // Above every normal thread, below the kernel's interrupt
            // threads (50) and anything an administrator ranks higher.
            priority: 10,
            nice: -10,
        }
    }
}

/// The class the media thread got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulingOutcome {
    /// SCHED_FIFO at this priority.
    Realtime(u8),
    /// The normal class at this nice value.
    Nice(i8),
    /// Nothing was changed (not asked, or refused).
    Unchanged,
}

/// Puts the calling thread in the class `s` asks for, falling back from
/// real-time to a raised nice value, and logs what it got.
pub fn apply_media_scheduling(s: &MediaScheduling) -> SchedulingOutcome {
    if s.realtime {
        let applied = ThreadPriorityValue::try_from(s.priority.clamp(1, 99))
            .map_err(|e| e.to_string())
            .and_then(|value| {
                thread_priority::set_thread_priority_and_policy(
                    thread_priority::thread_native_id(),
                    ThreadPriority::Crossplatform(value),
                    ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
                )
                .map_err(|e| e.to_string())
            });
        match applied {
            Ok(()) => {
                tracing::info!(priority = s.priority, "media thread runs SCHED_FIFO");
                return SchedulingOutcome::Realtime(s.priority.clamp(1, 99));
            }
            Err(error) => tracing::warn!(
                %error,
                "media thread cannot run real-time (needs root, CAP_SYS_NICE or ulimit -r); \
                 RTP timing suffers when the machine is busy"
            ),
        }
    }
    if s.nice == 0 {
        return SchedulingOutcome::Unchanged;
    }
    // On Linux the nice value is per thread: this changes the media thread
    // only.
    match rustix::process::setpriority_process(None, i32::from(s.nice.clamp(-20, 19))) {
        Ok(()) => {
            tracing::info!(nice = s.nice, "media thread runs at a raised nice value");
            SchedulingOutcome::Nice(s.nice.clamp(-20, 19))
        }
        Err(error) => {
            tracing::warn!(%error, nice = s.nice, "media thread keeps the default priority");
            SchedulingOutcome::Unchanged
        }
    }
}

/// Puts the calling thread back in the normal class at nice 0. Threads
/// inherit their creator's class, so the blocking pool (decoding, text to
/// speech) spawned from the media thread would otherwise compete with it.
fn reset_to_normal_scheduling() {
    let normal = ThreadPriorityValue::try_from(50u8)
        .map_err(|e| e.to_string())
        .and_then(|value| {
            thread_priority::set_thread_priority_and_policy(
                thread_priority::thread_native_id(),
                ThreadPriority::Crossplatform(value),
                ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
            )
            .map_err(|e| e.to_string())
        })
        .and_then(|()| rustix::process::setpriority_process(None, 0).map_err(|e| e.to_string()));
    if let Err(error) = normal {
        tracing::debug!(%error, "blocking thread keeps the media thread's class");
    }
}

/// A one-shot `timerfd` on the monotonic clock, woken through tokio's
/// reactor, so a tick starts within microseconds of its instant.
struct TickTimer {
    fd: AsyncFd<OwnedFd>,
    armed: Option<Instant>,
}

impl TickTimer {
    fn new() -> io::Result<Self> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // `AsyncFd::new` is deprecated because a borrowed descriptor could be
        // closed while registered; an `OwnedFd` moved into the `AsyncFd`
        // is closed only after `AsyncFd` deregisters it on drop, which is
        // the condition the (unsafe) `register` asks callers to uphold.
        #[allow(deprecated)]
        let fd = AsyncFd::new(fd)?;
        Ok(TickTimer { fd, armed: None })
    }

    /// Returns at `deadline` (at once when it has passed).
    async fn wait_until(&mut self, deadline: Instant) -> io::Result<()> {
        if self.armed != Some(deadline) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            let value = Timespec {
                tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(left.subsec_nanos()),
            };
            timerfd_settime(
                self.fd.get_ref(),
                TimerfdTimerFlags::empty(),
                &Itimerspec {
                    it_interval: zero,
                    it_value: value,
                },
            )?;
            self.armed = Some(deadline);
        }
        loop {
            let mut ready = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            match rustix::io::read(self.fd.get_ref(), &mut expirations) {
                Ok(_) => {
                    self.armed = None;
                    return Ok(());
                }
                Err(rustix::io::Errno::AGAIN) => ready.clear_ready(),
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// Sleeps until `deadline` on the precise timer, or on tokio's when there
/// is none; never returns without one.
async fn sleep_until(timer: Option<&mut TickTimer>, deadline: Option<Instant>) {
    let Some(deadline) = deadline else {
        return std::future::pending().await;
    };
    if let Some(timer) = timer {
        match timer.wait_until(deadline).await {
            Ok(()) => return,
            Err(error) => tracing::warn!(%error, "media timerfd failed; using tokio's timer"),
        }
    }
    tokio::time::sleep_until(deadline.into()).await;
}

enum Command {
    Open(CallMediaId, oneshot::Sender<io::Result<u16>>),
    Start(CallMediaId, Box<StreamConfig>),
    Update(CallMediaId, Box<NegotiatedMedia>),
    Play(CallMediaId, Box<Play>),
    StopPlay(CallMediaId),
    ArmSpeech(CallMediaId),
    Record(CallMediaId, Box<RecordRequest>),
    Dtmf(CallMediaId, char),
    Bridge(CallMediaId, CallMediaId),
    BridgeHalf(CallMediaId, CallMediaId),
    Unbridge(CallMediaId),
    Conference(ConferenceOp),
    Close(CallMediaId),
    Decoded(CallMediaId, PlayId, RequestId, Result<Arc<[i16]>, ()>),
    Spoken(CallMediaId, PlayId, RequestId, Result<Arc<[i16]>, ()>),
    Datagram {
        call: CallMediaId,
        rtcp: bool,
        from: SocketAddr,
        bytes: Vec<u8>,
    },
}

/// The handle the call side uses; cheap to clone.
#[derive(Clone)]
pub struct MediaDriver {
    tx: mpsc::UnboundedSender<Command>,
    decoded: DecodedCache,
}

/// Decoded prompts by URL and content hash, so a file played on every call
/// is decoded and resampled once; weighed in samples.
type DecodedCache = moka::sync::Cache<(String, u64), Arc<[i16]>>;

/// Decoded audio kept: ten minutes at 8 kHz (about 9.6 MB).
const DECODED_CACHE_SAMPLES: u64 = 8000 * 600;

fn content_hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

impl std::fmt::Debug for MediaDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MediaDriver").finish_non_exhaustive()
    }
}

impl MediaDriver {
    /// Starts the media thread; events come out of the returned receiver.
    pub fn spawn(
        config: MediaDriverConfig,
        synthesizer: Arc<dyn SpeechSynthesizer>,
    ) -> io::Result<(MediaDriver, mpsc::UnboundedReceiver<MediaEvent>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let loop_tx = tx.clone();
        std::thread::Builder::new()
            .name("vxp-media".into())
            .spawn(move || {
                apply_media_scheduling(&config.scheduling);
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .on_thread_start(reset_to_normal_scheduling)
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot start the media runtime");
                        return;
                    }
                };
                let media = MediaLoop {
                    config,
                    synthesizer,
                    engine: MediaEngine::new(Instant::now()),
                    calls: HashMap::new(),
                    tx: loop_tx,
                    events: events_tx,
                    next_port: 0,
                };
                rt.block_on(media.run(rx));
            })?;
        let decoded = moka::sync::Cache::builder()
            .max_capacity(DECODED_CACHE_SAMPLES)
            .weigher(|_k: &(String, u64), v: &Arc<[i16]>| {
                u32::try_from(v.len().max(1)).unwrap_or(u32::MAX)
            })
            .build();
        Ok((MediaDriver { tx, decoded }, events_rx))
    }

    fn send(&self, c: Command) {
        // The media thread only stops when every handle is dropped.
        let _ = self.tx.send(c);
    }

    /// Binds the call's sockets; returns the RTP port for the SDP.
    pub async fn open(&self, id: CallMediaId) -> io::Result<u16> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Open(id, tx));
        rx.await
            .map_err(|_| io::Error::other("the media thread has stopped"))?
    }

    /// Starts sending and receiving once the SDP is agreed.
    pub fn start(&self, id: CallMediaId, config: StreamConfig) {
        self.send(Command::Start(id, Box::new(config)));
    }

    /// Applies a re-negotiation.
    pub fn update(&self, id: CallMediaId, media: NegotiatedMedia) {
        self.send(Command::Update(id, Box::new(media)));
    }

    /// Plays prompts.
    pub fn play(&self, id: CallMediaId, play: Play) {
        self.send(Command::Play(id, Box::new(play)));
    }

    /// Barge-in.
    pub fn stop_play(&self, id: CallMediaId) {
        self.send(Command::StopPlay(id));
    }

    /// Re-arms speech detection for a new input wait.
    pub fn arm_speech_detection(&self, id: CallMediaId) {
        self.send(Command::ArmSpeech(id));
    }

    /// Records.
    pub fn record(&self, id: CallMediaId, request: RecordRequest) {
        self.send(Command::Record(id, Box::new(request)));
    }

    /// Sends a DTMF key as RFC 4733 events.
    pub fn send_dtmf(&self, id: CallMediaId, digit: char) {
        self.send(Command::Dtmf(id, digit));
    }

    /// Relays audio between two calls (bridge transfer).
    pub fn bridge(&self, a: CallMediaId, b: CallMediaId) {
        self.send(Command::Bridge(a, b));
    }

    /// Relays `speaker`'s audio to `listener` only (half-duplex join).
    pub fn bridge_half(&self, listener: CallMediaId, speaker: CallMediaId) {
        self.send(Command::BridgeHalf(listener, speaker));
    }

    /// Ends a bridge.
    pub fn unbridge(&self, id: CallMediaId) {
        self.send(Command::Unbridge(id));
    }

    /// A conference request for the mixer.
    pub fn conference(&self, op: ConferenceOp) {
        self.send(Command::Conference(op));
    }

    /// Closes the call's sockets (after an RTCP BYE).
    pub fn close(&self, id: CallMediaId) {
        self.send(Command::Close(id));
    }

    /// Answers a `Render { Fetch }` event with the fetched bytes (decoded on
    /// the blocking pool), or `None` when the fetch failed.
    pub fn deliver_audio(
        &self,
        id: CallMediaId,
        play: PlayId,
        request: RequestId,
        fetched: Option<(Arc<[u8]>, Option<String>, Url)>,
    ) {
        let tx = self.tx.clone();
        let Some((bytes, content_type, url)) = fetched else {
            self.send(Command::Decoded(id, play, request, Err(())));
            return;
        };
        let cache = self.decoded.clone();
        let decode = move || {
            let key = (url.as_str().to_string(), content_hash(&bytes));
            let result = match cache.get(&key) {
                Some(hit) => Ok(hit),
                None => audio::decode(&bytes, content_type.as_deref(), Some(url.path()))
                    .map(Arc::from)
                    .inspect(|samples: &Arc<[i16]>| cache.insert(key, samples.clone()))
                    .map_err(|e| {
                        tracing::debug!(%url, error = %e, "audio file not playable; fallback");
                    }),
            };
            let _ = tx.send(Command::Decoded(id, play, request, result));
        };
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn_blocking(decode);
            }
            Err(_) => decode(),
        }
    }
}

struct CallSockets {
    rtp: Arc<UdpSocket>,
    rtcp: Option<Arc<UdpSocket>>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for CallSockets {
    fn drop(&mut self) {
        for r in &self.readers {
            r.abort();
        }
    }
}

struct MediaLoop {
    config: MediaDriverConfig,
    synthesizer: Arc<dyn SpeechSynthesizer>,
    engine: MediaEngine,
    calls: HashMap<CallMediaId, CallSockets>,
    tx: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedSender<MediaEvent>,
    next_port: u16,
}

impl MediaLoop {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        let mut timer = TickTimer::new()
            .inspect_err(|error| {
                tracing::warn!(%error, "no timerfd: media ticks use tokio's 1 ms timer");
            })
            .ok();
        loop {
            let deadline = self.engine.poll_timeout();
            tokio::select! {
                biased;
                () = sleep_until(timer.as_mut(), deadline) => {
                    self.engine.handle_timeout(Instant::now());
                }
                cmd = rx.recv() => match cmd {
                    Some(c) => self.handle(c).await,
                    None => return,
                },
            }
            self.flush();
        }
    }

    fn flush(&mut self) {
        while let Some(t) = self.engine.poll_transmit() {
            let Some(s) = self.calls.get(&t.call) else {
                continue;
            };
            let socket = if t.rtcp {
                s.rtcp.as_ref()
            } else {
                Some(&s.rtp)
            };
            if let Some(socket) = socket
                && let Err(e) = socket.try_send_to(&t.bytes, t.to)
            {
                tracing::debug!(call = t.call.0, to = %t.to, error = %e, "RTP send failed");
            }
        }
        while let Some(ev) = self.engine.poll_event() {
            match ev {
                MediaEvent::Render {
                    call,
                    play,
                    request: RenderRequest::Speak { id, request },
                } => {
                    let synth = self.synthesizer.clone();
                    let tx = self.tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let result = synth.synthesize(&request).map_err(|e| {
                            tracing::warn!(error = %e, "text-to-speech failed; the text is skipped");
                        });
                        let _ = tx.send(Command::Spoken(call, play, id, result));
                    });
                }
                other => {
                    let _ = self.events.send(other);
                }
            }
        }
    }

    async fn bind_pair(&mut self) -> io::Result<(UdpSocket, Option<UdpSocket>)> {
        let (lo, hi) = (*self.config.rtp_ports.start(), *self.config.rtp_ports.end());
        if lo == 0 {
            let rtp = UdpSocket::bind(SocketAddr::new(self.config.bind, 0)).await?;
            return Ok((rtp, None));
        }
        let first = lo + lo % 2;
        let count = (hi.saturating_sub(first) / 2).max(1);
        for _ in 0..count {
            let port = first + (self.next_port % count) * 2;
            self.next_port = self.next_port.wrapping_add(1);
            let Ok(rtp) = UdpSocket::bind(SocketAddr::new(self.config.bind, port)).await else {
                continue;
            };
            let Ok(rtcp) = UdpSocket::bind(SocketAddr::new(self.config.bind, port + 1)).await
            else {
                continue;
            };
            return Ok((rtp, Some(rtcp)));
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            "no free RTP port pair in the configured range",
        ))
    }

    fn reader(&self, call: CallMediaId, socket: Arc<UdpSocket>, rtcp: bool) -> JoinHandle<()> {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            loop {
                match socket.recv_from(&mut buf).await {
                    Ok((n, from)) => {
                        let bytes = buf[..n].to_vec();
                        if tx
                            .send(Command::Datagram {
                                call,
                                rtcp,
                                from,
                                bytes,
                            })
                            .is_err()
                        {
                            return;
                        }
                    }
                    // ICMP port unreachable surfaces as an error on some
                    // systems: keep reading.
                    Err(e) => tracing::trace!(error = %e, "RTP receive error"),
                }
            }
        })
    }

    async fn handle(&mut self, c: Command) {
        let now = Instant::now();
        match c {
            Command::Open(id, reply) => {
                let result = self.bind_pair().await.and_then(|(rtp, rtcp)| {
                    let port = rtp.local_addr()?.port();
                    let rtp = Arc::new(rtp);
                    let rtcp = rtcp.map(Arc::new);
                    let mut readers = vec![self.reader(id, rtp.clone(), false)];
                    if let Some(r) = &rtcp {
                        readers.push(self.reader(id, r.clone(), true));
                    }
                    self.calls.insert(id, CallSockets { rtp, rtcp, readers });
                    Ok(port)
                });
                let _ = reply.send(result);
            }
            Command::Start(id, config) => {
                self.engine.add_call(id, *config, SenderInit::random(), now);
            }
            Command::Update(id, media) => self.engine.update_call(id, *media),
            Command::Play(id, play) => self.engine.start_play(id, &play),
            Command::StopPlay(id) => self.engine.stop_play(id),
            Command::ArmSpeech(id) => self.engine.arm_speech_detection(id),
            Command::Record(id, req) => self.engine.start_record(id, &req),
            Command::Dtmf(id, d) => {
                if !self.engine.send_dtmf(id, d) {
                    tracing::debug!(call = id.0, digit = %d, "telephone-event not negotiated");
                }
            }
            Command::Bridge(a, b) => self.engine.bridge(a, b),
            Command::BridgeHalf(listener, speaker) => self.engine.bridge_half(listener, speaker),
            Command::Unbridge(id) => self.engine.unbridge(id),
            Command::Conference(op) => self.engine.handle_conference(op),
            Command::Close(id) => {
                if let Some(bye) = self.engine.remove_call(id)
                    && let Some(s) = self.calls.get(&id)
                    && let Some(rtcp) = &s.rtcp
                {
                    let _ = rtcp.try_send_to(&bye.bytes, bye.to);
                }
                self.calls.remove(&id);
            }
            Command::Decoded(id, play, req, result) => {
                self.engine.handle_audio(id, play, req, result);
            }
            Command::Spoken(id, play, req, result) => {
                self.engine.handle_speech(id, play, req, result);
            }
            Command::Datagram {
                call,
                rtcp,
                from,
                bytes,
            } => {
                if rtcp {
                    self.engine.handle_rtcp(call, from, &bytes, now);
                } else {
                    self.engine.handle_rtp(call, from, &bytes, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::dtmf::EventPayload;
    use crate::media::rtp::{RtpHeader, RtpPacket};
    use crate::media::tts::ToneSynthesizer;
    use crate::sdp::{Codec, Direction};
    use std::time::Duration;
    use vxp_interpreter::vxml::session::{AudioFetch, BargeinType, PromptPart, QueuedPrompt};

    #[tokio::test]
    async fn fetched_audio_is_decoded_and_played() {
        let (media, mut events) = MediaDriver::spawn(
            MediaDriverConfig {
                bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
                rtp_ports: 0..=0,
                ..MediaDriverConfig::default()
            },
            Arc::new(ToneSynthesizer),
        )
        .unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let id = CallMediaId(2);
        media.open(id).await.unwrap();
        media.start(
            id,
            StreamConfig::new(
                NegotiatedMedia {
                    codec: Codec::Pcmu,
                    payload_type: 0,
                    telephone_event: None,
                    ptime: 20,
                    direction: Direction::SendRecv,
                    remote_rtp: Some(peer.local_addr().unwrap()),
                    remote_rtcp: None,
                },
                "vxp@test",
                0,
            ),
        );
        let url = Url::parse("http://apps/hello.ul").unwrap();
        media.play(
            id,
            Play {
                id: PlayId(3),
                prompts: vec![QueuedPrompt {
                    parts: vec![PromptPart::Audio {
                        src: Some(url.clone()),
                        fallback: vec![],
                        fetch: AudioFetch::default(),
                    }],
                    bargein: true,
                    bargeintype: BargeinType::Speech,
                    timeout: None,
                    lang: None,
                    loc: None,
                }],
            },
        );
        let ev = tokio::time::timeout(Duration::from_secs(2), events.recv())
            .await
            .unwrap()
            .unwrap();
        let MediaEvent::Render {
            call,
            play,
            request:
                RenderRequest::Fetch {
                    id: req,
                    url: asked,
                    ..
                },
        } = ev
        else {
            panic!("expected a fetch, got {ev:?}");
        };
        assert_eq!(asked, url);
        // 100 ms of loud µ-law (code 0x80).
        media.deliver_audio(
            call,
            play,
            req,
            Some((Arc::from(vec![0x80u8; 800]), None, url)),
        );
        let mut loud = 0;
        let mut buf = [0u8; 2048];
        while let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_millis(300), peer.recv_from(&mut buf)).await
        {
            let p = RtpPacket::parse(&buf[..n]).unwrap();
            loud += usize::from(p.payload.iter().all(|&b| b == 0x80));
            if loud == 5 {
                break;
            }
        }
        assert_eq!(loud, 5);
        media.close(id);
    }

    #[tokio::test]
    async fn loopback_call_plays_paced_rtp_and_hears_dtmf() {
        let (media, mut events) = MediaDriver::spawn(
            MediaDriverConfig {
                bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
                rtp_ports: 0..=0,
                ..MediaDriverConfig::default()
            },
            Arc::new(ToneSynthesizer),
        )
        .unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let id = CallMediaId(1);
        let port = media.open(id).await.unwrap();
        let ours: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        media.start(
            id,
            StreamConfig::new(
                NegotiatedMedia {
                    codec: Codec::Pcmu,
                    payload_type: 0,
                    telephone_event: Some(101),
                    ptime: 20,
                    direction: Direction::SendRecv,
                    remote_rtp: Some(peer.local_addr().unwrap()),
                    remote_rtcp: None,
                },
                "vxp@test",
                0,
            ),
        );
        media.play(
            id,
            Play {
                id: PlayId(9),
                prompts: vec![QueuedPrompt {
                    parts: vec![PromptPart::Text("hello".into())],
                    bargein: true,
                    bargeintype: BargeinType::Speech,
                    timeout: None,
                    lang: None,
                    loc: None,
                }],
            },
        );
        // Receive 400 ms of packets.
        let mut buf = [0u8; 2048];
        let mut arrivals = Vec::new();
        let mut audible = 0;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(400) {
            let Ok(Ok((n, _))) =
                tokio::time::timeout(Duration::from_millis(100), peer.recv_from(&mut buf)).await
            else {
                continue;
            };
            let p = RtpPacket::parse(&buf[..n]).unwrap();
            if p.payload.iter().any(|&b| b != 0xff) {
                audible += 1;
            }
            arrivals.push((Instant::now(), p.sequence));
        }
        // 20 packets in 400 ms; a loaded machine may delay a few.
        assert!((12..=24).contains(&arrivals.len()), "{}", arrivals.len());
        assert!(
            arrivals
                .windows(2)
                .all(|w| w[1].1 == w[0].1.wrapping_add(1))
        );
        assert_eq!(audible, 10);
        // The peer presses 4.
        let mut pkt = Vec::new();
        RtpHeader {
            marker: true,
            payload_type: 101,
            sequence: 5,
            timestamp: 800,
            ssrc: 77,
        }
        .write(
            &EventPayload {
                event: 4,
                end: true,
                volume: 10,
                duration: 800,
            }
            .to_bytes(),
            &mut pkt,
        );
        for _ in 0..3 {
            peer.send_to(&pkt, ours).await.unwrap();
        }
        let mut got = Vec::new();
        while let Ok(Some(ev)) =
            tokio::time::timeout(Duration::from_millis(300), events.recv()).await
        {
            got.push(ev);
        }
        assert!(got.contains(&MediaEvent::PlayDone {
            call: id,
            play: PlayId(9),
            stopped: false
        }));
        assert_eq!(
            got.iter()
                .filter(|e| matches!(e, MediaEvent::Dtmf { digit: '4', .. }))
                .count(),
            1
        );
        media.close(id);
    }

    #[test]
    fn tick_timer_wakes_at_the_deadline_never_before() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut timer = TickTimer::new().unwrap();
            let mut late = Vec::new();
            for i in 0..20u64 {
                let deadline = Instant::now() + Duration::from_micros(1500 + 100 * i);
                sleep_until(Some(&mut timer), Some(deadline)).await;
                let woke = Instant::now();
                assert!(woke >= deadline, "woke early at try {i}");
                late.push(woke - deadline);
            }
            // Even a loaded machine wakes a timer within a fraction of a
            // period most of the time; tokio's timer is up to 1 ms late.
            late.sort();
            assert!(late[10] < Duration::from_millis(20), "{late:?}");
            // A deadline already passed returns at once.
            let start = Instant::now();
            sleep_until(Some(&mut timer), Some(start - Duration::from_millis(5))).await;
            assert!(start.elapsed() < Duration::from_millis(20));
        });
    }

    #[test]
    fn scheduling_off_changes_nothing() {
        let off = MediaScheduling {
            realtime: false,
            priority: 10,
            nice: 0,
        };
        let outcome = std::thread::spawn(move || apply_media_scheduling(&off))
            .join()
            .unwrap();
        assert_eq!(outcome, SchedulingOutcome::Unchanged);
    }

    #[test]
    fn realtime_media_thread_and_normal_blocking_threads() {
        std::thread::spawn(|| {
            let outcome = apply_media_scheduling(&MediaScheduling::default());
            let policy = thread_priority::thread_schedule_policy().unwrap();
            let fifo = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
            // Whether the test may use real-time depends on its privileges;
            // what it got must be what it reports.
            assert_eq!(outcome == SchedulingOutcome::Realtime(10), policy == fifo);
            let (inherited, reset) = std::thread::spawn(|| {
                let inherited = thread_priority::thread_schedule_policy().unwrap();
                reset_to_normal_scheduling();
                (
                    inherited,
                    thread_priority::thread_schedule_policy().unwrap(),
                )
            })
            .join()
            .unwrap();
            assert_eq!(inherited, policy);
            assert_eq!(
                reset,
                ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
            );
        })
        .join()
        .unwrap();
    }
}
