//! Baidu replies → typed tables, without `serde_json::Value` trees.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::de::{DeserializeSeed, Deserializer};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::endpoints::{
    Gran, Level, Report, RetentionType, Shape, ACTIVITY, ATTRIBUTES, CHARACTER, PAGE, REGION,
    SOURCE, TERMINAL, TP_METRICS, USER_TREND,
};
use crate::error::{Error, Result};
use crate::table::{date_to_days, Cell, FieldMap, Kind, Row, RowSink, Rows, TableBuilder};

pub const PROVIDER: &str = "baidu";

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

/// Classify a Baidu error code (gateway `error_code` or business `errno`).
pub fn classify(gateway: bool, code: i64, message: &str) -> Error {
    let message = crate::error::redact(message);
    let provider = PROVIDER;
    if gateway {
        match code {
            110 | 111 => Error::Auth {
                provider,
                code,
                message: format!(
                    "access token {} ({message})",
                    if code == 111 { "expired" } else { "invalid" }
                ),
                renewable: true,
            },
            4 | 18 => Error::RateLimited {
                provider,
                code,
                message,
                retry_after: None,
            },
            17 => Error::QuotaExceeded {
                provider,
                code,
                message: format!("daily request quota reached ({message})"),
            },
            6 => Error::Auth {
                provider,
                code,
                message: format!(
                    "no permission for this API; the program must grant the data permission ({message})"
                ),
                renewable: false,
            },
            1 | 2 => Error::Server {
                provider,
                code,
                message,
            },
            _ => Error::Api {
                provider,
                code,
                message,
            },
        }
    } else {
        match code {
            1000 => Error::Server {
                provider,
                code,
                message,
            },
            _ => Error::Api {
                provider,
                code,
                message,
            },
        }
    }
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

/// Parse a period label: `2019/04/10`, `2019/04/01 - 2019/04/07`,
/// `2019/04`, or (hourly) `00:00 - 00:59` / `13` on `day`.
pub fn parse_period(
    label: &str,
    gran: Gran,
    day: Option<NaiveDate>,
) -> Option<(NaiveDateTime, NaiveDate)> {
    let t = label.trim();
    if gran == Gran::Hour || (t.len() <= 13 && t.contains(':')) {
        let day = day?;
        let h: u32 = t.split([':', ' ', '时']).next()?.trim().parse().ok()?;
        let time = NaiveTime::from_hms_opt(h, 0, 0)?;
        return Some((day.and_time(time), day));
    }
    if let Some((a, b)) = t.split_once(" - ").or_else(|| {
        t.split_once('-')
            .filter(|_| !t.contains(' ') && t.len() > 10)
    }) {
        let a = crate::table::parse_date(a)?;
        let b = crate::table::parse_date(b)?;
        return Some((a.and_time(NaiveTime::MIN), b));
    }
    if let Some(d) = crate::table::parse_date(t) {
        return Some((d.and_time(NaiveTime::MIN), d));
    }
    // `2019/04` or `201904`: the calendar month.
    // (`get` instead of indexing: labels may hold non-ASCII text)
    let (y, m) = if t.len() == 7 && (t.as_bytes()[4] == b'/' || t.as_bytes()[4] == b'-') {
        (t.get(..4)?.parse().ok()?, t.get(5..)?.parse().ok()?)
    } else if t.len() == 6 {
        (t.get(..4)?.parse().ok()?, t.get(4..)?.parse().ok()?)
    } else {
        return None;
    };
    let first = NaiveDate::from_ymd_opt(y, m, 1)?;
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)?
    };
    Some((first.and_time(NaiveTime::MIN), next.pred_opt()?))
}

/// The first day of a `time_span` like `2019/04/10 - 2019/04/15`.
fn span_start(span: Option<&str>) -> Option<NaiveDate> {
    let s = span?;
    crate::table::parse_date(s.split(" - ").next()?.trim())
}

fn period_columns(gran: Option<Gran>) -> Vec<(&'static str, Kind)> {
    match gran {
        Some(Gran::Hour) => vec![("datetime", Kind::Datetime)],
        Some(Gran::Day) => vec![("date", Kind::Date)],
        Some(Gran::Week) | Some(Gran::Month) => {
            vec![("period_start", Kind::Date), ("period_end", Kind::Date)]
        }
        None => vec![],
    }
}

/// How a row's label (`name`, or `data`/`date` for the TP totals) is stored.
#[derive(Debug, Clone, Copy)]
enum Label {
    Period(Gran),
    Text(usize),
    Date(usize),
}

/// Output schema of a report (before any reshaping).
pub fn schema(report: &Report) -> Vec<(String, Kind)> {
    let own = |v: &[(&str, Kind)]| -> Vec<(String, Kind)> {
        v.iter().map(|(n, k)| (n.to_string(), *k)).collect()
    };
    let mut s: Vec<(String, Kind)> = own(&period_columns(report.gran()));
    match report {
        Report::UserTrend { .. } => s.extend(own(USER_TREND)),
        Report::ActivityUser => {
            s = own(&[("date", Kind::Date)]);
            s.extend(own(ACTIVITY));
        }
        Report::Retention {
            report_type, shape, ..
        } => {
            s = own(&[
                ("cohort_date", Kind::Date),
                ("cohort_end", Kind::Date),
                ("cohort_size", Kind::Int),
            ]);
            if *shape == Shape::Long {
                s.push(("period".into(), Kind::Int));
                s.push(match report_type {
                    RetentionType::Count => ("users".into(), Kind::Int),
                    RetentionType::Ratio => ("ratio".into(), Kind::Float),
                });
            }
        }
        Report::VisitAttribute => {
            s = own(&[
                ("attribute", Kind::Str),
                ("attribute_id", Kind::Str),
                ("name", Kind::Str),
                ("count_ratio", Kind::Float),
            ])
        }
        Report::Region => {
            s = own(&[("region", Kind::Str)]);
            s.extend(own(REGION));
        }
        Report::Terminal { .. } => {
            s = own(&[("terminal_type", Kind::Str), ("terminal", Kind::Str)]);
            s.extend(own(TERMINAL));
        }
        Report::VisitPage => {
            s = own(&[
                ("page_id", Kind::Str),
                ("page_name", Kind::Str),
                ("page_alias", Kind::Str),
            ]);
            s.extend(own(PAGE));
        }
        Report::VisitCharacter { .. } => {
            s = own(&[("character_type", Kind::Str), ("bucket", Kind::Str)]);
            s.extend(own(CHARACTER));
        }
        Report::Source { level } => {
            s = own(&[("group_rank", Kind::Int), ("source_id", Kind::Str)]);
            match level {
                Level::Scene => {
                    s.extend(own(&[("scene_id", Kind::Str), ("scene_name", Kind::Str)]));
                    s.extend(own(SOURCE));
                    s.extend(SOURCE.iter().map(|(n, k)| (format!("group_{n}"), *k)));
                }
                Level::Group => {
                    s.push(("scene_count".into(), Kind::Int));
                    s.extend(own(SOURCE));
                }
            }
        }
        Report::TpData { metrics, .. } => {
            s = own(&[("date", Kind::Date)]);
            for m in metrics {
                let k = TP_METRICS
                    .iter()
                    .find(|(n, _)| n == m)
                    .map(|(_, k)| *k)
                    .unwrap_or(Kind::Float);
                s.push((m.clone(), k));
            }
        }
    }
    s
}

/// Metric columns (those of the `sum` block) of a report.
pub fn metric_fields(report: &Report) -> &'static [(&'static str, Kind)] {
    match report {
        Report::UserTrend { .. } => USER_TREND,
        Report::ActivityUser => ACTIVITY,
        Report::Region => REGION,
        Report::Terminal { .. } => TERMINAL,
        Report::VisitPage => PAGE,
        Report::VisitCharacter { .. } => CHARACTER,
        Report::Source { .. } => SOURCE,
        Report::TpData { .. } => TP_METRICS,
        Report::Retention { .. } | Report::VisitAttribute => &[("active_user_count", Kind::Int)],
    }
}

// ---------------------------------------------------------------- sinks

/// Rows with a label column and known metric fields.
struct FlatSink {
    t: TableBuilder,
    fields: FieldMap,
    /// Name of the row list, for error messages.
    list_key: &'static str,
    /// Keys of the row's label (`name`; the TP totals date their rows
    /// under `data` in the seed document and `date` in the Go SDK).
    label_keys: &'static [&'static str],
    label: Option<Label>,
    day: Option<NaiveDate>,
    consts: Vec<(usize, String)>,
    items: usize,
}

impl FlatSink {
    fn read(&mut self, key: &str, cell: Cell) -> Result<(), String> {
        if self.label_keys.contains(&key) {
            match self.label {
                Some(Label::Text(i)) | Some(Label::Date(i)) => {
                    return self
                        .t
                        .set(i, &cell)
                        .map_err(|e| format!("field {key:?}: {e}"))
                }
                Some(Label::Period(g)) => {
                    let text = match &cell {
                        Cell::Str(s) => s.as_ref(),
                        other => {
                            return Err(format!(
                                "period label {key:?} is not text: {}",
                                other.describe()
                            ))
                        }
                    };
                    let (start, end) = parse_period(text, g, self.day)
                        .ok_or_else(|| format!("cannot read period label {text:?}"))?;
                    match g {
                        Gran::Hour => self.t.col(0).push_datetime(Some(start)),
                        Gran::Day => self.t.col(0).push_date(Some(start.date())),
                        _ => {
                            self.t.col(0).push_date(Some(start.date()));
                            self.t.col(1).push_date(Some(end));
                        }
                    }
                    return Ok(());
                }
                None => {}
            }
        }
        self.fields.set(&mut self.t, key, &cell)
    }
}

impl<'de> RowSink<'de> for FlatSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        self.read(key, cell)
            .map_err(|e| format!("{}[{}]: {e}", self.list_key, self.items))
    }

    fn end_row(&mut self) -> Result<(), String> {
        for (i, v) in &self.consts {
            self.t.set(*i, &Cell::Str(Cow::Borrowed(v.as_str())))?;
        }
        self.t.end_row();
        self.items += 1;
        Ok(())
    }
}

fn flat_sink(report: &Report, day: Option<NaiveDate>) -> FlatSink {
    let s = schema(report);
    let t = TableBuilder::new(&s);
    let metrics = metric_fields(report);
    let mut pairs: Vec<(&str, &str)> = metrics.iter().map(|(n, _)| (*n, *n)).collect();
    let mut consts = vec![];
    let mut label_keys: &'static [&'static str] = &["name"];
    let label = match report {
        Report::UserTrend { gran } => Some(Label::Period(*gran)),
        Report::ActivityUser => Some(Label::Period(Gran::Day)),
        Report::Region => t.index("region").map(Label::Text),
        Report::Terminal { terminal_type } => {
            consts.push((
                t.index("terminal_type").expect("col"),
                terminal_type.clone(),
            ));
            t.index("terminal").map(Label::Text)
        }
        Report::VisitCharacter { character_type } => {
            consts.push((
                t.index("character_type").expect("col"),
                character_type.clone(),
            ));
            t.index("bucket").map(Label::Text)
        }
        Report::VisitPage => {
            pairs.extend([
                ("pageId", "page_id"),
                ("pageName", "page_name"),
                ("pageAlias", "page_alias"),
            ]);
            None
        }
        Report::TpData { .. } => {
            label_keys = &["data", "date"];
            t.index("date").map(Label::Date)
        }
        _ => None,
    };
    let fields = FieldMap::new(&t, &pairs);
    // activity_user labels are days: its `date` column is column 0.
    FlatSink {
        t,
        fields,
        list_key: if report.is_get() {
            "result"
        } else {
            "data_list"
        },
        label_keys,
        label,
        day,
        consts,
        items: 0,
    }
}

/// One retention value: period, as ratio, as count (each may fail).
/// (period, value as ratio, value as count): only the value of the
/// report type is read.
type RetentionCell = (i64, Option<f64>, Option<i64>);

/// Retention rows: `name`, `active_user_count`, `第N天/周/月`.
struct RetentionSink {
    t: TableBuilder,
    ratio: bool,
    gran: Gran,
    label: Option<(NaiveDate, NaiveDate)>,
    size: Option<i64>,
    cells: Vec<RetentionCell>,
    items: usize,
}

/// `第12天` → 12 (also `第2周`, `第3月`); `None` for other keys, an error
/// for a `第…天/周/月` key without a period number (`第X天`).
pub fn retention_period(key: &str) -> Result<Option<i64>, String> {
    let Some(rest) = key.trim().strip_prefix('第') else {
        return Ok(None);
    };
    let Some(n) = rest
        .strip_suffix('天')
        .or_else(|| rest.strip_suffix('日'))
        .or_else(|| rest.strip_suffix('周'))
        .or_else(|| rest.strip_suffix('月'))
    else {
        return Ok(None);
    };
    match n.trim().parse::<i64>() {
        Ok(p) if p > 0 => Ok(Some(p)),
        _ => Err(format!(
            "retention key {key:?} has no period number (expected 第N天, 第N周 or 第N月)"
        )),
    }
}

impl RetentionSink {
    fn read(&mut self, key: &str, cell: Cell) -> Result<(), String> {
        match key {
            "name" => {
                let text = match &cell {
                    Cell::Str(s) => s.as_ref(),
                    other => return Err(format!("cohort label is not text: {}", other.describe())),
                };
                let (a, b) = parse_period(text, self.gran, None)
                    .ok_or_else(|| format!("cannot read cohort label {text:?}"))?;
                self.label = Some((a.date(), b));
            }
            "active_user_count" => {
                self.size = cell
                    .to_i64()
                    .map_err(|e| format!("field \"active_user_count\": {e}"))?
            }
            k => {
                if let Some(p) = retention_period(k)? {
                    let cell = if self.ratio {
                        (
                            p,
                            cell.to_f64().map_err(|e| format!("field {k:?}: {e}"))?,
                            None,
                        )
                    } else {
                        let i = cell.to_i64().map_err(|e| {
                            format!("field {k:?}: {e} (use report_type=\"ratio\" for ratios)")
                        })?;
                        (p, None, i)
                    };
                    self.cells.push(cell);
                }
            }
        }
        Ok(())
    }
}

impl<'de> RowSink<'de> for RetentionSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        self.read(key, cell)
            .map_err(|e| format!("data_list[{}]: {e}", self.items))
    }

    fn end_row(&mut self) -> Result<(), String> {
        let (start, end) = self.label.take().ok_or("retention row without a name")?;
        let size = self.size.take();
        self.cells.sort_by_key(|c| c.0);
        if self.cells.is_empty() {
            // No period keys at all: keep the cohort (and its size) with a
            // null period rather than dropping it.
            self.cells.push((0, None, None));
        }
        let (start, end) = (date_to_days(start), date_to_days(end));
        for (p, f, i) in self.cells.drain(..) {
            self.t.col(0).push_days(Some(start));
            self.t.col(1).push_days(Some(end));
            self.t.col(2).push_i64(size);
            self.t.col(3).push_i64((p > 0).then_some(p));
            if self.ratio {
                self.t.col(4).push_f64(f);
            } else {
                self.t.col(4).push_i64(i);
            }
            self.t.end_row();
        }
        self.items += 1;
        Ok(())
    }
}

/// Source groups with nested scene arrays.
struct SourceSink {
    scenes: TableBuilder,
    groups: TableBuilder,
    group_fields: FieldMap,
    cur_scenes: TableBuilder,
    scene_fields: FieldMap,
    cur_source: Option<String>,
    rank: i64,
    items: usize,
}

struct SceneSink<'a> {
    t: &'a mut TableBuilder,
    fields: &'a FieldMap,
    source: &'a mut Option<String>,
    /// Index of the group in `data_list` (error messages).
    group: usize,
}

impl SceneSink<'_> {
    fn read(&mut self, key: &str, cell: Cell) -> Result<(), String> {
        let field = |e: String| format!("field {key:?}: {e}");
        match key {
            "sceneId" => self.t.set(0, &cell).map_err(field),
            "name" => self.t.set(1, &cell).map_err(field),
            "source" => {
                let text = cell.to_text().map_err(field)?;
                if self.source.is_none() {
                    *self.source = text;
                }
                Ok(())
            }
            k => self.fields.set(self.t, k, &cell),
        }
    }
}

impl<'de> RowSink<'de> for SceneSink<'_> {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        let row = self.t.n_rows();
        self.read(key, cell)
            .map_err(|e| format!("data_list[{}].name[{row}]: {e}", self.group))
    }
    fn end_row(&mut self) -> Result<(), String> {
        self.t.end_row();
        Ok(())
    }
}

impl<'de> RowSink<'de> for SourceSink {
    fn value<D: Deserializer<'de>>(&mut self, key: &str, d: D) -> Result<(), D::Error> {
        if key == "name" {
            let mut sink = SceneSink {
                t: &mut self.cur_scenes,
                fields: &self.scene_fields,
                source: &mut self.cur_source,
                group: self.items,
            };
            return Rows(&mut sink).deserialize(d);
        }
        let cell = Cell::deserialize(d)?;
        self.cell(key, cell).map_err(serde::de::Error::custom)
    }

    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        self.group_fields
            .set(&mut self.groups, key, &cell)
            .map_err(|e| format!("data_list[{}]: {e}", self.items))
    }

    fn end_row(&mut self) -> Result<(), String> {
        self.rank += 1;
        let k = self.cur_scenes.n_rows();
        let g = self.groups.n_rows();
        // group-level row
        self.groups.set(0, &Cell::Int(self.rank))?;
        if let Some(src) = &self.cur_source {
            self.groups
                .set(1, &Cell::Str(Cow::Borrowed(src.as_str())))?;
        }
        self.groups.set(2, &Cell::Int(k as i64))?;
        self.groups.end_row();
        // scene-level rows, written in place: one per scene (or one with
        // null scene columns), the group's key and totals beside each
        let n_scene_cols = self.cur_scenes.names().len();
        let out = &mut self.scenes;
        for r in 0..k.max(1) {
            out.col(0).push_from(self.groups.col_ref(0), g);
            out.col(1).push_from(self.groups.col_ref(1), g);
            for j in 0..n_scene_cols {
                if r < k {
                    out.col(2 + j).push_from(self.cur_scenes.col_ref(j), r);
                } else {
                    out.col(2 + j).push_null();
                }
            }
            for j in 0..SOURCE.len() {
                out.col(2 + n_scene_cols + j)
                    .push_from(self.groups.col_ref(3 + j), g);
            }
            out.end_row();
        }
        self.cur_scenes.clear();
        self.cur_source = None;
        self.items += 1;
        Ok(())
    }
}

fn scene_schema() -> Vec<(String, Kind)> {
    let mut s = vec![
        ("scene_id".to_string(), Kind::Str),
        ("scene_name".to_string(), Kind::Str),
    ];
    s.extend(SOURCE.iter().map(|(n, k)| (n.to_string(), *k)));
    s
}

/// Visitor attributes: `{age: [...], sex: [...], interest: [...]}` rows.
struct AttributeSink {
    t: TableBuilder,
    items: usize,
}

struct AttrItemSink<'a> {
    t: &'a mut TableBuilder,
    attribute: &'a str,
    /// Rows of the table before this attribute's list (error messages).
    first: usize,
}

impl<'de> RowSink<'de> for AttrItemSink<'_> {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        let col = match key {
            "attribute_id" => 1,
            "name" => 2,
            "count_ratio" | "user_count_ratio" => 3,
            _ => return Ok(()),
        };
        self.t.set(col, &cell).map_err(|e| {
            let row = self.t.n_rows() - self.first;
            format!("{}[{row}]: field {key:?}: {e}", self.attribute)
        })
    }
    fn end_row(&mut self) -> Result<(), String> {
        self.t.set(0, &Cell::Str(Cow::Borrowed(self.attribute)))?;
        self.t.end_row();
        Ok(())
    }
}

impl<'de> RowSink<'de> for AttributeSink {
    fn value<D: Deserializer<'de>>(&mut self, key: &str, d: D) -> Result<(), D::Error> {
        if let Some(a) = ATTRIBUTES.iter().find(|a| **a == key) {
            let first = self.t.n_rows();
            let mut sink = AttrItemSink {
                t: &mut self.t,
                attribute: a,
                first,
            };
            return Rows(&mut sink).deserialize(d);
        }
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(())
    }
    fn cell(&mut self, _key: &str, _cell: Cell<'de>) -> Result<(), String> {
        Ok(())
    }
    fn end_row(&mut self) -> Result<(), String> {
        self.items += 1;
        Ok(())
    }
}

/// A `sum` block → one-row table of the report's metric columns.
struct SumSink {
    t: TableBuilder,
    fields: FieldMap,
}

impl<'de> RowSink<'de> for SumSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        self.fields
            .set(&mut self.t, key, &cell)
            .map_err(|e| format!("sum: {e}"))
    }
    fn end_row(&mut self) -> Result<(), String> {
        self.t.end_row();
        Ok(())
    }
}

/// What the envelope and `data` object say besides the rows.
#[derive(Default)]
struct Meta {
    errno: Option<i64>,
    msg: Option<String>,
    error_code: Option<i64>,
    error_msg: Option<String>,
    has_data: bool,
    offset: Option<i64>,
    total: Option<i64>,
    time_span: Option<String>,
    list_seen: bool,
}

/// One pass over a whole reply: the row list goes straight into `sink`,
/// the `sum` block into `sum`, everything else into [`Meta`].
struct ReplySeed<'a, S> {
    sink: &'a mut S,
    sum: &'a mut SumSink,
    meta: &'a mut Meta,
    /// Name of the row list (`data_list`, or `result` for getdata).
    list_key: &'static str,
}

struct DataSeed<'a, 'b, S>(&'b mut ReplySeed<'a, S>);

fn num_cell<E: serde::de::Error>(c: Cell, what: &str) -> Result<Option<i64>, E> {
    c.to_i64().map_err(|e| E::custom(format!("{what}: {e}")))
}

impl<'de, S: RowSink<'de>> serde::de::Visitor<'de> for ReplySeed<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Baidu reply object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(crate::table::Key(k)) = map.next_key()? {
            match k.as_ref() {
                "errno" => self.meta.errno = num_cell(map.next_value::<Cell>()?, "errno")?,
                "error_code" => {
                    self.meta.error_code = num_cell(map.next_value::<Cell>()?, "error_code")?
                }
                "msg" => self.meta.msg = map.next_value::<Cell>()?.to_string_opt(),
                "error_msg" => self.meta.error_msg = map.next_value::<Cell>()?.to_string_opt(),
                "data" => {
                    self.meta.has_data = true;
                    map.next_value_seed(DataSeed(&mut self))?
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

impl<'de, S: RowSink<'de>> DeserializeSeed<'de> for DataSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: RowSink<'de>> serde::de::Visitor<'de> for DataSeed<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the data object")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let r = self.0;
        while let Some(crate::table::Key(k)) = map.next_key()? {
            match k.as_ref() {
                "offset" => r.meta.offset = num_cell(map.next_value::<Cell>()?, "data.offset")?,
                "total" => r.meta.total = num_cell(map.next_value::<Cell>()?, "data.total")?,
                "time_span" => r.meta.time_span = map.next_value::<Cell>()?.to_string_opt(),
                "sum" => map.next_value_seed(SumSeed(&mut *r.sum))?,
                key if (key == r.list_key || key == "data_list" || key == "result")
                    && !r.meta.list_seen =>
                {
                    r.meta.list_seen = true;
                    map.next_value_seed(Rows(&mut *r.sink))?
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The `sum` block: an object (one row), anything else ignored.
struct SumSeed<'a>(&'a mut SumSink);

impl<'de> DeserializeSeed<'de> for SumSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for SumSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("the sum block")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        serde::de::Visitor::visit_map(Row(&mut *self.0), map)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
}

fn sum_sink(report: &Report) -> SumSink {
    let spec: Vec<(String, Kind)> = metric_fields(report)
        .iter()
        .map(|(n, k)| (n.to_string(), *k))
        .collect();
    let t = TableBuilder::new(&spec);
    let pairs: Vec<(&str, &str)> = spec.iter().map(|(n, _)| (n.as_str(), n.as_str())).collect();
    let fields = FieldMap::new(&t, &pairs);
    SumSink { t, fields }
}

/// Parse a whole reply in one pass into `sink`; API errors are classified
/// (also when the rows could not be read, by a second look at the
/// envelope alone).
fn one_pass<'de, S: RowSink<'de>>(
    report: &Report,
    text: &'de str,
    sink: &mut S,
) -> Result<(Meta, Option<TableBuilder>)> {
    let endpoint = report.endpoint();
    let mut meta = Meta::default();
    let mut sum = sum_sink(report);
    let seed = ReplySeed {
        sink,
        sum: &mut sum,
        meta: &mut meta,
        list_key: if report.is_get() {
            "result"
        } else {
            "data_list"
        },
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = de.deserialize_map(seed).and_then(|_| de.end());
    if let Err(e) = parsed {
        // an error reply whose data did not fit: report the API error
        open(endpoint, text)?;
        return Err(bad(endpoint, e));
    }
    if let Some(code) = meta.error_code.filter(|c| *c != 0) {
        return Err(classify(
            true,
            code,
            meta.error_msg.as_deref().unwrap_or(""),
        ));
    }
    match meta.errno {
        Some(0) => {}
        Some(code) => return Err(classify(false, code, meta.msg.as_deref().unwrap_or(""))),
        None if !meta.has_data => {
            return Err(bad(endpoint, "reply has neither errno nor error_code"))
        }
        None => {}
    }
    if !meta.has_data {
        return Err(bad(endpoint, "reply has no data object"));
    }
    let sum = (sum.t.n_rows() > 0).then_some(sum.t);
    Ok((meta, sum))
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
/// see [`crate::providers::common::retention_wide`].
pub fn retention_wide(long: &TableBuilder, gran: Gran, _ratio: bool) -> TableBuilder {
    crate::providers::common::retention_wide(long, gran.wide_prefix())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn periods() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
        let (a, b) = parse_period("2019/04/01 - 2019/04/07", Gran::Week, None).unwrap();
        assert_eq!((a.date(), b), (d(2019, 4, 1), d(2019, 4, 7)));
        let (a, b) = parse_period("2019/04", Gran::Month, None).unwrap();
        assert_eq!((a.date(), b), (d(2019, 4, 1), d(2019, 4, 30)));
        let (a, _) = parse_period("2019/12", Gran::Month, None).unwrap();
        assert_eq!(a.date().month(), 12);
        let (a, _) = parse_period("13:00 - 13:59", Gran::Hour, Some(d(2019, 4, 1))).unwrap();
        assert_eq!(a.to_string(), "2019-04-01 13:00:00");
        assert!(parse_period("13:00 - 13:59", Gran::Hour, None).is_none());
        assert!(parse_period("yesterday", Gran::Day, None).is_none());
        assert_eq!(retention_period("第2天"), Ok(Some(2)));
        assert_eq!(retention_period("第12周"), Ok(Some(12)));
        assert_eq!(retention_period("第3月"), Ok(Some(3)));
        assert_eq!(retention_period("active_user_count"), Ok(None));
        assert_eq!(retention_period("第一名"), Ok(None));
        for bad in [
            "第X天",
            "第天",
            "第0天",
            "第-1周",
            "第99999999999999999999天",
        ] {
            let e = retention_period(bad).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        // found by the fuzzer: non-ASCII labels of month length
        assert!(parse_period("重庆", Gran::Month, None).is_none());
        assert!(parse_period("2019/重", Gran::Month, None).is_none());
    }

    #[test]
    fn error_envelopes() {
        let r = Report::Region;
        let e = parse_page(
            &r,
            r#"{"error_code":111,"error_msg":"Access token expired"}"#,
            None,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            Error::Auth {
                renewable: true,
                ..
            }
        ));
        let e = parse_page(&r, r#"{"errno":1000,"msg":"internal"}"#, None).unwrap_err();
        assert!(e.retryable());
        let e = parse_page(&r, r#"{"errno":40001,"msg":"param error"}"#, None).unwrap_err();
        assert_eq!(e.code(), Some(40001));
        let e = parse_page(&r, r#"{"error_code":18,"error_msg":"qps"}"#, None).unwrap_err();
        assert!(matches!(e, Error::RateLimited { .. }));
        let e = parse_page(&r, r#"{"error_code":17,"error_msg":"daily"}"#, None).unwrap_err();
        assert!(matches!(e, Error::QuotaExceeded { .. }));
        let e = parse_page(
            &r,
            r#"{"errno":0,"msg":"ok","data":{"data_list":[{"name":"x"#,
            None,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Malformed { .. }));
    }

    #[test]
    fn flat_rows_tolerate_odd_values() {
        let r = Report::UserTrend { gran: Gran::Day };
        let text = r#"{"errno":0,"msg":"success","data":{"offset":0,"total":2,
            "sum":{"new_user_count":"--","user_count":"1,000"},
            "data_list":[{"name":"2019/04/15","new_user_count":"12","new_user_ratio":"--"," ":3},
                         {"name":"2019/04/14","new_user_count":5,"new_user_ratio":1.5,"extra":[1,2]}]}}"#;
        let p = parse_page(&r, text, None).unwrap();
        assert_eq!((p.items, p.total, p.offset), (2, Some(2), Some(0)));
        let df = p.table.finish().unwrap();
        assert_eq!(df.height(), 2);
        let c = df.column("new_user_count").unwrap().i64().unwrap();
        assert_eq!((c.get(0), c.get(1)), (Some(12), Some(5)));
        assert_eq!(df.column("new_user_ratio").unwrap().null_count(), 1);
        let sum = p.sum.unwrap().finish().unwrap();
        assert_eq!(
            sum.column("user_count").unwrap().i64().unwrap().get(0),
            Some(1000)
        );
        // empty list
        let p = parse_page(
            &r,
            r#"{"errno":0,"data":{"offset":0,"total":0,"data_list":[]}}"#,
            None,
        )
        .unwrap();
        assert_eq!(p.items, 0);
        // text in a numeric column is an error, not a silent null
        let e = parse_page(
            &r,
            r#"{"errno":0,"data":{"data_list":[{"name":"2019/04/15","user_count":"many"}]}}"#,
            None,
        );
        assert!(matches!(e, Err(Error::Malformed { .. })));
    }

    #[test]
    fn source_nesting() {
        let r = Report::Source {
            level: Level::Scene,
        };
        let text = r#"{"errno":0,"data":{"offset":0,"total":2,"data_list":[
            {"name":[{"sceneId":"1","source":"39","name":"a","user_count":3},
                     {"sceneId":"2","source":"39","name":"b","user_count":4}],"user_count":7},
            {"name":[],"user_count":3}]}}"#;
        let p = parse_page(&r, text, None).unwrap();
        assert_eq!(p.items, 2);
        let df = p.table.finish().unwrap();
        assert_eq!(df.height(), 3);
        let gu = df.column("group_user_count").unwrap().i64().unwrap();
        assert_eq!(
            (0..3).map(|i| gu.get(i)).collect::<Vec<_>>(),
            vec![Some(7), Some(7), Some(3)]
        );
        let rank = df.column("group_rank").unwrap().i64().unwrap();
        assert_eq!(
            (0..3).map(|i| rank.get(i)).collect::<Vec<_>>(),
            vec![Some(1), Some(1), Some(2)]
        );
        assert_eq!(df.column("scene_id").unwrap().null_count(), 1);
        let g = p.groups.unwrap().finish().unwrap();
        assert_eq!(g.height(), 2);
        assert_eq!(
            g.column("scene_count").unwrap().i64().unwrap().get(1),
            Some(0)
        );
    }

    #[test]
    fn retention_shapes() {
        let r = Report::Retention {
            gran: Gran::Week,
            report_type: RetentionType::Count,
            shape: Shape::Long,
        };
        let text = r#"{"errno":0,"data":{"offset":0,"total":2,"sum":{"active_user_count":"--"},"data_list":[
            {"name":"2019/04/01 - 2019/04/07","active_user_count":6625,"第2周":701,"第3周":"--"},
            {"name":"2019/04/08 - 2019/04/14","第2周":764,"active_user_count":7967}]}}"#;
        let p = parse_page(&r, text, None).unwrap();
        assert_eq!(p.items, 2);
        let wide = retention_wide(&p.table, Gran::Week, false)
            .finish()
            .unwrap();
        let long = p.table.finish().unwrap();
        assert_eq!(long.height(), 3);
        assert_eq!(long.column("users").unwrap().null_count(), 1);
        assert_eq!(wide.height(), 2);
        assert_eq!(
            wide.get_column_names(),
            ["cohort_date", "cohort_end", "cohort_size", "w2", "w3"]
        );
        assert_eq!(wide.column("w2").unwrap().i64().unwrap().get(1), Some(764));
        assert_eq!(wide.column("w3").unwrap().null_count(), 2);
    }
}

#[cfg(test)]
mod fixture_tests {
    //! The document's own samples (cleaned of `...`) through the parser.
    use super::*;
    use std::collections::HashMap;

    fn page(endpoint: &str, opts: &[(&str, &str)], text: &str) -> Page {
        let o: HashMap<String, String> = opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let r = Report::from_endpoint(endpoint, &o).unwrap();
        parse_page(&r, text, None).unwrap()
    }

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../../tests/fixtures/baidu/", $name, ".json"))
        };
    }

    #[test]
    fn document_samples() {
        let p = page(
            "getanalysisusertrend",
            &[],
            fixture!("getanalysisusertrend"),
        );
        assert_eq!((p.items, p.total), (2, Some(6)));
        let df = p.table.finish().unwrap();
        assert_eq!(
            df.column("user_count").unwrap().i64().unwrap().get(0),
            Some(1474)
        );
        assert_eq!(
            df.column("date").unwrap().dtype(),
            &polars::prelude::DataType::Date
        );

        // the sample's key " " is ignored; weekly_user_count is null there
        let p = page(
            "getanalysisactivityuser",
            &[],
            fixture!("getanalysisactivityuser"),
        );
        let df = p.table.finish().unwrap();
        let w = df.column("weekly_user_count").unwrap().i64().unwrap();
        assert_eq!((w.get(0), w.get(1)), (None, Some(7967)));

        let p = page(
            "getanalysisretaineduser",
            &[("gran", "month")],
            fixture!("getanalysisretaineduser.month"),
        );
        let df = p.table.finish().unwrap();
        assert_eq!(df.height(), 8);
        assert_eq!(df.column("users").unwrap().null_count(), 7);
        let p = page(
            "getanalysisretaineduser",
            &[("gran", "week")],
            fixture!("getanalysisretaineduser.week"),
        );
        assert_eq!(p.table.n_rows(), 16);
        let p = page(
            "getanalysisretaineduser",
            &[("gran", "day")],
            fixture!("getanalysisretaineduser.day"),
        );
        assert_eq!(p.table.n_rows(), 16);

        let p = page(
            "getanalysisvisitattribute",
            &[],
            fixture!("getanalysisvisitattribute"),
        );
        let df = p.table.finish().unwrap();
        assert_eq!(df.height(), 7 + 2 + 10);

        let p = page("getanalysisregion", &[], fixture!("getanalysisregion"));
        assert_eq!((p.items, p.total), (2, Some(34)));
        let p = page(
            "getanalysisterminal",
            &[("terminal_type", "os")],
            fixture!("getanalysisterminal"),
        );
        assert_eq!(p.items, 2);
        let p = page(
            "getanalysisvisitpage",
            &[],
            fixture!("getanalysisvisitpage"),
        );
        let df = p.table.finish().unwrap();
        assert_eq!(
            df.column("page_name").unwrap().str().unwrap().get(0),
            Some("pages/yuyue/yuyue")
        );
        let p = page(
            "getanalysisvisitcharacter",
            &[("character_type", "frequency")],
            fixture!("getanalysisvisitcharacter"),
        );
        assert_eq!(p.items, 6);

        let p = page("getanalysissource", &[], fixture!("getanalysissource"));
        assert_eq!((p.items, p.total), (11, Some(11)));
        let groups = p.groups.unwrap().finish().unwrap();
        assert_eq!(groups.height(), 11);
        let df = p.table.finish().unwrap();
        // 2 + 4 + 2 + 3 + 1 + (empty group kept) 1 + 1 + 1 + 1 + 1 + 1
        assert_eq!(df.height(), 18);

        let p = page("getdata", &[], fixture!("getdata"));
        assert_eq!(p.items, 4);
        let df = p.table.finish().unwrap();
        assert_eq!(df.column("tp_day_user_count").unwrap().null_count(), 2);
    }
}
