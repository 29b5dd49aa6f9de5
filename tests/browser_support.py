"""Helpers for the end-to-end tests: a real `streamlit run` server on a free port, Debian's Chromium
driven by Playwright, and the page states worth waiting for (see browser-testing.md)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
# No sandbox (root in a container), no GPU, and nothing that calls outside hosts on a closed network.
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHART = "[data-testid='stPlotlyChart'] .js-plotly-plot"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(env: dict[str, str] | None = None, timeout: float = 90.0) -> Iterator[str]:
    """`streamlit run dashboard/app.py` on a free local port; yields its URL, stops it afterwards."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    logs = ROOT / "artifacts"
    log = open(logs / "streamlit-server.log", "w") if logs.is_dir() else subprocess.DEVNULL
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"streamlit exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("streamlit did not answer its health check")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        if log is not subprocess.DEVNULL:
            log.close()


def step_number(text: str) -> int:
    """The step shown in the `step-counter` container ("Step\\n1234" -> 1234)."""
    digits = "".join(ch for ch in text.split("Step", 1)[-1] if ch.isdigit())
    return int(digits or 0)


COUNTER = ".st-key-step-counter"
PROJECTOR = {"width": 1600, "height": 1000}


def wait_until(predicate, timeout: float = 45.0, message: str = "condition") -> None:
    """Poll `predicate` (a page read) until it holds; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{message} not reached in {timeout} s"
        time.sleep(0.25)


def counter(page) -> int:
    return step_number(page.locator(COUNTER).first.inner_text())


# Text cut by its box (Streamlit ends it with "..."): the metrics of the status strip, their labels.
TRUNCATED = """() => [...document.querySelectorAll("[data-testid='stMetricValue'], [data-testid='stMetricValue'] *, "
    + "[data-testid='stMetricLabel'], [data-testid='stMetricLabel'] *")]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)"""


def truncated(page) -> list[str]:
    """The status strip's numbers and labels that do not fit their column on `page`."""
    return page.evaluate(TRUNCATED)


def open_page(browser, url: str, errors: list[str] | None = None, timeout: float = 30_000):
    """A page in its own browser context (its own Streamlit session) at projector size, connected; page
    errors (uncaught exceptions of the app's JavaScript) are appended to `errors` when given. `timeout`
    (ms) bounds each later action: several pages redrawing live charts on two cores answer slowly."""
    page = browser.new_context(viewport=PROJECTOR).new_page()
    if errors is not None:
        page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(timeout)
    page.goto(url)
    page.wait_for_selector(CONNECTED, timeout=90_000)
    return page
