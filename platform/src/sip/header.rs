//! Typed values of the headers the stack reads (RFC 3261 §20): Via (§20.42),
//! CSeq (§20.16), the method token (§7.1), and the compact header names
//! (§7.3.3, plus RFC 3515's `r:`/`b:` and RFC 6665's `o:`/`u:`).

use std::fmt;

use super::message::ParseError;
use super::uri::{Param, param, parse_params, split_host_port, write_params};

/// Expands a compact header name to its full form; other names pass through.
pub fn full_name(name: &str) -> &str {
    if name.len() != 1 {
        return name;
    }
    match name.as_bytes()[0].to_ascii_lowercase() {
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'e' => "Content-Encoding",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'f' => "From",
        b's' => "Subject",
        b'k' => "Supported",
        b't' => "To",
        b'v' => "Via",
        b'o' => "Event",
        b'r' => "Refer-To",
        b'b' => "Referred-By",
        b'u' => "Allow-Events",
        b'x' => "Session-Expires",
        _ => name,
    }
}

/// Whether a header may carry a comma-separated list that the stack must see
/// as separate header fields (RFC 3261 §7.3.1).
pub(crate) fn is_address_list(full: &str) -> bool {
    ["Via", "Contact", "Route", "Record-Route"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(full))
}

/// A SIP method (RFC 3261 §7.1 and the extension RFCs the platform answers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// OPTIONS
    Options,
    /// REGISTER
    Register,
    /// INFO (RFC 6086)
    Info,
    /// UPDATE (RFC 3311)
    Update,
    /// REFER (RFC 3515)
    Refer,
    /// NOTIFY (RFC 6665)
    Notify,
    /// SUBSCRIBE (RFC 6665)
    Subscribe,
    /// MESSAGE (RFC 3428)
    Message,
    /// PRACK (RFC 3262)
    Prack,
    /// Any other extension method, spelled as received.
    Other(String),
}

impl Method {
    /// Parses a method token (case-sensitive, §7.1).
    pub fn parse(s: &str) -> Result<Method, ParseError> {
        Ok(match s {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "REFER" => Method::Refer,
            "NOTIFY" => Method::Notify,
            "SUBSCRIBE" => Method::Subscribe,
            "MESSAGE" => Method::Message,
            "PRACK" => Method::Prack,
            other if !other.is_empty() && other.bytes().all(is_token_char) => {
                Method::Other(other.to_owned())
            }
            other => return Err(ParseError::Method(other.to_owned())),
        })
    }

    /// The method token.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Refer => "REFER",
            Method::Notify => "NOTIFY",
            Method::Subscribe => "SUBSCRIBE",
            Method::Message => "MESSAGE",
            Method::Prack => "PRACK",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub(crate) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// The CSeq header: sequence number and method (§20.16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    /// Sequence number (less than 2**31 per §8.1.1.5, accepted up to 2**32-1).
    pub seq: u32,
    /// The method of the request.
    pub method: Method,
}

impl CSeq {
    /// Parses `4711 INVITE`.
    pub fn parse(s: &str) -> Result<CSeq, ParseError> {
        let bad = || ParseError::Header {
            name: "CSeq".into(),
            value: s.to_owned(),
        };
        let mut it = s.split_ascii_whitespace();
        let seq = it.next().and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        let method = Method::parse(it.next().ok_or_else(bad)?)?;
        if it.next().is_some() {
            return Err(bad());
        }
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// One Via header field value (§20.42, RFC 3581 for `rport`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Transport token, uppercased (`UDP`, `TCP`, `TLS`, `WS`, ...).
    pub transport: String,
    /// The sent-by host (bracketed for IPv6).
    pub host: String,
    /// The sent-by port.
    pub port: Option<u16>,
    /// Parameters in order (`branch`, `received`, `rport`, ...).
    pub params: Vec<Param>,
}

impl Via {
    /// Parses `SIP/2.0/UDP host:port;branch=z9hG4bK...`.
    pub fn parse(s: &str) -> Result<Via, ParseError> {
        let bad = || ParseError::Header {
            name: "Via".into(),
            value: s.to_owned(),
        };
        let s = s.trim();
        let (proto, rest) = s
            .split_once(|c: char| c.is_ascii_whitespace())
            .ok_or_else(bad)?;
        let mut parts = proto.split('/').map(str::trim);
        let (name, version, transport) = (parts.next(), parts.next(), parts.next());
        if !name.is_some_and(|n| n.eq_ignore_ascii_case("SIP"))
            || version != Some("2.0")
            || parts.next().is_some()
        {
            return Err(bad());
        }
        let transport = transport
            .filter(|t| !t.is_empty())
            .ok_or_else(bad)?
            .to_ascii_uppercase();
        let rest = rest.trim();
        let (sent_by, params) = match rest.find(';') {
            Some(i) => (&rest[..i], parse_params(&rest[i + 1..])),
            None => (rest, Vec::new()),
        };
        let (host, port) = split_host_port(sent_by).ok_or_else(bad)?;
        Ok(Via {
            transport,
            host: host.to_owned(),
            port,
            params,
        })
    }

    /// A parameter by name.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        param(&self.params, name)
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        self.param("received").flatten()
    }

    /// `None` without `rport`; `Some(None)` for a bare `rport` request,
    /// `Some(Some(port))` once filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.param("rport").map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// Sets a parameter, replacing an existing one of that name.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        match self
            .params
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(p) => p.value = value.map(str::to_owned),
            None => self.params.push(Param::new(name, value)),
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write_params(f, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_with_received_and_rport() {
        let v = Via::parse(
            "SIP/2.0/udp [2001:db8::9]:5062;branch=z9hG4bK77;rport=5062;received=10.0.0.1",
        )
        .unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "[2001:db8::9]");
        assert_eq!(v.port, Some(5062));
        assert_eq!(v.branch(), Some("z9hG4bK77"));
        assert_eq!(v.rport(), Some(Some(5062)));
        assert_eq!(v.received(), Some("10.0.0.1"));
        let bare = Via::parse("SIP / 2.0 / UDP h;rport;branch=z9hG4bKx").unwrap_err();
        assert!(matches!(bare, ParseError::Header { .. }));
        assert_eq!(
            Via::parse("SIP/2.0/TCP h;rport").unwrap().rport(),
            Some(None)
        );
    }

    #[test]
    fn cseq_and_methods() {
        let c = CSeq::parse("4711 INVITE").unwrap();
        assert_eq!(c.seq, 4711);
        assert_eq!(c.method, Method::Invite);
        assert_eq!(
            CSeq::parse("1 FOO").unwrap().method,
            Method::Other("FOO".into())
        );
        assert!(CSeq::parse("x INVITE").is_err());
        assert!(CSeq::parse("99999999999 INVITE").is_err());
        assert!(CSeq::parse("1").is_err());
    }

    #[test]
    fn compact_names() {
        for (c, full) in [
            ("v", "Via"),
            ("F", "From"),
            ("t", "To"),
            ("i", "Call-ID"),
            ("m", "Contact"),
            ("l", "Content-Length"),
            ("c", "Content-Type"),
            ("k", "Supported"),
            ("s", "Subject"),
        ] {
            assert_eq!(full_name(c), full);
        }
        assert_eq!(full_name("X-Foo"), "X-Foo");
    }
}
