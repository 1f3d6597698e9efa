"""Sync benchmark: many sandbox apps into Delta tables, twice.

N MTA apps (default 1,000 and, for the memory ratio, 100) × 3 reports ×
30 days, 50 ms latency per reply, each app limited to ``--rate`` requests
per second. The reports are ``user_basic`` and ``crash`` (one request per
30-day window) and ``frequency`` (a distribution: one request per day), so
a first run sends 32 requests per app and a rerun — the 3-day lag window
only — sends 1 + 1 + 3.

The sandbox runs in a process of its own (its memory is not the client's);
each size runs in a fresh process, so its peak RSS is its own. Printed per
size: wall time of the first run split into fetching and writing (the time
spent in Delta commits), the ideal bound ``max(requests ÷ concurrency ×
latency, per-app rate bound)`` and the ratio to it, the rerun's requests
against the lag-window plan, and peak RSS; then the RSS ratio 1,000 ÷ 100
apps.

Targets: first run within 1.2× of the ideal bound; peak RSS at 1,000 apps
within 1.5× of that at 100; rerun = the lag-window requests only.

Run: ``python benches/sync.py`` (~3 min) or ``--quick`` (100 and 20 apps).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

TODAY = "2024-04-01"
START = "2024-03-02"  # 30 days up to 03-31
REPORTS = ["mta.user_basic", "mta.crash", "mta.frequency"]
TARGET_IDEAL = 1.2
TARGET_RSS = 1.5

SANDBOX = """
import json, sys, appstats as aps
sb = aps.Sandbox(apps=int(sys.argv[1]), latency=float(sys.argv[2]), today=sys.argv[3])
print(json.dumps({"url": sb.url, "apps": sb.apps("mta")}), flush=True)
sys.stdin.read()
sb.close()
"""


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(n: int, latency: float, rate: int, concurrency: int, active_apps: int) -> dict[str, Any]:
    """One size, in this (fresh) process: sync twice, report."""
    import polars as pl

    import appstats as aps
    from appstats.sync import AppConfig, SyncConfig, catalog, store

    server = subprocess.Popen(
        [sys.executable, "-c", SANDBOX, str(n), str(latency), TODAY],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        info = json.loads(server.stdout.readline())  # type: ignore[union-attr]
        reports = tuple(catalog.REPORTS[r] for r in REPORTS)
        import datetime as dt

        apps = tuple(
            AppConfig(
                name=f"app{i:05d}",
                provider="mta",
                app_id=a["app_id"],
                start=dt.date.fromisoformat(START),
                lag_days=3,
                reports=reports,
                credentials={
                    "app_id": a["app_id"],
                    "secret_key": a["secret_key"],
                    "base_url": info["url"],
                },
                # one request in flight per app: the global cap is then
                # exactly the requests in flight (the ideal bound's
                # `concurrency`)
                http={"rate_limit": rate, "concurrency": 1},
            )
            for i, a in enumerate(info["apps"])
        )
        lake = tempfile.mkdtemp(prefix="appstats-bench-sync-")
        cfg = SyncConfig(uri=lake, apps=apps, concurrency=concurrency, active_apps=active_apps)
        base_rss = rss_mb()
        # time spent committing to Delta (the rest of the run is fetching)
        spent = {"write": 0.0}
        for name in ("replace", "log_runs"):
            orig = getattr(store.DeltaStore, name)

            def timed(self: Any, *a: Any, _orig: Any = orig, **k: Any) -> Any:
                t = time.perf_counter()
                try:
                    return _orig(self, *a, **k)
                finally:
                    spent["write"] += time.perf_counter() - t

            setattr(store.DeltaStore, name, timed)
        t0 = time.perf_counter()
        first = aps.sync(cfg, today=TODAY, progress=False)
        wall1 = time.perf_counter() - t0
        write1 = spent["write"]
        plan2 = aps.sync.plan(cfg, today=TODAY)
        spent["write"] = 0.0
        t0 = time.perf_counter()
        second = aps.sync(cfg, today=TODAY, progress=False)
        wall2 = time.perf_counter() - t0
        bad = pl.concat([first, second]).filter(pl.col("status") != "ok")
        return {
            "apps": n,
            "requests1": int(first["requests"].sum()),
            "wall1": wall1,
            "write1": write1,
            "rows1": int(first["rows"].sum()),
            "requests2": int(second["requests"].sum()),
            "planned2": plan2.requests,
            "wall2": wall2,
            "write2": spent["write"],
            "failed": bad.height,
            "per_app_requests": int(first["requests"].sum()) // n,
            "rss_base": base_rss,
            "rss_peak": rss_mb(),
        }
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(timeout=30)


def ideal(r: dict[str, Any], latency: float, rate: int, concurrency: int) -> float:
    by_cap = r["requests1"] / concurrency * latency
    per_app = (r["per_app_requests"] - 1) / rate + latency
    return max(by_cap, per_app)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--apps", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--rate", type=int, default=10, help="requests per second per app")
    ap.add_argument("--concurrency", type=int, default=32, help="requests in flight over all apps")
    ap.add_argument(
        "--active-apps",
        type=int,
        default=128,
        help="apps fetched at once (each paced by its own rate limit)",
    )
    ap.add_argument("--quick", action="store_true", help="20 and 100 apps")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.latency, a.rate, a.concurrency, a.active_apps)))
        return
    sizes = [20, 100] if a.quick else a.apps
    print(
        f"sync: N MTA apps × {len(REPORTS)} reports ({', '.join(REPORTS)}) × 30 days, "
        f"{a.latency * 1000:.0f} ms latency, {a.rate} req/s per app, concurrency "
        f"{a.concurrency} requests, {a.active_apps} apps at once; sandbox in its own "
        "process"
    )
    results = []
    for n in sizes:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(n),
                "--latency",
                str(a.latency),
                "--rate",
                str(a.rate),
                "--concurrency",
                str(a.concurrency),
                "--active-apps",
                str(a.active_apps),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        best = ideal(r, a.latency, a.rate, a.concurrency)
        fetch = r["wall1"] - r["write1"]
        print(
            f"\n{n} apps: first run {r['requests1']} requests, {r['rows1']} rows, "
            f"{r['wall1']:.2f} s (fetching {fetch:.2f} s, writing {r['write1']:.2f} s); "
            f"ideal {best:.2f} s → {r['wall1'] / best:.2f}× "
            f"(fetching alone {fetch / best:.2f}×; target ≤ {TARGET_IDEAL}×)"
        )
        print(
            f"  rerun: {r['requests2']} requests (lag-window plan: {r['planned2']}; "
            f"first run {r['requests1']}), {r['wall2']:.2f} s "
            f"(writing {r['write2']:.2f} s)"
        )
        print(
            f"  peak RSS {r['rss_peak']:.0f} MB (after imports {r['rss_base']:.0f} MB); "
            f"failed tasks: {r['failed']}"
        )
    if len(results) >= 2:
        small, large = results[0], results[-1]
        ratio = large["rss_peak"] / small["rss_peak"]
        print(
            f"\npeak RSS {large['apps']} ÷ {small['apps']} apps: {ratio:.2f}× "
            f"(target ≤ {TARGET_RSS}×: {'met' if ratio <= TARGET_RSS else 'missed'})"
        )
    worst = max(r["wall1"] / ideal(r, a.latency, a.rate, a.concurrency) for r in results)
    print(
        f"worst first-run ratio to the ideal: {worst:.2f}× "
        f"({'met' if worst <= TARGET_IDEAL else 'missed'}); reruns = lag plan: "
        f"{all(r['requests2'] == r['planned2'] for r in results)}"
    )


if __name__ == "__main__":
    main()
