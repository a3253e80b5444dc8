//! Which tool published a package, and what its publish-time rewrites need from the commit.
//!
//! The tool is read from the commit, from the package's directory up to the repository root,
//! nearest directory first: its `package.json`'s `packageManager` field (`pnpm@…`, `yarn@1…`,
//! `yarn@2…` and later, `npm@…`), then `pnpm-lock.yaml` or `pnpm-workspace.yaml` (pnpm),
//! `yarn.lock` (yarn berry when it has berry's `__metadata:` entry, yarn 1 otherwise) or
//! `.yarnrc.yml` (yarn berry), then `package-lock.json` or `npm-shrinkwrap.json` (npm). Nothing
//! found means npm. Then, for pnpm and yarn berry, the facts their rewrites use: the workspace's
//! packages (for `workspace:`), the catalogs (`pnpm-workspace.yaml`, `.yarnrc.yml`), and the files
//! they add (pnpm's workspace licence, yarn's always-included files).
//!
//! Reads only through [`SourceTree`]; YAML through `serde-saphyr`, which does not panic on bad
//! input and caps alias expansion.

use std::collections::{BTreeMap, BTreeSet};

use provdiff_core::{PublishContext, PublishTool, SourceError, SourceKind, SourceTree, ToolFile, WorkspacePackage};
use serde::Deserialize;
use serde_json::Value;

use crate::manifest::Manifest;
use crate::workspace::{find_workspace, is_workspace, workspace_patterns};

/// Gathers what the comparison needs to judge the package at `package_dir` (relative to the root
/// of `tree`, which is the whole commit). Errors only when a file the listing shows cannot be read.
pub fn publish_context(tree: &dyn SourceTree, package_dir: &str) -> Result<PublishContext, SourceError> {
    let reader = Reader::new(tree);
    let package_dir = package_dir.trim_matches('/').to_string();
    let (tool, detected_by) = detect_tool(&reader, &package_dir)?;
    let mut context =
        PublishContext { tool, detected_by, package_dir: package_dir.clone(), ..PublishContext::default() };
    match tool {
        PublishTool::Pnpm => pnpm_facts(&reader, &mut context)?,
        PublishTool::YarnBerry => yarn_facts(&reader, &mut context)?,
        PublishTool::Npm | PublishTool::YarnClassic => {}
    }
    Ok(context)
}

/// The commit's files by path, read on demand.
struct Reader<'t> {
    tree: &'t dyn SourceTree,
    files: BTreeSet<&'t str>,
}

impl<'t> Reader<'t> {
    fn new(tree: &'t dyn SourceTree) -> Self {
        let files = tree
            .entries()
            .iter()
            .filter(|entry| matches!(entry.kind, SourceKind::File { .. }))
            .map(|entry| entry.path.as_str())
            .collect();
        Self { tree, files }
    }

    fn exists(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, SourceError> {
        if !self.exists(path) {
            return Ok(None);
        }
        self.tree.read(path).map(Some)
    }

    fn manifest(&self, dir: &str) -> Result<Option<Manifest>, SourceError> {
        let path = join(dir, "package.json");
        Ok(self.read(&path)?.and_then(|bytes| Manifest::parse(&bytes, &path).ok()))
    }

    /// The files directly in `dir`, by name.
    fn files_in(&self, dir: &str) -> impl Iterator<Item = (&'t str, &'t str)> + '_ {
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        self.files.iter().filter_map(move |path| {
            let name = path.strip_prefix(prefix.as_str())?;
            (!name.contains('/')).then_some((*path, name))
        })
    }

    /// Every directory holding a `package.json`, outside `node_modules`.
    fn package_dirs(&self) -> Vec<&'t str> {
        self.files
            .iter()
            .filter_map(|path| match *path {
                "package.json" => Some(""),
                other => other.strip_suffix("/package.json"),
            })
            .filter(|dir| !dir.split('/').any(|component| component == "node_modules"))
            .collect()
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

fn parent(dir: &str) -> Option<&str> {
    if dir.is_empty() {
        return None;
    }
    Some(dir.rsplit_once('/').map_or("", |(parent, _)| parent))
}

/// The package's directory and each of its ancestors, nearest first.
fn ancestors(dir: &str) -> Vec<&str> {
    let mut dirs = vec![dir];
    let mut current = dir;
    while let Some(up) = parent(current) {
        dirs.push(up);
        current = up;
    }
    dirs
}

fn describe_dir(dir: &str) -> String {
    if dir.is_empty() { "the repository root".to_string() } else { dir.to_string() }
}

/// The tool a `packageManager` value names (`pnpm@10.34.9`, `yarn@4.18.1+sha512.…`), if provdiff
/// models it.
fn tool_of_package_manager(value: &str) -> Option<PublishTool> {
    let (name, version) = value.split_once('@')?;
    match name {
        "pnpm" => Some(PublishTool::Pnpm),
        "npm" => Some(PublishTool::Npm),
        "yarn" => {
            let major: u64 = version.split(['.', '+', '-']).next()?.parse().ok()?;
            Some(if major >= 2 { PublishTool::YarnBerry } else { PublishTool::YarnClassic })
        }
        _ => None,
    }
}

fn detect_tool(reader: &Reader<'_>, package_dir: &str) -> Result<(PublishTool, String), SourceError> {
    for dir in ancestors(package_dir) {
        let at = describe_dir(dir);
        if let Some(manifest) = reader.manifest(dir)?
            && let Some(value) = manifest.raw.get("packageManager").and_then(Value::as_str)
            && let Some(tool) = tool_of_package_manager(value)
        {
            return Ok((tool, format!("packageManager {value:?} in {at}")));
        }
        for name in ["pnpm-lock.yaml", "pnpm-workspace.yaml"] {
            if reader.exists(&join(dir, name)) {
                return Ok((PublishTool::Pnpm, format!("{name} in {at}")));
            }
        }
        if let Some(lockfile) = reader.read(&join(dir, "yarn.lock"))? {
            let berry = lockfile.split(|&b| b == b'\n').any(|line| line.starts_with(b"__metadata:"));
            let tool = if berry { PublishTool::YarnBerry } else { PublishTool::YarnClassic };
            let kind = if berry { "a yarn berry yarn.lock" } else { "a yarn 1 yarn.lock" };
            return Ok((tool, format!("{kind} in {at}")));
        }
        if reader.exists(&join(dir, ".yarnrc.yml")) {
            return Ok((PublishTool::YarnBerry, format!(".yarnrc.yml in {at}")));
        }
        for name in ["package-lock.json", "npm-shrinkwrap.json"] {
            if reader.exists(&join(dir, name)) {
                return Ok((PublishTool::Npm, format!("{name} in {at}")));
            }
        }
    }
    Ok((PublishTool::Npm, "no lockfile or packageManager field names another tool".to_string()))
}

/// The parts of `pnpm-workspace.yaml` the rewrites use.
#[derive(Debug, Default, Deserialize)]
struct PnpmWorkspaceFile {
    packages: Option<Vec<Value>>,
    catalog: Option<BTreeMap<String, Value>>,
    catalogs: Option<BTreeMap<String, Option<BTreeMap<String, Value>>>>,
}

/// The parts of `.yarnrc.yml` the rewrites use.
#[derive(Debug, Default, Deserialize)]
struct YarnrcFile {
    catalog: Option<BTreeMap<String, Value>>,
    catalogs: Option<BTreeMap<String, Option<BTreeMap<String, Value>>>>,
}

fn parse_yaml<T: Default + for<'de> Deserialize<'de>>(bytes: &[u8], path: &str) -> Result<T, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| format!("{path} is not UTF-8"))?;
    if text.trim().is_empty() {
        return Ok(T::default());
    }
    // An empty document (only comments) parses as null: the same as an empty file.
    serde_saphyr::from_str::<Option<T>>(text)
        .map(Option::unwrap_or_default)
        .map_err(|error| format!("{path} cannot be read: {}", first_line(&error.to_string())))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// String entries only: pnpm and yarn cannot publish from others.
fn string_entries(entries: Option<BTreeMap<String, Value>>) -> BTreeMap<String, String> {
    entries
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| value.as_str().map(|spec| (name, spec.to_string())))
        .collect()
}

fn named_catalogs(
    catalogs: Option<BTreeMap<String, Option<BTreeMap<String, Value>>>>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    catalogs.into_iter().flatten().map(|(name, entries)| (name, string_entries(entries))).collect()
}

fn pnpm_facts(reader: &Reader<'_>, context: &mut PublishContext) -> Result<(), SourceError> {
    let package_dir = context.package_dir.clone();
    let Some(root) = ancestors(&package_dir).into_iter().find(|dir| reader.exists(&join(dir, "pnpm-workspace.yaml")))
    else {
        // Without pnpm-workspace.yaml there is no workspace: nothing to resolve or copy.
        context.readme_files = readme_files(reader, &package_dir)?;
        return Ok(());
    };
    let path = join(root, "pnpm-workspace.yaml");
    let file = match reader.read(&path)? {
        Some(bytes) => match parse_yaml::<PnpmWorkspaceFile>(&bytes, &path) {
            Ok(file) => file,
            Err(problem) => {
                context.catalog_problem = Some(problem);
                PnpmWorkspaceFile::default()
            }
        },
        None => PnpmWorkspaceFile::default(),
    };
    let mut named = named_catalogs(file.catalogs);
    // `catalog` and `catalogs.default` are the same catalog; pnpm refuses a file with both.
    let from_catalogs = named.remove("default");
    context.default_catalog = match (file.catalog, from_catalogs) {
        (Some(_), Some(_)) => {
            context.catalog_problem.get_or_insert_with(|| {
                format!("{path} defines the default catalog twice (catalog and catalogs.default), which pnpm refuses")
            });
            BTreeMap::new()
        }
        (Some(catalog), None) => string_entries(Some(catalog)),
        (None, Some(default)) => default,
        (None, None) => BTreeMap::new(),
    };
    context.named_catalogs = named;
    // pnpm's default workspace is every package below the root.
    let patterns: Vec<String> = match file.packages {
        Some(list) => list.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        None => vec!["**".to_string()],
    };
    context.workspace_root = Some(root.to_string());
    context.workspace_packages = workspace_packages(reader, root, &patterns)?;
    if root != package_dir {
        context.workspace_licenses = reader
            .files_in(root)
            .filter(|(_, name)| is_pnpm_licence(name))
            .map(|(path, name)| tool_file(reader, name, path))
            .collect::<Result<_, _>>()?;
    }
    context.readme_files = readme_files(reader, &package_dir)?;
    Ok(())
}

/// pnpm's `LICEN{S,C}E{,.*}` glob (case-sensitive).
fn is_pnpm_licence(name: &str) -> bool {
    ["LICENSE", "LICENCE"]
        .iter()
        .any(|stem| name.strip_prefix(stem).is_some_and(|rest| rest.is_empty() || rest.starts_with('.')))
}

/// The package root's files whose name ends in `readme.md` (any case): what pnpm's
/// `embed-readme` reads.
fn readme_files(reader: &Reader<'_>, package_dir: &str) -> Result<Vec<ToolFile>, SourceError> {
    reader
        .files_in(package_dir)
        .filter(|(_, name)| name.to_ascii_lowercase().ends_with("readme.md"))
        .map(|(path, name)| tool_file(reader, name, path))
        .collect()
}

fn tool_file(reader: &Reader<'_>, name: &str, path: &str) -> Result<ToolFile, SourceError> {
    let content = reader.read(path)?.unwrap_or_default();
    Ok(ToolFile { path: name.to_string(), source_path: path.to_string(), content })
}

/// The root's package and every package whose directory (relative to the root) the patterns
/// select.
fn workspace_packages(
    reader: &Reader<'_>,
    root: &str,
    patterns: &[String],
) -> Result<Vec<WorkspacePackage>, SourceError> {
    let mut packages = Vec::new();
    for dir in reader.package_dirs() {
        let relative = if root.is_empty() {
            dir
        } else if dir == root {
            ""
        } else {
            match dir.strip_prefix(root).and_then(|rest| rest.strip_prefix('/')) {
                Some(relative) => relative,
                None => continue,
            }
        };
        if !relative.is_empty() && !is_workspace(patterns, relative) {
            continue;
        }
        let Some(manifest) = reader.manifest(dir)? else { continue };
        let Some(name) = manifest.name() else { continue };
        packages.push(WorkspacePackage {
            dir: dir.to_string(),
            name: name.to_string(),
            version: manifest.version().map(str::to_string),
        });
    }
    Ok(packages)
}

fn yarn_facts(reader: &Reader<'_>, context: &mut PublishContext) -> Result<(), SourceError> {
    let package_dir = context.package_dir.clone();
    let dirs = ancestors(&package_dir);
    // The project root: where the lockfile is, else the configuration, else the workspace root.
    let root = dirs
        .iter()
        .find(|dir| reader.exists(&join(dir, "yarn.lock")))
        .or_else(|| dirs.iter().find(|dir| reader.exists(&join(dir, ".yarnrc.yml"))))
        .map(|dir| dir.to_string())
        .or_else(|| {
            find_workspace(&package_dir, |path| reader.read(path).ok().flatten()).map(|workspace| workspace.root)
        })
        .unwrap_or_else(|| package_dir.clone());
    let path = join(&root, ".yarnrc.yml");
    if let Some(bytes) = reader.read(&path)? {
        match parse_yaml::<YarnrcFile>(&bytes, &path) {
            Ok(file) => {
                context.default_catalog = string_entries(file.catalog);
                context.named_catalogs = named_catalogs(file.catalogs);
            }
            Err(problem) => context.catalog_problem = Some(problem),
        }
    }
    let patterns = reader.manifest(&root)?.map(|manifest| workspace_patterns(&manifest)).unwrap_or_default();
    context.workspace_packages = workspace_packages(reader, &root, &patterns)?;
    context.workspace_root = Some(root);
    context.always_included = reader
        .files_in(&package_dir)
        .filter(|(_, name)| is_yarn_always_included(name))
        .map(|(path, name)| tool_file(reader, name, path))
        .collect::<Result<_, _>>()?;
    Ok(())
}

/// yarn's `/readme`, `/readme.*`, `/license`, `/license.*`, `/licence`, `/licence.*`,
/// `/changelog`, `/changelog.*`, matched without case.
fn is_yarn_always_included(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    ["readme", "license", "licence", "changelog"]
        .iter()
        .any(|stem| lower.strip_prefix(stem).is_some_and(|rest| rest.is_empty() || rest.starts_with('.')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use provdiff_core::SourceEntry;

    /// An in-memory commit.
    struct Files(Vec<SourceEntry>, BTreeMap<String, Vec<u8>>);

    impl SourceTree for Files {
        fn describe(&self) -> String {
            "test".into()
        }
        fn entries(&self) -> &[SourceEntry] {
            &self.0
        }
        fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
            self.1.get(path).cloned().ok_or_else(|| SourceError {
                tree: "test".into(),
                path: path.into(),
                source: "absent".into(),
            })
        }
    }

    fn files(list: &[(&str, &str)]) -> Files {
        let entries = list
            .iter()
            .map(|(path, _)| SourceEntry { path: path.to_string(), kind: SourceKind::File { mode: 0o644 } })
            .collect();
        Files(entries, list.iter().map(|(path, content)| (path.to_string(), content.as_bytes().to_vec())).collect())
    }

    fn check_tool(list: &[(&str, &str)], package_dir: &str, expected: PublishTool, evidence: &str) {
        let context = publish_context(&files(list), package_dir).unwrap();
        assert_eq!(context.tool, expected, "{list:?}");
        assert!(context.detected_by.contains(evidence), "{:?} lacks {evidence:?}", context.detected_by);
    }

    const PKG: (&str, &str) = ("packages/a/package.json", r#"{"name":"a","version":"1.0.0"}"#);

    #[test]
    fn the_tool_comes_from_the_nearest_evidence() {
        check_tool(&[PKG], "packages/a", PublishTool::Npm, "no lockfile");
        check_tool(
            &[PKG, ("pnpm-lock.yaml", "")],
            "packages/a",
            PublishTool::Pnpm,
            "pnpm-lock.yaml in the repository root",
        );
        check_tool(&[PKG, ("pnpm-workspace.yaml", "")], "packages/a", PublishTool::Pnpm, "pnpm-workspace.yaml");
        check_tool(&[PKG, ("package-lock.json", "{}")], "packages/a", PublishTool::Npm, "package-lock.json");
        let berry = "# This file is generated by running \"yarn install\"\n\n__metadata:\n  version: 8\n";
        check_tool(&[PKG, ("yarn.lock", berry)], "packages/a", PublishTool::YarnBerry, "yarn berry yarn.lock");
        let classic = "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n";
        check_tool(&[PKG, ("yarn.lock", classic)], "packages/a", PublishTool::YarnClassic, "yarn 1");
        check_tool(&[PKG, (".yarnrc.yml", "")], "packages/a", PublishTool::YarnBerry, ".yarnrc.yml");
        // packageManager wins over a lockfile in the same directory; the nearest directory wins.
        let root = ("package.json", r#"{"packageManager":"yarn@4.18.1+sha512.abc"}"#);
        check_tool(&[PKG, root, ("package-lock.json", "{}")], "packages/a", PublishTool::YarnBerry, "packageManager");
        let classic_root = ("package.json", r#"{"packageManager":"yarn@1.22.22"}"#);
        check_tool(&[PKG, classic_root], "packages/a", PublishTool::YarnClassic, "yarn@1.22.22");
        let nearer = ("packages/a/package.json", r#"{"name":"a","packageManager":"pnpm@10.0.0"}"#);
        check_tool(&[nearer, ("package-lock.json", "{}")], "packages/a", PublishTool::Pnpm, "in packages/a");
        check_tool(
            &[PKG, ("packages/pnpm-lock.yaml", ""), ("yarn.lock", classic)],
            "packages/a",
            PublishTool::Pnpm,
            "packages",
        );
        // A manager provdiff does not model is no evidence.
        check_tool(
            &[PKG, ("package.json", r#"{"packageManager":"bun@1.1.0"}"#)],
            "packages/a",
            PublishTool::Npm,
            "no lockfile",
        );
    }

    #[test]
    fn pnpm_workspace_packages_catalogs_and_licences() {
        let tree = files(&[
            ("package.json", r#"{"name":"root","private":true}"#),
            (
                "pnpm-workspace.yaml",
                "packages:\n  - packages/*\n  - '!packages/private'\ncatalog:\n  lodash: ^4.17.21\n  num: 18\ncatalogs:\n  react18:\n    react: ^18.2.0\n",
            ),
            ("LICENSE", "MIT\n"),
            ("LICENSE.md", "md\n"),
            ("license-other", "no\n"),
            ("packages/a/package.json", r#"{"name":"@scope/a","version":"1.2.3"}"#),
            ("packages/a/README.md", "# a\n"),
            ("packages/b/package.json", r#"{"name":"@scope/b","version":"2.0.0"}"#),
            ("packages/private/package.json", r#"{"name":"private","version":"9.0.0"}"#),
            ("packages/a/node_modules/x/package.json", r#"{"name":"x","version":"1.0.0"}"#),
            ("tools/t/package.json", r#"{"name":"t","version":"1.0.0"}"#),
        ]);
        let context = publish_context(&tree, "packages/a").unwrap();
        assert_eq!(context.tool, PublishTool::Pnpm);
        assert_eq!(context.workspace_root.as_deref(), Some(""));
        let names: Vec<&str> = context.workspace_packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["root", "@scope/a", "@scope/b"]);
        assert_eq!(context.workspace_package("@scope/b").and_then(|p| p.version.as_deref()), Some("2.0.0"));
        assert_eq!(context.default_catalog.get("lodash").map(String::as_str), Some("^4.17.21"));
        assert!(!context.default_catalog.contains_key("num"), "a number is no specifier");
        assert_eq!(context.named_catalogs["react18"]["react"], "^18.2.0");
        let licences: Vec<(&str, &[u8])> =
            context.workspace_licenses.iter().map(|f| (f.path.as_str(), f.content.as_slice())).collect();
        assert_eq!(licences, [("LICENSE", &b"MIT\n"[..]), ("LICENSE.md", b"md\n")]);
        assert_eq!(context.readme_files.len(), 1);
        // The workspace root itself gets no licence copied.
        assert!(publish_context(&tree, "").unwrap().workspace_licenses.is_empty());
    }

    #[test]
    fn pnpm_catalog_problems_are_reported_not_guessed() {
        let both = "catalog:\n  a: ^1\ncatalogs:\n  default:\n    a: ^2\n";
        let context = publish_context(&files(&[PKG, ("pnpm-workspace.yaml", both)]), "packages/a").unwrap();
        assert!(context.catalog_problem.as_deref().is_some_and(|p| p.contains("twice")), "{context:?}");
        let broken = "catalog: [unclosed\n";
        let context = publish_context(&files(&[PKG, ("pnpm-workspace.yaml", broken)]), "packages/a").unwrap();
        assert!(context.catalog_problem.as_deref().is_some_and(|p| p.contains("cannot be read")), "{context:?}");
        // A billion laughs is refused, not expanded.
        let mut bomb = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
        for level in 0..9 {
            let previous = if level == 0 { "a".to_string() } else { format!("l{}", level - 1) };
            bomb.push_str(&format!("l{level}: &l{level} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]\n"));
        }
        bomb.push_str("catalog:\n  a: ^1\n");
        let context = publish_context(&files(&[PKG, ("pnpm-workspace.yaml", &bomb)]), "packages/a").unwrap();
        assert!(context.catalog_problem.as_deref().is_some_and(|p| p.contains("budget")), "{context:?}");
        // Only comments: no catalogs, no problem; every package is in the workspace.
        let context = publish_context(&files(&[PKG, ("pnpm-workspace.yaml", "# nothing\n")]), "packages/a").unwrap();
        assert!(context.catalog_problem.is_none(), "{context:?}");
        assert_eq!(context.workspace_packages.len(), 1);
    }

    #[test]
    fn yarn_workspaces_catalogs_and_always_included_files() {
        let tree = files(&[
            ("package.json", r#"{"name":"root","private":true,"workspaces":["packages/*"]}"#),
            ("yarn.lock", "__metadata:\n  version: 8\n"),
            (".yarnrc.yml", "catalog:\n  lodash: ^4.17.21\ncatalogs:\n  react18:\n    react: ^18.2.0\n"),
            ("LICENSE", "MIT\n"),
            ("packages/a/package.json", r#"{"name":"@scope/a","version":"1.2.3"}"#),
            ("packages/a/CHANGELOG.md", "changes\n"),
            ("packages/a/Readme", "r\n"),
            ("packages/a/licence.txt", "l\n"),
            ("packages/a/changelogs/x.md", "no\n"),
            ("packages/a/CHANGES.md", "no\n"),
            ("packages/b/package.json", r#"{"name":"@scope/b","version":"2.0.0"}"#),
        ]);
        let context = publish_context(&tree, "packages/a").unwrap();
        assert_eq!(context.tool, PublishTool::YarnBerry);
        assert_eq!(context.workspace_root.as_deref(), Some(""));
        assert_eq!(context.workspace_packages.len(), 3);
        assert_eq!(context.default_catalog["lodash"], "^4.17.21");
        assert_eq!(context.named_catalogs["react18"]["react"], "^18.2.0");
        let included: Vec<&str> = context.always_included.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(included, ["CHANGELOG.md", "Readme", "licence.txt"]);
        assert!(context.workspace_licenses.is_empty(), "yarn copies no root licence");
    }
}
