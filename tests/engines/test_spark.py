"""appstats.spark against the sandbox: one Spark session (local[2]) for the
module — it takes ~10 s to start, each read about a second after the first."""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import re
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import polars as pl
import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")
if not (os.environ.get("JAVA_HOME") or shutil.which("java")):  # pragma: no cover
    pytest.skip("Spark needs Java (17+)", allow_module_level=True)

import appstats as aps  # noqa: E402
import appstats.spark as aspk  # noqa: E402
from appstats.sync import Task, TokenStore, fetch_many, load_config  # noqa: E402
from appstats.sync.apps import engine_spec  # noqa: E402

pytestmark = pytest.mark.slow  # a JVM, Spark's Python workers (make test-fast leaves it out)

TODAY = "2024-04-01"
S, E = "2024-03-05", "2024-03-11"


@pytest.fixture(scope="module")
def sb() -> Iterator[aps.Sandbox]:
    with aps.Sandbox(seed=3, apps=3, today=TODAY) as s:
        yield s


@pytest.fixture(scope="module")
def config(sb: aps.Sandbox, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The sandbox's apps with env: secrets — set before Spark starts, so
    that its workers inherit them."""
    d = tmp_path_factory.mktemp("spark")
    cfg = aps.sync.sandbox_config(sb, d / "lake", rate_limit=50)
    return aspk.write_config(cfg, d / "appstats.toml", secrets="env", env_prefix="SPARKTEST_")


@pytest.fixture(scope="module")
def spark(config: pathlib.Path) -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    s = (
        SparkSession.builder.master("local[2]")
        .appName("appstats-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    s.dataSource.register(aspk.AppStats)
    yield s
    s.stop()


def read(spark: Any, config: pathlib.Path | str, provider: str, report: str, **options: str) -> Any:
    r = (
        spark.read.format("appstats")
        .option("config", str(config))
        .option("provider", provider)
        .option("report", report)
    )
    for k, v in {"start": S, "end": E, **options}.items():
        r = r.option(k, v)
    return r.load()


def to_polars(df: Any) -> pl.DataFrame:
    return pl.from_arrow(df.toArrow())  # type: ignore[return-value]


def local_fetch(
    config: pathlib.Path, provider: str, report: str, options: dict[str, str], per_day: bool = False
) -> pl.DataFrame:
    """The same reads in this process, with fetch_many (the reference)."""
    cfg = load_config(config)
    apps = [a for a in cfg.apps if a.provider == provider]
    frames = []
    with TokenStore(cfg.token_store) as store:  # type: ignore[arg-type]
        specs = {a.name: engine_spec(a, store) for a in apps}
        tasks = [Task(a.name, report, S, E, options, per_day) for a in apps]
        with fetch_many(specs, tasks, progress=False) as run:
            for o in run:
                app = next(a for a in apps if a.name == o.task.app)
                df = o.frame
                if "app_id" not in df.columns:
                    df = df.with_columns(pl.lit(app.app_id).alias("app_id"))
                frames.append(df.with_columns(pl.lit(app.name).alias("app")))
    return pl.concat(frames)


def same_rows(got: pl.DataFrame, want: pl.DataFrame) -> None:
    want = want.select(got.columns)
    assert got.height == want.height > 0
    assert got.sort(got.columns).equals(want.sort(got.columns)), (got, want)


@pytest.mark.parametrize(
    "provider, report, options, per_day",
    [
        ("mta", "user_basic", {}, False),
        ("baidu", "region", {}, True),
        ("baidu", "retention", {"gran": "week"}, False),
        ("tim", "app_info", {"fields": "ActiveUserNum,MaxOnlineNum"}, False),
    ],
)
def test_rows_equal_the_single_process_fetch(
    spark: Any,
    config: pathlib.Path,
    provider: str,
    report: str,
    options: dict[str, str],
    per_day: bool,
) -> None:
    df = read(
        spark,
        config,
        provider,
        report,
        appsPerPartition="2",
        perDay=str(per_day).lower(),
        **options,
    )
    assert df.schema == aspk.report_schema(provider, report, options, per_day=per_day)
    got = to_polars(df)
    assert got.columns[:2] == ["app", "app_id"]
    assert got["app"].n_unique() == 3
    same_rows(got, local_fetch(config, provider, report, options, per_day))


def test_dtypes_and_open_fields(spark: Any, config: pathlib.Path) -> None:
    hourly = read(spark, config, "baidu", "user_trend", gran="hour", end=S, apps="program1")
    assert dict(hourly.dtypes)["datetime"] == "timestamp_ntz"  # the provider's wall clock
    first = hourly.orderBy("datetime").first()
    assert first is not None and str(first["datetime"]) == f"{S} 00:00:00"
    assert hourly.count() == 24
    errs = read(spark, config, "mta", "error_list")
    assert dict(errs.dtypes)["extras"] == "map<string,string>"
    row = errs.where("app = 'mta1'").orderBy("rank").first()
    # error_list has a fixed schema (error_msg is a column); fields beyond it
    # would land in `extras`
    assert row is not None and row["error_msg"] and row["extras"] is not None


def test_no_secret_in_plans_or_partitions(
    spark: Any, config: pathlib.Path, sb: aps.Sandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    df = read(spark, config, "baidu", "user_trend", appsPerPartition="1")
    assert df.count() == 3 * 7
    df.explain("extended")
    plan = capsys.readouterr().out
    assert "BatchScan appstats" in plan
    # the partitions as the driver plans them (here in this process)
    reader = aspk.AppStats(
        {
            "config": str(config),
            "provider": "baidu",
            "report": "user_trend",
            "start": S,
            "end": E,
            "appsPerPartition": "2",
        }
    ).reader(df.schema)
    parts = reader.partitions()
    assert [len(p.apps) for p in parts] == [2, 1]
    shown = "\n".join(map(repr, parts)) + plan + repr(reader.opts.__dict__)
    assert "tokens=<2 redacted>" in shown
    cfg = load_config(config)
    secrets = [
        str(v)
        for a in cfg.apps
        for k, v in a.credentials.items()
        if k in ("secret_key", "refresh_token", "tp_ticket")
    ]
    secrets += [t for p in parts for t, _ in p.tokens.values()]
    assert len(secrets) > 9
    for s in secrets:
        assert s not in shown


def test_programs_exchange_tokens_on_the_driver_only(
    spark: Any, config: pathlib.Path, sb: aps.Sandbox
) -> None:
    assert read(spark, config, "baidu", "activity_user", appsPerPartition="1").count() == 21
    before = sb.baidu_refreshes()
    # each program's single-use refresh token was exchanged once, on the
    # driver, whatever the reads and partitions so far ...
    assert len(before) == 3 and set(before.values()) == {1}
    assert read(spark, config, "baidu", "user_trend", appsPerPartition="1").count() == 21
    # ... and the cached access tokens (30 days in the sandbox) serve the next read
    assert sb.baidu_refreshes() == before


def test_per_app_rate_limits_hold_across_executors(spark: Any, tmp_path: pathlib.Path) -> None:
    with aps.Sandbox(seed=5, apps=4, today=TODAY) as sb:
        cfg = aps.sync.sandbox_config(sb, tmp_path / "lake", providers=["mta"], rate_limit=4)
        path = aspk.write_config(cfg, tmp_path / "appstats.toml")  # file: secrets
        df = read(
            spark,
            path,
            "mta",
            "frequency",
            perDay="true",
            start="2024-03-01",
            end="2024-03-09",
            appsPerPartition="2",
        )
        assert df.rdd.getNumPartitions() == 2
        assert df.select("app", "date").distinct().count() == 4 * 9
        per_app = sb.requests_per_app("mta")
        assert sorted(per_app.values()) == [9] * 4  # one request per app and day
        for app_id in per_app:
            assert sb.max_per_second("mta", app=app_id) <= 5  # limit 4 (+1: bucket edge)
        assert sb.max_per_second("mta") > 5  # the apps ran side by side


def test_failfast_permissive_dropmalformed(spark: Any, tmp_path: pathlib.Path) -> None:
    with aps.Sandbox(seed=5, apps=3, today=TODAY) as sb:
        cfg = aps.sync.sandbox_config(sb, tmp_path / "lake", providers=["mta"])
        path = aspk.write_config(cfg, tmp_path / "appstats.toml")
        (tmp_path / "secrets" / "mta2.secret_key").write_text("revoked-key-0000")
        with pytest.raises(Exception) as ei:
            read(spark, path, "mta", "user_basic", appsPerPartition="1").collect()
        msg = str(ei.value)
        assert "AuthError" in msg and "app 'mta2' (mta 500000002), " in msg
        assert "revoked-key-0000" not in msg

        df = read(spark, path, "mta", "user_basic", mode="PERMISSIVE")
        got = to_polars(df)
        assert got.columns[-1] == "_error"
        good = got.filter(pl.col("_error").is_null())
        assert good.group_by("app").len().sort("app").rows() == [("mta1", 7), ("mta3", 7)]
        bad = to_polars(aspk.errors(df))
        assert bad["app"].to_list() == ["mta2"] and bad["app_id"].to_list() == ["500000002"]
        assert bad["_error"][0].startswith("AuthError: app 'mta2'")

        dropped = to_polars(read(spark, path, "mta", "user_basic", mode="DROPMALFORMED"))
        assert dropped.sort("app", "date").equals(good.drop("_error").sort("app", "date"))


def test_bad_input_fails_at_load_before_any_request(
    spark: Any, config: pathlib.Path, sb: aps.Sandbox
) -> None:
    n = sb.request_count()
    # through Spark: the typed error's text, at load()
    with pytest.raises(Exception, match="InvalidArgument.*looks like a secret"):
        read(spark, config, "baidu", "retention", secret_key="x")
    with pytest.raises(Exception, match="InvalidArgument.*at most 366 days"):
        read(spark, config, "baidu", "region", start="2023-01-01", end="2024-03-01")
    # the same checks in this process (what the driver runs)
    cases = {
        (("start", "2024-13-01"),): "YYYY-MM-DD",
        (("end", "2024-03-01"),): "before start",
        (("gran", "year"),): 'unknown gran "year"',
        (("shape", "wide"),): "pivot",
        (("apps", "program1,nope"),): "unknown baidu app 'nope'",
        (("mode", "LENIENT"),): "FAILFAST, PERMISSIVE, DROPMALFORMED",
        (("appsPerPartition", "0"),): "appsPerPartition must be an integer",
        (("provider", "qq"),): "unknown provider 'qq'",
        (("report", "tp_data"),): "platform's report",
        (("report", "user_trend"), ("perDay", "true")): "one row per day already",
        (("provider", "mta"), ("report", "frequency"), ("end", "2024-06-30")): "at most 90 days",
        (("config", "/nonexistent/appstats.toml"),): "does not exist on this node",
    }
    for opts, want in cases.items():
        o = {
            "config": str(config),
            "provider": "baidu",
            "report": "retention",
            "start": S,
            "end": E,
            **dict(opts),
        }
        with pytest.raises(aps.InvalidArgument, match=re.escape(want)):
            aspk.AppStats(o).schema()
    assert sb.request_count() == n


def test_apps_as_json(spark: Any, sb: aps.Sandbox, tmp_path: pathlib.Path) -> None:
    a = sb.apps("mta")[0]
    key = tmp_path / "key"
    key.write_text(a["secret_key"])
    apps = json.dumps(
        [
            {
                "provider": "mta",
                "name": "game",
                "app_id": a["app_id"],
                "secret_key": f"file:{key}",
                "base_url": sb.url,
            }
        ]
    )
    df = (
        spark.read.format("appstats")
        .option("apps", apps)
        .option("provider", "mta")
        .option("report", "usage")
        .option("start", S)
        .option("end", E)
        .load()
    )
    got = to_polars(df)
    assert got["app"].unique().to_list() == ["game"] and got.height == 7


def test_a_program_whose_token_exchange_fails(tmp_path: pathlib.Path) -> None:
    # The driver's side (partitions) and an executor's (read), in this process.
    with aps.Sandbox(seed=6, apps=2, today=TODAY) as sb:
        cfg = aps.sync.sandbox_config(sb, tmp_path / "lake", providers=["baidu"])
        path = aspk.write_config(cfg, tmp_path / "appstats.toml")
        (tmp_path / "secrets" / "program2.refresh_token").write_text("revoked-refresh-token")
        opts = {
            "config": str(path),
            "provider": "baidu",
            "report": "user_trend",
            "start": S,
            "end": E,
        }
        ds = aspk.AppStats(opts)
        with pytest.raises(aps.AuthError, match="app 'program2' \\(baidu 17000002\\)") as ei:
            ds.reader(ds.schema()).partitions()
        assert "revoked-refresh-token" not in str(ei.value)

        ds = aspk.AppStats({**opts, "mode": "PERMISSIVE"})
        reader = ds.reader(ds.schema())
        (part,) = reader.partitions()
        assert list(part.tokens) == ["program1"] and list(part.failed) == ["program2"]
        import pyarrow as pa

        got = pl.from_arrow(pa.Table.from_batches(list(reader.read(part))))
        assert isinstance(got, pl.DataFrame)
        assert got.group_by("app").len().sort("app").rows() == [("program1", 7), ("program2", 1)]
        err = got.filter(pl.col("app") == "program2")["_error"][0]
        assert err.startswith("AuthError: app 'program2'") and "revoked" not in err


def _read_in_process(opts: dict[str, str]) -> pl.DataFrame:
    """The driver's side (partitions) and the executors' (read), here."""
    import pyarrow as pa

    ds = aspk.AppStats(opts)
    reader = ds.reader(ds.schema())
    batches = [b for p in reader.partitions() for b in reader.read(p)]
    got = pl.from_arrow(pa.Table.from_batches(batches, schema=batches[0].schema))
    assert isinstance(got, pl.DataFrame)
    return got


def test_a_rejected_baidu_token_is_renewed_by_the_next_read(tmp_path: pathlib.Path) -> None:
    """Baidu rejects the access token the driver shipped (expired early, or
    spent by another client's refresh): that read fails on the executor, the
    next one proves the cached token on the driver and renews it."""
    with aps.Sandbox(seed=6, apps=1, today=TODAY) as sb:
        cfg = aps.sync.sandbox_config(sb, tmp_path / "lake", providers=["baidu"])
        path = aspk.write_config(cfg, tmp_path / "appstats.toml")
        opts = {
            "config": str(path),
            "provider": "baidu",
            "report": "user_trend",
            "start": S,
            "end": E,
            "tokenMinLife": "3600",
        }
        assert _read_in_process(opts).height == 7
        refreshes = sum(sb.baidu_refreshes().values())
        # the driver's probe passes; the executor's request finds the token dead
        sb.inject("expire_token", provider="baidu", endpoint="getanalysisusertrend", skip=1)
        with pytest.raises(aps.AuthError, match="app 'program1'"):
            _read_in_process(opts)
        got = _read_in_process(opts)  # healed: renewed through the driver's store
        assert got.height == 7
        assert sum(sb.baidu_refreshes().values()) == refreshes + 1


def test_im_reads_load_the_servable_days_and_report_the_gap(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As sync and dlt do: the 30 days Tencent IM still serves are loaded,
    the days before are a HistoryLimit gap (an _error row in PERMISSIVE, a
    warning in every mode), never a failed job."""
    with aps.Sandbox(seed=6, apps=1, today=TODAY) as sb:
        cfg = aps.sync.sandbox_config(sb, tmp_path / "lake", providers=["tim"])
        path = aspk.write_config(cfg, tmp_path / "appstats.toml")
        opts = {
            "config": str(path),
            "provider": "tim",
            "report": "app_info",
            "start": "2024-02-20",
            "end": "2024-03-31",
        }
        caplog.set_level("WARNING", logger="appstats.spark")
        fail_fast = _read_in_process(opts)
        assert fail_fast.height == 30 and fail_fast["date"].min().isoformat() == "2024-03-02"
        assert "HistoryLimit" in caplog.text and "2024-02-20 – 2024-03-01" in caplog.text
        permissive = _read_in_process({**opts, "mode": "PERMISSIVE"})
        errors = permissive.filter(pl.col("_error").is_not_null())
        assert permissive.height == 31 and errors.height == 1
        assert errors["_error"][0].startswith("HistoryLimit: app 'im1'")


def test_dropmalformed_names_each_dropped_app_and_counts_them(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    with aps.Sandbox(seed=6, apps=2, today=TODAY) as sb:
        cfg = aps.sync.sandbox_config(sb, tmp_path / "lake", providers=["mta"])
        path = aspk.write_config(cfg, tmp_path / "appstats.toml")
        (tmp_path / "secrets" / "mta2.secret_key").write_text("wrong-key-123")
        caplog.set_level("WARNING", logger="appstats.spark")
        opts = {
            "config": str(path),
            "provider": "mta",
            "report": "user_basic",
            "start": S,
            "end": E,
            "mode": "DROPMALFORMED",
        }
        got = _read_in_process(opts)
    assert set(got["app"]) == {"mta1"}
    assert "dropped (DROPMALFORMED): AuthError: app 'mta2'" in caplog.text
    assert "1 of 2 apps left out or incomplete (AuthError: 1)" in caplog.text
    assert "wrong-key-123" not in caplog.text


def test_every_catalog_report_equals_the_lake(
    spark: Any, sb: aps.Sandbox, config: pathlib.Path
) -> None:
    """Parity with the sync: for every report of the catalog (the first
    slice of sliced ones), a Spark read equals the lake's rows for the same
    apps and days. A report joins this test by being in the catalog."""
    cfg = load_config(config)
    summary = aps.sync(cfg, today=TODAY, until=E, progress=False)
    assert set(summary["status"]) <= {"ok", "gap"}, summary.filter(pl.col("status") == "failed")
    lake = pathlib.Path(cfg.uri)
    for rep in aps.sync.REPORTS.values():
        sl = rep.slice_values()[0]
        options = rep.task_options(sl)
        # cohort periods start on a Monday / the 1st, as the sync asks for them
        start = rep.align_start(dt.date.fromisoformat(S))
        df = read(
            spark,
            config,
            rep.provider,
            rep.method,
            start=str(start),
            perDay=str(rep.per_day).lower(),
            **options,
        )
        got = to_polars(df)
        want = pl.read_delta(str(lake / rep.table)).filter(
            pl.col(rep.day_column).is_between(start, dt.date.fromisoformat(E))
        )
        if rep.slices:
            want = want.filter(pl.col(rep.slices[2]) == sl)
        want = want.drop("fetched_at", "month")
        if "extras" in got.columns and "extras" not in want.columns:
            # fields the reply had beyond the schema: none in the lake either
            assert all(not v for v in got["extras"].to_list()), rep.key
            got = got.drop("extras")
        assert sorted(got.columns) == sorted(want.columns), rep.key  # IM keeps its app_id in place
        same_rows(got, want.cast(dict(got.schema)))  # type: ignore[arg-type]


# -- filter pushdown and column pruning (pushFilters) ---------------------------------------


def _pushed_read(opts: dict[str, str], filters: list[Any], schema: Any = None) -> pl.DataFrame:
    """A read whose filters Spark pushed (driver: pushFilters, partitions;
    executors: read), in this process."""
    import pyarrow as pa

    ds = aspk.AppStats(opts)
    reader = ds.reader(schema or ds.schema())
    reader.pushFilters(filters)
    batches = [b for p in reader.partitions() for b in reader.read(p)]
    if not batches:
        return pl.DataFrame()
    got = pl.from_arrow(pa.Table.from_batches(batches, schema=batches[0].schema))
    assert isinstance(got, pl.DataFrame)
    return got


def test_pushed_app_and_date_filters_send_only_those_requests(
    sb: aps.Sandbox, config: pathlib.Path
) -> None:
    from pyspark.sql.datasource import EqualTo, GreaterThanOrEqual, In, LessThan

    opts = {"config": str(config), "provider": "mta", "report": "frequency", "perDay": "true"}
    opts |= {"start": "2024-03-01", "end": "2024-03-31"}
    before = sb.requests_per_app("mta")
    reader = aspk.AppStats(opts).reader(aspk.AppStats(opts).schema())
    day = [
        GreaterThanOrEqual(("date",), dt.date(2024, 3, 9)),
        LessThan(("date",), dt.date(2024, 3, 12)),
    ]
    app = EqualTo(("app",), "mta2")
    other = EqualTo(("section",), "1-2")
    left = reader.pushFilters([*day, app, other])
    assert left == [*day, other]  # app filters taken, day filters also Spark's
    (part,) = reader.partitions()
    assert part.apps == ("mta2",)
    assert reader.opts.windows == (("2024-03-09", "2024-03-11"),)

    got = _pushed_read(opts, [*day, app])
    after = sb.requests_per_app("mta")
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        "500000002": 3
    }
    assert set(got["app"]) == {"mta2"}
    assert sorted(set(got["date"])) == [dt.date(2024, 3, d) for d in (9, 10, 11)]

    # app_id IN, an empty range: nothing sent
    n = sb.request_count()
    assert _pushed_read(opts, [In(("app_id",), ("500000001", "500000003"))]).height > 0
    assert sb.request_count() - n == 2 * 31
    n = sb.request_count()
    got = _pushed_read(opts, [GreaterThanOrEqual(("date",), dt.date(2024, 4, 5))])
    assert got.height == 0 and sb.request_count() == n
    got = _pushed_read(opts, [EqualTo(("app",), "nobody")])
    assert got.height == 0 and sb.request_count() == n


def test_a_schema_of_some_mta_metrics_requests_only_those(
    sb: aps.Sandbox, config: pathlib.Path
) -> None:
    from pyspark.sql.types import DateType, LongType, StringType, StructField, StructType

    opts = {"config": str(config), "provider": "mta", "report": "user_basic"}
    opts |= {"start": S, "end": E}
    schema = StructType(
        [
            StructField("app", StringType()),
            StructField("date", DateType()),
            StructField("sessions", LongType()),
        ]
    )
    ds = aspk.AppStats(opts)
    assert ds.reader(schema).opts.options == {"metrics": "sessions"}
    got = _pushed_read(opts, [], schema)
    want = local_fetch(config, "mta", "user_basic", {})
    same_rows(got, want)


def test_a_filtered_spark_read_sends_only_the_filtered_requests(
    spark: Any, sb: aps.Sandbox, config: pathlib.Path
) -> None:
    from pyspark.sql.functions import col, lit

    spark.conf.set("spark.sql.python.filterPushdown.enabled", "true")
    try:
        before = sb.requests_per_app("mta")
        df = (
            read(
                spark,
                config,
                "mta",
                "frequency",
                perDay="true",
                start="2024-03-01",
                end="2024-03-31",
            )
            .filter(col("app") == "mta3")
            .filter(col("date") >= lit(dt.date(2024, 3, 25)))
            .select("app", "date", "active_users")
        )
        got = to_polars(df)
        after = sb.requests_per_app("mta")
    finally:
        spark.conf.unset("spark.sql.python.filterPushdown.enabled")
    # the full read sends 3 apps x 31 days; the filtered one mta3's last 7 days
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        "500000003": 7
    }
    assert set(got["app"]) == {"mta3"} and got["date"].min() == dt.date(2024, 3, 25)
    assert got.columns == ["app", "date", "active_users"]
    # pushdown off (Spark's default): the same rows, every request
    before = sb.requests_per_app("mta")
    df = (
        read(spark, config, "mta", "frequency", perDay="true", start="2024-03-25", end="2024-03-31")
        .filter(col("app") == "mta3")
        .select("app", "date", "active_users")
    )
    assert to_polars(df).sort("date", "active_users").equals(got.sort("date", "active_users"))
    assert sum(sb.requests_per_app("mta").values()) - sum(before.values()) == 3 * 7
