//! Helpers shared by the providers: argument validation messages, user
//! dates, China's today, and the one check of expected against received
//! dates ([`DateCoverage`]).

use chrono::NaiveDate;

use crate::error::{Error, Result};

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

/// China's offset from UTC (UTC+8, no daylight saving): the time zone of
/// all three providers' dates. Written once; the sandbox and Python
/// (`_native.today_cn`) use it from here.
pub const CHINA_UTC_OFFSET: chrono::TimeDelta = chrono::TimeDelta::hours(8);

/// The wall-clock time in China at `now`.
pub fn china_time(now: chrono::DateTime<chrono::Utc>) -> chrono::NaiveDateTime {
    (now + CHINA_UTC_OFFSET).naive_utc()
}

/// Today in China (UTC+8), the time zone of all three providers' dates.
pub fn today_cn() -> NaiveDate {
    china_time(chrono::Utc::now()).date()
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

#[cfg(test)]
mod tests;
