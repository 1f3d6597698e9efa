//! The process-wide tokio runtime used by blocking (non-async) calls.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

/// The shared multi-threaded runtime (created on first use).
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("appstats")
            .build()
            .expect("cannot start the tokio runtime")
    })
}
