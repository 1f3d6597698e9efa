use super::*;
use chrono::NaiveDate;
use polars::prelude::*;
use std::time::Duration;

const ALL: &str = fixture!("tim/getappinfo_all.json");
const SOME: &str = fixture!("tim/getappinfo_fields.json");

fn snake(s: &str) -> String {
    // Mechanical snake_case: a capital after a lower-case letter or
    // before a lower-case letter (after capitals) starts a word; C2C is
    // one word.
    let s = s.replace("C2C", "C2c");
    let c: Vec<char> = s.chars().collect();
    let mut out = String::new();
    for (i, &ch) in c.iter().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            let prev = c[i - 1];
            let next_lower = c.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('_');
            }
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

#[test]
fn field_table() {
    assert_eq!(FIELDS.len(), 37, "Date + the 36 pullable fields");
    for (o, s, _) in FIELDS {
        assert_eq!(snake(o), *s, "{o}");
    }
    let mut names: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), FIELDS.len());
    // Every key of the Chinese full sample is a known field.
    let keys = ALL.matches("\":").count() - 3; // minus the envelope keys
    assert_eq!(keys, FIELDS.len());
}

#[test]
fn full_sample() {
    let df = parse_saved(ALL).unwrap();
    assert_eq!(df.shape(), (1, 37));
    assert_eq!(df.get_column_names()[0].as_str(), "date");
    let d = df.column("date").unwrap();
    assert_eq!(d.dtype(), &DataType::Date);
    assert_eq!(
        d.date().unwrap().as_date_iter().next().unwrap(),
        NaiveDate::from_ymd_opt(2016, 6, 7)
    );
    let i = |c: &str| df.column(c).unwrap().i64().unwrap().get(0);
    assert_eq!(i("active_user_num"), Some(2014));
    assert_eq!(i("regist_user_num_total"), Some(53091));
    assert_eq!(i("call_back_rsp"), Some(72902));
    assert_eq!(i("voice_msg_out_num"), Some(0));
    let s = |c: &str| {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .map(str::to_string)
    };
    assert_eq!(s("app_id").as_deref(), Some("1104620500"));
    assert_eq!(s("app_name").as_deref(), Some("实时通信场景体验版"));
    assert_eq!(s("company").as_deref(), Some("林野"));
    assert_eq!(s("qq").as_deref(), Some("2819697038"));
    for (_, name, kind) in FIELDS {
        assert_eq!(df.column(name).unwrap().dtype(), &kind.dtype(), "{name}");
        assert_eq!(df.column(name).unwrap().null_count(), 0, "{name}");
    }
}

#[test]
fn english_sample_lacks_five_fields() {
    let text = fixture!("tim/getappinfo_all_en.json");
    let df = parse_saved(text).unwrap();
    assert_eq!(df.shape(), (1, 37));
    for c in ["qq", "text_msg_in_num", "voice_msg_out_num"] {
        assert_eq!(df.column(c).unwrap().null_count(), 1, "{c}");
    }
    assert_eq!(
        df.column("up_msg_num").unwrap().i64().unwrap().get(0),
        Some(60642)
    );
}

#[test]
fn selected_fields_sorted_by_date() {
    let sel = select(Some(&["chain_decrease".into(), "ChainIncrease".into()])).unwrap();
    let df = finish(parse_reply(SOME, &sel, "").unwrap()).unwrap();
    let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["date", "chain_decrease", "chain_increase"]);
    let dates: Vec<_> = df
        .column("date")
        .unwrap()
        .date()
        .unwrap()
        .as_date_iter()
        .collect();
    assert_eq!(
        dates,
        [
            NaiveDate::from_ymd_opt(2016, 6, 4),
            NaiveDate::from_ymd_opt(2016, 6, 5)
        ]
    );
    let inc: Vec<_> = df
        .column("chain_increase")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(inc, [Some(17), Some(8)]);
    // The same reply read with the full schema: other columns null.
    let full = parse_saved(SOME).unwrap();
    assert_eq!(full.shape(), (2, 37));
    assert_eq!(full.column("active_user_num").unwrap().null_count(), 2);
}

#[test]
fn selection_rules() {
    assert_eq!(select(None).unwrap(), None);
    let s = select(Some(&["Date".into(), "QQ".into(), "qq".into()])).unwrap();
    assert_eq!(s, Some(vec![DATE, 4]));
    assert_eq!(request_body(&s), r#"{"RequestField":["Date","QQ"]}"#);
    assert_eq!(request_body(&None), "{}");
    let e = select(Some(&["ActiveUsers".into()])).unwrap_err();
    let m = e.to_string();
    assert!(
        m.contains("\"ActiveUsers\"") && m.contains("ActiveUserNum (active_user_num)"),
        "{m}"
    );
    assert!(select(Some(&[])).is_err());
    assert_eq!(field_index("activeusernum"), Some(5));
}

#[test]
fn empty_and_odd_replies() {
    for text in [
        r#"{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Result":[]}"#,
        r#"{"ErrorCode":0,"Result":null}"#,
        r#"{"ActionStatus":"OK","Result":[]}"#,
    ] {
        let df = parse_saved(text).unwrap();
        assert_eq!(df.shape(), (0, 37), "{text}");
        assert_eq!(df.column("date").unwrap().dtype(), &DataType::Date);
        assert_eq!(df.column("app_id").unwrap().dtype(), &DataType::String);
    }
    let sel = select(Some(&["MaxOnlineNum".into()])).unwrap();
    let t = parse_reply(r#"{"ErrorCode":0,"Result":[]}"#, &sel, "").unwrap();
    assert_eq!(finish(t).unwrap().shape(), (0, 2));
    // "" values and missing keys are null; unknown keys are ignored.
    let df = parse_saved(
        r#"{"ErrorCode":"0","Result":[{"Date":"20240102","ActiveUserNum":"","AppName":"","NewThing":"1","LoginTimes":"1,234"},
                                      {"Date":"20240101","ActiveUserNum":"5"}]}"#,
    )
    .unwrap();
    assert_eq!(df.height(), 2);
    let a: Vec<_> = df
        .column("active_user_num")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(a, [Some(5), None]);
    let l: Vec<_> = df
        .column("login_times")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(l, [None, Some(1234)]);
    assert_eq!(df.column("app_name").unwrap().null_count(), 2);
    // Numbers instead of strings are accepted too.
    let df = parse_saved(
        r#"{"ErrorCode":0,"Result":[{"Date":20240101,"AppId":1400000000,"UpMsgNum":3}]}"#,
    )
    .unwrap();
    assert_eq!(
        df.column("app_id").unwrap().str().unwrap().get(0),
        Some("1400000000")
    );
}

#[test]
fn row_dates() {
    let t = parse_reply(
        r#"{"ErrorCode":0,"Result":[{"Date":"20240105"},{"Date":"20240101"},{"Date":"20240102"}]}"#,
        &None,
        "",
    )
    .unwrap();
    let m: Vec<String> = dates(&t).iter().map(|d| d.to_string()).collect();
    assert_eq!(m, ["2024-01-01", "2024-01-02", "2024-01-05"]);
}

#[test]
fn malformed_replies() {
    for text in [
        "",
        "<html>502</html>",
        r#"{"ErrorCode":0}"#,
        r#"{"Result":[]}"#,
        r#"{"ErrorCode":0,"Result":[{"ActiveUserNum":"1"}]}"#,
        r#"{"ErrorCode":0,"Result":[{"Date":""}]}"#,
        r#"{"ErrorCode":0,"Result":[{"Date":"2024-13-01"}]}"#,
        r#"{"ErrorCode":0,"Result":[{"Date":"20240101","ActiveUserNum":"many"}]}"#,
        r#"{"ErrorCode":0,"Result":[{"Date":"20240101"},{"Date":"20240101"}]}"#,
        r#"{"ErrorCode":0,"Result":{"Date":"20240101"}}"#,
        r#"{"ErrorCode":"x","Result":[]}"#,
    ] {
        let e = parse_saved(text).unwrap_err();
        assert_eq!(e.kind(), "malformed", "{text}: {e}");
    }
    let e = parse_saved(r#"{"ErrorCode":0,"Result":[{"Date":"20240101","UpMsgNum":"x"}]}"#)
        .unwrap_err();
    assert!(e.to_string().contains("UpMsgNum"), "{e}");
    let e = parse_saved(r#"{"ActionStatus":"FAIL","ErrorInfo":"boom"}"#).unwrap_err();
    assert_eq!(e.kind(), "api");
}

#[test]
fn error_codes() {
    let err = |code: i64| {
        parse_reply(
            &format!(r#"{{"ActionStatus":"FAIL","ErrorCode":{code},"ErrorInfo":"x usersig=abc"}}"#),
            &None,
            "adminapisgp.im.qcloud.com",
        )
        .unwrap_err()
    };
    for c in [60007, 60011, 60018, 60019] {
        assert_eq!(err(c).kind(), "rate_limited", "{c}");
        assert!(err(c).retryable());
    }
    for c in [60008, 70169, 70500, 130009, 130010, 130011, 130012] {
        assert_eq!(err(c).kind(), "server", "{c}");
        assert!(err(c).retryable());
    }
    for c in [70001, 70052] {
        assert!(
            matches!(
                err(c),
                Error::Auth {
                    renewable: true,
                    ..
                }
            ),
            "{c}"
        );
    }
    match err(70050) {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(60)))
        }
        e => panic!("{e:?}"),
    }
    for c in [60004, 60005, 70003, 70005, 60006, 60010, 70009, 70016] {
        let e = err(c);
        assert!(
            matches!(
                e,
                Error::Auth {
                    renewable: false,
                    ..
                }
            ),
            "{c}"
        );
        assert!(!e.retryable());
        assert!(!e.to_string().contains("abc"), "{e}");
    }
    assert!(err(70009).to_string().contains("secret_key"));
    assert!(err(60010).to_string().contains("admin"));
    assert!(err(70016).to_string().contains("adminapisgp.im.qcloud.com"));
    assert_eq!(err(130001).kind(), "api");
    assert!(!err(130001).retryable());
    assert_eq!(err(99999).code(), Some(99999));
}
