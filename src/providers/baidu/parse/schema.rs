//! The output schema of every report, fixed per report and options.

use super::super::endpoints::{
    Gran, Level, Report, RetentionType, Shape, ACTIVITY, CHARACTER, PAGE, REGION, SOURCE, TERMINAL,
    TP_METRICS, USER_TREND,
};
use crate::table::Kind;

pub(super) fn period_columns(gran: Option<Gran>) -> Vec<(&'static str, Kind)> {
    match gran {
        Some(Gran::Hour) => vec![("datetime", Kind::Datetime)],
        Some(Gran::Day) => vec![("date", Kind::Date)],
        Some(Gran::Week) | Some(Gran::Month) => {
            vec![("period_start", Kind::Date), ("period_end", Kind::Date)]
        }
        None => vec![],
    }
}

/// Output schema of a report (before any reshaping).
pub fn schema(report: &Report) -> Vec<(String, Kind)> {
    let own = |v: &[(&str, Kind)]| -> Vec<(String, Kind)> {
        v.iter().map(|(n, k)| (n.to_string(), *k)).collect()
    };
    let mut s: Vec<(String, Kind)> = own(&period_columns(report.gran()));
    match report {
        Report::UserTrend { .. } => s.extend(own(USER_TREND)),
        Report::ActivityUser => {
            s = own(&[("date", Kind::Date)]);
            s.extend(own(ACTIVITY));
        }
        Report::Retention {
            report_type, shape, ..
        } => {
            s = own(&[
                ("cohort_date", Kind::Date),
                ("cohort_end", Kind::Date),
                ("cohort_size", Kind::Int),
            ]);
            if *shape == Shape::Long {
                s.push(("period".into(), Kind::Int));
                s.push(match report_type {
                    RetentionType::Count => ("users".into(), Kind::Int),
                    RetentionType::Ratio => ("ratio".into(), Kind::Float),
                });
            }
        }
        Report::VisitAttribute => {
            s = own(&[
                ("attribute", Kind::Str),
                ("attribute_id", Kind::Str),
                ("name", Kind::Str),
                ("count_ratio", Kind::Float),
            ])
        }
        Report::Region => {
            s = own(&[("region", Kind::Str)]);
            s.extend(own(REGION));
        }
        Report::Terminal { .. } => {
            s = own(&[("terminal_type", Kind::Str), ("terminal", Kind::Str)]);
            s.extend(own(TERMINAL));
        }
        Report::VisitPage => {
            s = own(&[
                ("page_id", Kind::Str),
                ("page_name", Kind::Str),
                ("page_alias", Kind::Str),
            ]);
            s.extend(own(PAGE));
        }
        Report::VisitCharacter { .. } => {
            s = own(&[("character_type", Kind::Str), ("bucket", Kind::Str)]);
            s.extend(own(CHARACTER));
        }
        Report::Source { level } => {
            s = own(&[("group_rank", Kind::Int), ("source_id", Kind::Str)]);
            match level {
                Level::Scene => {
                    s.extend(own(&[("scene_id", Kind::Str), ("scene_name", Kind::Str)]));
                    s.extend(own(SOURCE));
                    s.extend(SOURCE.iter().map(|(n, k)| (format!("group_{n}"), *k)));
                }
                Level::Group => {
                    s.push(("scene_count".into(), Kind::Int));
                    s.extend(own(SOURCE));
                }
            }
        }
        Report::TpData { metrics, .. } => {
            s = own(&[("date", Kind::Date)]);
            for m in metrics {
                let k = TP_METRICS
                    .iter()
                    .find(|(n, _)| n == m)
                    .map(|(_, k)| *k)
                    .unwrap_or(Kind::Float);
                s.push((m.clone(), k));
            }
        }
    }
    s
}

/// Metric columns (those of the `sum` block) of a report.
pub fn metric_fields(report: &Report) -> &'static [(&'static str, Kind)] {
    match report {
        Report::UserTrend { .. } => USER_TREND,
        Report::ActivityUser => ACTIVITY,
        Report::Region => REGION,
        Report::Terminal { .. } => TERMINAL,
        Report::VisitPage => PAGE,
        Report::VisitCharacter { .. } => CHARACTER,
        Report::Source { .. } => SOURCE,
        Report::TpData { .. } => TP_METRICS,
        Report::Retention { .. } | Report::VisitAttribute => &[("active_user_count", Kind::Int)],
    }
}

pub(super) fn scene_schema() -> Vec<(String, Kind)> {
    let mut s = vec![
        ("scene_id".to_string(), Kind::Str),
        ("scene_name".to_string(), Kind::Str),
    ];
    s.extend(SOURCE.iter().map(|(n, k)| (n.to_string(), *k)));
    s
}
