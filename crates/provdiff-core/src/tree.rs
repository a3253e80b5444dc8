//! In-memory file trees: the published package as its tarball holds it, and the package provdiff
//! rebuilt from source. Paths are relative to the package root (`package/` already removed), use
//! `/` as separator and never contain `.` or `..` components; the readers guarantee that.

use std::collections::BTreeMap;

/// What a tarball entry is. npm only ever writes regular files; anything else in a published
/// tarball is worth reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Directory,
    Symlink {
        target: String,
    },
    Hardlink {
        target: String,
    },
    /// Any other tar entry type (devices, FIFOs, vendor extensions), by its type flag.
    Other {
        type_flag: u8,
    },
}

/// One entry of a [`FileTree`].
#[derive(Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub kind: EntryKind,
    /// Permission bits as stored (`0o644`, `0o755`, ...).
    pub mode: u32,
    /// The bytes; for a published tarball, a view into its tar stream.
    pub content: bytes::Bytes,
}

impl FileEntry {
    pub fn file(mode: u32, content: impl Into<bytes::Bytes>) -> Self {
        Self { kind: EntryKind::File, mode, content: content.into() }
    }

    /// Whether any execute bit is set: what pnpm and yarn berry decide for a file (the comparison
    /// itself compares whole modes).
    pub fn is_executable(&self) -> bool {
        self.mode & 0o111 != 0
    }
}

impl std::fmt::Debug for FileEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileEntry")
            .field("kind", &self.kind)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("len", &self.content.len())
            .finish()
    }
}

/// A package's files by path, in path order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileTree {
    entries: BTreeMap<String, FileEntry>,
}

impl FileTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry, returning the one it replaced (a duplicate path).
    pub fn insert(&mut self, path: impl Into<String>, entry: FileEntry) -> Option<FileEntry> {
        self.entries.insert(path.into(), entry)
    }

    pub fn get(&self, path: &str) -> Option<&FileEntry> {
        self.entries.get(path)
    }

    pub fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &FileEntry)> {
        self.entries.iter().map(|(path, entry)| (path.as_str(), entry))
    }

    /// Regular files only: what npm installs.
    pub fn files(&self) -> impl Iterator<Item = (&str, &FileEntry)> {
        self.iter().filter(|(_, entry)| entry.kind == EntryKind::File)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn total_size(&self) -> u64 {
        self.entries.values().map(|entry| entry.content.len() as u64).sum()
    }
}

impl FromIterator<(String, FileEntry)> for FileTree {
    fn from_iter<I: IntoIterator<Item = (String, FileEntry)>>(iter: I) -> Self {
        Self { entries: iter.into_iter().collect() }
    }
}
