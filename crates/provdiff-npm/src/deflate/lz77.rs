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
//!
//! Without an expected stream, large inputs at levels 4–9 are parsed on several threads
//! ([`compress_parallel`]), for the same stream. At these levels zlib inserts every string, so
//! the chains at a position hold exactly the positions of the 32 KiB before it, and a search
//! depends only on the input, the position and the length already in hand. Each worker inserts
//! the 32 KiB before its segment, parses the segment (and a little more) from a fresh state, and
//! records every search; where its parse and the previous one's meet in the same clean state (no
//! byte pending, no match in hand) they agree from then on, and the two are joined there. One
//! engine then replays the joined parse, emitting zlib's blocks, and parses the last bytes itself
//! (they read past the input, into window bytes that depend on the window's whole history).

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

/// Parts per thread in a batch of the parallel parse.
const PARTS_PER_THREAD: usize = 2;
/// Inputs from this size are parsed on several threads, when the machine has them.
const PARALLEL_FROM: usize = 1 << 20;
/// At most this many threads parse one input.
const MAX_THREADS: usize = 8;
/// The parts parsed in parallel are about a quarter of the input per thread, within these
/// bounds: small enough to balance the threads' loads, large enough that the window inserted
/// before each part and the overlap parsed after it cost little.
const SEGMENTS: std::ops::RangeInclusive<usize> = (256 << 10)..=(1 << 20);
/// How far past its part a worker parses, for the next part's parse to meet it (usually within a
/// few hundred bytes; where they do not, the next part is parsed again).
const OVERLAP: usize = 16 << 10;
/// The positions this close to the end of the input are parsed by the engine that emits the
/// stream: searches there read past the input. Workers stop before them, and every position they
/// record has at least this much input after it (more than a search and the keys of the strings
/// a match covers read).
const TAIL: usize = 1024;

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
    let long = config.max_chain >= LONG_CHAINS_FROM_BUDGET;
    // With an expected stream, a wrong guess at the engine is abandoned at its first differing
    // block, which a parallel parse of the whole input would not allow.
    if expected.is_none() && config.lazy && input.len() >= PARALLEL_FROM {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS);
        if threads > 1 {
            let segment = (input.len() / (4 * threads)).clamp(*SEGMENTS.start(), *SEGMENTS.end());
            let parallel = if long {
                compress_parallel::<K, true>(input, config, threads, segment, OVERLAP)
            } else {
                compress_parallel::<K, false>(input, config, threads, segment, OVERLAP)
            };
            if let Some((stream, _)) = parallel {
                return Ok(stream);
            }
        }
    }
    let stream = if long {
        Deflater::<K, true>::new(input, config, expected).run()
    } else {
        Deflater::<K, false>::new(input, config, expected).run()
    };
    // Only a replayed parse can desynchronise; this engine parses everything itself.
    stream.map_err(|_| Diverged)
}

/// How a parallel compression went, for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ParallelStats {
    /// Segments whose parse was joined to the previous one where the two met.
    joined: usize,
    /// Segments parsed again from the previous parse's last clean state, the two parses not having
    /// met (a run longer than the overlap, say).
    reparsed: usize,
    /// The farthest past its start that a joined segment met the previous parse.
    farthest_meeting: usize,
}

/// `input` compressed by parsing parts of it (`segment` bytes each) on `threads` threads and
/// replaying the joined parse in one engine; the stream is exactly the sequential engine's.
/// `None` if the input is too large for the recorded positions, or if anything did not fit
/// (never expected; the caller then compresses sequentially).
///
/// The parts go in batches of [`PARTS_PER_THREAD`] per thread: while the workers parse one
/// batch, this thread joins and replays the one before, and the recorded parse in memory stays
/// bounded by two batches (a recorded loop top is 8 bytes, up to one per input byte).
fn compress_parallel<K: HashKey, const LONG: bool>(
    input: &[u8],
    config: Config,
    threads: usize,
    segment: usize,
    overlap: usize,
) -> Option<(Vec<u8>, ParallelStats)> {
    if u32::try_from(input.len()).is_err() || !config.lazy {
        return None;
    }
    let live_from = input.len().saturating_sub(TAIL);
    let segment = segment.max(2 * WSIZE);
    let count = live_from.div_ceil(segment).max(1);
    let starts: Vec<usize> = (0..count).map(|i| i * segment).collect();
    let ends: Vec<usize> = (0..count).map(|i| ((i + 1) * segment + overlap).min(live_from)).collect();
    let (starts, ends) = (&starts, &ends);
    let parts = Parts { input, config, starts, ends, threads: threads.max(1) };
    let batch = parts.threads * PARTS_PER_THREAD;

    let mut engine = Deflater::<K, LONG>::new(input, config, None);
    engine.mode = Mode::Replay {
        steps: Vec::new(),
        next: 0,
        final_to: 0,
        insert_from: live_from.saturating_sub(WSIZE),
        live_from,
    };
    let mut joined = Joined::default();
    let mut traces = parts.parse::<K, LONG>(0..batch.min(count))?;
    let mut first = 0;
    let mut finished = false;
    while first < count {
        let next_first = (first + batch).min(count);
        let next = next_first..(next_first + batch).min(count);
        let parts = &parts;
        let current = std::mem::take(&mut traces);
        let (parsed, replayed) = std::thread::scope(|scope| {
            let workers = scope.spawn(move || parts.parse::<K, LONG>(next));
            let replayed = joined.add::<K, LONG>(parts, first, current, &mut engine);
            (workers.join().ok().flatten(), replayed)
        });
        finished = replayed?;
        traces = parsed?;
        first = next_first;
    }
    // The last part's steps are final to the end: the engine went on to the end of the input.
    if !finished {
        return None;
    }
    engine.finish().ok().map(|stream| (stream, joined.stats))
}

/// Recorded parses in flight for one parts' plan.
struct Parts<'a> {
    input: &'a [u8],
    config: Config,
    starts: &'a [usize],
    ends: &'a [usize],
    threads: usize,
}

impl Parts<'_> {
    /// The recorded parses of the parts `range`, each worker taking the next part when it
    /// finishes one (parts differ in cost). `None` if a worker failed.
    fn parse<K: HashKey, const LONG: bool>(&self, range: std::ops::Range<usize>) -> Option<Vec<Vec<Step>>> {
        if range.is_empty() {
            return Some(Vec::new());
        }
        let taken = std::sync::atomic::AtomicUsize::new(range.start);
        let (taken, end) = (&taken, range.end);
        let parsed: Vec<Vec<(usize, Vec<Step>)>> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..self.threads.min(range.len()))
                .map(|_| {
                    scope.spawn(move || {
                        let mut parsed = Vec::new();
                        loop {
                            let i = taken.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if i >= end {
                                return parsed;
                            }
                            let trace = record::<K, LONG>(self.input, self.config, self.starts[i], self.ends[i]);
                            parsed.push((i, trace));
                        }
                    })
                })
                .collect();
            workers.into_iter().map(|worker| worker.join().ok()).collect::<Option<Vec<_>>>()
        })?;
        let mut traces = vec![Vec::new(); range.len()];
        for (i, trace) in parsed.into_iter().flatten() {
            traces[i - range.start] = trace;
        }
        Some(traces)
    }
}

/// The joined parse: what is known final has gone to the replaying engine, the rest waits for
/// the next part to meet it.
#[derive(Debug, Default)]
struct Joined {
    /// Steps of the true parse not yet final: from the start of the next part on.
    pending: Vec<Step>,
    /// Position of the last clean step handed to the engine.
    last_clean_fed: Option<usize>,
    stats: ParallelStats,
}

impl Joined {
    /// Joins the parses of the parts from `first` (`traces`, in order) to the parse so far, hands
    /// the final steps to `engine` and replays them: whether the engine reached the end of the
    /// input. `None` if the parse cannot be joined or replayed.
    fn add<K: HashKey, const LONG: bool>(
        &mut self,
        parts: &Parts<'_>,
        first: usize,
        traces: Vec<Vec<Step>>,
        engine: &mut Deflater<'_, K, LONG>,
    ) -> Option<bool> {
        for (offset, trace) in traces.into_iter().enumerate() {
            let i = first + offset;
            if i == 0 {
                self.pending = trace;
            } else {
                let start = parts.starts[i];
                match meeting(&self.pending, &trace, start) {
                    Some((mine, theirs)) => {
                        self.stats.farthest_meeting =
                            self.stats.farthest_meeting.max(trace[theirs].at as usize - start);
                        self.pending.truncate(mine);
                        self.pending.extend_from_slice(&trace[theirs..]);
                        self.stats.joined += 1;
                    }
                    None => {
                        // Parse the part again from the last clean state of the true parse.
                        let fed_to = start;
                        let pending_clean = self.pending.iter().rposition(|step| step.clean());
                        let from = match pending_clean {
                            Some(index) => self.pending[index].at as usize,
                            None => self.last_clean_fed?,
                        };
                        self.pending.retain(|step| (step.at as usize) < from);
                        let again = record::<K, LONG>(parts.input, parts.config, from, parts.ends[i]);
                        self.pending.extend(again.into_iter().filter(|step| step.at as usize >= fed_to));
                        self.stats.reparsed += 1;
                    }
                }
            }
            // What comes before the next part's start is final.
            let final_to = parts.starts.get(i + 1).copied().unwrap_or(usize::MAX);
            let split = self.pending.partition_point(|step| (step.at as usize) < final_to);
            if let Some(clean) = self.pending[..split].iter().rev().find(|step| step.clean()) {
                self.last_clean_fed = Some(clean.at as usize);
            }
            engine.feed(self.pending.drain(..split), final_to);
        }
        engine.lazy().ok()
    }
}

/// The searches of the sequential parse at the loop tops from `start` to `until` (absolute
/// positions), parsing from a fresh state at `start` after inserting the strings of the window
/// before it.
fn record<K: HashKey, const LONG: bool>(input: &[u8], config: Config, start: usize, until: usize) -> Vec<Step> {
    let warm = start.saturating_sub(WSIZE);
    let end = (until + TAIL).min(input.len());
    let mut worker = Deflater::<K, LONG>::new(&input[warm..end], config, None);
    worker.origin = warm;
    worker.mode = Mode::Record { steps: Vec::with_capacity((until - start) / 3), until };
    worker.warm_up(start - warm);
    // Recording emits nothing, so nothing can diverge.
    let _ = worker.lazy();
    match worker.mode {
        Mode::Record { steps, .. } => steps,
        _ => Vec::new(),
    }
}

/// Where the parse `mine` (true from before `start` to its end) and the parse `theirs` (from a
/// fresh state at `start`) first reach the same position in a clean state: their indices there.
fn meeting(mine: &[Step], theirs: &[Step], start: usize) -> Option<(usize, usize)> {
    let mut a = mine.partition_point(|step| (step.at as usize) < start);
    let mut b = 0;
    while let (Some(x), Some(y)) = (mine.get(a), theirs.get(b)) {
        if x.at < y.at {
            a += 1;
        } else if x.at > y.at {
            b += 1;
        } else {
            if x.clean() && y.clean() {
                return Some((a, b));
            }
            a += 1;
            b += 1;
        }
    }
    None
}

/// One loop top of the lazy parser, as a worker recorded it: where, whether the state was clean,
/// and what `longest_match` returned there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Step {
    /// The absolute input position.
    at: u32,
    /// `longest_match`'s result (0: not called), with [`Step::CLEAN`].
    length: u16,
    /// How far back the match `longest_match` set `match_start` to is; 0 if it set none.
    distance: u16,
}

impl Step {
    /// Set in `length` when neither a byte awaits its decision nor a match is in hand.
    const CLEAN: u16 = 1 << 15;

    fn clean(self) -> bool {
        self.length & Self::CLEAN != 0
    }

    fn length(self) -> usize {
        usize::from(self.length & !Self::CLEAN)
    }
}

/// What the lazy parser does at each loop top.
#[derive(Debug)]
enum Mode {
    /// zlib: insert every string, search, emit.
    Live,
    /// A worker of the parallel parse: insert and search as zlib does, emit nothing, and record
    /// each loop top until the absolute position `until`.
    Record { steps: Vec<Step>, until: usize },
    /// Emit the stream of a recorded parse: below `live_from`, each loop top's search is the
    /// next of `steps`, which are final up to the position `final_to` (the parser pauses there
    /// for more); strings are inserted from `insert_from` on, so that the searches from
    /// `live_from` to the end are this engine's own.
    Replay { steps: Vec<Step>, next: usize, final_to: usize, insert_from: usize, live_from: usize },
}

/// What happened at a loop top.
#[derive(Debug, Clone, Copy)]
enum Search {
    /// `longest_match` was not called.
    Skipped,
    /// It returned this length.
    Length(usize),
    /// A worker reached the end of its part, or a replaying engine the end of its final steps.
    Done,
}

/// Why an engine stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The output stopped matching the expected stream.
    Diverged,
    /// A replayed parse did not fit the loop tops of the input.
    Desync,
}

impl From<Diverged> for Stop {
    fn from(_: Diverged) -> Self {
        Stop::Diverged
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
    /// Whether `longest_match` set `match_start` since a worker last cleared this: the value may
    /// be the one it had, and still must be recorded, since the engine replaying the record may
    /// hold another stale value.
    found: bool,
    /// The absolute input position of window position 0.
    origin: usize,
    /// The lazy parser's state between two calls (a replaying engine pauses): the length of the
    /// match in hand, and whether the byte before `strstart` awaits its decision.
    match_length: usize,
    match_available: bool,
    mode: Mode,
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
            found: false,
            origin: 0,
            match_length: MIN_MATCH - 1,
            match_available: false,
            mode: Mode::Live,
        }
    }

    fn run(mut self) -> Result<Vec<u8>, Stop> {
        if self.config.lazy {
            self.lazy()?;
        } else {
            self.greedy()?;
        }
        self.finish()
    }

    /// The finished stream, once the parser has reached the end of the input.
    fn finish(self) -> Result<Vec<u8>, Stop> {
        if let Mode::Replay { steps, next, .. } = &self.mode
            && *next != steps.len()
        {
            return Err(Stop::Desync);
        }
        Ok(self.out.finish()?)
    }

    /// Hands a replaying engine the next final steps of the parse, final up to `final_to`.
    fn feed(&mut self, more: impl Iterator<Item = Step>, final_to: usize) {
        if let Mode::Replay { steps, next, final_to: known, .. } = &mut self.mode {
            steps.drain(..*next);
            *next = 0;
            steps.extend(more);
            *known = final_to;
        }
    }

    /// Inserts the strings before `until` (a window position) without parsing them: a worker's
    /// start, where the chains must hold what the sequential engine's hold.
    fn warm_up(&mut self, until: usize) {
        while self.strstart < until {
            if self.lookahead < MIN_LOOKAHEAD {
                self.fill_window();
                if self.lookahead == 0 {
                    break;
                }
            }
            if self.lookahead >= MIN_MATCH {
                self.insert(self.strstart);
            }
            self.strstart += 1;
            self.lookahead -= 1;
        }
        self.block_start = self.strstart as isize;
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
                self.origin += WSIZE;
                self.block_start -= WSIZE as isize;
                // A replaying engine inserts nothing before `insert_from`: its chains are empty.
                let at = self.origin + self.strstart;
                let empty = matches!(self.mode, Mode::Replay { insert_from, .. } if at <= insert_from);
                if !empty {
                    for chains in [&mut self.head, &mut self.prev, &mut self.long_head, &mut self.long_prev] {
                        for position in chains.iter_mut() {
                            *position = position.saturating_sub(WSIZE as u16);
                        }
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
                    self.found = true;
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
                        self.found = true;
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
    fn greedy(&mut self) -> Result<(), Stop> {
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
        Ok(self.flush_block(true)?)
    }

    /// The search at a loop top of the lazy parser: insert the string at `strstart` and call
    /// `longest_match` when zlib does, or take both from a recorded parse.
    #[inline(always)]
    fn search(&mut self, prev_length: usize, clean: bool) -> Result<Search, Stop> {
        let at = self.origin + self.strstart;
        match self.mode {
            Mode::Live => Ok(self.live_search(prev_length)),
            Mode::Record { until, .. } => {
                if at >= until {
                    return Ok(Search::Done);
                }
                self.found = false;
                let search = self.live_search(prev_length);
                let (length, distance) = match search {
                    Search::Length(length) if self.found => (length, self.strstart - self.match_start),
                    Search::Length(length) => (length, 0),
                    _ => (0, 0),
                };
                let step = Step {
                    at: at as u32,
                    length: length as u16 | if clean { Step::CLEAN } else { 0 },
                    distance: distance as u16,
                };
                if let Mode::Record { steps, .. } = &mut self.mode {
                    steps.push(step);
                }
                Ok(search)
            }
            Mode::Replay { ref steps, next, final_to, insert_from, live_from } => {
                if at >= live_from {
                    return Ok(self.live_search(prev_length));
                }
                if at >= final_to {
                    return Ok(Search::Done);
                }
                let step = steps.get(next).copied().ok_or(Stop::Desync)?;
                if at >= insert_from && self.lookahead >= MIN_MATCH {
                    self.insert(self.strstart);
                }
                if step.at as usize != at || step.clean() != clean {
                    return Err(Stop::Desync);
                }
                if let Mode::Replay { next, .. } = &mut self.mode {
                    *next += 1;
                }
                if step.length() == 0 {
                    return Ok(Search::Skipped);
                }
                if step.distance != 0 {
                    self.match_start = self.strstart - usize::from(step.distance);
                }
                Ok(Search::Length(step.length()))
            }
        }
    }

    /// zlib's own search at a loop top of the lazy parser.
    #[inline(always)]
    fn live_search(&mut self, prev_length: usize) -> Search {
        let head = if self.lookahead >= MIN_MATCH { self.insert(self.strstart) } else { 0 };
        if head != 0 && prev_length < self.config.max_lazy && self.strstart - head <= MAX_DIST {
            Search::Length(self.longest_match(head, prev_length))
        } else {
            Search::Skipped
        }
    }

    /// Whether the string at window position `at` is inserted: always, except while replaying a
    /// recorded parse far from the end.
    #[inline(always)]
    fn inserts_at(&self, at: usize) -> bool {
        match self.mode {
            Mode::Replay { insert_from, .. } => self.origin + at >= insert_from,
            _ => true,
        }
    }

    /// `deflate_slow`: a match found at one position is emitted only if the next position has
    /// no longer match; otherwise the first byte goes out as a literal and the decision moves on.
    ///
    /// Returns whether it reached the end of the input: a replaying engine pauses at the end of
    /// the steps it has, in a state [`Self::lazy`] resumes from.
    fn lazy(&mut self) -> Result<bool, Stop> {
        let mut match_length = self.match_length;
        let mut match_available = self.match_available;
        let emit = !matches!(self.mode, Mode::Record { .. });
        loop {
            if self.lookahead < MIN_LOOKAHEAD {
                self.fill_window();
                if self.lookahead == 0 {
                    break;
                }
            }
            let prev_length = match_length;
            let prev_match = self.match_start;
            let clean = !match_available && prev_length == MIN_MATCH - 1;
            let search = self.search(prev_length, clean)?;
            if let Search::Done = search {
                (self.match_length, self.match_available) = (match_length, match_available);
                return Ok(false);
            }
            match_length = MIN_MATCH - 1;
            match search {
                Search::Done | Search::Skipped => {}
                Search::Length(length) => {
                    match_length = length;
                    // A stale `match_start` can be "before" the window here; zlib's unsigned
                    // subtraction then wraps to a large distance, and so does this one.
                    if match_length == MIN_MATCH && self.strstart.wrapping_sub(self.match_start) > TOO_FAR {
                        match_length = MIN_MATCH - 1;
                    }
                }
            }

            if prev_length >= MIN_MATCH && match_length <= prev_length {
                // The previous position's match wins; insert the strings it covers, except those
                // too close to the end of the input to have a full key.
                let max_insert = self.strstart + self.lookahead - MIN_MATCH;
                let full = emit && self.block.matched(self.strstart - 1 - prev_match, prev_length);
                self.lookahead -= prev_length - 1;
                // Whether any is inserted: insertion starts at a position and goes on to the end.
                if self.inserts_at(self.strstart + prev_length - 2) {
                    for _ in 0..prev_length - 2 {
                        self.strstart += 1;
                        if self.strstart <= max_insert && self.inserts_at(self.strstart) {
                            self.insert(self.strstart);
                        }
                    }
                } else {
                    self.strstart += prev_length - 2;
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
                if emit && self.block.literal(self.window[self.strstart - 1]) {
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
        if !emit {
            return Ok(true);
        }
        if match_available {
            self.block.literal(self.window[self.strstart - 1]);
        }
        self.flush_block(true)?;
        Ok(true)
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

    /// Inputs for the parallel parse: text where parses meet at once, incompressible bytes, and
    /// zero runs longer than a small overlap across segment boundaries, where parses that start
    /// in a run at different phases never meet inside it.
    fn parallel_inputs() -> Vec<(&'static str, Vec<u8>)> {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 33) as usize % bound
        };
        let words: [&[u8]; 8] = [b"const ", b"value", b" = ", b"function", b"(a, b)", b"return ", b";\n", b"  "];
        let mut text = Vec::new();
        while text.len() < 420_000 {
            text.extend_from_slice(words[next(8)]);
        }
        let random: Vec<u8> = (0..330_000).map(|_| next(256) as u8).collect();
        let mut runs = Vec::new();
        while runs.len() < 420_000 {
            for _ in 0..30_000 {
                runs.push(b"abcdefgh\n"[next(9)]);
            }
            runs.extend(std::iter::repeat_n(0u8, 40_000 + next(1000)));
        }
        vec![("text", text), ("random", random), ("zero runs", runs)]
    }

    fn check_parallel<K: HashKey>(totals: &mut ParallelStats) {
        for (name, input) in parallel_inputs() {
            for level in 4..=9 {
                let config = CONFIGS[level - 1];
                let long = config.max_chain >= LONG_CHAINS_FROM_BUDGET;
                let sequential = if long {
                    Deflater::<K, true>::new(&input, config, None).run()
                } else {
                    Deflater::<K, false>::new(&input, config, None).run()
                };
                let sequential = sequential.unwrap();
                // One batch; batches of two parts; batches of six with re-parsed parts.
                for (threads, segment, overlap) in
                    [(2, 160 << 10, OVERLAP), (1, 2 * WSIZE, OVERLAP), (3, 2 * WSIZE, 300)]
                {
                    let parallel = if long {
                        compress_parallel::<K, true>(&input, config, threads, segment, overlap)
                    } else {
                        compress_parallel::<K, false>(&input, config, threads, segment, overlap)
                    };
                    let (stream, stats) =
                        parallel.unwrap_or_else(|| panic!("{name} level {level}: no parallel stream"));
                    assert!(stream == sequential, "{name} at level {level} in parts of {segment}: the streams differ");
                    totals.joined += stats.joined;
                    totals.reparsed += stats.reparsed;
                }
            }
        }
    }

    #[test]
    fn the_parallel_parse_writes_the_sequential_stream() {
        let mut totals = ParallelStats::default();
        check_parallel::<super::super::hash::ChromiumKey>(&mut totals);
        check_parallel::<super::super::hash::StockKey>(&mut totals);
        check_parallel::<super::super::hash::Crc32cKey<true>>(&mut totals);
        check_parallel::<super::super::hash::Crc32cKey<false>>(&mut totals);
        // Both ways of joining the parts were exercised.
        assert!(totals.joined > 0 && totals.reparsed > 0, "{totals:?}");
    }

    #[test]
    fn small_inputs_and_the_greedy_levels_are_not_split() {
        let input = vec![7u8; 2 * WSIZE];
        let (_, stats) =
            compress_parallel::<super::super::hash::StockKey, false>(&input, CONFIGS[5], 4, WSIZE, OVERLAP)
                .unwrap_or_else(|| panic!("level 6 is lazy"));
        assert_eq!(stats, ParallelStats::default(), "parts are at least two windows long: one part");
        assert!(
            compress_parallel::<super::super::hash::StockKey, false>(&input, CONFIGS[2], 2, WSIZE, OVERLAP).is_none()
        );
    }

    #[test]
    fn the_window_is_large_enough_for_every_read() {
        // The farthest `longest_match` reads is `strstart + MAX_MATCH - 1` with `strstart` at
        // most `WINDOW_SIZE - MIN_LOOKAHEAD`; a 4-byte key reads 3 bytes past its position.
        const { assert!(WINDOW_SIZE - MIN_LOOKAHEAD + MAX_MATCH < WINDOW_SIZE + WINDOW_PADDING) };
    }
}
