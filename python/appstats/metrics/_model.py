"""Report frames → the long metrics frame: one row per (provider, app,
metric, grain, date, day_offset).

Each source table is turned into rows on its own (every metric of a
provider comes from one table per grain), so a frame fetched by a client
and a lake table give the same rows. Week and month rows follow each
metric's additivity: additive metrics are summed over the period's days
(only when every day is there), stocks (``semi``) take the period's last
day, and non-additive metrics exist only where the provider publishes the
period's own number (Baidu's and MTA's 7-day actives on the Sunday,
Baidu's weekly and monthly retention cohorts). A period the data does not
cover to its end is not emitted.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from ._catalog import BY_NAME, DAILY, RETENTION

__all__ = ["SCHEMA", "KEY", "rows", "compute", "empty", "source_tables"]

#: The long frame's columns.
SCHEMA: dict[str, pl.DataType] = {
    "provider": pl.String(),
    "app": pl.String(),
    "app_id": pl.String(),
    "date": pl.Date(),
    "grain": pl.String(),
    "metric": pl.String(),
    "value": pl.Float64(),
    "unit": pl.String(),
    "day_offset": pl.Int32(),
    "cohort": pl.String(),
}
#: A row's identity.
KEY = ("provider", "app", "metric", "grain", "date", "day_offset")
_ORDER = ["provider", "app", "grain", "metric", "date", "day_offset"]
_UNITS = {m.name: m.unit for m in BY_NAME.values()}


def source_tables() -> dict[str, str]:
    """Source table → its day column."""
    return {
        **{t: "date" for t in DAILY},
        **{t: "cohort_date" for t in RETENTION},
    }


def empty() -> pl.DataFrame:
    """The long frame without rows."""
    return pl.DataFrame(schema=SCHEMA)


def _finish(df: pl.LazyFrame, provider: str) -> pl.LazyFrame:
    """Typed columns in order, with the unit; rows without a value dropped."""
    return (
        df.filter(pl.col("value").is_not_null() & pl.col("value").is_not_nan())
        .with_columns(
            pl.lit(provider, pl.String).alias("provider"),
            pl.col("metric").replace_strict(_UNITS, return_dtype=pl.String).alias("unit"),
        )
        .select([pl.col(c).cast(t) for c, t in SCHEMA.items()])
    )


def _periods(day: pl.LazyFrame) -> list[pl.LazyFrame]:
    """Week and month rows from a table's day rows (``provider``/``unit``
    not set yet): additive sums over whole periods, stocks on the last day,
    the 7-day actives of a Sunday as the week's active users."""
    out = []
    for grain in ("week", "month"):
        if grain == "week":
            start = pl.col("date").dt.truncate("1w")
            end = start.dt.offset_by("6d")
        else:
            start = pl.col("date").dt.month_start()
            end = pl.col("date").dt.month_end()
        frame = day.with_columns(start.alias("_start"), end.alias("_end"))
        # a period exists only where the data holds every one of its days
        whole = (
            frame.group_by("app", "metric", "_start")
            .agg(
                pl.col("date").n_unique().alias("_days"),
                ((pl.col("_end").first() - pl.col("_start").first()).dt.total_days() + 1).alias(
                    "_length"
                ),
            )
            .filter(pl.col("_days") == pl.col("_length"))
            .select("app", "metric", "_start")
        )
        frame = frame.join(whole, on=["app", "metric", "_start"], how="semi")
        additive = [m.name for m in BY_NAME.values() if m.additivity == "additive"]
        semi = [m.name for m in BY_NAME.values() if m.additivity == "semi"]
        summed = (
            frame.filter(pl.col("metric").is_in(additive))
            .group_by("app", "app_id", "metric", "_start")
            .agg(pl.col("value").sum())
        )
        last = frame.filter(pl.col("metric").is_in(semi) & (pl.col("date") == pl.col("_end")))
        parts = [summed, last]
        if grain == "week":
            parts.append(
                frame.filter(
                    (pl.col("metric") == "active_users_7d") & (pl.col("date") == pl.col("_end"))
                ).with_columns(pl.lit("active_users").alias("metric"))
            )
        for p in parts:
            out.append(
                p.select(
                    "app",
                    "app_id",
                    pl.col("_start").alias("date"),
                    pl.lit(grain).alias("grain"),
                    "metric",
                    "value",
                    pl.lit(None, pl.Int32).alias("day_offset"),
                    pl.lit(None, pl.String).alias("cohort"),
                )
            )
    return out


def _daily(table: str, frame: pl.LazyFrame, names: list[str]) -> list[pl.LazyFrame]:
    cols = [c for c in DAILY[table] if c.column in names]
    if not cols:
        return []
    values = [
        (
            pl.col(c.column).cast(pl.Float64) / 100
            if c.percent
            else pl.col(c.column).cast(pl.Float64)
        ).alias(c.metric)
        for c in cols
    ]
    day = (
        frame.select("app", "app_id", "date", *values)
        .unpivot(
            index=["app", "app_id", "date"],
            variable_name="metric",
            value_name="value",
        )
        .filter(pl.col("value").is_not_null() & pl.col("value").is_not_nan())
    )
    rows = day.select(
        "app",
        "app_id",
        "date",
        pl.lit("day").alias("grain"),
        "metric",
        "value",
        pl.lit(None, pl.Int32).alias("day_offset"),
        pl.lit(None, pl.String).alias("cohort"),
    )
    return [rows, *_periods(day)]


def _retention(table: str, frame: pl.LazyFrame, names: list[str]) -> list[pl.LazyFrame]:
    grain, cohort, first = RETENTION[table]
    start, end = pl.col("cohort_date"), pl.col("cohort_end")
    # only cohorts of a whole period (a range's first or last week may be cut)
    if grain == "day":
        whole = end.is_null() | (end == start)
    elif grain == "week":
        whole = (start.dt.weekday() == 1) & (end == start.dt.offset_by("6d"))
    else:
        whole = (start.dt.day() == 1) & (end == start.dt.month_end())
    f = frame.filter(whole)
    units = (pl.col("period") - first + 1).cast(pl.Int64)
    if grain == "day":
        offset = units
    elif grain == "week":
        offset = units * 7
    else:
        offset = (start.dt.offset_by(pl.format("{}mo", units)) - start).dt.total_days()
    size = pl.col("cohort_size").cast(pl.Float64)
    base = f.with_columns(offset.cast(pl.Int32).alias("day_offset"))
    common: list[pl.Expr] = [
        pl.col("app"),
        pl.col("app_id"),
        pl.col("cohort_date").alias("date"),
        pl.lit(grain).alias("grain"),
    ]
    out = []
    if "users" in names:
        users = pl.col("users").cast(pl.Float64)
        out.append(
            base.select(
                *common,
                pl.lit("retained_users").alias("metric"),
                users.alias("value"),
                "day_offset",
                pl.lit(cohort).alias("cohort"),
            )
        )
        rate: pl.Expr = pl.when(size > 0).then(users / size)
    elif "ratio" in names:
        rate = pl.col("ratio").cast(pl.Float64) / 100
    else:
        return []
    out.append(
        base.select(
            *common,
            pl.lit("retention_rate").alias("metric"),
            rate.alias("value"),
            "day_offset",
            pl.lit(cohort).alias("cohort"),
        )
    )
    cohorts = f.select("app", "app_id", "cohort_date", "cohort_size").unique(
        ["app", "cohort_date"], keep="first"
    )
    sized: list[tuple[str, str | None]] = [("cohort_users", cohort)]
    if table == "baidu_retention_month":
        # Baidu's active_user_count of a month: the month's active users
        sized.append(("active_users", None))
    for metric, kind in sized:
        out.append(
            cohorts.select(
                *common,
                pl.lit(metric).alias("metric"),
                size.alias("value"),
                pl.lit(None, pl.Int32).alias("day_offset"),
                pl.lit(kind, pl.String).alias("cohort"),
            )
        )
    return out


def rows(table: str, frame: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """The long rows of one source table's frame (with ``app``, ``app_id``
    and the report's columns), every grain."""
    provider = table.split("_", 1)[0]
    lf = frame.lazy()
    names = lf.collect_schema().names()
    lf = lf.with_columns(pl.col("app").cast(pl.String), pl.col("app_id").cast(pl.String))
    parts = _daily(table, lf, names) if table in DAILY else _retention(table, lf, names)
    if not parts:
        return empty().lazy()
    return _finish(pl.concat(parts, how="vertical_relaxed"), provider)


def compute(frames: Mapping[str, pl.DataFrame | pl.LazyFrame]) -> pl.DataFrame:
    """The long frame of several source tables, sorted by its key."""
    parts = [rows(t, f) for t, f in frames.items()]
    if not parts:
        return empty()
    df = pl.concat(parts, how="vertical").collect()
    return df.sort(_ORDER, nulls_last=False)
