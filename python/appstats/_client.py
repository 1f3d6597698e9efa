"""The fetch path the report clients share (:class:`~appstats.BaiduSmartApp`,
:class:`~appstats.Mta`): a request prepared once, then run blocking or
awaited through :func:`appstats._output.call` / ``call_async``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol

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


def call_options(output: Output, progress: ProgressArg) -> CallOptions:
    """``output`` and ``progress`` given as arguments, as :class:`CallOptions`."""
    return {"output": output, "progress": progress}
