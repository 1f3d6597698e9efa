"""``appstats sync``: every report of many apps, incrementally and
idempotently, into Delta Lake tables.

``aps.sync(config)`` (short for :func:`appstats.sync.run`) plans what is
missing per app and report from the tables' own state, fetches it with the
Rust fan-out engine (:func:`~appstats.fetch_many`), replaces exactly the
fetched slices in one Delta table per report, records every attempt in a
``_runs`` table, and returns a summary frame. Needs ``deltalake``
(``pip install 'appstats[sync]'``).

Examples:
    >>> import appstats as aps, tempfile
    >>> with aps.Sandbox(apps=3, today="2024-04-01") as sb:
    ...     cfg = aps.sync.sandbox_config(sb, tempfile.mkdtemp(), providers=["mta"],
    ...                                   start="2024-03-01", reports=["user_basic"])
    ...     summary = aps.sync(cfg, today=sb.today, progress=False)
    >>> summary.select("app", "rows", "status").rows()
    [('mta1', 31, 'ok'), ('mta2', 31, 'ok'), ('mta3', 31, 'ok')]
"""

import sys
import types
from typing import Any

from ..errors import LakeBusy, LakeError
from .catalog import REPORTS, Report
from .config import AppConfig, ConfigError, ConfigIssue, SyncConfig, load_config, parse_config
from .demo import sandbox_config
from .fanout import FetchRun, Outcome, Task, fetch_many
from .lease import LEASE_TABLE, LakeLease
from .planner import Gap, Plan, PlannedTask
from .runner import optimize, plan, run, summary, today_cn
from .store import RUNS_TABLE, DeltaStore
from .tokens import TokenStore, TokenStoreError

__all__ = [
    "run",
    "plan",
    "optimize",
    "summary",
    "today_cn",
    "load_config",
    "parse_config",
    "sandbox_config",
    "fetch_many",
    "Task",
    "Outcome",
    "FetchRun",
    "SyncConfig",
    "AppConfig",
    "ConfigError",
    "ConfigIssue",
    "Plan",
    "PlannedTask",
    "Gap",
    "Report",
    "REPORTS",
    "DeltaStore",
    "RUNS_TABLE",
    "LakeLease",
    "LEASE_TABLE",
    "LakeError",
    "LakeBusy",
    "TokenStore",
    "TokenStoreError",
]


class _CallableModule(types.ModuleType):
    """``appstats.sync(...)`` is :func:`appstats.sync.run`."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return run(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
