//! A published tar stream, read the way npm reads it.
//!
//! npm installs a package with node-tar (through pacote), and node-tar's reading of a tar stream
//! is not other readers': it forces a directory's size to 0 and reads what follows as headers,
//! skips a header whose checksum fails (or that is a file with a link name, or has no path) and
//! reads the next block as a header, lets the last of several pax `path` records win, reads numbers
//! with JavaScript's `parseInt`, uses the ustar prefix only under the magic `ustar\0` `00`, and
//! more. A reader with other rules can be shown one package while npm installs another. This
//! module is a model of node-tar's parser (`parse.js`, `header.js`, `pax.js`, `read-entry.js`) as
//! the node-tar releases npm 9 to 11 ship have it (6.1.11 to 7.5.22), read for facts only.
//!
//! It works in three tiers:
//! - the *canonical* archives every publisher writes (npm's node-tar, pnpm's and yarn's
//!   tar-stream, GNU and POSIX tar): plain octal numbers, NUL-padded strings, valid checksums,
//!   at most one pax or GNU extended header per entry with known keys, sizes that agree. For those
//!   every node-tar release and provdiff read the same entries, byte for byte: each rule below
//!   that accepts something silently says why node-tar cannot read it otherwise;
//! - anything else that every node-tar release reads alike is read exactly as node-tar reads it,
//!   with a note (a `tar-header-skipped`, `tar-directory-data` or `tar-header-ambiguous` finding,
//!   all mismatches): the verdict can then not be a match, and the report shows what npm would
//!   install;
//! - what node-tar releases read differently from one another, or what npm reads differently
//!   depending on how the stream reaches it, is an error: provdiff cannot say what is installed.
//!
//! **Invariant:** nothing is allocated from a size the archive declares; entries are ranges of
//! the stream, checked against its length.

use std::ops::Range;

use provdiff_core::Code;

use crate::tarball::{HeaderProblem, TarballError};

const BLOCK: usize = 512;
/// node-tar ignores an extended header larger than this (`maxMetaEntrySize`).
const MAX_META_SIZE: u64 = 1024 * 1024;

/// What node-tar emits, in order, and what the reading noticed.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    pub entries: Vec<Entry>,
    /// Where node-tar stops reading: just after the end marker (two zero blocks), or after the
    /// last block it read.
    pub end: usize,
    /// Whether the archive has its end marker.
    pub ended: bool,
    pub notes: Vec<Note>,
}

/// One entry node-tar hands to its consumer: a header that passed node-tar's checks and is not an
/// extended header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Offset of the entry's own header.
    pub offset: usize,
    /// The path as node-tar has it, before pacote strips the first component.
    pub path: String,
    /// The type byte as written.
    pub raw_type: u8,
    /// node-tar's type after its conversions (`\0` is `0`, a `0` whose name ends in `/` is `5`);
    /// `None` for a type node-tar does not know.
    pub type_code: Option<u8>,
    /// node-tar's mode (`& 0o7777`); `None` where node-tar has none (unreadable, or 0).
    pub mode: Option<u32>,
    pub linkpath: String,
    /// The entry's data in the stream.
    pub data: Range<usize>,
}

/// Something the reading noticed, for a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    /// The index of the entry it concerns, if any.
    pub entry: Option<usize>,
    pub code: Code,
    pub detail: String,
}

/// The pending pax or GNU extended header fields that describe the next entry.
#[derive(Debug, Default)]
struct Extension {
    path: Option<String>,
    linkpath: Option<String>,
    size: Option<u64>,
    /// The current `path` came from a pax record holding non-ASCII bytes (see [`read_pax`]).
    path_non_ascii: bool,
    /// The current `path` was decoded from bytes that are not UTF-8.
    path_lossy: bool,
    /// How many extended headers set it.
    headers: usize,
    /// Why it is not canonical.
    oddities: Vec<String>,
}

/// Reads a tar stream as node-tar does.
pub(crate) fn parse(tar: &[u8]) -> Result<Parsed, TarballError> {
    let mut parsed = Parsed::default();
    let mut pos = 0usize;
    // The offset of a zero block just read: a second one ends the archive.
    let mut zero_block: Option<usize> = None;
    let mut ex: Option<Extension> = None;
    // Whether a global extended header was read (its fields that matter are refused).
    let mut global = false;
    // Notes about headers that describe the next entry, attached to it when it comes.
    let mut pending: Vec<String> = Vec::new();
    while let Some(block) = tar.get(pos..pos + BLOCK) {
        let decoded = if block.iter().all(|&byte| byte == 0) {
            None
        } else {
            match Header::decode(block, ex.as_ref()) {
                Ok(header) => Some(header),
                Err(field) => {
                    // node-tar's Header throws; 7.5.22 does not decode a field a pending
                    // extended header replaces, older releases do.
                    if ex.is_some() || global {
                        return Err(header_error(pos, HeaderProblem::NumberUnderExtension { field }));
                    }
                    parsed.skipped(pos, block, &format!("its {field} field is a base-256 number node-tar refuses"));
                    // A throw leaves node-tar's zero-block state as it was.
                    pos += BLOCK;
                    continue;
                }
            }
        };
        let header = match decoded {
            Some(header) if !header.null_block => header,
            zero => {
                if zero.is_some() {
                    parsed.block_note(format!(
                        "the block at offset {pos} is not all zeros, but npm reads it as an end-of-archive block (only \
                         its checksum field is set, and to no number)"
                    ));
                }
                pos += BLOCK;
                if zero_block.is_some() {
                    parsed.ended = true;
                    break;
                }
                zero_block = Some(pos - BLOCK);
                continue;
            }
        };
        if let Some(at) = zero_block.take() {
            parsed.block_note(format!(
                "a single zero block at offset {at}: npm reads on past it, other readers end the archive there"
            ));
        }
        // node-tar's checks, in its order.
        if !header.cksum_valid {
            parsed.skipped(pos, block, "its checksum does not match");
            pos += BLOCK;
            continue;
        }
        if !header.normal_fs && header.raw_name_empty && ex.as_ref().is_some_and(|ex| ex.path.is_some()) {
            // Before 7.5.22 a pending path names this header too, and it passes; 7.5.22 skips it.
            return Err(header_error(pos, HeaderProblem::UnnamedUnderExtension));
        }
        if header.path.is_empty() {
            parsed.skipped(pos, block, "it has no path");
            pos += BLOCK;
            continue;
        }
        let is_link = matches!(header.type_code, Some(b'1' | b'2'));
        if is_link && header.linkpath.is_empty() {
            parsed.skipped(pos, block, "it is a link without a target");
            pos += BLOCK;
            continue;
        }
        if !is_link && !header.linkpath.is_empty() {
            if matches!(header.type_code, Some(b'x' | b'g')) {
                // node-tar 6 skips these, 7 reads them.
                return Err(header_error(pos, HeaderProblem::LinkNameOnExtendedHeader));
            }
            parsed.skipped(pos, block, "it is not a link, but has a link name");
            pos += BLOCK;
            continue;
        }
        if !header.normal_fs && ex.as_ref().is_some_and(|ex| ex.size.is_some()) {
            // Before 7.5.22 a pending pax size applies to this header too.
            return Err(header_error(pos, HeaderProblem::SizeBeforeExtendedHeader));
        }
        let start = pos + BLOCK;
        let padded = header.size.div_ceil(BLOCK as u64).saturating_mul(BLOCK as u64);
        let stop =
            usize::try_from(padded).ok().and_then(|padded| start.checked_add(padded)).filter(|&stop| stop <= tar.len());
        let Some(stop) = stop else {
            return Err(TarballError::Truncated {
                path: header.path.clone(),
                offset: pos as u64,
                needed: padded,
                available: (tar.len() - start) as u64,
            });
        };
        // In bounds: `size <= padded`.
        let data = start..start + header.size as usize;
        pending.extend(header.oddities.iter().cloned());
        match header.type_code {
            Some(code @ (b'x' | b'X' | b'g' | b'L' | b'N' | b'K')) => {
                if header.size > MAX_META_SIZE {
                    pending.push(format!(
                        "an extended header of {} bytes at offset {pos}, over node-tar's limit of {MAX_META_SIZE}: npm \
                         ignores it",
                        header.size
                    ));
                } else if header.size == 0 {
                    pending.push(format!("an empty extended header at offset {pos}"));
                } else if code == b'g' {
                    global = true;
                    let records = read_pax(&tar[data.clone()], true).map_err(|problem| header_error(pos, problem))?;
                    pending.extend(records.oddities);
                } else {
                    let extension = ex.get_or_insert_with(Extension::default);
                    extension.headers += 1;
                    if extension.headers == 2 {
                        extension.oddities.push(
                            "several extended headers describe one entry: npm takes the last value of each field, other \
                             readers the first or the GNU one"
                                .into(),
                        );
                    }
                    if matches!(code, b'X' | b'N') {
                        extension.oddities.push(format!(
                            "an extended header of the old type {:?}, which node-tar reads as {:?} and other readers \
                             do not know",
                            char::from(code),
                            if code == b'X' { 'x' } else { 'L' }
                        ));
                    }
                    if matches!(code, b'x' | b'X') {
                        let records =
                            read_pax(&tar[data.clone()], false).map_err(|problem| header_error(pos, problem))?;
                        if let Some(path) = records.path {
                            extension.path_lossy =
                                path.contains('\u{fffd}') && std::str::from_utf8(&tar[data.clone()]).is_err();
                            extension.path = Some(path);
                            extension.path_non_ascii = records.path_non_ascii;
                        }
                        if records.linkpath.is_some() {
                            extension.linkpath = records.linkpath;
                        }
                        if records.size.is_some() {
                            extension.size = records.size;
                        }
                        extension.oddities.extend(records.oddities);
                    } else {
                        let (value, oddities) = read_long_name(&tar[data.clone()]);
                        extension.oddities.extend(oddities);
                        if code == b'K' {
                            extension.linkpath = Some(value);
                        } else {
                            extension.path_lossy =
                                value.contains('\u{fffd}') && std::str::from_utf8(&tar[data.clone()]).is_err();
                            extension.path = Some(value);
                            extension.path_non_ascii = false;
                        }
                    }
                }
            }
            type_code => {
                let extension = ex.take().unwrap_or_default();
                let mut oddities = std::mem::take(&mut pending);
                oddities.extend(extension.oddities);
                let path = extension.path.clone().unwrap_or_else(|| header.path.clone());
                let is_file = matches!(type_code, Some(b'0' | b'7'));
                if let Some(linkpath) = extension.linkpath.as_ref().filter(|_| !is_link) {
                    if is_file {
                        // pacote checks a file's link path as it checks a link's, and skips the
                        // file when it escapes: too much to follow.
                        return Err(header_error(
                            pos,
                            HeaderProblem::LinkPathOnFile { path, linkpath: linkpath.clone() },
                        ));
                    }
                    oddities.push(format!("a link target {linkpath:?} on an entry that is not a link"));
                }
                if if extension.path.is_some() { extension.path_lossy } else { header.path_lossy } {
                    return Err(TarballError::NonUtf8Path { path });
                }
                if let (Some(size), Some(own)) = (extension.size, header.own_size)
                    && size != own
                {
                    oddities.push(format!(
                        "a pax size of {size} bytes overrides the header's {own}: readers that ignore pax headers read \
                         other entries"
                    ));
                }
                if extension.path_non_ascii && !falls_back_harmlessly(&header.own_path, &path) {
                    oddities.push(format!(
                        "the pax path holds non-ASCII bytes, and when npm's stream is cut inside them node-tar drops \
                         the record and installs the entry at the header's own path {:?}",
                        header.own_path
                    ));
                }
                if header.slash_directory {
                    oddities.push("a file entry whose name ends in `/`, which npm reads as a directory".into());
                }
                let index = parsed.entries.len();
                for oddity in oddities {
                    parsed.notes.push(Note { entry: Some(index), code: Code::TarHeaderAmbiguous, detail: oddity });
                }
                if type_code == Some(b'5') && header.declared_size > 0 {
                    parsed.notes.push(Note {
                        entry: Some(index),
                        code: Code::TarDirectoryData,
                        detail: format!(
                            "a directory entry that declares {} bytes of data: npm reads those bytes as further \
                             entries, and so does provdiff",
                            header.declared_size
                        ),
                    });
                }
                parsed.entries.push(Entry {
                    offset: pos,
                    path,
                    raw_type: header.raw_type,
                    type_code,
                    mode: header.mode,
                    linkpath: extension.linkpath.unwrap_or(header.linkpath),
                    data,
                });
            }
        }
        pos = stop;
    }
    if ex.is_some() || !pending.is_empty() {
        pending.push("extended headers at the end of the archive describe no entry".into());
        for detail in pending {
            parsed.block_note(detail);
        }
    }
    parsed.end = pos;
    Ok(parsed)
}

impl Parsed {
    fn skipped(&mut self, offset: usize, block: &[u8], why: &str) {
        let name = dec_string(&block[..100]);
        self.notes.push(Note {
            entry: None,
            code: Code::TarHeaderSkipped,
            detail: format!(
                "npm skips the header at offset {offset} (named {name:?}) because {why}, and reads the next block as \
                 a header; so does provdiff"
            ),
        });
    }

    fn block_note(&mut self, detail: String) {
        self.notes.push(Note { entry: None, code: Code::TarHeaderAmbiguous, detail });
    }
}

fn header_error(offset: usize, problem: HeaderProblem) -> TarballError {
    TarballError::Header { offset: offset as u64, problem }
}

/// Whether installing at `fallback` instead of `path` changes nothing that matters: the same
/// path, or one pacote does not install at all (nothing inside the package directory).
fn falls_back_harmlessly(fallback: &str, path: &str) -> bool {
    fallback == path || fallback.split('/').skip(1).all(|component| component.is_empty() || component == ".")
}

/// node-tar's reading of one header block, and why it is not canonical.
#[derive(Debug)]
struct Header {
    raw_type: u8,
    type_code: Option<u8>,
    /// node-tar's "normal file system" types, which pending extended headers describe.
    normal_fs: bool,
    /// node-tar's `header.path`: the pending extended path (for normal types) or the name, with
    /// the ustar prefix.
    path: String,
    /// The header's own path (name and prefix), whatever an extended header says.
    own_path: String,
    /// Whether the own path was decoded from bytes that are not UTF-8.
    path_lossy: bool,
    raw_name_empty: bool,
    mode: Option<u32>,
    /// What node-tar reads of the entry's data: the declared size, 0 for directories.
    size: u64,
    declared_size: u64,
    /// The header's own size field (not a pax size).
    own_size: Option<u64>,
    linkpath: String,
    /// A `0` whose name ends in `/`, which node-tar turns into a directory.
    slash_directory: bool,
    cksum_valid: bool,
    null_block: bool,
    oddities: Vec<String>,
}

const POSIX_MAGIC: &[u8] = b"ustar\x0000";
const GNU_MAGIC: &[u8] = b"ustar  \x00";

impl Header {
    /// Decodes a block as node-tar's `Header` does given the pending extension; `Err` names the
    /// field that makes node-tar throw.
    fn decode(block: &[u8], ex: Option<&Extension>) -> Result<Self, &'static str> {
        let mut oddities = Vec::new();
        let raw_type = block[156];
        let type_string = dec_string(&block[156..157]);
        let normal_fs = matches!(type_string.as_str(), "0" | "" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "D");
        let ex = ex.filter(|_| normal_fs);
        let name = &block[..100];
        let ex_path = ex.and_then(|ex| ex.path.clone());
        if ex_path.is_none() && !canonical_string(name) {
            oddities.push(format!(
                "the name field {:?} has bytes after its end, which npm reads up to the next line break",
                String::from_utf8_lossy(name)
            ));
        }
        let own_name = dec_string(name);
        let mut path = ex_path.clone().unwrap_or_else(|| own_name.clone());

        let mode = number(block, &mut oddities, "mode", 100..108, false, false)?;
        number(block, &mut oddities, "uid", 108..116, true, false)?;
        number(block, &mut oddities, "gid", 116..124, true, false)?;
        let own_size = number(block, &mut oddities, "size", 124..136, false, false)?;
        number(block, &mut oddities, "mtime", 136..148, true, false)?;
        let cksum = number(block, &mut oddities, "checksum", 148..160, false, true)?;

        let mut type_code = is_type_code(&type_string).then(|| type_string.bytes().next().unwrap_or(b'0'));
        let mut slash_directory = false;
        if type_code == Some(b'0') && path.ends_with('/') {
            type_code = Some(b'5');
            slash_directory = true;
        }
        let declared = match ex.and_then(|ex| ex.size) {
            Some(size) => size,
            // notNegative (7.5.22); older releases read a negative size as an empty body.
            None => own_size.filter(|size| *size > 0.0).map_or(0, |size| size as u64),
        };
        let size = if type_code == Some(b'5') { 0 } else { declared };
        let linkpath_field = &block[157..257];
        if !canonical_string(linkpath_field) {
            oddities.push("the link name field has bytes after its end".into());
        }
        let linkpath = dec_string(linkpath_field);

        let magic = &block[257..265];
        let mut own_path = own_name.clone();
        let mut own_bytes_utf8 = std::str::from_utf8(name).is_ok();
        if magic == POSIX_MAGIC {
            number(block, &mut oddities, "devmajor", 329..337, true, false)?;
            number(block, &mut oddities, "devminor", 337..345, true, false)?;
            let prefix_field = &block[345..500];
            // With byte 475 set the prefix has 155 bytes; without, 130, and the atime and ctime
            // follow (as node-tar itself writes them outside portable mode). Either way a NUL-padded
            // name reads alike for readers that take all 155 bytes up to a NUL.
            let name_part = if block[475] != 0 { prefix_field } else { &block[345..475] };
            if !canonical_string(name_part) {
                oddities.push(
                    "the prefix field has bytes after its end: npm reads 130 or 155 bytes of it depending on byte \
                     475, other readers all 155"
                        .into(),
                );
            }
            let prefix = if block[475] != 0 {
                Some(dec_string(prefix_field))
            } else {
                number(block, &mut oddities, "atime", 476..488, true, false)?;
                number(block, &mut oddities, "ctime", 488..500, true, false)?;
                Some(dec_string(&block[345..475])).filter(|prefix| !prefix.is_empty())
            };
            if let Some(prefix) = prefix {
                path = format!("{prefix}/{path}");
                own_path = format!("{prefix}/{own_path}");
                own_bytes_utf8 &= std::str::from_utf8(prefix_field).is_ok();
            }
        } else if magic != GNU_MAGIC && magic != [0; 8] {
            oddities.push(format!(
                "the magic {:?} is neither POSIX's, GNU's nor the old format's: readers disagree on the prefix field",
                String::from_utf8_lossy(magic)
            ));
        }
        if let Some(mode) = mode.filter(|mode| *mode > f64::from(0o7777)) {
            oddities.push(format!("the mode {:o} has bits above 07777, which npm drops", mode as u64));
        }

        let sum: u32 = 8 * 0x20
            + block[..148].iter().map(|&byte| u32::from(byte)).sum::<u32>()
            + block[156..].iter().map(|&byte| u32::from(byte)).sum::<u32>();
        let path_lossy = !own_bytes_utf8 && own_path.contains('\u{fffd}');
        let raw_name_empty = own_path.is_empty();
        Ok(Header {
            raw_type,
            type_code,
            normal_fs,
            path,
            own_path,
            path_lossy,
            raw_name_empty,
            // ReadEntry: `if (this.mode) this.mode &= 0o7777`.
            mode: mode.map(js_to_int32).filter(|&mode| mode != 0).map(|mode| (mode & 0o7777) as u32),
            size,
            declared_size: declared,
            own_size: own_size.filter(|size| *size >= 0.0).map(|size| size as u64),
            linkpath,
            slash_directory,
            cksum_valid: cksum == Some(f64::from(sum)),
            null_block: cksum.is_none() && sum == 8 * 0x20,
            oddities,
        })
    }
}

/// Reads a numeric field as node-tar does (`Err`: node-tar throws), noting when it is not one
/// every reader reads alike. node-tar reads the checksum from 12 bytes: its field and the next four.
fn number(
    block: &[u8],
    oddities: &mut Vec<String>,
    field: &'static str,
    range: Range<usize>,
    blank_ok: bool,
    terminated: bool,
) -> Result<Option<f64>, &'static str> {
    let value = dec_number(&block[range.clone()]).map_err(|()| field)?;
    let own = &block[range.start..range.start + if field == "checksum" { 8 } else { range.len() }];
    match canonical_number(own, terminated) {
        Number::Octal(octal) => Ok(Some(octal as f64)),
        Number::Blank if blank_ok => Ok(value),
        _ => {
            oddities.push(format!(
                "the {field} field {:?} is not a plain octal number (npm reads {})",
                String::from_utf8_lossy(own),
                value.map_or("none".to_string(), |value| value.to_string())
            ));
            Ok(value)
        }
    }
}

/// node-tar's `types.isCode`.
fn is_type_code(code: &str) -> bool {
    matches!(
        code,
        "0" | ""
            | "1"
            | "2"
            | "3"
            | "4"
            | "5"
            | "6"
            | "7"
            | "g"
            | "x"
            | "A"
            | "D"
            | "I"
            | "K"
            | "L"
            | "M"
            | "N"
            | "S"
            | "V"
            | "X"
    )
}

fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes.iter().position(|&byte| byte == 0).map_or(bytes, |end| &bytes[..end])
}

/// A string field every reader reads alike: UTF-8 up to the first NUL, and only NULs after it.
fn canonical_string(field: &[u8]) -> bool {
    let value = until_nul(field);
    std::str::from_utf8(value).is_ok() && field[value.len()..].iter().all(|&byte| byte == 0)
}

/// A numeric field, as every reader reads it alike or not.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    /// Spaces, octal digits, then only spaces and NULs: `parseInt` reads exactly the digits.
    Octal(u64),
    /// Only spaces and NULs: node-tar reads no number.
    Blank,
    Other,
}

fn canonical_number(field: &[u8], terminated: bool) -> Number {
    if field.iter().all(|&byte| byte == 0 || byte == b' ') {
        return Number::Blank;
    }
    let spaces = field.iter().take_while(|&&byte| byte == b' ').count();
    let digits = field[spaces..].iter().take_while(|byte| (b'0'..=b'7').contains(byte)).count();
    let rest = &field[spaces + digits..];
    // The checksum must end inside its field: node-tar reads on into the type flag.
    if digits == 0
        || digits > 21
        || (terminated && rest.is_empty())
        || rest.iter().any(|&byte| byte != 0 && byte != b' ')
    {
        return Number::Other;
    }
    Number::Octal(field[spaces..spaces + digits].iter().fold(0, |value, &digit| value * 8 + u64::from(digit - b'0')))
}

/// node-tar's `decString`: UTF-8 (invalid bytes become U+FFFD), then `.replace(/\0.*/, '')`,
/// which cuts from the first NUL to the next line break, not to the end.
pub(crate) fn dec_string(bytes: &[u8]) -> String {
    // The common case, a NUL-padded UTF-8 field: what precedes the first NUL, as the general
    // rule below gives it (no line break follows among NULs).
    let nul = bytes.iter().position(|&byte| byte == 0).unwrap_or(bytes.len());
    if bytes[nul..].iter().all(|&byte| byte == 0)
        && let Ok(text) = std::str::from_utf8(&bytes[..nul])
    {
        return text.to_string();
    }
    let text = String::from_utf8_lossy(bytes);
    match text.find('\0') {
        None => text.into_owned(),
        Some(nul) => {
            let resume = text[nul..].find(is_line_terminator).map_or(text.len(), |at| nul + at);
            format!("{}{}", &text[..nul], &text[resume..])
        }
    }
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// JavaScript's white space for `trim` and `parseInt` (WhiteSpace and LineTerminator).
fn is_js_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

/// JavaScript's `parseInt(text, radix)` for radix 8 and 10: `None` for `NaN`.
fn js_parse_int(text: &str, radix: u32) -> Option<f64> {
    let text = text.trim_start_matches(is_js_space);
    let (negative, text) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let mut value = None;
    for digit in text.chars().map_while(|c| c.is_ascii_digit().then(|| c.to_digit(radix)).flatten()) {
        value = Some(value.unwrap_or(0.0) * f64::from(radix) + f64::from(digit));
    }
    value.map(|value| if negative { -value } else { value })
}

/// node-tar's `decNumber`: base-256 when the high bit is set (`Err` where node-tar throws: a
/// first byte other than 0x80 or 0xff, or a value past 2^53), else `parseInt` of the text up to
/// its last NUL-to-end run, trimmed.
fn dec_number(bytes: &[u8]) -> Result<Option<f64>, ()> {
    let Some(&first) = bytes.first() else { return Ok(None) };
    if first & 0x80 != 0 {
        let len = bytes.len();
        let mut sum = 0.0f64;
        match first {
            0x80 => {
                for (i, &byte) in bytes.iter().enumerate().skip(1) {
                    if byte != 0 {
                        sum += f64::from(byte) * 256f64.powi((len - i - 1) as i32);
                    }
                }
            }
            0xff => {
                let mut flipped = false;
                for (i, &byte) in bytes.iter().enumerate().rev() {
                    let f = if flipped {
                        0xff ^ byte
                    } else if byte == 0 {
                        0
                    } else {
                        flipped = true;
                        (0xff ^ byte).wrapping_add(1)
                    };
                    if f != 0 {
                        sum -= f64::from(f) * 256f64.powi((len - i - 1) as i32);
                    }
                }
            }
            _ => return Err(()),
        }
        return if sum.abs() <= 9_007_199_254_740_991.0 { Ok(Some(sum)) } else { Err(()) };
    }
    let text = String::from_utf8_lossy(bytes);
    // `.replace(/\0.*$/, '')`: the first NUL after which no line break follows.
    let cut = text.char_indices().find(|&(at, c)| c == '\0' && !text[at..].contains(is_line_terminator));
    let text = cut.map_or(&*text, |(at, _)| &text[..at]);
    Ok(js_parse_int(text.trim_matches(is_js_space), 8))
}

/// JavaScript's ToInt32, which `&` applies.
fn js_to_int32(value: f64) -> i64 {
    if !value.is_finite() {
        return 0;
    }
    let wrapped = value.trunc().rem_euclid(4_294_967_296.0);
    let wrapped = wrapped as i64;
    if wrapped >= 1 << 31 { wrapped - (1 << 32) } else { wrapped }
}

/// The fields of a pax header body that change what node-tar reads.
#[derive(Debug, Default, PartialEq, Eq)]
struct PaxRecords {
    path: Option<String>,
    linkpath: Option<String>,
    size: Option<u64>,
    /// The `path` record holds non-ASCII bytes.
    path_non_ascii: bool,
    oddities: Vec<String>,
}

/// The pax keys publishers write, which node-tar reads as other readers do (or ignores, as they
/// do, for the metadata it does not use).
const PAX_KEYS: &[&str] = &[
    "path",
    "linkpath",
    "size",
    "mtime",
    "atime",
    "ctime",
    "uid",
    "gid",
    "uname",
    "gname",
    "charset",
    "comment",
    "SCHILY.dev",
    "SCHILY.ino",
    "SCHILY.nlink",
];

/// Reads a pax body as node-tar's `parseKV` does, noting where a POSIX reader would differ.
///
/// node-tar splits the body at every newline and keeps a line only when its length prefix
/// matches (so a value holding a newline makes records of its own), lets the last of repeated
/// keys win, cuts values at a NUL, and ignores keys it does not know (`mode`, `type`,
/// `GNU.sparse.*`, …) that other readers honour. It also decodes the body in the chunks zlib
/// hands it, so a multi-byte character cut by a chunk boundary breaks its record's length and
/// the record is dropped: a `path` with non-ASCII bytes is only as good as the header's own path.
fn read_pax(body: &[u8], global: bool) -> Result<PaxRecords, HeaderProblem> {
    let mut records = PaxRecords::default();
    let mut seen = std::collections::BTreeSet::new();
    // The body as POSIX defines it: `LEN KEY=VALUE\n` records, nothing else.
    let mut at = 0;
    while at < body.len() {
        let Some(record) = posix_record(&body[at..]) else {
            records
                .oddities
                .push(format!("the pax header has a malformed record at byte {at}: readers split it differently"));
            break;
        };
        let key = String::from_utf8_lossy(record.key).into_owned();
        if record.value.contains(&b'\n') || record.value.contains(&0) {
            records.oddities.push(format!("the pax record {key:?} holds a newline or NUL, where npm cuts it"));
        }
        if !PAX_KEYS.contains(&key.as_str()) {
            records.oddities.push(format!("the pax key {key:?}: npm ignores it, other readers may honour it"));
        }
        if !seen.insert(key.clone()) {
            records
                .oddities
                .push(format!("the pax key {key:?} is repeated: npm keeps the last, other readers the first"));
        }
        at += record.len;
    }
    if std::str::from_utf8(body).is_err() {
        records.oddities.push("the pax header is not UTF-8: npm drops the records that are not".into());
    }
    // node-tar's reading.
    let text = String::from_utf8_lossy(body);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    for line in text.split('\n') {
        let Some(length) = js_parse_int(line, 10) else { continue };
        if length != (line.len() + 1) as f64 {
            continue;
        }
        // `line.slice((n + ' ').length)`
        let skip = format!("{length}").len() + 1;
        let rest: String = line.chars().skip(skip).collect();
        let (raw_key, raw_value) = rest.split_once('=').unwrap_or((&rest, ""));
        if raw_key.is_empty() {
            continue;
        }
        let key = ["dev", "ino", "nlink"]
            .iter()
            .find(|name| raw_key.strip_prefix("SCHILY.").is_some_and(|rest| rest.starts_with(*name)))
            .map_or(raw_key.to_string(), |_| raw_key["SCHILY.".len()..].to_string());
        let value = dec_string(raw_value.as_bytes());
        match key.as_str() {
            "path" | "linkpath" if global => {
                if key == "linkpath" {
                    return Err(HeaderProblem::GlobalKey { key });
                }
                records.oddities.push("a global pax path, which npm ignores".into());
            }
            "size" if global => return Err(HeaderProblem::GlobalKey { key }),
            // node-tar 6 keeps a NUL and reads an empty value as none; 7 cuts at the NUL and
            // reads an empty path as an empty one.
            "path" | "linkpath" if raw_value.is_empty() || raw_value.contains('\0') => {
                return Err(HeaderProblem::PaxValue { key, value: raw_value.to_string() });
            }
            "path" => {
                records.path_non_ascii = !raw_value.is_ascii();
                records.path = Some(value);
            }
            "linkpath" => records.linkpath = Some(value),
            // node-tar 6 reads a size only when it is all digits, and 0 as none; 7 reads any
            // JavaScript number.
            "size" => {
                if raw_value.is_empty()
                    || !raw_value.bytes().all(|b| b.is_ascii_digit())
                    || raw_value.bytes().all(|b| b == b'0')
                {
                    return Err(HeaderProblem::PaxValue { key, value: raw_value.to_string() });
                }
                records.size = Some(raw_value.parse().unwrap_or(u64::MAX));
            }
            _ => {}
        }
    }
    Ok(records)
}

struct PosixRecord<'a> {
    len: usize,
    key: &'a [u8],
    value: &'a [u8],
}

/// One `LEN KEY=VALUE\n` record at the start of `bytes`, with a length node-tar reads as written
/// (no leading zeros or signs).
fn posix_record(bytes: &[u8]) -> Option<PosixRecord<'_>> {
    let digits = bytes.iter().take_while(|byte| byte.is_ascii_digit()).count();
    if digits == 0 || bytes[0] == b'0' || bytes.get(digits) != Some(&b' ') {
        return None;
    }
    let len: usize = std::str::from_utf8(&bytes[..digits]).ok()?.parse().ok()?;
    let record = bytes.get(digits + 1..len)?;
    let (body, newline) = record.split_at(record.len().checked_sub(1)?);
    let equals = body.iter().position(|&byte| byte == b'=')?;
    (newline == b"\n" && equals > 0).then_some(PosixRecord { len, key: &body[..equals], value: &body[equals + 1..] })
}

/// A GNU long name (`L`, `K`) as node-tar reads it: the text up to a NUL.
fn read_long_name(body: &[u8]) -> (String, Vec<String>) {
    let mut oddities = Vec::new();
    if !canonical_string(body) {
        oddities.push("the GNU long name has bytes after its end".into());
    }
    if !body.is_ascii() {
        // node-tar decodes it in zlib's chunks: a character cut by a chunk boundary becomes
        // U+FFFD, so npm may install the entry elsewhere.
        oddities.push("the GNU long name holds non-ASCII bytes, which npm may decode wrongly".into());
    }
    (dec_string(body), oddities)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_dec_number(field: &[u8], expected: Result<Option<f64>, ()>) {
        assert_eq!(dec_number(field), expected, "{:?}", String::from_utf8_lossy(field));
    }

    #[test]
    fn numbers_as_node_tar_reads_them() {
        check_dec_number(b"000644 \0", Ok(Some(420.0)));
        check_dec_number(b"0000644\0", Ok(Some(420.0)));
        check_dec_number(b"  644\0\0\0", Ok(Some(420.0)));
        check_dec_number(b"\0\0\0\0\0\0\0\0", Ok(None));
        check_dec_number(b"        ", Ok(None));
        // parseInt stops at the first non-octal character.
        check_dec_number(b"0644abc\0", Ok(Some(420.0)));
        check_dec_number(b"0x1f\0\0\0\0", Ok(Some(0.0)));
        check_dec_number(b"8\0\0\0\0\0\0\0", Ok(None));
        check_dec_number(b"-12\0\0\0\0\0", Ok(Some(-10.0)));
        // A leading NUL hides everything: the cut runs from the first NUL to the end.
        check_dec_number(b"\0 644\0\0\0", Ok(None));
        // …unless a line break follows it, which `.` does not match.
        check_dec_number(b"\0\n644\0\0\0", Ok(None));
        check_dec_number(b" \n 17\0\0\0", Ok(Some(15.0)));
        // Base-256.
        check_dec_number(&[0x80, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0, 0, 0x10], Ok(Some(2f64.powi(32) + 16.0)));
        check_dec_number(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], Ok(Some(-2.0)));
        check_dec_number(&[0x81, 0, 0, 0, 0, 0, 0, 0], Err(()));
        check_dec_number(&[0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], Err(()));
    }

    #[test]
    fn canonical_numbers_read_as_node_tar_reads_them() {
        for field in [&b"000644 \0"[..], b"0000644\0", b"  644\0\0\0", b"0000755 ", b"00000644", b"7\0 \0 \0 \0"] {
            let Number::Octal(value) = canonical_number(field, false) else { panic!("{field:?}") };
            assert_eq!(dec_number(field), Ok(Some(value as f64)), "{field:?}");
        }
        for field in
            [&b"0644abc\0"[..], b"0x1f\0\0\0\0", b"\0 644\0\0\0", b"-12\0\0\0\0\0", b"64 4\0\0\0\0", b"\t644\0\0\0\0"]
        {
            assert_eq!(canonical_number(field, false), Number::Other, "{field:?}");
        }
        assert_eq!(canonical_number(b"\0\0 \0", false), Number::Blank);
        // A checksum that fills its field runs on into the type flag for node-tar.
        assert_eq!(canonical_number(b"00012345", true), Number::Other);
        assert_eq!(canonical_number(b"012345\0 ", true), Number::Octal(0o12345));
    }

    #[test]
    fn strings_as_node_tar_reads_them() {
        assert_eq!(dec_string(b"package/a.js\0\0\0"), "package/a.js");
        assert_eq!(dec_string(b"package/a.js\0junk"), "package/a.js");
        assert_eq!(dec_string(b"package/a\0junk\nb.js"), "package/a\nb.js");
        assert_eq!(dec_string(b"caf\xe9"), "caf\u{fffd}");
        assert!(canonical_string(b"package/a.js\0\0"));
        assert!(canonical_string(b"abc"));
        assert!(!canonical_string(b"abc\0d"));
        assert!(!canonical_string(b"caf\xe9\0"));
    }

    #[test]
    fn parse_int_is_javascripts() {
        for (text, radix, expected) in [
            ("22 path=x", 10, Some(22.0)),
            ("  +7", 10, Some(7.0)),
            ("\u{feff}9", 10, Some(9.0)),
            ("\u{85}9", 10, None),
            ("x", 10, None),
            ("", 8, None),
            ("1e3", 10, Some(1.0)),
        ] {
            assert_eq!(js_parse_int(text, radix), expected, "{text:?}");
        }
        assert_eq!(js_to_int32(f64::from(0o104755)), 0o104755);
        assert_eq!(js_to_int32(-1.0), -1);
        assert_eq!(js_to_int32(4_294_967_296.0 + 5.0), 5);
    }

    /// A header block: name, size, type, link name, with a valid checksum.
    fn block(name: &str, size: usize, type_flag: u8, linkname: &str) -> Vec<u8> {
        let mut block = vec![0u8; BLOCK];
        block[..name.len()].copy_from_slice(name.as_bytes());
        block[100..108].copy_from_slice(b"000644 \0");
        block[124..136].copy_from_slice(format!("{size:011o} ").as_bytes());
        block[136..148].copy_from_slice(b"03560116604 ");
        block[156] = type_flag;
        block[157..157 + linkname.len()].copy_from_slice(linkname.as_bytes());
        block[257..265].copy_from_slice(POSIX_MAGIC);
        resum(&mut block);
        block
    }

    fn resum(block: &mut [u8]) {
        block[148..156].copy_from_slice(b"        ");
        let sum: u32 = block[..BLOCK].iter().map(|&byte| u32::from(byte)).sum();
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    fn entry(name: &str, data: &[u8], type_flag: u8) -> Vec<u8> {
        let mut out = block(name, data.len(), type_flag, "");
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(BLOCK), 0);
        out
    }

    fn archive(parts: &[Vec<u8>]) -> Vec<u8> {
        let mut tar = parts.concat();
        tar.extend_from_slice(&[0; 1024]);
        tar
    }

    /// The paths node-tar emits, and the codes of the notes.
    fn read(tar: &[u8]) -> (Vec<String>, Vec<Code>) {
        let parsed = parse(tar).unwrap();
        (
            parsed.entries.into_iter().map(|entry| entry.path).collect(),
            parsed.notes.into_iter().map(|note| note.code).collect(),
        )
    }

    #[test]
    fn canonical_archives_read_silently() {
        let tar = archive(&[
            entry("package/", b"", b'5'),
            entry("package/a.js", b"a", b'0'),
            entry("PaxHeader", record("path", "package/é.js").as_bytes(), b'x'),
            entry("PaxHeader", b"e", b'0'),
        ]);
        assert_eq!(read(&tar), (vec!["package/".into(), "package/a.js".into(), "package/é.js".into()], vec![]));
        let parsed = parse(&tar).unwrap();
        assert!(parsed.ended);
        assert_eq!(&tar[parsed.entries[2].data.clone()], b"e");
    }

    #[test]
    fn a_directory_s_data_is_read_as_entries() {
        let hidden = entry("package/evil.js", b"evil", b'0');
        let mut directory = block("package/lib/", hidden.len(), b'5', "");
        directory.extend_from_slice(&hidden);
        assert_eq!(
            read(&archive(&[directory])),
            (vec!["package/lib/".into(), "package/evil.js".into()], vec![Code::TarDirectoryData])
        );
        // A regular file whose name ends in `/` is a directory to node-tar.
        let mut slash = block("package/lib/", hidden.len(), b'0', "");
        slash.extend_from_slice(&hidden);
        let (paths, codes) = read(&archive(&[slash]));
        assert_eq!(paths, ["package/lib/", "package/evil.js"]);
        assert_eq!(codes, [Code::TarHeaderAmbiguous, Code::TarDirectoryData]);
    }

    #[test]
    fn skipped_headers_leave_their_data_to_be_read_as_headers() {
        let hidden = entry("package/evil.js", b"evil", b'0');
        let mut linked = block("package/index.js", hidden.len(), b'0', "x");
        linked.extend_from_slice(&hidden);
        assert_eq!(read(&archive(&[linked])), (vec!["package/evil.js".into()], vec![Code::TarHeaderSkipped]));
        let mut bad = block("package/index.js", hidden.len(), b'0', "");
        bad[148] = b'7';
        bad.extend_from_slice(&hidden);
        assert_eq!(read(&archive(&[bad])), (vec!["package/evil.js".into()], vec![Code::TarHeaderSkipped]));
    }

    #[test]
    fn the_last_extended_path_wins_and_is_noted() {
        let body = format!("{}{}", record("path", "package/a.js"), record("path", "package/b.js"));
        let (paths, codes) =
            read(&archive(&[entry("PaxHeader", body.as_bytes(), b'x'), entry("package/z", b"z", b'0')]));
        assert_eq!((paths, codes), (vec!["package/b.js".into()], vec![Code::TarHeaderAmbiguous]));
        let (paths, codes) = read(&archive(&[
            entry("././@LongLink", b"package/long.js\0", b'L'),
            entry("PaxHeader", record("path", "package/pax.js").as_bytes(), b'x'),
            entry("package/z", b"z", b'0'),
        ]));
        assert_eq!((paths, codes), (vec!["package/pax.js".into()], vec![Code::TarHeaderAmbiguous]));
    }

    #[test]
    fn what_npm_releases_read_differently_is_an_error() {
        let size_then_long_name = archive(&[
            entry("PaxHeader", record("size", "512").as_bytes(), b'x'),
            entry("././@LongLink", b"package/a.js\0", b'L'),
            entry("package/a.js", b"a", b'0'),
        ]);
        assert!(matches!(
            parse(&size_then_long_name),
            Err(TarballError::Header { problem: HeaderProblem::SizeBeforeExtendedHeader, .. })
        ));
        let pax_with_link = archive(&[block("PaxHeader", 0, b'x', "x"), entry("package/a.js", b"a", b'0')]);
        assert!(matches!(
            parse(&pax_with_link),
            Err(TarballError::Header { problem: HeaderProblem::LinkNameOnExtendedHeader, .. })
        ));
    }

    #[test]
    fn declared_sizes_are_never_allocated() {
        // A sparse entry claiming 1.5 GB, and a file claiming more data than the archive holds.
        let mut sparse = block("package/sparse.bin", 512, b'S', "");
        sparse[257..265].copy_from_slice(GNU_MAGIC);
        sparse[483..495].copy_from_slice(b"13132000000\0");
        resum(&mut sparse);
        sparse.extend_from_slice(&[0x41; 512]);
        let parsed = parse(&archive(&[sparse])).unwrap();
        assert_eq!(parsed.entries[0].data.len(), 512);
        let huge = block("package/big.js", 0o77777777777, b'0', "");
        assert!(matches!(parse(&archive(&[huge])), Err(TarballError::Truncated { .. })));
    }

    #[test]
    fn no_byte_of_an_archive_makes_reading_panic() {
        // Every kind of header, each byte set to values that matter to some parser path.
        let tar = archive(&[
            entry("package/", b"", b'5'),
            entry("PaxHeader", format!("{}{}", record("path", "package/é.js"), record("size", "3")).as_bytes(), b'x'),
            entry("package/x", b"abc", b'0'),
            entry("././@LongLink", b"package/long.js\0", b'L'),
            entry("package/l", b"l", b'0'),
            entry("pax_global_header", record("comment", "c").as_bytes(), b'g'),
            entry("package/s", b"s", b'S'),
        ]);
        for at in 0..tar.len() {
            for value in [0x00, b' ', b'0', b'7', b'/', b'\n', b'=', 0x80, 0xff, 0xc3] {
                let mut mutated = tar.clone();
                mutated[at] = value;
                let _ = parse(&mutated);
                let _ = parse(&mutated[..at]);
            }
        }
    }

    fn record(key: &str, value: &str) -> String {
        let body = format!(" {key}={value}\n");
        let mut len = body.len() + 1;
        while format!("{len}{body}").len() != len {
            len += 1;
        }
        format!("{len}{body}")
    }

    #[test]
    fn pax_records_as_node_tar_reads_them() {
        // What npm pack writes: silent.
        let body = format!("{}{}{}", record("path", "package/é.js"), record("mtime", "499162500"), record("size", "2"));
        let read = read_pax(body.as_bytes(), false).unwrap();
        assert_eq!(read.path.as_deref(), Some("package/é.js"));
        assert_eq!(read.size, Some(2));
        assert!(read.path_non_ascii);
        assert!(read.oddities.is_empty(), "{:?}", read.oddities);

        // Repeated: the last wins, and it is noted.
        let body = format!("{}{}", record("path", "package/a.js"), record("path", "package/b.js"));
        let read = read_pax(body.as_bytes(), false).unwrap();
        assert_eq!(read.path.as_deref(), Some("package/b.js"));
        assert!(read.oddities.iter().any(|o| o.contains("repeated")), "{:?}", read.oddities);

        // A newline in a value: node-tar sees the record inside it.
        let inner = record("path", "package/evil.js");
        let body = record("comment", &format!("x\n{}", inner.trim_end()));
        let read = read_pax(body.as_bytes(), false).unwrap();
        assert_eq!(read.path.as_deref(), Some("package/evil.js"));
        assert!(!read.oddities.is_empty());

        // Keys node-tar ignores: ignored, and noted.
        let read = read_pax(record("mode", "2541").as_bytes(), false).unwrap();
        assert_eq!(read, PaxRecords { oddities: read.oddities.clone(), ..PaxRecords::default() });
        assert!(!read.oddities.is_empty());

        // A length with a leading zero: node-tar slices the key wrongly and drops the record.
        let read = read_pax(b"017 path=package/x\n", false).unwrap();
        assert_eq!(read.path, None);
        assert!(!read.oddities.is_empty());

        // Values node-tar releases read differently are errors.
        for (key, value) in [("path", ""), ("size", "0"), ("size", "0x10"), ("size", " 12"), ("path", "a\0b")] {
            let error = read_pax(record(key, value).as_bytes(), false).unwrap_err();
            assert!(matches!(error, HeaderProblem::PaxValue { .. }), "{key}={value:?}: {error}");
        }
        assert!(matches!(read_pax(record("size", "12").as_bytes(), true), Err(HeaderProblem::GlobalKey { .. })));
        let read = read_pax(record("comment", "a commit").as_bytes(), true).unwrap();
        assert!(read.oddities.is_empty());
    }
}
