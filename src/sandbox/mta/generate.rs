//! The reports, generated: one function per report kind, each
//! deterministic from the app's seed, the day and the request's options.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde_json::{Map, Value};

use super::super::{day_key, unit, AppGen, FaultKind};
use super::figures::*;
use super::routes::date;
use crate::providers::mta::endpoints::{retention_day, Metric, ReportKind, MAX_WINDOW_DAYS};

/// What the reports of a date range are generated from: the app, the
/// wanted metrics, the served days of the range and their active users.
struct Query<'a> {
    g: &'a AppGen,
    seed: u64,
    p: &'a HashMap<&'a str, &'a str>,
    wanted: Vec<&'a Metric>,
    /// Rows to leave out (the `DropRows` fault).
    drop: usize,
    /// The share the request's filters keep.
    f: f64,
    start: NaiveDate,
    days: Vec<NaiveDate>,
    range_active: f64,
}

impl Query<'_> {
    /// The `ty` parameter, 1 to `max`.
    fn ty(&self, max: u8) -> Result<usize, String> {
        let p = self.p;
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
    }
}

pub(super) fn build(
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
        return Ok(realtime(g, &wanted, f));
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
    let range_active: f64 = days.iter().map(|d| dau(g, *d)).sum::<f64>().powf(0.93) * f;
    let q = Query {
        g,
        seed,
        p,
        wanted,
        drop,
        f,
        start,
        days,
        range_active,
    };
    match kind {
        ReportKind::Terminal => terminal(&q),
        ReportKind::CrashEnv => crash_env(&q),
        ReportKind::ErrorList => Ok(error_list(&q)),
        ReportKind::Frequency => Ok(frequency(&q)),
        _ => Ok(date_keyed(&q, kind, retention_percent)),
    }
}

/// Realtime: today's numbers so far (the only report that serves today).
fn realtime(g: &AppGen, wanted: &[&Metric], f: f64) -> Value {
    let seed = g.seed;
    let today = g.today;
    let share = 0.3 + 0.6 * unit(seed, "mta-rt", 0);
    let mut row = Map::new();
    row.insert("Date".into(), Value::String(today.to_string()));
    for m in wanted {
        row.insert(m.mta.into(), daily_value(g, today, m, f * share));
    }
    Value::Object(row)
}

/// Terminals: the top ones of type `ty`, in rank order.
fn terminal(q: &Query) -> Result<Value, String> {
    let (seed, drop, range_active) = (q.seed, q.drop, q.range_active);
    let t = q.ty(5)?;
    let names = TERMINALS[t - 1];
    let mut rows = vec![];
    let keep = names.len().saturating_sub(drop);
    for (i, n) in names.iter().enumerate().take(keep) {
        let share = 0.45 * 0.62f64.powi(i as i32) * (0.9 + 0.2 * unit(seed, n, t as i64));
        let active = range_active * share;
        let mut row = Map::new();
        row.insert("Terminal".into(), Value::String(n.to_string()));
        for m in &q.wanted {
            let v = match m.mta {
                "NewUser" => active * 0.12,
                "ActiveUser" => active,
                _ => active * 2.6,
            };
            row.insert(m.mta.into(), count(v));
        }
        rows.push(Value::Object(row));
    }
    Ok(Value::Array(rows))
}

/// The crash environments of type `ty`, keyed by value.
fn crash_env(q: &Query) -> Result<Value, String> {
    let (seed, drop, range_active) = (q.seed, q.drop, q.range_active);
    let t = q.ty(3)?;
    let names = CRASH_ENVS[t - 1];
    let mut obj = Map::new();
    let keep = names.len().saturating_sub(drop);
    for (i, n) in names.iter().enumerate().take(keep) {
        let users = range_active
            * 0.004
            * 0.55f64.powi(i as i32)
            * (0.8 + 0.4 * unit(seed, n, 10 + t as i64));
        let mut row = Map::new();
        for m in &q.wanted {
            let v = if m.mta == "ErrorNum" {
                users * 2.3
            } else {
                users
            };
            row.insert(m.mta.into(), count(v));
        }
        obj.insert(n.to_string(), Value::Object(row));
    }
    Ok(Value::Object(obj))
}

/// The error list: one row per error, by rank.
fn error_list(q: &Query) -> Value {
    let (seed, drop, start, range_active) = (q.seed, q.drop, q.start, q.range_active);
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
        for m in &q.wanted {
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

/// Use frequency: one row per section, keyed by its index.
fn frequency(q: &Query) -> Value {
    let (g, drop, f, range_active) = (q.g, q.drop, q.f, q.range_active);
    let mut obj = Map::new();
    let newu: f64 = q.days.iter().map(|d| new_users(g, *d)).sum::<f64>() * f;
    let keep = SECTIONS.len().saturating_sub(drop);
    for (i, s) in SECTIONS.iter().enumerate().take(keep) {
        let w = [0.38, 0.26, 0.15, 0.11, 0.07, 0.03][i];
        let mut row = Map::new();
        for m in &q.wanted {
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

/// The date-keyed reports (retention among them), newest first.
fn date_keyed(q: &Query, kind: ReportKind, retention_percent: bool) -> Value {
    let (g, seed, drop, f) = (q.g, q.seed, q.drop, q.f);
    // date-keyed reports, newest first like the PHP service
    let today = g.today;
    let keep = q.days.len().saturating_sub(drop);
    let mut obj = Map::new();
    for d in q.days.iter().take(keep).rev() {
        let mut row = Map::new();
        for m in &q.wanted {
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
