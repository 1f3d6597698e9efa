//! Tencent MTA app open API, simulated.
//!
//! Every request is checked like the real service: `app_id`, the `sign`
//! (recomputed with [`crate::providers::mta::sign::sign`] — a wrong one is
//! answered with `60002`), `idx` ids valid for the endpoint, dates
//! (`YYYY-MM-DD`, start <= end, at most
//! [`MAX_WINDOW_DAYS`](crate::providers::mta::endpoints::MAX_WINDOW_DAYS)
//! days), and `ty` where needed. Data is seeded and plausible: weekly
//! seasonality, retention decaying with the day, terminal and crash
//! environment tops. Values are strings, counts above 999 with thousands
//! separators, as MTA sends them.
//!
//! Faults: `Status`, `Reset`, `Delay`, `Truncate`, `Code(c)` (MTA envelope
//! with code `c`), `DropRows(n)` (leave the last `n` dates / rows out).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State as AxState};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Map, Value};

use super::{day_key, json_reply, unit, AppGen, FaultKind, State};
use crate::providers::mta::endpoints::{
    retention_day, Metric, ReportKind, MAX_WINDOW_DAYS, REPORTS,
};
use crate::providers::mta::sign;

const P: &str = "mta";

/// One simulated MTA app.
#[derive(Debug, Clone)]
pub struct MtaApp {
    pub app_id: String,
    pub secret_key: String,
    /// Serve retention as percentages of the cohort (`"35.2%"` on even
    /// days, `"35.2"` on odd ones), as a community dashboard renders
    /// `D{N}RepeatUser`, instead of counts.
    pub retention_percent: bool,
}

/// MTA sandbox apps (the first one is `500000001`).
#[derive(Debug, Clone)]
pub struct MtaConfig {
    pub apps: Vec<MtaApp>,
}

impl MtaConfig {
    /// The first app (the one `Sandbox.mta()` uses).
    pub fn first(&self) -> &MtaApp {
        &self.apps[0]
    }
}

/// `n` MTA apps with their own ids and keys.
pub fn mta_apps(n: usize) -> Vec<MtaApp> {
    (0..n)
        .map(|i| MtaApp {
            app_id: (500_000_001 + i as u64).to_string(),
            secret_key: if i == 0 {
                "sandbox-mta-secret".into()
            } else {
                format!("sandbox-mta-secret-{}", i + 1)
            },
            retention_percent: false,
        })
        .collect()
}

impl Default for MtaConfig {
    fn default() -> Self {
        MtaConfig { apps: mta_apps(1) }
    }
}

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

fn date(p: &HashMap<&str, &str>, k: &str) -> Result<NaiveDate, String> {
    let s = p.get(k).ok_or(format!("{k} is required"))?;
    if s.len() != 10 {
        return Err(format!("{k} must be YYYY-MM-DD"));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("{k} must be YYYY-MM-DD"))
}

/// Counts as MTA renders them: `"1,234"`.
fn count(x: f64) -> Value {
    let n = x.max(0.0).round() as i64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    Value::String(out)
}

fn decimal(x: f64) -> Value {
    Value::String(format!("{x:.2}"))
}

/// Per-request variation for version / channel filters.
fn filter_factor(seed: u64, p: &HashMap<&str, &str>) -> f64 {
    let mut f = 1.0;
    if let Some(v) = p.get("version") {
        f *= 0.1 + 0.5 * unit(seed, v, 1);
    }
    if let Some(c) = p.get("channel") {
        f *= 0.05 + 0.4 * unit(seed, c, 2);
    }
    f
}

/// Daily active users of the simulated app on `d`.
fn dau(g: &AppGen, d: NaiveDate) -> f64 {
    let seed = g.seed;
    let weekday = d.weekday().num_days_from_monday() as f64;
    let trend = 1.0 + day_key(d) as f64 * 0.0003;
    let weekend = if weekday >= 5.0 { 1.25 } else { 1.0 };
    5000.0
        * g.scale
        * trend
        * weekend
        * (0.9 + 0.2 * unit(seed, "mta-dau", day_key(d)))
        * g.restated(d)
}

fn new_users(g: &AppGen, d: NaiveDate) -> f64 {
    dau(g, d) * (0.08 + 0.04 * unit(g.seed, "mta-new", day_key(d)))
}

/// Share of a cohort that comes back on day `n`.
fn retention_rate(seed: u64, d: NaiveDate, n: i64) -> f64 {
    let base = 0.42 * (n as f64).powf(-0.38);
    base * (0.9 + 0.2 * unit(seed, "mta-ret", day_key(d) * 64 + n))
}

const TERMINALS: [&[&str]; 5] = [
    &[
        "Android 14",
        "Android 13",
        "iOS 17.4",
        "Android 12",
        "iOS 16.7",
        "HarmonyOS 4.0",
        "Android 11",
        "iOS 15.8",
        "Android 10",
        "Android 9",
    ],
    &[
        "1080x2400",
        "1170x2532",
        "1080x2340",
        "1284x2778",
        "720x1600",
        "1440x3200",
        "828x1792",
        "1080x1920",
    ],
    &["WIFI", "5G", "4G", "3G", "2G", "未知"],
    &["中国移动", "中国联通", "中国电信", "中国广电", "未知"],
    &[
        "iPhone 15",
        "HUAWEI Mate 60 Pro",
        "iPhone 14",
        "Xiaomi 14",
        "OPPO Reno11",
        "vivo X100",
        "HONOR 100",
        "Redmi K70",
        "iPhone 13",
        "Samsung Galaxy S24",
    ],
];

const CRASH_ENVS: [&[&str]; 3] = [
    &["3.2.1", "3.2.0", "3.1.5", "3.1.0", "3.0.2", "2.9.8"],
    &[
        "Android 14",
        "Android 13",
        "iOS 17.4",
        "Android 12",
        "iOS 16.7",
    ],
    &[
        "HUAWEI Mate 60 Pro",
        "Xiaomi 14",
        "iPhone 15",
        "OPPO Reno11",
        "vivo X100",
    ],
];

const ERRORS: &[&str] = &[
    "java.lang.NullPointerException: Attempt to invoke virtual method on a null object reference",
    "java.lang.OutOfMemoryError: Failed to allocate a 4194320 byte allocation",
    "SIGSEGV(SEGV_MAPERR) at libapp.so",
    "NSInvalidArgumentException: -[__NSCFString count]: unrecognized selector",
    "java.lang.IllegalStateException: Fragment not attached to a context",
    "android.view.WindowManager$BadTokenException: Unable to add window",
];

const SECTIONS: &[&str] = &["1-2次", "3-5次", "6-9次", "10-19次", "20-49次", "50次以上"];

fn build(
    g: &AppGen,
    p: &HashMap<&str, &str>,
    metrics: &'static [Metric],
    kind: ReportKind,
    fault: Option<&FaultKind>,
    retention_percent: bool,
) -> Result<Value, String> {
    let idx = p.get("idx").ok_or("idx is required")?;
    let mut wanted: Vec<&Metric> = vec![];
    for part in idx.split(',') {
        let id: u32 = part
            .trim()
            .parse()
            .map_err(|_| format!("idx {part:?} is not a metric id"))?;
        let m = metrics
            .iter()
            .find(|m| m.id == id)
            .ok_or(format!("idx {id} is not served by this endpoint"))?;
        if !wanted.contains(&m) {
            wanted.push(m);
        }
    }
    let drop = match fault {
        Some(FaultKind::DropRows(n)) => *n,
        _ => 0,
    };
    let seed = g.seed;
    let f = filter_factor(seed, p);
    if kind == ReportKind::Realtime {
        // today's numbers so far (the only report that serves today)
        let today = g.today;
        let share = 0.3 + 0.6 * unit(seed, "mta-rt", 0);
        let mut row = Map::new();
        row.insert("Date".into(), Value::String(today.to_string()));
        for m in &wanted {
            row.insert(m.mta.into(), daily_value(g, today, m, f * share));
        }
        return Ok(Value::Object(row));
    }
    let start = date(p, "start_date")?;
    let end = date(p, "end_date")?;
    if end < start {
        return Err("end_date is before start_date".into());
    }
    let span = (end - start).num_days() + 1;
    if span > MAX_WINDOW_DAYS {
        return Err(format!("date range longer than {MAX_WINDOW_DAYS} days"));
    }
    // nothing is served from today on (China time)
    let days: Vec<NaiveDate> = start
        .iter_days()
        .take_while(|d| *d <= end && g.served(*d))
        .collect();
    let ty = |max: u8| -> Result<usize, String> {
        let t: u8 = p
            .get("ty")
            .ok_or("ty is required")?
            .parse()
            .map_err(|_| "ty must be a number".to_string())?;
        if (1..=max).contains(&t) {
            Ok(t as usize)
        } else {
            Err(format!("ty must be 1..{max}"))
        }
    };
    let range_active: f64 = days.iter().map(|d| dau(g, *d)).sum::<f64>().powf(0.93) * f;
    Ok(match kind {
        ReportKind::Terminal => {
            let t = ty(5)?;
            let names = TERMINALS[t - 1];
            let mut rows = vec![];
            let keep = names.len().saturating_sub(drop);
            for (i, n) in names.iter().enumerate().take(keep) {
                let share = 0.45 * 0.62f64.powi(i as i32) * (0.9 + 0.2 * unit(seed, n, t as i64));
                let active = range_active * share;
                let mut row = Map::new();
                row.insert("Terminal".into(), Value::String(n.to_string()));
                for m in &wanted {
                    let v = match m.mta {
                        "NewUser" => active * 0.12,
                        "ActiveUser" => active,
                        _ => active * 2.6,
                    };
                    row.insert(m.mta.into(), count(v));
                }
                rows.push(Value::Object(row));
            }
            Value::Array(rows)
        }
        ReportKind::CrashEnv => {
            let t = ty(3)?;
            let names = CRASH_ENVS[t - 1];
            let mut obj = Map::new();
            let keep = names.len().saturating_sub(drop);
            for (i, n) in names.iter().enumerate().take(keep) {
                let users = range_active
                    * 0.004
                    * 0.55f64.powi(i as i32)
                    * (0.8 + 0.4 * unit(seed, n, 10 + t as i64));
                let mut row = Map::new();
                for m in &wanted {
                    let v = if m.mta == "ErrorNum" {
                        users * 2.3
                    } else {
                        users
                    };
                    row.insert(m.mta.into(), count(v));
                }
                obj.insert(n.to_string(), Value::Object(row));
            }
            Value::Object(obj)
        }
        ReportKind::ErrorList => {
            let mut rows = vec![];
            let keep = ERRORS.len().saturating_sub(drop);
            for (i, e) in ERRORS.iter().enumerate().take(keep) {
                let users = range_active * 0.002 * 0.6f64.powi(i as i32);
                let first = start - chrono::Days::new((unit(seed, e, 3) * 60.0) as u64);
                let mut row = Map::new();
                row.insert("ErrorMsg".into(), Value::String(e.to_string()));
                row.insert(
                    "AppVersion".into(),
                    Value::String(CRASH_ENVS[0][i % CRASH_ENVS[0].len()].into()),
                );
                row.insert(
                    "FirstTime".into(),
                    Value::String(format!("{first} 0{}:1{}:00", i % 10, i % 6)),
                );
                for m in &wanted {
                    let v = if m.mta == "ErrorNum" {
                        users * 3.1
                    } else {
                        users
                    };
                    row.insert(m.mta.into(), count(v));
                }
                rows.push(Value::Object(row));
            }
            Value::Array(rows)
        }
        ReportKind::Frequency => {
            let mut obj = Map::new();
            let newu: f64 = days.iter().map(|d| new_users(g, *d)).sum::<f64>() * f;
            let keep = SECTIONS.len().saturating_sub(drop);
            for (i, s) in SECTIONS.iter().enumerate().take(keep) {
                let w = [0.38, 0.26, 0.15, 0.11, 0.07, 0.03][i];
                let mut row = Map::new();
                for m in &wanted {
                    let v = if m.mta == "NewUser" {
                        newu * w * 1.2_f64.powi(-(i as i32))
                    } else {
                        range_active * w
                    };
                    row.insert(m.mta.into(), count(v));
                }
                row.insert("Section".into(), Value::String(s.to_string()));
                obj.insert(i.to_string(), Value::Object(row));
            }
            Value::Object(obj)
        }
        _ => {
            // date-keyed reports, newest first like the PHP service
            let today = g.today;
            let keep = days.len().saturating_sub(drop);
            let mut obj = Map::new();
            for d in days.iter().take(keep).rev() {
                let mut row = Map::new();
                for m in &wanted {
                    let v = if kind == ReportKind::Retention {
                        let n = retention_day(m.mta).unwrap_or(1);
                        if *d + chrono::Days::new(n as u64) >= today {
                            Value::String("-".into())
                        } else if retention_percent {
                            let pct = 100.0 * retention_rate(seed, *d, n);
                            let sign = if day_key(*d) % 2 == 0 { "%" } else { "" };
                            Value::String(format!("{pct:.1}{sign}"))
                        } else {
                            count(new_users(g, *d) * f * retention_rate(seed, *d, n))
                        }
                    } else {
                        daily_value(g, *d, m, f)
                    };
                    row.insert(m.mta.into(), v);
                }
                obj.insert(d.to_string(), Value::Object(row));
            }
            Value::Object(obj)
        }
    })
}

/// One metric of a date-keyed report on day `d`.
fn daily_value(g: &AppGen, d: NaiveDate, m: &Metric, f: f64) -> Value {
    let seed = g.seed;
    let active = dau(g, d) * f;
    let k = day_key(d);
    let jitter = |name: &str| 0.9 + 0.2 * unit(seed, name, k);
    match m.mta {
        "NewUser" => count(new_users(g, d) * f),
        "ActiveUser" | "DayUv" => count(active),
        "SessionCount" => count(active * 2.4 * jitter("s")),
        "TotalUser" => count(150_000.0 * f + k as f64 * 420.0 * f),
        "ActiveAccount" => {
            // accounts only exist for logged-in users; some days report none
            if unit(seed, "acc-missing", k) < 0.05 {
                Value::String("-".into())
            } else {
                count(active * 0.58 * jitter("a"))
            }
        }
        "NoRepeatUser" => count(active * 0.93),
        "WeekUv" => count(active * 3.3 * jitter("w")),
        "MonthUv" => count(active * 8.5 * jitter("m")),
        "OnlineTimePerUv" => decimal(420.0 * jitter("t")),
        "OnlineTimePerSession" => decimal(175.0 * jitter("ts")),
        "PageCountPerUv" => decimal(9.5 * jitter("p")),
        "PageCountPerSession" => decimal(3.9 * jitter("ps")),
        "ErrorNum" => count(active * 0.006 * jitter("e")),
        "ErrorUser" => count(active * 0.0025 * jitter("eu")),
        _ => Value::String("-".into()),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::Duration;

    use super::super::{Config, Fault, FaultKind, Sandbox};
    use crate::http::{HttpConfig, Progress};
    use crate::providers::mta::{Client, Request};
    use crate::Error;

    fn client(sb: &Sandbox, secret: &str) -> Client {
        let mut cfg = HttpConfig::new(200, 4);
        cfg.retry.base_delay = Duration::from_millis(5);
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
}
