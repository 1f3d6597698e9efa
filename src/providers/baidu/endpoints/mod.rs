//! Baidu reports: names, parameters, validation and output schemas.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::table::Kind;

/// Longest date range appstats requests in one report (days, inclusive).
pub const MAX_SPAN_DAYS: i64 = 366;
/// Longest range for hourly data (fetched one day per request).
pub const MAX_HOUR_SPAN_DAYS: i64 = 31;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gran {
    Hour,
    Day,
    Week,
    Month,
}

impl Gran {
    pub fn parse(s: &str, allowed: &[Gran]) -> Result<Gran> {
        let g = match s {
            "hour" => Gran::Hour,
            "day" => Gran::Day,
            "week" => Gran::Week,
            "month" => Gran::Month,
            _ => None.ok_or_else(|| bad_choice("gran", s, allowed.iter().map(|g| g.as_str())))?,
        };
        if allowed.contains(&g) {
            Ok(g)
        } else {
            Err(bad_choice("gran", s, allowed.iter().map(|g| g.as_str())))
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Gran::Hour => "hour",
            Gran::Day => "day",
            Gran::Week => "week",
            Gran::Month => "month",
        }
    }

    /// The periods Baidu reports a cohort of this granularity for,
    /// counting the cohort's own period as the first: `第2天`…`第30天`,
    /// `第2周`…`第9周`, `第2月`…`第9月` (0 for hours: no cohorts).
    pub fn retention_periods(self) -> u32 {
        match self {
            Gran::Hour => 0,
            Gran::Day => 30,
            Gran::Week | Gran::Month => 9,
        }
    }

    /// The most days one period spans (a month: 31).
    pub fn max_days(self) -> u32 {
        match self {
            Gran::Hour | Gran::Day => 1,
            Gran::Week => 7,
            Gran::Month => 31,
        }
    }

    /// Days from a cohort's first day through the last day its retention
    /// counts, at most: its numbers are final after them.
    pub fn retention_horizon_days(self) -> u32 {
        self.retention_periods() * self.max_days()
    }

    /// Prefix of wide retention columns (`d2`, `w2`, `m2`).
    pub fn wide_prefix(self) -> &'static str {
        match self {
            Gran::Hour => "h",
            Gran::Day => "d",
            Gran::Week => "w",
            Gran::Month => "m",
        }
    }
}

pub use crate::providers::common::{bad_choice, parse_user_date};

/// Granularities of `user_trend`.
pub const TREND_GRANS: &[Gran] = &[Gran::Hour, Gran::Day, Gran::Week, Gran::Month];
/// Cohort periods of `retention`.
pub const RETENTION_GRANS: &[Gran] = &[Gran::Day, Gran::Week, Gran::Month];

pub const TERMINAL_TYPES: &[&str] = &[
    "terminal_brand",
    "terminal_device",
    "terminal_os",
    "terminal_screen",
    "terminal_network",
];
pub const CHARACTER_TYPES: &[&str] = &["depth", "time", "interval", "frequency"];
pub const REPORT_TYPES: &[&str] = &["count", "ratio"];
pub const ATTRIBUTES: &[&str] = &["age", "sex", "interest"];

/// TP platform metrics of `getdata`, with their column types.
pub const TP_METRICS: &[(&str, Kind)] = &[
    ("tp_day_app_count", Kind::Int),
    ("tp_week_app_count", Kind::Int),
    ("tp_month_app_count", Kind::Int),
    ("tp_day_user_count", Kind::Int),
    ("tp_week_user_count", Kind::Int),
    ("tp_month_user_count", Kind::Int),
    ("tp_day_new_user_count", Kind::Int),
    ("tp_week_new_user_count", Kind::Int),
    ("tp_month_new_user_count", Kind::Int),
    ("tp_day_session_count", Kind::Int),
    ("tp_week_session_count", Kind::Int),
    ("tp_month_session_count", Kind::Int),
    ("tp_day_page_count", Kind::Int),
    ("tp_activity_degree", Kind::Float),
    ("tp_session_count_per_person", Kind::Float),
    ("tp_session_count_per_day", Kind::Float),
    ("tp_session_time_per_person", Kind::Float),
    ("tp_session_time_per_day", Kind::Float),
    ("tp_day_share_count", Kind::Int),
    ("tp_day_feedback_count", Kind::Int),
    ("tp_day_back_flow_count", Kind::Int),
];

pub const USER_TREND: &[(&str, Kind)] = &[
    ("new_user_count", Kind::Int),
    ("new_user_ratio", Kind::Float),
    ("old_user_count", Kind::Int),
    ("old_user_ratio", Kind::Float),
    ("user_count", Kind::Int),
    ("session_count", Kind::Int),
    ("average_session_time", Kind::Float),
    ("session_time_per_person", Kind::Float),
];

pub const ACTIVITY: &[(&str, Kind)] = &[
    ("user_count", Kind::Int),
    ("daily_activity_degree", Kind::Float),
    ("day_month_activity_degree", Kind::Float),
    ("weekly_user_count", Kind::Int),
    ("weekly_activity_degree", Kind::Float),
    ("monthly_user_count", Kind::Int),
    ("monthly_activity_degree", Kind::Float),
    ("lost_user_count", Kind::Int),
    ("lost_ratio", Kind::Float),
    ("accumulative_user_count", Kind::Int),
];

pub const REGION: &[(&str, Kind)] = &[
    ("session_count_district", Kind::Int),
    ("session_count_district_ratio", Kind::Float),
    ("new_user_count_district_ratio", Kind::Float),
    ("user_count_district_ratio", Kind::Float),
    ("average_session_time_district", Kind::Float),
];

pub const TERMINAL: &[(&str, Kind)] = &[
    ("accumulative_session_count", Kind::Int),
    ("accumulative_session_count_ratio", Kind::Float),
    ("accumulative_new_user_count_ratio", Kind::Float),
    ("accumulative_user_count_ratio", Kind::Float),
    ("average_use_time", Kind::Float),
];

pub const PAGE: &[(&str, Kind)] = &[
    ("pv_count", Kind::Int),
    ("pv_ratio", Kind::Float),
    ("pv_user_count", Kind::Int),
    ("average_stay_time", Kind::Float),
    ("stay_time_ratio", Kind::Float),
    ("bounce_ratio", Kind::Float),
    ("entry_count", Kind::Int),
    ("exit_count", Kind::Int),
];

pub const CHARACTER: &[(&str, Kind)] = &[
    ("session_count", Kind::Int),
    ("session_count_ratio", Kind::Float),
    ("user_count", Kind::Int),
    ("user_count_ratio", Kind::Float),
];

pub const SOURCE: &[(&str, Kind)] = &[
    ("new_user_count", Kind::Int),
    ("new_user_scale", Kind::Float),
    ("user_count", Kind::Int),
    ("user_scale", Kind::Float),
    ("session_scale", Kind::Float),
    ("session_count_per_user", Kind::Float),
    ("average_session_time", Kind::Float),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionType {
    Count,
    Ratio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Long,
    Wide,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Scene,
    Group,
}

/// Which form of the third-party-platform totals endpoint to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TpEndpoint {
    /// `gettpdata` with `max_results`, as Baidu's official SDKs (Go, PHP,
    /// Java) call it (the default).
    GetTpData,
    /// `getdata` with `max_result`, as the seed document shows it.
    GetData,
}

/// Options of `tp_endpoint`.
pub const TP_ENDPOINTS: &[&str] = &["gettpdata", "getdata"];

/// Rows per page of the paged endpoints that take no page-size parameter
/// (the nine analysis endpoints): the service's fixed page.
pub const SERVICE_PAGE_ROWS: u32 = 20;

/// One Baidu report with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    UserTrend {
        gran: Gran,
    },
    ActivityUser,
    Retention {
        gran: Gran,
        report_type: RetentionType,
        shape: Shape,
    },
    VisitAttribute,
    Region,
    Terminal {
        terminal_type: String,
    },
    VisitPage,
    VisitCharacter {
        character_type: String,
    },
    Source {
        level: Level,
    },
    TpData {
        /// One scene (source/scene id); `None`: all scenes' totals (no
        /// `scene` sent, as Baidu's SDKs do when it is not given).
        scene: Option<i64>,
        metrics: Vec<String>,
        endpoint: TpEndpoint,
    },
}

/// Every report name the client accepts, with the endpoint it calls.
pub const REPORTS: &[(&str, &str)] = &[
    ("user_trend", "getanalysisusertrend"),
    ("activity_user", "getanalysisactivityuser"),
    ("retention", "getanalysisretaineduser"),
    ("visit_attribute", "getanalysisvisitattribute"),
    ("region", "getanalysisregion"),
    ("terminal", "getanalysisterminal"),
    ("visit_page", "getanalysisvisitpage"),
    ("visit_character", "getanalysisvisitcharacter"),
    ("source", "getanalysissource"),
    ("tp_data", "gettpdata"),
];

impl Report {
    pub fn name(&self) -> &'static str {
        match self {
            Report::UserTrend { .. } => "user_trend",
            Report::ActivityUser => "activity_user",
            Report::Retention { .. } => "retention",
            Report::VisitAttribute => "visit_attribute",
            Report::Region => "region",
            Report::Terminal { .. } => "terminal",
            Report::VisitPage => "visit_page",
            Report::VisitCharacter { .. } => "visit_character",
            Report::Source { .. } => "source",
            Report::TpData { .. } => "tp_data",
        }
    }

    pub fn endpoint(&self) -> &'static str {
        if let Report::TpData {
            endpoint: TpEndpoint::GetData,
            ..
        } = self
        {
            return "getdata";
        }
        let n = self.name();
        REPORTS
            .iter()
            .find(|(r, _)| *r == n)
            .map(|(_, e)| *e)
            .expect("every report has an endpoint")
    }

    /// Whether the endpoint pages with `start_index`.
    pub fn paged(&self) -> bool {
        !matches!(self, Report::VisitAttribute)
    }

    /// GET with query parameters (only the TP totals) instead of a form
    /// POST.
    pub fn is_get(&self) -> bool {
        matches!(self, Report::TpData { .. })
    }

    /// The page-size parameter this endpoint takes, if any: the TP totals
    /// take one (`max_results`, or `max_result` in the seed document's
    /// `getdata` form); the analysis endpoints take none and return
    /// [`SERVICE_PAGE_ROWS`] rows a page (only `start_index`).
    pub fn page_size_param(&self) -> Option<&'static str> {
        match self {
            Report::TpData {
                endpoint: TpEndpoint::GetTpData,
                ..
            } => Some("max_results"),
            Report::TpData {
                endpoint: TpEndpoint::GetData,
                ..
            } => Some("max_result"),
            _ => None,
        }
    }

    /// Rows the service returns per full page: `requested` where the
    /// endpoint takes a page size, else [`SERVICE_PAGE_ROWS`].
    pub fn page_rows(&self, requested: u32) -> u32 {
        if self.page_size_param().is_some() {
            requested
        } else {
            SERVICE_PAGE_ROWS
        }
    }

    /// Requests one day of this report fetched on its own usually costs
    /// (an estimate for planning, e.g. `appstats sync --dry-run`): the
    /// paged endpoints
    /// answer [`SERVICE_PAGE_ROWS`] rows a page, and a day of regions
    /// (China's 34 provincial divisions, and more) or of a program's pages
    /// usually fills more than one.
    pub fn pages_per_day(&self) -> u32 {
        match self {
            Report::Region | Report::VisitPage => 2,
            _ => 1,
        }
    }

    pub fn gran(&self) -> Option<Gran> {
        match self {
            Report::UserTrend { gran } | Report::Retention { gran, .. } => Some(*gran),
            _ => None,
        }
    }

    /// Parameters beyond dates and paging.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Report::UserTrend { gran } => vec![("gran", gran.as_str().into())],
            Report::Retention {
                gran, report_type, ..
            } => vec![
                ("gran", gran.as_str().into()),
                (
                    "report_type",
                    match report_type {
                        RetentionType::Count => "count".into(),
                        RetentionType::Ratio => "ratio".into(),
                    },
                ),
            ],
            Report::Terminal { terminal_type } => vec![("terminal_type", terminal_type.clone())],
            Report::VisitCharacter { character_type } => {
                vec![("character_type", character_type.clone())]
            }
            Report::TpData { scene, metrics, .. } => scene
                .map(|s| ("scene", s.to_string()))
                .into_iter()
                .chain([("metrics", metrics.join(","))])
                .collect(),
            _ => vec![],
        }
    }

    /// Build a report from its name and string options, validating all.
    pub fn from_args(name: &str, opts: &HashMap<String, String>) -> Result<Report> {
        let get = |k: &str| opts.get(k).map(String::as_str);
        let allowed: &[&str] = match name {
            "user_trend" => &["gran"],
            "retention" => &["gran", "report_type", "shape"],
            "terminal" => &["terminal_type"],
            "visit_character" => &["character_type"],
            "source" => &["level"],
            "tp_data" => &["scene", "metrics", "tp_endpoint"],
            _ => &[],
        };
        if let Some(k) = opts.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(Error::invalid(format!(
                "report {name:?} takes no option {k:?}{}",
                if allowed.is_empty() {
                    String::new()
                } else {
                    format!("; options: {}", allowed.join(", "))
                }
            )));
        }
        Ok(match name {
            "user_trend" => Report::UserTrend {
                gran: Gran::parse(get("gran").unwrap_or("day"), TREND_GRANS)?,
            },
            "activity_user" => Report::ActivityUser,
            "retention" => Report::Retention {
                gran: Gran::parse(get("gran").unwrap_or("day"), RETENTION_GRANS)?,
                report_type: match get("report_type").unwrap_or("count") {
                    "count" => RetentionType::Count,
                    "ratio" => RetentionType::Ratio,
                    o => return Err(bad_choice("report_type", o, REPORT_TYPES.iter().copied())),
                },
                shape: match get("shape").unwrap_or("long") {
                    "long" => Shape::Long,
                    "wide" => Shape::Wide,
                    o => return Err(bad_choice("shape", o, ["long", "wide"].into_iter())),
                },
            },
            "visit_attribute" => Report::VisitAttribute,
            "region" => Report::Region,
            "terminal" => {
                let t = get("terminal_type").unwrap_or("terminal_os");
                let t = if t.starts_with("terminal_") {
                    t.to_string()
                } else {
                    format!("terminal_{t}")
                };
                if !TERMINAL_TYPES.contains(&t.as_str()) {
                    return Err(bad_choice(
                        "terminal_type",
                        get("terminal_type").unwrap_or_default(),
                        TERMINAL_TYPES.iter().copied(),
                    ));
                }
                Report::Terminal { terminal_type: t }
            }
            "visit_page" => Report::VisitPage,
            "visit_character" => {
                let c = get("character_type").unwrap_or("depth");
                if !CHARACTER_TYPES.contains(&c) {
                    return Err(bad_choice(
                        "character_type",
                        c,
                        CHARACTER_TYPES.iter().copied(),
                    ));
                }
                Report::VisitCharacter {
                    character_type: c.to_string(),
                }
            }
            "source" => Report::Source {
                level: match get("level").unwrap_or("scene") {
                    "scene" => Level::Scene,
                    "group" => Level::Group,
                    o => return Err(bad_choice("level", o, ["scene", "group"].into_iter())),
                },
            },
            "tp_data" => {
                // No scene: all scenes' totals (`gettpdata` only).
                let scene: Option<i64> = get("scene")
                    .map(|s| {
                        s.trim().parse().map_err(|_| {
                            Error::invalid(format!("scene must be an integer, got {s:?}"))
                        })
                    })
                    .transpose()?;
                let metrics: Vec<String> = match get("metrics") {
                    None | Some("") => TP_METRICS.iter().map(|(m, _)| m.to_string()).collect(),
                    Some(m) => m.split(',').map(|s| s.trim().to_string()).collect(),
                };
                for m in &metrics {
                    if !TP_METRICS.iter().any(|(k, _)| k == m) {
                        return Err(bad_choice("metric", m, TP_METRICS.iter().map(|(k, _)| *k)));
                    }
                }
                let endpoint = match get("tp_endpoint").map(str::trim) {
                    None | Some("") | Some("gettpdata") => TpEndpoint::GetTpData,
                    Some("getdata") => TpEndpoint::GetData,
                    Some(o) => {
                        return Err(bad_choice("tp_endpoint", o, TP_ENDPOINTS.iter().copied()))
                    }
                };
                if endpoint == TpEndpoint::GetData && scene.is_none() {
                    return Err(Error::invalid(
                        "tp_endpoint=\"getdata\" needs scene (a source/scene id): the data API \
                         document marks it required; for all scenes' totals leave tp_endpoint \
                         at \"gettpdata\" and omit scene",
                    ));
                }
                Report::TpData {
                    scene,
                    metrics,
                    endpoint,
                }
            }
            other => {
                return Err(bad_choice(
                    "Baidu report",
                    other,
                    REPORTS.iter().map(|(r, _)| *r),
                ))
            }
        })
    }

    /// Fetch report name from an endpoint name (for offline parsing).
    pub fn from_endpoint(endpoint: &str, opts: &HashMap<String, String>) -> Result<Report> {
        let mut opts = opts.clone();
        // the seed document's form of the TP totals endpoint
        let endpoint = if endpoint == "getdata" {
            opts.entry("tp_endpoint".into())
                .or_insert_with(|| "getdata".into());
            "gettpdata"
        } else {
            endpoint
        };
        let name = REPORTS
            .iter()
            .find(|(r, e)| *e == endpoint || *r == endpoint)
            .map(|(r, _)| *r)
            .ok_or_else(|| {
                let all = REPORTS.iter().map(|(_, e)| *e).chain(["getdata"]);
                bad_choice("Baidu endpoint", endpoint, all)
            })?;
        // The document's getdata requires a scene to request; parsing a
        // saved reply needs none, so a placeholder stands in.
        if name == "tp_data"
            && opts.get("tp_endpoint").map(|e| e.trim()) == Some("getdata")
            && !opts.contains_key("scene")
        {
            opts.insert("scene".into(), "0".into());
        }
        Report::from_args(name, &opts)
    }
}

/// Validate a date range for a report.
pub fn check_range(report: &Report, start: NaiveDate, end: NaiveDate) -> Result<()> {
    if end < start {
        return Err(Error::invalid(format!(
            "end date {end} is before start date {start}"
        )));
    }
    let days = (end - start).num_days() + 1;
    let max = if report.gran() == Some(Gran::Hour) {
        MAX_HOUR_SPAN_DAYS
    } else {
        MAX_SPAN_DAYS
    };
    if days > max {
        return Err(Error::invalid(format!(
            "{} covers {days} days; Baidu {} allows at most {max} days per call{}",
            report.name(),
            report.endpoint(),
            if max == MAX_HOUR_SPAN_DAYS {
                " with gran=\"hour\""
            } else {
                ""
            }
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
