//! The reports' presentations, shared by `check` and `diff`: the terminal (`terminal.rs`),
//! GitHub-flavoured Markdown (`markdown.rs`), one self-contained HTML file (`html.rs`) and an
//! unsigned in-toto statement (`attestation.rs`); JSON is the reports' own serde form.
//!
//! Rendering decides nothing: verdicts, findings and file statuses come from the report, and a
//! [`View`] only arranges them. Every presentation is bounded in size, escapes everything that
//! came from outside for its format, and links only to what verified data names.

pub mod attestation;
pub mod html;
pub mod markdown;
pub mod terminal;

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use provdiff_core::{Finding, Severity, Verdict};
use serde::Serialize;

use crate::cli::ReportArgs;
use crate::report::{CheckReport, FileCounts, FileState, FileStatus};

/// Which command a view comes from: the wording of verdicts differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Check,
    Diff,
}

/// One fact of the report's header: a label, a value, and the link it was verified to have.
#[derive(Debug, Clone)]
pub struct Fact {
    pub label: &'static str,
    pub value: String,
    /// An `https:` URL built from verified data only.
    pub link: Option<String>,
    /// Shown in a monospace font (digests, paths, commit ids).
    pub code: bool,
}

impl Fact {
    fn text(label: &'static str, value: impl Into<String>) -> Self {
        Self { label, value: value.into(), link: None, code: false }
    }

    fn code(label: &'static str, value: impl Into<String>) -> Self {
        Self { label, value: value.into(), link: None, code: true }
    }

    fn linked(mut self, link: Option<String>) -> Self {
        self.link = link;
        self
    }
}

/// A titled group of facts.
#[derive(Debug, Clone)]
pub struct Section {
    pub title: &'static str,
    pub facts: Vec<Fact>,
}

/// A report arranged for presentation.
#[derive(Debug)]
pub struct View<'a> {
    pub kind: Kind,
    /// `NAME@VERSION`, or `A vs B`.
    pub title: String,
    pub verdict: Verdict,
    pub sections: Vec<Section>,
    pub files: &'a [FileStatus],
    pub findings: &'a [Finding],
    /// Whether files were compared at all (no comparison: no file list to show).
    pub compared: bool,
    /// What the two columns of a side-by-side diff show: the source (`-` lines), the package
    /// (`+` lines).
    pub sides: [String; 2],
    /// The package was compared with a rebuild of the commit (`check --rebuild` built it).
    pub rebuilt: bool,
}

impl<'a> View<'a> {
    pub fn check(report: &'a CheckReport) -> Self {
        Self {
            kind: Kind::Check,
            title: format!("{}@{}", report.package.name, report.package.version),
            verdict: report.verdict,
            sections: facts::check(report),
            files: &report.files,
            findings: &report.findings,
            compared: report.comparison.is_some(),
            sides: ["source: the attested commit".to_string(), "package: the published tarball".to_string()],
            rebuilt: report.rebuild.as_ref().is_some_and(|rebuild| rebuild.status == "built"),
        }
    }

    pub fn diff(report: &'a crate::diff::DiffReport) -> Self {
        Self {
            kind: Kind::Diff,
            title: format!("{} vs {}", report.a.input, report.b.input),
            verdict: report.verdict,
            sections: facts::diff(report),
            files: &report.files,
            findings: &report.findings,
            compared: true,
            sides: [format!("B: {}", report.b.input), format!("A: {}", report.a.input)],
            rebuilt: false,
        }
    }

    /// One sentence saying what the verdict means here.
    pub fn sentence(&self) -> &'static str {
        match (self.kind, self.verdict) {
            (Kind::Check, Verdict::Identical) if self.rebuilt => {
                "the attested commit, rebuilt in the sandbox, repacks to a byte-identical tarball"
            }
            (Kind::Check, Verdict::Equivalent) if self.rebuilt => {
                "the attested commit, rebuilt in the sandbox, gives the same files, bytes and modes; only the \
                 archive encoding differs"
            }
            (Kind::Check, Verdict::Identical) => "the attested commit repacks to a byte-identical tarball",
            (Kind::Diff, Verdict::Identical) => "the two packages are byte-identical .tgz files",
            (_, Verdict::Equivalent) => "same files, bytes and modes; only the archive encoding differs",
            (Kind::Check, Verdict::Explained) => {
                "every difference from the attested commit is a known publish-time rewrite (listed below)"
            }
            (Kind::Diff, Verdict::Explained) => "every difference is a known publish-time rewrite (listed below)",
            (Kind::Check, Verdict::Inconclusive) => {
                "files only in the package need a rebuild to be proven (listed below)"
            }
            (Kind::Diff, Verdict::Inconclusive) => "files only in A need a build of B to be proven (listed below)",
            (Kind::Check, Verdict::Mismatch) => "the package is not what the attested commit produces (see below)",
            (Kind::Diff, Verdict::Mismatch) => "A is not what B produces (see below)",
            (_, Verdict::SourceUnavailable) => {
                "the attested commit cannot be fetched, so nothing was compared (see below)"
            }
            (_, Verdict::Unverified) => "the attestations do not verify (see below)",
        }
    }

    pub fn counts(&self) -> FileCounts {
        FileCounts::of(self.files)
    }

    /// The files only a rebuild can prove: those with an inconclusive finding, by path.
    pub fn needs_rebuild(&self) -> Vec<&'a str> {
        let mut paths: Vec<&str> = self
            .findings
            .iter()
            .filter(|finding| finding.severity == Severity::Inconclusive)
            .filter_map(|finding| finding.path.as_deref())
            .collect();
        paths.sort_unstable();
        paths.dedup();
        paths
    }

    /// The summary after the verdict: files by status, or the findings by severity when no files
    /// were compared.
    pub fn summary(&self) -> String {
        if !self.compared {
            let groups = groups(self.findings);
            if groups.is_empty() {
                return "nothing was compared".to_string();
            }
            let parts: Vec<String> =
                groups.iter().map(|(severity, list)| format!("{} {}", list.len(), severity_label(*severity))).collect();
            return format!("nothing was compared; findings: {}", parts.join(", "));
        }
        let counts = self.counts();
        let mut parts = vec![format!("{} identical", counts.identical)];
        let verb = |count: usize, one: &'static str, many: &'static str| if count == 1 { one } else { many };
        for (count, what) in [
            (counts.explained, "explained"),
            (counts.inconclusive, verb(counts.inconclusive, "needs a rebuild", "need a rebuild")),
            (counts.mismatch, verb(counts.mismatch, "differs", "differ")),
            (counts.only_in_package, "only in the package"),
            (counts.only_in_source, "only in the source"),
        ] {
            if count > 0 {
                parts.push(format!("{count} {what}"));
            }
        }
        let total = counts.total();
        format!("{total} file{}: {}", plural(total), parts.join(", "))
    }
}

/// The findings grouped by severity, worst first (an empty group is left out).
pub fn groups(findings: &[Finding]) -> Vec<(Severity, Vec<&Finding>)> {
    SEVERITY_ORDER
        .iter()
        .map(|severity| {
            (*severity, findings.iter().filter(|finding| finding.severity == *severity).collect::<Vec<_>>())
        })
        .filter(|(_, list)| !list.is_empty())
        .collect()
}

/// The order findings are presented in: what makes the verdict fail first.
pub const SEVERITY_ORDER: [Severity; 7] = [
    Severity::Unverified,
    Severity::Mismatch,
    Severity::Unavailable,
    Severity::Inconclusive,
    Severity::Explained,
    Severity::Warning,
    Severity::Info,
];

pub fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Warning => "warning",
        Severity::Explained => "explained",
        Severity::Inconclusive => "inconclusive",
        Severity::Unavailable => "unavailable",
        Severity::Mismatch => "mismatch",
        Severity::Unverified => "unverified",
    }
}

pub fn file_state_label(state: FileState) -> &'static str {
    match state {
        FileState::Identical => "identical",
        FileState::Explained => "explained",
        FileState::Inconclusive => "needs a rebuild",
        FileState::Mismatch => "differs",
        FileState::OnlyInPackage => "only in the package",
        FileState::OnlyInSource => "only in the source",
    }
}

pub fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

/// The lines of `text`, split at `\n` only: a `\r` before it stays part of the line, so that a
/// line-ending difference stays visible (`str::lines` would hide it).
pub fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.strip_suffix('\n').unwrap_or(text).split('\n').filter(move |_| !text.is_empty())
}

/// At most `max` lines of `text`, and how many were left out.
pub fn head_lines(text: &str, max: usize) -> (Vec<&str>, usize) {
    let mut all = lines(text);
    let kept: Vec<&str> = all.by_ref().take(max).collect();
    (kept, all.count())
}

/// `text` with every character that would act on a terminal or reorder text instead of showing
/// itself made visible: control characters as their Unicode control pictures (`\r` as `␍`, escape
/// as `␛`), bidirectional overrides and isolates as `<U+202E>` (a "Trojan Source" diff must not
/// read differently from what it is). Tabs and newlines stay.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(hidden) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !hidden(c) => out.push(c),
            '\u{0}'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('\u{FFFD}')),
            '\u{7f}' => out.push('\u{2421}'),
            c => out.push_str(&format!("<U+{:04X}>", c as u32)),
        }
    }
    out.into()
}

/// [`visible`] for text that must stay on one line (a path, a repository, a finding's detail): a
/// newline or tab in it is shown as `␤` or `␉`, so that a file named `x.js\nidentical` cannot
/// print a line of its own.
pub fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    let shown = visible(text);
    if !shown.contains(['\n', '\t']) {
        return shown;
    }
    shown.replace('\n', "\u{2424}").replace('\t', "\u{2409}").into()
}

/// `text` cut to at most `max` characters, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}… ({} more characters)", &text[..end], text[end..].chars().count()).into(),
        None => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_controls_stay_visible() {
        assert_eq!(lines("a\r\nb\n").collect::<Vec<_>>(), ["a\r", "b"]);
        assert_eq!(lines("a\n\nb").collect::<Vec<_>>(), ["a", "", "b"]);
        assert_eq!(lines("").count(), 0);
        assert_eq!(head_lines("1\n2\n3\n", 2), (vec!["1", "2"], 1));
        assert_eq!(visible("x = 1;\r"), "x = 1;␍");
        assert_eq!(visible("\u{1b}[2J\u{7f}\tok\n"), "␛[2J␡\tok\n");
        assert_eq!(visible("if (a \u{202E}} {\u{2066}"), "if (a <U+202E>} {<U+2066>");
        assert!(matches!(visible("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(one_line("x.js\nidentical\tok\r"), "x.js\u{2424}identical\u{2409}ok␍");
        assert!(matches!(one_line("plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(clip("abcdef", 3), "abc… (3 more characters)");
        assert_eq!(clip("abc", 3), "abc");
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so that
/// nobody ever reads half a report.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use crate::error::{ErrorCode, Tag};
    write_atomically_untagged(path, bytes).tag_file(ErrorCode::Output, path)
}

fn write_atomically_untagged(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {} for {}", dir.display(), path.display()))?;
    file.write_all(bytes).with_context(|| format!("cannot write {}", file.path().display()))?;
    // A temporary file is private (0600); a report is as readable as any file the user writes.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot write {}", file.path().display()))?;
    }
    file.as_file().sync_all().with_context(|| format!("cannot write {}", file.path().display()))?;
    file.persist(path).map_err(|error| error.error).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Refuses combinations of report options that cannot all be honoured, before any work is done.
pub fn check_args(args: &ReportArgs) -> Result<()> {
    if args.json && args.markdown.as_deref() == Some(Path::new("-")) {
        return Err(crate::error::tag_usage(
            anyhow::anyhow!("--json and --markdown - both print to stdout; write the Markdown to a file instead"),
            "--markdown",
        ));
    }
    Ok(())
}

/// Prints the report (JSON, Markdown with `--markdown -`, or for people) and writes the files the
/// options ask for. The files come first, so a closed stdout does not lose them.
pub fn emit(
    report: &impl Serialize,
    view: &View<'_>,
    args: &ReportArgs,
    statement: impl FnOnce() -> Result<Option<attestation::Statement>>,
    human: impl FnOnce(&mut dyn Write, terminal::Style) -> std::io::Result<()>,
) -> Result<()> {
    let markdown_to_stdout = args.markdown.as_deref() == Some(Path::new("-"));
    if let Some(path) = args.markdown.as_deref().filter(|_| !markdown_to_stdout) {
        write_atomically(path, markdown::render(view).as_bytes())?;
    }
    if let Some(path) = &args.html {
        write_atomically(path, html::render(view).as_bytes())?;
    }
    if let Some(path) = &args.attestation {
        let statement = statement()?
            .context("--attestation: there is no package tarball to make a statement about")
            .map_err(|error| crate::error::tag_usage(error, "--attestation"))?;
        let mut json = serde_json::to_vec_pretty(&statement)?;
        json.push(b'\n');
        write_atomically(path, &json)?;
    }
    let mut out = std::io::stdout().lock();
    let printed = (|| {
        if args.json {
            let mut json = serde_json::to_vec_pretty(report)?;
            json.push(b'\n');
            out.write_all(&json)?;
        } else if markdown_to_stdout {
            out.write_all(markdown::render(view).as_bytes())?;
        } else {
            human(&mut out, terminal::Style::for_stdout())?;
        }
        out.flush()
    })();
    stdout_closed_is_no_error(printed)?;
    Ok(())
}

/// A reader that stops reading (`provdiff … | head`) is no error: the verdict's exit code stands,
/// so that a pipeline never turns a mismatch into success.
pub fn stdout_closed_is_no_error(result: std::io::Result<()>) -> std::io::Result<()> {
    match result {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// The header facts of each kind of report, and the links verified data supports.
mod facts {
    use provdiff_core::EncodingLevel;

    use super::{Fact, Section, links};
    use crate::report::{CheckReport, RulesSource};

    pub fn check(report: &CheckReport) -> Vec<Section> {
        let mut facts = vec![
            Fact::code("Package", format!("{}@{}", report.package.name, report.package.version)),
            Fact::code("Tarball", report.package.tarball.clone()),
            Fact::code("Integrity", report.package.integrity.clone()),
        ];
        if let Some(registry) = &report.registry {
            let signature = match registry.signatures.outcome {
                provdiff_registry::SignatureOutcome::Verified => "signature verified",
                provdiff_registry::SignatureOutcome::Failed => "signature does NOT verify",
                provdiff_registry::SignatureOutcome::Absent => "no signature",
                provdiff_registry::SignatureOutcome::NoKeys => "signature not checked",
            };
            facts.push(Fact::text("Registry", format!("{} ({signature})", registry.registry)));
        }
        let attestation = &report.attestation;
        // Links are made only from provenance that verified in full.
        let verified = attestation.is_verified();
        match &attestation.provenance {
            Some(verified_provenance) if verified => {
                let provenance = &verified_provenance.provenance;
                let repo = links::Repository::parse(&provenance.repository);
                facts.push(Fact::text("Provenance", "verified"));
                facts.push(
                    Fact::code("Repository", provenance.repository.clone())
                        .linked(links::https(&provenance.repository).map(str::to_string)),
                );
                facts.push(
                    Fact::code("Commit", provenance.commit.clone())
                        .linked(repo.as_ref().and_then(|repo| repo.commit(&provenance.commit))),
                );
                if let Some(git_ref) = &provenance.git_ref {
                    facts.push(Fact::code("Ref", git_ref.clone()));
                }
                // A claim the certificate does not back is shown as the predicate's word, unlinked.
                let vouched = &verified_provenance.vouched;
                let claim = |value: &str, certified: bool| {
                    if certified {
                        value.to_string()
                    } else {
                        format!("{value} (the certificate does not vouch for it)")
                    }
                };
                if let Some(workflow) = &provenance.workflow_path {
                    let link = repo.as_ref().and_then(|repo| repo.file(&provenance.commit, workflow));
                    facts.push(
                        Fact::code("Workflow", claim(workflow, vouched.workflow.certified))
                            .linked(link.filter(|_| vouched.workflow.certified)),
                    );
                }
                facts.push(Fact::code("Builder", claim(&provenance.builder_id, vouched.builder.certified)).linked(
                    links::https(&provenance.builder_id).filter(|_| vouched.builder.certified).map(str::to_string),
                ));
                if let Some(run) = &provenance.invocation {
                    facts.push(Fact::code("Build run", run.clone()).linked(links::https(run).map(str::to_string)));
                }
                facts.push(Fact::code("Signer", verified_provenance.signer_identity.clone()));
                if let Some(index) = verified_provenance.log_index {
                    let time =
                        verified_provenance.log_integrated_time.map(|time| format!(", {time}")).unwrap_or_default();
                    let public = attestation.trust.trusted_root.starts_with("embedded");
                    let fact = if public {
                        Fact::text("Log entry", format!("Rekor index {index}{time}"))
                            .linked(Some(links::rekor_entry(index)))
                    } else {
                        Fact::text(
                            "Log entry",
                            format!("index {index}{time}, in the log of {}", attestation.trust.trusted_root),
                        )
                    };
                    facts.push(fact);
                }
            }
            _ => facts.push(Fact::text("Provenance", "NOT verified")),
        }
        let publish_given = attestation
            .attestations
            .iter()
            .any(|outcome| outcome.kind == Some(provdiff_attest::AttestationKind::Publish));
        facts.push(Fact::text(
            "Publish attestation",
            match &attestation.publish {
                Some(publish) => format!("verified, signed by npm key {}", publish.key_id),
                None if publish_given => "NOT verified".to_string(),
                None => "not given".to_string(),
            },
        ));
        facts.push(Fact::text("Trust", attestation.trust.trusted_root.clone()));
        let provenance = Section { title: "Package and provenance", facts: std::mem::take(&mut facts) };
        if let Some(source) = &report.source {
            let dir = if source.package_dir.is_empty() { "the repository root" } else { &source.package_dir };
            facts.push(Fact::text("Package directory", format!("{dir} (found by {})", source.package_dir_found_by)));
        }
        if let Some(comparison) = &report.comparison {
            facts.push(Fact::text(
                "Files",
                format!(
                    "{} in the package, {} from the source; {} identical, {} explained",
                    comparison.package_files,
                    comparison.source_files,
                    comparison.identical_files,
                    comparison.explained_files
                ),
            ));
            facts.push(Fact::text("Archives", agreement(comparison.agreement, comparison.entries_explained)));
            if let Some(engine) = &comparison.gzip_engine {
                facts.push(Fact::text("gzip", format!("reproduced by {}", engine.description)));
            }
            let rules_source = match comparison.npm_rules_source {
                RulesSource::Provenance => "named by the provenance",
                RulesSource::Registry => "named by the registry's metadata",
                RulesSource::Inferred => "inferred",
            };
            facts.push(Fact::text("File selection", format!("{} ({rules_source})", comparison.npm_rules.describe())));
            facts.push(Fact::text(
                "Publish tool",
                format!("{} ({})", comparison.publish_tool, comparison.publish_tool_found_by),
            ));
            if let Some(step) = &comparison.build_step {
                facts.push(Fact::code("Build step", step.clone()));
            }
        }
        if let Some(rebuild) = &report.rebuild {
            facts.push(Fact::text("Rebuild", rebuild.status));
        }
        vec![provenance, Section { title: "Comparison", facts }]
    }

    pub fn diff(report: &crate::diff::DiffReport) -> Vec<Section> {
        let mut facts = Vec::new();
        for (label, side) in [("A", &report.a), ("B", &report.b)] {
            let mut value = format!("{} {} ({} file{}", side.kind, side.input, side.files, super::plural(side.files));
            if let Some(commit) = &side.commit {
                value.push_str(&format!(", commit {commit}"));
            }
            if let Some(rules) = side.npm_rules {
                value.push_str(&format!(", packed as {}", rules.describe()));
            }
            value.push(')');
            facts.push(Fact::code(label, value));
        }
        facts.push(Fact::text("Files", format!("{} of {} files identical", report.identical_files, report.a.files)));
        facts.push(Fact::text(
            "Archives",
            agreement(report.agreement, report.verdict == provdiff_core::Verdict::Explained),
        ));
        vec![Section { title: "Comparison", facts }]
    }

    fn agreement(agreement: Option<EncodingLevel>, explained: bool) -> String {
        match agreement {
            Some(EncodingLevel::Compressed) => "the .tgz files are byte-identical",
            Some(EncodingLevel::Tar) => "the tar streams are identical, the gzip streams differ",
            Some(EncodingLevel::Entries) => "the files are identical, the archive encoding differs",
            None if explained => "the files differ only in explained ways",
            None => "the files differ",
        }
        .to_string()
    }
}

/// Links to where verified facts can be seen: the repository's web pages and the public
/// transparency log's search. Only `https:` URLs with plain characters are ever produced.
pub mod links {
    /// `url` if it is an `https:` URL of characters that need no escaping in a link.
    pub fn https(url: &str) -> Option<&str> {
        let rest = url.strip_prefix("https://")?;
        let plain = |c: char| c.is_ascii_alphanumeric() || "-._~/:@%+=?&#!$,;".contains(c);
        (!rest.is_empty() && !rest.starts_with('/') && rest.chars().all(plain)).then_some(url)
    }

    /// A repository on a forge whose URL layout provdiff knows.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Repository {
        forge: Forge,
        /// `https://HOST/OWNER/REPO` (GitLab: any depth of groups).
        base: String,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Forge {
        GitHub,
        GitLab,
    }

    impl Repository {
        pub fn parse(url: &str) -> Option<Self> {
            let rest = url.strip_prefix("https://")?;
            let (host, path) = rest.split_once('/')?;
            let segments: Vec<&str> = path.split('/').collect();
            let segment_ok = |segment: &&str| {
                !segment.is_empty()
                    && *segment != "."
                    && *segment != ".."
                    && segment.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
            };
            if !segments.iter().all(segment_ok) {
                return None;
            }
            let forge = match host {
                "github.com" if segments.len() == 2 => Forge::GitHub,
                "gitlab.com" if segments.len() >= 2 => Forge::GitLab,
                _ => return None,
            };
            Some(Self { forge, base: format!("https://{host}/{path}") })
        }

        pub fn commit(&self, commit: &str) -> Option<String> {
            is_commit_id(commit).then(|| match self.forge {
                Forge::GitHub => format!("{}/commit/{commit}", self.base),
                Forge::GitLab => format!("{}/-/commit/{commit}", self.base),
            })
        }

        /// A file as it is at the commit.
        pub fn file(&self, commit: &str, path: &str) -> Option<String> {
            if !is_commit_id(commit)
                || path.is_empty()
                || path.split('/').any(|s| s.is_empty() || s == "." || s == "..")
            {
                return None;
            }
            // Everything but RFC 3986's unreserved characters is encoded, `/` and `%` included.
            const SEGMENT: &percent_encoding::AsciiSet =
                &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
            let path: String = path
                .split('/')
                .map(|segment| percent_encoding::utf8_percent_encode(segment, SEGMENT).to_string())
                .collect::<Vec<_>>()
                .join("/");
            Some(match self.forge {
                Forge::GitHub => format!("{}/blob/{commit}/{path}", self.base),
                Forge::GitLab => format!("{}/-/blob/{commit}/{path}", self.base),
            })
        }
    }

    fn is_commit_id(commit: &str) -> bool {
        matches!(commit.len(), 40 | 64) && commit.bytes().all(|b| b.is_ascii_hexdigit())
    }

    /// The public-good Rekor entry, at the transparency log's search page.
    pub fn rekor_entry(index: u64) -> String {
        format!("https://search.sigstore.dev/?logIndex={index}")
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn links_are_built_only_from_plain_https_urls() {
            let repo = Repository::parse("https://github.com/owner/repo").unwrap();
            let commit = "0123456789abcdef0123456789abcdef01234567";
            assert_eq!(repo.commit(commit).unwrap(), format!("https://github.com/owner/repo/commit/{commit}"));
            assert_eq!(
                repo.file(commit, ".github/workflows/release me.yml").unwrap(),
                format!("https://github.com/owner/repo/blob/{commit}/.github/workflows/release%20me.yml")
            );
            assert_eq!(repo.commit("main"), None);
            assert_eq!(repo.file(commit, "../x"), None);
            let lab = Repository::parse("https://gitlab.com/group/sub/repo").unwrap();
            assert_eq!(lab.commit(commit).unwrap(), format!("https://gitlab.com/group/sub/repo/-/commit/{commit}"));
            for bad in [
                "http://github.com/owner/repo",
                "https://github.com/owner",
                "https://github.com/owner/repo/extra",
                "https://github.com/own\"er/repo",
                "https://github.com/owner/..",
                "https://example.com/owner/repo",
                "javascript:alert(1)",
            ] {
                assert_eq!(Repository::parse(bad), None, "{bad}");
            }
            assert_eq!(https("https://github.com/actions/runner"), Some("https://github.com/actions/runner"));
            assert_eq!(https("https://x/\"onmouseover=\""), None);
            assert_eq!(https("https:///etc"), None);
            assert_eq!(https("file:///etc/passwd"), None);
            assert_eq!(rekor_entry(42), "https://search.sigstore.dev/?logIndex=42");
        }
    }
}
