"""Per-request overhead: a one-row report, fetched again and again at zero latency.

Every call fetches Baidu ``user_trend`` for one day (one request, one row)
from the embedded sandbox, which runs in a **separate process** so that
its own CPU does not count against either side:

* ``appstats``: ``BaiduSmartApp.user_trend(day, day)`` (token cached after
  the first call), with ``progress=False`` and with the default progress
  setting (a tqdm bar, when tqdm is installed);
* ``loop``: what a script does by hand — one keep-alive ``http.client``
  connection, POST the form, ``json.loads`` the reply, check ``errno``,
  ``polars.from_dicts`` the ``data_list`` rows into a typed frame (the
  same columns and dtypes as appstats'; the date parsed).

Reported: calls per second and CPU per call of each, and the ratio
appstats ÷ loop (time per call); target ≤ 1.2×. ``--profile`` prints where
appstats' time goes (cProfile of the Python side).

Run: ``python benches/overhead.py`` (~20 s) or ``--quick``.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import os
import pstats
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import polars as pl

import appstats as aps

TARGET = 1.2
DAY = "2024-03-05"
SCHEMA = {
    "date": pl.Date,
    "new_user_count": pl.Int64,
    "new_user_ratio": pl.Float64,
    "old_user_count": pl.Int64,
    "old_user_ratio": pl.Float64,
    "user_count": pl.Int64,
    "session_count": pl.Int64,
    "average_session_time": pl.Float64,
    "session_time_per_person": pl.Float64,
}

SERVER = """
import sys, appstats as aps
sb = aps.Sandbox(seed=7)
c = sb.credentials
print(sb.url, c["baidu_client_id"], c["baidu_client_secret"], flush=True)
sys.stdin.read()
sb.close()
"""


class Loop:
    """The hand-written client: one keep-alive connection."""

    def __init__(self, url: str, client_id: str, secret: str) -> None:
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port)
        q = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
                "scope": "smartapp_snsapi_base",
            }
        )
        self.conn.request("GET", f"/oauth/2.0/token?{q}")
        self.token = json.loads(self.conn.getresponse().read())["access_token"]
        d = DAY.replace("-", "")
        self.body = urllib.parse.urlencode(
            {"start_date": d, "end_date": d, "start_index": 0, "gran": "day"}
        )
        self.path = "/rest/2.0/smartapp/data/getanalysisusertrend?" + urllib.parse.urlencode(
            {"access_token": self.token}
        )
        self.headers = {"Content-Type": "application/x-www-form-urlencoded"}

    def __call__(self) -> pl.DataFrame:
        self.conn.request("POST", self.path, self.body, self.headers)
        reply = json.loads(self.conn.getresponse().read())
        if reply.get("errno", 0) != 0:
            raise RuntimeError(reply)
        rows = reply["data"]["data_list"]
        df = pl.from_dicts(
            rows, schema={"name": pl.String, **{k: v for k, v in SCHEMA.items() if k != "date"}}
        )
        return df.with_columns(pl.col("name").str.to_date("%Y/%m/%d").alias("date")).select(
            list(SCHEMA)
        )


def rate(fn: Callable[[], Any], n: int, repeat: int) -> tuple[float, float]:
    """Best seconds per call and CPU seconds per call over `repeat` runs of `n` calls."""
    best, cpu = float("inf"), float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
        cpu = min(cpu, (time.process_time() - c0) / n)
    return best, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer calls (smoke test)")
    ap.add_argument("--calls", type=int, help="calls per run (default 2000)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile appstats' calls")
    args = ap.parse_args()
    n = args.calls or (300 if args.quick else 2000)
    repeat = 1 if args.quick else args.repeat
    print(f"appstats {aps.__version__}, polars {pl.__version__}, Python {sys.version.split()[0]}")
    srv = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert srv.stdout is not None
        url, cid, secret = srv.stdout.readline().split()
        loop = Loop(url, cid, secret)
        bd = aps.BaiduSmartApp(
            client_id=cid, client_secret=secret, base_url=url, rate_limit=100_000
        )
        a = bd.user_trend(DAY, DAY, progress=False)
        b = loop()
        assert a.equals(b), (a, b)
        cases: dict[str, Callable[[], Any]] = {
            "loop (http.client + json + from_dicts)": loop,
            "appstats, progress=False": lambda: bd.user_trend(DAY, DAY, progress=False),
            "appstats, default progress": lambda: bd.user_trend(DAY, DAY),
        }
        # the bars are drawn to stderr: count their cost, not their output
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        print(
            f"Baidu user_trend, one day = one request and one row; sandbox in another "
            f"process; {n} calls, best of {repeat}\n"
        )
        print(f"{'method':<40} {'calls/s':>8} {'µs/call':>8} {'CPU µs/call':>12} {'÷ loop':>8}")
        base = None
        results = {}
        for name, fn in cases.items():
            fn()  # warm up
            t, cpu = rate(fn, n, repeat)
            base = base or t
            results[name] = t / base
            print(
                f"{name:<40} {1 / t:>8,.0f} {t * 1e6:>8.0f} {cpu * 1e6:>12.0f} {t / base:>7.2f}×",
                flush=True,
            )
        sys.stderr = sys.__stderr__
        r = results["appstats, progress=False"]
        print(
            f"\ntarget: appstats ≤ {TARGET:g}× the loop per call: "
            f"{r:.2f}× ({'met' if r <= TARGET else 'NOT met'})"
        )
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(n):
                bd.user_trend(DAY, DAY, progress=False)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
    finally:
        if srv.stdin:
            srv.stdin.close()
        srv.wait(timeout=10)


if __name__ == "__main__":
    main()
