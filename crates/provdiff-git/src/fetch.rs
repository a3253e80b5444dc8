//! Fetching exactly the attested commit into the cache: provdiff's only network boundary.
//!
//! [`fetch_commit`] tries, in order: (a) the cache, without the network; (b) a depth-1 fetch of the
//! commit by its id; (c) a depth-1 fetch of the attested ref, keeping the result only if it
//! brought the commit; (d) a full fetch of every branch and tag. The first that leaves the commit
//! and its whole tree in the cache wins. A server that answers that the repository or commit is
//! not there gives [`FetchOutcome::CommitUnavailable`], a result rather than an error; a server
//! that cannot be reached, or goes silent for the timeout, gives [`FetchError::Network`].
//!
//! Two fetchers do the transfer: the `git` command line (preferred: with protocol v2 it fetches
//! any commit by id, over every transport, with the user's credential helpers and ssh setup) and
//! libgit2 (for machines without git; protocol v0 only, and built without TLS or SSH, so it
//! reaches `http://`, `git://` and local repositories). URL rewriting is done before either runs
//! (see [`crate::url`]), so the same request goes to the same place whichever fetcher runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::Repository;
use crate::cache::{self, Slot};
use crate::process::{self, GitProgram};
use crate::url::{GitConfigSource, RepoUrl, RewriteStep, Transport, UrlRewrites, redact};

/// Which program transfers objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetcherKind {
    /// The `git` command line.
    GitCli,
    /// libgit2, through the `git2` crate.
    Libgit2,
}

impl FetcherKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FetcherKind::GitCli => "git",
            FetcherKind::Libgit2 => "libgit2",
        }
    }
}

impl std::fmt::Display for FetcherKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which fetcher to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FetcherChoice {
    /// The git command line when a git of at least 2.29 is found, else libgit2.
    #[default]
    Auto,
    GitCli,
    Libgit2,
}

/// How the commit was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Already complete in the cache; no network.
    Cached,
    /// A depth-1 fetch of the commit by its id.
    ById,
    /// A depth-1 fetch of the attested ref, whose tip was the commit.
    AttestedRef,
    /// A fetch of every branch and tag with their whole history.
    Full,
}

impl Strategy {
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Cached => "cached",
            Strategy::ById => "by-id",
            Strategy::AttestedRef => "attested-ref",
            Strategy::Full => "full",
        }
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// The repository URL the provenance names.
    pub url: String,
    /// The full 40-digit commit id the provenance names.
    pub commit: String,
    /// The ref the provenance names (`refs/heads/main`, `refs/tags/v1.0.0`), if any.
    pub git_ref: Option<String>,
}

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// The cache's directory; give provdiff one of its own (for instance `<cache>/git`).
    pub cache_dir: PathBuf,
    pub fetcher: FetcherChoice,
    /// The git command line to run (`git`, found on `PATH`, by default).
    pub git_program: PathBuf,
    /// Where `url.<base>.insteadOf` rules, credential helpers and ssh settings come from.
    pub git_config: GitConfigSource,
    /// `--git-mirror` rules (the `insteadOf` rules of `git_config` are added when fetching).
    pub rewrites: UrlRewrites,
    /// Use only the cache.
    pub offline: bool,
    /// How long a transfer may go without any progress before it is abandoned.
    pub timeout: Duration,
    /// Told how much of a transfer has arrived (libgit2's transfers; the git command line's
    /// progress is not parsed).
    pub progress: Option<provdiff_core::ProgressSink>,
}

impl FetchOptions {
    pub fn new(cache_dir: impl Into<PathBuf>) -> Self {
        Self {
            cache_dir: cache_dir.into(),
            fetcher: FetcherChoice::Auto,
            git_program: PathBuf::from("git"),
            git_config: GitConfigSource::User,
            rewrites: UrlRewrites::default(),
            offline: false,
            timeout: Duration::from_secs(60),
            progress: None,
        }
    }
}

/// Data moved by the fetches of one call: pack bytes and objects (libgit2's own counters, or the
/// packs git added to the cache).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transfer {
    pub bytes: u64,
    pub objects: u64,
}

/// A strategy that ran and did not give the commit, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub strategy: Strategy,
    pub fetcher: FetcherKind,
    pub result: AttemptResult,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// The server would not send the object or ref asked for (a v0 server that does not allow
    /// fetching by id, a commit it does not have, a ref it does not have).
    Refused { message: String },
    /// The fetch worked but the commit was not among what came.
    NotIncluded,
    /// There was no attested ref to try.
    NoRef,
}

/// The attested commit, in the cache.
#[derive(Debug)]
pub struct Fetched {
    /// The cached repository, opened; its location is the attested URL.
    pub repository: Repository,
    /// The attested URL, credentials removed.
    pub url: String,
    /// Where objects were fetched from after rewriting (credentials removed); `None` when the
    /// cache already had the commit.
    pub effective_url: Option<String>,
    pub rewrites: Vec<RewriteStep>,
    pub strategy: Strategy,
    pub fetcher: Option<FetcherKind>,
    /// What every fetch of this call moved; `None` when nothing was fetched.
    pub transfer: Option<Transfer>,
    /// Strategies tried before the one that worked.
    pub attempts: Vec<Attempt>,
    pub cache_path: PathBuf,
}

/// Why a commit cannot be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnavailableReason {
    /// The repository answered, but no branch, tag or id fetch gave the commit (force-pushed
    /// away and collected, or never pushed).
    CommitMissing,
    /// The server says there is no such repository (deleted, renamed without a redirect, 404).
    RepositoryNotFound { message: String },
    /// The server asked for credentials and none it accepted were at hand (401/403, no prompt
    /// allowed, ssh's `Permission denied (publickey)`). That is all it says: GitHub answers a
    /// deleted repository over HTTPS this way too, so the repository may be private, deleted, or
    /// merely need credentials provdiff was not given.
    CredentialsRequired { message: String },
}

impl std::fmt::Display for UnavailableReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UnavailableReason::CommitMissing => f.write_str("no branch, tag or fetch by id gives the commit"),
            UnavailableReason::RepositoryNotFound { message } => {
                write!(f, "the server has no such repository (git: {message})")
            }
            UnavailableReason::CredentialsRequired { message } => write!(
                f,
                "the server asked for credentials: the repository is private, deleted, or needs credentials; none \
                 were accepted (git: {message})"
            ),
        }
    }
}

impl UnavailableReason {
    /// One sentence for people: what the server that was asked (`effective_url`, when URL
    /// rewriting sent the fetch to a mirror, else `url`) answered about `commit` of `url`.
    pub fn explain(&self, url: &str, effective_url: &str, commit: &str) -> String {
        let asked = if effective_url == url {
            url.to_string()
        } else {
            format!("the mirror {effective_url} (for {url}, by --git-mirror or insteadOf)")
        };
        match self {
            UnavailableReason::CommitMissing => format!("commit {commit} is not in {asked}: {self}"),
            UnavailableReason::RepositoryNotFound { .. } | UnavailableReason::CredentialsRequired { .. } => {
                format!("{asked}: {self}; commit {commit} could not be looked for")
            }
        }
    }
}

/// The result of [`fetch_commit`] when nothing went wrong operationally.
#[derive(Debug)]
pub enum FetchOutcome {
    Available(Box<Fetched>),
    /// The repository or commit cannot be had (gone, or behind credentials nobody gave): a result
    /// about the package, not a failure. [`UnavailableReason::explain`] says it in one sentence.
    CommitUnavailable {
        url: String,
        effective_url: String,
        commit: String,
        reason: UnavailableReason,
        attempts: Vec<Attempt>,
    },
}

/// How a network operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkFailure {
    /// Nothing arrived for this long.
    TimedOut { after: Duration },
    /// The fetcher's message (credentials removed).
    Failed { message: String },
}

impl std::fmt::Display for NetworkFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetworkFailure::TimedOut { after } => {
                write!(f, "no progress for {} s (the timeout); the server may be unreachable", after.as_secs_f64())
            }
            NetworkFailure::Failed { message } => f.write_str(message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url:?} is not a repository URL provdiff can fetch: {reason}")]
    BadUrl { url: String, reason: &'static str },
    #[error("--git-mirror {rule:?} is not of the form FROM=TO")]
    BadMirror { rule: String },
    #[error("{commit:?} is not a full commit id")]
    BadCommitId { commit: String },
    #[error("offline: {what}")]
    Offline { what: String },
    #[error("cannot fetch from {url} with {fetcher}: {failure}")]
    Network { url: String, fetcher: FetcherKind, failure: NetworkFailure },
    #[error("{fetcher} cannot fetch {url}: {reason}")]
    Unsupported { url: String, fetcher: FetcherKind, reason: &'static str },
    #[error("no usable git command line at {program} (git 2.29 or later is needed)")]
    NoGit { program: PathBuf },
    #[error("cannot read the git configuration")]
    Config {
        #[source]
        source: git2::Error,
    },
    #[error("cannot read the git configuration file {path}")]
    ConfigFile {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("cache: {path}")]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cache repository {path}")]
    CacheRepository {
        path: PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("cannot run {program}")]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl FetchError {
    /// A network failure (including a timeout): worth retrying later.
    pub fn is_network(&self) -> bool {
        matches!(self, FetchError::Network { .. })
    }
}

/// Gets `request.commit` of `request.url` into the cache and opens it. See the module header for
/// the strategies.
pub fn fetch_commit(request: &FetchRequest, options: &FetchOptions) -> Result<FetchOutcome, FetchError> {
    let commit = parse_commit(&request.commit)?;
    let url = RepoUrl::parse(&request.url)?;
    let shown_url = redact(url.as_str());
    let slot = Slot::new(&options.cache_dir, &url);
    let cached = |repo: git2::Repository| -> Box<Fetched> {
        Box::new(Fetched {
            repository: Repository::cached(repo, shown_url.clone()),
            url: shown_url.clone(),
            effective_url: None,
            rewrites: Vec::new(),
            strategy: Strategy::Cached,
            fetcher: None,
            transfer: None,
            attempts: Vec::new(),
            cache_path: slot.repo.clone(),
        })
    };

    // (a) The cache, without a lock: packs and refs appear atomically.
    if let Some(repo) = slot.open_existing()
        && cache::is_complete(&repo, commit)
    {
        return Ok(FetchOutcome::Available(cached(repo)));
    }
    if options.offline {
        let what = match slot.open_existing() {
            None => format!("no cached copy of {shown_url} in {}", options.cache_dir.display()),
            Some(_) => format!("commit {commit} of {shown_url} is not in the cache ({})", slot.repo.display()),
        };
        return Err(FetchError::Offline { what });
    }

    let config = options.git_config.open()?;
    let mut rewrites = options.rewrites.clone();
    rewrites.add_instead_of(&config)?;
    let rewritten = rewrites.apply(url.as_str());
    let effective = RepoUrl::parse(&rewritten.url)?;
    let shown_effective = redact(effective.as_str());
    let fetcher = choose_fetcher(options, &effective)?;

    let lock = slot.lock()?;
    let repo = slot.ensure_repo(&lock)?;
    // Another run may have fetched it while this one waited for the lock.
    if cache::is_complete(&repo, commit) {
        cache::mark_complete(&repo, commit)?;
        return Ok(FetchOutcome::Available(cached(repo)));
    }
    drop(repo);

    let context = FetchContext {
        repo_path: slot.repo.clone(),
        url: effective.clone(),
        config_source: options.git_config.clone(),
        rewrites: rewrites.clone(),
        timeout: options.timeout,
        progress: options.progress.clone(),
    };
    let mut attempts = Vec::new();
    let mut transfer = Transfer::default();
    let specs = [
        (Strategy::ById, Some(Spec::ById(commit))),
        (Strategy::AttestedRef, request.git_ref.as_deref().map(|name| Spec::Ref(name.to_string()))),
        (Strategy::Full, Some(Spec::All)),
    ];
    for (strategy, spec) in specs {
        let Some(spec) = spec else {
            attempts.push(Attempt { strategy, fetcher: fetcher.kind(), result: AttemptResult::NoRef });
            continue;
        };
        let result = match &fetcher {
            Fetcher::Cli(git) => fetch_with_git(git, &context, &spec),
            Fetcher::Libgit2 => fetch_with_libgit2(&context, &spec),
        };
        match result {
            Ok(moved) => {
                transfer.bytes += moved.bytes;
                transfer.objects += moved.objects;
                let repo = git2::Repository::open_bare(&slot.repo)
                    .map_err(|source| FetchError::CacheRepository { path: slot.repo.clone(), source })?;
                if cache::is_complete(&repo, commit) {
                    cache::mark_complete(&repo, commit)?;
                    drop(lock);
                    return Ok(FetchOutcome::Available(Box::new(Fetched {
                        repository: Repository::cached(repo, shown_url.clone()),
                        url: shown_url,
                        effective_url: Some(shown_effective),
                        rewrites: rewritten.steps,
                        strategy,
                        fetcher: Some(fetcher.kind()),
                        transfer: Some(transfer),
                        attempts,
                        cache_path: slot.repo.clone(),
                    })));
                }
                attempts.push(Attempt { strategy, fetcher: fetcher.kind(), result: AttemptResult::NotIncluded });
            }
            // Only a full fetch that worked can show the commit is missing.
            Err(Failure::Refused(message)) if strategy == Strategy::Full => {
                return Err(FetchError::Network {
                    url: shown_effective,
                    fetcher: fetcher.kind(),
                    failure: NetworkFailure::Failed { message },
                });
            }
            Err(Failure::Refused(message)) => {
                attempts.push(Attempt { strategy, fetcher: fetcher.kind(), result: AttemptResult::Refused { message } })
            }
            Err(Failure::Unavailable(reason)) => {
                return Ok(FetchOutcome::CommitUnavailable {
                    url: shown_url,
                    effective_url: shown_effective,
                    commit: commit.to_string(),
                    reason,
                    attempts,
                });
            }
            Err(Failure::Network(failure)) => {
                return Err(FetchError::Network { url: shown_effective, fetcher: fetcher.kind(), failure });
            }
            Err(Failure::Unsupported(reason)) => {
                return Err(FetchError::Unsupported { url: shown_effective, fetcher: fetcher.kind(), reason });
            }
            Err(Failure::Error(error)) => return Err(error),
        }
    }
    Ok(FetchOutcome::CommitUnavailable {
        url: shown_url,
        effective_url: shown_effective,
        commit: commit.to_string(),
        reason: UnavailableReason::CommitMissing,
        attempts,
    })
}

fn parse_commit(commit: &str) -> Result<git2::Oid, FetchError> {
    let bad = || FetchError::BadCommitId { commit: commit.to_string() };
    if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    git2::Oid::from_str(commit).map_err(|_| bad())
}

enum Fetcher {
    Cli(GitProgram),
    Libgit2,
}

impl Fetcher {
    fn kind(&self) -> FetcherKind {
        match self {
            Fetcher::Cli(_) => FetcherKind::GitCli,
            Fetcher::Libgit2 => FetcherKind::Libgit2,
        }
    }
}

fn choose_fetcher(options: &FetchOptions, url: &RepoUrl) -> Result<Fetcher, FetchError> {
    let libgit2 = || match url.transport() {
        Transport::Https | Transport::Ssh => Err(FetchError::Unsupported {
            url: redact(url.as_str()),
            fetcher: FetcherKind::Libgit2,
            reason: "provdiff's libgit2 is built without TLS and SSH; install git 2.29 or later",
        }),
        _ => Ok(Fetcher::Libgit2),
    };
    match options.fetcher {
        FetcherChoice::GitCli => GitProgram::detect(&options.git_program)
            .map(Fetcher::Cli)
            .ok_or_else(|| FetchError::NoGit { program: options.git_program.clone() }),
        FetcherChoice::Libgit2 => libgit2(),
        FetcherChoice::Auto => match GitProgram::detect(&options.git_program) {
            Some(git) => Ok(Fetcher::Cli(git)),
            None => libgit2(),
        },
    }
}

/// A full fetch needs destinations for its patterns; these refs are removed right after, so the
/// only refs a cache repository keeps are those of verified commits.
const FULL_FETCH_REFSPECS: [&str; 2] =
    ["+refs/heads/*:refs/provdiff/fetch/heads/*", "+refs/tags/*:refs/provdiff/fetch/tags/*"];

/// What one strategy asks the server for.
enum Spec {
    ById(git2::Oid),
    Ref(String),
    All,
}

/// Why one strategy did not work.
enum Failure {
    /// Try the next strategy.
    Refused(String),
    /// Stop: the repository or commit is gone.
    Unavailable(UnavailableReason),
    /// Stop: an operational failure.
    Network(NetworkFailure),
    Unsupported(&'static str),
    Error(FetchError),
}

struct FetchContext {
    repo_path: PathBuf,
    url: RepoUrl,
    config_source: GitConfigSource,
    rewrites: UrlRewrites,
    timeout: Duration,
    progress: Option<provdiff_core::ProgressSink>,
}

fn fetch_with_git(git: &GitProgram, context: &FetchContext, spec: &Spec) -> Result<Transfer, Failure> {
    let url = context.url.for_git_cli();
    let mut config = Vec::new();
    // The URL is already rewritten; git must not apply a second `insteadOf` pass to it, so it is
    // told to rewrite the URL to itself (the longest possible match).
    if context.rewrites.instead_of_would_rewrite(&url) {
        if url.contains('=') {
            // `-c` splits at the first `=`; such a key cannot be passed.
            return Err(Failure::Unsupported(
                "the git configuration rewrites this URL again (a chain of insteadOf rules) and the URL holds `=`",
            ));
        }
        config.push(format!("url.{url}.insteadOf={url}"));
    }
    let mut command = git.command(&context.repo_path, &context.config_source, &config);
    command.args(["fetch", "--progress", "--no-write-fetch-head", "--no-tags", "--no-recurse-submodules"]);
    match spec {
        Spec::ById(_) | Spec::Ref(_) => {
            command.arg("--depth=1");
        }
        Spec::All => {
            if cache::is_shallow(&context.repo_path) {
                command.arg("--unshallow");
            }
        }
    }
    command.arg("--end-of-options").arg(&url);
    match spec {
        Spec::ById(commit) => {
            command.arg(commit.to_string());
        }
        Spec::Ref(name) => {
            command.arg(name);
        }
        Spec::All => {
            command.args(FULL_FETCH_REFSPECS);
        }
    }
    let before = cache::packs(&context.repo_path);
    let output = process::run(command, context.timeout);
    if let Spec::All = spec {
        remove_fetch_refs(&context.repo_path);
    }
    let output = output.map_err(Failure::Error)?;
    if let Some(after) = output.timed_out {
        return Err(Failure::Network(NetworkFailure::TimedOut { after }));
    }
    if !output.success {
        return Err(classify_git_message(&process::meaningful_stderr(&output.stderr)));
    }
    let mut transfer = Transfer::default();
    for (pack, size) in cache::packs(&context.repo_path) {
        if !before.contains_key(&pack) {
            transfer.bytes += size;
            transfer.objects += cache::pack_objects(&pack).unwrap_or(0);
        }
    }
    Ok(transfer)
}

/// Sorts a failed fetch by what the server said (git's messages, in the C locale).
fn classify_git_message(message: &str) -> Failure {
    let lower = message.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|needle| lower.contains(needle));
    if has(&["not our ref", "unadvertised object", "cannot fetch a specific object", "couldn't find remote ref"]) {
        return Failure::Refused(message.to_string());
    }
    if has(&[
        "no such repository",
        "repository not found",
        "not exported",
        "does not appear to be a git repository",
        "returned error: 404",
        "status code: 404",
        "could not find repository",
        "failed to resolve path",
    ]) || (lower.contains("repository '") && lower.contains("' not found"))
    {
        return Failure::Unavailable(UnavailableReason::RepositoryNotFound { message: message.to_string() });
    }
    if has(&[
        "authentication failed",
        "authentication required",
        "could not read username",
        "could not read password",
        "unable to get password",
        "unable to get username",
        "terminal prompts disabled",
        "permission denied (publickey",
        "returned error: 401",
        "returned error: 403",
        "status code: 401",
        "status code: 403",
        "access denied",
    ]) {
        return Failure::Unavailable(UnavailableReason::CredentialsRequired { message: message.to_string() });
    }
    Failure::Network(NetworkFailure::Failed { message: message.to_string() })
}

fn fetch_with_libgit2(context: &FetchContext, spec: &Spec) -> Result<Transfer, Failure> {
    let url = match context.url.local_path() {
        Some(path) => path.display().to_string(),
        None => context.url.as_str().to_string(),
    };
    let refspecs: Vec<String> = match spec {
        Spec::ById(commit) => vec![commit.to_string()],
        Spec::Ref(name) => vec![name.clone()],
        Spec::All => FULL_FETCH_REFSPECS.iter().map(|spec| spec.to_string()).collect(),
    };
    // libgit2's local transport copies everything and cannot make a shallow fetch.
    let depth = match spec {
        _ if context.url.transport() == Transport::Local => 0,
        Spec::ById(_) | Spec::Ref(_) => 1,
        // libgit2's GIT_FETCH_DEPTH_UNSHALLOW.
        Spec::All if cache::is_shallow(&context.repo_path) => i32::MAX,
        Spec::All => 0,
    };
    let started = Instant::now();
    let activity = Arc::new(AtomicU64::new(0));
    let cancel = Arc::new(AtomicBool::new(false));
    let (sender, receiver) = std::sync::mpsc::channel();
    let worker = {
        let repo_path = context.repo_path.clone();
        let config = context.config_source.clone();
        let (activity, cancel) = (Arc::clone(&activity), Arc::clone(&cancel));
        let url = url.clone();
        let progress = context.progress.clone();
        move || {
            let watch = Watch { started, activity: &activity, cancel: &cancel, progress: progress.as_ref() };
            let result = libgit2_fetch(&repo_path, &url, &refspecs, depth, &config, &watch);
            let _ = sender.send(result);
        }
    };
    // libgit2 offers no safe per-call timeout, so the fetch runs on its own thread and is
    // abandoned (and cancelled at its next callback) when it goes silent for the timeout.
    std::thread::Builder::new().name("provdiff-libgit2-fetch".into()).spawn(worker).map_err(|source| {
        Failure::Error(FetchError::Spawn { program: PathBuf::from("libgit2 fetch thread"), source })
    })?;
    let result = loop {
        match receiver.recv_timeout(Duration::from_millis(20)) {
            Ok(result) => break result,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                break Err(LibgitFailure::Other("the fetch thread stopped without a result".into()));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let idle = started.elapsed().saturating_sub(Duration::from_millis(activity.load(Ordering::Relaxed)));
                if idle >= context.timeout {
                    cancel.store(true, Ordering::Relaxed);
                    return Err(Failure::Network(NetworkFailure::TimedOut { after: context.timeout }));
                }
            }
        }
    };
    if let Spec::All = spec {
        remove_fetch_refs(&context.repo_path);
    }
    match result {
        Ok(transfer) => Ok(transfer),
        Err(LibgitFailure::Rewritten) => Err(Failure::Unsupported(
            "the git configuration rewrites this URL again (a chain of insteadOf rules), which libgit2 cannot be told to skip; use the git command line",
        )),
        Err(LibgitFailure::Git(error)) => Err(classify_libgit2(&error, spec)),
        Err(LibgitFailure::Config(error)) => Err(Failure::Error(error)),
        Err(LibgitFailure::Other(message)) => Err(Failure::Network(NetworkFailure::Failed { message })),
    }
}

enum LibgitFailure {
    Rewritten,
    Config(FetchError),
    Git(git2::Error),
    Other(String),
}

/// What watches a libgit2 fetch from outside: when it last moved, whether to give up, and who
/// is told how far it has come.
struct Watch<'a> {
    started: Instant,
    activity: &'a AtomicU64,
    cancel: &'a AtomicBool,
    progress: Option<&'a provdiff_core::ProgressSink>,
}

impl Watch<'_> {
    /// Records activity; false asks libgit2 to stop.
    fn touch(&self) -> bool {
        self.activity.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
        !self.cancel.load(Ordering::Relaxed)
    }
}

fn libgit2_fetch(
    repo_path: &Path,
    url: &str,
    refspecs: &[String],
    depth: i32,
    config: &GitConfigSource,
    watch: &Watch<'_>,
) -> Result<Transfer, LibgitFailure> {
    let repo = git2::Repository::open_bare(repo_path).map_err(LibgitFailure::Git)?;
    // Anonymous: nothing (URL, credentials) is written to the cache repository's configuration.
    let mut remote = repo.remote_anonymous(url).map_err(LibgitFailure::Git)?;
    // libgit2 applies the user's insteadOf itself; provdiff already did, so a change means a chain.
    if remote.url().ok() != Some(url) {
        return Err(LibgitFailure::Rewritten);
    }
    // Credential helpers come from the same configuration provdiff read its rewrites from.
    let config = config.open().map_err(LibgitFailure::Config)?;
    let mut callbacks = git2::RemoteCallbacks::new();
    let mut tried = CredentialsTried::default();
    callbacks.credentials(move |url, username, allowed| tried.next(&config, url, username, allowed));
    callbacks.transfer_progress(|stats| {
        if let Some(progress) = watch.progress {
            progress.report(provdiff_core::Transferred {
                bytes: stats.received_bytes() as u64,
                total_bytes: None,
                objects: Some((stats.received_objects() as u64, stats.total_objects() as u64)),
            });
        }
        watch.touch()
    });
    callbacks.sideband_progress(|_| watch.touch());
    let mut options = git2::FetchOptions::new();
    options.remote_callbacks(callbacks).download_tags(git2::AutotagOption::None).update_fetchhead(false).depth(depth);
    remote.fetch(refspecs, Some(&mut options), None).map_err(LibgitFailure::Git)?;
    let stats = remote.stats();
    Ok(Transfer { bytes: stats.received_bytes() as u64, objects: stats.received_objects() as u64 })
}

/// libgit2 asks again after each refusal; each kind of credential is offered once.
#[derive(Default)]
struct CredentialsTried {
    helper: bool,
    agent: bool,
}

impl CredentialsTried {
    fn next(
        &mut self,
        config: &git2::Config,
        url: &str,
        username: Option<&str>,
        allowed: git2::CredentialType,
    ) -> Result<git2::Cred, git2::Error> {
        if allowed.contains(git2::CredentialType::SSH_KEY) && !self.agent {
            self.agent = true;
            return git2::Cred::ssh_key_from_agent(username.unwrap_or("git"));
        }
        if allowed.contains(git2::CredentialType::USER_PASS_PLAINTEXT) && !self.helper {
            self.helper = true;
            return git2::Cred::credential_helper(config, url, username).map_err(|_| {
                git2::Error::new(
                    git2::ErrorCode::Auth,
                    git2::ErrorClass::Net,
                    "authentication required, and git's credential helpers have no credentials for this URL",
                )
            });
        }
        if allowed.contains(git2::CredentialType::USERNAME) {
            return git2::Cred::username(username.unwrap_or("git"));
        }
        Err(git2::Error::new(git2::ErrorCode::Auth, git2::ErrorClass::Net, "authentication failed"))
    }
}

/// Removes the destinations of a full fetch ([`FULL_FETCH_REFSPECS`]).
fn remove_fetch_refs(repo_path: &Path) {
    let Ok(repo) = git2::Repository::open_bare(repo_path) else { return };
    let Ok(references) = repo.references_glob("refs/provdiff/fetch/*") else { return };
    let names: Vec<String> =
        references.filter_map(Result::ok).filter_map(|r| r.name().ok().map(str::to_string)).collect();
    for name in names {
        if let Ok(mut reference) = repo.find_reference(&name) {
            let _ = reference.delete();
        }
    }
}

fn classify_libgit2(error: &git2::Error, spec: &Spec) -> Failure {
    if error.code() == git2::ErrorCode::Auth {
        return Failure::Unavailable(UnavailableReason::CredentialsRequired { message: error.message().to_string() });
    }
    if error.code() == git2::ErrorCode::User {
        return Failure::Network(NetworkFailure::Failed { message: "cancelled".into() });
    }
    let message = process::meaningful_stderr(error.message());
    // libgit2 (v0) reads the server's `ERR upload-pack: not our ref` as a malformed packet; only
    // after a want by id is that the likely meaning, and the next strategy will tell.
    if matches!(spec, Spec::ById(_)) && message.contains("unexpected packet type") {
        return Failure::Refused(message);
    }
    match classify_git_message(&message) {
        // libgit2 says "unexpected http status code: 404" for a missing repository.
        Failure::Network(_) if error.class() == git2::ErrorClass::Http && message.contains("404") => {
            Failure::Unavailable(UnavailableReason::RepositoryNotFound { message })
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(message: &str, expected: &str) {
        let got = match classify_git_message(message) {
            Failure::Refused(_) => "refused",
            Failure::Unavailable(UnavailableReason::RepositoryNotFound { .. }) => "not-found",
            Failure::Unavailable(UnavailableReason::CredentialsRequired { .. }) => "credentials",
            Failure::Unavailable(UnavailableReason::CommitMissing) => "missing",
            Failure::Network(_) => "network",
            Failure::Unsupported(_) | Failure::Error(_) => "other",
        };
        assert_eq!(got, expected, "{message}");
    }

    #[test]
    fn explanations_say_what_the_server_that_was_asked_answered() {
        let (url, mirror, commit) = ("https://github.com/o/r", "https://git.corp.test/o/r", "c0ffee");
        let credentials = UnavailableReason::CredentialsRequired { message: "fatal: Authentication failed".into() };
        assert_eq!(
            credentials.explain(url, url, commit),
            "https://github.com/o/r: the server asked for credentials: the repository is private, deleted, or needs \
             credentials; none were accepted (git: fatal: Authentication failed); commit c0ffee could not be looked for"
        );
        assert!(
            credentials
                .explain(url, mirror, commit)
                .starts_with("the mirror https://git.corp.test/o/r (for https://github.com/o/r, by --git-mirror or insteadOf): the server asked for credentials")
        );
        let gone = UnavailableReason::RepositoryNotFound { message: "remote: Repository not found.".into() };
        assert_eq!(
            gone.explain(url, url, commit),
            "https://github.com/o/r: the server has no such repository (git: remote: Repository not found.); commit \
             c0ffee could not be looked for"
        );
        assert_eq!(
            UnavailableReason::CommitMissing.explain(url, url, commit),
            "commit c0ffee is not in https://github.com/o/r: no branch, tag or fetch by id gives the commit"
        );
    }

    #[test]
    fn classifies_what_servers_say() {
        check("fatal: remote error: upload-pack: not our ref 0123", "refused");
        check("error: Server does not allow request for unadvertised object 0123", "refused");
        check("fatal: couldn't find remote ref refs/heads/gone", "refused");
        check("cannot fetch a specific object from the remote repository", "refused");
        check("fatal: remote error: no such repository: /nope.git", "not-found");
        check("fatal: remote error: access denied or repository not exported: /x", "not-found");
        check("remote: Repository not found.; fatal: repository 'https://h/o/r/' not found", "not-found");
        check("fatal: '/tmp/nope' does not appear to be a git repository", "not-found");
        check("fatal: could not read Username for 'https://h': terminal prompts disabled", "credentials");
        check("git@h: Permission denied (publickey).", "credentials");
        check("fatal: unable to access 'http://h/r/': The requested URL returned error: 403", "credentials");
        check("fatal: unable to connect to 127.0.0.1: errno=Connection refused", "network");
        check("fatal: unable to access 'https://h/': Could not resolve host: h", "network");
        check("fatal: early EOF; fatal: index-pack failed", "network");
    }

    #[test]
    fn commit_ids_must_be_full() {
        assert!(parse_commit("abc").is_err());
        assert!(parse_commit(&"g".repeat(40)).is_err());
        assert!(parse_commit(&"a".repeat(40)).is_ok());
    }
}
