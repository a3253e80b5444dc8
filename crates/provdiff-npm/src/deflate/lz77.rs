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
//!
//! At levels 8 and 9, whose chain budgets are large, `longest_match` takes a shortcut zlib does
//! not have but that finds exactly zlib's match (see [`Deflater::long_walk`]): once it holds a
//! match of [`LONG_KEY_LEN`] bytes, only candidates sharing those bytes can do better, and a second
//! set of chains, keyed by the first [`LONG_KEY_LEN`] bytes, leads from one to the next without
//! visiting the others.

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

/// The length of the keys of the long chains: a match this long switches `longest_match` to them.
const LONG_KEY_LEN: usize = 8;
const LONG_HASH_BITS: u32 = 15;
/// Chain budgets from which the long chains pay for their upkeep (levels 8 and 9).
const LONG_CHAINS_FROM_BUDGET: usize = 1024;

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
    if config.max_chain >= LONG_CHAINS_FROM_BUDGET {
        Deflater::<K, true>::new(input, config, expected).run()
    } else {
        Deflater::<K, false>::new(input, config, expected).run()
    }
}

#[derive(Debug)]
struct Deflater<'a, K, const LONG: bool> {
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
    /// With `LONG`: chains of positions whose first [`LONG_KEY_LEN`] bytes hash alike, kept like
    /// `head` and `prev` and holding the same positions (provdiff's own, not zlib's).
    long_head: Vec<u16>,
    long_prev: Vec<u16>,
    /// With `LONG`: per position modulo the window size, its rank in zlib's chain (how many
    /// positions with its key were inserted up to it, wrapping: only differences within the
    /// window are used), and per key, the rank of its head.
    rank: Vec<u16>,
    head_rank: Vec<u16>,
}

impl<'a, K: HashKey, const LONG: bool> Deflater<'a, K, LONG> {
    fn new(input: &'a [u8], config: Config, expected: Option<&'a [u8]>) -> Self {
        let long = |len: usize| if LONG { vec![0; len] } else { Vec::new() };
        Self {
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
            long_head: long(1 << LONG_HASH_BITS),
            long_prev: long(WSIZE),
            rank: if LONG { vec![0; WSIZE] } else { Vec::new() },
            head_rank: if LONG { vec![0; HASH_SIZE] } else { Vec::new() },
        }
    }

    fn run(mut self) -> Result<Vec<u8>, Diverged> {
        if self.config.lazy { self.lazy()? } else { self.greedy()? };
        self.out.finish()
    }

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
                for chains in [&mut self.head, &mut self.prev, &mut self.long_head, &mut self.long_prev] {
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
        if LONG {
            let rank = self.head_rank[key].wrapping_add(1);
            self.head_rank[key] = rank;
            self.rank[at & WMASK] = rank;
            let long = long_key(&self.window, at);
            self.long_prev[at & WMASK] = self.long_head[long];
            self.long_head[long] = at as u16;
        }
        usize::from(head)
    }

    /// The longest match for the string at `strstart` along the chain from `candidate`, if longer
    /// than `best` (`longest_match`). Sets `match_start` when it finds one; returns the best
    /// length, capped at the lookahead.
    ///
    /// zlib examines at most `chain` candidates, most recent first, and keeps the first of the
    /// longest matches among them. With `LONG`, once a match of [`LONG_KEY_LEN`] bytes is in hand
    /// the rest of the walk moves to the long chains ([`Self::long_walk`]), which yields the same
    /// match.
    fn longest_match(&mut self, first: usize, best: usize) -> usize {
        let config = self.config;
        let window = &self.window[..];
        let scan = self.strstart;
        let mut candidate = first;
        let mut best_len = best;
        let budget = if best >= config.good_length { config.max_chain >> 2 } else { config.max_chain };
        let mut chain = budget;
        // Matches never reach past the input; zlib caps `nice_length` to keep this deterministic.
        let nice = config.nice_length.min(self.lookahead);
        let limit = scan.saturating_sub(MAX_DIST);
        if LONG && best_len >= LONG_KEY_LEN {
            let from = usize::from(self.long_prev[scan & WMASK]);
            return self.long_walk(from, first, budget, best_len, nice);
        }
        let wanted = &window[scan..scan + MAX_MATCH];
        let pair = |bytes: &[u8], at: usize| load_u16(bytes, at);
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
                    if LONG && len >= LONG_KEY_LEN {
                        let from = usize::from(self.long_prev[candidate & WMASK]);
                        return self.long_walk(from, first, budget, best_len, nice);
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

    /// The rest of `longest_match` once the best match is at least [`LONG_KEY_LEN`] bytes long,
    /// walking the long chain from `candidate` (the one after the last position examined, or
    /// after the string itself), for the call that began at `first`.
    ///
    /// Only a candidate sharing more than `best` bytes with the string can replace the match, so
    /// only candidates sharing its first [`LONG_KEY_LEN`] bytes matter, and the long chain holds
    /// all of them (with some others whose long key collides), most recent first, as zlib's chain
    /// does. zlib would stop after `budget` candidates of its own chain starting at `first`: a
    /// candidate whose first four bytes are the string's has the same zlib key, so its rank
    /// tells whether zlib would still reach it. Candidates are compared as zlib compares them,
    /// and the first of the longest wins, so the match is zlib's.
    fn long_walk(&mut self, mut candidate: usize, first: usize, budget: usize, best: usize, nice: usize) -> usize {
        let window = &self.window[..];
        let scan = self.strstart;
        let limit = scan.saturating_sub(MAX_DIST);
        let mut best_len = best;
        let word = |at: usize| load_u32(window, at);
        let pair = |at: usize| load_u16(window, at);
        let wanted = &window[scan..scan + MAX_MATCH];
        let start = word(scan);
        let mut end = pair(scan + best_len - 1);
        let first_rank = self.rank[first & WMASK];
        // zlib examines its first candidate even at exactly `limit` (never 0: callers check), the
        // others only above it. The long chain reaches `first` itself only when the walk starts
        // at the string (a match of `LONG_KEY_LEN` bytes already in hand from the previous
        // position).
        while candidate > limit || candidate == first {
            if word(candidate) == start {
                if first_rank.wrapping_sub(self.rank[candidate & WMASK]) >= budget as u16 {
                    break;
                }
                if pair(candidate + best_len - 1) == end {
                    let here = &window[candidate..candidate + MAX_MATCH];
                    let len = 4 + common_prefix(&here[4..], &wanted[4..]);
                    if len > best_len {
                        self.match_start = candidate;
                        best_len = len;
                        if len >= nice {
                            break;
                        }
                        end = pair(scan + best_len - 1);
                    }
                }
            }
            candidate = usize::from(self.long_prev[candidate & WMASK]);
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

/// The key of the long chains: a multiplicative hash of the [`LONG_KEY_LEN`] bytes at `at`.
#[inline(always)]
fn long_key(window: &[u8], at: usize) -> usize {
    const _: () = assert!(LONG_KEY_LEN == 8, "the long key is one u64");
    (load_u64(window, at).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - LONG_HASH_BITS)) as usize
}

/// The little-endian `u16` at `at`: one bounds check for the slice, none per byte.
#[inline(always)]
fn load_u16(bytes: &[u8], at: usize) -> u16 {
    let b = &bytes[at..at + 2];
    u16::from_le_bytes([b[0], b[1]])
}

/// The little-endian `u32` at `at`.
#[inline(always)]
pub(super) fn load_u32(bytes: &[u8], at: usize) -> u32 {
    let b = &bytes[at..at + 4];
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// The little-endian `u64` at `at`.
#[inline(always)]
fn load_u64(bytes: &[u8], at: usize) -> u64 {
    let b = &bytes[at..at + 8];
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
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

    /// Inputs whose chains run past zlib's budgets with many candidates sharing 8 bytes or more:
    /// where the long chains decide what zlib would have examined.
    fn long_chain_inputs() -> Vec<(&'static str, Vec<u8>)> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 33) as usize % bound
        };
        let indented: Vec<u8> = (0..9000)
            .flat_map(|_| {
                let mut line = vec![b' '; 2 * next(12)];
                for _ in 0..1 + next(4) {
                    line.extend_from_slice([&b"return "[..], b"x", b"(a, b)", b" = ", b"{}", b";"][next(6)]);
                }
                line.push(b'\n');
                line
            })
            .collect();
        let two_letters: Vec<u8> = (0..150_000).map(|_| b"ab"[next(2)]).collect();
        let mutated_blocks: Vec<u8> = (0..4000)
            .flat_map(|_| {
                let mut block = *b"0123456789abcdefghijklmnopqrstuvwxyzABCD";
                block[next(40)] = b'#';
                block
            })
            .collect();
        let runs: Vec<u8> = (0..2000).flat_map(|_| vec![b"-= "[next(3)]; 1 + next(300)]).collect();
        vec![("indented", indented), ("two letters", two_letters), ("mutated blocks", mutated_blocks), ("runs", runs)]
    }

    fn check_long_chains<K: HashKey>() {
        for (name, input) in long_chain_inputs() {
            assert!(input.len() > 2 * WSIZE, "{name} is too short to slide the window");
            for level in [8, 9] {
                let config = CONFIGS[level - 1];
                let long = Deflater::<K, true>::new(&input, config, None).run().unwrap();
                let zlib = Deflater::<K, false>::new(&input, config, None).run().unwrap();
                assert!(long == zlib, "{name} at level {level}: the long chains change the stream");
            }
        }
    }

    #[test]
    fn the_long_chains_find_zlibs_matches() {
        check_long_chains::<super::super::hash::ChromiumKey>();
        check_long_chains::<super::super::hash::StockKey>();
        check_long_chains::<super::super::hash::Crc32cKey<true>>();
    }

    #[test]
    fn the_window_is_large_enough_for_every_read() {
        // The farthest `longest_match` reads is `strstart + MAX_MATCH - 1` with `strstart` at
        // most `WINDOW_SIZE - MIN_LOOKAHEAD`; a 4-byte key reads 3 bytes past its position.
        const { assert!(WINDOW_SIZE - MIN_LOOKAHEAD + MAX_MATCH < WINDOW_SIZE + WINDOW_PADDING) };
    }
}
