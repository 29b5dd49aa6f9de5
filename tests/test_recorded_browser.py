"""Recorded runs in a real Chromium against a real Streamlit server: a finished command-line run opens at its
final step with its charts drawn and scrubs back to an earlier picture; a command-line run training in
another process is followed (its step counter advances as its files grow); a live run recorded from its own
page is followed from another browser session."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import pytest

from browser_support import CHART, CHROMIUM_ARGS, CONNECTED, IDLE, chromium, open_page, streamlit_server
from test_browser import COUNTER, counter, last_plotted_step  # the live page's counter and curves: the same

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")]
playwright_api = pytest.importorskip("playwright.sync_api")

SMALL = ["--width", "32", "--depth", "2", "--latent-dim", "4", "--batch-size", "64", "--device", "cpu",
         "--no-progress"]
SAMPLES_TITLE = ".st-key-chart-samples .gtitle"


def _train(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gancore", "train", *SMALL, *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_until(predicate, timeout: float = 60.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{message} not reached in {timeout} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("logs")
    finished = _train("--steps", "120", "--eval-every", "40", "--out", str(root / "finished"))
    assert finished.wait(180) == 0, finished.stderr.read()
    return root


@pytest.fixture(scope="module")
def page(logdir):
    with streamlit_server({"GANCORE_REFRESH": "1", "OMP_NUM_THREADS": "1", "GANCORE_LOGDIR": str(logdir)}) as url:
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(30_000)
            page.server = url
            yield page
            browser.close()


def test_a_finished_run_opens_at_its_last_step_and_scrubs_back(page):
    page.goto(f"{page.server}/?dir=finished")
    page.wait_for_selector(CONNECTED, timeout=90_000)
    page.wait_for_selector(COUNTER, timeout=60_000)
    wait_until(lambda: counter(page) == 120, message="the final step on the counter")
    wait_until(lambda: page.locator(CHART).count() >= 4, message="the charts drawn")
    assert last_plotted_step(page) == 120  # the losses curve runs to the run's last row
    assert page.locator(SAMPLES_TITLE).first.text_content() == "Samples at step 120"
    page.wait_for_selector(IDLE)
    page.locator("[class*='st-key-scrub-'] input[type='range']").first.press("Home", no_wait_after=True)
    wait_until(lambda: counter(page) < 120, message="the scrubbed step on the counter")
    step = counter(page)
    wait_until(lambda: page.locator(SAMPLES_TITLE).first.text_content() != "Samples at step 120",
               message="the picture of an earlier step")
    shown = int(re.search(r"step (\d+)", page.locator(SAMPLES_TITLE).first.text_content()).group(1))
    assert shown <= step < 120
    assert last_plotted_step(page) == 120  # the curves keep their whole history


def test_a_run_training_in_another_process_is_followed(page, logdir):
    writer = _train("--steps", "0", "--out", str(logdir / "live"))  # until interrupted
    try:
        wait_until(lambda: (logdir / "live" / "metrics.csv").is_file() and
                   (logdir / "live" / "metrics.csv").stat().st_size > 0, 120, "the run's first rows")
        page.goto(f"{page.server}/?dir=live")
        page.wait_for_selector(CONNECTED, timeout=90_000)
        page.wait_for_selector(COUNTER, timeout=60_000)
        wait_until(lambda: counter(page) > 0, message="a first step on the counter")
        first = counter(page)
        wait_until(lambda: counter(page) > first, message="the step counter advancing")
        assert "running" in page.locator("[data-testid='stMetric']").first.inner_text()
    finally:
        writer.send_signal(signal.SIGINT)  # the command pauses, writes its summary and exits
        writer.wait(120)


def test_a_live_run_recorded_from_its_page_is_followed_from_another(page, logdir):
    """The owner presses Record, then Start; another browser session opens the new directory from the
    log directory and follows it as it grows."""
    before = {p.name for p in logdir.iterdir()}
    page.goto(f"{page.server}/?preset=mode-hopping&steps=0")
    page.wait_for_selector(CONNECTED, timeout=90_000)
    page.wait_for_selector(IDLE, timeout=60_000)
    page.locator(".st-key-record button").first.click()
    wait_until(lambda: {p.name for p in logdir.iterdir()} - before, message="the recording's directory")
    (name,) = {p.name for p in logdir.iterdir()} - before
    assert name.startswith("mode-hopping-")
    page.wait_for_selector("text=Stop recording")
    page.locator(".st-key-start button").first.click()
    follower = open_page(page.context.browser, f"{page.server}/?dir={name}")
    try:
        follower.wait_for_selector(COUNTER, timeout=60_000)
        wait_until(lambda: counter(follower) > 0, message="a first recorded step on the follower")
        first = counter(follower)
        wait_until(lambda: counter(follower) > first, message="the follower's counter advancing")
        assert "running" in follower.locator("[data-testid='stMetric']").first.inner_text()
    finally:
        follower.context.close()
        page.locator(".st-key-pause button").first.click()
