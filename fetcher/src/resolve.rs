//! Relative URL resolution with `xml:base` (XML Base §4.2, RFC 3986 §5): a
//! reference in a document resolves against the nearest `xml:base`, which
//! itself resolves against the document's URL.

use url::Url;

use crate::FetchError;

/// Resolves `reference` as written in the document fetched from `document`,
/// under the in-scope `xml:base` if there is one.
pub fn resolve(document: &Url, xml_base: Option<&str>, reference: &str) -> Result<Url, FetchError> {
    let invalid = |what: &str, e: url::ParseError| FetchError::InvalidUrl {
        reference: what.to_owned(),
        reason: e.to_string(),
    };
    let base = match xml_base.map(str::trim).filter(|b| !b.is_empty()) {
        Some(b) => document.join(b).map_err(|e| invalid(b, e))?,
        None => document.clone(),
    };
    base.join(reference.trim())
        .map_err(|e| invalid(reference, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("test url")
    }

    #[test]
    fn relative_to_document() {
        let r = resolve(&u("http://app/ivr/main.vxml"), None, "next.vxml#f2").expect("ok");
        assert_eq!(r.as_str(), "http://app/ivr/next.vxml#f2");
    }

    #[test]
    fn xml_base_relative_to_document() {
        let r = resolve(
            &u("http://app/ivr/main.vxml"),
            Some("../grammars/"),
            "yesno.grxml",
        )
        .expect("ok");
        assert_eq!(r.as_str(), "http://app/grammars/yesno.grxml");
        let r = resolve(
            &u("file:///apps/a.vxml"),
            Some("http://media/"),
            "hello.wav",
        )
        .expect("ok");
        assert_eq!(r.as_str(), "http://media/hello.wav");
    }

    #[test]
    fn absolute_reference_wins() {
        let r = resolve(&u("http://app/a.vxml"), Some("http://b/"), "https://c/d").expect("ok");
        assert_eq!(r.as_str(), "https://c/d");
    }

    #[test]
    fn invalid_reference_is_badfetch() {
        let e = resolve(&u("http://app/a.vxml"), None, "http://[::1").expect_err("bad");
        assert_eq!(e.event(), "error.badfetch");
    }
}
