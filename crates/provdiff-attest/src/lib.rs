//! Offline verification of npm attestations: SLSA provenance (keyless, Fulcio-certified) and npm
//! publish attestations (signed with npm's registry key), both in Sigstore bundles logged in Rekor.
//!
//! **Architecture Invariant:** this crate never touches the network and never reads files. Trust
//! material (the Sigstore trusted root, npm's keys) and attestations are passed in as data; the
//! result is a typed record of what was verified and findings for what was not.

mod bundle;
mod claims;
mod input;
mod policy;
mod provenance;
mod statement;
mod trust;
mod verify;

pub use bundle::{BundleArtifact, BundleReport, KeyError, SignerPolicy, parse_public_key_pem};
pub use claims::{CertificateClaims, CrossCheck, GITHUB_ACTIONS_ISSUER, GITLAB_ISSUER, Vouch, Vouching};
pub use input::{InputError, RawAttestation, parse_attestations};
pub use policy::{IdentityPolicy, Pattern};
pub use provenance::Provenance;
pub use sigstore_verify::types::DerPublicKey;
pub use statement::{AttestationKind, NPM_PUBLISH_V01, SLSA_PROVENANCE_V1, SLSA_PROVENANCE_V02, npm_purl};
pub use trust::{EmbeddedSource, KeyUsage, NpmKey, TrustError, TrustMaterial, TrustOrigin, npm_key_id, parse_npm_keys};
pub use verify::{
    AttestationOutcome, PackageSubject, TimeSource, Verification, VerifiedProvenance, VerifiedPublish, VerifiedTime,
    Verifier,
};
