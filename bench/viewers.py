"""What a class costs the server: 1, 2, 4 and 8 student pages (headless Chromium, each its own browser
context, i.e. its own Streamlit session) watching one featured run in classroom mode at the default 1 s
refresh.

For each count: training steps/s (from the engine's clock on the page, as live_view.py reads it), the CPU
seconds per second of the server process outside the training thread (per-thread CPU from /proc, so the
browsers' own CPU is not counted; the training thread is the one that burns CPU while no page is open),
the training thread's CPU share, the refreshes the pages really drew (each page counts the changes of its
"logged" stamp: on 2 shared cores eight Chromium pages cannot all draw every second, and a page that draws
less asks the server for less), the server's CPU per refresh drawn (less what it spends with no page open),
and the bytes per refresh of the first page (the only one behind a TCP proxy: the proxy serves one
connection at a time). The cost per viewer is the server's CPU per refresh drawn: at the 1 s refresh that
is its CPU per viewer per second, extrapolated to 30 and 100 viewers. The browsers take CPU from training:
steps per second of the training thread's own CPU (steps/s / its CPU share) takes that out of the comparison.

    python bench/viewers.py [--seconds 12] [--counts 1 2 4 8]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from common import parser, table, write_json
from live_view import Proxy, reading

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


def window(pid: int, pages: list, proxy: Proxy, seconds: float) -> dict:
    page = pages[0]
    drawn0, cpu0, bytes0, (step0, t0), wall0 = (refreshes(pages), thread_cpu(pid), proxy.down, reading(page),
                                                time.monotonic())
    time.sleep(seconds)
    drawn1, cpu1, bytes1, (step1, t1), wall1 = (refreshes(pages), thread_cpu(pid), proxy.down, reading(page),
                                                time.monotonic())
    per_thread = {tid: cpu1[tid] - cpu0.get(tid, 0.0) for tid in cpu1}
    return {"per_thread": per_thread, "wall": wall1 - wall0, "bytes": bytes1 - bytes0,
            "drawn": [b - a for a, b in zip(drawn0, drawn1)],
            "steps_per_s": (step1 - step0) / (t1 - t0) if t1 > t0 else float("nan")}


def main() -> None:
    p = parser(__doc__)
    p.set_defaults(seconds=12.0)
    p.add_argument("--counts", type=int, nargs="+", default=[1, 2, 4, 8])
    args = p.parse_args()
    from playwright.sync_api import sync_playwright
    env = {"GANCORE_CLASSROOM": "1", "GANCORE_INSTRUCTOR_KEY": KEY, "GANCORE_REFRESH": "1", "GANCORE_GRACE": "3600",
           "OMP_NUM_THREADS": "1"}
    rows, results = [], {}
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
        pages = []
        for n in args.counts:
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
            w = window(pid, pages, proxy, args.seconds)
            train_cpu = w["per_thread"].get(trainer, 0.0) / w["wall"]
            other = sum(v for tid, v in w["per_thread"].items() if tid != trainer) / w["wall"]
            drawn = sum(w["drawn"])
            results[n] = {"steps_per_s": w["steps_per_s"], "server_cpu_per_s": other, "train_cpu_share": train_cpu,
                          "refreshes_per_page_s": drawn / n / w["wall"],
                          "ms_per_refresh": 1000 * max(0.0, other - base) * w["wall"] / drawn if drawn else float("nan"),
                          "kb_per_refresh": w["bytes"] / max(1, w["drawn"][0]) / 1e3,
                          "steps_per_train_cpu_s": w["steps_per_s"] / train_cpu if train_cpu else float("nan"),
                          "trainer_still_busiest": trainer == max(w["per_thread"], key=w["per_thread"].get)}
        browser.close()
    for n in sorted(results):
        r = results[n]
        rows.append([str(n), f"{r['steps_per_s']:.0f}", f"{r['steps_per_train_cpu_s']:.0f}", f"{r['train_cpu_share']:.2f}",
                     f"{r['refreshes_per_page_s']:.2f}", f"{r['server_cpu_per_s']:.3f}", f"{r['ms_per_refresh']:.1f}",
                     f"{r['kb_per_refresh']:.0f}"])
    first, last = results[min(results)], results[max(results)]
    print(table(["viewers", "steps/s", "steps per train-CPU s", "train CPU share", "refreshes per page per s",
                 "server CPU s/s (not training)", "server ms per refresh (less the base)", "kB per refresh (page 1)"], rows,
                f"Viewers of one featured run (classroom mode, 1 s refresh), {args.seconds:g} s windows"))
    per_refresh = float(np.median([results[n]["ms_per_refresh"] for n in sorted(results)]))
    print(f"\nserver CPU with no page open: {base:.3f} s/s (left out of the per-refresh cost)")
    print(f"server CPU per viewer refresh: median {per_refresh:.1f} ms over the counts; at one refresh a second, "
          f"30 viewers {30 * per_refresh / 1000:.2f}, 100 viewers {100 * per_refresh / 1000:.2f} of a core")
    print(f"steps per second of training-thread CPU, {max(results)} viewers vs {min(results)}: "
          f"{last['steps_per_train_cpu_s'] / first['steps_per_train_cpu_s']:.2f}; training thread still the "
          f"busiest in every window: {all(r['trainer_still_busiest'] for r in results.values())}")
    write_json(args.json, {"results": results, "ms_per_refresh": per_refresh, "base_cpu_per_s": base})


if __name__ == "__main__":
    main()
