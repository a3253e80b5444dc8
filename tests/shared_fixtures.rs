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
