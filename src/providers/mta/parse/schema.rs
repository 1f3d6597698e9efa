//! The fixed output schema of every report.

use super::super::endpoints::{Report, ReportKind, Shape};
use crate::providers::retention::RETENTION_LONG;
use crate::table::Kind;

/// The columns before the metrics, by report.
fn head_columns(report: &Report) -> Vec<(&'static str, Kind)> {
    match report.kind {
        ReportKind::UserBasic
        | ReportKind::Realtime
        | ReportKind::ActiveUsers
        | ReportKind::Usage
        | ReportKind::Crash => vec![("date", Kind::Date)],
        ReportKind::Terminal => vec![
            ("terminal_type", Kind::Str),
            ("rank", Kind::Int),
            ("terminal", Kind::Str),
        ],
        ReportKind::Frequency => vec![("bucket", Kind::Int), ("section", Kind::Str)],
        ReportKind::CrashEnv => vec![("dimension", Kind::Str), ("value", Kind::Str)],
        ReportKind::ErrorList => vec![("rank", Kind::Int), ("key", Kind::Str)],
        ReportKind::Retention => vec![],
    }
}

/// The columns after the metrics, by report, with the reply keys they are
/// read from (MTA's spelling, snake_case and camelCase).
fn tail_columns(report: &Report) -> &'static [(&'static str, Kind, &'static [&'static str])] {
    match report.kind {
        ReportKind::ErrorList => ERROR_LIST_LABELS,
        _ => &[],
    }
}

/// `error_list` label columns. The vendor documents no row shape for
/// `get_err_list`; these are the fields seen in its replies (`CrashId` in
/// the fixture, the rest in the sandbox's reading). Other fields are not
/// read: every report's schema is fixed.
pub(super) const ERROR_LIST_LABELS: &[(&str, Kind, &[&str])] = &[
    ("crash_id", Kind::Str, &["CrashId", "crash_id", "crashId"]),
    (
        "error_msg",
        Kind::Str,
        &["ErrorMsg", "error_msg", "errorMsg"],
    ),
    (
        "app_version",
        Kind::Str,
        &["AppVersion", "app_version", "appVersion"],
    ),
    (
        "first_time",
        Kind::Datetime,
        &["FirstTime", "first_time", "firstTime"],
    ),
];

/// Output schema of a report: fixed per report and options, whatever the
/// reply holds.
pub fn schema(report: &Report) -> Vec<(String, Kind)> {
    if report.kind == ReportKind::Retention {
        let mut s: Vec<(String, Kind)> = RETENTION_LONG
            .iter()
            .map(|(n, k)| (n.to_string(), *k))
            .collect();
        if report.shape == Shape::Wide {
            s.truncate(3);
            s.extend(
                report
                    .periods()
                    .iter()
                    .map(|p| (format!("d{p}"), Kind::Int)),
            );
        }
        return s;
    }
    let mut s: Vec<(String, Kind)> = head_columns(report)
        .into_iter()
        .map(|(n, k)| (n.to_string(), k))
        .collect();
    s.extend(report.metrics.iter().map(|m| (m.name.to_string(), m.kind)));
    s.extend(
        tail_columns(report)
            .iter()
            .map(|(n, k, _)| (n.to_string(), *k)),
    );
    s
}

/// Retention rows as parsed: the long frame with both value columns
/// (`users` for counts, `ratio` for percentages); [`finish`](super::finish)
/// keeps one.
pub(super) const RETENTION_ROWS: &[(&str, Kind)] = &[
    ("cohort_date", Kind::Date),
    ("cohort_end", Kind::Date),
    ("cohort_size", Kind::Int),
    ("period", Kind::Int),
    ("users", Kind::Int),
    ("ratio", Kind::Float),
];
