use super::*;

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
