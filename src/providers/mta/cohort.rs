//! MTA retention's cohort sizes.
//!
//! The retention endpoint sends the retained users of each cohort day but
//! not how many users the cohort had; MTA's cohorts are the day's new
//! users, which `user_basic` (metric `new_users`, 10101) serves for the
//! same days and filters. [`Client::fetch`](super::Client::fetch) asks for
//! them beside every retention request (unless `cohort_size=false`) and
//! fills the column here, so the client, the fan-out, sync, Spark and dlt
//! all return the same, complete rows. A size the reply did carry is kept.

use std::collections::HashMap;

use chrono::NaiveDate;
use polars::prelude::{Column, DataFrame, IntoColumn, NamedFrom, Series};

use super::{ReportKind, Request};
use crate::error::{Error, Result};

/// `true` / `false` (also `1` / `0`, `yes` / `no`), any case.
pub fn parse_flag(v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(Error::invalid(format!(
            "cohort_size must be true or false, got {v:?}"
        ))),
    }
}

/// The `user_basic` request whose `new_users` are the cohort sizes of a
/// retention request (same days, version and channel filters, same
/// handling of missing days), or `None` when none is needed.
pub fn sizes_request(req: &Request) -> Result<Option<Request>> {
    if req.report.kind != ReportKind::Retention || !req.cohort_size {
        return Ok(None);
    }
    let mut opts = HashMap::from([("metrics".to_string(), "new_users".to_string())]);
    if let Some(v) = &req.report.version {
        opts.insert("version".into(), v.clone());
    }
    if let Some(c) = &req.report.channel {
        opts.insert("channel".into(), c.clone());
    }
    let report = super::Report::from_args("user_basic", &opts)?;
    Ok(Some(Request {
        report,
        start: req.start,
        end: req.end,
        missing_days: req.missing_days,
        cohort_size: false,
    }))
}

fn dates(df: &DataFrame, name: &str) -> Result<Vec<Option<NaiveDate>>> {
    df.column(name)
        .and_then(|c| c.date().map(|d| d.as_date_iter().collect()))
        .map_err(|e| Error::Internal(format!("cohort sizes: {name}: {e}")))
}

fn ints(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    df.column(name)
        .and_then(|c| c.i64().map(|v| (0..v.len()).map(|i| v.get(i)).collect()))
        .map_err(|e| Error::Internal(format!("cohort sizes: {name}: {e}")))
}

/// `retention` with `cohort_size` filled from `sizes` (`date`,
/// `new_users`) where the reply left it null.
pub fn fill(retention: DataFrame, sizes: &DataFrame) -> Result<DataFrame> {
    let by_day: HashMap<NaiveDate, i64> = dates(sizes, "date")?
        .into_iter()
        .zip(ints(sizes, "new_users")?)
        .filter_map(|(d, n)| Some((d?, n?)))
        .collect();
    let filled: Vec<Option<i64>> = dates(&retention, "cohort_date")?
        .into_iter()
        .zip(ints(&retention, "cohort_size")?)
        .map(|(d, n)| n.or_else(|| d.and_then(|d| by_day.get(&d).copied())))
        .collect();
    let col: Column = Series::new("cohort_size".into(), filled).into_column();
    let mut out = retention;
    out.with_column(col)
        .map_err(|e| Error::Internal(format!("cohort sizes: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests;
