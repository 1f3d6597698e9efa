//! Core futures as asyncio awaitables.
//!
//! The future runs on the shared runtime; its result is handed to the event
//! loop with `loop.call_soon_threadsafe` from a blocking-pool thread, through
//! the lifecycle door (never after the interpreter began to shut down).
//! Cancelling the asyncio future (e.g. `asyncio.wait_for` timing out) aborts
//! the Rust task at its next await point, which drops its in-flight requests.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::IntoPyObjectExt;
use tokio::task::AbortHandle;

use super::{flatten, lifecycle};

/// Done-callback of the asyncio future: aborts the Rust task (a no-op once
/// it has finished).
#[pyclass(frozen)]
struct AbortTask(AbortHandle);

#[pymethods]
impl AbortTask {
    fn __call__(&self, _future: &Bound<'_, PyAny>) {
        self.0.abort();
    }
}

/// Runs on the event loop: settle the future unless it was cancelled.
#[pyfunction]
fn _settle(future: &Bound<'_, PyAny>, ok: bool, value: Bound<'_, PyAny>) -> PyResult<()> {
    if future.call_method0("done")?.is_truthy()? {
        return Ok(());
    }
    if ok {
        future.call_method1("set_result", (value,))?;
    } else {
        future.call_method1("set_exception", (value,))?;
    }
    Ok(())
}

fn settle_fn(py: Python<'_>) -> PyResult<&Py<PyAny>> {
    static SETTLE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    SETTLE.get_or_try_init(py, || {
        Ok(wrap_pyfunction!(_settle, py)?.into_any().unbind())
    })
}

/// Wrap a core future as an awaitable of the running event loop.
pub fn into_awaitable<'py, T>(
    py: Python<'py>,
    fut: impl Future<Output = crate::Result<T>> + Send + 'static,
) -> PyResult<Bound<'py, PyAny>>
where
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let py_future = event_loop.call_method0("create_future")?;
    let settle = settle_fn(py)?.clone_ref(py);
    let loop_ref = event_loop.unbind();
    let future_ref = py_future.clone().unbind();
    let task = crate::runtime::runtime().spawn(async move {
        let result = AssertUnwindSafe(fut).catch_unwind().await;
        // Never hold the GIL on a runtime worker: hand over from the
        // blocking pool.
        tokio::task::spawn_blocking(move || {
            lifecycle::attach(|py| {
                let (ok, value) = match flatten(result).and_then(|v| v.into_py_any(py)) {
                    Ok(v) => (true, v),
                    Err(e) => (false, e.into_value(py).into_any()),
                };
                // Fails only when the loop is already closed: nobody waits.
                let _ = loop_ref.call_method1(
                    py,
                    "call_soon_threadsafe",
                    (settle, future_ref, ok, value),
                );
            });
        });
    });
    py_future.call_method1("add_done_callback", (AbortTask(task.abort_handle()),))?;
    Ok(py_future)
}
