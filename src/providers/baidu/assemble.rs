//! The windows' pages, put together into the report's frames.

use chrono::NaiveDate;

use super::parse::{self, Page};
use super::{endpoints, Level, Report, ReportFrame, Shape};
use crate::error::{Error, Result};
use crate::table::{Kind, TableBuilder};

/// The rows of one request window, its pages appended in order.
pub struct Part {
    pub(super) table: TableBuilder,
    pub(super) groups: Option<TableBuilder>,
    pub(super) sum: Option<TableBuilder>,
    pub(super) time_span: Option<String>,
    pub(super) total: Option<i64>,
    /// `data_list` items so far.
    pub(super) items: usize,
}

impl Part {
    pub(super) fn new(p: Page) -> Part {
        Part {
            table: p.table,
            groups: p.groups,
            sum: p.sum,
            time_span: p.time_span,
            total: p.total,
            items: p.items,
        }
    }

    /// Make room for a window of `total` items, estimated from the rows
    /// per item of what is in (pages then append without reallocating).
    pub(super) fn reserve_for(&mut self, total: i64) {
        if self.items > 0 && total as f64 > self.items as f64 {
            let factor = total as f64 / self.items as f64 * 1.02;
            self.table.reserve_scaled(factor);
            if let Some(g) = &mut self.groups {
                g.reserve_scaled(factor);
            }
        }
    }

    pub(super) fn push(&mut self, p: Page) {
        self.table.append(p.table);
        if let (Some(g), Some(pg)) = (&mut self.groups, p.groups) {
            g.append(pg);
        }
        self.items += p.items;
    }
}

/// Concatenate the windows' rows into the report's frames.
pub fn assemble(
    report: &Report,
    parts: Vec<((NaiveDate, NaiveDate), Part)>,
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
    let group_schema = parse::schema(&Report::Source {
        level: Level::Group,
    });
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
    let mut table: Option<TableBuilder> = None;
    let mut groups: Option<TableBuilder> = None;
    for ((ws, we), part) in parts {
        time_span = span_union(time_span, part.time_span.as_deref());
        if let Some(t) = part.total {
            total = Some(total.unwrap_or(0) + t);
        }
        let mut row = TableBuilder::new(&sum_spec[..2]);
        row.col(0).push_date(Some(ws));
        row.col(1).push_date(Some(we));
        row.end_row();
        summary.append(match part.sum {
            Some(sum) => merge_side(row, sum),
            None => row,
        });
        // The first window's rows are the accumulator (no copy) when they
        // have the frame's columns; the others are appended.
        append_rows(&mut table, part.table, &long_schema);
        if let Some(g) = part.groups {
            append_rows(&mut groups, g, &group_schema);
        }
    }
    let mut table = table.unwrap_or_else(|| TableBuilder::new(&long_schema));
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
        Report::Source { .. } => Some(
            groups
                .unwrap_or_else(|| TableBuilder::new(&group_schema))
                .finish()
                .map_err(polars)?,
        ),
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

/// Append `rows` to `acc`; the first rows become the accumulator when their
/// columns are `spec`'s (no copy).
fn append_rows(acc: &mut Option<TableBuilder>, rows: TableBuilder, spec: &[(String, Kind)]) {
    match acc {
        Some(t) => t.append(rows),
        None if rows
            .names()
            .iter()
            .map(String::as_str)
            .eq(spec.iter().map(|(n, _)| n.as_str())) =>
        {
            *acc = Some(rows)
        }
        None => {
            let mut t = TableBuilder::new(spec);
            t.append(rows);
            *acc = Some(t);
        }
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
