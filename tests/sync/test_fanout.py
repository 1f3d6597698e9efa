"""`aps.fetch_many`: the Rust fan-out engine through the public API."""

from __future__ import annotations

import time

import polars as pl
import pytest

import appstats as aps
from appstats.sync import Outcome, Task

S, E = "2024-03-01", "2024-03-07"


def _apps(sb: aps.Sandbox) -> dict[str, dict]:
    c = sb.credentials
    apps: dict[str, dict] = {}
    for i, a in enumerate(sb.apps("mta")):
        apps[f"m{i}"] = {
            "provider": "mta",
            "app_id": a["app_id"],
            "secret_key": a["secret_key"],
            "base_url": sb.url,
            "http": {"rate_limit": 100, "backoff": 0.01},
        }
    for i, a in enumerate(sb.apps("tim")):
        apps[f"t{i}"] = {
            "provider": "tim",
            "sdkappid": int(a["sdkappid"]),
            "secret_key": a["secret_key"],
            "region": a["region"],
            "resolve_to": sb.addr,
            "today": sb.today.isoformat(),
        }
    for i, a in enumerate(sb.apps("baidu")):
        apps[f"b{i}"] = {
            "provider": "baidu",
            "tp_client_id": c["baidu_tp_client_id"],
            "tp_ticket": c["baidu_tp_ticket"],
            "refresh_token": a["refresh_token"],
            "base_url": sb.url,
        }
    return apps


@pytest.mark.slow
def test_every_provider_many_apps() -> None:
    with aps.Sandbox(apps=3, today="2024-04-01") as sb:
        apps = _apps(sb)
        tasks = [Task(n, "user_basic", S, E) for n in apps if n[0] == "m"]
        tasks += [Task(n, "app_info", "2024-03-20", "2024-03-31") for n in apps if n[0] == "t"]
        tasks += [Task(n, "user_trend", S, E, {"gran": "day"}) for n in apps if n[0] == "b"]
        tasks += [Task("b1", "region", S, E, per_day=True)]
        seen = []
        with aps.fetch_many(
            apps,
            tasks,
            concurrency=4,
            active_apps=2,
            progress=lambda d, t, f: seen.append((d, t, f)),
        ) as run:
            assert run.total == 10
            out = {o.position: o for o in run}
        assert sorted(out) == list(range(10)) and seen[-1] == (10, 10, 0)
        assert all(o.ok and o.requests >= 1 and o.retries == 0 for o in out.values())
        assert out[0].frame.height == 7 and out[3].frame.height == 12
        region = out[9].frame
        assert region.columns[0] == "date" and region.schema["date"] == pl.Date
        assert region.height == 7 * 34 and region["date"].n_unique() == 7
        assert out[9].requests == 7 * 2  # one day per request, two pages a day
        # each Baidu program with its own data; the platform token fetched once
        assert not out[6].frame.equals(out[7].frame)
        assert sb.baidu_refreshes() == {a["app_id"]: 1 for a in sb.apps("baidu")}


def test_one_apps_failure_is_its_own() -> None:
    with aps.Sandbox(apps=3) as sb:
        apps = _apps(sb)
        apps["m1"] = {**apps["m1"], "secret_key": "wrong-secret-key"}
        tasks = [Task(n, "crash", S, E) for n in ("m0", "m1", "m2")]
        outs = list(aps.fetch_many(apps, tasks, progress=False))
    bad = [o for o in outs if not o.ok]
    assert [o.task.app for o in bad] == ["m1"]
    assert isinstance(bad[0].error, aps.AuthError) and "wrong-secret-key" not in str(bad[0].error)
    with pytest.raises(aps.AuthError):
        _ = bad[0].frame


def _run_many(apps: dict[str, dict], tasks: list[Task], active_apps: int = 64) -> list[Outcome]:
    with aps.fetch_many(apps, tasks, concurrency=4, active_apps=active_apps, progress=False) as run:
        return sorted(run, key=lambda o: o.position)


def test_a_wrong_key_ends_the_app_for_the_run() -> None:
    """Issue 20: 51 requests for 6 tasks failed with a wrong key (38 of them
    by one per-day task). An auth error is final for the app: its tasks not
    started fail at once, a per-day task starts no further day."""
    with aps.Sandbox(apps=2, today="2024-04-01") as sb:
        apps = _apps(sb)
        apps["m0"] = {**apps["m0"], "secret_key": "wrong-secret-key"}
        daily = ["user_basic", "crash", "usage", "active_users", "user_basic"]
        tasks = [Task("m0", "frequency", S, "2024-03-20", per_day=True)]
        tasks += [Task("m0", r, S, E) for r in daily]
        tasks += [Task("m1", r, S, E) for r in daily]
        outs = _run_many(apps, tasks)
        served = sb.requests_per_app("mta")
        wrong = sb.apps("mta")[0]["app_id"]
    bad, good = outs[:6], outs[6:]
    assert all(o.ok for o in good)
    assert all(isinstance(o.error, aps.AuthError) for o in bad), [o.error for o in bad]
    skipped = [o for o in bad if "skipped" in str(o.error)]
    assert skipped, "the tasks after the first failure were skipped"
    for o in skipped:
        assert "earlier task of this app" in str(o.error) and o.requests == 0
        assert "wrong-secret-key" not in str(o.error)
    sent = sum(o.requests for o in bad)
    # the first failure, plus at most what was already in flight (concurrency 4)
    assert sent <= 4 + 2, [(o.task.report, o.requests) for o in bad]
    assert served[wrong] == sent


def test_a_per_day_task_stops_at_its_first_final_error() -> None:
    """A quota used up on day 3 of a per-day task: no day after it is
    started, and the app's next tasks send nothing."""
    with aps.Sandbox(apps=1, today="2024-04-01") as sb:
        apps = {"m0": _apps(sb)["m0"]}
        apps["m0"]["http"] = {**apps["m0"]["http"], "concurrency": 1}
        sb.inject("code", 60006, provider="mta", skip=2, times=None)  # daily quota
        tasks = [Task("m0", "frequency", S, "2024-03-31", per_day=True)]
        tasks += [Task("m0", "user_basic", S, E), Task("m0", "crash", S, E)]
        outs = _run_many(apps, tasks, active_apps=1)  # one task at a time, in order
    assert all(isinstance(o.error, aps.QuotaExceeded) for o in outs), [o.error for o in outs]
    assert outs[0].requests == 3, "days 1 and 2, then the refused day 3; not 31 days"
    assert [o.requests for o in outs[1:]] == [0, 0]
    assert all("skipped" in str(o.error) for o in outs[1:])


def test_everything_is_validated_before_any_request() -> None:
    with aps.Sandbox() as sb:
        apps = _apps(sb)
        cases = [
            ([Task("m0", "nope", S, E)], r"task 0 \(mta nope\): unknown MTA report"),
            ([Task("m0", "crash", E, S)], "before"),
            ([Task("zz", "crash", S, E)], "unknown app 'zz'"),
            ([Task("t0", "app_info", S, E, {"colour": "x"})], "colour"),
            ([Task("m0", "crash", "2024-01-01", "2025-06-01", per_day=True)], "per-day"),
        ]
        for tasks, msg in cases:
            with pytest.raises(aps.InvalidArgument, match=msg):
                aps.fetch_many(apps, tasks, progress=False)
        for bad, msg in [
            ({"provider": "qq"}, "unknown provider"),
            ({"provider": "mta", "app_id": "1"}, "secret_key is required"),
            ({**apps["m0"], "http": {"rate": 1}}, "unknown HTTP setting"),
            ({**apps["m0"], "http": {"timeout": float("nan")}}, "timeout"),
            ({**apps["m0"], "colour": 1}, "unknown mta setting"),
        ]:
            with pytest.raises(aps.InvalidArgument, match=msg):
                aps.fetch_many({"x": bad}, [Task("x", "crash", S, E)], progress=False)
        with pytest.raises(aps.InvalidArgument, match="concurrency"):
            aps.fetch_many(apps, [], concurrency=0)
        assert sb.request_count() == 0


@pytest.mark.slow
def test_leaving_early_cancels_the_rest() -> None:
    with aps.Sandbox(apps=10, latency=0.3) as sb:
        apps = _apps(sb)
        tasks = [Task(f"m{i}", "crash", S, E) for i in range(10) for _ in range(5)]
        with aps.fetch_many(apps, tasks, concurrency=4, progress=False) as run:
            first = next(run)
        assert first.ok
        time.sleep(0.2)  # in-flight requests were dropped, nothing new starts
        n = sb.request_count()
        time.sleep(0.8)
        assert sb.request_count() == n < 12


def test_validate_tasks_checks_like_fetch_many_and_sends_nothing(sb: aps.Sandbox) -> None:
    from appstats import _native

    before = sb.request_count()
    _native.validate_tasks("mta", [("user_basic", "2024-03-01", "2024-03-31", None, False)])
    for provider, task, words in [
        ("mta", ("user_basic", "2024-03-31", "2024-03-01", None, False), "before start"),
        ("mta", ("no_such_report", "2024-03-01", "2024-03-02", None, False), "no_such_report"),
        ("baidu", ("region", "2024-03-01", "2024-13-01", None, False), "YYYY-MM-DD"),
        ("nope", ("region", "2024-03-01", "2024-03-02", None, False), "unknown provider"),
    ]:
        with pytest.raises(aps.InvalidArgument, match=words):
            _native.validate_tasks(provider, [task])
    assert sb.request_count() == before
