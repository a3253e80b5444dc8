//! The `provdiff` command: arguments, orchestration, printing and exit codes. Everything else
//! lives in the library crates under `crates/`.

mod acquire;
mod check;
mod cli;
mod diff;
mod error;
mod inputs;
mod pack;
mod progress;
mod rebuild;
mod render;
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
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let json = cli.command.json();
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
            let report = error::classify(&error);
            if json && !error.chain().any(|cause| cause.is::<error::Reported>()) {
                print_error_document(&report);
            }
            let mut stderr = std::io::stderr().lock();
            // One line: the error and its causes, separated by colons.
            let _ = writeln!(stderr, "provdiff: error: {}", report.message);
            ExitCode::from(exit::ERROR)
        }
    }
}

/// With `--json`, an error is also a JSON document on stdout (`docs/error.schema.json`).
fn print_error_document(report: &error::ErrorReport) {
    let document = error::ErrorDocument {
        schema_version: report::SCHEMA_VERSION,
        tool: report::Tool { name: "provdiff", version: env!("CARGO_PKG_VERSION") },
        error: report,
    };
    let mut stdout = std::io::stdout().lock();
    // A closed stdout leaves stderr to say it.
    if serde_json::to_writer_pretty(&mut stdout, &document).is_ok() {
        let _ = writeln!(stdout);
        let _ = stdout.flush();
    }
}

/// Arguments clap refuses: its message on stderr and its exit code as usual and, when `--json`
/// was asked for, an error document with the code `usage` on stdout. Help and version requests
/// are not errors.
fn usage_error(error: &clap::Error) -> ExitCode {
    if error.use_stderr() && std::env::args_os().any(|arg| arg == "--json") {
        // clap's message without its usage lines, in one line.
        let rendered = error.render().to_string();
        let message = rendered
            .lines()
            .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let message = message.strip_prefix("error: ").unwrap_or(&message).to_string();
        print_error_document(&error::ErrorReport { code: error::ErrorCode::Usage, file: None, field: None, message });
    }
    let _ = error.print();
    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(exit::ERROR))
}
