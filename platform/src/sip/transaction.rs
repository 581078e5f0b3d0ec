//! The transaction layer (RFC 3261 §17, with RFC 6026's Accepted state):
//! INVITE and non-INVITE client and server transactions as one state
//! machine without I/O.
//!
//! The user-agent core hands it requests to send ([`Transactions::send_request`]),
//! responses to send ([`Transactions::send_response`]) and whatever arrives
//! ([`Transactions::handle_request`], [`Transactions::handle_response`]); it
//! retransmits over unreliable transports on timers A, E and G, absorbs
//! retransmitted requests by resending the last response, sends the ACK for a
//! non-2xx final response itself, and reports timeouts (timers B and F) as
//! [`TxEvent::Timeout`]. Timers D, H, I, J, K, L and M end transactions.
//! Time is an input: [`Transactions::handle_timeout`] with `now`, and
//! [`Transactions::poll_timeout`] says when to call it next.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::header::{Method, Via};
use super::message::{Request, Response, SipHeaders};

/// The transport a message travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: unreliable, the transaction layer retransmits.
    Udp,
    /// TCP: reliable, no retransmissions (§17.1.1.2, §17.1.2.2).
    Tcp,
}

impl Transport {
    /// The Via transport token.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }

    fn reliable(self) -> bool {
        matches!(self, Transport::Tcp)
    }
}

/// Bytes to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The message bytes.
    pub bytes: Vec<u8>,
    /// Destination (for TCP: the peer whose connection to use or open).
    pub to: SocketAddr,
    /// Transport.
    pub transport: Transport,
}

/// RFC 3261 timer values (§17.1.1.1, Table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// T1, the round-trip estimate (500 ms).
    pub t1: Duration,
    /// T2, the longest retransmit interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// T4, how long a message may stay in the network (5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64·T1: timers B, F, H, J, L, M.
    pub fn t1x64(&self) -> Duration {
        self.t1 * 64
    }
}

/// Identifies a client transaction: top Via branch and CSeq method (§17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// Branch of our top Via.
    pub branch: String,
    /// The request's method.
    pub method: Method,
}

/// Identifies a server transaction: branch, sent-by and method, with ACK
/// matching its INVITE (§17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServerKey {
    /// Branch of the request's top Via.
    pub branch: String,
    /// The top Via's sent-by (`host:port`).
    pub sent_by: String,
    /// INVITE for INVITE and ACK, the method otherwise.
    pub method: Method,
}

impl ServerKey {
    /// The key of the transaction a request belongs to; `None` without an
    /// RFC 3261 branch (pre-3261 peers are not supported).
    pub fn of(req: &Request) -> Option<ServerKey> {
        let via = req.top_via()?;
        let branch = via.branch()?.to_owned();
        let method = match req.method {
            Method::Ack => Method::Invite,
            ref m => m.clone(),
        };
        Some(ServerKey {
            branch,
            sent_by: sent_by(&via),
            method,
        })
    }

    /// The key of the INVITE a CANCEL targets (same branch, §9.2).
    pub fn invite_for_cancel(&self) -> ServerKey {
        ServerKey {
            method: Method::Invite,
            ..self.clone()
        }
    }
}

fn sent_by(via: &Via) -> String {
    match via.port {
        Some(p) => format!("{}:{p}", via.host.to_ascii_lowercase()),
        None => via.host.to_ascii_lowercase(),
    }
}

/// What the transaction layer reports to the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxEvent {
    /// A response for a client transaction (retransmissions of final
    /// non-2xx responses are absorbed; 2xx to INVITE always pass, §17.1.1.2).
    Response(ClientKey, Response),
    /// No final response before timer B or F (reported as 408, §8.1.3.1).
    Timeout(ClientKey),
    /// An INVITE server transaction's final non-2xx response got no ACK
    /// before timer H (§17.2.1).
    NoAck(ServerKey),
}

/// What became of an incoming request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A new request: a server transaction was created (INVITE: 100 Trying sent).
    New(ServerKey),
    /// A retransmission, answered from the transaction.
    Retransmission,
    /// The ACK to a non-2xx final response, absorbed by its transaction.
    AckAbsorbed,
    /// An ACK matching no transaction: the ACK for a 2xx, for the dialog (§13.3.1.4).
    AckForDialog,
    /// Not usable (no branch): drop.
    Unusable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// INVITE client before any response.
    Calling,
    /// Non-INVITE client or server before any response.
    Trying,
    Proceeding,
    Completed,
    /// INVITE server after ACK.
    Confirmed,
    /// INVITE after a 2xx (RFC 6026).
    Accepted,
}

#[derive(Debug)]
struct Client {
    state: State,
    request: Vec<u8>,
    ack: Option<Vec<u8>>,
    to: SocketAddr,
    transport: Transport,
    /// Timer A/E: next retransmission and the interval after it.
    retransmit: Option<(Instant, Duration)>,
    /// Timer B/F: give up.
    timeout: Option<Instant>,
    /// Timer D/K/M: forget the transaction.
    end: Option<Instant>,
    /// The request, for building the ACK.
    original: Request,
}

#[derive(Debug)]
struct Server {
    state: State,
    last_response: Option<Vec<u8>>,
    to: SocketAddr,
    transport: Transport,
    /// Timer G: next response retransmission and the interval after it.
    retransmit: Option<(Instant, Duration)>,
    /// Timer H: give up waiting for ACK.
    timeout: Option<Instant>,
    /// Timer I/J/L: forget the transaction.
    end: Option<Instant>,
}

/// All client and server transactions of one user agent.
#[derive(Debug, Default)]
pub struct Transactions {
    timers: TimerConfig,
    clients: HashMap<ClientKey, Client>,
    servers: HashMap<ServerKey, Server>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TxEvent>,
}

impl Transactions {
    /// An empty layer with the given timer values.
    pub fn new(timers: TimerConfig) -> Self {
        Transactions {
            timers,
            ..Default::default()
        }
    }

    /// The timer values.
    pub fn timers(&self) -> TimerConfig {
        self.timers
    }

    /// Starts a client transaction for `req` (not ACK, which has none):
    /// sends it and arms timers A/B or E/F.
    pub fn send_request(
        &mut self,
        req: Request,
        to: SocketAddr,
        transport: Transport,
        now: Instant,
    ) -> Option<ClientKey> {
        let branch = req.top_via()?.branch()?.to_owned();
        let key = ClientKey {
            branch,
            method: req.method.clone(),
        };
        let bytes = req.to_bytes();
        self.transmit(bytes.clone(), to, transport);
        let t1 = self.timers.t1;
        let client = Client {
            state: if req.method == Method::Invite {
                State::Calling
            } else {
                State::Trying
            },
            request: bytes,
            ack: None,
            to,
            transport,
            retransmit: (!transport.reliable()).then(|| (now + t1, t1 * 2)),
            timeout: Some(now + self.timers.t1x64()),
            end: None,
            original: req,
        };
        self.clients.insert(key.clone(), client);
        Some(key)
    }

    /// Sends a message outside any transaction (the ACK for a 2xx, a 2xx
    /// retransmission by the core).
    pub fn send_stateless(&mut self, bytes: Vec<u8>, to: SocketAddr, transport: Transport) {
        self.transmit(bytes, to, transport);
    }

    /// Feeds an incoming response; what the core must see comes out of
    /// [`Transactions::poll_event`].
    pub fn handle_response(&mut self, resp: Response, now: Instant) {
        let Some(key) = resp.top_via().and_then(|v| {
            Some(ClientKey {
                branch: v.branch()?.to_owned(),
                method: resp.cseq()?.method,
            })
        }) else {
            tracing::debug!("response without branch or CSeq dropped");
            return;
        };
        let timers = self.timers;
        let Some(tx) = self.clients.get_mut(&key) else {
            if (200..300).contains(&resp.status) && key.method == Method::Invite {
                // A 2xx retransmission after the transaction ended: the dialog re-ACKs.
                self.events.push_back(TxEvent::Response(key, resp));
            }
            return;
        };
        let invite = key.method == Method::Invite;
        let status = resp.status;
        match (tx.state, status) {
            (State::Calling | State::Trying | State::Proceeding, 100..=199) => {
                tx.state = State::Proceeding;
                if invite {
                    tx.retransmit = None;
                } else if let Some((at, _)) = tx.retransmit {
                    tx.retransmit = Some((at, timers.t2));
                }
                self.events.push_back(TxEvent::Response(key, resp));
            }
            (State::Calling | State::Proceeding, 200..=299) if invite => {
                tx.state = State::Accepted;
                tx.retransmit = None;
                tx.timeout = None;
                tx.end = Some(now + timers.t1x64());
                self.events.push_back(TxEvent::Response(key, resp));
            }
            (State::Accepted, 200..=299) => {
                self.events.push_back(TxEvent::Response(key, resp));
            }
            (State::Calling | State::Proceeding, 300..) => {
                let ack = build_ack(&tx.original, &resp).to_bytes();
                let (to, transport) = (tx.to, tx.transport);
                tx.state = State::Completed;
                tx.retransmit = None;
                tx.timeout = None;
                tx.end = Some(if transport.reliable() {
                    now
                } else {
                    now + Duration::from_secs(32).max(timers.t1x64() / 2)
                });
                tx.ack = Some(ack.clone());
                self.transmit(ack, to, transport);
                self.events.push_back(TxEvent::Response(key, resp));
            }
            (State::Trying | State::Proceeding, 200..) => {
                tx.state = State::Completed;
                tx.retransmit = None;
                tx.timeout = None;
                tx.end = Some(if tx.transport.reliable() {
                    now
                } else {
                    now + timers.t4
                });
                self.events.push_back(TxEvent::Response(key, resp));
            }
            (State::Completed, 300..) if invite => {
                if let Some(ack) = tx.ack.clone() {
                    let (to, transport) = (tx.to, tx.transport);
                    self.transmit(ack, to, transport);
                }
            }
            _ => {}
        }
    }

    /// Feeds an incoming request from `from`; a new INVITE gets its
    /// 100 Trying here (§17.2.1).
    pub fn handle_request(
        &mut self,
        req: &Request,
        from: SocketAddr,
        transport: Transport,
        now: Instant,
    ) -> Incoming {
        let Some(key) = ServerKey::of(req) else {
            return Incoming::Unusable;
        };
        let timers = self.timers;
        if req.method == Method::Ack {
            let Some(tx) = self.servers.get_mut(&key) else {
                return Incoming::AckForDialog;
            };
            return match tx.state {
                State::Completed => {
                    tx.state = State::Confirmed;
                    tx.retransmit = None;
                    tx.timeout = None;
                    tx.end = Some(if tx.transport.reliable() {
                        now
                    } else {
                        now + timers.t4
                    });
                    Incoming::AckAbsorbed
                }
                State::Confirmed => Incoming::AckAbsorbed,
                _ => Incoming::AckForDialog,
            };
        }
        if let Some(tx) = self.servers.get(&key) {
            if let (Some(resp), State::Proceeding | State::Completed) =
                (tx.last_response.clone(), tx.state)
            {
                let (to, transport) = (tx.to, tx.transport);
                self.transmit(resp, to, transport);
            }
            return Incoming::Retransmission;
        }
        let mut tx = Server {
            state: State::Trying,
            last_response: None,
            to: from,
            transport,
            retransmit: None,
            timeout: None,
            end: None,
        };
        if req.method == Method::Invite {
            tx.state = State::Proceeding;
            let trying = response_to(req, 100, None).to_bytes();
            tx.last_response = Some(trying.clone());
            self.transmit(trying, from, transport);
        }
        self.servers.insert(key.clone(), tx);
        Incoming::New(key)
    }

    /// Whether an INVITE server transaction is still waiting for its final
    /// response (the only time a CANCEL has an effect, §9.2).
    pub fn is_invite_pending(&self, key: &ServerKey) -> bool {
        self.servers
            .get(key)
            .is_some_and(|tx| tx.state == State::Proceeding)
    }

    /// Whether a server transaction exists.
    pub fn has_server(&self, key: &ServerKey) -> bool {
        self.servers.contains_key(key)
    }

    /// Sends a response in server transaction `key`. Returns false when the
    /// transaction is gone or already answered finally.
    pub fn send_response(&mut self, key: &ServerKey, resp: &Response, now: Instant) -> bool {
        let timers = self.timers;
        let Some(tx) = self.servers.get_mut(key) else {
            return false;
        };
        if !matches!(tx.state, State::Trying | State::Proceeding) {
            return false;
        }
        let bytes = resp.to_bytes();
        let (to, transport) = (tx.to, tx.transport);
        let invite = key.method == Method::Invite;
        match resp.status {
            100..=199 => tx.state = State::Proceeding,
            200..=299 if invite => {
                tx.state = State::Accepted;
                tx.end = Some(now + timers.t1x64());
            }
            300.. if invite => {
                tx.state = State::Completed;
                if !transport.reliable() {
                    tx.retransmit = Some((now + timers.t1, (timers.t1 * 2).min(timers.t2)));
                }
                tx.timeout = Some(now + timers.t1x64());
            }
            _ => {
                tx.state = State::Completed;
                tx.end = Some(if transport.reliable() {
                    now
                } else {
                    now + timers.t1x64()
                });
            }
        }
        tx.last_response = Some(bytes.clone());
        self.transmit(bytes, to, transport);
        true
    }

    /// Where responses of server transaction `key` go.
    pub fn server_peer(&self, key: &ServerKey) -> Option<(SocketAddr, Transport)> {
        self.servers.get(key).map(|tx| (tx.to, tx.transport))
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let t2 = self.timers.t2;
        let mut out = Vec::new();
        let mut gone = Vec::new();
        for (key, tx) in &mut self.clients {
            if tx.end.is_some_and(|t| t <= now) {
                gone.push(key.clone());
                continue;
            }
            if tx.timeout.is_some_and(|t| t <= now) {
                self.events.push_back(TxEvent::Timeout(key.clone()));
                gone.push(key.clone());
                continue;
            }
            if let Some((at, interval)) = tx.retransmit
                && at <= now
            {
                out.push((tx.request.clone(), tx.to, tx.transport));
                let next = if key.method == Method::Invite {
                    interval * 2
                } else {
                    (interval * 2).min(t2)
                };
                let interval = if key.method == Method::Invite || tx.state == State::Trying {
                    interval
                } else {
                    t2
                };
                tx.retransmit = Some((now + interval, next));
            }
        }
        for key in gone.drain(..) {
            self.clients.remove(&key);
        }
        let mut gone_servers = Vec::new();
        for (key, tx) in &mut self.servers {
            if tx.end.is_some_and(|t| t <= now) {
                gone_servers.push(key.clone());
                continue;
            }
            if tx.timeout.is_some_and(|t| t <= now) {
                self.events.push_back(TxEvent::NoAck(key.clone()));
                gone_servers.push(key.clone());
                continue;
            }
            if let Some((at, interval)) = tx.retransmit
                && at <= now
            {
                if let Some(resp) = &tx.last_response {
                    out.push((resp.clone(), tx.to, tx.transport));
                }
                tx.retransmit = Some((now + interval, (interval * 2).min(t2)));
            }
        }
        for key in gone_servers {
            self.servers.remove(&key);
        }
        for (bytes, to, transport) in out {
            self.transmit(bytes, to, transport);
        }
    }

    /// The earliest timer deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let clients = self.clients.values().flat_map(|tx| {
            [tx.retransmit.map(|(t, _)| t), tx.timeout, tx.end]
                .into_iter()
                .flatten()
        });
        let servers = self.servers.values().flat_map(|tx| {
            [tx.retransmit.map(|(t, _)| t), tx.timeout, tx.end]
                .into_iter()
                .flatten()
        });
        clients.chain(servers).min()
    }

    /// The next datagram or stream write.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the core.
    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }

    /// Number of live transactions (client, server).
    pub fn len(&self) -> (usize, usize) {
        (self.clients.len(), self.servers.len())
    }

    fn transmit(&mut self, bytes: Vec<u8>, to: SocketAddr, transport: Transport) {
        self.transmits.push_back(Transmit {
            bytes,
            to,
            transport,
        });
    }
}

/// A response to `req` (§8.2.6): Via, From, To (with `to_tag` added when
/// the request's To has none), Call-ID and CSeq copied; Content-Length 0.
pub fn response_to(req: &Request, status: u16, to_tag: Option<&str>) -> Response {
    let mut resp = Response::new(status, super::message::reason_phrase(status));
    for h in req.headers.iter() {
        if h.is("Via") || h.is("From") || h.is("Call-ID") || h.is("CSeq") {
            resp.headers.push(h.name.clone(), h.value.clone());
        } else if h.is("To") {
            let value = match (to_tag, req.header_to()) {
                (Some(tag), Some(to)) if to.tag().is_none() && status > 100 => {
                    format!("{};tag={tag}", h.value)
                }
                _ => h.value.clone(),
            };
            resp.headers.push(h.name.clone(), value);
        }
    }
    resp.headers.push("Content-Length", "0");
    resp
}

/// The ACK for a non-2xx final response (§17.1.1.3): same Request-URI,
/// Call-ID, From, CSeq number and top Via as the INVITE, To from the response.
pub fn build_ack(invite: &Request, resp: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    if let Some(via) = invite.headers.first("Via") {
        ack.headers.push("Via", via);
    }
    for h in invite.headers.iter() {
        if h.is("Route") {
            ack.headers.push("Route", h.value.clone());
        }
    }
    ack.headers.push("Max-Forwards", "70");
    if let Some(from) = invite.headers.first("From") {
        ack.headers.push("From", from);
    }
    if let Some(to) = resp.headers.first("To") {
        ack.headers.push("To", to);
    }
    if let Some(id) = invite.call_id() {
        ack.headers.push("Call-ID", id);
    }
    if let Some(cseq) = invite.cseq() {
        ack.headers.push("CSeq", format!("{} ACK", cseq.seq));
    }
    ack.headers.push("Content-Length", "0");
    ack
}

#[cfg(test)]
mod tests;
