//! Fetching the attested commit from real git servers on 127.0.0.1 (`git http-backend` and
//! `git daemon`, run by the testkit), with both fetchers. `PROVDIFF_TEST_GIT=/path/to/git` runs
//! the git command line fetcher with another git (the servers use the `git` on `PATH`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use provdiff_git::{
    AttemptResult, FetchError, FetchOptions, FetchOutcome, FetchRequest, Fetched, FetcherChoice, FetcherKind,
    GitConfigSource, NetworkFailure, Repository, RewriteStep, Strategy, UnavailableReason, fetch_commit,
};
use provdiff_testkit::{Behaviour, GitProtocol, GitServer, RepoFile, TestRepo, WantPolicy};

const FETCHERS: [FetcherChoice; 2] = [FetcherChoice::GitCli, FetcherChoice::Libgit2];
const PROTOCOLS: [GitProtocol; 2] = [GitProtocol::Http, GitProtocol::Daemon];

fn options(cache: &Path, fetcher: FetcherChoice) -> FetchOptions {
    let mut options = FetchOptions::new(cache);
    options.fetcher = fetcher;
    // Nothing from the machine's git configuration.
    options.git_config = GitConfigSource::Isolated { global: None };
    options.timeout = Duration::from_secs(30);
    if let Some(git) = std::env::var_os("PROVDIFF_TEST_GIT") {
        options.git_program = git.into();
    }
    options
}

fn request(url: &str, commit: &str, git_ref: Option<&str>) -> FetchRequest {
    FetchRequest { url: url.to_string(), commit: commit.to_string(), git_ref: git_ref.map(str::to_string) }
}

#[track_caller]
fn available(outcome: Result<FetchOutcome, FetchError>) -> Box<Fetched> {
    match outcome {
        Ok(FetchOutcome::Available(fetched)) => fetched,
        other => panic!("expected the commit, got {other:?}"),
    }
}

#[track_caller]
fn unavailable(outcome: Result<FetchOutcome, FetchError>) -> UnavailableReason {
    match outcome {
        Ok(FetchOutcome::CommitUnavailable { reason, .. }) => reason,
        other => panic!("expected CommitUnavailable, got {other:?}"),
    }
}

/// Hex text that deflate cannot shrink much, so byte counts mean something.
fn noise(seed: u64, len: usize) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut text = String::with_capacity(len);
    while text.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        text.push_str(&format!("{state:016x}"));
    }
    text.truncate(len);
    text
}

/// `count` commits on `main`; each rewrites three 6 KiB files and keeps five stable ones.
fn build_history(repo: &TestRepo, count: u64) -> Vec<String> {
    (0..count)
        .map(|n| {
            let mut files =
                vec![RepoFile::new("package.json", "{\n  \"name\": \"widget\",\n  \"version\": \"1.2.3\"\n}\n")];
            for stable in 0..5 {
                files.push(RepoFile::new(&format!("lib/stable{stable}.js"), noise(1000 + stable, 2048)));
            }
            for changing in 0..3 {
                files.push(RepoFile::new(&format!("src/part{changing}.js"), noise(n * 10 + changing, 6144)));
            }
            repo.commit(&files, &format!("commit {n}"))
        })
        .collect()
}

/// Bytes the server sends for a plain full clone.
fn full_clone_bytes(server: &GitServer, url: &str) -> u64 {
    let target = tempfile::tempdir().unwrap();
    server.reset_counters();
    let status = Command::new("git")
        .args(["clone", "--bare", "--quiet", url])
        .arg(target.path().join("clone.git"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", target.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .status()
        .unwrap();
    assert!(status.success());
    server.bytes_sent()
}

/// The commit's files, read back from the cache.
fn paths(repository: &Repository, commit: &str) -> Vec<String> {
    repository.commit(commit).unwrap().entries().iter().map(|entry| entry.path.clone()).collect()
}

fn served_with_history(protocol: GitProtocol, policy: WantPolicy) -> (GitServer, Vec<String>) {
    let server = GitServer::start(protocol);
    let repo = server.create_repo("widget.git");
    let commits = build_history(&repo, 30);
    server.set_want_policy("widget.git", policy);
    (server, commits)
}

#[track_caller]
fn assert_about_one_commit(fetched: &Fetched, server_bytes: u64, full_bytes: u64) {
    let transfer = fetched.transfer.expect("a fetch reports what it moved");
    // One commit: the commit, its trees and its nine blobs (a few more for a tag or two).
    assert!(transfer.objects <= 16, "{} objects moved for one commit", transfer.objects);
    assert!(transfer.bytes > 0);
    assert!(transfer.bytes * 5 < full_bytes, "{} pack bytes against {full_bytes} for a full clone", transfer.bytes);
    assert!(server_bytes * 5 < full_bytes, "the server sent {server_bytes} bytes against {full_bytes} for a clone");
}

#[test]
fn git_cli_fetches_one_commit_by_id_over_both_transports() {
    for protocol in PROTOCOLS {
        // Protocol v2 fetches any commit by id, whatever the server's v0 policy says.
        let (server, commits) = served_with_history(protocol, WantPolicy::Advertised);
        let url = server.url("widget.git");
        let full = full_clone_bytes(&server, &url);
        let cache = tempfile::tempdir().unwrap();
        let wanted = &commits[10];
        server.reset_counters();
        let fetched =
            available(fetch_commit(&request(&url, wanted, None), &options(cache.path(), FetcherChoice::GitCli)));
        assert_eq!(fetched.strategy, Strategy::ById, "{protocol:?}");
        assert_eq!(fetched.fetcher, Some(FetcherKind::GitCli));
        assert_eq!(fetched.effective_url.as_deref(), Some(url.as_str()));
        assert!(fetched.attempts.is_empty());
        assert_about_one_commit(&fetched, server.bytes_sent(), full);
        assert_eq!(paths(&fetched.repository, wanted).len(), 9);
        assert_eq!(fetched.repository.location(), url);
    }
}

#[test]
fn libgit2_fetches_by_id_when_the_server_allows_it() {
    for protocol in PROTOCOLS {
        for policy in [WantPolicy::Reachable, WantPolicy::Any] {
            let (server, commits) = served_with_history(protocol, policy);
            let url = server.url("widget.git");
            let full = full_clone_bytes(&server, &url);
            let cache = tempfile::tempdir().unwrap();
            server.reset_counters();
            // The progress reported is the transfer's own: the last report is everything received.
            let reports = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let sink = {
                let reports = std::sync::Arc::clone(&reports);
                provdiff_core::ProgressSink::new(move |transferred| reports.lock().unwrap().push(transferred))
            };
            let fetched = available(fetch_commit(
                &request(&url, &commits[3], None),
                &FetchOptions { progress: Some(sink), ..options(cache.path(), FetcherChoice::Libgit2) },
            ));
            assert_eq!(
                (fetched.strategy, fetched.fetcher),
                (Strategy::ById, Some(FetcherKind::Libgit2)),
                "{protocol:?} {:?}",
                fetched.attempts
            );
            assert_about_one_commit(&fetched, server.bytes_sent(), full);
            let last = *reports.lock().unwrap().last().expect("libgit2 reported no progress");
            let transfer = fetched.transfer.expect("a transfer");
            assert_eq!(
                (last.bytes, last.objects.map(|(received, _)| received)),
                (transfer.bytes, Some(transfer.objects))
            );
            assert_eq!(paths(&fetched.repository, &commits[3]).len(), 9);
        }
    }
}

#[test]
fn libgit2_falls_back_to_the_attested_ref_then_to_a_full_fetch() {
    for protocol in PROTOCOLS {
        let (server, commits) = served_with_history(protocol, WantPolicy::Advertised);
        let url = server.url("widget.git");
        let tip = commits.last().unwrap();

        // The tip of the attested ref: the depth-1 ref fetch has it.
        let cache = tempfile::tempdir().unwrap();
        let fetched = available(fetch_commit(
            &request(&url, tip, Some("refs/heads/main")),
            &options(cache.path(), FetcherChoice::Libgit2),
        ));
        assert_eq!(fetched.strategy, Strategy::AttestedRef, "{protocol:?}");
        let [refused] = fetched.attempts.as_slice() else { panic!("{:?}", fetched.attempts) };
        assert_eq!(refused.strategy, Strategy::ById);
        let AttemptResult::Refused { message } = &refused.result else { panic!("{refused:?}") };
        assert!(message.contains("cannot fetch a specific object"), "{message}");
        assert!(fetched.transfer.unwrap().objects <= 16);

        // The ref moved on since: only the full fetch has the commit.
        let cache = tempfile::tempdir().unwrap();
        let old = &commits[5];
        let fetched = available(fetch_commit(
            &request(&url, old, Some("refs/heads/main")),
            &options(cache.path(), FetcherChoice::Libgit2),
        ));
        assert_eq!(fetched.strategy, Strategy::Full);
        let results: Vec<_> =
            fetched.attempts.iter().map(|a| (a.strategy, matches!(a.result, AttemptResult::NotIncluded))).collect();
        assert_eq!(results, [(Strategy::ById, false), (Strategy::AttestedRef, true)]);
        assert_eq!(paths(&fetched.repository, old).len(), 9);
        // No ref the full fetch needed is left behind.
        let cached = git2::Repository::open_bare(&fetched.cache_path).unwrap();
        let refs: Vec<String> = cached.references().unwrap().map(|r| r.unwrap().name().unwrap().to_string()).collect();
        assert_eq!(refs, [format!("refs/provdiff/commits/{old}")]);
    }
}

#[test]
fn a_warm_cache_needs_no_network_and_offline_uses_only_the_cache() {
    let (mut server, commits) = served_with_history(GitProtocol::Http, WantPolicy::Advertised);
    let url = server.url("widget.git");
    let cache = tempfile::tempdir().unwrap();
    let mut offline = options(cache.path(), FetcherChoice::Auto);
    offline.offline = true;

    let error = fetch_commit(&request(&url, &commits[0], None), &offline).unwrap_err();
    let FetchError::Offline { what } = &error else { panic!("{error:?}") };
    assert!(what.starts_with("no cached copy of http://127.0.0.1:"), "{what}");
    assert!(error.to_string().starts_with("offline: no cached copy of "), "{error}");

    available(fetch_commit(&request(&url, &commits[0], None), &options(cache.path(), FetcherChoice::Auto)));
    server.stop();
    for choice in [FetcherChoice::Auto, FetcherChoice::GitCli, FetcherChoice::Libgit2] {
        let fetched = available(fetch_commit(&request(&url, &commits[0], None), &options(cache.path(), choice)));
        assert_eq!((fetched.strategy, fetched.fetcher, fetched.transfer), (Strategy::Cached, None, None));
        assert_eq!(paths(&fetched.repository, &commits[0]).len(), 9);
    }
    let fetched = available(fetch_commit(&request(&url, &commits[0], None), &offline));
    assert_eq!(fetched.strategy, Strategy::Cached);

    // Another commit of the same repository is not there.
    let error = fetch_commit(&request(&url, &commits[1], None), &offline).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("offline: commit {} of {url} is not in the cache ({})", commits[1], fetched.cache_path.display())
    );
}

#[test]
fn insteadof_in_the_git_configuration_rewrites_for_both_fetchers() {
    let (server, commits) = served_with_history(GitProtocol::Http, WantPolicy::Reachable);
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("gitconfig");
    // The longer prefix wins; the shorter rule would send the fetch nowhere.
    fs_err::write(
        &config,
        format!(
            "[url \"http://127.0.0.1:1/wrong/\"]\n\tinsteadOf = https://git.example.test/\n[url \"{}\"]\n\tinsteadOf = https://git.example.test/team/\n",
            server.base_url()
        ),
    )
    .unwrap();
    for fetcher in FETCHERS {
        let cache = tempfile::tempdir().unwrap();
        let mut options = options(cache.path(), fetcher);
        options.git_config = GitConfigSource::Isolated { global: Some(config.clone()) };
        let fetched =
            available(fetch_commit(&request("https://git.example.test/team/widget.git", &commits[0], None), &options));
        assert_eq!(fetched.effective_url.as_deref(), Some(server.url("widget.git").as_str()), "{fetcher:?}");
        assert_eq!(
            fetched.rewrites,
            [RewriteStep::InsteadOf { base: server.base_url(), prefix: "https://git.example.test/team/".into() }]
        );
        assert_eq!(fetched.url, "https://git.example.test/team/widget.git");
        assert_eq!(fetched.repository.location(), "https://git.example.test/team/widget.git");
    }
}

#[test]
fn git_mirror_rewrites_and_the_cache_is_keyed_by_the_attested_url() {
    let (mut server, commits) = served_with_history(GitProtocol::Daemon, WantPolicy::Reachable);
    let attested = "https://github.com/provdiff-tests/widget.git";
    for fetcher in FETCHERS {
        let cache = tempfile::tempdir().unwrap();
        let mut options = options(cache.path(), fetcher);
        options.rewrites.add_mirror(&format!("https://github.com/provdiff-tests/={}", server.base_url())).unwrap();
        let fetched = available(fetch_commit(&request(attested, &commits[2], None), &options));
        assert_eq!(fetched.effective_url.as_deref(), Some(server.url("widget.git").as_str()));
        assert!(matches!(fetched.rewrites.as_slice(), [RewriteStep::Mirror { .. }]));
        assert_eq!(fetched.strategy, Strategy::ById);
    }
    // Fetched through a mirror, found again for the attested URL, in any spelling, offline.
    let cache = tempfile::tempdir().unwrap();
    let mut mirrored = options(cache.path(), FetcherChoice::Auto);
    mirrored.rewrites.add_mirror(&format!("https://github.com/provdiff-tests/={}", server.base_url())).unwrap();
    available(fetch_commit(&request(attested, &commits[2], None), &mirrored));
    server.stop();
    let mut offline = options(cache.path(), FetcherChoice::Auto);
    offline.offline = true;
    for spelling in [attested, "git@github.com:provdiff-tests/widget", "ssh://git@GitHub.com/provdiff-tests/widget/"] {
        let fetched = available(fetch_commit(&request(spelling, &commits[2], None), &offline));
        assert_eq!(fetched.strategy, Strategy::Cached, "{spelling}");
    }
}

#[test]
fn concurrent_fetches_share_one_consistent_cache() {
    let (server, commits) = served_with_history(GitProtocol::Http, WantPolicy::Reachable);
    let url = server.url("widget.git");
    let cache = tempfile::tempdir().unwrap();
    let wanted = [&commits[1], &commits[1], &commits[7], &commits[7], &commits[20], &commits[1]];
    std::thread::scope(|scope| {
        let handles: Vec<_> = wanted
            .iter()
            .enumerate()
            .map(|(n, commit)| {
                let options = options(cache.path(), FETCHERS[n % 2]);
                let request = request(&url, commit, None);
                scope.spawn(move || available(fetch_commit(&request, &options)))
            })
            .collect();
        for (handle, commit) in handles.into_iter().zip(wanted) {
            let fetched = handle.join().unwrap();
            assert_eq!(paths(&fetched.repository, commit).len(), 9);
        }
    });
    let entries: Vec<String> =
        fs_err::read_dir(cache.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(entries.iter().filter(|name| name.ends_with(".git")).count(), 1, "{entries:?}");
    assert!(!entries.iter().any(|name| name.starts_with(".init-")), "{entries:?}");
    let repo_dir = cache.path().join(entries.iter().find(|name| name.ends_with(".git")).unwrap());
    let repo = git2::Repository::open_bare(&repo_dir).unwrap();
    for commit in [&commits[1], &commits[7], &commits[20]] {
        assert_eq!(repo.refname_to_id(&format!("refs/provdiff/commits/{commit}")).unwrap().to_string(), **commit);
    }
}

#[test]
fn an_interrupted_fetch_leaves_nothing_trusted() {
    for fetcher in FETCHERS {
        let (server, commits) = served_with_history(GitProtocol::Http, WantPolicy::Reachable);
        let url = server.url("widget.git");
        let cache = tempfile::tempdir().unwrap();
        // The ref advertisement fits; the pack (tens of KiB) does not.
        server.set_behaviour(Behaviour::CutAfter(6000));
        let error = fetch_commit(&request(&url, &commits[4], None), &options(cache.path(), fetcher)).unwrap_err();
        assert!(error.is_network(), "{fetcher:?}: {error}");

        let repo_dir = fs_err::read_dir(cache.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|path| path.extension().is_some_and(|ext| ext == "git"))
            .expect("the repository was created before the fetch");
        let repo = git2::Repository::open_bare(&repo_dir).unwrap();
        assert_eq!(repo.references().unwrap().count(), 0, "{fetcher:?}");
        let shallow = std::fs::read_to_string(repo_dir.join("shallow")).unwrap_or_default();
        assert!(!shallow.contains(commits[4].as_str()), "{fetcher:?}: {shallow}");
        let mut offline = options(cache.path(), fetcher);
        offline.offline = true;
        assert!(matches!(fetch_commit(&request(&url, &commits[4], None), &offline), Err(FetchError::Offline { .. })));

        server.set_behaviour(Behaviour::Serve);
        let fetched = available(fetch_commit(&request(&url, &commits[4], None), &options(cache.path(), fetcher)));
        assert_eq!(fetched.strategy, Strategy::ById);
    }
}

#[test]
fn an_unreachable_server_is_a_network_error_not_a_verdict() {
    for protocol in PROTOCOLS {
        let (server, commits) = served_with_history(protocol, WantPolicy::Reachable);
        let url = server.url("widget.git");
        server.set_behaviour(Behaviour::Hang);
        for fetcher in FETCHERS {
            let cache = tempfile::tempdir().unwrap();
            let mut options = options(cache.path(), fetcher);
            options.timeout = Duration::from_secs(1);
            let error = fetch_commit(&request(&url, &commits[0], None), &options).unwrap_err();
            let FetchError::Network { failure, .. } = &error else { panic!("{error:?}") };
            assert_eq!(
                *failure,
                NetworkFailure::TimedOut { after: Duration::from_secs(1) },
                "{protocol:?} {fetcher:?}"
            );
            assert!(error.to_string().contains("no progress for 1 s"), "{error}");
        }
        drop(server);
        // Nothing listens any more: refused at once.
        for fetcher in FETCHERS {
            let cache = tempfile::tempdir().unwrap();
            let error = fetch_commit(&request(&url, &commits[0], None), &options(cache.path(), fetcher)).unwrap_err();
            let FetchError::Network { failure: NetworkFailure::Failed { message }, .. } = &error else {
                panic!("{error:?}")
            };
            assert!(!message.is_empty());
        }
    }
}

#[test]
fn a_commit_force_pushed_away_is_unavailable() {
    for protocol in PROTOCOLS {
        for fetcher in FETCHERS {
            let (server, commits) = served_with_history(protocol, WantPolicy::Reachable);
            let url = server.url("widget.git");
            server.force_push_away("widget.git", "main", &commits[3]);
            let cache = tempfile::tempdir().unwrap();
            let outcome =
                fetch_commit(&request(&url, &commits[20], Some("refs/heads/main")), &options(cache.path(), fetcher));
            let Ok(FetchOutcome::CommitUnavailable { commit, reason, attempts, .. }) = outcome else {
                panic!("{outcome:?}")
            };
            assert_eq!(commit, commits[20]);
            assert_eq!(reason, UnavailableReason::CommitMissing, "{protocol:?} {fetcher:?}");
            let tried: Vec<Strategy> = attempts.iter().map(|a| a.strategy).collect();
            assert_eq!(tried, [Strategy::ById, Strategy::AttestedRef, Strategy::Full]);
            // Commits that survived are still fetched.
            available(fetch_commit(&request(&url, &commits[2], None), &options(cache.path(), fetcher)));
        }
    }
}

#[test]
fn a_missing_repository_is_unavailable() {
    for protocol in PROTOCOLS {
        let (server, commits) = served_with_history(protocol, WantPolicy::Reachable);
        for fetcher in FETCHERS {
            let cache = tempfile::tempdir().unwrap();
            let reason = unavailable(fetch_commit(
                &request(&server.url("gone.git"), &commits[0], None),
                &options(cache.path(), fetcher),
            ));
            assert!(
                matches!(reason, UnavailableReason::RepositoryNotFound { .. }),
                "{protocol:?} {fetcher:?}: {reason:?}"
            );
        }
    }
}

#[test]
fn credentials_come_from_helpers_and_never_reach_the_cache() {
    let (server, commits) = served_with_history(GitProtocol::Http, WantPolicy::Reachable);
    server.require_basic_auth("reader", "s3cret-token");
    let url = server.url("widget.git");

    // Without credentials: the server asked for some, with no prompt, and the explanation says
    // exactly that (not that the commit is missing).
    for fetcher in FETCHERS {
        let cache = tempfile::tempdir().unwrap();
        let reason = unavailable(fetch_commit(&request(&url, &commits[0], None), &options(cache.path(), fetcher)));
        assert!(matches!(reason, UnavailableReason::CredentialsRequired { .. }), "{fetcher:?}: {reason:?}");
        let said = reason.explain(&url, &url, &commits[0]);
        assert!(
            said.starts_with(&format!(
                "{url}: the server asked for credentials: the repository is private, deleted, or needs credentials; \
                 none were accepted (git: "
            )),
            "{fetcher:?}: {said}"
        );
        assert!(said.ends_with(&format!("; commit {} could not be looked for", commits[0])), "{said}");
    }

    // With git's credential store as the helper.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("credentials");
    fs_err::write(&store, format!("{}\n", url.replace("http://", "http://reader:s3cret-token@"))).unwrap();
    let config = dir.path().join("gitconfig");
    fs_err::write(&config, format!("[credential]\n\thelper = store --file={}\n", store.display())).unwrap();
    for fetcher in FETCHERS {
        let cache = tempfile::tempdir().unwrap();
        let mut options = options(cache.path(), fetcher);
        options.git_config = GitConfigSource::Isolated { global: Some(config.clone()) };
        let fetched = available(fetch_commit(&request(&url, &commits[0], None), &options));
        assert_eq!(fetched.strategy, Strategy::ById, "{fetcher:?}");
        assert_no_secret(cache.path(), "s3cret-token");
    }

    // Credentials in the URL itself are used, and shown nowhere.
    for fetcher in FETCHERS {
        let cache = tempfile::tempdir().unwrap();
        let with_secret = url.replace("http://", "http://reader:s3cret-token@");
        let fetched =
            available(fetch_commit(&request(&with_secret, &commits[0], None), &options(cache.path(), fetcher)));
        assert!(!format!("{fetched:?}").contains("s3cret"), "{fetched:?}");
        assert_eq!(fetched.url, url.replace("http://", "http://***@"));
        assert_no_secret(cache.path(), "s3cret-token");
    }
}

#[track_caller]
fn assert_no_secret(dir: &Path, secret: &str) {
    for entry in walk(dir) {
        if entry.is_file() {
            let content = std::fs::read(&entry).unwrap();
            assert!(
                !content.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{} holds the secret",
                entry.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs_err::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn local_repositories_fetch_with_both_fetchers() {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init_bare(&dir.path().join("local.git"));
    let commits = build_history(&repo, 5);
    let path = dir.path().join("local.git").display().to_string();
    for url in [path.clone(), format!("file://{path}")] {
        for fetcher in FETCHERS {
            let cache = tempfile::tempdir().unwrap();
            let fetched = available(fetch_commit(&request(&url, &commits[1], None), &options(cache.path(), fetcher)));
            assert_eq!(paths(&fetched.repository, &commits[1]).len(), 9, "{url} {fetcher:?}");
            let second = available(fetch_commit(&request(&url, &commits[1], None), &options(cache.path(), fetcher)));
            assert_eq!(second.strategy, Strategy::Cached);
        }
    }
}

#[test]
fn choosing_a_fetcher() {
    let (server, commits) = served_with_history(GitProtocol::Http, WantPolicy::Reachable);
    let url = server.url("widget.git");
    let cache = tempfile::tempdir().unwrap();

    let mut no_git = options(cache.path(), FetcherChoice::GitCli);
    no_git.git_program = "/nonexistent/git".into();
    let error = fetch_commit(&request(&url, &commits[0], None), &no_git).unwrap_err();
    assert!(matches!(error, FetchError::NoGit { .. }), "{error:?}");

    // Auto without git falls back to libgit2.
    no_git.fetcher = FetcherChoice::Auto;
    let fetched = available(fetch_commit(&request(&url, &commits[0], None), &no_git));
    assert_eq!(fetched.fetcher, Some(FetcherKind::Libgit2));

    // Auto with git uses it.
    let cache = tempfile::tempdir().unwrap();
    let fetched =
        available(fetch_commit(&request(&url, &commits[0], None), &options(cache.path(), FetcherChoice::Auto)));
    assert_eq!(fetched.fetcher, Some(FetcherKind::GitCli));

    // libgit2 here has no TLS: it says so rather than failing obscurely.
    let error = fetch_commit(
        &request("https://git.example.test/widget.git", &commits[0], None),
        &options(cache.path(), FetcherChoice::Libgit2),
    )
    .unwrap_err();
    assert!(matches!(error, FetchError::Unsupported { fetcher: FetcherKind::Libgit2, .. }), "{error:?}");
}

#[test]
fn bad_requests_are_refused_before_any_network() {
    let cache = tempfile::tempdir().unwrap();
    let options = options(cache.path(), FetcherChoice::Auto);
    let commit = "0123456789012345678901234567890123456789";
    for (url, commit) in [("https://h/r", "abc123"), ("ext::sh -c x", commit), ("-u", commit), ("fd::3", commit)] {
        let error = fetch_commit(&request(url, commit, None), &options).unwrap_err();
        assert!(matches!(error, FetchError::BadUrl { .. } | FetchError::BadCommitId { .. }), "{url}: {error:?}");
    }
    assert_eq!(fs_err::read_dir(cache.path()).unwrap().count(), 0);
}

#[test]
fn lfs_pointers_and_submodules_are_detected() {
    let dir = tempfile::tempdir().unwrap();
    let repo = TestRepo::init_bare(&dir.path().join("r.git"));
    let oid = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
    let sub = "89abcdef0123456789abcdef0123456789abcdef";
    let commit = repo.commit(
        &[
            RepoFile::new("package.json", "{}\n"),
            RepoFile::new(
                "assets/logo.png",
                format!("version https://git-lfs.github.com/spec/v1\noid sha256:{oid}\nsize 4096\n"),
            ),
            RepoFile::new("docs/lfs.md", "version https://git-lfs.github.com/spec/v1 is described here\n"),
            RepoFile::new("big.txt", format!("version https://git-lfs.github.com/spec/v1\n{}", noise(7, 4000))),
            RepoFile::symlink("link", "assets/logo.png"),
            RepoFile::submodule("vendor/lib", sub),
        ],
        "lfs and a submodule",
    );
    let repository = Repository::open(&dir.path().join("r.git")).unwrap();
    let commit = repository.commit(&commit).unwrap();
    let pointers = commit.lfs_pointers().unwrap();
    assert_eq!(pointers.len(), 1, "{pointers:?}");
    assert_eq!(pointers[0].path, "assets/logo.png");
    assert_eq!((pointers[0].sha256.as_deref(), pointers[0].size), (Some(oid), Some(4096)));
    assert_eq!(commit.submodules(), [("vendor/lib", sub)]);
}

#[test]
fn a_chain_of_insteadof_rules_is_applied_once_as_git_does() {
    let (server, commits) = served_with_history(GitProtocol::Http, WantPolicy::Reachable);
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("gitconfig");
    // One pass takes the URL to the server; a second pass would take it nowhere.
    fs_err::write(
        &config,
        format!(
            "[url \"{base}\"]\n\tinsteadOf = https://git.example.test/\n[url \"http://127.0.0.1:1/wrong/\"]\n\tinsteadOf = {base}\n",
            base = server.base_url()
        ),
    )
    .unwrap();
    for fetcher in FETCHERS {
        let cache = tempfile::tempdir().unwrap();
        let mut options = options(cache.path(), fetcher);
        options.git_config = GitConfigSource::Isolated { global: Some(config.clone()) };
        let fetched =
            available(fetch_commit(&request("https://git.example.test/widget.git", &commits[0], None), &options));
        assert_eq!(fetched.effective_url.as_deref(), Some(server.url("widget.git").as_str()), "{fetcher:?}");
    }
}
