//! The `vxp` command line: argument parsing and dispatch to one module per
//! subcommand.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod ccxml;
pub mod conformance;
pub mod grammar;
pub mod run;
pub mod serve;

/// VXP: an open-source voice platform for VoiceXML 2.1 and CCXML 1.0.
#[derive(Debug, Parser)]
#[command(
    name = "vxp",
    version,
    about = "VXP: an open-source voice platform for VoiceXML 2.1 and CCXML 1.0"
)]
pub struct Cli {
    /// More logging on standard error (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a VoiceXML application in text mode (scripted or interactive input).
    Run(run::RunArgs),
    /// Answer SIP calls and run VoiceXML applications (softphones, gateways).
    Serve(serve::ServeArgs),
    /// Check grammars and run SRGS grammar test sets.
    #[command(subcommand)]
    Grammar(grammar::GrammarCommand),
    /// Run CCXML applications in text mode.
    #[command(subcommand)]
    Ccxml(ccxml::CcxmlCommand),
    /// Run VoiceXML conformance suites and compare their reports.
    #[command(subcommand)]
    Conformance(conformance::ConformanceCommand),
}

/// Sets up `tracing` output on standard error; `RUST_LOG` overrides `-v`.
pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // A second initialisation (tests calling into the CLI) is harmless.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the parsed command line; the exit code is the command's verdict.
pub fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Grammar(cmd) => grammar::run(cmd),
        Command::Conformance(cmd) => conformance::run(cmd),
        Command::Ccxml(cmd) => ccxml::run(cmd),
    }
}
