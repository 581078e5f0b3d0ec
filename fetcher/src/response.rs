//! What the fetcher hands back: the body, where it came from, how the cache
//! answered, and the compiled form a previous caller stored for the same entity.

use std::any::Any;
use std::sync::Arc;

use bytes::Bytes;
use url::Url;

use crate::store::Entry;

/// How the cache took part in a fetch; recorded on the fetch's tracing span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheOutcome {
    /// A fresh stored response was used; nothing went upstream.
    Hit,
    /// A stale stored response was used because `maxstale` allowed it.
    Stale,
    /// A stored response was confirmed unchanged (HTTP 304, or an unchanged file) and reused.
    Revalidated,
    /// The response came from upstream.
    Miss,
    /// Another caller's in-flight request for the same URL answered this one.
    Coalesced,
    /// The cache was not consulted (`<submit>`, POST, `data:` URLs).
    Bypass,
}

impl CacheOutcome {
    /// Lower-case name used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Stale => "stale",
            Self::Revalidated => "revalidated",
            Self::Miss => "miss",
            Self::Coalesced => "coalesced",
            Self::Bypass => "bypass",
        }
    }
}

/// The response headers a session may want to see (for `<data>` and logs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderSummary {
    /// `ETag`.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Expires`.
    pub expires: Option<String>,
    /// `Content-Length` of the body as received.
    pub content_length: u64,
}

/// A successful fetch.
#[derive(Clone)]
pub struct FetchResponse {
    /// Final URL, after redirects: the base for the document's relative references.
    pub url: Url,
    /// HTTP status (200 for `file:` and `data:`).
    pub status: u16,
    /// `Content-Type`, sent by the server or guessed from the file extension.
    pub content_type: Option<String>,
    /// The body.
    pub bytes: Bytes,
    /// How the cache answered.
    pub cache: CacheOutcome,
    /// Selected response headers.
    pub headers: HeaderSummary,
    /// The compiled form stored for this very entity by an earlier caller, if any.
    pub compiled: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) entry: Option<Arc<Entry>>,
}

impl std::fmt::Debug for FetchResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchResponse")
            .field("url", &self.url.as_str())
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .field("cache", &self.cache)
            .field("compiled", &self.compiled.is_some())
            .finish_non_exhaustive()
    }
}

impl FetchResponse {
    /// A response that did not come from the fetcher (the interpreter's
    /// `builtin:` resources, tests). It has no cache entry, so
    /// [`crate::Fetcher::store_compiled`] ignores it.
    pub fn from_bytes(url: Url, content_type: Option<String>, bytes: Bytes) -> Self {
        let headers = HeaderSummary {
            content_length: bytes.len() as u64,
            ..HeaderSummary::default()
        };
        Self {
            url,
            status: 200,
            content_type,
            bytes,
            cache: CacheOutcome::Bypass,
            headers,
            compiled: None,
            entry: None,
        }
    }

    /// The stored compiled form, if there is one of type `T`.
    pub fn compiled_as<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.compiled.clone().and_then(|c| c.downcast::<T>().ok())
    }

    /// The body as text, decoding invalid UTF-8 lossily.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
    }
}

/// Counters the platform exports; totals since the fetcher was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchStats {
    /// Fetch calls made (prefetches included).
    pub requests: u64,
    /// Answered from a fresh stored response.
    pub hits: u64,
    /// Answered from a stale stored response that `maxstale` allowed.
    pub stale_hits: u64,
    /// Answered by a response from upstream.
    pub misses: u64,
    /// Conditional requests sent upstream (or file validators checked).
    pub revalidations: u64,
    /// Revalidations that confirmed the stored response (HTTP 304 or unchanged file).
    pub revalidated_unchanged: u64,
    /// Calls that joined another caller's in-flight request.
    pub coalesced: u64,
    /// HTTP requests actually sent upstream (every redirect hop counts).
    pub upstream_requests: u64,
    /// Calls that ended with a [`crate::FetchError`].
    pub errors: u64,
    /// Prefetches started.
    pub prefetches: u64,
    /// Bytes the cache holds (bodies plus per-entry overhead).
    pub bytes_cached: u64,
    /// URLs the cache holds.
    pub entries: u64,
}
