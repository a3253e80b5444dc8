//! A source tree the packer can select files from: a directory on disk or a git commit. Listing
//! is cheap and complete; file contents are read only for the files that are packed, so a large
//! repository costs little more than the package it publishes.

/// What a path in a source tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// A regular file with its permission bits (git knows only `0o644` and `0o755`).
    File {
        mode: u32,
    },
    Symlink {
        target: String,
    },
    /// A git submodule: its content is not in this repository.
    Submodule {
        commit: String,
    },
}

/// One path of a source tree, relative to the tree's root, `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    pub path: String,
    pub kind: SourceKind,
}

/// A read failure, naming the path it concerns.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {path} from {tree}")]
pub struct SourceError {
    pub tree: String,
    pub path: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

pub trait SourceTree {
    /// A short description for messages: a directory path, or `repo@commit:dir`.
    fn describe(&self) -> String;

    /// Every file, symlink and submodule below the root, sorted by path. Directories are implied.
    fn entries(&self) -> &[SourceEntry];

    /// Paths that could not be represented (names that are not UTF-8, for instance), as the
    /// source saw them; the packer reports them instead of guessing.
    fn unreadable_paths(&self) -> &[String] {
        &[]
    }

    /// The content of a file.
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError>;
}

/// A source tree with some files' content replaced: the objects of Git LFS pointers, once the
/// published bytes are proven to be those objects. Listing, modes and every other file are the
/// inner tree's.
pub struct Overlay<'a> {
    inner: &'a dyn SourceTree,
    replaced: std::collections::BTreeMap<String, Vec<u8>>,
}

impl<'a> Overlay<'a> {
    /// `replaced` maps paths of `inner`'s regular files to their new content; paths that are not
    /// regular files of `inner` are ignored.
    pub fn new(inner: &'a dyn SourceTree, replaced: std::collections::BTreeMap<String, Vec<u8>>) -> Self {
        Self { inner, replaced }
    }
}

impl std::fmt::Debug for Overlay<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overlay")
            .field("inner", &self.inner.describe())
            .field("replaced", &self.replaced.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SourceTree for Overlay<'_> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn entries(&self) -> &[SourceEntry] {
        self.inner.entries()
    }

    fn unreadable_paths(&self) -> &[String] {
        self.inner.unreadable_paths()
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        match self.replaced.get(path) {
            Some(content) => Ok(content.clone()),
            None => self.inner.read(path),
        }
    }
}
