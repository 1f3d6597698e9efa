"""The loop ends while Rust work is still in flight (cancelled by asyncio.run)."""

import asyncio

import appstats as aps


async def main(sb: aps.Sandbox) -> None:
    call = sb.baidu().region_async("2024-03-01", "2024-03-31", progress=False)
    task = asyncio.ensure_future(call)
    await asyncio.sleep(0.01)
    assert not task.done()


sb = aps.Sandbox(latency=0.5)
asyncio.run(main(sb))
# no close(): the sandbox and the pending reply live until the exit
