//! Tencent MTA app open API, simulated.
//!
//! Every request is checked like the real service: `app_id`, the `sign`
//! (recomputed with [`crate::providers::mta::sign::sign`] — a wrong one is
//! answered with `60002`), `idx` ids valid for the endpoint, dates
//! (`YYYY-MM-DD`, start <= end, at most
//! [`MAX_WINDOW_DAYS`](crate::providers::mta::endpoints::MAX_WINDOW_DAYS)
//! days), and `ty` where needed. Data is seeded and plausible: weekly
//! seasonality, retention decaying with the day, terminal and crash
//! environment tops. Values are strings, counts above 999 with thousands
//! separators, as MTA sends them.
//!
//! Faults: `Status`, `Reset`, `Delay`, `Truncate`, `Code(c)` (MTA envelope
//! with code `c`), `DropRows(n)` (leave the last `n` dates / rows out).
//!
//! - `routes`: the router and each request's checks;
//! - `generate`: the reports, one function per kind;
//! - `figures`: the seeded numbers and labels they are made of.

mod figures;
mod generate;
mod routes;

pub use routes::router;

const P: &str = "mta";

/// One simulated MTA app.
#[derive(Debug, Clone)]
pub struct MtaApp {
    pub app_id: String,
    pub secret_key: String,
    /// Serve retention as percentages of the cohort (`"35.2%"` on even
    /// days, `"35.2"` on odd ones), as a community dashboard renders
    /// `D{N}RepeatUser`, instead of counts.
    pub retention_percent: bool,
}

/// MTA sandbox apps (the first one is `500000001`).
#[derive(Debug, Clone)]
pub struct MtaConfig {
    pub apps: Vec<MtaApp>,
}

impl MtaConfig {
    /// The first app (the one `Sandbox.mta()` uses).
    pub fn first(&self) -> &MtaApp {
        &self.apps[0]
    }
}

/// `n` MTA apps with their own ids and keys.
pub fn mta_apps(n: usize) -> Vec<MtaApp> {
    (0..n)
        .map(|i| MtaApp {
            app_id: (500_000_001 + i as u64).to_string(),
            secret_key: if i == 0 {
                "sandbox-mta-secret".into()
            } else {
                format!("sandbox-mta-secret-{}", i + 1)
            },
            retention_percent: false,
        })
        .collect()
}

impl Default for MtaConfig {
    fn default() -> Self {
        MtaConfig { apps: mta_apps(1) }
    }
}

#[cfg(test)]
mod tests;
