//! Many apps of every provider through the fan-out engine
//! ([`crate::fanout`]): what an app is ([`AppSpec`]), what a task is
//! ([`Task`]), and the [`Runner`] that connects apps and runs tasks with the
//! providers' clients.
//!
//! Each app gets its own client, so its own token cache, signer, rate limit
//! and connection pool; programs authorised to the same Baidu third-party
//! platform share the platform's token (fetched once per run, not once per
//! program). A task is a report over a window of days; reports whose
//! numbers are distributions over the requested range (regions, terminals,
//! pages, ...) can be fetched one day per request (`per_day`), each day's
//! rows tagged with a leading `date` column, so every day stands on its own.
//! [`each_app`] runs one task for each of many apps and hands back their
//! results in the apps' order: Tencent IM's `app_info_many`
//! ([`app_info`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use polars::prelude::{Column, DataFrame, DataType, IntoColumn, NamedFrom, Series};

use crate::error::{Error, Result};
use crate::fanout::{self, BoxFuture, Limits, Runner};
use crate::http::{Http, HttpConfig, Progress};
use crate::providers::baidu::auth::TokenHook;
use crate::providers::{baidu, mta, tim};

pub mod app_info;
pub use app_info::{app_info_many, app_info_many_with, many_schema};

/// How a Baidu app authenticates.
#[derive(Clone)]
pub enum BaiduAuth {
    /// Its own credentials (a token, or client id + secret).
    Own(baidu::Credentials),
    /// A program authorised to a third-party platform: the platform's
    /// client id + ticket, and the program's code or refresh token.
    Authorized {
        tp_client_id: String,
        tp_ticket: String,
        auth_code: Option<String>,
        refresh_token: Option<String>,
    },
}

/// One app: its provider, credentials and HTTP settings.
pub enum AppSpec {
    Baidu {
        auth: BaiduAuth,
        base_url: Option<String>,
        page_size: u32,
        http: HttpConfig,
        /// An access token from an earlier run and how long it stays valid.
        cached_token: Option<(String, Duration)>,
        /// Told about each token exchange (persist the new refresh token).
        hook: Option<TokenHook>,
    },
    Mta {
        app_id: String,
        secret_key: String,
        base_url: Option<String>,
        http: HttpConfig,
    },
    Tim {
        sdkappid: u64,
        secret_key: String,
        identifier: Option<String>,
        /// Region name/code or base URL.
        region: String,
        http: HttpConfig,
        /// UserSig validity, where requests go (`resolve_to`: tests,
        /// sandboxes) and the newest day the service reports (a simulator
        /// living on another day).
        options: tim::ClientOptions,
    },
}

impl AppSpec {
    pub fn provider(&self) -> &'static str {
        match self {
            AppSpec::Baidu { .. } => "baidu",
            AppSpec::Mta { .. } => "mta",
            AppSpec::Tim { .. } => "tim",
        }
    }
}

/// What a task fetches, validated for its provider.
#[derive(Debug, Clone)]
enum Job {
    Baidu(baidu::Request),
    Mta(mta::Request),
    Tim(Option<Vec<String>>),
}

/// The days a task asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Days {
    /// `start..=end`; `per_day`: one request per day, rows tagged with a
    /// [`DAY_COLUMN`].
    Range {
        start: NaiveDate,
        end: NaiveDate,
        per_day: bool,
    },
    /// Every day the service serves now, as it answers (Tencent IM's last
    /// 30 days).
    Served,
}

/// One report of one app over some [`Days`].
#[derive(Debug, Clone)]
pub struct Task {
    job: Job,
    pub days: Days,
}

/// The column a per-day task's rows get, holding the day each row is of.
pub const DAY_COLUMN: &str = "date";

/// Days a per-day task may span (one request or more per day).
pub const MAX_PER_DAY_SPAN: i64 = 366;

impl Task {
    /// Validate a task for an app of `provider` (nothing is sent).
    pub fn new(
        provider: &str,
        report: &str,
        start: &str,
        end: &str,
        options: &HashMap<String, String>,
        per_day: bool,
    ) -> Result<Self> {
        let parse = |what: &str, s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| Error::invalid(format!("{what} must be a YYYY-MM-DD date, got {s:?}")))
        };
        let (s, e) = (parse("start", start)?, parse("end", end)?);
        if e < s {
            return Err(Error::invalid(format!("end {e} is before start {s}")));
        }
        if per_day && (e - s).num_days() >= MAX_PER_DAY_SPAN {
            return Err(Error::invalid(format!(
                "a per-day task spans at most {MAX_PER_DAY_SPAN} days, got {s} – {e}"
            )));
        }
        // Per-day tasks are checked with their first day (what each
        // request asks for).
        let last = if per_day { start } else { end };
        let job = match provider {
            "baidu" => Job::Baidu(baidu::Request::new(report, start, last, options)?),
            "mta" => Job::Mta(mta::Request::new(report, start, last, options)?),
            "tim" => {
                if report != "app_info" {
                    return Err(Error::invalid(format!(
                        "unknown tim report {report:?}; valid: app_info"
                    )));
                }
                let mut fields = None;
                for (k, v) in options {
                    match k.as_str() {
                        "fields" => {
                            fields = Some(v.split(',').map(|f| f.trim().to_string()).collect())
                        }
                        other => {
                            return Err(Error::invalid(format!(
                                "unknown tim app_info option {other:?}; valid: fields"
                            )))
                        }
                    }
                }
                if per_day {
                    return Err(Error::invalid(
                        "tim app_info is one row per day already; per_day does not apply",
                    ));
                }
                Job::Tim(fields)
            }
            other => {
                return Err(Error::invalid(format!(
                    "unknown provider {other:?}; valid: baidu, mta, tim"
                )))
            }
        };
        Ok(Task {
            job,
            days: Days::Range {
                start: s,
                end: e,
                per_day,
            },
        })
    }

    /// Tencent IM's `getappinfo`, whole: every day the service serves (the
    /// last 30), as one frame; `fields` as [`tim::Client::app_info`] takes
    /// them (validated here).
    pub fn tim_served(fields: Option<Vec<String>>) -> Result<Self> {
        tim::parse::select(fields.as_deref())?;
        Ok(Task {
            job: Job::Tim(fields),
            days: Days::Served,
        })
    }
}

/// A connected app.
pub enum AnyClient {
    Baidu(Box<baidu::Client>),
    Mta(mta::Client),
    Tim(tim::Client),
}

/// A third-party platform's own token, shared by its programs.
struct Platform {
    http: Http,
    auth: baidu::Auth,
}

/// Connects [`AppSpec`]s and runs [`Task`]s.
#[derive(Default)]
pub struct Many {
    platforms: Mutex<HashMap<(String, String, String), Arc<Platform>>>,
}

impl Many {
    fn platform(&self, client_id: &str, ticket: &str, base: &str) -> Result<Arc<Platform>> {
        let key = (client_id.to_string(), ticket.to_string(), base.to_string());
        let mut all = self.platforms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = all.get(&key) {
            return Ok(p.clone());
        }
        let creds = baidu::Credentials::TpTicket {
            client_id: client_id.to_string(),
            ticket: ticket.to_string(),
        };
        let p = Arc::new(Platform {
            http: Http::new(baidu::PROVIDER, HttpConfig::new(10, 1))?,
            auth: baidu::Auth::new(creds, base)?,
        });
        all.insert(key, p.clone());
        Ok(p)
    }

    async fn connect_baidu(
        &self,
        auth: &BaiduAuth,
        base_url: Option<&str>,
        page_size: u32,
        http: &HttpConfig,
        cached: Option<&(String, Duration)>,
        hook: Option<&TokenHook>,
    ) -> Result<baidu::Client> {
        let creds = match auth {
            BaiduAuth::Own(c) => c.clone(),
            BaiduAuth::Authorized {
                tp_client_id,
                tp_ticket,
                auth_code,
                refresh_token,
            } => {
                let tp = if cached.is_some() {
                    // The program's token is still valid: the platform's
                    // token is fetched only if it must be renewed mid-run.
                    baidu::Credentials::TpTicket {
                        client_id: tp_client_id.clone(),
                        ticket: tp_ticket.clone(),
                    }
                } else {
                    let base = base_url.unwrap_or(baidu::DEFAULT_BASE_URL);
                    let p = self.platform(tp_client_id, tp_ticket, base.trim_end_matches('/'))?;
                    baidu::Credentials::Token(p.auth.token(&p.http).await?)
                };
                baidu::Credentials::Authorizer {
                    tp: Box::new(tp),
                    code: auth_code.clone(),
                    refresh_token: refresh_token.clone(),
                }
            }
        };
        let mut client = baidu::Client::new(creds, base_url, http.clone(), page_size)?;
        if let Some(h) = hook {
            client.auth.set_hook(h.clone());
        }
        if let Some((token, valid)) = cached {
            client.auth.seed_token(token.clone(), *valid);
        }
        Ok(client)
    }
}

/// A [`DAY_COLUMN`] of `n` rows, all `d`.
fn date_column(d: NaiveDate, n: usize) -> Result<Column> {
    let days = (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32;
    Series::new(DAY_COLUMN.into(), vec![days; n])
        .cast(&DataType::Date)
        .map(|s| s.into_column())
        .map_err(|e| Error::Internal(format!("date column: {e}")))
}

/// Frames of consecutive days, each with a leading [`DAY_COLUMN`], stacked.
fn stack_days(days: Vec<(NaiveDate, DataFrame)>) -> Result<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for (d, mut df) in days {
        let col = date_column(d, df.height())?;
        if df.get_column_index(DAY_COLUMN).is_some() {
            return Err(Error::Internal(
                "a per-day report already has a date column".into(),
            ));
        }
        df.insert_column(0, col)
            .map_err(|e| Error::Internal(format!("date column: {e}")))?;
        match &mut out {
            None => out = Some(df),
            Some(acc) => {
                acc.vstack_mut(&df)
                    .map_err(|e| Error::Internal(format!("stacking days: {e}")))?;
            }
        }
    }
    out.ok_or_else(|| Error::Internal("a per-day task without days".into()))
}

/// A task's range fetched by `fetch(start, end)`: whole, or (`per_day`)
/// one request per day, at most `concurrency` at once, stacked with a
/// [`DAY_COLUMN`]. A failed day fails the task: no further day is started
/// (the days in flight finish, so no exchange is cut off mid-way) and the
/// error of the earliest failed day is returned.
async fn by_day<F, Fut>(task: &Task, concurrency: usize, fetch: F) -> Result<DataFrame>
where
    F: Fn(NaiveDate, NaiveDate) -> Fut,
    Fut: Future<Output = Result<DataFrame>>,
{
    use futures::stream::{FuturesUnordered, StreamExt};
    let Days::Range {
        start,
        end,
        per_day,
    } = task.days
    else {
        return Err(Error::Internal(
            "a Baidu or MTA task without a date range".into(),
        ));
    };
    if !per_day {
        return fetch(start, end).await;
    }
    let mut todo = days(start, end).into_iter();
    let mut running = FuturesUnordered::new();
    let mut got: Vec<(NaiveDate, DataFrame)> = vec![];
    let mut failed: Option<(NaiveDate, Error)> = None;
    loop {
        while failed.is_none() && running.len() < concurrency.max(1) {
            let Some(d) = todo.next() else { break };
            let day = fetch(d, d);
            running.push(async move { (d, day.await) });
        }
        let Some((d, result)) = running.next().await else {
            break;
        };
        match result {
            Ok(df) => got.push((d, df)),
            Err(e) => {
                if failed.as_ref().is_none_or(|(first, _)| d < *first) {
                    failed = Some((d, e));
                }
            }
        }
    }
    if let Some((_, e)) = failed {
        return Err(e);
    }
    got.sort_by_key(|(d, _)| *d);
    stack_days(got)
}

fn days(start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    start.iter_days().take_while(|d| *d <= end).collect()
}

/// Keep the rows of `df` whose `date` is within `start..=end`; the days of
/// the window the service no longer serves are an error naming them.
fn tim_window(df: DataFrame, start: NaiveDate, end: NaiveDate) -> Result<DataFrame> {
    let served: Vec<Option<NaiveDate>> = df
        .column("date")
        .and_then(|c| c.date().map(|d| d.as_date_iter().collect()))
        .map_err(|e| Error::Internal(format!("tim frame without dates: {e}")))?;
    let first = served.iter().flatten().min().copied();
    if first.is_none_or(|f| start < f) {
        let until = first.map_or(end, |f| f.pred_opt().unwrap_or(f)).min(end);
        return Err(Error::incomplete(
            tim::PROVIDER,
            "getappinfo",
            format!(
                "Tencent IM serves only the last 30 days: {start} – {until} can no longer be fetched"
            ),
        ));
    }
    let mask: polars::prelude::BooleanChunked = served
        .iter()
        .map(|d| d.is_some_and(|d| d >= start && d <= end))
        .collect();
    df.filter(&mask)
        .map_err(|e| Error::Internal(format!("tim window: {e}")))
}

/// Whether `error` ends its app for the run: its credentials were refused
/// (a wrong key or signature, a token that cannot be renewed) or its quota
/// is used up — every further request would fail the same way. A
/// permission refused for one API (Baidu's code 6) concerns that report
/// only.
pub fn ends_app(error: &Error) -> bool {
    match error {
        Error::QuotaExceeded { .. } => true,
        Error::Auth { provider, code, .. } => !(*provider == baidu::PROVIDER && *code == 6),
        _ => false,
    }
}

impl Runner for Many {
    type App = AppSpec;
    type Client = AnyClient;
    type Task = Task;
    type Output = DataFrame;

    fn ends_app(&self, error: &Error) -> bool {
        ends_app(error)
    }

    fn connect<'a>(&'a self, app: &'a AppSpec) -> BoxFuture<'a, Result<AnyClient>> {
        Box::pin(async move {
            Ok(match app {
                AppSpec::Baidu {
                    auth,
                    base_url,
                    page_size,
                    http,
                    cached_token,
                    hook,
                } => AnyClient::Baidu(Box::new(
                    self.connect_baidu(
                        auth,
                        base_url.as_deref(),
                        *page_size,
                        http,
                        cached_token.as_ref(),
                        hook.as_ref(),
                    )
                    .await?,
                )),
                AppSpec::Mta {
                    app_id,
                    secret_key,
                    base_url,
                    http,
                } => {
                    let mut c =
                        mta::Client::new(app_id, secret_key, base_url.as_deref(), http.clone())?;
                    c.http.pace_as(&format!("{app_id}@{}", c.base_url()));
                    AnyClient::Mta(c)
                }
                AppSpec::Tim {
                    sdkappid,
                    secret_key,
                    identifier,
                    region,
                    http,
                    options,
                } => AnyClient::Tim(tim::Client::with_options(
                    *sdkappid,
                    secret_key,
                    identifier.as_deref(),
                    region,
                    http.clone(),
                    options,
                )?),
            })
        })
    }

    fn run<'a>(
        &'a self,
        client: &'a AnyClient,
        task: &'a Task,
    ) -> BoxFuture<'a, Result<DataFrame>> {
        Box::pin(async move {
            let p = Progress::default();
            match (client, &task.job) {
                (AnyClient::Baidu(c), Job::Baidu(req)) => {
                    by_day(task, c.http.config().concurrency, |start, end| {
                        let req = baidu::Request {
                            start,
                            end,
                            ..req.clone()
                        };
                        let p = &p;
                        async move { Ok(c.fetch(&req, p).await?.data) }
                    })
                    .await
                }
                (AnyClient::Mta(c), Job::Mta(req)) => {
                    by_day(task, c.http.config().concurrency, |start, end| {
                        let req = mta::Request {
                            start,
                            end,
                            ..req.clone()
                        };
                        let p = &p;
                        async move { Ok(c.fetch(&req, p).await?.data) }
                    })
                    .await
                }
                (AnyClient::Tim(c), Job::Tim(fields)) => {
                    let df = c.app_info(fields.as_deref(), &p).await?;
                    match task.days {
                        Days::Range { start, end, .. } => tim_window(df, start, end),
                        Days::Served => Ok(df),
                    }
                }
                _ => Err(Error::invalid(
                    "a task's provider does not match its app's provider",
                )),
            }
        })
    }
}

/// `task` for each of `apps` on the fan-out engine, each app with its own
/// client (its own rate limit, token or signer; the process's connection
/// pool shared), at most `limits` at once; the results in the apps' order.
/// One app's failure does not stop the others. `progress` counts one unit
/// per app as it finishes. Dropping the future cancels the run: no request
/// is sent after it.
pub async fn each_app(
    apps: Vec<AppSpec>,
    task: &Task,
    limits: Limits,
    progress: &Progress,
) -> Result<Vec<Result<DataFrame>>> {
    let n = apps.len();
    let tasks = (0..n).map(|app| (app, task.clone())).collect();
    let mut run = fanout::spawn(Arc::new(Many::default()), apps, tasks, limits)?;
    progress.add_total(n as u64);
    let mut out: Vec<Option<Result<DataFrame>>> = (0..n).map(|_| None).collect();
    while let Some(o) = run.next().await {
        progress.advance(1);
        out[o.task] = Some(o.result);
    }
    Ok(out
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::Internal("an app's task never reported".into()))))
        .collect())
}
