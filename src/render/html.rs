//! The report as one self-contained HTML file: the verdict, the verified provenance linked to
//! where it can be seen, a file tree coloured by status, and the findings with side-by-side
//! diffs (source left, package right). Inline CSS only: no script, no font or image to fetch, and
//! a Content-Security-Policy that forbids fetching anything. Everything from outside is escaped;
//! element ids are made from indices, never from paths.

use std::collections::BTreeMap;
use std::fmt::Write;

use provdiff_core::{Severity, Verdict};

use super::{View, file_state_label, plural, severity_label};
use crate::report::{FileState, FileStatus};

/// Files drawn in the tree; past it, identical files are counted instead of drawn.
const MAX_TREE_FILES: usize = 10_000;
/// Findings shown per severity.
const MAX_FINDINGS: usize = 2_000;
/// Diffs drawn side by side; past it, only the findings' details are shown.
const MAX_DIFFS: usize = 300;
/// Rows per side-by-side diff.
const MAX_DIFF_ROWS: usize = 500;
/// Characters per diff line.
const MAX_LINE: usize = 4_000;

/// Escapes text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let text = super::visible(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

pub fn render(view: &View<'_>) -> String {
    let mut page = String::with_capacity(64 * 1024);
    let title = format!("provdiff: {} — {}", view.title, view.verdict);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&title)
    );
    // The first finding at each path, for the tree's links.
    let mut anchors: BTreeMap<&str, usize> = BTreeMap::new();
    for (index, finding) in view.findings.iter().enumerate() {
        if let Some(path) = finding.path.as_deref() {
            anchors.entry(path).or_insert(index);
        }
    }
    header(&mut page, view);
    page.push_str("<main>\n");
    facts(&mut page, view);
    page.push_str("<div class=\"columns\">\n");
    if view.compared {
        tree(&mut page, view.files, &anchors);
    }
    findings(&mut page, view);
    page.push_str("</div>\n</main>\n");
    let _ = writeln!(
        page,
        "<footer>Written by {} {}. This file fetches nothing; its links lead to the repository and the \
         transparency log named by verified attestations.</footer>\n</body>\n</html>",
        escape(crate::report::Tool::current().name),
        escape(crate::report::Tool::current().version)
    );
    page
}

fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Identical | Verdict::Equivalent | Verdict::Explained => "good",
        Verdict::Inconclusive => "unsure",
        Verdict::SourceUnavailable => "gone",
        Verdict::Mismatch | Verdict::Unverified => "bad",
    }
}

fn header(page: &mut String, view: &View<'_>) {
    let _ = writeln!(
        page,
        "<header id=\"verdict\" class=\"verdict {}\">\n<div class=\"word\">{}</div>\n<h1>{}</h1>\n<p class=\"sentence\">{}</p>\n<p class=\"summary\">{}</p>",
        verdict_class(view.verdict),
        escape(view.verdict.as_str()),
        escape(&view.title),
        escape(view.sentence()),
        escape(&view.summary())
    );
    let rebuild = view.needs_rebuild();
    if !rebuild.is_empty() {
        let _ = writeln!(
            page,
            "<div class=\"rebuild\"><strong>{} file{} need{} a rebuild to be proven:</strong><ul>",
            rebuild.len(),
            plural(rebuild.len()),
            if rebuild.len() == 1 { "s" } else { "" }
        );
        for path in rebuild.iter().take(MAX_FINDINGS) {
            let _ = writeln!(page, "<li><code>{}</code></li>", escape(path));
        }
        if rebuild.len() > MAX_FINDINGS {
            let _ = writeln!(page, "<li>… {} more</li>", rebuild.len() - MAX_FINDINGS);
        }
        page.push_str("</ul></div>\n");
    }
    page.push_str("</header>\n");
}

fn facts(page: &mut String, view: &View<'_>) {
    page.push_str("<div class=\"sections\">\n");
    for section in &view.sections {
        let _ =
            writeln!(page, "<section class=\"facts\">\n<h2>{}</h2>\n<table class=\"facts\">", escape(section.title));
        for fact in &section.facts {
            let value = if fact.code { format!("<code>{}</code>", escape(&fact.value)) } else { escape(&fact.value) };
            let value = match fact.link.as_deref().and_then(super::links::https) {
                Some(link) => format!("<a href=\"{}\" rel=\"noopener noreferrer\">{value}</a>", escape(link)),
                None => value,
            };
            let _ = writeln!(page, "<tr><th>{}</th><td>{value}</td></tr>", escape(fact.label));
        }
        page.push_str("</table>\n</section>\n");
    }
    page.push_str("</div>\n");
}

fn state_class(state: FileState) -> &'static str {
    state.as_str()
}

/// How much a status weighs when a directory takes the colour of its worst file.
fn rank(state: FileState) -> u8 {
    match state {
        FileState::Identical => 0,
        FileState::Explained => 1,
        FileState::Inconclusive => 2,
        FileState::OnlyInSource => 3,
        FileState::OnlyInPackage => 4,
        FileState::Mismatch => 5,
    }
}

/// A directory of the tree: its subdirectories and files by name.
#[derive(Default)]
struct Dir<'a> {
    dirs: BTreeMap<&'a str, Dir<'a>>,
    files: Vec<(&'a str, &'a FileStatus)>,
    /// The worst status inside, and how many files differ from identical.
    worst: Option<FileState>,
    differing: usize,
    total: usize,
}

impl<'a> Dir<'a> {
    fn insert(&mut self, path: &'a str, file: &'a FileStatus) {
        self.total += 1;
        if file.status != FileState::Identical {
            self.differing += 1;
        }
        if self.worst.is_none_or(|worst| rank(file.status) > rank(worst)) {
            self.worst = Some(file.status);
        }
        match path.split_once('/') {
            Some((dir, rest)) => self.dirs.entry(dir).or_default().insert(rest, file),
            None => self.files.push((path, file)),
        }
    }
}

fn tree(page: &mut String, files: &[FileStatus], anchors: &BTreeMap<&str, usize>) {
    let mut root = Dir::default();
    let mut identical_left =
        MAX_TREE_FILES.saturating_sub(files.iter().filter(|f| f.status != FileState::Identical).count());
    let mut hidden = 0;
    for file in files {
        if file.status == FileState::Identical {
            if identical_left == 0 {
                hidden += 1;
                continue;
            }
            identical_left -= 1;
        }
        root.insert(&file.path, file);
    }
    page.push_str("<nav id=\"file-tree\">\n<h2>Files</h2>\n<div class=\"legend\">");
    for state in [
        FileState::Identical,
        FileState::Explained,
        FileState::Inconclusive,
        FileState::Mismatch,
        FileState::OnlyInPackage,
        FileState::OnlyInSource,
    ] {
        let count = files.iter().filter(|file| file.status == state).count();
        if count == 0 {
            continue;
        }
        let label = match state {
            FileState::Inconclusive if count > 1 => "need a rebuild",
            FileState::Mismatch if count > 1 => "differ",
            state => file_state_label(state),
        };
        let _ = write!(page, "<span class=\"chip {}\">{count} {label}</span>", state_class(state));
    }
    page.push_str(
        "</div>\n<label class=\"toggle\"><input type=\"checkbox\" id=\"hide-identical\"> hide identical files</label>\n\
         <ul class=\"tree\">\n",
    );
    dir_entries(page, &root, anchors);
    page.push_str("</ul>\n");
    if hidden > 0 {
        let _ = writeln!(page, "<p class=\"note\">… and {hidden} more identical files, not drawn</p>");
    }
    page.push_str("</nav>\n");
}

fn dir_entries(page: &mut String, dir: &Dir<'_>, anchors: &BTreeMap<&str, usize>) {
    for (name, sub) in &dir.dirs {
        let state = sub.worst.unwrap_or(FileState::Identical);
        let open = if sub.differing > 0 { " open" } else { "" };
        let note = if sub.differing > 0 {
            format!("{} of {} differ", sub.differing, sub.total)
        } else {
            format!("{} file{}", sub.total, plural(sub.total))
        };
        let _ = writeln!(
            page,
            "<li class=\"dir {}\"><details{open}><summary><span class=\"name\">{}/</span> <span class=\"count\">{}</span></summary><ul>",
            state_class(state),
            escape(name),
            note
        );
        dir_entries(page, sub, anchors);
        page.push_str("</ul></details></li>\n");
    }
    for (name, file) in &dir.files {
        let label = escape(name);
        let name = match anchors.get(file.path.as_str()) {
            Some(index) => format!("<a href=\"#finding-{index}\">{label}</a>"),
            None => label,
        };
        let _ = writeln!(
            page,
            "<li class=\"file {}\" title=\"{}\"><span class=\"dot\"></span><span class=\"name\">{name}</span> <span class=\"badge\">{}</span></li>",
            state_class(file.status),
            escape(&file.path),
            file_state_label(file.status)
        );
    }
}

fn findings(page: &mut String, view: &View<'_>) {
    page.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    if view.findings.is_empty() {
        page.push_str("<p class=\"note\">None: nothing differs.</p>\n");
    }
    let [left, right] = &view.sides;
    let mut diffs = 0;
    for severity in super::SEVERITY_ORDER {
        // Indices into the findings, for the tree's links.
        let list: Vec<(usize, &provdiff_core::Finding)> =
            view.findings.iter().enumerate().filter(|(_, finding)| finding.severity == severity).collect();
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(
            page,
            "<h3 class=\"sev {}\">{} <span class=\"count\">{}</span></h3>",
            severity_label(severity),
            escape(severity_label(severity)),
            list.len()
        );
        for (index, finding) in list.iter().take(MAX_FINDINGS) {
            let _ = writeln!(page, "<article class=\"finding {}\" id=\"finding-{index}\">", severity_label(severity));
            let _ = write!(page, "<div class=\"head\"><span class=\"code\">{}</span>", escape(finding.code.as_str()));
            if let Some(path) = &finding.path {
                let _ = write!(page, " <code class=\"path\">{}</code>", escape(path));
            }
            let _ = writeln!(page, "</div>\n<p class=\"detail\">{}</p>", escape(&finding.detail));
            if let Some(diff) = &finding.diff {
                if diffs < MAX_DIFFS {
                    diffs += 1;
                    side_by_side(page, diff, left, right, severity);
                } else {
                    page.push_str(
                        "<p class=\"note\">Diff not drawn: too many diffs in one report (see the JSON report).</p>\n",
                    );
                }
            }
            page.push_str("</article>\n");
        }
        if list.len() > MAX_FINDINGS {
            let _ = writeln!(
                page,
                "<p class=\"note\">… {} more {} findings (see the JSON report)</p>",
                list.len() - MAX_FINDINGS,
                severity_label(severity)
            );
        }
    }
    page.push_str("</section>\n");
}

/// One row of a side-by-side diff.
enum Row<'a> {
    Hunk(&'a str),
    Pair { left: Option<(usize, &'a str)>, right: Option<(usize, &'a str)>, changed: bool },
    Note(&'a str),
}

/// Reads a unified diff into side-by-side rows; `None` when it is not one (then it is shown as
/// it is).
fn parse_unified(diff: &str) -> Option<Vec<Row<'_>>> {
    let mut rows = Vec::new();
    let (mut left_no, mut right_no) = (0usize, 0usize);
    let (mut removed, mut added): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let mut in_hunk = false;
    for line in super::lines(diff) {
        if !in_hunk && (line.starts_with("--- ") || line.starts_with("+++ ")) {
            continue;
        }
        if let Some(header) = line.strip_prefix("@@ ") {
            flush(&mut rows, &mut removed, &mut added, &mut left_no, &mut right_no);
            let (l, r) = hunk_starts(header)?;
            left_no = l.saturating_sub(1);
            right_no = r.saturating_sub(1);
            in_hunk = true;
            rows.push(Row::Hunk(line));
            continue;
        }
        if !in_hunk {
            return None;
        }
        if let Some(text) = line.strip_prefix('-') {
            removed.push(text);
        } else if let Some(text) = line.strip_prefix('+') {
            added.push(text);
        } else if let Some(text) = line.strip_prefix(' ').or((line.is_empty()).then_some("")) {
            flush(&mut rows, &mut removed, &mut added, &mut left_no, &mut right_no);
            left_no += 1;
            right_no += 1;
            rows.push(Row::Pair { left: Some((left_no, text)), right: Some((right_no, text)), changed: false });
        } else {
            flush(&mut rows, &mut removed, &mut added, &mut left_no, &mut right_no);
            rows.push(Row::Note(line));
        }
    }
    flush(&mut rows, &mut removed, &mut added, &mut left_no, &mut right_no);
    in_hunk.then_some(rows)
}

/// Pairs the removed lines (left) with the added ones (right), row by row.
fn flush<'a>(
    rows: &mut Vec<Row<'a>>,
    removed: &mut Vec<&'a str>,
    added: &mut Vec<&'a str>,
    left_no: &mut usize,
    right_no: &mut usize,
) {
    for i in 0..removed.len().max(added.len()) {
        let left = removed.get(i).map(|line| {
            *left_no += 1;
            (*left_no, *line)
        });
        let right = added.get(i).map(|line| {
            *right_no += 1;
            (*right_no, *line)
        });
        rows.push(Row::Pair { left, right, changed: true });
    }
    removed.clear();
    added.clear();
}

/// The first line numbers of a hunk header's two ranges (`-12,7 +12,8 @@`).
fn hunk_starts(header: &str) -> Option<(usize, usize)> {
    let mut parts = header.split_whitespace();
    let left = parts.next()?.strip_prefix('-')?;
    let right = parts.next()?.strip_prefix('+')?;
    let start = |range: &str| range.split(',').next()?.parse::<usize>().ok();
    Some((start(left)?, start(right)?))
}

fn side_by_side(page: &mut String, diff: &str, left: &str, right: &str, severity: Severity) {
    let Some(rows) = parse_unified(diff) else {
        let _ = writeln!(page, "<pre class=\"raw\">{}</pre>", escape(&super::clip(diff, MAX_LINE * 10)));
        return;
    };
    let open = if severity >= Severity::Inconclusive { " open" } else { "" };
    let _ = writeln!(
        page,
        "<details class=\"diff\"{open}><summary>side-by-side diff</summary>\n<table class=\"diff\">\n\
         <colgroup><col class=\"no\"><col class=\"text\"><col class=\"no\"><col class=\"text\"></colgroup>\n\
         <thead><tr><th colspan=\"2\">{}</th><th colspan=\"2\">{}</th></tr></thead>\n<tbody>",
        escape(left),
        escape(right)
    );
    let cell = |side: Option<(usize, &str)>, class: &str| match side {
        Some((number, text)) => {
            format!("<td class=\"no\">{number}</td><td class=\"{class}\">{}</td>", escape(&super::clip(text, MAX_LINE)))
        }
        None => "<td class=\"no\"></td><td class=\"empty\"></td>".to_string(),
    };
    for row in rows.iter().take(MAX_DIFF_ROWS) {
        match row {
            Row::Hunk(text) => {
                let _ = writeln!(page, "<tr class=\"hunk\"><td colspan=\"4\">{}</td></tr>", escape(text));
            }
            Row::Note(text) => {
                let _ = writeln!(page, "<tr class=\"note\"><td colspan=\"4\">{}</td></tr>", escape(text));
            }
            Row::Pair { left, right, changed } => {
                let (l, r) = if *changed { ("del", "add") } else { ("ctx", "ctx") };
                let _ = writeln!(page, "<tr>{}{}</tr>", cell(*left, l), cell(*right, r));
            }
        }
    }
    if rows.len() > MAX_DIFF_ROWS {
        let _ =
            writeln!(page, "<tr class=\"note\"><td colspan=\"4\">… {} more rows</td></tr>", rows.len() - MAX_DIFF_ROWS);
    }
    page.push_str("</tbody></table></details>\n");
}

const STYLE: &str = r#"
:root{--bg:#f6f8fa;--card:#fff;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;
--identical:#59636e;--explained:#0969da;--inconclusive:#9a6700;--mismatch:#cf222e;--only-in-package:#bc4c00;--only-in-source:#8250df;
--add:#dafbe1;--add-strong:#aceebb;--del:#ffebe9;--del-strong:#ffcecb;
font-family:system-ui,-apple-system,"Segoe UI","DejaVu Sans",Helvetica,Arial,sans-serif;font-size:15px;line-height:1.45;color:var(--ink);background:var(--bg)}
body{margin:0}
code,pre,.code,table.diff{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
a{color:var(--explained)}
header.verdict{color:#fff;padding:22px 32px 20px;border-bottom:4px solid rgba(0,0,0,.15)}
header.good{background:linear-gradient(135deg,#1a7f37,#2da44e)}
header.unsure{background:linear-gradient(135deg,#9a6700,#bf8700)}
header.bad{background:linear-gradient(135deg,#a40e26,#cf222e)}
header.gone{background:linear-gradient(135deg,#6639ba,#8250df)}
header .word{display:inline-block;text-transform:uppercase;letter-spacing:.08em;font-weight:700;font-size:13px;background:rgba(255,255,255,.2);border-radius:999px;padding:3px 12px}
header h1{margin:10px 0 4px;font-size:26px;font-weight:600;word-break:break-all}
header p{margin:2px 0}
header .summary{opacity:.9}
header .rebuild{margin-top:12px;background:rgba(255,255,255,.15);border-radius:8px;padding:10px 14px}
header .rebuild ul{margin:6px 0 0;padding-left:20px;columns:2}
main{padding:20px 32px 32px;max-width:1600px}
h2{font-size:18px;margin:0 0 12px}
.sections{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:20px;margin-bottom:20px}
.sections>section{margin:0}
section,nav{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:16px 20px;margin-bottom:20px}
table.facts{border-collapse:collapse;width:100%}
table.facts th{text-align:left;color:var(--muted);font-weight:600;white-space:nowrap;padding:4px 16px 4px 0;vertical-align:top;width:1%;font-size:14px}
table.facts td{padding:4px 0;overflow-wrap:anywhere;font-size:14px}
table.facts tr+tr th,table.facts tr+tr td{border-top:1px solid #eef1f4}
.columns{display:grid;grid-template-columns:minmax(260px,360px) minmax(0,1fr);gap:20px;align-items:start}
.columns>#findings:only-child{grid-column:1/-1}
#file-tree{position:sticky;top:12px;max-height:calc(100vh - 24px);overflow:auto;margin:0}
.legend{display:flex;flex-wrap:wrap;gap:6px;margin-bottom:10px}
.chip{font-size:12px;border-radius:999px;padding:2px 9px;color:#fff;background:var(--c)}
.toggle{display:block;font-size:13px;color:var(--muted);margin-bottom:8px}
body:has(#hide-identical:checked) .tree li.file.identical,body:has(#hide-identical:checked) .tree li.dir.identical{display:none}
ul.tree,ul.tree ul{list-style:none;margin:0;padding-left:14px}
ul.tree{padding-left:0;font-size:14px}
ul.tree li{margin:1px 0;white-space:nowrap}
ul.tree summary{cursor:pointer}
ul.tree .name,ul.tree .name a{color:var(--c)}
ul.tree .name a{text-decoration:none}ul.tree .name a:hover{text-decoration:underline}
ul.tree li.identical>.name,ul.tree li.identical>details>summary .name{color:var(--ink)}
ul.tree .dir>details>summary .name{font-weight:600}
ul.tree .count{color:var(--muted);font-size:12px}
.dot{display:inline-block;width:8px;height:8px;border-radius:50%;background:var(--c);margin-right:7px;vertical-align:1px}
.badge{font-size:11px;color:var(--c);border:1px solid var(--c);border-radius:4px;padding:0 4px;margin-left:4px}
li.identical .badge{display:none}
.identical{--c:var(--identical)}.explained{--c:var(--explained)}.inconclusive{--c:var(--inconclusive)}
.mismatch{--c:var(--mismatch)}.only-in-package{--c:var(--only-in-package)}.only-in-source{--c:var(--only-in-source)}
.sev.unverified,.finding.unverified{--c:var(--mismatch)}.sev.unavailable,.finding.unavailable{--c:var(--only-in-source)}
.sev.warning,.finding.warning{--c:#9a6700}.sev.info,.finding.info{--c:var(--muted)}
h3.sev{font-size:15px;text-transform:capitalize;color:var(--c);border-bottom:2px solid var(--c);padding-bottom:4px;margin:20px 0 10px}
h3.sev .count{font-weight:400;color:var(--muted)}
.finding{border:1px solid var(--line);border-left:4px solid var(--c);border-radius:8px;padding:10px 14px;margin:10px 0}
.finding .head{display:flex;flex-wrap:wrap;gap:10px;align-items:baseline}
.finding .code{font-weight:600;color:var(--c)}
.finding .path{background:#eff2f5;border-radius:4px;padding:1px 6px;word-break:break-all}
.finding .detail{margin:6px 0 4px;overflow-wrap:anywhere}
.finding:target{box-shadow:0 0 0 3px rgba(9,105,218,.3)}
details.diff>summary{cursor:pointer;color:var(--muted);font-size:13px;margin:6px 0}
table.diff{border-collapse:collapse;width:100%;table-layout:fixed;border:1px solid var(--line);border-radius:6px}
table.diff col.no{width:46px}
table.diff th{background:#f6f8fa;text-align:left;font-weight:600;padding:6px 10px;border-bottom:1px solid var(--line);font-family:system-ui,sans-serif}
table.diff td{padding:1px 8px;vertical-align:top;white-space:pre-wrap;word-break:break-all}
table.diff td.no{color:#8c959f;text-align:right;user-select:none;background:#fafbfc}
table.diff td.del{background:var(--del)}
table.diff td.add{background:var(--add)}
table.diff td.empty{background:#f6f8fa}
table.diff tr.hunk td{background:#ddf4ff;color:var(--muted);padding:3px 10px}
table.diff tr.note td{color:var(--muted);font-style:italic;padding:3px 10px}
pre.raw{background:#f6f8fa;padding:10px;border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere}
.note{color:var(--muted);font-style:italic}
footer{color:var(--muted);font-size:12px;padding:0 32px 24px}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_attributes() {
        assert_eq!(
            escape("<a href=\"x\" onclick='y'>&</a>"),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1b}b\r"), "a␛b␍");
    }

    #[test]
    fn unified_diffs_become_rows_side_by_side() {
        let diff = "--- source/a.js\n+++ package/a.js\n@@ -1,3 +1,4 @@\n one\n-two\n+TWO\n+extra\n three\n\\ No newline at end of file\n";
        let rows = parse_unified(diff).unwrap();
        let described: Vec<String> = rows
            .iter()
            .map(|row| match row {
                Row::Hunk(text) => format!("hunk {text}"),
                Row::Note(text) => format!("note {text}"),
                Row::Pair { left, right, changed } => format!("{left:?} | {right:?} {changed}"),
            })
            .collect();
        assert_eq!(
            described,
            [
                "hunk @@ -1,3 +1,4 @@",
                "Some((1, \"one\")) | Some((1, \"one\")) false",
                "Some((2, \"two\")) | Some((2, \"TWO\")) true",
                "None | Some((3, \"extra\")) true",
                "Some((3, \"three\")) | Some((4, \"three\")) false",
                "note \\ No newline at end of file",
            ]
        );
        assert!(parse_unified("binary files differ").is_none());
    }
}
