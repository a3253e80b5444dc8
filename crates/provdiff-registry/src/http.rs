//! GET requests to the registry: credentials by URL, redirects followed by hand so credentials
//! never cross to another origin, timeouts, and retries with exponential backoff and jitter.
//!
//! Retried: 408, 429 (after `Retry-After` when given), 5xx, connection failures, timeouts and
//! bodies cut short, within a bounded number of attempts and a bounded total time. Not
//! retried: other statuses, which become typed errors naming the URL without its credentials.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{
    ACCEPT, AUTHORIZATION, ETAG, HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION,
};
use reqwest::{StatusCode, Url};

use crate::config::RegistryConfig;

/// Timeouts and retry bounds. The defaults suit an interactive command on a slow network.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Time allowed to establish a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Time allowed between two reads once connected: waiting for the response headers or for
    /// the next part of the body.
    pub read_timeout: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubled for each further one, up to `max_delay`, with
    /// jitter (each delay is drawn between half and all of it).
    pub initial_delay: Duration,
    pub max_delay: Duration,
    /// Total time a request may take, all attempts, delays and body transfers included. A
    /// transfer still running when it runs out is abandoned.
    pub max_total: Duration,
    /// The longest `Retry-After` honoured; a registry asking for more is an error at once.
    pub max_retry_after: Duration,
    /// Redirects followed per request.
    pub max_redirects: usize,
    pub user_agent: String,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            max_attempts: 4,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_total: Duration::from_secs(300),
            max_retry_after: Duration::from_secs(60),
            max_redirects: 10,
            user_agent: format!("provdiff/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("GET {url}: 401 Unauthorized ({})", credentials_hint(*.sent_credentials))]
    Unauthorized { url: String, sent_credentials: bool },
    #[error("GET {url}: 403 Forbidden ({})", credentials_hint(*.sent_credentials))]
    Forbidden { url: String, sent_credentials: bool },
    #[error("GET {url}: 404 Not Found")]
    NotFound { url: String },
    #[error("GET {url}: unexpected HTTP status {status}")]
    Status { url: String, status: u16 },
    #[error("GET {url}: gave up after {attempts} attempt(s) over {:.1}s: {last}", elapsed.as_secs_f64())]
    GaveUp { url: String, attempts: u32, elapsed: Duration, last: Transient },
    #[error("GET {url}: the registry asked to retry after {}s, longer than the {}s allowed", wait.as_secs(), limit.as_secs())]
    RetryAfterTooLong { url: String, wait: Duration, limit: Duration },
    #[error("GET {url}: more than {limit} redirects")]
    TooManyRedirects { url: String, limit: usize },
    #[error("GET {url}: redirect with a missing or invalid Location ({location:?})")]
    BadRedirect { url: String, location: String },
    #[error("GET {url}: the response is larger than the {limit} bytes allowed")]
    TooLarge { url: String, limit: u64 },
    #[error("GET {url}: the request could not be made")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("GET {url}: cannot store the response")]
    Store {
        url: String,
        #[source]
        source: std::io::Error,
    },
}

fn credentials_hint(sent: bool) -> &'static str {
    if sent { "the configured credentials were refused" } else { "no credentials are configured for this URL" }
}

/// A failure that may go away on a later attempt.
#[derive(Debug, thiserror::Error)]
pub enum Transient {
    #[error("HTTP {status}")]
    Status { status: u16 },
    #[error("no connection within the {}ms connect timeout", timeout.as_millis())]
    ConnectTimeout { timeout: Duration },
    #[error("no data for {}ms (read timeout)", timeout.as_millis())]
    ReadTimeout { timeout: Duration },
    #[error("connection failed")]
    Connect {
        #[source]
        source: reqwest::Error,
    },
    #[error("the {}s time limit ran out", limit.as_secs_f64())]
    Deadline { limit: Duration },
    #[error("the response was cut short")]
    Body {
        #[source]
        source: reqwest::Error,
    },
}

/// Where a response body goes. `reset` starts over before a retry.
pub(crate) trait Sink {
    fn reset(&mut self) -> std::io::Result<()>;
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()>;
}

/// A body kept in memory, up to a limit.
#[derive(Debug, Default)]
pub(crate) struct MemorySink {
    pub bytes: Vec<u8>,
}

impl Sink for MemorySink {
    fn reset(&mut self) -> std::io::Result<()> {
        self.bytes.clear();
        Ok(())
    }
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }
}

/// What a request asks for.
#[derive(Debug)]
pub(crate) struct Get<'a> {
    pub url: &'a Url,
    /// The registry the request is made for, to find credentials npm's way.
    pub registry: &'a Url,
    pub accept: &'a str,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    pub limit: u64,
    /// Told how much of the body has arrived (from zero again when a retry starts over).
    pub progress: Option<&'a provdiff_core::ProgressSink>,
}

/// A successful response's metadata; the body went to the sink.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub not_modified: bool,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    config: Arc<RegistryConfig>,
    options: HttpOptions,
}

/// The URL as shown in messages: no user name or password.
pub(crate) fn display_url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

enum Failure {
    Fatal(FetchError),
    Retry { cause: Transient, retry_after: Option<Duration> },
}

impl Http {
    pub fn new(
        config: Arc<RegistryConfig>,
        options: HttpOptions,
        extra_roots: Vec<reqwest::Certificate>,
    ) -> Result<Self, reqwest::Error> {
        let proxy_config = Arc::clone(&config);
        let client = reqwest::Client::builder()
            .no_proxy()
            .proxy(reqwest::Proxy::custom(move |url| proxy_config.proxy_for(url)))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(options.connect_timeout)
            .read_timeout(options.read_timeout)
            .user_agent(options.user_agent.clone())
            .tls_certs_merge(extra_roots)
            .build()?;
        Ok(Self { client, config, options })
    }

    /// GETs `request.url` into `sink`, retrying as the module documentation says.
    pub async fn get(&self, request: &Get<'_>, sink: &mut dyn Sink) -> Result<Response, FetchError> {
        let start = Instant::now();
        let shown = display_url(request.url);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = self.options.max_total.saturating_sub(start.elapsed());
            let (cause, retry_after) = match tokio::time::timeout(remaining, self.attempt(request, sink)).await {
                Ok(Ok(response)) => return Ok(response),
                Ok(Err(Failure::Fatal(error))) => return Err(error),
                Ok(Err(Failure::Retry { cause, retry_after })) => (cause, retry_after),
                Err(_) => {
                    let last = Transient::Deadline { limit: self.options.max_total };
                    return Err(FetchError::GaveUp { url: shown, attempts: attempt, elapsed: start.elapsed(), last });
                }
            };
            if let Some(wait) = retry_after.filter(|wait| *wait > self.options.max_retry_after) {
                return Err(FetchError::RetryAfterTooLong { url: shown, wait, limit: self.options.max_retry_after });
            }
            let delay = retry_after.unwrap_or_else(|| self.backoff(attempt));
            let elapsed = start.elapsed();
            if attempt >= self.options.max_attempts || elapsed + delay > self.options.max_total {
                return Err(FetchError::GaveUp { url: shown, attempts: attempt, elapsed, last: cause });
            }
            tokio::time::sleep(delay).await;
            sink.reset().map_err(|source| FetchError::Store { url: shown.clone(), source })?;
        }
    }

    /// The delay after attempt `attempt` (1-based): exponential, capped, with jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self.options.initial_delay.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = exponential.min(self.options.max_delay);
        let half = capped / 2;
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let random = std::collections::hash_map::RandomState::new().build_hasher().finish();
        half + Duration::from_nanos(if spread == 0 { 0 } else { random % spread })
    }

    async fn attempt(&self, request: &Get<'_>, sink: &mut dyn Sink) -> Result<Response, Failure> {
        let credentials = self.config.credentials_for(request.url, request.registry);
        let credentials_origin = request.url.clone();
        let mut url = request.url.clone();
        let mut redirects = 0;
        let response = loop {
            // Credentials go only to the origin they were chosen for.
            let authorization =
                credentials.as_ref().filter(|_| same_origin(&url, &credentials_origin)).map(|c| c.authorization());
            let mut builder = self.client.get(url.clone()).header(ACCEPT, request.accept);
            if let Some(authorization) = authorization {
                builder = builder.header(AUTHORIZATION, authorization);
            }
            if let Some(etag) = request.etag {
                builder = builder.header(IF_NONE_MATCH, etag);
            }
            if let Some(last_modified) = request.last_modified {
                builder = builder.header(IF_MODIFIED_SINCE, last_modified);
            }
            let response = builder.send().await.map_err(|error| self.transport_failure(&url, error, false))?;
            if !response.status().is_redirection() || response.status() == StatusCode::NOT_MODIFIED {
                break (response, authorization.is_some());
            }
            redirects += 1;
            if redirects > self.options.max_redirects {
                return Err(Failure::Fatal(FetchError::TooManyRedirects {
                    url: display_url(request.url),
                    limit: self.options.max_redirects,
                }));
            }
            let location = response.headers().get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let next = url.join(location).ok().filter(|next| matches!(next.scheme(), "http" | "https"));
            url = next.ok_or_else(|| {
                Failure::Fatal(FetchError::BadRedirect { url: display_url(&url), location: location.to_string() })
            })?;
        };
        let (mut response, sent_credentials) = response;
        let shown = display_url(&url);
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED && (request.etag.is_some() || request.last_modified.is_some()) {
            return Ok(Response { not_modified: true, ..metadata(response.headers()) });
        }
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            return Err(match status.as_u16() {
                401 => Failure::Fatal(FetchError::Unauthorized { url: shown, sent_credentials }),
                403 => Failure::Fatal(FetchError::Forbidden { url: shown, sent_credentials }),
                404 => Failure::Fatal(FetchError::NotFound { url: shown }),
                408 | 429 | 500..=599 => {
                    Failure::Retry { cause: Transient::Status { status: status.as_u16() }, retry_after }
                }
                other => Failure::Fatal(FetchError::Status { url: shown, status: other }),
            });
        }
        if response.content_length().is_some_and(|length| length > request.limit) {
            return Err(Failure::Fatal(FetchError::TooLarge { url: shown, limit: request.limit }));
        }
        let meta = metadata(response.headers());
        let total_bytes = response.content_length();
        let report = |bytes: u64| {
            if let Some(progress) = request.progress {
                progress.report(provdiff_core::Transferred { bytes, total_bytes, objects: None });
            }
        };
        let mut received: u64 = 0;
        report(received);
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    received += chunk.len() as u64;
                    if received > request.limit {
                        return Err(Failure::Fatal(FetchError::TooLarge { url: shown, limit: request.limit }));
                    }
                    sink.write(&chunk)
                        .map_err(|source| Failure::Fatal(FetchError::Store { url: shown.clone(), source }))?;
                    report(received);
                }
                Ok(None) => break,
                Err(error) => return Err(self.transport_failure(&url, error, true)),
            }
        }
        Ok(meta)
    }

    fn transport_failure(&self, url: &Url, error: reqwest::Error, in_body: bool) -> Failure {
        let cause = if error.is_timeout() && error.is_connect() {
            Transient::ConnectTimeout { timeout: self.options.connect_timeout }
        } else if error.is_timeout() {
            Transient::ReadTimeout { timeout: self.options.read_timeout }
        } else if in_body || error.is_body() || error.is_decode() {
            Transient::Body { source: error }
        } else if error.is_connect() || error.is_request() {
            Transient::Connect { source: error }
        } else if error.is_builder() {
            return Failure::Fatal(FetchError::Request { url: display_url(url), source: error });
        } else {
            Transient::Connect { source: error }
        };
        Failure::Retry { cause, retry_after: None }
    }
}

fn metadata(headers: &HeaderMap) -> Response {
    let header =
        |name| headers.get(name).and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok()).map(str::to_string);
    Response { not_modified: false, etag: header(ETAG), last_modified: header(LAST_MODIFIED) }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = date.duration_since(jiff::Timestamp::now());
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(reqwest::header::RETRY_AFTER, "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn urls_are_shown_without_credentials() {
        let url = Url::parse("http://user:secret@127.0.0.1:9/a?b=c").unwrap();
        assert_eq!(display_url(&url), "http://127.0.0.1:9/a?b=c");
    }

    #[test]
    fn backoff_grows_and_stays_within_bounds() {
        let options = HttpOptions {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            ..HttpOptions::default()
        };
        let config = Arc::new(RegistryConfig::for_registry("http://127.0.0.1:9/").unwrap());
        let http = Http::new(config, options, Vec::new()).unwrap();
        for _ in 0..50 {
            let first = http.backoff(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100), "{first:?}");
            let third = http.backoff(3);
            assert!(third >= Duration::from_millis(150) && third <= Duration::from_millis(300), "{third:?}");
            assert!(http.backoff(40) <= Duration::from_millis(300));
        }
    }
}
