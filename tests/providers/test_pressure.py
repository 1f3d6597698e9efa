"""The fetch engine under pressure, against the sandbox over real HTTP.

A client faster than the provider slows down and completes; a page that
fails for good stops the fetch at once with the class of its cause; HTTP
4xx replies are classified by status; an hourly day's two pages go out
together; days MTA omits are kept; rate limits are per Tencent IM app.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest

import appstats as aps

S, E = "2024-03-01", "2024-03-31"


def baidu(sb: aps.Sandbox, **kw: object) -> aps.BaiduSmartApp:
    return aps.BaiduSmartApp(
        client_id=sb.credentials["baidu_client_id"],
        client_secret=sb.credentials["baidu_client_secret"],
        base_url=sb.url,
        **kw,
    )  # type: ignore[arg-type]


# ---------------------------------------------------------------- adaptive rate


@pytest.mark.slow
def test_client_twice_over_the_provider_limit_completes() -> None:
    # provider: 20 requests/s (rejected requests count too); client: 40/s.
    # 40 pages: the service pages the analysis endpoints at 20 rows.
    pages = 40
    with aps.Sandbox(rate_limit=20, pages=pages * 20) as sb:
        bd = baidu(sb, rate_limit=40, concurrency=4)
        started = time.monotonic()
        df = bd.visit_page(S, E, progress=False)
        took = time.monotonic() - started
        assert df.height == pages * 20
        sent = sb.request_count("baidu")
        stats = bd.stats()
    bound = (pages - 1) / 20  # the provider's own pace (token request aside)
    assert stats["slowdowns"] >= 1
    assert sent <= 1.3 * pages, sent
    assert took <= 1.6 * bound + 0.3, (took, bound)


def test_client_within_the_limit_never_slows_down() -> None:
    with aps.Sandbox(rate_limit=50, pages=30 * 20) as sb:
        bd = baidu(sb, rate_limit=40, concurrency=4)
        assert bd.visit_page(S, E, progress=False).height == 30 * 20
        assert bd.stats()["slowdowns"] == 0
        assert bd.stats()["retries"] == 0


# ---------------------------------------------------------------- fail fast


def test_a_dead_page_fails_the_fetch_at_once() -> None:
    # 100 pages of 20 rows (the service's page for the analysis endpoints)
    with aps.Sandbox(pages=2000) as sb:
        bd = baidu(sb, rate_limit=50, concurrency=4, max_attempts=3, backoff=0.05)
        sb.inject("http_status", 502, endpoint="getanalysisvisitpage", offset=200, times=None)
        started = time.monotonic()
        with pytest.raises(aps.ServerError) as ei:
            bd.visit_page(S, E, progress=False)
        took = time.monotonic() - started
        sent = sb.request_count("baidu")
    assert took < 1.5, took  # 100 pages at 50/s would take 2 s
    assert sent < 40, sent
    msg = str(ei.value)
    assert "offset 200" in msg and "HTTP 502" in msg and "of 2000" in msg, msg


def test_a_dead_mta_window_fails_the_fetch_at_once(sb: aps.Sandbox) -> None:
    m = sb.mta(concurrency=1, max_attempts=2, backoff=0.02)
    # 2020-01-01 … 2024-12-31: 21 windows; the second one keeps failing
    sb.inject("http_status", 500, provider="mta", endpoint="crash", skip=1, times=None)
    with pytest.raises(aps.ServerError) as ei:
        m.crash("2020-01-01", "2024-12-31", progress=False)
    assert sb.request_count("mta") == 1 + 2  # the first window, the second twice; no more
    assert "20 of 21 windows" in str(ei.value)


# ---------------------------------------------------------------- the cause's class


@pytest.mark.slow
def test_persistent_rate_limit_on_a_later_page_is_rate_limited() -> None:
    with aps.Sandbox(pages=100) as sb:  # 5 pages of 20 rows
        bd = sb.baidu(max_attempts=2, backoff=0.02)
        sb.inject("code", 18, endpoint="getanalysisvisitpage", offset=40, times=None)
        with pytest.raises(aps.RateLimited) as ei:
            bd.visit_page(S, E, progress=False)
    e = ei.value
    assert e.retryable and e.code == 18
    assert "offset 40" in str(e) and "not fetched" in str(e)


@pytest.mark.slow
def test_persistent_rate_limit_on_a_later_mta_window_is_rate_limited(sb: aps.Sandbox) -> None:
    m = sb.mta(concurrency=1, max_attempts=2, backoff=0.02)
    sb.inject("code", 60005, provider="mta", endpoint="user_basic", skip=1, times=None)
    with pytest.raises(aps.RateLimited) as ei:
        m.user_basic("2024-01-01", "2024-06-30", progress=False)
    e = ei.value
    assert e.retryable and e.code == 60005
    msg = str(e)
    assert "2 of 3 windows" in msg and "2024-03-31" in msg and "2024-06-30" in msg


# ---------------------------------------------------------------- HTTP status first


class _Foreign(BaseHTTPRequestHandler):
    status = 403
    body = (
        b"<html><head><title>403 Forbidden</title></head><body><h1>Access denied</h1></body></html>"
    )
    hits = 0

    def _answer(self) -> None:
        type(self).hits += 1
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def foreign() -> Iterator[tuple[str, type[_Foreign]]]:
    handler = type("Handler", (_Foreign,), {"hits": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("provider", ["baidu", "mta", "tim"])
def test_http_403_html_is_an_api_error_at_once(
    foreign: tuple[str, type[_Foreign]], provider: str
) -> None:
    url, handler = foreign
    if provider == "baidu":
        call = lambda: aps.BaiduSmartApp(access_token="t", base_url=url).region(S, E)  # noqa: E731
    elif provider == "mta":
        call = lambda: aps.Mta(app_id="1", secret_key="k", base_url=url).crash(S, E)  # noqa: E731
    else:
        call = lambda: aps.TencentIm(1400000001, "k", region=url).app_info()  # noqa: E731
    with pytest.raises(aps.ApiError) as ei:
        call()
    e = ei.value
    assert handler.hits == 1  # not retried
    assert e.code == 403 and not e.retryable and e.provider == provider
    msg = str(e)
    assert "HTTP 403 Forbidden" in msg and "Access denied" in msg and "<" not in msg, msg


def test_http_401_is_an_auth_error(foreign: tuple[str, type[_Foreign]]) -> None:
    url, handler = foreign
    handler.status, handler.body = 401, b"unauthorized"
    with pytest.raises(aps.AuthError, match="HTTP 401"):
        aps.Mta(app_id="1", secret_key="k", base_url=url).crash(S, E)
    assert handler.hits == 1


def test_injected_404_is_not_retried(sb: aps.Sandbox) -> None:
    bd = sb.baidu()
    sb.inject("http_status", 404, endpoint="getanalysisregion", times=None)
    with pytest.raises(aps.ApiError, match="HTTP 404"):
        bd.region(S, E, progress=False)
    assert sb.request_count("baidu") == 1  # one data request (tokens are not counted)


class _FixedPages(BaseHTTPRequestHandler):
    """A Baidu data API that pages by 20 rows whatever page size is asked."""

    total = 45
    hits: list[int] = []

    def do_POST(self) -> None:  # noqa: N802
        n = int(self.headers.get("Content-Length", 0))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        start = int(form["start_index"][0])
        type(self).hits.append(start)
        rows = [
            {"pageId": f"p{i}", "pageName": f"page {i}", "pv_count": i}
            for i in range(start, min(start + 20, self.total))
        ]
        body = json.dumps(
            {
                "errno": 0,
                "msg": "ok",
                "data": {"offset": start, "total": self.total, "data_list": rows},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_pages_step_by_the_rows_the_service_returns() -> None:
    handler = type("Handler", (_FixedPages,), {"hits": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        bd = aps.BaiduSmartApp(
            access_token="t", page_size=4, base_url=f"http://127.0.0.1:{server.server_address[1]}"
        )
        df = bd.visit_page(S, E, progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert df["page_id"].to_list() == [f"p{i}" for i in range(45)]
    assert sorted(handler.hits) == [0, 20, 40]  # not 12 pages of 4


# ---------------------------------------------------------------- hourly pages


def test_an_hourly_day_requests_both_pages_at_once() -> None:
    with aps.Sandbox(latency=0.3) as sb:
        bd = sb.baidu()
        started = time.monotonic()
        df = bd.user_trend("2024-03-05", "2024-03-05", gran="hour", progress=False)
        took = time.monotonic() - started
        assert df.height == 24
        assert sb.request_count("baidu") == 2  # two pages (tokens are not counted)
    assert took < 0.55, took  # one round trip, not two


# ---------------------------------------------------------------- MTA days without activity


def test_days_without_activity_are_kept(sb: aps.Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    m = sb.mta()
    clean = m.user_basic(S, E, progress=False)
    sb.inject("drop_rows", 2, provider="mta", endpoint="user_basic", times=None)
    with caplog.at_level(logging.WARNING, logger="appstats"):
        df = m.user_basic(S, E, progress=False)
    assert df.schema == clean.schema and df.height == 31
    assert df.head(29).equals(clean.head(29))
    tail = df.tail(2)
    assert tail["date"].cast(pl.String).to_list() == ["2024-03-30", "2024-03-31"]
    assert all(tail[c].null_count() == 2 for c in df.columns[1:])
    assert "2024-03-30, 2024-03-31" in caplog.text
    assert sb.request_count("mta") == 1 + 2  # the clean fetch, then one refetch

    zero = m.user_basic(S, E, missing_days="zero", progress=False)
    assert zero.tail(2).drop("date").sum_horizontal().to_list() == [0, 0]
    with pytest.raises(aps.IncompleteData, match="2024-03-30, 2024-03-31"):
        m.user_basic(S, E, missing_days="raise", progress=False)


def test_missing_retention_days_keep_every_period(sb: aps.Sandbox) -> None:
    m = sb.mta()
    clean = m.retention(S, E, progress=False)
    sb.inject("drop_rows", 1, provider="mta", endpoint="retention", times=None)
    df = m.retention(S, E, missing_days="zero", progress=False)
    assert df.height == clean.height and df.schema == clean.schema
    last = df.filter(pl.col("cohort_date") == pl.date(2024, 3, 31))
    assert (
        last["period"].to_list()
        == clean.filter(pl.col("cohort_date") == pl.date(2024, 3, 31))["period"].to_list()
    )
    assert last["users"].to_list() == [0] * last.height


def test_a_transient_omission_never_reaches_the_user(sb: aps.Sandbox) -> None:
    m = sb.mta()
    clean = m.user_basic(S, E, progress=False)
    sb.inject("drop_rows", 1, provider="mta", endpoint="user_basic", times=1)
    assert m.user_basic(S, E, progress=False).equals(clean)


def test_missing_days_is_validated(sb: aps.Sandbox) -> None:
    m = sb.mta()
    with pytest.raises(aps.InvalidArgument, match="null, zero, raise"):
        m.user_basic(S, E, missing_days="drop", progress=False)
    with pytest.raises(aps.InvalidArgument, match="one row per day"):
        m.fetch("terminal", S, E, missing_days="zero", progress=False)
    assert sb.request_count("mta") == 0


# ---------------------------------------------------------------- Tencent IM: per app


def test_tim_rate_limit_is_per_app() -> None:
    # Tencent limits each SDKAppID: two apps at 1 request/s each go out
    # together, and the sandbox (limited per app too) accepts both.
    with aps.Sandbox(rate_limit=1) as sb:
        apps = [(a, k) for a, k, r in sb.tim_apps() if r == "cn"]
        started = time.monotonic()
        df = aps.TencentIm.app_info_many(
            apps, resolve_to=sb._native.addr, rate_limit=1, progress=False
        )
        took = time.monotonic() - started
        assert df["sdkappid"].n_unique() == 2
        assert sb.request_count("tim") == 2  # no rate-limit answer, no retry
        assert sb.max_per_second("tim") == 2
    assert took < 0.5, took


def test_app_info_many_keeps_going_and_names_every_failed_app() -> None:
    with aps.Sandbox() as sb:
        apps = [(a, k) for a, k, r in sb.tim_apps() if r == "cn"]
        bad = [(apps[0][0], "wrong-key-1"), (apps[1][0], "wrong-key-2")]
        with pytest.raises(aps.AuthError) as ei:
            aps.TencentIm.app_info_many(
                bad, resolve_to=sb._native.addr, concurrency=1, progress=False
            )
        msg = str(ei.value)
        assert "2 of 2 apps failed" in msg
        assert str(apps[0][0]) in msg and str(apps[1][0]) in msg
        assert "wrong-key" not in msg
