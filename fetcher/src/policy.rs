//! HTTP/1.1 caching rules (RFC 9111) as pure functions, with the VoiceXML
//! `maxage`/`maxstale` fetch attributes (VoiceXML 2.0 §6.1.1) as the request's
//! `max-age`/`max-stale` directives.
//!
//! Nothing here does I/O or reads a clock: the driver passes the wall-clock
//! times of the request and response and `now`, so every rule is tested with
//! made-up times.
//!
//! The cache is a *shared* cache in RFC 9111 terms (one per process, used by
//! every caller), so `private` responses are not stored; `s-maxage` is ignored
//! because the platform is the end client, not an intermediary.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Parsed `Cache-Control` response directives (RFC 9111 §5.2.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheControl {
    /// `max-age=N`.
    pub max_age: Option<Duration>,
    /// `no-cache` (with or without field names: both mean revalidate every time here).
    pub no_cache: bool,
    /// `no-store`.
    pub no_store: bool,
    /// `must-revalidate` (or `proxy-revalidate`): never serve stale.
    pub must_revalidate: bool,
    /// `private`.
    pub private: bool,
}

impl CacheControl {
    /// Parses every `Cache-Control` field value of a response. Unknown
    /// directives are ignored; a malformed `max-age` counts as `max-age=0`,
    /// as RFC 9111 §4.2.1 asks for invalid freshness information.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let mut cc = Self::default();
        for value in values {
            for directive in value.split(',') {
                let directive = directive.trim();
                let (name, arg) = match directive.split_once('=') {
                    Some((n, a)) => (n.trim(), Some(a.trim().trim_matches('"'))),
                    None => (directive, None),
                };
                match name.to_ascii_lowercase().as_str() {
                    "max-age" => {
                        let secs = arg.and_then(|a| a.parse::<u64>().ok()).unwrap_or(0);
                        cc.max_age = Some(Duration::from_secs(secs));
                    }
                    "no-cache" => cc.no_cache = true,
                    "no-store" => cc.no_store = true,
                    "must-revalidate" | "proxy-revalidate" => cc.must_revalidate = true,
                    "private" => cc.private = true,
                    _ => {}
                }
            }
        }
        cc
    }
}

/// The `Vary` of a stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vary {
    /// The listed request headers select the response.
    Headers(Vec<HeaderName>),
    /// `Vary: *`: no later request can be matched.
    Any,
}

impl Vary {
    /// Parses every `Vary` field value.
    pub fn parse(headers: &HeaderMap) -> Self {
        let mut names = Vec::new();
        for value in headers.get_all(header::VARY) {
            let Ok(value) = value.to_str() else {
                return Self::Any;
            };
            for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                if name == "*" {
                    return Self::Any;
                }
                match HeaderName::from_bytes(name.as_bytes()) {
                    Ok(n) => names.push(n),
                    Err(_) => return Self::Any,
                }
            }
        }
        Self::Headers(names)
    }
}

/// The request header values a stored response was selected by (RFC 9111 §4.1).
pub type VaryKey = Vec<(HeaderName, Option<HeaderValue>)>;

/// Records, for each header named by `vary`, the value the request sent.
pub fn vary_key(vary: &Vary, request: impl Fn(&HeaderName) -> Option<HeaderValue>) -> VaryKey {
    match vary {
        Vary::Headers(names) => names.iter().map(|n| (n.clone(), request(n))).collect(),
        Vary::Any => Vec::new(),
    }
}

/// Whether a new request selects a stored response: every header the response
/// varies on has the same value (compared after trimming; absent matches absent).
pub fn vary_matches(
    vary: &Vary,
    stored: &VaryKey,
    request: impl Fn(&HeaderName) -> Option<HeaderValue>,
) -> bool {
    match vary {
        Vary::Any => false,
        Vary::Headers(_) => stored.iter().all(|(name, value)| {
            let now = request(name);
            match (value, &now) {
                (None, None) => true,
                (Some(a), Some(b)) => a.as_bytes().trim_ascii() == b.as_bytes().trim_ascii(),
                _ => false,
            }
        }),
    }
}

/// Settings of heuristic freshness (RFC 9111 §4.2.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heuristic {
    /// Fraction of the time since `Last-Modified`.
    pub fraction: f64,
    /// Upper bound of the lifetime.
    pub max: Duration,
}

/// The caching facts of one stored response.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseMeta {
    /// Status code.
    pub status: u16,
    /// `Date`.
    pub date: Option<SystemTime>,
    /// `Expires`; `Some(None)` when present but invalid (which means already expired).
    pub expires: Option<Option<SystemTime>>,
    /// `Age`.
    pub age: Duration,
    /// `Last-Modified`, parsed.
    pub last_modified: Option<SystemTime>,
    /// `Cache-Control`.
    pub cache_control: CacheControl,
    /// `Vary`.
    pub vary: Vary,
    /// When the request that got this response was sent.
    pub request_time: SystemTime,
    /// When the response arrived.
    pub response_time: SystemTime,
}

fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl ResponseMeta {
    /// Reads the caching facts from response headers.
    pub fn from_headers(
        status: u16,
        headers: &HeaderMap,
        request_time: SystemTime,
        response_time: SystemTime,
    ) -> Self {
        let date =
            header_str(headers, &header::DATE).and_then(|d| httpdate::parse_http_date(d).ok());
        let expires = headers.get(header::EXPIRES).map(|v| {
            v.to_str()
                .ok()
                .and_then(|d| httpdate::parse_http_date(d).ok())
        });
        let age = header_str(headers, &header::AGE)
            .and_then(|a| a.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or_default();
        let last_modified = header_str(headers, &header::LAST_MODIFIED)
            .and_then(|d| httpdate::parse_http_date(d).ok());
        let mut cache_control = CacheControl::parse(
            headers
                .get_all(header::CACHE_CONTROL)
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        // RFC 9111 §5.4: old application servers still send only `Pragma: no-cache`.
        if !headers.contains_key(header::CACHE_CONTROL)
            && headers
                .get_all(header::PRAGMA)
                .iter()
                .any(|v| v.as_bytes().eq_ignore_ascii_case(b"no-cache"))
        {
            cache_control.no_cache = true;
        }
        Self {
            status,
            date,
            expires,
            age,
            last_modified,
            cache_control,
            vary: Vary::parse(headers),
            request_time,
            response_time,
        }
    }

    /// Whether a shared cache may store this response to a GET (RFC 9111 §3).
    /// Only statuses the fetcher can reuse are stored: 200 and 203 bodies, and
    /// redirects (301 and 308 always, 302 and 307 when explicitly fresh).
    pub fn is_storable(&self) -> bool {
        let cc = &self.cache_control;
        if cc.no_store || cc.private || self.vary == Vary::Any {
            return false;
        }
        let explicit = cc.max_age.is_some() || self.expires.is_some();
        match self.status {
            200 | 203 | 301 | 308 => true,
            302 | 307 => explicit,
            _ => false,
        }
    }

    /// Freshness lifetime (RFC 9111 §4.2.1): `max-age`, else `Expires - Date`,
    /// else a heuristic fraction of the time since `Last-Modified` for statuses
    /// that allow it.
    pub fn freshness_lifetime(&self, heuristic: Heuristic) -> Duration {
        if let Some(max_age) = self.cache_control.max_age {
            return max_age;
        }
        let date = self.date.unwrap_or(self.response_time);
        if let Some(expires) = self.expires {
            return expires
                .and_then(|e| e.duration_since(date).ok())
                .unwrap_or_default();
        }
        let heuristically_cacheable = StatusCode::from_u16(self.status)
            .map(|s| {
                matches!(
                    s.as_u16(),
                    200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
                )
            })
            .unwrap_or(false);
        match self.last_modified {
            Some(lm) if heuristically_cacheable => date
                .duration_since(lm)
                .map(|d| {
                    d.mul_f64(heuristic.fraction.clamp(0.0, 1.0))
                        .min(heuristic.max)
                })
                .unwrap_or_default(),
            _ => Duration::ZERO,
        }
    }

    /// Current age (RFC 9111 §4.2.3).
    pub fn current_age(&self, now: SystemTime) -> Duration {
        let apparent_age = self
            .date
            .and_then(|d| self.response_time.duration_since(d).ok())
            .unwrap_or_default();
        let response_delay = self
            .response_time
            .duration_since(self.request_time)
            .unwrap_or_default();
        let corrected_age_value = self.age + response_delay;
        let corrected_initial_age = apparent_age.max(corrected_age_value);
        let resident_time = now.duration_since(self.response_time).unwrap_or_default();
        corrected_initial_age + resident_time
    }
}

/// The request side: the VoiceXML `maxage` and `maxstale` in effect.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestDirectives {
    /// `maxage`: `Some(0)` forces a fetch (a conditional one when validators exist).
    pub max_age: Option<Duration>,
    /// `maxstale`.
    pub max_stale: Option<Duration>,
}

/// What to do with a stored response for a new request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Fresh enough for the request: use it.
    Fresh,
    /// Stale, but within the request's `maxstale`: use it.
    Stale,
    /// Ask the origin, conditionally when validators exist.
    Revalidate,
}

/// Decides how a stored response answers a request at `now` (RFC 9111 §4.2,
/// §4.2.4, §5.2.1.1 max-age and §5.2.1.2 max-stale).
pub fn evaluate(
    meta: &ResponseMeta,
    lifetime: Duration,
    request: RequestDirectives,
    now: SystemTime,
) -> Reuse {
    let cc = &meta.cache_control;
    if cc.no_cache || request.max_age == Some(Duration::ZERO) {
        return Reuse::Revalidate;
    }
    let age = meta.current_age(now);
    if request.max_age.is_some_and(|max| age > max) {
        return Reuse::Revalidate;
    }
    if lifetime > age {
        return Reuse::Fresh;
    }
    let staleness = age - lifetime;
    match request.max_stale {
        Some(max_stale) if !cc.must_revalidate && staleness <= max_stale => Reuse::Stale,
        _ => Reuse::Revalidate,
    }
}

/// Validator headers for a conditional request (RFC 9110 §13.1, RFC 9111 §4.3.1):
/// `If-None-Match` from `ETag`, `If-Modified-Since` from `Last-Modified`.
pub fn conditional_headers(stored: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::with_capacity(2);
    if let Some(etag) = stored.get(header::ETAG) {
        out.push((header::IF_NONE_MATCH, etag.clone()));
    }
    if let Some(lm) = stored.get(header::LAST_MODIFIED) {
        out.push((header::IF_MODIFIED_SINCE, lm.clone()));
    }
    out
}

/// Response headers worth storing: the caching facts plus what the response
/// summary and redirects need. Everything else is dropped to keep entries small.
pub const STORED_HEADERS: [HeaderName; 10] = [
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::DATE,
    header::EXPIRES,
    header::AGE,
    header::ETAG,
    header::LAST_MODIFIED,
    header::VARY,
    header::LOCATION,
    header::PRAGMA,
];

/// Keeps the headers of [`STORED_HEADERS`].
pub fn stored_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(STORED_HEADERS.len());
    for name in STORED_HEADERS {
        for value in headers.get_all(&name) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Freshens stored headers with those of a 304 (RFC 9111 §4.3.4): every stored
/// header the 304 also carries is replaced. `Content-Type` stays, since a 304
/// describes the stored body.
pub fn merge_not_modified(stored: &HeaderMap, not_modified: &HeaderMap) -> HeaderMap {
    let mut out = stored.clone();
    for name in STORED_HEADERS {
        if name == header::CONTENT_TYPE {
            continue;
        }
        let mut values = not_modified.get_all(&name).iter().peekable();
        if values.peek().is_some() {
            out.remove(&name);
            for value in values {
                out.append(name.clone(), value.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: Heuristic = Heuristic {
        fraction: 0.1,
        max: Duration::from_secs(86_400),
    };

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(
                HeaderName::from_bytes(n.as_bytes()).expect("test header name"),
                HeaderValue::from_str(v).expect("test header value"),
            );
        }
        h
    }

    fn meta(pairs: &[(&str, &str)]) -> ResponseMeta {
        ResponseMeta::from_headers(200, &headers(pairs), t(0), t(0))
    }

    fn date(secs: u64) -> String {
        httpdate::fmt_http_date(t(secs))
    }

    fn decide(m: &ResponseMeta, req: RequestDirectives, at: u64) -> Reuse {
        evaluate(m, m.freshness_lifetime(H), req, t(at))
    }

    const NONE: RequestDirectives = RequestDirectives {
        max_age: None,
        max_stale: None,
    };

    /// (case, response headers, request directives, seconds after the response, expected)
    type Case<'a> = (
        &'a str,
        Vec<(&'a str, &'a str)>,
        RequestDirectives,
        u64,
        Reuse,
    );

    #[test]
    fn caching_rules_table() {
        let d0 = date(0);
        let later = date(100);
        let secs = Duration::from_secs;
        let cases: Vec<Case<'_>> = vec![
            (
                "max-age fresh",
                vec![("cache-control", "max-age=60")],
                NONE,
                30,
                Reuse::Fresh,
            ),
            (
                "max-age expired",
                vec![("cache-control", "max-age=60")],
                NONE,
                61,
                Reuse::Revalidate,
            ),
            (
                "no-cache always revalidates",
                vec![("cache-control", "no-cache, max-age=60")],
                NONE,
                1,
                Reuse::Revalidate,
            ),
            (
                "expires in future",
                vec![("date", &d0), ("expires", &later)],
                NONE,
                50,
                Reuse::Fresh,
            ),
            (
                "expires passed",
                vec![("date", &d0), ("expires", &later)],
                NONE,
                101,
                Reuse::Revalidate,
            ),
            (
                "invalid expires is expired",
                vec![("date", &d0), ("expires", "0")],
                NONE,
                0,
                Reuse::Revalidate,
            ),
            (
                "max-age beats expires",
                vec![
                    ("date", &d0),
                    ("expires", &later),
                    ("cache-control", "max-age=10"),
                ],
                NONE,
                20,
                Reuse::Revalidate,
            ),
            (
                "s-maxage ignored",
                vec![("cache-control", "s-maxage=600")],
                NONE,
                1,
                Reuse::Revalidate,
            ),
            (
                "age header counts",
                vec![("cache-control", "max-age=60"), ("age", "50")],
                NONE,
                20,
                Reuse::Revalidate,
            ),
            (
                "maxage=0 forces fetch",
                vec![("cache-control", "max-age=60")],
                RequestDirectives {
                    max_age: Some(Duration::ZERO),
                    max_stale: None,
                },
                0,
                Reuse::Revalidate,
            ),
            (
                "maxage smaller than age",
                vec![("cache-control", "max-age=60")],
                RequestDirectives {
                    max_age: Some(secs(10)),
                    max_stale: None,
                },
                20,
                Reuse::Revalidate,
            ),
            (
                "maxage larger than age",
                vec![("cache-control", "max-age=60")],
                RequestDirectives {
                    max_age: Some(secs(30)),
                    max_stale: None,
                },
                20,
                Reuse::Fresh,
            ),
            (
                "maxstale accepts stale",
                vec![("cache-control", "max-age=60")],
                RequestDirectives {
                    max_age: None,
                    max_stale: Some(secs(30)),
                },
                80,
                Reuse::Stale,
            ),
            (
                "maxstale too small",
                vec![("cache-control", "max-age=60")],
                RequestDirectives {
                    max_age: None,
                    max_stale: Some(secs(10)),
                },
                80,
                Reuse::Revalidate,
            ),
            (
                "must-revalidate refuses stale",
                vec![("cache-control", "max-age=60, must-revalidate")],
                RequestDirectives {
                    max_age: None,
                    max_stale: Some(secs(30)),
                },
                80,
                Reuse::Revalidate,
            ),
            (
                "no explicit freshness",
                vec![("etag", "\"v1\"")],
                NONE,
                0,
                Reuse::Revalidate,
            ),
            (
                "heuristic lifetime zero when just modified",
                vec![("date", &d0), ("last-modified", &d0)],
                NONE,
                0,
                Reuse::Revalidate,
            ),
            (
                "pragma no-cache alone",
                vec![("pragma", "no-cache"), ("expires", &later), ("date", &d0)],
                NONE,
                1,
                Reuse::Revalidate,
            ),
            (
                "cache-control beats pragma",
                vec![("pragma", "no-cache"), ("cache-control", "max-age=60")],
                NONE,
                1,
                Reuse::Fresh,
            ),
        ];
        for (name, hdrs, req, at, expected) in cases {
            assert_eq!(decide(&meta(&hdrs), req, at), expected, "case: {name}");
        }
    }

    #[test]
    fn heuristic_lifetime_is_a_fraction_of_last_modified_age() {
        let m = ResponseMeta::from_headers(
            200,
            &headers(&[
                ("date", &date(1000)),
                (
                    "last-modified",
                    &httpdate::fmt_http_date(t(0) - Duration::from_secs(9000)),
                ),
            ]),
            t(1000),
            t(1000),
        );
        assert_eq!(m.freshness_lifetime(H), Duration::from_secs(1000));
        assert_eq!(
            evaluate(&m, m.freshness_lifetime(H), NONE, t(1900)),
            Reuse::Fresh
        );
        assert_eq!(
            evaluate(&m, m.freshness_lifetime(H), NONE, t(2001)),
            Reuse::Revalidate
        );
        let capped = Heuristic {
            fraction: 0.1,
            max: Duration::from_secs(60),
        };
        assert_eq!(m.freshness_lifetime(capped), Duration::from_secs(60));
    }

    #[test]
    fn current_age_uses_date_age_and_delays() {
        // Sent at 0, answered at 4 with a Date of 1 and Age 10; asked at 20.
        let m = ResponseMeta::from_headers(
            200,
            &headers(&[("date", &date(1)), ("age", "10")]),
            t(0),
            t(4),
        );
        // corrected initial age = max(4 - 1, 10 + 4) = 14; resident 16.
        assert_eq!(m.current_age(t(20)), Duration::from_secs(30));
    }

    #[test]
    fn storability() {
        let ok = |pairs: &[(&str, &str)], status: u16| {
            ResponseMeta::from_headers(status, &headers(pairs), t(0), t(0)).is_storable()
        };
        assert!(ok(&[("cache-control", "max-age=5")], 200));
        assert!(!ok(&[("cache-control", "no-store, max-age=5")], 200));
        assert!(!ok(&[("cache-control", "private, max-age=5")], 200));
        assert!(ok(&[("cache-control", "no-cache")], 200));
        assert!(!ok(&[("vary", "*")], 200));
        assert!(ok(&[], 301));
        assert!(!ok(&[], 302));
        assert!(ok(&[("cache-control", "max-age=5")], 302));
        assert!(!ok(&[("cache-control", "max-age=5")], 404));
    }

    #[test]
    fn conditional_request_carries_both_validators() {
        let stored = headers(&[("etag", "\"abc\""), ("last-modified", &date(0))]);
        let cond = conditional_headers(&stored);
        assert_eq!(cond.len(), 2);
        assert_eq!(cond[0].0, header::IF_NONE_MATCH);
        assert_eq!(cond[0].1, "\"abc\"");
        assert_eq!(cond[1].0, header::IF_MODIFIED_SINCE);
        assert!(conditional_headers(&headers(&[("cache-control", "max-age=1")])).is_empty());
    }

    #[test]
    fn not_modified_refreshes_stored_headers() {
        let stored = headers(&[
            ("content-type", "application/voicexml+xml"),
            ("cache-control", "max-age=1"),
            ("etag", "\"a\""),
        ]);
        let nm = headers(&[
            ("cache-control", "max-age=100"),
            ("content-type", "text/plain"),
        ]);
        let merged = merge_not_modified(&stored, &nm);
        assert_eq!(
            merged.get(header::CACHE_CONTROL).map(|v| v.as_bytes()),
            Some(&b"max-age=100"[..])
        );
        assert_eq!(
            merged.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(&b"application/voicexml+xml"[..])
        );
        assert_eq!(
            merged.get(header::ETAG).map(|v| v.as_bytes()),
            Some(&b"\"a\""[..])
        );
    }

    #[test]
    fn vary_selects_by_request_headers() {
        let resp = headers(&[("vary", "Cookie, Accept-Language")]);
        let vary = Vary::parse(&resp);
        let lang = HeaderName::from_static("accept-language");
        let first =
            |n: &HeaderName| (n == header::COOKIE).then(|| HeaderValue::from_static("sid=1"));
        let key = vary_key(&vary, first);
        assert!(vary_matches(&vary, &key, first));
        assert!(!vary_matches(&vary, &key, |n: &HeaderName| {
            (n == header::COOKIE).then(|| HeaderValue::from_static("sid=2"))
        }));
        assert!(!vary_matches(&vary, &key, |n: &HeaderName| {
            (n == lang || n == header::COOKIE).then(|| HeaderValue::from_static("sid=1"))
        }));
        assert!(!vary_matches(
            &Vary::parse(&headers(&[("vary", "*")])),
            &Vec::new(),
            first
        ));
    }

    #[test]
    fn cache_control_parsing_is_lenient() {
        let cc = CacheControl::parse(["MAX-AGE=\"30\", No-Store", "private, foo=bar"]);
        assert_eq!(cc.max_age, Some(Duration::from_secs(30)));
        assert!(cc.no_store && cc.private && !cc.no_cache);
        assert_eq!(
            CacheControl::parse(["max-age=abc"]).max_age,
            Some(Duration::ZERO)
        );
    }
}
