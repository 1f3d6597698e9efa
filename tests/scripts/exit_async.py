"""An `_async` call, then the script ends (issue 10: crashed at exit)."""

import asyncio

import appstats as aps

with aps.Sandbox() as sb:
    df = asyncio.run(sb.baidu().region_async("2024-03-01", "2024-03-31", progress=False))
    assert df.height > 0
