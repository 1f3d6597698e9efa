"""What the report shows, read from a synced lake: the metrics model
(:mod:`appstats.metrics`), the sync's ``_runs`` table, and the report
tables of the distributions the model leaves out (Baidu sources and
regions, IM's one-to-one and group messages). Nothing here calls an API.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..errors import InvalidArgument
from ..metrics import read as read_metrics
from ..metrics._lake import _source, store_of
from ..sync.store import RUNS_TABLE, DeltaStore

__all__ = ["ALL", "PageData", "Problem", "Tile", "collect"]

#: The ``view`` of a chart's rows that is not one app: every app together.
ALL = "__all__"
#: Retention offsets of the cohort heatmaps (MTA's days: 1–7, 14, 30).
HEATMAP_OFFSETS = (1, 2, 3, 4, 5, 6, 7, 14, 30)
#: The longest retention curve, in days after the cohort's day.
MAX_OFFSET = 30
#: Ranked bars per view.
TOP_BARS = 15
#: The third KPI per provider: sessions, or messages for IM.
ACTIVITY = {"baidu": "sessions", "mta": "sessions", "tim": "messages_sent"}
COHORT = {"active": "active users' cohorts", "new": "new users' cohorts"}


@dataclass
class Tile:
    """One KPI: a provider's number over the period and the one before."""

    provider: str
    label: str
    value: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        """The relative change against the previous period (``None``: no base)."""
        if self.value is None or not self.previous:
            return None
        return self.value / self.previous - 1


@dataclass
class Problem:
    """An app the page marks: its last run failed, or days are missing."""

    app: str
    provider: str
    kind: str  # failed | gap | missing
    detail: str


@dataclass
class PageData:
    """Everything the page shows (charts' rows are column dicts)."""

    lake: str
    start: _dt.date
    end: _dt.date
    apps: dict[str, str]  # app -> provider
    synced: dict[str, str]  # provider -> last sync, text
    problems: list[Problem]
    tiles: list[Tile]
    charts: dict[str, pl.DataFrame] = field(default_factory=dict)


def _day(v: Any) -> _dt.date | None:
    if v is None or isinstance(v, _dt.date):
        return v
    try:
        return _dt.date.fromisoformat(str(v))
    except ValueError:
        raise InvalidArgument(f"end must be a YYYY-MM-DD date, got {v!r}") from None


def _runs(
    store: DeltaStore, start: _dt.date, end: _dt.date
) -> tuple[dict[str, str], list[Problem]]:
    """Last sync per provider, and the apps whose last run failed or that
    have recorded gaps within the period."""
    if not store.exists(RUNS_TABLE):
        return {}, []
    runs = store.scan(RUNS_TABLE).collect()
    synced = {}
    for provider, last, ok in (
        runs.group_by("provider")
        .agg(
            pl.col("finished_at").max(),
            # a gap (days the provider no longer serves) is not a failure
            pl.col("finished_at").filter(pl.col("status").is_in(["ok", "gap"])).max().alias("ok"),
        )
        .sort("provider")
        .iter_rows()
    ):
        text = f"{last:%Y-%m-%d %H:%M} UTC"
        if ok is None:
            text += " (nothing fetched)"
        elif ok != last:
            text += f" (last success {ok:%Y-%m-%d %H:%M})"
        synced[provider] = text
    problems: list[Problem] = []
    # the last run of each (app, table, slice): its failed or deferred windows
    last_run = runs.join(
        runs.group_by("app", "table", "slice", "run_id")
        .agg(pl.col("finished_at").max())
        .sort("finished_at")
        .group_by("app", "table", "slice")
        .agg(pl.col("run_id").last()),
        on=["app", "table", "slice", "run_id"],
    )
    failed = (
        last_run.filter(pl.col("status").is_in(["failed", "deferred"]))
        .group_by("app", "provider")
        .agg(
            pl.col("table").unique().sort(),
            pl.col("status").first(),
            pl.col("error_class").drop_nulls().first(),
        )
        .sort("app")
    )
    for app, provider, tables, status, err in failed.iter_rows():
        what = f"{status} ({err})" if err else status
        problems.append(Problem(app, provider, "failed", f"{what}: {', '.join(tables)}"))
    gaps = (
        runs.filter(
            (pl.col("status") == "gap")
            & (pl.col("window_end") >= start)
            & (pl.col("window_start") <= end)
        )
        .unique(["app", "table", "slice", "window_start", "window_end"])
        .group_by("app", "provider")
        .agg(
            pl.col("table").unique().sort(),
            pl.col("window_start").min(),
            pl.col("window_end").max(),
        )
        .sort("app")
    )
    for app, provider, tables, lo, hi in gaps.iter_rows():
        problems.append(
            Problem(app, provider, "gap", f"no data served for {lo} – {hi}: {', '.join(tables)}")
        )
    return synced, problems


def _top_and_others(
    df: pl.DataFrame, apps: list[tuple[str, str]], label: str = "value"
) -> pl.DataFrame:
    """``view == ALL`` rows: the chosen apps, and the others summed per provider."""
    chosen = {a for a, _ in apps}
    named = {a: f"{a} ({p})" for a, p in apps}
    top = df.filter(pl.col("app").is_in(chosen)).with_columns(
        pl.col("app").replace_strict(named, default=None).alias("series")
    )
    rest = df.filter(~pl.col("app").is_in(chosen))
    counts = rest.group_by("provider").agg(pl.col("app").n_unique().alias("n"))
    others = (
        rest.group_by("provider", "date")
        .agg(pl.col(label).sum())
        .join(counts, on="provider")
        .with_columns(
            pl.format("other {} apps ({})", pl.col("provider"), pl.col("n")).alias("series")
        )
    )
    cols = ["series", "date", label]
    return pl.concat([top.select(cols), others.select(cols)]).with_columns(
        pl.lit(ALL).alias("view")
    )


def _series(m: pl.DataFrame, metric: str, top: list[tuple[str, str]]) -> pl.DataFrame:
    day = m.filter(pl.col("metric") == metric).select("provider", "app", "date", "value")
    each = day.with_columns(pl.col("app").alias("view"), pl.col("app").alias("series"))
    cols = ["view", "series", "date", "value"]
    return (
        pl.concat([_top_and_others(day, top).select(cols), each.select(cols)])
        .with_columns(pl.col("date").cast(pl.String), pl.col("value").round(2))
        .sort("view", "series", "date")
    )


def _retention(m: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Curves (pooled per app, and per provider) and cohort heatmap rows."""
    keys = ["provider", "app", "date"]
    ret = m.filter(
        (pl.col("metric") == "retained_users") & pl.col("day_offset").is_between(1, MAX_OFFSET)
    ).select(*keys, "day_offset", "cohort", pl.col("value").alias("retained"))
    sizes = m.filter(pl.col("metric") == "cohort_users").select(
        *keys, pl.col("value").alias("size")
    )
    cells = ret.join(sizes, on=keys).filter(pl.col("size") > 0)
    cells = cells.with_columns(
        pl.format("{} ({})", pl.col("provider"), pl.col("cohort").replace_strict(COHORT)).alias(
            "pooled"
        )
    )

    def pool(by: list[str], view: pl.Expr, series: pl.Expr, frame: pl.DataFrame) -> pl.DataFrame:
        return (
            frame.group_by(by)
            .agg(pl.col("retained").sum(), pl.col("size").sum(), pl.col("cohort").first())
            .with_columns(view.alias("view"), series.alias("series"))
        )

    curve_cols = ["view", "series", "cohort", "day_offset", "rate", "retained", "size"]
    curves = pl.concat(
        [
            pool(["pooled", "day_offset"], pl.lit(ALL), pl.col("pooled"), cells),
            pool(["app", "day_offset"], pl.col("app"), pl.col("app"), cells),
        ],
        how="diagonal",
    ).with_columns((pl.col("retained") / pl.col("size")).round(4).alias("rate"))
    heat = cells.filter(pl.col("day_offset").is_in(HEATMAP_OFFSETS))
    heat_cols = ["view", "series", "cohort_date", "day_offset", "rate"]
    heatmap = pl.concat(
        [
            pool(["pooled", "date", "day_offset"], pl.lit(ALL), pl.col("pooled"), heat),
            pool(["app", "date", "day_offset"], pl.col("app"), pl.col("app"), heat),
        ],
        how="diagonal",
    ).with_columns(
        (pl.col("retained") / pl.col("size")).round(3).alias("rate"),
        pl.col("date").cast(pl.String).alias("cohort_date"),
    )
    return (
        curves.select(curve_cols).sort("view", "series", "day_offset"),
        heatmap.select(heat_cols).sort("view", "series", "cohort_date", "day_offset"),
    )


def _ranked(df: pl.DataFrame, by: list[str], value: str) -> pl.DataFrame:
    """The top rows per view of ``value`` summed over the period: every app
    together and each app."""
    both = pl.concat(
        [
            df.group_by(by).agg(pl.col(value).sum()).with_columns(pl.lit(ALL).alias("view")),
            df.group_by(["app", *by]).agg(pl.col(value).sum()).rename({"app": "view"}),
        ],
        how="diagonal",
    )
    return (
        both.sort(["view", value], descending=[False, True])
        .group_by("view", maintain_order=True)
        .head(TOP_BARS)
        .select("view", *by, value)
    )


def _distributions(
    store: DeltaStore, apps: list[str] | None, start: _dt.date, end: _dt.date
) -> dict[str, pl.DataFrame]:
    out: dict[str, pl.DataFrame] = {}
    if store.exists("baidu_source"):
        src = (
            _source(store, "baidu_source", "date", apps, start, end)
            .select(
                "app",
                pl.format("source {}", pl.col("source_id")).alias("group"),
                pl.format("{} · {}", pl.col("scene_name"), pl.col("source_id")).alias("scene"),
                pl.col("user_count").alias("user_days"),
            )
            .collect()
        )
        if src.height:
            out["baidu_sources"] = _ranked(src, ["group", "scene"], "user_days")
    if store.exists("baidu_region"):
        reg = (
            _source(store, "baidu_region", "date", apps, start, end)
            .select("app", "region", pl.col("session_count_district").alias("sessions"))
            .collect()
        )
        if reg.height:
            out["baidu_regions"] = _ranked(reg, ["region"], "sessions")
    if store.exists("tim_app_info"):
        im = (
            _source(store, "tim_app_info", "date", apps, start, end)
            .select("app", "date", "c2c_up_msg_num", "group_up_msg_num")
            .collect()
            .unpivot(index=["app", "date"], variable_name="kind", value_name="messages")
            .with_columns(
                pl.col("kind").replace_strict(
                    {"c2c_up_msg_num": "one-to-one (C2C)", "group_up_msg_num": "group"}
                ),
                pl.col("date").cast(pl.String),
            )
        )
        if im.height:
            out["im_messages"] = (
                pl.concat(
                    [
                        im.group_by("date", "kind")
                        .agg(pl.col("messages").sum())
                        .with_columns(pl.lit(ALL).alias("view")),
                        im.rename({"app": "view"}),
                    ],
                    how="diagonal",
                )
                .select("view", "date", "kind", "messages")
                .sort("view", "date", "kind")
            )
    return out


def collect(
    lake: Any,
    *,
    days: int = 30,
    end: _dt.date | str | None = None,
    apps: list[str] | None = None,
    top: int = 10,
) -> PageData:
    """Read everything the page shows from ``lake`` (a folder or URI, a sync
    config or its ``.toml`` path): the ``days`` days up to ``end`` (default:
    the lake's last day with active users) and the period before them."""
    for name, v in (("days", days), ("top", top)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidArgument(f"{name} must be a positive integer, got {v!r}")
    store = store_of(lake)
    last = _day(end)
    wanted = [
        "active_users",
        "new_users",
        "sessions",
        "messages_sent",
        "peak_online_users",
        "retained_users",
        "cohort_users",
    ]
    lf = read_metrics(store, metrics=wanted, apps=apps, end=last)
    if last is None:
        last = (
            lf.filter(pl.col("metric") == "active_users")
            .select(pl.col("date").max())
            .collect()
            .item()
        )
    if last is None:
        raise InvalidArgument(
            f"the lake {store.uri!r} has no active users to report"
            + (f" for the apps {', '.join(apps)}" if apps else "")
            + ": run `appstats sync` first"
        )
    start = last - _dt.timedelta(days=days - 1)
    prev = start - _dt.timedelta(days=days)
    m = lf.filter(pl.col("date") >= prev).collect()
    cur = m.filter(pl.col("date") >= start)
    old = m.filter(pl.col("date") < start)

    app_provider = dict(cur.select("app", "provider").unique().sort("provider", "app").iter_rows())

    tiles: list[Tile] = []
    # KPI of a provider's apps: DAU is the daily sum over apps, averaged (users
    # of different apps are different users); new users, sessions and
    # messages are summed over the period
    for provider in sorted(set(app_provider.values())):

        def num(frame: pl.DataFrame, metric: str, how: str, p: str = provider) -> float | None:
            f = frame.filter((pl.col("provider") == p) & (pl.col("metric") == metric))
            if f.is_empty() or (frame is old and f["date"].n_unique() < days):
                return None  # a previous period the lake does not hold whole: no base
            if how == "sum":
                return float(f["value"].sum())
            return float(f.group_by("date").agg(pl.col("value").sum())["value"].mean())  # type: ignore[arg-type]

        for metric, label, how in (
            ("active_users", "DAU (daily mean, all apps)", "mean"),
            ("new_users", "new users", "sum"),
            (ACTIVITY[provider], ACTIVITY[provider].replace("_", " "), "sum"),
        ):
            tiles.append(Tile(provider, label, num(cur, metric, how), num(old, metric, how)))

    synced, problems = _runs(store, start, last)
    if apps is not None:
        problems = [p for p in problems if p.app in apps]
    dau = cur.filter(pl.col("metric") == "active_users")
    have = dau.group_by("app", "provider").agg(pl.col("date").n_unique().alias("n"))
    gapped = {p.app for p in problems if p.kind == "gap"}
    for app, provider, n in have.sort("app").iter_rows():
        if n < days and app not in gapped:
            text = f"active users on {n} of {days} days"
            problems.append(Problem(app, provider, "missing", text))

    ranking = (
        dau.group_by("app", "provider")
        .agg(pl.col("value").mean())
        .sort("value", "app", descending=[True, False])
        .head(top)
        .select("app", "provider")
        .rows()
    )
    charts: dict[str, pl.DataFrame] = {
        "dau": _series(cur, "active_users", ranking),
        "new_users": _series(cur, "new_users", ranking),
    }
    curves, heatmap = _retention(cur)
    if curves.height:
        charts["retention"] = curves
        charts["cohorts"] = heatmap
    charts.update(_distributions(store, apps, start, last))
    peak = cur.filter(pl.col("metric") == "peak_online_users")
    if peak.height:
        day = peak.select("app", "date", "value").with_columns(pl.col("date").cast(pl.String))
        charts["im_peak"] = (
            pl.concat(
                [
                    day.with_columns(pl.lit(ALL).alias("view"), pl.col("app").alias("series")),
                    day.with_columns(pl.col("app").alias("view"), pl.col("app").alias("series")),
                ]
            )
            .select("view", "series", "date", "value")
            .sort("view", "series", "date")
        )
    return PageData(
        lake=store.uri,
        start=start,
        end=last,
        apps=app_provider,
        synced=synced,
        problems=problems,
        tiles=tiles,
        charts=charts,
    )
