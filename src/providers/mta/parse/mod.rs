//! MTA replies → typed tables, streamed with serde seeds (no
//! `serde_json::Value` trees).
//!
//! `ret_data` shapes handled, whatever the report:
//! - object keyed by date / bucket / dimension value → object of fields
//!   (one row per key; the key goes to the report's key column);
//! - array of objects (one row each);
//! - one flat object of scalars (realtime: `Date` plus metrics);
//! - `null`, `""`, `[]`, `{}`: no rows.

//!
//! - `streaming`: the serde seeds, one pass over a whole reply;
//! - `sinks`: the row builders (flat tables, retention cohorts);
//! - `schema`: the fixed output schema of every report.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::endpoints::{Report, ReportKind, Shape};
use super::errors::{classify, OK};
use super::PROVIDER;
use crate::error::{Error, Result};
use crate::providers::common::days_to_date;
use crate::providers::retention::retention_wide;
use crate::table::{Cell, Column, Kind, TableBuilder};

mod schema;
mod sinks;
mod streaming;

pub use schema::schema;
use schema::{ERROR_LIST_LABELS, RETENTION_ROWS};
use sinks::{RetentionSink, RowKey, TableSink};
use streaming::one_pass;
pub use streaming::KeyedSink;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    ret_code: Option<Cell<'a>>,
    #[serde(default, borrow)]
    ret_msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    ret_data: Option<&'a RawValue>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

fn bad(report: &Report, e: impl fmt::Display) -> Error {
    Error::malformed(PROVIDER, report.path, e)
}

/// Check the envelope and return the raw payload (`ret_data` or `data`).
pub fn open<'a>(report: &Report, text: &'a str) -> Result<Option<&'a RawValue>> {
    let text = crate::table::strip_bom(text);
    let env: Envelope = serde_json::from_str(text).map_err(|e| bad(report, e))?;
    let code = match &env.ret_code {
        None => return Err(bad(report, "reply has no ret_code")),
        Some(c) => match c.to_i64() {
            Ok(Some(c)) => c,
            _ => return Err(bad(report, format!("ret_code is not a number: {c:?}"))),
        },
    };
    if code != OK {
        return Err(classify(code, env.ret_msg.as_deref().unwrap_or("")));
    }
    Ok(env.ret_data.or(env.data))
}

/// Parse one reply into the report's rows (long form for retention, with
/// both value columns: see [`RETENTION_ROWS`]).
pub fn parse_rows(report: &Report, text: &str) -> Result<TableBuilder> {
    let text = crate::table::strip_bom(text);
    if report.kind == ReportKind::Retention {
        let mut s = RetentionSink {
            t: TableBuilder::new(RETENTION_ROWS),
            periods: report.periods(),
            date: None,
            size: None,
            cells: vec![],
            row_key: RowKey::default(),
            cohorts: 0,
        };
        one_pass(report, text, &mut s)?;
        return Ok(s.t);
    }
    let spec = schema(report);
    let t = TableBuilder::new(&spec);
    let mut fields: Vec<(String, usize)> = vec![];
    for m in &report.metrics {
        if let Some(i) = t.index(m.name) {
            fields.push((m.mta.to_string(), i));
            fields.push((m.name.to_string(), i));
        }
    }
    let col = |n: &str| t.index(n);
    let mut consts = vec![];
    let mut key_col = None;
    let mut rank_col = None;
    let mut flat = false;
    let mut label = |src: &[&str], out: &str| {
        if let Some(i) = col(out) {
            for s in src {
                fields.push((s.to_string(), i));
            }
        }
    };
    match report.kind {
        ReportKind::Terminal => {
            label(&["Terminal", "terminal"], "terminal");
            rank_col = col("rank");
            if let (Some(i), Some(n)) = (col("terminal_type"), report.dimension_name()) {
                consts.push((i, n.to_string()));
            }
        }
        ReportKind::Frequency => {
            label(&["Section", "section"], "section");
            key_col = col("bucket");
        }
        ReportKind::CrashEnv => {
            key_col = col("value");
            if let (Some(i), Some(n)) = (col("dimension"), report.dimension_name()) {
                consts.push((i, n.to_string()));
            }
        }
        ReportKind::ErrorList => {
            key_col = col("key");
            rank_col = col("rank");
            for (name, _, keys) in ERROR_LIST_LABELS {
                label(keys, name);
            }
        }
        ReportKind::Realtime => {
            label(&["Date", "date"], "date");
            key_col = col("date");
            flat = true;
        }
        _ => {
            label(&["Date", "date"], "date");
            key_col = col("date");
        }
    }
    let mut s = TableSink {
        t,
        fields,
        key_col,
        rank_col,
        consts,
        flat,
        row_key: RowKey::default(),
    };
    one_pass(report, text, &mut s)?;
    Ok(s.t)
}

/// Date values of column `col` (null dates skipped).
pub fn dates(t: &TableBuilder, col: usize) -> Vec<NaiveDate> {
    match t.col_ref(col) {
        Column::Date(v) => v
            .iter()
            .take(t.n_rows())
            .flatten()
            .map(days_to_date)
            .collect(),
        _ => vec![],
    }
}

/// Rows stably sorted by the Date column `col` (dates are keys: never null).
pub fn sort_by_date(mut t: TableBuilder, col: usize) -> TableBuilder {
    t.sort_by(&[col]);
    t
}

/// The final frame of a report from its (stitched) rows.
///
/// Retention keeps one value column for the whole (stitched) reply:
/// `users` (Int64) when every value is a count, `ratio` (Float64, percent
/// as sent) when any value is a percentage -- the counts-looking values of
/// such a reply (`"35"`, a whole percentage) then become ratios too.
pub fn finish(report: &Report, rows: TableBuilder) -> Result<polars::prelude::DataFrame> {
    let polars = |e: polars::error::PolarsError| Error::Internal(format!("building frame: {e}"));
    let rows = if report.kind.date_keyed() || report.kind == ReportKind::Realtime {
        sort_by_date(rows, 0)
    } else {
        rows
    };
    if report.kind != ReportKind::Retention {
        return rows.finish().map_err(polars);
    }
    let long = retention_values(rows);
    if report.shape == Shape::Long {
        return long.finish().map_err(polars);
    }
    let value_kind = long.col_ref(4).kind();
    let wide = retention_wide(&long, "d");
    // the schema's columns in its order (every period, also when the
    // reply is empty), in the dtype of the values
    let n = wide.n_rows();
    let cols = schema(report)
        .into_iter()
        .enumerate()
        .map(|(j, (name, kind))| {
            let kind = if j < 3 { kind } else { value_kind };
            let col = match wide.index(&name) {
                Some(i) => wide.col_ref(i).clone(),
                None => Column::new(kind),
            };
            (name, col)
        })
        .collect();
    TableBuilder::from_columns(cols, n).finish().map_err(polars)
}

/// Long retention rows with one value column: `users`, or `ratio` when a
/// value was a percentage (see [`RETENTION_ROWS`]).
fn retention_values(rows: TableBuilder) -> TableBuilder {
    let n = rows.n_rows();
    let (Some(u), Some(r)) = (rows.index("users"), rows.index("ratio")) else {
        return rows; // already one value column (an empty fetch)
    };
    let is_ratio = (0..n).any(|i| rows.col_ref(r).get_f64(i).is_some());
    let mut cols: Vec<(String, Column)> = (0..4)
        .map(|i| (rows.names()[i].clone(), rows.col_ref(i).clone()))
        .collect();
    if is_ratio {
        let mut ratio = Column::with_capacity(Kind::Float, n);
        for i in 0..n {
            let v = rows.col_ref(r).get_f64(i);
            ratio.push_f64(v.or_else(|| rows.col_ref(u).get_i64(i).map(|c| c as f64)));
        }
        cols.push(("ratio".into(), ratio));
    } else {
        cols.push(("users".into(), rows.col_ref(u).clone()));
    }
    TableBuilder::from_columns(cols, n)
}

/// Parse one saved reply into the report's frame.
pub fn parse_reply(report: &Report, text: &str) -> Result<polars::prelude::DataFrame> {
    let rows = parse_rows(report, text)?;
    finish(report, rows)
}

#[cfg(test)]
mod tests;
