//! The client: one call fetches everything `provdiff check NAME@VERSION` needs.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use provdiff_attest::NpmKey;
use provdiff_core::Sha512;
use reqwest::Url;
use serde_json::Value;

use crate::cache::{AcceptedAttestations, Cache, CacheError, CachedDocument, Lookup};
use crate::config::{ConfigSource, RegistryConfig};
use crate::http::{FetchError, Get, Http, HttpOptions, MemorySink, display_url};
use crate::packument::{Dist, Lack, VersionEntry, version_entry};
use crate::signatures::{SignatureReport, check_signatures};
use crate::spec::{PackageName, PackageSpec};

/// npm's `Accept` for abbreviated ("corgi") packuments, falling back to the full document.
const ABBREVIATED: &str = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";
const FULL: &str = "application/json";

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    pub http: HttpOptions,
    /// Read only the cache; report what is missing instead of fetching it.
    pub offline: bool,
    /// How long a cached packument is used without asking the registry; after that it is
    /// revalidated with `If-None-Match`/`If-Modified-Since`.
    pub packument_ttl: Duration,
    /// npm's registry keys; those of usage `npm:signatures` check `dist.signatures`.
    pub npm_keys: Vec<NpmKey>,
    /// The largest tarball accepted.
    pub max_tarball_bytes: u64,
    /// The largest packument or attestations response accepted.
    pub max_document_bytes: u64,
    /// Told how much of a tarball download has arrived.
    pub tarball_progress: Option<provdiff_core::ProgressSink>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            http: HttpOptions::default(),
            offline: false,
            packument_ttl: Duration::from_secs(300),
            npm_keys: Vec::new(),
            max_tarball_bytes: 1 << 30,
            max_document_bytes: 256 << 20,
            tarball_progress: None,
        }
    }
}

/// Where a piece of data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    Network,
    Cache,
    /// The cached copy, confirmed current by the registry (`304 Not Modified`).
    Revalidated,
}

/// The registry's attestations for a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attestations {
    /// The attestations response (`{"attestations": [...]}`), as the registry sent it.
    Present { url: String, body: Vec<u8> },
    /// The registry answered 404: the version has no attestations. `advertised` says whether
    /// the packument claimed otherwise (`dist.attestations`), which deserves a warning.
    Absent { url: String, advertised: bool },
}

impl Attestations {
    pub fn body(&self) -> Option<&[u8]> {
        match self {
            Attestations::Present { body, .. } => Some(body),
            Attestations::Absent { .. } => None,
        }
    }
}

/// Everything fetched for one version.
#[derive(Debug, Clone)]
pub struct PackageVersion {
    pub spec: PackageSpec,
    /// The registry the version was fetched from (the scope's, or the default).
    pub registry: Url,
    /// The version's object from the packument (`name`, `version`, `dist`, …).
    pub manifest: Value,
    pub dist: Dist,
    /// The publish time, when the full packument was read.
    pub published: Option<Timestamp>,
    /// The tarball's bytes; their SHA-512 is [`PackageVersion::integrity`], which `dist.integrity`
    /// lists.
    pub tarball: Vec<u8>,
    /// The tarball in the cache.
    pub tarball_path: PathBuf,
    pub integrity: Sha512,
    pub attestations: Attestations,
    pub signatures: SignatureReport,
    pub origins: Origins,
}

/// Where each part of a [`PackageVersion`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Origins {
    pub packument: Origin,
    pub tarball: Origin,
    pub attestations: Origin,
}

/// Something offline mode needed and the cache did not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// No cached packument for the package from this registry.
    Packument { name: String, url: String },
    /// The cached packument does not list the version.
    Version { spec: String, url: String },
    /// No cached tarball with this integrity (`corrupt`: there was one, but it failed its check).
    Tarball { spec: String, integrity: String, corrupt: bool },
    /// No cached attestations response for this version and tarball.
    Attestations { spec: String, url: String },
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Packument { name, url } => write!(f, "the packument of {name} ({url})"),
            Missing::Version { spec, url } => write!(f, "{spec} in the cached packument ({url})"),
            Missing::Tarball { spec, integrity, corrupt: false } => write!(f, "the tarball of {spec} ({integrity})"),
            Missing::Tarball { spec, integrity, corrupt: true } => {
                write!(f, "the tarball of {spec} ({integrity}; the cached copy was damaged and removed)")
            }
            Missing::Attestations { spec, url } => write!(f, "the attestations of {spec} ({url})"),
        }
    }
}

fn list(missing: &[Missing]) -> String {
    missing.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the CA file {} (cafile from {origin})", path.display())]
    CaFile {
        path: PathBuf,
        origin: ConfigSource,
        #[source]
        source: std::io::Error,
    },
    #[error("the CA file {} (cafile from {origin}) holds no usable PEM certificate", path.display())]
    CaFilePem {
        path: PathBuf,
        origin: ConfigSource,
        #[source]
        source: Option<reqwest::Error>,
    },
    #[error("cannot set up the HTTP client")]
    HttpClient {
        #[source]
        source: reqwest::Error,
    },
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{name} is not in the registry ({url})")]
    PackageNotFound { name: String, url: String },
    #[error("{spec} is not in the registry: the packument ({url}) has no such version")]
    VersionNotFound { spec: String, url: String },
    #[error("{url}: not valid JSON")]
    InvalidJson {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{url}: {field} of {spec} is {reason}")]
    InvalidPackument { url: String, spec: String, field: &'static str, reason: &'static str },
    #[error(
        "{spec}: the tarball from {url} does not match dist.integrity (expected {expected}, got {actual} over {received} bytes); nothing was kept"
    )]
    IntegrityMismatch { spec: String, url: String, expected: String, actual: String, received: u64 },
    #[error("cannot read back the download of {url}")]
    ReadBack {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("offline, and the cache lacks {}", list(missing))]
    Offline { missing: Vec<Missing> },
}

/// The registry client. See [`Client::package_version`].
#[derive(Debug, Clone)]
pub struct Client {
    config: Arc<RegistryConfig>,
    cache: Cache,
    http: Http,
    options: ClientOptions,
}

impl Client {
    /// A client for the registries `config` names, caching in `cache`.
    pub fn new(config: RegistryConfig, cache: Cache, options: ClientOptions) -> Result<Self, Error> {
        let mut roots = Vec::new();
        if let Some((path, origin)) = config.ca_file() {
            let pem = std::fs::read(&path).map_err(|source| Error::CaFile {
                path: path.clone(),
                origin: origin.clone(),
                source,
            })?;
            roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|source| Error::CaFilePem {
                path: path.clone(),
                origin: origin.clone(),
                source: Some(source),
            })?;
            if roots.is_empty() {
                return Err(Error::CaFilePem { path, origin: origin.clone(), source: None });
            }
        }
        let config = Arc::new(config);
        let http = Http::new(Arc::clone(&config), options.http.clone(), roots)
            .map_err(|source| Error::HttpClient { source })?;
        Ok(Self { config, cache, http, options })
    }

    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Fetches (or, offline, reads from the cache) `spec`'s packument entry, tarball and
    /// attestations, and checks its registry signatures.
    ///
    /// The tarball is hashed while it downloads and compared with `dist.integrity` before it is
    /// kept or returned: a mismatch or a cut-short download is an error and leaves nothing in the
    /// cache. The tarball and the attestations are fetched concurrently. A 404 for the
    /// attestations is [`Attestations::Absent`], not an error. The attestations come from the
    /// cache only if an earlier run accepted them ([`Client::keep_attestations`]). The signature report is data: a
    /// missing or failing registry signature does not fail the call.
    pub async fn package_version(&self, spec: &PackageSpec) -> Result<PackageVersion, Error> {
        let (version, ()) = self.package_version_with(spec, |_, _| async {}).await?;
        Ok(version)
    }

    /// [`Client::package_version`], running `on_attestations` as soon as the attestations are
    /// in, while the tarball may still be downloading: a caller can verify them against
    /// `dist.integrity` and start fetching the attested source meanwhile. Its result is returned
    /// with the version (it is not run when fetching the attestations fails).
    pub async fn package_version_with<T, F, Fut>(
        &self,
        spec: &PackageSpec,
        on_attestations: F,
    ) -> Result<(PackageVersion, T), Error>
    where
        F: FnOnce(&Attestations, &Dist) -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let registry = self.config.registry_for(&spec.name).url.clone();
        let packument_url = packument_url(&registry, &spec.name);
        let (entry, full, packument_origin) = self.version_entry(spec, &packument_url, &registry).await?;

        let attestations_then = async {
            let attestations = self.attestations(spec, &entry.dist, &registry).await?;
            let result = on_attestations(&attestations.0, &entry.dist).await;
            Ok::<_, Error>((attestations, result))
        };
        let (tarball, attestations) = tokio::join!(self.tarball(spec, &entry.dist, &registry), attestations_then);
        let (tarball, (attestations, hook)) = match (tarball, attestations) {
            (Ok(tarball), Ok(attestations)) => (tarball, attestations),
            (Err(Error::Offline { missing: mut first }), Err(Error::Offline { missing: second })) => {
                first.extend(second);
                return Err(Error::Offline { missing: first });
            }
            (Err(error), _) | (_, Err(error)) => return Err(error),
        };
        let (tarball, tarball_path, integrity, tarball_origin) = tarball;
        let (attestations, attestations_origin) = attestations;
        // A response is kept only once the caller accepts it (`keep_attestations`); a 404 is
        // remembered for offline runs against this registry, and asked again online.
        if let (Origin::Network, Attestations::Absent { url, .. }) = (attestations_origin, &attestations) {
            self.cache.write_absence(spec.name.as_str(), &spec.version, &integrity, url)?;
        }

        let (published, publish_time_known) = self.publish_time(spec, &entry, full, &packument_url, &registry).await?;
        let signatures = check_signatures(
            spec.name.as_str(),
            &spec.version,
            &entry.dist.integrity,
            &entry.dist.signatures,
            published,
            publish_time_known,
            &self.options.npm_keys,
        );
        let version = PackageVersion {
            spec: spec.clone(),
            registry,
            manifest: entry.manifest,
            dist: entry.dist,
            published,
            tarball,
            tarball_path,
            integrity,
            attestations,
            signatures,
            origins: Origins {
                packument: packument_origin,
                tarball: tarball_origin,
                attestations: attestations_origin,
            },
        };
        Ok((version, hook))
    }

    /// Keeps `version`'s attestations response in the cache, for later runs (offline ones
    /// included) to use without asking the registry. Call it once the response is checked and
    /// accepted (its provenance verified): a response that is never kept is asked for again,
    /// so one bad answer (`{"attestations":[]}`, a mirror's partial copy) cannot stick.
    pub fn keep_attestations(&self, version: &PackageVersion) -> Result<(), Error> {
        if let (Origin::Network, Attestations::Present { url, body }) =
            (version.origins.attestations, &version.attestations)
        {
            let entry = AcceptedAttestations { url: url.clone(), body: body.clone() };
            self.cache.write_attestations(
                version.spec.name.as_str(),
                &version.spec.version,
                &version.integrity,
                &entry,
            )?;
        }
        Ok(())
    }

    /// The version's entry, from the abbreviated packument when it has what is needed, else from
    /// the full one. Returns whether the full document was read.
    async fn version_entry(
        &self,
        spec: &PackageSpec,
        url: &Url,
        registry: &Url,
    ) -> Result<(VersionEntry, bool, Origin), Error> {
        let shown = display_url(url);
        let mut full = false;
        let mut document = match self.document(spec, url, ABBREVIATED, registry, false).await {
            Err(Error::PackageNotFound { .. }) if !self.options.offline => {
                // A registry without abbreviated documents may answer 404 to the Accept header.
                full = true;
                self.document(spec, url, FULL, registry, false).await?
            }
            Err(Error::Offline { missing }) => {
                // Offline, a cached full document serves as well.
                full = true;
                self.document(spec, url, FULL, registry, false).await.map_err(|_| Error::Offline { missing })?
            }
            other => other?,
        };
        let mut refreshed = false;
        loop {
            match version_entry(&document.0, &spec.version) {
                Ok(entry) => return Ok((entry, full, document.1)),
                // A cached document may predate the version's publication: ask again once.
                Err(Lack::Version) if document.1 == Origin::Cache && !refreshed && !self.options.offline => {
                    refreshed = true;
                    document = self.document(spec, url, if full { FULL } else { ABBREVIATED }, registry, true).await?;
                }
                Err(Lack::Version) if self.options.offline => {
                    return Err(Error::Offline {
                        missing: vec![Missing::Version { spec: spec.to_string(), url: shown }],
                    });
                }
                Err(Lack::Version) => return Err(Error::VersionNotFound { spec: spec.to_string(), url: shown }),
                Err(Lack::Field { field, reason }) if full => {
                    return Err(Error::InvalidPackument { url: shown, spec: spec.to_string(), field, reason });
                }
                Err(Lack::Field { .. }) => {
                    full = true;
                    refreshed = false;
                    document = self.document(spec, url, FULL, registry, false).await?;
                }
            }
        }
    }

    /// The publish time, reading the full packument only when a signature's key expires (the
    /// time matters then and only then, as in npm). Offline without a cached full document the
    /// time stays unknown.
    async fn publish_time(
        &self,
        spec: &PackageSpec,
        entry: &VersionEntry,
        full: bool,
        url: &Url,
        registry: &Url,
    ) -> Result<(Option<Timestamp>, bool), Error> {
        if full {
            return Ok((entry.published, true));
        }
        let needed = entry.dist.signatures.iter().any(|signature| {
            self.options.npm_keys.iter().any(|key| key.key_id == signature.keyid && key.valid_until.is_some())
        });
        if !needed {
            return Ok((None, false));
        }
        match self.document(spec, url, FULL, registry, false).await {
            Ok((document, _)) => Ok((version_entry(&document, &spec.version).ok().and_then(|e| e.published), true)),
            Err(Error::Offline { .. }) => Ok((None, false)),
            Err(error) => Err(error),
        }
    }

    /// A packument, from the cache within its TTL (any age offline), else from the registry,
    /// revalidating a stale cached copy.
    async fn document(
        &self,
        spec: &PackageSpec,
        url: &Url,
        accept: &str,
        registry: &Url,
        force: bool,
    ) -> Result<(Value, Origin), Error> {
        let shown = display_url(url);
        let key = url.as_str();
        let cached = match self.cache.read_packument(key, accept)? {
            Lookup::Hit(document) => Some(document),
            Lookup::Miss | Lookup::Corrupt => None,
        };
        if self.options.offline {
            let document = cached.ok_or_else(|| Error::Offline {
                missing: vec![Missing::Packument { name: spec.name.to_string(), url: shown.clone() }],
            })?;
            return Ok((parse_json(&document.body, &shown)?, Origin::Cache));
        }
        if let Some(document) = &cached {
            let age = SystemTime::now().duration_since(document.fetched).unwrap_or(Duration::MAX);
            if !force
                && age < self.options.packument_ttl
                && let Ok(value) = parse_json(&document.body, &shown)
            {
                return Ok((value, Origin::Cache));
            }
        }
        let request = Get {
            url,
            registry,
            accept,
            etag: cached.as_ref().and_then(|d| d.etag.as_deref()),
            last_modified: cached.as_ref().and_then(|d| d.last_modified.as_deref()),
            limit: self.options.max_document_bytes,
            progress: None,
        };
        let mut sink = MemorySink::default();
        let response = match self.http.get(&request, &mut sink).await {
            Ok(response) => response,
            Err(FetchError::NotFound { url }) => {
                return Err(Error::PackageNotFound { name: spec.name.to_string(), url });
            }
            Err(error) => return Err(error.into()),
        };
        let (body, origin, etag, last_modified) = match (response.not_modified, cached) {
            (true, Some(cached)) => (
                cached.body,
                Origin::Revalidated,
                response.etag.or(cached.etag),
                response.last_modified.or(cached.last_modified),
            ),
            _ => (sink.bytes, Origin::Network, response.etag, response.last_modified),
        };
        let value = parse_json(&body, &shown)?;
        let document = CachedDocument { body, etag, last_modified, fetched: SystemTime::now() };
        self.cache.write_packument(key, accept, &document)?;
        Ok((value, origin))
    }

    /// The tarball, from the cache (checked) or the registry (checked before it is kept).
    async fn tarball(
        &self,
        spec: &PackageSpec,
        dist: &Dist,
        registry: &Url,
    ) -> Result<(Vec<u8>, PathBuf, Sha512, Origin), Error> {
        let mut corrupt = false;
        for sha512 in &dist.sha512 {
            match self.cache.read_tarball(sha512)? {
                Lookup::Hit(bytes) => return Ok((bytes, self.cache.tarball_path(sha512), *sha512, Origin::Cache)),
                Lookup::Corrupt => corrupt = true,
                Lookup::Miss => {}
            }
        }
        if self.options.offline {
            return Err(Error::Offline {
                missing: vec![Missing::Tarball { spec: spec.to_string(), integrity: dist.integrity.clone(), corrupt }],
            });
        }
        let shown = display_url(&dist.tarball);
        let mut writer = self.cache.tarball_writer(&dist.sha512)?;
        let request = Get {
            url: &dist.tarball,
            registry,
            accept: "*/*",
            etag: None,
            last_modified: None,
            limit: self.options.max_tarball_bytes,
            progress: self.options.tarball_progress.as_ref(),
        };
        self.http.get(&request, &mut writer).await?;
        let actual = writer.digest();
        if !dist.sha512.contains(&actual) {
            return Err(Error::IntegrityMismatch {
                spec: spec.to_string(),
                url: shown,
                expected: dist.integrity.clone(),
                actual: actual.to_integrity(),
                received: writer.len(),
            });
        }
        let bytes = writer.read_back().map_err(|source| Error::ReadBack { url: shown.clone(), source })?;
        if Sha512::digest(&bytes) != actual {
            return Err(Error::IntegrityMismatch {
                spec: spec.to_string(),
                url: shown,
                expected: dist.integrity.clone(),
                actual: Sha512::digest(&bytes).to_integrity(),
                received: bytes.len() as u64,
            });
        }
        let path = self.cache.commit_tarball(writer, &actual)?;
        Ok((bytes, path, actual, Origin::Network))
    }

    /// The attestations response: one accepted earlier (found by any digest `dist.integrity`
    /// lists), else the registry's answer; offline, a 404 this registry gave earlier.
    async fn attestations(
        &self,
        spec: &PackageSpec,
        dist: &Dist,
        registry: &Url,
    ) -> Result<(Attestations, Origin), Error> {
        let url = attestations_url(dist, registry, spec);
        let shown = display_url(&url);
        let advertised = dist.attestations_url.is_some();
        for sha512 in &dist.sha512 {
            if let Lookup::Hit(AcceptedAttestations { url, body }) =
                self.cache.read_attestations(spec.name.as_str(), &spec.version, sha512)?
            {
                return Ok((Attestations::Present { url, body }, Origin::Cache));
            }
        }
        if self.options.offline {
            for sha512 in &dist.sha512 {
                if let Lookup::Hit(()) = self.cache.read_absence(spec.name.as_str(), &spec.version, sha512, &shown)? {
                    return Ok((Attestations::Absent { url: shown, advertised }, Origin::Cache));
                }
            }
            return Err(Error::Offline { missing: vec![Missing::Attestations { spec: spec.to_string(), url: shown }] });
        }
        let request = Get {
            url: &url,
            registry,
            accept: FULL,
            etag: None,
            last_modified: None,
            limit: self.options.max_document_bytes,
            progress: None,
        };
        let mut sink = MemorySink::default();
        match self.http.get(&request, &mut sink).await {
            Ok(_) => {
                parse_json(&sink.bytes, &shown)?;
                Ok((Attestations::Present { url: shown, body: sink.bytes }, Origin::Network))
            }
            Err(FetchError::NotFound { .. }) => Ok((Attestations::Absent { url: shown, advertised }, Origin::Network)),
            Err(error) => Err(error.into()),
        }
    }
}

/// `{registry}/NAME` with a scope's `/` escaped, as npm requests packuments.
pub fn packument_url(registry: &Url, name: &PackageName) -> Url {
    let mut url = registry.clone();
    let path = format!("{}{}", registry.path(), name.escaped());
    url.set_path(&path);
    url
}

/// Where a version's attestations are fetched: `dist.attestations.url` when it is on the
/// registry's origin; when it names another host, its path under the registry (npm too always
/// asks the configured registry); without it, `{registry}/-/npm/v1/attestations/NAME@VERSION`.
pub fn attestations_url(dist: &Dist, registry: &Url, spec: &PackageSpec) -> Url {
    let advertised = dist.attestations_url.as_deref().and_then(|url| Url::parse(url).ok());
    let relative = match advertised {
        Some(url)
            if url.scheme() == registry.scheme()
                && url.host_str() == registry.host_str()
                && url.port_or_known_default() == registry.port_or_known_default() =>
        {
            return url;
        }
        Some(url) => url.path().trim_start_matches('/').to_string(),
        None => format!("-/npm/v1/attestations/{}@{}", spec.name.escaped(), spec.version),
    };
    let mut url = registry.clone();
    url.set_path(&format!("{}{relative}", registry.path()));
    url
}

fn parse_json(bytes: &[u8], url: &str) -> Result<Value, Error> {
    serde_json::from_slice(bytes).map_err(|source| Error::InvalidJson { url: url.to_string(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_npm() {
        let registry = Url::parse("http://127.0.0.1:9/npm/").unwrap();
        let spec = PackageSpec::parse("@scope/name@1.0.0").unwrap();
        assert_eq!(packument_url(&registry, &spec.name).as_str(), "http://127.0.0.1:9/npm/@scope%2fname");
        let digest = Sha512::digest(b"x");
        let mut dist = Dist {
            tarball: Url::parse("http://127.0.0.1:9/t.tgz").unwrap(),
            integrity: digest.to_integrity(),
            sha512: vec![digest],
            signatures: Vec::new(),
            attestations_url: None,
            provenance_predicate: None,
        };
        assert_eq!(
            attestations_url(&dist, &registry, &spec).as_str(),
            "http://127.0.0.1:9/npm/-/npm/v1/attestations/@scope%2fname@1.0.0"
        );
        dist.attestations_url = Some("http://127.0.0.1:9/npm/-/npm/v1/attestations/x".into());
        assert_eq!(
            attestations_url(&dist, &registry, &spec).as_str(),
            "http://127.0.0.1:9/npm/-/npm/v1/attestations/x"
        );
        dist.attestations_url = Some("http://127.0.0.2:7/-/npm/v1/attestations/y?z=1".into());
        assert_eq!(
            attestations_url(&dist, &registry, &spec).as_str(),
            "http://127.0.0.1:9/npm/-/npm/v1/attestations/y"
        );
    }
}
