//! Fetch failures and the VoiceXML events they become.
//!
//! VoiceXML 2.0 §5.2.6 names the base event `error.badfetch` and asks for a
//! detailed `error.badfetch.<protocol>.<response code>` when a protocol reports
//! a code. [`FetchError::event`] follows that rule with the URL scheme as the
//! protocol (`http`, `https`, `file`, `data`), so a document can catch
//! `error.badfetch.https` for every secure-site failure, or
//! `error.badfetch.http.404` for one status. Failures below HTTP (time-out,
//! refused connection, TLS) use a word in place of the response code. The
//! complete table is in the crate documentation.

use std::time::Duration;

use url::Url;

use crate::ResourceKind;

/// Why a fetch failed. Cloneable so one upstream failure can be handed to every
/// coalesced waiter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL scheme is not one the fetcher serves (`builtin:` belongs to the interpreter).
    #[error("{url}: unsupported URL scheme")]
    UnsupportedScheme {
        /// The URL that was asked for.
        url: String,
    },
    /// A reference could not be resolved into an absolute URL.
    #[error("{reference}: not a valid URL ({reason})")]
    InvalidUrl {
        /// The reference as written in the document.
        reference: String,
        /// What the URL parser objected to.
        reason: String,
    },
    /// A `file:` URL was asked for by a document that was not itself loaded from a file.
    #[error(
        "{url}: file URLs may only be fetched from documents loaded from files (asked by {referrer})"
    )]
    FileForbidden {
        /// The file URL.
        url: String,
        /// The document that asked for it.
        referrer: String,
    },
    /// The file named by a `file:` URL does not exist.
    #[error("{url}: no such file")]
    FileNotFound {
        /// The file URL.
        url: String,
    },
    /// Reading a file failed for another reason (permissions, not a regular file, ...).
    #[error("{url}: cannot read file ({reason})")]
    FileIo {
        /// The file URL.
        url: String,
        /// The operating-system error.
        reason: String,
    },
    /// A `data:` URL does not follow RFC 2397.
    #[error("{url}: malformed data URL ({reason})")]
    MalformedDataUrl {
        /// The start of the data URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The whole fetch (connection, redirects and body) took longer than `fetchtimeout`.
    #[error("{url}: no complete answer within {after:?} (fetchtimeout)")]
    Timeout {
        /// The URL being fetched when time ran out.
        url: String,
        /// The time-out that expired.
        after: Duration,
    },
    /// The host name could not be resolved.
    #[error("{url}: host name could not be resolved ({reason})")]
    Dns {
        /// The URL.
        url: String,
        /// The resolver's error.
        reason: String,
    },
    /// The TCP connection was refused or could not be established.
    #[error("{url}: connection failed ({reason})")]
    Connect {
        /// The URL.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The TLS handshake failed (bad or untrusted certificate, protocol mismatch).
    #[error("{url}: TLS failure ({reason})")]
    Tls {
        /// The URL.
        url: String,
        /// The TLS error.
        reason: String,
    },
    /// The connection broke or the server sent something that is not HTTP.
    #[error("{url}: protocol failure ({reason})")]
    Protocol {
        /// The URL.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The server answered with a 4xx or 5xx status.
    #[error("{url}: server answered HTTP {status}")]
    Http {
        /// The URL.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// More redirects than the configured limit, or a redirect without a usable `Location`.
    #[error("{url}: redirect failure ({reason})")]
    Redirect {
        /// The URL that redirected.
        url: String,
        /// Too many hops, or what is wrong with `Location`.
        reason: String,
    },
    /// The body is larger than the configured `max_body_bytes`.
    #[error("{url}: body larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The configured limit.
        limit: u64,
    },
    /// The content type is not accepted for this kind of resource.
    #[error("{url}: content type {content_type} is not accepted for a {kind:?} resource")]
    UnsupportedContentType {
        /// The URL.
        url: String,
        /// The `Content-Type` the server sent.
        content_type: String,
        /// What the resource was fetched as.
        kind: ResourceKind,
    },
    /// The request itself cannot be built (for example a recording submitted URL-encoded).
    #[error("{url}: cannot build the request ({reason})")]
    BadRequest {
        /// The URL.
        url: String,
        /// Why the request is invalid.
        reason: String,
    },
    /// The HTTP client could not be created from the configuration.
    #[error("HTTP client setup failed ({reason})")]
    Client {
        /// The client builder's error.
        reason: String,
    },
}

impl FetchError {
    /// The VoiceXML event a document catches for this failure.
    pub fn event(&self) -> String {
        match self {
            Self::UnsupportedScheme { .. }
            | Self::InvalidUrl { .. }
            | Self::Client { .. }
            | Self::BadRequest { .. } => "error.badfetch".to_owned(),
            Self::FileForbidden { .. } => "error.badfetch.file.forbidden".to_owned(),
            Self::FileNotFound { .. } => "error.badfetch.file.notfound".to_owned(),
            Self::FileIo { .. } => "error.badfetch.file.io".to_owned(),
            Self::MalformedDataUrl { .. } => "error.badfetch.data.malformed".to_owned(),
            Self::Timeout { url, .. } => format!("error.badfetch.{}.timeout", protocol(url)),
            Self::Dns { url, .. } => format!("error.badfetch.{}.dns", protocol(url)),
            Self::Connect { url, .. } => format!("error.badfetch.{}.connect", protocol(url)),
            Self::Tls { url, .. } => format!("error.badfetch.{}.tls", protocol(url)),
            Self::Protocol { url, .. } => format!("error.badfetch.{}.protocol", protocol(url)),
            Self::Http { url, status } => format!("error.badfetch.{}.{status}", protocol(url)),
            Self::Redirect { url, .. } => format!("error.badfetch.{}.redirect", protocol(url)),
            Self::TooLarge { url, .. } => format!("error.badfetch.{}.toolarge", protocol(url)),
            Self::UnsupportedContentType { url, .. } => {
                format!("error.badfetch.{}.contenttype", protocol(url))
            }
        }
    }

    /// The text for the event's `_message`: the URL and the reason.
    pub fn message(&self) -> String {
        self.to_string()
    }
}

/// The protocol part of a detailed event: the URL scheme in lower case, or
/// `http` when the URL cannot be parsed (it came from an HTTP exchange).
fn protocol(url: &str) -> &str {
    match url.split_once(':') {
        Some((scheme, _))
            if !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.') =>
        {
            match scheme {
                "https" | "HTTPS" => "https",
                "file" => "file",
                "data" => "data",
                _ => "http",
            }
        }
        _ => "http",
    }
}

/// Builds the error for `url` with an `url::Url`, so call sites stay short.
pub(crate) fn url_string(url: &Url) -> String {
    url.as_str().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_status_becomes_detailed_event() {
        let e = FetchError::Http {
            url: "http://app/x.vxml".into(),
            status: 404,
        };
        assert_eq!(e.event(), "error.badfetch.http.404");
        assert_eq!(e.message(), "http://app/x.vxml: server answered HTTP 404");
        let e = FetchError::Http {
            url: "https://app/x.vxml".into(),
            status: 503,
        };
        assert_eq!(e.event(), "error.badfetch.https.503");
    }

    #[test]
    fn transport_failures_name_protocol_and_cause() {
        let t = FetchError::Timeout {
            url: "http://app/".into(),
            after: Duration::from_secs(2),
        };
        assert_eq!(t.event(), "error.badfetch.http.timeout");
        assert!(t.message().contains("http://app/"));
        let tls = FetchError::Tls {
            url: "https://app/".into(),
            reason: "unknown issuer".into(),
        };
        assert_eq!(tls.event(), "error.badfetch.https.tls");
        let c = FetchError::Connect {
            url: "http://127.0.0.1:1/".into(),
            reason: "refused".into(),
        };
        assert_eq!(c.event(), "error.badfetch.http.connect");
    }

    #[test]
    fn local_failures_use_their_scheme() {
        assert_eq!(
            FetchError::FileNotFound {
                url: "file:///x".into()
            }
            .event(),
            "error.badfetch.file.notfound"
        );
        assert_eq!(
            FetchError::UnsupportedScheme {
                url: "gopher://x".into()
            }
            .event(),
            "error.badfetch"
        );
    }
}
