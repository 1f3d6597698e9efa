//! The long → wide retention pivot: Baidu and MTA build the same long
//! retention frame (so users can concatenate them), and pivot it the same
//! way.

use crate::providers::common::days_to_date;
use crate::table::{Column, Kind, TableBuilder};

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
mod tests;
