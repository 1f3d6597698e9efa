"""Helpers shared by the provider clients: argument checks, HTTP options, Report."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from typing import NamedTuple, TypedDict

import polars as pl

from .errors import InvalidArgument

DateLike = str | _dt.date


def date_str(d: DateLike, what: str) -> str:
    """Accept ``"2024-03-01"``, ``"20240301"`` or a ``datetime.date``."""
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


def check_str(value: object, name: str) -> str | None:
    """``value`` if it is a string or None, else :class:`InvalidArgument`.

    The value itself is never shown (it may be a secret), only its type.
    """
    if value is None or isinstance(value, str):
        return value
    raise InvalidArgument(f"{name} must be a string, got {type(value).__name__}")


def names(value: Sequence[str | int] | str | int | None, what: str) -> list[str] | None:
    """A selection of metrics or fields as a list of names.

    ``None`` selects everything; a name, id or comma-separated string is a
    one-item (or split) selection. An empty list or string is an error for
    every provider: it is most often a filter that came out empty, and
    silently fetching everything instead would hide that.
    """
    if value is None:
        return None
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        items = [p.strip() for p in str(value).split(",")]
    elif isinstance(value, Sequence):
        items = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (str, int)):
                raise InvalidArgument(
                    f"{what} must be names or ids (str or int), got {type(v).__name__}"
                )
            items.append(str(v).strip())
    else:
        raise InvalidArgument(
            f"{what} must be a list of names, a name or None, got {type(value).__name__}"
        )
    items = [i for i in items if i]
    if not items:
        raise InvalidArgument(f"{what} is empty; pass None to get all of them")
    return items


class HttpOptions(TypedDict, total=False):
    """HTTP settings of a client; a key left out keeps the provider's default.

    The defaults live in the Rust core, one place per provider, and are
    shown by ``appstats.baidu.HTTP_DEFAULTS``, ``appstats.mta.HTTP_DEFAULTS``
    and ``appstats.tim.HTTP_DEFAULTS``. Every value is checked before use;
    out of range raises :class:`~appstats.InvalidArgument` naming it:

    * ``timeout``: seconds per request (connect + reply), 0.001 – 86400;
    * ``max_attempts``: attempts per request, the first included, 1 – 100;
    * ``backoff``: seconds before the first retry (doubled each time, with
      jitter), 0 – 3600; ``max_backoff``: cap of one wait, 0 – 3600;
    * ``max_retry_wait``: cap of the summed waits of one request, 0 – 86400;
    * ``rate_limit``: requests per second of this client, 1 – 100000;
    * ``concurrency``: requests in flight at once, 1 – 1024.

    Examples:
        >>> import appstats as aps
        >>> aps.baidu.HTTP_DEFAULTS["rate_limit"], aps.tim.HTTP_DEFAULTS["rate_limit"]
        (10, 100)
        >>> aps.Mta("1", "key", concurrency=0)
        Traceback (most recent call last):
        ...
        appstats.errors.InvalidArgument: concurrency must be an integer from 1 to 1024, got 0
    """

    timeout: float
    max_attempts: int
    backoff: float
    max_backoff: float
    max_retry_wait: float
    rate_limit: int
    concurrency: int


def http_options(
    timeout: float | None = None,
    max_attempts: int | None = None,
    backoff: float | None = None,
    max_backoff: float | None = None,
    max_retry_wait: float | None = None,
    rate_limit: int | None = None,
    concurrency: int | None = None,
) -> HttpOptions:
    """The settings a caller gave (``None`` = not given), for the native clients."""
    given = {
        "timeout": timeout,
        "max_attempts": max_attempts,
        "backoff": backoff,
        "max_backoff": max_backoff,
        "max_retry_wait": max_retry_wait,
        "rate_limit": rate_limit,
        "concurrency": concurrency,
    }
    out = HttpOptions()
    for k, v in given.items():
        if v is not None:
            out[k] = v  # type: ignore[literal-required]
    return out


class Report(NamedTuple):
    """A report with everything the provider sent beside the rows.

    Attributes:
        data: the rows, as returned by the report's method.
        summary: one row per request window with its ``start_date`` and
            ``end_date``, and the provider's totals of that window where it
            sends them (Baidu's ``sum`` block).
        groups: group-level rows (Baidu source report), else ``None``.
        time_span: the provider's ``time_span`` label over every window
            (Baidu), else ``None``.
        total: the provider's row count (checked against the rows fetched),
            if it sends one.
    """

    data: pl.DataFrame
    summary: pl.DataFrame
    groups: pl.DataFrame | None
    time_span: str | None
    total: int | None
