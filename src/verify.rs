//! `provdiff verify`: the attestations alone.

use std::io::Write;

use anyhow::{Context, Result};
use provdiff_attest::{PackageSubject, Verification};
use provdiff_core::Sha512;
use serde::Serialize;

use crate::cli::VerifyArgs;
use crate::error::{ErrorCode, Tag};
use crate::render::terminal::{Style, write_attestation, write_findings};
use crate::report::Tool;
use crate::{exit, inputs};

#[derive(Debug, Serialize)]
struct VerifyReport<'a> {
    schema_version: u32,
    tool: Tool,
    verified: bool,
    package: PackageRef<'a>,
    attestation: &'a Verification,
}

#[derive(Debug, Serialize)]
struct PackageRef<'a> {
    name: &'a str,
    version: &'a str,
    sha512: Sha512,
}

pub fn run(args: &VerifyArgs) -> Result<u8> {
    let attestations = inputs::read_attestations(&args.attestations)?;
    let (sha512, from_tarball) = match (&args.tarball, &args.digest) {
        (Some(path), _) => {
            let tarball = inputs::read_tarball(path)?;
            let manifest = tarball
                .tree
                .get("package.json")
                .map(|entry| provdiff_npm::Manifest::parse(&entry.content, "package.json"));
            let name_version = match manifest {
                Some(Ok(manifest)) => {
                    manifest.name().zip(manifest.version()).map(|(n, v)| (n.to_string(), v.to_string()))
                }
                _ => None,
            };
            (tarball.sha512, name_version)
        }
        (None, Some(digest)) => (parse_digest(digest).tag_field(ErrorCode::DigestInvalid, "--digest")?, None),
        (None, None) => return Err(anyhow::anyhow!("give --tarball or --digest")).tag(ErrorCode::Usage),
    };
    let (name, version) = match (&args.package, from_tarball) {
        (Some(spec), _) => inputs::parse_package_spec(spec, "--package")?,
        (None, Some(name_version)) => name_version,
        (None, None) => {
            let reason = if args.tarball.is_some() {
                "give --package NAME@VERSION: the tarball's package.json names no package and version"
            } else {
                "give --package NAME@VERSION: with only a digest, provdiff cannot know which package to expect"
            };
            return Err(anyhow::anyhow!(reason)).tag_field(ErrorCode::Usage, "--package");
        }
    };
    let verifier = inputs::verifier(&args.trust)?;
    let subject = PackageSubject { name: name.clone(), version: version.clone(), sha512 };
    let verification = verifier.verify(&attestations, &subject, &args.policy.policy());
    let verified = verification.is_verified();
    let mut out = std::io::stdout().lock();
    let printed = (|| -> std::io::Result<()> {
        if args.json {
            let report = VerifyReport {
                schema_version: crate::report::SCHEMA_VERSION,
                tool: Tool { name: "provdiff", version: env!("CARGO_PKG_VERSION") },
                verified,
                package: PackageRef { name: &name, version: &version, sha512 },
                attestation: &verification,
            };
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        } else {
            let title = crate::render::one_line(&format!("{name}@{version}")).into_owned();
            writeln!(out, "{title}: {}", if verified { "verified" } else { "NOT verified" })?;
            writeln!(out)?;
            write_attestation(&mut out, &verification)?;
            for attestation in &verification.attestations {
                writeln!(
                    out,
                    "  {} {}: {}",
                    attestation.origin,
                    attestation.kind.map_or("attestation", |kind| kind.describe()),
                    if attestation.verified {
                        format!("verified ({})", attestation.checks.join(", "))
                    } else {
                        "failed".to_string()
                    }
                )?;
            }
            write_findings(&mut out, &verification.findings, Style::for_stdout())?;
        }
        out.flush()?;
        Ok(())
    })();
    crate::render::stdout_closed_is_no_error(printed)?;
    Ok(if verified { exit::OK } else { exit::FAILED })
}

fn parse_digest(digest: &str) -> Result<Sha512> {
    if let Some(hex_digits) = digest.strip_prefix("sha512:") {
        return Sha512::from_hex(hex_digits).context("--digest");
    }
    Sha512::from_integrity(digest).context("--digest must be sha512:HEX or an npm integrity string")
}
