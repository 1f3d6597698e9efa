"""What every fetching method shares: output conversion, the progress bar,
the recent-data warning, and the one sync and async call path."""

from __future__ import annotations

import datetime as _dt
import os
import sys
import threading
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeAlias, TypedDict

import polars as pl

from . import _native
from .errors import InvalidArgument, MissingDependency, PartialDataWarning

if TYPE_CHECKING:
    import pandas
    import pyarrow

Output = Literal["polars", "pandas", "arrow"]
OUTPUTS = ("polars", "pandas", "arrow")
ProgressArg = bool | Callable[[int, int], Any] | None
NativeProgress = Callable[[int, int], Any] | None


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


#: What a fetching method returns, by ``output``.
Frame: TypeAlias = "pl.DataFrame | pandas.DataFrame | pyarrow.Table"


class CallOptions(TypedDict, total=False):
    """The keywords every fetching method takes beside its report's own.

    * ``output``: ``"polars"`` (default) returns a ``polars.DataFrame``,
      ``"pandas"`` a ``pandas.DataFrame`` (nullable dtypes), ``"arrow"`` a
      ``pyarrow.Table``;
    * ``progress``: ``None`` (default) shows a tqdm bar when tqdm is
      installed and the call takes over half a second, ``True`` requires
      it, ``False`` shows nothing, a callable gets ``(done, total)``.
    """

    output: Output
    progress: ProgressArg


#: A bar appears only for calls that take longer than this (seconds).
BAR_DELAY = 0.5


def check_output(output: object) -> None:
    if output not in OUTPUTS:
        raise InvalidArgument(f"unknown output {output!r}; valid values: {', '.join(OUTPUTS)}")


def check_progress(progress: object) -> None:
    # `0`, `1` or `"yes"` are not accepted as booleans: they are mistakes.
    if progress is None or progress is True or progress is False or callable(progress):
        return
    raise InvalidArgument(
        f"progress must be None, True, False or a callable (done, total), got {progress!r}"
    )


def _need(module: str, extra: str) -> None:
    try:
        __import__(module)
    except ImportError as e:
        raise MissingDependency(
            f"output needs {module}; install it with: pip install 'appstats[{extra}]'"
        ) from e


def convert(df: pl.DataFrame, output: str) -> pl.DataFrame | pandas.DataFrame | pyarrow.Table:
    """Return ``df`` as Polars (as is), pandas (nullable dtypes) or Arrow."""
    if output == "polars":
        return df
    if output == "pandas":
        _need("pandas", "pandas")
        _need("pyarrow", "pandas")
        import pandas as pd

        # Arrow-backed conversion keeps nullable integers (Int64) and gives
        # datetime64 for Date columns.
        pdf = df.to_pandas(use_pyarrow_extension_array=False)
        for name, dtype in df.schema.items():
            if dtype.is_integer():
                pdf[name] = pdf[name].astype("Int64")
            elif dtype == pl.Date:
                pdf[name] = pd.to_datetime(pdf[name])
            elif dtype == pl.String:
                pdf[name] = pdf[name].astype("string")
        return pdf
    if output == "arrow":
        _need("pyarrow", "arrow")
        return df.to_arrow()
    check_output(output)
    raise AssertionError("unreachable")


def _convert_result(raw: Any, output: str) -> Any:
    """A frame, or each frame of a :class:`Report`, in the chosen output."""
    if isinstance(raw, Report):
        return Report(
            convert(raw.data, output),  # type: ignore[arg-type]
            convert(raw.summary, output),  # type: ignore[arg-type]
            None if raw.groups is None else convert(raw.groups, output),  # type: ignore[arg-type]
            raw.time_span,
            raw.total,
        )
    return convert(raw, output)


class _Bar:
    """A tqdm bar driven by ``(done, total)`` callbacks from Rust threads.

    The bar is created on the first callback, which comes after the
    arguments were validated (an invalid call draws nothing), and shows only
    once the call has run for :data:`BAR_DELAY` seconds (tqdm's ``delay``).
    """

    def __init__(self, desc: str) -> None:
        from tqdm.auto import tqdm  # ImportError here: before any request

        self._tqdm = tqdm
        self._desc = desc
        self._bar: Any = None
        self._lock = threading.Lock()

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            if self._bar is None:
                self._bar = self._tqdm(
                    total=total,
                    desc=self._desc,
                    unit="req",
                    leave=False,
                    file=sys.stderr,
                    delay=BAR_DELAY,
                )
            if total != self._bar.total:
                self._bar.total = total
            # update() (not n= and refresh()) honours tqdm's delay
            self._bar.update(done - self._bar.n)

    def close(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.close()


def _progress(progress: ProgressArg, desc: str) -> tuple[NativeProgress, Callable[[], None]]:
    """Map ``progress=`` to a native callback and a closer.

    ``None``: a tqdm bar when tqdm is installed; ``True``: a bar (tqdm
    required); ``False``: nothing; a callable: called with ``(done, total)``.
    """
    check_progress(progress)
    if progress is False:
        return None, lambda: None
    if progress is not None and progress is not True:
        return progress, lambda: None  # a callable (checked above)
    try:
        bar = _Bar(desc)
    except ImportError:
        if progress is True:
            raise MissingDependency(
                "progress=True needs tqdm; install it with: pip install 'appstats[progress]'"
            ) from None
        return None, lambda: None
    return bar, bar.close


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside appstats (the user's call)."""
    here = os.path.dirname(__file__)
    frame = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(here):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn_if_recent(end: str | None, what: str) -> None:
    """Warn (:class:`~appstats.PartialDataWarning`) when ``end`` is today or
    later in China time: the providers have data up to yesterday only.
    (Emitted before the fetch, so it also explains an ``IncompleteData``.)"""
    if not end:
        return
    try:
        day = _dt.date.fromisoformat(end if "-" in end else f"{end[:4]}-{end[4:6]}-{end[6:]}")
    except ValueError:
        return
    today = _dt.date.fromisoformat(_native.today_cn())
    if day >= today:
        warnings.warn(
            f"{what}: end date {day} is today or later in China time ({today}); the "
            f"provider has data up to {today - _dt.timedelta(days=1)} only, so the last "
            "days are partial or missing",
            PartialDataWarning,
            stacklevel=_caller_stacklevel(),
        )


def _begin(
    desc: str,
    output: str,
    progress: ProgressArg,
    end: str | None,
    validate: Callable[[], object] | None,
) -> tuple[NativeProgress, Callable[[], None]]:
    """Everything before the first request: the arguments checked, the
    recent-data warning (it also explains an error the fetch may raise),
    then the progress callback."""
    check_output(output)
    check_progress(progress)
    if validate is not None:
        validate()
    warn_if_recent(end, desc)
    return _progress(progress, desc)


def call(
    fetch: Callable[[NativeProgress], Any],
    *,
    desc: str,
    output: str = "polars",
    progress: ProgressArg = None,
    end: str | None = None,
    validate: Callable[[], object] | None = None,
) -> Any:
    """The one path of every blocking fetch.

    Checks ``output``, ``progress`` and (with ``validate``) the request,
    before any request; warns about recent dates; runs
    ``fetch(progress_callback)`` with the bar; and converts the frame (or
    each frame of a :class:`Report`).
    """
    cb, close = _begin(desc, output, progress, end, validate)
    try:
        raw = fetch(cb)
    finally:
        close()
    return _convert_result(raw, output)


async def call_async(
    fetch: Callable[[NativeProgress], Awaitable[Any]],
    *,
    desc: str,
    output: str = "polars",
    progress: ProgressArg = None,
    end: str | None = None,
    validate: Callable[[], object] | None = None,
) -> Any:
    """Awaitable twin of :func:`call`."""
    cb, close = _begin(desc, output, progress, end, validate)
    try:
        raw = await fetch(cb)
    finally:
        close()
    return _convert_result(raw, output)
