//! Every bundle shape npm has published, signed by the testkit's throwaway Sigstore instance and
//! verified through the real path; and for each check, a negative case that fails for exactly
//! that check's reason (its finding code is the only failure reported).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime};

use provdiff_attest::{
    IdentityPolicy, PackageSubject, Pattern, TimeSource, TrustMaterial, Verification, Verifier, parse_attestations,
};
use provdiff_core::{Code, Severity, Sha512};
use provdiff_testkit::{
    BundleVersion, Ci, EntryKind, NPM_PUBLISH, ProvenanceSpec, PublishShape, SLSA_V1, SLSA_V02, SigstoreInstance,
    SlsaShape,
};
use serde_json::Value;

const REPO: &str = "https://github.com/example/widget";
const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

struct Setup {
    instance: SigstoreInstance,
    sha512: Sha512,
}

impl Setup {
    fn new() -> Self {
        Self { instance: SigstoreInstance::new(), sha512: Sha512::digest(b"the tarball") }
    }

    fn spec(&self) -> ProvenanceSpec {
        ProvenanceSpec::new("widget", "1.2.3", self.sha512, REPO, COMMIT)
    }

    fn verifier_with_keys(&self, npm_keys: &str) -> Verifier {
        let trust = TrustMaterial::embedded()
            .unwrap()
            .with_trusted_root(&self.instance.trusted_root_json(), "test root")
            .unwrap()
            .with_npm_keys(npm_keys, "test keys")
            .unwrap();
        Verifier::new(&trust).unwrap()
    }

    fn verify_with(&self, response: &str, npm_keys: &str, policy: &IdentityPolicy) -> Verification {
        let attestations = parse_attestations(response.as_bytes(), "attestations.json").unwrap();
        let subject = PackageSubject { name: "widget".into(), version: "1.2.3".into(), sha512: self.sha512 };
        self.verifier_with_keys(npm_keys).verify(&attestations, &subject, policy)
    }

    fn verify(&self, response: &str) -> Verification {
        self.verify_with(response, &self.instance.npm_keys_json(), &IdentityPolicy::default())
    }

    fn publish(&self) -> String {
        self.instance.sign_publish("widget", "1.2.3", &self.sha512, SystemTime::now() - Duration::from_secs(60))
    }

    fn response(&self, provenance: &str, publish: &str) -> String {
        SigstoreInstance::attestations_response(&[(SLSA_V1, provenance), (NPM_PUBLISH, publish)])
    }
}

fn failures(verification: &Verification) -> Vec<Code> {
    verification.findings.iter().filter(|f| f.severity == Severity::Unverified).map(|f| f.code).collect()
}

/// Asserts that verification fails, and only because of `code`.
fn fails_only_with(verification: &Verification, code: Code) {
    assert_eq!(failures(verification), [code], "{:#?}", verification.findings);
    assert!(!verification.is_verified());
}

fn edit(bundle: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(bundle).unwrap();
    change(&mut value);
    value.to_string()
}

/// Flips a bit in the middle of a base64 field.
fn corrupt_base64(value: &mut Value) {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(value.as_str().unwrap()).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    *value = Value::String(engine.encode(bytes));
}

#[test]
fn every_bundle_shape_verifies() {
    let setup = Setup::new();
    for version in [BundleVersion::V01, BundleVersion::V02, BundleVersion::V03] {
        for entry in [EntryKind::Intoto002, EntryKind::Dsse001] {
            for slsa in [SlsaShape::V1, SlsaShape::V02] {
                let mut spec = setup.spec();
                (spec.bundle_version, spec.entry_kind, spec.slsa) = (version, entry, slsa);
                let provenance = setup.instance.sign_provenance(&spec);
                let predicate_type = if slsa == SlsaShape::V1 { SLSA_V1 } else { SLSA_V02 };
                let response = SigstoreInstance::attestations_response(&[
                    (predicate_type, &provenance),
                    (NPM_PUBLISH, &setup.publish()),
                ]);
                let verification = setup.verify(&response);
                assert!(verification.is_verified(), "{version:?} {entry:?} {slsa:?}: {:#?}", verification.findings);
                let verified = verification.provenance.unwrap();
                assert_eq!(
                    (verified.provenance.repository.as_str(), verified.provenance.commit.as_str()),
                    (REPO, COMMIT)
                );
                assert!(verification.publish.is_some());
            }
        }
    }
}

#[test]
fn a_bare_provenance_bundle_verifies_alone_and_says_publish_was_not_checked() {
    let setup = Setup::new();
    let verification = setup.verify(&setup.instance.sign_provenance(&setup.spec()));
    assert!(verification.is_verified(), "{:#?}", verification.findings);
    assert!(verification.publish.is_none());
    let not_checked = verification.findings.iter().find(|f| f.code == Code::PublishNotChecked).unwrap();
    assert!(not_checked.detail.contains("only the provenance was verified"), "{}", not_checked.detail);

    // When the provenance failed too, the finding does not say it was verified.
    let mut spec = setup.spec();
    spec.certificate_commit = Some("f".repeat(40));
    let verification = setup.verify(&setup.instance.sign_provenance(&spec));
    fails_only_with(&verification, Code::ClaimsDisagree);
    let not_checked = verification.findings.iter().find(|f| f.code == Code::PublishNotChecked).unwrap();
    assert!(!not_checked.detail.contains("verified"), "{}", not_checked.detail);
}

#[test]
fn certificates_of_early_2023_with_legacy_claims_only_verify() {
    let setup = Setup::new();
    let mut spec = setup.spec();
    spec.legacy_claims_only = true;
    spec.bundle_version = BundleVersion::V01;
    spec.entry_kind = EntryKind::Intoto002;
    let verification = setup.verify(&setup.response(&setup.instance.sign_provenance(&spec), &setup.publish()));
    assert!(verification.is_verified(), "{:#?}", verification.findings);
    assert!(verification.provenance.unwrap().certificate.legacy_only);
}

const GENERATOR: &str = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_nodejs_slsa3.yml@refs/tags/v1.6.0";

#[test]
fn builds_signed_by_a_reusable_generator_workflow_verify() {
    // slsa-github-generator: the certificate names the generator's workflow as signer, while the
    // source repository, commit, ref and top-level workflow claims are the caller's; its
    // provenance names the generator's workflow as builder, which the signer URI vouches for.
    let setup = Setup::new();
    for builder in [None, Some(GENERATOR.to_string())] {
        let mut spec = setup.spec();
        spec.signer_workflow = Some(GENERATOR.into());
        spec.builder_id = builder.clone();
        let response = setup.response(&setup.instance.sign_provenance(&spec), &setup.publish());
        let expect_generator = IdentityPolicy {
            builder: Some(Pattern("https://github.com/slsa-framework/slsa-github-generator/*".into())),
            ..Default::default()
        };
        let policy = if builder.is_some() { expect_generator } else { IdentityPolicy::default() };
        let verification = setup.verify_with(&response, &setup.instance.npm_keys_json(), &policy);
        assert!(verification.is_verified(), "{builder:?}: {:#?}", verification.findings);
        let verified = verification.provenance.unwrap();
        assert!(verified.signer_identity.contains("slsa-github-generator"));
        assert!(verified.vouched.builder.certified, "{:?}", verified.vouched);
        assert!(verified.vouched.workflow.certified, "{:?}", verified.vouched);
    }
}

#[test]
fn a_builder_id_the_certificate_does_not_vouch_for_never_meets_expect_builder() {
    let setup = Setup::new();
    let keys = setup.instance.npm_keys_json();
    let expect = |builder: &str| IdentityPolicy { builder: Some(Pattern(builder.into())), ..Default::default() };
    let signed = |change: &dyn Fn(&mut ProvenanceSpec)| {
        let mut spec = setup.spec();
        change(&mut spec);
        setup.response(&setup.instance.sign_provenance(&spec), &setup.publish())
    };

    // The audit's case: the repository's own workflow signs a predicate naming the generator
    // as builder. The certificate's signer URI says otherwise: the claims disagree.
    let forged = signed(&|spec| spec.builder_id = Some(GENERATOR.into()));
    let verification = setup.verify_with(&forged, &keys, &expect(GENERATOR));
    fails_only_with(&verification, Code::ClaimsDisagree);
    assert!(
        verification.findings[0].detail.contains("signed by https://github.com/example/widget/"),
        "{:#?}",
        verification.findings
    );

    // A builder id the certificate says nothing about verifies (it contradicts nothing), is
    // reported as not vouched, and fails an --expect-builder that matches it.
    for builder in ["https://github.com/npm/cli@9.4.2", "https://example.com/builder"] {
        let response = signed(&|spec| spec.builder_id = Some(builder.into()));
        let verification = setup.verify_with(&response, &keys, &IdentityPolicy::default());
        assert!(verification.is_verified(), "{builder}: {:#?}", verification.findings);
        assert!(!verification.provenance.as_ref().unwrap().vouched.builder.certified);
        let verification = setup.verify_with(&response, &keys, &expect(builder));
        fails_only_with(&verification, Code::IdentityPolicyFailed);
        assert!(verification.findings[0].detail.contains("does not vouch"), "{:#?}", verification.findings);
    }

    // GitHub's runner ids are vouched for by the runner environment; one that disagrees with it
    // is a disagreement, whatever the policy.
    let response = signed(&|spec| {
        spec.runner = "self-hosted".into();
        spec.builder_id = Some("https://github.com/actions/runner/github-hosted".into());
    });
    let verification = setup.verify_with(&response, &keys, &IdentityPolicy::default());
    assert_eq!(failures(&verification), [Code::ClaimsDisagree], "{:#?}", verification.findings);
    assert!(verification.findings[0].detail.contains("the runner was self-hosted"), "{:#?}", verification.findings);
    // And the bare runner id (SLSA v0.2) needs GitHub's issuer, even for a repository on a
    // self-managed forge (whose issuer the repository's own check cannot know).
    let response = signed(&|spec| {
        spec.slsa = SlsaShape::V02;
        spec.repository = "https://git.example.com/example/widget".into();
        spec.issuer = "https://git.example.com".into();
    });
    let attestations = response.replace(SLSA_V1, SLSA_V02);
    let verification = setup.verify_with(&attestations, &keys, &IdentityPolicy::default());
    assert_eq!(failures(&verification), [Code::ClaimsDisagree], "{:#?}", verification.findings);
    assert!(verification.findings[0].detail.contains("GitHub Actions' runner"), "{:#?}", verification.findings);
}

#[test]
fn the_issuer_check_cannot_be_skipped_by_letter_case() {
    let setup = Setup::new();
    for (predicate, certificate) in [
        ("https://GitHub.com/example/widget", "https://github.com/example/widget"),
        ("https://github.com/example/widget", "https://GITHUB.COM/example/widget"),
        ("https://GitHub.com/example/widget", "https://GitHub.com/example/widget"),
    ] {
        let mut spec = ProvenanceSpec::new("widget", "1.2.3", setup.sha512, predicate, COMMIT);
        spec.certificate_repository = Some(certificate.into());
        spec.issuer = "https://accounts.example.com".into();
        let verification = setup.verify(&setup.response(&setup.instance.sign_provenance(&spec), &setup.publish()));
        fails_only_with(&verification, Code::ClaimsDisagree);
        let detail = &verification.findings[0].detail;
        assert!(detail.contains("must be certified for the issuer https://token.actions"), "{predicate}: {detail}");
    }
}

#[test]
fn legacy_certificates_are_cross_checked_by_their_subject_alternative_name() {
    // Early-2023 certificates have no build config URI (.18): the workflow comes from the SAN.
    let setup = Setup::new();
    let legacy = |change: fn(&mut ProvenanceSpec)| {
        let mut spec = setup.spec();
        spec.legacy_claims_only = true;
        spec.bundle_version = BundleVersion::V01;
        spec.entry_kind = EntryKind::Intoto002;
        spec.slsa = SlsaShape::V02;
        change(&mut spec);
        let response = SigstoreInstance::attestations_response(&[
            (SLSA_V02, &setup.instance.sign_provenance(&spec)),
            (NPM_PUBLISH, &setup.publish()),
        ]);
        setup.verify(&response)
    };
    let verification = legacy(|_| {});
    assert!(verification.is_verified(), "{:#?}", verification.findings);
    let verified = verification.provenance.unwrap();
    assert!(verified.certificate.legacy_only);
    assert!(verified.vouched.workflow.certified, "{:?}", verified.vouched);
    assert!(verified.vouched.workflow.basis.contains("subject alternative name"));

    let other_workflow = legacy(|spec| spec.certificate_workflow = Some(".github/workflows/other.yml".into()));
    fails_only_with(&other_workflow, Code::ClaimsDisagree);
    assert!(other_workflow.findings[0].detail.contains("workflow .github/workflows/other.yml"));
    let other_commit = legacy(|spec| spec.certificate_commit = Some("f".repeat(40)));
    fails_only_with(&other_commit, Code::ClaimsDisagree);
    assert!(other_commit.findings[0].detail.contains(&format!("commit {}", "f".repeat(40))));
    let other_repository =
        legacy(|spec| spec.certificate_repository = Some("https://github.com/attacker/other".into()));
    fails_only_with(&other_repository, Code::ClaimsDisagree);
}

#[test]
fn gitlab_builds_are_cross_checked() {
    let setup = Setup::new();
    const GITLAB_REPO: &str = "https://gitlab.com/example/widget";
    let gitlab = |change: fn(&mut ProvenanceSpec), policy: &IdentityPolicy| {
        let mut spec = ProvenanceSpec::gitlab("widget", "1.2.3", setup.sha512, GITLAB_REPO, COMMIT);
        change(&mut spec);
        setup.verify_with(
            &setup.response(&setup.instance.sign_provenance(&spec), &setup.publish()),
            &setup.instance.npm_keys_json(),
            policy,
        )
    };
    let policy = IdentityPolicy {
        repository: Some(Pattern(GITLAB_REPO.into())),
        workflow: Some(Pattern(".gitlab-ci.yml".into())),
        git_ref: Some(Pattern("main".into())),
        builder: None,
        runner: Some("gitlab-hosted".into()),
    };
    let verification = gitlab(|_| {}, &policy);
    assert!(verification.is_verified(), "{:#?}", verification.findings);
    let verified = verification.provenance.unwrap();
    assert_eq!((verified.provenance.repository.as_str(), verified.provenance.commit.as_str()), (GITLAB_REPO, COMMIT));
    // The runner number is not in the certificate: the builder id is the predicate's word.
    assert!(!verified.vouched.builder.certified && verified.vouched.workflow.certified, "{:?}", verified.vouched);
    let expecting_the_runner =
        IdentityPolicy { builder: Some(Pattern(format!("{GITLAB_REPO}/-/runners/*"))), ..policy.clone() };
    assert!(!gitlab(|_| {}, &expecting_the_runner).is_verified(), "--expect-builder needs a vouched builder");

    let none = IdentityPolicy::default();
    type Change = fn(&mut ProvenanceSpec);
    let disagreements: [(Change, &str); 6] = [
        (|s| s.certificate_commit = Some("f".repeat(40)), "for commit"),
        (|s| s.certificate_repository = Some("https://gitlab.com/attacker/other".into()), "issued to"),
        (|s| s.certificate_ref = Some("refs/heads/other".into()), "names ref"),
        (|s| s.certificate_workflow = Some("ci/other.yml".into()), "workflow ci/other.yml"),
        (|s| s.issuer = GITHUB_ISSUER.into(), "issuer https://gitlab.com"),
        (|s| s.builder_id = Some("https://gitlab.com/attacker/other/-/runners/1".into()), "a runner of"),
    ];
    for (change, expected) in disagreements {
        let verification = gitlab(change, &none);
        fails_only_with(&verification, Code::ClaimsDisagree);
        assert!(verification.findings[0].detail.contains(expected), "{expected}: {:#?}", verification.findings);
    }
    let mut spec = ProvenanceSpec::gitlab("widget", "1.2.3", setup.sha512, GITLAB_REPO, COMMIT);
    assert_eq!(spec.ci, Ci::GitLab);
    spec.runner = "self-hosted".into();
    let verification = setup.verify(&setup.response(&setup.instance.sign_provenance(&spec), &setup.publish()));
    assert!(verification.is_verified());
    assert!(verification.findings.iter().any(|f| f.code == Code::SelfHostedRunner));
}

#[test]
fn each_check_fails_for_its_own_reason() {
    let setup = Setup::new();
    let good = setup.instance.sign_provenance(&setup.spec());
    let publish = setup.publish();
    type Tamper = fn(&mut Value);
    let tampers: [(&str, Tamper, Code); 7] = [
        ("dsse signature", |b| corrupt_base64(&mut b["dsseEnvelope"]["signatures"][0]["sig"]), Code::SignatureInvalid),
        (
            "signed entry timestamp",
            |b| {
                corrupt_base64(
                    &mut b["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"],
                )
            },
            Code::TlogInvalid,
        ),
        (
            "inclusion proof hash",
            |b| corrupt_base64(&mut b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0]),
            Code::TlogInvalid,
        ),
        (
            "log entry body",
            |b| corrupt_base64(&mut b["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]),
            Code::TlogInvalid,
        ),
        (
            "certificate signature",
            |b| {
                // The last bytes of a DER certificate are its signature.
                use base64::Engine;
                let engine = base64::engine::general_purpose::STANDARD;
                let field = &mut b["verificationMaterial"]["certificate"]["rawBytes"];
                let mut der = engine.decode(field.as_str().unwrap()).unwrap();
                let last = der.len() - 3;
                der[last] ^= 0x01;
                *field = Value::String(engine.encode(der));
            },
            Code::CertificateInvalid,
        ),
        (
            "media type",
            |b| b["mediaType"] = Value::String("application/vnd.dev.sigstore.bundle+json;version=9".into()),
            Code::BundleMalformed,
        ),
        (
            "payload type",
            |b| b["dsseEnvelope"]["payloadType"] = Value::String("application/json".into()),
            Code::StatementInvalid,
        ),
    ];
    for (what, tamper, code) in tampers {
        let verification = setup.verify(&setup.response(&edit(&good, tamper), &publish));
        assert_eq!(failures(&verification), [code], "{what}: {:#?}", verification.findings);
    }
}

#[test]
fn a_bundle_from_another_instance_does_not_verify() {
    let setup = Setup::new();
    let stranger = SigstoreInstance::new();
    let provenance = stranger.sign_provenance(&setup.spec());
    let verification = setup.verify(&setup.response(&provenance, &setup.publish()));
    assert!(!verification.is_verified());
    assert!(
        failures(&verification).contains(&Code::CertificateInvalid)
            || failures(&verification).contains(&Code::TlogInvalid)
    );
}

#[test]
fn statements_are_matched_by_their_signed_content() {
    let setup = Setup::new();
    let spec = setup.spec();
    // Signed with a wrong subject digest, name, type, or no subject at all.
    type Change = fn(&mut Value);
    let cases: [(Change, Code); 5] = [
        (|s| s["subject"][0]["digest"]["sha512"] = Value::String("00".repeat(64)), Code::SubjectDigestMismatch),
        (|s| s["subject"][0]["name"] = Value::String("pkg:npm/other@1.2.3".into()), Code::SubjectNameMismatch),
        (|s| s["_type"] = Value::String("https://in-toto.io/Statement/v9".into()), Code::StatementInvalid),
        (|s| s["subject"] = Value::Array(vec![]), Code::StatementInvalid),
        (
            |s| {
                let first = s["subject"][0].clone();
                s["subject"] = Value::Array(vec![first.clone(), first]);
            },
            Code::StatementInvalid,
        ),
    ];
    for (change, code) in cases {
        let mut statement = spec.statement();
        change(&mut statement);
        let provenance = setup.instance.sign_statement_as_workflow(&spec, &statement);
        let verification = setup.verify(&setup.response(&provenance, &setup.publish()));
        assert!(failures(&verification).contains(&code), "{code}: {:#?}", verification.findings);
        assert!(!verification.is_verified());
    }

    // The registry's unsigned label disagrees with the signed predicate type.
    let provenance = setup.instance.sign_provenance(&spec);
    let response = SigstoreInstance::attestations_response(&[(SLSA_V02, &provenance), (NPM_PUBLISH, &setup.publish())]);
    fails_only_with(&setup.verify(&response), Code::PredicateTypeMismatch);

    // A publish attestation given twice is refused rather than one picked.
    let response = SigstoreInstance::attestations_response(&[
        (SLSA_V1, &provenance),
        (NPM_PUBLISH, &setup.publish()),
        (NPM_PUBLISH, &setup.publish()),
    ]);
    fails_only_with(&setup.verify(&response), Code::PublishAmbiguous);

    // And two provenance attestations are refused as such.
    let response = SigstoreInstance::attestations_response(&[
        (SLSA_V1, &provenance),
        (SLSA_V1, &provenance),
        (NPM_PUBLISH, &setup.publish()),
    ]);
    fails_only_with(&setup.verify(&response), Code::ProvenanceAmbiguous);
}

#[test]
fn certificate_claims_must_agree_with_the_predicate() {
    let setup = Setup::new();
    let changes: [fn(&mut ProvenanceSpec); 5] = [
        |s| s.certificate_repository = Some("https://github.com/attacker/other".into()),
        |s| s.certificate_commit = Some("f".repeat(40)),
        |s| s.certificate_ref = Some("refs/heads/main".into()),
        |s| s.certificate_workflow = Some(".github/workflows/other.yml".into()),
        |s| s.issuer = "https://accounts.google.com".into(),
    ];
    for change in changes {
        let mut spec = setup.spec();
        change(&mut spec);
        let verification = setup.verify(&setup.response(&setup.instance.sign_provenance(&spec), &setup.publish()));
        fails_only_with(&verification, Code::ClaimsDisagree);
    }
}

#[test]
fn npm_keys_are_chosen_by_hint_and_validity_window() {
    let setup = Setup::new();
    let provenance = setup.instance.sign_provenance(&setup.spec());
    let keys = |start: &str, end: Option<&str>| {
        serde_json::json!({"keys": [setup.instance.npm_key_entry(start, end)]}).to_string()
    };
    let old_publish = setup.instance.sign_publish(
        "widget",
        "1.2.3",
        &setup.sha512,
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_735_689_600), // 2025-01-01
    );
    let response = setup.response(&provenance, &old_publish);
    let none = IdentityPolicy::default();
    // Valid when the log integrated it: verifies.
    let verification = setup.verify_with(&response, &keys("2022-12-01T00:00:00Z", Some("2025-01-29T00:00:00Z")), &none);
    assert!(verification.is_verified(), "{:#?}", verification.findings);
    // The key's window ended before the log time: refused.
    let verification = setup.verify_with(&response, &keys("2022-12-01T00:00:00Z", Some("2024-06-01T00:00:00Z")), &none);
    fails_only_with(&verification, Code::PublishKeyUnknown);
    // The key's window starts after the log time: refused.
    let verification = setup.verify_with(&response, &keys("2025-01-13T00:00:00Z", None), &none);
    fails_only_with(&verification, Code::PublishKeyUnknown);
    // No key with that hint at all.
    let other = SigstoreInstance::new();
    let verification = setup.verify_with(&response, &other.npm_keys_json(), &none);
    fails_only_with(&verification, Code::PublishKeyUnknown);
    // A key listed under the right hint but that is not the signer's.
    let mut forged = other.npm_key_entry("2020-01-01T00:00:00Z", None);
    forged["keyId"] = Value::String(setup.instance.npm_key_id().to_string());
    let forged = serde_json::json!({"keys": [forged]}).to_string();
    let trust = TrustMaterial::embedded().unwrap().with_npm_keys(&forged, "forged");
    assert!(trust.is_err(), "a key listed under another key's id is refused when loading");
}

#[test]
fn identity_policy_and_runner_warnings() {
    let setup = Setup::new();
    let response = setup.response(&setup.instance.sign_provenance(&setup.spec()), &setup.publish());
    let keys = setup.instance.npm_keys_json();
    let pattern = |p: &str| Some(Pattern(p.into()));
    let meets = IdentityPolicy {
        repository: pattern(REPO),
        workflow: pattern(".github/workflows/*.yml"),
        git_ref: pattern("refs/tags/v*"),
        builder: pattern("https://github.com/actions/runner/*"),
        runner: Some("github-hosted".into()),
    };
    assert!(setup.verify_with(&response, &keys, &meets).is_verified());
    let misses = [
        IdentityPolicy { repository: pattern("https://github.com/example/other"), ..Default::default() },
        IdentityPolicy { workflow: pattern(".github/workflows/ci.yml"), ..Default::default() },
        IdentityPolicy { git_ref: pattern("refs/heads/*"), ..Default::default() },
        IdentityPolicy { builder: pattern("https://example.com/builder"), ..Default::default() },
        IdentityPolicy { runner: Some("self-hosted".into()), ..Default::default() },
    ];
    for policy in misses {
        fails_only_with(&setup.verify_with(&response, &keys, &policy), Code::IdentityPolicyFailed);
    }

    let mut spec = setup.spec();
    spec.runner = "self-hosted".into();
    let response = setup.response(&setup.instance.sign_provenance(&spec), &setup.publish());
    let verification = setup.verify_with(&response, &keys, &IdentityPolicy::default());
    assert!(verification.is_verified(), "a self-hosted runner is a warning, not a failure");
    assert!(verification.findings.iter().any(|f| f.code == Code::SelfHostedRunner && f.severity == Severity::Warning));
    let strict = IdentityPolicy { runner: Some("github-hosted".into()), ..Default::default() };
    assert!(!setup.verify_with(&response, &keys, &strict).is_verified());
}

/// A time as the testkit takes it.
fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

const JAN_2025: u64 = 1_735_689_600; // 2025-01-01T00:00:00Z
const NOV_2023: u64 = 1_700_000_000; // 2023-11-14T22:13:20Z

#[test]
fn the_npm_key_window_is_checked_against_a_verified_time_only() {
    let setup = Setup::new();
    let provenance = setup.instance.sign_provenance(&setup.spec());
    // A key retired on 2024-01-01, as npm's first key was retired in January 2025.
    let retired = serde_json::json!({"keys": [setup.instance.npm_key_entry("2022-12-01T00:00:00Z", Some("2024-01-01T00:00:00Z"))]})
        .to_string();
    let current = setup.instance.npm_keys_json();
    let none = IdentityPolicy::default();
    let publish =
        |shape: PublishShape| setup.instance.sign_publish_shaped("widget", "1.2.3", &setup.sha512, at(JAN_2025), shape);

    // The attack: logged in 2025 with the retired key, the SET dropped (the inclusion proof still
    // verifies, and does not cover integratedTime) and integratedTime backdated into the window.
    let forged = publish(PublishShape {
        signed_entry_timestamp: false,
        claimed_integrated_time: Some(at(NOV_2023)),
        rfc3161_timestamp: None,
    });
    let verification = setup.verify_with(&setup.response(&provenance, &forged), &retired, &none);
    fails_only_with(&verification, Code::PublishTimeUnverified);
    assert!(verification.publish.is_none());
    // Without a SET nothing authenticates any time, whatever the key's window: fail closed.
    let no_set = publish(PublishShape { signed_entry_timestamp: false, ..PublishShape::default() });
    fails_only_with(
        &setup.verify_with(&setup.response(&provenance, &no_set), &current, &none),
        Code::PublishTimeUnverified,
    );
    // Backdating with the SET kept breaks the SET, which signs the real time.
    let backdated = publish(PublishShape { claimed_integrated_time: Some(at(NOV_2023)), ..PublishShape::default() });
    fails_only_with(&setup.verify_with(&setup.response(&provenance, &backdated), &retired, &none), Code::TlogInvalid);

    // With its SET, the log's time is verified, used and reported with its source.
    let logged = publish(PublishShape::default());
    let verification = setup.verify_with(&setup.response(&provenance, &logged), &current, &none);
    assert!(verification.is_verified(), "{:#?}", verification.findings);
    let verified = verification.publish.unwrap();
    let expected = jiff::Timestamp::from_second(JAN_2025 as i64).unwrap();
    assert_eq!(verified.log_integrated_time, Some(expected));
    assert_eq!(verified.verified_times.len(), 1);
    assert_eq!(
        (verified.verified_times[0].time, verified.verified_times[0].source),
        (expected, TimeSource::SignedEntryTimestamp)
    );
    fails_only_with(
        &setup.verify_with(&setup.response(&provenance, &logged), &retired, &none),
        Code::PublishKeyUnknown,
    );
}

#[test]
fn an_rfc3161_timestamp_is_a_verified_time_for_the_npm_key() {
    let setup = Setup::new();
    let provenance = setup.instance.sign_provenance(&setup.spec());
    let none = IdentityPolicy::default();
    let keys = |end: &str| {
        serde_json::json!({"keys": [setup.instance.npm_key_entry("2022-12-01T00:00:00Z", Some(end))]}).to_string()
    };
    // No SET, but a timestamp authority's token: its time is the one the key must be valid at,
    // and the unsigned integratedTime (backdated here) still plays no part.
    let stamped = setup.instance.sign_publish_shaped(
        "widget",
        "1.2.3",
        &setup.sha512,
        at(JAN_2025),
        PublishShape {
            signed_entry_timestamp: false,
            claimed_integrated_time: Some(at(NOV_2023)),
            rfc3161_timestamp: Some(at(JAN_2025)),
        },
    );
    let response = setup.response(&provenance, &stamped);
    let verification = setup.verify_with(&response, &keys("2025-01-29T00:00:00Z"), &none);
    assert!(verification.is_verified(), "{:#?}", verification.findings);
    let verified = verification.publish.unwrap();
    assert_eq!(verified.log_integrated_time, None, "an unsigned integratedTime is never reported");
    assert_eq!(verified.verified_times.len(), 1);
    assert_eq!(verified.verified_times[0].source, TimeSource::Rfc3161Timestamp);
    assert_eq!(verified.verified_times[0].time, jiff::Timestamp::from_second(JAN_2025 as i64).unwrap());
    // The key's window ended before the timestamp's time: refused, though the claimed
    // integratedTime falls inside it.
    fails_only_with(&setup.verify_with(&response, &keys("2024-01-01T00:00:00Z"), &none), Code::PublishKeyUnknown);

    // With both a SET and a timestamp, the key must be valid at each: a timestamp after the
    // window fails even though the log's time is inside it.
    let both = setup.instance.sign_publish_shaped(
        "widget",
        "1.2.3",
        &setup.sha512,
        at(JAN_2025),
        PublishShape { rfc3161_timestamp: Some(at(JAN_2025 + 40 * 86_400)), ..PublishShape::default() },
    );
    let response = setup.response(&provenance, &both);
    let verification = setup.verify_with(&response, &keys("2025-01-29T00:00:00Z"), &none);
    fails_only_with(&verification, Code::PublishKeyUnknown);
    assert!(verification.findings.iter().any(|f| f.detail.contains("RFC 3161")), "{:#?}", verification.findings);
    let verification = setup.verify_with(&response, &setup.instance.npm_keys_json(), &none);
    assert!(verification.is_verified(), "{:#?}", verification.findings);
    let sources: Vec<TimeSource> = verification.publish.unwrap().verified_times.iter().map(|t| t.source).collect();
    assert_eq!(sources, [TimeSource::SignedEntryTimestamp, TimeSource::Rfc3161Timestamp]);
}

#[test]
fn a_publish_predicate_naming_another_package_or_version_fails() {
    // The subject is right (the purl and the digest), but npm's publish predicate, which is
    // signed too, names another package or version: the registry did not vouch for this one.
    let setup = Setup::new();
    let provenance = setup.instance.sign_provenance(&setup.spec());
    for (name, version) in [("other", "1.2.3"), ("widget", "9.9.9"), ("Widget", "1.2.3")] {
        let statement = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "subject": [{"name": "pkg:npm/widget@1.2.3", "digest": {"sha512": setup.sha512.to_hex()}}],
            "predicateType": NPM_PUBLISH,
            "predicate": {"name": name, "version": version, "registry": "https://registry.testkit.invalid"}
        });
        let publish = setup.instance.sign_publish_statement(&statement, SystemTime::now() - Duration::from_secs(60));
        let verification = setup.verify(&setup.response(&provenance, &publish));
        fails_only_with(&verification, Code::SubjectNameMismatch);
        let detail = &verification.findings[0].detail;
        assert!(detail.contains(&format!("names {name}@{version}, expected widget@1.2.3")), "{detail}");
        assert!(verification.publish.is_none());
    }
    // A predicate without a name is refused the same way.
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [{"name": "pkg:npm/widget@1.2.3", "digest": {"sha512": setup.sha512.to_hex()}}],
        "predicateType": NPM_PUBLISH,
        "predicate": {"version": "1.2.3"}
    });
    let publish = setup.instance.sign_publish_statement(&statement, SystemTime::now() - Duration::from_secs(60));
    fails_only_with(&setup.verify(&setup.response(&provenance, &publish)), Code::SubjectNameMismatch);
}
