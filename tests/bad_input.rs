//! Bad input never panics: every case here ends with a one-line error and exit code 2, or with a
//! verdict that says what is wrong, and never with a crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Run, Scenario, assert_matches_schema, widget_files};

fn assert_one_line_error(run: &Run, mentions: &[&str]) {
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "without --json nothing goes to stdout: {}", run.stdout);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line expected:\n{}", run.stderr);
    assert!(run.stderr.starts_with("provdiff: error: "), "{}", run.stderr);
    for mention in mentions {
        assert!(run.stderr.contains(mention), "{mention:?} not in {}", run.stderr);
    }
}

/// Writes a gzipped tar whose single entry has the given raw name.
fn tarball_with_entry(name: &str) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    header[100..108].copy_from_slice(b"000644 \0");
    header[124..136].copy_from_slice(b"00000000001 ");
    header[136..148].copy_from_slice(b"00000000000 ");
    header[156] = b'0';
    header[257..265].copy_from_slice(b"ustar\x0000");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut tar = header.to_vec();
    tar.extend_from_slice(&[b'x'; 1]);
    tar.resize(1024, 0);
    tar.extend_from_slice(&[0u8; 1024]);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, &tar).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn a_truncated_tarball_is_an_error_naming_it() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    let bytes = fs_err::read(scenario.path("package.tgz")).unwrap();
    fs_err::write(scenario.path("package.tgz"), &bytes[..bytes.len() / 2]).unwrap();
    assert_one_line_error(&scenario.check(&[]), &["package.tgz", "truncated"]);
}

#[test]
fn unsafe_entry_paths_are_errors() {
    for (name, reason) in [("package/../../evil.js", "`..` component"), ("/etc/evil.js", "absolute path")] {
        let scenario = Scenario::new(&widget_files(), |_| {});
        fs_err::write(scenario.path("package.tgz"), tarball_with_entry(name)).unwrap();
        assert_one_line_error(&scenario.check(&[]), &["package.tgz", reason]);
    }
}

#[test]
fn a_non_json_attestations_file_is_an_error_naming_it() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    fs_err::write(scenario.path("attestations.json"), "<html>not found</html>").unwrap();
    assert_one_line_error(&scenario.check(&[]), &["attestations.json", "not JSON"]);
}

#[test]
fn an_attestations_file_of_another_shape_is_an_error() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    fs_err::write(scenario.path("attestations.json"), r#"{"hello": "world"}"#).unwrap();
    assert_one_line_error(&scenario.check(&[]), &["attestations.json", "neither"]);
}

#[test]
fn a_bundle_with_the_wrong_media_type_is_unverified() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    let path = scenario.path("attestations.json");
    let mut response: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(&path).unwrap()).unwrap();
    response["attestations"][0]["bundle"]["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=9.9".into();
    fs_err::write(&path, response.to_string()).unwrap();
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.json()["verdict"], "unverified");
    let codes = run.codes();
    assert!(codes.contains(&"bundle-malformed".to_string()), "{codes:?}");
}

#[test]
fn missing_files_and_non_repositories_are_errors_naming_them() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    let run = support::provdiff(
        &["check", "--tarball", "nope.tgz", "--attestations", "attestations.json", "--repo", "repo.git"],
        scenario.dir.path(),
    );
    assert_one_line_error(&run, &["nope.tgz"]);

    fs_err::create_dir(scenario.path("empty")).unwrap();
    let run = scenario.check_replacing(&[("--repo", "empty")], &[]);
    assert_one_line_error(&run, &["empty", "not a git repository"]);
}

#[test]
fn a_tarball_without_package_json_is_an_error() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    fs_err::write(scenario.path("package.tgz"), tarball_with_entry("package/index.js")).unwrap();
    assert_one_line_error(&scenario.check(&[]), &["package.tgz", "package.json"]);
}

#[test]
fn garbage_in_every_input_never_panics() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    let garbage: [&[u8]; 5] =
        [b"", b"\x1f\x8b", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff\x03\x00", b"{}", &[0xff; 300]];
    for bytes in garbage {
        fs_err::write(scenario.path("junk"), bytes).unwrap();
        for flag in ["--tarball", "--attestations", "--repo", "--trusted-root", "--npm-keys"] {
            let run = scenario.check_replacing(&[(flag, "junk")], &[]);
            assert!(!run.stderr.contains("panicked"), "{flag} {bytes:?}: {}", run.stderr);
            // Garbage is an operational error, never a verdict; and the error names the input.
            assert_one_line_error(&run, &[]);
        }
    }
}

/// With `--json`, an error is also a JSON document on stdout: its stable code, the file or
/// argument it concerns, and the same one-line message as stderr; the exit code stays 2.
fn assert_error_document(run: &Run, code: &str, file: Option<&str>, field: Option<&str>) {
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "one line expected:\n{}", run.stderr);
    assert_matches_schema(run, "error.schema.json");
    let document = run.json();
    let error = &document["error"];
    assert_eq!(error["code"], code, "{document:#}");
    assert_eq!(error["file"].as_str(), file, "{document:#}");
    assert_eq!(error["field"].as_str(), field, "{document:#}");
    assert_eq!(format!("provdiff: error: {}", error["message"].as_str().unwrap()), run.stderr.trim_end());
}

#[test]
fn errors_are_json_documents_with_json() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    let dir = scenario.dir.path();
    fs_err::write(scenario.path("notjson.json"), "<html>not found</html>").unwrap();
    fs_err::write(scenario.path("bad.pem"), "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n").unwrap();
    let trust = ["--trusted-root", "trusted_root.json", "--npm-keys", "npm_keys.json"];
    let verify = |args: &[&str]| {
        let mut all = vec!["verify", "--json"];
        all.extend_from_slice(args);
        all.extend_from_slice(&trust);
        support::provdiff(&all, dir)
    };
    let tarball = ["--tarball", "package.tgz"];
    let digest = format!("sha512:{}", scenario.tarball_sha512().to_hex());

    let run = verify(&[&["--attestations", "notjson.json"][..], &tarball].concat());
    assert_error_document(&run, "attestations-invalid", Some("notjson.json"), None);
    assert!(run.stderr.contains("not JSON"), "{}", run.stderr);
    let run = verify(&[&["--attestations", "missing.json"][..], &tarball].concat());
    assert_error_document(&run, "input-unreadable", Some("missing.json"), None);
    let run = verify(&["--attestations", "attestations.json", "--digest", "sha512:zz", "--package", "widget@1.2.3"]);
    assert_error_document(&run, "digest-invalid", None, Some("--digest"));
    let run = verify(&["--attestations", "attestations.json", "--digest", &digest]);
    assert_error_document(&run, "usage", None, Some("--package"));
    // And the help says so, rather than promising a default taken from the attestations.
    let help = support::provdiff(&["verify", "--help"], dir);
    assert!(
        help.stdout.split_whitespace().collect::<Vec<_>>().join(" ").contains("Required with --digest"),
        "{}",
        help.stdout
    );
    assert!(!help.stdout.contains("own subject"), "{}", help.stdout);
    let run = verify(&["--attestations", "attestations.json", "--digest", &digest, "--package", "widget"]);
    assert_error_document(&run, "package-spec-invalid", None, Some("--package"));
    let run = support::provdiff(
        &[
            "verify",
            "--json",
            "--attestations",
            "attestations.json",
            "--tarball",
            "package.tgz",
            "--npm-keys",
            "notjson.json",
        ],
        dir,
    );
    assert_error_document(&run, "trust-invalid", Some("notjson.json"), None);
    // Arguments clap refuses are `usage` too.
    let run = support::provdiff(&["verify", "--json", "--tarball", "package.tgz"], dir);
    assert_eq!(run.code, 2);
    assert_eq!(run.json()["error"]["code"], "usage", "{}", run.stdout);
    assert!(run.json()["error"]["message"].as_str().unwrap().contains("--attestations"), "{}", run.stdout);
    assert_matches_schema(&run, "error.schema.json");

    let bundle = |args: &[&str]| {
        let mut all =
            vec!["verify-bundle", "--json", "--bundle", "attestations.json", "--trusted-root", "trusted_root.json"];
        all.extend_from_slice(args);
        support::provdiff(&all, dir)
    };
    assert_error_document(&bundle(&["--key", "bad.pem", "package.tgz"]), "key-invalid", Some("bad.pem"), None);
    assert_error_document(&bundle(&["--key", "none.pem", "package.tgz"]), "input-unreadable", Some("none.pem"), None);
    let run = bundle(&["--certificate-identity", "i", "--certificate-oidc-issuer", "u", "sha256:xyz"]);
    assert_error_document(&run, "digest-invalid", None, Some("FILE_OR_DIGEST"));

    let run = scenario.check_replacing(&[("--attestations", "notjson.json")], &["--json"]);
    assert_error_document(&run, "attestations-invalid", Some("notjson.json"), None);
    fs_err::write(scenario.path("trunc.tgz"), &fs_err::read(scenario.path("package.tgz")).unwrap()[..40]).unwrap();
    let run = scenario.check_replacing(&[("--tarball", "trunc.tgz")], &["--json"]);
    assert_error_document(&run, "tarball-invalid", Some("trunc.tgz"), None);
    let run = scenario.check_replacing(&[("--trusted-root", "notjson.json")], &["--json"]);
    assert_error_document(&run, "trust-invalid", Some("notjson.json"), None);
    fs_err::create_dir(scenario.path("empty")).unwrap();
    let run = scenario.check_replacing(&[("--repo", "empty")], &["--json"]);
    assert_error_document(&run, "git", None, None);
    let run = scenario.check(&["--json", "--markdown", "-"]);
    assert_error_document(&run, "usage", None, Some("--markdown"));
    let run = scenario.check(&["--json", "--html", "missing-dir/report.html"]);
    assert_error_document(&run, "output", Some("missing-dir/report.html"), None);
}
