//! Source trees built to trip a packer up: symlink loops, links pointing outside the tree, names
//! that are not UTF-8, and a 100,000-file tree. `provdiff pack` must finish with a clear finding
//! or error, never escape the tree, hang or crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn package(dir: &Path, manifest: &str) {
    fs_err::create_dir_all(dir).unwrap();
    fs_err::write(dir.join("package.json"), manifest).unwrap();
}

#[test]
fn links_are_reported_and_never_followed() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("pkg");
    package(&dir, r#"{"name":"x","version":"1.0.0","main":"out.js"}"#);
    fs_err::write(dir.join("index.js"), "x").unwrap();
    fs_err::create_dir(dir.join("lib")).unwrap();
    // A loop of links, a link to the package itself, and links leaving the tree.
    std::os::unix::fs::symlink("b", dir.join("a")).unwrap();
    std::os::unix::fs::symlink("a", dir.join("b")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("lib/up")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("out.js")).unwrap();
    std::os::unix::fs::symlink("/", dir.join("root")).unwrap();

    let run = support::provdiff(&["pack", "pkg", "--json"], work.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let files: Vec<&str> = report["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(files, ["index.js", "package.json"]);
    let skipped: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "symlink-skipped")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, ["a", "b", "lib/up", "out.js", "root"]);
}

#[test]
fn names_that_are_not_utf8_are_reported() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("pkg");
    package(&dir, r#"{"name":"x","version":"1.0.0"}"#);
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.js");
    fs_err::write(dir.join(name), "x").unwrap();

    let run = support::provdiff(&["pack", "pkg", "--json"], work.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let files: Vec<&str> = report["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(files, ["package.json"]);
    let finding = report["findings"].as_array().unwrap().iter().find(|f| f["code"] == "unreadable-path").unwrap();
    assert!(finding["path"].as_str().unwrap().starts_with("caf"), "{finding}");
}

#[test]
fn a_tree_of_a_hundred_thousand_files_packs() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("pkg");
    package(&dir, r#"{"name":"big","version":"1.0.0","files":["lib","!lib/d7"]}"#);
    fs_err::write(dir.join(".npmignore"), "*.map\n").unwrap();
    for d in 0..100 {
        for s in 0..10 {
            let sub = dir.join(format!("lib/d{d}/s{s}"));
            fs_err::create_dir_all(&sub).unwrap();
            for f in 0..100 {
                fs_err::write(sub.join(format!("f{f}.js")), "").unwrap();
            }
        }
    }
    let run = support::provdiff(&["pack", "pkg", "--list"], work.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    // 99 directories of 1,000 files (d7 excluded), and package.json.
    assert_eq!(run.stdout.lines().count(), 99_001);
    assert!(!run.stdout.lines().any(|line| line.starts_with("lib/d7/")));
}
