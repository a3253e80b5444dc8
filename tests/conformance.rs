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

/// The check each `_fail` case is about, as provdiff's finding code (`None`: the input itself is
/// refused, exit 2), and the repair that removes an earlier, unrelated defect so the case fails
/// for its own reason (see ../shared/README.md).
fn intended(case: &str) -> (Option<&'static str>, Option<Repair>) {
    let code = match case {
        "bundle-empty-certificate-chain_fail" => return (Some("bundle-malformed"), Some(Repair::DropInclusionProof)),
        "bundle-with-root-cert_fail" => return (Some("certificate-invalid"), Some(Repair::DropInclusionProof)),
        "rekor2-timestamp-with-incorrect-time_fail" => {
            return (Some("certificate-invalid"), Some(Repair::UnwrapBase64));
        }
        "managed-key-wrong-key_fail" | "trust-root-tlog-missing-validity-start_fail" => return (None, None),
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
    (Some(code), None)
}

#[derive(Debug, Clone, Copy)]
enum Repair {
    /// A v0.1 bundle needs only the signed entry timestamp; its stale inclusion proof (no
    /// checkpoint) would otherwise fail first.
    DropInclusionProof,
    /// The RFC 3161 token's base64 was line-wrapped, which strict base64 refuses first.
    UnwrapBase64,
}

fn repaired(bundle: &Path, repair: Repair, out: &Path) -> std::path::PathBuf {
    let mut value: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(bundle).unwrap()).unwrap();
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
    }
    let path = out.join("repaired.sigstore.json");
    fs_err::write(&path, value.to_string()).unwrap();
    path
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

        let (code, repair) = if must_fail { intended(&name) } else { (None, None) };
        let scratch = tempfile::tempdir().unwrap();
        let original = case.join("bundle.sigstore.json");
        let mut bundles = vec![(original.clone(), if repair.is_some() { None } else { code })];
        if let Some(repair) = repair {
            bundles.push((repaired(&original, repair, scratch.path()), code));
        }
        let trusted_root = trusted_root.display().to_string();
        let identity = read_trimmed(&case.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.to_string());
        let issuer = read_trimmed(&case.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.to_string());
        let key = case.join("key.pub");
        let key = key.display().to_string();
        for (bundle, code) in &bundles {
            let bundle = bundle.display().to_string();
            for subject in [artifact.display().to_string(), digest.clone()] {
                let mut args = vec!["verify-bundle", "--json", "--bundle", &bundle, "--trusted-root", &trusted_root];
                if case.join("key.pub").exists() {
                    args.extend(["--key", &key]);
                } else {
                    args.extend(["--certificate-identity", &identity, "--certificate-oidc-issuer", &issuer]);
                }
                args.push(&subject);
                let run = support::provdiff(&args, case);
                assert!(!run.stderr.contains("panicked"), "{name}: {}", run.stderr);
                let verified = run.code == 0;
                let what = if subject.starts_with("sha256:") { "digest" } else { "path" };
                let repaired = if bundle.ends_with("repaired.sigstore.json") { ", repaired" } else { "" };
                if verified == must_fail {
                    disagreements.push(format!(
                        "{name} ({what}{repaired}): exit {} {}{}",
                        run.code,
                        run.stdout.trim(),
                        run.stderr.trim()
                    ));
                    continue;
                }
                if !must_fail {
                    continue;
                }
                match code {
                    // The input itself is refused: an operational error naming it.
                    None if repair.is_none() && run.code != 2 => disagreements
                        .push(format!("{name} ({what}): expected an input error (exit 2), got exit {}", run.code)),
                    Some(code) => {
                        let report = run.json();
                        let found = report["findings"][0]["code"].as_str().unwrap_or_default().to_string();
                        if found != *code {
                            disagreements.push(format!(
                                "{name} ({what}{repaired}): failed with {found}, not {code}: {}",
                                report["findings"][0]["detail"]
                            ));
                        }
                    }
                    None => {}
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{} disagreements:\n{}", disagreements.len(), disagreements.join("\n"));
}
