//! Character encoding detection for fetched pages (XML 1.0 §4.3.3 and
//! Appendix F): byte order mark first, then the UTF-16 signature of `<?`,
//! then the `encoding` of the XML declaration, else UTF-8.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// Decodes `src` to text, or says why it cannot be.
pub(super) fn decode(src: &[u8]) -> Result<Cow<'_, str>, String> {
    let (encoding, body) = match Encoding::for_bom(src) {
        Some((enc, bom_len)) => (enc, src.get(bom_len..).unwrap_or_default()),
        None => (sniff(src)?, src),
    };
    if encoding == UTF_8 {
        return std::str::from_utf8(body).map(Cow::Borrowed).map_err(|e| {
            let before = body.get(..e.valid_up_to()).unwrap_or_default();
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            format!("the page is not valid UTF-8 (line {line})")
        });
    }
    encoding
        .decode_without_bom_handling_and_without_replacement(body)
        .ok_or_else(|| format!("the page is not valid {}", encoding.name()))
}

/// The encoding of a page without a byte order mark.
fn sniff(src: &[u8]) -> Result<&'static Encoding, String> {
    if src.starts_with(&[b'<', 0, b'?', 0]) {
        return Ok(UTF_16LE);
    }
    if src.starts_with(&[0, b'<', 0, b'?']) {
        return Ok(UTF_16BE);
    }
    let Some(label) = declared_encoding(src) else {
        return Ok(UTF_8);
    };
    let encoding = Encoding::for_label(label).ok_or_else(|| {
        format!(
            "the XML declaration names an unknown encoding '{}'",
            String::from_utf8_lossy(label)
        )
    })?;
    // Without a byte order mark or the UTF-16 signature the bytes are ASCII
    // compatible, so a UTF-16 label is a mislabel: read the bytes as UTF-8.
    if encoding == UTF_16LE || encoding == UTF_16BE {
        return Ok(UTF_8);
    }
    Ok(encoding.output_encoding())
}

/// The `encoding` pseudo-attribute of a leading `<?xml ...?>` declaration.
fn declared_encoding(src: &[u8]) -> Option<&[u8]> {
    let rest = src.strip_prefix(b"<?xml")?;
    let end = rest.windows(2).take(512).position(|w| w == b"?>")?;
    let decl = rest.get(..end)?;
    let at = decl.windows(8).position(|w| w == b"encoding")?;
    let after = decl.get(at + 8..)?;
    let after = trim_start(after).strip_prefix(b"=")?;
    let after = trim_start(after);
    let quote = *after.first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value = after.get(1..)?;
    let close = value.iter().position(|&b| b == quote)?;
    value.get(..close)
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    s.get(n..).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(s: &str, le: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if le { &[0xFF, 0xFE] } else { &[0xFE, 0xFF] });
        }
        for u in s.encode_utf16() {
            out.extend_from_slice(&if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    }

    #[test]
    fn utf8_with_and_without_bom() {
        assert_eq!(decode(b"<a>\xC3\xA9</a>").expect("utf-8"), "<a>é</a>");
        assert_eq!(decode(b"\xEF\xBB\xBF<a/>").expect("bom"), "<a/>");
        assert!(matches!(
            decode(b"<a/>").expect("borrowed"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn utf16_by_bom_and_by_signature() {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>é</a>";
        for le in [true, false] {
            for bom in [true, false] {
                assert_eq!(decode(&utf16(doc, le, bom)).expect("utf-16"), doc);
            }
        }
    }

    #[test]
    fn declared_single_byte_encoding() {
        let src = b"<?xml version='1.0' encoding = 'ISO-8859-1' ?><a>\xE9</a>";
        assert_eq!(
            decode(src).expect("latin-1"),
            "<?xml version='1.0' encoding = 'ISO-8859-1' ?><a>é</a>"
        );
    }

    #[test]
    fn bad_bytes_and_unknown_labels_are_errors() {
        let err = decode(b"<a>\n\xFF</a>").expect_err("invalid utf-8");
        assert!(err.contains("line 2"), "{err}");
        let err = decode(b"<?xml version='1.0' encoding='klingon'?><a/>").expect_err("label");
        assert!(err.contains("klingon"), "{err}");
    }
}
