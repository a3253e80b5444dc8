//! A real git server on 127.0.0.1 for fetch tests, started and stopped by the test.
//!
//! Two front ends, each a listener of this module's own on an ephemeral port:
//! - smart HTTP: a small HTTP/1.1 server that runs `git http-backend` as a CGI program for each
//!   request (optionally behind HTTP Basic authentication);
//! - the git protocol: each connection is handed to `git daemon --inetd` (the real daemon, serving
//!   that one connection), which avoids guessing a free port for a listening daemon.
//!
//! Because every byte to the client passes through this module, it counts them, and it can
//! misbehave on demand: hang (accept and never answer), cut responses short, or stop listening
//! altogether (connections refused). Repositories live in a temporary directory; what a
//! repository's `upload-pack` allows (`uploadpack.allowReachableSHA1InWant` / `allowAnySHA1InWant`)
//! is set per repository, and a commit can be force-pushed away and garbage-collected.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::TestRepo;

/// Which front end a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitProtocol {
    /// Smart HTTP through `git http-backend`.
    Http,
    /// `git://` through `git daemon`.
    Daemon,
}

/// Which objects a repository's `upload-pack` lets a client ask for by id under protocol v0
/// (protocol v2 serves any object it has, whatever this says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WantPolicy {
    /// Only advertised ref tips (git's default).
    Advertised,
    /// `uploadpack.allowReachableSHA1InWant`.
    Reachable,
    /// `uploadpack.allowAnySHA1InWant`.
    Any,
}

/// How the server treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Serve,
    /// Accept connections and never answer.
    Hang,
    /// Serve, but close every connection after this many bytes to the client.
    CutAfter(u64),
}

struct Shared {
    root: PathBuf,
    stopped: AtomicBool,
    behaviour: Mutex<Behaviour>,
    bytes_sent: AtomicU64,
    connections: AtomicU64,
    basic_auth: Mutex<Option<String>>,
    open: Mutex<Vec<TcpStream>>,
}

/// A git server for one test; stopped when dropped.
pub struct GitServer {
    protocol: GitProtocol,
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    _root: tempfile::TempDir,
}

impl std::fmt::Debug for GitServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitServer").field("protocol", &self.protocol).field("addr", &self.addr).finish()
    }
}

impl GitServer {
    pub fn start(protocol: GitProtocol) -> Self {
        let root = tempfile::Builder::new().prefix("provdiff-git-server-").tempdir().expect("a server directory");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("the listener's address");
        let shared = Arc::new(Shared {
            root: root.path().to_path_buf(),
            stopped: AtomicBool::new(false),
            behaviour: Mutex::new(Behaviour::Serve),
            bytes_sent: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            basic_auth: Mutex::new(None),
            open: Mutex::new(Vec::new()),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept_loop(listener, protocol, shared))
        };
        Self { protocol, addr, shared, accept: Some(accept), _root: root }
    }

    /// Where repository `name` lives on disk.
    pub fn repo_path(&self, name: &str) -> PathBuf {
        self.shared.root.join(name)
    }

    /// A new bare repository `name` (for instance `widget.git`) served by this server.
    pub fn create_repo(&self, name: &str) -> TestRepo {
        TestRepo::init_bare(&self.repo_path(name))
    }

    /// The URL a client fetches repository `name` from.
    pub fn url(&self, name: &str) -> String {
        match self.protocol {
            GitProtocol::Http => format!("http://{}/{name}", self.addr),
            GitProtocol::Daemon => format!("git://{}/{name}", self.addr),
        }
    }

    /// `scheme://127.0.0.1:port/`, the prefix of every URL of this server.
    pub fn base_url(&self) -> String {
        self.url("")
    }

    pub fn set_want_policy(&self, name: &str, policy: WantPolicy) {
        let repo = git2::Repository::open_bare(self.repo_path(name)).expect("open the served repository");
        let mut config = repo.config().expect("its config");
        // Only ever set to true: `allowAnySHA1InWant = false` would also clear the reachable bit.
        for key in ["uploadpack.allowReachableSHA1InWant", "uploadpack.allowAnySHA1InWant"] {
            let _ = config.remove(key);
        }
        match policy {
            WantPolicy::Advertised => {}
            WantPolicy::Reachable => config.set_bool("uploadpack.allowReachableSHA1InWant", true).expect("set"),
            WantPolicy::Any => config.set_bool("uploadpack.allowAnySHA1InWant", true).expect("set"),
        }
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().expect("behaviour lock") = behaviour;
    }

    /// HTTP only: every request must carry these HTTP Basic credentials, else 401.
    pub fn require_basic_auth(&self, user: &str, password: &str) {
        let token = crate::b64(format!("{user}:{password}").as_bytes());
        *self.shared.basic_auth.lock().expect("auth lock") = Some(format!("Basic {token}"));
    }

    /// Bytes sent to clients since the start or the last [`reset_counters`](Self::reset_counters).
    pub fn bytes_sent(&self) -> u64 {
        self.shared.bytes_sent.load(Ordering::SeqCst)
    }

    /// Connections accepted since the start or the last reset.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    pub fn reset_counters(&self) {
        self.shared.bytes_sent.store(0, Ordering::SeqCst);
        self.shared.connections.store(0, Ordering::SeqCst);
    }

    /// Stops listening and closes open connections: later connections are refused.
    pub fn stop(&mut self) {
        if self.shared.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the accept loop; it sees `stopped` and drops the listener.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        for stream in self.shared.open.lock().expect("connections lock").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Force-pushes `branch` of repository `name` to `new_tip` and garbage-collects, so commits
    /// reachable only from the old tip are gone from the server.
    pub fn force_push_away(&self, name: &str, branch: &str, new_tip: &str) {
        let repo = self.repo_path(name);
        git(&repo, &["update-ref", &format!("refs/heads/{branch}"), new_tip]);
        git(&repo, &["reflog", "expire", "--expire=now", "--all"]);
        git(&repo, &["gc", "--prune=now", "--quiet"]);
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs the machine's git in `git_dir`, isolated from the user's configuration; panics on failure.
pub fn git(git_dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_DIR", git_dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", git_dir)
        .output()
        .expect("run git");
    assert!(output.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn accept_loop(listener: TcpListener, protocol: GitProtocol, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = stream.try_clone() {
            shared.open.lock().expect("connections lock").push(clone);
        }
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            let behaviour = *shared.behaviour.lock().expect("behaviour lock");
            if behaviour == Behaviour::Hang {
                while !shared.stopped.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            let mut out = Counted { stream: &stream, shared: &shared, left: cut_limit(behaviour) };
            let _ = match protocol {
                GitProtocol::Http => serve_http(&stream, &mut out, &shared),
                GitProtocol::Daemon => serve_daemon(&stream, &mut out, &shared),
            };
            let _ = stream.shutdown(Shutdown::Both);
        });
    }
}

fn cut_limit(behaviour: Behaviour) -> Option<u64> {
    match behaviour {
        Behaviour::CutAfter(limit) => Some(limit),
        _ => None,
    }
}

/// The client side of a connection: counts what is sent and cuts it off when told to.
struct Counted<'a> {
    stream: &'a TcpStream,
    shared: &'a Shared,
    left: Option<u64>,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let allowed = match self.left {
            Some(0) => return Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "cut off by the test")),
            Some(left) => buf.len().min(left as usize),
            None => buf.len(),
        };
        let written = (&*self.stream).write(&buf[..allowed])?;
        if let Some(left) = &mut self.left {
            *left -= written as u64;
        }
        self.shared.bytes_sent.fetch_add(written as u64, Ordering::SeqCst);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.stream).flush()
    }
}

fn server_command(shared: &Shared, args: &[&str]) -> Command {
    let mut command = Command::new("git");
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &shared.root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

fn serve_daemon(stream: &TcpStream, out: &mut Counted<'_>, shared: &Shared) -> std::io::Result<()> {
    let base_path = format!("--base-path={}", shared.root.display());
    let mut child = server_command(
        shared,
        &["daemon", "--inetd", "--export-all", "--informative-errors", "--log-destination=none", &base_path],
    )
    .spawn()?;
    let mut stdin = child.stdin.take();
    let mut from_client = stream.try_clone()?;
    let upstream = std::thread::spawn(move || {
        // A plain loop: what the client sends must reach the daemon at once.
        let Some(stdin) = &mut stdin else { return };
        let mut buffer = [0u8; 16 * 1024];
        while let Ok(read) = from_client.read(&mut buffer) {
            if read == 0 || stdin.write_all(&buffer[..read]).is_err() {
                break;
            }
        }
    });
    let result = pump(&mut child, out);
    finish(child);
    let _ = stream.shutdown(Shutdown::Both);
    let _ = upstream.join();
    result
}

fn pump(child: &mut Child, out: &mut Counted<'_>) -> std::io::Result<()> {
    let Some(mut stdout) = child.stdout.take() else { return Ok(()) };
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = stdout.read(&mut buffer)?;
        if read == 0 {
            return Ok(());
        }
        out.write_all(&buffer[..read])?;
    }
}

fn finish(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

struct Request {
    method: String,
    target: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> std::io::Result<Request> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else { return Err(invalid("request line")) };
    let (method, target) = (method.to_string(), target.to_string());
    let mut headers = HashMap::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("headers end early"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let mut body = Vec::new();
    if headers.get("transfer-encoding").is_some_and(|value| value.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| invalid("chunk size"))?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = headers.get("content-length") {
        let length: usize = length.parse().map_err(|_| invalid("content-length"))?;
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Request { method, target, headers, body })
}

fn serve_http(stream: &TcpStream, out: &mut Counted<'_>, shared: &Shared) -> std::io::Result<()> {
    let request = read_request(stream)?;
    let required = shared.basic_auth.lock().expect("auth lock").clone();
    if let Some(required) = required
        && request.headers.get("authorization") != Some(&required)
    {
        let body = "authentication required\n";
        return write!(
            out,
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"provdiff-test\"\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    let (path, query) = request.target.split_once('?').unwrap_or((&request.target, ""));
    let mut command = server_command(shared, &["http-backend"]);
    command
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", request.body.len().to_string());
    for (header, variable) in [
        ("content-type", "CONTENT_TYPE"),
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "GIT_PROTOCOL"),
        ("git-protocol", "HTTP_GIT_PROTOCOL"),
    ] {
        if let Some(value) = request.headers.get(header) {
            command.env(variable, value);
        }
    }
    let mut child = command.spawn()?;
    let body = request.body;
    let mut stdin = child.stdin.take();
    let feeder = std::thread::spawn(move || {
        if let Some(stdin) = &mut stdin {
            let _ = stdin.write_all(&body);
        }
    });
    let mut output = Vec::new();
    if let Some(stdout) = &mut child.stdout {
        stdout.read_to_end(&mut output)?;
    }
    let _ = feeder.join();
    finish(child);
    // CGI output: headers (with `Status:`), a blank line, the body.
    let split = output.windows(4).position(|w| w == b"\r\n\r\n").map(|at| (at, 4));
    let split = split.or_else(|| output.windows(2).position(|w| w == b"\n\n").map(|at| (at, 2)));
    let (head, body) = match split {
        Some((at, len)) => (String::from_utf8_lossy(&output[..at]).into_owned(), &output[at + len..]),
        None => (String::new(), &output[..]),
    };
    let mut status = "200 OK".to_string();
    let mut response = String::new();
    for header in head.lines().map(str::trim).filter(|line| !line.is_empty()) {
        match header.split_once(':') {
            Some((name, value)) if name.eq_ignore_ascii_case("status") => status = value.trim().to_string(),
            _ => {
                response.push_str(header);
                response.push_str("\r\n");
            }
        }
    }
    write!(out, "HTTP/1.1 {status}\r\n{response}Content-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
    out.write_all(body)?;
    out.flush()
}
