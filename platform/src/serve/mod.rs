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
//! - [`uas`]: the SIP user-agent server core (no I/O); the signalling task
//!   feeds it datagrams and timers and acts on its events.
//! - [`workers`] and [`call`]: sessions on worker threads, one task per call;
//!   [`render`]: prompts to 8 kHz audio (espeak-ng, fetched audio files).
//! - [`media`]: SDP answer, RTP pacing for every call from one task, RFC 4733
//!   DTMF reception.
//!
//! [`start`] binds everything and returns a [`RunningServer`] with the bound
//! addresses and a call log ([`CallNote`]s) that tests and the CLI read.

pub mod call;
pub mod config;
pub mod http;
pub mod media;
pub mod render;
pub mod route;
pub mod uas;
pub mod workers;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::{broadcast, mpsc, oneshot};
use url::Url;
use vxp_fetcher::{Fetcher, FetcherConfig};
use vxp_interpreter::script::Originator;
use vxp_interpreter::vxml::session::{
    RecordResult, SessionConfig, SessionInfo, TransferResult, TransferType,
};

pub use call::{CallAction, CallEvent, CallKey, CallNote};
pub use config::{ConfigError, ServeConfig};

use call::{CallChannels, CallFetcher};
use media::MediaCommand;
use render::EspeakRenderer;
use route::{CallRouter, Route, TableRouter};
use uas::{DialogId, Uas, UasEvent};
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
    let sip_socket = UdpSocket::bind(config.sip.listen)
        .await
        .map_err(|source| ServeError::Bind {
            what: "SIP/UDP",
            addr: config.sip.listen,
            source,
        })?;
    let sip = sip_socket.local_addr().map_err(|source| ServeError::Bind {
        what: "SIP/UDP",
        addr: config.sip.listen,
        source,
    })?;
    let fetcher = Fetcher::new(FetcherConfig::default())?;
    let workers = WorkerPool::new(config.worker_threads()).map_err(ServeError::Workers)?;
    let router: Arc<dyn CallRouter> = Arc::new(TableRouter::new(&config.routing, base.clone()));
    let (notes, _) = broadcast::channel(4096);
    let (media_tx, media_rx) = mpsc::unbounded_channel();
    tasks.push(tokio::spawn(media::run_media(media_rx)));
    let (stop_tx, stop_rx) = oneshot::channel();
    let signalling = Signalling {
        socket: Arc::new(sip_socket),
        uas: Uas::new(sip),
        router,
        fetcher,
        workers,
        renderer: Arc::new(EspeakRenderer::new(config.tts.clone())),
        notes: notes.clone(),
        media: media_tx,
        calls: HashMap::new(),
        by_dialog: HashMap::new(),
        next_key: 1,
        config,
        next_port: 0,
    };
    tasks.push(tokio::spawn(signalling.run(stop_rx)));
    tracing::info!(%sip, http = ?http, "vxp serve started");
    Ok(RunningServer {
        sip,
        http,
        base,
        notes,
        stop: Some(stop_tx),
        tasks,
    })
}

#[derive(Debug)]
struct Call {
    dialog: DialogId,
    events: mpsc::UnboundedSender<CallEvent>,
}

/// The signalling task: owns the UAS core and the call table.
struct Signalling {
    socket: Arc<UdpSocket>,
    uas: Uas,
    router: Arc<dyn CallRouter>,
    fetcher: Fetcher,
    workers: WorkerPool,
    renderer: Arc<EspeakRenderer>,
    notes: broadcast::Sender<(CallKey, CallNote)>,
    media: mpsc::UnboundedSender<MediaCommand>,
    calls: HashMap<CallKey, Call>,
    by_dialog: HashMap<DialogId, CallKey>,
    next_key: u64,
    config: ServeConfig,
    next_port: u16,
}

impl Signalling {
    async fn run(mut self, mut stop: oneshot::Receiver<()>) {
        let (actions_tx, mut actions) = mpsc::unbounded_channel::<(CallKey, CallAction)>();
        let mut buf = vec![0u8; 65536];
        loop {
            let deadline = self.uas.poll_timeout();
            tokio::select! {
                _ = &mut stop => break,
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((len, from)) => {
                        if let Some(bytes) = buf.get(..len) {
                            self.uas.handle_datagram(bytes, from, Instant::now());
                        }
                    }
                    Err(err) => tracing::debug!(error = %err, "SIP receive error"),
                },
                Some((key, action)) = actions.recv() => self.handle_action(key, action),
                () = sleep_until(deadline), if deadline.is_some() => {
                    self.uas.handle_timeout(Instant::now());
                }
            }
            while let Some(event) = self.uas.poll_event() {
                self.handle_event(event, &actions_tx).await;
            }
            while let Some(t) = self.uas.poll_transmit() {
                if let Err(err) = self.socket.send_to(&t.bytes, t.to).await {
                    tracing::debug!(to = %t.to, error = %err, "SIP send failed");
                }
            }
        }
    }

    async fn handle_event(
        &mut self,
        event: UasEvent,
        actions: &mpsc::UnboundedSender<(CallKey, CallAction)>,
    ) {
        let now = Instant::now();
        match event {
            UasEvent::IncomingCall {
                id,
                request_uri,
                from,
                to,
                headers,
                sdp,
                source,
            } => {
                if self.calls.len() >= self.config.sip.max_calls {
                    self.uas.reject(id, 503, "Service Unavailable", now);
                    return;
                }
                let request = route::route_request(&request_uri);
                let url = match self.router.route(&request) {
                    Route::Application(url) => url,
                    Route::Reject { code, reason } => {
                        self.uas.reject(id, code, &reason, now);
                        return;
                    }
                };
                let negotiated = match media::negotiate(&sdp) {
                    Ok(n) => n,
                    Err(err) => {
                        tracing::info!(%source, error = %err, "offer not answerable");
                        self.uas.reject(id, 488, "Not Acceptable Here", now);
                        return;
                    }
                };
                let Some(rtp) = self.bind_rtp().await else {
                    self.uas.reject(id, 503, "No Media Ports", now);
                    return;
                };
                let Ok(local_rtp) = rtp.local_addr() else {
                    self.uas.reject(id, 500, "Media Error", now);
                    return;
                };
                let key = CallKey(self.next_key);
                self.next_key += 1;
                let answer = media::answer_sdp(&negotiated, local_rtp, key.0);
                self.uas.answer(id, &answer, now);
                let (events_tx, events_rx) = mpsc::unbounded_channel();
                let _ = self.media.send(MediaCommand::Open {
                    key,
                    socket: Arc::new(rtp),
                    negotiated,
                    events: events_tx.clone(),
                });
                let info = session_info(&from, &to, &headers, &request);
                tracing::info!(call = %key, %url, from = %from, "call answered");
                let mut config = SessionConfig::new(url);
                config.info = info;
                let fetch = CallFetcher::new(self.fetcher.clone());
                let renderer = self.renderer.clone();
                let channels = CallChannels {
                    events: events_rx,
                    actions: actions.clone(),
                    notes: self.notes.clone(),
                };
                self.workers.spawn(Box::new(move || {
                    Box::pin(async move {
                        call::run_call(key, config, fetch, renderer.as_ref(), channels).await;
                    })
                }));
                self.calls.insert(
                    key,
                    Call {
                        dialog: id,
                        events: events_tx,
                    },
                );
                self.by_dialog.insert(id, key);
            }
            UasEvent::Cancelled(id) | UasEvent::Ended(id) => {
                if let Some(key) = self.by_dialog.remove(&id) {
                    if let Some(call) = self.calls.remove(&key) {
                        let _ = call.events.send(CallEvent::Hangup);
                    }
                    let _ = self.media.send(MediaCommand::Close(key));
                }
            }
            UasEvent::Dtmf(id, key_char) => {
                if let Some(call) = self.by_dialog.get(&id).and_then(|k| self.calls.get(k)) {
                    let _ = call.events.send(CallEvent::Dtmf(key_char));
                }
            }
            UasEvent::Info {
                id,
                content_type,
                body,
            } => {
                if let Some(call) = self.by_dialog.get(&id).and_then(|k| self.calls.get(k)) {
                    let _ = call.events.send(CallEvent::Message(
                        vxp_interpreter::vxml::session::ExternalMessage {
                            sourcetype: "sip".into(),
                            contenttype: content_type,
                            content: body,
                        },
                    ));
                }
            }
        }
    }

    fn handle_action(&mut self, key: CallKey, action: CallAction) {
        let now = Instant::now();
        match action {
            CallAction::Play { id, prompt } => {
                let _ = self.media.send(MediaCommand::Play(key, id, prompt));
            }
            CallAction::StopPlayback => {
                let _ = self.media.send(MediaCommand::Stop(key));
            }
            CallAction::Record(_) => {
                if let Some(call) = self.calls.get(&key) {
                    let _ = call.events.send(CallEvent::RecordResult(RecordResult::Failed {
                        event: "error.noresource".into(),
                        message: "recording is not available on this platform yet".into(),
                    }));
                }
            }
            CallAction::Transfer(req) => {
                if let Some(call) = self.calls.get(&key) {
                    let kind = match req.kind {
                        TransferType::Blind => "blind",
                        TransferType::Bridge => "bridge",
                        TransferType::Consultation => "consultation",
                    };
                    let _ = call.events.send(CallEvent::TransferResult(TransferResult::Failed {
                        event: format!("error.unsupported.transfer.{kind}"),
                        message: format!("{kind} transfers are not available on this platform yet"),
                    }));
                }
            }
            CallAction::Hangup => {
                if let Some(call) = self.calls.remove(&key) {
                    self.by_dialog.remove(&call.dialog);
                    self.uas.hangup(call.dialog, now);
                }
                let _ = self.media.send(MediaCommand::Close(key));
            }
        }
    }

    /// Binds an even RTP port from the configured range, round-robin.
    async fn bind_rtp(&mut self) -> Option<UdpSocket> {
        let min = self.config.rtp.port_min;
        let max = self.config.rtp.port_max;
        let span = (max.saturating_sub(min) / 2).max(1);
        for _ in 0..span.min(64) {
            let port = min.saturating_add((self.next_port % span) * 2);
            self.next_port = self.next_port.wrapping_add(1);
            if let Ok(s) = UdpSocket::bind(SocketAddr::new(self.config.rtp.address, port)).await {
                return Some(s);
            }
        }
        None
    }
}

/// `session.connection.*` from the INVITE (VoiceXML 2.1 §5.1.4, GVP's
/// `protocol.sip.headers` and `requesturi` objects).
fn session_info(
    from: &str,
    to: &str,
    headers: &[(String, String)],
    request: &route::RouteRequest,
) -> SessionInfo {
    let mut sip_headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in headers {
        sip_headers
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.clone());
    }
    let uuid = sip_headers
        .get("x-genesys-calluuid")
        .and_then(|v| v.first())
        .cloned();
    let aai = sip_headers
        .get("user-to-user")
        .and_then(|v| v.first())
        .cloned();
    SessionInfo {
        local_uri: uas::addr_uri(to).to_owned(),
        remote_uri: uas::addr_uri(from).to_owned(),
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
