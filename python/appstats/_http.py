"""The HTTP settings of a client (:class:`HttpOptions`) as the native clients take them."""

from __future__ import annotations

from typing import Any, TypedDict, cast


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


#: The names of the settings, in order.
HTTP_KEYS: tuple[str, ...] = tuple(HttpOptions.__annotations__)


def http_options(owner: str = "the client", /, **given: Any) -> HttpOptions:
    """The settings a caller gave (``None`` = not given), for the native clients.

    A name that is no setting is a :class:`TypeError`, as for any unknown
    keyword argument of ``owner``.
    """
    for k in given:
        if k not in HTTP_KEYS:
            raise TypeError(f"{owner} got an unexpected keyword argument {k!r}")
    return cast(HttpOptions, {k: v for k, v in given.items() if v is not None})
