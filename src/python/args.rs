//! The one validation layer for numbers coming in from Python.
//!
//! Every numeric argument of the native classes and functions (HTTP
//! settings, page sizes, seeds, SDKAppIDs, fault values, ...) is read here:
//! type, finiteness and range are checked into `InvalidArgument` naming the
//! parameter and its valid range, before any conversion that could overflow
//! or panic (`Duration::from_secs_f64`, `as` casts). PyO3's own converters
//! would raise `TypeError`/`OverflowError` with the Rust type's name, and a
//! `bool` would pass as an integer.
//!
//! The ranges are written once, here; the defaults live with the core
//! (`HttpConfig`, the providers).

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat};

use crate::error::Error;
use crate::http::HttpConfig;

/// An integer parameter and its inclusive range.
pub struct Int {
    pub name: &'static str,
    pub min: i128,
    pub max: i128,
}

/// A parameter in seconds (a finite `int` or `float`) and its inclusive range.
pub struct Secs {
    pub name: &'static str,
    pub min: f64,
    pub max: f64,
}

const fn int(name: &'static str, min: i128, max: i128) -> Int {
    Int { name, min, max }
}

const fn secs(name: &'static str, min: f64, max: f64) -> Secs {
    Secs { name, min, max }
}

const DAY: f64 = 86_400.0;
const HOUR: f64 = 3_600.0;

// HTTP settings of every client.
pub const TIMEOUT: Secs = secs("timeout", 0.001, DAY);
pub const MAX_ATTEMPTS: Int = int("max_attempts", 1, 100);
pub const BACKOFF: Secs = secs("backoff", 0.0, HOUR);
pub const MAX_BACKOFF: Secs = secs("max_backoff", 0.0, HOUR);
pub const MAX_RETRY_WAIT: Secs = secs("max_retry_wait", 0.0, DAY);
pub const RATE_LIMIT: Int = int("rate_limit", 1, 100_000);
pub const CONCURRENCY: Int = int("concurrency", 1, 1_024);

// Provider options.
pub const PAGE_SIZE: Int = int("page_size", 1, 1_000);
pub const SDKAPPID: Int = int("sdkappid", 1, i64::MAX as i128);
pub const USERSIG_EXPIRE: Int = int("usersig_expire", 60, 10 * 365 * 86_400);
pub const EXPIRE: Int = int("expire", 1, 10 * 365 * 86_400);
/// Unix seconds up to the end of year 9999.
pub const NOW: Int = int("now", 0, 253_402_300_799);

// The sandbox.
pub const SEED: Int = int("seed", 0, u64::MAX as i128);
pub const LATENCY: Secs = secs("latency", 0.0, HOUR);
pub const SANDBOX_RATE_LIMIT: Int = int("rate_limit", 1, 100_000);
pub const SOURCES: Int = int("sources", 0, 1_000);
pub const SCENES_PER_SOURCE: Int = int("scenes_per_source", 0, 100);
pub const PAGES: Int = int("pages", 0, 100_000);
pub const TOKEN_TTL: Int = int("token_ttl", 1, 10 * 365 * 86_400);
pub const APPS: Int = int("apps", 1, 100_000);
pub const RESTATE_DAYS: Int = int("restate_days", 0, 60);
pub const SKIP: Int = int("skip", 0, 1_000_000);
pub const TIMES: Int = int("times", 1, 1_000_000);
pub const OFFSET: Int = int("offset", 0, 1_000_000_000);
pub const HTTP_STATUS: Int = int("value of fault 'http_status'", 100, 599);
pub const CODE: Int = int("value of fault 'code'", i32::MIN as i128, i32::MAX as i128);
pub const DELAY: Secs = secs("value of fault 'delay'", 0.0, HOUR);
pub const WRONG_TOTAL: Int = int("value of fault 'wrong_total'", -1_000_000, 1_000_000);
pub const DROP_ROWS: Int = int("value of fault 'drop_rows'", 1, 1_000_000);

fn invalid(msg: String) -> PyErr {
    super::to_py(Error::invalid(msg))
}

fn shown(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| "an unprintable value".into())
}

impl Int {
    fn error(&self, obj: &Bound<'_, PyAny>) -> PyErr {
        invalid(format!(
            "{} must be an integer from {} to {}, got {}",
            self.name,
            self.min,
            self.max,
            shown(obj)
        ))
    }

    /// The value as `T`, or `InvalidArgument` naming the parameter and range.
    pub fn get<T: TryFrom<i128>>(&self, obj: &Bound<'_, PyAny>) -> PyResult<T> {
        // bool is an int subclass and float has no exact integer reading:
        // both are refused rather than silently converted.
        if obj.is_instance_of::<PyBool>() || obj.is_instance_of::<PyFloat>() {
            return Err(self.error(obj));
        }
        // (an int beyond i128 fails to extract: out of range as well)
        let v = match obj.extract::<i128>() {
            Ok(v) => v,
            Err(_) => return Err(self.error(obj)),
        };
        if v < self.min || v > self.max {
            return Err(self.error(obj));
        }
        T::try_from(v).map_err(|_| self.error(obj))
    }

    /// `None` stays `None`.
    pub fn opt<T: TryFrom<i128>>(&self, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<T>> {
        match obj {
            Some(o) if !o.is_none() => self.get(o).map(Some),
            _ => Ok(None),
        }
    }
}

impl Secs {
    fn error(&self, obj: &Bound<'_, PyAny>) -> PyErr {
        invalid(format!(
            "{} must be a number of seconds from {} to {}, got {}",
            self.name,
            self.min,
            self.max,
            shown(obj)
        ))
    }

    /// The value in seconds, finite and in range.
    pub fn seconds(&self, obj: &Bound<'_, PyAny>) -> PyResult<f64> {
        if obj.is_instance_of::<PyBool>() {
            return Err(self.error(obj));
        }
        match obj.extract::<f64>() {
            Ok(v) if v.is_finite() && v >= self.min && v <= self.max => Ok(v),
            _ => Err(self.error(obj)),
        }
    }

    /// The value as a `Duration` (never panics: the range is checked first).
    pub fn get(&self, obj: &Bound<'_, PyAny>) -> PyResult<Duration> {
        self.seconds(obj).map(Duration::from_secs_f64)
    }
}

/// HTTP settings the caller set (`appstats._common.HttpOptions`: a dict
/// holding only the keys given); the others keep the client's defaults.
#[derive(Clone, Debug, Default)]
pub struct HttpArgs {
    timeout: Option<Duration>,
    max_attempts: Option<u32>,
    backoff: Option<Duration>,
    max_backoff: Option<Duration>,
    max_retry_wait: Option<Duration>,
    rate_limit: Option<u32>,
    concurrency: Option<usize>,
}

impl<'a, 'py> FromPyObject<'a, 'py> for HttpArgs {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let d = obj.cast::<PyDict>().map_err(|_| {
            invalid(format!(
                "HTTP settings must be a dict, got {}",
                shown(&obj.to_owned())
            ))
        })?;
        HttpArgs::from_dict(Some(&d.to_owned()))
    }
}

/// The names `HttpArgs` accepts, in documentation order.
pub const HTTP_SETTINGS: [&str; 7] = [
    "timeout",
    "max_attempts",
    "backoff",
    "max_backoff",
    "max_retry_wait",
    "rate_limit",
    "concurrency",
];

impl HttpArgs {
    /// Read a dict of settings; `None` values count as not set, an unknown
    /// key is an error naming the valid ones.
    pub fn from_dict(d: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let mut a = HttpArgs::default();
        let Some(d) = d else { return Ok(a) };
        for (k, v) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                invalid(format!("HTTP setting names are strings, got {}", shown(&k)))
            })?;
            if v.is_none() {
                continue;
            }
            match key.as_str() {
                "timeout" => a.timeout = Some(TIMEOUT.get(&v)?),
                "max_attempts" => a.max_attempts = Some(MAX_ATTEMPTS.get(&v)?),
                "backoff" => a.backoff = Some(BACKOFF.get(&v)?),
                "max_backoff" => a.max_backoff = Some(MAX_BACKOFF.get(&v)?),
                "max_retry_wait" => a.max_retry_wait = Some(MAX_RETRY_WAIT.get(&v)?),
                "rate_limit" => a.rate_limit = Some(RATE_LIMIT.get(&v)?),
                "concurrency" => a.concurrency = Some(CONCURRENCY.get(&v)?),
                other => {
                    return Err(invalid(format!(
                        "unknown HTTP setting '{other}'; valid: {}",
                        HTTP_SETTINGS.join(", ")
                    )))
                }
            }
        }
        Ok(a)
    }

    /// The settings given over the defaults of Baidu and MTA clients.
    pub fn config(&self) -> crate::Result<HttpConfig> {
        self.apply(HttpConfig::default())
    }

    /// `defaults` with the settings that were given.
    pub fn apply(&self, mut c: HttpConfig) -> crate::Result<HttpConfig> {
        if let Some(v) = self.timeout {
            c.timeout = v;
        }
        if let Some(v) = self.max_attempts {
            c.retry.max_attempts = v;
        }
        if let Some(v) = self.backoff {
            c.retry.backoff = v;
        }
        if let Some(v) = self.max_backoff {
            c.retry.max_backoff = v;
        }
        if let Some(v) = self.max_retry_wait {
            c.retry.max_retry_wait = v;
        }
        if let Some(v) = self.rate_limit {
            c.rate_limit = v;
        }
        if let Some(v) = self.concurrency {
            c.concurrency = v;
        }
        c.validate()?;
        Ok(c)
    }
}

/// A config's seven settings as a dict (for `HTTP_DEFAULTS` in Python).
pub fn http_dict<'py>(py: Python<'py>, c: &HttpConfig) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("timeout", c.timeout.as_secs_f64())?;
    d.set_item("max_attempts", c.retry.max_attempts)?;
    d.set_item("backoff", c.retry.backoff.as_secs_f64())?;
    d.set_item("max_backoff", c.retry.max_backoff.as_secs_f64())?;
    d.set_item("max_retry_wait", c.retry.max_retry_wait.as_secs_f64())?;
    d.set_item("rate_limit", c.rate_limit)?;
    d.set_item("concurrency", c.concurrency)?;
    Ok(d)
}
