//! The embedded sandbox: an HTTP server on 127.0.0.1 that speaks each
//! provider's wire format with seeded, plausible data, validates requests
//! (tokens, signatures, UserSigs, parameters) like the real services, and
//! injects faults on demand.
//!
//! Like the real services, a day's numbers are a function of the app, the
//! day and the seed only (never of the requested range), and nothing is
//! served for today or later in China time (UTC+8): the providers publish a
//! day once it is over. [`Config::apps`] simulates many apps per provider
//! (each with its own credentials and data), and [`Config::restate_days`]
//! makes the most recent days provisional: their numbers change from one
//! day to the next until they are final, as the providers' do.

pub mod baidu;
pub mod mta;
pub mod tim;

mod faults;

pub use faults::{generic_fault, json_reply, Fault, FaultKind};

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::response::Response;
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
    /// per second, counted per app (the real services limit each app:
    /// Baidu per program, MTA per app id, IM per SDKAppID).
    pub rate_limit: Option<u32>,
    /// The sandbox's "today" in China; `None` = the real date (UTC+8).
    /// Days from today on have no data.
    pub today: Option<NaiveDate>,
    /// The last `restate_days` days before today are provisional: their
    /// numbers differ from the final ones and change every day until the
    /// day is older than that (0 = every served day is final).
    pub restate_days: u32,
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
    /// Programs authorised to the sandbox's third-party platform (the
    /// first one is also the program of `client_id`/`client_secret`).
    pub apps: Vec<BaiduApp>,
    /// Rows per page of the analysis endpoints (the service's fixed page:
    /// they take no page size).
    pub page_rows: usize,
}

/// One simulated Baidu smart program authorised to the sandbox's TP.
#[derive(Debug, Clone)]
pub struct BaiduApp {
    /// The program's app id (a number, as Baidu shows it).
    pub app_id: u64,
    pub name: String,
    /// Authorisation code the TP exchanges for the program's tokens (the
    /// sandbox accepts it any number of times; each use starts a new chain
    /// of refresh tokens).
    pub auth_code: String,
    /// The program's first refresh token (single-use, like every refresh
    /// token after it).
    pub refresh_token: String,
}

/// `n` Baidu programs: `sandbox-code-1` is the first one's code; `salt`
/// varies the refresh tokens.
pub fn baidu_apps(salt: u64, n: usize) -> Vec<BaiduApp> {
    let seed = salt;
    (0..n)
        .map(|i| BaiduApp {
            app_id: 17_000_000 + i as u64 + 1,
            name: format!("sandbox-program-{}", i + 1),
            auth_code: format!("sandbox-code-{}", i + 1),
            refresh_token: format!(
                "27.{:016x}{:016x}",
                mix(seed ^ 0x5eed, i as u64),
                mix(seed, !(i as u64))
            ),
        })
        .collect()
}

/// Seed of app `i`'s data: app 0 keeps the sandbox's seed (so a one-app
/// sandbox serves what it always did), the others get their own.
pub fn app_seed(seed: u64, i: usize) -> u64 {
    if i == 0 {
        seed
    } else {
        mix(seed ^ 0xa995_0000, i as u64)
    }
}

/// Size of app `i` relative to the first app: between 1/8 and 4 times,
/// log-uniform, so many apps look like a real portfolio.
pub fn app_scale(seed: u64, i: usize) -> f64 {
    if i == 0 {
        1.0
    } else {
        (2f64).powf(-3.0 + 5.0 * unit(seed, "app-scale", i as i64))
    }
}

pub use crate::providers::common::today_cn;

/// What one app's numbers depend on: its seed and size, and the sandbox's
/// today (for the days not served yet and the provisional ones).
#[derive(Debug, Clone, Copy)]
pub struct AppGen {
    pub seed: u64,
    pub scale: f64,
    pub today: NaiveDate,
    pub restate_days: u32,
}

impl AppGen {
    /// The newest day with data (yesterday).
    pub fn last_day(&self) -> NaiveDate {
        self.today.pred_opt().unwrap_or(self.today)
    }

    /// Whether `d` has data (it is before today).
    pub fn served(&self, d: NaiveDate) -> bool {
        d < self.today
    }

    /// Factor of a day's activity: 1 for final days, below 1 for the
    /// provisional ones (the younger the day, the lower), deterministic for
    /// (app, day, age) so that a day's numbers change once a day only.
    pub fn restated(&self, d: NaiveDate) -> f64 {
        let age = (self.today - d).num_days();
        let k = self.restate_days as i64;
        if k == 0 || age > k || age < 1 {
            return 1.0;
        }
        let missing = (k - age + 1) as f64 / (k + 1) as f64;
        1.0 - 0.2 * missing * (0.5 + unit(self.seed, "restate", day_key(d) * 64 + age))
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 7,
            latency: Duration::ZERO,
            rate_limit: None,
            today: None,
            restate_days: 0,
            baidu: BaiduConfig {
                client_id: "sandbox-client-id".into(),
                client_secret: "sandbox-client-secret".into(),
                tp_client_id: "sandbox-tp-id".into(),
                tp_ticket: "sandbox-ticket".into(),
                token_ttl: 2_592_000,
                sources: 12,
                scenes_per_source: 4,
                pages: 30,
                apps: baidu_apps(0, 1),
                page_rows: 20,
            },
            tim: tim::TimConfig::default(),
            mta: mta::MtaConfig::default(),
        }
    }
}

impl Config {
    /// `n` apps per provider: Baidu programs authorised to the sandbox's
    /// third-party platform, MTA app ids and IM SDKAppIDs, each with its
    /// own credentials and data.
    pub fn with_apps(mut self, n: usize) -> Self {
        self.baidu.apps = baidu_apps(0, n);
        self.mta.apps = mta::mta_apps(n);
        self.tim.apps = tim::tim_apps(n);
        self
    }

    /// The sandbox's today in China.
    pub fn today(&self) -> NaiveDate {
        self.today.unwrap_or_else(today_cn)
    }

    /// The data generator of app `i`.
    pub fn app(&self, i: usize) -> AppGen {
        AppGen {
            seed: app_seed(self.seed, i),
            scale: app_scale(self.seed, i),
            today: self.today(),
            restate_days: self.restate_days,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub provider: &'static str,
    pub endpoint: String,
    /// The app the request was for (program, app id or SDKAppID), when the
    /// request names one the sandbox knows.
    pub app: Option<String>,
    pub at: Instant,
}

/// An issued credential: when it expires and which app it acts for
/// (`None`: a third-party platform's own token).
#[derive(Debug, Clone, Copy)]
pub struct Issued {
    pub expires: Instant,
    pub app: Option<usize>,
}

/// Generated reports kept for paging.
const CACHE_ENTRIES: usize = 256;

/// Shared state of a running sandbox.
pub struct State {
    pub cfg: Config,
    faults: Mutex<Vec<Fault>>,
    hits: Mutex<Vec<Hit>>,
    /// Issued credentials.
    pub tokens: Mutex<HashMap<String, Issued>>,
    /// The one live refresh token of each Baidu program (single-use: a
    /// refresh replaces it, and the used one is dead at once, as Baidu
    /// documents: "使用后失效").
    pub refresh_tokens: Mutex<HashMap<usize, String>>,
    /// Refresh-token exchanges per program (test probes).
    pub refreshes: Mutex<HashMap<usize, u32>>,
    pub started: Instant,
    /// Generated reports by request (providers' own keys), so that paging
    /// through a large report does not regenerate it for every page.
    pub cache: Mutex<HashMap<String, Arc<dyn std::any::Any + Send + Sync>>>,
}

impl State {
    pub fn new(cfg: Config) -> Self {
        State {
            faults: Mutex::new(vec![]),
            hits: Mutex::new(vec![]),
            tokens: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(
                cfg.baidu
                    .apps
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (i, a.refresh_token.clone()))
                    .collect(),
            ),
            refreshes: Mutex::new(HashMap::new()),
            started: Instant::now(),
            cache: Mutex::new(HashMap::new()),
            cfg,
        }
    }

    /// Keep a generated report for the next pages of the same request
    /// (bounded: many apps must not grow the sandbox without end).
    pub fn remember(&self, key: String, value: Arc<dyn std::any::Any + Send + Sync>) {
        let mut cache = self.cache.lock().expect("cache lock");
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, value);
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
        app: Option<String>,
        endpoint: &str,
        offset: Option<i64>,
    ) -> Option<FaultKind> {
        self.hits.lock().expect("hits lock").push(Hit {
            provider,
            endpoint: endpoint.to_string(),
            app,
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
    /// for requests above the app's rate limit (`rate_code`). `Ok` carries
    /// the fault the handler itself must apply (truncation, dropped rows,
    /// ...). `app` names the app the request is for, when known.
    pub async fn begin(
        &self,
        provider: &'static str,
        app: Option<String>,
        endpoint: &str,
        offset: Option<i64>,
        error: impl Fn(i64) -> String,
        rate_code: i64,
    ) -> std::result::Result<Option<FaultKind>, Response> {
        let fault = self.take_fault(provider, app.clone(), endpoint, offset);
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
        if self.over_rate(provider, app.as_deref()) {
            return Err(json_reply(error(rate_code), None));
        }
        Ok(fault)
    }

    /// Requests per provider seen so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("hits lock").clone()
    }

    /// Most requests of `provider` (and of `app`, when given) seen within
    /// any one-second window.
    pub fn max_per_second(&self, provider: Option<&str>) -> usize {
        self.max_per_second_of(provider, None)
    }

    /// [`State::max_per_second`] of one app (`None`: all apps).
    pub fn max_per_second_of(&self, provider: Option<&str>, app: Option<&str>) -> usize {
        let mut ts: Vec<Instant> = self
            .hits
            .lock()
            .expect("hits lock")
            .iter()
            .filter(|h| provider.is_none_or(|p| p == h.provider))
            .filter(|h| app.is_none_or(|a| h.app.as_deref() == Some(a)))
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

    /// True when `provider`'s `app` (all its requests without an app) is
    /// above the configured requests per second.
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
            .filter(|h| h.provider == provider && h.app.as_deref() == app)
            .count();
        n > limit as usize
    }

    /// A new random-looking secret (`prefix.` + 32 hex digits).
    pub fn new_secret(&self, prefix: &str) -> String {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!(
            "{prefix}.{:016x}{:016x}",
            mix(self.cfg.seed ^ 0x70c3, n + 1) ^ now_nanos(),
            mix(now_nanos(), n)
        )
    }

    /// Issue a credential for `app` (`None`: a platform's own token).
    pub fn issue_token(&self, prefix: &str, ttl: Duration, app: Option<usize>) -> String {
        let token = self.new_secret(prefix);
        let mut tokens = self.tokens.lock().expect("tokens lock");
        tokens.insert(
            token.clone(),
            Issued {
                expires: Instant::now() + ttl,
                app,
            },
        );
        token
    }

    /// The app of a live token; `Err(true)` expired, `Err(false)` unknown.
    pub fn check_token(&self, token: &str) -> std::result::Result<Option<usize>, bool> {
        match self.tokens.lock().expect("tokens lock").get(token) {
            None => Err(false),
            Some(t) if Instant::now() >= t.expires => Err(true),
            Some(t) => Ok(t.app),
        }
    }

    /// The app a token was issued for (live or not).
    pub fn token_app(&self, token: &str) -> Option<usize> {
        self.tokens
            .lock()
            .expect("tokens lock")
            .get(token)
            .and_then(|t| t.app)
    }

    pub fn expire_token(&self, token: &str) {
        if let Some(t) = self.tokens.lock().expect("tokens lock").get_mut(token) {
            t.expires = Instant::now();
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
