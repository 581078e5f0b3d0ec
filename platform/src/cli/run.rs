//! `vxp run`: run a VoiceXML application in text mode, with scripted inputs
//! (`--input`, `--inputs-file`) or, at a terminal without any, interactively.
//! The transcript goes to standard output as text or JSON lines; see
//! `docs/RUNNING-APPS.md`.

use std::collections::VecDeque;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::text::{
    CallInfo, DriverConfig, Ending, Input, InputSource, TextDriver, TranscriptEntry, Waiting,
    target_url, transcript::entry_json,
};

/// Transcript format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable transcript (`S:` prompts, `U:` caller, `[...]` events).
    Text,
    /// One JSON object per line with a `kind` field.
    Jsonl,
}

/// Arguments of `vxp run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Path or URL of the initial page.
    pub target: String,
    /// A caller input, used the next time the application waits; repeatable:
    /// dtmf:DIGITS, say:WORDS, noinput, nomatch, hangup, transfer:OUTCOME,
    /// message:TEXT.
    #[arg(long = "input", value_name = "INPUT", value_parser = parse_input)]
    pub inputs: Vec<Input>,
    /// A file of inputs, one per line (`#` comments); `-` reads standard input.
    /// Used after the `--input`s.
    #[arg(long, value_name = "FILE")]
    pub inputs_file: Option<PathBuf>,
    /// Transcript format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The caller's number (`session.connection.remote.uri`).
    #[arg(long)]
    pub ani: Option<String>,
    /// The number called (`session.connection.local.uri`).
    #[arg(long)]
    pub dnis: Option<String>,
    /// A SIP header of the incoming call, `Name: value`; repeatable.
    #[arg(long = "header", value_name = "HEADER", value_parser = parse_header)]
    pub headers: Vec<(String, String)>,
    /// Print absolute URLs instead of URLs relative to the application's folder.
    #[arg(long)]
    pub absolute_urls: bool,
    /// Bound on driver steps before the call is stopped.
    #[arg(long, default_value_t = crate::text::DEFAULT_MAX_STEPS)]
    pub max_steps: u32,
}

fn parse_input(s: &str) -> Result<Input, String> {
    s.parse()
        .map_err(|e: crate::text::InputError| e.to_string())
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("`{s}` is not `Name: value`"))?;
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

/// Reads one input per line from a terminal, asking with a short prompt on
/// standard error.
struct Interactive {
    stdin: std::io::Stdin,
}

impl InputSource for Interactive {
    fn next_input(&mut self, waiting: Waiting) -> Option<Input> {
        let ask = match waiting {
            Waiting::Input => "keys, words, empty for silence, hangup",
            Waiting::Recording => "words to record, empty for silence, hangup",
            Waiting::Transfer => "transfer:OUTCOME or empty to answer",
            Waiting::Message => "message:TEXT or empty to wait",
        };
        loop {
            let mut stderr = std::io::stderr();
            // Best effort: a closed standard error must not stop the call.
            let _ = write!(stderr, "({ask}) > ");
            let _ = stderr.flush();
            let mut line = String::new();
            match self.stdin.lock().read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            if waiting == Waiting::Transfer && line.trim().is_empty() {
                return Some(Input::Transfer(
                    crate::text::TransferOutcome::FarEndDisconnect,
                ));
            }
            match Input::from_interactive_line(&line) {
                Ok(input) => return Some(input),
                Err(err) => {
                    let _ = writeln!(stderr, "{err}");
                }
            }
        }
    }
}

/// Runs `vxp run`: 0 when the application ends normally (exit, disconnect,
/// the caller hanging up), 1 when it ends on an unhandled error, 2 on a
/// usage error.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let url = target_url(&args.target)?;
    let mut inputs: VecDeque<Input> = args.inputs.iter().cloned().collect();
    if let Some(file) = &args.inputs_file {
        let text = if file.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).context("reading inputs from stdin")?
        } else {
            std::fs::read_to_string(file)
                .with_context(|| format!("reading inputs from {}", file.display()))?
        };
        let parsed = crate::text::input::parse_inputs_file(&text)
            .map_err(|(line, err)| anyhow::anyhow!("{}:{line}: {err}", file.display()))?;
        inputs.extend(parsed);
    }
    let interactive =
        args.inputs.is_empty() && args.inputs_file.is_none() && std::io::stdin().is_terminal();

    let mut config = DriverConfig::new(url);
    if args.absolute_urls {
        config.rewrites.clear();
    }
    config.max_steps = args.max_steps;
    config.call = CallInfo {
        ani: args.ani,
        dnis: args.dnis,
        sip_headers: args.headers,
    };
    let driver = TextDriver::new(config)?;

    let format = args.format;
    let mut stdout = std::io::stdout().lock();
    let mut write_error = None;
    let mut observer = |entry: &TranscriptEntry| {
        let line = match format {
            Format::Text => entry.to_string(),
            Format::Jsonl => entry_json(entry),
        };
        if write_error.is_none()
            && let Err(err) = writeln!(stdout, "{line}").and_then(|()| stdout.flush())
        {
            write_error = Some(err);
        }
    };
    let transcript = if interactive {
        let mut source = Interactive {
            stdin: std::io::stdin(),
        };
        driver.run(&mut source, &mut observer)
    } else {
        driver.run(&mut inputs, &mut observer)
    };
    if let Some(err) = write_error {
        // A closed pipe (`vxp run … | head`) is not the application's failure.
        tracing::debug!("transcript output failed: {err}");
    }
    Ok(match transcript.ending() {
        Ending::Error => ExitCode::from(1),
        Ending::Exit | Ending::Disconnect | Ending::Hangup => ExitCode::SUCCESS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: RunArgs,
    }

    #[test]
    fn parses_repeated_inputs_and_format() {
        let w = Wrapper::try_parse_from([
            "vxp",
            "app.vxml",
            "--input",
            "dtmf:1234",
            "--input",
            "say:large pizza",
            "--input",
            "noinput",
            "--format",
            "jsonl",
            "--header",
            "X-Genesys-CallUUID: abc",
        ])
        .expect("valid arguments");
        assert_eq!(w.args.target, "app.vxml");
        assert_eq!(
            w.args.inputs,
            vec![
                Input::Dtmf("1234".into()),
                Input::Say("large pizza".into()),
                Input::NoInput
            ]
        );
        assert_eq!(w.args.format, Format::Jsonl);
        assert_eq!(
            w.args.headers,
            vec![("X-Genesys-CallUUID".to_owned(), "abc".to_owned())]
        );
    }

    #[test]
    fn rejects_a_bad_input_as_a_usage_error() {
        let err = Wrapper::try_parse_from(["vxp", "app.vxml", "--input", "press:1"])
            .expect_err("unknown input kind");
        assert!(err.to_string().contains("unknown input"), "{err}");
    }
}
