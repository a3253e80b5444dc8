//! The report as GitHub-flavoured Markdown, for CI job summaries and pull-request comments: the
//! verdict as a headline, the provenance as a table, the findings by severity in tables, and the
//! diffs in collapsible `<details>` blocks. Kept under [`MAX_BYTES`] (a pull-request comment holds
//! 65,536 characters): tables and diffs are cut, with counts of what was left out.

use std::fmt::Write;

use provdiff_core::{Severity, Verdict};

use super::{View, groups, head_lines, plural, severity_label, visible};

/// The whole document stays under this many bytes.
pub const MAX_BYTES: usize = 60_000;
/// Rows per findings table.
const MAX_ROWS: usize = 50;
/// Lines per diff.
const MAX_DIFF_LINES: usize = 60;
/// Characters per table cell.
const MAX_CELL: usize = 300;

pub fn render(view: &View<'_>) -> String {
    let mut doc = String::new();
    let icon = match view.verdict {
        Verdict::Identical | Verdict::Equivalent | Verdict::Explained => "✅",
        Verdict::Inconclusive => "⚠️",
        Verdict::SourceUnavailable => "⛔",
        Verdict::Mismatch | Verdict::Unverified => "❌",
    };
    let _ = writeln!(doc, "## {icon} {}: **{}**\n", code(&view.title), view.verdict);
    let _ = writeln!(doc, "{}.\n", capitalise(view.sentence()));
    let _ = writeln!(doc, "**{}**\n", text(&view.summary()));
    let rebuild = view.needs_rebuild();
    if !rebuild.is_empty() {
        let shown: Vec<String> = rebuild.iter().take(MAX_ROWS).map(|path| code(path)).collect();
        let more = rebuild.len().saturating_sub(MAX_ROWS);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        let _ = writeln!(
            doc,
            "> [!WARNING]\n> {} file{} need{} a rebuild to be proven: {}{more}\n",
            rebuild.len(),
            plural(rebuild.len()),
            if rebuild.len() == 1 { "s" } else { "" },
            shown.join(", ")
        );
    }

    for (index, section) in view.sections.iter().enumerate() {
        if index > 0 {
            doc.push('\n');
        }
        let _ = writeln!(doc, "| **{}** | |\n| --- | --- |", section.title);
        facts(&mut doc, &section.facts);
    }

    let mut diffs_left_out = 0;
    for (severity, list) in groups(view.findings) {
        let _ = writeln!(doc, "\n### {} ({})\n", capitalise(severity_label(severity)), list.len());
        doc.push_str("| Code | Path | Detail |\n| --- | --- | --- |\n");
        for finding in list.iter().take(MAX_ROWS) {
            let path = finding.path.as_deref().map(code).unwrap_or_default();
            let _ = writeln!(doc, "| {} | {path} | {} |", code(finding.code.as_str()), text(&finding.detail));
        }
        if list.len() > MAX_ROWS {
            let _ = writeln!(
                doc,
                "\n*… {} more {} findings (see the JSON report)*",
                list.len() - MAX_ROWS,
                severity_label(severity)
            );
        }
        for finding in list.iter().filter(|finding| finding.diff.is_some()) {
            let Some(diff) = &finding.diff else { continue };
            let block = details(finding.path.as_deref().unwrap_or(""), finding.code.as_str(), diff, severity);
            // Leave room for the notes that follow.
            if doc.len() + block.len() > MAX_BYTES - 2_000 {
                diffs_left_out += 1;
                continue;
            }
            doc.push_str(&block);
        }
    }
    if diffs_left_out > 0 {
        let _ = writeln!(
            doc,
            "\n*{diffs_left_out} diff{} left out to keep this summary short (see the HTML or JSON report)*",
            plural(diffs_left_out)
        );
    }
    if doc.len() > MAX_BYTES {
        // Only the tables can still be this long (tens of thousands of findings): cut at a line.
        let mut end = MAX_BYTES - 200;
        while !doc.is_char_boundary(end) {
            end -= 1;
        }
        let end = doc[..end].rfind('\n').unwrap_or(0);
        doc.truncate(end);
        doc.push_str("\n\n*… the rest of this report was cut to keep it short (see the JSON report)*\n");
    }
    doc
}

/// The rows of a facts table; values linked where verified data gave them a link.
fn facts(doc: &mut String, facts: &[super::Fact]) {
    for fact in facts {
        let value = if fact.code { code(&fact.value) } else { text(&fact.value) };
        let value = match fact.link.as_deref().and_then(super::links::https) {
            Some(link) => format!("[{value}]({link})"),
            None => value,
        };
        let _ = writeln!(doc, "| {} | {value} |", fact.label);
    }
}

/// A collapsible diff: the summary in HTML (escaped), the diff in a fenced block longer than any
/// run of backticks in it.
fn details(path: &str, code_name: &str, diff: &str, severity: Severity) -> String {
    let (lines, omitted) = head_lines(diff, MAX_DIFF_LINES);
    let longest_run = lines.iter().map(|line| longest_backtick_run(line)).max().unwrap_or(0);
    let fence = "`".repeat((longest_run + 1).max(3));
    let mut block = String::new();
    let open = if severity >= Severity::Mismatch { " open" } else { "" };
    let _ = writeln!(
        block,
        "\n<details{open}><summary><code>{}</code>: {}</summary>\n\n{fence}diff",
        super::html::escape(path),
        super::html::escape(code_name)
    );
    for line in lines {
        let _ = writeln!(block, "{}", visible(&super::clip(line, 500)));
    }
    if omitted > 0 {
        let _ = writeln!(block, "… {omitted} more line{}", plural(omitted));
    }
    let _ = writeln!(block, "{fence}\n\n</details>");
    block
}

fn longest_backtick_run(line: &str) -> usize {
    line.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn capitalise(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Plain text in a paragraph or table cell: HTML and Markdown specials escaped, `@` kept from
/// mentioning anyone, one line, bounded.
fn text(value: &str) -> String {
    let value = super::clip(value, MAX_CELL).replace(['\n', '\t'], " ");
    let value = visible(&value);
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("&#64;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// An inline code span (in a table cell: `|` escaped as GFM wants), one line, bounded.
fn code(value: &str) -> String {
    let value = super::clip(value, MAX_CELL).replace(['\n', '\t'], " ");
    let value = visible(&value).replace('|', "\\|");
    if value.is_empty() {
        return String::new();
    }
    let ticks = "`".repeat(longest_backtick_run(&value) + 1);
    let pad = if value.starts_with('`') || value.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{value}{pad}{ticks}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_code_are_escaped() {
        assert_eq!(text("a <b> & *c* | @d\nx\r"), "a &lt;b&gt; &amp; \\*c\\* \\| &#64;d x␍");
        assert_eq!(code("lib/a|b.js"), "`lib/a\\|b.js`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code(""), "");
    }

    #[test]
    fn diffs_are_fenced_beyond_their_backticks_and_cut() {
        let diff: String = (0..100).map(|i| format!("+```` {i}\n")).collect();
        let block = details("a<b>.js", "content-differs", &diff, Severity::Mismatch);
        assert!(block.contains("<summary><code>a&lt;b&gt;.js</code>: content-differs</summary>"), "{block}");
        assert!(block.contains("\n`````diff\n"), "{block}");
        assert!(block.contains("… 40 more lines\n`````\n"), "{block}");
    }
}
