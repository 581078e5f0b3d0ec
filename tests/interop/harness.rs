//! Shared pieces of the interop tests: tool checks (a missing tool fails
//! under `CI=true`, otherwise the test is skipped with a message), a `vxp
//! serve` started in-process on free loopback ports, a scripted baresip
//! softphone driven over its `ctrl_tcp` socket, caller audio made with sox,
//! and a loudness envelope for comparing recordings.
//!
//! The server runs inside the test process (`vxp_platform::serve::start`):
//! the `vxp` binary of another package is not built for this crate's tests,
//! and in-process the test reads the call log directly.
#![allow(
    dead_code,
    reason = "each interop test file uses a part of the harness"
)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;
use vxp_platform::serve::{self, CallKey, CallNote, RunningServer, ServeConfig};

/// True when every tool runs; otherwise fails (CI) or prints why the test is
/// skipped and returns false.
#[allow(
    clippy::print_stderr,
    reason = "the skip reason is for the person running the tests"
)]
pub fn tools_present(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| {
            Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {t}"))
                .stdout(Stdio::null())
                .status()
                .map(|s| !s.success())
                .unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "interop tools missing under CI=true: {missing:?}");
    eprintln!(
        "skipped: interop tools not installed: {missing:?} (apt-get install baresip-core sip-tester espeak-ng sox)"
    );
    false
}

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "vxp-interop-{}-{name}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// A free UDP+TCP port on loopback (bound then released).
pub fn free_port() -> u16 {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    let s = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    s.local_addr().expect("addr").port()
}

/// A running server and the runtime it lives on.
pub struct Server {
    pub runtime: tokio::runtime::Runtime,
    pub server: RunningServer,
    pub notes: broadcast::Receiver<(CallKey, CallNote)>,
}

impl Server {
    /// Starts `vxp serve` on free ports, serving `vxml-samples/`.
    pub fn start() -> Server {
        Self::start_with(|_| {})
    }

    /// Starts `vxp serve` with the test defaults changed by `tune`.
    pub fn start_with(tune: impl FnOnce(&mut ServeConfig)) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let mut config = ServeConfig::default();
        config.sip.listen = "127.0.0.1:0".parse().expect("literal");
        config.http.listen = "127.0.0.1:0".parse().expect("literal");
        config.http.root = samples_dir();
        config.workers.threads = 2;
        let base = 20000 + (std::process::id() % 200) as u16 * 40 + free_port() % 20 * 2;
        config.rtp.port_min = base;
        config.rtp.port_max = base + 39;
        tune(&mut config);
        let server = runtime
            .block_on(serve::start(config))
            .expect("server starts");
        let notes = server.subscribe();
        Server {
            runtime,
            server,
            notes,
        }
    }

    /// The SIP address.
    pub fn sip(&self) -> SocketAddr {
        self.server.sip
    }

    /// Waits for a call note matching `pred`, returning every note seen on
    /// the way (including the match); panics after `within`.
    pub fn wait_note(
        &mut self,
        within: Duration,
        pred: impl Fn(&CallNote) -> bool,
    ) -> Vec<CallNote> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            match self.notes.try_recv() {
                Ok((_, note)) => {
                    let hit = pred(&note);
                    seen.push(note);
                    if hit {
                        return seen;
                    }
                }
                Err(broadcast::error::TryRecvError::Empty) => {
                    assert!(
                        Instant::now() < deadline,
                        "no matching call note; saw {seen:#?}"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(err) => panic!("call log: {err}"),
            }
        }
    }
}

/// Runs a program to completion, panicking with its stderr on failure.
pub fn run(cmd: &mut Command) {
    let out = cmd.output().expect("program runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The repository's `vxml-samples/` folder.
pub fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vxml-samples")
}

/// Caller audio: `seconds` of silence (8 kHz mono WAV). baresip hangs up when
/// its source file ends, so the file is longer than any test call.
pub fn silence_wav(dir: &Path, seconds: u32) -> PathBuf {
    let path = dir.join("caller.wav");
    run(Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&path)
        .args(["trim", "0", &seconds.to_string()]));
    path
}

/// A `seconds`-long sine tone at `hz` (8 kHz mono WAV) named `name`: an
/// audio source whose frequency shows which party a recording heard.
pub fn tone_wav(dir: &Path, name: &str, hz: u32, seconds: u32) -> PathBuf {
    let path = dir.join(name);
    run(Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(&path)
        .args([
            "synth",
            &seconds.to_string(),
            "sine",
            &hz.to_string(),
            "vol",
            "0.5",
        ]));
    path
}

/// Relative power of `samples` at `hz` (Goertzel, 8 kHz), normalised by the
/// signal's total power: near 0.5 for a pure tone at `hz`, near 0 without it.
pub fn tone_share(samples: &[i16], hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * hz / 8000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2, mut total) = (0.0f64, 0.0f64, 0.0f64);
    for &x in samples {
        let x = f64::from(x);
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
        total += x * x;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power / (total * samples.len().max(1) as f64).max(1e-9)
}

/// What espeak-ng says for `text` at its default voice and rate, as 8 kHz
/// samples (the expected prompt).
pub fn espeak_8k(dir: &Path, text: &str) -> Vec<i16> {
    let raw = dir.join("expected-22k.wav");
    let out = dir.join("expected.wav");
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-w"])
        .arg(&raw)
        .arg(text));
    run(Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16"])
        .arg(&out));
    read_wav(&out)
}

/// The 16-bit samples of a PCM WAV file.
pub fn read_wav(path: &Path) -> Vec<i16> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .expect("recording readable");
    let data = bytes
        .windows(4)
        .position(|w| w == b"data")
        .map(|p| p + 8)
        .unwrap_or(bytes.len());
    bytes
        .get(data..)
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// RMS loudness in 50 ms windows.
pub fn envelope(samples: &[i16]) -> Vec<f64> {
    samples
        .chunks(400)
        .map(|w| {
            let sum: f64 = w.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
            (sum / w.len().max(1) as f64).sqrt()
        })
        .collect()
}

/// The part of an envelope between the first and last window louder than
/// `threshold`.
pub fn voiced(env: &[f64], threshold: f64) -> &[f64] {
    let first = env.iter().position(|&v| v > threshold).unwrap_or(0);
    let last = env
        .iter()
        .rposition(|&v| v > threshold)
        .map_or(0, |p| p + 1);
    env.get(first..last.max(first)).unwrap_or_default()
}

/// The best Pearson correlation of two envelopes with `b` shifted by up to
/// `max_lag` windows either way (the recording starts when the media
/// does, not exactly when the speech does).
pub fn best_correlation(a: &[f64], b: &[f64], max_lag: usize) -> f64 {
    let mut best = correlation(a, b);
    for lag in 1..=max_lag {
        best = best
            .max(correlation(a.get(lag..).unwrap_or_default(), b))
            .max(correlation(a, b.get(lag..).unwrap_or_default()));
    }
    best
}

/// Pearson correlation of two envelopes over their common length.
pub fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (a, b) = (&a[..n], &b[..n]);
    let ma = a.iter().sum::<f64>() / n as f64;
    let mb = b.iter().sum::<f64>() / n as f64;
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va.sqrt() * vb.sqrt()).max(1e-9)
}

/// A baresip softphone in its own config folder, driven over ctrl_tcp.
pub struct Baresip {
    child: Child,
    /// The SIP port it listens on (127.0.0.1, UDP).
    pub sip_port: u16,
    ctrl: TcpStream,
    pub dir: PathBuf,
    events: Vec<serde_json::Value>,
    token: u32,
}

impl Baresip {
    /// Starts baresip with `caller_wav` as its microphone; it records what it
    /// hears into `dir/rec`.
    pub fn start(dir: &Path, caller_wav: &Path) -> Baresip {
        Self::start_as(
            dir,
            caller_wav,
            "<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU,PCMA",
        )
    }

    /// Starts baresip with the given `accounts` line (for example an agent
    /// that answers by itself: `;answermode=auto`).
    pub fn start_as(dir: &Path, caller_wav: &Path, account: &str) -> Baresip {
        // The ports are picked free but are only taken when baresip binds
        // them, so a test running beside this one can take one first: then
        // baresip stops or its control port never answers, and it is
        // started again on new ports.
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(dir, caller_wav, account) {
                Ok(baresip) => return baresip,
                Err(err) => last_error = err,
            }
        }
        panic!(
            "baresip ctrl_tcp not reachable: {last_error}; log in {}",
            dir.display()
        )
    }

    fn try_start(dir: &Path, caller_wav: &Path, account: &str) -> Result<Baresip, String> {
        let sip_port = free_port();
        let ctrl_port = free_tcp_port();
        let rec = dir.join("rec");
        std::fs::create_dir_all(&rec).expect("rec folder");
        let config = format!(
            "sip_listen\t\t127.0.0.1:{sip_port}\n\
             sip_transports\t\tudp\n\
             audio_player\t\taubridge,nul\n\
             audio_source\t\taufile,{}\n\
             audio_alert\t\taubridge,nul\n\
             module_path\t\t/usr/lib/baresip/modules\n\
             module\t\t\tg711.so\n\
             module\t\t\taufile.so\n\
             module\t\t\taubridge.so\n\
             module\t\t\tsndfile.so\n\
             module_app\t\taccount.so\n\
             module_app\t\tmenu.so\n\
             module_app\t\tctrl_tcp.so\n\
             ctrl_tcp_listen\t\t127.0.0.1:{ctrl_port}\n\
             snd_path\t\t{}\n\
             audio_level\t\tno\n",
            caller_wav.display(),
            rec.display()
        );
        std::fs::write(dir.join("config"), config).expect("config");
        std::fs::write(dir.join("accounts"), format!("{account}\n")).expect("accounts");
        let mut child = Command::new("baresip")
            .arg("-f")
            .arg(dir)
            .args(["-n", "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("baresip.log")).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("baresip starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        let ctrl = loop {
            match TcpStream::connect(("127.0.0.1", ctrl_port)) {
                Ok(s) => break s,
                Err(err) => {
                    let exited = matches!(child.try_wait(), Ok(Some(_)));
                    if exited || Instant::now() >= deadline {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(format!(
                            "port {ctrl_port}: {err} (baresip exited: {exited})"
                        ));
                    }
                    std::thread::sleep(Duration::from_millis(50))
                }
            }
        };
        ctrl.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        Ok(Baresip {
            child,
            sip_port,
            ctrl,
            dir: dir.to_owned(),
            events: Vec::new(),
            token: 0,
        })
    }

    /// Sends one ctrl_tcp command (netstring-framed JSON).
    pub fn command(&mut self, command: &str, params: &str) {
        self.token += 1;
        let json = serde_json::json!({"command": command, "params": params, "token": self.token.to_string()}).to_string();
        let frame = format!("{}:{},", json.len(), json);
        self.ctrl.write_all(frame.as_bytes()).expect("ctrl write");
    }

    /// Reads ctrl_tcp messages for up to `within`, until an event of `kind`.
    pub fn wait_event(&mut self, kind: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut reader = BufReader::new(self.ctrl.try_clone().expect("clone"));
        while Instant::now() < deadline {
            if self.events.iter().any(|e| e["type"] == kind) {
                return true;
            }
            let mut len = Vec::new();
            match reader.read_until(b':', &mut len) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(_) => continue,
            }
            let Ok(n) = String::from_utf8_lossy(&len[..len.len() - 1])
                .trim()
                .parse::<usize>()
            else {
                continue;
            };
            let mut body = vec![0u8; n + 1];
            let mut got = 0;
            while got < body.len() && Instant::now() < deadline {
                match reader.read(&mut body[got..]) {
                    Ok(0) => return false,
                    Ok(k) => got += k,
                    Err(_) => {}
                }
            }
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body[..n.min(got)]) {
                self.events.push(v);
            }
        }
        self.events.iter().any(|e| e["type"] == kind)
    }

    /// Every ctrl_tcp message read so far.
    pub fn events(&self) -> &[serde_json::Value] {
        &self.events
    }

    /// The WAV files baresip recorded from the far end (complete once
    /// baresip has stopped).
    pub fn received(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("rec"))
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.to_string_lossy().ends_with("-dec.wav"));
        files
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.command_quit();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Baresip {
    fn command_quit(&mut self) -> std::io::Result<()> {
        let json = r#"{"command":"quit","params":"","token":"q"}"#;
        self.ctrl
            .write_all(format!("{}:{},", json.len(), json).as_bytes())
    }
}

/// Runs one sipp scenario (`tests/interop/sipp/NAME.xml`) as the caller of
/// `service` against the server; returns whether every call succeeded and
/// sipp's message trace.
pub fn sipp(target: SocketAddr, scenario: &str, service: &str, tcp: bool) -> (bool, String) {
    let dir = scratch(&format!("sipp-{scenario}"));
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("interop/sipp")
        .join(format!("{scenario}.xml"));
    let trace = dir.join("messages.log");
    let mut cmd = Command::new("sipp");
    cmd.arg(target.to_string())
        .arg("-sf")
        .arg(&file)
        .args(["-s", service, "-m", "1", "-i", "127.0.0.1"])
        .args(["-p", &free_port().to_string()])
        .args(["-mp", &free_port().to_string()])
        .args(["-timeout", "30s", "-timeout_error", "-nostdin"])
        .args(["-trace_msg", "-message_file"])
        .arg(&trace)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if tcp {
        cmd.args(["-t", "t1"]);
    }
    let out = cmd.output().expect("sipp runs");
    let log = std::fs::read_to_string(&trace).unwrap_or_default();
    let stderr = String::from_utf8_lossy(&out.stderr);
    (
        out.status.success(),
        format!("{stderr}\n--- messages ---\n{log}"),
    )
}

/// Writes a VoiceXML page into `dir` and returns its `file:` URL (for a
/// routing table entry).
pub fn page(dir: &Path, name: &str, body: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "<?xml version=\"1.0\"?>\n<vxml version=\"2.1\" xmlns=\"http://www.w3.org/2001/vxml\">\n{body}\n</vxml>\n"
        ),
    )
    .expect("page written");
    url::Url::from_file_path(&path)
        .expect("absolute path")
        .to_string()
}

/// Starts a sipp user-agent server running `scenario` on `port`, in the
/// background; wait for it with [`Child::wait_with_output`].
pub fn sipp_server(scenario: &str, port: u16) -> Child {
    let dir = scratch(&format!("sipp-{scenario}"));
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("interop/sipp")
        .join(format!("{scenario}.xml"));
    let child = Command::new("sipp")
        .arg("-sf")
        .arg(&file)
        .args(["-m", "1", "-i", "127.0.0.1", "-p", &port.to_string()])
        .args(["-mp", &free_port().to_string()])
        .args([
            "-timeout",
            "30s",
            "-timeout_error",
            "-nostdin",
            "-trace_msg",
            "-message_file",
        ])
        .arg(dir.join("messages.log"))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sipp starts");
    // sipp binds its port before reading the scenario's first message.
    std::thread::sleep(Duration::from_millis(300));
    child
}
