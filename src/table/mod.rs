//! Typed column builders and loose value parsing.
//!
//! Providers send numbers as JSON numbers or as strings (`"1,234"`,
//! `"12.5%"`), and mark missing data with `--`, `-` or `""`. [`Cell`] is
//! what one JSON scalar deserialises to (without building a
//! `serde_json::Value`), [`Column`] turns cells into a Polars column of an
//! exact dtype, [`TableBuilder`] holds a table's columns, and [`Rows`] /
//! [`Row`] stream a reply's objects into a [`RowSink`].
//!
//! - `cell`: one scalar and its readings (numbers, dates, markers);
//! - `column`: typed columns and their storage;
//! - `builder`: the table builder and the field map;
//! - `rows`: serde seeds streaming rows into sinks.

mod builder;
mod cell;
mod column;
mod rows;

pub use builder::{empty_frame, FieldMap, TableBuilder};
pub use cell::{
    date_to_days, datetime_to_us, is_missing_marker, parse_date, parse_datetime, parse_float_str,
    parse_int_str, strip_bom, Cell, Nested, TOO_BIG,
};
pub use column::{Column, Kind, Strs, Vals};
pub use rows::{Key, Row, RowSink, Rows};

#[cfg(test)]
mod tests;
