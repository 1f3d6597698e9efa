use std::collections::HashMap;
use std::time::Duration;

use super::super::{Config, Fault, FaultKind, Sandbox};
use crate::http::{HttpConfig, Progress};
use crate::providers::mta::{Client, Request};
use crate::Error;

fn client(sb: &Sandbox, secret: &str) -> Client {
    let mut cfg = HttpConfig::new(200, 4);
    cfg.retry.backoff = Duration::from_millis(5);
    Client::new(
        &sb.state.cfg.mta.first().app_id,
        secret,
        Some(&sb.url()),
        cfg,
    )
    .unwrap()
}

fn req(name: &str, start: &str, end: &str, opts: &[(&str, &str)]) -> Request {
    let o: HashMap<String, String> = opts
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Request::new(name, start, end, &o).unwrap()
}

/// A secret with `-` and `_` (URL-safe base64): client and sandbox both
/// key the HMAC with `-` → `+`, `_` → `/`; the unmapped key is refused.
#[test]
fn url_safe_secret_is_mapped_like_the_php_clients() {
    let mut cfg = Config::default();
    cfg.mta.apps[0].secret_key = "sb-mta_secret-key_9".into();
    let sb = Sandbox::start(cfg).unwrap();
    let rt = crate::runtime::runtime();
    let p = Progress::default();
    let r = req("crash", "2024-03-01", "2024-03-03", &[]);
    for secret in ["sb-mta_secret-key_9", "sb+mta/secret+key/9"] {
        let df = rt.block_on(client(&sb, secret).fetch(&r, &p)).unwrap().data;
        assert_eq!(df.height(), 3, "{secret}");
    }
    // a signature keyed with the raw secret (no mapping) is refused
    let path = "/ctr_crash_anal/get_offline_data";
    let params = [("app_id", "500000001"), ("idx", "10501")];
    let source = crate::providers::mta::sign::source_string(path, &params);
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(b"sb-mta_secret-key_9&").unwrap();
    mac.update(source.as_bytes());
    let raw: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    use md5::Digest;
    let unmapped: String = md5::Md5::digest(raw.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!crate::providers::mta::sign::verify(
        "sb-mta_secret-key_9",
        path,
        &params,
        &unmapped
    ));
    assert!(crate::providers::mta::sign::verify(
        "sb-mta_secret-key_9",
        path,
        &params,
        &crate::providers::mta::sign::sign("sb-mta_secret-key_9", path, &params)
    ));
}

/// Retention served as percentages (some with `%`, some without):
/// a Float64 `ratio` column, in long and wide form, across windows.
#[test]
fn percentage_retention_end_to_end() {
    let mut cfg = Config::default();
    cfg.mta.apps[0].retention_percent = true;
    let sb = Sandbox::start(cfg).unwrap();
    let c = client(&sb, &sb.state.cfg.mta.first().secret_key.clone());
    let rt = crate::runtime::runtime();
    let p = Progress::default();
    let long = rt
        .block_on(c.fetch(&req("retention", "2024-01-01", "2024-07-18", &[]), &p))
        .unwrap()
        .data;
    assert_eq!(long.height(), 200 * 9);
    let names: Vec<&str> = long.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(
        names,
        [
            "cohort_date",
            "cohort_end",
            "cohort_size",
            "period",
            "ratio"
        ]
    );
    let ratio = long.column("ratio").unwrap().f64().unwrap();
    assert_eq!(ratio.null_count(), 0);
    assert!(ratio.iter().flatten().all(|x| x > 0.0 && x <= 100.0));
    let wide = rt
        .block_on(c.fetch(
            &req(
                "retention",
                "2024-01-01",
                "2024-07-18",
                &[("shape", "wide")],
            ),
            &p,
        ))
        .unwrap()
        .data;
    assert_eq!((wide.height(), wide.width()), (200, 3 + 9));
    assert_eq!(
        wide.column("d30").unwrap().dtype(),
        &polars::prelude::DataType::Float64
    );
    // the same sandbox with counts: Int64 users, as before
    let sb = Sandbox::start(Config::default()).unwrap();
    let c = client(&sb, &sb.state.cfg.mta.first().secret_key.clone());
    let counts = rt
        .block_on(c.fetch(&req("retention", "2024-01-01", "2024-01-31", &[]), &p))
        .unwrap()
        .data;
    assert_eq!(
        counts.column("users").unwrap().dtype(),
        &polars::prelude::DataType::Int64
    );
}

#[test]
fn every_report_end_to_end() {
    let sb = Sandbox::start(Config::default()).unwrap();
    let c = client(&sb, &sb.state.cfg.mta.first().secret_key.clone());
    let rt = crate::runtime::runtime();
    let p = Progress::default();
    // 200 days: three windows, stitched in date order
    let r = rt
        .block_on(c.fetch(&req("user_basic", "2023-06-01", "2023-12-17", &[]), &p))
        .unwrap();
    assert_eq!(r.windows.len(), 3);
    assert_eq!(r.data.height(), 200);
    let d = r.data.column("date").unwrap().date().unwrap();
    let phys = &d.phys;
    assert!((1..200).all(|i| phys.get(i) > phys.get(i - 1)));
    assert_eq!(r.data.column("new_users").unwrap().null_count(), 0);
    for (name, opts) in [
        ("realtime", vec![]),
        ("active_users", vec![]),
        ("terminal", vec![("terminal_type", "carrier")]),
        ("usage", vec![]),
        ("frequency", vec![]),
        ("crash", vec![]),
        ("crash_env", vec![("dimension", "device")]),
        ("error_list", vec![]),
        ("retention", vec![("shape", "wide")]),
        (
            "user_basic",
            vec![("channel", "应用宝 store"), ("version", "3.2.1")],
        ),
    ] {
        let (s, e) = if name == "realtime" {
            ("", "")
        } else {
            ("2024-03-01", "2024-03-31")
        };
        let r = rt
            .block_on(c.fetch(&req(name, s, e, &opts), &p))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(r.data.height() > 0, "{name}");
    }
    let r = rt
        .block_on(c.fetch(&req("retention", "2024-03-01", "2024-03-31", &[]), &p))
        .unwrap();
    assert_eq!(r.data.height(), 31 * 9);
    let users = r.data.column("users").unwrap().i64().unwrap();
    // day 1 retention above day 30 retention for the first cohort
    assert!(users.get(0).unwrap() > users.get(8).unwrap());
}

#[test]
fn signature_and_faults() {
    let sb = Sandbox::start(Config::default()).unwrap();
    let rt = crate::runtime::runtime();
    let p = Progress::default();
    let bad = client(&sb, "wrong-secret");
    let e = rt
        .block_on(bad.fetch(&req("crash", "2024-03-01", "2024-03-02", &[]), &p))
        .unwrap_err();
    assert!(matches!(e, Error::Auth { code: 60002, .. }), "{e}");
    assert!(!e.to_string().contains("wrong-secret"));
    assert!(!format!("{bad:?}").contains("wrong-secret"));

    let c = client(&sb, &sb.state.cfg.mta.first().secret_key.clone());
    let r1 = req("user_basic", "2024-03-01", "2024-03-31", &[]);
    let clean = rt.block_on(c.fetch(&r1, &p)).unwrap();
    for kind in [
        FaultKind::Status(502),
        FaultKind::Code(60500),
        FaultKind::Code(60005),
        FaultKind::Truncate,
        FaultKind::Reset,
    ] {
        sb.state.clear_faults();
        sb.state
            .add_fault(Fault::on("mta", "user_basic", kind.clone(), 0, Some(1)));
        let r = rt
            .block_on(c.fetch(&r1, &p))
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(r.data.equals_missing(&clean.data), "{kind:?}");
    }
    // a missing date is never silent: kept as a null row (a day without
    // activity), or raised when asked to
    sb.state.clear_faults();
    sb.state.add_fault(Fault::on(
        "mta",
        "user_basic",
        FaultKind::DropRows(2),
        0,
        None,
    ));
    let kept = rt.block_on(c.fetch(&r1, &p)).unwrap().data;
    assert_eq!(kept.height(), clean.data.height());
    assert_eq!(kept.column("new_users").unwrap().null_count(), 2);
    let strict = req(
        "user_basic",
        "2024-03-01",
        "2024-03-02",
        &[("missing_days", "raise")],
    );
    let e = rt.block_on(c.fetch(&strict, &p)).unwrap_err();
    assert!(matches!(e, Error::Incomplete { .. }), "{e}");
    assert!(e.to_string().contains("2024-03-01"), "{e}");
    // ... also when it is one window of several; a window that skips
    // dates once is fetched again and the frame is complete
    let long = req("user_basic", "2024-01-01", "2024-06-30", &[]);
    sb.state.clear_faults();
    let clean = rt.block_on(c.fetch(&long, &p)).unwrap().data;
    sb.state.clear_faults();
    sb.state.add_fault(Fault::on(
        "mta",
        "user_basic",
        FaultKind::DropRows(1),
        1,
        Some(1),
    ));
    let again = rt.block_on(c.fetch(&long, &p)).unwrap().data;
    assert!(again.equals_missing(&clean));
    sb.state.clear_faults();
    sb.state.add_fault(Fault::on(
        "mta",
        "user_basic",
        FaultKind::DropRows(1),
        1,
        None,
    ));
    let long_strict = req(
        "user_basic",
        "2024-01-01",
        "2024-06-30",
        &[("missing_days", "raise")],
    );
    let e = rt.block_on(c.fetch(&long_strict, &p)).unwrap_err();
    assert!(matches!(e, Error::Incomplete { .. }), "{e}");
    // a window that keeps failing after another came back: the cause's
    // class, and the dates not fetched named
    sb.state.clear_faults();
    sb.state.add_fault(Fault::on(
        "mta",
        "user_basic",
        FaultKind::Status(500),
        1,
        None,
    ));
    let e = rt.block_on(c.fetch(&long, &p)).unwrap_err();
    assert!(matches!(e, Error::Server { code: 500, .. }), "{e}");
    assert!(e.to_string().contains("2 of 3 windows"), "{e}");
    // ... but when every window fails, the service is down: the error as is
    sb.state.clear_faults();
    sb.state.add_fault(Fault::on(
        "mta",
        "user_basic",
        FaultKind::Status(500),
        0,
        None,
    ));
    let e = rt.block_on(c.fetch(&long, &p)).unwrap_err();
    assert!(matches!(e, Error::Server { code: 500, .. }), "{e}");
    // quota is not retried
    sb.state.clear_faults();
    sb.state.add_fault(Fault {
        provider: Some("mta".into()),
        endpoint: None,
        kind: FaultKind::Code(60006),
        skip: 0,
        times: Some(1),
        offset: None,
    });
    let e = rt.block_on(c.fetch(&r1, &p)).unwrap_err();
    assert!(matches!(e, Error::QuotaExceeded { .. }), "{e}");
}
