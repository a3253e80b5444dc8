//! Published tarballs whose tar stream is read otherwise by npm than by other tar readers: each
//! must be a mismatch that names what it is, or an error, and never a match; and what publishers
//! really write must still read as the plain package (`equivalent`). The cases are in
//! `support/tarballs.rs`; `tar_differential.rs` checks the accepted ones against node-tar itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::tarballs::{Expect, cases, write_source};

#[test]
fn no_hostile_tarball_passes_for_its_source() {
    let work = tempfile::tempdir().unwrap();
    write_source(&work.path().join("source"));
    let mut failures = Vec::new();
    for case in cases() {
        let tgz = work.path().join(format!("{}.tgz", case.name));
        fs_err::write(&tgz, &case.tgz).unwrap();
        let run = support::provdiff(&["diff", tgz.to_str().unwrap(), "source", "--json"], work.path());
        // PROVDIFF_KEEP_TARBALLS=DIR keeps the cases' tarballs there, for looking at them by hand.
        if let Some(keep) = std::env::var_os("PROVDIFF_KEEP_TARBALLS") {
            fs_err::copy(&tgz, std::path::Path::new(&keep).join(format!("{}.tgz", case.name))).unwrap();
        }
        assert!(!run.stderr.contains("panicked"), "{}: {}", case.name, run.stderr);
        let outcome = match case.expect {
            Expect::Error(fragment) => {
                (run.code == 2 && run.stderr.starts_with("provdiff: error: ") && run.stderr.contains(fragment))
                    .then_some(())
                    .ok_or_else(|| format!("expected an error mentioning {fragment:?}"))
            }
            Expect::Clean | Expect::Mismatch(_) if run.code == 2 => Err("unexpected error".to_string()),
            Expect::Clean => {
                let report = run.json();
                (run.code == 0
                    && report["verdict"] == "equivalent"
                    && run.codes().iter().all(|code| !code.starts_with("tar-")))
                .then_some(())
                .ok_or_else(|| "expected `equivalent` without tar findings".to_string())
            }
            Expect::Mismatch(codes) => {
                let found = run.codes();
                let missing: Vec<_> = codes.iter().filter(|code| !found.iter().any(|f| f == code.as_str())).collect();
                (run.code == 1 && run.json()["verdict"] == "mismatch" && missing.is_empty())
                    .then_some(())
                    .ok_or_else(|| format!("expected a mismatch with {missing:?} among its findings"))
            }
        };
        if let Err(why) = outcome {
            failures.push(format!("{}: {why}; exit {}\n{}{}", case.name, run.code, run.stdout, run.stderr));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
