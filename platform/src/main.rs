//! `vxp`: the VXP command line.
//!
//! Every subcommand is a thin front end over a library in this workspace; see
//! `docs/ARCHITECTURE.md` for the map.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = vxp_platform::cli::Cli::parse();
    vxp_platform::cli::init_tracing(cli.verbose);
    match vxp_platform::cli::dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            tracing::error!("{err:#}");
            #[allow(
                clippy::print_stderr,
                reason = "the binary reports its own fatal error"
            )]
            {
                eprintln!("vxp: {err:#}");
            }
            ExitCode::from(2)
        }
    }
}
