//! What the comparison needs to know about the tool that published a package. npm ships
//! `package.json` as it is on disk; pnpm and yarn berry rewrite it (and add files) when they pack.
//! `provdiff-npm` detects the tool and gathers the facts below from the attested commit;
//! `provdiff-diff` applies the tool's rules to them. This module is only the data in between.

use std::collections::BTreeMap;

use serde::Serialize;

/// The tool whose `pack`/`publish` produced the tarball, as the attested commit shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PublishTool {
    /// npm (and anything with no lockfile): `package.json` ships byte for byte.
    #[default]
    Npm,
    /// yarn 1: `yarn pack` ships `package.json` byte for byte too.
    YarnClassic,
    /// yarn 2 and later: rewrites `workspace:`, `catalog:` and `jsr:` ranges, hoists some
    /// `publishConfig` fields, re-serialises, and always includes some root files.
    YarnBerry,
    /// pnpm: resolves `workspace:`, `catalog:` and `jsr:` specifiers, hoists whitelisted
    /// `publishConfig` fields, drops `pnpm`, `packageManager` and pre-publish scripts,
    /// re-serialises, and copies the workspace root's licence into a package that has none.
    Pnpm,
}

impl PublishTool {
    pub fn name(self) -> &'static str {
        match self {
            PublishTool::Npm => "npm",
            PublishTool::YarnClassic => "yarn 1",
            PublishTool::YarnBerry => "yarn berry",
            PublishTool::Pnpm => "pnpm",
        }
    }

    /// Whether the tool writes `package.json` anew (`JSON.stringify(manifest, null, 2)`, no final
    /// newline) rather than shipping the file's bytes.
    pub fn reserialises(self) -> bool {
        matches!(self, PublishTool::Pnpm | PublishTool::YarnBerry)
    }
}

impl std::fmt::Display for PublishTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A package of the workspace, as the commit holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspacePackage {
    /// Its directory relative to the repository root (`""` for the root).
    pub dir: String,
    pub name: String,
    /// `None` when its `package.json` has no string `version`.
    pub version: Option<String>,
}

/// A file of the commit, by the path it would have in the package.
#[derive(Clone, PartialEq, Eq)]
pub struct ToolFile {
    /// The path in the package (`LICENSE`).
    pub path: String,
    /// Where the commit holds it (`LICENSE` at the workspace root, `packages/a/CHANGELOG.md`).
    pub source_path: String,
    pub content: Vec<u8>,
}

impl std::fmt::Debug for ToolFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolFile")
            .field("path", &self.path)
            .field("source_path", &self.source_path)
            .field("len", &self.content.len())
            .finish()
    }
}

/// Everything the comparison needs to judge a rewritten `package.json` and added files. The
/// default is npm with nothing known: no rewrite is explained.
#[derive(Debug, Clone, Default)]
pub struct PublishContext {
    pub tool: PublishTool,
    /// Why provdiff thinks so, for people: `pnpm-lock.yaml in packages/`.
    pub detected_by: String,
    /// The package's directory relative to the repository root.
    pub package_dir: String,
    /// The workspace (pnpm) or project (yarn) root, when there is one.
    pub workspace_root: Option<String>,
    /// The workspace's packages, for `workspace:` resolution.
    pub workspace_packages: Vec<WorkspacePackage>,
    /// The default catalog (`catalog:`): dependency name → specifier.
    pub default_catalog: BTreeMap<String, String>,
    /// Named catalogs (`catalog:NAME`).
    pub named_catalogs: BTreeMap<String, BTreeMap<String, String>>,
    /// Why the catalogs could not be read, if they could not (the comparison says so instead of
    /// explaining a `catalog:` rewrite it cannot check).
    pub catalog_problem: Option<String>,
    /// pnpm: the workspace root's `LICEN{S,C}E{,.*}` files, which `pnpm pack` copies into a
    /// workspace package that packs no licence of its own. Empty for the root package itself.
    pub workspace_licenses: Vec<ToolFile>,
    /// yarn berry: the package root's files that `yarn pack` always includes (`README*`,
    /// `LICENSE*`, `LICENCE*`, `CHANGELOG*`, matched without case), whatever `files` says.
    pub always_included: Vec<ToolFile>,
    /// pnpm: the package root's `*readme.md` files, one of which `embed-readme` puts into the
    /// `readme` field.
    pub readme_files: Vec<ToolFile>,
}

impl PublishContext {
    /// The workspace package with this name, if exactly one has it.
    pub fn workspace_package(&self, name: &str) -> Option<&WorkspacePackage> {
        let mut matching = self.workspace_packages.iter().filter(|package| package.name == name);
        let first = matching.next()?;
        matching.next().is_none().then_some(first)
    }

    /// The workspace package in this directory (relative to the repository root).
    pub fn workspace_package_at(&self, dir: &str) -> Option<&WorkspacePackage> {
        self.workspace_packages.iter().find(|package| package.dir == dir)
    }

    /// Where the tool was found, for finding details: `pnpm (pnpm-lock.yaml at the root)`.
    pub fn describe_tool(&self) -> String {
        if self.detected_by.is_empty() {
            self.tool.name().to_string()
        } else {
            format!("{} ({})", self.tool.name(), self.detected_by)
        }
    }
}
