//! The byte-bounded in-memory cache: per URL, the stored responses (one per
//! `Vary` selection), each with its body and the compiled form callers stored
//! beside it.
//!
//! An [`Entry`] is immutable except for its compiled slot. A 304 creates a new
//! entry that shares the old body and carries the compiled form over, so a
//! revalidated unchanged resource is never compiled again.

use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{self, HeaderMap};
use url::{Position, Url};

use crate::file::FileValidator;
use crate::policy::{self, Heuristic, ResponseMeta, VaryKey};
use crate::response::HeaderSummary;

/// Compiled form stored beside the bytes.
pub(crate) type Compiled = Arc<dyn Any + Send + Sync>;

/// Fixed cost charged per entry on top of its body, so that many tiny
/// entries still count against the byte bound.
const ENTRY_OVERHEAD: u64 = 1024;

/// Most `Vary` selections kept per URL; the oldest is dropped first.
const MAX_VARIANTS: usize = 8;

/// One stored (or just received) response.
pub(crate) struct Entry {
    /// The URL this response answers (one redirect hop).
    pub url: Url,
    /// HTTP status (200 for files).
    pub status: u16,
    /// The stored subset of the response headers.
    pub headers: HeaderMap,
    /// Caching facts.
    pub meta: ResponseMeta,
    /// Freshness lifetime, computed once.
    pub lifetime: Duration,
    /// Request header values this response was selected by.
    pub vary_key: VaryKey,
    /// The body.
    pub body: Bytes,
    /// `Content-Type`, as text.
    pub content_type: Option<String>,
    /// Headers shown to callers.
    pub summary: HeaderSummary,
    /// Validator of a `file:` entry.
    pub file: Option<FileValidator>,
    /// Read on every hit, so a read-write lock: readers never wait for each other.
    compiled: RwLock<Option<Compiled>>,
    /// Held while a compile-once caller compiles, so others wait for its result.
    compiling: Mutex<()>,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("url", &self.url.as_str())
            .field("status", &self.status)
            .field("len", &self.body.len())
            .finish_non_exhaustive()
    }
}

fn header_text(headers: &HeaderMap, name: &header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// What a new entry is made of.
pub(crate) struct EntryParts {
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub request_time: SystemTime,
    pub response_time: SystemTime,
    pub vary_key: VaryKey,
    pub file: Option<FileValidator>,
    pub compiled: Option<Compiled>,
}

impl Entry {
    /// Builds an entry from response parts; `headers` must already be reduced
    /// with [`policy::stored_headers`].
    pub fn new(parts: EntryParts, heuristic: Heuristic) -> Self {
        let meta = ResponseMeta::from_headers(
            parts.status,
            &parts.headers,
            parts.request_time,
            parts.response_time,
        );
        let lifetime = meta.freshness_lifetime(heuristic);
        let summary = HeaderSummary {
            etag: header_text(&parts.headers, &header::ETAG),
            last_modified: header_text(&parts.headers, &header::LAST_MODIFIED),
            cache_control: header_text(&parts.headers, &header::CACHE_CONTROL),
            expires: header_text(&parts.headers, &header::EXPIRES),
            content_length: parts.body.len() as u64,
        };
        Self {
            content_type: header_text(&parts.headers, &header::CONTENT_TYPE),
            url: parts.url,
            status: parts.status,
            headers: parts.headers,
            meta,
            lifetime,
            vary_key: parts.vary_key,
            body: parts.body,
            summary,
            file: parts.file,
            compiled: RwLock::new(parts.compiled),
            compiling: Mutex::new(()),
        }
    }

    /// The entry after a 304: headers freshened, body and compiled form kept.
    pub fn refreshed(
        &self,
        not_modified: &HeaderMap,
        request_time: SystemTime,
        response_time: SystemTime,
        heuristic: Heuristic,
    ) -> Self {
        Self::new(
            EntryParts {
                url: self.url.clone(),
                status: self.status,
                headers: policy::merge_not_modified(&self.headers, not_modified),
                body: self.body.clone(),
                request_time,
                response_time,
                vary_key: self.vary_key.clone(),
                file: self.file,
                compiled: self.compiled(),
            },
            heuristic,
        )
    }

    /// The `Location` of a redirect.
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    /// The compiled form stored for this entity.
    pub fn compiled(&self) -> Option<Compiled> {
        self.compiled
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stores the compiled form of this entity.
    pub fn set_compiled(&self, compiled: Compiled) {
        *self
            .compiled
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(compiled);
    }

    /// Serialises compile-once callers of this entity; plain readers of the
    /// compiled form are not blocked by it.
    pub fn compile_guard(&self) -> MutexGuard<'_, ()> {
        self.compiling
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn weight(&self) -> u64 {
        self.body.len() as u64 + ENTRY_OVERHEAD
    }
}

/// The cache key of a URL: everything but the fragment.
pub(crate) fn cache_key(url: &Url) -> &str {
    &url[..Position::AfterQuery]
}

/// The stored responses of one URL.
#[derive(Debug)]
pub(crate) struct Variants(Vec<Arc<Entry>>);

impl Variants {
    /// The stored responses, newest last.
    pub fn entries(&self) -> &[Arc<Entry>] {
        &self.0
    }
}

/// The process-wide cache, bounded by bytes.
pub(crate) struct Store {
    cache: moka::sync::Cache<String, Arc<Variants>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("entries", &self.cache.entry_count())
            .field("bytes", &self.cache.weighted_size())
            .finish()
    }
}

impl Store {
    /// A cache holding at most `max_bytes`.
    pub fn new(max_bytes: u64) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|_key: &String, v: &Arc<Variants>| {
                let total: u64 = v.0.iter().map(|e| e.weight()).sum();
                u32::try_from(total).unwrap_or(u32::MAX)
            })
            .build();
        Self { cache }
    }

    /// The stored responses of `key`.
    pub fn variants(&self, key: &str) -> Option<Arc<Variants>> {
        self.cache.get(key)
    }

    /// Stores `entry`, replacing the variant selected by the same request headers.
    pub fn insert(&self, key: &str, entry: Arc<Entry>) {
        let mut list: Vec<Arc<Entry>> = self
            .cache
            .get(key)
            .map(|v| {
                v.0.iter()
                    .filter(|e| e.vary_key != entry.vary_key)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if list.len() >= MAX_VARIANTS {
            list.remove(0);
        }
        list.push(entry);
        self.cache.insert(key.to_owned(), Arc::new(Variants(list)));
    }

    /// Drops everything stored for `key`.
    pub fn invalidate(&self, key: &str) {
        self.cache.invalidate(key);
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.cache.invalidate_all();
    }

    /// Bytes held, after pending maintenance.
    pub fn weighted_size(&self) -> u64 {
        self.cache.run_pending_tasks();
        self.cache.weighted_size()
    }

    /// URLs held.
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(url: &str, body: &'static [u8], vary_key: VaryKey) -> Arc<Entry> {
        let now = SystemTime::now();
        Arc::new(Entry::new(
            EntryParts {
                url: Url::parse(url).expect("test url"),
                status: 200,
                headers: HeaderMap::new(),
                body: Bytes::from_static(body),
                request_time: now,
                response_time: now,
                vary_key,
                file: None,
                compiled: None,
            },
            Heuristic {
                fraction: 0.1,
                max: Duration::from_secs(60),
            },
        ))
    }

    #[test]
    fn key_drops_fragment() {
        let u = Url::parse("http://a/b?c=1#frag").expect("url");
        assert_eq!(cache_key(&u), "http://a/b?c=1");
    }

    #[test]
    fn variants_replace_same_selection() {
        let store = Store::new(1 << 20);
        let cookie =
            |v: &'static str| vec![(header::COOKIE, Some(header::HeaderValue::from_static(v)))];
        store.insert("k", entry("http://a/", b"1", cookie("a")));
        store.insert("k", entry("http://a/", b"2", cookie("b")));
        store.insert("k", entry("http://a/", b"3", cookie("a")));
        let v = store.variants("k").expect("stored");
        let bodies: Vec<&[u8]> = v.entries().iter().map(|e| &e.body[..]).collect();
        assert_eq!(bodies, vec![&b"2"[..], &b"3"[..]]);
    }

    #[test]
    fn byte_bound_evicts() {
        static BIG: [u8; 4096] = [b'x'; 4096];
        let store = Store::new(3 * (4096 + ENTRY_OVERHEAD));
        for i in 0..20 {
            store.insert(&format!("k{i}"), entry("http://a/", &BIG, Vec::new()));
        }
        assert!(store.weighted_size() <= 3 * (4096 + ENTRY_OVERHEAD));
    }

    #[test]
    fn refresh_keeps_body_and_compiled() {
        let e = entry("http://a/", b"body", Vec::new());
        e.set_compiled(Arc::new(7u32));
        let mut nm = HeaderMap::new();
        nm.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("max-age=30"),
        );
        let now = SystemTime::now();
        let r = e.refreshed(
            &nm,
            now,
            now,
            Heuristic {
                fraction: 0.1,
                max: Duration::from_secs(60),
            },
        );
        assert_eq!(&r.body[..], b"body");
        assert_eq!(r.lifetime, Duration::from_secs(30));
        let c = r.compiled().expect("carried over");
        assert_eq!(c.downcast_ref::<u32>(), Some(&7));
    }
}
