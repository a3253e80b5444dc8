//! The check report: one serde type, printed as JSON or for people.

use std::io::Write;

use anyhow::Result;
use provdiff_attest::Verification;
use provdiff_core::{EncodingLevel, Finding, PublishTool, Severity, Sha512, Verdict};
use provdiff_npm::{DeflateHash, GzipOptions, NpmRules};
use serde::Serialize;

use crate::exit;

/// Bumped when a field changes meaning or disappears; adding fields does not bump it.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Tool {
    pub fn current() -> Self {
        Self { name: "provdiff", version: env!("CARGO_PKG_VERSION") }
    }
}

#[derive(Debug, Serialize)]
pub struct PackageInfo {
    pub name: String,
    pub version: String,
    pub sha512: Sha512,
    pub integrity: String,
    pub tarball: String,
}

#[derive(Debug, Serialize)]
pub struct SourceInfo {
    pub repository: String,
    pub commit: String,
    pub git_ref: Option<String>,
    /// Where provdiff read the repository from.
    pub location: String,
    /// The package's directory in the repository (`""` for the root).
    pub package_dir: String,
    pub package_dir_found_by: String,
    /// The monorepo root whose ignore files npm also applies, when the package is a workspace.
    pub workspace_root: Option<String>,
    /// How the commit was fetched; `null` when it was read from a local repository.
    pub fetch: Option<crate::acquire::FetchInfo>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RulesSource {
    /// The provenance names the npm version that built the package.
    Provenance,
    /// Unknown; provdiff tried every rule set and kept the one that reproduces the package best.
    Inferred,
}

#[derive(Debug, Serialize)]
pub struct ComparisonInfo {
    pub npm_rules: NpmRules,
    pub npm_rules_source: RulesSource,
    /// How far the archives agree when their files do; `null` when files differ.
    pub agreement: Option<EncodingLevel>,
    pub package_files: usize,
    pub source_files: usize,
    pub identical_files: usize,
    /// Files that differ (or are only in the package) in explained ways only.
    pub explained_files: usize,
    /// Every file is identical or explained: the comparison's own accounting, which an
    /// `explained` verdict requires.
    pub entries_explained: bool,
    /// The tool that packed the package, as the commit shows it, and why provdiff thinks so.
    pub publish_tool: PublishTool,
    pub publish_tool_found_by: String,
    pub build_step: Option<String>,
    /// The zlib that turns the repacked tar stream into the published `.tgz` byte for byte;
    /// `null` when the tar streams differ or no known engine reproduces the gzip stream.
    pub gzip_engine: Option<GzipEngine>,
}

/// A deflate engine and level, as `provdiff_npm::reproduce_gzip` identified them.
#[derive(Debug, Serialize)]
pub struct GzipEngine {
    /// `chromium` (current Node.js), `stock` (stock zlib) or `crc32c` (older Node.js on CPUs with
    /// CRC instructions).
    pub hash: DeflateHash,
    pub level: u8,
    pub description: String,
}

impl From<GzipOptions> for GzipEngine {
    fn from(options: GzipOptions) -> Self {
        Self { hash: options.hash, level: options.level, description: options.to_string() }
    }
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub schema_version: u32,
    pub tool: Tool,
    pub verdict: Verdict,
    pub package: PackageInfo,
    /// The attested source; `null` when the attestations did not verify.
    pub source: Option<SourceInfo>,
    pub attestation: Verification,
    /// What the registry served; `null` when the tarball and attestations came from files.
    pub registry: Option<crate::acquire::RegistryInfo>,
    /// `null` when no comparison was made (the attestations did not verify).
    pub comparison: Option<ComparisonInfo>,
    /// What `--rebuild` did; absent without it. With a rebuild, `comparison` is the rebuilt
    /// package's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuild: Option<crate::rebuild::RebuildInfo>,
    pub findings: Vec<Finding>,
}

impl CheckReport {
    pub fn new(package: PackageInfo, attestation: Verification) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            tool: Tool::current(),
            verdict: Verdict::Unverified,
            package,
            source: None,
            attestation,
            registry: None,
            comparison: None,
            rebuild: None,
            findings: Vec::new(),
        }
    }

    /// Orders the findings (worst first, then by path) and decides the verdict.
    pub fn finish(&mut self) {
        self.findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.path.cmp(&b.path)));
        let agreement = self.comparison.as_ref().and_then(|comparison| comparison.agreement);
        let entries_explained = self.comparison.as_ref().is_some_and(|comparison| comparison.entries_explained);
        self.verdict = Verdict::decide(&self.findings, agreement, entries_explained);
    }

    pub fn exit_code(&self) -> u8 {
        verdict_exit_code(self.verdict)
    }

    pub fn print(&self, json: bool) -> Result<()> {
        let mut out = std::io::stdout().lock();
        if json {
            serde_json::to_writer_pretty(&mut out, self)?;
            writeln!(out)?;
        } else {
            self.write_human(&mut out)?;
        }
        out.flush()?;
        Ok(())
    }

    fn write_human(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "{}@{}: {}", self.package.name, self.package.version, self.verdict)?;
        writeln!(out, "  {}", verdict_sentence(self.verdict))?;
        writeln!(out)?;
        write_attestation(out, &self.attestation)?;
        if let Some(source) = &self.source {
            let dir = if source.package_dir.is_empty() { "the repository root" } else { &source.package_dir };
            writeln!(out, "source      {} (found by {})", dir, source.package_dir_found_by)?;
            match &source.fetch {
                Some(fetch) => {
                    let how = match fetch.strategy.as_str() {
                        "cached" => "from the cache".to_string(),
                        strategy => {
                            let size = fetch.bytes.map(|bytes| format!(", {}", human_bytes(bytes))).unwrap_or_default();
                            format!("({strategy}{size})")
                        }
                    };
                    writeln!(
                        out,
                        "            fetched from {} {how}",
                        fetch.effective_url.as_deref().unwrap_or(&fetch.url)
                    )?;
                }
                None => writeln!(out, "            read from {}", source.location)?,
            }
            if let Some(root) = &source.workspace_root {
                let root = if root.is_empty() { "the repository root" } else { root };
                writeln!(out, "            a workspace of {root}: its ignore files apply too, as npm applies them")?;
            }
        }
        if let Some(registry) = &self.registry {
            let signatures = match registry.signatures.outcome {
                provdiff_registry::SignatureOutcome::Verified => "registry signature verified",
                provdiff_registry::SignatureOutcome::Failed => "registry signature does NOT verify",
                provdiff_registry::SignatureOutcome::Absent => "no registry signature",
                provdiff_registry::SignatureOutcome::NoKeys => "registry signature not checked: no npm key for it",
            };
            writeln!(out, "registry    {} ({signatures})", registry.registry)?;
        }
        match &self.comparison {
            Some(comparison) => {
                let agreement = match comparison.agreement {
                    Some(EncodingLevel::Compressed) => "the .tgz files are byte-identical",
                    Some(EncodingLevel::Tar) => "the tar streams are identical, the gzip streams differ",
                    Some(EncodingLevel::Entries) => "the files are identical, the archive encoding differs",
                    None if comparison.entries_explained => "the others differ only in explained ways",
                    None => "the files differ",
                };
                writeln!(
                    out,
                    "comparison  {} of {} package files identical to the {} the source produces; {}",
                    comparison.identical_files, comparison.package_files, comparison.source_files, agreement
                )?;
                let source = match comparison.npm_rules_source {
                    RulesSource::Provenance => "named by the provenance",
                    RulesSource::Inferred => "inferred: the provenance does not name the npm version",
                };
                writeln!(out, "            file selection of {} ({source})", comparison.npm_rules.describe())?;
                if comparison.publish_tool != PublishTool::Npm || comparison.explained_files > 0 {
                    writeln!(
                        out,
                        "            packed by {} ({}); {} file{} explained",
                        comparison.publish_tool,
                        comparison.publish_tool_found_by,
                        comparison.explained_files,
                        if comparison.explained_files == 1 { "" } else { "s" }
                    )?;
                }
                if let Some(engine) = &comparison.gzip_engine {
                    writeln!(out, "            gzip stream reproduced by {}", engine.description)?;
                }
            }
            None if self.verdict == Verdict::SourceUnavailable => {
                writeln!(out, "comparison  not made: the attested commit is unavailable")?
            }
            None => writeln!(out, "comparison  not made: without verified provenance there is no attested commit")?,
        }
        if let Some(rebuild) = &self.rebuild {
            crate::rebuild::write_human(out, rebuild)?;
        }
        write_findings(out, &self.findings)
    }
}

pub fn verdict_exit_code(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Identical | Verdict::Equivalent | Verdict::Explained => exit::OK,
        Verdict::Mismatch | Verdict::Unverified => exit::FAILED,
        Verdict::Inconclusive => exit::INCONCLUSIVE,
        Verdict::SourceUnavailable => exit::SOURCE_UNAVAILABLE,
    }
}

fn verdict_sentence(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Identical => "the attested commit repacks to a byte-identical tarball",
        Verdict::Equivalent => "same files, bytes and modes as the attested commit; only the archive encoding differs",
        Verdict::Explained => {
            "every difference from the attested commit is a known publish-time rewrite (listed below)"
        }
        Verdict::Inconclusive => "files only in the package need a rebuild to be proven (listed below)",
        Verdict::Mismatch => "the package is not what the attested commit produces (see below)",
        Verdict::SourceUnavailable => "the attested commit cannot be fetched, so nothing was compared (see below)",
        Verdict::Unverified => "the attestations do not verify (see below)",
    }
}

pub fn write_attestation(out: &mut impl Write, verification: &Verification) -> std::io::Result<()> {
    match &verification.provenance {
        Some(verified) => {
            let provenance = &verified.provenance;
            writeln!(out, "provenance  verified: {} @ {}", provenance.repository, provenance.commit)?;
            if let Some(git_ref) = &provenance.git_ref {
                writeln!(out, "            ref       {git_ref}")?;
            }
            if let Some(workflow) = &provenance.workflow_path {
                writeln!(out, "            workflow  {workflow}")?;
            }
            writeln!(out, "            builder   {}", provenance.builder_id)?;
            writeln!(out, "            signer    {}", verified.signer_identity)?;
            if let (Some(index), Some(time)) = (verified.log_index, verified.log_integrated_time) {
                writeln!(out, "            logged    index {index}, {time}")?;
            }
        }
        None => writeln!(out, "provenance  NOT verified")?,
    }
    match &verification.publish {
        Some(publish) => writeln!(
            out,
            "publish     verified: signed by npm key {}{}",
            publish.key_id,
            publish.registry.as_deref().map(|registry| format!(" for {registry}")).unwrap_or_default()
        )?,
        None if verification.attestations.iter().any(|a| a.kind == Some(provdiff_attest::AttestationKind::Publish)) => {
            writeln!(out, "publish     NOT verified")?
        }
        None => writeln!(out, "publish     not checked: no publish attestation was given")?,
    }
    writeln!(out, "trust       {}", verification.trust.trusted_root)?;
    Ok(())
}

pub fn write_findings(out: &mut impl Write, findings: &[Finding]) -> std::io::Result<()> {
    if findings.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(out, "findings")?;
    for finding in findings {
        let severity = match finding.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Explained => "explained",
            Severity::Inconclusive => "inconclusive",
            Severity::Unavailable => "unavailable",
            Severity::Mismatch => "MISMATCH",
            Severity::Unverified => "UNVERIFIED",
        };
        let path = finding.path.as_deref().map(|path| format!("{path}: ")).unwrap_or_default();
        writeln!(out, "  {severity:<12} {:<24} {path}{}", finding.code.as_str(), finding.detail)?;
        if let Some(diff) = &finding.diff {
            for line in diff.lines() {
                writeln!(out, "      {line}")?;
            }
        }
    }
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}
