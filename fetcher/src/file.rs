//! `file:` resources: the content type guessed from the extension, and the
//! modification time and length used as the validator of a cached file.

use std::time::SystemTime;

/// The content type of a file, from its extension.
pub fn content_type_for(path: &str) -> Option<&'static str> {
    let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "vxml" => "application/voicexml+xml",
        "ccxml" => "application/ccxml+xml",
        "grxml" => "application/srgs+xml",
        "gram" | "abnf" => "application/srgs",
        "ssml" => "application/ssml+xml",
        "xml" => "application/xml",
        "js" => "application/javascript",
        "json" => "application/json",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "ul" | "ulaw" | "mulaw" => "audio/basic",
        "al" | "alaw" => "audio/x-alaw-basic",
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        _ => return None,
    })
}

/// What identifies one version of a file: a different modification time or
/// length means the cached bytes and compiled form are out of date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileValidator {
    /// Last modification time.
    pub modified: Option<SystemTime>,
    /// Length in bytes.
    pub len: u64,
}

impl FileValidator {
    /// The validator of a file's metadata.
    pub fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            modified: meta.modified().ok(),
            len: meta.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_map_to_voice_types() {
        assert_eq!(
            content_type_for("/a/b/main.vxml"),
            Some("application/voicexml+xml")
        );
        assert_eq!(content_type_for("yes.GRXML"), Some("application/srgs+xml"));
        assert_eq!(content_type_for("yes.gram"), Some("application/srgs"));
        assert_eq!(content_type_for("hello.wav"), Some("audio/wav"));
        assert_eq!(content_type_for("lib.js"), Some("application/javascript"));
        assert_eq!(content_type_for("README"), None);
    }
}
