"""The report in a real browser: Debian's headless Chromium, driven by Playwright.

It loads with no console error and no request beyond the file itself, draws one
history chart per benchmark, and leaves a screenshot. Where Chromium is missing the
test skips, unless XETRACK_REQUIRE_CHROMIUM=1 (CI sets it): a check that could not
run must not read as a pass. XETRACK_REPORT_SCREENSHOT=PATH also saves the
screenshot there (docs/report.png in the README is made so).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import report_history
from report_history import make_history

from xetrack.report import build

CHROMIUM = os.environ.get("XETRACK_CHROMIUM", report_history.CHROMIUM)
FLAGS = report_history.CHROMIUM_FLAGS
#: how long a launch, a load or a wait for a chart may take: Playwright's 30 s
#: default can run out for Chromium on a loaded 2-core CI runner
SLOW_MACHINE_MS = 180_000


def _browser_or_skip() -> None:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -e '.[dev]')"
    if missing is None:
        return
    if os.environ.get("XETRACK_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"XETRACK_REQUIRE_CHROMIUM=1 but {missing}")
    pytest.skip(missing)


def test_the_report_opens_offline_in_chromium_with_a_chart_per_benchmark(
    tmp_path: Path,
) -> None:
    _browser_or_skip()
    from playwright.sync_api import sync_playwright

    db, repo = tmp_path / "b.db", tmp_path / "repo"
    make_history(db, repo)
    out = build(db, tmp_path / "report.html", repo=repo)
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a new, empty user-data dir
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 900},
            timeout=SLOW_MACHINE_MS,
        )
        try:
            context.set_default_timeout(SLOW_MACHINE_MS)
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on(
                "console",
                lambda m: problems.append(m.text) if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(out.resolve().as_uri(), wait_until="load")
            # the charts in view are drawn at once, the others as they scroll in
            page.wait_for_selector(".history-chart[data-drawn] .js-plotly-plot")
            drawn = page.evaluate("window.xetrackDrawAll()")
            charts = page.locator(".history-chart .js-plotly-plot").count()
            metric_charts = page.locator(".history-chart").count()
            rows = page.locator("#comparison tbody tr").count()
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            # the filters: a name search hides the other benchmarks' charts
            page.fill("#search", "test_regress")
            visible = page.locator(".history-chart:not(.hidden)").count()
            page.fill("#search", "")
            # sorting by ratio, largest first, puts the regression (x2) first and
            # the rows without a ratio last
            page.click("#comparison th:nth-child(5)")
            page.click("#comparison th:nth-child(5)")
            order = page.locator("#comparison tbody tr").all_inner_texts()
        finally:
            context.close()
    assert problems == []
    assert requests == [out.resolve().as_uri()]
    assert charts == metric_charts == 8  # 7 timings and one declared metric
    assert drawn == 10  # and the two distributions
    assert rows == 8 and visible == 1
    assert "test_regress" in order[0] and "new" in order[-1]
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("XETRACK_REPORT_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)
