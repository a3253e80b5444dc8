//! The three hash functions that key zlib's match chains, the only place where the deflate
//! engines npm publishers have used differ.
//!
//! zlib finds matches through chains of earlier positions whose first bytes hash alike. Which
//! positions share a chain decides which candidates `longest_match` examines within its chain
//! budget, and so which match it picks: a different hash gives a different (equally valid)
//! stream. Everything else in the engines is stock zlib.

use serde::Serialize;

/// zlib's `hash_bits` for `memLevel` 8 (`memLevel + 7`); Chromium raises it to at least 15,
/// which at `memLevel` 8 changes nothing.
pub(super) const HASH_BITS: u32 = 15;
pub(super) const HASH_SIZE: usize = 1 << HASH_BITS;
const HASH_MASK: u32 = (HASH_SIZE - 1) as u32;

/// How match chains are keyed, which identifies the zlib that wrote a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeflateHash {
    /// zlib's Rabin–Karp rolling hash of 3 bytes: stock zlib (Python, the C library most
    /// systems ship), and Chromium-zlib Node.js on CPUs without CRC instructions.
    Stock,
    /// The CRC32C of the next 4 bytes (3 at levels 6–9): Chromium's zlib in older Node.js
    /// (16.20 and 18.17 measured; 18.20 no longer) on x86 CPUs with SSE4.2 and PCLMUL, and on
    /// ARMv8 CPUs with CRC32. The same Node.js on other CPUs writes `Stock` streams.
    Crc32c,
    /// A multiplicative hash of the next 4 bytes: Chromium's zlib in current Node.js (18.20 and
    /// later, 20, 22), the same on every CPU.
    Chromium,
}

impl DeflateHash {
    /// Every hash, most common in current npm tarballs first.
    pub const ALL: [DeflateHash; 3] = [DeflateHash::Chromium, DeflateHash::Stock, DeflateHash::Crc32c];

    /// Who writes streams with this hash, for reports.
    pub fn describe(self) -> &'static str {
        match self {
            DeflateHash::Stock => "stock zlib",
            DeflateHash::Crc32c => "older Node.js (Chromium zlib, CRC32C hashing)",
            DeflateHash::Chromium => "Node.js (Chromium zlib)",
        }
    }
}

/// A hash of the bytes at a window position. Implementations are pure functions of those bytes:
/// zlib's rolling hash is updated incrementally, but with 15 hash bits and a shift of 5 each byte
/// leaves the key after three updates, so it equals a direct function of three bytes.
///
/// Every key here also has the property `longest_match` relies on when it skips comparing the
/// third byte: two positions whose first, second and fourth bytes agree and whose keys agree
/// also agree in the third byte (see the tests).
pub(super) trait HashKey {
    fn key(window: &[u8], at: usize) -> usize;
}

/// zlib's `UPDATE_HASH` applied to three bytes: `((h << 5) ^ c) & mask`.
#[derive(Debug)]
pub(super) struct StockKey;

impl HashKey for StockKey {
    #[inline(always)]
    fn key(window: &[u8], at: usize) -> usize {
        let bytes = &window[at..at + 3];
        (((u32::from(bytes[0]) << 10) ^ (u32::from(bytes[1]) << 5) ^ u32::from(bytes[2])) & HASH_MASK) as usize
    }
}

/// Chromium's SIMD `insert_string`: the CRC32C instruction (`crc32` on x86, `crc32cw` on ARM)
/// applied with an initial value of 0 to the little-endian word at the position. At levels 6 and
/// above the fourth byte is masked off (`THREE_BYTES`).
#[derive(Debug)]
pub(super) struct Crc32cKey<const THREE_BYTES: bool>;

impl<const THREE_BYTES: bool> HashKey for Crc32cKey<THREE_BYTES> {
    #[inline(always)]
    fn key(window: &[u8], at: usize) -> usize {
        let bytes = &window[at..at + 4];
        // Slicing by four: with a zero initial value the CRC of a word is the XOR of each byte's
        // contribution, shifted by the bytes that follow it.
        let mut crc = CRC32C[3][bytes[0] as usize] ^ CRC32C[2][bytes[1] as usize] ^ CRC32C[1][bytes[2] as usize];
        if !THREE_BYTES {
            crc ^= CRC32C[0][bytes[3] as usize];
        }
        (crc & HASH_MASK) as usize
    }
}

/// Chromium's current `insert_string`: `((word + 1) * 66521) >> 16`, with the word read
/// little-endian (all the CPUs Node.js runs on are little-endian) and the same at every level.
#[derive(Debug)]
pub(super) struct ChromiumKey;

impl HashKey for ChromiumKey {
    #[inline(always)]
    fn key(window: &[u8], at: usize) -> usize {
        let word = super::lz77::load_u32(window, at);
        ((word.wrapping_add(1).wrapping_mul(66521) >> 16) & HASH_MASK) as usize
    }
}

/// The reflected Castagnoli polynomial the CRC32C instructions use.
const CASTAGNOLI: u32 = 0x82f6_3b78;

/// `CRC32C[k][b]`: the CRC of byte `b` followed by `k` zero bytes, from a zero initial value.
const CRC32C: [[u32; 256]; 4] = crc32c_tables();

const fn crc32c_tables() -> [[u32; 256]; 4] {
    let mut tables = [[0u32; 256]; 4];
    let mut byte = 0;
    while byte < 256 {
        let mut crc = byte as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ CASTAGNOLI } else { crc >> 1 };
            bit += 1;
        }
        tables[0][byte] = crc;
        byte += 1;
    }
    let mut k = 1;
    while k < 4 {
        let mut byte = 0;
        while byte < 256 {
            let previous = tables[k - 1][byte];
            tables[k][byte] = (previous >> 8) ^ tables[0][(previous & 0xff) as usize];
            byte += 1;
        }
        k += 1;
    }
    tables
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-at-a-time CRC32C update, the definition the tables must agree with.
    fn crc32c_update(mut crc: u32, bytes: &[u8]) -> u32 {
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ CASTAGNOLI } else { crc >> 1 };
            }
        }
        crc
    }

    #[test]
    fn crc32c_is_the_castagnoli_crc() {
        // The standard check value of CRC-32C (initial and final XOR with all ones).
        assert_eq!(!crc32c_update(!0, b"123456789"), 0xe306_9283);
    }

    #[test]
    fn crc32c_keys_match_the_bitwise_definition() {
        let mut state = 0x1234_5678u32;
        for _ in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let window = state.to_le_bytes();
            let four = crc32c_update(0, &window) & HASH_MASK;
            let three = crc32c_update(0, &[window[0], window[1], window[2], 0]) & HASH_MASK;
            assert_eq!(Crc32cKey::<false>::key(&window, 0), four as usize);
            assert_eq!(Crc32cKey::<true>::key(&window, 0), three as usize);
        }
    }

    #[test]
    fn the_stock_key_is_the_rolling_hash_after_three_updates() {
        let update = |h: u32, c: u8| ((h << 5) ^ u32::from(c)) & HASH_MASK;
        let window = b"\xffzl\x80ib!";
        // An arbitrary earlier state must not matter.
        let mut h = 0x5a5a & HASH_MASK;
        for at in 0..window.len() - 2 {
            if at == 0 {
                h = update(update(update(h, window[0]), window[1]), window[2]);
            } else {
                h = update(h, window[at + 2]);
            }
            assert_eq!(StockKey::key(window, at), h as usize);
        }
    }

    #[test]
    fn the_chromium_key_multiplies_the_little_endian_word() {
        let window = [0x01, 0x02, 0x03, 0x04];
        let expected = ((0x0403_0202u64 * 66521) >> 16) as u32 & HASH_MASK;
        assert_eq!(ChromiumKey::key(&window, 0), expected as usize);
    }

    /// `longest_match` checks bytes 0 and 1 and the bytes at the current best length, and assumes
    /// byte 2 from equal keys. A key may skip that check only if words that agree in bytes 0, 1
    /// and 3 and have equal keys agree in byte 2 too.
    fn assert_third_byte_follows<K: HashKey>(words: impl Iterator<Item = u32>) {
        for word in words {
            let base = word.to_le_bytes();
            let key = K::key(&base, 0);
            for third in 0..=255u8 {
                if third == base[2] {
                    continue;
                }
                let other = [base[0], base[1], third, base[3]];
                assert_ne!(K::key(&other, 0), key, "{base:02x?} and {other:02x?} collide");
            }
        }
    }

    #[test]
    fn every_key_determines_the_third_byte() {
        // The CRC is linear, so the words' difference alone decides; a zero base covers them all.
        assert_third_byte_follows::<Crc32cKey<true>>(std::iter::once(0));
        assert_third_byte_follows::<Crc32cKey<false>>(std::iter::once(0));
        assert_third_byte_follows::<StockKey>((0..=0xffffu32).map(|low| low | 0x5500_0000));
        // The multiplicative key differs by `d * 66521` in bits 16 and up for a byte-2 difference
        // `d`; 66521 is odd, so no `d` below 2^15 vanishes. Checked on many words as well.
        let mut state = 0x9e37_79b9u32;
        let words = std::iter::from_fn(|| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            Some(state)
        });
        assert_third_byte_follows::<ChromiumKey>(words.take(4096).chain([0, u32::MAX, 0xffff, 0xffff_0000]));
    }
}
