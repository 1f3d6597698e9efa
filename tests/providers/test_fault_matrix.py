"""One matrix: providers (baidu, mta, tim) × faults.

Every cell either returns the fault-free frame exactly (same rows, same
dtypes) or raises the right typed exception whose message names what is
missing. Outcomes are collected in ``tests.helpers.FAULT_MATRIX`` and printed as
a table at the end of the session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pytest

import appstats as aps
from tests.helpers import FAULT_MATRIX, FAULT_MATRIX_FAULTS

S, E = "2024-03-01", "2024-03-31"
# MTA: 182 days = three request windows, fetched one at a time so that
# `skip` picks a window deterministically.
MTA_S, MTA_E = "2024-01-01", "2024-06-30"
TIMEOUT = 0.4

SAME = "same"


@dataclass
class Cell:
    kind: str
    value: float | None = None
    inject: dict[str, Any] = field(default_factory=dict)
    client: dict[str, Any] = field(default_factory=dict)
    #: SAME, or (exception class, substrings the message must contain)
    expect: Any = SAME
    #: fetch another way (e.g. many TIM apps)
    fetch: Callable[[aps.Sandbox, dict[str, Any]], pl.DataFrame] | None = None
    xfail: str | None = None


@pytest.fixture
def sb() -> Iterator[aps.Sandbox]:
    # 50 source groups: three pages of Baidu's fixed 20 rows (offsets 0, 20, 40)
    with aps.Sandbox(seed=7, sources=50) as s:
        yield s


def fetch_baidu(sb: aps.Sandbox, kw: dict[str, Any]) -> pl.DataFrame:
    return sb.baidu(max_attempts=3, **kw).source(S, E, progress=False)


def fetch_mta(sb: aps.Sandbox, kw: dict[str, Any]) -> pl.DataFrame:
    kw = {"concurrency": 1, "max_attempts": 3, **kw}
    missing_days = kw.pop("missing_days", None)
    return sb.mta(**kw).user_basic(MTA_S, MTA_E, missing_days=missing_days, progress=False)


def fetch_tim(sb: aps.Sandbox, kw: dict[str, Any]) -> pl.DataFrame:
    return sb.tim(max_attempts=3, **kw).app_info(progress=False)


def fetch_tim_many(sb: aps.Sandbox, kw: dict[str, Any]) -> pl.DataFrame:
    apps = [(a, k) for a, k, r in sb.tim_apps() if r == "cn"]
    kw = {"concurrency": 1, "max_attempts": 3, "backoff": 0.02, **kw}
    return aps.TencentIm.app_info_many(apps, resolve_to=sb._native.addr, progress=False, **kw)


FETCH = {"baidu": fetch_baidu, "mta": fetch_mta, "tim": fetch_tim}
ENDPOINT = {"baidu": "getanalysissource", "mta": "user_basic", "tim": "getappinfo"}


def tim_dropped_days(clean: pl.DataFrame) -> list[str]:
    # the sandbox drops 3 days from the middle: the 16th–18th newest
    d = clean["date"].to_list()
    return [x.isoformat() for x in (d[-16], d[-17], d[-18])]


MATRIX: dict[str, dict[str, Cell]] = {
    "http_500": {p: Cell("http_status", 500) for p in FETCH},
    "http_502_twice": {p: Cell("http_status", 502, {"times": 2}) for p in FETCH},
    "connection_reset": {p: Cell("reset") for p in FETCH},
    "slower_than_timeout": {p: Cell("delay", 1.0, client={"timeout": TIMEOUT}) for p in FETCH},
    "rate_limit_code": {
        "baidu": Cell("code", 18, {"times": 2}),
        "mta": Cell("code", 60005, {"times": 2}),
        "tim": Cell("code", 60018, {"times": 2}),
    },
    "rate_limit_persistent": {
        "baidu": Cell("code", 18, {"times": None}, expect=(aps.RateLimited, ["18"])),
        "mta": Cell("code", 60005, {"times": None}, expect=(aps.RateLimited, ["60005"])),
        # 70050 asks for 60 s: with a shorter max_retry_wait it is not waited out
        "tim": Cell(
            "code",
            70050,
            {"times": None},
            client={"max_retry_wait": 0.5},
            expect=(aps.RateLimited, ["70050", "60 s"]),
        ),
    },
    "token_expires_mid_run": {
        "baidu": Cell("expire_token", inject={"skip": 1}),
        # MTA signs every request with the key: no token to expire
        "tim": Cell("expire_token"),
    },
    "truncated_json": {p: Cell("truncate") for p in FETCH},
    "wrong_total": {"baidu": Cell("wrong_total", 5, {"skip": 1})},
    "duplicated_page": {
        "baidu": Cell("duplicate_page", inject={"skip": 1}),
        "tim": Cell("duplicate_page"),
    },
    "rows_missing_once": {
        "baidu": Cell("drop_rows", 2, {"skip": 1}),
        # a window that skips dates is fetched again
        "mta": Cell("drop_rows", 2),
        "tim": Cell("drop_rows", 2),
    },
    "rows_missing_always": {
        "baidu": Cell(
            "drop_rows",
            2,
            {"times": None, "offset": 20},
            expect=(aps.IncompleteData, ["offset 20"]),
        ),
        # strict: a day left out of every reply raises (by default MTA's
        # omitted days are kept as null rows: tests/providers/test_pressure.py)
        "mta": Cell(
            "drop_rows",
            1,
            {"times": None, "skip": 1},
            client={"missing_days": "raise"},
            expect=(aps.IncompleteData, ["2 of 3 windows", "2024-06-28", "2024-06-30"]),
        ),
        "tim": Cell(
            "drop_rows",
            3,
            {"times": None},
            expect=(aps.IncompleteData, ["3 day(s)", tim_dropped_days]),
        ),
    },
    # the error keeps the cause's class and names what is missing
    "window_fails_permanently": {
        "baidu": Cell(
            "http_status",
            500,
            {"times": None, "offset": 20},
            expect=(aps.ServerError, ["offset 20", "HTTP 500", "not fetched"]),
        ),
        "mta": Cell(
            "http_status",
            500,
            {"times": None, "skip": 1},
            expect=(aps.ServerError, ["2 of 3 windows", "2024-03-31", "2024-06-28", "2024-06-30"]),
        ),
        # one app of two keeps failing: the error names the app, no partial frame
        "tim": Cell(
            "http_status",
            500,
            {"times": None, "skip": 1},
            fetch=fetch_tim_many,
            expect=(aps.ServerError, ["sdkappid 1400000002"]),
        ),
    },
}

FAULT_MATRIX_FAULTS[:] = list(MATRIX)


def _params() -> list[Any]:
    out = []
    for fault, row in MATRIX.items():
        for prov in FETCH:
            if prov not in row:
                continue
            cell = row[prov]
            marks = [pytest.mark.xfail(strict=True, reason=cell.xfail)] if cell.xfail else []
            out.append(pytest.param(prov, fault, id=f"{prov}-{fault}", marks=marks))
    return out


@pytest.mark.parametrize("provider,fault", _params())
def test_fault_cell(sb: aps.Sandbox, provider: str, fault: str) -> None:
    cell = MATRIX[fault][provider]
    fetch = cell.fetch or FETCH[provider]
    clean = fetch(sb, dict(cell.client))
    assert clean.height > 0
    inject = {"provider": provider, "endpoint": ENDPOINT[provider], "times": 1, **cell.inject}
    sb.inject(cell.kind, cell.value, **inject)
    key = (fault, provider)
    started = time.monotonic()
    try:
        got = fetch(sb, dict(cell.client))
    except aps.AppStatsError as e:
        took = time.monotonic() - started
        FAULT_MATRIX[key] = f"{type(e).__name__} ({took:.1f}s)"
        if cell.expect == SAME:
            FAULT_MATRIX[key] += " UNEXPECTED"
            raise
        exc, needles = cell.expect
        if not isinstance(e, exc):
            FAULT_MATRIX[key] += " WRONG TYPE"
            raise
        assert e.provider == provider
        msg = str(e)
        for n in needles:
            n = n(clean) if callable(n) else [n]
            for s in n:
                if s not in msg:
                    FAULT_MATRIX[key] += " (unnamed)" if cell.xfail else " NOT NAMED"
                    pytest.fail(f"{s!r} not in {msg!r}")
        FAULT_MATRIX[key] += " ok"
        return
    took = time.monotonic() - started
    if cell.expect != SAME:
        FAULT_MATRIX[key] = f"returned a frame, expected {cell.expect[0]} FAIL"
        pytest.fail(f"expected {cell.expect[0]}, got a frame of {got.height} rows")
    equal = got.equals(clean) and got.schema == clean.schema
    FAULT_MATRIX[key] = f"same frame ({took:.1f}s)" if equal else "DIFFERENT FRAME"
    assert got.schema == clean.schema
    assert got.equals(clean)


def test_matrix_covers_every_provider() -> None:
    for p in FETCH:
        assert sum(p in row for row in MATRIX.values()) >= 9, p


@pytest.mark.slow
def test_rate_limit_holds_under_concurrency() -> None:
    with aps.Sandbox(pages=1200) as sb:  # 60 pages of Baidu's fixed 20 rows
        bd = aps.BaiduSmartApp(
            client_id=sb.credentials["baidu_client_id"],
            client_secret=sb.credentials["baidu_client_secret"],
            base_url=sb.url,
            rate_limit=20,
            concurrency=8,
            backoff=0.02,
        )
        before = sb.request_count("baidu")
        df = bd.visit_page(S, E, progress=False)
        assert df.height == 1200
        assert sb.request_count("baidu") - before >= 60
        assert sb.max_per_second("baidu") <= 21


@pytest.mark.slow
def test_mta_rate_limit_holds_under_concurrency() -> None:
    with aps.Sandbox() as sb:
        m = aps.Mta(
            app_id=sb.credentials["mta_app_id"],
            secret_key=sb.credentials["mta_secret_key"],
            base_url=sb.url,
            rate_limit=20,
            concurrency=8,
            backoff=0.02,
        )
        df = m.crash("2020-01-01", "2024-12-31", progress=False)  # 21 windows
        assert df.height == 1827 and df["date"].n_unique() == 1827
        assert sb.request_count("mta") == 21
        assert sb.max_per_second("mta") <= 21


@pytest.mark.slow
def test_sandbox_rate_limit_is_respected_by_default_clients() -> None:
    # the sandbox answers the rate-limit code above 20/s; the client's own
    # limiter (20/s) keeps every request under it: no retries needed
    with aps.Sandbox(rate_limit=20, pages=900) as sb:  # 45 pages of 20 rows
        bd = aps.BaiduSmartApp(
            client_id=sb.credentials["baidu_client_id"],
            client_secret=sb.credentials["baidu_client_secret"],
            base_url=sb.url,
            rate_limit=20,
            concurrency=8,
            backoff=0.05,
        )
        assert bd.visit_page(S, E, progress=False).height == 900
        assert sb.max_per_second("baidu") <= 21
