//! The process-wide tokio runtime, one per process.
//!
//! A forked child inherits the parent's memory but none of its threads: a
//! runtime created before `fork()` has no workers in the child, and every
//! call that used it would hang. The runtime is therefore keyed by process
//! id: the first call in a new process starts a fresh runtime there (the
//! parent's copy is leaked in the child — dropping it would wait for
//! threads that do not exist).

use std::sync::Mutex;

use tokio::runtime::Runtime;

/// Worker threads of the shared runtime (the work is I/O and parsing; two
/// workers keep a 2-core machine busy without starving the caller).
const WORKER_THREADS: usize = 2;

static CURRENT: Mutex<Option<(u32, &'static Runtime)>> = Mutex::new(None);

/// The shared multi-threaded runtime of this process (created on first use,
/// and again after a `fork()`).
pub fn runtime() -> &'static Runtime {
    let pid = std::process::id();
    let mut current = CURRENT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match *current {
        Some((owner, rt)) if owner == pid => rt,
        _ => {
            let rt: &'static Runtime = Box::leak(Box::new(build()));
            *current = Some((pid, rt));
            rt
        }
    }
}

fn build() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .enable_all()
        .thread_name("appstats")
        .build()
        // Only fails when the OS refuses threads or an epoll instance; there
        // is no way to fetch anything without them.
        .expect("cannot start the tokio runtime")
}

#[cfg(test)]
mod tests;
