//! Shared helpers for the end-to-end tests: a scenario is a git repository, a published tarball
//! and its attestations, all made in a temp directory, and the real `provdiff` binary run on them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

pub mod tarballs;

use std::path::{Path, PathBuf};
use std::process::Command;

use provdiff_core::Sha512;
use provdiff_npm::PackedFile;
use provdiff_testkit::{NPM_PUBLISH, ProvenanceSpec, RepoFile, SLSA_V1, SigstoreInstance, TestRepo};

pub const REPOSITORY: &str = "https://github.com/provdiff-tests/widget";

/// The result of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }

    /// The codes of the findings in a `--json` report.
    pub fn codes(&self) -> Vec<String> {
        self.json()["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap().to_string()).collect()
    }
}

pub fn provdiff(args: &[&str], cwd: &Path) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_provdiff")).args(args).current_dir(cwd).output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A package's source files, a sensible default for most scenarios.
pub fn widget_files() -> Vec<RepoFile> {
    vec![
        RepoFile::new(
            "package.json",
            "{\n  \"name\": \"widget\",\n  \"version\": \"1.2.3\",\n  \"main\": \"index.js\",\n  \"scripts\": {\n    \"test\": \"node test.js\"\n  },\n  \"license\": \"MIT\"\n}\n",
        ),
        RepoFile::new("index.js", "module.exports = function widget() {\n  return 42;\n};\n"),
        RepoFile::new("lib/util.js", "exports.double = (x) => x * 2;\n"),
        RepoFile::new("README.md", "# widget\n"),
        RepoFile::new("LICENSE", "MIT\n"),
        RepoFile::new(".gitignore", "node_modules\n"),
    ]
}

/// Everything one check needs, on disk.
pub struct Scenario {
    pub dir: tempfile::TempDir,
    pub instance: SigstoreInstance,
    pub commit: String,
    pub name: String,
    pub version: String,
}

impl Scenario {
    /// Commits `files`, packs them as the publisher would (optionally altering the packed files
    /// first), and signs provenance and publish attestations for the resulting tarball.
    pub fn new(files: &[RepoFile], alter: impl FnOnce(&mut Vec<PackedFile>)) -> Self {
        Self::new_in(files, "", alter)
    }

    /// [`Scenario::new`] for the package in `package_dir` of the committed repository.
    pub fn new_in(files: &[RepoFile], package_dir: &str, alter: impl FnOnce(&mut Vec<PackedFile>)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = TestRepo::init_bare(&dir.path().join("repo.git"));
        let commit = repo.commit(files, "release");
        drop(repo);

        let (tgz, name, version) = publish_from(&dir.path().join("repo.git"), &commit, package_dir, alter);
        fs_err::write(dir.path().join("package.tgz"), &tgz).unwrap();

        let instance = SigstoreInstance::new();
        fs_err::write(dir.path().join("trusted_root.json"), instance.trusted_root_json()).unwrap();
        fs_err::write(dir.path().join("npm_keys.json"), instance.npm_keys_json()).unwrap();
        let scenario = Self { dir, instance, commit, name, version };
        scenario.sign(|_| {});
        scenario
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn tarball_sha512(&self) -> Sha512 {
        Sha512::digest(&fs_err::read(self.path("package.tgz")).unwrap())
    }

    /// (Re)signs the attestations for the current tarball, letting `adjust` change the spec.
    pub fn sign(&self, adjust: impl FnOnce(&mut ProvenanceSpec)) {
        let sha512 = self.tarball_sha512();
        let mut spec = ProvenanceSpec::new(&self.name, &self.version, sha512, REPOSITORY, &self.commit);
        adjust(&mut spec);
        let provenance = self.instance.sign_provenance(&spec);
        let publish = self.instance.sign_publish(&self.name, &self.version, &sha512, spec.signed_at);
        let response = SigstoreInstance::attestations_response(&[(SLSA_V1, &provenance), (NPM_PUBLISH, &publish)]);
        fs_err::write(self.path("attestations.json"), response).unwrap();
    }

    /// `provdiff check` on this scenario, with extra arguments.
    pub fn check(&self, extra: &[&str]) -> Run {
        self.check_replacing(&[], extra)
    }

    /// `provdiff check` with some of the scenario's inputs replaced (`("--repo", "other")`).
    pub fn check_replacing(&self, replacements: &[(&str, &str)], extra: &[&str]) -> Run {
        let defaults = [
            ("--tarball", "package.tgz"),
            ("--attestations", "attestations.json"),
            ("--repo", "repo.git"),
            ("--trusted-root", "trusted_root.json"),
            ("--npm-keys", "npm_keys.json"),
        ];
        let mut args = vec!["check"];
        for (flag, value) in defaults {
            let value = replacements.iter().find(|(f, _)| *f == flag).map_or(value, |(_, v)| *v);
            args.extend([flag, value]);
        }
        args.extend_from_slice(extra);
        provdiff(&args, self.dir.path())
    }
}

/// Packs `package_dir` of `commit` as a publisher running the newest npm would, letting `alter`
/// change the packed files first (a tampered release); returns the `.tgz`, the name and the
/// version.
pub fn publish_from(
    repo: &Path,
    commit: &str,
    package_dir: &str,
    alter: impl FnOnce(&mut Vec<PackedFile>),
) -> (Vec<u8>, String, String) {
    let repository = provdiff_git::Repository::open(repo).unwrap();
    let commit_tree = repository.commit(commit).unwrap();
    let source = commit_tree.subtree(package_dir).unwrap();
    let workspace = provdiff_npm::find_workspace(package_dir, |path| commit_tree.read(path).ok());
    let packed = provdiff_npm::pack(&source, provdiff_npm::NpmRules::LATEST, workspace.as_ref()).unwrap();
    let mut published = packed.files.clone();
    alter(&mut published);
    let tgz = if published == packed.files {
        packed.tgz
    } else {
        provdiff_npm::gzip(&provdiff_npm::write_tar(&published, provdiff_npm::NpmRules::LATEST.tar_format()))
    };
    let manifest = packed.files.iter().find(|f| f.path == "package.json").unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&manifest.content).unwrap();
    (tgz, manifest["name"].as_str().unwrap().to_string(), manifest["version"].as_str().unwrap().to_string())
}

/// Replaces one packed file's content.
pub fn replace(files: &mut [PackedFile], path: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    let file = files.iter_mut().find(|f| f.path == path).unwrap_or_else(|| panic!("no {path} in the package"));
    edit(&mut file.content);
}

/// Checks a JSON report on stdout against its schema in `docs/` (`report.schema.json`,
/// `diff-report.schema.json`), or an error document against `error.schema.json`; a run that
/// printed no JSON is left alone.
pub fn assert_matches_schema(run: &Run, schema: &str) {
    if !run.stdout.trim_start().starts_with('{') {
        return;
    }
    let json = run.json();
    let schema = if json.get("error").is_some() { "error.schema.json" } else { schema };
    assert_value_matches_schema(&json, schema);
}

/// Checks a JSON document (a report, a verdict statement) against its schema in `docs/`.
pub fn assert_value_matches_schema(document: &serde_json::Value, schema: &str) {
    let text = fs_err::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(schema)).unwrap();
    let validator = jsonschema::draft202012::new(&serde_json::from_str::<serde_json::Value>(&text).unwrap()).unwrap();
    let errors: Vec<String> =
        validator.iter_errors(document).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "the document does not match {schema}:\n{}\n{document:#}", errors.join("\n"));
}

/// `../shared`, if it is there.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("fixtures").is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared (the shared fixtures) is not beside this checkout");
        None
    }
}

/// A published tarball and the repository it claims to come from, in one temp directory, for
/// `provdiff diff package.tgz repo.git@HEAD[:DIR]` run there (every input relative, every id fixed).
pub struct Pair {
    pub dir: tempfile::TempDir,
    /// `repo.git@HEAD` or `repo.git@HEAD:DIR`.
    pub source: String,
}

impl Pair {
    pub fn new(files: &[RepoFile], package_dir: &str, alter: impl FnOnce(&mut Vec<PackedFile>)) -> Self {
        Self::with_tgz(files, package_dir, alter, |tgz| tgz)
    }

    /// [`Pair::new`], letting `encode` change the published `.tgz` bytes last.
    pub fn with_tgz(
        files: &[RepoFile],
        package_dir: &str,
        alter: impl FnOnce(&mut Vec<PackedFile>),
        encode: impl FnOnce(Vec<u8>) -> Vec<u8>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = TestRepo::init_bare(&dir.path().join("repo.git"));
        let commit = repo.commit(files, "release");
        drop(repo);
        let (tgz, _, _) = publish_from(&dir.path().join("repo.git"), &commit, package_dir, alter);
        fs_err::write(dir.path().join("package.tgz"), encode(tgz)).unwrap();
        let source =
            if package_dir.is_empty() { "repo.git@HEAD".to_string() } else { format!("repo.git@HEAD:{package_dir}") };
        Self { dir, source }
    }

    pub fn diff(&self, extra: &[&str]) -> Run {
        let mut args = vec!["diff", "package.tgz", &self.source];
        args.extend_from_slice(extra);
        provdiff(&args, self.dir.path())
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

/// Where `cargo xtask npm-versions` installed the npm releases (`PROVDIFF_NPM_VERSIONS_DIR`
/// overrides), when they and `node` are there; otherwise the test says why it skips, unless
/// `PROVDIFF_REQUIRE_NPM=1` makes their absence a failure.
pub fn installed_npm_releases() -> Option<PathBuf> {
    let dir = std::env::var_os("PROVDIFF_NPM_VERSIONS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/npm-versions"));
    let node = Command::new("node").arg("--version").output().is_ok_and(|out| out.status.success());
    if dir.is_dir() && node {
        return Some(dir);
    }
    if std::env::var("PROVDIFF_REQUIRE_NPM").is_ok_and(|v| v == "1") {
        panic!("PROVDIFF_REQUIRE_NPM=1 but node or the npm releases are missing (run `cargo xtask npm-versions`)");
    }
    eprintln!("skipping: node or the npm releases are not installed (run `cargo xtask npm-versions`)");
    None
}

/// The npm releases the differential tests use (`tests/npm/versions.txt`).
pub fn npm_versions() -> Vec<String> {
    let text = fs_err::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm/versions.txt")).unwrap();
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

/// The `npm` package of release `version` among `installs` (see [`installed_npm_releases`]).
pub fn npm_package(installs: &Path, version: &str) -> PathBuf {
    let npm = installs.join(version).join("node_modules/npm");
    assert!(npm.is_dir(), "npm@{version} is not installed in {} (run `cargo xtask npm-versions`)", installs.display());
    npm
}
