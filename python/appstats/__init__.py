"""appstats: app analytics from Chinese platforms as typed Polars DataFrames.

Providers: Baidu smart programs (:class:`BaiduSmartApp`), Tencent MTA and
Tencent Cloud IM. Every method returns a typed ``polars.DataFrame`` (pandas
or Arrow with ``output=``), fetches every page, checks row counts, retries
retryable errors, and raises an :class:`AppStatsError` subclass otherwise.

Examples:
    >>> import appstats as aps
    >>> with aps.Sandbox(seed=7) as sb:
    ...     trend = sb.baidu().user_trend("2024-03-01", "2024-03-31")
    >>> trend.height
    31
"""

import logging as _logging

# A library does not print log records unless the application configures
# logging (e.g. a retry's "giving up" line beside the exception it raises).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

from . import baidu, errors, lazy, metrics, mta, report, sync, tim  # noqa: E402
from ._common import HttpOptions, Report  # noqa: E402
from ._native import __version__  # noqa: E402
from .baidu import BaiduSmartApp  # noqa: E402
from .errors import *  # noqa: E402, F403
from .lazy import scan, scan_plan  # noqa: E402
from .mta import Mta  # noqa: E402
from .sandbox import Sandbox  # noqa: E402
from .sync.fanout import fetch_many  # noqa: E402
from .tim import TencentIm  # noqa: E402

__all__ = [
    "__version__",
    "baidu",
    "mta",
    "tim",
    "sync",
    "metrics",
    "report",
    "fetch_many",
    "lazy",
    "scan",
    "scan_plan",
    "BaiduSmartApp",
    "Mta",
    "TencentIm",
    "HttpOptions",
    "Report",
    "Sandbox",
]
__all__ += errors.__all__
