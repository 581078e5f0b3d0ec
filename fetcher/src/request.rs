//! What a session asks the fetcher for: the URL plus the VoiceXML fetch
//! attributes (VoiceXML 2.0 §6.1.1 `fetchtimeout`, `maxage`, `maxstale`) and,
//! for `<submit>`, `<data>` and `<subdialog>`, the namelist with its method and
//! encoding (VoiceXML 2.0 §5.3.8, VoiceXML 2.1 §5).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::cookie::CookieStore;
use serde::Deserialize;
use url::Url;

/// HTTP method of a fetch (`method` attribute of `<submit>`, `<data>`, `<subdialog>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// GET: the namelist goes into the query string.
    #[default]
    Get,
    /// POST: the namelist goes into the body, encoded as `enctype` says.
    Post,
}

/// What the resource is for. It selects the accepted content types and the
/// caching rule (`Submit` results are never cached).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResourceKind {
    /// A VoiceXML or CCXML document (`<goto>`, `<subdialog>`, the initial page).
    Document,
    /// An SRGS grammar.
    Grammar,
    /// An ECMAScript file of `<script src>`.
    Script,
    /// An audio file of `<audio src>`.
    Audio,
    /// The XML (or JSON) result of `<data>`.
    Data,
    /// The document answered to a `<submit>`: fetched every time, never cached.
    Submit,
}

/// Body encoding of a POST (`enctype` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
pub enum Enctype {
    /// `application/x-www-form-urlencoded`, the VoiceXML default.
    #[default]
    UrlEncoded,
    /// `multipart/form-data`, required to upload recordings.
    Multipart,
}

/// One namelist value, already converted from ECMAScript by the interpreter:
/// scalars become their `ToString` text (VoiceXML 2.0 §5.3.8), recordings
/// become files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormValue {
    /// A text value.
    Text(String),
    /// Binary content uploaded as a file part (recordings).
    File {
        /// File name sent in the part's `Content-Disposition`.
        name: String,
        /// MIME type of the part, e.g. `audio/wav`.
        content_type: String,
        /// The content.
        bytes: Bytes,
    },
}

/// A cookie jar owned by one session (one application), so server-side session
/// state works as it does for a web browser.
#[derive(Clone, Default)]
pub struct SessionJar(pub(crate) Arc<reqwest::cookie::Jar>);

impl std::fmt::Debug for SessionJar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionJar").finish_non_exhaustive()
    }
}

impl SessionJar {
    /// The `Cookie` header this jar sends to `url`, if any.
    pub fn cookie_header(&self, url: &Url) -> Option<String> {
        self.0
            .cookies(url)
            .and_then(|v| v.to_str().ok().map(str::to_owned))
    }

    /// Adds a cookie as if `url` had answered with `Set-Cookie: <cookie>`.
    pub fn add_cookie(&self, cookie: &str, url: &Url) {
        self.0.add_cookie_str(cookie, url);
    }
}

/// One fetch. Build it with [`FetchRequest::new`] or [`crate::Fetcher::request`]
/// and set the attributes the document gives.
#[derive(Debug, Clone)]
pub struct FetchRequest {
    /// Absolute URL (resolve relative references with [`crate::resolve`]).
    pub url: Url,
    /// GET or POST.
    pub method: Method,
    /// What the resource is for.
    pub kind: ResourceKind,
    /// The namelist, in document order.
    pub params: Vec<(String, FormValue)>,
    /// Body encoding of a POST.
    pub enctype: Enctype,
    /// `maxage`: the largest age of a cached response the document accepts.
    pub maxage: Option<Duration>,
    /// `maxstale`: how far past its expiry a cached response may be and still be used.
    pub maxstale: Option<Duration>,
    /// `fetchtimeout`: the whole fetch, redirects and body included, must finish within it.
    pub timeout: Duration,
    /// The document that asked; `file:` URLs are only served to documents loaded from files.
    pub referrer: Option<Url>,
    /// The session's cookie jar; `None` sends and keeps no cookies.
    pub session: Option<SessionJar>,
}

impl FetchRequest {
    /// A GET for `url` as `kind`, with no namelist, HTTP caching rules only and
    /// the given time-out.
    pub fn new(url: Url, kind: ResourceKind, timeout: Duration) -> Self {
        Self {
            url,
            method: Method::Get,
            kind,
            params: Vec::new(),
            enctype: Enctype::UrlEncoded,
            maxage: None,
            maxstale: None,
            timeout,
            referrer: None,
            session: None,
        }
    }
}
