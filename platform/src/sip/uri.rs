//! SIP and tel URIs (RFC 3261 §19.1, RFC 3966) and the `name-addr` /
//! `addr-spec` forms used by From, To, Contact, Route and Record-Route
//! (RFC 3261 §20.10, §25.1).
//!
//! Parsing is lenient where real user agents are sloppy and strict where the
//! stack needs a value: a `tel:` number is kept as text (it may not fit any
//! integer), IPv6 hosts keep their brackets, and every parameter keeps its
//! original spelling so that a URI prints back as it arrived.

use std::fmt;

use super::message::ParseError;

/// A URI scheme the stack knows, or any other scheme kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (RFC 3966)
    Tel,
    /// Any other scheme (`urn:`, `http:`, ...), lowercased.
    Other(String),
}

impl Scheme {
    fn as_str(&self) -> &str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s,
        }
    }
}

/// One `;name=value` or `;name` parameter, spelled as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Parameter name as received (compare case-insensitively).
    pub name: String,
    /// Value as received, quotes included when it was quoted.
    pub value: Option<String>,
}

impl Param {
    /// A parameter with a value.
    pub fn new(name: impl Into<String>, value: Option<impl Into<String>>) -> Self {
        Param {
            name: name.into(),
            value: value.map(Into::into),
        }
    }
}

/// Looks a parameter up by name (case-insensitive); `Some(None)` for a flag
/// parameter without value, quotes stripped from a quoted value.
pub fn param<'a>(params: &'a [Param], name: &str) -> Option<Option<&'a str>> {
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
        .map(|p| p.value.as_deref().map(unquote))
}

/// Strips one pair of surrounding double quotes, if present.
pub fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// Splits `;a=b;c;d="x;y"` into parameters, honouring quotes and `<...>`.
pub(crate) fn parse_params(s: &str) -> Vec<Param> {
    split_outside(s, b';')
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((n, v)) => Param::new(n.trim(), Some(v.trim())),
            None => Param::new(p, None::<String>),
        })
        .collect()
}

pub(crate) fn write_params(f: &mut fmt::Formatter<'_>, params: &[Param]) -> fmt::Result {
    for p in params {
        match &p.value {
            Some(v) => write!(f, ";{}={}", p.name, v)?,
            None => write!(f, ";{}", p.name)?,
        }
    }
    Ok(())
}

/// Splits on `sep` where it is outside double quotes and angle brackets.
pub(crate) fn split_outside(s: &str, sep: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut angle = 0u32;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle += 1,
            b'>' if !quoted => angle = angle.saturating_sub(1),
            b if b == sep && !quoted && angle == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(s.get(start..).unwrap_or(""));
    out
}

/// A SIP, SIPS or tel URI (RFC 3261 §19.1.1, RFC 3966).
///
/// For `tel:` URIs the subscriber number is [`Uri::user`] and `host` is
/// empty. URIs of other schemes keep everything after the colon in `host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    /// The scheme.
    pub scheme: Scheme,
    /// The user part (or the tel number), still percent-escaped as received.
    pub user: Option<String>,
    /// The password after `user:`, if any.
    pub password: Option<String>,
    /// Host name, IPv4 address or bracketed IPv6 reference (`[2001:db8::1]`).
    pub host: String,
    /// Explicit port.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;voicexml=...`), in order.
    pub params: Vec<Param>,
    /// The header part after `?`, verbatim, without the `?`.
    pub headers: Option<String>,
}

impl Uri {
    /// A `sip:` URI for `user@host:port`.
    pub fn sip(user: Option<&str>, host: &str, port: Option<u16>) -> Self {
        Uri {
            scheme: Scheme::Sip,
            user: user.map(str::to_owned),
            password: None,
            host: host.to_owned(),
            port,
            params: Vec::new(),
            headers: None,
        }
    }

    /// Parses a URI (`sip:`, `sips:`, `tel:` or another scheme kept opaque).
    pub fn parse(s: &str) -> Result<Uri, ParseError> {
        let s = s.trim();
        let bad = || ParseError::Uri(s.to_owned());
        let (scheme, rest) = s.split_once(':').ok_or_else(bad)?;
        if scheme.is_empty()
            || !scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(bad());
        }
        let scheme = match scheme.to_ascii_lowercase().as_str() {
            "sip" => Scheme::Sip,
            "sips" => Scheme::Sips,
            "tel" => Scheme::Tel,
            other => Scheme::Other(other.to_owned()),
        };
        if rest.is_empty() || rest.bytes().any(|b| b.is_ascii_whitespace() || b < 0x20) {
            return Err(bad());
        }
        match scheme {
            Scheme::Tel => {
                let mut parts = split_outside(rest, b';').into_iter();
                let number = parts.next().unwrap_or("");
                if number.is_empty() {
                    return Err(bad());
                }
                let params = parts.flat_map(parse_params).collect();
                Ok(Uri {
                    scheme,
                    user: Some(number.to_owned()),
                    password: None,
                    host: String::new(),
                    port: None,
                    params,
                    headers: None,
                })
            }
            Scheme::Other(_) => Ok(Uri {
                scheme,
                user: None,
                password: None,
                host: rest.to_owned(),
                port: None,
                params: Vec::new(),
                headers: None,
            }),
            Scheme::Sip | Scheme::Sips => {
                let (main, headers) = match rest.split_once('?') {
                    Some((m, h)) => (m, Some(h.to_owned())),
                    None => (rest, None),
                };
                let (userinfo, hostpart) = match main.find('@') {
                    Some(at) => (Some(&main[..at]), &main[at + 1..]),
                    None => (None, main),
                };
                let (user, password) = match userinfo {
                    Some(ui) => match ui.split_once(':') {
                        Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned())),
                        None => (Some(ui.to_owned()), None),
                    },
                    None => (None, None),
                };
                let (hostport, params) = match hostpart.find(';') {
                    Some(i) => (&hostpart[..i], parse_params(&hostpart[i + 1..])),
                    None => (hostpart, Vec::new()),
                };
                let (host, port) = split_host_port(hostport).ok_or_else(bad)?;
                Ok(Uri {
                    scheme,
                    user,
                    password,
                    host: host.to_owned(),
                    port,
                    params,
                    headers,
                })
            }
        }
    }

    /// A URI parameter by name (case-insensitive): `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        param(&self.params, name)
    }

    /// The `transport=` parameter, lowercased.
    pub fn transport_param(&self) -> Option<String> {
        self.param("transport")
            .flatten()
            .map(str::to_ascii_lowercase)
    }

    /// Whether this URI carries the `lr` parameter (loose routing, RFC 3261 §19.1.1).
    pub fn is_loose_route(&self) -> bool {
        self.param("lr").is_some()
    }
}

/// Splits `host[:port]`, accepting bracketed IPv6 references.
pub(crate) fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    let s = s.trim();
    let (host, port) = if s.starts_with('[') {
        let end = s.find(']')?;
        let host = &s[..=end];
        let rest = &s[end + 1..];
        match rest.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if rest.is_empty() => (host, None),
            None => return None,
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._[]:".contains(&b))
    {
        return None;
    }
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    Some((host, port))
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if let Some(user) = &self.user {
            f.write_str(user)?;
            if let Some(pw) = &self.password {
                write!(f, ":{pw}")?;
            }
            if self.scheme != Scheme::Tel {
                f.write_str("@")?;
            }
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write_params(f, &self.params)?;
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

/// A `name-addr` or `addr-spec` with header parameters: the value of From,
/// To, Contact, Route, Record-Route, Refer-To (RFC 3261 §20.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, unquoted.
    pub display: Option<String>,
    /// The address.
    pub uri: Uri,
    /// Header parameters after the address (`tag`, `expires`, `+sip.instance`, ...).
    pub params: Vec<Param>,
}

impl NameAddr {
    /// An address without display name or parameters.
    pub fn new(uri: Uri) -> Self {
        NameAddr {
            display: None,
            uri,
            params: Vec::new(),
        }
    }

    /// Parses `"Display" <uri>;params`, `<uri>;params` or `uri;params`.
    pub fn parse(s: &str) -> Result<NameAddr, ParseError> {
        let s = s.trim();
        let bad = || ParseError::Address(s.to_owned());
        let lt = find_outside_quotes(s, b'<');
        match lt {
            Some(lt) => {
                let gt = s[lt..].find('>').map(|i| i + lt).ok_or_else(bad)?;
                let display = s[..lt].trim();
                let display = (!display.is_empty()).then(|| unquote(display).to_owned());
                let uri = Uri::parse(&s[lt + 1..gt])?;
                let rest = s[gt + 1..].trim();
                let params = match rest.strip_prefix(';') {
                    Some(p) => parse_params(p),
                    None if rest.is_empty() => Vec::new(),
                    None => return Err(bad()),
                };
                Ok(NameAddr {
                    display,
                    uri,
                    params,
                })
            }
            None => {
                // In the addr-spec form every `;` parameter belongs to the header (§20).
                let (uri, params) = match s.find(';') {
                    Some(i) => (&s[..i], parse_params(&s[i + 1..])),
                    None => (s, Vec::new()),
                };
                Ok(NameAddr {
                    display: None,
                    uri: Uri::parse(uri)?,
                    params,
                })
            }
        }
    }

    /// A header parameter by name (case-insensitive), quotes stripped.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        param(&self.params, name)
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    /// Sets (or replaces) the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        self.params.retain(|p| !p.name.eq_ignore_ascii_case("tag"));
        self.params.push(Param::new("tag", Some(tag)));
    }
}

fn find_outside_quotes(s: &str, needle: u8) -> Option<usize> {
    let mut quoted = false;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b if b == needle && !quoted => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{}\" ", d.replace('\\', "\\\\").replace('"', "\\\""))?;
        }
        write!(f, "<{}>", self.uri)?;
        write_params(f, &self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tel_number_too_large_for_integers_is_kept_as_text() {
        let u =
            Uri::parse("tel:+123456789012345678901234567890;phone-context=example.com").unwrap();
        assert_eq!(u.scheme, Scheme::Tel);
        assert_eq!(u.user.as_deref(), Some("+123456789012345678901234567890"));
        assert_eq!(u.param("phone-context"), Some(Some("example.com")));
        assert_eq!(
            u.to_string(),
            "tel:+123456789012345678901234567890;phone-context=example.com"
        );
    }

    #[test]
    fn ipv6_host_with_port_and_params() {
        let u = Uri::parse("sip:alice@[2001:db8::1]:5070;transport=TCP;lr").unwrap();
        assert_eq!(u.host, "[2001:db8::1]");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.transport_param().as_deref(), Some("tcp"));
        assert!(u.is_loose_route());
        assert_eq!(
            u.to_string(),
            "sip:alice@[2001:db8::1]:5070;transport=TCP;lr"
        );
    }

    #[test]
    fn voicexml_parameter_with_unescaped_url() {
        let u = Uri::parse("sip:dialog@vxp.example.com;voicexml=http://apps.example.com/a.vxml")
            .unwrap();
        assert_eq!(u.user.as_deref(), Some("dialog"));
        assert_eq!(
            u.param("VoiceXML"),
            Some(Some("http://apps.example.com/a.vxml"))
        );
    }

    #[test]
    fn contact_with_sip_instance() {
        let c = NameAddr::parse(
            "\"Bob\" <sip:bob@192.0.2.4;transport=udp>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\";expires=60",
        )
        .unwrap();
        assert_eq!(c.display.as_deref(), Some("Bob"));
        assert_eq!(c.uri.host, "192.0.2.4");
        assert_eq!(
            c.param("+sip.instance"),
            Some(Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"))
        );
        assert_eq!(c.param("expires"), Some(Some("60")));
    }

    #[test]
    fn addr_spec_params_belong_to_the_header() {
        let a = NameAddr::parse("sip:alice@example.com;tag=abc").unwrap();
        assert_eq!(a.tag(), Some("abc"));
        assert!(a.uri.params.is_empty());
    }

    #[test]
    fn malformed_uris_are_errors() {
        for bad in [
            "",
            "sip:",
            "nocolon",
            "sip:a@[::1",
            "sip:a@h:99999",
            "sip:a b@h",
            ":x",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad:?}");
        }
        assert!(NameAddr::parse("<sip:a@b").is_err());
    }
}
