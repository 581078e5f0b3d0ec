//! Encoding a namelist for `<submit>`, `<data>` and `<subdialog>` (VoiceXML 2.0
//! §5.3.8, VoiceXML 2.1 §5): GET puts the pairs in the query string, POST sends
//! `application/x-www-form-urlencoded` or `multipart/form-data`, where
//! recordings travel as file parts with their MIME type.

use url::Url;
use url::form_urlencoded;

use crate::{Enctype, FetchError, FormValue};

/// Appends the namelist to the query string of `url` (GET). Recordings cannot
/// travel in a URL; asking for it is an error the author can fix.
pub fn with_query(url: &Url, params: &[(String, FormValue)]) -> Result<Url, FetchError> {
    let mut out = url.clone();
    if params.is_empty() {
        return Ok(out);
    }
    {
        let mut pairs = out.query_pairs_mut();
        for (name, value) in params {
            pairs.append_pair(name, text_value(url, name, value)?);
        }
    }
    Ok(out)
}

fn text_value<'a>(url: &Url, name: &str, value: &'a FormValue) -> Result<&'a str, FetchError> {
    match value {
        FormValue::Text(t) => Ok(t),
        FormValue::File { .. } => Err(FetchError::BadRequest {
            url: url.as_str().to_owned(),
            reason: format!(
                "'{name}' holds a recording; submit it with method=\"post\" enctype=\"multipart/form-data\""
            ),
        }),
    }
}

/// A POST body ready for reqwest. Multipart bodies are rebuilt for each send
/// because a 307/308 redirect repeats them.
#[derive(Debug)]
pub enum Body {
    /// `application/x-www-form-urlencoded` text.
    UrlEncoded(String),
    /// `multipart/form-data`.
    Multipart(reqwest::multipart::Form),
}

/// Encodes the namelist as a POST body.
pub fn post_body(
    url: &Url,
    enctype: Enctype,
    params: &[(String, FormValue)],
) -> Result<Body, FetchError> {
    match enctype {
        Enctype::UrlEncoded => {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (name, value) in params {
                ser.append_pair(name, text_value(url, name, value)?);
            }
            Ok(Body::UrlEncoded(ser.finish()))
        }
        Enctype::Multipart => {
            let mut form = reqwest::multipart::Form::new();
            for (name, value) in params {
                form = match value {
                    FormValue::Text(t) => form.text(name.clone(), t.clone()),
                    FormValue::File {
                        name: file_name,
                        content_type,
                        bytes,
                    } => {
                        let part =
                            reqwest::multipart::Part::stream(reqwest::Body::from(bytes.clone()))
                                .file_name(file_name.clone())
                                .mime_str(content_type)
                                .map_err(|e| FetchError::BadRequest {
                                    url: url.as_str().to_owned(),
                                    reason: format!(
                                        "'{name}' has an invalid content type {content_type:?}: {e}"
                                    ),
                                })?;
                        form.part(name.clone(), part)
                    }
                };
            }
            Ok(Body::Multipart(form))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("test url")
    }

    #[test]
    fn get_appends_to_existing_query() {
        let params = vec![
            ("city".to_owned(), FormValue::Text("Saint Louis".into())),
            ("n".to_owned(), FormValue::Text("a&b=c".into())),
        ];
        let url = with_query(&u("http://app/q?x=1"), &params).expect("text only");
        assert_eq!(
            url.as_str(),
            "http://app/q?x=1&city=Saint+Louis&n=a%26b%3Dc"
        );
    }

    #[test]
    fn recording_in_url_is_rejected() {
        let params = vec![(
            "msg".to_owned(),
            FormValue::File {
                name: "msg.wav".into(),
                content_type: "audio/wav".into(),
                bytes: bytes::Bytes::from_static(b"RIFF"),
            },
        )];
        let e = with_query(&u("http://app/q"), &params).expect_err("file in GET");
        assert!(e.message().contains("multipart/form-data"));
        assert!(post_body(&u("http://app/q"), Enctype::UrlEncoded, &params).is_err());
        assert!(matches!(
            post_body(&u("http://app/q"), Enctype::Multipart, &params),
            Ok(Body::Multipart(_))
        ));
    }

    #[test]
    fn urlencoded_body() {
        let params = vec![("a".to_owned(), FormValue::Text("1 2".into()))];
        match post_body(&u("http://app/q"), Enctype::UrlEncoded, &params) {
            Ok(Body::UrlEncoded(s)) => assert_eq!(s, "a=1+2"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
