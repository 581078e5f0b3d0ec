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
//! `dialog.exit`, Join/Unjoin of two connections → the media relay. A dialog
//! needs a connection: dialogs on conferences fail with
//! `error.dialog.notstarted`, and conferences are confirmed without a mixer.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde_json::{Map, Value};
use tokio::sync::{broadcast, mpsc};
use tracing::Instrument;
use url::Url;
use vxp_fetcher::{Fetcher, FormValue};
use vxp_interpreter::ccxml::{DialogSpec, Input, Output, Session, SessionConfig};
use vxp_interpreter::script::Originator;
use vxp_interpreter::vxml::session::{FetchId, FetchResult, SessionInfo};

use super::call::{self, CallAction, CallChannels, CallEvent, CallFetcher, CallKey, CallNote};
use super::config::RoutingConfig;
use super::route::RouteRequest;
use super::{Call, Signalling};
use crate::media::engine::CallMediaId;
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
}

/// What a session's worker task tells the signalling task.
#[derive(Debug)]
pub(super) enum Up {
    /// The inbound call's connection id.
    Bound(String),
    /// A call-control request.
    Output(Box<Output>),
    /// The session ended: release what it still holds.
    Finished,
}

/// Where a connection is in its life (§10.2's states the driver must know).
#[derive(Debug)]
enum Phase {
    /// Inbound, not answered yet.
    Alerting { offer: Box<SessionDescription> },
    /// Outbound, not answered yet.
    Calling,
    /// Answered, media running.
    Connected,
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
    /// A REFER for `<redirect>` is under way.
    referring: bool,
}

/// One running CCXML session as the signalling task sees it.
#[derive(Debug)]
struct CcxmlSession {
    down: mpsc::UnboundedSender<Down>,
    conns: HashMap<String, Conn>,
    /// The inbound call waiting for its connection id.
    unbound: Option<Conn>,
    /// Prepared dialogs' sources, by dialog id.
    prepared: HashMap<String, Url>,
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
        let (down, down_rx) = mpsc::unbounded_channel();
        let _ = down.send(Down::Incoming {
            remote: incoming.from.uri.to_string(),
            local: incoming.to.uri.to_string(),
            headers: incoming.headers.clone(),
        });
        tracing::info!(session = %key, %url, from = %incoming.from, "CCXML session for a call");
        self.spawn_ccxml(key, url, down_rx);
        self.ccxml.sessions.insert(
            key,
            CcxmlSession {
                down,
                conns: HashMap::new(),
                unbound: Some(Conn {
                    sip: id,
                    phase: Phase::Alerting {
                        offer: Box::new(offer),
                    },
                    media: None,
                    sdp: None,
                    info,
                    dialog: None,
                    referring: false,
                }),
                prepared: HashMap::new(),
            },
        );
    }

    fn spawn_ccxml(&self, key: CallKey, url: Url, down: mpsc::UnboundedReceiver<Down>) {
        let mut config = SessionConfig::new(format!("ccxml-{}", key.0), url);
        config.ioprocessors = Map::new();
        let fetch = CallFetcher::new(self.fetcher.clone());
        let fetcher = self.fetcher.clone();
        let up = self.ccxml.up.clone();
        let notes = self.notes.clone();
        self.workers.spawn(Box::new(move || {
            Box::pin(async move {
                let span = tracing::info_span!("ccxml", session = %key);
                run_session(key, config, fetch, fetcher, down, up, notes)
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
                let s = self.ccxml.sessions.get_mut(&key)?;
                let referring = s.conns.get(&connection).is_some_and(|c| c.referring);
                if referring && (done || status >= 300) {
                    if let Some(c) = s.conns.get_mut(&connection) {
                        c.referring = false;
                    }
                    s.input(if (200..300).contains(&status) {
                        Input::Redirected { connection }
                    } else {
                        Input::ConnectionError {
                            connection,
                            reason: format!("REFER answered {status}"),
                        }
                    });
                }
            }
            UaEvent::CallCancelled { .. }
            | UaEvent::RemoteHangup { .. }
            | UaEvent::Terminated { .. } => {
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
        if let Some(call) = self.calls.remove(&dialog_key) {
            self.by_sip.remove(&call.sip);
            let _ = call.events.send(CallEvent::Hangup);
        }
        Some(dialog)
    }

    /// A dialog's `Hangup` is the end of the dialog, not of the call:
    /// `dialog.exit` with the values the dialog returned. Returns whether
    /// `key` was a CCXML dialog.
    pub(super) fn ccxml_dialog_ended(&mut self, key: CallKey, values: Value) -> bool {
        let Some((session, dialog)) = self.ccxml.dialogs.remove(&key) else {
            return false;
        };
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
            s.input(Input::DialogExit { dialog, values });
        }
        true
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
            Up::Finished => self.ccxml_finished(key, now),
        }
    }

    /// The session ended: its calls and dialogs end too.
    fn ccxml_finished(&mut self, key: CallKey, now: Instant) {
        let Some(mut s) = self.ccxml.sessions.remove(&key) else {
            return;
        };
        if let Some(c) = s.unbound.take() {
            let _ = self.ua.reject(c.sip, 480, now);
        }
        for (_, c) in s.conns.drain() {
            self.ccxml.by_sip.remove(&c.sip);
            let _ = self.ua.hangup(c.sip, now);
            if let Some((_, dialog_key)) = c.dialog {
                self.ccxml.dialogs.remove(&dialog_key);
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
                match spec.src {
                    Some(src) => {
                        s.prepared.insert(spec.dialog.clone(), src);
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
                        self.ccxml_dialog_ended(dialog_key, Value::Null);
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
            Output::Join { id1, id2, .. } => {
                let m1 = self.ccxml_conn(key, &id1).and_then(|c| c.media);
                let m2 = self.ccxml_conn(key, &id2).and_then(|c| c.media);
                if let (Some(a), Some(b)) = (m1, m2) {
                    self.media.stop_play(a);
                    self.media.stop_play(b);
                    self.media.bridge(a, b);
                }
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::Joined { id1, id2 });
                }
            }
            Output::Unjoin { id1, id2 } => {
                for id in [&id1, &id2] {
                    if let Some(m) = self.ccxml_conn(key, id).and_then(|c| c.media) {
                        self.media.unbridge(m);
                    }
                }
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::Unjoined { id1, id2 });
                }
            }
            Output::CreateConference { conference, .. } => {
                tracing::warn!(session = %key, %conference, "conferences have no mixer under vxp serve yet");
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::ConferenceCreated { conference });
                }
            }
            Output::DestroyConference { conference } => {
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::ConferenceDestroyed { conference });
                }
            }
            Output::SendEvent {
                sendid,
                targettype,
                target,
                ..
            } => {
                // basichttp sends are made by the worker; other targets are
                // not reachable from here.
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::SendFailed {
                        sendid,
                        event: "error.send.targetunavailable".into(),
                        reason: format!("no {targettype} target {target} on this server"),
                    });
                }
            }
            Output::CreateSession { sessionid, .. } => {
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::CreateFailed {
                        sessionid,
                        reason: "createccxml is not offered by vxp serve".into(),
                    });
                }
            }
            Output::Move {
                source, session, ..
            } => {
                tracing::info!(%source, %session, "<move> is not offered by vxp serve");
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::MoveFailed {
                        source,
                        session,
                        reason: "move is not offered by vxp serve".into(),
                    });
                }
            }
            Output::Merge {
                connection1,
                connection2,
                ..
            } => {
                tracing::info!(%connection1, %connection2, "<merge> is not offered by vxp serve");
                if let Some(s) = self.ccxml.sessions.get(&key) {
                    s.input(Input::MergeFailed {
                        connection1,
                        connection2,
                        reason: "merge is not offered by vxp serve".into(),
                    });
                }
            }
            Output::Fetch(_)
            | Output::Log { .. }
            | Output::Event { .. }
            | Output::Dropped { .. }
            | Output::Exit { .. }
            | Output::Ended { .. } => {}
        }
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
                Ok(()) => c.referring = true,
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
                referring: false,
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
        let mut config = vxp_interpreter::vxml::session::SessionConfig::new(src.clone());
        config.info = c.info.clone();
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
    mut down: mpsc::UnboundedReceiver<Down>,
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
    loop {
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
                Output::Exit { expr, .. } => how = format!("exit {expr}"),
                Output::Ended { event, reason, .. } => {
                    tracing::warn!(%event, %reason, "the CCXML session ended");
                    how = event;
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
    note(CallNote::Ended { how });
    let _ = up.send((key, Up::Finished));
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
}
