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

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{broadcast, mpsc, oneshot};
use url::Url;
use vxp_fetcher::{Fetcher, FetcherConfig, SessionJar};
use vxp_interpreter::script::{Originator, Redirect};
use vxp_interpreter::vxml::session::{
    AudioFetch, BargeinType, Play, PlayId, PromptPart, QueuedPrompt, RecordResult, SendRequest,
    SessionConfig, SessionInfo, TransferRequest, TransferResult, TransferType,
};

pub use call::{CallAction, CallEvent, CallKey, CallNote, SessionEnd};
pub use config::{AnswerMode, ConfigError, ServeConfig};

use crate::media::driver::{MediaDriver, MediaDriverConfig};
use crate::media::engine::{CallMediaId, MediaEvent};
use crate::media::render::RenderRequest;
use crate::media::stream::{StreamConfig, ntp_timestamp};
use crate::media::tts::{CachedSynthesizer, EspeakSynthesizer};
use crate::sdp::{Capabilities, LocalMedia, OfferAnswer, SessionDescription};
use call::{CallChannels, CallFetcher};
use route::{CallRouter, Route, TableRouter};

use crate::sip::dns::{LocateError, SipLocator, Target};
use crate::sip::header::Method;
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
    let mut ccxml = ccxml::CcxmlCalls::new();
    let (http, base) = if config.http.enabled {
        let listener =
            std::net::TcpListener::bind(config.http.listen).map_err(|source| ServeError::Bind {
                what: "HTTP",
                addr: config.http.listen,
                source,
            })?;
        let basichttp = listener.local_addr().ok().and_then(|a| {
            Url::parse(&format!("http://{a}{}", crate::ccxml_http::BASICHTTP_PATH)).ok()
        });
        let routes = crate::ccxml_http::router(Arc::new(ccxml.http_host(basichttp)));
        let (addr, server) = http::serve_on(listener, config.http.root.clone(), routes)
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
    let workers = WorkerPool::new(config.worker_threads(), config.workers.calls_per_worker)
        .map_err(ServeError::Workers)?;
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
    let dns = match SipLocator::new(
        &config.dns.nameservers,
        std::time::Duration::from_millis(config.dns.timeout_ms),
    ) {
        Ok(locator) => Some(locator),
        Err(err) => {
            tracing::warn!(error = %err, "no DNS: transfers only reach numeric hosts");
            None
        }
    };
    let (located_tx, located) = mpsc::unbounded_channel();
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
        early: HashMap::new(),
        jars: HashMap::new(),
        sends: HashMap::new(),
        replaces: HashSet::new(),
        dns,
        located_tx,
        located: Some(located),
        ccxml,
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

/// The far-end leg of a bridge or consultation transfer (VoiceXML 2.1
/// §2.3.7.2).
#[derive(Debug)]
struct BridgeLeg {
    /// What happens once the far end answers.
    handoff: Handoff,
    /// The destination (the Refer-To of a consultation completed by REFER).
    dest: Uri,
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

/// How a transfer leg's answer is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handoff {
    /// Bridge transfer: the session stays and resumes when the leg ends.
    Bridge,
    /// Consultation (or blind with `gvp:method` BRIDGE/REFERJOIN): once the
    /// far end answers, the caller is referred to it with `Replaces` when
    /// it supports that and `refer` is set, else the platform keeps both
    /// legs bridged; the session ends with `connection.disconnect.transfer`.
    Consult {
        /// Try REFER with `Replaces` first.
        refer: bool,
    },
    /// The REFER with `Replaces` is under way.
    Referring,
    /// The session has left; the platform relays the two legs until either
    /// hangs up.
    Relaying,
}

#[derive(Debug)]
struct Call {
    sip: CallId,
    events: mpsc::UnboundedSender<CallEvent>,
    /// Our side of the SDP offer/answer, for re-INVITEs.
    sdp: OfferAnswer,
    transfer: Option<Transferring>,
}

/// A transfer destination's lookup, done.
#[derive(Debug)]
struct Located {
    key: CallKey,
    req: Box<TransferRequest>,
    handoff: Handoff,
    to: Uri,
    result: Result<Vec<Target>, LocateError>,
}

/// A call whose session runs before it is answered (`answer = "on-media"`).
#[derive(Debug)]
struct Early {
    offer: SessionDescription,
}

/// A call that rings before its session starts.
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
    /// Calls not answered yet, their session running.
    early: HashMap<CallKey, Early>,
    /// Each VoiceXML call's cookie jar, for its audio fetches.
    jars: HashMap<CallKey, SessionJar>,
    /// `<gvp:send>` INFOs awaiting their final response, oldest first:
    /// whether the session waits on each (`async="false"`).
    sends: HashMap<CallKey, VecDeque<bool>>,
    /// Callers that accept an INVITE with `Replaces` (RFC 3891).
    replaces: HashSet<CallKey>,
    /// RFC 3263 lookups for transfer destinations (none: numeric hosts only).
    dns: Option<SipLocator>,
    /// Lookups run off the signalling task and come back here.
    located_tx: mpsc::UnboundedSender<Located>,
    located: Option<mpsc::UnboundedReceiver<Located>>,
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
        let mut located = self.located.take().expect("the signalling task runs once");
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
                Some(done) = located.recv() => self.handle_located(done).await,
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
                        self.start_call(r.incoming, r.url, r.request, r.offer, &actions_tx, now)
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
                    self.refer_done(call, status, now);
                }
            }
            UaEvent::RequestSucceeded {
                call,
                method: Method::Info,
            } => {
                self.info_answered(call, None);
            }
            UaEvent::RequestFailed {
                call,
                method: Method::Info,
                status,
            } => self.info_answered(call, Some(status)),
            UaEvent::Acked { .. }
            | UaEvent::ReInviteAnswered { .. }
            | UaEvent::ReInviteFailed { .. }
            | UaEvent::Provisional { .. }
            | UaEvent::Answered { .. }
            | UaEvent::RequestSucceeded { .. }
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
        let on_media = self.config.answer_mode(request.user.as_deref()) == AnswerMode::OnMedia;
        if self.config.sip.ring_ms > 0 || on_media {
            let _ = self.ua.ring(id, 180, None, now);
        }
        if self.config.sip.ring_ms > 0 {
            self.ringing.push(Ringing {
                at: now + std::time::Duration::from_millis(self.config.sip.ring_ms),
                incoming,
                url,
                request,
                offer,
            });
            return;
        }
        self.start_call(incoming, url, request, offer, actions, now)
            .await;
    }

    /// Starts a routed call's session: answered first (`answer =
    /// "immediate"`), or left ringing until the session needs media.
    async fn start_call(
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
        let on_media = self.config.answer_mode(request.user.as_deref()) == AnswerMode::OnMedia;
        let sdp = if on_media {
            // Replaced by the real negotiation when the call is answered.
            OfferAnswer::new(
                LocalMedia {
                    address: self.config.rtp.address,
                    rtp_port: 0,
                },
                Capabilities::default(),
                key.0,
            )
        } else {
            match self.connect_media(key, id, &offer, now).await {
                Ok(sdp) => sdp,
                Err(status) => {
                    let _ = self.ua.reject(id, status, now);
                    return;
                }
            }
        };
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let info = session_info(&incoming, &request);
        tracing::info!(call = %key, %url, from = %incoming.from, on_media, "call started");
        let mut config = SessionConfig::new(url);
        config.info = info;
        let fetch = CallFetcher::new(self.fetcher.clone());
        self.jars.insert(key, fetch.jar().clone());
        if supports_replaces(&incoming.headers) {
            self.replaces.insert(key);
        }
        if on_media {
            self.early.insert(key, Early { offer });
        }
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

    /// Opens the call's RTP port, answers the caller's offer with 200 OK
    /// and starts the stream; the error is the status to reject the call with.
    async fn connect_media(
        &mut self,
        key: CallKey,
        sip: CallId,
        offer: &SessionDescription,
        now: Instant,
    ) -> Result<OfferAnswer, u16> {
        let media_id = CallMediaId(key.0);
        let rtp_port = match self.media.open(media_id).await {
            Ok(port) => port,
            Err(err) => {
                tracing::warn!(error = %err, "no RTP port for a call");
                return Err(503);
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
        let (answer, negotiated) = match sdp.handle_offer(offer) {
            Ok(done) => done,
            Err(err) => {
                tracing::info!(error = %err, "offer not answerable");
                self.media.close(media_id);
                return Err(488);
            }
        };
        if let Err(err) = self.ua.answer(sip, answer.to_string().into_bytes(), now) {
            tracing::warn!(error = %err, "cannot answer");
            self.media.close(media_id);
            return Err(500);
        }
        self.media.start(
            media_id,
            StreamConfig::new(
                negotiated,
                format!("vxp@{}", self.config.rtp.address),
                ntp_timestamp(std::time::SystemTime::now()),
            ),
        );
        tracing::info!(call = %key, "call answered");
        Ok(sdp)
    }

    /// Answers a call still ringing (`answer = "on-media"`) because its
    /// session needs media now. False when the call is gone or could not be
    /// answered (it is then rejected and the session told of the hangup).
    async fn ensure_answered(&mut self, key: CallKey, now: Instant) -> bool {
        let Some(early) = self.early.remove(&key) else {
            // Gone from the SIP side too after a 302.
            return self
                .calls
                .get(&key)
                .is_some_and(|c| self.by_sip.contains_key(&c.sip));
        };
        let Some(sip) = self.calls.get(&key).map(|c| c.sip) else {
            return false;
        };
        match self.connect_media(key, sip, &early.offer, now).await {
            Ok(sdp) => {
                if let Some(call) = self.calls.get_mut(&key) {
                    call.sdp = sdp;
                }
                true
            }
            Err(status) => {
                let _ = self.ua.reject(sip, status, now);
                self.ended(sip);
                false
            }
        }
    }

    /// Drops what the server keeps beside the call table for a call.
    fn forget(&mut self, key: CallKey) {
        self.early.remove(&key);
        self.jars.remove(&key);
        self.sends.remove(&key);
        self.replaces.remove(&key);
    }

    /// The call ended on the SIP side (BYE, CANCEL, failure).
    fn ended(&mut self, sip: CallId) {
        if let Some(key) = self.by_sip.remove(&sip) {
            self.forget(key);
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
                // The page fetches' cookies go with the call's audio too.
                let jar = self.jars.get(&key_of(call)).cloned();
                tokio::spawn(async move {
                    let mut req = crate::text::fetch::audio_request(&fetcher, &url, &fetch);
                    req.session = jar;
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

    fn refer_done(&mut self, sip: CallId, status: u16, now: Instant) {
        let Some((key, call)) = self.call_of(sip) else {
            return;
        };
        if let Some(Transferring::Bridge(leg)) = &call.transfer
            && leg.handoff == Handoff::Referring
        {
            self.consult_referred(key, (200..300).contains(&status), now);
            return;
        }
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
            CallAction::Play(play) => {
                if self.ensure_answered(key, now).await {
                    self.media.play(media_id, *play);
                } else {
                    // No call to play to (redirected, or refused): the
                    // session must not wait for the audio.
                    self.send_to(key, CallEvent::PlayDone(play.id));
                }
            }
            CallAction::StopPlayback => self.media.stop_play(media_id),
            CallAction::Record(req) => {
                if self.ensure_answered(key, now).await {
                    self.media.record(media_id, *req);
                } else {
                    self.send_to(
                        key,
                        CallEvent::RecordResult(RecordResult::Failed {
                            event: "error.noresource".into(),
                            message: "the call has left the platform".into(),
                        }),
                    );
                }
            }
            CallAction::Answer => {
                self.ensure_answered(key, now).await;
            }
            CallAction::Send(send) => {
                if self.ensure_answered(key, now).await {
                    self.send_info(key, &send, now);
                } else if !send.is_async {
                    self.send_to(
                        key,
                        CallEvent::SendFailed("the call has left the platform".into()),
                    );
                }
            }
            CallAction::Transfer(req) if self.ccxml_dialog_transfer(key, &req) => {}
            CallAction::Transfer(req) => self.transfer(key, &req, now).await,
            CallAction::Hangup { values, how } => {
                if self.ccxml_dialog_ended(key, values, how == SessionEnd::Disconnect) {
                    return;
                }
                if let Some(Transferring::Bridge(leg)) =
                    self.calls.get(&key).and_then(|c| c.transfer.as_ref())
                    && leg.handoff == Handoff::Relaying
                {
                    // The platform keeps relaying the transferred call.
                    return;
                }
                let early = self.early.remove(&key).is_some();
                self.forget(key);
                if let Some(call) = self.calls.remove(&key) {
                    self.by_sip.remove(&call.sip);
                    if early {
                        // Never answered: refuse the call instead (480 after
                        // <exit>, 603 after <disconnect>, 500 after an error).
                        let status = match how {
                            SessionEnd::Exit => 480,
                            SessionEnd::Disconnect => 603,
                            SessionEnd::Error => 500,
                        };
                        tracing::info!(call = %key, status, "session ended before the answer");
                        let _ = self.ua.reject(call.sip, status, now);
                    } else {
                        let _ = self.ua.hangup(call.sip, now);
                    }
                }
                self.media.close(media_id);
            }
        }
    }

    /// `<gvp:send>` as an INFO in the call's dialog (the NGI's CTI channel).
    fn send_info(&mut self, key: CallKey, send: &SendRequest, now: Instant) {
        let Some(call) = self.calls.get(&key) else {
            return;
        };
        match self.ua.send_info(
            call.sip,
            &send.contenttype,
            send.body.clone().into_bytes(),
            now,
        ) {
            Ok(()) => self.sends.entry(key).or_default().push_back(!send.is_async),
            Err(err) => {
                tracing::info!(call = %key, error = %err, "cannot send the INFO");
                if !send.is_async {
                    let _ = call.events.send(CallEvent::SendFailed(err.to_string()));
                }
            }
        }
    }

    /// The final response to a `<gvp:send>` INFO (`failed`: its status). A
    /// synchronous send that failed is told so (`SendFailed`): the session
    /// throws an error event instead of waiting for a reply that will never
    /// come.
    fn info_answered(&mut self, sip: CallId, failed: Option<u16>) {
        let Some(&key) = self.by_sip.get(&sip) else {
            return;
        };
        let waits = self
            .sends
            .get_mut(&key)
            .and_then(VecDeque::pop_front)
            .unwrap_or(false);
        if let Some(status) = failed {
            tracing::info!(call = %key, status, "gvp:send INFO refused");
            if waits {
                self.send_event(sip, CallEvent::SendFailed(format!("SIP {status}")));
            }
        }
    }

    /// `<transfer>` (VoiceXML 2.1 §2.3.7). Blind: a 302 when the call is not
    /// answered yet (or `gvp:method="redirect"` asks for it), else REFER
    /// (RFC 3515) to the caller. Bridge: an outbound leg relayed to the
    /// caller. Consultation: an outbound leg, then REFER with `Replaces` or
    /// the platform relaying both legs. `gvp:method` BRIDGE and REFERJOIN
    /// on a blind transfer take the consultation path without waiting in the
    /// session; MEDIAREDIRECT is refused.
    async fn transfer(&mut self, key: CallKey, req: &TransferRequest, now: Instant) {
        let fail = |event: &str, message: String| {
            CallEvent::TransferResult(TransferResult::Failed {
                event: event.into(),
                message,
            })
        };
        let method = req.method.as_deref().map(str::to_ascii_uppercase);
        let handoff = match transfer_plan(req.kind, method.as_deref()) {
            Ok(handoff) => handoff,
            Err(event) => {
                self.send_to(
                    key,
                    fail(&event, "gvp:method MEDIAREDIRECT is not supported".into()),
                );
                return;
            }
        };
        let to = match Uri::parse(&req.dest) {
            Ok(uri) => uri,
            Err(err) => {
                self.send_to(
                    key,
                    fail(
                        "error.connection.baddestination",
                        format!("{}: {err}", req.dest),
                    ),
                );
                return;
            }
        };
        let Some(handoff) = handoff else {
            let target = to;
            let redirect = method.as_deref() == Some("REDIRECT");
            if self.early.contains_key(&key) || redirect {
                if self.redirect(key, &target, now) {
                    return;
                }
                if !self.ensure_answered(key, now).await {
                    return;
                }
            }
            let Some(call) = self.calls.get_mut(&key) else {
                return;
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
            return;
        };
        if !self.ensure_answered(key, now).await {
            return;
        }
        if let Some(target) = crate::sip::dns::numeric_target(&to) {
            if let Err((event, message)) = self.start_leg(key, req, handoff, to, target, now).await
            {
                self.send_to(key, fail(event, message));
            }
            return;
        }
        let Some(dns) = self.dns.clone() else {
            self.send_to(
                key,
                fail(
                    "error.connection.noroute",
                    format!("{}: no DNS resolver", req.dest),
                ),
            );
            return;
        };
        // The lookup may take a while: it runs beside the signalling task.
        let back = self.located_tx.clone();
        let req = Box::new(req.clone());
        tokio::spawn(async move {
            let result = dns.locate(&to).await;
            let _ = back.send(Located {
                key,
                req,
                handoff,
                to,
                result,
            });
        });
    }

    /// A destination's lookup came back: call the first target, or report
    /// why not (no such host: `error.connection.noroute`; the name servers
    /// failed: `network_busy`).
    async fn handle_located(&mut self, done: Located) {
        let Located {
            key,
            req,
            handoff,
            to,
            result,
        } = done;
        let now = Instant::now();
        let event = match result {
            Ok(targets) => match targets.first() {
                Some(&target) => match self.start_leg(key, &req, handoff, to, target, now).await {
                    Ok(()) => return,
                    Err((event, message)) => TransferResult::Failed {
                        event: event.into(),
                        message,
                    },
                },
                None => TransferResult::Failed {
                    event: "error.connection.noroute".into(),
                    message: format!("{}: no address", req.dest),
                },
            },
            Err(err @ LocateError::Lookup { .. }) => {
                tracing::info!(call = %key, error = %err, "transfer destination lookup failed");
                completed("network_busy")
            }
            Err(err) => TransferResult::Failed {
                event: "error.connection.noroute".into(),
                message: err.to_string(),
            },
        };
        self.send_to(key, CallEvent::TransferResult(event));
    }

    /// Blind transfer before answer: 302 with the destination as Contact
    /// (the transfer succeeded as far as the session is concerned). False
    /// when the call is already answered.
    fn redirect(&mut self, key: CallKey, target: &Uri, now: Instant) -> bool {
        if self.early.remove(&key).is_none() {
            return false;
        }
        let Some(call) = self.calls.get(&key) else {
            return true;
        };
        let sip = call.sip;
        match self.ua.redirect(sip, target.clone(), now) {
            Ok(()) => {
                tracing::info!(call = %key, %target, "blind transfer: 302 before answer");
                let _ = call
                    .events
                    .send(CallEvent::TransferResult(TransferResult::Transferred));
                // The SIP call is gone; the session keeps its channel until it
                // ends (it may still run its connection.disconnect.transfer
                // handler).
                self.by_sip.remove(&sip);
            }
            Err(err) => {
                let _ = call
                    .events
                    .send(CallEvent::TransferResult(TransferResult::Failed {
                        event: "error.connection".into(),
                        message: format!("cannot redirect: {err}"),
                    }));
            }
        }
        true
    }

    fn send_to(&self, key: CallKey, event: CallEvent) {
        if let Some(call) = self.calls.get(&key) {
            let _ = call.events.send(event);
        }
    }

    /// Calls the destination of a bridge or consultation transfer, playing
    /// `transferaudio` to the caller while it rings.
    async fn start_leg(
        &mut self,
        key: CallKey,
        req: &TransferRequest,
        handoff: Handoff,
        to: Uri,
        target: Target,
        now: Instant,
    ) -> Result<(), (&'static str, String)> {
        if !self.calls.contains_key(&key) {
            // The caller left while the destination was looked up.
            return Ok(());
        }
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
        let leg = match self.ua.invite_at(
            to.clone(),
            target.addr,
            target.transport,
            None,
            offer.to_string().into_bytes(),
            now,
        ) {
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
        let maxtime = (handoff == Handoff::Bridge && !req.maxtime.is_zero()).then_some(req.maxtime);
        call.transfer = Some(Transferring::Bridge(Box::new(BridgeLeg {
            handoff,
            dest: to,
            sip: leg,
            media: leg_media,
            sdp,
            connected: None,
            deadline: Some(now + connecttimeout),
            maxtime,
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
        tracing::info!(call = %key, dest = %req.dest, ?handoff, "transfer: calling");
        Ok(())
    }

    fn bridge_leg(&mut self, key: CallKey) -> Option<&mut BridgeLeg> {
        match self.calls.get_mut(&key)?.transfer.as_mut()? {
            Transferring::Bridge(leg) => Some(leg),
            Transferring::Blind => None,
        }
    }

    /// Completes a consultation transfer by REFER (RFC 3515) to the caller
    /// with `Replaces` (RFC 3891) naming our dialog with the far end, so the
    /// caller's INVITE takes that dialog over.
    fn refer_with_replaces(&mut self, key: CallKey, now: Instant) {
        let Some(leg) = self.bridge_leg(key) else {
            return;
        };
        let (leg_sip, dest) = (leg.sip, leg.dest.clone());
        let Some(ids) = self.ua.dialog_ids(leg_sip) else {
            self.relay(key);
            return;
        };
        let target = replaces_target(&dest, &ids);
        let Some(caller) = self.calls.get(&key).map(|c| c.sip) else {
            return;
        };
        match self.ua.refer(caller, &target, now) {
            Ok(()) => {
                if let Some(leg) = self.bridge_leg(key) {
                    leg.handoff = Handoff::Referring;
                }
                tracing::info!(call = %key, "consultation transfer: REFER with Replaces");
            }
            Err(err) => {
                tracing::info!(call = %key, error = %err, "cannot REFER; relaying instead");
                self.relay(key);
            }
        }
    }

    /// Completes a consultation transfer by relaying the caller and the far
    /// end without the session, which ends with `connection.disconnect.transfer`.
    fn relay(&mut self, key: CallKey) {
        let caller_media = CallMediaId(key.0);
        let Some(leg) = self.bridge_leg(key) else {
            return;
        };
        leg.handoff = Handoff::Relaying;
        leg.deadline = None;
        let leg_media = leg.media;
        self.media.bridge(caller_media, leg_media);
        self.send_to(key, CallEvent::TransferResult(TransferResult::Transferred));
        tracing::info!(call = %key, "consultation transfer: relaying both legs");
    }

    /// The outcome of the REFER with `Replaces`: success ends the session
    /// and our leg; failure falls back to relaying (or reports the far
    /// end's disconnect when it has left meanwhile).
    fn consult_referred(&mut self, key: CallKey, ok: bool, now: Instant) {
        let Some(leg) = self.bridge_leg(key) else {
            return;
        };
        let gone = leg.ending.is_some();
        let (leg_sip, leg_media) = (leg.sip, leg.media);
        if !ok && !gone {
            self.relay(key);
            return;
        }
        self.by_leg.remove(&leg_sip);
        self.media.close(leg_media);
        if !gone {
            let _ = self.ua.hangup(leg_sip, now);
        }
        let result = if ok {
            TransferResult::Transferred
        } else {
            TransferResult::Completed {
                status: "far_end_disconnect".into(),
                duration: std::time::Duration::ZERO,
            }
        };
        if let Some(call) = self.calls.get_mut(&key) {
            call.transfer = None;
            let _ = call.events.send(CallEvent::TransferResult(result));
        }
        tracing::info!(call = %key, ok, "consultation transfer: REFER done");
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
            let connected = leg.connected.is_some();
            leg.ending = Some(if connected {
                "maxtime_disconnect"
            } else {
                "noanswer"
            });
            leg.deadline = None;
            let sip = leg.sip;
            let _ = self.ua.hangup(sip, now);
            if !connected {
                // A far end that never answered may not even acknowledge the
                // CANCEL (nothing listening): the session need not wait for
                // the INVITE transaction to time out.
                self.finish_leg(key, "noanswer", now);
            }
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
                        let handoff = leg.handoff;
                        self.media.start(
                            leg_media,
                            StreamConfig::new(
                                media,
                                cname,
                                ntp_timestamp(std::time::SystemTime::now()),
                            ),
                        );
                        self.media.stop_play(caller_media);
                        match handoff {
                            Handoff::Consult { refer: true } if self.replaces.contains(&key) => {
                                self.refer_with_replaces(key, now);
                            }
                            Handoff::Consult { .. } => self.relay(key),
                            _ => {
                                self.media.bridge(caller_media, leg_media);
                                tracing::info!(call = %key, "bridge transfer: connected");
                            }
                        }
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
        match leg.handoff {
            Handoff::Relaying => {
                // The far end left a call the platform relays: release the caller.
                let (sip, leg_media) = (leg.sip, leg.media);
                self.by_leg.remove(&sip);
                self.media.unbridge(leg_media);
                self.media.close(leg_media);
                if let Some(call) = self.calls.remove(&key) {
                    self.by_sip.remove(&call.sip);
                    let _ = self.ua.hangup(call.sip, now);
                }
                self.forget(key);
                self.media.close(caller_media);
                tracing::info!(call = %key, "transferred call ended by the far end");
                return;
            }
            Handoff::Referring => {
                // The far end may drop our leg as soon as the caller's INVITE
                // with Replaces took it over; the REFER's outcome decides.
                let (sip, leg_media) = (leg.sip, leg.media);
                leg.ending = Some("far_end_disconnect");
                self.by_leg.remove(&sip);
                self.media.close(leg_media);
                return;
            }
            Handoff::Bridge | Handoff::Consult { .. } => {}
        }
        self.finish_leg(key, status, now);
    }

    /// Reports a bridge or consultation leg's end to the session (which
    /// continues) and releases the leg's media.
    fn finish_leg(&mut self, key: CallKey, status: &str, now: Instant) {
        let Some(leg) = self.bridge_leg(key) else {
            return;
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
        redirect: crate::sip::diversion::redirections(&incoming.headers)
            .into_iter()
            .map(|d| Redirect {
                uri: d.uri,
                pi: d.pi,
                si: d.si,
                reason: d.reason,
            })
            .collect(),
        ..SessionInfo::default()
    }
}

/// How a `<transfer>` is carried out, from its type and `gvp:method`
/// (upper-cased): `None` is the blind path (302 before the answer, REFER
/// after), `Some` an outbound leg used as the handoff says; the error is the
/// event for a method that is not supported.
fn transfer_plan(kind: TransferType, method: Option<&str>) -> Result<Option<Handoff>, String> {
    Ok(match (kind, method) {
        (_, Some("MEDIAREDIRECT")) => {
            let kind = match kind {
                TransferType::Blind => "blind",
                TransferType::Bridge => "bridge",
                TransferType::Consultation => "consultation",
            };
            return Err(format!("error.unsupported.transfer.{kind}"));
        }
        (TransferType::Bridge, _) => Some(Handoff::Bridge),
        (TransferType::Consultation | TransferType::Blind, Some("BRIDGE")) => {
            Some(Handoff::Consult { refer: false })
        }
        (TransferType::Consultation, _) | (TransferType::Blind, Some("REFERJOIN")) => {
            Some(Handoff::Consult { refer: true })
        }
        (TransferType::Blind, _) => None,
    })
}

/// The `Refer-To` of a consultation completed by REFER: the destination
/// with an escaped `Replaces` header (RFC 3891 §6.1, RFC 3261 §19.1.1).
fn replaces_target(dest: &Uri, ids: &crate::sip::DialogIds) -> Uri {
    let mut target = dest.clone();
    let value = ids.replaces();
    let replaces =
        percent_encoding::utf8_percent_encode(&value, percent_encoding::NON_ALPHANUMERIC);
    target.headers = Some(format!("Replaces={replaces}"));
    target
}

/// Whether the caller accepts an INVITE with `Replaces` (RFC 3891 §6.1:
/// `Supported: replaces` or `Require: replaces` in its INVITE).
fn supports_replaces(headers: &[(String, String)]) -> bool {
    headers.iter().any(|(name, value)| {
        (name.eq_ignore_ascii_case("Supported") || name.eq_ignore_ascii_case("Require"))
            && value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("replaces"))
    })
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_is_escaped_into_the_refer_to() {
        let dest = Uri::parse("sip:agent@192.0.2.50:5070").expect("uri");
        let ids = crate::sip::DialogIds {
            call_id: "abc@192.0.2.1".into(),
            local_tag: "ours".into(),
            remote_tag: "theirs".into(),
        };
        assert_eq!(
            replaces_target(&dest, &ids).to_string(),
            "sip:agent@192.0.2.50:5070?Replaces=abc%40192%2E0%2E2%2E1%3Bto%2Dtag%3Dtheirs%3Bfrom%2Dtag%3Dours"
        );
    }

    #[test]
    fn gvp_methods_map_to_the_transfer_paths() {
        use TransferType::{Blind, Bridge, Consultation};
        assert_eq!(transfer_plan(Blind, None), Ok(None));
        assert_eq!(transfer_plan(Blind, Some("REFER")), Ok(None));
        assert_eq!(transfer_plan(Blind, Some("REDIRECT")), Ok(None));
        assert_eq!(
            transfer_plan(Blind, Some("BRIDGE")),
            Ok(Some(Handoff::Consult { refer: false }))
        );
        assert_eq!(
            transfer_plan(Blind, Some("REFERJOIN")),
            Ok(Some(Handoff::Consult { refer: true }))
        );
        assert_eq!(
            transfer_plan(Consultation, None),
            Ok(Some(Handoff::Consult { refer: true }))
        );
        assert_eq!(
            transfer_plan(Consultation, Some("BRIDGE")),
            Ok(Some(Handoff::Consult { refer: false }))
        );
        assert_eq!(
            transfer_plan(Bridge, Some("REFER")),
            Ok(Some(Handoff::Bridge))
        );
        assert_eq!(
            transfer_plan(Consultation, Some("MEDIAREDIRECT")),
            Err("error.unsupported.transfer.consultation".into())
        );
    }

    #[test]
    fn replaces_support_from_supported_or_require() {
        let h = |n: &str, v: &str| vec![(n.to_owned(), v.to_owned())];
        assert!(supports_replaces(&h(
            "Supported",
            "timer, replaces, 100rel"
        )));
        assert!(supports_replaces(&h("require", "Replaces")));
        assert!(!supports_replaces(&h("Supported", "timer, norefersub")));
        assert!(!supports_replaces(&h("Allow", "INVITE, REFER, replaces")));
    }

    #[test]
    fn redirections_reach_session_info() {
        let incoming = IncomingCall {
            call: CallId(1),
            request_uri: Uri::parse("sip:1000@127.0.0.1").expect("uri"),
            from: crate::sip::uri::NameAddr::parse("<sip:alice@192.0.2.9>;tag=a").expect("from"),
            to: crate::sip::uri::NameAddr::parse("<sip:1000@127.0.0.1>").expect("to"),
            contact: None,
            sip_call_id: "c1".into(),
            headers: vec![(
                "Diversion".into(),
                "<sip:2000@pbx.example.com>;reason=no-answer;screen=yes".into(),
            )],
            sdp: None,
            remote: "192.0.2.9:5060".parse().expect("addr"),
            transport: crate::sip::Transport::Udp,
        };
        let info = session_info(&incoming, &route::route_request("sip:1000@127.0.0.1"));
        assert_eq!(
            info.redirect,
            [Redirect {
                uri: "sip:2000@pbx.example.com".into(),
                pi: None,
                si: Some("yes".into()),
                reason: Some("no-answer".into()),
            }]
        );
    }
}
