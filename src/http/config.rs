//! Settings of a client's HTTP layer, and the retry delays they imply.

use std::net::SocketAddr;
use std::time::Duration;

use rand::Rng;

use crate::error::{Error, Result};

/// How failed requests are retried.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Total attempts per request, the first included (>= 1).
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time.
    pub backoff: Duration,
    /// Cap of one delay.
    pub max_backoff: Duration,
    /// Cap of the summed delays of one request.
    pub max_retry_wait: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            max_attempts: 5,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retry_wait: Duration::from_secs(120),
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
    /// limit, and creeps back up while it does not (see
    /// [`Pacer`](super::pacer::Pacer)).
    pub rate_limit: u32,
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
    pub fn new(rate_limit: u32, concurrency: usize) -> Self {
        HttpConfig {
            timeout: Duration::from_secs(30),
            retry: RetryConfig::default(),
            rate_limit,
            concurrency,
            resolve: Vec::new(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        if self.retry.max_attempts == 0 {
            return Err(Error::invalid("max_attempts must be at least 1"));
        }
        if self.rate_limit == 0 {
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

/// Full-jitter-ish exponential backoff: `base * 2^(n-1)`, capped, then
/// scaled by a random factor in [0.5, 1.0].
pub fn backoff(retry: &RetryConfig, attempt: u32) -> Duration {
    let exp = retry
        .backoff
        .saturating_mul(1u32 << (attempt.saturating_sub(1)).min(20));
    let capped = exp.min(retry.max_backoff);
    let f: f64 = rand::rng().random_range(0.5..=1.0);
    capped.mul_f64(f)
}
