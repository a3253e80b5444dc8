//! `cargo xtask pack-tools`: install the publishing tools the differential test of provdiff's
//! `package.json` rules runs (listed in `tests/npm/pack-tools.txt`: pnpm and yarn berry releases)
//! from the configured npm registry into `target/pack-tools/<spec>`, skipping those already there.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::process::run;

/// The tool specs (`pnpm@10.34.9`, `@yarnpkg/cli-dist@4.18.1`).
pub fn specs(root: &Path) -> Result<Vec<String>> {
    let text = fs_err::read_to_string(root.join("tests/npm/pack-tools.txt"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect())
}

/// Where a spec is installed: `target/pack-tools/@yarnpkg+cli-dist@4.18.1`.
pub fn prefix(root: &Path, spec: &str) -> PathBuf {
    root.join("target/pack-tools").join(spec.replace('/', "+"))
}

/// The package name of a spec: `@yarnpkg/cli-dist@4.18.1` → `@yarnpkg/cli-dist`.
fn package_name(spec: &str) -> Result<&str> {
    match spec.rfind('@') {
        Some(at) if at > 0 => Ok(&spec[..at]),
        _ => bail!("{spec:?} in tests/npm/pack-tools.txt is not NAME@VERSION"),
    }
}

pub fn install(root: &Path) -> Result<()> {
    for spec in specs(root)? {
        let prefix = prefix(root, &spec);
        let marker = prefix.join("node_modules").join(package_name(&spec)?).join("package.json");
        if marker.exists() {
            continue;
        }
        eprintln!("installing {spec} into {}", prefix.display());
        // Install beside the final directory and rename, so an interrupted install is never
        // taken for a complete one.
        let mut partial = prefix.clone().into_os_string();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        if partial.exists() {
            fs_err::remove_dir_all(&partial)?;
        }
        fs_err::create_dir_all(&partial)?;
        run(std::process::Command::new("npm")
            .args([
                "install",
                "--no-save",
                "--no-package-lock",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                "--prefix",
            ])
            .arg(&partial)
            .arg(&spec))
        .with_context(|| format!("cannot install {spec}"))?;
        if prefix.exists() {
            fs_err::remove_dir_all(&prefix)?;
        }
        fs_err::rename(&partial, &prefix)?;
    }
    Ok(())
}
