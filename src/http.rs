//! The shared async HTTP layer: timeouts, retries with jittered exponential
//! backoff (retryable errors only), an adaptive per-client rate limit,
//! bounded concurrency, fail-fast fan-out and progress events.
//!
//! Every reply is classified by its HTTP status first: 2xx replies go to the
//! provider's decoder; 429 is [`Error::RateLimited`] and 5xx
//! [`Error::Server`] (both retried); any other status is an error that is
//! not retried ([`Error::Auth`] for 401, else [`Error::Api`]) naming the
//! status, the URL (without query) and a snippet of the body — unless the
//! body is the provider's own error envelope, whose code says more.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::error::{redact, Error, Result};

/// How failed requests are retried.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Total attempts per request, the first included (>= 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time.
    pub base_delay: Duration,
    /// Cap of one delay.
    pub max_delay: Duration,
    /// Cap of the summed delays of one request.
    pub max_total_wait: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 5,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_total_wait: Duration::from_secs(120),
        }
    }
}

/// Settings of one client's HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Timeout of one request (connect + reply).
    pub timeout: Duration,
    pub retry: RetryConfig,
    /// Requests per second this client may send (all its calls together).
    /// The client slows down below it while the provider signals its rate
    /// limit, and creeps back up while it does not (see [`Pacer`]).
    pub rate_per_sec: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// DNS overrides: send requests for a host name to this address (the
    /// port is used when the URL names none). For tests and sandboxes.
    pub resolve: Vec<(String, SocketAddr)>,
}

/// The defaults of a client that documents no others: 10 requests per
/// second, 4 in flight, the timeout and retries of [`HttpConfig::new`].
impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig::new(10, 4)
    }
}

impl HttpConfig {
    pub fn new(rate_per_sec: u32, concurrency: usize) -> Self {
        HttpConfig {
            timeout: Duration::from_secs(30),
            retry: RetryConfig::default(),
            rate_per_sec,
            concurrency,
            resolve: Vec::new(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.retry.max_attempts == 0 {
            return Err(Error::invalid("max_attempts must be at least 1"));
        }
        if self.rate_per_sec == 0 {
            return Err(Error::invalid(
                "rate_limit must be at least 1 request per second",
            ));
        }
        if self.concurrency == 0 {
            return Err(Error::invalid("concurrency must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(Error::invalid("timeout must be positive"));
        }
        Ok(())
    }
}

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
    pacer: Pacer,
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
            pacer: Pacer::new(cfg.rate_per_sec),
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
            pacer: Pacer::new(self.shared.cfg.rate_per_sec),
            stats: self.stats.clone(),
        }
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
                    if waited + delay > retry.max_total_wait {
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
fn display_url(url: &reqwest::Url) -> String {
    let mut s = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        s.push_str(&format!(":{port}"));
    }
    s.push_str(url.path());
    s
}

/// At most this many characters of a reply body go into an error message.
const SNIPPET_CHARS: usize = 160;

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

/// Spaces requests evenly, and adapts its rate to the provider's.
///
/// Requests leave at most `rate` per second, one at a time (a burst of
/// one), so no one-second window holds more than `rate` (+1 at its edge).
/// The rate starts at the configured maximum. When the provider answers
/// with its rate-limit signal, the pacer estimates the provider's real
/// rate from the replies it accepted in the last second, slows down to
/// [`BACKOFF_FACTOR`] of it (multiplicative decrease; half the rate when
/// nothing was accepted), pauses for [`PAUSE`] so the provider's window
/// can drain, and re-spaces the requests already waiting. Signals about
/// requests sent within [`HOLD`] of a slowdown are the same overload and
/// are ignored. Every accepted reply then raises the rate a little
/// (additive increase: [`PROBE`] requests/s per second, or 1 % of the rate
/// if more, growing the longer no signal comes, see [`RECOVERY`]), back up
/// to the configured maximum.
///
/// Waits use tokio's timer, which lives in the runtime: a timer thread of
/// its own (as `governor`'s `futures-timer` has) would not exist in a
/// forked child, and every wait there would hang.
struct Pacer {
    max: f64,
    st: Mutex<PaceState>,
}

struct PaceState {
    /// Current requests per second.
    rate: f64,
    /// The next free send slot.
    next: Option<Instant>,
    /// Bumped on every slowdown: slots reserved before it are re-spaced.
    generation: u64,
    /// When the rate was last lowered.
    cut: Option<Instant>,
    /// Arrival times of the replies accepted within the last [`WINDOW`].
    accepted: VecDeque<Instant>,
}

/// Providers count requests per second.
const WINDOW: Duration = Duration::from_secs(1);
/// Signals about requests sent this soon after a slowdown are ignored.
const HOLD: Duration = Duration::from_secs(1);
/// Nothing is sent for this long after a slowdown.
const PAUSE: Duration = Duration::from_millis(500);
/// After a rate-limit signal: this share of the rate the provider accepted.
const BACKOFF_FACTOR: f64 = 0.9;
/// Additive increase per second of accepted replies, requests/s (or 1 %
/// of the rate, if more), right after a slowdown...
const PROBE: f64 = 0.05;
/// ... growing with the square of the quiet time in units of this: 2× after
/// 5 s without a signal, 5× after 10 s, 37× after 30 s (so a rate cut by a
/// transient signal comes back within a minute).
const RECOVERY: Duration = Duration::from_secs(5);
/// The pacer never goes below one request per 10 s.
const MIN_RATE: f64 = 0.1;

impl Pacer {
    fn new(rate_per_sec: u32) -> Self {
        let max = f64::from(rate_per_sec.max(1));
        Pacer {
            max,
            st: Mutex::new(PaceState {
                rate: max,
                next: None,
                generation: 0,
                cut: None,
                accepted: VecDeque::new(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PaceState> {
        self.st.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn rate(&self) -> f64 {
        self.state().rate
    }

    /// Reserve the next free slot and sleep until it; a slot reserved
    /// before a slowdown is given up and a new one reserved. Returns the
    /// send time.
    async fn wait(&self) -> Instant {
        loop {
            let (slot, generation) = {
                let mut st = self.state();
                let now = Instant::now();
                let slot = st.next.map_or(now, |n| n.max(now));
                st.next = Some(slot + Duration::from_secs_f64(1.0 / st.rate));
                (slot, st.generation)
            };
            // tokio's timer rounds deadlines up to the next millisecond:
            // a slot that is already due is taken without sleeping.
            if slot > Instant::now() {
                tokio::time::sleep_until(slot).await;
            }
            if self.state().generation == generation {
                return slot.max(Instant::now());
            }
        }
    }

    /// The provider accepted a request (any answer but its rate-limit
    /// signal): remember it and raise the rate a little.
    fn accepted(&self) {
        let now = Instant::now();
        let mut st = self.state();
        st.accepted.push_back(now);
        while st
            .accepted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            st.accepted.pop_front();
        }
        if st.rate < self.max {
            // additive increase, faster the longer the provider stays quiet
            let quiet = st.cut.map_or(0.0, |c| now.duration_since(c).as_secs_f64());
            let step = PROBE.max(st.rate * 0.01) * (1.0 + (quiet / RECOVERY.as_secs_f64()).powi(2));
            st.rate = (st.rate + step / st.rate).min(self.max);
        }
    }

    /// The provider signalled its rate limit for a request sent at `sent`.
    /// Returns true when this slowed the pacer down.
    fn limited(&self, sent: Instant) -> bool {
        let now = Instant::now();
        let mut st = self.state();
        if st.cut.is_some_and(|c| sent < c + HOLD) {
            return false;
        }
        while st
            .accepted
            .front()
            .is_some_and(|t| now.duration_since(*t) >= WINDOW)
        {
            st.accepted.pop_front();
        }
        let seen = st.accepted.len() as f64 / WINDOW.as_secs_f64();
        let rate = if seen > 0.0 {
            BACKOFF_FACTOR * st.rate.min(seen)
        } else {
            st.rate * 0.5
        };
        st.rate = rate.clamp(MIN_RATE, self.max);
        st.cut = Some(now);
        st.generation += 1;
        st.next = Some(now + PAUSE.max(Duration::from_secs_f64(1.0 / st.rate)));
        true
    }
}

/// This process's connection pool for clients with `cfg`'s connection
/// settings. Clients that agree on them (the apps of a fan-out: a thousand
/// MTA apps are a thousand clients) share one pool instead of building one
/// each (about 3 ms of CPU and a copy of the TLS roots apiece); rate limits,
/// concurrency limits and counters stay per client. A forked child starts
/// with no pools (the parent's sockets are not its own).
fn pooled_client(cfg: &HttpConfig) -> Result<reqwest::Client> {
    /// The settings `build_client` reads.
    type Key = (Duration, Vec<(String, SocketAddr)>);
    /// Distinct settings kept at once (a process makes few; beyond it, the
    /// oldest pool is no longer handed out, and is dropped with its last
    /// client).
    const KEEP: usize = 16;
    static POOLS: Mutex<(u32, Vec<(Key, reqwest::Client)>)> = Mutex::new((0, Vec::new()));
    let key: Key = (cfg.timeout, cfg.resolve.clone());
    let pid = std::process::id();
    let mut pools = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    if pools.0 != pid {
        *pools = (pid, Vec::new());
    }
    if let Some((_, client)) = pools.1.iter().find(|(k, _)| *k == key) {
        return Ok(client.clone());
    }
    let client = build_client(cfg)?;
    if pools.1.len() == KEEP {
        pools.1.remove(0);
    }
    pools.1.push((key, client.clone()));
    Ok(client)
}

/// Idle connections a pool keeps per host.
const IDLE_PER_HOST: usize = 64;

fn build_client(cfg: &HttpConfig) -> Result<reqwest::Client> {
    // reqwest is built without a crypto provider (Cargo.toml): ring is this
    // library's. `Err` means one is installed already, which is the goal.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("appstats/", env!("CARGO_PKG_VERSION")))
        // shared by the clients of one setting (see `pooled_client`): as
        // many idle connections per host as they may keep busy, within
        // reason (idle ones close after reqwest's 90 s)
        .pool_max_idle_per_host(IDLE_PER_HOST);
    for (host, addr) in &cfg.resolve {
        builder = builder.resolve(host, *addr);
    }
    builder
        .build()
        .map_err(|e| Error::Internal(format!("cannot build HTTP client: {e}")))
}

/// Full-jitter-ish exponential backoff: `base * 2^(n-1)`, capped, then
/// scaled by a random factor in [0.5, 1.0].
pub fn backoff(retry: &RetryConfig, attempt: u32) -> Duration {
    let exp = retry
        .base_delay
        .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(20));
    let capped = exp.min(retry.max_delay);
    let f: f64 = rand::rng().random_range(0.5..=1.0);
    capped.mul_f64(f)
}

/// Run futures with at most `limit` in flight, keeping input order; every
/// one runs to completion (for fan-outs that keep going when one fails).
pub async fn bounded<F, T>(futs: Vec<F>, limit: usize) -> Vec<T>
where
    F: Future<Output = T>,
{
    use futures::stream::{self, StreamExt};
    stream::iter(futs)
        .buffered(limit.max(1))
        .collect::<Vec<T>>()
        .await
}

/// A fan-out that stopped at a failure.
#[derive(Debug)]
pub struct Failed {
    /// Position of the future that failed.
    pub index: usize,
    pub error: Error,
    /// Positions handed to the sink before the failure (a prefix).
    pub delivered: usize,
}

/// Run futures with at most `limit` in flight (finished but not yet
/// delivered results count too) and hand their results to `sink` in input
/// order as soon as each one's predecessors are in. Fails fast: the first
/// error (in completion order, from a future or the sink) stops everything
/// at once — the futures still running are dropped, cancelling their
/// requests.
pub async fn run_in_order<F, T>(
    futs: Vec<F>,
    limit: usize,
    mut sink: impl FnMut(usize, T) -> Result<()>,
) -> std::result::Result<(), Failed>
where
    F: Future<Output = Result<T>>,
{
    use futures::stream::{FuturesUnordered, StreamExt};
    let limit = limit.max(1);
    let mut todo = futs.into_iter().enumerate();
    let mut running = FuturesUnordered::new();
    let mut ready: BTreeMap<usize, T> = BTreeMap::new();
    let mut delivered = 0usize;
    loop {
        while running.len() + ready.len() < limit {
            let Some((i, f)) = todo.next() else { break };
            running.push(async move { (i, f.await) });
        }
        let Some((i, r)) = running.next().await else {
            return Ok(());
        };
        match r {
            Ok(v) => {
                ready.insert(i, v);
                while let Some(v) = ready.remove(&delivered) {
                    if let Err(error) = sink(delivered, v) {
                        return Err(Failed {
                            index: delivered,
                            error,
                            delivered,
                        });
                    }
                    delivered += 1;
                }
            }
            Err(error) => {
                return Err(Failed {
                    index: i,
                    error,
                    delivered,
                })
            }
        }
    }
}

/// [`run_in_order`] collecting the results.
pub async fn try_all<F, T>(futs: Vec<F>, limit: usize) -> std::result::Result<Vec<T>, Failed>
where
    F: Future<Output = Result<T>>,
{
    let mut out = Vec::new();
    run_in_order(futs, limit, |_, v| {
        out.push(v);
        Ok(())
    })
    .await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let r = RetryConfig {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_total_wait: Duration::from_secs(60),
        };
        for _ in 0..50 {
            let d1 = backoff(&r, 1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = backoff(&r, 3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d9 = backoff(&r, 9);
            assert!(d9 <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn snippets_are_short_single_line_and_redacted() {
        let html = b"<html>\n<head><title>403 Forbidden</title></head>\n<body><h1>Access denied</h1>\n<p>token=x access_token=abc</p></body></html>";
        assert_eq!(
            snippet(html),
            "403 Forbidden Access denied token=x access_token=***"
        );
        assert_eq!(snippet(b""), "(empty body)");
        assert_eq!(snippet(b"  \n "), "(empty body)");
        let long = "x".repeat(1000);
        let s = snippet(long.as_bytes());
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 1);
        assert!(s.ends_with('…'));
        // JSON keeps its angle brackets; invalid UTF-8 does not panic
        assert_eq!(snippet(b"{\"a\": \"<b>\"}"), "{\"a\": \"<b>\"}");
        assert!(!snippet(&[0xff, 0xfe, b'a']).is_empty());
    }

    #[test]
    fn urls_in_messages_lose_query_and_user_info() {
        let u =
            reqwest::Url::parse("https://user:pw@example.com:8443/a/b?access_token=s#f").unwrap();
        assert_eq!(display_url(&u), "https://example.com:8443/a/b");
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    #[test]
    fn run_in_order_delivers_in_order_and_stops_at_the_first_error() {
        rt().block_on(async {
            let ms = |n: u64| Duration::from_millis(n);
            // finish out of order, delivered in order
            let futs: Vec<_> = [30u64, 10, 20]
                .into_iter()
                .enumerate()
                .map(|(i, d)| async move {
                    tokio::time::sleep(ms(d)).await;
                    Ok::<_, Error>(i)
                })
                .collect();
            let mut got = vec![];
            run_in_order(futs, 3, |i, v| {
                got.push((i, v));
                Ok(())
            })
            .await
            .unwrap();
            assert_eq!(got, [(0, 0), (1, 1), (2, 2)]);
            // a failure stops at once: the slow future is dropped, not awaited
            let started = Instant::now();
            let futs: Vec<_> = [(10_000u64, true), (10, true), (20, false), (10, true)]
                .into_iter()
                .map(|(d, ok)| async move {
                    tokio::time::sleep(ms(d)).await;
                    if ok {
                        Ok(d)
                    } else {
                        Err(Error::invalid("boom"))
                    }
                })
                .collect();
            let f = run_in_order(futs, 4, |_, _| Ok(())).await.unwrap_err();
            assert!(started.elapsed() < ms(1000));
            assert_eq!((f.index, f.delivered), (2, 0));
            assert_eq!(f.error.to_string(), "boom");
            // at most `limit` in flight
            let live = std::sync::atomic::AtomicUsize::new(0);
            let peak = std::sync::atomic::AtomicUsize::new(0);
            let futs: Vec<_> = (0..10)
                .map(|_| async {
                    let n = live.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(ms(5)).await;
                    live.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                })
                .collect();
            assert_eq!(try_all(futs, 3).await.unwrap().len(), 10);
            assert_eq!(peak.load(Ordering::SeqCst), 3);
        });
    }

    #[test]
    fn pacer_slows_down_on_a_signal_and_recovers() {
        rt().block_on(async {
            let p = Pacer::new(100);
            assert_eq!(p.rate(), 100.0);
            // ten requests accepted, then a rate-limit answer
            let mut sent = Instant::now();
            for _ in 0..10 {
                sent = p.wait().await;
                p.accepted();
            }
            assert!(p.limited(sent + Duration::from_millis(1)));
            assert!((p.rate() - 9.0).abs() < 1e-9, "{}", p.rate());
            // the same overload: ignored; the pause holds the next request
            assert!(!p.limited(Instant::now()));
            let t = Instant::now();
            let next = p.wait().await;
            assert!(next.duration_since(t) >= PAUSE - Duration::from_millis(5));
            // accepted replies raise the rate again, never above the maximum
            let before = p.rate();
            p.accepted();
            assert!(p.rate() > before);
            for _ in 0..100_000 {
                p.accepted();
            }
            assert_eq!(p.rate(), 100.0);
            // a signal with nothing accepted in the last second halves it
            tokio::time::sleep(HOLD + WINDOW).await;
            assert!(p.limited(Instant::now()));
            assert!((p.rate() - 50.0).abs() < 1e-9, "{}", p.rate());
        });
    }

    #[test]
    fn pacer_does_not_sleep_for_a_slot_already_due() {
        // tokio's timer rounds a deadline up to the next millisecond: a
        // sleep per request would cap a fast client near 1,000 requests/s
        rt().block_on(async {
            let p = Pacer::new(u32::MAX);
            let started = std::time::Instant::now();
            for _ in 0..2000 {
                p.wait().await;
            }
            assert!(
                started.elapsed() < Duration::from_millis(500),
                "{:?}",
                started.elapsed()
            );
        });
    }

    #[test]
    fn config_validation() {
        let mut c = HttpConfig::new(10, 4);
        assert!(c.validate().is_ok());
        c.rate_per_sec = 0;
        assert!(c.validate().is_err());
    }
}
