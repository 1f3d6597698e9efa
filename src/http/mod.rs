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

mod client;
mod concurrency;
mod config;
mod pacer;
mod pool;

pub use client::{snippet, Http, Progress, ProgressFn, Reply, Stats};
pub use concurrency::{run_in_order, try_all, Failed};
pub use config::{backoff, HttpConfig, RetryConfig};

#[cfg(test)]
mod tests;
