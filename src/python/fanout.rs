//! `fetch_many`: the fan-out engine for Python (wrapped by
//! `appstats.fetch_many`).
//!
//! Apps arrive as dicts (provider, credentials, HTTP settings), tasks as
//! tuples; everything is validated before the run starts. The run streams
//! `(task, frame | error, requests, retries, started, finished)` back
//! through `FanoutRun.__next__`, which waits with the GIL released and
//! answers Ctrl-C (the run is then cancelled: no request after it).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_polars::PyDataFrame;

use super::{args, block_on, lifecycle, to_py, HttpArgs};
use crate::error::{Error, Result};
use crate::fanout::{self, Limits, Run};
use crate::http::HttpConfig;
use crate::providers;
use crate::providers::baidu::auth::{TokenEvent, TokenHook};
use crate::providers::baidu::{self, Credentials};
use crate::providers::many::{AppSpec, BaiduAuth, Many, Task};
use crate::providers::tim;

/// Keys an app dict may have, per provider.
const COMMON_KEYS: &[&str] = &["provider", "http"];
const BAIDU_KEYS: &[&str] = &[
    "access_token",
    "client_id",
    "client_secret",
    "tp_client_id",
    "tp_ticket",
    "auth_code",
    "refresh_token",
    "base_url",
    "page_size",
    "cached_token",
    "on_token",
];
const MTA_KEYS: &[&str] = &["app_id", "secret_key", "base_url"];
const TIM_KEYS: &[&str] = &[
    "sdkappid",
    "secret_key",
    "identifier",
    "region",
    "resolve_to",
    "today",
];

/// A typed field of an app dict (`None` when absent or `None`).
fn field<'py, T: FromPyObjectOwned<'py>>(
    d: &Bound<'py, PyDict>,
    app: usize,
    key: &str,
) -> PyResult<Option<T>> {
    match d.get_item(key)? {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => v.extract::<T>().map(Some).map_err(|_| {
            to_py(Error::invalid(format!(
                "app {app}: {key} has the wrong type ({})",
                v.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            )))
        }),
    }
}

fn need<T>(v: Option<T>, app: usize, key: &str) -> PyResult<T> {
    v.ok_or_else(|| to_py(Error::invalid(format!("app {app}: {key} is required"))))
}

/// Longest a cached token is kept (ten years).
const MAX_TOKEN_SECONDS: f64 = 10.0 * 365.0 * 86_400.0;

/// The app's `http` dict over `defaults`: the same names, ranges and
/// checks as every client's keyword arguments ([`HttpArgs`], the one table
/// of HTTP settings), its errors naming the app.
fn http_config(
    d: Option<Bound<'_, PyDict>>,
    app: usize,
    defaults: HttpConfig,
) -> PyResult<HttpConfig> {
    let args = HttpArgs::from_dict(d.as_ref()).map_err(|e| for_app(app, e))?;
    args.apply(defaults).map_err(|e| for_app(app, to_py(e)))
}

/// An `InvalidArgument` about a setting, its message naming the app.
fn for_app(app: usize, e: PyErr) -> PyErr {
    Python::attach(|py| {
        let msg = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
        to_py(Error::invalid(format!("app {app}: {msg}")))
    })
}

/// Calls `on_token(event, access_token, expires_in, refresh_token)` with
/// the GIL. A Python exception (the token store cannot be written) is an
/// [`Error::Auth`] for this program, never a panic: before the exchange it
/// is not sent, after it the new access token is not used.
fn token_hook(cb: Py<PyAny>) -> TokenHook {
    let cb = Arc::new(cb);
    Arc::new(move |ev: TokenEvent<'_>| {
        let failed = match ev {
            TokenEvent::Exchanging => "could not record the refresh before sending it",
            TokenEvent::Granted { .. } => {
                "could not store the program's new tokens (the new access token was not used)"
            }
        };
        let outcome = lifecycle::attach(|py| {
            let r = match ev {
                TokenEvent::Exchanging => {
                    cb.call1(py, ("exchanging", None::<&str>, None::<f64>, None::<&str>))
                }
                TokenEvent::Granted {
                    access_token,
                    expires_in,
                    refresh_token,
                } => cb.call1(
                    py,
                    (
                        "granted",
                        Some(access_token),
                        expires_in.map(|d| d.as_secs_f64()),
                        refresh_token,
                    ),
                ),
            };
            r.map(|_| ()).map_err(|e| {
                // the store's message names the file, never a token
                let what = e.value(py).str().map(|s| s.to_string()).unwrap_or_default();
                crate::error::redact(&what)
            })
        });
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(msg)) => Err(Error::Auth {
                provider: baidu::PROVIDER,
                code: 0,
                message: format!("{failed}: {msg}"),
                renewable: false,
            }),
            None => Err(Error::Internal(
                "the interpreter is shutting down; the new tokens were not stored".into(),
            )),
        }
    })
}

fn check_keys(d: &Bound<'_, PyDict>, app: usize, provider: &str, own: &[&str]) -> PyResult<()> {
    for k in d.keys() {
        let k: String = k.extract()?;
        if !COMMON_KEYS.contains(&k.as_str()) && !own.contains(&k.as_str()) {
            return Err(to_py(Error::invalid(format!(
                "app {app}: unknown {provider} setting {k:?}; valid: {}",
                own.join(", ")
            ))));
        }
    }
    Ok(())
}

fn app_spec(d: &Bound<'_, PyDict>, i: usize) -> PyResult<AppSpec> {
    let provider: String = need(field(d, i, "provider")?, i, "provider")?;
    let http = field::<Bound<'_, PyDict>>(d, i, "http")?;
    let s = |k: &str| field::<String>(d, i, k);
    Ok(match provider.as_str() {
        "baidu" => {
            check_keys(d, i, "baidu", BAIDU_KEYS)?;
            let auth = match (s("tp_client_id")?, s("tp_ticket")?) {
                (Some(tp_client_id), Some(tp_ticket)) => {
                    let (auth_code, refresh_token) = (s("auth_code")?, s("refresh_token")?);
                    if auth_code.is_none() && refresh_token.is_none() {
                        return Err(to_py(Error::invalid(format!(
                            "app {i}: a program of a third-party platform needs auth_code or refresh_token"
                        ))));
                    }
                    BaiduAuth::Authorized {
                        tp_client_id,
                        tp_ticket,
                        auth_code,
                        refresh_token,
                    }
                }
                (None, None) => match (s("access_token")?, s("client_id")?, s("client_secret")?) {
                    (Some(t), None, None) => BaiduAuth::Own(Credentials::Token(t)),
                    (None, Some(client_id), Some(client_secret)) => {
                        BaiduAuth::Own(Credentials::ClientCredentials {
                            client_id,
                            client_secret,
                        })
                    }
                    _ => {
                        return Err(to_py(Error::invalid(format!(
                            "app {i}: Baidu needs access_token, or client_id + client_secret, \
                             or tp_client_id + tp_ticket with auth_code or refresh_token"
                        ))))
                    }
                },
                _ => {
                    return Err(to_py(Error::invalid(format!(
                        "app {i}: tp_client_id and tp_ticket go together"
                    ))))
                }
            };
            let cached_token = match field::<(String, f64)>(d, i, "cached_token")? {
                Some((t, secs)) if secs.is_finite() && secs > 0.0 => {
                    Some((t, Duration::from_secs_f64(secs.min(MAX_TOKEN_SECONDS))))
                }
                _ => None,
            };
            let page_size = match d.get_item("page_size")? {
                Some(v) if !v.is_none() => {
                    args::PAGE_SIZE.get::<u32>(&v).map_err(|e| for_app(i, e))?
                }
                _ => baidu::DEFAULT_PAGE_SIZE,
            };
            AppSpec::Baidu {
                auth,
                base_url: s("base_url")?,
                page_size,
                http: http_config(http, i, providers::http_defaults("baidu").map_err(to_py)?)?,
                cached_token,
                hook: field::<Py<PyAny>>(d, i, "on_token")?.map(token_hook),
            }
        }
        "mta" => {
            check_keys(d, i, "mta", MTA_KEYS)?;
            AppSpec::Mta {
                app_id: need(s("app_id")?, i, "app_id")?,
                secret_key: need(s("secret_key")?, i, "secret_key")?,
                base_url: s("base_url")?,
                http: http_config(http, i, providers::http_defaults("mta").map_err(to_py)?)?,
            }
        }
        "tim" => {
            check_keys(d, i, "tim", TIM_KEYS)?;
            let sdkappid = match field::<i64>(d, i, "sdkappid")? {
                Some(n) if n > 0 => n as u64,
                Some(n) => {
                    return Err(to_py(Error::invalid(format!(
                        "app {i}: sdkappid must be a positive integer, got {n}"
                    ))))
                }
                None => {
                    return Err(to_py(Error::invalid(format!(
                        "app {i}: sdkappid is required"
                    ))))
                }
            };
            let resolve_to = s("resolve_to")?
                .map(|a| {
                    a.parse::<SocketAddr>().map_err(|_| {
                        to_py(Error::invalid(format!(
                            "app {i}: resolve_to must be host:port, got {a:?}"
                        )))
                    })
                })
                .transpose()?;
            let today = s("today")?
                .map(|t| {
                    crate::providers::common::parse_user_date("today", &t)
                        .map_err(|e| to_py(Error::invalid(format!("app {i}: {e}"))))
                })
                .transpose()?;
            AppSpec::Tim {
                sdkappid,
                secret_key: need(s("secret_key")?, i, "secret_key")?,
                identifier: s("identifier")?,
                region: s("region")?.unwrap_or_else(|| "china".into()),
                http: http_config(http, i, providers::http_defaults("tim").map_err(to_py)?)?,
                options: tim::ClientOptions {
                    resolve_to,
                    // the service's today when it is not the real one (a
                    // simulator): the expected 30-day window ends the day
                    // before
                    window_end: today.and_then(|d| d.pred_opt()),
                    ..Default::default()
                },
            }
        }
        other => {
            return Err(to_py(Error::invalid(format!(
                "app {i}: unknown provider {other:?}; valid: baidu, mta, tim"
            ))))
        }
    })
}

/// One finished task: `(task, frame, error, requests, retries, started,
/// finished)`; times in seconds since the epoch.
type Item = (
    usize,
    Option<PyDataFrame>,
    Option<Py<PyAny>>,
    u64,
    u64,
    f64,
    f64,
);

/// A running fan-out (iterate it; see `appstats.fetch_many`).
#[pyclass(module = "appstats._native")]
pub struct FanoutRun {
    run: Option<Run<polars::prelude::DataFrame>>,
    total: usize,
}

#[pymethods]
impl FanoutRun {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<Option<Item>> {
        let Some(run) = self.run.as_mut() else {
            return Ok(None);
        };
        let next = block_on(py, async { Ok(run.next().await) });
        let outcome = match next {
            Ok(Some(o)) => o,
            Ok(None) => {
                self.run = None;
                return Ok(None);
            }
            Err(e) => {
                // Ctrl-C (or a panic): stop everything that runs
                self.cancel();
                return Err(e);
            }
        };
        let secs = |t: std::time::SystemTime| {
            t.duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0)
        };
        let (frame, error) = match outcome.result {
            Ok(df) => (Some(PyDataFrame(df)), None),
            Err(e) => (None, Some(to_py(e).into_value(py).into_any())),
        };
        Ok(Some((
            outcome.task,
            frame,
            error,
            outcome.requests,
            outcome.retries,
            secs(outcome.started),
            secs(outcome.finished),
        )))
    }

    /// Stop the run: requests in flight are dropped, nothing new starts.
    fn cancel(&mut self) {
        if let Some(run) = self.run.take() {
            run.cancel();
        }
    }

    /// Tasks in the run.
    #[getter]
    fn total(&self) -> usize {
        self.total
    }
}

/// A task's options (report parameters), as Python passes them.
type Options = Option<HashMap<String, String>>;
/// `(app index, report, start, end, options, per_day)`.
type TaskTuple = (usize, String, String, String, Options, bool);
/// A task to check: `(report, start, end, options, per_day)`.
type CheckTuple = (String, String, String, Options, bool);

/// A task of an app of `provider`, validated (nothing is sent).
fn task_of(provider: &str, (report, start, end, options, per_day): CheckTuple) -> Result<Task> {
    Task::new(
        provider,
        &report,
        &start,
        &end,
        &options.unwrap_or_default(),
        per_day,
    )
}

/// Start a fan-out of `tasks` (`(app index, report, start, end, options,
/// per_day)`) over `apps`.
#[pyfunction]
#[pyo3(signature = (apps, tasks, concurrency=32, active_apps=64, buffer=64))]
pub fn fetch_many(
    apps: Vec<Bound<'_, PyDict>>,
    tasks: Vec<TaskTuple>,
    concurrency: i64,
    active_apps: i64,
    buffer: i64,
) -> PyResult<FanoutRun> {
    let limit = |what: &str, v: i64| -> PyResult<usize> {
        if (1..=100_000).contains(&v) {
            Ok(v as usize)
        } else {
            Err(to_py(Error::invalid(format!(
                "{what} must be between 1 and 100000, got {v}"
            ))))
        }
    };
    let limits = Limits {
        concurrency: limit("concurrency", concurrency)?,
        active_apps: limit("active_apps", active_apps)?,
        buffer: limit("buffer", buffer)?,
    };
    let specs = apps
        .iter()
        .enumerate()
        .map(|(i, d)| app_spec(d, i))
        .collect::<PyResult<Vec<_>>>()?;
    let mut jobs = Vec::with_capacity(tasks.len());
    for (n, (app, report, start, end, options, per_day)) in tasks.into_iter().enumerate() {
        let spec = specs.get(app).ok_or_else(|| {
            to_py(Error::invalid(format!(
                "task {n}: app {app} does not exist ({} apps)",
                specs.len()
            )))
        })?;
        let task = super::guard(|| {
            task_of(
                spec.provider(),
                (report.clone(), start, end, options, per_day),
            )
            .map_err(|e| match e {
                Error::InvalidArgument(m) => {
                    Error::InvalidArgument(format!("task {n} ({} {report}): {m}", spec.provider()))
                }
                other => other,
            })
        })?;
        jobs.push((app, task));
    }
    let run = super::guard(|| fanout::spawn(Arc::new(Many::default()), specs, jobs, limits))?;
    Ok(FanoutRun {
        total: run.total(),
        run: Some(run),
    })
}

/// Check tasks (`(report, start, end, options, per_day)`) for an app of
/// `provider` as `fetch_many` would, with no app, client or request: the
/// first bad one raises `InvalidArgument` with the engine's own message.
#[pyfunction]
pub fn validate_tasks(provider: &str, tasks: Vec<CheckTuple>) -> PyResult<()> {
    super::guard(|| {
        for t in tasks {
            task_of(provider, t)?;
        }
        Ok(())
    })
}

/// Add `fetch_many`, `validate_tasks` and `FanoutRun` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FanoutRun>()?;
    m.add_function(wrap_pyfunction!(fetch_many, m)?)?;
    m.add_function(wrap_pyfunction!(validate_tasks, m)?)?;
    Ok(())
}
