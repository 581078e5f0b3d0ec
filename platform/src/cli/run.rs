//! `vxp run`: run a VoiceXML application in text mode.

use std::process::ExitCode;

use clap::Args;

/// Arguments of `vxp run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Path or URL of the initial page.
    pub target: String,
}

/// Runs `vxp run`.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "the VoiceXML session core is not built yet: {}",
        args.target
    )
}
