//! The report for people on a terminal: the verdict and the file counts on the first line, the
//! provenance and the comparison, then the findings grouped by severity (worst first), with
//! unified diffs cut to a few dozen lines. Colour only when stdout is a terminal and `NO_COLOR`
//! is unset.

use std::io::{IsTerminal, Result, Write};

use provdiff_attest::Verification;
use provdiff_core::{EncodingLevel, Finding, PublishTool, Severity, Verdict};
use provdiff_rebuild::{Outcome, PlanSource};

use super::{View, clip, groups, head_lines, one_line, plural, severity_label, visible};
use crate::diff::DiffReport;
use crate::rebuild::RebuildInfo;
use crate::report::{CheckReport, RulesSource};

/// Diff lines shown per finding; the rest is counted.
const MAX_DIFF_LINES: usize = 40;
/// Characters per diff line; a minified file's line is cut with a count.
const MAX_LINE: usize = 300;
/// Files listed as needing a rebuild under the verdict; all of them are under `inconclusive`.
const MAX_REBUILD_LIST: usize = 50;

/// Whether to colour, decided once.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

#[derive(Debug, Clone, Copy)]
enum Paint {
    Bold,
    Dim,
    Red,
    Green,
    Yellow,
    Cyan,
    BoldRed,
    BoldGreen,
    BoldYellow,
    BoldMagenta,
}

impl Style {
    #[cfg(test)]
    pub fn plain() -> Self {
        Self { color: false }
    }

    /// Colour when stdout is a terminal and `NO_COLOR` is unset or empty (no-color.org).
    pub fn for_stdout() -> Self {
        Self::decide(std::io::stdout().is_terminal(), std::env::var_os("NO_COLOR").as_deref())
    }

    fn decide(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> Self {
        Self { color: terminal && no_color.is_none_or(std::ffi::OsStr::is_empty) }
    }

    fn paint(self, text: &str, paint: Paint) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match paint {
            Paint::Bold => "1",
            Paint::Dim => "2",
            Paint::Red => "31",
            Paint::Green => "32",
            Paint::Yellow => "33",
            Paint::Cyan => "36",
            Paint::BoldRed => "1;31",
            Paint::BoldGreen => "1;32",
            Paint::BoldYellow => "1;33",
            Paint::BoldMagenta => "1;35",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn verdict(self, verdict: Verdict) -> String {
        let paint = match verdict {
            Verdict::Identical | Verdict::Equivalent | Verdict::Explained => Paint::BoldGreen,
            Verdict::Inconclusive => Paint::BoldYellow,
            Verdict::SourceUnavailable => Paint::BoldMagenta,
            Verdict::Mismatch | Verdict::Unverified => Paint::BoldRed,
        };
        self.paint(verdict.as_str(), paint)
    }

    fn severity(self, severity: Severity, text: &str) -> String {
        let paint = match severity {
            Severity::Unverified | Severity::Mismatch => Paint::BoldRed,
            Severity::Unavailable => Paint::BoldMagenta,
            Severity::Inconclusive => Paint::BoldYellow,
            Severity::Explained => Paint::BoldGreen,
            Severity::Warning => Paint::Yellow,
            Severity::Info => Paint::Bold,
        };
        self.paint(text, paint)
    }

    fn diff_line(self, line: &str) -> String {
        let paint = if line.starts_with("+++") || line.starts_with("---") {
            Paint::Bold
        } else if line.starts_with('+') {
            Paint::Green
        } else if line.starts_with('-') {
            Paint::Red
        } else if line.starts_with("@@") {
            Paint::Cyan
        } else {
            return line.to_string();
        };
        self.paint(line, paint)
    }
}

/// The verdict line, what it means, and the files a rebuild would have to prove.
fn write_head(out: &mut dyn Write, view: &View<'_>, style: Style) -> Result<()> {
    writeln!(out, "{}: {} ({})", one_line(&view.title), style.verdict(view.verdict), view.summary())?;
    writeln!(out, "  {}", view.sentence())?;
    let rebuild = view.needs_rebuild();
    if !rebuild.is_empty() {
        writeln!(
            out,
            "  {} file{} need{} a rebuild to be proven:",
            rebuild.len(),
            plural(rebuild.len()),
            if rebuild.len() == 1 { "s" } else { "" }
        )?;
        let (shown, rest) = rebuild.split_at(rebuild.len().min(MAX_REBUILD_LIST));
        for path in shown {
            writeln!(out, "    {}", one_line(path))?;
        }
        if !rest.is_empty() {
            writeln!(out, "    … {} more, listed under inconclusive below", rest.len())?;
        }
    }
    Ok(())
}

pub fn write_check(out: &mut dyn Write, report: &CheckReport, style: Style) -> Result<()> {
    write_head(out, &View::check(report), style)?;
    writeln!(out)?;
    write_attestation(out, &report.attestation)?;
    if let Some(source) = &report.source {
        let dir = if source.package_dir.is_empty() { "the repository root" } else { &source.package_dir };
        writeln!(out, "source      {} (found by {})", one_line(dir), source.package_dir_found_by)?;
        match &source.fetch {
            Some(fetch) => {
                let how = match fetch.strategy.as_str() {
                    "cached" => "from the cache".to_string(),
                    strategy => {
                        let size = fetch.bytes.map(|bytes| format!(", {}", human_bytes(bytes))).unwrap_or_default();
                        format!("({strategy}{size})")
                    }
                };
                writeln!(
                    out,
                    "            fetched from {} {how}",
                    one_line(fetch.effective_url.as_deref().unwrap_or(&fetch.url))
                )?;
            }
            None => writeln!(out, "            read from {}", one_line(&source.location))?,
        }
        if let Some(root) = &source.workspace_root {
            let root = if root.is_empty() { "the repository root".into() } else { one_line(root) };
            writeln!(out, "            a workspace of {root}: its ignore files apply too, as npm applies them")?;
        }
    }
    if let Some(registry) = &report.registry {
        let signatures = match registry.signatures.outcome {
            provdiff_registry::SignatureOutcome::Verified => "registry signature verified",
            provdiff_registry::SignatureOutcome::Failed => "registry signature does NOT verify",
            provdiff_registry::SignatureOutcome::Absent => "no registry signature",
            provdiff_registry::SignatureOutcome::NoKeys => "registry signature not checked: no npm key for it",
        };
        writeln!(out, "registry    {} ({signatures})", one_line(&registry.registry))?;
    }
    match &report.comparison {
        Some(comparison) => {
            let agreement = match comparison.agreement {
                Some(EncodingLevel::Compressed) => "the .tgz files are byte-identical",
                Some(EncodingLevel::Tar) => "the tar streams are identical, the gzip streams differ",
                Some(EncodingLevel::Entries) => "the files are identical, the archive encoding differs",
                None if comparison.entries_explained => "the others differ only in explained ways",
                None => "the files differ",
            };
            writeln!(
                out,
                "comparison  {} of {} package files identical to the {} the source produces; {}",
                comparison.identical_files, comparison.package_files, comparison.source_files, agreement
            )?;
            let source = match comparison.npm_rules_source {
                RulesSource::Provenance => "named by the provenance",
                RulesSource::Registry => "named by the registry's metadata, _npmVersion",
                RulesSource::Inferred => "inferred: the provenance does not name the npm version",
            };
            writeln!(out, "            file selection of {} ({source})", comparison.npm_rules.describe())?;
            if comparison.publish_tool != PublishTool::Npm || comparison.explained_files > 0 {
                writeln!(
                    out,
                    "            packed by {} ({}); {} file{} explained",
                    comparison.publish_tool,
                    comparison.publish_tool_found_by,
                    comparison.explained_files,
                    plural(comparison.explained_files)
                )?;
            }
            if let Some(engine) = &comparison.gzip_engine {
                writeln!(out, "            gzip stream reproduced by {}", engine.description)?;
            }
        }
        None if report.verdict == Verdict::SourceUnavailable => {
            writeln!(out, "comparison  not made: the attested commit is unavailable")?
        }
        None => writeln!(out, "comparison  not made: without verified provenance there is no attested commit")?,
    }
    if let Some(rebuild) = &report.rebuild {
        write_rebuild(out, rebuild)?;
    }
    write_findings(out, &report.findings, style)
}

pub fn write_diff(out: &mut dyn Write, report: &DiffReport, style: Style) -> Result<()> {
    write_head(out, &View::diff(report), style)?;
    writeln!(out)?;
    for (name, side) in [("a", &report.a), ("b", &report.b)] {
        let detail = match (&side.commit, side.npm_rules) {
            (Some(commit), Some(rules)) => format!(" (commit {commit}, packed as {})", rules.describe()),
            (None, Some(rules)) => format!(" (packed as {})", rules.describe()),
            _ => String::new(),
        };
        writeln!(
            out,
            "{name}           {} {}, {} file{}{detail}",
            side.kind,
            one_line(&side.input),
            side.files,
            plural(side.files)
        )?;
    }
    let agreement = match report.agreement {
        Some(EncodingLevel::Compressed) => "; the .tgz files are byte-identical",
        Some(EncodingLevel::Tar) => "; the tar streams are identical, the gzip streams differ",
        Some(EncodingLevel::Entries) => "; the files are identical, the archive encoding differs",
        None => "",
    };
    writeln!(out, "comparison  {} of {} files identical{agreement}", report.identical_files, report.a.files)?;
    write_findings(out, &report.findings, style)
}

pub fn write_attestation(out: &mut dyn Write, verification: &Verification) -> Result<()> {
    match &verification.provenance {
        Some(verified) => {
            let provenance = &verified.provenance;
            writeln!(
                out,
                "provenance  verified: {} @ {}",
                one_line(&provenance.repository),
                one_line(&provenance.commit)
            )?;
            if let Some(git_ref) = &provenance.git_ref {
                writeln!(out, "            ref       {}", one_line(git_ref))?;
            }
            // What the signing certificate does not back is the predicate's word alone.
            let unvouched = |certified: bool| if certified { "" } else { " (the certificate does not vouch for it)" };
            if let Some(workflow) = &provenance.workflow_path {
                writeln!(
                    out,
                    "            workflow  {}{}",
                    one_line(workflow),
                    unvouched(verified.vouched.workflow.certified)
                )?;
            }
            writeln!(
                out,
                "            builder   {}{}",
                one_line(&provenance.builder_id),
                unvouched(verified.vouched.builder.certified)
            )?;
            writeln!(out, "            signer    {}", one_line(&verified.signer_identity))?;
            if let (Some(index), Some(time)) = (verified.log_index, verified.log_integrated_time) {
                writeln!(out, "            logged    index {index}, {time}")?;
            }
        }
        None => writeln!(out, "provenance  NOT verified")?,
    }
    match &verification.publish {
        Some(publish) => {
            writeln!(
                out,
                "publish     verified: signed by npm key {}{}",
                one_line(&publish.key_id),
                publish.registry.as_deref().map(|registry| format!(" for {}", one_line(registry))).unwrap_or_default()
            )?;
            // The times npm's key was checked against, and what authenticated each.
            for verified in &publish.verified_times {
                writeln!(out, "            time      {}, verified by {}", verified.time, verified.source.describe())?;
            }
        }
        None if verification.attestations.iter().any(|a| a.kind == Some(provdiff_attest::AttestationKind::Publish)) => {
            writeln!(out, "publish     NOT verified")?
        }
        None => writeln!(out, "publish     not checked: no publish attestation was given")?,
    }
    writeln!(out, "trust       {}", verification.trust.trusted_root)?;
    Ok(())
}

/// The findings by severity, worst first; each with its code, path and detail, and its diff cut
/// to [`MAX_DIFF_LINES`] lines.
pub fn write_findings(out: &mut dyn Write, findings: &[Finding], style: Style) -> Result<()> {
    for (severity, list) in groups(findings) {
        writeln!(out)?;
        let label = severity_label(severity);
        let label = if severity >= Severity::Mismatch { label.to_uppercase() } else { label.to_string() };
        writeln!(out, "{} ({})", style.severity(severity, &label), list.len())?;
        for finding in list {
            let path = finding.path.as_deref().map(|path| format!("{}: ", one_line(path))).unwrap_or_default();
            writeln!(out, "  {:<26} {path}{}", finding.code.as_str(), one_line(&finding.detail))?;
            if let Some(diff) = &finding.diff {
                let (lines, omitted) = head_lines(diff, MAX_DIFF_LINES);
                for line in lines {
                    writeln!(out, "      {}", style.diff_line(&visible(&clip(line, MAX_LINE))))?;
                }
                if omitted > 0 {
                    writeln!(
                        out,
                        "      {}",
                        style.paint(&format!("… {omitted} more line{}", plural(omitted)), Paint::Dim)
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// The rebuild's lines.
fn write_rebuild(out: &mut dyn Write, info: &RebuildInfo) -> Result<()> {
    let (Some(plan), Some(build)) = (&info.plan, &info.build) else {
        return writeln!(out, "rebuild     not needed: the attested commit alone reproduces the package");
    };
    let from = match &plan.source {
        PlanSource::Workflow { path, job, publish_step } => format!(
            "{}, job {}, the steps before its publish command ({})",
            one_line(path),
            one_line(job),
            one_line(publish_step)
        ),
        PlanSource::Lifecycle { reason } => {
            format!("the {} lifecycle ({})", plan.package_manager.kind.program(), one_line(reason))
        }
    };
    let result = match &build.outcome {
        Outcome::Built => format!("built in {:.1} s", build.seconds),
        Outcome::Failed { reason, .. } => format!("FAILED after {:.1} s: {}", build.seconds, one_line(reason)),
        Outcome::RefusedBySandbox { reason, .. } => {
            format!("REFUSED BY THE SANDBOX after {:.1} s: {}", build.seconds, one_line(reason))
        }
    };
    writeln!(out, "rebuild     {result}")?;
    writeln!(out, "            plan      {from}")?;
    writeln!(out, "            sandbox   {}", one_line(&build.sandbox))?;
    writeln!(out, "            network   {}", one_line(&build.network))?;
    let tool = |used: &Option<String>, asked: &Option<provdiff_rebuild::VersionRequest>| {
        let used = one_line(used.as_deref().unwrap_or("unknown"));
        match asked {
            Some(asked) => format!("{used} ({} asks for {})", one_line(&asked.source), one_line(&asked.version)),
            None => used.to_string(),
        }
    };
    writeln!(out, "            node      {}", tool(&build.node_version, &plan.node))?;
    writeln!(out, "            npm       {}", tool(&build.npm_version, &plan.npm))?;
    writeln!(
        out,
        "            before    {} of {} package files came from the commit alone; {} needed the build",
        info.before_rebuild.identical_files, info.before_rebuild.package_files, info.before_rebuild.build_outputs
    )?;
    for (index, step) in build.steps.iter().enumerate() {
        let status = match step.exit {
            Some(exit) if exit.success() => format!("ok, {:.1} s", step.seconds),
            Some(exit) => format!("{exit} after {:.1} s", step.seconds),
            None => "not started".to_string(),
        };
        let dir = if step.dir.is_empty() { String::new() } else { format!(" (in {})", one_line(&step.dir)) };
        writeln!(out, "            [{}]       {}{dir}: {status}", index + 1, one_line(&step.origin))?;
        for line in step.script.lines() {
            writeln!(out, "                $ {}", one_line(line))?;
        }
        if !step.exit.is_some_and(provdiff_rebuild::Exit::success) {
            let lines: Vec<&str> = step.log.lines().collect();
            for line in &lines[lines.len().saturating_sub(25)..] {
                writeln!(out, "                | {}", one_line(line))?;
            }
        }
    }
    if let Some(dir) = &info.kept_directory {
        writeln!(out, "            kept      {}", one_line(dir))?;
    }
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} kB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provdiff_core::Code;

    #[test]
    fn findings_are_grouped_worst_first_and_long_diffs_cut() {
        let diff: String = (0..100).map(|i| format!("+line {i}\n")).collect();
        let findings = vec![
            Finding::new(Code::PublishNotChecked, "no publish attestation"),
            Finding::at(Code::PublishRewrite, "package.json", "rewritten"),
            Finding::at(Code::ContentDiffers, "a.js", "100 lines differ").with_diff(diff),
            Finding::at(Code::BuildOutput, "dist/x.js", "maybe built"),
        ];
        let mut out = Vec::new();
        write_findings(&mut out, &findings, Style::plain()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let headers: Vec<&str> = text.lines().filter(|line| !line.starts_with(' ') && !line.is_empty()).collect();
        assert_eq!(headers, ["MISMATCH (1)", "inconclusive (1)", "explained (1)", "info (1)"]);
        assert!(text.contains("      +line 39\n      … 60 more lines\n"), "{text}");
        assert!(!text.contains("+line 40"), "{text}");
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn a_name_with_a_newline_cannot_print_a_line_of_its_own() {
        let findings = vec![Finding::at(
            Code::OnlyInPackage,
            "evil.js\n  identical                  index.js: fine",
            "not in the source\nidentical",
        )];
        let mut out = Vec::new();
        write_findings(&mut out, &findings, Style::plain()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().filter(|line| line.contains("identical")).count(), 1, "{text}");
        assert!(text.contains("evil.js\u{2424}  identical"), "{text}");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(Style::decide(true, None).color);
        assert!(Style::decide(true, Some(OsStr::new(""))).color, "an empty NO_COLOR does not count");
        assert!(!Style::decide(true, Some(OsStr::new("1"))).color);
        assert!(!Style::decide(false, None).color);
    }

    #[test]
    fn colour_wraps_text_and_escapes_in_diffs_are_shown_not_obeyed() {
        let style = Style { color: true };
        assert_eq!(style.paint("ab", Paint::Red), "\x1b[31mab\x1b[0m");
        assert_eq!(Style::plain().paint("x", Paint::Red), "x");
        let findings = [Finding::at(Code::ContentDiffers, "a\x1b[2J.js", "differs")
            .with_diff(format!("@@ -1 +1 @@\n-x\n+x\r\n+{}\x1b[2J\n", "y".repeat(400)))];
        let mut out = Vec::new();
        write_findings(&mut out, &findings, style).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("a␛[2J.js: differs"), "{text}");
        assert!(text.contains("\x1b[32m+x␍\x1b[0m"), "{text}");
        assert!(text.contains("… (105 more characters)"), "{text}");
        assert_eq!(text.matches('\x1b').count(), 2 * 5, "only the colours' own escapes: {text:?}");
    }
}
