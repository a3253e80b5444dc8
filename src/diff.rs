//! `provdiff diff A B`: the comparison of `check` without the attestations, between any two of a
//! `.tgz`, a directory (packed as npm would) and a git revision (`REPO@REV[:DIR]`, packed as npm
//! would). A plays the package, B what it is judged against: a file only in A is
//! `only-in-package`, a file only in B `only-in-source`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use provdiff_core::{EncodingLevel, FileTree, Finding, Verdict};
use provdiff_diff::{CompareOptions, agreement_level, compare_trees};
use provdiff_npm::{Manifest, NpmRules};
use serde::Serialize;

use crate::cli::DiffArgs;
use crate::report::{self, Tool};

/// One side of the comparison, as read.
struct Side {
    describe: SideInfo,
    tree: FileTree,
    /// The `.tgz` and its tar stream: the published ones, or what npm would write.
    tgz: Tgz,
    tar: bytes::Bytes,
    /// Findings about the side itself (a tarball's container).
    findings: Vec<Finding>,
    /// The side's build step, when it is a source.
    build_step: Option<String>,
    /// Every file of the side, packed or not, when it is a source.
    listing: Option<Vec<String>>,
    /// The tool that would publish it, when it is a source.
    publish: provdiff_core::PublishContext,
}

/// What a side is, for the report.
#[derive(Debug, Serialize)]
pub struct SideInfo {
    /// `tarball`, `directory` or `git`.
    pub kind: &'static str,
    /// As given on the command line.
    pub input: String,
    /// The commit a git revision resolved to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The npm file selection used to pack a directory or revision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npm_rules: Option<NpmRules>,
    pub files: usize,
}

#[derive(Debug, Serialize)]
pub struct DiffReport {
    pub schema_version: u32,
    pub tool: Tool,
    pub verdict: Verdict,
    pub a: SideInfo,
    pub b: SideInfo,
    pub identical_files: usize,
    /// How far the archives agree when their files do; `null` when files differ.
    pub agreement: Option<EncodingLevel>,
    /// The files of A only a rebuild of B can prove (each `inconclusive` finding's path).
    pub rebuild_needed: Vec<String>,
    pub findings: Vec<Finding>,
    /// Every path of A and of B, with its status (`only-in-package`: only in A).
    pub files: Vec<report::FileStatus>,
}

pub fn run(args: &DiffArgs) -> Result<u8> {
    crate::render::check_args(&args.report)?;
    if args.report.attestation.is_some() && !Path::new(&args.a).is_file() {
        bail!("--attestation makes a statement about A's tarball, and {:?} is not a file", args.a);
    }
    let rules = match &args.npm_version {
        Some(version) => NpmRules::for_npm_version(version)
            .with_context(|| format!("provdiff knows the file selection of npm 9, 10 and 11, not of npm {version}"))?,
        None => NpmRules::LATEST,
    };
    // The two sides are independent: read (decompress, hash, pack) them at once.
    let (a, b) = std::thread::scope(|scope| {
        let b = scope.spawn(|| load(&args.b, rules));
        let a = load(&args.a, rules);
        (a, b.join())
    });
    let a = a?;
    let mut b = b.map_err(|_| anyhow::anyhow!("reading {} failed unexpectedly", args.b))??;
    let options = CompareOptions {
        build_step: b.build_step.clone(),
        source_listing: b.listing.take(),
        max_diff_lines: CompareOptions::DEFAULT_MAX_DIFF_LINES,
        publish: b.publish.clone(),
    };
    let comparison = compare_trees(&a.tree, &b.tree, &options);
    let rebuild_needed = comparison.rebuild_needed();
    // Equal `.tgz` files have equal tar streams, so the gzip layer is compared only when the tar
    // streams are equal (and a tarball on disk is read again only then).
    let tar_equal = comparison.entries_equal() && a.tar == b.tar;
    let tgz_equal = tar_equal && a.tgz.same_bytes(&b.tgz)?;
    let agreement = agreement_level(comparison.entries_equal(), || tgz_equal, || tar_equal);
    let entries_explained = comparison.entries_explained();
    let mut findings = a.findings;
    findings.extend(b.findings);
    findings.extend(comparison.findings);
    report::sort_findings(&mut findings);
    let mut files = report::file_list(&a.tree, &b.tree);
    report::settle_files(&mut files, &findings);
    let verdict = Verdict::decide(&findings, agreement, entries_explained);
    let report = DiffReport {
        schema_version: report::SCHEMA_VERSION,
        tool: Tool::current(),
        verdict,
        a: a.describe,
        b: b.describe,
        identical_files: comparison.identical_files,
        agreement,
        rebuild_needed,
        findings,
        files,
    };
    let view = crate::render::View::diff(&report);
    let statement = || -> Result<Option<crate::render::attestation::Statement>> {
        let manifest = a.tree.get("package.json").context("--attestation: A has no package.json")?;
        let manifest = Manifest::parse(&manifest.content, &format!("{}: package.json", args.a))?;
        let source = match (parse_revision(&args.b), &report.b.commit) {
            (Some((repo, _, dir)), Some(commit)) if report.b.kind == "git" => {
                Some(crate::render::attestation::Source {
                    repository: repo.to_string(),
                    commit: commit.clone(),
                    directory: provdiff_npm::normalize_relative(dir),
                })
            }
            _ => None,
        };
        let sha512 = sha512_of_file(Path::new(&args.a))?;
        let tarball = crate::render::attestation::Tarball {
            name: manifest.name().unwrap_or_default(),
            version: manifest.version().unwrap_or_default(),
            sha512: &sha512,
        };
        Ok(Some(crate::render::attestation::statement(
            tarball,
            report.verdict,
            source,
            view.counts(),
            &report.findings,
            None,
        )?))
    };
    crate::render::emit(&report, &view, &args.report, statement, |out, style| {
        crate::render::terminal::write_diff(out, &report, style)
    })?;
    Ok(report::verdict_exit_code(verdict))
}

/// The SHA-512 of a file, read a chunk at a time.
fn sha512_of_file(path: &Path) -> Result<provdiff_core::Sha512> {
    use sha2::Digest;
    use std::io::Read;
    let mut file = fs_err::File::open(path)?;
    let mut hasher = sha2::Sha512::new();
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut chunk)? {
            0 => break,
            read => hasher.update(&chunk[..read]),
        }
    }
    Ok(provdiff_core::Sha512::from_bytes(hasher.finalize().into()))
}

/// Reads an operand: a tarball, a directory, or `REPO@REV[:DIR]`.
fn load(input: &str, rules: NpmRules) -> Result<Side> {
    let path = Path::new(input);
    if path.is_file() {
        let unpacked = read_tarball_file(path)?;
        return Ok(Side {
            describe: SideInfo {
                kind: "tarball",
                input: input.to_string(),
                commit: None,
                npm_rules: None,
                files: unpacked.tree.files().count(),
            },
            build_step: None,
            listing: None,
            publish: provdiff_core::PublishContext::default(),
            findings: unpacked.findings,
            tree: unpacked.tree,
            tgz: Tgz::File(path.to_path_buf()),
            tar: unpacked.tar,
        });
    }
    if path.is_dir() {
        let source = provdiff_npm::DirSource::open(path)?;
        let absolute = fs_err::canonicalize(path)?;
        let relative = absolute.to_string_lossy().trim_start_matches('/').to_string();
        let workspace = provdiff_npm::find_workspace(&relative, |path| std::fs::read(format!("/{path}")).ok());
        let publish = provdiff_npm::publish_context(&source, "")?;
        return packed_side("directory", input, None, &source, rules, workspace.as_ref(), publish);
    }
    let Some((repo, rev, dir)) = parse_revision(input) else {
        bail!("{input:?} is not a file, a directory or REPO@REV[:DIR]");
    };
    let repository = provdiff_git::Repository::open(Path::new(repo))?;
    let commit_id = repository.resolve(rev)?;
    let commit = repository.commit(&commit_id)?;
    let dir = provdiff_npm::normalize_relative(dir);
    let source = commit.subtree(&dir)?;
    let workspace = provdiff_npm::find_workspace(&dir, |path| commit.read(path).ok());
    let publish = provdiff_npm::publish_context(&commit.subtree("")?, &dir)?;
    packed_side("git", input, Some(commit_id), &source, rules, workspace.as_ref(), publish)
}

fn packed_side(
    kind: &'static str,
    input: &str,
    commit: Option<String>,
    source: &dyn provdiff_core::SourceTree,
    rules: NpmRules,
    workspace: Option<&provdiff_npm::Workspace>,
    publish: provdiff_core::PublishContext,
) -> Result<Side> {
    let manifest = Manifest::parse(&source.read("package.json")?, &format!("{}/package.json", source.describe()))?;
    let packed =
        provdiff_npm::pack(source, rules, workspace).with_context(|| format!("cannot pack {}", source.describe()))?;
    let tree = provdiff_npm::to_tree(&packed.files);
    Ok(Side {
        describe: SideInfo {
            kind,
            input: input.to_string(),
            commit,
            npm_rules: Some(rules),
            files: tree.files().count(),
        },
        build_step: manifest.build_step(),
        listing: Some(crate::check::source_listing(source)),
        publish,
        findings: packed.list.findings,
        tree,
        tgz: Tgz::Memory(packed.tgz),
        tar: packed.tar.into(),
    })
}

/// A side's `.tgz`: on disk (not held in memory), or as packed.
enum Tgz {
    File(std::path::PathBuf),
    Memory(Vec<u8>),
}

impl Tgz {
    fn reader(&self) -> Result<(Box<dyn std::io::Read + '_>, u64)> {
        Ok(match self {
            Tgz::File(path) => {
                let file = fs_err::File::open(path)?;
                let size = file.metadata()?.len();
                (Box::new(std::io::BufReader::with_capacity(1 << 20, file)), size)
            }
            Tgz::Memory(bytes) => (Box::new(&bytes[..]), bytes.len() as u64),
        })
    }

    /// Whether the two hold the same bytes, compared a chunk at a time.
    fn same_bytes(&self, other: &Tgz) -> Result<bool> {
        let ((mut a, a_size), (mut b, b_size)) = (self.reader()?, other.reader()?);
        if a_size != b_size {
            return Ok(false);
        }
        let (mut chunk_a, mut chunk_b) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
        loop {
            let read = fill(&mut a, &mut chunk_a)?;
            if fill(&mut b, &mut chunk_b[..read])? != read || chunk_a[..read] != chunk_b[..read] {
                return Ok(false);
            }
            if read == 0 {
                return Ok(true);
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
fn fill(input: &mut dyn std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..])? {
            0 => break,
            read => filled += read,
        }
    }
    Ok(filled)
}

/// Streams a `.tgz` from disk: its compressed bytes are never held in memory.
fn read_tarball_file(path: &Path) -> Result<provdiff_npm::UnpackedTarball> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = fs_err::File::open(path)?;
    let size = file.metadata()?.len();
    let mut tail = [0u8; 4];
    let hint = if size >= 4 {
        file.seek(SeekFrom::End(-4))?;
        file.read_exact(&mut tail)?;
        file.seek(SeekFrom::Start(0))?;
        provdiff_npm::size_hint(&tail)
    } else {
        0
    };
    provdiff_npm::unpack_tarball(file, hint, size).with_context(|| format!("cannot read tarball {}", path.display()))
}

/// `REPO@REV[:DIR]`: the last `@` separates the repository from the revision (a repository path
/// may hold `@`, a revision may not), and the first `:` after it the package's directory.
fn parse_revision(input: &str) -> Option<(&str, &str, &str)> {
    let at = input.rfind('@').filter(|&at| at > 0)?;
    let (repo, rest) = (&input[..at], &input[at + 1..]);
    let (rev, dir) = rest.split_once(':').unwrap_or((rest, ""));
    (!rev.is_empty()).then_some((repo, rev, dir))
}

#[cfg(test)]
mod tests {
    use super::parse_revision;

    #[test]
    fn revisions_split_at_the_last_at_sign() {
        assert_eq!(parse_revision("repo@HEAD"), Some(("repo", "HEAD", "")));
        assert_eq!(parse_revision("../my@repo@v1.2.3:packages/a"), Some(("../my@repo", "v1.2.3", "packages/a")));
        assert_eq!(parse_revision("repo.git@0123abc:"), Some(("repo.git", "0123abc", "")));
        assert_eq!(parse_revision("repo@"), None);
        assert_eq!(parse_revision("@HEAD"), None);
        assert_eq!(parse_revision("plain"), None);
    }
}
