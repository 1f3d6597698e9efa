//! Fan-out: run many tasks of many apps on the shared runtime and stream
//! their results back as they finish.
//!
//! The engine knows no provider. A [`Runner`] says how to connect to an app
//! (build its client: its own credentials, token cache and rate limit) and
//! how to run one task with that client; the engine decides when:
//!
//! * at most `concurrency` requests are in flight at once over all apps
//!   (the global cap: the HTTP layer takes a permit of the run's gate for
//!   each request, see [`request_gate`]), each app within its own rate
//!   limit and concurrency;
//! * tasks are taken round-robin from a window of at most `active_apps`
//!   apps (and at most that many tasks run at once), so that one app's
//!   rate limit does not hold the others up — a task waiting for its app's
//!   next request slot holds no request permit — while only that many
//!   clients (connection pools, token caches) exist at a time: an app's
//!   client is built when its first task starts and dropped when its last
//!   task ends, so memory does not grow with the number of apps;
//! * results go out through a bounded channel: when the consumer is slow,
//!   the engine stops starting tasks instead of piling up frames;
//! * dropping the [`Run`] (or [`Run::cancel`]) aborts everything in flight
//!   — no request is sent after it;
//! * an error the runner calls final for the app ([`Runner::ends_app`]:
//!   credentials refused, quota used up) ends that app for the run: its
//!   tasks not started yet fail at once with the same error class (saying
//!   they were skipped because of it), and its running tasks send no
//!   further request (the HTTP layer's [`request_gate`] refuses it).
//!
//! Each outcome carries the requests and retries its task made, counted by
//! the HTTP layer through a task-local [`Counters`] (see [`note_request`]).
//! Outside a fan-out these hooks do nothing.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// A boxed, sendable future (what runners return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How to reach apps and run tasks against them.
pub trait Runner: Send + Sync + 'static {
    /// What identifies and configures one app (credentials, limits).
    type App: Send + Sync + 'static;
    /// A connected app: its client, shared by its running tasks.
    type Client: Send + Sync + 'static;
    /// One unit of work for an app.
    type Task: Send + Sync + 'static;
    type Output: Send + 'static;

    /// Build the client of `app` (may fetch a shared credential first).
    fn connect<'a>(&'a self, app: &'a Self::App) -> BoxFuture<'a, Result<Self::Client>>;

    /// Run `task` with the app's client.
    fn run<'a>(
        &'a self,
        client: &'a Self::Client,
        task: &'a Self::Task,
    ) -> BoxFuture<'a, Result<Self::Output>>;

    /// Called once an app's last task has finished, with the client (e.g.
    /// to read its final state) before it is dropped.
    fn finished(&self, _app: &Self::App, _client: &Self::Client) {}

    /// Whether a task's `error` is final for its app in this run (its
    /// credentials were refused, its quota is used up): the app's other
    /// tasks are then not run (see the module docs). Default: never.
    fn ends_app(&self, _error: &Error) -> bool {
        false
    }
}

/// Limits of one run.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Requests in flight at once, over all apps.
    pub concurrency: usize,
    /// Apps with a live client at once (their tasks are interleaved), and
    /// tasks running at once.
    pub active_apps: usize,
    /// Finished results waiting for the consumer before the engine pauses.
    pub buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrency: 32,
            active_apps: 64,
            buffer: 64,
        }
    }
}

impl Limits {
    pub fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("concurrency", self.concurrency),
            ("active_apps", self.active_apps),
            ("buffer", self.buffer),
        ] {
            if v == 0 || v > 100_000 {
                return Err(Error::invalid(format!(
                    "{what} must be between 1 and 100000, got {v}"
                )));
            }
        }
        Ok(())
    }
}

/// The result of one task.
#[derive(Debug)]
pub struct Outcome<O> {
    /// Index of the task in the list given to [`spawn`].
    pub task: usize,
    pub result: Result<O>,
    /// HTTP requests the task sent (retries and token requests included).
    pub requests: u64,
    /// Of those, retries after a retryable failure.
    pub retries: u64,
    pub started: SystemTime,
    pub finished: SystemTime,
}

/// Requests and retries of the task being polled.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub retries: AtomicU64,
}

/// What a running task shares with the HTTP layer.
struct TaskCtx {
    counters: Arc<Counters>,
    /// The run's global cap on requests in flight.
    gate: Arc<Semaphore>,
    /// Set once a task of the same app failed with a final error.
    halt: Arc<OnceLock<Error>>,
}

/// The error of a task of an app that an earlier final error ended: same
/// class, code and provider, saying why it was skipped.
fn skipped(cause: &Error) -> Error {
    let mut e = cause.clone().map_message(|m| {
        format!(
            "skipped: an earlier task of this app failed with this error, final for the run: {m}"
        )
    });
    if let Error::Auth { renewable, .. } = &mut e {
        *renewable = false;
    }
    e
}

tokio::task_local! {
    static CTX: TaskCtx;
}

/// Count one request for the fan-out task being run, if any (called by the
/// HTTP layer for every request it sends).
pub fn note_request() {
    let _ = CTX.try_with(|c| c.counters.requests.fetch_add(1, Ordering::Relaxed));
}

/// Count one retry for the fan-out task being run, if any.
pub fn note_retry() {
    let _ = CTX.try_with(|c| c.counters.retries.fetch_add(1, Ordering::Relaxed));
}

/// Inside a fan-out task: wait for a permit of the run's global request
/// cap (held until the reply is read). Outside: `Ok(None)` at once. An
/// error when the task's app was ended by a final error (see
/// [`Runner::ends_app`]): the request must not be sent.
pub async fn request_gate() -> Result<Option<OwnedSemaphorePermit>> {
    let Ok((gate, halt)) = CTX.try_with(|c| (c.gate.clone(), c.halt.clone())) else {
        return Ok(None);
    };
    if let Some(e) = halt.get() {
        return Err(skipped(e));
    }
    let permit = gate.acquire_owned().await.ok();
    match halt.get() {
        Some(e) => Err(skipped(e)),
        None => Ok(permit),
    }
}

/// A running fan-out: receive outcomes with [`Run::next`]; dropping it
/// cancels what is still running.
pub struct Run<O> {
    rx: mpsc::Receiver<Outcome<O>>,
    engine: tokio::task::JoinHandle<()>,
    total: usize,
}

impl<O> Run<O> {
    /// The next outcome, `None` once every task has reported.
    pub async fn next(&mut self) -> Option<Outcome<O>> {
        self.rx.recv().await
    }

    /// Tasks in the run.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Stop: tasks in flight are dropped (their requests aborted), no new
    /// task starts, and [`Run::next`] returns what was already finished,
    /// then `None`.
    pub fn cancel(&self) {
        self.engine.abort();
    }
}

impl<O> Drop for Run<O> {
    fn drop(&mut self) {
        self.engine.abort();
    }
}

/// One app's queue: its tasks not started yet, its tasks running, its
/// client once connected.
struct Slot<C> {
    app: usize,
    pending: VecDeque<usize>,
    running: usize,
    client: Option<Arc<C>>,
    /// Connecting failed: every task of the app reports this error.
    failed: Option<Error>,
    /// A task of the app failed with a final error: the rest are skipped.
    halt: Arc<OnceLock<Error>>,
}

enum Event<C, O> {
    Connected { slot: usize, client: Result<C> },
    Done { slot: usize, outcome: Outcome<O> },
}

/// Start running `tasks` (each `(app index, task)`) on the shared runtime.
/// Tasks of one app keep their relative order of start; apps start in the
/// order of their first task.
pub fn spawn<R: Runner>(
    runner: Arc<R>,
    apps: Vec<R::App>,
    tasks: Vec<(usize, R::Task)>,
    limits: Limits,
) -> Result<Run<R::Output>> {
    limits.validate()?;
    if let Some((app, _)) = tasks.iter().find(|(a, _)| *a >= apps.len()) {
        return Err(Error::invalid(format!(
            "task for app {app}, but there are {} apps",
            apps.len()
        )));
    }
    let total = tasks.len();
    let (tx, rx) = mpsc::channel(limits.buffer);
    let engine = crate::runtime::runtime().spawn(drive(runner, apps, tasks, limits, tx));
    Ok(Run { rx, engine, total })
}

async fn drive<R: Runner>(
    runner: Arc<R>,
    apps: Vec<R::App>,
    tasks: Vec<(usize, R::Task)>,
    limits: Limits,
    tx: mpsc::Sender<Outcome<R::Output>>,
) {
    let apps: Arc<Vec<R::App>> = Arc::new(apps);
    let tasks: Arc<Vec<(usize, R::Task)>> = Arc::new(tasks);
    // Apps in order of their first task, each with its queue.
    let mut slots: Vec<Slot<R::Client>> = vec![];
    let mut slot_of: std::collections::HashMap<usize, usize> = Default::default();
    for (i, (app, _)) in tasks.iter().enumerate() {
        let s = *slot_of.entry(*app).or_insert_with(|| {
            slots.push(Slot {
                app: *app,
                pending: VecDeque::new(),
                running: 0,
                client: None,
                failed: None,
                halt: Arc::new(OnceLock::new()),
            });
            slots.len() - 1
        });
        slots[s].pending.push_back(i);
    }
    let mut waiting: VecDeque<usize> = (0..slots.len()).collect();
    // Active apps, in round-robin order.
    let mut active: VecDeque<usize> = VecDeque::new();
    let mut running = 0usize;
    let mut work: FuturesUnordered<BoxFuture<'static, Event<R::Client, R::Output>>> =
        FuturesUnordered::new();
    // Finished outcomes the consumer has not taken yet. In-flight tasks
    // keep being polled while they wait; new tasks start only while fewer
    // than `buffer` wait (backpressure without stalling what runs).
    let mut ready: VecDeque<Outcome<R::Output>> = VecDeque::new();
    let gate = Arc::new(Semaphore::new(limits.concurrency));

    loop {
        // Admit apps while there is room, and start their connections.
        while active.len() < limits.active_apps {
            let Some(s) = waiting.pop_front() else { break };
            active.push_back(s);
            let runner = runner.clone();
            let apps = apps.clone();
            let app = slots[s].app;
            work.push(Box::pin(async move {
                let client = runner.connect(&apps[app]).await;
                Event::Connected { slot: s, client }
            }));
        }
        // Start tasks round-robin over the connected apps.
        let mut idle_rounds = 0;
        while running < limits.active_apps
            && ready.len() < limits.buffer
            && idle_rounds < active.len()
        {
            let Some(s) = active.pop_front() else { break };
            active.push_back(s);
            let slot = &mut slots[s];
            let connected = slot.client.is_some() || slot.failed.is_some();
            let Some(t) = connected.then(|| slot.pending.pop_front()).flatten() else {
                idle_rounds += 1;
                continue;
            };
            idle_rounds = 0;
            slot.running += 1;
            running += 1;
            let runner = runner.clone();
            let tasks = tasks.clone();
            let client = slot.client.clone();
            let failed = slot.failed.clone();
            let gate = gate.clone();
            let halt = slot.halt.clone();
            work.push(Box::pin(async move {
                let counters = Arc::new(Counters::default());
                let started = SystemTime::now();
                let ended = halt.get().map(skipped);
                let ctx = TaskCtx {
                    counters: counters.clone(),
                    gate,
                    halt,
                };
                let result = match (client, failed, ended) {
                    (_, Some(e), _) => Err(e),
                    (_, None, Some(e)) => Err(e),
                    (Some(c), None, None) => CTX.scope(ctx, runner.run(&c, &tasks[t].1)).await,
                    (None, None, None) => {
                        Err(Error::Internal("task started before its app".into()))
                    }
                };
                Event::Done {
                    slot: s,
                    outcome: Outcome {
                        task: t,
                        result,
                        requests: counters.requests.load(Ordering::Relaxed),
                        retries: counters.retries.load(Ordering::Relaxed),
                        started,
                        finished: SystemTime::now(),
                    },
                }
            }));
        }
        if work.is_empty() && ready.is_empty() {
            // every task has reported
            return;
        }
        tokio::select! {
            permit = tx.reserve(), if !ready.is_empty() => {
                let Ok(permit) = permit else {
                    return; // the consumer is gone
                };
                if let Some(o) = ready.pop_front() {
                    permit.send(o);
                }
            }
            Some(event) = work.next(), if !work.is_empty() => match event {
                Event::Connected { slot, client } => match client {
                    Ok(c) => slots[slot].client = Some(Arc::new(c)),
                    Err(e) => slots[slot].failed = Some(e),
                },
                Event::Done { slot, outcome } => {
                    running -= 1;
                    slots[slot].running -= 1;
                    if let Err(e) = &outcome.result {
                        if runner.ends_app(e) {
                            // the first final error wins; the app's other
                            // tasks stop before their next request
                            let _ = slots[slot].halt.set(e.clone());
                        }
                    }
                    ready.push_back(outcome);
                }
            },
        }
        // Retire apps whose tasks are all done: their clients go away.
        let mut keep = VecDeque::with_capacity(active.len());
        for s in active.drain(..) {
            let slot = &mut slots[s];
            let done = slot.pending.is_empty()
                && slot.running == 0
                && (slot.client.is_some() || slot.failed.is_some());
            if done {
                if let Some(c) = slot.client.take() {
                    runner.finished(&apps[slot.app], &c);
                }
                slot.failed = None;
            } else {
                keep.push_back(s);
            }
        }
        active = keep;
    }
}

#[cfg(test)]
mod tests;
