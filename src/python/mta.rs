//! `MtaClient`: the native Tencent MTA client.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_polars::PyDataFrame;

use super::{block_on, guard, into_awaitable, progress, HttpArgs};
use crate::http::Progress;
use crate::providers::mta::{self, Client, Request};

/// Native MTA client (use `appstats.Mta`, which wraps this).
#[pyclass(module = "appstats._native", frozen)]
pub struct MtaClient {
    inner: Arc<Client>,
}

/// What `fetch` returns: the frame and the request windows (ISO dates).
type Fetched = (PyDataFrame, Vec<(String, String)>);

/// The part shared by `fetch` and `fetch_async`: everything checked.
type Prepared = (Arc<Client>, Request, Progress);

/// The one async body of `fetch` and `fetch_async`.
async fn run((client, req, p): Prepared) -> crate::Result<Fetched> {
    let f = client.fetch(&req, &p).await?;
    let windows = f
        .windows
        .iter()
        .map(|(s, e)| (s.to_string(), e.to_string()))
        .collect();
    Ok((PyDataFrame(f.data), windows))
}

impl MtaClient {
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
impl MtaClient {
    #[new]
    #[pyo3(signature = (app_id, secret_key, *, base_url=None, http=None))]
    fn new(
        app_id: &str,
        secret_key: &str,
        base_url: Option<String>,
        http: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let http = HttpArgs::from_dict(http)?;
        guard(|| {
            let cfg = http.config()?;
            Ok(MtaClient {
                inner: Arc::new(Client::new(app_id, secret_key, base_url.as_deref(), cfg)?),
            })
        })
    }

    /// Fetch a report: `(data, [(window start, window end)])`.
    #[pyo3(signature = (report, start, end, options=None, progress_cb=None))]
    fn fetch(
        &self,
        py: Python<'_>,
        report: &str,
        start: &str,
        end: &str,
        options: Option<HashMap<String, String>>,
        progress_cb: Option<Py<PyAny>>,
    ) -> PyResult<Fetched> {
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

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        super::stats_dict(py, &self.inner.http.stats)
    }

    /// The base URL, its userinfo (if any) redacted.
    #[getter]
    fn base_url(&self) -> String {
        crate::error::redact(self.inner.base_url())
    }

    #[getter]
    fn app_id(&self) -> String {
        self.inner.app_id().to_string()
    }
}

/// Parse a saved MTA reply.
#[pyfunction]
#[pyo3(signature = (endpoint, text, options=None))]
pub fn mta_parse(
    py: Python<'_>,
    endpoint: &str,
    text: super::Text,
    options: Option<HashMap<String, String>>,
) -> PyResult<PyDataFrame> {
    let opts = options.unwrap_or_default();
    py.detach(|| guard(|| mta::parse_saved(endpoint, text.as_str()?, &opts).map(PyDataFrame)))
}

/// `(column, MTA name, metric id)` of one metric.
type MetricInfo = (&'static str, &'static str, u32);

/// `(report, path, [(name, mta_name, id)])` of every MTA report.
#[pyfunction]
pub fn mta_reports() -> Vec<(&'static str, &'static str, Vec<MetricInfo>)> {
    mta::REPORTS
        .iter()
        .map(|(name, path, metrics, _)| {
            (
                *name,
                *path,
                metrics.iter().map(|m| (m.name, m.mta, m.id)).collect(),
            )
        })
        .collect()
}
