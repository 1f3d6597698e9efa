"""Tencent IM getappinfo against the sandbox: fields, UserSig, auth, regions, many apps, faults."""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib

import polars as pl
import pytest

import appstats as aps
from appstats import tim
from tests.helpers import fixture_text

KIND = {"Date": pl.Date, "Int": pl.Int64, "Str": pl.String}

# PROVIDERS.md §3: the published TLSSigAPIv2 HMAC test vector.
VEC_KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
VEC_APP, VEC_ID, VEC_TIME, VEC_EXPIRE = 1400000000, "0", 1569910200, 15552000
VEC_SIG = "CpjuBdQs9ZwnuGAJR8onoOeI9fweX2vIMMY94iOJWJY="


def _decode(sig: str) -> dict:
    raw = sig.replace("*", "+").replace("-", "/").replace("_", "=")
    return json.loads(zlib.decompress(base64.b64decode(raw)))


def _yesterday_cn() -> dt.date:
    """The sandbox serves up to yesterday in China time (UTC+8)."""
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=8)).date() - dt.timedelta(days=1)


def test_all_fields(sb: aps.Sandbox) -> None:
    df = sb.tim().app_info(progress=False)
    assert df.shape == (30, 37)
    assert df.columns == [s for s, _ in tim.FIELDS.values()]
    for orig, (snake, kind) in tim.FIELDS.items():
        assert df.schema[snake] == KIND[kind], orig
    dates = df["date"].to_list()
    assert dates == sorted(dates) and len(set(dates)) == 30
    assert (dates[-1] - dates[0]).days == 29  # consecutive
    assert dates[-1] == _yesterday_cn()  # the last 30 days ending yesterday, China time
    assert df["active_user_num"].null_count() == 0
    assert df["qq"].null_count() == 30  # "" is null
    assert set(df["app_id"]) == {"1400000001"}
    assert set(df["app_name"]) == {"沙盒聊天"}


def test_field_subsets_by_original_and_snake_names(sb: aps.Sandbox) -> None:
    t = sb.tim()
    full = t.app_info(progress=False)
    for sel in [
        ["ActiveUserNum", "max_online_num"],
        ["active_user_num", "MaxOnlineNum"],
        ["MaxOnlineNum", "ActiveUserNum"],
    ]:
        df = t.app_info(fields=sel, progress=False)
        assert df.shape == (30, 3), sel
        assert set(df.columns) == {"date", "active_user_num", "max_online_num"}
        assert df.columns[0] == "date"
        assert df.equals(full.select(df.columns))
    one = t.app_info(fields="C2CUpMsgNum", progress=False)
    assert one.columns == ["date", "c2c_up_msg_num"]
    assert one.schema["c2c_up_msg_num"] == pl.Int64
    assert t.app_info(fields=["Date"], progress=False).columns == ["date"]


@pytest.mark.parametrize("fields", [["Nope"], ["ActiveUserNum", "active_users"], "dau"])
def test_unknown_field_rejected_before_any_request(sb: aps.Sandbox, fields) -> None:
    t = sb.tim()
    before = sb.request_count()
    with pytest.raises(aps.InvalidArgument) as ei:
        t.app_info(fields=fields, progress=False)
    assert sb.request_count() == before
    msg = str(ei.value)
    assert "ActiveUserNum (active_user_num)" in msg and "CallBackRsp" in msg


def test_bad_output_rejected_before_any_request(sb: aps.Sandbox) -> None:
    before = sb.request_count()
    with pytest.raises(aps.InvalidArgument, match="polars, pandas, arrow"):
        sb.tim().app_info(output="excel")
    assert sb.request_count() == before


def test_usersig_round_trip() -> None:
    sig = tim.gen_usersig(1400000000, "key-1", "admin", expire=3600, now=1_700_000_000)
    assert tim.verify_usersig(sig, 1400000000, "key-1", now=1_700_000_100) == (
        "admin",
        1400000000,
        1_700_000_000,
        3600,
    )
    doc = _decode(sig)
    assert doc["TLS.ver"] == "2.0" and doc["TLS.identifier"] == "admin"
    # deterministic for a fixed time
    assert sig == tim.gen_usersig(1400000000, "key-1", "admin", expire=3600, now=1_700_000_000)
    # the current time by default
    now_sig = tim.gen_usersig(1400000000, "key-1", "admin")
    assert tim.verify_usersig(now_sig, 1400000000, "key-1")[0] == "admin"
    for bad in [
        lambda: tim.verify_usersig(sig, 1400000000, "key-2", now=1_700_000_100),
        lambda: tim.verify_usersig(sig, 1400000001, "key-1", now=1_700_000_100),
        lambda: tim.verify_usersig(sig, 1400000000, "key-1", now=1_700_003_601),  # expired
        lambda: tim.verify_usersig(sig[:-6], 1400000000, "key-1", now=1_700_000_100),
        lambda: tim.verify_usersig("not-a-sig", 1400000000, "key-1", now=1_700_000_100),
    ]:
        with pytest.raises(aps.AuthError):
            bad()


def test_published_hmac_vector() -> None:
    sig = tim.gen_usersig(VEC_APP, VEC_KEY, VEC_ID, expire=VEC_EXPIRE, now=VEC_TIME)
    doc = _decode(sig)
    assert doc["TLS.sig"] == VEC_SIG
    assert (doc["TLS.sdkappid"], doc["TLS.time"], doc["TLS.expire"]) == (
        VEC_APP,
        VEC_TIME,
        VEC_EXPIRE,
    )
    assert tim.verify_usersig(sig, VEC_APP, VEC_KEY, now=VEC_TIME + 60) == (
        VEC_ID,
        VEC_APP,
        VEC_TIME,
        VEC_EXPIRE,
    )
    with pytest.raises(aps.AuthError):
        tim.verify_usersig(sig, VEC_APP, VEC_KEY, now=VEC_TIME + VEC_EXPIRE + 1)


def test_expired_usersig_is_renewed(sb: aps.Sandbox) -> None:
    t = sb.tim()
    clean = t.app_info(progress=False)
    sb.inject("expire_token", provider="tim", times=1)
    assert t.app_info(progress=False).equals(clean)
    sb.inject("code", 70052, provider="tim", times=1)  # invalidated
    assert t.app_info(progress=False).equals(clean)


def test_usersig_rejected_even_when_fresh_is_auth_error(sb: aps.Sandbox) -> None:
    t = sb.tim()
    sb.inject("expire_token", provider="tim", times=None)
    with pytest.raises(aps.AuthError) as ei:
        t.app_info(progress=False)
    assert ei.value.code == 70001 and "clock" in str(ei.value)


def test_wrong_key_is_auth_error(sb: aps.Sandbox) -> None:
    sdkappid, key, region = sb.tim_apps()[0]
    bad_key = "wrong-tim-key-4Rt8"
    t = aps.TencentIm(sdkappid, bad_key, region=region, resolve_to=sb._native.addr, backoff=0.01)
    with pytest.raises(aps.AuthError) as ei:
        t.app_info(progress=False)
    assert ei.value.code == 70009 and "secret_key" in str(ei.value)
    for text in (str(ei.value), repr(ei.value), repr(t)):
        assert bad_key not in text and key not in text


def test_wrong_region(sb: aps.Sandbox) -> None:
    sdkappid, key, region = sb.tim_apps()[0]
    assert region == "cn"
    t = aps.TencentIm(sdkappid, key, region="sgp", resolve_to=sb._native.addr)
    with pytest.raises((aps.AuthError, aps.ApiError)) as ei:
        t.app_info(progress=False)
    assert "region" in str(ei.value)
    assert "adminapisgp.im.qcloud.com" in str(ei.value)


def test_singapore_app_in_its_region(sb: aps.Sandbox) -> None:
    sdkappid, key, region = sb.tim_apps()[2]
    assert region == "sgp"
    t = aps.TencentIm(sdkappid, key, region="singapore", resolve_to=sb._native.addr)
    assert "adminapisgp.im.qcloud.com" in repr(t)
    assert t.app_info(progress=False).height == 30
    with pytest.raises(aps.InvalidArgument, match="singapore"):
        aps.TencentIm(sdkappid, key, region="mars")


def test_wrong_identifier_and_sdkappid(sb: aps.Sandbox) -> None:
    sdkappid, key, _ = sb.tim_apps()[0]
    with pytest.raises(aps.AuthError, match="administrator"):
        sb.tim(identifier="bob").app_info(progress=False)
    with pytest.raises(aps.AuthError, match="sdkappid"):
        aps.TencentIm(999, key, resolve_to=sb._native.addr).app_info(progress=False)
    with pytest.raises(aps.InvalidArgument, match="integer"):
        aps.TencentIm("abc", key)


def test_many_apps(sb: aps.Sandbox) -> None:
    apps = [(a, k) for a, k, r in sb.tim_apps() if r == "cn"]
    assert len(apps) == 2
    many = aps.TencentIm.app_info_many(
        apps, resolve_to=sb._native.addr, backoff=0.02, progress=False
    )
    assert many.shape == (60, 38)
    assert many.columns[0] == "sdkappid"
    for i, (a, _) in enumerate(apps):
        one = sb.tim(i).app_info(progress=False)
        part = many.filter(pl.col("sdkappid") == a).drop("sdkappid")
        assert part.equals(one)
    sub = aps.TencentIm.app_info_many(
        apps, fields=["ActiveUserNum"], resolve_to=sb._native.addr, progress=False
    )
    assert sub.columns == ["sdkappid", "date", "active_user_num"]
    bad = [apps[0], (apps[1][0], "wrong-key-of-second-app")]
    with pytest.raises(aps.AuthError) as ei:
        aps.TencentIm.app_info_many(bad, resolve_to=sb._native.addr, progress=False)
    assert str(apps[1][0]) in str(ei.value)
    assert "wrong-key-of-second-app" not in str(ei.value)


@pytest.mark.parametrize(
    "kind,value",
    [
        ("http_status", 500),
        ("http_status", 502),
        ("reset", None),
        ("truncate", None),
        ("code", 70500),
        ("code", 70169),
        ("code", 60018),
        ("code", 60007),
        ("code", 130011),
        ("duplicate_page", None),
        ("drop_rows", 2),
        ("delay", 1.0),
    ],
)
def test_faults_recovered(sb: aps.Sandbox, kind: str, value: float | None) -> None:
    t = sb.tim(timeout=0.4)
    clean = t.app_info(progress=False)
    sb.inject(kind, value, provider="tim", times=1)
    again = t.app_info(progress=False)
    assert again.equals(clean)
    assert again.schema == clean.schema
    if kind not in ("drop_rows", "duplicate_page"):  # refetched by the client, not the HTTP layer
        assert t.stats()["retries"] >= 1


@pytest.mark.parametrize(
    "kind,value,exc",
    [
        ("code", 70500, aps.ServerError),
        ("code", 60018, aps.RateLimited),
        ("code", 130001, aps.ApiError),
        ("code", 70009, aps.AuthError),
        ("http_status", 503, aps.ServerError),
        ("truncate", None, aps.MalformedResponse),
        ("drop_rows", 3, aps.IncompleteData),
    ],
)
def test_faults_raised(sb: aps.Sandbox, kind: str, value: float | None, exc: type) -> None:
    t = sb.tim(max_attempts=3)
    sb.inject(kind, value, provider="tim", times=None)
    with pytest.raises(exc) as ei:
        t.app_info(progress=False)
    assert ei.value.provider == "tim"


def test_wait_60s_code_is_rate_limited_when_the_wait_is_too_long(sb: aps.Sandbox) -> None:
    t = sb.tim(max_retry_wait=0.5)
    sb.inject("code", 70050, provider="tim", times=None)
    with pytest.raises(aps.RateLimited, match="60 s"):
        t.app_info(progress=False)


def test_missing_days_are_named(sb: aps.Sandbox) -> None:
    t = sb.tim(max_attempts=2)
    clean = t.app_info(progress=False)
    sb.inject("drop_rows", 3, provider="tim", times=None)
    with pytest.raises(aps.IncompleteData) as ei:
        t.app_info(progress=False)
    d = clean["date"].to_list()  # ascending; the sandbox drops days 15..17 before the newest
    for day in (d[-16], d[-17], d[-18]):
        assert day.isoformat() in str(ei.value)


def test_missing_oldest_days_are_not_a_short_table(sb: aps.Sandbox) -> None:
    # The sandbox drops 15 days from the middle of its newest-first list:
    # the 15 oldest days. The rest is consecutive, so only a check of the
    # whole window (30 days ending yesterday, China time) notices.
    t = sb.tim(max_attempts=2)
    d = t.app_info(progress=False)["date"].to_list()
    sb.inject("drop_rows", 15, provider="tim", times=None)
    with pytest.raises(aps.IncompleteData) as ei:
        t.app_info(progress=False)
    msg = str(ei.value)
    assert "15 day(s) missing" in msg
    assert f"{d[0].isoformat()} – {d[14].isoformat()}" in msg
    assert d[15].isoformat() not in msg
    many = [(a, k) for a, k, r in sb.tim_apps() if r == "cn"]
    with pytest.raises(aps.IncompleteData, match=str(many[0][0])):
        aps.TencentIm.app_info_many(many, resolve_to=sb.addr, progress=False)


def test_rows_newest_first_give_an_oldest_first_frame() -> None:
    # The document's sample (and the sandbox) list days newest first.
    days = [{"Date": f"202403{d:02d}", "ActiveUserNum": str(d)} for d in range(1, 31)]
    newest_first = json.dumps({"ErrorCode": 0, "Result": days[::-1]})
    oldest_first = json.dumps({"ErrorCode": 0, "Result": days})
    df = tim.parse(newest_first)
    assert df["date"].is_sorted() and df["date"][0] == dt.date(2024, 3, 1)
    assert df["active_user_num"].to_list() == list(range(1, 31))
    assert df.equals(tim.parse(oldest_first))


def test_offline_parse_fixtures() -> None:
    full = tim.parse(fixture_text("tim", "getappinfo_all.json"))
    assert full.shape == (1, 37)
    assert full["date"][0] == dt.date(2016, 6, 7)
    assert full["active_user_num"][0] == 2014
    assert full["app_name"][0] == "实时通信场景体验版"
    assert full["call_back_rsp"][0] == 72902
    en = tim.parse(fixture_text("tim", "getappinfo_all_en.json").encode("utf-8"))
    # the English sample leaves out QQ and the text/voice counters: null, not 0
    absent = [
        "app_name",
        "company",
        "qq",
        "text_msg_in_num",
        "text_msg_out_num",
        "voice_msg_in_num",
        "voice_msg_out_num",
    ]
    assert en.drop(absent).equals(full.drop(absent))
    assert en.select(absent[2:]).null_count().row(0) == (1, 1, 1, 1, 1)
    assert en["app_name"][0].startswith("Real-Time")
    some = tim.parse(fixture_text("tim", "getappinfo_fields.json"))
    assert some.shape == (2, 37)
    assert some["date"].to_list() == [dt.date(2016, 6, 4), dt.date(2016, 6, 5)]  # ascending
    assert some["chain_increase"].to_list() == [17, 8]
    assert some["active_user_num"].null_count() == 2
    with pytest.raises(aps.MalformedResponse):
        tim.parse('{"ErrorCode":0,"Result":[{"Date":"2016')
    with pytest.raises(aps.AuthError):
        tim.parse('{"ActionStatus":"FAIL","ErrorCode":70009,"ErrorInfo":"bad sig"}')
    with pytest.raises(aps.ServerError):
        tim.parse('{"ActionStatus":"FAIL","ErrorCode":70500,"ErrorInfo":"busy"}')


def test_pandas_output_and_async(sb: aps.Sandbox) -> None:
    import asyncio

    t = sb.tim()
    pdf = t.app_info(output="pandas", progress=False)
    assert str(pdf["active_user_num"].dtype) == "Int64"
    assert str(pdf["date"].dtype).startswith("datetime64")
    assert str(pdf["app_name"].dtype) == "string"
    assert asyncio.run(t.app_info_async(progress=False)).equals(t.app_info(progress=False))
