//! Growable typed columns ([`Column`]) and their compact storage: values
//! plus validity flags ([`Vals`]) and packed strings ([`Strs`]).

use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::*;
use polars_arrow::bitmap::Bitmap;

use super::cell::{
    date_to_days, datetime_to_us, epoch_datetime, is_missing_marker, parse_date, parse_datetime,
    Cell,
};

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

    /// Refine `ord[i]` (the order of rows `i` and `i + 1`) where it is
    /// still `Equal`, by this column: one typed pass, for checking that
    /// rows are already in order without comparing cell by cell.
    pub fn refine_adjacent(&self, ord: &mut [std::cmp::Ordering]) {
        fn by<T: PartialOrd>(ord: &mut [std::cmp::Ordering], get: impl Fn(usize) -> Option<T>) {
            for (i, o) in ord.iter_mut().enumerate() {
                if o.is_eq() {
                    *o = get(i)
                        .partial_cmp(&get(i + 1))
                        .unwrap_or(std::cmp::Ordering::Equal);
                }
            }
        }
        match self {
            Column::Str(v) => by(ord, |i| v.get(i)),
            Column::Int(v) | Column::Datetime(v) => by(ord, |i| v.get(i)),
            Column::Date(v) => by(ord, |i| v.get(i)),
            Column::Float(v) => by(ord, |i| v.get(i)),
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
