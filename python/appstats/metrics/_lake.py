"""The ``metrics`` Delta table: built from the report tables of a lake,
updated by every sync for exactly the (app, days) it wrote.

A sync calls :func:`update_from_run` after its slices are committed. For
each app it wrote, the days it touched are widened to the weeks and months
that contain them, every metric of the app over that range is computed
again from the report tables (the newest fetch of each day), and the range
is replaced with one predicate overwrite (``app IN (...) AND date >= ...
AND date <= ...``) — the same machinery as the report tables, so a rerun
changes nothing and a restated day changes exactly the rows computed from
it. A lake without the table (an older version's, or the first run) gets it
built from every report table.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeAlias

import polars as pl

from ..errors import InvalidArgument, LakeError
from . import _model

# appstats.sync imports this module (the runner's update): sync's modules
# are imported when used, never at import time
if TYPE_CHECKING:
    from ..sync.config import SyncConfig
    from ..sync.store import DeltaStore, RunRecord

    #: A lake: its folder or URI, a sync config (or its TOML path), or a store.
    Lake: TypeAlias = str | os.PathLike[str] | SyncConfig | DeltaStore

__all__ = [
    "METRICS_TABLE",
    "store_of",
    "compute_lake",
    "update_from_run",
    "rebuild",
    "scan",
]

log = logging.getLogger("appstats.sync")

#: The table's name in the lake.
METRICS_TABLE = "metrics"
#: The partition column (as the report tables': ``YYYY-MM`` of ``date``).
PARTITION = "month"
#: Commits that change the table's rows (not compaction or vacuum).
_WRITES = ("WRITE", "DELETE", "CREATE TABLE", "CREATE OR REPLACE TABLE", "MERGE")
#: Apps whose metrics are computed at once (memory is bounded by a chunk's rows).
CHUNK_APPS = 100
#: Runs that finished this long before the table's last write are counted
#: in it too (clocks of different hosts writing one lake may differ).
CLOCK_MARGIN = _dt.timedelta(hours=1)


def store_of(lake: Lake) -> DeltaStore:
    """The :class:`~appstats.sync.DeltaStore` of a lake argument."""
    from ..sync.config import SyncConfig, load_config
    from ..sync.store import DeltaStore

    if isinstance(lake, DeltaStore):
        return lake
    if isinstance(lake, SyncConfig):
        return DeltaStore(lake.uri, lake.storage_options)
    if isinstance(lake, (str, os.PathLike)):
        text = os.fspath(lake)
        if text.endswith(".toml"):
            cfg = load_config(text)
            return DeltaStore(cfg.uri, cfg.storage_options)
        return DeltaStore(text)
    raise InvalidArgument(
        f"lake must be a folder or URI, a sync config or its .toml path, got {type(lake).__name__}"
    )


def _quote(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _source(
    store: DeltaStore,
    table: str,
    day: str,
    apps: list[str] | None,
    lo: _dt.date | None,
    hi: _dt.date | None,
) -> pl.LazyFrame:
    """A report table's rows (of ``apps``, days ``lo``–``hi``), each (app,
    day) from its newest fetch only."""
    lf = store.scan(table)
    if apps is not None:
        # a semi join, not is_in: pushed into the Delta scan, an is_in of many
        # apps made it read several times slower with twice the memory
        lf = lf.join(pl.LazyFrame({"app": apps}, schema={"app": pl.String}), on="app", how="semi")
    if lo is not None:
        lf = lf.filter(pl.col(day) >= lo)
    if hi is not None:
        lf = lf.filter(pl.col(day) <= hi)
    return lf.filter(pl.col("fetched_at") == pl.col("fetched_at").max().over("app", day)).drop(
        "fetched_at", PARTITION, strict=False
    )


def _chunks(
    store: DeltaStore,
    apps: list[str] | None = None,
    lo: _dt.date | None = None,
    hi: _dt.date | None = None,
) -> Iterator[pl.DataFrame]:
    """The long frame computed from the lake's report tables, in parts:
    per provider, :data:`CHUNK_APPS` apps at a time (every metric is one
    app's), each part sorted, in the order one :func:`~._model.compute` of
    everything gives.

    Each table's rows are read once; the model's query reads its source
    once per part of it (about a dozen), so over a Delta scan it read each
    table a dozen times, and over all apps at once it held every part's rows
    together: at 1,000 apps +130 MB for an 8 MB result."""
    for provider in sorted({t.split("_", 1)[0] for t in _model.source_tables()}):
        frames: dict[str, pl.DataFrame] = {}
        for table, day in _model.source_tables().items():
            if table.split("_", 1)[0] == provider and store.exists(table):
                frames[table] = _source(store, table, day, apps, lo, hi).collect()
        if not frames:
            continue
        names = pl.concat([f["app"] for f in frames.values()]).unique().sort()
        if len(names) <= CHUNK_APPS:
            yield _model.compute(frames)
            continue
        for i in range(0, len(names), CHUNK_APPS):
            chunk = names.slice(i, CHUNK_APPS).to_list()
            yield _model.compute(
                {t: f.filter(pl.col("app").is_in(chunk)) for t, f in frames.items()}
            )


def compute_lake(
    store: DeltaStore,
    apps: list[str] | None = None,
    lo: _dt.date | None = None,
    hi: _dt.date | None = None,
) -> pl.DataFrame:
    """The long frame computed from the lake's report tables."""
    parts = list(_chunks(store, apps, lo, hi))
    return pl.concat(parts, how="vertical") if parts else _model.empty()


def _table_rows(df: pl.DataFrame) -> pl.DataFrame:
    return df.with_columns(pl.col("date").dt.strftime("%Y-%m").alias(PARTITION))


def _arrow(frames: Iterable[pl.DataFrame]) -> Any:
    """The table rows of ``frames`` as one Arrow table, each frame turned
    into Arrow as it comes (the whole long frame never exists in Polars as
    well); ``None`` when every frame is empty."""
    import pyarrow as pa

    tables = [_table_rows(f).to_arrow() for f in frames if not f.is_empty()]
    if not tables:
        return None
    schema = tables[0].schema
    return pa.Table.from_batches([b for t in tables for b in t.cast(schema).to_batches()], schema)


def _write(store: DeltaStore, frames: Iterable[pl.DataFrame], predicate: str | None) -> None:
    """Replace what ``predicate`` covers (everything when ``None``) with the
    rows of ``frames``."""
    uri = store.table_uri(METRICS_TABLE)
    data = _arrow(frames)
    if not store.exists(METRICS_TABLE):
        if data is None:
            return
        try:
            store.dl.write_deltalake(
                uri,
                data,
                mode="error",
                partition_by=[PARTITION],
                storage_options=store.options,
                # a create is never retried (a retry would append its rows)
                commit_properties=store.once({RUN_KEY: store.run_id}),
            )
            store.touched.add(METRICS_TABLE)
            return
        except Exception:
            if not store.exists(METRICS_TABLE):
                raise
    if data is None:
        if predicate is not None:
            store.dl.DeltaTable(uri, storage_options=store.options).delete(
                predicate, commit_properties=_by_run(store)
            )
    else:
        store.dl.write_deltalake(
            uri,
            data,
            mode="overwrite",
            predicate=predicate,
            partition_by=[PARTITION],
            storage_options=store.options,
            commit_properties=_by_run(store),
        )
    store.touched.add(METRICS_TABLE)


#: The commit metadata key naming the sync run whose slices a write covers.
RUN_KEY = "appstats_run_id"


def _by_run(store: DeltaStore) -> object:
    """Commit metadata naming this run: the next run knows it was applied."""
    return store.dl.CommitProperties(custom_metadata={RUN_KEY: store.run_id})


def _widen(start: _dt.date) -> _dt.date:
    """The first day of the week or month containing ``start``, whichever is earlier."""
    return min(start - _dt.timedelta(days=start.weekday()), start.replace(day=1))


def _last_write(store: DeltaStore) -> tuple[_dt.datetime | None, set[str]]:
    """When the ``metrics`` table was last written (not compacted), and the
    runs its recent writes applied (their commit metadata)."""
    dt = store.dl.DeltaTable(store.table_uri(METRICS_TABLE), storage_options=store.options)
    last = None
    applied = {store.run_id}
    for h in dt.history(100):
        if h.get(RUN_KEY):
            applied.add(str(h[RUN_KEY]))
        if last is None and h.get("operation") in _WRITES and h.get("timestamp") is not None:
            last = _dt.datetime.fromtimestamp(int(h["timestamp"]) / 1000, tz=_dt.timezone.utc)
    return last, applied


def _missed(
    store: DeltaStore, since: _dt.datetime | None, applied: set[str]
) -> list[tuple[str, _dt.date, _dt.date]]:
    """Windows of ``_runs`` fetched after ``since`` (less a margin) by runs
    whose metrics were not applied: the slices of a run that stopped after
    its commits and before its metrics update (killed), which the next run
    does not fetch again."""
    from ..sync.store import RUNS_TABLE

    if not store.exists(RUNS_TABLE):
        return []
    runs = store.scan(RUNS_TABLE).filter(
        (pl.col("status") == "ok") & pl.col("table").is_in(list(_model.source_tables()))
    )
    if since is not None:
        runs = runs.filter(pl.col("finished_at") > since - CLOCK_MARGIN)
    runs = runs.filter(~pl.col("run_id").is_in(sorted(applied)))
    df = runs.select("app", "window_start", "window_end").unique().collect()
    return list(df.iter_rows())


def update_from_run(store: DeltaStore, records: Iterable[RunRecord]) -> None:
    """Update the ``metrics`` table for what a sync's ``records`` wrote
    (called by :func:`appstats.sync.run` under the lake's lease, after its
    ``_runs`` rows are written), and for what an earlier run wrote but
    stopped before updating it (its ``_runs`` rows since the table's last
    write)."""
    sources = _model.source_tables()
    windows = [
        (r.task.app.name, r.task.start, r.task.end)
        for r in records
        if r.status == "ok" and r.task.report.table in sources
    ]
    try:
        if not store.exists(METRICS_TABLE):
            # nothing when no report has metrics
            _write(store, _chunks(store), None)
            return
        windows += _missed(store, *_last_write(store))
        if not windows:
            return
        ranges: dict[str, tuple[_dt.date, _dt.date]] = {}
        for app, s, e in windows:
            lo, hi = ranges.get(app, (s, e))
            ranges[app] = (min(lo, s), max(hi, e))
        wide = {app: (_widen(s), e) for app, (s, e) in ranges.items()}
        lo = min(s for s, _ in wide.values())
        # a month starting on the last day needs the month's days
        hi = max(e for _, e in wide.values()) + _dt.timedelta(days=31)
        # each app's rows within its own range: a join on a frame of the
        # ranges, not one `|` per app (an expression 1,000 apps deep took
        # 3-5 s and ~600 MB at 1,000 apps: the sync's peak memory)
        bounds = pl.DataFrame(
            {
                "app": list(wide),
                "_lo": [s for s, _ in wide.values()],
                "_hi": [e for _, e in wide.values()],
            },
            schema={"app": pl.String, "_lo": pl.Date, "_hi": pl.Date},
        )

        def rows() -> Iterator[pl.DataFrame]:
            for df in _chunks(store, sorted(wide), lo, hi):
                yield (
                    df.join(bounds, on="app", how="inner", maintain_order="left")
                    .filter(pl.col("date").is_between(pl.col("_lo"), pl.col("_hi")))
                    .drop("_lo", "_hi")
                )

        groups: dict[tuple[_dt.date, _dt.date], list[str]] = {}
        for app, (s, e) in wide.items():
            groups.setdefault((s, e), []).append(app)
        parts = [
            f"(app IN ({', '.join(_quote(a) for a in sorted(apps))}) "
            f"AND date >= '{s.isoformat()}' AND date <= '{e.isoformat()}')"
            for (s, e), apps in sorted(groups.items())
        ]
        _write(store, rows(), " OR ".join(parts))
    except LakeError:
        raise
    except Exception as e:
        raise LakeError(store.describe(e, f"writing {METRICS_TABLE}")) from None


def rebuild(lake: Lake) -> int:
    """Build the ``metrics`` table again from every report table of a lake
    (one overwrite); returns its rows. A sync keeps the table current on its
    own; this is for a lake written before the table existed, or repaired
    by hand.

    Examples:
        >>> import appstats as aps, tempfile
        >>> with aps.Sandbox(apps=1, today="2024-04-01") as sb:
        ...     cfg = aps.sync.sandbox_config(sb, tempfile.mkdtemp(), start="2024-03-25",
        ...                                   reports=["mta.user_basic"])
        ...     _ = aps.sync(cfg, today=sb.today, progress=False)
        >>> aps.metrics.rebuild(cfg)  # 7 days x 4 metrics, and the week 25-31 March
        31
    """
    store = store_of(lake)
    df = compute_lake(store)
    try:
        if store.exists(METRICS_TABLE):
            store.dl.write_deltalake(
                store.table_uri(METRICS_TABLE),
                _table_rows(df).to_arrow(),
                mode="overwrite",
                partition_by=[PARTITION],
                storage_options=store.options,
            )
        else:
            _write(store, [df], None)
    except Exception as e:
        raise LakeError(store.describe(e, f"writing {METRICS_TABLE}")) from None
    return df.height


def scan(store: DeltaStore) -> pl.LazyFrame | None:
    """The lake's ``metrics`` table, or ``None`` when it has none."""
    if not store.exists(METRICS_TABLE):
        return None
    return store.scan(METRICS_TABLE).drop(PARTITION)
