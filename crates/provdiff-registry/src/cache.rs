//! A content-addressed cache under a directory the caller chooses.
//!
//! - `tarballs/sha512/XX/HEX.tgz`: tarballs by their SHA-512, hashed again on every read.
//! - `attestations/NAME@VERSION/HEX.entry`: the registry's attestations response for a version
//!   whose tarball has SHA-512 `HEX`, written only once the caller accepted it (its provenance
//!   verified); a response nobody accepted is never kept, so the next run asks again.
//! - `attestations/NAME@VERSION/HEX.absent-URLHASH.entry`: that the attestations URL (a registry's)
//!   answered 404 for that version, for offline runs only: online, a 404 is always asked again, and
//!   one registry's 404 never stands for another's answer.
//! - `packuments/KEY.entry`: packuments by URL and `Accept`, with their `ETag`/`Last-Modified`
//!   and fetch time.
//!
//! Every file is written to a temporary file in its final directory and renamed into place, so
//! a reader (in this process or another) sees a whole entry or none; two writers of the same
//! entry both write whole files and the last rename wins. `.entry` files start with a JSON
//! header line naming their key and the SHA-512 and length of the body that follows; an entry
//! whose header or body does not check out is removed and treated as absent, as is a tarball
//! whose bytes no longer hash to its name. Temporary files left by a crash start with `.tmp`
//! and are never read.
//!
//! File I/O here is synchronous, also when called from the async client: entries are local and
//! a command-line run has nothing else to schedule meanwhile. There is no eviction.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use provdiff_core::Sha512;
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::http::Sink;

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache: cannot create {}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cache: cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cache: cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The cache. Cheap to clone; holds only its root.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

/// How a cache lookup went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    Hit(T),
    Miss,
    /// An entry was there but failed its check; it has been removed.
    Corrupt,
}

/// A cached packument.
#[derive(Debug, Clone)]
pub(crate) struct CachedDocument {
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub fetched: SystemTime,
}

/// A cached attestations response that the caller accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AcceptedAttestations {
    /// Where it was fetched from.
    pub url: String,
    pub body: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    key: String,
    sha512: String,
    len: u64,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    absent: bool,
    /// An attestations response the caller accepted. Entries an older provdiff wrote lack it:
    /// it cached every response, accepted or not, so those are not trusted.
    #[serde(default)]
    accepted: bool,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    last_modified: Option<String>,
    /// Seconds since the Unix epoch.
    #[serde(default)]
    fetched: u64,
}

impl Cache {
    /// A cache rooted at `root`, created if needed.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, CacheError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|source| CacheError::CreateDir { path: root.clone(), source })?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the tarball with this digest lives (whether or not it is there).
    pub fn tarball_path(&self, sha512: &Sha512) -> PathBuf {
        let hex = sha512.to_hex();
        self.root.join("tarballs").join("sha512").join(&hex[..2]).join(format!("{hex}.tgz"))
    }

    /// The tarball with this digest, hashed and compared before it is returned.
    pub fn read_tarball(&self, sha512: &Sha512) -> Result<Lookup<Vec<u8>>, CacheError> {
        let path = self.tarball_path(sha512);
        let Some(bytes) = read_if_present(&path)? else { return Ok(Lookup::Miss) };
        if Sha512::digest(&bytes) != *sha512 {
            remove(&path);
            return Ok(Lookup::Corrupt);
        }
        Ok(Lookup::Hit(bytes))
    }

    /// A writer for a download expected to hash to one of `expected`; see [`TarballWriter`].
    pub(crate) fn tarball_writer(&self, expected: &[Sha512]) -> Result<TarballWriter, CacheError> {
        let dir = expected.first().map_or_else(|| self.root.join("tarballs"), |sha| parent(&self.tarball_path(sha)));
        let file = temp_in(&dir)?;
        Ok(TarballWriter { file, hasher: sha2::Sha512::new(), len: 0 })
    }

    /// Moves a completed download into place. Its digest must be one the writer was made for.
    pub(crate) fn commit_tarball(&self, writer: TarballWriter, sha512: &Sha512) -> Result<PathBuf, CacheError> {
        let path = self.tarball_path(sha512);
        let file = writer.file;
        persist(file, &path)?;
        Ok(path)
    }

    fn attestations_dir(&self, name: &str, version: &str) -> PathBuf {
        let dir = format!("{}@{version}", name.replacen('/', "%2f", 1));
        self.root.join("attestations").join(dir)
    }

    fn attestations_path(&self, name: &str, version: &str, sha512: &Sha512) -> PathBuf {
        self.attestations_dir(name, version).join(format!("{}.entry", sha512.to_hex()))
    }

    fn absence_path(&self, name: &str, version: &str, sha512: &Sha512, url: &str) -> PathBuf {
        let url_hash = Sha512::digest(url.as_bytes()).to_hex();
        self.attestations_dir(name, version).join(format!("{}.absent-{}.entry", sha512.to_hex(), &url_hash[..32]))
    }

    /// The attestations response accepted for `name@version` with this tarball digest.
    pub(crate) fn read_attestations(
        &self,
        name: &str,
        version: &str,
        sha512: &Sha512,
    ) -> Result<Lookup<AcceptedAttestations>, CacheError> {
        let path = self.attestations_path(name, version, sha512);
        let key = format!("{name}@{version} {}", sha512.to_hex());
        Ok(match read_entry(&path, &key)? {
            Lookup::Hit((header, body)) => match (header.absent, header.accepted, header.url) {
                (false, true, Some(url)) => Lookup::Hit(AcceptedAttestations { url, body }),
                // What an older provdiff kept without asking the caller (any response, a 404 for
                // every registry at once): not trusted.
                _ => {
                    remove(&path);
                    Lookup::Corrupt
                }
            },
            Lookup::Miss => Lookup::Miss,
            Lookup::Corrupt => Lookup::Corrupt,
        })
    }

    /// Keeps an attestations response the caller accepted.
    pub(crate) fn write_attestations(
        &self,
        name: &str,
        version: &str,
        sha512: &Sha512,
        entry: &AcceptedAttestations,
    ) -> Result<(), CacheError> {
        let path = self.attestations_path(name, version, sha512);
        let key = format!("{name}@{version} {}", sha512.to_hex());
        let header = Header { accepted: true, ..attestations_header(key, &entry.url, false) };
        write_entry(&path, header, &entry.body)
    }

    /// Whether `url` answered 404 for `name@version` with this tarball digest.
    pub(crate) fn read_absence(
        &self,
        name: &str,
        version: &str,
        sha512: &Sha512,
        url: &str,
    ) -> Result<Lookup<()>, CacheError> {
        let path = self.absence_path(name, version, sha512, url);
        let key = format!("{name}@{version} {} absent at {url}", sha512.to_hex());
        Ok(match read_entry(&path, &key)? {
            Lookup::Hit((header, _)) if header.absent && header.url.as_deref() == Some(url) => Lookup::Hit(()),
            Lookup::Hit(_) => {
                remove(&path);
                Lookup::Corrupt
            }
            Lookup::Miss => Lookup::Miss,
            Lookup::Corrupt => Lookup::Corrupt,
        })
    }

    /// Records that `url` answered 404 for `name@version` with this tarball digest.
    pub(crate) fn write_absence(
        &self,
        name: &str,
        version: &str,
        sha512: &Sha512,
        url: &str,
    ) -> Result<(), CacheError> {
        let path = self.absence_path(name, version, sha512, url);
        let key = format!("{name}@{version} {} absent at {url}", sha512.to_hex());
        write_entry(&path, attestations_header(key, url, true), &[])
    }

    fn packument_path(&self, key: &str) -> PathBuf {
        let hex = Sha512::digest(key.as_bytes()).to_hex();
        self.root.join("packuments").join(format!("{}.entry", &hex[..64]))
    }

    pub(crate) fn read_packument(&self, url: &str, accept: &str) -> Result<Lookup<CachedDocument>, CacheError> {
        let key = format!("{accept} {url}");
        Ok(match read_entry(&self.packument_path(&key), &key)? {
            Lookup::Hit((header, body)) => Lookup::Hit(CachedDocument {
                body,
                etag: header.etag,
                last_modified: header.last_modified,
                fetched: SystemTime::UNIX_EPOCH + Duration::from_secs(header.fetched),
            }),
            Lookup::Miss => Lookup::Miss,
            Lookup::Corrupt => Lookup::Corrupt,
        })
    }

    pub(crate) fn write_packument(&self, url: &str, accept: &str, document: &CachedDocument) -> Result<(), CacheError> {
        let key = format!("{accept} {url}");
        let fetched = document.fetched.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let header = Header {
            key: key.clone(),
            sha512: String::new(),
            len: 0,
            url: Some(url.to_string()),
            absent: false,
            accepted: false,
            etag: document.etag.clone(),
            last_modified: document.last_modified.clone(),
            fetched,
        };
        write_entry(&self.packument_path(&key), header, &document.body)
    }
}

fn attestations_header(key: String, url: &str, absent: bool) -> Header {
    Header {
        key,
        sha512: String::new(),
        len: 0,
        url: Some(url.to_string()),
        absent,
        accepted: false,
        etag: None,
        last_modified: None,
        fetched: now_secs(),
    }
}

/// A tarball download in progress: a temporary file in the tarball's final directory and the
/// running SHA-512 of what was written. Dropped without [`Cache::commit_tarball`], the file is
/// deleted; nothing under a tarball's final name is ever partial.
#[derive(Debug)]
pub(crate) struct TarballWriter {
    file: tempfile::NamedTempFile,
    hasher: sha2::Sha512,
    len: u64,
}

impl TarballWriter {
    /// The SHA-512 of everything written so far.
    pub fn digest(&self) -> Sha512 {
        Sha512::from_bytes(self.hasher.clone().finalize().into())
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// The written bytes, read back from the temporary file.
    pub fn read_back(&self) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.file.path())
    }
}

impl Sink for TarballWriter {
    fn reset(&mut self) -> std::io::Result<()> {
        self.file.as_file_mut().set_len(0)?;
        std::io::Seek::rewind(self.file.as_file_mut())?;
        self.hasher = sha2::Sha512::new();
        self.len = 0;
        Ok(())
    }

    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.file.as_file_mut().write_all(chunk)?;
        self.hasher.update(chunk);
        self.len += chunk.len() as u64;
        Ok(())
    }
}

fn parent(path: &Path) -> PathBuf {
    path.parent().map_or_else(PathBuf::new, Path::to_path_buf)
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn temp_in(dir: &Path) -> Result<tempfile::NamedTempFile, CacheError> {
    std::fs::create_dir_all(dir).map_err(|source| CacheError::CreateDir { path: dir.to_path_buf(), source })?;
    tempfile::Builder::new()
        .prefix(".tmp")
        .tempfile_in(dir)
        .map_err(|source| CacheError::Write { path: dir.to_path_buf(), source })
}

fn persist(file: tempfile::NamedTempFile, path: &Path) -> Result<(), CacheError> {
    file.as_file().sync_all().map_err(|source| CacheError::Write { path: path.to_path_buf(), source })?;
    file.persist(path).map_err(|error| CacheError::Write { path: path.to_path_buf(), source: error.error })?;
    Ok(())
}

fn read_if_present(path: &Path) -> Result<Option<Vec<u8>>, CacheError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CacheError::Read { path: path.to_path_buf(), source }),
    }
}

/// Best effort: a corrupt entry that cannot be removed is still never returned.
fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

fn write_entry(path: &Path, mut header: Header, body: &[u8]) -> Result<(), CacheError> {
    header.sha512 = Sha512::digest(body).to_hex();
    header.len = body.len() as u64;
    let error = |source| CacheError::Write { path: path.to_path_buf(), source };
    let mut line = serde_json::to_vec(&header).map_err(|e| error(std::io::Error::other(e)))?;
    line.push(b'\n');
    let mut file = temp_in(&parent(path))?;
    file.write_all(&line).map_err(error)?;
    file.write_all(body).map_err(error)?;
    persist(file, path)
}

fn read_entry(path: &Path, key: &str) -> Result<Lookup<(Header, Vec<u8>)>, CacheError> {
    let Some(bytes) = read_if_present(path)? else { return Ok(Lookup::Miss) };
    let parsed = bytes.iter().position(|&b| b == b'\n').and_then(|newline| {
        let header: Header = serde_json::from_slice(&bytes[..newline]).ok()?;
        let body = &bytes[newline + 1..];
        let valid = header.key == key
            && header.len == body.len() as u64
            && Sha512::from_hex(&header.sha512).is_ok_and(|sha| sha == Sha512::digest(body));
        valid.then(|| (header, body.to_vec()))
    });
    match parsed {
        Some(entry) => Ok(Lookup::Hit(entry)),
        None => {
            remove(path);
            Ok(Lookup::Corrupt)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_damage_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path()).unwrap();
        let sha = Sha512::digest(b"tgz");
        let entry =
            AcceptedAttestations { url: "http://127.0.0.1:9/x".into(), body: b"{\"attestations\":[]}".to_vec() };
        cache.write_attestations("@s/n", "1.0.0", &sha, &entry).unwrap();
        assert_eq!(cache.read_attestations("@s/n", "1.0.0", &sha).unwrap(), Lookup::Hit(entry));
        assert_eq!(cache.read_attestations("@s/n", "1.0.1", &sha).unwrap(), Lookup::Miss);

        // A 404 is kept per attestations URL, apart from accepted responses.
        let (mirror, registry) = ("http://127.0.0.1:9/a", "http://127.0.0.1:8/a");
        cache.write_absence("@s/n", "1.0.1", &sha, mirror).unwrap();
        assert_eq!(cache.read_absence("@s/n", "1.0.1", &sha, mirror).unwrap(), Lookup::Hit(()));
        assert_eq!(cache.read_absence("@s/n", "1.0.1", &sha, registry).unwrap(), Lookup::Miss);
        assert_eq!(cache.read_attestations("@s/n", "1.0.1", &sha).unwrap(), Lookup::Miss);

        // A truncated entry (as a crash mid-write without the rename would leave) is refused and removed.
        let path = cache.attestations_path("@s/n", "1.0.0", &sha);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert_eq!(cache.read_attestations("@s/n", "1.0.0", &sha).unwrap(), Lookup::Corrupt);
        assert!(!path.exists());
    }

    #[test]
    fn what_an_older_provdiff_kept_without_asking_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path()).unwrap();
        let sha = Sha512::digest(b"tgz");
        let path = cache.attestations_path("n", "1.0.0", &sha);
        let key = format!("n@1.0.0 {}", sha.to_hex());
        // A 404 kept for every registry at once, and a response kept whether accepted or not, as
        // they were written before (no `accepted` field).
        for (absent, body) in [(true, &b""[..]), (false, &b"{\"attestations\":[]}"[..])] {
            let mut line = serde_json::json!({
                "key": key, "sha512": Sha512::digest(body).to_hex(), "len": body.len(),
                "url": "http://127.0.0.1:9/a", "absent": absent, "fetched": 0
            })
            .to_string()
            .into_bytes();
            line.push(b'\n');
            line.extend_from_slice(body);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, line).unwrap();
            assert_eq!(cache.read_attestations("n", "1.0.0", &sha).unwrap(), Lookup::Corrupt);
            assert!(!path.exists());
        }
    }

    #[test]
    fn tarballs_are_checked_on_read() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path()).unwrap();
        let sha = Sha512::digest(b"tgz");
        let mut writer = cache.tarball_writer(&[sha]).unwrap();
        writer.write(b"tg").unwrap();
        writer.reset().unwrap();
        writer.write(b"tgz").unwrap();
        assert_eq!(writer.digest(), sha);
        let path = cache.commit_tarball(writer, &sha).unwrap();
        assert_eq!(cache.read_tarball(&sha).unwrap(), Lookup::Hit(b"tgz".to_vec()));
        std::fs::write(&path, b"tampered").unwrap();
        assert_eq!(cache.read_tarball(&sha).unwrap(), Lookup::Corrupt);
        assert_eq!(cache.read_tarball(&sha).unwrap(), Lookup::Miss);
        // Nothing but the (now removed) entry was ever in the directory.
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 0);
    }
}
