//! Serving a session's fetches in text mode through the `vxp-fetcher` crate
//! (VoiceXML 2.0 §6.1): documents, grammars, scripts, `<data>`, `<submit>`
//! and `<subdialog>` requests become fetcher requests on a small
//! current-thread tokio runtime, one at a time, with one cookie jar per call.

use std::collections::HashMap;
use std::sync::Arc;

use url::Url;
use vxp_fetcher::{
    Enctype, FetchError, FetchResponse, Fetcher, FetcherConfig, FormValue, SessionJar,
};
use vxp_interpreter::vxml::session::{
    AudioFetch, FetchId, FetchRequest, FetchResult, Fetched, Method, ResourceKind, SubmitValue,
};

/// Why the text driver could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The fetcher rejected its configuration.
    #[error("cannot start the fetcher: {0}")]
    Fetcher(#[from] FetchError),
    /// No tokio runtime could be built for the fetches.
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Runs fetches for one call and remembers the responses whose compiled form
/// the session may hand back.
#[derive(Debug)]
pub struct FetchService {
    fetcher: Fetcher,
    jar: SessionJar,
    runtime: tokio::runtime::Runtime,
    /// Responses fetched since the session last waited, by fetch id, for
    /// [`FetchService::store_compiled`]. Cleared at each wait so a long call
    /// does not keep every page's bytes.
    recent: HashMap<FetchId, FetchResponse>,
}

impl FetchService {
    /// A fetcher with the default configuration, its own runtime and a fresh
    /// cookie jar.
    pub fn new() -> Result<Self, SetupError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // reqwest clients bind to the runtime they first run on: build inside it.
        let fetcher = runtime.block_on(async { Fetcher::new(FetcherConfig::default()) })?;
        let jar = fetcher.new_session_jar();
        Ok(Self {
            fetcher,
            jar,
            runtime,
            recent: HashMap::new(),
        })
    }

    /// Fetches what the session asked for and returns the answer for
    /// `Session::handle_fetched`.
    pub fn fetch(&mut self, req: &FetchRequest) -> FetchResult {
        let request = self.translate(req);
        let fetcher = self.fetcher.clone();
        match self.runtime.block_on(fetcher.fetch(request)) {
            Ok(resp) => {
                let fetched = Fetched {
                    url: resp.url.clone(),
                    content_type: resp.content_type.clone(),
                    bytes: Arc::from(resp.bytes.as_ref()),
                    compiled: resp.compiled.clone(),
                };
                self.recent.insert(req.id, resp);
                FetchResult::Ok(fetched)
            }
            Err(err) => {
                tracing::debug!(url = %req.url, error = %err, "fetch failed");
                FetchResult::Err {
                    event: err.event(),
                    message: err.message(),
                }
            }
        }
    }

    /// Fetches an `<audio>` source for a prompt with its fetch settings, through
    /// the fetcher's cache: the bytes, or the fetch error's event name.
    pub fn fetch_audio(
        &mut self,
        url: &Url,
        fetch: &AudioFetch,
        referrer: Option<&Url>,
    ) -> Result<bytes::Bytes, String> {
        let mut out = audio_request(&self.fetcher, url, fetch);
        out.referrer = referrer.cloned();
        out.session = Some(self.jar.clone());
        let fetcher = self.fetcher.clone();
        match self.runtime.block_on(fetcher.fetch(out)) {
            Ok(resp) => Ok(resp.bytes.clone()),
            Err(err) => {
                tracing::debug!(%url, error = %err, "audio fetch failed");
                Err(err.event())
            }
        }
    }

    /// Keeps the session's compiled form of fetch `id` in the fetcher's cache.
    pub fn store_compiled(&self, id: FetchId, compiled: Arc<dyn std::any::Any + Send + Sync>) {
        if let Some(resp) = self.recent.get(&id) {
            self.fetcher.store_compiled(resp, compiled);
        }
    }

    /// Forgets the responses kept for `store_compiled`.
    pub fn forget_recent(&mut self) {
        self.recent.clear();
    }

    fn translate(&self, req: &FetchRequest) -> vxp_fetcher::FetchRequest {
        fetcher_request(&self.fetcher, &self.jar, req)
    }
}

/// The fetcher's request for a prompt's audio file, with the `<audio>`
/// element's own fetch settings (else the audio* properties).
pub fn audio_request(
    fetcher: &Fetcher,
    url: &Url,
    fetch: &AudioFetch,
) -> vxp_fetcher::FetchRequest {
    let mut out = fetcher.request(url.clone(), vxp_fetcher::ResourceKind::Audio);
    out.maxage = fetch.maxage;
    out.maxstale = fetch.maxstale;
    if let Some(timeout) = fetch.timeout {
        out.timeout = timeout;
    }
    out
}

/// The fetcher's request for a session's `Fetch` output: kind, method,
/// submitted values (recordings as files), encoding, `maxage`/`maxstale`,
/// time-out and referrer, with the call's cookie jar. Every driver (text mode,
/// `vxp serve`) fetches through this.
pub fn fetcher_request(
    fetcher: &Fetcher,
    jar: &SessionJar,
    req: &FetchRequest,
) -> vxp_fetcher::FetchRequest {
    let kind = match req.kind {
        ResourceKind::Document | ResourceKind::Subdialog => vxp_fetcher::ResourceKind::Document,
        ResourceKind::Submit => vxp_fetcher::ResourceKind::Submit,
        ResourceKind::Grammar => vxp_fetcher::ResourceKind::Grammar,
        ResourceKind::Script => vxp_fetcher::ResourceKind::Script,
        ResourceKind::Data => vxp_fetcher::ResourceKind::Data,
        ResourceKind::Audio => vxp_fetcher::ResourceKind::Audio,
    };
    let mut out = fetcher.request(req.url.clone(), kind);
    out.method = match req.method {
        Method::Get => vxp_fetcher::Method::Get,
        Method::Post => vxp_fetcher::Method::Post,
    };
    out.params = req
        .params
        .iter()
        .map(|(name, value)| {
            let value = match value {
                SubmitValue::Text(text) => FormValue::Text(text.clone()),
                SubmitValue::Audio {
                    content_type,
                    bytes,
                } => FormValue::File {
                    name: format!("{name}.wav"),
                    content_type: content_type.clone(),
                    bytes: bytes::Bytes::copy_from_slice(bytes),
                },
            };
            (name.clone(), value)
        })
        .collect();
    out.enctype = if req.enctype.eq_ignore_ascii_case("multipart/form-data") {
        Enctype::Multipart
    } else {
        Enctype::UrlEncoded
    };
    out.maxage = req.maxage;
    out.maxstale = req.maxstale;
    if let Some(timeout) = req.timeout {
        out.timeout = timeout;
    }
    out.referrer = req.referrer.clone();
    out.session = Some(jar.clone());
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn request(kind: ResourceKind) -> FetchRequest {
        FetchRequest {
            id: FetchId(7),
            url: Url::parse("http://app.example/next").expect("literal URL"),
            kind,
            method: Method::Post,
            params: vec![
                ("zip".into(), SubmitValue::Text("94103".into())),
                (
                    "msg".into(),
                    SubmitValue::Audio {
                        content_type: "audio/x-wav".into(),
                        bytes: Arc::from(&b"RIFF"[..]),
                    },
                ),
            ],
            enctype: "multipart/form-data".into(),
            maxage: Some(Duration::from_secs(5)),
            maxstale: None,
            timeout: Some(Duration::from_secs(3)),
            fetchhint: None,
            fetchaudio: None,
            referrer: Some(Url::parse("http://app.example/start.vxml").expect("literal URL")),
        }
    }

    #[test]
    fn session_requests_become_fetcher_requests() {
        let service = FetchService::new().expect("fetcher starts");
        let out = service.translate(&request(ResourceKind::Submit));
        assert_eq!(out.kind, vxp_fetcher::ResourceKind::Submit);
        assert_eq!(out.method, vxp_fetcher::Method::Post);
        assert_eq!(out.enctype, Enctype::Multipart);
        assert_eq!(out.timeout, Duration::from_secs(3));
        assert_eq!(out.maxage, Some(Duration::from_secs(5)));
        assert!(out.session.is_some());
        assert_eq!(
            out.params[0],
            ("zip".into(), FormValue::Text("94103".into()))
        );
        assert!(matches!(
            &out.params[1].1,
            FormValue::File { name, content_type, .. } if name == "msg.wav" && content_type == "audio/x-wav"
        ));
    }

    #[test]
    fn subdialogs_are_documents_and_the_default_timeout_applies() {
        let service = FetchService::new().expect("fetcher starts");
        let mut req = request(ResourceKind::Subdialog);
        req.timeout = None;
        req.enctype = "application/x-www-form-urlencoded".into();
        let out = service.translate(&req);
        assert_eq!(out.kind, vxp_fetcher::ResourceKind::Document);
        assert_eq!(out.enctype, Enctype::UrlEncoded);
        assert_eq!(out.timeout, service.fetcher.config().default_timeout());
    }

    #[test]
    fn a_missing_file_is_the_fetchers_event() {
        let mut service = FetchService::new().expect("fetcher starts");
        let mut req = request(ResourceKind::Document);
        req.method = Method::Get;
        req.params.clear();
        req.referrer = None;
        req.url = Url::parse("file:///no/such/vxp/page.vxml").expect("literal URL");
        match service.fetch(&req) {
            FetchResult::Err { event, message } => {
                assert_eq!(event, "error.badfetch.file.notfound");
                assert!(message.contains("page.vxml"), "{message}");
            }
            FetchResult::Ok(f) => panic!("unexpected page {f:?}"),
        }
    }
}
