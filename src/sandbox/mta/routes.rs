//! The routes: one per report, each request checked like the real service
//! (app, signature), then answered from [`generate`](super::generate).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State as AxState};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::NaiveDate;
use serde_json::json;

use super::super::{json_reply, State};
use super::generate::build;
use super::P;
use crate::providers::mta::endpoints::{Metric, ReportKind, REPORTS};
use crate::providers::mta::sign;

pub fn router(state: Arc<State>) -> Router {
    let mut r = Router::new();
    for &(name, path, metrics, kind) in REPORTS {
        r = r.route(
            path,
            get(move |st: AxState<Arc<State>>, q: RawQuery| {
                handle(st, q, name, path, metrics, kind)
            }),
        );
    }
    r.with_state(state)
}

fn envelope(code: i64, msg: &str) -> String {
    json!({"ret_code": code, "ret_msg": msg, "ret_data": ""}).to_string()
}

/// The error reply MTA sends for `code`.
fn code_reply(code: i64) -> String {
    match code {
        60001 => envelope(60001, "param error"),
        60002 => envelope(60002, "sign error"),
        60003 => envelope(60003, "app_id 无效或无权限"),
        60005 => envelope(60005, "请求过于频繁 (rate limit)"),
        60006 => envelope(60006, "今日调用次数已达上限 (daily quota)"),
        60500 => envelope(60500, "系统繁忙 (system busy)"),
        c => envelope(c, "error"),
    }
}

fn param_error(msg: &str) -> String {
    envelope(60001, &format!("param error: {msg}"))
}

async fn handle(
    AxState(st): AxState<Arc<State>>,
    RawQuery(q): RawQuery,
    name: &'static str,
    path: &'static str,
    metrics: &'static [Metric],
    kind: ReportKind,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    let p: HashMap<&str, &str> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let apps = &st.cfg.mta.apps;
    let index = p
        .get("app_id")
        .and_then(|id| apps.iter().position(|a| a.app_id == *id));
    let key = index.map(|i| apps[i].app_id.clone());
    let fault = match st.begin(P, key, name, None, code_reply, 60005).await {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    let Some(index) = index else {
        return json_reply(code_reply(60003), None);
    };
    let app = &apps[index];
    let Some(given) = p.get("sign") else {
        return json_reply(code_reply(60002), None);
    };
    let unsigned: Vec<(&str, &str)> = pairs
        .iter()
        .filter(|(k, _)| k != "sign")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if !sign::verify(&app.secret_key, path, &unsigned, given) {
        return json_reply(code_reply(60002), None);
    }
    match build(
        &st.cfg.app(index),
        &p,
        metrics,
        kind,
        fault.as_ref(),
        app.retention_percent,
    ) {
        Ok(data) => json_reply(
            json!({"ret_code": 60000, "ret_msg": "success", "ret_data": data}).to_string(),
            fault.as_ref(),
        ),
        Err(msg) => json_reply(param_error(&msg), None),
    }
}

pub(super) fn date(p: &HashMap<&str, &str>, k: &str) -> Result<NaiveDate, String> {
    let s = p.get(k).ok_or(format!("{k} is required"))?;
    if s.len() != 10 {
        return Err(format!("{k} must be YYYY-MM-DD"));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("{k} must be YYYY-MM-DD"))
}
