//! Reading a published `.tgz` safely into memory, as npm would install it.
//!
//! Nothing here touches the file system: the tarball is read from bytes or a stream, and sizes are
//! bounded so a gzip bomb is an error instead of an out-of-memory crash. The tar stream is read by
//! [`crate::tar_read`], a model of node-tar (npm's reader), not by a general tar reader: what a
//! package holds is what npm installs from it. Entry paths are then unpacked as pacote does (the
//! first component stripped, the rest resolved), refusing what could escape the package (absolute
//! paths, `..`). What npm would do with odd content (several gzip members, trailing bytes, links,
//! duplicate paths, headers other readers read otherwise) is reported as findings, because those
//! are exactly the places where a package can carry data its source does not explain.

use std::io::Read;

use provdiff_core::{Code, EntryKind, FileEntry, FileTree, Finding};

use provdiff_core::Sha512;

/// The largest uncompressed tarball provdiff reads. The largest packages in the registry unpack to
/// a few hundred megabytes; anything beyond this is refused, not truncated.
pub const MAX_UNPACKED_SIZE: u64 = 2 << 30;

/// A published package tarball, read.
#[derive(Debug, Clone)]
pub struct PublishedTarball {
    /// The `.tgz` bytes as published.
    pub compressed: Vec<u8>,
    /// The uncompressed tar stream (all gzip members, concatenated, as npm would read them);
    /// the tree's files are views into it.
    pub tar: bytes::Bytes,
    pub sha512: Sha512,
    pub gzip: GzipInfo,
    /// Files by package path, the top-level directory removed as npm does.
    pub tree: FileTree,
    /// Entries in archive order, for comparisons of the archive itself.
    pub entries: Vec<TarEntryInfo>,
    /// What the container holds beyond plain files.
    pub findings: Vec<Finding>,
}

/// The gzip container, as far as it matters for reproducing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GzipInfo {
    pub members: usize,
    /// The `XFL` byte (2: best compression, 4: fastest).
    pub extra_flags: u8,
    /// The `OS` byte (`0xff` unknown, `3` Unix).
    pub operating_system: u8,
}

/// One archive entry as it appeared, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntryInfo {
    /// The full path in the archive, top-level directory included.
    pub archive_path: String,
    pub type_flag: u8,
    pub mode: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum TarballError {
    #[error("not a gzip file (it starts with {magic})")]
    NotGzip { magic: String },
    #[error("gzip stream is corrupt or truncated")]
    Gzip(#[source] std::io::Error),
    #[error("cannot read the tarball")]
    Read(#[source] std::io::Error),
    #[error("tarball unpacks to more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(
        "tar entry {path:?} at offset {offset} needs {needed} bytes of data, but the archive ends after {available}"
    )]
    Truncated { path: String, offset: u64, needed: u64, available: u64 },
    #[error("tar header at offset {offset}: {problem}")]
    Header { offset: u64, problem: HeaderProblem },
    #[error("tar entry {path:?} has an unsafe path ({reason})")]
    UnsafePath { path: String, reason: &'static str },
    #[error("tar entry {path:?} is not valid UTF-8")]
    NonUtf8Path { path: String },
}

/// A tar header npm releases read differently from one another: what npm installs from it depends
/// on the npm that installs it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderProblem {
    #[error(
        "an extended header follows a pax `size` record; npm releases disagree on which header that size applies to \
         (before node-tar 7.5.22, to the extended header)"
    )]
    SizeBeforeExtendedHeader,
    #[error(
        "an extended header without a name follows a pending extended path; node-tar 7.5.22 skips it, earlier \
         releases (in npm 9 to 11) read it"
    )]
    UnnamedUnderExtension,
    #[error(
        "a pax header with a link name: npm releases with node-tar 6 skip it and read its records as headers, later ones read it"
    )]
    LinkNameOnExtendedHeader,
    #[error(
        "its {field} field is a base-256 number node-tar refuses, under a pending extended header: npm releases \
         disagree whether to skip the header"
    )]
    NumberUnderExtension { field: &'static str },
    #[error("a global pax header sets `{key}`, which npm releases apply differently")]
    GlobalKey { key: String },
    #[error(
        "the pax record `{key}={value:?}` is read differently by npm releases (node-tar 6 and 7 disagree on empty, \
         zero, non-decimal and NUL-holding values)"
    )]
    PaxValue { key: String, value: String },
    #[error("the file {path:?} has a link target {linkpath:?}: npm checks it as a link's and may skip the file")]
    LinkPathOnFile { path: String, linkpath: String },
}

/// A `.tgz` read from a stream, without its compressed bytes: for comparisons that need the
/// files and the tar stream, but neither the gzip stream nor its digest.
#[derive(Debug, Clone)]
pub struct UnpackedTarball {
    /// The uncompressed tar stream; the tree's files are views into it.
    pub tar: bytes::Bytes,
    pub compressed_size: u64,
    pub gzip: GzipInfo,
    pub tree: FileTree,
    pub entries: Vec<TarEntryInfo>,
    pub findings: Vec<Finding>,
}

/// Reads a published `.tgz`.
pub fn read_tarball(compressed: Vec<u8>) -> Result<PublishedTarball, TarballError> {
    let hint = size_hint(&compressed);
    let UnpackedTarball { tar, gzip, tree, entries, findings, .. } =
        unpack_tarball(&compressed[..], hint, compressed.len() as u64)?;
    let sha512 = Sha512::digest(&compressed);
    Ok(PublishedTarball { compressed, tar, sha512, gzip, tree, entries, findings })
}

/// Reads a `.tgz` from a stream (a file, say) without keeping the compressed bytes.
/// `unpacked_hint` is the expected tar size, to allocate once (see [`size_hint`]); `compressed_size`
/// bounds it by deflate's best ratio, so a lying hint cannot make provdiff reserve much memory.
pub fn unpack_tarball(
    input: impl Read,
    unpacked_hint: u64,
    compressed_size: u64,
) -> Result<UnpackedTarball, TarballError> {
    let mut findings = Vec::new();
    let mut input = CountingReader::new(input);
    let capacity = unpacked_hint.min(MAX_UNPACKED_SIZE).min(compressed_size.saturating_mul(1032));
    let (tar, gzip) = gunzip(&mut input, capacity as usize, &mut findings)?;
    let tar = bytes::Bytes::from(tar);
    let (tree, entries) = read_tar(&tar, &mut findings)?;
    Ok(UnpackedTarball { tar, compressed_size: input.consumed, gzip, tree, entries, findings })
}

/// The size a `.tgz` says it unpacks to: its last gzip member's `ISIZE` (the size modulo 2^32),
/// given its last four bytes. Only a hint: several members, or 4 GiB and more, make it wrong.
pub fn size_hint(tail: &[u8]) -> u64 {
    match tail.len().checked_sub(4).and_then(|at| tail.get(at..)) {
        Some(&[a, b, c, d]) => u64::from(u32::from_le_bytes([a, b, c, d])),
        _ => 0,
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A buffered reader that counts what is consumed, can look ahead a few bytes, and remembers
/// whether the underlying reader failed (so that an I/O error is not reported as a corrupt gzip
/// stream).
struct CountingReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    consumed: u64,
    failed: Option<std::io::ErrorKind>,
}

impl<R: Read> CountingReader<R> {
    fn new(inner: R) -> Self {
        Self { inner, buf: vec![0; 256 * 1024].into_boxed_slice(), pos: 0, end: 0, consumed: 0, failed: None }
    }

    fn read_inner(&mut self) -> std::io::Result<usize> {
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(read) => {
                    self.end += read;
                    return Ok(read);
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => {
                    self.failed = Some(error.kind());
                    return Err(error);
                }
            }
        }
    }

    /// Up to `n` bytes ahead (fewer only at the end of the stream), without consuming them.
    fn peek(&mut self, n: usize) -> std::io::Result<&[u8]> {
        if self.end - self.pos < n {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
            while self.end < n && self.read_inner()? > 0 {}
        }
        Ok(&self.buf[self.pos..self.end.min(self.pos + n)])
    }

    /// Consumes everything left, returning how many bytes that was.
    fn skip_rest(&mut self) -> std::io::Result<u64> {
        let mut skipped = 0;
        loop {
            let available = std::io::BufRead::fill_buf(self)?.len();
            if available == 0 {
                return Ok(skipped);
            }
            std::io::BufRead::consume(self, available);
            skipped += available as u64;
        }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = std::io::BufRead::fill_buf(self)?;
        let count = available.len().min(out.len());
        out[..count].copy_from_slice(&available[..count]);
        std::io::BufRead::consume(self, count);
        Ok(count)
    }
}

impl<R: Read> std::io::BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos == self.end {
            self.pos = 0;
            self.end = 0;
            self.read_inner()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, amount: usize) {
        let amount = amount.min(self.end - self.pos);
        self.pos += amount;
        self.consumed += amount as u64;
    }
}

fn gunzip<R: Read>(
    input: &mut CountingReader<R>,
    capacity: usize,
    findings: &mut Vec<Finding>,
) -> Result<(Vec<u8>, GzipInfo), TarballError> {
    let io_error = |input: &CountingReader<R>, error: std::io::Error| match input.failed {
        Some(_) => TarballError::Read(error),
        None => TarballError::Gzip(error),
    };
    let head = input.peek(10).map_err(TarballError::Read)?;
    if head.len() < 10 || head[..2] != GZIP_MAGIC {
        let magic = head.iter().take(4).map(|b| format!("{b:02x}")).collect::<String>();
        return Err(TarballError::NotGzip { magic: if magic.is_empty() { "nothing".into() } else { magic } });
    }
    let mut info = GzipInfo { members: 0, extra_flags: head[8], operating_system: head[9] };
    let mut tar = Vec::with_capacity(capacity);
    loop {
        let mut decoder = flate2::bufread::GzDecoder::new(&mut *input);
        let limit = MAX_UNPACKED_SIZE - tar.len() as u64;
        let read = (&mut decoder).take(limit + 1).read_to_end(&mut tar);
        let header_fields = decoder.header().map(|header| {
            let mut fields = Vec::new();
            if header.filename().is_some() {
                fields.push("file name");
            }
            if header.comment().is_some() {
                fields.push("comment");
            }
            if header.extra().is_some() {
                fields.push("extra field");
            }
            fields
        });
        drop(decoder);
        let read = read.map_err(|error| io_error(input, error))?;
        if read as u64 > limit {
            return Err(TarballError::TooLarge { limit: MAX_UNPACKED_SIZE });
        }
        if let Some(fields) = header_fields
            && !fields.is_empty()
        {
            findings.push(Finding::new(
                Code::GzipHeaderFields,
                format!("gzip member {} has a {}", info.members + 1, fields.join(", ")),
            ));
        }
        info.members += 1;
        let next = input.peek(2).map_err(TarballError::Read)?;
        if next.is_empty() {
            break;
        }
        if next == GZIP_MAGIC {
            continue;
        }
        let trailing = input.skip_rest().map_err(TarballError::Read)?;
        findings.push(Finding::new(Code::GzipTrailingData, format!("{trailing} bytes follow the gzip stream")));
        break;
    }
    if info.members > 1 {
        findings.push(Finding::new(
            Code::GzipMultipleMembers,
            format!("the gzip stream has {} members; npm extracts them all", info.members),
        ));
    }
    Ok((tar, info))
}

fn read_tar(
    tar_bytes: &bytes::Bytes,
    findings: &mut Vec<Finding>,
) -> Result<(FileTree, Vec<TarEntryInfo>), TarballError> {
    let parsed = crate::tar_read::parse(tar_bytes)?;
    let mut tree = FileTree::new();
    let mut infos = Vec::new();
    let mut roots = std::collections::BTreeSet::new();
    // Where each entry's findings go: its package path, or its archive path outside the package.
    let mut finding_paths = Vec::with_capacity(parsed.entries.len());
    let mut path_findings = Vec::new();
    for entry in &parsed.entries {
        let archive_path = &entry.path;
        infos.push(TarEntryInfo {
            archive_path: archive_path.clone(),
            type_flag: entry.raw_type,
            mode: entry.mode.unwrap_or(0),
        });
        let unpacked = unpack_path(archive_path)?;
        if unpacked.odd {
            path_findings.push((finding_paths.len(), unpacked.why_odd()));
        }
        roots.insert(unpacked.root.to_string());
        let kind = match entry.type_code {
            Some(b'0' | b'7') => EntryKind::File,
            Some(b'5') => EntryKind::Directory,
            Some(b'2') => EntryKind::Symlink { target: entry.linkpath.clone() },
            Some(b'1') => EntryKind::Hardlink { target: entry.linkpath.clone() },
            _ => EntryKind::Other { type_flag: entry.raw_type },
        };
        let path = unpacked.components.join("/");
        if archive_path.ends_with('/') && kind != EntryKind::Directory {
            path_findings.push((
                finding_paths.len(),
                format!("{} whose path ends in `/`: npm writes it without the slash", describe_kind(&kind)),
            ));
        }
        finding_paths.push(if path.is_empty() { archive_path.clone() } else { path.clone() });
        if path.is_empty() {
            // The package directory itself: pacote refuses to replace it with anything else.
            if kind != EntryKind::Directory {
                findings.push(Finding::at(
                    Code::TarSpecialEntry,
                    archive_path.clone(),
                    "entry sits outside the package directory; npm ignores it when installing",
                ));
            }
            continue;
        }
        match kind {
            EntryKind::File => {}
            // pacote creates directories for the files in them; directory entries are skipped.
            EntryKind::Directory => continue,
            ref other => {
                let skipped =
                    if matches!(other, EntryKind::Other { .. }) { "; npm skips it when installing" } else { "" };
                findings.push(Finding::at(
                    Code::TarSpecialEntry,
                    path.clone(),
                    format!("the tarball holds {}, which npm pack never writes{skipped}", describe_kind(other)),
                ));
            }
        }
        let content = tar_bytes.slice(entry.data.clone());
        if tree.insert(path.clone(), FileEntry { kind, mode: entry.mode.unwrap_or(0), content }).is_some() {
            findings.push(Finding::at(
                Code::TarDuplicateEntry,
                path,
                "the path appears more than once; npm keeps the last copy",
            ));
        }
    }
    for (index, detail) in path_findings {
        findings.push(Finding::at(Code::TarHeaderAmbiguous, finding_paths[index].clone(), detail));
    }
    for note in parsed.notes {
        findings.push(match note.entry.and_then(|index| finding_paths.get(index)) {
            Some(path) => Finding::at(note.code, path.clone(), note.detail),
            None => Finding::new(note.code, note.detail),
        });
    }
    let after_end = tar_bytes.get(parsed.end..).unwrap_or_default();
    if let Some(first) = after_end.iter().position(|&byte| byte != 0) {
        let offset = parsed.end + first;
        let bytes = after_end.len() - first;
        findings.push(Finding::new(
            Code::TarTrailingData,
            if parsed.ended {
                format!(
                    "{bytes} bytes of data follow the end of the tar archive (from offset {offset}); npm stops reading \
                     at the end marker"
                )
            } else {
                format!("{bytes} bytes of data follow the last entry (from offset {offset}), too few for a header")
            },
        ));
    }
    if roots.iter().any(|root| root != "package") {
        let names: Vec<_> = roots.into_iter().collect();
        findings.push(Finding::new(
            Code::TarRootDirectory,
            format!("top-level director{} {}", if names.len() == 1 { "y is" } else { "ies are" }, names.join(", ")),
        ));
    }
    Ok((tree, infos))
}

fn describe_kind(kind: &EntryKind) -> String {
    match kind {
        EntryKind::File => "a file".into(),
        EntryKind::Directory => "a directory".into(),
        EntryKind::Symlink { target } => format!("a symlink to {target:?}"),
        EntryKind::Hardlink { target } => format!("a hard link to {target:?}"),
        EntryKind::Other { type_flag } => {
            let what = match type_flag {
                b'3' | b'4' => " (a device)",
                b'6' => " (a FIFO)",
                b'D' => " (a GNU dump directory)",
                b'S' => " (a GNU sparse file)",
                _ => "",
            };
            format!("an entry of type {:?}{what}", char::from(*type_flag))
        }
    }
}

/// npm's deepest path (node-tar's `maxDepth`, since 6.2.1; earlier releases have none).
const MAX_DEPTH: usize = 1024;

/// An archive path as pacote unpacks it: the first component stripped whatever it is (`strip: 1`),
/// then resolved inside the package directory, so empty and `.` components vanish.
#[derive(Debug, PartialEq, Eq)]
struct Unpacked<'a> {
    root: &'a str,
    components: Vec<&'a str>,
    /// The path has components npm resolves away, or a root other readers would not strip.
    odd: bool,
}

impl Unpacked<'_> {
    fn why_odd(&self) -> String {
        format!(
            "the archive path has empty or `.` components (the root is {:?}): npm strips the first component \
             whatever it is and resolves the rest, other readers normalise first",
            self.root
        )
    }
}

/// Splits an archive path as pacote does, refusing what could escape the package and what npm
/// releases (or platforms) place differently.
fn unpack_path(path: &str) -> Result<Unpacked<'_>, TarballError> {
    let unsafe_path = |reason| TarballError::UnsafePath { path: path.to_string(), reason };
    if path.starts_with('/') || path.starts_with('\\') {
        return Err(unsafe_path("absolute path"));
    }
    if path.as_bytes().get(1) == Some(&b':') {
        return Err(unsafe_path("drive letter"));
    }
    if path.contains('\0') {
        return Err(unsafe_path("NUL byte"));
    }
    // node-tar skips an entry with a `..` component, `\` counting as a separator.
    if path.split(['/', '\\']).any(|component| component == "..") {
        return Err(unsafe_path("`..` component"));
    }
    let mut parts = path.split('/');
    let root = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    if rest.len() > MAX_DEPTH {
        return Err(unsafe_path(
            "more than 1024 components, which node-tar 6.2.1 and later skip and earlier releases install",
        ));
    }
    // node-tar strips what Windows calls a root from the stripped path (a drive, `\\`, a
    // leading `/`) even on other systems.
    let inner = rest.join("/");
    if inner.starts_with(['/', '\\'])
        || (inner.as_bytes().get(1) == Some(&b':') && inner.as_bytes()[0].is_ascii_alphabetic())
    {
        return Err(unsafe_path("a root inside the package directory, which npm strips"));
    }
    let components: Vec<&str> =
        rest.iter().copied().filter(|component| !component.is_empty() && *component != ".").collect();
    // A directory's trailing slash is the one empty component every writer leaves.
    let trailing = usize::from(rest.last() == Some(&""));
    let odd = root.is_empty() || root == "." || components.len() + trailing != rest.len();
    Ok(Unpacked { root, components, odd })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tgz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        gz(&tar_of(entries))
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut encoder, bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in entries {
            let mut header = tar::Header::new_ustar();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            // set_path refuses `..`, which is exactly what these tests need to write.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            header.set_cksum();
            builder.append(&header, *content).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn paths_unpack_as_pacote_unpacks_them() {
        let check = |path: &str, expected: Result<(&str, &[&str], bool), &str>| {
            let got = unpack_path(path).map(|unpacked| (unpacked.root, unpacked.components, unpacked.odd));
            match (got, expected) {
                (Ok((root, components, odd)), Ok((want_root, want, want_odd))) => {
                    assert_eq!((root, components.as_slice(), odd), (want_root, want, want_odd), "{path}")
                }
                (Err(TarballError::UnsafePath { reason, .. }), Err(want)) => {
                    assert!(reason.contains(want), "{path}: {reason}")
                }
                (got, _) => panic!("{path}: {got:?}"),
            }
        };
        check("package/lib/a.js", Ok(("package", &["lib", "a.js"], false)));
        check("package/lib/", Ok(("package", &["lib"], false)));
        check("node/index.d.ts", Ok(("node", &["index.d.ts"], false)));
        // npm strips `.` as the root: this installs as package/index.js.
        check("./package/index.js", Ok((".", &["package", "index.js"], true)));
        check("package/./a.js", Ok(("package", &["a.js"], true)));
        check("package/lib//a.js", Ok(("package", &["lib", "a.js"], true)));
        check("package//a.js", Err("a root inside the package"));
        check("package/C:a.js", Err("a root inside the package"));
        check("package/a\\..\\..\\x", Err("`..`"));
        check("../a.js", Err("`..`"));
        check("/package/a.js", Err("absolute"));
        check(&format!("package/{}a.js", "d/".repeat(1024)), Err("1024"));
    }

    #[test]
    fn reads_files_without_the_root_directory() {
        let tarball = read_tarball(tgz(&[("package/a.js", b"a"), ("package/lib/b.js", b"b")])).unwrap();
        let paths: Vec<_> = tarball.tree.iter().map(|(path, _)| path).collect();
        assert_eq!(paths, ["a.js", "lib/b.js"]);
        assert!(tarball.findings.is_empty());
        assert_eq!(tarball.gzip.members, 1);
    }

    #[test]
    fn refuses_unsafe_paths() {
        for path in ["package/../../etc/passwd", "/etc/passwd", "package/a/../../x"] {
            let err = read_tarball(tgz(&[(path, b"x")])).unwrap_err();
            assert!(matches!(err, TarballError::UnsafePath { .. }), "{path}: {err}");
        }
    }

    #[test]
    fn reports_container_oddities() {
        // One tar stream split across two gzip members: npm reads both.
        let tar = tar_of(&[("package/a.js", b"a"), ("package/b.js", b"b")]);
        let mut bytes = gz(&tar[..1024]);
        bytes.extend(gz(&tar[1024..]));
        let tarball = read_tarball(bytes.clone()).unwrap();
        assert!(tarball.tree.contains("b.js"));
        assert!(tarball.findings.iter().any(|f| f.code == Code::GzipMultipleMembers));

        // A second archive after the first one's end: npm stops at the end marker.
        let mut stacked = tar_of(&[("package/a.js", b"a")]);
        stacked.extend(tar_of(&[("package/evil.js", b"x")]));
        let tarball = read_tarball(gz(&stacked)).unwrap();
        assert!(!tarball.tree.contains("evil.js"));
        assert!(tarball.findings.iter().any(|f| f.code == Code::TarTrailingData));

        // A single zero block is not an end marker for npm: what follows is read.
        let first = tar_of(&[("package/a.js", b"a")]);
        let mut single = first[..first.len() - 1024].to_vec();
        single.extend([0u8; 512]);
        single.extend(tar_of(&[("package/next.js", b"n")]));
        let tarball = read_tarball(gz(&single)).unwrap();
        assert!(tarball.tree.contains("next.js"));
        assert!(!tarball.findings.iter().any(|f| f.code == Code::TarTrailingData));

        bytes.extend(b"hidden");
        let tarball = read_tarball(bytes).unwrap();
        assert!(tarball.findings.iter().any(|f| f.code == Code::GzipTrailingData));

        // A contiguous file named like a directory: npm writes `lib`, other readers may not.
        let mut header = tar::Header::new_ustar();
        header.set_size(1);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Continuous);
        header.as_old_mut().name[..12].copy_from_slice(b"package/lib/");
        header.set_cksum();
        let mut builder = tar::Builder::new(Vec::new());
        builder.append(&header, &b"x"[..]).unwrap();
        let tarball = read_tarball(gz(&builder.into_inner().unwrap())).unwrap();
        assert!(tarball.tree.contains("lib"));
        assert!(
            tarball.findings.iter().any(|f| f.code == Code::TarHeaderAmbiguous && f.path.as_deref() == Some("lib"))
        );

        let tarball = read_tarball(tgz(&[("package/a.js", b"1"), ("package/a.js", b"2")])).unwrap();
        assert_eq!(tarball.tree.get("a.js").unwrap().content, &b"2"[..]);
        assert!(tarball.findings.iter().any(|f| f.code == Code::TarDuplicateEntry));
    }

    #[test]
    fn truncated_and_garbage_input_are_errors() {
        let bytes = tgz(&[("package/a.js", &[7u8; 4096])]);
        for cut in [5, 20, bytes.len() / 2, bytes.len() - 3] {
            assert!(read_tarball(bytes[..cut].to_vec()).is_err(), "cut at {cut}");
        }
        assert!(matches!(read_tarball(b"{}".to_vec()), Err(TarballError::NotGzip { .. })));
    }
}
