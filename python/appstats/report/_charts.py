"""The page's charts: one Vega-Lite spec per chart, filtered by the app
selector (the ``view`` parameter; rows of every view are inline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["FONT_STACK", "Chart", "CHARTS", "VEGA_CONFIG"]

#: System fonts only (no webfont is downloaded): CJK fonts of Linux, macOS
#: and Windows before the generic family, so Chinese app names, regions and
#: scenes render wherever the page is opened.
FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "Source Han Sans SC", '
    '"PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif'
)

#: Vega's config: the same fonts in every chart.
VEGA_CONFIG: dict[str, Any] = {
    "font": FONT_STACK,
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 11},
    "legend": {"labelFontSize": 11, "labelLimit": 260, "orient": "bottom", "columns": 3},
}

_VIEW = [{"name": "view", "value": "__all__"}]
_FILTER = [{"filter": "datum.view === view"}]
_DAY = {"field": "date", "type": "temporal", "timeUnit": "utcyearmonthdate", "title": None}


def _lines(y_title: str) -> dict[str, Any]:
    return {
        "params": _VIEW,
        "transform": _FILTER,
        "width": "container",
        "height": 260,
        "mark": {"type": "line", "tooltip": True, "strokeWidth": 1.8},
        "encoding": {
            "x": _DAY,
            "y": {"field": "value", "type": "quantitative", "title": y_title},
            "color": {"field": "series", "type": "nominal", "title": None},
        },
    }


def _bars(y: str, x: str, x_title: str, color: str | None) -> dict[str, Any]:
    enc: dict[str, Any] = {
        "y": {"field": y, "type": "nominal", "sort": "-x", "title": None},
        "x": {"field": x, "type": "quantitative", "title": x_title},
        "tooltip": [{"field": y}, {"field": x, "format": ",.0f"}],
    }
    if color:
        enc["color"] = {"field": color, "type": "nominal", "title": None}
    return {
        "params": _VIEW,
        "transform": _FILTER,
        "width": "container",
        "height": {"step": 18},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": enc,
    }


@dataclass(frozen=True)
class Chart:
    """One chart of the page: its data's name, title, note and spec."""

    id: str
    title: str
    note: str
    spec: dict[str, Any]


CHARTS: list[Chart] = [
    Chart(
        "dau",
        "Daily active users",
        "All apps: the top apps by mean DAU and the others summed per provider. Users are "
        "not the same unit across providers (launches, SDK devices, IM accounts).",
        _lines("active users"),
    ),
    Chart(
        "new_users",
        "New users",
        "First launches (Baidu, MTA), registrations (IM); the same apps as above.",
        _lines("new users"),
    ),
    Chart(
        "retention",
        "Retention curves",
        "Retained users over cohort size by days after the cohort's day (day_offset), pooled "
        "over the period's cohorts. Baidu's cohorts are a day's active users, MTA's its new "
        "users: compare rates only within one cohort kind.",
        {
            "params": _VIEW,
            "transform": _FILTER,
            "width": "container",
            "height": 260,
            "mark": {"type": "line", "point": True, "tooltip": True},
            "encoding": {
                "x": {"field": "day_offset", "type": "quantitative", "title": "days after"},
                "y": {
                    "field": "rate",
                    "type": "quantitative",
                    "title": "retention",
                    "axis": {"format": ".0%"},
                },
                "color": {"field": "series", "type": "nominal", "title": None},
                "strokeDash": {"field": "cohort", "type": "nominal", "title": "cohort"},
            },
        },
    ),
    Chart(
        "cohorts",
        "Cohort heatmap",
        "Each row a cohort day, each column days after it (1–7, 14, 30); all apps: pooled "
        "per provider.",
        {
            "params": _VIEW,
            "transform": _FILTER,
            "mark": {"type": "rect", "tooltip": True},
            "width": {"step": 26},
            "height": {"step": 9},
            "encoding": {
                "column": {"field": "series", "type": "nominal", "title": None},
                "x": {"field": "day_offset", "type": "ordinal", "title": "days after"},
                "y": {
                    "field": "cohort_date",
                    "type": "ordinal",
                    "title": None,
                    "axis": {"labelExpr": "substring(datum.label, 5, 10)", "labelFontSize": 8},
                },
                "color": {
                    "field": "rate",
                    "type": "quantitative",
                    "title": "retention",
                    "scale": {"scheme": "blues"},
                    "legend": {"format": ".0%", "orient": "right"},
                },
            },
        },
    ),
    Chart(
        "baidu_sources",
        "Baidu sources → scenes",
        "Scenes ranked by daily users summed over the period's days (user-days: a user of "
        "several days counts on each), coloured by source group.",
        _bars("scene", "user_days", "user-days", "group"),
    ),
    Chart(
        "baidu_regions",
        "Baidu regions",
        "Regions ranked by sessions over the period.",
        _bars("region", "sessions", "sessions", None),
    ),
    Chart(
        "im_messages",
        "IM messages: one-to-one vs group",
        "Messages sent per day (UpMsgNum split into C2C and group).",
        {
            "params": _VIEW,
            "transform": _FILTER,
            "width": "container",
            "height": 240,
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {**_DAY, "type": "ordinal"},
                "y": {"field": "messages", "type": "quantitative", "stack": True},
                "color": {"field": "kind", "type": "nominal", "title": None},
            },
        },
    ),
    Chart(
        "im_peak",
        "IM peak online users",
        "Each app's daily peak (peaks of different apps are not summed).",
        _lines("peak online"),
    ),
]
