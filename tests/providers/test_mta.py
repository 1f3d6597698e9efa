"""MTA client against the sandbox: every report, metrics, windows, auth, faults, bad input."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

import appstats as aps
from tests.helpers import fixture_text

S, E = "2024-03-01", "2024-03-31"
DAYS = 31


def _today_cn() -> dt.date:
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).date()


def _consecutive(dates: list[dt.date], start: dt.date, end: dt.date) -> bool:
    want = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return dates == want


def test_user_basic_schema_and_dates(sb: aps.Sandbox) -> None:
    df = sb.mta().user_basic(S, E, progress=False)
    assert df.columns == [
        "date",
        "new_users",
        "active_users",
        "sessions",
        "total_users",
        "active_accounts",
        "unique_users",
    ]
    assert df.schema["date"] == pl.Date
    for c in df.columns[1:]:
        assert df.schema[c] == pl.Int64, c
    assert _consecutive(df["date"].to_list(), dt.date(2024, 3, 1), dt.date(2024, 3, 31))
    # "1,234" style counts were parsed, never left null
    assert df["new_users"].null_count() == 0
    assert (df["active_users"] > df["new_users"]).all()


def test_realtime(sb: aps.Sandbox) -> None:
    df = sb.mta().realtime(progress=False)
    assert df.height == 1
    assert df.columns == [
        "date",
        "new_users",
        "active_users",
        "sessions",
        "total_users",
        "active_accounts",
    ]
    assert df.schema["date"] == pl.Date and df.schema["sessions"] == pl.Int64
    assert df["date"][0] in {_today_cn(), _today_cn() - dt.timedelta(days=1)}
    one = sb.mta().realtime(metrics="active_users", progress=False)
    assert one.columns == ["date", "active_users"]


def test_active_users_usage_crash(sb: aps.Sandbox) -> None:
    m = sb.mta()
    act = m.active_users(S, E, progress=False)
    assert act.columns == [
        "date",
        "daily_active_users",
        "weekly_active_users",
        "monthly_active_users",
    ]
    assert all(act.schema[c] == pl.Int64 for c in act.columns[1:])
    assert act.height == DAYS
    usage = m.usage(S, E, progress=False)
    assert usage.columns == [
        "date",
        "time_per_user",
        "time_per_session",
        "pages_per_user",
        "pages_per_session",
    ]
    assert usage.schema["date"] == pl.Date
    assert all(usage.schema[c] == pl.Float64 for c in usage.columns[1:])
    assert usage.height == DAYS and usage["time_per_user"].null_count() == 0
    crash = m.crash(S, E, progress=False)
    assert crash.columns == ["date", "error_count", "error_users"]
    assert crash.schema["error_count"] == pl.Int64 and crash.height == DAYS
    for df in (act, usage, crash):
        assert _consecutive(df["date"].to_list(), dt.date(2024, 3, 1), dt.date(2024, 3, 31))


@pytest.mark.parametrize(
    "n,name", list(enumerate(["os", "resolution", "network", "carrier", "device"], start=1))
)
def test_terminal_every_type(sb: aps.Sandbox, n: int, name: str) -> None:
    m = sb.mta()
    df = m.terminal(S, E, name, progress=False)
    assert df.columns == [
        "terminal_type",
        "rank",
        "terminal",
        "new_users",
        "active_users",
        "sessions",
    ]
    assert df.height > 0
    assert set(df["terminal_type"]) == {name}
    assert df["rank"].to_list() == list(range(1, df.height + 1))
    assert df.schema["rank"] == pl.Int64 and df.schema["sessions"] == pl.Int64
    assert df.schema["terminal"] == pl.String
    assert df["terminal"].n_unique() == df.height
    # by `ty` number too
    assert m.terminal(S, E, n, progress=False).equals(df)


def test_frequency(sb: aps.Sandbox) -> None:
    df = sb.mta().frequency(S, E, progress=False)
    assert df.columns == ["bucket", "section", "new_users", "active_users"]
    assert df["bucket"].to_list() == list(range(6))
    assert df["section"][0] == "1-2次"
    assert df.schema["new_users"] == pl.Int64 and df.schema["section"] == pl.String


@pytest.mark.parametrize("n,name", list(enumerate(["app_version", "os", "device"], start=1)))
def test_crash_env_every_dimension(sb: aps.Sandbox, n: int, name: str) -> None:
    m = sb.mta()
    df = m.crash_env(S, E, name, progress=False)
    assert df.columns == ["dimension", "value", "error_count", "error_users"]
    assert df.height > 0 and set(df["dimension"]) == {name}
    assert df.schema["error_count"] == pl.Int64 and df.schema["value"] == pl.String
    assert (df["error_count"] >= df["error_users"]).all()
    assert m.crash_env(S, E, n, progress=False).equals(df)


ERROR_LIST_SCHEMA = {
    "rank": pl.Int64,
    "key": pl.String,
    "error_count": pl.Int64,
    "error_users": pl.Int64,
    "crash_id": pl.String,
    "error_msg": pl.String,
    "app_version": pl.String,
    "first_time": pl.Datetime("us"),
}


def test_error_list_has_one_schema(sb: aps.Sandbox) -> None:
    df = sb.mta().error_list(S, E, progress=False)
    assert dict(df.schema) == ERROR_LIST_SCHEMA
    assert df["first_time"].null_count() == 0
    assert df["rank"].to_list() == list(range(1, df.height + 1))
    assert df.schema["error_count"] == pl.Int64
    assert df["error_msg"].null_count() == 0
    assert sb.mta().error_list(S, E, err_ty=1, progress=False).height == df.height


def test_retention_long_and_wide(sb: aps.Sandbox) -> None:
    m = sb.mta()
    long = m.retention(S, E, progress=False)
    assert long.columns == ["cohort_date", "cohort_end", "cohort_size", "period", "users"]
    assert dict(long.schema) == {
        "cohort_date": pl.Date,
        "cohort_end": pl.Date,
        "cohort_size": pl.Int64,
        "period": pl.Int64,
        "users": pl.Int64,
    }
    assert long.height == DAYS * 9
    assert sorted(set(long["period"])) == [1, 2, 3, 4, 5, 6, 7, 14, 30]
    wide = m.retention(S, E, shape="wide", progress=False)
    assert wide.columns == [
        "cohort_date",
        "cohort_end",
        "cohort_size",
        "d1",
        "d2",
        "d3",
        "d4",
        "d5",
        "d6",
        "d7",
        "d14",
        "d30",
    ]
    assert wide.height == DAYS
    assert all(wide.schema[c] == pl.Int64 for c in wide.columns[2:])
    piv = long.pivot(on="period", index="cohort_date", values="users").sort("cohort_date")
    for p in [1, 7, 30]:
        assert piv[str(p)].to_list() == wide[f"d{p}"].to_list()
    sel = m.retention(S, E, metrics=["d30", 11001], progress=False)
    assert sorted(set(sel["period"])) == [1, 30]


def test_metric_selection_by_name_mta_name_and_id(sb: aps.Sandbox) -> None:
    m = sb.mta()
    full = m.user_basic(S, E, progress=False)
    for sel in ["new_users", "NewUser", 10101, "10101", ["new_users"], ["NewUser", 10101]]:
        df = m.user_basic(S, E, metrics=sel, progress=False)
        assert df.columns == ["date", "new_users"], sel
        assert df["new_users"].to_list() == full["new_users"].to_list()
    mixed = m.user_basic(S, E, metrics=["sessions", 10101, "NoRepeatUser"], progress=False)
    assert mixed.columns == ["date", "new_users", "sessions", "unique_users"]  # table order
    assert mixed.drop("date").equals(full.select("new_users", "sessions", "unique_users"))
    dau = m.active_users(S, E, metrics=["DayUv"], progress=False)
    assert dau.columns == ["date", "daily_active_users"]
    u = m.usage(S, E, metrics=[10402], progress=False)
    assert u.columns == ["date", "time_per_session"] and u.schema["time_per_session"] == pl.Float64


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda m: m.user_basic(S, E, metrics=["dau"]), r"new_users \(10101\).*unique_users"),
        (lambda m: m.user_basic(S, E, metrics=[99999]), "unique_users"),
        (lambda m: m.realtime(metrics=[10106]), r"active_accounts \(10105\)"),
        (lambda m: m.active_users(S, E, metrics="NewUser"), "daily_active_users"),
        (lambda m: m.fetch("downloads", S, E), "user_basic, realtime, active_users"),
        (lambda m: m.crash_env(S, E, "cpu"), "app_version, os, device"),
        (lambda m: m.crash_env(S, E, 4), "app_version, os, device"),
        (lambda m: m.terminal(S, E, "cpu"), "os, resolution, network, carrier, device"),
        (lambda m: m.terminal(S, E, 6), "carrier"),
        (lambda m: m.retention(S, E, shape="tall"), "long, wide"),
        (lambda m: m.crash(S, "2024-02-30"), "not a valid date"),
        (lambda m: m.crash("yesterday", E), "not a valid date"),
        (lambda m: m.crash(E, S), "before start"),
        (lambda m: m.terminal("2024-01-01", "2024-06-30"), "at most 90 days"),
        (lambda m: m.fetch("crash", S, E, terminal_type="os"), "metrics, version, channel"),
        (lambda m: m.error_list(S, E, err_ty=-1), "err_ty"),
        (lambda m: m.user_basic(S, E, output="excel"), "polars, pandas, arrow"),
    ],
)
def test_bad_input_rejected_before_any_request(sb: aps.Sandbox, call, match: str) -> None:
    m = sb.mta()
    before = sb.request_count()
    with pytest.raises(aps.InvalidArgument, match=match):
        call(m)
    assert sb.request_count() == before


def test_long_range_split_and_stitched(sb: aps.Sandbox) -> None:
    m = sb.mta()
    start, end = dt.date(2023, 6, 1), dt.date(2023, 12, 17)  # 200 days: 90 + 90 + 20
    before = sb.request_count("mta")
    df = m.user_basic(start, end, progress=False)
    assert sb.request_count("mta") - before == 3
    assert df.height == 200
    assert df["date"].n_unique() == 200
    assert _consecutive(df["date"].to_list(), start, end)
    # each window's numbers are the ones a short request returns
    edge = m.user_basic("2023-08-29", "2023-08-31", progress=False)  # days 90..92
    assert df.filter(pl.col("date").is_between(dt.date(2023, 8, 29), dt.date(2023, 8, 31))).equals(
        edge
    )
    ret = m.retention(start, end, shape="wide", progress=False)
    assert ret.height == 200 and ret["cohort_date"].is_sorted()
    seen: list[tuple[int, int]] = []
    m.crash(start, end, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (3, 3)


def test_wrong_secret_is_auth_error_without_the_key(sb: aps.Sandbox) -> None:
    key = "wrong-mta-key-Q7x9Z"
    m = aps.Mta(app_id=sb.credentials["mta_app_id"], secret_key=key, base_url=sb.url, backoff=0.01)
    with pytest.raises(aps.AuthError) as ei:
        m.crash(S, E, progress=False)
    assert ei.value.provider == "mta" and ei.value.code == 60002
    assert "secret key" in str(ei.value)
    assert key not in str(ei.value) and key not in repr(ei.value)
    assert key not in repr(m)
    # not retried: a wrong key does not become right
    assert m.stats()["retries"] == 0


def test_wrong_app_id_is_auth_error(sb: aps.Sandbox) -> None:
    m = aps.Mta(app_id="123", secret_key=sb.credentials["mta_secret_key"], base_url=sb.url)
    with pytest.raises(aps.AuthError):
        m.crash(S, E, progress=False)


def test_https_runs_the_tls_stack(sb: aps.Sandbox) -> None:
    """An https URL goes through rustls (ring provider): the handshake with
    the sandbox's plain-HTTP port fails as a TransportError, not a panic."""
    url = sb.url.replace("http://", "https://")
    m = aps.Mta(
        app_id=sb.credentials["mta_app_id"],
        secret_key=sb.credentials["mta_secret_key"],
        base_url=url,
        max_attempts=1,
    )
    with pytest.raises(aps.TransportError):
        m.crash(S, E, progress=False)


@pytest.mark.parametrize(
    "kind,value",
    [
        ("http_status", 500),
        ("http_status", 502),
        ("reset", None),
        ("truncate", None),
        ("code", 60005),  # rate limited
        ("code", 60500),  # system busy
        ("delay", 1.0),  # beyond the client timeout
    ],
)
def test_faults_recovered(sb: aps.Sandbox, kind: str, value: float | None) -> None:
    m = sb.mta(timeout=0.4)
    clean = m.user_basic("2024-01-01", "2024-06-30", progress=False)
    assert clean.height == 182
    sb.inject(kind, value, provider="mta", endpoint="user_basic", times=1)
    again = m.user_basic("2024-01-01", "2024-06-30", progress=False)
    assert again.equals(clean)
    assert again.schema == clean.schema
    assert m.stats()["retries"] >= 1


@pytest.mark.parametrize(
    "report", ["terminal", "frequency", "crash_env", "error_list", "retention"]
)
def test_faults_recovered_other_reports(sb: aps.Sandbox, report: str) -> None:
    m = sb.mta()
    clean = m.fetch(report, S, E, progress=False)
    sb.inject("http_status", 502, provider="mta", endpoint=report, times=2)
    assert m.fetch(report, S, E, progress=False).equals(clean)


@pytest.mark.parametrize(
    "kind,value,exc",
    [
        ("code", 60006, aps.QuotaExceeded),
        ("code", 60005, aps.RateLimited),
        ("code", 60500, aps.ServerError),
        ("http_status", 503, aps.ServerError),
        ("code", 60001, aps.ApiError),
        ("truncate", None, aps.MalformedResponse),
        ("reset", None, aps.TransportError),
    ],
)
def test_faults_raised(sb: aps.Sandbox, kind: str, value: float | None, exc: type) -> None:
    m = sb.mta(max_attempts=3)
    sb.inject(kind, value, provider="mta", times=None)
    with pytest.raises(exc) as ei:
        m.crash(S, E, progress=False)
    assert ei.value.provider == "mta"


def test_dropped_dates_name_the_missing_dates(sb: aps.Sandbox) -> None:
    m = sb.mta(max_attempts=2)
    sb.inject("drop_rows", 2, provider="mta", endpoint="user_basic", times=None)
    with pytest.raises(aps.IncompleteData, match="2024-03-30, 2024-03-31"):
        m.user_basic(S, E, missing_days="raise", progress=False)


def test_permanently_failing_window_names_its_dates(sb: aps.Sandbox) -> None:
    # one window at a time: the first succeeds, the second keeps failing
    # (the third is never fetched); the error keeps the cause's class
    m = sb.mta(concurrency=1, max_attempts=2)
    sb.inject("http_status", 500, provider="mta", endpoint="user_basic", skip=1, times=None)
    with pytest.raises(aps.ServerError) as ei:
        m.user_basic("2024-01-01", "2024-06-30", progress=False)
    msg = str(ei.value)
    assert "2 of 3 windows" in msg
    for d in ["2024-03-31", "2024-06-28", "2024-06-29", "2024-06-30"]:
        assert d in msg
    assert "2024-01-01" not in msg


def test_every_window_failing_is_the_server_error(sb: aps.Sandbox) -> None:
    m = sb.mta(max_attempts=2)
    sb.inject("http_status", 500, provider="mta", times=None)
    with pytest.raises(aps.ServerError):
        m.user_basic("2024-01-01", "2024-06-30", progress=False)


def test_dropped_dates_in_one_window_of_several(sb: aps.Sandbox) -> None:
    m = sb.mta(concurrency=1)
    sb.inject("drop_rows", 1, provider="mta", endpoint="user_basic", skip=2, times=None)
    with pytest.raises(aps.IncompleteData, match="2024-06-30"):
        m.user_basic("2024-01-01", "2024-06-30", missing_days="raise", progress=False)


def test_offline_parse_fixtures() -> None:
    ub = aps.mta.parse("user_basic", fixture_text("mta", "user_basic.json"))
    assert ub["date"].to_list() == [dt.date(2024, 3, 1), dt.date(2024, 3, 2)]
    assert ub["new_users"].to_list() == [120, 1234]
    assert ub["total_users"].to_list() == [97531, 98765]
    assert ub["active_accounts"].to_list() == [33, None]  # "-" is null
    assert ub["unique_users"].to_list() == [350, None]  # "" is null
    assert "Extra" not in ub.columns and "extra" not in ub.columns
    # by API path too
    assert aps.mta.parse(
        "/ctr_user_basic/get_offline_data", fixture_text("mta", "user_basic.json")
    ).equals(ub)

    act = aps.mta.parse("active_users", fixture_text("mta", "active_users.json"))  # "data" key
    assert act.row(0)[1:] == (400, 2100, 8000)

    miss = aps.mta.parse("user_basic", fixture_text("mta", "all_missing.json"))
    assert miss.height == 1
    assert all(miss[c].null_count() == 1 for c in miss.columns[1:])

    with pytest.raises(aps.AuthError) as ei:
        aps.mta.parse("user_basic", fixture_text("mta", "bad_sign.json"))
    assert "91762a3e9dd47e9fbdd07b48abb4f76f" not in str(ei.value)

    crash = aps.mta.parse("crash", fixture_text("mta", "crash.json"))
    assert crash["error_count"].to_list() == [12, 0]

    env = aps.mta.parse("crash_env", fixture_text("mta", "crash_env.json"))
    assert dict(zip(env["value"], env["error_count"], strict=True)) == {"3.2.1": 80, "3.2.0": 1200}
    assert set(env["dimension"]) == {"app_version"}

    empty = aps.mta.parse("user_basic", fixture_text("mta", "empty.json"))
    assert empty.height == 0 and empty.schema["new_users"] == pl.Int64

    errs = aps.mta.parse("error_list", fixture_text("mta", "error_list.json"))
    assert errs.height == 2
    assert dict(errs.schema) == ERROR_LIST_SCHEMA  # the fixture's CrashId included
    assert errs["crash_id"].to_list() == ["12345", None]
    assert errs["first_time"][0] == dt.datetime(2024, 3, 1, 10, 0)
    assert errs["error_count"].to_list() == [50, 9]
    # the same columns whatever the reply: empty, without labels, with unknown fields
    for text in (
        '{"ret_code":60000,"ret_data":[]}',
        '{"ret_code":60000,"ret_data":[{"ErrorNum":"1","ErrorUser":"1"}]}',
        '{"ret_code":60000,"ret_data":[{"ErrorNum":"1","Stack":"x","Extra":[1]}]}',
    ):
        assert dict(aps.mta.parse("error_list", text).schema) == ERROR_LIST_SCHEMA, text

    freq = aps.mta.parse("frequency", fixture_text("mta", "frequency.json"))
    assert freq["section"].to_list() == ["1-2次", "3-5次", "50次以上"]
    assert freq["new_users"].to_list() == [100, 40, None]
    assert freq["active_users"].to_list() == [1000, 600, 90]

    rt = aps.mta.parse("realtime", fixture_text("mta", "realtime.json"))
    assert rt.row(0) == (dt.date(2024, 3, 5), 15, 120, 300, 10015, None)

    ret = aps.mta.parse("retention", fixture_text("mta", "retention.json"))
    assert ret.height == 18 and ret.schema["users"] == pl.Int64
    first = ret.filter(pl.col("cohort_date") == dt.date(2024, 3, 1)).sort("period")
    assert first["users"].to_list() == [60, 45, 40, 36, 33, 31, 30, 22, None]
    wide = aps.mta.parse("retention", fixture_text("mta", "retention.json"), shape="wide")
    assert wide["d2"].to_list() == [45, 44] and wide["d3"].to_list() == [40, None]

    term = aps.mta.parse("terminal", fixture_text("mta", "terminal.json"), terminal_type="os")
    assert term.height == 3
    assert term["active_users"].to_list() == [2000, 1500, None]  # numbers or strings

    usage = aps.mta.parse("usage", fixture_text("mta", "usage.json"))  # ret_code as a string
    assert usage.row(0) == (dt.date(2024, 3, 1), 125.5, 60.0, 4.2, None)
    assert usage.schema["time_per_session"] == pl.Float64

    with pytest.raises(aps.MalformedResponse):
        aps.mta.parse("user_basic", '{"ret_code":60000,"ret_data":{"2024-03-01":{"NewUser":"1')
    with pytest.raises(aps.InvalidArgument, match="user_basic"):
        aps.mta.parse("nothing", "{}")


def test_pandas_and_arrow_output(sb: aps.Sandbox) -> None:
    m = sb.mta()
    pdf = m.user_basic(S, E, output="pandas", progress=False)
    assert str(pdf["new_users"].dtype) == "Int64"
    assert str(pdf["active_accounts"].dtype) == "Int64"
    assert str(pdf["date"].dtype).startswith("datetime64")
    assert len(pdf) == DAYS
    u = m.usage(S, E, output="pandas", progress=False)
    assert str(u["time_per_user"].dtype) == "float64"
    t = m.terminal(S, E, output="pandas", progress=False)
    assert str(t["terminal"].dtype) == "string"
    assert m.crash(S, E, output="arrow", progress=False).num_rows == DAYS


def test_long_retention_concatenates_with_baidu(sb: aps.Sandbox) -> None:
    b = sb.baidu().retention(S, E, gran="day", progress=False)
    m = sb.mta().retention(S, E, progress=False)
    assert b.columns == m.columns
    assert b.schema == m.schema
    both = pl.concat(
        [b.with_columns(pl.lit("baidu").alias("src")), m.with_columns(pl.lit("mta").alias("src"))]
    )
    assert both.height == b.height + m.height
    assert both.schema["users"] == pl.Int64


def test_retention_percentages_are_ratios(sb: aps.Sandbox) -> None:
    # D{N}RepeatUser may be percentages ("35.2", "35.2%"): a Float64 ratio
    # column in the same layout, never an error for a recognisable number.
    days = {
        "2024-03-02": {"D1RepeatUser": "35.2%", "D7RepeatUser": "20", "D30RepeatUser": "-"},
        "2024-03-01": {"D1RepeatUser": "40.5", "D7RepeatUser": 12.25, "D30RepeatUser": "9%"},
    }
    text = json.dumps({"ret_code": 60000, "ret_msg": "ok", "ret_data": days})
    long = aps.mta.parse("retention", text, metrics="d1,d7,d30")
    assert long.columns == ["cohort_date", "cohort_end", "cohort_size", "period", "ratio"]
    assert long.schema["ratio"] == pl.Float64
    assert long["ratio"].to_list() == [40.5, 12.25, 9.0, 35.2, 20.0, None]
    wide = aps.mta.parse("retention", text, metrics="d1,d7,d30", shape="wide")
    assert wide.columns == ["cohort_date", "cohort_end", "cohort_size", "d1", "d7", "d30"]
    assert wide.schema["d7"] == pl.Float64 and wide["d1"].to_list() == [40.5, 35.2]
    # the same layout as Baidu's report_type="ratio": the frames concatenate
    b = sb.baidu().retention(S, E, gran="day", report_type="ratio", progress=False)
    assert pl.concat([b, long]).schema == b.schema
    # counts stay counts
    counts = json.dumps({"ret_code": 60000, "ret_data": {"2024-03-01": {"D1RepeatUser": "1,204"}}})
    assert aps.mta.parse("retention", counts, metrics="d1")["users"].to_list() == [1204]


def test_async_twin(sb: aps.Sandbox) -> None:
    import asyncio

    m = sb.mta()
    sync = m.crash(S, E, progress=False)
    assert asyncio.run(m.crash_async(S, E, progress=False)).equals(sync)


def test_credentials_from_environment(sb: aps.Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MTA_APP_ID", sb.credentials["mta_app_id"])
    monkeypatch.setenv("MTA_SECRET_KEY", sb.credentials["mta_secret_key"])
    monkeypatch.setenv("APPSTATS_MTA_BASE_URL", sb.url)
    m = aps.Mta()
    assert sb.credentials["mta_secret_key"] not in repr(m)
    assert m.crash(S, "2024-03-03", progress=False).height == 3
    monkeypatch.delenv("MTA_SECRET_KEY")
    with pytest.raises(aps.InvalidArgument, match="MTA_SECRET_KEY"):
        aps.Mta()
