//! Audio prompts in text mode (VoiceXML 2.0 §4.1.3 `<audio>`): how long a
//! fetched audio file lasts, so the transcript can show what played.
//!
//! Only RIFF/WAVE files say their length in a header cheap to read; for any
//! other format the transcript shows the size alone.

use std::time::Duration;

/// Chunks looked at before giving up on a malformed file.
const MAX_CHUNKS: usize = 32;

/// The length of a RIFF/WAVE file: its `data` chunk size over the byte rate
/// of its `fmt ` chunk. `None` for anything else or a malformed header.
pub fn wav_duration(bytes: &[u8]) -> Option<Duration> {
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12usize;
    let mut byte_rate: Option<u32> = None;
    for _ in 0..MAX_CHUNKS {
        let id = bytes.get(at..at + 4)?;
        let size = u32::from_le_bytes(bytes.get(at + 4..at + 8)?.try_into().ok()?);
        let body = at + 8;
        if id == b"fmt " {
            byte_rate = Some(u32::from_le_bytes(
                bytes.get(body + 8..body + 12)?.try_into().ok()?,
            ));
        } else if id == b"data" {
            let rate = u64::from(byte_rate.filter(|r| *r > 0)?);
            // A streamed file may say more than it holds: count what is there.
            let held = bytes.len().saturating_sub(body);
            let size = u64::from(size).min(u64::try_from(held).ok()?);
            return Some(Duration::from_millis(size * 1000 / rate));
        }
        // Chunks are padded to an even size.
        let size = usize::try_from(size).ok()?;
        at = body.checked_add(size)?.checked_add(size % 2)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::recording;

    #[test]
    fn a_text_mode_recording_lasts_what_it_says() {
        let made = recording::record("one two three", None);
        assert_eq!(wav_duration(&made.bytes), Some(made.duration));
    }

    #[test]
    fn other_formats_and_truncated_headers_have_no_length() {
        assert_eq!(wav_duration(b"ID3\x03 mp3 data"), None);
        assert_eq!(wav_duration(b"RIFF\0\0\0\0WAVEfm"), None);
        assert_eq!(wav_duration(b""), None);
    }

    #[test]
    fn a_data_chunk_before_any_format_has_no_length() {
        let mut bytes = b"RIFF\0\0\0\0WAVEdata".to_vec();
        bytes.extend_from_slice(&4u32.to_le_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(wav_duration(&bytes), None);
    }
}
