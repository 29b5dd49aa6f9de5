"""End to end in a real browser: Debian's Chromium, driven by Playwright, against `streamlit run`.

One server and one page for the module (about a minute in all): the page opens ready, Start makes the
step counter and the charts advance, a learning-rate change mid-run puts a marker on the charts while
training goes on, a reload finds the same run, and the Theory tab works. Screenshots are saved to
artifacts/screenshots/ (dashboard.png is the README's picture).

The server runs with GANCORE_REFRESH=1 (live ticks every second: the ticking is what we test, and faster
ticks make every Playwright action slower) and OMP_NUM_THREADS=1 like the other tests (conftest.py):
on a shared 2-core machine two torch threads run several times slower than one.
"""

from __future__ import annotations

import re
import time

import pytest

from browser_support import CHART, CHROMIUM_ARGS, CONNECTED, IDLE, SCREENSHOTS, chromium, step_number, \
    streamlit_server

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")]
playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

COUNTER = ".st-key-step-counter"
LOSSES = ".st-key-chart-losses .js-plotly-plot"


@pytest.fixture(scope="module")
def server():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server({"GANCORE_REFRESH": "1", "OMP_NUM_THREADS": "1"}) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.set_default_timeout(30_000)
        page.goto(f"{server}/?preset=mode-hopping&steps=0")  # never finishes, however fast the machine
        page.wait_for_selector(CONNECTED, timeout=90_000)
        page.wait_for_selector(CHART, timeout=90_000)
        yield page
        browser.close()


def counter(page) -> int:
    return step_number(page.locator(COUNTER).first.inner_text())


def last_plotted_step(page) -> float:
    """The largest step the losses chart draws (0 before any data)."""
    return page.evaluate("""(sel) => { const gd = document.querySelector(sel);
        if (!gd || !gd._fullData || !gd._fullData.length || !gd._fullData[0].x) return 0;
        const x = gd._fullData[0].x; return x.length ? x[x.length - 1] : 0; }""", LOSSES)


def wait_until(predicate, timeout: float = 30.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{message} not reached in {timeout} s"
        time.sleep(0.2)


def click(page, key: str) -> None:
    page.wait_for_selector(IDLE)
    page.locator(f".st-key-{key} button").first.click()


def ensure_running(page) -> None:
    if "running" not in page.locator("[data-testid='stMetric']").first.inner_text():
        click(page, "start")
    start = counter(page)
    wait_until(lambda: counter(page) > start, message="the step counter moving")


def test_page_opens_ready_to_start(page) -> None:
    expect(page.locator(COUNTER)).to_contain_text("0")
    assert counter(page) == 0
    assert "ready" in page.locator("[data-testid='stMetric']").first.inner_text()
    assert "run=" in page.url and "preset=" in page.url  # the run's token and settings are in the link
    assert page.locator(CHART).count() >= 6
    page.screenshot(path=str(SCREENSHOTS / "ready.png"))


def test_start_advances_the_step_counter_and_the_charts(page) -> None:
    click(page, "start")
    expect(page.locator(COUNTER)).not_to_have_text(re.compile(r"Step\s*0\s*$"), timeout=30_000)
    first_count, first_plot = counter(page), last_plotted_step(page)
    wait_until(lambda: counter(page) > first_count + 20, message="the counter advancing")
    wait_until(lambda: last_plotted_step(page) > first_plot + 20, message="the losses chart advancing")
    assert counter(page) > 0


def modes_with_a_fair_share(page) -> int:
    text = page.locator("[data-testid='stMetric']", has_text="Modes with a fair share").first.inner_text()
    found = re.search(r"(\d+)\s*/\s*\d+", text)
    return int(found.group(1)) if found else 0


def test_full_dashboard_screenshot_after_some_training(page) -> None:
    """The README's picture: the default preset after 10-20 s of training (sooner once a mode is held)."""
    ensure_running(page)
    deadline = time.monotonic() + 12
    while modes_with_a_fair_share(page) < 1 and time.monotonic() < deadline:
        time.sleep(0.5)
    page.set_viewport_size({"width": 1920, "height": 1400})
    freeze = page.locator(".st-key-freeze input")
    freeze.check(force=True)  # "Pause live view": a still page, every chart drawn (training goes on)
    page.wait_for_selector(IDLE)
    expect(page.get_by_role("tabpanel", name="Live").locator(CHART)).to_have_count(8)
    page.mouse.move(1900, 1390)  # no tooltip in the picture
    page.evaluate("() => document.querySelector('[data-testid=stSidebarContent]').scrollTo(0, 0)")
    page.wait_for_timeout(1500)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"))
    frozen = counter(page)
    page.wait_for_timeout(1500)
    assert counter(page) == frozen  # the view is paused...
    freeze.uncheck(force=True)
    wait_until(lambda: counter(page) > frozen, message="the live view resuming")  # ...training was not
    page.set_viewport_size({"width": 1920, "height": 1080})


def test_learning_rate_change_mid_run_marks_the_charts_and_training_continues(page) -> None:
    ensure_running(page)
    page.wait_for_selector(IDLE)
    slider = page.locator(".st-key-lr_d input[type=range]")
    before = slider.get_attribute("aria-valuetext")
    slider.focus()
    page.keyboard.press("ArrowLeft")  # one stop down the log scale: 1e-3 -> 5e-4
    expect(slider).not_to_have_attribute("aria-valuetext", before)
    expect(page).to_have_url(re.compile(r"lr_d=0\.0005"), timeout=30_000)
    marker = page.locator(f"{LOSSES} .annotation-text", has_text="lr_d")
    expect(marker.first).to_be_attached(timeout=30_000)
    for chart in ("critic", "gradients"):
        expect(page.locator(f".st-key-chart-{chart} .annotation-text", has_text="lr_d").first).to_be_attached()
    after_change = counter(page)
    wait_until(lambda: counter(page) > after_change + 20, message="training after the change")
    assert "running" in page.locator("[data-testid='stMetric']").first.inner_text()


def test_a_reload_keeps_the_run(page) -> None:
    ensure_running(page)
    url, before = page.url, counter(page)
    page.reload()
    page.wait_for_selector(CONNECTED, timeout=60_000)
    page.wait_for_selector(CHART, timeout=60_000)
    wait_until(lambda: counter(page) > before, message="the same run after a reload")
    assert page.url.split("run=")[1].split("&")[0] == url.split("run=")[1].split("&")[0]


def test_theory_tab(page) -> None:
    page.get_by_role("tab", name="Theory").click()
    panel = page.get_by_role("tabpanel", name="Theory")
    expect(panel.locator(".st-key-theory-losses .js-plotly-plot")).to_be_visible()
    expect(panel.locator(".st-key-theory-js-w1 .js-plotly-plot")).to_be_attached()
    expect(panel.get_by_text("Why the original generator loss stalls")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "theory.png"))
    click(page, "pause")
