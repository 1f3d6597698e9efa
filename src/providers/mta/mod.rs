//! Tencent MTA (移动分析) app open API client.

pub mod cohort;
pub mod endpoints;
pub mod errors;
pub mod parse;
pub mod sign;

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::http::{run_in_order, Http, HttpConfig, Progress, Reply};
use crate::providers::common::{list_dates, DateCoverage};
use crate::table::{Kind, TableBuilder};
pub use endpoints::{Metric, Report, ReportKind, Shape, REPORTS};

/// The provider's name in errors and logs.
pub const PROVIDER: &str = "mta";

pub const DEFAULT_BASE_URL: &str = "https://openapi.mta.qq.com";
/// Attempts to get a window whose reply skips requested dates.
const WINDOW_REFETCHES: u32 = 3;

/// A fetched report.
#[derive(Debug, Clone)]
pub struct MtaFrame {
    /// Report name (`user_basic`, `retention`, ...).
    pub report: &'static str,
    pub data: DataFrame,
    /// The request windows (one for aggregate reports and realtime).
    pub windows: Vec<(NaiveDate, NaiveDate)>,
}

/// What to do with a day a date-keyed reply leaves out even when fetched
/// again: MTA omits days without activity (community clients fill them
/// with zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingDays {
    /// Keep the day as a row with null values (and log a warning).
    #[default]
    Null,
    /// Keep the day as a row with zero counts and ratios (and log a warning).
    Zero,
    /// Raise [`Error::Incomplete`] naming the days.
    Raise,
}

impl MissingDays {
    pub const NAMES: [&'static str; 3] = ["null", "zero", "raise"];

    pub fn parse(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "null" => Ok(MissingDays::Null),
            "zero" => Ok(MissingDays::Zero),
            "raise" => Ok(MissingDays::Raise),
            _ => Err(crate::providers::common::bad_choice(
                "missing_days",
                s,
                Self::NAMES.into_iter(),
            )),
        }
    }
}

/// A validated request.
#[derive(Debug, Clone)]
pub struct Request {
    pub report: Report,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Days the reply omits even when fetched again (date-keyed reports).
    pub missing_days: MissingDays,
    /// Retention: fill `cohort_size` from `user_basic`'s new users (the
    /// retention endpoint sends none); see [`cohort`].
    pub cohort_size: bool,
}

pub use crate::providers::common::today_cn;

impl Request {
    /// Validate a report name, dates and options (see
    /// [`Report::from_args`]; plus `missing_days` = `null` | `zero` |
    /// `raise` for date-keyed reports, see [`MissingDays`]). `realtime`
    /// serves today's numbers: its dates may be empty and are not sent.
    pub fn new(name: &str, start: &str, end: &str, opts: &HashMap<String, String>) -> Result<Self> {
        let mut rest = opts.clone();
        let missing = rest.remove("missing_days");
        let sizes = rest.remove("cohort_size");
        let report = Report::from_args(name, &rest)?;
        let missing_days = match missing {
            None => MissingDays::default(),
            Some(_) if !report.kind.date_keyed() => {
                return Err(Error::invalid(format!(
                    "missing_days applies to the reports with one row per day \
                     (user_basic, active_users, usage, crash, retention), not {}",
                    report.name
                )))
            }
            Some(m) => MissingDays::parse(&m)?,
        };
        let cohort_size = match sizes {
            None => report.kind == ReportKind::Retention,
            Some(_) if report.kind != ReportKind::Retention => {
                return Err(Error::invalid(format!(
                    "cohort_size applies to retention only, not {}",
                    report.name
                )))
            }
            Some(v) => cohort::parse_flag(&v)?,
        };
        if report.kind == ReportKind::Realtime && start.trim().is_empty() && end.trim().is_empty() {
            let t = today_cn();
            return Ok(Request {
                report,
                start: t,
                end: t,
                missing_days,
                cohort_size,
            });
        }
        let (start, end) = endpoints::parse_range(start, end)?;
        endpoints::check_range(&report, start, end)?;
        Ok(Request {
            report,
            start,
            end,
            missing_days,
            cohort_size,
        })
    }

    /// Request windows: date-keyed reports are split into windows of at
    /// most [`endpoints::MAX_WINDOW_DAYS`] days.
    pub fn windows(&self) -> Vec<(NaiveDate, NaiveDate)> {
        if self.report.kind.date_keyed() {
            endpoints::windows(self.start, self.end)
        } else {
            vec![(self.start, self.end)]
        }
    }
}

/// The MTA client. The secret key never appears in `Debug`, errors or logs.
pub struct Client {
    pub http: Http,
    app_id: String,
    secret: String,
    base: String,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtaClient")
            .field("app_id", &self.app_id)
            .field("secret_key", &"***")
            .field("base", &self.base)
            .finish()
    }
}

impl Client {
    pub fn new(
        app_id: &str,
        secret_key: &str,
        base_url: Option<&str>,
        cfg: HttpConfig,
    ) -> Result<Self> {
        let app_id = app_id.trim();
        if app_id.is_empty() {
            return Err(Error::invalid("MTA app_id must not be empty"));
        }
        if app_id.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::invalid(format!(
                "MTA app_id must not contain spaces or control characters, got {app_id:?}"
            )));
        }
        if secret_key.trim().is_empty() {
            return Err(Error::invalid("MTA secret_key must not be empty"));
        }
        let base = &crate::url::parse_base_url(base_url.unwrap_or(DEFAULT_BASE_URL))?;
        Ok(Client {
            http: Http::new(PROVIDER, cfg)?,
            app_id: app_id.to_string(),
            secret: secret_key.trim().to_string(),
            base: base.to_string(),
        })
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Signed query parameters of one request (`sign` last).
    pub fn signed_params(
        &self,
        report: &Report,
        win: (NaiveDate, NaiveDate),
    ) -> Vec<(&'static str, String)> {
        let mut params: Vec<(&'static str, String)> = vec![("app_id", self.app_id.clone())];
        if report.kind != ReportKind::Realtime {
            params.push(("start_date", win.0.format("%Y-%m-%d").to_string()));
            params.push(("end_date", win.1.format("%Y-%m-%d").to_string()));
        }
        params.extend(report.params());
        let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let sig = sign::sign(&self.secret, report.path, &borrowed);
        params.push(("sign", sig));
        params
    }

    /// One request window, parsed and checked. A reply that skips dates is
    /// fetched again; a day left out of two replies in a row is a day
    /// without activity (MTA omits those), kept or raised as
    /// `req.missing_days` says, and any other gap after
    /// [`WINDOW_REFETCHES`] replies is [`Error::Incomplete`].
    async fn window(&self, req: &Request, win: (NaiveDate, NaiveDate)) -> Result<TableBuilder> {
        let report = &req.report;
        let url = format!("{}{}", self.base, report.path);
        let params = self.signed_params(report, win);
        let what = format!("{} {} – {}", report.path, win.0, win.1);
        let mut before: Option<Vec<NaiveDate>> = None;
        for attempt in 1..=WINDOW_REFETCHES {
            let mut rows = self
                .http
                .call(
                    &what,
                    |c| Ok(c.get(&url).query(&params)),
                    |reply: Reply| decode(report, &reply),
                )
                .await?;
            if !report.kind.date_keyed() {
                return Ok(rows);
            }
            let missing = missing_dates(report, &rows, win)?;
            if missing.is_empty() {
                return Ok(rows);
            }
            let again = before.as_ref() == Some(&missing);
            if again && req.missing_days != MissingDays::Raise {
                let zero = req.missing_days == MissingDays::Zero;
                log::warn!(
                    "mta {what}: no data for {} even when fetched again (MTA omits days \
                     without activity); kept as rows with {} values",
                    day_list(&missing),
                    if zero { "zero" } else { "null" }
                );
                fill_days(report, &mut rows, &missing, zero);
                return Ok(rows);
            }
            let e = gap_error(report, win, &missing);
            if attempt == WINDOW_REFETCHES {
                return Err(e);
            }
            log::warn!("mta {what}: {e} (attempt {attempt} of {WINDOW_REFETCHES})");
            before = Some(missing);
        }
        Err(Error::Internal("unreachable: window refetch loop".into()))
    }

    /// Fetch a whole report: every window (concurrently), stitched in date
    /// order as they arrive. The first window that fails for good cancels
    /// the others; its error keeps its class and names the dates missing.
    /// Retention (unless `cohort_size` is off) also fetches the cohorts'
    /// new users and fills `cohort_size` with them ([`cohort`]): every
    /// caller — client, fan-out, sync, Spark, dlt — gets the same rows.
    pub async fn fetch(&self, req: &Request, progress: &Progress) -> Result<MtaFrame> {
        let mut frame = self.fetch_windows(req, progress).await?;
        if let Some(sizes_req) = cohort::sizes_request(req)? {
            let sizes = self.fetch_windows(&sizes_req, progress).await?;
            frame.data = cohort::fill(frame.data, &sizes.data)?;
        }
        Ok(frame)
    }

    /// The report's windows, fetched and stitched (see [`Client::fetch`]).
    async fn fetch_windows(&self, req: &Request, progress: &Progress) -> Result<MtaFrame> {
        let windows = req.windows();
        progress.add_total(windows.len() as u64);
        let futs = windows.iter().map(|&w| async move {
            let r = self.window(req, w).await;
            progress.advance(1);
            r
        });
        let mut rows: Option<TableBuilder> = None;
        let limit = self.http.config().concurrency;
        if let Err(f) = run_in_order(futs.collect(), limit, |_, t| {
            match &mut rows {
                Some(acc) => acc.append(t),
                None => rows = Some(t),
            }
            Ok(())
        })
        .await
        {
            if windows.len() == 1 {
                return Err(f.error);
            }
            let (w, lost) = (windows[f.index], &windows[f.delivered..]);
            let listed: Vec<String> = lost
                .iter()
                .take(5)
                .map(|(a, b)| format!("{a} – {b}"))
                .collect();
            return Err(f.error.context(format!(
                "dates {} – {} not fetched ({} of {} windows: {}{}); the window {} – {} failed",
                lost[0].0,
                lost[lost.len() - 1].1,
                lost.len(),
                windows.len(),
                listed.join(", "),
                if lost.len() > 5 { ", ..." } else { "" },
                w.0,
                w.1
            )));
        }
        let rows = rows.unwrap_or_else(|| TableBuilder::new(&parse::schema(&req.report)));
        Ok(MtaFrame {
            report: req.report.name,
            data: parse::finish(&req.report, rows)?,
            windows,
        })
    }
}

/// Decode one 2xx reply (the HTTP layer classifies other statuses).
pub fn decode(report: &Report, reply: &Reply) -> Result<TableBuilder> {
    let text =
        std::str::from_utf8(&reply.body).map_err(|e| Error::malformed(PROVIDER, report.path, e))?;
    parse::parse_rows(report, text)
}

/// `2 day(s): 2024-03-01, 2024-03-05` (see [`list_dates`]).
fn day_list(days: &[NaiveDate]) -> String {
    format!("{} day(s): {}", days.len(), list_dates(days))
}

/// Add a row per day in `days` (per day and period for retention): the
/// date, and null — or zero with `zero` — for every value.
pub fn fill_days(report: &Report, rows: &mut TableBuilder, days: &[NaiveDate], zero: bool) {
    let periods = if report.kind == ReportKind::Retention {
        report.periods()
    } else {
        vec![0]
    };
    let names: Vec<String> = rows.names().to_vec();
    for &d in days {
        for &p in &periods {
            for (i, name) in names.iter().enumerate() {
                let col = rows.col(i);
                match (i, name.as_str(), col.kind()) {
                    (0, _, _) | (_, "cohort_end", _) => col.push_date(Some(d)),
                    (_, "period", _) => col.push_i64(Some(p)),
                    // retention rows carry `users` and `ratio` until one is
                    // kept: a zero day must not make a reply of counts look
                    // like one of percentages
                    (_, "ratio", _) => col.push_null(),
                    (_, _, Kind::Int) if zero => col.push_i64(Some(0)),
                    (_, _, Kind::Float) if zero => col.push_f64(Some(0.0)),
                    _ => col.push_null(),
                }
            }
            rows.end_row();
        }
    }
}

/// The dates of `win` that no row has (column 0 is the date or the cohort
/// date of every date-keyed report). A row outside the window is an error
/// (stitched windows would otherwise overlap).
pub fn missing_dates(
    report: &Report,
    rows: &TableBuilder,
    win: (NaiveDate, NaiveDate),
) -> Result<Vec<NaiveDate>> {
    let cov = DateCoverage::of(win, parse::dates(rows, 0));
    if let Some(out) = cov.outside.first() {
        return Err(Error::malformed(
            PROVIDER,
            report.path,
            format!(
                "reply has a row for {out}, outside the requested {} – {}",
                win.0, win.1
            ),
        ));
    }
    Ok(cov.missing)
}

fn gap_error(report: &Report, win: (NaiveDate, NaiveDate), missing: &[NaiveDate]) -> Error {
    let cov = DateCoverage {
        window: win,
        missing: missing.to_vec(),
        outside: vec![],
    };
    Error::incomplete(PROVIDER, report.path, cov.describe_missing())
}

/// Every date of `win` must be in the rows, and no row may lie outside it.
pub fn check_dates(
    report: &Report,
    rows: &TableBuilder,
    win: (NaiveDate, NaiveDate),
) -> Result<()> {
    let missing = missing_dates(report, rows, win)?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(gap_error(report, win, &missing))
    }
}

/// Parse a saved reply of a report (by name, e.g. `user_basic`, or API
/// path, e.g. `/ctr_user_basic/get_offline_data`) into the frame `fetch`
/// would build from it. `opts` are the report options (`metrics`,
/// `shape`, `terminal_type`, ...). No date completeness check is made
/// (the requested range is unknown).
pub fn parse_saved(
    endpoint_or_report: &str,
    text: &str,
    opts: &HashMap<String, String>,
) -> Result<DataFrame> {
    let report = Report::from_endpoint(endpoint_or_report, opts)?;
    parse::parse_reply(&report, text)
}

#[cfg(test)]
mod tests;
