//! The one door through which appstats threads enter Python.
//!
//! Runtime threads call into Python for three things: handing the result of
//! an `_async` call to its event loop, progress callbacks and log records.
//! Once the interpreter starts to finalize, a thread that attaches to it
//! crashes the process (CPython ends such threads with `pthread_exit`, or
//! frees objects under them). So every such call goes through [`attach`],
//! and an `atexit` hook ([`close`]) shuts the door: it marks Python as gone,
//! then waits — with the GIL released, so they can finish — for the calls
//! already inside. `atexit` hooks run before CPython marks itself as
//! finalizing, so after `close` returns no appstats thread touches Python.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

static CLOSED: AtomicBool = AtomicBool::new(false);
static INSIDE: AtomicUsize = AtomicUsize::new(0);

/// How long `close` waits for calls already inside Python (a progress
/// callback that never returns must not hang the exit).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

struct Leave;

impl Drop for Leave {
    fn drop(&mut self) {
        INSIDE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Run `f` with the GIL from any thread, unless the interpreter is shutting
/// down (then `None`, and `f` is not called).
pub fn attach<R>(f: impl FnOnce(Python<'_>) -> R) -> Option<R> {
    // Announce first, then look: `close` sets the flag first, then waits
    // for the count, so one of the two always sees the other (SeqCst).
    INSIDE.fetch_add(1, Ordering::SeqCst);
    let _leave = Leave;
    if CLOSED.load(Ordering::SeqCst) {
        return None;
    }
    Some(Python::attach(f))
}

/// Whether Python may still be entered.
pub fn is_open() -> bool {
    !CLOSED.load(Ordering::SeqCst)
}

/// The `atexit` hook: shut the door and wait for the calls inside.
#[pyfunction]
pub fn _close(py: Python<'_>) {
    CLOSED.store(true, Ordering::SeqCst);
    py.detach(|| {
        let started = Instant::now();
        while INSIDE.load(Ordering::SeqCst) > 0 && started.elapsed() < DRAIN_TIMEOUT {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// `os.register_at_fork(after_in_child=...)`: the parent's threads that
/// were inside Python at the fork do not exist in the child.
#[pyfunction]
pub fn _after_fork_in_child() {
    INSIDE.store(0, Ordering::SeqCst);
}

/// Register [`_close`] with `atexit` and the fork hook (at import of the
/// extension).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let hook = wrap_pyfunction!(_close, m)?;
    m.add_function(hook.clone())?;
    py.import("atexit")?.call_method1("register", (hook,))?;
    let child = wrap_pyfunction!(_after_fork_in_child, m)?;
    m.add_function(child.clone())?;
    let os = py.import("os")?;
    if os.hasattr("register_at_fork")? {
        // (POSIX only; Windows has no fork)
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item("after_in_child", child)?;
        os.call_method("register_at_fork", (), Some(&kwargs))?;
    }
    Ok(())
}

/// The `log` → Python `logging` bridge, behind the door.
struct GatedLogger(pyo3_log::Logger);

impl log::Log for GatedLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        is_open() && self.0.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        // The filter check is plain Rust (levels cached per logger): only a
        // record that will be emitted takes the GIL. `Logger::log` attaches
        // by itself; doing it inside our `attach` counts it as inside.
        if self.0.enabled(record.metadata()) {
            let _ = attach(|_py| self.0.log(record));
        }
    }

    fn flush(&self) {}
}

/// Install the logging bridge (records go to the `appstats` logger tree).
pub fn install_logger(py: Python<'_>) -> PyResult<()> {
    let logger = pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels)?;
    if log::set_boxed_logger(Box::new(GatedLogger(logger))).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
    Ok(())
}
