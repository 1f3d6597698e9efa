//! The seeded numbers and labels the reports are made of: counts as MTA
//! writes them, users per day, retention, terminals, crash environments,
//! errors and frequency sections.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde_json::Value;

use super::super::{day_key, unit, AppGen};

/// Counts as MTA renders them: `"1,234"`.
pub(super) fn count(x: f64) -> Value {
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

pub(super) fn decimal(x: f64) -> Value {
    Value::String(format!("{x:.2}"))
}

/// Per-request variation for version / channel filters.
pub(super) fn filter_factor(seed: u64, p: &HashMap<&str, &str>) -> f64 {
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
pub(super) fn dau(g: &AppGen, d: NaiveDate) -> f64 {
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

pub(super) fn new_users(g: &AppGen, d: NaiveDate) -> f64 {
    dau(g, d) * (0.08 + 0.04 * unit(g.seed, "mta-new", day_key(d)))
}

/// Share of a cohort that comes back on day `n`.
pub(super) fn retention_rate(seed: u64, d: NaiveDate, n: i64) -> f64 {
    let base = 0.42 * (n as f64).powf(-0.38);
    base * (0.9 + 0.2 * unit(seed, "mta-ret", day_key(d) * 64 + n))
}

pub(super) const TERMINALS: [&[&str]; 5] = [
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

pub(super) const CRASH_ENVS: [&[&str]; 3] = [
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

pub(super) const ERRORS: &[&str] = &[
    "java.lang.NullPointerException: Attempt to invoke virtual method on a null object reference",
    "java.lang.OutOfMemoryError: Failed to allocate a 4194320 byte allocation",
    "SIGSEGV(SEGV_MAPERR) at libapp.so",
    "NSInvalidArgumentException: -[__NSCFString count]: unrecognized selector",
    "java.lang.IllegalStateException: Fragment not attached to a context",
    "android.view.WindowManager$BadTokenException: Unable to add window",
];

pub(super) const SECTIONS: &[&str] = &["1-2次", "3-5次", "6-9次", "10-19次", "20-49次", "50次以上"];
