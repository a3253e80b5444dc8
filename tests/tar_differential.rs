//! provdiff's reading of tar streams against node-tar's own. Every tarball of
//! `support/tarballs.rs` that provdiff reads — what publishers write, and the hostile ones it reads
//! as npm does (with findings) — is extracted by the pacote of every npm release in
//! `tests/npm/versions.txt`: `npm install`'s own code (node-tar 6.1 to 7.5, strip 1, npm's entry
//! filter and modes). What npm leaves on disk must be exactly the regular files provdiff read, with
//! their bytes, and the modes an install gives them.
//!
//! The npm releases are installed by `cargo xtask npm-versions` (as `.ci/run` does); without them
//! (or without node) the test says so and skips, unless `PROVDIFF_REQUIRE_NPM=1` makes their
//! absence a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use support::tarballs::cases;

/// What `npm install` leaves of a package, path → (mode, hex content).
type Installed = BTreeMap<String, (u32, String)>;

/// The files provdiff read, as an install writes them: pacote ORs 0o666 into the mode, npm's
/// umask takes 0o022 away, the owner can always read and write, and the manifest's `bin`
/// targets (compared as written, pacote's `isPackageBin`) are made executable.
fn as_installed(tarball: &provdiff_npm::PublishedTarball) -> Installed {
    let manifest: serde_json::Value = tarball
        .tree
        .get("package.json")
        .and_then(|entry| serde_json::from_slice(&entry.content).ok())
        .unwrap_or_default();
    let bins: Vec<&str> = match &manifest["bin"] {
        serde_json::Value::String(bin) => vec![bin.as_str()],
        serde_json::Value::Object(bins) => bins.values().filter_map(|bin| bin.as_str()).collect(),
        _ => Vec::new(),
    };
    tarball
        .tree
        .files()
        .map(|(path, entry)| {
            let exe = if bins.contains(&path) { 0o111 } else { 0 };
            (path.to_string(), ((((entry.mode | 0o666) & !0o022) | exe | 0o600), hex::encode(&entry.content)))
        })
        .collect()
}

fn read_installed(json: &Path) -> Result<Installed, String> {
    let value: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(json).unwrap()).unwrap();
    if let Some(error) = value["error"].as_str() {
        return Err(error.to_string());
    }
    Ok(value["files"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(path, file)| {
            let mode = file["mode"].as_i64().unwrap();
            (path.clone(), (u32::try_from(mode).unwrap_or(u32::MAX), file["hex"].as_str().unwrap().to_string()))
        })
        .collect())
}

#[test]
fn provdiff_reads_what_npm_installs() {
    let Some(installs) = support::installed_npm_releases() else { return };
    let work = tempfile::tempdir().unwrap();
    let mut read: BTreeMap<String, Installed> = BTreeMap::new();
    let mut paths = Vec::new();
    for case in cases() {
        // Errors are not readings: nothing to compare.
        let Ok(tarball) = provdiff_npm::read_tarball(case.tgz.clone()) else { continue };
        let path = work.path().join(format!("{}.tgz", case.name));
        fs_err::write(&path, &case.tgz).unwrap();
        paths.push(path);
        read.insert(case.name.to_string(), as_installed(&tarball));
    }
    assert!(read.len() >= 30, "only {} cases read", read.len());
    // Real tarballs, published by npm: they read silently, and as npm installs them.
    for (name, path) in real_tarballs() {
        let tarball = provdiff_npm::read_tarball(fs_err::read(&path).unwrap()).unwrap();
        let tar_findings: Vec<_> = tarball.findings.iter().filter(|f| f.code.as_str().starts_with("tar-")).collect();
        assert!(
            tar_findings.iter().all(|f| f.code == provdiff_core::Code::TarRootDirectory),
            "{name}: {tar_findings:?}"
        );
        let copy = work.path().join(format!("{name}.tgz"));
        fs_err::copy(&path, &copy).unwrap();
        paths.push(copy);
        read.insert(name, as_installed(&tarball));
    }
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/npm/extract-with-npm.js");
    let mut disagreements = Vec::new();
    for version in support::npm_versions() {
        let npm = support::npm_package(&installs, &version);
        let out = work.path().join("out").join(&version);
        fs_err::create_dir_all(&out).unwrap();
        let status = std::process::Command::new("node")
            .arg(&runner)
            .arg(&npm)
            .arg(work.path().join("cache"))
            .arg(&out)
            .args(&paths)
            .status()
            .unwrap();
        assert!(status.success(), "extracting with npm@{version} failed");
        for (name, ours) in &read {
            match read_installed(&out.join(format!("{name}.json"))) {
                Err(error) => {
                    disagreements.push(format!("npm@{version} {name}: npm fails ({error}), provdiff reads it"))
                }
                Ok(theirs) if &theirs != ours => disagreements.push(format!(
                    "npm@{version} {name}:\n  npm installs   {:?}\n  provdiff reads {:?}",
                    summary(&theirs),
                    summary(ours)
                )),
                Ok(_) => {}
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// The example's tarball (packed by npm) and the real packages of `../shared`, when it is there.
fn real_tarballs() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut tarballs = vec![("real-example-hello".to_string(), root.join("examples/hello/provdiff-hello-1.0.0.tgz"))];
    if let Ok(fixtures) = fs_err::read_dir(root.join("../shared/fixtures/npm")) {
        for fixture in fixtures {
            let dir = fixture.unwrap().path();
            let tgz = dir.join("package.tgz");
            if tgz.is_file() {
                tarballs.push((format!("real-{}", dir.file_name().unwrap().to_string_lossy()), tgz));
            }
        }
    }
    tarballs.sort();
    tarballs
}

fn summary(files: &Installed) -> Vec<String> {
    files
        .iter()
        .map(|(path, (mode, content))| format!("{path} {mode:o} {}", &content[..content.len().min(16)]))
        .collect()
}
