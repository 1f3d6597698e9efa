"""The plan of a scan: per app (and slice), which days come from the lake,
which windows are fetched, and which days are missing.

A day comes from the lake when a successful sync window (``_runs``) holds
it and its numbers were final when fetched: the day was older than the
restatement lag (``lag_days``; retention: its maturity horizon) both on
the scan's ``today`` and on the day it was fetched. Everything else in the
asked range is fetched, up to yesterday (China time), except days the
provider no longer serves (Tencent IM: the last 30 days): those are
*missing*, shown in the plan and warned about, never silently absent.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..errors import PartialDataWarning
from ..sync.catalog import Report
from ..sync.config import AppConfig
from ..sync.planner import PlannedTask, _chunks
from ..sync.store import RUNS_TABLE, DeltaStore

__all__ = ["AppPlan", "ScanPlan", "MissingDaysWarning", "intervals", "lake_days"]

ONE = _dt.timedelta(days=1)
CN = _dt.timezone(_dt.timedelta(hours=8))

Interval = tuple[_dt.date, _dt.date]


class MissingDaysWarning(PartialDataWarning):
    """Days a scan could neither read from the lake nor fetch (the provider
    no longer serves them, or ``fetch=False``): named with their app."""


def intervals(days: Iterable[_dt.date]) -> list[Interval]:
    """Sorted days as runs of consecutive days.

    Examples:
        >>> import datetime as dt
        >>> d = dt.date(2024, 3, 1)
        >>> [(a.day, b.day) for a, b in intervals([d, d + dt.timedelta(1), d + dt.timedelta(5)])]
        [(1, 2), (6, 6)]
    """
    out: list[list[_dt.date]] = []
    for d in sorted(set(days)):
        if out and d == out[-1][1] + ONE:
            out[-1][1] = d
        else:
            out.append([d, d])
    return [(a, b) for a, b in out]


def _days(iv: Iterable[Interval]) -> set[_dt.date]:
    out: set[_dt.date] = set()
    for a, b in iv:
        out.update(a + ONE * i for i in range((b - a).days + 1))
    return out


@dataclass(frozen=True)
class AppPlan:
    """One app's (and slice's) part of a scan."""

    app: AppConfig
    slice: str | None
    wanted: tuple[Interval, ...]
    lake: tuple[Interval, ...]
    fetch: tuple[PlannedTask, ...]
    keep: tuple[Interval, ...]
    missing: tuple[Interval, ...]
    reason: str = ""

    @property
    def requests(self) -> int:
        """An estimate of the requests the fetch sends."""
        return sum(t.requests for t in self.fetch)


@dataclass(frozen=True)
class ScanPlan:
    """What a scan reads: per app and slice, the lake's days, the windows
    fetched (with an estimate of the requests) and the missing days.
    ``frame()`` has one row per (app, slice, source, window); printing it
    (or ``describe()``) gives a summary. Nothing is sent to make it."""

    report: Report
    today: _dt.date
    apps: tuple[AppPlan, ...]
    lake_uri: str | None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        """Estimated requests of the whole scan."""
        return sum(a.requests for a in self.apps)

    def frame(self) -> pl.DataFrame:
        """One row per (app, slice, source, window): ``source`` is ``lake``,
        ``fetch`` or ``missing``; ``requests`` an estimate for fetches."""
        rows: list[dict[str, Any]] = []
        for a in self.apps:
            base = {"app": a.app.name, "provider": a.app.provider, "slice": a.slice or ""}
            rows += [
                {**base, "source": "lake", "start": s, "end": e, "requests": 0} for s, e in a.lake
            ]
            rows += [
                {**base, "source": "fetch", "start": t.start, "end": t.end, "requests": t.requests}
                for t in a.fetch
            ]
            rows += [
                {**base, "source": "missing", "start": s, "end": e, "requests": 0}
                for s, e in a.missing
            ]
        schema = {
            "app": pl.String,
            "provider": pl.String,
            "slice": pl.String,
            "source": pl.String,
            "start": pl.Date,
            "end": pl.Date,
            "requests": pl.Int64,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    def describe(self) -> str:
        """A human summary: per app the lake's days and the fetched windows."""
        fetching = sum(1 for a in self.apps if a.fetch)
        opts = "".join(f", {k}={v}" for k, v in sorted(self.options.items()))
        lines = [
            f"scan of {self.report.key}{opts} (today {self.today}): {len(self.apps)} "
            f"app streams, {fetching} fetching, about {self.requests} requests"
        ]

        def span(iv: Sequence[Interval]) -> str:
            if not iv:
                return "—"
            n = sum((b - a).days + 1 for a, b in iv)
            return f"{iv[0][0]} – {iv[-1][1]} ({n} days)"

        for a in self.apps:
            name = a.app.name + (f" [{a.slice}]" if a.slice else "")
            fetch = intervals(_days((t.start, t.end) for t in a.fetch))
            line = f"  {name:<28} lake {span(a.lake):<34} fetch {span(fetch)}"
            if a.fetch:
                line += f" ~{a.requests} requests"
            if a.missing:
                line += f"  MISSING {span(a.missing)}: {a.reason}"
            lines.append(line)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.describe()


def lake_days(
    store: DeltaStore,
    report: Report,
    apps: Sequence[AppConfig],
    start: _dt.date,
    end: _dt.date,
    today: _dt.date,
    lag: dict[str, int],
) -> dict[tuple[str, str], list[Interval]]:
    """Per (app, slice) the days in ``start..end`` whose final numbers the
    lake holds: covered by an ``ok`` window of ``_runs`` whose fetch came
    after the day's lag (``lag`` per app) had passed — on ``today`` and on
    the day of the fetch (China time)."""
    if not apps or not store.exists(RUNS_TABLE) or not store.exists(report.table):
        return {}
    runs = (
        store.scan(RUNS_TABLE)
        .filter(
            (pl.col("status") == "ok")
            & (pl.col("table") == report.table)
            & pl.col("app").is_in([a.name for a in apps])
            & (pl.col("window_end") >= start)
            & (pl.col("window_start") <= end)
        )
        .select("app", "slice", "window_start", "window_end", "finished_at")
        .collect()
    )
    if runs.is_empty():
        return {}
    lags = pl.DataFrame(
        {"app": list(lag), "lag": list(lag.values())}, schema={"app": pl.String, "lag": pl.Int64}
    )
    days = (
        runs.with_columns(
            pl.date_ranges(
                pl.max_horizontal("window_start", pl.lit(start)),
                pl.min_horizontal("window_end", pl.lit(end)),
            ).alias("day"),
            pl.col("finished_at").dt.convert_time_zone("Asia/Shanghai").dt.date().alias("on"),
        )
        .explode("day")
        .group_by("app", "slice", "day")
        .agg(pl.col("on").max())
        .join(lags, on="app")
        .filter(
            pl.col("day")
            <= pl.min_horizontal(pl.col("on"), pl.lit(today)) - pl.duration(days=pl.col("lag") + 1)
        )
        .sort("app", "slice", "day")
    )
    out: dict[tuple[str, str], list[Interval]] = {}
    for (app, sl), group in days.group_by("app", "slice", maintain_order=True):
        out[(str(app), str(sl))] = intervals(group["day"].to_list())
    return out


def plan_app(
    app: AppConfig,
    report: Report,
    sl: str | None,
    wanted: list[Interval],
    held: list[Interval],
    today: _dt.date,
    fetch: bool,
) -> AppPlan:
    """One app's plan: the wanted days the lake holds, the rest fetched in
    tasks the provider accepts, days it no longer serves as missing."""
    want = _days(wanted)
    from_lake = want & _days(held)
    rest = want - from_lake
    missing: set[_dt.date] = set()
    reason = ""
    if not fetch:
        missing, rest = rest, set()
        reason = "not in the lake (fetch=False)"
    elif report.history_days is not None:
        oldest = today - _dt.timedelta(days=report.history_days)
        missing = {d for d in rest if d < oldest}
        rest -= missing
        reason = (
            f"{report.provider} serves only the last {report.history_days} days and the "
            "lake does not hold them"
        )
    windows = intervals(rest)
    if report.provider == "tim" and windows:
        # one request returns every served day: one window, cut to the days
        windows = [(windows[0][0], windows[-1][1])]
    tasks = [
        PlannedTask(app, report, sl, a, b)
        for s, e in windows
        for a, b in _chunks(report, report.align_start(s), e)
    ]
    return AppPlan(
        app,
        sl,
        tuple(wanted),
        tuple(intervals(from_lake)),
        tuple(tasks),
        tuple(intervals(rest)),
        tuple(intervals(missing)),
        reason if missing else "",
    )
