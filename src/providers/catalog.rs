//! The one catalog of reports: every provider's report names, endpoints,
//! options with their allowed values, the fixed schema a report has for
//! given options, and what its rows are (a daily series, a distribution
//! over the range, retention cohorts with their horizons), how far back the
//! provider serves it and what a day of it costs. The CLI, the sync's
//! catalog, Spark's schemas and the docs are built from it (through
//! `_native.report_catalog` / `_native.report_schema`); the providers' own
//! validation (`Report::from_args`) stays the judge of what is accepted,
//! and a test ties the two together. Each fact is read from where the
//! provider defines it (its option lists, its schemas, its constants).

use std::collections::HashMap;

use polars::prelude::{DataFrame, DataType};

use crate::error::{Error, Result};
use crate::providers::{baidu, many, mta, tim};

/// One option of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOption {
    pub name: &'static str,
    /// The values it takes (empty: free-form, see `doc`).
    pub values: Vec<&'static str>,
    /// Its default when not given, if it has one.
    pub default: Option<&'static str>,
    pub doc: &'static str,
    /// The frame's column that holds the chosen value in every row, so the
    /// rows of several values can stand in one table (terminal types, crash
    /// dimensions, ...); `None` for other options.
    pub column: Option<&'static str>,
}

/// What a report's rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Keyed by day (or by the period of `gran`): each day's numbers stand
    /// on their own, so a range can be fetched in pieces.
    Daily,
    /// Numbers over the requested range (shares of regions, terminals,
    /// pages, ...): a user active on several days counts once, so they
    /// cannot be added up across days; fetched one day per request
    /// (`fetch_many`'s `per_day`), each row is that day's.
    Distribution,
    /// Cohort rows keyed by the cohort's first day, which keep filling
    /// until the cohort's horizon (see [`Cohort`]).
    Retention,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::Distribution => "distribution",
            Kind::Retention => "retention",
        }
    }
}

/// A cohort period of a retention report, and when its numbers are final.
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    /// The options that choose this period (empty: the report has one).
    pub options: Vec<(&'static str, &'static str)>,
    /// `day`, `week` (cohorts start on Mondays) or `month` (on the 1st).
    pub period: &'static str,
    /// Days from a cohort's first day through the last day its retention
    /// counts, at most: its numbers are final after them.
    pub horizon_days: u32,
}

/// One report of one provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInfo {
    pub provider: &'static str,
    pub name: &'static str,
    /// The API endpoint (Baidu: its name; MTA: its path; IM: `getappinfo`).
    pub endpoint: &'static str,
    pub description: &'static str,
    /// Whether the report takes a date range (`realtime` and IM's
    /// `app_info` do not: today / the last 30 days).
    pub dated: bool,
    pub options: Vec<ReportOption>,
    pub kind: Kind,
    /// The column holding each row's day with the default options: the
    /// report's own (its schema's date column: `date`, `cohort_date`;
    /// `user_trend` by hours or weeks has others), or for a distribution
    /// the one a per-day fetch adds ([`many::DAY_COLUMN`]).
    pub day_column: String,
    /// A retention report's cohort periods (empty for the others).
    pub cohorts: Vec<Cohort>,
    /// The provider serves only this many days back (`None`: no known
    /// limit).
    pub history_days: Option<u32>,
    /// Requests one day fetched on its own usually costs (an estimate for
    /// planning: pages of a paged endpoint).
    pub pages_per_day: u32,
    /// The columns that identify a row beside the day column and a sliced
    /// option's column (empty: one row per day; `None`: no natural key,
    /// e.g. Baidu's source rows, whose scenes repeat within a day).
    pub row_key: Option<Vec<&'static str>>,
}

fn opt(
    name: &'static str,
    values: &[&'static str],
    default: Option<&'static str>,
    doc: &'static str,
) -> ReportOption {
    ReportOption {
        name,
        values: values.to_vec(),
        default,
        doc,
        column: None,
    }
}

/// An option whose value the frame holds in `column` (see
/// [`ReportOption::column`]).
fn sliced(
    name: &'static str,
    values: &[&'static str],
    default: &'static str,
    doc: &'static str,
    column: &'static str,
) -> ReportOption {
    ReportOption {
        column: Some(column),
        ..opt(name, values, Some(default), doc)
    }
}

fn grans(g: &[baidu::Gran]) -> Vec<&'static str> {
    g.iter().map(|g| g.as_str()).collect()
}

fn free(name: &'static str, doc: &'static str) -> ReportOption {
    opt(name, &[], None, doc)
}

fn baidu_options(name: &str) -> Vec<ReportOption> {
    let tp_metrics: Vec<&'static str> = baidu::endpoints::TP_METRICS
        .iter()
        .map(|(m, _)| *m)
        .collect();
    match name {
        "user_trend" => vec![opt(
            "gran",
            &grans(baidu::endpoints::TREND_GRANS),
            Some("day"),
            "granularity",
        )],
        "retention" => vec![
            opt(
                "gran",
                &grans(baidu::endpoints::RETENTION_GRANS),
                Some("day"),
                "cohort period",
            ),
            opt(
                "report_type",
                baidu::endpoints::REPORT_TYPES,
                Some("count"),
                "users or percents",
            ),
            opt(
                "shape",
                &["long", "wide"],
                Some("long"),
                "one row per cohort and period, or per cohort",
            ),
        ],
        "terminal" => vec![sliced(
            "terminal_type",
            baidu::endpoints::TERMINAL_TYPES,
            "terminal_os",
            "terminal dimension (also without the terminal_ prefix: os)",
            "terminal_type",
        )],
        "visit_character" => vec![sliced(
            "character_type",
            baidu::endpoints::CHARACTER_TYPES,
            "depth",
            "visit habit",
            "character_type",
        )],
        "source" => vec![opt(
            "level",
            &["scene", "group"],
            Some("scene"),
            "one row per scene, or per group",
        )],
        "tp_data" => vec![
            free(
                "scene",
                "a source/scene id (an integer); omitted: all scenes' totals",
            ),
            ReportOption {
                values: tp_metrics,
                ..free("metrics", "comma-separated; default all")
            },
            opt(
                "tp_endpoint",
                baidu::endpoints::TP_ENDPOINTS,
                Some("gettpdata"),
                "the SDKs' gettpdata or the document's getdata (needs scene)",
            ),
        ],
        _ => vec![],
    }
}

fn baidu_row_key(name: &str) -> Option<Vec<&'static str>> {
    Some(match name {
        "retention" => vec!["period"],
        "visit_attribute" => vec!["attribute", "attribute_id"],
        "region" => vec!["region"],
        "terminal" => vec!["terminal"],
        "visit_page" => vec!["page_id"],
        "visit_character" => vec!["bucket"],
        "source" => return None,
        _ => vec![],
    })
}

fn mta_row_key(kind: mta::ReportKind) -> Option<Vec<&'static str>> {
    use mta::ReportKind as K;
    Some(match kind {
        K::Retention => vec!["period"],
        K::Frequency => vec!["bucket"],
        K::Terminal => vec!["terminal"],
        K::CrashEnv => vec!["value"],
        K::ErrorList => vec!["rank"],
        K::UserBasic | K::Realtime | K::ActiveUsers | K::Usage | K::Crash => vec![],
    })
}

fn baidu_description(name: &str) -> &'static str {
    match name {
        "user_trend" => "new/old users, sessions, durations",
        "activity_user" => "DAU/WAU/MAU, activity degrees, lost users",
        "retention" => "cohort retention (第N天 keys)",
        "visit_attribute" => "age / sex / interest shares",
        "region" => "users and sessions by region",
        "terminal" => "terminals",
        "visit_page" => "page views, stay time, bounce",
        "visit_character" => "visit habits",
        "source" => "sources: one row per (group, scene)",
        "tp_data" => "third-party platform totals",
        _ => "",
    }
}

fn mta_options(kind: mta::ReportKind, metrics: &[mta::Metric]) -> Vec<ReportOption> {
    use mta::ReportKind as K;
    let names: Vec<&'static str> = metrics.iter().map(|m| m.name).collect();
    let mut out = vec![ReportOption {
        values: names,
        ..free(
            "metrics",
            "names or metric ids, comma-separated; default all",
        )
    }];
    out.push(free("version", "app version filter"));
    out.push(free("channel", "channel filter"));
    match kind {
        K::Terminal => out.push(sliced(
            "terminal_type",
            mta::endpoints::TERMINAL_TYPES,
            "os",
            "terminal dimension (or 1..5)",
            "terminal_type",
        )),
        K::CrashEnv => out.push(sliced(
            "dimension",
            mta::endpoints::CRASH_DIMENSIONS,
            "app_version",
            "crash dimension (or 1..3)",
            "dimension",
        )),
        K::ErrorList => out.push(free("err_ty", "error type (an integer)")),
        K::Retention => {
            out.push(opt(
                "shape",
                &["long", "wide"],
                Some("long"),
                "one row per cohort and period, or per cohort",
            ));
            out.push(opt(
                "cohort_size",
                &["true", "false"],
                Some("true"),
                "fill cohort_size from user_basic's new users (one more request per window)",
            ));
        }
        _ => {}
    }
    if kind.date_keyed() {
        out.push(opt(
            "missing_days",
            &mta::MissingDays::NAMES,
            Some("null"),
            "a day MTA omits: a row of nulls, of zeros, or an error",
        ));
    }
    out
}

fn mta_description(kind: mta::ReportKind) -> &'static str {
    use mta::ReportKind as K;
    match kind {
        K::UserBasic => "new/active users, sessions (offline)",
        K::Realtime => "today's user basics (no dates)",
        K::ActiveUsers => "DAU/WAU/MAU",
        K::Terminal => "terminal tops",
        K::Usage => "time/pages per user and session",
        K::Frequency => "use-frequency distribution",
        K::Crash => "errors and affected users",
        K::CrashEnv => "crash environments",
        K::ErrorList => "top-100 errors",
        K::Retention => "day-N returning users",
    }
}

/// A report's kind and day column, read from its schema with the default
/// options: a report whose rows carry a date is keyed by it (a retention
/// report by its cohorts' first days); one without is a distribution over
/// the range, its day the one a per-day fetch adds.
fn kind_and_day(provider: &str, name: &str, retention: bool) -> (Kind, String) {
    let day = report_schema(provider, name, &HashMap::new())
        .ok()
        .and_then(|df| {
            df.columns()
                .iter()
                .find(|c| c.dtype() == &DataType::Date)
                .map(|c| c.name().to_string())
        });
    match day {
        Some(day) if retention => (Kind::Retention, day),
        Some(day) => (Kind::Daily, day),
        None => (Kind::Distribution, many::DAY_COLUMN.to_string()),
    }
}

/// Every report of every provider, in documentation order.
pub fn reports() -> Vec<ReportInfo> {
    let mut out = vec![];
    for (name, endpoint) in baidu::endpoints::REPORTS {
        let report = baidu::Report::from_args(name, &HashMap::new()).ok();
        let retention = matches!(report, Some(baidu::Report::Retention { .. }));
        let (kind, day_column) = kind_and_day("baidu", name, retention);
        let cohorts = if retention {
            baidu::endpoints::RETENTION_GRANS
                .iter()
                .map(|g| Cohort {
                    options: vec![("gran", g.as_str())],
                    period: g.as_str(),
                    horizon_days: g.retention_horizon_days(),
                })
                .collect()
        } else {
            vec![]
        };
        out.push(ReportInfo {
            provider: "baidu",
            name,
            endpoint,
            description: baidu_description(name),
            dated: true,
            options: baidu_options(name),
            kind,
            day_column,
            cohorts,
            history_days: None,
            pages_per_day: report.as_ref().map_or(1, baidu::Report::pages_per_day),
            row_key: baidu_row_key(name),
        });
    }
    for (name, path, metrics, rk) in mta::REPORTS {
        let retention = *rk == mta::ReportKind::Retention;
        let (kind, day_column) = kind_and_day("mta", name, retention);
        let cohorts = if retention {
            vec![Cohort {
                options: vec![],
                period: "day",
                horizon_days: mta::endpoints::retention_horizon_days(),
            }]
        } else {
            vec![]
        };
        out.push(ReportInfo {
            provider: "mta",
            name,
            endpoint: path,
            description: mta_description(*rk),
            dated: *rk != mta::ReportKind::Realtime,
            options: mta_options(*rk, metrics),
            kind,
            day_column,
            cohorts,
            history_days: None,
            // a day (or a window) is one request: MTA does not page
            pages_per_day: 1,
            row_key: mta_row_key(*rk),
        });
    }
    let (kind, day_column) = kind_and_day("tim", "app_info", false);
    out.push(ReportInfo {
        provider: "tim",
        name: "app_info",
        endpoint: "getappinfo",
        description: "30 days of operations data (no dates)",
        dated: false,
        options: vec![ReportOption {
            values: tim::FIELDS.iter().map(|(o, _, _)| *o).collect(),
            ..free(
                "fields",
                "original or snake_case names, comma-separated; default all",
            )
        }],
        kind,
        day_column,
        cohorts: vec![],
        history_days: Some(tim::WINDOW_DAYS as u32),
        // one call answers the whole window
        pages_per_day: 1,
        row_key: Some(vec![]),
    });
    out
}

/// The frame a report returns for `options`, with no rows: its fixed
/// schema (columns and dtypes), after the provider validated the options.
/// Baidu's wide retention has one column per period present in a reply,
/// so it has no fixed schema: an error says so.
pub fn report_schema(
    provider: &str,
    report: &str,
    options: &HashMap<String, String>,
) -> Result<DataFrame> {
    match provider {
        "baidu" => {
            let r = baidu::Report::from_args(report, options)?;
            if matches!(
                r,
                baidu::Report::Retention {
                    shape: baidu::endpoints::Shape::Wide,
                    ..
                }
            ) {
                return Err(Error::invalid(
                    "Baidu's wide retention has one column per period present in the reply: \
                     it has no fixed schema (use shape=long)",
                ));
            }
            const EMPTY: &str = r#"{"errno":0,"data":{"offset":0,"total":0,"data_list":[]}}"#;
            Ok(baidu::parse_saved(r.endpoint(), EMPTY, options)?.data)
        }
        "mta" => {
            // validated as a request would be (a range is not needed to
            // know the schema: any valid one will do)
            let realtime = report == "realtime";
            let day = if realtime { "" } else { "2024-01-01" };
            mta::Request::new(report, day, day, options)?;
            let mut opts = options.clone();
            opts.remove("missing_days");
            opts.remove("cohort_size");
            const EMPTY: &str = r#"{"ret_code":60000,"ret_msg":"ok","ret_data":[]}"#;
            mta::parse_saved(report, EMPTY, &opts)
        }
        "tim" => {
            if report != "app_info" {
                return Err(Error::invalid(format!(
                    "unknown tim report {report:?}; valid: app_info"
                )));
            }
            if let Some(k) = options.keys().find(|k| *k != "fields") {
                return Err(Error::invalid(format!(
                    "unknown tim app_info option {k:?}; valid: fields"
                )));
            }
            let fields: Option<Vec<String>> = options
                .get("fields")
                .map(|f| f.split(',').map(|s| s.trim().to_string()).collect());
            let sel = tim::parse::select(fields.as_deref())?;
            const EMPTY: &str = r#"{"ErrorCode":0,"ErrorInfo":"OK","Result":[]}"#;
            let all = tim::parse_saved(EMPTY)?;
            let names: Vec<&str> = tim::parse::schema(&sel)
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            all.select(names)
                .map_err(|e| Error::Internal(format!("tim schema: {e}")))
        }
        other => Err(Error::invalid(format!(
            "unknown provider {other:?}; valid: baidu, mta, tim"
        ))),
    }
}

#[cfg(test)]
mod tests;
