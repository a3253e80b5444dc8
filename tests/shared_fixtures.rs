//! The real npm attestations in `../shared/fixtures/npm`: every case in `cases.json` gives its
//! expected outcome through `provdiff verify`, verified cases with the listed repository and
//! commit, failing ones with a finding whose code names the reason. Skips (and says so) when
//! `../shared` is not beside the checkout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;

/// The finding code that names each failing case's reason (`expected_failure` in cases.json).
fn expected_code(case: &str) -> &'static str {
    match case {
        c if c.ends_with("invalidsigprov") || c.ends_with("invalidsigpub") || c.ends_with("invalid-signature") => {
            "signature-invalid"
        }
        c if c.ends_with("payloadtype") => "statement-invalid",
        c if c.ends_with("predicatetype") => "predicate-type-mismatch",
        c if c.ends_with("-type") => "statement-invalid",
        c if c.ends_with("nodigest") => "subject-digest-mismatch",
        c if c.ends_with("nosubjects") => "statement-invalid",
        "libnpmpublish-bad-dsse-payload-bundle" => "statement-invalid",
        "libnpmpublish-multi-subject-provenance-bundle" => "statement-invalid",
        "libnpmpublish-no-provenance-subject-bundle" => "statement-invalid",
        // The signature's base64 itself is malformed, so the bundle cannot be read.
        "libnpmpublish-invalid-signature-bundle-bundle" | "libnpmpublish-invalid-signature-bundle" => {
            "bundle-malformed"
        }
        "libnpmpublish-digest-mismatch-provenance-bundle" | "libnpmpublish-valid-bundle" => "tlog-invalid",
        other => panic!("no expectation for case {other}"),
    }
}

#[test]
fn every_case_gives_its_expected_outcome() {
    let Some(shared) = support::shared_dir() else { return };
    let fixtures = shared.join("fixtures/npm");
    let cases: Vec<Value> =
        serde_json::from_str(&fs_err::read_to_string(fixtures.join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() >= 20, "cases.json lists {} cases", cases.len());
    for case in &cases {
        let name = case["case"].as_str().unwrap();
        let dir = fixtures.join(name);
        let files: Vec<&str> = case["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        let mut args: Vec<String> = vec!["verify".into(), "--json".into()];
        for file in files.iter().filter(|f| f.ends_with(".json") && **f != "statement.json") {
            args.push("--attestations".into());
            args.push(dir.join(file).display().to_string());
        }
        if files.contains(&"package.tgz") {
            args.push("--tarball".into());
            args.push(dir.join("package.tgz").display().to_string());
        } else {
            let digest = case["subject_sha512"].as_str().unwrap_or(&"0".repeat(128)).to_string();
            args.extend(["--digest".into(), format!("sha512:{digest}")]);
            let package = format!("{}@{}", case["package"].as_str().unwrap(), case["version"].as_str().unwrap());
            args.extend(["--package".into(), package]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = support::provdiff(&args, &dir);
        let report = run.json();
        let codes: Vec<&str> =
            report["attestation"]["findings"].as_array().unwrap().iter().map(|f| f["code"].as_str().unwrap()).collect();
        match case["expect"].as_str().unwrap() {
            "verified" => {
                assert_eq!(run.code, 0, "{name}: {codes:?}\n{}", run.stderr);
                let provenance = &report["attestation"]["provenance"];
                assert_eq!(provenance["repository"], case["source_repository"], "{name}");
                assert_eq!(provenance["commit"], case["source_commit"], "{name}");
                if let Some(sha512) = case["package_sha512"].as_str() {
                    assert_eq!(report["package"]["sha512"], sha512, "{name}");
                }
            }
            "fail" => {
                assert_eq!(run.code, 1, "{name}: {codes:?}\n{}", run.stderr);
                assert_eq!(report["verified"], false, "{name}");
                let expected = expected_code(name);
                assert!(codes.contains(&expected), "{name}: expected {expected} among {codes:?}");
            }
            other => panic!("{name}: unknown expectation {other}"),
        }
    }
}

#[test]
fn gundam_visor_check_without_its_repository_is_an_error_naming_the_commit() {
    let Some(shared) = support::shared_dir() else { return };
    let dir = shared.join("fixtures/npm/gundam-visor-1.0.1");
    let empty = tempfile::tempdir().unwrap();
    let repo = provdiff_testkit::TestRepo::init_bare(&empty.path().join("repo.git"));
    repo.commit(&[provdiff_testkit::RepoFile::new("README.md", "unrelated")], "unrelated");
    let run = support::provdiff(
        &[
            "check",
            "--tarball",
            &dir.join("package.tgz").display().to_string(),
            "--attestations",
            &dir.join("attestations.json").display().to_string(),
            "--repo",
            "repo.git",
        ],
        empty.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("599500821344b070902a7a5666064bfdaba715df"), "{}", run.stderr);
}

/// The audit's forgery on real data: gundam-visor@1.0.1's publish attestation (logged
/// 2024-06-03) with its signed entry timestamp removed and `integratedTime` backdated to
/// 2023-11-14, checked with npm's real keys whose attestation key's window is cut to end on
/// 2024-01-01. The inclusion proof still verifies (it does not cover the time), so only a
/// verified time can refuse it: with none, the publish attestation must fail.
#[test]
fn a_real_publish_attestation_without_its_set_and_backdated_does_not_verify() {
    let Some(shared) = support::shared_dir() else { return };
    let dir = shared.join("fixtures/npm/gundam-visor-1.0.1");
    let scratch = tempfile::tempdir().unwrap();
    let mut keys: Value =
        serde_json::from_str(&fs_err::read_to_string(shared.join("fixtures/trust/npm-registry-keys.json")).unwrap())
            .unwrap();
    for key in keys["keys"].as_array_mut().unwrap() {
        if key["keyUsage"] == "npm:attestations" && key["keyId"] == "SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA"
        {
            key["publicKey"]["validFor"]["end"] = "2024-01-01T00:00:00.000Z".into();
        }
    }
    fs_err::write(scratch.path().join("keys.json"), keys.to_string()).unwrap();
    let original: Value =
        serde_json::from_str(&fs_err::read_to_string(dir.join("attestations.json")).unwrap()).unwrap();
    let mut forged = original.clone();
    for attestation in forged["attestations"].as_array_mut().unwrap() {
        if attestation["predicateType"].as_str().unwrap().contains("npm/attestation") {
            let entry = &mut attestation["bundle"]["verificationMaterial"]["tlogEntries"][0];
            entry.as_object_mut().unwrap().remove("inclusionPromise").unwrap();
            entry["integratedTime"] = "1700000000".into();
        }
    }
    fs_err::write(scratch.path().join("forged.json"), forged.to_string()).unwrap();
    let mut set_kept = original.clone();
    for attestation in set_kept["attestations"].as_array_mut().unwrap() {
        if attestation["predicateType"].as_str().unwrap().contains("npm/attestation") {
            attestation["bundle"]["verificationMaterial"]["tlogEntries"][0]["integratedTime"] = "1700000000".into();
        }
    }
    fs_err::write(scratch.path().join("set-kept.json"), set_kept.to_string()).unwrap();
    let tarball = dir.join("package.tgz").display().to_string();
    let verify = |attestations: &str, keys: Option<&str>| {
        let mut args = vec!["verify", "--json", "--attestations", attestations, "--tarball", &tarball];
        if let Some(keys) = keys {
            args.extend(["--npm-keys", keys]);
        }
        let run = support::provdiff(&args, scratch.path());
        let report = run.json();
        let codes: Vec<String> = report["attestation"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "unverified")
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect();
        (run.code, codes, report)
    };
    let original_path = dir.join("attestations.json").display().to_string();

    // Unmodified, with the cut window: the SET's time (2024-06-03) is outside it.
    let (code, codes, _) = verify(&original_path, Some("keys.json"));
    assert_eq!((code, codes), (1, vec!["publish-key-unknown".to_string()]));
    // The forgery: no SET, backdated into the window. Nothing authenticates the time.
    let (code, codes, report) = verify("forged.json", Some("keys.json"));
    assert_eq!((code, codes), (1, vec!["publish-time-unverified".to_string()]), "{report:#}");
    assert!(report["attestation"]["publish"].is_null());
    // The same without the cut window still fails: a time is needed, not just a lucky window.
    let (code, codes, _) = verify("forged.json", None);
    assert_eq!((code, codes), (1, vec!["publish-time-unverified".to_string()]));
    // Backdated with the SET kept: the SET, which signs the real time, no longer verifies.
    let (code, codes, _) = verify("set-kept.json", Some("keys.json"));
    assert_eq!((code, codes), (1, vec!["tlog-invalid".to_string()]));
    // And the real bundle with npm's real keys verifies, reporting the SET's time as its source.
    let (code, codes, report) = verify(&original_path, None);
    assert_eq!((code, codes), (0, Vec::<String>::new()));
    let publish = &report["attestation"]["publish"];
    assert_eq!(publish["log_integrated_time"], "2024-06-03T22:18:01Z");
    assert_eq!(
        publish["verified_times"],
        serde_json::json!([{"time": "2024-06-03T22:18:01Z", "source": "signed-entry-timestamp"}])
    );
}
