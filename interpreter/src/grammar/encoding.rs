//! Character decoding of external grammar files: byte order marks, UTF-16
//! without a mark, the XML declaration's `encoding` (XML 1.0 §4.3.3, Appendix
//! F) and the ABNF self-identifying header's encoding (SRGS 1.0 §4.1).

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// Decodes a grammar file to text, without any byte order mark.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, String> {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(format!("the file is not valid {}", enc.name()));
        }
        return Ok(text.into_owned());
    }
    // UTF-16 without a mark: the first character ('<' or '#') has a zero byte.
    match bytes {
        [0, b, ..] if *b != 0 => return strict(UTF_16BE, bytes),
        [b, 0, ..] if *b != 0 => return strict(UTF_16LE, bytes),
        _ => {}
    }
    let declared = declared_encoding(bytes);
    let enc = match declared.as_deref() {
        Some(label) => Encoding::for_label(label.as_bytes())
            .ok_or_else(|| format!("unknown character encoding '{label}'"))?,
        None => UTF_8,
    };
    // A UTF-16 declaration in a file read as bytes means the file is 8-bit
    // in fact (it had no mark); read it as UTF-8.
    let enc = if enc == UTF_16LE || enc == UTF_16BE {
        UTF_8
    } else {
        enc
    };
    match strict(enc, bytes) {
        Ok(t) => Ok(t),
        // Undeclared 8-bit text that is not UTF-8: the common legacy case.
        Err(_) if declared.is_none() => strict(WINDOWS_1252, bytes),
        Err(e) => Err(e),
    }
}

fn strict(enc: &'static Encoding, bytes: &[u8]) -> Result<String, String> {
    let (text, had_errors) = enc.decode_without_bom_handling(bytes);
    if had_errors {
        Err(format!("the file is not valid {}", enc.name()))
    } else {
        Ok(text.into_owned())
    }
}

/// The encoding named by an XML declaration or an ABNF header, read from the
/// ASCII-compatible start of the file.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head: String = bytes
        .iter()
        .take(512)
        .take_while(|b| b.is_ascii())
        .map(|&b| char::from(b))
        .collect();
    let head = head.trim_start();
    if let Some(rest) = head.strip_prefix("<?xml") {
        let decl = &rest[..rest.find("?>")?];
        let at = decl.find("encoding")?;
        let after = decl[at + "encoding".len()..]
            .trim_start()
            .strip_prefix('=')?;
        let after = after.trim_start();
        let quote = after.chars().next()?;
        if quote != '"' && quote != '\'' {
            return None;
        }
        let value = &after[1..];
        return Some(value[..value.find(quote)?].to_owned());
    }
    if let Some(rest) = head.strip_prefix("#ABNF") {
        let header = &rest[..rest.find(';')?];
        let mut parts = header.split_whitespace();
        parts.next()?;
        return parts.next().map(str::to_owned);
    }
    None
}

/// True when the text is an XML document rather than ABNF.
pub(crate) fn looks_like_xml(text: &str) -> bool {
    text.trim_start().starts_with('<')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_marks_utf16_and_declarations() {
        assert_eq!(
            decode(b"\xEF\xBB\xBF#ABNF 1.0;").as_deref(),
            Ok("#ABNF 1.0;")
        );
        let utf16le: Vec<u8> = "\u{feff}<g/>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert_eq!(decode(&utf16le).as_deref(), Ok("<g/>"));
        let utf16be: Vec<u8> = "<g/>".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(decode(&utf16be).as_deref(), Ok("<g/>"));
        let latin = b"<?xml version='1.0' encoding='ISO-8859-1'?><g>\xE5</g>";
        assert_eq!(
            decode(latin).as_deref(),
            Ok("<?xml version='1.0' encoding='ISO-8859-1'?><g>\u{e5}</g>")
        );
        assert_eq!(
            decode(b"#ABNF 1.0 ISO-8859-1; \xE9").as_deref(),
            Ok("#ABNF 1.0 ISO-8859-1; \u{e9}")
        );
        assert!(decode(b"<?xml version='1.0' encoding='bogus-9'?><g/>").is_err());
    }
}
