//! Glob rules as npm's ignore walker reads them: minimatch with `matchBase`, `dot`, `nocase` and
//! `flipNegate`, including partial matching of directories.
//!
//! This is a port of the behaviour, not of the code: brace expansion, `*`, `?`, `**`, character
//! classes (POSIX ones from minimatch 7), escapes and extglobs (`+(a|b)`, `*(…)`, `?(…)`, `@(…)`,
//! `!(…)`).

/// One segment of a parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// `**`: any number of segments.
    Globstar,
    /// A segment without wildcards, compared case-insensitively.
    Literal(String),
    /// A segment with wildcards.
    Wild(Vec<Token>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    AnyChar,
    AnyRun,
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
    /// An extglob: `+(a|b)` one or more, `*(…)` zero or more, `?(…)` at most one, `@(…)` exactly
    /// one of the alternatives, `!(…)` anything that is none of them.
    Ext {
        kind: char,
        alternatives: Vec<Vec<Token>>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ClassItem {
    Char(char),
    Range(char, char),
    Posix(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ignore rule {pattern:?}: {reason}")]
pub struct GlobError {
    pub pattern: String,
    pub reason: &'static str,
}

/// The minimatch behaviours that changed across the versions npm bundled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GlobOptions {
    /// POSIX classes (`[[:digit:]]`), from minimatch 7 (npm 9.6.3).
    pub posix_classes: bool,
    /// minimatch's `matchBase`: a pattern without `/` matches a path's last component.
    pub match_base: bool,
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub negate: bool,
    match_base: bool,
    comment: bool,
    empty: bool,
    /// One pattern per brace expansion, each split into segments.
    set: Vec<Vec<Part>>,
    /// The raw segments, as minimatch's `globParts`.
    pub glob_parts: Vec<Vec<String>>,
}

impl Rule {
    pub fn new(pattern: &str, options: GlobOptions) -> Result<Self, GlobError> {
        let error = |reason| GlobError { pattern: pattern.to_string(), reason };
        let mut rule = Rule {
            negate: false,
            match_base: options.match_base,
            comment: false,
            empty: false,
            set: Vec::new(),
            glob_parts: Vec::new(),
        };
        if pattern.starts_with('#') {
            rule.comment = true;
            return Ok(rule);
        }
        if pattern.is_empty() {
            rule.empty = true;
            return Ok(rule);
        }
        let bangs = pattern.chars().take_while(|&c| c == '!').count();
        rule.negate = bangs % 2 == 1;
        let body = &pattern[bangs..];
        for expanded in brace_expand(body) {
            let parts = level_one_optimize(&expanded);
            let compiled =
                parts.iter().map(|part| compile_part(part, options)).collect::<Result<Vec<_>, _>>().map_err(error)?;
            rule.glob_parts.push(parts);
            rule.set.push(compiled);
        }
        Ok(rule)
    }

    /// minimatch's `match(path, partial)` under npm's options.
    pub fn matches(&self, path: &str, partial: bool) -> bool {
        if self.comment {
            return false;
        }
        if self.empty {
            return path.is_empty();
        }
        if path == "/" && partial {
            return true;
        }
        self.matches_split(&slash_split(path), partial)
    }

    /// [`Rule::matches`] for a path already split with [`split_path`], so that callers testing
    /// one path against many rules split it once.
    pub fn matches_split(&self, file: &[&str], partial: bool) -> bool {
        if self.comment {
            return false;
        }
        if self.empty {
            return file.len() == 1 && file[0].is_empty();
        }
        if partial && file.len() == 2 && file.iter().all(|part| part.is_empty()) {
            return true;
        }
        let filename = file.iter().rev().find(|part| !part.is_empty()).copied().unwrap_or("");
        self.set.iter().any(|pattern| {
            if self.match_base && pattern.len() == 1 {
                match_one(&[filename], pattern, partial)
            } else {
                match_one(file, pattern, partial)
            }
        })
    }
}

/// Splits a path as [`Rule::matches_split`] expects.
pub fn split_path(path: &str) -> Vec<&str> {
    slash_split(path)
}

/// Splits like minimatch: runs of `/` are one separator.
fn slash_split(path: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = path.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'/' {
            parts.push(&path[start..index]);
            while index < bytes.len() && bytes[index] == b'/' {
                index += 1;
            }
            start = index;
        } else {
            index += 1;
        }
    }
    parts.push(&path[start..]);
    parts
}

/// minimatch's level-one optimisation: adjacent `**` collapse and `x/..` cancels.
fn level_one_optimize(pattern: &str) -> Vec<String> {
    let mut set: Vec<String> = Vec::new();
    for part in slash_split(pattern) {
        let previous = set.last().map(String::as_str);
        if part == "**" && previous == Some("**") {
            continue;
        }
        if part == ".." && previous.is_some_and(|p| p != ".." && p != "." && p != "**") {
            set.pop();
            continue;
        }
        set.push(part.to_string());
    }
    if set.is_empty() { vec![String::new()] } else { set }
}

fn compile_part(part: &str, options: GlobOptions) -> Result<Part, &'static str> {
    if part == "**" {
        return Ok(Part::Globstar);
    }
    let chars: Vec<char> = part.chars().collect();
    let (tokens, magic) = parse_tokens(&chars, options);
    if magic {
        Ok(Part::Wild(tokens))
    } else {
        let literal: String = tokens
            .into_iter()
            .map(|token| match token {
                Token::Char(c) => c,
                _ => '?',
            })
            .collect();
        Ok(Part::Literal(literal))
    }
}

/// Tokenises one segment; the flag says whether it holds any wildcard.
fn parse_tokens(chars: &[char], options: GlobOptions) -> (Vec<Token>, bool) {
    let mut tokens = Vec::new();
    let mut index = 0;
    let mut magic = false;
    while index < chars.len() {
        let c = chars[index];
        if matches!(c, '+' | '*' | '?' | '@' | '!')
            && chars.get(index + 1) == Some(&'(')
            && let Some(close) = matching_paren(chars, index + 1)
        {
            let alternatives = split_alternatives(&chars[index + 2..close])
                .into_iter()
                .map(|alternative| parse_tokens(alternative, options).0)
                .collect();
            tokens.push(Token::Ext { kind: c, alternatives });
            magic = true;
            index = close + 1;
            continue;
        }
        match c {
            '\\' if index + 1 < chars.len() => {
                tokens.push(Token::Char(chars[index + 1]));
                index += 2;
                continue;
            }
            '*' => {
                magic = true;
                if tokens.last() != Some(&Token::AnyRun) {
                    tokens.push(Token::AnyRun);
                }
            }
            '?' => {
                magic = true;
                tokens.push(Token::AnyChar);
            }
            '[' => match parse_class(chars, index, options) {
                Some((token, next)) => {
                    magic = true;
                    tokens.push(token);
                    index = next;
                    continue;
                }
                // An unclosed `[` is a literal, as in minimatch.
                None => tokens.push(Token::Char('[')),
            },
            other => tokens.push(Token::Char(other)),
        }
        index += 1;
    }
    (tokens, magic)
}

fn matching_paren(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut index = open;
    while index < chars.len() {
        match chars[index] {
            '\\' => index += 1,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
        index += 1;
    }
    None
}

fn split_alternatives(chars: &[char]) -> Vec<&[char]> {
    let mut parts = Vec::new();
    let (mut depth, mut start, mut index) = (0, 0, 0);
    while index < chars.len() {
        match chars[index] {
            '\\' => index += 1,
            '(' => depth += 1,
            ')' => depth -= 1,
            '|' if depth == 0 => {
                parts.push(&chars[start..index]);
                start = index + 1;
            }
            _ => {}
        }
        index += 1;
    }
    parts.push(&chars[start.min(chars.len())..]);
    parts
}

/// Parses `[...]` starting at `start`; returns the token and the index after `]`.
fn parse_class(chars: &[char], start: usize, options: GlobOptions) -> Option<(Token, usize)> {
    let mut index = start + 1;
    let negated = matches!(chars.get(index), Some('!' | '^'));
    if negated {
        index += 1;
    }
    let mut items = Vec::new();
    let mut first = true;
    while index < chars.len() {
        let c = chars[index];
        if c == ']' && !first {
            return Some((Token::Class { negated, items }, index + 1));
        }
        first = false;
        if options.posix_classes && c == '[' && chars.get(index + 1) == Some(&':') {
            let rest: String = chars[index + 2..].iter().collect();
            if let Some(end) = rest.find(":]") {
                items.push(ClassItem::Posix(rest[..end].to_string()));
                index += 2 + end + 2;
                continue;
            }
        }
        let c = if c == '\\' && index + 1 < chars.len() {
            index += 1;
            chars[index]
        } else {
            c
        };
        if chars.get(index + 1) == Some(&'-') && chars.get(index + 2).is_some_and(|&end| end != ']') {
            let mut end = chars[index + 2];
            let mut skip = 3;
            if end == '\\' && index + 3 < chars.len() {
                end = chars[index + 3];
                skip = 4;
            }
            items.push(ClassItem::Range(c, end));
            index += skip;
            continue;
        }
        items.push(ClassItem::Char(c));
        index += 1;
    }
    None
}

fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(single), None) => single,
        _ => c,
    }
}

fn class_matches(negated: bool, items: &[ClassItem], c: char) -> bool {
    let folded = fold(c);
    let hit = items.iter().any(|item| match item {
        ClassItem::Char(x) => fold(*x) == folded,
        ClassItem::Range(low, high) => {
            (*low..=*high).contains(&c)
                || (*low..=*high).contains(&folded)
                || c.to_uppercase().any(|upper| (*low..=*high).contains(&upper))
        }
        ClassItem::Posix(name) => match name.as_str() {
            "alnum" => c.is_alphanumeric(),
            "alpha" => c.is_alphabetic(),
            "ascii" => c.is_ascii(),
            "blank" => c == ' ' || c == '\t',
            "cntrl" => c.is_control(),
            "digit" => c.is_ascii_digit(),
            "graph" => !c.is_control() && !c.is_whitespace(),
            "lower" | "upper" => c.is_alphabetic(),
            "print" => !c.is_control(),
            "punct" => c.is_ascii_punctuation(),
            "space" => c.is_whitespace(),
            "word" => c.is_alphanumeric() || c == '_',
            "xdigit" => c.is_ascii_hexdigit(),
            _ => false,
        },
    });
    // A class never matches `/`.
    c != '/' && hit != negated
}

fn wild_matches(tokens: &[Token], text: &[char]) -> bool {
    match tokens.split_first() {
        None => text.is_empty(),
        Some((Token::AnyRun, rest)) => (0..=text.len()).any(|skip| wild_matches(rest, &text[skip..])),
        Some((Token::Ext { kind, alternatives }, rest)) => {
            let one = |from: usize| -> Vec<usize> {
                (from..=text.len())
                    .filter(|&to| alternatives.iter().any(|alternative| wild_matches(alternative, &text[from..to])))
                    .collect()
            };
            let ends: Vec<usize> = match kind {
                '@' => one(0),
                '?' => std::iter::once(0).chain(one(0)).collect(),
                '!' => (0..=text.len())
                    .filter(|&to| !alternatives.iter().any(|alternative| wild_matches(alternative, &text[..to])))
                    .collect(),
                // `+` and `*`: every position reachable by repeating an alternative.
                _ => {
                    let mut reached = vec![false; text.len() + 1];
                    let mut frontier = vec![0];
                    while let Some(from) = frontier.pop() {
                        for to in one(from) {
                            if !reached[to] && to > from {
                                reached[to] = true;
                                frontier.push(to);
                            } else if to == from && !reached[to] {
                                reached[to] = true;
                            }
                        }
                    }
                    if *kind == '*' {
                        reached[0] = true;
                    }
                    (0..=text.len()).filter(|&to| reached[to]).collect()
                }
            };
            ends.into_iter().any(|end| wild_matches(rest, &text[end..]))
        }
        Some((token, rest)) => {
            let Some((&c, text_rest)) = text.split_first() else { return false };
            let hit = match token {
                Token::Char(x) => fold(*x) == fold(c),
                Token::AnyChar => true,
                Token::Class { negated, items } => class_matches(*negated, items, c),
                Token::AnyRun | Token::Ext { .. } => false,
            };
            hit && wild_matches(rest, text_rest)
        }
    }
}

fn segment_matches(part: &Part, segment: &str) -> bool {
    match part {
        Part::Globstar => true,
        Part::Literal(literal) => {
            if literal.is_ascii() && segment.is_ascii() {
                literal.eq_ignore_ascii_case(segment)
            } else {
                literal.chars().map(fold).eq(segment.chars().map(fold))
            }
        }
        Part::Wild(tokens) => {
            // `dot: true` lets wildcards match a leading dot, but never `.` or `..`.
            if segment == "." || segment == ".." {
                return false;
            }
            let chars: Vec<char> = segment.chars().collect();
            wild_matches(tokens, &chars)
        }
    }
}

/// minimatch's `matchOne` with `dot: true`.
fn match_one(file: &[&str], pattern: &[Part], partial: bool) -> bool {
    let (mut fi, mut pi) = (0, 0);
    while fi < file.len() && pi < pattern.len() {
        let part = &pattern[pi];
        let segment = file[fi];
        if *part == Part::Globstar {
            let rest = pi + 1;
            if rest == pattern.len() {
                return file[fi..].iter().all(|segment| *segment != "." && *segment != "..");
            }
            let mut from = fi;
            while from < file.len() {
                let swallowed = file[from];
                if match_one(&file[from..], &pattern[rest..], partial) {
                    return true;
                }
                if swallowed == "." || swallowed == ".." {
                    break;
                }
                from += 1;
            }
            return partial && from == file.len();
        }
        if !segment_matches(part, segment) {
            return false;
        }
        fi += 1;
        pi += 1;
    }
    if fi == file.len() && pi == pattern.len() {
        true
    } else if fi == file.len() {
        partial
    } else {
        // A trailing slash on the file (`dir/`) still matches a pattern without one.
        fi == file.len() - 1 && file[fi].is_empty()
    }
}

/// Bash-style brace expansion as minimatch does it: `{a,b}`, nesting, `{1..3}` and `{a..c}`.
pub fn brace_expand(pattern: &str) -> Vec<String> {
    let chars: Vec<char> = pattern.chars().collect();
    // Find the first top-level `{` with a matching `}` that contains a `,` or `..`.
    let mut index = 0;
    while index < chars.len() {
        if chars[index] == '\\' {
            index += 2;
            continue;
        }
        if chars[index] == '{'
            && let Some(close) = matching_brace(&chars, index)
        {
            let inner: String = chars[index + 1..close].iter().collect();
            let alternatives = split_top_level_commas(&inner);
            let options: Option<Vec<String>> =
                if alternatives.len() > 1 { Some(alternatives) } else { expand_range(&inner) };
            if let Some(options) = options {
                let prefix: String = chars[..index].iter().collect();
                let suffix: String = chars[close + 1..].iter().collect();
                return options.iter().flat_map(|option| brace_expand(&format!("{prefix}{option}{suffix}"))).collect();
            }
        }
        index += 1;
    }
    vec![pattern.to_string()]
}

fn matching_brace(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut index = open;
    while index < chars.len() {
        match chars[index] {
            '\\' => index += 1,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(index);
                }
            }
            _ => {}
        }
        index += 1;
    }
    None
}

fn split_top_level_commas(inner: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    let mut escaped = false;
    for c in inner.chars() {
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                current.push(c);
            }
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth -= 1;
                current.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
}

fn expand_range(inner: &str) -> Option<Vec<String>> {
    let (start, end) = inner.split_once("..")?;
    if let (Ok(a), Ok(b)) = (start.parse::<i64>(), end.parse::<i64>()) {
        let range: Vec<i64> = if a <= b { (a..=b).collect() } else { (b..=a).rev().collect() };
        return Some(range.into_iter().map(|n| n.to_string()).collect());
    }
    let (mut a, mut b) = (start.chars(), end.chars());
    if let (Some(x), None, Some(y), None) = (a.next(), a.next(), b.next(), b.next()) {
        let range: Vec<char> = if x <= y { (x..=y).collect() } else { (y..=x).rev().collect() };
        return Some(range.into_iter().map(String::from).collect());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Rule::new(pattern, GlobOptions { posix_classes: true, match_base: true }).unwrap().matches(path, false)
    }

    #[test]
    fn basics() {
        assert!(m("*.js", "a.js"));
        assert!(m("*.js", "lib/a.js"), "matchBase");
        assert!(m("*.JS", "lib/a.js"), "nocase");
        assert!(m("*", ".hidden"), "dot");
        assert!(!m("/lib", "src/lib"));
        assert!(m("/lib", "/lib"));
        assert!(m("lib/**", "lib/a/b.js"));
        assert!(m("**/.git", "a/b/.git"));
        assert!(m("**/.git", ".git"));
        assert!(!m("lib/*.js", "lib/a/b.js"));
        assert!(m("lib/", "lib/"));
        assert!(!m("lib/", "lib"));
        assert!(m("a/**/b", "a/b"));
        assert!(m("a/**/b", "a/x/y/b"));
        assert!(m("[ab].js", "b.js"));
        assert!(!m("[!ab].js", "b.js"));
        assert!(m("\\*.js", "*.js"));
        assert!(!m("\\*.js", "a.js"));
    }

    #[test]
    fn always_included_readme_rule() {
        let rule = Rule::new("!/readme{,.*[^~$]}", GlobOptions { posix_classes: false, match_base: true }).unwrap();
        assert!(rule.negate);
        assert!(rule.matches("/README.md", false));
        assert!(rule.matches("/readme", false));
        assert!(!rule.matches("/readme.md~", false));
        assert!(!rule.matches("/docs/readme.md", false));
    }

    #[test]
    fn partial_matching_enters_directories() {
        let rule = Rule::new("!lib/deep/x.js", GlobOptions { posix_classes: false, match_base: true }).unwrap();
        assert!(rule.matches("lib", true));
        assert!(rule.matches("lib/deep", true));
        assert!(!rule.matches("src", true));
    }

    #[test]
    fn braces() {
        assert_eq!(brace_expand("a{b,c}d"), ["abd", "acd"]);
        assert_eq!(brace_expand("x{,.*}"), ["x", "x.*"]);
        assert_eq!(brace_expand("{1..3}"), ["1", "2", "3"]);
        assert_eq!(brace_expand("a{b,{c,d}}"), ["ab", "ac", "ad"]);
        assert_eq!(brace_expand("{a}"), ["{a}"]);
    }

    #[test]
    fn extglobs() {
        assert!(m("+(k|l).js", "kl.js"));
        assert!(m("+(k|l).js", "k.js"));
        assert!(!m("+(k|l).js", ".js"));
        assert!(m("*(k|l).js", ".js"));
        assert!(m("@(m).js", "m.js"));
        assert!(!m("@(m).js", "mm.js"));
        assert!(m("?(a|b)c", "c") && m("?(a|b)c", "ac") && !m("?(a|b)c", "abc"));
        // A leading `!` negates the rule (minimatch has no special case for `!(`), so the
        // negative extglob is tested after a prefix.
        assert!(m("x!(a).js", "xb.js") && !m("x!(a).js", "xa.js"));
    }

    #[test]
    fn posix_classes_depend_on_the_minimatch_version() {
        let new = Rule::new("[[:digit:]]x.txt", GlobOptions { posix_classes: true, match_base: true }).unwrap();
        let old = Rule::new("[[:digit:]]x.txt", GlobOptions { posix_classes: false, match_base: true }).unwrap();
        assert!(new.matches("1x.txt", false));
        assert!(!old.matches("1x.txt", false));
        assert!(old.matches("d]x.txt", false));
    }
}
