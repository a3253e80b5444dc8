//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "provdiff",
    version,
    about = "Prove that an npm package's published tarball is what its attested source commit produces",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a package's attestations, then repack the attested commit and compare it with the
    /// published tarball.
    ///
    /// Exit codes: 0 identical, equivalent or explained, 1 mismatch or unverified, 2 usage or
    /// operational error, 3 inconclusive, 4 source unavailable (the attested commit is gone).
    Check(Box<CheckArgs>),
    /// Compare two packages with npm's semantics: any two of a `.tgz`, a directory and a git
    /// revision (`REPO@REV[:DIR]`), directories and revisions packed as npm would pack them.
    ///
    /// A plays the package and B what it is judged against (files only in A are
    /// `only-in-package`). Exit codes: 0 identical or equivalent, 1 mismatch, 2 usage or
    /// operational error, 3 inconclusive.
    Diff(DiffArgs),
    /// Show what `npm pack` would publish from a directory (or a commit), without running scripts.
    Pack(PackArgs),
    /// Verify one Sigstore bundle for an artifact (the sigstore-conformance client protocol).
    ///
    /// Exit codes: 0 verified, 1 not verified, 2 usage or operational error.
    VerifyBundle(VerifyBundleArgs),
    /// Verify a package's attestations only (no source comparison).
    ///
    /// Exit codes: 0 verified, 1 not verified, 2 usage or operational error.
    Verify(VerifyArgs),
    /// The first program of a rebuild's sandbox (internal: `check --rebuild` runs it).
    #[command(name = "__rebuild-init", hide = true)]
    RebuildInit {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

impl Command {
    /// Whether the command prints JSON (and so also prints an error as a JSON document).
    pub fn json(&self) -> bool {
        match self {
            Command::Check(args) => args.report.json,
            Command::Diff(args) => args.report.json,
            Command::Pack(args) => args.json,
            Command::VerifyBundle(args) => args.json,
            Command::Verify(args) => args.json,
            Command::RebuildInit { .. } => false,
        }
    }
}

/// Trust material overrides shared by every command that verifies.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// A Sigstore trusted root (JSON) to use instead of the embedded public-good one.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// npm registry keys (the registry's `keys.json` format) to use instead of the embedded ones.
    #[arg(long, value_name = "FILE")]
    pub npm_keys: Option<PathBuf>,
}

/// What the build must be, beyond a valid signature. A glob (`*`, `?`) or an exact value.
#[derive(Debug, Args, Default)]
pub struct PolicyArgs {
    /// The source repository the provenance must name (`https://github.com/OWNER/REPO`).
    #[arg(long, value_name = "URL")]
    pub expect_repository: Option<String>,
    /// The workflow file that must have built the package (`.github/workflows/release.yml`), as
    /// the signing certificate also names it.
    #[arg(long, value_name = "PATH")]
    pub expect_workflow: Option<String>,
    /// The git ref the build must have run on (`refs/tags/v*`).
    #[arg(long, value_name = "REF")]
    pub expect_ref: Option<String>,
    /// The builder id the provenance must name. It must also be one the signing certificate
    /// vouches for (GitHub's runner ids, a signing workflow's URL, a GitLab project's runners):
    /// a builder id only the build itself states, such as `https://github.com/npm/cli@9.4.2`,
    /// fails.
    #[arg(long, value_name = "ID")]
    pub expect_builder: Option<String>,
    /// The kind of runner the certificate must name (`github-hosted`).
    #[arg(long, value_name = "KIND")]
    pub expect_runner: Option<String>,
}

impl PolicyArgs {
    pub fn policy(&self) -> provdiff_attest::IdentityPolicy {
        let pattern = |value: &Option<String>| value.clone().map(provdiff_attest::Pattern);
        provdiff_attest::IdentityPolicy {
            repository: pattern(&self.expect_repository),
            workflow: pattern(&self.expect_workflow),
            git_ref: pattern(&self.expect_ref),
            builder: pattern(&self.expect_builder),
            runner: self.expect_runner.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The package to check, fetched from the registry npm is configured with.
    #[arg(value_name = "NAME@VERSION", conflicts_with_all = ["tarball", "attestations"], required_unless_present = "tarball")]
    pub spec: Option<String>,
    /// A published package tarball (.tgz) to check instead of fetching one.
    #[arg(long, value_name = "PKG.tgz", requires = "attestations")]
    pub tarball: Option<PathBuf>,
    /// The tarball's attestations: a registry attestations response or a Sigstore bundle.
    /// Repeatable.
    #[arg(long, value_name = "FILE")]
    pub attestations: Vec<PathBuf>,
    /// Where the attested commit is: a work tree, a bare repository, a `git bundle` file, or a
    /// URL to fetch it from. Default: fetch it from the repository the provenance names.
    #[arg(long, value_name = "PATH|URL")]
    pub repo: Option<String>,
    /// The package's directory in the repository, when automatic detection is not wanted.
    #[arg(long, value_name = "DIR")]
    pub package_dir: Option<String>,
    /// The npm registry (default: npm's configuration: npm_config_registry, .npmrc files,
    /// `npm config get registry`).
    #[arg(long, value_name = "URL")]
    pub registry: Option<String>,
    /// Where downloads and fetched repositories are cached (default: the platform's cache
    /// directory).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Use only the cache; say what is missing instead of fetching it.
    #[arg(long)]
    pub offline: bool,
    /// Fetch repositories under FROM from TO instead (prefix rewrite). Repeatable.
    #[arg(long, value_name = "FROM=TO")]
    pub git_mirror: Vec<String>,
    /// Seconds a registry request or git fetch may wait without receiving anything before it
    /// is abandoned (registry requests are retried).
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub rebuild: RebuildArgs,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// How the verdict is reported: on stdout for people or as JSON, and in files.
#[derive(Debug, Args, Default)]
pub struct ReportArgs {
    /// Print one JSON document instead of the human report (schema: docs/report.schema.json,
    /// docs/diff-report.schema.json).
    #[arg(long)]
    pub json: bool,
    /// Also write the report as GitHub-flavoured Markdown, for a CI job summary or a pull-request
    /// comment; `-` prints it instead of the human report.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write the report as one self-contained HTML file: a file tree, side-by-side diffs and
    /// the verified provenance, linked.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write an unsigned in-toto statement of the verdict about the package tarball
    /// (predicate type https://provdiff.dev/verdict/v1).
    #[arg(long, value_name = "FILE")]
    pub attestation: Option<PathBuf>,
}

/// Replaying the attested build, to prove files that only a build produces.
#[derive(Debug, Args, Default)]
pub struct RebuildArgs {
    /// Check out the attested commit, replay the build the provenance's workflow ran (in a
    /// bubblewrap sandbox), repack the result and compare it with the package. Runs package code.
    #[arg(long)]
    pub rebuild: bool,
    /// Give the build no network at all: dependencies come from an npm cache (--rebuild-cache).
    /// With --unsandboxed, npm is only told to work offline: nothing keeps the build off the
    /// network.
    #[arg(long, requires = "rebuild")]
    pub rebuild_offline: bool,
    /// The npm cache an offline rebuild installs from (default: npm's configured cache). The
    /// build reads it and never writes to it (with --unsandboxed it gets a copy of it).
    #[arg(long, value_name = "DIR", requires = "rebuild_offline")]
    pub rebuild_cache: Option<PathBuf>,
    /// Stop the build after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800, requires = "rebuild")]
    pub rebuild_timeout: u64,
    /// The data-segment limit of each process of the build, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 4096, requires = "rebuild")]
    pub rebuild_memory: u64,
    /// Keep the rebuild's directory (the checkout after the build) and print where it is.
    #[arg(long, requires = "rebuild")]
    pub rebuild_keep: bool,
    /// Run the build without a sandbox when none works. The build can then read and change
    /// anything you can, and reach any host.
    #[arg(long, requires = "rebuild")]
    pub unsandboxed: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The attestations: a registry attestations response or a Sigstore bundle. Repeatable.
    #[arg(long, value_name = "FILE", required = true)]
    pub attestations: Vec<PathBuf>,
    /// The package tarball the attestations are about.
    #[arg(long, value_name = "FILE", conflicts_with = "digest", required_unless_present = "digest")]
    pub tarball: Option<PathBuf>,
    /// The tarball's digest instead of the tarball: `sha512:HEX` or an npm integrity string.
    #[arg(long, value_name = "sha512:HEX")]
    pub digest: Option<String>,
    /// The package the attestations must name (default: the tarball's package.json). Required
    /// with --digest: the attestations are what is being checked, so they cannot say which
    /// package to expect.
    #[arg(long, value_name = "NAME@VERSION")]
    pub package: Option<String>,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Print one JSON document instead of the human report.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The package: PKG.tgz, DIR or REPO@REV[:DIR].
    #[arg(value_name = "A")]
    pub a: String,
    /// What it is judged against: PKG.tgz, DIR or REPO@REV[:DIR].
    #[arg(value_name = "B")]
    pub b: String,
    /// Pack directories and revisions as this npm version does (default: the newest behaviour
    /// provdiff knows).
    #[arg(long, value_name = "VERSION")]
    pub npm_version: Option<String>,
    /// `--attestation` needs A to be a tarball: the statement is about it.
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The package directory (or, with --repo, the package's directory in the repository).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Pack from a commit of this repository instead of a directory on disk.
    #[arg(long, value_name = "PATH", requires = "rev")]
    pub repo: Option<PathBuf>,
    /// The commit to pack (a full commit id), with --repo.
    #[arg(long, value_name = "COMMIT")]
    pub rev: Option<String>,
    /// The package's directory in the repository, with --repo.
    #[arg(long, value_name = "DIR")]
    pub package_dir: Option<String>,
    /// Select files as this npm version does (default: the newest behaviour provdiff knows).
    #[arg(long, value_name = "VERSION")]
    pub npm_version: Option<String>,
    /// Write the tarball here.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print the files only.
    #[arg(long)]
    pub list: bool,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyBundleArgs {
    /// The Sigstore bundle.
    #[arg(long, value_name = "FILE")]
    pub bundle: PathBuf,
    /// The identity the signing certificate must name (its SAN).
    #[arg(long, value_name = "IDENTITY", requires = "certificate_oidc_issuer", conflicts_with = "key")]
    pub certificate_identity: Option<String>,
    /// The OIDC issuer the signing certificate must name.
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    pub certificate_oidc_issuer: Option<String>,
    /// A PEM public key the bundle must be signed with (instead of a certificate identity).
    #[arg(long, value_name = "FILE", required_unless_present = "certificate_identity")]
    pub key: Option<PathBuf>,
    /// A Sigstore trusted root (JSON) to use instead of the embedded public-good one.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// The artifact: a file, or its digest as `sha256:HEX`.
    #[arg(value_name = "FILE_OR_DIGEST")]
    pub artifact: String,
    /// Print one JSON document.
    #[arg(long)]
    pub json: bool,
}
