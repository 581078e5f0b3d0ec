//! Where a call was redirected from: the `Diversion` header (RFC 5806) and
//! the `History-Info` header (RFC 7044), read from an incoming INVITE into
//! the list VoiceXML 2.0 §5.1.4 exposes as `session.connection.redirect`
//! (most recent redirection first, each with `uri`, `pi`, `si`, `reason`).
//!
//! `Diversion` lists the most recent diversion first; each entry's
//! `privacy` and `screen` parameters become `pi` and `si`, `reason` is kept
//! as spelled (`unconditional`, `user-busy`, `no-answer`, ...). When there is
//! no `Diversion`, `History-Info` is used: its entries are in `index` order
//! (oldest first) and the last one is the current target, so every entry
//! before it is a redirection; an entry's escaped `Reason` header (RFC 3326,
//! `SIP;cause=302`) says why it was retargeted, mapped to the `Diversion`
//! words as RFC 6044 §4 does, and an escaped `Privacy: history` makes its `pi`
//! `restricted`.

use super::uri::{NameAddr, split_outside};

/// One redirection of the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diverted {
    /// The URI the call was redirected from (without escaped headers).
    pub uri: String,
    /// Presentation information (`Diversion` `privacy`).
    pub pi: Option<String>,
    /// Screening information (`Diversion` `screen`).
    pub si: Option<String>,
    /// Why the call was redirected.
    pub reason: Option<String>,
}

/// Bound on the entries read: a header list from the network must not make
/// the session's redirect array arbitrarily long.
const MAX_ENTRIES: usize = 32;

/// The redirections of a call from its INVITE's headers (names compared
/// case-insensitively), most recent first.
pub fn redirections(headers: &[(String, String)]) -> Vec<Diverted> {
    let values = |name: &'static str| {
        headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| split_outside(v, b','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let diversion: Vec<Diverted> = values("Diversion")
        .filter_map(|v| NameAddr::parse(v).ok())
        .take(MAX_ENTRIES)
        .map(|a| Diverted {
            uri: bare(&a),
            pi: a.param("privacy").flatten().map(str::to_owned),
            si: a.param("screen").flatten().map(str::to_owned),
            reason: a.param("reason").flatten().map(str::to_owned),
        })
        .collect();
    if !diversion.is_empty() {
        return diversion;
    }
    let mut history: Vec<(Vec<u32>, NameAddr)> = values("History-Info")
        .filter_map(|v| NameAddr::parse(v).ok())
        .take(MAX_ENTRIES)
        .map(|a| {
            let index = a
                .param("index")
                .flatten()
                .map(|i| i.split('.').filter_map(|n| n.parse().ok()).collect())
                .unwrap_or_default();
            (index, a)
        })
        .collect();
    history.sort_by(|a, b| a.0.cmp(&b.0));
    // The last entry is where the call is now, not a redirection.
    history.pop();
    history
        .into_iter()
        .rev()
        .map(|(_, a)| {
            let escaped = escaped_headers(&a);
            let reason = escaped
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("Reason"))
                .map(|(_, v)| reason_word(v));
            let private = escaped.iter().any(|(n, v)| {
                n.eq_ignore_ascii_case("Privacy") && v.to_ascii_lowercase().contains("history")
            });
            Diverted {
                uri: bare(&a),
                pi: private.then(|| "restricted".to_owned()),
                si: None,
                reason,
            }
        })
        .collect()
}

/// The address without its escaped headers (`?Reason=...`).
fn bare(a: &NameAddr) -> String {
    let mut uri = a.uri.clone();
    uri.headers = None;
    uri.to_string()
}

/// `?Reason=SIP%3Bcause%3D302&Privacy=history` → name/value pairs, decoded.
fn escaped_headers(a: &NameAddr) -> Vec<(String, String)> {
    let Some(h) = &a.uri.headers else {
        return Vec::new();
    };
    h.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(n, v)| {
            (
                n.to_owned(),
                percent_encoding::percent_decode_str(v)
                    .decode_utf8_lossy()
                    .into_owned(),
            )
        })
        .collect()
}

/// A `Reason` value (`SIP;cause=486;text="Busy"`) as a `Diversion` reason
/// (RFC 6044 §4 mapping), or the cause itself when it has no word.
fn reason_word(reason: &str) -> String {
    let cause = split_outside(reason, b';')
        .into_iter()
        .filter_map(|p| p.trim().split_once('='))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("cause"))
        .map(|(_, v)| v.trim().to_owned());
    match cause.as_deref() {
        Some("302") => "unconditional".into(),
        Some("486" | "600") => "user-busy".into(),
        Some("408" | "480") => "no-answer".into(),
        Some("404") => "unknown".into(),
        Some("503") => "out-of-service".into(),
        Some(other) => other.into(),
        None => reason.trim().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(name: &str, value: &str) -> (String, String) {
        (name.into(), value.into())
    }

    #[test]
    fn diversion_entries_most_recent_first_in_one_or_several_headers() {
        let headers = [
            h("Via", "SIP/2.0/UDP 192.0.2.9"),
            h(
                "Diversion",
                "<sip:+15550100@gw.example.com>;reason=user-busy;counter=1;privacy=off;screen=no",
            ),
            h(
                "diversion",
                "\"Desk\" <sip:2000@pbx.example.com>;reason=no-answer, <tel:+15550999>;reason=unconditional",
            ),
        ];
        assert_eq!(
            redirections(&headers),
            [
                Diverted {
                    uri: "sip:+15550100@gw.example.com".into(),
                    pi: Some("off".into()),
                    si: Some("no".into()),
                    reason: Some("user-busy".into()),
                },
                Diverted {
                    uri: "sip:2000@pbx.example.com".into(),
                    pi: None,
                    si: None,
                    reason: Some("no-answer".into()),
                },
                Diverted {
                    uri: "tel:+15550999".into(),
                    pi: None,
                    si: None,
                    reason: Some("unconditional".into()),
                },
            ]
        );
    }

    #[test]
    fn history_info_in_index_order_without_the_current_target() {
        let headers = [
            h(
                "History-Info",
                "<sip:bob@example.com?Reason=SIP%3Bcause%3D302%3Btext%3D%22Moved%22>;index=1",
            ),
            h(
                "History-Info",
                "<sip:ivr@mcp.example.com>;index=1.1.1;rc=1.1, <sip:carol@example.com?Reason=SIP%3Bcause%3D486&Privacy=history>;index=1.1",
            ),
        ];
        assert_eq!(
            redirections(&headers),
            [
                Diverted {
                    uri: "sip:carol@example.com".into(),
                    pi: Some("restricted".into()),
                    si: None,
                    reason: Some("user-busy".into()),
                },
                Diverted {
                    uri: "sip:bob@example.com".into(),
                    pi: None,
                    si: None,
                    reason: Some("unconditional".into()),
                },
            ]
        );
    }

    #[test]
    fn diversion_wins_and_garbage_is_skipped() {
        let headers = [
            h(
                "History-Info",
                "<sip:a@example.com>;index=1, <sip:b@example.com>;index=1.1",
            ),
            h(
                "Diversion",
                "not a uri, <sip:c@example.com>;reason=deflection",
            ),
        ];
        let got = redirections(&headers);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].uri, "sip:c@example.com");
        assert!(redirections(&[h("History-Info", "<sip:only@example.com>;index=1")]).is_empty());
        let many = vec![h("Diversion", "<sip:x@example.com>"); 100];
        assert_eq!(redirections(&many).len(), MAX_ENTRIES);
    }
}
