//! `Commit::checkout_to`: the commit's files, modes and links on disk, with a shallow `.git`
//! that the git command line accepts, and refusals for trees that would escape the directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use provdiff_git::{GitError, Repository};
use provdiff_testkit::{RepoFile, TestRepo};

#[test]
fn writes_files_modes_links_and_a_shallow_repository() {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init_bare(&dir.path().join("repo.git"));
    repo.commit(&[RepoFile::new("old.txt", "gone\n")], "first");
    let commit = repo.commit(
        &[
            RepoFile::new("package.json", "{}\n"),
            RepoFile::new("bin/run.sh", "#!/bin/sh\n").executable(),
            RepoFile::new("src/deep/a.ts", "export {};\n"),
            RepoFile::symlink("link", "src/deep/a.ts"),
            RepoFile::symlink("outside", "../../etc/passwd"),
        ],
        "second",
    );
    let repository = Repository::open(&dir.path().join("repo.git")).unwrap();
    let out = dir.path().join("checkout");
    repository.commit(&commit).unwrap().checkout_to(&out).unwrap();

    assert_eq!(fs_err::read_to_string(out.join("package.json")).unwrap(), "{}\n");
    assert_eq!(fs_err::read_to_string(out.join("src/deep/a.ts")).unwrap(), "export {};\n");
    assert!(!out.join("old.txt").exists());
    let mode = |path: &str| fs_err::metadata(out.join(path)).unwrap().permissions().mode() & 0o111;
    assert_ne!(mode("bin/run.sh"), 0, "the executable bit is kept");
    assert_eq!(mode("package.json"), 0);
    assert_eq!(fs_err::read_link(out.join("link")).unwrap().to_str(), Some("src/deep/a.ts"));
    // A link is written as a link, never followed.
    assert_eq!(fs_err::read_link(out.join("outside")).unwrap().to_str(), Some("../../etc/passwd"));

    // Build scripts may ask git about the commit: it must answer, and see a clean tree.
    let git = |args: &[&str]| {
        let output = Command::new("git").args(args).current_dir(&out).output().unwrap();
        assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(git(&["rev-parse", "HEAD"]).trim(), commit);
    assert_eq!(git(&["status", "--porcelain"]), "");
    assert_eq!(git(&["rev-parse", "--is-shallow-repository"]).trim(), "true");
}

#[test]
fn refuses_a_directory_that_is_not_empty_and_escaping_paths() {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init_bare(&dir.path().join("repo.git"));
    let commit = repo.commit(&[RepoFile::new("a.txt", "a\n")], "one");
    let repository = Repository::open(&dir.path().join("repo.git")).unwrap();
    let out = dir.path().join("busy");
    fs_err::create_dir_all(&out).unwrap();
    fs_err::write(out.join("x"), "x").unwrap();
    let error = repository.commit(&commit).unwrap().checkout_to(&out).unwrap_err();
    assert!(matches!(error, GitError::Checkout { .. }), "{error:?}");
    assert!(error.to_string().contains("cannot check out"), "{error}");

    // A tree with a `..` entry: git and libgit2 refuse to build one, so write its bytes.
    let raw = git2::Repository::open(dir.path().join("repo.git")).unwrap();
    let blob = raw.blob(b"owned\n").unwrap();
    let mut inner = raw.treebuilder(None).unwrap();
    inner.insert("x", blob, 0o100644).unwrap();
    let inner = inner.write().unwrap();
    let mut bytes = b"40000 ..\0".to_vec();
    bytes.extend_from_slice(inner.as_bytes());
    let root = raw.odb().unwrap().write(git2::ObjectType::Tree, &bytes).unwrap();
    let tree = raw.find_tree(root).unwrap();
    let signature = git2::Signature::now("t", "t@provdiff.invalid").unwrap();
    let evil = raw.commit(None, &signature, &signature, "evil", &tree, &[]).unwrap().to_string();
    let error = repository.commit(&evil).unwrap().checkout_to(&dir.path().join("evil")).unwrap_err();
    assert!(matches!(error, GitError::UnsafePath { .. }), "{error:?}");
    assert!(!dir.path().join("evil").exists(), "nothing is written for a refused tree");
}
