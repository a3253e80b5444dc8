//! Writing a commit to disk, for a rebuild: the one place provdiff checks anything out.
//!
//! The checkout is a fresh repository holding only the commit's own objects, marked shallow at
//! the commit (as a depth-1 CI checkout is), so build scripts that ask git for the commit id or
//! the tree find them. Paths are validated before anything is written: a commit whose tree holds
//! an empty, `.`, `..` or `.git` component (git itself refuses such trees, but a repository can
//! still contain them) is refused, and libgit2's checkout never writes through a symlink it has
//! created. The comparison never reads from a checkout; only a rebuild's outputs come from one.

use std::collections::HashSet;
use std::path::Path;

use git2::{ObjectType, Oid};

use crate::{CheckoutFailure, Commit, GitError};

impl Commit<'_> {
    /// Writes the commit's files, modes and symlinks into `dir` (created if missing; it must be
    /// empty), with a shallow `.git` holding the commit and its trees and blobs.
    pub fn checkout_to(&self, dir: &Path) -> Result<(), GitError> {
        let commit = self.id.to_string();
        for path in self.listing.entries.iter().map(|entry| &entry.path).chain(&self.listing.unreadable) {
            if !is_safe_path(path) {
                return Err(GitError::UnsafePath { commit, path: path.clone() });
            }
        }
        let failed =
            |source: CheckoutFailure| GitError::Checkout { commit: commit.clone(), dir: dir.to_path_buf(), source };
        fs_err::create_dir_all(dir).map_err(|e| failed(e.into()))?;
        if fs_err::read_dir(dir).map_err(|e| failed(e.into()))?.next().is_some() {
            return Err(failed(CheckoutFailure::NotEmpty));
        }
        self.write_checkout(dir).map_err(failed)
    }

    fn write_checkout(&self, dir: &Path) -> Result<(), CheckoutFailure> {
        let source = &self.repo.repo;
        let target = git2::Repository::init(dir)?;
        {
            let from = source.odb()?;
            let to = target.odb()?;
            let copy = |oid: Oid| -> Result<(), git2::Error> {
                let object = from.read(oid)?;
                to.write(object.kind(), object.data())?;
                Ok(())
            };
            copy(self.id)?;
            let tree = source.find_commit(self.id)?.tree_id();
            let mut pending = vec![tree];
            let mut seen = HashSet::new();
            while let Some(tree_id) = pending.pop() {
                if !seen.insert(tree_id) {
                    continue;
                }
                copy(tree_id)?;
                for entry in source.find_tree(tree_id)?.iter() {
                    match entry.kind() {
                        Some(ObjectType::Tree) => pending.push(entry.id()),
                        Some(ObjectType::Blob) if seen.insert(entry.id()) => copy(entry.id())?,
                        // Gitlinks (submodules) name commits of other repositories.
                        _ => {}
                    }
                }
            }
        }
        // The parents are not there: say so, as a depth-1 clone does.
        fs_err::write(target.path().join("shallow"), format!("{}\n", self.id))?;
        target.set_head_detached(self.id)?;
        let mut options = git2::build::CheckoutBuilder::new();
        options.force();
        target.checkout_head(Some(&mut options))?;
        Ok(())
    }
}

/// Whether every component of a repository path is a plain name.
fn is_safe_path(path: &str) -> bool {
    path.split('/').all(|component| {
        !component.is_empty() && component != "." && component != ".." && !component.eq_ignore_ascii_case(".git")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_paths() {
        for path in ["a/../b", "./a", ".git/config", "a/.GIT/hooks/x", "a//b", "", ".."] {
            assert!(!is_safe_path(path), "{path}");
        }
        for path in ["a", "a/b.git", ".github/workflows/x.yml", "..a", ".gitignore"] {
            assert!(is_safe_path(path), "{path}");
        }
    }
}
