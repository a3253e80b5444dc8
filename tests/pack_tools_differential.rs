//! provdiff's `package.json` rules against the real `pnpm pack` and `yarn pack` (yarn berry):
//! generated workspaces (a root with a licence, workspace packages, catalogs; a package using
//! `workspace:*`/`^`/`~`, aliases and paths, `catalog:` and `catalog:NAME`, `jsr:`,
//! `publishConfig` with `main`/`exports`/`bin`/`types`/`access`/`registry`, a `packageManager`
//! field, lifecycle scripts and install hooks, no licence of its own) are packed by each tool in
//! `tests/npm/pack-tools.txt`. provdiff must explain every difference from its own npm-style
//! repack (the rewritten `package.json`, the files the tool adds, the modes it sets) and find a
//! mismatch once the test tampers with the tool's output.
//!
//! yarn 1 rewrites nothing: its `package.json` must come out byte for byte, and provdiff must
//! detect it as yarn 1 from its lockfile.
//!
//! The tools are installed by `cargo xtask pack-tools` (as `.ci/run` does); without them the test
//! says so and skips, unless `PROVDIFF_REQUIRE_NPM=1` makes their absence a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use provdiff_core::{Code, FileEntry, FileTree, Severity};
use provdiff_diff::{CompareOptions, TreeComparison, compare_trees};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pnpm,
    Yarn,
    YarnClassic,
}

#[derive(Debug)]
struct Tool {
    kind: Kind,
    version: String,
    /// The tool's JavaScript entry point, run with `node`.
    entry: PathBuf,
}

impl Tool {
    fn major(&self) -> u64 {
        self.version.split('.').next().and_then(|major| major.parse().ok()).unwrap_or(0)
    }

    fn package_manager(&self) -> String {
        match self.kind {
            Kind::Pnpm => format!("pnpm@{}", self.version),
            Kind::Yarn | Kind::YarnClassic => format!("yarn@{}", self.version),
        }
    }
}

fn require_tools() -> bool {
    std::env::var("PROVDIFF_REQUIRE_NPM").is_ok_and(|value| value == "1")
}

/// The installed tools, or `None` (after saying why) when the test must skip.
fn tools() -> Option<Vec<Tool>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("PROVDIFF_PACK_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/pack-tools"));
    let specs = fs_err::read_to_string(root.join("tests/npm/pack-tools.txt")).unwrap();
    let mut tools = Vec::new();
    let mut missing = Vec::new();
    for spec in specs.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')) {
        let at = spec.rfind('@').unwrap();
        let (name, version) = (&spec[..at], &spec[at + 1..]);
        let modules = dir.join(spec.replace('/', "+")).join("node_modules");
        let (kind, entry) = match name {
            "pnpm" => (Kind::Pnpm, modules.join("pnpm/bin/pnpm.cjs")),
            "@yarnpkg/cli-dist" => (Kind::Yarn, modules.join("@yarnpkg/cli-dist/bin/yarn.js")),
            "yarn" => (Kind::YarnClassic, modules.join("yarn/bin/yarn.js")),
            other => panic!("tests/npm/pack-tools.txt names {other}, which this test does not know how to run"),
        };
        if entry.is_file() {
            tools.push(Tool { kind, version: version.to_string(), entry });
        } else {
            missing.push(spec.to_string());
        }
    }
    let node = Command::new("node").arg("--version").output().is_ok_and(|output| output.status.success());
    let problem = if !node {
        Some("there is no `node` to run the tools with".to_string())
    } else if !missing.is_empty() {
        Some(format!("{} not installed (run `cargo xtask pack-tools`)", missing.join(", ")))
    } else {
        None
    };
    match problem {
        Some(problem) if require_tools() => panic!("PROVDIFF_REQUIRE_NPM=1 but {problem}"),
        Some(problem) => {
            eprintln!("skipping: {problem}");
            None
        }
        None => Some(tools),
    }
}

/// A workspace on disk: files with modes, and the links `pnpm install` would have made.
#[derive(Default)]
struct Workspace {
    files: BTreeMap<String, (Vec<u8>, u32)>,
    links: Vec<(String, String)>,
}

impl Workspace {
    fn file(&mut self, path: &str, content: &str) -> &mut Self {
        self.files.insert(path.to_string(), (content.as_bytes().to_vec(), 0o644));
        self
    }

    fn executable(&mut self, path: &str, content: &str) -> &mut Self {
        self.files.insert(path.to_string(), (content.as_bytes().to_vec(), 0o755));
        self
    }

    /// A `package.json` written the way people write them: four-space indentation, final newline.
    fn json(&mut self, path: &str, value: &serde_json::Value) -> &mut Self {
        let mut text = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut serializer = serde_json::Serializer::with_formatter(&mut text, formatter);
        serde::Serialize::serialize(value, &mut serializer).unwrap();
        text.push(b'\n');
        self.file(path, std::str::from_utf8(&text).unwrap())
    }

    fn link(&mut self, path: &str, target: &str) -> &mut Self {
        self.links.push((path.to_string(), target.to_string()));
        self
    }

    fn write(&self, dir: &Path) {
        use std::os::unix::fs::PermissionsExt;
        for (path, (content, mode)) in &self.files {
            let full = dir.join(path);
            fs_err::create_dir_all(full.parent().unwrap()).unwrap();
            fs_err::write(&full, content).unwrap();
            fs_err::set_permissions(&full, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        for (path, target) in &self.links {
            let full = dir.join(path);
            fs_err::create_dir_all(full.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, &full).unwrap();
        }
    }
}

/// The root of every workspace: a private root package naming the tool, a licence, the tool's
/// workspace and catalog configuration, a lockfile, and three workspace packages.
fn workspace_root(tool: &Tool) -> Workspace {
    use serde_json::json;
    let mut workspace = Workspace::default();
    let mut root = json!({"name": "root", "private": true, "packageManager": tool.package_manager()});
    match tool.kind {
        Kind::Pnpm => {
            workspace.file(
                "pnpm-workspace.yaml",
                "packages:\n  - packages/*\ncatalog:\n  lodash: ^4.17.21\n  typescript: ~5.6.0\ncatalogs:\n  react18:\n    react: ^18.2.0\n",
            );
            workspace.file("pnpm-lock.yaml", "lockfileVersion: '9.0'\n");
            workspace.file("LICENSE.md", "The root's licence, as Markdown.\n");
        }
        Kind::Yarn => {
            root["workspaces"] = json!(["packages/*"]);
            workspace.file(
                ".yarnrc.yml",
                "enableTelemetry: false\ncatalog:\n  lodash: ^4.17.21\n  typescript: npm:~5.6.0\ncatalogs:\n  react18:\n    react: ^18.2.0\n",
            );
            workspace.file(
                "yarn.lock",
                "# This file is generated by running \"yarn install\" inside your project.\n# Manual changes might be lost - proceed with caution!\n\n__metadata:\n  version: 8\n  cacheKey: 10\n",
            );
        }
        Kind::YarnClassic => {
            root["workspaces"] = json!(["packages/*"]);
            workspace.file(
                "yarn.lock",
                "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n",
            );
        }
    }
    workspace.json("package.json", &root);
    workspace.file("LICENSE", "MIT License\n\nCopyright (c) the root\n");
    workspace.json("packages/b/package.json", &json!({"name": "@scope/b", "version": "2.0.0"}));
    workspace.json("packages/c/package.json", &json!({"name": "c", "version": "3.1.4"}));
    workspace.json("packages/d/package.json", &json!({"name": "d", "version": "0.4.0"}));
    workspace
}

/// The package under test, using every rewrite its tool knows.
fn full_case(tool: &Tool) -> Workspace {
    use serde_json::json;
    let mut workspace = workspace_root(tool);
    let mut dependencies = json!({
        "@scope/b": "workspace:*",
        "c": "workspace:^",
        "lodash": "catalog:",
        "react": "catalog:react18",
        "@std/path": "jsr:^1.0.0",
        "@luca/flag": "jsr:@luca/flag@^1.0.0",
        "left-pad": "^1.3.0",
    });
    let mut scripts = json!({
        "build": "tsc",
        "test": "node test.js",
        "prepare": "node prepare.js",
        "prepublishOnly": "node check.js",
        "preinstall": "node pre.js",
        "postinstall": "node post.js",
    });
    let mut package = json!({
        "name": "@scope/a",
        "version": "1.2.3",
        "description": "the package under test",
        "42": "an integer key, which JavaScript puts first",
        "main": "src/index.js",
        "files": ["src", "dist", "scripts"],
        "scripts": {},
        "dependencies": {},
        "devDependencies": {"c": "workspace:~", "typescript": "catalog:"},
        "optionalDependencies": {"@scope/b": "workspace:^"},
        "peerDependencies": {"c": "workspace:^", "@scope/b": "workspace:>=2.0.0", "react": "catalog:react18"},
        "packageManager": tool.package_manager(),
        "publishConfig": {
            "main": "dist/index.js",
            "types": "dist/index.d.ts",
            "exports": {".": {"types": "./dist/index.d.ts", "default": "./dist/index.js"}},
            "bin": {"a": "./dist/cli.js"},
            "access": "public",
            "registry": "https://registry.example.test/",
        },
        "license": "MIT",
    });
    match tool.kind {
        Kind::Pnpm => {
            dependencies["bb"] = json!("workspace:@scope/b@~");
            dependencies["d"] = json!("workspace:../d");
            dependencies["e"] = json!("workspace:^1.0.0");
            scripts["prepack"] = json!("node prepack.js");
            scripts["postpack"] = json!("node postpack.js");
            package["pnpm"] = json!({"overrides": {"left-pad": "1.3.0"}});
            // What `pnpm install` links: each workspace dependency under its alias.
            workspace.link("packages/a/node_modules/@scope/b", "../../../b");
            workspace.link("packages/a/node_modules/c", "../../c");
            workspace.link("packages/a/node_modules/bb", "../../b");
        }
        Kind::Yarn | Kind::YarnClassic => {
            dependencies["d"] = json!("workspace:packages/d");
            // yarn always packs the changelog, whatever `files` says.
            workspace.file("packages/a/CHANGELOG.md", "# Changes\n");
        }
    }
    package["dependencies"] = dependencies;
    package["scripts"] = scripts;
    workspace.json("packages/a/package.json", &package);
    workspace.file("packages/a/README.md", "# a\n");
    workspace.file("packages/a/src/index.js", "module.exports = require('c');\n");
    workspace.file("packages/a/dist/index.js", "module.exports = 1;\n");
    workspace.file("packages/a/dist/index.d.ts", "export {};\n");
    // A bin only through publishConfig: npm would pack it as it is, the tools make it executable
    // (pnpm) or leave it so (yarn, which reads the source's bins).
    workspace.file("packages/a/dist/cli.js", "#!/usr/bin/env node\n");
    // Executable in git, but no bin: npm keeps the bit, pnpm and yarn drop it.
    workspace.executable("packages/a/scripts/run.sh", "#!/bin/sh\n");
    workspace
}

/// A package with a licence of its own and nothing to rewrite: only the formatting changes (and
/// pnpm's `publishConfig` disappears once everything in it is hoisted).
fn plain_case(tool: &Tool) -> Workspace {
    let mut workspace = workspace_root(tool);
    workspace.file(
        "packages/a/package.json",
        "{\n\t\"name\": \"plain\",\n\t\"version\": \"0.1.0\",\n\t\"main\": \"index.js\",\n\t\"publishConfig\": {\"main\": \"index.js\"},\n\t\"dependencies\": {\"left-pad\": \"^1.3.0\"}\n}",
    );
    workspace.file("packages/a/index.js", "module.exports = 1;\n");
    workspace.file("packages/a/LICENSE", "ISC\n");
    workspace.file("packages/a/README.md", "# plain\n");
    workspace
}

/// Runs the tool's `pack` in `packages/a` and returns the tarball's bytes.
fn pack(tool: &Tool, root: &Path, home: &Path, embed_readme: bool) -> Vec<u8> {
    let out = root.join("out");
    let mut command = Command::new("node");
    command.arg(&tool.entry).current_dir(root.join("packages/a"));
    // A clean environment: no user configuration, no scripts, no network.
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default()).env("HOME", home);
    match tool.kind {
        Kind::Pnpm => {
            command.arg("pack").arg("--pack-destination").arg(&out);
            command
                .env("npm_config_ignore_scripts", "true")
                .env("npm_config_manage_package_manager_versions", "false")
                .env("npm_config_update_notifier", "false")
                .env("npm_config_embed_readme", if embed_readme { "true" } else { "false" });
        }
        Kind::Yarn => {
            command.arg("pack").arg("--out").arg(out.join("package.tgz"));
            command.env("YARN_ENABLE_TELEMETRY", "0").env("YARN_IGNORE_PATH", "1").env("YARN_ENABLE_GLOBAL_CACHE", "0");
        }
        Kind::YarnClassic => {
            fs_err::create_dir_all(&out).unwrap();
            command.arg("pack").arg("--filename").arg(out.join("package.tgz"));
            command.env("YARN_IGNORE_SCRIPTS", "true").env("YARN_CACHE_FOLDER", home.join("yarn-cache"));
        }
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{:?} pack failed:\n{}\n{}",
        tool,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let tarballs: Vec<PathBuf> = fs_err::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tgz"))
        .collect();
    assert_eq!(tarballs.len(), 1, "{tarballs:?}");
    fs_err::read(&tarballs[0]).unwrap()
}

/// What provdiff makes of the tool's tarball: its own npm repack of the commit compared with the
/// published files, under the rules of the tool it detects.
struct Judged {
    published: FileTree,
    repacked: FileTree,
    options: CompareOptions,
    comparison: TreeComparison,
}

fn judge(root: &Path, tarball: Vec<u8>) -> Judged {
    let published = provdiff_npm::read_tarball(tarball).unwrap();
    assert!(published.findings.is_empty(), "{:?}", published.findings);
    let commit = provdiff_npm::DirSource::open(root).unwrap();
    let publish = provdiff_npm::publish_context(&commit, "packages/a").unwrap();
    let source = provdiff_npm::DirSource::open(&root.join("packages/a")).unwrap();
    let workspace = provdiff_npm::find_workspace("packages/a", |path| std::fs::read(root.join(path)).ok());
    let packed = provdiff_npm::pack(&source, provdiff_npm::NpmRules::LATEST, workspace.as_ref()).unwrap();
    let repacked = provdiff_npm::to_tree(&packed.files);
    let options = CompareOptions { publish, ..CompareOptions::default() };
    let comparison = compare_trees(&published.tree, &repacked, &options);
    Judged { published: published.tree, repacked, options, comparison }
}

/// `(code, path, subject)` of each finding, the subject being the field a `package.json` finding
/// names (its detail up to the first `: `).
fn summary(comparison: &TreeComparison) -> Vec<(Code, String, String)> {
    comparison
        .findings
        .iter()
        .map(|finding| {
            let subject = finding.detail.split(": ").next().unwrap_or("").to_string();
            (finding.code, finding.path.clone().unwrap_or_default(), subject)
        })
        .collect()
}

fn assert_explained(tool: &Tool, case: &str, judged: &Judged) {
    let unexplained: Vec<_> =
        judged.comparison.findings.iter().filter(|finding| finding.severity > Severity::Explained).collect();
    assert!(unexplained.is_empty(), "{tool:?} {case}: unexplained differences: {unexplained:#?}");
    assert!(judged.comparison.entries_explained(), "{tool:?} {case}: {:#?}", judged.comparison);
}

/// The `package.json` fields each tool rewrites in the full case.
fn expected_rewrites(tool: &Tool) -> Vec<&'static str> {
    let mut fields = vec![
        "dependencies.c",
        "dependencies.d",
        "dependencies.lodash",
        "dependencies.react",
        "devDependencies.c",
        "devDependencies.typescript",
        "optionalDependencies.@scope/b",
        "peerDependencies.c",
        "peerDependencies.react",
        "main",
        "types",
        "exports",
        "bin",
    ];
    match tool.kind {
        Kind::Pnpm => {
            fields.extend([
                "dependencies.@scope/b",
                "dependencies.bb",
                "dependencies.e",
                "peerDependencies.@scope/b",
                "scripts.prepare",
                "scripts.prepublishOnly",
                "scripts.prepack",
                "scripts.postpack",
                "pnpm",
                "packageManager",
                "publishConfig",
            ]);
            // pnpm 9 leaves jsr: specifiers as they are.
            if tool.major() >= 10 {
                fields.extend(["dependencies.@std/path", "dependencies.@luca/flag"]);
            }
        }
        Kind::YarnClassic => unreachable!("yarn 1 rewrites nothing"),
        // yarn reads optionalDependencies into dependencies, so @scope/b's optional entry hides
        // its regular one, which yarn then leaves as `workspace:*`: unchanged, so no rewrite.
        Kind::Yarn => fields.extend(["dependencies.@std/path", "dependencies.@luca/flag", "peerDependencies.@scope/b"]),
    }
    fields.sort_unstable();
    fields
}

/// Replaces the published `package.json` text and re-judges.
fn tamper_manifest(judged: &Judged, from: &str, to: &str) -> TreeComparison {
    let entry = judged.published.get("package.json").unwrap();
    let text = String::from_utf8(entry.content.to_vec()).unwrap();
    assert!(text.contains(from), "{from:?} is not in\n{text}");
    let mut tampered = judged.published.clone();
    tampered.insert("package.json", FileEntry::file(entry.mode, text.replacen(from, to, 1).into_bytes()));
    compare_trees(&tampered, &judged.repacked, &judged.options)
}

fn assert_mismatch(tool: &Tool, what: &str, comparison: &TreeComparison, code: Code, path: &str, subject: &str) {
    assert!(!comparison.entries_explained(), "{tool:?} {what}: still explained");
    let mismatches: Vec<_> =
        summary(comparison).into_iter().filter(|(code, _, _)| code.severity() == Severity::Mismatch).collect();
    assert!(
        mismatches.iter().any(|(c, p, s)| *c == code && p == path && s.starts_with(subject)),
        "{tool:?} {what}: no {code} for {path} {subject} among {mismatches:#?}"
    );
}

/// yarn 1 ships `package.json` as it is, whatever it holds.
fn yarn_classic_ships_package_json_as_it_is(tool: &Tool, work: &Path, home: &Path) {
    for (case, workspace) in [("full", full_case(tool)), ("plain", plain_case(tool))] {
        let root = work.join(case);
        workspace.write(&root);
        let judged = judge(&root, pack(tool, &root, home, false));
        assert_eq!(judged.options.publish.tool, provdiff_core::PublishTool::YarnClassic, "{tool:?} {case}");
        assert_eq!(
            judged.published.get("package.json").map(|entry| &entry.content),
            judged.repacked.get("package.json").map(|entry| &entry.content),
            "{tool:?} {case}: yarn 1 changed package.json"
        );
        let about_manifest: Vec<_> =
            judged.comparison.findings.iter().filter(|f| f.path.as_deref() == Some("package.json")).collect();
        assert!(about_manifest.is_empty(), "{tool:?} {case}: {about_manifest:#?}");
        eprintln!("{}: package.json shipped as it is in the {case} case", tool.package_manager());
    }
}

#[test]
fn provdiff_explains_what_pnpm_and_yarn_pack() {
    let Some(tools) = tools() else { return };
    for tool in &tools {
        if tool.kind == Kind::YarnClassic {
            let work = tempfile::tempdir().unwrap();
            let home = work.path().join("home");
            fs_err::create_dir_all(&home).unwrap();
            yarn_classic_ships_package_json_as_it_is(tool, work.path(), &home);
            continue;
        }
        let work = tempfile::tempdir().unwrap();
        let home = work.path().join("home");
        fs_err::create_dir_all(&home).unwrap();

        // The full case.
        let root = work.path().join("full");
        full_case(tool).write(&root);
        let judged = judge(&root, pack(tool, &root, &home, false));
        assert_explained(tool, "full", &judged);
        let found = summary(&judged.comparison);
        let full_findings = found.len();
        let mut rewritten: Vec<&str> = found
            .iter()
            .filter(|(code, path, _)| *code == Code::PublishRewrite && path == "package.json")
            .map(|(_, _, subject)| subject.as_str())
            .collect();
        rewritten.sort_unstable();
        assert_eq!(rewritten, expected_rewrites(tool), "{tool:?}");
        assert!(found.iter().any(|(code, _, _)| *code == Code::PublishReformatted), "{tool:?}: {found:#?}");
        let mut modes: Vec<&str> = found
            .iter()
            .filter(|(code, _, _)| *code == Code::PublishFileMode)
            .map(|(_, path, _)| path.as_str())
            .collect();
        modes.sort_unstable();
        let added: Vec<&str> = found
            .iter()
            .filter(|(code, _, _)| *code == Code::PublishAddedFile)
            .map(|(_, path, _)| path.as_str())
            .collect();
        match tool.kind {
            Kind::Pnpm => {
                assert_eq!(modes, ["dist/cli.js", "scripts/run.sh"], "{tool:?}");
                assert_eq!(added, ["LICENSE", "LICENSE.md"], "{tool:?}");
            }
            Kind::Yarn => {
                assert_eq!(modes, ["scripts/run.sh"], "{tool:?}");
                assert_eq!(added, ["CHANGELOG.md"], "{tool:?}");
            }
            Kind::YarnClassic => unreachable!("yarn 1 is checked on its own"),
        }

        // Tampering with the tool's output is a mismatch, each time naming what changed.
        let postinstall =
            tamper_manifest(&judged, "\"scripts\": {\n", "\"scripts\": {\n    \"install\": \"node steal.js\",\n");
        assert_mismatch(
            tool,
            "install script",
            &postinstall,
            Code::PackageJsonFieldDiffers,
            "package.json",
            "scripts.install",
        );
        assert!(
            postinstall.findings.iter().any(|f| f.detail.contains("`install` is an install hook")),
            "{tool:?}: {:#?}",
            postinstall.findings
        );
        let version = tamper_manifest(&judged, "\"c\": \"^3.1.4\"", "\"c\": \"^3.1.5\"");
        assert_mismatch(
            tool,
            "workspace version",
            &version,
            Code::PackageJsonFieldDiffers,
            "package.json",
            "dependencies.c",
        );
        let main = tamper_manifest(&judged, "\"main\": \"dist/index.js\"", "\"main\": \"dist/evil.js\"");
        assert_mismatch(tool, "main", &main, Code::PackageJsonFieldDiffers, "package.json", "main");
        let layout = tamper_manifest(&judged, "\"name\": \"@scope/a\",", "\"name\":  \"@scope/a\",");
        assert_mismatch(tool, "layout", &layout, Code::PackageJsonLayoutDiffers, "package.json", "the values");
        let added_file = added[0];
        let mut tampered = judged.published.clone();
        tampered.insert(added_file, FileEntry::file(0o644, b"another licence\n".to_vec()));
        let other_bytes = compare_trees(&tampered, &judged.repacked, &judged.options);
        assert_mismatch(tool, "added file", &other_bytes, Code::OnlyInPackage, added_file, "not in the source");

        // The plain case: a licence of its own, nothing to resolve.
        let root = work.path().join("plain");
        plain_case(tool).write(&root);
        let judged = judge(&root, pack(tool, &root, &home, tool.kind == Kind::Pnpm));
        assert_explained(tool, "plain", &judged);
        let found = summary(&judged.comparison);
        assert!(!found.iter().any(|(code, _, _)| *code == Code::PublishAddedFile), "{tool:?}: {found:#?}");
        let mut rewritten: Vec<&str> =
            found.iter().filter(|(code, _, _)| *code == Code::PublishRewrite).map(|(_, _, s)| s.as_str()).collect();
        rewritten.sort_unstable();
        match tool.kind {
            // pnpm empties publishConfig by hoisting `main`, and embeds the readme when told to.
            Kind::Pnpm => assert_eq!(rewritten, ["publishConfig", "readme"], "{tool:?}: {found:#?}"),
            Kind::Yarn => assert!(rewritten.is_empty(), "{tool:?}: {found:#?}"),
            Kind::YarnClassic => unreachable!("yarn 1 is checked on its own"),
        }
        eprintln!(
            "{}: {full_findings} differences explained in the full case, {} in the plain one",
            tool.package_manager(),
            found.len()
        );
    }
}
