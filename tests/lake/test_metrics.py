"""`aps.metrics`: the catalog, the long frame's rules (retention offsets and
cohorts, weeks and months, percents, distinct counts), every value traced
back to the report tables, and the lake's `metrics` table kept by sync
(a rerun changes nothing; a restated day changes exactly its rows).

Against the many-app sandbox over HTTP, and the vendor documents' samples
in tests/fixtures."""

from __future__ import annotations

import datetime as dt
import pathlib
import random
import shutil
from typing import Any

import polars as pl
import pytest

import appstats as aps
from appstats.errors import InvalidArgument
from appstats.metrics import _catalog, _model
from appstats.sync import DeltaStore, sandbox_config
from tests.helpers import FIXTURES

pytest.importorskip("deltalake")

TODAY = dt.date(2024, 4, 1)
ALL = [
    "baidu.user_trend",
    "baidu.activity_user",
    "baidu.retention_day",
    "baidu.retention_week",
    "baidu.retention_month",
    "mta.user_basic",
    "mta.active_users",
    "mta.usage",
    "mta.crash",
    "mta.retention",
    "tim.app_info",
]
REQUIRED = [
    "active_users",
    "active_users_7d",
    "active_users_30d",
    "new_users",
    "total_users",
    "sessions",
    "session_duration_avg_s",
    "duration_per_user_s",
    "pages_per_session",
    "retained_users",
    "retention_rate",
    "lost_users",
    "crashes",
    "crash_users",
    "messages_sent",
    "messages_delivered",
    "message_senders",
    "peak_online_users",
    "logins",
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """One sync of every metric source of one app per provider, March 2024."""
    root = tmp_path_factory.mktemp("metrics") / "lake"
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(sb, root, start="2024-03-01", reports=ALL)
        s = aps.sync(cfg, today=TODAY, progress=False)
    assert set(s["status"]) <= {"ok", "gap"}, s.filter(pl.col("status") != "ok")
    return root


def _table(lake: pathlib.Path, name: str) -> pl.DataFrame:
    return pl.read_delta(str(lake / name))


def _metrics(lake: pathlib.Path) -> pl.DataFrame:
    df = _table(lake, "metrics").drop("month")
    return df.sort(df.columns, nulls_last=False)


# -- the catalog ---------------------------------------------------------------


def test_catalog_rows_and_sources(lake: pathlib.Path) -> None:
    cat = aps.metrics.CATALOG
    assert set(REQUIRED) <= set(cat["metric"]) and cat["metric"].is_unique().all()
    assert set(cat["unit"]) <= {"users", "sessions", "seconds", "fraction", "messages", "count"}
    assert set(cat["additivity"]) <= {"additive", "semi", "non_additive"}
    for grains in cat["grain"]:
        assert grains[0] == "day" and set(grains) <= {"day", "week", "month"}
    # every source names a real column of the report's table
    for row in cat.iter_rows(named=True):
        for provider in ("baidu", "mta", "tim"):
            src = row[provider]
            if src is None:
                continue
            report, column = src.split(" ", 1)[0].split(".", 1)
            report = report.split("/", 1)[0]
            if (provider, report) == ("baidu", "retention"):
                report = "retention_day"
            table = f"{provider}_{report}"
            assert column in _table(lake, table).columns, (row["metric"], src)
    # every column the model reads is in the catalog, under its metric
    for table, cols in _catalog.DAILY.items():
        provider, report = table.split("_", 1)
        for c in cols:
            src = cat.filter(metric=c.metric)[provider].item()
            assert src.startswith(f"{report}.{c.column}"), (table, c)
    # no metric maps Baidu's source.new_user_count (first launch within 90 days)
    assert not cat.filter(pl.col("baidu").str.starts_with("source.")).height
    ids = dict(zip(cat["metric"], cat["mta_id"], strict=True))
    assert ids["new_users"] == "10101" and ids["active_users"] == "10102"
    im = dict(zip(cat["metric"], cat["tim_field"], strict=True))
    assert im["message_senders"] == "SendMsgUserNum" and im["messages_sent"] == "UpMsgNum"


def test_schema_key_units_and_grains(lake: pathlib.Path) -> None:
    df = aps.metrics.read(lake, grain=None).collect()
    assert df.schema == pl.Schema(_model.SCHEMA)
    assert df.select(_model.KEY).is_unique().all()
    assert df.height == _table(lake, "metrics").height
    cat = aps.metrics.CATALOG
    units = dict(zip(cat["metric"], cat["unit"], strict=True))
    grains = dict(zip(cat["metric"], cat["grain"], strict=True))
    for metric, grain, unit in df.select("metric", "grain", "unit").unique().iter_rows():
        assert unit == units[metric] and grain in grains[metric], (metric, grain)
    assert df["value"].is_nan().sum() == 0 and df["value"].null_count() == 0
    # day_offset and cohort belong to retention only
    ret = df["metric"].is_in(["retained_users", "retention_rate"])
    assert df.filter(ret)["day_offset"].null_count() == 0
    assert df.filter(~ret)["day_offset"].null_count() == df.filter(~ret).height
    assert set(df.filter(pl.col("cohort").is_not_null())["metric"]) == {
        "retained_users",
        "retention_rate",
        "cohort_users",
    }
    assert set(df["provider"]) == {"baidu", "mta", "tim"}


# -- retention -----------------------------------------------------------------


def test_retention_day_offset_and_cohorts(lake: pathlib.Path) -> None:
    m = aps.metrics.read(lake, metrics=["retained_users", "retention_rate", "cohort_users"])
    m = m.collect()
    bd = _table(lake, "baidu_retention_day")
    mta = _table(lake, "mta_retention")
    day = dt.date(2024, 3, 5)

    def one(provider: str, metric: str, offset: int | None) -> pl.DataFrame:
        return m.filter(
            (pl.col("provider") == provider)
            & (pl.col("metric") == metric)
            & (pl.col("date") == day)
            & (pl.col("day_offset") == offset if offset is not None else pl.lit(True))
        )

    b2 = bd.filter((pl.col("cohort_date") == day) & (pl.col("period") == 2)).row(0, named=True)
    m1 = mta.filter((pl.col("cohort_date") == day) & (pl.col("period") == 1)).row(0, named=True)
    # Baidu's 第2天 and MTA's D1 are the same day after the cohort: day_offset 1
    assert one("baidu", "retained_users", 1)["value"].item() == b2["users"]
    assert one("mta", "retained_users", 1)["value"].item() == m1["users"]
    assert one("baidu", "retention_rate", 1)["value"].item() == b2["users"] / b2["cohort_size"]
    assert one("mta", "retention_rate", 1)["value"].item() == m1["users"] / m1["cohort_size"]
    # the cohorts: Baidu's active users of the day, MTA's new users
    assert set(m.filter(provider="baidu")["cohort"]) == {"active"}
    assert set(m.filter(provider="mta")["cohort"]) == {"new"}
    trend = _table(lake, "baidu_user_trend").filter(date=day)
    basic = _table(lake, "mta_user_basic").filter(date=day)
    assert one("baidu", "cohort_users", None)["value"].item() == trend["user_count"].item()
    assert one("mta", "cohort_users", None)["value"].item() == basic["new_users"].item()
    # the common axis: MTA's offsets 1-7, 14, 30; Baidu's 1..29
    offsets = (
        m.filter(metric="retained_users").group_by("provider").agg(pl.col("day_offset").unique())
    )
    got = {p: set(o) for p, o in offsets.iter_rows()}
    assert got["mta"] <= {1, 2, 3, 4, 5, 6, 7, 14, 30} and 1 in got["mta"]
    assert min(got["baidu"]) == 1 and max(got["baidu"]) <= 29


def test_retention_of_the_documents_samples() -> None:
    text = (FIXTURES / "baidu/getanalysisretaineduser.day.json").read_text(encoding="utf-8")
    bd = aps.metrics.from_frame("baidu", "retention", aps.baidu.parse("retention", text), app="b")
    first = bd.filter(metric="retention_rate", date=dt.date(2019, 4, 10), day_offset=1)
    assert first["value"].item() == 21 / 930 and first["cohort"].item() == "active"  # 第2天: 21
    text = (FIXTURES / "mta/retention.json").read_text(encoding="utf-8")
    frame = aps.mta.parse("retention", text).with_columns(pl.lit(600).alias("cohort_size"))
    mta = aps.metrics.from_frame("mta", "retention", frame, app="m")
    d1 = mta.filter(metric="retained_users", date=dt.date(2024, 3, 1), day_offset=1)
    assert d1["value"].item() == 60 and d1["cohort"].item() == "new"  # D1RepeatUser: 60
    assert mta.filter(metric="retained_users", date=dt.date(2024, 3, 1))[
        "day_offset"
    ].to_list() == [
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        14,
    ]  # D30 is "-": no row
    # weeks: 第2周 is 7 days after the cohort week's Monday; the cohort is the
    # week's active users (7967 = the week's weekly_user_count on its Sunday)
    text = (FIXTURES / "baidu/getanalysisretaineduser.week.json").read_text(encoding="utf-8")
    frame = aps.baidu.parse("retention", text, gran="week")
    wk = aps.metrics.from_frame("baidu", "retention_week", frame, app="b")
    assert wk.filter(metric="cohort_users", date=dt.date(2019, 4, 8))["value"].item() == 7967
    assert wk.filter(metric="retained_users", date=dt.date(2019, 4, 8), day_offset=7)[
        "value"
    ].item() == (764)
    text = (FIXTURES / "baidu/getanalysisactivityuser.json").read_text(encoding="utf-8")
    act = aps.metrics.from_frame(
        "baidu", "activity_user", aps.baidu.parse("activity_user", text), app="b"
    )
    assert act.filter(metric="active_users_7d", date=dt.date(2019, 4, 14))["value"].item() == 7967


def test_week_and_month_cohorts_are_baidus_own(lake: pathlib.Path) -> None:
    wk = aps.metrics.read(lake, grain="week", metrics=["retained_users", "cohort_users"]).collect()
    src = _table(lake, "baidu_retention_week")
    assert set(wk["provider"]) == {"baidu"}  # MTA has daily cohorts only
    assert all(d.weekday() == 0 for d in wk["date"])
    row = wk.filter(metric="retained_users").row(0, named=True)
    n = row["day_offset"] // 7 + 1
    hit = src.filter((pl.col("cohort_date") == row["date"]) & (pl.col("period") == n))
    assert row["day_offset"] % 7 == 0 and hit["users"].item() == row["value"]
    mo = aps.metrics.read(lake, grain="month", metrics=["active_users", "retained_users"])
    mo = mo.collect()
    month = _table(lake, "baidu_retention_month").filter(cohort_date=dt.date(2024, 3, 1))
    assert (
        mo.filter(metric="active_users", provider="baidu")["value"].to_list()
        == month["cohort_size"].unique().to_list()
    )


# -- weeks and months ------------------------------------------------------------


def test_weeks_sum_additive_metrics_and_never_daily_actives(lake: pathlib.Path) -> None:
    m = aps.metrics.read(lake, grain="week").collect()
    days = aps.metrics.read(lake).collect()
    week = dt.date(2024, 3, 11)
    sunday = week + dt.timedelta(days=6)
    in_week = pl.col("date").is_between(week, sunday)
    for provider, metric in [
        ("baidu", "new_users"),
        ("baidu", "sessions"),
        ("mta", "new_users"),
        ("mta", "sessions"),
        ("mta", "crashes"),
        ("tim", "messages_sent"),
        ("tim", "logins"),
    ]:
        got = m.filter(provider=provider, metric=metric, date=week)["value"].item()
        daily = days.filter(
            in_week & (pl.col("provider") == provider) & (pl.col("metric") == metric)
        )
        assert daily.height == 7 and got == daily["value"].sum(), (provider, metric)
    # active users of a week: the provider's 7-day number on the Sunday
    act = _table(lake, "baidu_activity_user").filter(date=sunday)["weekly_user_count"].item()
    wau = _table(lake, "mta_active_users").filter(date=sunday)["weekly_active_users"].item()
    assert m.filter(provider="baidu", metric="active_users", date=week)["value"].item() == act
    assert m.filter(provider="mta", metric="active_users", date=week)["value"].item() == wau
    for provider in ("baidu", "mta"):
        daily = days.filter(
            in_week & (pl.col("provider") == provider) & (pl.col("metric") == "active_users")
        )["value"].sum()
        got = m.filter(provider=provider, metric="active_users", date=week)["value"].item()
        assert got < daily  # distinct users, never the sum of daily actives
    # stocks: the week's last day
    total = _table(lake, "mta_user_basic").filter(date=sunday)["total_users"].item()
    assert m.filter(provider="mta", metric="total_users", date=week)["value"].item() == total
    # non-additive metrics without a weekly number of the provider: absent
    absent = ["message_senders", "crash_users", "peak_online_users", "session_duration_avg_s"]
    assert m.filter(pl.col("metric").is_in(absent)).is_empty()
    assert m.filter(provider="tim", metric="active_users").is_empty()  # IM has no WAU
    # weeks start on Monday; partial weeks (March 1st is a Friday; IM's
    # history starts on 2 March) are not emitted
    assert all(d.weekday() == 0 for d in m["date"])
    daily_weeks = m.filter(pl.col("cohort").is_null())
    assert daily_weeks["date"].min() == dt.date(2024, 3, 4)
    assert daily_weeks["date"].max() == dt.date(2024, 3, 25)


def test_months_need_every_day(lake: pathlib.Path) -> None:
    m = aps.metrics.read(lake, grain="month").collect()
    assert set(m["date"]) == {dt.date(2024, 3, 1)}
    new = _table(lake, "mta_user_basic")["new_users"].sum()
    assert m.filter(provider="mta", metric="new_users")["value"].item() == new
    # IM serves 30 days: 2-31 March is not a whole month
    assert m.filter(provider="tim").is_empty()
    # MTA publishes no calendar-month actives (MonthUv is 30 days): absent
    assert m.filter(provider="mta", metric="active_users").is_empty()
    # cut a day out: the month and its week disappear, the other weeks stay
    frame = _table(lake, "mta_user_basic").filter(pl.col("date") != dt.date(2024, 3, 13))
    out = aps.metrics.from_frame("mta", "user_basic", frame)
    sums = out.filter(metric="new_users", grain="week")["date"].to_list()
    assert dt.date(2024, 3, 11) not in sums and dt.date(2024, 3, 18) in sums
    assert out.filter(grain="month", metric="new_users").is_empty()
    assert out.filter(grain="month", metric="total_users").is_empty()


# -- units and distinct counts --------------------------------------------------------


def test_percents_become_fractions(lake: pathlib.Path) -> None:
    m = aps.metrics.read(lake, grain=None).collect()
    fractions = m.filter(unit="fraction")
    assert fractions.height and fractions["value"].is_between(0, 1).all()
    trend = _table(lake, "baidu_user_trend").filter(date=dt.date(2024, 3, 7))
    share = m.filter(metric="new_user_share", date=dt.date(2024, 3, 7))["value"].item()
    assert share == trend["new_user_ratio"].item() / 100
    # the document's sample: 78.02 % new users on 15 April 2019
    text = (FIXTURES / "baidu/getanalysisusertrend.json").read_text(encoding="utf-8")
    seed = aps.metrics.from_frame(
        "baidu", "user_trend", aps.baidu.parse("user_trend", text), app="b"
    )
    assert seed.filter(metric="new_user_share", date=dt.date(2019, 4, 15))["value"].item() == (
        pytest.approx(0.7802)
    )


def test_im_distinct_counts_are_never_summed() -> None:
    text = (FIXTURES / "tim/getappinfo_all.json").read_text(encoding="utf-8")
    frame = aps.tim.parse(text)
    row = frame.row(0, named=True)
    assert (
        row["send_msg_user_num"] != row["c2c_send_msg_user_num"] + row["group_send_msg_user_num"]
    )  # 19 != 9 + 12
    m = aps.metrics.from_frame("tim", "app_info", frame, app="chat")
    senders = m.filter(metric="message_senders", date=row["date"])["value"].item()
    assert senders == row["send_msg_user_num"] == 19
    assert m.filter(metric="messages_sent")["value"].item() == row["up_msg_num"]
    # a whole week of the same days: messages summed, senders absent
    week = pl.concat(
        [
            frame.with_columns(pl.lit(dt.date(2024, 3, 4) + dt.timedelta(days=i)).alias("date"))
            for i in range(7)
        ]
    )
    w = aps.metrics.from_frame("tim", "app_info", week, app="chat", grain="week")
    assert w.filter(metric="messages_sent")["value"].item() == 7 * row["up_msg_num"]
    assert w.filter(metric="message_senders").is_empty()


# -- traceability ------------------------------------------------------------------------


def _trace(lake: pathlib.Path, row: dict[str, Any]) -> float:
    """The metric's value found again in the report tables, by the catalog's
    rules (independently of the model's code)."""
    provider, metric, grain, date = row["provider"], row["metric"], row["grain"], row["date"]
    app, offset = row["app"], row["day_offset"]

    def table(report: str) -> pl.DataFrame:
        return _table(lake, f"{provider}_{report}").filter(app=app)

    if metric in ("retained_users", "retention_rate", "cohort_users") or (
        grain == "month" and metric == "active_users"
    ):
        report = "retention" if provider == "mta" else f"retention_{grain}"
        t = table(report).filter(cohort_date=date)
        if metric in ("cohort_users", "active_users"):
            return float(t["cohort_size"][0])
        if provider == "mta":
            period = offset
        elif grain == "day":
            period = offset + 1
        elif grain == "week":
            period = offset // 7 + 1
        else:
            months = [(date.month - 1 + k) % 12 + 1 for k in range(12)]
            period = next(
                k + 1
                for k, mo in enumerate(months)
                if (dt.date(date.year + (date.month - 1 + k) // 12, mo, 1) - date).days == offset
            )
        r = t.filter(period=period).row(0, named=True)
        return float(r["users"]) if metric == "retained_users" else r["users"] / r["cohort_size"]
    sources = {
        (c.metric, t.split("_", 1)[0]): (t.split("_", 1)[1], c)
        for t, cols in _catalog.DAILY.items()
        for c in cols
    }
    if grain == "week" and metric == "active_users":
        report, col = sources[("active_users_7d", provider)]
        sunday = date + dt.timedelta(days=6)
        return float(table(report).filter(date=sunday)[col.column].item())
    report, col = sources[(metric, provider)]
    t = table(report)
    if grain == "day":
        v = t.filter(date=date)[col.column].item()
        return v / 100 if col.percent else float(v)
    # weeks and months: summed, or the last day's value
    end = (
        date + dt.timedelta(days=6)
        if grain == "week"
        else t.filter(pl.col("date").dt.month_start() == date)["date"].max()
    )
    days = t.filter(pl.col("date").is_between(date, end))
    assert days.height == (end - date).days + 1
    if _catalog.BY_NAME[metric].additivity == "additive":
        return float(days[col.column].sum())
    last = days.filter(date=end)[col.column].item()
    return last / 100 if col.percent else float(last)


def test_random_rows_trace_back_to_the_report_tables(lake: pathlib.Path) -> None:
    m = _table(lake, "metrics")
    rng = random.Random(23)
    picks = rng.sample(range(m.height), 60)
    # and at least one row of every (provider, metric, grain)
    firsts = m.with_row_index().group_by("provider", "metric", "grain").agg(pl.col("index").first())
    for i in sorted({*picks, *firsts["index"]}):
        row = m.row(i, named=True)
        assert _trace(lake, row) == pytest.approx(row["value"], rel=1e-12), row


# -- the lake table: reruns, restated days, old lakes ---------------------------------------


def test_rerun_is_identical_and_a_restated_day_changes_exactly_its_rows(
    tmp_path: pathlib.Path,
) -> None:
    root = tmp_path / "lake"
    # the sandbox restates its last 3 days; a later sandbox serves them final
    reports = ["mta.user_basic", "mta.retention", "tim.app_info"]
    with aps.Sandbox(apps=1, today=TODAY, restate_days=3) as sb:
        cfg = sandbox_config(sb, root, start="2024-03-18", reports=reports)
        aps.sync(cfg, today=TODAY, progress=False)
        before = _metrics(root)
        aps.sync(cfg, today=TODAY, progress=False)
        assert _metrics(root).equals(before)  # a rerun changes nothing
    sources = {"mta_user_basic": "date", "mta_retention": "cohort_date", "tim_app_info": "date"}
    src_before = {t: _table(root, t).drop("fetched_at") for t in sources}
    later = TODAY + dt.timedelta(days=2)
    with aps.Sandbox(apps=1, today=later, restate_days=3) as sb:
        cfg = sandbox_config(sb, root, start="2024-03-18", reports=reports)
        aps.sync(cfg, today=later, progress=False)
    after = _metrics(root)
    # the incremental update equals the table computed from scratch
    rebuilt = aps.metrics._lake.compute_lake(DeltaStore(str(root)))
    assert after.equals(rebuilt.sort(after.columns, nulls_last=False))
    # the source days that changed: the 3 restated days, and retention
    # cohorts whose later days came in (within their horizon)
    changed: set[tuple[str, dt.date]] = set()
    for t, day in sources.items():
        new = _table(root, t).drop("fetched_at")
        diff = new.join(src_before[t], on=new.columns, how="anti", nulls_equal=True)
        days = set(diff.filter(pl.col(day) < TODAY).select("app", day).iter_rows())
        if t != "mta_retention":
            assert {d for _, d in days} == {dt.date(2024, 3, d) for d in (29, 30, 31)}
        changed |= days
    key = [*_model.KEY, "value"]
    gone = before.join(after, on=key, how="anti", nulls_equal=True)  # changed or removed
    added = after.join(before, on=key, how="anti", nulls_equal=True)

    def from_changed(r: dict[str, Any]) -> bool:
        if r["grain"] == "day":
            return (r["app"], r["date"]) in changed
        span = 6 if r["grain"] == "week" else 30
        end = r["date"] + dt.timedelta(days=span)
        return any(a == r["app"] and r["date"] <= d <= end for a, d in changed)

    # every changed row is computed from a restated day (its week's, its cohort's) ...
    assert gone.height
    for r in gone.iter_rows(named=True):
        assert from_changed(r), r
    for r in added.filter(pl.col("date") < TODAY).iter_rows(named=True):
        assert from_changed(r), r
    # ... and the rows of each changed (app, day) changed with it
    for app, d in changed:
        hit = pl.concat([gone, added]).filter(app=app, date=d, grain="day")
        assert hit.height, (app, d)
    assert gone.filter(grain="week", date=dt.date(2024, 3, 25)).height
    # the other rows are the same rows
    same = before.join(gone, on=key, how="anti", nulls_equal=True)
    assert same.height == before.height - gone.height
    assert same.join(after, on=key, how="anti", nulls_equal=True).is_empty()


def test_a_lake_without_the_table_is_computed_then_built(tmp_path: pathlib.Path) -> None:
    root = tmp_path / "lake"
    with aps.Sandbox(apps=1, today=TODAY) as sb:
        cfg = sandbox_config(
            sb, root, start="2024-03-25", reports=["mta.user_basic", "tim.app_info"]
        )
        aps.sync(cfg, today=TODAY, progress=False)
        built = _metrics(root)
        shutil.rmtree(root / "metrics")  # a lake an older version synced
        computed = aps.metrics.read(root, grain=None).collect()
        assert computed.sort(computed.columns, nulls_last=False).equals(built)
        aps.sync(cfg, today=TODAY, progress=False)  # builds it whole, not just the lag window
    assert _metrics(root).equals(built)
    assert aps.metrics.rebuild(root) == built.height
    assert _metrics(root).equals(built)


# -- the API --------------------------------------------------------------------------------


def test_read_filters_outputs_and_errors(lake: pathlib.Path) -> None:
    lf = aps.metrics.read(
        lake, apps="mta1", metrics=["new_users"], start="2024-03-10", end="2024-03-12"
    )
    assert isinstance(lf, pl.LazyFrame)
    df = lf.collect()
    assert df["date"].to_list() == [dt.date(2024, 3, d) for d in (10, 11, 12)]
    assert set(df["app"]) == {"mta1"} and set(df["grain"]) == {"day"}
    # a week the range cuts is not returned
    weeks = aps.metrics.read(lake, metrics="sessions", grain="week", end="2024-03-30").collect()
    assert weeks["date"].max() == dt.date(2024, 3, 18)
    weeks = aps.metrics.read(lake, metrics="sessions", grain="week", start="2024-03-05").collect()
    assert weeks["date"].min() == dt.date(2024, 3, 11)
    pdf = aps.metrics.read(lake, metrics="sessions", output="pandas")
    assert list(pdf.columns) == list(_model.SCHEMA) and len(pdf) > 0
    assert aps.metrics.read(lake, metrics="sessions", output="arrow").num_rows == len(pdf)
    with pytest.raises(InvalidArgument, match="grain"):
        aps.metrics.read(lake, grain="year")
    with pytest.raises(InvalidArgument, match="unknown metrics 'dau'"):
        aps.metrics.read(lake, metrics=["dau"])
    with pytest.raises(InvalidArgument, match="start"):
        aps.metrics.read(lake, start="March")
    with pytest.raises(InvalidArgument, match="no metrics; valid values"):
        aps.metrics.from_frame("baidu", "region", pl.DataFrame({"date": []}), app="x")
    with pytest.raises(InvalidArgument, match="app is required"):
        aps.metrics.from_frame("mta", "user_basic", pl.DataFrame({"date": [TODAY]}))


def test_from_frame_gives_the_lakes_rows(lake: pathlib.Path) -> None:
    """A frame a client fetched (the lake holds the client's frames, see
    test_parity) gives the rows the lake's table has for its metrics."""
    lakes = aps.metrics.read(lake, apps="mta1", grain=None).collect()
    for report in ("user_basic", "usage", "crash", "retention", "active_users"):
        frame = _table(lake, f"mta_{report}").drop("app", "app_id", "fetched_at", "month")
        mine = aps.metrics.from_frame("mta", report, frame, app="mta1", app_id="500000001")
        assert mine.height
        theirs = lakes.join(
            mine.select(_model.KEY), on=list(_model.KEY), how="semi", nulls_equal=True
        )
        assert mine.sort(mine.columns, nulls_last=False).equals(
            theirs.sort(theirs.columns, nulls_last=False)
        ), report


def test_compare_apps_side_by_side(lake: pathlib.Path) -> None:
    c = aps.metrics.compare(lake, days=7)
    assert c["app"].to_list() == ["program1", "mta1", "im1"] or set(c["app"]) == {
        "program1",
        "mta1",
        "im1",
    }
    assert set(c["to"]) == {dt.date(2024, 3, 31)} and set(c["from"]) == {dt.date(2024, 3, 25)}
    row = c.filter(app="mta1").row(0, named=True)
    ub = _table(lake, "mta_user_basic").filter(pl.col("date") >= dt.date(2024, 3, 25))
    assert row["dau"] == pytest.approx(ub["active_users"].mean())
    ret = (
        _table(lake, "mta_retention")
        .filter((pl.col("cohort_date") >= dt.date(2024, 3, 25)) & (pl.col("period") == 1))
        .drop_nulls("users")
    )
    assert row["day1_retention"] == pytest.approx(ret["users"].sum() / ret["cohort_size"].sum())
    assert row["cohort"] == "new" and c.filter(app="program1")["cohort"].item() == "active"
    assert c.filter(app="im1")["day1_retention"].item() is None


def test_the_docs_state_every_metric_and_source() -> None:
    doc = (pathlib.Path(__file__).parents[2] / "docs/metrics.md").read_text(encoding="utf-8")
    for row in aps.metrics.CATALOG.iter_rows(named=True):
        assert f"`{row['metric']}`" in doc, row["metric"]
        for provider in ("baidu", "mta", "tim"):
            if row[provider]:
                assert row[provider].replace("|", "\\|") in doc, (row["metric"], provider)
