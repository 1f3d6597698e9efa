//! Tencent Cloud IM `getappinfo` (operations data of the last 30 days).
//!
//! The client signs its own UserSig (TLSSigAPIv2), caches it, renews it at
//! 90 % of its validity and, when the server answers 70001 (expired) or
//! 70052 (invalidated), regenerates it and retries once.

pub mod errors;
pub mod parse;
pub mod usersig;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::http::{Http, HttpConfig, Progress, Reply};
use crate::providers::common::{today_cn, DateCoverage};
use crate::table::TableBuilder;
pub use parse::{parse_saved, Selection, FIELDS};
pub use usersig::{gen_usersig, verify_usersig, UserSigError, UserSigInfo};

mod regions;

pub use regions::{region, Region, REGIONS};

/// The provider's name in errors and logs.
pub const PROVIDER: &str = "tim";

/// Documented rate limit: 100 calls per second per app.
pub const DEFAULT_RATE_PER_SEC: u32 = 100;
/// Default validity of the UserSigs the client signs: one day.
pub const DEFAULT_USERSIG_EXPIRE: u64 = 86_400;
pub const DEFAULT_IDENTIFIER: &str = "admin";
pub const PATH: &str = "/v4/openconfigsvr/getappinfo";
/// Attempts to get a reply that covers every day of the window.
const GAP_REFETCHES: u32 = 3;
/// `getappinfo` answers the last 30 days, ending yesterday (China time).
pub const WINDOW_DAYS: i64 = 30;

/// Extra client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Validity of the signed UserSigs, seconds (>= 60).
    pub usersig_expire: u64,
    /// Send the requests for the region's domain (or the base URL's host)
    /// to this address over plain HTTP (tests, sandboxes).
    pub resolve_to: Option<SocketAddr>,
    /// The newest day the service reports; `None` = yesterday, China time
    /// (UTC+8), as the real service does. A reply must cover the
    /// [`WINDOW_DAYS`] days ending there (a sandbox serving a fixed month
    /// sets its own end).
    pub window_end: Option<NaiveDate>,
}

impl ClientOptions {
    /// Check the settings (before any request).
    pub fn validate(&self) -> Result<()> {
        if self.usersig_expire < 60 {
            return Err(Error::invalid("usersig_expire must be at least 60 seconds"));
        }
        Ok(())
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            usersig_expire: DEFAULT_USERSIG_EXPIRE,
            resolve_to: None,
            window_end: None,
        }
    }
}

/// The days `getappinfo` must answer: the [`WINDOW_DAYS`] days ending at
/// `end`, by default the day before today in China (UTC+8) -- today by the
/// server's clock when known (its reply's `Date` header), else by ours.
pub fn expected_window(
    end: Option<NaiveDate>,
    server_now: Option<chrono::DateTime<chrono::Utc>>,
) -> (NaiveDate, NaiveDate) {
    let end = end.unwrap_or_else(|| {
        let today = match server_now {
            Some(now) => crate::providers::common::china_time(now).date(),
            None => today_cn(),
        };
        today.pred_opt().unwrap_or(today)
    });
    let start = end
        .checked_sub_signed(chrono::TimeDelta::days(WINDOW_DAYS - 1))
        .unwrap_or(end);
    (start, end)
}

/// Default HTTP settings for one app: 100 requests/s, 8 in flight.
pub fn default_config() -> HttpConfig {
    HttpConfig::new(DEFAULT_RATE_PER_SEC, 8)
}

/// One place requests can go: a base URL and its host.
#[derive(Debug, Clone)]
struct Target {
    base: String,
    host: String,
}

/// Where one client's requests go: the region's domain (or a base URL),
/// and the region's standby domain.
#[derive(Debug, Clone)]
struct Targets {
    primary: Target,
    standby: Option<Target>,
}

/// Check a region or base URL (and `opts.resolve_to`) without connecting.
pub(crate) fn check_region(
    region_or_base_url: &str,
    opts: &ClientOptions,
    cfg: &HttpConfig,
) -> Result<()> {
    targets(region_or_base_url, opts, &mut cfg.clone()).map(|_| ())
}

/// Where requests go; adds the DNS overrides of `opts.resolve_to` to `cfg`
/// (an entry `cfg.resolve` already has for a host wins).
fn targets(
    region_or_base_url: &str,
    opts: &ClientOptions,
    cfg: &mut HttpConfig,
) -> Result<Targets> {
    let s = region_or_base_url.trim();
    let t = if s.starts_with("http://") || s.starts_with("https://") {
        let base = crate::url::parse_base_url(s)?;
        let host = reqwest::Url::parse(&base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        Targets {
            primary: Target { base, host },
            standby: None,
        }
    } else {
        let r = region(s)?;
        let scheme = if opts.resolve_to.is_some() {
            "http"
        } else {
            "https"
        };
        let at = |domain: &str| Target {
            base: format!("{scheme}://{domain}"),
            host: domain.to_string(),
        };
        Targets {
            primary: at(r.domain),
            standby: r.standby.map(at),
        }
    };
    if let Some(addr) = opts.resolve_to {
        for host in std::iter::once(&t.primary)
            .chain(&t.standby)
            .map(|t| &t.host)
        {
            if !cfg.resolve.iter().any(|(h, _)| h == host) {
                cfg.resolve.push((host.clone(), addr));
            }
        }
    }
    Ok(t)
}

/// True when a request never reached the server: the host name did not
/// resolve or the connection was refused or timed out (a reason to try the
/// standby domain; a reply cut short or a slow reply is not).
fn unreachable(e: &Error) -> bool {
    matches!(e, Error::Transport { message, .. } if message.contains("(Connect)"))
}

type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The rows of one `getappinfo` reply and the server's clock (its `Date`
/// header), when it sent one.
pub type Answer = (TableBuilder, Option<chrono::DateTime<chrono::Utc>>);

fn system_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

struct CachedSig {
    text: String,
    time: u64,
}

/// The Tencent IM client of one app.
pub struct Client {
    http: Http,
    sdkappid: u64,
    key: String,
    identifier: String,
    targets: Targets,
    /// The standby domain answered when the region's domain could not be
    /// reached: later calls go there first.
    on_standby: std::sync::atomic::AtomicBool,
    usersig_expire: u64,
    window_end: Option<NaiveDate>,
    sig: Mutex<Option<CachedSig>>,
    clock: Clock,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TencentIm")
            .field("sdkappid", &self.sdkappid)
            .field("identifier", &self.identifier)
            .field("base_url", &self.targets.primary.base)
            .field("secret_key", &"***")
            .finish()
    }
}

pub(crate) fn check_app(sdkappid: u64, key: &str) -> Result<()> {
    if sdkappid == 0 || sdkappid > i64::MAX as u64 {
        return Err(Error::invalid(format!(
            "sdkappid {sdkappid} is not a valid SDKAppID"
        )));
    }
    if key.trim().is_empty() {
        return Err(Error::invalid(format!(
            "secret_key of sdkappid {sdkappid} is empty"
        )));
    }
    Ok(())
}

pub(crate) fn check_identifier(identifier: Option<&str>) -> Result<String> {
    let id = identifier.unwrap_or(DEFAULT_IDENTIFIER).trim();
    if id.is_empty() {
        return Err(Error::invalid("identifier (the admin account) is empty"));
    }
    Ok(id.to_string())
}

impl Client {
    /// A client for app `sdkappid` in `region_or_base_url` (a region name
    /// or code, see [`REGIONS`], or a base URL).
    pub fn new(
        sdkappid: u64,
        secret_key: &str,
        identifier: Option<&str>,
        region_or_base_url: &str,
        cfg: HttpConfig,
    ) -> Result<Self> {
        Self::with_options(
            sdkappid,
            secret_key,
            identifier,
            region_or_base_url,
            cfg,
            &ClientOptions::default(),
        )
    }

    pub fn with_options(
        sdkappid: u64,
        secret_key: &str,
        identifier: Option<&str>,
        region_or_base_url: &str,
        mut cfg: HttpConfig,
        opts: &ClientOptions,
    ) -> Result<Self> {
        check_app(sdkappid, secret_key)?;
        let identifier = check_identifier(identifier)?;
        opts.validate()?;
        let targets = targets(region_or_base_url, opts, &mut cfg)?;
        Ok(Client {
            http: Http::new(PROVIDER, cfg)?,
            sdkappid,
            key: secret_key.to_string(),
            identifier,
            targets,
            on_standby: std::sync::atomic::AtomicBool::new(false),
            usersig_expire: opts.usersig_expire,
            window_end: opts.window_end,
            sig: Mutex::new(None),
            clock: Arc::new(system_now),
        })
    }

    /// Replace the clock (Unix seconds) used to sign UserSigs (tests).
    pub fn set_clock(&mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) {
        self.clock = Arc::new(clock);
        *self.sig.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub fn sdkappid(&self) -> u64 {
        self.sdkappid
    }

    pub fn identifier(&self) -> &str {
        &self.identifier
    }

    pub fn base_url(&self) -> &str {
        &self.targets.primary.base
    }

    /// The region's standby domain, if it has one.
    pub fn standby_url(&self) -> Option<&str> {
        self.targets.standby.as_ref().map(|t| t.base.as_str())
    }

    /// True once the standby domain answered because the region's domain
    /// could not be reached (this client then calls it first).
    pub fn on_standby(&self) -> bool {
        self.on_standby.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// The current UserSig: the cached one until 90 % of its validity has
    /// passed, then a fresh one.
    pub fn usersig(&self) -> String {
        let now = (self.clock)();
        let mut g = self.sig.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = g.as_ref() {
            let renew_at = c.time.saturating_add(self.usersig_expire / 10 * 9);
            if now >= c.time && now < renew_at {
                return c.text.clone();
            }
        }
        let text = gen_usersig(
            self.sdkappid,
            &self.key,
            &self.identifier,
            self.usersig_expire,
            now,
        );
        *g = Some(CachedSig {
            text: text.clone(),
            time: now,
        });
        text
    }

    /// Drop the cached UserSig if it is still `old`.
    fn invalidate(&self, old: &str) {
        let mut g = self.sig.lock().unwrap_or_else(|e| e.into_inner());
        if g.as_ref().is_some_and(|c| c.text == old) {
            *g = None;
        }
    }

    /// `getappinfo`, parsed and checked: a reply that lacks a day of the
    /// expected window ([`expected_window`]: at either end or between its
    /// days) is fetched again (up to 3 times), then reported as incomplete,
    /// naming the days. Rows outside the window are kept.
    pub async fn fetch(&self, sel: &Selection) -> Result<TableBuilder> {
        let mut cov = DateCoverage::of(expected_window(self.window_end, None), []);
        for attempt in 1..=GAP_REFETCHES {
            let (t, server_now) = self.fetch_once(sel).await?;
            let window = expected_window(self.window_end, server_now);
            cov = DateCoverage::of(window, parse::dates(&t));
            if cov.is_complete() {
                return Ok(t);
            }
            log::warn!(
                "tim {}: {} (attempt {attempt} of {GAP_REFETCHES})",
                self.sdkappid,
                cov.describe_missing()
            );
        }
        Err(Error::incomplete(
            PROVIDER,
            parse::ENDPOINT,
            format!(
                "{} (getappinfo answers the last {WINDOW_DAYS} days ending yesterday, \
                 China time); refetching did not help",
                cov.describe_missing()
            ),
        ))
    }

    /// One `getappinfo` call, parsed. When the domain cannot be reached
    /// (DNS or connect failure, after the HTTP layer's retries), the call
    /// is made again on the region's standby domain, and later calls of
    /// this client go there first. Returns the rows and the server's clock
    /// (its `Date` header), when it sent one.
    pub async fn fetch_once(&self, sel: &Selection) -> Result<Answer> {
        use std::sync::atomic::Ordering::Relaxed;
        let primary = &self.targets.primary;
        let (first, second) = match &self.targets.standby {
            Some(standby) if self.on_standby.load(Relaxed) => (standby, Some(primary)),
            standby => (primary, standby.as_ref()),
        };
        match self.fetch_at(first, sel).await {
            Err(e) if unreachable(&e) => {
                let Some(second) = second else {
                    return Err(e);
                };
                log::warn!(
                    "tim {}: {} cannot be reached ({e}); trying {}",
                    self.sdkappid,
                    first.host,
                    second.host
                );
                match self.fetch_at(second, sel).await {
                    Ok(t) => {
                        self.on_standby
                            .store(!std::ptr::eq(second, primary), Relaxed);
                        Ok(t)
                    }
                    Err(e2) if unreachable(&e2) => Err(Error::Transport {
                        provider: PROVIDER,
                        message: format!(
                            "neither {} nor {} can be reached: {e2}",
                            first.host, second.host
                        ),
                        timeout: false,
                    }),
                    Err(e2) => Err(e2),
                }
            }
            other => other,
        }
    }

    /// One `getappinfo` call to `target`; a rejected UserSig is renewed
    /// once.
    async fn fetch_at(&self, target: &Target, sel: &Selection) -> Result<Answer> {
        let url = format!("{}{PATH}", target.base);
        let body = parse::request_body(sel);
        let app = self.sdkappid.to_string();
        let mut renewed = false;
        loop {
            let sig = self.usersig();
            let res = self
                .http
                .call(
                    parse::ENDPOINT,
                    |c| {
                        let random = rand::random::<u32>().to_string();
                        Ok(c.post(&url)
                            .query(&[
                                ("sdkappid", app.as_str()),
                                ("identifier", self.identifier.as_str()),
                                ("usersig", sig.as_str()),
                                ("random", random.as_str()),
                                ("contenttype", "json"),
                            ])
                            .header(reqwest::header::CONTENT_TYPE, "application/json")
                            .body(body.clone()))
                    },
                    |reply: Reply| {
                        let date = reply.date;
                        self.decode(reply, sel, &target.host).map(|t| (t, date))
                    },
                )
                .await;
            match res {
                Err(Error::Auth {
                    renewable: true, ..
                }) if !renewed => {
                    log::debug!("tim {}: UserSig rejected, signing a new one", self.sdkappid);
                    self.invalidate(&sig);
                    renewed = true;
                }
                Err(Error::Auth {
                    provider,
                    code,
                    message,
                    renewable: true,
                }) => {
                    return Err(Error::Auth {
                        provider,
                        code,
                        message: format!(
                            "{message}; a freshly signed UserSig was rejected too: \
                             check the system clock and the secret key"
                        ),
                        renewable: false,
                    })
                }
                other => return other,
            }
        }
    }

    /// Decode a 2xx reply (the HTTP layer classifies other statuses).
    fn decode(&self, reply: Reply, sel: &Selection, host: &str) -> Result<TableBuilder> {
        std::str::from_utf8(&reply.body)
            .map_err(|e| Error::malformed(PROVIDER, parse::ENDPOINT, e))
            .and_then(|text| parse::parse_reply(text, sel, host))
    }

    /// Operations data of the last 30 days, one row per day (date
    /// ascending). `fields` (original or snake_case names) narrows the
    /// columns to `date` + those fields; `None` gives all 37 columns.
    pub async fn app_info(
        &self,
        fields: Option<&[String]>,
        progress: &Progress,
    ) -> Result<DataFrame> {
        let sel = parse::select(fields)?;
        progress.add_total(1);
        let t = self.fetch(&sel).await?;
        progress.advance(1);
        parse::finish(t)
    }
}

#[cfg(test)]
mod tests;
