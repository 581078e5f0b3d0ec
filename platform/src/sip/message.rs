//! SIP messages (RFC 3261 §7): parse bytes into a [`Request`] or
//! [`Response`] whose headers stay in order and verbatim, read the values the
//! stack needs through typed accessors, and print them back.
//!
//! Parsing normalizes exactly two things (RFC 3261 §7.3.1): folded header
//! lines are joined with one space, and comma-separated Via, Contact, Route
//! and Record-Route values become separate header fields. Everything else,
//! compact names (`v:`, `f:`, ...), unknown `X-` headers and parameter
//! spelling included, prints back as it arrived.
//!
//! Malformed input yields a [`ParseError`]; nothing here panics on input.

use std::fmt::Write as _;

use super::header::{CSeq, Method, Via, full_name, is_address_list, is_token_char};
use super::uri::{NameAddr, Uri, split_outside};

/// Largest message accepted (UDP datagrams and TCP frames alike).
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;
/// Most header fields accepted in one message.
const MAX_HEADERS: usize = 256;

/// Why bytes are not a well-formed SIP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The message is larger than [`MAX_MESSAGE_SIZE`].
    #[error("message larger than {MAX_MESSAGE_SIZE} bytes")]
    TooLarge,
    /// No empty line ends the header section.
    #[error("header section not terminated by an empty line")]
    Incomplete,
    /// The start line or header section is not UTF-8.
    #[error("header section is not UTF-8")]
    NotUtf8,
    /// The request or status line is malformed.
    #[error("malformed start line {0:?}")]
    StartLine(String),
    /// A header line has no colon or an invalid name.
    #[error("malformed header line {0:?}")]
    HeaderLine(String),
    /// More header fields than the stack accepts.
    #[error("too many header fields")]
    TooManyHeaders,
    /// A method token is malformed.
    #[error("malformed method {0:?}")]
    Method(String),
    /// A URI is malformed.
    #[error("malformed URI {0:?}")]
    Uri(String),
    /// A name-addr/addr-spec is malformed.
    #[error("malformed address {0:?}")]
    Address(String),
    /// A header the stack reads has a malformed value.
    #[error("malformed {name} header {value:?}")]
    Header {
        /// Header name.
        name: String,
        /// The offending value.
        value: String,
    },
    /// A header every request or response needs is missing (§8.1.1).
    #[error("missing mandatory {0} header")]
    Missing(&'static str),
    /// Content-Length is not a number.
    #[error("malformed Content-Length {0:?}")]
    ContentLength(String),
    /// Fewer body bytes than Content-Length announces.
    #[error("body shorter than Content-Length ({available} of {declared} bytes)")]
    BodyTruncated {
        /// Content-Length value.
        declared: usize,
        /// Bytes present.
        available: usize,
    },
}

/// One header field, name and value as received (folded lines joined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Name as received (`Via`, `v`, `X-Genesys-CallUUID`).
    pub name: String,
    /// Value without surrounding whitespace.
    pub value: String,
}

impl Header {
    /// A header field.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    /// Whether this field is `name` (case-insensitive, compact forms expanded).
    pub fn is(&self, name: &str) -> bool {
        full_name(&self.name).eq_ignore_ascii_case(full_name(name))
    }
}

/// Header fields in message order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// All fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first value of `name` (compact forms and case folded).
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|h| h.is(name)).map(|h| h.value.as_str())
    }

    /// The first value of `name`, mutable.
    pub fn first_mut(&mut self, name: &str) -> Option<&mut String> {
        self.0.iter_mut().find(|h| h.is(name)).map(|h| &mut h.value)
    }

    /// Every value of `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| h.is(name))
            .map(|h| h.value.as_str())
    }

    /// Appends a field.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push(Header::new(name, value));
    }

    /// Replaces every field of `name` by one field with `value` at the
    /// position of the first (appended when absent).
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self.0.iter().position(|h| h.is(name)) {
            Some(i) => {
                self.0[i].value = value;
                let mut n = 0;
                self.0.retain(|h| {
                    n += 1;
                    n - 1 == i || !h.is(name)
                });
            }
            None => self.push(name, value),
        }
    }

    /// Removes every field of `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|h| !h.is(name));
    }

    /// Inserts a field at the front (a new top Via).
    pub fn push_front(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(0, Header::new(name, value));
    }
}

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// Header fields in order.
    pub headers: Headers,
    /// The body (SDP, sipfrag, DTMF relay, ...).
    pub body: Vec<u8>,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code (100–699).
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Header fields in order.
    pub headers: Headers,
    /// The body.
    pub body: Vec<u8>,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

/// Typed access to the headers both requests and responses carry.
pub trait SipHeaders {
    /// The header fields.
    fn headers(&self) -> &Headers;
    /// The header fields, mutable.
    fn headers_mut(&mut self) -> &mut Headers;
    /// The body.
    fn body(&self) -> &[u8];

    /// Every Via, top first; a malformed one ends the list.
    fn vias(&self) -> Vec<Via> {
        self.headers()
            .all("Via")
            .map_while(|v| Via::parse(v).ok())
            .collect()
    }
    /// The top Via.
    fn top_via(&self) -> Option<Via> {
        self.headers().first("Via").and_then(|v| Via::parse(v).ok())
    }
    /// From.
    fn header_from(&self) -> Option<NameAddr> {
        self.headers()
            .first("From")
            .and_then(|v| NameAddr::parse(v).ok())
    }
    /// To.
    fn header_to(&self) -> Option<NameAddr> {
        self.headers()
            .first("To")
            .and_then(|v| NameAddr::parse(v).ok())
    }
    /// Call-ID.
    fn call_id(&self) -> Option<&str> {
        self.headers().first("Call-ID")
    }
    /// CSeq.
    fn cseq(&self) -> Option<CSeq> {
        self.headers()
            .first("CSeq")
            .and_then(|v| CSeq::parse(v).ok())
    }
    /// The first Contact.
    fn contact(&self) -> Option<NameAddr> {
        self.headers()
            .first("Contact")
            .and_then(|v| NameAddr::parse(v).ok())
    }
    /// Record-Route entries in order.
    fn record_route(&self) -> Vec<NameAddr> {
        self.headers()
            .all("Record-Route")
            .filter_map(|v| NameAddr::parse(v).ok())
            .collect()
    }
    /// Route entries in order.
    fn route(&self) -> Vec<NameAddr> {
        self.headers()
            .all("Route")
            .filter_map(|v| NameAddr::parse(v).ok())
            .collect()
    }
    /// Max-Forwards.
    fn max_forwards(&self) -> Option<u32> {
        self.headers()
            .first("Max-Forwards")
            .and_then(|v| v.trim().parse().ok())
    }
    /// Content-Type, lowercased, parameters dropped.
    fn content_type(&self) -> Option<String> {
        self.headers().first("Content-Type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }
    /// Sets the body with its Content-Type (none for an empty body) and Content-Length.
    fn set_body(&mut self, content_type: Option<&str>, body: Vec<u8>);
}

macro_rules! impl_sip_headers {
    ($t:ty) => {
        impl SipHeaders for $t {
            fn headers(&self) -> &Headers {
                &self.headers
            }
            fn headers_mut(&mut self) -> &mut Headers {
                &mut self.headers
            }
            fn body(&self) -> &[u8] {
                &self.body
            }
            fn set_body(&mut self, content_type: Option<&str>, body: Vec<u8>) {
                match content_type {
                    Some(ct) => self.headers.set("Content-Type", ct),
                    None => self.headers.remove("Content-Type"),
                }
                self.headers.set("Content-Length", body.len().to_string());
                self.body = body;
            }
        }
    };
}
impl_sip_headers!(Request);
impl_sip_headers!(Response);

impl Request {
    /// A request with no headers yet.
    pub fn new(method: Method, uri: Uri) -> Self {
        Request {
            method,
            uri,
            headers: Headers::default(),
            body: Vec::new(),
        }
    }

    /// Parses a request; a response is an error.
    pub fn parse(bytes: &[u8]) -> Result<Request, ParseError> {
        match Message::parse(bytes)? {
            Message::Request(r) => Ok(r),
            Message::Response(r) => Err(ParseError::StartLine(format!("SIP/2.0 {}", r.status))),
        }
    }

    /// The message bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(512 + self.body.len());
        let _ = write!(out, "{} {} SIP/2.0\r\n", self.method, self.uri);
        finish(out, &self.headers, &self.body)
    }
}

impl Response {
    /// A response with no headers yet.
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        Response {
            status,
            reason: reason.into(),
            headers: Headers::default(),
            body: Vec::new(),
        }
    }

    /// Parses a response; a request is an error.
    pub fn parse(bytes: &[u8]) -> Result<Response, ParseError> {
        match Message::parse(bytes)? {
            Message::Response(r) => Ok(r),
            Message::Request(r) => Err(ParseError::StartLine(format!("{} {}", r.method, r.uri))),
        }
    }

    /// The message bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::with_capacity(512 + self.body.len());
        let _ = write!(out, "SIP/2.0 {} {}\r\n", self.status, self.reason);
        finish(out, &self.headers, &self.body)
    }
}

fn finish(mut out: String, headers: &Headers, body: &[u8]) -> Vec<u8> {
    for h in headers.iter() {
        let _ = write!(out, "{}: {}\r\n", h.name, h.value);
    }
    if headers.first("Content-Length").is_none() {
        let _ = write!(out, "Content-Length: {}\r\n", body.len());
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// The standard reason phrase for a status code (RFC 3261 §21).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Moved Temporarily",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        504 => "Server Time-out",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Unknown",
    }
}

impl Message {
    /// Parses one message. Without Content-Length the body is the rest of
    /// the bytes (allowed over UDP, §18.3); bytes past Content-Length are
    /// ignored; a missing Via, From, To, Call-ID or CSeq, or one the stack
    /// cannot read, is an error.
    pub fn parse(bytes: &[u8]) -> Result<Message, ParseError> {
        if bytes.len() > MAX_MESSAGE_SIZE {
            return Err(ParseError::TooLarge);
        }
        // Keep-alive CRLFs may precede a message (RFC 5626 §3.5.1).
        let start = bytes
            .iter()
            .position(|b| *b != b'\r' && *b != b'\n')
            .unwrap_or(bytes.len());
        let bytes = &bytes[start..];
        let (head_len, body_start) = header_end(bytes).ok_or(ParseError::Incomplete)?;
        let head = std::str::from_utf8(&bytes[..head_len]).map_err(|_| ParseError::NotUtf8)?;
        let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let start_line = lines.next().unwrap_or("");
        let headers = parse_headers(lines)?;
        let rest = &bytes[body_start..];
        let body = match headers.first("Content-Length") {
            Some(cl) => {
                let declared: usize = cl
                    .trim()
                    .parse()
                    .map_err(|_| ParseError::ContentLength(cl.to_owned()))?;
                if declared > rest.len() {
                    return Err(ParseError::BodyTruncated {
                        declared,
                        available: rest.len(),
                    });
                }
                rest[..declared].to_vec()
            }
            None => rest.to_vec(),
        };
        let message = if let Some(status_line) = start_line.strip_prefix("SIP/2.0 ") {
            let (code, reason) = status_line.split_once(' ').unwrap_or((status_line, ""));
            let status: u16 = code
                .parse()
                .ok()
                .filter(|c| (100..700).contains(c))
                .ok_or_else(|| ParseError::StartLine(start_line.to_owned()))?;
            Message::Response(Response {
                status,
                reason: reason.to_owned(),
                headers,
                body,
            })
        } else {
            let mut parts = start_line.split(' ');
            let (method, uri, version) = (parts.next(), parts.next(), parts.next());
            let (Some(method), Some(uri), Some("SIP/2.0"), None) =
                (method, uri, version, parts.next())
            else {
                return Err(ParseError::StartLine(start_line.to_owned()));
            };
            Message::Request(Request {
                method: Method::parse(method)?,
                uri: Uri::parse(uri)?,
                headers,
                body,
            })
        };
        message.validate()?;
        Ok(message)
    }

    /// Checks the headers every message needs (§8.1.1) and that the stack reads.
    fn validate(&self) -> Result<(), ParseError> {
        let h = self.headers();
        let bad = |name: &str, value: &str| ParseError::Header {
            name: name.to_owned(),
            value: value.to_owned(),
        };
        let via = h.first("Via").ok_or(ParseError::Missing("Via"))?;
        Via::parse(via)?;
        for name in ["From", "To"] {
            let v = h.first(name).ok_or(ParseError::Missing(if name == "From" {
                "From"
            } else {
                "To"
            }))?;
            NameAddr::parse(v).map_err(|_| bad(name, v))?;
        }
        let call_id = h.first("Call-ID").ok_or(ParseError::Missing("Call-ID"))?;
        if call_id.is_empty() || call_id.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(bad("Call-ID", call_id));
        }
        let cseq = CSeq::parse(h.first("CSeq").ok_or(ParseError::Missing("CSeq"))?)?;
        if let Message::Request(r) = self
            && r.method != cseq.method
            && r.method != Method::Ack
            && r.method != Method::Cancel
        {
            return Err(bad("CSeq", &cseq.to_string()));
        }
        if let Some(mf) = h.first("Max-Forwards") {
            mf.trim()
                .parse::<u32>()
                .map_err(|_| bad("Max-Forwards", mf))?;
        }
        Ok(())
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The message bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

/// Position after the header section's last line and where the body starts.
pub(crate) fn header_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            match bytes.get(i + 1) {
                Some(b'\n') => return Some((i, i + 2)),
                Some(b'\r') if bytes.get(i + 2) == Some(&b'\n') => return Some((i, i + 3)),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

fn parse_headers<'a>(lines: impl Iterator<Item = &'a str>) -> Result<Headers, ParseError> {
    let mut raw: Vec<(&'a str, String)> = Vec::with_capacity(16);
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // A folded continuation line (§7.3.1): one space replaces the fold.
            let (_, value) = raw
                .last_mut()
                .ok_or_else(|| ParseError::HeaderLine(line.to_owned()))?;
            let cont = line.trim();
            if !cont.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(cont);
            }
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ParseError::HeaderLine(line.to_owned()))?;
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(is_token_char) {
            return Err(ParseError::HeaderLine(line.to_owned()));
        }
        raw.push((name, value.trim().to_owned()));
        if raw.len() > MAX_HEADERS {
            return Err(ParseError::TooManyHeaders);
        }
    }
    let mut headers = Vec::with_capacity(raw.len());
    for (name, value) in raw {
        if is_address_list(full_name(name)) && value.contains(',') {
            for part in split_outside(&value, b',') {
                let part = part.trim();
                if !part.is_empty() {
                    headers.push(Header::new(name, part));
                }
            }
        } else {
            headers.push(Header {
                name: name.to_owned(),
                value,
            });
        }
    }
    if headers.len() > MAX_HEADERS {
        return Err(ParseError::TooManyHeaders);
    }
    Ok(Headers(headers))
}

#[cfg(test)]
mod tests;
