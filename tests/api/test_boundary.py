"""The Python boundary: every argument checked into a typed error before any
request, URLs shown without userinfo, one name per job, quiet by default."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

import appstats as aps

S, E = "2024-03-01", "2024-03-31"
CHINA = dt.timezone(dt.timedelta(hours=8))

#: One constructor per client; none makes a request.
CLIENTS: dict[str, Callable[..., object]] = {
    "baidu": lambda **kw: aps.BaiduSmartApp(access_token="t", **kw),
    "mta": lambda **kw: aps.Mta("500000001", "key", **kw),
    "tim": lambda **kw: aps.TencentIm(1400000000, "key", **kw),
}

FLOAT_SETTINGS = ["timeout", "backoff", "max_backoff", "max_retry_wait"]
INT_SETTINGS = ["max_attempts", "rate_limit", "concurrency"]
#: Values no float setting accepts: non-finite, negative, huge finite (these
#: used to panic in the Duration conversion), and wrong types.
ODD_FLOATS: list[Any] = [
    math.nan,
    math.inf,
    -math.inf,
    -1,
    -1e-9,
    1e20,
    1.7e308,
    10**400,
    "1",
    True,
    [1],
]
#: Values no integer setting accepts (out of range or not an integer).
ODD_INTS: list[Any] = [-1, 0, 10**12, 10**40, -(10**40), 2.0, 2.5, math.nan, True, "4", [4]]


def _invalid(call: Callable[[], object], *words: str) -> aps.InvalidArgument:
    with pytest.raises(aps.InvalidArgument) as ei:
        call()
    for w in words:
        assert w in str(ei.value), (w, str(ei.value))
    assert "\n" not in str(ei.value)
    return ei.value


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("setting", FLOAT_SETTINGS)
@pytest.mark.parametrize("value", ODD_FLOATS, ids=repr)
def test_every_float_setting_is_checked(client: str, setting: str, value: Any) -> None:
    e = _invalid(lambda: CLIENTS[client](**{setting: value}), setting, "number of seconds from")
    assert e.provider is None and not e.retryable


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("setting", INT_SETTINGS)
@pytest.mark.parametrize("value", ODD_INTS, ids=repr)
def test_every_int_setting_is_checked(client: str, setting: str, value: Any) -> None:
    _invalid(lambda: CLIENTS[client](**{setting: value}), setting, "must be an integer from")


def test_ranges_are_named_and_good_values_pass() -> None:
    _invalid(lambda: aps.Mta("1", "k", concurrency=10**12), "from 1 to 1024", "1000000000000")
    # 1e-12 s is not "negative": the message gives the real lower bound
    _invalid(lambda: aps.Mta("1", "k", timeout=1e-12), "timeout", "from 0.001 to 86400")
    # the edges themselves are valid, ints as floats for seconds too
    aps.Mta(
        "1",
        "k",
        timeout=0.001,
        backoff=0,
        max_backoff=3600,
        max_retry_wait=86_400,
        max_attempts=100,
        rate_limit=100_000,
        concurrency=1,
    )
    aps.TencentIm(1400000000, "k", timeout=86_400, usersig_expire=60)


@pytest.mark.parametrize(
    "call,words",
    [
        (lambda: aps.BaiduSmartApp(access_token="t", page_size=0), ["page_size", "1 to 1000"]),
        (lambda: aps.BaiduSmartApp(access_token="t", page_size=-1), ["page_size"]),
        (lambda: aps.BaiduSmartApp(access_token="t", page_size=10**12), ["page_size"]),
        (lambda: aps.TencentIm(-5, "k"), ["sdkappid", "from 1 to"]),
        (lambda: aps.TencentIm(10**20, "k"), ["sdkappid"]),
        (lambda: aps.TencentIm(1.5, "k"), ["sdkappid"]),  # type: ignore[arg-type]
        (lambda: aps.TencentIm(1400000000, "k", usersig_expire=59), ["usersig_expire", "60"]),
        (lambda: aps.TencentIm(1400000000, "k", usersig_expire=-1), ["usersig_expire"]),
        (lambda: aps.tim.gen_usersig(-1, "k", "admin"), ["sdkappid"]),
        (lambda: aps.tim.gen_usersig(1400000000, "k", "admin", expire=-1), ["expire"]),
        (lambda: aps.tim.gen_usersig(1400000000, "k", "admin", now=-1), ["now"]),
        (lambda: aps.tim.verify_usersig("x", 10**30, "k"), ["sdkappid"]),
        (lambda: aps.Sandbox(seed=-1), ["seed", "from 0 to"]),
        (lambda: aps.Sandbox(seed=2**64), ["seed"]),
        (lambda: aps.Sandbox(latency=1e20), ["latency", "seconds"]),
        (lambda: aps.Sandbox(latency=math.nan), ["latency"]),
        (lambda: aps.Sandbox(latency=-1), ["latency"]),
        (lambda: aps.Sandbox(rate_limit=0), ["rate_limit"]),
        (lambda: aps.Sandbox(pages=-1), ["pages"]),
        (lambda: aps.Sandbox(sources=10**12), ["sources"]),
        (lambda: aps.Sandbox(token_ttl=0), ["token_ttl"]),
    ],
    ids=lambda x: "" if callable(x) else str(x[0]),
)
def test_other_numbers_are_checked(call: Callable[[], object], words: list[str]) -> None:
    _invalid(call, *words)


@pytest.mark.parametrize(
    "args,kwargs,words",
    [
        (("delay", 1e20), {}, ["delay", "from 0 to 3600"]),
        (("delay", math.inf), {}, ["delay"]),
        (("delay", -1), {}, ["delay"]),
        (("http_status", 99), {}, ["http_status", "from 100 to 599"]),
        (("http_status", 1000), {}, ["http_status"]),
        (("http_status", math.nan), {}, ["http_status"]),
        (("http_status", 502.5), {}, ["http_status"]),
        (("http_status",), {}, ["needs value"]),
        (("code", 2**40), {}, ["code"]),
        (("drop_rows", -1), {}, ["drop_rows"]),
        (("drop_rows", 0), {}, ["drop_rows"]),
        (("wrong_total", 10**9), {}, ["wrong_total"]),
        (("truncate", 3), {}, ["takes no value"]),
        (("code", 18), {"provider": "nope"}, ["provider", "baidu, mta, tim"]),
        (("code", 18), {"endpoint": ""}, ["endpoint"]),
        (("code", 18), {"times": -1}, ["times", "from 1 to"]),
        (("code", 18), {"times": 0}, ["times"]),
        (("code", 18), {"times": 10**12}, ["times"]),
        (("code", 18), {"skip": -1}, ["skip"]),
        (("code", 18), {"offset": -5}, ["offset"]),
        (("gremlins",), {}, ["fault kind"]),
    ],
    ids=repr,
)
def test_inject_checks_every_argument(
    sb: aps.Sandbox, args: tuple[Any, ...], kwargs: dict[str, Any], words: list[str]
) -> None:
    _invalid(lambda: sb.inject(*args, **kwargs), *words)
    # nothing was added: a clean fetch still works at once
    assert sb.baidu().region(S, "2024-03-02", progress=False).height == 34


def test_parse_takes_text_only() -> None:
    _invalid(lambda: aps.tim.parse(123), "str or bytes", "int")  # type: ignore[arg-type]
    _invalid(lambda: aps.baidu.parse("getanalysisregion", None), "str or bytes")  # type: ignore[arg-type]
    _invalid(lambda: aps.mta.parse("crash", 1.5), "str or bytes")  # type: ignore[arg-type]


def test_string_arguments_are_typed() -> None:
    # the value of a wrong-typed secret is never shown, only its type
    e = _invalid(lambda: aps.Mta("1", 123456789), "secret_key must be a string", "int")  # type: ignore[arg-type]
    assert "123456789" not in str(e)
    _invalid(lambda: aps.BaiduSmartApp(client_id="a", client_secret=2), "client_secret")  # type: ignore[arg-type]
    _invalid(lambda: aps.TencentIm(1400000000, "k", region=5), "region")  # type: ignore[arg-type]
    _invalid(lambda: aps.Mta(["1"], "k"), "app_id")  # type: ignore[arg-type]


def test_messages_say_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    _invalid(lambda: aps.Mta(app_id="abc\x00", secret_key="k"), "control characters")
    for v in [
        "BAIDU_ACCESS_TOKEN",
        "BAIDU_CLIENT_ID",
        "BAIDU_CLIENT_SECRET",
        "BAIDU_TP_CLIENT_ID",
        "BAIDU_TP_TICKET",
        "MTA_APP_ID",
        "MTA_SECRET_KEY",
        "TIM_SDKAPPID",
        "TIM_SECRET_KEY",
    ]:
        monkeypatch.delenv(v, raising=False)
    for make in (aps.BaiduSmartApp, aps.Mta, aps.TencentIm):
        e = _invalid(make, "missing")
        # the help text names arguments; it is not mistaken for a secret value
        assert "***" not in str(e), str(e)


def test_progress_is_validated_before_any_request(sb: aps.Sandbox) -> None:
    bd = sb.baidu()
    for bad in (0, 1, "yes", 2.0):
        _invalid(lambda b=bad: bd.region(S, E, progress=b), "progress must be")
        _invalid(lambda b=bad: sb.tim().app_info(progress=b), "progress")
    assert sb.request_count() == 0


def test_no_bar_for_invalid_or_quick_calls(
    sb: aps.Sandbox, capfd: pytest.CaptureFixture[str]
) -> None:
    bd = sb.baidu()
    with pytest.raises(aps.InvalidArgument):
        bd.region("2024-03-09", S, progress=True)  # end before start
    assert bd.region(S, E, progress=True).height == 34  # well under half a second
    assert capfd.readouterr().err == ""


def test_bar_appears_for_slow_calls(capfd: pytest.CaptureFixture[str]) -> None:
    # The counterpart of the test above (needs ~0.6 s: the bar's delay is
    # 0.5 s): a slow call does draw the bar.
    with aps.Sandbox(latency=0.6) as sb:
        sb.mta().crash(S, E, progress=True)
    err = capfd.readouterr().err
    assert "mta crash" in err


def test_empty_selection_is_one_rule(sb: aps.Sandbox) -> None:
    m, im, tp = sb.mta(), sb.tim(), sb.baidu_tp()
    for call in (
        lambda: m.user_basic(S, E, metrics=[]),
        lambda: m.user_basic(S, E, metrics=""),
        lambda: m.retention(S, E, metrics=[" "]),
        lambda: im.app_info(fields=[]),
        lambda: im.app_info(fields=""),
        lambda: tp.tp_data(S, E, scene=1, metrics=[]),
        lambda: aps.TencentIm.app_info_many([(1, "k")], fields=[]),
    ):
        _invalid(call, "is empty; pass None")
    assert sb.request_count() == 0
    # None selects all; a comma-separated string is a list
    assert m.user_basic(S, E, metrics="new_users, sessions", progress=False).columns == [
        "date",
        "new_users",
        "sessions",
    ]
    assert im.app_info(fields="ActiveUserNum,UpMsgNum", progress=False).width == 3


def test_many_apps_settings_and_apps_are_checked() -> None:
    _invalid(
        lambda: aps.TencentIm.app_info_many([(1400000000, "k")], timout=3),  # type: ignore[call-arg]
        "unknown HTTP setting 'timout'",
        "timeout",
    )
    _invalid(
        lambda: aps.TencentIm.app_info_many([(1400000000, "k")], concurrency=-1), "concurrency"
    )
    _invalid(lambda: aps.TencentIm.app_info_many([(-1, "k")]), "sdkappid")
    _invalid(lambda: aps.TencentIm.app_info_many([1400000000]), "(sdkappid, secret_key) pairs")  # type: ignore[list-item]


def test_many_apps_async_twin(sb: aps.Sandbox) -> None:
    apps = [(a, k) for a, k, r in sb.tim_apps() if r == "cn"]
    df = asyncio.run(
        aps.TencentIm.app_info_many_async(
            apps, resolve_to=sb.addr, fields=["ActiveUserNum"], progress=False, backoff=0.01
        )
    )
    assert df.columns == ["sdkappid", "date", "active_user_num"] and df.height == 60


def test_http_defaults_live_in_rust() -> None:
    keys = [
        "timeout",
        "max_attempts",
        "backoff",
        "max_backoff",
        "max_retry_wait",
        "rate_limit",
        "concurrency",
    ]
    for mod in (aps.baidu, aps.mta, aps.tim):
        assert sorted(mod.HTTP_DEFAULTS) == sorted(keys)
    assert aps.mta.HTTP_DEFAULTS == aps.baidu.HTTP_DEFAULTS
    assert (aps.tim.HTTP_DEFAULTS["rate_limit"], aps.tim.HTTP_DEFAULTS["concurrency"]) == (100, 8)
    # Python passes only what the caller set
    assert aps.HttpOptions.__total__ is False
    from appstats._common import http_options

    assert http_options(timeout=3) == {"timeout": 3}
    assert http_options() == {}


def test_userinfo_never_shown() -> None:
    url = "http://user:PASSW0RD@127.0.0.1:9"
    for c in (
        aps.BaiduSmartApp(access_token="t", base_url=url, max_attempts=1),
        aps.Mta("1", "k", base_url=url, max_attempts=1),
        aps.TencentIm(1400000000, "k", region=url, max_attempts=1),
    ):
        assert "PASSW0RD" not in repr(c) and "***@127.0.0.1:9" in repr(c), repr(c)
    bd = aps.BaiduSmartApp(access_token="t", base_url=url, max_attempts=1)
    with pytest.raises(aps.TransportError) as ei:  # nothing listens on port 9
        bd.region(S, E, progress=False)
    assert "PASSW0RD" not in str(ei.value) and "PASSW0RD" not in repr(ei.value)


@pytest.mark.parametrize(
    "url,words",
    [
        ("http://127.0.0.1:9/?token=X", ["query string", "http://127.0.0.1:9/"]),
        ("http://127.0.0.1:9/api#x", ["fragment"]),
        ("http://u:SECRETPW@h/?a=1", ["query string", "http://***@h/"]),
        ("http://", ["not a valid URL"]),
    ],
)
def test_base_url_with_query_or_fragment_is_rejected(url: str, words: list[str]) -> None:
    for make in (
        lambda: aps.BaiduSmartApp(access_token="t", base_url=url),
        lambda: aps.Mta("1", "k", base_url=url),
        lambda: aps.TencentIm(1400000000, "k", region=url),
    ):
        # the query may hold a secret: it is not repeated either
        e = _invalid(make, *words)
        assert "SECRETPW" not in str(e) and "token=X" not in str(e)
    _invalid(lambda: aps.Mta("1", "k", base_url="ftp://h"), "http:// or https://")


def test_base_url_path_prefix_is_kept(sb: aps.Sandbox) -> None:
    bd = aps.BaiduSmartApp(access_token="t", base_url=sb.url + "/prefix/")
    assert repr(bd).endswith("/prefix')")


def test_library_logs_are_silent_by_default() -> None:
    # A caught exception prints nothing: the `appstats` logger has a
    # NullHandler, so Python's last-resort handler stays out of it.
    code = textwrap.dedent("""
        import appstats as aps
        with aps.Sandbox() as sb:
            sb.inject("http_status", 500, times=None)
            try:
                sb.mta(max_attempts=2, backoff=0.01).crash("2024-03-01", "2024-03-02",
                                                           progress=False)
            except aps.ServerError:
                print("caught")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "caught"
    assert r.stderr == ""


def test_report_is_the_one_name(sb: aps.Sandbox) -> None:
    m = sb.mta()
    r = m.report("crash", "2024-01-01", "2024-06-30", progress=False)
    assert isinstance(r, aps.Report)
    assert r.summary.schema == pl.Schema({"start_date": pl.Date(), "end_date": pl.Date()})
    assert r.summary.height == 3  # 90-day windows
    assert r.summary["end_date"][-1] == dt.date(2024, 6, 30)
    # the alias returns the rows, through the same code
    assert m.fetch("crash", "2024-01-01", "2024-06-30", progress=False).equals(r.data)
    # retention through report() is the same frame as retention()
    ret = m.report("retention", S, E, progress=False).data
    assert ret.equals(m.retention(S, E, progress=False))
    assert ret["cohort_size"].null_count() == 0
    # report() converts every frame
    rp = m.report("crash", S, E, output="pandas", progress=False)
    assert type(rp.data).__name__ == "DataFrame" and not isinstance(rp.data, pl.DataFrame)
    assert not isinstance(rp.summary, pl.DataFrame)
    _invalid(lambda: m.report("crash", S, E, cohort_size=False), "cohort_size")
    _invalid(lambda: m.retention(S, E, cohort_size="no"), "cohort_size")  # type: ignore[arg-type]


def test_hourly_time_span_covers_every_day(sb: aps.Sandbox) -> None:
    r = sb.baidu().report("user_trend", S, "2024-03-03", gran="hour", progress=False)
    assert r.data.height == 72
    assert r.time_span == "2024/03/01 - 2024/03/03"


def test_end_today_warns_partial_data(sb: aps.Sandbox) -> None:
    today = dt.datetime.now(CHINA).date()
    bd, m = sb.baidu(), sb.mta()
    # The warning comes before the fetch: it also explains an IncompleteData
    # when the service has no rows for those days.
    with (
        pytest.warns(aps.PartialDataWarning, match="today or later") as rec,
        contextlib.suppress(aps.IncompleteData),
    ):
        bd.region(today - dt.timedelta(days=3), today, progress=False)
    # the warning points at the caller's line, not into appstats
    assert rec[0].filename == __file__
    with pytest.warns(aps.PartialDataWarning), contextlib.suppress(aps.IncompleteData):
        asyncio.run(
            m.crash_async(
                str(today - dt.timedelta(days=2)), str(today + dt.timedelta(days=1)), progress=False
            )
        )
    # an invalid call raises without the warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(aps.InvalidArgument):
            bd.region(today + dt.timedelta(days=3), today, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yesterday = today - dt.timedelta(days=1)
        bd.region(yesterday - dt.timedelta(days=3), yesterday, progress=False)
        m.realtime(progress=False)  # today by design: no warning
        sb.tim().app_info(progress=False)
