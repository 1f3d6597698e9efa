"""Soak: ten rounds of a sync killed (SIGKILL) at a random point, then two
syncs started together, on a sandbox of all three providers. Afterwards the
tables equal a clean sync's, no row is doubled and no Baidu token is lost."""

from __future__ import annotations

import datetime as dt
import os
import pathlib
import random
import signal
import subprocess
import sys
import time

import polars as pl
import pytest

import appstats as aps
from appstats.sync import sandbox_config
from tests.sync.helpers import write_toml

pytest.importorskip("deltalake")

pytestmark = pytest.mark.slow  # ten rounds of killed CLI syncs (make test-fast leaves it out)

TODAY = dt.date(2024, 4, 1)
START = dt.date(2024, 3, 15)
REPORTS = [
    "mta.user_basic",
    "mta.retention",
    "tim.app_info",
    "baidu.user_trend",
    "baidu.region",
]
ROUNDS = 10
MAIN = "import sys; from appstats.cli import main; sys.exit(main(sys.argv[1:]))"


def _tables(lake: pathlib.Path) -> dict[str, pl.DataFrame]:
    out = {}
    for p in sorted(lake.iterdir()):
        if (p / "_delta_log").is_dir() and not p.name.startswith("_"):
            df = pl.read_delta(str(p)).drop("fetched_at", strict=False)  # metrics has none
            out[p.name] = df.sort(df.columns)
    return out


def _sync(toml: pathlib.Path, until: dt.date) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", MAIN, "sync", "--config", str(toml), "-q"]
    return subprocess.Popen(
        [*argv, "--today", str(TODAY), "--until", str(until)],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _overlapping(toml: pathlib.Path, until: dt.date) -> float:
    """Two syncs started together; the seconds the pair took."""
    t0 = time.monotonic()
    pair = [_sync(toml, until), _sync(toml, until)]
    codes = []
    for p in pair:
        _, err = p.communicate(timeout=180)
        assert p.returncode in (0, 75), err
        assert "Traceback" not in err and "panicked" not in err, err
        codes.append(p.returncode)
    assert 0 in codes, codes
    return time.monotonic() - t0


def test_soak_overlapping_and_killed_syncs(tmp_path: pathlib.Path) -> None:
    rng = random.Random(20)
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        clean = sandbox_config(sb, tmp_path / "clean", start=START, reports=REPORTS)
        assert set(aps.sync(clean, today=TODAY, progress=False)["status"]) == {"ok"}
    with aps.Sandbox(apps=1, today=TODAY, latency=0.05) as sb:  # runs long enough to kill
        lake = tmp_path / "lake"
        cfg = sandbox_config(sb, lake, start=START, reports=REPORTS)
        toml = tmp_path / "sync.toml"
        write_toml(sb, cfg, toml)
        until = dt.date(2024, 3, 21)
        took = _overlapping(toml, until)  # the programs' first refresh, not killed
        killed = 0
        for k in range(ROUNDS):
            until = min(TODAY - dt.timedelta(days=1), until + dt.timedelta(days=1))
            proc = _sync(toml, until)
            # a kill at a random point of a run as long as the last round's
            # (however fast this machine is today)
            time.sleep(rng.uniform(0.1, 0.9) * took)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed += 1
            proc.communicate()
            took = _overlapping(toml, until)
            for name, df in _tables(lake).items():  # fetched_at dropped: a doubled row shows
                assert not df.is_duplicated().any(), (k, name)
        assert killed >= ROUNDS // 2, f"only {killed} of {ROUNDS} runs were killed mid-way"
        # the programs' tokens survived every kill: a last run still authenticates
        last = aps.sync(cfg, today=TODAY, progress=False)
        assert set(last["status"]) == {"ok"}, last.filter(pl.col("status") != "ok")
    got, want = _tables(lake), _tables(tmp_path / "clean")
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].equals(want[name]), name
