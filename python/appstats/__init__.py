"""appstats: app analytics from Chinese platforms as typed Polars DataFrames.

Providers: Baidu smart programs (:class:`BaiduSmartApp`), Tencent MTA and
Tencent Cloud IM. Every method returns a typed ``polars.DataFrame`` (pandas
or Arrow with ``output=``), fetches every page, checks row counts, retries
retryable errors, and raises an :class:`AppStatsError` subclass otherwise.

Example:
    >>> import appstats as aps
    >>> with aps.Sandbox(seed=7) as sb:
    ...     trend = sb.baidu().user_trend("2024-03-01", "2024-03-31")
    >>> trend.height
    31
"""

from __future__ import annotations

from . import baidu, mta, sync, tim
from ._common import Report
from ._native import __version__
from .baidu import BaiduSmartApp
from .errors import (
    ApiError,
    AppStatsError,
    AuthError,
    IncompleteData,
    InternalError,
    InvalidArgument,
    MalformedResponse,
    MissingDependency,
    QuotaExceeded,
    RateLimited,
    ServerError,
    TransportError,
)
from .mta import Mta
from .sandbox import Sandbox
from .sync.fanout import fetch_many
from .tim import TencentIm

__all__ = [
    "__version__",
    "baidu",
    "mta",
    "tim",
    "sync",
    "fetch_many",
    "BaiduSmartApp",
    "Mta",
    "TencentIm",
    "Report",
    "Sandbox",
    "AppStatsError",
    "InvalidArgument",
    "AuthError",
    "RateLimited",
    "QuotaExceeded",
    "ServerError",
    "ApiError",
    "TransportError",
    "MalformedResponse",
    "IncompleteData",
    "InternalError",
    "MissingDependency",
]
