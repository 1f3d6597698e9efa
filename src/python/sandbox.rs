//! The sandbox as a native class.

use std::collections::HashMap;

use pyo3::prelude::*;

use super::args;
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
    #[pyo3(signature = (seed=None, latency=None, rate_limit=None, sources=None, scenes_per_source=None, pages=None, token_ttl=None, apps=None, today=None, restate_days=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        seed: Option<&Bound<'_, PyAny>>,
        latency: Option<&Bound<'_, PyAny>>,
        rate_limit: Option<&Bound<'_, PyAny>>,
        sources: Option<&Bound<'_, PyAny>>,
        scenes_per_source: Option<&Bound<'_, PyAny>>,
        pages: Option<&Bound<'_, PyAny>>,
        token_ttl: Option<&Bound<'_, PyAny>>,
        apps: Option<&Bound<'_, PyAny>>,
        today: Option<String>,
        restate_days: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        // every setting checked first; unset ones keep `Config::default()`
        let mut cfg = Config::default();
        if let Some(v) = args::SEED.opt(seed)? {
            cfg.seed = v;
        }
        if let Some(v) = latency.filter(|v| !v.is_none()) {
            cfg.latency = args::LATENCY.get(v)?;
        }
        cfg.rate_limit = args::SANDBOX_RATE_LIMIT.opt(rate_limit)?;
        if let Some(v) = args::SOURCES.opt(sources)? {
            cfg.baidu.sources = v;
        }
        if let Some(v) = args::SCENES_PER_SOURCE.opt(scenes_per_source)? {
            cfg.baidu.scenes_per_source = v;
        }
        if let Some(v) = args::PAGES.opt(pages)? {
            cfg.baidu.pages = v;
        }
        if let Some(v) = args::TOKEN_TTL.opt(token_ttl)? {
            cfg.baidu.token_ttl = v;
        }
        if let Some(n) = args::APPS.opt::<usize>(apps)? {
            cfg = cfg.with_apps(n);
        }
        if let Some(v) = args::RESTATE_DAYS.opt(restate_days)? {
            cfg.restate_days = v;
        }
        super::guard(|| {
            cfg.today = today
                .map(|t| {
                    chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").map_err(|_| {
                        Error::invalid(format!("today must be a YYYY-MM-DD date, got {t:?}"))
                    })
                })
                .transpose()?;
            Ok(NativeSandbox {
                inner: Some(Sandbox::start(cfg)?),
            })
        })
    }

    /// Seed of the generated data.
    #[getter]
    fn seed(&self) -> PyResult<u64> {
        Ok(self.sb()?.state.cfg.seed)
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

    /// Add a fault; see `appstats.Sandbox.inject`. Every argument is
    /// checked: a fault that could never fire, or fires on nothing, is an
    /// error rather than a silent no-op.
    /// (No defaults here: `appstats.Sandbox.inject` passes every argument.)
    #[pyo3(signature = (kind, value, provider, endpoint, skip, times, offset))]
    #[allow(clippy::too_many_arguments)]
    fn inject(
        &self,
        kind: &str,
        value: Option<&Bound<'_, PyAny>>,
        provider: Option<String>,
        endpoint: Option<String>,
        skip: &Bound<'_, PyAny>,
        times: Option<&Bound<'_, PyAny>>,
        offset: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let value = value.filter(|v| !v.is_none());
        let invalid = |msg: String| super::to_py(Error::invalid(msg));
        let need = |what: &str| {
            value.ok_or_else(|| invalid(format!("fault {kind:?} needs value= ({what})")))
        };
        let k = match kind {
            "http_status" => FaultKind::Status(args::HTTP_STATUS.get(need("an HTTP status")?)?),
            "code" => FaultKind::Code(args::CODE.get(need("the provider's error code")?)?),
            "delay" => FaultKind::Delay(args::DELAY.get(need("seconds")?)?),
            "wrong_total" => FaultKind::WrongTotal(args::WRONG_TOTAL.opt(value)?.unwrap_or(1)),
            "drop_rows" => FaultKind::DropRows(args::DROP_ROWS.opt(value)?.unwrap_or(1)),
            "truncate" | "reset" | "duplicate_page" | "expire_token" => {
                if let Some(v) = value {
                    return Err(invalid(format!(
                        "fault {kind:?} takes no value, got {}",
                        v.repr().map(|r| r.to_string()).unwrap_or_default()
                    )));
                }
                match kind {
                    "truncate" => FaultKind::Truncate,
                    "reset" => FaultKind::Reset,
                    "duplicate_page" => FaultKind::DuplicatePage,
                    _ => FaultKind::ExpireToken,
                }
            }
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
        if let Some(p) = provider.as_deref() {
            if !PROVIDERS.contains(&p) {
                return Err(super::to_py(
                    crate::providers::baidu::endpoints::bad_choice(
                        "provider",
                        p,
                        PROVIDERS.iter().copied(),
                    ),
                ));
            }
        }
        if endpoint.as_deref().is_some_and(|e| e.trim().is_empty()) {
            return Err(invalid(
                "endpoint must name an endpoint (e.g. \"getanalysisregion\"), got an empty string"
                    .into(),
            ));
        }
        let fault = Fault {
            provider,
            endpoint,
            kind: k,
            skip: args::SKIP.get(skip)?,
            times: args::TIMES.opt(times)?,
            offset: args::OFFSET.opt(offset)?,
        };
        self.sb()?.state.add_fault(fault);
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

/// Providers a fault can be limited to.
const PROVIDERS: &[&str] = &["baidu", "mta", "tim"];

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
