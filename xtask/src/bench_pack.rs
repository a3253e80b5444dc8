//! `cargo xtask bench pack`: `provdiff pack` against `npm pack --dry-run` on the same trees,
//! whole processes, side by side in one run.
//!
//! Like is compared with like: `npm pack --dry-run --json` builds the tarball in memory to report
//! its size and integrity, and so does `provdiff pack DIR --json` (file selection, tar, zlib-exact
//! gzip at level 9, SHA-512). Both must report the same integrity, or the run stops: a benchmark
//! of two tools producing different tarballs would measure nothing.
//!
//! The trees are the extracted published tarballs of `cargo xtask real-packages` (cached under
//! `target/real-packages/`). Runs alternate between the tools (and their order), so that changes
//! in the machine's load hit both alike; wall time and the CPU time of each process are recorded.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bench::{ensure_release, machine_description, median, write_section};
use crate::process::run;
use crate::real_packages::{Npm, package_list, source_tree};

/// One tool's measurements on one tree.
#[derive(Debug, Default)]
struct Times {
    wall: Vec<f64>,
    cpu: Vec<f64>,
}

impl Times {
    fn wall(&self) -> f64 {
        median(self.wall.clone())
    }

    fn cpu(&self) -> f64 {
        median(self.cpu.clone())
    }

    fn range(&self) -> String {
        let min = self.wall.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.wall.iter().copied().fold(0.0, f64::max);
        format!("{}–{}", seconds(min), seconds(max))
    }
}

struct Row {
    spec: String,
    files: u64,
    unpacked: u64,
    size: u64,
    provdiff: Times,
    npm: Times,
    /// Node.js's `zlib.gzipSync(tar, {level: 9})` of the same tar stream, in process: the part of
    /// npm's work whose bytes provdiff must reproduce exactly.
    node_gzip: f64,
}

/// `cargo xtask bench pack`.
pub fn pack(root: &Path, specs: &[String], runs: usize) -> Result<()> {
    if ensure_release(root)?.is_some() {
        return Ok(());
    }
    run(std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--release", "-p", "provdiff"])
        .current_dir(root))?;
    let provdiff = root.join("target/release/provdiff");
    let npm = Npm::system()?;
    let node = run(std::process::Command::new("node").arg("--version"))?.trim().to_string();
    let ticks = clock_ticks();
    let listed = package_list(root)?;
    let load_before = load_average();

    let mut rows = Vec::new();
    for spec in specs {
        let package = listed
            .iter()
            .find(|package| package.spec() == *spec || package.name == *spec)
            .with_context(|| format!("{spec} is not in xtask/real-packages.txt"))?;
        let tree = source_tree(root, package)?;
        let mut ours = std::process::Command::new(&provdiff);
        ours.arg("pack").arg(&tree).args(["--npm-version", &npm.version, "--json"]);
        let mut theirs = npm.command(root, &tree)?;
        theirs.args(["pack", "--dry-run", "--json", "--ignore-scripts"]);

        // The warm-up runs also check that both describe the same tarball.
        let our_report: Value = serde_json::from_str(&run(&mut ours)?).context("provdiff pack --json")?;
        let their_report: Value = serde_json::from_str(&run(&mut theirs)?).context("npm pack --dry-run --json")?;
        let their_report = &their_report[0];
        let (our_integrity, their_integrity) = (&our_report["integrity"], &their_report["integrity"]);
        if our_integrity != their_integrity || our_integrity.is_null() {
            bail!(
                "{spec}: provdiff and npm {} describe different tarballs ({our_integrity} and {their_integrity}); \
                 run `cargo xtask real-packages --only {}` to see why",
                npm.version,
                package.name
            );
        }

        let (mut provdiff_times, mut npm_times) = (Times::default(), Times::default());
        for round in 0..runs.max(1) {
            eprintln!("{spec}: round {}/{}", round + 1, runs.max(1));
            if round % 2 == 0 {
                time(&mut ours, ticks, &mut provdiff_times)?;
                time(&mut theirs, ticks, &mut npm_times)?;
            } else {
                time(&mut theirs, ticks, &mut npm_times)?;
                time(&mut ours, ticks, &mut provdiff_times)?;
            }
        }
        let node_gzip = node_gzip_time(&provdiff, &tree, &npm.version, runs)?;
        let row = Row {
            spec: spec.clone(),
            files: their_report["entryCount"].as_u64().unwrap_or_default(),
            unpacked: their_report["unpackedSize"].as_u64().unwrap_or_default(),
            size: their_report["size"].as_u64().unwrap_or_default(),
            provdiff: provdiff_times,
            npm: npm_times,
            node_gzip,
        };
        eprintln!(
            "{spec}: provdiff {} (CPU {}), npm {} (CPU {}): {:.1}× wall, {} CPU",
            seconds(row.provdiff.wall()),
            seconds(row.provdiff.cpu()),
            seconds(row.npm.wall()),
            seconds(row.npm.cpu()),
            row.npm.wall() / row.provdiff.wall(),
            cpu_ratio(&row)
        );
        rows.push(row);
    }
    let load_after = load_average();

    let mut body = format!(
        "Measured by `cargo xtask bench pack --runs {runs}` on {} ({}; load average {load_before} before, {load_after} after: the machine was shared); provdiff 0.1.0 (release), npm {} on Node.js {node}.\n\n",
        jiff::Timestamp::now().strftime("%Y-%m-%d"),
        machine_description(),
        npm.version,
    );
    body.push_str(&format!(
        "Whole processes on the same tree, alternating: `provdiff pack DIR --npm-version {} --json` and `npm pack --dry-run --json --ignore-scripts` in DIR. Both build the complete `.tgz` in memory (npm to report its size and integrity) and both reported the same integrity, checked on every tree before timing. The trees are the extracted published tarballs of `cargo xtask real-packages`. Medians of {runs} runs after one warm-up each; CPU is user plus system time of the process.\n\n",
        npm.version
    ));
    body.push_str(
        "| package | files | unpacked | .tgz | provdiff pack | npm pack --dry-run | faster (wall) | provdiff CPU | npm CPU | faster (CPU) | Node's gzip alone |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in &rows {
        body.push_str(&format!(
            "| `{}` | {} | {} | {} | {} ({}) | {} ({}) | **{:.1}×** | {} | {} | {} | {} |\n",
            row.spec,
            row.files,
            megabytes(row.unpacked),
            megabytes(row.size),
            seconds(row.provdiff.wall()),
            row.provdiff.range(),
            seconds(row.npm.wall()),
            row.npm.range(),
            row.npm.wall() / row.provdiff.wall(),
            seconds(row.provdiff.cpu()),
            seconds(row.npm.cpu()),
            cpu_ratio(row),
            seconds(row.node_gzip),
        ));
    }
    body.push_str(
        "\n*Node's gzip alone* is `zlib.gzipSync(tar, {level: 9})` on the same tar stream inside one Node.js process \
         (median of the runs): the deflate npm calls, whose output provdiff must reproduce byte for byte. It bounds \
         what any tool that writes npm's exact tarball can gain on a large tree: npm's whole run is its startup, its \
         file selection and this deflate, so a ratio far above npm's run over the deflate's time would need a \
         deflate many times faster than zlib's own C code producing zlib's own bytes.\n",
    );
    let target = 20.0;
    let missed: Vec<&str> =
        rows.iter().filter(|row| row.npm.wall() / row.provdiff.wall() < target).map(|row| row.spec.as_str()).collect();
    body.push('\n');
    if missed.is_empty() {
        body.push_str("The target of issue 4 (at least 20× faster) is met on every tree measured.\n");
    } else {
        body.push_str(&format!(
            "The target of issue 4 (at least 20× faster) is **not met** on {}.\n",
            missed.iter().map(|spec| format!("`{spec}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    body.push_str(&format!("\nCommand: `cargo xtask bench pack --runs {runs} --packages {}`.\n", specs.join(",")));
    write_section(root, "bench pack", &body)
}

/// The median time Node.js's zlib takes to gzip the tree's tar stream at level 9, in process.
fn node_gzip_time(provdiff: &Path, tree: &Path, npm_version: &str, runs: usize) -> Result<f64> {
    let work = tempfile::tempdir()?;
    let tgz = work.path().join("package.tgz");
    run(std::process::Command::new(provdiff)
        .arg("pack")
        .arg(tree)
        .args(["--npm-version", npm_version, "--output"])
        .arg(&tgz))?;
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(fs_err::File::open(&tgz)?), &mut tar)?;
    let tar_path = work.path().join("package.tar");
    fs_err::write(&tar_path, &tar)?;
    let script = "const z = require('zlib'), fs = require('fs'); const tar = fs.readFileSync(process.argv[1]); \
                  const runs = Number(process.argv[2]); const times = []; \
                  for (let i = 0; i <= runs; i++) { const t = process.hrtime.bigint(); z.gzipSync(tar, {level: 9}); \
                  if (i > 0) times.push(Number(process.hrtime.bigint() - t) / 1e9); } \
                  times.sort((a, b) => a - b); console.log(times[Math.floor(times.length / 2)]);";
    let printed =
        run(std::process::Command::new("node").arg("-e").arg(script).arg(&tar_path).arg(runs.max(1).to_string()))?;
    printed.trim().parse().with_context(|| format!("node printed {printed:?}"))
}

/// Runs `command` once, adding its wall time and CPU time (user plus system) to `times`.
fn time(command: &mut std::process::Command, ticks: f64, times: &mut Times) -> Result<()> {
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let cpu_before = children_cpu_ticks()?;
    let start = Instant::now();
    let status = command.status().with_context(|| format!("cannot start {command:?}"))?;
    let wall = start.elapsed().as_secs_f64();
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    let cpu = (children_cpu_ticks()? - cpu_before) as f64 / ticks;
    times.wall.push(wall);
    times.cpu.push(cpu);
    Ok(())
}

/// User plus system time of this process's waited-for children, in clock ticks (`cutime` and
/// `cstime` of `/proc/self/stat`).
fn children_cpu_ticks() -> Result<u64> {
    let stat = fs_err::read_to_string("/proc/self/stat")?;
    // The command name is in parentheses and may contain spaces: count fields after it.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).context("/proc/self/stat: no command name")?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state); cutime and cstime are fields 16 and 17.
    let field = |n: usize| -> Result<u64> {
        fields.get(n - 3).and_then(|value| value.parse().ok()).with_context(|| format!("/proc/self/stat: field {n}"))
    };
    Ok(field(16)? + field(17)?)
}

/// Clock ticks per second, for `/proc` times.
fn clock_ticks() -> f64 {
    run(std::process::Command::new("getconf").arg("CLK_TCK"))
        .ok()
        .and_then(|printed| printed.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The 1-minute load average.
fn load_average() -> String {
    fs_err::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

/// npm's CPU time over provdiff's; CPU times are counted in clock ticks (10 ms, usually).
fn cpu_ratio(row: &Row) -> String {
    if row.provdiff.cpu() > 0.0 {
        format!("{:.1}×", row.npm.cpu() / row.provdiff.cpu())
    } else {
        "— (provdiff under one clock tick)".to_string()
    }
}

fn seconds(value: f64) -> String {
    if value < 1.0 { format!("{:.0} ms", value * 1000.0) } else { format!("{value:.2} s") }
}

fn megabytes(bytes: u64) -> String {
    if bytes < 1_000_000 { format!("{:.1} kB", bytes as f64 / 1e3) } else { format!("{:.1} MB", bytes as f64 / 1e6) }
}
