//! The sigstore-conformance `bundle-verify` cases in `../shared/conformance`, run through
//! `provdiff verify-bundle` as the suite runs a client: once with the artifact's path and once
//! with its `sha256:` digest. A case whose directory ends in `_fail` must fail; every other case
//! must verify. Skips (and says so) when `../shared` is absent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use sha2::Digest;

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// How a case must fail: with a finding of this code, or (the input itself refused) with an
/// error document of this code, exit 2. `detail` must appear in the finding's detail or the
/// error's message: the code alone would not tell an early, unrelated defect from the one a
/// case is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Finding { code: &'static str, detail: Option<&'static str> },
    InputError { code: &'static str, detail: Option<&'static str> },
}

const fn finding(code: &'static str) -> Expect {
    Expect::Finding { code, detail: None }
}

/// The check each `_fail` case is about, and the repair that removes an earlier, unrelated
/// defect so the case fails for its own reason (see ../shared/README.md). For a repaired case,
/// the second expectation is how the original fails (its earlier defect), when it is checked.
fn intended(case: &str) -> (Expect, Option<Repair>, Option<Expect>) {
    let code = match case {
        "bundle-empty-certificate-chain_fail" => {
            return (finding("bundle-malformed"), Some(Repair::DropInclusionProof), None);
        }
        "bundle-with-root-cert_fail" => {
            return (finding("certificate-invalid"), Some(Repair::DropInclusionProof), None);
        }
        "rekor2-timestamp-with-incorrect-time_fail" => {
            return (finding("certificate-invalid"), Some(Repair::UnwrapBase64), None);
        }
        // The key file is not even base64 (`…wrongkey==`), so it is refused as input; with a
        // valid key that is not the signer's, the signature is what fails.
        "managed-key-wrong-key_fail" => {
            return (
                Expect::Finding { code: "signature-invalid", detail: Some("signature verification failed") },
                Some(Repair::OtherValidKey),
                Some(Expect::InputError { code: "key-invalid", detail: Some("key.pub is not a PEM public key") }),
            );
        }
        // The stale inclusion proof has no checkpoint, which the bundle format requires first;
        // with a checkpoint over the proof's own root, the proof itself is what fails.
        "invalid-inclusion-proof_fail" => {
            return (
                Expect::Finding { code: "tlog-invalid", detail: Some("inclusion proof verification failed") },
                Some(Repair::AddCheckpoint),
                Some(Expect::Finding { code: "tlog-invalid", detail: Some("no checkpoint") }),
            );
        }
        "trust-root-tlog-missing-validity-start_fail" => {
            return (Expect::InputError { code: "trust-invalid", detail: Some("trusted_root.json") }, None, None);
        }
        "bundle-invalid-base64-signature_fail"
        | "bundle-malformed-json_fail"
        | "bundle-negative-log-index_fail"
        | "bundle-unknown-version_fail"
        | "managed-key-no-key_fail" => "bundle-malformed",
        "dsse-invalid-sig_fail" | "rekor2-dsse-invalid-sig_fail" | "signature-mismatch_fail" => "signature-invalid",
        "integrated-time-in-future_fail"
        | "intoto-expired-certificate_fail"
        | "intoto-set-outside-signing-cert-validity_fail"
        | "intoto-tsa-timestamp-outside-cert-validity_fail"
        | "invalid-ct-key_fail" => "certificate-invalid",
        "message-digest-mismatch_fail"
        | "rekor2-dsse-mismatch-envelope_fail"
        | "wrong-hashedrekord-artifact_fail"
        | "wrong-hashedrekord-entry_fail"
        | "wrong-material_fail" => "subject-digest-mismatch",
        case if case.starts_with("rekor2-timestamp") || case == "rekor2-no-timestamp_fail" => "timestamp-invalid",
        _ => "tlog-invalid",
    };
    (finding(code), None, None)
}

#[derive(Debug, Clone, Copy)]
enum Repair {
    /// A v0.1 bundle needs only the signed entry timestamp; its stale inclusion proof (no
    /// checkpoint) would otherwise fail first.
    DropInclusionProof,
    /// The RFC 3161 token's base64 was line-wrapped, which strict base64 refuses first.
    UnwrapBase64,
    /// A well-formed P-256 key that did not sign the bundle (npm's first attestation key, from
    /// `../shared/fixtures/trust`) in place of the case's malformed one.
    OtherValidKey,
    /// A checkpoint over the inclusion proof's own tree size and root hash (its signature is
    /// never reached: the proof is checked first).
    AddCheckpoint,
}

/// The repaired bundle, and the key to verify it with when the repair replaces the key.
fn repaired(
    shared: &Path,
    case: &Path,
    repair: Repair,
    out: &Path,
) -> (std::path::PathBuf, Option<std::path::PathBuf>) {
    let bundle = case.join("bundle.sigstore.json");
    if let Repair::OtherValidKey = repair {
        let key = shared.join("fixtures/trust/npm-key-SHA256_jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA.pem");
        return (bundle, Some(key));
    }
    let mut value: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(&bundle).unwrap()).unwrap();
    let material = &mut value["verificationMaterial"];
    match repair {
        Repair::DropInclusionProof => {
            for entry in material["tlogEntries"].as_array_mut().unwrap() {
                entry.as_object_mut().unwrap().remove("inclusionProof");
            }
        }
        Repair::UnwrapBase64 => {
            for token in material["timestampVerificationData"]["rfc3161Timestamps"].as_array_mut().unwrap() {
                let unwrapped = token["signedTimestamp"].as_str().unwrap().replace('\n', "");
                token["signedTimestamp"] = unwrapped.into();
            }
        }
        Repair::AddCheckpoint => {
            use base64::Engine;
            let engine = base64::engine::general_purpose::STANDARD;
            for entry in material["tlogEntries"].as_array_mut().unwrap() {
                let mut hint = engine.decode(entry["logId"]["keyId"].as_str().unwrap()).unwrap()[..4].to_vec();
                hint.extend_from_slice(&[0; 70]);
                let proof = &mut entry["inclusionProof"];
                let envelope = format!(
                    "rekor.sigstore.dev - 2605736670972794746\n{}\n{}\n\n\u{2014} rekor.sigstore.dev {}\n",
                    proof["treeSize"].as_str().unwrap(),
                    proof["rootHash"].as_str().unwrap(),
                    engine.encode(&hint)
                );
                proof["checkpoint"] = serde_json::json!({"envelope": envelope});
            }
        }
        Repair::OtherValidKey => {}
    }
    let path = out.join("repaired.sigstore.json");
    fs_err::write(&path, value.to_string()).unwrap();
    (path, None)
}

/// Whether `run` failed as `expect` says; the reason it did not, otherwise.
fn failed_as(run: &support::Run, expect: Expect) -> Result<(), String> {
    let (wanted_exit, wanted_code, detail, found_code, found_detail) = match expect {
        Expect::Finding { code, detail } => {
            let report = run.json();
            let finding = &report["findings"][0];
            (1, code, detail, finding["code"].as_str().unwrap_or_default().to_string(), finding["detail"].to_string())
        }
        Expect::InputError { code, detail } => {
            let report = run.json();
            let error = &report["error"];
            (2, code, detail, error["code"].as_str().unwrap_or_default().to_string(), error["message"].to_string())
        }
    };
    if run.code != wanted_exit {
        return Err(format!("exit {}, not {wanted_exit}: {}{}", run.code, run.stdout.trim(), run.stderr.trim()));
    }
    if found_code != wanted_code {
        return Err(format!("failed with {found_code}, not {wanted_code}: {found_detail}"));
    }
    if let Some(detail) = detail
        && !found_detail.contains(detail)
    {
        return Err(format!("failed with {found_code}, but not because {detail:?}: {found_detail}"));
    }
    Ok(())
}

fn read_trimmed(path: &Path) -> Option<String> {
    fs_err::read_to_string(path).ok().map(|text| text.trim().to_string())
}

#[test]
fn every_bundle_verify_case_meets_its_expectation() {
    let Some(shared) = support::shared_dir() else { return };
    let suite = shared.join("conformance/bundle-verify");
    let public_good = shared.join("conformance/trusted_root.public-good.json");
    let mut cases: Vec<_> =
        fs_err::read_dir(&suite).unwrap().map(|entry| entry.unwrap().path()).filter(|path| path.is_dir()).collect();
    cases.sort();
    assert!(cases.len() >= 60, "only {} cases found", cases.len());

    let mut disagreements = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let must_fail = name.ends_with("_fail");
        let artifact = if case.join("artifact").exists() { case.join("artifact") } else { suite.join("a.txt") };
        let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(fs_err::read(&artifact).unwrap())));
        let trusted_root =
            if case.join("trusted_root.json").exists() { case.join("trusted_root.json") } else { public_good.clone() };

        let scratch = tempfile::tempdir().unwrap();
        let original = case.join("bundle.sigstore.json");
        let key = case.join("key.pub");
        let key = key.exists().then_some(key);
        // Each variant: a bundle, the key to verify it with, and how it must fail (`None`: it
        // must verify; for an original with an earlier defect, any failure unless it is known).
        let mut variants: Vec<(std::path::PathBuf, Option<std::path::PathBuf>, Option<Expect>, bool)> = Vec::new();
        if must_fail {
            let (expect, repair, original_defect) = intended(&name);
            match repair {
                None => variants.push((original.clone(), key.clone(), Some(expect), false)),
                Some(repair) => {
                    variants.push((original.clone(), key.clone(), original_defect, false));
                    let (bundle, other_key) = repaired(&shared, case, repair, scratch.path());
                    variants.push((bundle, other_key.or(key.clone()), Some(expect), true));
                }
            }
        } else {
            variants.push((original.clone(), key.clone(), None, false));
        }
        let trusted_root = trusted_root.display().to_string();
        let identity = read_trimmed(&case.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.to_string());
        let issuer = read_trimmed(&case.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.to_string());
        for (bundle, key, expect, is_repaired) in &variants {
            let bundle = bundle.display().to_string();
            let key = key.as_ref().map(|key| key.display().to_string());
            for subject in [artifact.display().to_string(), digest.clone()] {
                let mut args = vec!["verify-bundle", "--json", "--bundle", &bundle, "--trusted-root", &trusted_root];
                match &key {
                    Some(key) => args.extend(["--key", key]),
                    None => args.extend(["--certificate-identity", &identity, "--certificate-oidc-issuer", &issuer]),
                }
                args.push(&subject);
                let run = support::provdiff(&args, case);
                assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
                let what = if subject.starts_with("sha256:") { "digest" } else { "path" };
                let repaired = if *is_repaired { ", repaired" } else { "" };
                let verified = run.code == 0;
                if verified == must_fail {
                    disagreements.push(format!(
                        "{name} ({what}{repaired}): exit {} {}{}",
                        run.code,
                        run.stdout.trim(),
                        run.stderr.trim()
                    ));
                    continue;
                }
                if let Some(expect) = expect
                    && let Err(reason) = failed_as(&run, *expect)
                {
                    disagreements.push(format!("{name} ({what}{repaired}): {reason}"));
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
}
