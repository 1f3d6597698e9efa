"""Delta Lake tables of the sync: exact slice replacement, the ``_runs``
table, compaction and vacuum (with delta-rs, ``pip install 'appstats[sync]'``).

Every fetched slice — an app's rows of one report (and slice) over one
window — replaces exactly what the table held for it, atomically, with a
predicate overwrite (``app IN (...) AND <day> >= start AND <day> <= end``).
Slices of many apps go into one commit per table: a commit costs tens of
milliseconds and leaves files behind, so one per app would dominate a sync
of thousands of apps. Tables are partitioned by ``month`` (``YYYY-MM`` of
the row's day): a daily run rewrites only the current month's files, and
files stay large (all apps of a month together) instead of one small file
per app and day.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..errors import LakeError, MissingDependency
from .catalog import Report
from .planner import PlannedTask

__all__ = ["DeltaStore", "RunRecord", "RUNS_TABLE", "RUNS_SCHEMA"]

log = logging.getLogger("appstats.sync")

RUNS_TABLE = "_runs"
PARTITION = "month"
#: Keep removed files this long (time travel reaches back as far).
DEFAULT_RETENTION_HOURS = 7 * 24
#: Compact a table once it has more than this many files per partition.
FILES_PER_PARTITION = 8
#: The description of a report table this version created, or checked
#: once: its rows hold one fetch per (app, slice, day), and MTA retention
#: every cohort size. Tables an older version wrote lack it; the next sync
#: checks them (and repairs what it finds) and then sets it, so the checks'
#: scans of whole tables run once per table, not on every run. Older
#: versions take no lease: do not let them write into a lake this one syncs.
CHECKED = "appstats sync table: one fetch per (app, slice, day); cohort sizes filled"

RUNS_SCHEMA: dict[str, Any] = {
    "run_id": pl.String,
    "app": pl.String,
    "provider": pl.String,
    "app_id": pl.String,
    "report": pl.String,
    "table": pl.String,
    "slice": pl.String,
    "window_start": pl.Date,
    "window_end": pl.Date,
    "status": pl.String,
    "rows": pl.Int64,
    "requests": pl.Int64,
    "retries": pl.Int64,
    "started_at": pl.Datetime("us", "UTC"),
    "finished_at": pl.Datetime("us", "UTC"),
    "error_class": pl.String,
    "error": pl.String,
}


def _deltalake() -> Any:
    try:
        import deltalake
    except ImportError as e:
        raise MissingDependency(
            "appstats sync writes Delta tables with deltalake; install it "
            "with: pip install 'appstats[sync]'"
        ) from e
    return deltalake


@dataclass
class RunRecord:
    """One row of ``_runs``: an attempt at one (app, report, slice, window)."""

    task: PlannedTask
    status: str  # ok | failed | gap | deferred
    rows: int = 0
    requests: int = 0
    retries: int = 0
    started_at: _dt.datetime | None = None
    finished_at: _dt.datetime | None = None
    error_class: str | None = None
    error: str | None = None

    def row(self, run_id: str) -> dict[str, Any]:
        t = self.task
        now = _dt.datetime.now(_dt.timezone.utc)
        return {
            "run_id": run_id,
            "app": t.app.name,
            "provider": t.app.provider,
            "app_id": t.app.app_id,
            "report": t.report.key,
            "table": t.report.table,
            "slice": t.slice or "",
            "window_start": t.start,
            "window_end": t.end,
            "status": self.status,
            "rows": self.rows,
            "requests": self.requests,
            "retries": self.retries,
            "started_at": self.started_at or now,
            "finished_at": self.finished_at or now,
            "error_class": self.error_class,
            "error": self.error,
        }


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class DeltaStore:
    """The tables of one target (a folder or an object-store URI)."""

    def __init__(self, uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.dl = _deltalake()
        self.uri = uri.rstrip("/")
        self.options = dict(storage_options or {}) or None
        self.run_id = uuid.uuid4().hex
        self.touched: set[str] = set()

    def table_uri(self, table: str) -> str:
        return f"{self.uri}/{table}"

    def describe(self, e: BaseException, doing: str) -> str:
        """One line naming the lake, what was being done and the cause
        (a Delta, object-store or OS error), for :class:`~appstats.LakeError`."""
        if isinstance(e, OSError) and e.strerror:
            cause = e.strerror + (f": {e.filename}" if e.filename else "")
        else:
            cause = " ".join(str(e).split())[:300] or type(e).__name__
        return f"lake {self.uri!r}: {doing} failed: {cause}"

    def check_writable(self) -> None:
        """Raise :class:`~appstats.LakeError` unless the lake can be written
        (before a run sends any request): a local lake must be a folder (it
        is created) whose files can be written; any lake must hold readable
        tables. Taking the lease then writes to it for real."""
        if "://" not in self.uri or self.uri.startswith("file://"):
            import pathlib
            import tempfile

            root = pathlib.Path(self.uri.removeprefix("file://"))
            try:
                root.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=root, prefix=".appstats-probe-") as f:
                    f.write(b"probe" * 200)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                raise LakeError(self.describe(e, "writing")) from None

    def once(self, custom_metadata: dict[str, str] | None = None) -> Any:
        """Commit properties of a commit that must not be retried.

        delta-rs retries a commit that lost a race as the next version when
        it sees no conflict, which turns a losing create (``mode="error"``)
        into an append of its rows: measured with deltalake 1.6.6, two
        threads creating one table at once kept both rows in 19 of 20
        tries. Without retries the loser fails (``CommitFailedError``).
        """
        return self.dl.CommitProperties(max_commit_retries=0, custom_metadata=custom_metadata)

    def exists(self, table: str) -> bool:
        return bool(self.dl.DeltaTable.is_deltatable(self.table_uri(table), self.options))

    def deferred(self) -> set[tuple[str, str]]:
        """(app, table) pairs whose tasks the last run deferred (a provider
        that kept answering "rate limited" or "quota exceeded", or an
        interrupted run): the next run fetches them first."""
        if not self.exists(RUNS_TABLE):
            return set()
        try:
            runs = self.scan(RUNS_TABLE).select("run_id", "finished_at", "app", "table", "status")
            last = (
                runs.group_by("run_id")
                .agg(pl.col("finished_at").max())
                .sort("finished_at")
                .tail(1)
                .select("run_id")
            )
            df = (
                runs.join(last, on="run_id", how="semi")
                .filter(pl.col("status") == "deferred")
                .select("app", "table")
                .unique()
                .collect()
            )
        except Exception as e:
            raise LakeError(self.describe(e, "reading the synced state")) from None
        return {(a, t) for a, t in df.iter_rows()}

    def scan(self, table: str) -> pl.LazyFrame:
        """A table as a Polars lazy frame (its current version)."""
        return pl.scan_delta(self.table_uri(table), storage_options=self.options)

    # -- state ---------------------------------------------------------------

    def state(
        self, tables: Iterable[str]
    ) -> dict[tuple[str, str, str], list[tuple[_dt.date, _dt.date]]]:
        """Synced windows per (app, table, slice), from ``_runs`` (only for
        tables that exist: a table deleted by hand is synced again)."""
        try:
            if not self.exists(RUNS_TABLE):
                return {}
            live = [t for t in set(tables) if self.exists(t)]
            if not live:
                return {}
            df = (
                self.scan(RUNS_TABLE)
                .filter(pl.col("status").is_in(["ok", "gap"]) & pl.col("table").is_in(live))
                .select("app", "table", "slice", "window_start", "window_end")
                .unique()
                .collect()
            )
        except Exception as err:
            raise LakeError(self.describe(err, "reading the synced state")) from None
        out: dict[tuple[str, str, str], list[tuple[_dt.date, _dt.date]]] = {}
        for app, table, sl, s, e in df.iter_rows():
            out.setdefault((app, table, sl), []).append((s, e))
        return out

    # -- writing ---------------------------------------------------------------

    @staticmethod
    def rows(task: PlannedTask, frame: pl.DataFrame, fetched_at: _dt.datetime) -> pl.DataFrame:
        """The frame as table rows: ``app``, ``app_id`` first, then the
        report's columns, ``fetched_at`` and the ``month`` partition."""
        day = task.report.day_column
        # Tencent IM's frame has its own app_id (the SDKAppID): kept as is
        ids = (
            []
            if "app_id" in frame.columns
            else [pl.lit(task.app.app_id, pl.String).alias("app_id")]
        )
        return frame.select(
            pl.lit(task.app.name, pl.String).alias("app"),
            *ids,
            pl.all(),
            pl.lit(fetched_at, pl.Datetime("us", "UTC")).alias("fetched_at"),
            pl.col(day).dt.strftime("%Y-%m").alias(PARTITION),
        )

    def predicate(self, report: Report, tasks: Sequence[PlannedTask]) -> str:
        """What ``tasks`` cover in ``report``'s table, as a SQL predicate."""
        groups: dict[tuple[str | None, _dt.date, _dt.date], list[str]] = {}
        for t in tasks:
            groups.setdefault((t.slice, t.start, t.end), []).append(t.app.name)
        day = report.day_column
        parts = []
        for (sl, s, e), apps in sorted(
            groups.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0] or "")
        ):
            cond = [f"app IN ({', '.join(_quote(a) for a in sorted(set(apps)))})"]
            if sl is not None and report.slices:
                cond.append(f"{report.slices[2]} = {_quote(sl)}")
            cond.append(f"{day} >= '{s.isoformat()}' AND {day} <= '{e.isoformat()}'")
            parts.append("(" + " AND ".join(cond) + ")")
        return " OR ".join(parts)

    def replace(
        self, report: Report, tasks: Sequence[PlannedTask], frames: Sequence[pl.DataFrame]
    ) -> None:
        """Replace the slices of ``tasks`` with ``frames`` in one commit."""
        table = report.table
        data = pl.concat(list(frames), how="vertical") if frames else None
        if data is None:
            return
        uri = self.table_uri(table)
        arrow = data.to_arrow()
        if not self.exists(table):
            # Creating the table is version 0: of two runs creating it at
            # once, one commit fails (not retried: see `once`) and that run
            # replaces its slices like any other (never a blind append).
            try:
                self.dl.write_deltalake(
                    uri,
                    arrow,
                    mode="error",
                    partition_by=[PARTITION],
                    description=CHECKED,
                    storage_options=self.options,
                    commit_properties=self.once(),
                )
                self.touched.add(table)
                return
            except Exception as e:
                if not self.exists(table):
                    raise
                log.info("%s was created by another writer meanwhile (%s)", table, e)
        # A predicate overwrite is conflict-checked: a concurrent commit that
        # touched the same slices makes this one fail, never doubles a row.
        self.dl.write_deltalake(
            uri,
            arrow,
            mode="overwrite",
            predicate=self.predicate(report, tasks),
            partition_by=[PARTITION],
            storage_options=self.options,
        )
        self.touched.add(table)

    def unchecked(self, table: str) -> bool:
        """Whether ``table`` exists and an older version wrote it unchecked
        (no :data:`CHECKED` mark): one read of its log."""
        try:
            dt = self.dl.DeltaTable(self.table_uri(table), storage_options=self.options)
            return bool(dt.metadata().description != CHECKED)
        except self.dl.exceptions.TableNotFoundError:
            return False
        except Exception as e:
            raise LakeError(self.describe(e, f"reading {table}")) from None

    def unfilled_cohorts(self, report: Report) -> dict[str, _dt.date]:
        """MTA retention cohorts an older version wrote without their size
        (``cohort_size`` null beside retained users): per app, the first
        such cohort day. The sync fetches them again from there."""
        if report.provider != "mta" or report.kind != "retention":
            return {}
        if not self.unchecked(report.table):
            return {}
        try:
            lf = self.scan(report.table)
            values = [c for c in ("users", "ratio") if c in lf.collect_schema().names()]
            if not values:
                return {}
            df = (
                lf.filter(
                    pl.col("cohort_size").is_null()
                    & pl.any_horizontal(*(pl.col(c).is_not_null() for c in values))
                )
                .group_by("app")
                .agg(pl.col(report.day_column).min())
                .collect()
            )
        except Exception as e:
            raise LakeError(self.describe(e, f"reading {report.table}")) from None
        return dict(df.iter_rows())

    def check(self, report: Report) -> int:
        """Check (once) a table an older version wrote: :meth:`repair` its
        doubled rows and, when no MTA cohort size is left unfilled, mark it
        :data:`CHECKED`. Returns the rows removed."""
        table = report.table
        if not self.unchecked(table):
            return 0
        removed = self.repair(report)
        if self.unfilled_cohorts(report):
            return removed  # a re-fetch failed: checked again next run
        try:
            dt = self.dl.DeltaTable(self.table_uri(table), storage_options=self.options)
            dt.alter.set_table_description(CHECKED)
        except Exception as e:
            raise LakeError(self.describe(e, f"marking {table} checked")) from None
        log.info("%s: checked (written by an older version), %d rows removed", table, removed)
        self.touched.add(table)
        return removed

    def repair(self, report: Report) -> int:
        """Remove rows doubled by an older version's overlapping runs.

        Every slice is replaced whole, so each (app, slice, day) of a table
        holds the rows of one fetch, stamped with one ``fetched_at``. A day
        with rows of several fetches was appended twice (two runs that
        created the table at once, before the lease and the conflict-checked
        create): its newest fetch is kept, in one commit that replaces those
        days. Returns the rows removed.
        """
        table, day = report.table, report.day_column
        if not self.exists(table):
            return 0
        keys = ["app", *([report.slices[2]] if report.slices else []), day]
        try:
            doubled = (
                self.scan(table)
                .select(*keys, "fetched_at")
                .group_by(keys)
                .agg(pl.col("fetched_at").n_unique().alias("fetches"))
                .filter(pl.col("fetches") > 1)
                .collect()
            )
            if doubled.is_empty():
                return 0
            hit = doubled.select(keys)
            rows = self.scan(table).join(hit.lazy(), on=keys, how="semi").collect()
            keep = rows.filter(pl.col("fetched_at") == pl.col("fetched_at").max().over(keys))
            parts = []
            for group in hit.partition_by(keys[:-1], maintain_order=True):
                cond = [f"app = {_quote(group['app'][0])}"]
                if report.slices:
                    cond.append(f"{report.slices[2]} = {_quote(str(group[keys[1]][0]))}")
                days = ", ".join(f"'{d.isoformat()}'" for d in group[day].unique().sort())
                cond.append(f"{day} IN ({days})")
                parts.append("(" + " AND ".join(cond) + ")")
            self.dl.write_deltalake(
                self.table_uri(table),
                keep.to_arrow(),
                mode="overwrite",
                predicate=" OR ".join(parts),
                partition_by=[PARTITION],
                storage_options=self.options,
            )
        except Exception as e:
            raise LakeError(self.describe(e, f"repairing {table}")) from None
        removed = rows.height - keep.height
        log.warning(
            "%s: removed %d rows doubled by overlapping runs of an older version "
            "(%d app-days kept from their newest fetch)",
            table,
            removed,
            doubled.height,
        )
        self.touched.add(table)
        return removed

    def log_runs(self, records: Sequence[RunRecord]) -> None:
        """Append attempts to ``_runs`` (after their data is committed)."""
        if not records:
            return
        df = pl.DataFrame([r.row(self.run_id) for r in records], schema=RUNS_SCHEMA, orient="row")
        try:
            self.dl.write_deltalake(
                self.table_uri(RUNS_TABLE),
                df.to_arrow(),
                mode="append",
                storage_options=self.options,
            )
        except Exception as e:
            raise LakeError(self.describe(e, f"writing {RUNS_TABLE}")) from None
        self.touched.add(RUNS_TABLE)

    # -- upkeep ----------------------------------------------------------------

    def tables(self) -> list[str]:
        """Names of the Delta tables under the target (local folders only
        are listed; for object stores, the tables this run touched)."""
        if "://" in self.uri and not self.uri.startswith("file://"):
            return sorted(self.touched)
        import pathlib

        root = pathlib.Path(self.uri.removeprefix("file://"))
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if (p / "_delta_log").is_dir())

    def optimize(
        self,
        tables: Iterable[str],
        *,
        force: bool = False,
        retention_hours: int = DEFAULT_RETENTION_HOURS,
    ) -> dict[str, dict[str, int]]:
        """Compact small files and vacuum removed ones older than
        ``retention_hours``; without ``force``, only tables with more than
        :data:`FILES_PER_PARTITION` files per partition. Returns per table
        the files compacted and deleted."""
        out: dict[str, dict[str, int]] = {}
        for table in tables:
            if not self.exists(table):
                continue
            dt = self.dl.DeltaTable(self.table_uri(table), storage_options=self.options)
            files = dt.file_uris()
            parts = {f.rsplit("/", 2)[-2] for f in files} or {""}
            if not force and len(files) <= FILES_PER_PARTITION * len(parts):
                continue
            m = dt.optimize.compact()
            dt = self.dl.DeltaTable(self.table_uri(table), storage_options=self.options)
            removed = dt.vacuum(
                retention_hours=retention_hours,
                dry_run=False,
                enforce_retention_duration=retention_hours >= 168,
            )
            dt.cleanup_metadata()
            out[table] = {
                "files_compacted": int(m.get("numFilesRemoved", 0)),
                "files_added": int(m.get("numFilesAdded", 0)),
                "files_vacuumed": len(removed),
            }
            log.info("optimized %s: %s", table, out[table])
        return out
