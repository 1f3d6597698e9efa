use super::*;

fn no_opts() -> HashMap<String, String> {
    HashMap::new()
}

#[test]
fn every_report_has_a_schema_with_its_default_options() {
    for r in reports() {
        let df = report_schema(r.provider, r.name, &no_opts())
            .unwrap_or_else(|e| panic!("{} {}: {e}", r.provider, r.name));
        assert!(
            df.width() > 0 && df.height() == 0,
            "{} {}",
            r.provider,
            r.name
        );
    }
}

#[test]
fn every_listed_value_is_accepted_by_the_provider() {
    for r in reports() {
        for o in &r.options {
            for v in &o.values {
                if o.name == "tp_endpoint" && *v == "getdata" {
                    continue; // needs a scene, checked below
                }
                let opts = HashMap::from([(o.name.to_string(), v.to_string())]);
                report_schema(r.provider, r.name, &opts).unwrap_or_else(|e| {
                    if !(r.provider == "baidu" && o.name == "shape" && *v == "wide") {
                        panic!("{} {} {}={v}: {e}", r.provider, r.name, o.name)
                    }
                    DataFrame::empty()
                });
            }
        }
    }
    let opts = HashMap::from([
        ("tp_endpoint".to_string(), "getdata".to_string()),
        ("scene".to_string(), "7".to_string()),
    ]);
    report_schema("baidu", "tp_data", &opts).unwrap();
}

/// The listed values of every option, one option at a time (Baidu's
/// wide retention and `getdata` without a scene left out: no schema).
fn variants(r: &ReportInfo) -> Vec<HashMap<String, String>> {
    let mut out = vec![no_opts()];
    for o in &r.options {
        for v in &o.values {
            let wide = o.name == "shape" && *v == "wide" && r.provider == "baidu";
            if wide || *v == "getdata" {
                continue;
            }
            out.push(HashMap::from([(o.name.to_string(), v.to_string())]));
        }
    }
    out
}

fn date_columns(df: &DataFrame) -> Vec<String> {
    df.columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::Date)
        .map(|c| c.name().to_string())
        .collect()
}

/// The day column is the one of the default options (`user_trend`'s
/// is `datetime` with `gran="hour"`, `period_start` with weeks); the
/// kind holds for every option: a keyed report stays keyed by a date or
/// time, a distribution never has a date.
#[test]
fn kinds_and_day_columns() {
    for r in reports() {
        let df = report_schema(r.provider, r.name, &no_opts()).unwrap();
        let dates = date_columns(&df);
        match r.kind {
            Kind::Daily | Kind::Retention => {
                assert_eq!(dates.first(), Some(&r.day_column), "{}", r.name)
            }
            Kind::Distribution => assert_eq!(r.day_column, many::DAY_COLUMN),
        }
        for opts in variants(&r) {
            let df = report_schema(r.provider, r.name, &opts).unwrap();
            let what = format!("{} {} {opts:?}", r.provider, r.name);
            let timed = df
                .columns()
                .iter()
                .any(|c| matches!(c.dtype(), DataType::Datetime(..)));
            match r.kind {
                Kind::Daily | Kind::Retention => {
                    assert!(!date_columns(&df).is_empty() || timed, "{what}")
                }
                Kind::Distribution => assert!(date_columns(&df).is_empty(), "{what}"),
            }
        }
        assert_eq!(
            r.kind == Kind::Retention,
            !r.cohorts.is_empty(),
            "{}",
            r.name
        );
    }
    // MTA says which of its reports are keyed by date (`realtime`: today)
    for r in reports().iter().filter(|r| r.provider == "mta") {
        let k = mta::Report::from_args(r.name, &no_opts()).unwrap().kind;
        let keyed = k.date_keyed() || k == mta::ReportKind::Realtime;
        assert_eq!(r.kind != Kind::Distribution, keyed, "mta {}", r.name);
    }
    let kind = |p: &str, n: &str| {
        reports()
            .into_iter()
            .find(|r| r.provider == p && r.name == n)
    };
    assert_eq!(kind("baidu", "region").unwrap().kind, Kind::Distribution);
    assert_eq!(kind("baidu", "user_trend").unwrap().kind, Kind::Daily);
    assert_eq!(kind("tim", "app_info").unwrap().history_days, Some(30));
}

#[test]
fn a_sliced_option_fills_its_column_with_the_value() {
    let fixture = |r: &ReportInfo| match (r.provider, r.name) {
        ("baidu", "terminal") => fixture!("baidu/getanalysisterminal.json"),
        ("baidu", "visit_character") => fixture!("baidu/getanalysisvisitcharacter.json"),
        ("mta", "terminal") => fixture!("mta/terminal.json"),
        ("mta", "crash_env") => fixture!("mta/crash_env.json"),
        other => panic!("no fixture for the sliced report {other:?}"),
    };
    let mut seen = 0;
    for r in reports() {
        for o in r.options.iter().filter(|o| o.column.is_some()) {
            let column = o.column.unwrap();
            assert!(!o.values.is_empty() && o.default.is_some(), "{}", o.name);
            for v in &o.values {
                let opts = HashMap::from([(o.name.to_string(), v.to_string())]);
                let df = match r.provider {
                    "baidu" => {
                        baidu::parse_saved(r.endpoint, fixture(&r), &opts)
                            .unwrap()
                            .data
                    }
                    _ => mta::parse_saved(r.name, fixture(&r), &opts).unwrap(),
                };
                assert!(df.height() > 0, "{} {}", r.name, v);
                let held: Vec<Option<&str>> =
                    df.column(column).unwrap().str().unwrap().iter().collect();
                assert!(
                    held.iter().all(|h| *h == Some(*v)),
                    "{} {v}: {held:?}",
                    r.name
                );
            }
            seen += 1;
        }
    }
    assert_eq!(
        seen, 4,
        "terminal types (2), visit characters, crash dimensions"
    );
}

#[test]
fn cohort_horizons() {
    let cohorts: Vec<(&str, Vec<Cohort>)> = reports()
        .into_iter()
        .filter(|r| r.kind == Kind::Retention)
        .map(|r| (r.provider, r.cohorts))
        .collect();
    let c = |options: Vec<(&'static str, &'static str)>, period, horizon_days| Cohort {
        options,
        period,
        horizon_days,
    };
    assert_eq!(
        cohorts,
        [
            (
                "baidu",
                vec![
                    c(vec![("gran", "day")], "day", 30),
                    c(vec![("gran", "week")], "week", 9 * 7),
                    c(vec![("gran", "month")], "month", 9 * 31),
                ]
            ),
            ("mta", vec![c(vec![], "day", 31)]),
        ]
    );
    // Baidu's weekly and monthly cohorts end at 第9周 / 第9月, as in the
    // vendor document's samples
    for (gran, text) in [
        ("week", fixture!("baidu/getanalysisretaineduser.week.json")),
        (
            "month",
            fixture!("baidu/getanalysisretaineduser.month.json"),
        ),
    ] {
        let opts = HashMap::from([("gran".to_string(), gran.to_string())]);
        let df = baidu::parse_saved("getanalysisretaineduser", text, &opts)
            .unwrap()
            .data;
        let last = df
            .column("period")
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .flatten()
            .max();
        let g = baidu::Gran::parse(gran, baidu::endpoints::RETENTION_GRANS).unwrap();
        assert_eq!(last, Some(g.retention_periods() as i64), "{gran}");
    }
    // MTA's last retention metric is D30: the 30th day after the cohort's
    let last = mta::endpoints::RETENTION.last().unwrap();
    assert_eq!(mta::endpoints::retention_day(last.mta), Some(30));
}

#[test]
fn bad_options_are_refused() {
    let bad = HashMap::from([("gran".to_string(), "year".to_string())]);
    assert!(report_schema("baidu", "user_trend", &bad).is_err());
    let bad = HashMap::from([("fields".to_string(), "Nope".to_string())]);
    assert!(report_schema("tim", "app_info", &bad).is_err());
    assert!(report_schema("mta", "nope", &no_opts()).is_err());
    assert!(report_schema("x", "y", &no_opts()).is_err());
    let wide = HashMap::from([("shape".to_string(), "wide".to_string())]);
    assert!(report_schema("baidu", "retention", &wide).is_err());
    let some = HashMap::from([("metrics".to_string(), "new_users,10103".to_string())]);
    let df = report_schema("mta", "user_basic", &some).unwrap();
    let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["date", "new_users", "sessions"]); // 10103 is sessions
}
