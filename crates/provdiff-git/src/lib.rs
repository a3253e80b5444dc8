//! The attested commit, read straight from a repository's object database.
//!
//! provdiff never checks the commit out to compare it: trees and blobs are read from the object
//! database, so nothing in the repository's work tree (uncommitted edits, ignored build outputs)
//! can leak into the comparison. A repository is a work tree, a bare repository, a `git bundle`
//! file (unpacked into a temporary bare repository first), or a commit fetched into provdiff's
//! cache by [`fetch_commit`] — the crate's only network boundary.

mod bundle;
mod cache;
mod checkout;
mod fetch;
mod lfs;
mod process;
pub mod url;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use provdiff_core::{SourceEntry, SourceError, SourceKind, SourceTree};

pub use fetch::{
    Attempt, AttemptResult, FetchError, FetchOptions, FetchOutcome, FetchRequest, Fetched, FetcherChoice, FetcherKind,
    NetworkFailure, Strategy, Transfer, UnavailableReason, fetch_commit,
};
pub use git2::Oid;
pub use lfs::LfsPointer;
pub use url::{GitConfigSource, RewriteStep, UrlRewrites};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{path} is not a git repository or bundle")]
    Open {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("cannot read git bundle {path}: {reason}")]
    Bundle { path: PathBuf, reason: String },
    #[error("cannot unpack git bundle {path}")]
    Unbundle {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("{commit:?} is not a full commit id")]
    BadCommitId { commit: String },
    #[error("commit {commit} is not in {repository}")]
    CommitNotFound { commit: String, repository: String },
    #[error("cannot read {what} of commit {commit} in {repository}")]
    Read {
        what: String,
        commit: String,
        repository: String,
        #[source]
        source: git2::Error,
    },
    #[error("{dir:?} is not a directory at commit {commit}")]
    NoSuchDirectory { dir: String, commit: String },
    #[error("{rev:?} names no commit in {repository}")]
    UnknownRevision {
        rev: String,
        repository: String,
        #[source]
        source: git2::Error,
    },
    #[error("commit {commit} has a path that cannot be checked out safely: {path:?}")]
    UnsafePath { commit: String, path: String },
    #[error("cannot check out commit {commit} into {dir}")]
    Checkout {
        commit: String,
        dir: PathBuf,
        #[source]
        source: CheckoutFailure,
    },
}

/// Why a checkout could not be written.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutFailure {
    #[error("the directory is not empty")]
    NotEmpty,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Git(#[from] git2::Error),
}

/// A repository opened for reading.
pub struct Repository {
    repo: git2::Repository,
    location: String,
    // Keeps an unpacked bundle alive for as long as the repository is used.
    _scratch: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository").field("location", &self.location).finish()
    }
}

impl Repository {
    /// Opens a work tree, a bare repository or a `git bundle` file.
    pub fn open(path: &Path) -> Result<Self, GitError> {
        let location = path.display().to_string();
        if path.is_file() {
            let (repo, scratch) = bundle::unbundle(path)?;
            return Ok(Self { repo, location, _scratch: Some(scratch) });
        }
        // Only this path: never search parent directories for a repository.
        let repo = git2::Repository::open_ext(
            path,
            git2::RepositoryOpenFlags::NO_SEARCH,
            std::iter::empty::<&std::ffi::OsStr>(),
        )
        .map_err(|source| GitError::Open { path: path.to_path_buf(), source })?;
        Ok(Self { repo, location, _scratch: None })
    }

    /// A repository of provdiff's cache, described by the URL it was fetched for.
    pub(crate) fn cached(repo: git2::Repository, location: String) -> Self {
        Self { repo, location, _scratch: None }
    }

    /// Where the repository is: its path, or for a fetched one the repository URL.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Finds a commit by its full 40-digit id. Abbreviated ids and ref names are refused: the
    /// provenance names an exact commit, and provdiff compares exactly that one.
    pub fn commit(&self, commit: &str) -> Result<Commit<'_>, GitError> {
        let bad = || GitError::BadCommitId { commit: commit.to_string() };
        if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let oid = Oid::from_str(commit).map_err(|_| bad())?;
        let not_found = || GitError::CommitNotFound { commit: commit.to_string(), repository: self.location.clone() };
        let found = match self.repo.find_commit(oid) {
            Ok(found) => found,
            Err(error) if error.code() == git2::ErrorCode::NotFound => return Err(not_found()),
            // A blob or tree with that id is not a commit either.
            Err(error) if error.class() == git2::ErrorClass::Invalid => return Err(not_found()),
            Err(source) => return Err(self.read_error("the commit", commit, source)),
        };
        let tree = found.tree().map_err(|source| self.read_error("the tree", commit, source))?;
        let mut listing = Listing::default();
        walk(&self.repo, &tree, "", &mut listing).map_err(|source| self.read_error("the tree", commit, source))?;
        // Git orders a directory as if its name ended in `/`; sources are sorted by plain path.
        listing.entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Commit { repo: self, id: oid, listing })
    }

    /// The full commit id a revision names (`HEAD`, a branch, a tag, an abbreviated id, anything
    /// `git rev-parse` takes), for commands where a person names the revision; `check` never
    /// resolves: it compares the exact commit the provenance names.
    pub fn resolve(&self, rev: &str) -> Result<String, GitError> {
        let unknown =
            |source| GitError::UnknownRevision { rev: rev.to_string(), repository: self.location.clone(), source };
        let object = self.repo.revparse_single(rev).map_err(unknown)?;
        let commit = object.peel_to_commit().map_err(unknown)?;
        Ok(commit.id().to_string())
    }

    fn read_error(&self, what: &str, commit: &str, source: git2::Error) -> GitError {
        GitError::Read { what: what.to_string(), commit: commit.to_string(), repository: self.location.clone(), source }
    }
}

#[derive(Default)]
struct Listing {
    entries: Vec<SourceEntry>,
    blobs: HashMap<String, Oid>,
    unreadable: Vec<String>,
}

fn walk(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    prefix: &str,
    listing: &mut Listing,
) -> Result<(), git2::Error> {
    for entry in tree.iter() {
        let Ok(name) = std::str::from_utf8(entry.name_bytes()) else {
            listing.unreadable.push(format!("{prefix}{}", String::from_utf8_lossy(entry.name_bytes())));
            continue;
        };
        let path = format!("{prefix}{name}");
        match entry.filemode() {
            0o040000 => {
                let subtree = repo.find_tree(entry.id())?;
                walk(repo, &subtree, &format!("{path}/"), listing)?;
            }
            0o160000 => listing
                .entries
                .push(SourceEntry { path, kind: SourceKind::Submodule { commit: entry.id().to_string() } }),
            0o120000 => {
                let blob = repo.find_blob(entry.id())?;
                let target = String::from_utf8_lossy(blob.content()).into_owned();
                listing.blobs.insert(path.clone(), entry.id());
                listing.entries.push(SourceEntry { path, kind: SourceKind::Symlink { target } });
            }
            mode => {
                listing.blobs.insert(path.clone(), entry.id());
                listing.entries.push(SourceEntry {
                    path,
                    kind: SourceKind::File { mode: if mode == 0o100755 { 0o755 } else { 0o644 } },
                });
            }
        }
    }
    Ok(())
}

/// A commit's full listing, read once.
pub struct Commit<'r> {
    repo: &'r Repository,
    id: Oid,
    listing: Listing,
}

impl std::fmt::Debug for Commit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Commit").field("id", &self.id).field("files", &self.listing.entries.len()).finish()
    }
}

impl<'r> Commit<'r> {
    pub fn id(&self) -> Oid {
        self.id
    }

    /// Every path in the commit (not only one package's).
    pub fn entries(&self) -> &[SourceEntry] {
        &self.listing.entries
    }

    /// The commit's submodules: `(path, commit)` of each gitlink. Their files are in other
    /// repositories and are not read.
    pub fn submodules(&self) -> Vec<(&str, &str)> {
        self.listing
            .entries
            .iter()
            .filter_map(|entry| match &entry.kind {
                SourceKind::Submodule { commit } => Some((entry.path.as_str(), commit.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The files that are Git LFS pointers: the repository holds a pointer (the real content's
    /// SHA-256 and size), not the content. Only blobs small enough to be pointers are read.
    pub fn lfs_pointers(&self) -> Result<Vec<LfsPointer>, GitError> {
        let odb = self.repo.repo.odb().map_err(|source| self.read_error("the object database", source))?;
        let mut pointers = Vec::new();
        for entry in &self.listing.entries {
            let SourceKind::File { .. } = entry.kind else { continue };
            let Some(oid) = self.listing.blobs.get(&entry.path) else { continue };
            let (size, _) = odb.read_header(*oid).map_err(|source| self.read_error(&entry.path, source))?;
            if size > lfs::MAX_POINTER_SIZE {
                continue;
            }
            let blob = self.repo.repo.find_blob(*oid).map_err(|source| self.read_error(&entry.path, source))?;
            if let Some(pointer) = LfsPointer::parse(&entry.path, blob.content()) {
                pointers.push(pointer);
            }
        }
        Ok(pointers)
    }

    fn read_error(&self, what: &str, source: git2::Error) -> GitError {
        self.repo.read_error(what, &self.id.to_string(), source)
    }

    /// Reads one file of the commit by its repository path.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let error = |source: Box<dyn std::error::Error + Send + Sync>| SourceError {
            tree: format!("{}@{}", self.repo.location, self.id),
            path: path.to_string(),
            source,
        };
        let oid = self.listing.blobs.get(path).ok_or_else(|| error("no such file at this commit".into()))?;
        let blob = self.repo.repo.find_blob(*oid).map_err(|e| error(Box::new(e)))?;
        Ok(blob.content().to_vec())
    }

    /// The part of the commit under `dir` (`""` for the root), as a source tree.
    pub fn subtree(&self, dir: &str) -> Result<CommitDir<'_, 'r>, GitError> {
        let dir = dir.trim_matches('/');
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        let entries: Vec<SourceEntry> = self
            .listing
            .entries
            .iter()
            .filter_map(|entry| {
                entry
                    .path
                    .strip_prefix(&prefix)
                    .map(|rest| SourceEntry { path: rest.to_string(), kind: entry.kind.clone() })
            })
            .collect();
        if entries.is_empty() && !dir.is_empty() {
            return Err(GitError::NoSuchDirectory { dir: dir.to_string(), commit: self.id.to_string() });
        }
        let unreadable =
            self.listing.unreadable.iter().filter_map(|path| path.strip_prefix(&prefix).map(str::to_string)).collect();
        Ok(CommitDir { commit: self, prefix, entries, unreadable })
    }
}

/// A directory of a commit, readable as a [`SourceTree`].
pub struct CommitDir<'c, 'r> {
    commit: &'c Commit<'r>,
    prefix: String,
    entries: Vec<SourceEntry>,
    unreadable: Vec<String>,
}

impl std::fmt::Debug for CommitDir<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl SourceTree for CommitDir<'_, '_> {
    fn describe(&self) -> String {
        let dir = self.prefix.trim_end_matches('/');
        if dir.is_empty() {
            format!("{}@{}", self.commit.repo.location, self.commit.id)
        } else {
            format!("{}@{}:{dir}", self.commit.repo.location, self.commit.id)
        }
    }

    fn entries(&self) -> &[SourceEntry] {
        &self.entries
    }

    fn unreadable_paths(&self) -> &[String] {
        &self.unreadable
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        self.commit.read(&format!("{}{path}", self.prefix))
    }
}
