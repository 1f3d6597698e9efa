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
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

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


_B_TERMINAL = (
    "terminal_brand",
    "terminal_device",
    "terminal_os",
    "terminal_screen",
    "terminal_network",
)
_MTA_TERMINAL = ("os", "resolution", "network", "carrier", "device")

#: Every report the sync knows, by ``provider.name``.
REPORTS: dict[str, Report] = {
    r.key: r
    for r in [
        Report("baidu", "user_trend", "user_trend", "daily", options={"gran": "day"}),
        Report("baidu", "activity_user", "activity_user", "daily"),
        Report(
            "baidu",
            "retention_day",
            "retention",
            "retention",
            "cohort_date",
            {"gran": "day", "report_type": "count", "shape": "long"},
            horizon_days=30,
        ),
        Report(
            "baidu",
            "retention_week",
            "retention",
            "retention",
            "cohort_date",
            {"gran": "week", "report_type": "count", "shape": "long"},
            horizon_days=9 * 7,
            align="week",
        ),
        Report(
            "baidu",
            "retention_month",
            "retention",
            "retention",
            "cohort_date",
            {"gran": "month", "report_type": "count", "shape": "long"},
            horizon_days=9 * 31,
            align="month",
        ),
        Report("baidu", "visit_attribute", "visit_attribute", "distribution", max_span=31),
        Report("baidu", "region", "region", "distribution", max_span=31, pages_per_day=2),
        # terminal_network has fewer metrics, but the same schema (nulls)
        Report(
            "baidu",
            "terminal",
            "terminal",
            "distribution",
            slices=("terminal_type", _B_TERMINAL, "terminal_type"),
            max_span=31,
        ),
        Report("baidu", "visit_page", "visit_page", "distribution", max_span=31, pages_per_day=2),
        Report(
            "baidu",
            "visit_character",
            "visit_character",
            "distribution",
            slices=("character_type", ("depth", "time", "interval", "frequency"), "character_type"),
            max_span=31,
        ),
        Report(
            "baidu", "source", "source", "distribution", options={"level": "scene"}, max_span=31
        ),
        Report("mta", "user_basic", "user_basic", "daily"),
        Report("mta", "active_users", "active_users", "daily"),
        Report("mta", "usage", "usage", "daily"),
        Report("mta", "crash", "crash", "daily"),
        Report(
            "mta",
            "retention",
            "retention",
            "retention",
            "cohort_date",
            {"shape": "long"},
            horizon_days=31,
        ),
        Report("mta", "frequency", "frequency", "distribution", max_span=31),
        Report(
            "mta",
            "terminal",
            "terminal",
            "distribution",
            slices=("terminal_type", _MTA_TERMINAL, "terminal_type"),
            max_span=31,
        ),
        Report(
            "mta",
            "crash_env",
            "crash_env",
            "distribution",
            slices=("dimension", ("app_version", "os", "device"), "dimension"),
            max_span=31,
        ),
        Report("mta", "error_list", "error_list", "distribution", max_span=31),
        Report("tim", "app_info", "app_info", "daily", history_days=30),
    ]
}


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
