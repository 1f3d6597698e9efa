"""``appstats.dlt``: every report of many apps as a dlt source.

Load what the sync config lists into any dlt destination (DuckDB,
BigQuery, Snowflake, Postgres, a lake, ...)::

    import dlt, appstats.dlt
    pipeline = dlt.pipeline("appstats", destination="duckdb", dataset_name="appstats")
    pipeline.run(appstats.dlt.appstats_source("appstats.toml"))

* **One resource per report**, named like the sync's Delta tables
  (``mta_user_basic``, ``baidu_region``, ``baidu_retention_week``, ...):
  ``source.with_resources("mta_user_basic")`` loads only that one. Each
  yields Arrow tables (dlt loads them without row-by-row normalisation):
  ``app`` (the config name), ``app_id``, then the report's columns.
  Reports whose numbers are distributions over the requested range
  (regions, terminals, pages, ...) are fetched one day per request, with a
  ``date`` column, so every day stands on its own (as in the sync).
* **Merge, never duplicates**: ``write_disposition="merge"`` with a
  ``primary_key`` per report (``app``, the day column, and the row's own
  key: ``region``, ``terminal_type`` + ``terminal``, ``period``, ...) and a
  ``merge_key`` of ``app`` + day (+ the slice column): each fetched day of
  an app *replaces* what the destination held for it, so rows a provider
  no longer reports for a restated day go too. Baidu's ``source`` has no
  primary key (groups without scenes have no scene id); its merge key does
  the same. A reply with two rows for one key raises
  :class:`~appstats.MalformedResponse` instead of dlt keeping one of them.
* **Incremental, per app**: the resource state keeps, for every app (and
  slice), the last day loaded without a hole. The next run starts
  ``lag_days`` before it (retention reports: their maturity horizon, when
  longer) — the days the providers restate are fetched again and merged —
  and ends at ``until`` (default: yesterday in China, UTC+8). A new app
  starts at its ``start``. dlt's ``incremental`` keeps one cursor per
  resource, which cannot express per-app progress nor a re-fetch window,
  so the cursor is kept in the state by the same planner as the sync's.
* **Failures** (``on_error``): ``"raise"`` (default) stops the load with
  the typed error (``AuthError``, ``RateLimited``, ...) naming the app,
  report and window; nothing of the run is loaded and no cursor moves.
  ``"skip"`` loads every other app, logs a warning and writes a row per
  failed window to the ``appstats_errors`` table (append); the failed
  app's cursor stays before the hole, so the next run fetches it again.
  Days a provider no longer serves (Tencent IM keeps 30 days) cannot be
  fetched by any run: they are logged and written to ``appstats_errors``
  (``status = "gap"``) in both modes, once: the cursor moves past a
  reported gap, as the sync's ``_runs`` does.

Each report's apps are fetched in batches (``apps_per_batch``) by the Rust
fan-out engine, one batch at a time, so that memory stays bounded and no
two runs use an app at once: each app's own rate limit holds. Baidu
programs' single-use refresh tokens go through the sync's token store.
Needs ``pip install 'appstats[dlt]'``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import polars as pl

from . import _native
from .errors import AppStatsError, InvalidArgument, MalformedResponse, MissingDependency

try:
    import dlt
    import pyarrow as pa
    from dlt.extract.resource import DltResource
except ImportError as _e:  # pragma: no cover - the extra is missing
    raise MissingDependency(
        "appstats.dlt needs dlt and pyarrow: pip install 'appstats[dlt]'"
    ) from _e

from .sync import catalog
from .sync.apps import explain_error, restated, run_dates, select_apps
from .sync.catalog import Report
from .sync.config import AppConfig, SyncConfig
from .sync.execute import execute
from .sync.fanout import Outcome
from .sync.planner import covered_until, make_plan
from .sync.tokens import TokenStore

__all__ = [
    "appstats_source",
    "ERRORS_TABLE",
    "ROW_KEYS",
    "primary_key",
    "merge_key",
    "column_hints",
]

log = logging.getLogger("appstats.dlt")

ERRORS_TABLE = "appstats_errors"
#: Apps of one report fetched per fan-out run (bounded memory).
DEFAULT_APPS_PER_BATCH = 256
ON_ERROR = ("raise", "skip")

#: What identifies a row of each report beside ``app``, its slice column
#: and its day column (``None``: no natural key): the native catalog's
#: ``row_key``, by sync report.
ROW_KEYS: dict[str, tuple[str, ...] | None] = {k: r.row_key for k, r in catalog.REPORTS.items()}

_ERROR_SCHEMA = pa.schema(
    [
        ("app", pa.string()),
        ("app_id", pa.string()),
        ("provider", pa.string()),
        ("report", pa.string()),
        ("table", pa.string()),
        ("slice", pa.string()),
        ("window_start", pa.date32()),
        ("window_end", pa.date32()),
        ("status", pa.string()),
        ("error_class", pa.string()),
        ("error", pa.string()),
        ("at", pa.timestamp("us", tz="UTC")),
    ]
)


def merge_key(report: Report) -> list[str]:
    """``app`` (+ the slice column) + the day column: what one fetched day
    of an app replaces.

    Examples:
        >>> from appstats.sync import REPORTS
        >>> from appstats.dlt import merge_key, primary_key
        >>> merge_key(REPORTS["mta.crash_env"]), primary_key(REPORTS["mta.crash_env"])
        (['app', 'dimension', 'date'], ['app', 'dimension', 'date', 'value'])
    """
    slice_col = [report.slices[2]] if report.slices else []
    return ["app", *slice_col, report.day_column]


def primary_key(report: Report) -> list[str] | None:
    """The report's primary key (``None``: rows have no natural key)."""
    keys = report.row_key
    return None if keys is None else merge_key(report) + list(keys)


def column_hints(report: Report) -> dict[str, Any]:
    """dlt column hints beyond what the Arrow tables say: a naive
    ``Datetime`` (MTA ``error_list``'s ``first_time``, the provider's wall
    clock, as the client and the lake hold it) stays naive
    (``timezone=False``). dlt would label it UTC, so a destination with time
    zones (DuckDB's ``TIMESTAMP WITH TIME ZONE``, ...) would hold another
    instant than the one the provider meant.

    Examples:
        >>> from appstats.sync import REPORTS
        >>> from appstats.dlt import column_hints
        >>> column_hints(REPORTS["mta.error_list"])
        {'first_time': {'data_type': 'timestamp', 'timezone': False}}
        >>> column_hints(REPORTS["mta.user_basic"])
        {}
    """
    options = report.task_options(report.slice_values()[0])
    schema = _native.report_schema(report.provider, report.method, options).schema
    return {
        name: {"data_type": "timestamp", "timezone": False}
        for name, dtype in schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is None
    }


def _error_row(
    app: AppConfig,
    report: Report,
    sl: str | None,
    start: _dt.date,
    end: _dt.date,
    status: str,
    err_class: str,
    message: str,
) -> Any:
    row = {
        "app": app.name,
        "app_id": app.app_id,
        "provider": app.provider,
        "report": report.key,
        "table": report.table,
        "slice": sl or "",
        "window_start": start,
        "window_end": end,
        "status": status,
        "error_class": err_class,
        "error": message,
        "at": _dt.datetime.now(_dt.timezone.utc),
    }
    return dlt.mark.with_table_name(pa.Table.from_pylist([row], schema=_ERROR_SCHEMA), ERRORS_TABLE)


def _named(
    app: AppConfig,
    report: Report,
    sl: str | None,
    start: _dt.date,
    end: _dt.date,
    err: AppStatsError,
    tokens: TokenStore | None,
) -> AppStatsError:
    what = f"{report.key}[{sl}]" if sl else report.key
    msg = (
        f"app {app.name!r} ({app.provider} {app.app_id}), {what}, {start} – {end}: "
        f"{explain_error(app, err, tokens)}"
    )
    return restated(err, msg)


def _table(
    app: AppConfig,
    report: Report,
    sl: str | None,
    start: _dt.date,
    end: _dt.date,
    frame: pl.DataFrame,
) -> pa.Table:
    """The frame as rows of the report's table: ``app``, ``app_id`` first;
    its keys checked (never deduplicated silently) and declared non-null."""
    ids = [] if "app_id" in frame.columns else [pl.lit(app.app_id, pl.String).alias("app_id")]
    df = frame.select(pl.lit(app.name, pl.String).alias("app"), *ids, pl.all())
    key = primary_key(report) or merge_key(report)
    missing = [k for k in key if k not in df.columns]
    if missing:
        raise MalformedResponse(
            f"app {app.name!r}, {report.key}: the frame has no {', '.join(missing)} column",
            provider=app.provider,
        )
    what = f"app {app.name!r} ({app.provider} {app.app_id}), {report.key}, {start} – {end}"
    nulls = [k for k in key if df[k].null_count()]
    if nulls:
        raise MalformedResponse(
            f"{what}: rows without {', '.join(nulls)} (a key of the table)", provider=app.provider
        )
    if primary_key(report) is not None and df.select(key).is_duplicated().any():
        dup = df.filter(df.select(key).is_duplicated()).select(key).row(0)
        raise MalformedResponse(
            f"{what}: several rows for the key {dict(zip(key, dup, strict=True))}",
            provider=app.provider,
        )
    t = df.to_arrow()
    fields = [f.with_nullable(False) if f.name in key else f for f in t.schema]
    return t.cast(pa.schema(fields))


def _fetch(
    report: Report,
    apps: Sequence[AppConfig],
    cfg: SyncConfig,
    today: _dt.date,
    until: _dt.date,
    on_error: str,
    apps_per_batch: int,
    concurrency: int,
) -> Iterator[Any]:
    """The generator of one report's resource."""
    state = dlt.current.resource_state()
    cursors: dict[str, dict[str, str]] = state.setdefault("apps", {})
    synced = {
        (a.name, report.table, sl): [(report.align_start(a.start), _dt.date.fromisoformat(last))]
        for a in apps
        for sl, last in cursors.get(a.name, {}).items()
    }
    plan = make_plan(apps, synced, today, until)
    done: dict[tuple[str, str], list[tuple[_dt.date, _dt.date]]] = {}
    for g in plan.gaps:
        log.warning("%s %s: %s – %s: %s", g.app.name, report.key, g.start, g.end, g.reason)
        yield _error_row(g.app, report, g.slice, g.start, g.end, "gap", "HistoryLimit", g.reason)
        # recorded once: like the sync's _runs, a reported gap counts as
        # covered, so the next run neither plans nor reports it again
        done.setdefault((g.app.name, g.slice or ""), []).append((g.start, g.end))
    by_app: dict[str, list[int]] = {}
    for i, pt in enumerate(plan.tasks):
        by_app.setdefault(pt.app.name, []).append(i)
    names = list(by_app)
    for k in range(0, len(names), apps_per_batch):
        batch = names[k : k + apps_per_batch]
        chosen = [plan.tasks[i] for n in batch for i in by_app[n]]
        outcomes = _run(chosen, cfg, concurrency)
        for pt, o in zip(chosen, outcomes, strict=True):
            if o.error is not None:
                err = _named(pt.app, report, pt.slice, pt.start, pt.end, o.error, None)
                if on_error == "raise":
                    raise err
                log.warning("%s: %s", type(err).__name__, err)
                yield _error_row(
                    pt.app,
                    report,
                    pt.slice,
                    pt.start,
                    pt.end,
                    "failed",
                    type(err).__name__,
                    str(err),
                )
                continue
            if o.frame.height:
                yield _table(pt.app, report, pt.slice, pt.start, pt.end, o.frame)
            done.setdefault((pt.app.name, pt.slice or ""), []).append((pt.start, pt.end))
    # Move each cursor to the end of the unbroken run of loaded days.
    for a in apps:
        first = report.align_start(a.start)
        for sl in report.slice_values():
            s = sl or ""
            old = cursors.get(a.name, {}).get(s)
            windows = done.get((a.name, s), [])
            if old is not None:
                windows = [(first, _dt.date.fromisoformat(old)), *windows]
            covered = covered_until(windows, first)
            if covered >= first:
                cursors.setdefault(a.name, {})[s] = covered.isoformat()


def _run(tasks: Sequence[Any], cfg: SyncConfig, concurrency: int) -> list[Outcome]:
    """Run ``tasks`` (planned tasks) to the end; outcomes in their order
    (failures with the token store's advice, as the sync gives them)."""
    out: list[Outcome | None] = [None] * len(tasks)
    for o, message in execute(cfg, tasks, concurrency=concurrency):
        if o.error is not None and message is not None and message != str(o.error):
            o = o._replace(value=restated(o.error, message))
        out[o.position] = o
    return [o for o in out if o is not None]


@dlt.source(name="appstats", max_table_nesting=0)
def appstats_source(
    config: Any,
    apps: Sequence[str] | None = None,
    reports: Sequence[str] | None = None,
    until: Any = None,
    lag_days: int | None = None,
    on_error: str = "raise",
    today: Any = None,
    concurrency: int | None = None,
    apps_per_batch: int = DEFAULT_APPS_PER_BATCH,
    allow_literal_secrets: bool = False,
) -> Iterable[DltResource]:
    """Every report of every app of a sync config, one dlt resource per report.

    Args:
        config: a :class:`~appstats.sync.SyncConfig` or the path of the
            sync TOML (``[target]`` is not used: dlt's destination is).
        apps: only these apps (config names).
        reports: only these reports (``name``, ``provider.name`` or
            ``provider.*``); ``source.with_resources(...)`` selects too.
        until: last day to load (default: yesterday in China, UTC+8).
        lag_days: recent days fetched again on every run (default: each
            app's ``lag_days`` from the config, 3 unless set).
        on_error: ``"raise"`` or ``"skip"`` (see the module docs).
        today: the day the run is for (default: today in China): replays
            and sandboxes with a fixed date.
        concurrency: requests in flight (default: the config's).
        apps_per_batch: apps of one report fetched per fan-out run.
        allow_literal_secrets: accept secrets written in the config itself.

    Examples:
        >>> import appstats as aps, appstats.dlt, dlt, tempfile
        >>> d = tempfile.mkdtemp()
        >>> with aps.Sandbox(apps=2, today="2024-04-01") as sb:
        ...     cfg = aps.sync.sandbox_config(sb, d + "/lake", providers=["mta"],
        ...                                   start="2024-03-25", reports=["user_basic"])
        ...     p = dlt.pipeline("doc", destination=dlt.destinations.duckdb(d + "/db.duckdb"),
        ...                      pipelines_dir=d, dataset_name="appstats")
        ...     info = p.run(appstats.dlt.appstats_source(cfg, today=sb.today))
        >>> with p.sql_client() as c:
        ...     c.execute_sql("SELECT app, count(*) FROM mta_user_basic GROUP BY 1 ORDER BY 1")
        [('mta1', 7), ('mta2', 7)]
    """
    if on_error not in ON_ERROR:
        raise InvalidArgument(f"on_error must be one of {', '.join(ON_ERROR)}, got {on_error!r}")
    if isinstance(apps, str) or isinstance(reports, str):
        raise InvalidArgument("apps and reports are lists of names, not one string")
    if lag_days is not None and (isinstance(lag_days, bool) or not 0 <= lag_days <= 366):
        raise InvalidArgument(f"lag_days must be between 0 and 366, got {lag_days!r}")
    if isinstance(apps_per_batch, bool) or not 1 <= apps_per_batch <= 100_000:
        raise InvalidArgument(
            f"apps_per_batch must be between 1 and 100000, got {apps_per_batch!r}"
        )
    source_config = config if isinstance(config, SyncConfig) else os.fspath(config)
    cfg, t, u = run_dates(source_config, until, today, allow_literal_secrets)
    chosen = select_apps(cfg, apps, reports)
    if lag_days is not None:
        chosen = [dataclasses.replace(a, lag_days=lag_days) for a in chosen]
    conc = concurrency or cfg.concurrency
    by_report: dict[str, list[AppConfig]] = {}
    for a in chosen:
        for r in a.reports:
            by_report.setdefault(r.key, []).append(dataclasses.replace(a, reports=(r,)))
    if not by_report:
        raise InvalidArgument("the config selects no app and report to load")
    for key in (k for k in catalog.REPORTS if k in by_report):
        rep = catalog.REPORTS[key]
        res = dlt.resource(
            _fetch(rep, by_report[key], cfg, t, u, on_error, apps_per_batch, conc),
            name=rep.table,
            write_disposition="merge",
            primary_key=primary_key(rep) or [],
            merge_key=merge_key(rep),
            columns=column_hints(rep),
        )
        res.apply_hints(
            table_name=ERRORS_TABLE,
            write_disposition="append",
            primary_key=[],
            merge_key=[],
            columns={},  # not the report's column hints (a variant starts as a copy)
            create_table_variant=True,
        )
        yield res
