"""Frames as Arrow batches of exactly the declared Spark schema."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import polars as pl

from ._consts import (
    BATCH_ROWS,
    EXTRAS_COLUMN,
)
from ._deps import (
    StructType,
    pa,
    to_arrow_schema,
)

log = logging.getLogger("appstats.spark")


def _conform(df: pl.DataFrame, schema: StructType) -> pa.Table:
    """``df`` as an Arrow table of exactly ``schema`` (Spark rejects e.g.
    ``large_string`` where it declared ``string``): declared columns cast,
    missing ones null, free-form ones into the ``extras`` map."""
    target = to_arrow_schema(schema, timezone="UTC")
    names = set(target.names)
    n = df.height
    cols = []
    for f in target:
        if f.name == EXTRAS_COLUMN and pa.types.is_map(f.type) and f.name not in df.columns:
            extra = [c for c in df.columns if c not in names]
            rows = (
                [
                    [(k, str(v)) for k, v in zip(extra, r, strict=True) if v is not None]
                    for r in df.select(extra).iter_rows()
                ]
                if extra
                else [[]] * n
            )
            cols.append(pa.array(rows, f.type))
        elif f.name in df.columns:
            cols.append(df[f.name].to_arrow().cast(f.type))
        else:
            cols.append(pa.nulls(n, f.type))
    return pa.Table.from_arrays(cols, schema=target)


class _Batcher:
    """Collects the apps' frames and hands them on as Arrow record batches of
    the declared schema, about ``BATCH_ROWS`` rows each (one conversion per
    batch, not per app)."""

    def __init__(self, schema: StructType) -> None:
        self.schema = schema
        self.frames: list[pl.DataFrame] = []
        self.rows = 0

    def add(self, frame: pl.DataFrame | None) -> Iterator[pa.RecordBatch]:
        if frame is not None and frame.height:
            self.frames.append(frame)
            self.rows += frame.height
        if self.rows >= BATCH_ROWS:
            yield from self.flush()

    def flush(self) -> Iterator[pa.RecordBatch]:
        if not self.frames:
            return
        df = pl.concat(self.frames, how="diagonal_relaxed")
        self.frames, self.rows = [], 0
        yield from _conform(df, self.schema).to_batches(max_chunksize=BATCH_ROWS)
