//! `package.json`, compared field by field under the publishing tool's rules.
//!
//! npm ships `package.json` as it is on disk, so for npm every difference is a mismatch. pnpm and
//! yarn berry rewrite it when they pack: they resolve `workspace:`, `catalog:` and `jsr:`
//! specifiers, hoist `publishConfig` fields, drop fields and scripts, and write the result with
//! `JSON.stringify(manifest, null, 2)`. Each field that differs is judged on its own: equal to
//! what the tool would write from the attested commit → a `publish-rewrite` (explained), anything
//! else → `package-json-field-differs` (mismatch, install hooks called out). Only when every field
//! is accounted for are the bytes themselves compared with what the tool writes.
//!
//! The rules were read from the tools' sources (pnpm's `@pnpm/exportable-manifest` and `pack`,
//! yarn's `plugin-pack`, `plugin-typescript`, `plugin-jsr` and `plugin-catalog`) and are checked
//! against the real `pnpm pack` and `yarn pack` by `tests/pack_tools_differential.rs`.
//!
//! A published value equal to the source's is never a difference, even where the tool would have
//! rewritten it: tool releases differ in what they rewrite (pnpm 9 leaves `jsr:` alone), and a
//! value the source holds needs no explaining.

use provdiff_core::{Code, Finding, PublishContext, PublishTool};
use serde_json::{Map, Value};

use crate::js::{compact, js_order, stringify, truthy};

const DEPENDENCY_FIELDS: [&str; 4] = ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"];

/// Scripts pnpm leaves out of the packed `package.json`: they run before or around publishing.
const PNPM_PREPUBLISH_SCRIPTS: [&str; 6] =
    ["prepublishOnly", "prepack", "prepare", "postpack", "publish", "postpublish"];

/// Fields pnpm moves from `publishConfig` to the top level (`PUBLISH_CONFIG_WHITELIST`).
const PNPM_HOISTED: [&str; 18] = [
    "bin",
    "engines",
    "type",
    "imports",
    "main",
    "module",
    "typings",
    "types",
    "exports",
    "browser",
    "esnext",
    "es2015",
    "unpkg",
    "umd:main",
    "os",
    "cpu",
    "libc",
    "typesVersions",
];

/// Fields yarn berry copies from `publishConfig` to the top level when truthy (`plugin-pack`,
/// then `plugin-typescript` for the typings).
const YARN_HOISTED: [&str; 9] = ["type", "main", "browser", "module", "exports", "imports", "bin", "typings", "types"];

/// Scripts npm runs when the package is installed (as a dependency, or from git or a directory):
/// a difference in one of them is code that runs on every installing machine.
const INSTALL_HOOKS: [&str; 7] =
    ["preinstall", "install", "postinstall", "prepublish", "preprepare", "prepare", "postprepare"];

/// The outcome for a `package.json` whose bytes differ from the source's.
#[derive(Debug)]
pub(crate) struct ManifestComparison {
    pub findings: Vec<Finding>,
    /// Every difference is explained: no finding is worse than `explained`.
    pub explained: bool,
}

/// Compares a published `package.json` with the source's, or returns `None` when either is not
/// a JSON object (the caller then reports plain content differences).
pub(crate) fn compare(
    path: &str,
    published: &[u8],
    source: &[u8],
    context: &PublishContext,
    max_lines: usize,
) -> Option<ManifestComparison> {
    // npm, pnpm and yarn all strip a UTF-8 byte order mark before parsing the source's file. The
    // published file is parsed as it is: a mark there is a byte pnpm and yarn never write.
    let source_text = source.strip_prefix(b"\xef\xbb\xbf").unwrap_or(source);
    let source_value: Value = serde_json::from_slice(source_text).ok()?;
    let published_value: Value = serde_json::from_slice(published).ok()?;
    let (Value::Object(_), Value::Object(_)) = (&source_value, &published_value) else { return None };
    // Tools that re-serialise see the file as a JavaScript object sees it.
    let (source_value, published_value) = if context.tool.reserialises() {
        (js_order(&source_value), js_order(&published_value))
    } else {
        (source_value, published_value)
    };
    let (Value::Object(source_fields), Value::Object(published_fields)) = (&source_value, &published_value) else {
        return None;
    };
    let mut judge = Judge { context, path, max_lines, findings: Vec::new(), mismatched: false };
    judge.fields(source_fields, published_fields);
    if !judge.mismatched {
        judge.layout(source, source_text, published, &source_value, &published_value);
    }
    if judge.findings.is_empty() {
        // Unreachable when the bytes differ, but a difference must never go without a finding.
        judge.mismatch(Code::PackageJsonLayoutDiffers, "the bytes differ from the source's".to_string(), None);
    }
    let explained = !judge.mismatched;
    Some(ManifestComparison { findings: judge.findings, explained })
}

struct Judge<'a> {
    context: &'a PublishContext,
    path: &'a str,
    max_lines: usize,
    findings: Vec<Finding>,
    mismatched: bool,
}

impl Judge<'_> {
    fn tool(&self) -> PublishTool {
        self.context.tool
    }

    fn explained(&mut self, code: Code, detail: String) {
        self.findings.push(Finding::at(code, self.path, detail));
    }

    fn mismatch(&mut self, code: Code, detail: String, diff: Option<String>) {
        self.mismatched = true;
        let finding = Finding::at(code, self.path, detail);
        self.findings.push(match diff {
            Some(diff) => finding.with_diff(diff),
            None => finding,
        });
    }

    fn fields(&mut self, source: &Map<String, Value>, published: &Map<String, Value>) {
        let source_publish_config = source.get("publishConfig").and_then(Value::as_object);
        for key in union_keys(source, published) {
            let (old, new) = (source.get(key), published.get(key));
            if same(old, new) {
                continue;
            }
            match (key.as_str(), old, new) {
                (field, Some(Value::Object(old)), Some(Value::Object(new))) if DEPENDENCY_FIELDS.contains(&field) => {
                    self.dependencies(field, old, new)
                }
                ("scripts", Some(Value::Object(old)), Some(Value::Object(new))) => self.scripts(old, new),
                ("publishConfig", _, _) => self.publish_config(old, new),
                ("pnpm" | "packageManager", Some(old), None) if self.tool() == PublishTool::Pnpm => self.explained(
                    Code::PublishRewrite,
                    format!("{key}: {} dropped: pnpm leaves the `{key}` field out of the package", show(old)),
                ),
                ("readme", None, Some(Value::String(text))) if self.tool() == PublishTool::Pnpm => self.readme(text),
                (field, _, _) if self.hoists(field) => self.hoisted(field, old, new, source_publish_config),
                _ => self.field_differs(key, old, new, None),
            }
        }
    }

    fn hoists(&self, field: &str) -> bool {
        match self.tool() {
            PublishTool::Pnpm => PNPM_HOISTED.contains(&field),
            PublishTool::YarnBerry => YARN_HOISTED.contains(&field),
            PublishTool::Npm | PublishTool::YarnClassic => false,
        }
    }

    /// A top-level field that the tool may have copied from `publishConfig`.
    fn hoisted(
        &mut self,
        field: &str,
        old: Option<&Value>,
        new: Option<&Value>,
        publish_config: Option<&Map<String, Value>>,
    ) {
        let hoisted = publish_config.and_then(|config| config.get(field)).filter(|value| match self.tool() {
            PublishTool::YarnBerry => truthy(value),
            _ => true,
        });
        match hoisted {
            Some(value) if same(Some(value), new) => self.explained(
                Code::PublishRewrite,
                format!(
                    "{field}: {} → {}: {} copies publishConfig.{field} over it",
                    show_option(old),
                    show(value),
                    self.tool()
                ),
            ),
            Some(value) => {
                let note = format!("{} would copy publishConfig.{field}, {}", self.tool(), show(value));
                self.field_differs(field, old, new, Some(note))
            }
            None => self.field_differs(field, old, new, None),
        }
    }

    /// pnpm removes the fields it hoists from `publishConfig`, and `publishConfig` itself when
    /// nothing is left; yarn leaves it as it is.
    fn publish_config(&mut self, old: Option<&Value>, new: Option<&Value>) {
        if self.tool() != PublishTool::Pnpm {
            return self.field_differs("publishConfig", old, new, None);
        }
        let expected = match old {
            Some(Value::Object(config)) => {
                let rest: Map<String, Value> =
                    config.iter().filter(|(key, _)| !PNPM_HOISTED.contains(&key.as_str())).map(clone_entry).collect();
                (!rest.is_empty()).then_some(Value::Object(rest))
            }
            other => other.cloned(),
        };
        if same(expected.as_ref(), new) {
            self.explained(
                Code::PublishRewrite,
                format!(
                    "publishConfig: {} → {}: pnpm moves the fields it hoists out of publishConfig",
                    show_option(old),
                    show_option(new)
                ),
            );
        } else {
            let note = format!("pnpm would write {}", show_option(expected.as_ref()));
            self.field_differs("publishConfig", old, new, Some(note));
        }
    }

    fn readme(&mut self, text: &str) {
        let embedded = self.context.readme_files.iter().find(|file| file.content == text.as_bytes());
        match embedded {
            Some(file) => self.explained(
                Code::PublishRewrite,
                format!("readme: added with the text of {}: pnpm's `embed-readme` setting", file.source_path),
            ),
            None => self.field_differs("readme", None, Some(&Value::String(text.to_string())), None),
        }
    }

    fn scripts(&mut self, old: &Map<String, Value>, new: &Map<String, Value>) {
        for name in union_keys(old, new) {
            let (before, after) = (old.get(name), new.get(name));
            if same(before, after) {
                continue;
            }
            let field = format!("scripts.{name}");
            match (before, after) {
                (Some(before), None)
                    if self.tool() == PublishTool::Pnpm && PNPM_PREPUBLISH_SCRIPTS.contains(&name.as_str()) =>
                {
                    self.explained(
                        Code::PublishRewrite,
                        format!(
                            "{field}: {} dropped: pnpm leaves the scripts that run around publishing out of the package",
                            show(before)
                        ),
                    )
                }
                _ => self.field_differs(&field, before, after, None),
            }
        }
    }

    fn dependencies(&mut self, field: &str, old: &Map<String, Value>, new: &Map<String, Value>) {
        // Entry order is not compared: npm ignores it, and pnpm writes rewritten entries in the
        // order its asynchronous resolution finishes.
        for name in union_keys(old, new) {
            let (before, after) = (old.get(name), new.get(name));
            if same(before, after) {
                continue;
            }
            let entry = format!("{field}.{name}");
            let (Some(Value::String(spec)), Some(Value::String(written))) = (before, after) else {
                self.field_differs(&entry, before, after, None);
                continue;
            };
            match rewrite(self.context, field, name, spec) {
                Ok(candidates) => match candidates.iter().find(|candidate| candidate.value == *written) {
                    Some(candidate) => self.explained(
                        Code::PublishRewrite,
                        format!("{entry}: {} → {}: {}", show_str(spec), show_str(written), candidate.reason),
                    ),
                    None => {
                        let wanted: Vec<String> = candidates.iter().map(|c| show_str(&c.value)).collect();
                        let note = format!("{} would write {}", self.tool(), wanted.join(" or "));
                        self.field_differs(&entry, before, after, Some(note));
                    }
                },
                Err(why) => self.field_differs(&entry, before, after, why),
            }
        }
    }

    fn field_differs(&mut self, field: &str, old: Option<&Value>, new: Option<&Value>, note: Option<String>) {
        let change = match (old, new) {
            (Some(old), Some(new)) => format!("{} in the source, {} in the package", show(old), show(new)),
            (None, Some(new)) => format!("{} in the package, not in the source", show(new)),
            (Some(old), None) => format!("{} in the source, not in the package", show(old)),
            (None, None) => "differs".to_string(),
        };
        let mut detail = format!("{field}: {change}");
        if let Some(hook) = field.strip_prefix("scripts.").filter(|name| INSTALL_HOOKS.contains(name)) {
            detail.push_str(&format!(
                "; `{hook}` is an install hook: npm runs it on every machine that installs the package"
            ));
        }
        if let Some(note) = note {
            detail.push_str(&format!("; {note}"));
        }
        let pretty = |value: Option<&Value>| value.map(|value| stringify(value, "  ") + "\n").unwrap_or_default();
        let diff = unified(&format!("{}#{field}", self.path), &pretty(old), &pretty(new), self.max_lines);
        self.mismatch(Code::PackageJsonFieldDiffers, detail, Some(diff));
    }

    /// Every field is accounted for; now the bytes. A tool that re-serialises must have written
    /// exactly `JSON.stringify(value, null, 2)`; npm and yarn 1 ship the source's bytes.
    fn layout(
        &mut self,
        source: &[u8],
        source_text: &[u8],
        published: &[u8],
        source_value: &Value,
        published_value: &Value,
    ) {
        let tool = self.tool();
        if tool.reserialises() {
            let canonical = stringify(published_value, "  ");
            if canonical.as_bytes() != published {
                let diff = unified(self.path, &canonical, &String::from_utf8_lossy(published), self.max_lines);
                self.mismatch(
                    Code::PackageJsonLayoutDiffers,
                    format!(
                        "the values are what {} writes, but not the bytes: {tool} writes JSON.stringify(manifest, null, 2) \
                         with no final newline (diff: what {tool} writes, then the package)",
                        self.context.describe_tool()
                    ),
                    Some(diff),
                );
                return;
            }
            let reordered = top_level_order(source_value, published_value);
            if source_text != stringify(source_value, "  ").as_bytes() || source.len() != source_text.len() || reordered
            {
                self.explained(
                    Code::PublishReformatted,
                    format!(
                        "written anew by {} as JSON.stringify(manifest, null, 2): two-space indentation, no final \
                         newline{}",
                        self.context.describe_tool(),
                        if reordered { ", fields in the order it builds them" } else { "" }
                    ),
                );
            }
        } else {
            let diff = unified(
                self.path,
                &String::from_utf8_lossy(source),
                &String::from_utf8_lossy(published),
                self.max_lines,
            );
            self.mismatch(
                Code::PackageJsonLayoutDiffers,
                format!(
                    "the same fields and values as the source, but other bytes; {} ships package.json as it is",
                    self.context.describe_tool()
                ),
                Some(diff),
            );
        }
    }
}

/// Whether the fields both sides have come in a different order.
fn top_level_order(source: &Value, published: &Value) -> bool {
    let (Value::Object(source), Value::Object(published)) = (source, published) else { return false };
    let common: Vec<&String> = source.keys().filter(|key| published.contains_key(*key)).collect();
    let published_common: Vec<&String> = published.keys().filter(|key| source.contains_key(*key)).collect();
    common != published_common
}

/// A value the tool would write for a dependency specifier, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    value: String,
    reason: String,
}

/// What the publishing tool writes for `name: spec` in `field`: one or more candidates, or why
/// it rewrites nothing (or could not, from what the commit holds).
fn rewrite(context: &PublishContext, field: &str, name: &str, spec: &str) -> Result<Vec<Candidate>, Option<String>> {
    match context.tool {
        PublishTool::Pnpm => pnpm_rewrite(context, field, name, spec).map(|candidate| vec![candidate]).map_err(Some),
        PublishTool::YarnBerry => yarn_rewrite(context, name, spec).map_err(Some),
        PublishTool::Npm | PublishTool::YarnClassic => {
            Err(Some(format!("{} ships package.json as it is", context.describe_tool())))
        }
    }
}

/// pnpm's converters, in its order: `workspace:`, then `catalog:`, then `jsr:`.
fn pnpm_rewrite(context: &PublishContext, field: &str, name: &str, spec: &str) -> Result<Candidate, String> {
    let mut value = spec.to_string();
    let mut reasons = Vec::new();
    if field == "peerDependencies" {
        if value.contains("workspace:") {
            value = pnpm_workspace_peer(context, name, &value)?;
            reasons.push("pnpm resolves workspace: in peer dependencies to the range it names".to_string());
        }
    } else if value.starts_with("workspace:") {
        let (resolved, reason) = pnpm_workspace(context, name, &value)?;
        value = resolved;
        reasons.push(reason);
    }
    if let Some(catalog) = value.strip_prefix("catalog:") {
        let catalog = match catalog.trim() {
            "" => "default".to_string(),
            named => named.to_string(),
        };
        value = catalog_entry(context, &catalog, name, PublishTool::Pnpm)?;
        reasons.push(format!("pnpm resolves catalog: to the {} catalog's entry", catalog_label(&catalog)));
    }
    if value.starts_with("jsr:") {
        value = pnpm_jsr(name, &value)?;
        reasons.push("pnpm writes jsr: as an npm alias of the @jsr scope".to_string());
    }
    Ok(Candidate { value, reason: reasons.join("; ") })
}

/// pnpm's `replaceWorkspaceProtocol` for dependencies other than peers.
fn pnpm_workspace(context: &PublishContext, name: &str, spec: &str) -> Result<(String, String), String> {
    let rest = &spec["workspace:".len()..];
    // `workspace:[ALIAS@][^|~|*]`: the version of the package linked under this name.
    let (head, token) = match rest.chars().last() {
        Some(last @ ('^' | '~' | '*')) => (&rest[..rest.len() - 1], last.to_string()),
        _ => (rest, String::new()),
    };
    let alias_target = head.strip_suffix('@').filter(|target| !target.is_empty());
    if head.is_empty() || alias_target.is_some() {
        let target = alias_target.unwrap_or(name);
        let package = linked_package(context, target)?;
        let version =
            package.version.as_deref().ok_or_else(|| format!("the workspace package {target} has no version"))?;
        let range = if token == "*" { String::new() } else { token };
        let value = if package.name == name {
            format!("{range}{version}")
        } else {
            format!("npm:{}@{range}{version}", package.name)
        };
        return Ok((
            value,
            format!("pnpm resolves workspace: to the version of the workspace package {}", describe(package)),
        ));
    }
    if rest.starts_with("./") || rest.starts_with("../") {
        let dir = join_relative(&context.package_dir, rest);
        let package = context
            .workspace_package_at(&dir)
            .ok_or_else(|| format!("there is no workspace package in {}", show_dir(&dir)))?;
        let version =
            package.version.as_deref().ok_or_else(|| format!("the package in {} has no version", show_dir(&dir)))?;
        let value = if package.name == name { version.to_string() } else { format!("npm:{}@{version}", package.name) };
        return Ok((value, format!("pnpm resolves a workspace: path to the version of {}", describe(package))));
    }
    let value = if rest.contains('@') { format!("npm:{rest}") } else { rest.to_string() };
    Ok((value, "pnpm strips workspace: from a specifier that names its range".to_string()))
}

/// pnpm's `replaceWorkspaceProtocolPeerDependency`: the first `workspace:` anywhere in the
/// specifier, with an optional operator and version after it.
fn pnpm_workspace_peer(context: &PublishContext, name: &str, spec: &str) -> Result<String, String> {
    let Some(at) = spec.find("workspace:") else { return Ok(spec.to_string()) };
    let after = &spec[at + "workspace:".len()..];
    let operator = ["^", "~", "*", ">=", ">", "<=", "<"].into_iter().find(|op| after.starts_with(op)).unwrap_or("");
    let version = version_pattern(&after[operator.len()..]);
    if !version.is_empty() {
        return Ok(spec.replacen("workspace:", "", 1));
    }
    let package = linked_package(context, name)?;
    let linked_version =
        package.version.as_deref().ok_or_else(|| format!("the workspace package {name} has no version"))?;
    let token = if operator == "*" { "" } else { operator };
    let end = at + "workspace:".len() + operator.len();
    Ok(format!("{}{token}{linked_version}{}", &spec[..at], &spec[end..]))
}

/// The longest prefix matching `(\d+|[xX*])(\.(\d+|[xX*])){0,2}`, or `""`.
fn version_pattern(text: &str) -> &str {
    let bytes = text.as_bytes();
    let part = |from: usize| -> Option<usize> {
        match bytes.get(from)? {
            b'x' | b'X' | b'*' => Some(from + 1),
            b if b.is_ascii_digit() => Some(from + bytes[from..].iter().take_while(|b| b.is_ascii_digit()).count()),
            _ => None,
        }
    };
    let Some(mut end) = part(0) else { return "" };
    for _ in 0..2 {
        match bytes.get(end) {
            Some(b'.') => match part(end + 1) {
                Some(next) => end = next,
                None => break,
            },
            _ => break,
        }
    }
    &text[..end]
}

/// pnpm's `parseJsrSpecifier` and `createNpmAliasedSpecifier`.
fn pnpm_jsr(name: &str, spec: &str) -> Result<String, String> {
    let rest = &spec["jsr:".len()..];
    let (package, version) = if rest.starts_with('@') {
        match rest.rfind('@') {
            Some(0) | None => (rest, ""),
            Some(at) => (&rest[..at], &rest[at + 1..]),
        }
    } else if rest.contains('@') {
        return Err(format!("{} is not a specifier pnpm accepts (JSR names have a scope)", show_str(spec)));
    } else {
        (name, rest)
    };
    let npm_name = jsr_npm_name(package).ok_or_else(|| format!("{package:?} is not a scoped JSR package name"))?;
    Ok(if version.is_empty() { format!("npm:{npm_name}") } else { format!("npm:{npm_name}@{version}") })
}

/// `@scope/name` → `@jsr/scope__name`.
fn jsr_npm_name(package: &str) -> Option<String> {
    let (scope, name) = package.strip_prefix('@')?.split_once('/')?;
    Some(format!("@jsr/{scope}__{name}"))
}

/// yarn berry's rewrites: each hook works from the source's value, so exactly one applies.
fn yarn_rewrite(context: &PublishContext, name: &str, spec: &str) -> Result<Vec<Candidate>, String> {
    if let Some(rest) = spec.strip_prefix("workspace:") {
        return yarn_workspace(context, name, rest);
    }
    if let Some(catalog) = spec.strip_prefix("catalog:") {
        let entry = catalog_entry(context, catalog, name, PublishTool::YarnBerry)?;
        // yarn normalises the entry to its default `npm:` protocol and writes it without it.
        let value = entry.strip_prefix("npm:").unwrap_or(&entry).to_string();
        let reason = format!("yarn resolves catalog: to the {} catalog's entry", catalog_label(catalog));
        return Ok(vec![Candidate { value, reason }]);
    }
    if let Some(rest) = spec.strip_prefix("jsr:") {
        // `jsr:RANGE` names this dependency on JSR; `jsr:@scope/name@RANGE` another package.
        let (package, range) = match rest.rfind('@') {
            Some(at) if rest.starts_with('@') && at > 0 => (&rest[..at], &rest[at + 1..]),
            _ => (name, rest),
        };
        let npm_name = match package.strip_prefix('@').and_then(|scoped| scoped.split_once('/')) {
            Some((scope, bare)) => format!("@jsr/{scope}__{bare}"),
            None => format!("@jsr/{package}"),
        };
        let reason = "yarn writes jsr: as an npm alias of the @jsr scope".to_string();
        return Ok(vec![Candidate { value: format!("npm:{npm_name}@{range}"), reason }]);
    }
    Err(format!("{} rewrites only workspace:, catalog: and jsr: specifiers", context.describe_tool()))
}

/// yarn's `plugin-pack` rewrite of `workspace:` ranges.
fn yarn_workspace(context: &PublishContext, name: &str, rest: &str) -> Result<Vec<Candidate>, String> {
    let by_name = context.workspace_package(name);
    let mut candidates = Vec::new();
    match rest {
        "*" | "^" | "~" => {
            let package = by_name.ok_or_else(|| format!("no workspace package is named {name}"))?;
            let version = package.version.as_deref().unwrap_or("0.0.0");
            let token = if rest == "*" { "" } else { rest };
            candidates.push(Candidate {
                value: format!("{token}{version}"),
                reason: format!(
                    "yarn resolves workspace:{rest} to the version of the workspace package {}",
                    describe(package)
                ),
            });
        }
        _ => {
            // A range the workspace satisfies is written without the protocol; a path to the
            // workspace is replaced by its version when it is the workspace's own path.
            if by_name.is_some() && looks_like_range(rest) {
                candidates.push(Candidate {
                    value: rest.to_string(),
                    reason: "yarn strips workspace: from a range".to_string(),
                });
            }
            let root = context.workspace_root.as_deref().unwrap_or("");
            let dir = join_relative(root, rest);
            if let Some(package) = context.workspace_package_at(&dir) {
                let own_path = relative_to(root, &package.dir);
                let value = if package.name == name && rest == own_path {
                    package.version.clone().unwrap_or_else(|| "0.0.0".to_string())
                } else {
                    rest.to_string()
                };
                candidates.push(Candidate {
                    value,
                    reason: format!("yarn resolves a workspace: path to the version of {}", describe(package)),
                });
            }
            if candidates.is_empty() {
                return Err(match by_name {
                    Some(_) => format!("yarn rewrites workspace:{rest} only when it is a range or a workspace's path"),
                    None => format!("no workspace package is named {name} or lives at {}", show_dir(&dir)),
                });
            }
        }
    }
    Ok(candidates)
}

/// Whether `text` could be a semver range (yarn writes a satisfied `workspace:RANGE` as `RANGE`):
/// only the characters ranges are made of, so that no URL, path or alias passes as one.
fn looks_like_range(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || " .-+^~*<>=|".contains(c))
}

fn catalog_entry(context: &PublishContext, catalog: &str, name: &str, tool: PublishTool) -> Result<String, String> {
    if let Some(problem) = &context.catalog_problem {
        return Err(format!("the catalogs cannot be read: {problem}"));
    }
    let entries = match (tool, catalog) {
        (PublishTool::Pnpm, "default") | (PublishTool::YarnBerry, "") => Some(&context.default_catalog),
        _ => context.named_catalogs.get(catalog),
    };
    let label = catalog_label(if catalog.is_empty() { "default" } else { catalog });
    let entry = entries
        .and_then(|entries| entries.get(name))
        .ok_or_else(|| format!("the {label} catalog has no entry for {name}"))?;
    if tool == PublishTool::Pnpm {
        // pnpm refuses these entries, so it cannot have published from them.
        let protocol = entry.split(':').next().unwrap_or("");
        if entry.starts_with("catalog:") || ["workspace", "link", "file"].contains(&protocol) {
            return Err(format!("pnpm refuses the {label} catalog's entry {}", show_str(entry)));
        }
    }
    Ok(entry.clone())
}

fn catalog_label(catalog: &str) -> String {
    if catalog == "default" || catalog.is_empty() { "default".to_string() } else { format!("{catalog:?}") }
}

fn linked_package<'c>(context: &'c PublishContext, name: &str) -> Result<&'c provdiff_core::WorkspacePackage, String> {
    context.workspace_package(name).ok_or_else(|| {
        if context.workspace_packages.iter().any(|package| package.name == name) {
            format!("several workspace packages are named {name}")
        } else {
            format!("no workspace package is named {name}")
        }
    })
}

fn describe(package: &provdiff_core::WorkspacePackage) -> String {
    format!("{} ({})", package.name, show_dir(&package.dir))
}

fn show_dir(dir: &str) -> String {
    if dir.is_empty() { "the repository root".to_string() } else { dir.to_string() }
}

/// `base/rel` normalised (`.` and `..` resolved); `None`-like empty for the root.
pub(crate) fn join_relative(base: &str, relative: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|part| !part.is_empty()).collect();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// `dir` relative to `root` as yarn writes it in a workspace's anchored range (`.` for the root).
fn relative_to(root: &str, dir: &str) -> String {
    let relative =
        if root.is_empty() { dir } else { dir.strip_prefix(root).map_or(dir, |rest| rest.trim_start_matches('/')) };
    if relative.is_empty() { ".".to_string() } else { relative.to_string() }
}

/// The files pnpm or yarn berry make executable, whatever their mode in the source: the bins of
/// the manifest the tool packs with (pnpm: the packed one, after hoisting; yarn: the source's)
/// and `publishConfig.executableFiles`. `None` for tools that keep the source's modes, or when a
/// manifest cannot be read.
pub(crate) fn tool_executables(
    tool: PublishTool,
    published_manifest: Option<&[u8]>,
    source_manifest: Option<&[u8]>,
) -> Option<std::collections::BTreeSet<String>> {
    let parse = |bytes: Option<&[u8]>| -> Option<Map<String, Value>> {
        let bytes = bytes?;
        match serde_json::from_slice(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)).ok()? {
            Value::Object(fields) => Some(fields),
            _ => None,
        }
    };
    let source = parse(source_manifest)?;
    let bins_from = match tool {
        PublishTool::Pnpm => parse(published_manifest)?,
        PublishTool::YarnBerry => source.clone(),
        PublishTool::Npm | PublishTool::YarnClassic => return None,
    };
    let mut paths: Vec<&str> = match bins_from.get("bin") {
        Some(Value::String(path)) => vec![path.as_str()],
        Some(Value::Object(bins)) => bins.values().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let executable_files = source.get("publishConfig").and_then(|config| config.get("executableFiles"));
    paths.extend(executable_files.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str));
    Some(paths.into_iter().map(|path| join_relative("", path)).collect())
}

fn union_keys<'m>(first: &'m Map<String, Value>, second: &'m Map<String, Value>) -> Vec<&'m String> {
    let mut keys: Vec<&String> = second.keys().collect();
    keys.extend(first.keys().filter(|key| !second.contains_key(*key)));
    keys
}

fn clone_entry((key, value): (&String, &Value)) -> (String, Value) {
    (key.clone(), value.clone())
}

/// Equal as `JSON.stringify` writes them: key order inside values matters (`exports` conditions
/// are tried in order), number spelling does not.
fn same(first: Option<&Value>, second: Option<&Value>) -> bool {
    match (first, second) {
        (Some(first), Some(second)) => compact(first) == compact(second),
        (None, None) => true,
        _ => false,
    }
}

const SHOWN_CHARS: usize = 120;

fn show(value: &Value) -> String {
    let text = compact(value);
    if text.chars().count() <= SHOWN_CHARS {
        return text;
    }
    let cut: String = text.chars().take(SHOWN_CHARS).collect();
    format!("{cut}…")
}

fn show_str(text: &str) -> String {
    show(&Value::String(text.to_string()))
}

fn show_option(value: Option<&Value>) -> String {
    value.map(show).unwrap_or_else(|| "(absent)".to_string())
}

fn unified(path: &str, source: &str, published: &str, max_lines: usize) -> String {
    let diff = similar::TextDiff::from_lines(source, published);
    let text =
        diff.unified_diff().context_radius(3).header(&format!("source/{path}"), &format!("package/{path}")).to_string();
    crate::truncate_lines(&text, max_lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use provdiff_core::WorkspacePackage;
    use serde_json::json;

    fn context(tool: PublishTool) -> PublishContext {
        let package = |dir: &str, name: &str, version: &str| WorkspacePackage {
            dir: dir.to_string(),
            name: name.to_string(),
            version: Some(version.to_string()),
        };
        let catalog = |entries: &[(&str, &str)]| entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        PublishContext {
            tool,
            detected_by: "a lockfile".into(),
            package_dir: "packages/a".into(),
            workspace_root: Some(String::new()),
            workspace_packages: vec![
                package("", "root", "0.0.0"),
                package("packages/a", "@scope/a", "1.2.3"),
                package("packages/b", "@scope/b", "2.0.0"),
                package("packages/c", "c", "3.1.4"),
            ],
            default_catalog: catalog(&[("lodash", "^4.17.21"), ("l2", "npm:^4.0.0"), ("fmt", "jsr:@std/fmt@^1.0.0")]),
            named_catalogs: [("react18".to_string(), catalog(&[("react", "^18.2.0")]))].into_iter().collect(),
            readme_files: vec![provdiff_core::ToolFile {
                path: "README.md".into(),
                source_path: "packages/a/README.md".into(),
                content: b"# a\n".to_vec(),
            }],
            ..PublishContext::default()
        }
    }

    /// The source as people write it, the package as the tool writes it.
    fn bytes(tool: PublishTool, source: &Value, published: &Value) -> (Vec<u8>, Vec<u8>) {
        let source_bytes = format!("{}\n", serde_json::to_string_pretty(source).unwrap()).into_bytes();
        let published_bytes = if tool.reserialises() {
            stringify(&js_order(published), "  ").into_bytes()
        } else {
            format!("{}\n", serde_json::to_string_pretty(published).unwrap()).into_bytes()
        };
        (source_bytes, published_bytes)
    }

    fn judge_bytes(tool: PublishTool, source: &[u8], published: &[u8]) -> ManifestComparison {
        compare("package.json", published, source, &context(tool), 200).expect("both sides are JSON objects")
    }

    /// Checks the findings' codes and that each expected fragment appears in its finding's detail.
    fn check(tool: PublishTool, source: Value, published: Value, expected: &[(Code, &str)]) {
        let (source, published) = bytes(tool, &source, &published);
        let outcome = judge_bytes(tool, &source, &published);
        let got: Vec<(Code, &str)> = outcome.findings.iter().map(|f| (f.code, f.detail.as_str())).collect();
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for ((code, detail), (expected_code, fragment)) in got.iter().zip(expected) {
            assert_eq!(code, expected_code, "{got:#?}");
            assert!(detail.contains(fragment), "{detail:?} lacks {fragment:?}");
        }
        let mismatched = expected.iter().any(|(code, _)| code.severity() == provdiff_core::Severity::Mismatch);
        assert_eq!(outcome.explained, !mismatched, "{got:#?}");
    }

    fn base(extra: Value) -> Value {
        let mut value = json!({"name": "@scope/a", "version": "1.2.3"});
        for (key, field) in extra.as_object().unwrap() {
            value[key] = field.clone();
        }
        value
    }

    const REWRITE: Code = Code::PublishRewrite;
    const REFORMAT: Code = Code::PublishReformatted;
    const DIFFERS: Code = Code::PackageJsonFieldDiffers;
    const LAYOUT: Code = Code::PackageJsonLayoutDiffers;

    fn pnpm_dependency(name: &str, spec: &str, written: &str, expected: &[(Code, &str)]) {
        let field = "dependencies";
        check(PublishTool::Pnpm, base(json!({field: {name: spec}})), base(json!({field: {name: written}})), expected);
    }

    #[test]
    fn pnpm_resolves_workspace_specifiers() {
        let cases = [
            ("@scope/b", "workspace:*", "2.0.0"),
            ("c", "workspace:^", "^3.1.4"),
            ("c", "workspace:~", "~3.1.4"),
            ("c", "workspace:", "3.1.4"),
            ("bb", "workspace:@scope/b@~", "npm:@scope/b@~2.0.0"),
            ("bb", "workspace:@scope/b@", "npm:@scope/b@2.0.0"),
            ("c", "workspace:../c", "3.1.4"),
            ("cc", "workspace:../c", "npm:c@3.1.4"),
            ("c", "workspace:^3.0.0", "^3.0.0"),
            ("c", "workspace:other@^1", "npm:other@^1"),
        ];
        for (name, spec, written) in cases {
            for field in ["dependencies", "devDependencies", "optionalDependencies"] {
                check(
                    PublishTool::Pnpm,
                    base(json!({field: {name: spec}})),
                    base(json!({field: {name: written}})),
                    &[(REWRITE, &format!("{field}.{name}: {spec:?} → {written:?}")), (REFORMAT, "pnpm")],
                );
            }
        }
        let peers = [
            ("c", "workspace:^", "^3.1.4"),
            ("c", "workspace:*", "3.1.4"),
            ("c", "workspace:>=", ">=3.1.4"),
            ("c", "workspace:^1.0.0", "^1.0.0"),
            ("c", "workspace:1.x", "1.x"),
            ("c", "^1.0.0 || workspace:^", "^1.0.0 || ^3.1.4"),
        ];
        for (name, spec, written) in peers {
            check(
                PublishTool::Pnpm,
                base(json!({"peerDependencies": {name: spec}})),
                base(json!({"peerDependencies": {name: written}})),
                &[(REWRITE, &format!("peerDependencies.{name}: {spec:?} → {written:?}")), (REFORMAT, "")],
            );
        }
    }

    #[test]
    fn pnpm_resolves_catalogs_and_jsr() {
        pnpm_dependency("lodash", "catalog:", "^4.17.21", &[(REWRITE, "default catalog"), (REFORMAT, "")]);
        pnpm_dependency("lodash", "catalog:default", "^4.17.21", &[(REWRITE, "default"), (REFORMAT, "")]);
        check(
            PublishTool::Pnpm,
            base(json!({"dependencies": {"react": "catalog:react18", "fmt": "catalog:"}})),
            base(json!({"dependencies": {"react": "^18.2.0", "fmt": "npm:@jsr/std__fmt@^1.0.0"}})),
            &[(REWRITE, "\"react18\" catalog"), (REWRITE, "catalog's entry; pnpm writes jsr:"), (REFORMAT, "")],
        );
        check(
            PublishTool::Pnpm,
            base(json!({"dependencies": {"@std/path": "jsr:^1.0.0", "x": "jsr:@luca/flag@1", "y": "jsr:@luca/flag"}})),
            base(
                json!({"dependencies": {"@std/path": "npm:@jsr/std__path@^1.0.0", "x": "npm:@jsr/luca__flag@1", "y": "npm:@jsr/luca__flag"}}),
            ),
            &[(REWRITE, "@std/path"), (REWRITE, "dependencies.x"), (REWRITE, "dependencies.y"), (REFORMAT, "")],
        );
        // A catalog entry that is not there cannot explain anything.
        pnpm_dependency("vue", "catalog:vue3", "^3.0.0", &[(DIFFERS, "the \"vue3\" catalog has no entry for vue")]);
        // pnpm 9 leaves jsr: as it is: an unchanged value needs no explaining.
        check(
            PublishTool::Pnpm,
            base(json!({"dependencies": {"@std/path": "jsr:^1.0.0"}})),
            base(json!({"dependencies": {"@std/path": "jsr:^1.0.0"}})),
            &[(REFORMAT, "")],
        );
    }

    #[test]
    fn pnpm_resolution_must_give_exactly_the_written_value() {
        pnpm_dependency("dep", "workspace:^", "^9.9.9", &[(DIFFERS, "no workspace package is named dep")]);
        check(
            PublishTool::Pnpm,
            base(json!({"dependencies": {"c": "workspace:^"}})),
            base(json!({"dependencies": {"c": "^3.1.5"}})),
            &[(DIFFERS, "\"workspace:^\" in the source, \"^3.1.5\" in the package; pnpm would write \"^3.1.4\"")],
        );
        check(
            PublishTool::Pnpm,
            base(json!({"dependencies": {"c": "workspace:^"}})),
            base(json!({"dependencies": {"c": "^3.1.4", "evil": "1.0.0"}})),
            &[(REWRITE, "dependencies.c"), (DIFFERS, "dependencies.evil: \"1.0.0\" in the package, not in the source")],
        );
    }

    #[test]
    fn pnpm_hoists_publish_config_and_drops_its_own_fields() {
        check(
            PublishTool::Pnpm,
            base(json!({
                "main": "src/index.js",
                "pnpm": {"overrides": {"x": "1"}},
                "packageManager": "pnpm@10.34.9",
                "scripts": {"build": "tsc", "prepare": "tsc", "prepublishOnly": "x", "postinstall": "node i.js"},
                "publishConfig": {"main": "dist/index.js", "exports": {".": "./dist/index.js"}, "bin": {"a": "dist/cli.js"}, "types": "dist/index.d.ts", "access": "public", "registry": "https://example.test/"},
            })),
            base(json!({
                "main": "dist/index.js",
                "publishConfig": {"access": "public", "registry": "https://example.test/"},
                "scripts": {"build": "tsc", "postinstall": "node i.js"},
                "exports": {".": "./dist/index.js"},
                "bin": {"a": "dist/cli.js"},
                "types": "dist/index.d.ts",
            })),
            &[
                (REWRITE, "main: \"src/index.js\" → \"dist/index.js\": pnpm copies publishConfig.main"),
                (REWRITE, "publishConfig: "),
                (REWRITE, "scripts.prepare: \"tsc\" dropped"),
                (REWRITE, "scripts.prepublishOnly"),
                (REWRITE, "exports: (absent) → {\".\":\"./dist/index.js\"}"),
                (REWRITE, "bin"),
                (REWRITE, "types"),
                (REWRITE, "pnpm: {\"overrides\":{\"x\":\"1\"}} dropped"),
                (REWRITE, "packageManager"),
                (REFORMAT, "fields in the order it builds them"),
            ],
        );
        // Everything hoisted: publishConfig goes; a hoisted field pnpm would not copy is a mismatch.
        check(
            PublishTool::Pnpm,
            base(json!({"publishConfig": {"main": "dist/index.js"}})),
            base(json!({"main": "dist/index.js"})),
            &[(REWRITE, "main"), (REWRITE, "publishConfig: {\"main\":\"dist/index.js\"} → (absent)"), (REFORMAT, "")],
        );
        check(
            PublishTool::Pnpm,
            base(json!({"publishConfig": {"main": "dist/index.js"}})),
            base(json!({"main": "dist/evil.js"})),
            &[
                (
                    DIFFERS,
                    "main: \"dist/evil.js\" in the package, not in the source; pnpm would copy publishConfig.main",
                ),
                (REWRITE, "publishConfig"),
            ],
        );
        // A field outside pnpm's whitelist stays in publishConfig.
        check(
            PublishTool::Pnpm,
            base(json!({"publishConfig": {"directory": "dist"}})),
            base(json!({"directory": "dist"})),
            &[(DIFFERS, "directory"), (DIFFERS, "publishConfig")],
        );
    }

    #[test]
    fn scripts_and_install_hooks_are_mismatches() {
        for tool in [PublishTool::Npm, PublishTool::Pnpm, PublishTool::YarnBerry] {
            check(
                tool,
                base(json!({"scripts": {"test": "node t.js"}})),
                base(json!({"scripts": {"test": "node t.js", "postinstall": "node -e 'steal()'"}})),
                &[(
                    DIFFERS,
                    "scripts.postinstall: \"node -e 'steal()'\" in the package, not in the source; `postinstall` is an install hook",
                )],
            );
            check(
                tool,
                base(json!({"scripts": {"test": "node t.js"}})),
                base(json!({"scripts": {"test": "node evil.js"}})),
                &[(DIFFERS, "scripts.test: \"node t.js\" in the source, \"node evil.js\" in the package")],
            );
        }
        // Only pnpm drops pre-publish scripts.
        check(
            PublishTool::YarnBerry,
            base(json!({"scripts": {"prepare": "tsc"}})),
            base(json!({"scripts": {}})),
            &[(DIFFERS, "scripts.prepare: \"tsc\" in the source, not in the package; `prepare` is an install hook")],
        );
    }

    #[test]
    fn other_fields_are_mismatches_whatever_the_tool() {
        for tool in [PublishTool::Npm, PublishTool::YarnClassic, PublishTool::Pnpm, PublishTool::YarnBerry] {
            for (field, old, new) in [
                ("main", json!("index.js"), json!("evil.js")),
                ("bin", json!({"a": "cli.js"}), json!({"a": "evil.js"})),
                (
                    "exports",
                    json!({"import": "./a.mjs", "require": "./a.cjs"}),
                    json!({"require": "./a.cjs", "import": "./a.mjs"}),
                ),
                ("dependencies", json!({"a": "^1.0.0"}), json!({"a": "^1.0.1"})),
            ] {
                let fragment = if field == "dependencies" { "dependencies.a" } else { field };
                check(tool, base(json!({field: old})), base(json!({field: new})), &[(DIFFERS, fragment)]);
            }
        }
        check(
            PublishTool::Npm,
            base(json!({"dependencies": {"c": "workspace:^"}})),
            base(json!({"dependencies": {"c": "^3.1.4"}})),
            &[(DIFFERS, "npm (a lockfile) ships package.json as it is")],
        );
    }

    #[test]
    fn yarn_berry_rewrites() {
        let yarn = PublishTool::YarnBerry;
        check(
            yarn,
            base(
                json!({"dependencies": {"@scope/b": "workspace:*", "c": "workspace:^", "lodash": "catalog:", "l2": "catalog:", "react": "catalog:react18", "@std/path": "jsr:^1.0.0", "x": "jsr:@luca/flag@1", "y": "jsr:1"}}),
            ),
            base(
                json!({"dependencies": {"@scope/b": "2.0.0", "c": "^3.1.4", "lodash": "^4.17.21", "l2": "^4.0.0", "react": "^18.2.0", "@std/path": "npm:@jsr/std__path@^1.0.0", "x": "npm:@jsr/luca__flag@1", "y": "npm:@jsr/y@1"}}),
            ),
            &[
                (REWRITE, "workspace:*"),
                (REWRITE, "workspace:^"),
                (REWRITE, "lodash"),
                (REWRITE, "l2"),
                (REWRITE, "react18"),
                (REWRITE, "@std/path"),
                (REWRITE, "dependencies.x"),
                (REWRITE, "dependencies.y"),
                (REFORMAT, "yarn berry"),
            ],
        );
        check(
            yarn,
            base(
                json!({"optionalDependencies": {"c": "workspace:packages/c", "cc": "workspace:packages/c"}, "devDependencies": {"c": "workspace:~"}, "peerDependencies": {"c": "workspace:^3.0.0"}}),
            ),
            base(
                json!({"optionalDependencies": {"c": "3.1.4", "cc": "packages/c"}, "devDependencies": {"c": "~3.1.4"}, "peerDependencies": {"c": "^3.0.0"}}),
            ),
            &[
                (REWRITE, "optionalDependencies.c"),
                (REWRITE, "optionalDependencies.cc"),
                (REWRITE, "~3.1.4"),
                (REWRITE, "^3.0.0"),
                (REFORMAT, ""),
            ],
        );
        // Only a range passes through; a URL behind workspace: is no range yarn would strip.
        check(
            yarn,
            base(json!({"dependencies": {"c": "workspace:https://example.test/c.tgz"}})),
            base(json!({"dependencies": {"c": "https://example.test/c.tgz"}})),
            &[(DIFFERS, "yarn rewrites workspace:https://example.test/c.tgz only when it is a range")],
        );
        // Hoisted when truthy; publishConfig itself stays; yarn leaves packageManager in.
        check(
            yarn,
            base(
                json!({"main": "src/index.js", "publishConfig": {"main": "dist/index.js", "module": "", "types": "dist/index.d.ts", "access": "public"}}),
            ),
            base(
                json!({"main": "dist/index.js", "publishConfig": {"main": "dist/index.js", "module": "", "types": "dist/index.d.ts", "access": "public"}, "types": "dist/index.d.ts"}),
            ),
            &[
                (REWRITE, "main: \"src/index.js\" → \"dist/index.js\": yarn berry copies publishConfig.main"),
                (REWRITE, "types"),
                (REFORMAT, ""),
            ],
        );
        check(
            yarn,
            base(json!({"publishConfig": {"module": ""}})),
            base(json!({"publishConfig": {"module": ""}, "module": ""})),
            &[(DIFFERS, "module")],
        );
        check(
            yarn,
            base(json!({"packageManager": "yarn@4.18.1", "publishConfig": {"access": "public"}})),
            base(json!({})),
            &[(DIFFERS, "packageManager"), (DIFFERS, "publishConfig")],
        );
    }

    #[test]
    fn layout_is_checked_once_every_field_is_accounted_for() {
        let source = b"{\n    \"name\": \"a\",\n    \"version\": \"1.0.0\"\n}\n";
        // npm ships the bytes: other whitespace is a mismatch even with equal values.
        for tool in [PublishTool::Npm, PublishTool::YarnClassic] {
            let outcome = judge_bytes(tool, source, b"{\"name\":\"a\",\"version\":\"1.0.0\"}");
            assert_eq!(outcome.findings.len(), 1);
            assert_eq!(outcome.findings[0].code, LAYOUT);
            assert!(!outcome.explained);
        }
        // pnpm and yarn write JSON.stringify(value, null, 2) with no final newline, and only that.
        for tool in [PublishTool::Pnpm, PublishTool::YarnBerry] {
            let outcome = judge_bytes(tool, source, b"{\n  \"name\": \"a\",\n  \"version\": \"1.0.0\"\n}");
            assert_eq!(outcome.findings.iter().map(|f| f.code).collect::<Vec<_>>(), [REFORMAT]);
            assert!(outcome.explained);
            for not_written_by_the_tool in [
                &b"{\n  \"name\": \"a\",\n  \"version\": \"1.0.0\"\n}\n"[..],
                b"{\"name\":\"a\",\"version\":\"1.0.0\"}",
                b"{\n  \"version\": \"1.0.0\",\n  \"name\": \"a\",\n  \"name\": \"a\"\n}",
                b"{\n  \"name\": \"a\",\n  \"version\": \"1.0.0\",\n  \"n\": 1.0\n}",
            ] {
                let outcome = judge_bytes(tool, source, not_written_by_the_tool);
                assert!(!outcome.explained, "{:?}", String::from_utf8_lossy(not_written_by_the_tool));
            }
        }
        // Integer keys come first in JavaScript: pnpm's output has them first, and that is explained.
        let source = b"{\"name\":\"a\",\"1\":\"x\"}";
        let outcome = judge_bytes(PublishTool::Pnpm, source, b"{\n  \"1\": \"x\",\n  \"name\": \"a\"\n}");
        assert!(outcome.explained, "{:#?}", outcome.findings);
        // A byte order mark in the source is stripped by the tools.
        let outcome = judge_bytes(PublishTool::Pnpm, b"\xef\xbb\xbf{\"name\": \"a\"}", b"{\n  \"name\": \"a\"\n}");
        assert!(outcome.explained, "{:#?}", outcome.findings);
    }

    #[test]
    fn readme_embedding_and_non_objects() {
        check(
            PublishTool::Pnpm,
            base(json!({})),
            base(json!({"readme": "# a\n"})),
            &[(REWRITE, "readme: added with the text of packages/a/README.md"), (REFORMAT, "")],
        );
        check(PublishTool::Pnpm, base(json!({})), base(json!({"readme": "# b\n"})), &[(DIFFERS, "readme")]);
        assert!(compare("package.json", b"[]", b"{}", &context(PublishTool::Pnpm), 10).is_none());
        assert!(compare("package.json", b"{}", b"{", &context(PublishTool::Pnpm), 10).is_none());
    }

    #[test]
    fn version_pattern_is_pnpms() {
        for (text, expected) in
            [("1.2.3-beta", "1.2.3"), ("x.1", "x.1"), ("1.2.3.4", "1.2.3"), ("^1", ""), ("", ""), ("*.*", "*.*")]
        {
            assert_eq!(version_pattern(text), expected, "{text}");
        }
    }
}
