"""Process lifecycle, in fresh interpreters (issue 10).

pytest runs everything in one long-lived process, which hides both kinds of
defect: a crash at interpreter exit, and a hang in forked workers. Each
script under ``tests/scripts`` runs in its own interpreter, several times,
and must exit with status 0.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.slow  # scripts in fresh interpreters (make test-fast leaves it out)

SCRIPTS = pathlib.Path(__file__).parent.parent / "scripts"
#: Runs per exit script: the crash this guards against showed up in 6-14 of
#: 20 runs before the fix, so 12 runs of each async script make a miss
#: vanishingly unlikely.
RUNS = 12


def run(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONFAULTHANDLER="1")
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.mark.parametrize(
    "script", ["exit_async.py", "exit_async_progress.py", "exit_async_pending.py", "exit_sync.py"]
)
def test_every_exit_status_is_zero(script: str) -> None:
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: run(script), range(RUNS)))
    bad = [(r.returncode, r.stderr[-2000:]) for r in results if r.returncode != 0]
    assert not bad, f"{len(bad)} of {RUNS} runs of {script} failed; first: {bad[0]}"


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_workers_call_after_the_parent(method: str) -> None:
    r = run("fork_pool.py", method, timeout=90)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.startswith(f"ok {method}"), r.stdout


def test_ctrl_c_interrupts_a_blocking_call_promptly() -> None:
    r = run("interrupt.py", timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr[-3000:]
    lines = r.stdout.split()
    secs = float(lines[lines.index("after") + 1])
    assert secs < 0.5, r.stdout
    assert r.stdout.rstrip().endswith("ok")


def test_cancelling_an_async_call_stops_its_requests() -> None:
    """`asyncio.wait_for` timing out aborts the Rust task: no request after."""
    import asyncio
    import time

    import appstats as aps

    with aps.Sandbox(latency=0.2, pages=400) as sb:
        bd = sb.baidu(concurrency=2)

        async def main() -> None:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(
                    bd.visit_page_async("2024-03-01", "2024-03-31", progress=False), 0.7
                )

        asyncio.run(main())
        at_cancel = sb.request_count()
        time.sleep(0.8)  # > latency: a request still in flight would have landed
        assert sb.request_count() <= at_cancel + 1  # at most one already on the wire
        assert at_cancel < 20  # far from the 20 pages of the whole report
