//! Verification of a package's attestations, start to finish.
//!
//! For every bundle: parse it, read the signed statement, match it by its *signed* predicate type
//! (the registry's outer `predicateType` is only compared), check the statement's type and its one
//! subject (the package's purl and the tarball's sha512), verify it cryptographically with
//! `sigstore-verify` (certificate chain, SCT, transparency log, DSSE signature; npm's registry key
//! for publish attestations), and for provenance check that the certificate's repository and
//! commit are the ones the predicate names. Every failure is a finding with a stable code; only an
//! attestation with none counts as verified.

use jiff::Timestamp;
use provdiff_core::{Code, Finding, Sha512};
use serde::Serialize;
use sigstore_verify::types::{
    Artifact, ArtifactDigest, Bundle, HashAlgorithm, SignatureContent, bundle::VerificationMaterialContent,
};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, VerificationResult};

use crate::claims::{CertificateClaims, Vouching};
use crate::input::RawAttestation;
use crate::policy::IdentityPolicy;
use crate::provenance::Provenance;
use crate::statement::{AttestationKind, IN_TOTO_PAYLOAD_TYPE, Statement, StatementProblem, npm_purl};
use crate::trust::{KeyUsage, NpmKey, TrustError, TrustMaterial, TrustOrigin};

/// The package the attestations must be about.
#[derive(Debug, Clone)]
pub struct PackageSubject {
    pub name: String,
    pub version: String,
    pub sha512: Sha512,
}

/// A provenance attestation that verified in full, and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedProvenance {
    pub package_name: String,
    pub package_version: String,
    pub tarball_sha512: Sha512,
    #[serde(flatten)]
    pub provenance: Provenance,
    /// The certificate's subject alternative name: the workflow that signed.
    pub signer_identity: String,
    pub signer_issuer: Option<String>,
    /// What the signing certificate claims about the build (checked against the predicate).
    pub certificate: CertificateClaims,
    /// What of the predicate's builder and workflow the certificate backs. An `--expect-…`
    /// policy on a claim the certificate does not back fails.
    pub vouched: Vouching,
    pub log_index: Option<u64>,
    /// The log's integration time, only when its signed entry timestamp authenticates it.
    pub log_integrated_time: Option<Timestamp>,
    /// Every time the verification authenticated (the certificate was valid at each).
    pub verified_times: Vec<VerifiedTime>,
}

/// A publish attestation that verified in full.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedPublish {
    pub key_id: String,
    /// The registry the package was published to, as the attestation says.
    pub registry: Option<String>,
    pub log_index: Option<u64>,
    /// The log's integration time, only when its signed entry timestamp authenticates it.
    pub log_integrated_time: Option<Timestamp>,
    /// Every time the verification authenticated; npm's key was valid at each. Never empty.
    pub verified_times: Vec<VerifiedTime>,
}

/// What authenticates a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSource {
    /// The log's signed entry timestamp (SET), which signs the entry's `integratedTime`.
    SignedEntryTimestamp,
    /// An RFC 3161 timestamp, verified against the trusted root's timestamp authorities.
    Rfc3161Timestamp,
}

impl TimeSource {
    pub fn describe(self) -> &'static str {
        match self {
            TimeSource::SignedEntryTimestamp => "the log's signed entry timestamp",
            TimeSource::Rfc3161Timestamp => "an RFC 3161 timestamp",
        }
    }
}

/// A time a verification authenticated, and by what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VerifiedTime {
    pub time: Timestamp,
    pub source: TimeSource,
}

/// What happened to one attestation.
#[derive(Debug, Clone, Serialize)]
pub struct AttestationOutcome {
    pub origin: String,
    pub kind: Option<AttestationKind>,
    pub predicate_type: Option<String>,
    pub media_type: Option<String>,
    pub verified: bool,
    /// The checks that ran and passed, in order.
    pub checks: Vec<&'static str>,
}

/// The result of verifying a package's attestations.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub attestations: Vec<AttestationOutcome>,
    pub provenance: Option<VerifiedProvenance>,
    pub publish: Option<VerifiedPublish>,
    pub findings: Vec<Finding>,
    pub trust: TrustOrigin,
}

impl Verification {
    /// True when a provenance attestation verified and no check failed.
    pub fn is_verified(&self) -> bool {
        self.provenance.is_some() && !self.findings.iter().any(|f| f.severity == provdiff_core::Severity::Unverified)
    }
}

/// Verifies attestations against one set of trust material; build it once, use it many times.
pub struct Verifier {
    sigstore: sigstore_verify::Verifier,
    npm_keys: Vec<NpmKey>,
    origin: TrustOrigin,
    /// Every CA certificate of the trusted root, DER.
    ca_certificates: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").field("origin", &self.origin).finish()
    }
}

impl Verifier {
    pub fn new(trust: &TrustMaterial) -> Result<Self, TrustError> {
        let sigstore = sigstore_verify::Verifier::new(&trust.trusted_root).map_err(|source| {
            TrustError::TrustedRoot { origin: trust.origin.trusted_root.clone(), source: Box::new(source) }
        })?;
        let ca_certificates = trust
            .trusted_root
            .certificate_authorities
            .iter()
            .flat_map(|authority| authority.cert_chain.certificates.iter())
            .map(|entry| entry.raw_bytes.as_bytes().to_vec())
            .collect();
        Ok(Self { sigstore, npm_keys: trust.npm_keys.clone(), origin: trust.origin.clone(), ca_certificates })
    }

    /// npm's registry keys this verifier trusts (all usages).
    pub fn npm_keys(&self) -> &[NpmKey] {
        &self.npm_keys
    }

    pub(crate) fn sigstore(&self) -> &sigstore_verify::Verifier {
        &self.sigstore
    }

    /// Bundles of 2023 carry the CA certificates of their path after the leaf (npm's do, root
    /// included). The bundle specification asks verifiers to tolerate that, and the chain is in any
    /// case verified against the trusted root alone; but provdiff tolerates only exactly that: each
    /// extra certificate must be a CA certificate of the trusted root, and each must have issued
    /// the one before it. Anything else in the chain (a stranger, a root out of place) is refused.
    pub(crate) fn check_chain(&self, bundle: &Bundle) -> Result<(), String> {
        use der::Decode;
        let VerificationMaterialContent::X509CertificateChain { certificates } = &bundle.verification_material.content
        else {
            return Ok(());
        };
        let parsed: Vec<x509_cert::Certificate> = certificates
            .iter()
            .map(|certificate| x509_cert::Certificate::from_der(certificate.raw_bytes.as_bytes()))
            .collect::<Result<_, _>>()
            .map_err(|error| format!("a certificate of the bundle's chain cannot be parsed: {error}"))?;
        for (position, certificate) in certificates.iter().enumerate().skip(1) {
            if !self.ca_certificates.iter().any(|known| known.as_slice() == certificate.raw_bytes.as_bytes()) {
                return Err(format!(
                    "certificate {} of the bundle's chain is not a CA certificate of the trusted root",
                    position + 1
                ));
            }
        }
        for (position, pair) in parsed.windows(2).enumerate() {
            if pair[0].tbs_certificate.issuer != pair[1].tbs_certificate.subject {
                return Err(format!(
                    "the bundle's chain is out of order: certificate {} was not issued by certificate {}",
                    position + 1,
                    position + 2
                ));
            }
        }
        Ok(())
    }

    /// Verifies every attestation, then holds the verified provenance to `policy`.
    pub fn verify(
        &self,
        attestations: &[RawAttestation],
        subject: &PackageSubject,
        policy: &IdentityPolicy,
    ) -> Verification {
        let mut verification = Verification {
            attestations: Vec::new(),
            provenance: None,
            publish: None,
            findings: Vec::new(),
            trust: self.origin.clone(),
        };
        let mut provenances = Vec::new();
        let mut publishes = Vec::new();
        for raw in attestations {
            let mut context =
                Context { raw, findings: Vec::new(), checks: Vec::new(), kind: None, statement_failed: false };
            let outcome = self.verify_one(&mut context, subject);
            let verified = outcome.is_some() && context.findings.is_empty();
            verification.attestations.push(AttestationOutcome {
                origin: raw.origin.clone(),
                kind: context.kind,
                predicate_type: outcome
                    .as_ref()
                    .map(|o| o.predicate_type.clone())
                    .or_else(|| raw.outer_predicate_type.clone()),
                media_type: outcome.as_ref().map(|o| o.media_type.clone()),
                verified,
                checks: context.checks,
            });
            verification.findings.append(&mut context.findings);
            // An attestation whose signed type is unusable still counts as what the registry
            // called it, so that "not given" is never said of one that was given and failed.
            let counted = match context.kind {
                Some(AttestationKind::Other) | None => raw.outer_predicate_type.as_deref().map(AttestationKind::of),
                kind => kind,
            };
            match counted {
                Some(AttestationKind::Provenance) => provenances.push(outcome.filter(|_| verified)),
                Some(AttestationKind::Publish) => publishes.push(outcome.filter(|_| verified)),
                _ => {}
            }
        }
        match provenances.len() {
            0 => verification.findings.push(Finding::new(
                Code::ProvenanceMissing,
                "no SLSA provenance attestation among the inputs (matched by the signed predicate type)",
            )),
            1 => {
                verification.provenance = provenances.pop().flatten().and_then(|outcome| match outcome.verified {
                    Verified::Provenance(provenance) => Some(*provenance),
                    Verified::Publish(_) => None,
                })
            }
            count => verification.findings.push(Finding::new(
                Code::ProvenanceAmbiguous,
                format!("{count} provenance attestations were given; provdiff verifies exactly one"),
            )),
        }
        if let Some(provenance) = &verification.provenance {
            verification.findings.extend(policy.check(provenance));
        }
        match publishes.len() {
            0 => verification.findings.push(Finding::new(
                Code::PublishNotChecked,
                if verification.provenance.is_some() {
                    "no npm publish attestation was given; only the provenance was verified"
                } else {
                    "no npm publish attestation was given, so the registry's statement that it received this tarball was not checked"
                },
            )),
            1 => {
                verification.publish = publishes.pop().flatten().and_then(|outcome| match outcome.verified {
                    Verified::Publish(publish) => Some(publish),
                    Verified::Provenance(_) => None,
                })
            }
            count => verification.findings.push(Finding::new(
                Code::PublishAmbiguous,
                format!("{count} publish attestations were given; provdiff verifies exactly one"),
            )),
        }
        verification
    }

    /// Runs every check on one attestation, recording failures in `context`. Returns what it
    /// attests when the bundle could be read at all.
    fn verify_one(&self, context: &mut Context<'_>, subject: &PackageSubject) -> Option<Outcome> {
        let bundle = match Bundle::from_json(&context.raw.bundle_json) {
            Ok(bundle) => bundle,
            Err(error) => {
                let finding = crate::bundle::unreadable_bundle(&context.raw.bundle_json, &error);
                context.fail(finding.code, finding.detail);
                return None;
            }
        };
        let media_type = bundle.media_type().as_str().to_string();
        // Until the signed statement says what this is, the registry's label is the best guess;
        // it only decides how a failure is counted, never what verifies.
        context.kind = context.raw.outer_predicate_type.as_deref().map(AttestationKind::of);
        let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
            context.fail(
                Code::StatementInvalid,
                "the bundle signs a message, not a DSSE envelope with a statement".into(),
            );
            return None;
        };
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
            context.fail(
                Code::StatementInvalid,
                format!("the envelope's payload type is {:?}, not {IN_TOTO_PAYLOAD_TYPE}", envelope.payload_type),
            );
            return None;
        }
        let statement = match Statement::parse(envelope.payload.as_bytes()) {
            Ok(statement) => statement,
            Err(reason) => {
                context.fail(Code::StatementInvalid, reason);
                return None;
            }
        };
        let Some(predicate_type) = statement.predicate_type.clone() else {
            context.fail(Code::StatementInvalid, "the statement has no predicateType".into());
            return None;
        };
        let kind = AttestationKind::of(&predicate_type);
        if let Some(outer) = &context.raw.outer_predicate_type
            && *outer != predicate_type
        {
            context.fail(
                Code::PredicateTypeMismatch,
                format!("the registry lists it as {outer}, but the signed statement says {predicate_type}"),
            );
        }
        context.kind = Some(kind);
        if kind == AttestationKind::Other {
            if context.findings.is_empty() {
                context.findings.push(Finding::new(
                    Code::AttestationIgnored,
                    format!("{}: predicate type {predicate_type} is not used", context.raw.origin),
                ));
            }
            return None;
        }

        let purl = npm_purl(&subject.name, &subject.version);
        for problem in statement.check(&purl, &subject.sha512) {
            match problem {
                StatementProblem::Invalid(reason) => context.fail(Code::StatementInvalid, reason),
                StatementProblem::SubjectName { expected, actual } => {
                    context.fail(Code::SubjectNameMismatch, format!("the subject is {actual:?}, expected {expected}"))
                }
                StatementProblem::SubjectDigest(reason) => context.fail(Code::SubjectDigestMismatch, reason),
            }
        }
        let statement_failed = !context.findings.is_empty();
        if !statement_failed {
            context.checks.push("statement");
        }
        context.statement_failed = statement_failed;

        let artifact = match ArtifactDigest::new(HashAlgorithm::Sha2512, subject.sha512.as_bytes().to_vec()) {
            Ok(digest) => Artifact::Digest(digest),
            Err(error) => {
                context.fail(Code::SubjectDigestMismatch, error.to_string());
                return None;
            }
        };
        let log_index = first_log_index(&bundle);
        let verified = match kind {
            AttestationKind::Provenance => {
                if let Err(reason) = self.check_chain(&bundle) {
                    context.fail(Code::CertificateInvalid, reason);
                    return None;
                }
                let result = self.sigstore.verify(artifact, &bundle, &VerificationPolicy::any_identity());
                let Some(result) = context.crypto(result) else {
                    if context.statement_failed {
                        let key = bundle.signing_certificate().and_then(|cert| {
                            sigstore_verify::crypto::parse_certificate_info(cert).ok().map(|info| info.public_key)
                        });
                        context.check_signature_directly(envelope, key.iter());
                    }
                    return None;
                };
                let provenance = match Provenance::parse(&predicate_type, &statement.predicate) {
                    Ok(provenance) => provenance,
                    Err(reason) => {
                        context.fail(Code::ProvenanceUnsupported, reason);
                        return None;
                    }
                };
                let vouched = check_claims(context, &result, &provenance);
                let certificate = result.certificate();
                Verified::Provenance(Box::new(VerifiedProvenance {
                    package_name: subject.name.clone(),
                    package_version: subject.version.clone(),
                    tarball_sha512: subject.sha512,
                    signer_identity: result.identity().map(|identity| identity.to_string()).unwrap_or_default(),
                    signer_issuer: result.issuer().map(str::to_string),
                    certificate: certificate.map(CertificateClaims::from_certificate).unwrap_or_default(),
                    vouched,
                    log_index,
                    log_integrated_time: result.integrated_time(),
                    verified_times: verified_times(&bundle, &result),
                    provenance,
                }))
            }
            AttestationKind::Publish => {
                let (key_id, result) = self.verify_publish(context, &bundle, artifact)?;
                let predicate = &statement.predicate;
                let field = |name: &str| predicate.get(name).and_then(serde_json::Value::as_str);
                if field("name") != Some(subject.name.as_str()) || field("version") != Some(subject.version.as_str()) {
                    context.fail(
                        Code::SubjectNameMismatch,
                        format!(
                            "the publish predicate names {}@{}, expected {}@{}",
                            field("name").unwrap_or("?"),
                            field("version").unwrap_or("?"),
                            subject.name,
                            subject.version
                        ),
                    );
                }
                Verified::Publish(VerifiedPublish {
                    key_id,
                    registry: field("registry").map(str::to_string),
                    log_index,
                    log_integrated_time: result.integrated_time(),
                    verified_times: verified_times(&bundle, &result),
                })
            }
            AttestationKind::Other => return None,
        };
        Some(Outcome { predicate_type, media_type, verified })
    }

    /// Verifies a key-signed publish attestation with the npm key its hint names, then holds
    /// that key's validity window to every time the verification authenticated: the log's signed
    /// entry timestamp or a verified RFC 3161 timestamp. The bundle's bare `integratedTime` plays
    /// no part: without a SET nothing signs it (an inclusion proof covers the entry's body, not
    /// its time), so a retired key could otherwise sign with a backdated time. With no verified
    /// time at all, the attestation fails. Returns the key id used and the verifier's result.
    fn verify_publish(
        &self,
        context: &mut Context<'_>,
        bundle: &Bundle,
        artifact: Artifact<'_>,
    ) -> Option<(String, VerificationResult)> {
        let VerificationMaterialContent::PublicKey(identifier) = &bundle.verification_material.content else {
            context.fail(
                Code::BundleMalformed,
                "a publish attestation must be signed with npm's registry key, but this one carries a certificate"
                    .into(),
            );
            return None;
        };
        let hint = identifier.hint.as_str();
        let candidates: Vec<&NpmKey> =
            self.npm_keys.iter().filter(|key| key.usage == KeyUsage::Attestations && key.key_id == hint).collect();
        // A key id is the hash of its key (checked when the keys are read), so every candidate
        // is the same key, perhaps listed with several windows.
        let Some(first) = candidates.first() else {
            context.fail(Code::PublishKeyUnknown, format!("no npm attestation key has the id {hint:?}"));
            return None;
        };
        let policy = PublicKeyVerificationPolicy::new(first.public_key.clone());
        let result = match self.sigstore.verify(artifact, bundle, &policy) {
            Ok(result) => result,
            Err(error) => {
                context.verifier_failed(&error);
                if context.statement_failed
                    && let SignatureContent::DsseEnvelope(envelope) = &bundle.content
                {
                    context.check_signature_directly(envelope, std::iter::once(&first.public_key));
                }
                return None;
            }
        };
        let times = verified_times(bundle, &result);
        if times.is_empty() {
            context.fail(
                Code::PublishTimeUnverified,
                format!(
                    "no verified time to check npm key {hint}'s validity window against: the log entry has no \
                     signed entry timestamp and the bundle no RFC 3161 timestamp (its unsigned integratedTime is \
                     not used)"
                ),
            );
            return None;
        }
        let Some(key) = candidates.iter().find(|key| times.iter().all(|verified| key.valid_at(verified.time))) else {
            let outside = times
                .iter()
                .find(|verified| !candidates.iter().any(|key| key.valid_at(verified.time)))
                .unwrap_or(&times[0]);
            context.fail(
                Code::PublishKeyUnknown,
                format!("npm key {hint} was not valid at {} (verified by {})", outside.time, outside.source.describe()),
            );
            return None;
        };
        context.record(&result);
        Some((key.key_id.clone(), result))
    }
}

struct Outcome {
    predicate_type: String,
    media_type: String,
    verified: Verified,
}

enum Verified {
    Provenance(Box<VerifiedProvenance>),
    Publish(VerifiedPublish),
}

/// Per-attestation bookkeeping.
struct Context<'a> {
    raw: &'a RawAttestation,
    findings: Vec<Finding>,
    checks: Vec<&'static str>,
    kind: Option<AttestationKind>,
    /// The statement checks already failed: the verifier's own complaints about the statement's
    /// shape would only repeat them.
    statement_failed: bool,
}

impl Context<'_> {
    fn fail(&mut self, code: Code, reason: String) {
        // One finding per code and attestation: the statement checks and the verifier can both
        // notice the same defect.
        if self.findings.iter().any(|finding| finding.code == code) {
            return;
        }
        let what = self.kind.map_or("attestation", AttestationKind::describe);
        self.findings.push(Finding::new(code, format!("{what} ({}): {reason}", self.raw.origin)));
    }

    /// Turns a `sigstore-verify` outcome into a finding or recorded checks.
    fn crypto(&mut self, result: Result<VerificationResult, sigstore_verify::Error>) -> Option<VerificationResult> {
        match result {
            Ok(result) => {
                self.record(&result);
                Some(result)
            }
            Err(error) => {
                self.verifier_failed(&error);
                None
            }
        }
    }

    fn verifier_failed(&mut self, error: &sigstore_verify::Error) {
        use sigstore_verify::Error as E;
        let about_statement = matches!(error, E::InvalidBundle(_) | E::UnsupportedBundle(_) | E::ArtifactMismatch(_));
        if self.statement_failed && about_statement {
            return;
        }
        self.fail(code_for(error), error.to_string());
    }

    /// When the statement is malformed the verifier stops before the signature, but a malformed
    /// statement that is also not signed is worth saying: check the DSSE signature over the PAE
    /// with the keys the bundle could have been signed with.
    fn check_signature_directly<'k>(
        &mut self,
        envelope: &sigstore_verify::types::DsseEnvelope,
        keys: impl Iterator<Item = &'k sigstore_verify::types::DerPublicKey>,
    ) {
        let pae = envelope.pae();
        let mut tried = false;
        for key in keys {
            tried = true;
            let Ok(algorithm) = sigstore_verify::crypto::KeyAlgorithm::from_spki(key) else { continue };
            let scheme = algorithm.default_signing_scheme();
            if sigstore_verify::crypto::verify_signature(key, &pae, &envelope.signature.sig, scheme).is_ok() {
                return;
            }
        }
        if tried {
            self.fail(
                Code::SignatureInvalid,
                "the DSSE signature does not verify over the (malformed) statement".into(),
            );
        }
    }

    /// Notes which checks a successful verification performed.
    fn record(&mut self, result: &VerificationResult) {
        if result.certificate_verified() {
            self.checks.push("certificate-chain");
        }
        if result.sct_verified() {
            self.checks.push("certificate-transparency");
        }
        if result.tlog_verified() {
            self.checks.push("transparency-log");
        }
        self.checks.extend(["dsse-signature", "subject-digest"]);
    }
}

/// The stable finding code for a verifier error.
pub(crate) fn code_for(error: &sigstore_verify::Error) -> Code {
    use sigstore_verify::Error as E;
    match error {
        E::SignatureInvalid(_) | E::Crypto(_) => Code::SignatureInvalid,
        E::ArtifactMismatch(_) | E::UnsupportedArtifact(_) => Code::SubjectDigestMismatch,
        E::Certificate(_) | E::IdentityMismatch { .. } | E::IssuerMismatch { .. } | E::TrustedCertificate(_) => {
            Code::CertificateInvalid
        }
        E::TransparencyLog(_) => Code::TlogInvalid,
        E::Timestamp(_) => Code::TimestampInvalid,
        E::Bundle(bundle) => {
            use sigstore_verify::bundle::Error as B;
            match bundle {
                B::MissingInclusionPromise(_)
                | B::CheckpointRootMismatch
                | B::MissingInclusionProof(_)
                | B::MissingSigningTimeEvidence
                | B::MissingCheckpoint
                | B::LogIndexOutOfRange { .. } => Code::TlogInvalid,
                B::MissingTimestamp => Code::TimestampInvalid,
                _ => Code::BundleMalformed,
            }
        }
        _ => Code::BundleMalformed,
    }
}

fn first_log_index(bundle: &Bundle) -> Option<u64> {
    bundle.verification_material.tlog_entries.first().map(|entry| entry.log_index.get())
}

/// The times a successful verification authenticated, each with what authenticated it.
/// `sigstore-verify` lists them all in `verified_timestamps` (never an unsigned hint); a time
/// that is a log entry's `integratedTime` under a signed entry timestamp came from the SET,
/// every other one from an RFC 3161 timestamp.
pub(crate) fn verified_times(bundle: &Bundle, result: &VerificationResult) -> Vec<VerifiedTime> {
    let mut under_set: Vec<Timestamp> = bundle
        .verification_material
        .tlog_entries
        .iter()
        .filter(|entry| entry.inclusion_promise.is_some())
        .filter_map(|entry| entry.integrated_time)
        .collect();
    let mut times: Vec<VerifiedTime> = result
        .verified_timestamps()
        .iter()
        .map(|&time| {
            let source = match under_set.iter().position(|&candidate| candidate == time) {
                Some(index) => {
                    under_set.swap_remove(index);
                    TimeSource::SignedEntryTimestamp
                }
                None => TimeSource::Rfc3161Timestamp,
            };
            VerifiedTime { time, source }
        })
        .collect();
    times.sort_by_key(|verified| (verified.time, verified.source == TimeSource::Rfc3161Timestamp));
    times
}

/// The certificate was issued to a CI run of some repository at some commit (Fulcio copies both
/// from the workload's identity token); the predicate, written by that run, names the source. The
/// two must agree, or a run in one repository could vouch for another's code.
fn check_claims(context: &mut Context<'_>, result: &VerificationResult, provenance: &Provenance) -> Vouching {
    let Some(certificate) = result.certificate() else {
        context.fail(Code::ClaimsDisagree, "the provenance was not signed with a certificate".into());
        return Vouching::default();
    };
    let cross_check = CertificateClaims::from_certificate(certificate).cross_check(provenance);
    if cross_check.disagreements.is_empty() {
        context.checks.push("certificate-claims");
    } else {
        context.fail(Code::ClaimsDisagree, cross_check.disagreements.join("; "));
    }
    cross_check.vouching
}
