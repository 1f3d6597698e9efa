//! MTA replies → typed tables, streamed with serde seeds (no
//! `serde_json::Value` trees).
//!
//! `ret_data` shapes handled, whatever the report:
//! - object keyed by date / bucket / dimension value → object of fields
//!   (one row per key; the key goes to the report's key column);
//! - array of objects (one row each);
//! - one flat object of scalars (realtime: `Date` plus metrics);
//! - `null`, `""`, `[]`, `{}`: no rows.

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDate;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::endpoints::{retention_day, Report, ReportKind, Shape, PROVIDER};
use crate::error::{redact, Error, Result};
use crate::providers::common::{days_to_date, retention_wide, RETENTION_LONG};
use crate::table::{Cell, Column, Key, Kind, Row, RowSink, TableBuilder};

/// Success code of the envelope.
pub const OK: i64 = 60000;
/// Wrong signature.
pub const BAD_SIGN: i64 = 60002;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    ret_code: Option<Cell<'a>>,
    #[serde(default, borrow)]
    ret_msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    ret_data: Option<&'a RawValue>,
    #[serde(default, borrow)]
    data: Option<&'a RawValue>,
}

/// Map a non-success `ret_code` to an error class.
///
/// Only `60000` (ok) and `60002` (wrong sign) are documented; other codes
/// are classified by their message: signature/app/permission → Auth,
/// frequency/rate → RateLimited, quota/daily limit → QuotaExceeded,
/// system/busy/internal/timeout → Server (retryable), else Api.
pub fn classify(code: i64, message: &str) -> Error {
    let message = redact(message);
    let provider = PROVIDER;
    let lower = message.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if code == BAD_SIGN || has(&["sign", "签名"]) {
        return Error::Auth {
            provider,
            code,
            message: format!(
                "request signature rejected: the secret key is wrong or does not belong to this app_id ({message})"
            ),
            renewable: false,
        };
    }
    if has(&["quota", "配额", "上限", "daily limit"]) {
        return Error::QuotaExceeded {
            provider,
            code,
            message,
        };
    }
    if has(&["rate", "frequen", "too many", "频率", "频繁", "限频"]) {
        return Error::RateLimited {
            provider,
            code,
            message,
            retry_after: None,
        };
    }
    if has(&["permission", "权限", "app_id", "appid", "unauthori"]) {
        return Error::Auth {
            provider,
            code,
            message,
            renewable: false,
        };
    }
    if has(&[
        "system", "busy", "internal", "timeout", "系统", "繁忙", "内部", "超时", "server",
    ]) {
        return Error::Server {
            provider,
            code,
            message,
        };
    }
    Error::Api {
        provider,
        code,
        message,
    }
}

fn bad(report: &Report, e: impl fmt::Display) -> Error {
    Error::malformed(PROVIDER, report.path, e)
}

/// Check the envelope and return the raw payload (`ret_data` or `data`).
pub fn open<'a>(report: &Report, text: &'a str) -> Result<Option<&'a RawValue>> {
    let text = crate::table::strip_bom(text);
    let env: Envelope = serde_json::from_str(text).map_err(|e| bad(report, e))?;
    let code = match &env.ret_code {
        None => return Err(bad(report, "reply has no ret_code")),
        Some(c) => match c.to_i64() {
            Ok(Some(c)) => c,
            _ => return Err(bad(report, format!("ret_code is not a number: {c:?}"))),
        },
    };
    if code != OK {
        return Err(classify(code, env.ret_msg.as_deref().unwrap_or("")));
    }
    Ok(env.ret_data.or(env.data))
}

// ------------------------------------------------------------ streaming

/// A row sink that is told where each row begins and what its key is.
pub trait KeyedSink<'de>: RowSink<'de> {
    /// A row begins; `key` is its key in a keyed object (`None` for array
    /// items and for a flat object).
    fn begin(&mut self, key: Option<&str>) -> Result<(), String>;
    /// Whether top-level scalars form one flat row (realtime); otherwise
    /// they are ignored.
    fn flat_ok(&self) -> bool;
}

/// Seed for the whole payload.
struct Payload<'s, S>(&'s mut S);

impl<'de, S: KeyedSink<'de>> DeserializeSeed<'de> for Payload<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: KeyedSink<'de>> Visitor<'de> for Payload<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object or an array of objects")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut flat = false;
        while let Some(Key(k)) = map.next_key::<Key>()? {
            map.next_value_seed(Entry {
                sink: &mut *self.0,
                key: &k,
                flat: &mut flat,
            })?;
        }
        if flat {
            self.0.end_row().map_err(de::Error::custom)?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Item(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        if v.trim().is_empty() {
            Ok(())
        } else {
            Err(E::custom(format!(
                "expected an object or an array, got the text {v:?}"
            )))
        }
    }
}

/// An array item: one row.
struct Item<'s, S>(&'s mut S);

impl<'de, S: KeyedSink<'de>> DeserializeSeed<'de> for Item<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.0.begin(None).map_err(de::Error::custom)?;
        d.deserialize_map(Row(self.0))
    }
}

/// The value of one top-level key.
struct Entry<'s, 'k, S> {
    sink: &'s mut S,
    key: &'k str,
    flat: &'s mut bool,
}

impl<'de, S: KeyedSink<'de>> DeserializeSeed<'de> for Entry<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: KeyedSink<'de>> Entry<'_, '_, S> {
    fn scalar<E: de::Error>(self, cell: Cell<'de>) -> Result<(), E> {
        if !self.sink.flat_ok() {
            return Ok(());
        }
        if !*self.flat {
            self.sink.begin(None).map_err(E::custom)?;
            *self.flat = true;
        }
        self.sink.cell(self.key, cell).map_err(E::custom)
    }
}

impl<'de, S: KeyedSink<'de>> Visitor<'de> for Entry<'_, '_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of fields")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.sink.begin(Some(self.key)).map_err(de::Error::custom)?;
        Row(self.sink).visit_map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // A wrapper such as {"list": [...]}: its items are rows.
        while seq.next_element_seed(Item(&mut *self.sink))?.is_some() {}
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.scalar(Cell::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        self.scalar(Cell::from_u64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.scalar(Cell::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.scalar(Cell::Bool(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<(), E> {
        self.scalar(Cell::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.scalar(Cell::Str(Cow::Owned(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.scalar(Cell::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.scalar(Cell::Null)
    }
}

// ---------------------------------------------------------------- sinks

/// Rows of a flat table: an optional key column, labels and metrics;
/// other fields are not read.
struct TableSink {
    t: TableBuilder,
    /// reply key → column (MTA names, snake_case names, label fields).
    fields: Vec<(String, usize)>,
    key_col: Option<usize>,
    rank_col: Option<usize>,
    consts: Vec<(usize, String)>,
    flat: bool,
    /// Key of the current row in a keyed object (error messages).
    row_key: RowKey,
}

impl TableSink {
    fn field(&self, key: &str) -> Option<usize> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, i)| *i)
    }
}

/// Where the current row is, for error messages: its key in a keyed
/// object (`ret_data["2024-03-01"]`) or its index in an array.
#[derive(Default)]
struct RowKey {
    key: String,
    keyed: bool,
}

impl RowKey {
    fn set(&mut self, key: Option<&str>) {
        self.key.clear();
        self.keyed = key.is_some();
        self.key.push_str(key.unwrap_or(""));
    }

    fn describe(&self, index: usize) -> String {
        if self.keyed {
            format!("ret_data[{:?}]", self.key)
        } else {
            format!("ret_data[{index}]")
        }
    }
}

impl<'de> RowSink<'de> for TableSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        let Some(i) = self.field(key) else {
            return Ok(());
        };
        self.t.set(i, &cell).map_err(|e| {
            format!(
                "{}: field {key:?}: {e}",
                self.row_key.describe(self.t.n_rows())
            )
        })
    }

    fn end_row(&mut self) -> Result<(), String> {
        for (i, v) in &self.consts {
            self.t.set(*i, &Cell::Str(Cow::Borrowed(v.as_str())))?;
        }
        if let Some(r) = self.rank_col {
            self.t.set(r, &Cell::Int(self.t.n_rows() as i64 + 1))?;
        }
        self.t.end_row();
        Ok(())
    }
}

impl<'de> KeyedSink<'de> for TableSink {
    fn begin(&mut self, key: Option<&str>) -> Result<(), String> {
        self.row_key.set(key);
        if let (Some(k), Some(i)) = (key, self.key_col) {
            self.t
                .set(i, &Cell::Str(Cow::Borrowed(k)))
                .map_err(|e| format!("key {k:?}: {e}"))?;
        }
        Ok(())
    }
    fn flat_ok(&self) -> bool {
        self.flat
    }
}

/// Retention rows: date → `{D1RepeatUser: .., D7RepeatUser: .., ...}`,
/// emitted long (one row per requested period) into [`RETENTION_ROWS`]:
/// counts in `users`, percentages in `ratio` ([`finish`] keeps one).
struct RetentionSink {
    t: TableBuilder,
    periods: Vec<i64>,
    date: Option<NaiveDate>,
    size: Option<i64>,
    cells: Vec<(i64, RetentionValue)>,
    row_key: RowKey,
    /// Cohorts read so far (error messages).
    cohorts: usize,
}

impl<'de> RowSink<'de> for RetentionSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        self.read(key, cell)
            .map_err(|e| format!("{}: {e}", self.row_key.describe(self.cohorts)))
    }

    fn end_row(&mut self) -> Result<(), String> {
        self.cohorts += 1;
        self.emit()
    }
}

impl RetentionSink {
    fn read(&mut self, key: &str, cell: Cell) -> Result<(), String> {
        match key {
            "Date" | "date" => {
                if self.date.is_none() {
                    self.date = match &cell {
                        Cell::Str(s) => crate::table::parse_date(s),
                        _ => None,
                    };
                    if self.date.is_none() {
                        return Err(format!("retention date {} is not a date", cell.describe()));
                    }
                }
            }
            "NewUser" | "cohort_size" => {
                self.size = cell.to_i64().map_err(|e| format!("field {key:?}: {e}"))?
            }
            k => {
                if let Some(p) = retention_day(k).filter(|p| self.periods.contains(p)) {
                    let v = RetentionValue::read(&cell).map_err(|e| format!("field {k:?}: {e}"))?;
                    self.cells.push((p, v));
                }
            }
        }
        Ok(())
    }

    fn emit(&mut self) -> Result<(), String> {
        let date = self.date.take().ok_or("retention row without a date")?;
        let size = self.size.take();
        for &p in &self.periods {
            let v = self
                .cells
                .iter()
                .find(|(q, _)| *q == p)
                .map_or(RetentionValue::Missing, |(_, v)| *v);
            self.t.col(0).push_date(Some(date));
            self.t.col(1).push_date(Some(date));
            self.t.col(2).push_i64(size);
            self.t.col(3).push_i64(Some(p));
            match v {
                RetentionValue::Count(n) => {
                    self.t.col(4).push_i64(Some(n));
                    self.t.col(5).push_null();
                }
                RetentionValue::Percent(x) => {
                    self.t.col(4).push_null();
                    self.t.col(5).push_f64(Some(x));
                }
                RetentionValue::Missing => {
                    self.t.col(4).push_null();
                    self.t.col(5).push_null();
                }
            }
            self.t.end_row();
        }
        self.cells.clear();
        Ok(())
    }
}

/// One `D{N}RepeatUser` value. MTA documents counts ("day-N returning
/// users"); a community dashboard renders the same keys as percentages, so
/// a reply may carry either. A value is a percentage when it is written
/// with `%` or has a fraction (`"35.2"`, `35.2`, `"35%"`); otherwise it is
/// a count. A reply with one percentage is a reply of percentages (see
/// [`finish`]).
#[derive(Debug, Clone, Copy, PartialEq)]
enum RetentionValue {
    Count(i64),
    Percent(f64),
    Missing,
}

impl RetentionValue {
    fn read(cell: &Cell) -> Result<Self, String> {
        let percent_sign = matches!(cell, Cell::Str(s) if s.trim_end().ends_with('%'));
        if !percent_sign {
            match cell.to_i64() {
                Ok(v) => return Ok(v.map_or(RetentionValue::Missing, RetentionValue::Count)),
                // a whole number beyond i64 is a count that does not fit
                Err(e) if e.ends_with(crate::table::TOO_BIG) => return Err(e),
                Err(_) => {}
            }
        }
        match cell.to_f64()? {
            Some(x) => Ok(RetentionValue::Percent(x)),
            None => Ok(RetentionValue::Missing),
        }
    }
}

impl<'de> KeyedSink<'de> for RetentionSink {
    fn begin(&mut self, key: Option<&str>) -> Result<(), String> {
        self.row_key.set(key);
        self.date = None;
        self.size = None;
        self.cells.clear();
        if let Some(k) = key {
            self.date = Some(
                crate::table::parse_date(k).ok_or_else(|| format!("key {k:?} is not a date"))?,
            );
        }
        Ok(())
    }
    fn flat_ok(&self) -> bool {
        false
    }
}

// --------------------------------------------------------------- schema

/// The columns before the metrics, by report.
fn head_columns(report: &Report) -> Vec<(&'static str, Kind)> {
    match report.kind {
        ReportKind::UserBasic
        | ReportKind::Realtime
        | ReportKind::ActiveUsers
        | ReportKind::Usage
        | ReportKind::Crash => vec![("date", Kind::Date)],
        ReportKind::Terminal => vec![
            ("terminal_type", Kind::Str),
            ("rank", Kind::Int),
            ("terminal", Kind::Str),
        ],
        ReportKind::Frequency => vec![("bucket", Kind::Int), ("section", Kind::Str)],
        ReportKind::CrashEnv => vec![("dimension", Kind::Str), ("value", Kind::Str)],
        ReportKind::ErrorList => vec![("rank", Kind::Int), ("key", Kind::Str)],
        ReportKind::Retention => vec![],
    }
}

/// The columns after the metrics, by report, with the reply keys they are
/// read from (MTA's spelling, snake_case and camelCase).
fn tail_columns(report: &Report) -> &'static [(&'static str, Kind, &'static [&'static str])] {
    match report.kind {
        ReportKind::ErrorList => ERROR_LIST_LABELS,
        _ => &[],
    }
}

/// `error_list` label columns. The vendor documents no row shape for
/// `get_err_list`; these are the fields seen in its replies (`CrashId` in
/// the fixture, the rest in the sandbox's reading). Other fields are not
/// read: every report's schema is fixed.
const ERROR_LIST_LABELS: &[(&str, Kind, &[&str])] = &[
    ("crash_id", Kind::Str, &["CrashId", "crash_id", "crashId"]),
    (
        "error_msg",
        Kind::Str,
        &["ErrorMsg", "error_msg", "errorMsg"],
    ),
    (
        "app_version",
        Kind::Str,
        &["AppVersion", "app_version", "appVersion"],
    ),
    (
        "first_time",
        Kind::Datetime,
        &["FirstTime", "first_time", "firstTime"],
    ),
];

/// Output schema of a report: fixed per report and options, whatever the
/// reply holds.
pub fn schema(report: &Report) -> Vec<(String, Kind)> {
    if report.kind == ReportKind::Retention {
        let mut s: Vec<(String, Kind)> = RETENTION_LONG
            .iter()
            .map(|(n, k)| (n.to_string(), *k))
            .collect();
        if report.shape == Shape::Wide {
            s.truncate(3);
            s.extend(
                report
                    .periods()
                    .iter()
                    .map(|p| (format!("d{p}"), Kind::Int)),
            );
        }
        return s;
    }
    let mut s: Vec<(String, Kind)> = head_columns(report)
        .into_iter()
        .map(|(n, k)| (n.to_string(), k))
        .collect();
    s.extend(report.metrics.iter().map(|m| (m.name.to_string(), m.kind)));
    s.extend(
        tail_columns(report)
            .iter()
            .map(|(n, k, _)| (n.to_string(), *k)),
    );
    s
}

/// Retention rows as parsed: the long frame with both value columns
/// (`users` for counts, `ratio` for percentages); [`finish`] keeps one.
const RETENTION_ROWS: &[(&str, Kind)] = &[
    ("cohort_date", Kind::Date),
    ("cohort_end", Kind::Date),
    ("cohort_size", Kind::Int),
    ("period", Kind::Int),
    ("users", Kind::Int),
    ("ratio", Kind::Float),
];

/// Parse one reply into the report's rows (long form for retention, with
/// both value columns: see [`RETENTION_ROWS`]).
pub fn parse_rows(report: &Report, text: &str) -> Result<TableBuilder> {
    let text = crate::table::strip_bom(text);
    if report.kind == ReportKind::Retention {
        let mut s = RetentionSink {
            t: TableBuilder::new(RETENTION_ROWS),
            periods: report.periods(),
            date: None,
            size: None,
            cells: vec![],
            row_key: RowKey::default(),
            cohorts: 0,
        };
        one_pass(report, text, &mut s)?;
        return Ok(s.t);
    }
    let spec = schema(report);
    let t = TableBuilder::new(&spec);
    let mut fields: Vec<(String, usize)> = vec![];
    for m in &report.metrics {
        if let Some(i) = t.index(m.name) {
            fields.push((m.mta.to_string(), i));
            fields.push((m.name.to_string(), i));
        }
    }
    let col = |n: &str| t.index(n);
    let mut consts = vec![];
    let mut key_col = None;
    let mut rank_col = None;
    let mut flat = false;
    let mut label = |src: &[&str], out: &str| {
        if let Some(i) = col(out) {
            for s in src {
                fields.push((s.to_string(), i));
            }
        }
    };
    match report.kind {
        ReportKind::Terminal => {
            label(&["Terminal", "terminal"], "terminal");
            rank_col = col("rank");
            if let (Some(i), Some(n)) = (col("terminal_type"), report.dimension_name()) {
                consts.push((i, n.to_string()));
            }
        }
        ReportKind::Frequency => {
            label(&["Section", "section"], "section");
            key_col = col("bucket");
        }
        ReportKind::CrashEnv => {
            key_col = col("value");
            if let (Some(i), Some(n)) = (col("dimension"), report.dimension_name()) {
                consts.push((i, n.to_string()));
            }
        }
        ReportKind::ErrorList => {
            key_col = col("key");
            rank_col = col("rank");
            for (name, _, keys) in ERROR_LIST_LABELS {
                label(keys, name);
            }
        }
        ReportKind::Realtime => {
            label(&["Date", "date"], "date");
            key_col = col("date");
            flat = true;
        }
        _ => {
            label(&["Date", "date"], "date");
            key_col = col("date");
        }
    }
    let mut s = TableSink {
        t,
        fields,
        key_col,
        rank_col,
        consts,
        flat,
        row_key: RowKey::default(),
    };
    one_pass(report, text, &mut s)?;
    Ok(s.t)
}

/// The whole reply in one pass: the payload (`ret_data`, or `data`) goes
/// straight into `sink` (no pre-scan of the envelope).
struct ReplySeed<'s, S> {
    sink: &'s mut S,
    code: Option<Result<Option<i64>, String>>,
    msg: Option<String>,
    payload_seen: bool,
}

impl<'de, S: KeyedSink<'de>> serde::de::Visitor<'de> for &mut ReplySeed<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an MTA reply object")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(crate::table::Key(k)) = map.next_key()? {
            match k.as_ref() {
                "ret_code" => self.code = Some(map.next_value::<Cell>()?.to_i64()),
                "ret_msg" => self.msg = map.next_value::<Cell>()?.to_string_opt(),
                "ret_data" | "data" if !self.payload_seen => {
                    self.payload_seen = true;
                    map.next_value_seed(Payload(&mut *self.sink))?
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

fn one_pass<'de, S: KeyedSink<'de>>(report: &Report, text: &'de str, sink: &mut S) -> Result<()> {
    let mut seed = ReplySeed {
        sink,
        code: None,
        msg: None,
        payload_seen: false,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = serde::Deserializer::deserialize_map(&mut de, &mut seed).and_then(|_| de.end());
    if let Err(e) = parsed {
        // an error reply whose payload did not fit: report the API error
        open(report, text)?;
        return Err(bad(report, e));
    }
    let code = match seed.code {
        None => return Err(bad(report, "reply has no ret_code")),
        Some(Ok(Some(c))) => c,
        Some(_) => return Err(bad(report, "ret_code is not a number")),
    };
    if code != OK {
        return Err(classify(code, seed.msg.as_deref().unwrap_or("")));
    }
    Ok(())
}

/// Date values of column `col` (null dates skipped).
pub fn dates(t: &TableBuilder, col: usize) -> Vec<NaiveDate> {
    match t.col_ref(col) {
        Column::Date(v) => v
            .iter()
            .take(t.n_rows())
            .flatten()
            .map(days_to_date)
            .collect(),
        _ => vec![],
    }
}

/// Rows stably sorted by the Date column `col` (dates are keys: never null).
pub fn sort_by_date(mut t: TableBuilder, col: usize) -> TableBuilder {
    t.sort_by(&[col]);
    t
}

/// The final frame of a report from its (stitched) rows.
///
/// Retention keeps one value column for the whole (stitched) reply:
/// `users` (Int64) when every value is a count, `ratio` (Float64, percent
/// as sent) when any value is a percentage -- the counts-looking values of
/// such a reply (`"35"`, a whole percentage) then become ratios too.
pub fn finish(report: &Report, rows: TableBuilder) -> Result<polars::prelude::DataFrame> {
    let polars = |e: polars::error::PolarsError| Error::Internal(format!("building frame: {e}"));
    let rows = if report.kind.date_keyed() || report.kind == ReportKind::Realtime {
        sort_by_date(rows, 0)
    } else {
        rows
    };
    if report.kind != ReportKind::Retention {
        return rows.finish().map_err(polars);
    }
    let long = retention_values(rows);
    if report.shape == Shape::Long {
        return long.finish().map_err(polars);
    }
    let value_kind = long.col_ref(4).kind();
    let wide = retention_wide(&long, "d");
    // the schema's columns in its order (every period, also when the
    // reply is empty), in the dtype of the values
    let n = wide.n_rows();
    let cols = schema(report)
        .into_iter()
        .enumerate()
        .map(|(j, (name, kind))| {
            let kind = if j < 3 { kind } else { value_kind };
            let col = match wide.index(&name) {
                Some(i) => wide.col_ref(i).clone(),
                None => Column::new(kind),
            };
            (name, col)
        })
        .collect();
    TableBuilder::from_columns(cols, n).finish().map_err(polars)
}

/// Long retention rows with one value column: `users`, or `ratio` when a
/// value was a percentage (see [`RETENTION_ROWS`]).
fn retention_values(rows: TableBuilder) -> TableBuilder {
    let n = rows.n_rows();
    let (Some(u), Some(r)) = (rows.index("users"), rows.index("ratio")) else {
        return rows; // already one value column (an empty fetch)
    };
    let is_ratio = (0..n).any(|i| rows.col_ref(r).get_f64(i).is_some());
    let mut cols: Vec<(String, Column)> = (0..4)
        .map(|i| (rows.names()[i].clone(), rows.col_ref(i).clone()))
        .collect();
    if is_ratio {
        let mut ratio = Column::with_capacity(Kind::Float, n);
        for i in 0..n {
            let v = rows.col_ref(r).get_f64(i);
            ratio.push_f64(v.or_else(|| rows.col_ref(u).get_i64(i).map(|c| c as f64)));
        }
        cols.push(("ratio".into(), ratio));
    } else {
        cols.push(("users".into(), rows.col_ref(u).clone()));
    }
    TableBuilder::from_columns(cols, n)
}

/// Parse one saved reply into the report's frame.
pub fn parse_reply(report: &Report, text: &str) -> Result<polars::prelude::DataFrame> {
    let rows = parse_rows(report, text)?;
    finish(report, rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::{DataFrame, DataType};
    use std::collections::HashMap;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/mta/",
                $name,
                ".json"
            ))
        };
    }

    fn report(name: &str, opts: &[(&str, &str)]) -> Report {
        let o: HashMap<String, String> = opts
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Report::from_args(name, &o).unwrap()
    }

    fn ints(df: &DataFrame, col: &str) -> Vec<Option<i64>> {
        let c = df.column(col).unwrap().i64().unwrap();
        (0..c.len()).map(|i| c.get(i)).collect()
    }

    fn strs(df: &DataFrame, col: &str) -> Vec<Option<String>> {
        let c = df.column(col).unwrap().str().unwrap();
        (0..c.len()).map(|i| c.get(i).map(str::to_string)).collect()
    }

    fn dtypes(df: &DataFrame) -> Vec<(String, DataType)> {
        df.columns()
            .iter()
            .map(|c| (c.name().to_string(), c.dtype().clone()))
            .collect()
    }

    fn date_strs(df: &DataFrame, col: &str) -> Vec<String> {
        let t = df.column(col).unwrap().cast(&DataType::String).unwrap();
        let c = t.str().unwrap();
        (0..c.len())
            .map(|i| c.get(i).unwrap_or("null").to_string())
            .collect()
    }

    #[test]
    fn user_basic_sorted_and_loose_numbers() {
        let r = report("user_basic", &[]);
        let df = parse_reply(&r, fixture!("user_basic")).unwrap();
        assert_eq!(
            df.get_column_names(),
            [
                "date",
                "new_users",
                "active_users",
                "sessions",
                "total_users",
                "active_accounts",
                "unique_users"
            ]
        );
        assert_eq!(df.column("date").unwrap().dtype(), &DataType::Date);
        // sorted by date although the reply lists 03-02 first
        assert_eq!(date_strs(&df, "date"), ["2024-03-01", "2024-03-02"]);
        assert_eq!(ints(&df, "new_users"), [Some(120), Some(1234)]);
        assert_eq!(ints(&df, "total_users"), [Some(97531), Some(98765)]);
        assert_eq!(ints(&df, "active_accounts"), [Some(33), None]);
        assert_eq!(ints(&df, "unique_users"), [Some(350), None]);
        // a subset of metrics gives only those columns
        let r = report("user_basic", &[("metrics", "sessions")]);
        let df = parse_reply(&r, fixture!("user_basic")).unwrap();
        assert_eq!(df.get_column_names(), ["date", "sessions"]);
    }

    #[test]
    fn realtime_flat_object() {
        let r = report("realtime", &[]);
        let df = parse_reply(&r, fixture!("realtime")).unwrap();
        assert_eq!(df.height(), 1);
        assert_eq!(date_strs(&df, "date"), ["2024-03-05"]);
        assert_eq!(ints(&df, "total_users"), [Some(10015)]);
        assert_eq!(ints(&df, "active_accounts"), [None]);
        // a date-keyed realtime reply is read as well
        let df = parse_reply(
            &r,
            r#"{"ret_code":60000,"ret_data":{"2024-03-05":{"NewUser":"1"}}}"#,
        )
        .unwrap();
        assert_eq!(ints(&df, "new_users"), [Some(1)]);
    }

    #[test]
    fn active_usage_crash() {
        // payload under `data` instead of `ret_data`
        let df = parse_reply(&report("active_users", &[]), fixture!("active_users")).unwrap();
        assert_eq!(
            df.get_column_names(),
            [
                "date",
                "daily_active_users",
                "weekly_active_users",
                "monthly_active_users"
            ]
        );
        assert_eq!(ints(&df, "weekly_active_users"), [Some(2100)]);
        // ret_code as a string; Float64 durations
        let df = parse_reply(&report("usage", &[]), fixture!("usage")).unwrap();
        assert_eq!(
            df.column("time_per_user").unwrap().dtype(),
            &DataType::Float64
        );
        let c = df.column("pages_per_session").unwrap().f64().unwrap();
        assert_eq!(c.get(0), None);
        let c = df.column("time_per_user").unwrap().f64().unwrap();
        assert_eq!(c.get(0), Some(125.5));
        let df = parse_reply(&report("crash", &[]), fixture!("crash")).unwrap();
        assert_eq!(ints(&df, "error_count"), [Some(12), Some(0)]);
        assert_eq!(ints(&df, "error_users"), [Some(7), Some(0)]);
    }

    #[test]
    fn terminal_rows() {
        let r = report("terminal", &[("terminal_type", "os")]);
        let df = parse_reply(&r, fixture!("terminal")).unwrap();
        assert_eq!(
            df.get_column_names(),
            [
                "terminal_type",
                "rank",
                "terminal",
                "new_users",
                "active_users",
                "sessions"
            ]
        );
        assert_eq!(ints(&df, "rank"), [Some(1), Some(2), Some(3)]);
        assert_eq!(
            strs(&df, "terminal"),
            [Some("Android 13".into()), Some("iOS 17.2".into()), None]
        );
        assert_eq!(strs(&df, "terminal_type")[2].as_deref(), Some("os"));
        assert_eq!(ints(&df, "active_users"), [Some(2000), Some(1500), None]);
    }

    #[test]
    fn frequency_buckets() {
        let df = parse_reply(&report("frequency", &[]), fixture!("frequency")).unwrap();
        assert_eq!(
            df.get_column_names(),
            ["bucket", "section", "new_users", "active_users"]
        );
        assert_eq!(ints(&df, "bucket"), [Some(0), Some(1), Some(2)]);
        assert_eq!(strs(&df, "section")[2].as_deref(), Some("50次以上"));
        assert_eq!(ints(&df, "new_users"), [Some(100), Some(40), None]);
    }

    #[test]
    fn crash_env_and_error_list() {
        let r = report("crash_env", &[("dimension", "app_version")]);
        let df = parse_reply(&r, fixture!("crash_env")).unwrap();
        assert_eq!(
            df.get_column_names(),
            ["dimension", "value", "error_count", "error_users"]
        );
        assert_eq!(
            strs(&df, "value"),
            [Some("3.2.1".into()), Some("3.2.0".into())]
        );
        assert_eq!(ints(&df, "error_count"), [Some(80), Some(1200)]);
        assert_eq!(strs(&df, "dimension")[0].as_deref(), Some("app_version"));

        let df = parse_reply(&report("error_list", &[]), fixture!("error_list")).unwrap();
        let schema = [
            ("rank", DataType::Int64),
            ("key", DataType::String),
            ("error_count", DataType::Int64),
            ("error_users", DataType::Int64),
            ("crash_id", DataType::String),
            ("error_msg", DataType::String),
            ("app_version", DataType::String),
            (
                "first_time",
                DataType::Datetime(polars::prelude::TimeUnit::Microseconds, None),
            ),
        ]
        .map(|(n, t)| (n.to_string(), t));
        assert_eq!(dtypes(&df), schema);
        assert_eq!(
            strs(&df, "crash_id"),
            [Some("12345".into()), None],
            "numbers in text fields are kept as text"
        );
        assert_eq!(strs(&df, "app_version"), [None, Some("3.2.1".into())]);
        assert_eq!(ints(&df, "error_count"), [Some(50), Some(9)]);
        assert_eq!(ints(&df, "rank"), [Some(1), Some(2)]);
        assert_eq!(
            date_strs(&df, "first_time")[0],
            "2024-03-01 10:00:00.000000"
        );
        // keyed form: the key is kept; unknown fields are not read
        let df = parse_reply(
            &report("error_list", &[]),
            r#"{"ret_code":60000,"ret_data":{"abc":{"ErrorNum":"1","ErrorUser":"1","Stack":"x","crashId":"c1"}}}"#,
        )
        .unwrap();
        assert_eq!(strs(&df, "key"), [Some("abc".into())]);
        assert_eq!(strs(&df, "crash_id"), [Some("c1".into())]);
        assert_eq!(dtypes(&df), schema);
        // the same schema for an empty reply and for a subset of metrics
        let empty = parse_reply(&report("error_list", &[]), fixture!("empty")).unwrap();
        assert_eq!(dtypes(&empty), schema);
        let one = parse_reply(
            &report("error_list", &[("metrics", "error_users")]),
            fixture!("error_list"),
        )
        .unwrap();
        assert_eq!(
            one.get_column_names(),
            [
                "rank",
                "key",
                "error_users",
                "crash_id",
                "error_msg",
                "app_version",
                "first_time"
            ]
        );
        let e = parse_reply(
            &report("error_list", &[]),
            r#"{"ret_code":60000,"ret_data":[{"ErrorNum":"1","FirstTime":"soon"}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("FirstTime"), "{e}");
    }

    #[test]
    fn retention_long_and_wide() {
        let r = report("retention", &[]);
        let long = parse_reply(&r, fixture!("retention")).unwrap();
        assert_eq!(
            dtypes(&long),
            [
                ("cohort_date".to_string(), DataType::Date),
                ("cohort_end".to_string(), DataType::Date),
                ("cohort_size".to_string(), DataType::Int64),
                ("period".to_string(), DataType::Int64),
                ("users".to_string(), DataType::Int64),
            ]
        );
        assert_eq!(long.height(), 18);
        assert_eq!(long.column("cohort_size").unwrap().null_count(), 18);
        assert_eq!(
            ints(&long, "period")[..9],
            [1, 2, 3, 4, 5, 6, 7, 14, 30].map(Some)
        );
        assert_eq!(ints(&long, "users")[7], Some(22));
        assert_eq!(date_strs(&long, "cohort_end")[0], "2024-03-01");

        let r = report("retention", &[("shape", "wide"), ("metrics", "d1,d7,d30")]);
        let wide = parse_reply(&r, fixture!("retention")).unwrap();
        assert_eq!(
            wide.get_column_names(),
            [
                "cohort_date",
                "cohort_end",
                "cohort_size",
                "d1",
                "d7",
                "d30"
            ]
        );
        assert_eq!(ints(&wide, "d1"), [Some(60), Some(55)]);
        assert_eq!(ints(&wide, "d7"), [Some(30), None]);
        // fixed schema when empty
        let empty = parse_reply(&r, fixture!("empty")).unwrap();
        assert_eq!(empty.height(), 0);
        assert_eq!(dtypes(&empty), dtypes(&wide));
        // a cohort size, when sent, is kept
        let df = parse_reply(
            &report("retention", &[("metrics", "d1")]),
            r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"NewUser":"100","D1RepeatUser":40}}}"#,
        )
        .unwrap();
        assert_eq!(ints(&df, "cohort_size"), [Some(100)]);
    }

    #[test]
    fn retention_percentages() {
        let r = report("retention", &[("metrics", "d1,d2,d7")]);
        // percentages with and without %, a whole one, a gap, a JSON number
        let text = r#"{"ret_code":60000,"ret_data":{
            "2024-03-02":{"D1RepeatUser":"35.2%","D2RepeatUser":"20","D7RepeatUser":"-"},
            "2024-03-01":{"D1RepeatUser":"40.5","D2RepeatUser":21.25,"D7RepeatUser":"9.0%"}}}"#;
        let long = parse_reply(&r, text).unwrap();
        assert_eq!(
            dtypes(&long)[3..],
            [
                ("period".to_string(), DataType::Int64),
                ("ratio".to_string(), DataType::Float64)
            ]
        );
        let ratio: Vec<Option<f64>> = long
            .column("ratio")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(
            ratio,
            [
                Some(40.5),
                Some(21.25),
                Some(9.0),
                Some(35.2),
                Some(20.0),
                None
            ]
        );
        let wide = parse_reply(
            &report("retention", &[("metrics", "d1,d2,d7"), ("shape", "wide")]),
            text,
        )
        .unwrap();
        assert_eq!(
            wide.get_column_names(),
            ["cohort_date", "cohort_end", "cohort_size", "d1", "d2", "d7"]
        );
        for c in ["d1", "d2", "d7"] {
            assert_eq!(wide.column(c).unwrap().dtype(), &DataType::Float64, "{c}");
        }
        // counts stay counts (Int64 users), also with separators and "12.0"
        let counts = parse_reply(
            &r,
            r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"D1RepeatUser":"1,204","D2RepeatUser":"12.0"}}}"#,
        )
        .unwrap();
        assert_eq!(ints(&counts, "users"), [Some(1204), Some(12), None]);
        // a stitched fetch: one window of percentages makes all ratios
        let mut rows = parse_rows(
            &r,
            r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"D1RepeatUser":"30"}}}"#,
        )
        .unwrap();
        rows.append(
            parse_rows(
                &r,
                r#"{"ret_code":60000,"ret_data":{"2024-03-02":{"D1RepeatUser":"30.5%"}}}"#,
            )
            .unwrap(),
        );
        let both = finish(&r, rows).unwrap();
        let ratio: Vec<Option<f64>> = both
            .column("ratio")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(ratio[0], Some(30.0));
        assert_eq!(ratio[3], Some(30.5));
        // not a number, or a whole number beyond i64: errors naming it
        for (bad, words) in [
            (r#""many""#, "\"many\""),
            (r#""99999999999999999999""#, "does not fit"),
            (r#"[35.2]"#, "a list"),
        ] {
            let e = parse_reply(
                &r,
                &format!(
                    r#"{{"ret_code":60000,"ret_data":{{"2024-03-01":{{"D1RepeatUser":{bad}}}}}}}"#
                ),
            )
            .unwrap_err();
            assert!(
                e.to_string().contains(words) && e.to_string().contains("D1RepeatUser"),
                "{e}"
            );
        }
    }

    #[test]
    fn empty_replies_keep_schema() {
        for (name, _, _, _) in super::super::endpoints::REPORTS {
            let r = report(name, &[]);
            for text in [
                fixture!("empty"),
                r#"{"ret_code":60000,"ret_msg":"ok","ret_data":""}"#,
                r#"{"ret_code":60000,"ret_msg":"ok","ret_data":null}"#,
                r#"{"ret_code":60000,"ret_msg":"ok","ret_data":{}}"#,
                r#"{"ret_code":60000,"ret_msg":"ok"}"#,
            ] {
                let df = parse_reply(&r, text).unwrap();
                assert_eq!(df.height(), 0, "{name}");
                let want: Vec<String> = schema(&r).into_iter().map(|(n, _)| n).collect();
                let got: Vec<String> = df
                    .get_column_names()
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                assert_eq!(got, want, "{name}");
            }
        }
    }

    #[test]
    fn all_missing_values_are_null() {
        let df = parse_reply(&report("user_basic", &[]), fixture!("all_missing")).unwrap();
        assert_eq!(df.height(), 1);
        for c in df.columns().iter().skip(1) {
            assert_eq!(c.null_count(), 1, "{}", c.name());
        }
    }

    #[test]
    fn errors() {
        let r = report("user_basic", &[]);
        let e = parse_reply(&r, fixture!("bad_sign")).unwrap_err();
        assert!(matches!(e, Error::Auth { code: 60002, .. }), "{e:?}");
        let msg = e.to_string();
        assert!(msg.contains("secret key"), "{msg}");
        assert!(!msg.contains("91762a3e"), "{msg}");
        let e = parse_reply(&r, r#"{"ret_code":60005,"ret_msg":"请求过于频繁"}"#).unwrap_err();
        assert!(matches!(e, Error::RateLimited { .. }) && e.retryable());
        let e =
            parse_reply(&r, r#"{"ret_code":60006,"ret_msg":"今日调用次数已达上限"}"#).unwrap_err();
        assert!(matches!(e, Error::QuotaExceeded { .. }));
        let e = parse_reply(&r, r#"{"ret_code":60500,"ret_msg":"系统繁忙"}"#).unwrap_err();
        assert!(matches!(e, Error::Server { .. }) && e.retryable());
        let e = parse_reply(&r, r#"{"ret_code":60001,"ret_msg":"param error"}"#).unwrap_err();
        assert_eq!((e.kind(), e.code()), ("api", Some(60001)));
        for bad in [
            "",
            "not json",
            r#"{"ret_msg":"no code"}"#,
            r#"{"ret_code":"x"}"#,
            r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"NewUser":"many"}}}"#,
            r#"{"ret_code":60000,"ret_data":{"yesterday":{"NewUser":"1"}}}"#,
            r#"{"ret_code":60000,"ret_data":"oops"}"#,
            r#"{"ret_code":60000,"ret_data":[1,2]}"#,
            r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"NewUser":"1"#,
        ] {
            let e = parse_reply(&r, bad).unwrap_err();
            assert!(matches!(e, Error::Malformed { .. }), "{bad}: {e:?}");
        }
        let e = parse_reply(
            &report("retention", &[]),
            r#"{"ret_code":60000,"ret_data":[{"D1RepeatUser":"1"}]}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("without a date"), "{e}");
    }

    #[test]
    fn numbers_as_numbers_or_strings() {
        let r = report("crash", &[]);
        let df = parse_reply(
            &r,
            r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"ErrorNum":12,"ErrorUser":"1,002"},"2024-03-02":{"ErrorNum":3.0,"ErrorUser":null}}}"#,
        )
        .unwrap();
        assert_eq!(ints(&df, "error_count"), [Some(12), Some(3)]);
        assert_eq!(ints(&df, "error_users"), [Some(1002), None]);
        // snake_case keys are accepted in place of MTA names
        let df = parse_reply(
            &r,
            r#"{"ret_code":60000,"ret_data":{"2024-03-01":{"error_count":"5"}}}"#,
        )
        .unwrap();
        assert_eq!(ints(&df, "error_count"), [Some(5)]);
    }
}
