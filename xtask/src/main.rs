//! Development tasks, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).
#![allow(clippy::print_stderr, clippy::print_stdout)]

mod bench;
mod example;
mod npm_versions;
mod process;
mod trust;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "provdiff's development tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Re-extract the embedded Sigstore trusted root and npm registry keys from `@sigstore/tuf`.
    UpdateTrust {
        /// The `@sigstore/tuf` version to extract from.
        #[arg(long, default_value = "latest")]
        version: String,
    },
    /// Regenerate the offline example under `examples/hello` with the testkit.
    Example,
    /// Install the npm releases the differential tests compare with (tests/npm/versions.txt).
    NpmVersions,
    /// Measure provdiff side by side with its peers; results go to docs/BENCHMARKS.md.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
}

#[derive(Subcommand)]
enum BenchTarget {
    /// Attestation verification: provdiff against sigstore-js and sigstore-python.
    Verify {
        /// In-process iterations per case.
        #[arg(long, default_value_t = 2000)]
        iterations: usize,
        /// Whole-process runs per case (the median is reported).
        #[arg(long, default_value_t = 20)]
        runs: usize,
    },
}

fn main() -> Result<()> {
    let root = workspace_root();
    match Cli::parse().task {
        Task::UpdateTrust { version } => trust::update_trust(&root, &version),
        Task::Example => example::generate(&root),
        Task::NpmVersions => npm_versions::install(&root),
        Task::Bench { target: BenchTarget::Verify { iterations, runs } } => bench::verify(&root, iterations, runs),
    }
}

fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(PathBuf::from).unwrap_or(manifest_dir)
}
