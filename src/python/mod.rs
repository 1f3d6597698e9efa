//! The PyO3 layer: the only place that knows about Python.
//!
//! Native classes are thin: they validate, release the GIL, run the core on
//! the shared tokio runtime, and hand back Polars frames. Exceptions are the
//! classes defined in `appstats/errors.py`.

mod args;
mod awaitable;
mod baidu;
mod catalog;
mod errors;
mod fanout;
mod lifecycle;
mod mta;
mod sandbox;
mod tim;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::Error;
use crate::http::{Progress, ProgressFn};
pub use args::HttpArgs;
pub use errors::to_py;

pub use awaitable::into_awaitable;

/// How often a blocking call on the main thread looks for Ctrl-C / Jupyter's
/// interrupt (signals are only delivered to Python's main thread).
const SIGNAL_POLL: Duration = Duration::from_millis(50);

/// Run a core future to completion with the GIL released; panics become
/// `appstats.InternalError`. On the main thread the wait wakes every
/// [`SIGNAL_POLL`] to run Python's signal handlers: a `KeyboardInterrupt`
/// drops the future (and its in-flight requests) and is raised at once.
pub fn block_on<T: Send>(
    py: Python<'_>,
    fut: impl Future<Output = crate::Result<T>> + Send,
) -> PyResult<T> {
    let fut = AssertUnwindSafe(fut).catch_unwind();
    if !is_main_thread(py)? {
        return flatten(py.detach(|| crate::runtime::runtime().block_on(fut)));
    }
    let r = py.detach(|| {
        crate::runtime::runtime().block_on(async {
            tokio::pin!(fut);
            // The first check after one period: an interval's immediate
            // first tick would still wait for the timer's next millisecond.
            let start = tokio::time::Instant::now() + SIGNAL_POLL;
            let mut tick = tokio::time::interval_at(start, SIGNAL_POLL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    r = &mut fut => return Ok::<_, PyErr>(r),
                    _ = tick.tick() => {
                        // This is the caller's own thread, not a runtime
                        // thread: the interpreter is alive while it waits.
                        Python::attach(|py| py.check_signals())?;
                    }
                }
            }
        })
    });
    flatten(r?)
}

fn is_main_thread(py: Python<'_>) -> PyResult<bool> {
    let threading = py.import("threading")?;
    let main = threading.call_method0("main_thread")?;
    Ok(threading.call_method0("current_thread")?.is(&main))
}

fn flatten<T>(r: std::thread::Result<crate::Result<T>>) -> PyResult<T> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(e)),
        Err(p) => Err(to_py(Error::Internal(panic_message(p)))),
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("appstats panicked ({msg}); please report this bug")
}

/// Catch panics in synchronous code that does not need the runtime.
pub fn guard<T>(f: impl FnOnce() -> crate::Result<T>) -> PyResult<T> {
    flatten(std::panic::catch_unwind(AssertUnwindSafe(f)))
}

/// A saved reply: `str`, or `bytes` (UTF-8, used without a copy).
pub enum Text {
    Str(pyo3::pybacked::PyBackedStr),
    Bytes(pyo3::pybacked::PyBackedBytes),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Text {
    type Error = PyErr;

    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.extract::<pyo3::pybacked::PyBackedStr>() {
            return Ok(Text::Str(s));
        }
        if let Ok(b) = obj.extract::<pyo3::pybacked::PyBackedBytes>() {
            return Ok(Text::Bytes(b));
        }
        let kind = obj
            .get_type()
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "?".into());
        Err(to_py(Error::invalid(format!(
            "text (the saved reply) must be str or bytes, got {kind}"
        ))))
    }
}

impl Text {
    pub fn as_str(&self) -> crate::Result<&str> {
        match self {
            Text::Str(s) => Ok(s),
            Text::Bytes(b) => std::str::from_utf8(b)
                .map_err(|e| Error::invalid(format!("the reply is not UTF-8: {e}"))),
        }
    }
}

/// The defaults of the seven HTTP settings of `provider`'s clients (the
/// Python wrappers pass only the settings a caller gave).
#[pyfunction]
fn http_defaults<'py>(py: Python<'py>, provider: &str) -> PyResult<Bound<'py, PyDict>> {
    let cfg = crate::providers::http_defaults(provider).map_err(to_py)?;
    args::http_dict(py, &cfg)
}

/// A progress reporter calling a Python callable `(done, total)`.
pub fn progress(cb: Option<Py<PyAny>>) -> Progress {
    let f: Option<ProgressFn> = cb.map(|cb| {
        let cb = Arc::new(cb);
        Arc::new(move |done: u64, total: u64| {
            let failed = lifecycle::attach(|py| cb.call1(py, (done, total)).err()).flatten();
            if let Some(e) = failed {
                log::warn!("progress callback failed: {e}");
            }
        }) as ProgressFn
    });
    Progress::new(f)
}

/// Stats counters as a dict.
pub fn stats_dict<'py>(py: Python<'py>, s: &crate::http::Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in s.snapshot() {
        d.set_item(k, v)?;
    }
    Ok(d)
}

/// Benchmark baseline: parse `text` with bare `serde_json` into a
/// `serde_json::Value` tree (no tables) and return the number of top-level
/// keys, with the GIL released.
#[pyfunction]
fn _serde_parse(py: Python<'_>, text: &str) -> PyResult<usize> {
    py.detach(|| {
        guard(|| {
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Error::Internal(format!("not JSON: {e}")))?;
            Ok(v.as_object().map_or(0, |o| o.len()))
        })
    })
}

/// Today in China (UTC+8) as `YYYY-MM-DD`: the one definition of the
/// providers' "today", shared with the Rust clients and the sandbox.
#[pyfunction]
fn today_cn() -> String {
    crate::providers::common::today_cn().to_string()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    lifecycle::install_logger(m.py())?;
    lifecycle::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<baidu::BaiduClient>()?;
    m.add_class::<sandbox::NativeSandbox>()?;
    m.add_function(wrap_pyfunction!(baidu::baidu_parse, m)?)?;
    m.add_function(wrap_pyfunction!(baidu::baidu_reports, m)?)?;
    m.add_class::<mta::MtaClient>()?;
    m.add_function(wrap_pyfunction!(mta::mta_parse, m)?)?;
    m.add_function(wrap_pyfunction!(mta::mta_reports, m)?)?;
    m.add_class::<tim::TimClient>()?;
    m.add_function(wrap_pyfunction!(tim::tim_app_info_many, m)?)?;
    m.add_function(wrap_pyfunction!(tim::tim_app_info_many_async, m)?)?;
    m.add_function(wrap_pyfunction!(tim::gen_usersig, m)?)?;
    m.add_function(wrap_pyfunction!(tim::verify_usersig, m)?)?;
    m.add_function(wrap_pyfunction!(tim::tim_parse, m)?)?;
    m.add_function(wrap_pyfunction!(tim::tim_fields, m)?)?;
    m.add_function(wrap_pyfunction!(tim::tim_regions, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_raise_panic, m)?)?;
    m.add_function(wrap_pyfunction!(_serde_parse, m)?)?;
    m.add_function(wrap_pyfunction!(http_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(today_cn, m)?)?;
    m.add_function(wrap_pyfunction!(catalog::report_catalog, m)?)?;
    m.add_function(wrap_pyfunction!(catalog::report_schema, m)?)?;
    fanout::register(m)?;
    Ok(())
}
