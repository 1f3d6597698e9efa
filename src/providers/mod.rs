//! One module per provider. Providers depend on the core (`error`, `http`,
//! `table`), never on the sandbox or the Python bindings.

pub mod baidu;
pub mod catalog;
pub mod common;
pub mod many;
pub mod mta;
pub mod retention;
pub mod tim;

use crate::error::{Error, Result};
use crate::http::HttpConfig;

/// A provider's HTTP defaults: the one place the clients, the fan-out and
/// `HTTP_DEFAULTS` in Python take them from (Baidu and MTA document no
/// limits: [`HttpConfig::default`]; Tencent IM its own, see
/// [`tim::default_config`]).
pub fn http_defaults(provider: &str) -> Result<HttpConfig> {
    match provider {
        "baidu" | "mta" => Ok(HttpConfig::default()),
        "tim" => Ok(tim::default_config()),
        other => Err(Error::invalid(format!(
            "unknown provider {other:?}; valid: baidu, mta, tim"
        ))),
    }
}
