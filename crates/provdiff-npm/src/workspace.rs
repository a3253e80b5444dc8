//! Workspaces: when the package being packed is a workspace of a monorepo root (`npm pack -w
//! packages/a` at the root, or `npm pack` inside `packages/a`, which npm treats the same way), npm
//! also applies ignore files *outside* the package: in the workspace root and in every directory
//! between it and the package, the first of `.npmignore`/`.gitignore` found is appended to the
//! package root's default rules (npm-packlist's `readOutOfTreeIgnoreFiles`).

use crate::glob::{GlobOptions, Rule};
use crate::manifest::Manifest;

/// The workspace a package belongs to, and the ignore rules npm brings in from outside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workspace {
    /// The workspace root, as the caller names paths (`""` for a repository's root).
    pub root: String,
    /// `(file, text)` for each out-of-tree ignore file npm reads, root first.
    pub ignore_files: Vec<(String, String)>,
}

fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(path.rsplit_once('/').map_or("", |(parent, _)| parent))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// The `workspaces` globs of a manifest: a list, or `{ "packages": [...] }`.
pub(crate) fn workspace_patterns(manifest: &Manifest) -> Vec<String> {
    let field = manifest.raw.get("workspaces");
    let list = match field {
        Some(serde_json::Value::Array(list)) => Some(list),
        Some(serde_json::Value::Object(object)) => object.get("packages").and_then(serde_json::Value::as_array),
        _ => None,
    };
    list.into_iter().flatten().filter_map(serde_json::Value::as_str).map(str::to_string).collect()
}

/// Whether `relative` (a directory relative to the workspace root) is one of its workspaces: the
/// last matching pattern wins, and `!pattern` excludes.
pub(crate) fn is_workspace(patterns: &[String], relative: &str) -> bool {
    let options = GlobOptions { posix_classes: true, match_base: false };
    let mut member = false;
    for pattern in patterns {
        let (negated, body) = match pattern.strip_prefix('!') {
            Some(body) => (true, body),
            None => (false, pattern.as_str()),
        };
        let body = body.trim_start_matches("./").trim_end_matches('/');
        let Ok(rule) = Rule::new(body, options) else { continue };
        if rule.matches(relative, false) {
            member = !negated;
        }
    }
    member
}

/// Whether `dir` (relative to the directory of `root`) is one of the workspaces `root` declares.
pub fn is_workspace_of(root: &Manifest, dir: &str) -> bool {
    is_workspace(&workspace_patterns(root), dir)
}

/// Finds the workspace root of the package at `package_dir` by looking at the `package.json` of
/// each ancestor, nearest first; `read` returns a file's bytes by path (None when absent). Returns
/// the out-of-tree ignore rules npm would add.
pub fn find_workspace(package_dir: &str, read: impl Fn(&str) -> Option<Vec<u8>>) -> Option<Workspace> {
    let mut ancestor = parent(package_dir);
    while let Some(dir) = ancestor {
        let manifest_path = join(dir, "package.json");
        if let Some(bytes) = read(&manifest_path)
            && let Ok(manifest) = Manifest::parse(&bytes, &manifest_path)
        {
            let patterns = workspace_patterns(&manifest);
            let relative = if dir.is_empty() { package_dir } else { &package_dir[dir.len() + 1..] };
            if !patterns.is_empty() && is_workspace(&patterns, relative) {
                return Some(Workspace {
                    root: dir.to_string(),
                    ignore_files: out_of_tree_ignore_files(dir, package_dir, &read),
                });
            }
        }
        ancestor = parent(dir);
    }
    None
}

/// The first of `.npmignore`/`.gitignore` in the root and in each directory down to the package's
/// parent.
fn out_of_tree_ignore_files(
    root: &str,
    package_dir: &str,
    read: &impl Fn(&str) -> Option<Vec<u8>>,
) -> Vec<(String, String)> {
    let Some(package_parent) = parent(package_dir) else { return Vec::new() };
    let mut dirs = vec![root.to_string()];
    let below = if root.is_empty() { package_parent } else { package_parent.get(root.len() + 1..).unwrap_or("") };
    let mut current = root.to_string();
    for component in below.split('/').filter(|component| !component.is_empty()) {
        current = join(&current, component);
        dirs.push(current.clone());
    }
    let mut files = Vec::new();
    for dir in dirs {
        for name in [".npmignore", ".gitignore"] {
            let path = join(&dir, name);
            if let Some(bytes) = read(&path) {
                files.push((path, String::from_utf8_lossy(&bytes).into_owned()));
                break;
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn find(files: &[(&str, &str)], package: &str) -> Option<Workspace> {
        let files: HashMap<String, Vec<u8>> =
            files.iter().map(|(p, c)| (p.to_string(), c.as_bytes().to_vec())).collect();
        find_workspace(package, |path| files.get(path).cloned())
    }

    #[test]
    fn a_workspace_gets_the_ignore_files_above_it() {
        let files = [
            ("package.json", r#"{"name":"root","workspaces":["packages/*"]}"#),
            (".gitignore", "gitroot.js\n"),
            ("packages/.npmignore", "pkgsign.js\n"),
            ("packages/.gitignore", "ignored-because-npmignore-exists\n"),
            ("packages/a/package.json", r#"{"name":"a"}"#),
        ];
        let workspace = find(&files, "packages/a").unwrap();
        assert_eq!(workspace.root, "");
        let names: Vec<&str> = workspace.ignore_files.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(names, [".gitignore", "packages/.npmignore"]);
    }

    #[test]
    fn packages_outside_the_globs_are_not_workspaces() {
        let files = [("package.json", r#"{"workspaces":{"packages":["packages/*","!packages/private"]}}"#)];
        assert!(find(&files, "tools/x").is_none());
        assert!(find(&files, "packages/private").is_none());
        assert!(find(&files, "packages/x").is_some());
        assert!(find(&files, "").is_none());
    }
}
