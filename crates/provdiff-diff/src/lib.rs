//! Comparison of the published package with the package provdiff rebuilt from source.
//!
//! **Architecture Invariant:** this crate does no I/O. It takes two [`FileTree`]s (and, for the
//! archive-level comparison, byte slices) and returns findings; reading, fetching and printing
//! happen elsewhere. That keeps every rule here testable with in-memory trees.
//!
//! Strictness: every path in either tree ends up either identical or with a finding; there is no
//! code path that skips a file. A file counts as *explained* only when the comparison itself has
//! classified it so (a `package.json` whose every difference is a known publish-time rewrite, a
//! file the publishing tool adds with the source's bytes), and [`TreeComparison::entries_explained`]
//! is what lets a verdict be `explained`.

mod build_output;
mod js;
mod manifest;
mod text;

use provdiff_core::{Code, EncodingLevel, FileEntry, FileTree, Finding, PublishContext, PublishTool};
use sha2::Digest;

/// What the comparison needs to know beyond the two trees.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// The package's build step (`prepare`, `prepack`, ... script), if it has one: files only in
    /// the package that match a source are then likely build outputs, which only a rebuild can
    /// settle.
    pub build_step: Option<String>,
    /// Every file of the source at the package's directory, packed or not, relative to it: where
    /// the sources of files only in the package are looked for (`src/x.ts` for `dist/x.js`).
    /// `None` when the other side is not a source (a tarball): then no file only in the package
    /// can be matched to a source.
    pub source_listing: Option<Vec<String>>,
    /// Lines of unified diff kept per file; longer diffs are cut with a count of what was left out.
    pub max_diff_lines: usize,
    /// The tool that published the package and what it needs from the commit, so that its
    /// `package.json` rewrites and added files can be explained. The default (npm, nothing known)
    /// explains nothing.
    pub publish: PublishContext,
}

impl CompareOptions {
    pub const DEFAULT_MAX_DIFF_LINES: usize = 200;
}

/// The outcome of comparing two trees.
#[derive(Debug, Clone, Default)]
pub struct TreeComparison {
    pub findings: Vec<Finding>,
    /// Files present in both trees with the same bytes and mode.
    pub identical_files: usize,
    /// Files present in both trees whose every difference is explained (a `package.json`
    /// rewritten exactly as the publishing tool rewrites it).
    pub explained_files: usize,
    /// Files only in the package that the publishing tool adds, with the source's bytes.
    pub added_files_explained: usize,
    /// Paths in the published package.
    pub package_files: usize,
    /// Paths the source produced.
    pub source_files: usize,
}

impl TreeComparison {
    /// Whether the two trees hold the same files with the same bytes and modes.
    pub fn entries_equal(&self) -> bool {
        self.findings.is_empty()
            && self.identical_files == self.package_files
            && self.package_files == self.source_files
    }

    /// Whether the trees differ, but only in explained ways: no finding worse than `explained`,
    /// and every file counted as identical or explained — each package file, and each source file
    /// found in the package. Counting files, not findings, is what keeps a difference that went
    /// without a finding from passing as explained.
    pub fn entries_explained(&self) -> bool {
        let explained = self.explained_files + self.added_files_explained;
        explained > 0
            && self.findings.iter().all(|finding| finding.severity <= provdiff_core::Severity::Explained)
            && self.identical_files + explained == self.package_files
            && self.identical_files + self.explained_files == self.source_files
    }

    /// The files only a rebuild can prove (every `inconclusive` finding's path), in path order:
    /// what an `inconclusive` verdict lists.
    pub fn rebuild_needed(&self) -> Vec<String> {
        build_output::paths_needing_rebuild(&self.findings)
    }
}

/// Compares the files of the published package with the files the source produces.
pub fn compare_trees(published: &FileTree, repacked: &FileTree, options: &CompareOptions) -> TreeComparison {
    let mut comparison = TreeComparison {
        package_files: published.files().count(),
        source_files: repacked.files().count(),
        ..TreeComparison::default()
    };
    let max_lines =
        if options.max_diff_lines == 0 { CompareOptions::DEFAULT_MAX_DIFF_LINES } else { options.max_diff_lines };
    let tool_executables = manifest::tool_executables(
        options.publish.tool,
        published.get("package.json").map(|entry| &entry.content[..]),
        repacked.get("package.json").map(|entry| &entry.content[..]),
    );
    let mut only_in_package = Vec::new();
    for (path, published_entry) in published.files() {
        let Some(source_entry) = repacked.get(path) else {
            if let Some(finding) = added_by_tool(path, published_entry, repacked, &options.publish) {
                comparison.findings.push(finding);
                comparison.added_files_explained += 1;
            } else {
                only_in_package.push((path, published_entry));
            }
            continue;
        };
        // Identical, or every difference explained, or neither.
        let mut same = true;
        let mut explained = true;
        if published_entry.content != source_entry.content {
            same = false;
            let judged = (path == "package.json")
                .then(|| {
                    manifest::compare(
                        path,
                        &published_entry.content,
                        &source_entry.content,
                        &options.publish,
                        max_lines,
                    )
                })
                .flatten();
            match judged {
                Some(judged) => {
                    explained = judged.explained;
                    comparison.findings.extend(judged.findings);
                }
                None => {
                    explained = false;
                    comparison.findings.push(text::content_finding(
                        path,
                        &published_entry.content,
                        &source_entry.content,
                        max_lines,
                    ));
                }
            }
        }
        // Full modes: the package's are what npm install sets (pacote keeps the setuid, setgid
        // and sticky bits), the source's are what npm's writer makes of git's 644 and 755.
        let (published_mode, source_mode) = (published_entry.mode & 0o7777, source_entry.mode & 0o7777);
        if published_mode & 0o7000 != source_mode & 0o7000 {
            same = false;
            explained = false;
            comparison.findings.push(Finding::at(
                Code::ModeSpecialBits,
                path,
                format!(
                    "mode {published_mode:o} in the package, {source_mode:o} from the source: {}; npm pack never writes \
                     these bits, and npm install keeps them",
                    special_bits(published_mode ^ source_mode)
                ),
            ));
        }
        let (published_bits, source_bits) = (published_mode & 0o777, source_mode & 0o777);
        if published_bits != source_bits {
            same = false;
            let executable = published_entry.is_executable();
            let (package, source) = (executable_word(executable), executable_word(source_entry.is_executable()));
            // The tools' rule: exactly their bins executable, the other bits as npm writes them.
            let tool_bits = (source_bits & !0o111) | if executable { 0o111 } else { 0 };
            let set_by_tool = tool_executables
                .as_ref()
                .filter(|executables| executables.contains(path) == executable && published_bits == tool_bits);
            match set_by_tool {
                Some(executables) => comparison.findings.push(Finding::at(
                    Code::PublishFileMode,
                    path,
                    format!(
                        "{package} in the package, {source} in the source: {} makes exactly the package's bins{} \
                         executable",
                        options.publish.describe_tool(),
                        if executables.is_empty() { " (it has none)" } else { "" }
                    ),
                )),
                None => {
                    explained = false;
                    let what = if executable == source_entry.is_executable() {
                        "other permission bits".to_string()
                    } else {
                        format!("{package} in the package, {source} from the source")
                    };
                    comparison.findings.push(Finding::at(
                        Code::ModeDiffers,
                        path,
                        format!("{what} (modes {published_bits:o} and {source_bits:o})"),
                    ));
                }
            }
        }
        if same {
            comparison.identical_files += 1;
        } else if explained {
            comparison.explained_files += 1;
        }
    }
    // Build outputs or unexplained: decided together, with one pass over the source's files.
    comparison.findings.extend(build_output::classify(&only_in_package, published, repacked, options));
    for (path, _) in repacked.files() {
        if !published.contains(path) {
            comparison.findings.push(Finding::at(
                Code::OnlyInSource,
                path,
                "the source would publish this file; the package lacks it",
            ));
        }
    }
    // In path order, as the trees are; a file's own findings keep their order.
    comparison.findings.sort_by(|a, b| a.path.cmp(&b.path));
    comparison
}

/// A file only in the package that the publishing tool adds itself, with the source's bytes:
/// pnpm copies the workspace root's licence files into a package that packs none (any packed
/// path matching `/LICEN[CS]E(\..+)?/i`, which is unanchored: a path containing the word);
/// yarn berry always includes the package root's README, LICENSE, LICENCE and CHANGELOG files.
fn added_by_tool(path: &str, entry: &FileEntry, repacked: &FileTree, publish: &PublishContext) -> Option<Finding> {
    // Both tools write these files with mode 644.
    if entry.is_executable() {
        return None;
    }
    let (candidates, why) = match publish.tool {
        PublishTool::Pnpm => {
            let packs_a_licence = repacked.files().any(|(packed, _)| {
                let lower = packed.to_ascii_lowercase();
                lower.contains("license") || lower.contains("licence")
            });
            if packs_a_licence {
                return None;
            }
            (&publish.workspace_licenses, "pnpm copies the workspace root's licence into a package that has none")
        }
        PublishTool::YarnBerry => {
            (&publish.always_included, "yarn always includes the package root's README, LICENSE and CHANGELOG files")
        }
        PublishTool::Npm | PublishTool::YarnClassic => return None,
    };
    let file = candidates.iter().find(|file| file.path == path && file.content == entry.content)?;
    Some(Finding::at(
        Code::PublishAddedFile,
        path,
        format!("the bytes of {} ({} bytes): {why}", file.source_path, file.content.len()),
    ))
}

/// The names of the setuid, setgid and sticky bits among `bits`.
fn special_bits(bits: u32) -> String {
    let names: Vec<&str> = [(0o4000, "setuid"), (0o2000, "setgid"), (0o1000, "sticky")]
        .into_iter()
        .filter(|(bit, _)| bits & bit != 0)
        .map(|(_, name)| name)
        .collect();
    format!(
        "the {} bit{} differ{}",
        names.join(" and "),
        if names.len() == 1 { "" } else { "s" },
        if names.len() == 1 { "s" } else { "" }
    )
}

fn executable_word(executable: bool) -> &'static str {
    if executable { "executable" } else { "not executable" }
}

/// A Git LFS pointer in the source, by package path: what its object must hash to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfsPointer {
    pub path: String,
    /// SHA-256 of the object, lowercase hex.
    pub sha256: String,
    pub size: u64,
}

/// The published bytes that are proven to be the objects of the source's Git LFS pointers
/// (same SHA-256 and size), to pack in the pointers' place, and an explained finding for each.
/// A pointer whose published file is anything else is left alone: the comparison then reports
/// the pointer and the published content as different files, as they are.
pub fn resolve_lfs(
    pointers: &[LfsPointer],
    published: &FileTree,
) -> (std::collections::BTreeMap<String, Vec<u8>>, Vec<Finding>) {
    let mut replaced = std::collections::BTreeMap::new();
    let mut findings = Vec::new();
    for pointer in pointers {
        let Some(entry) = published.get(&pointer.path) else { continue };
        if entry.content.len() as u64 != pointer.size {
            continue;
        }
        let digest = hex::encode(sha2::Sha256::digest(&entry.content));
        if digest != pointer.sha256.to_ascii_lowercase() {
            continue;
        }
        findings.push(Finding::at(
            Code::LfsObjectVerified,
            pointer.path.clone(),
            format!(
                "a Git LFS pointer in the source; the package holds its object (sha256:{}, {} bytes)",
                digest, pointer.size
            ),
        ));
        replaced.insert(pointer.path.clone(), entry.content.to_vec());
    }
    (replaced, findings)
}

/// The strongest level at which the two archives agree, given that their entries are equal.
/// `None` when the entries differ: then no encoding level holds.
pub fn archive_agreement(
    entries_equal: bool,
    published_tgz: &[u8],
    published_tar: &[u8],
    repacked_tgz: &[u8],
    repacked_tar: &[u8],
) -> Option<EncodingLevel> {
    agreement_level(entries_equal, || published_tgz == repacked_tgz, || published_tar == repacked_tar)
}

/// [`archive_agreement`] for callers that compare the archives some other way (by digest, say).
pub fn agreement_level(
    entries_equal: bool,
    tgz_equal: impl FnOnce() -> bool,
    tar_equal: impl FnOnce() -> bool,
) -> Option<EncodingLevel> {
    if !entries_equal {
        return None;
    }
    Some(if tgz_equal() {
        EncodingLevel::Compressed
    } else if tar_equal() {
        EncodingLevel::Tar
    } else {
        EncodingLevel::Entries
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use provdiff_core::FileEntry;

    fn tree(files: &[(&str, u32, &str)]) -> FileTree {
        files
            .iter()
            .map(|(path, mode, content)| (path.to_string(), FileEntry::file(*mode, content.as_bytes().to_vec())))
            .collect()
    }

    fn codes(comparison: &TreeComparison) -> Vec<(Code, String)> {
        comparison.findings.iter().map(|f| (f.code, f.path.clone().unwrap_or_default())).collect()
    }

    #[test]
    fn lfs_objects_are_resolved_only_when_hash_and_size_match() {
        let published = tree(&[("logo.png", 0o644, "PNGDATA"), ("other.bin", 0o644, "tampered")]);
        let sha = |text: &str| hex::encode(sha2::Sha256::digest(text.as_bytes()));
        let pointers = [
            LfsPointer { path: "logo.png".into(), sha256: sha("PNGDATA").to_uppercase(), size: 7 },
            LfsPointer { path: "other.bin".into(), sha256: sha("original"), size: 8 },
            LfsPointer { path: "wrong-size.bin".into(), sha256: sha("x"), size: 2 },
            LfsPointer { path: "absent.bin".into(), sha256: sha("x"), size: 1 },
        ];
        let (replaced, findings) = resolve_lfs(&pointers, &published);
        assert_eq!(replaced.keys().collect::<Vec<_>>(), ["logo.png"]);
        assert_eq!(replaced["logo.png"], b"PNGDATA");
        assert_eq!(
            codes(&TreeComparison { findings, ..TreeComparison::default() }),
            [(Code::LfsObjectVerified, "logo.png".into())]
        );
        // Same size, different content: not resolved.
        let same_size = tree(&[("logo.png", 0o644, "PNGDATB")]);
        assert!(resolve_lfs(&pointers[..1], &same_size).0.is_empty());
    }

    #[test]
    fn identical_trees_have_no_findings() {
        let a = tree(&[("index.js", 0o644, "x\n"), ("package.json", 0o644, "{}\n")]);
        let comparison = compare_trees(&a, &a.clone(), &CompareOptions::default());
        assert!(comparison.entries_equal());
        assert_eq!(comparison.identical_files, 2);
    }

    #[test]
    fn modes_are_compared_in_full() {
        // (package mode, source mode, codes): an executable bit is not all there is to a mode.
        let check = |published: u32, source: u32, expected: &[Code]| {
            let comparison = compare_trees(
                &tree(&[("index.js", published, "x")]),
                &tree(&[("index.js", source, "x")]),
                &CompareOptions::default(),
            );
            let found: Vec<Code> = comparison.findings.iter().map(|finding| finding.code).collect();
            assert_eq!(found, expected, "{published:o} against {source:o}");
            assert_eq!(comparison.entries_equal(), expected.is_empty(), "{published:o} against {source:o}");
        };
        check(0o755, 0o755, &[]);
        check(0o4755, 0o755, &[Code::ModeSpecialBits]);
        check(0o2755, 0o755, &[Code::ModeSpecialBits]);
        check(0o1644, 0o644, &[Code::ModeSpecialBits]);
        check(0o4755, 0o644, &[Code::ModeSpecialBits, Code::ModeDiffers]);
        check(0o664, 0o644, &[Code::ModeDiffers]);
        check(0o744, 0o755, &[Code::ModeDiffers]);
        check(0o600, 0o644, &[Code::ModeDiffers]);
        check(0o755, 0o644, &[Code::ModeDiffers]);
        let comparison =
            compare_trees(&tree(&[("a", 0o6755, "x")]), &tree(&[("a", 0o755, "x")]), &CompareOptions::default());
        assert!(comparison.findings[0].detail.contains("setuid and setgid bits differ"), "{:?}", comparison.findings);
    }

    #[test]
    fn every_kind_of_difference_is_a_finding() {
        let published = tree(&[("a.js", 0o644, "one\ntwo\n"), ("b.js", 0o755, "b"), ("extra.js", 0o644, "evil")]);
        let source = tree(&[("a.js", 0o644, "one\nTWO\n"), ("b.js", 0o644, "b"), ("missing.js", 0o644, "m")]);
        let comparison = compare_trees(&published, &source, &CompareOptions::default());
        assert_eq!(
            codes(&comparison),
            [
                (Code::ContentDiffers, "a.js".into()),
                (Code::ModeDiffers, "b.js".into()),
                (Code::OnlyInPackage, "extra.js".into()),
                (Code::OnlyInSource, "missing.js".into()),
            ]
        );
        let diff = comparison.findings[0].diff.as_deref().unwrap();
        assert!(diff.contains("-TWO") && diff.contains("+two"), "{diff}");
        assert!(!comparison.entries_equal());
    }

    #[test]
    fn files_only_in_the_package_need_a_rebuild_when_a_source_and_a_build_step_explain_them() {
        let published = tree(&[("dist/index.js", 0o644, "built")]);
        let options = CompareOptions {
            build_step: Some("prepare".into()),
            source_listing: Some(vec!["src/index.ts".into()]),
            ..CompareOptions::default()
        };
        let comparison = compare_trees(&published, &FileTree::new(), &options);
        assert_eq!(codes(&comparison), [(Code::BuildOutput, "dist/index.js".into())]);
        assert_eq!(comparison.rebuild_needed(), ["dist/index.js"]);
        // A build step alone explains nothing.
        let options = CompareOptions { source_listing: Some(Vec::new()), ..options };
        assert_eq!(
            codes(&compare_trees(&published, &FileTree::new(), &options)),
            [(Code::OnlyInPackage, "dist/index.js".into())]
        );
    }

    #[test]
    fn binary_files_are_summarised_and_long_diffs_cut() {
        let published = tree(&[("a.bin", 0o644, "\0\u{1}")]);
        let source = tree(&[("a.bin", 0o644, "\0\u{2}")]);
        let finding = &compare_trees(&published, &source, &CompareOptions::default()).findings[0];
        assert!(finding.detail.starts_with("binary content differs"), "{}", finding.detail);
        assert!(finding.diff.is_none());

        let long_a: String = (0..1000).map(|i| format!("{i}\n")).collect();
        let long_b: String = (0..1000).map(|i| format!("{}\n", i * 2)).collect();
        let options = CompareOptions { max_diff_lines: 10, ..CompareOptions::default() };
        let comparison = compare_trees(&tree(&[("a", 0o644, &long_a)]), &tree(&[("a", 0o644, &long_b)]), &options);
        let diff = comparison.findings[0].diff.as_deref().unwrap();
        assert_eq!(diff.lines().count(), 11);
        assert!(diff.ends_with("more diff lines not shown\n"));
    }

    fn pnpm_context() -> PublishContext {
        let file = |path: &str, source_path: &str, content: &str| provdiff_core::ToolFile {
            path: path.into(),
            source_path: source_path.into(),
            content: content.as_bytes().to_vec(),
        };
        PublishContext {
            tool: PublishTool::Pnpm,
            package_dir: "packages/a".into(),
            workspace_root: Some(String::new()),
            workspace_licenses: vec![file("LICENSE", "LICENSE", "MIT\n")],
            always_included: vec![file("CHANGELOG.md", "packages/a/CHANGELOG.md", "changes\n")],
            ..PublishContext::default()
        }
    }

    const SOURCE_MANIFEST: &str = "{\n    \"name\": \"a\",\n    \"scripts\": {\"prepare\": \"tsc\"}\n}\n";
    const PNPM_MANIFEST: &str = "{\n  \"name\": \"a\",\n  \"scripts\": {}\n}";

    #[test]
    fn a_package_json_rewritten_as_the_tool_does_is_explained() {
        let source = tree(&[("package.json", 0o644, SOURCE_MANIFEST), ("index.js", 0o644, "x")]);
        let published = tree(&[("package.json", 0o644, PNPM_MANIFEST), ("index.js", 0o644, "x")]);
        let options = CompareOptions { publish: pnpm_context(), ..CompareOptions::default() };
        let comparison = compare_trees(&published, &source, &options);
        assert_eq!(
            codes(&comparison),
            [(Code::PublishRewrite, "package.json".into()), (Code::PublishReformatted, "package.json".into())]
        );
        assert_eq!((comparison.identical_files, comparison.explained_files), (1, 1));
        assert!(comparison.entries_explained() && !comparison.entries_equal());

        // The same bytes under npm's rules are a mismatch, and so is any other file difference.
        let comparison = compare_trees(&published, &source, &CompareOptions::default());
        assert!(!comparison.entries_explained());
        assert!(
            codes(&comparison).iter().all(|(code, _)| *code == Code::PackageJsonFieldDiffers),
            "{:?}",
            codes(&comparison)
        );
        let tampered = tree(&[("package.json", 0o644, PNPM_MANIFEST), ("index.js", 0o644, "y")]);
        assert!(!compare_trees(&tampered, &source, &options).entries_explained());
        // A mode change is never explained, even on an explained package.json.
        let executable = tree(&[("package.json", 0o755, PNPM_MANIFEST), ("index.js", 0o644, "x")]);
        let comparison = compare_trees(&executable, &source, &options);
        assert!(!comparison.entries_explained());
        assert!(codes(&comparison).contains(&(Code::ModeDiffers, "package.json".into())));
        // A package.json that is not JSON is compared as bytes.
        let broken = tree(&[("package.json", 0o644, "{"), ("index.js", 0o644, "x")]);
        assert_eq!(codes(&compare_trees(&broken, &source, &options))[0].0, Code::ContentDiffers);
    }

    #[test]
    fn files_the_tool_adds_are_explained_only_with_the_sources_bytes() {
        let source = tree(&[("package.json", 0o644, "{}"), ("index.js", 0o644, "x")]);
        let with_licence =
            tree(&[("package.json", 0o644, "{}"), ("index.js", 0o644, "x"), ("LICENSE", 0o644, "MIT\n")]);
        let options = CompareOptions { publish: pnpm_context(), ..CompareOptions::default() };
        let comparison = compare_trees(&with_licence, &source, &options);
        assert_eq!(codes(&comparison), [(Code::PublishAddedFile, "LICENSE".into())]);
        assert_eq!(comparison.added_files_explained, 1);
        assert!(comparison.entries_explained());

        let other_bytes = tree(&[("package.json", 0o644, "{}"), ("index.js", 0o644, "x"), ("LICENSE", 0o644, "GPL\n")]);
        assert_eq!(codes(&compare_trees(&other_bytes, &source, &options)), [(Code::OnlyInPackage, "LICENSE".into())]);
        let executable = tree(&[("package.json", 0o644, "{}"), ("index.js", 0o644, "x"), ("LICENSE", 0o755, "MIT\n")]);
        assert_eq!(codes(&compare_trees(&executable, &source, &options)), [(Code::OnlyInPackage, "LICENSE".into())]);
        // pnpm copies nothing into a package that packs a licence of its own (any path naming one).
        let own = tree(&[("package.json", 0o644, "{}"), ("lib/license.js", 0o644, "x")]);
        let published =
            tree(&[("package.json", 0o644, "{}"), ("lib/license.js", 0o644, "x"), ("LICENSE", 0o644, "MIT\n")]);
        assert_eq!(codes(&compare_trees(&published, &own, &options)), [(Code::OnlyInPackage, "LICENSE".into())]);
        // npm adds nothing.
        assert_eq!(
            codes(&compare_trees(&with_licence, &source, &CompareOptions::default())),
            [(Code::OnlyInPackage, "LICENSE".into())]
        );

        // yarn berry always includes the root changelog.
        let yarn = CompareOptions {
            publish: PublishContext { tool: PublishTool::YarnBerry, ..pnpm_context() },
            ..CompareOptions::default()
        };
        let published =
            tree(&[("package.json", 0o644, "{}"), ("index.js", 0o644, "x"), ("CHANGELOG.md", 0o644, "changes\n")]);
        let comparison = compare_trees(&published, &source, &yarn);
        assert_eq!(codes(&comparison), [(Code::PublishAddedFile, "CHANGELOG.md".into())]);
        assert!(comparison.entries_explained());
        assert_eq!(codes(&compare_trees(&with_licence, &source, &yarn)), [(Code::OnlyInPackage, "LICENSE".into())]);
    }

    #[test]
    fn pnpm_and_yarn_set_modes_from_the_bins_alone() {
        let manifest = "{\"name\":\"a\",\"bin\":{\"a\":\"./dist/cli.js\"}}";
        let source = tree(&[("package.json", 0o644, manifest), ("dist/cli.js", 0o644, "x"), ("run.sh", 0o755, "y")]);
        let published = tree(&[("package.json", 0o644, manifest), ("dist/cli.js", 0o755, "x"), ("run.sh", 0o644, "y")]);
        for tool in [PublishTool::Pnpm, PublishTool::YarnBerry] {
            let options = CompareOptions {
                publish: PublishContext { tool, ..PublishContext::default() },
                ..CompareOptions::default()
            };
            let comparison = compare_trees(&published, &source, &options);
            assert_eq!(
                codes(&comparison),
                [(Code::PublishFileMode, "dist/cli.js".into()), (Code::PublishFileMode, "run.sh".into())]
            );
            assert!(comparison.entries_explained());
            // The opposite bits are not what the tool sets.
            let wrong = tree(&[("package.json", 0o644, manifest), ("dist/cli.js", 0o644, "x"), ("run.sh", 0o755, "z")]);
            let source_wrong =
                tree(&[("package.json", 0o644, manifest), ("dist/cli.js", 0o755, "x"), ("run.sh", 0o755, "z")]);
            assert_eq!(
                codes(&compare_trees(&wrong, &source_wrong, &options)),
                [(Code::ModeDiffers, "dist/cli.js".into())]
            );
        }
        // npm keeps the source's modes.
        let comparison = compare_trees(&published, &source, &CompareOptions::default());
        assert_eq!(
            codes(&comparison),
            [(Code::ModeDiffers, "dist/cli.js".into()), (Code::ModeDiffers, "run.sh".into())]
        );
        // pnpm uses the packed manifest's bins (hoisted from publishConfig), yarn the source's.
        let source_manifest = "{\"name\":\"a\",\"publishConfig\":{\"bin\":\"cli.js\"}}";
        let packed_manifest = "{\n  \"name\": \"a\",\n  \"bin\": \"cli.js\"\n}";
        let source = tree(&[("package.json", 0o644, source_manifest), ("cli.js", 0o644, "x")]);
        let published = tree(&[("package.json", 0o644, packed_manifest), ("cli.js", 0o755, "x")]);
        let comparison = compare_trees(
            &published,
            &source,
            &CompareOptions { publish: pnpm_context(), ..CompareOptions::default() },
        );
        assert!(codes(&comparison).contains(&(Code::PublishFileMode, "cli.js".into())), "{:?}", codes(&comparison));
        assert!(comparison.entries_explained(), "{:?}", codes(&comparison));
    }

    #[test]
    fn explained_needs_every_file_accounted_for() {
        let source = tree(&[("package.json", 0o644, SOURCE_MANIFEST), ("missing.js", 0o644, "m")]);
        let published = tree(&[("package.json", 0o644, PNPM_MANIFEST)]);
        let options = CompareOptions { publish: pnpm_context(), ..CompareOptions::default() };
        let comparison = compare_trees(&published, &source, &options);
        assert!(codes(&comparison).contains(&(Code::OnlyInSource, "missing.js".into())));
        assert!(!comparison.entries_explained());
        // Counts that do not add up are never explained, whatever the findings say.
        let forged = TreeComparison {
            findings: vec![Finding::at(Code::PublishRewrite, "package.json", "")],
            identical_files: 0,
            explained_files: 1,
            added_files_explained: 0,
            package_files: 1,
            source_files: 2,
        };
        assert!(!forged.entries_explained());
        assert!(TreeComparison { source_files: 1, ..forged.clone() }.entries_explained());
        assert!(
            !TreeComparison { explained_files: 0, identical_files: 1, source_files: 1, ..forged }.entries_explained()
        );
    }

    #[test]
    fn agreement_levels() {
        assert_eq!(archive_agreement(true, b"z", b"t", b"z", b"t"), Some(EncodingLevel::Compressed));
        assert_eq!(archive_agreement(true, b"z", b"t", b"y", b"t"), Some(EncodingLevel::Tar));
        assert_eq!(archive_agreement(true, b"z", b"t", b"y", b"u"), Some(EncodingLevel::Entries));
        assert_eq!(archive_agreement(false, b"z", b"t", b"z", b"t"), None);
    }
}
