//! The shared cache of fetched repositories: one bare repository per normalised repository URL
//! under a directory the caller chooses.
//!
//! The cache trusts objects, never markers: a commit counts as cached only when the commit, its
//! tree and every tree and blob below it are in the object database. Refs and git's `shallow` file
//! are never taken as evidence, so a fetch that failed half-way (whatever it left) cannot pass for
//! a complete one. Packs arrive whole (git and libgit2 index a pack before moving it in), so
//! readers need no lock; fetches into one repository take an exclusive file lock, so provdiff runs
//! sharing the cache do not interleave. A repository is created in a temporary directory and
//! renamed into place, so none is ever seen half-initialised. The only refs in a cache repository
//! are `refs/provdiff/commits/<id>`, written after the commit was verified complete; they keep its
//! objects reachable should anyone run `git gc` there. No remote, URL or credential is ever
//! written to a cache repository's configuration.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::fetch::FetchError;
use crate::url::RepoUrl;

/// One repository's place in the cache.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub dir: PathBuf,
    pub repo: PathBuf,
    lock: PathBuf,
}

/// Held while fetching into a slot; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct SlotLock {
    _file: File,
}

fn cache_error(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Cache { path: path.to_path_buf(), source }
}

fn repo_error(path: &Path) -> impl FnOnce(git2::Error) -> FetchError + '_ {
    move |source| FetchError::CacheRepository { path: path.to_path_buf(), source }
}

impl Slot {
    /// The slot of `url` in `dir`: a readable name from the key, and a hash of the key so two
    /// keys never share a name.
    pub(crate) fn new(dir: &Path, url: &RepoUrl) -> Self {
        let key = url.cache_key();
        let readable: String = key
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' })
            .collect::<String>()
            .trim_matches(['_', '.'])
            .chars()
            .take(60)
            .collect();
        let hash = hex::encode(&sha2::Sha256::digest(key.as_bytes())[..8]);
        let name = format!("{readable}-{hash}");
        Self { dir: dir.to_path_buf(), repo: dir.join(format!("{name}.git")), lock: dir.join(format!("{name}.lock")) }
    }

    /// The slot's repository if it exists; no lock is taken (see the module header).
    pub(crate) fn open_existing(&self) -> Option<git2::Repository> {
        if !self.repo.is_dir() {
            return None;
        }
        git2::Repository::open_bare(&self.repo).ok()
    }

    /// Takes the slot's exclusive lock, waiting for another provdiff that holds it. The lock is
    /// released when the returned guard drops, or when the process dies.
    pub(crate) fn lock(&self) -> Result<SlotLock, FetchError> {
        fs_err::create_dir_all(&self.dir).map_err(|e| FetchError::Cache { path: self.dir.clone(), source: e })?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock)
            .map_err(cache_error(&self.lock))?;
        file.lock().map_err(cache_error(&self.lock))?;
        Ok(SlotLock { _file: file })
    }

    /// Opens the slot's repository, creating it atomically if needed. A directory in its place
    /// that is not a repository (left by something else) is replaced.
    pub(crate) fn ensure_repo(&self, _lock: &SlotLock) -> Result<git2::Repository, FetchError> {
        if self.repo.exists() {
            if let Ok(repo) = git2::Repository::open_bare(&self.repo) {
                return Ok(repo);
            }
            fs_err::remove_dir_all(&self.repo).map_err(|e| FetchError::Cache { path: self.repo.clone(), source: e })?;
        }
        let scratch =
            tempfile::Builder::new().prefix(".init-").tempdir_in(&self.dir).map_err(cache_error(&self.dir))?;
        let staged = scratch.path().join("repo.git");
        // No external template: nothing of the user's (hooks, config) enters the cache.
        let repo = git2::Repository::init_opts(
            &staged,
            git2::RepositoryInitOptions::new().bare(true).external_template(false).no_reinit(true),
        )
        .map_err(repo_error(&staged))?;
        {
            let mut config = repo.config().map_err(repo_error(&staged))?;
            // provdiff never prunes; neither should git when someone runs it here.
            config.set_i32("gc.auto", 0).map_err(repo_error(&staged))?;
            config.set_bool("core.logAllRefUpdates", false).map_err(repo_error(&staged))?;
        }
        drop(repo);
        std::fs::rename(&staged, &self.repo).map_err(cache_error(&self.repo))?;
        git2::Repository::open_bare(&self.repo).map_err(repo_error(&self.repo))
    }
}

/// Whether `commit`, its tree and every tree and blob below it are in `repo`. Submodule commits
/// belong to other repositories and are not looked for.
pub(crate) fn is_complete(repo: &git2::Repository, commit: git2::Oid) -> bool {
    let Ok(found) = repo.find_commit(commit) else { return false };
    let Ok(tree) = found.tree() else { return false };
    let Ok(odb) = repo.odb() else { return false };
    let mut pending = vec![tree];
    while let Some(tree) = pending.pop() {
        for entry in tree.iter() {
            match entry.kind() {
                Some(git2::ObjectType::Tree) => match repo.find_tree(entry.id()) {
                    Ok(subtree) => pending.push(subtree),
                    Err(_) => return false,
                },
                Some(git2::ObjectType::Blob) if !odb.exists(entry.id()) => return false,
                // A gitlink (submodule) names a commit of another repository.
                _ => {}
            }
        }
    }
    true
}

/// The ref that keeps a verified commit reachable.
pub(crate) fn commit_ref(commit: git2::Oid) -> String {
    format!("refs/provdiff/commits/{commit}")
}

/// Records a commit that was verified complete.
pub(crate) fn mark_complete(repo: &git2::Repository, commit: git2::Oid) -> Result<(), FetchError> {
    let path = repo.path().to_path_buf();
    repo.reference(&commit_ref(commit), commit, true, "provdiff: verified complete").map_err(repo_error(&path))?;
    Ok(())
}

/// The pack files of `repo` and their sizes: what a fetch added is the difference.
pub(crate) fn packs(repo: &Path) -> BTreeMap<PathBuf, u64> {
    let Ok(entries) = std::fs::read_dir(repo.join("objects").join("pack")) else { return BTreeMap::new() };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "pack"))
        .filter_map(|entry| Some((entry.path(), entry.metadata().ok()?.len())))
        .collect()
}

/// The number of objects a pack's `.idx` (version 2) lists: the last entry of its fan-out table.
pub(crate) fn pack_objects(pack: &Path) -> Option<u64> {
    let index = std::fs::read(pack.with_extension("idx")).ok()?;
    if index.get(..8)? != b"\xfftOc\x00\x00\x00\x02" {
        return None;
    }
    let last = index.get(8 + 255 * 4..8 + 256 * 4)?;
    Some(u32::from_be_bytes(last.try_into().ok()?) as u64)
}

/// Whether the repository is shallow (git's `shallow` file lists its cut-off commits).
pub(crate) fn is_shallow(repo: &Path) -> bool {
    std::fs::metadata(repo.join("shallow")).is_ok_and(|meta| meta.len() > 0)
}
