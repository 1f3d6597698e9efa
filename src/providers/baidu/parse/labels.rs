//! Period labels (`2019/04/10`, `2019/04/01 - 2019/04/07`, `2019/04`,
//! hourly `00:00 - 00:59`) and retention keys (`第N天/周/月`).

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::super::endpoints::Gran;

/// Parse a period label: `2019/04/10`, `2019/04/01 - 2019/04/07`,
/// `2019/04`, or (hourly) `00:00 - 00:59` / `13` on `day`.
pub fn parse_period(
    label: &str,
    gran: Gran,
    day: Option<NaiveDate>,
) -> Option<(NaiveDateTime, NaiveDate)> {
    let t = label.trim();
    if gran == Gran::Hour || (t.len() <= 13 && t.contains(':')) {
        let day = day?;
        let h: u32 = t.split([':', ' ', '时']).next()?.trim().parse().ok()?;
        let time = NaiveTime::from_hms_opt(h, 0, 0)?;
        return Some((day.and_time(time), day));
    }
    if let Some((a, b)) = t.split_once(" - ").or_else(|| {
        t.split_once('-')
            .filter(|_| !t.contains(' ') && t.len() > 10)
    }) {
        let a = crate::table::parse_date(a)?;
        let b = crate::table::parse_date(b)?;
        return Some((a.and_time(NaiveTime::MIN), b));
    }
    if let Some(d) = crate::table::parse_date(t) {
        return Some((d.and_time(NaiveTime::MIN), d));
    }
    // `2019/04` or `201904`: the calendar month.
    // (`get` instead of indexing: labels may hold non-ASCII text)
    let (y, m) = if t.len() == 7 && (t.as_bytes()[4] == b'/' || t.as_bytes()[4] == b'-') {
        (t.get(..4)?.parse().ok()?, t.get(5..)?.parse().ok()?)
    } else if t.len() == 6 {
        (t.get(..4)?.parse().ok()?, t.get(4..)?.parse().ok()?)
    } else {
        return None;
    };
    let first = NaiveDate::from_ymd_opt(y, m, 1)?;
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)?
    };
    Some((first.and_time(NaiveTime::MIN), next.pred_opt()?))
}

/// The first day of a `time_span` like `2019/04/10 - 2019/04/15`.
pub(super) fn span_start(span: Option<&str>) -> Option<NaiveDate> {
    let s = span?;
    crate::table::parse_date(s.split(" - ").next()?.trim())
}

/// `第12天` → 12 (also `第2周`, `第3月`); `None` for other keys, an error
/// for a `第…天/周/月` key without a period number (`第X天`).
pub fn retention_period(key: &str) -> Result<Option<i64>, String> {
    // (no trim unless needed: this runs for every cell of a cohort)
    let Some(rest) = key
        .strip_prefix('第')
        .map(|r| r.strip_suffix(char::is_whitespace).map_or(r, str::trim_end))
        .or_else(|| key.trim().strip_prefix('第'))
    else {
        return Ok(None);
    };
    let Some(n) = rest
        .strip_suffix('天')
        .or_else(|| rest.strip_suffix('日'))
        .or_else(|| rest.strip_suffix('周'))
        .or_else(|| rest.strip_suffix('月'))
    else {
        return Ok(None);
    };
    match n.parse::<i64>().or_else(|_| n.trim().parse::<i64>()) {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(format!(
            "retention key {key:?} has no period number (expected 第N天, 第N周 or 第N月)"
        )),
    }
}
