"""The fetch path the report clients share (:class:`~appstats.BaiduSmartApp`,
:class:`~appstats.Mta`): a request prepared once, then run blocking or
awaited through :func:`appstats._output.call` / ``call_async``; and
:func:`twin`, which makes a report method's awaitable twin from the method
itself, so each report is written once."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar, Concatenate, ParamSpec, Protocol, TypeVar, cast

from ._args import DateLike
from ._output import CallOptions, NativeProgress, Output, ProgressArg, call, call_async

#: The native arguments of one report: name, start, end, options.
Request = tuple[str, str, str, dict[str, str]]


class NativeReports(Protocol):
    """What the shared path needs of a native client (``BaiduClient``, ``MtaClient``)."""

    def fetch(
        self, report: str, start: str, end: str, options: dict[str, str], cb: NativeProgress, /
    ) -> Any: ...
    def fetch_async(
        self, report: str, start: str, end: str, options: dict[str, str], cb: NativeProgress, /
    ) -> Awaitable[Any]: ...
    def validate(self, report: str, start: str, end: str, options: dict[str, str], /) -> None: ...


class ReportClient:
    """Base of the clients that fetch reports by name: one prepare step for
    the blocking and the awaitable twin of every report method."""

    #: The provider's name in progress bars (``"baidu"``, ``"mta"``).
    _PROVIDER: ClassVar[str]
    _native: NativeReports

    #: The native arguments of ``(report, start, end, options)`` (each
    #: client's method; the Rust client validates them all).
    _request: Callable[[str, DateLike, DateLike, dict[str, Any]], Request]
    #: The native reply as the rows, or (``full``) as a :class:`~appstats.Report`.
    _result: Callable[[Any, bool], Any]

    def _prepare(
        self,
        report: str,
        start: DateLike,
        end: DateLike,
        options: dict[str, Any],
        kw: CallOptions,
    ) -> tuple[Request, dict[str, Any]]:
        """The request, and the keywords of :func:`~appstats._output.call` for it."""
        args = self._request(report, start, end, options)
        return args, {
            "desc": f"{self._PROVIDER} {report}",
            "output": kw.get("output", "polars"),
            "progress": kw.get("progress"),
            "end": args[2],
            "validate": lambda: self._native.validate(*args),
        }

    def _fetch(
        self,
        report: str,
        start: DateLike,
        end: DateLike,
        options: dict[str, Any],
        kw: CallOptions,
        full: bool = False,
    ) -> Any:
        args, how = self._prepare(report, start, end, options, kw)
        return call(lambda cb: self._result(self._native.fetch(*args, cb), full), **how)

    async def _fetch_async(
        self,
        report: str,
        start: DateLike,
        end: DateLike,
        options: dict[str, Any],
        kw: CallOptions,
        full: bool = False,
    ) -> Any:
        args, how = self._prepare(report, start, end, options, kw)

        async def fetch(cb: NativeProgress) -> Any:
            return self._result(await self._native.fetch_async(*args, cb), full)

        return await call_async(fetch, **how)

    def _get(
        self, report: str, start: DateLike, end: DateLike, kw: CallOptions, /, **options: Any
    ) -> Any:
        """The rows of ``report``: what each report method returns."""
        return self._fetch(report, start, end, options, kw)


_C = TypeVar("_C", bound=ReportClient)
_P = ParamSpec("_P")
_R = TypeVar("_R")


class _Awaiting:
    """A client as a report method's body sees it in the method's awaitable
    twin: the same :meth:`ReportClient._get` and ``_fetch``, which return
    the awaitable of ``_fetch_async`` instead of the rows."""

    __slots__ = ("_client",)

    def __init__(self, client: ReportClient) -> None:
        self._client = client

    def _fetch(self, *args: Any) -> Awaitable[Any]:
        return self._client._fetch_async(*args)

    _get = ReportClient._get

    def __getattr__(self, name: str) -> Any:
        raise TypeError(
            f"a report method with an awaitable twin may only call self._get or "
            f"self._fetch and return what it returns, not use self.{name}"
        )


def twin(
    method: Callable[Concatenate[_C, _P], _R],
) -> Callable[Concatenate[_C, _P], Coroutine[Any, Any, _R]]:
    """The awaitable twin of a report method: ``x_async = twin(x)``.

    The twin takes the same arguments and runs the method's own body, in
    which ``self._get(...)`` / ``self._fetch(...)`` then start the awaitable
    fetch (the one prepare step both share); the method must return what
    that call returns. So each report's name, options and checks are
    written once, in the blocking method, whose signature and docs the
    twin carries (``inspect.signature`` and the generated stubs see them).

    Examples:
        >>> import asyncio, appstats as aps
        >>> async def main():
        ...     with aps.Sandbox() as sb:
        ...         df = await sb.mta().crash_async("2024-03-01", "2024-03-07")
        ...         return df.height
        >>> asyncio.run(main())
        7
    """

    @functools.wraps(method)
    async def awaitable(self: _C, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        pending = method(cast(_C, _Awaiting(self)), *args, **kwargs)
        return await cast("Awaitable[_R]", pending)

    awaitable.__name__ = f"{method.__name__}_async"
    awaitable.__qualname__ = f"{method.__qualname__}_async"
    awaitable.__doc__ = f"Awaitable twin of :meth:`{method.__name__}`."
    return cast("Callable[Concatenate[_C, _P], Coroutine[Any, Any, _R]]", awaitable)


def call_options(output: Output, progress: ProgressArg) -> CallOptions:
    """``output`` and ``progress`` given as arguments, as :class:`CallOptions`."""
    return {"output": output, "progress": progress}
