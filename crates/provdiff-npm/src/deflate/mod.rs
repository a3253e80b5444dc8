//! gzip exactly as the zlib builds behind npm write it, so that a repacked tarball can be
//! compared with the published one byte for byte.
//!
//! npm compresses with the publisher's Node.js, whose zlib is Chromium's fork. Three kinds of
//! output exist, and they differ only in the hash that keys zlib's match chains
//! ([`DeflateHash`]); everything else is stock zlib 1.2.x/1.3.x with `windowBits` 15,
//! `memLevel` 8 and the default strategy: the same level configurations, greedy parsing at levels
//! 1–3 and lazy parsing at 4–9, the same match search, block splitting and Huffman coding.
//!
//! [`reproduce`] finds which engine and level turn a tar stream into a given `.tgz`; [`gzip`]
//! writes with a given one. This module never touches the file system and never fails: any
//! input compresses, and a stream that no engine reproduces is simply not reproduced.
//!
//! It must not grow an approximation: an engine either reproduces every byte or the caller is
//! told it does not.

mod bits;
mod hash;
mod lz77;
mod trees;

use std::fmt;

use serde::Serialize;

pub use hash::DeflateHash;
use hash::{ChromiumKey, Crc32cKey, StockKey};

/// The gzip member header is 10 bytes: magic, method, flags, mtime, extra flags, OS.
const HEADER_LEN: usize = 10;
/// CRC-32 and length of the uncompressed data.
const TRAILER_LEN: usize = 8;
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Compression method 8, deflate; no flags (no name, comment, extra field or header CRC).
const METHOD_DEFLATE: u8 = 8;

/// How to write a gzip stream: the deflate engine and level, and the header's OS byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct GzipOptions {
    /// zlib compression level, 1–9 (values outside are clamped; provdiff never writes stored
    /// blocks, which level 0 would).
    pub level: u8,
    pub hash: DeflateHash,
    /// The header's OS byte: zlib writes 3 (Unix); npm 7 and later set 0xff (unknown).
    pub os: u8,
}

impl GzipOptions {
    /// What `npm pack` writes with current Node.js: Chromium zlib at level 9, OS byte 0xff.
    pub const NPM: GzipOptions = GzipOptions { level: 9, hash: DeflateHash::Chromium, os: 0xff };

    fn level(self) -> u8 {
        self.level.clamp(1, 9)
    }

    /// zlib's `XFL` byte for the level: 2 for maximum compression, 4 for the fastest.
    fn extra_flags(self) -> u8 {
        match self.level() {
            9 => 2,
            1 => 4,
            _ => 0,
        }
    }

    fn header(self) -> [u8; HEADER_LEN] {
        [GZIP_MAGIC[0], GZIP_MAGIC[1], METHOD_DEFLATE, 0, 0, 0, 0, 0, self.extra_flags(), self.os]
    }
}

impl fmt::Display for GzipOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} level {}", self.hash.describe(), self.level())
    }
}

/// Compresses `tar` into a single gzip member with no name and no mtime, as zlib's
/// `deflateInit2(level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY)` writes it, with `options.os` as
/// the OS byte.
pub fn gzip(tar: &[u8], options: GzipOptions) -> Vec<u8> {
    // Without an expected stream the compressor cannot diverge.
    encode(tar, options, gzip_trailer(tar), None).unwrap_or_default()
}

/// The engine and level that compress `tar` into exactly `published`, if one of the known ones
/// does. The level comes from the header's `XFL` byte (which zlib derives from it): 9 for 2, 1
/// for 4, and 6 (npm's old default) then 2–8 for 0. For each level the likely engines are tried
/// first: at 9 current Node.js, then stock zlib, then the CRC32C era; at other levels, from before
/// npm settled on 9, stock zlib first. A candidate is abandoned at its first differing byte,
/// which usually comes within the first block.
pub fn reproduce(tar: &[u8], published: &[u8]) -> Option<GzipOptions> {
    reproduce_with_output(tar, published).map(|(options, _)| options)
}

/// [`reproduce`], also returning the reproduced stream (equal to `published`).
pub(crate) fn reproduce_with_output(tar: &[u8], published: &[u8]) -> Option<(GzipOptions, Vec<u8>)> {
    if published.len() < HEADER_LEN + TRAILER_LEN {
        return None;
    }
    // The trailer depends only on the data: if it does not fit, no engine can help.
    let trailer = gzip_trailer(tar);
    if published[published.len() - TRAILER_LEN..] != trailer {
        return None;
    }
    let os = published[9];
    let (levels, hashes): (&[u8], [DeflateHash; 3]) = match published[8] {
        2 => (&[9], [DeflateHash::Chromium, DeflateHash::Stock, DeflateHash::Crc32c]),
        4 => (&[1], [DeflateHash::Chromium, DeflateHash::Stock, DeflateHash::Crc32c]),
        0 => (&[6, 2, 3, 4, 5, 7, 8], [DeflateHash::Stock, DeflateHash::Crc32c, DeflateHash::Chromium]),
        _ => return None,
    };
    levels.iter().flat_map(|&level| hashes.map(|hash| GzipOptions { level, hash, os })).find_map(|options| {
        let output = encode(tar, options, trailer, Some(published)).ok()?;
        Some((options, output))
    })
}

/// The gzip member for `tar`, whose trailer is `trailer`; with `expected`, only if it is exactly
/// that.
fn encode(
    tar: &[u8],
    options: GzipOptions,
    trailer: [u8; TRAILER_LEN],
    expected: Option<&[u8]>,
) -> Result<Vec<u8>, bits::Diverged> {
    let header = options.header();
    let body_expected = match expected {
        Some(expected) => {
            let body = expected
                .strip_prefix(&header[..])
                .and_then(|rest| rest.strip_suffix(&trailer[..]))
                .ok_or(bits::Diverged)?;
            Some(body)
        }
        None => None,
    };
    let level = options.level();
    let body = match options.hash {
        DeflateHash::Stock => lz77::compress::<StockKey>(tar, level, body_expected)?,
        // Chromium masks the fourth byte off at levels 6 and above.
        DeflateHash::Crc32c if level >= 6 => lz77::compress::<Crc32cKey<true>>(tar, level, body_expected)?,
        DeflateHash::Crc32c => lz77::compress::<Crc32cKey<false>>(tar, level, body_expected)?,
        DeflateHash::Chromium => lz77::compress::<ChromiumKey>(tar, level, body_expected)?,
    };
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + TRAILER_LEN);
    out.extend_from_slice(&header);
    out.extend_from_slice(&body);
    out.extend_from_slice(&trailer);
    Ok(out)
}

/// CRC-32 and size modulo 2^32 of the uncompressed data, little-endian.
fn gzip_trailer(data: &[u8]) -> [u8; TRAILER_LEN] {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    let mut trailer = [0; TRAILER_LEN];
    trailer[..4].copy_from_slice(&crc.sum().to_le_bytes());
    trailer[4..].copy_from_slice(&(data.len() as u32).to_le_bytes());
    trailer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_carries_the_level_and_os() {
        let tgz = gzip(b"", GzipOptions::NPM);
        assert_eq!(&tgz[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]);
        let tgz = gzip(b"", GzipOptions { level: 1, hash: DeflateHash::Stock, os: 3 });
        assert_eq!(&tgz[8..10], &[4, 3]);
        let tgz = gzip(b"", GzipOptions { level: 6, hash: DeflateHash::Stock, os: 3 });
        assert_eq!(&tgz[8..10], &[0, 3]);
    }

    #[test]
    fn empty_input_is_one_fixed_block_with_only_the_end_code() {
        // What every zlib writes for no data: 03 00, then CRC 0 and size 0.
        let tgz = gzip(b"", GzipOptions::NPM);
        assert_eq!(&tgz[10..], &[3, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn reproduce_finds_each_engine_and_level() {
        let data: Vec<u8> =
            (0..40_000u32).map(|i| b"provdiff reproduces npm tarballs "[(i * i % 33) as usize]).collect();
        for level in 1..=9 {
            for hash in DeflateHash::ALL {
                let options = GzipOptions { level, hash, os: 0xff };
                let tgz = gzip(&data, options);
                let found = reproduce(&data, &tgz).unwrap_or_else(|| panic!("{options} not reproduced"));
                // Another engine or level may write the same bytes; it must then really write them.
                assert_eq!(found.extra_flags(), options.extra_flags());
                assert_eq!(gzip(&data, found), tgz, "{found} found for {options}");
            }
        }
    }

    #[test]
    fn reproduce_rejects_what_no_engine_writes() {
        let data = b"hello hello hello hello".repeat(100);
        let tgz = gzip(&data, GzipOptions::NPM);
        let mut other = tgz.clone();
        other[9] = 3;
        assert_eq!(reproduce(&data, &other).map(|o| o.os), Some(3), "the OS byte is copied, not guessed");
        for (at, byte) in [(3, 8), (4, 1), (8, 7), (12, tgz[12] ^ 1)] {
            let mut changed = tgz.clone();
            changed[at] = byte;
            assert_eq!(reproduce(&data, &changed), None, "byte {at} changed");
        }
        let mut longer = tgz.clone();
        longer.push(0);
        assert_eq!(reproduce(&data, &longer), None);
        assert_eq!(reproduce(&data, &tgz[..tgz.len() - 1]), None);
        assert_eq!(reproduce(b"other data", &tgz), None);
        assert_eq!(reproduce(&data, &[]), None);
    }
}
