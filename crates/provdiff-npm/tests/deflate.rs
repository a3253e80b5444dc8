//! The gzip engines against the real ones: round trips through an independent inflater, the
//! published tarballs in `../shared`, and golden vectors written by Node.js and stock zlib.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod deflate_inputs;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use deflate_inputs::{Rng, inputs};
use provdiff_core::Sha512;
use provdiff_npm::{DeflateHash, GzipOptions, gzip_with, reproduce_gzip};

fn gunzip(tgz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(tgz).read_to_end(&mut out).expect("a valid gzip stream");
    out
}

fn options(level: u8, hash: DeflateHash) -> GzipOptions {
    GzipOptions { level, hash, os: 0xff }
}

#[test]
fn every_engine_and_level_round_trips() {
    let mut rng = Rng::new(42);
    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    for len in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 257, 258, 259, 260, 261, 262, 263, 4095, 4096, 4097] {
        cases.push((format!("random {len}"), rng.bytes(len)));
        cases.push((format!("zeros {len}"), vec![0; len]));
    }
    // Sizes around the window (32 KiB), where it slides (64 KiB - 262) and where a block fills.
    for len in [32_768, 32_769, 65_274, 65_536, 65_537, 98_304, 200_003] {
        let text: Vec<u8> = (0..len).map(|i| b"abcdefghij klmnop\n"[(rng.below(18) + i % 3) % 18]).collect();
        cases.push((format!("text {len}"), text));
    }
    for input in inputs().into_iter().filter(|input| input.data.len() < 200_000) {
        cases.push((input.name.to_string(), input.data));
    }
    for (name, data) in &cases {
        for level in 1..=9 {
            for hash in DeflateHash::ALL {
                let tgz = gzip_with(data, options(level, hash));
                assert!(gunzip(&tgz) == *data, "{name}: {hash:?} level {level} does not round-trip");
            }
        }
    }
}

/// The engine the research into npm's gzip layer found for each published tarball in
/// `../shared/fixtures/npm`, and whether the CRC32C engine writes the same bytes as stock zlib.
fn expected_engine(case: &str) -> Option<(DeflateHash, bool)> {
    let package = case.split("-invalidsig").next().unwrap_or(case);
    Some(match package {
        "gundam-visor-1.0.1" => (DeflateHash::Chromium, false),
        "provenance-npm-test-1.0.3" | "sigstore-1.0.0" | "tuf-js-1.0.0" => (DeflateHash::Stock, true),
        "sigstore-1.3.0" => (DeflateHash::Crc32c, false),
        _ => return None,
    })
}

fn shared_fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/npm");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared (the shared fixtures) is not beside this checkout");
        None
    }
}

#[test]
fn every_published_fixture_is_reproduced_byte_for_byte() {
    let Some(fixtures) = shared_fixtures() else { return };
    // Several cases share a tarball; each distinct one is checked once.
    let mut distinct: BTreeMap<Vec<u8>, String> = BTreeMap::new();
    for entry in fs_err::read_dir(&fixtures).unwrap() {
        let dir = entry.unwrap().path();
        let path = dir.join("package.tgz");
        if path.is_file() {
            let tgz = fs_err::read(&path).unwrap();
            let case = dir.file_name().unwrap().to_string_lossy().into_owned();
            distinct.entry(tgz).or_insert(case);
        }
    }
    assert!(distinct.len() >= 5, "only {} distinct tarballs in {}", distinct.len(), fixtures.display());
    for (tgz, case) in &distinct {
        let tar = gunzip(tgz);
        let found = reproduce_gzip(&tar, tgz).unwrap_or_else(|| panic!("{case}: no engine reproduces it"));
        assert_eq!(gzip_with(&tar, found), *tgz, "{case}");
        let Some((hash, crc32c_like_stock)) = expected_engine(case) else {
            eprintln!("{case}: reproduced by {found}; add it to expected_engine");
            continue;
        };
        assert_eq!(found, GzipOptions { level: 9, hash, os: 0xff }, "{case}");
        let crc32c = gzip_with(&tar, options(9, DeflateHash::Crc32c));
        assert_eq!(crc32c == *tgz, hash == DeflateHash::Crc32c || crc32c_like_stock, "{case}: CRC32C engine");
    }
}

/// One line of `vectors.txt`: an oracle's output for an input at a level.
#[derive(Debug)]
struct Vector {
    hash: DeflateHash,
    level: u8,
    input: String,
    len: usize,
    /// The first 32 bytes of the output's SHA-512, in hex.
    digest: String,
}

fn vectors() -> Vec<Vector> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/deflate/vectors.txt");
    let text = fs_err::read_to_string(path).unwrap();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [engine, level, input, len, digest] = fields[..] else { panic!("bad vector line {line:?}") };
            let hash = match engine {
                "chromium" => DeflateHash::Chromium,
                "stock" => DeflateHash::Stock,
                "crc32c" => DeflateHash::Crc32c,
                other => panic!("unknown engine {other:?}"),
            };
            Vector {
                hash,
                level: level.parse().unwrap(),
                input: input.to_string(),
                len: len.parse().unwrap(),
                digest: digest.to_string(),
            }
        })
        .collect()
}

#[test]
fn golden_vectors_from_node_and_zlib_are_reproduced() {
    let vectors = vectors();
    let inputs: BTreeMap<&str, Vec<u8>> = inputs().into_iter().map(|input| (input.name, input.data)).collect();
    for hash in DeflateHash::ALL {
        let count = vectors.iter().filter(|vector| vector.hash == hash).count();
        assert!(count >= 9 * inputs.len(), "{count} vectors for {hash:?}");
    }
    for vector in &vectors {
        let data = inputs.get(vector.input.as_str()).unwrap_or_else(|| panic!("no input {:?}", vector.input));
        // Node.js and Python leave zlib's OS byte, 3.
        let tgz = gzip_with(data, GzipOptions { level: vector.level, hash: vector.hash, os: 3 });
        let digest = &Sha512::digest(&tgz).to_hex()[..64];
        assert!(
            tgz.len() == vector.len && digest == vector.digest,
            "{:?} level {} on {}: {} bytes {digest}, expected {} bytes {}",
            vector.hash,
            vector.level,
            vector.input,
            tgz.len(),
            vector.len,
            vector.digest
        );
    }
}
