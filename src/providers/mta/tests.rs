use super::*;

fn no_opts() -> HashMap<String, String> {
    HashMap::new()
}

#[test]
fn client_validation_and_redaction() {
    let cfg = || HttpConfig::new(10, 2);
    assert!(Client::new("", "s", None, cfg()).is_err());
    assert!(Client::new("123", " ", None, cfg()).is_err());
    assert!(Client::new("123", "s", Some("ftp://x"), cfg()).is_err());
    let c = Client::new("123", "top-secret", None, cfg()).unwrap();
    assert_eq!(c.base_url(), DEFAULT_BASE_URL);
    assert!(!format!("{c:?}").contains("top-secret"));
    let req = Request::new("crash", "2024-03-01", "2024-03-02", &no_opts()).unwrap();
    let p = c.signed_params(&req.report, (req.start, req.end));
    let names: Vec<&str> = p.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        names,
        ["app_id", "start_date", "end_date", "idx", "sign"],
        "dates as YYYY-MM-DD, sign last"
    );
    assert_eq!(p[1].1, "2024-03-01");
    // realtime sends no dates and ignores empty ones
    let rt = Request::new("realtime", "", "", &no_opts()).unwrap();
    let p = c.signed_params(&rt.report, (rt.start, rt.end));
    assert_eq!(p.len(), 3);
    assert!(Request::new("crash", "2024-03-02", "2024-03-01", &no_opts()).is_err());
    assert!(Request::new("crash", "", "", &no_opts()).is_err());
}

#[test]
fn decode_and_date_checks() {
    let r = Report::from_args("crash", &no_opts()).unwrap();
    let reply = |status: u16, body: &str| Reply::new(status, body.to_string());
    let e = decode(&r, &reply(200, "<html>")).unwrap_err();
    assert!(matches!(e, Error::Malformed { .. }));
    let rows = decode(&r, &reply(200, fixture!("mta/crash.json"))).unwrap();
    let d = |s| crate::table::parse_date(s).unwrap();
    assert!(check_dates(&r, &rows, (d("2024-03-01"), d("2024-03-02"))).is_ok());
    let e = check_dates(&r, &rows, (d("2024-02-28"), d("2024-03-02"))).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Incomplete { .. }));
    assert!(msg.contains("2 day(s) missing") && msg.contains("2024-02-28, 2024-02-29"));
    let e = check_dates(&r, &rows, (d("2024-03-01"), d("2024-03-01"))).unwrap_err();
    assert!(e.to_string().contains("outside"), "{e}");
}

#[test]
fn saved_replies() {
    let text = fixture!("mta/retention.json");
    let mut o = no_opts();
    o.insert("shape".into(), "wide".into());
    let df = parse_saved("/ctr_user_retention/get_offline_data", text, &o).unwrap();
    assert_eq!(df.height(), 2);
    assert_eq!(df.width(), 3 + 9);
    let df = parse_saved("retention", text, &no_opts()).unwrap();
    assert_eq!(df.height(), 18);
    assert!(parse_saved("nope", text, &no_opts()).is_err());
}
