"""The exception hierarchy of appstats, and its warning.

Every error appstats raises is an :class:`AppStatsError`. Messages never
contain secrets (keys, tokens, signatures, UserSigs). The one warning,
:class:`PartialDataWarning`, goes through :mod:`warnings`.

Examples:
    >>> import appstats as aps
    >>> try:
    ...     aps.BaiduSmartApp(access_token="t").user_trend("2024-03-02", "2024-03-01")
    ... except aps.InvalidArgument as e:
    ...     print(e)
    end date 2024-03-01 is before start date 2024-03-02
"""

from __future__ import annotations

__all__ = [
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
    "LakeError",
    "LakeBusy",
    "PartialDataWarning",
]


class AppStatsError(Exception):
    """Base class of every appstats error.

    Attributes:
        message: the full, secret-free message.
        provider: ``"baidu"``, ``"mta"``, ``"tim"`` or ``None``.
        code: the provider's numeric error code, if any.
        provider_message: the provider's own message, if any.
        retryable: whether a later attempt could succeed (appstats already
            retried such errors before raising).
    """

    def __init__(
        self,
        message: str,
        provider: str | None = None,
        code: int | None = None,
        provider_message: str | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.code = code
        self.provider_message = provider_message
        self.retryable = retryable

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"code={self.code!r})"
        )


class InvalidArgument(AppStatsError, ValueError):
    """Bad input, rejected before any request was made."""


class AuthError(AppStatsError):
    """Missing, wrong or expired credentials (that could not be renewed)."""


class RateLimited(AppStatsError):
    """The provider kept throttling requests after all retries."""


class QuotaExceeded(AppStatsError):
    """A daily/monthly quota is used up; retrying today will not help."""


class ServerError(AppStatsError):
    """The provider kept failing on its side (HTTP 5xx, internal error)."""


class ApiError(AppStatsError):
    """Any other error code the provider answered with."""


class TransportError(AppStatsError):
    """The request did not complete (connection refused/reset, timeout)."""


class MalformedResponse(AppStatsError):
    """The provider's reply could not be understood."""


class IncompleteData(AppStatsError):
    """Pages, rows or dates are missing; the message says which."""


class InternalError(AppStatsError):
    """A bug in appstats (e.g. a Rust panic caught at the boundary)."""


class MissingDependency(AppStatsError, ImportError):
    """An optional dependency is needed; the message names the pip extra."""


class LakeError(AppStatsError):
    """The lake (a sync's Delta tables) cannot be read or written; the
    message names the lake, what was being done and the cause."""


class LakeBusy(LakeError):
    """Another run holds the lake's lease (see :mod:`appstats.sync.lease`)."""


class PartialDataWarning(UserWarning):
    """The requested range reaches today (China time) or later.

    The providers publish a day's numbers the next day: rows for today and
    later dates are partial or missing. Emitted with :func:`warnings.warn`
    after such a fetch, pointing at the caller's line; silence it with
    ``warnings.filterwarnings("ignore", category=aps.PartialDataWarning)``
    or turn it into an error with ``"error"``.
    """
