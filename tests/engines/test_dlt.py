"""appstats.dlt against the sandbox, into dlt's embedded DuckDB destination."""

from __future__ import annotations

import datetime as _dt
import os
import pathlib
from typing import Any

import polars as pl
import pytest

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
dlt = pytest.importorskip("dlt")
duckdb = pytest.importorskip("duckdb")

import appstats as aps  # noqa: E402
import appstats.dlt as adlt  # noqa: E402
from appstats.sync import REPORTS, SyncConfig  # noqa: E402

pytestmark = pytest.mark.slow  # dlt pipelines into DuckDB (make test-fast leaves it out)

T1 = _dt.date(2024, 4, 1)
START = "2024-03-22"
REPS = ["mta.user_basic", "mta.retention", "baidu.region", "baidu.source", "tim.app_info"]


def config(sb: aps.Sandbox, d: pathlib.Path, **kw: Any) -> SyncConfig:
    """Two apps per provider; the token store is per sandbox (each has its
    own chains of single-use refresh tokens), shared by the pipelines."""
    kw.setdefault("reports", REPS)
    kw.setdefault("start", START)
    return aps.sync.sandbox_config(
        sb, d / "lake", apps=2, token_store=d / f"tokens-{sb.today}.json", **kw
    )


def pipeline(d: pathlib.Path, name: str = "p") -> Any:
    return dlt.pipeline(
        name,
        destination=dlt.destinations.duckdb(str(d / f"{name}.duckdb")),
        pipelines_dir=str(d / "dlt"),
        dataset_name="appstats",
    )


def table(p: Any, name: str) -> pl.DataFrame:
    with p.sql_client() as c:
        q = f"SELECT * FROM {c.make_qualified_table_name(name)}"
        df: pl.DataFrame = c.native_connection.sql(q).pl()
    return df.drop([c for c in df.columns if c.startswith("_dlt")])


def same(got: pl.DataFrame, want: pl.DataFrame) -> bool:
    want = want.select(got.columns)
    return got.sort(got.columns).equals(want.sort(got.columns))


def assert_no_duplicates(p: Any, name: str) -> pl.DataFrame:
    df = table(p, name)
    rep = next(r for r in REPORTS.values() if r.table == name)
    key = adlt.primary_key(rep) or [c for c in df.columns if c != "app_id"]
    assert not df.select(key).is_duplicated().any(), name
    return df


def test_twice_no_duplicates_and_the_lag_window_refetched(tmp_path: pathlib.Path) -> None:
    with aps.Sandbox(seed=9, apps=2, today=T1, restate_days=2) as sb:
        p = pipeline(tmp_path)
        cfg = config(sb, tmp_path)
        p.run(adlt.appstats_source(cfg, today=T1))
        days = (T1 - _dt.date.fromisoformat(START)).days  # START .. T1-1
        first = {
            t: assert_no_duplicates(p, t)
            for t in (
                "mta_user_basic",
                "mta_retention",
                "baidu_region",
                "baidu_source",
                "tim_app_info",
            )
        }
        assert first["mta_user_basic"].group_by("app").len().sort("app").rows() == [
            ("mta1", days),
            ("mta2", days),
        ]
        assert first["baidu_region"]["date"].n_unique() == days
        n = sb.request_count()
        # the same day again: only the lag window (3 days; retention: its horizon)
        p.run(adlt.appstats_source(cfg, today=T1))
        again = sb.request_count() - n
        for t, df in first.items():
            assert same(table(p, t), df), t
        # per-day region: 2 programs × 3 days × 2 pages; user_basic: 1 per app
        assert 2 * 3 * 2 + 2 < again < n / 2
        state = p.state["sources"]["appstats"]["resources"]["mta_user_basic"]["apps"]
        assert state == {
            "mta1": {"": str(T1 - _dt.timedelta(days=1))},
            "mta2": {"": str(T1 - _dt.timedelta(days=1))},
        }

    # Two days later the provider has restated the provisional days: the
    # incremental load (lag 3) must end equal to a fresh full load.
    t2 = T1 + _dt.timedelta(days=2)
    with aps.Sandbox(seed=9, apps=2, today=t2, restate_days=2) as sb2:
        cfg2 = config(sb2, tmp_path)
        p.run(adlt.appstats_source(cfg2, today=t2))
        fresh = pipeline(tmp_path, "fresh")
        fresh.run(adlt.appstats_source(cfg2, today=t2))
        for t in first:
            got, want = assert_no_duplicates(p, t), table(fresh, t)
            assert same(got, want), t
        # the restated days did change (what makes the lag necessary)
        day = T1 - _dt.timedelta(days=1)
        old = first["mta_user_basic"].filter(pl.col("date") == day)
        new = table(p, "mta_user_basic").filter(pl.col("date") == day)
        assert not old.sort("app").equals(new.sort("app"))


def test_without_lag_restated_days_stay_stale(tmp_path: pathlib.Path) -> None:
    with aps.Sandbox(seed=9, apps=2, today=T1, restate_days=2) as sb:
        p = pipeline(tmp_path)
        p.run(
            adlt.appstats_source(
                config(sb, tmp_path, reports=["mta.user_basic"]), today=T1, lag_days=0
            )
        )
    t2 = T1 + _dt.timedelta(days=2)
    with aps.Sandbox(seed=9, apps=2, today=t2, restate_days=2) as sb2:
        p.run(
            adlt.appstats_source(
                config(sb2, tmp_path, reports=["mta.user_basic"]), today=t2, lag_days=0
            )
        )
        fresh = pipeline(tmp_path, "fresh")
        fresh.run(adlt.appstats_source(config(sb2, tmp_path, reports=["mta.user_basic"]), today=t2))
    got, want = table(p, "mta_user_basic"), table(fresh, "mta_user_basic")
    assert got.height == want.height
    assert not got.sort("app", "date").equals(want.sort("app", "date"))


def test_resources_keys_and_arrow(tmp_path: pathlib.Path) -> None:
    with aps.Sandbox(apps=1, today=T1) as sb:
        src = adlt.appstats_source(config(sb, tmp_path, reports=["mta.*"]), today=T1)
        names = sorted(src.resources)
        assert names == sorted(r.table for r in REPORTS.values() if r.provider == "mta")
        res = src.resources["mta_crash_env"]
        assert res.write_disposition == "merge"
        hints = res.compute_table_schema()
        cols = hints["columns"]
        assert [c for c in cols if cols[c].get("primary_key")] == [
            "app",
            "dimension",
            "date",
            "value",
        ]
        assert [c for c in cols if cols[c].get("merge_key")] == ["app", "dimension", "date"]
        only = src.with_resources("mta_crash_env")
        items = list(only)  # extraction outside a pipeline: Arrow tables
        import pyarrow as pa

        assert items and all(isinstance(i, pa.Table) for i in items)
        assert items[0].column_names[:4] == ["app", "app_id", "date", "dimension"]


def test_bad_keys_raise_instead_of_deduplicating() -> None:
    from appstats.sync.config import AppConfig

    rep = REPORTS["baidu.region"]
    app = AppConfig("shop", "baidu", "17", _dt.date(2024, 3, 1), 3, (rep,), {})
    df = pl.DataFrame({"date": [T1, T1], "region": ["北京", "北京"], "n": [1, 2]})
    with pytest.raises(aps.MalformedResponse, match="several rows for the key"):
        adlt._table(app, rep, None, T1, T1, df)
    with pytest.raises(aps.MalformedResponse, match="rows without region"):
        adlt._table(
            app, rep, None, T1, T1, df.with_columns(pl.lit(None, pl.String).alias("region"))
        )


def test_on_error_skip_and_raise(tmp_path: pathlib.Path) -> None:
    with aps.Sandbox(seed=4, apps=2, today=T1) as sb:
        cfg = config(
            sb,
            tmp_path,
            providers=["mta", "tim"],
            reports=["mta.user_basic", "tim.app_info"],
            start="2024-02-01",
        )
        good = cfg.apps[0].credentials["secret_key"]
        cfg.apps[1].credentials["secret_key"] = "revoked-key-0000"
        p = pipeline(tmp_path)
        with pytest.raises(Exception) as ei:
            p.run(adlt.appstats_source(cfg, today=T1))
        err = ei.value.__cause__ or ei.value
        while not isinstance(err, aps.AppStatsError) and err.__cause__ is not None:
            err = err.__cause__
        assert isinstance(err, aps.AuthError), repr(ei.value)
        assert "app 'mta2' (mta 500000002), mta.user_basic, 2024-02-01 – 2024-03-31" in str(err)
        assert "revoked-key-0000" not in str(err)
        with p.sql_client() as c:
            assert not c.has_dataset() or "mta_user_basic" not in p.default_schema.data_tables

        p = pipeline(tmp_path, "skip")
        p.run(adlt.appstats_source(cfg, today=T1, on_error="skip"))
        ub = table(p, "mta_user_basic")
        assert ub["app"].unique().to_list() == ["mta1"] and ub.height == 60
        errors = table(p, adlt.ERRORS_TABLE).sort("app", "report")
        failed = errors.filter(pl.col("status") == "failed")
        assert failed.select("app", "report", "error_class").rows() == [
            ("mta2", "mta.user_basic", "AuthError")
        ]
        # IM serves 30 days: the older days are a gap, recorded, never silent
        gaps = errors.filter(pl.col("status") == "gap")
        assert sorted(gaps["app"]) == ["im1", "im2"]
        assert gaps["window_start"].to_list() == [_dt.date(2024, 2, 1)] * 2
        assert "last 30 days" in gaps["error"][0]
        assert table(p, "tim_app_info").height == 2 * 30
        # the key is restored: the next run fetches mta2 from its start
        cfg.apps[1].credentials["secret_key"] = sb.apps("mta")[1]["secret_key"]
        assert good != cfg.apps[1].credentials["secret_key"]
        p.run(adlt.appstats_source(cfg, today=T1, on_error="skip"))
        ub = table(p, "mta_user_basic")
        assert ub.group_by("app").len().sort("app").rows() == [("mta1", 60), ("mta2", 60)]


def test_a_gap_is_recorded_once_whatever_the_runs(tmp_path: pathlib.Path) -> None:
    """Issue 20: dlt added the same IM gap row again on every run."""
    with aps.Sandbox(apps=2, today=T1) as sb:
        cfg = config(sb, tmp_path, providers=["tim"], reports=["tim.app_info"], start="2024-02-01")
        p = pipeline(tmp_path)
        for _ in range(3):
            p.run(adlt.appstats_source(cfg, today=T1))
        gaps = table(p, adlt.ERRORS_TABLE).filter(pl.col("status") == "gap")
        first, last = _dt.date(2024, 2, 1), T1 - _dt.timedelta(days=31)
        assert gaps.select("app", "window_start", "window_end").sort("app").rows() == [
            ("im1", first, last),
            ("im2", first, last),
        ]
        assert assert_no_duplicates(p, "tim_app_info").height == 2 * 30


def test_bad_arguments() -> None:
    cfg = pathlib.Path("/nonexistent/appstats.toml")
    with pytest.raises(aps.InvalidArgument, match="on_error"):
        adlt.appstats_source(cfg, on_error="ignore")
    with pytest.raises(aps.InvalidArgument, match="lag_days"):
        adlt.appstats_source(cfg, lag_days=-1)
    with pytest.raises(aps.InvalidArgument, match="cannot read the sync config"):
        adlt.appstats_source(cfg)


def test_reports_of_an_app_never_overlap_its_rate_limit(tmp_path: pathlib.Path) -> None:
    # dlt interleaves its resources; each runs one fan-out at a time to its
    # end, so an app's requests of two reports never add up.
    with aps.Sandbox(seed=2, apps=2, today=T1) as sb:
        cfg = config(
            sb,
            tmp_path,
            providers=["mta"],
            reports=["mta.frequency", "mta.error_list"],
            start="2024-03-24",
            rate_limit=10,
        )
        pipeline(tmp_path).run(adlt.appstats_source(cfg, today=T1))
        per_app = sb.requests_per_app("mta")
        assert sorted(per_app.values()) == [16, 16]  # 2 reports × 8 days, one request a day
        for app_id in per_app:
            assert sb.max_per_second("mta", app=app_id) <= 11  # limit 10 (+1: bucket edge)


def test_error_rows_carry_no_report_columns(tmp_path: pathlib.Path) -> None:
    """The errors table is a variant of each report's resource: it gets none
    of the report's column hints (MTA error_list's naive ``first_time``)."""
    with aps.Sandbox(apps=1, today=T1) as sb:
        cfg = config(
            sb, tmp_path, providers=["mta"], reports=["mta.error_list"], start="2024-03-30"
        )
        cfg.apps[0].credentials["secret_key"] = "revoked-key-0000"
        p = pipeline(tmp_path)
        p.run(adlt.appstats_source(cfg, today=T1, on_error="skip"))
    errors = table(p, adlt.ERRORS_TABLE)
    assert errors.columns == adlt._ERROR_SCHEMA.names
    assert errors.select("app", "report", "status").rows() == [("mta1", "mta.error_list", "failed")]


# -- parity with the lake: every report of the catalog ----------------------------------

#: Two apps per provider, three days (a Monday on: week cohorts start there;
#: month cohorts start on the 1st, in the sync and in dlt alike).
PARITY_START, PARITY_END = _dt.date(2024, 3, 25), _dt.date(2024, 3, 27)


@pytest.fixture(scope="module")
def lake_and_pipeline(tmp_path_factory: pytest.TempPathFactory) -> tuple[pathlib.Path, Any]:
    """One sync into a lake and one dlt run into DuckDB, of every report of
    the catalog for the same sandbox apps and days (the same token store)."""
    d = tmp_path_factory.mktemp("dlt-parity")
    with aps.Sandbox(seed=5, apps=2, today=T1) as sb:
        cfg = aps.sync.sandbox_config(sb, d / "lake", apps=2, start=PARITY_START)
        assert {r.key for a in cfg.apps for r in a.reports} == set(REPORTS)
        summary = aps.sync(cfg, today=T1, until=PARITY_END, progress=False)
        assert set(summary["status"]) == {"ok"}, summary.filter(pl.col("status") != "ok")
        p = pipeline(d, "parity")
        p.run(adlt.appstats_source(cfg, today=T1, until=PARITY_END))
    return d / "lake", p


@pytest.mark.parametrize("report", list(REPORTS.values()), ids=list(REPORTS))
def test_every_catalog_report_equals_the_lake(
    lake_and_pipeline: tuple[pathlib.Path, Any], report: Any
) -> None:
    """Issue 21 item 6: the rows dlt loads equal the lake's for the same apps
    and days — the same columns (less the lake's ``fetched_at`` and
    ``month`` and dlt's ``_dlt_*``), the same dtypes as DuckDB gives them
    back, the same values. A report joins this test by being in the catalog."""
    lake, p = lake_and_pipeline
    want = pl.read_delta(str(lake / report.table)).drop("fetched_at", "month")
    got = table(p, report.table)
    assert sorted(got.columns) == sorted(want.columns), report.key
    got = got.select(want.columns)
    # DuckDB hands every dtype back as it was written (naive Datetime
    # included: dlt.column_hints), so no cast is needed to compare
    assert got.schema == want.schema, report.key
    apps = sorted(a for a in want["app"].unique())
    assert len(apps) == 2 and sorted(got["app"].unique()) == apps, report.key
    first = report.align_start(PARITY_START)
    assert want[report.day_column].min() == first, report.key
    assert want[report.day_column].max() <= PARITY_END, report.key
    if report.slices:
        assert sorted(want[report.slices[2]].unique()) == sorted(report.slices[1]), report.key
    assert got.height == want.height > 0, report.key
    assert got.sort(want.columns).equals(want.sort(want.columns)), report.key
