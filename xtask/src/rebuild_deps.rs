//! `cargo xtask rebuild-deps`: fill the npm cache the rebuild tests install from offline
//! (`target/rebuild-deps/npm-cache`), by running `npm ci` on each test package under
//! `tests/rebuild/` against the npm registry npm is configured with.
//!
//! The cache is filled in a temporary directory and renamed into place, with a stamp naming the
//! lockfiles it was made from; a cache whose stamp matches is left alone.

use std::path::Path;

use anyhow::{Context, Result};
use sha2::Digest;

use crate::process::run;

pub fn install(root: &Path) -> Result<()> {
    let packages = root.join("tests/rebuild");
    let target = root.join("target/rebuild-deps");
    let cache = target.join("npm-cache");
    let mut lockfiles = Vec::new();
    for entry in fs_err::read_dir(&packages)? {
        let dir = entry?.path();
        if dir.join("package-lock.json").is_file() {
            lockfiles.push(dir);
        }
    }
    lockfiles.sort();
    let mut stamp = String::new();
    for dir in &lockfiles {
        let digest = sha2::Sha256::digest(fs_err::read(dir.join("package-lock.json"))?);
        stamp.push_str(&format!("{} {}\n", hex::encode(digest), dir.file_name().unwrap_or_default().to_string_lossy()));
    }
    if fs_err::read_to_string(cache.join("provdiff-stamp")).ok().as_deref() == Some(stamp.as_str()) {
        return Ok(());
    }
    fs_err::create_dir_all(&target)?;
    let scratch = tempfile::Builder::new().prefix("npm-cache-").tempdir_in(&target)?;
    let fresh = scratch.path().join("npm-cache");
    for dir in &lockfiles {
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
    fs_err::write(fresh.join("provdiff-stamp"), &stamp)?;
    if cache.exists() {
        fs_err::remove_dir_all(&cache)?;
    }
    fs_err::rename(&fresh, &cache)?;
    Ok(())
}
