//! Blocks: the symbols the match finder produced, and how zlib turns them into a stored, fixed or
//! dynamic Huffman block.
//!
//! Huffman codes are not unique, so reproducing zlib means building its trees its way: the same
//! heap with the same tie-break (frequency, then subtree depth), the same repair of over-long
//! codes, the same run-length coding of the code lengths, and the same size estimates — including
//! their quirks, such as the bit subtracted for each dummy code — to choose the block type.

use super::bits::BitWriter;

const LITERALS: usize = 256;
const END_BLOCK: usize = 256;
const LENGTH_CODES: usize = 29;
/// Literal/length codes: literals, the end of block, and the length codes.
const L_CODES: usize = LITERALS + 1 + LENGTH_CODES;
const D_CODES: usize = 30;
const BL_CODES: usize = 19;
/// Room for every node of the largest tree (leaves plus internal nodes), as zlib sizes its heap.
const HEAP_SIZE: usize = 2 * L_CODES + 1;
const MAX_BITS: usize = 15;
const MAX_BL_BITS: usize = 7;
/// Code-length codes: repeat the previous length 3–6 times, repeat a zero 3–10 or 11–138 times.
const REP_3_6: usize = 16;
const REPZ_3_10: usize = 17;
const REPZ_11_138: usize = 18;

/// zlib's `lit_bufsize` at `memLevel` 8; a block holds one symbol less, whichever layout the
/// symbol buffer has (`sym_end` in zlib 1.2.12+, `lit_bufsize - 1` before, `LIT_MEM` in 1.3.1).
const SYMBOLS_PER_BLOCK: usize = (1 << (8 + 6)) - 1;

const EXTRA_LENGTH_BITS: [u8; LENGTH_CODES] =
    [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const EXTRA_DIST_BITS: [u8; D_CODES] =
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const EXTRA_BL_BITS: [u8; BL_CODES] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 7];
/// The order code-length code lengths are sent in (RFC 1951, 3.2.7).
const BL_ORDER: [usize; BL_CODES] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/// Length code (minus the 257 offset) for each match length minus 3, and each code's base.
const LENGTH_CODE: [u8; 256] = length_tables().0;
const BASE_LENGTH: [u8; LENGTH_CODES] = length_tables().1;
/// Distance code for distances minus 1: directly below 256, by `dist >> 7` above.
const DIST_CODE: [u8; 512] = dist_tables().0;
const BASE_DIST: [u16; D_CODES] = dist_tables().1;

const fn length_tables() -> ([u8; 256], [u8; LENGTH_CODES]) {
    let mut code_of = [0u8; 256];
    let mut base = [0u8; LENGTH_CODES];
    let mut length = 0;
    let mut code = 0;
    while code < LENGTH_CODES - 1 {
        base[code] = length as u8;
        let mut n = 0;
        while n < 1 << EXTRA_LENGTH_BITS[code] {
            code_of[length] = code as u8;
            length += 1;
            n += 1;
        }
        code += 1;
    }
    // Length 258 has its own code (285) although code 284 could also express it.
    code_of[255] = (LENGTH_CODES - 1) as u8;
    (code_of, base)
}

const fn dist_tables() -> ([u8; 512], [u16; D_CODES]) {
    let mut code_of = [0u8; 512];
    let mut base = [0u16; D_CODES];
    let mut dist = 0;
    let mut code = 0;
    while code < 16 {
        base[code] = dist as u16;
        let mut n = 0;
        while n < 1 << EXTRA_DIST_BITS[code] {
            code_of[dist] = code as u8;
            dist += 1;
            n += 1;
        }
        code += 1;
    }
    dist >>= 7;
    while code < D_CODES {
        base[code] = (dist << 7) as u16;
        let mut n = 0;
        while n < 1 << (EXTRA_DIST_BITS[code] - 7) {
            code_of[256 + dist] = code as u8;
            dist += 1;
            n += 1;
        }
        code += 1;
    }
    (code_of, base)
}

#[inline(always)]
fn dist_code(dist_minus_one: usize) -> usize {
    if dist_minus_one < 256 {
        DIST_CODE[dist_minus_one] as usize
    } else {
        DIST_CODE[256 + (dist_minus_one >> 7)] as usize
    }
}

/// The fixed literal/length code lengths (RFC 1951, 3.2.6), for all 288 codes.
const STATIC_LITERAL_LENGTHS: [u8; L_CODES + 2] = {
    let mut lengths = [0u8; L_CODES + 2];
    let mut n = 0;
    while n < L_CODES + 2 {
        lengths[n] = match n {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
        n += 1;
    }
    lengths
};
const STATIC_DIST_LENGTHS: [u8; D_CODES] = [5; D_CODES];

/// Canonical codes for the given lengths, bit-reversed for LSB-first output (`gen_codes`).
fn canonical_codes(lengths: &[u16], counts: &[u16; MAX_BITS + 1], codes: &mut [u16]) {
    let mut next = [0u16; MAX_BITS + 1];
    let mut code = 0u32;
    for bits in 1..=MAX_BITS {
        code = (code + u32::from(counts[bits - 1])) << 1;
        next[bits] = code as u16;
    }
    for (n, &length) in lengths.iter().enumerate() {
        if length != 0 {
            let length = usize::from(length);
            codes[n] = next[length].reverse_bits() >> (16 - length);
            next[length] += 1;
        }
    }
}

/// A fixed code table: lengths and bit-reversed codes.
#[derive(Debug)]
struct StaticCode<const N: usize> {
    lengths: [u16; N],
    codes: [u16; N],
}

impl<const N: usize> StaticCode<N> {
    fn new(lengths: &[u8; N]) -> Self {
        let lengths = lengths.map(u16::from);
        let mut counts = [0u16; MAX_BITS + 1];
        for &length in &lengths {
            counts[usize::from(length)] += 1;
        }
        counts[0] = 0;
        let mut codes = [0u16; N];
        canonical_codes(&lengths, &counts, &mut codes);
        Self { lengths, codes }
    }
}

/// What distinguishes the three trees zlib builds per block.
#[derive(Debug)]
struct TreeKind {
    /// Number of leaves.
    elems: usize,
    max_length: u16,
    extra_bits: &'static [u8],
    /// First leaf with extra bits.
    extra_base: usize,
    /// The fixed code's lengths, to estimate a fixed block's size.
    static_lengths: Option<&'static [u8]>,
}

const LITERAL_TREE: TreeKind = TreeKind {
    elems: L_CODES,
    max_length: MAX_BITS as u16,
    extra_bits: &EXTRA_LENGTH_BITS,
    extra_base: LITERALS + 1,
    static_lengths: Some(&STATIC_LITERAL_LENGTHS),
};
const DIST_TREE: TreeKind = TreeKind {
    elems: D_CODES,
    max_length: MAX_BITS as u16,
    extra_bits: &EXTRA_DIST_BITS,
    extra_base: 0,
    static_lengths: Some(&STATIC_DIST_LENGTHS),
};
const BL_TREE: TreeKind = TreeKind {
    elems: BL_CODES,
    max_length: MAX_BL_BITS as u16,
    extra_bits: &EXTRA_BL_BITS,
    extra_base: 0,
    static_lengths: None,
};

/// A dynamic Huffman tree: leaves first, then the internal nodes made while building it.
#[derive(Debug)]
struct Tree {
    freq: Vec<u32>,
    /// Parent of each node while building, then unused.
    dad: Vec<u16>,
    len: Vec<u16>,
    code: Vec<u16>,
    /// Largest leaf with a non-zero frequency (after the dummy leaves, see `build`).
    max_code: usize,
}

impl Tree {
    fn new(elems: usize) -> Self {
        let nodes = 2 * elems + 1;
        Self { freq: vec![0; nodes], dad: vec![0; nodes], len: vec![0; nodes], code: vec![0; nodes], max_code: 0 }
    }
}

/// zlib's running size estimates for the block, in bits. They can dip below zero while dummy
/// leaves are accounted for (zlib's unsigned arithmetic wraps and recovers), so they are signed.
#[derive(Debug, Default)]
struct Cost {
    dynamic: i64,
    fixed: i64,
}

/// Heap and counters shared by the tree builds (`heap`, `depth` and `bl_count` in zlib).
#[derive(Debug)]
struct Scratch {
    /// 1-based priority queue in `heap[1..=heap_len]`; finished nodes are stacked downwards
    /// from the end, most frequent last, which is the order lengths are assigned in.
    heap: [usize; HEAP_SIZE],
    depth: [u8; HEAP_SIZE],
    bl_count: [u16; MAX_BITS + 1],
}

impl Scratch {
    /// zlib's `smaller`: lower frequency first, then the shallower subtree.
    #[inline(always)]
    fn smaller(&self, tree: &Tree, n: usize, m: usize) -> bool {
        tree.freq[n] < tree.freq[m] || (tree.freq[n] == tree.freq[m] && self.depth[n] <= self.depth[m])
    }

    /// Restores the heap property below `k` (`pqdownheap`).
    fn sift_down(&mut self, tree: &Tree, heap_len: usize, mut k: usize) {
        let node = self.heap[k];
        let mut child = k << 1;
        while child <= heap_len {
            if child < heap_len && self.smaller(tree, self.heap[child + 1], self.heap[child]) {
                child += 1;
            }
            if self.smaller(tree, node, self.heap[child]) {
                break;
            }
            self.heap[k] = self.heap[child];
            k = child;
            child <<= 1;
        }
        self.heap[k] = node;
    }

    /// Builds the Huffman tree for `tree.freq` (`build_tree`): sets lengths and codes, and adds
    /// the block's size with these codes and with the fixed ones to `cost`.
    fn build(&mut self, tree: &mut Tree, kind: &TreeKind, cost: &mut Cost) {
        let mut heap_len = 0;
        let mut max_code: Option<usize> = None;
        for n in 0..kind.elems {
            if tree.freq[n] != 0 {
                heap_len += 1;
                self.heap[heap_len] = n;
                max_code = Some(n);
                self.depth[n] = 0;
            } else {
                tree.len[n] = 0;
            }
        }
        // Deflate needs at least two codes in each tree (a one-code tree would have a zero-bit
        // code), so zlib adds dummy leaves 0 and 1 and takes their estimated bit back.
        while heap_len < 2 {
            let node = match max_code {
                None => 0,
                Some(code) if code < 2 => code + 1,
                Some(_) => 0,
            };
            if max_code.is_none_or(|code| code < 2) {
                max_code = Some(node);
            }
            heap_len += 1;
            self.heap[heap_len] = node;
            tree.freq[node] = 1;
            self.depth[node] = 0;
            cost.dynamic -= 1;
            if let Some(lengths) = kind.static_lengths {
                cost.fixed -= i64::from(lengths[node]);
            }
        }
        let max_code = max_code.unwrap_or(1);
        tree.max_code = max_code;

        for k in (1..=heap_len / 2).rev() {
            self.sift_down(tree, heap_len, k);
        }

        // Repeatedly join the two least frequent nodes under a new internal node.
        let mut heap_max = HEAP_SIZE;
        let mut node = kind.elems;
        loop {
            let n = self.heap[1];
            self.heap[1] = self.heap[heap_len];
            heap_len -= 1;
            self.sift_down(tree, heap_len, 1);
            let m = self.heap[1];

            heap_max -= 1;
            self.heap[heap_max] = n;
            heap_max -= 1;
            self.heap[heap_max] = m;

            tree.freq[node] = tree.freq[n] + tree.freq[m];
            self.depth[node] = self.depth[n].max(self.depth[m]) + 1;
            tree.dad[n] = node as u16;
            tree.dad[m] = node as u16;

            self.heap[1] = node;
            node += 1;
            self.sift_down(tree, heap_len, 1);
            if heap_len < 2 {
                break;
            }
        }
        heap_max -= 1;
        self.heap[heap_max] = self.heap[1];

        self.assign_lengths(tree, kind, heap_max, cost);
        let leaves = max_code + 1;
        canonical_codes(&tree.len[..leaves], &self.bl_count, &mut tree.code[..leaves]);
    }

    /// Code lengths from depths, limited to `max_length` (`gen_bitlen`).
    fn assign_lengths(&mut self, tree: &mut Tree, kind: &TreeKind, heap_max: usize, cost: &mut Cost) {
        let max_code = tree.max_code;
        let max_length = kind.max_length;
        self.bl_count = [0; MAX_BITS + 1];
        let mut overflow = 0i32;

        // From the root down: each node is one deeper than its parent.
        tree.len[self.heap[heap_max]] = 0;
        for h in heap_max + 1..HEAP_SIZE {
            let n = self.heap[h];
            let mut bits = tree.len[usize::from(tree.dad[n])] + 1;
            if bits > max_length {
                bits = max_length;
                overflow += 1;
            }
            tree.len[n] = bits;
            if n > max_code {
                continue; // an internal node
            }
            self.bl_count[usize::from(bits)] += 1;
            let extra = if n >= kind.extra_base { i64::from(kind.extra_bits[n - kind.extra_base]) } else { 0 };
            let freq = i64::from(tree.freq[n]);
            cost.dynamic += freq * (i64::from(bits) + extra);
            if let Some(lengths) = kind.static_lengths {
                cost.fixed += freq * (i64::from(lengths[n]) + extra);
            }
        }
        if overflow == 0 {
            return;
        }

        // Some codes are too long: move leaves down from the deepest allowed level until the
        // counts describe a complete code again.
        let max_length = usize::from(max_length);
        while overflow > 0 {
            let mut bits = max_length - 1;
            while self.bl_count[bits] == 0 {
                bits -= 1;
            }
            self.bl_count[bits] -= 1;
            self.bl_count[bits + 1] += 2;
            self.bl_count[max_length] -= 1;
            overflow -= 2;
        }
        // Then hand the lengths out again, longest to the least frequent leaves.
        let mut h = HEAP_SIZE;
        for bits in (1..=max_length).rev() {
            let mut count = self.bl_count[bits];
            while count != 0 {
                h -= 1;
                let m = self.heap[h];
                if m > max_code {
                    continue;
                }
                let bits = bits as u16;
                if tree.len[m] != bits {
                    cost.dynamic += (i64::from(bits) - i64::from(tree.len[m])) * i64::from(tree.freq[m]);
                    tree.len[m] = bits;
                }
                count -= 1;
            }
        }
    }
}

/// One step of the run-length coding of a tree's code lengths (`scan_tree` / `send_tree`).
#[derive(Debug, Clone, Copy)]
enum LengthRun {
    /// A code length sent as itself.
    Single(u16),
    /// Code 16: the previous length repeated 3–6 times.
    Repeat(usize),
    /// Code 17: 3–10 zeros.
    ShortZeros(usize),
    /// Code 18: 11–138 zeros.
    LongZeros(usize),
}

/// Walks the code lengths of leaves `0..=max_code` as zlib encodes them.
fn length_runs(lengths: &[u16], max_code: usize, mut emit: impl FnMut(LengthRun)) {
    /// zlib's guard after the last code: a length no code has.
    const GUARD: u16 = u16::MAX;
    let length_at = |n: usize| if n <= max_code { lengths[n] } else { GUARD };
    let limits = |next: u16, same: bool| match (next, same) {
        (0, _) => (138, 3),
        (_, true) => (6, 3),
        _ => (7, 4),
    };
    let mut previous: Option<u16> = None;
    let mut next = length_at(0);
    let (mut max_count, mut min_count) = if next == 0 { (138, 3) } else { (7, 4) };
    let mut count = 0;
    for n in 0..=max_code {
        let current = next;
        next = length_at(n + 1);
        count += 1;
        if count < max_count && current == next {
            continue;
        }
        if count < min_count {
            for _ in 0..count {
                emit(LengthRun::Single(current));
            }
        } else if current != 0 {
            let mut repeats = count;
            if previous != Some(current) {
                emit(LengthRun::Single(current));
                repeats -= 1;
            }
            emit(LengthRun::Repeat(repeats));
        } else if count <= 10 {
            emit(LengthRun::ShortZeros(count));
        } else {
            emit(LengthRun::LongZeros(count));
        }
        count = 0;
        previous = Some(current);
        (max_count, min_count) = limits(next, current == next);
    }
}

/// Symbols of the block being collected, and what is needed to encode it.
#[derive(Debug)]
pub(super) struct Block {
    /// Per symbol: the match distance (0 for a literal) and the literal or match length - 3.
    dists: Vec<u16>,
    values: Vec<u8>,
    literal: Tree,
    dist: Tree,
    bl: Tree,
    scratch: Box<Scratch>,
    fixed_literal: StaticCode<{ L_CODES + 2 }>,
    fixed_dist: StaticCode<D_CODES>,
}

impl Block {
    pub(super) fn new() -> Self {
        let mut block = Self {
            dists: Vec::with_capacity(SYMBOLS_PER_BLOCK),
            values: Vec::with_capacity(SYMBOLS_PER_BLOCK),
            literal: Tree::new(L_CODES),
            dist: Tree::new(D_CODES),
            bl: Tree::new(BL_CODES),
            scratch: Box::new(Scratch { heap: [0; HEAP_SIZE], depth: [0; HEAP_SIZE], bl_count: [0; MAX_BITS + 1] }),
            fixed_literal: StaticCode::new(&STATIC_LITERAL_LENGTHS),
            fixed_dist: StaticCode::new(&STATIC_DIST_LENGTHS),
        };
        block.reset();
        block
    }

    /// Empties the block (`init_block`).
    fn reset(&mut self) {
        self.dists.clear();
        self.values.clear();
        self.literal.freq[..L_CODES].fill(0);
        self.dist.freq[..D_CODES].fill(0);
        self.bl.freq[..BL_CODES].fill(0);
        self.literal.freq[END_BLOCK] = 1;
    }

    /// Records a literal; true when the block is full and must be flushed (`_tr_tally_lit`).
    #[inline(always)]
    pub(super) fn literal(&mut self, byte: u8) -> bool {
        self.dists.push(0);
        self.values.push(byte);
        self.literal.freq[usize::from(byte)] += 1;
        self.dists.len() == SYMBOLS_PER_BLOCK
    }

    /// Records a match of `length` (3–258) at `distance` (1–32768); true when the block is full.
    #[inline(always)]
    pub(super) fn matched(&mut self, distance: usize, length: usize) -> bool {
        let value = length - 3;
        self.dists.push(distance as u16);
        self.values.push(value as u8);
        self.literal.freq[usize::from(LENGTH_CODE[value]) + LITERALS + 1] += 1;
        self.dist.freq[dist_code(distance - 1)] += 1;
        self.dists.len() == SYMBOLS_PER_BLOCK
    }

    /// Encodes the block as zlib's `_tr_flush_block` would. `stored` is the block's input while
    /// it is still in the window (a stored block is only possible then); `stored_len` its length.
    pub(super) fn flush(&mut self, stored: Option<&[u8]>, stored_len: usize, last: bool, out: &mut BitWriter<'_>) {
        let mut cost = Cost::default();
        self.scratch.build(&mut self.literal, &LITERAL_TREE, &mut cost);
        self.scratch.build(&mut self.dist, &DIST_TREE, &mut cost);
        let bl_count = self.build_bl_tree(&mut cost);

        // Sizes in bytes, with the 3-bit block header, rounded up.
        let dynamic_bytes = (cost.dynamic + 3 + 7) >> 3;
        let fixed_bytes = (cost.fixed + 3 + 7) >> 3;
        let best_bytes = dynamic_bytes.min(fixed_bytes);
        let last_bit = u32::from(last);

        match stored {
            // 4: the block's two length words.
            Some(bytes) if stored_len as i64 + 4 <= best_bytes => {
                out.put(last_bit, 3);
                out.align();
                let length = stored_len as u16;
                out.put_bytes(&length.to_le_bytes());
                out.put_bytes(&(!length).to_le_bytes());
                out.put_bytes(bytes);
            }
            _ if fixed_bytes == best_bytes => {
                out.put((1 << 1) + last_bit, 3);
                self.write_symbols(out, true);
            }
            _ => {
                out.put((2 << 1) + last_bit, 3);
                self.write_trees(out, bl_count);
                self.write_symbols(out, false);
            }
        }
        self.reset();
        if last {
            out.align();
        }
    }

    /// Builds the code-length tree and returns how many of its lengths are sent
    /// (`build_bl_tree`).
    fn build_bl_tree(&mut self, cost: &mut Cost) -> usize {
        for tree in [&self.literal, &self.dist] {
            let bl_freq = &mut self.bl.freq;
            length_runs(&tree.len, tree.max_code, |run| match run {
                LengthRun::Single(length) => bl_freq[usize::from(length)] += 1,
                LengthRun::Repeat(_) => bl_freq[REP_3_6] += 1,
                LengthRun::ShortZeros(_) => bl_freq[REPZ_3_10] += 1,
                LengthRun::LongZeros(_) => bl_freq[REPZ_11_138] += 1,
            });
        }
        self.scratch.build(&mut self.bl, &BL_TREE, cost);
        // At least four code-length code lengths are sent; trailing zeros in BL_ORDER are not.
        let mut max_index = BL_CODES - 1;
        while max_index >= 3 && self.bl.len[BL_ORDER[max_index]] == 0 {
            max_index -= 1;
        }
        cost.dynamic += 3 * (max_index as i64 + 1) + 5 + 5 + 4;
        max_index + 1
    }

    /// The dynamic block header (`send_all_trees`).
    fn write_trees(&self, out: &mut BitWriter<'_>, bl_codes: usize) {
        let literal_codes = self.literal.max_code + 1;
        let dist_codes = self.dist.max_code + 1;
        out.put((literal_codes - 257) as u32, 5);
        out.put((dist_codes - 1) as u32, 5);
        out.put((bl_codes - 4) as u32, 4);
        for &code in &BL_ORDER[..bl_codes] {
            out.put(u32::from(self.bl.len[code]), 3);
        }
        let bl = &self.bl;
        let send = |out: &mut BitWriter<'_>, code: usize| out.put(u32::from(bl.code[code]), u32::from(bl.len[code]));
        for tree in [&self.literal, &self.dist] {
            length_runs(&tree.len, tree.max_code, |run| match run {
                LengthRun::Single(length) => send(out, usize::from(length)),
                LengthRun::Repeat(count) => {
                    send(out, REP_3_6);
                    out.put((count - 3) as u32, 2);
                }
                LengthRun::ShortZeros(count) => {
                    send(out, REPZ_3_10);
                    out.put((count - 3) as u32, 3);
                }
                LengthRun::LongZeros(count) => {
                    send(out, REPZ_11_138);
                    out.put((count - 11) as u32, 7);
                }
            });
        }
    }

    /// The block's symbols and end-of-block code (`compress_block`).
    fn write_symbols(&self, out: &mut BitWriter<'_>, fixed: bool) {
        let (literal_lengths, literal_codes, dist_lengths, dist_codes) = if fixed {
            (
                &self.fixed_literal.lengths[..],
                &self.fixed_literal.codes[..],
                &self.fixed_dist.lengths[..],
                &self.fixed_dist.codes[..],
            )
        } else {
            (&self.literal.len[..], &self.literal.code[..], &self.dist.len[..], &self.dist.code[..])
        };
        for (&dist, &value) in self.dists.iter().zip(&self.values) {
            if dist == 0 {
                let c = usize::from(value);
                out.put(u32::from(literal_codes[c]), u32::from(literal_lengths[c]));
                continue;
            }
            let code = usize::from(LENGTH_CODE[usize::from(value)]);
            let symbol = code + LITERALS + 1;
            out.put(u32::from(literal_codes[symbol]), u32::from(literal_lengths[symbol]));
            let extra = u32::from(EXTRA_LENGTH_BITS[code]);
            if extra != 0 {
                out.put(u32::from(value - BASE_LENGTH[code]), extra);
            }
            let dist = usize::from(dist) - 1;
            let code = dist_code(dist);
            out.put(u32::from(dist_codes[code]), u32::from(dist_lengths[code]));
            let extra = u32::from(EXTRA_DIST_BITS[code]);
            if extra != 0 {
                out.put((dist - usize::from(BASE_DIST[code])) as u32, extra);
            }
        }
        out.put(u32::from(literal_codes[END_BLOCK]), u32::from(literal_lengths[END_BLOCK]));
    }
}
