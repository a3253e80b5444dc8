//! `cargo xtask deflate-vectors`: regenerate the golden vectors the deflate engines are tested
//! against, from the real engines: Node.js's `zlib.gzipSync` for Chromium's zlib, Python's `zlib`
//! (stock zlib) for the rolling hash, and optionally an older Node.js on a CPU with SSE4.2 for
//! the CRC32C era. Each vector is an input (generated, see `deflate_inputs`), a level, and the
//! length and digest of the oracle's gzip output.
//!
//! `cargo xtask bench deflate`: time provdiff's engines against flate2's default backend.

#[path = "../../crates/provdiff-npm/tests/deflate_inputs/mod.rs"]
mod deflate_inputs;

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use provdiff_core::Sha512;
use provdiff_npm::{DeflateHash, GzipOptions};

use crate::process::run;

const VECTORS: &str = "crates/provdiff-npm/tests/data/deflate/vectors.txt";

const NODE_GZIP: &str = r#"
const fs = require('fs'), path = require('path'), zlib = require('zlib');
const [inputs, outputs] = process.argv.slice(1);
for (const name of fs.readdirSync(inputs)) {
  const data = fs.readFileSync(path.join(inputs, name));
  for (let level = 1; level <= 9; level++) {
    fs.writeFileSync(path.join(outputs, `${name}.${level}.gz`), zlib.gzipSync(data, { level }));
  }
}
"#;

const PYTHON_GZIP: &str = r#"
import os, sys, zlib
inputs, outputs = sys.argv[1:3]
for name in os.listdir(inputs):
    data = open(os.path.join(inputs, name), 'rb').read()
    for level in range(1, 10):
        z = zlib.compressobj(level, zlib.DEFLATED, 31, 8, zlib.Z_DEFAULT_STRATEGY)
        open(os.path.join(outputs, f'{name}.{level}.gz'), 'wb').write(z.compress(data) + z.flush())
"#;

/// An oracle: the engine it stands for and the command that runs a script with two arguments.
struct Oracle<'a> {
    engine: &'static str,
    program: &'a str,
    script_flag: &'static str,
    script: &'static str,
    describe: String,
}

pub fn vectors(root: &Path, node: &str, python: &str, crc32c_node: Option<&str>) -> Result<()> {
    let node_version = |program: &str| -> Result<String> {
        Ok(run(Command::new(program).args(["-p", "process.version + ' (zlib ' + process.versions.zlib + ')'"]))?
            .trim()
            .to_string())
    };
    let mut oracles = vec![
        Oracle {
            engine: "chromium",
            program: node,
            script_flag: "-e",
            script: NODE_GZIP,
            describe: format!("Node.js {} zlib.gzipSync(input, {{ level }})", node_version(node)?),
        },
        Oracle {
            engine: "stock",
            program: python,
            script_flag: "-c",
            script: PYTHON_GZIP,
            describe: format!(
                "Python {} zlib.compressobj(level, DEFLATED, 31, 8, Z_DEFAULT_STRATEGY)",
                run(Command::new(python).args([
                    "-c",
                    "import sys, zlib; print(sys.version.split()[0], '(zlib', zlib.ZLIB_RUNTIME_VERSION + ')')"
                ]))?
                .trim()
            ),
        },
    ];
    if let Some(program) = crc32c_node {
        oracles.push(Oracle {
            engine: "crc32c",
            program,
            script_flag: "-e",
            script: NODE_GZIP,
            describe: format!(
                "Node.js {} zlib.gzipSync(input, {{ level }}) on a CPU with SSE4.2",
                node_version(program)?
            ),
        });
    }

    let scratch = tempfile::tempdir()?;
    let input_dir = scratch.path().join("inputs");
    fs_err::create_dir(&input_dir)?;
    let inputs = deflate_inputs::inputs();
    for input in &inputs {
        fs_err::write(input_dir.join(input.name), &input.data)?;
    }

    let mut lines =
        vec!["# Golden deflate vectors, written by `cargo xtask deflate-vectors`; do not edit.".to_string()];
    lines.extend(oracles.iter().map(|oracle| format!("# {}: {}", oracle.engine, oracle.describe)));
    lines.push("# engine level input gzip-length first-32-bytes-of-sha512-hex".to_string());
    // Per engine, per (input, level): the output's digest, to check that the engines differ.
    let mut digests: Vec<Vec<String>> = Vec::new();
    for oracle in &oracles {
        let output_dir = scratch.path().join(oracle.engine);
        fs_err::create_dir(&output_dir)?;
        run(Command::new(oracle.program).args([oracle.script_flag, oracle.script]).arg(&input_dir).arg(&output_dir))?;
        let mut engine_digests = Vec::new();
        for input in &inputs {
            for level in 1..=9 {
                let output = fs_err::read(output_dir.join(format!("{}.{level}.gz", input.name)))?;
                let digest = Sha512::digest(&output).to_hex()[..64].to_string();
                lines.push(format!("{} {level} {} {} {digest}", oracle.engine, input.name, output.len()));
                engine_digests.push(digest);
            }
        }
        digests.push(engine_digests);
    }
    // Each oracle must stand for a different engine: on these inputs some output must differ
    // from every other oracle's (an old Node.js on a CPU without SSE4.2 writes stock bytes).
    for (i, oracle) in oracles.iter().enumerate() {
        for (j, other) in oracles.iter().enumerate().filter(|(j, _)| *j != i) {
            if digests[i] == digests[j] {
                bail!(
                    "{} and {} wrote the same bytes for every vector: not different engines",
                    oracle.engine,
                    other.engine
                );
            }
        }
    }

    let path = root.join(VECTORS);
    let dir = path.parent().context("the vectors path has a directory")?;
    fs_err::create_dir_all(dir)?;
    let temporary = tempfile::NamedTempFile::new_in(dir)?;
    fs_err::write(temporary.path(), lines.join("\n") + "\n")?;
    temporary.persist(&path).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {} vectors to {}", lines.iter().filter(|l| !l.starts_with('#')).count(), path.display());
    Ok(())
}

pub fn bench(path: &Path, runs: usize) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: built without optimizations; run `cargo run --release -p xtask -- bench deflate`");
    }
    let file = fs_err::read(path)?;
    let (tar, published) = if file.starts_with(&[0x1f, 0x8b]) {
        let mut tar = Vec::new();
        flate2::read::GzDecoder::new(&file[..])
            .read_to_end(&mut tar)
            .with_context(|| format!("{} is not a valid gzip file", path.display()))?;
        (tar, Some(file))
    } else {
        (file, None)
    };
    let mb = tar.len() as f64 / 1e6;
    type Engine<'a> = (String, Box<dyn Fn() -> usize + 'a>);
    let mut engines: Vec<Engine<'_>> = Vec::new();
    for (hash, level) in [
        (DeflateHash::Chromium, 9),
        (DeflateHash::Stock, 9),
        (DeflateHash::Crc32c, 9),
        (DeflateHash::Chromium, 6),
        (DeflateHash::Stock, 6),
    ] {
        let options = GzipOptions { level, hash, os: 0xff };
        let tar = &tar;
        engines.push((format!("provdiff {options}"), Box::new(move || provdiff_npm::gzip_with(tar, options).len())));
    }
    for level in [9, 6] {
        let tar = &tar;
        engines.push((
            format!("flate2 (miniz_oxide) level {level}"),
            Box::new(move || {
                use std::io::Write;
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
                let _ = encoder.write_all(tar);
                encoder.finish().map(|out| out.len()).unwrap_or(0)
            }),
        ));
    }
    if let Some(published) = &published {
        let found = provdiff_npm::reproduce_gzip(&tar, published);
        let found = found.map_or("nothing".to_string(), |options| options.to_string());
        let tar = &tar;
        engines.push((
            format!("reproduce (finds {found})"),
            Box::new(move || provdiff_npm::reproduce_gzip(tar, published).map_or(0, |_| published.len())),
        ));
    }

    // Round-robin, so that changes in the machine's load affect every engine alike.
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); engines.len()];
    let mut sizes = vec![0; engines.len()];
    for _ in 0..runs.max(1) {
        for (i, (_, compress)) in engines.iter().enumerate() {
            let start = Instant::now();
            sizes[i] = compress();
            times[i].push(start.elapsed());
        }
    }
    println!("{}: {} bytes uncompressed; best and median of {runs} runs", path.display(), tar.len());
    let width = engines.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    println!("{:<width$} {:>8} {:>8} {:>6} {:>9}", "engine", "best", "median", "MB/s", "output");
    for (((name, _), mut times), size) in engines.iter().zip(times).zip(sizes) {
        times.sort();
        let best = times[0].as_secs_f64();
        let median = times[times.len() / 2].as_secs_f64();
        println!("{name:<width$} {best:>7.3}s {median:>7.3}s {:>6.1} {size:>9}", mb / best);
    }
    Ok(())
}
