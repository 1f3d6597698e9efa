//! Baidu smart program data API, simulated.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Map, Value};

use super::{day_key, json_reply, unit, AppGen, FaultKind, State};

const P: &str = "baidu";

pub fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/oauth/2.0/token", get(oauth_token))
        .route("/public/2.0/smartapp/auth/tp/token", get(tp_token))
        .route("/rest/2.0/oauth/token", get(authorizer_token))
        .route("/rest/2.0/smartapp/data/{endpoint}", any(data))
        .with_state(state)
}

type Params = HashMap<String, String>;

fn params(q: Option<String>, body: &Bytes) -> Params {
    let mut p: Params = serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    if let Ok(b) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        p.extend(b);
    }
    p
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

fn date_param(p: &Params, k: &str) -> Option<NaiveDate> {
    let s = p.get(k)?;
    if s.len() != 8 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

fn int_param(p: &Params, k: &str, default: i64) -> Option<i64> {
    match p.get(k) {
        None => Some(default),
        Some(s) => s.parse().ok(),
    }
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

/// Period labels for a range and granularity, oldest first.
fn periods(start: NaiveDate, end: NaiveDate, gran: &str) -> Vec<(String, NaiveDate, NaiveDate)> {
    let mut out = vec![];
    match gran {
        "hour" => {
            for h in 0..24 {
                out.push((format!("{h:02}:00 - {h:02}:59"), start, start));
            }
        }
        "day" => {
            for d in start.iter_days().take_while(|d| *d <= end) {
                out.push((d.format("%Y/%m/%d").to_string(), d, d));
            }
        }
        "week" => {
            let mut a = start;
            while a <= end {
                let b = (a + chrono::Days::new(6)).min(end);
                out.push((
                    format!("{} - {}", a.format("%Y/%m/%d"), b.format("%Y/%m/%d")),
                    a,
                    b,
                ));
                a = b + chrono::Days::new(1);
            }
        }
        _ => {
            let mut a = start;
            while a <= end {
                let next = if a.month() == 12 {
                    NaiveDate::from_ymd_opt(a.year() + 1, 1, 1)
                } else {
                    NaiveDate::from_ymd_opt(a.year(), a.month() + 1, 1)
                }
                .expect("date");
                let b = next.pred_opt().expect("date").min(end);
                out.push((a.format("%Y/%m").to_string(), a, b));
                a = next;
            }
        }
    }
    out
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Daily active users of the simulated program on `d`.
fn dau(g: &AppGen, d: NaiveDate) -> f64 {
    let seed = g.seed;
    let weekday = d.weekday().num_days_from_monday() as f64;
    let trend = 1.0 + day_key(d) as f64 * 0.0004;
    let season = 1.0 + 0.15 * (weekday - 3.0).abs() / 3.0;
    1200.0 * g.scale * trend * season * (0.85 + 0.3 * unit(seed, "dau", day_key(d))) * g.restated(d)
}

/// Users over the days of `a..=b` that have data (none from today on).
fn range_users(g: &AppGen, a: NaiveDate, b: NaiveDate) -> f64 {
    let days: f64 = a
        .iter_days()
        .take_while(|d| *d <= b && g.served(*d))
        .map(|d| dau(g, d))
        .sum();
    // uniques over a range grow slower than the daily sum
    days.powf(0.93)
}

fn shares(seed: u64, key: &str, n: usize) -> Vec<f64> {
    let w: Vec<f64> = (0..n)
        .map(|i| (1.0 / (i as f64 + 1.3)) * (0.6 + 0.8 * unit(seed, key, i as i64)))
        .collect();
    let s: f64 = w.iter().sum();
    w.into_iter().map(|x| x / s).collect()
}

const REGIONS: &[&str] = &[
    "广东",
    "重庆",
    "北京",
    "上海",
    "江苏",
    "浙江",
    "山东",
    "河南",
    "四川",
    "湖北",
    "湖南",
    "河北",
    "福建",
    "安徽",
    "辽宁",
    "陕西",
    "江西",
    "广西",
    "云南",
    "山西",
    "黑龙江",
    "吉林",
    "贵州",
    "天津",
    "内蒙古",
    "新疆",
    "甘肃",
    "海南",
    "宁夏",
    "青海",
    "西藏",
    "香港",
    "澳门",
    "台湾",
];

fn terminal_values(t: &str) -> Vec<String> {
    let v: &[&str] = match t {
        "terminal_brand" => &[
            "华为", "苹果", "小米", "OPPO", "vivo", "荣耀", "三星", "魅族", "一加", "其他",
        ],
        "terminal_device" => &[
            "iPhone 13",
            "iPhone 12",
            "HUAWEI Mate 40",
            "Redmi K40",
            "OPPO Reno6",
            "vivo X70",
            "iPhone 11",
            "HONOR 50",
            "Mi 11",
            "Galaxy S21",
            "iPhone XR",
            "nova 9",
            "Redmi Note 10",
            "OnePlus 9",
        ],
        "terminal_os" => &[
            "Android 8",
            "Android 8.1",
            "Android 9",
            "Android 10",
            "Android 11",
            "Android 12",
            "iOS 14",
            "iOS 15",
            "iOS 16",
            "HarmonyOS 2",
            "HarmonyOS 3",
        ],
        "terminal_screen" => &[
            "1080*2340",
            "1080*2400",
            "750*1334",
            "1170*2532",
            "720*1600",
            "1440*3200",
            "828*1792",
        ],
        _ => &["wifi", "4g", "5g", "3g", "2g", "未知"],
    };
    v.iter().map(|s| s.to_string()).collect()
}

fn character_buckets(t: &str) -> Vec<&'static str> {
    match t {
        "depth" => vec![
            "1页",
            "2页",
            "3页",
            "4页",
            "5页",
            "6-10页",
            "11-20页",
            "20页以上",
        ],
        "time" => vec![
            "1-3秒",
            "4-10秒",
            "11-30秒",
            "31-60秒",
            "1-3分",
            "3-10分",
            "10-30分",
            "30分以上",
        ],
        "interval" => vec![
            "首次启动",
            "当日",
            "1天",
            "2天",
            "3天",
            "4-7天",
            "8-14天",
            "15-30天",
        ],
        _ => vec!["1-2次", "3-5次", "6-9次", "10-19次", "20-49次", "50次以上"],
    }
}

const SCENE_NAMES: &[&str] = &[
    "原生",
    "闪投",
    "搜索词推荐直达",
    "小程序单卡",
    "自然结果",
    "小程序tab",
    "推荐",
    "历史",
    "顶部横滑模块",
    "智能小程序",
    "分享",
    "百家号文章挂载",
    "多任务",
    "桌面快捷",
    "其他",
];

/// Metrics of a source group or scene holding `share` of all users, of
/// whom `new_ratio` are new (scenes use their group's ratio, so scene
/// counts add up to the group's).
/// Mean share of new users over all sources.
const SOURCE_NEW_RATIO: f64 = 0.75;

fn source_metrics(
    seed: u64,
    key: &str,
    i: i64,
    users: f64,
    share: f64,
    new_ratio: f64,
) -> Map<String, Value> {
    let u = (users * share).round();
    let new = (u * new_ratio).round();
    let all_new = users * SOURCE_NEW_RATIO;
    let mut m = Map::new();
    m.insert("new_user_count".into(), json!(new as i64));
    m.insert(
        "new_user_scale".into(),
        json!(round2(new / all_new * 100.0)),
    );
    m.insert("user_count".into(), json!(u as i64));
    m.insert("user_scale".into(), json!(round2(share * 100.0)));
    m.insert(
        "session_scale".into(),
        json!(round2(share * 100.0 * (0.9 + 0.2 * unit(seed, key, i + 7)))),
    );
    m.insert(
        "session_count_per_user".into(),
        json!(round2(1.0 + 0.5 * unit(seed, key, i + 3))),
    );
    m.insert(
        "average_session_time".into(),
        json!((20.0 + 300.0 * unit(seed, key, i + 5)).round() as i64),
    );
    m
}

/// Build the whole reply (all rows, then paged) for a data endpoint.
/// A generated report: the complete reply (unpaged endpoints) or all its
/// rows, to be paged.
enum Generated {
    Whole(Value),
    Rows {
        rows: Vec<Value>,
        sum: Option<Value>,
        span: String,
    },
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

fn generate(st: &State, g: AppGen, endpoint: &str, p: &Params) -> Result<Generated, String> {
    let seed = g.seed;
    let g = &g;
    let start = date_param(p, "start_date").ok_or("start_date must be YYYYMMDD")?;
    let end = date_param(p, "end_date").ok_or("end_date must be YYYYMMDD")?;
    if end < start {
        return Err("end_date before start_date".into());
    }
    let need = |k: &str, allowed: &[&str]| -> Result<String, String> {
        let v = p.get(k).ok_or(format!("{k} required"))?;
        if allowed.contains(&v.as_str()) {
            Ok(v.clone())
        } else {
            Err(format!("bad {k}"))
        }
    };
    let span = format!("{} - {}", start.format("%Y/%m/%d"), end.format("%Y/%m/%d"));
    // Nothing is served from today on (China time): the range ends
    // yesterday at the latest, and may hold no day at all.
    let end = end.min(g.last_day());
    if end < start {
        return Ok(if endpoint == "getanalysisvisitattribute" {
            Generated::Whole(json!({"errno": 0, "msg": "success", "data": {"data_list": []}}))
        } else {
            Generated::Rows {
                rows: vec![],
                sum: None,
                span,
            }
        });
    }
    let users = range_users(g, start, end);
    let mut sum: Option<Value> = None;
    let rows: Vec<Value> = match endpoint {
        "getanalysisusertrend" => {
            let gran = need("gran", &["hour", "day", "week", "month"])?;
            let mut rows = vec![];
            for (i, (label, a, b)) in periods(start, end, &gran).into_iter().enumerate() {
                // a period's numbers depend on the period only, never on
                // its place in the requested range
                let slot = if gran == "hour" {
                    i as i64
                } else {
                    (b - a).num_days()
                };
                let u = if gran == "hour" {
                    dau(g, a) / 24.0 * (0.3 + 1.4 * (std::f64::consts::PI * i as f64 / 23.0).sin())
                } else {
                    range_users(g, a, b)
                }
                .round()
                .max(1.0);
                let nr = 0.7 + 0.2 * unit(seed, "new", day_key(a) * 31 + slot);
                let new = (u * nr).round();
                let sessions = (u * (1.1 + 0.2 * unit(seed, "s", day_key(a)))).round();
                let t = 30.0 + 40.0 * unit(seed, "t", day_key(a) * 31 + slot);
                rows.push(json!({"name": label, "new_user_count": new as i64, "new_user_ratio": round2(new / u * 100.0),
                    "old_user_count": (u - new) as i64, "old_user_ratio": round2((u - new) / u * 100.0),
                    "user_count": u as i64, "session_count": sessions as i64,
                    "average_session_time": t.round() as i64, "session_time_per_person": (t * sessions / u).round() as i64}));
            }
            rows.reverse(); // newest first, as the service does
            sum = Some(
                json!({"new_user_count": (users * 0.8).round() as i64, "new_user_ratio": 80.0, "old_user_count": (users * 0.2).round() as i64,
                "old_user_ratio": 20.0, "user_count": users.round() as i64, "session_count": (users * 1.2).round() as i64,
                "average_session_time": 48, "session_time_per_person": 57}),
            );
            rows
        }
        "getanalysisactivityuser" => {
            let mut rows = vec![];
            for d in start.iter_days().take_while(|d| *d <= end) {
                let u = dau(g, d).round();
                let acc = 50_000.0 + day_key(d) as f64 * 40.0;
                let w = range_users(g, d - chrono::Days::new(6), d).round();
                let m = range_users(g, d - chrono::Days::new(29), d).round();
                let lost = (acc * 0.27).round();
                let weekly_key = if unit(seed, "odd", day_key(d)) < 0.0 {
                    " "
                } else {
                    "weekly_user_count"
                };
                rows.push(json!({"name": d.format("%Y/%m/%d").to_string(), "user_count": u as i64,
                    "daily_activity_degree": round2(u / acc * 100.0), "day_month_activity_degree": round2(u / m * 100.0),
                    weekly_key: w as i64, "weekly_activity_degree": round2(w / acc * 100.0),
                    "monthly_user_count": m as i64, "monthly_activity_degree": round2(m / acc * 100.0),
                    "lost_user_count": lost as i64, "lost_ratio": round2(lost / acc * 100.0),
                    "accumulative_user_count": acc as i64}));
            }
            rows.reverse();
            sum = rows.first().cloned().map(|mut v| {
                if let Some(o) = v.as_object_mut() {
                    o.remove("name");
                }
                v
            });
            rows
        }
        "getanalysisretaineduser" => {
            let gran = need("gran", &["day", "week", "month"])?;
            let ratio = need("report_type", &["count", "ratio"])? == "ratio";
            let (unit_name, n_periods) = match gran.as_str() {
                "day" => ("天", 30),
                "week" => ("周", 9),
                _ => ("月", 9),
            };
            let mut rows = vec![];
            for (label, a, b) in periods(start, end, &gran) {
                let size = range_users(g, a, b).round();
                let mut o = Map::new();
                o.insert("name".into(), json!(label));
                o.insert("active_user_count".into(), json!(size as i64));
                let span_days = (b - a).num_days() + 1;
                for n in 2..=n_periods {
                    let key = format!("第{n}{unit_name}");
                    // periods that end today or later are not known yet
                    // (whatever range was asked for)
                    let when = a + chrono::Days::new(((n - 1) * span_days.max(1)) as u64);
                    if when > g.last_day() {
                        o.insert(key, json!("--"));
                        continue;
                    }
                    let r = 0.35
                        * (n as f64).powf(-0.7)
                        * (0.8 + 0.4 * unit(seed, "ret", day_key(a) * 50 + n));
                    o.insert(
                        key,
                        if ratio {
                            json!(round2(r * 100.0))
                        } else {
                            json!((size * r).round() as i64)
                        },
                    );
                }
                rows.push(Value::Object(o));
            }
            sum = Some(json!({"active_user_count": "--"}));
            rows
        }
        "getanalysisvisitattribute" => {
            let groups: [(&str, &[&str]); 3] = [
                (
                    "age",
                    &[
                        "18岁以下",
                        "18-24岁",
                        "25-34岁",
                        "35-44岁",
                        "45-54岁",
                        "55-64岁",
                        "65岁以上",
                    ],
                ),
                ("sex", &["男", "女"]),
                (
                    "interest",
                    &[
                        "软件应用",
                        "资讯",
                        "影视音乐",
                        "医疗健康",
                        "书籍阅读",
                        "教育培训",
                        "餐饮美食",
                        "旅游酒店",
                        "母婴亲子",
                    ],
                ),
            ];
            let mut o = Map::new();
            for (k, names) in groups {
                let sh = shares(seed, k, names.len());
                let items: Vec<Value> = names
                    .iter()
                    .zip(sh)
                    .enumerate()
                    .map(|(i, (n, s))| json!({"attribute_id": format!("{}", super::mix(seed, (k.len() * 100 + i) as u64)), "name": n, "count_ratio": round2(s * 100.0)}))
                    .collect();
                o.insert(k.into(), Value::Array(items));
            }
            return Ok(Generated::Whole(
                json!({"errno": 0, "msg": "success", "data": {"data_list": [Value::Object(o)]}}),
            ));
        }
        "getanalysisregion" => {
            let sh = shares(seed, "region", REGIONS.len());
            let sessions = users * 1.15;
            REGIONS
                .iter()
                .zip(sh)
                .map(|(r, s)| json!({"name": r, "session_count_district": (sessions * s).round() as i64,
                    "session_count_district_ratio": round2(s * 100.0), "new_user_count_district_ratio": round2(s * 100.0 * 0.98),
                    "user_count_district_ratio": round2(s * 100.0 * 1.01), "average_session_time_district": (30.0 + 30.0 * s * 10.0).round() as i64}))
                .collect()
        }
        "getanalysisterminal" => {
            let t = need(
                "terminal_type",
                &[
                    "terminal_brand",
                    "terminal_device",
                    "terminal_os",
                    "terminal_screen",
                    "terminal_network",
                ],
            )?;
            let vals = terminal_values(&t);
            let sh = shares(seed, &t, vals.len());
            let sessions = users * 1.15;
            vals.iter()
                .zip(sh)
                .enumerate()
                .map(|(i, (v, s))| {
                    if t == "terminal_network" {
                        json!({"name": v, "accumulative_session_count": (sessions * s).round() as i64,
                            "accumulative_session_count_ratio": round2(s * 100.0), "average_use_time": (40.0 + 20.0 * unit(seed, &t, i as i64)).round() as i64})
                    } else {
                        json!({"name": v, "accumulative_session_count": (sessions * s).round() as i64,
                            "accumulative_session_count_ratio": round2(s * 100.0), "accumulative_new_user_count_ratio": round2(s * 100.0 * 1.02),
                            "accumulative_user_count_ratio": round2(s * 100.0 * 0.99), "average_use_time": (40.0 + 20.0 * unit(seed, &t, i as i64)).round() as i64})
                    }
                })
                .collect()
        }
        "getanalysisvisitpage" => {
            let n = st.cfg.baidu.pages;
            let sh = shares(seed, "page", n);
            let pv = users * 2.1;
            sh.iter()
                .enumerate()
                .map(|(i, s)| json!({"pageId": format!("{}", super::mix(seed, 9000 + i as u64) % 10u64.pow(19)),
                    "pageName": if i == 0 { "pages/index/index".to_string() } else { format!("pages/p{i}/p{i}") }, "pageAlias": "",
                    "pv_count": (pv * s).round() as i64, "pv_ratio": round2(s * 100.0), "pv_user_count": (users * s * 1.2).round() as i64,
                    "average_stay_time": (10.0 + 30.0 * unit(seed, "stay", i as i64)).round() as i64, "stay_time_ratio": round2(s * 100.0),
                    "bounce_ratio": round2(20.0 + 60.0 * unit(seed, "bounce", i as i64)), "entry_count": (users * s).round() as i64,
                    "exit_count": (users * s * 0.97).round() as i64}))
                .collect()
        }
        "getanalysisvisitcharacter" => {
            let t = need(
                "character_type",
                &["depth", "time", "interval", "frequency"],
            )?;
            let b = character_buckets(&t);
            let sh = shares(seed, &t, b.len());
            b.iter()
                .zip(sh)
                .map(|(n, s)| {
                    if t == "frequency" {
                        json!({"name": n, "user_count": (users * s).round() as i64, "user_count_ratio": round2(s * 100.0)})
                    } else {
                        json!({"name": n, "session_count": (users * 1.1 * s).round() as i64, "session_count_ratio": round2(s * 100.0)})
                    }
                })
                .collect()
        }
        "getanalysissource" => {
            let n = st.cfg.baidu.sources;
            let sh = shares(seed, "source", n);
            let per = st.cfg.baidu.scenes_per_source;
            sh.iter()
                .enumerate()
                .map(|(g, s)| {
                    let source_id = 10 + g as i64 * 3;
                    // every fifth group has no scene breakdown
                    let k = if g % 5 == 4 {
                        0
                    } else {
                        1 + (unit(seed, "k", g as i64) * per as f64) as usize
                    };
                    let ssh = shares(seed, &format!("scene{g}"), k.max(1));
                    let new_ratio = SOURCE_NEW_RATIO + 0.3 * (unit(seed, "new", g as i64) - 0.5);
                    let scenes: Vec<Value> = (0..k)
                        .map(|j| {
                            let mut m = source_metrics(
                                seed,
                                "scene",
                                (g * 100 + j) as i64,
                                users,
                                s * ssh[j],
                                new_ratio,
                            );
                            m.insert(
                                "sceneId".into(),
                                json!(format!("{}", 10_000_000 + source_id * 100_000 + j as i64)),
                            );
                            m.insert("source".into(), json!(source_id.to_string()));
                            m.insert(
                                "name".into(),
                                json!(SCENE_NAMES[(g * 3 + j) % SCENE_NAMES.len()]),
                            );
                            let mut out = Map::new();
                            for key in ["sceneId", "source", "name"] {
                                out.insert(key.into(), m.remove(key).expect("key"));
                            }
                            out.extend(m);
                            Value::Object(out)
                        })
                        .collect();
                    let mut o = Map::new();
                    o.insert("name".into(), Value::Array(scenes));
                    o.extend(source_metrics(
                        seed, "group", g as i64, users, *s, new_ratio,
                    ));
                    Value::Object(o)
                })
                .collect()
        }
        "gettpdata" | "getdata" => {
            // The SDKs' gettpdata dates its rows under `date` (Go SDK
            // model), the seed document's getdata under `data`.
            let date_key = if endpoint == "gettpdata" {
                "date"
            } else {
                "data"
            };
            // Without `scene` (gettpdata only: Baidu's SDKs document it as
            // optional, "not passed: all scenes") the rows are the
            // platform's totals over all scenes; a scene gets its
            // deterministic share of the counts. The document's getdata
            // requires it.
            let scene = match p.get("scene") {
                None if endpoint == "gettpdata" => None,
                s => Some(
                    s.and_then(|s| s.trim().parse::<i64>().ok())
                        .ok_or("scene must be an integer")?,
                ),
            };
            let share = scene.map_or(1.0, |s| 0.05 + 0.3 * unit(seed, "tp scene", s));
            let metrics: Vec<String> = p
                .get("metrics")
                .ok_or("metrics required")?
                .split(',')
                .map(str::to_string)
                .collect();
            start
                .iter_days()
                .take_while(|d| *d <= end)
                .map(|d| {
                    let mut o = Map::new();
                    o.insert(date_key.into(), json!(d.format("%Y%m%d").to_string()));
                    for (i, m) in metrics.iter().enumerate() {
                        let x = unit(seed, m, day_key(d) * 40 + i as i64);
                        // some days have no data yet
                        let v = if unit(seed, "gap", day_key(d)) < 0.1 {
                            "--".to_string()
                        } else if m.contains("degree") || m.contains("per_") {
                            format!("{:.2}", 1.0 + 10.0 * x)
                        } else {
                            let n = dau(g, d) * (5.0 + 20.0 * x) * share;
                            format!("{}", n.round() as i64)
                        };
                        o.insert(m.clone(), json!(v));
                    }
                    Value::Object(o)
                })
                .collect()
        }
        _ => return Err(format!("unknown endpoint {endpoint}")),
    };
    Ok(Generated::Rows { rows, sum, span })
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
