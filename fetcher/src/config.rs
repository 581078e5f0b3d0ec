//! Process-wide fetcher configuration, read from the platform's config file.

use std::time::Duration;

use serde::Deserialize;

use crate::ResourceKind;

/// Settings shared by every fetch of the process. Every field has a default, so
/// a config file names only what it changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetcherConfig {
    /// Upper bound of the cache, in bytes of bodies plus a fixed overhead per entry.
    pub cache_bytes: u64,
    /// Largest body accepted; a bigger one fails with `error.badfetch.<protocol>.toolarge`.
    pub max_body_bytes: u64,
    /// `fetchtimeout` used when neither the document nor its properties set one, in milliseconds.
    pub default_timeout_ms: u64,
    /// `User-Agent` sent with every HTTP request.
    pub user_agent: String,
    /// Content types accepted per resource kind.
    pub content_types: ContentTypes,
    /// Whether an invalid or untrusted https certificate fails the fetch (it should in production).
    pub https_cert_errors_fatal: bool,
    /// Fraction of `Date - Last-Modified` used as freshness lifetime when the server
    /// gives no explicit expiry (RFC 9111 §4.2.2).
    pub heuristic_fraction: f64,
    /// Upper bound of a heuristic freshness lifetime, in seconds.
    pub heuristic_max_secs: u64,
    /// How many `fetchhint="prefetch"` fetches run at the same time.
    pub prefetch_concurrency: usize,
    /// How many redirects one fetch follows before failing.
    pub max_redirects: usize,
}

impl Default for FetcherConfig {
    fn default() -> Self {
        Self {
            cache_bytes: 256 * 1024 * 1024,
            max_body_bytes: 32 * 1024 * 1024,
            default_timeout_ms: 30_000,
            user_agent: concat!("VXP/", env!("CARGO_PKG_VERSION")).to_owned(),
            content_types: ContentTypes::default(),
            https_cert_errors_fatal: true,
            heuristic_fraction: 0.1,
            heuristic_max_secs: 24 * 3600,
            prefetch_concurrency: 8,
            max_redirects: 10,
        }
    }
}

impl FetcherConfig {
    /// The default `fetchtimeout` as a duration.
    pub fn default_timeout(&self) -> Duration {
        Duration::from_millis(self.default_timeout_ms)
    }
}

/// Accepted content types per resource kind. A pattern is `type/subtype`,
/// `type/*`, `*/*`, or `*/*+suffix` (any structured-syntax suffix such as
/// `+xml`); parameters are ignored. A response without `Content-Type` is
/// always accepted, since many file servers send none.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContentTypes {
    /// VoiceXML and CCXML documents, subdialogs and `<submit>` results.
    pub document: Vec<String>,
    /// SRGS grammars (XML and ABNF).
    pub grammar: Vec<String>,
    /// ECMAScript files of `<script src>`.
    pub script: Vec<String>,
    /// Audio prompts and recordings.
    pub audio: Vec<String>,
    /// `<data>` results.
    pub data: Vec<String>,
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

impl Default for ContentTypes {
    fn default() -> Self {
        // Application servers are careless with content types: text/plain and
        // octet-stream are common for pages that parse fine, so they are allowed.
        let document = strings(&[
            "*/xml",
            "*/*+xml",
            "text/plain",
            "text/html",
            "application/octet-stream",
        ]);
        Self {
            grammar: strings(&[
                "*/xml",
                "*/*+xml",
                "application/srgs",
                "application/x-jsgf",
                "text/plain",
                "application/octet-stream",
            ]),
            script: strings(&[
                "application/javascript",
                "application/ecmascript",
                "application/x-javascript",
                "text/javascript",
                "text/ecmascript",
                "text/plain",
                "application/octet-stream",
            ]),
            audio: strings(&["audio/*", "application/octet-stream"]),
            data: strings(&[
                "*/xml",
                "*/*+xml",
                "application/json",
                "text/plain",
                "application/octet-stream",
            ]),
            document,
        }
    }
}

impl ContentTypes {
    /// Whether `content_type` (a full header value) is accepted for `kind`.
    pub fn accepts(&self, kind: ResourceKind, content_type: &str) -> bool {
        let list = match kind {
            ResourceKind::Document | ResourceKind::Submit => &self.document,
            ResourceKind::Grammar => &self.grammar,
            ResourceKind::Script => &self.script,
            ResourceKind::Audio => &self.audio,
            ResourceKind::Data => &self.data,
        };
        let essence = content_type.split(';').next().unwrap_or_default().trim();
        list.iter().any(|p| mime_matches(p, essence))
    }
}

/// Matches one pattern against a `type/subtype`, ignoring ASCII case and
/// without allocating (this runs on every cache hit).
fn mime_matches(pattern: &str, essence: &str) -> bool {
    let Some((ptype, psub)) = pattern.trim().split_once('/') else {
        return false;
    };
    let Some((ctype, csub)) = essence.split_once('/') else {
        return false;
    };
    let type_ok = ptype == "*" || ptype.eq_ignore_ascii_case(ctype);
    let sub_ok = match psub.strip_prefix("*+") {
        Some(suffix) => csub
            .len()
            .checked_sub(suffix.len() + 1)
            .and_then(|at| csub.get(at..))
            .is_some_and(|tail| tail.starts_with('+') && tail[1..].eq_ignore_ascii_case(suffix)),
        None => psub == "*" || psub.eq_ignore_ascii_case(csub),
    };
    type_ok && sub_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_types_suffixes_and_wildcards() {
        let ct = ContentTypes::default();
        assert!(ct.accepts(
            ResourceKind::Document,
            "application/voicexml+xml; charset=utf-8"
        ));
        assert!(ct.accepts(ResourceKind::Document, "text/xml"));
        assert!(!ct.accepts(ResourceKind::Document, "image/png"));
        assert!(ct.accepts(ResourceKind::Audio, "audio/x-wav"));
        assert!(!ct.accepts(ResourceKind::Audio, "text/html"));
        assert!(ct.accepts(ResourceKind::Grammar, "application/srgs+xml"));
        assert!(ct.accepts(ResourceKind::Grammar, "application/srgs"));
        assert!(!ct.accepts(ResourceKind::Script, "application/json"));
        assert!(ct.accepts(ResourceKind::Data, "Application/Atom+XML"));
        assert!(!ct.accepts(ResourceKind::Data, "application/xml-dtd"));
        assert!(!ct.accepts(ResourceKind::Data, "application/+xm"));
    }

    #[test]
    fn config_deserializes_with_defaults() {
        let c: FetcherConfig = serde_json::from_str(
            r#"{"cache_bytes": 1024, "content_types": {"audio": ["audio/wav"]}}"#,
        )
        .expect("valid config");
        assert_eq!(c.cache_bytes, 1024);
        assert_eq!(c.max_redirects, 10);
        assert_eq!(c.content_types.audio, vec!["audio/wav".to_owned()]);
        assert!(!c.content_types.document.is_empty());
        assert_eq!(c.default_timeout(), Duration::from_secs(30));
    }
}
