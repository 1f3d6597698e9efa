"""One home per fact: for every report of the sync's catalog (each slice,
range and per-day), the many-app engine (``fetch_many``) returns exactly the
client's frame — rows, values, dtypes — and the lake holds exactly those
rows. A report joins this test by being in the catalog."""

from __future__ import annotations

import datetime as dt
import pathlib
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

import appstats as aps
from appstats.sync import REPORTS, Report, Task, sandbox_config

TODAY = dt.date(2024, 4, 1)
S, E = dt.date(2024, 3, 25), dt.date(2024, 3, 27)

CASES = [
    pytest.param(r, sl, id=f"{r.key}[{sl}]" if sl else r.key)
    for r in REPORTS.values()
    for sl in r.slice_values()
]


@pytest.fixture(scope="module")
def sb() -> Iterator[aps.Sandbox]:
    with aps.Sandbox(seed=11, apps=1, today=TODAY) as s:
        yield s


def _spec(sb: aps.Sandbox, provider: str) -> dict[str, Any]:
    c = sb.credentials
    if provider == "baidu":
        return {
            "provider": "baidu",
            "client_id": c["baidu_client_id"],
            "client_secret": c["baidu_client_secret"],
            "base_url": sb.url,
        }
    if provider == "mta":
        return {
            "provider": "mta",
            "app_id": c["mta_app_id"],
            "secret_key": c["mta_secret_key"],
            "base_url": sb.url,
        }
    sdkappid, key, region = sb.tim_apps()[0]
    return {
        "provider": "tim",
        "sdkappid": sdkappid,
        "secret_key": key,
        "identifier": c["tim_admin"],
        "region": region,
        "resolve_to": sb.addr,
        "today": str(sb.today),
    }


def _client_frame(sb: aps.Sandbox, report: Report, options: dict[str, str]) -> pl.DataFrame:
    """What a user gets from the provider's client for the same window."""
    if report.provider == "tim":  # the last 30 days, cut to the window
        df = sb.tim(0).app_info(progress=False)
        return df.filter(pl.col("date").is_between(S, E))  # type: ignore[no-any-return]
    client: Any = sb.baidu() if report.provider == "baidu" else sb.mta()
    if not report.per_day:
        return client.report(report.method, S, E, progress=False, **options).data  # type: ignore[no-any-return]
    days = []
    d = S
    while d <= E:
        df = client.report(report.method, d, d, progress=False, **options).data
        days.append(df.select(pl.lit(d).alias("date"), pl.all()))
        d += dt.timedelta(days=1)
    return pl.concat(days)


@pytest.mark.parametrize("report, sl", CASES)
def test_fetch_many_returns_the_clients_frame(
    sb: aps.Sandbox, report: Report, sl: str | None
) -> None:
    options = report.task_options(sl)
    task = Task("app", report.method, S, E, options, report.per_day)
    with aps.fetch_many({"app": _spec(sb, report.provider)}, [task], progress=False) as run:
        many = next(iter(run)).frame
    client = _client_frame(sb, report, options)
    assert many.height > 0
    assert many.schema == client.schema
    assert many.equals(client), (many, client)


@pytest.mark.slow
def test_the_lake_holds_the_clients_rows(sb: aps.Sandbox, tmp_path: pathlib.Path) -> None:
    """A sync of every report: each table, less ``app``/``app_id``/
    ``fetched_at``/``month``, equals ``fetch_many``'s frames for the app."""
    lake = tmp_path / "lake"
    cfg = sandbox_config(sb, lake, apps=1, start=S)
    summary = aps.sync(cfg, today=TODAY, until=E, progress=False)
    assert set(summary["status"]) == {"ok"}, summary.filter(pl.col("status") != "ok")
    from appstats.sync.apps import engine_spec

    specs = {a.name: engine_spec(a, None) for a in cfg.apps if a.provider != "baidu"}
    checked = 0
    for report in REPORTS.values():
        if report.provider == "baidu":  # programs: their tokens are the sync's (tested above)
            continue
        app = next(a for a in cfg.apps if a.provider == report.provider)
        tasks = [
            Task(app.name, report.method, S, E, report.task_options(sl), report.per_day)
            for sl in report.slice_values()
        ]
        with aps.fetch_many({app.name: specs[app.name]}, tasks, progress=False) as run:
            frames = [o.frame for o in sorted(run, key=lambda o: o.position)]
        want = pl.concat(frames)
        got = pl.read_delta(str(lake / report.table)).drop(
            "app", "fetched_at", "month", *(["app_id"] if "app_id" not in want.columns else [])
        )
        assert got.schema == want.schema, report.key
        assert got.sort(got.columns).equals(want.sort(want.columns)), report.key
        checked += 1
    assert checked == sum(1 for r in REPORTS.values() if r.provider != "baidu")


def test_one_catalog_in_rust_ties_the_cli_and_the_sync() -> None:
    """The native catalog is the one list of reports and options: the CLI
    lists exactly it, and every report and slice the sync fetches is valid
    there and has a fixed schema (what Spark declares)."""
    from appstats import _native, cli

    native = {(r["provider"], r["name"]): r for r in _native.report_catalog()}
    assert {(p, n) for p, reps in cli.CATALOG.items() for n in reps} == set(native)
    for rep in REPORTS.values():
        info = native[(rep.provider, rep.method)]
        names = {o["name"]: o for o in info["options"]}
        for sl in rep.slice_values():
            options = rep.task_options(sl)
            for k, v in options.items():
                assert k in names, (rep.key, k)
                values = names[k]["values"]
                assert not values or v in values, (rep.key, k, v)
            frame = _native.report_schema(rep.provider, rep.method, options)
            assert frame.height == 0 and frame.width > 0, rep.key
    with pytest.raises(aps.InvalidArgument, match="takes no option"):
        _native.report_schema("baidu", "region", {"gran": "day"})
