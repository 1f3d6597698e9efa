//! `_native.report_catalog` and `_native.report_schema`: the one catalog
//! of reports ([`crate::providers::catalog`]) for Python.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_polars::PyDataFrame;

use super::guard;
use crate::providers::catalog;

/// Every report of every provider: dicts of `provider`, `name`,
/// `endpoint`, `description`, `dated` and `options` (dicts of `name`,
/// `values`, `default`, `doc`).
#[pyfunction]
pub fn report_catalog(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyDict>>> {
    catalog::reports()
        .into_iter()
        .map(|r| {
            let d = PyDict::new(py);
            d.set_item("provider", r.provider)?;
            d.set_item("name", r.name)?;
            d.set_item("endpoint", r.endpoint)?;
            d.set_item("description", r.description)?;
            d.set_item("dated", r.dated)?;
            let opts = r
                .options
                .iter()
                .map(|o| {
                    let od = PyDict::new(py);
                    od.set_item("name", o.name)?;
                    od.set_item("values", o.values.clone())?;
                    od.set_item("default", o.default)?;
                    od.set_item("doc", o.doc)?;
                    Ok(od)
                })
                .collect::<PyResult<Vec<_>>>()?;
            d.set_item("options", opts)?;
            Ok(d)
        })
        .collect()
}

/// The frame `report` returns for `options`, with no rows (its fixed
/// schema); bad options raise `InvalidArgument`. Nothing is fetched.
#[pyfunction]
#[pyo3(signature = (provider, report, options=None))]
pub fn report_schema(
    provider: &str,
    report: &str,
    options: Option<HashMap<String, String>>,
) -> PyResult<PyDataFrame> {
    let opts = options.unwrap_or_default();
    guard(|| catalog::report_schema(provider, report, &opts).map(PyDataFrame))
}
