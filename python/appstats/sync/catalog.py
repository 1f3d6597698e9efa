"""What the sync fetches: every report of every provider as Delta tables.

Each :class:`Report` is one table, ``<provider>_<name>``. Its rows are the
report's frame plus ``app`` (the config name), ``app_id`` and
``fetched_at``, and ``month`` (``YYYY-MM`` of the row's day, the partition
column). A report with several *slices* (Baidu terminal types, MTA crash
dimensions, ...) stores them in one table, told apart by the column the
report already has (``terminal_type``, ``dimension``, ...); options that
change the schema get tables of their own (``baidu_retention_day`` /
``_week`` / ``_month``).

Three kinds of reports:

* ``daily``: one row (or several) per day, keyed by a date column
  (``date``, ``cohort_date``); fetched over whole windows.
* ``distribution``: numbers over the requested range (shares of regions,
  terminals, pages, sources ...). A user active on several days counts once
  in a range, so such numbers can neither be added up across days nor be
  compared between ranges of different lengths. The sync fetches them one
  day per request and stores them with a ``date`` column: each row is what
  the provider says about that one day, whatever window a run fetched.
* ``retention``: cohort rows that keep filling for a while after the
  cohort day (the *maturity horizon*): re-fetched until they are final.

Every fact about a provider's report — its kind, day column, slice values,
maturity horizons, history limit, pages a day, row key — comes from the native
catalog (``_native.report_catalog()``, in Rust beside the providers' code).
What this module adds is the sync's own design: which reports become
tables, the options fixed per table (``report_type="count"``,
``shape="long"``, Baidu retention split by ``gran`` into
``retention_day`` / ``_week`` / ``_month``) and the longest window of a task
(``max_span``).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from .. import _native

__all__ = ["Report", "REPORTS", "PROVIDERS", "report", "select"]

PROVIDERS = ("baidu", "mta", "tim")


@dataclass(frozen=True)
class Report:
    """One synced report (one Delta table).

    Attributes:
        provider: ``"baidu"``, ``"mta"`` or ``"tim"``.
        name: the report's name in configs and ``--reports`` (``region``).
        method: the provider's report name (``region``, ``retention``).
        options: fixed report options (``gran="day"``).
        slices: the option that takes several values, its values, and the
            column of the frame that holds it: one task per value.
        kind: ``"daily"``, ``"distribution"`` or ``"retention"``.
        day_column: the column holding each row's day.
        horizon_days: retention: days after the cohort's first day until
            its numbers are final (re-fetched until then).
        history_days: the provider serves only this many days back
            (``None``: no known limit); older days are recorded as gaps.
        max_span: days one request (or task) may cover.
        align: ``"week"``/``"month"``: windows start on a Monday / the 1st
            (cohort periods).
        pages_per_day: requests a day costs (estimates in ``--dry-run``).
        row_key: the columns that identify a row beside ``app``, the slice
            column and the day column (empty: one row per day; ``None``: no
            natural key).
    """

    provider: str
    name: str
    method: str
    kind: str
    day_column: str = "date"
    options: dict[str, str] = field(default_factory=dict)
    slices: tuple[str, tuple[str, ...], str] | None = None
    horizon_days: int = 0
    history_days: int | None = None
    max_span: int = 366
    align: str | None = None
    pages_per_day: int = 1
    row_key: tuple[str, ...] | None = ()

    @property
    def table(self) -> str:
        """The Delta table's name: ``<provider>_<name>``."""
        return f"{self.provider}_{self.name}"

    @property
    def key(self) -> str:
        """``provider.name``, as in ``--reports``."""
        return f"{self.provider}.{self.name}"

    @property
    def per_day(self) -> bool:
        return self.kind == "distribution"

    def slice_values(self) -> tuple[str | None, ...]:
        return self.slices[1] if self.slices else (None,)

    def task_options(self, value: str | None) -> dict[str, str]:
        """The report options of one slice."""
        opts = dict(self.options)
        if self.slices and value is not None:
            opts[self.slices[0]] = value
        return opts

    def align_start(self, d: _dt.date) -> _dt.date:
        """The first day of ``d``'s period (weeks start on Monday)."""
        if self.align == "week":
            return d - _dt.timedelta(days=d.weekday())
        if self.align == "month":
            return d.replace(day=1)
        return d


#: The longest window of one task (one ``_runs`` row), by kind: a year of a
#: report fetched by range (the client splits it as its provider needs); a
#: month of a distribution, fetched one request per day, so that a failed
#: task is at most a month of days to fetch again.
_MAX_SPAN = {"daily": 366, "retention": 366, "distribution": 31}

_RETENTION = {"report_type": "count", "shape": "long"}

#: The sync's tables, in order: ``(provider, table name, report, options
#: fixed for the table)``. Reports left out: MTA's ``realtime`` (today's
#: numbers so far, never final) and Baidu's ``tp_data`` (a third-party
#: platform's totals, not one program's).
_TABLES: list[tuple[str, str, str, dict[str, str]]] = [
    ("baidu", "user_trend", "user_trend", {"gran": "day"}),
    ("baidu", "activity_user", "activity_user", {}),
    # one table per cohort period: each has its own schema and horizon
    ("baidu", "retention_day", "retention", {"gran": "day", **_RETENTION}),
    ("baidu", "retention_week", "retention", {"gran": "week", **_RETENTION}),
    ("baidu", "retention_month", "retention", {"gran": "month", **_RETENTION}),
    ("baidu", "visit_attribute", "visit_attribute", {}),
    ("baidu", "region", "region", {}),
    # terminal_network has fewer metrics, but the same schema (nulls)
    ("baidu", "terminal", "terminal", {}),
    ("baidu", "visit_page", "visit_page", {}),
    ("baidu", "visit_character", "visit_character", {}),
    ("baidu", "source", "source", {"level": "scene"}),
    ("mta", "user_basic", "user_basic", {}),
    ("mta", "active_users", "active_users", {}),
    ("mta", "usage", "usage", {}),
    ("mta", "crash", "crash", {}),
    ("mta", "retention", "retention", {"shape": "long"}),
    ("mta", "frequency", "frequency", {}),
    ("mta", "terminal", "terminal", {}),
    ("mta", "crash_env", "crash_env", {}),
    ("mta", "error_list", "error_list", {}),
    ("tim", "app_info", "app_info", {}),
]


def _holds(
    when: Mapping[str, str], options: Mapping[str, str], defaults: Mapping[str, str]
) -> bool:
    """Whether ``options`` (the report's defaults where not given) agree
    with every option of ``when``."""
    return all(options.get(k, defaults.get(k)) == v for k, v in when.items())


def _table(info: _native._ReportInfo, name: str, options: dict[str, str]) -> Report:
    """One table of the native catalog's report ``info`` with ``options``."""
    key = f"{info['provider']}.{name}"
    defaults = {o["name"]: o["default"] for o in info["options"] if o["default"] is not None}
    # the option whose values share the table, told apart by the column
    # that holds them: one task per value, unless the table fixes it
    slices: tuple[str, tuple[str, ...], str] | None = None
    for o in info["options"]:
        column = o["column"]
        if column is None or o["name"] in options:
            continue
        if slices is not None:
            raise RuntimeError(f"sync table {key}: two sliced options, fix one in _TABLES")
        slices = (o["name"], tuple(o["values"]), column)
    horizon_days, align = 0, None
    if info["kind"] == "retention":
        cohorts = [c for c in info["cohorts"] if _holds(c["options"], options, defaults)]
        if len(cohorts) != 1:
            raise RuntimeError(
                f"sync table {key}: {len(cohorts)} cohort periods of the native catalog "
                f"match its options {options}"
            )
        horizon_days = cohorts[0]["horizon_days"]
        # windows of week or month cohorts start where a cohort does
        align = None if cohorts[0]["period"] == "day" else cohorts[0]["period"]
    return Report(
        info["provider"],
        name,
        info["name"],
        info["kind"],
        info["day_column"],
        options,
        slices,
        horizon_days=horizon_days,
        history_days=info["history_days"],
        max_span=_MAX_SPAN[info["kind"]],
        align=align,
        pages_per_day=info["pages_per_day"],
        row_key=None if info["row_key"] is None else tuple(info["row_key"]),
    )


def _reports() -> dict[str, Report]:
    native: dict[tuple[str, str], _native._ReportInfo] = {
        (r["provider"], r["name"]): r for r in _native.report_catalog()
    }
    tables = [_table(native[(p, method)], name, opts) for p, name, method, opts in _TABLES]
    return {t.key: t for t in tables}


#: Every report the sync knows, by ``provider.name``.
REPORTS: dict[str, Report] = _reports()


def report(key: str) -> Report:
    """The report ``provider.name``."""
    return REPORTS[key]


def select(provider: str, names: list[str] | None) -> list[Report]:
    """The reports of ``provider`` named in ``names`` (``None``: all).

    Names are ``name`` (any provider that has it) or ``provider.name``;
    ``provider.*`` selects every report of a provider.
    """
    mine = [r for r in REPORTS.values() if r.provider == provider]
    if names is None:
        return mine
    wanted: set[str] = set()
    for n in names:
        if n == f"{provider}.*" or n == "*":
            wanted.update(r.key for r in mine)
        elif "." in n:
            if n.split(".", 1)[0] == provider:
                wanted.add(n)
        else:
            wanted.update(r.key for r in mine if r.name == n)
    return [r for r in mine if r.key in wanted]


def valid_name(n: str) -> bool:
    """Whether ``n`` names a report of some provider (``--reports``)."""
    if n == "*":
        return True
    if "." in n:
        p, rest = n.split(".", 1)
        return p in PROVIDERS and (rest == "*" or f"{p}.{rest}" in REPORTS)
    return any(r.name == n for r in REPORTS.values())
