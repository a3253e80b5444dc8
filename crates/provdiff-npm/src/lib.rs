//! npm's view of a package: reading published tarballs, choosing the files `npm pack` would
//! include, and writing the tarball `npm pack` would write.
//!
//! Reading never touches the file system beyond the source tree it is given; writing produces
//! bytes, never files.

mod collate;
mod deflate;
mod dir;
mod glob;
mod manifest;
mod pack;
mod packlist;
mod publish;
mod tar_read;
mod tarball;
mod workspace;

pub use deflate::{DeflateHash, GzipOptions, gzip as gzip_with, reproduce as reproduce_gzip};
pub use dir::{DirError, DirSource};
pub use manifest::{Manifest, ManifestError, normalize_relative};
pub use pack::{NPM_MTIME, PackedFile, TarFormat, gzip, npm_file_mode, to_tree, write_tar};
pub use packlist::{NpmRules, PackList, PacklistError, Selected, npm_order, packlist};
pub use publish::publish_context;
pub use tarball::{
    GzipInfo, HeaderProblem, MAX_UNPACKED_SIZE, PublishedTarball, TarEntryInfo, TarballError, UnpackedTarball,
    read_tarball, size_hint, unpack_tarball,
};
pub use workspace::{Workspace, find_workspace, is_workspace_of};

use provdiff_core::{SourceError, SourceTree};

/// A package packed from source: its files, the tar stream and the `.tgz`.
#[derive(Debug, Clone)]
pub struct Packed {
    pub list: PackList,
    pub files: Vec<PackedFile>,
    pub tar: Vec<u8>,
    pub tgz: Vec<u8>,
    /// How `tgz` was compressed.
    pub gzip: GzipOptions,
}

impl Packed {
    /// Recompresses the tar stream the way `published` was compressed, when a known engine turns
    /// this tar stream into exactly those bytes (see [`reproduce_gzip`]), and returns that engine.
    /// npm's gzip layer depends on the publisher's Node.js and CPU, not on the source, so this is
    /// what the publisher's own `npm pack` would have written. Otherwise nothing changes.
    pub fn compress_like(&mut self, published: &[u8]) -> Option<GzipOptions> {
        let (options, tgz) = deflate::reproduce_with_output(&self.tar, published)?;
        self.tgz = tgz;
        self.gzip = options;
        Some(options)
    }
}

/// Selects and packs the package at the root of `tree` as `npm pack` would (with its workspace's
/// out-of-tree ignore rules, when it is a workspace: see [`find_workspace`]).
pub fn pack(tree: &dyn SourceTree, rules: NpmRules, workspace: Option<&Workspace>) -> Result<Packed, PacklistError> {
    let list = packlist(tree, rules, workspace)?;
    let files = list
        .files
        .iter()
        .map(|selected| {
            Ok(PackedFile {
                path: selected.path.clone(),
                mode: npm_file_mode(selected.source_mode, selected.is_bin),
                content: tree.read(&selected.path)?,
            })
        })
        .collect::<Result<Vec<_>, SourceError>>()?;
    let tar = write_tar(&files, rules.tar_format());
    let tgz = gzip(&tar);
    Ok(Packed { list, files, tar, tgz, gzip: GzipOptions::NPM })
}
