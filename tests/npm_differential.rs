//! provdiff's packer against the real npm: hundreds of source trees (hand-picked ones from the
//! research into npm's behaviour, and random combinations of `files`, ignore files at several
//! depths, dotfiles, case variants, bundled dependencies, bin targets, symlinks and workspaces)
//! packed by every npm release in `tests/npm/versions.txt` with npm's own packing code, and by
//! provdiff with the rules of that release's era. The uncompressed tar streams must be identical;
//! and for every tree, the real `npm pack --dry-run --json --ignore-scripts` of npm 9, 10 and 11
//! must list provdiff's files (path, mode, size) and the integrity of provdiff's `.tgz`.
//!
//! The npm releases are installed by `cargo xtask npm-versions` (as `.ci/run` does); without them
//! the test says so and skips, unless `PROVDIFF_REQUIRE_NPM=1` makes their absence a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::Read;
mod support;

use std::path::{Path, PathBuf};

/// A deterministic random source (SplitMix64), so every run generates the same trees.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

#[derive(Default, Clone)]
struct Tree {
    /// path → (content, mode)
    files: BTreeMap<String, (String, u32)>,
    /// path → link target
    links: BTreeMap<String, String>,
    /// Pack this workspace (relative path) the way `npm pack` inside it does.
    pack_target: Option<String>,
}

impl Tree {
    fn file(&mut self, path: &str, content: &str) -> &mut Self {
        self.files.insert(path.to_string(), (content.to_string(), 0o644));
        self
    }
    fn json(&mut self, path: &str, value: serde_json::Value) -> &mut Self {
        self.file(path, &format!("{}\n", serde_json::to_string_pretty(&value).unwrap()))
    }
    fn write(&self, dir: &Path) {
        for (path, (content, mode)) in &self.files {
            let full = dir.join(path);
            fs_err::create_dir_all(full.parent().unwrap()).unwrap();
            fs_err::write(&full, content).unwrap();
            set_mode(&full, *mode);
        }
        for (path, target) in &self.links {
            let full = dir.join(path);
            fs_err::create_dir_all(full.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, &full).unwrap();
        }
        if let Some(target) = &self.pack_target {
            fs_err::write(dir.join(".provdiff-pack-target"), target).unwrap();
        }
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn pkg(extra: serde_json::Value) -> serde_json::Value {
    let mut value = serde_json::json!({"name": "x", "version": "1.0.0"});
    for (key, field) in extra.as_object().unwrap() {
        value[key] = field.clone();
    }
    value
}

/// Hand-picked trees: the tricky cases the research checked against real npm, and more.
fn hand_picked() -> Vec<(String, Tree)> {
    use serde_json::json;
    let mut trees = Vec::new();
    let mut add = |name: &str, build: &dyn Fn(&mut Tree)| {
        let mut tree = Tree::default();
        build(&mut tree);
        trees.push((name.to_string(), tree));
    };
    add("files-slash-and-dotslash", &|t| {
        t.json("package.json", pkg(json!({"files": ["/a", "./b", "d/*", "/index.js", "lib/*.d.ts"]})));
        t.file("a/x.js", "").file("b/y.js", "").file("d/x.js", "").file("d/s/y.js", "");
        t.file("index.js", "").file("lib/index.js", "").file("lib/t.d.ts", "");
    });
    add("files-negations-order", &|t| {
        t.json("package.json", pkg(json!({"files": ["!lib/test", "lib", "!lib/secret.js", "!*.map"]})));
        t.file("lib/a.js", "")
            .file("lib/secret.js", "")
            .file("lib/sub/secret.js", "")
            .file("lib/test/t.js", "")
            .file("lib/a.js.map", "");
    });
    add("files-root-ignores-dropped-nested-kept", &|t| {
        t.json("package.json", pkg(json!({"files": ["lib"]})));
        t.file(".npmignore", "lib/b.js\n").file(".gitignore", "lib/c.js\n");
        t.file("lib/b.js", "")
            .file("lib/c.js", "")
            .file("lib/d/.npmignore", "e.js\n")
            .file("lib/d/e.js", "")
            .file("lib/d/f.js", "");
    });
    add("required-files-one-level-only", &|t| {
        t.json("package.json", pkg(json!({"files": ["lib/b.js", "lib/a.orig", "lib/sub/z.js"]})));
        t.file("lib/.npmignore", "b.js\n").file("lib/b.js", "").file("lib/a.orig", "");
        t.file("lib/sub/.gitignore", "z.js\n").file("lib/sub/z.js", "");
    });
    add("directory-rule-stops-descent-only", &|t| {
        t.json("package.json", pkg(json!({"main": "lib/main.js"})));
        t.file(".npmignore", "dir/\n!dir/keep.js\nlib\n").file("dir/a.js", "").file("dir/keep.js", "");
        t.file("lib/main.js", "").file("lib/other.js", "");
    });
    add("trailing-slash-at-depth", &|t| {
        t.json("package.json", pkg(json!({})));
        t.file(".gitignore", "dist/\n/build\nfoo/bar.js\n").file("sub/dist/a.js", "").file("sub/build/a.js", "");
        t.file("sub/foo/bar.js", "").file("build/x.js", "");
    });
    add("forced-docs", &|t| {
        t.json("package.json", pkg(json!({"files": ["dist"]})));
        for name in [
            "README",
            "readme.markdown",
            "README.md.bak",
            "LICENCE",
            "LICENSE.md",
            "COPYING.txt",
            "README-foo.md",
            "readme.",
            "license-MIT",
            "Readme.txt~",
            "CHANGELOG.md",
            "NOTICE",
        ] {
            t.file(name, name);
        }
        t.file("dist/index.js", "").file("dist/README.md", "").file("docs/README.md", "");
    });
    add("main-browser-bin", &|t| {
        t.json("package.json", pkg(json!({"files": ["lib"], "main": "./main.js", "browser": "browser.js", "bin": {"a": "./bin/a.js", "b": "bin/b", "c": "cli.js"}})));
        t.file("main.js", "").file("browser.js", "").file("bin/a.js", "").file("bin/b", "").file("lib/x.js", "");
        t.file("cli.js", "").file("x/cli.js", "");
    });
    add("always-excluded", &|t| {
        t.json("package.json", pkg(json!({})));
        for name in [
            ".npmrc",
            "a.orig",
            "package-lock.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            "bun.lockb",
            "npm-debug.log",
            ".DS_Store",
            "._x",
            ".x.swp",
            ".lock-wscript",
            ".wafpickle-3",
            "build/config.gypi",
            "archived-packages/a.tgz",
            "CVS/x",
            ".svn/x",
            ".hg/x",
            "node_modules/y/index.js",
        ] {
            t.file(name, "");
        }
        for name in [
            "sub/.npmrc",
            "sub/a.orig",
            "sub/package-lock.json",
            "sub/yarn.lock",
            "sub/bun.lockb",
            "sub/node_modules/y/index.js",
            "sub/.DS_Store",
            "npm-shrinkwrap.json",
            ".env",
            ".github/workflows/x.yml",
        ] {
            t.file(name, "");
        }
    });
    add("files-overrides-defaults-at-root", &|t| {
        t.json(
            "package.json",
            pkg(json!({"files": [".gitignore", ".npmignore", ".npmrc", "*", "package-lock.json", "node_modules"]})),
        );
        t.file(".gitignore", "x\n")
            .file(".npmignore", "y\n")
            .file(".npmrc", "")
            .file("package-lock.json", "{}")
            .file(".DS_Store", "");
        t.file("a.orig", "")
            .file("lib/.DS_Store", "")
            .file("lib/.npmrc", "")
            .file("lib/a.js", "")
            .file("node_modules/z/i.js", "");
    });
    add("glob-syntax", &|t| {
        t.json("package.json", pkg(json!({})));
        t.file(".npmignore", "*.{c,h}\n[ab].txt\nq?.md\n+(k|l).js\n@(m).js\n[[:digit:]]x.txt\n**/t/**\nw/**/z.js\n\\!bang.js\nspace\\ .js\n#notcomment.js\n\\#hash.js\ntrail/\n**/deepdir\nx/*/y.js\n");
        for name in [
            "a.c",
            "b.h",
            "a.txt",
            "c.txt",
            "qq.md",
            "qqq.md",
            "k.js",
            "kl.js",
            "m.js",
            "keep.js",
            "1x.txt",
            "t/a.js",
            "sub/t/b.js",
            "w/z.js",
            "w/a/b/z.js",
            "!bang.js",
            "space .js",
            "#notcomment.js",
            "#hash.js",
            "trail/a.js",
            "sub/deepdir/x.js",
            "x/q/y.js",
            "x/y.js",
        ] {
            t.file(name, name);
        }
    });
    add("case-variants", &|t| {
        t.json("package.json", pkg(json!({"files": ["LIB", "Readme.md", "*.JS"]})));
        t.file("lib/a.js", "")
            .file("Readme.md", "")
            .file("README.MD", "")
            .file("A.JS", "")
            .file("b.js", "")
            .file("sub/c.Js", "");
    });
    add("modes", &|t| {
        t.json("package.json", pkg(json!({"bin": "cli.js"})));
        t.file("cli.js", "").file("lib/cli.js", "").file("a.sh", "").file("private.js", "").file("group.js", "");
        t.files.get_mut("a.sh").unwrap().1 = 0o755;
        t.files.get_mut("private.js").unwrap().1 = 0o600;
        t.files.get_mut("group.js").unwrap().1 = 0o664;
    });
    add("long-and-unicode-names", &|t| {
        t.json("package.json", pkg(json!({})));
        t.file(&format!("{}.js", "n".repeat(92)), "").file(&format!("{}.js", "m".repeat(120)), "");
        t.file(&format!("{}/{}/{}/x.js", "h".repeat(40), "h".repeat(40), "h".repeat(40)), "");
        t.file("héllo.js", "").file("ü/a.js", "").file("日本.js", "");
    });
    add("symlinks", &|t| {
        t.json("package.json", pkg(json!({"files": ["lib", "link.js"], "main": "link.js"})));
        t.file("lib/a.js", "").file("target.js", "");
        t.links.insert("link.js".into(), "target.js".into());
        t.links.insert("lib/dir".into(), "../lib".into());
        t.links.insert("lib/dangling.js".into(), "nowhere.js".into());
    });
    add("bundled", &|t| {
        t.json("package.json", pkg(json!({"dependencies": {"a": "1", "c": "1"}, "devDependencies": {"d": "1"}, "bundleDependencies": ["a", "d", "missing"]})));
        t.json("node_modules/a/package.json", json!({"name": "a", "version": "1.0.0", "dependencies": {"c": "1"}}));
        t.file("node_modules/a/.npmignore", "ignored.js\n")
            .file("node_modules/a/ignored.js", "")
            .file("node_modules/a/.DS_Store", "");
        t.file("node_modules/a/x.orig", "")
            .file("node_modules/a/test/t.js", "")
            .file("node_modules/a/sub/.DS_Store", "");
        t.file("node_modules/a/node_modules/nested/index.js", "");
        t.json("node_modules/c/package.json", json!({"name": "c", "version": "1.0.0", "files": ["lib"]}));
        t.file("node_modules/c/lib/c.js", "").file("node_modules/c/other.js", "");
        t.json("node_modules/d/package.json", json!({"name": "d", "version": "1.0.0"}));
        t.file("node_modules/.bin/x", "");
    });
    add("bundle-true", &|t| {
        t.json(
            "package.json",
            pkg(json!({"dependencies": {"a": "1"}, "optionalDependencies": {"o": "1"}, "bundleDependencies": true})),
        );
        t.json("node_modules/a/package.json", json!({"name": "a", "version": "1.0.0"}));
        t.file("node_modules/a/index.js", "");
        t.json("node_modules/o/package.json", json!({"name": "o", "version": "1.0.0"}));
    });
    add("directories-bin", &|t| {
        t.json("package.json", pkg(json!({"files": ["lib"], "directories": {"bin": "bins"}})));
        t.file("bins/tool", "").file("bins/.hidden", "").file("bins/sub/other", "").file("lib/x.js", "");
    });
    add("workspace-quirk", &|t| {
        t.json("package.json", pkg(json!({"workspaces": ["packages/*"]})));
        t.file("lib/package.json", "{\n\"type\": \"module\"\n}\n")
            .file("lib/.npmignore", "l.js\n")
            .file("lib/l.js", "")
            .file("lib/m.js", "");
        t.file("other/.npmignore", "o.js\n").file("other/o.js", "");
    });
    add("workspace-member", &|t| {
        t.json("package.json", json!({"name": "root", "version": "1.0.0", "workspaces": ["packages/*"]}));
        t.file(".gitignore", "gitroot.js\n").file("root.js", "").file("packages/.npmignore", "pkgsign.js\n");
        t.json("packages/a/package.json", json!({"name": "a", "version": "1.0.0"}));
        t.file("packages/a/index.js", "").file("packages/a/gitroot.js", "").file("packages/a/pkgsign.js", "");
        t.file("packages/a/sub/.npmignore", "s.js\n").file("packages/a/sub/s.js", "");
        t.pack_target = Some("packages/a".into());
    });
    add("order", &|t| {
        t.json("package.json", pkg(json!({})));
        for name in [
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
            "é.js",
            "f.js",
            "index.js",
            "lib/index.js",
            ".eslintrc.json",
            "tsconfig.json",
            "x.json",
            "README.md",
            "a.mjs",
            "a.d.ts",
            "a.ts",
            "@scope.js",
        ] {
            t.file(name, name);
        }
        t.file("@types/x.d.ts", "");
    });
    add("empty-files-list", &|t| {
        t.json("package.json", pkg(json!({"files": []})));
        t.file("README.md", "").file("LICENSE", "").file("index.js", "");
    });
    add("files-dot", &|t| {
        t.json("package.json", pkg(json!({"files": ["."]})));
        t.file("README.md", "").file("index.js", "");
    });
    trees
}

const DIRS: &[&str] = &[
    "lib",
    "src",
    "dist",
    "bin",
    "test",
    "docs",
    "sub",
    "a",
    "B",
    "build",
    ".github",
    ".hidden",
    "node_modules",
    "types",
];
const NAMES: &[&str] = &[
    "index.js",
    "a.js",
    "B.JS",
    "util.ts",
    "a.d.ts",
    "a.js.map",
    "README.md",
    "readme.markdown",
    "LICENSE",
    "licence.txt",
    "COPYING",
    "CHANGELOG.md",
    ".npmrc",
    ".DS_Store",
    "x.orig",
    ".eslintrc",
    "package-lock.json",
    "yarn.lock",
    "Makefile",
    "npm-debug.log",
    "data.json",
    "style.css",
    "keep.js",
    "secret.js",
    "cli",
    ".env",
    "x.swp",
    ".x.swp",
];
const RULES: &[&str] = &[
    "*.md",
    "test",
    "test/",
    "/build",
    "*.map",
    "!keep.js",
    "!lib/keep.js",
    "dist/",
    "*.orig",
    "docs/README.md",
    "sub/a.js",
    "!sub/a.js",
    "**/secret.js",
    "B.JS",
    "lib/**",
    "!lib/index.js",
    "*.ts",
    "!*.d.ts",
    "/src",
    "# comment",
    "",
    ".*",
    "!.eslintrc",
    "*",
    "!dist/**",
    "types/",
    "*.json",
    "!package.json",
    "a",
];
const FILES_ENTRIES: &[&str] = &[
    "lib",
    "lib/",
    "./lib",
    "/lib",
    "lib/*",
    "lib/**",
    "lib/*.js",
    "dist",
    "*.md",
    "bin",
    "index.js",
    "/index.js",
    "./index.js",
    "src/**/*.ts",
    "!lib/secret.js",
    "!test",
    "types/*.d.ts",
    "README.md",
    "docs/*",
    "*.js",
    "LIB",
    "missing",
    "a.js",
];

fn random_tree(rng: &mut Rng) -> Tree {
    use serde_json::json;
    let mut tree = Tree::default();
    let mut paths = Vec::new();
    for _ in 0..4 + rng.below(14) {
        let depth = rng.below(3);
        let mut dirs: Vec<&str> = (0..depth).map(|_| rng.pick(DIRS)).collect();
        dirs.dedup();
        let name = rng.pick(NAMES);
        let path = dirs.iter().chain(std::iter::once(&name)).copied().collect::<Vec<_>>().join("/");
        // A path cannot be both a file and a directory.
        if paths.iter().any(|p: &String| p.starts_with(&format!("{path}/")) || path.starts_with(&format!("{p}/"))) {
            continue;
        }
        let mode = match rng.below(10) {
            0 => 0o755,
            1 => 0o600,
            2 => 0o664,
            _ => 0o644,
        };
        tree.files.insert(path.clone(), (format!("// {path}\n"), mode));
        paths.push(path);
    }
    let mut manifest = pkg(json!({}));
    if rng.chance(55) {
        let entries: Vec<&str> = (0..1 + rng.below(4)).map(|_| rng.pick(FILES_ENTRIES)).collect();
        manifest["files"] = json!(entries);
    }
    if rng.chance(30) && !paths.is_empty() {
        let main = paths[rng.below(paths.len())].clone();
        manifest["main"] = json!(if rng.chance(30) { format!("./{main}") } else { main });
    }
    if rng.chance(30) && !paths.is_empty() {
        let bin = paths[rng.below(paths.len())].clone();
        manifest["bin"] = if rng.chance(50) { json!(bin) } else { json!({"tool": format!("./{bin}")}) };
    }
    if rng.chance(10) && !paths.is_empty() {
        manifest["browser"] = json!(paths[rng.below(paths.len())].clone());
    }
    if rng.chance(12) {
        manifest["dependencies"] = json!({"dep": "1.0.0"});
        manifest["bundleDependencies"] = json!(["dep"]);
        tree.json("node_modules/dep/package.json", json!({"name": "dep", "version": "1.0.0"}));
        tree.file("node_modules/dep/index.js", "dep").file("node_modules/dep/.npmignore", "index.js\n");
    }
    // Ignore files at the root and below, sometimes both kinds in one directory.
    let mut dirs: Vec<String> = paths.iter().filter_map(|p| p.rsplit_once('/').map(|(d, _)| d.to_string())).collect();
    dirs.push(String::new());
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        for name in [".npmignore", ".gitignore"] {
            if rng.chance(if dir.is_empty() { 45 } else { 20 }) {
                let rules: Vec<&str> = (0..1 + rng.below(4)).map(|_| rng.pick(RULES)).collect();
                let path = if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") };
                let crlf = rng.chance(10);
                tree.file(&path, &(rules.join(if crlf { "\r\n" } else { "\n" }) + "\n"));
            }
        }
    }
    if rng.chance(8) && !paths.is_empty() {
        tree.links.insert("linked.js".into(), paths[0].clone());
    }
    tree.json("package.json", manifest);
    tree
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn entry_names(tar: &[u8]) -> Vec<String> {
    let mut archive = tar::Archive::new(tar);
    archive.entries().unwrap().map(|e| String::from_utf8_lossy(&e.unwrap().path_bytes()).into_owned()).collect()
}

/// What provdiff packs from `dir` for npm `version`.
fn provdiff_pack(tree_dir: &Path, tree: &Tree, version: &str) -> Result<Vec<u8>, String> {
    let rules = provdiff_npm::NpmRules::for_npm_version(version).ok_or("no era for this npm")?;
    let (dir, workspace) = match &tree.pack_target {
        Some(target) => {
            let workspace = provdiff_npm::find_workspace(target, |path| std::fs::read(tree_dir.join(path)).ok());
            (tree_dir.join(target), workspace)
        }
        None => (tree_dir.to_path_buf(), None),
    };
    let source = provdiff_npm::DirSource::open(&dir).map_err(|e| e.to_string())?;
    let packed = provdiff_npm::pack(&source, rules, workspace.as_ref()).map_err(|e| format!("{e:#}"))?;
    Ok(packed.tar)
}

#[test]
fn provdiff_packs_what_npm_packs() {
    let Some(installs) = support::installed_npm_releases() else { return };
    let work = tempfile::tempdir().unwrap();
    // PROVDIFF_KEEP_TREES=DIR keeps the generated trees and npm's tarballs there, for debugging.
    let work_path =
        std::env::var_os("PROVDIFF_KEEP_TREES").map(PathBuf::from).unwrap_or_else(|| work.path().to_path_buf());
    let trees = all_trees();
    assert!(trees.len() >= 200);
    let tree_dirs: Vec<PathBuf> = trees
        .iter()
        .map(|(name, tree)| {
            let dir = work_path.join("trees").join(name);
            tree.write(&dir);
            dir
        })
        .collect();

    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm/pack-with-npm.js");
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for version in support::npm_versions() {
        let npm = support::npm_package(&installs, &version);
        let out = work_path.join("out").join(&version);
        fs_err::create_dir_all(&out).unwrap();
        let status = std::process::Command::new("node")
            .arg(&runner)
            .arg(&npm)
            .arg(work_path.join("cache"))
            .arg(&out)
            .args(&tree_dirs)
            .status()
            .unwrap();
        assert!(status.success(), "the npm runner failed for npm@{version}");
        for ((name, tree), dir) in trees.iter().zip(&tree_dirs) {
            let theirs = match fs_err::read(out.join(format!("{name}.tgz"))) {
                Ok(tgz) => Ok(gunzip(&tgz)),
                Err(_) => Err(fs_err::read_to_string(out.join(format!("{name}.error"))).unwrap_or_default()),
            };
            let ours = provdiff_pack(dir, tree, &version);
            compared += 1;
            match (&ours, &theirs) {
                (Ok(ours), Ok(theirs)) if ours == theirs => {}
                (Ok(ours), Ok(theirs)) => {
                    let (ours, theirs) = (entry_names(ours), entry_names(theirs));
                    let detail = if ours == theirs {
                        "same entries, different bytes".to_string()
                    } else {
                        let only_ours: Vec<_> = ours.iter().filter(|e| !theirs.contains(e)).collect();
                        let only_theirs: Vec<_> = theirs.iter().filter(|e| !ours.contains(e)).collect();
                        format!("only provdiff: {only_ours:?}; only npm: {only_theirs:?}; order npm: {theirs:?}")
                    };
                    disagreements.push(format!("{name} npm@{version}: {detail}"));
                }
                (Err(ours), Ok(_)) => disagreements.push(format!("{name} npm@{version}: provdiff failed: {ours}")),
                // npm refused the tree: provdiff must not claim to reproduce it either.
                (Ok(_), Err(theirs)) => {
                    disagreements.push(format!("{name} npm@{version}: npm failed ({theirs}), provdiff packed"))
                }
                (Err(_), Err(_)) => {}
            }
        }
    }
    eprintln!("compared {compared} tarballs ({} trees × npm releases)", trees.len());
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
}

/// The trees the differential tests pack: the hand-picked ones and 220 random ones.
fn all_trees() -> Vec<(String, Tree)> {
    let mut trees = hand_picked();
    let mut rng = Rng(0x5EED_0F9E_0F1E);
    for index in 0..220 {
        trees.push((format!("random-{index:03}"), random_tree(&mut rng)));
    }
    trees
}

/// `npm pack --dry-run --json --ignore-scripts` through the real command line of one release per
/// major, over every tree: the files (path, mode, size) npm lists and the integrity of the `.tgz`
/// it would write must be provdiff's, the `.tgz` compressed as npm on this Node.js compresses.
/// The directories go to one `npm pack` as folder specs; a workspace is packed from inside it.
#[test]
fn npm_pack_dry_run_json_lists_what_provdiff_packs() {
    let Some(installs) = support::installed_npm_releases() else { return };
    let work = tempfile::tempdir().unwrap();
    let trees = all_trees();
    let tree_dirs: Vec<PathBuf> = trees
        .iter()
        .map(|(name, tree)| {
            let dir = work.path().join("trees").join(name);
            tree.write(&dir);
            dir
        })
        .collect();
    fs_err::write(work.path().join("empty-npmrc"), "").unwrap();
    let npm_pack = |version: &str, cwd: &Path, specs: &[&PathBuf]| -> Vec<serde_json::Value> {
        let cli = installs.join(version).join("node_modules/npm/bin/npm-cli.js");
        assert!(cli.exists(), "npm@{version} is not installed (run `cargo xtask npm-versions`)");
        let output = std::process::Command::new("node")
            .arg(&cli)
            .args(["pack", "--dry-run", "--json", "--ignore-scripts", "--cache"])
            .arg(work.path().join("cache"))
            .args(specs)
            .current_dir(cwd)
            .env("npm_config_userconfig", work.path().join("empty-npmrc"))
            .env("npm_config_update_notifier", "false")
            .output()
            .unwrap();
        assert!(output.status.success(), "npm@{version} pack failed: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<Vec<serde_json::Value>>(&output.stdout).unwrap()
    };
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for version in ["9.9.4", "10.9.8", "11.21.2"] {
        // Trees npm refuses (the libnpmpack test covers those) would fail the whole batch.
        let packable: Vec<usize> =
            (0..trees.len()).filter(|&i| provdiff_pack(&tree_dirs[i], &trees[i].1, version).is_ok()).collect();
        let (in_place, batched): (Vec<usize>, Vec<usize>) =
            packable.into_iter().partition(|&i| trees[i].1.pack_target.is_some());
        let mut reports: Vec<(usize, serde_json::Value)> = batched
            .iter()
            .copied()
            .zip(npm_pack(version, work.path(), &batched.iter().map(|&i| &tree_dirs[i]).collect::<Vec<_>>()))
            .collect();
        for i in in_place {
            let target = tree_dirs[i].join(trees[i].1.pack_target.as_deref().unwrap());
            reports.extend(npm_pack(version, &target, &[]).into_iter().map(|report| (i, report)));
        }
        for (i, theirs) in reports {
            let (name, tree) = &trees[i];
            let ours = provdiff_pack(&tree_dirs[i], tree, version).unwrap();
            compared += 1;
            let mut our_files: Vec<(String, u64, u64)> = tar_files(&ours);
            let mut their_files: Vec<(String, u64, u64)> = theirs["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (f["path"].as_str().unwrap().to_string(), f["mode"].as_u64().unwrap(), f["size"].as_u64().unwrap())
                })
                .collect();
            our_files.sort();
            their_files.sort();
            if our_files != their_files {
                disagreements.push(format!("{name} npm@{version}: files {our_files:?} vs npm's {their_files:?}"));
                continue;
            }
            let tgz = provdiff_npm::gzip(&ours);
            let integrity = provdiff_core::Sha512::digest(&tgz).to_integrity();
            if theirs["integrity"].as_str() != Some(integrity.as_str()) {
                disagreements
                    .push(format!("{name} npm@{version}: integrity {integrity} vs npm's {}", theirs["integrity"]));
            }
        }
    }
    eprintln!("compared {compared} dry runs ({} trees × 3 npm releases)", trees.len());
    assert!(compared >= 600, "only {compared} trees could be compared");
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
}

/// The regular files of a tar stream: path without `package/`, mode and size.
fn tar_files(tar: &[u8]) -> Vec<(String, u64, u64)> {
    let mut archive = tar::Archive::new(tar);
    archive
        .entries()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let path = String::from_utf8_lossy(&entry.path_bytes()).trim_start_matches("package/").to_string();
            (path, u64::from(entry.header().mode().unwrap()), entry.header().size().unwrap())
        })
        .collect()
}
