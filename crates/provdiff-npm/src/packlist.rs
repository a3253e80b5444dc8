//! npm's file selection ("packlist"), ported from the behaviour of `npm-packlist` on top of
//! `ignore-walk`, evaluated over any [`SourceTree`] (a directory or a git commit).
//!
//! The walk is per directory, as npm's: each directory's walker knows its ignore sources in a
//! fixed order (npm's default rules, `package.json`'s `files`, `.npmignore`, `.gitignore`, the
//! strict rules) and asks its parent first; the last matching rule wins, and a negated rule
//! includes. Rule sets that changed between npm releases are selected by [`NpmRules`].

use std::collections::{BTreeMap, HashMap};

use provdiff_core::{Code, Finding, SourceKind, SourceTree};

use crate::glob::{GlobError, Rule};
use crate::manifest::{Manifest, ManifestError};

/// The file-selection behaviour of a range of npm releases (by the `npm-packlist` they bundle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NpmRules {
    /// npm 9 (`npm-packlist` 7): README, LICENSE, LICENCE and COPYING forced in at every depth.
    Npm9,
    /// npm 10.0–10.8 (`npm-packlist` 8): the same, unless `files` names one of them.
    Npm10,
    /// npm 10.9 and npm 11 (`npm-packlist` 9 and 10): forced in at the package root only.
    Npm11,
}

impl NpmRules {
    pub const ALL: [NpmRules; 3] = [NpmRules::Npm9, NpmRules::Npm10, NpmRules::Npm11];

    /// The rules of a given npm version (`9.4.2`), if provdiff knows them.
    pub fn for_npm_version(version: &str) -> Option<Self> {
        let mut parts = version.trim_start_matches('v').split('.').map(|part| part.parse::<u32>().ok());
        let (major, minor) = (parts.next().flatten()?, parts.next().flatten().unwrap_or(0));
        match (major, minor) {
            (9, _) => Some(Self::Npm9),
            (10, 0..=8) => Some(Self::Npm10),
            (10, _) | (11, _) => Some(Self::Npm11),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Npm9 => "npm 9",
            Self::Npm10 => "npm 10.0-10.8",
            Self::Npm11 => "npm 10.9+/11",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PacklistError {
    #[error("{tree} has no package.json at its root")]
    NoManifest { tree: String },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("{path}: {source}")]
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
    /// A `bin` target: npm makes it executable.
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

/// Where a set of ignore rules comes from, in npm's evaluation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum IgnoreSource {
    Defaults,
    PackageJson,
    NpmIgnore,
    GitIgnore,
    Strict,
    /// `.ignore`: what a subdirectory of a workspaces root reads instead (an npm quirk).
    DotIgnore,
}

impl IgnoreSource {
    fn file_name(self) -> Option<&'static str> {
        match self {
            Self::PackageJson => Some("package.json"),
            Self::NpmIgnore => Some(".npmignore"),
            Self::GitIgnore => Some(".gitignore"),
            Self::DotIgnore => Some(".ignore"),
            Self::Defaults | Self::Strict => None,
        }
    }
}

/// The directory structure of a source tree.
#[derive(Default)]
struct Dir {
    /// Children by name: `Some(mode)` for files, `None` for directories.
    children: BTreeMap<String, Child>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Child {
    File { mode: u32 },
    Dir,
    Symlink,
}

struct Index {
    dirs: HashMap<String, Dir>,
}

impl Index {
    fn build(tree: &dyn SourceTree, findings: &mut Vec<Finding>) -> Self {
        let mut dirs: HashMap<String, Dir> = HashMap::new();
        dirs.insert(String::new(), Dir::default());
        for entry in tree.entries() {
            let child = match &entry.kind {
                SourceKind::File { mode } => Child::File { mode: *mode },
                SourceKind::Symlink { .. } => Child::Symlink,
                SourceKind::Submodule { commit } => {
                    findings.push(Finding::at(
                        Code::SubmoduleNotPacked,
                        entry.path.clone(),
                        format!("a git submodule (commit {commit}); its files are not in this repository, so it packs as the empty directory a plain checkout leaves"),
                    ));
                    Child::Dir
                }
            };
            let mut parent = String::new();
            let components: Vec<&str> = entry.path.split('/').collect();
            for (depth, component) in components.iter().enumerate() {
                let is_last = depth + 1 == components.len();
                let dir = dirs.entry(parent.clone()).or_default();
                dir.children.insert(component.to_string(), if is_last { child } else { Child::Dir });
                parent = if parent.is_empty() { component.to_string() } else { format!("{parent}/{component}") };
                if !is_last || child == Child::Dir {
                    dirs.entry(parent.clone()).or_default();
                }
            }
        }
        Self { dirs }
    }
}

struct Walker<'a> {
    /// The directory, relative to the package root (`""` for the root).
    path: String,
    basename: String,
    ignore_files: Vec<IgnoreSource>,
    rules: HashMap<IgnoreSource, Option<Vec<Rule>>>,
    parent: Option<&'a Walker<'a>>,
    exact: bool,
    /// Files `files` names one level below this directory, forced in by the strict rules.
    required: Vec<String>,
}

impl Walker<'_> {
    /// ignore-walk's `filterEntry`: is `entry` (relative to this directory) included?
    fn filter_entry(&self, entry: &str, partial: bool, entry_basename: Option<&str>) -> bool {
        let mut included = true;
        if let Some(parent) = self.parent {
            let parent_entry = format!("{}/{entry}", self.basename);
            let parent_basename = entry_basename.unwrap_or(entry);
            included = parent.filter_entry(&parent_entry, partial, Some(parent_basename));
            if !included && !self.exact {
                return false;
            }
        }
        for source in &self.ignore_files {
            let Some(Some(rules)) = self.rules.get(source) else { continue };
            for rule in rules {
                if rule.negate == included {
                    continue;
                }
                let is_relative_rule = entry_basename.is_some()
                    && rule.glob_parts.iter().any(|part| {
                        let trailing_empty = part.last().is_some_and(String::is_empty);
                        part.len() <= if trailing_empty { 2 } else { 1 }
                    });
                let slashed = format!("/{entry}");
                let hit = rule.matches(&slashed, false)
                    || rule.matches(entry, false)
                    || partial
                        && (rule.matches(&format!("/{entry}/"), false)
                            || rule.matches(&format!("{entry}/"), false)
                            || rule.negate && (rule.matches(&slashed, true) || rule.matches(entry, true))
                            || is_relative_rule
                                && entry_basename.is_some_and(|base| {
                                    rule.matches(&format!("/{base}/"), false)
                                        || rule.matches(&format!("{base}/"), false)
                                        || rule.negate
                                            && (rule.matches(&format!("/{base}"), true) || rule.matches(base, true))
                                }));
                if hit {
                    included = rule.negate;
                }
            }
        }
        included
    }
}

fn parse_rules(text: &str, origin: &str) -> Result<Vec<Rule>, PacklistError> {
    text.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line).trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| Rule::new(line).map_err(|source| PacklistError::Rule { path: origin.to_string(), source }))
        .collect()
}

fn parse_static(rules: &[String]) -> Result<Vec<Rule>, PacklistError> {
    rules
        .iter()
        .map(|rule| {
            Rule::new(rule).map_err(|source| PacklistError::Rule { path: "npm's built-in rules".into(), source })
        })
        .collect()
}

struct Packer<'t> {
    tree: &'t dyn SourceTree,
    index: Index,
    rules: NpmRules,
    manifest: Manifest,
    has_workspaces: bool,
    /// npm-packlist 8 drops a forced doc from every level once `files` names it.
    forced_docs: Vec<String>,
    /// Files named by `files`, which the strict rules force in.
    required_files: Vec<String>,
    result: Vec<String>,
    findings: Vec<Finding>,
}

/// Computes what `npm pack` would include from the package at the root of `tree`.
pub fn packlist(tree: &dyn SourceTree, rules: NpmRules) -> Result<PackList, PacklistError> {
    let mut findings = Vec::new();
    let index = Index::build(tree, &mut findings);
    let has_manifest =
        matches!(index.dirs.get("").and_then(|dir| dir.children.get("package.json")), Some(Child::File { .. }));
    if !has_manifest {
        return Err(PacklistError::NoManifest { tree: tree.describe() });
    }
    let manifest = Manifest::parse(&tree.read("package.json")?, &format!("{}/package.json", tree.describe()))?;
    for path in tree.unreadable_paths() {
        findings.push(Finding::at(
            Code::UnreadablePath,
            path.clone(),
            "the name is not valid UTF-8; npm's behaviour for it cannot be reproduced",
        ));
    }
    let has_workspaces = manifest.raw.get("workspaces").is_some();
    let mut packer = Packer {
        tree,
        index,
        rules,
        manifest,
        has_workspaces,
        forced_docs: FORCED_DOCS.iter().map(|rule| rule.to_string()).collect(),
        required_files: Vec::new(),
        result: Vec::new(),
        findings,
    };

    let root = packer.root_walker()?;
    packer.walk(&root)?;

    let bins: Vec<String> = packer.manifest.bin_targets();
    let mut files: Vec<Selected> = std::mem::take(&mut packer.result)
        .into_iter()
        .map(|path| {
            let source_mode = packer.mode_of(&path);
            // pacote's `isPackageBin` drops the first path component before comparing (it was
            // written for `package/…` paths but is given package-relative ones), so `bin/x.js`
            // is compared as `x.js`: only bins at the root really get their execute bits.
            let compared = path.split_once('/').map_or(path.as_str(), |(_, rest)| rest);
            let is_bin = bins.iter().any(|bin| bin == compared);
            Selected { path, source_mode, is_bin }
        })
        .collect();
    files.sort_by(|a, b| npm_order(&a.path, &b.path));
    Ok(PackList { rules, files, findings: packer.findings })
}

impl<'t> Packer<'t> {
    fn mode_of(&self, path: &str) -> u32 {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        match self.index.dirs.get(dir).and_then(|d| d.children.get(name)) {
            Some(Child::File { mode }) => *mode,
            _ => 0o644,
        }
    }

    fn root_walker(&self) -> Result<Walker<'static>, PacklistError> {
        let mut rules = HashMap::new();
        let defaults: Vec<String> = DEFAULTS.iter().map(|rule| rule.to_string()).collect();
        rules.insert(IgnoreSource::Defaults, Some(parse_static(&defaults)?));
        Ok(Walker {
            path: String::new(),
            basename: String::new(),
            ignore_files: vec![
                IgnoreSource::Defaults,
                IgnoreSource::PackageJson,
                IgnoreSource::NpmIgnore,
                IgnoreSource::GitIgnore,
                IgnoreSource::Strict,
            ],
            rules,
            parent: None,
            exact: false,
            required: Vec::new(),
        })
    }

    /// The strict rules every directory below the root gets, before its required files.
    fn child_strict(&self) -> Vec<String> {
        match self.rules {
            // npm-packlist 7 forces the docs in at every level.
            NpmRules::Npm9 => FORCED_DOCS.iter().map(|rule| rule.to_string()).chain(["/.git".to_string()]).collect(),
            NpmRules::Npm10 => std::iter::once("/.git".to_string()).chain(self.forced_docs.iter().cloned()).collect(),
            NpmRules::Npm11 => vec!["/.git".to_string()],
        }
    }

    /// npm-packlist's `processPackage`: the `files` rules and the strict rules of the root.
    fn package_rules(&mut self, rules: &mut HashMap<IgnoreSource, Option<Vec<Rule>>>) -> Result<(), PacklistError> {
        let mut ignores: Vec<String> = Vec::new();
        let mut unshifted: Vec<String> = Vec::new();
        let files = self.manifest.files().map(|files| files.into_iter().map(str::to_string).collect::<Vec<_>>());
        if let Some(files) = &files {
            for file in files {
                let file = self.normalize_files_entry(file);
                if self.rules == NpmRules::Npm10 {
                    exclude_non_root(&file, &mut self.forced_docs);
                }
                let inverse = format!("!{file}");
                match self.stat(file.trim_start_matches('!')) {
                    Some(Child::File { .. }) => {
                        unshifted.insert(0, inverse);
                        self.required_files.push(file.strip_prefix('/').unwrap_or(&file).to_string());
                    }
                    Some(Child::Dir) => {
                        ignores.push(inverse.clone());
                        ignores.push(format!("{inverse}/**"));
                    }
                    // Exists, but neither a file nor a directory: npm wants nothing of it.
                    Some(Child::Symlink) => {}
                    // Not there: a pattern.
                    None => ignores.push(inverse),
                }
            }
        }
        let mut strict: Vec<String> = unshifted;
        match self.rules {
            NpmRules::Npm9 => {
                strict.extend(FORCED_DOCS.iter().map(|rule| rule.to_string()));
                strict.extend(
                    [
                        "/.git",
                        "!/package.json",
                        "/.git",
                        "/node_modules",
                        "/package-lock.json",
                        "/yarn.lock",
                        "/pnpm-lock.yaml",
                    ]
                    .map(String::from),
                );
            }
            NpmRules::Npm10 => {
                strict.push("/.git".into());
                strict.extend(self.forced_docs.iter().cloned());
                strict.extend(
                    ["!/package.json", "/.git", "/node_modules", "/package-lock.json", "/yarn.lock", "/pnpm-lock.yaml"]
                        .map(String::from),
                );
            }
            NpmRules::Npm11 => {
                strict.extend(["/.git", "!/package.json"].map(String::from));
                strict.extend(FORCED_DOCS.iter().map(|rule| rule.to_string()));
                strict.extend(
                    [
                        "/.git",
                        "/node_modules",
                        ".npmrc",
                        "/package-lock.json",
                        "/yarn.lock",
                        "/pnpm-lock.yaml",
                        "/bun.lockb",
                    ]
                    .map(String::from),
                );
            }
        }
        if files.is_some() {
            let mut package_rules = vec!["*".to_string()];
            package_rules.extend(ignores);
            rules.insert(IgnoreSource::PackageJson, Some(parse_static(&package_rules)?));
        }
        if let Some(browser) = self.manifest.browser() {
            strict.push(format!("!/{browser}"));
        }
        if let Some(main) = self.manifest.main() {
            strict.push(format!("!/{main}"));
        }
        match self.manifest.raw.get("bin") {
            Some(serde_json::Value::String(bin)) => strict.push(format!("!/{bin}")),
            Some(serde_json::Value::Object(map)) => {
                strict.extend(map.values().filter_map(serde_json::Value::as_str).map(|bin| format!("!/{bin}")));
            }
            _ => {}
        }
        rules.insert(IgnoreSource::Strict, Some(parse_static(&strict)?));
        Ok(())
    }

    /// How each npm-packlist version rewrites an entry of `files` before using it.
    fn normalize_files_entry(&self, file: &str) -> String {
        match self.rules {
            NpmRules::Npm9 | NpmRules::Npm10 => {
                if let Some(rest) = file.strip_prefix('/') {
                    rest.to_string()
                } else if let Some(rest) = file.strip_prefix("./") {
                    rest.to_string()
                } else if let Some(rest) = file.strip_suffix("/*") {
                    rest.to_string()
                } else {
                    file.to_string()
                }
            }
            NpmRules::Npm11 => {
                let mut file = file.strip_prefix('.').filter(|_| file.starts_with("./")).unwrap_or(file).to_string();
                if file.ends_with("/*") {
                    file.push('*');
                }
                file
            }
        }
    }

    /// `lstat` of a path relative to the package root, as npm does for `files` entries.
    fn stat(&self, path: &str) -> Option<Child> {
        let path = crate::manifest::normalize_relative(path);
        if path.is_empty() {
            return Some(Child::Dir);
        }
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", &path));
        self.index.dirs.get(dir).and_then(|d| d.children.get(name)).copied()
    }

    fn read_ignore_file(&self, dir_path: &str, name: &str) -> Result<Vec<Rule>, PacklistError> {
        let path = if dir_path.is_empty() { name.to_string() } else { format!("{dir_path}/{name}") };
        let bytes = self.tree.read(&path)?;
        let text = String::from_utf8(bytes).map_err(|_| PacklistError::NotText { path: path.clone() })?;
        parse_rules(&text, &path)
    }

    fn walk(&mut self, walker: &Walker<'_>) -> Result<(), PacklistError> {
        let Some(dir) = self.index.dirs.get(&walker.path) else { return Ok(()) };
        if dir.children.is_empty() {
            return Ok(());
        }
        let children: Vec<(String, Child)> = dir.children.iter().map(|(name, child)| (name.clone(), *child)).collect();
        let present: Vec<&'static str> = walker
            .ignore_files
            .iter()
            .filter_map(|source| source.file_name())
            .filter(|name| dir.children.contains_key(*name))
            .collect();
        // Read the ignore files present in this directory.
        let mut walker_rules = walker.rules.clone();
        let is_root = walker.parent.is_none();
        for source in walker.ignore_files.clone() {
            let Some(name) = source.file_name() else { continue };
            if !present.contains(&name) {
                continue;
            }
            let child = self.index.dirs.get(&walker.path).and_then(|dir| dir.children.get(name)).copied();
            let Some(child) = child else { continue };
            if source == IgnoreSource::PackageJson && is_root {
                self.package_rules(&mut walker_rules)?;
                continue;
            }
            match child {
                Child::File { .. } => {
                    walker_rules.insert(source, Some(self.read_ignore_file(&walker.path, name)?));
                }
                Child::Symlink => {
                    self.findings.push(Finding::at(
                        Code::UnreadablePath,
                        join(&walker.path, name),
                        "an ignore file that is a symlink; provdiff does not follow links, so its rules were not applied",
                    ));
                }
                Child::Dir => {}
            }
        }
        // Precedence: `files` silences the ignore files of its directory; `.npmignore` silences
        // `.gitignore`.
        if matches!(walker_rules.get(&IgnoreSource::PackageJson), Some(Some(_))) {
            walker_rules.insert(IgnoreSource::NpmIgnore, None);
            walker_rules.insert(IgnoreSource::GitIgnore, None);
        } else if matches!(walker_rules.get(&IgnoreSource::NpmIgnore), Some(Some(_))) {
            walker_rules.insert(IgnoreSource::GitIgnore, None);
        }
        let required = if is_root { self.required_files.clone() } else { walker.required.clone() };
        let this = Walker { rules: walker_rules, required, ..shallow(walker) };

        for (name, child) in children {
            let pass_file = this.filter_entry(&name, false, None);
            let pass_dir = this.filter_entry(&name, true, None);
            if !pass_file && !pass_dir {
                continue;
            }
            // npm-packlist refuses names Windows cannot hold (`*`), and skips anything that is
            // neither a file nor a directory (symlinks included: it does not follow them).
            if name.contains('*') {
                continue;
            }
            match child {
                Child::File { .. } => {
                    if pass_file {
                        self.result.push(join(&this.path, &name));
                    }
                }
                Child::Symlink => {
                    if pass_file || pass_dir {
                        self.findings.push(Finding::at(
                            Code::SymlinkSkipped,
                            join(&this.path, &name),
                            "a symbolic link; npm pack skips links, and so does provdiff",
                        ));
                    }
                }
                Child::Dir => {
                    if !pass_dir {
                        continue;
                    }
                    let exact = pass_file || this.filter_entry(&format!("{name}/"), false, None);
                    // Required files pass down one level: `lib/a.js` becomes `a.js` in `lib`.
                    let required = this
                        .required
                        .iter()
                        .filter_map(|file| {
                            file.strip_prefix(&format!("{name}/"))
                                .filter(|rest| !rest.contains('/'))
                                .map(str::to_string)
                        })
                        .collect();
                    let child_walker = self.child_walker(&this, &name, exact, required)?;
                    self.walk(&child_walker)?;
                }
            }
        }
        Ok(())
    }

    fn child_walker<'p>(
        &self,
        parent: &'p Walker<'p>,
        name: &str,
        exact: bool,
        required: Vec<String>,
    ) -> Result<Walker<'p>, PacklistError> {
        // A workspaces root reads `.ignore` (and nothing else) in its subdirectories: npm-packlist
        // passes no ignore files there and ignore-walk falls back to its default.
        let ignore_files = if self.has_workspaces {
            vec![IgnoreSource::DotIgnore]
        } else {
            vec![IgnoreSource::Defaults, IgnoreSource::NpmIgnore, IgnoreSource::GitIgnore, IgnoreSource::Strict]
        };
        let mut rules = HashMap::new();
        let defaults: Vec<String> = DEFAULTS.iter().map(|rule| rule.to_string()).collect();
        rules.insert(IgnoreSource::Defaults, Some(parse_static(&defaults)?));
        let mut strict = self.child_strict();
        strict.extend(required.iter().map(|file| format!("!{file}")));
        rules.insert(IgnoreSource::Strict, Some(parse_static(&strict)?));
        Ok(Walker {
            path: join(&parent.path, name),
            basename: name.to_string(),
            ignore_files,
            rules,
            parent: Some(parent),
            exact,
            required,
        })
    }
}

fn shallow<'a>(walker: &Walker<'a>) -> Walker<'a> {
    Walker {
        path: walker.path.clone(),
        basename: walker.basename.clone(),
        ignore_files: walker.ignore_files.clone(),
        rules: HashMap::new(),
        parent: walker.parent,
        exact: walker.exact,
        required: walker.required.clone(),
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// npm-packlist 8's `excludeNonRoot`: a `files` entry naming a forced doc stops forcing it below
/// the root.
fn exclude_non_root(file: &str, forced: &mut Vec<String>) {
    let lower = file.to_ascii_lowercase();
    if !lower.starts_with('!') {
        return;
    }
    for needle in ["readme", "copying", "license", "licence"] {
        let hit = if needle.starts_with("licen") {
            lower.contains("license") || lower.contains("licence")
        } else {
            lower.contains(needle)
        };
        if hit {
            let family = if needle.starts_with("licen") { "licen" } else { needle };
            if let Some(index) = forced.iter().position(|rule| rule.contains(family)) {
                forced.remove(index);
            }
            return;
        }
    }
}

/// npm-packlist's order: by extension, then base name (both lower-cased), then full path, each
/// compared with `localeCompare(…, 'en')`.
pub fn npm_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (ext_a, base_a) = ext_and_base(a);
    let (ext_b, base_b) = ext_and_base(b);
    crate::collate::compare(&ext_a.to_lowercase(), &ext_b.to_lowercase())
        .then_with(|| crate::collate::compare(&base_a.to_lowercase(), &base_b.to_lowercase()))
        .then_with(|| crate::collate::compare(a, b))
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
