"""Lazy scans: :func:`scan` is a Polars LazyFrame over one report of every
app of a sync config. Its filters on the day column and on ``app`` become
each app's window and the apps called, a ``select`` of MTA metrics or IM
fields the metrics requested, and the days the config's lake already holds
are read from it instead of being fetched. :func:`scan_plan` shows what a
query would read, sending nothing.

The package is laid out like py-polars' ``io/iceberg``: ``functions``
(the public calls), ``_source`` (the Polars IO source), ``_pushdown`` (what a
predicate and a projection say) and ``_plan`` (lake days, fetch windows and
missing days per app).
"""

from ._plan import AppPlan, MissingDaysWarning, ScanPlan
from .functions import report_schema, scan, scan_plan

__all__ = ["scan", "scan_plan", "report_schema", "ScanPlan", "AppPlan", "MissingDaysWarning"]
