//! `provdiff verify-bundle`: one bundle, one artifact, an explicit signer. Speaks the
//! sigstore-conformance client protocol, where only the exit code counts.

use std::io::Write;

use anyhow::{Context, Result};
use provdiff_attest::{BundleArtifact, SignerPolicy};

use crate::cli::{TrustArgs, VerifyBundleArgs};
use crate::error::{ErrorCode, Tag};
use crate::{exit, inputs};

pub fn run(args: &VerifyBundleArgs) -> Result<u8> {
    let bundle = inputs::read_text(&args.bundle)?;
    let policy = match (&args.key, &args.certificate_identity, &args.certificate_oidc_issuer) {
        (Some(key), _, _) => {
            let pem = inputs::read_text(key)?;
            let public_key = provdiff_attest::parse_public_key_pem(&pem)
                .with_context(|| format!("{} is not a PEM public key", key.display()))
                .tag_file(ErrorCode::KeyInvalid, key)?;
            SignerPolicy::Key { public_key }
        }
        (None, Some(identity), Some(issuer)) => {
            SignerPolicy::Identity { identity: identity.clone(), issuer: issuer.clone() }
        }
        _ => {
            return Err(anyhow::anyhow!("give --key, or --certificate-identity with --certificate-oidc-issuer"))
                .tag(ErrorCode::Usage);
        }
    };
    let verifier = inputs::verifier(&TrustArgs { trusted_root: args.trusted_root.clone(), npm_keys: None })?;
    let bytes;
    let artifact = match args.artifact.strip_prefix("sha256:") {
        Some(hex_digits) => {
            let digest: [u8; 32] = hex::decode(hex_digits)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .context("the artifact digest must be sha256: and 64 hex digits")
                .tag_field(ErrorCode::DigestInvalid, "FILE_OR_DIGEST")?;
            BundleArtifact::Sha256(digest)
        }
        None => {
            bytes = inputs::read_file(std::path::Path::new(&args.artifact))?;
            BundleArtifact::Bytes(&bytes)
        }
    };
    let outcome = verifier.verify_bundle(&bundle, artifact, &policy);
    let mut out = std::io::stdout().lock();
    let code = if outcome.is_ok() { exit::OK } else { exit::FAILED };
    let printed = (|| -> std::io::Result<()> {
        match &outcome {
            Ok(report) => {
                if args.json {
                    serde_json::to_writer_pretty(&mut out, &serde_json::json!({"verified": true, "bundle": report}))?;
                    writeln!(out)?;
                } else {
                    let bundle = args.bundle.display().to_string();
                    writeln!(out, "verified: {} ({})", crate::render::one_line(&bundle), report.checks.join(", "))?;
                    if let (Some(identity), Some(issuer)) = (&report.identity, &report.issuer) {
                        writeln!(
                            out,
                            "signer: {} ({})",
                            crate::render::one_line(identity),
                            crate::render::one_line(issuer)
                        )?;
                    }
                }
            }
            Err(finding) => {
                if args.json {
                    serde_json::to_writer_pretty(
                        &mut out,
                        &serde_json::json!({"verified": false, "findings": [finding]}),
                    )?;
                    writeln!(out)?;
                } else {
                    writeln!(out, "NOT verified: {}: {}", finding.code, crate::render::one_line(&finding.detail))?;
                }
            }
        }
        out.flush()
    })();
    crate::render::stdout_closed_is_no_error(printed)?;
    Ok(code)
}
