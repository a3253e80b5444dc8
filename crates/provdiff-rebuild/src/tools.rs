//! The build's tools (`node`, `npm`, `npx`, `corepack`, `pnpm`, `yarn`, as found on the `PATH`)
//! when they live where the sandbox hides things — a Node.js under the user's home (nvm, fnm,
//! volta, `~/.local`, `~/bin`): what of them to show again, read-only, and nothing more.
//!
//! A tool is shown by the smallest thing that holds it: the Node.js distribution it belongs to
//! (a directory that holds exactly what a Node.js release unpacks to: `bin/node`, `include/node`,
//! `lib/node_modules`, `share/{doc,man,systemtap}` and the release's text files — never a prefix
//! such as `~/.local` that holds other things too), else the package a JavaScript tool is part of
//! (`…/node_modules/npm`), else the tool's file alone. A directory that is or holds one of the
//! hidden directories (the user's home, `/root`, `/home`, `/tmp`, `/run`) is never shown. Where
//! the `PATH` finds a tool through a link in a hidden directory, the link is made again inside.
//! A distribution's global `etc/npmrc` is hidden again over the shown directory.

use std::path::{Path, PathBuf};

/// What the sandbox shows of the tools that live in hidden directories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ToolExposure {
    /// Directories and files bound read-only at their own paths.
    pub binds: Vec<PathBuf>,
    /// Symbolic links made in the sandbox: `(target, link)`.
    pub links: Vec<(PathBuf, PathBuf)>,
    /// Credential files inside what `binds` shows (a distribution's `etc/npmrc`), to hide again.
    pub hidden_files: Vec<PathBuf>,
}

impl ToolExposure {
    /// Whether anything is shown at or below `dir`.
    pub fn shows_something_in(&self, dir: &Path) -> bool {
        self.binds.iter().chain(self.links.iter().map(|(_, link)| link)).any(|path| path.starts_with(dir))
    }

    fn covers(&self, path: &Path) -> bool {
        self.binds.iter().any(|bind| path.starts_with(bind))
    }

    fn add_bind(&mut self, path: PathBuf) {
        if self.covers(&path) {
            return;
        }
        self.binds.retain(|bind| !bind.starts_with(&path));
        self.links.retain(|(_, link)| !link.starts_with(&path));
        self.binds.push(path);
    }
}

/// What to show of `tools` when `hidden` (the directories the sandbox replaces) hides them.
pub(crate) fn exposure(tools: &[PathBuf], hidden: &[PathBuf]) -> ToolExposure {
    let is_hidden = |path: &Path| hidden.iter().any(|dir| path.starts_with(dir));
    let mut exposure = ToolExposure::default();
    for tool in tools {
        let canonical = fs_err::canonicalize(tool).unwrap_or_else(|_| tool.clone());
        if is_hidden(&canonical) {
            exposure.add_bind(install_root(&canonical, hidden));
        }
        if is_hidden(tool) && *tool != canonical && !exposure.covers(tool) {
            let link = (canonical.clone(), tool.clone());
            if !exposure.links.contains(&link) {
                exposure.links.push(link);
            }
        }
    }
    exposure.links.retain(|(_, link)| !exposure.binds.iter().any(|bind| link.starts_with(bind)));
    for bind in &exposure.binds {
        let npmrc = bind.join("etc/npmrc");
        if bind.is_dir() && npmrc.is_file() {
            exposure.hidden_files.push(npmrc);
        }
    }
    exposure
}

/// The smallest thing to show for a tool whose real path is `tool` (see the module header).
fn install_root(tool: &Path, hidden: &[PathBuf]) -> PathBuf {
    // Never the root, a hidden directory, or a directory holding one.
    let may_show = |dir: &Path| dir.parent().is_some() && !hidden.iter().any(|hidden| hidden.starts_with(dir));
    if let Some(package) = package_dir(tool) {
        // `D/lib/node_modules/npm` of a distribution `D`: the distribution.
        let modules = package.ancestors().find(|dir| dir.file_name().is_some_and(|name| name == "node_modules"));
        if let Some(lib) =
            modules.and_then(Path::parent).filter(|dir| dir.file_name().is_some_and(|name| name == "lib"))
            && let Some(distribution) = lib.parent()
            && is_node_distribution(distribution)
            && may_show(distribution)
        {
            return distribution.to_path_buf();
        }
        if may_show(&package) {
            return package;
        }
    }
    if let Some(bin) = tool.parent().filter(|dir| dir.file_name().is_some_and(|name| name == "bin"))
        && let Some(distribution) = bin.parent()
        && is_node_distribution(distribution)
        && may_show(distribution)
    {
        return distribution.to_path_buf();
    }
    tool.to_path_buf()
}

/// The outermost `…/node_modules/NAME` (or `…/node_modules/@SCOPE/NAME`) holding `path`.
fn package_dir(path: &Path) -> Option<PathBuf> {
    let components: Vec<_> = path.components().collect();
    let at = components.iter().position(|component| component.as_os_str() == "node_modules")?;
    let name = components.get(at + 1)?;
    let end = if name.as_os_str().to_str().is_some_and(|name| name.starts_with('@')) { at + 3 } else { at + 2 };
    // The package's directory, not the tool's own file.
    (end < components.len()).then(|| components[..end].iter().collect())
}

/// Whether `dir` holds exactly what a Node.js release unpacks to, and nothing else.
fn is_node_distribution(dir: &Path) -> bool {
    let only = |dir: &Path, allowed: &[&str]| -> bool {
        fs_err::read_dir(dir).is_ok_and(|entries| {
            entries.into_iter().all(|entry| {
                entry.is_ok_and(|entry| entry.file_name().to_str().is_some_and(|name| allowed.contains(&name)))
            })
        })
    };
    let is_file = |path: PathBuf| fs_err::symlink_metadata(path).is_ok_and(|meta| meta.is_file());
    let is_dir_or_absent = |path: PathBuf| fs_err::symlink_metadata(path).map_or(true, |meta| meta.is_dir());
    is_file(dir.join("bin/node"))
        && dir.join("include/node").is_dir()
        && only(dir, &["bin", "include", "lib", "share", "etc", "CHANGELOG.md", "LICENSE", "README.md"])
        && only(&dir.join("include"), &["node"])
        && ["lib", "share", "etc"].iter().all(|name| is_dir_or_absent(dir.join(name)))
        && (!dir.join("lib").exists() || only(&dir.join("lib"), &["node_modules"]))
        && (!dir.join("share").exists() || only(&dir.join("share"), &["doc", "man", "systemtap"]))
        && (!dir.join("etc").exists() || only(&dir.join("etc"), &["npmrc"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tree {
        dir: tempfile::TempDir,
    }

    impl Tree {
        fn new() -> Self {
            let tree = Self { dir: tempfile::tempdir().unwrap() };
            fs_err::create_dir_all(tree.path("home/.ssh")).unwrap();
            fs_err::write(tree.path("home/.ssh/id_ed25519"), "secret").unwrap();
            fs_err::write(tree.path("home/.npmrc"), "//registry.invalid/:_authToken=secret").unwrap();
            tree
        }

        fn path(&self, relative: &str) -> PathBuf {
            self.dir.path().join(relative)
        }

        fn file(&self, relative: &str) -> PathBuf {
            let path = self.path(relative);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(&path, "#!/bin/sh\n").unwrap();
            path
        }

        fn link(&self, target: &str, relative: &str) -> PathBuf {
            let path = self.path(relative);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, &path).unwrap();
            path
        }

        /// A Node.js release unpacked at `relative`.
        fn distribution(&self, relative: &str) {
            for file in [
                "bin/node",
                "include/node/node.h",
                "lib/node_modules/npm/bin/npm-cli.js",
                "lib/node_modules/npm/package.json",
                "share/doc/node/gdbinit",
                "share/man/man1/node.1",
                "CHANGELOG.md",
                "LICENSE",
                "README.md",
            ] {
                self.file(&format!("{relative}/{file}"));
            }
            self.link("../lib/node_modules/npm/bin/npm-cli.js", &format!("{relative}/bin/npm"));
        }

        fn exposure(&self, tools: &[PathBuf]) -> ToolExposure {
            let home = self.path("home");
            let exposure = exposure(tools, &[home.clone(), self.path("tmp")]);
            for shown in &exposure.binds {
                assert!(!home.starts_with(shown), "{} shows the home directory", shown.display());
            }
            exposure
        }
    }

    #[test]
    fn a_tool_in_a_bin_directory_of_the_home_shows_only_itself() {
        let tree = Tree::new();
        let node = tree.file("home/bin/node");
        let exposure = tree.exposure(std::slice::from_ref(&node));
        assert_eq!(exposure.binds, [node]);
        assert!(exposure.links.is_empty() && exposure.hidden_files.is_empty());
    }

    #[test]
    fn a_link_in_the_home_to_a_system_tool_is_made_again_and_shows_nothing() {
        let tree = Tree::new();
        let system = tree.file("usr/bin/node");
        let link = tree.link(system.to_str().unwrap(), "home/bin/node");
        let exposure = tree.exposure(std::slice::from_ref(&link));
        assert!(exposure.binds.is_empty(), "{exposure:?}");
        assert_eq!(exposure.links, [(system, link)]);
    }

    #[test]
    fn a_local_prefix_shows_its_tools_not_the_prefix() {
        let tree = Tree::new();
        tree.file("home/.local/share/keyrings/login.keyring");
        let node = tree.file("home/.local/bin/node");
        tree.file("home/.local/lib/node_modules/npm/package.json");
        let cli = tree.file("home/.local/lib/node_modules/npm/bin/npm-cli.js");
        let npm = tree.link("../lib/node_modules/npm/bin/npm-cli.js", "home/.local/bin/npm");
        let exposure = tree.exposure(&[node.clone(), npm.clone()]);
        let package = tree.path("home/.local/lib/node_modules/npm");
        assert_eq!(exposure.binds, [node, package]);
        assert_eq!(exposure.links, [(fs_err::canonicalize(&cli).unwrap(), npm)]);
    }

    #[test]
    fn a_node_distribution_under_the_home_is_shown_whole_with_its_npmrc_hidden() {
        let tree = Tree::new();
        let root = "home/.nvm/versions/node/v20.11.0";
        tree.distribution(root);
        tree.file(&format!("{root}/etc/npmrc"));
        let tools = [tree.path(&format!("{root}/bin/node")), tree.path(&format!("{root}/bin/npm"))];
        let exposure = tree.exposure(&tools);
        assert_eq!(exposure.binds, [fs_err::canonicalize(tree.path(root)).unwrap()]);
        assert!(exposure.links.is_empty(), "{exposure:?}");
        assert_eq!(exposure.hidden_files, [fs_err::canonicalize(tree.path(root)).unwrap().join("etc/npmrc")]);
    }

    #[test]
    fn a_directory_holding_more_than_a_distribution_is_not_one() {
        let tree = Tree::new();
        tree.distribution("home/node");
        tree.file("home/node/notes.txt");
        let node = tree.path("home/node/bin/node");
        assert_eq!(tree.exposure(std::slice::from_ref(&node)).binds, [node]);
        // The home directory itself, even when it holds exactly a distribution.
        let tree = Tree::new();
        fs_err::remove_dir_all(tree.path("home")).unwrap();
        tree.distribution("home");
        let node = tree.path("home/bin/node");
        assert_eq!(tree.exposure(std::slice::from_ref(&node)).binds, [node]);
    }

    #[test]
    fn tools_outside_hidden_directories_need_nothing() {
        let tree = Tree::new();
        tree.distribution("opt/node");
        let tools = [tree.path("opt/node/bin/node"), tree.path("opt/node/bin/npm")];
        assert_eq!(tree.exposure(&tools), ToolExposure::default());
    }

    #[test]
    fn packages() {
        let check = |path: &str, expected: Option<&str>| {
            assert_eq!(package_dir(Path::new(path)), expected.map(PathBuf::from), "{path}");
        };
        check("/a/lib/node_modules/npm/bin/npm-cli.js", Some("/a/lib/node_modules/npm"));
        check("/a/node_modules/@yarnpkg/cli-dist/bin/yarn.js", Some("/a/node_modules/@yarnpkg/cli-dist"));
        check("/a/node_modules/x/node_modules/y/bin.js", Some("/a/node_modules/x"));
        check("/a/node_modules/npm", None);
        check("/a/bin/node", None);
    }
}
