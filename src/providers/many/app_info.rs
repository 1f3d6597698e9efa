//! Tencent IM's `getappinfo` for many apps of one region at once, on the
//! shared fan-out engine (here, above the provider, so `tim` depends on no
//! many-app code).

use polars::prelude::{DataFrame, IntoColumn, NamedFrom, Series};

use super::{each_app, AppSpec, Task};
use crate::error::{Error, Result};
use crate::fanout::Limits;
use crate::http::{HttpConfig, Progress};
use crate::providers::tim::{
    check_app, check_identifier, check_region, parse, ClientOptions, Selection,
};
use crate::table::{Kind, TableBuilder};

/// Schema of a many-app frame: `sdkappid` then the selection's columns.
pub fn many_schema(sel: &Selection) -> Vec<(&'static str, Kind)> {
    let mut s = vec![("sdkappid", Kind::Int)];
    s.extend(parse::schema(sel));
    s
}

/// `getappinfo` for many apps `(sdkappid, secret_key)` of one region, run
/// concurrently; one frame with an `sdkappid` column first. One app's
/// failure does not stop the others (by design: each app is independent);
/// when any failed, the call raises the first failure's class with a
/// message naming every app that failed, and returns no partial frame.
pub async fn app_info_many(
    apps: &[(u64, String)],
    identifier: Option<&str>,
    region_or_base_url: &str,
    fields: Option<&[String]>,
    cfg: HttpConfig,
) -> Result<DataFrame> {
    app_info_many_with(
        apps,
        identifier,
        region_or_base_url,
        fields,
        cfg,
        &ClientOptions::default(),
        &Progress::default(),
    )
    .await
}

/// [`app_info_many`] with client options and progress (one unit per app).
///
/// The apps run on the fan-out engine, as every many-app fetch does:
/// `cfg.concurrency` apps at once (and as many requests in flight), all
/// on the process's shared connection pool. The rate limit is per app, as
/// Tencent's is per SDKAppID: each app's client paces its own requests at
/// `cfg.rate_limit` and slows down on its own when the service signals
/// that app's limit. Everything is checked before the first request.
pub async fn app_info_many_with(
    apps: &[(u64, String)],
    identifier: Option<&str>,
    region_or_base_url: &str,
    fields: Option<&[String]>,
    cfg: HttpConfig,
    opts: &ClientOptions,
    progress: &Progress,
) -> Result<DataFrame> {
    let sel = parse::select(fields)?;
    let task = Task::tim_served(fields.map(<[String]>::to_vec))?;
    let identifier = check_identifier(identifier)?;
    cfg.validate()?;
    opts.validate()?;
    let mut seen = std::collections::HashSet::new();
    for (id, key) in apps {
        check_app(*id, key)?;
        if !seen.insert(*id) {
            return Err(Error::invalid(format!("sdkappid {id} is listed twice")));
        }
    }
    let mut out = parse::finish(TableBuilder::new(&many_schema(&sel)))?;
    if apps.is_empty() {
        return Ok(out);
    }
    // the region (or base URL) is checked once, before any app connects
    check_region(region_or_base_url, opts, &cfg)?;
    let in_flight = cfg.concurrency.clamp(1, 100_000);
    let limits = Limits {
        concurrency: in_flight,
        active_apps: in_flight,
        buffer: in_flight,
    };
    let specs = apps
        .iter()
        .map(|(id, key)| AppSpec::Tim {
            sdkappid: *id,
            secret_key: key.clone(),
            identifier: Some(identifier.clone()),
            region: region_or_base_url.to_string(),
            http: cfg.clone(),
            options: opts.clone(),
        })
        .collect();
    let results = each_app(specs, &task, limits, progress).await?;
    let mut failed: Vec<Error> = vec![];
    for ((id, _), r) in apps.iter().zip(results) {
        match r {
            Err(e) => failed.push(e.context(format!("sdkappid {id}"))),
            Ok(df) if failed.is_empty() => {
                let df = with_sdkappid(df, *id)?;
                out.vstack_mut(&df)
                    .map_err(|e| Error::Internal(format!("stacking apps: {e}")))?;
            }
            Ok(_) => {}
        }
    }
    if failed.is_empty() {
        out.rechunk_mut();
        return Ok(out);
    }
    Err(combine(failed, apps.len()))
}

/// `df` with a leading `sdkappid` column (Int64, as [`many_schema`]).
fn with_sdkappid(mut df: DataFrame, sdkappid: u64) -> Result<DataFrame> {
    let col = Series::new("sdkappid".into(), vec![sdkappid as i64; df.height()]).into_column();
    df.insert_column(0, col)
        .map_err(|e| Error::Internal(format!("sdkappid column: {e}")))?;
    Ok(df)
}

/// One error for the failures of a call over `n_apps` apps (at least one
/// failure): the first failure's class, a message naming every app that
/// failed.
fn combine(mut failed: Vec<Error>, n_apps: usize) -> Error {
    let n_failed = failed.len();
    let others = failed.split_off(1.min(n_failed));
    let first = failed
        .pop()
        .unwrap_or_else(|| Error::Internal("no failure".into()));
    if others.is_empty() {
        return first;
    }
    let rest: Vec<String> = others.iter().map(|e| format!("{e}")).collect();
    first.map_message(|m| {
        format!(
            "{n_failed} of {n_apps} apps failed (no frame returned); {m}; also: {}",
            rest.join("; ")
        )
    })
}
