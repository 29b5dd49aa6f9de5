"""Minutes of a class in real browsers: the instructor cycles tabs, the presenter view and every run button
while two students watch; no page may raise an error or go blank.

A page once went blank after Compare -> Share -> Live -> Reset -> Start ("Cannot set a node at a delta
path" in the console): a status fragment rerunning the app while sibling fragments had ticks in flight.
It did again after Start -> Reset on a loaded machine: a tick queued behind the full run kept a reference
to a cached picture whose blocks it dropped (test_page_wire.py; the server now sends no references).
The actions are drawn from a seeded generator, so a failure names a sequence that can be replayed;
GANCORE_CYCLE_SECONDS sets how long it cycles (one minute by default; bench/soak.py keeps a page open
for 30).
"""

from __future__ import annotations

import os
import random
import time

import pytest

from browser_support import CHART, CHROMIUM_ARGS, COUNTER, SCREENSHOTS, chromium, open_page, streamlit_server

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")]
playwright_api = pytest.importorskip("playwright.sync_api")

KEY = "cycle-key"
SECONDS = float(os.environ.get("GANCORE_CYCLE_SECONDS", "60"))  # the whole suite must fit CI's 30 minutes
HEADER = ".st-key-presenter"  # drawn by every full run of the page, in every view
TABS = ("Live", "Theory", "Compare", "Share & export")
BUTTONS = ("start", "pause", "step", "reset")


def act(page, action: str) -> None:
    """One instructor action; the presenter view is left before a tab is picked (it has no tabs)."""
    presenter = page.locator(f"{HEADER} input").first
    if action in TABS:
        if presenter.is_checked():
            page.locator(f"{HEADER} label").first.click(no_wait_after=True)
            page.get_by_role("tab", name="Live").first.wait_for(timeout=30_000)
        page.get_by_role("tab", name=action).first.click(no_wait_after=True)
    elif action == "presenter":
        page.locator(f"{HEADER} label").first.click(no_wait_after=True)
    else:
        button = page.locator(f".st-key-{action} button").first
        if button.is_visible() and button.is_enabled():  # in the presenter view there is no sidebar
            button.click(no_wait_after=True)


def test_cycling_tabs_and_controls_for_minutes_raises_no_page_error() -> None:
    errors: list[str] = []
    env = {"GANCORE_CLASSROOM": "1", "GANCORE_INSTRUCTOR_KEY": KEY, "GANCORE_REFRESH": "1",
           "OMP_NUM_THREADS": "1"}
    draw = random.Random(11)
    done: list[str] = []
    with streamlit_server(env) as url, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        teacher = open_page(browser, f"{url}/?key={KEY}&preset=mode-hopping&steps=0", errors)
        teacher.wait_for_selector(CHART, timeout=90_000)
        students = [open_page(browser, f"{url}/", errors) for _ in range(2)]
        teacher.locator(".st-key-start button").first.click(no_wait_after=True)
        deadline = time.monotonic() + SECONDS
        while time.monotonic() < deadline:
            action = draw.choice(TABS + BUTTONS + ("presenter",))
            try:
                act(teacher, action)
                done.append(action)
            except playwright_api.TimeoutError:  # a busy machine: a click that could not land is no error
                done.append(f"({action}: not clicked)")
            teacher.wait_for_timeout(draw.choice([200, 800, 2000]))
            try:
                teacher.wait_for_selector(HEADER, timeout=30_000)  # gone: the page went blank
            except playwright_api.TimeoutError:
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                teacher.screenshot(path=str(SCREENSHOTS / "cycling-blank.png"))
                raise AssertionError(f"no page header 30 s after {done}; page errors {errors}; the page shows:\n"
                                     + teacher.locator("body").inner_text()[:2000]) from None
            assert errors == [], f"page errors after {done}"
        for page in students + [teacher]:
            page.wait_for_selector(HEADER, timeout=30_000)
        for student in students:
            student.wait_for_selector(COUNTER, timeout=30_000)
        browser.close()
    assert sum(not a.startswith("(") for a in done) >= 10 and errors == []
