//! `check --rebuild`: check out the attested commit, replay the attested build in the sandbox,
//! repack what it produced and compare that with the package, in place of the source comparison.
//! Without `--rebuild`, `check` never runs package code: it only says when a rebuild would be
//! needed.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use provdiff_attest::VerifiedProvenance;
use provdiff_core::{Code, Finding, Severity};
use provdiff_git::Commit;
use provdiff_npm::PublishedTarball;
use provdiff_rebuild::{
    BuildPlan, BuiltPathError, Difference, Layout, Outcome, PlanInputs, PlanSource, ProvenanceFacts, RebuildError,
    RebuildOptions, RegistryUrl, SandboxChoice, Workdir,
};
use serde::Serialize;

use crate::cli::RebuildArgs;
use crate::report::CheckReport;

/// The rebuild's part of the report.
#[derive(Debug, Serialize)]
pub struct RebuildInfo {
    /// `built`, `failed`, `refused-by-sandbox`, or `not-needed` when the source alone
    /// reproduces the package.
    pub status: &'static str,
    pub plan: Option<BuildPlan>,
    pub build: Option<provdiff_rebuild::BuildRecord>,
    /// The source comparison the rebuild replaced: how many package files the commit alone
    /// reproduced, and how many only a build could produce.
    pub before_rebuild: SourceOnly,
    /// The rebuild's directory, when kept (`--rebuild-keep`).
    pub kept_directory: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SourceOnly {
    pub identical_files: usize,
    pub package_files: usize,
    pub build_outputs: usize,
}

/// The first few paths, then how many more: the full list is `comparison.rebuild_needed`.
fn name_paths(paths: &[String]) -> String {
    const NAMED: usize = 5;
    let mut text = paths.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", ");
    if paths.len() > NAMED {
        text.push_str(&format!(" and {} more", paths.len() - NAMED));
    }
    text
}

/// The hidden `__rebuild-init` command: the sandbox's first program.
pub fn init(args: &[OsString]) -> Result<u8> {
    let args = provdiff_rebuild::InitArgs::parse(args)?;
    Ok(provdiff_rebuild::sandbox_init(&args)?)
}

fn facts<'a>(provenance: &'a VerifiedProvenance, built_at: &'a Option<String>) -> ProvenanceFacts<'a> {
    let p = &provenance.provenance;
    ProvenanceFacts {
        built_at: built_at.as_deref(),
        repository: &p.repository,
        commit: &p.commit,
        git_ref: p.git_ref.as_deref(),
        workflow_path: p.workflow_path.as_deref(),
        builder_id: &p.builder_id,
    }
}

fn plan_at(
    commit: &Commit<'_>,
    package_dir: &str,
    provenance: &VerifiedProvenance,
    layout: &Layout,
) -> Result<BuildPlan> {
    let read = |path: &str| commit.read(path).ok();
    let built_at = provenance.log_integrated_time.map(|time| time.to_string());
    Ok(provdiff_rebuild::derive_plan(&PlanInputs {
        read: &read,
        package_dir,
        provenance: facts(provenance, &built_at),
        layout,
    })?)
}

/// What builds the package before it is published, according to the attested workflow, for the
/// source comparison to call files only in the package build outputs. Reads files only.
pub fn build_hint(commit: &Commit<'_>, package_dir: &str, provenance: &VerifiedProvenance) -> Option<String> {
    let layout = Layout::new(Layout::RUNNER_HOME, &provenance.provenance.repository);
    let plan = plan_at(commit, package_dir, provenance, &layout).ok()?;
    match (&plan.source, plan.steps.last()) {
        (PlanSource::Workflow { path, .. }, Some(step)) => Some(format!("{path} {}", step.origin)),
        _ => None,
    }
}

/// The attested source a package was compared with.
#[derive(Clone, Copy)]
pub struct Attested<'a, 'repo> {
    pub commit: &'a Commit<'repo>,
    pub package_dir: &'a str,
    pub provenance: &'a VerifiedProvenance,
    pub context: &'a crate::check::SourceContext,
}

/// Runs after the source comparison, whose findings (`source_comparison`) are not in the report
/// yet: without `--rebuild` they go in, with a note when a rebuild would be needed; with it, the
/// build is replayed and, when it succeeds, its comparison's findings go in instead, whole.
pub fn after_comparison(
    args: &RebuildArgs,
    registry: Option<&str>,
    report: &mut CheckReport,
    source_comparison: Vec<Finding>,
    published: &PublishedTarball,
    attested: Attested<'_, '_>,
) -> Result<()> {
    let Attested { commit, package_dir, provenance, context } = attested;
    let build_outputs = source_comparison.iter().filter(|f| f.code == Code::BuildOutput).count();
    if !args.rebuild {
        report.findings.extend(source_comparison);
        if build_outputs > 0 {
            let listed = report.comparison.as_ref().map(|c| c.rebuild_needed.as_slice()).unwrap_or_default();
            report.findings.push(Finding::new(
                Code::RebuildNeeded,
                format!(
                    "{build_outputs} file{} can only come from a build ({}); `provdiff check --rebuild` replays the \
                     attested build in a sandbox to prove {}",
                    if build_outputs == 1 { "" } else { "s" },
                    name_paths(listed),
                    if build_outputs == 1 { "it" } else { "them" }
                ),
            ));
        }
        return Ok(());
    }
    let before_rebuild = SourceOnly {
        identical_files: report.comparison.as_ref().map_or(0, |c| c.identical_files),
        package_files: report.comparison.as_ref().map_or(0, |c| c.package_files),
        build_outputs,
    };
    // Anything the commit alone does not reproduce may be the build's doing (a prepack script
    // that rewrites package.json, say).
    let unproven = source_comparison.iter().any(|f| f.severity >= Severity::Inconclusive);
    if !unproven {
        report.findings.extend(source_comparison);
        report.rebuild =
            Some(RebuildInfo { status: "not-needed", plan: None, build: None, before_rebuild, kept_directory: None });
        return Ok(());
    }

    let sandbox = if args.unsandboxed {
        SandboxChoice::Unsandboxed
    } else {
        SandboxChoice::Bubblewrap { program: provdiff_rebuild::default_bubblewrap() }
    };
    let workdir = Workdir::create(&provenance.provenance.repository, !args.unsandboxed)?;
    commit.checkout_to(&workdir.checkout_dir())?;
    let plan = plan_at(commit, package_dir, provenance, workdir.layout())?;
    let npm = NpmSetup::resolve(registry)?;
    let options = RebuildOptions {
        sandbox,
        registries: npm.registries,
        ca_file: npm.ca_file,
        credential_files: npm.config_files,
        offline: args.rebuild_offline,
        npm_cache: args.rebuild_offline.then(|| npm_cache(args, npm.cache)).transpose()?,
        timeout: Duration::from_secs(args.rebuild_timeout),
        memory: args.rebuild_memory.saturating_mul(1 << 20),
        init: vec![
            std::env::current_exe().context("cannot find provdiff's own executable")?.into_os_string(),
            "__rebuild-init".into(),
        ],
    };
    let record = match provdiff_rebuild::rebuild(&workdir, &plan, &options) {
        Ok(record) => record,
        Err(RebuildError::NoSandbox { program, reason }) => {
            let refusal = anyhow::anyhow!(
                "refusing to run the package's build: no working sandbox ({} failed: {reason}); install bubblewrap \
                 (Debian package `bubblewrap`) where it may create namespaces, or pass --unsandboxed to run the \
                 build without one",
                program.display()
            );
            return Err(crate::error::tag_code(refusal, crate::error::ErrorCode::Rebuild));
        }
        Err(error) => return Err(error.into()),
    };

    // What the build made is read from its checkout only through real directories and files.
    let mut record = record;
    let package_root = match workdir.built_path(package_dir) {
        Ok(path) => Some(path),
        Err(error) => {
            if record.outcome == Outcome::Built {
                let (step, reason) = (record.steps.len(), error.to_string());
                record.outcome = match error {
                    BuiltPathError::Link { .. } => Outcome::RefusedBySandbox { step, reason },
                    BuiltPathError::Missing { .. } => Outcome::Failed { step, reason },
                };
            }
            None
        }
    };
    let status = match &record.outcome {
        Outcome::Built => "built",
        Outcome::Failed { .. } => "failed",
        Outcome::RefusedBySandbox { .. } => "refused-by-sandbox",
    };
    if let (Outcome::Built, Some(package_root)) = (&record.outcome, package_root) {
        let built = provdiff_npm::DirSource::open(&package_root)?;
        let workspace = provdiff_npm::find_workspace(package_dir, |path| workdir.read_built(path));
        let previous_outputs: Vec<String> =
            source_comparison.iter().filter(|f| f.code == Code::BuildOutput).filter_map(|f| f.path.clone()).collect();
        let rebuilt = crate::check::compare(report, published, &built, provenance, workspace.as_ref(), context, None)?;
        let (mut findings, packed_tree) = (rebuilt.findings, rebuilt.packed_tree);
        // The build ran: a file it did not produce has no build left to explain it.
        for finding in findings.iter_mut().filter(|f| matches!(f.code, Code::BuildOutput | Code::OnlyInPackage)) {
            let path = finding.path.clone().unwrap_or_default();
            *finding = Finding::at(Code::OnlyInPackage, path, "not produced by rebuilding the attested commit");
        }
        if let Some(comparison) = report.comparison.as_mut() {
            comparison.rebuild_needed.clear();
        }
        let differing: Vec<String> = findings
            .iter()
            .filter(|f| {
                matches!(
                    f.code,
                    Code::ContentDiffers
                        | Code::LineEndingsDiffer
                        | Code::TrailingNewlineDiffers
                        | Code::ModeDiffers
                        | Code::OnlyInPackage
                        | Code::OnlyInSource
                )
            })
            .filter_map(|f| f.path.clone())
            .collect();
        let differences: Vec<Difference<'_>> = differing
            .iter()
            .map(|path| Difference {
                path,
                published: published.tree.get(path).map(|entry| &entry.content[..]),
                rebuilt: packed_tree.get(path).map(|entry| &entry.content[..]),
            })
            .collect();
        findings.extend(provdiff_rebuild::explain(&differences, &plan, &record));
        report.findings.extend(findings);
        let proven = previous_outputs.iter().filter(|path| !differing.contains(path)).count();
        if proven > 0 {
            report.findings.push(Finding::new(
                Code::RebuildProven,
                format!(
                    "{proven} of the {} files only a build could produce were rebuilt from the attested commit and \
                     match the package",
                    previous_outputs.len()
                ),
            ));
        }
    } else {
        // Nothing was rebuilt: the source comparison is all there is.
        report.findings.extend(source_comparison);
    }
    report.findings.extend(provdiff_rebuild::rebuild_findings(&plan, &record));
    if args.unsandboxed {
        report.findings.push(Finding::new(
            Code::RebuildUnsandboxed,
            "the build ran without a sandbox (--unsandboxed): it could read and change anything you can",
        ));
    }
    // A build that did not finish proves nothing: said in a finding that keeps the verdict from
    // looking like a rebuilt package's, in every report and in the verdict statement.
    match &record.outcome {
        Outcome::Built => {}
        Outcome::Failed { reason, .. } => report.findings.push(Finding::new(
            Code::RebuildFailed,
            format!("the rebuild failed: {reason}; nothing it would have built is proven"),
        )),
        Outcome::RefusedBySandbox { reason, .. } => report.findings.push(Finding::new(
            Code::RebuildFailed,
            format!("the sandbox refused the build: {reason}; nothing it would have built is proven"),
        )),
    }
    if !record.denials.is_empty() || !record.refused_connections.is_empty() {
        let what: Vec<String> = record
            .denials
            .iter()
            .cloned()
            .chain(record.refused_connections.iter().map(|r| format!("refused {r}")))
            .collect();
        let when = if record.outcome == Outcome::Built { "went on after" } else { "stopped after" };
        report.findings.push(Finding::new(
            Code::RebuildSandboxDenied,
            format!("the build {when} the sandbox refused it: {}", what.join("; ")),
        ));
    }
    let kept_directory = args.rebuild_keep.then(|| workdir.keep().display().to_string());
    report.rebuild =
        Some(RebuildInfo { status, plan: Some(plan), build: Some(record), before_rebuild, kept_directory });
    Ok(())
}

/// What the build takes from npm's configuration, as `provdiff-registry` resolves it.
struct NpmSetup {
    /// The registries the build's npm uses, the default one first.
    registries: Vec<RegistryUrl>,
    /// The certificate authorities npm trusts.
    ca_file: Option<PathBuf>,
    /// The configuration files that were read: they may hold credentials, so the sandbox hides
    /// them.
    config_files: Vec<PathBuf>,
    /// npm's `cache` setting.
    cache: Option<PathBuf>,
}

impl NpmSetup {
    /// npm's configuration with `--registry` (`registry`) first, as the check itself resolves it.
    fn resolve(registry: Option<&str>) -> Result<Self> {
        let config = provdiff_registry::RegistryConfig::from_process(registry.map(str::to_string))
            .context("cannot find npm's registry")?;
        let mut registries = vec![RegistryUrl { scope: None, url: config.registry().url.to_string() }];
        for (scope, registry) in config.scoped_registries() {
            registries.push(RegistryUrl { scope: Some(scope.to_string()), url: registry.url.to_string() });
        }
        let config_files = config
            .files()
            .iter()
            .filter(|file| file.status == provdiff_registry::FileStatus::Read)
            .map(|file| file.path.clone())
            .collect();
        let cache = config.get("cache").map(|(value, _)| PathBuf::from(value));
        Ok(Self { registries, ca_file: config.ca_file().map(|(path, _)| path), config_files, cache })
    }
}

/// `--rebuild-cache`, else npm's `cache` setting, else `~/.npm`.
fn npm_cache(args: &RebuildArgs, configured: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = &args.rebuild_cache {
        return Ok(dir.clone());
    }
    if let Some(dir) = configured {
        return Ok(dir);
    }
    let home = std::env::var_os("HOME").context("no --rebuild-cache and no HOME to find npm's cache in")?;
    Ok(PathBuf::from(home).join(".npm"))
}

/// Why the rebuild did not produce a comparison, for the error line after the report.
pub fn failure(report: &CheckReport) -> Option<String> {
    let build = report.rebuild.as_ref()?.build.as_ref()?;
    match &build.outcome {
        Outcome::Built => None,
        Outcome::Failed { reason, .. } => Some(format!("the rebuild failed: {reason}")),
        Outcome::RefusedBySandbox { reason, .. } => Some(format!("the sandbox refused the build: {reason}")),
    }
}
