"""pyspark and pyarrow, or a clear :class:`~appstats.MissingDependency`."""

from __future__ import annotations

from ..errors import MissingDependency

try:
    import pyarrow as pa
    from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import (
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
except ImportError as _e:  # pragma: no cover - the extra is missing
    raise MissingDependency(
        "appstats.spark needs pyspark 4 and pyarrow: pip install 'appstats[spark]'"
    ) from _e

__all__ = [
    "ArrayType",
    "BooleanType",
    "ByteType",
    "DataSource",
    "DataSourceReader",
    "DataType",
    "DateType",
    "DecimalType",
    "DoubleType",
    "FloatType",
    "InputPartition",
    "IntegerType",
    "LongType",
    "MapType",
    "ShortType",
    "StringType",
    "StructField",
    "StructType",
    "TimestampNTZType",
    "TimestampType",
    "pa",
    "to_arrow_schema",
]
