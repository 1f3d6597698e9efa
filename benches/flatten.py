"""Flattening benchmark: large provider replies → typed flat tables.

For three synthetic replies in the providers' exact wire shapes (see
``_data.py``) it times, best of N with ``time.perf_counter``, starting from
the reply text:

* ``appstats``   — ``appstats.baidu.parse`` / ``appstats.mta.parse``;
* ``pandas``     — ``json.loads`` + ``pandas.json_normalize`` (or
  ``DataFrame``/``melt``) + ``pd.to_numeric`` on "1,234"/"--" strings;
* ``from_dicts`` — ``json.loads`` + ``polars.from_dicts`` with an explicit
  schema + explode/unnest/unpivot + string cleaning and casts;
* ``bare``       — ``appstats._native._serde_parse``: serde_json into a
  ``Value`` tree, no table (the floor for any JSON → table path).

Every method's output is checked against appstats (rows, and sum/null count
of one metric column). ``json.loads`` alone is shown for reference.

Run: ``python benches/flatten.py`` (1M rows each, ~2½ min on 2 cores) or
``--quick`` (smoke test).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _data  # noqa: E402
import appstats  # noqa: E402
from appstats import _native  # noqa: E402

TARGET_PANDAS = 10.0  # appstats ≥ 10× faster than pandas
TARGET_DICTS = 3.0  # ≥ 3× faster than from_dicts
TARGET_BARE = 2.0  # within 2× of bare parsing


def fresh(text: str) -> str:
    """An equal str without CPython's cached UTF-8 copy.

    Rust receives a str as UTF-8: CPython encodes it once and caches the
    copy on the object. A reply just read or downloaded has no cache, so
    each timed native call gets a fresh copy (made outside the timer).
    """
    return text.encode("utf-8").decode("utf-8")


# ---------------------------------------------------------------- Baidu source

SRC_INT = ["new_user_count", "user_count"]
SRC_FLOAT = [
    "new_user_scale",
    "user_scale",
    "session_scale",
    "session_count_per_user",
    "average_session_time",
]


def pd_numeric(s: pd.Series, integer: bool) -> pd.Series:
    """What a careful analyst does with "1,234" / "--" / numbers mixed in one column."""
    out = pd.to_numeric(s.astype(str).str.replace(",", "", regex=False), errors="coerce")
    return out.astype("Int64") if integer else out.astype("float64")


def pl_numeric(name: str, integer: bool) -> pl.Expr:
    return (
        pl.col(name)
        .str.replace_all(",", "", literal=True)
        .cast(pl.Int64 if integer else pl.Float64, strict=False)
    )


def source_pandas(text: str) -> pd.DataFrame:
    groups = json.loads(text)["data"]["data_list"]
    for i, g in enumerate(groups, 1):
        g["group_rank"] = i
        if not g["name"]:
            g["name"] = [{}]  # keep groups without scenes as one row
    meta = ["group_rank", *SRC_INT, *SRC_FLOAT]
    df = pd.json_normalize(groups, record_path="name", meta=meta, meta_prefix="group_")
    df = df.rename(
        columns={
            "group_group_rank": "group_rank",
            "source": "source_id",
            "sceneId": "scene_id",
            "name": "scene_name",
        }
    )
    for prefix in ("", "group_"):
        for c in SRC_INT:
            df[prefix + c] = pd_numeric(df[prefix + c], True)
        for c in SRC_FLOAT:
            df[prefix + c] = pd_numeric(df[prefix + c], False)
    df["group_rank"] = df["group_rank"].astype("int64")
    return df


SCENE_SCHEMA = pl.Struct(
    {
        "sceneId": pl.String,
        "source": pl.String,
        "name": pl.String,
        **{c: pl.String for c in SRC_INT + SRC_FLOAT},
    }
)
GROUP_SCHEMA = {"name": pl.List(SCENE_SCHEMA), **{c: pl.String for c in SRC_INT + SRC_FLOAT}}


def source_dicts(text: str) -> pl.DataFrame:
    groups = json.loads(text)["data"]["data_list"]
    df = (
        pl.from_dicts(groups, schema=GROUP_SCHEMA, strict=False)
        .with_row_index("group_rank", offset=1)
        .rename({c: f"group_{c}" for c in SRC_INT + SRC_FLOAT})
        .explode("name", empty_as_null=True)  # keep groups without scenes
        .unnest("name")
        .rename({"source": "source_id", "sceneId": "scene_id", "name": "scene_name"})
    )
    return df.with_columns(
        pl.col("group_rank").cast(pl.Int64),
        *[pl_numeric(p + c, True) for p in ("", "group_") for c in SRC_INT],
        *[pl_numeric(p + c, False) for p in ("", "group_") for c in SRC_FLOAT],
    )


# ---------------------------------------------------------- Baidu retention


def retention_pandas(text: str) -> pd.DataFrame:
    rows = json.loads(text)["data"]["data_list"]
    wide = pd.DataFrame(rows)
    long = wide.melt(id_vars=["name", "active_user_count"], var_name="key", value_name="users")
    long["period"] = long["key"].str.extract(r"第(\d+)天", expand=False).astype("int64")
    long["cohort_date"] = pd.to_datetime(long["name"], format="%Y/%m/%d")
    long["cohort_end"] = long["cohort_date"]
    long["cohort_size"] = pd_numeric(long["active_user_count"], True)
    long["users"] = pd_numeric(long["users"], True)
    long = long.sort_values(["cohort_date", "period"], kind="stable", ignore_index=True)
    return long[["cohort_date", "cohort_end", "cohort_size", "period", "users"]]


def retention_dicts(text: str) -> pl.DataFrame:
    rows = json.loads(text)["data"]["data_list"]
    keys = [k for k in rows[0] if k.startswith("第")]
    schema = {"name": pl.String, "active_user_count": pl.String, **{k: pl.String for k in keys}}
    wide = pl.from_dicts(rows, schema=schema, strict=False)
    return (
        wide.unpivot(index=["name", "active_user_count"], variable_name="key", value_name="users")
        .with_columns(
            pl.col("name").str.to_date("%Y/%m/%d").alias("cohort_date"),
            pl_numeric("active_user_count", True).alias("cohort_size"),
            pl.col("key").str.extract(r"第(\d+)天").cast(pl.Int64).alias("period"),
            pl_numeric("users", True),
        )
        .with_columns(pl.col("cohort_date").alias("cohort_end"))
        .sort("cohort_date", "period", maintain_order=True)
        .select("cohort_date", "cohort_end", "cohort_size", "period", "users")
    )


# ------------------------------------------------------------ MTA user_basic

MTA_COLS = {
    "NewUser": "new_users",
    "ActiveUser": "active_users",
    "SessionCount": "sessions",
    "TotalUser": "total_users",
    "ActiveAccount": "active_accounts",
    "NoRepeatUser": "unique_users",
}


def mta_pandas(text: str) -> pd.DataFrame:
    data = json.loads(text)["ret_data"]
    df = pd.DataFrame.from_dict(data, orient="index")
    df.index = pd.to_datetime(df.index, format="%Y-%m-%d")
    df = df.rename(columns=MTA_COLS).rename_axis("date").sort_index().reset_index()
    for c in MTA_COLS.values():
        df[c] = pd_numeric(df[c], True)
    return df


def mta_dicts(text: str) -> pl.DataFrame:
    data = json.loads(text)["ret_data"]
    schema = {"date": pl.String, **{k: pl.String for k in MTA_COLS}}
    df = pl.from_dicts([{"date": d, **v} for d, v in data.items()], schema=schema, strict=False)
    return (
        df.rename(MTA_COLS)
        .with_columns(
            pl.col("date").str.to_date("%Y-%m-%d"),
            *[pl_numeric(c, True) for c in MTA_COLS.values()],
        )
        .sort("date")
    )


# ------------------------------------------------------------------- harness

INPUTS: dict[str, dict[str, Any]] = {
    "source": {
        "title": "Baidu getanalysissource (nested groups → scene rows)",
        "appstats": lambda t: appstats.baidu.parse("getanalysissource", t),
        "pandas": source_pandas,
        "from_dicts": source_dicts,
        "check": "user_count",
    },
    "retention": {
        "title": "Baidu getanalysisretaineduser gran=day (cohorts × 第N天 → long)",
        "appstats": lambda t: appstats.baidu.parse("getanalysisretaineduser", t, gran="day"),
        "pandas": retention_pandas,
        "from_dicts": retention_dicts,
        "check": "users",
    },
    "mta": {
        "title": "MTA user_basic (date-keyed ret_data, 6 metrics per date)",
        "appstats": lambda t: appstats.mta.parse("user_basic", t),
        "pandas": mta_pandas,
        "from_dicts": mta_dicts,
        "check": "active_users",
    },
}


def best_of(
    fn: Callable[[str], Any], text: str, repeat: int, budget: float, native: bool
) -> tuple[float, int, Any]:
    """Best time over up to `repeat` runs (fewer once `budget` seconds are spent)."""
    best = float("inf")
    spent = 0.0
    runs = 0
    out = None
    while runs < repeat and (runs == 0 or spent < budget):
        arg = fresh(text) if native else text
        out = None
        gc.collect()
        t0 = time.perf_counter()
        out = fn(arg)
        dt = time.perf_counter() - t0
        del arg
        best = min(best, dt)
        spent += dt
        runs += 1
    return best, runs, out


def summary(df: Any, col: str) -> tuple[int, int, float]:
    """(rows, nulls, sum) of `col`, for pandas and polars frames alike."""
    if isinstance(df, pd.DataFrame):
        s = df[col]
        return len(df), int(s.isna().sum()), float(s.sum())
    s = df[col]
    return df.height, s.null_count(), float(s.sum())


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def run_input(name: str, size: int, repeat: int, budget: float) -> dict[str, float]:
    spec = INPUTS[name]
    t0 = time.perf_counter()
    path, expected = _data.cached(name, size)
    text = path.read_text(encoding="utf-8")
    prep = time.perf_counter() - t0
    print(f"\n## {spec['title']}")
    print(
        f"input: {len(text.encode('utf-8')) / 1e6:,.1f} MB of JSON, {expected:,} output rows "
        f"(generated/loaded in {prep:.1f} s)"
    )
    methods: list[tuple[str, str, Callable[[str], Any], bool]] = [
        ("appstats", "appstats parse", spec["appstats"], True),
        ("bare", "_serde_parse (bare serde_json)", _native._serde_parse, True),
        ("loads", "json.loads alone (reference)", json.loads, False),
        ("from_dicts", "json.loads + polars.from_dicts", spec["from_dicts"], False),
        ("pandas", "json.loads + pandas", spec["pandas"], False),
    ]
    times: dict[str, float] = {}
    ref = None
    print(f"{'method':<34} {'best (s)':>9} {'runs':>5} {'rows':>11}")
    for key, label, fn, native in methods:
        best, runs, out = best_of(fn, text, repeat, budget, native)
        times[key] = best
        rows = ""
        if key in ("appstats", "pandas", "from_dicts"):
            s = summary(out, spec["check"])
            rows = f"{s[0]:,}"
            if ref is None:
                ref = s
                assert s[0] == expected, f"appstats gave {s[0]} rows, expected {expected}"
            else:
                assert s[0] == ref[0], f"{key}: {s[0]} rows, appstats {ref[0]}"
                assert s[1] == ref[1], f"{key}: {s[1]} nulls in {spec['check']}, appstats {ref[1]}"
                assert abs(s[2] - ref[2]) <= 1e-9 * max(1.0, abs(ref[2])), (key, s[2], ref[2])
        del out
        print(f"{label:<34} {best:>9.3f} {runs:>5} {rows:>11}", flush=True)
    a = times["appstats"]
    r_pd, r_pl, r_bare = times["pandas"] / a, times["from_dicts"] / a, a / times["bare"]
    print(
        f"pandas / appstats     = {r_pd:6.1f}×  (target ≥ {TARGET_PANDAS:g}×: "
        f"{verdict(r_pd >= TARGET_PANDAS)})"
    )
    print(
        f"from_dicts / appstats = {r_pl:6.1f}×  (target ≥ {TARGET_DICTS:g}×: "
        f"{verdict(r_pl >= TARGET_DICTS)})"
    )
    print(
        f"appstats / bare       = {r_bare:6.2f}×  (target ≤ {TARGET_BARE:g}×: "
        f"{verdict(r_bare <= TARGET_BARE)})"
    )
    print(f"json.loads alone / appstats = {times['loads'] / a:.1f}×")
    return {"pandas": r_pd, "from_dicts": r_pl, "bare": r_bare}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="20k rows per input (smoke test)")
    ap.add_argument("--rows", type=int, help="output rows/cells per input (default 1,000,000)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N (default 3)")
    ap.add_argument(
        "--budget",
        type=float,
        default=8.0,
        help="stop repeating a method after this many seconds (default 8)",
    )
    ap.add_argument("--only", choices=sorted(INPUTS), action="append", help="run only these")
    args = ap.parse_args()
    size = args.rows or (20_000 if args.quick else 1_000_000)
    print(
        f"appstats {appstats.__version__}, polars {pl.__version__}, pandas {pd.__version__}, "
        f"Python {sys.version.split()[0]}; best of ≤{args.repeat}, {size:,} rows per input"
    )
    results = {n: run_input(n, size, args.repeat, args.budget) for n in args.only or INPUTS}
    print("\n## Summary (ratios; targets: pandas ≥10×, from_dicts ≥3×, appstats/bare ≤2×)")
    print(f"{'input':<10} {'pandas/aps':>11} {'dicts/aps':>10} {'aps/bare':>9}")
    for n, r in results.items():
        print(f"{n:<10} {r['pandas']:>10.1f}× {r['from_dicts']:>9.1f}× {r['bare']:>8.2f}×")


if __name__ == "__main__":
    main()
