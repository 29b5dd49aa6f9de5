"""Soak: the dashboard with one preset training in headless Chromium for `--minutes`; is it flat?

Starts `streamlit run dashboard/app.py`, opens the preset's page, presses Start and measures a window at the
start and one at the end: the server's RSS (/proc), the page's JS heap after a forced collection (Chrome
DevTools Protocol, Performance.getMetrics) and how often the step counter changes on screen (updates/s) and by
how much (steps/s). Between them, memory is sampled every `--every` minutes: the run's bounded store and the
charts' data fill during the first minutes, so growth that stops once they are full is not a leak; growth that
goes on at the same rate is.

    python bench/soak.py --minutes 30
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from common import table, write_json
from viewers import server_pid

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import CHART, CHROMIUM_ARGS, IDLE, chromium, counter, open_page, streamlit_server  # noqa: E402

from gancore.presets import DEFAULT_PRESET  # noqa: E402

POLL = 0.2  # seconds between reads of the counter: well under the page's 1 s refresh


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def heap_mb(cdp, readings: int = 3) -> float:
    """The page's JS heap after a forced collection (what is still held, not what waits for the collector),
    the least of a few readings half a second apart: a reading taken while a refresh builds its figures
    counts them too (one such reading was 51 MB between two of 40)."""
    held = []
    for i in range(readings):
        if i:
            time.sleep(0.5)
        cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        held.append(metrics["JSHeapUsedSize"] / 2**20)
    return min(held)


def window(pid: int, page, cdp, seconds: float) -> dict[str, float]:
    """Memory at the window's start, and the counter's changes per second over it."""
    row = {"server_rss_mb": rss_mb(pid), "js_heap_mb": heap_mb(cdp)}
    start = time.monotonic()
    first = last = counter(page)
    changes = 0
    while time.monotonic() - start < seconds:
        time.sleep(POLL)
        now = counter(page)
        changes += now != last
        last = now
    wall = time.monotonic() - start
    return {**row, "updates_per_s": changes / wall, "steps_per_s": (last - first) / wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=30.0, help="how long the page stays open (default 30)")
    p.add_argument("--window", type=float, default=30.0, help="seconds of each measurement window")
    p.add_argument("--every", type=float, default=2.0, help="minutes between memory samples (default 2)")
    p.add_argument("--preset", default=DEFAULT_PRESET, help="preset to open (default: the page's default)")
    p.add_argument("--json", help="also write the results to this JSON file")
    args = p.parse_args()
    if args.minutes * 60 < 2 * args.window:
        p.error("--minutes must leave room for two windows")
    from playwright.sync_api import sync_playwright

    with streamlit_server() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        errors: list[str] = []
        page = open_page(browser, f"{url}/?preset={args.preset}", errors)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        page.wait_for_selector(CHART, timeout=120_000)
        page.wait_for_selector(IDLE, timeout=120_000)
        page.locator(".st-key-start button").first.click(no_wait_after=True)
        began = time.monotonic()
        while counter(page) == 0 and time.monotonic() - began < 120:
            time.sleep(POLL)
        first = window(pid, page, cdp, args.window)
        samples = []
        end = began + args.minutes * 60 - args.window
        while (wake := min(end, time.monotonic() + args.every * 60)) < end:
            time.sleep(max(0.0, wake - time.monotonic()))
            samples.append({"minute": (time.monotonic() - began) / 60, "server_rss_mb": rss_mb(pid),
                            "js_heap_mb": heap_mb(cdp), "step": counter(page)})
            print(f"  minute {samples[-1]['minute']:5.1f}: server {samples[-1]['server_rss_mb']:6.1f} MB, "
                  f"page heap {samples[-1]['js_heap_mb']:5.1f} MB, step {samples[-1]['step']}", flush=True)
        time.sleep(max(0.0, end - time.monotonic()))
        last = window(pid, page, cdp, args.window)
        browser.close()
    keys = ("server_rss_mb", "js_heap_mb", "updates_per_s", "steps_per_s")
    rows = [[k, f"{first[k]:.2f}", f"{last[k]:.2f}", f"{last[k] / first[k]:.2f}" if first[k] else "-"] for k in keys]
    print(table(["measure", "start", "end", "end/start"], rows,
                f"soak: preset {args.preset}, {args.minutes:g} min, windows of {args.window:g} s; "
                f"page errors: {len(errors)}"))
    write_json(args.json, {"minutes": args.minutes, "preset": args.preset, "start": first, "end": last,
                           "samples": samples, "page_errors": errors})


if __name__ == "__main__":
    main()
