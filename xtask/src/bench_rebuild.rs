//! `cargo xtask bench rebuild`: the wall time of `provdiff check --rebuild` on the real packages of
//! `../shared/fixtures/npm`, next to a plain `npm ci && npm pack` (and `npm ci && npm run build &&
//! npm pack`) of the same commit, measured in one run and written to `docs/BENCHMARKS.md`.
//!
//! The repositories are not part of provdiff: each is given as `--repo CASE=PATH` (a clone or a
//! bare repository holding the attested commit). Every run starts from an empty npm cache and
//! installs from the npm registry npm is configured with, so network time is part of each figure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::bench::{ensure_release, machine_description, write_section};
use crate::process::run;

/// The cases measured, with the attestation files of each.
const CASES: &[(&str, &[&str])] = &[
    ("provenance-npm-test-1.0.3", &["attestations.json"]),
    ("tuf-js-1.0.0", &["attestations.json"]),
    ("sigstore-1.0.0", &["attestations.json"]),
    ("sigstore-1.3.0", &["provenance.sigstore.json", "publish.sigstore.json"]),
];

struct Measured {
    case: String,
    verdict: String,
    rebuild_total: f64,
    rebuild_steps: f64,
    plain_pack: f64,
    plain_build_pack: f64,
}

pub fn rebuild(root: &Path, repos: &[String]) -> Result<()> {
    if ensure_release(root)?.is_some() {
        return Ok(());
    }
    run(Command::new(env!("CARGO")).args(["build", "--quiet", "--release", "-p", "provdiff"]).current_dir(root))?;
    let provdiff = root.join("target/release/provdiff");
    let shared = root.join("../shared/fixtures/npm");
    if !shared.is_dir() {
        bail!("../shared (the shared fixtures) is not beside this checkout");
    }
    let mut measured = Vec::new();
    for (case, attestations) in CASES {
        let Some(repo) = repos.iter().find_map(|spec| spec.strip_prefix(&format!("{case}="))) else {
            eprintln!("skipping {case}: no --repo {case}=PATH given");
            continue;
        };
        let repo = PathBuf::from(repo);
        let fixture = shared.join(case);
        eprintln!("{case}: provdiff check --rebuild");
        let mut command = Command::new(&provdiff);
        command.args(["check", "--json", "--rebuild", "--tarball"]).arg(fixture.join("package.tgz"));
        for file in *attestations {
            command.arg("--attestations").arg(fixture.join(file));
        }
        command.arg("--repo").arg(&repo);
        let start = Instant::now();
        let output = command.output().with_context(|| format!("cannot run {}", provdiff.display()))?;
        let rebuild_total = start.elapsed().as_secs_f64();
        let report: serde_json::Value = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("{case}: no JSON report: {}", String::from_utf8_lossy(&output.stderr)))?;
        let verdict = report["verdict"].as_str().unwrap_or("?").to_string();
        let rebuild_steps = report["rebuild"]["build"]["steps"]
            .as_array()
            .map(|steps| steps.iter().filter_map(|step| step["seconds"].as_f64()).sum())
            .unwrap_or(f64::NAN);
        let commit = report["source"]["commit"].as_str().context("the report names no commit")?.to_string();
        let package_dir = report["source"]["package_dir"].as_str().unwrap_or_default().to_string();

        let plain = |with_build: bool| -> Result<f64> {
            let scratch = tempfile::tempdir()?;
            let checkout = scratch.path().join("checkout");
            fs_err::create_dir_all(&checkout)?;
            // The commit's tree, whatever refs lead to it.
            run(Command::new("sh")
                .args(["-c", "git --git-dir=\"$1\" archive \"$2\" | tar -x -C \"$3\"", "archive"])
                .arg(&repo)
                .arg(&commit)
                .arg(&checkout))?;
            let cache = scratch.path().join("npm-cache");
            let script = if with_build {
                "npm ci --no-audit --no-fund && npm run build --if-present && npm pack"
            } else {
                "npm ci --no-audit --no-fund && npm pack"
            };
            let start = Instant::now();
            run(Command::new("sh")
                .args(["-c", script])
                .env("npm_config_cache", &cache)
                .env("npm_config_update_notifier", "false")
                .current_dir(checkout.join(&package_dir)))
            .with_context(|| format!("{case}: {script}"))?;
            Ok(start.elapsed().as_secs_f64())
        };
        eprintln!("{case}: npm ci && npm pack");
        let plain_pack = plain(false)?;
        eprintln!("{case}: npm ci && npm run build && npm pack");
        let plain_build_pack = plain(true)?;
        measured.push(Measured {
            case: case.to_string(),
            verdict,
            rebuild_total,
            rebuild_steps,
            plain_pack,
            plain_build_pack,
        });
    }
    if measured.is_empty() {
        bail!("nothing measured: give --repo CASE=PATH for at least one of the cases");
    }
    let mut body = format!(
        "Measured on {} by `cargo xtask bench rebuild`, one run per figure, each from an empty npm cache\n\
         installing from the configured npm registry (network time included). `check --rebuild` is the\n\
         whole command: verification, checkout, the sandboxed build, repacking and both comparisons;\n\
         *build steps* is the part spent in the sandboxed steps. The plain columns run in a git\n\
         checkout of the same commit without a sandbox.\n\n\
         | package | verdict | `check --rebuild` | build steps | `npm ci && npm pack` | `npm ci && npm run build && npm pack` |\n\
         | --- | --- | ---: | ---: | ---: | ---: |\n",
        machine_description()
    );
    for m in &measured {
        body.push_str(&format!(
            "| {} | {} | {:.1} s | {:.1} s | {:.1} s | {:.1} s |\n",
            m.case, m.verdict, m.rebuild_total, m.rebuild_steps, m.plain_pack, m.plain_build_pack
        ));
    }
    write_section(root, "bench rebuild", &body)
}
