//! Comparison of the published package with the package provdiff rebuilt from source.
//!
//! **Architecture Invariant:** this crate does no I/O. It takes two [`FileTree`]s (and, for the
//! archive-level comparison, byte slices) and returns findings; reading, fetching and printing
//! happen elsewhere. That keeps every rule here testable with in-memory trees.
//!
//! Strictness: every path in either tree ends up either identical or with a finding; there is no
//! code path that skips a file.

use provdiff_core::{Code, EncodingLevel, FileTree, Finding};
use sha2::Digest;

/// What the comparison needs to know beyond the two trees.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// The package's build step (`prepare`, `prepack`, ... script), if it has one: files only in
    /// the package are then possibly build outputs, which only a rebuild can settle.
    pub build_step: Option<String>,
    /// Lines of unified diff kept per file; longer diffs are cut with a count of what was left out.
    pub max_diff_lines: usize,
}

impl CompareOptions {
    pub const DEFAULT_MAX_DIFF_LINES: usize = 200;
}

/// The outcome of comparing two trees.
#[derive(Debug, Clone, Default)]
pub struct TreeComparison {
    pub findings: Vec<Finding>,
    /// Files present in both trees with the same bytes and executable bit.
    pub identical_files: usize,
    /// Paths in the published package.
    pub package_files: usize,
    /// Paths the source produced.
    pub source_files: usize,
}

impl TreeComparison {
    /// Whether the two trees hold the same files with the same bytes and executable bits.
    pub fn entries_equal(&self) -> bool {
        self.findings.is_empty()
            && self.identical_files == self.package_files
            && self.package_files == self.source_files
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
    for (path, published_entry) in published.files() {
        let Some(source_entry) = repacked.get(path) else {
            let finding = match &options.build_step {
                Some(step) => Finding::at(
                    Code::BuildOutput,
                    path,
                    format!("not in the source; the package's `{step}` step may produce it"),
                ),
                None => Finding::at(
                    Code::OnlyInPackage,
                    path,
                    "not in the source, and the package has no build step that could produce it",
                ),
            };
            comparison.findings.push(finding);
            continue;
        };
        let mut same = true;
        if published_entry.content != source_entry.content {
            same = false;
            comparison.findings.push(content_finding(path, &published_entry.content, &source_entry.content, max_lines));
        }
        if published_entry.is_executable() != source_entry.is_executable() {
            same = false;
            let (package, source) =
                (executable_word(published_entry.is_executable()), executable_word(source_entry.is_executable()));
            comparison.findings.push(Finding::at(
                Code::ModeDiffers,
                path,
                format!(
                    "{package} in the package, {source} from the source (modes {:o} and {:o})",
                    published_entry.mode, source_entry.mode
                ),
            ));
        }
        if same {
            comparison.identical_files += 1;
        }
    }
    for (path, _) in repacked.files() {
        if !published.contains(path) {
            comparison.findings.push(Finding::at(
                Code::OnlyInSource,
                path,
                "the source would publish this file; the package lacks it",
            ));
        }
    }
    comparison
}

fn executable_word(executable: bool) -> &'static str {
    if executable { "executable" } else { "not executable" }
}

fn content_finding(path: &str, published: &[u8], source: &[u8], max_lines: usize) -> Finding {
    match (std::str::from_utf8(published), std::str::from_utf8(source)) {
        (Ok(published_text), Ok(source_text)) if !published.contains(&0) && !source.contains(&0) => {
            let diff = similar::TextDiff::from_lines(source_text, published_text);
            let changed = diff.iter_all_changes().filter(|change| change.tag() != similar::ChangeTag::Equal).count();
            let unified = diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("source/{path}"), &format!("package/{path}"))
                .to_string();
            Finding::at(
                Code::ContentDiffers,
                path,
                format!(
                    "{changed} line{} differ ({} bytes in the package, {} from the source)",
                    plural(changed),
                    published.len(),
                    source.len()
                ),
            )
            .with_diff(truncate_lines(&unified, max_lines))
        }
        _ => Finding::at(
            Code::ContentDiffers,
            path,
            format!(
                "binary content differs: package {} bytes sha256:{}, source {} bytes sha256:{}",
                published.len(),
                short_sha256(published),
                source.len(),
                short_sha256(source)
            ),
        ),
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn short_sha256(bytes: &[u8]) -> String {
    hex::encode(&sha2::Sha256::digest(bytes)[..8])
}

fn truncate_lines(text: &str, max_lines: usize) -> String {
    let total = text.lines().count();
    if total <= max_lines {
        return text.to_string();
    }
    let mut kept: String = text.lines().take(max_lines).flat_map(|line| [line, "\n"]).collect();
    kept.push_str(&format!("... {} more diff lines not shown\n", total - max_lines));
    kept
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
    fn files_only_in_the_package_need_a_rebuild_when_there_is_a_build_step() {
        let published = tree(&[("dist/index.js", 0o644, "built")]);
        let options = CompareOptions { build_step: Some("prepare".into()), ..CompareOptions::default() };
        let comparison = compare_trees(&published, &FileTree::new(), &options);
        assert_eq!(codes(&comparison), [(Code::BuildOutput, "dist/index.js".into())]);
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

    #[test]
    fn agreement_levels() {
        assert_eq!(archive_agreement(true, b"z", b"t", b"z", b"t"), Some(EncodingLevel::Compressed));
        assert_eq!(archive_agreement(true, b"z", b"t", b"y", b"t"), Some(EncodingLevel::Tar));
        assert_eq!(archive_agreement(true, b"z", b"t", b"y", b"u"), Some(EncodingLevel::Entries));
        assert_eq!(archive_agreement(false, b"z", b"t", b"z", b"t"), None);
    }
}
