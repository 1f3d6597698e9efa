"""One sync run: config → plan (from the tables' state) → fan-out (Rust) →
slices replaced in Delta, batched per table → ``_runs`` → upkeep."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .._common import DateLike
from ..errors import LakeError
from ..metrics._lake import update_from_run as update_metrics
from .apps import run_dates, select_apps, today_cn
from .config import AppConfig, SyncConfig, load_config
from .execute import execute
from .lease import DEFAULT_LEASE_TTL_S, LakeLease
from .planner import Plan, PlannedTask, make_plan
from .store import DEFAULT_RETENTION_HOURS, RUNS_TABLE, DeltaStore, RunRecord

__all__ = ["run", "plan", "today_cn", "SUMMARY_SCHEMA"]

log = logging.getLogger("appstats.sync")

#: Commit a table's buffered slices once this many tasks (or rows) wait,
#: or once the oldest has waited this many seconds: a crash loses at most
#: the last batch, and a slow app never holds back the others' rows.
BATCH_TASKS = 256
BATCH_ROWS = 500_000
BATCH_SECONDS = 30.0
#: Error classes that end an app's tasks for this run as ``deferred`` (the
#: provider keeps refusing for now: the next run fetches them first).
DEFERRED = frozenset({"RateLimited", "QuotaExceeded"})

SUMMARY_SCHEMA: dict[str, Any] = {
    "app": pl.String,
    "provider": pl.String,
    "report": pl.String,
    "table": pl.String,
    "slice": pl.String,
    "start": pl.Date,
    "end": pl.Date,
    "rows": pl.Int64,
    "requests": pl.Int64,
    "retries": pl.Int64,
    "status": pl.String,
    "error": pl.String,
}


def plan(
    config: SyncConfig | str | os.PathLike[str],
    *,
    until: DateLike | None = None,
    apps: Iterable[str] | None = None,
    reports: Iterable[str] | None = None,
    full_refresh: bool = False,
    today: DateLike | None = None,
    allow_literal_secrets: bool = False,
) -> Plan:
    """The plan of a sync (nothing is fetched): see :func:`run`."""
    cfg, t, u = run_dates(config, until, today, allow_literal_secrets)
    chosen = select_apps(cfg, apps, reports)
    store = DeltaStore(cfg.uri, cfg.storage_options)
    tables = {r.table for a in chosen for r in a.reports}
    return make_plan(chosen, store.state(tables), t, u, full_refresh=full_refresh)


@dataclass
class _Buffer:
    tasks: list[PlannedTask] = field(default_factory=list)
    frames: list[pl.DataFrame] = field(default_factory=list)
    records: list[RunRecord] = field(default_factory=list)
    rows: int = 0
    since: float = field(default_factory=time.monotonic)


class _Writer:
    """Buffers fetched slices per table and commits them in batches (by
    tasks, rows or age: a background thread commits batches older than
    ``batch_seconds`` while the fetch goes on); a batch's ``_runs`` rows are
    written after its data. Every commit first checks the lake's lease."""

    def __init__(
        self, store: DeltaStore, lease: LakeLease | None, batch_seconds: float = BATCH_SECONDS
    ) -> None:
        self.store = store
        self.lease = lease
        self.batch_seconds = batch_seconds
        self.buffers: dict[str, _Buffer] = {}
        self.done: list[RunRecord] = []
        self.unlogged: list[RunRecord] = []
        self.lock = threading.RLock()
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._age, name="appstats-commit", daemon=True)
        self._thread.start()

    def _age(self) -> None:
        while not self._stop.wait(min(1.0, self.batch_seconds)):
            try:
                with self.lock:
                    now = time.monotonic()
                    for table, b in list(self.buffers.items()):
                        if now - b.since >= self.batch_seconds:
                            self.flush(table)
            except BaseException as e:  # raised in the run's thread by raise_error
                self.error = e
                return

    def raise_error(self) -> None:
        """Re-raise a lake error the background commit met."""
        if self.error is not None:
            raise self.error

    def add(self, task: PlannedTask, frame: pl.DataFrame, rec: RunRecord) -> None:
        self.raise_error()
        with self.lock:
            b = self.buffers.setdefault(task.report.table, _Buffer())
            b.tasks.append(task)
            b.frames.append(frame)
            b.records.append(rec)
            b.rows += frame.height
            if len(b.tasks) >= BATCH_TASKS or b.rows >= BATCH_ROWS:
                self.flush(task.report.table)

    def note(self, rec: RunRecord) -> None:
        """A failed, deferred or gap attempt: no data, only its ``_runs`` row."""
        with self.lock:
            self.unlogged.append(rec)
            self.done.append(rec)

    def flush(self, table: str) -> None:
        with self.lock:
            b = self.buffers.pop(table, None)
            if b is None or not b.tasks:
                return
            if self.lease is not None:
                self.lease.check()  # never write a lake another run holds
            try:
                self.store.replace(b.tasks[0].report, b.tasks, b.frames)
            except Exception as e:  # deltalake/object-store errors: the slices stay as they were
                msg = self.store.describe(e, f"writing {table}")
                log.error(msg)
                for r in b.records:
                    r.status, r.rows, r.error_class, r.error = "failed", 0, "WriteError", msg
            self.unlogged.extend(b.records)
            self.done.extend(b.records)
            self.log()

    def log(self) -> None:
        with self.lock:
            recs, self.unlogged = self.unlogged, []
            self.store.log_runs(recs)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def close(self) -> None:
        self.stop()
        self.raise_error()
        with self.lock:
            for table in list(self.buffers):
                self.flush(table)
            self.log()


def run(
    config: SyncConfig | str | os.PathLike[str],
    *,
    until: DateLike | None = None,
    apps: Iterable[str] | None = None,
    reports: Iterable[str] | None = None,
    full_refresh: bool = False,
    dry_run: bool = False,
    optimize: bool = False,
    progress: bool | Callable[[int, int, int], Any] | None = None,
    today: DateLike | None = None,
    allow_literal_secrets: bool = False,
    retention_hours: int = DEFAULT_RETENTION_HOURS,
    lease_wait: float = 0.0,
    lease_ttl: float = DEFAULT_LEASE_TTL_S,
    batch_seconds: float = BATCH_SECONDS,
) -> pl.DataFrame:
    """Sync every report of every app of ``config`` into Delta tables.

    For each app and report the run fetches what is new since the last
    synced day, plus the last ``lag_days`` (retention: its maturity
    horizon), up to ``until``; each fetched slice replaces exactly what the
    table held for it, so any number of reruns gives the same tables. One
    app's failure does not stop the others: it is named in the summary.

    Args:
        config: a :class:`SyncConfig` or the path of a TOML config.
        until: last day to sync (default: yesterday in China, UTC+8 — the
            providers have no complete data for today).
        apps: only these apps (config names).
        reports: only these reports (``name``, ``provider.name`` or
            ``provider.*``).
        full_refresh: ignore the synced state: fetch everything from each
            app's ``start`` again.
        dry_run: plan only: return the plan (status ``planned`` / ``gap``),
            send nothing, write nothing.
        optimize: compact every table and vacuum files removed more than
            ``retention_hours`` ago (the sync also does this on its own for
            tables with many small files).
        progress: ``None`` (a bar if tqdm is installed), ``False`` or a
            callable ``(done, total, failed_apps)``.
        today: the day the run is for (default: today in China); for
            replays and sandboxes with a fixed date.
        allow_literal_secrets: accept secrets written in the config itself.
        retention_hours: how long removed files are kept (time travel).
        lease_wait: seconds to wait for the lake's lease when another run
            holds it (default 0: stop at once with :class:`~appstats.LakeBusy`).
        lease_ttl: seconds the lease lasts unless renewed (the run renews it
            in the background; a crashed run blocks the lake this long).
        batch_seconds: commit a table's fetched slices at the latest this
            many seconds after the first of them arrived.

    Before anything is sent, the lake must be writable (else
    :class:`~appstats.LakeError` naming it and the cause) and the run takes
    the lake's lease (:mod:`appstats.sync.lease`). Slices are committed in
    batches as the fetch goes on. An app whose provider keeps answering
    "rate limited" or "quota exceeded" ends with status ``deferred``, as do
    the tasks left when the run is interrupted (Ctrl-C: what was fetched is
    committed first); the next run fetches deferred tasks first. Days with
    rows from two fetches (doubled by an older version's overlapping runs)
    are repaired, keeping the newest.

    Returns:
        One row per (app, report, slice, window): ``rows``, ``requests``,
        ``retries``, ``status`` (``ok``, ``failed``, ``deferred``, ``gap``)
        and the ``error`` (class and redacted message).

    Examples:
        >>> import appstats as aps, tempfile
        >>> with aps.Sandbox(apps=2, today="2024-04-01") as sb:
        ...     cfg = aps.sync.sandbox_config(sb, tempfile.mkdtemp(), start="2024-03-25",
        ...                                   reports=["mta.user_basic", "tim.app_info"])
        ...     first = aps.sync(cfg, today=sb.today, progress=False)
        ...     again = aps.sync(cfg, today=sb.today, progress=False)
        >>> first["status"].to_list(), first["rows"].sum()
        (['ok', 'ok', 'ok', 'ok'], 28)
        >>> again["start"].min()  # only the lag window (3 days) again
        datetime.date(2024, 3, 29)
    """
    cfg, t, u = run_dates(config, until, today, allow_literal_secrets)
    chosen = select_apps(cfg, apps, reports)
    store = DeltaStore(cfg.uri, cfg.storage_options)
    tables = {r.table for a in chosen for r in a.reports}
    if dry_run:
        return make_plan(chosen, store.state(tables), t, u, full_refresh=full_refresh).frame()
    # the target first: nothing is sent, no token spent, unless the lake
    # can be written and no other run writes it
    store.check_writable()
    lease = LakeLease(store, ttl=lease_ttl, wait=lease_wait)
    lease.acquire()
    try:
        records = _run(cfg, chosen, store, lease, t, u, full_refresh, progress, batch_seconds)
        for report in {r.key: r for a in chosen for r in a.reports}.values():
            store.check(report)  # once per table an older version wrote
        lease.check()
        update_metrics(store, records)  # the `metrics` table, for the slices written
        store.optimize(
            [*sorted(store.touched - {RUNS_TABLE}), RUNS_TABLE],
            force=optimize,
            retention_hours=retention_hours,
        )
    finally:
        lease.release()
    return summary(records)


def _run(
    cfg: SyncConfig,
    chosen: list[AppConfig],
    store: DeltaStore,
    lease: LakeLease,
    today: Any,
    until: Any,
    full_refresh: bool,
    progress: bool | Callable[[int, int, int], Any] | None,
    batch_seconds: float,
) -> list[RunRecord]:
    """Plan, fetch and commit, under the lease; the attempts' records."""
    tables = {r.table for a in chosen for r in a.reports}
    state = store.state(tables)
    for rep in {r.key: r for a in chosen for r in a.reports}.values():
        for app, day in store.unfilled_cohorts(rep).items():
            key = (app, rep.table, "")
            if key in state:
                state[key] = [(s, e) for s, e in state[key] if e < day]
                log.warning(
                    "%s: %s's cohorts from %s have no cohort_size (written by an older "
                    "version): fetching them again",
                    rep.table,
                    app,
                    day,
                )
    the_plan = make_plan(chosen, state, today, until, full_refresh=full_refresh)
    first = store.deferred()
    # what the last run deferred goes first (a stable sort keeps the plan's order)
    planned = sorted(the_plan.tasks, key=lambda p: (p.app.name, p.report.table) not in first)
    writer = _Writer(store, lease, batch_seconds)
    for g in the_plan.gaps:
        writer.note(
            RunRecord(
                PlannedTask(g.app, g.report, g.slice, g.start, g.end),
                "gap",
                error_class="HistoryLimit",
                error=g.reason,
            )
        )
    finished: set[int] = set()
    try:
        for o, message in execute(cfg, planned, progress=progress):
            finished.add(o.position)
            pt = planned[o.position]
            rec = RunRecord(
                pt,
                "ok",
                requests=o.requests,
                retries=o.retries,
                started_at=o.started,
                finished_at=o.finished,
            )
            if o.error is not None:
                rec.error_class = type(o.error).__name__
                rec.status = "deferred" if rec.error_class in DEFERRED else "failed"
                rec.error = message
                writer.note(rec)
                continue
            rows = DeltaStore.rows(pt, o.frame, o.finished)
            rec.rows = rows.height
            writer.add(pt, rows, rec)
        writer.close()
    except LakeError:
        writer.stop()
        raise
    except BaseException as e:
        # Ctrl-C (or any other stop): commit what was fetched, record the
        # tasks left as deferred, then let the interruption go on
        writer.stop()
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            for i, pt in enumerate(planned):
                if i not in finished:
                    writer.note(
                        RunRecord(
                            pt,
                            "deferred",
                            error_class="Interrupted",
                            error=f"the run stopped ({type(e).__name__}) before this task finished",
                        )
                    )
        try:
            writer.close()
        except Exception as also:  # the first error is the one to see
            log.error("committing after %s failed: %s", type(e).__name__, also)
        raise
    return writer.done


def summary(records: Iterable[RunRecord]) -> pl.DataFrame:
    """The summary frame of a run's attempts."""
    rows = [
        {
            "app": r.task.app.name,
            "provider": r.task.app.provider,
            "report": r.task.report.key,
            "table": r.task.report.table,
            "slice": r.task.slice or "",
            "start": r.task.start,
            "end": r.task.end,
            "rows": r.rows,
            "requests": r.requests,
            "retries": r.retries,
            "status": r.status,
            "error": f"{r.error_class}: {r.error}" if r.error_class else None,
        }
        for r in records
    ]
    return pl.DataFrame(rows, schema=SUMMARY_SCHEMA, orient="row").sort(
        "app", "report", "slice", "start"
    )


def optimize(
    config: SyncConfig | str | os.PathLike[str],
    *,
    retention_hours: int = DEFAULT_RETENTION_HOURS,
    allow_literal_secrets: bool = False,
) -> dict[str, dict[str, int]]:
    """Compact every table of the target and vacuum old files (no fetch)."""
    cfg = (
        config
        if isinstance(config, SyncConfig)
        else load_config(config, allow_literal_secrets=allow_literal_secrets)
    )
    store = DeltaStore(cfg.uri, cfg.storage_options)
    return store.optimize(store.tables(), force=True, retention_hours=retention_hours)
