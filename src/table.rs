//! Typed column builders and loose value parsing.
//!
//! Providers send numbers as JSON numbers or as strings (`"1,234"`,
//! `"12.5%"`), and mark missing data with `--`, `-` or `""`. [`Cell`] is
//! what one JSON scalar deserialises to (without building a
//! `serde_json::Value`), and [`Column`] turns cells into a Polars column of
//! an exact dtype.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::*;
use polars_arrow::bitmap::Bitmap;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// The dtype a column is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Int,
    Float,
    Date,
    Datetime,
}

impl Kind {
    pub fn dtype(self) -> DataType {
        match self {
            Kind::Str => DataType::String,
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Date => DataType::Date,
            Kind::Datetime => DataType::Datetime(TimeUnit::Microseconds, None),
        }
    }
}

/// One scalar of a reply, borrowed from the input where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    /// A JSON integer above `i64::MAX` (kept exact for text columns).
    UInt(u64),
    Float(f64),
    Bool(bool),
    Str(std::borrow::Cow<'a, str>),
    /// A list or object where a scalar was due (skipped while reading; an
    /// error when it lands in a column).
    Nested(Nested),
}

/// What kind of container a [`Cell::Nested`] was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nested {
    List,
    Object,
}

/// True for the "no data" markers providers use.
pub fn is_missing_marker(s: &str) -> bool {
    let t = s.trim();
    t.is_empty() || t == "--" || t == "-" || t == "—" || t.eq_ignore_ascii_case("null")
}

/// A reply's text without a leading UTF-8 byte order mark (some gateways
/// and saved files carry one; JSON parsers reject it).
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

impl Cell<'_> {
    /// The cell from a JSON unsigned integer.
    pub fn from_u64(v: u64) -> Cell<'static> {
        i64::try_from(v).map_or(Cell::UInt(v), Cell::Int)
    }

    /// Integer value (see [`parse_int_str`] for text). `Err` describes the
    /// offending value; a value that does not fit `i64` is an error, never
    /// clamped.
    pub fn to_i64(&self) -> Result<Option<i64>, String> {
        match self {
            Cell::Null => Ok(None),
            Cell::Int(v) => Ok(Some(*v)),
            Cell::UInt(v) => Err(too_big(&v.to_string())),
            Cell::Float(f) => float_to_i64(*f),
            Cell::Bool(b) => Err(format!("expected an integer, got {b}")),
            Cell::Str(s) => parse_int_str(s),
            Cell::Nested(n) => Err(format!("expected an integer, got {}", n.describe())),
        }
    }

    /// Float value; `"12.5%"` gives `12.5` (the unit stays percent, as the
    /// provider documents it).
    pub fn to_f64(&self) -> Result<Option<f64>, String> {
        match self {
            Cell::Null => Ok(None),
            Cell::Int(v) => Ok(Some(*v as f64)),
            Cell::UInt(v) => Ok(Some(*v as f64)),
            Cell::Float(f) => Ok(Some(*f)),
            Cell::Bool(b) => Err(format!("expected a number, got {b}")),
            Cell::Str(s) => parse_float_str(s),
            Cell::Nested(n) => Err(format!("expected a number, got {}", n.describe())),
        }
    }

    /// Text value; numbers are rendered as text (ids sometimes arrive as
    /// numbers). `None` for null and for a list or object (see
    /// [`Cell::to_text`] for the strict form).
    pub fn to_string_opt(&self) -> Option<String> {
        self.to_text().ok().flatten()
    }

    /// Text value of a label or name field: numbers and booleans as text,
    /// null as `None`, a list or object an error.
    pub fn to_text(&self) -> Result<Option<String>, String> {
        Ok(match self {
            Cell::Null => None,
            Cell::Int(v) => Some(v.to_string()),
            Cell::UInt(v) => Some(v.to_string()),
            Cell::Float(v) => Some(v.to_string()),
            Cell::Bool(v) => Some(v.to_string()),
            Cell::Str(s) => Some(s.to_string()),
            Cell::Nested(n) => return Err(format!("expected text, got {}", n.describe())),
        })
    }
}

impl Cell<'_> {
    /// The value as error messages show it (text quoted).
    pub fn describe(&self) -> String {
        match self {
            Cell::Null => "null".into(),
            Cell::Int(v) => v.to_string(),
            Cell::UInt(v) => v.to_string(),
            Cell::Float(v) => v.to_string(),
            Cell::Bool(v) => v.to_string(),
            Cell::Str(s) => format!("{s:?}"),
            Cell::Nested(n) => n.describe().into(),
        }
    }
}

impl Nested {
    fn describe(self) -> &'static str {
        match self {
            Nested::List => "a list",
            Nested::Object => "an object",
        }
    }
}

/// The end of the message of an integer that does not fit `i64`.
pub const TOO_BIG: &str = "does not fit a 64-bit integer";

fn too_big(text: &str) -> String {
    format!("{text} {TOO_BIG}")
}

/// A JSON float in an integer column: integral and in range, else an error.
fn float_to_i64(f: f64) -> Result<Option<i64>, String> {
    // 2^63 is exactly representable; every integral f64 below it in
    // magnitude converts exactly.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !f.is_finite() || f.fract() != 0.0 {
        Err(format!("expected an integer, got {f}"))
    } else if !(-LIMIT..LIMIT).contains(&f) {
        Err(too_big(&f.to_string()))
    } else {
        Ok(Some(f as i64))
    }
}

/// A number as a provider writes it, checked against one grammar:
/// `[+-] digits [. digits] [e[+-]digits] [%]`, where the integer digits may
/// carry thousands separators (`1,234,567`: one to three digits, then
/// groups of exactly three).
#[derive(Debug)]
struct Written<'a> {
    /// The whole number (sign to exponent), without `%` and spaces.
    text: &'a str,
    neg: bool,
    /// Integer digits, separators included.
    int: &'a str,
    frac: &'a str,
    exp: i64,
}

/// The number in provider text, `Ok(None)` for a "no data" marker.
fn scan(s: &str) -> Result<Option<Written<'_>>, String> {
    let t = s.trim();
    if is_missing_marker(t) {
        return Ok(None);
    }
    let not_a_number = || format!("expected a number, got {s:?}");
    let t = t.strip_suffix('%').map_or(t, str::trim_end);
    let text = t;
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => {
            let e = &t[i + 1..];
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(not_a_number());
            }
            // Exponents beyond any i64 or f64 saturate: the result is then
            // out of range (or zero) either way.
            let exp = e.parse::<i64>().unwrap_or(if e.starts_with('-') {
                -100_000
            } else {
                100_000
            });
            (&t[..i], exp.clamp(-100_000, 100_000))
        }
        None => (t, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
    let grouped = |x: &str| {
        let mut groups = x.split(',');
        let first = groups.next().unwrap_or("");
        (1..=3).contains(&first.len()) && digits(first) && groups.all(|g| g.len() == 3 && digits(g))
    };
    let int_ok = if int.contains(',') {
        grouped(int)
    } else {
        digits(int)
    };
    if !int_ok || !digits(frac) || (int.is_empty() && frac.is_empty()) {
        return Err(not_a_number());
    }
    Ok(Some(Written {
        text,
        neg,
        int,
        frac,
        exp,
    }))
}

/// Parse an integer from provider text: `"1,234"`, `"12.0"`, `"1e3"`,
/// `"12%"`, `"--"` (null). A fraction (`"12.5"`) or a value beyond `i64`
/// is an error, never rounded or clamped.
pub fn parse_int_str(s: &str) -> Result<Option<i64>, String> {
    // fast path: plain digits that cannot overflow (most values)
    let b = s.as_bytes();
    if !b.is_empty() && b.len() <= 18 && b.iter().all(u8::is_ascii_digit) {
        return Ok(Some(
            b.iter().fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')),
        ));
    }
    let Some(w) = scan(s)? else {
        return Ok(None);
    };
    // value = digits × 10^scale, computed exactly on the decimal digits
    // (without allocating: this is the path of every "1,234")
    let int_digits = w.int.len() - w.int.bytes().filter(|b| *b == b',').count();
    let total = int_digits + w.frac.len();
    let scale = w.exp - w.frac.len() as i64;
    let keep = if scale < 0 {
        total.saturating_sub(usize::try_from(scale.unsigned_abs()).unwrap_or(usize::MAX))
    } else {
        total
    };
    let digits = w
        .int
        .bytes()
        .filter(|b| *b != b',')
        .chain(w.frac.bytes())
        .map(|b| b - b'0');
    let mut v: i128 = 0;
    let mut significant = 0usize;
    for (i, d) in digits.enumerate() {
        if i >= keep {
            if d != 0 {
                return Err(format!("expected an integer, got {s:?}"));
            }
            continue;
        }
        if v != 0 || d != 0 {
            significant += 1;
            if significant > 19 {
                return Err(too_big(&format!("{s:?}")));
            }
        }
        v = v * 10 + i128::from(d);
    }
    if v != 0 && scale > 0 {
        if significant as i64 + scale > 19 {
            return Err(too_big(&format!("{s:?}")));
        }
        v *= 10i128.pow(scale as u32);
    }
    if w.neg {
        v = -v;
    }
    i64::try_from(v)
        .map(Some)
        .map_err(|_| too_big(&format!("{s:?}")))
}

/// Parse a float from provider text (`"12.5%"`, `"1,234.5"`, `"-"`).
pub fn parse_float_str(s: &str) -> Result<Option<f64>, String> {
    let Some(w) = scan(s)? else {
        return Ok(None);
    };
    let parsed = if w.int.contains(',') {
        without_separators(&w).parse::<f64>()
    } else {
        w.text.parse::<f64>()
    };
    match parsed {
        Ok(f) if f.is_finite() => Ok(Some(f)),
        Ok(_) => Err(format!("{s:?} is beyond the range of a 64-bit float")),
        Err(_) => Err(format!("expected a number, got {s:?}")),
    }
}

/// The number of `w` without thousands separators.
fn without_separators(w: &Written) -> String {
    let mut text = String::with_capacity(w.int.len() + w.frac.len() + 24);
    if w.neg {
        text.push('-');
    }
    text.extend(w.int.chars().filter(|c| *c != ','));
    if text.is_empty() || text == "-" {
        text.push('0');
    }
    if !w.frac.is_empty() {
        text.push('.');
        text.push_str(w.frac);
    }
    if w.exp != 0 {
        text.push('e');
        text.push_str(&w.exp.to_string());
    }
    text
}

/// Days since 1970-01-01 (Polars' Date representation).
pub fn date_to_days(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days() as i32
}

/// Microseconds since the epoch (Polars' Datetime(us) representation).
pub fn datetime_to_us(dt: NaiveDateTime) -> i64 {
    dt.and_utc().timestamp_micros()
}

/// Parse `YYYY-MM-DD`, `YYYYMMDD` or `YYYY/MM/DD`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    // Hand-rolled: chrono's format parser was a visible share of the
    // parse time of date-keyed replies.
    let b = s.trim().as_bytes();
    let (y, m, d) = match b.len() {
        8 => (&b[..4], &b[4..6], &b[6..8]),
        10 if (b[4] == b'-' || b[4] == b'/') && b[7] == b[4] => (&b[..4], &b[5..7], &b[8..10]),
        _ => return None,
    };
    fn num(digits: &[u8]) -> Option<u32> {
        digits.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    }
    NaiveDate::from_ymd_opt(num(y)? as i32, num(m)?, num(d)?)
}

/// Parse a date-time: `YYYY-MM-DD HH:MM[:SS]` (also with `/` or no
/// separators in the date, `T` between date and time, fractional seconds),
/// or a date alone (midnight).
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let t = s.trim();
    let (date, time) = match t.find([' ', 'T']) {
        Some(i) => (&t[..i], t[i + 1..].trim()),
        None => (t, ""),
    };
    let d = parse_date(date)?;
    if time.is_empty() {
        return Some(d.and_time(chrono::NaiveTime::MIN));
    }
    let time = chrono::NaiveTime::parse_from_str(time, "%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveTime::parse_from_str(time, "%H:%M"))
        .ok()?;
    Some(d.and_time(time))
}

/// A date-time from a Unix timestamp in seconds (10 digits or fewer) or
/// milliseconds (13 digits), as some APIs send them.
fn epoch_datetime(v: i64) -> Option<NaiveDateTime> {
    let dt = if v.unsigned_abs() >= 100_000_000_000 {
        chrono::DateTime::from_timestamp_millis(v)
    } else {
        chrono::DateTime::from_timestamp(v, 0)
    };
    dt.map(|d| d.naive_utc())
}

impl<'de: 'a, 'a> de::Deserialize<'de> for Cell<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CellVisitor(std::marker::PhantomData))
    }
}

struct CellVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for CellVisitor<'a> {
    type Value = Cell<'a>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, a string or null")
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Cell::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Cell::from_u64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Cell::Float(v))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Cell::Bool(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cell::Str(std::borrow::Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cell::Str(std::borrow::Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cell::Str(std::borrow::Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Cell::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Cell::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(CellVisitor(std::marker::PhantomData))
    }
    // Containers where a scalar is due are skipped, so that an odd extra
    // field never breaks parsing; a column refuses them (a known field
    // holding a list is an error, not a null).
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(Cell::Nested(Nested::List))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Cell::Nested(Nested::Object))
    }
}

/// Most values (or text bytes) one reservation asks for.
const MAX_RESERVE: usize = 1 << 28;

/// Values of a nullable fixed-width column: plain values plus a validity
/// flag each (about half the size of `Vec<Option<T>>`, and handed to Arrow
/// without a copy).
#[derive(Debug, Clone, Default)]
pub struct Vals<T> {
    data: Vec<T>,
    valid: Vec<bool>,
}

impl<T: Copy + Default> Vals<T> {
    pub fn with_capacity(n: usize) -> Self {
        Vals {
            data: Vec::with_capacity(n),
            valid: Vec::with_capacity(n),
        }
    }

    /// Values from options.
    pub fn from_options(v: impl IntoIterator<Item = Option<T>>) -> Self {
        let mut out = Vals::with_capacity(0);
        for x in v {
            out.push(x);
        }
        out
    }

    #[inline]
    pub fn push(&mut self, x: Option<T>) {
        self.data.push(x.unwrap_or_default());
        self.valid.push(x.is_some());
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<T> {
        if self.valid[i] {
            Some(self.data[i])
        } else {
            None
        }
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The values as options.
    pub fn iter(&self) -> impl Iterator<Item = Option<T>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    fn truncate(&mut self, n: usize) {
        self.data.truncate(n);
        self.valid.truncate(n);
    }

    /// Room for `n` more values, if the allocator has it (never aborts).
    fn try_reserve(&mut self, n: usize) {
        let _ = self.data.try_reserve_exact(n);
        let _ = self.valid.try_reserve_exact(n);
    }

    fn extend(&mut self, other: Vals<T>) {
        self.data.extend(other.data);
        self.valid.extend(other.valid);
    }

    fn take(&self, idx: &[usize]) -> Vals<T> {
        Vals {
            data: idx.iter().map(|&i| self.data[i]).collect(),
            valid: idx.iter().map(|&i| self.valid[i]).collect(),
        }
    }

    fn validity(&self) -> Option<Bitmap> {
        if self.valid.iter().all(|v| *v) {
            None
        } else {
            Some(self.valid.iter().copied().collect())
        }
    }
}

/// Values of a nullable text column, packed in one buffer.
#[derive(Debug, Clone, Default)]
pub struct Strs {
    buf: String,
    ends: Vec<usize>,
    valid: Vec<bool>,
}

impl Strs {
    pub fn with_capacity(n: usize) -> Self {
        Strs {
            buf: String::new(),
            ends: Vec::with_capacity(n),
            valid: Vec::with_capacity(n),
        }
    }

    #[inline]
    pub fn push(&mut self, s: Option<&str>) {
        if let Some(s) = s {
            self.buf.push_str(s);
        }
        self.ends.push(self.buf.len());
        self.valid.push(s.is_some());
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&str> {
        if !self.valid[i] {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.buf[start..self.ends[i]])
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    fn truncate(&mut self, n: usize) {
        if n < self.len() {
            let end = if n == 0 { 0 } else { self.ends[n - 1] };
            self.buf.truncate(end);
            self.ends.truncate(n);
            self.valid.truncate(n);
        }
    }

    /// Room for `n` more values of `bytes` bytes in all, if the allocator
    /// has it (never aborts).
    fn try_reserve(&mut self, n: usize, bytes: usize) {
        let _ = self.buf.try_reserve_exact(bytes);
        let _ = self.ends.try_reserve_exact(n);
        let _ = self.valid.try_reserve_exact(n);
    }

    fn extend(&mut self, other: Strs) {
        for s in other.iter() {
            self.push(s);
        }
    }

    fn take(&self, idx: &[usize]) -> Strs {
        let mut out = Strs::with_capacity(idx.len());
        for &i in idx {
            out.push(self.get(i));
        }
        out
    }
}

/// A growable, typed column.
#[derive(Debug, Clone)]
pub enum Column {
    Str(Strs),
    Int(Vals<i64>),
    Float(Vals<f64>),
    /// Days since the epoch.
    Date(Vals<i32>),
    /// Microseconds since the epoch.
    Datetime(Vals<i64>),
}

impl Column {
    pub fn new(kind: Kind) -> Self {
        Self::with_capacity(kind, 0)
    }

    pub fn with_capacity(kind: Kind, n: usize) -> Self {
        match kind {
            Kind::Str => Column::Str(Strs::with_capacity(n)),
            Kind::Int => Column::Int(Vals::with_capacity(n)),
            Kind::Float => Column::Float(Vals::with_capacity(n)),
            Kind::Date => Column::Date(Vals::with_capacity(n)),
            Kind::Datetime => Column::Datetime(Vals::with_capacity(n)),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Column::Str(_) => Kind::Str,
            Column::Int(_) => Kind::Int,
            Column::Float(_) => Kind::Float,
            Column::Date(_) => Kind::Date,
            Column::Datetime(_) => Kind::Datetime,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Column::Str(v) => v.len(),
            Column::Int(v) | Column::Datetime(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Date(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn push_null(&mut self) {
        match self {
            Column::Str(v) => v.push(None),
            Column::Int(v) | Column::Datetime(v) => v.push(None),
            Column::Float(v) => v.push(None),
            Column::Date(v) => v.push(None),
        }
    }

    /// Push a parsed cell, converting it to this column's type.
    pub fn push_cell(&mut self, cell: &Cell) -> Result<(), String> {
        match self {
            Column::Str(v) => match cell {
                Cell::Str(s) if is_missing_marker(s) => v.push(None),
                Cell::Str(s) => v.push(Some(s)),
                Cell::Null => v.push(None),
                c => v.push(c.to_text()?.as_deref()),
            },
            Column::Int(v) => v.push(cell.to_i64()?),
            Column::Float(v) => v.push(cell.to_f64()?),
            Column::Date(v) => v.push(match cell {
                Cell::Null => None,
                Cell::Str(s) if is_missing_marker(s) => None,
                Cell::Str(s) => Some(date_to_days(
                    parse_date(s).ok_or_else(|| format!("expected a date, got {s:?}"))?,
                )),
                Cell::Int(i) => Some(date_to_days(
                    parse_date(&i.to_string())
                        .ok_or_else(|| format!("expected a date, got {i}"))?,
                )),
                other => return Err(format!("expected a date, got {}", other.describe())),
            }),
            Column::Datetime(v) => v.push(match cell {
                Cell::Null => None,
                Cell::Str(s) if is_missing_marker(s) => None,
                Cell::Str(s) => {
                    Some(datetime_to_us(parse_datetime(s).ok_or_else(|| {
                        format!("expected a date and time, got {s:?}")
                    })?))
                }
                Cell::Int(i) => {
                    Some(datetime_to_us(epoch_datetime(*i).ok_or_else(|| {
                        format!("expected a date and time, got {i}")
                    })?))
                }
                other => {
                    return Err(format!(
                        "expected a date and time, got {}",
                        other.describe()
                    ))
                }
            }),
        }
        Ok(())
    }

    pub fn push_str(&mut self, s: Option<&str>) {
        if let Column::Str(v) = self {
            v.push(s);
        } else {
            self.push_null();
        }
    }

    pub fn push_i64(&mut self, x: Option<i64>) {
        match self {
            Column::Int(v) | Column::Datetime(v) => v.push(x),
            Column::Float(v) => v.push(x.map(|i| i as f64)),
            _ => self.push_null(),
        }
    }

    pub fn push_f64(&mut self, x: Option<f64>) {
        if let Column::Float(v) = self {
            v.push(x);
        } else {
            self.push_null();
        }
    }

    pub fn push_date(&mut self, d: Option<NaiveDate>) {
        self.push_days(d.map(date_to_days));
    }

    /// Push a date given as days since the epoch.
    pub fn push_days(&mut self, d: Option<i32>) {
        if let Column::Date(v) = self {
            v.push(d);
        } else {
            self.push_null();
        }
    }

    pub fn push_datetime(&mut self, d: Option<NaiveDateTime>) {
        if let Column::Datetime(v) = self {
            v.push(d.map(datetime_to_us));
        } else {
            self.push_null();
        }
    }

    /// Integer value of row `i` (Int and Datetime columns).
    pub fn get_i64(&self, i: usize) -> Option<i64> {
        match self {
            Column::Int(v) | Column::Datetime(v) => v.get(i),
            _ => None,
        }
    }

    /// Float value of row `i` (Float columns).
    pub fn get_f64(&self, i: usize) -> Option<f64> {
        match self {
            Column::Float(v) => v.get(i),
            _ => None,
        }
    }

    /// Days since the epoch of row `i` (Date columns).
    pub fn get_days(&self, i: usize) -> Option<i32> {
        match self {
            Column::Date(v) => v.get(i),
            _ => None,
        }
    }

    /// Text of row `i` (Str columns).
    pub fn get_str(&self, i: usize) -> Option<&str> {
        match self {
            Column::Str(v) => v.get(i),
            _ => None,
        }
    }

    pub fn truncate(&mut self, n: usize) {
        match self {
            Column::Str(v) => v.truncate(n),
            Column::Int(v) | Column::Datetime(v) => v.truncate(n),
            Column::Float(v) => v.truncate(n),
            Column::Date(v) => v.truncate(n),
        }
    }

    /// Room for `factor` times the values (and text) held now, if the
    /// allocator has it; a failed reservation is ignored.
    pub fn reserve_scaled(&mut self, factor: f64) {
        let more = |n: usize| ((n as f64 * (factor - 1.0)).ceil() as usize).min(MAX_RESERVE);
        match self {
            Column::Str(v) => {
                let (n, bytes) = (more(v.len()), more(v.buf.len()));
                v.try_reserve(n, bytes)
            }
            Column::Int(v) | Column::Datetime(v) => v.try_reserve(more(v.len())),
            Column::Float(v) => v.try_reserve(more(v.len())),
            Column::Date(v) => v.try_reserve(more(v.len())),
        }
    }

    /// Push nulls until the column has `n` rows.
    pub fn pad_to(&mut self, n: usize) {
        while self.len() < n {
            self.push_null();
        }
    }

    /// Append another column of the same kind (nulls for another kind).
    pub fn extend(&mut self, other: Column) {
        match (self, other) {
            (Column::Str(a), Column::Str(b)) => a.extend(b),
            (Column::Int(a), Column::Int(b)) => a.extend(b),
            (Column::Float(a), Column::Float(b)) => a.extend(b),
            (Column::Date(a), Column::Date(b)) => a.extend(b),
            (Column::Datetime(a), Column::Datetime(b)) => a.extend(b),
            (a, b) => {
                let n = a.len() + b.len();
                a.pad_to(n);
            }
        }
    }

    /// Gather rows by index (used to repeat parent values beside children).
    pub fn take(&self, idx: &[usize]) -> Column {
        match self {
            Column::Str(v) => Column::Str(v.take(idx)),
            Column::Int(v) => Column::Int(v.take(idx)),
            Column::Float(v) => Column::Float(v.take(idx)),
            Column::Date(v) => Column::Date(v.take(idx)),
            Column::Datetime(v) => Column::Datetime(v.take(idx)),
        }
    }

    /// Push row `i` of `other` (a column of the same kind; else null).
    pub fn push_from(&mut self, other: &Column, i: usize) {
        match (self, other) {
            (Column::Str(a), Column::Str(b)) => a.push(b.get(i)),
            (Column::Int(a), Column::Int(b)) => a.push(b.get(i)),
            (Column::Float(a), Column::Float(b)) => a.push(b.get(i)),
            (Column::Date(a), Column::Date(b)) => a.push(b.get(i)),
            (Column::Datetime(a), Column::Datetime(b)) => a.push(b.get(i)),
            (a, _) => a.push_null(),
        }
    }

    /// Add `x` to every value of an integer column.
    pub fn add_i64(&mut self, x: i64) {
        if let Column::Int(v) = self {
            for (y, ok) in v.data.iter_mut().zip(&v.valid) {
                if *ok {
                    *y += x;
                }
            }
        }
    }

    /// Order of rows `a` and `b` (nulls first).
    pub fn cmp_rows(&self, a: usize, b: usize) -> std::cmp::Ordering {
        match self {
            Column::Str(v) => v.get(a).cmp(&v.get(b)),
            Column::Int(v) | Column::Datetime(v) => v.get(a).cmp(&v.get(b)),
            Column::Date(v) => v.get(a).cmp(&v.get(b)),
            Column::Float(v) => v
                .get(a)
                .partial_cmp(&v.get(b))
                .unwrap_or(std::cmp::Ordering::Equal),
        }
    }

    pub fn into_series(self, name: &str) -> Series {
        let name = PlSmallStr::from(name);
        match self {
            Column::Str(v) => StringChunked::from_iter_options(name, v.iter()).into_series(),
            Column::Int(v) => {
                let validity = v.validity();
                Int64Chunked::from_vec_validity(name, v.data, validity).into_series()
            }
            Column::Float(v) => {
                let validity = v.validity();
                Float64Chunked::from_vec_validity(name, v.data, validity).into_series()
            }
            Column::Date(v) => {
                let validity = v.validity();
                Int32Chunked::from_vec_validity(name, v.data, validity)
                    .into_date()
                    .into_series()
            }
            Column::Datetime(v) => {
                let validity = v.validity();
                Int64Chunked::from_vec_validity(name, v.data, validity)
                    .into_datetime(TimeUnit::Microseconds, None)
                    .into_series()
            }
        }
    }
}

/// An ordered set of named, typed columns being filled row by row.
#[derive(Debug, Clone)]
pub struct TableBuilder {
    names: Vec<String>,
    cols: Vec<Column>,
    rows: usize,
}

impl TableBuilder {
    pub fn new<S: AsRef<str>>(spec: &[(S, Kind)]) -> Self {
        TableBuilder {
            names: spec.iter().map(|(n, _)| n.as_ref().to_string()).collect(),
            cols: spec.iter().map(|(_, k)| Column::new(*k)).collect(),
            rows: 0,
        }
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn col(&mut self, i: usize) -> &mut Column {
        &mut self.cols[i]
    }

    pub fn col_ref(&self, i: usize) -> &Column {
        &self.cols[i]
    }

    /// A builder holding complete columns of `rows` rows each.
    pub fn from_columns(cols: Vec<(String, Column)>, rows: usize) -> Self {
        let (names, mut cols): (Vec<String>, Vec<Column>) = cols.into_iter().unzip();
        for c in &mut cols {
            c.truncate(rows);
            c.pad_to(rows);
        }
        TableBuilder { names, cols, rows }
    }

    /// Sort the completed rows by the given columns (stable).
    pub fn sort_by(&mut self, keys: &[usize]) {
        self.discard_row();
        let order = |a: usize, b: usize| {
            keys.iter()
                .map(|&k| self.cols[k].cmp_rows(a, b))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        };
        if (1..self.rows).all(|i| order(i - 1, i).is_le()) {
            return; // already in order (the common case)
        }
        let mut idx: Vec<usize> = (0..self.rows).collect();
        idx.sort_by(|&a, &b| {
            keys.iter()
                .map(|&k| self.cols[k].cmp_rows(a, b))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        if idx.windows(2).all(|w| w[0] < w[1]) {
            return;
        }
        for c in &mut self.cols {
            *c = c.take(&idx);
        }
    }

    /// Room for `factor` times the rows held now (e.g. when a first page
    /// tells how many rows follow), so that appending them copies nothing
    /// and leaves no doubled capacity behind. Best effort: capped, and a
    /// reservation the allocator refuses is skipped.
    pub fn reserve_scaled(&mut self, factor: f64) {
        if !(factor > 1.0 && factor.is_finite()) {
            return;
        }
        for c in &mut self.cols {
            c.reserve_scaled(factor);
        }
    }

    /// Remove every row (keeping the columns and their capacity).
    pub fn clear(&mut self) {
        for c in &mut self.cols {
            c.truncate(0);
        }
        self.rows = 0;
    }

    /// Rows completed so far.
    pub fn n_rows(&self) -> usize {
        self.rows
    }

    /// Set column `i` of the current row from a cell. A second value for
    /// the same column within one row (a duplicated JSON key) is ignored.
    pub fn set(&mut self, i: usize, cell: &Cell) -> Result<(), String> {
        let col = &mut self.cols[i];
        if col.len() > self.rows {
            return Ok(());
        }
        col.pad_to(self.rows);
        col.push_cell(cell)
    }

    /// True when column `i` already has a value in the current row.
    pub fn is_set(&self, i: usize) -> bool {
        self.cols[i].len() > self.rows
    }

    /// Finish the current row: unset columns become null.
    pub fn end_row(&mut self) {
        self.rows += 1;
        let n = self.rows;
        for c in &mut self.cols {
            c.pad_to(n);
        }
    }

    /// Drop a partly filled current row (on a parse error).
    pub fn discard_row(&mut self) {
        let n = self.rows;
        for c in &mut self.cols {
            c.truncate(n);
        }
    }

    /// Add a column (filled with nulls for existing rows).
    pub fn add_column(&mut self, name: &str, kind: Kind) -> usize {
        let mut c = Column::new(kind);
        c.pad_to(self.n_rows());
        self.names.push(name.to_string());
        self.cols.push(c);
        self.cols.len() - 1
    }

    /// Append the rows of another builder (columns matched by name; columns
    /// only one side has are null on the other side's rows).
    pub fn append(&mut self, mut other: TableBuilder) {
        other.discard_row();
        for (name, col) in other.names.into_iter().zip(other.cols) {
            let i = match self.index(&name) {
                Some(i) => i,
                None => self.add_column(&name, col.kind()),
            };
            self.cols[i].pad_to(self.rows);
            self.cols[i].extend(col);
        }
        self.rows += other.rows;
        let n = self.rows;
        for c in &mut self.cols {
            c.pad_to(n);
        }
    }

    pub fn finish(mut self) -> PolarsResult<DataFrame> {
        self.discard_row();
        let cols: Vec<polars::prelude::Column> = self
            .names
            .iter()
            .zip(self.cols)
            .map(|(n, c)| c.into_series(n).into())
            .collect();
        DataFrame::new_infer_height(cols)
    }
}

/// Build an empty frame with the given schema.
pub fn empty_frame<S: AsRef<str>>(spec: &[(S, Kind)]) -> DataFrame {
    TableBuilder::new(spec)
        .finish()
        .expect("an empty frame always builds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_numbers() {
        assert_eq!(parse_int_str("1,234"), Ok(Some(1234)));
        assert_eq!(parse_int_str("1,234,567"), Ok(Some(1_234_567)));
        assert_eq!(parse_int_str("-1,234"), Ok(Some(-1234)));
        assert_eq!(parse_int_str("--"), Ok(None));
        assert_eq!(parse_int_str(""), Ok(None));
        assert_eq!(parse_int_str("-"), Ok(None));
        assert_eq!(parse_int_str("-5"), Ok(Some(-5)));
        assert_eq!(parse_int_str("+5"), Ok(Some(5)));
        assert_eq!(parse_int_str("3.0"), Ok(Some(3)));
        assert_eq!(parse_int_str("12.000"), Ok(Some(12)));
        assert_eq!(parse_int_str("1,234.0"), Ok(Some(1234)));
        assert_eq!(parse_int_str("12%"), Ok(Some(12)));
        assert_eq!(parse_int_str("1e3"), Ok(Some(1000)));
        assert_eq!(parse_int_str("1.5E2"), Ok(Some(150)));
        assert_eq!(parse_int_str("0.0"), Ok(Some(0)));
        assert_eq!(parse_int_str("-0"), Ok(Some(0)));
        assert_eq!(parse_int_str("0e999999999999"), Ok(Some(0)));
        assert_eq!(
            parse_int_str("9223372036854775807"),
            Ok(Some(i64::MAX)),
            "the largest i64"
        );
        assert_eq!(parse_int_str("-9223372036854775808"), Ok(Some(i64::MIN)));
        assert_eq!(
            parse_int_str("9,223,372,036,854,775,807"),
            Ok(Some(i64::MAX))
        );
        for bad in [
            "abc", "12.5", "1,2,3", "12,34", "1,2345", ",123", "123,", "1,,234", "1.2.3", "1e",
            "e3", ".", "-", "1 234", "NaN", "inf", "0x10", "1e-1", "12.5%", "%", "1_000",
        ] {
            if bad == "-" {
                continue; // a missing marker
            }
            assert!(parse_int_str(bad).is_err(), "{bad}");
        }
        // never clamped: a value beyond i64 is an error naming it
        for big in [
            "9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "1e19",
            "9,223,372,036,854,775,808",
            "1e999999999999",
        ] {
            let e = parse_int_str(big).unwrap_err();
            assert!(e.contains(big) && e.contains("does not fit"), "{e}");
        }
        assert_eq!(parse_float_str("12.5%"), Ok(Some(12.5)));
        assert_eq!(parse_float_str("12.5 %"), Ok(Some(12.5)));
        assert_eq!(parse_float_str("1,234.5"), Ok(Some(1234.5)));
        assert_eq!(parse_float_str(".5"), Ok(Some(0.5)));
        assert_eq!(parse_float_str("-.5"), Ok(Some(-0.5)));
        assert_eq!(parse_float_str("5."), Ok(Some(5.0)));
        assert_eq!(parse_float_str("1e-3"), Ok(Some(0.001)));
        assert_eq!(parse_float_str("99999999999999999999"), Ok(Some(1e20)));
        assert_eq!(parse_float_str(" - "), Ok(None));
        assert_eq!(parse_float_str("null"), Ok(None));
        for bad in [
            "NaN",
            "inf",
            "-infinity",
            "1,2,3",
            "1,23.5",
            "12.5.1",
            "1e400",
            "x%",
        ] {
            assert!(parse_float_str(bad).is_err(), "{bad}");
        }
        assert!(parse_float_str("1e400").unwrap_err().contains("range"));
    }

    #[test]
    fn cells_from_json() {
        let v: Vec<Cell> = serde_json::from_str(
            r#"[1, 2.5, "3", "--", null, [1], {"a":1}, 9223372036854775808, 1e20, 12.0, true]"#,
        )
        .unwrap();
        assert_eq!(v[0], Cell::Int(1));
        assert_eq!(v[1], Cell::Float(2.5));
        assert_eq!(v[2].to_i64(), Ok(Some(3)));
        assert_eq!(v[3].to_f64(), Ok(None));
        assert_eq!(v[4], Cell::Null);
        assert_eq!(v[5], Cell::Nested(Nested::List));
        assert_eq!(v[6], Cell::Nested(Nested::Object));
        assert_eq!(v[7], Cell::UInt(9_223_372_036_854_775_808));
        assert_eq!(v[9].to_i64(), Ok(Some(12)));
        assert!(Cell::Float(2.5).to_i64().is_err());
        // a JSON number beyond i64 is an error in an integer column, as the
        // same value as text is
        for c in [&v[7], &v[8]] {
            let e = c.to_i64().unwrap_err();
            assert!(e.contains("does not fit a 64-bit integer"), "{e}");
        }
        assert!(v[7].to_i64().unwrap_err().contains("9223372036854775808"));
        assert_eq!(v[7].to_f64(), Ok(Some(2f64.powi(63))));
        assert_eq!(v[7].to_text(), Ok(Some("9223372036854775808".into())));
        assert_eq!(float_to_i64(-(2f64.powi(63))), Ok(Some(i64::MIN)));
        // lists, objects and booleans are refused by every column
        for kind in [Kind::Int, Kind::Float, Kind::Str, Kind::Date] {
            for c in [&v[5], &v[6]] {
                let e = Column::new(kind).push_cell(c).unwrap_err();
                assert!(e.contains("a list") || e.contains("an object"), "{e}");
            }
        }
        for kind in [Kind::Int, Kind::Float, Kind::Date] {
            assert!(Column::new(kind).push_cell(&v[10]).is_err());
        }
        assert_eq!(v[5].to_string_opt(), None);
    }

    #[test]
    fn datetimes() {
        let dt = |s: &str| parse_datetime(s).map(|d| d.to_string());
        assert_eq!(
            dt("2024-03-01 10:00:00").as_deref(),
            Some("2024-03-01 10:00:00")
        );
        assert_eq!(
            dt("2024/03/01 10:05").as_deref(),
            Some("2024-03-01 10:05:00")
        );
        assert_eq!(
            dt("2024-03-01T10:05:06.5").as_deref(),
            Some("2024-03-01 10:05:06.500")
        );
        assert_eq!(dt("20240301").as_deref(), Some("2024-03-01 00:00:00"));
        for bad in [
            "2024-03-01 25:00:00",
            "yesterday",
            "2024-03-01 10",
            "10:00:00",
        ] {
            assert_eq!(dt(bad), None, "{bad}");
        }
        let mut c = Column::new(Kind::Datetime);
        c.push_cell(&Cell::Int(1_709_287_200)).unwrap(); // seconds
        c.push_cell(&Cell::Int(1_709_287_200_000)).unwrap(); // milliseconds
        c.push_cell(&Cell::Str("--".into())).unwrap();
        assert_eq!(c.get_i64(0), c.get_i64(1));
        assert_eq!(c.get_i64(2), None);
        assert!(c.push_cell(&Cell::Str("soon".into())).is_err());
        assert!(c.push_cell(&Cell::Float(1.5)).is_err());
    }

    #[test]
    fn byte_order_mark() {
        assert_eq!(strip_bom("\u{feff}{}"), "{}");
        assert_eq!(strip_bom("{}"), "{}");
        assert_eq!(strip_bom("\u{feff}\u{feff}{}"), "\u{feff}{}", "only one");
    }

    #[test]
    fn builder_dtypes() {
        let mut t = TableBuilder::new(&[
            ("d", Kind::Date),
            ("n", Kind::Int),
            ("x", Kind::Float),
            ("s", Kind::Str),
        ]);
        t.set(0, &Cell::Str("2019/04/10".into())).unwrap();
        t.set(1, &Cell::Str("1,000".into())).unwrap();
        t.set(1, &Cell::Str("7".into())).unwrap();
        t.set(3, &Cell::Str("--".into())).unwrap();
        t.end_row();
        let df = t.finish().unwrap();
        assert_eq!(df.height(), 1);
        assert_eq!(df.column("d").unwrap().dtype(), &DataType::Date);
        assert_eq!(df.column("n").unwrap().i64().unwrap().get(0), Some(1000));
        assert_eq!(df.column("x").unwrap().null_count(), 1);
        assert_eq!(df.column("s").unwrap().null_count(), 1);
        let e = empty_frame(&[("a", Kind::Int)]);
        assert_eq!(e.height(), 0);
        assert_eq!(e.column("a").unwrap().dtype(), &DataType::Int64);
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("20190410"), NaiveDate::from_ymd_opt(2019, 4, 10));
        assert_eq!(
            parse_date("2019-04-10"),
            NaiveDate::from_ymd_opt(2019, 4, 10)
        );
        assert_eq!(
            parse_date("2019/04/10"),
            NaiveDate::from_ymd_opt(2019, 4, 10)
        );
        assert_eq!(parse_date("2019/4/1"), None);
        assert_eq!(parse_date("20191340"), None);
        assert_eq!(parse_date("2019-04/10"), None);
        assert_eq!(parse_date("2019-4-100"), None);
        assert_eq!(parse_date("2019-02-29"), None);
        assert_eq!(
            parse_date(" 2020-02-29 "),
            NaiveDate::from_ymd_opt(2020, 2, 29)
        );
        assert_eq!(parse_date("重庆重"), None);
    }
}

/// Receives the fields of JSON objects, one row at a time.
///
/// The default [`RowSink::value`] reads a scalar [`Cell`]; sinks override it
/// for keys whose values are nested (e.g. Baidu's scene arrays).
pub trait RowSink<'de> {
    fn value<D: Deserializer<'de>>(&mut self, key: &str, d: D) -> Result<(), D::Error> {
        let cell = Cell::deserialize(d)?;
        self.cell(key, cell).map_err(de::Error::custom)
    }
    fn cell(&mut self, key: &str, cell: Cell<'de>) -> Result<(), String>;
    fn end_row(&mut self) -> Result<(), String>;
}

use serde::de::{Deserialize, DeserializeSeed};

/// Seed: a JSON array of objects, each fed to the sink as one row.
pub struct Rows<'s, S>(pub &'s mut S);
/// Seed: one JSON object fed to the sink as one row.
pub struct Row<'s, S>(pub &'s mut S);

struct ValueSeed<'s, 'k, S> {
    sink: &'s mut S,
    key: &'k str,
}

impl<'de, S: RowSink<'de>> DeserializeSeed<'de> for ValueSeed<'_, '_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.sink.value(self.key, d)
    }
}

/// A map key, borrowed from the input when it has no escapes.
pub struct Key<'de>(pub std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de, S: RowSink<'de>> Visitor<'de> for Row<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(k)) = map.next_key::<Key>()? {
            map.next_value_seed(ValueSeed {
                sink: &mut *self.0,
                key: &k,
            })?;
        }
        self.0.end_row().map_err(de::Error::custom)
    }
}

impl<'de, S: RowSink<'de>> DeserializeSeed<'de> for Row<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: RowSink<'de>> Visitor<'de> for Rows<'_, S> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of objects")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Row(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

impl<'de, S: RowSink<'de>> DeserializeSeed<'de> for Rows<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Map source field names to columns of a [`TableBuilder`].
#[derive(Debug, Clone)]
pub struct FieldMap {
    keys: Vec<(String, usize)>,
}

impl FieldMap {
    /// `pairs` are (source key, output column name); columns are looked up
    /// in `t` (which must have them).
    pub fn new(t: &TableBuilder, pairs: &[(&str, &str)]) -> Self {
        FieldMap {
            keys: pairs
                .iter()
                .filter_map(|(src, out)| t.index(out).map(|i| (src.to_string(), i)))
                .collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<usize> {
        self.keys.iter().find(|(k, _)| k == key).map(|(_, i)| *i)
    }

    /// Set the column mapped from `key`, if any; unknown keys are ignored.
    pub fn set(&self, t: &mut TableBuilder, key: &str, cell: &Cell) -> Result<(), String> {
        match self.get(key) {
            Some(i) => t.set(i, cell).map_err(|e| format!("field {key:?}: {e}")),
            None => Ok(()),
        }
    }
}
