//! A test npm registry: a real HTTP/1.1 server on 127.0.0.1 (an ephemeral port) serving
//! packuments, tarballs, attestations and keys from memory, with faults injected per path.
//!
//! Small on purpose: one thread accepts, one thread per connection, one request per connection
//! (`Connection: close`). It records every request (with its headers) and counts the body bytes
//! it sends. Requests in absolute form (`GET http://host/path`) are served too, so it can stand
//! in for an HTTP proxy. Dropping it stops it, hanging connections included.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use provdiff_core::Sha512;
use serde_json::{Value, json};

/// A canned response.
#[derive(Debug, Clone)]
pub struct Resource {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resource {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self { status, headers: vec![("Content-Type".into(), content_type.into())], body: body.into() }
    }

    pub fn json(body: &str) -> Self {
        Self::new(200, "application/json", body)
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// A fault injected on a path, in place of its resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (and an empty body).
    Status(u16),
    /// 429 with this `Retry-After` value.
    TooManyRequests { retry_after: String },
    /// Read the request, then never answer (until the server stops).
    Hang,
    /// Announce the whole body's length, send only the first `keep` bytes, and close.
    Truncate { keep: usize },
    /// 302 to this location.
    Redirect(String),
    /// Send the body one byte per `interval`: alive, but too slow to finish.
    Trickle { interval: Duration },
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// The request target as sent (a path, or an absolute URL when sent to a proxy).
    pub target: String,
    /// The path (with query) the target names.
    pub path: String,
    /// Header names are lower case.
    pub headers: Vec<(String, String)>,
    pub at: Instant,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }
}

/// One version of a package, as [`TestRegistry::publish`] serves it.
#[derive(Debug, Clone)]
pub struct TestVersion {
    pub name: String,
    pub version: String,
    pub tarball: Vec<u8>,
    /// The registry's attestations response; `None` serves 404.
    pub attestations: Option<String>,
    /// Put `dist.attestations` in the packument (when there are attestations).
    pub advertise_attestations: bool,
    /// `dist.signatures` entries: `(keyid, sig)`.
    pub signatures: Vec<(String, String)>,
    /// `time[VERSION]` in the full packument.
    pub published: Option<String>,
    /// `dist.integrity`; defaults to the tarball's.
    pub integrity: Option<String>,
    /// `dist.tarball`; defaults to this server's URL for it.
    pub tarball_url: Option<String>,
    /// Leave `dist` out of the abbreviated document only (to make a client fall back).
    pub abbreviated_without_dist: bool,
    /// `_npmVersion` in the full document (abbreviated documents never carry it).
    pub npm_version: Option<String>,
    /// The tarball response's `Cache-Control` (registries serve tarballs as immutable, so an
    /// npm cache holding one answers without asking); `None` sends none.
    pub tarball_cache_control: Option<String>,
}

impl TestVersion {
    pub fn new(name: &str, version: &str, tarball: Vec<u8>) -> Self {
        Self {
            name: name.to_string(),
            version: version.to_string(),
            tarball,
            attestations: None,
            advertise_attestations: true,
            signatures: Vec::new(),
            published: Some("2024-06-01T12:00:00.000Z".to_string()),
            integrity: None,
            tarball_url: None,
            abbreviated_without_dist: false,
            npm_version: None,
            tarball_cache_control: None,
        }
    }

    pub fn sha512(&self) -> Sha512 {
        Sha512::digest(&self.tarball)
    }

    pub fn integrity(&self) -> String {
        self.integrity.clone().unwrap_or_else(|| self.sha512().to_integrity())
    }

    /// The path of the packument: `/NAME` with a scope's `/` as `%2f`.
    pub fn packument_path(&self) -> String {
        format!("/{}", self.name.replacen('/', "%2f", 1))
    }

    pub fn tarball_path(&self) -> String {
        let base = self.name.rsplit('/').next().unwrap_or(&self.name);
        format!("/{}/-/{base}-{}.tgz", self.name, self.version)
    }

    pub fn attestations_path(&self) -> String {
        format!("/-/npm/v1/attestations/{}@{}", self.name.replacen('/', "%2f", 1), self.version)
    }
}

#[derive(Default)]
struct State {
    resources: HashMap<String, Resource>,
    /// Packuments: path -> (full, abbreviated).
    packuments: HashMap<String, (Value, Value)>,
    versions: BTreeMap<String, Vec<TestVersion>>,
    faults: HashMap<String, VecDeque<(Fault, Option<usize>)>>,
    requests: Vec<RecordedRequest>,
    bytes_by_path: HashMap<String, u64>,
}

/// The server. See the module documentation.
pub struct TestRegistry {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    bytes_sent: Arc<AtomicU64>,
    shutdown: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TestRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestRegistry").field("addr", &self.addr).finish_non_exhaustive()
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TestRegistry {
    /// Starts a server on 127.0.0.1 and an ephemeral port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1 works");
        let addr = listener.local_addr().expect("a bound listener has an address");
        let state = Arc::new(Mutex::new(State::default()));
        let bytes_sent = Arc::new(AtomicU64::new(0));
        let shutdown = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (state, bytes_sent, shutdown) = (Arc::clone(&state), Arc::clone(&bytes_sent), Arc::clone(&shutdown));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shutdown.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (state, bytes_sent, shutdown) =
                        (Arc::clone(&state), Arc::clone(&bytes_sent), Arc::clone(&shutdown));
                    std::thread::spawn(move || serve_connection(stream, &state, &bytes_sent, &shutdown));
                }
            })
        };
        Self { addr, state, bytes_sent, shutdown, acceptor: Some(acceptor) }
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `//127.0.0.1:PORT/`, the nerf-dart key of this server's root, for `.npmrc` credentials.
    pub fn nerf_dart(&self) -> String {
        format!("//{}/", self.addr)
    }

    /// Serves `resource` at `path` (query included, if any).
    pub fn serve(&self, path: &str, resource: Resource) {
        lock(&self.state).resources.insert(path.to_string(), resource);
    }

    /// Injects `fault` at `path` for the next `times` requests (`None`: for all of them).
    /// Faults queue: `fault(p, Status(500), Some(2)); fault(p, Hang, Some(1))` answers two 500s,
    /// then hangs once, then serves the resource.
    pub fn fault(&self, path: &str, fault: Fault, times: Option<usize>) {
        lock(&self.state).faults.entry(path.to_string()).or_default().push_back((fault, times));
    }

    /// Removes every fault at `path`.
    pub fn clear_faults(&self, path: &str) {
        lock(&self.state).faults.remove(path);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// The requests for `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }

    /// Response body bytes sent so far (truncated bodies count what was sent).
    pub fn bytes_sent(&self) -> u64 {
        self.bytes_sent.load(Ordering::SeqCst)
    }

    /// Response body bytes sent so far for `path`.
    pub fn bytes_sent_to(&self, path: &str) -> u64 {
        lock(&self.state).bytes_by_path.get(path).copied().unwrap_or(0)
    }

    /// Publishes a version: serves its package's packument (full, or abbreviated when the
    /// request's `Accept` asks for `application/vnd.npm.install-v1+json`), its tarball, and its
    /// attestations (404 when it has none). Returns the version's tarball URL.
    pub fn publish(&self, version: TestVersion) -> String {
        let tarball_url =
            version.tarball_url.clone().unwrap_or_else(|| format!("http://{}{}", self.addr, version.tarball_path()));
        let mut tarball = Resource::new(200, "application/octet-stream", version.tarball.clone());
        if let Some(cache_control) = &version.tarball_cache_control {
            tarball = tarball.with_header("Cache-Control", cache_control);
        }
        let mut state = lock(&self.state);
        state.resources.insert(version.tarball_path(), tarball);
        match &version.attestations {
            Some(body) => {
                state.resources.insert(version.attestations_path(), Resource::json(body));
            }
            None => {
                state.resources.remove(&version.attestations_path());
            }
        }
        let path = version.packument_path();
        let versions = state.versions.entry(version.name.clone()).or_default();
        versions.retain(|v| v.version != version.version);
        versions.push(version);
        let versions = versions.clone();
        let documents = self.packuments(&versions);
        state.packuments.insert(path, documents);
        tarball_url
    }

    fn packuments(&self, versions: &[TestVersion]) -> (Value, Value) {
        let mut full_versions = serde_json::Map::new();
        let mut abbreviated_versions = serde_json::Map::new();
        let mut time = serde_json::Map::new();
        for version in versions {
            let tarball_url = version
                .tarball_url
                .clone()
                .unwrap_or_else(|| format!("http://{}{}", self.addr, version.tarball_path()));
            let mut dist = json!({
                "tarball": tarball_url,
                "integrity": version.integrity(),
                "shasum": "0000000000000000000000000000000000000000",
            });
            if !version.signatures.is_empty() {
                dist["signatures"] =
                    version.signatures.iter().map(|(keyid, sig)| json!({"keyid": keyid, "sig": sig})).collect();
            }
            if version.attestations.is_some() && version.advertise_attestations {
                dist["attestations"] = json!({
                    "url": format!("http://{}{}", self.addr, version.attestations_path()),
                    "provenance": {"predicateType": "https://slsa.dev/provenance/v1"}
                });
            }
            let manifest = json!({"name": version.name, "version": version.version, "dist": dist});
            let mut full_manifest = manifest.clone();
            if let Some(npm_version) = &version.npm_version {
                full_manifest["_npmVersion"] = Value::String(npm_version.clone());
            }
            full_versions.insert(version.version.clone(), full_manifest);
            let mut abbreviated = json!({"name": version.name, "version": version.version});
            if !version.abbreviated_without_dist {
                abbreviated["dist"] = manifest["dist"].clone();
            }
            abbreviated_versions.insert(version.version.clone(), abbreviated);
            if let Some(published) = &version.published {
                time.insert(version.version.clone(), Value::String(published.clone()));
            }
        }
        let name = versions.first().map(|v| v.name.clone()).unwrap_or_default();
        let full = json!({"name": name, "versions": full_versions, "time": time});
        let abbreviated =
            json!({"name": name, "modified": "2024-06-01T12:00:00.000Z", "versions": abbreviated_versions});
        (full, abbreviated)
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        // Wake the acceptor, which checks the flag after each connection.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

struct Request {
    method: String,
    target: String,
    path: String,
    headers: Vec<(String, String)>,
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 || buffer.len() > 64 * 1024 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buffer);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    let path = match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or_else(|| "/".to_string(), |slash| rest[slash..].to_string()),
        None => target.clone(),
    };
    let headers = lines
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Some(Request { method, target, path, headers })
}

enum Action {
    Respond(Resource),
    Hang,
    Truncate(Resource, usize),
    Trickle(Resource, Duration),
}

fn serve_connection(mut stream: TcpStream, state: &Mutex<State>, bytes_sent: &AtomicU64, shutdown: &AtomicBool) {
    let Some(request) = read_request(&mut stream) else { return };
    let action = {
        let mut state = lock(state);
        state.requests.push(RecordedRequest {
            method: request.method.clone(),
            target: request.target.clone(),
            path: request.path.clone(),
            headers: request.headers.clone(),
            at: Instant::now(),
        });
        let fault = state.faults.get_mut(&request.path).and_then(|queue| {
            let (fault, remaining) = queue.front_mut()?;
            let fault = fault.clone();
            if let Some(remaining) = remaining {
                *remaining -= 1;
                if *remaining == 0 {
                    queue.pop_front();
                }
            }
            Some(fault)
        });
        let resource = resource_for(&state, &request);
        match fault {
            None => Action::Respond(resource),
            Some(Fault::Status(status)) => Action::Respond(Resource::new(status, "text/plain", Vec::new())),
            Some(Fault::TooManyRequests { retry_after }) => {
                Action::Respond(Resource::new(429, "text/plain", Vec::new()).with_header("Retry-After", &retry_after))
            }
            Some(Fault::Redirect(location)) => {
                Action::Respond(Resource::new(302, "text/plain", Vec::new()).with_header("Location", &location))
            }
            Some(Fault::Hang) => Action::Hang,
            Some(Fault::Truncate { keep }) => Action::Truncate(resource, keep),
            Some(Fault::Trickle { interval }) => Action::Trickle(resource, interval),
        }
    };
    let (resource, keep) = match action {
        Action::Hang => {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !shutdown.load(Ordering::SeqCst) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            return;
        }
        Action::Respond(resource) => {
            let len = resource.body.len();
            (resource, len)
        }
        Action::Truncate(resource, keep) => {
            let keep = keep.min(resource.body.len());
            (resource, keep)
        }
        Action::Trickle(resource, interval) => {
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", resource.body.len());
            if stream.write_all(head.as_bytes()).is_err() {
                return;
            }
            for byte in &resource.body {
                if shutdown.load(Ordering::SeqCst) || stream.write_all(std::slice::from_ref(byte)).is_err() {
                    return;
                }
                bytes_sent.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(interval);
            }
            return;
        }
    };
    let mut head = format!("HTTP/1.1 {} {}\r\n", resource.status, reason(resource.status));
    for (name, value) in &resource.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", resource.body.len()));
    let body = if request.method == "HEAD" { &[][..] } else { &resource.body[..keep] };
    if stream.write_all(head.as_bytes()).is_ok() && stream.write_all(body).is_ok() {
        bytes_sent.fetch_add(body.len() as u64, Ordering::SeqCst);
        *lock(state).bytes_by_path.entry(request.path.clone()).or_default() += body.len() as u64;
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn resource_for(state: &State, request: &Request) -> Resource {
    if let Some((full, abbreviated)) = state.packuments.get(&request.path) {
        let wants_abbreviated = request
            .headers
            .iter()
            .any(|(name, value)| name == "accept" && value.contains("application/vnd.npm.install-v1+json"));
        let (document, content_type) = if wants_abbreviated {
            (abbreviated, "application/vnd.npm.install-v1+json")
        } else {
            (full, "application/json")
        };
        let body = serde_json::to_vec(document).expect("JSON values serialize");
        let etag = format!("\"{}\"", &Sha512::digest(&body).to_hex()[..16]);
        let matches = request.headers.iter().any(|(name, value)| name == "if-none-match" && *value == etag);
        if matches {
            return Resource { status: 304, headers: vec![("ETag".into(), etag)], body: Vec::new() };
        }
        return Resource::new(200, content_type, body).with_header("ETag", &etag);
    }
    state
        .resources
        .get(&request.path)
        .cloned()
        .unwrap_or_else(|| Resource::new(404, "application/json", r#"{"error":"Not found"}"#))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        304 => "Not Modified",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
