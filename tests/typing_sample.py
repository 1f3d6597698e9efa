"""A script using the whole public API; `mypy --strict` must pass on it."""

from __future__ import annotations

import asyncio
import datetime as dt

import pandas as pd
import polars as pl

import appstats as aps


def main() -> None:
    start, end = dt.date(2024, 3, 1), "2024-03-31"
    with aps.Sandbox(seed=7, latency=0.0) as sb:
        bd: aps.BaiduSmartApp = sb.baidu(page_size=10)
        trend: pl.DataFrame = bd.user_trend(start, end, gran="day", progress=False)
        rep: aps.Report = bd.report("source", start, end, level="scene", progress=False)
        groups: pl.DataFrame | None = rep.groups
        total: int | None = rep.total
        bd.retention(start, end, shape="wide", progress=False)
        # `output` selects the frame type: polars by default, pandas, arrow
        pdf: pd.DataFrame = bd.terminal(start, end, "os", output="pandas", progress=False)
        mta: aps.Mta = sb.mta()
        basic: pl.DataFrame = mta.user_basic(start, end, metrics=["new_users", 10102])
        mpdf: pd.DataFrame = mta.user_basic(start, end, output="pandas", progress=False)
        raw: pl.DataFrame = mta.fetch("crash", start, end, progress=False)
        mta.retention(start, end, progress=lambda done, tot: None)
        mrep: aps.Report = mta.report("crash", start, end, progress=False)
        windows: pl.DataFrame = mrep.summary
        defaults: dict[str, float] = aps.mta.HTTP_DEFAULTS
        opts: aps.HttpOptions = {"timeout": 5.0}
        aps.Mta("1", "key", **opts)
        im: aps.TencentIm = sb.tim()
        ipdf: pd.DataFrame = im.app_info(fields=["ActiveUserNum"], output="pandas")
        sb.inject("code", 1000, provider="baidu", times=1)
        n: int = sb.request_count("baidu")

        async def pandas_twin() -> pd.DataFrame:
            return await mta.crash_async(start, end, output="pandas", progress=False)

        async def run() -> list[pl.DataFrame]:
            return list(
                await asyncio.gather(
                    bd.region_async(start, end, progress=False),
                    mta.crash_async(start, end, progress=False),
                )
            )

        frames = asyncio.run(run())
        table = bd.region(start, end, output="arrow", progress=False)  # pyarrow.Table
        print(table.num_rows, raw.height)
        print(len(asyncio.run(pandas_twin())), len(pdf), len(mpdf), len(ipdf), basic.height)
        many: pl.DataFrame = asyncio.run(
            aps.TencentIm.app_info_many_async(
                [(a, k) for a, k, r in sb.tim_apps() if r == "cn"],
                resolve_to=sb.addr,
                progress=False,
                concurrency=2,
            )
        )
        print(windows.height, len(defaults), many.height, aps.PartialDataWarning.__name__)
        sig: str = aps.tim.gen_usersig(1400000000, "key", "admin")
        who: tuple[str, int, int, int] = aps.tim.verify_usersig(sig, 1400000000, "key")
        parsed: pl.DataFrame = aps.baidu.parse("getanalysisregion", '{"errno":0,"data":{}}')
        print(trend.height, groups is None, total, n, len(frames), who[0], parsed.height)
    try:
        aps.BaiduSmartApp(access_token="x").user_trend("2024-03-02", "2024-03-01")
    except aps.InvalidArgument as e:
        code: int | None = e.code
        print(e.message, code)


def rejected(bd: aps.BaiduSmartApp, mta: aps.Mta, start: str, end: str) -> None:
    """Calls mypy must reject (never run): each ignore below is needed, or
    `warn_unused_ignores` (part of --strict) fails the check."""
    wrong: pl.DataFrame = bd.region(start, end, output="pandas")  # type: ignore[assignment]
    also_wrong: pd.DataFrame = bd.region(start, end)  # type: ignore[assignment]
    bad: pd.DataFrame = mta.crash(start, end, progress=False)  # type: ignore[assignment]
    rep: pl.DataFrame = mta.report("crash", start, end)  # type: ignore[assignment]
    mta.crash(start, end, outptu="pandas")  # type: ignore[call-overload]
    mta.crash(start, end, output="excel")  # type: ignore[call-overload]
    aps.Mta("1", "key", timout=5.0)  # type: ignore[call-arg]
    print(wrong, also_wrong, bad, rep)


if __name__ == "__main__":
    main()
