use std::time::Duration;

use super::*;
use crate::http::Progress;
use crate::sandbox::{Config, Fault};

fn quick() -> HttpConfig {
    let mut c = tim::default_config();
    c.retry.backoff = Duration::from_millis(5);
    c
}

fn fault(kind: FaultKind, times: Option<u32>) -> Fault {
    Fault {
        provider: Some(P.into()),
        endpoint: Some(ENDPOINT.into()),
        kind,
        skip: 0,
        times,
        offset: None,
    }
}

#[test]
fn serves_thirty_verified_days() {
    let mut cfg = Config::default();
    cfg.tim.end_date = NaiveDate::from_ymd_opt(2024, 3, 31);
    let sb = Sandbox::start(cfg).unwrap();
    let rt = crate::runtime::runtime();
    let p = Progress::default();
    let c = client(&sb, 0, quick()).unwrap();
    let df = rt.block_on(c.app_info(None, &p)).unwrap();
    assert_eq!(df.shape(), (30, 37));
    let dates: Vec<_> = df
        .column("date")
        .unwrap()
        .date()
        .unwrap()
        .as_date_iter()
        .collect();
    assert_eq!(dates[0], NaiveDate::from_ymd_opt(2024, 3, 2));
    assert_eq!(dates[29], NaiveDate::from_ymd_opt(2024, 3, 31));
    assert_eq!(df.column("active_user_num").unwrap().null_count(), 0);
    assert_eq!(df.column("qq").unwrap().null_count(), 30, "\"\" is null");
    // Seeded: the same data again.
    let again = rt.block_on(c.app_info(None, &p)).unwrap();
    assert!(df.equals_missing(&again));
    // RequestField honoured.
    let f = vec![
        "MaxOnlineNum".to_string(),
        "group_all_group_num".to_string(),
    ];
    let some = rt.block_on(c.app_info(Some(&f), &p)).unwrap();
    assert_eq!(some.shape(), (30, 3));
    assert!(some
        .column("max_online_num")
        .unwrap()
        .as_materialized_series()
        .equals(
            df.column("max_online_num")
                .unwrap()
                .as_materialized_series()
        ));
    // The Singapore app through its own domain.
    let g = client(&sb, 2, quick()).unwrap();
    assert_eq!(g.base_url(), "http://adminapisgp.im.qcloud.com");
    assert_eq!(rt.block_on(g.app_info(None, &p)).unwrap().height(), 30);
    // Many apps at once.
    let apps: Vec<(u64, String)> = sb.state.cfg.tim.apps[..2]
        .iter()
        .map(|a| (a.sdkappid, a.secret_key.clone()))
        .collect();
    let many = rt
        .block_on(crate::providers::many::app_info_many_with(
            &apps,
            None,
            "china",
            Some(&f),
            quick(),
            &options(&sb),
            &p,
        ))
        .unwrap();
    assert_eq!(many.shape(), (60, 4));
}

/// A sandbox living on another day (a fixed `today`) tells clients so in
/// its Date header: a client that knows nothing of it expects the 30
/// days ending the sandbox's yesterday.
#[test]
fn clients_take_yesterday_from_the_servers_clock() {
    let sb = Sandbox::start(Config {
        today: NaiveDate::from_ymd_opt(2024, 4, 1),
        ..Default::default()
    })
    .unwrap();
    let rt = crate::runtime::runtime();
    let app = &sb.state.cfg.tim.apps[0];
    let opts = ClientOptions {
        resolve_to: Some(sb.addr),
        ..Default::default()
    };
    let c = tim::Client::with_options(
        app.sdkappid,
        &app.secret_key,
        None,
        &app.region,
        quick(),
        &opts,
    )
    .unwrap();
    let df = rt.block_on(c.app_info(None, &Progress::default())).unwrap();
    let dates: Vec<_> = df
        .column("date")
        .unwrap()
        .date()
        .unwrap()
        .as_date_iter()
        .collect();
    assert_eq!(dates.len(), 30);
    assert_eq!(dates[29], NaiveDate::from_ymd_opt(2024, 3, 31));
}

/// The sandbox answers under the standby domains too (a client whose
/// region domain is unreachable fails over to it), and still refuses
/// another region's standby domain with 70016.
#[test]
fn answers_under_the_standby_domains() {
    let sb = Sandbox::start(Config::default()).unwrap();
    let rt = crate::runtime::runtime();
    let p = Progress::default();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut cfg = quick();
    cfg.retry.max_attempts = 1;
    cfg.resolve.push(("console.tim.qq.com".into(), dead));
    let c = client(&sb, 0, cfg.clone()).unwrap();
    assert_eq!(rt.block_on(c.app_info(None, &p)).unwrap().height(), 30);
    assert!(c.on_standby());
    // the Singapore app through China's standby domain: wrong region
    let app = &sb.state.cfg.tim.apps[2];
    let base = format!("http://adminapi.my-imcloud.com:{}", sb.addr.port());
    let mut cfg = quick();
    cfg.resolve
        .push(("adminapi.my-imcloud.com".into(), sb.addr));
    let wrong = tim::Client::new(app.sdkappid, &app.secret_key, None, &base, cfg).unwrap();
    let e = rt.block_on(wrong.app_info(None, &p)).unwrap_err();
    assert_eq!(e.code(), Some(70016));
}

#[test]
fn rejects_bad_credentials_with_real_codes() {
    let sb = Sandbox::start(Config::default()).unwrap();
    let rt = crate::runtime::runtime();
    let p = Progress::default();
    let app = sb.state.cfg.tim.apps[0].clone();
    let mk = |key: &str, id: Option<&str>, region: &str| {
        tim::Client::with_options(app.sdkappid, key, id, region, quick(), &options(&sb)).unwrap()
    };
    let code = |c: tim::Client| rt.block_on(c.app_info(None, &p)).unwrap_err().code();
    assert_eq!(code(mk("not-the-key", None, "cn")), Some(70009));
    assert_eq!(code(mk(&app.secret_key, Some("bob"), "cn")), Some(60010));
    assert_eq!(code(mk(&app.secret_key, None, "sgp")), Some(70016));
    let unknown = tim::Client::with_options(999, "k", None, "cn", quick(), &options(&sb)).unwrap();
    assert_eq!(code(unknown), Some(60006));
    // A client whose clock is two days behind signs expired UserSigs:
    // renewed once, still expired → a clear, final error.
    let mut old = mk(&app.secret_key, None, "cn");
    old.set_clock(|| now_secs() - 2 * 86_400);
    let e = rt.block_on(old.app_info(None, &p)).unwrap_err();
    assert_eq!(e.code(), Some(70001));
    assert!(!e.retryable() && e.to_string().contains("clock"), "{e}");
}

#[test]
fn survives_faults() {
    let mut cfg = Config::default();
    cfg.tim.end_date = NaiveDate::from_ymd_opt(2024, 3, 31);
    let sb = Sandbox::start(cfg).unwrap();
    let rt = crate::runtime::runtime();
    let p = Progress::default();
    let c = client(&sb, 1, quick()).unwrap();
    let clean = rt.block_on(c.app_info(None, &p)).unwrap();
    for kind in [
        FaultKind::Status(502),
        FaultKind::Code(70500),
        FaultKind::Code(60018),
        FaultKind::Code(130011),
        FaultKind::Code(70052),
        FaultKind::ExpireToken,
        FaultKind::Truncate,
        FaultKind::Reset,
        FaultKind::DuplicatePage,
        FaultKind::DropRows(2),
    ] {
        sb.state.clear_faults();
        sb.state.add_fault(fault(kind.clone(), Some(1)));
        let df = rt
            .block_on(c.app_info(None, &p))
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(df.equals_missing(&clean), "{kind:?}");
    }
    sb.state.clear_faults();
    sb.state.add_fault(fault(FaultKind::DropRows(3), None));
    let e = rt.block_on(c.app_info(None, &p)).unwrap_err();
    assert_eq!(e.kind(), "incomplete", "{e}");
    assert!(e.to_string().contains("3 day(s)"), "{e}");
    sb.state.clear_faults();
    sb.state.add_fault(fault(FaultKind::Code(130001), None));
    let e = rt.block_on(c.app_info(None, &p)).unwrap_err();
    assert_eq!(e.code(), Some(130001));
}
