//! The sandbox's only way out: an HTTP proxy on a Unix socket that lets a build reach the package
//! registries and nothing else.
//!
//! The sandbox has its own network namespace, with only a loopback interface. Its init listens on
//! that loopback and relays each connection to this socket (bound into the sandbox); npm is
//! pointed at it as its proxy. Here, outside, each request is checked before anything is
//! connected: `CONNECT host:port` (HTTPS) and absolute-form requests (`GET http://host/…`) pass
//! only to the origins of the configured registries; everything else gets `403` and is recorded.
//! A plain HTTP request passes only when its `Host` header names the origin it is sent to (one is
//! added when there is none), so that a server hosting several names on the registry's address
//! cannot be asked for another of them.
//! The proxy relays bytes; it never reads or changes what a registry sends (TLS stays end to
//! end), and it never adds credentials.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The largest request head accepted.
const MAX_HEAD: usize = 64 << 10;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const HEAD_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the accept loop looks for a connection, and for being stopped.
const ACCEPT_POLL: Duration = Duration::from_millis(10);

/// A host and port a build may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// The origin of an `http`/`https` URL.
    pub fn from_url(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let default_port = match scheme.to_ascii_lowercase().as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
        Self::parse_authority(authority, default_port)
    }

    /// `host:port`, `host` (with a default port) or `[v6]:port`.
    fn parse_authority(authority: &str, default_port: u16) -> Option<Self> {
        let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
            let (host, after) = rest.split_once(']')?;
            let port = match after.strip_prefix(':') {
                Some(port) => port.parse().ok()?,
                None if after.is_empty() => default_port,
                None => return None,
            };
            (host.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host.to_string(), port.parse().ok()?),
                None => (authority.to_string(), default_port),
            }
        };
        (!host.is_empty()).then(|| Self { host: host.to_ascii_lowercase(), port })
    }

    /// The `Host` header for a plain HTTP request to this origin.
    fn host_header(&self) -> String {
        match (self.host.contains(':'), self.port) {
            (false, 80) => self.host.clone(),
            (true, 80) => format!("[{}]", self.host),
            _ => self.display(),
        }
    }

    fn display(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A running proxy; dropping it stops it.
#[derive(Debug)]
pub(crate) struct RegistryProxy {
    socket: PathBuf,
    stop: Arc<AtomicBool>,
    refused: Arc<Mutex<Vec<String>>>,
    accept: Option<JoinHandle<()>>,
}

impl RegistryProxy {
    /// Listens on `socket` and relays to `allowed` only.
    pub fn start(socket: &Path, allowed: Vec<Origin>) -> std::io::Result<Self> {
        let listener = UnixListener::bind(socket)?;
        // Polled, so that stopping never depends on the socket's path still leading to it.
        listener.set_nonblocking(true)?;
        let stop = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let (stop, refused) = (Arc::clone(&stop), Arc::clone(&refused));
            let allowed = Arc::new(allowed);
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let connection = match listener.accept() {
                        Ok((connection, _)) => connection,
                        Err(_) => {
                            std::thread::sleep(ACCEPT_POLL);
                            continue;
                        }
                    };
                    if connection.set_nonblocking(false).is_err() {
                        continue;
                    }
                    let (allowed, refused) = (Arc::clone(&allowed), Arc::clone(&refused));
                    std::thread::spawn(move || serve(connection, &allowed, &refused));
                }
            })
        };
        Ok(Self { socket: socket.to_path_buf(), stop, refused, accept: Some(accept) })
    }

    /// What was refused: `CONNECT host:port`, `GET http://host/path`.
    pub fn refused(&self) -> Vec<String> {
        self.refused.lock().map(|list| list.clone()).unwrap_or_default()
    }
}

impl Drop for RegistryProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

fn serve(mut client: UnixStream, allowed: &[Origin], refused: &Mutex<Vec<String>>) {
    let _ = client.set_read_timeout(Some(HEAD_TIMEOUT));
    let Some((head, rest)) = read_head(&mut client) else { return };
    let _ = client.set_read_timeout(None);
    let Some(request) = Request::parse(&head) else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let permitted = allowed.contains(&request.origin) && request.other_host.is_none();
    if !permitted {
        if let Ok(mut list) = refused.lock() {
            list.push(request.describe());
        }
        let body = match &request.other_host {
            Some(host) => format!(
                "provdiff: the request for {} names another host ({host:?}) in its Host header\n",
                request.origin.display()
            ),
            None => {
                format!("provdiff: the sandbox may reach the package registry only, not {}\n", request.origin.display())
            }
        };
        let _ = write!(
            client,
            "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        return;
    }
    let upstream = (request.origin.host.as_str(), request.origin.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.find_map(|addr| TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).ok()));
    let Some(mut upstream) = upstream else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    match &request.forward {
        None => {
            if client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").is_err()
                || upstream.write_all(&rest).is_err()
            {
                return;
            }
            relay(client, upstream);
        }
        // One request, its body and nothing more: bytes after it (a second, pipelined request
        // with a Host of its own, say) never reach the registry's address.
        Some(head) => {
            if upstream.write_all(head.as_bytes()).is_err()
                || forward_body(&mut client, &mut upstream, rest, request.body).is_err()
            {
                return;
            }
            // The head says `Connection: close`: the registry ends the exchange.
            let _ = std::io::copy(&mut upstream, &mut client);
            let _ = client.shutdown(Shutdown::Write);
        }
    }
}

/// Sends the `body` bytes of a request that follow its head: those already read (`rest`), then
/// the remainder from the client.
fn forward_body(client: &mut UnixStream, upstream: &mut TcpStream, rest: Vec<u8>, body: u64) -> std::io::Result<()> {
    let already = rest.len().min(usize::try_from(body).unwrap_or(usize::MAX));
    upstream.write_all(&rest[..already])?;
    let remaining = body - already as u64;
    let copied = std::io::copy(&mut Read::take(&mut *client, remaining), upstream)?;
    if copied < remaining {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

/// Reads up to the end of the request head; returns the head and any bytes after it.
fn read_head(client: &mut UnixStream) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = client.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            return Some((String::from_utf8(buffer).ok()?, rest));
        }
        if buffer.len() > MAX_HEAD {
            return None;
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Request {
    method: String,
    target: String,
    origin: Origin,
    /// For an absolute-form request, the head to send upstream (origin-form, one request per
    /// connection); `None` for `CONNECT`.
    forward: Option<String>,
    /// For an absolute-form request, the `Host` header(s) when they do not name the target's
    /// origin (several `Host` headers count as another host).
    other_host: Option<String>,
    /// For an absolute-form request, the length of its body (`Content-Length`, else none).
    body: u64,
}

impl Request {
    /// `None` for a head the proxy will not forward: not HTTP/1.x, line breaks other than CRLF
    /// or folded header lines (which other parsers read as more headers, a `Host` among them), a
    /// chunked body, or contradictory lengths.
    fn parse(head: &str) -> Option<Self> {
        let bare_break = head.split("\r\n").any(|line| line.contains(['\r', '\n']));
        if bare_break || head.split("\r\n").skip(1).any(|line| line.starts_with([' ', '\t'])) {
            return None;
        }
        let mut lines = head.split("\r\n");
        let mut parts = lines.next()?.split(' ');
        let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
        if method.eq_ignore_ascii_case("CONNECT") {
            let origin = Origin::parse_authority(target, 443)?;
            return Some(Self {
                method: method.into(),
                target: target.into(),
                origin,
                forward: None,
                other_host: None,
                body: 0,
            });
        }
        let origin = Origin::from_url(target)?;
        if !target.to_ascii_lowercase().starts_with("http://") {
            return None;
        }
        let after_scheme = &target["http://".len()..];
        let path = after_scheme.find(['/', '?']).map_or("/", |at| &after_scheme[at..]);
        let path = if path.starts_with('?') { format!("/{path}") } else { path.to_string() };
        let mut forward = format!("{method} {path} {version}\r\n");
        let mut hosts = Vec::new();
        let mut lengths = Vec::new();
        for line in lines.filter(|line| !line.is_empty()) {
            let (name, value) = line.split_once(':').unwrap_or((line, ""));
            let name = name.trim().to_ascii_lowercase();
            if name == "transfer-encoding" {
                return None;
            }
            if name == "content-length" {
                lengths.push(value.trim().parse::<u64>().ok()?);
            }
            if matches!(name.as_str(), "connection" | "proxy-connection" | "proxy-authorization" | "keep-alive") {
                continue;
            }
            if name == "host" {
                hosts.push(value.trim().to_string());
                continue;
            }
            forward.push_str(line);
            forward.push_str("\r\n");
        }
        let other_host = match hosts.as_slice() {
            [] => None,
            [host] if Origin::parse_authority(host, 80).as_ref() == Some(&origin) => None,
            several => Some(several.join(", ")),
        };
        forward.push_str(&format!("Host: {}\r\n", origin.host_header()));
        forward.push_str("Connection: close\r\n\r\n");
        let body = match lengths.as_slice() {
            [] => 0,
            [first, others @ ..] if others.iter().all(|length| length == first) => *first,
            _ => return None,
        };
        Some(Self { method: method.into(), target: target.into(), origin, forward: Some(forward), other_host, body })
    }

    fn describe(&self) -> String {
        match &self.other_host {
            Some(host) => format!("{} {} (Host: {host})", self.method, self.target),
            None => format!("{} {}", self.method, self.target),
        }
    }
}

/// Copies both ways until both sides are done.
fn relay(client: UnixStream, upstream: TcpStream) {
    let (Ok(mut client_read), Ok(mut upstream_read)) = (client.try_clone(), upstream.try_clone()) else { return };
    let (mut client_write, mut upstream_write) = (client, upstream);
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Write);
    let _ = up.join();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn origins() {
        let origin = |host: &str, port| Some(Origin { host: host.into(), port });
        assert_eq!(Origin::from_url("https://Registry.Example.test/"), origin("registry.example.test", 443));
        assert_eq!(Origin::from_url("http://127.0.0.1:4873/npm/"), origin("127.0.0.1", 4873));
        assert_eq!(Origin::from_url("http://user:pw@host.test/x"), origin("host.test", 80));
        assert_eq!(Origin::from_url("http://[::1]:8080/"), origin("::1", 8080));
        assert_eq!(Origin::from_url("file:///x"), None);
        assert_eq!(Origin::from_url("https://host.test:x/"), None);
    }

    #[test]
    fn requests() {
        let connect = Request::parse("CONNECT registry.example.test:443 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(connect.origin, Origin { host: "registry.example.test".into(), port: 443 });
        assert_eq!(connect.forward, None);
        let get = Request::parse(
            "GET http://127.0.0.1:9/pkg?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n",
        )
        .unwrap();
        assert_eq!(
            get.forward.as_deref(),
            Some("GET /pkg?x=1 HTTP/1.1\r\nAccept: */*\r\nHost: 127.0.0.1:9\r\nConnection: close\r\n\r\n")
        );
        assert_eq!(get.other_host, None);
        assert_eq!(Request::parse("GET /relative HTTP/1.1\r\n\r\n"), None);

        // The Host header must name the origin the request goes to; one is added when missing.
        let host = |head: &str| Request::parse(head).unwrap().other_host;
        assert_eq!(host("GET http://Registry.test/x HTTP/1.1\r\nHost: registry.TEST:80\r\n\r\n"), None);
        let added = Request::parse("GET http://registry.test?q HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(
            added.forward.as_deref(),
            Some("GET /?q HTTP/1.1\r\nHost: registry.test\r\nConnection: close\r\n\r\n")
        );
        assert_eq!(
            host("GET http://registry.test/x HTTP/1.1\r\nHost: internal.test\r\n\r\n").as_deref(),
            Some("internal.test")
        );
        assert_eq!(
            host("GET http://registry.test:8080/x HTTP/1.1\r\nHost: registry.test\r\n\r\n").as_deref(),
            Some("registry.test")
        );
        assert!(host("GET http://registry.test/ HTTP/1.1\r\nHost: registry.test\r\nhost: b.test\r\n\r\n").is_some());

        // Heads other parsers could read as more headers (a second Host, say) are not forwarded.
        for head in [
            "GET http://registry.test/ HTTP/1.1\r\nX-A: b\nHost: internal.test\r\n\r\n",
            "GET http://registry.test/ HTTP/1.1\r\nX-A: b\rHost: internal.test\r\n\r\n",
            "GET http://registry.test/ HTTP/1.1\r\nX-A: b\r\n Host: internal.test\r\n\r\n",
            "POST http://registry.test/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST http://registry.test/ HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            "POST http://registry.test/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        ] {
            assert_eq!(Request::parse(head), None, "{head:?}");
        }
        let post = Request::parse("POST http://registry.test/ HTTP/1.1\r\nContent-Length: 5\r\n\r\n").unwrap();
        assert_eq!(post.body, 5);
    }

    #[test]
    fn only_one_request_and_its_body_reach_the_registry() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("proxy.sock");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            // Everything that arrives within a moment: the request, and whatever follows it.
            stream.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
            let mut received = Vec::new();
            let mut chunk = [0u8; 1024];
            while let Ok(read) = stream.read(&mut chunk) {
                if read == 0 {
                    break;
                }
                received.extend_from_slice(&chunk[..read]);
            }
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok").unwrap();
            String::from_utf8(received).unwrap()
        });
        let _proxy = RegistryProxy::start(&socket, vec![Origin { host: "127.0.0.1".into(), port }]).unwrap();
        let answer = exchange(
            &socket,
            &format!(
                "POST http://127.0.0.1:{port}/x HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody\
                 GET / HTTP/1.1\r\nHost: internal.test\r\n\r\n"
            ),
        );
        assert!(answer.ends_with("ok"), "{answer}");
        let received = upstream.join().unwrap();
        assert!(received.ends_with("Connection: close\r\n\r\nbody"), "{received:?}");
        assert!(!received.contains("internal.test"), "{received:?}");
    }

    /// A one-shot HTTP server on 127.0.0.1 answering every request with `body`.
    fn server(body: &'static str) -> (u16, JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).unwrap();
                head.push(byte[0]);
            }
            write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
                .unwrap();
            String::from_utf8(head).unwrap()
        });
        (port, handle)
    }

    fn exchange(socket: &Path, request: &str) -> String {
        let mut stream = UnixStream::connect(socket).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    #[test]
    fn relays_to_the_registry_and_refuses_everything_else() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("proxy.sock");
        let (allowed_port, allowed_server) = server("registry says hi");
        let denied = TcpListener::bind("127.0.0.1:0").unwrap();
        let denied_port = denied.local_addr().unwrap().port();
        let proxy =
            RegistryProxy::start(&socket, vec![Origin { host: "127.0.0.1".into(), port: allowed_port }]).unwrap();

        let answer = exchange(
            &socket,
            &format!("GET http://127.0.0.1:{allowed_port}/left-pad HTTP/1.1\r\nHost: 127.0.0.1:{allowed_port}\r\n\r\n"),
        );
        assert!(answer.ends_with("registry says hi"), "{answer}");
        assert!(allowed_server.join().unwrap().starts_with("GET /left-pad HTTP/1.1\r\n"));

        let answer = exchange(&socket, &format!("CONNECT 127.0.0.1:{denied_port} HTTP/1.1\r\n\r\n"));
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        let answer = exchange(&socket, "GET http://elsewhere.invalid/x HTTP/1.1\r\n\r\n");
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        // The registry's address, asked for another name it may host.
        let answer = exchange(
            &socket,
            &format!("GET http://127.0.0.1:{allowed_port}/x HTTP/1.1\r\nHost: 127.0.0.1:{denied_port}\r\n\r\n"),
        );
        assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
        denied.set_nonblocking(true).unwrap();
        assert!(denied.accept().is_err(), "nothing reached the host that is not the registry");
        assert_eq!(
            proxy.refused(),
            [
                format!("CONNECT 127.0.0.1:{denied_port}"),
                "GET http://elsewhere.invalid/x".to_string(),
                format!("GET http://127.0.0.1:{allowed_port}/x (Host: 127.0.0.1:{denied_port})"),
            ]
        );
    }

    #[test]
    fn stopping_does_not_depend_on_the_socket_s_path() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("proxy.sock");
        let proxy = RegistryProxy::start(&socket, vec![]).unwrap();
        // What a build could do to a socket it can write: remove it, or put something else there.
        std::fs::remove_file(&socket).unwrap();
        std::fs::write(&socket, "not a socket").unwrap();
        let (done, stopped) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            drop(proxy);
            let _ = done.send(());
        });
        assert!(stopped.recv_timeout(Duration::from_secs(10)).is_ok(), "the proxy did not stop");
    }

    #[test]
    fn connect_tunnels_bytes_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("proxy.sock");
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = echo.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = echo.accept().unwrap();
            let mut buffer = [0u8; 5];
            stream.read_exact(&mut buffer).unwrap();
            stream.write_all(&buffer).unwrap();
        });
        let _proxy = RegistryProxy::start(&socket, vec![Origin { host: "127.0.0.1".into(), port }]).unwrap();
        let mut stream = UnixStream::connect(&socket).unwrap();
        write!(stream, "CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\nhello").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, "HTTP/1.1 200 Connection established\r\n\r\nhello");
    }
}
