//! `cargo xtask bench …`: provdiff measured side by side with the peer tools, in one run, with the
//! results written to `docs/BENCHMARKS.md` between markers (so reruns replace them).
//!
//! Benchmarks run in release mode: when invoked from a debug build, the task re-runs itself with
//! `--release`. Peer tools are installed from their package registries into `target/bench/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use provdiff_attest::{IdentityPolicy, PackageSubject, TrustMaterial, Verifier};
use serde_json::Value;

use crate::process::run;

/// Re-runs the current xtask invocation in release mode when this is a debug build.
pub fn ensure_release(root: &Path) -> Result<Option<()>> {
    if !cfg!(debug_assertions) {
        return Ok(None);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    eprintln!("benchmarks need optimised code: re-running as `cargo run --release -p xtask -- {}`", args.join(" "));
    let status = std::process::Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--release", "--package", "xtask", "--"])
        .args(&args)
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("the release run failed ({status})");
    }
    Ok(Some(()))
}

pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Median wall time of a whole process over `runs` runs (after one warm-up run).
fn time_process(command: &mut std::process::Command, runs: usize) -> Result<Duration> {
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    command.status().with_context(|| format!("cannot start {command:?}"))?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        command.status()?;
        times.push(start.elapsed().as_secs_f64());
    }
    Ok(Duration::from_secs_f64(median(times)))
}

/// Replaces the text between `<!-- BEGIN name -->` and `<!-- END name -->` in the benchmarks file.
pub fn write_section(root: &Path, name: &str, body: &str) -> Result<()> {
    let path = root.join("docs/BENCHMARKS.md");
    let mut text = fs_err::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".to_string());
    let (begin, end) = (format!("<!-- BEGIN {name} -->"), format!("<!-- END {name} -->"));
    let section = format!("{begin}\n{body}{end}");
    match (text.find(&begin), text.find(&end)) {
        (Some(start), Some(stop)) if stop > start => text.replace_range(start..stop + end.len(), &section),
        _ => {
            text.push('\n');
            text.push_str(&section);
            text.push('\n');
        }
    }
    fs_err::write(&path, text)?;
    eprintln!("updated docs/BENCHMARKS.md ({name})");
    Ok(())
}

pub fn machine_description() -> String {
    let cpu = fs_err::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

fn shared_dir(root: &Path) -> Result<PathBuf> {
    let shared = root.join("../shared");
    if !shared.join("fixtures").is_dir() {
        bail!("../shared (the shared fixtures) is not beside this checkout");
    }
    Ok(shared.canonicalize()?)
}

/// The npm cases measured: a registry attestations response and its tarball each.
const VERIFY_CASES: &[&str] = &["gundam-visor-1.0.1", "sigstore-1.0.0", "tuf-js-1.0.0", "provenance-npm-test-1.0.3"];

struct Installed {
    sigstore_js: PathBuf,
    sigstore_js_version: String,
    python: PathBuf,
    sigstore_python_version: String,
    node_version: String,
}

fn install_peers(root: &Path) -> Result<Installed> {
    let bench = root.join("target/bench");
    let js = bench.join("sigstore-js");
    if !js.join("node_modules/@sigstore/verify").is_dir() {
        fs_err::create_dir_all(&js)?;
        eprintln!("installing @sigstore/verify from the npm registry into {}", js.display());
        run(std::process::Command::new("npm")
            .args(["install", "--silent", "--no-save", "--no-package-lock", "--prefix"])
            .arg(&js)
            .args(["@sigstore/verify", "@sigstore/bundle", "@sigstore/protobuf-specs"]))?;
    }
    let version: Value =
        serde_json::from_str(&fs_err::read_to_string(js.join("node_modules/@sigstore/verify/package.json"))?)?;
    let venv = bench.join("sigstore-python");
    let python = venv.join("bin/python");
    if !python.exists() {
        eprintln!("installing sigstore from PyPI into {}", venv.display());
        run(std::process::Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        run(std::process::Command::new(&python).args(["-m", "pip", "install", "--quiet", "sigstore"]))?;
    }
    let python_version = run(std::process::Command::new(&python)
        .args(["-c", "import importlib.metadata as m; print(m.version('sigstore'))"]))?;
    Ok(Installed {
        sigstore_js: js.join("node_modules"),
        sigstore_js_version: version["version"].as_str().unwrap_or("?").to_string(),
        python,
        sigstore_python_version: python_version.trim().to_string(),
        node_version: run(std::process::Command::new("node").arg("--version"))?.trim().to_string(),
    })
}

/// `cargo xtask bench verify`.
pub fn verify(root: &Path, iterations: usize, runs: usize) -> Result<()> {
    if ensure_release(root)?.is_some() {
        return Ok(());
    }
    let shared = shared_dir(root)?;
    run(std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "-p", "provdiff"])
        .current_dir(root))?;
    let provdiff = root.join("target/release/provdiff");
    let peers = install_peers(root)?;
    let trusted_root = shared.join("fixtures/trust/trusted_root.public-good.json");
    let npm_keys = shared.join("fixtures/trust/npm-registry-keys.json");
    let js_script = root.join("xtask/bench/sigstore-js-verify.js");
    let py_script = root.join("xtask/bench/sigstore-python-verify.py");

    let trust = TrustMaterial::embedded()?;
    let verifier = Verifier::new(&trust)?;
    let mut rows = Vec::new();
    let mut rejections = Vec::new();
    let mut all_per_bundle = Vec::new();
    for case in VERIFY_CASES {
        let dir = shared.join("fixtures/npm").join(case);
        let attestations_path = dir.join("attestations.json");
        let tarball = fs_err::read(dir.join("package.tgz"))?;
        let published = provdiff_npm::read_tarball(tarball)?;
        let manifest = published.tree.get("package.json").context("no package.json")?;
        let manifest: Value = serde_json::from_slice(&manifest.content)?;
        let subject = PackageSubject {
            name: manifest["name"].as_str().unwrap_or_default().to_string(),
            version: manifest["version"].as_str().unwrap_or_default().to_string(),
            sha512: published.sha512,
        };
        let bytes = fs_err::read(&attestations_path)?;
        // In process: parse and verify everything npm needs (both bundles, statement, subject,
        // claims), over many iterations.
        let policy = IdentityPolicy::default();
        let first = provdiff_attest::parse_attestations(&bytes, "bench")?;
        let bundles = first.len();
        if !verifier.verify(&first, &subject, &policy).is_verified() {
            bail!("{case} does not verify with provdiff");
        }
        let mut times = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let start = Instant::now();
            let attestations = provdiff_attest::parse_attestations(&bytes, "bench")?;
            let verification = verifier.verify(&attestations, &subject, &policy);
            std::hint::black_box(&verification);
            times.push(start.elapsed().as_secs_f64() / bundles as f64);
        }
        let provdiff_in = median(times);
        all_per_bundle.push(provdiff_in);

        let js_in: Value = serde_json::from_str(&run(std::process::Command::new("node")
            .env("NODE_PATH", &peers.sigstore_js)
            .arg(&js_script)
            .arg(&trusted_root)
            .arg(&npm_keys)
            .arg(iterations.min(200).to_string())
            .arg(&attestations_path))?)?;
        let py: Value = serde_json::from_str(&run(std::process::Command::new(&peers.python)
            .arg(&py_script)
            .arg(&trusted_root)
            .arg("0")
            .arg(&attestations_path))?)?;
        for result in py["results"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if result != "ok" {
                rejections.push(format!("{case}: {}", result.lines().next().unwrap_or(result)));
            }
        }

        // The same inputs sigstore-js's process gets (the attestations, the digest they must
        // cover), then the tarball itself, which provdiff also reads and unpacks for its name.
        let provdiff_digest = time_process(
            std::process::Command::new(&provdiff)
                .args(["verify", "--attestations"])
                .arg(&attestations_path)
                .arg("--digest")
                .arg(format!("sha512:{}", subject.sha512.to_hex()))
                .arg("--package")
                .arg(format!("{}@{}", subject.name, subject.version)),
            runs,
        )?;
        let provdiff_whole = time_process(
            std::process::Command::new(&provdiff)
                .args(["verify", "--attestations"])
                .arg(&attestations_path)
                .arg("--tarball")
                .arg(dir.join("package.tgz")),
            runs,
        )?;
        let js_whole = time_process(
            std::process::Command::new("node")
                .env("NODE_PATH", &peers.sigstore_js)
                .arg(&js_script)
                .arg(&trusted_root)
                .arg(&npm_keys)
                .arg("0")
                .arg(&attestations_path),
            runs,
        )?;
        let js_per_bundle = js_in["median_ns_per_bundle"].as_f64().unwrap_or(f64::NAN) / 1e9;
        rows.push(format!(
            "| {case} | {bundles} | {:.3} ms | {:.3} ms | **{:.1}×** | {:.1} ms | {:.1} ms | **{:.1}×** | {:.1} ms | {:.1}× |",
            provdiff_in * 1e3,
            js_per_bundle * 1e3,
            js_per_bundle / provdiff_in,
            provdiff_digest.as_secs_f64() * 1e3,
            js_whole.as_secs_f64() * 1e3,
            js_whole.as_secs_f64() / provdiff_digest.as_secs_f64(),
            provdiff_whole.as_secs_f64() * 1e3,
            js_whole.as_secs_f64() / provdiff_whole.as_secs_f64(),
        ));
        eprintln!("{}", rows.last().map(String::as_str).unwrap_or_default());
    }

    // Common ground: a bundle every tool can verify (the conformance suite's DSSE happy path).
    let conformance = shared.join("conformance/bundle-verify/happy-path-intoto-in-dsse-v3");
    let common = common_ground(&conformance, &shared, &peers, &py_script, iterations)?;

    let rate = 1.0 / median(all_per_bundle);
    let mut body = String::new();
    body.push_str(&format!(
        "Measured by `cargo xtask bench verify` on {} ({}), {} in-process iterations, median of {} whole-process runs; provdiff {} (release), sigstore-js `@sigstore/verify` {} on Node.js {}, sigstore-python {}.\n\n",
        jiff::Timestamp::now().strftime("%Y-%m-%d"),
        machine_description(),
        iterations,
        runs,
        env!("CARGO_PKG_VERSION"),
        peers.sigstore_js_version,
        peers.node_version,
        peers.sigstore_python_version,
    ));
    body.push_str("Per-bundle verification of npm's real attestations (`../shared/fixtures/npm`), provenance and publish attestation. In process, provdiff's figure includes parsing and every npm check (statement, subject purl and sha512, certificate claims against the predicate, npm key choice by validity window); sigstore-js's includes parsing and its own bundle verification, which npm runs for `npm audit signatures`. Whole process, on the same inputs: `provdiff verify --attestations FILE --digest sha512:HEX --package NAME@VERSION` against `node sigstore-js-verify.js ROOT KEYS 0 FILE` (startup, trust material, one verification; the script is given no tarball). The last two columns add what sigstore-js's process does not do: `provdiff verify --attestations FILE --tarball FILE` also reads the tarball, hashes it and unpacks it for the name and version in its `package.json` (sigstore-1.0.0's unpacks to 532 kB).\n\n");
    body.push_str("| case | bundles | provdiff / bundle | sigstore-js / bundle | ratio | provdiff process | sigstore-js process | ratio | provdiff process with `--tarball` | ratio |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for row in &rows {
        body.push_str(row);
        body.push('\n');
    }
    body.push_str(&format!("\nprovdiff verifies **{rate:.0} bundles per second** on one core, in process, with every npm check included.\n\n"));
    body.push_str(&common);
    body.push_str("\nsigstore-python cannot verify npm's attestations at all:\n\n");
    for rejection in &rejections {
        body.push_str(&format!("- {rejection}\n"));
    }
    body.push_str(&format!(
        "\nCommands: `cargo xtask bench verify --iterations {iterations} --runs {runs}` (scripts for the peers: `xtask/bench/sigstore-js-verify.js`, `xtask/bench/sigstore-python-verify.py`).\n"
    ));
    write_section(root, "bench verify", &body)
}

/// All three tools on a bundle they can all verify.
fn common_ground(case: &Path, shared: &Path, peers: &Installed, py_script: &Path, iterations: usize) -> Result<String> {
    let bundle = fs_err::read_to_string(case.join("bundle.sigstore.json"))?;
    let artifact = fs_err::read(if case.join("artifact").exists() {
        case.join("artifact")
    } else {
        shared.join("conformance/bundle-verify/a.txt")
    })?;
    let root = shared.join("conformance/trusted_root.public-good.json");
    let trust = TrustMaterial::embedded()?.with_trusted_root(&fs_err::read_to_string(&root)?, "conformance root")?;
    let verifier = Verifier::new(&trust)?;
    let policy = provdiff_attest::SignerPolicy::Identity {
        identity: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main".into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
    };
    let mut times = Vec::new();
    for _ in 0..iterations {
        let start = Instant::now();
        let report = verifier.verify_bundle(&bundle, provdiff_attest::BundleArtifact::Bytes(&artifact), &policy);
        if report.is_err() {
            bail!("provdiff does not verify {}", case.display());
        }
        times.push(start.elapsed().as_secs_f64());
    }
    let provdiff = median(times);
    let py: Value = serde_json::from_str(&run(std::process::Command::new(&peers.python)
        .arg(py_script)
        .arg(&root)
        .arg(iterations.min(200).to_string())
        .arg(case.join("bundle.sigstore.json")))?)?;
    let python = py["median_ns_per_bundle"].as_f64().unwrap_or(f64::NAN) / 1e9;
    let keys = shared.join("fixtures/trust/npm-registry-keys.json");
    let js: Value = serde_json::from_str(&run(std::process::Command::new("node")
        .env("NODE_PATH", &peers.sigstore_js)
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/sigstore-js-verify.js"))
        .arg(&root)
        .arg(&keys)
        .arg(iterations.min(200).to_string())
        .arg(case.join("bundle.sigstore.json")))?)?;
    let javascript = js["median_ns_per_bundle"].as_f64().unwrap_or(f64::NAN) / 1e9;
    Ok(format!(
        "Common ground, a bundle all three verify (sigstore-conformance `happy-path-intoto-in-dsse-v3`, in process): provdiff {:.3} ms, sigstore-js {:.3} ms (**{:.1}×**), sigstore-python {:.3} ms (**{:.1}×**).\n",
        provdiff * 1e3,
        javascript * 1e3,
        javascript / provdiff,
        python * 1e3,
        python / provdiff
    ))
}
