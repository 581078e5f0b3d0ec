//! `vxp conformance run <suite>` and `vxp conformance compare base new`: run
//! a VoiceXML or CCXML implementation-report suite (W3C layout, folder or
//! zip) on the text platform, and compare two JSON reports (see
//! `vxp_conformance::vxml` and `vxp_conformance::ccxml`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use serde_json::Value;
use url::Url;
use vxp_conformance::vxml::{Report, Suite, compare, render_changes};
use vxp_conformance::{ccxml, vxml};

use crate::ccxml_text::{self, Outcome, Scenario, Transcript};
use crate::conformance_driver::TextDialogDriver;

/// The CCXML text driver (simulated telephony on a simulated clock) as a
/// conformance [`ccxml::SessionDriver`]: one [`ccxml_text::run_scenario`]
/// per test.
#[derive(Debug, Clone, Copy, Default)]
pub struct CcxmlTextDriver;

impl ccxml::SessionDriver for CcxmlTextDriver {
    fn run_session(
        &self,
        start: &Url,
        scenario: Option<&str>,
        max_time: Duration,
    ) -> ccxml::SessionOutcome {
        let error = |message: String| ccxml::SessionOutcome {
            ending: ccxml::SessionEnding::Error(message),
            logs: Vec::new(),
        };
        let scenario = match scenario.map(Scenario::from_toml).transpose() {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => return error(format!("scenario: {e}")),
        };
        let options = ccxml_text::RunOptions {
            max_time: Some(max_time),
            rewrites: Vec::new(),
        };
        match ccxml_text::run_scenario(start.clone(), &scenario, &options) {
            Ok(transcript) => session_outcome(&transcript),
            Err(e) => error(format!("cannot start the session: {e}")),
        }
    }
}

/// A value as the verdict shows it: strings without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// What the verdict needs from a transcript.
fn session_outcome(transcript: &Transcript) -> ccxml::SessionOutcome {
    let ending = match &transcript.outcome {
        Outcome::Exit { expr, values } => ccxml::SessionEnding::Exit {
            value: (!expr.is_null()).then(|| plain(expr)),
            values: values.iter().map(|(k, v)| (k.clone(), plain(v))).collect(),
        },
        Outcome::Ended { event, .. } if event == "ccxml.kill" => ccxml::SessionEnding::Killed,
        Outcome::Ended { event, reason } => {
            ccxml::SessionEnding::Error(format!("{event}: {reason}"))
        }
        Outcome::Timeout { reason } => {
            tracing::debug!(%reason, "conformance session timed out");
            ccxml::SessionEnding::TimedOut
        }
    };
    let logs = transcript
        .entries
        .iter()
        .filter_map(|e| match e {
            ccxml_text::Entry::Log { label, text, .. } => Some(match label {
                Some(l) => format!("{l}: {text}"),
                None => text.clone(),
            }),
            _ => None,
        })
        .collect();
    ccxml::SessionOutcome { ending, logs }
}

/// Which language a suite tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SuiteKind {
    /// From the manifest: CCXML when every start document ends `.ccxml`.
    Auto,
    /// VoiceXML 2.0/2.1 (`.txml` documents with `conf:` markup).
    Vxml,
    /// CCXML 1.0 (`.ccxml` documents with scenarios).
    Ccxml,
}

/// Conformance subcommands.
#[derive(Debug, Subcommand)]
pub enum ConformanceCommand {
    /// Run a VoiceXML or CCXML conformance suite (folder or zip holding manifest.xml).
    Run {
        /// The suite folder or zip.
        suite: PathBuf,
        /// The suite's language (auto: from the manifest).
        #[arg(long, value_enum, default_value_t = SuiteKind::Auto)]
        kind: SuiteKind,
        /// Only these test ids or spec sections (repeatable, or comma-separated).
        #[arg(long, value_delimiter = ',')]
        filter: Vec<String>,
        /// Tests run in parallel.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// Bound on driver steps per test (VoiceXML).
        #[arg(long, default_value_t = 400)]
        max_steps: u32,
        /// Bound on each session's simulated time in seconds (CCXML).
        #[arg(long, default_value_t = 120)]
        max_time: u64,
        /// Write the JSON report here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Write the Markdown table here instead of standard output.
        #[arg(long)]
        markdown: Option<PathBuf>,
    },
    /// List tests whose result changed; fails when a passing test no longer passes.
    Compare {
        /// The baseline JSON report.
        base: PathBuf,
        /// The new JSON report.
        new: PathBuf,
    },
}

fn read_report(path: &PathBuf) -> anyhow::Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Report::from_json(&text)
        .with_context(|| format!("{} is not a conformance report", path.display()))
}

/// The language of `suite`, as asked or as its manifest says.
pub fn resolve_kind(kind: SuiteKind, suite: &Suite) -> SuiteKind {
    match kind {
        SuiteKind::Auto if ccxml::is_ccxml_suite(suite) => SuiteKind::Ccxml,
        SuiteKind::Auto => SuiteKind::Vxml,
        other => other,
    }
}

/// Runs a conformance subcommand.
pub fn run(cmd: ConformanceCommand) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match cmd {
        ConformanceCommand::Run {
            suite,
            kind,
            filter,
            jobs,
            max_steps,
            max_time,
            report,
            markdown,
        } => {
            let loaded = Suite::load(&suite)?;
            let result = match resolve_kind(kind, &loaded) {
                SuiteKind::Ccxml => {
                    let options = ccxml::RunOptions {
                        filter,
                        jobs,
                        max_time: Duration::from_secs(max_time),
                    };
                    ccxml::run_suite(&loaded, &CcxmlTextDriver, &options)?
                }
                SuiteKind::Vxml | SuiteKind::Auto => {
                    let options = vxml::RunOptions {
                        filter,
                        jobs,
                        max_steps,
                    };
                    vxml::run_suite(&loaded, &TextDialogDriver::default(), &options)?
                }
            };
            if let Some(path) = report {
                std::fs::write(&path, result.to_json() + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            let md = result.to_markdown();
            match markdown {
                Some(path) => {
                    std::fs::write(&path, &md)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    writeln!(stdout, "{}", result.closing_line())?;
                }
                None => write!(stdout, "{md}")?,
            }
            Ok(if result.failed() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        ConformanceCommand::Compare { base, new } => {
            let changes = compare(&read_report(&base)?, &read_report(&new)?);
            write!(stdout, "{}", render_changes(&changes))?;
            Ok(if changes.iter().any(|c| c.is_regression()) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Map, json};

    use super::*;

    fn suite(start: &str) -> Suite {
        let manifest = format!(
            r#"<tests><test id="1"><assert id="1" spec="1">x</assert><start uri="{start}"/></test></tests>"#
        );
        let mut files = BTreeMap::new();
        files.insert("manifest.xml".to_owned(), manifest.into_bytes());
        Suite::from_files("s".into(), files).expect("suite")
    }

    #[test]
    fn kind_comes_from_the_manifest_unless_given() {
        assert_eq!(
            resolve_kind(SuiteKind::Auto, &suite("1/1.ccxml")),
            SuiteKind::Ccxml
        );
        assert_eq!(
            resolve_kind(SuiteKind::Auto, &suite("1/1.txml")),
            SuiteKind::Vxml
        );
        assert_eq!(
            resolve_kind(SuiteKind::Ccxml, &suite("1/1.txml")),
            SuiteKind::Ccxml
        );
    }

    #[test]
    fn transcripts_become_session_outcomes() {
        let mut values = Map::new();
        values.insert("reason".to_owned(), json!("no event"));
        values.insert("n".to_owned(), json!(3));
        let exit = Transcript {
            entries: vec![ccxml_text::Entry::Log {
                at_ms: 0,
                label: Some("t".to_owned()),
                text: "hello".to_owned(),
            }],
            outcome: Outcome::Exit {
                expr: json!("fail"),
                values,
            },
        };
        let outcome = session_outcome(&exit);
        assert_eq!(outcome.logs, ["t: hello"]);
        assert_eq!(
            outcome.ending,
            ccxml::SessionEnding::Exit {
                value: Some("fail".to_owned()),
                values: vec![
                    ("n".to_owned(), "3".to_owned()),
                    ("reason".to_owned(), "no event".to_owned())
                ],
            }
        );
        let ended = |event: &str| Transcript {
            entries: Vec::new(),
            outcome: Outcome::Ended {
                event: event.to_owned(),
                reason: "why".to_owned(),
            },
        };
        assert_eq!(
            session_outcome(&ended("ccxml.kill")).ending,
            ccxml::SessionEnding::Killed
        );
        assert_eq!(
            session_outcome(&ended("error.semantic")).ending,
            ccxml::SessionEnding::Error("error.semantic: why".to_owned())
        );
        let timeout = Transcript {
            entries: Vec::new(),
            outcome: Outcome::Timeout {
                reason: "120 s".to_owned(),
            },
        };
        assert_eq!(
            session_outcome(&timeout).ending,
            ccxml::SessionEnding::TimedOut
        );
    }

    #[test]
    fn a_broken_scenario_is_a_failure_with_its_reason() {
        let start = Url::parse("http://127.0.0.1:9/1/1.ccxml").expect("url");
        let outcome = ccxml::SessionDriver::run_session(
            &CcxmlTextDriver,
            &start,
            Some("no_such_field = 1"),
            Duration::from_secs(1),
        );
        assert!(
            matches!(&outcome.ending, ccxml::SessionEnding::Error(e) if e.starts_with("scenario:")),
            "{outcome:?}"
        );
    }
}
