//! `cargo xtask real-packages`: provdiff's packer against real npm on real packages.
//!
//! Each package of `xtask/real-packages.txt` is fetched with `npm pack NAME@VERSION` (npm's
//! configured registry, npm's cache), and its published tarball is extracted into a directory that
//! then serves as a source tree: its own `package.json`, its files and their modes (ignore files
//! that were not published are absent, which is fine: both tools see the same tree). That tree is
//! repacked by the machine's `npm pack`, by npm releases installed with `cargo xtask npm-versions`,
//! and by `provdiff pack --npm-version V -o OUT`, and the two `.tgz` files are compared byte for
//! byte. Both are compressed on this machine: npm's by the Node.js that runs it, provdiff's by its
//! own zlib-exact deflate.
//!
//! Downloads, trees and outputs are cached under `target/real-packages/` (nothing there is
//! committed). The results table goes to `docs/BENCHMARKS.md` when every package was run.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::process::run;

/// A pinned package of the list.
#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub version: String,
}

impl Package {
    pub fn spec(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// A file-system-safe name (`@types/node@22.14.0` → `@types+node@22.14.0`).
    fn key(&self) -> String {
        self.spec().replace('/', "+")
    }
}

/// The packages of `xtask/real-packages.txt`, in order.
pub fn package_list(root: &Path) -> Result<Vec<Package>> {
    let path = root.join("xtask/real-packages.txt");
    let text = fs_err::read_to_string(&path)?;
    let mut packages = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let spec = line.split('#').next().unwrap_or_default().trim();
        if spec.is_empty() {
            continue;
        }
        // The version follows the last `@` that is not the scope's.
        let (name, version) = spec
            .get(1..)
            .and_then(|rest| rest.rsplit_once('@'))
            .map(|(name, version)| (format!("{}{name}", &spec[..1]), version.to_string()))
            .with_context(|| format!("{}:{}: `{spec}` is not NAME@VERSION", path.display(), number + 1))?;
        if version.is_empty() || !version.chars().all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c)) {
            bail!("{}:{}: `{spec}` does not pin an exact version", path.display(), number + 1);
        }
        packages.push(Package { name, version });
    }
    Ok(packages)
}

fn cache_dir(root: &Path) -> PathBuf {
    root.join("target/real-packages")
}

/// The published tarball of `package`, downloaded once with `npm pack` into the cache.
pub fn published_tarball(root: &Path, package: &Package) -> Result<PathBuf> {
    let dir = cache_dir(root).join("tarballs");
    let path = dir.join(format!("{}.tgz", package.key()));
    if path.exists() {
        return Ok(path);
    }
    fs_err::create_dir_all(&dir)?;
    let scratch = tempfile::tempdir_in(&dir)?;
    eprintln!("fetching {}", package.spec());
    let printed = run(std::process::Command::new("npm")
        .args(["pack", "--json", "--ignore-scripts", "--pack-destination"])
        .arg(scratch.path())
        .arg(package.spec())
        .current_dir(scratch.path()))
    .with_context(|| format!("cannot fetch {}", package.spec()))?;
    let filename = npm_pack_filename(&printed)?;
    fs_err::rename(scratch.path().join(filename), &path)?;
    Ok(path)
}

/// The file name `npm pack --json` reports for its (single) tarball.
fn npm_pack_filename(printed: &str) -> Result<String> {
    // Some npm releases print lifecycle output before the JSON; the JSON is the last array.
    let start = printed.rfind("\n[").map_or(0, |index| index + 1);
    let json: Value = serde_json::from_str(&printed[start..]).context("npm pack --json printed no JSON")?;
    Ok(json[0]["filename"].as_str().context("npm pack --json printed no file name")?.to_string())
}

/// How the published tarball was compressed: the zlib engine and level that reproduce it, if one
/// of provdiff's does, and the gzip header's OS byte (3 for zlib's default, 255 from npm 7 on).
fn published_gzip(tgz: &[u8]) -> Result<String> {
    let tar = gunzip(tgz)?;
    let os = tgz.get(9).copied().unwrap_or_default();
    Ok(match provdiff_npm::reproduce_gzip(&tar, tgz) {
        Some(options) => format!("{options}, OS {os}"),
        None => format!("no known engine, OS {os}"),
    })
}

/// The published tarball of `package` extracted as a source tree (once; cached).
pub fn source_tree(root: &Path, package: &Package) -> Result<PathBuf> {
    let tarball = published_tarball(root, package)?;
    let trees = cache_dir(root).join("trees");
    let tree = trees.join(package.key());
    if tree.is_dir() {
        return Ok(tree);
    }
    fs_err::create_dir_all(&trees)?;
    let scratch = tempfile::tempdir_in(&trees)?;
    extract(&fs_err::read(&tarball)?, scratch.path())
        .with_context(|| format!("cannot extract {}", tarball.display()))?;
    fs_err::rename(scratch.keep(), &tree)?;
    Ok(tree)
}

/// Extracts a package tarball into `dir`, dropping its first path component (`package/`, or
/// whatever the publisher's tool used): regular files with their modes (plus owner read-write,
/// which npm adds anyway) and directories. Links and special entries are skipped; a path leaving
/// the directory is an error.
fn extract(tgz: &[u8], dir: &Path) -> Result<()> {
    let mut tar = Vec::new();
    flate2::read::MultiGzDecoder::new(tgz).read_to_end(&mut tar).context("not a gzip stream")?;
    let mut archive = tar::Archive::new(tar.as_slice());
    for entry in archive.entries().context("not a tar stream")? {
        let mut entry = entry.context("a damaged tar entry")?;
        let path = entry.path().context("an entry with an unreadable path")?.into_owned();
        let mut relative = PathBuf::new();
        for component in path.components().skip(1) {
            match component {
                Component::Normal(part) => relative.push(part),
                Component::CurDir => {}
                _ => bail!("the entry {} leaves the package directory", path.display()),
            }
        }
        if relative.as_os_str().is_empty() {
            continue;
        }
        let target = dir.join(&relative);
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = target.parent() {
                    fs_err::create_dir_all(parent)?;
                }
                let mut content = Vec::new();
                entry.read_to_end(&mut content)?;
                fs_err::write(&target, &content)?;
                let mode = entry.header().mode().unwrap_or(0o644) & 0o777 | 0o600;
                set_mode(&target, mode)?;
            }
            tar::EntryType::Directory => fs_err::create_dir_all(&target)?,
            _ => eprintln!("  skipping {} (neither a file nor a directory)", path.display()),
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// An npm that repacks: the machine's, or a release installed by `cargo xtask npm-versions`.
#[derive(Debug, Clone)]
pub struct Npm {
    pub version: String,
    /// `npm-cli.js` of an installed release; `None` for the machine's `npm`.
    cli: Option<PathBuf>,
}

impl Npm {
    pub fn system() -> Result<Self> {
        let version = run(std::process::Command::new("npm").arg("--version"))?.trim().to_string();
        Ok(Self { version, cli: None })
    }

    pub fn installed(root: &Path, version: &str) -> Result<Self> {
        let cli = root.join("target/npm-versions").join(version).join("node_modules/npm/bin/npm-cli.js");
        if !cli.exists() {
            bail!("npm@{version} is not installed in target/npm-versions (run `cargo xtask npm-versions`)");
        }
        Ok(Self { version: version.to_string(), cli: Some(cli) })
    }

    pub fn label(&self) -> String {
        match self.cli {
            Some(_) => format!("npm {}", self.version),
            None => format!("npm {} (machine)", self.version),
        }
    }

    /// `npm ARGS` in `dir`, with an empty user configuration and a cache under `target/`.
    pub fn command(&self, root: &Path, dir: &Path) -> Result<std::process::Command> {
        let scratch = cache_dir(root).join("npm-home");
        fs_err::create_dir_all(&scratch)?;
        let userconfig = scratch.join("empty-npmrc");
        if !userconfig.exists() {
            fs_err::write(&userconfig, "")?;
        }
        // npm 9 and 10 run the `prepare` script while packing a directory even with
        // `--ignore-scripts` (npm/cli#7211, fixed in npm 11), and it would change the tree (or fail
        // for want of its build tools). They start scripts with the `sh` found on PATH: this one
        // runs nothing.
        let no_scripts = scratch.join("no-scripts");
        let shell = no_scripts.join("sh");
        if !shell.exists() {
            fs_err::create_dir_all(&no_scripts)?;
            fs_err::write(&shell, "#!/bin/sh\n# provdiff's real-packages check: npm scripts are never run.\nexit 0\n")?;
            set_mode(&shell, 0o755)?;
        }
        let path = std::env::join_paths(
            std::iter::once(no_scripts).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
        )?;
        let mut command = match &self.cli {
            Some(cli) => {
                let mut command = std::process::Command::new("node");
                command.arg(cli);
                command
            }
            None => std::process::Command::new("npm"),
        };
        command
            .current_dir(dir)
            .env("PATH", path)
            .env("npm_config_userconfig", &userconfig)
            .env("npm_config_cache", scratch.join("cache"))
            .env("npm_config_update_notifier", "false")
            .env("npm_config_fund", "false")
            .env("npm_config_audit", "false");
        Ok(command)
    }
}

/// How provdiff's `.tgz` compares with npm's for one package and npm release.
#[derive(Debug, Clone)]
enum Outcome {
    Identical,
    /// Same tar stream, different gzip layer.
    TarOnly(String),
    Different(String),
    NpmFailed(String),
    ProvdiffFailed(String),
}

impl Outcome {
    fn cell(&self) -> &'static str {
        match self {
            Outcome::Identical => "identical",
            Outcome::TarOnly(_) => "tar only",
            Outcome::Different(_) => "**different**",
            Outcome::NpmFailed(_) => "npm failed",
            Outcome::ProvdiffFailed(_) => "**provdiff failed**",
        }
    }

    fn detail(&self) -> Option<&str> {
        match self {
            Outcome::Identical => None,
            Outcome::TarOnly(detail)
            | Outcome::Different(detail)
            | Outcome::NpmFailed(detail)
            | Outcome::ProvdiffFailed(detail) => Some(detail),
        }
    }
}

struct Row {
    package: Package,
    publisher: String,
    files: usize,
    size: usize,
    unpacked: usize,
    outcomes: Vec<Outcome>,
}

/// `cargo xtask real-packages`.
pub fn run_all(root: &Path, npm_versions: &[String], only: &[String]) -> Result<()> {
    run(std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "-p", "provdiff"])
        .current_dir(root))?;
    let provdiff = root.join("target/release/provdiff");
    let mut npms = vec![Npm::system()?];
    for version in npm_versions {
        npms.push(Npm::installed(root, version)?);
    }
    let node = run(std::process::Command::new("node").arg("--version"))?.trim().to_string();
    let all = package_list(root)?;
    let packages: Vec<Package> = if only.is_empty() {
        all.clone()
    } else {
        all.iter().filter(|package| only.contains(&package.name)).cloned().collect()
    };
    if packages.is_empty() {
        bail!("no package of xtask/real-packages.txt is named {only:?}");
    }

    let mut rows = Vec::new();
    for package in &packages {
        let tree = source_tree(root, package)?;
        let publisher = published_gzip(&fs_err::read(published_tarball(root, package)?)?)?;
        let out = cache_dir(root).join("out").join(package.key());
        if out.exists() {
            fs_err::remove_dir_all(&out)?;
        }
        fs_err::create_dir_all(&out)?;
        let mut outcomes = Vec::new();
        let (mut files, mut size, mut unpacked) = (0, 0, 0);
        for npm in &npms {
            let destination = out.join(format!("npm-{}", npm.version));
            fs_err::create_dir_all(&destination)?;
            let theirs = npm_pack(root, npm, &tree, &destination);
            let ours_path = out.join(format!("provdiff-{}.tgz", npm.version));
            let ours = std::process::Command::new(&provdiff)
                .arg("pack")
                .arg(&tree)
                .args(["--npm-version", &npm.version, "--output"])
                .arg(&ours_path)
                .output()
                .context("cannot run provdiff")?;
            let outcome = match (theirs, ours.status.success()) {
                (Err(error), _) => Outcome::NpmFailed(first_line(&format!("{error:#}"))),
                (Ok(_), false) => Outcome::ProvdiffFailed(first_line(&String::from_utf8_lossy(&ours.stderr))),
                (Ok(theirs), true) => {
                    let ours = fs_err::read(&ours_path)?;
                    let theirs_tar = gunzip(&theirs)?;
                    files = count_files(&theirs_tar);
                    size = theirs.len();
                    unpacked = file_bytes(&theirs_tar);
                    compare(&theirs, &ours)?
                }
            };
            eprintln!("{:<28} {:<24} {}", package.spec(), npm.label(), outcome.cell());
            if let Some(detail) = outcome.detail() {
                eprintln!("    {detail}");
            }
            outcomes.push(outcome);
        }
        rows.push(Row { package: package.clone(), publisher, files, size, unpacked, outcomes });
    }

    let identical = rows.iter().filter(|row| row.outcomes.iter().all(|o| matches!(o, Outcome::Identical))).count();
    eprintln!("{identical} of {} packages byte-identical with every npm", rows.len());
    if only.is_empty() {
        write_table(root, &rows, &npms, &node)?;
    } else {
        eprintln!("not updating docs/BENCHMARKS.md: only part of the list was run");
    }
    Ok(())
}

/// `npm pack` of `tree` into `destination`; the tarball's bytes.
fn npm_pack(root: &Path, npm: &Npm, tree: &Path, destination: &Path) -> Result<Vec<u8>> {
    let printed = run(npm
        .command(root, tree)?
        .args(["pack", "--ignore-scripts", "--json", "--pack-destination"])
        .arg(destination))?;
    let filename = npm_pack_filename(&printed)?;
    Ok(fs_err::read(destination.join(filename))?)
}

fn first_line(text: &str) -> String {
    text.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("no message").to_string()
}

fn gunzip(tgz: &[u8]) -> Result<Vec<u8>> {
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(tgz).read_to_end(&mut tar).context("not a gzip stream")?;
    Ok(tar)
}

/// One tar entry's place in the stream, read block by block (ustar and PAX, as npm writes).
struct RawEntry {
    path: String,
    header: usize,
    data: usize,
    size: usize,
    kind: u8,
}

fn raw_entries(tar: &[u8]) -> Vec<RawEntry> {
    let mut entries = Vec::new();
    let mut offset = 0;
    let mut pax_path: Option<String> = None;
    while offset + 512 <= tar.len() {
        let block = &tar[offset..offset + 512];
        if block.iter().all(|&b| b == 0) {
            break;
        }
        let field = |range: std::ops::Range<usize>| {
            let bytes = &block[range];
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            String::from_utf8_lossy(&bytes[..end]).into_owned()
        };
        let size = usize::from_str_radix(field(124..136).trim(), 8).unwrap_or(0);
        let kind = block[156];
        let data = offset + 512;
        let body = tar.get(data..data + size).unwrap_or_default();
        let (name, prefix) = (field(0..100), field(345..500));
        let path = pax_path.take().unwrap_or(if prefix.is_empty() { name } else { format!("{prefix}/{name}") });
        if kind == b'x' {
            pax_path = String::from_utf8_lossy(body)
                .lines()
                .find_map(|record| record.split_once(" path=").map(|(_, path)| path.to_string()));
        }
        entries.push(RawEntry { path, header: offset, data, size, kind });
        offset = data + size.next_multiple_of(512);
    }
    entries
}

fn count_files(tar: &[u8]) -> usize {
    raw_entries(tar).iter().filter(|entry| entry.kind != b'x').count()
}

fn file_bytes(tar: &[u8]) -> usize {
    raw_entries(tar).iter().filter(|entry| entry.kind != b'x').map(|entry| entry.size).sum()
}

fn compare(theirs: &[u8], ours: &[u8]) -> Result<Outcome> {
    if theirs == ours {
        return Ok(Outcome::Identical);
    }
    let (theirs_tar, ours_tar) = (gunzip(theirs)?, gunzip(ours).context("provdiff's output")?);
    if theirs_tar == ours_tar {
        let at = first_mismatch(theirs, ours);
        return Ok(Outcome::TarOnly(format!(
            "same tar stream; the gzip streams ({} and {} bytes) first differ at byte {at}",
            theirs.len(),
            ours.len()
        )));
    }
    Ok(Outcome::Different(first_difference(&theirs_tar, &ours_tar)))
}

fn first_mismatch(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()))
}

/// Where two tar streams first differ, in terms of entries and header fields.
fn first_difference(theirs: &[u8], ours: &[u8]) -> String {
    let (their_entries, our_entries) = (raw_entries(theirs), raw_entries(ours));
    let names = |entries: &[RawEntry]| -> Vec<String> {
        entries.iter().filter(|entry| entry.kind != b'x').map(|entry| entry.path.clone()).collect()
    };
    let (their_names, our_names) = (names(&their_entries), names(&our_entries));
    let only_theirs: Vec<&String> = their_names.iter().filter(|name| !our_names.contains(name)).collect();
    let only_ours: Vec<&String> = our_names.iter().filter(|name| !their_names.contains(name)).collect();
    if !only_theirs.is_empty() || !only_ours.is_empty() {
        let show = |names: &[&String]| {
            let mut shown: Vec<String> = names.iter().take(5).map(|name| format!("`{name}`")).collect();
            if names.len() > 5 {
                shown.push(format!("and {} more", names.len() - 5));
            }
            if shown.is_empty() { "nothing".to_string() } else { shown.join(", ") }
        };
        return format!("only npm packs {}; only provdiff packs {}", show(&only_theirs), show(&only_ours));
    }
    if let Some(index) = their_names.iter().zip(&our_names).position(|(a, b)| a != b) {
        return format!(
            "same files, different order: entry {index} is `{}` for npm, `{}` for provdiff",
            their_names[index], our_names[index]
        );
    }
    let at = first_mismatch(theirs, ours);
    let Some(entry) = their_entries.iter().rev().find(|entry| entry.header <= at) else {
        return format!("the tar streams first differ at byte {at}");
    };
    let kind = if entry.kind == b'x' { "PAX header of " } else { "" };
    if at < entry.data {
        let field = match at - entry.header {
            0..100 => "name",
            100..108 => "mode",
            108..124 => "uid/gid",
            124..136 => "size",
            136..148 => "mtime",
            148..156 => "checksum",
            156 => "type",
            157..257 => "linkname",
            257..265 => "magic",
            265..329 => "owner names",
            329..345 => "device numbers",
            345..500 => "prefix",
            _ => "padding",
        };
        let show = |tar: &[u8]| String::from_utf8_lossy(&tar[entry.header..entry.data]).replace('\0', "·");
        let detail = if field == "mode" || field == "size" || field == "mtime" {
            let range = match field {
                "mode" => 100..108,
                "size" => 124..136,
                _ => 136..148,
            };
            let value = |tar: &[u8]| show(tar).chars().skip(range.start).take(range.len()).collect::<String>();
            format!(" (npm `{}`, provdiff `{}`)", value(theirs), value(ours))
        } else {
            String::new()
        };
        format!("{kind}`{}`: header field {field} differs{detail}", entry.path)
    } else {
        format!("{kind}`{}`: content differs at byte {} of {}", entry.path, at - entry.data, entry.size)
    }
}

/// One table cell for a package: identical with every npm, or which npm releases gave what.
fn summary(outcomes: &[Outcome], npms: &[Npm]) -> String {
    let identical = outcomes.iter().filter(|outcome| matches!(outcome, Outcome::Identical)).count();
    if identical == outcomes.len() {
        return format!("identical .tgz with all {identical}");
    }
    let mut parts = vec![format!("identical .tgz with {identical} of {}", outcomes.len())];
    for (outcome, npm) in outcomes.iter().zip(npms) {
        if !matches!(outcome, Outcome::Identical) {
            parts.push(format!("{} with {}", outcome.cell(), npm.label()));
        }
    }
    parts.join("; ")
}

fn write_table(root: &Path, rows: &[Row], npms: &[Npm], node: &str) -> Result<()> {
    let identical = rows.iter().filter(|row| row.outcomes.iter().all(|o| matches!(o, Outcome::Identical))).count();
    let mut body = format!(
        "Checked by `cargo xtask real-packages` on {} with Node.js {node}: {} packages, each repacked by {} and by `provdiff pack --npm-version V --output OUT` for the same V. **{identical} of {} give byte-identical `.tgz` files with every one of them.**\n\n",
        jiff::Timestamp::now().strftime("%Y-%m-%d"),
        rows.len(),
        npms.iter().map(Npm::label).collect::<Vec<_>>().join(", "),
        rows.len(),
    );
    body.push_str("Each published tarball (fetched with `npm pack NAME@VERSION`, list in `xtask/real-packages.txt`) is extracted into a directory that serves as the source tree: its `package.json`, files and modes as published (ignore files that were not published are absent, which changes nothing for the comparison: both tools see the same tree). npm repacks it with `npm pack --ignore-scripts`, provdiff with its file selection for that npm release and its zlib-exact gzip; *identical* means the two `.tgz` files are equal byte for byte, *tar only* that the tar streams are equal but the gzip layers are not. Files and sizes are npm's repack.\n\n");
    body.push_str("| package | version | published gzip | files | .tgz bytes | unpacked bytes | repacked by provdiff and npm |\n|---|---|---|--:|--:|--:|---|\n");
    for row in rows {
        body.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} | {} |\n",
            row.package.name,
            row.package.version,
            row.publisher,
            row.files,
            row.size,
            row.unpacked,
            summary(&row.outcomes, npms)
        ));
    }
    let details: Vec<String> = rows
        .iter()
        .flat_map(|row| {
            row.outcomes.iter().zip(npms).filter_map(move |(outcome, npm)| {
                outcome.detail().map(|detail| format!("- `{}` with {}: {detail}", row.package.spec(), npm.label()))
            })
        })
        .collect();
    if !details.is_empty() {
        body.push_str("\nDifferences:\n\n");
        for detail in details {
            body.push_str(&detail);
            body.push('\n');
        }
    }
    body.push_str(&format!(
        "\nCommand: `cargo xtask real-packages --npm {}` (the machine's npm is always included).\n",
        npms.iter().filter(|npm| npm.cli.is_some()).map(|npm| npm.version.as_str()).collect::<Vec<_>>().join(",")
    ));
    crate::bench::write_section(root, "real packages", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_list_parses_and_is_long_enough() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new("."));
        let packages = package_list(root).unwrap_or_default();
        assert!(packages.len() >= 30, "{} packages", packages.len());
        assert!(packages.iter().any(|p| p.name == "@types/node" && p.version == "22.14.0"));
        let mut keys: Vec<String> = packages.iter().map(Package::key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), packages.len(), "a package is listed twice");
    }

    #[test]
    fn npm_pack_json_is_found_after_other_output() {
        let printed = "> x@1.0.0 prepack\n> echo hi\n\n[\n  {\n    \"filename\": \"x-1.0.0.tgz\"\n  }\n]\n";
        assert_eq!(npm_pack_filename(printed).unwrap_or_default(), "x-1.0.0.tgz");
    }
}
