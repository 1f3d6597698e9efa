//! Baidu smart program data API client.

pub mod auth;
pub mod endpoints;
pub mod parse;

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::http::{bounded, Http, HttpConfig, Progress, Reply};
use crate::table::{Kind, TableBuilder};
pub use auth::{Auth, Credentials};
pub use endpoints::{Gran, Level, Report, Shape};
use parse::{Page, PROVIDER};

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
        Ok(Client {
            http: Http::new(PROVIDER, cfg)?,
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
            let token = self.auth.token(&self.http).await?;
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

    /// A page that must hold rows `start_index..start_index+expect` of a
    /// report of `total` rows; refetched when the reply disagrees.
    async fn checked_page(
        &self,
        req: &Request,
        win: (NaiveDate, NaiveDate),
        start_index: i64,
        total: i64,
    ) -> Result<Page> {
        let page_rows = i64::from(req.report.page_rows(self.page_size));
        let expect = (total - start_index).min(page_rows).max(0) as usize;
        let mut problem = String::new();
        for attempt in 1..=PAGE_REFETCHES {
            let p = self.page(req, win, start_index).await?;
            problem = if p.offset.is_some_and(|o| o != start_index) {
                format!(
                    "asked for offset {start_index}, got the page at offset {}",
                    p.offset.unwrap_or_default()
                )
            } else if p.total.is_some_and(|t| t != total) {
                format!(
                    "total changed from {total} to {} while paging",
                    p.total.unwrap_or_default()
                )
            } else if p.items != expect {
                format!(
                    "page at offset {start_index} has {} rows, expected {expect} of {total}",
                    p.items
                )
            } else {
                return Ok(p);
            };
            log::warn!(
                "baidu {}: {problem} (attempt {attempt} of {PAGE_REFETCHES})",
                req.report.endpoint()
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

    async fn window(
        &self,
        req: &Request,
        win: (NaiveDate, NaiveDate),
        progress: &Progress,
    ) -> Result<Vec<Page>> {
        let first = self.page(req, win, 0).await?;
        if !req.report.paged() {
            progress.advance(1);
            return Ok(vec![first]);
        }
        let total = first.total.ok_or_else(|| {
            Error::malformed(PROVIDER, req.report.endpoint(), "reply has no data.total")
        })?;
        if total < 0 {
            return Err(Error::malformed(
                PROVIDER,
                req.report.endpoint(),
                "negative total",
            ));
        }
        let page_rows = i64::from(req.report.page_rows(self.page_size));
        let first =
            if first.items as i64 != total.min(page_rows) || first.offset.is_some_and(|o| o != 0) {
                self.checked_page(req, win, 0, total).await?
            } else {
                first
            };
        let offsets: Vec<i64> = (page_rows..total).step_by(page_rows as usize).collect();
        progress.add_total(offsets.len() as u64);
        progress.advance(1);
        let futs = offsets.iter().map(|&o| async move {
            let p = self.checked_page(req, win, o, total).await;
            progress.advance(1);
            p
        });
        let rest = bounded(futs.collect(), self.http.config().concurrency * 2).await;
        let mut pages = Vec::with_capacity(rest.len() + 1);
        pages.push(first);
        for (p, &offset) in rest.into_iter().zip(&offsets) {
            match p {
                Ok(p) => pages.push(p),
                // A page that kept failing after the first page came back:
                // say which rows are missing (the cause stays in the message).
                Err(e) if e.retryable() => {
                    let last = (offset + page_rows).min(total);
                    return Err(Error::incomplete(
                        PROVIDER,
                        req.report.endpoint(),
                        format!(
                            "the page at offset {offset} (rows {}–{last} of {total}, {} – {}) could not be fetched: {e}",
                            offset + 1,
                            win.0,
                            win.1
                        ),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        let got: usize = pages.iter().map(|p| p.items).sum();
        if got as i64 != total {
            return Err(Error::incomplete(
                PROVIDER,
                req.report.endpoint(),
                format!(
                    "got {got} rows, data.total says {total} ({} – {})",
                    win.0, win.1
                ),
            ));
        }
        Ok(pages)
    }

    /// Fetch a whole report: every window, every page, checked.
    pub async fn fetch(&self, req: &Request, progress: &Progress) -> Result<ReportFrame> {
        let windows = req.windows();
        progress.add_total(windows.len() as u64);
        let futs = windows.iter().map(|&w| self.window(req, w, progress));
        let results = bounded(futs.collect(), self.http.config().concurrency).await;
        let mut pages: Vec<((NaiveDate, NaiveDate), Vec<Page>)> = vec![];
        for (w, r) in windows.into_iter().zip(results) {
            pages.push((w, r?));
        }
        assemble(&req.report, pages)
    }
}

/// Concatenate pages into the report's frames.
pub fn assemble(
    report: &Report,
    pages: Vec<((NaiveDate, NaiveDate), Vec<Page>)>,
) -> Result<ReportFrame> {
    let schema = parse::schema(report);
    let long_schema = match report {
        Report::Retention {
            gran, report_type, ..
        } => parse::schema(&Report::Retention {
            gran: *gran,
            report_type: *report_type,
            shape: Shape::Long,
        }),
        Report::Source { .. } => parse::schema(&Report::Source {
            level: Level::Scene,
        }),
        _ => schema.clone(),
    };
    let mut table = TableBuilder::new(&long_schema);
    let mut groups = TableBuilder::new(&parse::schema(&Report::Source {
        level: Level::Group,
    }));
    // one summary row per window: its dates and the `sum` block
    let mut sum_spec: Vec<(String, Kind)> = vec![
        ("start_date".into(), Kind::Date),
        ("end_date".into(), Kind::Date),
    ];
    sum_spec.extend(
        parse::metric_fields(report)
            .iter()
            .map(|(n, k)| (n.to_string(), *k)),
    );
    let mut summary = TableBuilder::new(&sum_spec);
    let mut time_span = None;
    let mut total: Option<i64> = None;
    for ((ws, we), window) in pages {
        for (i, p) in window.into_iter().enumerate() {
            if i == 0 {
                time_span = span_union(time_span, p.time_span.as_deref());
                if let Some(t) = p.total {
                    total = Some(total.unwrap_or(0) + t);
                }
                let mut row = TableBuilder::new(&sum_spec[..2]);
                row.col(0).push_date(Some(ws));
                row.col(1).push_date(Some(we));
                row.end_row();
                summary.append(match p.sum {
                    Some(sum) => merge_side(row, sum),
                    None => row,
                });
            }
            table.append(p.table);
            if let Some(g) = p.groups {
                groups.append(g);
            }
        }
    }
    // Baidu lists periods newest first; every frame is oldest first.
    match report {
        Report::UserTrend { .. } | Report::ActivityUser | Report::TpData { .. } => {
            table.sort_by(&[0])
        }
        Report::Retention { .. } => table.sort_by(&[0, 3]),
        _ => {}
    }
    let polars = |e: polars::error::PolarsError| Error::Internal(format!("building frame: {e}"));
    let groups = match report {
        Report::Source { .. } => Some(groups.finish().map_err(polars)?),
        _ => None,
    };
    let data = match (report, &groups) {
        (
            Report::Retention {
                gran,
                report_type,
                shape: Shape::Wide,
            },
            _,
        ) => parse::retention_wide(
            &table,
            *gran,
            *report_type == endpoints::RetentionType::Ratio,
        )
        .finish()
        .map_err(polars)?,
        (
            Report::Source {
                level: Level::Group,
            },
            Some(g),
        ) => g.clone(),
        _ => table.finish().map_err(polars)?,
    };
    let summary = summary.finish().map_err(polars)?;
    Ok(ReportFrame {
        data,
        summary,
        groups,
        time_span,
        total,
    })
}

/// The `time_span` label over windows in date order: `"A - B"` and
/// `"C - D"` give `"A - D"` (hourly data is fetched one day per window).
fn span_union(acc: Option<String>, next: Option<&str>) -> Option<String> {
    match (acc, next) {
        (Some(a), Some(n)) => match (a.split_once(" - "), n.split_once(" - ")) {
            (Some((first, _)), Some((_, last))) => Some(format!("{first} - {last}")),
            _ if a == n => Some(a),
            _ => Some(format!("{a}, {n}")),
        },
        (a, n) => a.or_else(|| n.map(str::to_string)),
    }
}

/// Place the columns of one-row `b` beside one-row `a`.
fn merge_side(a: TableBuilder, b: TableBuilder) -> TableBuilder {
    let mut cols = vec![];
    for t in [&a, &b] {
        for (i, n) in t.names().iter().enumerate() {
            cols.push((n.clone(), t.col_ref(i).clone()));
        }
    }
    TableBuilder::from_columns(cols, 1)
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
    assemble(&report, vec![((day, day), vec![page])])
}

#[cfg(test)]
mod tests;
