"""aps.scan against the sandbox over real HTTP: each pushdown (predicate,
projection, lake) proven by the requests the sandbox served, and each
result equal to the clients' frames or the lake's rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.server
import pathlib
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator

import polars as pl
import pytest

import appstats as aps
from appstats.sync import SyncConfig

pytest.importorskip("deltalake")

TODAY = "2024-04-01"
D = dt.date


@pytest.fixture(scope="module")
def sb() -> Iterator[aps.Sandbox]:
    with aps.Sandbox(seed=11, apps=3, today=TODAY) as s:
        yield s


@pytest.fixture(scope="module")
def cfg(sb: aps.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> SyncConfig:
    """A lake synced from 2024-03-01 up to yesterday (lag 3: days up to
    2024-03-28 are final)."""
    d = tmp_path_factory.mktemp("scan")
    c = aps.sync.sandbox_config(
        sb,
        d / "lake",
        start="2024-03-01",
        reports=["mta.user_basic", "mta.frequency", "tim.app_info", "baidu.user_trend"],
    )
    summary = aps.sync(c, today=sb.today, progress=False)
    assert set(summary["status"]) <= {"ok", "gap"}
    return c


def no_lake(cfg: SyncConfig, tmp: pathlib.Path) -> SyncConfig:
    return dataclasses.replace(cfg, uri=str(tmp / "empty-lake"))


def sent(sb: aps.Sandbox, provider: str, before: dict[str, int]) -> dict[str, int]:
    now = sb.requests_per_app(provider)
    return {k: v - before.get(k, 0) for k, v in now.items() if v != before.get(k, 0)}


def sorted_frame(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(df.columns)


def mta_client(sb: aps.Sandbox, i: int) -> aps.Mta:
    a = sb.apps("mta")[i]
    return aps.Mta(app_id=a["app_id"], secret_key=a["secret_key"], base_url=sb.url)


# -- predicate pushdown ----------------------------------------------------------------------


def test_one_app_and_seven_days_send_that_apps_requests_for_those_days(
    sb: aps.Sandbox, cfg: SyncConfig, tmp_path: pathlib.Path
) -> None:
    before = sb.requests_per_app("mta")
    # a per-day report: one request per day and app
    got = (
        aps.scan("mta.frequency", no_lake(cfg, tmp_path), today=sb.today, lake=False)
        .filter(pl.col("app") == "mta2")
        .filter(pl.col("date").is_between(D(2024, 3, 5), D(2024, 3, 11)))
        .collect()
    )
    assert sent(sb, "mta", before) == {"500000002": 7}
    client = mta_client(sb, 1)
    want = pl.concat(
        [
            client.frequency(d, d, progress=False).select(pl.lit(d).alias("date"), pl.all())
            for d in (D(2024, 3, 5) + dt.timedelta(days=i) for i in range(7))
        ]
    )
    assert got["app"].unique().to_list() == ["mta2"]
    assert got["app_id"].unique().to_list() == ["500000002"]
    assert sorted_frame(got.drop("app", "app_id")).equals(sorted_frame(want))

    # a daily report over the same week: one request, the client's frame
    before = sb.requests_per_app("mta")
    got = (
        aps.scan("user_basic", no_lake(cfg, tmp_path), today=sb.today, lake=False)
        .filter((pl.col("app_id") == "500000003") & (pl.col("date") >= D(2024, 3, 5)))
        .filter(pl.col("date") < D(2024, 3, 12))
        .collect()
    )
    assert sent(sb, "mta", before) == {"500000003": 1}
    want = mta_client(sb, 2).user_basic("2024-03-05", "2024-03-11", progress=False)
    assert got.drop("app", "app_id").equals(want)


def test_is_in_and_or_of_days_fetch_only_those_days(
    sb: aps.Sandbox, cfg: SyncConfig, tmp_path: pathlib.Path
) -> None:
    before = sb.requests_per_app("mta")
    days = [D(2024, 3, 3), D(2024, 3, 9), D(2024, 3, 20)]
    got = (
        aps.scan("mta.frequency", no_lake(cfg, tmp_path), today=sb.today, lake=False)
        .filter(pl.col("date").is_in(days) & pl.col("app").is_in(["mta1", "mta3"]))
        .collect()
    )
    assert sent(sb, "mta", before) == {"500000001": 3, "500000003": 3}
    assert sorted(got["date"].unique()) == days
    before = sb.requests_per_app("mta")
    got = (
        aps.scan("mta.frequency", no_lake(cfg, tmp_path), today=sb.today, lake=False)
        .filter((pl.col("app") == "mta1") | (pl.col("app") == "mta2"))
        .filter((pl.col("date") == D(2024, 3, 3)) | (pl.col("date") == D(2024, 3, 4)))
        .collect()
    )
    assert sent(sb, "mta", before) == {"500000001": 2, "500000002": 2}
    assert got.height > 0


def test_the_window_ends_yesterday(
    sb: aps.Sandbox, cfg: SyncConfig, tmp_path: pathlib.Path
) -> None:
    before = sb.requests_per_app("mta")
    got = (
        aps.scan("mta.frequency", no_lake(cfg, tmp_path), today=sb.today, lake=False)
        .filter((pl.col("app") == "mta1") & (pl.col("date") >= D(2024, 3, 29)))
        .collect()
    )
    assert sent(sb, "mta", before) == {"500000001": 3}  # 03-29 .. 03-31, nothing from today
    assert got["date"].max() == D(2024, 3, 31)


def test_an_unbounded_scan_without_lake_is_refused_before_any_request(
    sb: aps.Sandbox, cfg: SyncConfig, tmp_path: pathlib.Path
) -> None:
    n = sb.request_count()
    lf = aps.scan("mta.user_basic", no_lake(cfg, tmp_path), today=sb.today, lake=False)
    with pytest.raises(aps.InvalidArgument, match="no lower bound on 'date'"):
        lf.filter(pl.col("app") == "mta1").collect()
    with pytest.raises(aps.InvalidArgument, match="no lower bound"):
        lf.filter(pl.col("date") <= D(2024, 3, 5)).collect()
    # a bound Polars cannot read is no bound either
    with pytest.raises(aps.InvalidArgument, match="no lower bound"):
        lf.filter(pl.col("date").dt.month() == 3).collect()
    assert sb.request_count() == n
    with pytest.raises(aps.InvalidArgument, match="ambiguous"):
        aps.scan("terminal", cfg)
    with pytest.raises(aps.InvalidArgument, match="unknown report"):
        aps.scan("nope", cfg)


def test_filters_polars_cannot_push_still_give_the_right_rows(
    sb: aps.Sandbox, cfg: SyncConfig, tmp_path: pathlib.Path
) -> None:
    lf = aps.scan("mta.user_basic", no_lake(cfg, tmp_path), today=sb.today, lake=False).filter(
        pl.col("date") >= D(2024, 3, 10)
    )
    full = lf.collect()
    cut = full.select((pl.col("new_users") / pl.col("active_users")).median()).item()
    got = (
        lf.with_columns(ratio=pl.col("new_users") / pl.col("active_users"))
        .filter((pl.col("ratio") > cut) & ~(pl.col("app") == "mta1"))
        .filter(pl.col("date").dt.weekday() <= 5)
        .collect()
    )
    want = full.with_columns(ratio=pl.col("new_users") / pl.col("active_users")).filter(
        (pl.col("ratio") > cut) & (pl.col("app") != "mta1") & (pl.col("date").dt.weekday() <= 5)
    )
    assert 0 < got.height < full.height
    assert sorted_frame(got).equals(sorted_frame(want))
    # the streaming engine, a row limit
    assert sorted_frame(lf.collect(engine="streaming")).equals(sorted_frame(full))
    assert lf.head(5).collect().height == 5


# -- projection pushdown ---------------------------------------------------------------------


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A forwarding proxy on 127.0.0.1 that records each request's query."""

    upstream = ""
    queries: list[dict[str, list[str]]] = []

    def do_GET(self) -> None:  # noqa: N802
        self.queries.append(urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query))
        with urllib.request.urlopen(self.upstream + self.path) as r:  # noqa: S310
            body, status = r.read(), r.status
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_select_of_two_mta_metrics_requests_only_those_metric_ids(
    sb: aps.Sandbox, cfg: SyncConfig, tmp_path: pathlib.Path
) -> None:
    handler = type("Rec", (_Recorder,), {"upstream": sb.url, "queries": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        proxy = f"http://127.0.0.1:{server.server_address[1]}"
        apps = tuple(
            dataclasses.replace(a, credentials={**a.credentials, "base_url": proxy})
            for a in cfg.apps
            if a.provider == "mta"
        )
        c = dataclasses.replace(no_lake(cfg, tmp_path), apps=apps)
        got = (
            aps.scan("mta.user_basic", c, today=sb.today, lake=False)
            .filter((pl.col("date") >= D(2024, 3, 20)) & (pl.col("app") == "mta1"))
            .select("date", "new_users", "sessions")
            .collect()
        )
        assert [q["idx"] for q in handler.queries] == [["10101,10103"]]
        want = mta_client(sb, 0).user_basic(
            "2024-03-20", "2024-03-31", metrics=["new_users", "sessions"], progress=False
        )
        assert got.equals(want)
        # every metric without a select
        handler.queries.clear()
        aps.scan("mta.user_basic", c, today=sb.today, lake=False).filter(
            (pl.col("date") >= D(2024, 3, 20)) & (pl.col("app") == "mta1")
        ).collect()
        assert [q["idx"] for q in handler.queries] == [["10101,10102,10103,10104,10105,10106"]]
    finally:
        server.shutdown()


def test_a_select_of_im_fields_equals_the_full_fetch(
    sb: aps.Sandbox, cfg: SyncConfig, tmp_path: pathlib.Path
) -> None:
    lf = aps.scan("tim.app_info", no_lake(cfg, tmp_path), today=sb.today, lake=False).filter(
        pl.col("date") >= D(2024, 3, 20)
    )
    some = lf.select("app", "app_id", "date", "max_online_num").collect()
    full = lf.collect().select(some.columns)
    assert sorted_frame(some).equals(sorted_frame(full))
    assert aps.scan_plan(lf.select("date", "max_online_num")).options == {
        "fields": "max_online_num"
    }


# -- the lake first --------------------------------------------------------------------------


def test_after_a_sync_final_days_come_from_the_lake_and_only_the_rest_is_fetched(
    sb: aps.Sandbox, cfg: SyncConfig
) -> None:
    n = sb.request_count()
    lf = aps.scan("mta.frequency", cfg, today=sb.today)
    old = lf.filter(pl.col("date").is_between(D(2024, 3, 10), D(2024, 3, 20))).collect()
    assert sb.request_count() == n  # all older than the lag: no request
    lake = (
        pl.scan_delta(f"{cfg.uri}/mta_frequency")
        .filter(pl.col("date").is_between(D(2024, 3, 10), D(2024, 3, 20)))
        .drop("fetched_at", "month")
        .collect()
    )
    assert sorted_frame(old).equals(sorted_frame(lake))

    # reaching past the final days: only 03-29 .. 03-31 (the lag) are fetched
    before = sb.requests_per_app("mta")
    recent = lf.filter(pl.col("date") >= D(2024, 3, 20)).collect()
    assert sent(sb, "mta", before) == {a: 3 for a in ("500000001", "500000002", "500000003")}
    fetched = (
        aps.scan("mta.frequency", cfg, today=sb.today, lake=False)
        .filter(pl.col("date") >= D(2024, 3, 20))
        .collect()
    )
    assert sorted_frame(recent).equals(sorted_frame(fetched))

    # fetch=False: the lake only, nothing sent; lag_days=0: the whole lake
    n = sb.request_count()
    only = aps.scan("mta.frequency", cfg, today=sb.today, fetch=False, lag_days=0).collect()
    assert sb.request_count() == n
    assert only["date"].min() == D(2024, 3, 1) and only["date"].max() == D(2024, 3, 31)


def test_scan_plan_shows_lake_days_and_fetch_windows_sending_nothing(
    sb: aps.Sandbox, cfg: SyncConfig
) -> None:
    n = sb.request_count()
    plan = (
        aps.scan("mta.frequency", cfg, today=sb.today)
        .filter((pl.col("app") == "mta1") & (pl.col("date") >= D(2024, 3, 20)))
        .pipe(aps.scan_plan)
    )
    assert sb.request_count() == n
    rows = plan.frame().select("app", "source", "start", "end", "requests").rows()
    assert rows == [
        ("mta1", "lake", D(2024, 3, 20), D(2024, 3, 28), 0),
        ("mta1", "fetch", D(2024, 3, 29), D(2024, 3, 31), 3),
    ]
    assert "mta1" in plan.describe() and "~3 requests" in repr(plan)


def test_im_days_past_its_history_come_from_the_lake_or_are_reported_missing(
    sb: aps.Sandbox, cfg: SyncConfig, tmp_path: pathlib.Path
) -> None:
    # IM serves 2024-03-02 .. 03-31 on 2024-04-01; 03-01 was a gap for the sync too
    with pytest.warns(aps.lazy.MissingDaysWarning, match="im1 2024-02-25 – 2024-03-01"):
        got = (
            aps.scan("tim.app_info", cfg, today=sb.today)
            .filter((pl.col("app") == "im1") & (pl.col("date") >= D(2024, 2, 25)))
            .collect()
        )
    assert got["date"].min() == D(2024, 3, 2) and got.height == 30


def test_write_back_commits_what_was_fetched(
    sb: aps.Sandbox, cfg: SyncConfig, tmp_path: pathlib.Path
) -> None:
    c = no_lake(cfg, tmp_path)
    q = aps.scan("mta.user_basic", c, today=sb.today, write_back=True).filter(
        pl.col("date").is_between(D(2024, 3, 1), D(2024, 3, 20)) & (pl.col("app") == "mta1")
    )
    first = q.collect()
    n = sb.request_count()
    again = aps.scan("mta.user_basic", c, today=sb.today).filter(
        pl.col("date").is_between(D(2024, 3, 1), D(2024, 3, 20)) & (pl.col("app") == "mta1")
    )
    assert sorted_frame(again.collect()).equals(sorted_frame(first))
    assert sb.request_count() == n  # every day older than the lag: from the lake
