//! The inputs of the golden deflate vectors in `tests/data/deflate/vectors.txt`, generated rather
//! than stored so that large ones cost nothing in the repository. The test and
//! `cargo xtask deflate-vectors` both include this file, so they compress the same bytes.
//!
//! Changing an input changes its vectors: rerun `cargo xtask deflate-vectors` afterwards.

/// A named input.
#[derive(Debug)]
pub struct Input {
    pub name: &'static str,
    pub data: Vec<u8>,
}

/// Every input, each exercising something the engines must agree on: nothing to compress,
/// fewer bytes than a hash key reads, prose and JSON (literals and short matches), incompressible
/// bytes (stored blocks), skewed byte frequencies (code lengths over the limit), long runs (matches
/// of 258, blocks that outgrow the window), and tar-like streams past 64 KiB and 1 MiB (window
/// slides, many blocks).
pub fn inputs() -> Vec<Input> {
    vec![
        Input { name: "empty", data: Vec::new() },
        Input { name: "one-byte", data: b"a".to_vec() },
        Input { name: "two-bytes", data: b"ab".to_vec() },
        Input { name: "three-bytes", data: b"aaa".to_vec() },
        Input { name: "four-bytes", data: b"abab".to_vec() },
        Input { name: "five-bytes", data: b"aaaaa".to_vec() },
        Input { name: "prose-12k", data: prose(&mut Rng::new(1), 12_000) },
        Input { name: "json-30k", data: json(&mut Rng::new(2), 30_000) },
        Input { name: "random-20k", data: Rng::new(3).bytes(20_000) },
        Input { name: "skewed-40k", data: skewed(&mut Rng::new(4), 40_000) },
        Input { name: "runs-100k", data: runs(&mut Rng::new(5), 100_000) },
        Input { name: "tar-80k", data: tar_like(&mut Rng::new(6), 80_000) },
        Input { name: "tar-1200k", data: tar_like(&mut Rng::new(7), 1_200_000) },
    ]
}

/// xorshift64*, seeded: the same bytes everywhere, forever.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `bound`.
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() >> 32) as usize % bound
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next() >> 56) as u8).collect()
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len())]
    }
}

const WORDS: &[&str] = &[
    "the",
    "package",
    "tarball",
    "is",
    "what",
    "its",
    "source",
    "commit",
    "produces",
    "when",
    "npm",
    "packs",
    "a",
    "directory",
    "of",
    "files",
    "with",
    "provenance",
    "signed",
    "by",
    "workflow",
    "and",
    "logged",
    "in",
    "public",
    "transparency",
    "every",
    "byte",
    "must",
    "match",
    "or",
    "difference",
    "explained",
    "compression",
    "window",
    "deflate",
    "hash",
    "chain",
    "lazy",
    "block",
    "tree",
    "code",
    "length",
    "distance",
    "literal",
    "zlib",
    "node",
];

fn prose(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut text = String::new();
    while text.len() < len {
        let sentence: Vec<&str> = (0..3 + rng.below(12)).map(|_| rng.pick(WORDS)).collect();
        let sentence = sentence.join(" ");
        let mut chars = sentence.chars();
        if let Some(first) = chars.next() {
            text.extend(first.to_uppercase());
            text.push_str(chars.as_str());
        }
        text.push_str(if rng.below(5) == 0 { ".\n\n" } else { ". " });
    }
    text.truncate(len);
    text.into_bytes()
}

fn json(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut text = String::from("{\n  \"name\": \"generated\",\n  \"packages\": {\n");
    let mut n = 0;
    while text.len() < len {
        let name = format!("{}-{}", rng.pick(WORDS), rng.pick(WORDS));
        let integrity: String = rng
            .bytes(48)
            .iter()
            .map(|b| b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[usize::from(b % 64)] as char)
            .collect();
        text.push_str(&format!(
            "    \"node_modules/{name}\": {{\n      \"version\": \"{}.{}.{}\",\n      \"integrity\": \"sha512-{integrity}\",\n      \"dev\": {}\n    }},\n",
            rng.below(20),
            rng.below(40),
            rng.below(100),
            rng.below(2) == 0,
        ));
        n += 1;
    }
    text.push_str(&format!("    \"count\": {n}\n  }}\n}}\n"));
    text.into_bytes()
}

/// Byte `i` (of 20) about Fibonacci(i) times as often as the rarest, shuffled: the optimal codes
/// are longer than deflate's 15 bits, so zlib's length limiting decides the tree.
fn skewed(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut weights = vec![1u64, 1];
    while weights.len() < 20 {
        weights.push(weights[weights.len() - 1] + weights[weights.len() - 2]);
    }
    let total: u64 = weights.iter().sum();
    (0..len)
        .map(|_| {
            let mut ticket = rng.next() % total;
            let mut byte = 0;
            while ticket >= weights[byte] {
                ticket -= weights[byte];
                byte += 1;
            }
            b'A' + byte as u8
        })
        .collect()
}

/// Long runs of a byte and repeats of short patterns, with the odd change.
fn runs(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        match rng.below(3) {
            0 => data.extend(std::iter::repeat_n(rng.next() as u8, rng.below(3000))),
            1 => {
                let len = 1 + rng.below(7);
                let pattern = rng.bytes(len);
                for _ in 0..rng.below(500) {
                    data.extend_from_slice(&pattern);
                }
            }
            _ => {
                let len = rng.below(40);
                data.extend(rng.bytes(len));
            }
        }
    }
    data.truncate(len);
    data
}

/// 512-byte headers and zero-padded JavaScript-like files, the shape of an npm tarball.
fn tar_like(rng: &mut Rng, len: usize) -> Vec<u8> {
    const IDENTIFIERS: &[&str] =
        &["value", "options", "result", "index", "buffer", "stream", "entry", "error", "path", "callback", "state"];
    let mut data = Vec::with_capacity(len + 4096);
    while data.len() < len {
        let mut body = String::new();
        for _ in 0..5 + rng.below(200) {
            let (a, b, c) = (rng.pick(IDENTIFIERS), rng.pick(IDENTIFIERS), rng.pick(IDENTIFIERS));
            body.push_str(&match rng.below(4) {
                0 => format!("export function {a}_{b}({c}) {{\n  return {c}.{a} + {};\n}}\n", rng.below(1000)),
                1 => format!("const {a} = require('./{b}/{c}.js');\n"),
                2 => format!("  if ({a} === {b}) {{ throw new Error('{c} {}'); }}\n", rng.pick(WORDS)),
                _ => format!("// {} {} {}\n", rng.pick(WORDS), rng.pick(WORDS), rng.pick(WORDS)),
            });
        }
        let mut header = [0u8; 512];
        let name = format!("package/lib/{}/{}.js", rng.pick(IDENTIFIERS), rng.pick(IDENTIFIERS));
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..108].copy_from_slice(b"000644 \0");
        header[124..136].copy_from_slice(format!("{:011o} ", body.len()).as_bytes());
        header[257..263].copy_from_slice(b"ustar\0");
        data.extend_from_slice(&header);
        data.extend_from_slice(body.as_bytes());
        data.resize(data.len().next_multiple_of(512), 0);
    }
    data.extend_from_slice(&[0; 1024]);
    data
}
