"""``fetch_many``: many reports of many apps, streamed as they finish.

The Rust core runs the tasks on the shared runtime: a global cap on the
requests in flight, each app with its own client (credentials, token cache,
rate limit), at most ``active_apps`` clients alive (and tasks running) at
once, and finished frames handed back through a bounded channel — memory
stays flat however many apps there are. Iterating yields an
:class:`Outcome` per task; leaving the loop early
(``break``, an exception, Ctrl-C) or calling :meth:`FetchRun.close` cancels
what still runs: no request is sent after it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple

import polars as pl

from .. import _native
from .._common import DateLike, date_str
from ..errors import AppStatsError, InvalidArgument

__all__ = ["Task", "Outcome", "FetchRun", "fetch_many"]

#: Defaults of the fan-out, written once.
DEFAULT_CONCURRENCY = 32
DEFAULT_ACTIVE_APPS = 64
DEFAULT_BUFFER = 64


class Task(NamedTuple):
    """One report of one app over ``start..end`` (inclusive).

    Attributes:
        app: the app's name (a key of ``apps``).
        report: the provider's report name (``"user_trend"``, ``"region"``,
            ``"user_basic"``, ``"app_info"``, ...).
        start, end: the window (``"YYYY-MM-DD"`` or dates). Tencent IM
            serves the last 30 days only: its rows are cut to the window.
        options: report options (``{"gran": "day"}``), as strings.
        per_day: fetch one day per request and add a leading ``date``
            column (for reports whose numbers are distributions over the
            requested range, e.g. ``region``: every day stands on its own).
    """

    app: str
    report: str
    start: DateLike
    end: DateLike
    options: Mapping[str, str] = {}
    per_day: bool = False


class Outcome(NamedTuple):
    """What one task gave: a frame, or the typed error that stopped it.

    Attributes:
        task: the task.
        value: the ``polars.DataFrame``, or an :class:`~appstats.AppStatsError`.
        requests: HTTP requests the task sent (retries and token requests
            included).
        retries: of those, retries after a retryable failure.
        started, finished: when it ran (UTC).
        position: the task's position in the ``tasks`` given.
    """

    task: Task
    value: pl.DataFrame | AppStatsError
    requests: int
    retries: int
    started: _dt.datetime
    finished: _dt.datetime
    position: int

    @property
    def ok(self) -> bool:
        """Whether the task returned a frame."""
        return isinstance(self.value, pl.DataFrame)

    @property
    def frame(self) -> pl.DataFrame:
        """The frame; raises the task's error if it failed."""
        if isinstance(self.value, AppStatsError):
            raise self.value
        return self.value

    @property
    def error(self) -> AppStatsError | None:
        """The error, or ``None`` if the task succeeded."""
        return self.value if isinstance(self.value, AppStatsError) else None


ProgressCb = Callable[[int, int, int], Any]


class FetchRun:
    """A running :func:`fetch_many`: iterate it for :class:`Outcome` s.

    Use it as a context manager (or exhaust it) so that leaving early
    cancels what still runs.
    """

    def __init__(
        self, native: Any, tasks: list[Task], app_names: list[str], progress: ProgressCb | None
    ) -> None:
        self._native = native
        self._tasks = tasks
        self._apps = app_names
        self._progress = progress
        self._done = 0
        self._failed_apps: set[str] = set()

    @property
    def total(self) -> int:
        """Tasks in the run."""
        return len(self._tasks)

    @property
    def failed_apps(self) -> set[str]:
        """Apps with at least one failed task so far."""
        return set(self._failed_apps)

    def __iter__(self) -> Iterator[Outcome]:
        return self

    def __next__(self) -> Outcome:
        try:
            item = self._native.__next__()
        except StopIteration:
            raise
        except BaseException:  # Ctrl-C included: nothing may keep running
            self.close()
            raise
        i, frame, error, requests, retries, started, finished = item
        task = self._tasks[i]
        value: pl.DataFrame | AppStatsError = frame if error is None else error
        if error is not None:
            self._failed_apps.add(task.app)
        self._done += 1
        if self._progress is not None:
            self._progress(self._done, self.total, len(self._failed_apps))
        utc = _dt.timezone.utc
        return Outcome(
            task,
            value,
            requests,
            retries,
            _dt.datetime.fromtimestamp(started, utc),
            _dt.datetime.fromtimestamp(finished, utc),
            i,
        )

    def close(self) -> None:
        """Cancel what still runs (no request is sent after this)."""
        self._native.cancel()

    def __enter__(self) -> FetchRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        native = getattr(self, "_native", None)
        if native is not None:
            native.cancel()


def _bar(total: int) -> ProgressCb | None:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    bar = tqdm(total=total, unit="task", delay=0.5, leave=False)

    def update(done: int, total: int, failed: int) -> None:
        bar.n = done
        if failed:
            bar.set_postfix(failed_apps=failed, refresh=False)
        bar.refresh()
        if done >= total:
            bar.close()

    return update


def fetch_many(
    apps: Mapping[str, Mapping[str, Any]],
    tasks: Iterable[Task | Sequence[Any]],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    active_apps: int = DEFAULT_ACTIVE_APPS,
    buffer: int = DEFAULT_BUFFER,
    progress: bool | Callable[[int, int, int], Any] | None = None,
) -> FetchRun:
    """Fetch many reports of many apps; iterate the result as tasks finish.

    Args:
        apps: app name → settings: ``provider`` (``"baidu"``, ``"mta"``,
            ``"tim"``) and the provider client's credentials and options:
            Baidu ``access_token`` | ``client_id`` + ``client_secret`` |
            ``tp_client_id`` + ``tp_ticket`` + ``auth_code`` or
            ``refresh_token`` (programs of one platform share its token),
            ``base_url``, ``page_size``; MTA ``app_id``, ``secret_key``,
            ``base_url``; Tencent IM ``sdkappid``, ``secret_key``,
            ``identifier``, ``region``, ``resolve_to``; and ``http``: a dict
            of ``rate_limit`` (requests per second of this app),
            ``concurrency`` (its requests in flight), ``timeout``,
            ``max_attempts``, ``backoff``, ``max_backoff``,
            ``max_retry_wait``.
        tasks: :class:`Task` s (or tuples of the same fields).
        concurrency: requests in flight at once over all apps (each app also
            keeps to its own ``rate_limit`` and ``concurrency``).
        active_apps: apps with a live client at once, and tasks running at
            once (their tasks are interleaved, so that apps waiting for their
            rate limit leave the requests to others; clients are dropped when
            an app is done).
        buffer: finished results waiting for the consumer before the engine
            pauses starting tasks.
        progress: ``None`` (a bar if tqdm is installed), ``False``, or a
            callable ``(done, total, failed_apps)``.

    Every app and task is validated before anything is sent
    (:class:`~appstats.InvalidArgument` naming it).

    Examples:
        >>> import appstats as aps
        >>> with aps.Sandbox(apps=3) as sb:
        ...     apps = {f"game{i}": {"provider": "mta", "base_url": sb.url, **a}
        ...             for i, a in enumerate(sb.apps("mta"))}
        ...     tasks = [aps.sync.Task(n, "user_basic", "2024-03-01", "2024-03-07") for n in apps]
        ...     with aps.fetch_many(apps, tasks, progress=False) as run:
        ...         rows = {o.task.app: o.frame.height for o in run}
        >>> sorted(rows.items())
        [('game0', 7), ('game1', 7), ('game2', 7)]
    """
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise InvalidArgument(
            "progress must be None, True, False or a callable (done, total, failed_apps)"
        )
    names = list(apps)
    index = {n: i for i, n in enumerate(names)}
    specs = []
    for n in names:
        spec = apps[n]
        if not isinstance(spec, Mapping):
            raise InvalidArgument(
                f"app {n!r}: settings must be a mapping, got {type(spec).__name__}"
            )
        specs.append(dict(spec))
    typed: list[Task] = []
    native_tasks = []
    for k, t in enumerate(tasks):
        task = t if isinstance(t, Task) else Task(*t)
        if task.app not in index:
            raise InvalidArgument(f"task {k}: unknown app {task.app!r}")
        opts = {str(a): str(b) for a, b in dict(task.options).items()}
        native_tasks.append(
            (
                index[task.app],
                task.report,
                date_str(task.start, "start"),
                date_str(task.end, "end"),
                opts,
                bool(task.per_day),
            )
        )
        typed.append(task)
    try:
        native = _native.fetch_many(specs, native_tasks, concurrency, active_apps, buffer)
    except InvalidArgument as e:
        # name apps rather than their positions
        msg = str(e)
        for n, i in index.items():
            msg = msg.replace(f"app {i}:", f"app {n!r}:")
        raise InvalidArgument(msg) from None
    cb: ProgressCb | None
    if progress is None or progress is True:
        cb = _bar(len(typed))
    elif progress is False:
        cb = None
    else:
        cb = progress
    return FetchRun(native, typed, names, cb)
