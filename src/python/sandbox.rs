//! The sandbox as a native class.

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
    #[pyo3(signature = (seed=7, latency=0.0, rate_limit=None, sources=12, scenes_per_source=4, pages=30, token_ttl=2_592_000))]
    fn new(
        seed: u64,
        latency: f64,
        rate_limit: Option<u32>,
        sources: usize,
        scenes_per_source: usize,
        pages: usize,
        token_ttl: u64,
    ) -> PyResult<Self> {
        super::guard(|| {
            if !(latency.is_finite() && latency >= 0.0) {
                return Err(Error::invalid(
                    "latency must be a non-negative number of seconds",
                ));
            }
            let mut cfg = Config {
                seed,
                latency: Duration::from_secs_f64(latency),
                rate_limit,
                ..Config::default()
            };
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

    /// Credentials the sandbox accepts, per provider.
    fn credentials(&self) -> PyResult<Vec<(String, String)>> {
        let cfg = &self.sb()?.state.cfg;
        let c = &cfg.baidu;
        let mut v = vec![
            ("mta_app_id".to_string(), cfg.mta.app_id.clone()),
            ("mta_secret_key".to_string(), cfg.mta.secret_key.clone()),
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

    /// Most requests seen within any one-second window.
    #[pyo3(signature = (provider=None))]
    fn max_per_second(&self, provider: Option<&str>) -> PyResult<usize> {
        Ok(self.sb()?.state.max_per_second(provider))
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
