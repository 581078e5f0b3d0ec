//! `vxp conformance run <suite>` and `vxp conformance compare base new`: run
//! a VoiceXML implementation-report suite (W3C layout, folder or zip) on the
//! text platform, and compare two JSON reports (see
//! `vxp_conformance::vxml`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use vxp_conformance::vxml::{Report, RunOptions, Suite, compare, render_changes, run_suite};

use crate::conformance_driver::TextDialogDriver;

/// Conformance subcommands.
#[derive(Debug, Subcommand)]
pub enum ConformanceCommand {
    /// Run a VoiceXML conformance suite (folder or zip holding manifest.xml).
    Run {
        /// The suite folder or zip.
        suite: PathBuf,
        /// Only these test ids or spec sections (repeatable, or comma-separated).
        #[arg(long, value_delimiter = ',')]
        filter: Vec<String>,
        /// Tests run in parallel.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
        /// Bound on driver steps per test.
        #[arg(long, default_value_t = 400)]
        max_steps: u32,
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

/// Runs a conformance subcommand.
pub fn run(cmd: ConformanceCommand) -> anyhow::Result<ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match cmd {
        ConformanceCommand::Run {
            suite,
            filter,
            jobs,
            max_steps,
            report,
            markdown,
        } => {
            let loaded = Suite::load(&suite)?;
            let options = RunOptions {
                filter,
                jobs,
                max_steps,
            };
            let result = run_suite(&loaded, &TextDialogDriver::default(), &options)?;
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
