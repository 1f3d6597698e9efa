//! End-to-end tests of the clients against the sandbox over real HTTP.

use std::collections::HashMap;

use super::*;
use crate::http::{HttpConfig, Progress};
use crate::providers::baidu::{Client, Credentials, Request};

fn baidu(sb: &Sandbox, page_size: u32) -> Client {
    let c = &sb.state.cfg.baidu;
    let mut cfg = HttpConfig::new(200, 4);
    cfg.retry.backoff = Duration::from_millis(5);
    Client::new(
        Credentials::ClientCredentials {
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
        },
        Some(&sb.url()),
        cfg,
        page_size,
    )
    .unwrap()
}

fn req(name: &str, opts: &[(&str, &str)]) -> Request {
    let o: HashMap<String, String> = opts
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Request::new(name, "2024-03-01", "2024-03-31", &o).unwrap()
}

#[test]
fn baidu_pages_and_faults() {
    let sb = Sandbox::start(Config::default()).unwrap();
    let c = baidu(&sb, 5);
    let rt = crate::runtime::runtime();
    let p = Progress::default();
    let r = rt.block_on(c.fetch(&req("source", &[]), &p)).unwrap();
    assert_eq!(r.groups.as_ref().unwrap().height(), 12);
    assert!(r.data.height() >= 12);
    let clean = rt.block_on(c.fetch(&req("user_trend", &[]), &p)).unwrap();
    assert_eq!(clean.data.height(), 31);
    for kind in [
        FaultKind::Status(502),
        FaultKind::Code(1000),
        FaultKind::Code(18),
        FaultKind::Truncate,
        FaultKind::Reset,
        FaultKind::DuplicatePage,
        FaultKind::DropRows(1),
        FaultKind::ExpireToken,
    ] {
        sb.state.clear_faults();
        sb.state.add_fault(Fault {
            provider: None,
            endpoint: Some("getanalysisusertrend".into()),
            kind: kind.clone(),
            skip: 1,
            times: Some(1),
            offset: None,
        });
        let r = rt.block_on(c.fetch(&req("user_trend", &[]), &p));
        let r = r.unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        assert!(r.data.equals_missing(&clean.data), "{kind:?}");
    }
    sb.state.clear_faults();
    sb.state.add_fault(Fault {
        provider: None,
        endpoint: Some("getanalysisusertrend".into()),
        kind: FaultKind::WrongTotal(3),
        skip: 0,
        times: None,
        offset: None,
    });
    let e = rt
        .block_on(c.fetch(&req("user_trend", &[]), &p))
        .unwrap_err();
    assert!(matches!(e, crate::Error::Incomplete { .. }), "{e}");
}
