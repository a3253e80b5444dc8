//! `provdiff pack`: what npm would publish, for maintainers checking before they release.

use std::io::Write;

use anyhow::{Context, Result, bail};
use provdiff_npm::NpmRules;
use serde::Serialize;

use crate::cli::PackArgs;
use crate::exit;

#[derive(Debug, Serialize)]
struct PackReport<'a> {
    source: String,
    npm_rules: NpmRules,
    files: Vec<PackedFileInfo<'a>>,
    size: usize,
    unpacked_size: usize,
    sha512: String,
    integrity: String,
    findings: &'a [provdiff_core::Finding],
}

#[derive(Debug, Serialize)]
struct PackedFileInfo<'a> {
    path: &'a str,
    mode: String,
    size: usize,
}

pub fn run(args: &PackArgs) -> Result<u8> {
    let rules = match &args.npm_version {
        Some(version) => NpmRules::for_npm_version(version)
            .with_context(|| format!("provdiff knows the file selection of npm 9, 10 and 11, not of npm {version}"))?,
        None => NpmRules::LATEST,
    };
    match (&args.repo, &args.dir) {
        (Some(repo), _) => {
            let rev = args.rev.as_deref().context("--repo needs --rev")?;
            let repository = provdiff_git::Repository::open(repo)?;
            let commit = repository.commit(rev)?;
            let dir = args.package_dir.as_deref().unwrap_or("");
            let source = commit.subtree(dir)?;
            let workspace = provdiff_npm::find_workspace(dir, |path| commit.read(path).ok());
            emit(args, &source, rules, workspace.as_ref())
        }
        (None, Some(dir)) => {
            let source = provdiff_npm::DirSource::open(dir)?;
            // npm looks for a workspace root above the package on disk.
            let absolute = fs_err::canonicalize(dir)?;
            let relative = absolute.to_string_lossy().trim_start_matches('/').to_string();
            let workspace = provdiff_npm::find_workspace(&relative, |path| std::fs::read(format!("/{path}")).ok());
            emit(args, &source, rules, workspace.as_ref())
        }
        (None, None) => bail!("give a directory, or --repo and --rev"),
    }
}

fn emit(
    args: &PackArgs,
    source: &dyn provdiff_core::SourceTree,
    rules: NpmRules,
    workspace: Option<&provdiff_npm::Workspace>,
) -> Result<u8> {
    // Listing needs no file contents: select only.
    if args.list && args.output.is_none() && !args.json {
        let list = provdiff_npm::packlist(source, rules, workspace)
            .with_context(|| format!("cannot pack {}", source.describe()))?;
        let mut out = std::io::stdout().lock();
        for file in &list.files {
            writeln!(out, "{}", crate::render::one_line(&file.path))?;
        }
        out.flush()?;
        return Ok(exit::OK);
    }
    let packed =
        provdiff_npm::pack(source, rules, workspace).with_context(|| format!("cannot pack {}", source.describe()))?;
    if let Some(output) = &args.output {
        fs_err::write(output, &packed.tgz)?;
    }
    let sha512 = provdiff_core::Sha512::digest(&packed.tgz);
    let mut out = std::io::stdout().lock();
    if args.json {
        let report = PackReport {
            source: source.describe(),
            npm_rules: packed.list.rules,
            files: packed
                .files
                .iter()
                .map(|file| PackedFileInfo {
                    path: &file.path,
                    mode: format!("{:o}", file.mode),
                    size: file.content.len(),
                })
                .collect(),
            size: packed.tgz.len(),
            unpacked_size: packed.files.iter().map(|file| file.content.len()).sum(),
            sha512: sha512.to_hex(),
            integrity: sha512.to_integrity(),
            findings: &packed.list.findings,
        };
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else if args.list {
        for file in &packed.files {
            writeln!(out, "{}", crate::render::one_line(&file.path))?;
        }
    } else {
        for file in &packed.files {
            writeln!(out, "{:o} {:>9} {}", file.mode, file.content.len(), crate::render::one_line(&file.path))?;
        }
        writeln!(
            out,
            "{} files, {} bytes packed, file selection of {}",
            packed.files.len(),
            packed.tgz.len(),
            packed.list.rules.describe()
        )?;
        crate::render::terminal::write_findings(
            &mut out,
            &packed.list.findings,
            crate::render::terminal::Style::for_stdout(),
        )?;
    }
    out.flush()?;
    Ok(exit::OK)
}
