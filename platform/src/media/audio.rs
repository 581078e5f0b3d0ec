//! Audio files for prompts: decode to 8 kHz mono 16-bit samples, and write
//! recordings as WAV.
//!
//! Accepted: WAV PCM 8/16/24/32-bit and float at any common rate, mono or
//! stereo (read with `hound`), WAV µ-law and A-law (format tags 7 and 6, with
//! their `fact` chunk; parsed here because `hound` refuses them), Sun/NeXT
//! `.au`, and headerless µ-law/A-law (`.ul`, `.al`). The format is chosen by
//! the file's own header first, then the media type, then the URL's
//! extension. A header that claims more data than the file holds is read up
//! to what is there. An [`AudioError`] tells the caller to render the
//! `<audio>` element's fallback content instead.

use std::io::Cursor;

use super::g711::{alaw_decode, ulaw_decode};
use super::resample::Resampler;

/// The platform rate.
pub const RATE: u32 = 8000;
/// Longest decoded prompt (30 minutes): a bound on memory per file.
const MAX_SAMPLES: usize = 30 * 60 * RATE as usize;

/// Why a file cannot be played.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudioError {
    /// Neither the header, the media type nor the extension names a format
    /// we decode.
    #[error("unsupported audio format ({0})")]
    Unsupported(String),
    /// The file claims a format but its content is not valid.
    #[error("malformed audio file: {0}")]
    Malformed(String),
    /// The file holds no samples.
    #[error("the audio file holds no samples")]
    Empty,
    /// The decoded audio would be longer than the platform accepts.
    #[error("the audio file is longer than 30 minutes")]
    TooLong,
}

/// The encodings of a headerless file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    Mu,
    A,
}

/// Decodes a fetched audio resource to 8 kHz mono.
///
/// `content_type` is the HTTP media type (parameters allowed), `name` the
/// URL path or file name (for its extension).
pub fn decode(
    bytes: &[u8],
    content_type: Option<&str>,
    name: Option<&str>,
) -> Result<Vec<i16>, AudioError> {
    let samples = if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WAVE") {
        decode_wav(bytes)?
    } else if bytes.starts_with(b".snd") {
        decode_au(bytes)?
    } else {
        let mime = content_type.map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        let ext = name
            .and_then(|n| n.rsplit('/').next())
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, e)| e.to_ascii_lowercase());
        let raw = match mime.as_deref() {
            Some(
                "audio/basic" | "audio/x-mulaw" | "audio/ulaw" | "audio/pcmu" | "audio/x-ulaw",
            ) => Some(Raw::Mu),
            Some("audio/x-alaw-basic" | "audio/alaw" | "audio/pcma" | "audio/x-alaw") => {
                Some(Raw::A)
            }
            _ => match ext.as_deref() {
                Some("ul" | "ulaw" | "mu" | "pcmu" | "u8") => Some(Raw::Mu),
                Some("al" | "alaw" | "pcma" | "a8") => Some(Raw::A),
                _ => None,
            },
        };
        match raw {
            Some(Raw::Mu) => bytes.iter().map(|&b| ulaw_decode(b)).collect(),
            Some(Raw::A) => bytes.iter().map(|&b| alaw_decode(b)).collect(),
            None => {
                let what = match (mime, ext) {
                    (Some(m), _) if m.contains("wav") => {
                        return Err(AudioError::Malformed("no RIFF/WAVE header".into()));
                    }
                    (_, Some(e)) if e == "wav" => {
                        return Err(AudioError::Malformed("no RIFF/WAVE header".into()));
                    }
                    (Some(m), _) => m,
                    (None, Some(e)) => format!(".{e}"),
                    (None, None) => "no media type or extension".into(),
                };
                return Err(AudioError::Unsupported(what));
            }
        }
    };
    if samples.is_empty() {
        return Err(AudioError::Empty);
    }
    if samples.len() > MAX_SAMPLES {
        return Err(AudioError::TooLong);
    }
    Ok(samples)
}

/// Mixes interleaved channels to mono and converts to 8 kHz.
fn to_8k_mono(interleaved: &[f32], channels: u16, rate: u32) -> Result<Vec<i16>, AudioError> {
    let channels = usize::from(channels.max(1));
    let max_frames = MAX_SAMPLES.saturating_mul(rate as usize / RATE as usize + 1);
    if interleaved.len() / channels > max_frames {
        return Err(AudioError::TooLong);
    }
    let mono: Vec<f32> = if channels == 1 {
        interleaved.to_vec()
    } else {
        interleaved
            .chunks_exact(channels)
            .map(|c| c.iter().sum::<f32>() / channels as f32)
            .collect()
    };
    let r = Resampler::new(rate, RATE).map_err(|e| AudioError::Unsupported(e.to_string()))?;
    Ok(r.process(&mono))
}

fn decode_wav(bytes: &[u8]) -> Result<Vec<i16>, AudioError> {
    match hound::WavReader::new(Cursor::new(bytes)) {
        Ok(reader) => {
            let spec = reader.spec();
            let mut out = Vec::new();
            match spec.sample_format {
                hound::SampleFormat::Float => {
                    for s in reader.into_samples::<f32>() {
                        // A header longer than the file: keep what was read.
                        let Ok(s) = s else { break };
                        out.push(s);
                    }
                }
                hound::SampleFormat::Int => {
                    let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
                    for s in reader.into_samples::<i32>() {
                        let Ok(s) = s else { break };
                        out.push(s as f32 * scale);
                    }
                }
            }
            to_8k_mono(&out, spec.channels, spec.sample_rate)
        }
        Err(hound::Error::Unsupported) => decode_g711_wav(bytes),
        Err(hound::Error::FormatError(m)) => match decode_g711_wav(bytes) {
            Ok(s) => Ok(s),
            Err(_) => Err(AudioError::Malformed(m.to_string())),
        },
        Err(e) => Err(AudioError::Malformed(e.to_string())),
    }
}

/// WAV with format tag 6 (A-law) or 7 (µ-law): walks the RIFF chunks.
fn decode_g711_wav(bytes: &[u8]) -> Result<Vec<i16>, AudioError> {
    let mut at = 12;
    let mut format: Option<(u16, u16, u32)> = None;
    while let Some(head) = bytes.get(at..at + 8) {
        let id = &head[..4];
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let body_start = at + 8;
        // A lying length is cut to what the file holds.
        let body = &bytes[body_start..bytes.len().min(body_start.saturating_add(len))];
        match id {
            b"fmt " => {
                let [t0, t1, c0, c1, r0, r1, r2, r3, ..] = *body else {
                    return Err(AudioError::Malformed("fmt chunk too short".into()));
                };
                let mut tag = u16::from_le_bytes([t0, t1]);
                if tag == 0xfffe {
                    // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts
                    // with the real tag.
                    tag = body
                        .get(24..26)
                        .map(|b| u16::from_le_bytes([b[0], b[1]]))
                        .unwrap_or(tag);
                }
                format = Some((
                    tag,
                    u16::from_le_bytes([c0, c1]),
                    u32::from_le_bytes([r0, r1, r2, r3]),
                ));
            }
            b"data" => {
                let (tag, channels, rate) =
                    format.ok_or_else(|| AudioError::Malformed("data before fmt".into()))?;
                let decoded: Vec<f32> = match tag {
                    7 => body
                        .iter()
                        .map(|&b| f32::from(ulaw_decode(b)) / 32768.0)
                        .collect(),
                    6 => body
                        .iter()
                        .map(|&b| f32::from(alaw_decode(b)) / 32768.0)
                        .collect(),
                    other => {
                        return Err(AudioError::Unsupported(format!("WAV format tag {other}")));
                    }
                };
                return to_8k_mono(&decoded, channels, rate);
            }
            _ => {}
        }
        // Chunks are padded to even length.
        at = body_start.saturating_add(len).saturating_add(len & 1);
    }
    Err(AudioError::Malformed("no data chunk".into()))
}

/// Sun/NeXT `.au`: big-endian header, encodings 1 (µ-law), 2 (8-bit),
/// 3 (16-bit) and 27 (A-law).
fn decode_au(bytes: &[u8]) -> Result<Vec<i16>, AudioError> {
    let word = |i: usize| {
        bytes
            .get(i * 4..i * 4 + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| AudioError::Malformed("short .au header".into()))
    };
    let offset = word(1)? as usize;
    let size = word(2)? as usize;
    let encoding = word(3)?;
    let rate = word(4)?;
    let channels = word(5)?.clamp(1, 8) as u16;
    let data = bytes.get(offset..).unwrap_or_default();
    let data = &data[..data.len().min(size)];
    let samples: Vec<f32> = match encoding {
        1 => data
            .iter()
            .map(|&b| f32::from(ulaw_decode(b)) / 32768.0)
            .collect(),
        27 => data
            .iter()
            .map(|&b| f32::from(alaw_decode(b)) / 32768.0)
            .collect(),
        2 => data.iter().map(|&b| f32::from(b as i8) / 128.0).collect(),
        3 => data
            .chunks_exact(2)
            .map(|c| f32::from(i16::from_be_bytes([c[0], c[1]])) / 32768.0)
            .collect(),
        other => return Err(AudioError::Unsupported(format!(".au encoding {other}"))),
    };
    to_8k_mono(&samples, channels, rate)
}

/// The file format of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingFormat {
    /// WAV, 16-bit PCM, 8 kHz mono (`audio/wav`, `audio/x-wav`).
    WavPcm16,
    /// WAV, µ-law, 8 kHz mono, with a `fact` chunk.
    WavUlaw,
    /// Headerless µ-law (`audio/basic`).
    RawUlaw,
}

impl RecordingFormat {
    /// The format for a `<record type>` media type; WAV PCM for anything
    /// unknown.
    pub fn for_media_type(media_type: &str) -> Self {
        let m = media_type.split(';').next().unwrap_or("").trim();
        if m.eq_ignore_ascii_case("audio/basic") || m.eq_ignore_ascii_case("audio/x-mulaw") {
            RecordingFormat::RawUlaw
        } else {
            RecordingFormat::WavPcm16
        }
    }

    /// Encodes 8 kHz mono samples.
    pub fn encode(self, samples: &[i16]) -> Vec<u8> {
        match self {
            RecordingFormat::WavPcm16 => {
                let data_len = samples.len() * 2;
                let mut out = wav_header(1, 16, data_len, None);
                for s in samples {
                    out.extend_from_slice(&s.to_le_bytes());
                }
                out
            }
            RecordingFormat::WavUlaw => {
                let mut out = wav_header(7, 8, samples.len(), Some(samples.len() as u32));
                out.extend(samples.iter().map(|&s| super::g711::ulaw_encode(s)));
                if samples.len() % 2 == 1 {
                    out.push(0);
                }
                out
            }
            RecordingFormat::RawUlaw => samples
                .iter()
                .map(|&s| super::g711::ulaw_encode(s))
                .collect(),
        }
    }
}

fn wav_header(tag: u16, bits: u16, data_len: usize, fact: Option<u32>) -> Vec<u8> {
    let data_len = u32::try_from(data_len).unwrap_or(u32::MAX - 64);
    let fmt_len: u32 = if tag == 1 { 16 } else { 18 };
    let fact_len = if fact.is_some() { 12 } else { 0 };
    let riff_len = 4 + (8 + fmt_len) + fact_len + 8 + data_len + (data_len & 1);
    let block_align = bits / 8;
    let mut out = Vec::with_capacity(riff_len as usize + 8);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_len.to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&fmt_len.to_le_bytes());
    out.extend_from_slice(&tag.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * u32::from(block_align)).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    if tag != 1 {
        out.extend_from_slice(&0u16.to_le_bytes());
    }
    if let Some(n) = fact {
        out.extend_from_slice(b"fact");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::g711::ulaw_encode;

    fn pcm_wav(rate: u32, channels: u16, bits: u16, frames: usize) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cur = Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut cur, spec).unwrap();
        for i in 0..frames {
            let v = (2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(rate)).sin() * 0.5;
            for _ in 0..channels {
                if bits == 8 {
                    w.write_sample((v * 127.0) as i8).unwrap();
                } else {
                    w.write_sample((v * 32767.0) as i16).unwrap();
                }
            }
        }
        w.finalize().unwrap();
        cur.into_inner()
    }

    fn peak(s: &[i16]) -> i16 {
        s.iter().map(|x| x.saturating_abs()).max().unwrap_or(0)
    }

    #[test]
    fn pcm_wavs_of_every_rate_come_out_at_8k_mono() {
        for rate in [8000, 16_000, 22_050, 44_100, 48_000] {
            for channels in [1, 2] {
                for bits in [8, 16] {
                    let wav = pcm_wav(rate, channels, bits, rate as usize / 2);
                    let s = decode(&wav, Some("audio/wav"), None).unwrap();
                    assert!(
                        (3990..=4000).contains(&s.len()),
                        "{rate} {channels} {bits}: {}",
                        s.len()
                    );
                    let p = peak(&s);
                    assert!(
                        (15_000..17_500).contains(&p),
                        "{rate} {channels} {bits}: {p}"
                    );
                }
            }
        }
    }

    #[test]
    fn g711_wav_with_fact_chunk_and_raw_files() {
        let samples: Vec<i16> = (0..800).map(|i| ((i % 100) * 100 - 5000) as i16).collect();
        let wav = RecordingFormat::WavUlaw.encode(&samples);
        assert_eq!(&wav[38..42], b"fact");
        let back = decode(&wav, None, Some("x.wav")).unwrap();
        assert_eq!(back.len(), 800);
        let raw: Vec<u8> = samples.iter().map(|&s| ulaw_encode(s)).collect();
        assert_eq!(decode(&raw, None, Some("/prompts/hello.ul")).unwrap(), back);
        assert_eq!(decode(&raw, Some("audio/basic"), None).unwrap(), back);
        let alaw: Vec<u8> = samples
            .iter()
            .map(|&s| super::super::g711::alaw_encode(s))
            .collect();
        let a = decode(&alaw, Some("application/octet-stream"), Some("x.AL")).unwrap();
        assert!(a.iter().zip(&samples).all(|(x, y)| (x - y).abs() < 200));
        // A-law WAV (tag 6) built by hand, with the data length lying.
        let mut w = wav_header(6, 8, 100_000, Some(100_000));
        w.extend_from_slice(&alaw);
        assert_eq!(decode(&w, None, None).unwrap().len(), 800);
    }

    #[test]
    fn pcm16_recording_round_trips() {
        let samples: Vec<i16> = (0..801).map(|i| (i * 37 % 2000) as i16).collect();
        let wav = RecordingFormat::WavPcm16.encode(&samples);
        assert_eq!(wav.len(), 44 + 1602);
        assert_eq!(decode(&wav, None, None).unwrap(), samples);
        let r = hound::WavReader::new(Cursor::new(&wav)).unwrap();
        assert_eq!(r.spec().sample_rate, 8000);
        assert_eq!(
            RecordingFormat::for_media_type("audio/basic"),
            RecordingFormat::RawUlaw
        );
        assert_eq!(
            RecordingFormat::for_media_type("audio/x-wav"),
            RecordingFormat::WavPcm16
        );
    }

    #[test]
    fn lying_and_broken_headers_do_not_panic() {
        let mut wav = pcm_wav(8000, 1, 16, 400);
        // data chunk says 1 MB; only 800 bytes follow.
        let n = wav.len();
        wav[n - 800 - 4..n - 800].copy_from_slice(&1_000_000u32.to_le_bytes());
        assert_eq!(decode(&wav, None, None).unwrap().len(), 400);
        // A truncated header is an error; truncated data plays what is there.
        let full = pcm_wav(16_000, 2, 16, 100);
        for cut in 0..full.len() {
            let r = decode(&full[..cut], Some("audio/wav"), None);
            assert_eq!(r.is_ok(), cut >= 52, "{cut}: {r:?}");
        }
        // Nonsense format fields.
        let mut bad = pcm_wav(8000, 1, 16, 10);
        bad[22] = 0; // zero channels
        assert!(decode(&bad, None, None).is_err());
        let mut bad = pcm_wav(8000, 1, 16, 10);
        bad[24..28].copy_from_slice(&7919u32.to_le_bytes());
        bad[28..32].copy_from_slice(&(7919u32 * 2).to_le_bytes());
        let r = decode(&bad, None, None);
        assert!(matches!(r, Err(AudioError::Unsupported(_))), "{r:?}");
        assert!(matches!(
            decode(b"RIFF\0\0\0\0WAVEjunk", None, None),
            Err(AudioError::Malformed(_))
        ));
    }

    #[test]
    fn format_selection() {
        assert!(matches!(
            decode(b"ID3...", Some("audio/mpeg"), Some("a.mp3")),
            Err(AudioError::Unsupported(m)) if m == "audio/mpeg"
        ));
        assert!(
            matches!(decode(b"xx", None, Some("a.ogg")), Err(AudioError::Unsupported(m)) if m == ".ogg")
        );
        assert!(matches!(
            decode(b"xx", Some("audio/x-wav"), None),
            Err(AudioError::Malformed(_))
        ));
        assert_eq!(
            decode(b"", Some("audio/basic"), None),
            Err(AudioError::Empty)
        );
        let mut au = Vec::new();
        for w in [0x2e73_6e64u32, 24, 4, 1, 8000, 1] {
            au.extend_from_slice(&w.to_be_bytes());
        }
        au.extend_from_slice(&[0xff, 0x80, 0x00, 0x7f]);
        assert_eq!(decode(&au, None, None).unwrap(), vec![0, 32124, -32124, 0]);
    }
}
