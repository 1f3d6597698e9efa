//! The client: one request with its retries, statuses classified, replies
//! counted and progress reported.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::config::{backoff, HttpConfig};
use super::pacer::Pacer;
use super::pool::pooled_client;
use crate::error::{redact, Error, Result};

/// A reply's status and body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: bytes::Bytes,
    /// The server's clock, from the reply's `Date` header (when sent and
    /// readable): what "today" is for the service.
    pub date: Option<chrono::DateTime<chrono::Utc>>,
}

impl Reply {
    /// A reply without a `Date` header.
    pub fn new(status: u16, body: impl Into<bytes::Bytes>) -> Self {
        Reply {
            status,
            body: body.into(),
            date: None,
        }
    }
}

/// Counters kept per client (readable from Python as `client.stats()`).
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub failures: AtomicU64,
    pub wait_ms: AtomicU64,
    /// Times the pacer slowed down because the provider signalled its
    /// rate limit.
    pub slowdowns: AtomicU64,
}

impl Stats {
    pub fn snapshot(&self) -> [(&'static str, u64); 5] {
        [
            ("requests", self.requests.load(Ordering::Relaxed)),
            ("retries", self.retries.load(Ordering::Relaxed)),
            ("failures", self.failures.load(Ordering::Relaxed)),
            ("backoff_ms", self.wait_ms.load(Ordering::Relaxed)),
            ("slowdowns", self.slowdowns.load(Ordering::Relaxed)),
        ]
    }
}

/// Progress callback: `(done, total)` units of work (pages, windows, apps).
pub type ProgressFn = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Progress of one fetch.
#[derive(Clone, Default)]
pub struct Progress {
    cb: Option<ProgressFn>,
    done: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
}

impl Progress {
    pub fn new(cb: Option<ProgressFn>) -> Self {
        Progress {
            cb,
            ..Default::default()
        }
    }

    pub fn add_total(&self, n: u64) {
        if n == 0 {
            return; // nothing new to report (each report costs a GIL hop)
        }
        let t = self.total.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(cb) = &self.cb {
            cb(self.done.load(Ordering::Relaxed), t);
        }
    }

    pub fn advance(&self, n: u64) {
        let d = self.done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(cb) = &self.cb {
            cb(d, self.total.load(Ordering::Relaxed));
        }
    }
}

/// The HTTP layer of one client.
///
/// The connection pool, the concurrency limit and the counters may be
/// shared by several clients ([`Http::sibling`]); the rate limit is always
/// the client's own (providers limit each app, e.g. per SDKAppID).
pub struct Http {
    shared: Arc<Shared>,
    pacer: Arc<Pacer>,
    pub stats: Arc<Stats>,
}

struct Shared {
    provider: &'static str,
    /// The connection pool and the process that built it: a forked child
    /// must not reuse the parent's connections (their sockets are shared
    /// with the parent and registered with the parent's runtime), so a new
    /// pool is built the first time a new process sends a request.
    client: Mutex<(u32, reqwest::Client)>,
    sem: Semaphore,
    cfg: HttpConfig,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("provider", &self.shared.provider)
            .field("cfg", &self.shared.cfg)
            .finish()
    }
}

/// A reply as received, before the provider's decoder sees it.
struct Received {
    reply: Reply,
    /// The request URL without query, fragment or user info (for messages).
    url: String,
    /// The `Retry-After` header, in seconds.
    retry_after: Option<Duration>,
}

impl Http {
    pub fn new(provider: &'static str, cfg: HttpConfig) -> Result<Self> {
        cfg.validate()?;
        let client = pooled_client(&cfg)?;
        Ok(Http {
            pacer: Arc::new(Pacer::new(cfg.rate_limit)),
            shared: Arc::new(Shared {
                provider,
                client: Mutex::new((std::process::id(), client)),
                sem: Semaphore::new(cfg.concurrency),
                cfg,
            }),
            stats: Arc::new(Stats::default()),
        })
    }

    /// Another client's HTTP layer on the same connection pool, concurrency
    /// limit and counters, with a rate limit of its own (the same setting).
    pub fn sibling(&self) -> Http {
        Http {
            shared: self.shared.clone(),
            pacer: Arc::new(Pacer::new(self.shared.cfg.rate_limit)),
            stats: self.stats.clone(),
        }
    }

    /// Pace this client together with every other client of this process
    /// that names the same `app` (and rate limit): a provider limits an
    /// app, not a client. The fan-out's clients do this, so fan-outs run
    /// one after another for the same apps (one per dlt resource) cannot
    /// add up at their seam: a new client's first request would leave at
    /// once, right after the previous client's last. A pacer is kept while
    /// a client uses it and one [`WINDOW`](super::pacer::WINDOW) after.
    pub fn pace_as(&mut self, app: &str) {
        static PACERS: Mutex<Vec<(String, Arc<Pacer>)>> = Mutex::new(Vec::new());
        let key = format!(
            "{}\0{app}\0{}",
            self.shared.provider, self.shared.cfg.rate_limit
        );
        let mut all = PACERS.lock().unwrap_or_else(|p| p.into_inner());
        all.retain(|(_, p)| Arc::strong_count(p) > 1 || !p.idle());
        match all.iter().find(|(k, _)| *k == key) {
            Some((_, p)) => self.pacer = p.clone(),
            None => all.push((key, self.pacer.clone())),
        }
    }

    #[cfg(test)]
    pub(super) fn paced_with(&self, other: &Http) -> bool {
        Arc::ptr_eq(&self.pacer, &other.pacer)
    }

    #[cfg(test)]
    pub(super) async fn pacer_wait_for_test(&self) {
        self.pacer.wait().await;
    }

    pub fn config(&self) -> &HttpConfig {
        &self.shared.cfg
    }

    pub fn provider(&self) -> &'static str {
        self.shared.provider
    }

    /// The requests per second the pacer currently allows (at most the
    /// configured rate; lower after the provider signalled its limit).
    pub fn current_rate(&self) -> f64 {
        self.pacer.rate()
    }

    /// This process's connection pool (rebuilt once after a `fork()`).
    fn client(&self) -> Result<reqwest::Client> {
        let pid = std::process::id();
        let mut slot = self.shared.client.lock().unwrap_or_else(|p| p.into_inner());
        if slot.0 != pid {
            *slot = (pid, pooled_client(&self.shared.cfg)?);
        }
        Ok(slot.1.clone())
    }

    /// One attempt: wait for a concurrency slot and the pacer, send, read
    /// the whole body. Returns when the request was sent (`None`: it was
    /// not) and what came back.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        req: reqwest::RequestBuilder,
    ) -> (Option<Instant>, Result<Received>) {
        let provider = self.shared.provider;
        let Ok(_permit) = self.shared.sem.acquire().await else {
            return (None, Err(Error::Internal("HTTP semaphore closed".into())));
        };
        let request = match req.build() {
            Ok(r) => r,
            Err(e) => return (None, Err(self.transport(e))),
        };
        let sent = self.pacer.wait().await;
        // inside a fan-out: the run's global cap on requests in flight (and
        // no request for an app a final error ended)
        let _gate = match crate::fanout::request_gate().await {
            Ok(g) => g,
            Err(e) => return (None, Err(e)),
        };
        let n = self.stats.requests.fetch_add(1, Ordering::Relaxed) + 1;
        crate::fanout::note_request();
        let url = display_url(request.url());
        if log::log_enabled!(log::Level::Debug) {
            log::debug!(
                "{provider} request #{n}: {} {}",
                request.method(),
                redact(request.url().as_str())
            );
        }
        let resp = match client.execute(request).await {
            Ok(r) => r,
            Err(e) => return (Some(sent), Err(self.transport(e))),
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let date = resp
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v.trim()).ok())
            .map(|d| d.with_timezone(&chrono::Utc));
        let body = match resp.bytes().await {
            Ok(b) => b,
            Err(e) => return (Some(sent), Err(self.transport(e))),
        };
        (
            Some(sent),
            Ok(Received {
                reply: Reply { status, body, date },
                url,
                retry_after,
            }),
        )
    }

    /// Classify a reply by its status, then let the provider decode it.
    fn classify<T>(&self, r: Received, decode: &impl Fn(Reply) -> Result<T>) -> Result<T> {
        let status = r.reply.status;
        if (200..300).contains(&status) {
            return decode(r.reply);
        }
        let provider = self.shared.provider;
        let what = format!(
            "HTTP {status}{} from {}: {}",
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .map(|t| format!(" {t}"))
                .unwrap_or_default(),
            r.url,
            snippet(&r.reply.body)
        );
        match status {
            429 => Err(Error::RateLimited {
                provider,
                code: 429,
                message: what,
                retry_after: r.retry_after,
            }),
            500..=599 => Err(Error::Server {
                provider,
                code: status as i64,
                message: what,
            }),
            _ => {
                // The provider's own error envelope (gateways answer 4xx
                // with it) says more than the status: keep its class.
                match decode(r.reply) {
                    Err(
                        e @ (Error::Auth { .. }
                        | Error::RateLimited { .. }
                        | Error::QuotaExceeded { .. }
                        | Error::Server { .. }
                        | Error::Api { .. }),
                    ) => Err(e),
                    _ if status == 401 => Err(Error::Auth {
                        provider,
                        code: 401,
                        message: what,
                        renewable: false,
                    }),
                    _ => Err(Error::Api {
                        provider,
                        code: status as i64,
                        message: what,
                    }),
                }
            }
        }
    }

    fn transport(&self, e: reqwest::Error) -> Error {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            src = s.source();
        }
        if e.is_decode() || e.is_body() {
            msg.push_str(" (reply body cut short)");
        }
        Error::Transport {
            provider: self.shared.provider,
            message: redact(&msg),
            timeout: e.is_timeout(),
        }
    }

    /// Send a request built by `build` (called again for every attempt, so
    /// it may read fresh credentials), decode the reply with `decode`, and
    /// retry retryable failures with jittered exponential backoff. A
    /// rate-limit answer also slows the pacer down for every request of
    /// this client; other answers let it speed up again.
    pub async fn call<T>(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder>,
        decode: impl Fn(Reply) -> Result<T>,
    ) -> Result<T> {
        let provider = self.shared.provider;
        let retry = &self.shared.cfg.retry;
        let started = Instant::now();
        let mut waited = Duration::ZERO;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let client = self.client()?;
            let req = build(&client)?;
            let (sent, received) = self.attempt(&client, req).await;
            let result = received.and_then(|r| self.classify(r, &decode));
            if let Some(sent) = sent {
                match &result {
                    Err(Error::RateLimited { .. }) => {
                        if self.pacer.limited(sent) {
                            self.stats.slowdowns.fetch_add(1, Ordering::Relaxed);
                            log::info!(
                                "{provider}: the provider signals its rate limit; \
                                 slowing down to {:.2} requests/s",
                                self.pacer.rate()
                            );
                        }
                    }
                    Err(Error::Transport { .. }) => {}
                    _ => self.pacer.accepted(),
                }
            }
            match result {
                Ok(v) => return Ok(v),
                Err(e) if e.retryable() && attempt < retry.max_attempts => {
                    let mut delay = backoff(retry, attempt);
                    if let Error::RateLimited {
                        retry_after: Some(ra),
                        ..
                    } = &e
                    {
                        delay = delay.max(*ra);
                    }
                    if waited + delay > retry.max_retry_wait {
                        log::warn!(
                            "{provider} {what}: giving up after {attempt} attempts ({:.1}s): {e}",
                            started.elapsed().as_secs_f64()
                        );
                        self.stats.failures.fetch_add(1, Ordering::Relaxed);
                        return Err(e);
                    }
                    log::debug!(
                        "{provider} {what}: attempt {attempt} failed ({e}), retrying in {} ms",
                        delay.as_millis()
                    );
                    self.stats.retries.fetch_add(1, Ordering::Relaxed);
                    crate::fanout::note_retry();
                    self.stats
                        .wait_ms
                        .fetch_add(delay.as_millis() as u64, Ordering::Relaxed);
                    waited += delay;
                    tokio::time::sleep(delay).await;
                }
                Err(e) => {
                    if e.retryable() {
                        log::warn!("{provider} {what}: giving up after {attempt} attempts: {e}");
                    }
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
    }
}

/// `scheme://host[:port]/path` of a URL: no user info, query or fragment
/// (they may hold secrets).
pub(super) fn display_url(url: &reqwest::Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        s.push_str(&format!(":{port}"));
    }
    s.push_str(url.path());
    s
}

/// At most this many characters of a reply body go into an error message.
pub(super) const SNIPPET_CHARS: usize = 160;

/// A short, single-line excerpt of a reply body for error messages: HTML
/// tags dropped, whitespace collapsed, secrets redacted.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    let html = text.trim_start().starts_with('<');
    let mut out = String::new();
    let (mut n, mut in_tag, mut gap) = (0usize, false, false);
    for c in text.chars() {
        if html && c == '<' {
            in_tag = true;
            gap = true;
            continue;
        }
        if in_tag {
            in_tag = c != '>';
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            gap = true;
            continue;
        }
        if n == SNIPPET_CHARS {
            out.push('…');
            break;
        }
        if gap && !out.is_empty() {
            out.push(' ');
            n += 1;
        }
        gap = false;
        out.push(c);
        n += 1;
    }
    if out.is_empty() {
        "(empty body)".into()
    } else {
        redact(&out)
    }
}
