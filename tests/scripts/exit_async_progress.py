"""Several `_async` calls at once with progress callbacks and DEBUG logging."""

import asyncio
import logging

logging.basicConfig(level=logging.DEBUG, format="%(name)s %(message)s")

import appstats as aps  # noqa: E402

seen: list[tuple[int, int]] = []


async def main(sb: aps.Sandbox) -> None:
    cb = lambda done, total: seen.append((done, total))  # noqa: E731
    frames = await asyncio.gather(
        sb.baidu().source_async("2024-03-01", "2024-03-31", progress=cb),
        sb.mta().user_basic_async("2024-03-01", "2024-03-31", progress=cb),
        sb.tim().app_info_async(progress=cb),
    )
    assert all(f.height > 0 for f in frames)


with aps.Sandbox(latency=0.002) as sb:
    asyncio.run(main(sb))
assert seen
