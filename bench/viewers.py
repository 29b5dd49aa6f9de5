"""What a class costs the server: 1, 2, 4 and 8 student pages (headless Chromium, each its own browser
context, i.e. its own Streamlit session) watching one featured run in classroom mode at the default 1 s
refresh, then 1, 8 and 30 protocol clients (protocol_viewers.py: Streamlit's websocket, nothing drawn).

For each count: training steps/s (from the engine's clock on the page, as live_view.py reads it; the
clients' wall clock), the CPU seconds per second of the server process outside the training thread
(per-thread CPU from /proc, so the viewers' own CPU is not counted; the training thread is the one that
burns CPU while no page is open), the training thread's CPU share, the refreshes the viewers really drew
(each page counts the changes of its "logged" stamp; each client its finished fragment runs), the
server's CPU per refresh drawn (less what it spends with no page open), and the bytes per refresh (of the
first page, the only one behind a TCP proxy; of every client). The cost per viewer is the server's CPU
per refresh drawn: at the 1 s refresh that is its CPU per viewer per second, extrapolated to 30 and 100
viewers. The viewers take CPU from training: steps per second of the training thread's own CPU
(steps/s / its CPU share) takes that out of the comparison.

Why both: on 2 shared cores eight Chromium pages, each redrawing every Plotly chart per refresh, draw every
5-10 s, not every second, so they rarely meet on one snapshot version and a page that draws less asks the
server for less. The clients refresh every second as students' own laptops would, so their table is the
one that says what 30 students cost.

    python bench/viewers.py [--seconds 12] [--counts 1 2 4 8] [--clients 1 8 30]
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from common import parser, table, write_json
from live_view import Proxy, reading
from protocol_viewers import Room

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import CHART, CHROMIUM_ARGS, CONNECTED, chromium, streamlit_server  # noqa: E402

KEY = "bench-key"
# Every student's page is in front of its student: without these, Chromium throttles the timers of the
# pages that are not the focused one, and only one page would really refresh every second.
UNTHROTTLED = ["--disable-background-timer-throttling", "--disable-backgrounding-occluded-windows",
               "--disable-renderer-backgrounding"]
TICKS = os.sysconf("SC_CLK_TCK")
# Counts the page's refreshes: each one redraws the "logged" stamp with the time of the step it shows.
COUNT_REFRESHES = """() => { window.__refreshes = 0; let last = null; setInterval(() => {
  const box = document.querySelector('.st-key-logged-at'); const text = box ? box.innerText : null;
  if (text !== last) { window.__refreshes += last !== null; last = text; } }, 50); }"""


def server_pid(port: int) -> int:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and str(port).encode() in cmd:
            return int(pid)
    raise RuntimeError("streamlit server process not found")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of every thread of `pid`."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / TICKS
    return out


def refreshes(pages: list) -> list[int]:
    return [page.evaluate("() => window.__refreshes") for page in pages]


@dataclass
class Reading:
    """What the viewers had drawn, at one moment: refreshes in all; the bytes received by the viewers that
    are counted (the first page, behind the proxy; every client) and their refreshes; the step shown and
    the engine's time of it (the clients have only the wall clock)."""
    refreshes: int
    bytes: int
    counted: int
    step: int
    at: float


def window(pid: int, trainer: int, base: float, read: Callable[[], Reading], n: int, seconds: float) -> dict:
    """The server's CPU outside training per refresh the viewers drew, and the rest of a table row."""
    r0, cpu0, wall0 = read(), thread_cpu(pid), time.monotonic()
    time.sleep(seconds)
    r1, cpu1, wall1 = read(), thread_cpu(pid), time.monotonic()
    per_thread = {tid: cpu1[tid] - cpu0.get(tid, 0.0) for tid in cpu1}
    wall, drawn = wall1 - wall0, r1.refreshes - r0.refreshes
    steps_per_s = (r1.step - r0.step) / (r1.at - r0.at) if r1.at > r0.at else float("nan")
    train_cpu = per_thread.get(trainer, 0.0) / wall
    other = sum(v for tid, v in per_thread.items() if tid != trainer) / wall
    return {"steps_per_s": steps_per_s, "server_cpu_per_s": other, "train_cpu_share": train_cpu,
            "refreshes_per_page_s": drawn / n / wall,
            "ms_per_refresh": 1000 * max(0.0, other - base) * wall / drawn if drawn else float("nan"),
            "kb_per_refresh": (r1.bytes - r0.bytes) / max(1, r1.counted - r0.counted) / 1e3,
            "steps_per_train_cpu_s": steps_per_s / train_cpu if train_cpu else float("nan"),
            "trainer_still_busiest": trainer == max(per_thread, key=per_thread.get)}


def browser_pages(browser: Any, url: str, proxy: Proxy, pid: int, trainer: int, base: float, counts: list[int],
                  seconds: float) -> dict[int, dict]:
    pages: list = []

    def read() -> Reading:
        step, at = reading(pages[0])
        drawn = refreshes(pages)
        return Reading(sum(drawn), proxy.down, drawn[0], step, at)

    results = {}
    for n in counts:
        while len(pages) < n:
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            page = context.new_page()
            page.set_default_timeout(90_000)
            page.goto(f"http://127.0.0.1:{proxy.port}/" if not pages else f"{url}/")  # one page is counted
            page.wait_for_selector(CONNECTED)
            page.wait_for_selector(".st-key-logged-at")
            page.evaluate(COUNT_REFRESHES)
            pages.append(page)
        time.sleep(3)  # every page past its first full draw
        results[n] = window(pid, trainer, base, read, n, seconds)
    for page in pages:
        page.context.close()
    return results


def protocol_clients(url: str, pid: int, trainer: int, base: float, counts: list[int], seconds: float,
                     errors: list[str]) -> dict[int, dict]:
    room = Room(url)

    def read() -> Reading:
        drawn, received, step = room.totals()
        return Reading(drawn, received, drawn, step, time.monotonic())

    results = {}
    for n in counts:
        room.add(n - len(room.viewers))
        time.sleep(3)
        results[n] = window(pid, trainer, base, read, n, seconds)
    errors.extend(room.close())
    return results


def print_table(results: dict[int, dict], title: str, who: str) -> None:
    rows = [[str(n), f"{r['steps_per_s']:.0f}", f"{r['steps_per_train_cpu_s']:.0f}", f"{r['train_cpu_share']:.2f}",
             f"{r['refreshes_per_page_s']:.2f}", f"{r['server_cpu_per_s']:.3f}", f"{r['ms_per_refresh']:.1f}",
             f"{r['kb_per_refresh']:.0f}"] for n, r in sorted(results.items())]
    print(table([who, "steps/s", "steps per train-CPU s", "train CPU share", "refreshes per viewer per s",
                 "server CPU s/s (not training)", "server ms per refresh (less the base)", "kB per refresh"],
                rows, title))
    first, last = results[min(results)], results[max(results)]
    per_refresh = float(np.median([r["ms_per_refresh"] for r in results.values()]))
    print(f"server CPU per viewer refresh: median {per_refresh:.1f} ms over the counts; at one refresh a second, "
          f"30 viewers {30 * per_refresh / 1000:.2f}, 100 viewers {100 * per_refresh / 1000:.2f} of a core")
    print(f"steps per second of training-thread CPU, {max(results)} viewers vs {min(results)}: "
          f"{last['steps_per_train_cpu_s'] / first['steps_per_train_cpu_s']:.2f}; training thread still the "
          f"busiest in every window: {all(r['trainer_still_busiest'] for r in results.values())}\n")


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(seconds=12.0)
    p.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4, 8], help="Chromium pages (0: none)")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8, 30], help="protocol clients (0: none)")
    args = p.parse_args()
    from playwright.sync_api import sync_playwright
    env = {"GANCORE_CLASSROOM": "1", "GANCORE_INSTRUCTOR_KEY": KEY, "GANCORE_REFRESH": "1", "GANCORE_GRACE": "3600",
           "OMP_NUM_THREADS": "1"}
    pages, clients, errors = {}, {}, []
    with streamlit_server(env) as url, sync_playwright() as pw:
        port = int(url.rsplit(":", 1)[1])
        pid, proxy = server_pid(port), Proxy(port)
        browser = pw.chromium.launch(executable_path=chromium(), args=CHROMIUM_ARGS + UNTHROTTLED)
        teacher = browser.new_page(viewport={"width": 1600, "height": 1000})
        teacher.goto(f"{url}/?key={KEY}&preset=mode-hopping&steps=0")
        teacher.wait_for_selector(CHART, timeout=90_000)
        teacher.locator(".st-key-start button").first.click(no_wait_after=True)
        time.sleep(3)
        teacher.context.close()  # training goes on; now nobody watches
        cpu0, t0 = thread_cpu(pid), time.monotonic()
        time.sleep(args.seconds)
        cpu1, t1 = thread_cpu(pid), time.monotonic()
        trainer = max(cpu1, key=lambda tid: cpu1[tid] - cpu0.get(tid, 0.0))
        # what the server spends outside training with no page open (its event loop, the reaper): not a viewer's
        base = sum(v - cpu0.get(tid, 0.0) for tid, v in cpu1.items() if tid != trainer) / (t1 - t0)
        if any(args.counts):
            pages = browser_pages(browser, url, proxy, pid, trainer, base, [n for n in args.counts if n], args.seconds)
        browser.close()
        if any(args.clients):
            clients = protocol_clients(url, pid, trainer, base, [n for n in args.clients if n], args.seconds, errors)
    print(f"server CPU with no page open: {base:.3f} s/s (left out of the per-refresh cost)\n")
    if pages:
        print_table(pages, f"Chromium pages watching one featured run (classroom mode, 1 s refresh), "
                    f"{args.seconds:g} s windows; bytes of the first page, through the proxy", "pages")
    if clients:
        print_table(clients, f"Protocol clients (Streamlit's websocket, nothing drawn) on the same run, "
                    f"{args.seconds:g} s windows; bytes of every client", "clients")
    if errors:
        print("viewers' errors:", *errors[:5], sep="\n  ")
    write_json(args.json, {"pages": pages, "clients": clients, "base_cpu_per_s": base, "errors": errors})


if __name__ == "__main__":
    main()
