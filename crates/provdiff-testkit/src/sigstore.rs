//! A throwaway Sigstore-like instance: a CA that issues Fulcio-style certificates, a CT log that
//! embeds SCTs, a Rekor-like log with signed entry timestamps, inclusion proofs and signed
//! checkpoints, an RFC 3161 timestamp authority, and an npm-like registry key. Everything it signs verifies through
//! `provdiff-attest`'s real path against the trusted root it publishes, and nowhere else.
//!
//! Built for tests and the bundled example: keys are generated per instance and never persisted.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use base64::Engine;
use provdiff_core::Sha512;
use serde_json::{Value, json};
use sigstore_verify::crypto::KeyPair;
use sigstore_verify::types::Sha256Hash;

use crate::tsa::TimestampAuthority;
use crate::x509::{CertificateAuthority, Claim, ClaimEncoding, certificate_pem, pem};
use crate::{b64, sha256};

const IN_TOTO: &str = "application/vnd.in-toto+json";
pub const SLSA_V1: &str = "https://slsa.dev/provenance/v1";
pub const SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";
pub const NPM_PUBLISH: &str = "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// A signing key of a log (Rekor or CT), with its id: SHA-256 over its SubjectPublicKeyInfo.
pub(crate) struct LogKey {
    pub key: KeyPair,
    pub spki: Vec<u8>,
    pub id: [u8; 32],
}

impl LogKey {
    fn generate() -> Self {
        let key = KeyPair::generate_ecdsa_p256().expect("key generation works");
        let spki = key.public_key_der().expect("a public key").as_bytes().to_vec();
        let id = sha256(&spki);
        Self { key, spki, id }
    }
}

/// The bundle media types npm has published with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleVersion {
    /// `…;version=0.1`: certificate chain, signed entry timestamp only.
    V01,
    /// `…;version=0.2`: certificate chain, SET and inclusion proof.
    V02,
    /// `….v0.3+json`: single certificate, SET and inclusion proof.
    V03,
}

/// The Rekor entry kind the bundle's log entry has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Intoto002,
    Dsse001,
}

/// The SLSA predicate shape to sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlsaShape {
    V1,
    V02,
}

/// The CI service that ran the build (and whose identity token the certificate was issued for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ci {
    GitHubActions,
    /// GitLab CI: the SAN and build signer are `https://HOST/GROUP/PROJECT//PATH@REF`, the
    /// predicate names the ref by its short name and the builder `PROJECT/-/runners/N`.
    GitLab,
}

/// What a provenance attestation says, and how its bundle is shaped.
#[derive(Debug, Clone)]
pub struct ProvenanceSpec {
    pub package_name: String,
    pub package_version: String,
    pub tarball_sha512: Sha512,
    /// `https://github.com/OWNER/REPO`.
    pub repository: String,
    pub commit: String,
    pub git_ref: String,
    pub workflow_path: String,
    /// When the certificate was issued; the log integrates the entry two seconds later.
    pub signed_at: SystemTime,
    pub bundle_version: BundleVersion,
    pub entry_kind: EntryKind,
    pub slsa: SlsaShape,
    /// The certificate's repository and commit claims, when they should differ from the
    /// predicate's (for tests of the cross-check).
    pub certificate_repository: Option<String>,
    pub certificate_commit: Option<String>,
    pub certificate_ref: Option<String>,
    pub certificate_workflow: Option<String>,
    /// The OIDC issuer the certificate names.
    pub issuer: String,
    /// The runner kind the certificate names (`github-hosted`, `self-hosted`).
    pub runner: String,
    /// Only the legacy GitHub extensions (`.1.1`–`.1.6`), as certificates of early 2023 had.
    pub legacy_claims_only: bool,
    /// A reusable workflow that signed instead of the repository's own (slsa-github-generator):
    /// it becomes the certificate's SAN and build signer, while the repository claims stay.
    pub signer_workflow: Option<String>,
    /// The predicate's builder id, when it should not be the one npm writes for `ci` (for tests
    /// of what the certificate vouches for).
    pub builder_id: Option<String>,
    pub ci: Ci,
}

const GITLAB_ISSUER: &str = "https://gitlab.com";

impl ProvenanceSpec {
    pub fn new(name: &str, version: &str, tarball_sha512: Sha512, repository: &str, commit: &str) -> Self {
        Self {
            package_name: name.to_string(),
            package_version: version.to_string(),
            tarball_sha512,
            repository: repository.to_string(),
            commit: commit.to_string(),
            git_ref: format!("refs/tags/v{version}"),
            workflow_path: ".github/workflows/publish.yml".to_string(),
            signed_at: SystemTime::now() - Duration::from_secs(120),
            bundle_version: BundleVersion::V03,
            entry_kind: EntryKind::Dsse001,
            slsa: SlsaShape::V1,
            certificate_repository: None,
            certificate_commit: None,
            certificate_ref: None,
            certificate_workflow: None,
            issuer: GITHUB_ISSUER.to_string(),
            runner: "github-hosted".to_string(),
            legacy_claims_only: false,
            signer_workflow: None,
            builder_id: None,
            ci: Ci::GitHubActions,
        }
    }

    /// A build on GitLab CI of `repository` (`https://gitlab.com/GROUP/PROJECT`), on `main`.
    pub fn gitlab(name: &str, version: &str, tarball_sha512: Sha512, repository: &str, commit: &str) -> Self {
        Self {
            git_ref: "refs/heads/main".to_string(),
            workflow_path: ".gitlab-ci.yml".to_string(),
            issuer: GITLAB_ISSUER.to_string(),
            runner: "gitlab-hosted".to_string(),
            ci: Ci::GitLab,
            ..Self::new(name, version, tarball_sha512, repository, commit)
        }
    }

    /// The builder id the predicate names.
    fn predicate_builder(&self) -> String {
        self.builder_id.clone().unwrap_or_else(|| match (self.ci, self.slsa) {
            (Ci::GitLab, _) => format!("{}/-/runners/1", self.repository),
            (Ci::GitHubActions, SlsaShape::V1) => format!("https://github.com/actions/runner/{}", self.runner),
            (Ci::GitHubActions, SlsaShape::V02) => "https://github.com/actions/runner".to_string(),
        })
    }

    /// The workflow reference Fulcio writes for a repository, path and ref: GitHub's
    /// `REPO/PATH@REF`, GitLab's `REPO//PATH@REF`.
    fn workflow_ref(&self, repository: &str, path: &str, git_ref: &str) -> String {
        match self.ci {
            Ci::GitHubActions => format!("{repository}/{path}@{git_ref}"),
            Ci::GitLab => format!("{repository}//{path}@{git_ref}"),
        }
    }

    /// The purl npm puts in the subject.
    pub fn purl(&self) -> String {
        match self.package_name.strip_prefix('@') {
            Some(scoped) => format!("pkg:npm/%40{scoped}@{}", self.package_version),
            None => format!("pkg:npm/{}@{}", self.package_name, self.package_version),
        }
    }

    /// The in-toto statement npm's CLI would sign for this build.
    pub fn statement(&self) -> Value {
        let builder = self.predicate_builder();
        let short_ref = self.git_ref.strip_prefix("refs/heads/").unwrap_or(&self.git_ref);
        let predicate = match (self.ci, self.slsa) {
            (Ci::GitLab, _) => json!({
                "buildDefinition": {
                    "buildType": "https://github.com/npm/cli/gitlab/v0alpha1",
                    "externalParameters": {"CI_CONFIG_PATH": self.workflow_path, "CI_PROJECT_URL": self.repository},
                    "internalParameters": {},
                    "resolvedDependencies": [{
                        "uri": format!("git+{}@{short_ref}", self.repository),
                        "digest": {"gitCommit": self.commit}
                    }]
                },
                "runDetails": {
                    "builder": {"id": builder},
                    "metadata": {"invocationId": format!("{}/-/jobs/1", self.repository)}
                }
            }),
            (Ci::GitHubActions, SlsaShape::V1) => json!({
                "buildDefinition": {
                    "buildType": "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
                    "externalParameters": {"workflow": {
                        "ref": self.git_ref, "repository": self.repository, "path": self.workflow_path
                    }},
                    "internalParameters": {"github": {"event_name": "release"}},
                    "resolvedDependencies": [{
                        "uri": format!("git+{}@{}", self.repository, self.git_ref),
                        "digest": {"gitCommit": self.commit}
                    }]
                },
                "runDetails": {
                    "builder": {"id": builder},
                    "metadata": {"invocationId": format!("{}/actions/runs/1/attempts/1", self.repository)}
                }
            }),
            (Ci::GitHubActions, SlsaShape::V02) => json!({
                "buildType": "https://github.com/npm/cli/gha/v2",
                "builder": {"id": builder},
                "invocation": {
                    "configSource": {
                        "uri": format!("git+{}@{}", self.repository, self.git_ref),
                        "digest": {"sha1": self.commit},
                        "entryPoint": self.workflow_path
                    },
                    "parameters": {},
                    "environment": {"GITHUB_REF": self.git_ref, "GITHUB_SHA": self.commit}
                },
                "materials": [{"uri": format!("git+{}@{}", self.repository, self.git_ref), "digest": {"sha1": self.commit}}]
            }),
        };
        json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": self.purl(), "digest": {"sha512": self.tarball_sha512.to_hex()}}],
            "predicateType": match (self.ci, self.slsa) {
                (Ci::GitHubActions, SlsaShape::V02) => SLSA_V02,
                _ => SLSA_V1,
            },
            "predicate": predicate
        })
    }

    fn claims(&self) -> Vec<Claim> {
        let repository = self.certificate_repository.as_deref().unwrap_or(&self.repository);
        let commit = self.certificate_commit.as_deref().unwrap_or(&self.commit);
        let git_ref = self.certificate_ref.as_deref().unwrap_or(&self.git_ref);
        let workflow_path = self.certificate_workflow.as_deref().unwrap_or(&self.workflow_path);
        let workflow = self.workflow_ref(repository, workflow_path, git_ref);
        let signer = self.signer_workflow.clone().unwrap_or_else(|| workflow.clone());
        let der = |arc: u32, value: &str| Claim { arc, value: value.to_string(), encoding: ClaimEncoding::Der };
        let raw = |arc: u32, value: &str| Claim { arc, value: value.to_string(), encoding: ClaimEncoding::Raw };
        let owner_repo = repository.splitn(4, '/').nth(3).unwrap_or_default();
        // The legacy extensions are GitHub's; GitLab certificates never had them.
        let mut claims = match self.ci {
            Ci::GitHubActions => vec![
                raw(1, &self.issuer),
                raw(2, "release"),
                raw(3, commit),
                raw(4, "publish"),
                raw(5, owner_repo),
                raw(6, git_ref),
            ],
            Ci::GitLab => Vec::new(),
        };
        let run = match self.ci {
            Ci::GitHubActions => format!("{repository}/actions/runs/1/attempts/1"),
            Ci::GitLab => format!("{repository}/-/jobs/1"),
        };
        if !self.legacy_claims_only {
            claims.extend([
                der(8, &self.issuer),
                der(9, &signer),
                der(10, commit),
                der(11, &self.runner),
                der(12, repository),
                der(13, commit),
                der(14, git_ref),
                der(18, &workflow),
                der(19, commit),
                der(20, "release"),
                der(21, &run),
            ]);
        }
        claims
    }

    fn identity(&self) -> String {
        if let Some(signer) = &self.signer_workflow {
            return signer.clone();
        }
        let repository = self.certificate_repository.as_deref().unwrap_or(&self.repository);
        let workflow_path = self.certificate_workflow.as_deref().unwrap_or(&self.workflow_path);
        let git_ref = self.certificate_ref.as_deref().unwrap_or(&self.git_ref);
        self.workflow_ref(repository, workflow_path, git_ref)
    }
}

/// How a publish attestation's bundle is shaped, for tests of the checks of its time. npm's
/// bundles all have a signed entry timestamp and no RFC 3161 timestamp (the default).
#[derive(Debug, Clone, Copy)]
pub struct PublishShape {
    /// The log entry carries its signed entry timestamp (SET), which signs `integratedTime`.
    pub signed_entry_timestamp: bool,
    /// The `integratedTime` the bundle claims, when it should not be the one the log signed:
    /// a backdated time, as a forger would write. A SET kept beside it no longer verifies.
    pub claimed_integrated_time: Option<SystemTime>,
    /// An RFC 3161 timestamp over the signature from the instance's timestamp authority.
    pub rfc3161_timestamp: Option<SystemTime>,
}

impl Default for PublishShape {
    fn default() -> Self {
        Self { signed_entry_timestamp: true, claimed_integrated_time: None, rfc3161_timestamp: None }
    }
}

struct LogState {
    leaves: Vec<Sha256Hash>,
}

/// The throwaway instance. See the module documentation.
pub struct SigstoreInstance {
    ca: CertificateAuthority,
    rekor: LogKey,
    ct: LogKey,
    npm: LogKey,
    npm_key_id: String,
    /// The registry's `npm:signatures` key, which signs `dist.signatures`.
    registry_signer: LogKey,
    registry_signer_id: String,
    tsa: TimestampAuthority,
    log: Mutex<LogState>,
}

impl std::fmt::Debug for SigstoreInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigstoreInstance").field("npm_key_id", &self.npm_key_id).finish_non_exhaustive()
    }
}

impl Default for SigstoreInstance {
    fn default() -> Self {
        Self::new()
    }
}

impl SigstoreInstance {
    pub fn new() -> Self {
        let npm = LogKey::generate();
        let registry_signer = LogKey::generate();
        let registry_signer_id = npm_key_id(&registry_signer.spki);
        let npm_key_id = npm_key_id(&npm.spki);
        // A log that already holds a few entries, so inclusion proofs have a path to check.
        let leaves = (0..5u8).map(|i| sigstore_merkle::hash_leaf(&[i])).collect();
        Self {
            ca: CertificateAuthority::generate("provdiff testkit CA - EXAMPLE ONLY - NOT TRUSTED"),
            rekor: LogKey::generate(),
            ct: LogKey::generate(),
            npm,
            npm_key_id,
            registry_signer,
            registry_signer_id,
            tsa: TimestampAuthority::generate(),
            log: Mutex::new(LogState { leaves }),
        }
    }

    /// The trusted root that makes this instance's signatures verify.
    pub fn trusted_root_json(&self) -> String {
        let start = "2020-01-01T00:00:00Z";
        let log = |key: &LogKey, url: &str| {
            json!({
                "baseUrl": url,
                "hashAlgorithm": "SHA2_256",
                "publicKey": {"rawBytes": b64(&key.spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": {"start": start}},
                "logId": {"keyId": b64(&key.id)}
            })
        };
        let root = json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [log(&self.rekor, "https://rekor.testkit.invalid")],
            "certificateAuthorities": [{
                "subject": {"organization": "provdiff testkit", "commonName": "provdiff testkit CA (EXAMPLE ONLY, NOT TRUSTED)"},
                "uri": "https://fulcio.testkit.invalid",
                "certChain": {"certificates": [{"rawBytes": b64(&self.ca.cert_der)}]},
                "validFor": {"start": start}
            }],
            "ctlogs": [log(&self.ct, "https://ctfe.testkit.invalid")],
            "timestampAuthorities": [{
                "subject": {"organization": "provdiff testkit", "commonName": "provdiff testkit TSA (EXAMPLE ONLY, NOT TRUSTED)"},
                "uri": "https://tsa.testkit.invalid",
                "certChain": {"certificates": [{"rawBytes": b64(&self.tsa.leaf_der)}, {"rawBytes": b64(&self.tsa.ca.cert_der)}]},
                "validFor": {"start": start}
            }]
        });
        serde_json::to_string_pretty(&root).expect("JSON values serialize")
    }

    /// npm's `keys.json` format, listing this instance's registry keys: the one that signs
    /// publish attestations (`npm:attestations`) and the one that signs `dist.signatures`
    /// (`npm:signatures`).
    pub fn npm_keys_json(&self) -> String {
        self.npm_keys_json_with(None)
    }

    /// One `keys.json` entry for this instance's publish-attestation key, valid from `start`
    /// until `end`.
    pub fn npm_key_entry(&self, start: &str, end: Option<&str>) -> Value {
        let mut valid_for = json!({"start": start});
        if let Some(end) = end {
            valid_for["end"] = json!(end);
        }
        json!({
            "keyId": self.npm_key_id,
            "keyUsage": "npm:attestations",
            "publicKey": {"rawBytes": b64(&self.npm.spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": valid_for}
        })
    }

    /// [`Self::npm_keys_json`] with the `npm:signatures` key expiring at `signatures_valid_until`
    /// (an RFC 3339 time), to test keys that expired before or after a publication.
    pub fn npm_keys_json_with(&self, signatures_valid_until: Option<&str>) -> String {
        let start = "2020-01-01T00:00:00.000Z";
        let mut signatures_window = json!({"start": start});
        if let Some(end) = signatures_valid_until {
            signatures_window["end"] = json!(end);
        }
        let keys = json!({"keys": [
            self.npm_key_entry(start, None),
            {
                "keyId": self.registry_signer_id,
                "keyUsage": "npm:signatures",
                "publicKey": {"rawBytes": b64(&self.registry_signer.spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256", "validFor": signatures_window}
            }
        ]});
        serde_json::to_string_pretty(&keys).expect("JSON values serialize")
    }

    /// The id of the `npm:signatures` key.
    pub fn registry_signature_key_id(&self) -> &str {
        &self.registry_signer_id
    }

    /// A `dist.signatures` entry as the registry makes it: `(keyid, sig)`, `sig` being the
    /// base64 of an ECDSA P-256/SHA-256 DER signature over `NAME@VERSION:INTEGRITY`.
    pub fn sign_registry_signature(&self, name: &str, version: &str, integrity: &str) -> (String, String) {
        let message = format!("{name}@{version}:{integrity}");
        let signature = self.registry_signer.key.sign(message.as_bytes()).expect("signing works");
        (self.registry_signer_id.clone(), b64(signature.as_bytes()))
    }

    pub fn npm_key_id(&self) -> &str {
        &self.npm_key_id
    }

    /// Signs the provenance `spec` describes, as GitHub Actions and npm's CLI would.
    pub fn sign_provenance(&self, spec: &ProvenanceSpec) -> String {
        self.sign_statement_as_workflow(spec, &spec.statement())
    }

    /// Signs an arbitrary statement with a certificate issued as `spec` describes.
    pub fn sign_statement_as_workflow(&self, spec: &ProvenanceSpec, statement: &Value) -> String {
        let payload = serde_json::to_vec(statement).expect("JSON values serialize");
        let key = KeyPair::generate_ecdsa_p256().expect("key generation works");
        let signature = key.sign(&pae(IN_TOTO, &payload)).expect("signing works").as_bytes().to_vec();
        let certificate = self.ca.issue(&key, &spec.identity(), &spec.claims(), spec.signed_at, Some(&self.ct));
        let integrated = spec.signed_at + Duration::from_secs(2);
        let verifier_pem = certificate_pem(&certificate);
        let entry = self.log_entry(
            spec.entry_kind,
            &payload,
            &signature,
            &verifier_pem,
            integrated,
            spec.bundle_version,
            PublishShape::default(),
        );
        let material = match spec.bundle_version {
            BundleVersion::V03 => json!({"certificate": {"rawBytes": b64(&certificate)}, "tlogEntries": [entry]}),
            BundleVersion::V01 | BundleVersion::V02 => json!({
                "x509CertificateChain": {"certificates": [{"rawBytes": b64(&certificate)}]},
                "tlogEntries": [entry]
            }),
        };
        bundle_json(spec.bundle_version, material, &payload, &signature, "")
    }

    /// Signs an npm publish attestation with this instance's registry key.
    pub fn sign_publish(&self, name: &str, version: &str, sha512: &Sha512, signed_at: SystemTime) -> String {
        self.sign_publish_shaped(name, version, sha512, signed_at, PublishShape::default())
    }

    /// [`Self::sign_publish`], with the bundle's time evidence shaped as `shape` says.
    pub fn sign_publish_shaped(
        &self,
        name: &str,
        version: &str,
        sha512: &Sha512,
        signed_at: SystemTime,
        shape: PublishShape,
    ) -> String {
        let purl = ProvenanceSpec::new(name, version, *sha512, "", "").purl();
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "subject": [{"name": purl, "digest": {"sha512": sha512.to_hex()}}],
            "predicateType": NPM_PUBLISH,
            "predicate": {"name": name, "version": version, "registry": "https://registry.testkit.invalid"}
        });
        self.sign_publish_statement_shaped(&statement, signed_at, shape)
    }

    /// Signs an arbitrary statement with the registry key, as a publish attestation.
    pub fn sign_publish_statement(&self, statement: &Value, signed_at: SystemTime) -> String {
        self.sign_publish_statement_shaped(statement, signed_at, PublishShape::default())
    }

    fn sign_publish_statement_shaped(&self, statement: &Value, signed_at: SystemTime, shape: PublishShape) -> String {
        let payload = serde_json::to_vec(statement).expect("JSON values serialize");
        let signature = self.npm.key.sign(&pae(IN_TOTO, &payload)).expect("signing works").as_bytes().to_vec();
        let key_pem = pem("PUBLIC KEY", &self.npm.spki);
        let entry =
            self.log_entry(EntryKind::Intoto002, &payload, &signature, &key_pem, signed_at, BundleVersion::V02, shape);
        let mut material = json!({"publicKey": {"hint": self.npm_key_id}, "tlogEntries": [entry]});
        if let Some(at) = shape.rfc3161_timestamp {
            let token = self.tsa.timestamp(&signature, at);
            material["timestampVerificationData"] = json!({"rfc3161Timestamps": [{"signedTimestamp": b64(&token)}]});
        }
        bundle_json(BundleVersion::V02, material, &payload, &signature, &self.npm_key_id)
    }

    /// Appends an entry to the log and returns the bundle's `tlogEntries` item for it.
    #[allow(clippy::too_many_arguments)]
    fn log_entry(
        &self,
        kind: EntryKind,
        payload: &[u8],
        signature: &[u8],
        verifier_pem: &str,
        integrated: SystemTime,
        bundle_version: BundleVersion,
        shape: PublishShape,
    ) -> Value {
        let payload_hash = hex::encode(sha256(payload));
        let body = match kind {
            EntryKind::Dsse001 => json!({
                "apiVersion": "0.0.1", "kind": "dsse",
                "spec": {
                    "envelopeHash": {"algorithm": "sha256", "value": hex::encode(sha256(signature))},
                    "payloadHash": {"algorithm": "sha256", "value": payload_hash},
                    "signatures": [{"signature": b64(signature), "verifier": b64(verifier_pem.as_bytes())}]
                }
            }),
            EntryKind::Intoto002 => json!({
                "apiVersion": "0.0.2", "kind": "intoto",
                "spec": {"content": {
                    "envelope": {
                        "payloadType": IN_TOTO,
                        "signatures": [{"publicKey": b64(verifier_pem.as_bytes()), "sig": b64(b64(signature).as_bytes())}]
                    },
                    "hash": {"algorithm": "sha256", "value": hex::encode(sha256(signature))},
                    "payloadHash": {"algorithm": "sha256", "value": payload_hash}
                }}
            }),
        };
        let (kind_name, version) = match kind {
            EntryKind::Dsse001 => ("dsse", "0.0.1"),
            EntryKind::Intoto002 => ("intoto", "0.0.2"),
        };
        let body = serde_json::to_vec(&body).expect("JSON values serialize");
        let integrated_time = integrated.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());

        let mut log = self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let index = log.leaves.len();
        log.leaves.push(sigstore_merkle::hash_leaf(&body));
        let size = log.leaves.len();
        let root = merkle_root(&log.leaves);
        let proof: Vec<String> = audit_path(index, &log.leaves).iter().map(|hash| b64(hash.as_bytes())).collect();
        drop(log);

        let set_payload = format!(
            r#"{{"body":"{}","integratedTime":{integrated_time},"logID":"{}","logIndex":{index}}}"#,
            b64(&body),
            hex::encode(self.rekor.id)
        );
        let set = self.rekor.key.sign(set_payload.as_bytes()).expect("signing works");
        let checkpoint_body = format!("testkit.invalid - 1\n{size}\n{}\n", b64(root.as_bytes()));
        let checkpoint_signature = self.rekor.key.sign(checkpoint_body.as_bytes()).expect("signing works");
        let mut hinted = self.rekor.id[..4].to_vec();
        hinted.extend_from_slice(checkpoint_signature.as_bytes());
        let checkpoint = format!("{checkpoint_body}\n\u{2014} testkit.invalid {}\n", b64(&hinted));

        let claimed_time = shape.claimed_integrated_time.map_or(integrated_time, |claimed| {
            claimed.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
        });
        let mut entry = json!({
            "logIndex": index.to_string(),
            "logId": {"keyId": b64(&self.rekor.id)},
            "kindVersion": {"kind": kind_name, "version": version},
            "integratedTime": claimed_time.to_string(),
            "canonicalizedBody": b64(&body)
        });
        if shape.signed_entry_timestamp {
            entry["inclusionPromise"] = json!({"signedEntryTimestamp": b64(set.as_bytes())});
        }
        if bundle_version != BundleVersion::V01 {
            entry["inclusionProof"] = json!({
                "logIndex": index.to_string(),
                "rootHash": b64(root.as_bytes()),
                "treeSize": size.to_string(),
                "hashes": proof,
                "checkpoint": {"envelope": checkpoint}
            });
        }
        entry
    }

    /// A registry attestations response holding the given `(predicateType, bundle)` pairs.
    pub fn attestations_response(items: &[(&str, &str)]) -> String {
        let attestations: Vec<Value> = items
            .iter()
            .map(|(predicate_type, bundle)| {
                json!({"predicateType": predicate_type, "bundle": serde_json::from_str::<Value>(bundle).expect("bundles are JSON")})
            })
            .collect();
        serde_json::to_string_pretty(&json!({"attestations": attestations})).expect("JSON values serialize")
    }
}

fn bundle_json(version: BundleVersion, material: Value, payload: &[u8], signature: &[u8], keyid: &str) -> String {
    let media_type = match version {
        BundleVersion::V01 => "application/vnd.dev.sigstore.bundle+json;version=0.1",
        BundleVersion::V02 => "application/vnd.dev.sigstore.bundle+json;version=0.2",
        BundleVersion::V03 => "application/vnd.dev.sigstore.bundle.v0.3+json",
    };
    let bundle = json!({
        "mediaType": media_type,
        "verificationMaterial": material,
        "dsseEnvelope": {"payload": b64(payload), "payloadType": IN_TOTO, "signatures": [{"sig": b64(signature), "keyid": keyid}]}
    });
    serde_json::to_string_pretty(&bundle).expect("JSON values serialize")
}

/// DSSE's pre-authentication encoding.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {} {} ", payload_type.len(), payload_type, payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// npm's key id: `SHA256:` and unpadded base64 of SHA-256 over the OpenSSH wire encoding.
fn npm_key_id(spki: &[u8]) -> String {
    let point = &spki[spki.len() - 65..];
    let mut wire = Vec::new();
    for field in [b"ecdsa-sha2-nistp256".as_slice(), b"nistp256", point] {
        wire.extend_from_slice(&(field.len() as u32).to_be_bytes());
        wire.extend_from_slice(field);
    }
    format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha256(&wire)))
}

fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 Merkle tree hash.
fn merkle_root(leaves: &[Sha256Hash]) -> Sha256Hash {
    match leaves {
        [] => Sha256Hash::new(sha256(&[])),
        [one] => *one,
        _ => {
            let k = split_point(leaves.len());
            sigstore_merkle::hash_children(&merkle_root(&leaves[..k]), &merkle_root(&leaves[k..]))
        }
    }
}

/// RFC 6962 audit path for leaf `index`, leaf to root.
fn audit_path(index: usize, leaves: &[Sha256Hash]) -> Vec<Sha256Hash> {
    if leaves.len() <= 1 {
        return Vec::new();
    }
    let k = split_point(leaves.len());
    if index < k {
        let mut path = audit_path(index, &leaves[..k]);
        path.push(merkle_root(&leaves[k..]));
        path
    } else {
        let mut path = audit_path(index - k, &leaves[k..]);
        path.push(merkle_root(&leaves[..k]));
        path
    }
}
