//! Git LFS pointer files: what the repository holds in place of a large file. The pointer names
//! the real content by SHA-256 and size; the content itself lives on an LFS server provdiff does
//! not contact.

/// The spec says pointer files are smaller than 1024 bytes; larger blobs are not read.
pub(crate) const MAX_POINTER_SIZE: usize = 1023;

const VERSION_LINE: &str = "version https://git-lfs.github.com/spec/v1";

/// One LFS pointer of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfsPointer {
    /// The repository path.
    pub path: String,
    /// The content's SHA-256 in hex, when the pointer names one well-formed.
    pub sha256: Option<String>,
    /// The content's size in bytes, when the pointer gives it well-formed.
    pub size: Option<u64>,
}

impl LfsPointer {
    /// Reads `content` as a pointer; `None` when it is not one (it does not start with the spec's
    /// version line, or is too large).
    pub fn parse(path: &str, content: &[u8]) -> Option<Self> {
        if content.len() > MAX_POINTER_SIZE {
            return None;
        }
        let text = std::str::from_utf8(content).ok()?;
        let mut lines = text.lines();
        if lines.next()?.trim_end() != VERSION_LINE {
            return None;
        }
        let mut pointer = Self { path: path.to_string(), sha256: None, size: None };
        for line in lines {
            match line.split_once(' ') {
                Some(("oid", value)) => {
                    pointer.sha256 = value
                        .strip_prefix("sha256:")
                        .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                        .map(str::to_string);
                }
                Some(("size", value)) => pointer.size = value.parse().ok(),
                _ => {}
            }
        }
        Some(pointer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pointers_and_nothing_else() {
        let oid = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
        let pointer = format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 12345\n");
        assert_eq!(
            LfsPointer::parse("a.bin", pointer.as_bytes()),
            Some(LfsPointer { path: "a.bin".into(), sha256: Some(oid.into()), size: Some(12345) })
        );
        let odd = "version https://git-lfs.github.com/spec/v1\noid md5:xyz\nsize many\n";
        assert_eq!(
            LfsPointer::parse("b", odd.as_bytes()),
            Some(LfsPointer { path: "b".into(), sha256: None, size: None })
        );
        assert_eq!(LfsPointer::parse("c", b"hello\n"), None);
        assert_eq!(LfsPointer::parse("d", b"\xff\xfe"), None);
        let big = format!("{VERSION_LINE}\n{}", "x".repeat(2000));
        assert_eq!(LfsPointer::parse("e", big.as_bytes()), None);
    }
}
