//! Prompt rendering for `vxp serve`: a session's `Play` (resolved SSML,
//! VoiceXML 2.0 §4.1) becomes 8 kHz audio with its `<mark>` positions.
//!
//! Text is spoken by the `espeak-ng` program (`--stdout` gives a WAV at
//! 22050 Hz), run with `tokio::process` so a synthesis never blocks the
//! worker; `<audio>` is fetched through the call's fetcher and decoded (PCM
//! WAV, µ-law/A-law WAV, raw `.ul`/`.al`), its fallback content rendered when
//! that fails; `<break>` is silence. Everything is resampled to 8 kHz with a
//! windowed-sinc low-pass.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use vxp_interpreter::vxml::session::{Play, PromptPart};

use super::call::{CallFetcher, PromptRenderer, RenderedPrompt};
use super::config::TtsConfig;

/// Output sample rate.
pub const RATE: u32 = 8000;

/// Renders with `espeak-ng` and fetched audio files.
#[derive(Debug, Clone)]
pub struct EspeakRenderer {
    config: TtsConfig,
}

impl EspeakRenderer {
    /// A renderer using `config`'s program, voice and rate.
    pub fn new(config: TtsConfig) -> Self {
        Self { config }
    }

    /// Speaks `text` in `lang` (an `xml:lang` such as `en-US`), at 8 kHz.
    /// A missing program or a failed run gives silence and a warning: the
    /// call goes on.
    pub async fn speak(&self, text: &str, lang: Option<&str>) -> Vec<i16> {
        let voice = lang
            .map(|l| l.to_ascii_lowercase())
            .unwrap_or_else(|| self.config.voice.clone());
        let run = tokio::process::Command::new(&self.config.program)
            .arg("--stdout")
            .arg("-v")
            .arg(&voice)
            .arg("-s")
            .arg(self.config.rate.to_string())
            .arg("--")
            .arg(text)
            .kill_on_drop(true)
            .output()
            .await;
        match run {
            Ok(out) if out.status.success() => match decode_audio(&out.stdout, None) {
                Some(samples) => samples,
                None => {
                    tracing::warn!(program = %self.config.program, "synthesizer output is not a WAV");
                    Vec::new()
                }
            },
            Ok(out) => {
                tracing::warn!(
                    program = %self.config.program,
                    status = %out.status,
                    stderr = %String::from_utf8_lossy(&out.stderr),
                    "synthesizer failed"
                );
                Vec::new()
            }
            Err(err) => {
                tracing::warn!(program = %self.config.program, error = %err, "cannot run the synthesizer");
                Vec::new()
            }
        }
    }
}

/// A piece of a prompt in playing order.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Audio(url::Url, Vec<PromptPart>),
    Silence(Duration),
    Mark(String),
}

/// Flattens SSML parts into pieces; nesting depth is bounded by the
/// document's own (already bounded) prompt tree.
fn flatten(parts: &[PromptPart], out: &mut Vec<Piece>) {
    for part in parts {
        match part {
            PromptPart::Text(t) => push_text(out, t),
            PromptPart::Audio {
                src: Some(u),
                fallback,
            } => out.push(Piece::Audio(u.clone(), fallback.clone())),
            PromptPart::Audio {
                src: None,
                fallback,
            } => flatten(fallback, out),
            PromptPart::Break { time, strength } => {
                out.push(Piece::Silence(break_length(*time, strength.as_deref())))
            }
            PromptPart::Mark(name) => out.push(Piece::Mark(name.clone())),
            PromptPart::Element { children, .. } => flatten(children, out),
            PromptPart::Sub { alias, .. } => push_text(out, alias),
        }
    }
}

fn push_text(out: &mut Vec<Piece>, text: &str) {
    if text.trim().is_empty() {
        return;
    }
    if let Some(Piece::Text(prev)) = out.last_mut() {
        prev.push(' ');
        prev.push_str(text.trim());
    } else {
        out.push(Piece::Text(text.trim().to_owned()));
    }
}

/// SSML 1.0 §3.2.3: strength names mapped to pause lengths.
fn break_length(time: Option<Duration>, strength: Option<&str>) -> Duration {
    if let Some(t) = time {
        return t.min(Duration::from_secs(60));
    }
    let ms = match strength {
        Some("none") => 0,
        Some("x-weak") => 100,
        Some("weak") => 250,
        Some("strong") => 750,
        Some("x-strong") => 1200,
        _ => 500,
    };
    Duration::from_millis(ms)
}

fn silence(d: Duration) -> usize {
    usize::try_from(d.as_millis() * u128::from(RATE) / 1000).unwrap_or(0)
}

impl PromptRenderer for EspeakRenderer {
    fn render<'a>(
        &'a self,
        play: &'a Play,
        fetch: &'a CallFetcher,
    ) -> Pin<Box<dyn Future<Output = RenderedPrompt> + 'a>> {
        Box::pin(async move {
            let mut out = RenderedPrompt::default();
            for prompt in &play.prompts {
                let mut pieces = Vec::new();
                flatten(&prompt.parts, &mut pieces);
                let lang = prompt.lang.as_deref();
                // Audio fallbacks are rendered in place: a work list keeps
                // this iterative.
                let mut work: std::collections::VecDeque<Piece> = pieces.into();
                while let Some(piece) = work.pop_front() {
                    match piece {
                        Piece::Text(t) => out.samples.extend(self.speak(&t, lang).await),
                        Piece::Silence(d) => out.samples.extend(std::iter::repeat_n(0, silence(d))),
                        Piece::Mark(name) => out.marks.push((out.samples.len(), name)),
                        Piece::Audio(url, fallback) => {
                            let decoded = match fetch.fetch_audio(&url).await {
                                Some(resp) => decode_audio(&resp.bytes, Some(url.path())),
                                None => None,
                            };
                            match decoded {
                                Some(samples) => out.samples.extend(samples),
                                None => {
                                    let mut alt = Vec::new();
                                    flatten(&fallback, &mut alt);
                                    for p in alt.into_iter().rev() {
                                        work.push_front(p);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            out
        })
    }
}

/// Decodes audio to 8 kHz mono: a RIFF WAV (PCM 8/16-bit, µ-law, A-law, any
/// rate, mono or stereo), or raw µ-law/A-law by `.ul`/`.al` extension.
pub fn decode_audio(bytes: &[u8], path: Option<&str>) -> Option<Vec<i16>> {
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WAVE" {
        return decode_wav(bytes);
    }
    let ext = path
        .and_then(|p| p.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("ul" | "ulaw" | "mulaw" | "pcmu") => {
            Some(bytes.iter().map(|&b| ulaw_decode(b)).collect())
        }
        Some("al" | "alaw" | "pcma") => Some(bytes.iter().map(|&b| alaw_decode(b)).collect()),
        _ => None,
    }
}

fn decode_wav(bytes: &[u8]) -> Option<Vec<i16>> {
    let mut pos = 12;
    let mut format: Option<(u16, u16, u32, u16)> = None;
    while pos + 8 <= bytes.len() {
        let id = bytes.get(pos..pos + 4)?;
        let len = u32::from_le_bytes(bytes.get(pos + 4..pos + 8)?.try_into().ok()?) as usize;
        let body_start = pos + 8;
        // espeak-ng writes 0x7fffffff-ish lengths on a pipe: clamp to the data.
        let body_end = body_start.saturating_add(len).min(bytes.len());
        let body = bytes.get(body_start..body_end)?;
        match id {
            b"fmt " if body.len() >= 16 => {
                let tag = u16::from_le_bytes([body[0], body[1]]);
                let channels = u16::from_le_bytes([body[2], body[3]]);
                let rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
                let bits = u16::from_le_bytes([body[14], body[15]]);
                format = Some((tag, channels, rate, bits));
            }
            b"data" => {
                let (tag, channels, rate, bits) = format?;
                let channels = usize::from(channels.max(1));
                let mono: Vec<f32> = match (tag, bits) {
                    (1, 16) => body
                        .chunks_exact(2 * channels)
                        .map(|f| f32::from(i16::from_le_bytes([f[0], f[1]])))
                        .collect(),
                    (1, 8) => body
                        .chunks_exact(channels)
                        .map(|f| (f32::from(f[0]) - 128.0) * 256.0)
                        .collect(),
                    (7, 8) => body
                        .chunks_exact(channels)
                        .map(|f| f32::from(ulaw_decode(f[0])))
                        .collect(),
                    (6, 8) => body
                        .chunks_exact(channels)
                        .map(|f| f32::from(alaw_decode(f[0])))
                        .collect(),
                    _ => return None,
                };
                return Some(resample(&mono, rate, RATE));
            }
            _ => {}
        }
        pos = body_start.saturating_add(len + (len & 1));
    }
    None
}

/// Band-limited resampling (windowed sinc, 32 taps, cut-off at 0.9 of the
/// lower Nyquist frequency).
pub fn resample(input: &[f32], from: u32, to: u32) -> Vec<i16> {
    if from == 0 || to == 0 {
        return Vec::new();
    }
    if from == to {
        return input.iter().map(|&s| clamp(s)).collect();
    }
    let ratio = f64::from(from) / f64::from(to);
    let cutoff = 0.9 * (f64::from(to.min(from)) / f64::from(from));
    let half = 16i64;
    let out_len = (input.len() as f64 / ratio) as usize;
    let mut out = Vec::with_capacity(out_len);
    for n in 0..out_len {
        let center = n as f64 * ratio;
        let base = center.floor() as i64;
        let mut acc = 0.0f64;
        for k in (base - half + 1)..=(base + half) {
            let Some(&s) = usize::try_from(k).ok().and_then(|i| input.get(i)) else {
                continue;
            };
            let x = center - k as f64;
            let arg = std::f64::consts::PI * cutoff * x;
            let sinc = if arg.abs() < 1e-9 {
                1.0
            } else {
                arg.sin() / arg
            };
            let w = 0.5 + 0.5 * (std::f64::consts::PI * x / half as f64).cos();
            acc += f64::from(s) * cutoff * sinc * w;
        }
        out.push(clamp(acc as f32));
    }
    out
}

fn clamp(s: f32) -> i16 {
    s.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

/// ITU-T G.711 µ-law decoding.
pub fn ulaw_decode(byte: u8) -> i16 {
    let u = !byte;
    let sign = u & 0x80;
    let exponent = (u >> 4) & 0x07;
    let mantissa = u & 0x0f;
    let magnitude = ((i32::from(mantissa) << 3) + 0x84) << exponent;
    let value = magnitude - 0x84;
    (if sign != 0 { -value } else { value }) as i16
}

/// ITU-T G.711 µ-law encoding.
pub fn ulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    let s = s.min(CLIP) + BIAS;
    let exponent = (0..8).rev().find(|e| s & (0x80 << e) != 0).unwrap_or(0);
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// ITU-T G.711 A-law decoding.
pub fn alaw_decode(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let sign = a & 0x80;
    let exponent = (a >> 4) & 0x07;
    let mantissa = i32::from(a & 0x0f);
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    (if sign != 0 { magnitude } else { -magnitude }) as i16
}

/// ITU-T G.711 A-law encoding.
pub fn alaw_encode(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s >= 0 {
        0x80
    } else {
        s = -s - 1;
        0
    };
    let s = s.min(32767);
    let (exponent, mantissa) = if s < 256 {
        (0, (s >> 4) & 0x0f)
    } else {
        let e = (1..8).rev().find(|e| s >= (128 << e)).unwrap_or(1);
        (e, (s >> (e + 3)) & 0x0f)
    };
    (sign | ((exponent as u8) << 4) | mantissa as u8) ^ 0x55
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_round_trips_within_a_quantisation_step() {
        for s in [-32000i16, -1000, -1, 0, 1, 100, 1000, 8000, 32000] {
            let u = ulaw_decode(ulaw_encode(s));
            assert!(
                (i32::from(u) - i32::from(s)).abs() <= i32::from(s).abs() / 16 + 8,
                "µ {s} → {u}"
            );
            let a = alaw_decode(alaw_encode(s));
            assert!(
                (i32::from(a) - i32::from(s)).abs() <= i32::from(s).abs() / 16 + 16,
                "A {s} → {a}"
            );
        }
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(alaw_encode(0), 0xd5);
    }

    #[test]
    fn a_wav_is_decoded_and_resampled_to_8k() {
        let mut wav = Vec::new();
        let samples: Vec<i16> = (0..16000)
            .map(|i| ((i as f32 * 0.05).sin() * 10000.0) as i16)
            .collect();
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + samples.len() as u32 * 2).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes());
        wav.extend_from_slice(&16000u32.to_le_bytes());
        wav.extend_from_slice(&32000u32.to_le_bytes());
        wav.extend_from_slice(&2u16.to_le_bytes());
        wav.extend_from_slice(&16u16.to_le_bytes());
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&(samples.len() as u32 * 2).to_le_bytes());
        for s in &samples {
            wav.extend_from_slice(&s.to_le_bytes());
        }
        let out = decode_audio(&wav, None).expect("decodes");
        assert_eq!(out.len(), 8000);
        let peak = out.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!((9000..=10600).contains(&peak), "peak {peak}");
        assert_eq!(decode_audio(&wav[..30], None), None);
        assert_eq!(decode_audio(b"not audio", Some("/x.wav")), None);
        assert_eq!(
            decode_audio(&[0xff; 80], Some("/x.ul")).map(|v| v.len()),
            Some(80)
        );
    }

    #[test]
    fn prompts_flatten_into_text_audio_breaks_and_marks() {
        let parts = vec![
            PromptPart::Text("Hello,".into()),
            PromptPart::Element {
                name: "s".into(),
                attrs: vec![],
                children: vec![PromptPart::Text("world".into())],
            },
            PromptPart::Mark("m1".into()),
            PromptPart::Break {
                time: None,
                strength: Some("strong".into()),
            },
            PromptPart::Audio {
                src: None,
                fallback: vec![PromptPart::Text("chime".into())],
            },
        ];
        let mut out = Vec::new();
        flatten(&parts, &mut out);
        assert_eq!(
            out,
            vec![
                Piece::Text("Hello, world".into()),
                Piece::Mark("m1".into()),
                Piece::Silence(Duration::from_millis(750)),
                Piece::Text("chime".into()),
            ]
        );
    }
}
