//! Bad input never panics: every case here ends with a one-line error and exit code 2, or with a
//! verdict that says what is wrong, and never with a crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Run, Scenario, widget_files};

fn assert_one_line_error(run: &Run, mentions: &[&str]) {
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
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
