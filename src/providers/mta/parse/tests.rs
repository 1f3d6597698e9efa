//! The MTA parser on hand-made replies and on the document's samples.

use super::*;
use polars::prelude::{DataFrame, DataType};
use std::collections::HashMap;

fn report(name: &str, opts: &[(&str, &str)]) -> Report {
    let o: HashMap<String, String> = opts
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Report::from_args(name, &o).unwrap()
}

fn ints(df: &DataFrame, col: &str) -> Vec<Option<i64>> {
    let c = df.column(col).unwrap().i64().unwrap();
    (0..c.len()).map(|i| c.get(i)).collect()
}

fn strs(df: &DataFrame, col: &str) -> Vec<Option<String>> {
    let c = df.column(col).unwrap().str().unwrap();
    (0..c.len()).map(|i| c.get(i).map(str::to_string)).collect()
}

fn dtypes(df: &DataFrame) -> Vec<(String, DataType)> {
    df.columns()
        .iter()
        .map(|c| (c.name().to_string(), c.dtype().clone()))
        .collect()
}

fn date_strs(df: &DataFrame, col: &str) -> Vec<String> {
    let t = df.column(col).unwrap().cast(&DataType::String).unwrap();
    let c = t.str().unwrap();
    (0..c.len())
        .map(|i| c.get(i).unwrap_or("null").to_string())
        .collect()
}

#[test]
fn user_basic_sorted_and_loose_numbers() {
    let r = report("user_basic", &[]);
    let df = parse_reply(&r, fixture!("mta/user_basic.json")).unwrap();
    assert_eq!(
        df.get_column_names(),
        [
            "date",
            "new_users",
            "active_users",
            "sessions",
            "total_users",
            "active_accounts",
            "unique_users"
        ]
    );
    assert_eq!(df.column("date").unwrap().dtype(), &DataType::Date);
    // sorted by date although the reply lists 03-02 first
    assert_eq!(date_strs(&df, "date"), ["2024-03-01", "2024-03-02"]);
    assert_eq!(ints(&df, "new_users"), [Some(120), Some(1234)]);
    assert_eq!(ints(&df, "total_users"), [Some(97531), Some(98765)]);
    assert_eq!(ints(&df, "active_accounts"), [Some(33), None]);
    assert_eq!(ints(&df, "unique_users"), [Some(350), None]);
    // a subset of metrics gives only those columns
    let r = report("user_basic", &[("metrics", "sessions")]);
    let df = parse_reply(&r, fixture!("mta/user_basic.json")).unwrap();
    assert_eq!(df.get_column_names(), ["date", "sessions"]);
}

#[test]
fn realtime_flat_object() {
    let r = report("realtime", &[]);
    let df = parse_reply(&r, fixture!("mta/realtime.json")).unwrap();
    assert_eq!(df.height(), 1);
    assert_eq!(date_strs(&df, "date"), ["2024-03-05"]);
    assert_eq!(ints(&df, "total_users"), [Some(10015)]);
    assert_eq!(ints(&df, "active_accounts"), [None]);
    // a date-keyed realtime reply is read as well
    let df = parse_reply(
        &r,
        r#"{"ret_code":60000,"ret_data":{"2024-03-05":{"NewUser":"1"}}}"#,
    )
    .unwrap();
    assert_eq!(ints(&df, "new_users"), [Some(1)]);
}

#[test]
fn active_usage_crash() {
    // payload under `data` instead of `ret_data`
    let df = parse_reply(
        &report("active_users", &[]),
        fixture!("mta/active_users.json"),
    )
    .unwrap();
    assert_eq!(
        df.get_column_names(),
        [
            "date",
            "daily_active_users",
            "weekly_active_users",
            "monthly_active_users"
        ]
    );
    assert_eq!(ints(&df, "weekly_active_users"), [Some(2100)]);
    // ret_code as a string; Float64 durations
    let df = parse_reply(&report("usage", &[]), fixture!("mta/usage.json")).unwrap();
    assert_eq!(
        df.column("time_per_user").unwrap().dtype(),
        &DataType::Float64
    );
    let c = df.column("pages_per_session").unwrap().f64().unwrap();
    assert_eq!(c.get(0), None);
    let c = df.column("time_per_user").unwrap().f64().unwrap();
    assert_eq!(c.get(0), Some(125.5));
    let df = parse_reply(&report("crash", &[]), fixture!("mta/crash.json")).unwrap();
    assert_eq!(ints(&df, "error_count"), [Some(12), Some(0)]);
    assert_eq!(ints(&df, "error_users"), [Some(7), Some(0)]);
}

#[test]
fn terminal_rows() {
    let r = report("terminal", &[("terminal_type", "os")]);
    let df = parse_reply(&r, fixture!("mta/terminal.json")).unwrap();
    assert_eq!(
        df.get_column_names(),
        [
            "terminal_type",
            "rank",
            "terminal",
            "new_users",
            "active_users",
            "sessions"
        ]
    );
    assert_eq!(ints(&df, "rank"), [Some(1), Some(2), Some(3)]);
    assert_eq!(
        strs(&df, "terminal"),
        [Some("Android 13".into()), Some("iOS 17.2".into()), None]
    );
    assert_eq!(strs(&df, "terminal_type")[2].as_deref(), Some("os"));
    assert_eq!(ints(&df, "active_users"), [Some(2000), Some(1500), None]);
}

#[test]
fn frequency_buckets() {
    let df = parse_reply(&report("frequency", &[]), fixture!("mta/frequency.json")).unwrap();
    assert_eq!(
        df.get_column_names(),
        ["bucket", "section", "new_users", "active_users"]
    );
    assert_eq!(ints(&df, "bucket"), [Some(0), Some(1), Some(2)]);
    assert_eq!(strs(&df, "section")[2].as_deref(), Some("50次以上"));
    assert_eq!(ints(&df, "new_users"), [Some(100), Some(40), None]);
}

#[test]
fn crash_env_and_error_list() {
    let r = report("crash_env", &[("dimension", "app_version")]);
    let df = parse_reply(&r, fixture!("mta/crash_env.json")).unwrap();
    assert_eq!(
        df.get_column_names(),
        ["dimension", "value", "error_count", "error_users"]
    );
    assert_eq!(
        strs(&df, "value"),
        [Some("3.2.1".into()), Some("3.2.0".into())]
    );
    assert_eq!(ints(&df, "error_count"), [Some(80), Some(1200)]);
    assert_eq!(strs(&df, "dimension")[0].as_deref(), Some("app_version"));

    let df = parse_reply(&report("error_list", &[]), fixture!("mta/error_list.json")).unwrap();
    let schema = [
        ("rank", DataType::Int64),
        ("key", DataType::String),
        ("error_count", DataType::Int64),
        ("error_users", DataType::Int64),
        ("crash_id", DataType::String),
        ("error_msg", DataType::String),
        ("app_version", DataType::String),
        (
            "first_time",
            DataType::Datetime(polars::prelude::TimeUnit::Microseconds, None),
        ),
    ]
    .map(|(n, t)| (n.to_string(), t));
    assert_eq!(dtypes(&df), schema);
    assert_eq!(
        strs(&df, "crash_id"),
        [Some("12345".into()), None],
        "numbers in text fields are kept as text"
    );
    assert_eq!(strs(&df, "app_version"), [None, Some("3.2.1".into())]);
    assert_eq!(ints(&df, "error_count"), [Some(50), Some(9)]);
    assert_eq!(ints(&df, "rank"), [Some(1), Some(2)]);
    assert_eq!(
        date_strs(&df, "first_time")[0],
        "2024-03-01 10:00:00.000000"
    );
    // keyed form: the key is kept; unknown fields are not read
    let df = parse_reply(
        &report("error_list", &[]),
        r#"{"ret_code":60000,"ret_data":{"abc":{"ErrorNum":"1","ErrorUser":"1","Stack":"x","crashId":"c1"}}}"#,
    )
    .unwrap();
    assert_eq!(strs(&df, "key"), [Some("abc".into())]);
    assert_eq!(strs(&df, "crash_id"), [Some("c1".into())]);
    assert_eq!(dtypes(&df), schema);
    // the same schema for an empty reply and for a subset of metrics
    let empty = parse_reply(&report("error_list", &[]), fixture!("mta/empty.json")).unwrap();
    assert_eq!(dtypes(&empty), schema);
    let one = parse_reply(
        &report("error_list", &[("metrics", "error_users")]),
        fixture!("mta/error_list.json"),
    )
    .unwrap();
    assert_eq!(
        one.get_column_names(),
        [
            "rank",
            "key",
            "error_users",
            "crash_id",
            "error_msg",
            "app_version",
            "first_time"
        ]
    );
    let e = parse_reply(
        &report("error_list", &[]),
        r#"{"ret_code":60000,"ret_data":[{"ErrorNum":"1","FirstTime":"soon"}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("FirstTime"), "{e}");
}

#[test]
fn retention_long_and_wide() {
    let r = report("retention", &[]);
    let long = parse_reply(&r, fixture!("mta/retention.json")).unwrap();
    assert_eq!(
        dtypes(&long),
        [
            ("cohort_date".to_string(), DataType::Date),
            ("cohort_end".to_string(), DataType::Date),
            ("cohort_size".to_string(), DataType::Int64),
            ("period".to_string(), DataType::Int64),
            ("users".to_string(), DataType::Int64),
        ]
    );
    assert_eq!(long.height(), 18);
    assert_eq!(long.column("cohort_size").unwrap().null_count(), 18);
    assert_eq!(
        ints(&long, "period")[..9],
        [1, 2, 3, 4, 5, 6, 7, 14, 30].map(Some)
    );
    assert_eq!(ints(&long, "users")[7], Some(22));
    assert_eq!(date_strs(&long, "cohort_end")[0], "2024-03-01");

    let r = report("retention", &[("shape", "wide"), ("metrics", "d1,d7,d30")]);
    let wide = parse_reply(&r, fixture!("mta/retention.json")).unwrap();
    assert_eq!(
        wide.get_column_names(),
        [
            "cohort_date",
            "cohort_end",
            "cohort_size",
            "d1",
            "d7",
            "d30"
        ]
    );
    assert_eq!(ints(&wide, "d1"), [Some(60), Some(55)]);
    assert_eq!(ints(&wide, "d7"), [Some(30), None]);
    // fixed schema when empty
    let empty = parse_reply(&r, fixture!("mta/empty.json")).unwrap();
    assert_eq!(empty.height(), 0);
    assert_eq!(dtypes(&empty), dtypes(&wide));
    // a cohort size, when sent, is kept
    let df = parse_reply(
        &report("retention", &[("metrics", "d1")]),
        r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"NewUser":"100","D1RepeatUser":40}}}"#,
    )
    .unwrap();
    assert_eq!(ints(&df, "cohort_size"), [Some(100)]);
}

#[test]
fn retention_percentages() {
    let r = report("retention", &[("metrics", "d1,d2,d7")]);
    // percentages with and without %, a whole one, a gap, a JSON number
    let text = r#"{"ret_code":60000,"ret_data":{
        "2024-03-02":{"D1RepeatUser":"35.2%","D2RepeatUser":"20","D7RepeatUser":"-"},
        "2024-03-01":{"D1RepeatUser":"40.5","D2RepeatUser":21.25,"D7RepeatUser":"9.0%"}}}"#;
    let long = parse_reply(&r, text).unwrap();
    assert_eq!(
        dtypes(&long)[3..],
        [
            ("period".to_string(), DataType::Int64),
            ("ratio".to_string(), DataType::Float64)
        ]
    );
    let ratio: Vec<Option<f64>> = long
        .column("ratio")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(
        ratio,
        [
            Some(40.5),
            Some(21.25),
            Some(9.0),
            Some(35.2),
            Some(20.0),
            None
        ]
    );
    let wide = parse_reply(
        &report("retention", &[("metrics", "d1,d2,d7"), ("shape", "wide")]),
        text,
    )
    .unwrap();
    assert_eq!(
        wide.get_column_names(),
        ["cohort_date", "cohort_end", "cohort_size", "d1", "d2", "d7"]
    );
    for c in ["d1", "d2", "d7"] {
        assert_eq!(wide.column(c).unwrap().dtype(), &DataType::Float64, "{c}");
    }
    // counts stay counts (Int64 users), also with separators and "12.0"
    let counts = parse_reply(
        &r,
        r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"D1RepeatUser":"1,204","D2RepeatUser":"12.0"}}}"#,
    )
    .unwrap();
    assert_eq!(ints(&counts, "users"), [Some(1204), Some(12), None]);
    // a stitched fetch: one window of percentages makes all ratios
    let mut rows = parse_rows(
        &r,
        r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"D1RepeatUser":"30"}}}"#,
    )
    .unwrap();
    rows.append(
        parse_rows(
            &r,
            r#"{"ret_code":60000,"ret_data":{"2024-03-02":{"D1RepeatUser":"30.5%"}}}"#,
        )
        .unwrap(),
    );
    let both = finish(&r, rows).unwrap();
    let ratio: Vec<Option<f64>> = both
        .column("ratio")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(ratio[0], Some(30.0));
    assert_eq!(ratio[3], Some(30.5));
    // not a number, or a whole number beyond i64: errors naming it
    for (bad, words) in [
        (r#""many""#, "\"many\""),
        (r#""99999999999999999999""#, "does not fit"),
        (r#"[35.2]"#, "a list"),
    ] {
        let e = parse_reply(
            &r,
            &format!(
                r#"{{"ret_code":60000,"ret_data":{{"2024-03-01":{{"D1RepeatUser":{bad}}}}}}}"#
            ),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains(words) && e.to_string().contains("D1RepeatUser"),
            "{e}"
        );
    }
}

#[test]
fn empty_replies_keep_schema() {
    for (name, _, _, _) in super::super::endpoints::REPORTS {
        let r = report(name, &[]);
        for text in [
            fixture!("mta/empty.json"),
            r#"{"ret_code":60000,"ret_msg":"ok","ret_data":""}"#,
            r#"{"ret_code":60000,"ret_msg":"ok","ret_data":null}"#,
            r#"{"ret_code":60000,"ret_msg":"ok","ret_data":{}}"#,
            r#"{"ret_code":60000,"ret_msg":"ok"}"#,
        ] {
            let df = parse_reply(&r, text).unwrap();
            assert_eq!(df.height(), 0, "{name}");
            let want: Vec<String> = schema(&r).into_iter().map(|(n, _)| n).collect();
            let got: Vec<String> = df
                .get_column_names()
                .iter()
                .map(|s| s.to_string())
                .collect();
            assert_eq!(got, want, "{name}");
        }
    }
}

#[test]
fn all_missing_values_are_null() {
    let df = parse_reply(&report("user_basic", &[]), fixture!("mta/all_missing.json")).unwrap();
    assert_eq!(df.height(), 1);
    for c in df.columns().iter().skip(1) {
        assert_eq!(c.null_count(), 1, "{}", c.name());
    }
}

#[test]
fn errors() {
    let r = report("user_basic", &[]);
    let e = parse_reply(&r, fixture!("mta/bad_sign.json")).unwrap_err();
    assert!(matches!(e, Error::Auth { code: 60002, .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("secret key"), "{msg}");
    assert!(!msg.contains("91762a3e"), "{msg}");
    let e = parse_reply(&r, r#"{"ret_code":60005,"ret_msg":"请求过于频繁"}"#).unwrap_err();
    assert!(matches!(e, Error::RateLimited { .. }) && e.retryable());
    let e = parse_reply(&r, r#"{"ret_code":60006,"ret_msg":"今日调用次数已达上限"}"#).unwrap_err();
    assert!(matches!(e, Error::QuotaExceeded { .. }));
    let e = parse_reply(&r, r#"{"ret_code":60500,"ret_msg":"系统繁忙"}"#).unwrap_err();
    assert!(matches!(e, Error::Server { .. }) && e.retryable());
    let e = parse_reply(&r, r#"{"ret_code":60001,"ret_msg":"param error"}"#).unwrap_err();
    assert_eq!((e.kind(), e.code()), ("api", Some(60001)));
    for bad in [
        "",
        "not json",
        r#"{"ret_msg":"no code"}"#,
        r#"{"ret_code":"x"}"#,
        r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"NewUser":"many"}}}"#,
        r#"{"ret_code":60000,"ret_data":{"yesterday":{"NewUser":"1"}}}"#,
        r#"{"ret_code":60000,"ret_data":"oops"}"#,
        r#"{"ret_code":60000,"ret_data":[1,2]}"#,
        r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"NewUser":"1"#,
    ] {
        let e = parse_reply(&r, bad).unwrap_err();
        assert!(matches!(e, Error::Malformed { .. }), "{bad}: {e:?}");
    }
    let e = parse_reply(
        &report("retention", &[]),
        r#"{"ret_code":60000,"ret_data":[{"D1RepeatUser":"1"}]}"#,
    )
    .unwrap_err();
    assert!(e.to_string().contains("without a date"), "{e}");
}

#[test]
fn numbers_as_numbers_or_strings() {
    let r = report("crash", &[]);
    let df = parse_reply(
        &r,
        r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"ErrorNum":12,"ErrorUser":"1,002"},"2024-03-02":{"ErrorNum":3.0,"ErrorUser":null}}}"#,
    )
    .unwrap();
    assert_eq!(ints(&df, "error_count"), [Some(12), Some(3)]);
    assert_eq!(ints(&df, "error_users"), [Some(1002), None]);
    // snake_case keys are accepted in place of MTA names
    let df = parse_reply(
        &r,
        r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"error_count":"5"}}}"#,
    )
    .unwrap();
    assert_eq!(ints(&df, "error_count"), [Some(5)]);
}
