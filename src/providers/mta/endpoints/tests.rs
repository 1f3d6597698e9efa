use super::*;

fn opts(p: &[(&str, &str)]) -> HashMap<String, String> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn metric_selection() {
    let r = Report::from_args("user_basic", &opts(&[])).unwrap();
    assert_eq!(r.idx(), "10101,10102,10103,10104,10105,10106");
    let r = Report::from_args("realtime", &opts(&[])).unwrap();
    assert_eq!(r.idx(), "10101,10102,10103,10104,10105");
    let r = Report::from_args(
        "user_basic",
        &opts(&[("metrics", "sessions, 10101,new_users")]),
    )
    .unwrap();
    assert_eq!(r.idx(), "10101,10103");
    let e = Report::from_args("user_basic", &opts(&[("metrics", "dau")])).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("new_users (10101)") && msg.contains("unique_users"),
        "{msg}"
    );
    let e = Report::from_args("realtime", &opts(&[("metrics", "10106")])).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)));
    let r = Report::from_args("retention", &opts(&[("metrics", "d30,d1")])).unwrap();
    assert_eq!(r.periods(), vec![1, 30]);
    assert_eq!(r.idx(), "11001,11009");
}

#[test]
fn options() {
    let r = Report::from_args("terminal", &opts(&[("terminal_type", "carrier")])).unwrap();
    assert_eq!((r.ty, r.dimension_name()), (Some(4), Some("carrier")));
    let r = Report::from_args("terminal", &opts(&[("terminal_type", "5")])).unwrap();
    assert_eq!(r.dimension_name(), Some("device"));
    let e = Report::from_args("terminal", &opts(&[("terminal_type", "6")])).unwrap_err();
    assert!(e.to_string().contains("resolution"));
    let r = Report::from_args("crash_env", &opts(&[])).unwrap();
    assert_eq!(r.dimension_name(), Some("app_version"));
    assert!(Report::from_args("crash", &opts(&[("shape", "wide")])).is_err());
    assert!(Report::from_args("error_list", &opts(&[("err_ty", "x")])).is_err());
    let e = Report::from_args("nope", &opts(&[])).unwrap_err();
    assert!(e.to_string().contains("retention"));
    let r = Report::from_args(
        "user_basic",
        &opts(&[("channel", "应用宝"), ("version", " 1.0 ")]),
    )
    .unwrap();
    let p = r.params();
    assert!(p.contains(&("channel", "应用宝".to_string())));
    assert!(p.contains(&("version", "1.0".to_string())));
    assert!(Report::from_args("user_basic", &opts(&[("channel", "a\nb")])).is_err());
    let r = Report::from_endpoint("ctr_usage_anal/get_freq_dis", &opts(&[])).unwrap();
    assert_eq!(r.name, "frequency");
    assert!(Report::from_endpoint("/ctr_x", &opts(&[])).is_err());
}

#[test]
fn ranges_and_windows() {
    let d = |s| parse_user_date("d", s).unwrap();
    let r = Report::from_args("user_basic", &opts(&[])).unwrap();
    assert!(check_range(&r, d("2024-03-02"), d("2024-03-01")).is_err());
    assert!(check_range(&r, d("2023-01-01"), d("2024-03-01")).is_ok());
    let t = Report::from_args("terminal", &opts(&[])).unwrap();
    assert!(check_range(&t, d("2023-01-01"), d("2024-03-01")).is_err());
    assert!(check_range(&t, d("2024-01-01"), d("2024-03-01")).is_ok());
    let w = windows(d("2024-01-01"), d("2024-12-31"));
    assert_eq!(w.len(), 5);
    assert_eq!(w[0], (d("2024-01-01"), d("2024-03-30")));
    assert_eq!(w[1].0, d("2024-03-31"));
    assert_eq!(w[4].1, d("2024-12-31"));
    assert_eq!(windows(d("2024-01-01"), d("2024-01-01")).len(), 1);
    assert!(parse_range("2024-02-30", "2024-03-01").is_err());
    assert_eq!(retention_day("D14RepeatUser"), Some(14));
    assert_eq!(retention_day("d7"), Some(7));
    assert_eq!(retention_day("NewUser"), None);
}
