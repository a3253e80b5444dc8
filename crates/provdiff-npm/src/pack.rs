//! Writing a package tarball byte for byte as `npm pack` does.
//!
//! npm packs with node-tar in `portable` mode: ustar headers under `package/`, no uid, gid, user
//! or group names, every mtime set to 1985-10-26T08:15:00Z, octal fields padded node-tar's way
//! (`000644 \0`), only regular files (no directory entries), and two zero blocks at the end with no
//! padding to a record size. Paths longer than the ustar name field go into the prefix field when
//! they can be split at a `/`, and into a PAX extended header otherwise.

use std::io::Write;

use provdiff_core::{FileEntry, FileTree};

/// npm's fixed mtime: 1985-10-26T08:15:00Z.
pub const NPM_MTIME: u64 = 499_162_500;

const BLOCK: usize = 512;

/// A file as it goes into the tarball.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedFile {
    /// Path relative to the package root.
    pub path: String,
    pub mode: u32,
    pub content: Vec<u8>,
}

/// Writes the uncompressed tar stream for `files`, in the given order.
pub fn write_tar(files: &[PackedFile]) -> Vec<u8> {
    let size: usize = files.iter().map(|file| 2 * BLOCK + file.content.len().next_multiple_of(BLOCK)).sum();
    let mut out = Vec::with_capacity(size + 2 * BLOCK);
    for file in files {
        let path = format!("package/{}", file.path);
        match split_ustar_path(&path) {
            Some((prefix, name)) => {
                out.extend_from_slice(&header(name, prefix, file.mode, file.content.len() as u64, b'0'))
            }
            None => {
                let record = pax_record("path", &path);
                let pax_name = pax_header_name(&path);
                out.extend_from_slice(&header(&pax_name, "", file.mode, record.len() as u64, b'x'));
                append_padded(&mut out, &record);
                let truncated = truncate_to_bytes(&path, 100);
                out.extend_from_slice(&header(truncated, "", file.mode, file.content.len() as u64, b'0'));
            }
        }
        append_padded(&mut out, &file.content);
    }
    out.extend_from_slice(&[0u8; 2 * BLOCK]);
    out
}

fn append_padded(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    out.resize(out.len().next_multiple_of(BLOCK), 0);
}

/// Splits a path for the ustar `prefix` (155 bytes) and `name` (100 bytes) fields, or `None` when
/// it needs a PAX header (too long, or not plain ASCII).
fn split_ustar_path(path: &str) -> Option<(&str, &str)> {
    if !path.is_ascii() {
        return None;
    }
    if path.len() <= 100 {
        return Some(("", path));
    }
    // The split point must leave a name of at most 100 bytes and a prefix of at most 155.
    let bytes = path.as_bytes();
    (0..bytes.len())
        .rev()
        .filter(|&index| bytes[index] == b'/')
        .map(|index| (&path[..index], &path[index + 1..]))
        .find(|(prefix, name)| prefix.len() <= 155 && name.len() <= 100 && !name.is_empty())
}

fn truncate_to_bytes(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// node-tar names a PAX header `PaxHeader/<basename>`, cut to the name field.
fn pax_header_name(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    truncate_to_bytes(&format!("PaxHeader/{base}"), 100).to_string()
}

/// One PAX record: `<length> <key>=<value>\n`, where the length counts itself.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut length = body.len() + 1;
    while format!("{length}{body}").len() != length {
        length += 1;
    }
    format!("{length}{body}").into_bytes()
}

/// node-tar's octal encoding: zero-padded digits, a space and a NUL, cut to the field size.
fn octal(field: &mut [u8], value: u64) {
    let digits = format!("{value:o}");
    let text = if digits.len() == field.len() - 1 {
        format!("{digits}\0")
    } else {
        format!("{}{digits} \0", "0".repeat(field.len().saturating_sub(digits.len() + 2)))
    };
    let bytes = text.as_bytes();
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
}

fn header(name: &str, prefix: &str, mode: u32, size: u64, type_flag: u8) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    let name = name.as_bytes();
    block[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    octal(&mut block[100..108], u64::from(mode & 0o7777));
    // uid (108..116) and gid (116..124) stay empty in portable mode.
    octal(&mut block[124..136], size);
    octal(&mut block[136..148], NPM_MTIME);
    block[156] = type_flag;
    block[257..263].copy_from_slice(b"ustar\0");
    block[263..265].copy_from_slice(b"00");
    // uname (265..297) and gname (297..329) stay empty in portable mode.
    octal(&mut block[329..337], 0);
    octal(&mut block[337..345], 0);
    let prefix = prefix.as_bytes();
    block[345..345 + prefix.len().min(155)].copy_from_slice(&prefix[..prefix.len().min(155)]);
    block[148..156].copy_from_slice(b"        ");
    let sum: u64 = block.iter().map(|&b| u64::from(b)).sum();
    octal(&mut block[148..156], sum);
    block
}

/// The mode npm gives a file with mode `source_mode` on disk: owner read-write added, group and
/// other write removed, and execute bits for `bin` targets.
pub fn npm_file_mode(source_mode: u32, is_bin: bool) -> u32 {
    let mode = ((source_mode & 0o7777) | 0o600) & !0o022;
    if is_bin { mode | 0o111 } else { mode }
}

/// Compresses a tar stream as npm does: gzip, level 9, no name or mtime, OS byte `0xff`.
pub fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::GzBuilder::new()
        .operating_system(0xff)
        .write(Vec::with_capacity(tar.len() / 3), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(tar);
    encoder.finish().unwrap_or_default()
}

/// The packed files as a tree, for comparison.
pub fn to_tree(files: &[PackedFile]) -> FileTree {
    files.iter().map(|file| (file.path.clone(), FileEntry::file(file.mode, file.content.clone()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_fields_are_padded_like_node_tar() {
        let mut field = [0u8; 8];
        octal(&mut field, 0o644);
        assert_eq!(&field, b"000644 \0");
        let mut field = [0u8; 12];
        octal(&mut field, 84);
        assert_eq!(&field, b"0000000124 \0");
        let mut field = [0u8; 12];
        octal(&mut field, NPM_MTIME);
        assert_eq!(&field, b"3560116604 \0");
    }

    #[test]
    fn a_header_reads_back_with_the_tar_crate() {
        let tar = write_tar(&[
            PackedFile { path: "index.js".into(), mode: 0o644, content: b"x".to_vec() },
            PackedFile { path: format!("{}/{}.js", "d".repeat(120), "f".repeat(60)), mode: 0o755, content: vec![] },
            PackedFile { path: format!("{}.js", "g".repeat(200)), mode: 0o644, content: b"long".to_vec() },
        ]);
        let mut archive = tar::Archive::new(tar.as_slice());
        let entries: Vec<(String, u32, u64)> = archive
            .entries()
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let header = entry.header();
                (
                    String::from_utf8(entry.path_bytes().into_owned()).unwrap(),
                    header.mode().unwrap(),
                    header.mtime().unwrap(),
                )
            })
            .collect();
        assert_eq!(entries[0], ("package/index.js".to_string(), 0o644, NPM_MTIME));
        assert_eq!(entries[1].0, format!("package/{}/{}.js", "d".repeat(120), "f".repeat(60)));
        assert_eq!(entries[2].0, format!("package/{}.js", "g".repeat(200)));
    }

    #[test]
    fn modes() {
        assert_eq!(npm_file_mode(0o644, false), 0o644);
        assert_eq!(npm_file_mode(0o775, false), 0o755);
        assert_eq!(npm_file_mode(0o400, false), 0o600);
        assert_eq!(npm_file_mode(0o644, true), 0o755);
    }
}
