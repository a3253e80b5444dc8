//! Development tasks, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).
#![allow(clippy::print_stderr, clippy::print_stdout)]

mod bench;
mod bench_check;
mod bench_diff;
mod bench_pack;
mod bench_rebuild;
mod deflate;
mod example;
mod npm_versions;
mod pack_tools;
mod process;
mod real_packages;
mod rebuild_deps;
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
    /// Install the pnpm and yarn releases whose package.json rewrites are checked
    /// (tests/npm/pack-tools.txt).
    PackTools,
    /// Fill the npm cache the offline rebuild tests install from (target/rebuild-deps/npm-cache) and
    /// keep the tarballs the registry rebuild tests serve (target/rebuild-deps/tarballs).
    RebuildDeps,
    /// Regenerate the golden deflate vectors from Node.js (Chromium zlib) and Python (stock zlib).
    DeflateVectors {
        /// Node.js whose zlib is current Chromium's (18.20 and later).
        #[arg(long, default_value = "node")]
        node: String,
        /// Python whose `zlib` module links stock zlib (not zlib-ng).
        #[arg(long, default_value = "python3")]
        python: String,
        /// A Node.js of the CRC32C era (such as 18.17.1), on a CPU with SSE4.2, for CRC32C vectors.
        #[arg(long)]
        crc32c_node: Option<String>,
    },
    /// Repack real published packages with real npm releases and with provdiff, and compare the
    /// `.tgz` files byte for byte (xtask/real-packages.txt); results go to docs/BENCHMARKS.md.
    RealPackages {
        /// npm releases installed by `cargo xtask npm-versions` to repack with, besides the
        /// machine's npm (comma-separated, or `all` for every release of tests/npm/versions.txt).
        #[arg(long, value_delimiter = ',', default_value = "9.9.4,10.9.8,11.21.2")]
        npm: Vec<String>,
        /// Run only these packages (by name); the results are then printed, not written.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
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
    /// `provdiff check NAME@VERSION`, cold and warm, against a loopback registry and git server.
    Check {
        /// Warm runs (the median is reported).
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Commits of history before the released one.
        #[arg(long, default_value_t = 200)]
        history: usize,
    },
    /// `provdiff diff` against diffoscope on a pair of large generated tarballs.
    Diff {
        /// provdiff runs (the median is reported); diffoscope runs once.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Only write the pair of tarballs to this directory.
        #[arg(long, value_name = "DIR")]
        write_pair: Option<PathBuf>,
    },
    /// `check --rebuild` on the real packages of ../shared next to a plain `npm ci && npm pack`.
    Rebuild {
        /// The repository holding a case's attested commit, as `CASE=PATH`
        /// (`tuf-js-1.0.0=/path/to/tuf-js`). Repeatable; cases without one are skipped.
        #[arg(long = "repo", value_name = "CASE=PATH")]
        repos: Vec<String>,
    },
    /// `provdiff pack` against `npm pack --dry-run` (the machine's npm), whole processes on the
    /// same trees: extracted published packages of xtask/real-packages.txt.
    Pack {
        /// Timed runs of each tool per package (the median is reported).
        #[arg(long, default_value_t = 10)]
        runs: usize,
        /// Packages of xtask/real-packages.txt to pack (NAME or NAME@VERSION).
        #[arg(long, value_delimiter = ',', default_value = "ms@2.1.3,semver@7.7.1,typescript@5.8.3")]
        packages: Vec<String>,
    },
    /// Time provdiff's deflate engines against flate2 on a `.tar` or `.tgz`.
    Deflate {
        /// The tarball to compress; a `.tgz` is unpacked first and `reproduce` is timed on it.
        path: PathBuf,
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

fn main() -> Result<()> {
    let root = workspace_root();
    match Cli::parse().task {
        Task::UpdateTrust { version } => trust::update_trust(&root, &version),
        Task::Example => example::generate(&root),
        Task::NpmVersions => npm_versions::install(&root),
        Task::PackTools => pack_tools::install(&root),
        Task::RebuildDeps => rebuild_deps::install(&root),
        Task::DeflateVectors { node, python, crc32c_node } => {
            deflate::vectors(&root, &node, &python, crc32c_node.as_deref())
        }
        Task::RealPackages { npm, only } => {
            let npm = if npm.iter().any(|v| v == "all") { npm_versions::versions(&root)? } else { npm };
            real_packages::run_all(&root, &npm, &only)
        }
        Task::Bench { target: BenchTarget::Verify { iterations, runs } } => bench::verify(&root, iterations, runs),
        Task::Bench { target: BenchTarget::Check { runs, history } } => bench_check::check(&root, runs, history),
        Task::Bench { target: BenchTarget::Diff { write_pair: Some(dir), .. } } => bench_diff::write_pair_to(&dir),
        Task::Bench { target: BenchTarget::Diff { runs, write_pair: None } } => bench_diff::diff(&root, runs),
        Task::Bench { target: BenchTarget::Pack { runs, packages } } => bench_pack::pack(&root, &packages, runs),
        Task::Bench { target: BenchTarget::Deflate { path, runs } } => deflate::bench(&path, runs),
        Task::Bench { target: BenchTarget::Rebuild { repos } } => bench_rebuild::rebuild(&root, &repos),
    }
}

fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(PathBuf::from).unwrap_or(manifest_dir)
}
