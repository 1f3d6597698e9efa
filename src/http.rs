//! The shared async HTTP layer: timeouts, retries with jittered exponential
//! backoff (retryable errors only), a per-client rate limit, bounded
//! concurrency and progress events.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::Semaphore;

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
}

/// Counters kept per client (readable from Python as `client.stats()`).
#[derive(Debug, Default)]
pub struct Stats {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub failures: AtomicU64,
    pub wait_ms: AtomicU64,
}

impl Stats {
    pub fn snapshot(&self) -> [(&'static str, u64); 4] {
        [
            ("requests", self.requests.load(Ordering::Relaxed)),
            ("retries", self.retries.load(Ordering::Relaxed)),
            ("failures", self.failures.load(Ordering::Relaxed)),
            ("backoff_ms", self.wait_ms.load(Ordering::Relaxed)),
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
pub struct Http {
    provider: &'static str,
    /// The connection pool and the process that built it: a forked child
    /// must not reuse the parent's connections (their sockets are shared
    /// with the parent and registered with the parent's runtime), so a new
    /// pool is built the first time a new process sends a request.
    client: Mutex<(u32, reqwest::Client)>,
    pacer: Pacer,
    sem: Semaphore,
    cfg: HttpConfig,
    pub stats: Stats,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("provider", &self.provider)
            .field("cfg", &self.cfg)
            .finish()
    }
}

impl Http {
    pub fn new(provider: &'static str, cfg: HttpConfig) -> Result<Self> {
        cfg.validate()?;
        let client = build_client(&cfg)?;
        Ok(Http {
            provider,
            client: Mutex::new((std::process::id(), client)),
            pacer: Pacer::new(cfg.rate_per_sec),
            sem: Semaphore::new(cfg.concurrency),
            cfg,
            stats: Stats::default(),
        })
    }

    pub fn config(&self) -> &HttpConfig {
        &self.cfg
    }

    pub fn provider(&self) -> &'static str {
        self.provider
    }

    /// This process's connection pool (rebuilt once after a `fork()`).
    fn client(&self) -> Result<reqwest::Client> {
        let pid = std::process::id();
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if slot.0 != pid {
            *slot = (pid, build_client(&self.cfg)?);
        }
        Ok(slot.1.clone())
    }

    /// One attempt: wait for a concurrency slot and the rate limiter, send,
    /// read the whole body. HTTP 429/5xx become retryable errors.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        req: reqwest::RequestBuilder,
    ) -> Result<Reply> {
        let _permit = self
            .sem
            .acquire()
            .await
            .map_err(|_| Error::Internal("HTTP semaphore closed".into()))?;
        self.pacer.wait().await;
        // inside a fan-out: the run's global cap on requests in flight
        let _gate = crate::fanout::request_gate().await;
        let request = req.build().map_err(|e| self.transport(e))?;
        let n = self.stats.requests.fetch_add(1, Ordering::Relaxed) + 1;
        crate::fanout::note_request();
        log::debug!(
            "{} request #{n}: {} {}",
            self.provider,
            request.method(),
            redact(request.url().as_str())
        );
        let resp = client
            .execute(request)
            .await
            .map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| self.transport(e))?;
        match status {
            200..=299 => Ok(Reply { status, body }),
            429 => Err(Error::RateLimited {
                provider: self.provider,
                code: 429,
                message: "HTTP 429 Too Many Requests".into(),
                retry_after: None,
            }),
            500..=599 => Err(Error::Server {
                provider: self.provider,
                code: status as i64,
                message: format!("HTTP {status}"),
            }),
            // Gateways answer 4xx with the provider's own JSON error body;
            // let the provider's decoder classify it.
            _ => Ok(Reply { status, body }),
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
            provider: self.provider,
            message: redact(&msg),
            timeout: e.is_timeout(),
        }
    }

    /// Send a request built by `build` (called again for every attempt, so
    /// it may read fresh credentials), decode the reply with `decode`, and
    /// retry retryable failures with jittered exponential backoff.
    pub async fn call<T>(
        &self,
        what: &str,
        build: impl Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder>,
        decode: impl Fn(Reply) -> Result<T>,
    ) -> Result<T> {
        let retry = &self.cfg.retry;
        let started = Instant::now();
        let mut waited = Duration::ZERO;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let client = self.client()?;
            let result = match build(&client) {
                Ok(req) => self.attempt(&client, req).await.and_then(&decode),
                Err(e) => return Err(e),
            };
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
                            "{} {what}: giving up after {attempt} attempts ({:.1}s): {e}",
                            self.provider,
                            started.elapsed().as_secs_f64()
                        );
                        self.stats.failures.fetch_add(1, Ordering::Relaxed);
                        return Err(e);
                    }
                    log::debug!(
                        "{} {what}: attempt {attempt} failed ({}), retrying in {} ms",
                        self.provider,
                        e,
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
                        log::warn!(
                            "{} {what}: giving up after {attempt} attempts: {e}",
                            self.provider
                        );
                    }
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
    }
}

/// Spaces requests evenly at `rate` per second (a burst of one), so no
/// one-second window ever holds more than `rate` (+1 at its edge) requests.
///
/// Waits use tokio's timer, which lives in the runtime: a timer thread of
/// its own (as `governor`'s `futures-timer` has) would not exist in a
/// forked child, and every wait there would hang.
struct Pacer {
    interval: Duration,
    next: Mutex<Option<tokio::time::Instant>>,
}

impl Pacer {
    fn new(rate_per_sec: u32) -> Self {
        Pacer {
            interval: Duration::from_secs(1) / rate_per_sec.max(1),
            next: Mutex::new(None),
        }
    }

    /// Reserve the next free slot and sleep until it.
    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = tokio::time::Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

fn build_client(cfg: &HttpConfig) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("appstats/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(cfg.concurrency.max(1));
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

/// Run futures with at most `limit` in flight, keeping input order.
pub async fn bounded<F, T>(futs: Vec<F>, limit: usize) -> Vec<T>
where
    F: std::future::Future<Output = T>,
{
    use futures::stream::{self, StreamExt};
    stream::iter(futs)
        .buffered(limit.max(1))
        .collect::<Vec<T>>()
        .await
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
    fn config_validation() {
        let mut c = HttpConfig::new(10, 4);
        assert!(c.validate().is_ok());
        c.rate_per_sec = 0;
        assert!(c.validate().is_err());
    }
}
