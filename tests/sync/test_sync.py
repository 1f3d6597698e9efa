"""`appstats sync` end to end against the many-app sandbox: idempotent reruns,
the lag window replacing restated values, per-table schemas, one failing app,
gaps, a killed run resumed, secrets absent from tables, run log and logs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import time

import polars as pl
import pytest

import appstats as aps
from appstats.cli import main
from appstats.sync import sandbox_config
from tests.sync.helpers import write_toml

pytest.importorskip("deltalake")

TODAY = dt.date(2024, 4, 1)
REPORTS = [
    "mta.user_basic",
    "mta.retention",
    "mta.terminal",
    "tim.app_info",
    "baidu.user_trend",
    "baidu.region",
]


def _tables(uri: str | pathlib.Path) -> dict[str, pl.DataFrame]:
    """Every data table, sorted, without `fetched_at` (which differs by run)."""
    root = pathlib.Path(uri)
    out = {}
    for p in sorted(root.iterdir()):
        if (p / "_delta_log").is_dir() and not p.name.startswith("_"):  # _runs, _lease
            df = pl.read_delta(str(p)).drop("fetched_at", strict=False)  # metrics has none
            out[p.name] = df.sort(df.columns)
    return out


def _runs(uri: str | pathlib.Path) -> pl.DataFrame:
    return pl.read_delta(str(pathlib.Path(uri) / "_runs"))


@pytest.mark.slow
def test_idempotent_reruns_and_the_lag_window(tmp_path: pathlib.Path) -> None:
    lake = tmp_path / "lake"
    with aps.Sandbox(apps=3, today=TODAY) as sb:
        cfg = sandbox_config(sb, lake, start="2024-03-20", reports=REPORTS)
        first = aps.sync(cfg, today=TODAY, progress=False)
        assert set(first["status"]) == {"ok"}, first.filter(pl.col("status") != "ok")
        after_first = _tables(lake)
        n = sb.request_count()
        second = aps.sync(cfg, today=TODAY, progress=False)
        again = _tables(lake)
        lag_requests = sb.request_count() - n
    assert after_first.keys() == again.keys()
    for name, df in after_first.items():
        assert df.equals(again[name]), name
    # the second run fetched the lag window (3 days) only; retention its horizon
    daily = second.filter(pl.col("report") == "mta.user_basic")
    assert set(daily["start"]) == {dt.date(2024, 3, 29)} and set(daily["rows"]) == {3}
    ret = second.filter(pl.col("report") == "mta.retention")
    assert set(ret["start"]) == {dt.date(2024, 3, 20)}  # 31-day horizon: not final yet
    assert lag_requests == second["requests"].sum() < first["requests"].sum()
    # one row per (app, day): no duplicates whatever the reruns
    ub = again["mta_user_basic"]
    assert ub.height == 3 * 12 and ub.select("app", "date").is_unique().all()
    runs = _runs(lake)
    assert runs.height == first.height + second.height
    assert set(runs["status"]) == {"ok"} and runs["run_id"].n_unique() == 2


@pytest.mark.slow
def test_tables_and_schemas(tmp_path: pathlib.Path) -> None:
    lake = tmp_path / "lake"
    with aps.Sandbox(apps=2, today=TODAY) as sb:
        cfg = sandbox_config(sb, lake, start="2024-03-25", reports=REPORTS)
        aps.sync(cfg, today=TODAY, progress=False)
        direct = sb.mta().user_basic("2024-03-25", "2024-03-31", progress=False)
        region = sb.baidu_tp(auth_code="sandbox-code-1").region(
            "2024-03-30", "2024-03-30", progress=False
        )
    t = _tables(lake)
    assert sorted(t) == [
        "baidu_region",
        "baidu_user_trend",
        "metrics",
        "mta_retention",
        "mta_terminal",
        "mta_user_basic",
        "tim_app_info",
    ]
    ub = pl.read_delta(str(lake / "mta_user_basic"))
    assert ub.columns == ["app", "app_id", *direct.columns, "fetched_at", "month"]
    assert ub.schema["fetched_at"] == pl.Datetime("us", "UTC")
    mine = (
        ub.filter(pl.col("app") == "mta1").sort("date").drop("app", "app_id", "fetched_at", "month")
    )
    assert mine.equals(direct)
    # distributions: one day per request, with a date column
    reg = pl.read_delta(str(lake / "baidu_region"))
    assert reg.columns[:3] == ["app", "app_id", "date"]
    day = reg.filter((pl.col("app") == "program1") & (pl.col("date") == dt.date(2024, 3, 30)))
    assert (
        day.drop("app", "app_id", "date", "fetched_at", "month")
        .sort("region")
        .equals(region.sort("region"))
    )
    term = pl.read_delta(str(lake / "mta_terminal"))
    assert set(term["terminal_type"]) == {"os", "resolution", "network", "carrier", "device"}
    assert set(pl.read_delta(str(lake / "baidu_user_trend"))["app_id"]) == {"17000001", "17000002"}
    # partitions: by month
    assert {p.name for p in (lake / "mta_user_basic").iterdir() if p.is_dir()} >= {"month=2024-03"}


def test_restated_days_are_replaced(tmp_path: pathlib.Path) -> None:
    lake = tmp_path / "lake"
    reports = ["mta.user_basic", "tim.app_info"]
    with aps.Sandbox(apps=2, today=TODAY, restate_days=3) as sb:
        aps.sync(
            sandbox_config(sb, lake, start="2024-03-20", reports=reports),
            today=TODAY,
            progress=False,
        )
    later = TODAY + dt.timedelta(days=2)
    with aps.Sandbox(apps=2, today=later, restate_days=3) as sb:
        aps.sync(
            sandbox_config(sb, lake, start="2024-03-20", reports=reports),
            today=later,
            progress=False,
        )
        truth = sb.mta().user_basic("2024-03-20", "2024-04-02", progress=False)
        im = sb.tim(0).app_info(progress=False).filter(pl.col("date") >= dt.date(2024, 3, 20))
    ub = pl.read_delta(str(lake / "mta_user_basic")).filter(pl.col("app") == "mta1").sort("date")
    assert ub.drop("app", "app_id", "fetched_at", "month").equals(truth)
    tim = pl.read_delta(str(lake / "tim_app_info")).filter(pl.col("app") == "im1").sort("date")
    assert tim.drop("app", "fetched_at", "month").equals(im)  # IM's own app_id is kept


def test_one_failing_app_does_not_stop_the_others(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    lake = tmp_path / "lake"
    caplog.set_level(logging.DEBUG, logger="appstats")
    with aps.Sandbox(apps=3, today=TODAY) as sb:
        cfg = sandbox_config(
            sb, lake, start="2024-03-25", providers=["mta"], reports=["user_basic", "terminal"]
        )
        broken = dataclasses.replace(
            cfg.apps[1], credentials={**cfg.apps[1].credentials, "secret_key": "wrong-key-123"}
        )
        cfg = dataclasses.replace(cfg, apps=(cfg.apps[0], broken, cfg.apps[2]))
        summary = aps.sync(cfg, today=TODAY, progress=False)
    bad = summary.filter(pl.col("status") == "failed")
    assert set(bad["app"]) == {"mta2"} and bad.height == 6  # user_basic + 5 terminal types
    assert bad["error"].str.starts_with("AuthError").all()
    assert set(summary.filter(pl.col("app") != "mta2")["status"]) == {"ok"}
    ub = pl.read_delta(str(lake / "mta_user_basic"))
    assert set(ub["app"]) == {"mta1", "mta3"}
    runs = _runs(lake)
    assert runs.filter(pl.col("status") == "failed")["error_class"].unique().to_list() == [
        "AuthError"
    ]
    # secrets: nowhere in tables, run log or log lines
    secrets = [a.credentials["secret_key"] for a in cfg.apps]
    text = "\n".join(str(df.to_dicts()) for df in [ub, runs]) + caplog.text
    for s in secrets:
        assert s not in text


def test_history_limit_is_a_gap(tmp_path: pathlib.Path) -> None:
    lake = tmp_path / "lake"
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(sb, lake, start="2024-02-01", providers=["tim"])
        summary = aps.sync(cfg, today=TODAY, progress=False)
        again = aps.sync(cfg, today=TODAY, progress=False)
    gap = summary.filter(pl.col("status") == "gap")
    assert gap.select("start", "end").rows() == [(dt.date(2024, 2, 1), dt.date(2024, 3, 1))]
    assert "only the last 30 days" in gap["error"][0]
    ok = summary.filter(pl.col("status") == "ok")
    assert ok.select("start", "end", "rows").rows() == [
        (dt.date(2024, 3, 2), dt.date(2024, 3, 31), 30)
    ]
    assert set(again["status"]) == {"ok"}, "a recorded gap is not reported again"
    assert _runs(lake).filter(pl.col("status") == "gap").height == 1


def test_dry_run_sends_nothing(tmp_path: pathlib.Path) -> None:
    with aps.Sandbox(apps=2, today=TODAY) as sb:
        cfg = sandbox_config(sb, tmp_path / "lake", start="2024-03-01", reports=REPORTS)
        plan = aps.sync(cfg, today=TODAY, dry_run=True)
        assert sb.request_count() == 0
    assert set(plan["status"]) == {"planned", "gap"} and plan["requests"].sum() > 100  # IM: 03-01
    assert not (tmp_path / "lake").exists()
    p = aps.sync.plan(cfg, today=TODAY)
    assert "tasks for 6 apps" in p.describe()


@pytest.mark.slow
def test_cli_sync_and_a_killed_run_resumed(tmp_path: pathlib.Path) -> None:
    """A sync killed half-way (SIGKILL) and run again ends with the same
    tables as a clean run; the CLI prints a summary and exits 0."""
    reports = ["mta.user_basic", "mta.terminal", "baidu.user_trend", "baidu.region"]
    # the clean run in a sandbox of its own (same seed: the same data), so
    # that the programs' refresh-token chains of the other start afresh
    with aps.Sandbox(apps=4, today=TODAY) as sb:
        clean = sandbox_config(sb, tmp_path / "clean", start="2024-03-18", reports=reports)
        done = aps.sync(clean, today=TODAY, progress=False)
        assert set(done["status"]) == {"ok"}
    with aps.Sandbox(apps=4, today=TODAY, latency=0.02) as sb:
        cfg = sandbox_config(
            sb, tmp_path / "lake", start="2024-03-18", reports=reports, rate_limit=50
        )
        toml = tmp_path / "sync.toml"
        write_toml(sb, cfg, toml)
        # small batches: commits (and _runs rows) start long before the end
        script = (
            "import appstats.sync as s, appstats.sync.runner as r\n"
            "r.BATCH_TASKS = 4\n"
            f"s.run({str(toml)!r}, today='{TODAY}', progress=False)\n"
        )
        proc = subprocess.Popen([sys.executable, "-c", script], env=os.environ.copy())
        log = tmp_path / "lake" / "_runs" / "_delta_log"
        deadline = time.monotonic() + 60
        store = pathlib.Path(str(cfg.token_store))

        def refreshes_stored() -> bool:
            # a kill between Baidu's rotation of a refresh token and its
            # storing (milliseconds) is the one window no client can close:
            # kill after every program's refresh is stored
            try:
                apps = json.loads(store.read_text())["apps"]
            except (OSError, ValueError, KeyError):
                return False
            programs = [a.name for a in cfg.apps if a.provider == "baidu"]
            return all(
                apps.get(p, {}).get("access_token") and not apps[p].get("pending_since")
                for p in programs
            )

        while not (log.is_dir() and any(log.glob("*.json")) and refreshes_stored()):
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        partial = _runs(tmp_path / "lake")
        assert 0 < partial.height < done.height, "killed half-way"
        argv = ["sync", "--config", str(toml), "-q"]
        # the CLI's until is yesterday in China; this sandbox's today is fixed
        assert main([*argv, "--until", "2024-03-31"]) == 0
    got, want = _tables(tmp_path / "lake"), _tables(tmp_path / "clean")
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].equals(want[name]), name


@pytest.mark.slow
def test_optimize_compacts_and_vacuum_ends_time_travel(tmp_path: pathlib.Path) -> None:
    from deltalake import DeltaTable

    lake = tmp_path / "lake"
    with aps.Sandbox(apps=2, today=TODAY) as sb:
        cfg = sandbox_config(
            sb, lake, start="2024-03-28", providers=["mta"], reports=["user_basic", "terminal"]
        )
        for app in ("mta1", "mta2", "mta1"):  # one app a run: a file each
            aps.sync(cfg, today=TODAY, progress=False, apps=[app])
        table = str(lake / "mta_terminal")
        assert len(DeltaTable(table).file_uris()) == 2
        first = pl.read_delta(table, version=0)
    done = aps.sync.optimize(cfg)  # what `appstats sync --optimize` adds to a run
    assert done["mta_terminal"]["files_compacted"] == 2
    t = DeltaTable(table)
    assert len(t.file_uris()) == 1, "one file per partition after compaction"
    assert "OPTIMIZE" in [h["operation"] for h in t.history()]
    # removed files are kept for the retention (7 days): time travel works ...
    assert pl.read_delta(table, version=0).equals(first)
    # ... until they are vacuumed for good
    aps.sync.optimize(cfg, retention_hours=0)
    with pytest.raises(Exception):  # noqa: B017 - deltalake's own error class
        pl.read_delta(table, version=0)
    assert pl.read_delta(table).height > 0
