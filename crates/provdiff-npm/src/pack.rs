//! Writing a package tarball byte for byte as `npm pack` does.
//!
//! npm packs with node-tar in `portable` mode: ustar headers under `package/`, no uid, gid, user
//! or group names, every mtime set to 1985-10-26T08:15:00Z, octal fields padded node-tar's way
//! (`000644 \0`), only regular files (no directory entries), and two zero blocks at the end with no
//! padding to a record size. Paths longer than the ustar name field go into the prefix field when
//! they can be split at a `/`, and into a PAX extended header otherwise.

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

/// The node-tar behaviours that differ between the versions npm bundled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TarFormat {
    /// node-tar 7 writes a PAX `size` record even for empty files; node-tar 6 omits it.
    pub pax_size_of_empty_files: bool,
}

/// Writes the uncompressed tar stream for `files`, in the given order.
pub fn write_tar(files: &[PackedFile], format: TarFormat) -> Vec<u8> {
    let size: usize = files.iter().map(|file| 3 * BLOCK + file.content.len().next_multiple_of(BLOCK)).sum();
    let mut out = Vec::with_capacity(size + 2 * BLOCK);
    for file in files {
        let path = format!("package/{}", strip_drive(file.path.strip_prefix("./").unwrap_or(&file.path)));
        let (name, prefix, mut need_pax) = split_prefix(&path);
        need_pax |= !name.is_ascii() || !prefix.is_ascii();
        let size = file.content.len() as u64;
        if need_pax {
            // node-tar's PAX header: path, mtime and size records, under `PaxHeader/<basename>`.
            let mut body = pax_record("path", &path);
            body.extend(pax_record("mtime", &NPM_MTIME.to_string()));
            if size > 0 || format.pax_size_of_empty_files {
                body.extend(pax_record("size", &size.to_string()));
            }
            let base = path.rsplit('/').next().unwrap_or(&path);
            let pax_name = js_slice(&format!("PaxHeader/{base}"), 99);
            out.extend_from_slice(&header(&pax_name, "", 0o644, body.len() as u64, b'x'));
            append_padded(&mut out, &body);
        }
        out.extend_from_slice(&header(&name, &prefix, file.mode, size, b'0'));
        append_padded(&mut out, &file.content);
    }
    out.extend_from_slice(&[0u8; 2 * BLOCK]);
    out
}

fn append_padded(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    out.resize(out.len().next_multiple_of(BLOCK), 0);
}

/// node-tar strips a Windows drive root (`c:`) from the front of a path, even on Unix.
fn strip_drive(path: &str) -> &str {
    let bytes = path.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        path[2..].trim_start_matches(['/', '\\'])
    } else {
        path
    }
}

/// JavaScript's `string.slice(0, n)` (UTF-16 units), never cutting a character in two.
fn js_slice(text: &str, units: usize) -> String {
    let mut taken = 0;
    text.chars()
        .take_while(|c| {
            taken += c.len_utf16();
            taken <= units
        })
        .collect()
}

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// node-tar's `splitPrefix`: the ustar `name` (100 bytes) and `prefix` (155 bytes) for a path,
/// and whether a PAX header is needed because the path does not fit.
fn split_prefix(path: &str) -> (String, String, bool) {
    const NAME: usize = 100;
    const PREFIX: usize = 155;
    if path.len() < NAME {
        return (path.to_string(), String::new(), utf16_len(path) > NAME);
    }
    let (mut prefix, mut name) = match path.rsplit_once('/') {
        Some((dir, base)) => (dir.to_string(), base.to_string()),
        None => (".".to_string(), path.to_string()),
    };
    while prefix != "." {
        if name.len() <= NAME && prefix.len() <= PREFIX {
            let need_pax = utf16_len(&name) > NAME || utf16_len(&prefix) > PREFIX;
            return (name, prefix, need_pax);
        }
        if name.len() > NAME && prefix.len() <= PREFIX {
            return (js_slice(&name, NAME - 1), prefix, true);
        }
        let (rest, last) = match prefix.rsplit_once('/') {
            Some((rest, last)) => (rest.to_string(), last.to_string()),
            None => (".".to_string(), prefix.clone()),
        };
        name = format!("{last}/{name}");
        prefix = rest;
    }
    (js_slice(path, NAME - 1), String::new(), true)
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

/// Copies a string into a field as Node's `buf.write` does: as many whole characters as fit.
fn write_field(field: &mut [u8], text: &str) {
    let mut end = text.len().min(field.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    field[..end].copy_from_slice(&text.as_bytes()[..end]);
}

fn header(name: &str, prefix: &str, mode: u32, size: u64, type_flag: u8) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    write_field(&mut block[..100], name);
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
    write_field(&mut block[345..500], prefix);
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

/// Compresses a tar stream as `npm pack` does with current Node.js: Chromium's zlib at level 9,
/// no name or mtime, OS byte `0xff`. Older publishers' engines are in [`crate::GzipOptions`].
pub fn gzip(tar: &[u8]) -> Vec<u8> {
    crate::deflate::gzip(tar, crate::GzipOptions::NPM)
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
        let tar = write_tar(
            &[
                PackedFile { path: "index.js".into(), mode: 0o644, content: b"x".to_vec() },
                PackedFile { path: format!("{}/{}.js", "d".repeat(120), "f".repeat(60)), mode: 0o755, content: vec![] },
                PackedFile { path: format!("{}.js", "g".repeat(200)), mode: 0o644, content: b"long".to_vec() },
            ],
            TarFormat::default(),
        );
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
