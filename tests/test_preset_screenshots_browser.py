"""Every preset at its phenomenon, as a projector shows it: a real server, Debian's Chromium at 1600x1000.

Each preset is opened from its link, started (or its action pressed), switched to the presenter view, and
watched until the page itself says the phenomenon is showing; the screenshot is saved to
artifacts/screenshots/presets/ for a person to look at. The page must show the preset's named charts and
no page error on the way.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from browser_support import CHART, COUNTER, IDLE, SCREENSHOTS, chromium, open_page, streamlit_server, \
    truncated

from gancore.presets import PRESETS

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")]

SHOWING = "The preset's phenomenon is showing"


@pytest.fixture(scope="module")
def server():
    # a closed page's run is reaped at once, so the presets do not train side by side on 2 cores
    with streamlit_server({"GANCORE_GRACE": "1", "GANCORE_REFRESH": "1", "OMP_NUM_THREADS": "1"}) as url:
        yield url


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_each_preset_at_its_phenomenon_on_a_projector(server, browser, name: str) -> None:
    preset = PRESETS[name]
    errors: list[str] = []
    page = open_page(browser, f"{server}/?preset={name}", errors)
    try:
        page.wait_for_selector(CHART, timeout=90_000)
        page.wait_for_selector(IDLE, timeout=90_000)
        page.locator(f".st-key-{'action' if preset.action else 'start'} button").first.click(no_wait_after=True)
        page.wait_for_selector(COUNTER, timeout=60_000)
        assert truncated(page) == [], name  # beside the sidebar, every word of the strip fits its column
        page.locator(".st-key-presenter label").first.click(no_wait_after=True)
        page.get_by_text(SHOWING).first.wait_for(timeout=180_000)
        wanted = len(preset.charts) - ("samples" in preset.charts)  # the sample picture may be an image
        # the strip (and its banner) is drawn before the charts under it, and a new banner above them makes
        # Streamlit mount them again: count them in the browser at a moment they are all there
        count = f"document.querySelectorAll({CHART!r}).length"
        try:
            drawn = page.wait_for_function(f"{count} >= {wanted} && {count}", timeout=60_000).json_value()
        except PlaywrightTimeout:
            drawn = page.evaluate(count)
        assert drawn >= wanted, f"{name}: {drawn} charts for {preset.charts}"
        page.wait_for_function(f"{count} >= {wanted}", timeout=60_000)  # the screenshot shows them too
        (SCREENSHOTS / "presets").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "presets" / f"{name}.png"))
        assert truncated(page) == [], name
        assert not errors, errors
    finally:
        page.context.close()
