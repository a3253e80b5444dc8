//! `provdiff check`: verify, fetch the attested commit, repack, compare, decide.

use anyhow::{Context, Result, bail};
use provdiff_attest::VerifiedProvenance;
use provdiff_core::{Code, Finding};
use provdiff_diff::{CompareOptions, LfsPointer, archive_agreement, compare_trees, resolve_lfs};
use provdiff_git::Commit;
use provdiff_npm::{Manifest, NpmRules, Packed, PublishedTarball};

use crate::acquire::{self, SourceOutcome};
use crate::cli::CheckArgs;
use crate::error::Tag;
use crate::inputs;
use crate::report::{CheckReport, ComparisonInfo, GzipEngine, PackageInfo, RulesSource, SourceInfo};

pub fn run(args: &CheckArgs) -> Result<u8> {
    crate::render::check_args(&args.report)?;
    let verifier = inputs::verifier(&args.trust)?;
    let policy = args.policy.policy();
    let acquired = match &args.spec {
        Some(spec) => acquire::from_registry(args, spec, &verifier, &policy)?,
        None => acquire::from_files(args, &verifier, &policy)?,
    };
    let published = &acquired.published;
    let manifest = published_manifest(published, &acquired.tarball_label)?;
    let mut report = CheckReport::new(
        PackageInfo {
            name: manifest.name().unwrap_or_default().to_string(),
            version: manifest.version().unwrap_or_default().to_string(),
            sha512: published.sha512,
            integrity: published.sha512.to_integrity(),
            tarball: acquired.tarball_label.clone(),
        },
        acquired.verification,
    );
    report.registry = acquired.registry;
    report.findings.extend(acquired.findings);

    match acquired.source {
        // Without a verified provenance there is no attested commit to compare with.
        SourceOutcome::NotAttempted => {}
        SourceOutcome::Unavailable(finding) => report.findings.push(finding),
        SourceOutcome::Available { repository, fetch } => {
            let provenance =
                report.attestation.provenance.clone().context("a commit was fetched without provenance")?;
            let commit = repository.commit(&provenance.provenance.commit)?;
            let root = root_manifest(&commit);
            let (package_dir, found_by) = locate_package(
                &commit,
                &report.package.name,
                manifest.repository_directory(),
                args.package_dir.as_deref(),
                root.as_ref(),
            )
            .tag(crate::error::ErrorCode::PackageNotFound)?;
            report.source = Some(SourceInfo {
                repository: provenance.provenance.repository.clone(),
                commit: provenance.provenance.commit.clone(),
                git_ref: provenance.provenance.git_ref.clone(),
                location: repository.location().to_string(),
                package_dir: package_dir.clone(),
                package_dir_found_by: found_by.to_string(),
                workspace_root: None,
                fetch,
            });
            let source = commit.subtree(&package_dir)?;
            let workspace = provdiff_npm::find_workspace(&package_dir, |path| commit.read(path).ok());
            if let (Some(workspace), Some(source)) = (&workspace, report.source.as_mut()) {
                source.workspace_root = Some(workspace.root.clone());
            }
            let lfs = lfs_pointers(&commit, &package_dir)?;
            let publish = provdiff_npm::publish_context(&commit.subtree("")?, &package_dir)?;
            // Rebuild mode (src/rebuild.rs): what the attested workflow builds, then `--rebuild`.
            let build_hint = crate::rebuild::build_hint(&commit, &package_dir, &provenance);
            let context = SourceContext { lfs, publish };
            let compared =
                compare(&mut report, published, &source, &provenance, workspace.as_ref(), &context, build_hint)?;
            // The source comparison's findings stand unless a rebuild's comparison replaces them.
            crate::rebuild::after_comparison(
                &args.rebuild,
                args.registry.as_deref(),
                &mut report,
                compared.findings,
                published,
                crate::rebuild::Attested {
                    commit: &commit,
                    package_dir: &package_dir,
                    provenance: &provenance,
                    context: &context,
                },
            )?;
        }
    }
    // When the registry had no attestations, its finding says so better than the verifier's
    // "no provenance among the inputs".
    let registry_said_missing = report.findings.iter().any(|finding| finding.code == Code::ProvenanceMissing);
    let attestation_findings = report.attestation.findings.iter().filter(|finding| {
        !(registry_said_missing && finding.code == Code::ProvenanceMissing && finding.path.is_none())
    });
    report.findings.extend(attestation_findings.cloned().collect::<Vec<_>>());
    report.findings.extend(published.findings.iter().cloned());
    report.finish();
    let view = crate::render::View::check(&report);
    let statement = || {
        let source = report.source.as_ref().map(|source| crate::render::attestation::Source {
            repository: source.repository.clone(),
            commit: source.commit.clone(),
            directory: source.package_dir.clone(),
        });
        let tarball = crate::render::attestation::Tarball {
            name: &report.package.name,
            version: &report.package.version,
            sha512: &report.package.sha512,
        };
        crate::render::attestation::statement(
            tarball,
            report.verdict,
            source,
            view.counts(),
            &report.findings,
            report.rebuild.as_ref().map(|rebuild| crate::render::attestation::Rebuild {
                status: rebuild.status,
                sandboxed: rebuild.build.as_ref().map(|_| !args.rebuild.unsandboxed),
            }),
        )
        .map(Some)
    };
    crate::render::emit(&report, &view, &args.report, statement, |out, style| {
        crate::render::terminal::write_check(out, &report, style)
    })?;
    if let Some(failure) = crate::rebuild::failure(&report) {
        // The report, printed above, already says what the build did.
        return Err(crate::error::Reported(failure).into());
    }
    Ok(report.exit_code())
}

/// What the attested commit says about packing it, beyond its files: the Git LFS pointers under
/// the package's directory and the publishing tool's rules. A rebuild's checkout is judged by the
/// same.
pub(crate) struct SourceContext {
    pub lfs: Vec<LfsPointer>,
    pub publish: provdiff_core::PublishContext,
}

/// The root `package.json`, to prefer its workspaces when several directories hold the package.
fn root_manifest(commit: &Commit<'_>) -> Option<Manifest> {
    Manifest::parse(&commit.read("package.json").ok()?, "package.json").ok()
}

/// Well-formed Git LFS pointers under the package's directory, by package path.
fn lfs_pointers(commit: &Commit<'_>, package_dir: &str) -> Result<Vec<LfsPointer>> {
    let prefix = if package_dir.is_empty() { String::new() } else { format!("{package_dir}/") };
    Ok(commit
        .lfs_pointers()?
        .into_iter()
        .filter_map(|pointer| {
            Some(LfsPointer {
                path: pointer.path.strip_prefix(&prefix)?.to_string(),
                sha256: pointer.sha256?,
                size: pointer.size?,
            })
        })
        .collect())
}

pub fn published_manifest(published: &PublishedTarball, origin: &str) -> Result<Manifest> {
    use crate::error::{ErrorCode, Tag};
    let read = || -> Result<Manifest> {
        let entry =
            published.tree.get("package.json").with_context(|| format!("{origin} has no package/package.json"))?;
        Ok(Manifest::parse(&entry.content, &format!("{origin}: package.json"))?)
    };
    // A tarball from the registry has a URL, not a file: its package.json is then the field.
    if origin.contains("://") {
        read().tag_field(ErrorCode::TarballInvalid, "package.json")
    } else {
        read().tag_file(ErrorCode::TarballInvalid, std::path::Path::new(origin))
    }
}

/// The npm rules to pack with: the npm version the provenance names (SLSA v0.2 builders are
/// `https://github.com/npm/cli@9.4.2`); else every known rule set, the one the registry's metadata
/// names first, keeping the one that reproduces the package best. The registry's `_npmVersion` is
/// not signed, so it only orders the candidates: a wrong one cannot hide a difference, since
/// every candidate is compared with the package in full.
fn candidate_rules(provenance: &VerifiedProvenance, registry_npm: Option<&str>) -> (Vec<NpmRules>, Option<NpmRules>) {
    let from_builder = provenance
        .provenance
        .builder_id
        .strip_prefix("https://github.com/npm/cli@")
        .and_then(NpmRules::for_npm_version);
    if let Some(rules) = from_builder {
        return (vec![rules], None);
    }
    let from_registry = registry_npm.and_then(NpmRules::for_npm_version);
    let mut candidates: Vec<NpmRules> = from_registry.into_iter().collect();
    candidates.extend(NpmRules::ALL.iter().rev().copied().filter(|rules| Some(*rules) != from_registry));
    (candidates, from_registry)
}

/// What [`compare`] found: its findings, which the caller adds to the report (a rebuild replaces
/// them with its own comparison's), and the packed files.
pub(crate) struct Compared {
    pub findings: Vec<Finding>,
    pub packed_tree: provdiff_core::FileTree,
}

/// Packs `source`, compares it with the package and records the comparison and every file's status
/// in the report; returns the comparison's findings and the packed files. `build_hint` names what
/// builds the package when its manifest does not.
pub(crate) fn compare(
    report: &mut CheckReport,
    published: &PublishedTarball,
    source: &dyn provdiff_core::SourceTree,
    provenance: &VerifiedProvenance,
    workspace: Option<&provdiff_npm::Workspace>,
    context: &SourceContext,
    build_hint: Option<String>,
) -> Result<Compared> {
    // Git LFS objects the package holds are packed in their pointers' place once their SHA-256
    // and size are checked: the pointer is what the commit attests to.
    let (replaced, lfs_findings) = resolve_lfs(&context.lfs, &published.tree);
    let mut findings = lfs_findings;
    let overlay = provdiff_core::Overlay::new(source, replaced);
    let source: &dyn provdiff_core::SourceTree = &overlay;
    let source_manifest =
        Manifest::parse(&source.read("package.json")?, &format!("{}/package.json", source.describe()))?;
    let options = CompareOptions {
        build_step: source_manifest.build_step().or(build_hint),
        source_listing: Some(source_listing(source)),
        max_diff_lines: CompareOptions::DEFAULT_MAX_DIFF_LINES,
        publish: context.publish.clone(),
    };
    let registry_npm = report.registry.as_ref().and_then(|registry| registry.npm_version.as_deref());
    let (candidates, registry_rules) = candidate_rules(provenance, registry_npm);
    let single = candidates.len() == 1 && registry_rules.is_none();
    let mut best: Option<(usize, Packed, provdiff_diff::TreeComparison)> = None;
    for rules in candidates {
        let packed = provdiff_npm::pack(source, rules, workspace)
            .with_context(|| format!("cannot pack {}", source.describe()))?;
        let comparison = compare_trees(&published.tree, &provdiff_npm::to_tree(&packed.files), &options);
        let differences =
            comparison.findings.iter().filter(|f| f.severity > provdiff_core::Severity::Explained).count();
        if best.as_ref().is_none_or(|(fewest, _, _)| differences < *fewest) {
            best = Some((differences, packed, comparison));
        }
    }
    let Some((_, mut packed, comparison)) = best else { bail!("no npm rule set to pack with") };
    let rules_source = if single {
        RulesSource::Provenance
    } else if registry_rules == Some(packed.list.rules) {
        RulesSource::Registry
    } else {
        RulesSource::Inferred
    };
    // The gzip layer depends on the publisher's Node.js and CPU, not on the source: with equal
    // tar streams, compress the way the publisher's zlib did if a known engine reproduces it.
    let gzip_engine = if comparison.entries_equal() && packed.tar == published.tar {
        packed.compress_like(&published.compressed)
    } else {
        None
    };
    let agreement =
        archive_agreement(comparison.entries_equal(), &published.compressed, &published.tar, &packed.tgz, &packed.tar);
    if let Some(level) = agreement
        && level != provdiff_core::EncodingLevel::Compressed
    {
        findings.push(Finding::new(
            provdiff_core::Code::EncodingDiffers,
            match level {
                provdiff_core::EncodingLevel::Tar => {
                    "the tar streams are identical; no known zlib (Node.js's Chromium zlib, stock zlib, \
                     Chromium with CRC32C hashing) reproduces the gzip stream"
                }
                _ => "the files are identical; the tar headers or entry order differ",
            },
        ));
    }
    report.comparison = Some(ComparisonInfo {
        npm_rules: packed.list.rules,
        npm_rules_source: rules_source,
        agreement,
        package_files: comparison.package_files,
        source_files: comparison.source_files,
        identical_files: comparison.identical_files,
        explained_files: comparison.explained_files + comparison.added_files_explained,
        entries_explained: comparison.entries_explained(),
        publish_tool: options.publish.tool,
        publish_tool_found_by: options.publish.detected_by.clone(),
        build_step: options.build_step.clone(),
        gzip_engine: gzip_engine.map(GzipEngine::from),
        rebuild_needed: comparison.rebuild_needed(),
    });
    findings.extend(packed.list.findings);
    findings.extend(comparison.findings);
    let packed_tree = provdiff_npm::to_tree(&packed.files);
    report.files = crate::report::file_list(&published.tree, &packed_tree);
    Ok(Compared { findings, packed_tree })
}

/// Every regular file of a source tree, packed or not, outside `node_modules`: where the
/// comparison looks for the sources of files only in the package.
pub(crate) fn source_listing(source: &dyn provdiff_core::SourceTree) -> Vec<String> {
    source
        .entries()
        .iter()
        .filter(|entry| matches!(entry.kind, provdiff_core::SourceKind::File { .. }))
        .filter(|entry| !entry.path.split('/').any(|part| part == "node_modules" || part == ".git"))
        .map(|entry| entry.path.clone())
        .collect()
}

/// Finds the package's directory at the commit: `--package-dir`, then the tarball's
/// `repository.directory`, then the root, then any `package.json` with the package's name.
fn locate_package(
    commit: &Commit<'_>,
    name: &str,
    hint: Option<&str>,
    override_dir: Option<&str>,
    root: Option<&Manifest>,
) -> Result<(String, &'static str)> {
    let manifests: Vec<String> = commit
        .entries()
        .iter()
        .filter(|entry| matches!(entry.kind, provdiff_core::SourceKind::File { .. }))
        .map(|entry| entry.path.as_str())
        .filter(|path| *path == "package.json" || path.ends_with("/package.json"))
        .filter(|path| !path.split('/').any(|component| component == "node_modules"))
        .map(|path| path.trim_end_matches("package.json").trim_end_matches('/').to_string())
        .collect();
    let name_at = |dir: &str| -> Option<String> {
        let path = if dir.is_empty() { "package.json".to_string() } else { format!("{dir}/package.json") };
        let bytes = commit.read(&path).ok()?;
        Manifest::parse(&bytes, &path).ok()?.name().map(str::to_string)
    };
    if let Some(dir) = override_dir {
        let dir = provdiff_npm::normalize_relative(dir);
        match name_at(&dir) {
            Some(found) if found == name => return Ok((dir, "--package-dir")),
            Some(found) => bail!("the package.json in {dir:?} at commit {} is {found:?}, not {name:?}", commit.id()),
            None => bail!("there is no package.json in {dir:?} at commit {}", commit.id()),
        }
    }
    if let Some(hint) = hint.map(provdiff_npm::normalize_relative)
        && manifests.contains(&hint)
        && name_at(&hint).as_deref() == Some(name)
    {
        return Ok((hint, "repository.directory"));
    }
    if manifests.iter().any(String::is_empty) && name_at("").as_deref() == Some(name) {
        return Ok((String::new(), "root package.json"));
    }
    let mut matching: Vec<&String> = manifests.iter().filter(|dir| name_at(dir).as_deref() == Some(name)).collect();
    if matching.len() > 1 {
        // A package name repeated in fixtures or examples: the root's workspaces are the ones
        // that get published.
        let in_workspaces: Vec<&String> = matching
            .iter()
            .copied()
            .filter(|dir| root.is_some_and(|root| provdiff_npm::is_workspace_of(root, dir)))
            .collect();
        if in_workspaces.len() == 1 {
            return Ok((in_workspaces[0].clone(), "workspaces and package.json name"));
        }
        if !in_workspaces.is_empty() {
            matching = in_workspaces;
        }
    }
    match matching.as_slice() {
        [only] => Ok(((*only).clone(), "package.json name")),
        [] => bail!("no package.json named {name:?} at commit {} (outside node_modules)", commit.id()),
        several => bail!(
            "several package.json files are named {name:?} at commit {}: {}; choose one with --package-dir",
            commit.id(),
            several.iter().map(|dir| format!("{dir:?}")).collect::<Vec<_>>().join(", ")
        ),
    }
}
