//! The npm registry client: finds the registry npm would use, fetches a version's packument
//! entry, tarball and attestations, checks the tarball's integrity and the registry signatures,
//! and keeps what it fetched in a content-addressed cache.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use provdiff_registry::{Cache, Client, ClientOptions, PackageSpec, RegistryConfig};
//!
//! let config = RegistryConfig::from_process(None)?; // or `Some(url)` for --registry
//! let cache = Cache::new("/path/to/cache")?;
//! let client = Client::new(config, cache, ClientOptions::default())?;
//! let version = client.package_version(&PackageSpec::parse("@scope/name@1.2.3")?).await?;
//! // version.tarball: verified bytes; version.attestations: the response or its absence;
//! // version.signatures: what the registry signatures say.
//! # Ok(()) }
//! ```
//!
//! **Architecture Invariant:** this is the only provdiff crate that speaks HTTP, and it never
//! returns bytes it has not checked: a tarball is hashed against `dist.integrity` before it is
//! returned or cached, and cached entries are checked again when read. Network faults are
//! errors, never verdicts; what the registry *says* (no attestations, a bad signature) is data.

mod cache;
mod client;
mod config;
mod http;
mod npmrc;
mod packument;
mod signatures;
mod spec;

pub use cache::{Cache, CacheError, Lookup};
pub use client::{
    Attestations, Client, ClientOptions, Error, Missing, Origin, Origins, PackageVersion, attestations_url,
    packument_url,
};
pub use config::{
    ConfigError, ConfigFile, ConfigInputs, ConfigSource, Credentials, FileStatus, Layer, Registry, RegistryConfig,
};
pub use http::{FetchError, HttpOptions, Transient};
pub use packument::Dist;
pub use signatures::{
    DistSignature, SignatureCheck, SignatureOutcome, SignatureReport, SignatureStatus, check_signatures,
};
pub use spec::{PackageName, PackageSpec, SpecError};
