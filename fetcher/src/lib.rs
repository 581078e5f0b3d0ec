//! The VXP fetching module: `http`, `https`, `file` and `data` URLs behind an
//! HTTP/1.1 cache (RFC 9111) shared by every session of the process, with the
//! VoiceXML fetch attributes on top (VoiceXML 2.0 §6.1: `maxage`, `maxstale`,
//! `fetchtimeout`, `fetchhint`).
//!
//! The first caller of an application fetches its pages; everyone after reuses
//! the bytes *and* the compiled form the interpreter stored beside them
//! ([`Fetcher::store_compiled`], [`Fetcher::fetch_compiled`]). Many callers
//! asking for the same URL at once make one upstream request. Every fetch ends
//! within its `fetchtimeout`, with a response or a [`FetchError`] whose
//! [`FetchError::event`] the interpreter throws.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vxp_fetcher::FetchError> {
//! use vxp_fetcher::{Fetcher, FetcherConfig, ResourceKind};
//! let fetcher = Fetcher::new(FetcherConfig::default())?;
//! let jar = fetcher.new_session_jar();
//! let url = url::Url::parse("http://app.example/main.vxml").expect("literal URL");
//! let mut req = fetcher.request(url, ResourceKind::Document);
//! req.session = Some(jar);
//! let page = fetcher.fetch(req).await?;
//! assert!(!page.bytes.is_empty());
//! # Ok(()) }
//! ```
//!
//! # Schemes
//!
//! - `http`, `https` (rustls): cached, coalesced, redirects followed (at most
//!   `max_redirects`), per-session cookies.
//! - `file`: only for the initial document or documents that were themselves
//!   loaded from files (`FetchRequest::referrer`); cached with the file's
//!   modification time and length as validator, so an edited file is read again.
//! - `data` (RFC 2397): decoded on every fetch, never cached.
//! - `builtin:` belongs to the interpreter; any other scheme is `error.badfetch`.
//!
//! # Caching rules
//!
//! The cache is a shared cache bounded by `cache_bytes`. Storable: GET responses
//! 200, 203, 301, 308 (and 302/307 with explicit freshness) without `no-store`,
//! `private` or `Vary: *`. Freshness comes from `max-age`, else `Expires - Date`,
//! else `heuristic_fraction` of `Date - Last-Modified`; `s-maxage` is ignored.
//! `maxage` limits the accepted age (`maxage=0` always asks the server),
//! `maxstale` accepts stale entries unless `must-revalidate`. A stale entry with
//! `ETag`/`Last-Modified` is revalidated with `If-None-Match`/`If-Modified-Since`;
//! a 304 refreshes it and keeps its compiled form. `<submit>` and POST results are
//! never cached, and a successful POST drops the stored responses of its URL.
//! `Vary` is honoured for `Cookie`, `User-Agent` and `Accept` (the only request
//! headers that are sent).
//!
//! # Cookies
//!
//! Each session passes its [`SessionJar`]. Requests are coalesced only between
//! callers that send the same `Cookie`, and every caller whose request reached
//! the origin (directly or by joining) gets the response's `Set-Cookie` in its
//! own jar. Responses served from the cache set no cookies, as in a browser.
//!
//! # VoiceXML properties
//!
//! The interpreter resolves the per-kind properties (`documentmaxage`,
//! `grammarmaxstale`, `fetchtimeout`, ...) and the element's attributes into the
//! effective [`FetchRequest::maxage`], [`FetchRequest::maxstale`] and
//! [`FetchRequest::timeout`]; `fetchhint="prefetch"` resources go to
//! [`Fetcher::prefetch`] when their page loads.
//!
//! # Events
//!
//! VoiceXML 2.0 §5.2.6 asks for `error.badfetch.<protocol>.<response code>`;
//! the protocol is the URL scheme, so an https failure is also caught by
//! `error.badfetch.https`. The `_message` is [`FetchError::message`]: URL and reason.
//!
//! | Failure | Event |
//! |---|---|
//! | HTTP status 4xx/5xx | `error.badfetch.http.<code>` (`https.<code>` over TLS) |
//! | `fetchtimeout` expired | `error.badfetch.<protocol>.timeout` |
//! | connection refused or failed | `error.badfetch.<protocol>.connect` |
//! | host name not resolved | `error.badfetch.<protocol>.dns` |
//! | TLS handshake or certificate | `error.badfetch.https.tls` |
//! | broken connection, not HTTP | `error.badfetch.<protocol>.protocol` |
//! | too many redirects, no `Location` | `error.badfetch.<protocol>.redirect` |
//! | body over `max_body_bytes` | `error.badfetch.<protocol>.toolarge` |
//! | content type not accepted for the kind | `error.badfetch.<protocol>.contenttype` |
//! | file missing | `error.badfetch.file.notfound` |
//! | file unreadable | `error.badfetch.file.io` |
//! | `file:` asked by a non-file document | `error.badfetch.file.forbidden` |
//! | malformed `data:` URL | `error.badfetch.data.malformed` |
//! | unsupported scheme, invalid URL, recording sent URL-encoded | `error.badfetch` |
//!
//! # Observability
//!
//! Each fetch runs in a `fetch` tracing span (debug level) with `url`, `kind`,
//! `cache` (hit, stale, revalidated, miss, coalesced, bypass, error), `status`
//! and `elapsed_us`; [`Fetcher::stats`] returns counters for export.
#![forbid(unsafe_code)]

mod config;
mod data_url;
mod error;
mod fetcher;
mod file;
mod form;
pub mod policy;
mod request;
mod resolve;
mod response;
mod store;

pub use config::{ContentTypes, FetcherConfig};
pub use data_url::{DataUrl, decode as decode_data_url};
pub use error::FetchError;
pub use fetcher::Fetcher;
pub use file::content_type_for;
pub use request::{Enctype, FetchRequest, FormValue, Method, ResourceKind, SessionJar};
pub use resolve::resolve;
pub use response::{CacheOutcome, FetchResponse, FetchStats, HeaderSummary};
