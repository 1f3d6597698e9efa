//! Baidu replies → typed tables, without `serde_json::Value` trees.
//!
//! - `labels`: period labels and retention keys;
//! - `schema`: the fixed output schema of every report;
//! - `sinks`: the row builders, one per reply shape;
//! - `seeds`: one serde pass over a whole reply.
//!
//! Error codes are classified in [`super::errors`].

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::endpoints::{Gran, Level, Report, RetentionType, Shape, SOURCE};
use super::errors::classify;
use super::PROVIDER;
use crate::error::{Error, Result};
use crate::table::{Cell, FieldMap, TableBuilder};

mod labels;
mod schema;
mod seeds;
mod sinks;

use labels::span_start;
pub use labels::{parse_period, retention_period};
use schema::scene_schema;
pub use schema::{metric_fields, schema};
use seeds::one_pass;
use sinks::{flat_sink, AttributeSink, RetentionSink, SourceSink};

/// One parsed page of a report.
#[derive(Debug)]
pub struct Page {
    /// `data.offset` as echoed by the provider.
    pub offset: Option<i64>,
    /// `data.total`: rows of the whole report.
    pub total: Option<i64>,
    pub time_span: Option<String>,
    /// Items of `data_list` on this page (groups, cohorts, rows).
    pub items: usize,
    /// Rows in the report's output form.
    pub table: TableBuilder,
    /// Group-level rows (source report only).
    pub groups: Option<TableBuilder>,
    /// The `sum` block as a one-row table.
    pub sum: Option<TableBuilder>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    errno: Option<Cell<'a>>,
    #[serde(default, borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(default)]
    error_code: Option<Cell<'a>>,
    #[serde(default, borrow)]
    error_msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// The `data` object, for its `time_span` only (offline hourly replies).
#[derive(Deserialize)]
struct Data<'a> {
    #[serde(default, borrow)]
    time_span: Option<Cow<'a, str>>,
}

fn code_of(c: &Cell) -> Option<i64> {
    c.to_i64().ok().flatten()
}

/// Check the envelope and return the raw `data` object.
fn open<'a>(endpoint: &str, text: &'a str) -> Result<Option<&'a RawValue>> {
    let env: Envelope = serde_json::from_str(text).map_err(|e| bad(endpoint, e))?;
    if let Some(code) = env.error_code.as_ref().and_then(code_of) {
        if code != 0 {
            return Err(classify(true, code, env.error_msg.as_deref().unwrap_or("")));
        }
    }
    match env.errno.as_ref().and_then(code_of) {
        Some(0) => {}
        Some(code) => return Err(classify(false, code, env.msg.as_deref().unwrap_or(""))),
        None => {
            if env.data.is_none() {
                return Err(bad(endpoint, "reply has neither errno nor error_code"));
            }
        }
    }
    Ok(env.data)
}

fn bad(endpoint: &str, e: impl std::fmt::Display) -> Error {
    Error::malformed(PROVIDER, endpoint, e)
}

/// Parse one reply page. `day` is the date of an hourly request (taken
/// from `time_span` when not given).
pub fn parse_page(report: &Report, text: &str, day: Option<NaiveDate>) -> Result<Page> {
    let text = crate::table::strip_bom(text);
    let (meta, table, groups, items, sum) = match report {
        Report::Retention {
            gran, report_type, ..
        } => {
            let long = Report::Retention {
                gran: *gran,
                report_type: *report_type,
                shape: Shape::Long,
            };
            let mut s = RetentionSink {
                t: TableBuilder::new(&schema(&long)),
                ratio: *report_type == RetentionType::Ratio,
                gran: *gran,
                label: None,
                size: None,
                cells: vec![],
                items: 0,
            };
            let (meta, sum) = one_pass(report, text, &mut s)?;
            (meta, s.t, None, s.items, sum)
        }
        Report::Source { .. } => {
            let groups = TableBuilder::new(&schema(&Report::Source {
                level: Level::Group,
            }));
            let gpairs: Vec<(&str, &str)> = SOURCE.iter().map(|(n, _)| (*n, *n)).collect();
            let group_fields = FieldMap::new(&groups, &gpairs);
            let cur = TableBuilder::new(&scene_schema());
            let scene_fields = FieldMap::new(&cur, &gpairs);
            let mut s = SourceSink {
                scenes: TableBuilder::new(&schema(&Report::Source {
                    level: Level::Scene,
                })),
                groups,
                group_fields,
                cur_scenes: cur,
                scene_fields,
                cur_source: None,
                rank: 0,
                items: 0,
            };
            let (meta, sum) = one_pass(report, text, &mut s)?;
            // ranks count from the page's offset (known only after parsing)
            if let Some(o) = meta.offset.filter(|o| *o != 0) {
                s.scenes.col(0).add_i64(o);
                s.groups.col(0).add_i64(o);
            }
            (meta, s.scenes, Some(s.groups), s.items, sum)
        }
        Report::VisitAttribute => {
            let mut s = AttributeSink {
                t: TableBuilder::new(&schema(report)),
                items: 0,
            };
            let (meta, sum) = one_pass(report, text, &mut s)?;
            (meta, s.t, None, s.items, sum)
        }
        Report::UserTrend { gran: Gran::Hour } if day.is_none() => {
            // offline hourly reply: the day comes from time_span, which may
            // follow the rows; read it first
            let day = open(report.endpoint(), text)?
                .and_then(|raw| serde_json::from_str::<Data>(raw.get()).ok())
                .and_then(|d| span_start(d.time_span.as_deref()));
            let mut s = flat_sink(report, day);
            let (meta, sum) = one_pass(report, text, &mut s)?;
            (meta, s.t, None, s.items, sum)
        }
        _ => {
            let mut s = flat_sink(report, day);
            let (meta, sum) = one_pass(report, text, &mut s)?;
            (meta, s.t, None, s.items, sum)
        }
    };
    Ok(Page {
        offset: meta.offset,
        total: meta.total,
        time_span: meta.time_span,
        items,
        table,
        groups,
        sum,
    })
}

/// Pivot long retention to wide (`d2`, `w2`, `m2` columns by `gran`);
/// see [`crate::providers::retention::retention_wide`].
pub fn retention_wide(long: &TableBuilder, gran: Gran, _ratio: bool) -> TableBuilder {
    crate::providers::retention::retention_wide(long, gran.wide_prefix())
}

#[cfg(test)]
mod tests;
