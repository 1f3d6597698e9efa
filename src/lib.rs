//! appstats: app analytics from Baidu smart programs, Tencent MTA and
//! Tencent Cloud IM as typed Polars DataFrames.
//!
//! The core (`error`, `http`, `table`, `providers`, `sandbox`) has no PyO3 in
//! it; the bindings live in `python` behind the `python` feature.

/// The text of a test fixture under `tests/fixtures/` (e.g.
/// `fixture!("baidu/getdata.json")`): the one way the Rust tests load
/// them, rooted at the crate (wherever the test module lives).
#[cfg(test)]
macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $path
        ))
    };
}

pub mod error;
pub mod fanout;
pub mod http;
pub mod providers;
pub mod redact;
pub mod runtime;
pub mod sandbox;
pub mod table;
pub mod url;

pub use error::{Error, Result};

#[cfg(feature = "python")]
pub mod python;

#[cfg(test)]
mod fuzz_tests;
