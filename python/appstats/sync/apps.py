"""A sync config's apps as the fan-out engine sees them: which apps and
reports run, the run's dates, each app's engine spec, and its errors as
messages without its secrets. Shared by :mod:`appstats.sync`,
:mod:`appstats.spark` and :mod:`appstats.dlt`."""

from __future__ import annotations

import datetime as _dt
import os
import weakref
from collections.abc import Iterable
from typing import Any

from .. import _native
from .._common import DateLike
from ..errors import AppStatsError, AuthError, InvalidArgument
from . import catalog
from .config import AppConfig, SyncConfig, load_config
from .tokens import TokenStore

__all__ = [
    "engine_spec",
    "explain_error",
    "restated",
    "parse_day",
    "run_dates",
    "select_apps",
    "today_cn",
]


def today_cn() -> _dt.date:
    """Today in China (UTC+8), where the providers' days begin (the Rust
    core's definition, shared with the clients and the sandbox)."""
    return _dt.date.fromisoformat(_native.today_cn())


def parse_day(v: DateLike | None, what: str) -> _dt.date | None:
    """A date argument (date, datetime or ``YYYY-MM-DD``); ``None`` stays ``None``."""
    if v is None:
        return None
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    try:
        return _dt.date.fromisoformat(str(v))
    except ValueError:
        raise InvalidArgument(f"{what} must be a YYYY-MM-DD date, got {v!r}") from None


def select_apps(
    cfg: SyncConfig, apps: Iterable[str] | None, reports: Iterable[str] | None
) -> list[AppConfig]:
    """The config's apps, narrowed to ``apps`` (names) and ``reports`` (names
    or ``provider.*``); ``None`` keeps all. An unknown name raises
    :class:`~appstats.InvalidArgument` listing the valid ones.

    Examples:
        >>> from appstats.sync.config import parse_config
        >>> cfg = parse_config(
        ...     '[[mta]]\\nname = "shop"\\napp_id = "500001"\\nsecret_key = "k"\\n',
        ...     allow_literal_secrets=True,
        ... )
        >>> chosen = select_apps(cfg, ["shop"], ["mta.user_basic"])
        >>> [(a.name, [r.key for r in a.reports]) for a in chosen]
        [('shop', ['mta.user_basic'])]
    """
    chosen = list(cfg.apps)
    if apps is not None:
        names = [a.strip() for a in apps if a.strip()]
        known = {a.name for a in cfg.apps}
        bad = [n for n in names if n not in known]
        if bad:
            raise InvalidArgument(
                f"unknown app{'s' if len(bad) > 1 else ''} "
                f"{', '.join(map(repr, bad))}; the config has: "
                f"{', '.join(sorted(known)) or 'none'}"
            )
        chosen = [a for a in chosen if a.name in set(names)]
    if reports is not None:
        names = [r.strip() for r in reports if r.strip()]
        bad = [n for n in names if not catalog.valid_name(n)]
        if bad:
            raise InvalidArgument(
                f"unknown report{'s' if len(bad) > 1 else ''} "
                f"{', '.join(map(repr, bad))}; valid: "
                f"{', '.join(sorted(catalog.REPORTS))} (or provider.*)"
            )
        out = []
        for a in chosen:
            keep = {r.key for r in catalog.select(a.provider, names)}
            out.append(
                AppConfig(
                    a.name,
                    a.provider,
                    a.app_id,
                    a.start,
                    a.lag_days,
                    tuple(r for r in a.reports if r.key in keep),
                    a.credentials,
                    a.http,
                    a.line,
                )
            )
        chosen = out
    return chosen


def run_dates(
    config: SyncConfig | str | os.PathLike[str],
    until: DateLike | None,
    today: DateLike | None,
    allow_literal_secrets: bool,
) -> tuple[SyncConfig, _dt.date, _dt.date]:
    """The config (loaded when given a path), today and the last day to sync
    (``until``, default yesterday), both China time; ``until`` must be
    before today."""
    cfg = (
        config
        if isinstance(config, SyncConfig)
        else load_config(config, allow_literal_secrets=allow_literal_secrets)
    )
    t = parse_day(today, "today") or today_cn()
    u = parse_day(until, "until") or t - _dt.timedelta(days=1)
    if u >= t:
        raise InvalidArgument(
            f"until {u} must be before today ({t}, China time): the "
            "providers have no complete data for today"
        )
    return cfg, t, u


def engine_spec(app: AppConfig, tokens: TokenStore | None) -> dict[str, Any]:
    """What the Rust engine (``fetch_many``) needs of an app: provider,
    credentials and HTTP settings. A Baidu program's token comes from the
    token store, which is told of every new one before it is used."""
    c = dict(app.credentials)
    spec: dict[str, Any] = {"provider": app.provider}
    if app.http:
        spec["http"] = dict(app.http)
    if app.provider == "baidu":
        if "tp_client_id" in c:
            assert tokens is not None
            # a refresh left pending by an earlier process (not this run's)
            _PENDING_BEFORE.setdefault(tokens, {})[app.name] = tokens.pending(app.name)
            value, kind = tokens.grant(
                app.name, refresh_token=c.get("refresh_token"), auth_code=c.get("auth_code")
            )
            spec.update(tp_client_id=c["tp_client_id"], tp_ticket=c["tp_ticket"])
            spec[kind] = value
            cached = tokens.access_token(app.name)
            if cached:
                spec["cached_token"] = cached
            tokens.mark_seed(app.name, value)
            spec["on_token"] = tokens.hook(app.name)
        else:
            for k in ("access_token", "client_id", "client_secret"):
                if k in c:
                    spec[k] = c[k]
        for k in ("base_url", "page_size"):
            if c.get(k) is not None:
                spec[k] = c[k]
    elif app.provider == "mta":
        spec.update({k: c[k] for k in ("app_id", "secret_key", "base_url") if k in c})
    else:
        spec.update(
            {
                k: c[k]
                for k in ("sdkappid", "secret_key", "identifier", "region", "resolve_to", "today")
                if k in c
            }
        )
    return spec


def _secrets(app: AppConfig) -> list[str]:
    return [
        str(v)
        for k, v in app.credentials.items()
        if isinstance(v, str)
        and len(v) >= 4
        and k not in ("app_id", "region", "base_url", "identifier", "resolve_to", "today")
    ]


#: Per open token store: each program's pending refresh as it was before
#: this run handed out its token (:func:`engine_spec`). A pending record
#: made by the run itself is the refusal being explained, not a crash.
_PENDING_BEFORE: weakref.WeakKeyDictionary[TokenStore, dict[str, str | None]] = (
    weakref.WeakKeyDictionary()
)

#: What re-authorising a program means, in every diagnosis.
REAUTHORISE = (
    "re-authorise the program (its owner grants the platform again) and set the new "
    "auth_code in the config"
)


def explain_error(app: AppConfig, err: AppStatsError, tokens: TokenStore | None) -> str:
    """The error's message, scrubbed of the app's secrets, with advice for
    a Baidu program whose refresh token was refused: a refresh that an
    earlier run began and never stored (it stopped in between), or else a
    token spent by another client."""
    msg = str(err)
    for s in _secrets(app):
        msg = msg.replace(s, "***")
    if tokens is not None and isinstance(err, AuthError) and "tp_client_id" in app.credentials:
        before = _PENDING_BEFORE.get(tokens, {})
        pending = before[app.name] if app.name in before else tokens.pending(app.name)
        if pending:
            msg += (
                f" — a refresh of this program's token began at {pending} and its result "
                "was never stored (the process stopped in between). Baidu spends a "
                f"refresh token on use: {REAUTHORISE}"
            )
        elif "invalid_grant" in msg:
            msg += (
                " — Baidu refused the stored refresh token, and no earlier run left a "
                "refresh of it unfinished: it was likely spent by another client (another "
                "tool, or a copy of this token store, used the same single-use token). "
                f"Keep one token store per program; {REAUTHORISE}"
            )
    return msg


def restated(err: AppStatsError, msg: str) -> AppStatsError:
    """``err`` again, same class, code and retryability, with message ``msg``
    (e.g. naming the app and window, or without the app's secrets).

    Examples:
        >>> from appstats import RateLimited
        >>> slow = RateLimited("slow down", provider="mta", code=60005)
        >>> e = restated(slow, "app 'shop': slow down")
        >>> type(e).__name__, e.code, str(e)
        ('RateLimited', 60005, "app 'shop': slow down")
    """
    try:
        return type(err)(
            msg,
            provider=err.provider,
            code=err.code,
            provider_message=err.provider_message,
            retryable=err.retryable,
        )
    except TypeError:  # a subclass with another constructor
        return AppStatsError(msg, provider=err.provider, code=err.code)
