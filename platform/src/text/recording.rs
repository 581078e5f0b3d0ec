//! Recordings in text mode (VoiceXML 2.0 §2.3.6 `<record>`): the words of the
//! caller's `say:` input become a WAV file of silence whose length grows with
//! the number of words, so `name$.duration` and `name$.size` behave as they
//! would on a phone line.
//!
//! Format: RIFF/WAVE, 16-bit signed PCM, mono, 8 kHz; 400 ms per word, at
//! least 500 ms. Documented in `docs/RUNNING-APPS.md`.

use std::time::Duration;

/// Media type of text-mode recordings.
pub const CONTENT_TYPE: &str = "audio/x-wav";

const SAMPLE_RATE: u32 = 8_000;
const BYTES_PER_SAMPLE: u32 = 2;
const PER_WORD: Duration = Duration::from_millis(400);
const MINIMUM: Duration = Duration::from_millis(500);
/// Bound on a recording's length whatever the input, so a huge `say:` cannot
/// allocate without limit.
const MAXIMUM: Duration = Duration::from_secs(600);

/// A recording made from spoken words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// Length of the audio.
    pub duration: Duration,
    /// The WAV file.
    pub bytes: Vec<u8>,
}

/// How long text-mode speech of `words` lasts, capped at `maxtime` when the
/// application gave one.
pub fn duration_of(words: &str, maxtime: Option<Duration>) -> Duration {
    let count = u32::try_from(words.split_whitespace().count()).unwrap_or(u32::MAX);
    let mut d = PER_WORD.saturating_mul(count).max(MINIMUM).min(MAXIMUM);
    if let Some(max) = maxtime.filter(|m| !m.is_zero()) {
        d = d.min(max);
    }
    d
}

/// A WAV file of silence as long as `words` take to say.
pub fn record(words: &str, maxtime: Option<Duration>) -> Recording {
    let duration = duration_of(words, maxtime);
    let millis = u32::try_from(duration.as_millis()).unwrap_or(u32::MAX);
    let samples = SAMPLE_RATE / 1000 * millis;
    let data_len = samples * BYTES_PER_SAMPLE;
    let mut bytes = Vec::with_capacity(44 + data_len as usize);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&SAMPLE_RATE.to_le_bytes());
    bytes.extend_from_slice(&(SAMPLE_RATE * BYTES_PER_SAMPLE).to_le_bytes());
    bytes.extend_from_slice(&(BYTES_PER_SAMPLE as u16).to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    bytes.resize(44 + data_len as usize, 0);
    Recording { duration, bytes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_follows_the_words() {
        assert_eq!(duration_of("one", None), Duration::from_millis(500));
        assert_eq!(
            duration_of("the hold music was too loud", None),
            Duration::from_millis(2400)
        );
        assert_eq!(
            duration_of("a b c d e f", Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn produces_a_valid_wav_header() {
        let r = record("hello there", None);
        assert_eq!(r.duration, Duration::from_millis(800));
        assert_eq!(&r.bytes[0..4], b"RIFF");
        assert_eq!(&r.bytes[8..16], b"WAVEfmt ");
        assert_eq!(&r.bytes[36..40], b"data");
        let data_len = u32::from_le_bytes([r.bytes[40], r.bytes[41], r.bytes[42], r.bytes[43]]);
        assert_eq!(data_len, 8 * 800 * 2);
        assert_eq!(r.bytes.len(), 44 + data_len as usize);
    }
}
