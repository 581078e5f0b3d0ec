//! `data:` URLs (RFC 2397): `data:[<mediatype>][;base64],<data>`.

use base64::Engine;
use bytes::Bytes;
use percent_encoding::percent_decode_str;

use crate::FetchError;

/// A decoded data URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUrl {
    /// The media type with its parameters; `text/plain;charset=US-ASCII` when omitted.
    pub content_type: String,
    /// The decoded content.
    pub bytes: Bytes,
}

/// Decodes a `data:` URL. The data part is percent-decoded, then base64-decoded
/// when `;base64` ends the media type; whitespace inside base64 is tolerated.
pub fn decode(url: &str) -> Result<DataUrl, FetchError> {
    let malformed = |reason: &str| FetchError::MalformedDataUrl {
        url: url.chars().take(64).collect(),
        reason: reason.to_owned(),
    };
    let rest = url
        .get(..5)
        .filter(|s| s.eq_ignore_ascii_case("data:"))
        .and_then(|_| url.get(5..))
        .ok_or_else(|| malformed("does not start with data:"))?;
    let (header, data) = rest
        .split_once(',')
        .ok_or_else(|| malformed("no comma before the data"))?;
    let data = data.split_once('#').map_or(data, |(d, _)| d);
    let (media, is_base64) = match header.rsplit_once(';') {
        Some((m, b)) if b.trim().eq_ignore_ascii_case("base64") => (m, true),
        _ => (header, false),
    };
    let media = percent_decode_str(media).decode_utf8_lossy();
    let media = media.trim();
    let content_type = if media.is_empty() {
        "text/plain;charset=US-ASCII".to_owned()
    } else if media.starts_with(';') {
        format!("text/plain{media}")
    } else {
        media.to_owned()
    };
    let raw: Vec<u8> = percent_decode_str(data).collect();
    let bytes = if is_base64 {
        let compact: Vec<u8> = raw
            .into_iter()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(&compact)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&compact))
            .map_err(|e| malformed(&format!("bad base64: {e}")))?
    } else {
        raw
    };
    Ok(DataUrl {
        content_type,
        bytes: Bytes::from(bytes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoded_with_default_type() {
        let d = decode("data:,Hello%2C%20World!").expect("valid");
        assert_eq!(d.content_type, "text/plain;charset=US-ASCII");
        assert_eq!(&d.bytes[..], b"Hello, World!");
    }

    #[test]
    fn base64_with_media_type() {
        let d = decode("data:application/srgs+xml;base64,PGdyYW1tYXIvPg==").expect("valid");
        assert_eq!(d.content_type, "application/srgs+xml");
        assert_eq!(&d.bytes[..], b"<grammar/>");
    }

    #[test]
    fn charset_only_keeps_text_plain() {
        let d = decode("data:;charset=utf-8,%C3%A9").expect("valid");
        assert_eq!(d.content_type, "text/plain;charset=utf-8");
        assert_eq!(&d.bytes[..], "é".as_bytes());
    }

    #[test]
    fn malformed_inputs_are_errors() {
        for bad in ["data:text/plain", "data:;base64,@@@", "http://x/"] {
            let e = decode(bad).expect_err(bad);
            assert_eq!(e.event(), "error.badfetch.data.malformed", "{bad}");
        }
    }
}
