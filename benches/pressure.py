"""The fetch engine under pressure: each behaviour against its bound.

Runs against the embedded sandbox over real HTTP (one run per cell; the
sandbox counts rejected requests against its limit, like a sliding-log
limiter). Every section prints a ratio to its bound and whether the target
is met:

* ``rate``: a client 1.2–10× over the provider's limit (sandbox
  ``rate_limit=5``, client ``rate_limit`` 6/10/50, 40 pages at 50 ms).
  Bound: the provider's own pace, ``(pages − 1) / limit + latency``;
  targets: time ≤ 1.3× the bound, requests ≤ 1.3× the pages.
* ``fail-fast``: a 100-page report at 10 requests/s with one page answering
  502 on every attempt. Bound: when the failure was certain — the dead
  page's first request (its position ÷ rate) plus its retry waits
  (``stats()["backoff_ms"]``) and one latency per attempt; target ≤ 1.3×.
* ``hourly``: hourly ``user_trend`` (24 rows a day, pages of 20) over 1, 2,
  7 and 31 days at concurrency 1, 2, 4, 50 ms per reply. Bound:
  ``ceil(2 × days / concurrency)`` round trips (+ the token request);
  target ≤ 1.3×.
* ``status``: an HTTP 403 with an HTML body from a foreign server: requests
  sent (bound 1) and time to the error.
* ``per-app``: ``TencentIm.app_info_many`` of 2 apps with ``rate_limit=1``
  against a sandbox limiting each app to 1 request/s: both go out at once
  (bound: one latency), no request rejected.
* ``missing-days``: an MTA window whose reply always omits a day: kept as a
  null row after one refetch (bound: 2 requests).

Run: ``python benches/pressure.py`` (~1 min) or ``--quick`` (~15 s), or
``--only rate`` (see ``--help``).
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import appstats as aps

TARGET = 1.3
S, E = "2024-03-01", "2024-03-31"
SECTIONS = ("rate", "fail-fast", "hourly", "status", "per-app", "missing-days")
RESULTS: list[tuple[str, float, float]] = []


def verdict(name: str, ratio: float, target: float = TARGET) -> str:
    RESULTS.append((name, ratio, target))
    return f"{ratio:5.2f}× ({'met' if ratio <= target else 'NOT met'})"


def baidu(sb: aps.Sandbox, **kw: Any) -> aps.BaiduSmartApp:
    return aps.BaiduSmartApp(
        client_id=sb.credentials["baidu_client_id"],
        client_secret=sb.credentials["baidu_client_secret"],
        base_url=sb.url,
        **kw,
    )


def rate(quick: bool) -> None:
    limit, pages, lat = 5, 20 if quick else 40, 0.05
    bound = (pages - 1) / limit + lat
    print(
        f"\n[rate] sandbox rate_limit={limit}/s, {pages} pages, {lat * 1000:g} ms latency; "
        f"bound {bound:.2f} s"
    )
    print(
        f"{'client rate':>11} {'time (s)':>9} {'÷ bound':>16} {'requests':>9} "
        f"{'÷ pages':>16} {'slowdowns':>9}"
    )
    for client in (6, 10) if quick else (6, 10, 50):
        with aps.Sandbox(rate_limit=limit, latency=lat, pages=pages) as sb:
            bd = baidu(sb, rate_limit=client, concurrency=4, page_size=1)
            bd.region(S, S, progress=False)  # token first: not part of the fetch
            before = sb.request_count("baidu")
            time.sleep(1.0)  # let the sandbox's one-second window empty
            t0 = time.perf_counter()
            df = bd.visit_page(S, E, progress=False)
            took = time.perf_counter() - t0
            assert df.height == pages
            n = sb.request_count("baidu") - before
            print(
                f"{client:>11} {took:>9.2f} {verdict(f'rate {client}/s time', took / bound):>16} "
                f"{n:>9} {verdict(f'rate {client}/s requests', n / pages):>16} "
                f"{bd.stats()['slowdowns']:>9}",
                flush=True,
            )


def fail_fast(quick: bool) -> None:
    pages, rate_, lat, dead = 100, 10, 0.05, 20
    print(
        f"\n[fail-fast] {pages} pages at {rate_}/s, {lat * 1000:g} ms latency, "
        f"the page at offset {dead} answers 502 on every attempt (5 attempts)"
    )
    with aps.Sandbox(latency=lat, pages=pages) as sb:
        bd = baidu(sb, rate_limit=rate_, concurrency=4, page_size=1)
        sb.inject("http_status", 502, endpoint="getanalysisvisitpage", offset=dead, times=None)
        t0 = time.perf_counter()
        try:
            bd.visit_page(S, E, progress=False)
            raise AssertionError("expected an error")
        except aps.ServerError as e:
            took = time.perf_counter() - t0
            kind = type(e).__name__
        waited = bd.stats()["backoff_ms"] / 1000
        # token + first page, then the dead page's turn at the pacer
        certain = (2 + dead) / rate_ + waited + 5 * lat
        n = sb.request_count("baidu")
        ratio = verdict("fail-fast time", took / certain)
        print(
            f"  {kind} after {took:.2f} s, {n} requests (of {pages + 5} for the whole report); "
            f"failure certain after ≈{certain:.2f} s: {ratio}"
        )


def hourly(quick: bool) -> None:
    lat = 0.05
    print(
        f"\n[hourly] user_trend gran=hour, {lat * 1000:g} ms latency; "
        "bound ceil(2 × days / concurrency) round trips + the token request"
    )
    print(
        f"{'days':>5} {'concurrency':>11} {'requests':>9} {'time (s)':>9} {'bound (s)':>9} "
        f"{'÷ bound':>16}"
    )
    days_list = (1, 7) if quick else (1, 2, 7, 31)
    with aps.Sandbox(latency=lat) as sb:
        for days in days_list:
            end = f"2024-03-{days:02d}"
            for c in (1, 2, 4):
                bd = sb.baidu(concurrency=c)
                bd.region(S, S, progress=False)  # the token, outside the timing
                before = sb.request_count("baidu")
                t0 = time.perf_counter()
                df = bd.user_trend(S, end, gran="hour", progress=False)
                took = time.perf_counter() - t0
                assert df.height == 24 * days
                n = sb.request_count("baidu") - before
                bound = math.ceil(2 * days / c) * lat
                print(
                    f"{days:>5} {c:>11} {n:>9} {took:>9.3f} {bound:>9.3f} "
                    f"{verdict(f'hourly {days}d c={c}', took / bound):>16}",
                    flush=True,
                )


class _Forbidden(BaseHTTPRequestHandler):
    hits = 0
    body = b"<html><head><title>403 Forbidden</title></head><body>Access denied</body></html>"

    def _answer(self) -> None:
        type(self).hits += 1
        self.send_response(403)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def status(quick: bool) -> None:
    print("\n[status] HTTP 403 with an HTML body from a foreign server (default retry settings)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Forbidden)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    q = {"progress": False}
    calls = {
        "baidu": lambda: aps.BaiduSmartApp(access_token="t", base_url=url).region(S, E, **q),
        "mta": lambda: aps.Mta(app_id="1", secret_key="k", base_url=url).crash(S, E, **q),
        "tim": lambda: aps.TencentIm(1400000001, "k", region=url).app_info(**q),
    }
    try:
        for name, call in calls.items():
            _Forbidden.hits = 0
            t0 = time.perf_counter()
            try:
                call()
                raise AssertionError("expected an error")
            except aps.AppStatsError as e:
                took = time.perf_counter() - t0
                print(
                    f"  {name:<6} {type(e).__name__} after {took * 1000:.0f} ms, "
                    f"{_Forbidden.hits} request(s): {verdict(f'status {name}', _Forbidden.hits)}"
                    f"  — {str(e)[:90]}…"
                )
    finally:
        server.shutdown()
        server.server_close()


def per_app(quick: bool) -> None:
    lat = 0.05
    print(
        f"\n[per-app] app_info_many of 2 apps, rate_limit=1 each; sandbox limits each app "
        f"to 1/s; {lat * 1000:g} ms latency"
    )
    with aps.Sandbox(rate_limit=1, latency=lat) as sb:
        apps = [(a, k) for a, k, r in sb.tim_apps() if r == "cn"]
        t0 = time.perf_counter()
        df = aps.TencentIm.app_info_many(apps, resolve_to=sb.addr, rate_limit=1, progress=False)
        took = time.perf_counter() - t0
        n = sb.request_count("tim")
        assert df["sdkappid"].n_unique() == len(apps)
        print(
            f"  {len(apps)} apps in {took:.3f} s ({verdict('per-app time', took / lat)} one "
            f"latency), {n} requests ({verdict('per-app requests', n / len(apps))})"
        )


def missing_days(quick: bool) -> None:
    print("\n[missing-days] MTA user_basic, one window whose reply always omits its last day")
    with aps.Sandbox() as sb:
        m = sb.mta()
        sb.inject("drop_rows", 1, provider="mta", endpoint="user_basic", times=None)
        t0 = time.perf_counter()
        df = m.user_basic(S, E, progress=False)
        took = time.perf_counter() - t0
        n = sb.request_count("mta")
        nulls = df.filter(df["new_users"].is_null()).height
        print(
            f"  {df.height} rows ({nulls} kept as null) in {took * 1000:.0f} ms, {n} requests: "
            f"{verdict('missing-days requests', n / 2)} the bound of 2"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer cells (smoke test)")
    ap.add_argument("--only", choices=SECTIONS, action="append")
    args = ap.parse_args()
    print(f"appstats {aps.__version__}, Python {sys.version.split()[0]}")
    fns = {
        "rate": rate,
        "fail-fast": fail_fast,
        "hourly": hourly,
        "status": status,
        "per-app": per_app,
        "missing-days": missing_days,
    }
    for name in args.only or SECTIONS:
        fns[name](args.quick)
    bad = [(n, r, t) for n, r, t in RESULTS if r > t]
    print(
        f"\n{len(RESULTS) - len(bad)} of {len(RESULTS)} targets met"
        + ("" if not bad else ": NOT met: " + ", ".join(f"{n} {r:.2f}×" for n, r, _ in bad))
    )


if __name__ == "__main__":
    main()
