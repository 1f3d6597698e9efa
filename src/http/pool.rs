//! The connection pools a process's clients share.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use super::config::HttpConfig;
use crate::error::{Error, Result};

/// This process's connection pool for clients with `cfg`'s connection
/// settings. Clients that agree on them (the apps of a fan-out: a thousand
/// MTA apps are a thousand clients) share one pool instead of building one
/// each (about 3 ms of CPU and a copy of the TLS roots apiece); rate limits,
/// concurrency limits and counters stay per client. A forked child starts
/// with no pools (the parent's sockets are not its own).
pub(super) fn pooled_client(cfg: &HttpConfig) -> Result<reqwest::Client> {
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
