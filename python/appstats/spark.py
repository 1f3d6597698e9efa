"""``spark.read.format("appstats")``: a Spark 4 Python Data Source over the
Rust fan-out engine.

Register it once per session, then read any report of many apps::

    import appstats.spark
    spark.dataSource.register(appstats.spark.AppStats)
    df = (spark.read.format("appstats")
          .option("config", "appstats.toml")          # the sync config: which apps
          .option("provider", "mta").option("report", "user_basic")
          .option("start", "2024-03-01").option("end", "2024-03-31")
          .load())

Options (names are case-insensitive, values strings):

* ``provider`` — ``baidu``, ``mta`` or ``tim``; ``report`` — the provider's
  report name, as the clients name it (``user_trend``, ``region``,
  ``retention``, ``app_info``, ...).
* ``start``, ``end`` — the window (``YYYY-MM-DD``, inclusive; ``end``
  defaults to yesterday in China time).
* report options, passed on as they are: ``gran``, ``shape``,
  ``terminal_type``, ``level``, ``report_type``, ``metrics``, ``fields``, ...
* ``config`` (or ``.load(path)``) — the sync TOML (see
  ``appstats.example.toml``): every app of ``provider`` in it is read.
  ``apps`` — with ``config``: only these apps (names, comma-separated);
  without: the apps themselves as JSON in the config's form
  (``[{"provider": "mta", "name": "game", "app_id": "500000001",
  "secret_key": "env:MTA_GAME_KEY"}]``).
* ``appsPerPartition`` — apps per Spark partition (default 64); every app
  lives in exactly one partition, so its own rate limit (the config's
  ``rate_limit``) holds however many executors run.
* ``perDay`` — ``true``: fetch one day per request and add a leading
  ``date`` column (reports whose numbers are distributions over the range,
  such as ``region``; the default reads the whole range as the clients do).
* ``concurrency`` — requests in flight per partition (default: the config's).
* ``mode`` — what a failing app does to the read:

  - ``FAILFAST`` (default): the job fails with the app's typed error
    (``AuthError``, ``RateLimited``, ...), its message naming the app and
    the window. Spark wraps it in a ``PythonException`` whose text carries
    the class name and that message.
  - ``PERMISSIVE``: the app's rows are left out and the frame gets an
    ``_error`` column: every failed app contributes one row holding only
    ``app``, ``app_id`` and ``_error`` (``"<ErrorClass>: <message>"``),
    every good row has ``_error`` null — as Spark's own CSV/JSON readers
    keep malformed records. ``errors(df)`` selects those rows; the failure
    is also logged (``WARNING``, logger ``appstats.spark``, in the
    executor's log).
  - ``DROPMALFORMED``: the app's rows are left out. Each dropped app is
    logged as a ``WARNING`` naming it and its error class (logger
    ``appstats.spark``, to the executor's stderr when the worker configured
    no logging), and each partition that dropped any logs the count by
    class: ``partition 3: 2 of 50 apps left out or incomplete (AuthError:
    2)``. Use ``PERMISSIVE`` and ``errors(df)`` to get them as rows.

  Days a provider no longer serves (Tencent IM: the last 30 days) are not a
  failure, as in the sync and dlt: the servable days are read, and the
  earlier ones are a ``HistoryLimit`` gap — logged in every mode, an
  ``_error`` row in ``PERMISSIVE``.

* ``tokenMinLife`` — seconds a Baidu program's access token must still be
  valid when shipped to executors (default 1800; see below).

**Schema.** The report's fixed schema, from the Polars dtypes (``Date`` →
``date``, naive ``Datetime`` → ``timestamp_ntz`` (the providers' local wall
clock, kept as it is), ``Int64`` → ``bigint``, ``Float64`` → ``double``,
``String`` → ``string``), after ``app`` (the config name) and ``app_id``.
MTA's ``error_list`` rows carry free-form extra fields: they go into an
``extras`` ``map<string,string>`` column. Baidu's wide retention has one
column per period present in the reply, which Spark cannot know before
reading: read the long shape (the default) and pivot.

**Secrets.** No secret is ever an option (Spark shows options in plans and
its UI; secret-looking options are refused). Executors read the same config
and resolve its ``env:``/``file:`` references themselves, so the config and
its variables or files must exist on every node (``spark.executorEnv.*``, a
shared mount, or ``--files``: a config that is not at its path is looked up
with ``SparkFiles``). Baidu programs authorised to a third-party platform
spend a single-use refresh token per exchange: only the driver exchanges it
(through the sync's token store, locked while it does), and ships the
resulting access token inside the partitions, whose ``repr`` is redacted.
A program whose cached token has less than ``tokenMinLife`` left is
refreshed first; a read must finish within that time. The driver proves
every token before shipping it, with one small request per program (a day
of its trend): a token Baidu rejects (110/111 — expired early, or spent by
another client's refresh) is renewed there, through the store, so a read
that failed on a rejected token is healed by the next one (a retried Spark
task reuses its partition's token: the next read renews it).
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import logging
import os
import pathlib
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import polars as pl

from .errors import AppStatsError, AuthError, InvalidArgument, MissingDependency

try:
    import pyarrow as pa
    from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import (
        ArrayType,
        BooleanType,
        ByteType,
        DataType,
        DateType,
        DecimalType,
        DoubleType,
        FloatType,
        IntegerType,
        LongType,
        MapType,
        ShortType,
        StringType,
        StructField,
        StructType,
        TimestampNTZType,
        TimestampType,
    )
except ImportError as _e:  # pragma: no cover - the extra is missing
    raise MissingDependency(
        "appstats.spark needs pyspark 4 and pyarrow: pip install 'appstats[spark]'"
    ) from _e

from . import _native
from ._configfile import toml_value, write_config
from .sync import catalog
from .sync.apps import engine_spec, explain_error, restated, today_cn
from .sync.config import SECRETISH, AppConfig, SyncConfig, load_config, parse_config
from .sync.fanout import Task, fetch_many
from .sync.tokens import TokenStore

__all__ = [
    "AppStats",
    "AppsPartition",
    "report_schema",
    "spark_type",
    "errors",
    "write_config",
    "MODES",
    "ERROR_COLUMN",
    "EXTRAS_COLUMN",
]

log = logging.getLogger("appstats.spark")

#: Defaults, written once.
DEFAULT_APPS_PER_PARTITION = 64
DEFAULT_TOKEN_MIN_LIFE_S = 1800.0
#: Rows per Arrow batch handed to Spark (its own default batch size).
BATCH_ROWS = 10_000
#: Days one task covers: per-day reports, hourly Baidu trends, the rest.
PER_DAY_SPAN = 31
HOURLY_SPAN = 31
MAX_SPAN = 366
MODES = ("FAILFAST", "PERMISSIVE", "DROPMALFORMED")
ERROR_COLUMN = "_error"
EXTRAS_COLUMN = "extras"
#: Reports whose rows carry free-form fields (→ the ``extras`` map).
OPEN_REPORTS = {("mta", "error_list")}

#: Our options (lower case, as Spark passes them); every other is a report option.
_OWN = {
    "provider",
    "report",
    "start",
    "end",
    "config",
    "path",
    "apps",
    "appsperpartition",
    "perday",
    "concurrency",
    "mode",
    "tokenminlife",
}


# -- schema ---------------------------------------------------------------------------------


def spark_type(dtype: pl.DataType | type[pl.DataType]) -> DataType:
    """The Spark type of a Polars dtype.

    Examples:
        >>> import polars as pl
        >>> from appstats.spark import spark_type
        >>> [spark_type(t).simpleString() for t in (pl.Date, pl.Int64, pl.Float64, pl.String)]
        ['date', 'bigint', 'double', 'string']
        >>> spark_type(pl.Datetime("us")).simpleString(), spark_type(pl.Datetime("us", "UTC"))
        ('timestamp_ntz', TimestampType())
    """
    t: Any = dtype if isinstance(dtype, pl.DataType) else dtype()
    if isinstance(t, pl.Datetime):
        return TimestampType() if t.time_zone else TimestampNTZType()
    if isinstance(t, pl.List):
        inner: Any = t.inner
        return ArrayType(spark_type(inner))
    simple: dict[type[pl.DataType], DataType] = {
        pl.Date: DateType(),
        pl.Int64: LongType(),
        pl.Int32: IntegerType(),
        pl.Int16: ShortType(),
        pl.Int8: ByteType(),
        pl.UInt32: LongType(),
        pl.UInt16: IntegerType(),
        pl.UInt8: ShortType(),
        pl.UInt64: DecimalType(20, 0),
        pl.Float64: DoubleType(),
        pl.Float32: FloatType(),
        pl.Boolean: BooleanType(),
        pl.String: StringType(),
    }
    for k, v in simple.items():
        if isinstance(t, k):
            return v
    raise InvalidArgument(f"no Spark type for the Polars dtype {t}")


def _empty_frame(provider: str, report: str, options: Mapping[str, str]) -> pl.DataFrame:
    """The report's frame with no rows: its fixed schema (validates the options)."""
    opts = dict(options)
    if provider == "baidu":
        if report == "tp_data":
            raise InvalidArgument(
                "baidu tp_data is the platform's report, not a program's: "
                "read it with BaiduSmartApp(tp_client_id=..., ...).tp_data()"
            )
        if opts.get("shape") == "wide":
            raise InvalidArgument(
                "Baidu's wide retention has one column per period present in the reply, "
                "which Spark cannot know before reading: read shape=long (the default) and "
                "pivot, e.g. df.groupBy('app', 'cohort_date').pivot('period').sum('users')"
            )
    return _native.report_schema(provider, report, opts)


def report_schema(
    provider: str,
    report: str,
    options: Mapping[str, str] | None = None,
    *,
    per_day: bool = False,
    mode: str = "FAILFAST",
) -> StructType:
    """The Spark schema of a report as the data source reads it: ``app``,
    ``app_id``, the report's columns (``date`` first with ``per_day``),
    ``extras`` for reports with free-form fields, ``_error`` in
    ``PERMISSIVE`` mode. Nothing is fetched; bad options raise
    :class:`~appstats.InvalidArgument`.

    Examples:
        >>> from appstats.spark import report_schema
        >>> report_schema("mta", "user_basic", {"metrics": "new_users"}).simpleString()
        'struct<app:string,app_id:string,date:date,new_users:bigint>'
        >>> report_schema("baidu", "region", per_day=True).fieldNames()[:4]
        ['app', 'app_id', 'date', 'region']
    """
    opts = {str(k): str(v) for k, v in (options or {}).items()}
    df = _empty_frame(provider, report, opts)
    if per_day:
        if "date" in df.columns:
            raise InvalidArgument(
                f"{provider} {report} has one row per day already; "
                "perDay applies to reports over a range (region, "
                "terminal, ...)"
            )
        df = df.select(pl.lit(None, pl.Date).alias("date"), pl.all())
    fields = [StructField("app", StringType()), StructField("app_id", StringType())]
    fields += [StructField(n, spark_type(t)) for n, t in df.schema.items() if n != "app_id"]
    if (provider, report) in OPEN_REPORTS:
        fields.append(StructField(EXTRAS_COLUMN, MapType(StringType(), StringType())))
    if mode == "PERMISSIVE":
        fields.append(StructField(ERROR_COLUMN, StringType()))
    return StructType(fields)


def errors(df: Any) -> Any:
    """The failed apps of a ``PERMISSIVE`` read: ``app``, ``app_id``, ``_error``.

    Example (``df`` read with ``mode=PERMISSIVE``)::

        appstats.spark.errors(df).show(truncate=False)
        good = df.where(df._error.isNull()).drop("_error")
    """
    if ERROR_COLUMN not in df.columns:
        raise InvalidArgument(
            "the frame has no _error column: read it with option('mode', 'PERMISSIVE')"
        )
    return df.where(df[ERROR_COLUMN].isNotNull()).select("app", "app_id", ERROR_COLUMN)


# -- options --------------------------------------------------------------------------------


def _day(v: str, what: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(v.strip())
    except ValueError:
        raise InvalidArgument(f"option {what} must be a YYYY-MM-DD date, got {v!r}") from None


def _int(v: str, what: str, lo: int, hi: int) -> int:
    try:
        n = int(v)
    except ValueError:
        n = lo - 1
    if not lo <= n <= hi:
        raise InvalidArgument(f"option {what} must be an integer between {lo} and {hi}, got {v!r}")
    return n


def _bool(v: str, what: str) -> bool:
    s = v.strip().lower()
    if s in ("true", "1", "yes"):
        return True
    if s in ("false", "0", "no"):
        return False
    raise InvalidArgument(f"option {what} must be true or false, got {v!r}")


def _apps_toml(text: str) -> str:
    """The ``apps`` option (JSON in the config's form) as config TOML."""
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise InvalidArgument(f"option apps is neither app names nor valid JSON: {e}") from None
    if isinstance(obj, list):
        grouped: dict[str, list[Any]] = {}
        for i, entry in enumerate(obj):
            if not isinstance(entry, dict) or not isinstance(entry.get("provider"), str):
                raise InvalidArgument(
                    f"option apps: entry {i + 1} must be an object with a "
                    "provider (baidu, mta, tim)"
                )
            item = dict(entry)
            grouped.setdefault(item.pop("provider"), []).append(item)
        obj = grouped
    if not isinstance(obj, dict):
        raise InvalidArgument(
            "option apps must be a JSON list of apps or an object in the config's form"
        )
    obj.setdefault("tokens", {"path": "appstats.tokens.json"})
    out: list[str] = []
    for k, v in obj.items():
        if isinstance(v, dict):
            out.append(f"[{k}]")
            out += [
                f"{json.dumps(str(a))} = {toml_value(b, 'option apps: ' + k)}" for a, b in v.items()
            ]
        elif isinstance(v, list):
            for entry in v:
                if not isinstance(entry, dict):
                    raise InvalidArgument(f"option apps: {k} entries must be objects")
                out.append(f"[[{k}]]")
                out += [
                    f"{json.dumps(str(a))} = {toml_value(b, 'option apps: ' + k)}"
                    for a, b in entry.items()
                ]
        else:
            out.append(f"{json.dumps(str(k))} = {toml_value(v, 'option apps: ' + k)}")
    return "\n".join(out) + "\n"


_CONFIGS: dict[tuple[Any, ...], SyncConfig] = {}
_CONFIGS_LOCK = threading.Lock()


class _Options:
    """The data source's options, validated (picklable; holds no secret)."""

    def __init__(self, options: Mapping[str, str]) -> None:
        o = {str(k).lower(): str(v) for k, v in options.items()}
        for k in o:
            if k not in _OWN and SECRETISH.search(k):
                raise InvalidArgument(
                    f"option {k!r} looks like a secret: Spark shows options in plans and its "
                    'UI. Put credentials in the sync config as "env:VAR" or "file:PATH" '
                    "and pass option('config', path)"
                )
        for need in ("provider", "report", "start"):
            if not o.get(need):
                raise InvalidArgument(f"option {need} is required")
        self.provider = o["provider"].strip().lower()
        if self.provider not in catalog.PROVIDERS:
            raise InvalidArgument(
                f"unknown provider {self.provider!r}; valid: {', '.join(catalog.PROVIDERS)}"
            )
        self.report = o["report"].strip()
        self.start = _day(o["start"], "start")
        self.end = _day(o["end"], "end") if o.get("end") else today_cn() - _dt.timedelta(days=1)
        if self.end < self.start:
            raise InvalidArgument(f"end {self.end} is before start {self.start}")
        self.per_day = _bool(o["perday"], "perDay") if "perday" in o else False
        self.mode = o.get("mode", "FAILFAST").strip().upper()
        if self.mode not in MODES:
            raise InvalidArgument(
                f"option mode must be one of {', '.join(MODES)}, got {o['mode']!r}"
            )
        self.apps_per_partition = (
            _int(o["appsperpartition"], "appsPerPartition", 1, 100_000)
            if "appsperpartition" in o
            else DEFAULT_APPS_PER_PARTITION
        )
        self.concurrency = (
            _int(o["concurrency"], "concurrency", 1, 10_000) if "concurrency" in o else None
        )
        self.token_min_life = (
            float(_int(o["tokenminlife"], "tokenMinLife", 0, 3600))
            if "tokenminlife" in o
            else DEFAULT_TOKEN_MIN_LIFE_S
        )
        self.config = o.get("config") or o.get("path") or None
        apps = o.get("apps", "").strip()
        self.apps_toml: str | None = None
        self.app_names: tuple[str, ...] | None = None
        if apps and apps[0] in "[{":
            if self.config:
                raise InvalidArgument(
                    "give either option config (a file) or apps as JSON, not both"
                )
            self.apps_toml = _apps_toml(apps)
        elif apps:
            self.app_names = tuple(a.strip() for a in apps.split(",") if a.strip())
        if self.config is None and self.apps_toml is None:
            raise InvalidArgument(
                "option config (the sync TOML: which apps) or apps (JSON) is required"
            )
        self.options = {k: v for k, v in o.items() if k not in _OWN}
        self.windows = self._windows()

    def narrowed(self, start: _dt.date, end: _dt.date) -> _Options:
        """These options over ``start..end`` (pushed filters); empty windows
        when the range is empty."""
        out = copy.copy(self)
        out.start, out.end = start, end
        out.windows = out._windows() if start <= end else ()
        return out

    def _windows(self) -> tuple[tuple[str, str], ...]:
        """The tasks' windows: one task per app and window."""
        distribution = any(
            r.provider == self.provider and r.method == self.report and r.kind == "distribution"
            for r in catalog.REPORTS.values()
        )
        if self.per_day:
            span: int | None = PER_DAY_SPAN
        elif distribution or self.provider == "tim":
            span = None  # numbers over the whole range: never split
        elif self.provider == "baidu" and self.options.get("gran") == "hour":
            span = HOURLY_SPAN
        else:
            span = MAX_SPAN
        out = []
        a = self.start
        while a <= self.end:
            b = self.end if span is None else min(self.end, a + _dt.timedelta(days=span - 1))
            out.append((a.isoformat(), b.isoformat()))
            a = b + _dt.timedelta(days=1)
        return tuple(out)

    def schema(self) -> StructType:
        return report_schema(
            self.provider, self.report, self.options, per_day=self.per_day, mode=self.mode
        )

    def validate_tasks(self) -> None:
        """Check every window with the engine's own validation (no app, no
        client, nothing sent)."""
        _native.validate_tasks(
            self.provider,
            [(self.report, s, e, self.options, self.per_day) for s, e in self.windows],
        )

    def load(self) -> SyncConfig:
        """The config (cached per process: executors read it once)."""
        if self.apps_toml is not None:
            key: tuple[Any, ...] = ("apps", self.apps_toml)
        else:
            assert self.config is not None
            path = self._config_path(self.config)
            st = path.stat()
            key = ("file", str(path), st.st_mtime_ns, st.st_size)
        with _CONFIGS_LOCK:
            cfg = _CONFIGS.get(key)
        if cfg is None:
            if self.apps_toml is not None:
                cfg = parse_config(self.apps_toml, file="option apps")
            else:
                cfg = load_config(key[1])
            with _CONFIGS_LOCK:
                if len(_CONFIGS) > 8:
                    _CONFIGS.clear()
                _CONFIGS[key] = cfg
        return cfg

    @staticmethod
    def _config_path(config: str) -> pathlib.Path:
        p = pathlib.Path(config).expanduser()
        if p.exists():
            return p
        try:  # shipped with --files / addFile
            from pyspark import SparkFiles

            q = pathlib.Path(SparkFiles.get(p.name))
            if q.exists():
                return q
        except Exception:  # noqa: BLE001 - no SparkContext files in this process
            pass
        raise InvalidArgument(
            f"the sync config {config!r} does not exist on this node "
            f"({os.uname().nodename}); every node needs it (a shared path "
            "or --files)"
        )

    def select(self, cfg: SyncConfig) -> list[AppConfig]:
        """The config's apps of the provider (only ``apps`` if given)."""
        mine = [a for a in cfg.apps if a.provider == self.provider]
        if self.app_names is not None:
            known = {a.name for a in mine}
            bad = [n for n in self.app_names if n not in known]
            if bad:
                raise InvalidArgument(
                    f"unknown {self.provider} app"
                    f"{'s' if len(bad) > 1 else ''} "
                    f"{', '.join(map(repr, bad))}; the config has: "
                    f"{', '.join(sorted(known)) or 'none'}"
                )
            wanted = set(self.app_names)
            mine = [a for a in mine if a.name in wanted]
        if not mine:
            raise InvalidArgument(f"the config has no {self.provider} app to read")
        return mine


# -- errors ---------------------------------------------------------------------------------


def _scrub(msg: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            msg = msg.replace(s, "***")
    return msg


def _named(
    app: AppConfig, err: AppStatsError, window: tuple[str, str] | None, token: str | None = None
) -> AppStatsError:
    """``err`` again (same class), its message naming the app and window."""
    where = f"app {app.name!r} ({app.provider} {app.app_id})"
    if window is not None:
        where += f", {window[0]} – {window[1]}"
    msg = f"{where}: {_scrub(explain_error(app, err, None), [token] if token else [])}"
    return restated(err, msg)


# -- partitions -----------------------------------------------------------------------------


class AppsPartition(InputPartition):
    """The apps one Spark task reads (all windows of each).

    ``tokens`` holds access tokens of Baidu programs, exchanged on the
    driver; ``failed`` the apps whose token exchange failed there
    (``PERMISSIVE``). Neither appears in the ``repr``.
    """

    def __init__(
        self,
        index: int,
        apps: Sequence[str],
        tokens: Mapping[str, tuple[str, float]],
        failed: Mapping[str, str],
    ) -> None:
        super().__init__(index)
        self.index = index
        self.apps = tuple(apps)
        self.tokens = dict(tokens)
        self.failed = dict(failed)

    def __repr__(self) -> str:
        shown = ", ".join(self.apps[:3]) + (
            f", … ({len(self.apps)} apps)" if len(self.apps) > 3 else ""
        )
        extra = f", tokens=<{len(self.tokens)} redacted>" if self.tokens else ""
        return f"AppsPartition({self.index}, apps=[{shown}]{extra})"


def _program_tokens(
    cfg: SyncConfig, apps: Sequence[AppConfig], opts: _Options
) -> tuple[dict[str, tuple[str, float]], dict[str, AppStatsError]]:
    """Access tokens of the Baidu programs among ``apps``, from the token
    store or exchanged here, on the driver (their refresh tokens are
    single-use: executors never exchange them)."""
    programs = [a for a in apps if "tp_client_id" in a.credentials]
    tokens: dict[str, tuple[str, float]] = {}
    failed: dict[str, AppStatsError] = {}
    if not programs:
        return tokens, failed
    store = TokenStore(cfg.token_store or pathlib.Path("appstats.tokens.json"))
    with store:
        specs = {}
        for a in programs:
            spec = engine_spec(a, store)
            cached = store.access_token(a.name)
            if cached is None or cached[1] < opts.token_min_life:
                spec.pop("cached_token", None)  # too short-lived for this read: renew it
            specs[a.name] = spec
        # One small request per program (one day of its trend) before the
        # token is shipped: it exchanges the refresh token where there is no
        # usable access token, and proves a cached one — a token Baidu
        # rejects (110/111: expired early, or spent by another client's
        # refresh) is renewed here, on the driver, through the store, instead
        # of failing on every executor of every later read.
        day = min(opts.end, today_cn() - _dt.timedelta(days=1)).isoformat()
        tasks = [Task(a.name, "user_trend", day, day, {"gran": "day"}) for a in programs]
        by_name = {a.name: a for a in programs}
        errs: dict[str, AppStatsError] = {}
        with fetch_many(specs, tasks, concurrency=cfg.concurrency, progress=False) as run:
            for o in run:
                if o.error is not None:
                    errs[o.task.app] = _named(by_name[o.task.app], o.error, None)
        for a in programs:
            got = store.access_token(a.name)  # stored by the exchange, before any use
            err = errs.get(a.name)
            if got is not None and not (isinstance(err, AuthError) and err.code in (110, 111)):
                tokens[a.name] = got  # the request itself may have failed: not our concern
            else:
                failed[a.name] = err or AppStatsError(
                    f"app {a.name!r}: the token exchange stored no access token",
                    provider="baidu",
                )
    return tokens, failed


# -- the data source ------------------------------------------------------------------------


class AppStats(DataSource):
    """``spark.read.format("appstats")``: reports of many apps (see the module docs)."""

    @classmethod
    def name(cls) -> str:
        return "appstats"

    def _opts(self) -> _Options:
        got: _Options | None = self.__dict__.get("_parsed")
        if got is None:
            got = _Options(self.options)
            self.__dict__["_parsed"] = got
        return got

    def schema(self) -> StructType:
        opts = self._opts()
        schema = opts.schema()
        opts.validate_tasks()
        opts.select(opts.load())  # a bad config or app name fails here, at load()
        return schema

    def reader(self, schema: StructType) -> AppStatsReader:
        opts = self._opts()
        opts.validate_tasks()
        opts = _pruned(opts, schema)
        if _planned_without_pushdown():
            return _ReaderWithoutPushdown(opts, schema)
        return AppStatsReader(opts, schema)


class AppStatsReader(DataSourceReader):
    """Plans the partitions (on the driver) and reads them (on executors)."""

    def __init__(self, opts: _Options, schema: StructType) -> None:
        self.opts = opts
        self.schema = schema
        #: error class → apps left out by this reader's last ``read``
        self.dropped: dict[str, int] = {}
        #: names / app ids the pushed filters allow (``None``: all)
        self.only_apps: frozenset[str] | None = None
        self.only_ids: frozenset[str] | None = None

    def pushFilters(self, filters: list[Any]) -> list[Any]:  # noqa: N802 - Spark's name
        """Narrow the read to the filters' days and apps (Spark ≥ 4.1 with
        ``spark.sql.python.filterPushdown.enabled``; called on the driver).

        ``=``, ``>``, ``>=``, ``<``, ``<=`` and ``IN`` on the day column
        (``date``; ``cohort_date`` of day cohorts) narrow every partition's
        windows; ``=`` and ``IN`` on ``app`` / ``app_id`` drop the apps not
        asked for (no token exchanged, nothing sent for them). App filters are
        exact and taken; day filters are also returned to Spark, which
        applies them to the rows (a window's rows may reach past them); every
        other filter is Spark's.
        """
        from pyspark.sql.datasource import (
            EqualTo,
            GreaterThan,
            GreaterThanOrEqual,
            In,
            LessThan,
            LessThanOrEqual,
        )

        names = set(self.schema.fieldNames())
        day = "date" if "date" in names else None
        if day is None and "cohort_date" in names and self.opts.options.get("gran", "day") == "day":
            day = "cohort_date"
        lo, hi = self.opts.start, self.opts.end
        rest: list[Any] = []
        for f in filters:
            col = f.attribute[0] if len(getattr(f, "attribute", ())) == 1 else None
            if col in ("app", "app_id") and isinstance(f, (EqualTo, In)):
                allowed = frozenset(
                    str(v) for v in (f.value if isinstance(f, In) else (f.value,)) if v is not None
                )
                attr = "only_apps" if col == "app" else "only_ids"
                was: frozenset[str] | None = getattr(self, attr)
                setattr(self, attr, allowed if was is None else was & allowed)
                continue
            rest.append(f)
            bounds = (EqualTo, In, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual)
            if col != day or day is None or not isinstance(f, bounds):
                continue
            values = f.value if isinstance(f, In) else (f.value,)
            days = [v.date() if isinstance(v, _dt.datetime) else v for v in values]
            if not days or not all(isinstance(v, _dt.date) for v in days):
                continue
            if isinstance(f, (EqualTo, In, GreaterThan, GreaterThanOrEqual)):
                first = min(days)
                if isinstance(f, GreaterThan) and not isinstance(f.value, _dt.datetime):
                    first += _dt.timedelta(days=1)
                lo = max(lo, first)
            if isinstance(f, (EqualTo, In, LessThan, LessThanOrEqual)):
                last = max(days)
                if isinstance(f, LessThan) and not isinstance(f.value, _dt.datetime):
                    last -= _dt.timedelta(days=1)
                hi = min(hi, last)
        if (lo, hi) != (self.opts.start, self.opts.end):
            self.opts = self.opts.narrowed(lo, hi)
        return rest

    def partitions(self) -> list[AppsPartition]:
        opts = self.opts
        cfg = opts.load()
        apps = [
            a
            for a in opts.select(cfg)
            if (self.only_apps is None or a.name in self.only_apps)
            and (self.only_ids is None or str(a.app_id) in self.only_ids)
        ]
        if not apps or not opts.windows:  # the pushed filters leave nothing to read
            return [AppsPartition(0, [], {}, {})]
        tokens, failed = _program_tokens(cfg, apps, opts) if opts.provider == "baidu" else ({}, {})
        if failed and opts.mode == "FAILFAST":
            first = next(iter(failed.values()))
            if len(failed) > 1:
                log.error(
                    "token exchange failed for %d programs: %s",
                    len(failed),
                    ", ".join(sorted(failed)),
                )
            raise first
        shipped = {n: f"{type(e).__name__}: {e}" for n, e in failed.items()}
        n = opts.apps_per_partition
        names = [a.name for a in apps]
        return [
            AppsPartition(
                i,
                names[k : k + n],
                {a: tokens[a] for a in names[k : k + n] if a in tokens},
                {a: shipped[a] for a in names[k : k + n] if a in shipped},
            )
            for i, k in enumerate(range(0, len(names), n))
        ]

    # -- executors ----------------------------------------------------------------------

    def read(self, partition: InputPartition) -> Iterator[pa.RecordBatch]:
        if not isinstance(partition, AppsPartition):
            raise InvalidArgument(f"not a partition of this source: {type(partition).__name__}")
        opts = self.opts
        cfg = opts.load()
        self.dropped = {}
        by_name = {a.name: a for a in cfg.apps if a.provider == opts.provider}
        apps: dict[str, AppConfig] = {}
        specs: dict[str, dict[str, Any]] = {}
        out = _Batcher(self.schema)
        for name in partition.apps:
            app = by_name.get(name)
            if app is None:
                raise InvalidArgument(
                    f"app {name!r} is in the driver's config but not in this "
                    "node's: every node needs the same config"
                )
            apps[name] = app
            if name in partition.failed:
                yield from out.add(self._failure(app, partition.failed[name]))
                continue
            specs[name] = self._spec(app, partition.tokens.get(name))
        tasks: list[Task] = []
        left = {}
        for n in list(specs):
            windows, gap = _servable(apps[n], opts)
            if gap is not None:
                yield from out.add(self._failure(apps[n], gap, status="gap"))
            if not windows:
                del specs[n]
                continue
            tasks.extend(Task(n, opts.report, s, e, opts.options, opts.per_day) for s, e in windows)
            left[n] = len(windows)
        frames: dict[str, list[tuple[int, pl.DataFrame]]] = {n: [] for n in specs}
        failures: dict[str, list[str]] = {}
        if tasks:
            conc = opts.concurrency or cfg.concurrency
            with fetch_many(
                specs,
                tasks,
                concurrency=conc,
                active_apps=min(cfg.active_apps, len(specs)),
                progress=False,
            ) as run:
                for o in run:
                    name = o.task.app
                    app = apps[name]
                    left[name] -= 1
                    if o.error is not None:
                        token = partition.tokens.get(name, ("", 0.0))[0]
                        err = _named(app, o.error, (str(o.task.start), str(o.task.end)), token)
                        if opts.mode == "FAILFAST":
                            raise err
                        failures.setdefault(name, []).append(f"{type(err).__name__}: {err}")
                        frames[name] = []
                    elif name not in failures:
                        frames[name].append((o.position, o.frame))
                    if left[name] == 0:
                        if name in failures:
                            yield from out.add(self._failure(app, "; ".join(failures[name])))
                        else:
                            parts = [f for _, f in sorted(frames.pop(name), key=lambda x: x[0])]
                            yield from out.add(self._rows(app, parts))
        yield from out.flush()
        if self.dropped:
            counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.dropped.items()))
            _warn(
                f"partition {partition.index}: {sum(self.dropped.values())} of "
                f"{len(partition.apps)} apps left out or incomplete ({counts})"
            )

    @staticmethod
    def _spec(app: AppConfig, token: tuple[str, float] | None) -> dict[str, Any]:
        if "tp_client_id" not in app.credentials:
            return engine_spec(app, None)
        if token is None:  # pragma: no cover - the driver ships one or marks the app failed
            raise InvalidArgument(f"app {app.name!r}: no access token from the driver")
        c = app.credentials
        spec: dict[str, Any] = {"provider": "baidu", "access_token": token[0]}
        if app.http:
            spec["http"] = dict(app.http)
        for k in ("base_url", "page_size"):
            if c.get(k) is not None:
                spec[k] = c[k]
        return spec

    @staticmethod
    def _rows(app: AppConfig, parts: list[pl.DataFrame]) -> pl.DataFrame:
        df = pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]
        ids = [] if "app_id" in df.columns else [pl.lit(app.app_id, pl.String).alias("app_id")]
        return df.select(pl.lit(app.name, pl.String).alias("app"), *ids, pl.all())

    def _failure(self, app: AppConfig, message: str, status: str = "failed") -> pl.DataFrame | None:
        """An app left out of the read (or, ``status="gap"``, days of it
        the provider no longer serves): logged as a WARNING on the executor
        in every mode, naming the app and the error class; an ``_error`` row
        in ``PERMISSIVE``."""
        mode = self.opts.mode
        what = {
            "gap": "days not served",
            "failed": "failed" if mode == "FAILFAST" else f"dropped ({mode})",
        }[status]
        _warn(f"{what}: {message}")
        self.dropped[message.split(":", 1)[0]] = self.dropped.get(message.split(":", 1)[0], 0) + 1
        if mode != "PERMISSIVE":
            return None
        return pl.DataFrame({"app": [app.name], "app_id": [app.app_id], ERROR_COLUMN: [message]})


def _warn(message: str) -> None:
    """A WARNING of ``appstats.spark`` that reaches the executor's log even
    where the Python worker configured no logging."""
    if not logging.getLogger().handlers and not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
    log.warning("%s", message)


class _ReaderWithoutPushdown(AppStatsReader):
    """The reader Spark gets when it plans without Python filter pushdown
    (``spark.sql.python.filterPushdown.enabled`` false, Spark's default):
    Spark refuses to plan a reader that implements ``pushFilters`` then, so
    this one keeps Spark's default (every filter Spark's)."""

    pushFilters = DataSourceReader.pushFilters  # type: ignore[assignment]  # noqa: N815


def _planned_without_pushdown() -> bool:
    """Whether the caller is Spark's planning worker with filter pushdown
    off (its ``enable_pushdown`` flag); elsewhere (the pushdown worker,
    direct calls) a reader may push filters."""
    f = sys._getframe(1)
    for _ in range(4):
        if f is None:
            break
        if f.f_code.co_filename.endswith("plan_data_source_read.py"):
            return f.f_locals.get("enable_pushdown") is not True
        f = f.f_back  # type: ignore[assignment]
    return False


def _pruned(opts: _Options, schema: StructType) -> _Options:
    """Column pruning where the provider allows: a schema given with
    ``.schema(...)`` that keeps only some MTA metrics or IM fields requests
    only those (``metrics`` / ``fields``), unless the options name them."""
    if opts.provider not in ("mta", "tim") or {"metrics", "fields"} & opts.options.keys():
        return opts
    from .lazy._pushdown import metric_option

    picked = metric_option(opts.provider, opts.report, schema.fieldNames())
    if not picked:
        return opts
    out = copy.copy(opts)
    out.options = {**opts.options, **picked}
    return out


def _servable(app: AppConfig, opts: _Options) -> tuple[list[tuple[str, str]], str | None]:
    """The windows of ``app`` its provider still serves, and the gap (as an
    ``_error`` message) when the read starts earlier — as the sync and dlt
    do: load the servable days, report the others (Tencent IM: 30 days)."""
    history = next(
        (
            r.history_days
            for r in catalog.REPORTS.values()
            if r.provider == opts.provider and r.method == opts.report and r.history_days
        ),
        None,
    )
    windows = list(opts.windows)
    if history is None:
        return windows, None
    today = _day(str(app.credentials["today"]), "today") if app.credentials.get("today") else None
    oldest = (today or today_cn()) - _dt.timedelta(days=history)
    first = _dt.date.fromisoformat(windows[0][0])
    if first >= oldest:
        return windows, None
    lost_to = min(opts.end, oldest - _dt.timedelta(days=1))
    gap = (
        f"HistoryLimit: app {app.name!r} ({app.provider} {app.app_id}), {first} – {lost_to}: "
        f"{app.provider} serves only the last {history} days; these can no longer be fetched"
    )
    kept = [
        (max(_dt.date.fromisoformat(s), oldest).isoformat(), e)
        for s, e in windows
        if _dt.date.fromisoformat(e) >= oldest
    ]
    return kept, gap


def _conform(df: pl.DataFrame, schema: StructType) -> pa.Table:
    """``df`` as an Arrow table of exactly ``schema`` (Spark rejects e.g.
    ``large_string`` where it declared ``string``): declared columns cast,
    missing ones null, free-form ones into the ``extras`` map."""
    target = to_arrow_schema(schema, timezone="UTC")
    names = set(target.names)
    n = df.height
    cols = []
    for f in target:
        if f.name == EXTRAS_COLUMN and pa.types.is_map(f.type) and f.name not in df.columns:
            extra = [c for c in df.columns if c not in names]
            rows = (
                [
                    [(k, str(v)) for k, v in zip(extra, r, strict=True) if v is not None]
                    for r in df.select(extra).iter_rows()
                ]
                if extra
                else [[]] * n
            )
            cols.append(pa.array(rows, f.type))
        elif f.name in df.columns:
            cols.append(df[f.name].to_arrow().cast(f.type))
        else:
            cols.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(cols, schema=target)


class _Batcher:
    """Collects the apps' frames and hands them on as Arrow record batches of
    the declared schema, about ``BATCH_ROWS`` rows each (one conversion per
    batch, not per app)."""

    def __init__(self, schema: StructType) -> None:
        self.schema = schema
        self.frames: list[pl.DataFrame] = []
        self.rows = 0

    def add(self, frame: pl.DataFrame | None) -> Iterator[pa.RecordBatch]:
        if frame is not None and frame.height:
            self.frames.append(frame)
            self.rows += frame.height
        if self.rows >= BATCH_ROWS:
            yield from self.flush()

    def flush(self) -> Iterator[pa.RecordBatch]:
        if not self.frames:
            return
        df = pl.concat(self.frames, how="diagonal_relaxed")
        self.frames, self.rows = [], 0
        yield from _conform(df, self.schema).to_batches(max_chunksize=BATCH_ROWS)
