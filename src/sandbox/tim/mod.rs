//! Tencent Cloud IM `getappinfo`, simulated: every UserSig is decoded and
//! verified (signature, admin identifier, sdkappid, expiry) and failures
//! are answered with the real error codes; `RequestField` is honoured; 30
//! seeded days are served (newest first, as in the document's sample); a
//! request that reaches the sandbox under another region's domain gets
//! 70016.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State as AxState};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::Router;
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Map, Value};

use super::{day_key, json_reply, unit, AppGen, FaultKind, Sandbox, State};
use crate::error::Result;
use crate::http::HttpConfig;
use crate::providers::tim::parse::FIELDS;
use crate::providers::tim::{self, region, verify_usersig, ClientOptions, UserSigError};

const P: &str = "tim";
const ENDPOINT: &str = "getappinfo";

/// One simulated IM app.
#[derive(Debug, Clone)]
pub struct TimApp {
    pub sdkappid: u64,
    pub secret_key: String,
    /// Region code (`cn`, `sgp`, ...).
    pub region: String,
    pub name: String,
    pub company: String,
}

#[derive(Debug, Clone)]
pub struct TimConfig {
    pub apps: Vec<TimApp>,
    /// The admin account (`identifier`) UserSigs must be issued for.
    pub admin: String,
    /// Days served.
    pub days: usize,
    /// Newest day served; `None` = the sandbox's yesterday (China time).
    pub end_date: Option<NaiveDate>,
}

fn tim_app(id: u64, n: usize, region: &str, name: &str) -> TimApp {
    TimApp {
        sdkappid: id,
        secret_key: format!("sandbox-tim-secret-key-{n}"),
        region: region.into(),
        name: name.into(),
        company: "Sandbox Ltd".into(),
    }
}

/// `n` IM apps: `1400000001`, `1400000002`, ... in the China region.
pub fn tim_apps(n: usize) -> Vec<TimApp> {
    (0..n)
        .map(|i| {
            let id = 1_400_000_001 + i as u64;
            let name = if i == 0 {
                "沙盒聊天".to_string()
            } else {
                format!("Sandbox Chat {}", i + 1)
            };
            tim_app(id, i + 1, "cn", &name)
        })
        .collect()
}

impl Default for TimConfig {
    fn default() -> Self {
        TimConfig {
            apps: vec![
                tim_app(1400000001, 1, "cn", "沙盒聊天"),
                tim_app(1400000002, 2, "cn", "Sandbox Support Chat"),
                tim_app(20000001, 3, "sgp", "Sandbox Global"),
            ],
            admin: "admin".into(),
            days: 30,
            end_date: None,
        }
    }
}

pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route(tim::PATH, post(getappinfo))
        .with_state(state)
}

fn message(code: i64) -> &'static str {
    match code {
        60002 => "HTTP parse error, please check the request URL",
        60006 => "SDKAppID is invalid",
        60007 => "REST API call frequency exceeds the limit",
        60008 => "Service request timed out or HTTP request format is incorrect",
        60010 => "Request requires App administrator permissions",
        60018 => "Too many requests, please try again later",
        70001 => "UserSig has expired, please regenerate it",
        70002 => "UserSig length is 0",
        70003 | 70005 => "UserSig is invalid",
        70009 => "UserSig verification failed with the app's key",
        70013 => "Identifier in the request does not match the UserSig",
        70014 => "SDKAppID in the request does not match the UserSig",
        70016 => "The SDKAppID does not belong to this region's domain",
        70050 => "UserSig verification failed too often, wait 60 seconds",
        70052 => "UserSig has been invalidated, please regenerate it",
        70169 | 70500 => "Internal server error, please retry",
        130001 => "request json parse error",
        130009 => "sql open error",
        130010 => "sql ping error",
        130011 => "sql query error",
        130012 => "sql result parse error",
        _ => "error",
    }
}

fn fail(code: i64) -> String {
    json!({"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": message(code)}).to_string()
}

fn fail_with(code: i64, info: &str) -> String {
    json!({"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info}).to_string()
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn getappinfo(
    AxState(st): AxState<Arc<State>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let p: HashMap<String, String> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let cfg = &st.cfg.tim;
    let index = get("sdkappid")
        .parse::<u64>()
        .ok()
        .and_then(|id| cfg.apps.iter().position(|a| a.sdkappid == id));
    let key = index.map(|i| cfg.apps[i].sdkappid.to_string());
    let fault = match st.begin(P, key, ENDPOINT, None, fail, 60007).await {
        Ok(f) => f,
        Err(reply) => return reply,
    };
    if get("contenttype") != "json" || get("random").parse::<u32>().is_err() {
        return json_reply(
            fail_with(
                60002,
                "contenttype must be json and random a 32-bit unsigned integer",
            ),
            None,
        );
    }
    let Some(index) = index else {
        return json_reply(fail(60006), None);
    };
    let app = &cfg.apps[index];
    // The Host header names a region's domain (unless the client was
    // pointed at the sandbox's own address).
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if let Ok(r) = region(&host) {
        if region(&app.region).ok().map(|a| a.domain) != Some(r.domain) {
            return json_reply(fail(70016), None);
        }
    }
    let sig = get("usersig");
    if sig.is_empty() {
        return json_reply(fail(70002), None);
    }
    if fault == Some(FaultKind::ExpireToken) {
        return json_reply(fail(70001), None);
    }
    match verify_usersig(sig, app.sdkappid, &app.secret_key, now_secs()) {
        Ok(info) => {
            if info.identifier != get("identifier") {
                return json_reply(fail(70013), None);
            }
            if info.identifier != cfg.admin {
                return json_reply(fail(60010), None);
            }
        }
        Err(UserSigError::Expired { .. }) => return json_reply(fail(70001), None),
        Err(UserSigError::Signature) => return json_reply(fail(70009), None),
        Err(UserSigError::SdkAppId { .. }) => return json_reply(fail(70014), None),
        Err(_) => return json_reply(fail(70003), None),
    }
    let wanted = match requested(&body) {
        Ok(w) => w,
        Err(msg) => return json_reply(fail_with(130001, &msg), None),
    };
    let reply = build(&st, index, wanted.as_deref(), fault.as_ref());
    let mut resp = json_reply(reply.to_string(), fault.as_ref());
    // A sandbox living on another day says so in its Date header, as the
    // real service's clock does: clients take "yesterday" from it.
    if let Some(today) = st.cfg.today {
        use crate::providers::common::{china_time, CHINA_UTC_OFFSET};
        let now_cn = china_time(chrono::Utc::now()).time();
        let at = (today.and_time(now_cn) - CHINA_UTC_OFFSET).and_utc();
        if let Ok(v) =
            axum::http::HeaderValue::from_str(&at.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        {
            resp.headers_mut().insert(axum::http::header::DATE, v);
        }
    }
    resp
}

/// `None` for all fields, else the indices into [`FIELDS`] asked for.
fn requested(body: &[u8]) -> std::result::Result<Option<Vec<usize>>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "body is not UTF-8".to_string())?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(text).map_err(|e| format!("json parse error: {e}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| "body must be a JSON object".to_string())?;
    let Some(list) = obj.get("RequestField") else {
        return Ok(None);
    };
    let list = list
        .as_array()
        .ok_or_else(|| "RequestField must be an array".to_string())?;
    let mut out = vec![];
    for f in list {
        let name = f
            .as_str()
            .ok_or_else(|| "RequestField items must be strings".to_string())?;
        // The real service knows the original names only.
        let i = FIELDS
            .iter()
            .position(|(o, _, _)| *o == name)
            .ok_or_else(|| format!("unknown RequestField {name:?}"))?;
        if !out.contains(&i) {
            out.push(i);
        }
    }
    Ok(Some(out))
}

/// Seeded operations data of one app and day, every value a string.
fn day_values(g: &AppGen, app: &TimApp, d: NaiveDate) -> Map<String, Value> {
    let seed = g.seed;
    let key = app.sdkappid.to_string();
    let u = |what: &str| unit(seed, &format!("{key}/{what}"), day_key(d));
    let base = 500.0 + 20_000.0 * unit(seed, &key, -1);
    let weekend = matches!(d.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
    let active =
        (base * (if weekend { 0.8 } else { 1.0 }) * (0.9 + 0.2 * u("active")) * g.restated(d))
            .round();
    let n = |x: f64| Value::String(format!("{}", x.max(0.0).round() as i64));
    let reg_day = (active * (0.02 + 0.05 * u("reg"))).round();
    // Total registrations grow by each day's registrations.
    let total = (base * 25.0 + reg_day * day_key(d) as f64 / 10.0).round();
    let login_users = (active * (0.9 + 0.1 * u("lu"))).round();
    let c2c_up = active * (3.0 + 10.0 * u("c2c"));
    let group_up = active * (1.0 + 4.0 * u("grp"));
    let c2c_down = c2c_up * (0.95 + 0.05 * u("c2cd"));
    let group_down = group_up * (5.0 + 20.0 * u("grpd"));
    let c2c_apns = c2c_up * 0.1 * u("c2ca");
    let group_apns = group_up * 0.05 * u("grpa");
    let c2c_senders = active * (0.2 + 0.3 * u("c2cs"));
    let group_senders = active * (0.1 + 0.2 * u("grps"));
    let all_groups = (base * 2.0 + day_key(d) as f64).round();
    let new_groups = (all_groups * 0.01 * u("newg")).round();
    let callbacks = (c2c_up + group_up) * 0.5;
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("Date", Value::String(d.format("%Y%m%d").to_string()));
    put("AppName", Value::String(app.name.clone()));
    put("AppId", Value::String(key.clone()));
    put("Company", Value::String(app.company.clone()));
    put("QQ", Value::String(String::new()));
    put("ActiveUserNum", n(active));
    put("RegistUserNumOneDay", n(reg_day));
    put("RegistUserNumTotal", n(total));
    put("LoginTimes", n(login_users * (1.5 + 2.0 * u("lt"))));
    put("LoginUserNum", n(login_users));
    put("UpMsgNum", n(c2c_up + group_up));
    put("DownMsgNum", n(c2c_down + group_down));
    put(
        "SendMsgUserNum",
        n((c2c_senders + group_senders).min(active)),
    );
    put("APNSMsgNum", n(c2c_apns + group_apns));
    put("C2CUpMsgNum", n(c2c_up));
    put("C2CDownMsgNum", n(c2c_down));
    put("C2CSendMsgUserNum", n(c2c_senders));
    put("C2CAPNSMsgNum", n(c2c_apns));
    put("MaxOnlineNum", n(active * (0.05 + 0.1 * u("online"))));
    put("ChainIncrease", n(active * 0.05 * u("chi")));
    put("ChainDecrease", n(active * 0.02 * u("chd")));
    put("GroupUpMsgNum", n(group_up));
    put("GroupDownMsgNum", n(group_down));
    put("GroupSendMsgUserNum", n(group_senders));
    put("GroupAPNSMsgNum", n(group_apns));
    put("GroupSendMsgGroupNum", n(all_groups * 0.2 * u("sg")));
    put(
        "GroupJoinGroupTimes",
        n(new_groups * (3.0 + 10.0 * u("join"))),
    );
    put(
        "GroupQuitGroupTimes",
        n(new_groups * (1.0 + 5.0 * u("quit"))),
    );
    put("GroupNewGroupNum", n(new_groups));
    put("GroupAllGroupNum", n(all_groups));
    put("GroupDestroyGroupNum", n(new_groups * 0.5 * u("destroy")));
    put("TextMsgInNum", n(0.0));
    put("TextMsgOutNum", n(0.0));
    put("VoiceMsgInNum", n(0.0));
    put("VoiceMsgOutNum", n(0.0));
    put("CallBackReq", n(callbacks));
    put("CallBackRsp", n(callbacks * (0.98 + 0.02 * u("cbr"))));
    m
}

/// The newest day served: yesterday in China (or `end_date`).
pub fn end_date(st: &State) -> NaiveDate {
    st.cfg
        .tim
        .end_date
        .unwrap_or_else(|| st.cfg.today().pred_opt().unwrap_or_default())
}

fn build(st: &State, index: usize, wanted: Option<&[usize]>, fault: Option<&FaultKind>) -> Value {
    let app = &st.cfg.tim.apps[index];
    // the app's data; an index of its own seeds it (the sandbox's seed
    // with the SDKAppID, as before)
    let g = AppGen {
        seed: st.cfg.seed,
        ..st.cfg.app(index)
    };
    let end = end_date(st);
    let mut days: Vec<NaiveDate> = (0..st.cfg.tim.days as i64)
        .filter_map(|i| end.checked_sub_signed(chrono::TimeDelta::days(i)))
        .collect();
    if let Some(FaultKind::DropRows(n)) = fault {
        // Leave days out of the middle of the month.
        let mid = days.len() / 2;
        let take = (*n).min(days.len().saturating_sub(mid));
        days.drain(mid..mid + take);
    }
    if fault == Some(&FaultKind::DuplicatePage) && !days.is_empty() {
        days.push(days[0]);
    }
    let rows: Vec<Value> = days
        .iter()
        .map(|&d| {
            let all = day_values(&g, app, d);
            match wanted {
                None => Value::Object(all),
                Some(w) => {
                    let mut m = Map::new();
                    for name in std::iter::once("Date").chain(w.iter().map(|&i| FIELDS[i].0)) {
                        if let Some(v) = all.get(name) {
                            m.insert(name.to_string(), v.clone());
                        }
                    }
                    Value::Object(m)
                }
            }
        })
        .collect();
    json!({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "Result": rows})
}

/// A client for the `index`-th sandbox app, sending its requests for the
/// app's region domain to the sandbox.
pub fn client(sb: &Sandbox, index: usize, cfg: HttpConfig) -> Result<tim::Client> {
    let app = sb.state.cfg.tim.apps.get(index).ok_or_else(|| {
        crate::Error::invalid(format!(
            "the sandbox has {} Tencent IM apps; index {index} is out of range",
            sb.state.cfg.tim.apps.len()
        ))
    })?;
    tim::Client::with_options(
        app.sdkappid,
        &app.secret_key,
        Some(&sb.state.cfg.tim.admin),
        &app.region,
        cfg,
        &options(sb),
    )
}

/// Client options that route every region's domain to the sandbox and
/// expect the days it serves.
pub fn options(sb: &Sandbox) -> ClientOptions {
    ClientOptions {
        resolve_to: Some(sb.addr),
        window_end: Some(end_date(&sb.state)),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests;
