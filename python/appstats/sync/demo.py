"""Sync against the sandbox: a config for its apps, and the demo's lake."""

from __future__ import annotations

import datetime as _dt
import os
import pathlib
from collections.abc import Sequence
from typing import Any

import polars as pl

from ..sandbox import Sandbox
from . import catalog
from .config import DEFAULT_CONCURRENCY, DEFAULT_LAG_DAYS, AppConfig, SyncConfig

__all__ = ["sandbox_config", "demo"]


def sandbox_config(
    sb: Sandbox,
    uri: str | os.PathLike[str],
    *,
    apps: int | None = None,
    providers: Sequence[str] = catalog.PROVIDERS,
    reports: Sequence[str] | None = None,
    start: str | _dt.date = "2024-03-01",
    lag_days: int = DEFAULT_LAG_DAYS,
    rate_limit: int = 50,
    concurrency: int = DEFAULT_CONCURRENCY,
    token_store: str | os.PathLike[str] | None = None,
) -> SyncConfig:
    """A sync config of the sandbox's apps (its fake credentials inline).

    Baidu apps are programs authorised to the sandbox's third-party platform
    (each with its first single-use refresh token), MTA apps and IM apps use
    their keys. ``apps`` limits the apps per provider; the tokens go to
    ``token_store`` (default: ``tokens.json`` inside ``uri``'s folder).

    Examples:
        >>> import appstats as aps
        >>> with aps.Sandbox(apps=3) as sb:
        ...     aps.sync.sandbox_config(sb, "/tmp/lake", providers=["mta"])
        SyncConfig(uri='/tmp/lake', apps: mta=3)
    """
    first = start if isinstance(start, _dt.date) else _dt.date.fromisoformat(start)
    creds = sb.credentials
    out: list[AppConfig] = []
    http = {"rate_limit": rate_limit}
    for provider in providers:
        chosen = tuple(catalog.select(provider, list(reports) if reports is not None else None))
        if not chosen:
            continue
        listed = sb.apps(provider)[: apps if apps is not None else None]
        for i, a in enumerate(listed):
            c: dict[str, Any]
            if provider == "baidu":
                name = f"program{i + 1}"
                c = {
                    "tp_client_id": creds["baidu_tp_client_id"],
                    "tp_ticket": creds["baidu_tp_ticket"],
                    "refresh_token": a["refresh_token"],
                    "base_url": sb.url,
                }
                app_id = a["app_id"]
            elif provider == "mta":
                name = f"mta{i + 1}"
                c = {"app_id": a["app_id"], "secret_key": a["secret_key"], "base_url": sb.url}
                app_id = a["app_id"]
            else:
                name = f"im{i + 1}"
                c = {
                    "sdkappid": int(a["sdkappid"]),
                    "secret_key": a["secret_key"],
                    "region": a["region"],
                    "resolve_to": sb.addr,
                    "today": sb.today.isoformat(),
                }
                app_id = a["sdkappid"]
            out.append(
                AppConfig(
                    name=name,
                    provider=provider,
                    app_id=app_id,
                    start=first,
                    lag_days=lag_days,
                    reports=chosen,
                    credentials=c,
                    http=dict(http),
                )
            )
    root = pathlib.Path(uri)
    store = pathlib.Path(token_store) if token_store else root.parent / f"{root.name}.tokens.json"
    return SyncConfig(uri=str(uri), apps=tuple(out), token_store=store, concurrency=concurrency)


def demo(out: str | os.PathLike[str], *, seed: int = 7, apps: int = 5) -> None:
    """Sync ``apps`` sandbox apps per provider into ``out`` (a folder of
    Delta tables), twice, and print a query over the result.

    The second run fetches the lag window only; then the apps of the three
    providers side by side from the ``metrics`` table
    (:func:`appstats.metrics.compare`); the query uses Polars'
    ``scan_delta`` and, when DuckDB is installed, DuckDB over the table's
    Arrow dataset (never a Parquet glob: a Delta folder also holds files
    that are no longer part of the table).
    """
    from .runner import run

    pl.Config.set_tbl_rows(8)
    with Sandbox(seed=seed, apps=apps, restate_days=2) as sb:
        today = sb.today
        cfg = sandbox_config(
            sb,
            out,
            start=today - _dt.timedelta(days=28),
            reports=[
                "baidu.user_trend",
                "baidu.retention_day",
                "baidu.region",
                "mta.user_basic",
                "mta.retention",
                "tim.app_info",
            ],
        )
        first = run(cfg, today=today, progress=False)
        second = run(cfg, today=today, progress=False)
    print(f"\n== sync of {apps} sandbox apps per provider into {out}/")
    print(
        first.group_by("table")
        .agg(pl.col("rows").sum(), pl.col("requests").sum(), pl.len().alias("tasks"))
        .sort("table")
    )
    print(
        f"rerun: {second['requests'].sum()} requests (lag window only) vs "
        f"{first['requests'].sum()} for the first run; "
        f"statuses {sorted(set(second['status']))}"
    )
    from ..metrics import compare

    side = compare(out, days=7)
    span = side.select(pl.col("from").min(), pl.col("to").max()).row(0)
    print(
        f"\nOne model across providers (the lake's `metrics` table), "
        f"{span[0]} – {span[1]}: mean DAU, new users, day-1 retention"
        "\n(Baidu's retention cohorts are a day's active users, MTA's its new users)"
    )
    with pl.Config(tbl_rows=3 * apps, tbl_cols=8, tbl_width_chars=120):
        print(side.drop("from", "to"))
    trend = pl.scan_delta(str(pathlib.Path(out) / "baidu_user_trend"))
    q = (
        trend.group_by("app")
        .agg(pl.col("user_count").sum().alias("users"), pl.col("date").max().alias("last_day"))
        .sort("users", descending=True)
    )
    print("\nPolars: pl.scan_delta('out/lake/baidu_user_trend') — users per program")
    print(q.collect())
    try:
        import duckdb
        from deltalake import DeltaTable
    except ImportError:
        return
    ds = DeltaTable(str(pathlib.Path(out) / "mta_user_basic")).to_pyarrow_dataset()  # noqa: F841
    print("\nDuckDB over DeltaTable(...).to_pyarrow_dataset() — MTA new users per week")
    rel = duckdb.sql(
        "SELECT app, CAST(date_trunc('week', date) AS DATE) AS week, "
        "CAST(sum(new_users) AS BIGINT) AS new_users "
        "FROM ds GROUP BY ALL ORDER BY week DESC, app LIMIT 8"
    )
    print(rel.pl() if rel is not None else "(no result)")
