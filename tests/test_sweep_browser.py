"""The Sweep view in a real Chromium against a real Streamlit server: the map is drawn, a click on a cell lists
that cell's runs, and a run's button opens it as a recorded run."""

from __future__ import annotations

import pytest

from browser_support import CHART, CHROMIUM_ARGS, IDLE, SCREENSHOTS, chromium, open_page, streamlit_server, \
    wait_until
from test_sweep_view import _hand_made

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")]
playwright_api = pytest.importorskip("playwright.sync_api")

RUN_BUTTONS = "[class*='st-key-sweep-run-'] button"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("logs")
    _hand_made(root / "s", {(0.001, 0.001, 0): 1.5, (0.001, 0.001, 1): 2.5, (10.0, 0.01, 0): 9.0})
    with streamlit_server({"GANCORE_REFRESH": "1", "GANCORE_LOGDIR": str(root)}) as url:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            yield browser, url
            browser.close()


def test_a_click_on_a_cell_lists_its_runs_and_one_opens_as_a_recorded_run(server):
    browser, url = server
    page = open_page(browser, f"{url}/?sweep=s")
    page.wait_for_selector(CHART)
    page.wait_for_selector(IDLE)
    first = dict.fromkeys(t.split(" · ")[0] for t in page.locator(RUN_BUTTONS).all_inner_texts())
    assert list(first) == ["lr_d=0.001,lr_g=0.001,seed=0", "lr_d=0.001,lr_g=0.001,seed=1"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "sweep-view.png"), full_page=True)
    box = page.locator(f"{CHART} text", has_text="9 (9-9)").first.bounding_box()  # the cell lr_d=10 x lr_g=0.01
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # where a user clicks, not the text
    wait_until(lambda: page.locator(RUN_BUTTONS).first.inner_text().startswith("lr_d=10,lr_g=0.01,seed=0"),
               message="the clicked cell's runs listed")
    page.locator(RUN_BUTTONS).first.click()
    page.wait_for_url("**/?dir=s%2F*")
    page.get_by_text("recorded run").first.wait_for()
    assert page.get_by_role("button", name="Back to sweep s").count() == 1
