//! The one place provdiff-rebuild spawns processes: bubblewrap (or, with `--unsandboxed`, the
//! build's init directly) from the outside, and the step's shell from the sandbox's init.
//!
//! Outside, a run gets no input, one pipe for its stdout and stderr (so the log keeps the order
//! the build wrote in), its own process group, and a deadline after which the group is killed; in
//! the sandbox, bubblewrap's PID namespace takes everything else down with it. The log keeps the
//! first and last parts of what the build printed.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How much of a step's output is kept: its beginning and its end.
const LOG_HEAD: usize = 16 << 10;
const LOG_TAIL: usize = 48 << 10;

#[derive(Debug, thiserror::Error)]
#[error("cannot run {program}")]
pub struct SpawnError {
    pub program: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Exit {
    Code {
        code: i32,
    },
    Signal {
        signal: i32,
    },
    /// Killed at the deadline.
    TimedOut,
}

impl Exit {
    pub fn success(self) -> bool {
        self == Exit::Code { code: 0 }
    }

    fn from_status(status: ExitStatus) -> Self {
        #[cfg(unix)]
        if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
            return Exit::Signal { signal };
        }
        Exit::Code { code: status.code().unwrap_or(-1) }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code { code } => write!(f, "exited with status {code}"),
            Exit::Signal { signal } => write!(f, "was killed by signal {signal}"),
            Exit::TimedOut => f.write_str("was stopped at the time limit"),
        }
    }
}

/// What a run printed: the beginning and the end when it printed more than both hold.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    head: Vec<u8>,
    tail: Vec<u8>,
    total: u64,
}

impl Captured {
    fn push(&mut self, bytes: &[u8]) {
        self.total += bytes.len() as u64;
        let room = LOG_HEAD.saturating_sub(self.head.len());
        let (to_head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(to_head);
        self.tail.extend_from_slice(rest);
        if self.tail.len() > LOG_TAIL {
            self.tail.drain(..self.tail.len() - LOG_TAIL);
        }
    }

    /// The text, with a line saying how much was left out of the middle.
    pub fn text(&self) -> String {
        let omitted = self.total - (self.head.len() + self.tail.len()) as u64;
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if omitted > 0 {
            text.push_str(&format!("\n[… {omitted} bytes of output left out …]\n"));
        }
        text.push_str(&String::from_utf8_lossy(&self.tail));
        text
    }
}

#[derive(Debug)]
pub(crate) struct Finished {
    pub exit: Exit,
    pub output: Captured,
    pub elapsed: Duration,
}

/// Runs `command` to completion or until `deadline`, capturing its output.
pub(crate) fn run(mut command: Command, deadline: Instant) -> Result<Finished, SpawnError> {
    let program = PathBuf::from(command.get_program());
    let spawn_error = |source| SpawnError { program: program.clone(), source };
    let (mut reader, writer) = std::io::pipe().map_err(spawn_error)?;
    let writer_for_stderr = writer.try_clone().map_err(spawn_error)?;
    command.stdin(Stdio::null()).stdout(writer).stderr(writer_for_stderr);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let start = Instant::now();
    let mut child = command.spawn().map_err(spawn_error)?;
    // The command holds the pipe's write ends: drop them, or the reader never sees the end.
    drop(command);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut captured = Captured::default();
        let mut buffer = [0u8; 16 << 10];
        while let Ok(read) = reader.read(&mut buffer) {
            if read == 0 {
                break;
            }
            captured.push(&buffer[..read]);
        }
        let _ = sender.send(captured);
    });
    let exit = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Exit::from_status(status),
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&mut child);
                let _ = child.wait();
                break Exit::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(_) => {
                kill_group(&mut child);
                break Exit::Signal { signal: 9 };
            }
        }
    };
    let elapsed = start.elapsed();
    // Something the build left running (only possible without a sandbox) may keep the pipe
    // open: wait a little for the output, then leave the reader behind.
    let output = receiver.recv_timeout(Duration::from_secs(2)).unwrap_or_default();
    Ok(Finished { exit, output, elapsed })
}

/// Runs `command` with the caller's standard streams and waits for it: the sandbox's init
/// starting the step.
pub(crate) fn run_inheriting(mut command: Command) -> Result<Exit, SpawnError> {
    let program = PathBuf::from(command.get_program());
    command.stdin(Stdio::null());
    let status = command.status().map_err(|source| SpawnError { program, source })?;
    Ok(Exit::from_status(status))
}

/// Kills the process and everything in its process group.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    {
        let pid = rustix::process::Pid::from_child(child);
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn captures_both_streams_in_order() {
        let finished =
            run(sh("echo one; echo two >&2; echo three; exit 3"), Instant::now() + Duration::from_secs(20)).unwrap();
        assert_eq!(finished.exit, Exit::Code { code: 3 });
        assert_eq!(finished.output.text(), "one\ntwo\nthree\n");
    }

    #[test]
    fn a_run_past_its_deadline_is_killed_with_its_children() {
        let finished = run(sh("sleep 30 & sleep 30; echo never"), Instant::now() + Duration::from_millis(300)).unwrap();
        assert_eq!(finished.exit, Exit::TimedOut);
        assert!(finished.elapsed < Duration::from_secs(10));
        assert!(!finished.output.text().contains("never"));
    }

    #[test]
    fn long_output_keeps_its_beginning_and_end() {
        let finished = run(
            sh("echo first; head -c 300000 /dev/zero | tr '\\0' x; echo; echo last"),
            Instant::now() + Duration::from_secs(20),
        )
        .unwrap();
        let text = finished.output.text();
        assert!(text.starts_with("first\n"));
        assert!(text.ends_with("last\n"));
        assert!(text.contains("bytes of output left out"));
        assert!(text.len() < 70_000);
    }

    #[test]
    fn a_missing_program_is_an_error() {
        let error = run(Command::new("/nonexistent/bwrap"), Instant::now() + Duration::from_secs(1)).unwrap_err();
        assert!(error.to_string().contains("/nonexistent/bwrap"));
    }
}
