"""One metrics model across providers and apps.

Each provider's reports speak its own language: Baidu's retention counts
``第N天`` from the cohort day and its cohort is the day's active users,
MTA's ``D1RepeatUser`` is already the day after and its cohort is new
users; Baidu sends percents, the others fractions; IM's message senders
are a distinct count. This module maps them onto named metrics with a
unit, an additivity rule and a definition (:data:`CATALOG`), as one long
frame: ``provider, app, app_id, date, grain, metric, value, unit,
day_offset, cohort``, keyed by ``(provider, app, metric, grain, date,
day_offset)``.

* :func:`read`: the long frame of a synced lake (its ``metrics`` table,
  which ``appstats sync`` keeps current);
* :func:`from_frame`: the same rows from a frame a client fetched;
* :func:`compare`: apps side by side (active users, new users, day-1
  retention) over the last days;
* :func:`rebuild`: the ``metrics`` table of a lake built again.

Examples:
    Baidu's ``第2天`` (the document's sample) is one day after the cohort day:

    >>> import appstats as aps
    >>> reply = (
    ...     '{"errno":0,"msg":"success","data":{"offset":0,"total":1,"data_list":'
    ...     '[{"name":"2019/04/10","active_user_count":930,"第2天":21,"第3天":14}]}}'
    ... )
    >>> ret = aps.baidu.parse("retention", reply, gran="day")
    >>> m = aps.metrics.from_frame("baidu", "retention", ret, app="shop")
    >>> m.filter(metric="retention_rate").select("day_offset", "value", "cohort").rows()
    [(1, 0.02258064516129032, 'active'), (2, 0.015053763440860216, 'active')]
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any

import polars as pl

from .._output import check_output, convert
from ..errors import InvalidArgument
from ._catalog import BY_NAME, DAILY, GRAINS, RETENTION, catalog_frame
from ._lake import METRICS_TABLE, compute_lake, rebuild, scan, store_of, update_from_run
from ._model import KEY, SCHEMA, compute

if TYPE_CHECKING:
    from ._lake import Lake

__all__ = [
    "CATALOG",
    "SCHEMA",
    "KEY",
    "METRICS_TABLE",
    "read",
    "from_frame",
    "compare",
    "rebuild",
    "update_from_run",
]

#: One row per canonical metric: ``metric``, ``description``, ``unit``
#: (users, sessions, seconds, fraction, messages, count), ``additivity``
#: (``additive``: summed over days; ``semi``: the period's last value;
#: ``non_additive``: only the provider's own period number), ``grain`` (the
#: grains it exists at), and per provider its source (``baidu``: report.column;
#: ``mta``: report.column with ``mta_id``; ``tim``: report.column with
#: ``tim_field``; null: the provider has no such number) and a ``note``
#: where a provider's meaning differs.
CATALOG: pl.DataFrame = catalog_frame()


def _day(v: Any, what: str) -> _dt.date | None:
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


def _grain(grain: object) -> None:
    if grain is not None and grain not in GRAINS:
        raise InvalidArgument(f"unknown grain {grain!r}; valid values: {', '.join(GRAINS)}")


def _names(value: str | list[str] | tuple[str, ...] | None, what: str) -> list[str] | None:
    if value is None:
        return None
    items = [value] if isinstance(value, str) else list(value)
    if not items or not all(isinstance(i, str) for i in items):
        raise InvalidArgument(f"{what} must be a name or a non-empty list of names")
    if what == "metrics":
        unknown = [i for i in items if i not in BY_NAME]
        if unknown:
            raise InvalidArgument(
                f"unknown metrics {', '.join(map(repr, unknown))}; valid values: "
                + ", ".join(BY_NAME)
            )
    return items


def _output(lf: pl.LazyFrame, output: str) -> Any:
    check_output(output)
    return lf if output == "polars" else convert(lf.collect(), output)


def read(
    lake: Lake,
    *,
    apps: str | list[str] | None = None,
    metrics: str | list[str] | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    grain: str | None = "day",
    output: str = "polars",
) -> Any:
    """The long metrics frame of a synced lake.

    Reads the lake's ``metrics`` table (kept current by ``appstats sync``);
    a lake without one (synced by an older version) is computed from its
    report tables instead — the same rows (:func:`rebuild` writes them).

    Args:
        lake: the lake's folder or URI, a sync config or its ``.toml`` path.
        apps: only these apps (config names).
        metrics: only these metrics (names of :data:`CATALOG`).
        start: the first day: periods (and cohorts) that start on it or later.
        end: the last day: periods (and cohorts) that end on it or earlier — a
            week or month the range cuts is not returned.
        grain: ``"day"``, ``"week"`` (Monday to Sunday) or ``"month"``;
            ``None`` for all of them.
        output: ``"polars"`` (a ``LazyFrame``), ``"pandas"`` or ``"arrow"``
            (collected).

    Returns:
        ``provider, app, app_id, date, grain, metric, value, unit,
        day_offset, cohort`` (see :data:`SCHEMA`).

    Examples:
        >>> import appstats as aps, tempfile
        >>> with aps.Sandbox(apps=1, today="2024-04-01") as sb:
        ...     cfg = aps.sync.sandbox_config(sb, tempfile.mkdtemp(), start="2024-03-25",
        ...                                   reports=["baidu.user_trend", "mta.user_basic"])
        ...     _ = aps.sync(cfg, today=sb.today, progress=False)
        >>> dau = aps.metrics.read(cfg, metrics="active_users", start="2024-03-31").collect()
        >>> dau.select("provider", "app", "value").rows()
        [('baidu', 'program1', 3514.0), ('mta', 'mta1', 23944.0)]
        >>> week = aps.metrics.read(cfg, metrics="new_users", grain="week").collect()
        >>> week["date"].unique().to_list()  # Monday 25 March: the one whole week
        [datetime.date(2024, 3, 25)]
        >>> week.select("app", "value").rows()  # its 7 days, summed
        [('program1', 18012.0), ('mta1', 13229.0)]
    """
    _grain(grain)
    check_output(output)
    app_list = _names(apps, "apps")
    metric_list = _names(metrics, "metrics")
    lo, hi = _day(start, "start"), _day(end, "end")
    store = store_of(lake)
    lf = scan(store)
    if lf is None:
        lf = compute_lake(store).lazy()
    if grain is not None:
        lf = lf.filter(pl.col("grain") == grain)
    if app_list is not None:
        lf = lf.filter(pl.col("app").is_in(app_list))
    if metric_list is not None:
        lf = lf.filter(pl.col("metric").is_in(metric_list))
    if lo is not None:
        lf = lf.filter(pl.col("date") >= lo)
    if hi is not None:
        # a week or month only when it lies within the range, never cut
        last = (
            pl.when(pl.col("grain") == "week")
            .then(pl.col("date").dt.offset_by("6d"))
            .when(pl.col("grain") == "month")
            .then(pl.col("date").dt.month_end())
            .otherwise(pl.col("date"))
        )
        lf = lf.filter(last <= hi)
    lf = lf.select(list(SCHEMA)).sort("provider", "app", "grain", "metric", "date", "day_offset")
    return _output(lf, output)


def _table(provider: str, report: str) -> str:
    if provider not in ("baidu", "mta", "tim"):
        raise InvalidArgument(f"unknown provider {provider!r}; valid values: baidu, mta, tim")
    if provider == "baidu" and report == "retention":
        report = "retention_day"
    table = f"{provider}_{report}"
    if table not in DAILY and table not in RETENTION:
        valid = sorted(t.split("_", 1)[1] for t in [*DAILY, *RETENTION] if t.startswith(provider))
        raise InvalidArgument(
            f"{provider} report {report!r} has no metrics; valid values: {', '.join(valid)}"
        )
    return table


def from_frame(
    provider: str,
    report: str,
    frame: Any,
    *,
    app: str | None = None,
    app_id: str | None = None,
    grain: str | None = None,
    output: str = "polars",
) -> Any:
    """The long metrics rows of a frame a client fetched (no lake needed).

    Args:
        provider: ``"baidu"``, ``"mta"`` or ``"tim"``.
        report: the report the frame came from, as the sync names it:
            Baidu ``user_trend`` (``gran="day"``), ``activity_user``,
            ``retention`` (``gran="day"``; ``retention_week`` /
            ``retention_month`` for ``gran="week"``/``"month"``), MTA
            ``user_basic``, ``active_users``, ``usage``, ``crash``,
            ``retention``; IM ``app_info``. Long retention frames only.
        frame: the frame (Polars, pandas or Arrow), or a lake table's rows.
        app: the app's label (required unless the frame has an ``app`` column).
        app_id: the app's id (IM frames carry theirs).
        grain: ``"day"``, ``"week"``, ``"month"``, or ``None`` (default:
            every grain the frame gives).
        output: ``"polars"`` (a ``DataFrame``), ``"pandas"`` or ``"arrow"``.

    Week and month rows come only from periods the frame covers whole.

    Examples:
        IM's message senders are a distinct count (the document's sample:
        19 senders, 9 in one-to-one chats, 12 in groups); a week of them is
        never a sum:

        >>> import appstats as aps
        >>> im = aps.tim.parse(
        ...     '{"ErrorCode":0,"Result":[{"Date":"20160607","SendMsgUserNum":"19",'
        ...     '"C2CSendMsgUserNum":"9","GroupSendMsgUserNum":"12","UpMsgNum":"60642"}]}'
        ... )
        >>> m = aps.metrics.from_frame("tim", "app_info", im, app="chat")
        >>> m.select("grain", "metric", "value").rows()
        [('day', 'message_senders', 19.0), ('day', 'messages_sent', 60642.0)]
    """
    _grain(grain)
    check_output(output)
    table = _table(provider, report)
    if not isinstance(frame, pl.DataFrame):
        try:
            frame = pl.from_pandas(frame) if hasattr(frame, "to_numpy") else pl.from_arrow(frame)
        except Exception:
            raise InvalidArgument(
                f"frame must be a Polars, pandas or Arrow table, got {type(frame).__name__}"
            ) from None
    assert isinstance(frame, pl.DataFrame)
    day = "cohort_date" if table in RETENTION else "date"
    if day not in frame.columns:
        raise InvalidArgument(
            f"the frame has no {day!r} column: not a {provider} {report} frame"
            + (" (long shape)" if table in RETENTION else "")
        )
    if app is not None:
        frame = frame.with_columns(pl.lit(app, pl.String).alias("app"))
    elif "app" not in frame.columns:
        raise InvalidArgument("app is required (the frame has no 'app' column)")
    if app_id is not None or "app_id" not in frame.columns:
        frame = frame.with_columns(pl.lit(app_id, pl.String).alias("app_id"))
    df = compute({table: frame})
    if grain is not None:
        df = df.filter(pl.col("grain") == grain)
    return convert(df, output)


def compare(lake: Lake, *, days: int = 7, end: _dt.date | str | None = None) -> pl.DataFrame:
    """Apps side by side over the last ``days`` days of the lake's metrics:
    mean daily active users, new users (summed), and day-1 retention (the
    retained users of the period's cohorts over their sizes) with its cohort.

    ``end`` defaults to the last day with active users in the lake.

    Examples:
        >>> import appstats as aps, tempfile
        >>> with aps.Sandbox(apps=1, today="2024-04-01") as sb:
        ...     cfg = aps.sync.sandbox_config(sb, tempfile.mkdtemp(), start="2024-03-20",
        ...                                   reports=["mta.user_basic", "mta.retention"])
        ...     _ = aps.sync(cfg, today=sb.today, progress=False)
        >>> aps.metrics.compare(cfg).columns
        ['provider', 'app', 'from', 'to', 'dau', 'new_users', 'day1_retention', 'cohort']
    """
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InvalidArgument(f"days must be a positive integer, got {days!r}")
    wanted = ["active_users", "new_users", "retained_users", "cohort_users"]
    lf = read(lake, metrics=wanted, end=end)
    last = _day(end, "end") or (
        lf.filter(pl.col("metric") == "active_users").select(pl.col("date").max()).collect().item()
    )
    schema = {
        "provider": pl.String,
        "app": pl.String,
        "from": pl.Date,
        "to": pl.Date,
        "dau": pl.Float64,
        "new_users": pl.Float64,
        "day1_retention": pl.Float64,
        "cohort": pl.String,
    }
    if last is None:
        return pl.DataFrame(schema=schema)
    first = last - _dt.timedelta(days=days - 1)
    df = lf.filter(pl.col("date") >= first).collect()
    ret = df.filter((pl.col("metric") == "retained_users") & (pl.col("day_offset") == 1))
    sizes = df.filter(pl.col("metric") == "cohort_users").select(
        "provider", "app", "date", pl.col("value").alias("size")
    )
    day1 = (
        ret.join(sizes, on=["provider", "app", "date"])
        .group_by("provider", "app")
        .agg(
            (pl.col("value").sum() / pl.col("size").sum()).alias("day1_retention"),
            pl.col("cohort").first(),
        )
    )
    base = df.group_by("provider", "app").agg(
        pl.col("value").filter(pl.col("metric") == "active_users").mean().alias("dau"),
        pl.when((pl.col("metric") == "new_users").any())
        .then(pl.col("value").filter(pl.col("metric") == "new_users").sum())
        .alias("new_users"),
    )
    out: pl.DataFrame = (
        base.join(day1, on=["provider", "app"], how="left")
        .with_columns(pl.lit(first).alias("from"), pl.lit(last).alias("to"))
        .select([pl.col(c).cast(t) for c, t in schema.items()])
        .sort("provider", "app")
    )
    return out


# The ``__future__`` import binds ``annotations``; it is not part of this namespace.
del annotations
