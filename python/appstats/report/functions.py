"""``aps.report``: the report page of a synced lake, written to a file."""

from __future__ import annotations

import datetime as _dt
import os
import pathlib
from typing import TYPE_CHECKING

from ..errors import AppStatsError
from ._data import collect
from ._html import render

if TYPE_CHECKING:
    from ..metrics._lake import Lake

__all__ = ["report"]


def report(
    lake: Lake,
    path: str | os.PathLike[str] = "report.html",
    *,
    days: int = 30,
    end: _dt.date | str | None = None,
    apps: list[str] | None = None,
    top: int = 10,
) -> pathlib.Path:
    """Write one self-contained HTML page of every app of a synced lake.

    The page is built from the lake only — the metrics model
    (:func:`appstats.metrics.read`), the sync's ``_runs`` table and the
    Baidu source and region and IM tables — never by calling an API. Its
    CSS, the Vega-Lite runtime, the data and the script are inline: it opens
    from ``file://`` with the network off, and can be mailed as one file.

    Args:
        lake: the lake's folder or URI, a sync config or its ``.toml`` path.
        path: the HTML file to write (its folder is created).
        days: the period's length; KPIs compare it with the ``days`` before.
        end: the period's last day (default: the lake's last day with
            active users).
        apps: only these apps (config names).
        top: apps drawn one by one in the all-apps charts (the others are
            summed per provider).

    Returns:
        The path written.

    Examples:
        >>> import appstats as aps, pathlib, tempfile
        >>> tmp = pathlib.Path(tempfile.mkdtemp())
        >>> with aps.Sandbox(apps=1, today="2024-04-01") as sb:
        ...     cfg = aps.sync.sandbox_config(sb, tmp / "lake", start="2024-03-18",
        ...                                   reports=["baidu.user_trend", "mta.user_basic"])
        ...     _ = aps.sync(cfg, today=sb.today, progress=False)
        >>> page = aps.report(cfg, tmp / "report.html", days=7)
        >>> text = page.read_text(encoding="utf-8")
        >>> "2024-03-25 – 2024-03-31" in text, "http://" in text.split("<script")[0]
        (True, False)
    """
    page = render(collect(lake, days=days, end=end, apps=apps, top=top))
    out = pathlib.Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(out)
    except OSError as e:
        raise AppStatsError(f"cannot write {str(out)!r}: {e.strerror or e}") from None
    return out
