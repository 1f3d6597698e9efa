"""No secret (key, token, signature, UserSig) in exceptions, reprs or logs, on any error path."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from functools import partial

import pytest

import appstats as aps
from appstats import tim

S, E = "2024-03-01", "2024-03-31"

BAIDU_SECRET = "BDSECRET-9f1c-Zq7w-baidu"
BAIDU_TOKEN = "24.TOKEN-8a2e-Xv3k-static"
BAIDU_TICKET = "TPTICKET-5d6e-Kk1l"
MTA_SECRET = "MTASECRET-3b4c-Pp9o-mta"
TIM_SECRET = "TIMSECRET-7e8f-Yy2u-tim"

# a secret parameter followed by anything but the redaction mark
LEAKY = [
    re.compile(
        r"(?:access_token|client_secret|secret_key|sign|usersig|refresh_token|ticket)"
        r"=(?!\*\*\*)[^&\s\"')]+",
        re.I,
    ),
    re.compile(r"eJ[0-9A-Za-z*\-_]{40,}"),  # a zlib+base64 UserSig
]


def _texts(e: BaseException | None) -> list[str]:
    out: list[str] = []
    while e is not None:
        out += [str(e), repr(e), str(getattr(e, "args", "")), str(vars(e))]
        e = e.__cause__ or e.__context__
    return out


def assert_clean(texts: Iterable[str], secrets: Iterable[str], patterns: bool = True) -> None:
    secrets = [s for s in secrets if s]
    for t in texts:
        for s in secrets:
            assert s not in t, f"secret {s[:6]}… leaked in: {t[:300]}"
        if patterns:
            for p in LEAKY:
                m = p.search(t)
                assert m is None, f"{m.group(0)[:40]}… leaked in: {t[:300]}"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="appstats")
    return caplog


def _raises(call: Callable[[], object], exc: type = aps.AppStatsError) -> BaseException:
    with pytest.raises(exc) as ei:
        call()
    return ei.value


def _log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [caplog.text] + [r.getMessage() for r in caplog.records]


def test_logs_reach_python_at_debug(sb: aps.Sandbox, debug_logs) -> None:
    sb.inject("http_status", 502, provider="mta", times=1)
    sb.mta().crash(S, E, progress=False)
    names = {r.name for r in debug_logs.records}
    assert any(n.startswith("appstats") for n in names), names
    assert any(r.levelno == logging.DEBUG for r in debug_logs.records)
    assert "retrying" in debug_logs.text


def test_baidu_wrong_secret_and_token(sb: aps.Sandbox, debug_logs) -> None:
    bd = aps.BaiduSmartApp(
        client_id="sandbox-client-id", client_secret=BAIDU_SECRET, base_url=sb.url, backoff=0.01
    )
    e1 = _raises(lambda: bd.region(S, E, progress=False), aps.AuthError)
    st = aps.BaiduSmartApp(access_token=BAIDU_TOKEN, base_url=sb.url, backoff=0.01)
    e2 = _raises(lambda: st.region(S, E, progress=False), aps.AuthError)
    tp = aps.BaiduSmartApp(
        tp_client_id="sandbox-tp-id", tp_ticket=BAIDU_TICKET, base_url=sb.url, backoff=0.01
    )
    e3 = _raises(lambda: tp.tp_data(S, E, scene=1, progress=False))
    texts = _texts(e1) + _texts(e2) + _texts(e3) + [repr(bd), repr(st), repr(tp)]
    assert_clean(texts + _log_texts(debug_logs), [BAIDU_SECRET, BAIDU_TOKEN, BAIDU_TICKET])


@pytest.mark.slow
def test_baidu_faults_and_token_renewal(sb: aps.Sandbox, debug_logs) -> None:
    creds = sb.credentials
    bd = sb.baidu(page_size=4, max_attempts=2)
    texts = [repr(bd)]
    for kind, value in [
        ("http_status", 500),
        ("reset", None),
        ("truncate", None),
        ("code", 18),
        ("code", 6),
        ("expire_token", None),
        ("wrong_total", 3),
        ("drop_rows", 1),
    ]:
        sb.clear_faults()
        sb.inject(kind, value, endpoint="getanalysissource", times=None)
        texts += _texts(_raises(lambda: bd.source(S, E, progress=False)))
    sb.clear_faults()
    tp = sb.baidu_tp(auth_code="sandbox-code-1")
    tp.region(S, E, progress=False)
    refresh = tp.refresh_token()
    sb.inject("expire_token", endpoint="getanalysisregion", times=1)
    tp.region(S, E, progress=False)
    texts += [repr(tp)]
    assert_clean(
        texts + _log_texts(debug_logs),
        [
            creds["baidu_client_secret"],
            creds["baidu_tp_ticket"],
            refresh,
            tp.refresh_token(),
            "sandbox-code-1",
        ],
    )


@pytest.mark.slow
def test_mta_wrong_key_and_faults(sb: aps.Sandbox, debug_logs) -> None:
    bad = aps.Mta(app_id=sb.credentials["mta_app_id"], secret_key=MTA_SECRET, base_url=sb.url)
    texts = _texts(_raises(lambda: bad.crash(S, E, progress=False), aps.AuthError)) + [repr(bad)]
    m = sb.mta(max_attempts=2, timeout=0.3)
    texts.append(repr(m))
    for kind, value in [
        ("http_status", 500),
        ("reset", None),
        ("truncate", None),
        ("code", 60005),
        ("code", 60002),
        ("code", 60006),
        ("delay", 0.6),
        ("drop_rows", 1),
    ]:
        sb.clear_faults()
        sb.inject(kind, value, provider="mta", times=None)
        texts += _texts(_raises(lambda: m.user_basic(S, E, missing_days="raise", progress=False)))
    # and a recovered run
    sb.clear_faults()
    sb.inject("http_status", 502, provider="mta", times=2)
    m.user_basic("2024-01-01", "2024-06-30", progress=False)
    logs = _log_texts(debug_logs)
    assert_clean(texts + logs, [MTA_SECRET, sb.credentials["mta_secret_key"]])
    # no MD5 signature (32 hex digits) anywhere
    for t in texts + logs:
        assert not re.search(r"\b[0-9a-f]{32}\b", t), t[:300]


def test_mta_saved_reply_with_sign_is_redacted() -> None:
    e = _raises(
        lambda: aps.mta.parse(
            "user_basic",
            '{"ret_code":60002,"ret_msg":"sign error, sign=91762a3e9dd47e9fbdd07b48abb4f76f '
            'secret_key=abc","ret_data":""}',
        ),
        aps.AuthError,
    )
    assert_clean(_texts(e), ["91762a3e9dd47e9fbdd07b48abb4f76f", "=abc"])


@pytest.mark.slow
def test_tim_wrong_key_region_and_faults(sb: aps.Sandbox, debug_logs) -> None:
    sdkappid, key, region = sb.tim_apps()[0]
    addr = sb._native.addr
    texts: list[str] = []
    for t in [
        aps.TencentIm(sdkappid, TIM_SECRET, region=region, resolve_to=addr),
        aps.TencentIm(sdkappid, key, region="sgp", resolve_to=addr),
        aps.TencentIm(sdkappid, key, identifier="bob", resolve_to=addr),
    ]:
        texts += _texts(_raises(partial(t.app_info, progress=False), aps.AuthError)) + [repr(t)]
    t = sb.tim(max_attempts=2, timeout=0.3)
    texts.append(repr(t))
    for kind, value in [
        ("http_status", 500),
        ("reset", None),
        ("truncate", None),
        ("code", 70001),
        ("code", 70009),
        ("code", 70003),
        ("code", 60018),
        ("expire_token", None),
        ("delay", 0.6),
        ("drop_rows", 2),
        ("duplicate_page", None),
    ]:
        sb.clear_faults()
        sb.inject(kind, value, provider="tim", times=None)
        texts += _texts(_raises(lambda: t.app_info(progress=False)))
    sb.clear_faults()
    sb.inject("expire_token", provider="tim", times=1)
    t.app_info(progress=False)  # renewed UserSig
    many = [(sdkappid, key), (sb.tim_apps()[1][0], TIM_SECRET)]
    texts += _texts(
        _raises(lambda: aps.TencentIm.app_info_many(many, resolve_to=addr, progress=False))
    )
    assert_clean(texts + _log_texts(debug_logs), [TIM_SECRET, key, sb.tim_apps()[1][1]])


def test_usersig_errors_do_not_echo_the_sig(debug_logs) -> None:
    sig = tim.gen_usersig(1400000000, TIM_SECRET, "admin", now=1_700_000_000)
    texts: list[str] = []
    for call in [
        lambda: tim.verify_usersig(sig, 1400000000, "other-key", now=1_700_000_100),
        lambda: tim.verify_usersig(sig, 1400000000, TIM_SECRET, now=1_800_000_000),
        lambda: tim.verify_usersig(sig, 1400000009, TIM_SECRET, now=1_700_000_100),
        lambda: tim.verify_usersig(sig[:40], 1400000000, TIM_SECRET, now=1_700_000_100),
    ]:
        texts += _texts(_raises(call, aps.AuthError))
    assert_clean(texts + _log_texts(debug_logs), [TIM_SECRET, sig, sig[:40], "other-key"])


def test_tim_saved_reply_with_usersig_is_redacted() -> None:
    sig = tim.gen_usersig(1400000000, TIM_SECRET, "admin", now=1_700_000_000)
    e = _raises(
        lambda: tim.parse(
            '{"ActionStatus":"FAIL","ErrorCode":70003,"ErrorInfo":"bad usersig=' + sig + '"}'
        ),
        aps.AuthError,
    )
    assert_clean(_texts(e), [sig])


def test_credentials_from_environment_stay_hidden(
    sb: aps.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MTA_APP_ID", "500000001")
    monkeypatch.setenv("MTA_SECRET_KEY", MTA_SECRET)
    monkeypatch.setenv("TIM_SDKAPPID", "1400000001")
    monkeypatch.setenv("TIM_SECRET_KEY", TIM_SECRET)
    monkeypatch.setenv("BAIDU_CLIENT_ID", "x")
    monkeypatch.setenv("BAIDU_CLIENT_SECRET", BAIDU_SECRET)
    reprs = [repr(aps.Mta()), repr(aps.TencentIm()), repr(aps.BaiduSmartApp()), repr(sb)]
    assert_clean(reprs, [MTA_SECRET, TIM_SECRET, BAIDU_SECRET])
