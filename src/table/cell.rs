//! One scalar of a reply ([`Cell`]) and its readings: numbers with one
//! grammar for every provider, dates and date-times, "no data" markers.

use std::fmt;

use chrono::{NaiveDate, NaiveDateTime};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

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
pub(super) fn float_to_i64(f: f64) -> Result<Option<i64>, String> {
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
    match plain_int(s.as_bytes()) {
        Some(v) => Ok(Some(v)),
        None => parse_int_general(s),
    }
}

/// [`parse_int_str`] by the full grammar (every spelling it accepts).
pub(super) fn parse_int_general(s: &str) -> Result<Option<i64>, String> {
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

/// The fast path of [`parse_int_str`] (most values): `[-]digits` with or
/// without well-placed thousands separators (`1,234,567`) and at most 18
/// digits, so it cannot overflow. `None` for anything else, which the
/// general grammar then reads (or rejects) -- the two agree on every text
/// this accepts.
#[inline]
pub(super) fn plain_int(b: &[u8]) -> Option<i64> {
    let (neg, b) = match b.first()? {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    let mut v: i64 = 0;
    let mut digits = 0usize;
    // digits since the last separator, and whether one was seen
    let mut run = 0usize;
    let mut grouped = false;
    for &c in b {
        if c.is_ascii_digit() {
            digits += 1;
            run += 1;
            if digits > 18 || (grouped && run > 3) {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        } else if c == b',' && run > 0 && run <= 3 && (!grouped || run == 3) {
            grouped = true;
            run = 0;
        } else {
            return None;
        }
    }
    if run == 0 || (grouped && run != 3) {
        return None;
    }
    Some(if neg { -v } else { v })
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
pub(super) fn epoch_datetime(v: i64) -> Option<NaiveDateTime> {
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
