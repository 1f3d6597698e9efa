"""``appstats report``: the report page of a synced lake."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser"]


def cmd_report(a: argparse.Namespace) -> int:
    from .functions import report

    apps = [x.strip() for x in a.apps.split(",") if x.strip()] if a.apps else None
    path = report(a.lake or a.config, a.output, days=a.days, end=a.end, apps=apps, top=a.top)
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1e6:.1f} MB; opens offline)", file=sys.stderr)
    return 0


def add_parser(sub: Any) -> None:
    """Add ``report`` to the ``appstats`` subcommands."""
    p = sub.add_parser(
        "report",
        help="one self-contained HTML page of every app, from a synced lake",
        description="Write one HTML page of every app of a synced lake (from the lake only: "
        "no API is called): KPIs, DAU and new users, retention, Baidu sources and regions, "
        "IM messages; everything inline, it opens offline. Needs: pip install "
        "'appstats[report]'.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", help="the sync TOML (its lake is read)")
    src.add_argument("--lake", help="the lake's folder or URI")
    p.add_argument("-o", "--output", default="report.html", help="the HTML file (report.html)")
    p.add_argument("--days", type=int, default=30, help="the period's days (default 30)")
    p.add_argument("--end", help="the period's last day, YYYY-MM-DD (default: the lake's last)")
    p.add_argument("--apps", help="only these apps (config names, comma-separated)")
    p.add_argument(
        "--top", type=int, default=10, help="apps drawn one by one in all-apps charts (10)"
    )
    p.set_defaults(func=cmd_report)
