"""The sync's catalog (``appstats.sync.REPORTS``): every table and the
provider facts it holds, pinned value by value, so that building it from
the native catalog (or any other refactoring) cannot change what the sync
fetches, how it windows it or how it names the tables."""

from __future__ import annotations

from typing import Any

import pytest

from appstats.sync import REPORTS, Report

B_TERMINAL = (
    "terminal_type",
    ("terminal_brand", "terminal_device", "terminal_os", "terminal_screen", "terminal_network"),
    "terminal_type",
)
B_CHARACTER = ("character_type", ("depth", "time", "interval", "frequency"), "character_type")
M_TERMINAL = (
    "terminal_type",
    ("os", "resolution", "network", "carrier", "device"),
    "terminal_type",
)
M_CRASH_ENV = ("dimension", ("app_version", "os", "device"), "dimension")
D, X, R = "daily", "distribution", "retention"
COHORT = "cohort_date"
RET = {"report_type": "count", "shape": "long"}

# (table, method, kind, day_column, options, slices, horizon_days,
#  history_days, max_span, align, pages_per_day), in the catalog's order
PINNED: list[tuple[Any, ...]] = [
    ("baidu_user_trend", "user_trend", D, "date", {"gran": "day"}, None, 0, None, 366, None, 1),
    ("baidu_activity_user", "activity_user", D, "date", {}, None, 0, None, 366, None, 1),
    ("baidu_retention_day", "retention", R, COHORT, {"gran": "day", **RET},
     None, 30, None, 366, None, 1),
    ("baidu_retention_week", "retention", R, COHORT, {"gran": "week", **RET},
     None, 63, None, 366, "week", 1),
    ("baidu_retention_month", "retention", R, COHORT, {"gran": "month", **RET},
     None, 279, None, 366, "month", 1),
    ("baidu_visit_attribute", "visit_attribute", X, "date", {}, None, 0, None, 31, None, 1),
    ("baidu_region", "region", X, "date", {}, None, 0, None, 31, None, 2),
    ("baidu_terminal", "terminal", X, "date", {}, B_TERMINAL, 0, None, 31, None, 1),
    ("baidu_visit_page", "visit_page", X, "date", {}, None, 0, None, 31, None, 2),
    ("baidu_visit_character", "visit_character", X, "date", {}, B_CHARACTER,
     0, None, 31, None, 1),
    ("baidu_source", "source", X, "date", {"level": "scene"}, None, 0, None, 31, None, 1),
    ("mta_user_basic", "user_basic", D, "date", {}, None, 0, None, 366, None, 1),
    ("mta_active_users", "active_users", D, "date", {}, None, 0, None, 366, None, 1),
    ("mta_usage", "usage", D, "date", {}, None, 0, None, 366, None, 1),
    ("mta_crash", "crash", D, "date", {}, None, 0, None, 366, None, 1),
    ("mta_retention", "retention", R, COHORT, {"shape": "long"}, None, 31, None, 366, None, 1),
    ("mta_frequency", "frequency", X, "date", {}, None, 0, None, 31, None, 1),
    ("mta_terminal", "terminal", X, "date", {}, M_TERMINAL, 0, None, 31, None, 1),
    ("mta_crash_env", "crash_env", X, "date", {}, M_CRASH_ENV, 0, None, 31, None, 1),
    ("mta_error_list", "error_list", X, "date", {}, None, 0, None, 31, None, 1),
    ("tim_app_info", "app_info", D, "date", {}, None, 0, 30, 366, None, 1),
]  # fmt: skip


def _row(r: Report) -> tuple[Any, ...]:
    return (
        r.table,
        r.method,
        r.kind,
        r.day_column,
        r.options,
        r.slices,
        r.horizon_days,
        r.history_days,
        r.max_span,
        r.align,
        r.pages_per_day,
    )


def test_the_tables_and_their_order() -> None:
    assert [r.table for r in REPORTS.values()] == [p[0] for p in PINNED]
    assert list(REPORTS) == [r.key for r in REPORTS.values()]


@pytest.mark.parametrize("pinned", PINNED, ids=[p[0] for p in PINNED])
def test_every_fact_of_every_table(pinned: tuple[Any, ...]) -> None:
    provider, name = pinned[0].split("_", 1)
    r = REPORTS[f"{provider}.{name}"]
    assert (r.provider, r.name) == (provider, name)
    assert _row(r) == pinned
    # the types too: a list where a tuple was, or "30" for 30, would pass ==
    # on some fields and break hashing or arithmetic elsewhere
    assert type(r.horizon_days) is int and type(r.pages_per_day) is int
    assert r.history_days is None or type(r.history_days) is int
    if r.slices is not None:
        assert type(r.slices) is tuple and type(r.slices[1]) is tuple
    assert r.per_day == (r.kind == "distribution")
