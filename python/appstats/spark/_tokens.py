"""Errors naming the app, and the Baidu programs' tokens, exchanged and proven on the driver."""

from __future__ import annotations

import datetime as _dt
import logging
import pathlib
from collections.abc import Mapping, Sequence

from ..errors import AppStatsError, AuthError
from ..sync.apps import engine_spec, explain_error, restated, today_cn
from ..sync.config import AppConfig, SyncConfig
from ..sync.fanout import Task, fetch_many
from ..sync.tokens import TokenStore
from ._deps import (
    InputPartition,
)
from ._options import _Options

log = logging.getLogger("appstats.spark")


def _scrub(msg: str, secrets: Sequence[str]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            msg = msg.replace(s, "***")
    return msg


def _named(
    app: AppConfig, err: AppStatsError, window: tuple[str, str] | None, token: str | None = None
) -> AppStatsError:
    """``err`` again (same class), its message naming the app and window."""
    where = f"app {app.name!r} ({app.provider} {app.app_id})"
    if window is not None:
        where += f", {window[0]} – {window[1]}"
    msg = f"{where}: {_scrub(explain_error(app, err, None), [token] if token else [])}"
    return restated(err, msg)


class AppsPartition(InputPartition):
    """The apps one Spark task reads (all windows of each).

    ``tokens`` holds access tokens of Baidu programs, exchanged on the
    driver; ``failed`` the apps whose token exchange failed there
    (``PERMISSIVE``). Neither appears in the ``repr``.
    """

    def __init__(
        self,
        index: int,
        apps: Sequence[str],
        tokens: Mapping[str, tuple[str, float]],
        failed: Mapping[str, str],
    ) -> None:
        super().__init__(index)
        self.index = index
        self.apps = tuple(apps)
        self.tokens = dict(tokens)
        self.failed = dict(failed)

    def __repr__(self) -> str:
        shown = ", ".join(self.apps[:3]) + (
            f", … ({len(self.apps)} apps)" if len(self.apps) > 3 else ""
        )
        extra = f", tokens=<{len(self.tokens)} redacted>" if self.tokens else ""
        return f"AppsPartition({self.index}, apps=[{shown}]{extra})"


def _program_tokens(
    cfg: SyncConfig, apps: Sequence[AppConfig], opts: _Options
) -> tuple[dict[str, tuple[str, float]], dict[str, AppStatsError]]:
    """Access tokens of the Baidu programs among ``apps``, from the token
    store or exchanged here, on the driver (their refresh tokens are
    single-use: executors never exchange them)."""
    programs = [a for a in apps if "tp_client_id" in a.credentials]
    tokens: dict[str, tuple[str, float]] = {}
    failed: dict[str, AppStatsError] = {}
    if not programs:
        return tokens, failed
    store = TokenStore(cfg.token_store or pathlib.Path("appstats.tokens.json"))
    with store:
        specs = {}
        for a in programs:
            spec = engine_spec(a, store)
            cached = store.access_token(a.name)
            if cached is None or cached[1] < opts.token_min_life:
                spec.pop("cached_token", None)  # too short-lived for this read: renew it
            specs[a.name] = spec
        # One small request per program (one day of its trend) before the
        # token is shipped: it exchanges the refresh token where there is no
        # usable access token, and proves a cached one — a token Baidu
        # rejects (110/111: expired early, or spent by another client's
        # refresh) is renewed here, on the driver, through the store, instead
        # of failing on every executor of every later read.
        day = min(opts.end, today_cn() - _dt.timedelta(days=1)).isoformat()
        tasks = [Task(a.name, "user_trend", day, day, {"gran": "day"}) for a in programs]
        by_name = {a.name: a for a in programs}
        errs: dict[str, AppStatsError] = {}
        with fetch_many(specs, tasks, concurrency=cfg.concurrency, progress=False) as run:
            for o in run:
                if o.error is not None:
                    errs[o.task.app] = _named(by_name[o.task.app], o.error, None)
        for a in programs:
            got = store.access_token(a.name)  # stored by the exchange, before any use
            err = errs.get(a.name)
            if got is not None and not (isinstance(err, AuthError) and err.code in (110, 111)):
                tokens[a.name] = got  # the request itself may have failed: not our concern
            else:
                failed[a.name] = err or AppStatsError(
                    f"app {a.name!r}: the token exchange stored no access token",
                    provider="baidu",
                )
    return tokens, failed
