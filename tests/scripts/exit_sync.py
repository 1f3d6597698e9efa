"""Blocking calls with a progress callback and logging on."""

import logging

logging.basicConfig(level=logging.DEBUG)

import appstats as aps  # noqa: E402

with aps.Sandbox() as sb:
    n = 0

    def cb(done: int, total: int) -> None:
        global n
        n += 1

    assert sb.mta().retention("2024-03-01", "2024-03-31", progress=cb).height > 0
    assert sb.baidu().user_trend("2024-03-01", "2024-03-03", gran="hour", progress=cb).height
    assert n > 0
