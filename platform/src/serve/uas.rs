//! The SIP user-agent server `vxp serve` answers calls with (RFC 3261 §8.2,
//! §12, §13.3, §15, §17.2), as a core without I/O: datagrams in with
//! [`Uas::handle_datagram`], datagrams out with [`Uas::poll_transmit`], call
//! events out with [`Uas::poll_event`], retransmission timers through
//! [`Uas::poll_timeout`]/[`Uas::handle_timeout`].
//!
//! It covers what an inbound IVR call needs over UDP: INVITE (100 Trying,
//! 2xx retransmitted until ACK, retransmitted INVITEs absorbed, re-INVITE
//! answered with the same SDP), ACK, CANCEL (200 + 487), BYE both ways
//! (ours retransmitted until answered), OPTIONS, INFO (RFC 6086; DTMF bodies
//! `application/dtmf-relay` and `application/dtmf` decoded), 400 for requests
//! missing mandatory headers, 481 outside a dialog, 405 for other methods.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// RFC 3261 T1.
const T1: Duration = Duration::from_millis(500);
/// RFC 3261 T2.
const T2: Duration = Duration::from_secs(4);
/// Timer B/F/H: 64·T1.
const GIVE_UP: Duration = Duration::from_secs(32);

/// A parsed SIP message (RFC 3261 §7): start line, headers in order with
/// compact names expanded, body.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `INVITE sip:x SIP/2.0` parts, or `None` for a response.
    pub request: Option<(String, String)>,
    /// Status code of a response.
    pub status: Option<u16>,
    /// Headers in order (full names).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// Why a datagram is not a SIP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// No blank line ends the headers, or the text is not UTF-8.
    #[error("no header section")]
    NoHeaders,
    /// The first line is neither a request line nor a status line.
    #[error("bad start line")]
    StartLine,
}

fn full_name(name: &str) -> String {
    let full = match name.to_ascii_lowercase().as_str() {
        "i" => "Call-ID",
        "m" => "Contact",
        "l" => "Content-Length",
        "c" => "Content-Type",
        "f" => "From",
        "t" => "To",
        "v" => "Via",
        "k" => "Supported",
        "s" => "Subject",
        "e" => "Content-Encoding",
        _ => return name.to_owned(),
    };
    full.to_owned()
}

impl Message {
    /// Parses one datagram. Folded header lines are unfolded; a comma-joined
    /// Via is split into one header per value.
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        let split = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| (p, p + 4))
            .or_else(|| bytes.windows(2).position(|w| w == b"\n\n").map(|p| (p, p + 2)))
            .ok_or(ParseError::NoHeaders)?;
        let head = std::str::from_utf8(&bytes[..split.0]).map_err(|_| ParseError::NoHeaders)?;
        let mut lines: Vec<String> = Vec::new();
        for line in head.split('\n').map(|l| l.trim_end_matches('\r')) {
            if line.starts_with([' ', '\t']) {
                if let Some(last) = lines.last_mut() {
                    last.push(' ');
                    last.push_str(line.trim());
                    continue;
                }
            }
            lines.push(line.to_owned());
        }
        let mut it = lines.into_iter();
        let start = it.next().ok_or(ParseError::StartLine)?;
        let parts: Vec<&str> = start.splitn(3, ' ').collect();
        let (request, status) = match parts.as_slice() {
            ["SIP/2.0", code, _] | ["SIP/2.0", code] => {
                (None, Some(code.parse::<u16>().map_err(|_| ParseError::StartLine)?))
            }
            [method, uri, "SIP/2.0"] if !method.is_empty() && !uri.is_empty() => {
                (Some(((*method).to_owned(), (*uri).to_owned())), None)
            }
            _ => return Err(ParseError::StartLine),
        };
        let mut headers = Vec::new();
        for line in it {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = full_name(name.trim());
            if name.eq_ignore_ascii_case("Via") {
                for v in value.split(',') {
                    headers.push((name.clone(), v.trim().to_owned()));
                }
            } else {
                headers.push((name, value.trim().to_owned()));
            }
        }
        let mut body = bytes[split.1..].to_vec();
        let declared = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
            .and_then(|(_, v)| v.parse::<usize>().ok());
        if let Some(len) = declared {
            body.truncate(len);
        }
        Ok(Message {
            request,
            status,
            headers,
            body,
        })
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of header `name`.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn method(&self) -> Option<&str> {
        self.request.as_ref().map(|(m, _)| m.as_str())
    }

    fn cseq(&self) -> Option<(u32, String)> {
        let v = self.header("CSeq")?;
        let (n, m) = v.split_once(' ')?;
        Some((n.trim().parse().ok()?, m.trim().to_owned()))
    }

    fn branch(&self) -> Option<String> {
        param(self.header("Via")?, "branch")
    }
}

/// A `;name=value` parameter of a header value.
fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (n, v) = p.split_once('=').unwrap_or((p, ""));
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

/// The URI inside a name-addr (`"A" <sip:a@h>;tag=1` → `sip:a@h`).
pub fn addr_uri(value: &str) -> &str {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value.split(';').next().unwrap_or(value).trim(),
    }
}

/// A DTMF key from an INFO body (`Signal=5` or a bare key).
pub fn info_digit(content_type: &str, body: &str) -> Option<char> {
    let ct = content_type.to_ascii_lowercase();
    let key = if ct.starts_with("application/dtmf-relay") {
        body.lines().find_map(|l| {
            let (n, v) = l.split_once('=')?;
            n.trim().eq_ignore_ascii_case("signal").then(|| v.trim().to_owned())
        })?
    } else if ct.starts_with("application/dtmf") {
        body.trim().to_owned()
    } else {
        return None;
    };
    let mut chars = key.chars();
    let c = chars.next()?.to_ascii_uppercase();
    let c = match (c, key.trim()) {
        (_, "10") => '*',
        (_, "11") => '#',
        (c, _) if chars.next().is_none() && "0123456789*#ABCD".contains(c) => c,
        _ => return None,
    };
    Some(c)
}

/// Identifies a call (dialog) in the [`Uas`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId(pub u64);

/// What the UAS reports.
#[derive(Debug, Clone, PartialEq)]
pub enum UasEvent {
    /// A new INVITE: answer with [`Uas::answer`] or [`Uas::reject`].
    IncomingCall {
        /// The call.
        id: DialogId,
        /// The Request-URI.
        request_uri: String,
        /// From header value.
        from: String,
        /// To header value.
        to: String,
        /// Every header, in order.
        headers: Vec<(String, String)>,
        /// The SDP offer.
        sdp: String,
        /// Where the INVITE came from.
        source: SocketAddr,
    },
    /// The caller cancelled before the answer.
    Cancelled(DialogId),
    /// The caller hung up (BYE), or our 2xx was never acknowledged.
    Ended(DialogId),
    /// An INFO with a DTMF key.
    Dtmf(DialogId, char),
    /// An INFO with another body (for `<gvp:receive>`).
    Info {
        /// The call.
        id: DialogId,
        /// Its Content-Type.
        content_type: String,
        /// Its body.
        body: String,
    },
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The destination.
    pub to: SocketAddr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// INVITE received, not answered.
    Proceeding,
    /// 2xx sent, waiting for ACK.
    Answered,
    /// ACK received.
    Confirmed,
    /// Our BYE is out.
    Closing,
}

#[derive(Debug)]
struct Dialog {
    state: State,
    peer: SocketAddr,
    invite: Message,
    local_tag: String,
    /// The last final response to the INVITE, resent on retransmissions.
    final_response: Option<Vec<u8>>,
    retransmit_at: Option<Instant>,
    interval: Duration,
    give_up_at: Option<Instant>,
    local_cseq: u32,
    /// Our BYE, resent until answered.
    bye: Option<Vec<u8>>,
}

/// The user-agent server core.
#[derive(Debug)]
pub struct Uas {
    local: SocketAddr,
    next_id: u64,
    dialogs: HashMap<DialogId, Dialog>,
    by_call_id: HashMap<String, DialogId>,
    transmit: VecDeque<Transmit>,
    events: VecDeque<UasEvent>,
    branch_seq: u64,
}

impl Uas {
    /// A UAS listening on `local` (used in Via and Contact).
    pub fn new(local: SocketAddr) -> Self {
        Self {
            local,
            next_id: 1,
            dialogs: HashMap::new(),
            by_call_id: HashMap::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            branch_seq: 0,
        }
    }

    /// Calls in progress.
    pub fn calls(&self) -> usize {
        self.dialogs.len()
    }

    /// A datagram arrived.
    pub fn handle_datagram(&mut self, bytes: &[u8], from: SocketAddr, now: Instant) {
        if bytes.iter().all(|b| b.is_ascii_whitespace()) {
            return; // keep-alive (RFC 5626 §4.4.1)
        }
        let msg = match Message::parse(bytes) {
            Ok(m) => m,
            Err(err) => {
                tracing::debug!(%from, error = %err, "unparseable SIP datagram dropped");
                return;
            }
        };
        match msg.method() {
            Some(_) => self.handle_request(msg, from, now),
            None => self.handle_response(&msg),
        }
    }

    fn handle_request(&mut self, msg: Message, from: SocketAddr, now: Instant) {
        let Some(method) = msg.method().map(str::to_ascii_uppercase) else {
            return;
        };
        let (Some(call_id), Some((_, cseq_method)), Some(_), Some(_), Some(_)) = (
            msg.header("Call-ID").map(str::to_owned),
            msg.cseq(),
            msg.header("Via"),
            msg.header("From"),
            msg.header("To"),
        ) else {
            if method != "ACK" && msg.header("Via").is_some() {
                self.respond(&msg, from, 400, "Bad Request", None, None);
            }
            return;
        };
        if !cseq_method.eq_ignore_ascii_case(&method) {
            self.respond(&msg, from, 400, "CSeq Method Mismatch", None, None);
            return;
        }
        let existing = self.by_call_id.get(&call_id).copied();
        match (method.as_str(), existing) {
            ("INVITE", None) => {
                if msg.header("To").and_then(|t| param(t, "tag")).is_some() {
                    self.respond(&msg, from, 481, "Call/Transaction Does Not Exist", None, None);
                    return;
                }
                let id = DialogId(self.next_id);
                self.next_id += 1;
                let local_tag = format!("vxp{:x}", id.0.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16);
                self.respond(&msg, from, 100, "Trying", None, None);
                let sdp = String::from_utf8_lossy(&msg.body).into_owned();
                self.events.push_back(UasEvent::IncomingCall {
                    id,
                    request_uri: msg.request.as_ref().map(|(_, u)| u.clone()).unwrap_or_default(),
                    from: msg.header("From").unwrap_or_default().to_owned(),
                    to: msg.header("To").unwrap_or_default().to_owned(),
                    headers: msg.headers.clone(),
                    sdp,
                    source: from,
                });
                self.by_call_id.insert(call_id, id);
                self.dialogs.insert(
                    id,
                    Dialog {
                        state: State::Proceeding,
                        peer: from,
                        invite: msg,
                        local_tag,
                        final_response: None,
                        retransmit_at: None,
                        interval: T1,
                        give_up_at: None,
                        local_cseq: 0,
                        bye: None,
                    },
                );
            }
            ("INVITE", Some(id)) => {
                let Some(d) = self.dialogs.get(&id) else { return };
                if d.invite.branch() == msg.branch() && d.invite.cseq() == msg.cseq() {
                    // A retransmission: resend what we last answered.
                    if let Some(resp) = d.final_response.clone() {
                        self.transmit.push_back(Transmit { bytes: resp, to: from });
                    } else {
                        self.respond(&msg, from, 100, "Trying", None, None);
                    }
                    return;
                }
                // A re-INVITE (hold, resume, media change): we keep our media
                // as it is and answer with our SDP again.
                let sdp = d
                    .final_response
                    .as_deref()
                    .and_then(|r| Message::parse(r).ok())
                    .map(|m| m.body);
                let tag = d.local_tag.clone();
                self.respond(&msg, from, 200, "OK", Some(&tag), sdp.as_deref());
            }
            ("ACK", Some(id)) => {
                if let Some(d) = self.dialogs.get_mut(&id) {
                    if d.state == State::Answered {
                        d.state = State::Confirmed;
                    }
                    d.retransmit_at = None;
                    d.give_up_at = None;
                    if d.final_response.as_deref().and_then(|r| Message::parse(r).ok()).and_then(|m| m.status).is_some_and(|s| s >= 300) {
                        self.remove(id);
                    }
                }
            }
            ("ACK", None) => {}
            ("CANCEL", Some(id)) => {
                self.respond(&msg, from, 200, "OK", None, None);
                if let Some(d) = self.dialogs.get(&id) {
                    if d.state == State::Proceeding {
                        let invite = d.invite.clone();
                        let tag = d.local_tag.clone();
                        self.final_response(id, &invite, 487, "Request Terminated", &tag, None, now);
                        self.events.push_back(UasEvent::Cancelled(id));
                    }
                }
            }
            ("BYE", Some(id)) => {
                let tag = self.dialogs.get(&id).map(|d| d.local_tag.clone());
                self.respond(&msg, from, 200, "OK", tag.as_deref(), None);
                self.events.push_back(UasEvent::Ended(id));
                self.remove(id);
            }
            ("INFO", Some(id)) => {
                let tag = self.dialogs.get(&id).map(|d| d.local_tag.clone());
                self.respond(&msg, from, 200, "OK", tag.as_deref(), None);
                let content_type = msg.header("Content-Type").unwrap_or_default().to_owned();
                let body = String::from_utf8_lossy(&msg.body).into_owned();
                match info_digit(&content_type, &body) {
                    Some(d) => self.events.push_back(UasEvent::Dtmf(id, d)),
                    None => self.events.push_back(UasEvent::Info {
                        id,
                        content_type,
                        body,
                    }),
                }
            }
            ("OPTIONS", _) => {
                self.respond(&msg, from, 200, "OK", None, None);
            }
            ("UPDATE", Some(id)) => {
                let tag = self.dialogs.get(&id).map(|d| d.local_tag.clone());
                self.respond(&msg, from, 200, "OK", tag.as_deref(), None);
            }
            ("BYE" | "CANCEL" | "INFO" | "UPDATE" | "NOTIFY", None) => {
                self.respond(&msg, from, 481, "Call/Transaction Does Not Exist", None, None);
            }
            _ => self.respond(&msg, from, 405, "Method Not Allowed", None, None),
        }
    }

    fn handle_response(&mut self, msg: &Message) {
        let Some(call_id) = msg.header("Call-ID") else { return };
        let Some(&id) = self.by_call_id.get(call_id) else { return };
        let is_bye = msg.cseq().is_some_and(|(_, m)| m.eq_ignore_ascii_case("BYE"));
        if is_bye && msg.status.is_some_and(|s| s >= 200) {
            self.remove(id);
        }
    }

    fn remove(&mut self, id: DialogId) {
        if let Some(d) = self.dialogs.remove(&id) {
            if let Some(call_id) = d.invite.header("Call-ID") {
                self.by_call_id.remove(call_id);
            }
        }
    }

    /// Answers call `id` with 200 OK carrying `sdp`.
    pub fn answer(&mut self, id: DialogId, sdp: &str, now: Instant) {
        let Some(d) = self.dialogs.get(&id) else { return };
        if d.state != State::Proceeding {
            return;
        }
        let invite = d.invite.clone();
        let tag = d.local_tag.clone();
        self.final_response(id, &invite, 200, "OK", &tag, Some(sdp.as_bytes()), now);
        if let Some(d) = self.dialogs.get_mut(&id) {
            d.state = State::Answered;
        }
    }

    /// Refuses call `id` with a final status.
    pub fn reject(&mut self, id: DialogId, code: u16, reason: &str, now: Instant) {
        let Some(d) = self.dialogs.get(&id) else { return };
        if d.state != State::Proceeding {
            return;
        }
        let invite = d.invite.clone();
        let tag = d.local_tag.clone();
        self.final_response(id, &invite, code, reason, &tag, None, now);
    }

    /// Ends call `id`: BYE once answered, 480 before.
    pub fn hangup(&mut self, id: DialogId, now: Instant) {
        let Some(state) = self.dialogs.get(&id).map(|d| d.state) else {
            return;
        };
        if state == State::Proceeding {
            self.reject(id, 480, "Temporarily Unavailable", now);
            return;
        }
        let Some(d) = self.dialogs.get_mut(&id) else { return };
        match d.state {
            State::Proceeding | State::Closing => {}
            State::Answered | State::Confirmed => {
                d.state = State::Closing;
                d.local_cseq += 1;
                self.branch_seq += 1;
                let branch = format!("z9hG4bKvxpbye{}x{}", id.0, self.branch_seq);
                let invite = &d.invite;
                let remote_target = invite.header("Contact").map(addr_uri).unwrap_or_else(|| {
                    invite.request.as_ref().map(|(_, u)| u.as_str()).unwrap_or("")
                });
                let to_ours = format!(
                    "{};tag={}",
                    invite.header("To").unwrap_or_default(),
                    d.local_tag
                );
                let mut text = format!("BYE {remote_target} SIP/2.0\r\n");
                text.push_str(&format!(
                    "Via: SIP/2.0/UDP {};branch={branch};rport\r\n",
                    self.local
                ));
                text.push_str("Max-Forwards: 70\r\n");
                text.push_str(&format!("From: {to_ours}\r\n"));
                text.push_str(&format!("To: {}\r\n", invite.header("From").unwrap_or_default()));
                text.push_str(&format!("Call-ID: {}\r\n", invite.header("Call-ID").unwrap_or_default()));
                text.push_str(&format!("CSeq: {} BYE\r\n", d.local_cseq));
                text.push_str("User-Agent: vxp\r\nContent-Length: 0\r\n\r\n");
                let bytes = text.into_bytes();
                d.bye = Some(bytes.clone());
                d.retransmit_at = Some(now + T1);
                d.interval = T1;
                d.give_up_at = Some(now + GIVE_UP);
                let peer = d.peer;
                self.transmit.push_back(Transmit { bytes, to: peer });
            }
        }
    }

    #[allow(clippy::too_many_arguments, reason = "one response's parts")]
    fn final_response(
        &mut self,
        id: DialogId,
        invite: &Message,
        code: u16,
        reason: &str,
        tag: &str,
        body: Option<&[u8]>,
        now: Instant,
    ) {
        let bytes = self.build_response(invite, code, reason, Some(tag), body);
        let Some(d) = self.dialogs.get_mut(&id) else { return };
        d.final_response = Some(bytes.clone());
        d.retransmit_at = Some(now + T1);
        d.interval = T1;
        d.give_up_at = Some(now + GIVE_UP);
        let peer = d.peer;
        self.transmit.push_back(Transmit { bytes, to: peer });
    }

    fn respond(
        &mut self,
        req: &Message,
        to: SocketAddr,
        code: u16,
        reason: &str,
        tag: Option<&str>,
        body: Option<&[u8]>,
    ) {
        let bytes = self.build_response(req, code, reason, tag, body);
        self.transmit.push_back(Transmit { bytes, to });
    }

    fn build_response(
        &self,
        req: &Message,
        code: u16,
        reason: &str,
        tag: Option<&str>,
        body: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut text = format!("SIP/2.0 {code} {reason}\r\n");
        for via in req.headers_named("Via") {
            text.push_str(&format!("Via: {via}\r\n"));
        }
        for rr in req.headers_named("Record-Route") {
            text.push_str(&format!("Record-Route: {rr}\r\n"));
        }
        for name in ["From", "Call-ID", "CSeq"] {
            if let Some(v) = req.header(name) {
                text.push_str(&format!("{name}: {v}\r\n"));
            }
        }
        let to = req.header("To").unwrap_or_default();
        match tag {
            Some(tag) if code > 100 && param(to, "tag").is_none() => {
                text.push_str(&format!("To: {to};tag={tag}\r\n"));
            }
            _ => text.push_str(&format!("To: {to}\r\n")),
        }
        if code >= 200 && code < 300 {
            text.push_str(&format!("Contact: <sip:vxp@{}>\r\n", self.local));
        }
        text.push_str("Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE\r\n");
        text.push_str("Server: vxp\r\n");
        match body {
            Some(b) if !b.is_empty() => {
                text.push_str("Content-Type: application/sdp\r\n");
                text.push_str(&format!("Content-Length: {}\r\n\r\n", b.len()));
                let mut bytes = text.into_bytes();
                bytes.extend_from_slice(b);
                bytes
            }
            _ => {
                text.push_str("Content-Length: 0\r\n\r\n");
                text.into_bytes()
            }
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<UasEvent> {
        self.events.pop_front()
    }

    /// When [`Uas::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.dialogs
            .values()
            .flat_map(|d| [d.retransmit_at, d.give_up_at])
            .flatten()
            .min()
    }

    /// Retransmits responses not acknowledged and BYEs not answered (timers
    /// G and E, doubling up to T2), gives up after 64·T1 (timers H and F).
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut gone = Vec::new();
        for (&id, d) in &mut self.dialogs {
            if d.give_up_at.is_some_and(|t| t <= now) {
                gone.push(id);
                continue;
            }
            if let Some(at) = d.retransmit_at.filter(|&t| t <= now) {
                let resend = match d.state {
                    State::Closing => d.bye.clone(),
                    State::Answered | State::Proceeding => d.final_response.clone(),
                    State::Confirmed => None,
                };
                match resend {
                    Some(bytes) => {
                        self.transmit.push_back(Transmit { bytes, to: d.peer });
                        d.interval = (d.interval * 2).min(T2);
                        d.retransmit_at = Some(at + d.interval);
                    }
                    None => d.retransmit_at = None,
                }
            }
        }
        for id in gone {
            let state = self.dialogs.get(&id).map(|d| d.state);
            if state == Some(State::Answered) {
                tracing::info!(dialog = id.0, "2xx never acknowledged: call ended");
                self.events.push_back(UasEvent::Ended(id));
            }
            if state == Some(State::Confirmed) {
                if let Some(d) = self.dialogs.get_mut(&id) {
                    d.give_up_at = None;
                }
                continue;
            }
            self.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:hello@127.0.0.1:5060;voicexml=http://x/a.vxml SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
f: \"Alice\" <sip:alice@127.0.0.1:5070>;tag=a1\r\n\
To: <sip:hello@127.0.0.1:5060>\r\n\
i: call-1@x\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:alice@127.0.0.1:5070>\r\n\
X-Custom: kept\r\n folded\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\r\nv=0\r\n";

    fn peer() -> SocketAddr {
        "127.0.0.1:5070".parse().expect("literal")
    }

    fn drain(uas: &mut Uas) -> Vec<String> {
        std::iter::from_fn(|| uas.poll_transmit())
            .map(|t| String::from_utf8_lossy(&t.bytes).into_owned())
            .collect()
    }

    fn start() -> (Uas, DialogId, Instant) {
        let now = Instant::now();
        let mut uas = Uas::new("127.0.0.1:5060".parse().expect("literal"));
        uas.handle_datagram(INVITE.as_bytes(), peer(), now);
        let Some(UasEvent::IncomingCall { id, headers, sdp, .. }) = uas.poll_event() else {
            panic!("no call")
        };
        assert_eq!(sdp, "v=0\r");
        assert!(headers.contains(&("X-Custom".into(), "kept folded".into())));
        let out = drain(&mut uas);
        assert!(out[0].starts_with("SIP/2.0 100 Trying"), "{out:?}");
        (uas, id, now)
    }

    #[test]
    fn an_answer_is_retransmitted_until_ack_and_a_retransmitted_invite_absorbed() {
        let (mut uas, id, now) = start();
        uas.answer(id, "v=0\r\n", now);
        let out = drain(&mut uas);
        assert!(out[0].starts_with("SIP/2.0 200 OK"), "{out:?}");
        assert!(out[0].contains("To: <sip:hello@127.0.0.1:5060>;tag=vxp"), "{}", out[0]);
        uas.handle_datagram(INVITE.as_bytes(), peer(), now);
        assert!(uas.poll_event().is_none(), "the retransmission is not a new call");
        assert!(drain(&mut uas)[0].starts_with("SIP/2.0 200 OK"));
        uas.handle_timeout(now + T1);
        assert_eq!(drain(&mut uas).len(), 1, "timer G resends the 2xx");
        let ack = INVITE.replace("INVITE sip", "ACK sip").replace("1 INVITE", "1 ACK");
        uas.handle_datagram(ack.as_bytes(), peer(), now + T1);
        uas.handle_timeout(now + T1 * 4);
        assert!(drain(&mut uas).is_empty(), "no resend after ACK");
        let bye = INVITE.replace("INVITE sip", "BYE sip").replace("1 INVITE", "2 BYE");
        uas.handle_datagram(bye.as_bytes(), peer(), now + T1 * 5);
        assert_eq!(uas.poll_event(), Some(UasEvent::Ended(id)));
        assert!(drain(&mut uas)[0].starts_with("SIP/2.0 200 OK"));
        assert_eq!(uas.calls(), 0);
    }

    #[test]
    fn cancel_before_answer_gives_487_and_our_bye_is_resent_until_answered() {
        let (mut uas, id, now) = start();
        let cancel = INVITE.replace("INVITE sip", "CANCEL sip").replace("1 INVITE", "1 CANCEL");
        uas.handle_datagram(cancel.as_bytes(), peer(), now);
        assert_eq!(uas.poll_event(), Some(UasEvent::Cancelled(id)));
        let out = drain(&mut uas);
        assert!(out[0].starts_with("SIP/2.0 200 OK") && out[0].contains("CSeq: 1 CANCEL"));
        assert!(out[1].starts_with("SIP/2.0 487"), "{out:?}");

        let (mut uas, id, now) = start();
        uas.answer(id, "v=0\r\n", now);
        uas.hangup(id, now);
        let out = drain(&mut uas);
        let bye = out.iter().find(|m| m.starts_with("BYE sip:alice@127.0.0.1:5070 SIP/2.0")).expect("BYE sent");
        assert!(bye.contains("To: \"Alice\" <sip:alice@127.0.0.1:5070>;tag=a1"), "{bye}");
        uas.handle_timeout(now + T1);
        assert!(drain(&mut uas)[0].starts_with("BYE "), "retransmitted");
        let ok = format!("SIP/2.0 200 OK\r\nCall-ID: call-1@x\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n");
        uas.handle_datagram(ok.as_bytes(), peer(), now + T1);
        assert_eq!(uas.calls(), 0);
    }

    #[test]
    fn info_dtmf_options_and_bad_requests() {
        let (mut uas, id, now) = start();
        for (ct, body, key) in [
            ("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", '5'),
            ("application/dtmf", "#", '#'),
        ] {
            let info = INVITE
                .replace("INVITE sip", "INFO sip")
                .replace("1 INVITE", "3 INFO")
                .replace("application/sdp", ct)
                .replace("Content-Length: 4\r\n\r\nv=0\r\n", &format!("Content-Length: {}\r\n\r\n{body}", body.len()));
            uas.handle_datagram(info.as_bytes(), peer(), now);
            assert_eq!(uas.poll_event(), Some(UasEvent::Dtmf(id, key)));
        }
        drain(&mut uas);
        let options = "OPTIONS sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKo\r\nFrom: <sip:a@h>;tag=1\r\nTo: <sip:x@h>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\n\r\n";
        uas.handle_datagram(options.as_bytes(), peer(), now);
        assert!(drain(&mut uas)[0].starts_with("SIP/2.0 200 OK"));
        let bad = "INVITE sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKb\r\nTo: <sip:x@h>\r\n\r\n";
        uas.handle_datagram(bad.as_bytes(), peer(), now);
        assert!(drain(&mut uas)[0].starts_with("SIP/2.0 400"));
        let stray = options.replace("OPTIONS sip", "BYE sip").replace("1 OPTIONS", "1 BYE");
        uas.handle_datagram(stray.as_bytes(), peer(), now);
        assert!(drain(&mut uas)[0].starts_with("SIP/2.0 481"));
        uas.handle_datagram(b"\x00\xffgarbage", peer(), now);
        assert!(drain(&mut uas).is_empty());
    }
}
