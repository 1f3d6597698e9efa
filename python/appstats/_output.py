"""Output conversion and progress reporting shared by every client."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from .errors import InvalidArgument, MissingDependency

if TYPE_CHECKING:
    import pandas
    import pyarrow

Output = Literal["polars", "pandas", "arrow"]
OUTPUTS = ("polars", "pandas", "arrow")
ProgressArg = bool | Callable[[int, int], Any] | None


def check_output(output: str) -> None:
    if output not in OUTPUTS:
        raise InvalidArgument(f"unknown output {output!r}; valid values: {', '.join(OUTPUTS)}")


def _need(module: str, extra: str) -> None:
    try:
        __import__(module)
    except ImportError as e:
        raise MissingDependency(
            f"output needs {module}; install it with: pip install 'appstats[{extra}]'"
        ) from e


def convert(df: pl.DataFrame, output: str) -> pl.DataFrame | pandas.DataFrame | pyarrow.Table:
    """Return ``df`` as Polars (as is), pandas (nullable dtypes) or Arrow."""
    if output == "polars":
        return df
    if output == "pandas":
        _need("pandas", "pandas")
        _need("pyarrow", "pandas")
        import pandas as pd

        # Arrow-backed conversion keeps nullable integers (Int64) and gives
        # datetime64 for Date columns.
        pdf = df.to_pandas(use_pyarrow_extension_array=False)
        for name, dtype in df.schema.items():
            if dtype.is_integer():
                pdf[name] = pdf[name].astype("Int64")
            elif dtype == pl.Date:
                pdf[name] = pd.to_datetime(pdf[name])
            elif dtype == pl.String:
                pdf[name] = pdf[name].astype("string")
        return pdf
    if output == "arrow":
        _need("pyarrow", "arrow")
        return df.to_arrow()
    check_output(output)
    raise AssertionError("unreachable")


class _Bar:
    """A tqdm bar driven by (done, total) callbacks from Rust threads."""

    def __init__(self, desc: str) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(total=0, desc=desc, unit="req", leave=False, file=sys.stderr)

    def __call__(self, done: int, total: int) -> None:
        if total != self._bar.total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def progress_callback(progress: ProgressArg, desc: str) -> tuple[Any, Callable[[], None]]:
    """Map ``progress=`` to a native callback and a closer.

    ``True``/``None``: a tqdm bar when tqdm is installed; ``False``: nothing;
    a callable: called with ``(done, total)``.
    """
    if progress is False:
        return None, lambda: None
    if callable(progress):
        return progress, lambda: None
    try:
        bar = _Bar(desc)
    except ImportError:
        if progress is True:
            raise MissingDependency(
                "progress=True needs tqdm; install it with: pip install 'appstats[progress]'"
            ) from None
        return None, lambda: None
    return bar, bar.close
