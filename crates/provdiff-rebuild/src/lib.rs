//! Rebuilding a package from its attested commit, to prove the files only a build produces.
//!
//! [`derive_plan`] reads the workflow the provenance names at the attested commit and derives the
//! build plan from the job that publishes: its `run:` steps before the publish command, their
//! working directories and variables, the Node.js `actions/setup-node` installs, then the
//! lifecycle scripts the publish command runs; without a usable workflow it falls back to the
//! package manager's own lifecycle (install, then `prepack`/`prepare`/`prepublishOnly`, or `build`).
//! [`rebuild`] runs the plan on a checkout in a [`Workdir`]: each step in bubblewrap (see
//! `sandbox`), with the checkout and the build's home writable, the rest of the file system
//! read-only, the user's home and credentials hidden, and network only to the package registry
//! through a filtering proxy (see `proxy`) — or none, offline, from an npm cache. [`explain`]
//! reports the known sources of non-reproducibility next to the files they may affect.
//!
//! **Architecture Invariant:** package code runs only inside the sandbox, unless the caller
//! explicitly chose [`SandboxChoice::Unsandboxed`]; a sandbox that cannot start is an error
//! ([`RebuildError::NoSandbox`]), never a reason to run without one. Processes are spawned only in
//! `process`. The proxy relays bytes to the configured registries' origins and nowhere else; it
//! never adds credentials, and none enter the sandbox. Nothing the build chooses (its variables,
//! what it writes to `GITHUB_ENV`) is in the environment of a process outside the sandbox, and
//! provdiff never reads or writes through a link the build left (see [`Workdir::built_path`]).

mod analysis;
mod environment;
mod init;
mod plan;
mod process;
mod proxy;
mod run;
mod sandbox;
mod semver;
mod shell;
mod tools;
mod workflow;

pub use analysis::{Difference, ToolDifference, explain, rebuild_findings, tool_differences};
pub use environment::IgnoredVariable;
pub use init::{InitArgs, InitError, sandbox_init};
pub use plan::{
    BuildPlan, Layout, PackageManager, PackageManagerKind, PlanError, PlanInputs, PlanSource, PlanStep,
    ProvenanceFacts, Shell, VersionRequest, derive_plan,
};
pub use process::{Exit, SpawnError};
pub use run::{
    BuildRecord, BuiltPathError, Outcome, RebuildError, RebuildOptions, RegistryUrl, SandboxChoice, StepRecord,
    Workdir, rebuild,
};
pub use workflow::WorkflowError;

/// The bubblewrap to run: `PROVDIFF_BWRAP` when set, else `bwrap` from the `PATH`.
pub fn default_bubblewrap() -> std::path::PathBuf {
    std::env::var_os("PROVDIFF_BWRAP")
        .map(std::path::PathBuf::from)
        .or_else(|| sandbox::find_program("bwrap"))
        .unwrap_or_else(|| std::path::PathBuf::from("bwrap"))
}
