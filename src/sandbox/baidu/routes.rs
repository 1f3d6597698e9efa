//! The routes: token endpoints, the data endpoint with its checks, and
//! the paging of a generated report.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;
use serde_json::{json, Map, Value};

use super::super::{json_reply, FaultKind, State};
use super::generate::{generate, Generated};
use super::{int_param, params, Params, P};

pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/oauth/2.0/token", get(oauth_token))
        .route("/public/2.0/smartapp/auth/tp/token", get(tp_token))
        .route("/rest/2.0/oauth/token", get(authorizer_token))
        .route("/rest/2.0/smartapp/data/{endpoint}", any(data))
        .with_state(state)
}

fn gateway_error(code: i64, msg: &str) -> String {
    json!({"error_code": code, "error_msg": msg}).to_string()
}

fn errno(code: i64, msg: &str) -> String {
    json!({"errno": code, "msg": msg}).to_string()
}

/// The error reply Baidu sends for `code` (gateway codes < 1000).
fn code_reply(code: i64) -> String {
    match code {
        110 => gateway_error(110, "Access token invalid or no longer valid"),
        111 => gateway_error(111, "Access token expired"),
        4 | 18 => gateway_error(code, "Open api qps request limit reached"),
        17 => gateway_error(17, "Open api daily request limit reached"),
        6 => gateway_error(6, "No permission to access data"),
        100 => gateway_error(100, "Invalid parameter"),
        1 => gateway_error(1, "Unknown error"),
        2 => gateway_error(2, "Service temporarily unavailable"),
        1000 => errno(1000, "内部服务错误"),
        40001 => errno(40001, "参数错误,建议检查参数"),
        c => errno(c, "error"),
    }
}

async fn oauth_token(AxState(st): AxState<Arc<State>>, RawQuery(q): RawQuery) -> Response {
    let p = params(q, &Bytes::new());
    let c = &st.cfg.baidu;
    if p.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return json_reply(
            json!({"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"}).to_string(),
            None,
        );
    }
    if p.get("client_id") != Some(&c.client_id) || p.get("client_secret") != Some(&c.client_secret)
    {
        return json_reply(
            json!({"error": "invalid_client", "error_description": "unknown client id or wrong client secret"}).to_string(),
            None,
        );
    }
    let ttl = c.token_ttl;
    // the program's own key: the first program
    let token = st.issue_token("24", Duration::from_secs(ttl), Some(0));
    json_reply(
        json!({"access_token": token, "expires_in": ttl, "scope": "smartapp_snsapi_base", "session_key": "", "session_secret": ""}).to_string(),
        None,
    )
}

async fn tp_token(AxState(st): AxState<Arc<State>>, RawQuery(q): RawQuery) -> Response {
    let p = params(q, &Bytes::new());
    let c = &st.cfg.baidu;
    if p.get("client_id") != Some(&c.tp_client_id) || p.get("ticket") != Some(&c.tp_ticket) {
        return json_reply(errno(40001, "invalid client_id or ticket"), None);
    }
    let ttl = c.token_ttl;
    let token = st.issue_token("tp", Duration::from_secs(ttl), None);
    json_reply(
        json!({"errno": 0, "msg": "success", "data": {"access_token": token, "expires_in": ttl, "scope": "smartapp_tp"}}).to_string(),
        None,
    )
}

/// The token of a program authorised to the TP, from its authorisation
/// code or its refresh token. Each program has one live refresh token: a
/// refresh issues the next one and the used one is dead at once (Baidu:
/// "有效期10年,使用后失效"); an authorisation code starts a new chain.
async fn authorizer_token(AxState(st): AxState<Arc<State>>, RawQuery(q): RawQuery) -> Response {
    let p = params(q, &Bytes::new());
    let tp = p.get("access_token").map(String::as_str).unwrap_or("");
    if let Err(expired) = st.check_token(tp) {
        return json_reply(code_reply(if expired { 111 } else { 110 }), None);
    }
    let apps = &st.cfg.baidu.apps;
    let mut chains = st.refresh_tokens.lock().expect("lock");
    let app = match p.get("grant_type").map(String::as_str) {
        Some("app_to_tp_authorization_code") => p
            .get("code")
            .and_then(|c| apps.iter().position(|a| &a.auth_code == c)),
        Some("app_to_tp_refresh_token") => p.get("refresh_token").and_then(|r| {
            let i = chains
                .iter()
                .find(|(_, live)| *live == r)
                .map(|(i, _)| *i)?;
            *st.refreshes.lock().expect("lock").entry(i).or_default() += 1;
            Some(i)
        }),
        _ => None,
    };
    let Some(app) = app else {
        return json_reply(
            json!({"error": "invalid_grant", "error_description": "authorization code or refresh token invalid or already used"}).to_string(),
            None,
        );
    };
    let ttl = st.cfg.baidu.token_ttl;
    let token = st.issue_token("26", Duration::from_secs(ttl), Some(app));
    let refresh = st.new_secret("27");
    chains.insert(app, refresh.clone());
    drop(chains);
    json_reply(
        json!({"access_token": token, "expires_in": ttl, "refresh_token": refresh, "scope": "smartapp_snsapi_base"}).to_string(),
        None,
    )
}

async fn data(
    AxState(st): AxState<Arc<State>>,
    Path(endpoint): Path<String>,
    method: axum::http::Method,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let p = params(q, &body);
    let offset = int_param(&p, "start_index", 0);
    let token = p.get("access_token").cloned().unwrap_or_default();
    // The program the token acts for: its own rate limit and data.
    let program = st.token_app(&token);
    let key = program.and_then(|i| st.cfg.baidu.apps.get(i).map(|a| a.app_id.to_string()));
    let fault = match st.begin(P, key, &endpoint, offset, code_reply, 18).await {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    if fault == Some(FaultKind::ExpireToken) {
        st.expire_token(&token);
    }
    let program = match st.check_token(&token) {
        Ok(p) => p,
        Err(expired) => return json_reply(code_reply(if expired { 111 } else { 110 }), None),
    };
    let is_get = is_tp_totals(&endpoint);
    if (method == axum::http::Method::GET) != is_get {
        return json_reply(gateway_error(3, "Unsupported openapi method"), None);
    }
    // The analysis endpoints serve a program's data: a TP's own token is
    // not enough (it must act for an authorised program).
    let program = match program {
        Some(i) => i,
        None if is_get => 0,
        None => return json_reply(code_reply(6), None),
    };
    match build(&st, &endpoint, program, &p, fault.as_ref()) {
        Ok(v) => json_reply(v.to_string(), fault.as_ref()),
        Err(msg) => json_reply(
            json!({"errno": 40001, "msg": format!("参数错误,建议检查参数: {msg}")}).to_string(),
            None,
        ),
    }
}

/// The reply to one request: the report is generated once per parameter
/// set (paging aside) and cached, so that each page costs only its slice.
fn build(
    st: &State,
    endpoint: &str,
    program: usize,
    p: &Params,
    fault: Option<&FaultKind>,
) -> Result<Value, String> {
    let mut key: Vec<(&String, &String)> = p
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "start_index" | "max_results" | "max_result" | "access_token"
            )
        })
        .collect();
    key.sort();
    let key = format!("baidu {program} {endpoint} {key:?}");
    let cached = st.cache.lock().expect("cache lock").get(&key).cloned();
    let gen = match cached.and_then(|g| g.downcast::<Generated>().ok()) {
        Some(g) => g,
        None => {
            let g = Arc::new(generate(st, st.cfg.app(program), endpoint, p)?);
            st.remember(key, g.clone());
            g
        }
    };
    let (rows, sum, span) = match &*gen {
        Generated::Whole(v) => return Ok(v.clone()),
        Generated::Rows { rows, sum, span } => (rows, sum.clone(), span.clone()),
    };
    page(endpoint, p, fault, rows, sum, span, st.cfg.baidu.page_rows)
}

/// The third-party-platform totals: `gettpdata` (SDKs) or `getdata`
/// (seed document), GET with a page size; the analysis endpoints are POSTs
/// without one.
fn is_tp_totals(endpoint: &str) -> bool {
    endpoint == "gettpdata" || endpoint == "getdata"
}

/// One page of a generated report, with paging faults applied.
fn page(
    endpoint: &str,
    p: &Params,
    fault: Option<&FaultKind>,
    rows: &[Value],
    sum: Option<Value>,
    span: String,
    page_rows: usize,
) -> Result<Value, String> {
    let total = rows.len() as i64;
    let start_index = int_param(p, "start_index", 0).ok_or("start_index must be an integer")?;
    // The analysis endpoints take no page size (a max_results sent to them
    // is ignored, as by the service): they return `page_rows` rows.
    let size = match endpoint {
        "gettpdata" => int_param(p, "max_results", 20).ok_or("bad max_results")?,
        "getdata" => int_param(p, "max_result", 20).ok_or("bad max_result")?,
        _ => page_rows as i64,
    };
    if start_index < 0 || !(1..=1000).contains(&size) {
        return Err("start_index/max_results out of range".into());
    }
    let mut from = start_index.min(total) as usize;
    if fault == Some(&FaultKind::DuplicatePage) && from >= size as usize {
        from -= size as usize;
    }
    let to = (from + size as usize).min(rows.len());
    let mut page: Vec<Value> = rows[from..to].to_vec();
    if let Some(FaultKind::DropRows(n)) = fault {
        let keep = page.len().saturating_sub(*n);
        page.truncate(keep);
    }
    let total = match fault {
        Some(FaultKind::WrongTotal(d)) => total + d,
        _ => total,
    };
    let list_key = if is_tp_totals(endpoint) {
        "result"
    } else {
        "data_list"
    };
    let mut data = Map::new();
    if !is_tp_totals(endpoint) {
        data.insert("time_span".into(), json!(span));
    }
    data.insert("offset".into(), json!(from));
    data.insert("total".into(), json!(total));
    if let Some(s) = sum {
        data.insert("sum".into(), s);
    }
    data.insert(list_key.into(), Value::Array(page));
    Ok(json!({"errno": 0, "msg": "success", "data": Value::Object(data)}))
}
