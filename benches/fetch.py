"""Fetch benchmark: a paged Baidu report over HTTP with 50 ms latency per reply.

The embedded sandbox serves ``getanalysisvisitpage`` with ``--rows`` rows
(default 2000 → 100 pages of 20) and sleeps ``--latency`` before every data
reply (token replies are not delayed). Timed, best of N, each run from a
new client (so the token request is included):

* ``appstats``: ``BaiduSmartApp.visit_page`` (first page, then the others
  concurrently), ``concurrency`` as given, rate limit out of the way;
* ``requests loop``: what a script does by hand — a ``requests.Session``,
  GET the token, POST page after page (``start_index`` += 20) until
  ``total``, ``json`` each reply, then ``polars.from_dicts`` the rows.

``aps@0ms`` is the same appstats fetch with no latency: the CPU cost of
client + sandbox on this machine. Also printed: the ideal
``ceil(pages / concurrency) × latency`` and the
floor of a client that must read the first page to learn ``total``:
``(1 + ceil((pages − 1) / concurrency)) × latency``.

Run: ``python benches/fetch.py`` (~30 s) or ``--quick``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from typing import Any

import polars as pl
import requests

import appstats

TARGET_LOOP = 8.0  # appstats ≥ 8× faster than the sequential loop
TARGET_IDEAL = 1.3  # within 1.3× of the ideal
START, END = "2024-03-01", "2024-03-31"


def requests_loop(url: str, creds: dict[str, str], page_size: int) -> pl.DataFrame:
    with requests.Session() as s:
        r = s.get(
            f"{url}/oauth/2.0/token",
            params={
                "grant_type": "client_credentials",
                "client_id": creds["baidu_client_id"],
                "client_secret": creds["baidu_client_secret"],
                "scope": "smartapp_snsapi_base",
            },
            timeout=30,
        )
        r.raise_for_status()
        token = r.json()["access_token"]
        rows: list[dict[str, Any]] = []
        start, total = 0, None
        while total is None or start < total:
            r = s.post(
                f"{url}/rest/2.0/smartapp/data/getanalysisvisitpage",
                params={"access_token": token},
                data={
                    "start_date": START.replace("-", ""),
                    "end_date": END.replace("-", ""),
                    "start_index": start,
                    "max_results": page_size,
                },
                timeout=30,
            )
            r.raise_for_status()
            reply = r.json()
            if reply.get("errno", 0) != 0:
                raise RuntimeError(f"Baidu error: {reply}")
            data = reply["data"]
            total = int(data["total"])
            rows.extend(data["data_list"])
            start += page_size
    return pl.from_dicts(rows, infer_schema_length=None)


def best(fn: Any, repeat: int) -> tuple[float, Any]:
    t_best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t_best = min(t_best, time.perf_counter() - t0)
    return t_best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20 pages, 1 run each (smoke test)")
    ap.add_argument("--rows", type=int, help="rows of the page report (default 2000)")
    ap.add_argument("--page-size", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds per reply (0.05)")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--repeat", type=int, default=3, help="best of N for appstats (3)")
    ap.add_argument("--loop-repeat", type=int, default=2, help="best of N for the loop (2)")
    args = ap.parse_args()
    rows = args.rows or (400 if args.quick else 2000)
    if args.quick:
        args.repeat = args.loop_repeat = 1
    pages = math.ceil(rows / args.page_size)
    lat = args.latency
    print(
        f"appstats {appstats.__version__}, requests {requests.__version__}, "
        f"Python {sys.version.split()[0]}"
    )
    print(
        f"visit_page: {rows} rows = {pages} pages of {args.page_size}, "
        f"{lat * 1000:g} ms latency per reply"
    )

    # Calibration: the same fetches without latency show the CPU cost of the
    # client plus the sandbox (which builds the whole report for every page).
    zero: dict[int, float] = {}
    with appstats.Sandbox(seed=7, latency=0.0, pages=rows) as sb0:
        for c in args.concurrency:
            bd0 = sb0.baidu(page_size=args.page_size, concurrency=c, rate_limit=10_000)
            zero[c], _ = best(
                lambda bd0=bd0: bd0.visit_page(START, END, progress=False), args.repeat
            )

    with appstats.Sandbox(seed=7, latency=lat, pages=rows) as sb:
        t_loop, df_loop = best(
            lambda: requests_loop(sb.url, sb.credentials, args.page_size), args.loop_repeat
        )
        assert df_loop.height == rows, (df_loop.height, rows)
        print(
            f"\nrequests loop (sequential): {t_loop:.3f} s "
            f"(best of {args.loop_repeat}; {pages} × {lat:g} s = {pages * lat:.2f} s of latency)"
        )
        print(
            f"\n{'concurrency':>11} {'appstats (s)':>13} {'loop/aps':>9} {'ideal (s)':>10} "
            f"{'aps/ideal':>10} {'floor (s)':>10} {'aps/floor':>10} {'aps@0ms (s)':>12}"
        )
        results = []
        for c in args.concurrency:

            def run(c: int = c) -> Any:
                bd = sb.baidu(page_size=args.page_size, concurrency=c, rate_limit=10_000)
                return bd.visit_page(START, END, progress=False)

            t_aps, df = best(run, args.repeat)
            assert df.height == rows, (df.height, rows)
            ideal = math.ceil(pages / c) * lat
            floor = (1 + math.ceil((pages - 1) / c)) * lat
            results.append((c, t_loop / t_aps, t_aps / ideal))
            print(
                f"{c:>11} {t_aps:>13.3f} {t_loop / t_aps:>8.1f}× {ideal:>10.2f} "
                f"{t_aps / ideal:>9.2f}× {floor:>10.2f} {t_aps / floor:>9.2f}× {zero[c]:>12.3f}",
                flush=True,
            )

    print(f"\ntargets: loop/appstats ≥ {TARGET_LOOP:g}×, appstats/ideal ≤ {TARGET_IDEAL:g}×")
    for c, speedup, vs_ideal in results:
        print(
            f"  concurrency {c:>2}: speed-up {speedup:.1f}× "
            f"({'met' if speedup >= TARGET_LOOP else 'NOT met'}), "
            f"{vs_ideal:.2f}× ideal ({'met' if vs_ideal <= TARGET_IDEAL else 'NOT met'})"
        )
    print(
        "(the speed-up cannot exceed pages / (1 + ceil((pages-1)/c)) = "
        + ", ".join(
            f"{pages / (1 + math.ceil((pages - 1) / c)):.1f}× at c={c}" for c, _, _ in results
        )
        + ")"
    )


if __name__ == "__main__":
    main()
