"""Open HTML files from file:// in headless chromium with every request
outside file:// blocked and counted; exit 1 when any page made one.

    python tests/scripts/offline_check.py site/index.html site/notebooks/metrics/index.html

`make docs-offline` runs it over the built docs site (after `make docs`).
Uses Debian's chromium (`make browser` installs it) through playwright;
where there is no chromium it says so loudly and exits 0.
"""

from __future__ import annotations

import pathlib
import shutil
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Route

LOCAL = ("file:", "data:", "blob:", "about:")


def chromium() -> str | None:
    """The system's chromium, or ``None``."""
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _blocker(external: list[str]) -> Callable[[Route], None]:
    """A route handler: file:// (and data:, blob:) through, the rest aborted
    and counted."""

    def route(r: Route) -> None:
        if r.request.url.startswith(LOCAL):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    return route


def check(paths: list[pathlib.Path], exe: str) -> dict[str, list[str]]:
    """Per page: the external URLs it asked for (blocked)."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            for path in paths:
                external: list[str] = []
                page = browser.new_page()
                page.route("**/*", _blocker(external))
                page.goto(path.resolve().as_uri(), wait_until="load")
                page.wait_for_timeout(500)  # scripts that fetch after load
                page.close()
                out[str(path)] = external
        finally:
            browser.close()
    return out


def main(argv: list[str]) -> int:
    paths = [pathlib.Path(a) for a in argv]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"offline_check: no such page: {', '.join(missing)}", file=sys.stderr)
        return 2
    exe = chromium()
    if exe is None:
        bar = "!" * 72
        print(
            f"{bar}\n!!! offline_check SKIPPED: no chromium (make browser installs it)\n{bar}",
            file=sys.stderr,
        )
        return 0
    bad = 0
    for page, external in check(paths, exe).items():
        print(f"{page}: {len(external)} external requests")
        for url in external:
            print(f"    blocked: {url}")
        bad += len(external)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
