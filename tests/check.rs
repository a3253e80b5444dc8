//! `provdiff check` end to end: the real binary on repositories, tarballs and attestations made
//! in the test, signed by the testkit's throwaway Sigstore instance.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::{Scenario, replace, widget_files};

#[test]
fn a_matching_package_is_identical() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "identical");
    assert_eq!(report["package"]["name"], "widget");
    assert_eq!(report["package"]["version"], "1.2.3");
    assert_eq!(report["source"]["repository"], support::REPOSITORY);
    assert_eq!(report["source"]["commit"], scenario.commit.as_str());
    assert_eq!(report["source"]["package_dir"], "");
    assert_eq!(report["comparison"]["agreement"], "compressed");
    assert_eq!(report["comparison"]["gzip_engine"]["hash"], "chromium");
    assert_eq!(report["comparison"]["gzip_engine"]["level"], 9);
    assert!(report["attestation"]["publish"].is_object(), "the publish attestation verified too");

    let human = scenario.check(&[]);
    assert_eq!(human.code, 0);
    assert!(human.stdout.starts_with("widget@1.2.3: identical ("), "{}", human.stdout);
    assert!(human.stdout.contains("gzip stream reproduced by Node.js (Chromium zlib) level 9"), "{}", human.stdout);
}

/// Replaces the scenario's tarball with its tar stream compressed by `compress`, and re-signs.
fn recompress(scenario: &Scenario, compress: impl FnOnce(&[u8]) -> Vec<u8>) {
    let published = provdiff_npm::read_tarball(fs_err::read(scenario.path("package.tgz")).unwrap()).unwrap();
    fs_err::write(scenario.path("package.tgz"), compress(&published.tar)).unwrap();
    scenario.sign(|_| {});
}

#[test]
fn a_package_compressed_by_an_older_zlib_is_identical_naming_it() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    let old_npm = provdiff_npm::GzipOptions { level: 6, hash: provdiff_npm::DeflateHash::Stock, os: 3 };
    recompress(&scenario, |tar| provdiff_npm::gzip_with(tar, old_npm));
    let report = scenario.check(&["--json"]).json();
    assert_eq!(report["verdict"], "identical");
    assert_eq!(report["comparison"]["agreement"], "compressed");
    assert_eq!(report["comparison"]["gzip_engine"]["hash"], "stock");
    assert_eq!(report["comparison"]["gzip_engine"]["level"], 6);
    assert_eq!(report["comparison"]["gzip_engine"]["description"], "stock zlib level 6");
}

#[test]
fn a_package_compressed_by_an_unknown_deflate_is_equivalent() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    // miniz_oxide's deflate: valid gzip that no zlib build writes.
    recompress(&scenario, |tar| {
        use std::io::Write;
        let mut encoder =
            flate2::GzBuilder::new().operating_system(0xff).write(Vec::new(), flate2::Compression::best());
        encoder.write_all(tar).unwrap();
        encoder.finish().unwrap()
    });
    let report = scenario.check(&["--json"]).json();
    assert_eq!(report["verdict"], "equivalent");
    assert_eq!(report["comparison"]["agreement"], "tar");
    assert!(report["comparison"]["gzip_engine"].is_null());
}

#[test]
fn a_one_byte_change_is_a_mismatch_naming_the_file_with_a_diff() {
    let scenario = Scenario::new(&widget_files(), |files| {
        replace(files, "lib/util.js", |content| {
            let at = content.iter().position(|&b| b == b'2').unwrap();
            content[at] = b'3';
        })
    });
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "mismatch");
    let finding = report["findings"].as_array().unwrap().iter().find(|f| f["code"] == "content-differs").unwrap();
    assert_eq!(finding["path"], "lib/util.js");
    let diff = finding["diff"].as_str().unwrap();
    assert!(
        diff.contains("-exports.double = (x) => x * 2;") && diff.contains("+exports.double = (x) => x * 3;"),
        "{diff}"
    );

    let human = scenario.check(&[]);
    assert!(human.stdout.contains("content-differs") && human.stdout.contains("lib/util.js"), "{}", human.stdout);
}

#[test]
fn an_added_postinstall_script_is_a_mismatch() {
    let scenario = Scenario::new(&widget_files(), |files| {
        replace(files, "package.json", |content| {
            let text = String::from_utf8(content.clone()).unwrap();
            *content = text
                .replace(
                    "\"test\": \"node test.js\"",
                    "\"test\": \"node test.js\",\n    \"postinstall\": \"node -e 'steal()'\"",
                )
                .into_bytes();
        })
    });
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "mismatch");
    let finding =
        report["findings"].as_array().unwrap().iter().find(|f| f["code"] == "package-json-field-differs").unwrap();
    assert_eq!(finding["path"], "package.json");
    let detail = finding["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("scripts.postinstall: \"node -e 'steal()'\" in the package, not in the source"),
        "{detail}"
    );
    assert!(detail.contains("`postinstall` is an install hook"), "{detail}");
    assert!(finding["diff"].as_str().unwrap().contains("postinstall"));
    assert_eq!(run.codes(), ["package-json-field-differs"], "nothing else differs");
}

/// A pnpm monorepo: the widget depends on a workspace package and a catalog entry, and has no
/// licence of its own.
fn pnpm_monorepo() -> Vec<provdiff_testkit::RepoFile> {
    use provdiff_testkit::RepoFile;
    vec![
        RepoFile::new(
            "package.json",
            "{\n  \"name\": \"monorepo\",\n  \"private\": true,\n  \"packageManager\": \"pnpm@10.34.9\"\n}\n",
        ),
        RepoFile::new("pnpm-workspace.yaml", "packages:\n  - packages/*\ncatalog:\n  lodash: ^4.17.21\n"),
        RepoFile::new("pnpm-lock.yaml", "lockfileVersion: '9.0'\n"),
        RepoFile::new("LICENSE", "MIT License\n"),
        RepoFile::new(
            "packages/widget/package.json",
            "{\n    \"name\": \"widget\",\n    \"version\": \"1.2.3\",\n    \"main\": \"index.js\",\n    \"scripts\": {\"test\": \"node test.js\", \"prepublishOnly\": \"node check.js\"},\n    \"dependencies\": {\"helper\": \"workspace:^\", \"lodash\": \"catalog:\"},\n    \"packageManager\": \"pnpm@10.34.9\",\n    \"license\": \"MIT\"\n}\n",
        ),
        RepoFile::new("packages/widget/index.js", "module.exports = require('helper');\n"),
        RepoFile::new("packages/helper/package.json", "{\"name\": \"helper\", \"version\": \"0.4.0\"}\n"),
        RepoFile::new("packages/helper/index.js", "module.exports = 42;\n"),
    ]
}

/// What `pnpm pack` (10.34.9) writes for the widget, byte for byte: the catalog entry comes first
/// because pnpm's asynchronous workspace resolution finishes later.
const PNPM_WIDGET_MANIFEST: &str = "{\n  \"name\": \"widget\",\n  \"version\": \"1.2.3\",\n  \"main\": \"index.js\",\n  \"dependencies\": {\n    \"lodash\": \"^4.17.21\",\n    \"helper\": \"^0.4.0\"\n  },\n  \"license\": \"MIT\",\n  \"scripts\": {\n    \"test\": \"node test.js\"\n  }\n}";

fn pnpm_packed(files: &mut Vec<provdiff_npm::PackedFile>, manifest: &str) {
    replace(files, "package.json", |content| *content = manifest.as_bytes().to_vec());
    files.push(provdiff_npm::PackedFile { path: "LICENSE".into(), mode: 0o644, content: b"MIT License\n".to_vec() });
}

#[test]
fn a_package_json_rewritten_by_pnpm_is_explained() {
    let scenario =
        Scenario::new_in(&pnpm_monorepo(), "packages/widget", |files| pnpm_packed(files, PNPM_WIDGET_MANIFEST));
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "explained");
    assert_eq!(report["source"]["package_dir"], "packages/widget");
    let comparison = &report["comparison"];
    assert!(comparison["agreement"].is_null(), "the files differ, so the archives cannot agree");
    assert_eq!(comparison["entries_explained"], true);
    assert_eq!(comparison["explained_files"], 2);
    assert_eq!(comparison["publish_tool"], "pnpm");
    assert_eq!(comparison["publish_tool_found_by"], "packageManager \"pnpm@10.34.9\" in packages/widget");
    let details: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "explained")
        .map(|f| format!("{} {}", f["code"].as_str().unwrap(), f["detail"].as_str().unwrap()))
        .collect();
    for expected in [
        "publish-rewrite dependencies.helper: \"workspace:^\" → \"^0.4.0\"",
        "publish-rewrite dependencies.lodash: \"catalog:\" → \"^4.17.21\"",
        "publish-rewrite scripts.prepublishOnly: \"node check.js\" dropped",
        "publish-rewrite packageManager: \"pnpm@10.34.9\" dropped",
        "publish-reformatted written anew by pnpm",
        "publish-added-file the bytes of LICENSE (12 bytes)",
    ] {
        assert!(details.iter().any(|detail| detail.starts_with(expected)), "{expected:?} not in {details:#?}");
    }
    assert_eq!(details.len(), 6, "{details:#?}");

    let human = scenario.check(&[]);
    assert_eq!(human.code, 0);
    assert!(human.stdout.starts_with("widget@1.2.3: explained ("), "{}", human.stdout);
    assert!(human.stdout.contains("packed by pnpm (packageManager"), "{}", human.stdout);
}

#[test]
fn a_postinstall_added_to_a_pnpm_rewrite_is_a_mismatch() {
    let tampered = PNPM_WIDGET_MANIFEST
        .replace("\"test\": \"node test.js\"", "\"test\": \"node test.js\",\n    \"postinstall\": \"node steal.js\"");
    let scenario = Scenario::new_in(&pnpm_monorepo(), "packages/widget", |files| pnpm_packed(files, &tampered));
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "mismatch");
    assert_eq!(report["comparison"]["entries_explained"], false);
    let mismatches: Vec<&serde_json::Value> =
        report["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == "mismatch").collect();
    assert_eq!(mismatches.len(), 1, "{mismatches:#?}");
    assert_eq!(mismatches[0]["code"], "package-json-field-differs");
    assert!(
        mismatches[0]["detail"].as_str().unwrap().starts_with("scripts.postinstall: \"node steal.js\" in the package"),
        "{}",
        mismatches[0]["detail"]
    );
    // The rewrites pnpm did make are still listed.
    assert!(run.codes().contains(&"publish-rewrite".to_string()));
}

#[test]
fn a_pnpm_rewrite_in_an_npm_repository_is_a_mismatch() {
    // Without pnpm's marks in the commit, nothing explains a rewritten package.json.
    let files: Vec<_> = pnpm_monorepo()
        .into_iter()
        .filter(|file| !file.path.starts_with("pnpm-") && file.path != "package.json")
        .map(|mut file| {
            if file.path == "packages/widget/package.json" {
                file.content =
                    String::from_utf8(file.content).unwrap().replace("pnpm@10.34.9", "npm@11.0.0").into_bytes();
            }
            file
        })
        .collect();
    let manifest = PNPM_WIDGET_MANIFEST.to_string();
    let scenario = Scenario::new_in(&files, "packages/widget", |packed| pnpm_packed(packed, &manifest));
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.json()["comparison"]["publish_tool"], "npm");
    let codes = run.codes();
    assert_eq!(codes.iter().filter(|code| *code == "package-json-field-differs").count(), 4, "{codes:?}");
    // The widget's prepublishOnly step could have written a LICENSE, but nothing at the package's
    // directory is one to build or copy it from: unexplained, not a build output.
    assert!(codes.contains(&"only-in-package".to_string()), "{codes:?}");
    assert!(!codes.contains(&"build-output".to_string()), "{codes:?}");
    assert!(!codes.iter().any(|code| code.starts_with("publish-")), "{codes:?}");
}

#[test]
fn a_file_the_source_cannot_produce_is_a_mismatch() {
    let scenario = Scenario::new(&widget_files(), |files| {
        files.push(provdiff_npm::PackedFile { path: "lib/extra.js".into(), mode: 0o644, content: b"steal()".to_vec() })
    });
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 1);
    assert!(run.codes().contains(&"only-in-package".to_string()), "{:?}", run.codes());
}

/// The exit code and stderr of `provdiff ARGS` in `dir` when stdout is closed before it writes.
fn with_stdout_closed(args: &[&str], dir: &std::path::Path) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_provdiff"))
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_reader_that_stops_reading_does_not_turn_a_mismatch_into_success() {
    // `provdiff check … | head` in a pipeline: stdout is closed before provdiff writes.
    let scenario = Scenario::new(&widget_files(), |files| {
        files.push(provdiff_npm::PackedFile { path: "lib/extra.js".into(), mode: 0o644, content: b"steal()".to_vec() })
    });
    let trust = ["--trusted-root", "trusted_root.json", "--npm-keys", "npm_keys.json"];
    for extra in [&[][..], &["--json"][..]] {
        let check = ["check", "--tarball", "package.tgz", "--attestations", "attestations.json", "--repo", "repo.git"];
        let args: Vec<&str> = check.iter().chain(&trust).chain(extra).copied().collect();
        let (code, stderr) = with_stdout_closed(&args, &scenario.path(""));
        assert_eq!(code, Some(1), "{extra:?}: {stderr}");
        assert!(stderr.is_empty(), "{stderr}");
    }
    // The same for `verify`: attestations that do not cover the digest given stay unverified.
    let zeros = format!("sha512:{}", "0".repeat(128));
    for extra in [&[][..], &["--json"][..]] {
        let verify = ["verify", "--attestations", "attestations.json", "--digest", &zeros, "--package", "widget@1.2.3"];
        let args: Vec<&str> = verify.iter().chain(&trust).chain(extra).copied().collect();
        let (code, stderr) = with_stdout_closed(&args, &scenario.path(""));
        assert_eq!(code, Some(1), "{extra:?}: {stderr}");
    }
}

#[test]
fn a_commit_missing_from_the_repository_is_an_operational_error() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    let absent = "0123456789abcdef0123456789abcdef01234567";
    scenario.sign(|spec| spec.commit = absent.to_string());
    let run = scenario.check(&[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty());
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("commit {absent} is not in repo.git")), "{}", run.stderr);
}

#[test]
fn a_tampered_signature_is_unverified() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    let path = scenario.path("attestations.json");
    let mut response: serde_json::Value = serde_json::from_str(&fs_err::read_to_string(&path).unwrap()).unwrap();
    let signature = &mut response["attestations"][0]["bundle"]["dsseEnvelope"]["signatures"][0]["sig"];
    let mut text = signature.as_str().unwrap().to_string();
    // Flip one base64 digit in the middle of the signature.
    let middle = text.len() / 2;
    let flipped = if &text[middle..=middle] == "A" { "B" } else { "A" };
    text.replace_range(middle..=middle, flipped);
    *signature = serde_json::Value::String(text);
    fs_err::write(&path, response.to_string()).unwrap();

    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "unverified");
    assert!(report["comparison"].is_null(), "no comparison without verified provenance");
    assert!(run.codes().contains(&"signature-invalid".to_string()), "{:?}", run.codes());
}

#[test]
fn a_provenance_for_another_tarball_is_unverified() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    scenario.sign(|spec| spec.tarball_sha512 = provdiff_core::Sha512::digest(b"another tarball"));
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["verdict"], "unverified");
    assert!(run.codes().contains(&"subject-digest-mismatch".to_string()), "{:?}", run.codes());
}

#[test]
fn a_certificate_for_another_repository_is_unverified() {
    let scenario = Scenario::new(&widget_files(), |_| {});
    scenario.sign(|spec| spec.certificate_repository = Some("https://github.com/attacker/other".into()));
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 1);
    assert!(run.codes().contains(&"claims-disagree".to_string()), "{:?}", run.codes());
}

#[test]
fn build_outputs_without_their_build_are_inconclusive() {
    let mut files = widget_files();
    files[0] = provdiff_testkit::RepoFile::new(
        "package.json",
        "{\"name\":\"widget\",\"version\":\"1.2.3\",\"main\":\"dist/index.js\",\"scripts\":{\"prepare\":\"tsc\"}}\n",
    );
    files.push(provdiff_testkit::RepoFile::new("src/index.ts", "export const x = 1;\n"));
    let scenario = Scenario::new(&files, |packed| {
        packed.push(provdiff_npm::PackedFile {
            path: "dist/index.js".into(),
            mode: 0o644,
            content: b"exports.x = 1;\n".to_vec(),
        })
    });
    let run = scenario.check(&["--json"]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    let report = run.json();
    assert_eq!(report["verdict"], "inconclusive");
    let finding = report["findings"].as_array().unwrap().iter().find(|f| f["code"] == "build-output").unwrap();
    assert_eq!(finding["path"], "dist/index.js");
    assert!(finding["detail"].as_str().unwrap().contains("built from src/index.ts"), "{}", finding["detail"]);
    // The verdict says exactly which files a rebuild has to prove.
    assert_eq!(report["comparison"]["rebuild_needed"], serde_json::json!(["dist/index.js"]));
}

#[test]
fn a_package_in_a_monorepo_is_found_by_name() {
    let mut files: Vec<_> = widget_files()
        .into_iter()
        .map(|mut file| {
            file.path = format!("packages/widget/{}", file.path);
            file
        })
        .collect();
    files.push(provdiff_testkit::RepoFile::new("package.json", "{\"name\":\"monorepo\",\"private\":true}\n"));
    files.push(provdiff_testkit::RepoFile::new("packages/other/package.json", "{\"name\":\"other\"}\n"));
    // Commit the whole monorepo, but pack only the widget's directory as its publisher would.
    let dir = tempfile::tempdir().unwrap();
    let repo = provdiff_testkit::TestRepo::init_bare(&dir.path().join("repo.git"));
    let commit = repo.commit(&files, "monorepo");
    let repository = provdiff_git::Repository::open(&dir.path().join("repo.git")).unwrap();
    let tree = repository.commit(&commit).unwrap();
    let packed =
        provdiff_npm::pack(&tree.subtree("packages/widget").unwrap(), provdiff_npm::NpmRules::LATEST, None).unwrap();
    fs_err::write(dir.path().join("package.tgz"), &packed.tgz).unwrap();
    let instance = provdiff_testkit::SigstoreInstance::new();
    let sha512 = provdiff_core::Sha512::digest(&packed.tgz);
    let spec = provdiff_testkit::ProvenanceSpec::new("widget", "1.2.3", sha512, support::REPOSITORY, &commit);
    let response = provdiff_testkit::SigstoreInstance::attestations_response(&[(
        provdiff_testkit::SLSA_V1,
        &instance.sign_provenance(&spec),
    )]);
    fs_err::write(dir.path().join("attestations.json"), response).unwrap();
    fs_err::write(dir.path().join("root.json"), instance.trusted_root_json()).unwrap();
    let run = support::provdiff(
        &[
            "check",
            "--tarball",
            "package.tgz",
            "--attestations",
            "attestations.json",
            "--repo",
            "repo.git",
            "--trusted-root",
            "root.json",
            "--json",
        ],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report = run.json();
    assert_eq!(report["verdict"], "identical");
    assert_eq!(report["source"]["package_dir"], "packages/widget");
    assert_eq!(report["source"]["package_dir_found_by"], "package.json name");
    assert!(run.codes().contains(&"publish-not-checked".to_string()));
}

#[test]
fn diff_of_two_directories_classifies_each_file() {
    let dir = tempfile::tempdir().unwrap();
    let write = |side: &str, path: &str, content: &[u8]| {
        let path = dir.path().join(side).join(path);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, content).unwrap();
    };
    let manifest = "{\"name\":\"widget\",\"version\":\"1.2.3\",\"main\":\"dist/index.js\",\
                    \"scripts\":{\"prepare\":\"tsc\"}}\n";
    let util: String = (0..40).map(|i| format!("exports.f{i} = (x) => x + {i};\n")).collect();
    for side in ["package", "source"] {
        write(side, "package.json", manifest.as_bytes());
        write(side, "src/index.ts", b"export const x = 1;\n");
        write(side, "README.md", b"# widget\n");
    }
    write("source", "lib/util.js", util.as_bytes());
    write("package", "lib/util.js", util.replace('\n', "\r\n").as_bytes());
    write("package", "README.md", b"# widget");
    write("package", "dist/index.js", b"exports.x = 1;\n");
    let run = support::provdiff(&["diff", "package", "source", "--json"], dir.path());
    let report = run.json();
    let outcome: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap().to_string(), f["path"].as_str().unwrap_or_default().to_string()))
        .collect();
    assert_eq!(
        outcome,
        [
            ("trailing-newline-differs".to_string(), "README.md".to_string()),
            ("line-endings-differ".into(), "lib/util.js".into()),
            ("build-output".into(), "dist/index.js".into()),
        ],
        "{}",
        run.stdout
    );
    assert_eq!(report["verdict"], "mismatch");
    assert_eq!(run.code, 1);
    assert_eq!(report["rebuild_needed"], serde_json::json!(["dist/index.js"]));

    // Only the build output left: inconclusive, and the report says what a rebuild must prove.
    write("package", "lib/util.js", util.as_bytes());
    write("package", "README.md", b"# widget\n");
    let run = support::provdiff(&["diff", "package", "source", "--json"], dir.path());
    assert_eq!(run.code, 3, "{}", run.stdout);
    let report = run.json();
    assert_eq!(report["verdict"], "inconclusive");
    assert_eq!(report["rebuild_needed"], serde_json::json!(["dist/index.js"]));
}
