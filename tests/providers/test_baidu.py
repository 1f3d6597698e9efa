"""Baidu client against the sandbox: every report, paging, auth, faults, bad input."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import appstats as aps
from tests.helpers import fixture_text

S, E = "2024-03-01", "2024-03-31"


def test_user_trend_grans(sb: aps.Sandbox) -> None:
    bd = sb.baidu()
    day = bd.user_trend(S, E, gran="day", progress=False)
    assert day.height == 31
    assert day.schema["date"] == pl.Date
    assert day.schema["new_user_count"] == pl.Int64
    assert day.schema["new_user_ratio"] == pl.Float64
    assert day["date"].min() == dt.date(2024, 3, 1)
    week = bd.user_trend(S, E, gran="week", progress=False)
    assert week.columns[:2] == ["period_start", "period_end"]
    assert week.height == 5
    assert week["period_end"].max() == dt.date(2024, 3, 31)
    month = bd.user_trend("2024-01-15", E, gran="month", progress=False)
    # Baidu lists periods newest first; frames are oldest first
    assert month["period_start"].to_list() == [
        dt.date(2024, 1, 1),
        dt.date(2024, 2, 1),
        dt.date(2024, 3, 1),
    ]
    assert day["date"].is_sorted()
    hour = bd.user_trend("2024-03-01", "2024-03-03", gran="hour", progress=False)
    assert hour.height == 72
    assert hour.schema["datetime"] == pl.Datetime("us")
    assert hour["datetime"].n_unique() == 72


def test_every_report_has_rows_and_fixed_schema(sb: aps.Sandbox) -> None:
    bd = sb.baidu(page_size=7)
    frames = {
        "activity_user": bd.activity_user(S, E, progress=False),
        "visit_attribute": bd.visit_attribute(S, E, progress=False),
        "region": bd.region(S, E, progress=False),
        "visit_page": bd.visit_page(S, E, progress=False),
        "source": bd.source(S, E, progress=False),
    }
    for t in ["brand", "device", "os", "screen", "network"]:
        frames[f"terminal_{t}"] = bd.terminal(S, E, t, progress=False)
    for c in ["depth", "time", "interval", "frequency"]:
        frames[f"character_{c}"] = bd.visit_character(S, E, c, progress=False)
    for name, df in frames.items():
        assert df.height > 0, name
    assert frames["region"].height == 34
    assert frames["visit_page"].height == 30
    net = frames["terminal_network"]
    assert net["accumulative_new_user_count_ratio"].null_count() == net.height
    assert net.schema == frames["terminal_os"].schema
    assert set(frames["terminal_brand"]["terminal_type"]) == {"terminal_brand"}
    assert frames["character_frequency"]["user_count"].null_count() == 0
    assert frames["character_depth"]["session_count"].null_count() == 0


def test_paging_concurrent_and_total_checked() -> None:
    # the analysis endpoints take no page size: the service pages at 20 rows
    with aps.Sandbox(pages=200) as sb:
        bd = sb.baidu(page_size=3)  # only for the TP totals: not sent here
        before = sb.request_count("baidu")
        r = bd.report("visit_page", S, E, progress=False)
        assert r.total == 200 and r.data.height == 200
        # 10 pages (the token request is not counted)
        assert sb.request_count("baidu") - before == 10
        assert r.data["page_id"].n_unique() == 200


def test_retention_long_and_wide() -> None:
    with aps.Sandbox(today="2024-04-01") as sb:
        _retention_long_and_wide(sb.baidu())


def _retention_long_and_wide(bd: aps.BaiduSmartApp) -> None:
    long = bd.retention(S, E, gran="day", progress=False)
    assert long.columns == ["cohort_date", "cohort_end", "cohort_size", "period", "users"]
    assert long.schema["users"] == pl.Int64
    assert long["period"].min() == 2
    # periods that end today or later are "--" → null, never 0
    last = long.filter(pl.col("cohort_date") == dt.date(2024, 3, 31))
    assert last["users"].null_count() == last.height
    wide = bd.retention(S, E, gran="day", shape="wide", progress=False)
    assert wide.height == 31
    assert wide.columns[:4] == ["cohort_date", "cohort_end", "cohort_size", "d2"]
    # long and wide agree
    piv = long.pivot(on="period", index="cohort_date", values="users")
    assert piv["2"].to_list() == wide["d2"].to_list()
    ratio = bd.retention(S, E, gran="week", report_type="ratio", progress=False)
    assert ratio.schema["ratio"] == pl.Float64
    assert "users" not in ratio.columns
    month = bd.retention("2024-01-01", E, gran="month", shape="wide", progress=False)
    assert month.columns[3] == "m2"


def test_source_scene_and_group_levels() -> None:
    with aps.Sandbox(sources=11, scenes_per_source=3) as sb:
        bd = sb.baidu(page_size=4)
        r = bd.report("source", S, E, progress=False)
        scenes, groups = r.data, r.groups
        assert groups is not None and groups.height == 11
        assert scenes["group_rank"].n_unique() == 11
        # groups without scenes keep one row with null scene columns
        empty = groups.filter(pl.col("scene_count") == 0)
        assert empty.height >= 1
        for rank in empty["group_rank"]:
            rows = scenes.filter(pl.col("group_rank") == rank)
            assert rows.height == 1 and rows["scene_id"][0] is None
        assert scenes.height == groups["scene_count"].clip(lower_bound=1).sum()
        # the group's totals sit beside each of its scenes
        joined = scenes.join(groups, on="group_rank")
        assert (joined["group_user_count"] == joined["user_count_right"]).all()
        assert bd.source(S, E, level="group", progress=False).equals(groups)


def test_tp_data_strings_and_markers(sb: aps.Sandbox) -> None:
    tp = sb.baidu_tp()
    df = tp.tp_data(
        S, E, scene=1, metrics=["tp_day_user_count", "tp_activity_degree"], progress=False
    )
    assert df.columns == ["date", "tp_day_user_count", "tp_activity_degree"]
    assert df.schema["tp_day_user_count"] == pl.Int64
    assert df.schema["tp_activity_degree"] == pl.Float64
    assert df.height == 31
    assert df["tp_day_user_count"].null_count() > 0  # "--" days


@pytest.mark.slow
def test_authorizer_refresh_token_flow() -> None:
    with aps.Sandbox(token_ttl=2) as sb:
        bd = sb.baidu_tp(auth_code="sandbox-code-1")
        first = bd.region(S, E, progress=False)
        rt1 = bd.refresh_token()
        assert rt1
        import time

        time.sleep(2.1)  # token expires; renewed with the single-use refresh token
        again = bd.region(S, E, progress=False)
        assert again.equals(first)
        rt2 = bd.refresh_token()
        assert rt2 and rt2 != rt1


def test_token_expiring_mid_run_is_renewed(sb: aps.Sandbox) -> None:
    bd = sb.baidu(page_size=5)
    clean = bd.visit_page(S, E, progress=False)
    sb.inject("expire_token", endpoint="getanalysisvisitpage", skip=2)
    assert bd.visit_page(S, E, progress=False).equals(clean)


def test_static_token_expired_is_auth_error(sb: aps.Sandbox) -> None:
    bd = aps.BaiduSmartApp(access_token="24.not-issued", base_url=sb.url, backoff=0.01)
    with pytest.raises(aps.AuthError) as ei:
        bd.region(S, E, progress=False)
    assert "24.not-issued" not in str(ei.value)
    assert "24.not-issued" not in repr(ei.value)


def test_wrong_secret(sb: aps.Sandbox) -> None:
    bd = aps.BaiduSmartApp(
        client_id="sandbox-client-id", client_secret="wrong-secret-123", base_url=sb.url
    )
    with pytest.raises(aps.AuthError) as ei:
        bd.region(S, E, progress=False)
    assert "wrong-secret-123" not in str(ei.value)
    assert "wrong-secret-123" not in repr(bd)


@pytest.mark.parametrize(
    "kind,value",
    [
        ("http_status", 500),
        ("http_status", 502),
        ("code", 1000),
        ("code", 18),
        ("code", 4),
        ("code", 2),
        ("truncate", None),
        ("reset", None),
        ("duplicate_page", None),
        ("drop_rows", 2),
        ("expire_token", None),
    ],
)
def test_faults_recovered(sb: aps.Sandbox, kind: str, value: float | None) -> None:
    bd = sb.baidu(page_size=4)
    clean = bd.source(S, E, progress=False)
    sb.inject(kind, value, endpoint="getanalysissource", skip=1, times=1)
    again = bd.source(S, E, progress=False)
    assert again.equals(clean)
    assert again.schema == clean.schema


def test_slow_reply_times_out_then_recovers(sb: aps.Sandbox) -> None:
    bd = sb.baidu(timeout=0.3)
    clean = bd.region(S, E, progress=False)
    sb.inject("delay", 1.0, endpoint="getanalysisregion", times=1)
    assert bd.region(S, E, progress=False).equals(clean)
    assert bd.stats()["retries"] >= 1


@pytest.mark.parametrize(
    "kind,value,exc",
    [
        ("code", 17, aps.QuotaExceeded),
        ("code", 6, aps.AuthError),
        ("code", 40001, aps.ApiError),
        ("code", 1000, aps.ServerError),
        ("http_status", 503, aps.ServerError),
        ("code", 18, aps.RateLimited),
        ("wrong_total", 5, aps.IncompleteData),
        ("drop_rows", 1, aps.IncompleteData),
        ("truncate", None, aps.MalformedResponse),
    ],
)
def test_faults_raised(sb: aps.Sandbox, kind: str, value: float | None, exc: type) -> None:
    bd = sb.baidu(page_size=4, max_attempts=3)
    sb.inject(kind, value, endpoint="getanalysissource", times=None)
    with pytest.raises(exc) as ei:
        bd.source(S, E, progress=False)
    assert isinstance(ei.value, aps.AppStatsError)
    assert ei.value.provider == "baidu"


def test_missing_page_names_offset() -> None:
    with aps.Sandbox(pages=100) as sb:
        bd = sb.baidu(max_attempts=2)
        sb.inject("drop_rows", 5, endpoint="getanalysisvisitpage", offset=40, times=None)
        with pytest.raises(aps.IncompleteData, match="offset 40"):
            bd.visit_page(S, E, progress=False)


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda b: b.user_trend("2024-03-31", "2024-03-01"), "before start"),
        (lambda b: b.user_trend("2024-02-30", "2024-03-01"), "not a valid date"),
        (lambda b: b.user_trend("yesterday", "2024-03-01"), "not a valid date"),
        (lambda b: b.user_trend(S, E, gran="minute"), "hour, day, week, month"),
        (lambda b: b.retention(S, E, gran="hour"), "day, week, month"),
        (lambda b: b.retention(S, E, report_type="percent"), "count, ratio"),
        (lambda b: b.retention(S, E, shape="tall"), "long, wide"),
        (lambda b: b.terminal(S, E, "cpu"), "terminal_network"),
        (lambda b: b.visit_character(S, E, "mood"), "frequency"),
        (lambda b: b.source(S, E, level="leaf"), "scene, group"),
        (lambda b: b.tp_data(S, E, scene=1, metrics=["dau"]), "tp_day_app_count"),
        (lambda b: b.user_trend("2022-01-01", "2024-03-01"), "at most 366 days"),
        (lambda b: b.user_trend(S, "2024-04-15", gran="hour"), "at most 31 days"),
        (lambda b: b.report("nonsense", S, E), "user_trend"),
        (lambda b: b.user_trend(S, E, output="excel"), "polars, pandas, arrow"),
    ],
)
def test_bad_input_rejected_before_any_request(sb: aps.Sandbox, call, match: str) -> None:
    bd = sb.baidu()
    before = sb.request_count()
    with pytest.raises(aps.InvalidArgument, match=match):
        call(bd)
    assert sb.request_count() == before


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for v in [
        "BAIDU_ACCESS_TOKEN",
        "BAIDU_CLIENT_ID",
        "BAIDU_CLIENT_SECRET",
        "BAIDU_TP_CLIENT_ID",
        "BAIDU_TP_TICKET",
    ]:
        monkeypatch.delenv(v, raising=False)
    with pytest.raises(aps.InvalidArgument, match="BAIDU_CLIENT_ID"):
        aps.BaiduSmartApp()
    with pytest.raises(aps.InvalidArgument, match="client_secret"):
        aps.BaiduSmartApp(client_id="x")
    with pytest.raises(aps.InvalidArgument, match="base_url"):
        aps.BaiduSmartApp(access_token="x", base_url="ftp://x")


def test_credentials_from_environment(sb: aps.Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAIDU_CLIENT_ID", sb.credentials["baidu_client_id"])
    monkeypatch.setenv("BAIDU_CLIENT_SECRET", sb.credentials["baidu_client_secret"])
    monkeypatch.setenv("APPSTATS_BAIDU_BASE_URL", sb.url)
    bd = aps.BaiduSmartApp()
    assert "client_credentials" in repr(bd)
    assert bd.region(S, E, progress=False).height == 34


def test_summary_block_is_kept(sb: aps.Sandbox) -> None:
    r = sb.baidu().report("user_trend", S, E, gran="day", progress=False)
    assert r.summary.height == 1
    assert r.summary["start_date"][0] == dt.date(2024, 3, 1)
    assert r.summary["user_count"][0] > 0
    assert r.time_span == "2024/03/01 - 2024/03/31"


def test_offline_parse_of_document_samples() -> None:
    df = aps.baidu.parse("getanalysissource", fixture_text("baidu", "getanalysissource.json"))
    assert df.height == 18
    assert df["scene_id"].null_count() == 1
    g = aps.baidu.parse("source", fixture_text("baidu", "getanalysissource.json"), level="group")
    assert g.height == 11
    act = aps.baidu.parse(
        "getanalysisactivityuser", fixture_text("baidu", "getanalysisactivityuser.json")
    )
    # oldest first; the sample's odd key " " leaves 2019/04/15 without weekly_user_count
    assert act["weekly_user_count"].to_list() == [7967, None]
    wk = aps.baidu.parse(
        "getanalysisretaineduser",
        fixture_text("baidu", "getanalysisretaineduser.week.json"),
        gran="week",
        shape="wide",
    )
    assert wk.columns[3:5] == ["w2", "w3"]
    raw = fixture_text("baidu", "getanalysissource.json").encode()
    assert aps.baidu.parse("getanalysissource", raw).equals(df)  # bytes: no copy
    with pytest.raises(aps.InvalidArgument, match="UTF-8"):
        aps.baidu.parse("getanalysissource", b"\xff\xfe")
    with pytest.raises(aps.MalformedResponse):
        aps.baidu.parse("getanalysisregion", '{"errno":0,"data":{"data_list":[{"name"')
    with pytest.raises(aps.ApiError):
        aps.baidu.parse("getanalysisregion", '{"errno":40001,"msg":"bad"}')
    with pytest.raises(aps.InvalidArgument, match="getanalysissource"):
        aps.baidu.parse("getnothing", "{}")


def test_empty_reply_keeps_schema() -> None:
    df = aps.baidu.parse(
        "getanalysisregion", '{"errno":0,"data":{"offset":0,"total":0,"data_list":[]}}'
    )
    assert df.height == 0
    assert df.schema["session_count_district"] == pl.Int64
    assert df.columns[0] == "region"


def test_pandas_and_arrow_output(sb: aps.Sandbox) -> None:
    bd = sb.baidu()
    pdf = bd.user_trend(S, E, output="pandas", progress=False)
    assert str(pdf["new_user_count"].dtype) == "Int64"
    assert str(pdf["date"].dtype).startswith("datetime64")
    tbl = bd.user_trend(S, E, output="arrow", progress=False)
    assert tbl.num_rows == 31


def test_progress_callback() -> None:
    seen: list[tuple[int, int]] = []
    with aps.Sandbox(pages=200) as sb:
        sb.baidu().visit_page(S, E, progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] == 10  # 10 pages of 20 rows


def test_panic_becomes_exception() -> None:
    from appstats import _native

    with pytest.raises(aps.InternalError, match="panicked"):
        _native._raise_panic()


def test_sandbox_rejects_bad_tokens_and_parameters_like_the_service(sb: aps.Sandbox) -> None:
    import json
    import urllib.parse
    import urllib.request

    def call(path: str, query: dict[str, str], body: dict[str, str] | None = None) -> dict:
        url = f"{sb.url}{path}?{urllib.parse.urlencode(query)}"
        data = None if body is None else urllib.parse.urlencode(body).encode()
        with urllib.request.urlopen(url, data=data) as r:  # loopback only
            return json.loads(r.read())

    tok = call(
        "/oauth/2.0/token",
        {
            "grant_type": "client_credentials",
            "client_id": sb.credentials["baidu_client_id"],
            "client_secret": sb.credentials["baidu_client_secret"],
            "scope": "smartapp_snsapi_base",
        },
    )
    token = tok["access_token"]
    assert tok["expires_in"] > 0
    ep = "/rest/2.0/smartapp/data/getanalysisusertrend"
    ok = {"start_date": "20240301", "end_date": "20240307", "start_index": "0", "gran": "day"}
    assert call(ep, {"access_token": token}, ok)["errno"] == 0
    assert call(ep, {"access_token": "nope"}, ok)["error_code"] == 110
    assert call(ep, {"access_token": token}, {**ok, "gran": "minute"})["errno"] == 40001
    assert call(ep, {"access_token": token}, {**ok, "end_date": "20240230"})["errno"] == 40001
    bad = call(
        "/oauth/2.0/token",
        {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
    )
    assert bad["error"] == "invalid_client"
