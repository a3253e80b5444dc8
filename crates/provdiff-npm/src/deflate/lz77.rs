//! zlib's match finder and its two parsers: `deflate_fast` (levels 1–3: take the longest match
//! at each position) and `deflate_slow` (levels 4–9: lazy matching, where a match is kept only
//! if the next position has no longer one).
//!
//! The window is zlib's: 64 KiB filled from the input, slid down by 32 KiB when the current
//! position nears its end, with the hash chains adjusted. Bytes past the end of the input are
//! read (the 4-byte hashes and `longest_match` look ahead, capping lengths only afterwards), so
//! they must be what zlib has there too: zeros until written, stale bytes after a slide. zlib
//! zeroes such bytes lazily (`high_water`) or up front (Chromium); a zero-filled window on which
//! the same copies are made holds the same bytes.

use std::marker::PhantomData;

use super::bits::{BitWriter, Diverged};
use super::hash::{HASH_SIZE, HashKey};
use super::trees::Block;

const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 258;
/// `windowBits` 15.
const WSIZE: usize = 1 << 15;
const WMASK: usize = WSIZE - 1;
const WINDOW_SIZE: usize = 2 * WSIZE;
/// Room after the window so that reads of a hash key or a match never leave it.
const WINDOW_PADDING: usize = 8;
/// Lookahead needed to find a match and insert the string after it.
const MIN_LOOKAHEAD: usize = MAX_MATCH + MIN_MATCH + 1;
/// Farthest match distance zlib uses, keeping `MIN_LOOKAHEAD` bytes of room at the window end.
const MAX_DIST: usize = WSIZE - MIN_LOOKAHEAD;
/// Matches of length 3 farther than this are not worth their distance code (lazy parser only).
const TOO_FAR: usize = 4096;

/// zlib's `configuration_table` for levels 1–9.
#[derive(Debug, Clone, Copy)]
struct Config {
    /// Quarter the chain search once a match this long is in hand.
    good_length: usize,
    /// Lazy parser: do not look for a better match after one this long.
    /// Greedy parser: insert the positions inside matches up to this long only.
    max_lazy: usize,
    /// Stop searching at a match this long.
    nice_length: usize,
    /// Most chain entries examined per search.
    max_chain: usize,
    lazy: bool,
}

const fn config(good_length: usize, max_lazy: usize, nice_length: usize, max_chain: usize, lazy: bool) -> Config {
    Config { good_length, max_lazy, nice_length, max_chain, lazy }
}

const CONFIGS: [Config; 9] = [
    config(4, 4, 8, 4, false),
    config(4, 5, 16, 8, false),
    config(4, 6, 32, 32, false),
    config(4, 4, 16, 16, true),
    config(8, 16, 32, 32, true),
    config(8, 16, 128, 128, true),
    config(8, 32, 128, 256, true),
    config(32, 128, 258, 1024, true),
    config(32, 258, 258, 4096, true),
];

/// Compresses `input` as raw deflate at `level` (1–9), keying chains with `K`.
pub(super) fn compress<K: HashKey>(input: &[u8], level: u8, expected: Option<&[u8]>) -> Result<Vec<u8>, Diverged> {
    let config = CONFIGS[usize::from(level.clamp(1, 9)) - 1];
    let mut deflater = Deflater::<K> {
        input,
        next_in: 0,
        window: vec![0; WINDOW_SIZE + WINDOW_PADDING],
        head: vec![0; HASH_SIZE],
        prev: vec![0; WSIZE],
        strstart: 0,
        lookahead: 0,
        block_start: 0,
        match_start: 0,
        config,
        block: Block::new(),
        out: BitWriter::new(input.len() / 3 + 64, expected),
        key: PhantomData,
    };
    if config.lazy {
        deflater.lazy()?
    } else {
        deflater.greedy()?
    };
    deflater.out.finish()
}

#[derive(Debug)]
struct Deflater<'a, K> {
    input: &'a [u8],
    next_in: usize,
    window: Vec<u8>,
    /// Most recent position per hash key; 0 is "none" (position 0 is never matched against).
    head: Vec<u16>,
    /// Previous position with the same key, per position modulo the window size.
    prev: Vec<u16>,
    /// Current position in the window.
    strstart: usize,
    /// Input bytes in the window from `strstart` on.
    lookahead: usize,
    /// Window position where the current block began; negative once slid out of the window.
    block_start: isize,
    /// Start of the match `longest_match` found last. Like zlib's, it goes stale (and may wrap
    /// at a slide) when no match improves on the previous one; it is then never used.
    match_start: usize,
    config: Config,
    block: Block,
    out: BitWriter<'a>,
    key: PhantomData<K>,
}

impl<K: HashKey> Deflater<'_, K> {
    /// Reads input into the window, sliding it first when the position is near its end
    /// (`fill_window`). Called when the lookahead is below `MIN_LOOKAHEAD`.
    fn fill_window(&mut self) {
        loop {
            let mut room = WINDOW_SIZE - self.lookahead - self.strstart;
            if self.strstart >= WSIZE + MAX_DIST {
                // zlib copies only the bytes still in use; the rest of the lower half keeps its
                // old contents, which matters for reads past the end of the input.
                self.window.copy_within(WSIZE..2 * WSIZE - room, 0);
                self.match_start = self.match_start.wrapping_sub(WSIZE);
                self.strstart -= WSIZE;
                self.block_start -= WSIZE as isize;
                for chains in [&mut self.head, &mut self.prev] {
                    for position in chains.iter_mut() {
                        *position = position.saturating_sub(WSIZE as u16);
                    }
                }
                room += WSIZE;
            }
            let rest = &self.input[self.next_in..];
            if rest.is_empty() {
                break;
            }
            let n = room.min(rest.len());
            let at = self.strstart + self.lookahead;
            self.window[at..at + n].copy_from_slice(&rest[..n]);
            self.next_in += n;
            self.lookahead += n;
            if self.lookahead >= MIN_LOOKAHEAD || self.next_in == self.input.len() {
                break;
            }
        }
    }

    /// Adds the string at `at` to its hash chain and returns the chain's previous head
    /// (`insert_string`).
    #[inline(always)]
    fn insert(&mut self, at: usize) -> usize {
        let key = K::key(&self.window, at);
        let head = self.head[key];
        self.prev[at & WMASK] = head;
        self.head[key] = at as u16;
        usize::from(head)
    }

    /// The longest match for the string at `strstart` along the chain from `candidate`, if longer
    /// than `best` (`longest_match`). Sets `match_start` when it finds one; returns the best
    /// length, capped at the lookahead.
    fn longest_match(&mut self, mut candidate: usize, best: usize) -> usize {
        let config = self.config;
        let window = &self.window[..];
        let scan = self.strstart;
        let mut best_len = best;
        let mut chain = if best >= config.good_length { config.max_chain >> 2 } else { config.max_chain };
        // Matches never reach past the input; zlib caps `nice_length` to keep this deterministic.
        let nice = config.nice_length.min(self.lookahead);
        let limit = scan.saturating_sub(MAX_DIST);
        let wanted = &window[scan..scan + MAX_MATCH];
        let pair = |bytes: &[u8], at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let start = pair(wanted, 0);
        let mut end = pair(window, scan + best_len - 1);
        loop {
            // A candidate must agree in its first two bytes and where the current best ends, or
            // it cannot be longer; the third byte follows from equal hash keys (see `hash`), as
            // zlib assumes.
            if pair(window, candidate + best_len - 1) == end && pair(window, candidate) == start {
                let here = &window[candidate..candidate + MAX_MATCH];
                let len = MIN_MATCH + common_prefix(&here[MIN_MATCH..], &wanted[MIN_MATCH..]);
                if len > best_len {
                    self.match_start = candidate;
                    best_len = len;
                    if len >= nice {
                        break;
                    }
                    end = pair(window, scan + best_len - 1);
                }
            }
            candidate = usize::from(self.prev[candidate & WMASK]);
            chain -= 1;
            if candidate <= limit || chain == 0 {
                break;
            }
        }
        best_len.min(self.lookahead)
    }

    /// Ends the current block at `strstart` (`FLUSH_BLOCK`) and checks the bytes so far.
    fn flush_block(&mut self, last: bool) -> Result<(), Diverged> {
        let stored_len = (self.strstart as isize - self.block_start) as usize;
        let stored = usize::try_from(self.block_start).ok().map(|start| &self.window[start..self.strstart]);
        self.block.flush(stored, stored_len, last, &mut self.out);
        self.block_start = self.strstart as isize;
        self.out.confirm()
    }

    /// `deflate_fast`: emit the longest match at each position, or a literal.
    fn greedy(&mut self) -> Result<(), Diverged> {
        loop {
            if self.lookahead < MIN_LOOKAHEAD {
                self.fill_window();
                if self.lookahead == 0 {
                    break;
                }
            }
            let head = if self.lookahead >= MIN_MATCH { self.insert(self.strstart) } else { 0 };
            // zlib's `prev_length` stays at MIN_MATCH - 1 in this parser.
            let mut match_length = 0;
            if head != 0 && self.strstart - head <= MAX_DIST {
                match_length = self.longest_match(head, MIN_MATCH - 1);
            }
            let full = if match_length >= MIN_MATCH {
                let full = self.block.matched(self.strstart - self.match_start, match_length);
                self.lookahead -= match_length;
                if match_length <= self.config.max_lazy && self.lookahead >= MIN_MATCH {
                    // The first position is already in its chain.
                    for _ in 1..match_length {
                        self.strstart += 1;
                        self.insert(self.strstart);
                    }
                    self.strstart += 1;
                } else {
                    self.strstart += match_length;
                }
                full
            } else {
                let full = self.block.literal(self.window[self.strstart]);
                self.lookahead -= 1;
                self.strstart += 1;
                full
            };
            if full {
                self.flush_block(false)?;
            }
        }
        self.flush_block(true)
    }

    /// `deflate_slow`: a match found at one position is emitted only if the next position has
    /// no longer match; otherwise the first byte goes out as a literal and the decision moves on.
    fn lazy(&mut self) -> Result<(), Diverged> {
        let mut match_length = MIN_MATCH - 1;
        // Whether the byte before `strstart` still awaits its decision.
        let mut match_available = false;
        loop {
            if self.lookahead < MIN_LOOKAHEAD {
                self.fill_window();
                if self.lookahead == 0 {
                    break;
                }
            }
            let head = if self.lookahead >= MIN_MATCH { self.insert(self.strstart) } else { 0 };

            let prev_length = match_length;
            let prev_match = self.match_start;
            match_length = MIN_MATCH - 1;
            if head != 0 && prev_length < self.config.max_lazy && self.strstart - head <= MAX_DIST {
                match_length = self.longest_match(head, prev_length);
                // A stale `match_start` can be "before" the window here; zlib's unsigned
                // subtraction then wraps to a large distance, and so does this one.
                if match_length == MIN_MATCH && self.strstart.wrapping_sub(self.match_start) > TOO_FAR {
                    match_length = MIN_MATCH - 1;
                }
            }

            if prev_length >= MIN_MATCH && match_length <= prev_length {
                // The previous position's match wins; insert the strings it covers, except those
                // too close to the end of the input to have a full key.
                let max_insert = self.strstart + self.lookahead - MIN_MATCH;
                let full = self.block.matched(self.strstart - 1 - prev_match, prev_length);
                self.lookahead -= prev_length - 1;
                for _ in 0..prev_length - 2 {
                    self.strstart += 1;
                    if self.strstart <= max_insert {
                        self.insert(self.strstart);
                    }
                }
                match_available = false;
                match_length = MIN_MATCH - 1;
                self.strstart += 1;
                if full {
                    self.flush_block(false)?;
                }
            } else if match_available {
                // No better match here than the previous byte had: it goes out as a literal.
                // The block ends before the current byte, which is still undecided.
                if self.block.literal(self.window[self.strstart - 1]) {
                    self.flush_block(false)?;
                }
                self.strstart += 1;
                self.lookahead -= 1;
            } else {
                match_available = true;
                self.strstart += 1;
                self.lookahead -= 1;
            }
        }
        if match_available {
            self.block.literal(self.window[self.strstart - 1]);
        }
        self.flush_block(true)
    }
}

/// Number of equal leading bytes of two equally long slices, eight at a time.
#[inline(always)]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let mut done = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_le_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let y = u64::from_le_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        let difference = x ^ y;
        if difference != 0 {
            return done + (difference.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    done + a[done..].iter().zip(&b[done..]).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_prefix_counts_equal_bytes() {
        let a: Vec<u8> = (0..255).map(|i| i as u8).collect();
        for at in [0, 1, 7, 8, 9, 100, 247, 248, 254] {
            let mut b = a.clone();
            b[at] ^= 0x40;
            assert_eq!(common_prefix(&a, &b), at);
        }
        assert_eq!(common_prefix(&a, &a), 255);
    }

    #[test]
    fn the_window_is_large_enough_for_every_read() {
        // The farthest `longest_match` reads is `strstart + MAX_MATCH - 1` with `strstart` at
        // most `WINDOW_SIZE - MIN_LOOKAHEAD`; a 4-byte key reads 3 bytes past its position.
        const { assert!(WINDOW_SIZE - MIN_LOOKAHEAD + MAX_MATCH < WINDOW_SIZE + WINDOW_PADDING) };
    }
}
