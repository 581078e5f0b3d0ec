//! The user-agent core (RFC 3261 §8, §12–§15, RFC 3311 UPDATE, RFC 6086
//! INFO, RFC 3515 REFER with RFC 6665 NOTIFY and RFC 3420 sipfrag): one
//! [`UserAgent`] without I/O that owns the transaction layer and every
//! call's dialog.
//!
//! Inputs: [`UserAgent::handle_datagram`] (one UDP datagram or one framed
//! TCP message, with its source), [`UserAgent::handle_timeout`], and the
//! commands keyed by [`CallId`] ([`UserAgent::ring`], [`UserAgent::answer`],
//! [`UserAgent::reject`], [`UserAgent::redirect`], [`UserAgent::hangup`],
//! [`UserAgent::reinvite`], [`UserAgent::answer_reinvite`],
//! [`UserAgent::reject_reinvite`], [`UserAgent::send_info`],
//! [`UserAgent::refer`], [`UserAgent::invite`]).
//! Outputs: [`UserAgent::poll_transmit`], [`UserAgent::poll_event`],
//! [`UserAgent::poll_timeout`]. Drain the outputs after every input.
//!
//! The core answers what needs no decision on its own: 100 Trying, OPTIONS
//! (200 with Allow, Accept, Supported), 481 for unknown dialogs and
//! transactions, 405 for methods it does not serve, 400 for malformed
//! requests it can still answer, 486/503 at capacity, 200 to CANCEL and 487
//! to the cancelled INVITE, 200 to BYE, INFO and NOTIFY. SDP is opaque here:
//! offers and answers travel as bytes, and 488 is the caller's decision.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::header::{Method, Via};
use super::message::{Message, ParseError, Request, Response, SipHeaders, reason_phrase};
use super::transaction::{
    ClientKey, Incoming, ServerKey, TimerConfig, Transactions, Transmit, Transport, TxEvent,
    response_to,
};
use super::uri::{NameAddr, Param, Uri};

/// Methods the core accepts (the Allow header, §20.5).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, NOTIFY";
/// Bodies the core accepts (the Accept header, §20.1).
pub const ACCEPT: &str =
    "application/sdp, application/dtmf-relay, application/dtmf, message/sipfrag";

/// Configuration of a [`UserAgent`].
#[derive(Debug, Clone)]
pub struct UaConfig {
    /// The address put in Via sent-by and Contact (the bound address, or
    /// the address peers reach us at).
    pub local_addr: SocketAddr,
    /// The user part of our Contact.
    pub contact_user: String,
    /// The User-Agent / Server header value.
    pub user_agent: String,
    /// Most concurrent calls; further INVITEs get [`UaConfig::busy_status`].
    pub max_calls: usize,
    /// 486 (Busy Here) or 503 (Service Unavailable) at capacity.
    pub busy_status: u16,
    /// RFC 3261 timer values.
    pub timers: TimerConfig,
    /// Seed for tags, branches and Call-IDs (the driver passes a random one).
    pub seed: u64,
}

impl Default for UaConfig {
    fn default() -> Self {
        UaConfig {
            local_addr: SocketAddr::from(([127, 0, 0, 1], 5060)),
            contact_user: "vxp".into(),
            user_agent: concat!("VXP/", env!("CARGO_PKG_VERSION")).into(),
            max_calls: 1000,
            busy_status: 486,
            timers: TimerConfig::default(),
            seed: 0x5eed,
        }
    }
}

/// Our handle for a call (one INVITE dialog), not the SIP Call-ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId(pub u64);

/// A dialog's identifiers (RFC 3261 §12): Call-ID and both tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialogIds {
    /// The Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl DialogIds {
    /// The `Replaces` value (RFC 3891 §6.1) that lets a third party take
    /// over this dialog from the peer's side: `to-tag` is the peer's tag,
    /// `from-tag` ours.
    pub fn replaces(&self) -> String {
        format!(
            "{};to-tag={};from-tag={}",
            self.call_id, self.remote_tag, self.local_tag
        )
    }
}

/// Everything about an incoming INVITE a session needs
/// (`session.connection.*`, routing, the SDP offer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCall {
    /// Our handle.
    pub call: CallId,
    /// The Request-URI, parameters (`voicexml=`) included.
    pub request_uri: Uri,
    /// From.
    pub from: NameAddr,
    /// To (without our tag).
    pub to: NameAddr,
    /// Contact, if any.
    pub contact: Option<NameAddr>,
    /// The SIP Call-ID.
    pub sip_call_id: String,
    /// Every header field in order, compact names expanded (`f` → `From`),
    /// values verbatim (for `session.connection.protocol.sip.headers`).
    pub headers: Vec<(String, String)>,
    /// The offer body, if the INVITE had one.
    pub sdp: Option<Vec<u8>>,
    /// Where the INVITE came from.
    pub remote: SocketAddr,
    /// The transport it came on.
    pub transport: Transport,
}

/// The body of an incoming INFO (RFC 6086).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InfoBody {
    /// A DTMF digit from `application/dtmf-relay` (`Signal=5`) or `application/dtmf`.
    Dtmf {
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        digit: char,
        /// Duration in ms, when given.
        duration_ms: Option<u32>,
    },
    /// Anything else (NGI `gvp:send` messages), raw.
    Other {
        /// Content-Type, lowercased, without parameters.
        content_type: Option<String>,
        /// The body.
        body: Vec<u8>,
    },
}

/// What the core reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UaEvent {
    /// A new INVITE (100 Trying already sent); answer with ring/answer/reject/redirect.
    IncomingCall(Box<IncomingCall>),
    /// The ACK for our 2xx arrived: media may flow both ways.
    Acked {
        /// The call.
        call: CallId,
        /// The SDP in the ACK (answer to an offer we put in the 2xx), if any.
        sdp: Option<Vec<u8>>,
    },
    /// The caller cancelled before answer (200 and 487 already sent).
    CallCancelled {
        /// The call.
        call: CallId,
    },
    /// The peer sent BYE (200 already sent); the call is gone.
    RemoteHangup {
        /// The call.
        call: CallId,
    },
    /// A re-INVITE or UPDATE (hold, resume, media change): answer with
    /// [`UserAgent::answer_reinvite`] or [`UserAgent::reject_reinvite`].
    ReInvite {
        /// The call.
        call: CallId,
        /// INVITE or UPDATE.
        method: Method,
        /// The offer, if any.
        sdp: Option<Vec<u8>>,
    },
    /// Our re-INVITE was answered (ACK sent).
    ReInviteAnswered {
        /// The call.
        call: CallId,
        /// The answer.
        sdp: Option<Vec<u8>>,
    },
    /// Our re-INVITE failed (491 means glare: retry later).
    ReInviteFailed {
        /// The call.
        call: CallId,
        /// Final status (408 on timeout).
        status: u16,
    },
    /// An INFO arrived (200 already sent).
    InfoReceived {
        /// The call.
        call: CallId,
        /// The decoded body.
        info: InfoBody,
    },
    /// Progress of a REFER we sent: 202/4xx to the REFER, then the status
    /// line of each NOTIFY sipfrag (100, 180, 200, 486, ...).
    ReferProgress {
        /// The call.
        call: CallId,
        /// The status.
        status: u16,
        /// No further progress will come.
        done: bool,
    },
    /// An outbound call got a provisional response.
    Provisional {
        /// The call.
        call: CallId,
        /// 180, 183, ...
        status: u16,
        /// Early media SDP.
        sdp: Option<Vec<u8>>,
    },
    /// An outbound call was answered (ACK sent).
    Answered {
        /// The call.
        call: CallId,
        /// The answer.
        sdp: Option<Vec<u8>>,
    },
    /// An outbound call failed: a final status, 408 on timeout, 487 after hangup.
    Failed {
        /// The call.
        call: CallId,
        /// The status.
        status: u16,
    },
    /// A call ended on our side (our BYE answered or timed out, or the
    /// caller never ACKed our 2xx).
    Terminated {
        /// The call.
        call: CallId,
    },
    /// An in-dialog request we sent (INFO, ...) got a 2xx final response.
    RequestSucceeded {
        /// The call.
        call: CallId,
        /// The request's method.
        method: Method,
    },
    /// An in-dialog request we sent (INFO, ...) got a non-2xx final response.
    RequestFailed {
        /// The call.
        call: CallId,
        /// The request's method.
        method: Method,
        /// The status (408 on timeout).
        status: u16,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UaError {
    /// No call with this handle (ended or never existed).
    #[error("no such call {0:?}")]
    UnknownCall(CallId),
    /// The command does not fit the call's state.
    #[error("{0} not possible in the call's current state")]
    InvalidState(&'static str),
    /// The target's host is not an IP address (the core does no DNS).
    #[error("cannot route to {0}: not an IP address")]
    Unroutable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Uas,
    Uac,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// UAS: INVITE received, no final response yet.
    Incoming,
    /// UAS: 2xx sent, waiting for ACK.
    Answered,
    /// UAC: INVITE sent, no final response yet.
    Calling,
    /// Both: dialog confirmed.
    Confirmed,
    /// BYE sent, waiting for its response.
    Closing,
}

#[derive(Debug)]
struct Retransmit2xx {
    bytes: Vec<u8>,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

#[derive(Debug)]
struct Call {
    role: Role,
    phase: Phase,
    sip_call_id: String,
    local_tag: String,
    remote_tag: Option<String>,
    /// Our address with tag (From as UAC, To as UAS).
    local: NameAddr,
    /// The peer's address (To as UAC, From as UAS).
    remote: NameAddr,
    remote_target: Uri,
    route_set: Vec<String>,
    local_cseq: u32,
    remote_cseq: Option<u32>,
    /// Where in-dialog requests go.
    peer: SocketAddr,
    /// Where the initial INVITE came from (2xx retransmissions go there, §17.2.1).
    source: SocketAddr,
    transport: Transport,
    /// UAS: the INVITE and its transaction; UAC: the INVITE we sent.
    invite: Option<Request>,
    invite_server: Option<ServerKey>,
    got_provisional: bool,
    cancel_when_provisional: bool,
    bye_after_ack: bool,
    retransmit_2xx: Option<Retransmit2xx>,
    /// An incoming re-INVITE/UPDATE waiting for our answer.
    pending_offer: Option<(ServerKey, Request)>,
}

#[derive(Debug, Clone)]
enum Purpose {
    Invite,
    ReInvite,
    /// A re-INVITE already answered with 2xx: later 2xx are retransmissions to re-ACK.
    ReInviteAnswered,
    Bye,
    Cancel,
    Other(Method),
}

/// The SIP user agent core. See the module documentation.
#[derive(Debug)]
pub struct UserAgent {
    config: UaConfig,
    tx: Transactions,
    calls: HashMap<CallId, Call>,
    /// (SIP Call-ID, local tag) → call.
    dialogs: HashMap<(String, String), CallId>,
    /// Server INVITE transaction → call (CANCEL matching).
    by_invite: HashMap<ServerKey, CallId>,
    clients: HashMap<ClientKey, (CallId, Purpose)>,
    events: VecDeque<UaEvent>,
    next_call: u64,
    rng: u64,
}

impl UserAgent {
    /// A core with no calls.
    pub fn new(config: UaConfig) -> Self {
        UserAgent {
            tx: Transactions::new(config.timers),
            rng: config.seed,
            config,
            calls: HashMap::new(),
            dialogs: HashMap::new(),
            by_invite: HashMap::new(),
            clients: HashMap::new(),
            events: VecDeque::new(),
            next_call: 1,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &UaConfig {
        &self.config
    }

    /// Number of calls in progress.
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.tx.poll_transmit()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<UaEvent> {
        self.events.pop_front()
    }

    /// When [`UserAgent::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let calls = self
            .calls
            .values()
            .filter_map(|c| c.retransmit_2xx.as_ref().map(|r| r.next.min(r.give_up)));
        self.tx.poll_timeout().into_iter().chain(calls).min()
    }

    /// Fires due timers: transaction retransmissions and timeouts, 2xx
    /// retransmissions (§13.3.1.4).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tx.handle_timeout(now);
        let t2 = self.config.timers.t2;
        let mut no_ack = Vec::new();
        for (id, call) in &mut self.calls {
            let Some(r) = &mut call.retransmit_2xx else {
                continue;
            };
            if r.give_up <= now {
                no_ack.push(*id);
            } else if r.next <= now {
                self.tx
                    .send_stateless(r.bytes.clone(), call.source, call.transport);
                r.next = now + r.interval;
                r.interval = (r.interval * 2).min(t2);
            }
        }
        for id in no_ack {
            tracing::info!(call = id.0, "no ACK for 2xx: ending the call");
            if let Some(call) = self.calls.get_mut(&id) {
                call.retransmit_2xx = None;
                call.phase = Phase::Confirmed;
            }
            self.send_bye(id, now);
        }
        self.process_tx_events(now);
    }

    /// Feeds one received message (a UDP datagram or one framed TCP message).
    pub fn handle_datagram(
        &mut self,
        bytes: &[u8],
        from: SocketAddr,
        transport: Transport,
        now: Instant,
    ) {
        match Message::parse(bytes) {
            Ok(Message::Request(req)) => self.handle_request(req, from, transport, now),
            Ok(Message::Response(resp)) => self.tx.handle_response(resp, now),
            Err(err) => self.handle_malformed(bytes, &err, from, transport),
        }
        self.process_tx_events(now);
    }

    /// Answers a malformed request with 400 when its Via, From, To, Call-ID
    /// and CSeq can be copied (§8.2.6.1 needs them); drops it otherwise.
    fn handle_malformed(
        &mut self,
        bytes: &[u8],
        err: &ParseError,
        from: SocketAddr,
        transport: Transport,
    ) {
        let Some(resp) = bad_request(bytes, err) else {
            tracing::debug!(%from, error = %err, "malformed message dropped");
            return;
        };
        tracing::info!(%from, error = %err, "malformed request answered with 400");
        self.tx.send_stateless(resp.to_bytes(), from, transport);
    }

    fn handle_request(
        &mut self,
        mut req: Request,
        from: SocketAddr,
        transport: Transport,
        now: Instant,
    ) {
        mark_received(&mut req, from);
        let key = match self.tx.handle_request(&req, from, transport, now) {
            Incoming::New(key) => key,
            Incoming::AckForDialog => return self.handle_ack(&req, now),
            Incoming::Retransmission | Incoming::AckAbsorbed => return,
            Incoming::Unusable => {
                tracing::debug!(%from, "request without RFC 3261 branch dropped");
                return;
            }
        };
        let to_tag = req.header_to().and_then(|t| t.tag().map(str::to_owned));
        match (&req.method, to_tag) {
            (Method::Invite, None) => self.handle_invite(key, req, from, transport, now),
            (Method::Cancel, _) => self.handle_cancel(key, &req, now),
            (Method::Options, None) => {
                let resp = self.options_response(&req);
                self.tx.send_response(&key, &resp, now);
            }
            (_, None) => {
                let status = if is_served(&req.method) { 481 } else { 405 };
                self.respond(&key, &req, status, now);
            }
            (_, Some(tag)) => self.handle_in_dialog(key, req, &tag, now),
        }
    }

    fn handle_invite(
        &mut self,
        key: ServerKey,
        req: Request,
        from: SocketAddr,
        transport: Transport,
        now: Instant,
    ) {
        let (Some(from_addr), Some(to_addr), Some(sip_call_id), Some(cseq)) = (
            req.header_from(),
            req.header_to(),
            req.call_id().map(str::to_owned),
            req.cseq(),
        ) else {
            return;
        };
        if req.max_forwards() == Some(0) {
            return self.respond(&key, &req, 483, now);
        }
        if self.calls.len() >= self.config.max_calls {
            let status = self.config.busy_status;
            let tag = self.new_tag();
            let mut resp = response_to(&req, status, Some(&tag));
            if status == 503 {
                resp.headers.push("Retry-After", "5");
            }
            self.tx.send_response(&key, &resp, now);
            return;
        }
        let Some(remote_tag) = from_addr.tag().map(str::to_owned) else {
            return self.respond(&key, &req, 400, now);
        };
        let contact = req.contact();
        let remote_target = contact
            .as_ref()
            .map(|c| c.uri.clone())
            .unwrap_or_else(|| from_addr.uri.clone());
        let local_tag = self.new_tag();
        let mut local = to_addr.clone();
        local.set_tag(&local_tag);
        let id = CallId(self.next_call);
        self.next_call += 1;
        let sdp = (!req.body.is_empty()).then(|| req.body.clone());
        let info = IncomingCall {
            call: id,
            request_uri: req.uri.clone(),
            from: from_addr.clone(),
            to: to_addr,
            contact,
            sip_call_id: sip_call_id.clone(),
            headers: req
                .headers
                .iter()
                .map(|h| {
                    (
                        super::header::full_name(&h.name).to_owned(),
                        h.value.clone(),
                    )
                })
                .collect(),
            sdp,
            remote: from,
            transport,
        };
        let call = Call {
            role: Role::Uas,
            phase: Phase::Incoming,
            sip_call_id: sip_call_id.clone(),
            local_tag: local_tag.clone(),
            remote_tag: Some(remote_tag),
            local,
            remote: from_addr,
            // Over TCP the caller's connection is reused for our requests too.
            peer: match transport {
                Transport::Tcp => from,
                Transport::Udp => route_destination(&[], &remote_target).unwrap_or(from),
            },
            source: from,
            remote_target,
            // The UAS keeps Record-Route in order (§12.1.1).
            route_set: req.headers.all("Record-Route").map(str::to_owned).collect(),
            local_cseq: self.initial_cseq(),
            remote_cseq: Some(cseq.seq),
            transport,
            invite: Some(req),
            invite_server: Some(key.clone()),
            got_provisional: false,
            cancel_when_provisional: false,
            bye_after_ack: false,
            retransmit_2xx: None,
            pending_offer: None,
        };
        tracing::info!(call = id.0, sip_call_id = %sip_call_id, %from, "incoming call");
        self.calls.insert(id, call);
        self.dialogs.insert((sip_call_id, local_tag), id);
        self.by_invite.insert(key, id);
        self.events.push_back(UaEvent::IncomingCall(Box::new(info)));
    }

    fn handle_cancel(&mut self, key: ServerKey, req: &Request, now: Instant) {
        let invite_key = key.invite_for_cancel();
        if !self.tx.has_server(&invite_key) {
            return self.respond(&key, req, 481, now);
        }
        self.respond(&key, req, 200, now);
        if !self.tx.is_invite_pending(&invite_key) {
            return;
        }
        let Some(id) = self.by_invite.get(&invite_key).copied() else {
            return;
        };
        if let Some(call) = self.calls.get(&id)
            && let Some(invite) = &call.invite
        {
            let resp = response_to(invite, 487, Some(&call.local_tag));
            self.tx.send_response(&invite_key, &resp, now);
        }
        self.remove_call(id);
        self.events.push_back(UaEvent::CallCancelled { call: id });
    }

    fn handle_ack(&mut self, req: &Request, now: Instant) {
        let Some(id) = self.dialog_of(req) else {
            return;
        };
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        if call.phase != Phase::Answered {
            return;
        }
        call.phase = Phase::Confirmed;
        call.retransmit_2xx = None;
        let bye = call.bye_after_ack;
        let sdp = (!req.body.is_empty()).then(|| req.body.clone());
        self.events.push_back(UaEvent::Acked { call: id, sdp });
        if bye {
            self.send_bye(id, now);
        }
    }

    fn handle_in_dialog(&mut self, key: ServerKey, req: Request, to_tag: &str, now: Instant) {
        let id = self
            .dialogs
            .get(&(req.call_id().unwrap_or("").to_owned(), to_tag.to_owned()))
            .copied();
        let Some(id) = id.filter(|id| self.calls.contains_key(id)) else {
            let status = if is_served(&req.method) || req.method == Method::Options {
                481
            } else {
                405
            };
            return self.respond(&key, &req, status, now);
        };
        let seq = req.cseq().map_or(0, |c| c.seq);
        let Some(call) = self.calls.get_mut(&id) else {
            return;
        };
        // §12.2.2: a CSeq lower than the last one is out of order.
        if call.remote_cseq.is_some_and(|last| seq < last)
            || (call.remote_cseq == Some(seq) && req.method != Method::Invite)
        {
            return self.respond(&key, &req, 500, now);
        }
        call.remote_cseq = Some(seq);
        if let Some(c) = req.contact()
            && matches!(req.method, Method::Invite | Method::Update)
        {
            // A target refresh (§12.2.2).
            call.remote_target = c.uri;
            if call.transport == Transport::Udp
                && let Some(dest) = route_destination(&call.route_set, &call.remote_target)
            {
                call.peer = dest;
            }
        }
        match req.method {
            Method::Bye => {
                if let (Some(invite_key), Some(invite)) =
                    (call.invite_server.clone(), call.invite.as_ref())
                    && self.tx.is_invite_pending(&invite_key)
                {
                    let resp = response_to(invite, 487, Some(&call.local_tag));
                    self.tx.send_response(&invite_key, &resp, now);
                }
                self.respond(&key, &req, 200, now);
                self.remove_call(id);
                self.events.push_back(UaEvent::RemoteHangup { call: id });
            }
            Method::Invite | Method::Update => {
                if call.pending_offer.is_some() || call.phase != Phase::Confirmed {
                    // An offer is already in progress (RFC 3261 §14.2, RFC 3311 §5.2).
                    let status = if req.method == Method::Update && call.phase != Phase::Confirmed {
                        500
                    } else {
                        491
                    };
                    return self.respond(&key, &req, status, now);
                }
                let sdp = (!req.body.is_empty()).then(|| req.body.clone());
                let method = req.method.clone();
                call.pending_offer = Some((key, req));
                self.events.push_back(UaEvent::ReInvite {
                    call: id,
                    method,
                    sdp,
                });
            }
            Method::Info => {
                let info = decode_info(&req);
                self.respond(&key, &req, 200, now);
                self.events
                    .push_back(UaEvent::InfoReceived { call: id, info });
            }
            Method::Notify => {
                self.respond(&key, &req, 200, now);
                if let Some((status, done)) = refer_notify(&req) {
                    self.events.push_back(UaEvent::ReferProgress {
                        call: id,
                        status,
                        done,
                    });
                }
            }
            Method::Options => {
                let resp = self.options_response(&req);
                self.tx.send_response(&key, &resp, now);
            }
            _ => self.respond(&key, &req, 405, now),
        }
    }

    fn process_tx_events(&mut self, now: Instant) {
        while let Some(event) = self.tx.poll_event() {
            match event {
                TxEvent::Response(key, resp) => self.handle_client_response(key, resp, now),
                TxEvent::Timeout(key) => {
                    let Some((id, purpose)) = self.clients.remove(&key) else {
                        continue;
                    };
                    self.client_final(id, purpose, 408, now);
                }
                TxEvent::NoAck(key) => {
                    tracing::debug!(branch = %key.branch, "no ACK for a final non-2xx response");
                }
            }
        }
    }

    fn handle_client_response(&mut self, key: ClientKey, resp: Response, now: Instant) {
        let Some((id, purpose)) = self.clients.get(&key).cloned() else {
            return;
        };
        if resp.status >= 200
            && !matches!(
                purpose,
                Purpose::Invite | Purpose::ReInvite | Purpose::ReInviteAnswered
            )
        {
            self.clients.remove(&key);
        }
        let sdp = (!resp.body.is_empty()).then(|| resp.body.clone());
        match purpose {
            Purpose::Invite => self.handle_invite_response(id, &key, resp, now),
            Purpose::ReInviteAnswered => self.send_ack_2xx(id, &resp),
            Purpose::ReInvite if (200..300).contains(&resp.status) => {
                self.clients
                    .insert(key.clone(), (id, Purpose::ReInviteAnswered));
                self.send_ack_2xx(id, &resp);
                if self
                    .calls
                    .get(&id)
                    .is_some_and(|c| c.phase != Phase::Closing)
                {
                    self.events
                        .push_back(UaEvent::ReInviteAnswered { call: id, sdp });
                }
            }
            Purpose::ReInvite if resp.status >= 300 => {
                self.clients.remove(&key);
                self.client_final(id, Purpose::ReInvite, resp.status, now);
            }
            Purpose::Other(Method::Refer) if resp.status >= 200 => {
                let done = resp.status >= 300;
                self.events.push_back(UaEvent::ReferProgress {
                    call: id,
                    status: resp.status,
                    done,
                });
            }
            p if resp.status >= 200 => self.client_final(id, p, resp.status, now),
            _ => {}
        }
    }

    fn handle_invite_response(
        &mut self,
        id: CallId,
        key: &ClientKey,
        resp: Response,
        now: Instant,
    ) {
        let sdp = (!resp.body.is_empty()).then(|| resp.body.clone());
        let Some(call) = self.calls.get_mut(&id) else {
            self.clients.remove(key);
            return;
        };
        match resp.status {
            100 => {}
            101..=199 => {
                call.got_provisional = true;
                if call.cancel_when_provisional {
                    call.cancel_when_provisional = false;
                    self.send_cancel(id, now);
                } else {
                    self.events.push_back(UaEvent::Provisional {
                        call: id,
                        status: resp.status,
                        sdp,
                    });
                }
            }
            200..=299 => {
                let first = call.phase == Phase::Calling;
                if first {
                    call.remote_tag = resp.header_to().and_then(|t| t.tag().map(str::to_owned));
                    if let Some(to) = resp.header_to() {
                        call.remote = to;
                    }
                    if let Some(c) = resp.contact() {
                        call.remote_target = c.uri;
                    }
                    // The UAC reverses Record-Route (§12.1.2).
                    call.route_set = resp
                        .headers
                        .all("Record-Route")
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    if call.transport == Transport::Udp
                        && let Some(dest) = route_destination(&call.route_set, &call.remote_target)
                    {
                        call.peer = dest;
                    }
                    call.phase = Phase::Confirmed;
                    if let Some(tag) = &call.remote_tag {
                        tracing::debug!(call = id.0, remote_tag = %tag, "dialog confirmed");
                    }
                }
                let hang_up = call.cancel_when_provisional;
                self.send_ack_2xx(id, &resp);
                if first {
                    if hang_up {
                        self.send_bye(id, now);
                    } else {
                        self.events.push_back(UaEvent::Answered { call: id, sdp });
                    }
                }
            }
            status => {
                self.clients.remove(key);
                self.remove_call(id);
                self.events.push_back(UaEvent::Failed { call: id, status });
            }
        }
    }

    fn client_final(&mut self, id: CallId, purpose: Purpose, status: u16, now: Instant) {
        match purpose {
            Purpose::Invite => {
                if self.calls.contains_key(&id) {
                    self.remove_call(id);
                    self.events.push_back(UaEvent::Failed { call: id, status });
                }
            }
            Purpose::ReInvite | Purpose::ReInviteAnswered => {
                if (200..300).contains(&status) {
                    return;
                }
                self.events
                    .push_back(UaEvent::ReInviteFailed { call: id, status });
                if matches!(status, 408 | 481) {
                    self.send_bye(id, now);
                }
            }
            Purpose::Bye => {
                if self.calls.contains_key(&id) {
                    self.remove_call(id);
                    self.events.push_back(UaEvent::Terminated { call: id });
                }
            }
            Purpose::Cancel => {}
            Purpose::Other(method) => {
                if (200..300).contains(&status) {
                    if method != Method::Refer {
                        self.events
                            .push_back(UaEvent::RequestSucceeded { call: id, method });
                    }
                } else {
                    if method == Method::Refer {
                        self.events.push_back(UaEvent::ReferProgress {
                            call: id,
                            status,
                            done: true,
                        });
                    } else {
                        self.events.push_back(UaEvent::RequestFailed {
                            call: id,
                            method,
                            status,
                        });
                    }
                    // §12.2.1.2: 481 or 408 to an in-dialog request ends the dialog.
                    if matches!(status, 408 | 481) {
                        self.send_bye(id, now);
                    }
                }
            }
        }
    }

    // ----- commands -----

    /// Sends a provisional response (180 Ringing, 183 Session Progress with early media SDP).
    pub fn ring(
        &mut self,
        call: CallId,
        status: u16,
        sdp: Option<Vec<u8>>,
        now: Instant,
    ) -> Result<(), UaError> {
        if !(101..200).contains(&status) {
            return Err(UaError::InvalidState(
                "a provisional status other than 101-199",
            ));
        }
        let resp = self.uas_response(call, status, sdp)?;
        self.send_invite_response(call, &resp, now)
    }

    /// Answers an incoming call with 200 OK and `sdp`; retransmits the 2xx
    /// until the ACK arrives ([`UaEvent::Acked`]).
    pub fn answer(&mut self, call: CallId, sdp: Vec<u8>, now: Instant) -> Result<(), UaError> {
        let resp = self.uas_response(call, 200, Some(sdp))?;
        self.send_invite_response(call, &resp, now)?;
        let t1 = self.config.timers.t1;
        let give_up = now + self.config.timers.t1x64();
        if let Some(c) = self.calls.get_mut(&call) {
            c.phase = Phase::Answered;
            c.retransmit_2xx = Some(Retransmit2xx {
                bytes: resp.to_bytes(),
                next: now + t1,
                interval: (t1 * 2).min(self.config.timers.t2),
                give_up,
            });
            if c.transport == Transport::Tcp {
                // Reliable transport: nothing to retransmit, only wait for the ACK.
                if let Some(r) = &mut c.retransmit_2xx {
                    r.next = give_up;
                }
            }
        }
        Ok(())
    }

    /// Rejects an incoming call with a final status (486, 488, 603, ...).
    pub fn reject(&mut self, call: CallId, status: u16, now: Instant) -> Result<(), UaError> {
        if !(300..700).contains(&status) {
            return Err(UaError::InvalidState("a reject status outside 300-699"));
        }
        let resp = self.uas_response(call, status, None)?;
        self.send_invite_response(call, &resp, now)?;
        self.remove_call(call);
        Ok(())
    }

    /// Redirects an unanswered incoming call with 302 to `contact` (blind
    /// transfer before answer).
    pub fn redirect(&mut self, call: CallId, contact: Uri, now: Instant) -> Result<(), UaError> {
        let mut resp = self.uas_response(call, 302, None)?;
        resp.headers.set("Contact", format!("<{contact}>"));
        self.send_invite_response(call, &resp, now)?;
        self.remove_call(call);
        Ok(())
    }

    /// Ends a call as fits its state: 480 to an unanswered incoming call,
    /// CANCEL for an unanswered outbound call, BYE otherwise. The end is
    /// reported as [`UaEvent::Terminated`] (or [`UaEvent::Failed`] with 487
    /// for a cancelled outbound call); an unanswered incoming call ends at once.
    pub fn hangup(&mut self, call: CallId, now: Instant) -> Result<(), UaError> {
        let c = self
            .calls
            .get_mut(&call)
            .ok_or(UaError::UnknownCall(call))?;
        match (c.role, c.phase) {
            (Role::Uas, Phase::Incoming) => {
                let resp = self.uas_response(call, 480, None)?;
                self.send_invite_response(call, &resp, now)?;
                self.remove_call(call);
                self.events.push_back(UaEvent::Terminated { call });
            }
            (Role::Uas, Phase::Answered) => c.bye_after_ack = true,
            (Role::Uac, Phase::Calling) => {
                if c.got_provisional {
                    self.send_cancel(call, now);
                } else {
                    // §9.1: no CANCEL before a provisional response.
                    c.cancel_when_provisional = true;
                }
            }
            (_, Phase::Closing) => {}
            _ => self.send_bye(call, now),
        }
        Ok(())
    }

    /// Sends a re-INVITE with a new offer (hold: `a=sendonly`, resume, media
    /// change); the result is [`UaEvent::ReInviteAnswered`] or [`UaEvent::ReInviteFailed`].
    pub fn reinvite(&mut self, call: CallId, sdp: Vec<u8>, now: Instant) -> Result<(), UaError> {
        let c = self.calls.get(&call).ok_or(UaError::UnknownCall(call))?;
        if c.phase != Phase::Confirmed {
            return Err(UaError::InvalidState("re-INVITE"));
        }
        if self.clients.values().any(|(id, p)| {
            *id == call && matches!(p, Purpose::ReInvite | Purpose::ReInviteAnswered)
        }) {
            return Err(UaError::InvalidState("re-INVITE while one is pending"));
        }
        let mut req = self.in_dialog_request(call, Method::Invite)?;
        req.set_body(Some("application/sdp"), sdp);
        self.send_in_dialog(call, req, Purpose::ReInvite, now);
        Ok(())
    }

    /// Answers a pending re-INVITE or UPDATE with 200 and our SDP.
    pub fn answer_reinvite(
        &mut self,
        call: CallId,
        sdp: Vec<u8>,
        now: Instant,
    ) -> Result<(), UaError> {
        let (key, req) = self.take_offer(call)?;
        let mut resp = self.dialog_response(call, &req, 200)?;
        resp.set_body(Some("application/sdp"), sdp);
        self.tx.send_response(&key, &resp, now);
        if req.method == Method::Invite {
            // A 2xx to a re-INVITE is retransmitted by the core like the first one.
            let t1 = self.config.timers.t1;
            let give_up = now + self.config.timers.t1x64();
            let t2 = self.config.timers.t2;
            if let Some(c) = self.calls.get_mut(&call) {
                c.phase = Phase::Answered;
                c.retransmit_2xx = Some(Retransmit2xx {
                    bytes: resp.to_bytes(),
                    next: if c.transport == Transport::Tcp {
                        give_up
                    } else {
                        now + t1
                    },
                    interval: (t1 * 2).min(t2),
                    give_up,
                });
            }
        }
        Ok(())
    }

    /// Rejects a pending re-INVITE or UPDATE (488 for an unacceptable offer, 491 for glare).
    pub fn reject_reinvite(
        &mut self,
        call: CallId,
        status: u16,
        now: Instant,
    ) -> Result<(), UaError> {
        let (key, req) = self.take_offer(call)?;
        let resp = self.dialog_response(call, &req, status)?;
        self.tx.send_response(&key, &resp, now);
        Ok(())
    }

    /// Sends an INFO (RFC 6086) with `body`; a failure is [`UaEvent::RequestFailed`].
    pub fn send_info(
        &mut self,
        call: CallId,
        content_type: &str,
        body: Vec<u8>,
        now: Instant,
    ) -> Result<(), UaError> {
        self.confirmed(call, "INFO")?;
        let mut req = self.in_dialog_request(call, Method::Info)?;
        req.set_body(Some(content_type), body);
        self.send_in_dialog(call, req, Purpose::Other(Method::Info), now);
        Ok(())
    }

    /// The dialog identifiers of an established call, as a `Replaces`
    /// header (RFC 3891) names them: Call-ID, the peer's tag as `to-tag`
    /// and ours as `from-tag` (RFC 3891 §3 takes the tags from the point of
    /// view of the UA receiving the INVITE with `Replaces`, which is the peer).
    pub fn dialog_ids(&self, call: CallId) -> Option<DialogIds> {
        let c = self.calls.get(&call)?;
        Some(DialogIds {
            call_id: c.sip_call_id.clone(),
            local_tag: c.local_tag.clone(),
            remote_tag: c.remote_tag.clone()?,
        })
    }

    /// Sends a REFER to `target` (blind transfer, RFC 3515); progress comes as
    /// [`UaEvent::ReferProgress`] from the 202 and the NOTIFY sipfrags.
    pub fn refer(&mut self, call: CallId, target: &Uri, now: Instant) -> Result<(), UaError> {
        self.confirmed(call, "REFER")?;
        let mut req = self.in_dialog_request(call, Method::Refer)?;
        req.headers.push("Refer-To", format!("<{target}>"));
        if let Some(c) = self.calls.get(&call) {
            req.headers
                .push("Referred-By", format!("<{}>", c.local.uri));
        }
        req.headers.push("Content-Length", "0");
        self.send_in_dialog(call, req, Purpose::Other(Method::Refer), now);
        Ok(())
    }

    /// Places an outbound call (bridge transfer leg) to `to`, from `from`
    /// (our Contact address when `None`), offering `sdp`. The host of `to`
    /// must be an IP address; `transport=tcp` selects TCP.
    pub fn invite(
        &mut self,
        to: Uri,
        from: Option<NameAddr>,
        sdp: Vec<u8>,
        now: Instant,
    ) -> Result<CallId, UaError> {
        let transport = match to.transport_param().as_deref() {
            Some("tcp") => Transport::Tcp,
            _ => Transport::Udp,
        };
        let dest = uri_destination(&to).ok_or_else(|| UaError::Unroutable(to.to_string()))?;
        self.invite_at(to, dest, transport, from, sdp, now)
    }

    /// Places an outbound call like [`UserAgent::invite`], to a destination
    /// already resolved (RFC 3263: the driver looks up a host name's SRV and
    /// A/AAAA records and passes the address and transport chosen).
    pub fn invite_at(
        &mut self,
        to: Uri,
        dest: SocketAddr,
        transport: Transport,
        from: Option<NameAddr>,
        sdp: Vec<u8>,
        now: Instant,
    ) -> Result<CallId, UaError> {
        let id = CallId(self.next_call);
        self.next_call += 1;
        let local_tag = self.new_tag();
        let mut local = from.unwrap_or_else(|| NameAddr::new(self.contact_uri(transport)));
        local.set_tag(&local_tag);
        let sip_call_id = format!(
            "{:016x}@{}",
            self.next_random(),
            self.config.local_addr.ip()
        );
        let call = Call {
            role: Role::Uac,
            phase: Phase::Calling,
            sip_call_id: sip_call_id.clone(),
            local_tag: local_tag.clone(),
            remote_tag: None,
            local,
            remote: NameAddr::new(to.clone()),
            remote_target: to,
            route_set: Vec::new(),
            local_cseq: self.initial_cseq(),
            remote_cseq: None,
            peer: dest,
            source: dest,
            transport,
            invite: None,
            invite_server: None,
            got_provisional: false,
            cancel_when_provisional: false,
            bye_after_ack: false,
            retransmit_2xx: None,
            pending_offer: None,
        };
        self.calls.insert(id, call);
        self.dialogs.insert((sip_call_id, local_tag), id);
        let mut req = self.in_dialog_request(id, Method::Invite)?;
        req.set_body(Some("application/sdp"), sdp);
        if let Some(c) = self.calls.get_mut(&id) {
            c.invite = Some(req.clone());
        }
        self.send_in_dialog(id, req, Purpose::Invite, now);
        Ok(id)
    }

    // ----- helpers -----

    fn confirmed(&self, call: CallId, what: &'static str) -> Result<(), UaError> {
        let c = self.calls.get(&call).ok_or(UaError::UnknownCall(call))?;
        if matches!(c.phase, Phase::Confirmed | Phase::Answered) {
            Ok(())
        } else {
            Err(UaError::InvalidState(what))
        }
    }

    fn take_offer(&mut self, call: CallId) -> Result<(ServerKey, Request), UaError> {
        let c = self
            .calls
            .get_mut(&call)
            .ok_or(UaError::UnknownCall(call))?;
        c.pending_offer
            .take()
            .ok_or(UaError::InvalidState("no re-INVITE or UPDATE to answer"))
    }

    /// A final or provisional response to the call's initial INVITE.
    fn uas_response(
        &self,
        call: CallId,
        status: u16,
        sdp: Option<Vec<u8>>,
    ) -> Result<Response, UaError> {
        let c = self.calls.get(&call).ok_or(UaError::UnknownCall(call))?;
        if c.role != Role::Uas || c.phase != Phase::Incoming {
            return Err(UaError::InvalidState("responding to the INVITE"));
        }
        let invite = c
            .invite
            .as_ref()
            .ok_or(UaError::InvalidState("responding to the INVITE"))?;
        let mut resp = response_to(invite, status, Some(&c.local_tag));
        resp.headers.remove("Content-Length");
        if (101..300).contains(&status) {
            for rr in invite.headers.all("Record-Route") {
                resp.headers.push("Record-Route", rr);
            }
            resp.headers
                .push("Contact", format!("<{}>", self.contact_uri(c.transport)));
            resp.headers.push("Allow", ALLOW);
        }
        resp.headers.push("Server", self.config.user_agent.clone());
        match sdp {
            Some(sdp) => resp.set_body(Some("application/sdp"), sdp),
            None => resp.headers.push("Content-Length", "0"),
        }
        Ok(resp)
    }

    fn send_invite_response(
        &mut self,
        call: CallId,
        resp: &Response,
        now: Instant,
    ) -> Result<(), UaError> {
        let key = self
            .calls
            .get(&call)
            .and_then(|c| c.invite_server.clone())
            .ok_or(UaError::UnknownCall(call))?;
        if self.tx.send_response(&key, resp, now) {
            Ok(())
        } else {
            Err(UaError::InvalidState("the INVITE transaction has ended"))
        }
    }

    /// A response to an in-dialog request carrying our tag and Contact.
    fn dialog_response(
        &self,
        call: CallId,
        req: &Request,
        status: u16,
    ) -> Result<Response, UaError> {
        let c = self.calls.get(&call).ok_or(UaError::UnknownCall(call))?;
        let mut resp = response_to(req, status, Some(&c.local_tag));
        resp.headers.remove("Content-Length");
        if (200..300).contains(&status) {
            resp.headers
                .push("Contact", format!("<{}>", self.contact_uri(c.transport)));
        }
        resp.headers.push("Content-Length", "0");
        Ok(resp)
    }

    fn respond(&mut self, key: &ServerKey, req: &Request, status: u16, now: Instant) {
        let tag = if req.header_to().is_some_and(|t| t.tag().is_none()) {
            Some(self.new_tag())
        } else {
            None
        };
        let mut resp = response_to(req, status, tag.as_deref());
        if status == 405 {
            resp.headers.remove("Content-Length");
            resp.headers.push("Allow", ALLOW);
            resp.headers.push("Content-Length", "0");
        }
        self.tx.send_response(key, &resp, now);
    }

    fn options_response(&mut self, req: &Request) -> Response {
        let tag = self.new_tag();
        let mut resp = response_to(req, 200, Some(&tag));
        resp.headers.remove("Content-Length");
        resp.headers.push("Allow", ALLOW);
        resp.headers.push("Accept", ACCEPT);
        resp.headers.push("Accept-Language", "en");
        resp.headers.push("Supported", "");
        resp.headers.push("Server", self.config.user_agent.clone());
        resp.headers.push("Content-Length", "0");
        resp
    }

    /// A request inside the call's dialog (§12.2.1.1), or the initial
    /// INVITE of an outbound call.
    fn in_dialog_request(&mut self, call: CallId, method: Method) -> Result<Request, UaError> {
        let branch = self.new_branch();
        let via_host = self.config.local_addr;
        let user_agent = self.config.user_agent.clone();
        let c = self
            .calls
            .get_mut(&call)
            .ok_or(UaError::UnknownCall(call))?;
        let transport = c.transport;
        c.local_cseq = c.local_cseq.wrapping_add(1) & 0x7fff_ffff;
        let loose = c
            .route_set
            .first()
            .and_then(|r| NameAddr::parse(r).ok())
            .map(|r| (r.uri.is_loose_route(), r.uri));
        let (uri, routes): (Uri, Vec<String>) = match loose {
            Some((false, strict)) => {
                // Strict routing (§12.2.1.1): the first route becomes the Request-URI.
                let mut routes: Vec<String> = c.route_set.iter().skip(1).cloned().collect();
                routes.push(format!("<{}>", c.remote_target));
                (strict, routes)
            }
            _ => (c.remote_target.clone(), c.route_set.clone()),
        };
        let mut req = Request::new(method.clone(), uri);
        req.headers.push(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                transport.as_str(),
                via_host
            ),
        );
        for r in routes {
            req.headers.push("Route", r);
        }
        req.headers.push("Max-Forwards", "70");
        req.headers.push("From", c.local.to_string());
        let mut to = c.remote.clone();
        if let Some(tag) = &c.remote_tag {
            to.set_tag(tag);
        }
        req.headers.push("To", to.to_string());
        req.headers.push("Call-ID", c.sip_call_id.clone());
        req.headers
            .push("CSeq", format!("{} {method}", c.local_cseq));
        let contact = Uri {
            params: if transport == Transport::Tcp {
                vec![Param::new("transport", Some("tcp"))]
            } else {
                Vec::new()
            },
            ..Uri::sip(
                Some(&self.config.contact_user),
                &host_of(via_host),
                Some(via_host.port()),
            )
        };
        if matches!(method, Method::Invite | Method::Update | Method::Refer) {
            req.headers.push("Contact", format!("<{contact}>"));
        }
        if method == Method::Invite {
            req.headers.push("Allow", ALLOW);
        }
        req.headers.push("User-Agent", user_agent);
        Ok(req)
    }

    fn send_in_dialog(
        &mut self,
        call: CallId,
        req: Request,
        purpose: Purpose,
        now: Instant,
    ) -> Option<ClientKey> {
        let (peer, transport) = self.calls.get(&call).map(|c| (c.peer, c.transport))?;
        let key = self.tx.send_request(req, peer, transport, now)?;
        self.clients.insert(key.clone(), (call, purpose));
        Some(key)
    }

    fn send_ack_2xx(&mut self, call: CallId, resp: &Response) {
        let Some(seq) = resp.cseq().map(|c| c.seq) else {
            return;
        };
        let branch = self.new_branch();
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        // The ACK for a 2xx is its own transaction-less request (§13.2.2.4).
        let mut ack = Request::new(Method::Ack, c.remote_target.clone());
        ack.headers.push(
            "Via",
            format!(
                "SIP/2.0/{} {};branch={branch};rport",
                c.transport.as_str(),
                self.config.local_addr
            ),
        );
        for r in &c.route_set {
            ack.headers.push("Route", r.clone());
        }
        ack.headers.push("Max-Forwards", "70");
        ack.headers.push("From", c.local.to_string());
        if let Some(to) = resp.headers.first("To") {
            ack.headers.push("To", to);
        }
        ack.headers.push("Call-ID", c.sip_call_id.clone());
        ack.headers.push("CSeq", format!("{seq} ACK"));
        ack.headers.push("Content-Length", "0");
        self.tx.send_stateless(ack.to_bytes(), c.peer, c.transport);
    }

    fn send_cancel(&mut self, call: CallId, now: Instant) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        let Some(invite) = &c.invite else {
            return;
        };
        // CANCEL copies the INVITE's Request-URI, top Via, Route, From, To, Call-ID, CSeq number (§9.1).
        let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
        for name in ["Via", "Route", "Max-Forwards", "From", "To", "Call-ID"] {
            for v in invite.headers.all(name) {
                cancel.headers.push(name, v);
                if name == "Via" {
                    break;
                }
            }
        }
        if let Some(cseq) = invite.cseq() {
            cancel.headers.push("CSeq", format!("{} CANCEL", cseq.seq));
        }
        cancel.headers.push("Content-Length", "0");
        self.send_in_dialog(call, cancel, Purpose::Cancel, now);
    }

    fn send_bye(&mut self, call: CallId, now: Instant) {
        let Ok(req) = self.in_dialog_request(call, Method::Bye) else {
            return;
        };
        if let Some(c) = self.calls.get_mut(&call) {
            c.phase = Phase::Closing;
            c.retransmit_2xx = None;
        }
        if self.send_in_dialog(call, req, Purpose::Bye, now).is_none() {
            self.remove_call(call);
            self.events.push_back(UaEvent::Terminated { call });
        }
    }

    fn remove_call(&mut self, call: CallId) {
        if let Some(c) = self.calls.remove(&call) {
            self.dialogs.remove(&(c.sip_call_id, c.local_tag));
            if let Some(k) = c.invite_server {
                self.by_invite.remove(&k);
            }
            self.clients.retain(|_, (id, _)| *id != call);
        }
    }

    fn dialog_of(&self, req: &Request) -> Option<CallId> {
        let tag = req.header_to()?.tag()?.to_owned();
        self.dialogs.get(&(req.call_id()?.to_owned(), tag)).copied()
    }

    fn contact_uri(&self, transport: Transport) -> Uri {
        let addr = self.config.local_addr;
        let mut uri = Uri::sip(
            Some(&self.config.contact_user),
            &host_of(addr),
            Some(addr.port()),
        );
        if transport == Transport::Tcp {
            uri.params.push(Param::new("transport", Some("tcp")));
        }
        uri
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64: tags and branches need uniqueness, not secrecy.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn new_tag(&mut self) -> String {
        format!("{:08x}", self.next_random() as u32)
    }

    fn new_branch(&mut self) -> String {
        format!("z9hG4bK{:012x}", self.next_random() & 0xffff_ffff_ffff)
    }

    fn initial_cseq(&mut self) -> u32 {
        (self.next_random() as u32) & 0xffff
    }
}

/// Methods the core serves inside a dialog.
fn is_served(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Bye | Method::Info | Method::Update | Method::Notify | Method::Ack
    )
}

fn host_of(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
    }
}

/// The address of a URI whose host is an IP literal.
fn uri_destination(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    Some(SocketAddr::new(ip, uri.port.unwrap_or(5060)))
}

/// Where in-dialog requests go: the first route if any, else the remote target (§12.2.1.1).
fn route_destination(route_set: &[String], target: &Uri) -> Option<SocketAddr> {
    match route_set.first() {
        Some(r) => NameAddr::parse(r)
            .ok()
            .and_then(|r| uri_destination(&r.uri)),
        None => uri_destination(target),
    }
}

/// Adds `received`/`rport` to the top Via (§18.2.1, RFC 3581) so responses
/// carry where the request really came from.
fn mark_received(req: &mut Request, from: SocketAddr) {
    let Some(mut via) = req.top_via() else {
        return;
    };
    let ip = from.ip().to_string();
    let mut changed = false;
    if via.rport().is_some() {
        via.set_param("rport", Some(&from.port().to_string()));
        changed = true;
    }
    if via.host.trim_start_matches('[').trim_end_matches(']') != ip || changed {
        via.set_param("received", Some(&ip));
        changed = true;
    }
    if changed && let Some(h) = req.headers.first_mut("Via") {
        *h = via.to_string();
    }
}

/// Decodes an INFO body: `application/dtmf-relay` (`Signal=5`,
/// `Duration=160`) and `application/dtmf` (the digit or its event code)
/// become digits; anything else stays raw.
pub fn decode_info(req: &Request) -> InfoBody {
    let content_type = req.content_type();
    let text = String::from_utf8_lossy(&req.body);
    let digit = |s: &str| -> Option<char> {
        let s = s.trim();
        match s {
            "10" => Some('*'),
            "11" => Some('#'),
            "12" => Some('A'),
            "13" => Some('B'),
            "14" => Some('C'),
            "15" => Some('D'),
            _ => {
                let mut chars = s.chars();
                let c = chars.next()?.to_ascii_uppercase();
                (chars.next().is_none() && (c.is_ascii_digit() || "*#ABCD".contains(c)))
                    .then_some(c)
            }
        }
    };
    match content_type.as_deref() {
        Some("application/dtmf-relay") => {
            let mut signal = None;
            let mut duration_ms = None;
            for line in text.lines() {
                if let Some((k, v)) = line.split_once('=') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "signal" => signal = digit(v),
                        "duration" => duration_ms = v.trim().parse().ok(),
                        _ => {}
                    }
                }
            }
            if let Some(digit) = signal {
                return InfoBody::Dtmf { digit, duration_ms };
            }
        }
        Some("application/dtmf") => {
            if let Some(digit) = digit(&text) {
                return InfoBody::Dtmf {
                    digit,
                    duration_ms: None,
                };
            }
        }
        _ => {}
    }
    InfoBody::Other {
        content_type,
        body: req.body.clone(),
    }
}

/// The sipfrag status of a NOTIFY for a REFER subscription (RFC 3515 §2.4.5,
/// RFC 3420), and whether the subscription ended.
fn refer_notify(req: &Request) -> Option<(u16, bool)> {
    let event = req.headers.first("Event")?;
    if !event.trim().to_ascii_lowercase().starts_with("refer") {
        return None;
    }
    let text = String::from_utf8_lossy(&req.body);
    let status: u16 = text
        .lines()
        .next()?
        .strip_prefix("SIP/2.0 ")?
        .split(' ')
        .next()?
        .parse()
        .ok()?;
    let terminated = req
        .headers
        .first("Subscription-State")
        .is_some_and(|s| s.trim().to_ascii_lowercase().starts_with("terminated"));
    Some((status, terminated || status >= 200))
}

/// A 400 for bytes that failed to parse, when Via, From, To, Call-ID and
/// CSeq can be read well enough to copy (§8.2.6.1); never for ACK or a response.
fn bad_request(bytes: &[u8], err: &ParseError) -> Option<Response> {
    let end = super::message::header_end(bytes).map_or(bytes.len(), |(h, _)| h);
    let head = std::str::from_utf8(bytes.get(..end)?).ok()?;
    let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
    let start = lines.next()?;
    if start.starts_with("SIP/") || start.starts_with("ACK ") {
        return None;
    }
    let mut resp = Response::new(400, reason_phrase(400));
    let mut seen = [false; 5];
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let full = super::header::full_name(name.trim());
        let value = value.trim();
        let Some(slot) = ["Via", "From", "To", "Call-ID", "CSeq"]
            .iter()
            .position(|n| n.eq_ignore_ascii_case(full))
        else {
            continue;
        };
        let slot_ok = match slot {
            0 => Via::parse(value).is_ok(),
            _ => !value.is_empty(),
        };
        if slot_ok && (slot == 0 || !seen[slot]) {
            seen[slot] = true;
            resp.headers.push(full, value);
        }
    }
    if !seen.iter().all(|s| *s) {
        return None;
    }
    // The reason phrase quotes the input: keep it printable ASCII and short.
    let reason: String = err
        .to_string()
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(80)
        .collect();
    resp.reason = format!("Bad Request ({reason})");
    resp.headers.push("Content-Length", "0");
    Some(resp)
}

#[cfg(test)]
mod tests;
