//! Reading the command's input files into library types, with errors that name the file.

use std::path::Path;

use anyhow::{Context, Result};
use provdiff_attest::{RawAttestation, TrustMaterial, Verifier};
use provdiff_npm::PublishedTarball;

use crate::cli::TrustArgs;

pub fn read_tarball(path: &Path) -> Result<PublishedTarball> {
    let bytes = fs_err::read(path)?;
    provdiff_npm::read_tarball(bytes).with_context(|| format!("cannot read tarball {}", path.display()))
}

pub fn read_attestations(paths: &[std::path::PathBuf]) -> Result<Vec<RawAttestation>> {
    let mut all = Vec::new();
    for path in paths {
        let bytes = fs_err::read(path)?;
        let origin = path.display().to_string();
        all.extend(provdiff_attest::parse_attestations(&bytes, &origin).context("cannot read attestations")?);
    }
    Ok(all)
}

pub fn verifier(trust: &TrustArgs) -> Result<Verifier> {
    let mut material = TrustMaterial::embedded().context("the embedded trust material is broken")?;
    if let Some(path) = &trust.trusted_root {
        let json = fs_err::read_to_string(path)?;
        material = material.with_trusted_root(&json, &path.display().to_string())?;
    }
    if let Some(path) = &trust.npm_keys {
        let json = fs_err::read_to_string(path)?;
        material = material.with_npm_keys(&json, &path.display().to_string())?;
    }
    Ok(Verifier::new(&material)?)
}

/// `name@version` (the name may be scoped: `@scope/name@1.0.0`).
pub fn parse_package_spec(spec: &str) -> Result<(String, String)> {
    let split = spec.rfind('@').filter(|&index| index > 0).context("expected NAME@VERSION")?;
    let (name, version) = (&spec[..split], &spec[split + 1..]);
    anyhow::ensure!(!name.is_empty() && !version.is_empty(), "expected NAME@VERSION, got {spec:?}");
    Ok((name.to_string(), version.to_string()))
}
