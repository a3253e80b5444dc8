//! `provdiff check`: verify, fetch the attested commit, repack, compare, decide.

use anyhow::{Context, Result, bail};
use provdiff_attest::{PackageSubject, VerifiedProvenance};
use provdiff_core::Finding;
use provdiff_diff::{CompareOptions, archive_agreement, compare_trees};
use provdiff_git::{Commit, Repository};
use provdiff_npm::{Manifest, NpmRules, Packed, PublishedTarball};

use crate::cli::CheckArgs;
use crate::inputs;
use crate::report::{CheckReport, ComparisonInfo, GzipEngine, PackageInfo, RulesSource, SourceInfo};

pub fn run(args: &CheckArgs) -> Result<u8> {
    let published = inputs::read_tarball(&args.tarball)?;
    let manifest = published_manifest(&published, &args.tarball.display().to_string())?;
    let (name, version) = (
        manifest.name().context("the tarball's package.json has no name")?.to_string(),
        manifest.version().context("the tarball's package.json has no version")?.to_string(),
    );
    let attestations = inputs::read_attestations(&args.attestations)?;
    let verifier = inputs::verifier(&args.trust)?;
    let subject = PackageSubject { name: name.clone(), version: version.clone(), sha512: published.sha512 };
    let verification = verifier.verify(&attestations, &subject, &args.policy.policy());

    let mut report = CheckReport::new(
        PackageInfo {
            name,
            version,
            sha512: published.sha512,
            integrity: published.sha512.to_integrity(),
            tarball: args.tarball.display().to_string(),
        },
        verification,
    );

    // Without a verified provenance there is no attested commit to compare with.
    if let Some(provenance) = report.attestation.provenance.clone() {
        let repository = Repository::open(&args.repo)?;
        let commit = repository.commit(&provenance.provenance.commit)?;
        let (package_dir, found_by) = locate_package(
            &commit,
            &report.package.name,
            manifest.repository_directory(),
            args.package_dir.as_deref(),
        )?;
        report.source = Some(SourceInfo {
            repository: provenance.provenance.repository.clone(),
            commit: provenance.provenance.commit.clone(),
            git_ref: provenance.provenance.git_ref.clone(),
            location: repository.location().to_string(),
            package_dir: package_dir.clone(),
            package_dir_found_by: found_by.to_string(),
            workspace_root: None,
        });
        let source = commit.subtree(&package_dir)?;
        let workspace = provdiff_npm::find_workspace(&package_dir, |path| commit.read(path).ok());
        if let (Some(workspace), Some(source)) = (&workspace, report.source.as_mut()) {
            source.workspace_root = Some(workspace.root.clone());
        }
        // Rebuild mode (src/rebuild.rs): what the attested workflow builds, then `--rebuild`.
        let build_hint = crate::rebuild::build_hint(&commit, &package_dir, &provenance);
        compare(&mut report, &published, &source, &provenance, workspace.as_ref(), build_hint)?;
        crate::rebuild::after_comparison(&args.rebuild, &mut report, &published, &commit, &package_dir, &provenance)?;
    }
    report.findings.extend(report.attestation.findings.iter().cloned());
    report.findings.extend(published.findings.iter().cloned());
    report.finish();
    report.print(args.json)?;
    if let Some(failure) = crate::rebuild::failure(&report) {
        bail!(failure);
    }
    Ok(report.exit_code())
}

fn published_manifest(published: &PublishedTarball, origin: &str) -> Result<Manifest> {
    let entry = published.tree.get("package.json").with_context(|| format!("{origin} has no package/package.json"))?;
    Ok(Manifest::parse(&entry.content, &format!("{origin}: package.json"))?)
}

/// The npm rules to pack with: the npm version the provenance names (SLSA v0.2 builders are
/// `https://github.com/npm/cli@9.4.2`), else every known rule set, keeping the one that
/// reproduces the package best.
fn candidate_rules(provenance: &VerifiedProvenance) -> (Vec<NpmRules>, RulesSource) {
    let from_builder = provenance
        .provenance
        .builder_id
        .strip_prefix("https://github.com/npm/cli@")
        .and_then(NpmRules::for_npm_version);
    match from_builder {
        Some(rules) => (vec![rules], RulesSource::Provenance),
        None => (NpmRules::ALL.iter().rev().copied().collect(), RulesSource::Inferred),
    }
}

/// Packs `source`, compares it with the package and records both in the report; returns the
/// packed files. `build_hint` names what builds the package when its manifest does not.
pub(crate) fn compare(
    report: &mut CheckReport,
    published: &PublishedTarball,
    source: &dyn provdiff_core::SourceTree,
    provenance: &VerifiedProvenance,
    workspace: Option<&provdiff_npm::Workspace>,
    build_hint: Option<String>,
) -> Result<provdiff_core::FileTree> {
    let source_manifest =
        Manifest::parse(&source.read("package.json")?, &format!("{}/package.json", source.describe()))?;
    let options = CompareOptions {
        build_step: source_manifest.build_step().or(build_hint),
        max_diff_lines: CompareOptions::DEFAULT_MAX_DIFF_LINES,
    };
    let (candidates, rules_source) = candidate_rules(provenance);
    let mut best: Option<(usize, Packed, provdiff_diff::TreeComparison)> = None;
    for rules in candidates {
        let packed = provdiff_npm::pack(source, rules, workspace)
            .with_context(|| format!("cannot pack {}", source.describe()))?;
        let comparison = compare_trees(&published.tree, &provdiff_npm::to_tree(&packed.files), &options);
        let differences = comparison.findings.iter().filter(|f| f.severity > provdiff_core::Severity::Info).count();
        if best.as_ref().is_none_or(|(fewest, _, _)| differences < *fewest) {
            best = Some((differences, packed, comparison));
        }
    }
    let Some((_, mut packed, comparison)) = best else { bail!("no npm rule set to pack with") };
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
        report.findings.push(Finding::new(
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
        build_step: options.build_step.clone(),
        gzip_engine: gzip_engine.map(GzipEngine::from),
    });
    report.findings.extend(packed.list.findings);
    report.findings.extend(comparison.findings);
    Ok(provdiff_npm::to_tree(&packed.files))
}

/// Finds the package's directory at the commit: `--package-dir`, then the tarball's
/// `repository.directory`, then the root, then any `package.json` with the package's name.
fn locate_package(
    commit: &Commit<'_>,
    name: &str,
    hint: Option<&str>,
    override_dir: Option<&str>,
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
    let matching: Vec<&String> = manifests.iter().filter(|dir| name_at(dir).as_deref() == Some(name)).collect();
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
