//! Baidu smart program data API, simulated.
//!
//! - `routes`: the router, token endpoints, the data endpoint's checks and
//!   paging;
//! - `generate`: each report generated whole, one function per endpoint;
//! - `figures`: the seeded numbers and labels the reports are made of.

use std::collections::HashMap;

use axum::body::Bytes;
use chrono::NaiveDate;

mod figures;
mod generate;
mod routes;

pub use routes::router;

const P: &str = "baidu";

type Params = HashMap<String, String>;

fn params(q: Option<String>, body: &Bytes) -> Params {
    let mut p: Params = serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    if let Ok(b) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body) {
        p.extend(b);
    }
    p
}

fn date_param(p: &Params, k: &str) -> Option<NaiveDate> {
    let s = p.get(k)?;
    if s.len() != 8 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

fn int_param(p: &Params, k: &str, default: i64) -> Option<i64> {
    match p.get(k) {
        None => Some(default),
        Some(s) => s.parse().ok(),
    }
}
