//! npm's file selection ("packlist"), ported from the behaviour of `npm-packlist` on top of
//! `ignore-walk`, evaluated over any [`SourceTree`] (a directory or a git commit).
//!
//! The walk is per directory, as npm's: each directory's walker evaluates its rule sets in a fixed
//! order (npm's default rules, `package.json`'s `files`, `.npmignore`, `.gitignore`, the strict
//! rules) after asking its parent; the last matching rule wins and a negated rule includes.
//! This is deliberately not a gitignore engine: npm's walk differs from gitignore in ways that
//! decide what gets published (a rule matching a directory only stops descent; explicit `files`
//! entries more than one level deep can be dropped by nested ignore files; and so on).
//!
//! The behaviour changed many times within npm 9, 10 and 11; [`NpmRules`] names each era by the
//! npm releases that share it, from the `npm-packlist`, `ignore-walk` and `minimatch` versions
//! they bundle.

use std::collections::{BTreeMap, HashMap};

use provdiff_core::{Code, Finding, SourceKind, SourceTree};

use crate::glob::{GlobError, GlobOptions, Rule, split_path};
use crate::manifest::{Manifest, ManifestError};
use crate::workspace::Workspace;

/// An era of npm's file selection: the npm releases that pack identically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum NpmRules {
    /// npm 9.0.0 (npm-packlist 7.0.1): `files` entries are used as written.
    #[serde(rename = "npm-9.0.0")]
    Npm9_0_0,
    /// npm 9.0.1–9.1.3 (npm-packlist 7.0.2): a leading `/` or `./` is stripped.
    #[serde(rename = "npm-9.0.1")]
    Npm9_0_1,
    /// npm 9.2.0–9.6.2 (npm-packlist 7.0.4): `dir/*` means the whole directory.
    #[serde(rename = "npm-9.2.0")]
    Npm9_2_0,
    /// npm 9.6.3–9.9.2: minimatch 7+ understands POSIX classes (`[[:digit:]]`).
    #[serde(rename = "npm-9.6.3")]
    Npm9_6_3,
    /// npm 9.9.3–9.9.4: ignore-walk 6.0.4 (an ancestor's exclusion is final; `dir/` at any depth).
    #[serde(rename = "npm-9.9.3")]
    Npm9_9_3,
    /// npm 10.0.0–10.2.4 (npm-packlist 8.0.0, ignore-walk 6.0.3).
    #[serde(rename = "npm-10.0.0")]
    Npm10_0_0,
    /// npm 10.2.5 (npm-packlist 8.0.1, ignore-walk 6.0.4): `.npmrc` is never packed; a leading `/`
    /// is kept.
    #[serde(rename = "npm-10.2.5")]
    Npm10_2_5,
    /// npm 10.3.0–10.8.0 and 10.9.0–10.9.5 (npm-packlist 8.0.2 and 9): README, LICENSE, … are
    /// forced in at the root only.
    #[serde(rename = "npm-10.3.0")]
    Npm10_3_0,
    /// npm 10.8.1–10.8.3: pacote's `package.json` normaliser (@npmcli/package-json 5.1.1/5.2.0)
    /// drops every `bin` whose target starts with `.` (it takes it for a path escaping the
    /// package), so such a file is packed but not made executable.
    #[serde(rename = "npm-10.8.1")]
    Npm10_8_1,
    /// npm 10.9.6–10.9.x: node-tar 7, which writes a PAX `size` record for empty files too.
    #[serde(rename = "npm-10.9.6")]
    Npm10_9_6,
    /// npm 11.0.0–11.6.0 (npm-packlist 10, node-tar 6): `bun.lockb` is excluded too.
    #[serde(rename = "npm-11.0.0")]
    Npm11_0_0,
    /// npm 11.6.1 and later (node-tar 7, minimatch 10).
    #[serde(rename = "npm-11.6.1")]
    Npm11_6_1,
}

/// How an era rewrites an entry of `files` before turning it into a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilesNormalization {
    AsWritten,
    StripLeadingSlashOrDotSlash,
    /// `/x` → `x`, else `./x` → `x`, else `x/*` → `x`.
    StripAndWholeDirectory,
    /// `./x` → `/x`, and `x/*` → `x/`.
    AnchorAndTrailingSlash,
    /// `./x` → `/x`, and `x/*` → `x/**`.
    AnchorAndGlobstar,
}

impl NpmRules {
    pub const ALL: [NpmRules; 12] = [
        NpmRules::Npm9_0_0,
        NpmRules::Npm9_0_1,
        NpmRules::Npm9_2_0,
        NpmRules::Npm9_6_3,
        NpmRules::Npm9_9_3,
        NpmRules::Npm10_0_0,
        NpmRules::Npm10_2_5,
        NpmRules::Npm10_3_0,
        NpmRules::Npm10_8_1,
        NpmRules::Npm10_9_6,
        NpmRules::Npm11_0_0,
        NpmRules::Npm11_6_1,
    ];

    /// The newest era, used when nothing says otherwise.
    pub const LATEST: NpmRules = NpmRules::Npm11_6_1;

    /// The era of a given npm version (`9.4.2`), if provdiff knows it.
    pub fn for_npm_version(version: &str) -> Option<Self> {
        let mut parts = version.trim_start_matches('v').split(['.', '-', '+']).map(|part| part.parse::<u32>().ok());
        let major = parts.next().flatten()?;
        let minor = parts.next().flatten().unwrap_or(0);
        let patch = parts.next().flatten().unwrap_or(0);
        Some(match (major, minor, patch) {
            (9, 0, 0) => Self::Npm9_0_0,
            (9, 0..=1, _) => Self::Npm9_0_1,
            (9, 2..=5, _) | (9, 6, 0..=2) => Self::Npm9_2_0,
            (9, 6..=8, _) | (9, 9, 0..=2) => Self::Npm9_6_3,
            (9, _, _) => Self::Npm9_9_3,
            (10, 0..=1, _) | (10, 2, 0..=4) => Self::Npm10_0_0,
            (10, 2, _) => Self::Npm10_2_5,
            (10, 8, 1..) => Self::Npm10_8_1,
            (10, 9, 6..) => Self::Npm10_9_6,
            (10, 10.., _) => Self::Npm10_9_6,
            (10, _, _) => Self::Npm10_3_0,
            (11, 0..=5, _) | (11, 6, 0) => Self::Npm11_0_0,
            (11, _, _) => Self::Npm11_6_1,
            _ => return None,
        })
    }

    /// The npm releases of this era.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Npm9_0_0 => "npm 9.0.0",
            Self::Npm9_0_1 => "npm 9.0.1-9.1.3",
            Self::Npm9_2_0 => "npm 9.2.0-9.6.2",
            Self::Npm9_6_3 => "npm 9.6.3-9.9.2",
            Self::Npm9_9_3 => "npm 9.9.3-9.9.4",
            Self::Npm10_0_0 => "npm 10.0.0-10.2.4",
            Self::Npm10_2_5 => "npm 10.2.5",
            Self::Npm10_3_0 => "npm 10.3.0-10.8.0, 10.9.0-10.9.5",
            Self::Npm10_8_1 => "npm 10.8.1-10.8.3",
            Self::Npm10_9_6 => "npm 10.9.6-10.9.x",
            Self::Npm11_0_0 => "npm 11.0.0-11.6.0",
            Self::Npm11_6_1 => "npm 11.6.1+",
        }
    }

    fn files_normalization(self) -> FilesNormalization {
        match self {
            Self::Npm9_0_0 => FilesNormalization::AsWritten,
            Self::Npm9_0_1 => FilesNormalization::StripLeadingSlashOrDotSlash,
            Self::Npm9_2_0 | Self::Npm9_6_3 | Self::Npm9_9_3 | Self::Npm10_0_0 => {
                FilesNormalization::StripAndWholeDirectory
            }
            Self::Npm10_2_5 => FilesNormalization::AnchorAndTrailingSlash,
            Self::Npm10_3_0 | Self::Npm10_8_1 | Self::Npm10_9_6 | Self::Npm11_0_0 | Self::Npm11_6_1 => {
                FilesNormalization::AnchorAndGlobstar
            }
        }
    }

    /// npm-packlist before 8.0.2 forces README, LICENSE, … in at every level, not only the root.
    fn docs_at_every_level(self) -> bool {
        self <= Self::Npm10_2_5
    }

    /// npm-packlist 7 lists the forced docs among its strict defaults; 8.0.0 and 8.0.1 keep them
    /// in a separate (mutable) list after `/.git`.
    fn docs_in_strict_defaults(self) -> bool {
        self <= Self::Npm9_9_3
    }

    /// ignore-walk 6.0.4: an ancestor's exclusion is final unless the directory is `exact`, and
    /// a one-segment rule with a trailing slash (`dist/`) matches at any depth.
    fn ignore_walk_6_0_4(self) -> bool {
        matches!(self, Self::Npm9_9_3) || self >= Self::Npm10_2_5
    }

    /// @npmcli/package-json 5.1.1/5.2.0 refuse bin paths (and names) starting with `.`.
    fn drops_dot_bins(self) -> bool {
        self == Self::Npm10_8_1
    }

    fn strict_npmrc(self) -> bool {
        self >= Self::Npm10_2_5
    }

    fn strict_bun_lockb(self) -> bool {
        self >= Self::Npm11_0_0
    }

    /// How the era's node-tar writes headers.
    pub fn tar_format(self) -> crate::pack::TarFormat {
        crate::pack::TarFormat { pax_size_of_empty_files: matches!(self, Self::Npm10_9_6 | Self::Npm11_6_1) }
    }

    fn glob_options(self) -> GlobOptions {
        GlobOptions { posix_classes: self >= Self::Npm9_6_3, match_base: true }
    }
}

impl std::fmt::Display for NpmRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PacklistError {
    #[error("{tree} has no package.json at its root")]
    NoManifest { tree: String },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("in {path}")]
    Rule {
        path: String,
        #[source]
        source: GlobError,
    },
    #[error("{path} is not valid UTF-8 text")]
    NotText { path: String },
    #[error(transparent)]
    Read(#[from] provdiff_core::SourceError),
}

/// A file npm would pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub path: String,
    /// The file's permission bits in the source.
    pub source_mode: u32,
    /// npm adds execute bits to it (see [`PackList`]).
    pub is_bin: bool,
}

/// The files npm would pack, in npm's order, and what provdiff noticed choosing them.
#[derive(Debug, Clone)]
pub struct PackList {
    pub rules: NpmRules,
    pub files: Vec<Selected>,
    pub findings: Vec<Finding>,
}

const DEFAULTS: &[&str] = &[
    ".npmignore",
    ".gitignore",
    "**/.git",
    "**/.svn",
    "**/.hg",
    "**/CVS",
    "**/.git/**",
    "**/.svn/**",
    "**/.hg/**",
    "**/CVS/**",
    "/.lock-wscript",
    "/.wafpickle-*",
    "/build/config.gypi",
    "npm-debug.log",
    "**/.npmrc",
    ".*.swp",
    ".DS_Store",
    "**/.DS_Store/**",
    "._*",
    "**/._*/**",
    "*.orig",
    "/archived-packages/**",
];

const FORCED_DOCS: &[&str] =
    &["!/readme{,.*[^~$]}", "!/copying{,.*[^~$]}", "!/license{,.*[^~$]}", "!/licence{,.*[^~$]}"];

/// A rule set, in npm's evaluation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RuleSet {
    Defaults,
    PackageJson,
    NpmIgnore,
    GitIgnore,
    Strict,
}

impl RuleSet {
    fn file_name(self) -> Option<&'static str> {
        match self {
            Self::PackageJson => Some("package.json"),
            Self::NpmIgnore => Some(".npmignore"),
            Self::GitIgnore => Some(".gitignore"),
            Self::Defaults | Self::Strict => None,
        }
    }
}

const ALL_SETS: [RuleSet; 5] =
    [RuleSet::Defaults, RuleSet::PackageJson, RuleSet::NpmIgnore, RuleSet::GitIgnore, RuleSet::Strict];
const SUBDIR_SETS: [RuleSet; 4] = [RuleSet::Defaults, RuleSet::NpmIgnore, RuleSet::GitIgnore, RuleSet::Strict];
const BUNDLED_SETS: [RuleSet; 2] = [RuleSet::PackageJson, RuleSet::Strict];

/// What a walked package is to the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PackageKind {
    Project,
    /// A real directory under `node_modules`: only its `files` and the strict rules apply at its
    /// root (its subdirectories use the ordinary rule sets). Linked dependencies, which npm walks
    /// with every rule set, are not followed (see `gather_bundles`).
    BundledDependency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Child {
    File { mode: u32 },
    Dir,
    Symlink,
}

/// The source tree as directories of named children.
struct Index {
    dirs: HashMap<String, BTreeMap<String, Child>>,
}

impl Index {
    fn build(tree: &dyn SourceTree, findings: &mut Vec<Finding>) -> Self {
        let mut dirs: HashMap<String, BTreeMap<String, Child>> = HashMap::new();
        dirs.insert(String::new(), BTreeMap::new());
        for entry in tree.entries() {
            let child = match &entry.kind {
                SourceKind::File { mode } => Child::File { mode: *mode },
                SourceKind::Symlink { .. } => Child::Symlink,
                SourceKind::Submodule { commit } => {
                    findings.push(Finding::at(
                        Code::SubmoduleNotPacked,
                        entry.path.clone(),
                        format!(
                            "a git submodule (commit {commit}); its files are not in this repository, so it packs as the empty directory a plain checkout leaves"
                        ),
                    ));
                    Child::Dir
                }
            };
            let components: Vec<&str> = entry.path.split('/').collect();
            let mut parent = String::new();
            for (depth, component) in components.iter().enumerate() {
                let is_last = depth + 1 == components.len();
                let kind = if is_last { child } else { Child::Dir };
                dirs.entry(parent.clone()).or_default().insert(component.to_string(), kind);
                parent = join(&parent, component);
                if kind == Child::Dir {
                    dirs.entry(parent.clone()).or_default();
                }
            }
        }
        Self { dirs }
    }

    fn child(&self, path: &str) -> Option<Child> {
        if path.is_empty() {
            return Some(Child::Dir);
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        self.dirs.get(dir).and_then(|children| children.get(name)).copied()
    }
}

/// The spellings of an entry ignore-walk matches rules against (`/e`, `e`, `/e/`, `e/`, and the
/// same for its base name), split once.
struct EntryForms<'a> {
    slashed: Vec<&'a str>,
    plain: Vec<&'a str>,
    slashed_dir: Vec<&'a str>,
    plain_dir: Vec<&'a str>,
    base: Option<Box<EntryForms<'a>>>,
}

impl<'a> EntryForms<'a> {
    fn new(entry: &'a str, basename: Option<&'a str>) -> Self {
        let plain = split_path(entry);
        let with_leading = |parts: &[&'a str]| std::iter::once("").chain(parts.iter().copied()).collect::<Vec<_>>();
        let with_trailing = |parts: &[&'a str]| parts.iter().copied().chain(std::iter::once("")).collect::<Vec<_>>();
        let slashed = with_leading(&plain);
        let slashed_dir = with_trailing(&slashed);
        let plain_dir = with_trailing(&plain);
        Self {
            slashed,
            plain,
            slashed_dir,
            plain_dir,
            base: basename.map(|base| Box::new(EntryForms::new(base, None))),
        }
    }
}

/// One directory's walker (ignore-walk's `Walker`).
struct Walker<'a> {
    /// The directory, relative to the package root (`""` for the root).
    path: String,
    basename: String,
    sets: &'static [RuleSet],
    rules: HashMap<RuleSet, Vec<Rule>>,
    parent: Option<&'a Walker<'a>>,
    exact: bool,
    /// Files `files` names directly in this directory (root: relative to the root).
    required: Vec<String>,
    ignore_walk_6_0_4: bool,
    /// The package has `workspaces` (see [`Packer::walk`]).
    workspaces: bool,
}

impl Walker<'_> {
    /// ignore-walk's `filterEntry`: is `entry` (relative to this directory) included?
    fn filter_entry(&self, entry: &str, partial: bool, entry_basename: Option<&str>) -> bool {
        let mut included = true;
        if let Some(parent) = self.parent {
            let parent_entry = format!("{}/{entry}", self.basename);
            included = parent.filter_entry(&parent_entry, partial, Some(entry_basename.unwrap_or(entry)));
            if !included && !self.exact && self.ignore_walk_6_0_4 {
                return false;
            }
        }
        let forms = EntryForms::new(entry, entry_basename);
        for set in self.sets {
            let Some(rules) = self.rules.get(set) else { continue };
            for rule in rules {
                // A rule can only change the state it does not already hold.
                if rule.negate == included {
                    continue;
                }
                let relative_rule = self.ignore_walk_6_0_4
                    && entry_basename.is_some()
                    && rule.glob_parts.iter().any(|part| {
                        let trailing_slash = part.last().is_some_and(String::is_empty);
                        part.len() <= if trailing_slash { 2 } else { 1 }
                    });
                let hit = rule.matches_split(&forms.slashed, false)
                    || rule.matches_split(&forms.plain, false)
                    || partial
                        && (rule.matches_split(&forms.slashed_dir, false)
                            || rule.matches_split(&forms.plain_dir, false)
                            || rule.negate
                                && (rule.matches_split(&forms.slashed, true)
                                    || rule.matches_split(&forms.plain, true))
                            || relative_rule
                                && forms.base.as_ref().is_some_and(|base| {
                                    rule.matches_split(&base.slashed_dir, false)
                                        || rule.matches_split(&base.plain_dir, false)
                                        || rule.negate
                                            && (rule.matches_split(&base.slashed, true)
                                                || rule.matches_split(&base.plain, true))
                                }));
                if hit {
                    included = rule.negate;
                }
            }
        }
        included
    }
}

struct Packer<'t> {
    tree: &'t dyn SourceTree,
    index: Index,
    era: NpmRules,
    glob: GlobOptions,
    defaults: Vec<Rule>,
    /// The project root's defaults: npm's, plus a workspace's out-of-tree ignore files.
    project_defaults: Vec<Rule>,
    /// Packages already walked (bundled dependencies can depend on each other).
    seen: std::collections::HashSet<String>,
    /// npm-packlist 8.0.0/8.0.1 drop a forced doc everywhere once `files` excludes it.
    forced_docs: Vec<String>,
    result: Vec<String>,
    findings: Vec<Finding>,
}

/// Computes what `npm pack` of era `rules` would include from the package at the root of `tree`,
/// with the out-of-tree ignore rules of its `workspace`, if it is one.
pub fn packlist(
    tree: &dyn SourceTree,
    rules: NpmRules,
    workspace: Option<&Workspace>,
) -> Result<PackList, PacklistError> {
    let mut findings = Vec::new();
    let index = Index::build(tree, &mut findings);
    if !matches!(index.child("package.json"), Some(Child::File { .. })) {
        return Err(PacklistError::NoManifest { tree: tree.describe() });
    }
    let manifest = Manifest::parse(&tree.read("package.json")?, &format!("{}/package.json", tree.describe()))?;
    for path in tree.unreadable_paths() {
        findings.push(Finding::at(
            Code::UnreadablePath,
            path.clone(),
            "the name is not valid UTF-8; npm pack fails on such names, provdiff leaves the file out",
        ));
    }
    let glob = rules.glob_options();
    let defaults = parse_static(DEFAULTS, glob)?;
    let mut project_defaults = defaults.clone();
    for (path, text) in workspace.map(|workspace| workspace.ignore_files.as_slice()).unwrap_or_default() {
        project_defaults.extend(parse_rules(text, path, glob)?);
    }
    let mut packer = Packer {
        tree,
        index,
        era: rules,
        glob,
        defaults,
        project_defaults,
        seen: Default::default(),
        forced_docs: FORCED_DOCS.iter().map(|rule| rule.to_string()).collect(),
        result: Vec::new(),
        findings,
    };
    packer.walk_package("", &manifest, PackageKind::Project)?;
    packer.gather_bundles("", &manifest, true)?;

    let mut bins = packer.bin_targets(&manifest, "");
    if rules.drops_dot_bins() {
        // pacote's manifest lost them, so they are not made executable (npm-packlist, reading
        // Arborist's copy of package.json, still packs them).
        bins.retain(|target| !target.starts_with('.'));
    }
    let mut files: Vec<Selected> = std::mem::take(&mut packer.result)
        .into_iter()
        .map(|path| {
            let source_mode = match packer.index.child(&path) {
                Some(Child::File { mode }) => mode,
                _ => 0o644,
            };
            // pacote's `isPackageBin` drops the first path component before comparing (it was
            // written for `package/…` paths but is given package-relative ones), so `bin/x.js` is
            // compared as `x.js`: in practice only bins at the root get their execute bits.
            let compared = path.split_once('/').map_or(path.as_str(), |(_, rest)| rest);
            let is_bin = bins.iter().any(|bin| bin == compared);
            Selected { path, source_mode, is_bin }
        })
        .collect();
    // npm collects paths in a set: a file reached twice (by the project's walk and a bundle's)
    // is packed once.
    files.sort_by_cached_key(|file| order_key(&file.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok(PackList { rules, files, findings: packer.findings })
}

fn parse_rules(text: &str, origin: &str, glob: GlobOptions) -> Result<Vec<Rule>, PacklistError> {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line).trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| Rule::new(line, glob).map_err(|source| PacklistError::Rule { path: origin.to_string(), source }))
        .collect()
}

fn parse_static(rules: &[impl AsRef<str>], glob: GlobOptions) -> Result<Vec<Rule>, PacklistError> {
    rules
        .iter()
        .map(|rule| {
            Rule::new(rule.as_ref(), glob)
                .map_err(|source| PacklistError::Rule { path: "npm's built-in rules".into(), source })
        })
        .collect()
}

impl Packer<'_> {
    /// The `bin` targets npm sees after normalising `package.json`: `./x` → `x`, a string bin
    /// named after the package, and `directories.bin` expanded when there is no `bin`.
    fn bin_targets(&self, manifest: &Manifest, package_dir: &str) -> Vec<String> {
        let mut targets = manifest.bin_targets();
        if targets.is_empty()
            && manifest.raw.get("bin").is_none()
            && let Some(dir) = manifest.raw.pointer("/directories/bin").and_then(serde_json::Value::as_str)
        {
            let dir = join(package_dir, &crate::manifest::normalize_relative(dir));
            let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
            targets = self
                .tree
                .entries()
                .iter()
                // npm expands `directories.bin` with a glob that skips dotfiles.
                .filter(|entry| matches!(entry.kind, SourceKind::File { .. }) && entry.path.starts_with(&prefix))
                .filter(|entry| !entry.path[prefix.len()..].split('/').any(|part| part.starts_with('.')))
                .map(|entry| entry.path[package_dir.len()..].trim_start_matches('/').to_string())
                .collect();
        }
        targets
    }

    /// Walks one package whose root is `dir` (`""` for the project) with its own rules.
    fn walk_package(&mut self, dir: &str, manifest: &Manifest, kind: PackageKind) -> Result<(), PacklistError> {
        let sets: &'static [RuleSet] = match kind {
            PackageKind::Project => &ALL_SETS,
            // A bundled dependency's own ignore files and npm's defaults do not apply at its root.
            PackageKind::BundledDependency => &BUNDLED_SETS,
        };
        let mut rules = HashMap::new();
        if sets.contains(&RuleSet::Defaults) {
            let defaults = if kind == PackageKind::Project { &self.project_defaults } else { &self.defaults };
            rules.insert(RuleSet::Defaults, defaults.clone());
        }
        let mut required = Vec::new();
        if matches!(self.index.child(&join(dir, "package.json")), Some(Child::File { .. })) {
            self.package_rules(manifest, dir, &mut rules, &mut required)?;
        }
        self.read_ignore_files(dir, sets, false, &mut rules)?;
        let root = Walker {
            path: dir.to_string(),
            basename: dir.rsplit('/').next().unwrap_or_default().to_string(),
            sets,
            rules,
            parent: None,
            exact: false,
            required,
            ignore_walk_6_0_4: self.era.ignore_walk_6_0_4(),
            workspaces: self.has_workspaces(dir, manifest),
        };
        self.walk(&root)
    }

    /// Whether npm's tree for this package has workspaces: its `workspaces` globs match at least
    /// one directory holding a `package.json` (Arborist sets none otherwise).
    fn has_workspaces(&self, dir: &str, manifest: &Manifest) -> bool {
        let patterns = crate::workspace::workspace_patterns(manifest);
        if patterns.is_empty() {
            return false;
        }
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        self.index.dirs.iter().any(|(path, children)| {
            path.strip_prefix(&prefix).or(if prefix.is_empty() { Some(path.as_str()) } else { None }).is_some_and(
                |relative| {
                    !relative.is_empty()
                        && children.get("package.json").is_some_and(|child| matches!(child, Child::File { .. }))
                        && crate::workspace::is_workspace(&patterns, relative)
                },
            )
        })
    }

    /// npm-packlist's `gatherBundles`: the project's `bundleDependencies`, and for each bundled
    /// package its own `dependencies` and `optionalDependencies`, as resolved in `node_modules`.
    fn gather_bundles(&mut self, dir: &str, manifest: &Manifest, project: bool) -> Result<(), PacklistError> {
        if !self.seen.insert(dir.to_string()) {
            return Ok(());
        }
        let declared = |field: &str| -> Vec<String> {
            manifest
                .raw
                .get(field)
                .and_then(serde_json::Value::as_object)
                .map(|deps| deps.keys().cloned().collect())
                .unwrap_or_default()
        };
        let names: Vec<String> = if project {
            manifest.bundled_dependencies()
        } else {
            declared("dependencies").into_iter().chain(declared("optionalDependencies")).collect()
        };
        // Only dependencies with an edge count, and never dev or peer ones.
        let edges: Vec<String> = declared("dependencies").into_iter().chain(declared("optionalDependencies")).collect();
        for name in names {
            if !edges.contains(&name) {
                continue;
            }
            let Some(location) = self.resolve(dir, &name) else { continue };
            match self.index.child(&location) {
                Some(Child::Dir) => {}
                Some(Child::Symlink) => {
                    self.findings.push(Finding::at(
                        Code::SymlinkSkipped,
                        location,
                        "a bundled dependency that is a symbolic link; provdiff does not follow links, so its files are not packed",
                    ));
                    continue;
                }
                _ => continue,
            }
            let manifest_path = join(&location, "package.json");
            let dependency = match self.index.child(&manifest_path) {
                Some(Child::File { .. }) => Manifest::parse(&self.tree.read(&manifest_path)?, &manifest_path)?,
                _ => continue,
            };
            if self.seen.contains(&location) {
                continue;
            }
            self.walk_package(&location, &dependency, PackageKind::BundledDependency)?;
            self.gather_bundles(&location, &dependency, false)?;
        }
        Ok(())
    }

    /// Node's module resolution from the package at `dir`: `node_modules/NAME` in the package's
    /// directory, then in each ancestor that is not itself a `node_modules` directory.
    fn resolve(&self, dir: &str, name: &str) -> Option<String> {
        let components: Vec<&str> = if dir.is_empty() { Vec::new() } else { dir.split('/').collect() };
        (0..=components.len())
            .rev()
            .map(|depth| components[..depth].join("/"))
            .filter(|ancestor| !ancestor.ends_with("node_modules"))
            .map(|ancestor| join(&join(&ancestor, "node_modules"), name))
            .find(|candidate| self.index.child(candidate).is_some())
    }

    /// Reads the ignore files `sets` names that exist in `dir`, then applies npm's precedence:
    /// `package.json` rules silence `.npmignore` and `.gitignore`; `.npmignore` silences
    /// `.gitignore`.
    fn read_ignore_files(
        &mut self,
        dir: &str,
        sets: &[RuleSet],
        package_json_as_ignore_file: bool,
        rules: &mut HashMap<RuleSet, Vec<Rule>>,
    ) -> Result<(), PacklistError> {
        for set in sets {
            let Some(name) = set.file_name() else { continue };
            if *set == RuleSet::PackageJson && !package_json_as_ignore_file {
                continue;
            }
            let path = join(dir, name);
            match self.index.child(&path) {
                Some(Child::File { .. }) => {
                    let bytes = self.tree.read(&path)?;
                    let text = String::from_utf8(bytes).map_err(|_| PacklistError::NotText { path: path.clone() })?;
                    rules.insert(*set, parse_rules(&text, &path, self.glob)?);
                }
                Some(Child::Symlink) => self.findings.push(Finding::at(
                    Code::UnreadablePath,
                    path,
                    "an ignore file that is a symlink; provdiff does not follow links, so its rules were not applied",
                )),
                Some(Child::Dir) | None => {}
            }
        }
        if rules.contains_key(&RuleSet::PackageJson) {
            rules.remove(&RuleSet::NpmIgnore);
            rules.remove(&RuleSet::GitIgnore);
        } else if rules.contains_key(&RuleSet::NpmIgnore) {
            rules.remove(&RuleSet::GitIgnore);
        }
        Ok(())
    }

    /// npm-packlist's `processPackage`: the `files` rules and the strict rules of the root.
    fn package_rules(
        &mut self,
        manifest: &Manifest,
        dir: &str,
        rules: &mut HashMap<RuleSet, Vec<Rule>>,
        required: &mut Vec<String>,
    ) -> Result<(), PacklistError> {
        let files: Option<Vec<String>> = manifest.files().map(|files| files.into_iter().map(str::to_string).collect());
        let mut ignores: Vec<String> = Vec::new();
        let mut required_rules: Vec<String> = Vec::new();
        for file in files.iter().flatten() {
            let file = self.normalize_files_entry(file);
            if matches!(self.era, NpmRules::Npm10_0_0 | NpmRules::Npm10_2_5) {
                exclude_non_root(&file, &mut self.forced_docs);
            }
            let inverse = format!("!{file}");
            let target = join(dir, &crate::manifest::normalize_relative(file.trim_start_matches('!')));
            match self.index.child(&target) {
                Some(Child::File { .. }) => {
                    required_rules.insert(0, inverse);
                    required.push(file.strip_prefix('/').unwrap_or(&file).to_string());
                }
                Some(Child::Dir) => {
                    ignores.push(inverse.clone());
                    ignores.push(format!("{inverse}/**"));
                }
                // Exists, but neither a file nor a directory: npm wants nothing of it.
                Some(Child::Symlink) => {}
                // Not there (a glob, or a missing path): a pattern.
                None => ignores.push(inverse),
            }
        }
        let mut strict = required_rules;
        if self.era.docs_in_strict_defaults() {
            strict.extend(FORCED_DOCS.iter().map(|rule| rule.to_string()));
            strict.push("/.git".into());
        } else if self.era.docs_at_every_level() {
            strict.push("/.git".into());
            strict.extend(self.forced_docs.iter().cloned());
        } else {
            strict.push("/.git".into());
        }
        strict.push("!/package.json".into());
        if !self.era.docs_at_every_level() {
            strict.extend(FORCED_DOCS.iter().map(|rule| rule.to_string()));
        }
        strict.extend(["/.git", "/node_modules"].map(String::from));
        if self.era.strict_npmrc() {
            strict.push(".npmrc".into());
        }
        strict.extend(["/package-lock.json", "/yarn.lock", "/pnpm-lock.yaml"].map(String::from));
        if self.era.strict_bun_lockb() {
            strict.push("/bun.lockb".into());
        }
        // `browser` and `main` are used as written (so `./main.js` never matches); bins are
        // normalised by npm's manifest loading first.
        if let Some(browser) = manifest.browser() {
            strict.push(format!("!/{browser}"));
        }
        if let Some(main) = manifest.main() {
            strict.push(format!("!/{main}"));
        }
        strict.extend(self.bin_targets(manifest, dir).into_iter().map(|bin| format!("!/{bin}")));
        if files.is_some() {
            let mut package_rules = vec!["*".to_string()];
            package_rules.extend(ignores);
            rules.insert(RuleSet::PackageJson, parse_static(&package_rules, self.glob)?);
        }
        rules.insert(RuleSet::Strict, parse_static(&strict, self.glob)?);
        Ok(())
    }

    /// How each era rewrites an entry of `files` before using it.
    fn normalize_files_entry(&self, file: &str) -> String {
        match self.era.files_normalization() {
            FilesNormalization::AsWritten => file.to_string(),
            FilesNormalization::StripLeadingSlashOrDotSlash => {
                file.strip_prefix('/').or_else(|| file.strip_prefix("./")).unwrap_or(file).to_string()
            }
            FilesNormalization::StripAndWholeDirectory => file
                .strip_prefix('/')
                .or_else(|| file.strip_prefix("./"))
                .or_else(|| file.strip_suffix("/*"))
                .unwrap_or(file)
                .to_string(),
            FilesNormalization::AnchorAndTrailingSlash | FilesNormalization::AnchorAndGlobstar => {
                let mut file = if file.starts_with("./") { file[1..].to_string() } else { file.to_string() };
                if file.ends_with("/*") {
                    if self.era.files_normalization() == FilesNormalization::AnchorAndGlobstar {
                        file.push('*');
                    } else {
                        file.pop();
                    }
                }
                file
            }
        }
    }

    /// The strict rules of a directory below the root.
    fn subdirectory_strict(&self, required: &[String]) -> Result<Vec<Rule>, PacklistError> {
        let mut strict: Vec<String> = Vec::new();
        if self.era.docs_in_strict_defaults() {
            strict.extend(FORCED_DOCS.iter().map(|rule| rule.to_string()));
            strict.push("/.git".into());
        } else if self.era.docs_at_every_level() {
            strict.push("/.git".into());
            strict.extend(self.forced_docs.iter().cloned());
        } else {
            strict.push("/.git".into());
        }
        strict.extend(required.iter().map(|file| format!("!{file}")));
        parse_static(&strict, self.glob)
    }

    fn walk(&mut self, walker: &Walker<'_>) -> Result<(), PacklistError> {
        let children: Vec<(String, Child)> = match self.index.dirs.get(&walker.path) {
            Some(children) => children.iter().map(|(name, child)| (name.clone(), *child)).collect(),
            None => return Ok(()),
        };
        for (name, child) in children {
            let pass_file = walker.filter_entry(&name, false, None);
            let pass_dir = walker.filter_entry(&name, true, None);
            if !pass_file && !pass_dir {
                continue;
            }
            // npm-packlist refuses names Windows cannot hold (`*`).
            if name.contains('*') {
                continue;
            }
            let path = join(&walker.path, &name);
            match child {
                Child::File { .. } if pass_file => self.result.push(path),
                Child::File { .. } => {}
                // npm does not follow links and packs nothing that is not a file or directory.
                Child::Symlink => self.findings.push(Finding::at(
                    Code::SymlinkSkipped,
                    path,
                    "a symbolic link; npm pack skips links, and so does provdiff",
                )),
                Child::Dir if pass_dir => {
                    let exact = pass_file || walker.filter_entry(&format!("{name}/"), false, None);
                    // A file `files` names is handed down to its own directory only: `lib/a.js`
                    // becomes `a.js` in `lib`, and `lib/x/a.js` reaches no walker.
                    let required: Vec<String> = walker
                        .required
                        .iter()
                        .filter_map(|file| file.strip_prefix(&format!("{name}/")))
                        .filter(|rest| !rest.contains('/'))
                        .map(str::to_string)
                        .collect();
                    // A package with `workspaces` gives every subdirectory npm's full rule-set list,
                    // `package.json` included (read as an ignore file): an npm quirk, reproduced.
                    let sets: &'static [RuleSet] = if walker.workspaces { &ALL_SETS } else { &SUBDIR_SETS };
                    let mut rules = HashMap::new();
                    rules.insert(RuleSet::Defaults, self.defaults.clone());
                    rules.insert(RuleSet::Strict, self.subdirectory_strict(&required)?);
                    self.read_ignore_files(&path, sets, true, &mut rules)?;
                    let child_walker = Walker {
                        path,
                        basename: name,
                        sets,
                        rules,
                        parent: Some(walker),
                        exact,
                        required,
                        ignore_walk_6_0_4: self.era.ignore_walk_6_0_4(),
                        workspaces: walker.workspaces,
                    };
                    self.walk(&child_walker)?;
                }
                Child::Dir => {}
            }
        }
        Ok(())
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// npm-packlist 8.0.0/8.0.1's `excludeNonRoot`: a `files` entry excluding one of the forced docs
/// (`!README.md`) stops forcing that doc at every level.
fn exclude_non_root(file: &str, forced: &mut Vec<String>) {
    let lower = file.to_ascii_lowercase();
    if !lower.starts_with('!') {
        return;
    }
    let family = if lower.contains("readme") {
        "readme"
    } else if lower.contains("copying") {
        "copying"
    } else if lower.contains("license") || lower.contains("licence") {
        "licen"
    } else {
        return;
    };
    if let Some(index) = forced.iter().position(|rule| rule.contains(family)) {
        forced.remove(index);
    }
}

/// npm-packlist's order: by extension, then base name (both lower-cased), then full path, each
/// compared with `localeCompare(…, 'en')`. A root path starting with `@` takes a `./` in front for
/// the last comparison, as ignore-walk adds one before sorting.
pub fn npm_order(a: &str, b: &str) -> std::cmp::Ordering {
    order_key(a).cmp(&order_key(b))
}

/// The key [`npm_order`] compares, computed once per path when sorting many.
fn order_key(path: &str) -> (crate::collate::Key, crate::collate::Key, crate::collate::Key) {
    let (ext, base) = ext_and_base(path);
    let full = if path.starts_with('@') { format!("./{path}") } else { path.to_string() };
    (
        crate::collate::Key::new(&ext.to_lowercase()),
        crate::collate::Key::new(&base.to_lowercase()),
        crate::collate::Key::new(&full),
    )
}

/// Node's `path.extname` and `path.basename`.
fn ext_and_base(path: &str) -> (&str, &str) {
    let base = path.rsplit('/').next().unwrap_or(path);
    let ext = match base.rfind('.') {
        Some(0) | None => "",
        Some(index) => &base[index..],
    };
    (ext, base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use provdiff_core::{SourceEntry, SourceError};

    /// An in-memory source tree.
    struct Mem(Vec<(String, Vec<u8>)>, Vec<SourceEntry>);

    impl Mem {
        fn new(files: &[(&str, &str)]) -> Self {
            let mut files: Vec<(String, Vec<u8>)> =
                files.iter().map(|(path, content)| (path.to_string(), content.as_bytes().to_vec())).collect();
            files.sort();
            let entries = files
                .iter()
                .map(|(path, _)| SourceEntry { path: path.clone(), kind: SourceKind::File { mode: 0o644 } })
                .collect();
            Self(files, entries)
        }
    }

    impl SourceTree for Mem {
        fn describe(&self) -> String {
            "memory".into()
        }
        fn entries(&self) -> &[SourceEntry] {
            &self.1
        }
        fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
            self.0.iter().find(|(p, _)| p == path).map(|(_, c)| c.clone()).ok_or_else(|| SourceError {
                tree: "memory".into(),
                path: path.into(),
                source: "missing".into(),
            })
        }
    }

    /// Checks the selected files (sorted by path) for one era.
    fn check(era: NpmRules, files: &[(&str, &str)], expected: &[&str]) {
        let list = packlist(&Mem::new(files), era, None).unwrap();
        let mut paths: Vec<&str> = list.files.iter().map(|f| f.path.as_str()).collect();
        paths.sort();
        assert_eq!(paths, expected, "{era:?}");
    }

    const PKG_FILES_LIB: &str = r#"{"name":"x","files":["lib"]}"#;

    #[test]
    fn no_files_field_packs_everything_but_the_defaults() {
        for era in NpmRules::ALL {
            check(
                era,
                &[
                    ("package.json", r#"{"name":"x"}"#),
                    ("index.js", ""),
                    (".npmrc", ""),
                    ("a.orig", ""),
                    ("package-lock.json", ""),
                    ("sub/package-lock.json", ""),
                    ("node_modules/y/index.js", ""),
                    ("sub/.DS_Store", ""),
                    (".github/workflows/x.yml", ""),
                ],
                &[".github/workflows/x.yml", "index.js", "package.json", "sub/package-lock.json"],
            );
        }
    }

    #[test]
    fn files_silences_root_ignore_files_but_not_nested_ones() {
        // Research case 10 and 11.
        for era in NpmRules::ALL {
            check(
                era,
                &[
                    ("package.json", PKG_FILES_LIB),
                    (".npmignore", "lib/b.js\n"),
                    (".gitignore", "lib/c.js\n"),
                    ("lib/b.js", ""),
                    ("lib/c.js", ""),
                    ("lib/d/.npmignore", "e.js\n"),
                    ("lib/d/e.js", ""),
                    ("lib/d/f.js", ""),
                    ("README.md", ""),
                    ("src/x.ts", ""),
                ],
                &["README.md", "lib/b.js", "lib/c.js", "lib/d/f.js", "package.json"],
            );
        }
    }

    #[test]
    fn a_leading_slash_in_files_varies_by_era() {
        // Research case 5: `/index.js` is a basename pattern where the slash is stripped.
        let tree = [
            ("package.json", r#"{"name":"x","files":["/index.js","lib/*.d.ts"]}"#),
            ("index.js", ""),
            ("lib/index.js", ""),
            ("lib/a.d.ts", ""),
        ];
        for era in NpmRules::ALL {
            let with_nested = matches!(
                era,
                NpmRules::Npm9_0_1 | NpmRules::Npm9_2_0 | NpmRules::Npm9_6_3 | NpmRules::Npm9_9_3 | NpmRules::Npm10_0_0
            );
            let expected: &[&str] = if with_nested {
                &["index.js", "lib/a.d.ts", "lib/index.js", "package.json"]
            } else {
                &["index.js", "lib/a.d.ts", "package.json"]
            };
            check(era, &tree, expected);
        }
    }

    #[test]
    fn an_excluded_directory_is_still_entered_for_a_negation() {
        // Research case 29: `dir/` only stops descent; `!dir/keep.js` forces it, and then every
        // file of the directory is judged on its own.
        for era in NpmRules::ALL {
            check(
                era,
                &[
                    ("package.json", r#"{"name":"x"}"#),
                    (".npmignore", "dir/\n!dir/keep.js\n"),
                    ("dir/a.js", ""),
                    ("dir/keep.js", ""),
                ],
                &["dir/a.js", "dir/keep.js", "package.json"],
            );
        }
    }

    #[test]
    fn trailing_slash_rules_match_at_any_depth_from_ignore_walk_6_0_4() {
        // Research case 25.
        for era in NpmRules::ALL {
            let expected: &[&str] =
                if era.ignore_walk_6_0_4() { &["package.json"] } else { &["package.json", "sub/dist/a.js"] };
            check(
                era,
                &[("package.json", r#"{"name":"x"}"#), (".gitignore", "dist/\n"), ("sub/dist/a.js", "")],
                expected,
            );
        }
    }

    #[test]
    fn nested_readmes_are_forced_in_older_eras() {
        // Research case 21.
        for era in NpmRules::ALL {
            let expected: &[&str] =
                if era <= NpmRules::Npm10_2_5 { &["docs/README.md", "package.json"] } else { &["package.json"] };
            check(
                era,
                &[("package.json", r#"{"name":"x"}"#), (".npmignore", "docs/README.md\n"), ("docs/README.md", "")],
                expected,
            );
        }
    }

    #[test]
    fn dot_slash_main_is_never_forced() {
        // Research case 31.
        for era in NpmRules::ALL {
            check(
                era,
                &[
                    (
                        "package.json",
                        r#"{"name":"x","files":["lib"],"main":"./main.js","browser":"browser.js","bin":{"a":"./bin/a.js"}}"#,
                    ),
                    ("main.js", ""),
                    ("browser.js", ""),
                    ("bin/a.js", ""),
                    ("lib/x.js", ""),
                ],
                &["bin/a.js", "browser.js", "lib/x.js", "package.json"],
            );
        }
    }

    #[test]
    fn root_only_exclusions_and_bun() {
        // Research case 17.
        for era in NpmRules::ALL {
            let expected: &[&str] = if era >= NpmRules::Npm11_0_0 {
                &["package.json", "sub/bun.lockb"]
            } else {
                &["bun.lockb", "package.json", "sub/bun.lockb"]
            };
            check(era, &[("package.json", r#"{"name":"x"}"#), ("bun.lockb", ""), ("sub/bun.lockb", "")], expected);
        }
    }

    #[test]
    fn eras_by_npm_version() {
        assert_eq!(NpmRules::for_npm_version("9.0.0"), Some(NpmRules::Npm9_0_0));
        assert_eq!(NpmRules::for_npm_version("9.4.2"), Some(NpmRules::Npm9_2_0));
        assert_eq!(NpmRules::for_npm_version("9.6.3"), Some(NpmRules::Npm9_6_3));
        assert_eq!(NpmRules::for_npm_version("9.9.3"), Some(NpmRules::Npm9_9_3));
        assert_eq!(NpmRules::for_npm_version("10.2.4"), Some(NpmRules::Npm10_0_0));
        assert_eq!(NpmRules::for_npm_version("10.2.5"), Some(NpmRules::Npm10_2_5));
        assert_eq!(NpmRules::for_npm_version("10.9.2"), Some(NpmRules::Npm10_3_0));
        assert_eq!(NpmRules::for_npm_version("10.9.8"), Some(NpmRules::Npm10_9_6));
        assert_eq!(NpmRules::for_npm_version("10.8.3"), Some(NpmRules::Npm10_8_1));
        assert_eq!(NpmRules::for_npm_version("10.9.0"), Some(NpmRules::Npm10_3_0));
        assert_eq!(NpmRules::for_npm_version("11.6.0"), Some(NpmRules::Npm11_0_0));
        assert_eq!(NpmRules::for_npm_version("11.6.1"), Some(NpmRules::Npm11_6_1));
        assert_eq!(NpmRules::for_npm_version("8.19.4"), None);
    }

    #[test]
    fn order_follows_npm() {
        // The order the research observed in real tarballs (npm 9.0.0 … 11.21.2).
        let expected = [
            ".eslintrc",
            "LICENSE",
            "Makefile",
            "a.",
            "a.cjs",
            "_a.js",
            "-a.js",
            "~a.js",
            "1.js",
            "a_b.js",
            "a-b.js",
            "a..js",
            "a.js",
            "a.JS",
            "A.js",
            "lib/a.js",
            "z/A.js",
            "a10.js",
            "a9.js",
            "ab.js",
            "b.js",
            "B.js",
            "e.js",
            "E.js",
            "f.js",
            "index.js",
            "lib/index.js",
            ".eslintrc.json",
            "package.json",
            "tsconfig.json",
            "x.json",
            "README.md",
            "a.mjs",
            "a.d.ts",
            "a.ts",
        ];
        let mut shuffled = expected.to_vec();
        shuffled.reverse();
        shuffled.sort_by(|a, b| npm_order(a, b));
        assert_eq!(shuffled, expected);
    }
}
