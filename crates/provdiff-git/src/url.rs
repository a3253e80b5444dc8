//! Repository URLs: which transports provdiff accepts, how a URL is keyed in the cache, how it is
//! shown without secrets, and how it is rewritten (`--git-mirror` and git's `url.<base>.insteadOf`)
//! before any fetcher sees it.
//!
//! Rewriting happens here, once, for both fetchers, so that where provdiff fetches from never
//! depends on which fetcher ran. It must not touch the network or the cache.

use std::path::{Path, PathBuf};

use crate::fetch::FetchError;

/// How a repository is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Https,
    Http,
    Ssh,
    /// `git://`, the git daemon's protocol.
    Git,
    /// A local path or `file://` URL.
    Local,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Https => "https",
            Transport::Http => "http",
            Transport::Ssh => "ssh",
            Transport::Git => "git",
            Transport::Local => "file",
        }
    }
}

/// A repository URL provdiff is willing to fetch from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoUrl {
    /// The URL as given (trimmed, `git+` prefix dropped).
    text: String,
    transport: Transport,
    /// Lower-cased host, without user or port; empty for local repositories.
    host: String,
    port: Option<u16>,
    /// For local repositories the file-system path; otherwise the path part of the URL.
    path: String,
}

fn bad(url: &str, reason: &'static str) -> FetchError {
    FetchError::BadUrl { url: redact(url), reason }
}

impl RepoUrl {
    /// Accepts `https://`, `http://`, `ssh://`, `git://`, `file://`, the scp-like `user@host:path`
    /// and local paths. Anything else (`ext::`, `fd::`, helpers) is refused: a URL comes from
    /// provenance or configuration and must not be able to run a program.
    pub fn parse(url: &str) -> Result<Self, FetchError> {
        let text = url.trim();
        if text.is_empty() {
            return Err(bad(url, "it is empty"));
        }
        if text.starts_with('-') {
            return Err(bad(url, "it starts with `-`"));
        }
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad(url, "it contains white space or control characters"));
        }
        let text = text.strip_prefix("git+").unwrap_or(text);
        // `helper::address` makes git run `git-remote-helper`, whatever the helper is.
        let scheme_len = text.find(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c))).unwrap_or(0);
        if scheme_len > 0 && text[scheme_len..].starts_with("::") {
            return Err(bad(url, "it names a remote helper (`helper::address`)"));
        }
        if let Some((scheme, rest)) = text.split_once("://") {
            let transport = match scheme.to_ascii_lowercase().as_str() {
                "https" => Transport::Https,
                "http" => Transport::Http,
                "ssh" | "ssh+git" => Transport::Ssh,
                "git" => Transport::Git,
                "file" => Transport::Local,
                _ => return Err(bad(url, "its scheme is not https, http, ssh, git or file")),
            };
            if transport == Transport::Local {
                if !rest.starts_with('/') {
                    return Err(bad(url, "a file:// URL needs an absolute path"));
                }
                return Ok(Self {
                    text: text.to_string(),
                    transport,
                    host: String::new(),
                    port: None,
                    path: rest.into(),
                });
            }
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
            let (host, port) = split_port(host_port).ok_or_else(|| bad(url, "its port is not a number"))?;
            check_host(url, host)?;
            return Ok(Self {
                text: text.to_string(),
                transport,
                host: host.to_ascii_lowercase(),
                port,
                path: path.into(),
            });
        }
        // scp-like `[user@]host:path`, as git reads it: a colon before any slash.
        if let Some(colon) = text.find(':') {
            let before = &text[..colon];
            if !before.contains('/') && colon > 1 {
                let host = before.rsplit_once('@').map_or(before, |(_, host)| host);
                check_host(url, host)?;
                let path = &text[colon + 1..];
                return Ok(Self {
                    text: text.to_string(),
                    transport: Transport::Ssh,
                    host: host.to_ascii_lowercase(),
                    port: None,
                    path: path.to_string(),
                });
            }
        }
        Ok(Self {
            text: text.to_string(),
            transport: Transport::Local,
            host: String::new(),
            port: None,
            path: text.into(),
        })
    }

    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The local repository's path, for local URLs.
    pub fn local_path(&self) -> Option<&Path> {
        (self.transport == Transport::Local).then(|| Path::new(&self.path))
    }

    /// What the git command line is given: local paths become absolute `file://` URLs, so that
    /// git uses its pack protocol (which honours `--depth`) rather than copying files.
    pub fn for_git_cli(&self) -> String {
        match self.local_path() {
            Some(path) if !self.text.starts_with("file://") => format!("file://{}", absolute(path).display()),
            _ => self.text.clone(),
        }
    }

    /// The cache key: host, non-default port and path, without scheme, user or a trailing `.git`,
    /// so `https://host/o/r`, `git@host:o/r.git` and `ssh://git@host/o/r` share one cache entry.
    /// Objects are addressed by their hash, so where a commit came from does not change what it is.
    pub fn cache_key(&self) -> String {
        if self.transport == Transport::Local {
            let path = Path::new(&self.path);
            let path = std::fs::canonicalize(path).unwrap_or_else(|_| absolute(path));
            return format!("file{}", path.display()).trim_end_matches('/').to_string();
        }
        let default_port = match self.transport {
            Transport::Https => 443,
            Transport::Http => 80,
            Transport::Ssh => 22,
            Transport::Git => 9418,
            Transport::Local => 0,
        };
        let port = self.port.filter(|&port| port != default_port).map(|port| format!(":{port}")).unwrap_or_default();
        let path = self.path.trim_matches('/');
        let path = path.strip_suffix(".git").unwrap_or(path).trim_end_matches('/');
        format!("{}{port}/{path}", self.host)
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn split_port(host_port: &str) -> Option<(&str, Option<u16>)> {
    // `[::1]:8080`: the brackets belong to the host.
    let (host, port) = if let Some(end) = host_port.strip_prefix('[').and_then(|rest| rest.find(']')) {
        let (host, rest) = host_port.split_at(end + 2);
        (host, rest.strip_prefix(':'))
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    match port {
        None | Some("") => Some((host, None)),
        Some(port) => port.parse().ok().map(|port| (host, Some(port))),
    }
}

fn check_host(url: &str, host: &str) -> Result<(), FetchError> {
    if host.is_empty() {
        return Err(bad(url, "it names no host"));
    }
    // Git refuses these too: ssh would read a leading `-` as an option.
    if host.starts_with('-') {
        return Err(bad(url, "its host starts with `-`"));
    }
    Ok(())
}

/// The URL with any user name and password of an http(s) URL replaced by `***` (tokens are
/// often passed as the user name), fit for messages and reports. ssh user names are kept.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_string() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else { return url.to_string() };
    let scheme_lower = scheme.to_ascii_lowercase();
    if scheme_lower.starts_with("ssh") || scheme_lower == "git+ssh" {
        // Only a password is secret here.
        return match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_string(),
        };
    }
    format!("{scheme}://***{}", &rest[at..])
}

/// One rewrite that was applied, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RewriteStep {
    /// `--git-mirror FROM=TO`.
    Mirror { from: String, to: String },
    /// `url.<base>.insteadOf = <prefix>` from the git configuration.
    InsteadOf { base: String, prefix: String },
}

impl std::fmt::Display for RewriteStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RewriteStep::Mirror { from, to } => write!(f, "--git-mirror {}={}", redact(from), redact(to)),
            RewriteStep::InsteadOf { base, prefix } => {
                write!(f, "url.{}.insteadOf {}", redact(base), redact(prefix))
            }
        }
    }
}

/// Where the git configuration comes from: the user's (system, XDG and global files, honouring
/// `GIT_CONFIG_GLOBAL`, `GIT_CONFIG_SYSTEM` and `GIT_CONFIG_NOSYSTEM` as git does), or only the
/// given file (tests, and runs that must not depend on the user's setup).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum GitConfigSource {
    #[default]
    User,
    Isolated {
        global: Option<PathBuf>,
    },
}

impl GitConfigSource {
    /// Opens the configuration the fetchers will see. Repository-level configuration never
    /// applies: the cache's repositories are provdiff's own.
    pub(crate) fn open(&self) -> Result<git2::Config, FetchError> {
        let config_error = |source| FetchError::Config { source };
        let mut config = git2::Config::new().map_err(config_error)?;
        let mut add = |path: PathBuf, level| -> Result<(), FetchError> {
            if path.is_file() {
                config
                    .add_file(&path, level, false)
                    .map_err(|source| FetchError::ConfigFile { path: path.clone(), source })?;
            }
            Ok(())
        };
        match self {
            GitConfigSource::Isolated { global } => {
                if let Some(global) = global {
                    add(global.clone(), git2::ConfigLevel::Global)?;
                }
            }
            GitConfigSource::User => {
                let env = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
                let no_system = env("GIT_CONFIG_NOSYSTEM")
                    .is_some_and(|value| !matches!(value.to_str(), Some("0" | "false" | "no" | "off")));
                if !no_system {
                    let system =
                        env("GIT_CONFIG_SYSTEM").map(PathBuf::from).or_else(|| git2::Config::find_system().ok());
                    if let Some(system) = system {
                        add(system, git2::ConfigLevel::System)?;
                    }
                }
                if let Some(global) = env("GIT_CONFIG_GLOBAL") {
                    add(PathBuf::from(global), git2::ConfigLevel::Global)?;
                } else {
                    if let Ok(xdg) = git2::Config::find_xdg() {
                        add(xdg, git2::ConfigLevel::XDG)?;
                    }
                    if let Ok(global) = git2::Config::find_global() {
                        add(global, git2::ConfigLevel::Global)?;
                    }
                }
            }
        }
        Ok(config)
    }
}

/// The URL rewrites to apply before fetching: `--git-mirror` rules, then git's `insteadOf`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlRewrites {
    mirrors: Vec<(String, String)>,
    /// `(prefix, base)`: a URL starting with `prefix` has it replaced by `base`.
    instead_of: Vec<(String, String)>,
}

/// A URL after rewriting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewritten {
    pub url: String,
    pub steps: Vec<RewriteStep>,
}

impl UrlRewrites {
    /// Adds a `--git-mirror FROM=TO` rule: URLs starting with `FROM` start with `TO` instead.
    pub fn add_mirror(&mut self, rule: &str) -> Result<(), FetchError> {
        let invalid = || FetchError::BadMirror { rule: redact(rule) };
        let (from, to) = rule.split_once('=').ok_or_else(invalid)?;
        if from.is_empty() || to.is_empty() {
            return Err(invalid());
        }
        self.mirrors.push((from.to_string(), to.to_string()));
        Ok(())
    }

    /// Adds every `url.<base>.insteadOf` of `config` (`pushInsteadOf` concerns pushes only).
    pub(crate) fn add_instead_of(&mut self, config: &git2::Config) -> Result<(), FetchError> {
        let mut entries =
            config.entries(Some(r"^url\..*\.insteadof$")).map_err(|source| FetchError::Config { source })?;
        while let Some(entry) = entries.next() {
            let entry = entry.map_err(|source| FetchError::Config { source })?;
            let (Ok(name), Ok(prefix)) = (entry.name(), entry.value()) else { continue };
            // The name is `url.<base>.insteadof`; the base may itself contain dots.
            let Some(base) = name.strip_prefix("url.").and_then(|rest| rest.get(..rest.len() - ".insteadof".len()))
            else {
                continue;
            };
            self.instead_of.push((prefix.to_string(), base.to_string()));
        }
        Ok(())
    }

    /// Adds an `insteadOf` rule directly (what `url.<base>.insteadOf = <prefix>` says).
    pub fn add_instead_of_rule(&mut self, base: &str, prefix: &str) {
        self.instead_of.push((prefix.to_string(), base.to_string()));
    }

    /// Applies the longest matching mirror rule, then, on the result, the longest matching
    /// `insteadOf` rule, each once, as git applies `insteadOf` once to the URL it is given.
    pub fn apply(&self, url: &str) -> Rewritten {
        let mut steps = Vec::new();
        let mut current = url.to_string();
        if let Some((from, to)) = longest(self.mirrors.iter().map(|(from, to)| (from, to)), &current) {
            current = format!("{to}{}", &current[from.len()..]);
            steps.push(RewriteStep::Mirror { from: from.clone(), to: to.clone() });
        }
        if let Some((prefix, base)) = longest(self.instead_of.iter().map(|(prefix, base)| (prefix, base)), &current) {
            current = format!("{base}{}", &current[prefix.len()..]);
            steps.push(RewriteStep::InsteadOf { base: base.clone(), prefix: prefix.clone() });
        }
        Rewritten { url: current, steps }
    }

    /// Whether git's own `insteadOf` pass would change `url` again (a chain of rules). The git
    /// command line is then told to leave it alone.
    pub(crate) fn instead_of_would_rewrite(&self, url: &str) -> bool {
        longest(self.instead_of.iter().map(|(prefix, base)| (prefix, base)), url).is_some()
    }
}

/// The rule with the longest prefix of `url`; the first one wins a tie, as in git.
fn longest<'a>(rules: impl Iterator<Item = (&'a String, &'a String)>, url: &str) -> Option<(&'a String, &'a String)> {
    let mut best: Option<(&String, &String)> = None;
    for (prefix, replacement) in rules {
        if url.starts_with(prefix.as_str()) && best.is_none_or(|(longest, _)| prefix.len() > longest.len()) {
            best = Some((prefix, replacement));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_parse(url: &str, transport: Transport, key: &str) {
        let parsed = RepoUrl::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(parsed.transport(), transport, "{url}");
        assert_eq!(parsed.cache_key(), key, "{url}");
    }

    #[test]
    fn parses_and_keys_urls() {
        check_parse("https://github.com/Owner/repo", Transport::Https, "github.com/Owner/repo");
        check_parse("https://GitHub.com/Owner/repo.git/", Transport::Https, "github.com/Owner/repo");
        check_parse("git+https://github.com/o/r.git", Transport::Https, "github.com/o/r");
        check_parse("https://token@github.com:443/o/r", Transport::Https, "github.com/o/r");
        check_parse("http://127.0.0.1:8080/o/r", Transport::Http, "127.0.0.1:8080/o/r");
        check_parse("ssh://git@github.com/o/r.git", Transport::Ssh, "github.com/o/r");
        check_parse("git@github.com:o/r.git", Transport::Ssh, "github.com/o/r");
        check_parse("git://127.0.0.1:9418/r.git", Transport::Git, "127.0.0.1/r");
        check_parse("git://[::1]:1234/r", Transport::Git, "[::1]:1234/r");
        check_parse("file:///srv/r.git", Transport::Local, "file/srv/r.git");
        check_parse("/srv/r.git", Transport::Local, "file/srv/r.git");
    }

    #[test]
    fn refuses_urls_that_could_run_programs_or_inject_options() {
        for url in [
            "",
            "-uhelp",
            "ext::sh",
            "git+ext::sh",
            "fd::3",
            "foo::bar/baz",
            "https://-oProxyCommand=x/r",
            "ssh://h:port/r",
            "file://relative",
            "https://h/a b",
        ] {
            assert!(RepoUrl::parse(url).is_err(), "{url:?} was accepted");
        }
    }

    #[test]
    fn redacts_credentials() {
        assert_eq!(redact("https://user:secret@host/r"), "https://***@host/r");
        assert_eq!(redact("https://ghp_token@host/r"), "https://***@host/r");
        assert_eq!(redact("https://host/r@x"), "https://host/r@x");
        assert_eq!(redact("ssh://git@host/r"), "ssh://git@host/r");
        assert_eq!(redact("ssh://git:pw@host/r"), "ssh://git:***@host/r");
        assert_eq!(redact("git@host:r"), "git@host:r");
    }

    #[test]
    fn local_paths_become_file_urls_for_git() {
        let url = RepoUrl::parse("/srv/r.git").unwrap();
        assert_eq!(url.for_git_cli(), "file:///srv/r.git");
        assert_eq!(url.local_path(), Some(Path::new("/srv/r.git")));
    }

    #[test]
    fn the_longest_rule_wins_and_each_kind_applies_once() {
        let mut rewrites = UrlRewrites::default();
        rewrites.add_instead_of_rule("https://short/", "https://github.com/");
        rewrites.add_instead_of_rule("https://long/", "https://github.com/org/");
        // A chain: git applies insteadOf once, so this must not fire after the rule above.
        rewrites.add_instead_of_rule("https://chained/", "https://long/");
        let out = rewrites.apply("https://github.com/org/repo");
        assert_eq!(out.url, "https://long/repo");
        assert_eq!(out.steps.len(), 1);
        assert!(rewrites.instead_of_would_rewrite(&out.url));
        assert_eq!(rewrites.apply("https://github.com/other/repo").url, "https://short/other/repo");
        assert_eq!(rewrites.apply("https://gitlab.com/x").url, "https://gitlab.com/x");

        rewrites.add_mirror("https://github.com/=https://mirror.test/gh/").unwrap();
        rewrites.add_mirror("https://github.com/org/=https://short/").unwrap();
        let out = rewrites.apply("https://github.com/org/repo");
        assert_eq!(out.url, "https://short/repo");
        assert_eq!(
            out.steps,
            vec![RewriteStep::Mirror { from: "https://github.com/org/".into(), to: "https://short/".into() }]
        );
        // The longest mirror, then insteadOf on its result.
        rewrites.add_mirror("https://gitlab.com/=https://github.com/org/").unwrap();
        let out = rewrites.apply("https://gitlab.com/x");
        assert_eq!(out.url, "https://long/x");
        assert_eq!(out.steps.len(), 2);
        assert!(UrlRewrites::default().add_mirror("no-equals").is_err());
        assert!(UrlRewrites::default().add_mirror("=x").is_err());
    }

    #[test]
    fn reads_instead_of_from_a_config_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gitconfig");
        fs_err::write(
            &path,
            "[url \"http://127.0.0.1:1/mirror/\"]\n\tinsteadOf = https://example.test/\n\tpushInsteadOf = https://push.test/\n[url \"https://a.b/c.d/\"]\n\tinsteadOf = x:\n",
        )
        .unwrap();
        let config = GitConfigSource::Isolated { global: Some(path) }.open().unwrap();
        let mut rewrites = UrlRewrites::default();
        rewrites.add_instead_of(&config).unwrap();
        assert_eq!(rewrites.apply("https://example.test/o/r").url, "http://127.0.0.1:1/mirror/o/r");
        assert_eq!(rewrites.apply("x:r").url, "https://a.b/c.d/r");
        assert_eq!(rewrites.apply("https://push.test/r").url, "https://push.test/r");
    }
}
