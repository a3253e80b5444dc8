//! Measures `fetch_commit` against the testkit's git server on 127.0.0.1: a cold fetch of one
//! commit by each fetcher over each transport (time, pack bytes, objects, bytes the server sent,
//! against a full clone), then warm-cache runs (no network). A benchmark, not a test:
//!
//! ```text
//! cargo run --release -p provdiff-git --example fetch_timing [COMMITS] [WARM_RUNS]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use provdiff_git::{FetchOptions, FetchOutcome, FetchRequest, FetcherChoice, GitConfigSource, fetch_commit};
use provdiff_testkit::{GitProtocol, GitServer, RepoFile, WantPolicy};

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

fn main() {
    let mut args = std::env::args().skip(1);
    let commits: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let warm_runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    println!("repository: {commits} commits, each rewriting 3 of 40 files (6 KiB of noise each)");
    for protocol in [GitProtocol::Http, GitProtocol::Daemon] {
        let server = GitServer::start(protocol);
        let repo = server.create_repo("widget.git");
        let mut ids = Vec::new();
        for n in 0..commits {
            let mut files = vec![RepoFile::new("package.json", "{\"name\":\"widget\",\"version\":\"1.0.0\"}\n")];
            for stable in 0..37 {
                files.push(RepoFile::new(&format!("lib/f{stable}.js"), noise(10_000 + stable, 2048)));
            }
            for changing in 0..3 {
                files.push(RepoFile::new(&format!("src/p{changing}.js"), noise(n * 10 + changing, 6144)));
            }
            ids.push(repo.commit(&files, &format!("commit {n}")));
        }
        server.set_want_policy("widget.git", WantPolicy::Reachable);
        let url = server.url("widget.git");
        let wanted = &ids[ids.len() / 2];
        for fetcher in [FetcherChoice::GitCli, FetcherChoice::Libgit2] {
            let cache = tempfile::tempdir().unwrap();
            let mut options = FetchOptions::new(cache.path());
            options.fetcher = fetcher;
            options.git_config = GitConfigSource::Isolated { global: None };
            let request = FetchRequest { url: url.clone(), commit: wanted.clone(), git_ref: None };
            server.reset_counters();
            let start = Instant::now();
            let outcome = fetch_commit(&request, &options).unwrap();
            let cold = start.elapsed();
            let FetchOutcome::Available(fetched) = outcome else { panic!("{outcome:?}") };
            let sent = server.bytes_sent();
            let transfer = fetched.transfer.unwrap_or_default();
            let mut warm = Vec::new();
            for _ in 0..warm_runs {
                let start = Instant::now();
                let outcome = fetch_commit(&request, &options).unwrap();
                let FetchOutcome::Available(fetched) = outcome else { panic!() };
                // What the caller does next: list the commit.
                let listed = fetched.repository.commit(wanted).unwrap().entries().len();
                assert_eq!(listed, 41);
                warm.push(start.elapsed());
            }
            warm.sort();
            println!(
                "{protocol:?} {fetcher:?}: cold {} ({}, pack {} B, {} objects, server sent {} B); warm median {} max {} over {warm_runs} runs",
                ms(cold),
                fetched.strategy,
                transfer.bytes,
                transfer.objects,
                sent,
                ms(warm[warm.len() / 2]),
                ms(warm[warm.len() - 1]),
            );
        }
        let clone = tempfile::tempdir().unwrap();
        server.reset_counters();
        let status = std::process::Command::new("git")
            .args(["clone", "--bare", "--quiet", &url])
            .arg(clone.path().join("c.git"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .unwrap();
        assert!(status.success());
        println!("{protocol:?}: a full clone makes the server send {} B", server.bytes_sent());
    }
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}
