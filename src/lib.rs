//! appstats: app analytics from Baidu smart programs, Tencent MTA and
//! Tencent Cloud IM as typed Polars DataFrames.
//!
//! The core (`error`, `http`, `table`, `providers`, `sandbox`) has no PyO3 in
//! it; the bindings live in `python` behind the `python` feature.

pub mod error;
pub mod fanout;
pub mod http;
pub mod providers;
pub mod runtime;
pub mod sandbox;
pub mod table;
pub mod url;

pub use error::{Error, Result};

#[cfg(feature = "python")]
pub mod python;

#[cfg(test)]
mod fuzz_tests;
