//! The reports, generated whole: one function per endpoint, each
//! deterministic from the app's seed, the day and the request's options.

use chrono::NaiveDate;
use serde_json::{json, Map, Value};

use crate::providers::baidu::endpoints::{Gran, RETENTION_GRANS};

use super::super::{day_key, unit, AppGen, State};
use super::figures::*;
use super::{date_param, Params};

/// A generated report: the complete reply (unpaged endpoints) or all its
/// rows, to be paged.
pub(super) enum Generated {
    Whole(Value),
    Rows {
        rows: Vec<Value>,
        sum: Option<Value>,
        span: String,
    },
}

/// What every report is generated from: the app, the requested range
/// (ending yesterday at the latest), its users, and the request's
/// parameters.
struct Query<'a> {
    st: &'a State,
    g: &'a AppGen,
    seed: u64,
    p: &'a Params,
    start: NaiveDate,
    end: NaiveDate,
    users: f64,
    span: String,
}

impl Query<'_> {
    /// The parameter `k`, one of `allowed`.
    fn need(&self, k: &str, allowed: &[&str]) -> Result<String, String> {
        let v = self.p.get(k).ok_or(format!("{k} required"))?;
        if allowed.contains(&v.as_str()) {
            Ok(v.clone())
        } else {
            Err(format!("bad {k}"))
        }
    }

    /// The report's rows, to be paged.
    fn rows(&self, rows: Vec<Value>, sum: Option<Value>) -> Result<Generated, String> {
        Ok(Generated::Rows {
            rows,
            sum,
            span: self.span.clone(),
        })
    }
}

pub(super) fn generate(
    st: &State,
    g: AppGen,
    endpoint: &str,
    p: &Params,
) -> Result<Generated, String> {
    let seed = g.seed;
    let g = &g;
    let start = date_param(p, "start_date").ok_or("start_date must be YYYYMMDD")?;
    let end = date_param(p, "end_date").ok_or("end_date must be YYYYMMDD")?;
    if end < start {
        return Err("end_date before start_date".into());
    }
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
    let q = Query {
        st,
        g,
        seed,
        p,
        start,
        end,
        users,
        span,
    };
    match endpoint {
        "getanalysisusertrend" => user_trend(&q),
        "getanalysisactivityuser" => activity_user(&q),
        "getanalysisretaineduser" => retained_user(&q),
        "getanalysisvisitattribute" => visit_attribute(&q),
        "getanalysisregion" => region(&q),
        "getanalysisterminal" => terminal(&q),
        "getanalysisvisitpage" => visit_page(&q),
        "getanalysisvisitcharacter" => visit_character(&q),
        "getanalysissource" => source(&q),
        "gettpdata" | "getdata" => tp_data(&q, endpoint),
        _ => Err(format!("unknown endpoint {endpoint}")),
    }
}

/// `getanalysisusertrend`.
fn user_trend(q: &Query) -> Result<Generated, String> {
    let (g, seed, start, end, users) = (q.g, q.seed, q.start, q.end, q.users);
    let gran = q.need("gran", &["hour", "day", "week", "month"])?;
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
    let sum = Some(
        json!({"new_user_count": (users * 0.8).round() as i64, "new_user_ratio": 80.0, "old_user_count": (users * 0.2).round() as i64,
        "old_user_ratio": 20.0, "user_count": users.round() as i64, "session_count": (users * 1.2).round() as i64,
        "average_session_time": 48, "session_time_per_person": 57}),
    );
    q.rows(rows, sum)
}

/// `getanalysisactivityuser`.
fn activity_user(q: &Query) -> Result<Generated, String> {
    let (g, seed, start, end) = (q.g, q.seed, q.start, q.end);
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
    let sum = rows.first().cloned().map(|mut v| {
        if let Some(o) = v.as_object_mut() {
            o.remove("name");
        }
        v
    });
    q.rows(rows, sum)
}

/// `getanalysisretaineduser`.
fn retained_user(q: &Query) -> Result<Generated, String> {
    let (g, seed, start, end) = (q.g, q.seed, q.start, q.end);
    let gran = q.need("gran", &["day", "week", "month"])?;
    let ratio = q.need("report_type", &["count", "ratio"])? == "ratio";
    let unit_name = match gran.as_str() {
        "day" => "天",
        "week" => "周",
        _ => "月",
    };
    // as many periods as Baidu reports
    let n_periods = Gran::parse(&gran, RETENTION_GRANS)
        .map_err(|e| e.to_string())?
        .retention_periods() as i64;
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
            let r =
                0.35 * (n as f64).powf(-0.7) * (0.8 + 0.4 * unit(seed, "ret", day_key(a) * 50 + n));
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
    let sum = Some(json!({"active_user_count": "--"}));
    q.rows(rows, sum)
}

/// `getanalysisvisitattribute`.
fn visit_attribute(q: &Query) -> Result<Generated, String> {
    let seed = q.seed;
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
            .map(|(i, (n, s))| json!({"attribute_id": format!("{}", super::super::mix(seed, (k.len() * 100 + i) as u64)), "name": n, "count_ratio": round2(s * 100.0)}))
            .collect();
        o.insert(k.into(), Value::Array(items));
    }
    Ok(Generated::Whole(
        json!({"errno": 0, "msg": "success", "data": {"data_list": [Value::Object(o)]}}),
    ))
}

/// `getanalysisregion`.
fn region(q: &Query) -> Result<Generated, String> {
    let (seed, users) = (q.seed, q.users);
    let sh = shares(seed, "region", REGIONS.len());
    let sessions = users * 1.15;
    let rows = REGIONS
        .iter()
        .zip(sh)
        .map(|(r, s)| json!({"name": r, "session_count_district": (sessions * s).round() as i64,
            "session_count_district_ratio": round2(s * 100.0), "new_user_count_district_ratio": round2(s * 100.0 * 0.98),
            "user_count_district_ratio": round2(s * 100.0 * 1.01), "average_session_time_district": (30.0 + 30.0 * s * 10.0).round() as i64}))
        .collect();
    q.rows(rows, None)
}

/// `getanalysisterminal`.
fn terminal(q: &Query) -> Result<Generated, String> {
    let (seed, users) = (q.seed, q.users);
    let t = q.need(
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
    let rows = vals.iter()
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
        .collect();
    q.rows(rows, None)
}

/// `getanalysisvisitpage`.
fn visit_page(q: &Query) -> Result<Generated, String> {
    let (st, seed, users) = (q.st, q.seed, q.users);
    let n = st.cfg.baidu.pages;
    let sh = shares(seed, "page", n);
    let pv = users * 2.1;
    let rows = sh.iter()
        .enumerate()
        .map(|(i, s)| json!({"pageId": format!("{}", super::super::mix(seed, 9000 + i as u64) % 10u64.pow(19)),
            "pageName": if i == 0 { "pages/index/index".to_string() } else { format!("pages/p{i}/p{i}") }, "pageAlias": "",
            "pv_count": (pv * s).round() as i64, "pv_ratio": round2(s * 100.0), "pv_user_count": (users * s * 1.2).round() as i64,
            "average_stay_time": (10.0 + 30.0 * unit(seed, "stay", i as i64)).round() as i64, "stay_time_ratio": round2(s * 100.0),
            "bounce_ratio": round2(20.0 + 60.0 * unit(seed, "bounce", i as i64)), "entry_count": (users * s).round() as i64,
            "exit_count": (users * s * 0.97).round() as i64}))
        .collect();
    q.rows(rows, None)
}

/// `getanalysisvisitcharacter`.
fn visit_character(q: &Query) -> Result<Generated, String> {
    let (seed, users) = (q.seed, q.users);
    let t = q.need(
        "character_type",
        &["depth", "time", "interval", "frequency"],
    )?;
    let b = character_buckets(&t);
    let sh = shares(seed, &t, b.len());
    let rows = b.iter()
        .zip(sh)
        .map(|(n, s)| {
            if t == "frequency" {
                json!({"name": n, "user_count": (users * s).round() as i64, "user_count_ratio": round2(s * 100.0)})
            } else {
                json!({"name": n, "session_count": (users * 1.1 * s).round() as i64, "session_count_ratio": round2(s * 100.0)})
            }
        })
        .collect();
    q.rows(rows, None)
}

/// `getanalysissource`.
fn source(q: &Query) -> Result<Generated, String> {
    let (st, seed, users) = (q.st, q.seed, q.users);
    let n = st.cfg.baidu.sources;
    let sh = shares(seed, "source", n);
    let per = st.cfg.baidu.scenes_per_source;
    let rows = sh
        .iter()
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
        .collect();
    q.rows(rows, None)
}

/// `gettpdata`.
fn tp_data(q: &Query, endpoint: &str) -> Result<Generated, String> {
    let (g, seed, p, start, end) = (q.g, q.seed, q.p, q.start, q.end);
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
    let rows = start
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
        .collect();
    q.rows(rows, None)
}
