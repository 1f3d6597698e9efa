//! `TimClient`: the native Tencent Cloud IM client, and UserSig functions.

use std::net::SocketAddr;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_polars::PyDataFrame;

use super::{args, block_on, guard, into_awaitable, progress, HttpArgs};
use crate::error::{Error, Result};
use crate::http::Progress;
use crate::providers::tim::{self, usersig, Client, ClientOptions};

fn options(
    resolve_to: Option<&str>,
    usersig_expire: u64,
    today: Option<&str>,
) -> Result<ClientOptions> {
    let resolve_to = match resolve_to {
        None => None,
        Some(s) => Some(s.parse::<SocketAddr>().map_err(|_| {
            Error::invalid(format!(
                "resolve_to must be host:port of an IP address, got {s:?}"
            ))
        })?),
    };
    // the service's today when it is not the real one (a simulator): the
    // expected 30-day window ends the day before
    let window_end = today
        .map(|t| crate::providers::common::parse_user_date("today", t))
        .transpose()?
        .and_then(|d| d.pred_opt());
    Ok(ClientOptions {
        usersig_expire,
        resolve_to,
        window_end,
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Region of a client that names none.
const DEFAULT_REGION: &str = "china";

/// Native Tencent IM client (use `appstats.TencentIm`, which wraps this).
#[pyclass(module = "appstats._native", frozen)]
pub struct TimClient {
    inner: Arc<Client>,
}

/// The part shared by `app_info` and `app_info_async`: everything checked.
type Prepared = (Arc<Client>, Option<Vec<String>>, Progress);

/// The one async body of `app_info` and `app_info_async`.
async fn run((client, fields, p): Prepared) -> Result<PyDataFrame> {
    client
        .app_info(fields.as_deref(), &p)
        .await
        .map(PyDataFrame)
}

impl TimClient {
    fn prepare(
        &self,
        fields: Option<Vec<String>>,
        progress_cb: Option<Py<PyAny>>,
    ) -> PyResult<Prepared> {
        // validate before any request
        guard(|| tim::parse::select(fields.as_deref()).map(|_| ()))?;
        Ok((self.inner.clone(), fields, progress(progress_cb)))
    }
}

#[pymethods]
impl TimClient {
    #[new]
    #[pyo3(signature = (sdkappid, secret_key, *, identifier=None, region=None, resolve_to=None,
        usersig_expire=None, http=None, today=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        sdkappid: &Bound<'_, PyAny>,
        secret_key: &str,
        identifier: Option<&str>,
        region: Option<&str>,
        resolve_to: Option<&str>,
        usersig_expire: Option<&Bound<'_, PyAny>>,
        http: Option<&Bound<'_, PyDict>>,
        today: Option<&str>,
    ) -> PyResult<Self> {
        let sdkappid: u64 = args::SDKAPPID.get(sdkappid)?;
        let http = HttpArgs::from_dict(http)?;
        let expire = args::USERSIG_EXPIRE
            .opt(usersig_expire)?
            .unwrap_or(tim::DEFAULT_USERSIG_EXPIRE);
        guard(|| {
            let cfg = http.apply(tim::default_config())?;
            let opts = options(resolve_to, expire, today)?;
            Ok(TimClient {
                inner: Arc::new(Client::with_options(
                    sdkappid,
                    secret_key,
                    identifier,
                    region.unwrap_or(DEFAULT_REGION),
                    cfg,
                    &opts,
                )?),
            })
        })
    }

    #[pyo3(signature = (fields=None, progress_cb=None))]
    fn app_info(
        &self,
        py: Python<'_>,
        fields: Option<Vec<String>>,
        progress_cb: Option<Py<PyAny>>,
    ) -> PyResult<PyDataFrame> {
        let prepared = self.prepare(fields, progress_cb)?;
        block_on(py, run(prepared))
    }

    #[pyo3(signature = (fields=None, progress_cb=None))]
    fn app_info_async<'py>(
        &self,
        py: Python<'py>,
        fields: Option<Vec<String>>,
        progress_cb: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let prepared = self.prepare(fields, progress_cb)?;
        into_awaitable(py, run(prepared))
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        super::stats_dict(py, &self.inner.http().stats)
    }

    /// The base URL, its userinfo (if any) redacted.
    #[getter]
    fn base_url(&self) -> String {
        crate::error::redact(self.inner.base_url())
    }

    #[getter]
    fn sdkappid(&self) -> u64 {
        self.inner.sdkappid()
    }

    #[getter]
    fn identifier(&self) -> String {
        self.inner.identifier().to_string()
    }
}

/// Everything `tim_app_info_many` and its async twin need, checked.
struct Many {
    apps: Vec<(u64, String)>,
    identifier: Option<String>,
    region: String,
    fields: Option<Vec<String>>,
    opts: ClientOptions,
    cfg: crate::http::HttpConfig,
    progress: Progress,
}

/// `[(sdkappid, secret_key), ...]`, each SDKAppID in range.
fn apps_arg(apps: &Bound<'_, PyAny>) -> PyResult<Vec<(u64, String)>> {
    let bad = || {
        super::to_py(Error::invalid(
            "apps must be a list of (sdkappid, secret_key) pairs",
        ))
    };
    let mut out = vec![];
    for item in apps.try_iter().map_err(|_| bad())? {
        let item = item?;
        let (app, key): (Bound<'_, PyAny>, String) = item.extract().map_err(|_| bad())?;
        out.push((args::SDKAPPID.get(&app)?, key));
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn prepare_many(
    apps: &Bound<'_, PyAny>,
    identifier: Option<&str>,
    region: Option<&str>,
    fields: Option<Vec<String>>,
    resolve_to: Option<&str>,
    progress_cb: Option<Py<PyAny>>,
    http: Option<&Bound<'_, PyDict>>,
) -> PyResult<Many> {
    let apps = apps_arg(apps)?;
    let http = HttpArgs::from_dict(http)?;
    let (opts, cfg) = guard(|| {
        tim::parse::select(fields.as_deref())?;
        Ok((
            options(resolve_to, tim::DEFAULT_USERSIG_EXPIRE, None)?,
            http.apply(tim::default_config())?,
        ))
    })?;
    Ok(Many {
        apps,
        identifier: identifier.map(str::to_string),
        region: region.unwrap_or(DEFAULT_REGION).to_string(),
        fields,
        opts,
        cfg,
        progress: progress(progress_cb),
    })
}

/// The one async body of `tim_app_info_many` and its async twin.
async fn run_many(m: Many) -> Result<PyDataFrame> {
    crate::providers::many::app_info_many_with(
        &m.apps,
        m.identifier.as_deref(),
        &m.region,
        m.fields.as_deref(),
        m.cfg,
        &m.opts,
        &m.progress,
    )
    .await
    .map(PyDataFrame)
}

/// `getappinfo` of many apps at once: one frame with an `sdkappid` column.
#[pyfunction]
#[pyo3(signature = (apps, *, identifier=None, region=None, fields=None, resolve_to=None,
    progress_cb=None, http=None))]
#[allow(clippy::too_many_arguments)]
pub fn tim_app_info_many(
    py: Python<'_>,
    apps: &Bound<'_, PyAny>,
    identifier: Option<&str>,
    region: Option<&str>,
    fields: Option<Vec<String>>,
    resolve_to: Option<&str>,
    progress_cb: Option<Py<PyAny>>,
    http: Option<&Bound<'_, PyDict>>,
) -> PyResult<PyDataFrame> {
    let m = prepare_many(
        apps,
        identifier,
        region,
        fields,
        resolve_to,
        progress_cb,
        http,
    )?;
    block_on(py, run_many(m))
}

/// Awaitable twin of `tim_app_info_many`.
#[pyfunction]
#[pyo3(signature = (apps, *, identifier=None, region=None, fields=None, resolve_to=None,
    progress_cb=None, http=None))]
#[allow(clippy::too_many_arguments)]
pub fn tim_app_info_many_async<'py>(
    py: Python<'py>,
    apps: &Bound<'_, PyAny>,
    identifier: Option<&str>,
    region: Option<&str>,
    fields: Option<Vec<String>>,
    resolve_to: Option<&str>,
    progress_cb: Option<Py<PyAny>>,
    http: Option<&Bound<'_, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let m = prepare_many(
        apps,
        identifier,
        region,
        fields,
        resolve_to,
        progress_cb,
        http,
    )?;
    into_awaitable(py, run_many(m))
}

/// Generate a UserSig (TLSSigAPIv2).
#[pyfunction]
#[pyo3(signature = (sdkappid, secret_key, identifier, expire=None, now=None))]
pub fn gen_usersig(
    sdkappid: &Bound<'_, PyAny>,
    secret_key: &str,
    identifier: &str,
    expire: Option<&Bound<'_, PyAny>>,
    now: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let sdkappid: u64 = args::SDKAPPID.get(sdkappid)?;
    let expire = args::EXPIRE
        .opt(expire)?
        .unwrap_or(tim::DEFAULT_USERSIG_EXPIRE);
    let now = args::NOW.opt(now)?;
    guard(|| {
        if secret_key.is_empty() {
            return Err(Error::invalid("secret_key must not be empty"));
        }
        if identifier.is_empty() {
            return Err(Error::invalid("identifier must not be empty"));
        }
        Ok(usersig::gen_usersig(
            sdkappid,
            secret_key,
            identifier,
            expire,
            now.unwrap_or_else(self::now),
        ))
    })
}

/// Decode and verify a UserSig: `(identifier, sdkappid, time, expire)`.
#[pyfunction]
#[pyo3(signature = (usersig, sdkappid, secret_key, now=None))]
pub fn verify_usersig(
    usersig: &str,
    sdkappid: &Bound<'_, PyAny>,
    secret_key: &str,
    now: Option<&Bound<'_, PyAny>>,
) -> PyResult<(String, u64, u64, u64)> {
    let sdkappid: u64 = args::SDKAPPID.get(sdkappid)?;
    let now = args::NOW.opt(now)?;
    guard(|| {
        usersig::verify_usersig(usersig, sdkappid, secret_key, now.unwrap_or_else(self::now))
            .map(|i| (i.identifier, i.sdkappid, i.time, i.expire))
            .map_err(|e| Error::Auth {
                provider: "tim",
                code: 0,
                message: e.to_string(),
                renewable: false,
            })
    })
}

/// Parse a saved `getappinfo` reply.
#[pyfunction]
pub fn tim_parse(py: Python<'_>, text: super::Text) -> PyResult<PyDataFrame> {
    py.detach(|| guard(|| tim::parse::parse_saved(text.as_str()?).map(PyDataFrame)))
}

/// `(original, snake_case, dtype)` of every field.
#[pyfunction]
pub fn tim_fields() -> Vec<(&'static str, &'static str, String)> {
    tim::parse::FIELDS
        .iter()
        .map(|(o, s, k)| (*o, *s, format!("{:?}", k)))
        .collect()
}

/// `(name, code, domain)` of every region.
#[pyfunction]
pub fn tim_regions() -> Vec<(&'static str, &'static str, &'static str)> {
    tim::REGIONS
        .iter()
        .map(|r| (r.name, r.code, r.domain))
        .collect()
}
