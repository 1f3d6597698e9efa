//! The sandbox as a native class.

use std::collections::HashMap;
use std::time::Duration;

use pyo3::prelude::*;

use crate::error::Error;
use crate::sandbox::{Config, Fault, FaultKind, Sandbox};

/// The embedded simulator (use `appstats.Sandbox`, which wraps this).
#[pyclass(module = "appstats._native", name = "Sandbox")]
pub struct NativeSandbox {
    inner: Option<Sandbox>,
}

impl NativeSandbox {
    fn sb(&self) -> PyResult<&Sandbox> {
        self.inner
            .as_ref()
            .ok_or_else(|| super::to_py(Error::invalid("the sandbox is closed")))
    }
}

#[pymethods]
impl NativeSandbox {
    #[new]
    #[pyo3(signature = (seed=7, latency=0.0, rate_limit=None, sources=12, scenes_per_source=4, pages=30, token_ttl=2_592_000,
        apps=None, today=None, restate_days=0))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        seed: u64,
        latency: f64,
        rate_limit: Option<u32>,
        sources: usize,
        scenes_per_source: usize,
        pages: usize,
        token_ttl: u64,
        apps: Option<i64>,
        today: Option<String>,
        restate_days: i64,
    ) -> PyResult<Self> {
        super::guard(|| {
            if !(latency.is_finite() && latency >= 0.0) {
                return Err(Error::invalid(
                    "latency must be a non-negative number of seconds",
                ));
            }
            let today = today
                .map(|t| {
                    chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").map_err(|_| {
                        Error::invalid(format!("today must be a YYYY-MM-DD date, got {t:?}"))
                    })
                })
                .transpose()?;
            if !(0..=MAX_RESTATE_DAYS).contains(&restate_days) {
                return Err(Error::invalid(format!(
                    "restate_days must be between 0 and {MAX_RESTATE_DAYS}, got {restate_days}"
                )));
            }
            let mut cfg = Config {
                seed,
                latency: Duration::from_secs_f64(latency),
                rate_limit,
                today,
                restate_days: restate_days as u32,
                ..Config::default()
            };
            if let Some(n) = apps {
                if !(1..=MAX_APPS).contains(&n) {
                    return Err(Error::invalid(format!(
                        "apps must be between 1 and {MAX_APPS}, got {n}"
                    )));
                }
                cfg = cfg.with_apps(n as usize);
            }
            cfg.baidu.sources = sources;
            cfg.baidu.scenes_per_source = scenes_per_source;
            cfg.baidu.pages = pages;
            cfg.baidu.token_ttl = token_ttl;
            Ok(NativeSandbox {
                inner: Some(Sandbox::start(cfg)?),
            })
        })
    }

    /// `host:port` the server listens on.
    #[getter]
    fn addr(&self) -> PyResult<String> {
        Ok(self.sb()?.addr.to_string())
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    #[getter]
    fn url(&self) -> PyResult<String> {
        Ok(self.sb()?.url())
    }

    /// The sandbox's today (China time), `YYYY-MM-DD`.
    #[getter]
    fn today(&self) -> PyResult<String> {
        Ok(self.sb()?.state.cfg.today().to_string())
    }

    /// The simulated apps of `provider`, each a dict of its credentials:
    /// Baidu `name`, `app_id`, `auth_code`, `refresh_token` (the first of
    /// its single-use chain); MTA `app_id`, `secret_key`; IM `sdkappid`,
    /// `secret_key`, `region`.
    fn apps(&self, provider: &str) -> PyResult<Vec<HashMap<&'static str, String>>> {
        let cfg = &self.sb()?.state.cfg;
        Ok(match provider {
            "baidu" => cfg
                .baidu
                .apps
                .iter()
                .map(|a| {
                    HashMap::from([
                        ("name", a.name.clone()),
                        ("app_id", a.app_id.to_string()),
                        ("auth_code", a.auth_code.clone()),
                        ("refresh_token", a.refresh_token.clone()),
                    ])
                })
                .collect(),
            "mta" => cfg
                .mta
                .apps
                .iter()
                .map(|a| {
                    HashMap::from([
                        ("app_id", a.app_id.clone()),
                        ("secret_key", a.secret_key.clone()),
                    ])
                })
                .collect(),
            "tim" => cfg
                .tim
                .apps
                .iter()
                .map(|a| {
                    HashMap::from([
                        ("sdkappid", a.sdkappid.to_string()),
                        ("secret_key", a.secret_key.clone()),
                        ("region", a.region.clone()),
                    ])
                })
                .collect(),
            other => {
                return Err(super::to_py(Error::invalid(format!(
                    "unknown provider {other:?}; valid: baidu, mta, tim"
                ))))
            }
        })
    }

    /// Refresh-token exchanges per Baidu program (by app id).
    fn baidu_refreshes(&self) -> PyResult<HashMap<String, u32>> {
        let st = &self.sb()?.state;
        let counts = st.refreshes.lock().expect("lock").clone();
        Ok(counts
            .into_iter()
            .filter_map(|(i, n)| Some((st.cfg.baidu.apps.get(i)?.app_id.to_string(), n)))
            .collect())
    }

    /// Credentials the sandbox accepts, per provider.
    fn credentials(&self) -> PyResult<Vec<(String, String)>> {
        let cfg = &self.sb()?.state.cfg;
        let c = &cfg.baidu;
        let mut v = vec![
            ("mta_app_id".to_string(), cfg.mta.first().app_id.clone()),
            (
                "mta_secret_key".to_string(),
                cfg.mta.first().secret_key.clone(),
            ),
            ("tim_admin".to_string(), cfg.tim.admin.clone()),
        ];
        for (i, a) in cfg.tim.apps.iter().enumerate() {
            v.push((format!("tim_{i}_sdkappid"), a.sdkappid.to_string()));
            v.push((format!("tim_{i}_secret_key"), a.secret_key.clone()));
            v.push((format!("tim_{i}_region"), a.region.clone()));
        }
        v.extend(vec![
            ("baidu_client_id".into(), c.client_id.clone()),
            ("baidu_client_secret".into(), c.client_secret.clone()),
            ("baidu_tp_client_id".into(), c.tp_client_id.clone()),
            ("baidu_tp_ticket".into(), c.tp_ticket.clone()),
        ]);
        Ok(v)
    }

    /// Add a fault; see `appstats.Sandbox.inject`.
    #[pyo3(signature = (kind, value=None, provider=None, endpoint=None, skip=0, times=Some(1), offset=None))]
    #[allow(clippy::too_many_arguments)]
    fn inject(
        &self,
        kind: &str,
        value: Option<f64>,
        provider: Option<String>,
        endpoint: Option<String>,
        skip: u32,
        times: Option<u32>,
        offset: Option<i64>,
    ) -> PyResult<()> {
        let need = |what: &str| {
            value.ok_or_else(|| {
                super::to_py(Error::invalid(format!(
                    "fault {kind:?} needs value= ({what})"
                )))
            })
        };
        let k = match kind {
            "http_status" => FaultKind::Status(need("an HTTP status")? as u16),
            "code" => FaultKind::Code(need("the provider's error code")? as i64),
            "delay" => FaultKind::Delay(Duration::from_secs_f64(need("seconds")?.max(0.0))),
            "truncate" => FaultKind::Truncate,
            "reset" => FaultKind::Reset,
            "wrong_total" => FaultKind::WrongTotal(value.unwrap_or(1.0) as i64),
            "duplicate_page" => FaultKind::DuplicatePage,
            "drop_rows" => FaultKind::DropRows(value.unwrap_or(1.0) as usize),
            "expire_token" => FaultKind::ExpireToken,
            other => {
                return Err(super::to_py(
                    crate::providers::baidu::endpoints::bad_choice(
                        "fault kind",
                        other,
                        FAULT_KINDS.iter().copied(),
                    ),
                ))
            }
        };
        self.sb()?.state.add_fault(Fault {
            provider,
            endpoint,
            kind: k,
            skip,
            times,
            offset,
        });
        Ok(())
    }

    fn clear_faults(&self) -> PyResult<()> {
        self.sb()?.state.clear_faults();
        Ok(())
    }

    /// Requests served so far (optionally for one provider).
    #[pyo3(signature = (provider=None))]
    fn request_count(&self, provider: Option<&str>) -> PyResult<usize> {
        Ok(self
            .sb()?
            .state
            .hits()
            .iter()
            .filter(|h| provider.is_none_or(|p| p == h.provider))
            .count())
    }

    /// Most requests seen within any one-second window (of one provider,
    /// and of one app: its app id, program id or SDKAppID).
    #[pyo3(signature = (provider=None, app=None))]
    fn max_per_second(&self, provider: Option<&str>, app: Option<&str>) -> PyResult<usize> {
        Ok(self.sb()?.state.max_per_second_of(provider, app))
    }

    /// Requests per app of `provider`: `{app: count}`.
    fn requests_per_app(&self, provider: &str) -> PyResult<HashMap<String, usize>> {
        let mut out: HashMap<String, usize> = HashMap::new();
        for h in self.sb()?.state.hits() {
            if h.provider == provider {
                if let Some(a) = h.app {
                    *out.entry(a).or_default() += 1;
                }
            }
        }
        Ok(out)
    }

    fn close(&mut self) {
        if let Some(mut s) = self.inner.take() {
            s.stop();
        }
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_none()
    }
}

/// Apps per provider a sandbox may simulate.
const MAX_APPS: i64 = 100_000;
/// Provisional days a sandbox may simulate.
const MAX_RESTATE_DAYS: i64 = 60;

pub const FAULT_KINDS: &[&str] = &[
    "http_status",
    "code",
    "delay",
    "truncate",
    "reset",
    "wrong_total",
    "duplicate_page",
    "drop_rows",
    "expire_token",
];
