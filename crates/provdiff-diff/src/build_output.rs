//! Files only in the package: likely build outputs, which only a rebuild can prove
//! (`build-output`, inconclusive), or unexplained (`only-in-package`, mismatch).
//!
//! A file is a likely build output only with two kinds of evidence at once:
//! - **what builds it**: the package's build step (a lifecycle script, or a `run:` step of the
//!   attested workflow), or — for a file compiled from a matching source — a compiler's config
//!   file at the package's root (`tsconfig.json`, `babel.config.js`, ...);
//! - **what it is built from**: a matching source among *all* the source's files at the
//!   package's directory, packed or not (`dist/x.js`, `lib/x.js`, `x.mjs`, `dist/x.d.ts` for
//!   `src/x.ts`; `dist/style.css` for `src/style.scss`), a source map of a file that is itself a
//!   likely build output, a file the source's `package.json` names exactly as an entry point
//!   (`main`, `exports`, `bin`, ...: a bundle), or a nested `package.json` that only sets `type`
//!   (what dual-package builds write).
//!
//! Evidence comes from the source, never from the package under judgement: a source map shipped
//! in the package may name any source it likes, and an `exports` pattern (`./*`) names no file
//! in particular, so neither ties a file to a build on its own (the finding still repeats what
//! the map claims). Never without evidence: a file an install hook runs, or whose name is a
//! source's (`.ts`, `.scss`, ...), counts as a build output only when a source it is copied or
//! built from exists; the root `package.json` never does. Everything else only in the package is
//! unexplained.
//! This module reads only what it is given: the two trees and the source's file list.

use std::collections::{BTreeSet, HashMap, HashSet};

use provdiff_core::{Code, FileEntry, FileTree, Finding};
use serde_json::Value;

use crate::CompareOptions;
use crate::manifest::INSTALL_HOOKS;

/// Directory names builds write to, stripped from an output's path to find its source.
const OUTPUT_DIRS: &[&str] = &[
    "dist",
    "lib",
    "build",
    "out",
    "output",
    "esm",
    "cjs",
    "es",
    "es5",
    "es6",
    "es2015",
    "es2017",
    "es2018",
    "es2019",
    "es2020",
    "es2022",
    "esnext",
    "mjs",
    "module",
    "modules",
    "commonjs",
    "umd",
    "amd",
    "iife",
    "browser",
    "node",
    "types",
    "typings",
    "declarations",
    "dts",
    "bundle",
    "bundles",
    "compiled",
    "release",
    "min",
    "legacy",
    "modern",
];

/// Directory names sources live in, stripped from a source's path.
const SOURCE_DIRS: &[&str] = &["src", "source", "sources", "lib", "ts", "typescript", "js"];

/// Name parts builds add before the extension (`index.min.js`, `react.production.min.js`).
const OUTPUT_QUALIFIERS: &[&str] = &[
    "min",
    "umd",
    "esm",
    "es",
    "cjs",
    "mjs",
    "iife",
    "global",
    "modern",
    "browser",
    "node",
    "bundle",
    "prod",
    "production",
    "dev",
    "development",
];

const TYPESCRIPT: &[&str] = &["ts", "tsx", "mts", "cts"];
const JAVASCRIPT: &[&str] = &["js", "jsx", "mjs", "cjs"];
const COMPONENTS: &[&str] = &["vue", "svelte"];
const COFFEE: &[&str] = &["coffee", "litcoffee"];
const STYLES: &[&str] = &["css", "scss", "sass", "less", "styl", "pcss", "postcss"];
const DECLARATIONS: &[&str] = &["d.ts", "d.mts", "d.cts"];
/// Extensions that name a source, never what a build writes (unless it copies one).
const SOURCE_ONLY: &[&str] =
    &["ts", "tsx", "mts", "cts", "vue", "svelte", "coffee", "litcoffee", "scss", "sass", "less", "styl"];

/// Config files of compilers and bundlers, by name prefix, at the package's root.
const COMPILER_CONFIGS: &[&str] = &[
    "tsconfig.",
    "jsconfig.",
    "babel.config.",
    ".babelrc",
    ".swcrc",
    "swc.config.",
    "rollup.config.",
    "rolldown.config.",
    "webpack.config.",
    "rspack.config.",
    "vite.config.",
    "tsup.config.",
    "tsdown.config.",
    "esbuild.config.",
    "build.config.",
    "postcss.config.",
    ".parcelrc",
];

/// Fields of `package.json` that name files a bundler writes.
const ENTRY_FIELDS: &[&str] = &[
    "main",
    "module",
    "browser",
    "types",
    "typings",
    "exports",
    "bin",
    "unpkg",
    "jsdelivr",
    "umd:main",
    "jsnext:main",
    "es2015",
    "esnext",
    "style",
    "svelte",
];

/// Entry fields Node.js and bundlers resolve without an extension.
const RESOLVED_FIELDS: &[&str] = &["main", "module", "browser"];

/// Sources named in a detail before the rest are counted.
const NAMED: usize = 3;

/// What ties a file only in the package to the source.
#[derive(Debug, Clone)]
enum Evidence {
    /// Source files that build (or copy) to it, and the verb.
    Sources { verb: &'static str, paths: Vec<String> },
    /// The source's `package.json` names it in this field: a bundle.
    EntryPoint { field: String },
    /// A nested `package.json` that only sets `type`.
    TypeMarker { value: String },
    /// It is a source map of a file that is itself a likely build output.
    SourceMapOf { target: String, of: Box<Evidence> },
}

impl Evidence {
    /// Whether a compiler's config file can stand in for a build step: only for files compiled
    /// from a matching source, not for bundles or markers, which need a step that runs.
    fn compiled(&self) -> bool {
        match self {
            Evidence::Sources { .. } => true,
            Evidence::EntryPoint { .. } | Evidence::TypeMarker { .. } => false,
            Evidence::SourceMapOf { of, .. } => of.compiled(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Evidence::Sources { verb, paths } => format!("{verb} {}", name_some(paths)),
            Evidence::EntryPoint { field } => format!("the package's `{field}`, a bundle"),
            Evidence::TypeMarker { value } => {
                format!("a module-type marker ({{\"type\": {value}}}) such as dual-package builds write")
            }
            Evidence::SourceMapOf { target, of } => format!("the source map of {target}, {}", of.describe()),
        }
    }
}

fn name_some(paths: &[String]) -> String {
    let mut named: Vec<&str> = paths.iter().take(NAMED).map(String::as_str).collect();
    let more = paths.len().saturating_sub(NAMED);
    let more_text = format!("{more} more");
    if more > 0 {
        named.push(&more_text);
    }
    match named.as_slice() {
        [] => "nothing".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A file name split into stem and extension; declaration files (`x.d.ts`) keep their compound
/// extension; a name with no dot, or only a leading one, has none.
fn split_name(name: &str) -> (&str, &str) {
    for declaration in DECLARATIONS {
        if let Some(stem) = name.strip_suffix(&format!(".{declaration}")[..]).filter(|stem| !stem.is_empty()) {
            return (stem, declaration);
        }
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot + 1..]),
        _ => (name, ""),
    }
}

fn split_path(path: &str) -> (Vec<&str>, &str) {
    let mut parts: Vec<&str> = path.split('/').collect();
    let name = parts.pop().unwrap_or_default();
    (parts, name)
}

fn extension(path: &str) -> &str {
    split_name(split_path(path).1).1
}

/// How a source with one extension becomes an output with another, if builds do that.
fn relation(source_ext: &str, output_ext: &str, source_stem: &str) -> Option<&'static str> {
    if source_ext == output_ext {
        return Some("copied from");
    }
    let code = JAVASCRIPT.contains(&output_ext) || DECLARATIONS.contains(&output_ext);
    let built = match source_ext {
        ext if TYPESCRIPT.contains(&ext) || JAVASCRIPT.contains(&ext) => code,
        ext if COMPONENTS.contains(&ext) => code || output_ext == "css",
        ext if COFFEE.contains(&ext) => JAVASCRIPT.contains(&output_ext),
        ext if STYLES.contains(&ext) => output_ext == "css",
        // `tsc --build` writes `tsconfig.tsbuildinfo` next to its outputs.
        "json" => output_ext == "tsbuildinfo" && source_stem.starts_with("tsconfig"),
        _ => false,
    };
    built.then_some("built from")
}

/// The keys under which an output is looked up: its path without extension and build
/// qualifiers, with any leading run of output directories stripped (`dist/esm/a/x.min.js` →
/// `dist/esm/a/x`, `esm/a/x`, `a/x`).
fn output_keys(path: &str) -> Vec<String> {
    let (dirs, name) = split_path(path);
    let (mut stem, _) = split_name(name);
    while let Some((base, qualifier)) = stem.rsplit_once('.') {
        if base.is_empty() || !OUTPUT_QUALIFIERS.contains(&qualifier) {
            break;
        }
        stem = base;
    }
    let mut keys = Vec::new();
    for strip in 0..=dirs.len() {
        if strip > 0 && !OUTPUT_DIRS.contains(&dirs[strip - 1]) {
            break;
        }
        keys.push(join_key(&dirs[strip..], stem));
    }
    keys
}

/// The keys a source answers to: its path without extension, with any leading run of source
/// directories stripped; an `index` file also answers for its directory (`src/a/index.ts` → `a`).
fn source_keys(dirs: &[&str], stem: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for strip in 0..=dirs.len() {
        if strip > 0 && !SOURCE_DIRS.contains(&dirs[strip - 1]) {
            break;
        }
        let rest = &dirs[strip..];
        keys.push(join_key(rest, stem));
        if stem == "index"
            && let Some((last, parents)) = rest.split_last()
        {
            keys.push(join_key(parents, last));
        }
    }
    keys
}

fn join_key(dirs: &[&str], stem: &str) -> String {
    if dirs.is_empty() { stem.to_string() } else { format!("{}/{stem}", dirs.join("/")) }
}

/// Paths of the source that are not the source's own files to build from.
fn ignored_source(path: &str) -> bool {
    path.split('/').any(|component| component == "node_modules" || component == ".git")
}

/// `./dist/x.js` → `dist/x.js`; `None` for paths that leave the package.
fn package_relative(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty() && !path.starts_with('/')).then(|| parts.join("/"))
}

/// Every string a field holds, however nested (conditions of `exports`, names of `bin`).
fn strings_in<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::String(text) => out.push(text),
        Value::Array(items) => items.iter().for_each(|item| strings_in(item, out)),
        Value::Object(map) => map.values().for_each(|item| strings_in(item, out)),
        _ => {}
    }
}

/// The files the source's `package.json` names as entry points, by field; targets may hold one
/// `*` (subpath patterns of `exports`).
fn entry_points(manifest: Option<&Value>) -> Vec<(String, String)> {
    let Some(manifest) = manifest else { return Vec::new() };
    let mut entries = Vec::new();
    let layers = [Some(manifest), manifest.get("publishConfig")];
    for (layer, prefix) in layers.into_iter().zip(["", "publishConfig."]) {
        let Some(layer) = layer else { continue };
        for field in ENTRY_FIELDS {
            let Some(value) = layer.get(*field) else { continue };
            let mut targets = Vec::new();
            strings_in(value, &mut targets);
            for target in targets {
                if let Some(target) = package_relative(target) {
                    entries.push((format!("{prefix}{field}"), target));
                }
            }
        }
    }
    entries
}

fn entry_matches(field: &str, target: &str, path: &str) -> bool {
    // A pattern (`./features/*`) names no file in particular: any file dropped under it would match.
    if target.contains('*') {
        return false;
    }
    if path == target {
        return true;
    }
    let resolved = RESOLVED_FIELDS.iter().any(|name| field.trim_start_matches("publishConfig.") == *name);
    resolved && [".js", "/index.js"].iter().any(|tail| path == format!("{target}{tail}"))
}

/// The install hooks of either `package.json` that mention a path, with the path as written.
fn install_hook_words(manifests: &[Option<&Value>]) -> Vec<(String, String)> {
    let mut words = Vec::new();
    for manifest in manifests.iter().flatten() {
        let Some(scripts) = manifest.get("scripts").and_then(Value::as_object) else { continue };
        for (hook, command) in scripts {
            let (true, Some(command)) = (INSTALL_HOOKS.contains(&hook.as_str()), command.as_str()) else { continue };
            for word in command.split(|c: char| c.is_whitespace() || ";&|()<>\"'`=".contains(c)) {
                if let Some(word) = package_relative(word) {
                    words.push((hook.clone(), word));
                }
            }
        }
    }
    words
}

fn runs_on_install<'w>(words: &'w [(String, String)], path: &str) -> Option<&'w str> {
    words
        .iter()
        .find(|(_, word)| {
            path == word || ["", ".js", ".cjs", ".mjs", "/index.js"].iter().any(|tail| path == format!("{word}{tail}"))
        })
        .map(|(hook, _)| hook.as_str())
}

/// A source map's `sources`, resolved against the map's directory and its `sourceRoot`, that
/// are files of the source. `None` when the bytes are not a source map at all.
fn map_sources(map_path: &str, content: &[u8], listing: &HashSet<&str>) -> Option<Vec<String>> {
    let map: Value = serde_json::from_slice(content).ok()?;
    let (Some(_), Some(_)) = (map.get("version"), map.get("mappings")) else { return None };
    let (dirs, _) = split_path(map_path);
    let root = map.get("sourceRoot").and_then(Value::as_str).unwrap_or("");
    let mut found = Vec::new();
    for source in map.get("sources").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
        // Webpack names sources `webpack://NAME/./src/x.ts`, relative to the package's root.
        let resolved = match source.strip_prefix("webpack://") {
            Some(rest) => rest.split_once('/').and_then(|(_, path)| package_relative(path)),
            None if source.contains("://") || source.starts_with('/') => None,
            None => {
                let dir = dirs.join("/");
                let parts: Vec<&str> = [dir.as_str(), root, source].into_iter().filter(|p| !p.is_empty()).collect();
                package_relative(&parts.join("/"))
            }
        };
        if let Some(path) = resolved.filter(|path| listing.contains(path.as_str()) && !ignored_source(path))
            && !found.contains(&path)
        {
            found.push(path);
        }
    }
    Some(found)
}

/// Classifies the files only in the package, in the order given.
pub(crate) fn classify(
    only: &[(&str, &FileEntry)],
    published: &FileTree,
    repacked: &FileTree,
    options: &CompareOptions,
) -> Vec<Finding> {
    if only.is_empty() {
        return Vec::new();
    }
    let listing: HashSet<&str> =
        options.source_listing.iter().flatten().map(String::as_str).filter(|path| !ignored_source(path)).collect();
    let compiler_config = options
        .source_listing
        .iter()
        .flatten()
        .filter(|path| !path.contains('/'))
        .find(|name| COMPILER_CONFIGS.iter().any(|prefix| name.starts_with(prefix)))
        .map(String::as_str);
    let parse = |tree: &FileTree| {
        tree.get("package.json").and_then(|entry| serde_json::from_slice::<Value>(&entry.content).ok())
    };
    let (source_manifest, published_manifest) = (parse(repacked), parse(published));
    let entries = entry_points(source_manifest.as_ref());
    let hooks = install_hook_words(&[source_manifest.as_ref(), published_manifest.as_ref()]);

    // The outputs to find sources for: the files themselves, and the files source maps map.
    let mut wanted: Vec<&str> = only.iter().map(|(path, _)| *path).collect();
    wanted.extend(only.iter().filter_map(|(path, _)| path.strip_suffix(".map")));
    let sources = matching_sources(&wanted, &listing, published, repacked);

    let context = Context {
        published,
        listing: &listing,
        entries: &entries,
        sources: &sources,
        only: only.iter().map(|(path, _)| *path).collect(),
    };
    only.iter()
        .map(|(path, entry)| {
            let hook = runs_on_install(&hooks, path);
            let evidence = context.evidence(path, entry, hook.is_some() || is_source_name(path));
            let claim = evidence.is_none().then(|| context.map_claim(path)).flatten();
            judge(path, evidence, hook, compiler_config, options.build_step.as_deref(), !listing.is_empty(), claim)
        })
        .collect()
}

fn is_source_name(path: &str) -> bool {
    SOURCE_ONLY.contains(&extension(path))
}

/// For each wanted output, the source files it matches, found in one pass over the listing. A
/// copy must have the source's bytes when the source is packed too (and so known here); a nested
/// `package.json` is never a copy of anything.
fn matching_sources<'a>(
    wanted: &[&'a str],
    listing: &HashSet<&str>,
    published: &FileTree,
    repacked: &FileTree,
) -> HashMap<&'a str, Vec<(String, &'static str)>> {
    // key → (output, output extension)
    let mut by_key: HashMap<String, Vec<(&'a str, &'a str)>> = HashMap::new();
    let mut stems: HashSet<String> = HashSet::new();
    for output in wanted.iter().filter(|output| split_path(output).1 != "package.json") {
        for key in output_keys(output) {
            stems.insert(key.rsplit('/').next().unwrap_or_default().to_string());
            by_key.entry(key).or_default().push((output, extension(output)));
        }
    }
    let mut found: HashMap<&'a str, Vec<(String, &'static str)>> = HashMap::new();
    let mut listing: Vec<&&str> = listing.iter().collect();
    listing.sort();
    for source in listing {
        let (dirs, name) = split_path(source);
        let (stem, source_ext) = split_name(name);
        // Cheap filter first: most of a repository shares no name with any output.
        let index_of_wanted_dir = stem == "index" && dirs.last().is_some_and(|dir| stems.contains(*dir));
        if !stems.contains(stem) && !index_of_wanted_dir {
            continue;
        }
        let mut seen = HashSet::new();
        for key in source_keys(&dirs, stem) {
            for (output, output_ext) in by_key.get(&key).into_iter().flatten() {
                if *output == *source || !seen.insert(*output) {
                    continue;
                }
                let Some(verb) = relation(source_ext, output_ext, stem) else { continue };
                let different_copy = verb == "copied from"
                    && matches!(
                        (repacked.get(source), published.get(output)),
                        (Some(original), Some(copy)) if original.content != copy.content
                    );
                if !different_copy {
                    found.entry(output).or_default().push((source.to_string(), verb));
                }
            }
        }
    }
    found
}

struct Context<'a> {
    published: &'a FileTree,
    listing: &'a HashSet<&'a str>,
    entries: &'a [(String, String)],
    sources: &'a HashMap<&'a str, Vec<(String, &'static str)>>,
    only: HashSet<&'a str>,
}

impl Context<'_> {
    /// What ties `path` to the source. `sources_only`: a file an install hook runs, or named like
    /// a source, counts only when a source it is built or copied from exists.
    fn evidence(&self, path: &str, entry: &FileEntry, sources_only: bool) -> Option<Evidence> {
        if path == "package.json" {
            return None;
        }
        if let Some(evidence) = self.built_from(path) {
            return Some(evidence);
        }
        if sources_only {
            return None;
        }
        if let Some(target) = path.strip_suffix(".map") {
            return self.source_map(path, &entry.content, target);
        }
        self.entry_point(path).or_else(|| type_marker(path, &entry.content))
    }

    fn built_from(&self, path: &str) -> Option<Evidence> {
        let matches = self.sources.get(path)?;
        // The most telling verb: built over copied.
        let verb = if matches.iter().any(|(_, verb)| *verb == "built from") { "built from" } else { "copied from" };
        let paths: Vec<String> =
            matches.iter().filter(|(_, candidate)| *candidate == verb).map(|(source, _)| source.clone()).collect();
        Some(Evidence::Sources { verb, paths })
    }

    /// `X.map`: a source map (its bytes say so) of an `X` that is a likely build output.
    fn source_map(&self, path: &str, content: &[u8], target: &str) -> Option<Evidence> {
        map_sources(path, content, self.listing)?;
        if !self.published.contains(target) {
            return None;
        }
        let of = self.built_from(target).or_else(|| {
            // A target only in the package may be a bundle; one the source has is not built.
            if !self.only.contains(target) || is_source_name(target) {
                return None;
            }
            self.entry_point(target)
        })?;
        Some(Evidence::SourceMapOf { target: target.to_string(), of: Box::new(of) })
    }

    /// What a source map shipped in the package claims about `path` (its own `sources`, or its
    /// target's map's), for the finding: a claim, not evidence.
    fn map_claim(&self, path: &str) -> Option<String> {
        let map = if path.ends_with(".map") { path.to_string() } else { format!("{path}.map") };
        let named = map_sources(&map, &self.published.get(&map)?.content, self.listing)?;
        (!named.is_empty()).then(|| {
            format!(
                "the source map {map} shipped in the package names {}, but a map in the package is the package's own \
                 claim, not evidence",
                name_some(&named)
            )
        })
    }

    fn entry_point(&self, path: &str) -> Option<Evidence> {
        let ext = extension(path);
        if !(JAVASCRIPT.contains(&ext) || DECLARATIONS.contains(&ext) || ext == "css") {
            return None;
        }
        self.entries
            .iter()
            .find(|(field, target)| entry_matches(field, target, path))
            .map(|(field, _)| Evidence::EntryPoint { field: field.clone() })
    }
}

/// A nested `package.json` whose only field is `type`.
fn type_marker(path: &str, content: &[u8]) -> Option<Evidence> {
    path.strip_suffix("/package.json")?;
    let value: Value = serde_json::from_slice(content).ok()?;
    let fields = value.as_object()?;
    match (fields.len(), fields.get("type")) {
        (1, Some(kind @ Value::String(_))) => Some(Evidence::TypeMarker { value: kind.to_string() }),
        _ => None,
    }
}

fn judge(
    path: &str,
    evidence: Option<Evidence>,
    hook: Option<&str>,
    compiler_config: Option<&str>,
    build_step: Option<&str>,
    listing_known: bool,
    map_claim: Option<String>,
) -> Finding {
    match (evidence, build_step) {
        (Some(evidence), Some(step)) => Finding::at(
            Code::BuildOutput,
            path,
            format!(
                "not in the source; likely {} — the package's `{step}` step may produce it{}",
                evidence.describe(),
                hook.map(|hook| format!(" (the `{hook}` install hook runs it)")).unwrap_or_default()
            ),
        ),
        (Some(evidence), None) if evidence.compiled() && compiler_config.is_some() => Finding::at(
            Code::BuildOutput,
            path,
            format!(
                "not in the source; likely {} — {} configures a compiler, though no build step that runs it was found{}",
                evidence.describe(),
                compiler_config.unwrap_or_default(),
                hook.map(|hook| format!(" (the `{hook}` install hook runs it)")).unwrap_or_default()
            ),
        ),
        (Some(evidence), None) => Finding::at(
            Code::OnlyInPackage,
            path,
            format!(
                "not in the source, and the package has no build step that could produce it (it looks like {})",
                evidence.describe()
            ),
        ),
        (None, step) => {
            let why = if let Some(hook) = hook {
                format!("the `{hook}` install hook runs it on every installing machine, and no source file builds it")
            } else if path == "package.json" {
                "the package's manifest always comes from the source".to_string()
            } else if is_source_name(path) {
                "it is named like a source, and nothing in the source is copied to it".to_string()
            } else if !listing_known {
                "the source's files are unknown here, so nothing ties it to a source".to_string()
            } else if let Some(claim) = map_claim {
                format!("no source file or entry point of package.json ties it to a build; {claim}")
            } else {
                "no source file or entry point of package.json ties it to a build".to_string()
            };
            let detail = match step {
                Some(step) => format!("not in the source: {why} (the package's `{step}` step would have to write it)"),
                None => format!("not in the source, and the package has no build step that could produce it: {why}"),
            };
            Finding::at(Code::OnlyInPackage, path, detail)
        }
    }
}

/// The build outputs of a comparison, for reports that list what a rebuild has to prove.
pub(crate) fn paths_needing_rebuild(findings: &[Finding]) -> Vec<String> {
    let paths: BTreeSet<&str> = findings
        .iter()
        .filter(|finding| finding.severity == provdiff_core::Severity::Inconclusive)
        .filter_map(|finding| finding.path.as_deref())
        .collect();
    paths.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{TreeComparison, compare_trees};

    const MANIFEST: &str = r#"{"name":"a","version":"1.0.0"}"#;

    struct Case {
        published: Vec<(String, String)>,
        source: Vec<(String, String)>,
        listing: Option<Vec<String>>,
        build_step: Option<String>,
    }

    impl Case {
        /// A package whose source has `package.json` (packed) and `listing` (not packed).
        fn new(listing: &[&str]) -> Self {
            let mut all: Vec<String> = listing.iter().map(|path| path.to_string()).collect();
            all.push("package.json".into());
            Case {
                published: vec![("package.json".into(), MANIFEST.into())],
                source: vec![("package.json".into(), MANIFEST.into())],
                listing: Some(all),
                build_step: Some("prepare".into()),
            }
        }

        fn manifest(mut self, manifest: &str) -> Self {
            self.published[0].1 = manifest.into();
            self.source[0].1 = manifest.into();
            self
        }

        fn no_build_step(mut self) -> Self {
            self.build_step = None;
            self
        }

        fn publish(mut self, path: &str, content: &str) -> Self {
            self.published.push((path.into(), content.into()));
            self
        }

        fn run(&self) -> TreeComparison {
            let tree = |files: &[(String, String)]| -> FileTree {
                files.iter().map(|(path, content)| (path.clone(), FileEntry::file(0o644, content.clone()))).collect()
            };
            let options = CompareOptions {
                build_step: self.build_step.clone(),
                source_listing: self.listing.clone(),
                ..CompareOptions::default()
            };
            compare_trees(&tree(&self.published), &tree(&self.source), &options)
        }

        /// Each file's code and detail.
        fn outcome(&self) -> Vec<(String, Code, String)> {
            self.run()
                .findings
                .into_iter()
                .map(|finding| (finding.path.unwrap_or_default(), finding.code, finding.detail))
                .collect()
        }

        fn check(&self, expected: &[(&str, Code, &str)]) {
            let outcome = self.outcome();
            assert_eq!(outcome.len(), expected.len(), "{outcome:#?}");
            for ((path, code, detail), (want_path, want_code, want_detail)) in outcome.iter().zip(expected) {
                assert_eq!((path.as_str(), *code), (*want_path, *want_code), "{outcome:#?}");
                assert!(detail.contains(want_detail), "{path}: {detail:?} lacks {want_detail:?}");
            }
        }
    }

    use Code::{BuildOutput as BUILT, OnlyInPackage as ONLY};

    #[test]
    fn outputs_with_a_matching_source_and_a_build_step_are_build_outputs() {
        Case::new(&["src/index.ts", "src/util/strings.ts", "src/style.scss", "LICENSE", "tsconfig.json"])
            .publish("dist/index.js", "")
            .publish("dist/index.d.ts", "")
            .publish("dist/esm/util/strings.min.mjs", "")
            .publish("dist/style.css", "")
            .publish("index.cjs", "")
            .publish("dist/LICENSE", "")
            .check(&[
                ("dist/LICENSE", BUILT, "likely copied from LICENSE — the package's `prepare` step may produce it"),
                ("dist/esm/util/strings.min.mjs", BUILT, "built from src/util/strings.ts"),
                ("dist/index.d.ts", BUILT, "built from src/index.ts"),
                ("dist/index.js", BUILT, "built from src/index.ts — the package's `prepare` step"),
                ("dist/style.css", BUILT, "built from src/style.scss"),
                ("index.cjs", BUILT, "built from src/index.ts"),
            ]);
        // Compiled in place, from a directory's index, from JavaScript by a transpiler.
        Case::new(&["lib/a.ts", "src/b/index.ts", "src/c.js", "index.tsx"])
            .publish("lib/a.js", "")
            .publish("dist/b.js", "")
            .publish("lib/c.js", "")
            .publish("index.jsx", "")
            .check(&[
                ("dist/b.js", BUILT, "src/b/index.ts"),
                ("index.jsx", BUILT, "index.tsx"),
                ("lib/a.js", BUILT, "lib/a.ts"),
                ("lib/c.js", BUILT, "src/c.js"),
            ]);
    }

    #[test]
    fn a_copy_of_a_packed_source_must_have_its_bytes() {
        let mut case = Case::new(&["README.md", "LICENSE"])
            .publish("dist/README.md", "# a\n")
            .publish("dist/LICENSE", "not the licence\n");
        case.source.push(("README.md".into(), "# a\n".into()));
        case.source.push(("LICENSE".into(), "MIT\n".into()));
        case.published.push(("README.md".into(), "# a\n".into()));
        case.published.push(("LICENSE".into(), "MIT\n".into()));
        case.check(&[("dist/LICENSE", ONLY, "no source file"), ("dist/README.md", BUILT, "copied from README.md")]);
    }

    #[test]
    fn a_compiler_config_stands_in_for_a_build_step_only_for_compiled_files() {
        let case = Case::new(&["src/index.ts", "tsconfig.build.json"])
            .no_build_step()
            .manifest(r#"{"name":"a","main":"dist/bundle.js"}"#)
            .publish("dist/index.js", "")
            .publish("dist/bundle.js", "");
        case.check(&[
            ("dist/bundle.js", ONLY, "has no build step"),
            (
                "dist/index.js",
                BUILT,
                "built from src/index.ts — tsconfig.build.json configures a compiler, though no build step",
            ),
        ]);
        // Neither a step nor a config: unexplained, however well the names match.
        Case::new(&["src/index.ts"]).no_build_step().publish("dist/index.js", "").check(&[(
            "dist/index.js",
            ONLY,
            "no build step that could produce it (it looks like built from src/index.ts)",
        )]);
    }

    #[test]
    fn outputs_with_nothing_tying_them_to_a_source_are_unexplained() {
        Case::new(&["src/index.ts", "src/other/x.ts", "node_modules/evil/src/payload.ts"])
            .publish("dist/extra.js", "")
            // The same name in another directory is not a match.
            .publish("dist/elsewhere/x.js", "")
            // Dependencies in node_modules are not the package's sources.
            .publish("dist/payload.js", "")
            .check(&[
                ("dist/elsewhere/x.js", ONLY, "no source file or entry point"),
                ("dist/extra.js", ONLY, "the package's `prepare` step would have to write it"),
                ("dist/payload.js", ONLY, "no source file"),
            ]);
        Case::new(&[]).no_build_step().publish("dist/extra.js", "").check(&[(
            "dist/extra.js",
            ONLY,
            "not in the source, and the package has no build step that could produce it",
        )]);
        // Without the source's file list (the other side is a tarball), nothing matches.
        let mut case = Case::new(&["src/x.ts"]).publish("dist/x.js", "");
        case.listing = None;
        case.check(&[("dist/x.js", ONLY, "the source's files are unknown here")]);
    }

    const MAP: &str =
        r#"{"version":3,"sources":["../src/a.ts","../src/b.ts","../node_modules/x/y.js"],"mappings":";AAAA"}"#;

    #[test]
    fn source_maps_and_the_files_they_map() {
        Case::new(&["src/index.ts", "src/a.ts", "src/b.ts"])
            .publish("dist/index.js", "")
            .publish("dist/index.js.map", r#"{"version":3,"sources":[],"mappings":""}"#)
            .publish("dist/index.d.ts.map", r#"{"version":3,"sources":[],"mappings":""}"#)
            .publish("dist/index.d.ts", "")
            // A chunk with no source of its own name, whose map (shipped in the package, so the
            // package's own claim) names sources: unexplained, the claim repeated.
            .publish("dist/chunk-3F2A.js", "")
            .publish("dist/chunk-3F2A.js.map", MAP)
            // The same claim for a file an attacker adds.
            .publish("dist/evil.js", "steal()")
            .publish("dist/evil.js.map", r#"{"version":3,"sources":["../src/index.ts"],"mappings":""}"#)
            // A ".map" that is not a source map, and one of a file the package lacks.
            .publish("dist/bad.js.map", "steal()")
            .publish("dist/ghost.js.map", r#"{"version":3,"sources":[],"mappings":""}"#)
            // At the package's root, `sources` resolve against the root.
            .publish("bundle.js", "")
            .publish("bundle.js.map", r#"{"version":3,"sources":["src/a.ts"],"mappings":""}"#)
            .check(&[
                ("bundle.js", ONLY, "the source map bundle.js.map shipped in the package names src/a.ts"),
                ("bundle.js.map", ONLY, "names src/a.ts, but a map in the package is the package's own claim"),
                ("dist/bad.js.map", ONLY, "no source file or entry point"),
                ("dist/chunk-3F2A.js", ONLY, "names src/a.ts and src/b.ts, but a map in the package is"),
                ("dist/chunk-3F2A.js.map", ONLY, "names src/a.ts and src/b.ts"),
                ("dist/evil.js", ONLY, "the source map dist/evil.js.map shipped in the package names src/index.ts"),
                ("dist/evil.js.map", ONLY, "names src/index.ts"),
                ("dist/ghost.js.map", ONLY, "no source file"),
                ("dist/index.d.ts", BUILT, "src/index.ts"),
                ("dist/index.d.ts.map", BUILT, "the source map of dist/index.d.ts, built from src/index.ts"),
                ("dist/index.js", BUILT, "src/index.ts"),
                ("dist/index.js.map", BUILT, "the source map of dist/index.js, built from src/index.ts"),
            ]);
    }

    #[test]
    fn entry_points_are_bundles_when_a_step_builds_them() {
        let manifest = r#"{"name":"a","main":"./dist/index","bin":{"a":"bin/cli.cjs"},
            "exports":{".":{"import":"./dist/index.mjs"},"./features/*":"./dist/features/*.js"},
            "publishConfig":{"types":"types/all.d.ts"}}"#;
        Case::new(&["src/main.ts"])
            .manifest(manifest)
            .publish("dist/index.js", "")
            .publish("dist/index.mjs", "")
            .publish("dist/features/x.js", "")
            .publish("bin/cli.cjs", "")
            .publish("types/all.d.ts", "")
            .publish("dist/index.js.map", r#"{"version":3,"sources":[],"mappings":""}"#)
            // Named nowhere, and not code: unexplained.
            .publish("dist/features/x.txt", "")
            .check(&[
                ("bin/cli.cjs", BUILT, "the package's `bin`, a bundle"),
                // A pattern names no file: anything dropped under it would match.
                ("dist/features/x.js", ONLY, "no source file or entry point"),
                ("dist/features/x.txt", ONLY, ""),
                ("dist/index.js", BUILT, "the package's `main`"),
                ("dist/index.js.map", BUILT, "the source map of dist/index.js, the package's `main`"),
                ("dist/index.mjs", BUILT, "the package's `exports`"),
                ("types/all.d.ts", BUILT, "the package's `publishConfig.types`"),
            ]);
    }

    #[test]
    fn install_hook_targets_and_source_names_need_a_source() {
        let manifest = r#"{"name":"a","main":"dist/install.js","scripts":{"postinstall":"node ./dist/install.js && node scripts/setup"},
            "exports":{"./*":"./dist/*"}}"#;
        Case::new(&["src/setup.ts"])
            .manifest(manifest)
            .publish("dist/install.js", "")
            .publish("dist/evil.ts", "")
            .publish("scripts/setup.js", "")
            .check(&[
                ("dist/evil.ts", ONLY, "it is named like a source"),
                ("dist/install.js", ONLY, "the `postinstall` install hook runs it on every installing machine"),
                ("scripts/setup.js", ONLY, "the `postinstall` install hook runs it"),
            ]);
        Case::new(&["src/install.ts", "src/types.ts"])
            .manifest(manifest)
            .publish("dist/install.js", "")
            .publish("dist/types.ts", "")
            .check(&[
                ("dist/install.js", BUILT, "built from src/install.ts — the package's `prepare` step may produce it (the `postinstall` install hook runs it)"),
                ("dist/types.ts", BUILT, "copied from src/types.ts"),
            ]);
        // A hook added only in the published manifest counts too.
        let mut case = Case::new(&[]).manifest(r#"{"name":"a","main":"x.js"}"#).publish("x.js", "");
        case.published[0].1 = r#"{"name":"a","main":"x.js","scripts":{"preinstall":"node x"}}"#.into();
        let outcome = case.outcome();
        assert!(
            outcome
                .iter()
                .any(|(path, code, detail)| path == "x.js" && *code == ONLY && detail.contains("`preinstall`")),
            "{outcome:#?}"
        );
    }

    #[test]
    fn module_type_markers() {
        Case::new(&["src/index.ts"])
            .publish("dist/esm/package.json", r#"{"type":"module"}"#)
            .publish("dist/cjs/package.json", "{\n  \"type\": \"commonjs\"\n}\n")
            .publish("dist/x/package.json", r#"{"type":"module","scripts":{"postinstall":"node x"}}"#)
            .check(&[
                ("dist/cjs/package.json", BUILT, "a module-type marker ({\"type\": \"commonjs\"})"),
                ("dist/esm/package.json", BUILT, "module-type marker"),
                ("dist/x/package.json", ONLY, ""),
            ]);
        Case::new(&[]).no_build_step().publish("dist/esm/package.json", r#"{"type":"module"}"#).check(&[(
            "dist/esm/package.json",
            ONLY,
            "no build step",
        )]);
    }

    #[test]
    fn the_files_a_rebuild_must_prove_are_listed() {
        let comparison = Case::new(&["src/a.ts", "src/b.ts"])
            .publish("dist/b.js", "")
            .publish("dist/a.js", "")
            .publish("dist/extra.js", "")
            .run();
        assert_eq!(comparison.rebuild_needed(), ["dist/a.js", "dist/b.js"]);
        assert!(Case::new(&[]).run().rebuild_needed().is_empty());
    }

    #[test]
    fn names_and_keys() {
        assert_eq!(split_name("x.d.ts"), ("x", "d.ts"));
        assert_eq!(split_name("x.js.map"), ("x.js", "map"));
        assert_eq!(split_name(".babelrc"), (".babelrc", ""));
        assert_eq!(split_name("LICENSE"), ("LICENSE", ""));
        assert_eq!(split_name(".d.ts"), (".d", "ts"));
        assert_eq!(output_keys("dist/esm/a/x.production.min.js"), ["dist/esm/a/x", "esm/a/x", "a/x"]);
        assert_eq!(output_keys("other/dist/x.js"), ["other/dist/x"]);
        assert_eq!(source_keys(&["src", "a"], "index"), ["src/a/index", "src/a", "a/index", "a"]);
        assert_eq!(package_relative("./dist/../x.js").as_deref(), Some("x.js"));
        assert_eq!(package_relative("../x.js"), None);
        assert_eq!(package_relative("/etc/passwd"), None);
        assert_eq!(name_some(&["a".into(), "b".into(), "c".into(), "d".into(), "e".into()]), "a, b, c and 2 more");
    }
}
