"""Running planned tasks: the one loop the sync runner and the dlt source
share — the Baidu programs' token store opened (and closed) around the run,
each app's engine settings, the Rust fan-out, and every failure explained
(scrubbed of the app's secrets, with the token store's advice)."""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from .apps import engine_spec, explain_error
from .config import AppConfig, SyncConfig
from .fanout import Outcome, Task, fetch_many
from .planner import PlannedTask
from .tokens import TokenStore

__all__ = ["Executed", "execute"]


class Executed(NamedTuple):
    """One finished task: the fan-out's :class:`~appstats.sync.Outcome`
    (``outcome.position`` indexes the planned tasks) and, when it failed,
    the error's explained, secret-free message."""

    outcome: Outcome
    message: str | None


def execute(
    cfg: SyncConfig,
    planned: Sequence[PlannedTask],
    *,
    concurrency: int | None = None,
    active_apps: int | None = None,
    progress: bool | Callable[[int, int, int], Any] | None = False,
) -> Iterator[Executed]:
    """Fetch ``planned`` tasks, yielding each as it finishes.

    Leaving the loop early (``break``, an exception, Ctrl-C) cancels what
    still runs and closes the token store.

    Examples:
        >>> import appstats as aps, datetime as dt, tempfile
        >>> from appstats.sync.execute import execute
        >>> from appstats.sync.planner import make_plan
        >>> with aps.Sandbox(apps=1, today="2024-04-01") as sb:
        ...     cfg = aps.sync.sandbox_config(sb, tempfile.mkdtemp(), start="2024-03-25",
        ...                                   reports=["mta.user_basic"])
        ...     plan = make_plan(list(cfg.apps), {}, sb.today, dt.date(2024, 3, 31))
        ...     done = [e.outcome.frame.height for e in execute(cfg, plan.tasks)]
        >>> done
        [7]
    """
    apps: dict[str, AppConfig] = {}
    for pt in planned:
        apps.setdefault(pt.app.name, pt.app)
    programs = [a for a in apps.values() if "tp_client_id" in a.credentials]
    tokens = (
        TokenStore(cfg.token_store or pathlib.Path("appstats.tokens.json")) if programs else None
    )
    try:
        if tokens is not None:
            tokens.open()
        specs = {name: engine_spec(app, tokens) for name, app in apps.items()}
        tasks = [
            Task(
                pt.app.name,
                pt.report.method,
                pt.start,
                pt.end,
                pt.report.task_options(pt.slice),
                pt.report.per_day,
            )
            for pt in planned
        ]
        if not tasks:
            return
        with fetch_many(
            specs,
            tasks,
            concurrency=concurrency or cfg.concurrency,
            active_apps=active_apps or cfg.active_apps,
            progress=progress,
        ) as run:
            for o in run:
                msg = (
                    None
                    if o.error is None
                    else explain_error(planned[o.position].app, o.error, tokens)
                )
                yield Executed(o, msg)
    finally:
        if tokens is not None:
            tokens.close()
