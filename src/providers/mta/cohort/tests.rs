use super::*;
use polars::prelude::DataType;

fn date_col(name: &str, days: &[i32]) -> Column {
    Series::new(name.into(), days.to_vec())
        .cast(&DataType::Date)
        .unwrap()
        .into_column()
}

#[test]
fn fills_nulls_and_keeps_sent_sizes() {
    // 2024-03-01 = 19783
    let ret = DataFrame::new_infer_height(vec![
        date_col("cohort_date", &[19783, 19783, 19784, 19785]),
        Series::new("cohort_size".into(), [None, None, Some(5i64), None]).into_column(),
        Series::new("users".into(), [Some(3i64), Some(2), Some(1), Some(0)]).into_column(),
    ])
    .unwrap();
    let sizes = DataFrame::new_infer_height(vec![
        date_col("date", &[19783, 19784]),
        Series::new("new_users".into(), [Some(40i64), Some(50)]).into_column(),
    ])
    .unwrap();
    let out = fill(ret, &sizes).unwrap();
    assert_eq!(
        ints(&out, "cohort_size").unwrap(),
        [Some(40), Some(40), Some(5), None]
    );
    let names: Vec<&str> = out.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["cohort_date", "cohort_size", "users"]);
}

#[test]
fn sizes_request_follows_the_retention_request() {
    let opts = HashMap::from([("channel".to_string(), "store".to_string())]);
    let r = Request::new("retention", "2024-03-01", "2024-03-07", &opts).unwrap();
    assert!(r.cohort_size);
    let s = sizes_request(&r).unwrap().unwrap();
    assert_eq!(s.report.name, "user_basic");
    assert_eq!(s.report.channel.as_deref(), Some("store"));
    assert_eq!((s.start, s.end), (r.start, r.end));
    let off = HashMap::from([("cohort_size".to_string(), "False".to_string())]);
    let r = Request::new("retention", "2024-03-01", "2024-03-07", &off).unwrap();
    assert!(sizes_request(&r).unwrap().is_none());
    let e = Request::new("crash", "2024-03-01", "2024-03-07", &off).unwrap_err();
    assert!(e.to_string().contains("retention only"), "{e}");
    let bad = HashMap::from([("cohort_size".to_string(), "maybe".to_string())]);
    assert!(Request::new("retention", "2024-03-01", "2024-03-07", &bad).is_err());
}
