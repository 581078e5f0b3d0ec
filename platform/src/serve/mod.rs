//! `vxp serve`: the Media Control Platform that takes real calls.
//!
//! ```text
//!  SIP/UDP ──▶ signalling task (Uas core, routing, SDP) ──spawn──▶ worker pool
//!                 ▲   │ answer/BYE                                 (call tasks: one
//!                 │   ▼                                             Session each, on
//!          CallAction ◀──────────────────────────────────────────── a LocalSet)
//!                 │                                                    ▲
//!                 ▼ Play/Stop                        CallEvent (DTMF,  │
//!              media task (20 ms tick, all RTP) ─── PlayDone, Mark) ───┘
//! ```
//!
//! - [`config`]: `vxp.toml` and defaults; [`route`]: dialed number /
//!   `voicexml=` → application; [`http`]: the built-in server for
//!   `vxml-samples/`.
//! - The signalling task owns the `sip::ua::UserAgent` core and the
//!   `sip::transport::SipTransport` (UDP and TCP on one port): it feeds the
//!   core messages and timers and acts on its events (route, answer, REFER,
//!   BYE).
//! - [`workers`] and [`call`]: sessions on worker threads, one task per call.
//! - The media thread is `media::driver::MediaDriver` (RTP for every call
//!   paced by one timer wheel, prompt rendering with espeak-ng, RFC 4733
//!   DTMF, recording); SDP offer/answer is `sdp::OfferAnswer`. The signalling
//!   task fetches the audio files the renderer asks for.
//!
//! [`start`] binds everything and returns a [`RunningServer`] with the bound
//! addresses and a call log ([`CallNote`]s) that tests and the CLI read.

pub mod call;
pub mod ccxml;
pub mod config;
pub mod http;
pub mod route;
pub mod workers;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{broadcast, mpsc, oneshot};
use url::Url;
use vxp_fetcher::{Fetcher, FetcherConfig};
use vxp_interpreter::script::Originator;
use vxp_interpreter::vxml::session::{
    AudioFetch, BargeinType, Play, PlayId, PromptPart, QueuedPrompt, SessionConfig, SessionInfo,
    TransferRequest, TransferResult, TransferType,
};

pub use call::{CallAction, CallEvent, CallKey, CallNote};
pub use config::{ConfigError, ServeConfig};

use crate::media::driver::{MediaDriver, MediaDriverConfig};
use crate::media::engine::{CallMediaId, MediaEvent};
use crate::media::render::RenderRequest;
use crate::media::stream::{StreamConfig, ntp_timestamp};
use crate::media::tts::{CachedSynthesizer, EspeakSynthesizer};
use crate::sdp::{Capabilities, LocalMedia, OfferAnswer, SessionDescription};
use call::{CallChannels, CallFetcher};
use route::{CallRouter, Route, TableRouter};

use crate::sip::transport::SipTransport;
use crate::sip::ua::{CallId, IncomingCall, InfoBody, UaConfig, UaEvent, UserAgent};
use crate::sip::uri::Uri;
use workers::WorkerPool;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A socket could not be bound.
    #[error("cannot bind {what} on {addr}: {source}")]
    Bind {
        /// SIP, HTTP...
        what: &'static str,
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The fetcher could not be built.
    #[error("cannot start the fetcher: {0}")]
    Fetcher(#[from] vxp_fetcher::FetchError),
    /// Worker threads could not be started.
    #[error("cannot start worker threads: {0}")]
    Workers(std::io::Error),
}

/// A started server.
#[derive(Debug)]
pub struct RunningServer {
    /// The SIP UDP address.
    pub sip: SocketAddr,
    /// The SIP TCP address (the same port as UDP).
    pub sip_tcp: SocketAddr,
    /// The built-in HTTP server's address, when enabled.
    pub http: Option<SocketAddr>,
    /// Base URL relative routing targets resolve against.
    pub base: Url,
    notes: broadcast::Sender<(CallKey, CallNote)>,
    stop: Option<oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningServer {
    /// A receiver of every call's log from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<(CallKey, CallNote)> {
        self.notes.subscribe()
    }

    /// Stops accepting calls and ends the server's tasks.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Starts the server on the current tokio runtime (multi-threaded).
pub async fn start(config: ServeConfig) -> Result<RunningServer, ServeError> {
    let mut tasks = Vec::new();
    let (http, base) = if config.http.enabled {
        let (addr, server) = http::bind(config.http.listen, config.http.root.clone())
            .await
            .map_err(|source| ServeError::Bind {
                what: "HTTP",
                addr: config.http.listen,
                source,
            })?;
        tasks.push(tokio::spawn(async move {
            if let Err(err) = server.await {
                tracing::error!(error = %err, "HTTP server stopped");
            }
        }));
        let base = Url::parse(&format!("http://{addr}/")).expect("a socket address makes a URL");
        (Some(addr), base)
    } else {
        let base = Url::parse(&format!("http://{}/", config.http.listen))
            .expect("a socket address makes a URL");
        (None, base)
    };
    let transport = SipTransport::bind(config.sip.listen)
        .await
        .map_err(|source| ServeError::Bind {
            what: "SIP",
            addr: config.sip.listen,
            source,
        })?;
    let sip = transport.local_addr();
    let sip_tcp = sip;
    let fetcher = Fetcher::new(FetcherConfig::default())?;
    let workers = WorkerPool::new(config.worker_threads()).map_err(ServeError::Workers)?;
    let router: Arc<dyn CallRouter> = Arc::new(TableRouter::new(&config.routing, base.clone()));
    let (notes, _) = broadcast::channel(4096);
    // Text prompts need the synthesizer program: say so once at start rather
    // than only as a warning per prompt.
    if let Err(err) = std::process::Command::new(&config.tts.program)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
    {
        tracing::warn!(
            program = %config.tts.program,
            error = %err,
            "text-to-speech program not available: text prompts will be silent (apt-get install espeak-ng)"
        );
    }
    let synthesizer = CachedSynthesizer::new(
        EspeakSynthesizer::with_program(config.tts.program.clone()),
        config.tts.cache_seconds.saturating_mul(8000),
    );
    let (media, media_events) = MediaDriver::spawn(
        MediaDriverConfig {
            bind: config.rtp.address,
            rtp_ports: config.rtp.port_min..=config.rtp.port_max,
            scheduling: config.media.scheduling(),
        },
        Arc::new(synthesizer),
    )
    .map_err(ServeError::Workers)?;
    let (stop_tx, stop_rx) = oneshot::channel();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x5eed, |d| d.as_nanos() as u64);
    let ua = UserAgent::new(UaConfig {
        local_addr: sip,
        max_calls: config.sip.max_calls,
        busy_status: 503,
        seed,
        ..UaConfig::default()
    });
    let signalling = Signalling {
        ringing: Vec::new(),
        transport,
        ua,
        router,
        fetcher,
        workers,
        notes: notes.clone(),
        media,
        calls: HashMap::new(),
        by_sip: HashMap::new(),
        by_leg: HashMap::new(),
        next_key: 1,
        ccxml: ccxml::CcxmlCalls::new(),
        config,
    };
    tasks.push(tokio::spawn(signalling.run(media_events, stop_rx)));
    tracing::info!(%sip, tcp = %sip_tcp, http = ?http, "vxp serve started");
    Ok(RunningServer {
        sip,
        sip_tcp,
        http,
        base,
        notes,
        stop: Some(stop_tx),
        tasks,
    })
}

/// A transfer under way.
#[derive(Debug)]
enum Transferring {
    /// REFER sent.
    Blind,
    /// An outbound leg to the destination, relayed to the caller once it answers.
    Bridge(Box<BridgeLeg>),
}

/// The far-end leg of a bridge transfer (VoiceXML 2.1 §2.3.7.2).
#[derive(Debug)]
struct BridgeLeg {
    sip: CallId,
    media: CallMediaId,
    sdp: OfferAnswer,
    /// When the far end answered.
    connected: Option<Instant>,
    /// `connecttimeout` (before the answer) or `maxtime` (after) expiry.
    deadline: Option<Instant>,
    maxtime: Option<std::time::Duration>,
    /// The result to report when the leg's end is confirmed (set when we
    /// end it ourselves).
    ending: Option<&'static str>,
}

#[derive(Debug)]
struct Call {
    sip: CallId,
    events: mpsc::UnboundedSender<CallEvent>,
    /// Our side of the SDP offer/answer, for re-INVITEs.
    sdp: OfferAnswer,
    transfer: Option<Transferring>,
}

/// A call that rings before it is answered.
#[derive(Debug)]
struct Ringing {
    at: Instant,
    incoming: IncomingCall,
    url: Url,
    request: route::RouteRequest,
    offer: SessionDescription,
}

/// The signalling task: owns the user-agent core and the call table.
struct Signalling {
    ringing: Vec<Ringing>,
    transport: SipTransport,
    ua: UserAgent,
    router: Arc<dyn CallRouter>,
    fetcher: Fetcher,
    workers: WorkerPool,
    notes: broadcast::Sender<(CallKey, CallNote)>,
    media: MediaDriver,
    calls: HashMap<CallKey, Call>,
    by_sip: HashMap<CallId, CallKey>,
    /// Bridge legs by their SIP call, to the caller's call.
    by_leg: HashMap<CallId, CallKey>,
    next_key: u64,
    /// CCXML sessions and their connections.
    ccxml: ccxml::CcxmlCalls,
    config: ServeConfig,
}

impl Signalling {
    async fn run(
        mut self,
        mut media_events: mpsc::UnboundedReceiver<MediaEvent>,
        mut stop: oneshot::Receiver<()>,
    ) {
        let (actions_tx, mut actions) = mpsc::unbounded_channel::<(CallKey, CallAction)>();
        let mut ccxml_up = self.ccxml.take_receiver(actions_tx.clone());
        loop {
            let deadline = self.ua.poll_timeout();
            let ring_until = self.ringing.iter().map(|r| r.at).min();
            let bridge_until = self.bridge_deadline();
            tokio::select! {
                _ = &mut stop => break,
                received = self.transport.recv() => match received {
                    Some(m) => self.ua.handle_datagram(&m.bytes, m.from, m.transport, Instant::now()),
                    None => break,
                },
                Some((key, action)) = actions.recv() => self.handle_action(key, action).await,
                Some((key, up)) = ccxml_up.recv() => self.handle_ccxml(key, up).await,
                Some(event) = media_events.recv() => self.handle_media(event),
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.ua.handle_timeout(Instant::now());
                }
                () = sleep_until(bridge_until), if bridge_until.is_some() => {
                    self.handle_bridge_timeout(Instant::now());
                }
                () = sleep_until(ring_until), if ring_until.is_some() => {
                    let now = Instant::now();
                    let (due, rest): (Vec<_>, Vec<_>) =
                        std::mem::take(&mut self.ringing).into_iter().partition(|r| r.at <= now);
                    self.ringing = rest;
                    for r in due {
                        self.answer(r.incoming, r.url, r.request, r.offer, &actions_tx, now)
                            .await;
                    }
                }
            }
            while let Some(event) = self.ua.poll_event() {
                self.handle_event(event, &actions_tx).await;
            }
            while let Some(t) = self.ua.poll_transmit() {
                self.transport.send(t).await;
            }
        }
    }

    fn call_of(&self, sip: CallId) -> Option<(CallKey, &Call)> {
        let key = *self.by_sip.get(&sip)?;
        Some((key, self.calls.get(&key)?))
    }

    fn send_event(&self, sip: CallId, event: CallEvent) {
        if let Some((_, call)) = self.call_of(sip) {
            let _ = call.events.send(event);
        }
    }

    async fn handle_event(
        &mut self,
        event: UaEvent,
        actions: &mpsc::UnboundedSender<(CallKey, CallAction)>,
    ) {
        let now = Instant::now();
        let Some(event) = self.ccxml_sip_event(event, now) else {
            return;
        };
        if let Some(leg) = leg_of(&event)
            && let Some(&key) = self.by_leg.get(&leg)
        {
            self.handle_leg_event(key, event, now);
            return;
        }
        match event {
            UaEvent::IncomingCall(incoming) => self.incoming(*incoming, actions, now).await,
            UaEvent::CallCancelled { call } | UaEvent::RemoteHangup { call } => {
                self.ringing.retain(|r| r.incoming.call != call);
                self.ended(call);
            }
            UaEvent::Terminated { call } | UaEvent::Failed { call, .. } => self.ended(call),
            UaEvent::InfoReceived { call, info } => match info {
                InfoBody::Dtmf { digit, .. } => self.send_event(call, CallEvent::Dtmf(digit)),
                InfoBody::Other { content_type, body } => self.send_event(
                    call,
                    CallEvent::Message(vxp_interpreter::vxml::session::ExternalMessage {
                        sourcetype: "sip".into(),
                        contenttype: content_type.unwrap_or_default(),
                        content: String::from_utf8_lossy(&body).into_owned(),
                    }),
                ),
            },
            UaEvent::ReInvite { call, sdp, .. } => self.reinvite(call, sdp.as_deref(), now),
            UaEvent::ReferProgress { call, status, done } => {
                if done || status >= 300 {
                    self.refer_done(call, status);
                }
            }
            UaEvent::Acked { .. }
            | UaEvent::ReInviteAnswered { .. }
            | UaEvent::ReInviteFailed { .. }
            | UaEvent::Provisional { .. }
            | UaEvent::Answered { .. }
            | UaEvent::RequestFailed { .. } => {}
        }
    }

    async fn incoming(
        &mut self,
        incoming: IncomingCall,
        actions: &mpsc::UnboundedSender<(CallKey, CallAction)>,
        now: Instant,
    ) {
        let id = incoming.call;
        if self.by_sip.contains_key(&id) || self.ringing.iter().any(|r| r.incoming.call == id) {
            return;
        }
        let request = route::route_request(&incoming.request_uri.to_string());
        let url = match self.router.route(&request) {
            Route::Application(url) => url,
            Route::Reject { code, reason } => {
                tracing::info!(%code, %reason, uri = %incoming.request_uri, "call refused");
                let _ = self.ua.reject(id, code, now);
                return;
            }
        };
        let body = incoming.sdp.as_deref().unwrap_or_default();
        let offer = match SessionDescription::parse(&String::from_utf8_lossy(body)) {
            Ok(offer) => offer,
            Err(err) => {
                tracing::info!(remote = %incoming.remote, error = %err, "SDP offer unreadable");
                let _ = self.ua.reject(id, 488, now);
                return;
            }
        };
        // Check the offer before ringing; the real answer needs our port.
        let mut probe = OfferAnswer::new(
            LocalMedia {
                address: self.config.rtp.address,
                rtp_port: self.config.rtp.port_min,
            },
            Capabilities::default(),
            0,
        );
        if let Err(err) = probe.handle_offer(&offer) {
            tracing::info!(remote = %incoming.remote, error = %err, "offer not answerable");
            let _ = self.ua.reject(id, 488, now);
            return;
        }
        if ccxml::is_ccxml(&url, &request, &self.config.routing) {
            self.ccxml_incoming(incoming, url, &request, offer, now);
            return;
        }
        if self.config.sip.ring_ms > 0 {
            let _ = self.ua.ring(id, 180, None, now);
            self.ringing.push(Ringing {
                at: now + std::time::Duration::from_millis(self.config.sip.ring_ms),
                incoming,
                url,
                request,
                offer,
            });
            return;
        }
        self.answer(incoming, url, request, offer, actions, now)
            .await;
    }

    /// Answers a routed call and starts its session.
    async fn answer(
        &mut self,
        incoming: IncomingCall,
        url: Url,
        request: route::RouteRequest,
        offer: SessionDescription,
        actions: &mpsc::UnboundedSender<(CallKey, CallAction)>,
        now: Instant,
    ) {
        let id = incoming.call;
        let key = CallKey(self.next_key);
        self.next_key += 1;
        let media_id = CallMediaId(key.0);
        let rtp_port = match self.media.open(media_id).await {
            Ok(port) => port,
            Err(err) => {
                tracing::warn!(error = %err, "no RTP port for a call");
                let _ = self.ua.reject(id, 503, now);
                return;
            }
        };
        let mut sdp = OfferAnswer::new(
            LocalMedia {
                address: self.config.rtp.address,
                rtp_port,
            },
            Capabilities::default(),
            key.0,
        );
        let (answer, negotiated) = match sdp.handle_offer(&offer) {
            Ok(done) => done,
            Err(err) => {
                tracing::info!(error = %err, "offer not answerable");
                self.media.close(media_id);
                let _ = self.ua.reject(id, 488, now);
                return;
            }
        };
        if let Err(err) = self.ua.answer(id, answer.to_string().into_bytes(), now) {
            tracing::warn!(error = %err, "cannot answer");
            self.media.close(media_id);
            return;
        }
        self.media.start(
            media_id,
            StreamConfig::new(
                negotiated,
                format!("vxp@{}", self.config.rtp.address),
                ntp_timestamp(std::time::SystemTime::now()),
            ),
        );
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let info = session_info(&incoming, &request);
        tracing::info!(call = %key, %url, from = %incoming.from, "call answered");
        let mut config = SessionConfig::new(url);
        config.info = info;
        let fetch = CallFetcher::new(self.fetcher.clone());
        let channels = CallChannels {
            events: events_rx,
            actions: actions.clone(),
            notes: self.notes.clone(),
        };
        self.workers.spawn(Box::new(move || {
            Box::pin(async move {
                call::run_call(key, config, fetch, channels).await;
            })
        }));
        self.calls.insert(
            key,
            Call {
                sip: id,
                events: events_tx,
                sdp,
                transfer: None,
            },
        );
        self.by_sip.insert(id, key);
    }

    /// The call ended on the SIP side (BYE, CANCEL, failure).
    fn ended(&mut self, sip: CallId) {
        if let Some(key) = self.by_sip.remove(&sip) {
            if let Some(call) = self.calls.remove(&key) {
                let _ = call.events.send(CallEvent::Hangup);
                if let Some(Transferring::Bridge(leg)) = call.transfer {
                    // The caller left a bridged call: release the far end too.
                    self.by_leg.remove(&leg.sip);
                    let _ = self.ua.hangup(leg.sip, Instant::now());
                    self.media.unbridge(leg.media);
                    self.media.close(leg.media);
                }
            }
            self.media.close(CallMediaId(key.0));
        }
    }

    /// A re-INVITE or UPDATE (RFC 3264 §8): hold (a sendonly or inactive
    /// offer, or c=0.0.0.0) stops our audio, resume restarts it.
    fn reinvite(&mut self, sip: CallId, sdp: Option<&[u8]>, now: Instant) {
        let Some(&key) = self.by_sip.get(&sip) else {
            let _ = self.ua.reject_reinvite(sip, 481, now);
            return;
        };
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let offer = sdp.map(String::from_utf8_lossy).unwrap_or_default();
        let answered = SessionDescription::parse(&offer)
            .map_err(|e| e.to_string())
            .and_then(|offer| call.sdp.handle_offer(&offer).map_err(|e| e.to_string()));
        match answered {
            Ok((answer, negotiated)) => {
                tracing::info!(call = %key, held = negotiated.is_held(), "re-INVITE");
                self.media.update(CallMediaId(key.0), negotiated);
                if let Err(err) = self
                    .ua
                    .answer_reinvite(sip, answer.to_string().into_bytes(), now)
                {
                    tracing::debug!(error = %err, "cannot answer the re-INVITE");
                }
            }
            Err(err) => {
                tracing::info!(call = %key, error = %err, "re-INVITE offer refused");
                let _ = self.ua.reject_reinvite(sip, 488, now);
            }
        }
    }

    /// Media events go to their call; audio files are fetched here (off the
    /// media thread) and handed back decoded by the media driver.
    fn handle_media(&mut self, event: MediaEvent) {
        let key_of = |id: CallMediaId| CallKey(id.0);
        let send = |calls: &HashMap<CallKey, Call>, id: CallMediaId, ev: CallEvent| {
            if let Some(call) = calls.get(&key_of(id)) {
                let _ = call.events.send(ev);
            }
        };
        match event {
            MediaEvent::Render {
                call,
                play,
                request: RenderRequest::Fetch { id, url, fetch },
            } => {
                let fetcher = self.fetcher.clone();
                let media = self.media.clone();
                tokio::spawn(async move {
                    let req = crate::text::fetch::audio_request(&fetcher, &url, &fetch);
                    let fetched = match fetcher.fetch(req).await {
                        Ok(resp) => Some((
                            Arc::from(resp.bytes.as_ref()),
                            resp.content_type.clone(),
                            resp.url.clone(),
                        )),
                        Err(err) => {
                            tracing::debug!(%url, error = %err, "audio fetch failed; fallback");
                            None
                        }
                    };
                    media.deliver_audio(call, play, id, fetched);
                });
            }
            MediaEvent::Render { .. } | MediaEvent::SpeechStarted { .. } => {}
            MediaEvent::Dtmf { call, digit } => send(&self.calls, call, CallEvent::Dtmf(digit)),
            MediaEvent::Mark { call, name, .. } => send(&self.calls, call, CallEvent::Mark(name)),
            MediaEvent::PlayDone { call, play, .. } => {
                send(&self.calls, call, CallEvent::PlayDone(play))
            }
            MediaEvent::Recorded { call, result } => {
                send(&self.calls, call, CallEvent::RecordResult(result))
            }
            MediaEvent::RemoteBye { call } => {
                tracing::debug!(call = call.0, "RTCP BYE from the caller");
            }
        }
    }

    fn refer_done(&mut self, sip: CallId, status: u16) {
        let Some((key, call)) = self.call_of(sip) else {
            return;
        };
        if !matches!(call.transfer, Some(Transferring::Blind)) {
            return;
        }
        let result = match status {
            200..=299 => TransferResult::Transferred,
            486 | 600 => completed("busy"),
            408 | 480 | 487 => completed("noanswer"),
            503 => completed("network_busy"),
            _ => completed("unknown"),
        };
        let _ = call.events.send(CallEvent::TransferResult(result));
        if let Some(call) = self.calls.get_mut(&key) {
            call.transfer = None;
        }
    }

    async fn handle_action(&mut self, key: CallKey, action: CallAction) {
        let now = Instant::now();
        let media_id = CallMediaId(key.0);
        match action {
            CallAction::Play(play) => self.media.play(media_id, *play),
            CallAction::StopPlayback => self.media.stop_play(media_id),
            CallAction::Record(req) => self.media.record(media_id, *req),
            CallAction::Transfer(req) => self.transfer(key, &req, now).await,
            CallAction::Hangup { values } => {
                if self.ccxml_dialog_ended(key, values) {
                    return;
                }
                if let Some(call) = self.calls.remove(&key) {
                    self.by_sip.remove(&call.sip);
                    let _ = self.ua.hangup(call.sip, now);
                }
                self.media.close(media_id);
            }
        }
    }

    /// `<transfer>` (VoiceXML 2.1 §2.3.7): blind and consultation as REFER
    /// (RFC 3515) to the caller; bridge is not offered yet.
    async fn transfer(&mut self, key: CallKey, req: &TransferRequest, now: Instant) {
        let Some(call) = self.calls.get_mut(&key) else {
            return;
        };
        let fail = |event: &str, message: String| {
            CallEvent::TransferResult(TransferResult::Failed {
                event: event.into(),
                message,
            })
        };
        match req.kind {
            TransferType::Blind | TransferType::Consultation => {
                let target = match Uri::parse(&req.dest) {
                    Ok(uri) => uri,
                    Err(err) => {
                        let _ = call.events.send(fail(
                            "error.connection.baddestination",
                            format!("{}: {err}", req.dest),
                        ));
                        return;
                    }
                };
                match self.ua.refer(call.sip, &target, now) {
                    Ok(()) => call.transfer = Some(Transferring::Blind),
                    Err(err) => {
                        let _ = call.events.send(fail(
                            "error.connection",
                            format!("cannot send REFER: {err}"),
                        ));
                    }
                }
            }
            TransferType::Bridge => {
                let events = call.events.clone();
                if let Err((event, message)) = self.start_bridge(key, req, now).await {
                    let _ = events.send(fail(event, message));
                }
            }
        }
    }

    /// Calls the destination of a bridge transfer; the caller's audio is
    /// relayed once it answers.
    async fn start_bridge(
        &mut self,
        key: CallKey,
        req: &TransferRequest,
        now: Instant,
    ) -> Result<(), (&'static str, String)> {
        let to = Uri::parse(&req.dest).map_err(|e| {
            (
                "error.connection.baddestination",
                format!("{}: {e}", req.dest),
            )
        })?;
        let leg_media = CallMediaId(self.next_key);
        self.next_key += 1;
        let port = self.media.open(leg_media).await.map_err(|e| {
            (
                "error.noresource",
                format!("no RTP port for the transfer: {e}"),
            )
        })?;
        let mut sdp = OfferAnswer::new(
            LocalMedia {
                address: self.config.rtp.address,
                rtp_port: port,
            },
            Capabilities::default(),
            leg_media.0,
        );
        let offer = sdp.create_offer();
        let leg = match self
            .ua
            .invite(to, None, offer.to_string().into_bytes(), now)
        {
            Ok(leg) => leg,
            Err(err) => {
                self.media.close(leg_media);
                return Err(("error.connection.noroute", format!("{}: {err}", req.dest)));
            }
        };
        let Some(call) = self.calls.get_mut(&key) else {
            return Ok(());
        };
        let connecttimeout = if req.connecttimeout.is_zero() {
            std::time::Duration::from_secs(30)
        } else {
            req.connecttimeout
        };
        call.transfer = Some(Transferring::Bridge(Box::new(BridgeLeg {
            sip: leg,
            media: leg_media,
            sdp,
            connected: None,
            deadline: Some(now + connecttimeout),
            maxtime: (!req.maxtime.is_zero()).then_some(req.maxtime),
            ending: None,
        })));
        self.by_leg.insert(leg, key);
        if let Some(audio) = &req.transferaudio {
            // Played to the caller until the far end answers; its completion
            // is not the session's business (an id the session never issued).
            self.media.play(
                CallMediaId(key.0),
                Play {
                    id: PlayId(u64::MAX - key.0),
                    prompts: vec![QueuedPrompt {
                        parts: vec![PromptPart::Audio {
                            src: Some(audio.clone()),
                            fallback: Vec::new(),
                            fetch: AudioFetch::default(),
                        }],
                        bargein: false,
                        bargeintype: BargeinType::default(),
                        timeout: None,
                        lang: None,
                        loc: None,
                    }],
                },
            );
        }
        tracing::info!(call = %key, dest = %req.dest, "bridge transfer: calling");
        Ok(())
    }

    fn bridge_leg(&mut self, key: CallKey) -> Option<&mut BridgeLeg> {
        match self.calls.get_mut(&key)?.transfer.as_mut()? {
            Transferring::Bridge(leg) => Some(leg),
            Transferring::Blind => None,
        }
    }

    fn bridge_deadline(&self) -> Option<Instant> {
        self.calls
            .values()
            .filter_map(|c| match &c.transfer {
                Some(Transferring::Bridge(leg)) if leg.ending.is_none() => leg.deadline,
                _ => None,
            })
            .min()
    }

    /// `connecttimeout` ends an unanswered leg (noanswer), `maxtime` a
    /// connected one (maxtime_disconnect).
    fn handle_bridge_timeout(&mut self, now: Instant) {
        let due: Vec<CallKey> = self
            .calls
            .iter()
            .filter_map(|(k, c)| match &c.transfer {
                Some(Transferring::Bridge(leg))
                    if leg.ending.is_none() && leg.deadline.is_some_and(|d| d <= now) =>
                {
                    Some(*k)
                }
                _ => None,
            })
            .collect();
        for key in due {
            let Some(leg) = self.bridge_leg(key) else {
                continue;
            };
            leg.ending = Some(if leg.connected.is_some() {
                "maxtime_disconnect"
            } else {
                "noanswer"
            });
            leg.deadline = None;
            let sip = leg.sip;
            let _ = self.ua.hangup(sip, now);
        }
    }

    /// Answer, failure or end of a bridge leg.
    fn handle_leg_event(&mut self, key: CallKey, event: UaEvent, now: Instant) {
        let cname = format!("vxp@{}", self.config.rtp.address);
        let caller_media = CallMediaId(key.0);
        let Some(leg) = self.bridge_leg(key) else {
            return;
        };
        let status: &'static str = match event {
            UaEvent::Answered { sdp, .. } => {
                let answer = sdp
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                let negotiated = SessionDescription::parse(&answer)
                    .map_err(|e| e.to_string())
                    .and_then(|a| leg.sdp.handle_answer(&a).map_err(|e| e.to_string()));
                match negotiated {
                    Ok(media) => {
                        leg.connected = Some(now);
                        leg.deadline = leg.maxtime.map(|m| now + m);
                        let leg_media = leg.media;
                        self.media.start(
                            leg_media,
                            StreamConfig::new(
                                media,
                                cname,
                                ntp_timestamp(std::time::SystemTime::now()),
                            ),
                        );
                        self.media.stop_play(caller_media);
                        self.media.bridge(caller_media, leg_media);
                        tracing::info!(call = %key, "bridge transfer: connected");
                    }
                    Err(err) => {
                        tracing::info!(call = %key, error = %err, "bridge leg answer unusable");
                        leg.ending = Some("unknown");
                        let sip = leg.sip;
                        let _ = self.ua.hangup(sip, now);
                    }
                }
                return;
            }
            UaEvent::Failed { status, .. } => match (leg.ending, status) {
                (Some(ending), _) => ending,
                (None, 486 | 600) => "busy",
                (None, 408 | 480 | 487) => "noanswer",
                (None, 503) => "network_busy",
                (None, _) => "unknown",
            },
            UaEvent::RemoteHangup { .. } | UaEvent::Terminated { .. } => {
                leg.ending.unwrap_or("far_end_disconnect")
            }
            _ => return,
        };
        let duration = leg.connected.map_or(std::time::Duration::ZERO, |at| {
            now.saturating_duration_since(at)
        });
        let (sip, leg_media) = (leg.sip, leg.media);
        self.by_leg.remove(&sip);
        self.media.unbridge(leg_media);
        self.media.close(leg_media);
        if let Some(call) = self.calls.get_mut(&key) {
            call.transfer = None;
            let _ = call
                .events
                .send(CallEvent::TransferResult(TransferResult::Completed {
                    status: status.into(),
                    duration,
                }));
        }
        tracing::info!(call = %key, status, "bridge transfer ended");
    }
}

/// The SIP call an event is about, for the events a bridge leg produces.
fn leg_of(event: &UaEvent) -> Option<CallId> {
    match event {
        UaEvent::Answered { call, .. }
        | UaEvent::Failed { call, .. }
        | UaEvent::RemoteHangup { call }
        | UaEvent::Terminated { call }
        | UaEvent::Provisional { call, .. } => Some(*call),
        _ => None,
    }
}

fn completed(status: &str) -> TransferResult {
    TransferResult::Completed {
        status: status.into(),
        duration: std::time::Duration::ZERO,
    }
}

/// `session.connection.*` from the INVITE (VoiceXML 2.1 §5.1.4, GVP's
/// `protocol.sip.headers` and `requesturi` objects).
fn session_info(incoming: &IncomingCall, request: &route::RouteRequest) -> SessionInfo {
    let mut sip_headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &incoming.headers {
        sip_headers
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.clone());
    }
    let first = |name: &str| sip_headers.get(name).and_then(|v| v.first()).cloned();
    let uuid = first("x-genesys-calluuid");
    let aai = first("user-to-user");
    SessionInfo {
        local_uri: incoming.to.uri.to_string(),
        remote_uri: incoming.from.uri.to_string(),
        originator: Originator::Remote,
        protocol_name: "sip".into(),
        protocol_version: "2.0".into(),
        sip_headers,
        request_uri: request.params.clone(),
        aai,
        uuid,
        ..SessionInfo::default()
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}
