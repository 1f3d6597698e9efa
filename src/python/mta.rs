//! `MtaClient`: the native Tencent MTA client.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3_polars::PyDataFrame;

use super::{block_on, guard, into_awaitable, progress, HttpArgs};
use crate::providers::mta::{self, Client, Request};

/// Native MTA client (use `appstats.Mta`, which wraps this).
#[pyclass(module = "appstats._native", frozen)]
pub struct MtaClient {
    inner: Arc<Client>,
}

#[pymethods]
impl MtaClient {
    #[new]
    #[pyo3(signature = (app_id, secret_key, *, base_url=None, http))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        app_id: &str,
        secret_key: &str,
        base_url: Option<String>,
        http: HttpArgs,
    ) -> PyResult<Self> {
        guard(|| {
            let cfg = http.config()?;
            Ok(MtaClient {
                inner: Arc::new(Client::new(app_id, secret_key, base_url.as_deref(), cfg)?),
            })
        })
    }

    #[pyo3(signature = (report, start, end, options=None, progress_cb=None))]
    fn fetch(
        &self,
        py: Python<'_>,
        report: &str,
        start: &str,
        end: &str,
        options: Option<HashMap<String, String>>,
        progress_cb: Option<Py<PyAny>>,
    ) -> PyResult<PyDataFrame> {
        let req = guard(|| Request::new(report, start, end, &options.unwrap_or_default()))?;
        let client = self.inner.clone();
        let p = progress(progress_cb);
        block_on(py, async move {
            client.fetch(&req, &p).await.map(|f| PyDataFrame(f.data))
        })
    }

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
        let req = guard(|| Request::new(report, start, end, &options.unwrap_or_default()))?;
        let client = self.inner.clone();
        let p = progress(progress_cb);
        into_awaitable(py, async move {
            client.fetch(&req, &p).await.map(|f| PyDataFrame(f.data))
        })
    }

    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        super::stats_dict(py, &self.inner.http.stats)
    }

    #[getter]
    fn base_url(&self) -> String {
        self.inner.base_url().to_string()
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
