//! Call routing: which VoiceXML application answers an incoming call.
//!
//! Behind the [`CallRouter`] trait so a Resource Manager can take over later.
//! The table router implements the simple rules of `vxp serve`: the RFC 5552
//! `voicexml=` Request-URI parameter (RFC 5552 §3, "sip:dialog@host;voicexml=URL"),
//! then the dialed number (the Request-URI user part) looked up in a table,
//! then a default application.

use std::collections::BTreeMap;

use url::Url;

use super::config::RoutingConfig;

/// What the router knows about an incoming call.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteRequest {
    /// The Request-URI user part (the dialed number), if any.
    pub user: Option<String>,
    /// The Request-URI parameters, names lower-cased, values percent-decoded.
    pub params: BTreeMap<String, String>,
    /// The whole Request-URI as received.
    pub request_uri: String,
}

/// The router's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Run this initial page.
    Application(Url),
    /// Refuse the call with this SIP status.
    Reject {
        /// 404 (no application), 403 (`voicexml=` not allowed)...
        code: u16,
        /// The reason phrase.
        reason: String,
    },
}

/// Chooses the application for a call.
pub trait CallRouter: Send + Sync + std::fmt::Debug {
    /// The application (or a refusal) for `call`.
    fn route(&self, call: &RouteRequest) -> Route;
}

/// The `[routing]` table of `vxp.toml`.
#[derive(Debug, Clone)]
pub struct TableRouter {
    numbers: BTreeMap<String, String>,
    default: Option<String>,
    allow_voicexml_param: bool,
    base: Url,
}

impl TableRouter {
    /// A router for `config`; relative targets resolve against `base` (the
    /// built-in HTTP server's root URL).
    pub fn new(config: &RoutingConfig, base: Url) -> Self {
        Self {
            numbers: config.numbers.clone(),
            default: config.default.clone(),
            allow_voicexml_param: config.allow_voicexml_param,
            base,
        }
    }

    fn resolve(&self, target: &str, what: &str) -> Route {
        match self.base.join(target) {
            Ok(url) => Route::Application(url),
            Err(err) => {
                tracing::warn!(target, error = %err, "routing target is not a URL");
                Route::Reject {
                    code: 500,
                    reason: format!("bad application URL for {what}"),
                }
            }
        }
    }
}

impl CallRouter for TableRouter {
    fn route(&self, call: &RouteRequest) -> Route {
        if let Some(url) = call.params.get("voicexml") {
            if !self.allow_voicexml_param {
                return Route::Reject {
                    code: 403,
                    reason: "voicexml parameter not allowed".into(),
                };
            }
            return match Url::parse(url) {
                Ok(url) => Route::Application(url),
                Err(_) => Route::Reject {
                    code: 400,
                    reason: "voicexml parameter is not an absolute URL".into(),
                },
            };
        }
        if let Some(target) = call.user.as_deref().and_then(|u| self.numbers.get(u)) {
            return self.resolve(target, "the dialed number");
        }
        match &self.default {
            Some(target) => self.resolve(target, "the default application"),
            None => Route::Reject {
                code: 404,
                reason: "no application for this number".into(),
            },
        }
    }
}

/// Splits a SIP Request-URI into its user part and its parameters
/// (RFC 3261 §19.1.1: `sip:user@host;name=value;flag`). Parameter names are
/// lower-cased and values percent-decoded; headers (`?...`) are ignored.
pub fn route_request(request_uri: &str) -> RouteRequest {
    let rest = request_uri
        .split_once(':')
        .map_or(request_uri, |(_, rest)| rest);
    let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
    let (user, hostpart) = match rest.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, rest),
    };
    // The user part may carry its own ";" parameters (tel-style); drop them.
    let user = user
        .map(|u| u.split(';').next().unwrap_or(u))
        .map(|u| {
            percent_encoding::percent_decode_str(u)
                .decode_utf8_lossy()
                .into_owned()
        })
        .filter(|u| !u.is_empty());
    let params = hostpart
        .split(';')
        .skip(1)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (
                name.trim().to_ascii_lowercase(),
                percent_encoding::percent_decode_str(value.trim())
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        })
        .collect();
    RouteRequest {
        user,
        params,
        request_uri: request_uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> TableRouter {
        TableRouter::new(
            &RoutingConfig::default(),
            Url::parse("http://127.0.0.1:8080/").expect("literal URL"),
        )
    }

    #[test]
    fn the_dialed_number_picks_the_application() {
        let r = router().route(&route_request("sip:2000@127.0.0.1:5060;transport=udp"));
        assert_eq!(
            r,
            Route::Application(
                Url::parse("http://127.0.0.1:8080/directory/directory.vxml").expect("literal")
            )
        );
    }

    #[test]
    fn an_unknown_number_gets_the_default_or_404() {
        let r = router().route(&route_request("sip:9999@host"));
        assert!(matches!(r, Route::Application(u) if u.path() == "/hello/hello.vxml"));
        let config = RoutingConfig {
            default: None,
            ..RoutingConfig::default()
        };
        let strict = TableRouter::new(&config, Url::parse("http://h/").expect("literal"));
        assert!(matches!(
            strict.route(&route_request("sip:9999@host")),
            Route::Reject { code: 404, .. }
        ));
    }

    #[test]
    fn the_rfc5552_voicexml_parameter_wins() {
        let req = route_request(
            "sip:dialog@example.com;voicexml=http%3A%2F%2Fapp.example%2Fa.vxml%3Fx%3D1;Maxage=5",
        );
        assert_eq!(req.user.as_deref(), Some("dialog"));
        assert_eq!(req.params.get("maxage").map(String::as_str), Some("5"));
        assert_eq!(
            router().route(&req),
            Route::Application(Url::parse("http://app.example/a.vxml?x=1").expect("literal"))
        );
        let config = RoutingConfig {
            allow_voicexml_param: false,
            ..RoutingConfig::default()
        };
        let closed = TableRouter::new(&config, Url::parse("http://h/").expect("literal"));
        assert!(matches!(
            closed.route(&req),
            Route::Reject { code: 403, .. }
        ));
        let bad = route_request("sip:dialog@h;voicexml=not-a-url");
        assert!(matches!(
            router().route(&bad),
            Route::Reject { code: 400, .. }
        ));
    }

    #[test]
    fn odd_request_uris_do_not_break_the_splitter() {
        for uri in [
            "",
            "sip:",
            "sip:@",
            "sip:host;;;",
            "tel:+1-555;phone-context=x",
            "@@;=",
        ] {
            let _ = route_request(uri);
        }
        let req = route_request("sip:host.example;lr");
        assert_eq!(req.user, None);
        assert_eq!(req.params.get("lr").map(String::as_str), Some(""));
    }
}
