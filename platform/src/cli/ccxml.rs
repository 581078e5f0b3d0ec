//! `vxp ccxml run`: run a CCXML application in text mode against a
//! simulated telephony network (`--scenario`), printing the transcript as
//! text or JSON lines; see `docs/RUNNING-APPS.md`, "CCXML".

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::run::Format;
use crate::ccxml_text::{Entry, Outcome, RunOptions, Scenario, TimedEvent, run_scenario_with};
use crate::text::target_url;

/// `vxp ccxml` subcommands.
#[derive(Debug, Subcommand)]
pub enum CcxmlCommand {
    /// Run a CCXML application in text mode.
    Run(CcxmlRunArgs),
}

/// Arguments of `vxp ccxml run`.
#[derive(Debug, Args)]
pub struct CcxmlRunArgs {
    /// Path or URL of the CCXML document.
    pub target: String,
    /// A scenario file (TOML) for the simulated network.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// An external event, `NAME` or `AT_MS:NAME`; repeatable.
    #[arg(long = "event", value_name = "EVENT")]
    pub events: Vec<String>,
    /// The inbound caller hangs up at this simulated time (ms).
    #[arg(long, value_name = "MS")]
    pub hangup_at: Option<u64>,
    /// Transcript format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Bound of simulated time in seconds (default: the scenario's, else 120).
    #[arg(long, value_name = "SECONDS")]
    pub max_time: Option<u64>,
    /// Print absolute URLs instead of URLs relative to the application's folder.
    #[arg(long)]
    pub absolute_urls: bool,
}

/// Runs a `vxp ccxml` command: 0 when the session exits with `<exit>`
/// (any value), 1 when it ends otherwise (unhandled error, kill, timeout).
pub fn run(cmd: CcxmlCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CcxmlCommand::Run(args) => run_app(args),
    }
}

fn run_app(args: CcxmlRunArgs) -> anyhow::Result<ExitCode> {
    let url = target_url(&args.target)?;
    let mut scenario = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Scenario::from_toml(&text).with_context(|| format!("in {}", path.display()))?
        }
        None => Scenario::default(),
    };
    for e in &args.events {
        let (at_ms, name) = match e.split_once(':') {
            Some((t, n)) if t.chars().all(|c| c.is_ascii_digit()) && !t.is_empty() => {
                (t.parse().context("event time")?, n)
            }
            _ => (0, e.as_str()),
        };
        scenario.events.push(TimedEvent {
            at_ms,
            kind: "event".into(),
            connection: None,
            name: Some(name.to_owned()),
            dialog: None,
            fields: serde_json::Map::new(),
        });
    }
    if let Some(at_ms) = args.hangup_at {
        scenario.events.push(TimedEvent {
            at_ms,
            kind: "hangup".into(),
            connection: Some("inbound".into()),
            name: None,
            dialog: None,
            fields: serde_json::Map::new(),
        });
    }
    let mut options = RunOptions::relative_to(&url);
    if args.absolute_urls {
        options.rewrites.clear();
    }
    options.max_time = args.max_time.map(Duration::from_secs);
    let format = args.format;
    let mut stdout = std::io::stdout().lock();
    let mut write_error = None;
    let mut observe = |entry: &Entry| {
        let line = match format {
            Format::Text => entry.to_string(),
            Format::Jsonl => serde_json::to_string(entry).unwrap_or_default(),
        };
        if write_error.is_none()
            && let Err(err) = writeln!(stdout, "{line}").and_then(|()| stdout.flush())
        {
            write_error = Some(err);
        }
    };
    let transcript = run_scenario_with(url, &scenario, &options, &mut observe)?;
    if let Some(err) = write_error {
        tracing::debug!("transcript output failed: {err}");
    }
    Ok(match transcript.outcome {
        Outcome::Exit { .. } => ExitCode::SUCCESS,
        Outcome::Ended { .. } | Outcome::Timeout { .. } => ExitCode::from(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(subcommand)]
        cmd: CcxmlCommand,
    }

    #[test]
    fn parses_run_arguments() {
        let w = Wrapper::try_parse_from([
            "vxp",
            "run",
            "app.ccxml",
            "--event",
            "2000:app.go",
            "--hangup-at",
            "5000",
            "--format",
            "jsonl",
        ])
        .expect("valid arguments");
        let CcxmlCommand::Run(args) = w.cmd;
        assert_eq!(args.target, "app.ccxml");
        assert_eq!(args.events, vec!["2000:app.go"]);
        assert_eq!(args.hangup_at, Some(5000));
        assert_eq!(args.format, Format::Jsonl);
    }
}
