//! The async driver: scheme dispatch, the redirect loop, cache look-ups,
//! request coalescing and the reqwest calls. The caching decisions themselves
//! live in [`crate::policy`].
//!
//! Drive loop of one fetch:
//!
//! ```text
//! fetch(req) ─ timeout(fetchtimeout) ─┬─ data:  decode
//!                                     ├─ file:  stat → cached if mtime/len unchanged, else read
//!                                     └─ http(s): for each redirect hop
//!                                          look up → fresh/stale: use it
//!                                                  → else join the URL's in-flight request,
//!                                                    or start one (conditional if validators exist)
//!                                          the in-flight task stores the result, then leaves the map
//! ```

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use reqwest::cookie::CookieStore;
use reqwest::header::{self, HeaderName, HeaderValue};
use tokio::sync::Semaphore;
use tracing::Instrument;
use url::Url;

use crate::error::url_string;
use crate::file::{self, FileValidator};
use crate::form::{self, Body};
use crate::policy::{self, Heuristic, RequestDirectives, Reuse};
use crate::store::{Entry, EntryParts, Store, cache_key};
use crate::{
    CacheOutcome, FetchError, FetchRequest, FetchResponse, FetchStats, FetcherConfig, Method,
    ResourceKind, SessionJar, data_url,
};

/// Value of the `Accept` header of every request; fixed so `Vary: Accept`
/// responses are shared by all callers.
const ACCEPT: &str = "*/*";

/// Stand-in deadline for a `fetchtimeout` too large to add to the clock.
const FAR_FUTURE: Duration = Duration::from_secs(365 * 24 * 3600);

/// The fetching module: one per process, cheap to clone, shared by every session.
///
/// Requires a tokio runtime with time enabled for [`Fetcher::fetch`] and
/// [`Fetcher::prefetch`]. Upstream requests run as tasks of the runtime of the
/// caller that started them, and pooled connections belong to the runtime that
/// opened them: share one fetcher between runtimes only if they live as long
/// as it does.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("store", &self.inner.store)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// The answer of one upstream exchange, shared by every coalesced waiter.
#[derive(Debug)]
struct Hop {
    entry: Arc<Entry>,
    outcome: CacheOutcome,
    set_cookies: Vec<HeaderValue>,
}

type HopResult = Result<Arc<Hop>, FetchError>;

/// An upstream exchange every coalesced caller awaits.
type SharedHop = Shared<BoxFuture<'static, HopResult>>;

/// Requests are coalesced per URL and per `Cookie` sent: callers whose
/// cookies differ may get different answers.
type InflightKey = (String, Option<HeaderValue>);

struct Inflight {
    id: u64,
    result: SharedHop,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    hits: AtomicU64,
    stale_hits: AtomicU64,
    misses: AtomicU64,
    revalidations: AtomicU64,
    revalidated_unchanged: AtomicU64,
    coalesced: AtomicU64,
    upstream_requests: AtomicU64,
    errors: AtomicU64,
    prefetches: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

struct Inner {
    config: FetcherConfig,
    heuristic: Heuristic,
    client: reqwest::Client,
    store: Store,
    inflight: Mutex<HashMap<InflightKey, Inflight>>,
    next_id: AtomicU64,
    counters: Counters,
    prefetch_permits: Arc<Semaphore>,
    user_agent: HeaderValue,
}

/// What the cache says about a request before going upstream.
enum Lookup {
    Use(Arc<Entry>, CacheOutcome),
    Revalidate(Arc<Entry>),
    Miss,
}

impl Fetcher {
    /// Creates the fetcher and its HTTP client.
    pub fn new(config: FetcherConfig) -> Result<Self, FetchError> {
        let client_error = |e: &dyn std::fmt::Display| FetchError::Client {
            reason: e.to_string(),
        };
        let user_agent = HeaderValue::from_str(&config.user_agent).map_err(|e| client_error(&e))?;
        let client = reqwest::Client::builder()
            .user_agent(user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .danger_accept_invalid_certs(!config.https_cert_errors_fatal)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| client_error(&e))?;
        let heuristic = Heuristic {
            fraction: config.heuristic_fraction,
            max: Duration::from_secs(config.heuristic_max_secs),
        };
        Ok(Self {
            inner: Arc::new(Inner {
                heuristic,
                client,
                store: Store::new(config.cache_bytes),
                inflight: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                counters: Counters::default(),
                prefetch_permits: Arc::new(Semaphore::new(config.prefetch_concurrency.max(1))),
                user_agent,
                config,
            }),
        })
    }

    /// The configuration the fetcher was created with.
    pub fn config(&self) -> &FetcherConfig {
        &self.inner.config
    }

    /// A new, empty cookie jar for one session.
    pub fn new_session_jar(&self) -> SessionJar {
        SessionJar::default()
    }

    /// A GET of `url` as `kind` with the configured default `fetchtimeout`.
    pub fn request(&self, url: Url, kind: ResourceKind) -> FetchRequest {
        FetchRequest::new(url, kind, self.inner.config.default_timeout())
    }

    /// Fetches a resource. The whole fetch (redirects and body included)
    /// finishes within `req.timeout`, or fails with a time-out error.
    pub async fn fetch(&self, req: FetchRequest) -> Result<FetchResponse, FetchError> {
        let started = Instant::now();
        let span = tracing::debug_span!(
            "fetch",
            url = %req.url,
            kind = ?req.kind,
            cache = tracing::field::Empty,
            status = tracing::field::Empty,
            error = tracing::field::Empty,
            elapsed_us = tracing::field::Empty,
        );
        bump(&self.inner.counters.requests);
        let timeout = req.timeout;
        // A document may ask for an absurd fetchtimeout; it must not overflow.
        let deadline = started
            .checked_add(timeout)
            .unwrap_or_else(|| started + FAR_FUTURE);
        let result = match tokio::time::timeout(timeout, self.fetch_untimed(&req, deadline))
            .instrument(span.clone())
            .await
        {
            Ok(result) => result,
            Err(_) => Err(FetchError::Timeout {
                url: url_string(&req.url),
                after: timeout,
            }),
        };
        let counters = &self.inner.counters;
        match &result {
            Ok(resp) => {
                match resp.cache {
                    CacheOutcome::Hit => bump(&counters.hits),
                    CacheOutcome::Stale => bump(&counters.stale_hits),
                    CacheOutcome::Miss | CacheOutcome::Bypass => bump(&counters.misses),
                    CacheOutcome::Coalesced => bump(&counters.coalesced),
                    CacheOutcome::Revalidated => {}
                }
                span.record("cache", resp.cache.as_str());
                span.record("status", resp.status);
            }
            Err(e) => {
                bump(&counters.errors);
                span.record("cache", "error");
                span.record("error", tracing::field::display(e));
            }
        }
        span.record("elapsed_us", started.elapsed().as_micros() as u64);
        result
    }

    /// Answers from the cache alone, without I/O: a fresh (or `maxstale`-allowed)
    /// stored http(s) response, or a decoded `data:` URL. `None` means
    /// [`Fetcher::fetch`] has to go upstream (or to the file system).
    pub fn cached(&self, req: &FetchRequest) -> Option<FetchResponse> {
        match req.url.scheme() {
            "data" => self.fetch_data(req).ok(),
            "http" | "https" if is_cacheable(req) && req.params.is_empty() => {
                let key = cache_key(&req.url);
                match self.lookup(key, &req.url, req.session.as_ref(), directives(req)) {
                    Lookup::Use(entry, outcome) if !is_redirect(entry.status) => {
                        let mut resp = response(&entry, outcome);
                        resp.url.set_fragment(req.url.fragment());
                        self.check_content_type(req, &resp).ok()?;
                        bump(&self.inner.counters.requests);
                        bump(if outcome == CacheOutcome::Hit {
                            &self.inner.counters.hits
                        } else {
                            &self.inner.counters.stale_hits
                        });
                        Some(resp)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Stores the compiled form of `resp`'s entity; the next fetch of the same
    /// entity (same URL, and unchanged after any revalidation) returns it in
    /// [`FetchResponse::compiled`]. Ignored for responses that are not cached.
    pub fn store_compiled(&self, resp: &FetchResponse, compiled: Arc<dyn Any + Send + Sync>) {
        if let Some(entry) = &resp.entry {
            entry.set_compiled(compiled);
        }
    }

    /// Fetches and returns the compiled form, compiling at most once per cached
    /// entity: concurrent callers of the same entity wait for the first
    /// compilation instead of repeating it (callers that only `fetch` are not
    /// held up). A compile error is returned to the caller and not stored, so
    /// the next caller tries again.
    pub async fn fetch_compiled<T, E>(
        &self,
        req: FetchRequest,
        compile: impl FnOnce(&FetchResponse) -> Result<T, E>,
    ) -> Result<(FetchResponse, Result<Arc<T>, E>), FetchError>
    where
        T: Any + Send + Sync,
    {
        let mut resp = self.fetch(req).await?;
        if let Some(done) = resp.compiled_as::<T>() {
            return Ok((resp, Ok(done)));
        }
        let Some(entry) = resp.entry.clone() else {
            let compiled = compile(&resp).map(Arc::new);
            return Ok((resp, compiled));
        };
        let guard = entry.compile_guard();
        if let Some(done) = entry.compiled().and_then(|c| c.downcast::<T>().ok()) {
            drop(guard);
            resp.compiled = Some(done.clone());
            return Ok((resp, Ok(done)));
        }
        let compiled = compile(&resp).map(Arc::new);
        if let Ok(value) = &compiled {
            entry.set_compiled(value.clone());
            resp.compiled = Some(value.clone());
        }
        drop(guard);
        Ok((resp, compiled))
    }

    /// Starts background fetches (`fetchhint="prefetch"`): at most
    /// `prefetch_concurrency` run at once; a later [`Fetcher::fetch`] of the same
    /// URL joins the one in flight or finds it cached. Failures are only logged:
    /// the document gets its error if and when it needs the resource. Does
    /// nothing outside a tokio runtime.
    pub fn prefetch(&self, reqs: Vec<FetchRequest>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("prefetch asked outside a tokio runtime; skipped");
            return;
        };
        for req in reqs {
            bump(&self.inner.counters.prefetches);
            let this = self.clone();
            let permits = self.inner.prefetch_permits.clone();
            runtime.spawn(async move {
                // The semaphore is never closed, so acquiring only waits.
                let _permit = permits.acquire_owned().await;
                let url = req.url.clone();
                if let Err(e) = this.fetch(req).await {
                    tracing::debug!(%url, error = %e, "prefetch failed");
                }
            });
        }
    }

    /// Drops everything stored for `url` (bytes and compiled forms), so the
    /// next fetch goes to the origin; for operators after an application update.
    pub fn invalidate(&self, url: &Url) {
        self.inner.store.invalidate(cache_key(url));
    }

    /// Empties the whole cache.
    pub fn clear(&self) {
        self.inner.store.clear();
    }

    /// Counters since creation.
    pub fn stats(&self) -> FetchStats {
        let c = &self.inner.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        FetchStats {
            requests: load(&c.requests),
            hits: load(&c.hits),
            stale_hits: load(&c.stale_hits),
            misses: load(&c.misses),
            revalidations: load(&c.revalidations),
            revalidated_unchanged: load(&c.revalidated_unchanged),
            coalesced: load(&c.coalesced),
            upstream_requests: load(&c.upstream_requests),
            errors: load(&c.errors),
            prefetches: load(&c.prefetches),
            bytes_cached: self.inner.store.weighted_size(),
            entries: self.inner.store.entry_count(),
        }
    }

    async fn fetch_untimed(
        &self,
        req: &FetchRequest,
        deadline: Instant,
    ) -> Result<FetchResponse, FetchError> {
        let resp = match req.url.scheme() {
            "http" | "https" => self.fetch_http(req, deadline).await?,
            "file" => return self.fetch_file(req).await,
            "data" => self.fetch_data(req)?,
            _ => {
                return Err(FetchError::UnsupportedScheme {
                    url: url_string(&req.url),
                });
            }
        };
        self.check_content_type(req, &resp)?;
        Ok(resp)
    }

    fn check_content_type(
        &self,
        req: &FetchRequest,
        resp: &FetchResponse,
    ) -> Result<(), FetchError> {
        match &resp.content_type {
            Some(ct) if !self.inner.config.content_types.accepts(req.kind, ct) => {
                Err(FetchError::UnsupportedContentType {
                    url: url_string(&resp.url),
                    content_type: ct.clone(),
                    kind: req.kind,
                })
            }
            _ => Ok(()),
        }
    }

    fn fetch_data(&self, req: &FetchRequest) -> Result<FetchResponse, FetchError> {
        let decoded = data_url::decode(req.url.as_str())?;
        let mut resp =
            FetchResponse::from_bytes(req.url.clone(), Some(decoded.content_type), decoded.bytes);
        resp.cache = CacheOutcome::Bypass;
        Ok(resp)
    }

    async fn fetch_file(&self, req: &FetchRequest) -> Result<FetchResponse, FetchError> {
        let url = &req.url;
        if let Some(referrer) = req.referrer.as_ref().filter(|r| r.scheme() != "file") {
            return Err(FetchError::FileForbidden {
                url: url_string(url),
                referrer: url_string(referrer),
            });
        }
        let io_error = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => FetchError::FileNotFound {
                url: url_string(url),
            },
            _ => FetchError::FileIo {
                url: url_string(url),
                reason: e.to_string(),
            },
        };
        let path = url.to_file_path().map_err(|()| FetchError::FileIo {
            url: url_string(url),
            reason: "not a local file path".to_owned(),
        })?;
        let meta = tokio::fs::metadata(&path).await.map_err(io_error)?;
        if !meta.is_file() {
            return Err(FetchError::FileIo {
                url: url_string(url),
                reason: "not a regular file".to_owned(),
            });
        }
        let limit = self.inner.config.max_body_bytes;
        if meta.len() > limit {
            return Err(FetchError::TooLarge {
                url: url_string(url),
                limit,
            });
        }
        let validator = FileValidator::of(&meta);
        let key = cache_key(url);
        bump(&self.inner.counters.revalidations);
        let stored = self
            .inner
            .store
            .variants(key)
            .and_then(|v| v.entries().last().cloned())
            .filter(|e| e.file == Some(validator));
        if let Some(entry) = stored {
            bump(&self.inner.counters.revalidated_unchanged);
            let mut resp = response(&entry, CacheOutcome::Revalidated);
            resp.url = url.clone();
            return Ok(resp);
        }
        let body = tokio::fs::read(&path).await.map_err(io_error)?;
        if body.len() as u64 > limit {
            return Err(FetchError::TooLarge {
                url: url_string(url),
                limit,
            });
        }
        let mut headers = header::HeaderMap::new();
        if let Some(ct) = file::content_type_for(path.to_string_lossy().as_ref()) {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        let now = SystemTime::now();
        let mut stored_url = url.clone();
        stored_url.set_fragment(None);
        let entry = Arc::new(Entry::new(
            EntryParts {
                url: stored_url,
                status: 200,
                headers,
                body: Bytes::from(body),
                request_time: now,
                response_time: now,
                vary_key: Vec::new(),
                file: Some(validator),
                compiled: None,
            },
            self.inner.heuristic,
        ));
        self.inner.store.insert(key, entry.clone());
        let mut resp = response(&entry, CacheOutcome::Miss);
        resp.url = url.clone();
        Ok(resp)
    }

    async fn fetch_http(
        &self,
        req: &FetchRequest,
        deadline: Instant,
    ) -> Result<FetchResponse, FetchError> {
        let mut url = match req.method {
            Method::Get => form::with_query(&req.url, &req.params)?,
            Method::Post => req.url.clone(),
        };
        let mut fragment = url.fragment().map(str::to_owned);
        url.set_fragment(None);
        let mut method = req.method;
        let mut coalesced = false;
        for _ in 0..=self.inner.config.max_redirects {
            let (entry, outcome) = if method == Method::Get && is_cacheable(req) {
                self.cached_or_upstream(req, &url, deadline).await?
            } else {
                (
                    self.upstream_uncached(req, &url, method).await?,
                    CacheOutcome::Bypass,
                )
            };
            coalesced |= outcome == CacheOutcome::Coalesced;
            if is_redirect(entry.status) {
                let location = entry.location().ok_or_else(|| FetchError::Redirect {
                    url: url_string(&url),
                    reason: format!("HTTP {} without Location", entry.status),
                })?;
                let next = url.join(location).map_err(|e| FetchError::Redirect {
                    url: url_string(&url),
                    reason: format!("bad Location {location:?}: {e}"),
                })?;
                if !matches!(next.scheme(), "http" | "https") {
                    return Err(FetchError::Redirect {
                        url: url_string(&url),
                        reason: format!("redirect to a {} URL refused", next.scheme()),
                    });
                }
                // RFC 9110 §15.4: 303 always, and 301/302 in practice, turn a POST into a GET.
                if matches!(entry.status, 301..=303) {
                    method = Method::Get;
                }
                tracing::debug!(from = %url, to = %next, status = entry.status, "redirect");
                // RFC 9110 §10.2.2: a Location without a fragment inherits the request's.
                if let Some(f) = next.fragment() {
                    fragment = Some(f.to_owned());
                }
                url = next;
                url.set_fragment(None);
                continue;
            }
            let mut resp = response(
                &entry,
                if coalesced {
                    CacheOutcome::Coalesced
                } else {
                    outcome
                },
            );
            resp.url = url;
            resp.url.set_fragment(fragment.as_deref());
            return Ok(resp);
        }
        Err(FetchError::Redirect {
            url: url_string(&req.url),
            reason: format!("more than {} redirects", self.inner.config.max_redirects),
        })
    }

    /// The cache's answer for one GET hop, going upstream (or joining whoever
    /// already did) when it has none. `deadline` is the caller's
    /// `fetchtimeout`: a joined request that timed out for a caller with less
    /// patience is retried while this caller still has time.
    async fn cached_or_upstream(
        &self,
        req: &FetchRequest,
        url: &Url,
        deadline: Instant,
    ) -> Result<(Arc<Entry>, CacheOutcome), FetchError> {
        let key = cache_key(url);
        let jar = req.session.as_ref();
        let wanted = directives(req);
        if let Lookup::Use(entry, outcome) = self.lookup(key, url, jar, wanted) {
            return Ok((entry, outcome));
        }
        let cookie = jar.and_then(|j| j.0.cookies(url));
        let inflight_key: InflightKey = (key.to_owned(), cookie);
        loop {
            let (result, leader) =
                match self.join_or_start(&inflight_key, url, jar, wanted, deadline) {
                    Ok(joined) => joined,
                    Err(cached) => return Ok(cached),
                };
            let hop = match result.await {
                Err(FetchError::Timeout { .. }) if !leader && Instant::now() < deadline => continue,
                other => other?,
            };
            if let Some(jar) = jar
                && !hop.set_cookies.is_empty()
            {
                jar.0.set_cookies(&mut hop.set_cookies.iter(), url);
            }
            let outcome = if leader {
                hop.outcome
            } else {
                CacheOutcome::Coalesced
            };
            return Ok((hop.entry.clone(), outcome));
        }
    }

    /// Joins the in-flight request for `inflight_key` or starts one; `Err`
    /// carries a cached answer that appeared meanwhile.
    fn join_or_start(
        &self,
        inflight_key: &InflightKey,
        url: &Url,
        jar: Option<&SessionJar>,
        wanted: RequestDirectives,
        deadline: Instant,
    ) -> Result<(SharedHop, bool), (Arc<Entry>, CacheOutcome)> {
        let mut inflight = self
            .inner
            .inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(running) = inflight.get(inflight_key) {
            return Ok((running.result.clone(), false));
        }
        // Checked again under the lock: a request that just finished stored
        // its answer before leaving the in-flight map.
        let conditional = match self.lookup(&inflight_key.0, url, jar, wanted) {
            Lookup::Use(entry, outcome) => return Err((entry, outcome)),
            Lookup::Revalidate(entry) => Some(entry),
            Lookup::Miss => None,
        };
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        // The upstream request outlives an impatient first caller (up to the
        // default fetchtimeout) so that the callers joining it are served.
        let budget = deadline
            .saturating_duration_since(Instant::now())
            .max(self.inner.config.default_timeout());
        let task = tokio::spawn(self.clone().upstream_get(
            url.clone(),
            inflight_key.clone(),
            id,
            conditional,
            budget,
        ));
        let task_url = url_string(url);
        let result = async move {
            task.await.unwrap_or_else(|e| {
                Err(FetchError::Protocol {
                    url: task_url,
                    reason: format!("fetch task failed: {e}"),
                })
            })
        }
        .boxed()
        .shared();
        inflight.insert(
            inflight_key.clone(),
            Inflight {
                id,
                result: result.clone(),
            },
        );
        Ok((result, true))
    }

    fn lookup(
        &self,
        key: &str,
        url: &Url,
        jar: Option<&SessionJar>,
        wanted: RequestDirectives,
    ) -> Lookup {
        let Some(variants) = self.inner.store.variants(key) else {
            return Lookup::Miss;
        };
        let request_header = |name: &HeaderName| self.request_header(name, url, jar);
        let Some(entry) = variants.entries().iter().rev().find(|e| {
            e.file.is_none() && policy::vary_matches(&e.meta.vary, &e.vary_key, request_header)
        }) else {
            return Lookup::Miss;
        };
        match policy::evaluate(&entry.meta, entry.lifetime, wanted, SystemTime::now()) {
            Reuse::Fresh => Lookup::Use(entry.clone(), CacheOutcome::Hit),
            Reuse::Stale => Lookup::Use(entry.clone(), CacheOutcome::Stale),
            Reuse::Revalidate => Lookup::Revalidate(entry.clone()),
        }
    }

    /// The value this fetcher sends for a request header, for `Vary` matching.
    fn request_header(
        &self,
        name: &HeaderName,
        url: &Url,
        jar: Option<&SessionJar>,
    ) -> Option<HeaderValue> {
        if name == header::COOKIE {
            jar.and_then(|j| j.0.cookies(url))
        } else if name == header::USER_AGENT {
            Some(self.inner.user_agent.clone())
        } else if name == header::ACCEPT {
            Some(HeaderValue::from_static(ACCEPT))
        } else {
            None
        }
    }

    /// One upstream GET, run as its own task so that it completes (and fills
    /// the cache) even when the caller that started it gives up.
    async fn upstream_get(
        self,
        url: Url,
        inflight_key: InflightKey,
        id: u64,
        conditional: Option<Arc<Entry>>,
        timeout: Duration,
    ) -> HopResult {
        let result =
            match tokio::time::timeout(timeout, self.send_get(&url, &inflight_key, conditional))
                .await
            {
                Ok(result) => result,
                Err(_) => Err(FetchError::Timeout {
                    url: url_string(&url),
                    after: timeout,
                }),
            };
        let mut inflight = self
            .inner
            .inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if inflight.get(&inflight_key).is_some_and(|i| i.id == id) {
            inflight.remove(&inflight_key);
        }
        result.map(Arc::new)
    }

    async fn send_get(
        &self,
        url: &Url,
        (key, cookie): &InflightKey,
        conditional: Option<Arc<Entry>>,
    ) -> Result<Hop, FetchError> {
        let inner = &self.inner;
        let mut builder = inner.client.get(url.clone()).header(header::ACCEPT, ACCEPT);
        if let Some(cookie) = cookie {
            builder = builder.header(header::COOKIE, cookie.clone());
        }
        if let Some(stored) = &conditional {
            bump(&inner.counters.revalidations);
            for (name, value) in policy::conditional_headers(&stored.headers) {
                builder = builder.header(name, value);
            }
        }
        bump(&inner.counters.upstream_requests);
        let request_time = SystemTime::now();
        let resp = builder.send().await.map_err(|e| classify(url, &e))?;
        let response_time = SystemTime::now();
        let status = resp.status().as_u16();
        let set_cookies: Vec<HeaderValue> = resp
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        if status == 304 {
            let Some(stored) = conditional else {
                return Err(FetchError::Protocol {
                    url: url_string(url),
                    reason: "304 Not Modified to an unconditional request".to_owned(),
                });
            };
            bump(&inner.counters.revalidated_unchanged);
            let entry = Arc::new(stored.refreshed(
                resp.headers(),
                request_time,
                response_time,
                inner.heuristic,
            ));
            if entry.meta.is_storable() {
                inner.store.insert(key, entry.clone());
            } else {
                inner.store.invalidate(key);
            }
            return Ok(Hop {
                entry,
                outcome: CacheOutcome::Revalidated,
                set_cookies,
            });
        }
        if status >= 400 {
            return Err(FetchError::Http {
                url: url_string(url),
                status,
            });
        }
        let headers = policy::stored_headers(resp.headers());
        let body = read_body(url, resp, inner.config.max_body_bytes).await?;
        let vary = policy::Vary::parse(&headers);
        let vary_key = policy::vary_key(&vary, |name| {
            if name == header::COOKIE {
                cookie.clone()
            } else {
                self.request_header(name, url, None)
            }
        });
        // An unchanged body keeps its compiled form even when the server
        // answered 200 instead of 304 (no validators, or a weak server).
        let compiled = conditional
            .filter(|old| old.body == body)
            .and_then(|old| old.compiled());
        let entry = Arc::new(Entry::new(
            EntryParts {
                url: url.clone(),
                status,
                headers,
                body,
                request_time,
                response_time,
                vary_key,
                file: None,
                compiled,
            },
            inner.heuristic,
        ));
        if entry.meta.is_storable() {
            inner.store.insert(key, entry.clone());
        } else {
            inner.store.invalidate(key);
        }
        Ok(Hop {
            entry,
            outcome: CacheOutcome::Miss,
            set_cookies,
        })
    }

    /// A request the cache never answers: POST, and every `<submit>`.
    async fn upstream_uncached(
        &self,
        req: &FetchRequest,
        url: &Url,
        method: Method,
    ) -> Result<Arc<Entry>, FetchError> {
        let inner = &self.inner;
        let mut builder = match method {
            Method::Get => inner.client.get(url.clone()),
            Method::Post => match form::post_body(url, req.enctype, &req.params)? {
                Body::UrlEncoded(text) => inner
                    .client
                    .post(url.clone())
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(text),
                Body::Multipart(form) => inner.client.post(url.clone()).multipart(form),
            },
        }
        .header(header::ACCEPT, ACCEPT);
        if let Some(cookie) = req.session.as_ref().and_then(|j| j.0.cookies(url)) {
            builder = builder.header(header::COOKIE, cookie);
        }
        bump(&inner.counters.upstream_requests);
        let request_time = SystemTime::now();
        let resp = builder.send().await.map_err(|e| classify(url, &e))?;
        let response_time = SystemTime::now();
        if let Some(jar) = &req.session {
            jar.0
                .set_cookies(&mut resp.headers().get_all(header::SET_COOKIE).iter(), url);
        }
        let status = resp.status().as_u16();
        if status >= 400 {
            return Err(FetchError::Http {
                url: url_string(url),
                status,
            });
        }
        if method == Method::Post {
            // RFC 9111 §4.4: a successful unsafe request invalidates the stored responses of its URL.
            inner.store.invalidate(cache_key(url));
        }
        let headers = policy::stored_headers(resp.headers());
        let body = read_body(url, resp, inner.config.max_body_bytes).await?;
        Ok(Arc::new(Entry::new(
            EntryParts {
                url: url.clone(),
                status,
                headers,
                body,
                request_time,
                response_time,
                vary_key: Vec::new(),
                file: None,
                compiled: None,
            },
            inner.heuristic,
        )))
    }
}

fn is_cacheable(req: &FetchRequest) -> bool {
    req.kind != ResourceKind::Submit
}

fn directives(req: &FetchRequest) -> RequestDirectives {
    RequestDirectives {
        max_age: req.maxage,
        max_stale: req.maxstale,
    }
}

fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

fn response(entry: &Arc<Entry>, outcome: CacheOutcome) -> FetchResponse {
    FetchResponse {
        url: entry.url.clone(),
        status: entry.status,
        content_type: entry.content_type.clone(),
        bytes: entry.body.clone(),
        cache: outcome,
        headers: entry.summary.clone(),
        compiled: entry.compiled(),
        entry: Some(entry.clone()),
    }
}

async fn read_body(
    url: &Url,
    mut resp: reqwest::Response,
    limit: u64,
) -> Result<Bytes, FetchError> {
    let too_large = || FetchError::TooLarge {
        url: url_string(url),
        limit,
    };
    let declared = resp.content_length();
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large());
    }
    let capacity = declared.unwrap_or(0).min(limit).min(1 << 20);
    let mut body = BytesMut::with_capacity(usize::try_from(capacity).unwrap_or(0));
    while let Some(chunk) = resp.chunk().await.map_err(|e| classify(url, &e))? {
        if (body.len() + chunk.len()) as u64 > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Sorts a reqwest error into the fetch failures a document can tell apart.
/// The reason is the error's cause chain; reqwest's own top line only
/// repeats the URL.
fn classify(url: &Url, e: &reqwest::Error) -> FetchError {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push(s.to_string());
        source = s.source();
    }
    let reason = if causes.is_empty() {
        e.to_string()
    } else {
        causes.join(": ")
    };
    let lower = reason.to_ascii_lowercase();
    let url = url_string(url);
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        FetchError::Dns { url, reason }
    } else if has_tls_cause(e) {
        FetchError::Tls { url, reason }
    } else if e.is_connect() {
        FetchError::Connect { url, reason }
    } else if e.is_timeout() {
        FetchError::Timeout {
            url,
            after: Duration::ZERO,
        }
    } else {
        FetchError::Protocol { url, reason }
    }
}

/// Whether a rustls error is somewhere in the chain; tokio-rustls hides it
/// inside an `io::Error`, whose `source` skips it, so those are opened too.
fn has_tls_cause(e: &reqwest::Error) -> bool {
    fn is_tls(err: &(dyn std::error::Error + 'static)) -> bool {
        if err.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => is_tls(inner),
            None => false,
        }
    }
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if is_tls(c) {
            return true;
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}

    #[test]
    fn fetcher_and_its_futures_cross_threads() {
        assert_send_sync::<Fetcher>();
        assert_send_sync::<SessionJar>();
        assert_send_sync::<FetchResponse>();
        let fetcher = Fetcher::new(FetcherConfig::default()).expect("default config");
        let url = Url::parse("http://app/main.vxml").expect("url");
        let fut = fetcher.fetch(fetcher.request(url.clone(), ResourceKind::Document));
        assert_send(&fut);
        let compiled = fetcher.fetch_compiled(fetcher.request(url, ResourceKind::Document), |r| {
            Ok::<_, String>(r.bytes.len())
        });
        assert_send(&compiled);
    }

    #[test]
    fn prefetch_outside_a_runtime_is_skipped() {
        let fetcher = Fetcher::new(FetcherConfig::default()).expect("default config");
        let url = Url::parse("http://app/g.grxml").expect("url");
        fetcher.prefetch(vec![fetcher.request(url, ResourceKind::Grammar)]);
        assert_eq!(fetcher.stats().prefetches, 0);
    }
}
