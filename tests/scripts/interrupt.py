"""Ctrl-C during a blocking fetch stuck on a slow reply (issue 12 §5).

Prints the seconds from the signal to the KeyboardInterrupt, then checks
that the client still works.
"""

import os
import signal
import threading
import time

import appstats as aps

# Python turns SIGINT into KeyboardInterrupt only if the parent left SIGINT
# alone; a parent started in the background by a non-interactive shell
# ignores it (POSIX), and so would this script. Ctrl-C in a terminal or
# Jupyter's interrupt always has the default handler: set it explicitly.
signal.signal(signal.SIGINT, signal.default_int_handler)

with aps.Sandbox() as sb:
    bd = sb.baidu(timeout=60)
    bd.region("2024-03-01", "2024-03-01", progress=False)  # token cached
    sb.inject("delay", 30, provider="baidu", times=1)
    sent: list[float] = []

    def interrupt() -> None:
        time.sleep(1.0)
        sent.append(time.perf_counter())
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    try:
        bd.region("2024-03-01", "2024-03-31", progress=False)
    except KeyboardInterrupt:
        print(f"interrupted after {time.perf_counter() - sent[0]:.3f}")
    else:
        raise SystemExit("not interrupted")
    assert bd.region("2024-03-01", "2024-03-31", progress=False).height > 0
    print("ok")
