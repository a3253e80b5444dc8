//! A directory on disk as a [`SourceTree`]. Symlinks are listed, never followed, so a loop or a
//! link pointing outside the tree cannot make provdiff read beyond it; the packer decides what a
//! link means for npm.

use std::path::{Path, PathBuf};

use provdiff_core::{SourceEntry, SourceError, SourceKind, SourceTree};

#[derive(Debug, thiserror::Error)]
#[error("cannot list {path}")]
pub struct DirError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// A directory, listed once.
#[derive(Debug)]
pub struct DirSource {
    root: PathBuf,
    entries: Vec<SourceEntry>,
    unreadable: Vec<String>,
}

impl DirSource {
    pub fn open(root: &Path) -> Result<Self, DirError> {
        let mut source = Self { root: root.to_path_buf(), entries: Vec::new(), unreadable: Vec::new() };
        source.walk(root, "")?;
        source.entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(source)
    }

    fn walk(&mut self, dir: &Path, prefix: &str) -> Result<(), DirError> {
        let error = |source| DirError { path: dir.to_path_buf(), source };
        for entry in fs_err::read_dir(dir).map_err(error)? {
            let entry = entry.map_err(error)?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                self.unreadable.push(format!("{prefix}{}", entry.file_name().to_string_lossy()));
                continue;
            };
            let path = format!("{prefix}{name}");
            let file_type = entry.file_type().map_err(error)?;
            if file_type.is_dir() {
                // A repository's own database is never part of a package, in any npm version.
                if name == ".git" {
                    continue;
                }
                self.walk(&entry.path(), &format!("{path}/"))?;
            } else if file_type.is_symlink() {
                let target = fs_err::read_link(entry.path()).map_err(error)?;
                self.entries.push(SourceEntry {
                    path,
                    kind: SourceKind::Symlink { target: target.to_string_lossy().into_owned() },
                });
            } else if file_type.is_file() {
                let mode = mode_of(&entry.metadata().map_err(error)?);
                self.entries.push(SourceEntry { path, kind: SourceKind::File { mode } });
            }
            // Sockets, FIFOs and devices are not files npm could pack.
        }
        Ok(())
    }
}

#[cfg(unix)]
fn mode_of(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> u32 {
    0o644
}

impl SourceTree for DirSource {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn entries(&self) -> &[SourceEntry] {
        &self.entries
    }

    fn unreadable_paths(&self) -> &[String] {
        &self.unreadable
    }

    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        fs_err::read(self.root.join(path)).map_err(|source| SourceError {
            tree: self.describe(),
            path: path.to_string(),
            source: Box::new(source),
        })
    }
}
