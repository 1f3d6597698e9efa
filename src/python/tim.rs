//! `TimClient`: the native Tencent Cloud IM client, and UserSig functions.

use std::net::SocketAddr;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3_polars::PyDataFrame;

use super::{block_on, guard, into_awaitable, progress, HttpArgs};
use crate::error::{Error, Result};
use crate::http::Progress;
use crate::providers::tim::{self, usersig, Client, ClientOptions};

fn options(resolve_to: Option<&str>, usersig_expire: u64) -> Result<ClientOptions> {
    let resolve_to = match resolve_to {
        None => None,
        Some(s) => Some(s.parse::<SocketAddr>().map_err(|_| {
            Error::invalid(format!(
                "resolve_to must be host:port of an IP address, got {s:?}"
            ))
        })?),
    };
    Ok(ClientOptions {
        usersig_expire,
        resolve_to,
        ..Default::default()
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Native Tencent IM client (use `appstats.TencentIm`, which wraps this).
#[pyclass(module = "appstats._native", frozen)]
pub struct TimClient {
    inner: Arc<Client>,
}

#[pymethods]
impl TimClient {
    #[new]
    #[pyo3(signature = (sdkappid, secret_key, *, identifier="admin", region="china", resolve_to=None,
        usersig_expire=86_400, http))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        sdkappid: u64,
        secret_key: &str,
        identifier: &str,
        region: &str,
        resolve_to: Option<&str>,
        usersig_expire: u64,
        http: HttpArgs,
    ) -> PyResult<Self> {
        guard(|| {
            let cfg = http.config()?;
            let opts = options(resolve_to, usersig_expire)?;
            Ok(TimClient {
                inner: Arc::new(Client::with_options(
                    sdkappid,
                    secret_key,
                    Some(identifier),
                    region,
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
        // validate before any request
        guard(|| tim::parse::select(fields.as_deref()).map(|_| ()))?;
        let client = self.inner.clone();
        let p = progress(progress_cb);
        block_on(py, async move {
            client
                .app_info(fields.as_deref(), &p)
                .await
                .map(PyDataFrame)
        })
    }

    #[pyo3(signature = (fields=None, progress_cb=None))]
    fn app_info_async<'py>(
        &self,
        py: Python<'py>,
        fields: Option<Vec<String>>,
        progress_cb: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guard(|| tim::parse::select(fields.as_deref()).map(|_| ()))?;
        let client = self.inner.clone();
        let p = progress(progress_cb);
        into_awaitable(py, async move {
            client
                .app_info(fields.as_deref(), &p)
                .await
                .map(PyDataFrame)
        })
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        super::stats_dict(py, &self.inner.http().stats)
    }

    #[getter]
    fn base_url(&self) -> String {
        self.inner.base_url().to_string()
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

type ManyArgs = (
    Vec<(u64, String)>,
    String,
    String,
    Option<Vec<String>>,
    ClientOptions,
    crate::http::HttpConfig,
);

#[allow(clippy::too_many_arguments)]
fn many_args(
    apps: Vec<(u64, String)>,
    identifier: &str,
    region: &str,
    fields: Option<Vec<String>>,
    resolve_to: Option<&str>,
    http: HttpArgs,
) -> Result<ManyArgs> {
    tim::parse::select(fields.as_deref())?;
    Ok((
        apps,
        identifier.to_string(),
        region.to_string(),
        fields,
        options(resolve_to, 86_400)?,
        http.config()?,
    ))
}

async fn run_many(a: ManyArgs, p: Progress) -> Result<PyDataFrame> {
    let (apps, identifier, region, fields, opts, cfg) = a;
    tim::app_info_many_with(
        &apps,
        Some(&identifier),
        &region,
        fields.as_deref(),
        cfg,
        &opts,
        &p,
    )
    .await
    .map(PyDataFrame)
}

/// `getappinfo` of many apps at once: one frame with an `sdkappid` column.
#[pyfunction]
#[pyo3(signature = (apps, *, identifier="admin", region="china", fields=None, resolve_to=None,
    progress_cb=None, http, is_async=false))]
#[allow(clippy::too_many_arguments)]
pub fn tim_app_info_many<'py>(
    py: Python<'py>,
    apps: Vec<(u64, String)>,
    identifier: &str,
    region: &str,
    fields: Option<Vec<String>>,
    resolve_to: Option<&str>,
    progress_cb: Option<Py<PyAny>>,
    http: HttpArgs,
    is_async: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let a = guard(|| many_args(apps, identifier, region, fields, resolve_to, http))?;
    let p = progress(progress_cb);
    if is_async {
        into_awaitable(py, run_many(a, p))
    } else {
        block_on(py, run_many(a, p))?
            .into_pyobject(py)
            .map(|b| b.into_any())
    }
}

/// Generate a UserSig (TLSSigAPIv2).
#[pyfunction]
#[pyo3(signature = (sdkappid, secret_key, identifier, expire=86_400, now=None))]
pub fn gen_usersig(
    sdkappid: u64,
    secret_key: &str,
    identifier: &str,
    expire: u64,
    now: Option<u64>,
) -> PyResult<String> {
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
    sdkappid: u64,
    secret_key: &str,
    now: Option<u64>,
) -> PyResult<(String, u64, u64, u64)> {
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
