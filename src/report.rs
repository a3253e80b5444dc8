//! The check report: one serde type, printed as JSON or for people.

use provdiff_attest::Verification;
use provdiff_core::{EncodingLevel, FileTree, Finding, PublishTool, Severity, Sha512, Verdict};
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
    /// The registry's metadata (`_npmVersion`) names it, and its rules reproduce the package at
    /// least as well as any other's.
    Registry,
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
    /// The files only a rebuild can prove (each `inconclusive` finding's path), in path order:
    /// what an `inconclusive` verdict rests on. Empty once `--rebuild` has rebuilt them.
    pub rebuild_needed: Vec<String>,
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
    /// Every path of the package and of the source's repack, with its status; empty when no
    /// comparison was made.
    pub files: Vec<FileStatus>,
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
            files: Vec::new(),
        }
    }

    /// Orders the findings (worst first, then by path), settles each file's status and decides the
    /// verdict.
    pub fn finish(&mut self) {
        sort_findings(&mut self.findings);
        settle_files(&mut self.files, &self.findings);
        let agreement = self.comparison.as_ref().and_then(|comparison| comparison.agreement);
        let entries_explained = self.comparison.as_ref().is_some_and(|comparison| comparison.entries_explained);
        self.verdict = Verdict::decide(&self.findings, agreement, entries_explained);
    }

    pub fn exit_code(&self) -> u8 {
        verdict_exit_code(self.verdict)
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

/// Worst first, then by path.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.path.cmp(&b.path)));
}

/// Where a path stands after the comparison, for the reports' file lists and trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileState {
    /// In both, same bytes and executable bit, and no finding says otherwise.
    Identical,
    /// Differs (or is only in one tree) in explained ways only.
    Explained,
    /// Only a rebuild can prove it.
    Inconclusive,
    /// In both, and differs in a way nothing explains.
    Mismatch,
    /// Only in the package, unexplained.
    OnlyInPackage,
    /// Only in the source's repack.
    OnlyInSource,
}

impl FileState {
    pub fn as_str(self) -> &'static str {
        match self {
            FileState::Identical => "identical",
            FileState::Explained => "explained",
            FileState::Inconclusive => "inconclusive",
            FileState::Mismatch => "mismatch",
            FileState::OnlyInPackage => "only-in-package",
            FileState::OnlyInSource => "only-in-source",
        }
    }
}

/// One path of either tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileStatus {
    pub path: String,
    pub status: FileState,
    pub in_package: bool,
    pub in_source: bool,
    /// Same bytes and executable bit in both trees: what the status starts from.
    #[serde(skip)]
    pub same: bool,
}

/// Every path of the package and of the source, in path order, with what the trees alone say
/// about it; [`settle_files`] then weighs the findings in.
pub fn file_list(package: &FileTree, source: &FileTree) -> Vec<FileStatus> {
    let mut files: Vec<FileStatus> = package
        .files()
        .map(|(path, entry)| {
            let other = source.get(path);
            let same = other
                .is_some_and(|other| other.content == entry.content && other.is_executable() == entry.is_executable());
            FileStatus {
                path: path.to_string(),
                status: FileState::Identical,
                in_package: true,
                in_source: other.is_some(),
                same,
            }
        })
        .collect();
    files.extend(source.files().filter(|(path, _)| !package.contains(path)).map(|(path, _)| FileStatus {
        path: path.to_string(),
        status: FileState::OnlyInSource,
        in_package: false,
        in_source: true,
        same: false,
    }));
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

/// Decides each file's status from the trees and the final findings at its path: the worst
/// finding from `explained` up decides; without one, a file is identical only when its bytes and
/// executable bit are, and anything else is unexplained.
pub fn settle_files(files: &mut [FileStatus], findings: &[Finding]) {
    let mut worst: std::collections::HashMap<&str, Severity> = std::collections::HashMap::new();
    for finding in findings {
        if let Some(path) = finding.path.as_deref() {
            let entry = worst.entry(path).or_insert(finding.severity);
            *entry = (*entry).max(finding.severity);
        }
    }
    for file in files {
        let unexplained = match (file.in_package, file.in_source) {
            (true, true) => FileState::Mismatch,
            (true, false) => FileState::OnlyInPackage,
            (false, _) => FileState::OnlyInSource,
        };
        file.status = match worst.get(file.path.as_str()).copied() {
            Some(Severity::Explained) => FileState::Explained,
            Some(Severity::Inconclusive) => FileState::Inconclusive,
            Some(Severity::Mismatch | Severity::Unavailable | Severity::Unverified) => unexplained,
            Some(Severity::Info | Severity::Warning) | None if file.same => FileState::Identical,
            Some(Severity::Info | Severity::Warning) | None => unexplained,
        };
    }
}

/// How many files have each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FileCounts {
    pub identical: usize,
    pub explained: usize,
    pub inconclusive: usize,
    pub mismatch: usize,
    pub only_in_package: usize,
    pub only_in_source: usize,
}

impl FileCounts {
    pub fn of(files: &[FileStatus]) -> Self {
        let mut counts = Self::default();
        for file in files {
            *match file.status {
                FileState::Identical => &mut counts.identical,
                FileState::Explained => &mut counts.explained,
                FileState::Inconclusive => &mut counts.inconclusive,
                FileState::Mismatch => &mut counts.mismatch,
                FileState::OnlyInPackage => &mut counts.only_in_package,
                FileState::OnlyInSource => &mut counts.only_in_source,
            } += 1;
        }
        counts
    }

    pub fn total(&self) -> usize {
        self.identical + self.explained + self.inconclusive + self.mismatch + self.only_in_package + self.only_in_source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provdiff_core::{Code, FileEntry};

    fn tree(files: &[(&str, u32, &str)]) -> FileTree {
        files
            .iter()
            .map(|(path, mode, content)| (path.to_string(), FileEntry::file(*mode, content.as_bytes().to_vec())))
            .collect()
    }

    fn statuses(package: &FileTree, source: &FileTree, findings: &[Finding]) -> Vec<(String, FileState)> {
        let mut files = file_list(package, source);
        settle_files(&mut files, findings);
        files.into_iter().map(|file| (file.path, file.status)).collect()
    }

    #[test]
    fn every_path_of_either_tree_gets_a_status() {
        let package = tree(&[
            ("a.js", 0o644, "a"),
            ("b.js", 0o644, "changed"),
            ("c.js", 0o755, "c"),
            ("dist/x.js", 0o644, "built"),
            ("LICENSE", 0o644, "MIT"),
            ("extra.js", 0o644, "evil"),
            ("package.json", 0o644, "{}"),
        ]);
        let source = tree(&[
            ("a.js", 0o644, "a"),
            ("b.js", 0o644, "b"),
            ("c.js", 0o644, "c"),
            ("gone.js", 0o644, "g"),
            ("package.json", 0o644, "{ }"),
        ]);
        let findings = [
            Finding::at(Code::ContentDiffers, "b.js", ""),
            Finding::at(Code::ModeDiffers, "c.js", ""),
            Finding::at(Code::BuildOutput, "dist/x.js", ""),
            Finding::at(Code::PublishAddedFile, "LICENSE", ""),
            Finding::at(Code::OnlyInPackage, "extra.js", ""),
            Finding::at(Code::OnlyInSource, "gone.js", ""),
            Finding::at(Code::PublishRewrite, "package.json", ""),
            Finding::at(Code::RebuildTimestamp, "a.js", ""),
        ];
        assert_eq!(
            statuses(&package, &source, &findings),
            [
                ("LICENSE".to_string(), FileState::Explained),
                ("a.js".into(), FileState::Identical),
                ("b.js".into(), FileState::Mismatch),
                ("c.js".into(), FileState::Mismatch),
                ("dist/x.js".into(), FileState::Inconclusive),
                ("extra.js".into(), FileState::OnlyInPackage),
                ("gone.js".into(), FileState::OnlyInSource),
                ("package.json".into(), FileState::Explained),
            ]
        );
    }

    #[test]
    fn a_difference_without_a_finding_is_never_identical() {
        let package = tree(&[("a.js", 0o644, "a"), ("b.js", 0o755, "b"), ("new.js", 0o644, "n")]);
        let source = tree(&[("a.js", 0o644, "A"), ("b.js", 0o644, "b")]);
        // Only a warning at the paths: the trees themselves decide.
        let findings = [Finding::at(Code::RebuildTimestamp, "a.js", "")];
        assert_eq!(
            statuses(&package, &source, &findings),
            [
                ("a.js".to_string(), FileState::Mismatch),
                ("b.js".into(), FileState::Mismatch),
                ("new.js".into(), FileState::OnlyInPackage)
            ]
        );
        // An explained finding on one file of a pair does not explain a mismatch on the same path.
        let findings = [Finding::at(Code::PublishRewrite, "a.js", ""), Finding::at(Code::ContentDiffers, "a.js", "")];
        assert_eq!(statuses(&package, &source, &findings)[0].1, FileState::Mismatch);
        let counts = FileCounts::of(&file_list(&package, &source));
        assert_eq!(counts.total(), 3);
    }
}
