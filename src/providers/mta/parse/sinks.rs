//! The row builders: flat tables and retention cohorts.

use std::borrow::Cow;

use chrono::NaiveDate;

use super::super::endpoints::retention_day;
use super::streaming::KeyedSink;
use crate::table::{Cell, RowSink, TableBuilder};

/// Rows of a flat table: an optional key column, labels and metrics;
/// other fields are not read.
pub(super) struct TableSink {
    pub(super) t: TableBuilder,
    /// reply key → column (MTA names, snake_case names, label fields).
    pub(super) fields: Vec<(String, usize)>,
    pub(super) key_col: Option<usize>,
    pub(super) rank_col: Option<usize>,
    pub(super) consts: Vec<(usize, String)>,
    pub(super) flat: bool,
    /// Key of the current row in a keyed object (error messages).
    pub(super) row_key: RowKey,
}

impl TableSink {
    fn field(&self, key: &str) -> Option<usize> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, i)| *i)
    }
}

/// Where the current row is, for error messages: its key in a keyed
/// object (`ret_data["2024-03-01"]`) or its index in an array.
#[derive(Default)]
pub(super) struct RowKey {
    key: String,
    keyed: bool,
}

impl RowKey {
    fn set(&mut self, key: Option<&str>) {
        self.key.clear();
        self.keyed = key.is_some();
        self.key.push_str(key.unwrap_or(""));
    }

    fn describe(&self, index: usize) -> String {
        if self.keyed {
            format!("ret_data[{:?}]", self.key)
        } else {
            format!("ret_data[{index}]")
        }
    }
}

impl<'de> RowSink<'de> for TableSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        let Some(i) = self.field(key) else {
            return Ok(());
        };
        self.t.set(i, &cell).map_err(|e| {
            format!(
                "{}: field {key:?}: {e}",
                self.row_key.describe(self.t.n_rows())
            )
        })
    }

    fn end_row(&mut self) -> Result<(), String> {
        for (i, v) in &self.consts {
            self.t.set(*i, &Cell::Str(Cow::Borrowed(v.as_str())))?;
        }
        if let Some(r) = self.rank_col {
            self.t.set(r, &Cell::Int(self.t.n_rows() as i64 + 1))?;
        }
        self.t.end_row();
        Ok(())
    }
}

impl<'de> KeyedSink<'de> for TableSink {
    fn begin(&mut self, key: Option<&str>) -> Result<(), String> {
        self.row_key.set(key);
        if let (Some(k), Some(i)) = (key, self.key_col) {
            self.t
                .set(i, &Cell::Str(Cow::Borrowed(k)))
                .map_err(|e| format!("key {k:?}: {e}"))?;
        }
        Ok(())
    }
    fn flat_ok(&self) -> bool {
        self.flat
    }
}

/// Retention rows: date → `{D1RepeatUser: .., D7RepeatUser: .., ...}`,
/// emitted long (one row per requested period) into
/// [`RETENTION_ROWS`](super::RETENTION_ROWS): counts in `users`,
/// percentages in `ratio` ([`finish`](super::finish) keeps one).
pub(super) struct RetentionSink {
    pub(super) t: TableBuilder,
    pub(super) periods: Vec<i64>,
    pub(super) date: Option<NaiveDate>,
    pub(super) size: Option<i64>,
    pub(super) cells: Vec<(i64, RetentionValue)>,
    pub(super) row_key: RowKey,
    /// Cohorts read so far (error messages).
    pub(super) cohorts: usize,
}

impl<'de> RowSink<'de> for RetentionSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        self.read(key, cell)
            .map_err(|e| format!("{}: {e}", self.row_key.describe(self.cohorts)))
    }

    fn end_row(&mut self) -> Result<(), String> {
        self.cohorts += 1;
        self.emit()
    }
}

impl RetentionSink {
    fn read(&mut self, key: &str, cell: Cell) -> Result<(), String> {
        match key {
            "Date" | "date" => {
                if self.date.is_none() {
                    self.date = match &cell {
                        Cell::Str(s) => crate::table::parse_date(s),
                        _ => None,
                    };
                    if self.date.is_none() {
                        return Err(format!("retention date {} is not a date", cell.describe()));
                    }
                }
            }
            "NewUser" | "cohort_size" => {
                self.size = cell.to_i64().map_err(|e| format!("field {key:?}: {e}"))?
            }
            k => {
                if let Some(p) = retention_day(k).filter(|p| self.periods.contains(p)) {
                    let v = RetentionValue::read(&cell).map_err(|e| format!("field {k:?}: {e}"))?;
                    self.cells.push((p, v));
                }
            }
        }
        Ok(())
    }

    fn emit(&mut self) -> Result<(), String> {
        let date = self.date.take().ok_or("retention row without a date")?;
        let size = self.size.take();
        for &p in &self.periods {
            let v = self
                .cells
                .iter()
                .find(|(q, _)| *q == p)
                .map_or(RetentionValue::Missing, |(_, v)| *v);
            self.t.col(0).push_date(Some(date));
            self.t.col(1).push_date(Some(date));
            self.t.col(2).push_i64(size);
            self.t.col(3).push_i64(Some(p));
            match v {
                RetentionValue::Count(n) => {
                    self.t.col(4).push_i64(Some(n));
                    self.t.col(5).push_null();
                }
                RetentionValue::Percent(x) => {
                    self.t.col(4).push_null();
                    self.t.col(5).push_f64(Some(x));
                }
                RetentionValue::Missing => {
                    self.t.col(4).push_null();
                    self.t.col(5).push_null();
                }
            }
            self.t.end_row();
        }
        self.cells.clear();
        Ok(())
    }
}

/// One `D{N}RepeatUser` value. MTA documents counts ("day-N returning
/// users"); a community dashboard renders the same keys as percentages, so
/// a reply may carry either. A value is a percentage when it is written
/// with `%` or has a fraction (`"35.2"`, `35.2`, `"35%"`); otherwise it is
/// a count. A reply with one percentage is a reply of percentages (see
/// [`finish`](super::finish)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum RetentionValue {
    Count(i64),
    Percent(f64),
    Missing,
}

impl RetentionValue {
    fn read(cell: &Cell) -> Result<Self, String> {
        let percent_sign = matches!(cell, Cell::Str(s) if s.trim_end().ends_with('%'));
        if !percent_sign {
            match cell.to_i64() {
                Ok(v) => return Ok(v.map_or(RetentionValue::Missing, RetentionValue::Count)),
                // a whole number beyond i64 is a count that does not fit
                Err(e) if e.ends_with(crate::table::TOO_BIG) => return Err(e),
                Err(_) => {}
            }
        }
        match cell.to_f64()? {
            Some(x) => Ok(RetentionValue::Percent(x)),
            None => Ok(RetentionValue::Missing),
        }
    }
}

impl<'de> KeyedSink<'de> for RetentionSink {
    fn begin(&mut self, key: Option<&str>) -> Result<(), String> {
        self.row_key.set(key);
        self.date = None;
        self.size = None;
        self.cells.clear();
        if let Some(k) = key {
            self.date = Some(
                crate::table::parse_date(k).ok_or_else(|| format!("key {k:?} is not a date"))?,
            );
        }
        Ok(())
    }
    fn flat_ok(&self) -> bool {
        false
    }
}
