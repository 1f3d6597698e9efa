"""The many-app sandbox: deterministic days, no future data, many apps with
their own credentials and rate limits, restated recent days."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

import appstats as aps


def _program(sb: aps.Sandbox, i: int, **kw: object) -> aps.BaiduSmartApp:
    a = sb.apps("baidu")[i]
    c = sb.credentials
    return aps.BaiduSmartApp(
        tp_client_id=c["baidu_tp_client_id"],
        tp_ticket=c["baidu_tp_ticket"],
        refresh_token=a["refresh_token"],
        base_url=sb.url,
        backoff=0.01,
        **kw,
    )  # type: ignore[arg-type]


def test_a_days_numbers_do_not_depend_on_the_requested_range() -> None:
    with aps.Sandbox(today="2024-05-01") as sb:
        bd = sb.baidu()
        march = bd.user_trend("2024-03-01", "2024-03-31", progress=False)
        later = bd.user_trend("2024-03-16", "2024-04-20", progress=False)
        day = pl.col("date") == dt.date(2024, 3, 16)
        assert march.filter(day).equals(later.filter(day))
        # a retention cohort is the same whatever the request's end
        short = bd.retention("2024-03-01", "2024-03-05", progress=False)
        long = bd.retention("2024-03-01", "2024-03-31", progress=False)
        first = pl.col("cohort_date") == dt.date(2024, 3, 1)
        assert short.filter(first).equals(long.filter(first))
        assert short.filter(first)["users"].null_count() == 0  # all 29 periods known by May


def test_nothing_is_served_from_today_on() -> None:
    with aps.Sandbox(today="2024-03-20") as sb:
        trend = sb.baidu().user_trend("2024-03-15", "2024-03-25", progress=False)
        assert trend["date"].to_list() == [dt.date(2024, 3, d) for d in range(15, 20)]
        assert sb.baidu().region("2024-03-20", "2024-03-25", progress=False).height == 0
        # retention periods ending today or later are unknown (null)
        ret = sb.baidu().retention("2024-03-10", "2024-03-19", progress=False)
        last = ret.filter(pl.col("cohort_date") == dt.date(2024, 3, 19))
        assert last["users"].null_count() == last.height
        im = sb.tim().app_info(progress=False)
        assert im["date"].max() == dt.date(2024, 3, 19) and im.height == 30
        assert sb.today == dt.date(2024, 3, 20)


def test_many_apps_each_with_own_credentials_and_data() -> None:
    with aps.Sandbox(apps=4, today="2024-04-01") as sb:
        mta = sb.apps("mta")
        assert [a["app_id"] for a in mta] == ["500000001", "500000002", "500000003", "500000004"]
        assert len({a["secret_key"] for a in mta}) == 4
        assert len(sb.apps("tim")) == 4 and len(sb.apps("baidu")) == 4
        frames = [
            aps.Mta(app_id=a["app_id"], secret_key=a["secret_key"], base_url=sb.url).user_basic(
                "2024-03-01", "2024-03-07", progress=False
            )
            for a in mta
        ]
        assert len({f["active_users"].sum() for f in frames}) == 4
        # a key works for its own app only
        wrong = aps.Mta(app_id=mta[1]["app_id"], secret_key=mta[0]["secret_key"], base_url=sb.url)
        with pytest.raises(aps.AuthError):
            wrong.user_basic("2024-03-01", "2024-03-02", progress=False)
        # Baidu programs: each its own data, through its own refresh token
        a, b = _program(sb, 0), _program(sb, 2)
        ta = a.user_trend("2024-03-01", "2024-03-07", progress=False)
        tb = b.user_trend("2024-03-01", "2024-03-07", progress=False)
        assert not ta.equals(tb)
        # IM apps: their own numbers
        ims = [sb.tim(i).app_info(fields=["ActiveUserNum"], progress=False) for i in range(2)]
        assert ims[0]["active_user_num"].to_list() != ims[1]["active_user_num"].to_list()
    with aps.Sandbox(apps=4, today="2024-04-01") as again:  # deterministic
        f = aps.Mta(
            app_id=mta[3]["app_id"], secret_key=mta[3]["secret_key"], base_url=again.url
        ).user_basic("2024-03-01", "2024-03-07", progress=False)
        assert f.equals(frames[3])


def test_refresh_tokens_are_single_use() -> None:
    with aps.Sandbox(apps=2) as sb:
        first = _program(sb, 1)
        first.user_trend("2024-03-01", "2024-03-02", progress=False)
        assert first.refresh_token() != sb.apps("baidu")[1]["refresh_token"]
        assert sb.baidu_refreshes() == {sb.apps("baidu")[1]["app_id"]: 1}
        with pytest.raises(aps.AuthError, match="invalid_grant"):
            _program(sb, 1).user_trend("2024-03-01", "2024-03-02", progress=False)
        # the TP's own token reads no program's analysis data
        with pytest.raises(aps.AppStatsError, match="permission"):
            sb.baidu_tp().user_trend("2024-03-01", "2024-03-02", progress=False)


def test_recent_days_are_restated_until_final() -> None:
    t = dt.date(2024, 4, 10)
    fetch = lambda sb: sb.mta().user_basic("2024-03-25", "2024-04-09", progress=False)  # noqa: E731
    with aps.Sandbox(today=t, restate_days=3) as sb:
        early = fetch(sb)
        assert fetch(sb).equals(early)  # same day, same numbers
    with aps.Sandbox(today=t + dt.timedelta(days=5), restate_days=3) as sb:
        final = fetch(sb)
    recent = pl.col("date") >= t - dt.timedelta(days=3)
    old = early.filter(~recent).equals(final.filter(~recent))
    assert old, "days older than restate_days are final"
    e, f = early.filter(recent), final.filter(recent)
    assert (e["active_users"] < f["active_users"]).all(), "provisional numbers are lower"


@pytest.mark.slow
def test_rate_limit_is_per_app() -> None:
    """Two apps at 4 requests/s each against a sandbox limiting 5/s per app:
    nothing is throttled (a limit per provider, 8 > 5, would refuse some)."""
    import concurrent.futures as cf

    with aps.Sandbox(apps=2, rate_limit=5) as sb:
        apps = sb.apps("mta")
        clients = [
            aps.Mta(
                app_id=a["app_id"],
                secret_key=a["secret_key"],
                base_url=sb.url,
                rate_limit=4,
                concurrency=4,
                backoff=0.01,
            )
            for a in apps
        ]

        def eight(c: aps.Mta) -> int:
            return sum(c.crash("2024-03-01", "2024-03-02", progress=False).height for _ in range(8))

        with cf.ThreadPoolExecutor(2) as ex:
            assert list(ex.map(eight, clients)) == [16, 16]
        assert sb.requests_per_app("mta") == {a["app_id"]: 8 for a in apps}, "no retries"
        for a in apps:
            assert sb.max_per_second("mta", app=a["app_id"]) <= 5
        assert sb.max_per_second("mta") > 5  # both apps together
