//! Helpers shared by the providers: argument validation messages, user
//! dates, and the long → wide retention pivot (both Baidu and MTA build the
//! same long retention frame, so users can concatenate them).

use chrono::NaiveDate;

use crate::error::{Error, Result};
use crate::table::{Column, Kind, TableBuilder};

/// An "unknown X" error that lists the valid values.
pub fn bad_choice<'a>(what: &str, got: &str, valid: impl Iterator<Item = &'a str>) -> Error {
    let v: Vec<&str> = valid.collect();
    Error::invalid(format!(
        "unknown {what} {got:?}; valid values: {}",
        v.join(", ")
    ))
}

/// Parse a user date (`YYYY-MM-DD`, `YYYYMMDD` or `YYYY/MM/DD`).
pub fn parse_user_date(what: &str, s: &str) -> Result<NaiveDate> {
    crate::table::parse_date(s).ok_or_else(|| {
        Error::invalid(format!(
            "{what} {s:?} is not a valid date; use YYYY-MM-DD (e.g. 2024-03-01)"
        ))
    })
}

/// Polars Date (days since the epoch) back to a date.
pub fn days_to_date(d: i32) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt(d + 719_163).unwrap_or_default()
}

/// Today in China (UTC+8), the time zone of all three providers' dates.
pub fn today_cn() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

/// Which days of an expected date window a reply covers.
///
/// Every provider checks its replies with this one routine: the days of
/// `window` (inclusive) that no row carries are `missing`; dates of rows
/// outside the window are `outside` (what that means is the caller's
/// call: MTA windows are stitched, so an outside row is an error there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateCoverage {
    pub window: (NaiveDate, NaiveDate),
    /// Days of the window without a row, oldest first.
    pub missing: Vec<NaiveDate>,
    /// Row dates outside the window, oldest first, without repeats.
    pub outside: Vec<NaiveDate>,
}

impl DateCoverage {
    pub fn of(window: (NaiveDate, NaiveDate), got: impl IntoIterator<Item = NaiveDate>) -> Self {
        let (start, end) = window;
        let mut seen: Vec<NaiveDate> = got.into_iter().collect();
        seen.sort_unstable();
        seen.dedup();
        let outside = seen
            .iter()
            .copied()
            .filter(|d| *d < start || *d > end)
            .collect();
        let missing = start
            .iter_days()
            .take_while(|d| *d <= end)
            .filter(|d| seen.binary_search(d).is_err())
            .collect();
        DateCoverage {
            window,
            missing,
            outside,
        }
    }

    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// `"3 day(s) missing from the reply for 2024-03-01 – 2024-03-30:
    /// 2024-03-01, 2024-03-02, 2024-03-30"` (at most 10 days named).
    pub fn describe_missing(&self) -> String {
        format!(
            "{} day(s) missing from the reply for {} – {}: {}",
            self.missing.len(),
            self.window.0,
            self.window.1,
            list_dates(&self.missing)
        )
    }
}

/// Up to 10 dates one by one (`2024-03-01, 2024-03-02`); more as runs of
/// consecutive days (`2024-03-01 – 2024-03-15, 2024-03-20`, at most 10
/// runs named, then how many more).
pub fn list_dates(days: &[NaiveDate]) -> String {
    if days.len() <= 10 {
        let each: Vec<String> = days.iter().map(|d| d.to_string()).collect();
        return each.join(", ");
    }
    let mut runs: Vec<(NaiveDate, NaiveDate)> = vec![];
    for &d in days {
        match runs.last_mut() {
            Some((_, end)) if end.succ_opt() == Some(d) => *end = d,
            _ => runs.push((d, d)),
        }
    }
    let mut s: Vec<String> = runs
        .iter()
        .take(10)
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a} – {b}")
            }
        })
        .collect();
    if runs.len() > 10 {
        s.push(format!("... ({} more runs of days)", runs.len() - 10));
    }
    s.join(", ")
}

/// Column names and dtypes of the long retention frame (count form).
pub const RETENTION_LONG: &[(&str, Kind)] = &[
    ("cohort_date", Kind::Date),
    ("cohort_end", Kind::Date),
    ("cohort_size", Kind::Int),
    ("period", Kind::Int),
    ("users", Kind::Int),
];

/// Pivot long retention (`cohort_date, cohort_end, cohort_size, period,
/// value`) to wide (`cohort_date, cohort_end, cohort_size, <prefix>N...`).
///
/// Rows of one cohort must be adjacent (they are, as parsers emit them).
/// The value column keeps its dtype (Int64 counts or Float64 ratios).
/// Periods become columns in ascending order; a long frame of another
/// shape gives back an empty wide frame with just the cohort columns.
pub fn retention_wide(long: &TableBuilder, prefix: &str) -> TableBuilder {
    let mut spec: Vec<(String, Kind)> = vec![
        ("cohort_date".into(), Kind::Date),
        ("cohort_end".into(), Kind::Date),
        ("cohort_size".into(), Kind::Int),
    ];
    if long.names().len() < 5 {
        return TableBuilder::new(&spec);
    }
    let (Column::Date(starts), Column::Date(ends), Column::Int(sizes), Column::Int(periods)) = (
        long.col_ref(0),
        long.col_ref(1),
        long.col_ref(2),
        long.col_ref(3),
    ) else {
        return TableBuilder::new(&spec);
    };
    let n = long.n_rows();
    let mut ps: Vec<i64> = periods.iter().take(n).flatten().collect();
    ps.sort_unstable();
    ps.dedup();
    let kind = long.col_ref(4).kind();
    spec.extend(ps.iter().map(|p| (format!("{prefix}{p}"), kind)));
    let mut t = TableBuilder::new(&spec);
    let mut i = 0;
    while i < n {
        let key = (starts.get(i), ends.get(i));
        t.col(0).push_date(key.0.map(days_to_date));
        t.col(1).push_date(key.1.map(days_to_date));
        t.col(2).push_i64(sizes.get(i));
        while i < n && (starts.get(i), ends.get(i)) == key {
            if let Some(p) = periods.get(i) {
                if let Ok(pos) = ps.binary_search(&p) {
                    let j = 3 + pos;
                    if !t.is_set(j) {
                        match long.col_ref(4) {
                            Column::Int(v) => t.col(j).push_i64(v.get(i)),
                            Column::Float(v) => t.col(j).push_f64(v.get(i)),
                            _ => {}
                        }
                    }
                }
            }
            i += 1;
        }
        t.end_row();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Cell;

    #[test]
    fn date_coverage_checks_both_ends_and_gaps() {
        let d = |s| parse_user_date("d", s).unwrap();
        let win = (d("2024-03-01"), d("2024-03-05"));
        let full = DateCoverage::of(win, win.0.iter_days().take(5));
        assert!(full.is_complete() && full.outside.is_empty());
        // the oldest days, a gap and the newest day missing; one row outside
        let c = DateCoverage::of(
            win,
            [
                d("2024-03-03"),
                d("2024-03-04"),
                d("2024-03-03"),
                d("2024-03-09"),
            ],
        );
        assert_eq!(
            c.missing,
            [d("2024-03-01"), d("2024-03-02"), d("2024-03-05")]
        );
        assert_eq!(c.outside, [d("2024-03-09")]);
        assert_eq!(
            c.describe_missing(),
            "3 day(s) missing from the reply for 2024-03-01 – 2024-03-05: \
             2024-03-01, 2024-03-02, 2024-03-05"
        );
        // nothing at all: one run
        let none = DateCoverage::of((d("2024-01-01"), d("2024-01-30")), []);
        assert_eq!(none.missing.len(), 30);
        assert!(none
            .describe_missing()
            .ends_with(": 2024-01-01 – 2024-01-30"));
        // every other day: ten runs named, then a count
        let odd = DateCoverage::of(
            (d("2024-01-01"), d("2024-01-30")),
            d("2024-01-01").iter_days().step_by(2).take(15),
        );
        assert_eq!(odd.missing.len(), 15);
        let m = odd.describe_missing();
        assert!(
            m.contains("2024-01-02, 2024-01-04") && m.ends_with("(5 more runs of days)"),
            "{m}"
        );
    }

    #[test]
    fn wide_pivot_keeps_dtype_and_order() {
        let mut long = TableBuilder::new(RETENTION_LONG);
        for (d, size, p, u) in [
            ("2024-03-01", Some(10), 1, Some(5)),
            ("2024-03-01", Some(10), 7, None),
            ("2024-03-02", None, 1, Some(4)),
        ] {
            long.set(0, &Cell::Str(d.into())).unwrap();
            long.set(1, &Cell::Str(d.into())).unwrap();
            long.set(2, &size.map_or(Cell::Null, Cell::Int)).unwrap();
            long.set(3, &Cell::Int(p)).unwrap();
            long.set(4, &u.map_or(Cell::Null, Cell::Int)).unwrap();
            long.end_row();
        }
        let wide = retention_wide(&long, "d").finish().unwrap();
        assert_eq!(
            wide.get_column_names(),
            ["cohort_date", "cohort_end", "cohort_size", "d1", "d7"]
        );
        assert_eq!(wide.height(), 2);
        assert_eq!(wide.column("d1").unwrap().i64().unwrap().get(1), Some(4));
        assert_eq!(wide.column("d7").unwrap().null_count(), 2);
        let empty = retention_wide(&TableBuilder::new(RETENTION_LONG), "d")
            .finish()
            .unwrap();
        assert_eq!(empty.width(), 3);
        assert_eq!(empty.height(), 0);
    }
}
