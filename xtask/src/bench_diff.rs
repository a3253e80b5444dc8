//! `cargo xtask bench diff`: `provdiff diff A.tgz B.tgz` against `diffoscope A.tgz B.tgz` on the
//! same pair of large npm tarballs (generated deterministically: 10,000 files, about 100 MB
//! unpacked, with a realistic mix of differences), side by side in one run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use provdiff_npm::{NpmRules, PackedFile};

use crate::bench::{ensure_release, machine_description, write_section};
use crate::process::run;

/// Deterministic pseudo-random numbers (xorshift), so the pair is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const WORDS: &[&str] = &[
    "const",
    "value",
    "return",
    "function",
    "options",
    "result",
    "index",
    "module",
    "exports",
    "require",
    "length",
    "buffer",
    "error",
    "callback",
    "promise",
    "await",
    "string",
    "number",
    "object",
    "undefined",
];

/// A JavaScript-looking file of about `len` bytes.
fn text_file(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut text = String::with_capacity(len + 80);
    let mut line = 0;
    while text.len() < len {
        line += 1;
        let indent = "  ".repeat(rng.below(4) as usize);
        let words: Vec<&str> = (0..3 + rng.below(8)).map(|_| WORDS[rng.below(WORDS.len() as u64) as usize]).collect();
        text.push_str(&format!("{indent}{} = {}; // {line}\n", words.join("_"), rng.below(1_000_000)));
    }
    text.into_bytes()
}

/// The two packages' files: `(published, other)`.
pub fn generate_pair() -> (Vec<PackedFile>, Vec<PackedFile>) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut files = vec![PackedFile {
        path: "package.json".into(),
        mode: 0o644,
        content: b"{\n  \"name\": \"big-package\",\n  \"version\": \"1.0.0\",\n  \"main\": \"dist/index.js\"\n}\n"
            .to_vec(),
    }];
    for i in 0..8_900 {
        let dir = format!("dist/group{}/sub{}", i % 40, i % 7);
        let (path, len) = match i % 10 {
            0 => (format!("{dir}/file{i}.d.ts"), 1_500),
            1 => (format!("{dir}/file{i}.js.map"), 6_000),
            _ => (format!("{dir}/file{i}.js"), 8_500),
        };
        files.push(PackedFile { path, mode: 0o644, content: text_file(&mut rng, len) });
    }
    for i in 0..1_000 {
        // Minified bundles: one long line.
        let mut content = text_file(&mut rng, 2_500);
        content.retain(|b| *b != b'\n');
        files.push(PackedFile { path: format!("dist/min/chunk{i}.min.js"), mode: 0o644, content });
    }
    for i in 0..99 {
        files.push(PackedFile { path: format!("assets/image{i}.bin"), mode: 0o644, content: rng.bytes(304_000) });
    }
    let mut other = files.clone();
    // The differences a real comparison meets, spread over the tree.
    for (n, file) in other.iter_mut().enumerate() {
        match n % 200 {
            17 if file.path.ends_with(".js") => {
                let text = String::from_utf8_lossy(&file.content).replacen("return", "return /* changed */", 1);
                file.content = text.into_bytes();
            }
            53 if file.path.ends_with(".min.js") || file.path.ends_with(".map") => {
                file.content.insert(file.content.len() / 2, b';')
            }
            101 if file.path.ends_with(".bin") => {
                let middle = file.content.len() / 2;
                file.content[middle] ^= 0xff;
            }
            151 => file.mode = 0o755,
            199 if file.path.ends_with(".d.ts") => {
                file.content = String::from_utf8_lossy(&file.content).replace('\n', "\r\n").into_bytes();
            }
            _ => {}
        }
    }
    other.retain(|file| !file.path.ends_with("file4321.js") && !file.path.ends_with("file8765.js"));
    other.push(PackedFile { path: "dist/extra.js".into(), mode: 0o644, content: b"module.exports = 1;\n".to_vec() });
    (files, other)
}

fn write_pair(dir: &Path) -> Result<(PathBuf, PathBuf, usize, usize)> {
    let (a, b) = generate_pair();
    let unpacked: usize = a.iter().map(|file| file.content.len()).sum();
    let format = NpmRules::LATEST.tar_format();
    let (path_a, path_b) = (dir.join("big-package-a.tgz"), dir.join("big-package-b.tgz"));
    fs_err::write(&path_a, provdiff_npm::gzip(&provdiff_npm::write_tar(&a, format)))?;
    fs_err::write(&path_b, provdiff_npm::gzip(&provdiff_npm::write_tar(&b, format)))?;
    Ok((path_a, path_b, a.len(), unpacked))
}

/// Wall time and peak resident memory of a process, by GNU time.
fn measure(command: &mut Command, timeout: Duration) -> Result<(Duration, u64, i32)> {
    let report = tempfile::NamedTempFile::new()?;
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(ToOwned::to_owned).collect();
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(report.path())
        .arg("timeout")
        .arg(timeout.as_secs().to_string())
        .arg(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let start = Instant::now();
    let status = timed.status().context("cannot run /usr/bin/time (install the `time` package)")?;
    let elapsed = start.elapsed();
    let kib: u64 = fs_err::read_to_string(report.path())?
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .next_back()
        .context("GNU time reported no memory figure")?;
    Ok((elapsed, kib * 1024, status.code().unwrap_or(-1)))
}

pub fn diff(root: &Path, runs: usize) -> Result<()> {
    if ensure_release(root)?.is_some() {
        return Ok(());
    }
    run(Command::new(env!("CARGO")).args(["build", "--quiet", "--release", "-p", "provdiff"]).current_dir(root))?;
    let provdiff = root.join("target/release/provdiff");
    let work = tempfile::Builder::new().prefix("provdiff-bench-diff-").tempdir()?;
    let (a, b, files, unpacked) = write_pair(work.path())?;
    let diffoscope_version = run(Command::new("diffoscope").arg("--version"))
        .context("diffoscope is not installed (Debian: apt-get install diffoscope-minimal)")?
        .trim()
        .to_string();

    let mut provdiff_runs = Vec::new();
    for _ in 0..runs.max(1) {
        let (time, memory, code) =
            measure(Command::new(&provdiff).arg("diff").arg(&a).arg(&b).arg("--json"), Duration::from_secs(600))?;
        if code != 1 {
            bail!("provdiff diff exited {code} on a pair that differs (expected 1, mismatch)");
        }
        provdiff_runs.push((time, memory));
    }
    provdiff_runs.sort();
    let (provdiff_time, provdiff_memory) = provdiff_runs[provdiff_runs.len() / 2];

    // One diffoscope run: it takes minutes. Its text report goes to a file, as a user would ask.
    let report = work.path().join("diffoscope.txt");
    let (diffoscope_time, diffoscope_memory, code) =
        measure(Command::new("diffoscope").arg("--text").arg(&report).arg(&a).arg(&b), Duration::from_secs(3 * 3600))?;
    if code != 1 {
        bail!("diffoscope exited {code} (1 means the inputs differ)");
    }

    let body = format!(
        "Measured by `cargo xtask bench diff --runs {runs}` on {} ({}); provdiff {} (release), {diffoscope_version} (Debian package `diffoscope-minimal`).\n\n\
         Two npm tarballs of {files} files and {:.0} MB unpacked each (JavaScript, source maps, type declarations, minified bundles and \
         binary assets, generated by the task), differing in about 160 places: edited lines, edited minified bundles, changed bytes in \
         binaries, executable bits, CRLF-only changes, a removed and an added file.\n\n\
         | tool | wall time | peak memory | ratio |\n|---|---|---|---|\n\
         | `provdiff diff A.tgz B.tgz --json` (median of {runs}) | {:.2} s | {:.0} MB | **{:.0}×** faster |\n\
         | `diffoscope --text OUT A.tgz B.tgz` | {:.1} s | {:.0} MB | 1× |\n\n\
         Commands: `cargo xtask bench diff --runs {runs}` (both tools run under GNU `time` on the same files in one run).\n",
        jiff::Zoned::now().date(),
        machine_description(),
        env!("CARGO_PKG_VERSION"),
        unpacked as f64 / 1e6,
        provdiff_time.as_secs_f64(),
        provdiff_memory as f64 / 1e6,
        diffoscope_time.as_secs_f64() / provdiff_time.as_secs_f64(),
        diffoscope_time.as_secs_f64(),
        diffoscope_memory as f64 / 1e6,
    );
    let within = |ok: bool| if ok { "within" } else { "**outside**" };
    let body = format!(
        "{body}\nIssue 6's bounds for two such trees, 1 s and 300 MB: {} on time ({:.2} s), {} on memory ({:.0} MB); its target of 50× diffoscope's speed: {} ({:.0}×).\n",
        within(provdiff_time.as_secs_f64() < 1.0),
        provdiff_time.as_secs_f64(),
        within(provdiff_memory < 300_000_000),
        provdiff_memory as f64 / 1e6,
        if diffoscope_time.as_secs_f64() / provdiff_time.as_secs_f64() >= 50.0 { "met" } else { "**not met**" },
        diffoscope_time.as_secs_f64() / provdiff_time.as_secs_f64(),
    );
    write_section(root, "bench diff", &body)?;
    print!("{body}");
    Ok(())
}

/// `cargo xtask bench diff --write-pair DIR`: the pair on disk, for profiling by hand.
pub fn write_pair_to(dir: &Path) -> Result<()> {
    fs_err::create_dir_all(dir)?;
    let (a, b, files, unpacked) = write_pair(dir)?;
    eprintln!("wrote {} and {} ({files} files, {unpacked} bytes unpacked)", a.display(), b.display());
    Ok(())
}
