//! The `provdiff` command: arguments, orchestration, printing and exit codes. Everything else
//! lives in the library crates under `crates/`.

mod acquire;
mod check;
mod cli;
mod diff;
mod inputs;
mod pack;
mod progress;
mod rebuild;
mod report;
mod verify;
mod verify_bundle;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

/// Exit codes, as documented in `provdiff --help`.
pub mod exit {
    pub const OK: u8 = 0;
    pub const FAILED: u8 = 1;
    pub const ERROR: u8 = 2;
    pub const INCONCLUSIVE: u8 = 3;
    pub const SOURCE_UNAVAILABLE: u8 = 4;
}

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Check(args) => check::run(&args),
        cli::Command::Diff(args) => diff::run(&args),
        cli::Command::Pack(args) => pack::run(&args),
        cli::Command::Verify(args) => verify::run(&args),
        cli::Command::VerifyBundle(args) => verify_bundle::run(&args),
        cli::Command::RebuildInit { args } => rebuild::init(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            // A closed pipe (`provdiff … | head`) is not an error worth reporting.
            if error.chain().any(|cause| {
                cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::from(exit::OK);
            }
            let mut stderr = std::io::stderr().lock();
            // One line: the error and its causes, separated by colons.
            let _ = writeln!(stderr, "provdiff: error: {error:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}
