//! The SDP model, parser and printer (RFC 4566 §5).
//!
//! Only the lines the platform acts on are typed (`v=`, `o=`, `s=`, `c=`,
//! `t=`, `m=`, `a=`); the others (`i=`, `u=`, `e=`, `p=`, `b=`, `r=`, `z=`,
//! `k=`) are kept verbatim in order, at session or media level, so a
//! description round-trips.

use std::fmt;

/// A malformed SDP body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// The body is empty or does not begin with `v=0`.
    #[error("SDP must begin with v=0")]
    MissingVersion,
    /// A line is not of the form `<letter>=<value>`.
    #[error("SDP line {line}: expected <type>=<value>, found {text:?}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// The offending line, truncated.
        text: String,
    },
    /// A typed line (`o=`, `c=`, `m=`, `t=`) has the wrong fields.
    #[error("SDP line {line}: malformed {kind}= line: {reason}")]
    BadField {
        /// 1-based line number.
        line: usize,
        /// The line type letter.
        kind: char,
        /// What is wrong.
        reason: &'static str,
    },
    /// There is no `o=` line.
    #[error("SDP has no o= line")]
    MissingOrigin,
    /// The body is larger than the parser accepts.
    #[error("SDP body of {0} bytes is too large")]
    TooLarge(usize),
}

/// The `o=` line (RFC 4566 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// User name (`-` when none).
    pub username: String,
    /// Session id.
    pub session_id: u64,
    /// Session version, incremented on each change (RFC 3264 §8).
    pub session_version: u64,
    /// Network type, `IN`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// Address of the originator.
    pub address: String,
}

/// A `c=` line (RFC 4566 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// Network type, `IN`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// The address, with any `/ttl/count` suffix as written.
    pub address: String,
}

impl Connection {
    /// An `IN` connection for an IP address.
    pub fn for_ip(ip: std::net::IpAddr) -> Self {
        Connection {
            net_type: "IN".into(),
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.into(),
            address: ip.to_string(),
        }
    }

    /// The address without a multicast `/ttl` suffix, parsed; `None` for a
    /// host name or an unparsable address.
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        let bare = self.address.split('/').next().unwrap_or_default();
        bare.parse().ok()
    }

    /// `c=IN IP4 0.0.0.0`: the RFC 2543 way of putting a call on hold.
    pub fn is_unspecified(&self) -> bool {
        self.ip().is_some_and(|ip| ip.is_unspecified())
    }
}

/// An `a=` line: `a=name` or `a=name:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name.
    pub name: String,
    /// The value after the first `:`.
    pub value: Option<String>,
}

impl Attribute {
    /// `a=name:value`.
    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// `a=name` (a property attribute such as `sendrecv`).
    pub fn flag(name: &str) -> Self {
        Attribute {
            name: name.into(),
            value: None,
        }
    }
}

/// A parsed `a=rtpmap` value (RFC 4566 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub payload_type: u8,
    /// Encoding name as written (`PCMU`, `telephone-event`, ...).
    pub encoding: String,
    /// Clock rate in Hz.
    pub clock_rate: u32,
    /// Channel count, when given.
    pub channels: Option<u32>,
}

/// One `m=` section (RFC 4566 §5.14) with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, `application`, ...
    pub media: String,
    /// Transport port; 0 rejects or disables the stream.
    pub port: u16,
    /// The `/<number of ports>` suffix, when written.
    pub port_count: Option<u16>,
    /// `RTP/AVP`, `RTP/SAVP`, ...
    pub proto: String,
    /// Format list (payload type numbers for RTP).
    pub formats: Vec<String>,
    /// Media-level `c=`.
    pub connection: Option<Connection>,
    /// Media-level `a=` lines in order.
    pub attributes: Vec<Attribute>,
    /// Other media-level lines (`i=`, `b=`, `k=`) as `(type, value)`.
    pub other: Vec<(char, String)>,
}

impl MediaDescription {
    /// The first value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|a| a.value.as_deref().unwrap_or(""))
    }

    /// Whether the flag attribute `name` is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The format list as payload type numbers (non-numeric formats skipped).
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }

    /// The `a=rtpmap` for payload type `pt`.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        self.attributes
            .iter()
            .filter(|a| a.name.eq_ignore_ascii_case("rtpmap"))
            .filter_map(|a| parse_rtpmap(a.value.as_deref()?))
            .find(|m| m.payload_type == pt)
    }

    /// The `a=fmtp` parameters for payload type `pt`.
    pub fn fmtp(&self, pt: u8) -> Option<&str> {
        self.attributes
            .iter()
            .filter(|a| a.name.eq_ignore_ascii_case("fmtp"))
            .filter_map(|a| {
                let v = a.value.as_deref()?;
                let (n, rest) = v.split_once(' ').unwrap_or((v, ""));
                (n.trim().parse::<u8>().ok()? == pt).then_some(rest.trim())
            })
            .next()
    }

    /// `a=ptime` in milliseconds, when present and numeric.
    pub fn ptime(&self) -> Option<u32> {
        self.attribute("ptime")?.trim().parse().ok()
    }

    /// `a=maxptime` in milliseconds, when present and numeric.
    pub fn maxptime(&self) -> Option<u32> {
        self.attribute("maxptime")?.trim().parse().ok()
    }

    /// `a=rtcp` port (RFC 3605), when present.
    pub fn rtcp_port(&self) -> Option<u16> {
        self.attribute("rtcp")?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    }
}

fn parse_rtpmap(v: &str) -> Option<RtpMap> {
    let (pt, rest) = v.trim().split_once(char::is_whitespace)?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next()?.trim().to_string();
    let clock_rate = parts.next()?.trim().parse().ok()?;
    let channels = parts.next().and_then(|c| c.trim().parse().ok());
    Some(RtpMap {
        payload_type: pt.parse().ok()?,
        encoding,
        clock_rate,
        channels,
    })
}

/// A whole session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// `o=`.
    pub origin: Origin,
    /// `s=` (a single space or `-` when there is nothing to say).
    pub session_name: String,
    /// Session-level `c=`.
    pub connection: Option<Connection>,
    /// `t=` lines as `(start, stop)`; `(0, 0)` for a permanent session.
    pub timing: Vec<(u64, u64)>,
    /// Session-level `a=` lines.
    pub attributes: Vec<Attribute>,
    /// Other session-level lines (`i=`, `u=`, `e=`, `p=`, `b=`, `r=`, `z=`,
    /// `k=`) as `(type, value)`, printed after `s=`.
    pub other: Vec<(char, String)>,
    /// `m=` sections in order.
    pub media: Vec<MediaDescription>,
}

/// The largest body accepted; SDP for a phone call is well under 4 KB.
const MAX_SDP: usize = 64 * 1024;

impl SessionDescription {
    /// Parses an SDP body. Lines may end in CRLF or LF; trailing blank
    /// lines are ignored.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        if text.len() > MAX_SDP {
            return Err(SdpError::TooLarge(text.len()));
        }
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, l)) if l.trim_end() == "v=0" => {}
            _ => return Err(SdpError::MissingVersion),
        }
        let mut origin = None;
        let mut sd = SessionDescription {
            origin: Origin {
                username: String::new(),
                session_id: 0,
                session_version: 0,
                net_type: String::new(),
                addr_type: String::new(),
                address: String::new(),
            },
            session_name: String::new(),
            connection: None,
            timing: Vec::new(),
            attributes: Vec::new(),
            other: Vec::new(),
            media: Vec::new(),
        };
        for (n, line) in lines {
            let bad = || SdpError::BadLine {
                line: n,
                text: line.chars().take(80).collect(),
            };
            let mut chars = line.chars();
            let kind = chars.next().ok_or_else(bad)?;
            if !kind.is_ascii_alphabetic() || chars.next() != Some('=') {
                return Err(bad());
            }
            let value = &line[2..];
            let field = |reason| SdpError::BadField {
                line: n,
                kind,
                reason,
            };
            if kind == 'm' {
                sd.media.push(
                    parse_media(value).ok_or_else(|| {
                        field("expected <media> <port>[/<count>] <proto> <fmt> ...")
                    })?,
                );
                continue;
            }
            if let Some(m) = sd.media.last_mut() {
                match kind {
                    'c' => {
                        m.connection = Some(
                            parse_connection(value)
                                .ok_or_else(|| field("expected <nettype> <addrtype> <address>"))?,
                        )
                    }
                    'a' => m.attributes.push(parse_attribute(value)),
                    _ => m.other.push((kind, value.to_string())),
                }
                continue;
            }
            match kind {
                'o' => {
                    origin = Some(parse_origin(value).ok_or_else(|| {
                        field("expected <username> <sess-id> <sess-version> <nettype> <addrtype> <address>")
                    })?)
                }
                's' => sd.session_name = value.to_string(),
                'c' => {
                    sd.connection = Some(
                        parse_connection(value)
                            .ok_or_else(|| field("expected <nettype> <addrtype> <address>"))?,
                    )
                }
                't' => {
                    let mut it = value.split_whitespace().map(str::parse::<u64>);
                    match (it.next(), it.next()) {
                        (Some(Ok(a)), Some(Ok(b))) => sd.timing.push((a, b)),
                        _ => return Err(field("expected <start-time> <stop-time>")),
                    }
                }
                'a' => sd.attributes.push(parse_attribute(value)),
                _ => sd.other.push((kind, value.to_string())),
            }
        }
        sd.origin = origin.ok_or(SdpError::MissingOrigin)?;
        Ok(sd)
    }

    /// The connection of media section `m`: its own `c=` or the session's.
    pub fn connection_for<'a>(&'a self, m: &'a MediaDescription) -> Option<&'a Connection> {
        m.connection.as_ref().or(self.connection.as_ref())
    }

    /// The first value of session-level attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .map(|a| a.value.as_deref().unwrap_or(""))
    }
}

fn parse_origin(v: &str) -> Option<Origin> {
    let f: Vec<&str> = v.split_whitespace().collect();
    let [username, id, version, net_type, addr_type, address] = f.as_slice() else {
        return None;
    };
    Some(Origin {
        username: (*username).to_string(),
        // Session ids are often larger than u64 from some stacks (decimal
        // NTP stamps with extra digits): keep the low digits that fit.
        session_id: parse_u64_lenient(id)?,
        session_version: parse_u64_lenient(version)?,
        net_type: (*net_type).to_string(),
        addr_type: (*addr_type).to_string(),
        address: (*address).to_string(),
    })
}

fn parse_u64_lenient(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let tail = &s[s.len().saturating_sub(19)..];
    tail.parse().ok()
}

fn parse_connection(v: &str) -> Option<Connection> {
    let f: Vec<&str> = v.split_whitespace().collect();
    let [net_type, addr_type, address] = f.as_slice() else {
        return None;
    };
    Some(Connection {
        net_type: (*net_type).to_string(),
        addr_type: (*addr_type).to_string(),
        address: (*address).to_string(),
    })
}

fn parse_attribute(v: &str) -> Attribute {
    match v.split_once(':') {
        Some((n, val)) => Attribute {
            name: n.to_string(),
            value: Some(val.to_string()),
        },
        None => Attribute {
            name: v.to_string(),
            value: None,
        },
    }
}

fn parse_media(v: &str) -> Option<MediaDescription> {
    let mut f = v.split_whitespace();
    let media = f.next()?.to_string();
    let port_field = f.next()?;
    let (port, port_count) = match port_field.split_once('/') {
        Some((p, c)) => (p.parse().ok()?, Some(c.parse().ok()?)),
        None => (port_field.parse().ok()?, None),
    };
    let proto = f.next()?.to_string();
    let formats: Vec<String> = f.map(str::to_string).collect();
    Some(MediaDescription {
        media,
        port,
        port_count,
        proto,
        formats,
        connection: None,
        attributes: Vec::new(),
        other: Vec::new(),
    })
}

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}:{}", self.name, v),
            None => f.write_str(&self.name),
        }
    }
}

/// Prints in the order of RFC 4566 §5, lines ending in CRLF.
impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} {} {} {}\r\n",
            o.username, o.session_id, o.session_version, o.net_type, o.addr_type, o.address
        )?;
        let name = if self.session_name.is_empty() {
            "-"
        } else {
            &self.session_name
        };
        write!(f, "s={name}\r\n")?;
        for (k, v) in self.other.iter().filter(|(k, _)| *k != 'b') {
            write!(f, "{k}={v}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        for (k, v) in self.other.iter().filter(|(k, _)| *k == 'b') {
            write!(f, "{k}={v}\r\n")?;
        }
        if self.timing.is_empty() {
            f.write_str("t=0 0\r\n")?;
        }
        for (a, b) in &self.timing {
            write!(f, "t={a} {b}\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write!(f, "m={} {}", m.media, m.port)?;
            if let Some(c) = m.port_count {
                write!(f, "/{c}")?;
            }
            write!(f, " {}", m.proto)?;
            for fmt_ in &m.formats {
                write!(f, " {fmt_}")?;
            }
            f.write_str("\r\n")?;
            for (k, v) in m.other.iter().filter(|(k, _)| *k == 'i') {
                write!(f, "{k}={v}\r\n")?;
            }
            if let Some(c) = &m.connection {
                write!(f, "c={c}\r\n")?;
            }
            for (k, v) in m.other.iter().filter(|(k, _)| *k != 'i') {
                write!(f, "{k}={v}\r\n")?;
            }
            for a in &m.attributes {
                write!(f, "a={a}\r\n")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINPHONE: &str = "v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\ns=Talk\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\na=rtcp-xr:rcvr-rtt=all:10000\r\nm=audio 7078 RTP/AVP 96 97 0 8 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\na=rtpmap:97 speex/16000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:30\r\nm=video 9078 RTP/AVP 99\r\na=rtpmap:99 VP8/90000\r\n";

    #[test]
    fn parses_and_prints_back() {
        let sd = SessionDescription::parse(LINPHONE).unwrap();
        assert_eq!(sd.origin.session_id, 2890844526);
        assert_eq!(sd.media.len(), 2);
        let a = &sd.media[0];
        assert_eq!(a.port, 7078);
        assert_eq!(
            a.payload_types().collect::<Vec<_>>(),
            vec![96, 97, 0, 8, 101]
        );
        assert_eq!(a.rtpmap(96).unwrap().channels, Some(2));
        assert_eq!(a.rtpmap(101).unwrap().encoding, "telephone-event");
        assert_eq!(a.fmtp(101), Some("0-15"));
        assert_eq!(a.ptime(), Some(30));
        assert_eq!(
            sd.connection_for(a).unwrap().ip(),
            "192.0.2.10".parse().ok()
        );
        assert_eq!(sd.to_string(), LINPHONE);
    }

    #[test]
    fn accepts_lf_only_and_unknown_lines() {
        let text = "v=0\no=- 1 2 IN IP6 ::1\ns= \ni=info\nb=AS:64\nt=0 0\nm=audio 4000/2 RTP/AVP 0\nb=AS:80\nc=IN IP6 ::1\n\n";
        let sd = SessionDescription::parse(text).unwrap();
        assert_eq!(sd.media[0].port_count, Some(2));
        assert_eq!(sd.other, vec![('i', "info".into()), ('b', "AS:64".into())]);
        assert_eq!(sd.media[0].other, vec![('b', "AS:80".into())]);
        let again = SessionDescription::parse(&sd.to_string()).unwrap();
        assert_eq!(again, sd);
    }

    #[test]
    fn long_session_id_keeps_low_digits() {
        let sd =
            SessionDescription::parse("v=0\r\no=- 123456789012345678901234 1 IN IP4 h\r\ns=-\r\n")
                .unwrap();
        assert_eq!(sd.origin.session_id, 6_789_012_345_678_901_234);
    }

    #[test]
    fn bogus_input_is_an_error_not_a_panic() {
        for text in [
            "",
            "hello",
            "v=1\r\n",
            "v=0\r\nno equals\r\n",
            "v=0\r\no=short\r\n",
            "v=0\r\no=- 1 1 IN IP4 h\r\nm=audio x RTP/AVP 0\r\n",
            "v=0\r\no=- 1 1 IN IP4 h\r\nm=audio\r\n",
            "v=0\r\no=- 1 1 IN IP4 h\r\nc=IN\r\n",
            "v=0\r\no=- 1 1 IN IP4 h\r\nt=now\r\n",
            "v=0\r\ns=-\r\n",
            "v=0\r\n\u{e9}=x\r\n",
            "v=0\r\no=- 1 1 IN IP4 h\r\nm=audio 70000 RTP/AVP 0\r\n",
        ] {
            assert!(SessionDescription::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(
            SessionDescription::parse(&"a".repeat(100_000)),
            Err(SdpError::TooLarge(100_000))
        );
    }

    #[test]
    fn odd_but_legal_attributes() {
        let sd = SessionDescription::parse(
            "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 5 RTP/AVP 0 x\r\na=rtpmap:bad\r\na=fmtp:\r\na=ptime:abc\r\na=rtcp:5001 IN IP4 10.0.0.1\r\n",
        )
        .unwrap();
        let m = &sd.media[0];
        assert_eq!(m.payload_types().collect::<Vec<_>>(), vec![0]);
        assert_eq!(m.rtpmap(0), None);
        assert_eq!(m.fmtp(0), None);
        assert_eq!(m.ptime(), None);
        assert_eq!(m.rtcp_port(), Some(5001));
    }
}
