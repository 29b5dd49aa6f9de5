"""A class in real browsers: one instructor, several students, one run (Debian's Chromium, `streamlit run`).

The server runs in classroom mode with a fixed instructor key. The instructor starts the default preset;
students open the plain address in their own browser contexts (their own sessions) and watch the step
counter advance with no control on their page; a student who opens the run's token URL cannot pause it;
the instructor's reset reaches every student. Outside classroom mode a watch link is read-only and never
shows the control link. Screenshots of the instructor's presenter view and a student's page at projector
size (1600x1000) are saved to artifacts/screenshots/.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from browser_support import CHART, COUNTER, IDLE, SCREENSHOTS, chromium, counter, open_page, streamlit_server, \
    wait_until

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(chromium() is None, reason="Debian's chromium is not installed")]

KEY = "class-key-123"
# Five pages drawing live charts share two cores with the server here: a click waited 24 s for a page's
# main thread (measured), so actions get 90 s, and the pages redraw every 2 s, not every second.
SLOW = 90_000
CONTROLS = ("start", "pause", "step", "reset", "lr_g", "lr_d", "loss")


# One read in the page (not a Playwright call per element: on 2 busy cores each of those took seconds).
ENABLED = """keys => keys.filter(key => [...document.querySelectorAll(
    `.st-key-${key} button, .st-key-${key} input, .st-key-${key} [role=slider]`)].some(element =>
    !element.disabled && !element.closest("[aria-disabled='true'], fieldset:disabled")))"""


def enabled_controls(page) -> list[str]:
    """The control keys that have at least one enabled button, input or slider on `page`."""
    return page.evaluate(ENABLED, list(CONTROLS))


def test_a_class_watches_the_instructors_run_and_cannot_touch_it(browser) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    env = {"GANCORE_CLASSROOM": "1", "GANCORE_INSTRUCTOR_KEY": KEY, "GANCORE_REFRESH": "2", "OMP_NUM_THREADS": "1"}
    errors: list[str] = []
    with streamlit_server(env) as url:
        early = open_page(browser, f"{url}/", errors, SLOW)
        early.get_by_text("Waiting for the instructor").wait_for()
        teacher = open_page(browser, f"{url}/?key={KEY}&preset=mode-hopping&steps=0", errors, SLOW)
        teacher.wait_for_selector(CHART, timeout=90_000)
        teacher.wait_for_selector(IDLE)
        teacher.locator(".st-key-start button").first.click(no_wait_after=True)
        wait_until(lambda: counter(teacher) > 0, message="the instructor's run training")
        early.wait_for_selector(COUNTER, timeout=60_000)  # the waiting page turned live by itself
        students = [early] + [open_page(browser, f"{url}/", errors, SLOW) for _ in range(2)]
        for student in students:
            student.wait_for_selector(COUNTER, timeout=60_000)
            seen = counter(student)
            wait_until(lambda: counter(student) > seen, message="a student's step counter advancing")
            assert enabled_controls(student) == []
            assert student.locator(".st-key-copy button").first.is_enabled()  # make my own copy
        token = teacher.evaluate("new URLSearchParams(location.search).get('run')")
        crafted = open_page(browser, f"{url}/?run={token}", errors, SLOW)
        crafted.wait_for_selector(COUNTER, timeout=60_000)
        assert enabled_controls(crafted) == []
        crafted.context.close()  # it has shown what it had to; four pages drawing every second starve the rest
        before = counter(teacher)
        wait_until(lambda: counter(teacher) > before, message="training going on after a crafted visit")
        students[1].screenshot(path=str(SCREENSHOTS / "classroom-student.png"))
        teacher.locator(".st-key-reset button").first.click(no_wait_after=True)
        for student in students:
            wait_until(lambda: counter(student) < 50 or "ready" in student.locator("[data-testid='stMetric']").first
                       .inner_text(), message="a student seeing the instructor's reset")
        try:
            teacher.locator(".st-key-presenter label").first.click(no_wait_after=True, timeout=90_000)
        except PlaywrightTimeout:
            teacher.screenshot(path=str(SCREENSHOTS / "classroom-teacher-after-reset.png"))
            raise AssertionError("no presenter toggle on the instructor's page after Reset; it shows:\n"
                                 + teacher.locator("body").inner_text()[:3000]) from None
        teacher.wait_for_selector(".st-key-chart-present-heatmap, .st-key-present-heatmap", timeout=60_000)
        teacher.wait_for_timeout(1500)
        teacher.screenshot(path=str(SCREENSHOTS / "classroom-presenter.png"))
        assert not teacher.locator("section[data-testid='stSidebar']").is_visible()
    assert errors == []  # e.g. "Cannot set a node at a delta path": a page gone blank


def test_outside_a_class_a_watch_link_is_read_only(browser) -> None:
    with streamlit_server({"GANCORE_REFRESH": "1", "OMP_NUM_THREADS": "1"}) as url:
        owner = open_page(browser, f"{url}/?preset=gauss1d")
        owner.wait_for_selector(CHART, timeout=90_000)
        wait_until(lambda: "ctl=" in owner.url, message="the owner's control key in the address bar")
        assert set(CONTROLS) <= set(enabled_controls(owner))
        token = owner.evaluate("new URLSearchParams(location.search).get('run')")
        control = owner.evaluate("new URLSearchParams(location.search).get('ctl')")
        watcher = open_page(browser, f"{url}/?run={token}")
        watcher.wait_for_selector(COUNTER, timeout=60_000)
        assert enabled_controls(watcher) == []
        watcher.get_by_role("tab", name="Share & export").click()
        watcher.get_by_text("Watch this run live").first.wait_for()
        assert control not in watcher.content()
