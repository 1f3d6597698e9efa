use super::*;

fn opts(p: &[(&str, &str)]) -> HashMap<String, String> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn validation() {
    assert!(Report::from_args("user_trend", &opts(&[("gran", "hour")])).is_ok());
    let e = Report::from_args("retention", &opts(&[("gran", "hour")])).unwrap_err();
    assert!(
        e.to_string().contains("valid values: day, week, month"),
        "{e}"
    );
    let e = Report::from_args("terminal", &opts(&[("terminal_type", "cpu")])).unwrap_err();
    assert!(e.to_string().contains("terminal_network"));
    assert_eq!(
        Report::from_args("terminal", &opts(&[("terminal_type", "os")])).unwrap(),
        Report::Terminal {
            terminal_type: "terminal_os".into()
        }
    );
    assert!(Report::from_args("nope", &opts(&[])).is_err());
    assert!(Report::from_args("region", &opts(&[("gran", "day")])).is_err());
    let e = Report::from_args("tp_data", &opts(&[("scene", "1"), ("metrics", "x")])).unwrap_err();
    assert!(e.to_string().contains("tp_day_app_count"));
    // the TP totals: the SDKs' gettpdata by default, the document's getdata as an option
    let tp = Report::from_args("tp_data", &opts(&[("scene", "1")])).unwrap();
    assert_eq!(
        (tp.endpoint(), tp.page_size_param(), tp.is_get()),
        ("gettpdata", Some("max_results"), true)
    );
    assert_eq!(tp.page_rows(50), 50);
    let doc = Report::from_args(
        "tp_data",
        &opts(&[("scene", "1"), ("tp_endpoint", "getdata")]),
    )
    .unwrap();
    assert_eq!(
        (doc.endpoint(), doc.page_size_param()),
        ("getdata", Some("max_result"))
    );
    assert_eq!(
        Report::from_endpoint("getdata", &opts(&[]))
            .unwrap()
            .endpoint(),
        "getdata"
    );
    assert_eq!(
        Report::from_endpoint("gettpdata", &opts(&[]))
            .unwrap()
            .endpoint(),
        "gettpdata"
    );
    let e =
        Report::from_args("tp_data", &opts(&[("scene", "1"), ("tp_endpoint", "x")])).unwrap_err();
    assert!(e.to_string().contains("gettpdata, getdata"), "{e}");
    // scene is optional in gettpdata (all scenes' totals: no `scene`
    // sent), sent when given, required by the document's getdata
    let all = Report::from_args("tp_data", &opts(&[])).unwrap();
    assert_eq!(
        (all.endpoint(), &all),
        (
            "gettpdata",
            &Report::TpData {
                scene: None,
                metrics: TP_METRICS.iter().map(|(m, _)| m.to_string()).collect(),
                endpoint: TpEndpoint::GetTpData,
            }
        )
    );
    let names = |r: &Report| r.params().into_iter().map(|(k, _)| k).collect::<Vec<_>>();
    assert_eq!(names(&all), ["metrics"]);
    assert_eq!(names(&tp), ["scene", "metrics"]);
    assert_eq!(tp.params()[0].1, "1");
    let e = Report::from_args("tp_data", &opts(&[("tp_endpoint", "getdata")])).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    assert!(e.to_string().contains("getdata\" needs scene"), "{e}");
    for bad in ["one", "", "1.5"] {
        let e = Report::from_args("tp_data", &opts(&[("scene", bad)])).unwrap_err();
        assert!(e.to_string().contains("scene must be an integer"), "{e}");
    }
    // a saved getdata reply parses without a scene
    assert_eq!(
        Report::from_endpoint("getdata", &opts(&[("tp_endpoint", "getdata")]))
            .unwrap()
            .endpoint(),
        "getdata"
    );
    // the analysis endpoints take no page size: the service pages at 20
    for (name, _) in REPORTS.iter().filter(|(n, _)| *n != "tp_data") {
        let r = Report::from_args(name, &opts(&[])).unwrap();
        assert_eq!(r.page_size_param(), None, "{name}");
        assert_eq!(r.page_rows(5), SERVICE_PAGE_ROWS, "{name}");
    }
    let d = |s| parse_user_date("start", s).unwrap();
    let r = Report::Region;
    assert!(check_range(&r, d("2024-03-02"), d("2024-03-01")).is_err());
    assert!(check_range(&r, d("2024-01-01"), d("2025-06-01")).is_err());
    assert!(parse_user_date("start", "2024-02-30").is_err());
}
