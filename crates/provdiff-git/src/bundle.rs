//! `git bundle` files (v2 and v3): a header of refs, then a pack. libgit2 cannot read bundles, so
//! the pack is indexed into a temporary bare repository that lives as long as the `Repository`.

use std::io::Write;
use std::path::Path;

use crate::GitError;

pub(crate) fn unbundle(path: &Path) -> Result<(git2::Repository, tempfile::TempDir), GitError> {
    let bad = |reason: &str| GitError::Bundle { path: path.to_path_buf(), reason: reason.to_string() };
    let bytes = fs_err::read(path).map_err(|e| GitError::Bundle { path: path.to_path_buf(), reason: e.to_string() })?;
    let mut rest = bytes.as_slice();
    let mut header_line = || -> Result<&[u8], GitError> {
        let end = rest.iter().position(|&b| b == b'\n').ok_or_else(|| bad("truncated header"))?;
        let line = &rest[..end];
        rest = &rest[end + 1..];
        Ok(line)
    };
    match header_line()? {
        b"# v2 git bundle" | b"# v3 git bundle" => {}
        _ => return Err(bad("not a git bundle (no `# v2 git bundle` or `# v3 git bundle` line)")),
    }
    loop {
        let line = header_line()?;
        if line.is_empty() {
            break;
        }
        if line.starts_with(b"-") {
            return Err(bad("the bundle is incremental (it has prerequisites); provdiff needs a complete one"));
        }
        if line == b"@object-format=sha256" {
            return Err(bad("SHA-256 repositories are not supported"));
        }
    }
    if !rest.starts_with(b"PACK") {
        return Err(bad("no pack data after the header"));
    }
    let scratch = tempfile::Builder::new()
        .prefix("provdiff-bundle-")
        .tempdir()
        .map_err(|e| GitError::Bundle { path: path.to_path_buf(), reason: e.to_string() })?;
    let unbundle_error = |source| GitError::Unbundle { path: path.to_path_buf(), source };
    let repo = git2::Repository::init_bare(scratch.path()).map_err(unbundle_error)?;
    {
        let odb = repo.odb().map_err(unbundle_error)?;
        let mut writer = odb.packwriter().map_err(unbundle_error)?;
        writer
            .write_all(rest)
            .map_err(|e| GitError::Bundle { path: path.to_path_buf(), reason: format!("corrupt pack: {e}") })?;
        writer.commit().map_err(unbundle_error)?;
    }
    Ok((repo, scratch))
}
