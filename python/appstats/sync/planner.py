"""The plan of a sync: which windows of which app and report to fetch.

The state lives in the tables: the ``_runs`` table records every (app,
report, window) attempt, and a stream (app × report × slice) counts as
synced through the end of the unbroken run of successful windows from its
``start`` (a failed window leaves a hole that the next run fetches again,
with everything after it). The next window then starts ``lag_days`` before
that day (retention: its maturity horizon, when longer), so the days the
providers restate are fetched again, and ends at ``until``. Windows are cut
into tasks the providers accept (Baidu: at most 366 days a request;
distribution reports: one day a request, 31 days a task). Days a provider no
longer serves (Tencent IM: the last 30 days only) become gaps: recorded in
``_runs`` and the summary, never skipped silently.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from .catalog import Report
from .config import AppConfig

__all__ = ["Plan", "PlannedTask", "Gap", "make_plan", "covered_until"]

ONE = _dt.timedelta(days=1)


@dataclass(frozen=True)
class PlannedTask:
    """One task of the plan: a report of an app over ``start..end``."""

    app: AppConfig
    report: Report
    slice: str | None
    start: _dt.date
    end: _dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def requests(self) -> int:
        """An estimate of the requests this task sends."""
        r = self.report
        if r.per_day:
            return self.days * r.pages_per_day
        if r.provider == "tim":
            return 1
        if r.provider == "mta":
            return math.ceil(self.days / 90)
        rows = self.days
        if r.align == "week":
            rows = math.ceil(self.days / 7)
        elif r.align == "month":
            rows = math.ceil(self.days / 30)
        return max(1, math.ceil(rows / 20))


@dataclass(frozen=True)
class Gap:
    """Days of a stream the provider no longer serves."""

    app: AppConfig
    report: Report
    slice: str | None
    start: _dt.date
    end: _dt.date
    reason: str


@dataclass(frozen=True)
class Plan:
    """Tasks and gaps of one sync run."""

    tasks: tuple[PlannedTask, ...]
    gaps: tuple[Gap, ...]
    today: _dt.date
    until: _dt.date

    @property
    def requests(self) -> int:
        """Estimated requests of the whole plan."""
        return sum(t.requests for t in self.tasks)

    def frame(self) -> pl.DataFrame:
        """One row per task and gap: app, report, table, slice, window,
        days, estimated requests, status (``planned`` / ``gap``)."""
        rows = [
            {
                "app": t.app.name,
                "provider": t.app.provider,
                "report": t.report.key,
                "table": t.report.table,
                "slice": t.slice or "",
                "start": t.start,
                "end": t.end,
                "days": t.days,
                "requests": t.requests,
                "status": "planned",
                "error": None,
            }
            for t in self.tasks
        ] + [
            {
                "app": g.app.name,
                "provider": g.app.provider,
                "report": g.report.key,
                "table": g.report.table,
                "slice": g.slice or "",
                "start": g.start,
                "end": g.end,
                "days": (g.end - g.start).days + 1,
                "requests": 0,
                "status": "gap",
                "error": g.reason,
            }
            for g in self.gaps
        ]
        schema = {
            "app": pl.String,
            "provider": pl.String,
            "report": pl.String,
            "table": pl.String,
            "slice": pl.String,
            "start": pl.Date,
            "end": pl.Date,
            "days": pl.Int64,
            "requests": pl.Int64,
            "status": pl.String,
            "error": pl.String,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    def describe(self) -> str:
        """A human summary (what ``--dry-run`` prints)."""
        apps = len({t.app.name for t in self.tasks})
        lines = [
            f"plan until {self.until}: {len(self.tasks)} tasks for {apps} apps, "
            f"about {self.requests} requests"
        ]
        by: dict[tuple[str, str], list[PlannedTask]] = {}
        for t in self.tasks:
            by.setdefault((t.app.name, t.report.key), []).append(t)
        for (app, rep), ts in by.items():
            first, last = min(t.start for t in ts), max(t.end for t in ts)
            n = sum(t.requests for t in ts)
            sl = f" ({len({t.slice for t in ts})} slices)" if ts[0].slice else ""
            lines.append(f"  {app:<24} {rep:<24} {first} – {last}  ~{n} requests{sl}")
        for g in self.gaps:
            lines.append(
                f"  {g.app.name:<24} {g.report.key:<24} {g.start} – {g.end}  GAP: {g.reason}"
            )
        return "\n".join(lines)


def covered_until(windows: Iterable[tuple[_dt.date, _dt.date]], start: _dt.date) -> _dt.date:
    """The last day of the unbroken run of ``windows`` from ``start``
    (``start - 1 day`` when nothing covers ``start``)."""
    covered = start - ONE
    for s, e in sorted(windows):
        if s > covered + ONE:
            break
        covered = max(covered, e)
    return covered


def _chunks(report: Report, start: _dt.date, end: _dt.date) -> list[tuple[_dt.date, _dt.date]]:
    out = []
    span = report.max_span
    if report.align == "week":
        span = span // 7 * 7
    a = start
    while a <= end:
        b = min(end, a + _dt.timedelta(days=span - 1))
        if report.align == "month" and b < end:
            b = b.replace(day=1) - ONE  # end with a whole month
        out.append((a, b))
        a = b + ONE
    return out


def make_plan(
    apps: Iterable[AppConfig],
    state: dict[tuple[str, str, str], list[tuple[_dt.date, _dt.date]]],
    today: _dt.date,
    until: _dt.date,
    *,
    full_refresh: bool = False,
) -> Plan:
    """Plan a run: ``state`` maps (app, table, slice) to its synced windows
    (from ``_runs``); ``full_refresh`` ignores it."""
    tasks: list[PlannedTask] = []
    gaps: list[Gap] = []
    for app in apps:
        for rep in app.reports:
            for sl in rep.slice_values():
                first = rep.align_start(app.start)
                done = [] if full_refresh else state.get((app.name, rep.table, sl or ""), [])
                covered = covered_until(done, first)
                if covered < first:
                    start = first
                else:
                    back = max(app.lag_days, rep.horizon_days)
                    start = max(first, covered + ONE - _dt.timedelta(days=back))
                start = rep.align_start(start)
                if start > until:
                    continue
                if rep.history_days is not None:
                    oldest = today - _dt.timedelta(days=rep.history_days)
                    lost_from = max(start, covered + ONE)
                    if lost_from < oldest:
                        gaps.append(
                            Gap(
                                app,
                                rep,
                                sl,
                                lost_from,
                                min(until, oldest - ONE),
                                f"{rep.provider} serves only the last "
                                f"{rep.history_days} days; these can no longer be "
                                "fetched",
                            )
                        )
                    start = max(start, oldest)
                    if start > until:
                        continue
                for a, b in _chunks(rep, start, until):
                    tasks.append(PlannedTask(app, rep, sl, a, b))
    return Plan(tuple(tasks), tuple(gaps), today, until)
