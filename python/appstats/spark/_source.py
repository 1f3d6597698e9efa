"""The data source, its reader and partitions: planning on the driver, reading on executors."""

from __future__ import annotations

import copy
import datetime as _dt
import logging
import sys
from collections.abc import Iterator
from typing import Any

import polars as pl

from ..errors import InvalidArgument
from ..sync import catalog
from ..sync.apps import engine_spec, today_cn
from ..sync.config import AppConfig
from ..sync.fanout import Task, fetch_many
from ._arrow import _Batcher
from ._consts import (
    ERROR_COLUMN,
)
from ._deps import (
    DataSource,
    DataSourceReader,
    InputPartition,
    StructType,
    pa,
)
from ._options import _day, _Options
from ._tokens import AppsPartition, _named, _program_tokens

log = logging.getLogger("appstats.spark")


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
    from ..lazy._pushdown import metric_option

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
