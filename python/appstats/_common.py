"""Former home of the clients' helpers, kept for imports not yet moved:
argument checks are in :mod:`appstats._args`, :class:`HttpOptions` in
:mod:`appstats._http`, :class:`Report` in :mod:`appstats._output`."""

from ._args import DateLike, check_str, date_str, env, names
from ._http import HttpOptions, http_options
from ._output import Report

__all__ = [
    "DateLike",
    "HttpOptions",
    "Report",
    "check_str",
    "date_str",
    "env",
    "http_options",
    "names",
]
