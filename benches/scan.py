"""Lake-first lazy scans: a 30-day, 100-app query whose lake holds 27 of the
30 days, against the same query without the lake.

    .venv/bin/python benches/scan.py            # 100 apps (~20 s)
    .venv/bin/python benches/scan.py --apps 20  # quicker

A sandbox with 100 MTA apps (today 2024-04-01) is synced for
``mta.frequency`` (a per-day report: one request per app and day) from
2024-03-02 until 2024-03-28 — 27 of the 30 days 03-02 .. 03-31. Then
``aps.scan("mta.frequency", cfg).filter(date in those 30 days)`` is
collected with the lake and without it (``lake=False``); the sandbox counts
the requests each sends. Target: the lake-first scan sends at most 12 % of
the requests of the no-lake scan, and both return equal frames.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time

import polars as pl

import appstats as aps

TARGET = 0.12


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apps", type=int, default=100)
    args = ap.parse_args()
    first, last = dt.date(2024, 3, 2), dt.date(2024, 3, 31)
    with aps.Sandbox(apps=args.apps, today="2024-04-01") as sb, tempfile.TemporaryDirectory() as d:
        cfg = aps.sync.sandbox_config(
            sb, f"{d}/lake", providers=["mta"], reports=["mta.frequency"], start=first
        )
        t = time.perf_counter()
        aps.sync(cfg, today=sb.today, until="2024-03-28", progress=False)
        synced = time.perf_counter() - t
        query = pl.col("date").is_between(first, last)

        n = sb.request_count()
        t = time.perf_counter()
        lake = aps.scan("mta.frequency", cfg, today=sb.today).filter(query).collect()
        lake_s, lake_n = time.perf_counter() - t, sb.request_count() - n

        n = sb.request_count()
        t = time.perf_counter()
        api = aps.scan("mta.frequency", cfg, today=sb.today, lake=False).filter(query).collect()
        api_s, api_n = time.perf_counter() - t, sb.request_count() - n

    equal = lake.sort(lake.columns).equals(api.sort(lake.columns))
    ratio = lake_n / api_n
    print(
        f"{args.apps} MTA apps x 30 days of mta.frequency (lake: 27 days, synced in {synced:.1f} s)"
    )
    print(f"  lake first : {lake_n:>6} requests  {lake_s:6.2f} s  {lake.height} rows")
    print(f"  no lake    : {api_n:>6} requests  {api_s:6.2f} s  {api.height} rows")
    print(f"  ratio      : {ratio:.1%} of the requests (target <= {TARGET:.0%}); equal: {equal}")
    ok = ratio <= TARGET and equal
    print("target met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
