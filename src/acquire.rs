//! Getting what `check` compares: the tarball and its attestations (from files, or from the
//! registry npm is configured with) and the attested commit (from a local repository, or fetched
//! from the repository the provenance names). Registry downloads and the commit fetch overlap: the
//! attestations are verified as soon as they arrive (against `dist.integrity`), and the verified
//! commit is fetched while the tarball is still downloading.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use provdiff_attest::{IdentityPolicy, PackageSubject, RawAttestation, Verification, Verifier};
use provdiff_core::{Code, Finding, Sha512};
use provdiff_git::{FetchOptions, FetchOutcome, FetchRequest, Repository};
use provdiff_npm::PublishedTarball;
use provdiff_registry::{Attestations, Client, ClientOptions, PackageSpec, RegistryConfig};
use serde::Serialize;

use crate::cli::CheckArgs;
use crate::inputs;
use crate::progress::Progress;

/// Where the repository comes from.
#[derive(Debug, Clone)]
pub enum RepoSource {
    /// `--repo` naming a directory, bare repository or bundle: opened as it is.
    Local(PathBuf),
    /// A URL to fetch the commit from: `--repo URL`, or the provenance's repository.
    Remote(String),
}

impl RepoSource {
    fn from_arg(arg: &str) -> Self {
        let path = Path::new(arg);
        if path.exists() || !(arg.contains("://") || arg.starts_with("git@")) {
            RepoSource::Local(path.to_path_buf())
        } else {
            RepoSource::Remote(arg.to_string())
        }
    }
}

/// How the commit was obtained, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct FetchInfo {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_url: Option<String>,
    /// `cached`, `by-id`, `attested-ref` or `full`.
    pub strategy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetcher: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objects: Option<u64>,
}

/// The commit, or why there is none.
pub enum SourceOutcome {
    /// No verified provenance: nothing to fetch.
    NotAttempted,
    Available {
        repository: Repository,
        fetch: Option<FetchInfo>,
    },
    /// The commit is gone from the repository: a finding, not an error.
    Unavailable(Finding),
}

/// What the registry said, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct RegistryInfo {
    pub registry: String,
    pub tarball_url: String,
    pub origins: provdiff_registry::Origins,
    pub signatures: provdiff_registry::SignatureReport,
    /// `_npmVersion` of the version's metadata: the npm that published it, as the registry
    /// recorded it (full packuments only; unsigned, so it only chooses which rules to try first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub npm_version: Option<String>,
}

/// Everything `check` compares.
pub struct Acquired {
    pub published: PublishedTarball,
    /// The tarball's file name or URL, for the report.
    pub tarball_label: String,
    pub verification: Verification,
    pub source: SourceOutcome,
    pub registry: Option<RegistryInfo>,
    /// Findings about acquisition itself (registry signatures, for instance).
    pub findings: Vec<Finding>,
}

fn cache_root(args: &CheckArgs) -> Result<PathBuf> {
    if let Some(dir) = &args.cache_dir {
        return Ok(dir.clone());
    }
    let dirs = directories::ProjectDirs::from("", "", "provdiff")
        .context("cannot find the user's cache directory (no home directory); give --cache-dir")?;
    Ok(dirs.cache_dir().to_path_buf())
}

fn fetch_options(args: &CheckArgs) -> Result<FetchOptions> {
    let mut options = FetchOptions::new(cache_root(args)?.join("git"));
    options.offline = args.offline;
    options.timeout = Duration::from_secs(args.timeout);
    for rule in &args.git_mirror {
        options.rewrites.add_mirror(rule)?;
    }
    Ok(options)
}

/// Opens or fetches the repository holding `commit`.
fn obtain_source(
    source: &RepoSource,
    commit: &str,
    git_ref: Option<&str>,
    options: &FetchOptions,
    progress: &Progress,
) -> Result<SourceOutcome> {
    match source {
        RepoSource::Local(path) => {
            let repository = Repository::open(path)?;
            // A local repository without the commit is the caller's mistake: an error.
            repository.commit(commit)?;
            Ok(SourceOutcome::Available { repository, fetch: None })
        }
        RepoSource::Remote(url) => {
            let task = progress.task(format!("fetching commit {} from {url}", commit.get(..12).unwrap_or(commit)));
            let request =
                FetchRequest { url: url.clone(), commit: commit.to_string(), git_ref: git_ref.map(str::to_string) };
            let options = FetchOptions { progress: task.sink(), ..options.clone() };
            let outcome = provdiff_git::fetch_commit(&request, &options);
            task.finish();
            match outcome? {
                FetchOutcome::Available(fetched) => {
                    let fetch = FetchInfo {
                        url: fetched.url.clone(),
                        effective_url: fetched.effective_url.clone(),
                        strategy: fetched.strategy.as_str().to_string(),
                        fetcher: fetched.fetcher.map(|fetcher| fetcher.as_str().to_string()),
                        bytes: fetched.transfer.map(|transfer| transfer.bytes),
                        objects: fetched.transfer.map(|transfer| transfer.objects),
                    };
                    Ok(SourceOutcome::Available { repository: fetched.repository, fetch: Some(fetch) })
                }
                FetchOutcome::CommitUnavailable { url, effective_url, commit, reason, .. } => {
                    Ok(SourceOutcome::Unavailable(Finding::new(
                        Code::SourceUnavailable,
                        reason.explain(&url, &effective_url, &commit),
                    )))
                }
            }
        }
    }
}

/// `check --tarball FILE --attestations FILE [--repo …]`.
pub fn from_files(args: &CheckArgs, verifier: &Verifier, policy: &IdentityPolicy) -> Result<Acquired> {
    let tarball = args
        .tarball
        .as_ref()
        .context("give NAME@VERSION, or --tarball and --attestations")
        .map_err(|error| crate::error::tag_usage(error, "--tarball"))?;
    let published = inputs::read_tarball(tarball)?;
    let subject = crate::error::Tag::tag_file(
        subject_of(&published, &tarball.display().to_string()),
        crate::error::ErrorCode::TarballInvalid,
        tarball,
    )?;
    let attestations = inputs::read_attestations(&args.attestations)?;
    let verification = verifier.verify(&attestations, &subject, policy);
    let progress = Progress::new();
    let source = match repo_target(args.repo.as_deref(), &verification) {
        None => SourceOutcome::NotAttempted,
        Some((source, commit, git_ref)) => {
            let options = fetch_options(args)?;
            obtain_source(&source, &commit, git_ref.as_deref(), &options, &progress)?
        }
    };
    Ok(Acquired {
        published,
        tarball_label: tarball.display().to_string(),
        verification,
        source,
        registry: None,
        findings: Vec::new(),
    })
}

fn subject_of(published: &PublishedTarball, origin: &str) -> Result<PackageSubject> {
    let manifest = crate::check::published_manifest(published, origin)?;
    Ok(PackageSubject {
        name: manifest.name().context("the tarball's package.json has no name")?.to_string(),
        version: manifest.version().context("the tarball's package.json has no version")?.to_string(),
        sha512: published.sha512,
    })
}

/// `check NAME@VERSION`: from the registry npm is configured with.
pub fn from_registry(args: &CheckArgs, spec: &str, verifier: &Verifier, policy: &IdentityPolicy) -> Result<Acquired> {
    let spec = crate::error::Tag::tag_field(
        PackageSpec::parse(spec),
        crate::error::ErrorCode::PackageSpecInvalid,
        "NAME@VERSION",
    )?;
    let config = RegistryConfig::from_process(args.registry.clone())?;
    let cache = provdiff_registry::Cache::new(cache_root(args)?.join("registry"))?;
    let mut options =
        ClientOptions { offline: args.offline, npm_keys: verifier.npm_keys().to_vec(), ..ClientOptions::default() };
    options.http.read_timeout = Duration::from_secs(args.timeout);
    options.http.connect_timeout = options.http.connect_timeout.min(options.http.read_timeout);
    let progress = Progress::new();
    let download = progress.task(format!("fetching {}@{} from the registry", spec.name, spec.version));
    options.tarball_progress = download.sink();
    let client = Client::new(config, cache, options)?;
    let fetch_options = fetch_options(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    let subject_for =
        |sha512: Sha512| PackageSubject { name: spec.name.to_string(), version: spec.version.clone(), sha512 };
    let (version, early) = runtime.block_on(client.package_version_with(&spec, |attestations, dist| {
        // Verified as soon as the attestations arrive, against the digest the registry lists; the
        // tarball is checked against that same digest when it arrives.
        let attestations = raw_attestations(attestations);
        let listed = dist.sha512.first().copied();
        let verification = attestations.and_then(|attestations| {
            let sha512 = listed
                .context("dist.integrity lists no sha512 digest")
                .map_err(|error| crate::error::tag_code(error, crate::error::ErrorCode::Registry))?;
            Ok((verifier.verify(&attestations, &subject_for(sha512), policy), attestations, sha512))
        });
        let fetch_options = fetch_options.clone();
        let repo_arg = args.repo.clone();
        let progress = progress.clone();
        async move {
            let (verification, attestations, sha512) = verification?;
            let target = repo_target(repo_arg.as_deref(), &verification);
            // The commit is fetched while the tarball downloads; git is blocking work.
            let source = match target {
                None => Ok(SourceOutcome::NotAttempted),
                Some((source, commit, git_ref)) => tokio::task::spawn_blocking(move || {
                    obtain_source(&source, &commit, git_ref.as_deref(), &fetch_options, &progress)
                })
                .await
                .context("the commit fetch was interrupted")?,
            };
            Ok::<_, anyhow::Error>((verification, attestations, sha512, source?))
        }
    }))?;
    download.finish();
    let (mut verification, attestations, verified_digest, mut source) = early?;
    if verified_digest != version.integrity {
        // dist.integrity listed several digests and the tarball has another of them: verify again
        // against the tarball's own, and fetch again if that changes the commit.
        verification = verifier.verify(&attestations, &subject_for(version.integrity), policy);
        source = match repo_target(args.repo.as_deref(), &verification) {
            None => SourceOutcome::NotAttempted,
            Some((repo, commit, git_ref)) => {
                obtain_source(&repo, &commit, git_ref.as_deref(), &fetch_options, &progress)?
            }
        };
    }
    // Kept for later runs only once everything in it verified, the publish attestation included:
    // an answer that did not, or a partial copy (a mirror's, without npm's publish attestation),
    // is asked for again.
    if verification.is_verified() && verification.publish.is_some() {
        client.keep_attestations(&version)?;
    }
    let published = provdiff_npm::read_tarball(version.tarball.clone())
        .with_context(|| format!("cannot read the tarball of {}@{}", spec.name, spec.version))?;
    let manifest = crate::check::published_manifest(&published, version.dist.tarball.as_ref())?;
    if manifest.name() != Some(spec.name.as_str()) || manifest.version() != Some(spec.version.as_str()) {
        let error = anyhow::anyhow!(
            "the registry's tarball for {}@{} holds a package.json for {}@{}",
            spec.name,
            spec.version,
            manifest.name().unwrap_or("(no name)"),
            manifest.version().unwrap_or("(no version)")
        );
        return Err(crate::error::tag_code(error, crate::error::ErrorCode::Registry));
    }
    let mut findings = Vec::new();
    if let Attestations::Absent { url, advertised } = &version.attestations {
        let detail = if *advertised {
            format!("the registry lists attestations for this version, but {url} has none")
        } else {
            format!("the registry has no attestations for this version ({url})")
        };
        findings.push(Finding::new(Code::ProvenanceMissing, detail));
    }
    if version.signatures.outcome == provdiff_registry::SignatureOutcome::Failed {
        findings.push(Finding::new(
            Code::RegistrySignatureInvalid,
            format!("the registry signature over {} does not verify with npm's keys", version.signatures.message),
        ));
    }
    Ok(Acquired {
        published,
        tarball_label: version.dist.tarball.to_string(),
        verification,
        source,
        registry: Some(RegistryInfo {
            registry: version.registry.to_string(),
            tarball_url: version.dist.tarball.to_string(),
            origins: version.origins,
            signatures: version.signatures.clone(),
            npm_version: version.manifest.get("_npmVersion").and_then(serde_json::Value::as_str).map(str::to_string),
        }),
        findings,
    })
}

/// The repository to fetch a verified provenance's commit from: `--repo`, else the provenance's
/// own; `None` when there is no verified provenance.
fn repo_target(repo_arg: Option<&str>, verification: &Verification) -> Option<(RepoSource, String, Option<String>)> {
    let provenance = &verification.provenance.as_ref()?.provenance;
    let source = match repo_arg {
        Some(arg) => RepoSource::from_arg(arg),
        None => RepoSource::Remote(provenance.repository.clone()),
    };
    Some((source, provenance.commit.clone(), provenance.git_ref.clone()))
}

/// The registry's attestations response as attestations to verify (none when it has none).
fn raw_attestations(attestations: &Attestations) -> Result<Vec<RawAttestation>> {
    match attestations {
        Attestations::Present { url, body } => {
            Ok(provdiff_attest::parse_attestations(body, url).context("cannot read the registry's attestations")?)
        }
        Attestations::Absent { .. } => Ok(Vec::new()),
    }
}
