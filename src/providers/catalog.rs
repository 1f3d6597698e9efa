//! The one catalog of reports: every provider's report names, endpoints,
//! options with their allowed values, and the fixed schema a report has for
//! given options. The CLI, Spark's schemas and the docs are built from it
//! (through `_native.report_catalog` / `_native.report_schema`); the
//! providers' own validation (`Report::from_args`) stays the judge of what
//! is accepted, and a test ties the two together.

use std::collections::HashMap;

use polars::prelude::DataFrame;

use crate::error::{Error, Result};
use crate::providers::{baidu, mta, tim};

/// One option of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOption {
    pub name: &'static str,
    /// The values it takes (empty: free-form, see `doc`).
    pub values: Vec<&'static str>,
    /// Its default when not given, if it has one.
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

/// One report of one provider.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInfo {
    pub provider: &'static str,
    pub name: &'static str,
    /// The API endpoint (Baidu: its name; MTA: its path; IM: `getappinfo`).
    pub endpoint: &'static str,
    pub description: &'static str,
    /// Whether the report takes a date range (`realtime` and IM's
    /// `app_info` do not: today / the last 30 days).
    pub dated: bool,
    pub options: Vec<ReportOption>,
}

fn opt(
    name: &'static str,
    values: &[&'static str],
    default: Option<&'static str>,
    doc: &'static str,
) -> ReportOption {
    ReportOption {
        name,
        values: values.to_vec(),
        default,
        doc,
    }
}

fn free(name: &'static str, doc: &'static str) -> ReportOption {
    opt(name, &[], None, doc)
}

fn baidu_options(name: &str) -> Vec<ReportOption> {
    let tp_metrics: Vec<&'static str> = baidu::endpoints::TP_METRICS
        .iter()
        .map(|(m, _)| *m)
        .collect();
    match name {
        "user_trend" => vec![opt(
            "gran",
            &["day", "hour", "week", "month"],
            Some("day"),
            "granularity",
        )],
        "retention" => vec![
            opt(
                "gran",
                &["day", "week", "month"],
                Some("day"),
                "cohort period",
            ),
            opt(
                "report_type",
                baidu::endpoints::REPORT_TYPES,
                Some("count"),
                "users or percents",
            ),
            opt(
                "shape",
                &["long", "wide"],
                Some("long"),
                "one row per cohort and period, or per cohort",
            ),
        ],
        "terminal" => vec![opt(
            "terminal_type",
            &["brand", "device", "os", "screen", "network"],
            Some("os"),
            "terminal dimension (also terminal_<name>)",
        )],
        "visit_character" => vec![opt(
            "character_type",
            baidu::endpoints::CHARACTER_TYPES,
            Some("depth"),
            "visit habit",
        )],
        "source" => vec![opt(
            "level",
            &["scene", "group"],
            Some("scene"),
            "one row per scene, or per group",
        )],
        "tp_data" => vec![
            free(
                "scene",
                "a source/scene id (an integer); omitted: all scenes' totals",
            ),
            ReportOption {
                name: "metrics",
                values: tp_metrics,
                default: None,
                doc: "comma-separated; default all",
            },
            opt(
                "tp_endpoint",
                baidu::endpoints::TP_ENDPOINTS,
                Some("gettpdata"),
                "the SDKs' gettpdata or the document's getdata (needs scene)",
            ),
        ],
        _ => vec![],
    }
}

fn baidu_description(name: &str) -> &'static str {
    match name {
        "user_trend" => "new/old users, sessions, durations",
        "activity_user" => "DAU/WAU/MAU, activity degrees, lost users",
        "retention" => "cohort retention (第N天 keys)",
        "visit_attribute" => "age / sex / interest shares",
        "region" => "users and sessions by region",
        "terminal" => "terminals",
        "visit_page" => "page views, stay time, bounce",
        "visit_character" => "visit habits",
        "source" => "sources: one row per (group, scene)",
        "tp_data" => "third-party platform totals",
        _ => "",
    }
}

fn mta_options(kind: mta::ReportKind, metrics: &[mta::Metric]) -> Vec<ReportOption> {
    use mta::ReportKind as K;
    let names: Vec<&'static str> = metrics.iter().map(|m| m.name).collect();
    let mut out = vec![ReportOption {
        name: "metrics",
        values: names,
        default: None,
        doc: "names or metric ids, comma-separated; default all",
    }];
    out.push(free("version", "app version filter"));
    out.push(free("channel", "channel filter"));
    match kind {
        K::Terminal => out.push(opt(
            "terminal_type",
            mta::endpoints::TERMINAL_TYPES,
            Some("os"),
            "terminal dimension (or 1..5)",
        )),
        K::CrashEnv => out.push(opt(
            "dimension",
            mta::endpoints::CRASH_DIMENSIONS,
            Some("app_version"),
            "crash dimension (or 1..3)",
        )),
        K::ErrorList => out.push(free("err_ty", "error type (an integer)")),
        K::Retention => {
            out.push(opt(
                "shape",
                &["long", "wide"],
                Some("long"),
                "one row per cohort and period, or per cohort",
            ));
            out.push(opt(
                "cohort_size",
                &["true", "false"],
                Some("true"),
                "fill cohort_size from user_basic's new users (one more request per window)",
            ));
        }
        _ => {}
    }
    if kind.date_keyed() {
        out.push(opt(
            "missing_days",
            &mta::MissingDays::NAMES,
            Some("null"),
            "a day MTA omits: a row of nulls, of zeros, or an error",
        ));
    }
    out
}

fn mta_description(kind: mta::ReportKind) -> &'static str {
    use mta::ReportKind as K;
    match kind {
        K::UserBasic => "new/active users, sessions (offline)",
        K::Realtime => "today's user basics (no dates)",
        K::ActiveUsers => "DAU/WAU/MAU",
        K::Terminal => "terminal tops",
        K::Usage => "time/pages per user and session",
        K::Frequency => "use-frequency distribution",
        K::Crash => "errors and affected users",
        K::CrashEnv => "crash environments",
        K::ErrorList => "top-100 errors",
        K::Retention => "day-N returning users",
    }
}

/// Every report of every provider, in documentation order.
pub fn reports() -> Vec<ReportInfo> {
    let mut out = vec![];
    for (name, endpoint) in baidu::endpoints::REPORTS {
        out.push(ReportInfo {
            provider: "baidu",
            name,
            endpoint,
            description: baidu_description(name),
            dated: true,
            options: baidu_options(name),
        });
    }
    for (name, path, metrics, kind) in mta::REPORTS {
        out.push(ReportInfo {
            provider: "mta",
            name,
            endpoint: path,
            description: mta_description(*kind),
            dated: *kind != mta::ReportKind::Realtime,
            options: mta_options(*kind, metrics),
        });
    }
    out.push(ReportInfo {
        provider: "tim",
        name: "app_info",
        endpoint: "getappinfo",
        description: "30 days of operations data (no dates)",
        dated: false,
        options: vec![ReportOption {
            name: "fields",
            values: tim::FIELDS.iter().map(|(o, _, _)| *o).collect(),
            default: None,
            doc: "original or snake_case names, comma-separated; default all",
        }],
    });
    out
}

/// The frame a report returns for `options`, with no rows: its fixed
/// schema (columns and dtypes), after the provider validated the options.
/// Baidu's wide retention has one column per period present in a reply,
/// so it has no fixed schema: an error says so.
pub fn report_schema(
    provider: &str,
    report: &str,
    options: &HashMap<String, String>,
) -> Result<DataFrame> {
    match provider {
        "baidu" => {
            let r = baidu::Report::from_args(report, options)?;
            if matches!(
                r,
                baidu::Report::Retention {
                    shape: baidu::endpoints::Shape::Wide,
                    ..
                }
            ) {
                return Err(Error::invalid(
                    "Baidu's wide retention has one column per period present in the reply: \
                     it has no fixed schema (use shape=long)",
                ));
            }
            const EMPTY: &str = r#"{"errno":0,"data":{"offset":0,"total":0,"data_list":[]}}"#;
            Ok(baidu::parse_saved(r.endpoint(), EMPTY, options)?.data)
        }
        "mta" => {
            // validated as a request would be (a range is not needed to
            // know the schema: any valid one will do)
            let realtime = report == "realtime";
            let day = if realtime { "" } else { "2024-01-01" };
            mta::Request::new(report, day, day, options)?;
            let mut opts = options.clone();
            opts.remove("missing_days");
            opts.remove("cohort_size");
            const EMPTY: &str = r#"{"ret_code":60000,"ret_msg":"ok","ret_data":[]}"#;
            mta::parse_saved(report, EMPTY, &opts)
        }
        "tim" => {
            if report != "app_info" {
                return Err(Error::invalid(format!(
                    "unknown tim report {report:?}; valid: app_info"
                )));
            }
            if let Some(k) = options.keys().find(|k| *k != "fields") {
                return Err(Error::invalid(format!(
                    "unknown tim app_info option {k:?}; valid: fields"
                )));
            }
            let fields: Option<Vec<String>> = options
                .get("fields")
                .map(|f| f.split(',').map(|s| s.trim().to_string()).collect());
            let sel = tim::parse::select(fields.as_deref())?;
            const EMPTY: &str = r#"{"ErrorCode":0,"ErrorInfo":"OK","Result":[]}"#;
            let all = tim::parse_saved(EMPTY)?;
            let names: Vec<&str> = tim::parse::schema(&sel)
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            all.select(names)
                .map_err(|e| Error::Internal(format!("tim schema: {e}")))
        }
        other => Err(Error::invalid(format!(
            "unknown provider {other:?}; valid: baidu, mta, tim"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_opts() -> HashMap<String, String> {
        HashMap::new()
    }

    #[test]
    fn every_report_has_a_schema_with_its_default_options() {
        for r in reports() {
            let df = report_schema(r.provider, r.name, &no_opts())
                .unwrap_or_else(|e| panic!("{} {}: {e}", r.provider, r.name));
            assert!(
                df.width() > 0 && df.height() == 0,
                "{} {}",
                r.provider,
                r.name
            );
        }
    }

    #[test]
    fn every_listed_value_is_accepted_by_the_provider() {
        for r in reports() {
            for o in &r.options {
                for v in &o.values {
                    if o.name == "tp_endpoint" && *v == "getdata" {
                        continue; // needs a scene, checked below
                    }
                    let opts = HashMap::from([(o.name.to_string(), v.to_string())]);
                    report_schema(r.provider, r.name, &opts).unwrap_or_else(|e| {
                        if !(r.provider == "baidu" && o.name == "shape" && *v == "wide") {
                            panic!("{} {} {}={v}: {e}", r.provider, r.name, o.name)
                        }
                        DataFrame::empty()
                    });
                }
            }
        }
        let opts = HashMap::from([
            ("tp_endpoint".to_string(), "getdata".to_string()),
            ("scene".to_string(), "7".to_string()),
        ]);
        report_schema("baidu", "tp_data", &opts).unwrap();
    }

    #[test]
    fn bad_options_are_refused() {
        let bad = HashMap::from([("gran".to_string(), "year".to_string())]);
        assert!(report_schema("baidu", "user_trend", &bad).is_err());
        let bad = HashMap::from([("fields".to_string(), "Nope".to_string())]);
        assert!(report_schema("tim", "app_info", &bad).is_err());
        assert!(report_schema("mta", "nope", &no_opts()).is_err());
        assert!(report_schema("x", "y", &no_opts()).is_err());
        let wide = HashMap::from([("shape".to_string(), "wide".to_string())]);
        assert!(report_schema("baidu", "retention", &wide).is_err());
        let some = HashMap::from([("metrics".to_string(), "new_users,10103".to_string())]);
        let df = report_schema("mta", "user_basic", &some).unwrap();
        let names: Vec<&str> = df.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["date", "new_users", "sessions"]); // 10103 is sessions
    }
}
