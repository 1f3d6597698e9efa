"""The ``appstats sync`` subcommand (registered by ``appstats.cli``).

Exit codes: 0 every task succeeded; 2 a bad config or argument (every
config problem listed, with file and line), or a lake that cannot be
written (one line naming it and the cause, before anything is sent); 75
another sync holds the lake's lease (try again later, or ``--lease-wait``);
when tasks failed or were deferred, the code of their error class if they
share one (3 authentication, 4 incomplete data — also for days a provider
no longer serves —, 5 rate limit or quota: deferred to the next run),
else 1.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import urllib.parse
from typing import TYPE_CHECKING, Any

import polars as pl

from ..errors import AppStatsError, InvalidArgument, LakeBusy, LakeError

if TYPE_CHECKING:
    from .config import SyncConfig

__all__ = ["add_parser"]

#: Another run holds the lake's lease: try again later (sysexits' EX_TEMPFAIL).
EXIT_LAKE_BUSY = 75

EXIT_BY_CLASS = {
    "AuthError": 3,
    "IncompleteData": 4,
    "HistoryLimit": 4,
    "RateLimited": 5,
    "QuotaExceeded": 5,
    "InvalidArgument": 2,
}


def add_parser(sub: Any) -> None:
    """Add ``sync`` to the ``appstats`` subcommands."""
    p = sub.add_parser(
        "sync",
        help="sync every report of many apps into Delta tables (incremental)",
        description="Fetch what is new per app and report since the last run (plus the "
        "lag window the providers restate) and replace exactly those slices in "
        "one Delta table per report. Needs: pip install 'appstats[sync]'.",
    )
    p.add_argument("--config", required=True, help="the sync TOML (see appstats.example.toml)")
    p.add_argument("--until", help="last day to sync, YYYY-MM-DD (default: yesterday, China time)")
    p.add_argument(
        "--today",
        help="the day the run is for, YYYY-MM-DD (default: today, China time): for sandboxes "
        "with a fixed today and replays; a future day is refused when an app targets a real "
        "provider",
    )
    p.add_argument("--apps", help="only these apps (config names, comma-separated)")
    p.add_argument(
        "--reports", help="only these reports: name, provider.name or provider.* (comma-separated)"
    )
    p.add_argument(
        "--full-refresh",
        action="store_true",
        help="ignore the synced state and fetch everything from each app's start",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (windows and request estimate); send nothing",
    )
    p.add_argument(
        "--optimize", action="store_true", help="also compact every table and vacuum old files"
    )
    p.add_argument(
        "--allow-literal-secrets",
        action="store_true",
        help="accept secrets written in the config itself (warned about)",
    )
    p.add_argument(
        "--lease-wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait this long for another sync of the same lake to finish "
        f"(default 0: exit {EXIT_LAKE_BUSY} at once)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_sync)


def _split(v: str | None) -> list[str] | None:
    return None if v is None else [x.strip() for x in v.split(",") if x.strip()]


def _local(url: Any) -> bool:
    """Whether ``url`` (a base URL or ``host:port``) is on this machine."""
    text = str(url)
    host = urllib.parse.urlsplit(text if "//" in text else f"//{text}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def real_provider_apps(cfg: SyncConfig) -> list[str]:
    """Apps of ``cfg`` that send their requests to a real provider (no
    ``base_url``/``resolve_to`` on this machine: not a sandbox)."""
    out = []
    for app in cfg.apps:
        c = app.credentials
        if app.provider == "tim":
            local = ("resolve_to" in c and _local(c["resolve_to"])) or _local(c.get("region", ""))
        else:
            local = "base_url" in c and _local(c["base_url"])
        if not local:
            out.append(app.name)
    return out


def _check_today(cfg: SyncConfig, today: str | None) -> None:
    """``--today`` in the future is for sandboxes only."""
    from .apps import parse_day, today_cn

    day = parse_day(today, "--today")
    if day is None or day <= today_cn():
        return
    real = real_provider_apps(cfg)
    if real:
        names = ", ".join(real[:5]) + (f" and {len(real) - 5} more" if len(real) > 5 else "")
        raise InvalidArgument(
            f"--today {day} is after today in China ({today_cn()}), and {names} "
            f"target{'s' if len(real) == 1 else ''} a real provider: a future today is "
            "only for sandboxes (apps with a base_url or resolve_to on this machine)"
        )


def cmd_sync(a: argparse.Namespace) -> int:
    from . import plan, run
    from .config import ConfigError, load_config

    try:
        cfg = load_config(a.config, allow_literal_secrets=a.allow_literal_secrets)
        _check_today(cfg, a.today)
        if a.dry_run:
            p = plan(
                cfg,
                until=a.until,
                today=a.today,
                apps=_split(a.apps),
                reports=_split(a.reports),
                full_refresh=a.full_refresh,
            )
            print(p.describe())
            return 0
        summary = run(
            cfg,
            until=a.until,
            today=a.today,
            apps=_split(a.apps),
            reports=_split(a.reports),
            full_refresh=a.full_refresh,
            optimize=a.optimize,
            progress=False if a.quiet else None,
            lease_wait=a.lease_wait,
        )
    except LakeBusy as e:
        print(f"appstats sync: {e}", file=sys.stderr)
        return EXIT_LAKE_BUSY
    except LakeError as e:
        print(f"appstats sync: error: {e}", file=sys.stderr)
        return 2
    except ConfigError as e:
        print(f"appstats sync: {e}", file=sys.stderr)
        return 2
    except InvalidArgument as e:
        print(f"appstats sync: error: {e}", file=sys.stderr)
        return 2
    except AppStatsError as e:
        print(f"appstats sync: error: {e}", file=sys.stderr)
        return 1
    return report(summary)


def report(summary: pl.DataFrame) -> int:
    """Print a run's summary; the exit code it deserves."""
    by = (
        summary.group_by("status")
        .agg(pl.len().alias("tasks"), pl.col("rows").sum(), pl.col("requests").sum())
        .sort("status")
    )
    print(
        f"appstats sync: {summary.height} tasks, {summary['rows'].sum()} rows, "
        f"{summary['requests'].sum()} requests"
    )
    for status, tasks, rows, requests in by.iter_rows():
        print(f"  {status:<7} {tasks:>6} tasks {rows:>10} rows {requests:>8} requests")
    bad = summary.filter(pl.col("status") != "ok")
    if bad.is_empty():
        return 0
    print("not synced:", file=sys.stderr)
    for app, rep, sl, s, e, status, err in bad.select(
        "app", "report", "slice", "start", "end", "status", "error"
    ).iter_rows():
        what = f"{rep}[{sl}]" if sl else rep
        print(f"  {app} {what} {s} – {e}: {status}: {err}", file=sys.stderr)
    classes = {str(err).split(":", 1)[0] for err in bad["error"] if err}
    if len(classes) == 1:
        return EXIT_BY_CLASS.get(classes.pop(), 1)
    return 1
