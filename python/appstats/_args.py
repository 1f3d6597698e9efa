"""Argument checks shared by the clients: dates, credentials from the
environment, strings, and selections of metrics or fields."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence

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
