//! `vxp grammar check <file>` and `vxp grammar test <dir>`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

/// Grammar subcommands.
#[derive(Debug, Subcommand)]
pub enum GrammarCommand {
    /// Parse a grammar file (SRGS XML or ABNF) and report errors with line and column.
    Check {
        /// The grammar file.
        file: PathBuf,
    },
    /// Run every grammar of an SRGS test set (in.N / out.N meta pairs).
    Test {
        /// The folder holding the test grammars.
        dir: PathBuf,
    },
}

/// Runs a grammar subcommand.
pub fn run(cmd: GrammarCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        GrammarCommand::Check { file } | GrammarCommand::Test { dir: file } => {
            anyhow::bail!("grammar engine not built yet: {}", file.display())
        }
    }
}
