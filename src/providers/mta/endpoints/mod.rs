//! MTA reports: names, paths, metric ids, options and validation.
//!
//! # Assumptions (documented, not in the vendor document)
//! - One request covers at most [`MAX_WINDOW_DAYS`] days. Date-keyed
//!   reports (`user_basic`, `active_users`, `usage`, `crash`, `retention`)
//!   are split into windows of that size, fetched concurrently and
//!   stitched; aggregate reports (`terminal`, `frequency`, `crash_env`,
//!   `error_list`) cannot be split without changing their numbers, so a
//!   longer range is rejected for them.
//! - Retention ids `11001..11009` are day 1..7, 14 and 30
//!   (`D1RepeatUser` .. `D7RepeatUser`, `D14RepeatUser`, `D30RepeatUser`).
//!   The parser reads the day from the key name itself, so another mapping
//!   still lands in the right `period`.
//! - `10105` (active accounts) is sent as `ActiveAccount`; `crash_env`
//!   asks for `10503,10504` (the seed document's "multi-dimensional" crash
//!   ids) and reads `ErrorNum`/`ErrorUser`.
//! - Every parser also accepts the snake_case name in place of the MTA
//!   name, so a differently spelled reply key can be fixed by the sandbox
//!   or a user without code changes.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::providers::common::{bad_choice, parse_user_date};
use crate::table::Kind;

/// Days one request covers at most (assumption, see the module docs).
pub const MAX_WINDOW_DAYS: i64 = 90;
/// Longest range a date-keyed report may ask for (split into windows).
pub const MAX_RANGE_DAYS: i64 = 5 * 366;

/// One MTA metric: readable name, MTA reply key, metric id, dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    /// snake_case column name.
    pub name: &'static str,
    /// Key MTA uses in its replies.
    pub mta: &'static str,
    /// Metric id sent in `idx`.
    pub id: u32,
    pub kind: Kind,
}

const fn m(name: &'static str, mta: &'static str, id: u32, kind: Kind) -> Metric {
    Metric {
        name,
        mta,
        id,
        kind,
    }
}

/// `/ctr_user_basic/get_offline_data` (`realtime` uses the first five).
pub const USER_BASIC: &[Metric] = &[
    m("new_users", "NewUser", 10101, Kind::Int),
    m("active_users", "ActiveUser", 10102, Kind::Int),
    m("sessions", "SessionCount", 10103, Kind::Int),
    m("total_users", "TotalUser", 10104, Kind::Int),
    m("active_accounts", "ActiveAccount", 10105, Kind::Int),
    m("unique_users", "NoRepeatUser", 10106, Kind::Int),
];

/// `/ctr_active_anal/get_offline_data`.
pub const ACTIVE: &[Metric] = &[
    m("daily_active_users", "DayUv", 10201, Kind::Int),
    m("weekly_active_users", "WeekUv", 10202, Kind::Int),
    m("monthly_active_users", "MonthUv", 10203, Kind::Int),
];

/// `/ctr_terminal_anal/get_offline_data`.
pub const TERMINAL: &[Metric] = &[
    m("new_users", "NewUser", 10301, Kind::Int),
    m("active_users", "ActiveUser", 10302, Kind::Int),
    m("sessions", "SessionCount", 10303, Kind::Int),
];

/// `/ctr_usage_anal/get_offline_data` (durations in seconds as MTA sends).
pub const USAGE: &[Metric] = &[
    m("time_per_user", "OnlineTimePerUv", 10401, Kind::Float),
    m(
        "time_per_session",
        "OnlineTimePerSession",
        10402,
        Kind::Float,
    ),
    m("pages_per_user", "PageCountPerUv", 10403, Kind::Float),
    m(
        "pages_per_session",
        "PageCountPerSession",
        10404,
        Kind::Float,
    ),
];

/// `/ctr_usage_anal/get_freq_dis`.
pub const FREQUENCY: &[Metric] = &[
    m("new_users", "NewUser", 10405, Kind::Int),
    m("active_users", "ActiveUser", 10406, Kind::Int),
];

/// `/ctr_crash_anal/get_offline_data` and `get_err_list`.
pub const CRASH: &[Metric] = &[
    m("error_count", "ErrorNum", 10501, Kind::Int),
    m("error_users", "ErrorUser", 10502, Kind::Int),
];

/// `/ctr_crash_anal/get_env_dis`.
pub const CRASH_ENV: &[Metric] = &[
    m("error_count", "ErrorNum", 10503, Kind::Int),
    m("error_users", "ErrorUser", 10504, Kind::Int),
];

/// `/ctr_user_retention/get_offline_data`: users of the cohort who came
/// back N days later.
pub const RETENTION: &[Metric] = &[
    m("d1", "D1RepeatUser", 11001, Kind::Int),
    m("d2", "D2RepeatUser", 11002, Kind::Int),
    m("d3", "D3RepeatUser", 11003, Kind::Int),
    m("d4", "D4RepeatUser", 11004, Kind::Int),
    m("d5", "D5RepeatUser", 11005, Kind::Int),
    m("d6", "D6RepeatUser", 11006, Kind::Int),
    m("d7", "D7RepeatUser", 11007, Kind::Int),
    m("d14", "D14RepeatUser", 11008, Kind::Int),
    m("d30", "D30RepeatUser", 11009, Kind::Int),
];

/// Terminal dimensions (`ty` 1..5).
pub const TERMINAL_TYPES: &[&str] = &["os", "resolution", "network", "carrier", "device"];
/// Crash environment dimensions (`ty` 1..3).
pub const CRASH_DIMENSIONS: &[&str] = &["app_version", "os", "device"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    UserBasic,
    Realtime,
    ActiveUsers,
    Terminal,
    Usage,
    Frequency,
    Crash,
    CrashEnv,
    ErrorList,
    Retention,
}

/// Every report: name, API path, metrics, kind.
pub const REPORTS: &[(&str, &str, &[Metric], ReportKind)] = &[
    (
        "user_basic",
        "/ctr_user_basic/get_offline_data",
        USER_BASIC,
        ReportKind::UserBasic,
    ),
    (
        "realtime",
        "/ctr_user_basic/get_realtime_data",
        // the realtime endpoint does not serve 10106
        USER_BASIC.split_at(5).0,
        ReportKind::Realtime,
    ),
    (
        "active_users",
        "/ctr_active_anal/get_offline_data",
        ACTIVE,
        ReportKind::ActiveUsers,
    ),
    (
        "terminal",
        "/ctr_terminal_anal/get_offline_data",
        TERMINAL,
        ReportKind::Terminal,
    ),
    (
        "usage",
        "/ctr_usage_anal/get_offline_data",
        USAGE,
        ReportKind::Usage,
    ),
    (
        "frequency",
        "/ctr_usage_anal/get_freq_dis",
        FREQUENCY,
        ReportKind::Frequency,
    ),
    (
        "crash",
        "/ctr_crash_anal/get_offline_data",
        CRASH,
        ReportKind::Crash,
    ),
    (
        "crash_env",
        "/ctr_crash_anal/get_env_dis",
        CRASH_ENV,
        ReportKind::CrashEnv,
    ),
    (
        "error_list",
        "/ctr_crash_anal/get_err_list",
        CRASH,
        ReportKind::ErrorList,
    ),
    (
        "retention",
        "/ctr_user_retention/get_offline_data",
        RETENTION,
        ReportKind::Retention,
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Long,
    Wide,
}

/// A validated report with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub kind: ReportKind,
    pub name: &'static str,
    pub path: &'static str,
    /// Selected metrics, in table order.
    pub metrics: Vec<Metric>,
    /// `ty` (terminal type 1..5 or crash dimension 1..3).
    pub ty: Option<u8>,
    /// `err_ty` of `error_list`, passed through.
    pub err_ty: Option<String>,
    pub version: Option<String>,
    pub channel: Option<String>,
    /// Retention only.
    pub shape: Shape,
}

impl ReportKind {
    /// Replies keyed by date, one row per requested date.
    pub fn date_keyed(self) -> bool {
        matches!(
            self,
            ReportKind::UserBasic
                | ReportKind::ActiveUsers
                | ReportKind::Usage
                | ReportKind::Crash
                | ReportKind::Retention
        )
    }

    /// Options a report takes besides `metrics`, `version`, `channel`.
    fn own_options(self) -> &'static [&'static str] {
        match self {
            ReportKind::Terminal => &["terminal_type"],
            ReportKind::CrashEnv => &["dimension"],
            ReportKind::ErrorList => &["err_ty"],
            ReportKind::Retention => &["shape"],
            _ => &[],
        }
    }
}

/// Parse a dimension given by name or by its 1-based `ty` number.
fn dimension(what: &str, got: &str, names: &[&str]) -> Result<u8> {
    let g = got.trim();
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(g)) {
        return Ok(i as u8 + 1);
    }
    match g.parse::<usize>() {
        Ok(n) if (1..=names.len()).contains(&n) => Ok(n as u8),
        _ => Err(bad_choice(what, got, names.iter().copied())),
    }
}

/// Select metrics by snake_case name or numeric id (comma-separated);
/// empty or absent selects all. Result in table order, without repeats.
pub fn select_metrics(report: &str, table: &[Metric], sel: Option<&str>) -> Result<Vec<Metric>> {
    let Some(sel) = sel.filter(|s| !s.trim().is_empty()) else {
        return Ok(table.to_vec());
    };
    let mut chosen = vec![false; table.len()];
    for part in sel.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let pos = table.iter().position(|m| {
            m.name.eq_ignore_ascii_case(part)
                || m.mta.eq_ignore_ascii_case(part)
                || part.parse::<u32>().is_ok_and(|id| id == m.id)
        });
        match pos {
            Some(i) => chosen[i] = true,
            None => {
                let valid: Vec<String> = table
                    .iter()
                    .map(|m| format!("{} ({})", m.name, m.id))
                    .collect();
                return Err(bad_choice(
                    &format!("{report} metric"),
                    part,
                    valid.iter().map(String::as_str),
                ));
            }
        }
    }
    Ok(table
        .iter()
        .zip(chosen)
        .filter(|(_, c)| *c)
        .map(|(m, _)| *m)
        .collect())
}

impl Report {
    /// Build a report from its name and string options, validating all.
    ///
    /// Options: `metrics` (names or ids, comma-separated), `version`,
    /// `channel` (filters), and per report `terminal_type` (os, resolution,
    /// network, carrier, device or 1..5), `dimension` (app_version, os,
    /// device or 1..3), `err_ty`, `shape` (long, wide).
    pub fn from_args(name: &str, opts: &HashMap<String, String>) -> Result<Report> {
        let &(name, path, table, kind) = REPORTS
            .iter()
            .find(|r| r.0 == name)
            .ok_or_else(|| bad_choice("MTA report", name, REPORTS.iter().map(|r| r.0)))?;
        let common = ["metrics", "version", "channel"];
        for k in opts.keys() {
            if !common.contains(&k.as_str()) && !kind.own_options().contains(&k.as_str()) {
                let mut all: Vec<&str> = common.to_vec();
                all.extend(kind.own_options());
                return Err(Error::invalid(format!(
                    "report {name:?} takes no option {k:?}; options: {}",
                    all.join(", ")
                )));
            }
        }
        let get = |k: &str| opts.get(k).map(String::as_str);
        let text = |k: &str| -> Result<Option<String>> {
            match get(k).map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) if v.chars().any(char::is_control) => Err(Error::invalid(format!(
                    "{k} must not contain control characters"
                ))),
                Some(v) => Ok(Some(v.to_string())),
            }
        };
        let metrics = select_metrics(name, table, get("metrics"))?;
        let ty = match kind {
            ReportKind::Terminal => Some(dimension(
                "terminal_type",
                get("terminal_type").unwrap_or("os"),
                TERMINAL_TYPES,
            )?),
            ReportKind::CrashEnv => Some(dimension(
                "dimension",
                get("dimension").unwrap_or("app_version"),
                CRASH_DIMENSIONS,
            )?),
            _ => None,
        };
        let err_ty = match text("err_ty")? {
            Some(v) if v.parse::<u32>().is_err() => {
                return Err(Error::invalid(format!(
                    "err_ty must be a non-negative integer (MTA crash list type), got {v:?}"
                )))
            }
            v => v,
        };
        let shape = match get("shape").unwrap_or("long") {
            "long" => Shape::Long,
            "wide" => Shape::Wide,
            o => return Err(bad_choice("shape", o, ["long", "wide"].into_iter())),
        };
        Ok(Report {
            kind,
            name,
            path,
            metrics,
            ty,
            err_ty,
            version: text("version")?,
            channel: text("channel")?,
            shape,
        })
    }

    /// Resolve a report by name or API path (with or without the leading
    /// slash), for offline parsing.
    pub fn from_endpoint(endpoint: &str, opts: &HashMap<String, String>) -> Result<Report> {
        let e = endpoint.trim().trim_start_matches('/');
        let name = REPORTS
            .iter()
            .find(|r| r.0 == e || r.1.trim_start_matches('/') == e)
            .map(|r| r.0)
            .ok_or_else(|| {
                let all: Vec<&str> = REPORTS.iter().flat_map(|r| [r.0, r.1]).collect();
                bad_choice("MTA report or endpoint", endpoint, all.into_iter())
            })?;
        Report::from_args(name, opts)
    }

    /// The name of the `ty` value (`os`, `app_version`, ...).
    pub fn dimension_name(&self) -> Option<&'static str> {
        let names = match self.kind {
            ReportKind::Terminal => TERMINAL_TYPES,
            ReportKind::CrashEnv => CRASH_DIMENSIONS,
            _ => return None,
        };
        self.ty.and_then(|t| names.get(t as usize - 1).copied())
    }

    /// `idx` parameter: the selected metric ids.
    pub fn idx(&self) -> String {
        self.metrics
            .iter()
            .map(|m| m.id.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Query parameters beyond `app_id`, dates and `sign`.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut p = vec![("idx", self.idx())];
        if let Some(t) = self.ty {
            p.push(("ty", t.to_string()));
        }
        if let Some(e) = &self.err_ty {
            p.push(("err_ty", e.clone()));
        }
        if let Some(v) = &self.version {
            p.push(("version", v.clone()));
        }
        if let Some(c) = &self.channel {
            p.push(("channel", c.clone()));
        }
        p
    }

    /// Day periods of the selected retention metrics (`d7` → 7).
    pub fn periods(&self) -> Vec<i64> {
        self.metrics
            .iter()
            .filter_map(|m| retention_day(m.mta))
            .collect()
    }
}

/// Days from a cohort's day through the last day its retention counts:
/// its numbers are final after them. The last metric, `D30RepeatUser`,
/// counts the users back on the 30th day after the cohort's: 31 days.
pub fn retention_horizon_days() -> u32 {
    let last = RETENTION
        .iter()
        .filter_map(|m| retention_day(m.mta))
        .max()
        .unwrap_or(0);
    (last + 1) as u32
}

/// `D7RepeatUser` (or `d7`) → 7.
pub fn retention_day(key: &str) -> Option<i64> {
    let k = key.trim();
    let rest = k.strip_prefix('D').or_else(|| k.strip_prefix('d'))?;
    let digits = rest.strip_suffix("RepeatUser").unwrap_or(rest);
    let n: i64 = digits.parse().ok()?;
    (n > 0).then_some(n)
}

/// Validate a date range for a report.
pub fn check_range(report: &Report, start: NaiveDate, end: NaiveDate) -> Result<()> {
    if end < start {
        return Err(Error::invalid(format!(
            "end date {end} is before start date {start}"
        )));
    }
    let days = (end - start).num_days() + 1;
    let max = if report.kind.date_keyed() {
        MAX_RANGE_DAYS
    } else {
        MAX_WINDOW_DAYS
    };
    if days > max {
        return Err(Error::invalid(format!(
            "{} covers {days} days; at most {max} days per call{}",
            report.name,
            if report.kind.date_keyed() {
                ""
            } else {
                " (this report aggregates the whole range and cannot be split)"
            }
        )));
    }
    Ok(())
}

/// Split `start..=end` into consecutive windows of at most
/// [`MAX_WINDOW_DAYS`] days.
pub fn windows(start: NaiveDate, end: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = vec![];
    let mut s = start;
    while s <= end {
        let e = (s + chrono::Duration::days(MAX_WINDOW_DAYS - 1)).min(end);
        out.push((s, e));
        match e.succ_opt() {
            Some(n) => s = n,
            None => break,
        }
    }
    out
}

/// Parse and validate user dates.
pub fn parse_range(start: &str, end: &str) -> Result<(NaiveDate, NaiveDate)> {
    Ok((
        parse_user_date("start date", start)?,
        parse_user_date("end date", end)?,
    ))
}

#[cfg(test)]
mod tests;
