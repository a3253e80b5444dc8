//! `cargo xtask rebuild-deps`: the dependencies the rebuild tests install, for the test packages
//! under `tests/rebuild/`, from the npm registry npm is configured with:
//!
//! - `target/rebuild-deps/npm-cache`, an npm cache filled by `npm ci` on each package's lockfile,
//!   which offline rebuilds (`--rebuild-offline`) install from;
//! - `target/rebuild-deps/tarballs`, the tarball of every package those lockfiles pin, as
//!   `NAME-VERSION.tgz` (a scope's `@` dropped and its `/` a `-`, as `npm pack` names them), for
//!   tests to serve from a registry of their own. They are copied out of that cache by the
//!   lockfile's integrity and checked against it, so keeping them never touches the network and
//!   a tarball is exactly the one the lockfile pins.
//!
//! Each directory is made in a temporary directory and renamed into place, with a stamp naming the
//! lockfiles it was made from; one whose stamp matches is left alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use provdiff_core::Sha512;
use sha2::Digest;

use crate::process::run;

/// The file in each directory naming the lockfiles it was made from.
const STAMP: &str = "provdiff-stamp";

pub fn install(root: &Path) -> Result<()> {
    let target = root.join("target/rebuild-deps");
    let lockfiles = test_packages(&root.join("tests/rebuild"))?;
    let stamp = stamp(&lockfiles)?;
    let cache = target.join("npm-cache");
    if !is_stamped(&cache, &stamp) {
        fill_cache(&target, &cache, &lockfiles, &stamp)?;
    }
    let tarballs = target.join("tarballs");
    if !is_stamped(&tarballs, &stamp) {
        keep_tarballs(&target, &cache, &tarballs, &lockfiles, &stamp)?;
    }
    Ok(())
}

/// The test packages: the directories under `packages` with a `package-lock.json`, sorted.
fn test_packages(packages: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in fs_err::read_dir(packages)? {
        let dir = entry?.path();
        if dir.join("package-lock.json").is_file() {
            dirs.push(dir);
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn stamp(lockfiles: &[PathBuf]) -> Result<String> {
    let mut stamp = String::new();
    for dir in lockfiles {
        let digest = sha2::Sha256::digest(fs_err::read(dir.join("package-lock.json"))?);
        stamp.push_str(&format!("{} {}\n", hex::encode(digest), dir.file_name().unwrap_or_default().to_string_lossy()));
    }
    Ok(stamp)
}

fn is_stamped(dir: &Path, stamp: &str) -> bool {
    fs_err::read_to_string(dir.join(STAMP)).ok().as_deref() == Some(stamp)
}

/// Puts `fresh` (in a scratch directory under `target`) in `dir`'s place, stamped.
fn replace(fresh: &Path, dir: &Path, stamp: &str) -> Result<()> {
    fs_err::write(fresh.join(STAMP), stamp)?;
    if dir.exists() {
        fs_err::remove_dir_all(dir)?;
    }
    fs_err::rename(fresh, dir)?;
    Ok(())
}

fn fill_cache(target: &Path, cache: &Path, lockfiles: &[PathBuf], stamp: &str) -> Result<()> {
    fs_err::create_dir_all(target)?;
    let scratch = tempfile::Builder::new().prefix("npm-cache-").tempdir_in(target)?;
    let fresh = scratch.path().join("npm-cache");
    for dir in lockfiles {
        eprintln!("caching the dependencies of {} into {}", dir.display(), cache.display());
        let work = scratch.path().join("work");
        if work.exists() {
            fs_err::remove_dir_all(&work)?;
        }
        fs_err::create_dir_all(&work)?;
        for name in ["package.json", "package-lock.json"] {
            fs_err::copy(dir.join(name), work.join(name))?;
        }
        run(std::process::Command::new("npm")
            .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--cache"])
            .arg(&fresh)
            .current_dir(&work))
        .with_context(|| format!("cannot install the dependencies of {}", dir.display()))?;
    }
    replace(&fresh, cache, stamp)
}

/// A package a lockfile pins and installs from a registry.
struct Pinned {
    name: String,
    version: String,
    /// The lockfile's `integrity`, as written.
    integrity: String,
    sha512: Sha512,
}

impl Pinned {
    /// `NAME-VERSION.tgz`, as `npm pack NAME@VERSION` names it.
    fn file_name(&self) -> String {
        format!("{}-{}.tgz", self.name.trim_start_matches('@').replace('/', "-"), self.version)
    }
}

/// The packages `lockfile` (a `package-lock.json`, version 2 or 3) installs from a registry: every
/// entry of `packages` but the root, links and what comes inside another package's tarball.
fn pinned(lockfile: &Path) -> Result<Vec<Pinned>> {
    let text = fs_err::read_to_string(lockfile)?;
    let lock: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", lockfile.display()))?;
    let Some(packages) = lock.get("packages").and_then(serde_json::Value::as_object) else {
        bail!("{} has no `packages` (lockfile version 2 or 3 is needed)", lockfile.display());
    };
    let mut pinned = Vec::new();
    for (path, entry) in packages {
        let flag = |name: &str| entry.get(name).and_then(serde_json::Value::as_bool).unwrap_or(false);
        if path.is_empty() || flag("link") || flag("inBundle") {
            continue;
        }
        let field = |name: &str| entry.get(name).and_then(serde_json::Value::as_str);
        let Some(installed_as) = path.rsplit_once("node_modules/").map(|(_, name)| name) else {
            bail!("{}: {path:?} is not under node_modules", lockfile.display());
        };
        // An alias (`"x": "npm:y@1"`) is installed as `x` but is the package `name`.
        let name = field("name").unwrap_or(installed_as).to_string();
        let (Some(version), Some(integrity)) = (field("version"), field("integrity")) else {
            bail!("{}: {path} has no version or no integrity, so it is not from a registry", lockfile.display());
        };
        // An integrity may list several digests (`sha512-… sha1-…`); cacache files content by the
        // strongest, which for npm is always a sha512.
        let Some(sha512) = integrity
            .split_whitespace()
            .find_map(|part| Sha512::from_integrity(part.split('?').next().unwrap_or(part)).ok())
        else {
            bail!("{}: {path} has no sha512 integrity ({integrity})", lockfile.display());
        };
        pinned.push(Pinned { name, version: version.to_string(), integrity: integrity.to_string(), sha512 });
    }
    Ok(pinned)
}

/// Copies the tarball of every package the lockfiles pin out of `cache` into `tarballs`, each
/// checked against its lockfile's integrity.
fn keep_tarballs(target: &Path, cache: &Path, tarballs: &Path, lockfiles: &[PathBuf], stamp: &str) -> Result<()> {
    let scratch = tempfile::Builder::new().prefix("tarballs-").tempdir_in(target)?;
    let fresh = scratch.path().join("tarballs");
    fs_err::create_dir_all(&fresh)?;
    let mut kept: BTreeMap<String, Sha512> = BTreeMap::new();
    for dir in lockfiles {
        let lockfile = dir.join("package-lock.json");
        for package in pinned(&lockfile)? {
            let file_name = package.file_name();
            match kept.get(&file_name) {
                Some(sha512) if *sha512 == package.sha512 => continue,
                Some(_) => bail!("two lockfiles pin {}@{} with different integrity", package.name, package.version),
                None => {}
            }
            // cacache's content address: content-v2/sha512/ab/cd/ef… for the digest abcdef….
            let hex = package.sha512.to_hex();
            let content = cache.join("_cacache/content-v2/sha512").join(&hex[..2]).join(&hex[2..4]).join(&hex[4..]);
            let bytes = fs_err::read(&content).with_context(|| {
                format!(
                    "the npm cache {} lacks the tarball of {}@{} that {} pins; remove the cache and run \
                     `cargo xtask rebuild-deps` again",
                    cache.display(),
                    package.name,
                    package.version,
                    lockfile.display()
                )
            })?;
            let actual = Sha512::digest(&bytes);
            if actual != package.sha512 {
                bail!(
                    "{} in the npm cache is not the tarball of {}@{}: its integrity is {}, the lockfile's {}",
                    content.display(),
                    package.name,
                    package.version,
                    actual.to_integrity(),
                    package.integrity
                );
            }
            eprintln!("keeping {}@{} as {}", package.name, package.version, tarballs.join(&file_name).display());
            fs_err::write(fresh.join(&file_name), &bytes)?;
            kept.insert(file_name, package.sha512);
        }
    }
    replace(&fresh, tarballs, stamp)
}
