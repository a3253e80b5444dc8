//! Reading the command's input files into library types, with errors that name the file.

use std::path::Path;

use anyhow::{Context, Result};
use provdiff_attest::{RawAttestation, TrustMaterial, Verifier};
use provdiff_npm::PublishedTarball;

use crate::cli::TrustArgs;
use crate::error::{ErrorCode, Tag};

/// Reads a file a command was given; a failure names it with `input-unreadable`.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs_err::read(path).tag_file(ErrorCode::InputUnreadable, path)
}

/// [`read_file`] as text.
pub fn read_text(path: &Path) -> Result<String> {
    fs_err::read_to_string(path).tag_file(ErrorCode::InputUnreadable, path)
}

pub fn read_tarball(path: &Path) -> Result<PublishedTarball> {
    let bytes = read_file(path)?;
    provdiff_npm::read_tarball(bytes)
        .with_context(|| format!("cannot read tarball {}", path.display()))
        .tag_file(ErrorCode::TarballInvalid, path)
}

pub fn read_attestations(paths: &[std::path::PathBuf]) -> Result<Vec<RawAttestation>> {
    let mut all = Vec::new();
    for path in paths {
        let bytes = read_file(path)?;
        let origin = path.display().to_string();
        all.extend(
            provdiff_attest::parse_attestations(&bytes, &origin)
                .context("cannot read attestations")
                .tag_file(ErrorCode::AttestationsInvalid, path)?,
        );
    }
    Ok(all)
}

pub fn verifier(trust: &TrustArgs) -> Result<Verifier> {
    let mut material = TrustMaterial::embedded().context("the embedded trust material is broken")?;
    if let Some(path) = &trust.trusted_root {
        let json = read_text(path)?;
        material =
            material.with_trusted_root(&json, &path.display().to_string()).tag_file(ErrorCode::TrustInvalid, path)?;
    }
    if let Some(path) = &trust.npm_keys {
        let json = read_text(path)?;
        material =
            material.with_npm_keys(&json, &path.display().to_string()).tag_file(ErrorCode::TrustInvalid, path)?;
    }
    Verifier::new(&material).tag(ErrorCode::TrustInvalid)
}

/// `name@version` (the name may be scoped: `@scope/name@1.0.0`), given as `field`.
pub fn parse_package_spec(spec: &str, field: &str) -> Result<(String, String)> {
    let parsed = provdiff_registry::PackageSpec::parse(spec)
        .with_context(|| format!("{field} {spec:?}"))
        .tag_field(ErrorCode::PackageSpecInvalid, field)?;
    Ok((parsed.name.as_str().to_string(), parsed.version))
}
