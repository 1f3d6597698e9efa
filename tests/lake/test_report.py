"""`appstats report` / `aps.report`: one self-contained HTML page from a
sandbox sync of all three providers, opened from file:// in headless
chromium with every request outside file:// blocked and counted.

The browser is Debian's `chromium` (`make browser` installs it; CI runs as
root), driven by playwright; where it is missing the browser test skips
with a loud message.
"""

from __future__ import annotations

import csv
import io
import pathlib
import re
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import appstats as aps
from appstats.cli import main

pytest.importorskip("deltalake")
pytest.importorskip("vl_convert")

# a sync of all three providers for the module, chromium (make test-fast leaves it out)
pytestmark = pytest.mark.slow

REPORTS = [
    "baidu.user_trend",
    "baidu.retention_day",
    "baidu.region",
    "baidu.source",
    "mta.user_basic",
    "mta.retention",
    "tim.app_info",
]
CHARTS = [
    "dau",
    "new_users",
    "retention",
    "cohorts",
    "baidu_sources",
    "baidu_regions",
    "im_messages",
    "im_peak",
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Two apps per provider from 1 March; then a second run in which MTA's
    second app's key is rejected (its last run failed)."""
    root = tmp_path_factory.mktemp("report")
    with aps.Sandbox(apps=2, today="2024-04-01") as sb:
        cfg = aps.sync.sandbox_config(sb, root / "lake", start="2024-03-01", reports=REPORTS)
        aps.sync(cfg, today=sb.today, progress=False)
        # MTA's "wrong signature" for every request of the rerun: both MTA apps fail
        sb.inject("code", 10004, provider="mta", times=None)
        aps.sync(cfg, today=sb.today, progress=False)
    yield cfg


@pytest.fixture(scope="module")
def page(lake: Any, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("page") / "report.html"
    # 31 days: 1–31 March, IM's 1 March is a gap (it serves 30 days)
    return aps.report(lake, out, days=31)


def test_page_is_self_contained(page: pathlib.Path) -> None:
    text = page.read_text(encoding="utf-8")
    # no resource from the network: no src/href/url()/@import to http(s) or //
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert not re.search(r"""url\(\s*["']?\s*(https?:)?//|@import""", text, re.I)
    assert "fonts.googleapis" not in text and "cdn.jsdelivr" not in text
    assert "Noto Sans CJK SC" in text and "Microsoft YaHei" in text  # system CJK fonts
    head = text.split('<script type="application/json"', 1)[0]
    assert "2024-03-01 – 2024-03-31" in head
    # the failed MTA run and IM's gap, marked in the header
    assert re.search(r'class="badge failed">failed</span><b>mta1</b>', head)
    assert re.search(r'class="badge gap">gap</span><b>im1</b>', head)
    for chart in CHARTS:
        assert f'id="chart-{chart}"' in head, chart
    assert page.stat().st_size < 2_000_000


def test_cli_writes_the_page(lake: Any, tmp_path: pathlib.Path, capsys: Any) -> None:
    out = tmp_path / "sub" / "r.html"
    assert main(["report", "--lake", lake.uri, "-o", str(out), "--days", "7", "--apps", "im1"]) == 0
    assert "opens offline" in capsys.readouterr().err
    text = out.read_text(encoding="utf-8")
    assert "2024-03-25 – 2024-03-31" in text and 'value="im1"' in text
    assert 'value="program1"' not in text
    # an empty lake: one line, exit 2
    assert main(["report", "--lake", str(tmp_path / "none"), "-o", str(out)]) == 2
    assert "run `appstats sync` first" in capsys.readouterr().err


def test_days_checked(lake: Any, tmp_path: pathlib.Path) -> None:
    with pytest.raises(aps.InvalidArgument, match="days must be a positive integer"):
        aps.report(lake, tmp_path / "r.html", days=0)


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        msg = (
            "\n" + "!" * 72 + "\n!!! the report's BROWSER TEST IS SKIPPED: no chromium "
            "(`make browser` installs it as root)\n" + "!" * 72
        )
        print(msg, file=sys.stderr)
        pytest.skip(msg)
    pytest.importorskip("playwright", reason="pip install playwright")
    return exe


def _marks(page: Any, chart: str) -> int:
    """Drawn marks (SVG paths, rects, ...) of a chart with a non-empty shape."""
    js = """(id) => {
        const svg = document.querySelector('#plot-' + id + ' svg');
        if (!svg) return -1;
        return [...svg.querySelectorAll('.role-mark > path, .role-mark > g > path')]
            .filter((p) => (p.getAttribute('d') || '').length > 2).length;
    }"""
    return int(page.evaluate(js, chart))


def test_in_chromium(page: pathlib.Path, tmp_path: pathlib.Path) -> None:
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    external: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            size = {"width": 1280, "height": 900}
            ctx = browser.new_context(accept_downloads=True, viewport=size)
            tab = ctx.new_page()

            def route(r: Any) -> None:
                if r.request.url.startswith(("file:", "blob:", "data:")):
                    r.continue_()
                else:
                    external.append(r.request.url)
                    r.abort()

            ctx.route("**/*", route)
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            tab.on("pageerror", lambda e: errors.append(str(e)))
            tab.goto(page.as_uri())
            tab.wait_for_selector("body[data-ready='1']", timeout=30_000)

            for chart in CHARTS:
                assert _marks(tab, chart) > 0, f"{chart} is not drawn"
            # Chinese region names are in the drawn SVG, in the CJK font stack
            labels = tab.locator("#plot-baidu_regions svg text").all_text_contents()
            assert any(re.search(r"[\u4e00-\u9fff]", t) for t in labels), labels
            font = tab.evaluate("getComputedStyle(document.body).fontFamily")
            assert "Noto Sans CJK SC" in font

            # the app selector changes the charts (MTA's charts keep all apps)
            before = tab.inner_html("#plot-dau svg")
            regions = tab.inner_html("#plot-baidu_regions svg")
            tab.select_option("#app", "program2")
            tab.wait_for_selector("body[data-ready='1']")
            assert tab.inner_html("#plot-dau svg") != before
            assert tab.inner_html("#plot-baidu_regions svg") != regions
            assert tab.inner_text("#chart-dau .showing") == "program2"
            assert "has no such data" in tab.inner_text("#chart-im_peak .showing")
            assert _marks(tab, "dau") > 0

            # a chart's rows as CSV (every view, Chinese names in UTF-8)
            with tab.expect_download() as dl:
                tab.click("#chart-baidu_regions button.csv")
            got = dl.value
            assert got.suggested_filename == "baidu_regions.csv"
            text = pathlib.Path(got.path()).read_text(encoding="utf-8-sig")
            rows = list(csv.DictReader(io.StringIO(text)))
            assert list(rows[0]) == ["view", "region", "sessions"]
            assert {r["view"] for r in rows} == {"all apps", "program1", "program2"}
            assert any(re.search(r"[\u4e00-\u9fff]", r["region"]) for r in rows)
        finally:
            browser.close()
    assert external == [], f"external requests: {external}"
    assert errors == [], f"console errors: {errors}"
