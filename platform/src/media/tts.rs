//! Text-to-speech behind one interface, [`SpeechSynthesizer`]: the
//! `espeak-ng` program ([`EspeakSynthesizer`]), a deterministic tone
//! synthesizer for tests ([`ToneSynthesizer`]), and a phrase cache in front
//! of either ([`CachedSynthesizer`]).
//!
//! Synthesis is blocking work (espeak-ng runs as a child process): a call
//! driver runs it on a blocking thread (`tokio::task::spawn_blocking`) and
//! hands the samples to the [`PromptRenderer`](super::render::PromptRenderer),
//! never on the media timing path.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::audio;

/// What to say and how.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpeechRequest {
    /// Plain text.
    pub text: String,
    /// `xml:lang` in effect (`en-US`, `fr`, ...).
    pub lang: Option<String>,
    /// Speaking rate in words per minute (espeak's default is 175).
    pub rate: u32,
    /// SSML `<voice gender>` when given (`male`, `female`).
    pub gender: Option<String>,
}

impl SpeechRequest {
    /// Text in a language at the default rate.
    pub fn new(text: impl Into<String>, lang: Option<&str>) -> Self {
        SpeechRequest {
            text: text.into(),
            lang: lang.map(str::to_string),
            rate: DEFAULT_RATE,
            gender: None,
        }
    }
}

/// espeak-ng's default rate.
pub const DEFAULT_RATE: u32 = 175;

/// Why synthesis failed (the prompt's text is then skipped with a log line).
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    /// The synthesizer program could not be started.
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The program exited with an error.
    #[error("{program} failed: {stderr}")]
    Failed {
        /// The program.
        program: String,
        /// What it printed on stderr.
        stderr: String,
    },
    /// The program ran longer than allowed and was killed.
    #[error("{program} did not finish within {after:?}")]
    Timeout {
        /// The program.
        program: String,
        /// The limit.
        after: Duration,
    },
    /// Its output was not audio we can decode.
    #[error("synthesizer output: {0}")]
    Audio(#[from] audio::AudioError),
}

/// A text-to-speech engine producing 8 kHz mono samples.
pub trait SpeechSynthesizer: Send + Sync {
    /// Renders `request`; blocking.
    fn synthesize(&self, request: &SpeechRequest) -> Result<Arc<[i16]>, TtsError>;
}

/// Runs `espeak-ng --stdout` (a 22,050 Hz WAV on stdout).
#[derive(Debug, Clone)]
pub struct EspeakSynthesizer {
    program: String,
    timeout: Duration,
}

/// How long one synthesis may run before the program is killed.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for EspeakSynthesizer {
    fn default() -> Self {
        EspeakSynthesizer::with_program("espeak-ng")
    }
}

impl EspeakSynthesizer {
    /// Uses another program path (e.g. `/usr/bin/espeak-ng` or `espeak`).
    pub fn with_program(program: impl Into<String>) -> Self {
        EspeakSynthesizer {
            program: program.into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Changes the time limit of one synthesis (30 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The espeak-ng voice for an `xml:lang` value: the language tag
    /// lower-cased (`en-US` → `en-us`), its primary language when espeak has
    /// no regional voice, `en-us` when none is given; `+f3`/`+m3` for
    /// gender.
    pub fn voice_for(lang: Option<&str>, gender: Option<&str>) -> String {
        let tag = lang
            .map(|l| l.trim().to_ascii_lowercase().replace('_', "-"))
            .filter(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .unwrap_or_else(|| "en-us".into());
        let regional = [
            "en-us",
            "en-gb",
            "es-419",
            "pt-br",
            "fr-be",
            "fr-ch",
            "en-029",
            "en-gb-scotland",
        ];
        let voice = if regional.contains(&tag.as_str()) {
            tag
        } else {
            tag.split('-').next().unwrap_or("en").to_string()
        };
        match gender.map(str::to_ascii_lowercase).as_deref() {
            Some("female") => format!("{voice}+f3"),
            Some("male") => format!("{voice}+m3"),
            _ => voice,
        }
    }
}

impl SpeechSynthesizer for EspeakSynthesizer {
    fn synthesize(&self, request: &SpeechRequest) -> Result<Arc<[i16]>, TtsError> {
        let voice = Self::voice_for(request.lang.as_deref(), request.gender.as_deref());
        // The text goes through stdin so that no text can be taken for an
        // option.
        let mut child = Command::new(&self.program)
            .args(["--stdout", "-v", &voice, "-s"])
            .arg(request.rate.clamp(80, 450).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| TtsError::Spawn {
                program: self.program.clone(),
                source,
            })?;
        // Text in, audio out and diagnostics each get their own thread: a
        // long prompt fills the pipes both ways while the program runs.
        let stdin = child.stdin.take();
        let text = request.text.clone();
        let writer = std::thread::spawn(move || {
            if let Some(mut stdin) = stdin {
                // A write error shows up as the program's own failure below.
                let _ = stdin.write_all(text.as_bytes());
            }
        });
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                buf
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(TtsError::Timeout {
                        program: self.program.clone(),
                        after: self.timeout,
                    });
                }
                Err(source) => {
                    return Err(TtsError::Spawn {
                        program: self.program.clone(),
                        source,
                    });
                }
            }
        };
        let _ = writer.join();
        let out_stdout = stdout.join().unwrap_or_default();
        let out_stderr = stderr.join().unwrap_or_default();
        if !status.success() {
            return Err(TtsError::Failed {
                program: self.program.clone(),
                stderr: String::from_utf8_lossy(&out_stderr).trim().to_string(),
            });
        }
        match audio::decode(&out_stdout, Some("audio/wav"), None) {
            Ok(s) => Ok(s.into()),
            // Nothing to say (punctuation only): an empty prompt.
            Err(audio::AudioError::Empty) => Ok(Arc::from(Vec::new())),
            Err(e) => Err(e.into()),
        }
    }
}

/// A deterministic stand-in for tests: each word is a 400 Hz tone of 40 ms
/// per character followed by 60 ms of silence, at a quarter of full scale.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToneSynthesizer;

impl ToneSynthesizer {
    /// The number of samples the text renders to.
    pub fn length_of(text: &str) -> usize {
        text.split_whitespace()
            .map(|w| w.chars().count() * 320 + 480)
            .sum()
    }
}

impl SpeechSynthesizer for ToneSynthesizer {
    fn synthesize(&self, request: &SpeechRequest) -> Result<Arc<[i16]>, TtsError> {
        let mut out = Vec::with_capacity(Self::length_of(&request.text));
        for w in request.text.split_whitespace() {
            let n = w.chars().count() * 320;
            out.extend((0..n).map(|i| {
                (8192.0 * (2.0 * std::f64::consts::PI * 400.0 * i as f64 / 8000.0).sin()) as i16
            }));
            out.extend(std::iter::repeat_n(0, 480));
        }
        Ok(out.into())
    }
}

/// Caches rendered phrases (by text, language, rate and gender) up to a
/// total number of samples.
pub struct CachedSynthesizer<S> {
    inner: S,
    cache: moka::sync::Cache<SpeechRequest, Arc<[i16]>>,
}

impl<S> std::fmt::Debug for CachedSynthesizer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedSynthesizer")
            .field("entries", &self.cache.entry_count())
            .finish()
    }
}

impl<S: SpeechSynthesizer> CachedSynthesizer<S> {
    /// A cache holding at most `max_samples` samples (2 bytes each).
    pub fn new(inner: S, max_samples: u64) -> Self {
        CachedSynthesizer {
            inner,
            cache: moka::sync::Cache::builder()
                .max_capacity(max_samples)
                .weigher(|_k: &SpeechRequest, v: &Arc<[i16]>| {
                    u32::try_from(v.len().max(1)).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }
}

impl<S: SpeechSynthesizer> SpeechSynthesizer for CachedSynthesizer<S> {
    fn synthesize(&self, request: &SpeechRequest) -> Result<Arc<[i16]>, TtsError> {
        if let Some(hit) = self.cache.get(request) {
            return Ok(hit);
        }
        let samples = self.inner.synthesize(request)?;
        self.cache.insert(request.clone(), samples.clone());
        Ok(samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn voices_for_languages() {
        assert_eq!(EspeakSynthesizer::voice_for(None, None), "en-us");
        assert_eq!(EspeakSynthesizer::voice_for(Some("en-GB"), None), "en-gb");
        assert_eq!(
            EspeakSynthesizer::voice_for(Some("fr-FR"), Some("female")),
            "fr+f3"
        );
        assert_eq!(
            EspeakSynthesizer::voice_for(Some("de"), Some("male")),
            "de+m3"
        );
        assert_eq!(
            EspeakSynthesizer::voice_for(Some("-v x; rm"), None),
            "en-us"
        );
    }

    #[test]
    fn tone_synthesizer_length_depends_on_text() {
        let s = ToneSynthesizer
            .synthesize(&SpeechRequest::new("hi there", None))
            .unwrap();
        assert_eq!(s.len(), ToneSynthesizer::length_of("hi there"));
        assert_eq!(s.len(), 2 * 320 + 480 + 5 * 320 + 480);
    }

    struct Counting(AtomicUsize);
    impl SpeechSynthesizer for Counting {
        fn synthesize(&self, r: &SpeechRequest) -> Result<Arc<[i16]>, TtsError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            ToneSynthesizer.synthesize(r)
        }
    }

    #[test]
    fn cache_renders_each_phrase_once() {
        let c = CachedSynthesizer::new(Counting(AtomicUsize::new(0)), 1_000_000);
        let a = SpeechRequest::new("welcome", Some("en-US"));
        let b = SpeechRequest::new("welcome", Some("fr"));
        c.synthesize(&a).unwrap();
        c.synthesize(&a).unwrap();
        c.synthesize(&b).unwrap();
        assert_eq!(c.inner.0.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn missing_program_is_an_error() {
        let e = EspeakSynthesizer::with_program("/nonexistent/espeak-ng")
            .synthesize(&SpeechRequest::new("x", None))
            .unwrap_err();
        assert!(matches!(e, TtsError::Spawn { .. }));
    }

    #[cfg(unix)]
    #[test]
    fn a_hung_program_is_killed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("vxp-tts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("hang.sh");
        std::fs::write(&script, "#!/bin/sh\nexec sleep 10\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let started = Instant::now();
        let e = EspeakSynthesizer::with_program(script.to_string_lossy())
            .with_timeout(Duration::from_millis(200))
            .synthesize(&SpeechRequest::new("x", None))
            .unwrap_err();
        assert!(matches!(e, TtsError::Timeout { .. }), "{e}");
        assert!(started.elapsed() < Duration::from_secs(5));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn espeak_speaks_long_text() {
        // Several seconds of speech: more than a pipe buffer each way.
        let text = "This sentence is spoken several times to fill the pipes. ".repeat(40);
        match EspeakSynthesizer::default().synthesize(&SpeechRequest::new(text, None)) {
            Ok(s) => assert!(s.len() > 8000 * 30, "{}", s.len()),
            Err(TtsError::Spawn { .. }) if std::env::var_os("CI").is_none() => {}
            Err(e) => panic!("espeak-ng: {e}"),
        }
    }

    #[test]
    fn espeak_speaks_when_installed() {
        let espeak = EspeakSynthesizer::default();
        match espeak.synthesize(&SpeechRequest::new(
            "Welcome to the platform.",
            Some("en-US"),
        )) {
            Ok(s) => {
                // About 1.5 s of audible speech at 8 kHz.
                assert!(s.len() > 6000 && s.len() < 40_000, "{}", s.len());
                assert!(s.iter().any(|&x| x.saturating_abs() > 2000));
            }
            Err(TtsError::Spawn { .. }) if std::env::var_os("CI").is_none() => {}
            Err(e) => panic!("espeak-ng: {e}"),
        }
    }
}
