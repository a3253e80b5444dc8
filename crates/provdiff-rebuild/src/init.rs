//! The build's init: the first program in the sandbox (the provdiff binary itself, bound in
//! read-only, run as `provdiff __rebuild-init …`). It sets the memory limit that the build and
//! everything it starts inherit, relays the sandbox's loopback to the registry proxy outside (see
//! `proxy`), starts the step's shell with exactly the variables of its environment file (see
//! `environment`) and npm and the usual proxy variables pointed at that relay, and exits with the
//! shell's status.
//!
//! Its arguments are private to provdiff: [`InitArgs::to_args`] writes them, [`InitArgs::parse`]
//! reads them back.

use std::ffi::OsString;
use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;

use crate::process::{self, Exit};

/// What the init is told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitArgs {
    /// The data-segment limit (`RLIMIT_DATA`) in bytes: the heap every process of the build may
    /// grow to.
    pub memory: Option<u64>,
    /// The registry proxy's socket, when the build may reach the registry.
    pub proxy_socket: Option<PathBuf>,
    /// The step's variables (see `environment`); without it the step starts with none.
    pub env_file: Option<PathBuf>,
    /// The program and its arguments; empty to check that the sandbox starts (a probe).
    pub command: Vec<OsString>,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("bad arguments for the rebuild init: {0}")]
    Usage(String),
    #[error("cannot set the build's memory limit")]
    Limit(#[source] std::io::Error),
    #[error("cannot listen on the sandbox's loopback for the registry relay")]
    Listen(#[source] std::io::Error),
    #[error("cannot read the step's environment file {}", path.display())]
    EnvFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Spawn(#[from] process::SpawnError),
}

impl InitArgs {
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        if let Some(memory) = self.memory {
            args.extend(["--memory".into(), memory.to_string().into()]);
        }
        if let Some(socket) = &self.proxy_socket {
            args.extend(["--proxy-socket".into(), socket.clone().into_os_string()]);
        }
        if let Some(file) = &self.env_file {
            args.extend(["--env-file".into(), file.clone().into_os_string()]);
        }
        args.push("--".into());
        args.extend(self.command.iter().cloned());
        args
    }

    pub fn parse(args: &[OsString]) -> Result<Self, InitError> {
        let mut parsed = Self { memory: None, proxy_socket: None, env_file: None, command: Vec::new() };
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let mut value =
                || rest.next().ok_or_else(|| InitError::Usage(format!("{} needs a value", arg.to_string_lossy())));
            match arg.to_str() {
                Some("--memory") => {
                    let text = value()?.to_string_lossy().into_owned();
                    parsed.memory = Some(text.parse().map_err(|_| InitError::Usage(format!("bad --memory {text}")))?);
                }
                Some("--proxy-socket") => parsed.proxy_socket = Some(PathBuf::from(value()?)),
                Some("--env-file") => parsed.env_file = Some(PathBuf::from(value()?)),
                Some("--") => {
                    parsed.command = rest.cloned().collect();
                    break;
                }
                _ => return Err(InitError::Usage(format!("unexpected {}", arg.to_string_lossy()))),
            }
        }
        Ok(parsed)
    }
}

/// Runs the init; returns the exit status to leave with.
pub fn sandbox_init(args: &InitArgs) -> Result<u8, InitError> {
    if let Some(memory) = args.memory {
        let limit = rustix::process::Rlimit { current: Some(memory), maximum: Some(memory) };
        rustix::process::setrlimit(rustix::process::Resource::Data, limit)
            .map_err(|errno| InitError::Limit(errno.into()))?;
    }
    let Some((program, arguments)) = args.command.split_first() else {
        return Ok(0);
    };
    let mut command = Command::new(program);
    command.args(arguments).env_clear();
    if let Some(path) = &args.env_file {
        let env =
            crate::environment::read_file(path).map_err(|source| InitError::EnvFile { path: path.clone(), source })?;
        command.envs(env);
    }
    if let Some(socket) = &args.proxy_socket {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(InitError::Listen)?;
        let port = listener.local_addr().map_err(InitError::Listen)?.port();
        let socket = socket.clone();
        std::thread::spawn(move || {
            for connection in listener.incoming().flatten() {
                let socket = socket.clone();
                std::thread::spawn(move || relay(connection, &socket));
            }
        });
        let proxy = format!("http://127.0.0.1:{port}");
        // npm, pnpm and yarn 1 read npm's settings; yarn berry its own.
        for name in [
            "npm_config_proxy",
            "npm_config_https_proxy",
            "YARN_HTTP_PROXY",
            "YARN_HTTPS_PROXY",
            "http_proxy",
            "https_proxy",
            "HTTP_PROXY",
            "HTTPS_PROXY",
        ] {
            command.env(name, &proxy);
        }
        for name in ["no_proxy", "NO_PROXY", "npm_config_noproxy"] {
            command.env_remove(name);
        }
    }
    let exit = process::run_inheriting(command)?;
    let _ = std::io::stdout().flush();
    Ok(match exit {
        Exit::Code { code } => u8::try_from(code).unwrap_or(1),
        Exit::Signal { signal } => u8::try_from(128 + signal).unwrap_or(255),
        Exit::TimedOut => 124,
    })
}

fn relay(inside: TcpStream, socket: &std::path::Path) {
    let Ok(outside) = UnixStream::connect(socket) else { return };
    let (Ok(mut inside_read), Ok(mut outside_read)) = (inside.try_clone(), outside.try_clone()) else { return };
    let (mut inside_write, mut outside_write) = (inside, outside);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut inside_read, &mut outside_write);
        let _ = outside_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut outside_read, &mut inside_write);
    let _ = inside_write.shutdown(Shutdown::Write);
    let _ = up.join();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_round_trip() {
        let args = InitArgs {
            memory: Some(1 << 30),
            proxy_socket: Some("/run/provdiff/sock/proxy.sock".into()),
            env_file: Some("/run/provdiff/control/env-1".into()),
            command: vec!["bash".into(), "-c".into(), "--memory x".into()],
        };
        assert_eq!(InitArgs::parse(&args.to_args()).unwrap(), args);
        let probe = InitArgs { memory: None, proxy_socket: None, env_file: None, command: vec![] };
        assert_eq!(InitArgs::parse(&probe.to_args()).unwrap(), probe);
        assert!(InitArgs::parse(&["--memory".into()]).is_err());
        assert!(InitArgs::parse(&["--nope".into()]).is_err());
    }
}
