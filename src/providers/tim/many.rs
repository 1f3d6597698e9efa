//! `getappinfo` for many apps of one region at once.

use polars::prelude::DataFrame;

use super::{
    check_app, check_identifier, parse, targets, Client, ClientOptions, Selection, PROVIDER,
};
use crate::error::{Error, Result};
use crate::http::{bounded, Http, HttpConfig, Progress};
use crate::table::{Column, Kind, TableBuilder};

/// Prefix an error's message with the app it concerns (class unchanged).
fn for_app(e: Error, sdkappid: u64) -> Error {
    e.context(format!("sdkappid {sdkappid}"))
}

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
/// All apps share one connection pool and `cfg.concurrency` (apps in
/// flight at once). The rate limit is per app, as Tencent's is per
/// SDKAppID: each app's client paces its own requests at
/// `cfg.rate_limit` and slows down on its own when the service
/// signals that app's limit.
pub async fn app_info_many_with(
    apps: &[(u64, String)],
    identifier: Option<&str>,
    region_or_base_url: &str,
    fields: Option<&[String]>,
    mut cfg: HttpConfig,
    opts: &ClientOptions,
    progress: &Progress,
) -> Result<DataFrame> {
    let sel = parse::select(fields)?;
    let identifier = check_identifier(identifier)?;
    cfg.validate()?;
    let mut seen = std::collections::HashSet::new();
    for (id, key) in apps {
        check_app(*id, key)?;
        if !seen.insert(*id) {
            return Err(Error::invalid(format!("sdkappid {id} is listed twice")));
        }
    }
    let mut acc = TableBuilder::new(&many_schema(&sel));
    if apps.is_empty() {
        return parse::finish(acc);
    }
    let targets = targets(region_or_base_url, opts, &mut cfg)?;
    let in_flight = cfg.concurrency.min(apps.len()).max(1);
    let http = Http::new(PROVIDER, cfg)?;
    let clients = apps
        .iter()
        .map(|(id, key)| {
            Client::from_parts(
                http.sibling(),
                *id,
                key,
                identifier.clone(),
                targets.clone(),
                opts,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    progress.add_total(apps.len() as u64);
    let futs = clients.iter().map(|c| {
        let sel = &sel;
        async move {
            let r = c.fetch(sel).await.map_err(|e| for_app(e, c.sdkappid));
            progress.advance(1);
            r
        }
    });
    let results = bounded(futs.collect(), in_flight).await;
    let mut failed: Vec<Error> = vec![];
    for (c, r) in clients.iter().zip(results) {
        let t = match r {
            Ok(t) => t,
            Err(e) => {
                failed.push(e);
                continue;
            }
        };
        if !failed.is_empty() {
            continue;
        }
        let n = t.n_rows();
        let mut cols = vec![(
            "sdkappid".to_string(),
            Column::Int(crate::table::Vals::from_options(vec![
                Some(
                    c.sdkappid as i64
                );
                n
            ])),
        )];
        cols.extend(
            t.names()
                .iter()
                .enumerate()
                .map(|(i, name)| (name.clone(), t.col_ref(i).clone())),
        );
        acc.append(TableBuilder::from_columns(cols, n));
    }
    if failed.is_empty() {
        return parse::finish(acc);
    }
    let n_failed = failed.len();
    let mut others = failed.split_off(1);
    let first = failed
        .pop()
        .unwrap_or_else(|| Error::Internal("no failure".into()));
    if others.is_empty() {
        return Err(first);
    }
    let rest: Vec<String> = others.drain(..).map(|e| format!("{e}")).collect();
    Err(first.map_message(|m| {
        format!(
            "{n_failed} of {} apps failed (no frame returned); {m}; also: {}",
            apps.len(),
            rest.join("; ")
        )
    }))
}
