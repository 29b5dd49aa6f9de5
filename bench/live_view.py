"""What watching costs: training steps/s with the dashboard open in headless Chromium (default refresh)
against the same run with no page open (target >= 0.9); the latency from a step being logged to its value
being visible in the browser (target p95 <= 1.5 s at a 1 s refresh); and the bytes sent to the browser per
refresh (target <= 150 kB), counted by a TCP proxy between Chromium and the server (what travels on the
wire, websocket compression included).

Rates come from the engine's own clock: the page shows the step and the server time at which it was logged
("logged 14:02:03.412"), so steps / (difference of logged times) is exact whether or not a page was open
in between. Needs Debian's chromium and Playwright (as the browser tests do).

    python bench/live_view.py [--rounds 3 --seconds 20]
"""

from __future__ import annotations

import datetime as dt
import select
import socket
import statistics
import sys
import threading
import time
from pathlib import Path

from common import parser, table, write_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import CHART, CHROMIUM_ARGS, CONNECTED, IDLE, chromium, free_port, step_number, \
    streamlit_server  # noqa: E402

COUNTER, LOGGED = ".st-key-step-counter", ".st-key-logged-at"


class Proxy:
    """Forwards local TCP connections to the server and counts the bytes it sends back."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.port = free_port()
        self.down = 0  # server -> browser bytes
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            client, _ = self._server.accept()
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, client: socket.socket, upstream: socket.socket) -> None:
        sockets = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 1.0)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    if s is upstream:
                        self.down += len(data)
                        client.sendall(data)
                    else:
                        upstream.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()


def logged_epoch(text: str) -> float:
    """'logged 14:02:03.412' (server clock, today) -> seconds since the epoch."""
    clock = dt.datetime.strptime(text.split("logged", 1)[1].strip(), "%H:%M:%S.%f").time()
    return dt.datetime.combine(dt.date.today(), clock).timestamp()


def reading(page) -> tuple[int, float]:
    """(step shown, server time it was logged), read together."""
    step = step_number(page.locator(COUNTER).first.inner_text())
    return step, logged_epoch(page.locator(LOGGED).first.inner_text())


WATCH = """(sel) => { window.__seen = []; const box = document.querySelector(sel);
  new MutationObserver(() => window.__seen.push([Date.now() / 1000, box.innerText]))
    .observe(box, {subtree: true, childList: true, characterData: true}); }"""


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(rounds=3, seconds=20.0)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright
    rates_open, rates_closed, latencies, per_refresh = [], [], [], []
    with streamlit_server({"GANCORE_REFRESH": "1"}) as url, sync_playwright() as pw:
        proxy = Proxy(int(url.rsplit(":", 1)[1]))
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(f"http://127.0.0.1:{proxy.port}/?preset=mode-hopping&steps=0")  # the default, never ending
        page.wait_for_selector(CONNECTED)
        page.wait_for_selector(CHART)
        page.wait_for_selector(IDLE)
        page.locator(".st-key-start button").first.click()
        time.sleep(5)  # warm up: first evaluations, first frames
        page.wait_for_selector(LOGGED)
        watched = page.url  # holds ?run=<token>: the same run after reopening
        for _ in range(args.rounds):
            # A: the page is open on the live view
            page.evaluate(WATCH, LOGGED)
            s0, t0 = reading(page)
            bytes0, wall0 = proxy.down, time.monotonic()
            time.sleep(args.seconds)
            s1, t1 = reading(page)
            bytes1, wall1 = proxy.down, time.monotonic()
            rates_open.append((s1 - s0) / (t1 - t0))
            per_refresh.append((bytes1 - bytes0) / (wall1 - wall0))  # the live view refreshes once a second
            latencies += [seen - logged_epoch(text) for seen, text in page.evaluate("window.__seen")
                          if "logged" in text]
            # B: no page open (the run keeps training: a lease is released, the grace period is 60 s)
            s0, t0 = reading(page)
            page.goto("about:blank")
            time.sleep(args.seconds)
            page.goto(watched)
            page.wait_for_selector(LOGGED)
            time.sleep(2)
            s1, t1 = reading(page)
            rates_closed.append((s1 - s0) / (t1 - t0))
        browser.close()
    ratios = [a / b for a, b in zip(rates_open, rates_closed)]
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    rows = [["steps/s, page open (live view)", f"{statistics.median(rates_open):.1f}", ""],
            ["steps/s, no page open", f"{statistics.median(rates_closed):.1f}", ""],
            ["ratio open / closed (median, range)", f"{statistics.median(ratios):.2f} "
             f"({min(ratios):.2f}-{max(ratios):.2f})", ">= 0.9"],
            ["latency logged -> visible, median", f"{statistics.median(latencies):.2f} s", ""],
            [f"latency p95 ({len(latencies)} updates)", f"{p95:.2f} s", "<= 1.5 s"],
            ["bytes to the browser per refresh (1 s)", f"{statistics.median(per_refresh) / 1e3:.0f} kB",
             "<= 150 kB"]]
    print(table(["live view (default preset, 1 s refresh)", "measured", "target"], rows,
                f"Cost of watching live, {args.rounds} rounds of {args.seconds:g} s"))
    write_json(args.json, {"rates_open": rates_open, "rates_closed": rates_closed, "latencies": latencies,
                           "bytes_per_refresh": per_refresh})


if __name__ == "__main__":
    main()
