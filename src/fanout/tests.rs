use std::sync::Mutex;
use std::time::Duration;

use super::*;

/// Apps are numbers; a task sleeps `ms` and returns `app * 1000 + n`.
struct Fake {
    live: Arc<AtomicU64>,
    max_live: Arc<AtomicU64>,
    in_flight: Arc<AtomicU64>,
    max_in_flight: Arc<AtomicU64>,
    connects: Mutex<Vec<usize>>,
}

impl Fake {
    fn new() -> Self {
        Fake {
            live: Default::default(),
            max_live: Default::default(),
            in_flight: Default::default(),
            max_in_flight: Default::default(),
            connects: Mutex::new(vec![]),
        }
    }
}

struct FakeClient {
    app: usize,
    live: Arc<AtomicU64>,
}

impl Drop for FakeClient {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Runner for Fake {
    type App = usize;
    type Client = FakeClient;
    type Task = (u64, u64);
    type Output = u64;

    fn connect<'a>(&'a self, app: &'a usize) -> BoxFuture<'a, Result<FakeClient>> {
        Box::pin(async move {
            self.connects.lock().unwrap().push(*app);
            if *app == 13 {
                return Err(Error::invalid("app 13 has bad credentials"));
            }
            let n = self.live.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_live.fetch_max(n, Ordering::SeqCst);
            Ok(FakeClient {
                app: *app,
                live: self.live.clone(),
            })
        })
    }

    fn run<'a>(
        &'a self,
        client: &'a FakeClient,
        task: &'a (u64, u64),
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            let permit = request_gate().await?;
            assert!(permit.is_some(), "inside a run: gated");
            let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(n, Ordering::SeqCst);
            note_request();
            tokio::time::sleep(Duration::from_millis(task.1)).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            drop(permit);
            if task.0 == 99 {
                note_retry();
                return Err(Error::invalid("task 99 fails"));
            }
            if task.0 == 77 {
                return Err(Error::QuotaExceeded {
                    provider: "fake",
                    code: 17,
                    message: "used up".into(),
                });
            }
            Ok(client.app as u64 * 1000 + task.0)
        })
    }

    fn ends_app(&self, error: &Error) -> bool {
        matches!(error, Error::QuotaExceeded { .. })
    }
}

fn collect(run: Run<u64>) -> Vec<Outcome<u64>> {
    let mut run = run;
    crate::runtime::runtime().block_on(async {
        let mut out = vec![];
        while let Some(o) = run.next().await {
            out.push(o);
        }
        out
    })
}

#[test]
fn every_task_reports_once_within_the_limits() {
    let fake = Arc::new(Fake::new());
    let apps: Vec<usize> = (100..140).collect(); // (app 13 cannot connect)
    let mut tasks = vec![];
    for a in 0..40 {
        for n in 0..3 {
            tasks.push((a, (n, 5)));
        }
    }
    tasks.push((7, (99, 1)));
    let limits = Limits {
        concurrency: 8,
        active_apps: 12,
        buffer: 4,
    };
    let out = collect(spawn(fake.clone(), apps, tasks, limits).unwrap());
    assert_eq!(out.len(), 121);
    let mut seen: Vec<usize> = out.iter().map(|o| o.task).collect();
    seen.sort();
    assert_eq!(seen, (0..121).collect::<Vec<_>>());
    for o in &out {
        assert_eq!(o.requests, 1);
    }
    let failed: Vec<_> = out.iter().filter(|o| o.result.is_err()).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].retries, 1);
    // the global cap holds although more tasks run than it allows
    assert!(fake.max_in_flight.load(Ordering::SeqCst) <= 8);
    assert!(
        fake.max_live.load(Ordering::SeqCst) <= 12,
        "clients bounded"
    );
    assert_eq!(fake.live.load(Ordering::SeqCst), 0, "every client dropped");
    // the concurrency cap is used (tasks of several apps interleave)
    assert!(fake.max_in_flight.load(Ordering::SeqCst) >= 6);
}

#[test]
fn a_failed_connection_fails_that_apps_tasks_only() {
    let fake = Arc::new(Fake::new());
    let tasks = vec![(0, (1, 1)), (1, (1, 1)), (1, (2, 1)), (2, (1, 1))];
    let out = collect(spawn(fake.clone(), vec![12, 13, 14], tasks, Limits::default()).unwrap());
    let mut errs: Vec<usize> = out
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.task)
        .collect();
    errs.sort();
    assert_eq!(errs, vec![1, 2]);
    assert_eq!(
        fake.connects.lock().unwrap().len(),
        3,
        "one connect per app"
    );
}

#[test]
fn a_final_error_skips_the_apps_remaining_tasks() {
    let fake = Arc::new(Fake::new());
    // app 0: a quota error first, then four tasks; app 1 unaffected
    let mut tasks = vec![(0, (77, 1))];
    tasks.extend((1..5).map(|n| (0, (n, 1))));
    tasks.extend((1..5).map(|n| (1, (n, 1))));
    let limits = Limits {
        concurrency: 8,
        active_apps: 1, // one task at a time: app 0's run in order
        buffer: 16,
    };
    let out = collect(spawn(fake.clone(), vec![10, 11], tasks, limits).unwrap());
    assert_eq!(out.len(), 9);
    for o in out.iter().filter(|o| o.task >= 1 && o.task <= 4) {
        let e = o.result.as_ref().unwrap_err();
        assert_eq!(e.kind(), "quota_exceeded", "{e}");
        assert!(e.to_string().contains("skipped"), "{e}");
        assert_eq!(o.requests, 0, "a skipped task sends nothing");
    }
    assert!(out.iter().filter(|o| o.task >= 5).all(|o| o.result.is_ok()));
    assert_eq!(out.iter().map(|o| o.requests).sum::<u64>(), 5);
}

#[test]
fn dropping_the_run_cancels_what_runs() {
    let fake = Arc::new(Fake::new());
    let tasks: Vec<(usize, (u64, u64))> = (0..20).map(|a| (a, (1, 10_000))).collect();
    let run = spawn(fake.clone(), (0..20).collect(), tasks, Limits::default()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(fake.in_flight.load(Ordering::SeqCst) > 0);
    drop(run);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(fake.live.load(Ordering::SeqCst), 0, "clients dropped");
}

#[test]
fn bad_limits_and_apps_are_rejected() {
    let fake = Arc::new(Fake::new());
    let bad = Limits {
        concurrency: 0,
        ..Limits::default()
    };
    assert!(spawn(fake.clone(), vec![1], vec![], bad).is_err());
    assert!(spawn(fake, vec![1], vec![(3, (1, 1))], Limits::default()).is_err());
}
