"""Helpers shared by the provider clients."""

from __future__ import annotations

import datetime as _dt
import os
from typing import NamedTuple, TypedDict

import polars as pl

DateLike = str | _dt.date


def date_str(d: DateLike, what: str) -> str:
    """Accept ``"2024-03-01"``, ``"20240301"`` or a ``datetime.date``."""
    from .errors import InvalidArgument

    if isinstance(d, _dt.datetime):
        d = d.date()
    if isinstance(d, _dt.date):
        return d.isoformat()
    if isinstance(d, str):
        return d
    raise InvalidArgument(f"{what} must be a date or a 'YYYY-MM-DD' string, got {type(d).__name__}")


def env(name: str, value: str | None) -> str | None:
    """An explicit argument, else the environment variable, else None."""
    if value is not None:
        return value
    v = os.environ.get(name)
    return v if v else None


class HttpKwargs(TypedDict):
    timeout: float
    max_attempts: int
    backoff: float
    max_backoff: float
    max_retry_wait: float
    rate_limit: int
    concurrency: int


def http_kwargs(
    timeout: float = 30.0,
    max_attempts: int = 5,
    backoff: float = 0.2,
    max_backoff: float = 10.0,
    max_retry_wait: float = 120.0,
    rate_limit: int = 10,
    concurrency: int = 4,
) -> HttpKwargs:
    """HTTP settings passed to the native clients (see each client's docs)."""
    return {
        "timeout": timeout,
        "max_attempts": max_attempts,
        "backoff": backoff,
        "max_backoff": max_backoff,
        "max_retry_wait": max_retry_wait,
        "rate_limit": rate_limit,
        "concurrency": concurrency,
    }


class Report(NamedTuple):
    """A report with everything the provider sent beside the rows.

    Attributes:
        data: the rows, as returned by the report's method.
        summary: the provider's totals (Baidu's ``sum`` block), one row per
            request window with its ``start_date``/``end_date``.
        groups: group-level rows (Baidu source report), else ``None``.
        time_span: the provider's ``time_span`` label, if any.
        total: the provider's row count (checked against the rows fetched).
    """

    data: pl.DataFrame
    summary: pl.DataFrame
    groups: pl.DataFrame | None
    time_span: str | None
    total: int | None
