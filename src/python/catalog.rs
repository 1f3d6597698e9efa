//! `_native.report_catalog` and `_native.report_schema`: the one catalog
//! of reports ([`crate::providers::catalog`]) for Python.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_polars::PyDataFrame;

use super::guard;
use crate::providers::catalog;

/// Every report of every provider: dicts of `provider`, `name`,
/// `endpoint`, `description`, `dated`, `options` (dicts of `name`,
/// `values`, `default`, `doc`, `column`), `kind`, `day_column`, `cohorts`
/// (dicts of `options`, `period`, `horizon_days`), `history_days`,
/// `pages_per_day` and `row_key` (see [`catalog::ReportInfo`]).
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
                    od.set_item("column", o.column)?;
                    Ok(od)
                })
                .collect::<PyResult<Vec<_>>>()?;
            d.set_item("options", opts)?;
            d.set_item("kind", r.kind.as_str())?;
            d.set_item("day_column", &r.day_column)?;
            let cohorts = r
                .cohorts
                .iter()
                .map(|c| {
                    let cd = PyDict::new(py);
                    let when = PyDict::new(py);
                    for (k, v) in &c.options {
                        when.set_item(k, v)?;
                    }
                    cd.set_item("options", when)?;
                    cd.set_item("period", c.period)?;
                    cd.set_item("horizon_days", c.horizon_days)?;
                    Ok(cd)
                })
                .collect::<PyResult<Vec<_>>>()?;
            d.set_item("cohorts", cohorts)?;
            d.set_item("history_days", r.history_days)?;
            d.set_item("pages_per_day", r.pages_per_day)?;
            d.set_item("row_key", r.row_key)?;
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
