//! The text formats of npm's configuration: `.npmrc` files (npm's `ini` dialect), `${VAR}`
//! expansion, and the names of `npm_config_*` environment variables.
//!
//! Pure functions over strings; reading files and choosing which ones is `config.rs`'s job.

use std::collections::BTreeMap;

/// One `key = value` line of an npmrc file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub value: String,
    /// 1-based line number, for messages.
    pub line: usize,
}

/// Parses an npmrc file as npm's `ini` package does, keeping only the top-level keys (npm
/// ignores keys under `[section]` headers for its configuration).
///
/// - Lines whose first non-blank character is `;` or `#` are comments; blank lines are skipped.
/// - A key runs up to the first `=`; a line without `=` sets the key to `true`.
/// - Keys and values are trimmed. A value in double quotes is read as a JSON string (left as
///   written if that fails); in single quotes, the quotes are removed. An unquoted value ends at
///   the first `;` or `#` not escaped by `\`.
/// - `key[] = value` appends to a list; for the settings provdiff reads, the last one wins.
pub(crate) fn parse(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut in_section = false;
    let physical = text.split('\n').enumerate().flat_map(|(index, line)| line.split('\r').map(move |l| (index + 1, l)));
    for (line_number, line) in physical {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            in_section = true;
            continue;
        }
        if in_section {
            continue;
        }
        let (raw_key, raw_value) = match line.split_once('=') {
            Some((key, value)) => (key, Some(value)),
            None => (line, None),
        };
        let mut key = unquote(raw_key);
        if key.len() > 2 && key.ends_with("[]") {
            key.truncate(key.len() - 2);
        }
        if key.is_empty() || key == "__proto__" {
            continue;
        }
        let value = raw_value.map_or_else(|| "true".to_string(), unquote);
        entries.push(Entry { key, value, line: line_number });
    }
    entries
}

/// npm's `ini` `unsafe()`: trims, unquotes, and cuts an unquoted value at an unescaped comment.
fn unquote(raw: &str) -> String {
    let value = raw.trim();
    let quoted = value.len() >= 2
        && ((value.starts_with('"') && value.ends_with('"')) || (value.starts_with('\'') && value.ends_with('\'')));
    if quoted {
        if value.starts_with('\'') {
            let inner = &value[1..value.len() - 1];
            // npm JSON-parses what is left; a single-quoted plain string is kept as it is.
            return serde_json::from_str::<String>(inner).unwrap_or_else(|_| inner.to_string());
        }
        return serde_json::from_str::<String>(value).unwrap_or_else(|_| value.to_string());
    }
    let mut out = String::with_capacity(value.len());
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            if !matches!(c, '\\' | ';' | '#') {
                out.push('\\');
            }
            out.push(c);
            escaped = false;
        } else if c == ';' || c == '#' {
            break;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    if escaped {
        out.push('\\');
    }
    out.trim().to_string()
}

/// npm's `${VAR}` expansion, applied to both keys and values of every configuration source.
///
/// `${VAR}` becomes the variable's value, or stays as written when it is unset; `${VAR?}` becomes
/// the empty string when unset. A backslash before `$` escapes it: an odd number of backslashes
/// leaves the expression literal (consuming half of them, rounded up), an even number keeps half.
pub(crate) fn expand_env(text: &str, env: &BTreeMap<String, String>) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut index = 0;
    while index + 1 < bytes.len() {
        if !(bytes[index] == b'$' && bytes[index + 1] == b'{') {
            index += 1;
            continue;
        }
        let name_start = index + 2;
        let Some(close) = text[name_start..].find('}').map(|offset| name_start + offset) else {
            break;
        };
        let inner = &text[name_start..close];
        let (name, optional) = match inner.strip_suffix('?') {
            Some(name) => (name, true),
            None => (inner, false),
        };
        if name.is_empty() || name.contains(['$', '{', '?']) {
            index += 1;
            continue;
        }
        // Count the backslashes right before `$` (the regex's `(?<!\\)(\\*)` takes them all).
        let escapes = text[copied..index].bytes().rev().take_while(|&b| b == b'\\').count();
        let expression_start = index - escapes;
        out.push_str(&text[copied..expression_start]);
        let original = &text[index..=close];
        if escapes % 2 == 1 {
            out.push_str(&"\\".repeat(escapes / 2));
            out.push_str(original);
        } else {
            out.push_str(&"\\".repeat(escapes / 2));
            match env.get(name) {
                Some(value) => out.push_str(value),
                None if optional => {}
                None => out.push_str(&format!("${{{name}}}")),
            }
        }
        copied = close + 1;
        index = close + 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// The configuration key an environment variable sets, if it is an npm one: the name must start
/// with `npm_config_` in any case and the value must not be empty. Keys starting with `//`
/// (credentials) are kept as written; others have every `_` but a leading one turned into `-`
/// and are lowercased, as npm does (`NPM_CONFIG_HTTPS_PROXY` sets `https-proxy`).
pub(crate) fn env_config_key(name: &str) -> Option<String> {
    const PREFIX: &str = "npm_config_";
    if name.len() <= PREFIX.len() || !name.is_char_boundary(PREFIX.len()) {
        return None;
    }
    let (prefix, key) = name.split_at(PREFIX.len());
    if !prefix.eq_ignore_ascii_case(PREFIX) {
        return None;
    }
    if key.starts_with("//") {
        return Some(key.to_string());
    }
    let mut out = String::with_capacity(key.len());
    for (index, c) in key.chars().enumerate() {
        out.push(if c == '_' && index > 0 { '-' } else { c.to_ascii_lowercase() });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_parse(text: &str, expected: &[(&str, &str)]) {
        let entries = parse(text);
        let actual: Vec<(&str, &str)> = entries.iter().map(|e| (e.key.as_str(), e.value.as_str())).collect();
        assert_eq!(actual, expected, "parsing {text:?}");
    }

    #[test]
    fn parses_npmrc_lines_as_npm_does() {
        check_parse("registry=http://127.0.0.1:1/\n", &[("registry", "http://127.0.0.1:1/")]);
        check_parse("  registry = http://a/ ; a comment\n", &[("registry", "http://a/")]);
        check_parse("# comment\n; comment\n\nkey\n", &[("key", "true")]);
        check_parse(r#"key = "quoted ; not a comment""#, &[("key", "quoted ; not a comment")]);
        check_parse("key = 'single'", &[("key", "single")]);
        check_parse(r"key = a\;b\#c\d", &[("key", r"a;b#c\d")]);
        check_parse("//127.0.0.1:8/npm/:_authToken=abc=def", &[("//127.0.0.1:8/npm/:_authToken", "abc=def")]);
        check_parse("list[] = a\nlist[] = b", &[("list", "a"), ("list", "b")]);
        check_parse("a=1\n[section]\nb=2\n", &[("a", "1")]);
        check_parse("a=1\r\nb=2\r\n", &[("a", "1"), ("b", "2")]);
        check_parse("=novalue\n", &[]);
    }

    #[test]
    fn numbers_lines_for_messages() {
        let entries = parse("# c\r\na=1\r\n\r\nb=2\n");
        assert_eq!(entries.iter().map(|e| e.line).collect::<Vec<_>>(), [2, 4]);
    }

    fn check_expand(text: &str, expected: &str) {
        let env: BTreeMap<String, String> =
            [("TOKEN", "secret"), ("EMPTY", "")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(expand_env(text, &env), expected, "expanding {text:?}");
    }

    #[test]
    fn expands_environment_variables_as_npm_does() {
        check_expand("${TOKEN}", "secret");
        check_expand("a-${TOKEN}-b", "a-secret-b");
        check_expand("${UNSET}", "${UNSET}");
        check_expand("${UNSET?}", "");
        check_expand("${EMPTY}", "");
        check_expand(r"\${TOKEN}", "${TOKEN}");
        check_expand(r"\\${TOKEN}", r"\secret");
        check_expand(r"\\\${TOKEN}", r"\${TOKEN}");
        check_expand("${TOKEN}${TOKEN}", "secretsecret");
        check_expand("$TOKEN {TOKEN} ${", "$TOKEN {TOKEN} ${");
        check_expand("é${TOKEN}é", "ésecreté");
    }

    #[test]
    fn maps_environment_variable_names_to_keys() {
        assert_eq!(env_config_key("npm_config_registry").as_deref(), Some("registry"));
        assert_eq!(env_config_key("NPM_CONFIG_REGISTRY").as_deref(), Some("registry"));
        assert_eq!(env_config_key("Npm_Config_Https_Proxy").as_deref(), Some("https-proxy"));
        assert_eq!(env_config_key("npm_config__authToken").as_deref(), Some("_authtoken"));
        assert_eq!(env_config_key("npm_config_@scope:registry").as_deref(), Some("@scope:registry"));
        assert_eq!(
            env_config_key("npm_config_//127.0.0.1:8/:_authToken").as_deref(),
            Some("//127.0.0.1:8/:_authToken")
        );
        assert_eq!(env_config_key("npm_config_"), None);
        assert_eq!(env_config_key("NODE_ENV"), None);
    }
}
