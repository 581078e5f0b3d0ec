//! CCXML applications under `vxp serve` (CCXML 1.0 §10 call control, §9
//! events, Appendix K basichttp): an INVITE routed to a CCXML page starts a
//! [`Session`] on a worker thread, and its call-control requests drive SIP
//! and media from the signalling task.
//!
//! ```text
//!  signalling task                                worker (one task per session)
//!  INVITE ──▶ Down::Incoming ───────────────────▶ new_connection_id, connection.alerting
//!             ◀── Up::Bound(connection id) ─────
//!             ◀── Up::Output(AcceptCall, ...) ── poll_output (fetches, <log>, basichttp
//!  SIP/dialog ─▶ Down::Input(Connected, ...) ──▶ handle_input      <send> stay here)
//! ```
//!
//! The mapping of outputs: AcceptCall → 200 OK, RejectCall → the status a
//! numeric `reason` names (403 otherwise), Redirect → 302 before the answer
//! and REFER after it, Disconnect → BYE/CANCEL/480, CreateCall → an outbound
//! INVITE, StartDialog → a VoiceXML session on the connection's media (the
//! server's own call driver, [`super::call::run_call`]) whose end is
//! `dialog.exit`, Join/Unjoin of two connections → the media relay, of a
//! connection and a conference → the media thread's mixer
//! ([`crate::media::mixer`]), CreateSession (`<createccxml>`) → another
//! session, SendEvent → a basichttp POST, another session's queue or the
//! dialog (Appendix D: a dialog's `<transfer>` is `dialog.transfer` and
//! waits for the page's report, its `<disconnect>` is `dialog.disconnect`).
//! Sessions are reachable by id for `<send>`, `ccxml.exit` and the HTTP
//! interfaces ([`HttpHost`]). A dialog needs a connection: dialogs on
//! conferences fail with `error.dialog.notstarted`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc};
use tracing::Instrument;
use url::Url;
use vxp_fetcher::{Fetcher, FormValue};
use vxp_interpreter::ccxml::model::Duplex;
use vxp_interpreter::ccxml::{
    DialogSpec, Event, Input, MovedSource, Output, Session, SessionConfig, SourceKind, StartupMode,
};
use vxp_interpreter::script::{CcxmlDialog, Originator};
use vxp_interpreter::vxml::session::{
    ExternalMessage, FetchId, FetchResult, SessionInfo, TransferRequest, TransferResult,
    TransferType,
};

use super::call::{self, CallAction, CallChannels, CallEvent, CallFetcher, CallKey, CallNote};
use super::config::RoutingConfig;
use super::route::RouteRequest;
use super::{Call, Signalling};
use crate::ccxml_http::{Delivery, SessionHost};
use crate::media::engine::CallMediaId;
use crate::media::mixer::{ConferenceId, ConferenceOp};
use crate::media::stream::{StreamConfig, ntp_timestamp};
use crate::sdp::{Capabilities, LocalMedia, OfferAnswer, SessionDescription};
use crate::sip::ua::{CallId, IncomingCall, UaEvent};
use crate::sip::uri::Uri;

/// Whether a routed application is a CCXML document: its URL ends in
/// `.ccxml`, or the dialed number is listed in `[routing] ccxml`.
pub fn is_ccxml(url: &Url, request: &RouteRequest, routing: &RoutingConfig) -> bool {
    url.path().to_ascii_lowercase().ends_with(".ccxml")
        || request
            .user
            .as_ref()
            .is_some_and(|user| routing.ccxml.contains(user))
}

/// What the signalling task tells a session's worker task.
#[derive(Debug)]
enum Down {
    /// The inbound call that started the session: allocate its connection
    /// id and raise `connection.alerting`.
    Incoming {
        remote: String,
        local: String,
        headers: Vec<(String, String)>,
    },
    /// Any other telephony or dialog report.
    Input(Input),
    /// An event posted over HTTP (basichttp): counted against
    /// [`MAX_PENDING_EVENTS`] until the worker takes it.
    Posted(Input),
    /// A connection or dialog another session moved here (`<move>`).
    Adopt {
        object: Box<MovedSource>,
        event: Option<Box<Event>>,
        /// The session that moved it.
        from: CallKey,
    },
}

/// What a session's worker task tells the signalling task.
#[derive(Debug)]
pub(super) enum Up {
    /// The inbound call's connection id.
    Bound(String),
    /// A call-control request.
    Output(Box<Output>),
    /// The session's document is loaded (`ccxml.created` for its parent).
    Loaded,
    /// The session ended: release what it still holds and tell its parent.
    Finished(Box<Ending>),
    /// This session took in a source `from` moved (`move.successful` there).
    Adopted {
        source: String,
        kind: SourceKind,
        from: CallKey,
    },
    /// This session refused a source `from` moved (`error.move` there).
    AdoptFailed {
        source: String,
        from: CallKey,
        reason: String,
    },
    /// The HTTP `createsession` interface asks for a session (its mailbox
    /// is registered already, so events can be posted at once).
    Create {
        id: String,
        url: Url,
        values: Map<String, Value>,
        mailbox: Box<Mailbox>,
    },
}

/// How a session ended, for its parent's `ccxml.exit`.
#[derive(Debug, Default)]
pub(super) struct Ending {
    /// The `<exit expr>` value (`null` otherwise).
    expr: Value,
    /// The `<exit namelist>` values.
    values: Map<String, Value>,
    /// Why it ended, when it did not load (`error.createccxml`).
    reason: Option<String>,
}

/// Events waiting between the HTTP interface and one session's worker;
/// more are refused (the session's own queue is bounded too).
pub const MAX_PENDING_EVENTS: usize = 256;

/// A running session's mailbox, shared with the HTTP interface.
#[derive(Debug, Clone)]
struct Port {
    down: mpsc::UnboundedSender<Down>,
    /// HTTP events not yet taken by the worker.
    posted: Arc<AtomicUsize>,
}

/// A new session's mailbox: its [`Port`] and the worker's end.
#[derive(Debug)]
pub(super) struct Mailbox {
    port: Port,
    rx: mpsc::UnboundedReceiver<Down>,
}

impl Mailbox {
    fn new() -> Self {
        let (down, rx) = mpsc::unbounded_channel();
        Mailbox {
            port: Port {
                down,
                posted: Arc::new(AtomicUsize::new(0)),
            },
            rx,
        }
    }
}

/// Running sessions by their CCXML session id.
type Ports = Arc<Mutex<HashMap<String, Port>>>;

/// Where a connection is in its life (§10.2's states the driver must know).
#[derive(Debug)]
enum Phase {
    /// Inbound, not answered yet.
    Alerting { offer: Box<SessionDescription> },
    /// Outbound, not answered yet.
    Calling,
    /// Answered, media running.
    Connected,
    /// Merged away: the party replaced our leg; the merge's outcome
    /// removes the connection.
    Replaced,
}

/// One CCXML connection: a SIP call and its media.
#[derive(Debug)]
struct Conn {
    sip: CallId,
    phase: Phase,
    /// Its media stream (opened on accept or createcall).
    media: Option<CallMediaId>,
    sdp: Option<OfferAnswer>,
    /// `session.connection.*` for dialogs started on it.
    info: SessionInfo,
    /// The dialog running on it (its id and call key).
    dialog: Option<(String, CallKey)>,
    /// A REFER sent on this call is under way, and what for.
    referring: Option<Referral>,
}

/// Why a connection's REFER was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Referral {
    /// `<redirect>` of a connected call.
    Redirect,
    /// `<merge>`: the REFER with `Replaces` that hands this call to the
    /// other connection's party.
    Merge {
        connection1: String,
        connection2: String,
    },
}

/// One running CCXML session as the signalling task sees it.
#[derive(Debug)]
struct CcxmlSession {
    /// Its CCXML session id.
    id: String,
    /// The session that created it with `<createccxml>`.
    parent: Option<String>,
    down: mpsc::UnboundedSender<Down>,
    conns: HashMap<String, Conn>,
    /// The inbound call waiting for its connection id.
    unbound: Option<Conn>,
    /// Prepared dialogs' sources, by dialog id.
    prepared: HashMap<String, Url>,
    /// Its conferences' mixers, by conference id.
    conferences: HashMap<String, ConferenceId>,
}

impl CcxmlSession {
    fn input(&self, input: Input) {
        let _ = self.down.send(Down::Input(input));
    }
}

/// The CCXML sessions of a server.
#[derive(Debug)]
pub(super) struct CcxmlCalls {
    sessions: HashMap<CallKey, CcxmlSession>,
    /// SIP calls of connections → (session, connection id).
    by_sip: HashMap<CallId, (CallKey, String)>,
    /// Dialog call keys → (session, dialog id).
    dialogs: HashMap<CallKey, (CallKey, String)>,
    up: mpsc::UnboundedSender<(CallKey, Up)>,
    up_rx: Option<mpsc::UnboundedReceiver<(CallKey, Up)>>,
    /// The signalling loop's call actions, for dialogs' call drivers.
    actions: Option<mpsc::UnboundedSender<(CallKey, CallAction)>>,
    /// Sessions by CCXML id (for `<send targettype="ccxml">`, `ccxml.exit`
    /// and the HTTP interface).
    ports: Ports,
    /// Dialogs (by call key) waiting for the page to report a transfer.
    transfers: HashSet<CallKey>,
    /// Numbers the ids of sessions started over HTTP.
    http_sessions: Arc<AtomicU64>,
    /// `session.ioprocessors.basichttp` (the server's basichttp URL).
    basichttp_url: Option<Url>,
}

/// The HTTP interfaces' way into the server's CCXML sessions.
#[derive(Debug, Clone)]
pub(super) struct HttpHost {
    up: mpsc::UnboundedSender<(CallKey, Up)>,
    ports: Ports,
    next: Arc<AtomicU64>,
}

impl SessionHost for HttpHost {
    fn start_session(&self, url: Url, values: Map<String, Value>) -> String {
        let id = format!(
            "ccxml-http-{}",
            self.next.fetch_add(1, Ordering::Relaxed) + 1
        );
        let mailbox = Mailbox::new();
        if let Ok(mut ports) = self.ports.lock() {
            ports.insert(id.clone(), mailbox.port.clone());
        }
        let _ = self.up.send((
            CallKey(0),
            Up::Create {
                id: id.clone(),
                url,
                values,
                mailbox: Box::new(mailbox),
            },
        ));
        id
    }

    fn send_event(
        &self,
        sessionid: &str,
        name: String,
        fields: Map<String, Value>,
    ) -> Result<(), Delivery> {
        let port = self
            .ports
            .lock()
            .map_err(|_| Delivery::NoSession)?
            .get(sessionid)
            .cloned()
            .ok_or(Delivery::NoSession)?;
        if port.posted.fetch_add(1, Ordering::AcqRel) >= MAX_PENDING_EVENTS {
            port.posted.fetch_sub(1, Ordering::AcqRel);
            return Err(Delivery::Busy);
        }
        let input = Input::External {
            name,
            fields,
            source: "basichttp".into(),
            sourcetype: "basichttp".into(),
        };
        port.down
            .send(Down::Posted(input))
            .map_err(|_| Delivery::NoSession)
    }
}

impl CcxmlCalls {
    pub(super) fn new() -> Self {
        let (up, up_rx) = mpsc::unbounded_channel();
        Self {
            sessions: HashMap::new(),
            by_sip: HashMap::new(),
            dialogs: HashMap::new(),
            up,
            up_rx: Some(up_rx),
            actions: None,
            ports: Ports::default(),
            transfers: HashSet::new(),
            http_sessions: Arc::new(AtomicU64::new(0)),
            basichttp_url: None,
        }
    }

    /// The host the HTTP interfaces (`createsession`, basichttp) use;
    /// `basichttp` is the URL sessions advertise in
    /// `session.ioprocessors.basichttp`.
    pub(super) fn http_host(&mut self, basichttp: Option<Url>) -> HttpHost {
        self.basichttp_url = basichttp;
        HttpHost {
            up: self.up.clone(),
            ports: Arc::clone(&self.ports),
            next: Arc::clone(&self.http_sessions),
        }
    }

    /// The sessions' requests, for the signalling loop (taken once), which
    /// hands over its call-action sender for dialogs.
    pub(super) fn take_receiver(
        &mut self,
        actions: mpsc::UnboundedSender<(CallKey, CallAction)>,
    ) -> mpsc::UnboundedReceiver<(CallKey, Up)> {
        self.actions = Some(actions);
        self.up_rx
            .take()
            .unwrap_or_else(|| mpsc::unbounded_channel().1)
    }
}

impl Signalling {
    /// Starts a CCXML session for an inbound call (it rings meanwhile).
    pub(super) fn ccxml_incoming(
        &mut self,
        incoming: IncomingCall,
        url: Url,
        request: &RouteRequest,
        offer: SessionDescription,
        now: Instant,
    ) {
        let id = incoming.call;
        let key = CallKey(self.next_key);
        self.next_key += 1;
        let _ = self.ua.ring(id, 180, None, now);
        let info = super::session_info(&incoming, request);
        tracing::info!(session = %key, %url, from = %incoming.from, "CCXML session for a call");
        let config = SessionConfig::new(format!("ccxml-{}", key.0), url);
        self.spawn_ccxml(key, config, Mailbox::new());
        if let Some(s) = self.ccxml.sessions.get_mut(&key) {
            let _ = s.down.send(Down::Incoming {
                remote: incoming.from.uri.to_string(),
                local: incoming.to.uri.to_string(),
                headers: incoming.headers.clone(),
            });
            s.unbound = Some(Conn {
                sip: id,
                phase: Phase::Alerting {
                    offer: Box::new(offer),
                },
                media: None,
                sdp: None,
                info,
                dialog: None,
                referring: None,
            });
        }
    }

    /// Starts a session without a call: from another session's
    /// `<createccxml>` (`parent` set) or from the HTTP `createsession`.
    fn ccxml_create(
        &mut self,
        id: String,
        url: Url,
        values: Map<String, Value>,
        parent: Option<String>,
        mailbox: Mailbox,
    ) {
        let key = CallKey(self.next_key);
        self.next_key += 1;
        let mut config = SessionConfig::new(id, url);
        config.startupmode = if parent.is_some() {
            StartupMode::CreateCcxml
        } else {
            StartupMode::External
        };
        config.parent = parent;
        config.values = values;
        tracing::info!(session = %key, id = %config.id, url = %config.url, parent = ?config.parent, "CCXML session started");
        self.spawn_ccxml(key, config, mailbox);
    }

    /// Runs `config` on a worker under `key` and registers it.
    fn spawn_ccxml(&mut self, key: CallKey, mut config: SessionConfig, mailbox: Mailbox) {
        let Mailbox { port, rx } = mailbox;
        let (down, posted) = (port.down.clone(), Arc::clone(&port.posted));
        config.ioprocessors = Map::new();
        if let Some(base) = &self.ccxml.basichttp_url {
            let mut url = base.clone();
            url.query_pairs_mut().append_pair("sessionid", &config.id);
            config
                .ioprocessors
                .insert("basichttp".into(), Value::String(url.into()));
        }
        if let Ok(mut ports) = self.ccxml.ports.lock() {
            ports.insert(config.id.clone(), port);
        }
        self.ccxml.sessions.insert(
            key,
            CcxmlSession {
                id: config.id.clone(),
                parent: config.parent.clone(),
                down,
                conns: HashMap::new(),
                unbound: None,
                prepared: HashMap::new(),
                conferences: HashMap::new(),
            },
        );
        let down = rx;
        let fetch = CallFetcher::new(self.fetcher.clone());
        let fetcher = self.fetcher.clone();
        let up = self.ccxml.up.clone();
        let notes = self.notes.clone();
        self.workers.spawn(Box::new(move || {
            Box::pin(async move {
                let span = tracing::info_span!("ccxml", session = %key);
                run_session(key, config, fetch, fetcher, (down, posted), up, notes)
                    .instrument(span)
                    .await;
            })
        }));
    }

    /// A SIP event for a CCXML connection; other events are given back.
    pub(super) fn ccxml_sip_event(&mut self, event: UaEvent, now: Instant) -> Option<UaEvent> {
        let sip = match &event {
            UaEvent::CallCancelled { call }
            | UaEvent::RemoteHangup { call }
            | UaEvent::Terminated { call }
            | UaEvent::Failed { call, .. }
            | UaEvent::Answered { call, .. }
            | UaEvent::Provisional { call, .. }
            | UaEvent::ReferProgress { call, .. } => *call,
            _ => return Some(event),
        };
        let Some((key, connection)) = self.ccxml.by_sip.get(&sip).cloned() else {
            // An inbound call cancelled before its session named it.
            if let UaEvent::CallCancelled { call } = &event
                && let Some(s) = self
                    .ccxml
                    .sessions
                    .values_mut()
                    .find(|s| s.unbound.as_ref().is_some_and(|c| c.sip == *call))
            {
                s.unbound = None;
                return None;
            }
            return Some(event);
        };
        match event {
            UaEvent::Provisional { .. } => {
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::Progressing { connection });
                }
            }
            UaEvent::Answered { sdp, .. } => self.ccxml_answered(key, &connection, sdp, now),
            UaEvent::Failed { status, .. } => {
                let reason = match status {
                    486 | 600 => "busy",
                    408 | 480 | 487 => "noanswer",
                    _ => "rejected",
                };
                self.ccxml_gone(key, &connection);
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::Failed {
                        connection,
                        reason: reason.into(),
                    });
                }
            }
            UaEvent::ReferProgress { status, done, .. } => {
                if !(done || status >= 300) {
                    return None;
                }
                let s = self.ccxml.sessions.get_mut(&key)?;
                let referral = s.conns.get_mut(&connection)?.referring.take();
                match referral {
                    Some(Referral::Redirect) => s.input(if (200..300).contains(&status) {
                        Input::Redirected { connection }
                    } else {
                        Input::ConnectionError {
                            connection,
                            reason: format!("REFER answered {status}"),
                        }
                    }),
                    Some(Referral::Merge {
                        connection1,
                        connection2,
                    }) => self.ccxml_merge_done(key, connection1, connection2, status, now),
                    None => {}
                }
            }
            UaEvent::CallCancelled { .. }
            | UaEvent::RemoteHangup { .. }
            | UaEvent::Terminated { .. } => {
                // The party a merge hands over to drops our leg once its
                // dialog is replaced, maybe before the REFER's last NOTIFY:
                // that is the merge's outcome, not a disconnect.
                let replaced = self.ccxml.sessions.get(&key).is_some_and(|s| {
                    s.conns.values().any(|c| {
                        matches!(&c.referring, Some(Referral::Merge { connection2, .. }) if *connection2 == connection)
                    })
                });
                if replaced {
                    if let Some(s) = self.ccxml.sessions.get_mut(&key)
                        && let Some(c) = s.conns.get_mut(&connection)
                    {
                        c.phase = Phase::Replaced;
                    }
                    return None;
                }
                let dialog = self.ccxml_gone(key, &connection);
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::Disconnected {
                        connection,
                        reason: "hangup".into(),
                        trigger: "remote".into(),
                    });
                    if let Some(dialog) = dialog {
                        s.input(Input::DialogExit {
                            dialog,
                            values: Value::Null,
                        });
                    }
                }
            }
            _ => {}
        }
        None
    }

    /// An outbound connection answered: start its media.
    fn ccxml_answered(
        &mut self,
        key: CallKey,
        connection: &str,
        sdp: Option<Vec<u8>>,
        now: Instant,
    ) {
        let cname = format!("vxp@{}", self.config.rtp.address);
        let Some(s) = self.ccxml.sessions.get_mut(&key) else {
            return;
        };
        let Some(c) = s.conns.get_mut(connection) else {
            return;
        };
        let answer = sdp
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        let negotiated = match c.sdp.as_mut() {
            Some(oa) => SessionDescription::parse(&answer)
                .map_err(|e| e.to_string())
                .and_then(|a| oa.handle_answer(&a).map_err(|e| e.to_string())),
            None => Err("no offer was made".into()),
        };
        let negotiated =
            negotiated.and_then(|n| c.media.map(|id| (n, id)).ok_or_else(|| "no media".into()));
        match negotiated {
            Ok((media, id)) => {
                c.phase = Phase::Connected;
                self.media.start(
                    id,
                    StreamConfig::new(media, cname, ntp_timestamp(std::time::SystemTime::now())),
                );
                s.input(Input::Connected {
                    connection: connection.to_owned(),
                });
            }
            Err(err) => {
                tracing::info!(session = %key, error = %err, "outbound answer unusable");
                let sip = c.sip;
                let _ = self.ua.hangup(sip, now);
            }
        }
    }

    /// Forgets a connection whose call is over: its media and the dialog on
    /// it (told the caller hung up); returns that dialog's id.
    fn ccxml_gone(&mut self, key: CallKey, connection: &str) -> Option<String> {
        let c = self
            .ccxml
            .sessions
            .get_mut(&key)?
            .conns
            .remove(connection)?;
        self.ccxml.by_sip.remove(&c.sip);
        if let Some(media) = c.media {
            self.media.unbridge(media);
            self.media.close(media);
        }
        let (dialog, dialog_key) = c.dialog?;
        self.ccxml.dialogs.remove(&dialog_key);
        self.ccxml.transfers.remove(&dialog_key);
        if let Some(call) = self.calls.remove(&dialog_key) {
            self.by_sip.remove(&call.sip);
            let _ = call.events.send(CallEvent::Hangup);
        }
        Some(dialog)
    }

    /// A dialog's `Hangup` is the end of the dialog, not of the call:
    /// `dialog.exit` with the values the dialog returned. Returns whether
    /// `key` was a CCXML dialog.
    ///
    /// A dialog that ran `<disconnect>` does not hang up itself (CCXML 1.0
    /// Appendix D): the page gets `dialog.disconnect` and decides, then
    /// `dialog.exit` as the VoiceXML session is over.
    pub(super) fn ccxml_dialog_ended(
        &mut self,
        key: CallKey,
        values: Value,
        disconnect: bool,
    ) -> bool {
        let Some((session, dialog)) = self.ccxml.dialogs.remove(&key) else {
            return false;
        };
        self.ccxml.transfers.remove(&key);
        if let Some(call) = self.calls.remove(&key) {
            self.by_sip.remove(&call.sip);
        }
        self.media.stop_play(CallMediaId(key.0));
        if let Some(s) = self.ccxml.sessions.get_mut(&session) {
            for c in s.conns.values_mut() {
                if c.dialog.as_ref().is_some_and(|(_, k)| *k == key) {
                    c.dialog = None;
                }
            }
            if disconnect {
                s.input(Input::DialogDisconnect {
                    dialog: dialog.clone(),
                });
            }
            s.input(Input::DialogExit { dialog, values });
        }
        true
    }

    /// A dialog's `<transfer>` is the page's to carry out (CCXML 1.0
    /// Appendix D): `dialog.transfer` to the session; the VoiceXML
    /// `<transfer>` waits until the page reports the outcome with a
    /// `<send targettype="dialog">` (see [`transfer_outcome`]) or ends the
    /// dialog. Returns whether `key` was a CCXML dialog.
    pub(super) fn ccxml_dialog_transfer(&mut self, key: CallKey, req: &TransferRequest) -> bool {
        let Some((session, dialog)) = self.ccxml.dialogs.get(&key) else {
            return false;
        };
        if let Some(s) = self.ccxml.sessions.get(session) {
            tracing::info!(session = %session, %dialog, dest = %req.dest, "dialog.transfer");
            s.input(Input::DialogTransfer {
                dialog: dialog.clone(),
                transfer_type: transfer_type_name(req.kind).into(),
                uri: req.dest.clone(),
            });
            self.ccxml.transfers.insert(key);
        }
        true
    }

    /// `<send targettype="dialog">`: the outcome of a transfer the dialog
    /// waits on, or a message for its `<gvp:receive>`.
    fn ccxml_send_to_dialog(
        &mut self,
        key: CallKey,
        sendid: String,
        target: &str,
        name: String,
        fields: Map<String, Value>,
    ) {
        let found = self
            .ccxml
            .dialogs
            .iter()
            .find_map(|(k, (s, d))| (*s == key && d == target).then_some(*k));
        let call = found.and_then(|k| self.calls.get(&k).map(|c| (k, c.events.clone())));
        let Some((dialog_key, events)) = call else {
            if let Some(s) = self.ccxml.sessions.get(&key) {
                s.input(Input::SendFailed {
                    sendid,
                    event: "error.send.targetunavailable".into(),
                    reason: format!("no dialog `{target}` runs in this session"),
                });
            }
            return;
        };
        let event = match transfer_outcome(&name, &fields) {
            Some(result) if self.ccxml.transfers.remove(&dialog_key) => {
                CallEvent::TransferResult(result)
            }
            _ => {
                let content = Value::Object(
                    std::iter::once(("name".to_owned(), Value::String(name)))
                        .chain(fields)
                        .collect(),
                );
                CallEvent::Message(ExternalMessage {
                    sourcetype: "ccxml".into(),
                    contenttype: "application/json".into(),
                    content: content.to_string(),
                })
            }
        };
        let _ = events.send(event);
    }

    /// `<send targettype="ccxml">`: an event into another session.
    fn ccxml_send_to_session(
        &mut self,
        key: CallKey,
        sendid: String,
        target: &str,
        name: String,
        fields: Map<String, Value>,
    ) {
        let Some(from) = self.ccxml.sessions.get(&key) else {
            return;
        };
        let port = self
            .ccxml
            .ports
            .lock()
            .ok()
            .and_then(|p| p.get(target).cloned());
        match port {
            Some(port) => {
                let _ = port.down.send(Down::Input(Input::External {
                    name,
                    fields,
                    source: from.id.clone(),
                    sourcetype: "ccxml".into(),
                }));
            }
            None => from.input(Input::SendFailed {
                sendid,
                event: "error.send.targetunavailable".into(),
                reason: format!("no session `{target}` runs here"),
            }),
        }
    }

    /// A request from a session's worker.
    pub(super) async fn handle_ccxml(&mut self, key: CallKey, up: Up) {
        let now = Instant::now();
        match up {
            Up::Bound(connection) => {
                let Some(s) = self.ccxml.sessions.get_mut(&key) else {
                    return;
                };
                match s.unbound.take() {
                    Some(c) => {
                        self.ccxml.by_sip.insert(c.sip, (key, connection.clone()));
                        s.conns.insert(connection, c);
                    }
                    // The caller cancelled before the session named the call.
                    None => s.input(Input::Disconnected {
                        connection,
                        reason: "cancelled".into(),
                        trigger: "remote".into(),
                    }),
                }
            }
            Up::Output(out) => self.ccxml_output(key, *out, now).await,
            Up::Loaded => {
                if let Some((parent, sessionid)) = self.ccxml_parent(key) {
                    let _ = parent.send(Down::Input(Input::SessionCreated { sessionid }));
                }
            }
            Up::Finished(ending) => self.ccxml_finished(key, *ending, now),
            Up::Adopted { source, kind, from } => self.ccxml_moved(from, key, source, kind),
            Up::AdoptFailed {
                source,
                from,
                reason,
            } => {
                let to = self.ccxml.sessions.get(&key).map(|s| s.id.clone());
                if let (Some(s), Some(session)) = (self.ccxml.sessions.get(&from), to) {
                    s.input(Input::MoveFailed {
                        source,
                        session,
                        reason,
                    });
                }
            }
            Up::Create {
                id,
                url,
                values,
                mailbox,
            } => self.ccxml_create(id, url, values, None, *mailbox),
        }
    }

    /// `<move>` done: the connection (its SIP call, media and dialog) or the
    /// dialog now belongs to session `to`; `from` gets `move.successful`.
    fn ccxml_moved(&mut self, from: CallKey, to: CallKey, source: String, kind: SourceKind) {
        match kind {
            SourceKind::Connection => {
                let conn = self
                    .ccxml
                    .sessions
                    .get_mut(&from)
                    .and_then(|s| s.conns.remove(&source));
                if let Some(c) = conn {
                    self.ccxml.by_sip.insert(c.sip, (to, source.clone()));
                    if let Some((_, dialog_key)) = &c.dialog
                        && let Some(entry) = self.ccxml.dialogs.get_mut(dialog_key)
                    {
                        entry.0 = to;
                    }
                    if let Some(s) = self.ccxml.sessions.get_mut(&to) {
                        s.conns.insert(source.clone(), c);
                    }
                }
            }
            SourceKind::Dialog => {
                for entry in self.ccxml.dialogs.values_mut() {
                    if entry.0 == from && entry.1 == source {
                        entry.0 = to;
                    }
                }
            }
        }
        let to_id = self.ccxml.sessions.get(&to).map(|s| s.id.clone());
        if let (Some(s), Some(session)) = (self.ccxml.sessions.get(&from), to_id) {
            tracing::info!(session = %from, %source, to = %session, "moved");
            s.input(Input::Moved { source, session });
        }
    }

    /// A child session's parent mailbox and the child's id.
    fn ccxml_parent(&self, key: CallKey) -> Option<(mpsc::UnboundedSender<Down>, String)> {
        let s = self.ccxml.sessions.get(&key)?;
        let parent = s.parent.as_deref()?;
        let port = self.ccxml.ports.lock().ok()?.get(parent).cloned()?;
        Some((port.down, s.id.clone()))
    }

    /// The session ended: its calls and dialogs end too, and its parent
    /// hears of it (`ccxml.exit`, or `error.createccxml` if it never loaded).
    fn ccxml_finished(&mut self, key: CallKey, ending: Ending, now: Instant) {
        if let Some((parent, sessionid)) = self.ccxml_parent(key) {
            let _ = parent.send(Down::Input(match ending.reason {
                Some(reason) => Input::CreateFailed { sessionid, reason },
                None => Input::ChildExit {
                    sessionid,
                    expr: ending.expr,
                    values: ending.values,
                },
            }));
        }
        let Some(mut s) = self.ccxml.sessions.remove(&key) else {
            return;
        };
        if let Ok(mut ports) = self.ccxml.ports.lock() {
            ports.remove(&s.id);
        }
        for (_, id) in s.conferences.drain() {
            self.media.conference(ConferenceOp::Destroy(id));
        }
        if let Some(c) = s.unbound.take() {
            let _ = self.ua.reject(c.sip, 480, now);
        }
        for (_, c) in s.conns.drain() {
            self.ccxml.by_sip.remove(&c.sip);
            let _ = self.ua.hangup(c.sip, now);
            if let Some((_, dialog_key)) = c.dialog {
                self.ccxml.dialogs.remove(&dialog_key);
                self.ccxml.transfers.remove(&dialog_key);
                if let Some(call) = self.calls.remove(&dialog_key) {
                    self.by_sip.remove(&call.sip);
                    let _ = call.events.send(CallEvent::Hangup);
                }
            }
            if let Some(media) = c.media {
                self.media.unbridge(media);
                self.media.close(media);
            }
        }
        tracing::info!(session = %key, "CCXML session ended");
    }

    async fn ccxml_output(&mut self, key: CallKey, out: Output, now: Instant) {
        if !self.ccxml.sessions.contains_key(&key) {
            return;
        }
        match out {
            Output::AcceptCall { connection, .. } => self.ccxml_accept(key, connection, now).await,
            Output::RejectCall { connection, reason } => {
                let status = reason
                    .as_deref()
                    .and_then(|r| r.trim().parse::<u16>().ok())
                    .filter(|s| (400..700).contains(s))
                    .unwrap_or(403);
                self.ccxml_unanswered(key, connection, now, |ua, sip, now| {
                    ua.reject(sip, status, now).map_err(|e| e.to_string())
                })
                .map_or_else(
                    |(s, connection, reason)| {
                        s.input(Input::ConnectionError { connection, reason })
                    },
                    |(s, connection)| {
                        s.input(Input::Failed {
                            connection,
                            reason: "rejected".into(),
                        })
                    },
                );
            }
            Output::Redirect {
                connection, dest, ..
            } => self.ccxml_redirect(key, connection, &dest, now),
            Output::Disconnect { connection, .. } => {
                let Some(sip) = self.ccxml_conn(key, &connection).map(|c| c.sip) else {
                    return;
                };
                let _ = self.ua.hangup(sip, now);
                let dialog = self.ccxml_gone(key, &connection);
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::Disconnected {
                        connection,
                        reason: "disconnect".into(),
                        trigger: "local".into(),
                    });
                    if let Some(dialog) = dialog {
                        s.input(Input::DialogExit {
                            dialog,
                            values: Value::Null,
                        });
                    }
                }
            }
            Output::CreateCall {
                connection, dest, ..
            } => self.ccxml_create_call(key, connection, &dest, now).await,
            Output::PrepareDialog(spec) => {
                let Some(s) = self.ccxml.sessions.get_mut(&key) else {
                    return;
                };
                match spec.src.clone() {
                    Some(src) => {
                        let url = dialog_url(src, &spec);
                        s.prepared.insert(spec.dialog.clone(), url);
                        s.input(Input::DialogPrepared {
                            dialog: spec.dialog,
                        });
                    }
                    None => s.input(Input::DialogFailed {
                        dialog: spec.dialog,
                        reason: "no src".into(),
                    }),
                }
            }
            Output::StartDialog(spec) => self.ccxml_start_dialog(key, spec),
            Output::TerminateDialog { dialog, .. } => {
                let found = self
                    .ccxml
                    .dialogs
                    .iter()
                    .find_map(|(k, (s, d))| (*s == key && *d == dialog).then_some(*k));
                match found {
                    Some(dialog_key) => {
                        if let Some(call) = self.calls.get(&dialog_key) {
                            let _ = call.events.send(CallEvent::Hangup);
                        }
                        self.ccxml_dialog_ended(dialog_key, Value::Null, false);
                    }
                    None => {
                        if let Some(s) = self.ccxml.sessions.get(&key) {
                            s.input(Input::DialogExit {
                                dialog,
                                values: Value::Null,
                            });
                        }
                    }
                }
            }
            Output::Join { id1, id2, duplex } => {
                let m1 = self.ccxml_conn(key, &id1).and_then(|c| c.media);
                let m2 = self.ccxml_conn(key, &id2).and_then(|c| c.media);
                let conferences = self.ccxml.sessions.get(&key).map(|s| {
                    (
                        s.conferences.get(&id1).copied(),
                        s.conferences.get(&id2).copied(),
                    )
                });
                let full = duplex == Duplex::Full;
                match (m1, m2, conferences) {
                    (Some(a), Some(b), _) => {
                        self.media.stop_play(a);
                        self.media.stop_play(b);
                        if full {
                            self.media.bridge(a, b);
                        } else {
                            // Half duplex: `id1` hears `id2` (§10.2.5).
                            self.media.bridge_half(a, b);
                        }
                    }
                    // Half duplex: `id1` hears `id2` (§10.2.5).
                    (Some(call), None, Some((_, Some(conference)))) => {
                        self.ccxml_conference_join(conference, call, true, full);
                    }
                    (None, Some(call), Some((Some(conference), _))) => {
                        self.ccxml_conference_join(conference, call, full, true);
                    }
                    _ => {
                        if let Some(reason) = self.ccxml_join_unsupported(key, &id1, &id2) {
                            tracing::info!(session = %key, %id1, %id2, %reason, "join not carried out");
                            if let Some(s) = self.ccxml.sessions.get(&key) {
                                s.input(Input::JoinFailed { id1, id2, reason });
                            }
                            return;
                        }
                    }
                }
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::Joined { id1, id2 });
                }
            }
            Output::Unjoin { id1, id2 } => {
                let both_calls = [&id1, &id2]
                    .iter()
                    .all(|id| self.ccxml_conn(key, id).is_some());
                for id in [&id1, &id2] {
                    if let Some(m) = self.ccxml_conn(key, id).and_then(|c| c.media) {
                        if both_calls {
                            self.media.unbridge(m);
                        } else {
                            self.media.conference(ConferenceOp::Leave(m));
                        }
                    }
                }
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::Unjoined { id1, id2 });
                }
            }
            Output::CreateConference { conference, .. } => {
                let id = ConferenceId(self.next_key);
                self.next_key += 1;
                self.media.conference(ConferenceOp::Create(id));
                if let Some(s) = self.ccxml.sessions.get_mut(&key) {
                    tracing::info!(session = %key, %conference, "conference created");
                    s.conferences.insert(conference.clone(), id);
                    s.input(Input::ConferenceCreated { conference });
                }
            }
            Output::DestroyConference { conference } => {
                if let Some(s) = self.ccxml.sessions.get_mut(&key) {
                    if let Some(id) = s.conferences.remove(&conference) {
                        self.media.conference(ConferenceOp::Destroy(id));
                    }
                    s.input(Input::ConferenceDestroyed { conference });
                }
            }
            Output::SendEvent {
                sendid,
                targettype,
                target,
                name,
                fields,
            } => match targettype.as_str() {
                "dialog" => self.ccxml_send_to_dialog(key, sendid, &target, name, fields),
                "ccxml" => self.ccxml_send_to_session(key, sendid, &target, name, fields),
                _ => {
                    // basichttp sends are made by the worker; other target
                    // types are not offered.
                    if let Some(s) = self.ccxml.sessions.get(&key) {
                        s.input(Input::SendFailed {
                            sendid,
                            event: "error.send.targetunavailable".into(),
                            reason: format!("no {targettype} target {target} on this server"),
                        });
                    }
                }
            },
            Output::CreateSession {
                sessionid,
                url,
                values,
            } => {
                let parent = self.ccxml.sessions.get(&key).map(|s| s.id.clone());
                self.ccxml_create(sessionid, url, values, parent, Mailbox::new());
            }
            Output::Move {
                source,
                session,
                object,
                event,
            } => {
                let port = self
                    .ccxml
                    .ports
                    .lock()
                    .ok()
                    .and_then(|p| p.get(&session).cloned());
                let delivered = port.is_some_and(|port| {
                    port.down
                        .send(Down::Adopt {
                            object: Box::new(object),
                            event: event.map(Box::new),
                            from: key,
                        })
                        .is_ok()
                });
                if !delivered && let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::MoveFailed {
                        source,
                        reason: format!("no session `{session}` runs here"),
                        session,
                    });
                }
            }
            Output::Merge {
                connection1,
                connection2,
                ..
            } => self.ccxml_merge(key, connection1, connection2, now),
            Output::Fetch(_)
            | Output::Log { .. }
            | Output::Event { .. }
            | Output::Dropped { .. }
            | Output::Exit { .. }
            | Output::Ended { .. } => {}
        }
    }

    /// Why a join with no media path to set up cannot be confirmed, or
    /// `None` when it already holds: a dialog runs on its connection's
    /// media, so joining the two changes nothing. Two conferences' mixes,
    /// a dialog and a conference or another connection, and connections
    /// without media yet cannot be joined under `vxp serve`.
    fn ccxml_join_unsupported(&self, key: CallKey, id1: &str, id2: &str) -> Option<String> {
        let s = self.ccxml.sessions.get(&key)?;
        let runs_on = |dialog: &str, connection: &str| {
            s.conns
                .get(connection)
                .and_then(|c| c.dialog.as_ref())
                .is_some_and(|(d, _)| d == dialog)
        };
        if runs_on(id1, id2) || runs_on(id2, id1) {
            return None;
        }
        let conference = |id: &str| s.conferences.contains_key(id);
        let connection = |id: &str| s.conns.contains_key(id);
        let (c1, c2) = (conference(id1), conference(id2));
        let reason = if c1 && c2 {
            "conferences cannot be joined to each other under vxp serve"
        } else if (c1 || c2) && !(connection(id1) || connection(id2)) {
            "only a connection's audio can enter a conference's mix under vxp serve"
        } else if (c1 || connection(id1)) && (c2 || connection(id2)) {
            "a connection has no media yet"
        } else {
            "a dialog's audio can only be joined to the connection it runs on under vxp serve"
        };
        Some(reason.into())
    }

    /// A connection into a conference's mix; a prompt playing to it stops.
    fn ccxml_conference_join(
        &mut self,
        conference: ConferenceId,
        call: CallMediaId,
        hears: bool,
        speaks: bool,
    ) {
        if hears {
            self.media.stop_play(call);
        }
        self.media.conference(ConferenceOp::Join {
            conference,
            call,
            hears,
            speaks,
        });
    }

    fn ccxml_conn(&self, key: CallKey, connection: &str) -> Option<&Conn> {
        self.ccxml.sessions.get(&key)?.conns.get(connection)
    }

    /// Runs `act` on an unanswered inbound connection and forgets it; gives
    /// the session back with the outcome.
    fn ccxml_unanswered(
        &mut self,
        key: CallKey,
        connection: String,
        now: Instant,
        act: impl FnOnce(&mut crate::sip::ua::UserAgent, CallId, Instant) -> Result<(), String>,
    ) -> Result<(&CcxmlSession, String), (&CcxmlSession, String, String)> {
        let alerting = self
            .ccxml_conn(key, &connection)
            .filter(|c| matches!(c.phase, Phase::Alerting { .. }))
            .map(|c| c.sip);
        let result = match alerting {
            Some(sip) => act(&mut self.ua, sip, now),
            None => Err("the connection is not alerting".into()),
        };
        if result.is_ok() {
            self.ccxml_gone(key, &connection);
        }
        let s = self
            .ccxml
            .sessions
            .get(&key)
            .expect("checked by ccxml_output before any request runs");
        match result {
            Ok(()) => Ok((s, connection)),
            Err(reason) => Err((s, connection, reason)),
        }
    }

    fn ccxml_redirect(&mut self, key: CallKey, connection: String, dest: &str, now: Instant) {
        let target = match Uri::parse(dest) {
            Ok(uri) => uri,
            Err(err) => {
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::ConnectionError {
                        connection,
                        reason: format!("{dest}: {err}"),
                    });
                }
                return;
            }
        };
        let connected = self
            .ccxml_conn(key, &connection)
            .is_some_and(|c| matches!(c.phase, Phase::Connected));
        if connected {
            let Some(s) = self.ccxml.sessions.get_mut(&key) else {
                return;
            };
            let Some(c) = s.conns.get_mut(&connection) else {
                return;
            };
            match self.ua.refer(c.sip, &target, now) {
                Ok(()) => c.referring = Some(Referral::Redirect),
                Err(err) => s.input(Input::ConnectionError {
                    connection,
                    reason: format!("cannot send REFER: {err}"),
                }),
            }
            return;
        }
        tracing::info!(session = %key, %dest, "CCXML redirect (302)");
        self.ccxml_unanswered(key, connection, now, |ua, sip, now| {
            ua.redirect(sip, target, now).map_err(|e| e.to_string())
        })
        .map_or_else(
            |(s, connection, reason)| s.input(Input::ConnectionError { connection, reason }),
            |(s, connection)| s.input(Input::Redirected { connection }),
        );
    }

    /// `<merge>` (§10.5.9): a network-level transfer. The first connection's
    /// party is referred (RFC 3515) to the second's with `Replaces`
    /// (RFC 3891) naming our dialog with it, so the two parties talk
    /// directly; the outcome comes with the REFER's NOTIFYs.
    fn ccxml_merge(
        &mut self,
        key: CallKey,
        connection1: String,
        connection2: String,
        now: Instant,
    ) {
        let target = self.ccxml_merge_target(key, &connection2);
        let Some(s) = self.ccxml.sessions.get_mut(&key) else {
            return;
        };
        let sent = target.and_then(|target| {
            let c = s
                .conns
                .get_mut(&connection1)
                .filter(|c| matches!(c.phase, Phase::Connected) && c.referring.is_none())
                .ok_or_else(|| format!("{connection1} is not connected"))?;
            self.ua
                .refer(c.sip, &target, now)
                .map_err(|err| format!("cannot send REFER: {err}"))?;
            c.referring = Some(Referral::Merge {
                connection1: connection1.clone(),
                connection2: connection2.clone(),
            });
            Ok(())
        });
        match sent {
            Ok(()) => {
                tracing::info!(session = %key, %connection1, %connection2, "merge: REFER with Replaces");
            }
            Err(reason) => s.input(Input::MergeFailed {
                connection1,
                connection2,
                reason,
            }),
        }
    }

    /// The Refer-To of a merge: the second connection's party with
    /// `Replaces` naming our dialog with it.
    fn ccxml_merge_target(&self, key: CallKey, connection2: &str) -> Result<Uri, String> {
        let c = self
            .ccxml_conn(key, connection2)
            .filter(|c| matches!(c.phase, Phase::Connected))
            .ok_or_else(|| format!("{connection2} is not connected"))?;
        let ids = self
            .ua
            .dialog_ids(c.sip)
            .ok_or_else(|| format!("{connection2} has no dialog"))?;
        let party = Uri::parse(&c.info.remote_uri)
            .map_err(|err| format!("{connection2}: {}: {err}", c.info.remote_uri))?;
        Ok(super::replaces_target(&party, &ids))
    }

    /// The merge's REFER is over: on success the platform's legs end
    /// (BYE) and both connections leave the session with
    /// `connection.merged`; otherwise `connection.merge.failed`.
    fn ccxml_merge_done(
        &mut self,
        key: CallKey,
        connection1: String,
        connection2: String,
        status: u16,
        now: Instant,
    ) {
        if !(200..300).contains(&status) {
            let replaced = self
                .ccxml_conn(key, &connection2)
                .is_some_and(|c| matches!(c.phase, Phase::Replaced));
            let dialog = replaced
                .then(|| self.ccxml_gone(key, &connection2))
                .flatten();
            if let Some(s) = self.ccxml.sessions.get(&key) {
                s.input(Input::MergeFailed {
                    connection1,
                    connection2: connection2.clone(),
                    reason: format!("REFER answered {status}"),
                });
                if replaced {
                    s.input(Input::Disconnected {
                        connection: connection2,
                        reason: "hangup".into(),
                        trigger: "remote".into(),
                    });
                }
                if let Some(dialog) = dialog {
                    s.input(Input::DialogExit {
                        dialog,
                        values: Value::Null,
                    });
                }
            }
            return;
        }
        for connection in [&connection1, &connection2] {
            if let Some(sip) = self.ccxml_conn(key, connection).map(|c| c.sip) {
                let _ = self.ua.hangup(sip, now);
            }
            let dialog = self.ccxml_gone(key, connection);
            if let (Some(dialog), Some(s)) = (dialog, self.ccxml.sessions.get(&key)) {
                s.input(Input::DialogExit {
                    dialog,
                    values: Value::Null,
                });
            }
        }
        tracing::info!(session = %key, %connection1, %connection2, "merged");
        if let Some(s) = self.ccxml.sessions.get(&key) {
            s.input(Input::Merged {
                connection1,
                connection2,
            });
        }
    }

    /// `<accept>`: answer with our SDP and start the media.
    async fn ccxml_accept(&mut self, key: CallKey, connection: String, now: Instant) {
        let media_id = CallMediaId(self.next_key);
        self.next_key += 1;
        let port = self.media.open(media_id).await;
        let address = self.config.rtp.address;
        let cname = format!("vxp@{address}");
        let Some(s) = self.ccxml.sessions.get_mut(&key) else {
            self.media.close(media_id);
            return;
        };
        let Some(c) = s.conns.get_mut(&connection) else {
            self.media.close(media_id);
            return;
        };
        let fail = |s: &CcxmlSession, connection: String, reason: String| {
            s.input(Input::ConnectionError { connection, reason });
        };
        let Phase::Alerting { offer, .. } = &c.phase else {
            self.media.close(media_id);
            fail(s, connection, "the connection is not alerting".into());
            return;
        };
        let rtp_port = match port {
            Ok(port) => port,
            Err(err) => {
                self.media.close(media_id);
                fail(s, connection, format!("no RTP port: {err}"));
                return;
            }
        };
        let mut sdp = OfferAnswer::new(
            LocalMedia { address, rtp_port },
            Capabilities::default(),
            media_id.0,
        );
        let answered = sdp.handle_offer(offer).map_err(|e| e.to_string());
        let answered = answered.and_then(|(answer, negotiated)| {
            self.ua
                .answer(c.sip, answer.to_string().into_bytes(), now)
                .map(|()| negotiated)
                .map_err(|e| e.to_string())
        });
        match answered {
            Ok(negotiated) => {
                self.media.start(
                    media_id,
                    StreamConfig::new(
                        negotiated,
                        cname,
                        ntp_timestamp(std::time::SystemTime::now()),
                    ),
                );
                c.phase = Phase::Connected;
                c.media = Some(media_id);
                c.sdp = Some(sdp);
                tracing::info!(session = %key, %connection, "CCXML accept");
                s.input(Input::Connected { connection });
            }
            Err(reason) => {
                self.media.close(media_id);
                fail(s, connection, reason);
            }
        }
    }

    /// `<createcall>`: an outbound INVITE with a fresh media stream.
    async fn ccxml_create_call(
        &mut self,
        key: CallKey,
        connection: String,
        dest: &str,
        now: Instant,
    ) {
        let failed = |this: &Self, connection: String, reason: String| {
            tracing::info!(session = %key, %reason, "createcall failed");
            if let Some(s) = this.ccxml.sessions.get(&key) {
                s.input(Input::Failed {
                    connection,
                    reason: "rejected".into(),
                });
            }
        };
        let to = match Uri::parse(dest) {
            Ok(uri) => uri,
            Err(err) => return failed(self, connection, format!("{dest}: {err}")),
        };
        let media_id = CallMediaId(self.next_key);
        self.next_key += 1;
        let rtp_port = match self.media.open(media_id).await {
            Ok(port) => port,
            Err(err) => return failed(self, connection, format!("no RTP port: {err}")),
        };
        let mut sdp = OfferAnswer::new(
            LocalMedia {
                address: self.config.rtp.address,
                rtp_port,
            },
            Capabilities::default(),
            media_id.0,
        );
        let offer = sdp.create_offer();
        let sip = match self
            .ua
            .invite(to, None, offer.to_string().into_bytes(), now)
        {
            Ok(sip) => sip,
            Err(err) => {
                self.media.close(media_id);
                return failed(self, connection, format!("{dest}: {err}"));
            }
        };
        let Some(s) = self.ccxml.sessions.get_mut(&key) else {
            let _ = self.ua.hangup(sip, now);
            self.media.close(media_id);
            return;
        };
        self.ccxml.by_sip.insert(sip, (key, connection.clone()));
        s.conns.insert(
            connection,
            Conn {
                sip,
                phase: Phase::Calling,
                media: Some(media_id),
                sdp: Some(sdp),
                info: SessionInfo {
                    local_uri: String::new(),
                    remote_uri: dest.to_owned(),
                    originator: Originator::Local,
                    protocol_name: "sip".into(),
                    protocol_version: "2.0".into(),
                    ..SessionInfo::default()
                },
                dialog: None,
                referring: None,
            },
        );
    }

    /// `<dialogstart>`: a VoiceXML session on the connection's media, run by
    /// the server's call driver under the connection's media key.
    fn ccxml_start_dialog(&mut self, key: CallKey, spec: DialogSpec) {
        let Some(s) = self.ccxml.sessions.get_mut(&key) else {
            return;
        };
        let src = spec.src.clone().or_else(|| s.prepared.remove(&spec.dialog));
        let target = spec.connection.as_deref().and_then(|c| s.conns.get_mut(c));
        let (src, c) = match (src, target) {
            (Some(src), Some(c)) if c.media.is_some() && c.dialog.is_none() => (src, c),
            (None, _) => {
                return s.input(Input::DialogFailed {
                    dialog: spec.dialog,
                    reason: "no src".into(),
                });
            }
            _ => {
                return s.input(Input::DialogFailed {
                    dialog: spec.dialog,
                    reason: "dialogs run on a connected connection without another dialog".into(),
                });
            }
        };
        let Some(media) = c.media else {
            return;
        };
        let dialog_key = CallKey(media.0);
        c.dialog = Some((spec.dialog.clone(), dialog_key));
        let src = if spec.prepared {
            src
        } else {
            dialog_url(src, &spec)
        };
        let mut config = vxp_interpreter::vxml::session::SessionConfig::new(src.clone());
        config.info = c.info.clone();
        // `session.connection.ccxml.*` in the dialog (CCXML 1.0 Appendix D).
        config.info.ccxml = Some(CcxmlDialog {
            sessionid: s.id.clone(),
            dialogid: spec.dialog.clone(),
            connectionid: spec.connection.clone(),
            conferenceid: spec.conference.clone(),
            values: spec.values.clone(),
        });
        let sip = c.sip;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let fetch = CallFetcher::new(self.fetcher.clone());
        let channels = CallChannels {
            events: events_rx,
            actions: match &self.ccxml.actions {
                Some(actions) => actions.clone(),
                None => return,
            },
            notes: self.notes.clone(),
        };
        self.workers.spawn(Box::new(move || {
            Box::pin(async move {
                call::run_call(dialog_key, config, fetch, channels).await;
            })
        }));
        let sdp = c.sdp.clone().unwrap_or_else(|| {
            OfferAnswer::new(
                LocalMedia {
                    address: self.config.rtp.address,
                    rtp_port: 0,
                },
                Capabilities::default(),
                0,
            )
        });
        tracing::info!(session = %key, dialog = %spec.dialog, %src, "CCXML dialog");
        s.input(Input::DialogStarted {
            dialog: spec.dialog.clone(),
        });
        self.ccxml.dialogs.insert(dialog_key, (key, spec.dialog));
        self.calls.insert(
            dialog_key,
            Call {
                sip,
                events: events_tx,
                sdp,
                transfer: None,
            },
        );
        self.by_sip.insert(sip, dialog_key);
    }
}

/// A fetch or a basichttp `<send>` the session waits on.
enum Done {
    Fetched(FetchId, FetchResult),
    Sent {
        sendid: String,
        failed: Option<String>,
    },
}

type Pending = FuturesUnordered<Pin<Box<dyn Future<Output = Done>>>>;

/// Drives one session on a worker until it ends.
async fn run_session(
    key: CallKey,
    config: SessionConfig,
    fetch: CallFetcher,
    fetcher: Fetcher,
    (mut down, posted): (mpsc::UnboundedReceiver<Down>, Arc<AtomicUsize>),
    up: mpsc::UnboundedSender<(CallKey, Up)>,
    notes: broadcast::Sender<(CallKey, CallNote)>,
) {
    let note = |n: CallNote| {
        let _ = notes.send((key, n));
    };
    note(CallNote::Started {
        url: config.url.to_string(),
    });
    let mut session = Session::new(config, Instant::now());
    let mut pending: Pending = FuturesUnordered::new();
    let mut how = "hangup".to_owned();
    let mut ending = Ending::default();
    let mut loaded = false;
    loop {
        // `ccxml.created` reaches the parent before anything the new
        // session's first transitions send it.
        if !loaded && session.has_loaded() {
            loaded = true;
            let _ = up.send((key, Up::Loaded));
        }
        while let Some(out) = session.poll_output() {
            match out {
                Output::Fetch(req) => {
                    let fetch = fetch.clone();
                    pending.push(Box::pin(async move {
                        let (result, _) = fetch.fetch(&req).await;
                        Done::Fetched(req.id, result)
                    }));
                }
                Output::Log { label, text, .. } => {
                    tracing::info!(label = label.as_deref().unwrap_or(""), "{text}");
                    note(CallNote::Log { label, text });
                }
                Output::Event { event, .. } => {
                    tracing::debug!(event = %event.name, "event");
                    let message = event.field("reason").map(str::to_owned);
                    note(CallNote::Event {
                        name: event.name,
                        message,
                    });
                }
                Output::Dropped { name, reason } => {
                    tracing::info!(event = %name, %reason, "event dropped");
                }
                Output::SendEvent {
                    sendid,
                    targettype,
                    target,
                    name,
                    fields,
                } if targettype == "basichttp" => {
                    pending.push(Box::pin(post_event(
                        fetcher.clone(),
                        sendid,
                        target,
                        name,
                        fields,
                    )));
                }
                Output::Exit { expr, values, .. } => {
                    how = format!("exit {expr}");
                    ending.expr = expr;
                    ending.values = values;
                }
                Output::Ended { event, reason, .. } => {
                    tracing::warn!(%event, %reason, "the CCXML session ended");
                    how = event;
                    if !session.has_loaded() {
                        ending.reason = Some(reason);
                    }
                }
                other => {
                    let _ = up.send((key, Up::Output(Box::new(other))));
                }
            }
        }
        if session.is_finished() {
            break;
        }
        let deadline = session.poll_timeout();
        tokio::select! {
            d = down.recv() => {
                let now = Instant::now();
                match d {
                    Some(Down::Incoming { remote, local, headers }) => {
                        let connection = session.new_connection_id();
                        let _ = up.send((key, Up::Bound(connection.clone())));
                        session.handle_input(Input::Alerting { connection, remote, local, headers }, now);
                    }
                    Some(Down::Input(input)) => session.handle_input(input, now),
                    Some(Down::Posted(input)) => {
                        posted.fetch_sub(1, Ordering::AcqRel);
                        session.handle_input(input, now);
                    }
                    Some(Down::Adopt { object, event, from }) => {
                        let source = object.id.clone();
                        let kind = object.kind;
                        let answer = match session.handle_adopt(*object, event.map(|e| *e), now) {
                            Ok(()) => Up::Adopted { source, kind, from },
                            Err(err) => Up::AdoptFailed { source, from, reason: err.to_string() },
                        };
                        let _ = up.send((key, answer));
                    }
                    None => break,
                }
            }
            Some(done) = pending.next(), if !pending.is_empty() => {
                let now = Instant::now();
                match done {
                    Done::Fetched(id, result) => session.handle_fetched(id, result, now),
                    Done::Sent { sendid, failed: Some(reason) } => session.handle_input(
                        Input::SendFailed { sendid, event: "error.send.failed".into(), reason },
                        now,
                    ),
                    Done::Sent { .. } => {}
                }
            }
            () = sleep_until(deadline), if deadline.is_some() => {
                session.handle_timeout(Instant::now());
            }
        }
    }
    // basichttp events the session sent last still go out (each is bounded
    // by the fetcher's timeout).
    while let Some(done) = pending.next().await {
        if let Done::Sent {
            failed: Some(reason),
            ..
        } = done
        {
            tracing::info!(%reason, "a last basichttp event was not delivered");
        }
    }
    note(CallNote::Ended { how });
    let _ = up.send((key, Up::Finished(Box::new(ending))));
}

/// `<send targettype="basichttp">` (Appendix K): a form POST of `sessionid`,
/// `name` and the namelist values to the target URL.
async fn post_event(
    fetcher: Fetcher,
    sendid: String,
    target: String,
    name: String,
    fields: Map<String, Value>,
) -> Done {
    let url = match Url::parse(&target) {
        Ok(url) => url,
        Err(err) => {
            return Done::Sent {
                sendid,
                failed: Some(format!("{target}: {err}")),
            };
        }
    };
    let mut req = fetcher.request(url, vxp_fetcher::ResourceKind::Submit);
    req.method = vxp_fetcher::Method::Post;
    req.params = std::iter::once(("name".to_owned(), FormValue::Text(name)))
        .chain(fields.into_iter().map(|(k, v)| {
            let text = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, FormValue::Text(text))
        }))
        .collect();
    let failed = fetcher.fetch(req).await.err().map(|e| e.to_string());
    Done::Sent { sendid, failed }
}

/// The outcome a `<send targettype="dialog">` reports for the transfer a
/// dialog waits on: `connection.disconnect.transfer` (the caller went to the
/// destination), or `dialog.transfer.complete` with a `results` field
/// holding a VoiceXML 2.1 §2.3.7.2 result (`busy`, `noanswer`,
/// `far_end_disconnect`, ..., or `transferred`). Other events are not
/// outcomes.
fn transfer_outcome(name: &str, fields: &Map<String, Value>) -> Option<TransferResult> {
    match name {
        "connection.disconnect.transfer" => Some(TransferResult::Transferred),
        "dialog.transfer.complete" => {
            let status = match fields.get("results") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => "unknown".to_owned(),
                Some(other) => other.to_string(),
            };
            Some(if status == "transferred" {
                TransferResult::Transferred
            } else {
                TransferResult::Completed {
                    status,
                    duration: std::time::Duration::ZERO,
                }
            })
        }
        _ => None,
    }
}

/// The dialog's URL with the `<dialogstart>`/`<dialogprepare>` namelist
/// values added as query parameters (strings as they are, other values as
/// JSON), so the application server that serves the dialog gets them with
/// the first request.
/// A dialog's initial URL: its namelist values and `parameters` in the
/// query. The VoiceXML session's first fetch is a GET, so a `post` method
/// sends the parameters the same way (and is logged).
fn dialog_url(src: Url, spec: &DialogSpec) -> Url {
    if spec.method == "post" && !spec.parameters.is_empty() {
        tracing::info!(dialog = %spec.dialog, "dialog parameters sent in the query: the first fetch is a GET");
    }
    with_values(with_values(src, &spec.values), &spec.parameters)
}

fn with_values(mut src: Url, values: &Map<String, Value>) -> Url {
    if !values.is_empty() {
        let mut query = src.query_pairs_mut();
        for (name, value) in values {
            match value {
                Value::String(text) => query.append_pair(name, text),
                other => query.append_pair(name, &other.to_string()),
            };
        }
    }
    src
}

/// The `type` of `dialog.transfer` (CCXML 1.0 Appendix D).
fn transfer_type_name(kind: TransferType) -> &'static str {
    match kind {
        TransferType::Blind => "blind",
        TransferType::Bridge => "bridge",
        TransferType::Consultation => "consultation",
    }
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
    fn ccxml_applications_are_known_by_extension_or_listed_number() {
        let mut routing = RoutingConfig::default();
        let req = |user: &str| RouteRequest {
            user: Some(user.into()),
            ..RouteRequest::default()
        };
        let page = Url::parse("http://h/ccxml/inbound-dialog/main.CCXML").expect("literal");
        assert!(is_ccxml(&page, &req("1"), &routing));
        let php = Url::parse("http://h/app.php").expect("literal");
        assert!(!is_ccxml(&php, &req("7000"), &routing));
        routing.ccxml.insert("7000".into());
        assert!(is_ccxml(&php, &req("7000"), &routing));
        assert!(!is_ccxml(&php, &req("7001"), &routing));
    }

    #[test]
    fn dialog_parameters_go_into_the_initial_fetch_beside_the_namelist() {
        let spec = DialogSpec {
            dialog: "d1".into(),
            src: None,
            mime: "application/voicexml+xml".into(),
            connection: None,
            conference: None,
            values: serde_json::json!({"lang": "fr"})
                .as_object()
                .cloned()
                .expect("object"),
            parameters: serde_json::json!({"account": "42"})
                .as_object()
                .cloned()
                .expect("object"),
            method: "get".into(),
            enctype: "application/x-www-form-urlencoded".into(),
            duplex: Duplex::Full,
            prepared: false,
        };
        let url = dialog_url(Url::parse("http://h/menu.vxml").expect("literal"), &spec);
        assert_eq!(url.as_str(), "http://h/menu.vxml?lang=fr&account=42");
    }

    #[test]
    fn dialog_namelist_values_go_into_the_dialog_url() {
        let src = Url::parse("http://h/menu.vxml?lang=en").expect("literal");
        let mut values = Map::new();
        values.insert("reason".into(), Value::String("a b&c".into()));
        values.insert("n".into(), serde_json::json!(3));
        values.insert("o".into(), serde_json::json!({"k": true}));
        let url = with_values(src.clone(), &values);
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            [
                ("lang", "en"),
                ("n", "3"),
                ("o", "{\"k\":true}"),
                ("reason", "a b&c")
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(with_values(src.clone(), &Map::new()), src);
    }

    #[test]
    fn the_page_reports_a_transfer_outcome_by_event_name() {
        let results = |v: Value| {
            let mut m = Map::new();
            m.insert("results".into(), v);
            m
        };
        assert_eq!(
            transfer_outcome("connection.disconnect.transfer", &Map::new()),
            Some(TransferResult::Transferred)
        );
        assert_eq!(
            transfer_outcome("dialog.transfer.complete", &results("busy".into())),
            Some(TransferResult::Completed {
                status: "busy".into(),
                duration: std::time::Duration::ZERO
            })
        );
        assert_eq!(
            transfer_outcome("dialog.transfer.complete", &results("transferred".into())),
            Some(TransferResult::Transferred)
        );
        assert!(matches!(
            transfer_outcome("dialog.transfer.complete", &Map::new()),
            Some(TransferResult::Completed { status, .. }) if status == "unknown"
        ));
        assert_eq!(transfer_outcome("app.hello", &Map::new()), None);
        assert_eq!(
            transfer_type_name(TransferType::Consultation),
            "consultation"
        );
    }

    #[test]
    fn http_events_reach_a_registered_session_and_are_bounded() {
        let mut calls = CcxmlCalls::new();
        let host = calls.http_host(None);
        let mut up = calls.take_receiver(mpsc::unbounded_channel().0);
        let id = host.start_session(Url::parse("http://h/a.ccxml").expect("literal"), Map::new());
        let Ok((
            _,
            Up::Create {
                id: created,
                mut mailbox,
                ..
            },
        )) = up.try_recv()
        else {
            panic!("createsession asks the signalling task for the session");
        };
        assert_eq!(created, id);
        assert_eq!(
            host.send_event("nobody", "x".into(), Map::new()),
            Err(Delivery::NoSession)
        );
        for _ in 0..MAX_PENDING_EVENTS {
            host.send_event(&id, "app.ping".into(), Map::new())
                .expect("room for the event");
        }
        assert_eq!(
            host.send_event(&id, "app.ping".into(), Map::new()),
            Err(Delivery::Busy)
        );
        let Ok(Down::Posted(Input::External {
            name, sourcetype, ..
        })) = mailbox.rx.try_recv()
        else {
            panic!("the event waits in the session's mailbox");
        };
        assert_eq!(
            (name.as_str(), sourcetype.as_str()),
            ("app.ping", "basichttp")
        );
    }
}
