//! Client tests against a small local server that checks UserSigs like the
//! real service (the full simulator lives in the sandbox).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use polars::prelude::*;

use super::*;
// the many-app call lives above the provider; its IM test uses this file's server
use crate::providers::many::{app_info_many, app_info_many_with};

const SGP: &str = "adminapisgp.im.qcloud.com";

struct Srv {
    keys: HashMap<u64, String>,
    /// Answer 70001 to the first N requests.
    expire_first: AtomicUsize,
    calls: AtomicUsize,
    bodies: Mutex<Vec<String>>,
    randoms: Mutex<Vec<String>>,
    /// Days left out of every reply (0 = the newest).
    drop: Mutex<Vec<i64>>,
    /// The Host header of every request.
    hosts: Mutex<Vec<String>>,
}

/// A reply with the 30 days ending yesterday (China time), newest first as
/// in the document's sample, without the days in `drop`.
fn month(drop: &[i64]) -> String {
    let (_, end) = expected_window(None, None);
    let rows: Vec<String> = (0..WINDOW_DAYS)
        .filter(|i| !drop.contains(i))
        .map(|i| {
            let d = end - chrono::TimeDelta::days(i);
            format!(
                r#"{{"Date":"{}","ChainIncrease":"{}","ChainDecrease":"{}"}}"#,
                d.format("%Y%m%d"),
                i + 1,
                2 * i
            )
        })
        .collect();
    format!(
        r#"{{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":"","Result":[{}]}}"#,
        rows.join(",")
    )
}

fn reply(code: i64, info: &str) -> String {
    format!(r#"{{"ActionStatus":"FAIL","ErrorCode":{code},"ErrorInfo":"{info}"}}"#)
}

async fn getappinfo(
    State(s): State<Arc<Srv>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> String {
    s.calls.fetch_add(1, Ordering::SeqCst);
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let host = host.split(':').next().unwrap_or("").to_string();
    s.hosts.lock().unwrap().push(host.clone());
    // Singapore's domain or its standby domain
    if region(&host).ok().map(|r| r.code) != Some("sgp") {
        return reply(70016, "wrong region");
    }
    if q.get("contenttype").map(String::as_str) != Some("json") {
        return reply(60002, "contenttype");
    }
    s.randoms
        .lock()
        .unwrap()
        .push(q.get("random").cloned().unwrap_or_default());
    s.bodies.lock().unwrap().push(body);
    let Some(app) = q.get("sdkappid").and_then(|a| a.parse::<u64>().ok()) else {
        return reply(60006, "bad sdkappid");
    };
    let Some(key) = s.keys.get(&app) else {
        return reply(60006, "unknown sdkappid");
    };
    let sig = q.get("usersig").map(String::as_str).unwrap_or("");
    match verify_usersig(sig, app, key, system_now()) {
        Ok(info) if info.identifier != "admin" || q.get("identifier") != Some(&info.identifier) => {
            reply(60010, "not an admin")
        }
        Ok(_) => {
            if s.expire_first
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return reply(70001, "UserSig expired");
            }
            month(&s.drop.lock().unwrap())
        }
        Err(UserSigError::Expired { .. }) => reply(70001, "expired"),
        Err(UserSigError::Signature) => reply(70009, "bad sig"),
        Err(_) => reply(70003, "bad sig"),
    }
}

async fn server(keys: &[(u64, &str)], expire_first: usize) -> (SocketAddr, Arc<Srv>) {
    let srv = Arc::new(Srv {
        keys: keys.iter().map(|(a, k)| (*a, k.to_string())).collect(),
        expire_first: AtomicUsize::new(expire_first),
        calls: AtomicUsize::new(0),
        bodies: Mutex::new(vec![]),
        randoms: Mutex::new(vec![]),
        drop: Mutex::new(vec![]),
        hosts: Mutex::new(vec![]),
    });
    let app = Router::new()
        .route(PATH, post(getappinfo))
        .with_state(srv.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, srv)
}

fn quick() -> HttpConfig {
    let mut c = default_config();
    c.retry.backoff = Duration::from_millis(5);
    c.timeout = Duration::from_secs(5);
    c
}

fn opts(addr: SocketAddr) -> ClientOptions {
    ClientOptions {
        resolve_to: Some(addr),
        ..Default::default()
    }
}

#[test]
fn regions() {
    assert_eq!(region("SGP").unwrap().domain, SGP);
    assert_eq!(region("singapore").unwrap().domain, SGP);
    assert_eq!(region("Silicon Valley").unwrap().code, "usa");
    assert_eq!(region("cn").unwrap().domain, "console.tim.qq.com");
    assert_eq!(region("tokyo").unwrap().domain, "adminapijpn.im.qcloud.com");
    // the documented standby domains (none for Jakarta and Tokyo)
    for (code, standby) in [
        ("cn", Some("adminapi.my-imcloud.com")),
        ("sgp", Some("adminapisgp.my-imcloud.com")),
        ("kr", Some("adminapikr.my-imcloud.com")),
        ("ger", Some("adminapiger.my-imcloud.com")),
        ("ind", Some("adminapiind.my-imcloud.com")),
        ("usa", Some("adminapiusa.my-imcloud.com")),
        ("idn", None),
        ("jpn", None),
    ] {
        assert_eq!(region(code).unwrap().standby, standby, "{code}");
        if let Some(s) = standby {
            assert_eq!(region(s).unwrap().code, code);
        }
    }
    let e = region("mars").unwrap_err().to_string();
    assert!(e.contains("mars") && e.contains("frankfurt/ger"), "{e}");
    let c = Client::new(1400000000, "k", None, "https://example.com/", quick()).unwrap();
    assert_eq!(c.base_url(), "https://example.com");
    let c = Client::new(1400000000, "k", None, "kr", quick()).unwrap();
    assert_eq!(c.base_url(), "https://adminapikr.im.qcloud.com");
    assert_eq!(c.identifier(), "admin");
    assert!(Client::new(1400000000, "k", None, "ftp://x", quick()).is_err());
    assert!(Client::new(0, "k", None, "cn", quick()).is_err());
    assert!(Client::new(1, " ", None, "cn", quick()).is_err());
    assert!(Client::new(1, "k", Some(""), "cn", quick()).is_err());
}

#[test]
fn debug_hides_secret() {
    let c = Client::new(1400000000, "topsecretkey", None, "cn", quick()).unwrap();
    let d = format!("{c:?}");
    assert!(
        !d.contains("topsecretkey") && d.contains("1400000000"),
        "{d}"
    );
}

#[test]
fn usersig_cached_and_renewed_at_90_percent() {
    let mut c = Client::new(1400000000, "k", None, "cn", quick()).unwrap();
    let now = Arc::new(std::sync::atomic::AtomicU64::new(1_000_000));
    let n2 = now.clone();
    c.set_clock(move || n2.load(Ordering::SeqCst));
    let a = c.usersig();
    now.store(1_000_000 + 77_759, Ordering::SeqCst);
    assert_eq!(c.usersig(), a, "still within 90 % of a day");
    now.store(1_000_000 + 77_760, Ordering::SeqCst);
    let b = c.usersig();
    assert_ne!(b, a);
    let info = verify_usersig(&b, 1400000000, "k", 1_000_000 + 77_760).unwrap();
    assert_eq!((info.time, info.expire), (1_077_760, 86_400));
    // A clock that went backwards also gets a fresh signature.
    now.store(999_000, Ordering::SeqCst);
    assert_ne!(c.usersig(), b);
}

#[tokio::test]
async fn fetches_through_resolve_override() {
    let (addr, srv) = server(&[(1400000001, "key1")], 0).await;
    let c = Client::with_options(1400000001, "key1", None, "sgp", quick(), &opts(addr)).unwrap();
    let df = c
        .app_info(
            Some(&["ChainIncrease".into(), "chain_decrease".into()]),
            &Progress::default(),
        )
        .await
        .unwrap();
    assert_eq!(df.shape(), (30, 3));
    assert_eq!(
        srv.bodies.lock().unwrap()[0],
        r#"{"RequestField":["Date","ChainIncrease","ChainDecrease"]}"#
    );
    let df = c.app_info(None, &Progress::default()).await.unwrap();
    assert_eq!(df.shape(), (30, 37));
    assert_eq!(srv.bodies.lock().unwrap()[1], "{}");
    let all_u32 = srv
        .randoms
        .lock()
        .unwrap()
        .iter()
        .all(|x| x.parse::<u32>().is_ok());
    assert!(all_u32);
    // Unknown fields fail before any request.
    let e = c
        .app_info(Some(&["Nope".into()]), &Progress::default())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), "invalid_argument");
    assert_eq!(srv.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn renews_expired_usersig_once() {
    let (addr, srv) = server(&[(1400000001, "key1")], 1).await;
    let c = Client::with_options(1400000001, "key1", None, "sgp", quick(), &opts(addr)).unwrap();
    let df = c.app_info(None, &Progress::default()).await.unwrap();
    assert_eq!(df.height(), 30);
    assert_eq!(srv.calls.load(Ordering::SeqCst), 2);

    // Rejected twice: an auth error that is no longer "renewable".
    let (addr, srv) = server(&[(1400000001, "key1")], 5).await;
    let c = Client::with_options(1400000001, "key1", None, "sgp", quick(), &opts(addr)).unwrap();
    let e = c.app_info(None, &Progress::default()).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Auth {
                code: 70001,
                renewable: false,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("clock"), "{e}");
    assert_eq!(srv.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn configuration_errors_are_fatal_and_clean() {
    let (addr, srv) = server(&[(1400000001, "key1")], 0).await;
    let c =
        Client::with_options(1400000001, "n0t-the-k3y", None, "sgp", quick(), &opts(addr)).unwrap();
    let e = c.app_info(None, &Progress::default()).await.unwrap_err();
    assert_eq!(e.code(), Some(70009));
    assert!(!e.to_string().contains("n0t-the-k3y"), "{e}");
    let c =
        Client::with_options(1400000001, "key1", Some("bob"), "sgp", quick(), &opts(addr)).unwrap();
    let e = c.app_info(None, &Progress::default()).await.unwrap_err();
    assert_eq!(e.code(), Some(60010));
    // Another region's domain, routed to the same server.
    let c = Client::with_options(1400000001, "key1", None, "kr", quick(), &opts(addr)).unwrap();
    let e = c.app_info(None, &Progress::default()).await.unwrap_err();
    assert_eq!(e.code(), Some(70016));
    assert!(e.to_string().contains("adminapikr.im.qcloud.com"), "{e}");
    assert_eq!(
        srv.calls.load(Ordering::SeqCst),
        3,
        "no retries of fatal errors"
    );
}

#[tokio::test]
async fn many_apps() {
    let (addr, _srv) = server(&[(1400000001, "key1"), (1400000002, "key2")], 0).await;
    let apps = vec![
        (1400000002, "key2".to_string()),
        (1400000001, "key1".to_string()),
    ];
    let progress_seen = Arc::new(AtomicUsize::new(0));
    let ps = progress_seen.clone();
    let progress = Progress::new(Some(Arc::new(move |d, _t| {
        ps.store(d as usize, Ordering::SeqCst);
    })));
    let fields = vec!["MaxOnlineNum".to_string()];
    let df = app_info_many_with(
        &apps,
        None,
        "singapore",
        Some(&fields),
        quick(),
        &opts(addr),
        &progress,
    )
    .await
    .unwrap();
    let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["sdkappid", "date", "max_online_num"]);
    assert_eq!(df.column("sdkappid").unwrap().dtype(), &DataType::Int64);
    let ids: Vec<_> = df
        .column("sdkappid")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .collect();
    let mut want = vec![Some(1400000002); 30];
    want.extend([Some(1400000001); 30]);
    assert_eq!(ids, want);
    assert_eq!(progress_seen.load(Ordering::SeqCst), 2);

    // One app with a wrong key fails the call, naming the app.
    let bad = vec![
        (1400000001, "key1".to_string()),
        (1400000002, "nope".to_string()),
    ];
    let e = app_info_many_with(
        &bad,
        None,
        "sgp",
        None,
        quick(),
        &opts(addr),
        &Progress::default(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("sdkappid 1400000002"), "{e}");
    assert_eq!(e.code(), Some(70009));

    let dup = vec![
        (1400000001, "key1".to_string()),
        (1400000001, "key1".to_string()),
    ];
    assert!(app_info_many(&dup, None, "sgp", None, quick())
        .await
        .is_err());
    let empty = app_info_many(&[], None, "sgp", None, quick())
        .await
        .unwrap();
    assert_eq!(empty.shape(), (0, 38));
}

/// The whole window is checked: days missing at the oldest end, at the
/// newest end or in between are refetched, then named in the error.
#[tokio::test]
async fn checks_both_ends_of_the_window() {
    let (addr, srv) = server(&[(1400000001, "key1")], 0).await;
    let c = Client::with_options(1400000001, "key1", None, "sgp", quick(), &opts(addr)).unwrap();
    let (start, end) = expected_window(None, None);
    assert_eq!((end - start).num_days(), WINDOW_DAYS - 1);
    assert_eq!(
        end,
        crate::providers::common::today_cn().pred_opt().unwrap()
    );
    let day = |i: i64| (end - chrono::TimeDelta::days(i)).to_string();
    for (drop, named) in [
        ((15..30).collect::<Vec<i64>>(), vec![15, 29]), // the 15 oldest days
        (vec![0, 1], vec![0, 1]),                       // the newest days
        (vec![29], vec![29]),                           // the oldest day only
        (vec![7], vec![7]),                             // a gap
    ] {
        *srv.drop.lock().unwrap() = drop.clone();
        let before = srv.calls.load(Ordering::SeqCst);
        let e = c.app_info(None, &Progress::default()).await.unwrap_err();
        assert_eq!(e.kind(), "incomplete", "{drop:?}: {e}");
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("{} day(s) missing", drop.len())),
            "{msg}"
        );
        for i in named {
            assert!(msg.contains(&day(i)), "{drop:?}: {msg}");
        }
        assert_eq!(srv.calls.load(Ordering::SeqCst) - before, 3, "refetched");
    }
    *srv.drop.lock().unwrap() = vec![];
    assert_eq!(
        c.app_info(None, &Progress::default())
            .await
            .unwrap()
            .height(),
        30
    );
    // A client told that the service ends on another day expects that window.
    let o = ClientOptions {
        window_end: Some(end - chrono::TimeDelta::days(1)),
        ..opts(addr)
    };
    let c = Client::with_options(1400000001, "key1", None, "sgp", quick(), &o).unwrap();
    let e = c.app_info(None, &Progress::default()).await.unwrap_err();
    assert!(e.to_string().contains(&day(30)), "{e}");
}

/// A connection refused and a name that does not resolve are both
/// "unreachable" (reqwest's wording is pinned here); a slow reply is not.
#[tokio::test]
async fn unreachable_means_dns_or_connect_failure() {
    let mut cfg = quick();
    cfg.retry.max_attempts = 1;
    cfg.timeout = Duration::from_millis(300);
    let http = Http::new(PROVIDER, cfg).unwrap();
    let closed = closed_port().await;
    for url in [
        format!("http://{closed}/x"),
        "http://appstats-test.invalid/x".to_string(),
    ] {
        let e = http
            .call("probe", |c| Ok(c.get(&url)), |_r| Ok(()))
            .await
            .unwrap_err();
        assert!(unreachable(&e), "{url}: {e:?}");
    }
    // a server that accepts and never answers: a timeout, not unreachable
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _keep = listener.accept().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let e = http
        .call(
            "probe",
            |c| Ok(c.get(format!("http://{addr}/x"))),
            |_r| Ok(()),
        )
        .await
        .unwrap_err();
    assert!(!unreachable(&e), "{e:?}");
}

/// An address on 127.0.0.1 where nothing listens.
async fn closed_port() -> SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}

/// The region's domain cannot be reached (mapped to a closed port on
/// 127.0.0.1 with the resolve override): the call goes to the documented
/// standby domain, and later calls go there first. Never leaves loopback.
#[tokio::test]
async fn standby_domain_when_the_region_cannot_be_reached() {
    let (addr, srv) = server(&[(1400000001, "key1")], 0).await;
    let mut cfg = quick();
    cfg.retry.max_attempts = 2;
    cfg.resolve.push((SGP.to_string(), closed_port().await));
    let c =
        Client::with_options(1400000001, "key1", None, "sgp", cfg.clone(), &opts(addr)).unwrap();
    assert_eq!(c.standby_url(), Some("http://adminapisgp.my-imcloud.com"));
    assert!(!c.on_standby());
    let df = c.app_info(None, &Progress::default()).await.unwrap();
    assert_eq!(df.height(), 30);
    assert!(c.on_standby());
    let df = c.app_info(None, &Progress::default()).await.unwrap();
    assert_eq!(df.height(), 30);
    assert_eq!(
        *srv.hosts.lock().unwrap(),
        ["adminapisgp.my-imcloud.com", "adminapisgp.my-imcloud.com"],
        "both calls answered by the standby domain"
    );
    let failures = c.http().stats.snapshot()[2].1;
    assert_eq!(
        failures, 1,
        "the region's domain was tried once (2 attempts)"
    );
    // Both unreachable: a transport error naming both hosts.
    let mut cfg = quick();
    cfg.retry.max_attempts = 1;
    let dead = closed_port().await;
    cfg.resolve.push((SGP.to_string(), dead));
    cfg.resolve
        .push(("adminapisgp.my-imcloud.com".to_string(), dead));
    let c = Client::with_options(1400000001, "key1", None, "sgp", cfg, &opts(addr)).unwrap();
    let e = c.app_info(None, &Progress::default()).await.unwrap_err();
    assert_eq!(e.kind(), "transport");
    let m = e.to_string();
    assert!(
        m.contains(SGP) && m.contains("adminapisgp.my-imcloud.com"),
        "{m}"
    );
    // No standby for a base URL (or for Jakarta/Tokyo): the error as is.
    let mut cfg = quick();
    cfg.retry.max_attempts = 1;
    let c = Client::new(1400000001, "key1", None, &format!("http://{dead}"), cfg).unwrap();
    assert_eq!(c.standby_url(), None);
    let e = c.app_info(None, &Progress::default()).await.unwrap_err();
    assert!(unreachable(&e), "{e}");
}
