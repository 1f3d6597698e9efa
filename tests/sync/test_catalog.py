"""The sync's catalog (``appstats.sync.REPORTS``): every table and the
provider facts it holds, pinned value by value, so that building it from
the native catalog (or any other refactoring) cannot change what the sync
fetches, how it windows it or how it names the tables."""

from __future__ import annotations

import copy
import types
from collections.abc import Callable
from typing import Any, cast

import polars as pl
import pytest

from appstats import _native
from appstats.sync import REPORTS, Report
from appstats.sync import catalog as sync_catalog

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


def test_each_table_agrees_with_the_reports_schema() -> None:
    """The day column of a table fetched by range is a date of the report's
    frame for the table's options; a per-day table's is the one the per-day
    fetch adds (the report's frame has none); a slice's column holds the
    option's values."""
    for r in REPORTS.values():
        for sl in r.slice_values():
            schema = _native.report_schema(r.provider, r.method, r.task_options(sl)).schema
            if r.per_day:
                assert r.day_column not in schema, r.key
            else:
                assert schema.get(r.day_column) == pl.Date, r.key
            if r.slices is not None:
                assert schema.get(r.slices[2]) == pl.String, r.key


def _edited(edit: Callable[[dict[str, Any]], None]) -> Callable[[], list[Any]]:
    """``report_catalog`` with ``edit`` applied to each report's dict."""

    def report_catalog() -> list[Any]:
        out = copy.deepcopy(_native.report_catalog())
        for info in out:
            edit(cast(dict[str, Any], info))
        return out

    return report_catalog


def _rebuilt(
    monkeypatch: pytest.MonkeyPatch, edit: Callable[[dict[str, Any]], None]
) -> dict[str, Report]:
    fake = types.SimpleNamespace(report_catalog=_edited(edit))
    monkeypatch.setattr(sync_catalog, "_native", fake)
    return sync_catalog._reports()


def test_no_provider_fact_is_written_in_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every provider fact of the sync's tables follows the native catalog:
    change one there and the table changes with it."""

    def edit(info: dict[str, Any]) -> None:
        key = (info["provider"], info["name"])
        info["pages_per_day"] += 10
        if info["history_days"] is not None:
            info["history_days"] += 1
        for c in info["cohorts"]:
            c["horizon_days"] += 100
            if c["period"] == "month":
                c["period"] = "week"
        for o in info["options"]:
            if o["column"]:
                o["values"] = [*o["values"], "new"]
                o["column"] = f"{o['column']}_x"
        if key == ("mta", "usage"):
            info["kind"], info["day_column"] = "distribution", "day"

    new = _rebuilt(monkeypatch, edit)
    assert list(new) == list(REPORTS)
    for k, r in new.items():
        old = REPORTS[k]
        assert r.pages_per_day == old.pages_per_day + 10, k
        assert r.history_days == (None if old.history_days is None else old.history_days + 1)
        assert r.horizon_days == (old.horizon_days + 100 if old.kind == "retention" else 0), k
        if old.slices is not None:
            assert r.slices == (
                old.slices[0],
                (*old.slices[1], "new"),
                f"{old.slices[2]}_x",
            ), k
        # what the sync itself chose stays
        assert (r.options, r.method, r.table) == (old.options, old.method, old.table)
    assert new["baidu.retention_month"].align == "week"
    usage = new["mta.usage"]
    assert (usage.kind, usage.day_column, usage.per_day, usage.max_span) == (
        "distribution",
        "day",
        True,
        31,
    )


def test_a_catalog_the_tables_do_not_fit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def two_slices(info: dict[str, Any]) -> None:
        if (info["provider"], info["name"]) == ("mta", "terminal"):
            info["options"] = [{**o, "column": o["column"] or o["name"]} for o in info["options"]]

    with pytest.raises(RuntimeError, match="mta.terminal: two sliced options"):
        _rebuilt(monkeypatch, two_slices)

    def no_cohort(info: dict[str, Any]) -> None:
        info["cohorts"] = [c for c in info["cohorts"] if c["period"] != "week"]

    with pytest.raises(RuntimeError, match="baidu.retention_week: 0 cohort periods"):
        _rebuilt(monkeypatch, no_cohort)


#: What identifies a row beside app, slice and day: the values dlt's
#: ROW_KEYS held by hand before they moved into the native catalog.
ROW_KEYS: dict[str, tuple[str, ...] | None] = {
    "baidu.retention_day": ("period",),
    "baidu.retention_week": ("period",),
    "baidu.retention_month": ("period",),
    "baidu.visit_attribute": ("attribute", "attribute_id"),
    "baidu.region": ("region",),
    "baidu.terminal": ("terminal",),
    "baidu.visit_page": ("page_id",),
    "baidu.visit_character": ("bucket",),
    "baidu.source": None,
    "mta.retention": ("period",),
    "mta.frequency": ("bucket",),
    "mta.terminal": ("terminal",),
    "mta.crash_env": ("value",),
    "mta.error_list": ("rank",),
}


def test_row_keys_come_from_the_native_catalog() -> None:
    for key, r in REPORTS.items():
        assert r.row_key == ROW_KEYS.get(key, ()), key
        # every key column is a column of the table's frame
        if r.row_key:
            schema = _native.report_schema(r.provider, r.method, r.task_options(None))
            assert set(r.row_key) <= set(schema.columns), key
