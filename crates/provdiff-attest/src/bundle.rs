//! Verification of one Sigstore bundle against an artifact and an explicit signer policy: the
//! sigstore-conformance client protocol (`verify-bundle`), and the general case behind npm's.

use sigstore_verify::types::{Artifact, Bundle, DerPublicKey, Sha256Hash};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy};

use crate::verify::{Verifier, code_for};
use provdiff_core::{Code, Finding};

/// What the bundle must be a signature over.
#[derive(Debug, Clone, Copy)]
pub enum BundleArtifact<'a> {
    Bytes(&'a [u8]),
    Sha256([u8; 32]),
}

/// Who must have signed.
#[derive(Debug, Clone)]
pub enum SignerPolicy {
    /// A keyless (Fulcio) signature whose certificate names exactly this identity and issuer.
    Identity { identity: String, issuer: String },
    /// A signature with this public key.
    Key { public_key: DerPublicKey },
}

/// What a successful verification established.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BundleReport {
    pub media_type: String,
    pub identity: Option<String>,
    pub issuer: Option<String>,
    pub integrated_time: Option<jiff::Timestamp>,
    pub checks: Vec<&'static str>,
}

impl Verifier {
    /// Verifies one bundle. A failure is a finding with the code of the check that failed.
    pub fn verify_bundle(
        &self,
        bundle_json: &str,
        artifact: BundleArtifact<'_>,
        policy: &SignerPolicy,
    ) -> Result<BundleReport, Finding> {
        let bundle = Bundle::from_json(bundle_json).map_err(|error| unreadable_bundle(bundle_json, &error))?;
        self.check_chain(&bundle).map_err(|reason| Finding::new(Code::CertificateInvalid, reason))?;
        let artifact = match artifact {
            BundleArtifact::Bytes(bytes) => Artifact::Blob(bytes),
            BundleArtifact::Sha256(digest) => Artifact::from_digest(Sha256Hash::new(digest)),
        };
        let result = match policy {
            SignerPolicy::Identity { identity, issuer } => {
                let policy = VerificationPolicy::new(identity.as_str(), issuer.as_str());
                self.sigstore().verify(artifact, &bundle, &policy)
            }
            SignerPolicy::Key { public_key } => {
                self.sigstore().verify(artifact, &bundle, &PublicKeyVerificationPolicy::new(public_key.clone()))
            }
        };
        let result = result.map_err(|error| Finding::new(code_for(&error), error.to_string()))?;
        let mut checks = Vec::new();
        if result.certificate_verified() {
            checks.push("certificate-chain");
        }
        if result.sct_verified() {
            checks.push("certificate-transparency");
        }
        if result.identity_policy_checked() {
            checks.push("identity");
        }
        if result.tlog_verified() {
            checks.push("transparency-log");
        }
        checks.push("signature");
        Ok(BundleReport {
            media_type: bundle.media_type().as_str().to_string(),
            identity: result.identity().map(ToString::to_string),
            issuer: result.issuer().map(str::to_string),
            integrated_time: result.integrated_time(),
            checks,
        })
    }
}

/// Says why a bundle cannot be read, attributing the failure to the log's checkpoint when that is
/// what is malformed (a checkpoint is parsed with the bundle, so a bad one stops the parse).
pub(crate) fn unreadable_bundle(bundle_json: &str, error: &dyn std::fmt::Display) -> Finding {
    let checkpoints: Vec<String> = serde_json::from_str::<serde_json::Value>(bundle_json)
        .ok()
        .and_then(|value| value.pointer("/verificationMaterial/tlogEntries").and_then(|e| e.as_array()).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| {
            entry.pointer("/inclusionProof/checkpoint/envelope").and_then(|e| e.as_str()).map(str::to_string)
        })
        .collect();
    for checkpoint in checkpoints {
        if let Err(reason) = sigstore_verify::types::Checkpoint::from_text(&checkpoint) {
            return Finding::new(Code::TlogInvalid, format!("the log checkpoint is malformed: {reason}"));
        }
    }
    Finding::new(Code::BundleMalformed, format!("the bundle cannot be read: {error}"))
}

#[derive(Debug, thiserror::Error)]
#[error("invalid PEM public key: {reason}")]
pub struct KeyError {
    pub reason: String,
}

/// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of an algorithm Sigstore verifies with. The
/// PEM layer alone accepts any base64, so the key inside is parsed too: a key that is not one is
/// an input error, not a signature that fails to verify.
pub fn parse_public_key_pem(pem: &str) -> Result<DerPublicKey, KeyError> {
    let key = DerPublicKey::from_pem(pem).map_err(|error| KeyError { reason: error.to_string() })?;
    sigstore_verify::crypto::KeyAlgorithm::from_spki(&key)
        .map_err(|error| KeyError { reason: format!("not a public key Sigstore verifies with: {error}") })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pem_block_of_anything_but_a_key_is_refused() {
        assert!(parse_public_key_pem("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n").is_err());
        assert!(parse_public_key_pem("not pem").is_err());
        let key = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Olb3zMAFFxXKHiIkQO5cJ3Yhl5i6UPp+IhuteBJbuHcA5UogKo0EWtlWwW6KSaKoTNEYL7JlCQiVnkhBktUgg==\n-----END PUBLIC KEY-----\n";
        assert!(parse_public_key_pem(key).is_ok());
    }
}
