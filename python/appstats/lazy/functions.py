"""``aps.scan``: a Polars LazyFrame over one report of every app of a sync
config, whose filters become API requests and whose lake answers first;
``aps.scan_plan``: what such a query would read, sending nothing."""

from __future__ import annotations

import os
import re
import weakref

import polars as pl
from polars.io.plugins import register_io_source

from .. import _native
from .._common import DateLike
from ..errors import InvalidArgument
from ..sync import catalog
from ..sync.apps import parse_day, today_cn
from ..sync.catalog import Report
from ..sync.config import SyncConfig, load_config
from ._plan import ScanPlan
from ._source import ScanSource

__all__ = ["scan", "scan_plan", "report_schema"]

_EMPTY = {
    "baidu": '{"errno":0,"data":{"offset":0,"total":0,"data_list":[]}}',
    "mta": '{"ret_code":60000,"ret_msg":"ok","ret_data":[]}',
    "tim": '{"ErrorCode":0,"ErrorInfo":"OK","Result":[]}',
}

#: Every live scan source by id, for :func:`scan_plan` (weakly: a dropped
#: LazyFrame takes its source with it).
_SOURCES: weakref.WeakValueDictionary[int, ScanSource] = weakref.WeakValueDictionary()


def _report(name: str) -> Report:
    if name in catalog.REPORTS:
        return catalog.REPORTS[name]
    hits = [r for r in catalog.REPORTS.values() if r.name == name]
    if len(hits) == 1:
        return hits[0]
    valid = ", ".join(sorted(catalog.REPORTS))
    if hits:
        raise InvalidArgument(
            f"report {name!r} is ambiguous: {', '.join(r.key for r in hits)}; name one as "
            "provider.name"
        )
    raise InvalidArgument(f"unknown report {name!r}; valid: {valid} (or the name alone)")


def report_schema(report: str) -> dict[str, pl.DataType]:
    """The columns of :func:`scan` for ``report``: ``app``, ``app_id``, then
    the report's own (``date`` first for per-day reports), as in the lake
    without ``fetched_at`` and ``month``. Nothing is fetched.

    Examples:
        >>> import appstats as aps
        >>> list(aps.lazy.report_schema("mta.crash"))
        ['app', 'app_id', 'date', 'error_count', 'error_users']
        >>> list(aps.lazy.report_schema("region"))[:4]
        ['app', 'app_id', 'date', 'region']
    """
    r = _report(report)
    opts = r.task_options(r.slice_values()[0])
    if r.provider == "baidu":
        df = _native.baidu_parse(r.method, _EMPTY["baidu"], opts)[0]
    elif r.provider == "mta":
        df = _native.mta_parse(r.method, _EMPTY["mta"], opts)
    else:
        df = _native.tim_parse(_EMPTY["tim"])
    if r.per_day:
        df = df.select(pl.lit(None, pl.Date).alias("date"), pl.all())
    out: dict[str, pl.DataType] = {"app": pl.String()}
    if "app_id" not in df.columns:
        out["app_id"] = pl.String()
    for n, t in df.schema.items():
        out[n] = t
    return out


def scan(
    report: str,
    config: SyncConfig | str | os.PathLike[str],
    *,
    lake: bool = True,
    fetch: bool = True,
    lag_days: int | None = None,
    write_back: bool = False,
    today: DateLike | None = None,
    allow_literal_secrets: bool = False,
) -> pl.LazyFrame:
    """A LazyFrame of ``report`` for every app of ``config`` that has it.

    The query's filters and columns become the requests: bounds on the
    report's day column (``date``, or ``cohort_date`` for retention) —
    ``>=``, ``>``, ``<=``, ``<``, ``==``, ``is_between``, ``is_in``, combined
    with ``&`` (``|`` unites) — are each app's window; ``app`` / ``app_id``
    equality or ``is_in`` selects the apps (a slice column such as
    ``terminal_type`` the slices); a ``select`` of MTA metrics or IM fields
    requests only those. Filters it cannot read only widen what is fetched:
    the whole predicate is applied to every row returned. The window ends
    at yesterday (China time) at the latest.

    With ``lake=True`` the days the config's lake holds (older than the
    restatement lag when fetched and now) are read from its Delta tables;
    only the rest is fetched, through the Rust fan-out, each app keeping its
    rate limit. Days that are neither in the lake nor served by the provider
    (Tencent IM: the last 30 days) are missing: a
    :class:`~appstats.lazy.MissingDaysWarning` names them. Rows come as apps
    complete (lake rows first): sort when order matters.

    Args:
        report: a report as the sync names it: ``"user_trend"``,
            ``"mta.retention"``, ``"tim.app_info"``, ``"baidu.terminal"``, ...
        config: a :class:`~appstats.sync.SyncConfig` or a TOML path.
        lake: read the lake first (without a date bound: from each app's
            ``start``).
        fetch: fetch what the lake lacks (``False``: the lake only, nothing
            sent).
        lag_days: days before yesterday that are fetched again even when
            the lake holds them (default: each app's ``lag_days``; retention:
            at least its maturity horizon).
        write_back: commit what was fetched to the lake, as a sync does
            (under the lake's lease; every metric is then fetched).
        today: the day the scan is for (default: today in China); for
            sandboxes with a fixed date and replays.
        allow_literal_secrets: accept secrets written in a TOML config.

    A query without a lower bound on the day column and without a lake
    raises :class:`~appstats.InvalidArgument` when collected, before any
    request. :func:`scan_plan` shows what a query would read.

    Examples:
        >>> import appstats as aps, datetime as dt, polars as pl, tempfile
        >>> with aps.Sandbox(apps=3, today="2024-04-01") as sb:
        ...     cfg = aps.sync.sandbox_config(sb, tempfile.mkdtemp(), providers=["mta"])
        ...     lf = aps.scan("mta.user_basic", cfg, today=sb.today)
        ...     q = lf.filter((pl.col("app") == "mta2") & (pl.col("date") >= dt.date(2024, 3, 25)))
        ...     df = q.select("date", "new_users").collect()
        ...     sent = sb.requests_per_app("mta")
        >>> df.height, sent
        (7, {'500000002': 1})
    """
    r = _report(report)
    cfg = (
        config
        if isinstance(config, SyncConfig)
        else load_config(config, allow_literal_secrets=allow_literal_secrets)
    )
    if lag_days is not None and not (isinstance(lag_days, int) and 0 <= lag_days <= 366):
        raise InvalidArgument(f"lag_days must be an integer from 0 to 366, got {lag_days!r}")
    if write_back and not fetch:
        raise InvalidArgument("write_back=True needs fetch=True (nothing is fetched to write)")
    apps = tuple(a for a in cfg.apps if any(x.key == r.key for x in a.reports))
    if not apps:
        raise InvalidArgument(f"the config has no app with the report {r.key}")
    t = parse_day(today, "today") or today_cn()
    schema = report_schema(r.key)
    source = ScanSource(r, cfg, apps, schema, t, lake, fetch, lag_days, write_back)
    _SOURCES[id(source)] = source
    detail = f"{r.key} of {len(apps)} apps; lake={'yes' if lake else 'no'}; id={id(source)}"
    return register_io_source(source, schema=schema, explain_name="appstats", explain_detail=detail)


_ID = re.compile(r"PYTHON\[appstats\].*?id=(\d+)", re.S)


def scan_plan(lf: pl.LazyFrame) -> ScanPlan:
    """What a query over :func:`scan` would read — per app the days from the
    lake and the windows to fetch, with an estimate of the requests —
    sending nothing (Polars optimises the query and hands the scan its
    predicate and projection as a ``collect`` would). A query over several
    scans gives the plan of the first.

    Examples:
        >>> import appstats as aps, datetime as dt, polars as pl, tempfile
        >>> with aps.Sandbox(apps=2, today="2024-04-01") as sb:
        ...     cfg = aps.sync.sandbox_config(sb, tempfile.mkdtemp(), providers=["mta"])
        ...     plan = (aps.scan("mta.frequency", cfg, today=sb.today)
        ...             .filter(pl.col("date").is_between(dt.date(2024, 3, 1), dt.date(2024, 3, 7)))
        ...             .pipe(aps.scan_plan))
        ...     sent = sb.request_count()
        >>> plan.requests, sent
        (14, 0)
        >>> plan.frame().select("app", "source", "start", "end").rows()[0]
        ('mta1', 'fetch', datetime.date(2024, 3, 1), datetime.date(2024, 3, 7))
    """
    ids = [int(i) for i in _ID.findall(lf.explain(optimized=False))]
    sources = [_SOURCES[i] for i in ids if i in _SOURCES]
    if not sources:
        raise InvalidArgument("the query reads no aps.scan(...): nothing to plan")
    got: list[ScanPlan] = []
    for s in sources:
        with s.lock:
            s.planning = got
    try:
        lf.collect()
    finally:
        for s in sources:
            with s.lock:
                s.planning = None
    if not got:  # the optimiser found the scan's result unused
        return sources[0].plan(None, None)
    return got[0]
