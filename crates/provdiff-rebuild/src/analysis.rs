//! Known sources of non-reproducibility, reported next to what they may explain: a different
//! Node.js or npm than the original build asked for, dependencies resolved without a lockfile,
//! dates and times embedded in outputs, absolute build paths embedded in outputs.
//!
//! These are annotations, not verdicts: a file that differs stays a mismatch; the findings here
//! say what a person should look at first, with the versions that were used and the ones asked for.

use provdiff_core::{Code, Finding};

use crate::plan::{BuildPlan, Layout, VersionRequest};
use crate::run::BuildRecord;
use crate::semver;

/// A tool the rebuild ran in another version than the original build asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolDifference {
    pub code: Code,
    pub tool: &'static str,
    pub used: String,
    pub requested: VersionRequest,
}

impl ToolDifference {
    fn detail(&self) -> String {
        format!("built with {} {}; {} asks for {}", self.tool, self.used, self.requested.source, self.requested.version)
    }
}

/// The Node.js and npm differences between the rebuild and what the original build asked for.
pub fn tool_differences(plan: &BuildPlan, record: &BuildRecord) -> Vec<ToolDifference> {
    let mut differences = Vec::new();
    let pairs = [
        (Code::RebuildNodeVersion, "Node.js", &plan.node, &record.node_version),
        (Code::RebuildNpmVersion, "npm", &plan.npm, &record.npm_version),
    ];
    for (code, tool, requested, used) in pairs {
        let (Some(requested), Some(used)) = (requested, used) else { continue };
        // `latest` and aliases name no version: the difference cannot be judged, but is shown.
        if semver::satisfies(&requested.version, used) != Some(true) {
            differences.push(ToolDifference { code, tool, used: used.clone(), requested: requested.clone() });
        }
    }
    differences
}

/// Findings for the whole rebuild: tool differences, and what the plan and the run did not replay
/// (steps, and variables the build set that were not passed on).
pub fn rebuild_findings(plan: &BuildPlan, record: &BuildRecord) -> Vec<Finding> {
    let mut findings = plan.findings.clone();
    findings.extend(record.ignored_variables.iter().map(|ignored| {
        Finding::new(
            Code::RebuildStepSkipped,
            format!("{} set {}, which is not passed on: {}", ignored.set_by, ignored.name, ignored.reason),
        )
    }));
    findings.extend(
        tool_differences(plan, record).iter().map(|difference| Finding::new(difference.code, difference.detail())),
    );
    findings
}

/// A file that differs after the rebuild: its published and rebuilt contents (either may be
/// missing, for a file only one side has).
#[derive(Debug, Clone, Copy)]
pub struct Difference<'a> {
    pub path: &'a str,
    pub published: Option<&'a [u8]>,
    pub rebuilt: Option<&'a [u8]>,
}

/// The known causes that may explain each differing file, as findings at its path.
pub fn explain(differences: &[Difference<'_>], plan: &BuildPlan, record: &BuildRecord) -> Vec<Finding> {
    let tools = tool_differences(plan, record);
    let mut findings = Vec::new();
    for difference in differences {
        let path = difference.path;
        for tool in &tools {
            findings.push(Finding::at(tool.code, path, format!("may differ because it was {}", tool.detail())));
        }
        if plan.lockfile.is_none() {
            findings.push(Finding::at(
                Code::RebuildNoLockfile,
                path,
                "may differ because dependency versions were resolved anew: the commit has no lockfile",
            ));
        }
        if let (Some(published), Some(rebuilt)) = (difference.published, difference.rebuilt)
            && let Some((ours, theirs)) = only_timestamps_differ(published, rebuilt)
        {
            findings.push(Finding::at(
                Code::RebuildTimestamp,
                path,
                format!("differs only in dates or times: the package has {theirs:?} where the rebuild has {ours:?}"),
            ));
        }
        if let Some(rebuilt) = difference.rebuilt
            && let Some(embedded) = embedded_path(rebuilt, &record.layout)
        {
            findings.push(Finding::at(
                Code::RebuildAbsolutePath,
                path,
                format!("the rebuilt file embeds the build's absolute path {embedded}"),
            ));
        }
    }
    findings
}

/// Whether the two files are equal once dates and times are masked; returns the first pair of
/// differing timestamps (rebuilt, published).
fn only_timestamps_differ(published: &[u8], rebuilt: &[u8]) -> Option<(String, String)> {
    let (published, rebuilt) = (std::str::from_utf8(published).ok()?, std::str::from_utf8(rebuilt).ok()?);
    let (masked_published, stamps_published) = mask_timestamps(published);
    let (masked_rebuilt, stamps_rebuilt) = mask_timestamps(rebuilt);
    if masked_published != masked_rebuilt {
        return None;
    }
    stamps_rebuilt.into_iter().zip(stamps_published).find(|(ours, theirs)| ours != theirs)
}

fn embedded_path(rebuilt: &[u8], layout: &Layout) -> Option<String> {
    [&layout.workspace, &layout.home]
        .into_iter()
        .find(|path| rebuilt.windows(path.len()).any(|window| window == path.as_bytes()))
        .cloned()
}

const DAYS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: &[&str] = &["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Replaces ISO 8601 dates and times, `HH:MM:SS` times, `Mon DD YYYY` dates and 10- or 13-digit
/// Unix times of this century with a placeholder; returns the text and what was replaced.
fn mask_timestamps(text: &str) -> (String, Vec<String>) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut stamps = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        let boundary = index == 0 || !bytes[index - 1].is_ascii_alphanumeric();
        let found = if boundary { timestamp_at(text, index) } else { None };
        match found {
            Some(end) => {
                stamps.push(text[index..end].to_string());
                out.push('\u{0}');
                index = end;
            }
            None => {
                let next = text[index..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[index..index + next]);
                index += next;
            }
        }
    }
    (out, stamps)
}

/// The end of a timestamp starting at `start`, if one does.
fn timestamp_at(text: &str, start: usize) -> Option<usize> {
    let rest = &text[start..];
    let digits = |s: &str, n: usize| s.len() >= n && s.as_bytes()[..n].iter().all(u8::is_ascii_digit);
    // 2023-02-09, optionally followed by a time and a zone.
    if digits(rest, 4)
        && rest.as_bytes().get(4) == Some(&b'-')
        && digits(&rest[5..], 2)
        && rest.as_bytes().get(7) == Some(&b'-')
        && digits(&rest[8..], 2)
    {
        let mut end = start + 10;
        if matches!(text.as_bytes().get(end), Some(b'T' | b' '))
            && let Some(time_end) = time_at(text, end + 1)
        {
            end = time_end;
            if text.as_bytes().get(end) == Some(&b'Z') {
                end += 1;
            } else if matches!(text.as_bytes().get(end), Some(b'+' | b'-')) && digits(&text[end + 1..], 2) {
                end += 3;
                if text.as_bytes().get(end) == Some(&b':') {
                    end += 1;
                }
                if digits(&text[end..], 2) {
                    end += 2;
                }
            }
        }
        return Some(end);
    }
    if let Some(end) = time_at(text, start) {
        return Some(end);
    }
    // Thu Feb 9 2023, Feb 09, 2023
    let weekday = DAYS.iter().any(|day| rest.starts_with(day)) && rest.as_bytes().get(3) == Some(&b' ');
    let month_start = if weekday { start + 4 } else { start };
    if let Some(month) = MONTHS.iter().find(|month| text[month_start..].starts_with(*month)) {
        let mut index = month_start + month.len();
        let bytes = text.as_bytes();
        if bytes.get(index) != Some(&b' ') {
            return None;
        }
        index += 1;
        let day_start = index;
        while bytes.get(index).is_some_and(u8::is_ascii_digit) && index - day_start < 2 {
            index += 1;
        }
        if index == day_start {
            return None;
        }
        if bytes.get(index) == Some(&b',') {
            index += 1;
        }
        if bytes.get(index) != Some(&b' ') || !digits(&text[index + 1..], 4) {
            return None;
        }
        return Some(index + 5);
    }
    // Unix time in seconds or milliseconds, 2000 to 2100.
    let run = rest.bytes().take_while(u8::is_ascii_digit).count();
    if (run == 10 || run == 13) && !rest.as_bytes().get(run).is_some_and(u8::is_ascii_alphanumeric) {
        let value: u64 = rest[..run].parse().ok()?;
        let seconds = if run == 13 { value / 1000 } else { value };
        if (946_684_800..4_102_444_800).contains(&seconds) {
            return Some(start + run);
        }
    }
    None
}

/// `HH:MM:SS` with optional fractions, starting at `start`.
fn time_at(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let two = |at: usize| bytes.get(at..at + 2).is_some_and(|pair| pair.iter().all(u8::is_ascii_digit));
    if !(two(start)
        && bytes.get(start + 2) == Some(&b':')
        && two(start + 3)
        && bytes.get(start + 5) == Some(&b':')
        && two(start + 6))
    {
        return None;
    }
    let mut end = start + 8;
    if bytes.get(end) == Some(&b'.') && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1;
        while bytes.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_masked_and_nothing_else() {
        let check = |published: &str, rebuilt: &str, expected: Option<(&str, &str)>| {
            let found = only_timestamps_differ(published.as_bytes(), rebuilt.as_bytes());
            let found = found.as_ref().map(|(a, b)| (a.as_str(), b.as_str()));
            assert_eq!(found, expected, "{published:?} / {rebuilt:?}");
        };
        check(
            "// built 2023-02-09T17:38:25.123Z\nx=1",
            "// built 2026-11-25T10:00:00.000Z\nx=1",
            Some(("2026-11-25T10:00:00.000Z", "2023-02-09T17:38:25.123Z")),
        );
        check("v=1675964305000;", "v=1795621589292;", Some(("1795621589292", "1675964305000")));
        check(
            "Thu Feb 09 2023 17:38:25 GMT",
            "Wed Nov 25 2026 10:00:00 GMT",
            Some(("Wed Nov 25 2026", "Thu Feb 09 2023")),
        );
        check("at 12:00:01+00:00", "at 13:14:15+00:00", Some(("13:14:15", "12:00:01")));
        // A changed number that is not a time is not explained.
        check("const answer = 42;", "const answer = 43;", None);
        check("2023-02-09 x", "2023-02-09 y", None);
        check("version 1.2.3", "version 1.2.4", None);
        check("id=12345678901", "id=12345678902", None);
    }

    #[test]
    fn embedded_paths() {
        let layout = Layout::new("/home/runner", "https://github.com/o/r");
        assert_eq!(
            embedded_path(b"//# sourceMappingURL=/home/runner/work/r/r/dist/x.map", &layout).as_deref(),
            Some("/home/runner/work/r/r")
        );
        assert_eq!(embedded_path(b"require('./x')", &layout), None);
    }
}
