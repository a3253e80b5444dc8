//! Test support for provdiff, never shipped: a throwaway Sigstore-like instance whose bundles
//! verify through the real verification path (with its own trusted root, and nowhere else), git
//! repositories built in temporary directories, a real git server (smart HTTP and `git://`) and a
//! test npm registry (a real HTTP server) on 127.0.0.1, both with fault injection.
//!
//! Panics are acceptable here: a failure to generate a key or write a temp file is a broken test
//! environment, not bad input.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod git_server;
mod registry;
mod repo;
mod sigstore;
mod tsa;
mod x509;

pub use git_server::{Behaviour, GitProtocol, GitServer, WantPolicy, git};
pub use registry::{Fault, RecordedRequest, Resource, TestRegistry, TestVersion};
pub use repo::{RepoFile, TestRepo, write_bundle};
pub use sigstore::{
    BundleVersion, Ci, EntryKind, NPM_PUBLISH, ProvenanceSpec, PublishShape, SLSA_V1, SLSA_V02, SigstoreInstance,
    SlsaShape,
};
pub use x509::{Claim, ClaimEncoding};

use sha2::Digest;

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(bytes).into()
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}
