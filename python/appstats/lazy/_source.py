"""The Polars IO source behind :func:`appstats.scan`: the lake's rows first,
then each app's fetched rows as its tasks finish (the Rust fan-out), every
batch filtered by the whole predicate and cut to the projection."""

from __future__ import annotations

import datetime as _dt
import logging
import pathlib
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..errors import InvalidArgument, LakeError
from ..sync.apps import engine_spec, explain_error, restated
from ..sync.catalog import Report
from ..sync.config import AppConfig, SyncConfig
from ..sync.fanout import Task, fetch_many
from ..sync.planner import PlannedTask
from ..sync.store import PARTITION, DeltaStore, RunRecord
from ..sync.tokens import TokenStore
from . import _pushdown
from ._plan import AppPlan, MissingDaysWarning, ScanPlan, intervals, lake_days, plan_app

__all__ = ["ScanSource"]

log = logging.getLogger("appstats.scan")
ONE = _dt.timedelta(days=1)


@dataclass
class ScanSource:
    """One :func:`appstats.scan`: its report, apps and settings; called by
    Polars with the query's projection, predicate and row limit."""

    report: Report
    config: SyncConfig
    apps: tuple[AppConfig, ...]
    schema: dict[str, pl.DataType]
    today: _dt.date
    lake: bool
    fetch: bool
    lag_days: int | None
    write_back: bool
    #: set by :func:`appstats.scan_plan`: record the plan, send nothing
    planning: list[ScanPlan] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- planning ---------------------------------------------------------------------

    def _store(self) -> DeltaStore | None:
        if not self.lake and not self.write_back:
            return None
        return DeltaStore(self.config.uri, self.config.storage_options)

    def lag(self, app: AppConfig) -> int:
        """Days before yesterday whose numbers may still change."""
        lag = app.lag_days if self.lag_days is None else self.lag_days
        return max(lag, self.report.horizon_days)

    def plan(self, predicate: pl.Expr | None, needed: list[str] | None) -> ScanPlan:
        """What a query with ``predicate`` and the ``needed`` columns reads."""
        r = self.report
        c = _pushdown.constraints(predicate)
        first, last, days = _pushdown.day_bounds(c.get(r.day_column))
        yesterday = self.today - ONE
        last = min(last, yesterday) if last is not None else yesterday
        apps = list(self.apps)
        for col, attr in (("app", "name"), ("app_id", "app_id")):
            allowed = _pushdown.names(c.get(col))
            if allowed is not None:
                apps = [a for a in apps if str(getattr(a, attr)) in allowed]
        slices: tuple[str | None, ...] = r.slice_values()
        if r.slices is not None:
            chosen = _pushdown.names(c.get(r.slices[2]))
            if chosen is not None:
                slices = tuple(s for s in slices if s in chosen)
        store = self._store() if self.lake else None
        has_lake = store is not None and store.exists(r.table)
        if first is None and not has_lake:
            raise InvalidArgument(
                f"scan of {r.key}: the query has no lower bound on {r.day_column!r} "
                "and there is no lake to read: filter it, e.g. "
                f'.filter(pl.col("{r.day_column}") >= date(2024, 3, 1)) — a scan never '
                "fetches everything since each app's start"
            )
        wanted: dict[str, list[tuple[_dt.date, _dt.date]]] = {}
        for a in apps:
            lo = first if first is not None else a.start
            if lo > last:
                wanted[a.name] = []
            elif days is not None:
                wanted[a.name] = intervals(d for d in days if lo <= d <= last)
            else:
                wanted[a.name] = [(lo, last)]
        held: dict[tuple[str, str], list[tuple[_dt.date, _dt.date]]] = {}
        spans = [iv for ivs in wanted.values() for iv in ivs]
        if has_lake and store is not None and spans:
            held = lake_days(
                store,
                r,
                apps,
                min(s for s, _ in spans),
                max(e for _, e in spans),
                self.today,
                {a.name: self.lag(a) for a in apps},
            )
        plans = [
            plan_app(
                a, r, sl, wanted[a.name], held.get((a.name, sl or ""), []), self.today, self.fetch
            )
            for a in apps
            for sl in slices
            if wanted[a.name]
        ]
        opts = {} if self.write_back or needed is None else self._selection(needed)
        return ScanPlan(r, self.today, tuple(plans), self.config.uri if has_lake else None, opts)

    def _selection(self, needed: list[str]) -> dict[str, str]:
        return _pushdown.metric_option(self.report.provider, self.report.method, needed)

    # -- the IO source ----------------------------------------------------------------

    def __call__(
        self,
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        needed = None
        if with_columns is not None:
            needed = list(with_columns)
            if predicate is not None:
                needed += [c for c in predicate.meta.root_names() if c not in needed]
        the_plan = self.plan(predicate, needed)
        with self.lock:
            planning = self.planning
        if planning is not None:
            planning.append(the_plan)
            return
        cols = with_columns or list(self.schema)
        left = n_rows

        def out(df: pl.DataFrame) -> Iterator[pl.DataFrame]:
            nonlocal left
            df = self._conform(df)
            if predicate is not None:
                df = df.filter(predicate)
            df = df.select(cols)
            if left is not None:
                df = df.head(left)
                left -= df.height
            if df.height:
                yield df

        missing = [a for a in the_plan.apps if a.missing]
        if missing and self.fetch:
            names = ", ".join(
                f"{a.app.name}{f' [{a.slice}]' if a.slice else ''} "
                f"{a.missing[0][0]} – {a.missing[-1][1]}"
                for a in missing[:5]
            )
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            warnings.warn(
                f"scan of {self.report.key}: days neither in the lake nor servable are "
                f"missing from the result: {names}{more} ({missing[0].reason})",
                MissingDaysWarning,
                stacklevel=2,
            )
        for df in self._lake_rows(the_plan, needed):
            yield from out(df)
            if left == 0:
                return
        for df in self._fetched(the_plan):
            yield from out(df)
            if left == 0:
                return

    def _conform(self, df: pl.DataFrame) -> pl.DataFrame:
        """``df`` with the scan's columns and dtypes (a projected fetch lacks
        the columns not asked for: nulls, never selected)."""
        return df.select(
            pl.col(n).cast(t) if n in df.columns else pl.lit(None, t).alias(n)
            for n, t in self.schema.items()
        )

    def _lake_rows(self, plan: ScanPlan, needed: list[str] | None) -> Iterator[pl.DataFrame]:
        r = self.report
        parts = [(a.app.name, a.slice or "", s, e) for a in plan.apps for s, e in a.lake if a.lake]
        if not parts:
            return
        store = self._store()
        assert store is not None
        keys = pl.DataFrame(
            parts,
            schema={"app": pl.String, "slice": pl.String, "s": pl.Date, "e": pl.Date},
            orient="row",
        )
        keys = keys.select("app", "slice", pl.date_ranges("s", "e").alias(r.day_column)).explode(
            r.day_column
        )
        on = ["app", r.day_column]
        if r.slices is not None:
            keys = keys.rename({"slice": r.slices[2]})
            on.append(r.slices[2])
        else:
            keys = keys.drop("slice")
        first, last = min(p[2] for p in parts), max(p[3] for p in parts)
        lf = store.scan(r.table).filter(
            pl.col("app").is_in(keys["app"].unique().to_list())
            & pl.col(PARTITION).is_between(
                pl.lit(first.strftime("%Y-%m")), pl.lit(last.strftime("%Y-%m"))
            )
            & pl.col(r.day_column).is_between(first, last)
        )
        if needed is not None:
            lf = lf.select(sorted({*needed, *on} & set(lf.collect_schema().names())))
        try:
            df = lf.join(keys.lazy(), on=on, how="semi").collect()
        except Exception as e:
            raise LakeError(store.describe(e, f"reading {r.table}")) from None
        yield df

    def _fetched(self, plan: ScanPlan) -> Iterator[pl.DataFrame]:
        todo = [a for a in plan.apps if a.fetch]
        if not todo:
            return
        r = self.report
        options = {**r.options, **plan.options}
        tasks: list[Task] = []
        owners: list[tuple[AppPlan, PlannedTask]] = []
        for a in todo:
            for t in a.fetch:
                tasks.append(
                    Task(
                        a.app.name,
                        r.method,
                        t.start,
                        t.end,
                        {**options, **r.task_options(t.slice)},
                        r.per_day,
                    )
                )
                owners.append((a, t))
        by_app = {a.app.name: a.app for a in todo}
        programs = [a for a in by_app.values() if "tp_client_id" in a.credentials]
        cfg = self.config
        tokens = (
            TokenStore(cfg.token_store or pathlib.Path("appstats.tokens.json"))
            if programs
            else None
        )
        writer: _WriteBack | None = None
        left = {a.app.name: 0 for a in todo}
        for a in todo:
            left[a.app.name] += len(a.fetch)
        got: dict[str, list[tuple[int, pl.DataFrame]]] = {n: [] for n in left}
        try:
            if self.write_back:
                writer = _WriteBack(self, cfg)
            if tokens is not None:
                tokens.open()
            specs = {n: engine_spec(app, tokens) for n, app in by_app.items()}
            with fetch_many(
                specs,
                tasks,
                concurrency=cfg.concurrency,
                active_apps=cfg.active_apps,
                progress=False,
            ) as run:
                for o in run:
                    ap, pt = owners[o.position]
                    app = ap.app
                    if o.error is not None:
                        msg = (
                            f"scan of {r.key}: app {app.name!r} ({app.provider} "
                            f"{app.app_id}), {pt.start} – {pt.end}: "
                            f"{explain_error(app, o.error, tokens)}"
                        )
                        raise restated(o.error, msg)
                    frame = self._rows(app, o.frame)
                    if writer is not None:
                        writer.add(pt, o.frame, o)
                    keep = _cut(frame, r.day_column, ap.keep)
                    if r.slices is not None and pt.slice is not None:
                        keep = keep.filter(pl.col(r.slices[2]) == pt.slice)
                    got[app.name].append((o.position, keep))
                    left[app.name] -= 1
                    if left[app.name] == 0:
                        parts = [f for _, f in sorted(got.pop(app.name), key=lambda x: x[0])]
                        yield pl.concat(parts, how="diagonal_relaxed")
            if writer is not None:
                writer.close()
        finally:
            if writer is not None:
                writer.release()
            if tokens is not None:
                tokens.close()

    @staticmethod
    def _rows(app: AppConfig, frame: pl.DataFrame) -> pl.DataFrame:
        ids = [] if "app_id" in frame.columns else [pl.lit(app.app_id, pl.String).alias("app_id")]
        return frame.select(pl.lit(app.name, pl.String).alias("app"), *ids, pl.all())


def _cut(df: pl.DataFrame, day: str, keep: tuple[tuple[_dt.date, _dt.date], ...]) -> pl.DataFrame:
    """The rows of ``df`` on the days ``keep`` covers (an aligned or merged
    fetch window reaches beyond them)."""
    if not keep or day not in df.columns:
        return df
    cond = pl.any_horizontal(*(pl.col(day).is_between(s, e) for s, e in keep))
    return df.filter(cond)


class _WriteBack:
    """``write_back=True``: fetched windows replace their slices in the lake
    (the sync's idempotent commit, under the lake's lease) and are recorded
    in ``_runs``."""

    def __init__(self, source: ScanSource, cfg: SyncConfig) -> None:
        from ..sync.lease import LakeLease

        self.store = DeltaStore(cfg.uri, cfg.storage_options)
        self.store.check_writable()
        self.lease: LakeLease | None = LakeLease(self.store)
        self.lease.acquire()
        self.tasks: list[PlannedTask] = []
        self.frames: list[pl.DataFrame] = []
        self.records: list[RunRecord] = []
        self.report = source.report

    def add(self, task: PlannedTask, frame: pl.DataFrame, o: Any) -> None:
        rows = DeltaStore.rows(task, frame, o.finished)
        self.tasks.append(task)
        self.frames.append(rows)
        self.records.append(
            RunRecord(
                task,
                "ok",
                rows=rows.height,
                requests=o.requests,
                retries=o.retries,
                started_at=o.started,
                finished_at=o.finished,
            )
        )

    def close(self) -> None:
        """Commit every fetched window (one commit) and its ``_runs`` rows."""
        if self.tasks:
            if self.lease is not None:
                self.lease.check()
            self.store.replace(self.report, self.tasks, self.frames)
            self.store.log_runs(self.records)
            self.tasks, self.frames, self.records = [], [], []

    def release(self) -> None:
        if self.lease is not None:
            self.lease.release()
            self.lease = None
