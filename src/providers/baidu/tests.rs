//! The Baidu client's wire forms, checked against a small local server that
//! records every request (the full simulator lives in the sandbox).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, RawQuery, State};
use axum::http::Method;
use axum::routing::any;
use axum::Router;

use super::*;

/// (method, endpoint, query + form parameters) of every data request.
type Log = Arc<Mutex<Vec<(Method, String, HashMap<String, String>)>>>;

async fn data(
    State(log): State<Log>,
    method: Method,
    Path(endpoint): Path<String>,
    RawQuery(q): RawQuery,
    body: String,
) -> String {
    let mut p: HashMap<String, String> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    p.extend(serde_urlencoded::from_str::<Vec<(String, String)>>(&body).unwrap_or_default());
    log.lock()
        .unwrap()
        .push((method, endpoint.clone(), p.clone()));
    let start: usize = p
        .get("start_index")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if endpoint.contains("tpdata") || endpoint == "getdata" {
        // 3 days, dated under `date` (Go SDK) or `data` (seed document)
        let key = if endpoint == "gettpdata" {
            "date"
        } else {
            "data"
        };
        let size: usize = p
            .get("max_results")
            .or(p.get("max_result"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(20);
        let rows: Vec<String> = (start..3.min(start + size))
            .map(|i| {
                format!(
                    r#"{{"{key}":"2024030{}","tp_day_user_count":"{i}"}}"#,
                    i + 1
                )
            })
            .collect();
        return format!(
            r#"{{"errno":0,"msg":"success","data":{{"offset":{start},"total":3,"result":[{}]}}}}"#,
            rows.join(",")
        );
    }
    // an analysis endpoint: 45 regions, the service's 20 rows a page
    let rows: Vec<String> = (start..45.min(start + 20))
        .map(|i| format!(r#"{{"name":"r{i}","session_count_district":"{i}"}}"#))
        .collect();
    format!(
        r#"{{"errno":0,"msg":"success","data":{{"offset":{start},"total":45,"data_list":[{}]}}}}"#,
        rows.join(",")
    )
}

async fn server() -> (String, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/rest/2.0/smartapp/data/{endpoint}", any(data))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), log)
}

fn client(base: &str, page_size: u32) -> Client {
    let mut cfg = HttpConfig::new(1000, 4);
    cfg.retry.backoff = Duration::from_millis(5);
    Client::new(Credentials::Token("t".into()), Some(base), cfg, page_size).unwrap()
}

fn request(name: &str, opts: &[(&str, &str)]) -> Request {
    let o = opts
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Request::new(name, "2024-03-01", "2024-03-03", &o).unwrap()
}

/// The analysis endpoints get `start_index` only (a form POST) and are
/// paged at the service's 20 rows, whatever `page_size` says.
#[tokio::test]
async fn analysis_endpoints_send_no_page_size() {
    let (base, log) = server().await;
    let c = client(&base, 7);
    let r = c
        .fetch(&request("region", &[]), &Progress::default())
        .await
        .unwrap();
    assert_eq!(r.data.height(), 45);
    let log = log.lock().unwrap();
    let mut offsets: Vec<&str> = log
        .iter()
        .map(|(m, e, p)| {
            assert_eq!((m, e.as_str()), (&Method::POST, "getanalysisregion"));
            assert!(
                !p.contains_key("max_results") && !p.contains_key("max_result"),
                "{p:?}"
            );
            p["start_index"].as_str()
        })
        .collect();
    offsets.sort_unstable();
    assert_eq!(offsets, ["0", "20", "40"]);
}

/// The TP totals: the SDKs' `gettpdata` + `max_results` by default, the
/// seed document's `getdata` + `max_result` as an option; rows dated under
/// `date` or `data`; the same frame either way.
#[tokio::test]
async fn tp_totals_in_both_forms() {
    let (base, log) = server().await;
    let c = client(&base, 2);
    let opts = [("scene", "1"), ("metrics", "tp_day_user_count")];
    let sdk = c
        .fetch(&request("tp_data", &opts), &Progress::default())
        .await
        .unwrap();
    let mut doc_opts = opts.to_vec();
    doc_opts.push(("tp_endpoint", "getdata"));
    let doc = c
        .fetch(&request("tp_data", &doc_opts), &Progress::default())
        .await
        .unwrap();
    assert_eq!(sdk.data.height(), 3);
    assert!(sdk.data.equals_missing(&doc.data));
    let log = log.lock().unwrap();
    let forms: Vec<(&Method, &str, Option<&str>, Option<&str>)> = log
        .iter()
        .map(|(m, e, p)| {
            (
                m,
                e.as_str(),
                p.get("max_results").map(String::as_str),
                p.get("max_result").map(String::as_str),
            )
        })
        .collect();
    assert_eq!(
        forms,
        [
            (&Method::GET, "gettpdata", Some("2"), None),
            (&Method::GET, "gettpdata", Some("2"), None),
            (&Method::GET, "getdata", None, Some("2")),
            (&Method::GET, "getdata", None, Some("2")),
        ]
    );
}

/// The TP totals over all scenes, as Baidu's SDKs ask for them: no `scene`
/// given, none sent; a given scene is sent as given; the document's
/// `getdata` without one is refused before any request.
#[tokio::test]
async fn tp_totals_without_scene_send_no_scene() {
    let (base, log) = server().await;
    let c = client(&base, 20);
    let all = c
        .fetch(&request("tp_data", &[]), &Progress::default())
        .await
        .unwrap();
    assert_eq!(all.data.height(), 3);
    c.fetch(&request("tp_data", &[("scene", "7")]), &Progress::default())
        .await
        .unwrap();
    let e = Request::new(
        "tp_data",
        "2024-03-01",
        "2024-03-03",
        &[("tp_endpoint".to_string(), "getdata".to_string())]
            .into_iter()
            .collect(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e:?}");
    let log = log.lock().unwrap();
    let sent: Vec<(&Method, &str, Option<&str>, bool)> = log
        .iter()
        .map(|(m, e, p)| {
            (
                m,
                e.as_str(),
                p.get("scene").map(String::as_str),
                p.contains_key("metrics"),
            )
        })
        .collect();
    assert_eq!(
        sent,
        [
            (&Method::GET, "gettpdata", None, true),
            (&Method::GET, "gettpdata", Some("7"), true),
        ]
    );
}
