//! Baidu smart program data API client.

pub mod auth;
pub mod endpoints;
pub mod errors;
pub mod parse;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::http::{run_in_order, try_all, Http, HttpConfig, Progress, Reply};
pub use auth::{Auth, Credentials};
pub use endpoints::{Gran, Level, Report, Shape};
use parse::Page;

mod assemble;

pub use assemble::{assemble, Part};

/// The provider's name in errors and logs.
pub const PROVIDER: &str = "baidu";

pub const DEFAULT_BASE_URL: &str = "https://openapi.baidu.com";
/// Documented default page size of the data API (the rows asked of the TP
/// totals; the analysis endpoints always page at
/// [`endpoints::SERVICE_PAGE_ROWS`]).
pub const DEFAULT_PAGE_SIZE: u32 = endpoints::SERVICE_PAGE_ROWS;
/// Attempts to get a page whose rows or offset disagree with the reply.
const PAGE_REFETCHES: u32 = 3;

/// A fetched report.
#[derive(Debug, Clone)]
pub struct ReportFrame {
    pub data: DataFrame,
    /// The `sum` block(s): one row per request window, with the window's
    /// `start_date`/`end_date`.
    pub summary: DataFrame,
    /// Group-level view (source report).
    pub groups: Option<DataFrame>,
    pub time_span: Option<String>,
    /// Sum of `data.total` over the request windows.
    pub total: Option<i64>,
}

/// The Baidu client.
pub struct Client {
    pub http: Http,
    /// Token requests go to Baidu's OAuth service, not the data API: they
    /// share the connection pool but not the data API's rate limit.
    token_http: Http,
    pub auth: Auth,
    base: String,
    pub page_size: u32,
}

/// A validated request.
#[derive(Debug, Clone)]
pub struct Request {
    pub report: Report,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Request {
    pub fn new(name: &str, start: &str, end: &str, opts: &HashMap<String, String>) -> Result<Self> {
        let report = Report::from_args(name, opts)?;
        let start = endpoints::parse_user_date("start date", start)?;
        let end = endpoints::parse_user_date("end date", end)?;
        endpoints::check_range(&report, start, end)?;
        Ok(Request { report, start, end })
    }

    /// Request windows: one per day for hourly data, else the whole range.
    fn windows(&self) -> Vec<(NaiveDate, NaiveDate)> {
        if self.report.gran() == Some(Gran::Hour) {
            self.start
                .iter_days()
                .take_while(|d| *d <= self.end)
                .map(|d| (d, d))
                .collect()
        } else {
            vec![(self.start, self.end)]
        }
    }
}

impl Client {
    pub fn new(
        creds: Credentials,
        base_url: Option<&str>,
        cfg: HttpConfig,
        page_size: u32,
    ) -> Result<Self> {
        if page_size == 0 || page_size > 1000 {
            return Err(Error::invalid("page_size must be between 1 and 1000"));
        }
        let base = &crate::url::parse_base_url(base_url.unwrap_or(DEFAULT_BASE_URL))?;
        let http = Http::new(PROVIDER, cfg)?;
        Ok(Client {
            token_http: http.sibling(),
            http,
            auth: Auth::new(creds, base)?,
            base: base.to_string(),
            page_size,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// One request with token handling: a rejected token is renewed once.
    async fn page(
        &self,
        req: &Request,
        win: (NaiveDate, NaiveDate),
        start_index: i64,
    ) -> Result<Page> {
        let report = &req.report;
        let url = format!("{}/rest/2.0/smartapp/data/{}", self.base, report.endpoint());
        let mut params: Vec<(&'static str, String)> = vec![
            ("start_date", win.0.format("%Y%m%d").to_string()),
            ("end_date", win.1.format("%Y%m%d").to_string()),
        ];
        if report.paged() {
            params.push(("start_index", start_index.to_string()));
            // only the TP totals take a page size; the analysis endpoints
            // page at the service's fixed size
            if let Some(key) = report.page_size_param() {
                params.push((key, self.page_size.to_string()));
            }
        }
        params.extend(report.params());
        let day = (report.gran() == Some(Gran::Hour)).then_some(win.0);
        let what = format!("{} offset {start_index}", report.endpoint());
        let mut renewed = false;
        loop {
            let token = self.auth.token(&self.token_http).await?;
            let res = self
                .http
                .call(
                    &what,
                    |c| {
                        let q = [("access_token", token.as_str())];
                        Ok(if report.is_get() {
                            c.get(&url).query(&q).query(&params)
                        } else {
                            c.post(&url).query(&q).form(&params)
                        })
                    },
                    |reply: Reply| {
                        let text = std::str::from_utf8(&reply.body)
                            .map_err(|e| Error::malformed(PROVIDER, report.endpoint(), e))?;
                        parse::parse_page(report, text, day)
                    },
                )
                .await;
            match res {
                Err(Error::Auth {
                    renewable: true, ..
                }) if !renewed && self.auth.invalidate(&token).await => {
                    log::debug!("baidu: token rejected, renewing");
                    renewed = true;
                }
                other => return other,
            }
        }
    }

    /// Whether `p`, asked for at `start_index`, is the page a report of
    /// `total` rows paged by `step` must have there; else why not.
    fn page_problem(p: &Page, start_index: i64, total: i64, step: i64) -> Option<String> {
        let expect = (total - start_index).min(step).max(0) as usize;
        if p.offset.is_some_and(|o| o != start_index) {
            Some(format!(
                "asked for offset {start_index}, got the page at offset {}",
                p.offset.unwrap_or_default()
            ))
        } else if p.total.is_some_and(|t| t != total) {
            Some(format!(
                "total changed from {total} to {} while paging",
                p.total.unwrap_or_default()
            ))
        } else if p.items != expect {
            Some(format!(
                "page at offset {start_index} has {} rows, expected {expect} of {total}",
                p.items
            ))
        } else {
            None
        }
    }

    /// The page at `start_index` of a report of `total` rows paged by
    /// `step`; `fetched` (a reply already in hand) is used when it is that
    /// page, else the page is fetched again until it is (or
    /// [`PAGE_REFETCHES`] attempts failed).
    async fn checked_page(
        &self,
        req: &Request,
        win: (NaiveDate, NaiveDate),
        start_index: i64,
        total: i64,
        step: i64,
        mut fetched: Option<Page>,
    ) -> Result<Page> {
        let mut problem = String::new();
        for attempt in 0..=PAGE_REFETCHES {
            let p = match fetched.take() {
                Some(p) => p,
                None if attempt == 0 => continue,
                None => self.page(req, win, start_index).await?,
            };
            match Self::page_problem(&p, start_index, total, step) {
                None => return Ok(p),
                Some(pr) => problem = pr,
            }
            log::warn!(
                "baidu {}: {problem}{}",
                req.report.endpoint(),
                if attempt < PAGE_REFETCHES {
                    "; fetching the page again"
                } else {
                    ""
                }
            );
        }
        Err(Error::incomplete(
            PROVIDER,
            req.report.endpoint(),
            format!(
                "{problem} for {} – {}; refetching did not help",
                win.0, win.1
            ),
        ))
    }

    /// One request window: the first page, then every other page
    /// (concurrently), each checked against `total` and the reply's
    /// `offset`, appended in order as they arrive. A page that fails for
    /// good cancels the rest at once; its error keeps its class and says
    /// which rows are missing.
    async fn window(
        &self,
        req: &Request,
        win: (NaiveDate, NaiveDate),
        progress: &Progress,
    ) -> Result<Part> {
        let report = &req.report;
        let page = |o: i64| async move {
            let p = self.page(req, win, o).await;
            progress.advance(1);
            p
        };
        if !report.paged() {
            return Ok(Part::new(page(0).await?));
        }
        // analysis endpoints take no page size: the service pages at 20 rows
        let size = i64::from(report.page_rows(self.page_size));
        // Pages known to be needed before the first reply arrives (an
        // hourly day has 24 rows: two pages of 20) go out with it.
        let ahead: Vec<i64> = expected_rows(report, win)
            .map_or_else(Vec::new, |n| (size..n).step_by(size as usize).collect());
        progress.add_total(ahead.len() as u64);
        let (first, early) = futures::try_join!(page(0), async {
            try_all(ahead.iter().map(|&o| page(o)).collect(), ahead.len().max(1))
                .await
                .map_err(|f| f.error)
        })?;
        let total = first.total.ok_or_else(|| {
            Error::malformed(PROVIDER, report.endpoint(), "reply has no data.total")
        })?;
        if total < 0 {
            return Err(Error::malformed(
                PROVIDER,
                report.endpoint(),
                "negative total",
            ));
        }
        // The service pages by `page_size` rows; a first page with more
        // rows than that shows it pages by more: step by what it returned.
        let step = if first.items as i64 > size && first.items as i64 <= total {
            first.items as i64
        } else {
            size
        };
        let first = self
            .checked_page(req, win, 0, total, step, Some(first))
            .await
            .map_err(|e| missing_rows(e, win, 0, 0, total))?;
        let mut early: BTreeMap<i64, Page> = if step == size {
            ahead.into_iter().zip(early).collect()
        } else {
            BTreeMap::new()
        };
        let plan: Vec<(i64, Option<Page>)> = (step..total)
            .step_by(step as usize)
            .map(|o| (o, early.remove(&o)))
            .collect();
        progress.add_total(plan.iter().filter(|(_, p)| p.is_none()).count() as u64);
        let offsets: Vec<i64> = plan.iter().map(|(o, _)| *o).collect();
        let futs = plan.into_iter().map(|(o, fetched)| async move {
            let fresh = fetched.is_none();
            let p = self.checked_page(req, win, o, total, step, fetched).await;
            if fresh {
                progress.advance(1);
            }
            p
        });
        let mut part = Part::new(first);
        part.reserve_for(total);
        let limit = self.http.config().concurrency * 2;
        if let Err(f) = run_in_order(futs.collect(), limit, |_, p| {
            part.push(p);
            Ok(())
        })
        .await
        {
            return Err(missing_rows(
                f.error,
                win,
                offsets[f.delivered],
                offsets[f.index],
                total,
            ));
        }
        if part.items as i64 != total {
            return Err(Error::incomplete(
                PROVIDER,
                report.endpoint(),
                format!(
                    "got {} rows, data.total says {total} ({} – {})",
                    part.items, win.0, win.1
                ),
            ));
        }
        Ok(part)
    }

    /// Fetch a whole report: every window, every page, checked. Windows
    /// (hourly days) run concurrently; the first one that fails for good
    /// cancels the others.
    pub async fn fetch(&self, req: &Request, progress: &Progress) -> Result<ReportFrame> {
        let windows = req.windows();
        progress.add_total(windows.len() as u64);
        let futs = windows.iter().map(|&w| self.window(req, w, progress));
        let mut parts = Vec::with_capacity(windows.len());
        let limit = self.http.config().concurrency;
        if let Err(f) = run_in_order(futs.collect(), limit, |i, part| {
            parts.push((windows[i], part));
            Ok(())
        })
        .await
        {
            if windows.len() == 1 {
                return Err(f.error);
            }
            let (w, first, last) = (
                windows[f.index],
                windows[f.delivered],
                windows[windows.len() - 1],
            );
            return Err(f.error.context(format!(
                "{} of {} days not fetched ({} – {}); {} failed",
                windows.len() - f.delivered,
                windows.len(),
                first.0,
                last.1,
                w.0
            )));
        }
        assemble(&req.report, parts)
    }
}

/// Rows known to be in a window before it is fetched: an hourly day has 24.
fn expected_rows(report: &Report, win: (NaiveDate, NaiveDate)) -> Option<i64> {
    match report.gran() {
        Some(Gran::Hour) => Some(24 * ((win.1 - win.0).num_days() + 1)),
        _ => None,
    }
}

/// Say which rows a window lacks because the page at `failed` failed
/// (rows from `from` on were not delivered); the class stays the cause's.
fn missing_rows(
    e: Error,
    win: (NaiveDate, NaiveDate),
    from: i64,
    failed: i64,
    total: i64,
) -> Error {
    e.context(format!(
        "rows {}–{total} of {total} ({} – {}) not fetched; the page at offset {failed} failed",
        from + 1,
        win.0,
        win.1
    ))
}

/// Parse a saved reply of `endpoint` (endpoint or report name) into the
/// report's frame, as `fetch` would have built it from that one page.
pub fn parse_saved(
    endpoint: &str,
    text: &str,
    opts: &HashMap<String, String>,
) -> Result<ReportFrame> {
    let report = Report::from_endpoint(endpoint, opts)?;
    let page = parse::parse_page(&report, text, None)?;
    let day = NaiveDate::default();
    assemble(&report, vec![((day, day), Part::new(page))])
}

#[cfg(test)]
mod tests;
