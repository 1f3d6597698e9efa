//! `BaiduClient`: the native Baidu client.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_polars::PyDataFrame;

use super::{args, block_on, guard, into_awaitable, progress, HttpArgs};
use crate::error::Error;
use crate::http::Progress;
use crate::providers::baidu::{
    self, endpoints::REPORTS, Client, Credentials, ReportFrame, Request, DEFAULT_PAGE_SIZE,
};

type ReportTuple = (
    PyDataFrame,
    PyDataFrame,
    Option<PyDataFrame>,
    Option<String>,
    Option<i64>,
);

fn to_tuple(r: ReportFrame) -> ReportTuple {
    (
        PyDataFrame(r.data),
        PyDataFrame(r.summary),
        r.groups.map(PyDataFrame),
        r.time_span,
        r.total,
    )
}

/// Native Baidu client (use `appstats.BaiduSmartApp`, which wraps this).
#[pyclass(module = "appstats._native", frozen)]
pub struct BaiduClient {
    inner: Arc<Client>,
}

/// The part shared by `fetch` and `fetch_async`: everything checked, ready
/// to run on the runtime.
type Prepared = (Arc<Client>, Request, Progress);

/// The one async body of `fetch` and `fetch_async`.
async fn run((client, req, p): Prepared) -> crate::Result<ReportTuple> {
    client.fetch(&req, &p).await.map(to_tuple)
}

impl BaiduClient {
    fn prepare(
        &self,
        report: &str,
        start: &str,
        end: &str,
        options: Option<HashMap<String, String>>,
        progress_cb: Option<Py<PyAny>>,
    ) -> PyResult<Prepared> {
        let req = guard(|| Request::new(report, start, end, &options.unwrap_or_default()))?;
        Ok((self.inner.clone(), req, progress(progress_cb)))
    }
}

#[pymethods]
impl BaiduClient {
    #[new]
    #[pyo3(signature = (*, access_token=None, client_id=None, client_secret=None, tp_client_id=None,
        tp_ticket=None, auth_code=None, refresh_token=None, base_url=None, page_size=None, http=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        access_token: Option<String>,
        client_id: Option<String>,
        client_secret: Option<String>,
        tp_client_id: Option<String>,
        tp_ticket: Option<String>,
        auth_code: Option<String>,
        refresh_token: Option<String>,
        base_url: Option<String>,
        page_size: Option<&Bound<'_, PyAny>>,
        http: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let page_size = args::PAGE_SIZE.opt(page_size)?.unwrap_or(DEFAULT_PAGE_SIZE);
        let http = HttpArgs::from_dict(http)?;
        guard(|| {
            let tp = match (tp_client_id, tp_ticket) {
                (Some(client_id), Some(ticket)) => {
                    Some(Credentials::TpTicket { client_id, ticket })
                }
                (None, None) => None,
                _ => {
                    return Err(Error::invalid(
                        "third-party platform credentials need both tp_client_id and tp_ticket",
                    ))
                }
            };
            let creds = if let Some(t) = access_token {
                Credentials::Token(t)
            } else if auth_code.is_some() || refresh_token.is_some() {
                let tp = tp.ok_or_else(|| {
                    Error::invalid("auth_code/refresh_token need tp_client_id and tp_ticket (the TP that was authorised)")
                })?;
                Credentials::Authorizer {
                    tp: Box::new(tp),
                    code: auth_code,
                    refresh_token,
                }
            } else if let (Some(client_id), Some(client_secret)) =
                (client_id.clone(), client_secret.clone())
            {
                Credentials::ClientCredentials {
                    client_id,
                    client_secret,
                }
            } else if let Some(tp) = tp {
                tp
            } else if client_id.is_some() || client_secret.is_some() {
                return Err(Error::invalid(
                    "Baidu credentials need both client_id and client_secret",
                ));
            } else {
                // (argument names without `=`: error messages are redacted,
                // and `name=` reads as a secret parameter)
                return Err(Error::invalid(
                    "missing Baidu credentials: pass access_token, or client_id and \
                     client_secret (or set BAIDU_ACCESS_TOKEN, or BAIDU_CLIENT_ID and \
                     BAIDU_CLIENT_SECRET)",
                ));
            };
            let cfg = http.config()?;
            Ok(BaiduClient {
                inner: Arc::new(Client::new(creds, base_url.as_deref(), cfg, page_size)?),
            })
        })
    }

    /// Fetch a report: `(data, summary, groups, time_span, total)`.
    #[pyo3(signature = (report, start, end, options=None, progress_cb=None))]
    fn fetch(
        &self,
        py: Python<'_>,
        report: &str,
        start: &str,
        end: &str,
        options: Option<HashMap<String, String>>,
        progress_cb: Option<Py<PyAny>>,
    ) -> PyResult<ReportTuple> {
        let prepared = self.prepare(report, start, end, options, progress_cb)?;
        block_on(py, run(prepared))
    }

    /// Awaitable twin of `fetch`.
    #[pyo3(signature = (report, start, end, options=None, progress_cb=None))]
    fn fetch_async<'py>(
        &self,
        py: Python<'py>,
        report: &str,
        start: &str,
        end: &str,
        options: Option<HashMap<String, String>>,
        progress_cb: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let prepared = self.prepare(report, start, end, options, progress_cb)?;
        into_awaitable(py, run(prepared))
    }

    /// Validate arguments without any request (raises on bad input).
    #[pyo3(signature = (report, start, end, options=None))]
    fn validate(
        &self,
        report: &str,
        start: &str,
        end: &str,
        options: Option<HashMap<String, String>>,
    ) -> PyResult<()> {
        guard(|| Request::new(report, start, end, &options.unwrap_or_default()).map(|_| ()))
    }

    /// The newest refresh token of an authorised program (single-use: keep it).
    fn refresh_token(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let client = self.inner.clone();
        block_on(py, async move { Ok(client.auth.refresh_token().await) })
    }

    /// Request counters: requests, retries, failures, backoff_ms.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        super::stats_dict(py, &self.inner.http.stats)
    }

    /// The base URL, its userinfo (if any) redacted.
    #[getter]
    fn base_url(&self) -> String {
        crate::error::redact(self.inner.base_url())
    }

    #[getter]
    fn auth_kind(&self) -> &'static str {
        self.inner.auth.kind()
    }
}

/// Parse a saved reply: `(data, summary, groups, time_span, total)`.
#[pyfunction]
#[pyo3(signature = (endpoint, text, options=None))]
pub fn baidu_parse(
    py: Python<'_>,
    endpoint: &str,
    text: super::Text,
    options: Option<HashMap<String, String>>,
) -> PyResult<ReportTuple> {
    let opts = options.unwrap_or_default();
    py.detach(|| guard(|| baidu::parse_saved(endpoint, text.as_str()?, &opts).map(to_tuple)))
}

/// `(report, endpoint)` pairs of every Baidu report.
#[pyfunction]
pub fn baidu_reports() -> Vec<(&'static str, &'static str)> {
    REPORTS.to_vec()
}
