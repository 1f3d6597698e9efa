//! The embedded sandbox: an HTTP server on 127.0.0.1 that speaks each
//! provider's wire format with seeded, plausible data, validates requests
//! (tokens, signatures, UserSigs, parameters) like the real services, and
//! injects faults on demand.

pub mod baidu;
pub mod mta;
pub mod tim;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::NaiveDate;

use crate::error::{Error, Result};

/// Sandbox settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    /// Latency added to every reply.
    pub latency: Duration,
    /// Reply with the provider's rate-limit error above this many requests
    /// per second, like the real services: per provider, and for Tencent IM
    /// per app (its limit is per SDKAppID). Rejected requests count too.
    pub rate_limit: Option<u32>,
    pub baidu: BaiduConfig,
    pub tim: tim::TimConfig,
    pub mta: mta::MtaConfig,
}

#[derive(Debug, Clone)]
pub struct BaiduConfig {
    pub client_id: String,
    pub client_secret: String,
    pub tp_client_id: String,
    pub tp_ticket: String,
    /// Lifetime of issued tokens, seconds.
    pub token_ttl: u64,
    /// Source groups in the source report.
    pub sources: usize,
    /// Scenes per source group (some groups get none).
    pub scenes_per_source: usize,
    /// Pages of the page report.
    pub pages: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 7,
            latency: Duration::ZERO,
            rate_limit: None,
            baidu: BaiduConfig {
                client_id: "sandbox-client-id".into(),
                client_secret: "sandbox-client-secret".into(),
                tp_client_id: "sandbox-tp-id".into(),
                tp_ticket: "sandbox-ticket".into(),
                token_ttl: 2_592_000,
                sources: 12,
                scenes_per_source: 4,
                pages: 30,
            },
            tim: tim::TimConfig::default(),
            mta: mta::MtaConfig::default(),
        }
    }
}

/// What a fault does to the reply.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// Answer with this HTTP status and an empty body.
    Status(u16),
    /// Answer with the provider's error envelope carrying this code.
    Code(i64),
    /// Delay the reply.
    Delay(Duration),
    /// Cut the JSON body in half.
    Truncate,
    /// Reset the connection mid-body.
    Reset,
    /// Report a `total` that is off by this much.
    WrongTotal(i64),
    /// Serve the previous page's rows instead of the asked-for page.
    DuplicatePage,
    /// Leave this many rows out of the page.
    DropRows(usize),
    /// Expire the credential used by this request before answering.
    ExpireToken,
}

/// A fault with a scope and a count.
#[derive(Debug, Clone)]
pub struct Fault {
    pub provider: Option<String>,
    /// Endpoint name (last path segment), e.g. `getanalysissource`.
    pub endpoint: Option<String>,
    pub kind: FaultKind,
    /// Matching requests to let through before the fault starts.
    pub skip: u32,
    /// How many times it fires; `None` = every matching request.
    pub times: Option<u32>,
    /// Only for requests whose query/body has this `start_index`/window.
    pub offset: Option<i64>,
}

impl Fault {
    /// A fault of `provider`/`endpoint` that lets `skip` requests through,
    /// then fires `times` times (`None`: always), at any page offset.
    pub fn on(
        provider: &str,
        endpoint: &str,
        kind: FaultKind,
        skip: u32,
        times: Option<u32>,
    ) -> Self {
        Fault {
            provider: Some(provider.to_string()),
            endpoint: Some(endpoint.to_string()),
            kind,
            skip,
            times,
            offset: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub provider: &'static str,
    pub endpoint: String,
    /// The app the request was for, where the provider limits per app.
    pub app: Option<String>,
    pub at: Instant,
}

/// Shared state of a running sandbox.
pub struct State {
    pub cfg: Config,
    faults: Mutex<Vec<Fault>>,
    hits: Mutex<Vec<Hit>>,
    /// Issued credentials → expiry.
    pub tokens: Mutex<HashMap<String, Instant>>,
    /// Single-use refresh tokens still valid.
    pub refresh_tokens: Mutex<HashMap<String, ()>>,
    pub started: Instant,
    /// Generated reports by request (providers' own keys), so that paging
    /// through a large report does not regenerate it for every page.
    pub cache: Mutex<HashMap<String, Arc<dyn std::any::Any + Send + Sync>>>,
}

impl State {
    pub fn new(cfg: Config) -> Self {
        State {
            cfg,
            faults: Mutex::new(vec![]),
            hits: Mutex::new(vec![]),
            tokens: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashMap::new()),
            started: Instant::now(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub fn add_fault(&self, f: Fault) {
        self.faults.lock().expect("faults lock").push(f);
    }

    pub fn clear_faults(&self) {
        self.faults.lock().expect("faults lock").clear();
    }

    /// Record a request and pick the fault that applies to it, if any.
    pub fn take_fault(
        &self,
        provider: &'static str,
        endpoint: &str,
        offset: Option<i64>,
    ) -> Option<FaultKind> {
        self.take_fault_for(provider, endpoint, offset, None)
    }

    fn take_fault_for(
        &self,
        provider: &'static str,
        endpoint: &str,
        offset: Option<i64>,
        app: Option<&str>,
    ) -> Option<FaultKind> {
        self.hits.lock().expect("hits lock").push(Hit {
            provider,
            endpoint: endpoint.to_string(),
            app: app.map(str::to_string),
            at: Instant::now(),
        });
        let mut faults = self.faults.lock().expect("faults lock");
        for f in faults.iter_mut() {
            let matches = f.provider.as_deref().is_none_or(|p| p == provider)
                && f.endpoint.as_deref().is_none_or(|e| e == endpoint)
                && f.offset.is_none_or(|o| Some(o) == offset);
            if !matches || f.times == Some(0) {
                continue;
            }
            if f.skip > 0 {
                f.skip -= 1;
                continue;
            }
            if let Some(t) = &mut f.times {
                *t -= 1;
            }
            return Some(f.kind.clone());
        }
        None
    }

    /// The common start of every simulated request: record it, add the
    /// latency, apply the faults that need no provider knowledge, and answer
    /// with the provider's error (built by `error`) for `Code` faults and
    /// for requests above the rate limit (`rate_code`). `Ok` carries the
    /// fault the handler itself must apply (truncation, dropped rows, ...).
    pub async fn begin(
        &self,
        provider: &'static str,
        endpoint: &str,
        offset: Option<i64>,
        error: impl Fn(i64) -> String,
        rate_code: i64,
    ) -> std::result::Result<Option<FaultKind>, Response> {
        self.begin_for(provider, endpoint, offset, None, error, rate_code)
            .await
    }

    /// [`State::begin`] for a provider that limits each app on its own:
    /// the rate limit counts `app`'s requests only.
    pub async fn begin_for(
        &self,
        provider: &'static str,
        endpoint: &str,
        offset: Option<i64>,
        app: Option<&str>,
        error: impl Fn(i64) -> String,
        rate_code: i64,
    ) -> std::result::Result<Option<FaultKind>, Response> {
        let fault = self.take_fault_for(provider, endpoint, offset, app);
        if !self.cfg.latency.is_zero() {
            tokio::time::sleep(self.cfg.latency).await;
        }
        if let Some(FaultKind::Delay(d)) = &fault {
            tokio::time::sleep(*d).await;
        }
        if let Some(r) = fault.as_ref().and_then(generic_fault) {
            return Err(r);
        }
        if let Some(FaultKind::Code(c)) = fault {
            return Err(json_reply(error(c), None));
        }
        if self.over_rate(provider, app) {
            return Err(json_reply(error(rate_code), None));
        }
        Ok(fault)
    }

    /// Requests per provider seen so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("hits lock").clone()
    }

    /// Most requests of `provider` seen within any one-second window.
    pub fn max_per_second(&self, provider: Option<&str>) -> usize {
        let mut ts: Vec<Instant> = self
            .hits()
            .into_iter()
            .filter(|h| provider.is_none_or(|p| p == h.provider))
            .map(|h| h.at)
            .collect();
        ts.sort();
        let mut best = 0;
        let mut j = 0;
        for i in 0..ts.len() {
            while ts[i].duration_since(ts[j]) >= Duration::from_secs(1) {
                j += 1;
            }
            best = best.max(i - j + 1);
        }
        best
    }

    /// True when `provider` (`app` of it, if given) is above the
    /// configured requests per second.
    pub fn over_rate(&self, provider: &'static str, app: Option<&str>) -> bool {
        let Some(limit) = self.cfg.rate_limit else {
            return false;
        };
        let now = Instant::now();
        let n = self
            .hits
            .lock()
            .expect("hits lock")
            .iter()
            .rev()
            .take_while(|h| now.duration_since(h.at) < Duration::from_secs(1))
            .filter(|h| h.provider == provider && (app.is_none() || h.app.as_deref() == app))
            .count();
        n > limit as usize
    }

    pub fn issue_token(&self, prefix: &str, ttl: Duration) -> String {
        let n = self.tokens.lock().expect("tokens lock").len() as u64;
        let token = format!(
            "{prefix}.{:016x}",
            mix(self.cfg.seed ^ 0x70c3, n + 1) ^ now_nanos()
        );
        self.tokens
            .lock()
            .expect("tokens lock")
            .insert(token.clone(), Instant::now() + ttl);
        token
    }

    /// `Ok(())` for a live token; `Err(true)` expired, `Err(false)` unknown.
    pub fn check_token(&self, token: &str) -> std::result::Result<(), bool> {
        match self.tokens.lock().expect("tokens lock").get(token) {
            None => Err(false),
            Some(at) if Instant::now() >= *at => Err(true),
            Some(_) => Ok(()),
        }
    }

    pub fn expire_token(&self, token: &str) {
        if let Some(at) = self.tokens.lock().expect("tokens lock").get_mut(token) {
            *at = Instant::now();
        }
    }
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// SplitMix64 of `seed` and `x`: deterministic pseudo-random bits.
pub fn mix(seed: u64, x: u64) -> u64 {
    let mut z = seed
        .wrapping_add(x.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Deterministic uniform number in [0, 1) for a key.
pub fn unit(seed: u64, key: &str, i: i64) -> f64 {
    let mut h = seed;
    for b in key.bytes() {
        h = mix(h, b as u64);
    }
    (mix(h, i as u64) >> 11) as f64 / (1u64 << 53) as f64
}

/// Days since 2000-01-01 (a stable integer for seeding by date).
pub fn day_key(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(2000, 1, 1).expect("date")).num_days()
}

/// The reply for faults that do not need the provider's envelope.
pub fn generic_fault(kind: &FaultKind) -> Option<Response> {
    match kind {
        FaultKind::Status(s) => Some(
            (
                StatusCode::from_u16(*s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "",
            )
                .into_response(),
        ),
        FaultKind::Reset => {
            let chunks: Vec<std::result::Result<&'static str, std::io::Error>> = vec![
                Ok("{\"errno\":0,\"data\":{"),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "sandbox: connection reset",
                )),
            ];
            Some(
                Response::builder()
                    .header("content-type", "application/json")
                    .body(Body::from_stream(futures::stream::iter(chunks)))
                    .expect("response"),
            )
        }
        _ => None,
    }
}

/// A JSON reply, truncated when the fault says so.
pub fn json_reply(body: String, fault: Option<&FaultKind>) -> Response {
    let body = if fault == Some(&FaultKind::Truncate) {
        let mut cut = body.len() / 2;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body[..cut].to_string()
    } else {
        body
    };
    ([("content-type", "application/json; charset=utf-8")], body).into_response()
}

/// A running sandbox server.
pub struct Sandbox {
    pub addr: SocketAddr,
    pub state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Sandbox {
    /// Start the server on 127.0.0.1 and a free port.
    pub fn start(cfg: Config) -> Result<Self> {
        let state = Arc::new(State::new(cfg));
        let app: Router = baidu::router(state.clone())
            .merge(mta::router(state.clone()))
            .merge(tim::router(state.clone()));
        let rt = crate::runtime::runtime();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| Error::Internal(format!("sandbox cannot bind 127.0.0.1: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::Internal(format!("sandbox address: {e}")))?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        rt.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        log::debug!("sandbox listening on {addr}");
        Ok(Sandbox {
            addr,
            state,
            shutdown: Some(tx),
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests;
