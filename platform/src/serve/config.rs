//! `vxp serve` configuration: embedded defaults, a `vxp.toml` file that
//! overrides them section by section, and command-line flags on top.
//!
//! Every field has a default, so an empty file (or none) gives a working
//! server: SIP on 127.0.0.1:5060 over UDP and TCP, RTP on 127.0.0.1 ports
//! 20000–29999, the samples served over HTTP on 127.0.0.1:8080, one worker
//! thread per CPU, at most 500 concurrent calls. `docs/vxp.toml` lists every
//! key with its default.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why a configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        source: Box<toml::de::Error>,
    },
    /// A value is out of range (an empty RTP port range, zero workers...).
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole `vxp serve` configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// SIP listener and call admission.
    pub sip: SipConfig,
    /// RTP address and port range.
    pub rtp: RtpConfig,
    /// The media thread's scheduling.
    pub media: MediaConfig,
    /// The built-in HTTP server for the application pages.
    pub http: HttpConfig,
    /// Session worker threads.
    pub workers: WorkerConfig,
    /// Dialed number → application.
    pub routing: RoutingConfig,
    /// Text-to-speech.
    pub tts: TtsConfig,
    /// Name servers for outbound legs.
    pub dns: DnsConfig,
}

/// `[dns]`: how the host names of transfer destinations are resolved
/// (RFC 3263: SRV, then A/AAAA).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// Name servers (`"192.0.2.53:53"`); empty: the system's
    /// (`/etc/resolv.conf`).
    pub nameservers: Vec<SocketAddr>,
    /// How long to wait for one answer.
    pub timeout_ms: u64,
}

impl Default for DnsConfig {
    fn default() -> Self {
        Self {
            nameservers: Vec::new(),
            timeout_ms: 2000,
        }
    }
}

/// `[sip]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// Address for both UDP and TCP (port 0 picks a free port, the same
    /// for both).
    pub listen: SocketAddr,
    /// Concurrent calls accepted; INVITEs beyond get 503.
    pub max_calls: usize,
    /// Ring (180) this long before the session starts; 0 starts it at once.
    pub ring_ms: u64,
    /// When a VoiceXML call is answered (overridden per dialed number in
    /// `[routing.answer]`).
    pub answer: AnswerMode,
}

/// When `vxp serve` answers a VoiceXML call (`answer` in `[sip]` and
/// `[routing.answer]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnswerMode {
    /// 200 OK before the application runs.
    #[default]
    Immediate,
    /// 180 Ringing, then the application runs; the call is answered when the
    /// session first needs media (a prompt, input, a recording, a bridge or
    /// consultation transfer, `<gvp:send>`). A blind transfer before that is
    /// a 302, an early `<exit>`/`<disconnect>` a 480 or 603.
    OnMedia,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5060),
            max_calls: 500,
            ring_ms: 0,
            answer: AnswerMode::default(),
        }
    }
}

/// `[rtp]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RtpConfig {
    /// Local address for media (also written in our SDP).
    pub address: IpAddr,
    /// First port of the range (even ports are used for RTP).
    pub port_min: u16,
    /// Last port of the range.
    pub port_max: u16,
}

impl Default for RtpConfig {
    fn default() -> Self {
        Self {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port_min: 20000,
            port_max: 29999,
        }
    }
}

/// `[media]`: how the media thread (RTP pacing for every call) is
/// scheduled; see [`crate::media::driver::MediaScheduling`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// Run the media thread SCHED_FIFO (needs root, CAP_SYS_NICE or
    /// `ulimit -r`); refused, it falls back to `nice`.
    pub realtime: bool,
    /// SCHED_FIFO priority, 1–99.
    pub realtime_priority: u8,
    /// Nice value when real-time is off or refused (-20–19; 0 leaves it).
    pub nice: i8,
}

impl Default for MediaConfig {
    fn default() -> Self {
        let d = crate::media::driver::MediaScheduling::default();
        Self {
            realtime: d.realtime,
            realtime_priority: d.priority,
            nice: d.nice,
        }
    }
}

impl MediaConfig {
    /// The driver's scheduling request.
    pub fn scheduling(&self) -> crate::media::driver::MediaScheduling {
        crate::media::driver::MediaScheduling {
            realtime: self.realtime,
            priority: self.realtime_priority,
            nice: self.nice,
        }
    }
}

/// `[http]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Serve `root` on this address; `enabled = false` turns it off.
    pub listen: SocketAddr,
    /// Whether to run the built-in HTTP server.
    pub enabled: bool,
    /// The folder served (relative to the working directory).
    pub root: PathBuf,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            enabled: true,
            root: PathBuf::from("vxml-samples"),
        }
    }
}

/// `[workers]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Session worker threads started with the server; 0 means one per CPU.
    pub threads: usize,
    /// Calls one worker holds at most; more workers are started beyond
    /// that. Each worker's ECMAScript heap holds one context per call, and a
    /// collection walks them all, so this bounds a collection's pause.
    pub calls_per_worker: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            threads: 0,
            calls_per_worker: 10,
        }
    }
}

/// `[routing]`: which application answers which dialed number.
///
/// Targets are URLs; a relative one (`hello/hello.vxml`) is resolved against
/// the built-in HTTP server's address, so the table keeps working when that
/// server listens on a port picked at start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RoutingConfig {
    /// The application for numbers not in `numbers` (none: 404).
    pub default: Option<String>,
    /// Accept the RFC 5552 `voicexml=` Request-URI parameter.
    pub allow_voicexml_param: bool,
    /// Dialed number (Request-URI user part) → initial URL.
    pub numbers: BTreeMap<String, String>,
    /// Dialed numbers whose application is a CCXML document even though its
    /// URL does not end in `.ccxml` (a URL ending in `.ccxml` needs no entry).
    pub ccxml: BTreeSet<String>,
    /// Dialed number → answer mode, for numbers that differ from `[sip] answer`.
    pub answer: BTreeMap<String, AnswerMode>,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        let numbers = [
            ("hello", "hello/hello.vxml"),
            ("1000", "hello/hello.vxml"),
            ("directory", "directory/directory.vxml"),
            ("2000", "directory/directory.vxml"),
            ("operator", "operator/main.vxml"),
            ("3000", "operator/main.vxml"),
            ("bank", "bank/bank.vxml"),
            ("4000", "bank/bank.vxml"),
            ("survey", "survey/survey.vxml"),
            ("5000", "survey/survey.vxml"),
            ("6000", "ccxml/inbound-dialog/main.ccxml"),
            ("6001", "ccxml/screen-redirect/main.ccxml"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self {
            default: Some("hello/hello.vxml".into()),
            allow_voicexml_param: true,
            numbers,
            ccxml: BTreeSet::new(),
            answer: BTreeMap::new(),
        }
    }
}

/// `[tts]`: the `espeak-ng` program that speaks text prompts (the voice
/// follows each prompt's `xml:lang`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TtsConfig {
    /// The program (looked up on `PATH`).
    pub program: String,
    /// Seconds of synthesized phrases kept in memory for reuse.
    pub cache_seconds: u64,
}

impl Default for TtsConfig {
    fn default() -> Self {
        Self {
            program: "espeak-ng".into(),
            cache_seconds: 600,
        }
    }
}

impl ServeConfig {
    /// Parses a `vxp.toml` text; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: ServeConfig = toml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a `vxp.toml` file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Checks the values that the types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=99).contains(&self.media.realtime_priority)
            || !(-20..=19).contains(&self.media.nice)
        {
            return Err(ConfigError::Invalid(format!(
                "media realtime_priority {} must be 1–99 and nice {} -20–19",
                self.media.realtime_priority, self.media.nice
            )));
        }
        if self.rtp.port_min > self.rtp.port_max || self.rtp.port_max - self.rtp.port_min < 1 {
            return Err(ConfigError::Invalid(format!(
                "rtp port range {}–{} holds no even/odd port pair",
                self.rtp.port_min, self.rtp.port_max
            )));
        }
        if self.sip.max_calls == 0 {
            return Err(ConfigError::Invalid(
                "sip.max_calls must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The answer mode for a call to `dialed` (the Request-URI user part).
    pub fn answer_mode(&self, dialed: Option<&str>) -> AnswerMode {
        dialed
            .and_then(|d| self.routing.answer.get(d))
            .copied()
            .unwrap_or(self.sip.answer)
    }

    /// The number of worker threads to start.
    pub fn worker_threads(&self) -> usize {
        match self.workers.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_defaults() {
        let config = ServeConfig::parse("", Path::new("vxp.toml")).expect("empty is valid");
        assert_eq!(config, ServeConfig::default());
        assert_eq!(config.sip.listen.to_string(), "127.0.0.1:5060");
        assert_eq!(config.http.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            config.routing.numbers.get("hello").map(String::as_str),
            Some("hello/hello.vxml")
        );
    }

    #[test]
    fn a_section_overrides_only_its_keys() {
        let text = "[sip]\nlisten = \"0.0.0.0:5070\"\n[routing.numbers]\n\"777\" = \"http://app.example/start.vxml\"\n";
        let config = ServeConfig::parse(text, Path::new("vxp.toml")).expect("valid");
        assert_eq!(config.sip.listen.to_string(), "0.0.0.0:5070");
        assert_eq!(
            config.sip.max_calls, 500,
            "other sip keys keep their defaults"
        );
        assert_eq!(
            config.routing.numbers.get("777").map(String::as_str),
            Some("http://app.example/start.vxml")
        );
        assert_eq!(
            config.routing.numbers.len(),
            1,
            "a table replaces the default table"
        );
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_with_the_file_name() {
        let err = ServeConfig::parse("[sip]\nlisen = \"x\"\n", Path::new("my.toml"))
            .expect_err("typo is rejected");
        let text = err.to_string();
        assert!(text.starts_with("my.toml"), "{text}");
        assert!(text.contains("lisen"), "{text}");
        let err = ServeConfig::parse(
            "[rtp]\nport_min = 30000\nport_max = 20000\n",
            Path::new("a"),
        )
        .expect_err("empty range");
        assert!(matches!(err, ConfigError::Invalid(_)), "{err}");
    }

    #[test]
    fn dns_name_servers() {
        let text = "[dns]\nnameservers = [\"127.0.0.1:5353\"]\n";
        let config = ServeConfig::parse(text, Path::new("vxp.toml")).expect("valid");
        assert_eq!(
            config.dns.nameservers,
            ["127.0.0.1:5353".parse().expect("addr")]
        );
        assert_eq!(config.dns.timeout_ms, 2000);
    }

    #[test]
    fn answer_mode_globally_and_per_number() {
        let text = "[sip]\nanswer = \"immediate\"\n[routing.answer]\n\"900\" = \"on-media\"\n";
        let config = ServeConfig::parse(text, Path::new("vxp.toml")).expect("valid");
        assert_eq!(config.answer_mode(Some("900")), AnswerMode::OnMedia);
        assert_eq!(config.answer_mode(Some("901")), AnswerMode::Immediate);
        assert_eq!(config.answer_mode(None), AnswerMode::Immediate);
        assert_eq!(
            ServeConfig::default().answer_mode(Some("1000")),
            AnswerMode::Immediate
        );
        let err = ServeConfig::parse("[sip]\nanswer = \"later\"\n", Path::new("a"))
            .expect_err("unknown mode");
        assert!(err.to_string().contains("later"), "{err}");
    }

    #[test]
    fn the_documented_sample_file_parses_to_the_defaults() {
        let text = include_str!("../../../docs/vxp.toml");
        let config = ServeConfig::parse(text, Path::new("docs/vxp.toml")).expect("sample parses");
        assert_eq!(config, ServeConfig::default());
    }

    #[test]
    fn media_scheduling_from_the_file_and_its_bounds() {
        let text = "[media]\nrealtime = false\nnice = -5\n";
        let config = ServeConfig::parse(text, Path::new("vxp.toml")).expect("valid");
        let s = config.media.scheduling();
        assert_eq!((s.realtime, s.priority, s.nice), (false, 10, -5));
        assert!(ServeConfig::default().media.scheduling().realtime);
        let err = ServeConfig::parse("[media]\nrealtime_priority = 0\n", Path::new("a"))
            .expect_err("priority 0 is not real-time");
        assert!(matches!(err, ConfigError::Invalid(_)), "{err}");
    }
}
