"""Schemas: Polars dtypes as Spark types, a report's Spark schema, the error rows."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import polars as pl

from .. import _native
from ..errors import InvalidArgument
from ._consts import (
    ERROR_COLUMN,
    EXTRAS_COLUMN,
    OPEN_REPORTS,
)
from ._deps import (
    ArrayType,
    BooleanType,
    ByteType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
)

log = logging.getLogger("appstats.spark")


def spark_type(dtype: pl.DataType | type[pl.DataType]) -> DataType:
    """The Spark type of a Polars dtype.

    Examples:
        >>> import polars as pl
        >>> from appstats.spark import spark_type
        >>> [spark_type(t).simpleString() for t in (pl.Date, pl.Int64, pl.Float64, pl.String)]
        ['date', 'bigint', 'double', 'string']
        >>> spark_type(pl.Datetime("us")).simpleString(), spark_type(pl.Datetime("us", "UTC"))
        ('timestamp_ntz', TimestampType())
    """
    t: Any = dtype if isinstance(dtype, pl.DataType) else dtype()
    if isinstance(t, pl.Datetime):
        return TimestampType() if t.time_zone else TimestampNTZType()
    if isinstance(t, pl.List):
        inner: Any = t.inner
        return ArrayType(spark_type(inner))
    simple: dict[type[pl.DataType], DataType] = {
        pl.Date: DateType(),
        pl.Int64: LongType(),
        pl.Int32: IntegerType(),
        pl.Int16: ShortType(),
        pl.Int8: ByteType(),
        pl.UInt32: LongType(),
        pl.UInt16: IntegerType(),
        pl.UInt8: ShortType(),
        pl.UInt64: DecimalType(20, 0),
        pl.Float64: DoubleType(),
        pl.Float32: FloatType(),
        pl.Boolean: BooleanType(),
        pl.String: StringType(),
    }
    for k, v in simple.items():
        if isinstance(t, k):
            return v
    raise InvalidArgument(f"no Spark type for the Polars dtype {t}")


def _empty_frame(provider: str, report: str, options: Mapping[str, str]) -> pl.DataFrame:
    """The report's frame with no rows: its fixed schema (validates the options)."""
    opts = dict(options)
    if provider == "baidu":
        if report == "tp_data":
            raise InvalidArgument(
                "baidu tp_data is the platform's report, not a program's: "
                "read it with BaiduSmartApp(tp_client_id=..., ...).tp_data()"
            )
        if opts.get("shape") == "wide":
            raise InvalidArgument(
                "Baidu's wide retention has one column per period present in the reply, "
                "which Spark cannot know before reading: read shape=long (the default) and "
                "pivot, e.g. df.groupBy('app', 'cohort_date').pivot('period').sum('users')"
            )
    return _native.report_schema(provider, report, opts)


def report_schema(
    provider: str,
    report: str,
    options: Mapping[str, str] | None = None,
    *,
    per_day: bool = False,
    mode: str = "FAILFAST",
) -> StructType:
    """The Spark schema of a report as the data source reads it: ``app``,
    ``app_id``, the report's columns (``date`` first with ``per_day``),
    ``extras`` for reports with free-form fields, ``_error`` in
    ``PERMISSIVE`` mode. Nothing is fetched; bad options raise
    :class:`~appstats.InvalidArgument`.

    Examples:
        >>> from appstats.spark import report_schema
        >>> report_schema("mta", "user_basic", {"metrics": "new_users"}).simpleString()
        'struct<app:string,app_id:string,date:date,new_users:bigint>'
        >>> report_schema("baidu", "region", per_day=True).fieldNames()[:4]
        ['app', 'app_id', 'date', 'region']
    """
    opts = {str(k): str(v) for k, v in (options or {}).items()}
    df = _empty_frame(provider, report, opts)
    if per_day:
        if "date" in df.columns:
            raise InvalidArgument(
                f"{provider} {report} has one row per day already; "
                "perDay applies to reports over a range (region, "
                "terminal, ...)"
            )
        df = df.select(pl.lit(None, pl.Date).alias("date"), pl.all())
    fields = [StructField("app", StringType()), StructField("app_id", StringType())]
    fields += [StructField(n, spark_type(t)) for n, t in df.schema.items() if n != "app_id"]
    if (provider, report) in OPEN_REPORTS:
        fields.append(StructField(EXTRAS_COLUMN, MapType(StringType(), StringType())))
    if mode == "PERMISSIVE":
        fields.append(StructField(ERROR_COLUMN, StringType()))
    return StructType(fields)


def errors(df: Any) -> Any:
    """The failed apps of a ``PERMISSIVE`` read: ``app``, ``app_id``, ``_error``.

    Example (``df`` read with ``mode=PERMISSIVE``)::

        appstats.spark.errors(df).show(truncate=False)
        good = df.where(df._error.isNull()).drop("_error")
    """
    if ERROR_COLUMN not in df.columns:
        raise InvalidArgument(
            "the frame has no _error column: read it with option('mode', 'PERMISSIVE')"
        )
    return df.where(df[ERROR_COLUMN].isNotNull()).select("app", "app_id", ERROR_COLUMN)
