"""One self-contained HTML page of every app of a synced lake.

``aps.report(lake, "report.html")`` (``appstats report --config ...``)
reads the lake — the metrics model, ``_runs``, the Baidu source and region
and IM tables — and writes one HTML file with its CSS, the Vega-Lite
runtime and the data inline: a header with the period, each provider's last
sync and the apps whose last run failed or that have gaps; KPI tiles per
provider against the previous period; DAU and new users over time; retention
curves and cohort heatmaps; Baidu sources and regions; IM messages and peak
online users — every chart filtered by one app selector and downloadable as
CSV. ``appstats.report`` is callable: ``appstats.report(...)`` is
:func:`appstats.report.functions.report`.
"""

import sys
import types
from typing import Any

from .functions import report

__all__ = ["report"]


class _CallableModule(types.ModuleType):
    """``appstats.report(...)`` is :func:`appstats.report.functions.report`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
