//! `cargo xtask bench check`: `provdiff check NAME@VERSION` cold and warm against a loopback
//! registry and git server (the testkit's), with npm fetching the same package from the same
//! registry, and git cloning the same repository from the same server, for scale.
//!
//! The package is small (the scale of most dependencies); its repository has a long history of
//! incompressible changes, so a fetch of more than the attested commit shows in the byte counts.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use provdiff_core::Sha512;
use provdiff_testkit::{
    GitProtocol, GitServer, NPM_PUBLISH, ProvenanceSpec, RepoFile, SLSA_V1, SigstoreInstance, TestRegistry, TestVersion,
};

use crate::bench::{ensure_release, machine_description, median, write_section};
use crate::process::run;

const REPOSITORY: &str = "https://github.com/provdiff-bench/widget";

/// Deterministic noise: a history that does not compress away.
struct Noise(u64);

impl Noise {
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0 as u8
            })
            .collect()
    }
}

fn package_files(round: usize, noise: &mut Noise) -> Vec<RepoFile> {
    let mut files = vec![
        RepoFile::new(
            "package.json",
            "{\n  \"name\": \"widget\",\n  \"version\": \"1.2.3\",\n  \"main\": \"lib/index.js\",\n  \"files\": [\"lib\"],\n  \"license\": \"MIT\"\n}\n",
        ),
        RepoFile::new("README.md", format!("# widget\n\nRelease notes, round {round}.\n")),
        RepoFile::new("LICENSE", "MIT\n"),
        RepoFile::new("docs/design.bin", noise.bytes(48 * 1024)),
        RepoFile::new("test/fixture.bin", noise.bytes(16 * 1024)),
    ];
    for module in 0..24 {
        files.push(RepoFile::new(
            &format!("lib/module{module}.js"),
            format!("// module {module}, round {round}\nexports.value = {};\n", module * round),
        ));
    }
    files.push(RepoFile::new(
        "lib/index.js",
        (0..24).map(|m| format!("exports.m{m} = require('./module{m}');\n")).collect::<String>(),
    ));
    files
}

pub fn check(root: &Path, runs: usize, history: usize) -> Result<()> {
    if ensure_release(root)?.is_some() {
        return Ok(());
    }
    run(Command::new(env!("CARGO")).args(["build", "--quiet", "--release", "-p", "provdiff"]).current_dir(root))?;
    let provdiff = root.join("target/release/provdiff");
    let work = tempfile::Builder::new().prefix("provdiff-bench-check-").tempdir()?;
    let dir = work.path();

    // The repository: `history` rounds, the last one released.
    let git = GitServer::start(GitProtocol::Http);
    let served = git.create_repo("widget");
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    let mut commit = String::new();
    for round in 0..=history {
        commit = served.commit(&package_files(round, &mut noise), &format!("round {round}"));
    }
    let repository = provdiff_git::Repository::open(&git.repo_path("widget"))?;
    let released = repository.commit(&commit)?;
    let source = released.subtree("")?;
    let packed = provdiff_npm::pack(&source, provdiff_npm::NpmRules::LATEST, None)?;

    // The registry: the package, signed provenance and publish attestation, registry signature.
    let instance = SigstoreInstance::new();
    let sha512 = Sha512::digest(&packed.tgz);
    let spec = ProvenanceSpec::new("widget", "1.2.3", sha512, REPOSITORY, &commit);
    let provenance = instance.sign_provenance(&spec);
    let publish = instance.sign_publish("widget", "1.2.3", &sha512, spec.signed_at);
    let registry = TestRegistry::start();
    let mut version = TestVersion::new("widget", "1.2.3", packed.tgz.clone());
    version.attestations =
        Some(SigstoreInstance::attestations_response(&[(SLSA_V1, &provenance), (NPM_PUBLISH, &publish)]));
    version.signatures = vec![instance.sign_registry_signature("widget", "1.2.3", &version.integrity())];
    registry.publish(version);
    fs_err::write(dir.join("trusted_root.json"), instance.trusted_root_json())?;
    fs_err::write(dir.join("npm_keys.json"), instance.npm_keys_json())?;
    fs_err::create_dir(dir.join("home"))?;

    let mirror = format!("https://github.com/provdiff-bench/={}", git.base_url());
    let check_command = |cache: &str| {
        let mut command = Command::new(&provdiff);
        command
            .args(["check", "widget@1.2.3", "--json", "--registry", &registry.url(), "--cache-dir", cache])
            .args(["--git-mirror", &mirror, "--trusted-root", "trusted_root.json", "--npm-keys", "npm_keys.json"])
            .current_dir(dir)
            .env("HOME", dir.join("home"))
            .env("PROVDIFF_NO_PROGRESS", "1");
        command
    };

    // Cold: an empty cache.
    git.reset_counters();
    let registry_before = registry.bytes_sent();
    let start = Instant::now();
    let output = check_command("cache").output()?;
    let cold = start.elapsed().as_secs_f64();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("provdiff printed no report: {}", String::from_utf8_lossy(&output.stderr)))?;
    if report["verdict"] != "identical" {
        bail!("the benchmark package is not identical: {}", String::from_utf8_lossy(&output.stdout));
    }
    let cold_git_bytes = git.bytes_sent();
    let cold_registry_bytes = registry.bytes_sent() - registry_before;
    let strategy = report["source"]["fetch"]["strategy"].as_str().unwrap_or("?").to_string();
    let one_commit = one_commit_pack_size(&git.repo_path("widget"), &commit)?;

    // Warm: the same command, the cache filled.
    let mut warm_times = Vec::with_capacity(runs);
    git.reset_counters();
    let registry_before = registry.bytes_sent();
    for _ in 0..runs {
        let start = Instant::now();
        let output = check_command("cache").output()?;
        warm_times.push(start.elapsed().as_secs_f64());
        if !output.status.success() {
            bail!("a warm check failed: {}", String::from_utf8_lossy(&output.stderr));
        }
    }
    let warm = median(warm_times);
    let warm_git_bytes = git.bytes_sent();
    let warm_registry_bytes = registry.bytes_sent() - registry_before;

    // For scale: a full clone of the same repository from the same server.
    git.reset_counters();
    run(Command::new("git").args(["clone", "--quiet", "--bare", &git.url("widget")]).arg(dir.join("full-clone")))?;
    let full_clone_bytes = git.bytes_sent();

    // For scale: npm fetching the same package from the same registry, its cache warm.
    let npm = npm_pack_times(dir, &registry.url(), runs);

    let mut body = format!(
        "Measured by `cargo xtask bench check --runs {runs} --history {history}` on {} ({}); provdiff {} (release).\n\n",
        jiff::Zoned::now().date(),
        machine_description(),
        env!("CARGO_PKG_VERSION"),
    );
    body.push_str(&format!(
        "`provdiff check widget@1.2.3` against the testkit's registry and git server on 127.0.0.1: a {}-file package \
         ({} bytes packed) whose repository has {} commits of incompressible changes. Each run verifies both \
         attestations and the registry signature, reads the commit, repacks it and compares byte for byte.\n\n",
        packed.files.len(),
        packed.tgz.len(),
        history + 1,
    ));
    body.push_str("| run | wall time | from the registry | from the git server |\n|---|---|---|---|\n");
    body.push_str(&format!(
        "| cold (empty cache; commit fetched `{strategy}`) | {:.0} ms | {} | {} |\n",
        cold * 1e3,
        bytes(cold_registry_bytes),
        bytes(cold_git_bytes)
    ));
    body.push_str(&format!(
        "| warm (median of {runs}) | **{:.0} ms** | {} | {} |\n\n",
        warm * 1e3,
        bytes(warm_registry_bytes / runs.max(1) as u64),
        bytes(warm_git_bytes / runs.max(1) as u64)
    ));
    body.push_str(&format!(
        "The cold fetch transferred {} from the git server; a pack of exactly the attested commit's objects is {} \
         (**{:.2}×** that: the rest is protocol framing), and a full clone of the same repository from the same \
         server transfers {} (**{:.0}×** the attested-commit fetch).\n\n",
        bytes(cold_git_bytes),
        bytes(one_commit),
        cold_git_bytes as f64 / one_commit as f64,
        bytes(full_clone_bytes),
        full_clone_bytes as f64 / cold_git_bytes as f64,
    ));
    match npm {
        Ok((npm_version, npm_warm)) => body.push_str(&format!(
            "For scale, `npm pack widget@1.2.3 --dry-run --prefer-offline` (npm {npm_version}, its cache warm, the same \
             registry) takes {:.0} ms, **{:.1}×** a warm provdiff check, which verifies, reads, repacks and compares \
             where npm only resolves and lists the same tarball.\n\n",
            npm_warm * 1e3,
            npm_warm / warm,
        )),
        Err(error) => body.push_str(&format!("npm was not measured: {error:#}\n\n")),
    }
    body.push_str(&format!(
        "Commands: `cargo xtask bench check --runs {runs} --history {history}`; the peers are `git clone --bare URL` \
         and `npm pack widget@1.2.3 --dry-run --prefer-offline --registry URL --cache DIR`.\n"
    ));
    write_section(root, "bench check", &body)?;
    print!("{body}");
    Ok(())
}

/// The size of a pack holding exactly the objects of one commit: the commit, its trees and blobs.
fn one_commit_pack_size(repo: &Path, commit: &str) -> Result<u64> {
    let objects =
        run(Command::new("git").arg("-C").arg(repo).args(["rev-list", "--objects", "--max-count=1", commit]))?;
    let ids: String = objects.lines().filter_map(|line| line.split(' ').next()).flat_map(|id| [id, "\n"]).collect();
    let list = repo.join("bench-objects.txt");
    fs_err::write(&list, ids)?;
    let output = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["pack-objects", "--stdout", "-q"])
        .stdin(fs_err::File::open(&list)?.into_parts().0)
        .output()?;
    if !output.status.success() {
        bail!("git pack-objects failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(output.stdout.len() as u64)
}

/// npm's version and its median time to resolve and list the package with a warm cache.
fn npm_pack_times(dir: &Path, registry: &str, runs: usize) -> Result<(String, f64)> {
    let version = run(Command::new("npm").arg("--version"))?.trim().to_string();
    let command = || {
        let mut command = Command::new("npm");
        command
            .args(["pack", "widget@1.2.3", "--dry-run", "--prefer-offline", "--registry", registry, "--cache"])
            .arg(dir.join("npm-cache"))
            .current_dir(dir)
            .env("HOME", dir.join("home"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        command
    };
    // The first run fills npm's cache.
    if !command().status()?.success() {
        bail!("npm pack failed against the test registry");
    }
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        command().status()?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok((version, median(times)))
}

fn bytes(count: u64) -> String {
    match count {
        0..1_000 => format!("{count} B"),
        1_000..1_000_000 => format!("{:.1} kB", count as f64 / 1e3),
        _ => format!("{:.2} MB", count as f64 / 1e6),
    }
}
