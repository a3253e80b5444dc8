//! `cargo xtask npm-versions`: install the npm releases the differential tests compare provdiff's
//! packer with (listed in `tests/npm/versions.txt`) from the configured npm registry into
//! `target/npm-versions/<version>`, skipping those already there.

use std::path::Path;

use anyhow::{Context, Result};

use crate::process::run;

pub fn versions(root: &Path) -> Result<Vec<String>> {
    let text = fs_err::read_to_string(root.join("tests/npm/versions.txt"))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect())
}

pub fn install(root: &Path) -> Result<()> {
    for version in versions(root)? {
        let prefix = root.join("target/npm-versions").join(&version);
        let marker = prefix.join("node_modules/npm/package.json");
        if marker.exists() {
            continue;
        }
        eprintln!("installing npm@{version} into {}", prefix.display());
        fs_err::create_dir_all(&prefix)?;
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
            .arg(&prefix)
            .arg(format!("npm@{version}")))
        .with_context(|| format!("cannot install npm@{version}"))?;
    }
    Ok(())
}
