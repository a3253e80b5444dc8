//! The one place provdiff spawns the `git` command line.
//!
//! git runs with a clean environment: only the variables that locate the user's configuration,
//! credentials, SSH agent, proxies and CA certificates pass through; prompts are off
//! (`GIT_TERMINAL_PROMPT=0`, ssh in batch mode unless the user chose an ssh command), messages are
//! in the C locale so they can be classified, and every run gets `-c` settings that disable hooks,
//! automatic maintenance and submodule recursion. A run that produces no output for the
//! inactivity timeout is killed together with its children (its process group).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::fetch::FetchError;
use crate::url::GitConfigSource;

/// The oldest git provdiff drives: `--no-write-fetch-head` arrived in 2.29, `--end-of-options` in
/// 2.24, and protocol v2 (which lets any object be fetched by id) in 2.18.
const MIN_VERSION: (u32, u32) = (2, 29);

/// Variables passed through to git: where its configuration, credentials, agent, proxies and
/// certificates are. Everything else (`GIT_DIR`, `GIT_CONFIG_PARAMETERS`, `GIT_ASKPASS`, …) is
/// dropped, so a provdiff started from a hook or an odd shell behaves the same.
const PASS_THROUGH: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "TMPDIR",
    "SYSTEMROOT",
    "XDG_CONFIG_HOME",
    "SSH_AUTH_SOCK",
    "SSH_AGENT_PID",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_SSH_VARIANT",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Passed only for the user's own configuration, not for an isolated one.
const USER_CONFIG_VARIABLES: &[&str] = &["GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM"];

/// A git command line that was found and is recent enough.
#[derive(Debug, Clone)]
pub(crate) struct GitProgram {
    path: PathBuf,
}

/// What a finished run left.
#[derive(Debug)]
pub(crate) struct RunOutput {
    pub success: bool,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// Killed after this long without output.
    pub timed_out: Option<Duration>,
}

impl GitProgram {
    /// Runs `git --version`; `None` when there is no usable git (absent, or older than 2.29).
    pub(crate) fn detect(path: &Path) -> Option<Self> {
        let mut command = Command::new(path);
        command.arg("--version");
        let output = run(command, Duration::from_secs(10)).ok()?;
        if !output.success {
            return None;
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let version = text.trim().strip_prefix("git version ")?;
        let mut numbers = version.split(|c: char| !c.is_ascii_digit()).filter_map(|part| part.parse::<u32>().ok());
        let found = (numbers.next()?, numbers.next()?);
        (found >= MIN_VERSION).then(|| Self { path: path.to_path_buf() })
    }

    /// A `git` invocation in `git_dir` with the fixed safety settings, the configuration source
    /// applied, and `config` as extra `-c` settings.
    pub(crate) fn command(&self, git_dir: &Path, config_source: &GitConfigSource, config: &[String]) -> Command {
        let mut command = Command::new(&self.path);
        command.env_clear();
        for name in PASS_THROUGH {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        match config_source {
            GitConfigSource::User => {
                for name in USER_CONFIG_VARIABLES {
                    if let Some(value) = std::env::var_os(name) {
                        command.env(name, value);
                    }
                }
            }
            GitConfigSource::Isolated { global } => {
                command.env("GIT_CONFIG_NOSYSTEM", "1");
                command.env("GIT_CONFIG_GLOBAL", global.as_deref().unwrap_or(Path::new("/dev/null")));
            }
        }
        command.env("GIT_DIR", git_dir);
        command.env("GIT_TERMINAL_PROMPT", "0");
        command.env("GCM_INTERACTIVE", "never");
        command.env("LC_ALL", "C");
        command.env("LANG", "C");
        // ssh asks on the terminal, not through git: batch mode makes it fail instead of hanging,
        // unless the user chose their own ssh command.
        if std::env::var_os("GIT_SSH_COMMAND").is_none() && std::env::var_os("GIT_SSH").is_none() {
            command.env("GIT_SSH_COMMAND", "ssh -o BatchMode=yes");
        }
        let fixed: &[&str] = &[
            "protocol.version=2",
            "core.hooksPath=/dev/null",
            "gc.auto=0",
            "maintenance.auto=false",
            "fetch.writeCommitGraph=false",
            "fetch.recurseSubmodules=false",
            "fetch.showForcedUpdates=false",
            // Keep every fetched pack as a pack: it is what is measured, and it is atomic.
            "fetch.unpackLimit=1",
            "transfer.unpackLimit=1",
            "credential.interactive=false",
        ];
        for setting in fixed.iter().map(|s| s.to_string()).chain(config.iter().cloned()) {
            command.arg("-c").arg(setting);
        }
        command
    }
}

/// Runs `command` to completion, killing it (and its children) after `inactivity` without any
/// output on stdout or stderr.
pub(crate) fn run(mut command: Command, inactivity: Duration) -> Result<RunOutput, FetchError> {
    let program = PathBuf::from(command.get_program());
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(|source| FetchError::Spawn { program: program.clone(), source })?;
    let start = Instant::now();
    let last_output = Arc::new(AtomicU64::new(0));
    let (sender, receiver) = std::sync::mpsc::channel();
    let reader = |stream: Option<Box<dyn Read + Send>>, is_stdout: bool| {
        let last_output = Arc::clone(&last_output);
        let sender = sender.clone();
        // Keep the end: the error is the last thing git says.
        let keep = if is_stdout { 1 << 20 } else { 64 << 10 };
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            if let Some(mut stream) = stream {
                let mut buffer = [0u8; 8192];
                while let Ok(read) = stream.read(&mut buffer) {
                    if read == 0 {
                        break;
                    }
                    last_output.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
                    kept.extend_from_slice(&buffer[..read]);
                    if kept.len() > keep {
                        kept.drain(..kept.len() - keep);
                    }
                }
            }
            let _ = sender.send((is_stdout, kept));
        })
    };
    reader(child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>), true);
    reader(child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>), false);
    drop(sender);
    let mut timed_out = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) => {}
            Err(_) => break None,
        }
        let idle = start.elapsed().saturating_sub(Duration::from_millis(last_output.load(Ordering::Relaxed)));
        if idle >= inactivity {
            kill_group(&mut child);
            timed_out = Some(inactivity);
            break child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Something git started may outlive it holding the pipes (an ssh connection master, say):
    // wait a little for the output, then leave the readers behind.
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + Duration::from_secs(2);
    for _ in 0..2 {
        match receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((true, kept)) => stdout = kept,
            Ok((false, kept)) => stderr = kept,
            Err(_) => break,
        }
    }
    Ok(RunOutput {
        success: timed_out.is_none() && status.is_some_and(|status| status.success()),
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
    })
}

/// Kills git and whatever it started (`git-remote-http`, `ssh`, `index-pack`): they share its
/// process group, and would otherwise keep the pipes open.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let pid = rustix::process::Pid::from_child(child);
        if rustix::process::kill_process_group(pid, rustix::process::Signal::KILL).is_ok() {
            return;
        }
    }
    let _ = child.kill();
}

/// The lines of git's stderr worth showing: not progress, not blank, credentials removed.
pub(crate) fn meaningful_stderr(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .filter(|line| !is_progress(line))
        .collect();
    let mut text = lines.join("; ");
    // A URL with credentials can appear in an error; keep only what `redact` would show.
    for word in text.clone().split(|c: char| c.is_whitespace() || c == '\'' || c == '"') {
        if word.contains("://") && word.contains('@') {
            text = text.replace(word, &crate::url::redact(word));
        }
    }
    text
}

fn is_progress(line: &str) -> bool {
    let line = line.strip_prefix("remote: ").unwrap_or(line);
    [
        "Enumerating objects",
        "Counting objects",
        "Compressing objects",
        "Receiving objects",
        "Resolving deltas",
        "Total ",
        "Updating files",
        "From ",
        "* branch",
        "* [new",
    ]
    .iter()
    .any(|prefix| line.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_errors_and_drops_progress() {
        let stderr = "remote: Enumerating objects: 5, done.\nReceiving objects:  50% (1/2)\rReceiving objects: 100% (2/2), done.\nfatal: repository 'https://user:pw@host/r/' not found\n";
        assert_eq!(meaningful_stderr(stderr), "fatal: repository 'https://***@host/r/' not found");
    }

    #[test]
    fn a_silent_process_is_killed_after_the_timeout() {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 30 & sleep 30"]);
        let output = run(command, Duration::from_millis(300)).unwrap();
        assert_eq!(output.timed_out, Some(Duration::from_millis(300)));
        assert!(!output.success);
    }

    #[test]
    fn a_child_left_holding_the_pipes_does_not_block() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo done; sleep 5 &"]);
        let output = run(command, Duration::from_secs(20)).unwrap();
        assert!(output.success);
        assert_eq!(output.timed_out, None);
    }

    #[test]
    fn a_missing_program_is_a_spawn_error() {
        let error = run(Command::new("/nonexistent/git"), Duration::from_secs(1)).unwrap_err();
        assert!(matches!(error, FetchError::Spawn { .. }), "{error:?}");
        assert!(GitProgram::detect(Path::new("/nonexistent/git")).is_none());
    }
}
