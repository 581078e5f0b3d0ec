//! `vxp serve`: answer SIP calls and run VoiceXML applications (see
//! `docs/RUNNING-APPS.md`). Reads `vxp.toml` if given, applies the flags, starts
//! the server on a multi-threaded tokio runtime, prints the bound addresses
//! and runs until interrupted (Ctrl-C).

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::serve::{self, CallNote, ServeConfig};

/// Arguments of `vxp serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (see docs/vxp.toml); defaults apply without one.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// SIP address (UDP and TCP), e.g. 127.0.0.1:5060; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub sip: Option<SocketAddr>,
    /// Built-in HTTP server address; port 0 picks a free port.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Folder served over HTTP (default vxml-samples).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Application for numbers not in the routing table (URL, or a path
    /// relative to the HTTP root).
    #[arg(long, value_name = "URL")]
    pub default_app: Option<String>,
    /// Session worker threads (0: one per CPU).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Maximum concurrent calls.
    #[arg(long)]
    pub max_calls: Option<usize>,
    /// Print each call's log (prompts, keys, `<log>`, events) on standard output.
    #[arg(long)]
    pub call_log: bool,
}

impl ServeArgs {
    /// The configuration: file (or defaults), then flags.
    pub fn config(&self) -> anyhow::Result<ServeConfig> {
        let mut config = match &self.config {
            Some(path) => ServeConfig::load(path)?,
            None => ServeConfig::default(),
        };
        if let Some(sip) = self.sip {
            config.sip.listen = sip;
        }
        if let Some(http) = self.http {
            config.http.listen = http;
        }
        if let Some(root) = &self.root {
            config.http.root = root.clone();
        }
        if let Some(app) = &self.default_app {
            config.routing.default = Some(app.clone());
        }
        if let Some(n) = self.workers {
            config.workers.threads = n;
        }
        if let Some(n) = self.max_calls {
            config.sip.max_calls = n;
        }
        config.validate()?;
        Ok(config)
    }
}

/// Runs `vxp serve` until Ctrl-C.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")?;
    runtime.block_on(async move {
        let server = serve::start(config).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "sip udp {}", server.sip)?;
        writeln!(out, "sip tcp {}", server.sip_tcp)?;
        if let Some(http) = server.http {
            writeln!(out, "http {http}")?;
        }
        out.flush()?;
        drop(out);
        let mut notes = server.subscribe();
        let call_log = args.call_log;
        let printer = tokio::spawn(async move {
            while let Ok((key, note)) = notes.recv().await {
                if call_log {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{key} {}", describe(&note));
                }
            }
        });
        tokio::signal::ctrl_c()
            .await
            .context("cannot wait for Ctrl-C")?;
        printer.abort();
        server.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// One line of the call log.
pub fn describe(note: &CallNote) -> String {
    match note {
        CallNote::Started { url } => format!("started {url}"),
        CallNote::Dtmf(d) => format!("dtmf {d}"),
        CallNote::Prompt(text) => format!("prompt {text}"),
        CallNote::Log { label, text } => match label {
            Some(l) => format!("log [{l}] {text}"),
            None => format!("log {text}"),
        },
        CallNote::Event { name, message } => match message {
            Some(m) => format!("event {name}: {m}"),
            None => format!("event {name}"),
        },
        CallNote::Send(body) => format!("send {body}"),
        CallNote::Ended { how } => format!("ended {how}"),
    }
}
