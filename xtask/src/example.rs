//! `cargo xtask example`: regenerate the offline example in `examples/hello`.
//!
//! A small package is committed to a fresh git repository (saved as a `git bundle`), packed with
//! the real `npm pack`, and its provenance and publish attestations are signed by the testkit's
//! throwaway Sigstore instance, whose trusted root and registry key are saved beside them with
//! names that say they are for the example only. Nothing here is trusted by default: provdiff
//! verifies the example only when pointed at those files.

use std::path::Path;

use anyhow::{Context, Result};
use provdiff_core::Sha512;
use provdiff_testkit::{NPM_PUBLISH, ProvenanceSpec, RepoFile, SLSA_V1, SigstoreInstance, TestRepo, write_bundle};

use crate::process::run;

const NAME: &str = "provdiff-hello";
const VERSION: &str = "1.0.0";
pub const REPOSITORY: &str = "https://github.com/provdiff-example/hello";

/// The example package's source files.
pub fn source_files() -> Vec<RepoFile> {
    vec![
        RepoFile::new(
            "package.json",
            format!(
                "{{\n  \"name\": \"{NAME}\",\n  \"version\": \"{VERSION}\",\n  \"description\": \"A tiny package for trying provdiff offline\",\n  \"main\": \"index.js\",\n  \"bin\": {{\n    \"hello\": \"bin/hello.js\"\n  }},\n  \"files\": [\n    \"index.js\",\n    \"bin\",\n    \"lib\"\n  ],\n  \"repository\": {{\n    \"type\": \"git\",\n    \"url\": \"git+{REPOSITORY}.git\"\n  }},\n  \"license\": \"MIT\"\n}}\n"
            ),
        ),
        RepoFile::new("index.js", "module.exports = require('./lib/greet');\n"),
        RepoFile::new("lib/greet.js", "module.exports = (name = 'world') => `hello, ${name}`;\n"),
        RepoFile::new("bin/hello.js", "#!/usr/bin/env node\nconsole.log(require('..')(process.argv[2]));\n"),
        RepoFile::new("README.md", "# provdiff-hello\n\nSays hello.\n"),
        RepoFile::new("LICENSE", "MIT License\n\nCopyright (c) provdiff example\n"),
        RepoFile::new("test/greet.test.js", "require('assert').equal(require('..')('x'), 'hello, x');\n"),
        RepoFile::new(
            ".github/workflows/publish.yml",
            "on: release\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    permissions:\n      id-token: write\n    steps:\n      - uses: actions/checkout@v4\n      - run: npm publish --provenance\n",
        ),
    ]
}

pub fn generate(root: &Path) -> Result<()> {
    let out = root.join("examples/hello");
    fs_err::create_dir_all(&out)?;
    let scratch = tempfile::tempdir()?;

    // The source, committed.
    let repo = TestRepo::init_bare(&scratch.path().join("repo.git"));
    let commit = repo.commit(&source_files(), "provdiff-hello 1.0.0");
    write_bundle(repo.repository(), &out.join("repo.bundle"));

    // The tarball, packed by the real npm from a plain checkout of that commit.
    let work = scratch.path().join("work");
    for file in source_files() {
        let path = work.join(&file.path);
        fs_err::create_dir_all(path.parent().context("a file has a directory")?)?;
        fs_err::write(&path, &file.content)?;
    }
    let packed = run(std::process::Command::new("npm")
        .args(["pack", "--ignore-scripts", "--json", "--pack-destination"])
        .arg(scratch.path())
        .current_dir(&work))?;
    let packed: serde_json::Value = serde_json::from_str(&packed)?;
    let filename = packed[0]["filename"].as_str().context("npm pack printed no file name")?;
    let tarball = fs_err::read(scratch.path().join(filename))?;
    let tarball_name = format!("{NAME}-{VERSION}.tgz");
    fs_err::write(out.join(&tarball_name), &tarball)?;
    let sha512 = Sha512::digest(&tarball);

    // Its attestations, signed by a throwaway instance whose trust material is saved beside them.
    let instance = SigstoreInstance::new();
    let spec = ProvenanceSpec::new(NAME, VERSION, sha512, REPOSITORY, &commit);
    let provenance = instance.sign_provenance(&spec);
    let publish = instance.sign_publish(NAME, VERSION, &sha512, spec.signed_at + std::time::Duration::from_secs(5));
    let response = SigstoreInstance::attestations_response(&[(NPM_PUBLISH, &publish), (SLSA_V1, &provenance)]);
    fs_err::write(out.join("attestations.json"), format!("{response}\n"))?;
    fs_err::write(out.join("EXAMPLE-ONLY-trusted-root.json"), format!("{}\n", instance.trusted_root_json()))?;
    fs_err::write(out.join("EXAMPLE-ONLY-npm-keys.json"), format!("{}\n", instance.npm_keys_json()))?;
    eprintln!("wrote examples/hello: {tarball_name} (sha512 {}), commit {commit}", &sha512.to_hex()[..16]);
    Ok(())
}
