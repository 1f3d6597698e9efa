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
        self.scalar(i64::try_from(v).map_or(Cell::Float(v as f64), Cell::Int))
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

/// `ErrorMsg` → `error_msg`, `crashId` → `crash_id`, `a b` → `a_b`.
pub fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut prev_lower = false;
    for c in key.trim().chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_alphanumeric() {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let t = out.trim_matches('_');
    if t.is_empty() {
        "field".to_string()
    } else {
        t.to_string()
    }
}

/// Rows of a flat table: an optional key column, labels, metrics, extras.
struct TableSink {
    t: TableBuilder,
    /// reply key → column (MTA names, snake_case names, label fields).
    fields: Vec<(String, usize)>,
    key_col: Option<usize>,
    rank_col: Option<usize>,
    consts: Vec<(usize, String)>,
    /// Keep unknown fields as String columns (error list).
    extras: bool,
    flat: bool,
}

impl TableSink {
    fn field(&self, key: &str) -> Option<usize> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, i)| *i)
    }
}

impl<'de> RowSink<'de> for TableSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        let i = match self.field(key) {
            Some(i) => i,
            None if self.extras => {
                let mut name = snake_case(key);
                while self.t.index(&name).is_some() {
                    name.push_str("_raw");
                }
                let i = self.t.add_column(&name, Kind::Str);
                self.fields.push((key.to_string(), i));
                i
            }
            None => return Ok(()),
        };
        self.t
            .set(i, &cell)
            .map_err(|e| format!("field {key:?}: {e}"))
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
/// emitted long (one row per requested period).
struct RetentionSink {
    t: TableBuilder,
    periods: Vec<i64>,
    date: Option<NaiveDate>,
    size: Option<i64>,
    cells: Vec<(i64, Option<i64>)>,
}

impl<'de> RowSink<'de> for RetentionSink {
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String> {
        match key {
            "Date" | "date" => {
                if self.date.is_none() {
                    self.date = match &cell {
                        Cell::Str(s) => crate::table::parse_date(s),
                        _ => None,
                    };
                    if self.date.is_none() {
                        return Err(format!("retention date {cell:?} is not a date"));
                    }
                }
            }
            "NewUser" | "cohort_size" => {
                self.size = cell.to_i64().map_err(|e| format!("field {key:?}: {e}"))?
            }
            k => {
                if let Some(p) = retention_day(k).filter(|p| self.periods.contains(p)) {
                    let v = cell.to_i64().map_err(|e| format!("field {k:?}: {e}"))?;
                    self.cells.push((p, v));
                }
            }
        }
        Ok(())
    }

    fn end_row(&mut self) -> Result<(), String> {
        let date = self.date.take().ok_or("retention row without a date")?;
        let size = self.size.take();
        for &p in &self.periods {
            let users = self
                .cells
                .iter()
                .find(|(q, _)| *q == p)
                .and_then(|(_, v)| *v);
            self.t.col(0).push_date(Some(date));
            self.t.col(1).push_date(Some(date));
            self.t.col(2).push_i64(size);
            self.t.col(3).push_i64(Some(p));
            self.t.col(4).push_i64(users);
            self.t.end_row();
        }
        self.cells.clear();
        Ok(())
    }
}

impl<'de> KeyedSink<'de> for RetentionSink {
    fn begin(&mut self, key: Option<&str>) -> Result<(), String> {
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

/// Output schema of a report (fixed per request; `error_list` adds one
/// String column per extra field its rows carry).
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
    s
}

/// Parse one reply into the report's rows (long form for retention).
pub fn parse_rows(report: &Report, text: &str) -> Result<TableBuilder> {
    let raw = open(report, text)?;
    if report.kind == ReportKind::Retention {
        let mut s = RetentionSink {
            t: TableBuilder::new(RETENTION_LONG),
            periods: report.periods(),
            date: None,
            size: None,
            cells: vec![],
        };
        if let Some(raw) = raw {
            run(report, raw, &mut s)?;
        }
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
    let mut extras = false;
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
            extras = true;
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
        extras,
        flat,
    };
    if let Some(raw) = raw {
        run(report, raw, &mut s)?;
    }
    Ok(s.t)
}

fn run<'de, S: KeyedSink<'de>>(report: &Report, raw: &'de RawValue, sink: &mut S) -> Result<()> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    Payload(sink)
        .deserialize(&mut de)
        .map_err(|e| bad(report, e))
}

/// Date values of column `col` (null dates skipped).
pub fn dates(t: &TableBuilder, col: usize) -> Vec<NaiveDate> {
    match t.col_ref(col) {
        Column::Date(v) => v
            .iter()
            .take(t.n_rows())
            .flatten()
            .map(|d| days_to_date(*d))
            .collect(),
        _ => vec![],
    }
}

/// Rows stably sorted by the Date column `col` (nulls last).
pub fn sort_by_date(t: TableBuilder, col: usize) -> TableBuilder {
    let Column::Date(v) = t.col_ref(col) else {
        return t;
    };
    let n = t.n_rows();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by_key(|&i| (v[i].is_none(), v[i]));
    if idx.iter().enumerate().all(|(a, b)| a == *b) {
        return t;
    }
    let cols = t
        .names()
        .iter()
        .enumerate()
        .map(|(j, name)| (name.clone(), t.col_ref(j).take(&idx)))
        .collect();
    TableBuilder::from_columns(cols, n)
}

/// The final frame of a report from its (stitched) rows.
pub fn finish(report: &Report, rows: TableBuilder) -> Result<polars::prelude::DataFrame> {
    let polars = |e: polars::error::PolarsError| Error::Internal(format!("building frame: {e}"));
    let rows = if report.kind.date_keyed() || report.kind == ReportKind::Realtime {
        sort_by_date(rows, 0)
    } else {
        rows
    };
    if report.kind == ReportKind::Retention && report.shape == Shape::Wide {
        let mut wide = retention_wide(&rows, "d");
        for (name, kind) in schema(report) {
            if wide.index(&name).is_none() {
                wide.add_column(&name, kind);
            }
        }
        return wide.finish().map_err(polars);
    }
    rows.finish().map_err(polars)
}

/// Parse one saved reply into the report's frame.
pub fn parse_reply(report: &Report, text: &str) -> Result<polars::prelude::DataFrame> {
    let rows = parse_rows(report, text)?;
    finish(report, rows)
}
