"""Baidu's wire forms as the vendor's SDKs use them (issue 12 §1): the TP
totals endpoint in both spellings, token replies in the SDKs' shapes with a
test per failure shape, and the gateway codes."""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
import urllib.parse
import urllib.request
from typing import Any

import polars as pl
import pytest

import appstats as aps

S, E = "2024-03-01", "2024-03-31"


def get(sb: aps.Sandbox, path: str, query: dict[str, str]) -> dict[str, Any]:
    url = f"{sb.url}{path}?{urllib.parse.urlencode(query)}"
    with urllib.request.urlopen(url) as r:  # loopback only
        return json.loads(r.read())  # type: ignore[no-any-return]


def test_tp_totals_default_to_the_sdks_gettpdata(sb: aps.Sandbox) -> None:
    tp = sb.baidu_tp()
    sdk = tp.tp_data(S, E, scene=1, progress=False)
    doc = tp.tp_data(S, E, scene=1, tp_endpoint="getdata", progress=False)
    assert sdk.height == 31 and sdk.equals(doc)
    assert sdk.schema["date"] == pl.Date
    # through report() as well, with a summary window
    r = tp.report("tp_data", S, E, scene=1, tp_endpoint="getdata", progress=False)
    assert r.data.equals(doc)
    with pytest.raises(aps.InvalidArgument, match="gettpdata, getdata"):
        tp.tp_data(S, E, scene=1, tp_endpoint="tpdata", progress=False)


def test_tp_totals_rows_dated_under_date_or_data() -> None:
    rows = [{"tp_day_user_count": "1,204", "tp_activity_degree": "--"}]
    for key in ("date", "data"):
        text = json.dumps(
            {
                "errno": 0,
                "msg": "success",
                "data": {"offset": 0, "total": 1, "result": [{key: "20240301", **rows[0]}]},
            }
        )
        for endpoint in ("gettpdata", "getdata", "tp_data"):
            df = aps.baidu.parse(endpoint, text)
            assert df["date"].to_list()[0].isoformat() == "2024-03-01", (key, endpoint)
            assert df["tp_day_user_count"].to_list() == [1204]


def test_sandbox_token_replies_have_the_sdks_shapes(sb: aps.Sandbox) -> None:
    c = sb.credentials
    own = get(
        sb,
        "/oauth/2.0/token",
        {
            "grant_type": "client_credentials",
            "client_id": c["baidu_client_id"],
            "client_secret": c["baidu_client_secret"],
        },
    )
    assert {"access_token", "expires_in", "scope"} <= set(own) and "data" not in own  # flat
    tp = get(
        sb,
        "/public/2.0/smartapp/auth/tp/token",
        {"client_id": c["baidu_tp_client_id"], "ticket": c["baidu_tp_ticket"]},
    )
    assert tp["errno"] == 0 and {"access_token", "expires_in", "scope"} <= set(tp["data"])
    app = get(
        sb,
        "/rest/2.0/oauth/token",
        {
            "access_token": tp["data"]["access_token"],
            "code": "sandbox-code-1",
            "grant_type": "app_to_tp_authorization_code",
        },
    )
    assert {"access_token", "expires_in", "refresh_token"} <= set(app) and "data" not in app
    # failures: {"error", "error_description"} for the flat flows, errno for the TP token
    bad = get(
        sb,
        "/oauth/2.0/token",
        {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
    )
    assert set(bad) == {"error", "error_description"}
    bad = get(
        sb,
        "/rest/2.0/oauth/token",
        {
            "access_token": tp["data"]["access_token"],
            "code": "nope",
            "grant_type": "app_to_tp_authorization_code",
        },
    )
    assert set(bad) == {"error", "error_description"} and bad["error"] == "invalid_grant"
    bad = get(sb, "/public/2.0/smartapp/auth/tp/token", {"client_id": "x", "ticket": "y"})
    assert bad["errno"] != 0 and "msg" in bad


@pytest.mark.parametrize(
    "make,words",
    [
        # /oauth/2.0/token: {"error": "invalid_client", ...}
        (
            lambda sb: aps.BaiduSmartApp(
                client_id="sandbox-client-id", client_secret="s3cret-wrong", base_url=sb.url
            ),
            ["invalid_client", "token request refused"],
        ),
        # /public/2.0/smartapp/auth/tp/token: {"errno": 40001, "msg": ...}
        (
            lambda sb: aps.BaiduSmartApp(
                tp_client_id="sandbox-tp-id", tp_ticket="t1cket-wrong", base_url=sb.url
            ),
            ["40001", "client_id or ticket"],
        ),
        # /rest/2.0/oauth/token: {"error": "invalid_grant", ...}
        (
            lambda sb: aps.BaiduSmartApp(
                tp_client_id="sandbox-tp-id",
                tp_ticket="sandbox-ticket",
                auth_code="c0de-wrong",
                base_url=sb.url,
            ),
            ["invalid_grant"],
        ),
    ],
)
def test_every_token_failure_shape_is_an_auth_error(
    sb: aps.Sandbox, make: Any, words: list[str]
) -> None:
    bd = make(sb)
    before = sb.request_count("baidu")
    with pytest.raises(aps.AuthError) as ei:
        bd.region(S, E, progress=False)
    msg = str(ei.value)
    for w in words:
        assert w in msg, msg
    for secret in ("s3cret-wrong", "t1cket-wrong", "c0de-wrong"):
        assert secret not in msg and secret not in repr(ei.value)
    assert not ei.value.retryable
    assert sb.request_count("baidu") == before  # no data request without a token


@pytest.mark.parametrize(
    "code,cls",
    [
        (17, aps.QuotaExceeded),
        (18, aps.RateLimited),
        (4, aps.RateLimited),
        (110, aps.AuthError),
        (111, aps.AuthError),
    ],
)
def test_gateway_codes(sb: aps.Sandbox, code: int, cls: type) -> None:
    bd = sb.baidu(max_attempts=2, backoff=0.01)
    sb.inject("code", code, provider="baidu", times=None)
    with pytest.raises(cls) as ei:
        bd.region(S, E, progress=False)
    assert ei.value.code == code


def _tp_token(sb: aps.Sandbox) -> str:
    c = sb.credentials
    reply = get(
        sb,
        "/public/2.0/smartapp/auth/tp/token",
        {"client_id": c["baidu_tp_client_id"], "ticket": c["baidu_tp_ticket"]},
    )
    return reply["data"]["access_token"]  # type: ignore[no-any-return]


def test_sandbox_accepts_the_sdks_gettpdata_without_scene(sb: aps.Sandbox) -> None:
    # The PHP SDK's TP/Analysis/GetData: a GET whose `scene` is optional
    # ("不传则查询所有场景", not passed: all scenes) and sent only when given.
    query = {
        "sp_sdk_lang": "php",
        "sp_sdk_ver": "1.0.0",
        "access_token": _tp_token(sb),
        "metrics": "tp_day_user_count,tp_activity_degree",
        "start_date": "20240301",
        "end_date": "20240310",
        "start_index": "0",
        "max_results": "20",
    }
    reply = get(sb, "/rest/2.0/smartapp/data/gettpdata", query)
    assert reply["errno"] == 0, reply
    rows = reply["data"]["result"]
    assert reply["data"]["total"] == len(rows) == 10
    assert {"date", "tp_day_user_count", "tp_activity_degree"} <= set(rows[0])
    # the totals over all scenes hold at least any one scene's users
    one = get(sb, "/rest/2.0/smartapp/data/gettpdata", {**query, "scene": "1"})
    assert one["errno"] == 0, one
    for a, s in zip(rows, one["data"]["result"], strict=True):
        if a["tp_day_user_count"] != "--":
            assert int(a["tp_day_user_count"]) > int(s["tp_day_user_count"]), (a, s)
    # the seed document's getdata keeps scene required
    del query["max_results"]
    doc = get(sb, "/rest/2.0/smartapp/data/getdata", {**query, "max_result": "20"})
    assert doc["errno"] == 40001 and "scene" in doc["msg"], doc


def test_tp_data_without_scene_is_the_all_scene_totals(sb: aps.Sandbox) -> None:
    tp = sb.baidu_tp()
    total = tp.tp_data(S, E, progress=False)
    one = tp.tp_data(S, E, 1, progress=False)
    assert total.height == one.height == 31 and total.columns == one.columns
    assert total["date"].equals(one["date"])
    both = total.join(one, on="date", suffix="_scene").drop_nulls("tp_day_user_count")
    assert both.height > 20
    assert (both["tp_day_user_count"] > both["tp_day_user_count_scene"]).all()
    # report() and the awaitable twin alike
    assert tp.report("tp_data", S, E, progress=False).data.equals(total)
    assert asyncio.run(tp.tp_data_async(S, E, progress=False)).equals(total)
    # the document's getdata needs a scene: refused before any request
    before = sb.request_count("baidu")
    with pytest.raises(aps.InvalidArgument, match='getdata" needs scene'):
        tp.tp_data(S, E, tp_endpoint="getdata", progress=False)
    assert sb.request_count("baidu") == before


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A Baidu data endpoint that records each request's query."""

    queries: list[tuple[str, dict[str, list[str]]]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urllib.parse.urlsplit(self.path)
        self.queries.append((url.path, urllib.parse.parse_qs(url.query)))
        body = json.dumps(
            {
                "errno": 0,
                "msg": "success",
                "data": {
                    "offset": 0,
                    "total": 1,
                    "result": [{"date": "20240301", "tp_day_user_count": "7"}],
                },
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_tp_data_without_scene_sends_no_scene() -> None:
    _Recorder.queries = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        tp = aps.BaiduSmartApp(access_token="t0ken", base_url=base)
        day = "2024-03-01"
        assert tp.tp_data(day, day, metrics=["tp_day_user_count"], progress=False).height == 1
        tp.tp_data(day, day, scene=1011, metrics=["tp_day_user_count"], progress=False)
    finally:
        server.shutdown()
        server.server_close()
    (path, q), (_, q1) = _Recorder.queries
    assert path.endswith("/rest/2.0/smartapp/data/gettpdata")
    assert "scene" not in q and q["metrics"] == ["tp_day_user_count"]
    assert {"access_token", "start_date", "end_date", "max_results"} <= set(q)
    assert q1["scene"] == ["1011"]
