//! The seeded numbers and labels the reports are made of: periods, users
//! per day and range, shares, regions, devices, scenes.

use chrono::{Datelike, NaiveDate};
use serde_json::{json, Map, Value};

use super::super::{day_key, unit, AppGen};

/// Period labels for a range and granularity, oldest first.
pub(super) fn periods(
    start: NaiveDate,
    end: NaiveDate,
    gran: &str,
) -> Vec<(String, NaiveDate, NaiveDate)> {
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

pub(super) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Daily active users of the simulated program on `d`.
pub(super) fn dau(g: &AppGen, d: NaiveDate) -> f64 {
    let seed = g.seed;
    let weekday = d.weekday().num_days_from_monday() as f64;
    let trend = 1.0 + day_key(d) as f64 * 0.0004;
    let season = 1.0 + 0.15 * (weekday - 3.0).abs() / 3.0;
    1200.0 * g.scale * trend * season * (0.85 + 0.3 * unit(seed, "dau", day_key(d))) * g.restated(d)
}

/// Users over the days of `a..=b` that have data (none from today on).
pub(super) fn range_users(g: &AppGen, a: NaiveDate, b: NaiveDate) -> f64 {
    let days: f64 = a
        .iter_days()
        .take_while(|d| *d <= b && g.served(*d))
        .map(|d| dau(g, d))
        .sum();
    // uniques over a range grow slower than the daily sum
    days.powf(0.93)
}

pub(super) fn shares(seed: u64, key: &str, n: usize) -> Vec<f64> {
    let w: Vec<f64> = (0..n)
        .map(|i| (1.0 / (i as f64 + 1.3)) * (0.6 + 0.8 * unit(seed, key, i as i64)))
        .collect();
    let s: f64 = w.iter().sum();
    w.into_iter().map(|x| x / s).collect()
}

pub(super) const REGIONS: &[&str] = &[
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

pub(super) fn terminal_values(t: &str) -> Vec<String> {
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

pub(super) fn character_buckets(t: &str) -> Vec<&'static str> {
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

pub(super) const SCENE_NAMES: &[&str] = &[
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
pub(super) const SOURCE_NEW_RATIO: f64 = 0.75;

pub(super) fn source_metrics(
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
